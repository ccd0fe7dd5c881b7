/* SPDX-License-Identifier: MIT */
/*
 * test_wgmond_plain.h — the few Criterion macros the ingest and wgmond tests use, as a plain
 * runner, for ThreadSanitizer builds: Criterion cannot start under TSan (its inheritable arena
 * wants addresses TSan reserves; Criterion issue #274). Each test runs in a forked child with
 * the suite's init/fini and an alarm() for its timeout; exit 77 in the child is a skip.
 * Include it instead of <criterion/criterion.h> (tests/ingest.cmake defines TW_PLAIN).
 */
#ifndef WGMON_TEST_WGMOND_PLAIN_H
#define WGMON_TEST_WGMOND_PLAIN_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TW_TESTS_MAX 64

struct tw_test {
	const char *suite, *name;
	void (*fn)(void);
	unsigned timeout;
};

struct tw_suite_opts {
	void (*init)(void);
	void (*fini)(void);
	unsigned timeout;
};

static struct tw_test tw_tests[TW_TESTS_MAX];
static unsigned tw_ntests;
static struct tw_suite_opts tw_suite;
static bool tw_expect_failed;

static inline void tw_register(const char *suite, const char *name, void (*fn)(void),
                               struct tw_test opts)
{
	if (tw_ntests < TW_TESTS_MAX)
		tw_tests[tw_ntests++] = (struct tw_test){suite, name, fn, opts.timeout};
}

#define TestSuite(suite, ...)                                                                      \
	__attribute__((constructor)) static void tw_suite_##suite(void)                            \
	{                                                                                          \
		tw_suite = (struct tw_suite_opts){__VA_ARGS__};                                    \
	}

#define Test(suite, name, ...)                                                                     \
	static void tw_test_##suite##_##name(void);                                                \
	__attribute__((constructor)) static void tw_reg_##suite##_##name(void)                     \
	{                                                                                          \
		tw_register(#suite, #name, tw_test_##suite##_##name,                               \
		            (struct tw_test){__VA_ARGS__});                                        \
	}                                                                                          \
	static void tw_test_##suite##_##name(void)

__attribute__((format(printf, 4, 5))) static inline void
tw_report(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: failed: %s\n  ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define cr_expect(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			tw_report(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                     \
			tw_expect_failed = true;                                                   \
		}                                                                                  \
	} while (0)
#define cr_assert(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			tw_report(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                     \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)
#define cr_assert_fail(...) cr_assert(0, __VA_ARGS__)
#define cr_skip_test(...)                                                                          \
	do {                                                                                       \
		fprintf(stderr, "skipped: " __VA_ARGS__);                                          \
		fputc('\n', stderr);                                                               \
		exit(77);                                                                          \
	} while (0)
#define cr_assert_not(c, ...)       cr_assert(!(c), ##__VA_ARGS__)
#define cr_assert_eq(a, b, ...)     cr_assert((a) == (b), ##__VA_ARGS__)
#define cr_assert_neq(a, b, ...)    cr_assert((a) != (b), ##__VA_ARGS__)
#define cr_assert_lt(a, b, ...)     cr_assert((a) < (b), ##__VA_ARGS__)
#define cr_assert_gt(a, b, ...)     cr_assert((a) > (b), ##__VA_ARGS__)
#define cr_assert_null(p, ...)      cr_assert((p) == NULL, ##__VA_ARGS__)
#define cr_assert_not_null(p, ...)  cr_assert((p) != NULL, ##__VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, ##__VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) cr_expect(strcmp((a), (b)) == 0, ##__VA_ARGS__)

/* Run one test in a child; 0 pass, 77 skip, else fail. */
static inline int tw_run_one(const struct tw_test *t)
{
	unsigned timeout = t->timeout ? t->timeout : tw_suite.timeout ? tw_suite.timeout : 120;
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		alarm(timeout);
		if (tw_suite.init)
			tw_suite.init();
		t->fn();
		if (tw_suite.fini)
			tw_suite.fini();
		exit(tw_expect_failed ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "%s::%s: killed by signal %d%s\n", t->suite, t->name, WTERMSIG(st),
		        WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
		return 1;
	}
	return WEXITSTATUS(st);
}

int main(void)
{
	unsigned pass = 0, skip = 0, fail = 0;

	for (unsigned i = 0; i < tw_ntests; i++) {
		int r = tw_run_one(&tw_tests[i]);

		fprintf(stderr, "[%s] %s::%s\n",
		        r == 0    ? "PASS"
		        : r == 77 ? "SKIP"
		                  : "FAIL",
		        tw_tests[i].suite, tw_tests[i].name);
		pass += r == 0;
		skip += r == 77;
		fail += r != 0 && r != 77;
	}
	fprintf(stderr, "Synthesis: Tested: %u | Passing: %u | Skipped: %u | Failing: %u\n",
	        tw_ntests, pass, skip, fail);
	return fail ? 1 : pass ? 0 : 77;
}

#endif /* WGMON_TEST_WGMOND_PLAIN_H */
