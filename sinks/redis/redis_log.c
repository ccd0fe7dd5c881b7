/* SPDX-License-Identifier: MIT */
/*
 * redis_log.c — wgmon-redis's log: "wgmon-redis: LEVEL: message" on stderr, one write(2) per
 * line. Call sites that can repeat (a Redis that stays down) go through a ratelimit that lets
 * one line out per REDIS_LOG_INTERVAL_NS and counts the rest. Secrets are never passed here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinks/redis/redis_internal.h"

#define LOG_LINE_MAX 1024

static int log_level = REDIS_LOG_INFO; /* set by main before anything logs; one thread */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void redis_log_set_level(int level)
{
	log_level = level;
}

int redis_log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (!strcmp(name, level_names[i]))
			return i;
	return -EINVAL;
}

static void log_emit(int level, uint64_t suppressed, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, k;

	n = snprintf(line, sizeof(line), "wgmon-redis: %s: ", level_names[level]);
	k = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n = k < 0 ? n : n + k;
	if (n > (int)sizeof(line) - 64)
		n = (int)sizeof(line) - 64;
	if (suppressed)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " (%llu similar suppressed)",
		              (unsigned long long)suppressed);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* nowhere left to complain */
}

void redis_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_emit(level, 0, fmt, ap);
	va_end(ap);
}

void redis_log_rl(struct redis_ratelimit *rl, int level, const char *fmt, ...)
{
	struct timespec ts;
	uint64_t now;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (rl->last_ns && now - rl->last_ns < REDIS_LOG_INTERVAL_NS) {
		rl->suppressed++;
		return;
	}
	va_start(ap, fmt);
	log_emit(level, rl->suppressed, fmt, ap);
	va_end(ap);
	rl->last_ns = now;
	rl->suppressed = 0;
}
