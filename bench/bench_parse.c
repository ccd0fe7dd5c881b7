/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench parse — parse_line() on one pinned core over N generated lines
 * held in memory, against the sscanf baseline over the same lines in the same
 * process, runs interleaved. Target (DESIGN.md): >= 10 M lines/s and >= 10x.
 * Accepted counts are checked against what the generator meant, so a parser
 * that rejects everything cannot look fast.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/gen.h"
#include "parse/parse.h"

#define BENCH_PARSE_LINES  5000000
#define BENCH_PARSE_ALL    2000000 /* lines in `all` */
#define BENCH_PARSE_QUICK  200000  /* lines in `all --quick` */
#define BENCH_PARSE_RUNS   5
#define BENCH_PARSE_PEERS  10000
#define BENCH_PARSE_IFACES 16
#define BENCH_PARSE_HOSTS  8
/* parse_line() may disagree with the generator on at most this share of lines. */
#define BENCH_PARSE_SLACK 0.001

struct bench_parse_opts {
	struct gen_opts gen;
	uint64_t runs;
	int json;
};

/* One pass of either parser: what it accepted, and a checksum that keeps the work alive. */
struct bench_pass {
	uint64_t accepted;
	uint64_t sum;
	double seconds;
};

struct bench_parse_result {
	struct bench_pass parse, baseline;
	struct bench_stat lps, ns, base_lps, base_ns;
	int cpu;
};

static void bench_parse_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon-bench parse [--lines N] [--runs R] [--json] [--seed S] [--peers P]\n"
	        "                         [--envelope NAME] [--malformed F] [--decorated F]\n\n"
	        "Generates N lines (`wgmon gen`, envelope mix) into memory, then times R runs of\n"
	        "parse_line() and a sscanf-based parser over all of them on one pinned core.\n\n"
	        "  --lines N       lines (default %u)\n"
	        "  --runs R        runs of each parser (default %u); median, min and max are "
	        "shown\n"
	        "  --json          one JSON object instead of the table\n"
	        "  --seed S, --peers P, --envelope NAME, --malformed F, --decorated F\n"
	        "                  generator options, as for `wgmon gen` (defaults: 1, %u, mix, 0, "
	        "0)\n",
	        BENCH_PARSE_LINES, BENCH_PARSE_RUNS, BENCH_PARSE_PEERS);
}

static int bench_parse_fraction(const char *s, double *v)
{
	char *end;

	if (!s)
		return -EINVAL;
	*v = strtod(s, &end);
	return end == s || *end || !(*v >= 0 && *v <= 1) ? -EINVAL : 0;
}

/* "--flag value" pairs; returns 0, 1 for --help, 2 for a usage error. */
static int bench_parse_args(int argc, char **argv, struct bench_parse_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];
		int err = 0;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (!strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (!strcmp(a, "--lines"))
			err = bench_parse_u64(v, &o->gen.lines);
		else if (!strcmp(a, "--runs"))
			err = bench_parse_u64(v, &o->runs);
		else if (!strcmp(a, "--seed"))
			err = bench_parse_u64(v, &o->gen.seed);
		else if (!strcmp(a, "--peers"))
			err = bench_parse_u64(v, &o->gen.peers);
		else if (!strcmp(a, "--malformed"))
			err = bench_parse_fraction(v, &o->gen.malformed);
		else if (!strcmp(a, "--decorated"))
			err = bench_parse_fraction(v, &o->gen.decorated);
		else if (!strcmp(a, "--envelope"))
			err = v && (o->gen.envelope = gen_envelope_lookup(v)) >= 0 ? 0 : -EINVAL;
		else
			err = -ENOENT;
		if (err) {
			fprintf(stderr, "wgmon-bench parse: %s '%s'\n",
			        err == -ENOENT ? "unknown option" : "bad or missing value for", a);
			return 2;
		}
		i++;
	}
	if (!o->gen.lines || !o->runs || o->runs > BENCH_RUNS_MAX) {
		fprintf(stderr, "wgmon-bench parse: --lines must be > 0, --runs 1..%u\n",
		        BENCH_RUNS_MAX);
		return 2;
	}
	return 0;
}

static void bench_pass_parse(const struct bench_lines *l, struct bench_pass *r)
{
	uint64_t t0 = bench_now_ns(), acc = 0, sum = 0;
	struct parse_event ev;

	for (size_t i = 0; i < l->n; i++) {
		size_t len = (size_t)(l->off[i + 1] - l->off[i] - 1);

		if (parse_line(l->buf + l->off[i], len, &ev) == PARSE_OK) {
			acc++;
			sum += ev.peer ^ ev.kind ^ ev.endpoint.port ^ ev.iface_len;
		}
	}
	r->seconds = (double)(bench_now_ns() - t0) / 1e9;
	r->accepted = acc;
	r->sum = sum;
}

static void bench_pass_baseline(const struct bench_lines *l, struct bench_pass *r)
{
	uint64_t t0 = bench_now_ns(), acc = 0, sum = 0;
	struct baseline_event ev;

	for (size_t i = 0; i < l->n; i++) {
		size_t len = (size_t)(l->off[i + 1] - l->off[i] - 1);

		if (baseline_parse_line(l->buf + l->off[i], len, &ev) == 0) {
			acc++;
			sum += ev.peer ^ (uint64_t)ev.kind ^ ev.port ^ (uint64_t)ev.iface[0];
		}
	}
	r->seconds = (double)(bench_now_ns() - t0) / 1e9;
	r->accepted = acc;
	r->sum = sum;
}

/* R interleaved runs of both parsers; per-run rates go into the statistics. */
static int bench_parse_measure(const struct bench_lines *l, uint64_t runs,
                               struct bench_parse_result *res)
{
	double *v = calloc(4 * runs, sizeof(*v));
	double *lps = v, *ns = v + runs, *blps = v + 2 * runs, *bns = v + 3 * runs;

	if (!v)
		return -ENOMEM;
	for (uint64_t r = 0; r < runs; r++) {
		bench_pass_parse(l, &res->parse);
		bench_pass_baseline(l, &res->baseline);
		lps[r] = (double)l->n / res->parse.seconds;
		ns[r] = res->parse.seconds * 1e9 / (double)l->n;
		blps[r] = (double)l->n / res->baseline.seconds;
		bns[r] = res->baseline.seconds * 1e9 / (double)l->n;
	}
	bench_stat_of(lps, runs, &res->lps);
	bench_stat_of(ns, runs, &res->ns);
	bench_stat_of(blps, runs, &res->base_lps);
	bench_stat_of(bns, runs, &res->base_ns);
	free(v);
	return 0;
}

static void bench_parse_json(const struct bench_parse_opts *o, const struct bench_lines *l,
                             const struct bench_parse_result *r)
{
	printf("{\"bench\":\"parse\",\"lines\":%zu,\"bytes\":%zu,\"runs\":%llu,\"cpu\":%d,"
	       "\"envelope\":\"%s\",\"seed\":%llu,"
	       "\"lines_per_sec\":%.0f,\"lines_per_sec_min\":%.0f,\"lines_per_sec_max\":%.0f,"
	       "\"ns_per_line\":%.2f,\"ns_per_line_min\":%.2f,\"ns_per_line_max\":%.2f,"
	       "\"baseline_lines_per_sec\":%.0f,\"baseline_lines_per_sec_min\":%.0f,"
	       "\"baseline_lines_per_sec_max\":%.0f,\"baseline_ns_per_line\":%.2f,"
	       "\"ratio\":%.2f,\"expected_accepted\":%zu,\"accepted\":%llu,\"rejected\":%llu,"
	       "\"baseline_accepted\":%llu,\"checksum\":%llu}\n",
	       l->n, l->bytes, (unsigned long long)o->runs, r->cpu,
	       gen_envelope_name(o->gen.envelope), (unsigned long long)o->gen.seed, r->lps.median,
	       r->lps.min, r->lps.max, r->ns.median, r->ns.min, r->ns.max, r->base_lps.median,
	       r->base_lps.min, r->base_lps.max, r->base_ns.median,
	       r->lps.median / r->base_lps.median, l->good, (unsigned long long)r->parse.accepted,
	       (unsigned long long)(l->n - r->parse.accepted),
	       (unsigned long long)r->baseline.accepted,
	       (unsigned long long)(r->parse.sum ^ r->baseline.sum));
}

static void bench_parse_row(const char *name, const struct bench_stat *lps,
                            const struct bench_stat *ns)
{
	printf("%-18s %9.2f %9.2f %9.2f   %8.1f %8.1f %8.1f\n", name, lps->median / 1e6,
	       lps->min / 1e6, lps->max / 1e6, ns->median, ns->min, ns->max);
}

static void bench_parse_table(const struct bench_parse_opts *o, const struct bench_lines *l,
                              const struct bench_parse_result *r)
{
	printf("wgmon-bench parse: %zu lines (%.1f MB, envelope %s, seed %llu), %llu runs, cpu "
	       "%d\n",
	       l->n, (double)l->bytes / 1e6, gen_envelope_name(o->gen.envelope),
	       (unsigned long long)o->gen.seed, (unsigned long long)o->runs, r->cpu);
	printf("accepted: parse_line %llu (rejected %llu; generator meant %zu good), "
	       "sscanf baseline %llu\n\n",
	       (unsigned long long)r->parse.accepted,
	       (unsigned long long)(l->n - r->parse.accepted), l->good,
	       (unsigned long long)r->baseline.accepted);
	printf("%-18s %29s   %26s\n", "", "M lines/s", "ns/line");
	printf("%-18s %9s %9s %9s   %8s %8s %8s\n", "", "median", "min", "max", "median", "min",
	       "max");
	bench_parse_row("parse_line()", &r->lps, &r->ns);
	bench_parse_row("sscanf baseline", &r->base_lps, &r->base_ns);
	printf("\nratio of medians: %.1fx (target >= 10x; parse_line target >= 10 M lines/s)\n",
	       r->lps.median / r->base_lps.median);
}

/* Did parse_line() accept what the generator meant to be good, give or take a little? */
static int bench_parse_check(const struct bench_lines *l, const struct bench_parse_result *r)
{
	double off = (double)r->parse.accepted - (double)l->good;

	if (off < 0)
		off = -off;
	if (off <= BENCH_PARSE_SLACK * (double)l->n)
		return 0;
	fprintf(stderr,
	        "wgmon-bench parse: parse_line() accepted %llu lines but the generator made %zu "
	        "good ones: the figures above do not measure a working parser\n",
	        (unsigned long long)r->parse.accepted, l->good);
	return 1;
}

int bench_parse(int argc, char **argv)
{
	struct bench_parse_opts o = {.runs = BENCH_PARSE_RUNS};
	struct bench_parse_result r = {0};
	struct bench_lines l;
	int err;

	gen_opts_default(&o.gen);
	o.gen.lines = BENCH_PARSE_LINES;
	o.gen.peers = BENCH_PARSE_PEERS;
	o.gen.ifaces = BENCH_PARSE_IFACES;
	o.gen.hosts = BENCH_PARSE_HOSTS;
	err = bench_parse_args(argc, argv, &o);
	if (err) {
		bench_parse_usage(err == 1 ? stdout : stderr);
		return err == 1 ? 0 : 2;
	}
	err = bench_lines_make(&l, &o.gen);
	if (err) {
		fprintf(stderr, "wgmon-bench parse: generating lines: %s\n", strerror(-err));
		return err == -EINVAL ? 2 : 1;
	}
	r.cpu = bench_pin_cpu();
	if (r.cpu < 0)
		fprintf(stderr, "wgmon-bench parse: not pinned to a CPU: %s\n", strerror(-r.cpu));
	err = bench_parse_measure(&l, o.runs, &r);
	if (!err) {
		if (o.json)
			bench_parse_json(&o, &l, &r);
		else
			bench_parse_table(&o, &l, &r);
		err = bench_parse_check(&l, &r);
	}
	bench_lines_free(&l);
	return err ? 1 : 0;
}

/* ---- for `all` -------------------------------------------------------------------------- */

static void bench_parse_defaults(struct bench_parse_opts *o)
{
	gen_opts_default(&o->gen);
	o->gen.lines = BENCH_PARSE_LINES;
	o->gen.peers = BENCH_PARSE_PEERS;
	o->gen.ifaces = BENCH_PARSE_IFACES;
	o->gen.hosts = BENCH_PARSE_HOSTS;
	o->runs = BENCH_PARSE_RUNS;
}

/* Both parsers, runs interleaved; the figures of `parse` in the report. */
static int bench_parse_figures(const struct bench_lines *l, unsigned runs, struct bench_report *rep)
{
	double *v = calloc(3 * (size_t)runs, sizeof(*v));
	double *lps = v, *blps = v + runs, *ratio = v + 2 * runs;
	struct bench_parse_result r = {0};

	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < runs; i++) {
		bench_pass_parse(l, &r.parse);
		bench_pass_baseline(l, &r.baseline);
		lps[i] = (double)l->n / r.parse.seconds;
		blps[i] = (double)l->n / r.baseline.seconds;
		ratio[i] = lps[i] / blps[i];
	}
	bench_report_fig(rep, "parse_lines_per_sec", NULL, "parse: parse_line(), one core",
	                 "lines/s", lps, runs, BENCH_GOAL_ATLEAST, 10e6);
	bench_report_fig(rep, "parse_baseline_lines_per_sec", NULL, "parse: sscanf baseline",
	                 "lines/s", blps, runs, BENCH_GOAL_NONE, 0);
	bench_report_fig(rep, "parse_vs_sscanf", NULL, "parse: ratio to the sscanf baseline", "x",
	                 ratio, runs, BENCH_GOAL_ATLEAST, 10);
	free(v);
	return bench_parse_check(l, &r) ? -EPROTO : 0;
}

int bench_parse_run(const struct bench_ctx *c, const struct bench_parse_opts *o,
                    struct bench_report *rep)
{
	struct bench_parse_opts d;
	struct bench_lines l;
	int err;

	if (!o) {
		bench_parse_defaults(&d);
		d.gen.lines = c->quick ? BENCH_PARSE_QUICK : BENCH_PARSE_ALL;
		o = &d;
	}
	err = bench_lines_make(&l, &o->gen);
	if (err) {
		fprintf(stderr, "wgmon-bench parse: generating lines: %s\n", strerror(-err));
		return err;
	}
	if (bench_pin_to(c->cpu[0]))
		fprintf(stderr, "wgmon-bench parse: not pinned to CPU %d\n", c->cpu[0]);
	err = bench_parse_figures(&l, c->runs, rep);
	bench_report_info(rep, "parse_lines", "%zu", l.n);
	bench_report_info(rep, "parse_bytes_per_line", "%.0f", (double)l.bytes / (double)l.n);
	bench_lines_free(&l);
	return err;
}
