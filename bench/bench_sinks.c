/* SPDX-License-Identifier: MIT */
/*
 * bench_sinks — the sinks' own benches inside `all`: each runs in a child
 * process (its globals, signal handlers and libraries stay out of ours; a hang
 * is bounded and killed) with --json, and a few of its figures are taken from
 * the object it prints. Only the cheap sizes: the full ones are their own
 * subcommands (`wgmon-bench redis|metrics|notify`).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

#define SINK_OUT_MAX           (1u << 16) /* bytes of a sink bench's stdout we keep */
#define SINK_SECONDS           120.0      /* bound of one sink bench */
#define SINK_METRICS_TARGET_MS 100.0      /* /metrics at 100 k peers (DESIGN.md) */
#define SINK_REDIS_TARGET      200000.0   /* peer updates/s (DESIGN.md) */

#ifdef WGMON_BENCH_HAVE_REDIS
int bench_redis_main(int argc, char **argv);
#endif
#ifdef WGMON_BENCH_HAVE_METRICS
int bench_metrics_main(int argc, char **argv);
#endif
#ifdef WGMON_BENCH_HAVE_NOTIFY
int bench_notify_main(int argc, char **argv);
#endif

struct sink_entry {
	const char *name;
	int (*main)(int argc, char **argv);
};

static const struct sink_entry sink_entries[] = {
#ifdef WGMON_BENCH_HAVE_REDIS
        {"redis", bench_redis_main},
#endif
#ifdef WGMON_BENCH_HAVE_METRICS
        {"metrics", bench_metrics_main},
#endif
#ifdef WGMON_BENCH_HAVE_NOTIFY
        {"notify", bench_notify_main},
#endif
        {NULL, NULL},
};

/* In the child: stdout into the pipe, run, exit with the bench's code. Never returns. */
static void sink_child(const struct sink_entry *e, char **argv, int out)
{
	int argc = 0, rc;

	if (dup2(out, 1) < 0)
		_exit(126);
	while (argv[argc])
		argc++;
	rc = e->main(argc, argv);
	fflush(stdout);
	_exit(rc ? 1 : 0);
}

/* Reads the child's stdout until EOF or the deadline; 0 or -ETIMEDOUT. */
static int sink_read(int fd, char *buf, size_t cap, uint64_t deadline)
{
	size_t n = 0;

	for (;;) {
		uint64_t now = bench_now_ns();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
			continue;
		k = read(fd, buf + n, n < cap - 1 ? cap - 1 - n : 0);
		if (k <= 0 && n < cap - 1) {
			buf[n] = '\0';
			return 0;
		}
		n += k > 0 ? (size_t)k : 0;
		if (n == cap - 1) { /* keep the start, drop the rest */
			char sink[4096];

			while (read(fd, sink, sizeof(sink)) > 0)
				;
			buf[n] = '\0';
			return 0;
		}
	}
}

int bench_sink_run(const char *name, char **argv, double seconds,
                   int (*take)(const char *json, struct bench_report *r), struct bench_report *r)
{
	const struct sink_entry *e = sink_entries;
	char *out = malloc(SINK_OUT_MAX);
	int pfd[2], st = 0, err;
	pid_t pid;

	while (e->name && strcmp(e->name, name))
		e++;
	if (!e->name || !out) {
		free(out);
		return e->name ? -ENOMEM : -ENOENT;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		free(out);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		sink_child(e, argv, pfd[1]);
	close(pfd[1]);
	err = pid < 0 ? -errno
	              : sink_read(pfd[0], out, SINK_OUT_MAX,
	                          bench_now_ns() + (uint64_t)(seconds * 1e9));
	close(pfd[0]);
	if (pid > 0 && err)
		kill(pid, SIGKILL);
	if (pid > 0 && waitpid(pid, &st, 0) == pid && !err &&
	    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		err = -EPROTO;
	if (!err)
		err = take(out, r);
	if (err)
		fprintf(stderr, "wgmon-bench: %s bench: %s\n", name,
		        err == -ETIMEDOUT ? "took too long, killed"
		        : err == -EPROTO  ? "failed or printed no figures"
		                          : strerror(-err));
	free(out);
	return err;
}

/* {"median":…,"min":…,"max":…} after `from` in `json`; 0 or -EPROTO. */
static int sink_stat(const char *json, const char *from, struct bench_stat *s)
{
	s->median = bench_json_number(json, from, "median");
	s->min = bench_json_number(json, from, "min");
	s->max = bench_json_number(json, from, "max");
	return s->median < 0 || s->min < 0 || s->max < 0 ? -EPROTO : 0;
}

/* ---- what `all` takes from each --------------------------------------------------------- */

static unsigned sink_runs;  /* runs asked of the sink benches */
static char sink_peers[16]; /* the size asked, as text */

static int sink_take_metrics(const char *json, struct bench_report *r)
{
	struct bench_stat s;
	char what[64];

	if (sink_stat(json, "\"render_ms\":", &s))
		return -EPROTO;
	snprintf(what, sizeof(what), "metrics: /metrics render, %s peers", sink_peers);
	bench_report_stat(r, "metrics_render_ms", sink_peers, what, "ms", &s, sink_runs,
	                  strcmp(sink_peers, "100000") ? BENCH_GOAL_NONE : BENCH_GOAL_BELOW,
	                  SINK_METRICS_TARGET_MS);
	return 0;
}

static int sink_take_redis(const char *json, struct bench_report *r)
{
	struct bench_stat s, b;
	char what[64];

	if (sink_stat(json, "\"sink\":", &s) || sink_stat(json, "\"baseline_hset\":", &b))
		return -EPROTO;
	snprintf(what, sizeof(what), "redis: peer updates, %s changed peers", sink_peers);
	bench_report_stat(r, "redis_updates_per_sec", NULL, what, "updates/s", &s, sink_runs,
	                  BENCH_GOAL_ATLEAST, SINK_REDIS_TARGET);
	bench_report_stat(r, "redis_baseline_hset_per_sec", NULL, "redis: plain pipelined HSET",
	                  "updates/s", &b, sink_runs, BENCH_GOAL_NONE, 0);
	return 0;
}

static int sink_take_notify(const char *json, struct bench_report *r)
{
	struct bench_stat f, p, b;

	if (sink_stat(json, "\"follow_events_per_s\":", &f) ||
	    sink_stat(json, "\"posts_per_s\":", &p) ||
	    sink_stat(json, "\"baseline_curl_posts_per_s\":", &b))
		return -EPROTO;
	bench_report_stat(r, "notify_events_per_sec", NULL, "notify: ring events followed",
	                  "events/s", &f, sink_runs, BENCH_GOAL_NONE, 0);
	bench_report_stat(r, "notify_posts_per_sec", NULL, "notify: webhook posts", "posts/s", &p,
	                  sink_runs, BENCH_GOAL_NONE, 0);
	bench_report_stat(r, "notify_baseline_posts_per_sec", NULL, "notify: bare libcurl posts",
	                  "posts/s", &b, sink_runs, BENCH_GOAL_NONE, 0);
	return 0;
}

int bench_sinks_run(const struct bench_ctx *c, struct bench_report *r)
{
	char runs[16];
	char *metrics[] = {"metrics", "--peers", sink_peers, "--runs", runs, "--json", NULL};
	char *redis[] = {"redis", "--peers", sink_peers, "--runs", runs, "--json", NULL};
	char *notify[] = {"notify", "--runs", runs, "--json", NULL};
	int failed = 0;

	sink_runs = c->runs < 3 ? 3 : c->runs; /* the sinks' benches want at least 3 */
	snprintf(runs, sizeof(runs), "%u", sink_runs);
	snprintf(sink_peers, sizeof(sink_peers), "%s", c->quick ? "10000" : "100000");
	for (const struct sink_entry *e = sink_entries; e->name; e++) {
		int err = 0;

		if (!c->json)
			bench_progress("%s: its own bench, in a child process", e->name);
		if (!strcmp(e->name, "metrics"))
			err = bench_sink_run("metrics", metrics, SINK_SECONDS, sink_take_metrics,
			                     r);
		else if (!strcmp(e->name, "redis"))
			err = bench_sink_run("redis", redis, SINK_SECONDS, sink_take_redis, r);
		else if (!strcmp(e->name, "notify"))
			err = bench_sink_run("notify", notify, SINK_SECONDS, sink_take_notify, r);
		if (err) {
			bench_report_note(r, "%s: its bench failed (%s): no figures", e->name,
			                  strerror(-err));
			failed = err;
		}
	}
	return failed;
}
