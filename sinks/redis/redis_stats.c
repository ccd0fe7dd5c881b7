/* SPDX-License-Identifier: MIT */
/*
 * redis_stats.c — the figures object of wgmon-redis ("<table>-redis"): created and written by
 * the sink under a seqlock, read by anyone (wgmon-redis --stats, wgmon stats, wgmon-metrics).
 * No hiredis here: readers link only this file (library wgmon_redis_stats).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks/redis/redis_internal.h"

#define STATS_READ_TRIES 1000
#define STATS_WORDS      (sizeof(struct redis_stats) / sizeof(uint64_t))
#define STATS_SEQ_WORD   (offsetof(struct redis_stats, seq) / sizeof(uint64_t))

_Static_assert(offsetof(struct redis_stats, seq) % 8 == 0, "seq opens a word (with pid)");
_Static_assert(offsetof(struct redis_stats, pid) == offsetof(struct redis_stats, seq) + 4,
               "pid shares the seq word; it is written once, at open");

int redis_stats_name(const char *table, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s%s", table ? table : "/wgmon", REDIS_STATS_SUFFIX);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- Writer (the sink's main thread) --------------------------------------------------------- */

int redis_stats_open(struct redis_stats_shm *h, const char *table)
{
	char name[REDIS_STATS_NAME_MAX];
	struct redis_stats *m;
	int fd, ret;

	h->fd = -1;
	h->map = NULL;
	ret = redis_stats_name(table, name, sizeof(name));
	if (ret)
		return ret;
	fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto close_fd;
	}
	if (ftruncate(fd, sizeof(*m)) < 0) {
		ret = -errno;
		goto close_fd;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto close_fd;
	}
	/* Odd seq and no magic while we (re)build it: readers retry or refuse meanwhile. */
	__atomic_store_n(&m->seq, 1u, __ATOMIC_RELAXED);
	memset(m->magic, 0, sizeof(m->magic));
	m->abi = REDIS_STATS_ABI;
	m->size = sizeof(*m);
	m->pid = (uint32_t)getpid();
	/* Publishes abi/size/pid before the magic; pairs with redis_stats_read()'s acquire. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(m->magic, REDIS_STATS_MAGIC, sizeof(m->magic));
	h->fd = fd;
	h->map = m;
	return 0;
close_fd:
	close(fd);
	return ret;
}

void redis_stats_publish(struct redis_stats_shm *h, const struct redis_stats *local)
{
	uint64_t *dst;
	const uint64_t *src = (const uint64_t *)local;
	uint32_t seq;

	if (!h->map)
		return;
	dst = (uint64_t *)h->map;
	seq = h->map->seq | 1u; /* only this thread writes it */
	__atomic_store_n(&h->map->seq, seq, __ATOMIC_RELAXED);
	/* Orders the odd seq before the words; pairs with the reader's acquire fence. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (size_t i = 2; i < STATS_WORDS; i++)
		if (i != STATS_SEQ_WORD)
			__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
	/* Even again: publishes the words; pairs with the reader's acquire load of seq. */
	__atomic_store_n(&h->map->seq, seq + 1, __ATOMIC_RELEASE);
}

void redis_stats_close(struct redis_stats_shm *h, struct redis_stats *local)
{
	if (!h->map)
		return;
	local->running = 0;
	local->connected = 0;
	redis_stats_publish(h, local);
	munmap(h->map, sizeof(*h->map));
	close(h->fd); /* drops the flock */
	h->map = NULL;
	h->fd = -1;
}

/* ---- Reader (anyone) --------------------------------------------------------------------------- */

static int stats_copy(const struct redis_stats *m, struct redis_stats *out)
{
	const uint64_t *src = (const uint64_t *)m;
	uint64_t *dst = (uint64_t *)out;
	uint32_t s1, s2;

	for (int i = 0; i < STATS_READ_TRIES; i++) {
		/* Pairs with the writer's closing release store: the words of that publish. */
		s1 = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1u)
			continue;
		for (size_t w = 0; w < STATS_WORDS; w++)
			dst[w] = __atomic_load_n(&src[w], __ATOMIC_RELAXED);
		/* Orders the copies before the re-check; pairs with the writer's release fence. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&m->seq, __ATOMIC_RELAXED);
		if (s1 == s2) {
			out->last_error[sizeof(out->last_error) - 1] = '\0';
			return 0;
		}
	}
	return -EAGAIN;
}

int redis_stats_read(const char *table, struct redis_stats *out)
{
	char name[REDIS_STATS_NAME_MAX];
	const struct redis_stats *m;
	struct stat st;
	int fd, ret;

	ret = redis_stats_name(table, name, sizeof(name));
	if (ret)
		return ret;
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*m)) {
		close(fd);
		return -EPROTO;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	/* Pairs with the release fence before the writer's memcpy of the magic. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (memcmp(m->magic, REDIS_STATS_MAGIC, sizeof(m->magic)) || m->abi != REDIS_STATS_ABI ||
	    m->size != sizeof(*m))
		ret = -EPROTO;
	else
		ret = stats_copy(m, out);
	munmap((void *)m, sizeof(*m));
	return ret;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t cap, len;
	bool full;
};

static void sb_fmt(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = true;
	else
		b->len += (size_t)n;
}

static void sb_time(struct sbuf *b, const char *key, uint64_t ns)
{
	sb_fmt(b, ",\"%s\":%" PRIu64 ".%06" PRIu64, key, ns / 1000000000u,
	       ns % 1000000000u / 1000u);
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_fmt(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_fmt(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sb_fmt(b, "\\u%04x", c);
		else
			sb_fmt(b, "%c", c);
	}
	sb_fmt(b, "\"");
}

size_t redis_stats_json(const struct redis_stats *s, char *buf, size_t cap)
{
	struct sbuf b = {.p = buf, .cap = cap};

	if (!cap)
		return 0;
	sb_fmt(&b, "{\"pid\":%" PRIu32 ",\"running\":%s,\"connected\":%s", s->pid,
	       s->running ? "true" : "false", s->connected ? "true" : "false");
	sb_time(&b, "started_at", s->started_at);
	sb_time(&b, "updated_at", s->updated_at);
	sb_fmt(&b,
	       ",\"passes\":%" PRIu64 ",\"passes_failed\":%" PRIu64 ",\"writes\":%" PRIu64
	       ",\"peers_written\":%" PRIu64 ",\"events_written\":%" PRIu64
	       ",\"events_missed\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"reconnects\":%" PRIu64
	       ",\"resyncs\":%" PRIu64 ",\"flushes\":%" PRIu64,
	       s->passes, s->passes_failed, s->writes, s->peers_written, s->events_written,
	       s->events_missed, s->errors, s->reconnects, s->resyncs, s->flushes);
	sb_fmt(&b, ",\"last_pass_seconds\":%.6f", (double)s->last_pass_ns / 1e9);
	sb_fmt(&b,
	       ",\"last_pass_peers\":%" PRIu64 ",\"peers_pending\":%" PRIu64
	       ",\"peers_tracked\":%" PRIu64 ",\"backoff_ms\":%" PRIu64,
	       s->last_pass_peers, s->peers_pending, s->peers_tracked, s->backoff_ms);
	if (s->last_error_at) {
		sb_time(&b, "last_error_at", s->last_error_at);
		sb_fmt(&b, ",\"last_error\":");
		sb_str(&b, s->last_error);
	}
	sb_fmt(&b, "}");
	return b.full ? 0 : b.len;
}
