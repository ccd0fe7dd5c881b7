/* SPDX-License-Identifier: MIT */
/*
 * test_hardening_perms.c — permissions and secrets with the real programs: wgmond creates its
 * table 0640 with the configured group and mode; a reader's mapping is read-only (a write
 * faults, and it cannot be made writable); a user of the table's group reads it but cannot
 * open it for writing, anyone else cannot open it at all (the user switches need root: a
 * visible skip otherwise). The Redis password and the webhook secret (and a webhook URL's
 * credentials) never reach a log, a figures object, --stats or the process list.
 */
#include <criterion/criterion.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "sinks/notify/notify.h"
#include "tests/test_hardening_util.h"
#include "tests/test_notify_recv.c"
#include "tests/test_redis_util.c"

#define TIME_OK      30.0
#define NOBODY       65534
#define GROUP        4242 /* the table's group in the root tests */
#define PASSWORD     "hz-Redis-pa55-9f2"
#define BAD_PASSWORD "hz-Wrong-pa55-1c7"
#define SECRET       "hz-hmac-s3cret-77"
#define URL_PASS     "hz-url-pa55-31"
#define URL_TOKEN    "hz-url-t0ken-58"

static struct tw_proc wd;
static char conf[96], listen_arg[64];

static void setup(void)
{
	tw_init(&wd, "perms");
	wd.before_exec = tr_die_with_parent;
	snprintf(conf, sizeof(conf), "/tmp/wgmon-hz-perms-%d.conf", (int)getpid());
}

static void teardown(void)
{
	char name[REDIS_STATS_NAME_MAX + NOTIFY_STATS_NAME_MAX];

	tw_cleanup(&wd);
	unlink(conf);
	if (redis_stats_name(wd.shm, name, sizeof(name)) == 0)
		shm_unlink(name);
	if (notify_stats_name(wd.shm, name, sizeof(name)) == 0)
		shm_unlink(name);
}

TestSuite(hz_perms, .init = setup, .fini = teardown, .timeout = 120);

static void write_conf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void write_conf(const char *fmt, ...)
{
	FILE *f = fopen(conf, "w");
	va_list ap;

	cr_assert_not_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* wgmond with a file source that never ends (it keeps running), with extra args. */
static void wgmond_start(const char *const *extra)
{
	tw_arg(&wd, "--source");
	tw_arg(&wd, "file:/dev/null");
	tw_arg(&wd, "--capacity");
	tw_arg(&wd, "1024");
	while (extra && *extra)
		tw_arg(&wd, *extra++);
	cr_assert_eq(tw_spawn(&wd), 0);
	cr_assert(tw_wait_ready(&wd), "%s", tw_log(&wd));
}

static struct stat table_stat(const char *shm)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", shm);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st;
}

/* ---- The table's mode and group --------------------------------------------------------------- */

Test(hz_perms, table_is_0640_by_default_with_the_configured_group_and_mode)
{
	const char *const with_conf[] = {"--config", conf, NULL};
	struct stat st;
	gid_t gid = geteuid() == 0 ? GROUP : getegid();

	wgmond_start(NULL);
	st = table_stat(wd.shm);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	cr_assert_eq(st.st_uid, geteuid());
	cr_assert_eq(tw_stop(&wd, SIGTERM), 0);

	/* The group and mode of the configuration, also on re-attach to the existing table. */
	write_conf("[wgmond]\nshm_group = %u\nshm_mode = 0660\n", (unsigned)gid);
	wd.nargs = 0;
	wgmond_start(with_conf);
	st = table_stat(wd.shm);
	cr_assert_eq(st.st_gid, gid, "group %u, want %u", (unsigned)st.st_gid, (unsigned)gid);
	cr_assert_eq(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
	cr_assert_eq(tw_stop(&wd, SIGTERM), 0);
}

/* ---- Readers: read-only mappings, and the table's group decides who reads ------------------- */

/* In a child: write to the reader's mapping (must fault), then try to make it writable. */
static void child_writes(struct shm_reader *r)
{
	volatile uint64_t *p = (volatile uint64_t *)&shm_reader_header(r)->heartbeat;
	void *page = (void *)((uintptr_t)shm_reader_header(r) & ~(uintptr_t)(SHM_PAGE - 1));

	if (mprotect(page, SHM_PAGE, PROT_READ | PROT_WRITE) == 0)
		_exit(3); /* a read-only object became writable */
	signal(SIGSEGV, SIG_DFL);
	*p = 1; /* must fault */
	_exit(0);
}

static int run_child(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0)
		fn(arg);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void child_writes_fn(void *arg)
{
	child_writes(arg);
}

/* In a child as nobody (in `group` when it is not 0): what can it do with the table? */
struct as_nobody {
	const char *shm;
	gid_t group;
};

static void child_nobody(void *arg)
{
	const struct as_nobody *a = arg;
	struct shm_reader *r;
	gid_t groups[1] = {a->group};
	int fd, ret;

	if (setgroups(a->group ? 1 : 0, groups) || setgid(NOBODY) || setuid(NOBODY))
		_exit(10);
	ret = shm_reader_attach(&r, a->shm);
	if (!a->group) /* not in the group: no access, and a message that says what to do */
		_exit(ret == -EACCES && strstr(shm_reader_error(), "join its group") ? 0 : 11);
	if (ret)
		_exit(12);
	fd = shm_open(a->shm, O_RDWR, 0);
	if (fd >= 0 || errno != EACCES)
		_exit(13); /* a reader could open the table for writing */
	child_writes(r);
}

Test(hz_perms, readers_map_read_only_and_the_group_decides_who_reads)
{
	const char *const with_conf[] = {"--config", conf, NULL};
	struct as_nobody a = {.shm = wd.shm};
	struct shm_reader *r;
	int status;

	write_conf("[wgmond]\nshm_group = %u\n", (unsigned)(geteuid() == 0 ? GROUP : getegid()));
	wgmond_start(with_conf);
	r = hz_attach(wd.shm, TIME_OK);
	cr_assert_not_null(r);
	status = run_child(child_writes_fn, r);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	          "a write to the reader's mapping did not fault: status %#x", status);
	shm_reader_detach(r);
	if (geteuid() != 0)
		cr_skip_test("switching to other users needs root");
	a.group = GROUP;
	status = run_child(child_nobody, &a);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	          "a reader in the group: status %#x (exit %d)", status, WEXITSTATUS(status));
	a.group = 0;
	status = run_child(child_nobody, &a);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "a reader outside the group: exit %d", WEXITSTATUS(status));
	cr_assert_eq(tw_stop(&wd, SIGTERM), 0);
}

/* ---- Secrets ----------------------------------------------------------------------------------- */

/* Where a secret could leak: the whole file (log, figures object) must not hold any of them. */
static void assert_file_clean(const char *path, const char *const *secrets, const char *what)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_assert_gt(n, 0, "%s is empty", path);
	for (; *secrets; secrets++)
		cr_assert_null(memmem(buf, n, *secrets, strlen(*secrets)), "%s holds '%s':\n%.*s",
		               what, *secrets, (int)(n < 4000 ? n : 4000), buf);
}

static void assert_proc_clean(pid_t pid, const char *const *secrets)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (const char *const *s = secrets; *s; s++) {
		static char buf[8192];
		FILE *f = fopen(path, "rb");
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

		if (f)
			fclose(f);
		cr_assert_null(memmem(buf, n, *s, strlen(*s)), "the process list shows '%s'", *s);
	}
}

static void assert_stats_clean(const char *bin, const char *const *secrets)
{
	char cmd[1400], path[512];
	char *out;
	int st;

	snprintf(cmd, sizeof(cmd),
	         "'%s' --stats --shm '%s' 2>&1; '%s' --stats --json --shm '%s' "
	         "2>&1",
	         tw_bin(bin, path, sizeof(path)), wd.shm, path, wd.shm);
	out = tw_run(cmd, &st);
	cr_assert_not_null(out);
	for (; *secrets; secrets++)
		cr_assert_null(strstr(out, *secrets), "--stats shows '%s':\n%s", *secrets, out);
	free(out);
}

/* A log file's text (static buffer). */
static const char *tr_run_log(const char *path)
{
	static char buf[1 << 14];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Poll a sink's log for `needle` (bounded). */
static bool log_has(const char *path, const char *needle, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	static char buf[1 << 16];

	for (;;) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, needle))
			return true;
		if (tw_now_ns() > end)
			return false;
		tw_pause();
	}
}

Test(hz_perms, redis_password_never_reaches_a_log)
{
	static const char *const secrets[] = {PASSWORD, BAD_PASSWORD, NULL};
	static struct tr_server srv;
	static struct tr_sink sink;
	const char *args[] = {"--shm", wd.shm,       "--config", conf, "--log-level",
	                      "debug", "--interval", "50",       NULL};
	char figures[REDIS_STATS_NAME_MAX], path[REDIS_STATS_NAME_MAX + 16];

	memset(&srv, 0, sizeof(srv));
	snprintf(srv.extra, sizeof(srv.extra), "user default off\nuser wgmon on >%s ~* &* +@all\n",
	         PASSWORD);
	cr_assert(tr_server_start(&srv), "redis-server did not start");
	wgmond_start(NULL);
	cr_assert(redis_stats_name(wd.shm, figures, sizeof(figures)) == 0);
	snprintf(path, sizeof(path), "/dev/shm%s", figures);

	/* The right password, from the file, at debug level; then the server goes away. */
	write_conf("[redis]\nhost = \"127.0.0.1\"\nport = %d\nusername = \"wgmon\"\n"
	           "password = \"%s\"\n",
	           srv.port, PASSWORD);
	cr_assert(tr_sink_spawn(&sink, "pw", args));
	cr_assert(log_has(sink.log, "table", TIME_OK), "%s", tr_sink_log(&sink));
	tr_server_kill(&srv);
	cr_assert(log_has(sink.log, "retrying in", TIME_OK), "%s", tr_sink_log(&sink));
	assert_proc_clean(sink.pid, secrets);
	kill(sink.pid, SIGTERM);
	cr_assert_eq(tr_sink_wait(&sink, 10), 0, "%s", tr_sink_log(&sink));
	assert_file_clean(sink.log, secrets, "the log");
	assert_file_clean(path, secrets, "the figures object");
	assert_stats_clean("sinks/wgmon-redis", secrets);
	hz_note("wgmon-redis's log, secrets absent:\n%s", tr_sink_log(&sink));
	tr_sink_cleanup(&sink);

	/* A wrong password from the environment: refused, retried, never printed. */
	cr_assert(tr_server_start(&srv), "redis-server did not restart");
	write_conf("[redis]\nhost = \"127.0.0.1\"\nport = %d\nusername = \"wgmon\"\n", srv.port);
	setenv("WGMON_REDIS_PASSWORD", BAD_PASSWORD, 1);
	cr_assert(tr_sink_spawn(&sink, "badpw", args));
	unsetenv("WGMON_REDIS_PASSWORD");
	cr_assert(log_has(sink.log, "WRONGPASS", TIME_OK), "%s", tr_sink_log(&sink));
	cr_assert(log_has(sink.log, "retrying in", TIME_OK), "%s", tr_sink_log(&sink));
	kill(sink.pid, SIGTERM);
	cr_assert_eq(tr_sink_wait(&sink, 10), 0, "%s", tr_sink_log(&sink));
	assert_file_clean(sink.log, secrets, "the log");
	assert_file_clean(path, secrets, "the figures object");
	assert_stats_clean("sinks/wgmon-redis", secrets);
	tr_sink_cleanup(&sink);
	shm_unlink(figures);
	tr_server_cleanup(&srv);
}

Test(hz_perms, webhook_secret_and_url_credentials_never_reach_a_log)
{
	static const char *const secrets[] = {SECRET, URL_PASS, URL_TOKEN, NULL};
	static const int script[] = {500, 500, 404};
	static struct recv rcv;
	char figures[NOTIFY_STATS_NAME_MAX], path[NOTIFY_STATS_NAME_MAX + 16], bin[512], line[256];
	char log[128];
	const char *s;
	pid_t pid;
	int fd, n;

	const char *const udp[] = {"--source", "udp", "--listen", listen_arg, NULL};

	cr_assert(recv_start(&rcv, 500, script, 3, false));
	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", wd.port);
	wgmond_start(udp);
	write_conf("[notify]\nurl = \"http://hzuser:%s@127.0.0.1:%d/hook?token=%s\"\n"
	           "secret = '%s'\nretries = 2\nbackoff_max_ms = 50\ntimeout_ms = 2000\n",
	           URL_PASS, rcv.port, URL_TOKEN, SECRET);
	snprintf(log, sizeof(log), "/tmp/wgmon-hz-notify-%d.log", (int)getpid());
	unlink(log);
	tw_bin("sinks/wgmon-notify", bin, sizeof(bin));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		tr_die_with_parent();
		dup2(out, 1);
		dup2(out, 2);
		execl(bin, bin, "--shm", wd.shm, "--config", conf, "--log-level", "debug",
		      "--interval", "100", (char *)NULL);
		_exit(127);
	}
	cr_assert(log_has(log, "info: ready:", TIME_OK));
	/* Two endpoint changes of one peer: posts that fail (5xx, retried; then 4xx). */
	fd = hz_sock(wd.port, NULL, false);
	cr_assert_geq(fd, 0);
	for (unsigned port = 51820; port < 51824; port++) {
		n = snprintf(line, sizeof(line),
		             "<7>Nov 22 10:00:00 vpn1 kernel: wireguard: wg0: Receiving keepalive "
		             "packet from peer 9 (192.0.2.9:%u)",
		             port);
		cr_assert(hz_send(fd, line, (size_t)n));
	}
	close(fd);
	/* Change 1: 500, 500, 404 (given up); change 2: 500 three times (failed). */
	cr_assert(recv_wait(&rcv, 6, TIME_OK), "%d requests", recv_count(&rcv));
	cr_assert(recv_sig_ok(&rcv.req[0], SECRET), "the secret signs the bodies");
	cr_assert(log_has(log, "retrying", TIME_OK), "no retry logged");
	cr_assert(log_has(log, "after 3", TIME_OK), "no failure logged");
	assert_proc_clean(pid, secrets);
	cr_assert(notify_stats_name(wd.shm, figures, sizeof(figures)) == 0);
	snprintf(path, sizeof(path), "/dev/shm%s", figures);
	assert_file_clean(path, secrets, "the figures object"); /* removed at exit */
	assert_stats_clean("sinks/wgmon-notify", secrets);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	assert_file_clean(log, secrets, "the log");
	hz_note("wgmon-notify's log, secrets absent:\n%s", tr_run_log(log));
	s = strstr(tw_log(&wd), SECRET);
	cr_assert_null(s);
	shm_unlink(figures);
	unlink(log);
	recv_stop(&rcv);
}
