/* SPDX-License-Identifier: MIT */
/*
 * stats.c — wgmon-metrics' own figures as a small shared-memory object (struct metrics_stats),
 * so `wgmon-metrics --stats`, `wgmon stats` or anyone can read them without scraping.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks/metrics/metrics_internal.h"

#define STATS_MODE 0644 /* figures, no secrets: anyone may read them */

int metrics_stats_name(const char *shm, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s%s", shm ? shm : SHM_NAME_DEFAULT, METRICS_STATS_SUFFIX);

	return n < 0 || (size_t)n >= cap || (size_t)n > NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Whether the stats object `name` belongs to another live wgmon-metrics. */
static bool stats_taken(const char *name)
{
	struct metrics_stats old;
	pid_t pid;

	if (metrics_stats_read(name, &old) < 0)
		return false;
	pid = (pid_t)old.pid;
	return pid != getpid() && pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int metrics_stats_create(const char *name, struct metrics_stats **out)
{
	uint64_t magic;
	struct metrics_stats *st;
	int fd, ret = 0;

	if (stats_taken(name))
		return -EBUSY;
	fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, STATS_MODE);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*st)) < 0) {
		ret = -errno;
		goto out_close;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (st == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	/* A dead process's figures are not ours: hide them, clear them, identity last. */
	__atomic_store_n((uint64_t *)st->magic, 0, __ATOMIC_RELAXED);
	memset((char *)st + sizeof(st->magic), 0, sizeof(*st) - sizeof(st->magic));
	st->version = METRICS_STATS_VERSION;
	st->size = sizeof(*st);
	st->pid = (uint64_t)getpid();
	st->started_at = metrics_now_real();
	memcpy(&magic, METRICS_STATS_MAGIC, sizeof(magic));
	/* Publishes the fields above; pairs with the acquire load in metrics_stats_read(). */
	__atomic_store_n((uint64_t *)st->magic, magic, __ATOMIC_RELEASE);
	*out = st;
out_close:
	close(fd);
	return ret;
}

void metrics_stats_close(struct metrics_stats *st, const char *name, bool unlink_it)
{
	if (st)
		munmap(st, sizeof(*st));
	if (unlink_it && name)
		shm_unlink(name);
}

int metrics_stats_read(const char *name, struct metrics_stats *out)
{
	const struct metrics_stats *st;
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)out, magic;
	struct stat sb;
	int fd, ret = 0;

	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || (size_t)sb.st_size < sizeof(*st)) {
		close(fd);
		return -EPROTO;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED)
		return -errno;
	/* Pairs with the release store of the magic at creation. */
	magic = __atomic_load_n((const uint64_t *)st->magic, __ATOMIC_ACQUIRE);
	if (memcmp(&magic, METRICS_STATS_MAGIC, sizeof(magic)) ||
	    st->version != METRICS_STATS_VERSION || st->size != sizeof(*st)) {
		ret = -EPROTO;
		goto out_unmap;
	}
	/* Relaxed loads pair with metrics_stat_set(): figures, not ordering. */
	src = (const uint64_t *)st;
	for (size_t i = 0; i < sizeof(*out) / sizeof(*dst); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
out_unmap:
	munmap((void *)st, sizeof(*st));
	return ret;
}
