/* SPDX-License-Identifier: MIT */
/*
 * test_wgmond_bench.c — wgmond-udp-bench, the first end-to-end ingest figures, for the real
 * wgmond and, in the same run, a bare recvmmsg loop that only counts (datagram = one corpus
 * line, UDP over loopback):
 *   - paced: the highest send rate received without loss (double while loss-free, then
 *     bisect). On a small machine the sender itself can be the limit; the table says so.
 *   - drain: the receiver is held (SIGSTOP / a paused loop) while N datagrams queue in its
 *     socket buffer, then released: N / the time to take them all. No sender competes for
 *     the CPU, so this is the receiver's own throughput.
 * --quick is the ctest smoke mode: one modest paced rate, both must be loss-free.
 * (bench/ belongs to another part; this lives with the wgmond tests.)
 */
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include "tests/test_wgmond_util.h"

#define BATCH        64
#define SETTLE_NS    150000000ull /* the count stopped moving this long: the trial is over */
#define SEARCH_STEPS 5
#define RCVBUF       (256 << 20) /* both receivers; room for the drain trial's queue */
#define RCVBUF_TEXT  "268435456"
#define RUNS_MAX     15
/* wgmond's lanes, large enough to hold the drain trial's whole queue: a full lane is a counted
 * drop by design, and the drain figure is about throughput, not about the lane's size. */
#define RING_SIZE "262144"

struct bench_opts {
	uint64_t lines, drain_lines, rate_start, rate_max;
	unsigned runs;
	const char *workers, *ingest, *ring_size;
	bool quick, json;
};

/* ------------------------------------------------------------- sender */

struct sender {
	int fd;
	const struct tw_lines *l;
	size_t next; /* corpus line to send next */
};

static int sender_open(struct sender *s, int port, const struct tw_lines *l)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	s->l = l;
	s->next = 0;
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	return 0;
}

static void send_batch(struct sender *s, unsigned n)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	unsigned done = 0;

	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = (void *)s->l->line[s->next];
		iov[i].iov_len = s->l->len[s->next];
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		s->next = (s->next + 1) % s->l->n;
	}
	while (done < n) {
		int k = sendmmsg(s->fd, m + done, n - done, 0);

		if (k <= 0 && errno != EINTR && errno != ENOBUFS)
			break;
		done += k > 0 ? (unsigned)k : 0;
	}
}

/* Send n datagrams paced at `rate` per second (0: as fast as possible); returns the rate
 * actually reached. */
static double send_paced(struct sender *s, uint64_t n, uint64_t rate)
{
	uint64_t start = tw_now_ns(), sent = 0;

	while (sent < n) {
		uint64_t now = tw_now_ns();
		uint64_t due =
		        rate ? (uint64_t)((double)(now - start) * (double)rate / 1e9) + 1 : n;
		unsigned k;

		if (due > n)
			due = n;
		if (due <= sent) {
			/* The next datagram is due at sent / rate: sleep until then. */
			uint64_t at = start + (uint64_t)((double)sent * 1e9 / (double)rate);
			struct timespec ts = {(time_t)(at / 1000000000ull),
			                      (long)(at % 1000000000ull)};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		k = due - sent > BATCH ? BATCH : (unsigned)(due - sent);
		send_batch(s, k);
		sent += k;
	}
	return (double)n * 1e9 / (double)(tw_now_ns() - start + 1);
}

/* ------------------------------------------------------------ baseline */

/* A bare recvmmsg loop that only counts; it can be held (for the drain trial). */
struct baseline {
	int fd, port, ctl;
	uint64_t count; /* receiver: relaxed stores; main: relaxed loads (a statistic) */
	uint32_t stop;  /* main: release store; receiver: acquire load */
	uint32_t hold;  /* main: release store, then a write to ctl; receiver: acquire load */
	uint32_t held;  /* receiver: release store once it stopped reading; main: acquire */
	pthread_t tid;
};

static void baseline_drain(struct baseline *b, struct mmsghdr *m)
{
	int n;

	while ((n = recvmmsg(b->fd, m, BATCH, MSG_DONTWAIT, NULL)) > 0)
		__atomic_store_n(&b->count, b->count + (uint64_t)n, __ATOMIC_RELAXED);
}

static void *baseline_main(void *arg)
{
	static char bufs[BATCH][2048];
	struct baseline *b = arg;
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];

	for (unsigned i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		bool hold = __atomic_load_n(&b->hold, __ATOMIC_ACQUIRE);
		struct pollfd pfd[2] = {{.fd = b->ctl, .events = POLLIN},
		                        {.fd = b->fd, .events = POLLIN}};
		uint64_t v;

		__atomic_store_n(&b->held, hold, __ATOMIC_RELEASE); /* pairs with main's acquire */
		if (poll(pfd, hold ? 1 : 2, 50) <= 0)
			continue;
		if (pfd[0].revents && read(b->ctl, &v, sizeof(v)) < 0)
			break;
		if (!hold && pfd[1].revents)
			baseline_drain(b, m);
	}
	return NULL;
}

static int baseline_start(struct baseline *b)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int v = RCVBUF;

	memset(b, 0, sizeof(*b));
	b->ctl = eventfd(0, EFD_NONBLOCK);
	b->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (b->ctl < 0 || b->fd < 0 || bind(b->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(b->fd, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	/* The same receive buffer wgmond gets (--rcvbuf below). */
	if (setsockopt(b->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(b->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	b->port = ntohs(a.sin_port);
	return -pthread_create(&b->tid, NULL, baseline_main, b);
}

static void baseline_hold(struct baseline *b, bool hold)
{
	uint64_t one = 1;

	__atomic_store_n(&b->hold, hold, __ATOMIC_RELEASE); /* pairs with the receiver's acquire */
	if (write(b->ctl, &one, sizeof(one)) < 0)
		return;
	while (__atomic_load_n(&b->held, __ATOMIC_ACQUIRE) != hold)
		tw_pause();
}

static void baseline_stop(struct baseline *b)
{
	__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE); /* pairs with the receiver's acquire */
	pthread_join(b->tid, NULL);
	close(b->fd);
	close(b->ctl);
}

/* ------------------------------------------------------------- targets */

struct target {
	const char *name;
	int port;
	struct baseline *base; /* the baseline, or NULL for wgmond */
	struct tw_proc *wg;    /* wgmond */
};

/* Datagrams taken so far, and datagrams lost inside the receiver. */
static void target_count(const struct target *t, uint64_t *got, uint64_t *dropped)
{
	struct shm_stats st;

	if (t->base) {
		*got = __atomic_load_n(&t->base->count, __ATOMIC_RELAXED);
		*dropped = 0;
		return;
	}
	memset(&st, 0, sizeof(st));
	tw_stats(t->wg->shm, &st);
	*got = st.lines;
	/* Not nobufs: io_uring's back-pressure loses nothing. */
	*dropped = st.dropped[SHM_DROP_RING_FULL] + st.dropped[SHM_DROP_TRUNCATED] +
	           st.dropped[SHM_DROP_RECV_ERROR];
}

/* Wait until n more than got0 arrived, or the count stopped moving; the time of the last
 * change is returned in *last_ns. true if all n arrived and nothing was dropped. */
static bool wait_count(const struct target *t, uint64_t got0, uint64_t drop0, uint64_t n,
                       uint64_t *last_ns)
{
	uint64_t got, drop, last = got0, still = tw_now_ns();

	for (;;) {
		target_count(t, &got, &drop);
		if (got != last) {
			last = got;
			still = tw_now_ns();
		}
		if (got - got0 >= n || tw_now_ns() - still > SETTLE_NS)
			break;
		if (got - got0 < n / 2)
			tw_pause();
	}
	*last_ns = still;
	return got - got0 == n && drop == drop0;
}

/* One paced trial: send n at rate; true if every datagram made it. */
static bool trial(const struct target *t, struct sender *s, uint64_t n, uint64_t rate,
                  double *reached)
{
	uint64_t got0, drop0, last;

	target_count(t, &got0, &drop0);
	*reached = send_paced(s, n, rate);
	return wait_count(t, got0, drop0, n, &last);
}

/* The highest loss-free paced rate: double, then bisect. */
static uint64_t search(const struct target *t, struct sender *s, const struct bench_opts *o,
                       bool *sender_bound)
{
	uint64_t good = 0, bad = 0, r = o->rate_start;
	double reached;

	*sender_bound = false;
	while (r <= o->rate_max) {
		if (!trial(t, s, o->lines, r, &reached)) {
			bad = r;
			break;
		}
		good = r;
		if (reached < 0.9 * (double)r) { /* the sender cannot go faster */
			*sender_bound = true;
			return (uint64_t)reached;
		}
		r *= 2;
	}
	if (!bad)
		return good;
	if (!good) /* lossy even at the start: look below it */
		for (good = o->rate_start / 2; good >= 1000; good /= 2)
			if (trial(t, s, o->lines, good, &reached))
				break;
	for (int i = 0; i < SEARCH_STEPS && good >= 1000; i++) {
		uint64_t mid = (good + bad) / 2;

		if (trial(t, s, o->lines, mid, &reached))
			good = mid;
		else
			bad = mid;
	}
	return good;
}

/* wgmond's main thread state, from /proc: 'T' once SIGSTOP took effect. */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

static void target_hold(const struct target *t, bool hold)
{
	if (t->base) {
		baseline_hold(t->base, hold);
		return;
	}
	kill(t->wg->pid, hold ? SIGSTOP : SIGCONT);
	while (hold && proc_state(t->wg->pid) != 'T')
		tw_pause();
}

/* Drain trial: n datagrams queued while the receiver is held, then its rate taking them. */
static uint64_t drain(const struct target *t, struct sender *s, uint64_t n, bool *lossy)
{
	uint64_t got0, drop0, t0, last;

	target_count(t, &got0, &drop0);
	target_hold(t, true);
	send_paced(s, n, 0);
	t0 = tw_now_ns();
	target_hold(t, false);
	*lossy = !wait_count(t, got0, drop0, n, &last);
	return (uint64_t)((double)n * 1e9 / (double)(last - t0 + 1));
}

/* --------------------------------------------------------------- main */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(const uint64_t *v, unsigned n)
{
	uint64_t c[RUNS_MAX];

	memcpy(c, v, n * sizeof(c[0]));
	qsort(c, n, sizeof(c[0]), cmp_u64);
	return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

static int args(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){.lines = 200000,
	                         .drain_lines = 200000,
	                         .rate_start = 50000,
	                         .rate_max = 8000000,
	                         .runs = 3,
	                         .ring_size = RING_SIZE};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool v = i + 1 < argc;

		if (!strcmp(a, "--quick"))
			o->quick = true;
		else if (!strcmp(a, "--json"))
			o->json = true;
		else if (!strcmp(a, "--lines") && v)
			o->lines = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--drain-lines") && v)
			o->drain_lines = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--runs") && v)
			o->runs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--rate-start") && v)
			o->rate_start = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--workers") && v)
			o->workers = argv[++i];
		else if (!strcmp(a, "--ingest") && v)
			o->ingest = argv[++i];
		else if (!strcmp(a, "--ring-size") && v)
			o->ring_size = argv[++i];
		else
			return -1;
	}
	if (!o->runs || o->runs > RUNS_MAX || !o->lines || !o->drain_lines || !o->rate_start)
		return -1;
	return 0;
}

static int wgmond_start(struct tw_proc *p, const struct bench_opts *o, char *listen, size_t cap)
{
	tw_init(p, "bench");
	snprintf(listen, cap, "127.0.0.1:%d", p->port);
	tw_arg(p, "--listen");
	tw_arg(p, listen);
	tw_arg(p, "--capacity");
	tw_arg(p, "65536");
	tw_arg(p, "--rcvbuf");
	tw_arg(p, RCVBUF_TEXT);
	tw_arg(p, "--ring-size");
	tw_arg(p, o->ring_size);
	if (o->workers) {
		tw_arg(p, "--workers");
		tw_arg(p, o->workers);
	}
	if (o->ingest) {
		tw_arg(p, "--ingest");
		tw_arg(p, o->ingest);
	}
	if (tw_spawn(p) < 0 || !tw_wait_ready(p)) {
		fprintf(stderr, "wgmond did not start:\n%s", tw_log(p));
		return -1;
	}
	return 0;
}

/* --quick: one modest rate; both receivers must take it all. */
static int quick(struct target *t, unsigned nt, const struct tw_lines *l)
{
	int fails = 0;

	for (unsigned i = 0; i < nt; i++) {
		uint64_t got0, drop0, got, drop;
		struct sender s;
		double reached;
		bool ok;

		if (sender_open(&s, t[i].port, l) < 0)
			return 1;
		target_count(&t[i], &got0, &drop0);
		ok = trial(&t[i], &s, 10000, 5000, &reached);
		target_count(&t[i], &got, &drop);
		printf("%-20s 10000 datagrams at 5000/s (reached %.0f/s): %llu taken, %llu "
		       "dropped: "
		       "%s\n",
		       t[i].name, reached, (unsigned long long)(got - got0),
		       (unsigned long long)(drop - drop0), ok ? "no loss" : "LOSS");
		fails += !ok;
		close(s.fd);
	}
	return fails ? 1 : 0;
}

struct results {
	uint64_t paced[2][RUNS_MAX], drained[2][RUNS_MAX];
	bool bound[2], lossy[2];
};

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void report(const struct bench_opts *o, const struct results *r, const char *backend)
{
	uint64_t pm[2], dm[2];

	for (unsigned t = 0; t < 2; t++) {
		pm[t] = median(r->paced[t], o->runs);
		dm[t] = median(r->drained[t], o->runs);
	}
	if (o->json) {
		printf("{\"runs\":%u,\"backend\":\"%s\",\"paced_datagrams\":%llu,"
		       "\"baseline_lines_per_sec\":%llu,\"lines_per_sec\":%llu,\"ratio\":%.3f,"
		       "\"sender_bound\":%s,\"drain_datagrams\":%llu,"
		       "\"baseline_drain_lines_per_sec\":%llu,\"drain_lines_per_sec\":%llu,"
		       "\"drain_ratio\":%.3f,\"drain_loss\":%s}\n",
		       o->runs, backend, (unsigned long long)o->lines, (unsigned long long)pm[0],
		       (unsigned long long)pm[1], ratio(pm[1], pm[0]),
		       r->bound[0] || r->bound[1] ? "true" : "false",
		       (unsigned long long)o->drain_lines, (unsigned long long)dm[0],
		       (unsigned long long)dm[1], ratio(dm[1], dm[0]),
		       r->lossy[0] || r->lossy[1] ? "true" : "false");
		return;
	}
	printf("\nUDP loopback, one corpus line per datagram, lines per second (medians of %u "
	       "runs)\n"
	       "%-8s %-6s %20s %20s %8s\n",
	       o->runs, "figure", "run", "bare recvmmsg loop", "wgmond", "ratio");
	for (unsigned i = 0; i < o->runs; i++)
		printf("%-8s %-6u %20llu %20llu %8.2f\n", "paced", i + 1,
		       (unsigned long long)r->paced[0][i], (unsigned long long)r->paced[1][i],
		       ratio(r->paced[1][i], r->paced[0][i]));
	for (unsigned i = 0; i < o->runs; i++)
		printf("%-8s %-6u %20llu %20llu %8.2f\n", "drain", i + 1,
		       (unsigned long long)r->drained[0][i], (unsigned long long)r->drained[1][i],
		       ratio(r->drained[1][i], r->drained[0][i]));
	printf("%-8s %-6s %20llu %20llu %8.2f%s\n", "paced", "median", (unsigned long long)pm[0],
	       (unsigned long long)pm[1], ratio(pm[1], pm[0]),
	       r->bound[0] || r->bound[1] ? "  (sender-bound: the receivers may do more)" : "");
	printf("%-8s %-6s %20llu %20llu %8.2f%s\n", "drain", "median", (unsigned long long)dm[0],
	       (unsigned long long)dm[1], ratio(dm[1], dm[0]),
	       r->lossy[0] || r->lossy[1] ? "  (LOSS: the queue overflowed the socket buffer)"
	                                  : "");
	printf("paced: highest loss-free paced send rate of %llu datagrams; drain: %llu datagrams\n"
	       "queued while the receiver was held, divided by the time it took them all\n",
	       (unsigned long long)o->lines, (unsigned long long)o->drain_lines);
}

static int measure(const struct bench_opts *o, struct target *t, const struct tw_lines *l,
                   struct results *r)
{
	memset(r, 0, sizeof(*r));
	for (unsigned run = 0; run < o->runs; run++) {
		for (unsigned i = 0; i < 2; i++) {
			struct sender s;
			bool b, lossy;

			if (sender_open(&s, t[i].port, l) < 0)
				return -1;
			r->paced[i][run] = search(&t[i], &s, o, &b);
			r->bound[i] |= b;
			r->drained[i][run] = drain(&t[i], &s, o->drain_lines, &lossy);
			r->lossy[i] |= lossy;
			close(s.fd);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct tw_lines corpus;
	static struct results res;
	struct bench_opts o;
	struct baseline base;
	struct tw_proc wg;
	struct target t[2];
	char path[512], listen[64];
	const char *cfg;
	int rc = 0;

	if (args(argc, argv, &o) < 0) {
		fprintf(stderr,
		        "Usage: wgmond-udp-bench [--runs R] [--lines N] [--drain-lines N]\n"
		        "       [--rate-start R] [--workers N] [--ingest uring|recvmmsg]\n"
		        "       [--ring-size N (default " RING_SIZE ")] [--json] [--quick]\n");
		return 2;
	}
	if (!tw_lines_load(&corpus, tw_shared("corpus/lines.txt", path, sizeof(path)))) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	if (baseline_start(&base) < 0 || wgmond_start(&wg, &o, listen, sizeof(listen)) < 0) {
		tw_cleanup(&wg);
		return 1;
	}
	t[0] = (struct target){"bare recvmmsg loop", base.port, &base, NULL};
	t[1] = (struct target){"wgmond", wg.port, NULL, &wg};
	if (!o.json && (cfg = strstr(tw_log(&wg), " workers, lanes")) != NULL) {
		while (cfg[-1] != ' ')
			cfg--;
		printf("wgmond: %.*s\n", (int)strcspn(cfg, "\n"), cfg);
	}
	if (o.quick)
		rc = quick(t, 2, &corpus);
	else if (measure(&o, t, &corpus, &res) == 0)
		report(&o, &res, strstr(tw_log(&wg), "udp via io_uring") ? "io_uring" : "recvmmsg");
	else
		rc = 1;
	baseline_stop(&base);
	if (tw_stop(&wg, SIGTERM) != 0) {
		fprintf(stderr, "wgmond did not stop cleanly:\n%s", tw_log(&wg));
		rc = 1;
	}
	tw_cleanup(&wg);
	free(corpus.buf);
	return rc;
}
