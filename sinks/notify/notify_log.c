/* SPDX-License-Identifier: MIT */
/*
 * notify_log.c — wgmon-notify's log: one line per notable thing on stderr, written with one
 * write(2) so the lines of the workers never mix. Rate-limited call sites print one line per
 * NOTIFY_LOG_INTERVAL_NS and say how many they held back. Secrets are never passed here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinks/notify/notify_internal.h"

#define LOG_LINE_MAX 1024

static int log_level = NOTIFY_LOG_INFO; /* set by main before threads start; read relaxed */

static const char *const log_names[] = {"error", "warn", "info", "debug"};

uint64_t notify_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t notify_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void notify_log_set_level(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED); /* a setting, nothing to order */
}

int notify_log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(log_names) / sizeof(log_names[0])); i++)
		if (!strcmp(name, log_names[i]))
			return i;
	return -EINVAL;
}

static bool log_enabled(int level)
{
	return level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

static void log_write(int level, uint64_t suppressed, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, k;

	n = snprintf(line, sizeof(line), "wgmon-notify: %s: ", log_names[level]);
	k = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n = k < 0 ? n : n + k;
	if (n > (int)sizeof(line) - 64)
		n = (int)sizeof(line) - 64;
	if (suppressed)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " (%llu similar suppressed)",
		              (unsigned long long)suppressed);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* stderr is gone: nowhere to say so */
}

void notify_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_write(level, 0, fmt, ap);
	va_end(ap);
}

void notify_log_rl(struct notify_ratelimit *rl, int level, const char *fmt, ...)
{
	uint64_t now = notify_mono_ns(), next, held;
	va_list ap;

	if (!log_enabled(level))
		return;
	next = __atomic_load_n(&rl->next_ns, __ATOMIC_RELAXED);
	/* One caller wins the slot; the rest only count. Statistics: relaxed is enough. */
	if (now < next ||
	    !__atomic_compare_exchange_n(&rl->next_ns, &next, now + NOTIFY_LOG_INTERVAL_NS, false,
	                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_RELAXED);
		return;
	}
	held = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	log_write(level, held, fmt, ap);
	va_end(ap);
}
