/* SPDX-License-Identifier: MIT */
/*
 * log.c — wgmond's log: one line per notable thing on stderr, each written with
 * one write(2) so lines of different threads never mix. Rate-limited call sites
 * print at most one line per INGEST_LOG_INTERVAL_NS and count the rest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define LOG_LINE_MAX 1024

static int log_level = INGEST_LOG_INFO; /* relaxed atomic: any thread reads, main sets */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ingest_log_set_level(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED); /* a plain setting, no ordering */
}

int ingest_log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (!strcmp(name, level_names[i]))
			return i;
	return -EINVAL;
}

static bool log_enabled(int level)
{
	return level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

static void log_emit(int level, uint64_t suppressed, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, k;

	n = snprintf(line, sizeof(line), "wgmond: %s: ", level_names[level]);
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

void ingest_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_emit(level, 0, fmt, ap);
	va_end(ap);
}

void ingest_log_ratelimited(struct ingest_ratelimit *rl, int level, const char *fmt, ...)
{
	uint64_t now = ingest_mono_ns();
	uint64_t next = __atomic_load_n(&rl->next_ns, __ATOMIC_RELAXED);
	va_list ap;

	if (!log_enabled(level))
		return;
	/* One thread wins the slot; the counters are plain statistics, relaxed is enough. */
	if (now < next ||
	    !__atomic_compare_exchange_n(&rl->next_ns, &next, now + INGEST_LOG_INTERVAL_NS, false,
	                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&rl->suppressed, 1, __ATOMIC_RELAXED);
		return;
	}
	va_start(ap, fmt);
	log_emit(level, __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED), fmt, ap);
	va_end(ap);
}
