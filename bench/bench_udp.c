/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench udp — the loss-free UDP rate of wgmond over loopback, beside the
 * limit of this machine: a bare recvmmsg receiver that only counts, measured
 * in the same run under the same conditions (same CPU, same receive buffer,
 * same datagrams: one generated rsyslog line each).
 *
 *   blaster (sendmmsg, CPU A) ──loopback──▶ wgmond (CPU B)  or  bare receiver (CPU B)
 *
 * A trial sends at a fixed rate for a fixed time; it is loss-free when the
 * receiver counted every datagram sent. The rate is found by doubling until a
 * trial loses, then bisecting (a bounded number of trials). Loss is checked
 * against /proc/net/snmp (RcvbufErrors) and wgmond's own drop counters.
 * Then both take the same rate (half the lower of the two found) while their
 * CPU time is read: CPU per datagram, the figure a busy machine does not move.
 * Target (issue 8): wgmond >= 90 % of the bare receiver.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "bench/gen.h"

#define UDP_LINES        65536 /* distinct datagrams, sent in a cycle */
#define UDP_PEERS        10000
#define UDP_RCVBUF       (8u << 20) /* both receivers; small beside a trial's datagrams */
#define UDP_TRIAL_S      2.0
#define UDP_TRIAL_QUICK  0.1
#define UDP_RATE_START   50000
#define UDP_RATE_MAX     20000000
#define UDP_STEPS        6 /* bisection steps: the rate to within 1/64 of the bracket */
#define UDP_STEPS_QUICK  2
#define UDP_SETTLE_NS    200000000ull  /* the count stopped moving this long: trial over */
#define UDP_BOUND_NS     3000000000ull /* at most this long waiting after a trial */
#define UDP_POLL_NS      1000000ull
#define UDP_SENDER_SLACK 0.9 /* reached < 90 % of the asked rate: the sender is the limit */
#define UDP_TARGET       0.9

struct bench_udp_opts {
	struct gen_opts gen;
	uint64_t rcvbuf;
	double trial_s;
	uint64_t rate_start, rate_max;
	unsigned steps;
	unsigned workers; /* wgmond --workers; 0: its default */
};

/* A receiver under test: the bare loop, or wgmond. */
struct udp_target {
	const char *name;
	int port;
	struct bench_bare *bare;
	struct bench_wgmond *wg;
	/* What the trials of this receiver lost, and where the kernel and wgmond saw it. */
	uint64_t sent, lost, snmp_rcvbuf, inside;
	unsigned sender_bound; /* searches that ended because the sender could not go faster */
};

static void udp_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon-bench udp [--trial SECONDS] [--rcvbuf BYTES] [--workers N]\n"
	        "                       [--rate-start R] [--steps S] [common flags]\n\n"
	        "The highest loss-free rate of wgmond on UDP loopback (a sendmmsg blaster on CPU "
	        "A,\n"
	        "wgmond on CPU B), and in the same run the same search against a bare recvmmsg\n"
	        "receiver on CPU B: the limit of this machine. Prints both and the ratio.\n\n"
	        "  --trial S       seconds of sending per trial (default %.1f; --quick %.1f)\n"
	        "  --rcvbuf B      receive buffer of both receivers (default %u)\n"
	        "  --workers N     wgmond parser threads (default: wgmond's, CPUs - 1)\n"
	        "  --rate-start R  first rate tried, datagrams/s (default %u)\n"
	        "  --steps S       bisection steps (default %u; --quick %u)\n%s",
	        UDP_TRIAL_S, UDP_TRIAL_QUICK, UDP_RCVBUF, UDP_RATE_START, UDP_STEPS,
	        UDP_STEPS_QUICK, bench_ctx_usage);
}

static void udp_defaults(const struct bench_ctx *c, struct bench_udp_opts *o)
{
	memset(o, 0, sizeof(*o));
	gen_opts_default(&o->gen);
	o->gen.lines = UDP_LINES;
	o->gen.peers = UDP_PEERS;
	o->gen.ifaces = 16;
	o->gen.hosts = 8;
	o->gen.envelope = GEN_ENV_RFC3164; /* what rsyslog forwards */
	o->rcvbuf = UDP_RCVBUF;
	o->trial_s = c->quick ? UDP_TRIAL_QUICK : UDP_TRIAL_S;
	o->rate_start = UDP_RATE_START;
	o->rate_max = UDP_RATE_MAX;
	o->steps = c->quick ? UDP_STEPS_QUICK : UDP_STEPS;
}

/* ---- one trial -------------------------------------------------------------------------- */

static void udp_pause(void)
{
	struct timespec ts = {0, (long)UDP_POLL_NS};

	nanosleep(&ts, NULL); /* between two polls of the count */
}

/* Datagrams the receiver took so far, and those it dropped inside itself. */
static uint64_t udp_count(const struct udp_target *t, uint64_t *inside)
{
	uint64_t lines;

	if (t->bare) {
		*inside = 0;
		return bench_bare_count(t->bare);
	}
	bench_wgmond_counts(t->wg, &lines, inside);
	return lines;
}

/* Polls until `want` more than got0 arrived, or the count stood still (bounded). */
static uint64_t udp_settle(const struct udp_target *t, uint64_t got0, uint64_t want)
{
	uint64_t last = got0, still = bench_now_ns(), end = still + UDP_BOUND_NS, got, inside;

	for (;;) {
		uint64_t now = bench_now_ns();

		got = udp_count(t, &inside);
		if (got != last) {
			last = got;
			still = now;
		}
		if (got - got0 >= want || now - still > UDP_SETTLE_NS || now > end)
			return got - got0;
		udp_pause();
	}
}

/* One trial at `rate`: true when every datagram sent was counted; *reached: the rate sent. */
static bool udp_trial(struct udp_target *t, struct bench_blaster *b, const struct bench_udp_opts *o,
                      double rate, double *reached)
{
	uint64_t n = (uint64_t)(rate * o->trial_s), sent, got, in0, in1, rb0 = 0, rb1 = 0, ie;
	uint64_t got0 = udp_count(t, &in0);
	bool snmp = bench_snmp_udp(&rb0, &ie) == 0;
	uint64_t deadline = bench_now_ns() + (uint64_t)(o->trial_s * 1.25e9);

	*reached = bench_blaster_paced(b, n ? n : 1, rate, BENCH_UDP_BATCH, deadline, NULL, NULL,
	                               &sent);
	got = udp_settle(t, got0, sent);
	udp_count(t, &in1);
	snmp = snmp && bench_snmp_udp(&rb1, &ie) == 0;
	t->sent += sent;
	if (got < sent) {
		t->lost += sent - got;
		t->snmp_rcvbuf += snmp ? rb1 - rb0 : 0;
		t->inside += in1 - in0;
	}
	return got >= sent;
}

/*
 * The highest loss-free rate: double from `start` while loss-free, then bisect
 * between the last good and the first bad rate. When the blaster cannot reach
 * the rate asked and nothing was lost, the sender is the limit: the rate it
 * reached is returned and the target is marked sender-bound.
 */
static double udp_search(struct udp_target *t, struct bench_blaster *b,
                         const struct bench_udp_opts *o, double start)
{
	double good = 0, bad = 0, r = start, reached;

	while (r <= (double)o->rate_max) {
		bool ok = udp_trial(t, b, o, r, &reached);
		bool short_of = reached < UDP_SENDER_SLACK * r;

		if (ok && short_of) {
			t->sender_bound++;
			return reached;
		}
		if (!ok) {
			bad = short_of ? reached : r;
			break;
		}
		good = r;
		r *= 2;
	}
	if (bad == 0)
		return good;
	for (r = good ? good : bad / 2; !good && r >= 1000; r /= 2) /* lossy from the start */
		if (udp_trial(t, b, o, r, &reached))
			good = r;
	for (unsigned i = 0; i < o->steps && good > 0; i++) {
		double mid = (good + bad) / 2;

		if (udp_trial(t, b, o, mid, &reached))
			good = mid;
		else
			bad = mid;
	}
	return good;
}

/* The per-run series: [UDP_LIM] bare, [UDP_WG] wgmond, their ratio, CPU per datagram. */
enum udp_series { UDP_LIM, UDP_WG, UDP_RATIO, UDP_CPU_LIM, UDP_CPU_WG, UDP_CPU_RATIO, UDP__N };

/* CPU time the receiver ran so far: the bare thread's, or all of wgmond's threads. */
static uint64_t udp_cpu_ns(const struct udp_target *t)
{
	return t->bare ? bench_bare_cpu_ns(t->bare) : bench_wgmond_cpu_ns(t->wg);
}

/*
 * The receiver's CPU time per datagram at a rate it takes without loss: what it
 * costs, whatever else the machine runs (a busy machine slows the loss-free
 * search, not this). 0 if it could not be measured.
 */
static double udp_cost(struct udp_target *t, struct bench_blaster *b,
                       const struct bench_udp_opts *o, double rate)
{
	uint64_t n = (uint64_t)(rate * o->trial_s), sent, inside, cpu0 = udp_cpu_ns(t);
	uint64_t got0 = udp_count(t, &inside), got;

	bench_blaster_paced(b, n ? n : 1, rate, BENCH_UDP_BATCH,
	                    bench_now_ns() + (uint64_t)(o->trial_s * 1.25e9), NULL, NULL, &sent);
	got = udp_settle(t, got0, sent);
	return got && cpu0 ? (double)(udp_cpu_ns(t) - cpu0) / (double)got : 0;
}

/* ---- the runs --------------------------------------------------------------------------- */

struct udp_env {
	struct bench_lines lines;
	struct bench_bare bare;
	struct bench_wgmond wg;
	struct udp_target t[2]; /* [0] the bare receiver, [1] wgmond */
	bool bare_up;
};

static int udp_env_start(struct udp_env *e, const struct bench_ctx *c,
                         const struct bench_udp_opts *o)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->wg.pid = -1;
	err = bench_lines_make(&e->lines, &o->gen);
	if (err) {
		fprintf(stderr, "wgmon-bench udp: generating lines: %s\n", strerror(-err));
		return err;
	}
	err = bench_bare_start(&e->bare, c->cpu[1], o->rcvbuf);
	if (err) {
		fprintf(stderr, "wgmon-bench udp: bare receiver: %s\n", strerror(-err));
		return err;
	}
	e->bare_up = true;
	err = bench_wgmond_start(&e->wg, c, c->cpu[1], 4 * o->gen.peers, o->rcvbuf, o->workers);
	if (err)
		return err;
	e->t[0] = (struct udp_target){
	        .name = "bare recvmmsg", .port = e->bare.port, .bare = &e->bare};
	e->t[1] = (struct udp_target){.name = "wgmond", .port = e->wg.port, .wg = &e->wg};
	if (bench_pin_to(c->cpu[0]))
		fprintf(stderr, "wgmon-bench udp: blaster not pinned to CPU %d\n", c->cpu[0]);
	return 0;
}

static void udp_env_stop(struct udp_env *e)
{
	bench_wgmond_stop(&e->wg);
	if (e->bare_up)
		bench_bare_stop(&e->bare);
	bench_lines_free(&e->lines);
}

/* Search target i once (later runs start an octave below the previous result), or with
 * cost_rate > 0 measure its CPU per datagram at that rate. */
static int udp_one(struct udp_env *e, unsigned i, const struct bench_udp_opts *o, double *prev,
                   double cost_rate, double *out)
{
	struct bench_blaster b;
	double start = *prev > 0 ? *prev / 2 : (double)o->rate_start;
	int err = bench_blaster_open(&b, e->t[i].port, &e->lines);

	if (err) {
		fprintf(stderr, "wgmon-bench udp: blaster: %s\n", strerror(-err));
		return err;
	}
	if (cost_rate > 0) {
		*out = udp_cost(&e->t[i], &b, o, cost_rate);
	} else {
		*out = udp_search(&e->t[i], &b, o, start);
		*prev = *out;
	}
	bench_blaster_close(&b);
	return 0;
}

/* One run: both searches (in alternating order, so a drift of the machine's load favours
 * neither), then both costs at half the lower rate found (no loss for either). */
static int udp_run(struct udp_env *e, const struct bench_udp_opts *o, unsigned r, double prev[2],
                   double *s[UDP__N])
{
	unsigned first = r % 2;
	double rate;
	int err;

	err = udp_one(e, first, o, &prev[first], 0, &s[first ? UDP_WG : UDP_LIM][r]);
	if (!err)
		err = udp_one(e, !first, o, &prev[!first], 0, &s[first ? UDP_LIM : UDP_WG][r]);
	rate = (s[UDP_WG][r] < s[UDP_LIM][r] ? s[UDP_WG][r] : s[UDP_LIM][r]) / 2;
	if (!err)
		err = udp_one(e, 0, o, &prev[0], rate, &s[UDP_CPU_LIM][r]);
	if (!err)
		err = udp_one(e, 1, o, &prev[1], rate, &s[UDP_CPU_WG][r]);
	s[UDP_RATIO][r] = s[UDP_LIM][r] > 0 ? s[UDP_WG][r] / s[UDP_LIM][r] : 0;
	s[UDP_CPU_RATIO][r] = s[UDP_CPU_WG][r] > 0 ? s[UDP_CPU_LIM][r] / s[UDP_CPU_WG][r] : 0;
	return err;
}

static int udp_measure(const struct bench_ctx *c, const struct bench_udp_opts *o, struct udp_env *e,
                       double *s[UDP__N])
{
	double prev[2] = {0, 0};
	int err = 0;

	for (unsigned r = 0; r < c->runs && !err; r++) {
		err = udp_run(e, o, r, prev, s);
		if (!err && !c->json)
			bench_progress(
			        "udp: run %u/%u: loss-free wgmond %.0f/s, bare recvmmsg %.0f/s, "
			        "ratio %.2f; CPU per datagram %.0f ns and %.0f ns, ratio %.2f "
			        "(load %.2f)",
			        r + 1, c->runs, s[UDP_WG][r], s[UDP_LIM][r], s[UDP_RATIO][r],
			        s[UDP_CPU_WG][r], s[UDP_CPU_LIM][r], s[UDP_CPU_RATIO][r],
			        bench_load1());
	}
	return err;
}

static void udp_loss_note(struct bench_report *r, const struct udp_target *t)
{
	char own[80] = "";

	if (t->wg)
		snprintf(own, sizeof(own), ", wgmond's own drops (lanes full, truncated) %llu",
		         (unsigned long long)t->inside);
	bench_report_note(r,
	                  "udp: %s: %llu datagrams sent in all trials; the lossy trials lost "
	                  "%llu, /proc/net/snmp RcvbufErrors rose by %llu over them "
	                  "(system-wide)%s",
	                  t->name, (unsigned long long)t->sent, (unsigned long long)t->lost,
	                  (unsigned long long)t->snmp_rcvbuf, own);
}

static void udp_figures(const struct bench_ctx *c, const struct bench_udp_opts *o,
                        struct udp_env *e, double *s[UDP__N], struct bench_report *r)
{
	bench_report_fig(r, "udp_lossfree_per_sec", NULL, "udp: wgmond loss-free", "lines/s",
	                 s[UDP_WG], c->runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "udp_limit_per_sec", NULL, "udp: bare recvmmsg receiver (limit)",
	                 "lines/s", s[UDP_LIM], c->runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "udp_ratio", NULL, "udp: wgmond / limit, per run", "x", s[UDP_RATIO],
	                 c->runs, BENCH_GOAL_ATLEAST, UDP_TARGET);
	bench_report_fig(r, "udp_cpu_ns_per_line", NULL, "udp: wgmond CPU per datagram", "ns",
	                 s[UDP_CPU_WG], c->runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "udp_limit_cpu_ns_per_line", NULL,
	                 "udp: bare receiver CPU per datagram", "ns", s[UDP_CPU_LIM], c->runs,
	                 BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "udp_cpu_ratio", NULL, "udp: bare CPU / wgmond CPU, per datagram", "x",
	                 s[UDP_CPU_RATIO], c->runs, BENCH_GOAL_NONE, 0);
	bench_report_info(r, "udp_backend", "\"%s\"", bench_wgmond_backend(&e->wg));
	bench_report_info(r, "udp_rcvbuf", "%llu", (unsigned long long)o->rcvbuf);
	bench_report_info(r, "udp_trial_s", "%.2f", o->trial_s);
	bench_report_info(r, "udp_limit_sender_bound_runs", "%u", e->t[0].sender_bound);
	bench_report_info(r, "udp_wgmond_sender_bound_runs", "%u", e->t[1].sender_bound);
	if (e->t[0].sender_bound)
		bench_report_note(
		        r,
		        "udp: in %u of %u runs the blaster (one core) could not outrun the "
		        "bare receiver: there the limit shown is the sender's, the "
		        "receiver's is higher",
		        e->t[0].sender_bound, c->runs);
	udp_loss_note(r, &e->t[0]);
	udp_loss_note(r, &e->t[1]);
}

int bench_udp_run(const struct bench_ctx *c, const struct bench_udp_opts *o, struct bench_report *r)
{
	double *v = calloc(UDP__N * (size_t)c->runs, sizeof(*v)), *s[UDP__N];
	struct bench_udp_opts d;
	struct udp_env e;
	int err;

	if (!o) {
		udp_defaults(c, &d);
		o = &d;
	}
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < UDP__N; i++)
		s[i] = v + (size_t)i * c->runs;
	err = udp_env_start(&e, c, o);
	if (!err)
		err = udp_measure(c, o, &e, s);
	if (!err)
		udp_figures(c, o, &e, s, r);
	udp_env_stop(&e);
	free(v);
	return err;
}

/* "--flag value" pairs of this subcommand; 0, 1 for --help, 2 for a usage error. */
static int udp_args(int argc, char **argv, struct bench_ctx *c, struct bench_udp_opts *o)
{
	double trial = 0;
	uint64_t v, steps = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int k = bench_ctx_arg(c, argc, argv, &i);
		char *end;

		if (k == 1)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (k == 0 && !strcmp(a, "--trial") && val) {
			trial = strtod(val, &end);
			k = *end || !(trial >= 0.01 && trial <= 60) ? -EINVAL : 1;
		} else if (k == 0 && !bench_parse_u64(val, &v)) {
			if (!strcmp(a, "--rcvbuf") && v >= 4096 && v <= (1u << 30))
				o->rcvbuf = v, k = 1;
			else if (!strcmp(a, "--workers") && v >= 1 && v <= 62)
				o->workers = (unsigned)v, k = 1;
			else if (!strcmp(a, "--rate-start") && v >= 1000)
				o->rate_start = v, k = 1;
			else if (!strcmp(a, "--steps") && v <= 20)
				steps = v + 1, k = 1;
		}
		if (k != 1) {
			fprintf(stderr, "wgmon-bench udp: unknown option or bad value '%s'\n", a);
			return 2;
		}
		i++;
	}
	o->trial_s = trial ? trial : c->quick ? UDP_TRIAL_QUICK : UDP_TRIAL_S;
	o->steps = steps ? (unsigned)steps - 1 : c->quick ? UDP_STEPS_QUICK : UDP_STEPS;
	return 0;
}

int bench_udp(int argc, char **argv)
{
	struct bench_udp_opts o;
	struct bench_report r;
	struct bench_ctx c;
	int err;

	bench_ctx_init(&c);
	udp_defaults(&c, &o);
	err = udp_args(argc, argv, &c, &o);
	if (err) {
		udp_usage(err == 1 ? stdout : stderr);
		return err == 1 ? 0 : 2;
	}
	bench_report_init(&r, "udp");
	if (bench_udp_run(&c, &o, &r))
		return 1;
	bench_report_print(&r, c.json, stdout);
	return 0;
}
