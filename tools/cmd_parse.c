/* SPDX-License-Identifier: MIT */
/*
 * wgmon parse — the parser's contract made visible: one JSON object per input
 * line, in order (spec/event-model.md). Any byte sequence is a line; none
 * stops it (unlike the tool wgmon replaces, which died on non-UTF-8).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"
#include "tools/tools.h"

struct parse_totals {
	uint64_t lines;
	uint64_t events[PARSE_EV__COUNT]; /* counted with their repeat */
	uint64_t rejected[PARSE_REJECT__COUNT];
};

static void parse_stream(FILE *in, FILE *out, int quiet, struct parse_totals *t)
{
	char *line = NULL, json[PARSE_JSON_MAX];
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, in)) > 0) {
		struct parse_event ev;
		int rc = parse_line(line, (size_t)n, &ev);

		t->lines++;
		if (rc == PARSE_OK)
			t->events[ev.kind] += ev.repeat;
		else
			t->rejected[rc]++;
		if (quiet)
			continue;
		n = (ssize_t)parse_event_json(rc, &ev, json, sizeof(json));
		json[n++] = '\n';
		fwrite(json, 1, (size_t)n, out);
	}
	free(line);
}

static void print_totals(FILE *f, const struct parse_totals *t)
{
	uint64_t events = 0, rejected = 0;

	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		events += t->events[k];
	for (unsigned r = 1; r < PARSE_REJECT__COUNT; r++)
		rejected += t->rejected[r];
	fprintf(f, "lines %llu, events %llu, rejected %llu\n", (unsigned long long)t->lines,
	        (unsigned long long)events, (unsigned long long)rejected);
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		if (t->events[k])
			fprintf(f, "  event  %-30s %llu\n", parse_event_name(k),
			        (unsigned long long)t->events[k]);
	for (unsigned r = 1; r < PARSE_REJECT__COUNT; r++)
		if (t->rejected[r])
			fprintf(f, "  reject %-30s %llu\n", parse_reject_name(r),
			        (unsigned long long)t->rejected[r]);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon parse [--stats] [--quiet] [FILE…]\n\n"
	        "Parses WireGuard kernel log lines (bare, /dev/kmsg, dmesg, RFC 3164, RFC 5424,\n"
	        "rsyslog RFC 3339) from the FILEs, or standard input, and writes one JSON object\n"
	        "per line: {\"event\":…} or {\"reject\":\"REASON\"}.\n\n"
	        "  -s, --stats   after the lines, print counts per event and rejection reason\n"
	        "                (on standard error; on standard output with --quiet)\n"
	        "  -q, --quiet   print no per-line JSON\n"
	        "  -h, --help    this text\n");
}

int cmd_parse(int argc, char **argv)
{
	static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
	                                     {"quiet", no_argument, NULL, 'q'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct parse_totals totals = {0};
	int stats = 0, quiet = 0, c, status = 0;

	while ((c = getopt_long(argc, argv, "sqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': stats = 1; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc)
		parse_stream(stdin, stdout, quiet, &totals);
	for (int i = optind; i < argc; i++) {
		FILE *in = strcmp(argv[i], "-") ? fopen(argv[i], "rb") : stdin;

		if (!in) {
			fprintf(stderr, "wgmon parse: %s: %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		parse_stream(in, stdout, quiet, &totals);
		if (in != stdin)
			fclose(in);
	}
	if (stats)
		print_totals(quiet ? stdout : stderr, &totals);
	if (fflush(stdout)) {
		fprintf(stderr, "wgmon parse: write: %s\n", strerror(errno));
		return 1;
	}
	return status;
}
