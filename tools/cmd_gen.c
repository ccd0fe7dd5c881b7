/* SPDX-License-Identifier: MIT */
/*
 * wgmon gen — deterministic synthetic WireGuard kernel lines on standard output
 * (bench/gen.h does the work). Same flags, same bytes: fixtures, load, replay.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen.h"
#include "tools/tools.h"

#define GEN_OUT_BUF (1u << 20) /* lines are written in blocks of this size */

static void gen_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon gen [--lines N] [--peers P] [--ifaces I] [--hosts H] [--seed S]\n"
	        "                 [--envelope NAME] [--malformed FRACTION] [--decorated "
	        "FRACTION]\n\n"
	        "Writes N synthetic WireGuard kernel log lines (every message the module prints)\n"
	        "to standard output. The same flags always give the same bytes.\n\n"
	        "  --lines N           lines to write (default 1000; 0: until killed)\n"
	        "  --peers P           distinct peer ids (default 100, at most %u)\n"
	        "  --ifaces I          interface names (default 4, at most %u)\n"
	        "  --hosts H           syslog host names (default 1, at most %u)\n"
	        "  --seed S            random seed, any 64-bit number (default 1)\n"
	        "  --envelope NAME     bare, kmsg, dmesg, rfc3164, rfc3164-old, rfc3339, rfc5424,\n"
	        "                      rfc5424-old, repeated, or mix (default mix)\n"
	        "  --malformed F       share of lines replaced by broken ones, 0..1 (default 0)\n"
	        "  --decorated F       share of debug lines with a dynamic-debug decoration\n"
	        "                      (`[pid] wireguard:func:line: `), 0..1 (default 0)\n"
	        "  -h, --help          this text\n",
	        GEN_PEERS_MAX, GEN_IFACES_MAX, GEN_HOSTS_MAX);
}

static int gen_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int gen_parse_fraction(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v >= 0 && *v <= 1))
		return -EINVAL;
	return 0;
}

/* One flag with its value; returns 0, or -EINVAL for an unknown flag or a bad value. */
static int gen_flag(struct gen_opts *o, const char *name, const char *val)
{
	static const struct {
		const char *name;
		size_t off;
	} u64s[] = {
	        {"lines", offsetof(struct gen_opts, lines)},
	        {"peers", offsetof(struct gen_opts, peers)},
	        {"ifaces", offsetof(struct gen_opts, ifaces)},
	        {"hosts", offsetof(struct gen_opts, hosts)},
	        {"seed", offsetof(struct gen_opts, seed)},
	};

	for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		if (!strcmp(name, u64s[i].name))
			return gen_parse_u64(val, (uint64_t *)((char *)o + u64s[i].off));
	if (!strcmp(name, "malformed"))
		return gen_parse_fraction(val, &o->malformed);
	if (!strcmp(name, "decorated"))
		return gen_parse_fraction(val, &o->decorated);
	if (!strcmp(name, "envelope")) {
		o->envelope = gen_envelope_lookup(val);
		return o->envelope < 0 ? -EINVAL : 0;
	}
	return -ENOENT;
}

/* Flags as "--name value" or "--name=value". Returns 0, 1 for --help, or 2 (usage error). */
static int gen_args(int argc, char **argv, struct gen_opts *o)
{
	for (int i = 1; i < argc; i++) {
		char name[32];
		const char *arg = argv[i], *eq = strchr(arg, '='), *val;
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg); /* of "--name" */
		int err;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return 1;
		if (strncmp(arg, "--", 2) || len - 2 >= sizeof(name)) {
			fprintf(stderr, "wgmon gen: unexpected argument '%s'\n", arg);
			return 2;
		}
		memcpy(name, arg + 2, len - 2);
		name[len - 2] = '\0';
		val = eq ? eq + 1 : argv[++i];
		if (!val) {
			fprintf(stderr, "wgmon gen: %s needs a value\n", arg);
			return 2;
		}
		err = gen_flag(o, name, val);
		if (err == -ENOENT)
			fprintf(stderr, "wgmon gen: unknown option '--%s'\n", name);
		else if (err)
			fprintf(stderr, "wgmon gen: bad value '%s' for --%s\n", val, name);
		if (err)
			return 2;
	}
	return 0;
}

/* Writes every line; returns 0, or -errno if standard output failed. */
static int gen_write_all(struct gen *g)
{
	static char out[GEN_OUT_BUF];
	size_t used = 0, n;

	while ((n = gen_line(g, out + used, GEN_LINE_MAX)) > 0) {
		out[used + n] = '\n';
		used += n + 1;
		if (used + GEN_LINE_MAX + 1 > sizeof(out)) {
			if (fwrite(out, 1, used, stdout) != used)
				return -errno;
			used = 0;
		}
	}
	if (fwrite(out, 1, used, stdout) != used || fflush(stdout))
		return -errno;
	return 0;
}

int cmd_gen(int argc, char **argv)
{
	struct gen_opts o;
	struct gen *g;
	int err;

	gen_opts_default(&o);
	err = gen_args(argc, argv, &o);
	if (err) {
		gen_usage(err == 1 ? stdout : stderr);
		return err == 1 ? 0 : 2;
	}
	err = gen_new(&o, &g);
	if (err == -EINVAL) {
		fprintf(stderr,
		        "wgmon gen: --peers, --ifaces and --hosts must be at least 1 "
		        "and at most %u, %u and %u\n",
		        GEN_PEERS_MAX, GEN_IFACES_MAX, GEN_HOSTS_MAX);
		return 2;
	}
	if (err) {
		fprintf(stderr, "wgmon gen: %s\n", strerror(-err));
		return 1;
	}
	err = gen_write_all(g);
	gen_free(g);
	if (err) {
		fprintf(stderr, "wgmon gen: writing standard output: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
