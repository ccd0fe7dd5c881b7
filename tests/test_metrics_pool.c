/* SPDX-License-Identifier: MIT */
/*
 * The snapshot pool under concurrency, for ThreadSanitizer (a plain program: Criterion cannot
 * start under TSan). Part 1: a renderer thread fills and publishes snapshots, compresses some
 * after publication, while reader threads take references, hold them a while, and check that
 * what they read never changes under them. Part 2: the real wgmon-metrics (built with the same
 * sanitizer) renders every 10 ms while curl clients fetch /metrics plain and gzip at once; it
 * must exit 0 on SIGTERM (TSan makes it exit 66 on any report).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/shm.h"
#include "sinks/metrics/metrics.h"

#define READERS     3
#define RUN_NS      (500 * 1000000ull)
#define BODY_BYTES  8192
#define CLIENTS     4
#define CLIENT_GETS 25
#define TABLE_PEERS 2000
#define FAIL(...)   (fprintf(stderr, "test_metrics_pool: " __VA_ARGS__), exit(1))

static struct metrics_pool pool;
static char cleanup_shm[64];              /* the table of part 2, removed at any exit */
static pid_t cleanup_pid = -1;            /* wgmon-metrics, killed at any exit */
static bool stop;                         /* atomic */
static uint64_t reads, gz_reads, skipped; /* atomic */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fill a snapshot the renderer owns: every byte of section 0 is its seq's low byte. */
static void fill(struct metrics_snapshot *s, uint64_t seq)
{
	struct metrics_buf *b = &s->body.sec[0];

	if (!b->p) {
		b->p = malloc(BODY_BYTES);
		b->cap = BODY_BYTES;
		if (!b->p)
			FAIL("out of memory\n");
	}
	memset(b->p, (int)(seq & 0xff), BODY_BYTES);
	b->len = BODY_BYTES;
	s->seq = seq;
	__atomic_store_n(&s->gz_ready, 0, __ATOMIC_RELAXED); /* ours: unpublished */
}

static void *renderer(void *arg)
{
	uint64_t seq = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct metrics_snapshot *s = metrics_pool_back(&pool);

		if (!s) {
			__atomic_add_fetch(&skipped, 1, __ATOMIC_RELAXED);
			continue;
		}
		fill(s, ++seq);
		metrics_pool_publish(&pool, s);
		if (seq % 4 ==
		    0) { /* compress the current one after publication, like a gzip client */
			struct metrics_snapshot *c = metrics_pool_get(&pool);

			if (c && metrics_snapshot_gzip(c, 1) < 0)
				FAIL("gzip failed\n");
			if (c)
				metrics_pool_put(c);
		}
	}
	return NULL;
}

static void check(const struct metrics_snapshot *s)
{
	const struct metrics_buf *b = &s->body.sec[0];
	unsigned char want = (unsigned char)(s->seq & 0xff);

	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->p[i] != want)
			FAIL("snapshot %llu changed under a reader at byte %zu\n",
			     (unsigned long long)s->seq, i);
	if (metrics_snapshot_has_gzip(s)) {
		if (s->gz.len < 18 || (unsigned char)s->gz.p[0] != 0x1f ||
		    (unsigned char)s->gz.p[1] != 0x8b)
			FAIL("a published gzip is not one\n");
		__atomic_add_fetch(&gz_reads, 1, __ATOMIC_RELAXED);
	}
}

static void *reader(void *arg)
{
	unsigned hold = (unsigned)(uintptr_t)arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct metrics_snapshot *s = metrics_pool_get(&pool);

		if (!s)
			continue;
		check(s);
		for (unsigned i = 0; i < hold; i++) /* a slow client: hold it across renders */
			check(s);
		metrics_pool_put(s);
		__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void pool_threads(void)
{
	pthread_t r, rd[READERS];
	uint64_t end = now_ns() + RUN_NS;

	metrics_pool_init(&pool);
	if (pthread_create(&r, NULL, renderer, NULL))
		FAIL("pthread_create\n");
	for (uintptr_t i = 0; i < READERS; i++)
		if (pthread_create(&rd[i], NULL, reader, (void *)(i * 3)))
			FAIL("pthread_create\n");
	while (now_ns() < end)
		usleep(10000); /* the run's length, not synchronisation */
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	pthread_join(r, NULL);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	for (int i = 0; i < METRICS_SNAPSHOTS; i++)
		if (pool.snap[i].refs)
			FAIL("snapshot %d still referenced\n", i);
	printf("pool: %llu reads (%llu with gzip), %llu passes skipped\n",
	       (unsigned long long)reads, (unsigned long long)gz_reads,
	       (unsigned long long)skipped);
	if (!reads || !gz_reads)
		FAIL("the readers read nothing\n");
	metrics_pool_destroy(&pool);
}

/* ---- Part 2: the real process ---------------------------------------------------------------- */

static void cleanup(void)
{
	char name[128];

	if (cleanup_pid > 0 && waitpid(cleanup_pid, NULL, WNOHANG) == 0) {
		kill(cleanup_pid, SIGKILL);
		waitpid(cleanup_pid, NULL, 0);
	}
	if (cleanup_shm[0]) {
		(void)!shm_writer_unlink(cleanup_shm);
		if (metrics_stats_name(cleanup_shm, name, sizeof(name)) == 0)
			shm_unlink(name);
	}
}

static void table_fill(const char *name, struct shm_writer **w)
{
	struct shm_writer_opts o = {
	        .name = name, .capacity = TABLE_PEERS, .event_ring = 64, .gid = -1, .reset = true};
	struct parse_event ev;

	if (shm_writer_open(w, &o) < 0)
		FAIL("%s\n", shm_writer_error());
	memset(&ev, 0, sizeof(ev));
	ev.kind = PARSE_EV_KEYPAIR_CREATED;
	ev.fields = PARSE_F_PEER | PARSE_F_KEYPAIR;
	ev.repeat = 1;
	ev.iface_len = 3;
	memcpy(ev.iface, "wg0", 3);
	for (uint64_t i = 1; i <= TABLE_PEERS; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ev.peer = i;
		if (shm_writer_apply(*w, SHM_BLOCK_WORKER(0), &ev,
		                     (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec))
			FAIL("apply\n");
	}
}

static uint16_t wait_port(const char *shm, pid_t pid)
{
	char name[128];
	struct metrics_stats st;
	uint64_t end = now_ns() + 60 * 1000000000ull;

	if (metrics_stats_name(shm, name, sizeof(name)) < 0)
		FAIL("stats name\n");
	while (now_ns() < end) {
		if (metrics_stats_read(name, &st) == 0 && st.pid == (uint64_t)pid && st.http_port)
			return (uint16_t)st.http_port;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			FAIL("wgmon-metrics exited\n");
		usleep(2000); /* between polls */
	}
	FAIL("wgmon-metrics did not start\n");
}

static void process_under_load(const char *bin_dir)
{
	char shm[64], bin[512], listen_arg[] = "127.0.0.1:0", cmd[1024], log[96];
	struct shm_writer *w;
	pid_t pid, clients[CLIENTS];
	uint16_t port;
	int st;

	snprintf(shm, sizeof(shm), "/wgmon-test-metrics-pool-%d", (int)getpid());
	snprintf(cleanup_shm, sizeof(cleanup_shm), "%s", shm);
	atexit(cleanup);
	snprintf(log, sizeof(log), "/tmp/wgmon-metrics-pool-%d.log", (int)getpid());
	snprintf(bin, sizeof(bin), "%s/sinks/wgmon-metrics", bin_dir);
	table_fill(shm, &w);
	pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stderr);

		(void)f;
		execl(bin, bin, "--shm", shm, "--listen", listen_arg, "--interval", "10",
		      "--compat", (char *)NULL);
		_exit(127);
	}
	cleanup_pid = pid;
	port = wait_port(shm, pid);
	for (int c = 0; c < CLIENTS; c++) {
		snprintf(cmd, sizeof(cmd),
		         "for i in $(seq %d); do curl -sS --max-time 20 %s -o /dev/null "
		         "http://127.0.0.1:%u/metrics || exit 1; done",
		         CLIENT_GETS, c % 2 ? "--compressed" : "", port);
		clients[c] = fork();
		if (clients[c] == 0) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
	}
	for (int c = 0; c < CLIENTS; c++)
		if (waitpid(clients[c], &st, 0) != clients[c] || !WIFEXITED(st) || WEXITSTATUS(st))
			FAIL("a client failed\n");
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	cleanup_pid = -1;
	shm_writer_close(w);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(cmd, sizeof(cmd), "cat '%s' >&2", log);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
		unlink(log);
		FAIL("wgmon-metrics exited with status %d\n", st);
	}
	unlink(log);
	printf("process: %d clients x %d requests served, clean exit\n", CLIENTS, CLIENT_GETS);
}

int main(void)
{
	const char *bin = getenv("WGMON_BIN");

	pool_threads();
	if (!bin || system("command -v curl >/dev/null 2>&1") != 0) {
		printf("process part skipped: WGMON_BIN unset or no curl\n");
		return 0;
	}
	process_under_load(bin);
	return 0;
}
