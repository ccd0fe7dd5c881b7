/* SPDX-License-Identifier: MIT */
/*
 * bench — wgmon-bench: measurements against the targets of DESIGN.md, each
 * beside a baseline measured in the same run. One subcommand per bench_NAME.c;
 * this header lists them, and holds the helpers they share (timing, pinning,
 * statistics over runs) and the baselines. Single-threaded unless a
 * subcommand says otherwise.
 */
#ifndef WGMON_BENCH_H
#define WGMON_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The subcommands: X(name, summary). Adding one is one line here plus its
 * file bench_<name>.c defining `int bench_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand's name; returns the exit code: 0, 1 failure, 2 usage).
 */
#define BENCH_SUBCOMMANDS(X) X(parse, "parse_line() against a sscanf-based parser, one core")

#define BENCH_DECLARE(name, summary) int bench_##name(int argc, char **argv);
BENCH_SUBCOMMANDS(BENCH_DECLARE)
#undef BENCH_DECLARE

#define BENCH_RUNS_MAX 1000

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * bench_pin_cpu() - pins the calling thread to one CPU it may run on (the one
 * it is on now). Returns that CPU, or -errno; the caller decides if that is fatal.
 */
int bench_pin_cpu(void);

/* Median, minimum and maximum of `n` samples (sorted in place). */
struct bench_stat {
	double median, min, max;
};
void bench_stat_of(double *v, size_t n, struct bench_stat *s);

/* Parses a decimal u64 flag value; 0 or -EINVAL. */
__attribute__((warn_unused_result)) int bench_parse_u64(const char *s, uint64_t *v);

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
__attribute__((warn_unused_result)) int bench_lines_make(struct bench_lines *l,
                                                         const struct gen_opts *o);
/* Frees what bench_lines_make() allocated; a zeroed struct is fine. */
void bench_lines_free(struct bench_lines *l);

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
