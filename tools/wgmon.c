/* SPDX-License-Identifier: MIT */
/*
 * wgmon — the command line. One binary, subcommands in a table; the table is
 * also the --help text, so the two never disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tools.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Weak so that a subcommand whose file is not built yet is simply absent. */
#define WEAK __attribute__((weak))
WEAK int cmd_gen(int argc, char **argv);
WEAK int cmd_show(int argc, char **argv);
WEAK int cmd_stats(int argc, char **argv);
WEAK int cmd_watch(int argc, char **argv);
WEAK int cmd_events(int argc, char **argv);
WEAK int cmd_doctor(int argc, char **argv);
WEAK int cmd_setup(int argc, char **argv);

static const struct subcommand subcommands[] = {
        {"parse", cmd_parse, "parse kernel lines from stdin or files into JSON events"},
        {"gen", cmd_gen, "generate deterministic synthetic kernel lines"},
        {"show", cmd_show, "show the peer table (human, --tsv or --json)"},
        {"stats", cmd_stats, "show the collector's counters"},
        {"watch", cmd_watch, "live full-screen view of the pipeline and the peers"},
        {"events", cmd_events, "print (and follow) recent events from the event ring"},
        {"doctor", cmd_doctor, "find peers and interfaces in trouble: cause, evidence, fix"},
        {"setup", cmd_setup, "check, or --apply, what a concentrator needs (dyndbg, rsyslog)"},
};

const char *tools_shm_name(const char *flag)
{
	const char *env = getenv("WGMON_SHM");

	if (flag && *flag)
		return flag;
	return env && *env ? env : "/wgmon";
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: wgmon <command> [options]\n\n"
	             "wgmon turns WireGuard's kernel debug lines into live per-peer state.\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (subcommands[i].run)
			fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n'wgmon <command> --help' describes each command.\n"
	             "Readers find the table through --shm NAME, else $WGMON_SHM, else /wgmon.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("wgmon %s\n", WGMON_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (subcommands[i].run && !strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wgmon: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
