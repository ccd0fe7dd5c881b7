/* SPDX-License-Identifier: MIT */
/*
 * redis_internal.h — declarations the files of sinks/redis/ share and nobody else uses: the
 * writer side of the figures object, the rate-limited log, and (until shm/shm.h has it) the
 * temporary declaration of the peer-state function.
 */
#ifndef WGMON_SINKS_REDIS_INTERNAL_H
#define WGMON_SINKS_REDIS_INTERNAL_H

#include <stdint.h>

#include "shm/shm.h"
#include "sinks/redis/redis.h"

/* ---- The figures object, writer side (the sink's own thread) --------------------------------- */

struct redis_stats_shm {
	int fd;                  /* holds an exclusive flock: one wgmon-redis per table */
	struct redis_stats *map; /* NULL: not published */
};

/*
 * Create (or take over) "<table>-redis", mode 0644, and lock it. 0; -EBUSY when another live
 * process holds it (its pid in the message); other -errno. One thread.
 */
REDIS_WUR int redis_stats_open(struct redis_stats_shm *h, const char *table);

/* Copy `local` into the object under its seqlock. No-op when h->map is NULL. */
void redis_stats_publish(struct redis_stats_shm *h, const struct redis_stats *local);

/* Publish `local` with running = 0, unmap, unlock. The object stays for later readers. */
void redis_stats_close(struct redis_stats_shm *h, struct redis_stats *local);

/* ---- Log: "wgmon-redis: LEVEL: message" on stderr, one write(2) per line ---------------------- */

enum redis_log_level { REDIS_LOG_ERROR = 0, REDIS_LOG_WARN, REDIS_LOG_INFO, REDIS_LOG_DEBUG };

/* A call site that may repeat: at most one line per REDIS_LOG_INTERVAL_NS, the rest counted. */
struct redis_ratelimit {
	uint64_t last_ns;
	uint64_t suppressed;
};

void redis_log_set_level(int level);
int redis_log_level_parse(const char *name); /* "error".."debug", or -EINVAL */
void redis_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void redis_log_rl(struct redis_ratelimit *rl, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif /* WGMON_SINKS_REDIS_INTERNAL_H */
