/* SPDX-License-Identifier: MIT */
/*
 * tools — the `wgmon` command line. Each subcommand is one function in its own
 * cmd_*.c file, listed in the table in wgmon.c (which also generates --help).
 * A subcommand gets argv with argv[0] = its own name and returns the process
 * exit code: 0 success, 1 failure, 2 usage error.
 */
#ifndef WGMON_TOOLS_H
#define WGMON_TOOLS_H

int cmd_parse(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

/* The shm name every reader uses: --shm, else $WGMON_SHM, else "/wgmon". */
const char *tools_shm_name(const char *flag);

#endif /* WGMON_TOOLS_H */
