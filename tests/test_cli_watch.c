/* SPDX-License-Identifier: MIT */
/*
 * test_cli_watch.c — `wgmon watch` on a real terminal: tmux runs it in a detached session
 * (its own server socket) against a live wgmond; the test reads the screen with capture-pane,
 * checks the frame, types q, and checks that the terminal settings after the exit are the ones
 * before (`stty -g` on both sides of the command) — also when it ends by SIGTERM or by a fatal
 * signal. (^Z is not tested here: the pane's `sh -c` has no job control, so its process group
 * is orphaned and the kernel discards the stop.) Without tmux every test is skipped, visibly
 * (exit 77).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_wgmond_util.h"

#define WT_TIME_OK 20.0 /* seconds any wait may take (scaled by WGMON_TEST_SLOW) */
#define WT_COLS    100
#define WT_ROWS    40

static struct tw_proc proc;
static char sock[128], dir[128];
static struct tw_lines lines;
static char *line_buf[64];

static bool wt_have_tmux(void)
{
	return system("tmux -V >/dev/null 2>&1") == 0;
}

static void setup(void)
{
	static int seq;

	tw_init(&proc, "watch");
	snprintf(sock, sizeof(sock), "/tmp/wgmon-test-tmux-%d-%d", (int)getpid(), seq);
	snprintf(dir, sizeof(dir), "/tmp/wgmon-test-watch-%d-%d", (int)getpid(), seq++);
	mkdir(dir, 0700);
}

/* Run a tmux command on our own server; its output (malloc'd). */
static char *wt_tmux(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *wt_tmux(const char *fmt, ...)
{
	char args[2048], cmd[2400];
	int status;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "tmux -f /dev/null -S %s %s 2>&1", sock, args);
	return tw_run(cmd, &status);
}

static void teardown(void)
{
	char path[256];

	free(wt_tmux("kill-server"));
	unlink(sock);
	for (const char *f = "before\0after\0rc\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
	tw_cleanup(&proc);
	for (size_t i = 0; i < lines.n; i++)
		free(line_buf[i]);
	memset(&lines, 0, sizeof(lines));
}

/* Report hook: when tmux is missing every test was skipped; say so to ctest with 77. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	if (stats->nb_tests && stats->tests_skipped == stats->nb_tests)
		_exit(77);
}

TestSuite(watch, .init = setup, .fini = teardown, .timeout = 60);

static void wt_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wt_add(const char *fmt, ...)
{
	va_list ap;
	char *l;

	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&l, fmt, ap), 0);
	va_end(ap);
	line_buf[lines.n] = l;
	lines.line[lines.n] = l;
	lines.len[lines.n++] = strlen(l);
}

/* wgmond with two peers up and one failing. */
static void wt_start_wgmond(void)
{
	static char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", proc.port);
	tw_arg(&proc, "--listen");
	tw_arg(&proc, listen);
	tw_arg(&proc, "--workers");
	tw_arg(&proc, "1");
	tw_arg(&proc, "--capacity");
	tw_arg(&proc, "1024");
	tw_arg(&proc, "--event-ring");
	tw_arg(&proc, "1024");
	cr_assert_eq(tw_spawn(&proc), 0);
	cr_assert(tw_wait_ready(&proc), "%s", tw_log(&proc));
	for (int p = 1; p <= 2; p++)
		wt_add("<7>Nov 22 10:00:00 vpn-w kernel: wireguard: wg0: Keypair %d created for "
		       "peer "
		       "%d",
		       p, p);
	wt_add("<7>Nov 22 10:00:00 vpn-w kernel: wireguard: wg0: Handshake for peer 3 "
	       "(192.0.2.3:51820) did not complete after 5 seconds, retrying (try 2)");
	cr_assert(tw_send(proc.port, &lines, 0, lines.n));
	cr_assert(tw_wait_lines(proc.shm, lines.n, 0, WT_TIME_OK, NULL));
}

static char *wt_file(const char *name)
{
	char path[256], *buf = calloc(1, 512);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, 512, f))
			buf[0] = '\0';
		fclose(f);
	}
	return buf;
}

/* Start `wgmon watch` in a detached session, bracketed by stty -g before and after. */
static void wt_start_watch(void)
{
	char bin[512];

	tw_bin("tools/wgmon", bin, sizeof(bin));
	free(wt_tmux("new-session -d -s w -x %d -y %d \"sh -c 'stty -g > %s/before; %s watch --shm "
	             "%s --interval 200; echo \\$? > %s/rc; stty -g > %s/after'\"",
	             WT_COLS, WT_ROWS, dir, bin, proc.shm, dir, dir));
	free(wt_tmux("set-option -t w remain-on-exit on"));
}

/* Poll the screen until it contains every needle; the last capture (malloc'd). */
static char *wt_screen_until(const char *a, const char *b)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(WT_TIME_OK);
	char *screen = NULL;

	for (;; tw_pause()) {
		free(screen);
		screen = wt_tmux("capture-pane -p -t w");
		if (screen && strstr(screen, a) && (!b || strstr(screen, b)))
			return screen;
		cr_assert_leq(tw_now_ns(), end, "screen never showed '%s' / '%s':\n%s", a,
		              b ? b : "", screen ? screen : "");
	}
}

/* The terminal settings of the pane's tty right now. */
static char *wt_stty_now(void)
{
	char *tty = wt_tmux("display-message -p -t w '#{pane_tty}'"), cmd[256], *out;
	int status;

	cr_assert_not_null(tty);
	tty[strcspn(tty, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "stty -g < %s", tty);
	out = tw_run(cmd, &status);
	free(tty);
	cr_assert_not_null(out);
	return out;
}

/* Wait for the wrapper to record the exit; the exit code. */
static int wt_wait_exit(void)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(WT_TIME_OK);
	char *after, *rc;
	int code;

	for (;; tw_pause()) {
		after = wt_file("after");
		if (*after)
			break;
		free(after);
		cr_assert_leq(tw_now_ns(), end, "watch did not exit");
	}
	free(after);
	rc = wt_file("rc");
	code = atoi(rc);
	free(rc);
	return code;
}

/* After the exit: the settings are the ones before, and the alternate screen is gone. */
static void wt_check_restored(void)
{
	char *before = wt_file("before"), *after = wt_file("after"), *screen;

	cr_assert(*before, "no stty -g before");
	cr_assert_str_eq(after, before, "terminal not restored");
	screen = wt_tmux("capture-pane -p -t w");
	cr_assert_null(strstr(screen, "pipeline"), "still on the alternate screen:\n%s", screen);
	free(screen);
	free(before);
	free(after);
}

/* The pid of `wgmon watch`: the child of the pane's shell. */
static pid_t wt_watch_pid(void)
{
	char *pane = wt_tmux("display-message -p -t w '#{pane_pid}'"), path[128], buf[64] = "";
	FILE *f;

	cr_assert_not_null(pane);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", atoi(pane), atoi(pane));
	free(pane);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_gt(atoi(buf), 0);
	return (pid_t)atoi(buf);
}

Test(watch, shows_the_pipeline_and_quits_on_q)
{
	char *screen, *before, *raw;

	if (!wt_have_tmux())
		cr_skip_test("tmux is not installed: wgmon watch not tested");
	wt_start_wgmond();
	wt_start_watch();
	screen = wt_screen_until("q quits", "peers 3 of 1024:  new 0  up 2  stale 0  failing 1");
	cr_assert(strstr(screen, "failing/down"), "%s", screen);
	cr_assert(strstr(screen, "vpn-w          wg0                   3"), "%s", screen);
	cr_assert(strstr(screen, "lines                               3"), "%s", screen);
	for (const char *l = screen, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1)
		cr_assert_leq(nl - l, WT_COLS);
	free(screen);
	/* Raw while it runs. */
	before = wt_file("before");
	raw = wt_stty_now();
	raw[strcspn(raw, "\n")] = '\0';
	before[strcspn(before, "\n")] = '\0';
	cr_assert_str_neq(raw, before, "the terminal is not in raw mode");
	free(raw);
	free(before);
	/* New events make peer 1 the most active; the rates follow. */
	for (int i = 0; i < 20; i++)
		wt_add("<7>Nov 22 10:00:00 vpn-w kernel: wireguard: wg0: Receiving keepalive "
		       "packet "
		       "from peer 1 (192.0.2.1:51820)");
	cr_assert(tw_send(proc.port, &lines, 3, lines.n));
	screen = wt_screen_until("vpn-w          wg0                   1", "lines                  "
	                                                                   "            23");
	free(screen);
	free(wt_tmux("send-keys -t w q"));
	cr_assert_eq(wt_wait_exit(), 0);
	wt_check_restored();
}

Test(watch, restores_the_terminal_on_sigterm)
{
	if (!wt_have_tmux())
		cr_skip_test("tmux is not installed: wgmon watch not tested");
	wt_start_wgmond();
	wt_start_watch();
	free(wt_screen_until("q quits", NULL));
	cr_assert_eq(kill(wt_watch_pid(), SIGTERM), 0);
	cr_assert_eq(wt_wait_exit(), 0);
	wt_check_restored();
}

Test(watch, restores_the_terminal_on_a_fatal_signal)
{
	if (!wt_have_tmux())
		cr_skip_test("tmux is not installed: wgmon watch not tested");
	wt_start_wgmond();
	wt_start_watch();
	free(wt_screen_until("q quits", NULL));
	cr_assert_eq(kill(wt_watch_pid(), SIGSEGV), 0);
	cr_assert_eq(wt_wait_exit(), 128 + SIGSEGV, "it dies of the signal it got");
	wt_check_restored();
}
