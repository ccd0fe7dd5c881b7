/* SPDX-License-Identifier: MIT */
/*
 * bench — wgmon-bench: measurements against the targets of DESIGN.md, each
 * beside a baseline measured in the same run. One subcommand per bench_NAME.c;
 * this header lists them, and holds what they share: timing, pinning,
 * statistics over runs, the report every figure goes into (Markdown or JSON),
 * wgmond as a child process, and the UDP blaster and bare receiver. The main
 * thread calls everything here unless a function says otherwise.
 */
#ifndef WGMON_BENCH_H
#define WGMON_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BENCH_WUR __attribute__((warn_unused_result))

/*
 * The subcommands: X(name, summary). Adding one is one line here plus its
 * file bench_<name>.c defining `int bench_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand's name; returns the exit code: 0, 1 failure, 2 usage).
 * The sinks' benches are there when CMake found their libraries.
 */
#ifdef WGMON_BENCH_HAVE_REDIS
#define BENCH_SUB_REDIS(X) X(redis, "wgmon-redis: peer updates/s into redis-server, vs plain HSET")
#else
#define BENCH_SUB_REDIS(X)
#endif
#ifdef WGMON_BENCH_HAVE_METRICS
#define BENCH_SUB_METRICS(X) X(metrics, "wgmon-metrics: /metrics render time at 10 k-1 M peers")
#else
#define BENCH_SUB_METRICS(X)
#endif
#ifdef WGMON_BENCH_HAVE_NOTIFY
#define BENCH_SUB_NOTIFY(X) X(notify, "wgmon-notify: event follow and webhook posts per second")
#else
#define BENCH_SUB_NOTIFY(X)
#endif

#define BENCH_SUBCOMMANDS(X)                                                                       \
	X(parse, "parse_line() against a sscanf-based parser, one core")                           \
	X(pipeline, "lines in memory -> SPSC rings -> workers -> table, 1 and N workers")          \
	X(udp, "loss-free UDP rate of wgmond vs a bare recvmmsg receiver (the limit)")             \
	X(latency, "send -> visible in the table: p50/p99/p999 at half the loss-free rate")        \
	X(scan, "a reader's full table scan at 10 k, 100 k and 1 M peers; bytes per peer")         \
	BENCH_SUB_REDIS(X)                                                                         \
	BENCH_SUB_METRICS(X)                                                                       \
	BENCH_SUB_NOTIFY(X) X(all, "everything above, one Markdown table or one JSON object")

#define BENCH_DECLARE(name, summary) int bench_##name(int argc, char **argv);
BENCH_SUBCOMMANDS(BENCH_DECLARE)
#undef BENCH_DECLARE

/* Limits. */
#define BENCH_RUNS_MAX  1000
#define BENCH_RUNS      3   /* default runs of every figure (median, min, max) */
#define BENCH_FIGS_MAX  64  /* figures in one report */
#define BENCH_NOTES_MAX 32  /* notes in one report */
#define BENCH_NOTE_LEN  240 /* bytes of one note (or one info value) */
#define BENCH_KEY_LEN   48

/* ---- clock, CPUs, statistics ------------------------------------------------------------ */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);
/* CLOCK_REALTIME in nanoseconds (the clock of shm times). */
uint64_t bench_wall_ns(void);
/* The calling thread's CPU time in nanoseconds: what it ran, however loaded the machine. */
uint64_t bench_thread_cpu_ns(void);

/*
 * bench_pin_cpu() - pins the calling thread to one CPU it may run on (the one
 * it is on now). Returns that CPU, or -errno; the caller decides if that is fatal.
 */
int bench_pin_cpu(void);
/* Pins the calling thread to `cpu`: 0 or -errno. Any thread. */
int bench_pin_to(int cpu);
/* CPUs online (at least 1). */
int bench_cpus(void);
/* The 1-minute load average, or -1. */
double bench_load1(void);

/* Median, minimum and maximum of `n` samples (sorted in place). */
struct bench_stat {
	double median, min, max;
};
void bench_stat_of(double *v, size_t n, struct bench_stat *s);

/* Parses a decimal u64 flag value; 0 or -EINVAL. */
BENCH_WUR int bench_parse_u64(const char *s, uint64_t *v);

/* ---- what every measuring subcommand gets --------------------------------------------- */

struct bench_ctx {
	unsigned runs;       /* runs per figure; figures are their median, min and max */
	bool quick;          /* smoke sizes: every subcommand in seconds */
	bool json;           /* one JSON object instead of the Markdown table */
	int cpu[2];          /* [0] sender / producer, [1] receiver / worker */
	const char *wgmond;  /* the wgmond binary */
	const char *ingest;  /* wgmond --ingest (uring, recvmmsg), NULL: its default */
	double udp_lossfree; /* wgmond's loss-free rate when known (latency runs at half) */
};

/* Defaults: BENCH_RUNS, CPUs 0 and 1 (0 and 0 on one CPU), wgmond next to wgmon-bench. */
void bench_ctx_init(struct bench_ctx *c);

/*
 * bench_ctx_arg() - the flags every measuring subcommand takes: --runs R,
 * --quick, --json, --cpus A,B, --wgmond PATH. Looks at argv[*i] (and its value):
 * 1 consumed (*i moved past a value), 0 not a common flag, -EINVAL bad value.
 */
int bench_ctx_arg(struct bench_ctx *c, int argc, char **argv, int *i);
extern const char bench_ctx_usage[]; /* their --help lines */

/* ---- the report: every figure, rendered as Markdown or one JSON object ---------------- */

enum bench_goal {
	BENCH_GOAL_NONE = 0,
	BENCH_GOAL_ATLEAST, /* met when the median >= target */
	BENCH_GOAL_BELOW,   /* met when the median < target */
	BENCH_GOAL_ATMOST,  /* met when the median <= target */
};

struct bench_fig {
	char key[BENCH_KEY_LEN]; /* JSON key of the median ("udp_lossfree_per_sec") */
	char sub[16];            /* "" or the member of an object-valued key ("10000") */
	char what[80];           /* the Markdown row */
	char unit[16];
	struct bench_stat s;
	unsigned runs;
	double load; /* 1-minute load average just after the measurement */
	enum bench_goal goal;
	double target;
};

struct bench_report {
	const char *bench; /* "all", "udp", … */
	struct bench_fig fig[BENCH_FIGS_MAX];
	size_t nfig;
	char note[BENCH_NOTES_MAX][BENCH_NOTE_LEN];
	size_t nnote;
	char info_key[BENCH_NOTES_MAX][BENCH_KEY_LEN];
	char info_val[BENCH_NOTES_MAX][BENCH_NOTE_LEN]; /* JSON text: 12, true, "io_uring" */
	size_t ninfo;
	double load_start[3];
	uint64_t start_ns;
};

void bench_report_init(struct bench_report *r, const char *bench);
/*
 * bench_report_fig() - adds the figure made of `n` per-run values `v` (sorted in
 * place): median, min, max, and the load now. `sub` NULL or "" for a plain key.
 */
void bench_report_fig(struct bench_report *r, const char *key, const char *sub, const char *what,
                      const char *unit, double *v, size_t n, enum bench_goal goal, double target);
/* The same, from statistics computed elsewhere (a sink's bench) over `runs` runs. */
void bench_report_stat(struct bench_report *r, const char *key, const char *sub, const char *what,
                       const char *unit, const struct bench_stat *s, unsigned runs,
                       enum bench_goal goal, double target);
/* The figure `key` (sub NULL: the first), or NULL. */
const struct bench_fig *bench_report_find(const struct bench_report *r, const char *key,
                                          const char *sub);
void bench_report_note(struct bench_report *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* A condition of the run for the JSON "info" object and the Markdown list; `fmt` makes
 * valid JSON (a number, true/false, or a quoted string without escapes). */
void bench_report_info(struct bench_report *r, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Prints the report: one JSON object on one line, or Markdown. Returns 1 if a target
 * was missed, else 0 (the caller decides whether that is a failure). */
int bench_report_print(const struct bench_report *r, bool json, FILE *f);
/* "Intel(R) Xeon(R) …, 2 CPUs, Linux 6.1.0" for the header of the report. */
void bench_machine(char *buf, size_t cap);

/* A progress line on stderr ("wgmon-bench: udp: run 1/3 …"). */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- generated lines in memory ------------------------------------------------------- */

/*
 * A set of lines in one buffer: line i is bytes [off[i], off[i+1] - 1) of
 * `buf` (each line is followed by '\n'). Built once, read by every run.
 */
struct bench_lines {
	char *buf;
	uint64_t *off; /* n + 1 entries */
	size_t n;
	size_t bytes;
	size_t good; /* lines the generator meant to be parseable */
};
struct gen_opts;
/* Generates o->lines lines into `l`. Returns 0, -EINVAL or -ENOMEM. */
BENCH_WUR int bench_lines_make(struct bench_lines *l, const struct gen_opts *o);
/* Frees what bench_lines_make() allocated; a zeroed struct is fine. */
void bench_lines_free(struct bench_lines *l);
/* Line i without its '\n'. */
static inline const char *bench_line(const struct bench_lines *l, size_t i, size_t *len)
{
	*len = (size_t)(l->off[i + 1] - l->off[i] - 1);
	return l->buf + l->off[i];
}

/* ---- the measurements, for `all` (each subcommand's own flags left at their defaults) -- */

struct bench_parse_opts;
struct bench_pipeline_opts;
struct bench_udp_opts;
struct bench_latency_opts;
struct bench_scan_opts;
/* Each adds its figures to `r`; `o` NULL: the defaults for c->quick. 0 or -errno (said why). */
BENCH_WUR int bench_parse_run(const struct bench_ctx *c, const struct bench_parse_opts *o,
                              struct bench_report *r);
BENCH_WUR int bench_pipeline_run(const struct bench_ctx *c, const struct bench_pipeline_opts *o,
                                 struct bench_report *r);
BENCH_WUR int bench_udp_run(const struct bench_ctx *c, const struct bench_udp_opts *o,
                            struct bench_report *r);
BENCH_WUR int bench_latency_run(const struct bench_ctx *c, const struct bench_latency_opts *o,
                                struct bench_report *r);
BENCH_WUR int bench_scan_run(const struct bench_ctx *c, const struct bench_scan_opts *o,
                             struct bench_report *r);
/*
 * bench_sink_run() - runs a sink's bench entry point (`name`: "redis", "metrics",
 * "notify") in a child process with `argv` (argv[0] its name, --json among them),
 * bounded by `seconds`, and hands its stdout to `take` to add figures. 0 or -errno.
 */
BENCH_WUR int bench_sink_run(const char *name, char **argv, double seconds,
                             int (*take)(const char *json, struct bench_report *r),
                             struct bench_report *r);
/* Adds the figures of every sink bench that is built in (cheap sizes). 0 or -errno. */
BENCH_WUR int bench_sinks_run(const struct bench_ctx *c, struct bench_report *r);

/* The number after "key": in a JSON text (first match after `from`), or -1 if absent. */
double bench_json_number(const char *json, const char *from, const char *key);

/* ---- wgmond as a child process ------------------------------------------------------- */

struct shm_reader;

struct bench_wgmond {
	pid_t pid;
	int port; /* UDP on 127.0.0.1 */
	char shm[64];
	char log[96];
	struct shm_reader *r; /* attached once ready */
};

/*
 * bench_wgmond_start() - starts wgmond pinned to `cpu` (-1: anywhere) on a free
 * loopback port with a private table of `capacity` peers, SO_RCVBUF `rcvbuf`
 * and `workers` parser threads (0: its default), waits (bounded) for its ready
 * line and attaches a reader. 0, or -errno after printing its log.
 */
BENCH_WUR int bench_wgmond_start(struct bench_wgmond *d, const struct bench_ctx *c, int cpu,
                                 uint64_t capacity, uint64_t rcvbuf, unsigned workers);
/* Stops it (SIGTERM, bounded wait, then SIGKILL), removes its table and log. Idempotent. */
void bench_wgmond_stop(struct bench_wgmond *d);
/* Lines it counted (accepted or rejected) and datagrams it dropped inside (lanes full,
 * truncated, receive errors). */
void bench_wgmond_counts(const struct bench_wgmond *d, uint64_t *lines, uint64_t *dropped);
/* CPU time all its threads ran so far (schedstat of each task), ns; 0 if unknown. */
uint64_t bench_wgmond_cpu_ns(const struct bench_wgmond *d);
/* The UDP backend its log names ("io_uring", "recvmmsg", or "?"). */
const char *bench_wgmond_backend(const struct bench_wgmond *d);

/* Leftovers to remove if wgmon-bench is interrupted (SIGINT/SIGTERM/SIGHUP). */
void bench_cleanup_add_shm(const char *name);
void bench_cleanup_del_shm(const char *name);

/* ---- UDP: the blaster, the bare receiver, the kernel's counters ---------------------- */

#define BENCH_UDP_BATCH 64 /* datagrams per sendmmsg / recvmmsg */

/* Sends lines as datagrams (one line each, cycling) to 127.0.0.1:port. */
struct bench_blaster {
	int fd;
	const struct bench_lines *l;
	size_t next;
	uint64_t sent;
};
BENCH_WUR int bench_blaster_open(struct bench_blaster *b, int port, const struct bench_lines *l);
void bench_blaster_close(struct bench_blaster *b);
/* Sends the next n (<= BENCH_UDP_BATCH) lines in one sendmmsg loop; returns how many. */
unsigned bench_blaster_send(struct bench_blaster *b, unsigned n);
/*
 * bench_blaster_paced() - sends n datagrams at `rate` per second in batches of
 * `batch`, stopping early at monotonic time `deadline_ns`. Between batches it
 * calls idle(arg) while waiting (NULL: sleeps). Returns the rate reached;
 * *sent gets the count.
 */
double bench_blaster_paced(struct bench_blaster *b, uint64_t n, double rate, unsigned batch,
                           uint64_t deadline_ns, void (*idle)(void *), void *arg, uint64_t *sent);

/* A bare recvmmsg loop on its own thread that only counts: the machine's limit. */
struct bench_bare {
	int fd, port, cpu;
	uint64_t count; /* receiver thread: relaxed stores; main: relaxed loads (a count) */
	uint32_t stop;  /* main: release store; receiver: acquire load */
	pthread_t tid;
};
BENCH_WUR int bench_bare_start(struct bench_bare *s, int cpu, uint64_t rcvbuf);
uint64_t bench_bare_count(const struct bench_bare *s);
/* CPU time the receiver thread ran so far, ns. */
uint64_t bench_bare_cpu_ns(const struct bench_bare *s);
void bench_bare_stop(struct bench_bare *s);

/* Udp RcvbufErrors and InErrors of /proc/net/snmp (system-wide); 0 or -errno. */
BENCH_WUR int bench_snmp_udp(uint64_t *rcvbuf_errors, uint64_t *in_errors);

/* ---- the sscanf baseline of `parse` ------------------------------------------------------ */

/*
 * The sscanf baseline (sscanf_parser.c): what a straightforward C programmer
 * writes with strstr() and sscanf() — copy the line, find "wireguard: ", read
 * the interface, try the common message formats one after another, read the
 * endpoint with sscanf and inet_pton. It extracts the fields parse_line() does
 * for those messages (host, interface, peer, endpoint, keypair, try) and
 * returns 0 if it recognised the line, -1 otherwise. Reentrant.
 */
struct baseline_event {
	int kind; /* enum parse_event_kind */
	char host[256];
	char iface[16];
	unsigned long long peer, keypair;
	int try_no;
	int af; /* 0, 4 or 6 */
	unsigned short port;
	unsigned flowinfo, scope;
	unsigned char addr[16];
};
int baseline_parse_line(const char *line, size_t len, struct baseline_event *ev);

#endif /* WGMON_BENCH_H */
