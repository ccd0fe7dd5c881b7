/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench pipeline — wgmond's data path without the kernel: generated
 * lines in memory → one ck_ring SPSC per worker → parser workers (parse_line +
 * shm_writer_apply into a fresh private table) — with 1 worker and with N.
 * Lines go to workers by peer id, as ingest does, and in order per worker.
 *
 *   producer (CPU A) ──record──▶ ring[i] ──▶ worker i (CPU B, …) ──▶ shm table
 *   a full ring makes the producer wait (here nothing may be lost)
 *
 * The baseline, per run, on the worker's CPU: parse_line() alone over the same
 * lines (no ring, no table): the ratio is what the ring and the table cost.
 * Target (issue 8): >= 10 M lines/s with one worker.
 */
#include <ck_pr.h>
#include <ck_ring.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/gen.h"
#include "parse/parse.h"
#include "shm/shm.h"

#define PIPE_LINES          2000000
#define PIPE_LINES_QUICK    100000
#define PIPE_PEERS          10000
#define PIPE_IFACES         16
#define PIPE_HOSTS          8
#define PIPE_RING           4096 /* entries per worker ring (power of two; holds size - 1) */
#define PIPE_BATCH          1    /* lines per ring entry: one datagram each, as UDP brings them */
#define PIPE_BATCH_MAX      1024
#define PIPE_RUN_NS         (20ull * 1000000000ull) /* a run ends here even if lines remain */
#define PIPE_QUICK_NS       (1ull * 1000000000ull)
#define PIPE_SPIN           128  /* polls of an empty or full ring before giving the CPU away */
#define PIPE_DEADLINE_EVERY 1024 /* records between two looks at the clock */
#define PIPE_TARGET         10e6

struct bench_pipeline_opts {
	struct gen_opts gen;
	unsigned workers; /* N; 1 is always measured too */
	unsigned batch;
	unsigned ring;
	uint64_t run_ns;
};

/* A ring entry: a run of whole lines of one worker, in memory, and when it "arrived". */
struct pipe_rec {
	const char *data;
	uint32_t len;
	uint32_t lines;
	uint64_t recv_ns;
};
CK_RING_PROTOTYPE(pipe_rec, pipe_rec)

/* The lines of one worker: contiguous, cut into records of `batch` lines. */
struct pipe_part {
	char *buf; /* NULL: the shared line buffer itself (one worker) */
	const char *base;
	uint64_t *rec_off; /* nrec + 1 offsets into base */
	uint32_t *rec_lines;
	size_t nrec;
};

struct pipe_lane {
	struct ck_ring ring; /* ck keeps the producer's and the consumer's words apart */
	struct pipe_rec *slots;
	const struct pipe_part *part;
	size_t next; /* producer: the next record of part */
	struct shm_writer *w;
	unsigned block;
	int cpu;
	pthread_t tid;
	/* Worker side, read by the producer after the join. */
	uint64_t lines __attribute__((aligned(64)));
	uint64_t rejected, apply_errors;
	uint64_t cpu_ns; /* the worker's CPU time with work in hand (not waiting for records) */
	/* Producer: release store after its last enqueue; worker: acquire load. */
	uint32_t done __attribute__((aligned(64)));
} __attribute__((aligned(64)));

static void pipe_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon-bench pipeline [--lines N] [--workers N] [--batch B] [--ring R]\n"
	        "                            [--peers P] [common flags]\n\n"
	        "Generated lines in memory go through one SPSC ring per worker to parser workers\n"
	        "that apply them to a fresh private table (no kernel in the way): lines/s with 1\n"
	        "worker and with N, beside parse_line() alone over the same lines.\n\n"
	        "  --lines N     lines per run (default %u; --quick %u)\n"
	        "  --workers N   the N of the second figure (default: CPUs online)\n"
	        "  --batch B     lines per ring entry (default %u: one datagram, one line)\n"
	        "  --ring R      entries per ring, a power of two (default %u)\n"
	        "  --peers P     distinct peers in the lines (default %u)\n%s",
	        PIPE_LINES, PIPE_LINES_QUICK, PIPE_BATCH, PIPE_RING, PIPE_PEERS, bench_ctx_usage);
}

static void pipe_defaults(const struct bench_ctx *c, struct bench_pipeline_opts *o)
{
	memset(o, 0, sizeof(*o));
	gen_opts_default(&o->gen);
	o->gen.lines = c->quick ? PIPE_LINES_QUICK : PIPE_LINES;
	o->gen.peers = PIPE_PEERS;
	o->gen.ifaces = PIPE_IFACES;
	o->gen.hosts = PIPE_HOSTS;
	o->workers = (unsigned)bench_cpus();
	o->batch = PIPE_BATCH;
	o->ring = PIPE_RING;
	o->run_ns = c->quick ? PIPE_QUICK_NS : PIPE_RUN_NS;
}

/* ---- partitioning ----------------------------------------------------------------------- */

/* The worker of a line: by the peer id after its first "peer "/"Peer ", as ingest picks. */
static unsigned pipe_pick(const char *s, size_t len, unsigned n)
{
	uint64_t id = 0;

	for (size_t i = 0; i + 5 < len; i++) {
		if ((s[i] == 'p' || s[i] == 'P') && !memcmp(s + i + 1, "eer ", 4)) {
			for (i += 5; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				id = id * 10 + (uint64_t)(s[i] - '0');
			break;
		}
	}
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (unsigned)(id % n);
}

static void pipe_part_free(struct pipe_part *p, unsigned n)
{
	for (unsigned i = 0; p && i < n; i++) {
		free(p[i].buf);
		free(p[i].rec_off);
		free(p[i].rec_lines);
	}
	free(p);
}

/* Cuts worker w's lines (in `which`, or all when n == 1) into records of `batch` lines. */
static int pipe_part_cut(struct pipe_part *p, const struct bench_lines *l, const uint8_t *which,
                         unsigned w, unsigned n, unsigned batch)
{
	size_t cap = l->n / batch / n * 2 + 16, bytes = 0, k = 0;

	p->rec_off = malloc((cap + 1) * sizeof(*p->rec_off));
	p->rec_lines = malloc(cap * sizeof(*p->rec_lines));
	p->buf = n > 1 ? malloc(l->bytes / n * 2 + 65536) : NULL;
	if (!p->rec_off || !p->rec_lines || (n > 1 && !p->buf))
		return -ENOMEM;
	p->base = n > 1 ? p->buf : l->buf;
	for (size_t i = 0; i < l->n; i++) {
		size_t len = (size_t)(l->off[i + 1] - l->off[i]);

		if (n > 1 && which[i] != w)
			continue;
		if (n > 1 && bytes + len > l->bytes / n * 2 + 65536)
			return -E2BIG; /* a lopsided split: not worth measuring */
		if (k % batch == 0) {
			if (k / batch == cap)
				return -E2BIG;
			p->rec_off[k / batch] = n > 1 ? bytes : l->off[i];
			p->rec_lines[k / batch] = 0;
		}
		if (n > 1)
			memcpy(p->buf + bytes, l->buf + l->off[i], len);
		bytes += len;
		p->rec_lines[k / batch]++;
		k++;
	}
	p->nrec = (k + batch - 1) / batch;
	p->rec_off[p->nrec] = n > 1 ? bytes : l->bytes;
	return 0;
}

/* The lines split over n workers; NULL on failure (said why). */
static struct pipe_part *pipe_partition(const struct bench_lines *l, unsigned n, unsigned batch)
{
	struct pipe_part *p = calloc(n, sizeof(*p));
	uint8_t *which = n > 1 ? malloc(l->n) : NULL;
	int err = p && (n == 1 || which) ? 0 : -ENOMEM;

	for (size_t i = 0; !err && n > 1 && i < l->n; i++) {
		size_t len;
		const char *s = bench_line(l, i, &len);

		which[i] = (uint8_t)pipe_pick(s, len, n);
	}
	for (unsigned w = 0; !err && w < n; w++)
		err = pipe_part_cut(&p[w], l, which, w, n, batch);
	free(which);
	if (err) {
		fprintf(stderr, "wgmon-bench pipeline: splitting the lines: %s\n", strerror(-err));
		pipe_part_free(p, n);
		return NULL;
	}
	return p;
}

/* ---- the worker ------------------------------------------------------------------------- */

static void pipe_wait(unsigned *spins)
{
	if (++*spins < PIPE_SPIN) {
		ck_pr_stall();
		return;
	}
	*spins = 0;
	sched_yield(); /* the producer or another worker may need this CPU */
}

/* One record: split, parse, apply; counted as wgmond's worker counts. */
static void pipe_record(struct pipe_lane *l, struct shm_counters *cnt, const struct pipe_rec *r)
{
	const char *p = r->data, *end = r->data + r->len;
	struct parse_event ev;
	uint64_t lines = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		int rc = parse_line(p, len, &ev);

		lines++;
		if (rc != PARSE_OK)
			shm_counter_add(&cnt->rejected[rc], 1);
		else if (shm_writer_apply(l->w, l->block, &ev, r->recv_ns))
			l->apply_errors++;
		p += len + 1;
	}
	shm_counter_add(&cnt->lines, lines);
	l->lines += lines;
}

/* The worker's CPU time spent waiting on an empty ring: kept out of its cost per line. */
struct pipe_idle {
	bool on;
	uint64_t since, total;
};

static void pipe_idle_enter(struct pipe_idle *i)
{
	if (!i->on)
		i->since = bench_thread_cpu_ns();
	i->on = true;
}

static void pipe_idle_leave(struct pipe_idle *i)
{
	if (i->on)
		i->total += bench_thread_cpu_ns() - i->since;
	i->on = false;
}

static void *pipe_worker(void *arg)
{
	struct pipe_lane *l = arg;
	struct shm_counters *cnt = shm_writer_counters(l->w, l->block);
	struct pipe_idle idle = {0};
	unsigned spins = 0;
	struct pipe_rec r;
	uint64_t t0;

	pthread_setname_np(pthread_self(), "bench-worker");
	if (bench_pin_to(l->cpu))
		fprintf(stderr, "wgmon-bench pipeline: worker not pinned to CPU %d\n", l->cpu);
	t0 = bench_thread_cpu_ns();
	for (;;) {
		if (ck_ring_dequeue_spsc_pipe_rec(&l->ring, l->slots, &r)) {
			pipe_idle_leave(&idle);
			pipe_record(l, cnt, &r);
			spins = 0;
			continue;
		}
		pipe_idle_enter(&idle);
		/* Pairs with the producer's release store after its last enqueue: every record
		 * is in the ring now, so one more empty look means the end. */
		if (__atomic_load_n(&l->done, __ATOMIC_ACQUIRE)) {
			if (!ck_ring_dequeue_spsc_pipe_rec(&l->ring, l->slots, &r))
				break;
			pipe_idle_leave(&idle);
			pipe_record(l, cnt, &r);
			continue;
		}
		pipe_wait(&spins);
	}
	pipe_idle_leave(&idle);
	l->cpu_ns = bench_thread_cpu_ns() - t0 - idle.total;
	return NULL;
}

/* ---- the producer ----------------------------------------------------------------------- */

/* Enqueues record `k` of lane l, waiting while its ring is full. */
static void pipe_feed(struct pipe_lane *l, size_t k)
{
	const struct pipe_part *p = l->part;
	struct pipe_rec r = {.data = p->base + p->rec_off[k],
	                     .len = (uint32_t)(p->rec_off[k + 1] - p->rec_off[k]),
	                     .lines = p->rec_lines[k],
	                     .recv_ns = bench_wall_ns()};
	unsigned spins = 0;

	while (!ck_ring_enqueue_spsc_pipe_rec(&l->ring, l->slots, &r))
		pipe_wait(&spins);
}

/* Round robin over the lanes, record by record, until all are fed or the deadline. */
static uint64_t pipe_produce(struct pipe_lane *lanes, unsigned n, uint64_t deadline)
{
	uint64_t lines = 0, recs = 0;
	bool more = true;

	for (size_t k = 0; more; k++) {
		more = false;
		for (unsigned w = 0; w < n; w++) {
			if (k >= lanes[w].part->nrec)
				continue;
			pipe_feed(&lanes[w], k);
			lines += lanes[w].part->rec_lines[k];
			more = true;
		}
		if (++recs % PIPE_DEADLINE_EVERY == 0 && bench_now_ns() > deadline)
			break;
	}
	for (unsigned w = 0; w < n; w++)
		/* Publishes "no more records"; pairs with the worker's acquire load. */
		__atomic_store_n(&lanes[w].done, 1, __ATOMIC_RELEASE);
	return lines;
}

/* ---- one run ---------------------------------------------------------------------------- */

/* A fresh private table for one run; its name in `name`. */
static int pipe_table(struct shm_writer **w, char *name, size_t cap, uint64_t peers)
{
	static unsigned seq;
	struct shm_writer_opts so = {.name = name,
	                             .capacity = peers * 2 < 65536 ? 65536 : peers * 2,
	                             .gid = -1,
	                             .reset = true};
	int err;

	snprintf(name, cap, "/wgmon-bench-pipe-%d-%u", (int)getpid(), seq++);
	bench_cleanup_add_shm(name);
	err = shm_writer_open(w, &so);
	if (err)
		fprintf(stderr, "wgmon-bench pipeline: %s\n", shm_writer_error());
	return err;
}

static void pipe_table_drop(struct shm_writer *w, const char *name)
{
	shm_writer_close(w);
	if (shm_writer_unlink(name) < 0)
		(void)0; /* already gone */
	bench_cleanup_del_shm(name);
}

static int pipe_lanes_init(struct pipe_lane *lanes, unsigned n, const struct pipe_part *parts,
                           const struct bench_ctx *c, const struct bench_pipeline_opts *o,
                           struct shm_writer *w)
{
	int ncpu = bench_cpus();

	memset(lanes, 0, n * sizeof(*lanes));
	for (unsigned i = 0; i < n; i++) {
		struct pipe_lane *l = &lanes[i];

		l->slots = calloc(o->ring, sizeof(*l->slots));
		if (!l->slots)
			return -ENOMEM;
		ck_ring_init(&l->ring, o->ring);
		l->part = &parts[i];
		l->w = w;
		l->block = SHM_BLOCK_WORKER(i);
		/* Worker 0 on CPU B, the others round the machine from there. */
		l->cpu = (c->cpu[1] + (int)i) % ncpu;
	}
	return 0;
}

/* What one run (or one baseline pass) did: lines per wall second and per CPU second. */
struct pipe_rate {
	double wall; /* lines / elapsed time: what the machine delivered, load included */
	double cpu;  /* lines / the workers' CPU time with work: their cost, whatever the load */
};

/* Sums the workers' results after the join; 0, or -EPROTO if lines went missing. */
static int pipe_collect(struct pipe_lane *lanes, unsigned started, uint64_t fed, uint64_t *lines,
                        uint64_t *cpu_ns)
{
	uint64_t errors = 0;

	for (unsigned i = 0; i < started; i++) {
		pthread_join(lanes[i].tid, NULL);
		*lines += lanes[i].lines;
		*cpu_ns += lanes[i].cpu_ns;
		errors += lanes[i].apply_errors;
	}
	if (*lines == fed && !errors)
		return 0;
	fprintf(stderr,
	        "wgmon-bench pipeline: fed %llu lines, workers took %llu, %llu apply errors\n",
	        (unsigned long long)fed, (unsigned long long)*lines, (unsigned long long)errors);
	return -EPROTO;
}

/* One run with n workers into a fresh table. 0 or -errno. */
static int pipe_run(const struct bench_ctx *c, const struct bench_pipeline_opts *o,
                    const struct pipe_part *parts, unsigned n, struct pipe_rate *rate)
{
	struct pipe_lane *lanes = aligned_alloc(64, n * sizeof(*lanes));
	uint64_t t0, t1, fed = 0, lines = 0, cpu_ns = 0;
	struct shm_writer *w = NULL;
	unsigned started = 0;
	char name[64];
	int err = lanes ? pipe_table(&w, name, sizeof(name), o->gen.peers) : -ENOMEM;

	if (!err)
		err = pipe_lanes_init(lanes, n, parts, c, o, w);
	for (; !err && started < n; started++)
		err = -pthread_create(&lanes[started].tid, NULL, pipe_worker, &lanes[started]);
	if (err) /* the started workers end on `done` */
		for (unsigned i = 0; i < started; i++)
			__atomic_store_n(&lanes[i].done, 1, __ATOMIC_RELEASE); /* as pipe_produce */
	t0 = bench_now_ns();
	if (!err)
		fed = pipe_produce(lanes, n, t0 + o->run_ns);
	if (lanes && pipe_collect(lanes, started, fed, &lines, &cpu_ns) && !err)
		err = -EPROTO;
	t1 = bench_now_ns();
	for (unsigned i = 0; lanes && i < n; i++)
		free(lanes[i].slots);
	free(lanes);
	if (w)
		pipe_table_drop(w, name);
	rate->wall = (double)lines * 1e9 / (double)(t1 - t0);
	rate->cpu = cpu_ns ? (double)lines * 1e9 / (double)cpu_ns : 0;
	return err;
}

/* The baseline: parse_line() alone over the same lines on worker 0's CPU. */
static void pipe_parse_only(const struct bench_ctx *c, const struct bench_lines *l,
                            struct pipe_rate *rate)
{
	struct parse_event ev;
	uint64_t t0, c0;

	if (bench_pin_to(c->cpu[1]))
		fprintf(stderr, "wgmon-bench pipeline: not pinned to CPU %d\n", c->cpu[1]);
	t0 = bench_now_ns();
	c0 = bench_thread_cpu_ns();
	for (size_t i = 0; i < l->n; i++) {
		size_t len;
		const char *s = bench_line(l, i, &len);

		parse_line(s, len, &ev); /* an external call: never optimised away */
	}
	rate->cpu = (double)l->n * 1e9 / (double)(bench_thread_cpu_ns() - c0 + 1);
	rate->wall = (double)l->n * 1e9 / (double)(bench_now_ns() - t0);
	if (bench_pin_to(c->cpu[0]))
		fprintf(stderr, "wgmon-bench pipeline: not pinned to CPU %d\n", c->cpu[0]);
}

/* ---- the figures ------------------------------------------------------------------------ */

enum pipe_series {
	PIPE_1W,     /* 1 worker, lines per wall second */
	PIPE_NW,     /* N workers */
	PIPE_BASE,   /* parse_line() alone */
	PIPE_1W_CPU, /* 1 worker, lines per second of its CPU time */
	PIPE_NW_CPU, /* N workers, lines per second of their CPU time (per core) */
	PIPE_BASE_CPU,
	PIPE_VS,    /* 1 worker / parse alone, by CPU time */
	PIPE_SCALE, /* N workers / 1 worker, wall */
	PIPE__SERIES
};

static int pipe_measure(const struct bench_ctx *c, const struct bench_pipeline_opts *o,
                        const struct bench_lines *l, struct pipe_part *p1, struct pipe_part *pn,
                        double *s[PIPE__SERIES])
{
	for (unsigned r = 0; r < c->runs; r++) {
		struct pipe_rate base, one, many;
		int err;

		pipe_parse_only(c, l, &base);
		err = pipe_run(c, o, p1, 1, &one);
		if (!err)
			err = pipe_run(c, o, pn, o->workers, &many);
		if (err)
			return err;
		s[PIPE_1W][r] = one.wall, s[PIPE_NW][r] = many.wall, s[PIPE_BASE][r] = base.wall;
		s[PIPE_1W_CPU][r] = one.cpu, s[PIPE_NW_CPU][r] = many.cpu;
		s[PIPE_BASE_CPU][r] = base.cpu;
		s[PIPE_VS][r] = one.cpu / base.cpu;
		s[PIPE_SCALE][r] = many.wall / one.wall;
		if (!c->json)
			bench_progress(
			        "pipeline: run %u/%u: 1 worker %.2f M lines/s (%.2f M per CPU "
			        "second), %u workers %.2f M, parse_line() alone %.2f M (%.2f M) "
			        "(load %.2f)",
			        r + 1, c->runs, one.wall / 1e6, one.cpu / 1e6, o->workers,
			        many.wall / 1e6, base.wall / 1e6, base.cpu / 1e6, bench_load1());
	}
	return 0;
}

static void pipe_figures(const struct bench_ctx *c, const struct bench_pipeline_opts *o,
                         const struct bench_lines *l, double *s[PIPE__SERIES],
                         struct bench_report *r)
{
	char what[64];

	bench_report_fig(r, "pipeline_lines_per_sec_1w", NULL, "pipeline: 1 worker", "lines/s",
	                 s[PIPE_1W], c->runs, BENCH_GOAL_ATLEAST, PIPE_TARGET);
	snprintf(what, sizeof(what), "pipeline: %u workers", o->workers);
	bench_report_fig(r, "pipeline_lines_per_sec_nw", NULL, what, "lines/s", s[PIPE_NW], c->runs,
	                 BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "pipeline_lines_per_cpu_sec_1w", NULL,
	                 "pipeline: 1 worker, per second of its CPU time", "lines/s",
	                 s[PIPE_1W_CPU], c->runs, BENCH_GOAL_ATLEAST, PIPE_TARGET);
	snprintf(what, sizeof(what), "pipeline: %u workers, per CPU second of theirs", o->workers);
	bench_report_fig(r, "pipeline_lines_per_cpu_sec_nw", NULL, what, "lines/s", s[PIPE_NW_CPU],
	                 c->runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "pipeline_parse_only_lines_per_sec", NULL,
	                 "pipeline: parse_line() alone, same lines", "lines/s", s[PIPE_BASE],
	                 c->runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "pipeline_parse_only_lines_per_cpu_sec", NULL,
	                 "pipeline: parse_line() alone, per CPU second", "lines/s",
	                 s[PIPE_BASE_CPU], c->runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(r, "pipeline_1w_vs_parse", NULL,
	                 "pipeline: 1 worker / parse alone (CPU time)", "x", s[PIPE_VS], c->runs,
	                 BENCH_GOAL_NONE, 0);
	snprintf(what, sizeof(what), "pipeline: %u workers / 1 worker", o->workers);
	bench_report_fig(r, "pipeline_nw_vs_1w", NULL, what, "x", s[PIPE_SCALE], c->runs,
	                 BENCH_GOAL_NONE, 0);
	bench_report_info(r, "pipeline_workers", "%u", o->workers);
	bench_report_info(r, "pipeline_lines", "%zu", l->n);
	bench_report_info(r, "pipeline_peers", "%llu", (unsigned long long)o->gen.peers);
	bench_report_info(r, "pipeline_batch", "%u", o->batch);
}

int bench_pipeline_run(const struct bench_ctx *c, const struct bench_pipeline_opts *o,
                       struct bench_report *r)
{
	double *v = calloc(PIPE__SERIES * (size_t)c->runs, sizeof(*v)), *s[PIPE__SERIES];
	struct pipe_part *p1 = NULL, *pn = NULL;
	struct bench_pipeline_opts d;
	struct bench_lines l;
	int err;

	if (!o) {
		pipe_defaults(c, &d);
		o = &d;
	}
	err = v ? bench_lines_make(&l, &o->gen) : -ENOMEM;
	if (err) {
		fprintf(stderr, "wgmon-bench pipeline: generating lines: %s\n", strerror(-err));
		free(v);
		return err;
	}
	for (int i = 0; i < PIPE__SERIES; i++)
		s[i] = v + (size_t)i * c->runs;
	p1 = pipe_partition(&l, 1, o->batch);
	pn = p1 ? pipe_partition(&l, o->workers, o->batch) : NULL;
	err = pn ? 0 : -ENOMEM;
	if (!err && bench_pin_to(c->cpu[0]))
		fprintf(stderr, "wgmon-bench pipeline: producer not pinned to CPU %d\n", c->cpu[0]);
	if (!err)
		err = pipe_measure(c, o, &l, p1, pn, s);
	if (!err)
		pipe_figures(c, o, &l, s, r);
	pipe_part_free(p1, 1);
	pipe_part_free(pn, o->workers);
	bench_lines_free(&l);
	free(v);
	return err;
}

/* "--flag value" pairs of this subcommand; 0, 1 for --help, 2 for a usage error. */
static int pipe_args(int argc, char **argv, struct bench_ctx *c, struct bench_pipeline_opts *o)
{
	uint64_t lines = 0, v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int k = bench_ctx_arg(c, argc, argv, &i);

		if (k == 1)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (k < 0 || bench_parse_u64(val, &v) || !v) {
			fprintf(stderr, "wgmon-bench pipeline: bad or missing value for '%s'\n", a);
			return 2;
		}
		if (!strcmp(a, "--lines"))
			lines = v;
		else if (!strcmp(a, "--workers") && v <= SHM_WORKERS_MAX)
			o->workers = (unsigned)v;
		else if (!strcmp(a, "--batch") && v <= PIPE_BATCH_MAX)
			o->batch = (unsigned)v;
		else if (!strcmp(a, "--ring") && v >= 2 && v <= (1u << 24) && !(v & (v - 1)))
			o->ring = (unsigned)v;
		else if (!strcmp(a, "--peers") && v <= GEN_PEERS_MAX)
			o->gen.peers = v;
		else {
			fprintf(stderr, "wgmon-bench pipeline: unknown option or bad value '%s'\n",
			        a);
			return 2;
		}
		i++;
	}
	/* --quick may come after the sizes: apply it now, then what was asked. */
	o->gen.lines = lines ? lines : c->quick ? PIPE_LINES_QUICK : PIPE_LINES;
	o->run_ns = c->quick ? PIPE_QUICK_NS : PIPE_RUN_NS;
	return 0;
}

int bench_pipeline(int argc, char **argv)
{
	struct bench_pipeline_opts o;
	struct bench_report r;
	struct bench_ctx c;
	int err;

	bench_ctx_init(&c);
	pipe_defaults(&c, &o);
	err = pipe_args(argc, argv, &c, &o);
	if (err) {
		pipe_usage(err == 1 ? stdout : stderr);
		return err == 1 ? 0 : 2;
	}
	bench_report_init(&r, "pipeline");
	err = bench_pipeline_run(&c, &o, &r);
	if (err)
		return 1;
	bench_report_print(&r, c.json, stdout);
	return 0;
}
