/* SPDX-License-Identifier: MIT */
/*
 * log.c — wgmon-metrics' clocks and its stderr logger: one line per write(2), rate-limited per
 * call site so a scraper hammering a broken endpoint cannot flood the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "sinks/metrics/metrics_internal.h"

#define LOG_LINE_MAX 512

int metrics_log_level = METRICS_LOG_INFO;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

uint64_t metrics_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t metrics_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void log_write(int level, const char *suffix, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, m;

	n = snprintf(line, sizeof(line), "wgmon-metrics: %s: ", log_names[level]);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n = m < 0 ? n : n + m;
	if (n > (int)sizeof(line) - 48)
		n = (int)sizeof(line) - 48; /* truncated: keep room for the suffix */
	n += snprintf(line + n, sizeof(line) - (size_t)n, "%s\n", suffix);
	if (write(2, line, (size_t)n) < 0)
		return; /* nowhere left to say it */
}

void metrics_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > metrics_log_level)
		return;
	va_start(ap, fmt);
	log_write(level, "", fmt, ap);
	va_end(ap);
}

void metrics_log_rl(struct metrics_ratelimit *rl, int level, const char *fmt, ...)
{
	uint64_t now = metrics_now_mono();
	char suffix[48] = "";
	va_list ap;

	if (level > metrics_log_level)
		return;
	if (now < rl->next_ns) {
		rl->suppressed++;
		return;
	}
	if (rl->suppressed)
		snprintf(suffix, sizeof(suffix), " (%llu similar lines held back)",
		         (unsigned long long)rl->suppressed);
	rl->suppressed = 0;
	rl->next_ns = now + METRICS_LOG_EVERY_NS;
	va_start(ap, fmt);
	log_write(level, suffix, fmt, ap);
	va_end(ap);
}
