/* SPDX-License-Identifier: MIT */
/*
 * test_wgmond_util.h — helpers for the tests and the bench that drive the real
 * wgmond binary: spawn it on a free loopback port with a unique shm name, wait
 * for its "ready" log line, send lines over UDP, poll the table's counters, and
 * always stop it and unlink the table. Header-only (static functions).
 */
#ifndef WGMON_TEST_WGMOND_UTIL_H
#define WGMON_TEST_WGMOND_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/shm.h"

#define TW_ARGS_MAX  48
#define TW_POLL_NS   2000000ull /* 2 ms between polls */
#define TW_LINES_MAX 4096

struct tw_proc {
	pid_t pid;
	int status; /* wait status once reaped */
	bool reaped;
	int port; /* UDP port on 127.0.0.1 */
	char shm[64];
	char log[128];
	const char *args[TW_ARGS_MAX];
	int nargs;
	void (*before_exec)(void); /* in the child, e.g. a seccomp filter */
	const char *stdin_path;    /* NULL: /dev/null */
	int stdin_fd;              /* >= 0: this fd instead of stdin_path (tw_init: -1) */
};

static inline uint64_t tw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void tw_pause(void)
{
	struct timespec ts = {0, (long)TW_POLL_NS};

	nanosleep(&ts, NULL); /* between two polls of a condition, never instead of one */
}

/* Sanitizer builds are slower: every bound is scaled by WGMON_TEST_SLOW (default 1). */
static inline uint64_t tw_bound_ns(double seconds)
{
	const char *slow = getenv("WGMON_TEST_SLOW");
	double k = slow ? atof(slow) : 1.0;

	return (uint64_t)(seconds * (k > 0 ? k : 1.0) * 1e9);
}

static inline const char *tw_bin(const char *rel, char *buf, size_t cap)
{
	const char *b = getenv("WGMON_BIN");

	snprintf(buf, cap, "%s/%s", b ? b : ".", rel);
	return buf;
}

static inline const char *tw_shared(const char *rel, char *buf, size_t cap)
{
	const char *s = getenv("WGMON_SHARED");

	snprintf(buf, cap, "%s/%s", s ? s : "../shared", rel);
	return buf;
}

/* A UDP port nobody uses on 127.0.0.1 right now. */
static inline int tw_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A fresh process description: unique shm and log names, a free port. */
static inline void tw_init(struct tw_proc *p, const char *tag)
{
	static int seq;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->stdin_fd = -1;
	p->port = tw_free_port();
	snprintf(p->shm, sizeof(p->shm), "/wgmon-test-%d-%s-%d", (int)getpid(), tag, seq);
	snprintf(p->log, sizeof(p->log), "/tmp/wgmond-test-%d-%s-%d.log", (int)getpid(), tag, seq);
	seq++;
}

static inline void tw_arg(struct tw_proc *p, const char *a)
{
	if (p->nargs < TW_ARGS_MAX - 1)
		p->args[p->nargs++] = a;
}

/* Start wgmond with --shm and the args given (add --listen yourself when wanted). */
static inline int tw_spawn(struct tw_proc *p)
{
	char bin[512];
	const char *argv[TW_ARGS_MAX + 4];
	int n = 0;

	tw_bin("tools/wgmond", bin, sizeof(bin));
	argv[n++] = bin;
	argv[n++] = "--shm";
	argv[n++] = p->shm;
	for (int i = 0; i < p->nargs; i++)
		argv[n++] = p->args[i];
	argv[n] = NULL;
	p->reaped = false;
	/* A fresh log per run, emptied before the child exists: no stale "ready" line. */
	if (truncate(p->log, 0) < 0 && errno != ENOENT)
		return -errno;
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		int log = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int in = p->stdin_fd >= 0
		                 ? p->stdin_fd
		                 : open(p->stdin_path ? p->stdin_path : "/dev/null", O_RDONLY);
		int out = open("/dev/null", O_WRONLY);

		if (log < 0 || in < 0 || out < 0)
			_exit(126);
		/* Above 2 first: the test runner may have closed 0-2, so any of them can be low. */
		in = fcntl(in, F_DUPFD_CLOEXEC, 10);
		out = fcntl(out, F_DUPFD_CLOEXEC, 10);
		log = fcntl(log, F_DUPFD_CLOEXEC, 10);
		if (in < 0 || out < 0 || log < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(log, 2) < 0)
			_exit(126);
		if (p->before_exec)
			p->before_exec();
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return 0;
}

/* The log so far (static buffer, NUL-terminated). */
static inline const char *tw_log(const struct tw_proc *p)
{
	static char buf[1 << 16];
	FILE *f = fopen(p->log, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static inline bool tw_exited(struct tw_proc *p)
{
	if (p->reaped)
		return true;
	if (p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
		p->reaped = true;
	return p->reaped;
}

/* Poll the log until it contains `needle`; false if wgmond exited or time ran out. */
static inline bool tw_wait_log(struct tw_proc *p, const char *needle, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);

	for (;;) {
		if (strstr(tw_log(p), needle))
			return true;
		if (tw_exited(p) || tw_now_ns() > end)
			return strstr(tw_log(p), needle) != NULL;
		tw_pause();
	}
}

static inline bool tw_wait_ready(struct tw_proc *p)
{
	return tw_wait_log(p, "info: ready:", 20);
}

/* Wait for the process to end (bounded); returns its wait status, or -1 if it did not end. */
static inline int tw_wait_exit(struct tw_proc *p, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);

	while (!tw_exited(p)) {
		if (tw_now_ns() > end)
			return -1;
		tw_pause();
	}
	return p->status;
}

/* Send `sig`, wait; the exit code (0..255), 128 + signal if killed, -1 if it hung. */
static inline int tw_stop(struct tw_proc *p, int sig)
{
	int st;

	if (p->pid <= 0)
		return -1;
	if (!p->reaped)
		kill(p->pid, sig);
	st = tw_wait_exit(p, 30);
	if (st < 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Kill if still running, unlink the table, remove the log. Safe to call twice. */
static inline void tw_cleanup(struct tw_proc *p)
{
	if (p->pid > 0 && !tw_exited(p)) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
	}
	if (p->shm[0] && shm_writer_unlink(p->shm) < 0)
		(void)0; /* already gone */
	if (p->log[0])
		unlink(p->log);
}

/* The table's summed counters; false if it cannot be attached. */
static inline bool tw_stats(const char *shm, struct shm_stats *st)
{
	struct shm_reader *r;

	if (shm_reader_attach(&r, shm) < 0)
		return false;
	shm_reader_stats(r, st);
	shm_reader_detach(r);
	return true;
}

/* Poll until lines + the drops named by `drop_mask` reach n (bounded). */
static inline bool tw_wait_lines(const char *shm, uint64_t n, unsigned drop_mask, double seconds,
                                 struct shm_stats *out)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	struct shm_stats st;

	for (;;) {
		uint64_t got = 0;

		if (tw_stats(shm, &st)) {
			got = st.lines;
			for (unsigned d = 0; d < SHM_DROP__COUNT; d++)
				if (drop_mask & (1u << d))
					got += st.dropped[d];
			if (got >= n) {
				if (out)
					*out = st;
				return got == n;
			}
		}
		if (tw_now_ns() > end) {
			if (out)
				*out = st;
			return false;
		}
		tw_pause();
	}
}

/* The corpus lines (without '\n'), read once. */
struct tw_lines {
	char *buf;
	const char *line[TW_LINES_MAX];
	size_t len[TW_LINES_MAX];
	size_t n;
};

static inline bool tw_lines_load(struct tw_lines *l, const char *path)
{
	FILE *f = fopen(path, "rb");
	long size;
	char *p, *end;

	memset(l, 0, sizeof(*l));
	if (!f)
		return false;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	l->buf = malloc((size_t)size + 1);
	if (!l->buf || fread(l->buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		return false;
	}
	fclose(f);
	for (p = l->buf, end = l->buf + size; p < end && l->n < TW_LINES_MAX;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		l->line[l->n] = p;
		l->len[l->n++] = (size_t)((nl ? nl : end) - p);
		p = nl ? nl + 1 : end;
	}
	return true;
}

/* Send lines [from, to) to 127.0.0.1:port, one per datagram, in order. */
static inline bool tw_send(int port, const struct tw_lines *l, size_t from, size_t to)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok = fd >= 0;

	for (size_t i = from; ok && i < to; i++)
		ok = sendto(fd, l->line[i], l->len[i], 0, (struct sockaddr *)&a, sizeof(a)) ==
		     (ssize_t)l->len[i];
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The same to [::1]:port. */
static inline bool tw_send6(int port, const struct tw_lines *l, size_t from, size_t to)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
	                         .sin6_port = htons((uint16_t)port),
	                         .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0;

	for (size_t i = from; ok && i < to; i++)
		ok = sendto(fd, l->line[i], l->len[i], 0, (struct sockaddr *)&a, sizeof(a)) ==
		     (ssize_t)l->len[i];
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Run a command and return its stdout (malloc'd, NUL-terminated), or NULL. */
static inline char *tw_run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	if (!f || !buf) {
		if (f)
			pclose(f);
		free(buf);
		return NULL;
	}
	for (;;) {
		size_t k;

		if (n + 4096 > cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				break;
			buf = nb;
		}
		k = fread(buf + n, 1, cap - n - 1, f);
		if (k == 0)
			break;
		n += k;
	}
	buf[n] = '\0';
	*status = pclose(f);
	return buf;
}

#endif /* WGMON_TEST_WGMOND_UTIL_H */
