/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench — the benchmark driver. Subcommands come from BENCH_SUBCOMMANDS
 * in bench.h; the table below is generated from it and is also the --help text.
 */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

struct bench_subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

#define BENCH_ENTRY(name, summary) {#name, bench_##name, summary},
static const struct bench_subcommand bench_subcommands[] = {BENCH_SUBCOMMANDS(BENCH_ENTRY)};
#undef BENCH_ENTRY

static void bench_usage(FILE *f)
{
	fprintf(f, "Usage: wgmon-bench <benchmark> [options]\n\n"
	           "Measures wgmon against the targets of DESIGN.md, each beside a baseline\n"
	           "measured in the same run.\n\nBenchmarks:\n");
	for (size_t i = 0; i < sizeof(bench_subcommands) / sizeof(bench_subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", bench_subcommands[i].name, bench_subcommands[i].summary);
	fprintf(f, "\n'wgmon-bench <benchmark> --help' describes its options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		bench_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		bench_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(bench_subcommands) / sizeof(bench_subcommands[0]); i++)
		if (!strcmp(argv[1], bench_subcommands[i].name))
			return bench_subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wgmon-bench: unknown benchmark '%s'\n\n", argv[1]);
	bench_usage(stderr);
	return 2;
}
