/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench latency — from send to visible in the table, through the real
 * wgmond on UDP loopback, at half its loss-free rate. Among the generated
 * lines, every Nth datagram is a probe: "Keypair <TAG|seq> created for peer
 * <p>", whose keypair id names it. The sender's thread (CPU A) follows the
 * table's event ring between its batches; a probe is visible once its event
 * is there (shm_writer_apply() updates the peer's slot before it appends the
 * event). Latency = the time the reader saw it - the time its batch was sent:
 * an upper bound, by at most one small batch.
 *
 * Target (issue 8): p99 < 1 ms.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench/bench.h"
#include "bench/gen.h"
#include "shm/shm.h"

#define LAT_SECONDS       2.0
#define LAT_SECONDS_QUICK 0.3
#define LAT_EVERY         8 /* one probe per this many datagrams */
#define LAT_BATCH         8 /* datagrams per sendmmsg: keeps the reader's look-ups close */
#define LAT_TAG           (1ull << 62) /* keypair ids of probes; generated ids stay far below */
#define LAT_PROBE_PEERS   1000
#define LAT_PROBE_MAX     160           /* bytes of one probe line */
#define LAT_DRAIN_NS      2000000000ull /* after the last send: probes still missing wait this long */
#define LAT_RATE_FALLBACK 50000.0
#define LAT_TARGET_US     1000.0

struct bench_latency_opts {
	struct gen_opts gen;
	double rate; /* datagrams/s; 0: half the loss-free rate (measured first if unknown) */
	double seconds;
	unsigned every;
	uint64_t rcvbuf;
	unsigned workers;
	uint64_t idle_ns;
};

/* One run's probes: when each was sent, when it was seen (monotonic ns; 0 = not yet). */
struct lat_run {
	uint64_t *sent_ns, *seen_ns;
	uint64_t n, seen, missed_events, events;
	uint64_t idle_ns; /* sleep this long when the ring had nothing new (0: spin) */
	struct shm_event_cursor cur;
	const struct shm_reader *r;
};

static void lat_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon-bench latency [--rate R] [--seconds S] [--every N] [--workers N]\n"
	        "                           [common flags]\n\n"
	        "Send -> visible in the table, through wgmond on UDP loopback: p50, p99 and p999 "
	        "of\n"
	        "probe datagrams mixed into generated lines, at half wgmond's loss-free rate "
	        "(found\n"
	        "first with `udp`, one run, unless --rate is given).\n\n"
	        "  --rate R      datagrams per second (default: half the loss-free rate)\n"
	        "  --seconds S   sending time per run (default %.1f; --quick %.1f)\n"
	        "  --every N     one probe per N datagrams (default %u)\n"
	        "  --workers N   wgmond parser threads (default: wgmond's)\n"
	        "  --idle-us U   the reader sleeps U us when the ring had nothing new (default 0:\n"
	        "                it spins, and sees each probe at once)\n%s",
	        LAT_SECONDS, LAT_SECONDS_QUICK, LAT_EVERY, bench_ctx_usage);
}

static void lat_defaults(const struct bench_ctx *c, struct bench_latency_opts *o)
{
	memset(o, 0, sizeof(*o));
	gen_opts_default(&o->gen);
	o->gen.lines = 65536;
	o->gen.peers = 10000;
	o->gen.ifaces = 16;
	o->gen.hosts = 8;
	o->gen.envelope = GEN_ENV_RFC3164;
	o->seconds = c->quick ? LAT_SECONDS_QUICK : LAT_SECONDS;
	o->every = LAT_EVERY;
	o->rcvbuf = 8u << 20; /* as `udp` */
}

/* ---- the reader ------------------------------------------------------------------------- */

/* Takes every event the ring has now; stamps the probes among them. */
static void lat_drain(void *arg)
{
	struct lat_run *run = arg;
	struct shm_event ev;
	uint64_t missed = 0;

	while (shm_reader_events_next(run->r, &run->cur, &ev, &missed) == 1) {
		uint64_t seq = ev.n[0] & ~LAT_TAG;

		run->events++;
		run->missed_events += missed;
		if (ev.kind != PARSE_EV_KEYPAIR_CREATED || !(ev.n[0] & LAT_TAG) || seq >= run->n ||
		    run->seen_ns[seq])
			continue;
		run->seen_ns[seq] = bench_now_ns();
		run->seen++;
	}
	run->missed_events += missed;
}

/* Between two batches: read the ring; when it had nothing new, give the CPU away briefly
 * (--idle-us) so that a spinning reader does not push the machine's other work onto
 * wgmond's CPU. */
static void lat_idle(struct lat_run *run)
{
	uint64_t before = run->events;
	struct timespec ts = {0, (long)run->idle_ns};

	lat_drain(run);
	if (run->idle_ns && run->events == before)
		nanosleep(&ts, NULL);
}

/* ---- the sender ------------------------------------------------------------------------- */

struct lat_sender {
	struct bench_blaster b; /* the generated lines */
	uint64_t sent;
	char probe[LAT_BATCH][LAT_PROBE_MAX];
};

/* One batch of k datagrams, probes where due; stamps the probes' send time. */
static void lat_send_batch(struct lat_sender *s, struct lat_run *run, unsigned k, unsigned every)
{
	struct mmsghdr m[LAT_BATCH];
	struct iovec iov[LAT_BATCH];
	uint64_t now = bench_now_ns();
	unsigned done = 0;

	for (unsigned i = 0; i < k; i++, s->sent++) {
		if (s->sent % every == 0 && s->sent / every < run->n) {
			uint64_t seq = s->sent / every;

			iov[i].iov_base = s->probe[i];
			iov[i].iov_len =
			        (size_t)snprintf(s->probe[i], LAT_PROBE_MAX,
			                         "<7>Aug  2 11:31:16 benchprobe kernel: wireguard: "
			                         "wg0: Keypair %llu "
			                         "created for peer %llu",
			                         (unsigned long long)(LAT_TAG | seq),
			                         (unsigned long long)(1 + seq % LAT_PROBE_PEERS));
			run->sent_ns[seq] = now;
		} else {
			iov[i].iov_base = (void *)bench_line(s->b.l, s->b.next, &iov[i].iov_len);
			s->b.next = s->b.next + 1 == s->b.l->n ? 0 : s->b.next + 1;
		}
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	while (done < k) {
		int n = sendmmsg(s->b.fd, m + done, k - done, 0);

		if (n > 0)
			done += (unsigned)n;
		else if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN)
			break;
	}
}

/* Sends for o->seconds at `rate`, reading the event ring whenever nothing is due. */
static void lat_send(struct lat_sender *s, struct lat_run *run, const struct bench_latency_opts *o,
                     double rate)
{
	uint64_t start = bench_now_ns(), span = (uint64_t)(o->seconds * 1e9), now, end;
	uint64_t total = (uint64_t)(rate * o->seconds);

	s->sent = 0;
	/* Bounded: a sender that falls behind stops a quarter of the time late. */
	while (s->sent < total && (now = bench_now_ns()) < start + span + span / 4) {
		uint64_t due = (uint64_t)((double)(now - start) * rate / 1e9) + 1;

		if (due > total)
			due = total;
		if (due <= s->sent) {
			lat_idle(run);
			continue;
		}
		lat_send_batch(s, run,
		               due - s->sent > LAT_BATCH ? LAT_BATCH : (unsigned)(due - s->sent),
		               o->every);
	}
	/* The last probes: bounded. */
	for (end = bench_now_ns() + LAT_DRAIN_NS;
	     run->seen < (s->sent + o->every - 1) / o->every && bench_now_ns() < end;)
		lat_idle(run);
}

/* ---- runs and figures ------------------------------------------------------------------- */

static int lat_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* p50, p99, p999 (µs) of the probes seen in one run; false when none was. */
static bool lat_quantiles(struct lat_run *run, uint64_t probes, double q[3])
{
	static const double at[3] = {0.50, 0.99, 0.999};
	uint64_t k = 0;

	for (uint64_t i = 0; i < probes; i++)
		if (run->seen_ns[i])
			run->seen_ns[k++] = run->seen_ns[i] - run->sent_ns[i];
	if (!k)
		return false;
	qsort(run->seen_ns, k, sizeof(run->seen_ns[0]), lat_cmp_u64);
	for (int j = 0; j < 3; j++) {
		uint64_t idx = (uint64_t)(at[j] * (double)k);

		q[j] = (double)run->seen_ns[idx < k ? idx : k - 1] / 1e3;
	}
	return true;
}

/* One run: q[] gets p50/p99/p999; *lost the probes never seen. */
static int lat_one(struct bench_wgmond *wg, const struct bench_lines *l,
                   const struct bench_latency_opts *o, double rate, double q[3], uint64_t *lost)
{
	struct lat_sender *s = calloc(1, sizeof(*s));
	struct lat_run run = {.r = wg->r, .idle_ns = o->idle_ns};
	int err = s ? 0 : -ENOMEM;

	run.n = (uint64_t)(rate * o->seconds) / o->every + 1;
	run.sent_ns = calloc(run.n, sizeof(uint64_t));
	run.seen_ns = calloc(run.n, sizeof(uint64_t));
	if (!err && (!run.sent_ns || !run.seen_ns))
		err = -ENOMEM;
	if (!err)
		err = bench_blaster_open(&s->b, wg->port, l);
	if (!err) {
		shm_reader_events_begin(wg->r, &run.cur, 0);
		lat_send(s, &run, o, rate);
		bench_blaster_close(&s->b);
		*lost = (s->sent + o->every - 1) / o->every - run.seen;
		if (!lat_quantiles(&run, (s->sent + o->every - 1) / o->every, q))
			err = -ENODATA;
	}
	free(run.sent_ns);
	free(run.seen_ns);
	free(s);
	return err;
}

/* Half wgmond's loss-free rate: the one `all` measured, or a one-run `udp` now. */
static double lat_rate(const struct bench_ctx *c, const struct bench_latency_opts *o)
{
	struct bench_ctx one = *c;
	const struct bench_fig *f;
	struct bench_report *tmp;
	double rate = LAT_RATE_FALLBACK;

	if (o->rate > 0)
		return o->rate;
	if (c->udp_lossfree > 0)
		return c->udp_lossfree / 2;
	tmp = calloc(1, sizeof(*tmp));
	if (!tmp)
		return rate;
	one.runs = 1;
	one.json = true; /* no progress lines */
	bench_report_init(tmp, "udp");
	if (bench_udp_run(&one, NULL, tmp) == 0 &&
	    (f = bench_report_find(tmp, "udp_lossfree_per_sec", NULL)) && f->s.median > 0)
		rate = f->s.median / 2;
	free(tmp);
	return rate;
}

static int lat_measure(const struct bench_ctx *c, const struct bench_latency_opts *o,
                       struct bench_wgmond *wg, const struct bench_lines *l, double rate,
                       double *q[3], uint64_t *lost)
{
	for (unsigned r = 0; r < c->runs; r++) {
		double v[3];
		uint64_t miss = 0;
		int err = lat_one(wg, l, o, rate, v, &miss);

		if (err) {
			fprintf(stderr, "wgmon-bench latency: run %u: %s\n", r + 1, strerror(-err));
			return err;
		}
		for (int j = 0; j < 3; j++)
			q[j][r] = v[j];
		*lost += miss;
		if (!c->json)
			bench_progress(
			        "latency: run %u/%u at %.0f/s: p50 %.0f us, p99 %.0f us, p999 "
			        "%.0f us (load %.2f)",
			        r + 1, c->runs, rate, v[0], v[1], v[2], bench_load1());
	}
	return 0;
}

int bench_latency_run(const struct bench_ctx *c, const struct bench_latency_opts *o,
                      struct bench_report *r)
{
	double *v = calloc(3 * (size_t)c->runs, sizeof(*v)), *q[3], rate;
	struct bench_latency_opts d;
	struct bench_wgmond wg = {.pid = -1};
	struct bench_lines l = {0};
	uint64_t lost = 0;
	int err;

	if (!o) {
		lat_defaults(c, &d);
		o = &d;
	}
	if (!v)
		return -ENOMEM;
	q[0] = v, q[1] = v + c->runs, q[2] = v + 2 * c->runs;
	rate = lat_rate(c, o);
	err = bench_lines_make(&l, &o->gen);
	if (!err)
		err = bench_wgmond_start(&wg, c, c->cpu[1], 4 * o->gen.peers, o->rcvbuf,
		                         o->workers);
	if (!err && bench_pin_to(c->cpu[0]))
		fprintf(stderr, "wgmon-bench latency: sender not pinned to CPU %d\n", c->cpu[0]);
	if (!err)
		err = lat_measure(c, o, &wg, &l, rate, q, &lost);
	if (!err) {
		bench_report_fig(r, "latency_p50_us", NULL, "latency: send -> visible, p50", "us",
		                 q[0], c->runs, BENCH_GOAL_NONE, 0);
		bench_report_fig(r, "latency_p99_us", NULL, "latency: send -> visible, p99", "us",
		                 q[1], c->runs, BENCH_GOAL_BELOW, LAT_TARGET_US);
		bench_report_fig(r, "latency_p999_us", NULL, "latency: send -> visible, p999", "us",
		                 q[2], c->runs, BENCH_GOAL_NONE, 0);
		bench_report_info(r, "latency_rate", "%.0f", rate);
		bench_report_info(r, "latency_probes_lost", "%llu", (unsigned long long)lost);
	}
	bench_wgmond_stop(&wg);
	bench_lines_free(&l);
	free(v);
	return err;
}

/* "--flag value" pairs of this subcommand; 0, 1 for --help, 2 for a usage error. */
static int lat_args(int argc, char **argv, struct bench_ctx *c, struct bench_latency_opts *o)
{
	double secs = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int k = bench_ctx_arg(c, argc, argv, &i);
		uint64_t v = 0;
		char *end;

		if (k == 1)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (k == 0 && val && !strcmp(a, "--seconds")) {
			secs = strtod(val, &end);
			k = *end || !(secs >= 0.05 && secs <= 60) ? -EINVAL : 1;
		} else if (k == 0 && !bench_parse_u64(val, &v) && (v || !strcmp(a, "--idle-us"))) {
			if (!strcmp(a, "--rate") && v >= 100)
				o->rate = (double)v, k = 1;
			else if (!strcmp(a, "--every") && v <= 1000000)
				o->every = (unsigned)v, k = 1;
			else if (!strcmp(a, "--workers") && v <= 62)
				o->workers = (unsigned)v, k = 1;
			else if (!strcmp(a, "--idle-us") && v <= 100000)
				o->idle_ns = v * 1000, k = 1;
		}
		if (k != 1) {
			fprintf(stderr, "wgmon-bench latency: unknown option or bad value '%s'\n",
			        a);
			return 2;
		}
		i++;
	}
	o->seconds = secs ? secs : c->quick ? LAT_SECONDS_QUICK : LAT_SECONDS;
	return 0;
}

int bench_latency(int argc, char **argv)
{
	struct bench_latency_opts o;
	struct bench_report r;
	struct bench_ctx c;
	int err;

	bench_ctx_init(&c);
	lat_defaults(&c, &o);
	err = lat_args(argc, argv, &c, &o);
	if (err) {
		lat_usage(err == 1 ? stdout : stderr);
		return err == 1 ? 0 : 2;
	}
	bench_report_init(&r, "latency");
	if (bench_latency_run(&c, &o, &r))
		return 1;
	bench_report_print(&r, c.json, stdout);
	return 0;
}
