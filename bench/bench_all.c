/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench all — every measurement in one run, into one report: parse,
 * pipeline, scan, udp, latency (at half the loss-free rate udp just found),
 * and the sinks' own benches at cheap sizes. Every stage is bounded in time;
 * a failed stage is noted and the others still run (exit code 1 at the end;
 * a failed sink bench is only a note).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static void all_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon-bench all [common flags]\n\n"
	        "Runs parse, pipeline, scan, udp, latency (at half the loss-free rate udp found)\n"
	        "and the sinks' benches that are built in, then prints one Markdown table (or,\n"
	        "with --json, one JSON object). Each subcommand has more options on its own.\n%s",
	        bench_ctx_usage);
}

/* A stage: its name, and how `all` runs it. */
struct all_stage {
	const char *name;
	int (*run)(const struct bench_ctx *c, struct bench_report *r);
};

static int all_parse(const struct bench_ctx *c, struct bench_report *r)
{
	return bench_parse_run(c, NULL, r);
}

static int all_pipeline(const struct bench_ctx *c, struct bench_report *r)
{
	return bench_pipeline_run(c, NULL, r);
}

static int all_scan(const struct bench_ctx *c, struct bench_report *r)
{
	return bench_scan_run(c, NULL, r);
}

static int all_udp(const struct bench_ctx *c, struct bench_report *r)
{
	return bench_udp_run(c, NULL, r);
}

static int all_latency(const struct bench_ctx *c, struct bench_report *r)
{
	struct bench_ctx at = *c;
	const struct bench_fig *f = bench_report_find(r, "udp_lossfree_per_sec", NULL);

	at.udp_lossfree = f ? f->s.median : 0;
	return bench_latency_run(&at, NULL, r);
}

/* The sinks' benches are extras here (each has its own tests): a failure is a note. */
static int all_sinks(const struct bench_ctx *c, struct bench_report *r)
{
	if (bench_sinks_run(c, r))
		(void)0; /* noted in the report by bench_sinks_run() */
	return 0;
}

static const struct all_stage all_stages[] = {
        {"parse", all_parse}, {"pipeline", all_pipeline}, {"scan", all_scan},
        {"udp", all_udp},     {"latency", all_latency},   {"sinks", all_sinks},
};

int bench_all(int argc, char **argv)
{
	struct bench_report *r = calloc(1, sizeof(*r));
	struct bench_ctx c;
	cpu_set_t mask;
	int failed = 0;

	if (!r)
		return 1;
	bench_ctx_init(&c);
	for (int i = 1; i < argc; i++) {
		bool help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");

		if (bench_ctx_arg(&c, argc, argv, &i) == 1)
			continue;
		if (!help)
			fprintf(stderr, "wgmon-bench all: unknown option or bad value '%s'\n",
			        argv[i]);
		all_usage(help ? stdout : stderr);
		free(r);
		return help ? 0 : 2;
	}
	if (sched_getaffinity(0, sizeof(mask), &mask))
		CPU_ZERO(&mask);
	bench_report_init(r, "all");
	bench_report_info(r, "quick", "%s", c.quick ? "true" : "false");
	bench_report_info(r, "runs", "%u", c.runs);
	bench_report_info(r, "cpus", "[%d,%d]", c.cpu[0], c.cpu[1]);
	for (size_t i = 0; i < sizeof(all_stages) / sizeof(all_stages[0]); i++) {
		uint64_t t0 = bench_now_ns();
		char key[BENCH_KEY_LEN];
		int err;

		if (!c.json)
			bench_progress("%s (load %.2f)", all_stages[i].name, bench_load1());
		err = all_stages[i].run(&c, r);
		/* Each stage pins the main thread where it needs it: undo that. */
		if (CPU_COUNT(&mask))
			sched_setaffinity(0, sizeof(mask), &mask);
		if (err) {
			bench_report_note(r, "%s: failed (%s)", all_stages[i].name, strerror(-err));
			failed = 1;
		}
		snprintf(key, sizeof(key), "seconds_%s", all_stages[i].name);
		bench_report_info(r, key, "%.1f", (double)(bench_now_ns() - t0) / 1e9);
	}
	bench_report_print(r, c.json, stdout);
	free(r);
	return failed;
}
