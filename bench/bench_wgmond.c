/* SPDX-License-Identifier: MIT */
/*
 * bench_wgmond — the real wgmond as a child of wgmon-bench: pinned to one CPU,
 * on a free loopback port, with a private table and its own log file; started
 * and stopped with bounded waits (polling, never sleeping instead), and its
 * table and log removed afterwards, also when wgmon-bench is interrupted.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "shm/shm.h"

#define BENCH_WGMOND_READY_NS (20ull * 1000000000ull) /* start-up bound */
#define BENCH_WGMOND_STOP_NS  (10ull * 1000000000ull) /* SIGTERM to exit bound */
#define BENCH_WGMOND_POLL_NS  2000000ull              /* between two polls of a condition */
#define BENCH_WGMOND_LOG_MAX  (1u << 16)
#define BENCH_WGMOND_ARGS     24

static void bench_poll_pause(void)
{
	struct timespec ts = {0, (long)BENCH_WGMOND_POLL_NS};

	nanosleep(&ts, NULL); /* between two polls of a condition, never instead of one */
}

/* A UDP port nobody uses on 127.0.0.1 right now, or -errno. */
static int bench_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), port = -EADDRNOTAVAIL;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* The log so far, NUL-terminated, in a static buffer. */
static const char *bench_wgmond_log(const struct bench_wgmond *d)
{
	static char buf[BENCH_WGMOND_LOG_MAX];
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* In the child: pinned, stdout to /dev/null, stderr to the log, then exec. Never returns. */
static void bench_wgmond_child(const struct bench_wgmond *d, int cpu, char *const *argv)
{
	int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int null = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive wgmon-bench */
	if (cpu >= 0 && bench_pin_to(cpu))
		_exit(126);
	if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log, 2) < 0)
		_exit(126);
	execvp(argv[0], argv);
	_exit(127);
}

/* Polls until the ready line, the child's exit (its status in *st), or the bound. */
static int bench_wgmond_wait_ready(struct bench_wgmond *d, int *st)
{
	uint64_t end = bench_now_ns() + BENCH_WGMOND_READY_NS;

	while (!strstr(bench_wgmond_log(d), "info: ready:")) {
		if (waitpid(d->pid, st, WNOHANG) == d->pid) {
			d->pid = -1;
			return -ECHILD;
		}
		if (bench_now_ns() > end)
			return -ETIMEDOUT;
		bench_poll_pause();
	}
	return 0;
}

int bench_wgmond_start(struct bench_wgmond *d, const struct bench_ctx *c, int cpu,
                       uint64_t capacity, uint64_t rcvbuf, unsigned workers)
{
	static unsigned seq;
	char listen[32], cap[24], rb[24], wk[16];
	char *argv[BENCH_WGMOND_ARGS];
	int n = 0, st = 0, err;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->port = bench_free_port();
	if (d->port < 0)
		return d->port;
	snprintf(d->shm, sizeof(d->shm), "/wgmon-bench-%d-%u", (int)getpid(), seq);
	snprintf(d->log, sizeof(d->log), "/tmp/wgmon-bench-%d-%u.log", (int)getpid(), seq++);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)capacity);
	snprintf(rb, sizeof(rb), "%llu", (unsigned long long)rcvbuf);
	snprintf(wk, sizeof(wk), "%u", workers);
	argv[n++] = (char *)c->wgmond;
	argv[n++] = "--config"; /* this machine's /etc/wgmon must not change the figures */
	argv[n++] = "/dev/null";
	argv[n++] = "--shm";
	argv[n++] = d->shm;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--capacity";
	argv[n++] = cap;
	argv[n++] = "--rcvbuf";
	argv[n++] = rb;
	if (workers) {
		argv[n++] = "--workers";
		argv[n++] = wk;
	}
	if (c->ingest) {
		argv[n++] = "--ingest";
		argv[n++] = (char *)c->ingest;
	}
	argv[n] = NULL;
	bench_cleanup_add_shm(d->shm);
	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0)
		bench_wgmond_child(d, cpu, argv);
	err = bench_wgmond_wait_ready(d, &st);
	if (!err)
		err = shm_reader_attach(&d->r, d->shm);
	if (err == -ECHILD)
		fprintf(stderr, "wgmon-bench: wgmond (%s) exited with status %d%s; its log:\n%s",
		        c->wgmond, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
		        WIFEXITED(st) && WEXITSTATUS(st) == 127 ? " (not found: see --wgmond)" : "",
		        bench_wgmond_log(d));
	else if (err)
		fprintf(stderr, "wgmon-bench: wgmond (%s) did not start (%s); its log:\n%s",
		        c->wgmond, strerror(-err), bench_wgmond_log(d));
	if (err)
		bench_wgmond_stop(d);
	return err;
}

void bench_wgmond_stop(struct bench_wgmond *d)
{
	uint64_t end = bench_now_ns() + BENCH_WGMOND_STOP_NS;
	int st;

	shm_reader_detach(d->r);
	d->r = NULL;
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		while (waitpid(d->pid, &st, WNOHANG) != d->pid) {
			if (bench_now_ns() > end) {
				fprintf(stderr,
				        "wgmon-bench: wgmond did not stop in time: killed\n");
				kill(d->pid, SIGKILL);
				waitpid(d->pid, &st, 0);
				break;
			}
			bench_poll_pause();
		}
		d->pid = -1;
	}
	if (d->shm[0]) {
		if (shm_writer_unlink(d->shm) < 0)
			(void)0; /* never created, or already gone */
		bench_cleanup_del_shm(d->shm);
		d->shm[0] = '\0';
	}
	if (d->log[0]) {
		unlink(d->log);
		d->log[0] = '\0';
	}
}

void bench_wgmond_counts(const struct bench_wgmond *d, uint64_t *lines, uint64_t *dropped)
{
	struct shm_stats st;

	shm_reader_stats(d->r, &st);
	*lines = st.lines;
	/* Not nobufs: io_uring's back-pressure loses nothing, the datagram stays queued. */
	*dropped = st.dropped[SHM_DROP_RING_FULL] + st.dropped[SHM_DROP_TRUNCATED] +
	           st.dropped[SHM_DROP_RECV_ERROR];
}

uint64_t bench_wgmond_cpu_ns(const struct bench_wgmond *d)
{
	char path[64];
	uint64_t sum = 0;
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)d->pid);
	dir = opendir(path);
	while (dir && (e = readdir(dir)) != NULL) {
		unsigned long long ns;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)d->pid,
		         e->d_name);
		f = fopen(path, "r");
		/* The first field: ns this thread ran on a CPU. */
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return sum;
}

const char *bench_wgmond_backend(const struct bench_wgmond *d)
{
	const char *p = strstr(bench_wgmond_log(d), "udp via ");

	if (p && !strncmp(p + 8, "io_uring", 8))
		return "io_uring";
	if (p && !strncmp(p + 8, "recvmmsg", 8))
		return "recvmmsg";
	return "?";
}
