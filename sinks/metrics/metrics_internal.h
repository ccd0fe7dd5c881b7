/* SPDX-License-Identifier: MIT */
/*
 * metrics_internal.h — what the files of wgmon-metrics share and nobody else needs: the
 * peer-state API (from shm.h, or its temporary stand-in), clocks, and the rate-limited logger.
 */
#ifndef WGMON_METRICS_INTERNAL_H
#define WGMON_METRICS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/shm.h"
#include "sinks/metrics/metrics.h"

#define METRICS_LOG_EVERY_NS (10ull * 1000000000ull) /* one line per call site per 10 s */

enum metrics_log_level {
	METRICS_LOG_ERROR = 0,
	METRICS_LOG_WARN,
	METRICS_LOG_INFO,
	METRICS_LOG_DEBUG,
};

/* Lines above this level are not written; set once by main before the threads start. */
extern int metrics_log_level;

/* One call site's rate limit: at most one line per METRICS_LOG_EVERY_NS, the rest counted. */
struct metrics_ratelimit {
	uint64_t next_ns;    /* CLOCK_MONOTONIC */
	uint64_t suppressed; /* lines not written since the last one */
};

/* "wgmon-metrics: LEVEL: message\n" on stderr. Any thread (one write(2) per line). */
void metrics_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The same through a rate limit owned by one thread (a static per call site in a function
 * that only one thread runs); says how many lines it held back.
 */
void metrics_log_rl(struct metrics_ratelimit *rl, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

uint64_t metrics_now_real(void); /* CLOCK_REALTIME ns */
uint64_t metrics_now_mono(void); /* CLOCK_MONOTONIC ns */

#endif /* WGMON_METRICS_INTERNAL_H */
