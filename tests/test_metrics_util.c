/* SPDX-License-Identifier: MIT */
/*
 * test_metrics_util.c — included by the wgmon-metrics integration tests (not a test itself):
 * start wgmon-metrics on a free loopback port and find that port through its stats object,
 * fetch URLs with the curl command, parse an exposition into a sorted series → value table,
 * and always clean up. wgmond is driven with test_wgmond_util.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sinks/metrics/metrics.h"
#include "tests/test_wgmond_util.h"

/* Each test file uses some of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define TM_ARGS_MAX 32

struct tm_proc {
	pid_t pid;
	int status;
	bool reaped;
	uint16_t port;
	char shm[64];
	char log[128];
	const char *args[TM_ARGS_MAX];
	int nargs;
};

static void tm_init(struct tm_proc *p, const char *shm, const char *tag)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	snprintf(p->shm, sizeof(p->shm), "%s", shm);
	snprintf(p->log, sizeof(p->log), "/tmp/wgmon-metrics-test-%d-%s.log", (int)getpid(), tag);
}

static void tm_arg(struct tm_proc *p, const char *a)
{
	if (p->nargs < TM_ARGS_MAX - 1)
		p->args[p->nargs++] = a;
}

/* Start wgmon-metrics --shm SHM --listen 127.0.0.1:0 (unless args say --listen) ARGS. */
static void tm_spawn(struct tm_proc *p)
{
	char bin[512];
	const char *argv[TM_ARGS_MAX + 8];
	bool listen = false;
	int n = 0;

	tw_bin("sinks/wgmon-metrics", bin, sizeof(bin));
	argv[n++] = bin;
	argv[n++] = "--shm";
	argv[n++] = p->shm;
	for (int i = 0; i < p->nargs; i++) {
		listen |= !strcmp(p->args[i], "--listen");
		argv[n++] = p->args[i];
	}
	if (!listen) {
		argv[n++] = "--listen";
		argv[n++] = "127.0.0.1:0";
	}
	argv[n] = NULL;
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = open("/dev/null", O_RDONLY);

		dup2(in, 0);
		dup2(log, 1);
		dup2(log, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
}

static bool tm_exited(struct tm_proc *p)
{
	if (!p->reaped && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
		p->reaped = true;
	return p->reaped;
}

/* The figures of our wgmon-metrics (false if not there yet, or another process's). */
static bool tm_stats(struct tm_proc *p, struct metrics_stats *st)
{
	char name[128];

	if (metrics_stats_name(p->shm, name, sizeof(name)) < 0 || metrics_stats_read(name, st) < 0)
		return false;
	return st->pid == (uint64_t)p->pid;
}

/* Wait until it serves (its port is published); false if it exited or time ran out. */
static bool tm_wait_ready(struct tm_proc *p)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(20);
	struct metrics_stats st;

	while (tw_now_ns() < end && !tm_exited(p)) {
		if (tm_stats(p, &st) && st.http_port) {
			p->port = (uint16_t)st.http_port;
			return true;
		}
		tw_pause();
	}
	return false;
}

/* SIGTERM, wait; the exit code, 128 + signal, or -1 if it hung (then killed). */
static int tm_stop(struct tm_proc *p)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(20);

	if (p->pid <= 0)
		return -1;
	if (!p->reaped)
		kill(p->pid, SIGTERM);
	while (!tm_exited(p)) {
		if (tw_now_ns() > end) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &p->status, 0);
			p->reaped = true;
			return -1;
		}
		tw_pause();
	}
	return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
}

static void tm_cleanup(struct tm_proc *p)
{
	char name[128];

	if (p->pid > 0 && !tm_exited(p)) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
	}
	if (p->shm[0] && metrics_stats_name(p->shm, name, sizeof(name)) == 0)
		shm_unlink(name);
	unlink(p->log);
}

/* ---- HTTP through the curl command -------------------------------------------------------- */

struct tm_reply {
	int code;           /* HTTP status, 0 if curl failed */
	char headers[4096]; /* the last response's header block */
	char *body;         /* malloc'd, NUL-terminated (decoded with --compressed) */
	size_t len;
};

static void tm_reply_free(struct tm_reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* GET (or `extra` curl options, e.g. "-I", "--compressed") url; bounded by curl itself. */
static void tm_get(const char *url, const char *extra, struct tm_reply *r)
{
	char body_path[96], cmd[1024];
	int st;
	char *hdr;
	FILE *f;
	long size;

	memset(r, 0, sizeof(*r));
	snprintf(body_path, sizeof(body_path), "/tmp/wgmon-metrics-test-%d.body", (int)getpid());
	snprintf(cmd, sizeof(cmd), "curl -sS -g --max-time 20 %s -D - -o '%s' '%s'",
	         extra ? extra : "", body_path, url);
	hdr = tw_run(cmd, &st);
	if (hdr) {
		snprintf(r->headers, sizeof(r->headers), "%s", hdr);
		if (sscanf(hdr, "HTTP/%*s %d", &r->code) != 1)
			r->code = 0;
		free(hdr);
	}
	f = fopen(body_path, "rb");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	r->body = malloc((size_t)size + 1);
	r->len = fread(r->body, 1, (size_t)size, f);
	r->body[r->len] = '\0';
	fclose(f);
	unlink(body_path);
}

static void tm_url(char *buf, size_t cap, const char *host, uint16_t port, const char *path)
{
	snprintf(buf, cap, "http://%s:%u%s", host, port, path);
}

/* Poll GET url until its body contains `needle` (bounded); the last reply in r. */
static bool tm_wait_body(const char *url, const char *needle, double seconds, struct tm_reply *r)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);

	for (;;) {
		tm_get(url, NULL, r);
		if (r->code == 200 && r->body && strstr(r->body, needle))
			return true;
		if (tw_now_ns() > end)
			return false;
		tm_reply_free(r);
		tw_pause();
	}
}

/* `promtool check metrics` on text: exit status, 77 when promtool is missing. */
static int tm_promtool_check(const char *text)
{
	char path[96], cmd[256];
	FILE *f;
	int st;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return 77;
	snprintf(path, sizeof(path), "/tmp/wgmon-metrics-test-%d.prom", (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", path);
	st = system(cmd);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- An exposition as a table ------------------------------------------------------------- */

struct tm_sample {
	const char *series; /* name{labels}, as printed */
	const char *value;
};

struct tm_expo {
	char *text; /* owned copy, cut into the pieces above */
	struct tm_sample *s;
	size_t n;
};

static int tm_sample_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tm_sample *)a)->series, ((const struct tm_sample *)b)->series);
}

/* Split sample lines at the last space (label values may hold spaces); sort by series. */
static void tm_expo_parse(struct tm_expo *e, const char *text)
{
	size_t cap = 1024;
	char *line, *save = NULL;

	memset(e, 0, sizeof(*e));
	e->text = strdup(text);
	e->s = malloc(cap * sizeof(*e->s));
	for (line = strtok_r(e->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		if (line[0] == '#' || !sp)
			continue;
		*sp = '\0';
		if (e->n == cap)
			e->s = realloc(e->s, (cap *= 2) * sizeof(*e->s));
		e->s[e->n++] = (struct tm_sample){line, sp + 1};
	}
	qsort(e->s, e->n, sizeof(*e->s), tm_sample_cmp);
}

static const char *tm_expo_get(const struct tm_expo *e, const char *series)
{
	struct tm_sample key = {series, NULL};
	const struct tm_sample *hit = bsearch(&key, e->s, e->n, sizeof(*e->s), tm_sample_cmp);

	return hit ? hit->value : NULL;
}

static size_t tm_expo_count(const struct tm_expo *e, const char *name)
{
	size_t n = 0, len = strlen(name);

	for (size_t i = 0; i < e->n; i++)
		n += !strncmp(e->s[i].series, name, len) &&
		     (e->s[i].series[len] == '{' || e->s[i].series[len] == '\0');
	return n;
}

static void tm_expo_free(struct tm_expo *e)
{
	free(e->text);
	free(e->s);
	memset(e, 0, sizeof(*e));
}

/* ---- Sockets ------------------------------------------------------------------------------- */

/* A TCP port nobody listens on at 127.0.0.1 right now. */
static int tm_free_tcp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The log so far (static buffer). */
static const char *tm_log(const struct tm_proc *p)
{
	static char buf[1 << 14];
	FILE *f = fopen(p->log, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

#define TM_CAPACITY_ARG 4 /* index of --capacity's value in the replay arguments */

/* A wgmond that replays the shared corpus into a new table name (not started yet). */
static void tm_replay_setup(struct tw_proc *w, const char *tag)
{
	static char source[600];
	char path[512];

	tw_init(w, tag);
	tw_shared("corpus/lines.txt", path, sizeof(path));
	snprintf(source, sizeof(source), "file:%s", path);
	tw_arg(w, "--source");
	tw_arg(w, source);
	tw_arg(w, "--exit-on-eof");
	tw_arg(w, "--capacity");
	tw_arg(w, "4096"); /* TM_CAPACITY_ARG */
	tw_arg(w, "--event-ring");
	tw_arg(w, "1024");
}

/* Run it to the end (wgmond exits once the corpus is applied; the table stays). */
static void tm_replay_run(struct tw_proc *w)
{
	cr_assert_eq(tw_spawn(w), 0);
	cr_assert_eq(tw_wait_exit(w, 30), 0, "wgmond failed: %s", tw_log(w));
}

static void tm_replay_corpus(struct tw_proc *w, const char *tag)
{
	tm_replay_setup(w, tag);
	tm_replay_run(w);
}
