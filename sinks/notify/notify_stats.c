/* SPDX-License-Identifier: MIT */
/*
 * notify_stats.c — wgmon-notify's figures in a small shared-memory object of its own
 * (ABI in notify.h): created and locked by the running wgmon-notify, read by anyone
 * (`wgmon-notify --stats`, `wgmon stats`, wgmon-metrics). Also the names of the types.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sinks/notify/notify_internal.h"

#define STATS_MODE 0644 /* figures only: no secret, no peer data */

/* Its own clock: this file is the whole of wgmon_notify_stats, which readers link alone. */
static uint64_t stats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *const type_names[NOTIFY__COUNT] = {
        [NOTIFY_ENDPOINT_CHANGED] = "endpoint_changed", [NOTIFY_STATE_CHANGED] = "state_changed",
        [NOTIFY_PEER_CREATED] = "peer_created",         [NOTIFY_PEER_REMOVED] = "peer_removed",
        [NOTIFY_INTERFACE_DOWN] = "interface_down",     [NOTIFY_INTERFACE_UP] = "interface_up",
};

const char *notify_type_name(unsigned type)
{
	return type < NOTIFY__COUNT ? type_names[type] : NULL;
}

int notify_type_lookup(const char *name)
{
	for (unsigned i = 0; i < NOTIFY__COUNT; i++)
		if (!strcmp(name, type_names[i]))
			return (int)i;
	return -1;
}

int notify_stats_name(const char *shm, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%s", shm ? shm : SHM_NAME_DEFAULT, NOTIFY_STATS_SUFFIX);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- Reader side ----------------------------------------------------------------------------- */

/* Copy word by word with relaxed loads: every field is an aligned u64 or fits in one. */
static void stats_copy(struct notify_stats *dst, const struct notify_stats *src)
{
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *d = (uint64_t *)dst;

	for (size_t i = 0; i < sizeof(*src) / 8; i++)
		/* Pairs with the writers' relaxed stores (notify_stat_set()). */
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

_Static_assert(sizeof(struct notify_stats) % 8 == 0, "copied as u64 words");

int notify_stats_read(const char *shm, struct notify_stats *out)
{
	char name[NOTIFY_STATS_NAME_MAX], magic[NOTIFY_STATS_MAGIC_LEN];
	const struct notify_stats *s;
	struct stat st;
	int fd, ret = 0;
	void *map;

	if (notify_stats_name(shm, name, sizeof(name)) < 0)
		return -ENAMETOOLONG;
	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*s)) {
		close(fd);
		return -EPROTO;
	}
	map = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	s = map;
	/* Pairs with the release store that published the header (notify_stats_publish()). */
	for (int i = 0; i < NOTIFY_STATS_MAGIC_LEN; i++)
		magic[i] = __atomic_load_n(&s->magic[i], __ATOMIC_ACQUIRE);
	if (memcmp(magic, NOTIFY_STATS_MAGIC, NOTIFY_STATS_MAGIC_LEN) ||
	    s->abi != NOTIFY_STATS_ABI || s->size != sizeof(*s))
		ret = -EPROTO;
	else
		stats_copy(out, s);
	munmap(map, sizeof(*s));
	return ret;
}

void notify_stats_total(const struct notify_stats *s, struct notify_stats_target *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < s->n_targets && i < NOTIFY_TARGETS_MAX; i++) {
		const struct notify_stats_target *t = &s->target[i];

		sum->posted += t->posted;
		sum->dropped += t->dropped;
		sum->queue_depth += t->queue_depth;
		sum->queue_cap += t->queue_cap;
		sum->sent += t->sent;
		sum->failed += t->failed;
		sum->rejected += t->rejected;
		sum->retried += t->retried;
	}
}

/* ---- Writer side: the running wgmon-notify, main thread -------------------------------------- */

int notify_stats_create(const char *name, struct notify_stats **out, int *fdp)
{
	struct notify_stats *s;
	int fd, ret;

	fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, STATS_MODE);
	if (fd < 0)
		return -errno;
	/* Held for the process's life: a second wgmon-notify on the same table is refused. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto close_fd;
	}
	if (ftruncate(fd, sizeof(*s)) < 0) {
		ret = -errno;
		goto close_fd;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		ret = -errno;
		goto close_fd;
	}
	/* Readers that see the zeroed magic refuse the object until notify_stats_publish(). */
	__atomic_store_n(&s->magic[0], 0, __ATOMIC_RELAXED);
	memset(s, 0, sizeof(*s));
	s->abi = NOTIFY_STATS_ABI;
	s->size = sizeof(*s);
	s->pid = (uint32_t)getpid();
	s->started_at = stats_now_ns();
	*out = s;
	*fdp = fd;
	return 0;
close_fd:
	close(fd);
	return ret;
}

void notify_stats_publish(struct notify_stats *s)
{
	for (int i = NOTIFY_STATS_MAGIC_LEN - 1; i >= 0; i--)
		/* Publishes the header and targets; pairs with notify_stats_read()'s acquires. */
		__atomic_store_n(&s->magic[i], NOTIFY_STATS_MAGIC[i], __ATOMIC_RELEASE);
}

void notify_stats_destroy(const char *name, struct notify_stats *s, int fd)
{
	if (s)
		munmap(s, sizeof(*s));
	if (fd >= 0) {
		if (shm_unlink(name) < 0)
			(void)0; /* already gone: nothing to clean */
		close(fd);
	}
}

/* ---- Printing -------------------------------------------------------------------------------- */

static double stats_age(uint64_t then)
{
	uint64_t now = stats_now_ns();

	return then && now > then ? (double)(now - then) / 1e9 : 0.0;
}

static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json_counts(const struct notify_stats_target *t)
{
	printf("\"posted\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"failed\":%" PRIu64
	       ",\"rejected\":%" PRIu64 ",\"retried\":%" PRIu64 ",\"dropped\":%" PRIu64
	       ",\"queue_depth\":%" PRIu64,
	       t->posted, t->sent, t->failed, t->rejected, t->retried, t->dropped, t->queue_depth);
}

static void print_json(const struct notify_stats *s)
{
	struct notify_stats_target sum;

	notify_stats_total(s, &sum);
	printf("{\"pid\":%u,\"heartbeat_age_seconds\":%.3f,\"generation\":%" PRIu64
	       ",\"events_read\":%" PRIu64 ",\"events_missed\":%" PRIu64 ",\"reconciles\":%" PRIu64
	       ",\"scans\":%" PRIu64 ",\"peers_known\":%" PRIu64 ",\"peers_untracked\":%" PRIu64
	       ",\"filtered\":%" PRIu64 ",\"detected\":{",
	       s->pid, stats_age(s->heartbeat), s->generation, s->events_read, s->events_missed,
	       s->reconciles, s->scans, s->peers_known, s->peers_untracked, s->filtered);
	for (unsigned i = 0; i < NOTIFY__COUNT; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", notify_type_name(i), s->detected[i]);
	printf("},");
	print_json_counts(&sum);
	printf(",\"targets\":[");
	for (uint32_t i = 0; i < s->n_targets && i < NOTIFY_TARGETS_MAX; i++) {
		const struct notify_stats_target *t = &s->target[i];

		printf("%s{\"url\":", i ? "," : "");
		print_json_str(t->url);
		printf(",\"format\":\"%s\",\"queue_cap\":%u,",
		       t->format == NOTIFY_FORMAT_MANAGER ? "manager" : "native", t->queue_cap);
		print_json_counts(t);
		printf(",\"last_status\":%" PRIu64 "}", t->last_status);
	}
	printf("]}\n");
}

static void print_target_row(const char *url, const char *fmt, const struct notify_stats_target *t)
{
	printf("  %-40.40s %-7s %6" PRIu64 "/%-6u %8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %6" PRIu64
	       " %7" PRIu64 " %7" PRIu64 "\n",
	       url, fmt, t->queue_depth, t->queue_cap, t->posted, t->sent, t->failed, t->rejected,
	       t->retried, t->dropped);
}

static void print_human(const struct notify_stats *s)
{
	struct notify_stats_target sum;

	notify_stats_total(s, &sum);
	printf("wgmon-notify pid %u, up %.0f s, heartbeat %.1f s ago, table generation %" PRIu64
	       "\n",
	       s->pid, stats_age(s->started_at), stats_age(s->heartbeat), s->generation);
	printf("events read %" PRIu64 ", missed %" PRIu64 "; peers followed %" PRIu64
	       " (untracked %" PRIu64 "); scans %" PRIu64 ", reconciles %" PRIu64 "\n",
	       s->events_read, s->events_missed, s->peers_known, s->peers_untracked, s->scans,
	       s->reconciles);
	printf("detected:");
	for (unsigned i = 0; i < NOTIFY__COUNT; i++)
		printf(" %s %" PRIu64, notify_type_name(i), s->detected[i]);
	printf("; filtered %" PRIu64 "\n\n", s->filtered);
	printf("  %-40s %-7s %13s %8s %8s %7s %6s %7s %7s\n", "receiver", "format", "queue",
	       "posted", "sent", "failed", "4xx", "retried", "dropped");
	for (uint32_t i = 0; i < s->n_targets && i < NOTIFY_TARGETS_MAX; i++)
		print_target_row(s->target[i].url,
		                 s->target[i].format == NOTIFY_FORMAT_MANAGER ? "manager"
		                                                              : "native",
		                 &s->target[i]);
	print_target_row("total", "", &sum);
}

void notify_stats_print(const struct notify_stats *s, bool json)
{
	if (json)
		print_json(s);
	else
		print_human(s);
}
