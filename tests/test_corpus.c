/* SPDX-License-Identifier: MIT */
/*
 * ../shared/corpus replayed through the real `wgmon parse` binary: line N of
 * the output must equal line N of expected.jsonl, byte for byte; where the
 * expectation is {"reject":"*"} any rejection will do.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *open_or_skip(const char *dir, const char *name, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/corpus/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	return f;
}

Test(corpus, wgmon_parse_reproduces_expected_jsonl, .timeout = 60)
{
	const char *shared = getenv("WGMON_SHARED"), *bin = getenv("WGMON_BIN");
	char path[4096], cmd[8192], *got = NULL, *want = NULL;
	size_t got_cap = 0, want_cap = 0, n = 0, mismatches = 0;
	FILE *expected, *out;

	cr_assert(shared && bin, "WGMON_SHARED and WGMON_BIN must be set (ctest sets them)");
	expected = open_or_skip(shared, "expected.jsonl", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "'%s/tools/wgmon' parse < '%s/corpus/lines.txt'", bin, shared);
	out = popen(cmd, "r");
	cr_assert_not_null(out);
	while (getline(&want, &want_cap, expected) > 0) {
		n++;
		cr_assert(getline(&got, &got_cap, out) > 0, "output ended at line %zu", n);
		if (!strcmp(want, "{\"reject\":\"*\"}\n") ? strncmp(got, "{\"reject\":\"", 11)
		                                          : strcmp(got, want)) {
			mismatches++;
			cr_log_error("line %zu:\n  got  %s  want %s", n, got, want);
		}
	}
	cr_expect(getline(&got, &got_cap, out) <= 0, "more output than expected lines");
	cr_expect_eq(pclose(out), 0);
	fclose(expected);
	free(got);
	free(want);
	cr_expect_eq(n, 600);
	cr_expect_eq(mismatches, 0, "%zu of %zu lines differ", mismatches, n);
}
