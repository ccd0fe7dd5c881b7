/* SPDX-License-Identifier: MIT */
/*
 * cmd_watch.c — `wgmon watch`: a live full-screen view, redrawn every second: the pipeline's
 * counters and rates, peers by state, the most active peers (events per second, counted from
 * the event ring) and the failing and down ones. `q` quits.
 *
 * The terminal: non-canonical, no echo (ISIG stays, so ^C is SIGINT), alternate screen, hidden
 * cursor. It is restored on every way out: q, end of input, SIGINT/SIGTERM/SIGHUP/SIGQUIT (a
 * flag; the main loop leaves), ^Z (restored, stopped, raw again on SIGCONT), and fatal signals
 * (restored in the handler with async-signal-safe calls, then the signal is raised again).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "shm/shm.h"
#include "tools/tools.h"
#include "tools/tools_view.h"

#define WATCH_INTERVAL_MS  1000
#define WATCH_INTERVAL_MIN 100
#define WATCH_ACTIVE_SLOTS 8192 /* (host, peer) counters per interval; more peers are not counted */
#define WATCH_LIST_MAX     32   /* rows of the "most active" and "failing" lists at most */
#define WATCH_COLS_MIN     40
#define WATCH_ROWS_MIN     12
#define WATCH_LINE_MAX     512

static const char watch_enter[] = "\033[?1049h\033[?25l";
static const char watch_leave[] = "\033[?25h\033[?1049l";

/* Shared with the signal handlers: written before they are installed, or sig_atomic_t. */
static struct termios watch_saved;
static volatile sig_atomic_t watch_raw;    /* the terminal is ours to restore */
static volatile sig_atomic_t watch_stop;   /* SIGINT, SIGTERM, SIGHUP, SIGQUIT */
static volatile sig_atomic_t watch_resize; /* SIGWINCH, SIGCONT: redraw everything */

struct watch_active {
	uint32_t host;
	uint32_t used;
	uint64_t peer;
	uint64_t count;
};

struct watch_failing {
	struct shm_peer p;
	int state;
};

struct watch {
	struct view v;
	struct view_opts o;
	unsigned interval_ms;
	bool once;
	int rows, cols;
	struct shm_stats prev;
	uint64_t prev_at; /* v.now of prev; 0 before the first sample */
	struct shm_event_cursor cur;
	uint64_t missed; /* events the ring overwrote before we counted them */
	struct watch_active *active;
	uint64_t states[SHM_STATE__COUNT];
	struct watch_failing failing[WATCH_LIST_MAX];
	unsigned n_failing;
	uint64_t n_failing_all;
	char *frame;
	size_t frame_len;
	FILE *out; /* the frame being built (open_memstream) */
};

/* ---- The terminal -------------------------------------------------------------------------- */

/* Async-signal-safe: tcsetattr() and write() only. */
static void watch_term_restore(void)
{
	if (!watch_raw)
		return;
	watch_raw = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &watch_saved);
	if (write(STDOUT_FILENO, watch_leave, sizeof(watch_leave) - 1) < 0)
		return; /* nothing else can be done for the terminal */
}

static int watch_term_raw(void)
{
	struct termios t = watch_saved;

	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return -errno;
	watch_raw = 1;
	if (write(STDOUT_FILENO, watch_enter, sizeof(watch_enter) - 1) < 0)
		return -errno;
	return 0;
}

static void watch_on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static void watch_on_winch(int sig)
{
	(void)sig;
	watch_resize = 1;
}

/* ^Z: give the terminal back, stop; on SIGCONT take it again. */
static void watch_on_tstp(int sig)
{
	int saved_errno = errno;
	bool was_raw = watch_raw;
	sigset_t set;

	(void)sig;
	watch_term_restore();
	signal(SIGTSTP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* Continued. */
	signal(SIGTSTP, watch_on_tstp);
	if (was_raw && watch_term_raw() == 0)
		watch_resize = 1;
	errno = saved_errno;
}

/* A crash must not leave the terminal raw: restore, then die of the same signal. */
static void watch_on_fatal(int sig)
{
	watch_term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void watch_signals(void)
{
	static const int stop[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa = {.sa_handler = watch_on_stop}; /* no SA_RESTART: poll() wakes */

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		sigaction(stop[i], &sa, NULL);
	sa.sa_handler = watch_on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGCONT, &sa, NULL);
	sa.sa_handler = watch_on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = watch_on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void watch_size(struct watch *w)
{
	struct winsize ws;
	const char *env;

	w->rows = 24;
	w->cols = 80;
	if (!w->once && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		w->rows = ws.ws_row;
		w->cols = ws.ws_col;
	} else if (w->once) {
		w->rows = (env = getenv("LINES")) && atoi(env) > 0 ? atoi(env) : 40;
		w->cols = (env = getenv("COLUMNS")) && atoi(env) > 0 ? atoi(env) : 80;
	}
	w->rows = w->rows < WATCH_ROWS_MIN ? WATCH_ROWS_MIN : w->rows;
	w->cols = w->cols < WATCH_COLS_MIN ? WATCH_COLS_MIN : w->cols;
	w->cols = w->cols > WATCH_LINE_MAX - 1 ? WATCH_LINE_MAX - 1 : w->cols;
}

/* ---- Sampling ------------------------------------------------------------------------------ */

static struct watch_active *watch_active_slot(struct watch *w, uint32_t host, uint64_t peer)
{
	uint64_t h = (peer * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)host * 0xff51afd7ed558ccdull);

	for (unsigned probe = 0; probe < WATCH_ACTIVE_SLOTS; probe++) {
		struct watch_active *a = &w->active[(h + probe) & (WATCH_ACTIVE_SLOTS - 1)];

		if (!a->used) {
			*a = (struct watch_active){.host = host, .used = 1, .peer = peer};
			return a;
		}
		if (a->host == host && a->peer == peer)
			return a;
	}
	return NULL;
}

/* Count the ring's new events per peer since the last frame. */
static void watch_count_events(struct watch *w)
{
	struct watch_active *a;
	struct shm_event e;
	uint64_t missed;
	int got;

	memset(w->active, 0, WATCH_ACTIVE_SLOTS * sizeof(*w->active));
	for (;;) {
		got = shm_reader_events_next(w->v.r, &w->cur, &e, &missed);
		w->missed += missed;
		if (got != 1 && !missed)
			break;
		if (got == 1 && (e.fields & PARSE_F_PEER) &&
		    (a = watch_active_slot(w, e.host, e.peer)) != NULL)
			a->count += e.repeat ? e.repeat : 1;
	}
}

/* Keep the WATCH_LIST_MAX failing or down peers heard from most recently. */
static void watch_failing_add(struct watch *w, const struct shm_peer *p, int state)
{
	unsigned at = w->n_failing;

	w->n_failing_all++;
	if (at == WATCH_LIST_MAX) {
		if (p->last_seen <= w->failing[at - 1].p.last_seen)
			return;
		at--;
	} else {
		w->n_failing++;
	}
	while (at > 0 && w->failing[at - 1].p.last_seen < p->last_seen) {
		w->failing[at] = w->failing[at - 1];
		at--;
	}
	w->failing[at].p = *p;
	w->failing[at].state = state;
}

static void watch_scan_peers(struct watch *w)
{
	const uint64_t slots = shm_reader_peer_slots(w->v.r);
	struct shm_peer p;
	int state;

	memset(w->states, 0, sizeof(w->states));
	w->n_failing = 0;
	w->n_failing_all = 0;
	for (uint64_t i = shm_reader_peer_next(w->v.r, 0); i < slots;
	     i = shm_reader_peer_next(w->v.r, i + 1)) {
		if (shm_reader_peer_snapshot(w->v.r, i, &p))
			continue;
		state = view_peer_state(&w->v, &p, NULL);
		w->states[state]++;
		if (state == SHM_STATE_FAILING || state == SHM_STATE_DOWN)
			watch_failing_add(w, &p, state);
	}
}

/* ---- Drawing ------------------------------------------------------------------------------- */

/* One line of the frame, cut to the width (colour codes are not counted). */
static void watch_line(struct watch *w, const char *color, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void watch_line(struct watch *w, const char *color, const char *fmt, ...)
{
	char line[WATCH_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	line[w->cols < WATCH_LINE_MAX ? w->cols : WATCH_LINE_MAX - 1] = '\0';
	fprintf(w->out, "%s%s%s%s\n", color, line, *color ? view_reset(&w->v) : "",
	        w->once ? "" : "\033[K");
}

static void watch_blank(struct watch *w)
{
	fputs(w->once ? "\n" : "\033[K\n", w->out);
}

static double watch_rate(uint64_t now, uint64_t before, double secs)
{
	return secs > 0 ? (double)(now - before) / secs : 0.0;
}

static void watch_draw_pipeline(struct watch *w, const struct shm_stats *s)
{
	const struct shm_stats *p = &w->prev;
	double secs = w->prev_at ? (double)(w->v.now - w->prev_at) / 1e9 : 0;
	uint64_t rej = 0, rej0 = 0, drop = 0, drop0 = 0;

	for (unsigned k = 0; k < SHM_REJECT_KINDS; k++) {
		rej += s->rejected[k];
		rej0 += p->rejected[k];
	}
	for (unsigned k = 0; k < SHM_DROP_KINDS; k++) {
		drop += s->dropped[k];
		drop0 += p->dropped[k];
	}
	watch_line(w, view_bold(&w->v), "%-20s %16s %14s", "pipeline", "total", "per second");
#define WATCH_ROW(name, now, before)                                                               \
	watch_line(w, "", "%-20s %16" PRIu64 " %14.1f", name, now, watch_rate(now, before, secs))
	WATCH_ROW("datagrams", s->datagrams, p->datagrams);
	WATCH_ROW("lines", s->lines, p->lines);
	WATCH_ROW("events", s->events_total, p->events_total);
	WATCH_ROW("rejected", rej, rej0);
	WATCH_ROW("dropped", drop, drop0);
	WATCH_ROW("kernel suppressed", s->ratelimit_suppressed, p->ratelimit_suppressed);
#undef WATCH_ROW
}

static void watch_draw_states(struct watch *w, const struct shm_stats *s)
{
	char line[WATCH_LINE_MAX];
	size_t n = 0;

	n += (size_t)snprintf(line, sizeof(line), "peers %" PRIu64 " of %" PRIu64 ":", s->peers,
	                      s->peer_capacity);
	for (int st = 0; st < SHM_STATE__COUNT && n < sizeof(line); st++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  %s %" PRIu64,
		                      shm_state_name(st), w->states[st]);
	watch_blank(w);
	watch_line(w, view_bold(&w->v), "%s", line);
}

static int watch_cmp_active(const void *a, const void *b)
{
	const struct watch_active *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->peer < y->peer ? -1 : x->peer > y->peer;
}

static void watch_peer_line(struct watch *w, const struct shm_peer *p, int state,
                            const char *middle)
{
	char ep[VIEW_ENDPOINT], iface[SHM_IFACE_NAME_MAX + 1];

	watch_line(w, view_state_color(&w->v, state), "%-14.14s %-12s %10" PRIu64 " %8s %-8s %s",
	           view_host_label(&w->v, p->host), view_iface(&w->v, p->iface, iface), p->peer,
	           middle, shm_state_name(state),
	           view_endpoint(&p->endpoint, ep, sizeof(ep)) ?: "-");
}

static void watch_draw_active(struct watch *w, unsigned max)
{
	double secs = w->prev_at ? (double)w->interval_ms / 1000.0 : 1.0;
	struct shm_peer p;
	unsigned shown = 0;
	char rate[32];

	qsort(w->active, WATCH_ACTIVE_SLOTS, sizeof(*w->active), watch_cmp_active);
	watch_blank(w);
	watch_line(w, view_bold(&w->v), "%-14s %-12s %10s %8s %-8s %s", "most active", "iface",
	           "peer", "events/s", "state", "endpoint");
	for (unsigned i = 0; i < WATCH_ACTIVE_SLOTS && shown < max && w->active[i].count; i++) {
		if (shm_reader_peer_find(w->v.r, w->active[i].host, w->active[i].peer, &p))
			continue;
		snprintf(rate, sizeof(rate), "%.1f", (double)w->active[i].count / secs);
		watch_peer_line(w, &p, view_peer_state(&w->v, &p, NULL), rate);
		shown++;
	}
	if (!shown)
		watch_line(w, "", "  (no events)");
}

static void watch_draw_failing(struct watch *w, unsigned max)
{
	char age[16];

	watch_blank(w);
	watch_line(w, view_bold(&w->v), "%-14s %-12s %10s %8s %-8s %s", "failing/down", "iface",
	           "peer", "seen", "state", "endpoint");
	for (unsigned i = 0; i < w->n_failing && i < max; i++) {
		view_age_short(age, sizeof(age), w->failing[i].p.last_seen, w->v.now);
		watch_peer_line(w, &w->failing[i].p, w->failing[i].state, age);
	}
	if (!w->n_failing_all)
		watch_line(w, "", "  (none)");
	else if (w->n_failing_all > (w->n_failing < max ? w->n_failing : max))
		watch_line(w, "", "  ... and %" PRIu64 " more (wgmon show --state failing,down)",
		           w->n_failing_all - (w->n_failing < max ? w->n_failing : max));
}

static void watch_draw(struct watch *w, const struct shm_stats *s)
{
	double beat = s->heartbeat < w->v.now ? (double)(w->v.now - s->heartbeat) / 1e9 : 0;
	/* 19 fixed lines (title, pipeline, states, list headings, "more", spacing, footer); the
	 * rest is shared by the two lists. */
	int room = w->rows - 19;
	unsigned half = room > 2 ? (unsigned)room / 2 : 1;
	char date[32];

	view_date(date, sizeof(date), w->v.now);
	watch_line(w, view_bold(&w->v),
	           "%s  wgmon watch %s  generation %" PRIu64 "  pid %" PRIu32
	           "  heartbeat %.1fs ago%s",
	           date + 11, tools_shm_name(w->o.shm), s->generation, s->writer_pid, beat,
	           beat > 5 ? ": wgmond stopped?" : "");
	watch_blank(w);
	watch_draw_pipeline(w, s);
	watch_draw_states(w, s);
	watch_draw_active(w, half > WATCH_LIST_MAX ? WATCH_LIST_MAX : half);
	watch_draw_failing(w, half > WATCH_LIST_MAX ? WATCH_LIST_MAX : half);
	watch_blank(w);
	if (w->missed)
		watch_line(w, "",
		           "q quits   (the event ring lapped this view: %" PRIu64
		           " events not counted)",
		           w->missed);
	else
		watch_line(w, "", "q quits");
}

/* Sample everything and write one frame. 0, or -1 (stdout failed). */
static int watch_frame(struct watch *w)
{
	struct shm_stats s;
	int ret = 0;

	if (view_refresh(&w->v) == 1)
		shm_reader_events_begin(w->v.r, &w->cur, 0); /* a new table: start over */
	view_tick(&w->v);
	shm_reader_stats(w->v.r, &s);
	watch_count_events(w);
	watch_scan_peers(w);
	w->out = open_memstream(&w->frame, &w->frame_len);
	if (!w->out)
		return -1;
	if (!w->once)
		fputs(watch_resize ? "\033[H\033[2J" : "\033[H", w->out);
	watch_resize = 0;
	watch_draw(w, &s);
	if (!w->once)
		fputs("\033[J", w->out);
	if (fclose(w->out) || fwrite(w->frame, 1, w->frame_len, stdout) != w->frame_len ||
	    fflush(stdout))
		ret = -1;
	free(w->frame);
	w->frame = NULL;
	w->prev = s;
	w->prev_at = w->v.now;
	return ret;
}

/* ---- The loop ------------------------------------------------------------------------------ */

/* Wait up to ms for a key; 1 to quit, 0 otherwise. */
static int watch_keys(int ms)
{
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	char buf[64];
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0; /* time is up, or a signal: the caller looks at the flags */
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == 0)
		return 1; /* end of input */
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 'q' || buf[i] == 'Q')
			return 1;
	return 0;
}

static uint64_t watch_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int watch_loop(struct watch *w)
{
	uint64_t next = watch_ms_now();

	while (!watch_stop) {
		uint64_t now = watch_ms_now();

		if (now >= next || watch_resize) {
			watch_size(w);
			if (watch_frame(w))
				return -1;
			next = now + w->interval_ms;
			continue;
		}
		if (watch_keys((int)(next - now)))
			break;
	}
	return 0;
}

/* --once: one frame, on a second sample one interval after the first, plain text. */
static int watch_once(struct watch *w)
{
	watch_size(w);
	shm_reader_stats(w->v.r, &w->prev);
	w->prev_at = w->v.now;
	watch_count_events(w);
	poll(NULL, 0, (int)w->interval_ms); /* the rates need two samples */
	return watch_frame(w);
}

/* ---- The command --------------------------------------------------------------------------- */

static void watch_usage(FILE *out)
{
	fprintf(out, "Usage: wgmon watch [options]\n\n"
	             "A live full-screen view of a running wgmond, redrawn every second: the\n"
	             "pipeline's counters and rates, peers by state, the most active peers and\n"
	             "the failing and down ones. q quits.\n\n"
	             "  --interval MS       redraw period (default 1000, at least 100)\n"
	             "  --once              print one frame as plain text and exit (no terminal\n"
	             "                      needed; rates over one interval)\n" VIEW_HELP_TABLE
	             "  --help              this text\n");
}

static int watch_args(int argc, char **argv, struct watch *w)
{
	static const struct option longopts[] = {
	        VIEW_LONGOPTS_TABLE,
	        {"interval", required_argument, NULL, 'i'},
	        {"once", no_argument, NULL, '1'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	uint64_t ms;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = view_opt(c, optarg, &w->o, NULL);
		if (r < 0)
			return 3;
		if (r > 0)
			continue;
		switch (c) {
		case 'i':
			if (view_u64_parse(optarg, &ms) || ms < WATCH_INTERVAL_MIN || ms > 60000) {
				fprintf(stderr, "wgmon watch: --interval: 100 to 60000 ms\n");
				return 3;
			}
			w->interval_ms = (unsigned)ms;
			break;
		case '1': w->once = true; break;
		case 'h': watch_usage(stdout); return 1;
		default: watch_usage(stderr); return 3;
		}
	}
	if (optind < argc) {
		watch_usage(stderr);
		return 3;
	}
	return 0;
}

static int watch_run(struct watch *w)
{
	int ret;

	if (w->once)
		return watch_once(w);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "wgmon watch: needs a terminal (use --once for plain output)\n");
		return -1;
	}
	if (tcgetattr(STDIN_FILENO, &watch_saved) < 0) {
		perror("wgmon watch: tcgetattr");
		return -1;
	}
	watch_signals(); /* after watch_saved is set: the handlers restore it */
	watch_resize = 1;
	ret = watch_term_raw();
	if (!ret)
		ret = watch_loop(w);
	watch_term_restore();
	return ret;
}

int cmd_watch(int argc, char **argv)
{
	static struct watch w; /* large: the lists and the peer copies */
	int ret;

	memset(&w, 0, sizeof(w));
	w.o.cmd = "watch";
	w.interval_ms = WATCH_INTERVAL_MS;
	ret = watch_args(argc, argv, &w);
	if (ret)
		return ret - 1;
	if (view_open(&w.v, &w.o))
		return 1;
	w.active = calloc(WATCH_ACTIVE_SLOTS, sizeof(*w.active));
	if (!w.active) {
		fprintf(stderr, "wgmon watch: out of memory\n");
		view_close(&w.v);
		return 1;
	}
	shm_reader_events_begin(w.v.r, &w.cur, 0);
	ret = watch_run(&w);
	free(w.active);
	view_close(&w.v);
	return ret ? 1 : 0;
}
