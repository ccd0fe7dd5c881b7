/* SPDX-License-Identifier: MIT */
/*
 * bench_util — what every wgmon-bench subcommand shares: the clock, pinning to
 * one CPU, statistics over runs, and a set of generated lines held in memory.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "bench/gen.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return cpu;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_stat_of(double *v, size_t n, struct bench_stat *s)
{
	if (!n) {
		s->median = s->min = s->max = 0;
		return;
	}
	qsort(v, n, sizeof(*v), bench_cmp_double);
	s->min = v[0];
	s->max = v[n - 1];
	s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* Grows the line buffer geometrically; 0 or -ENOMEM. */
static int bench_lines_reserve(struct bench_lines *l, size_t *cap, size_t need)
{
	char *p;

	if (need <= *cap)
		return 0;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 1u << 20;
	p = realloc(l->buf, *cap);
	if (!p)
		return -ENOMEM;
	l->buf = p;
	return 0;
}

int bench_lines_make(struct bench_lines *l, const struct gen_opts *o)
{
	size_t cap = 0, n;
	struct gen *g;
	int err;

	memset(l, 0, sizeof(*l));
	err = gen_new(o, &g);
	if (err)
		return err;
	l->off = malloc((o->lines + 1) * sizeof(*l->off));
	err = l->off ? 0 : -ENOMEM;
	while (!err && l->n < o->lines) {
		err = bench_lines_reserve(l, &cap, l->bytes + GEN_LINE_MAX + 1);
		if (err)
			break;
		l->off[l->n++] = l->bytes;
		n = gen_line(g, l->buf + l->bytes, GEN_LINE_MAX);
		l->buf[l->bytes + n] = '\n';
		l->bytes += n + 1;
		l->good += gen_truth(g)->reject == PARSE_OK;
	}
	gen_free(g);
	if (err) {
		bench_lines_free(l);
		return err;
	}
	l->off[l->n] = l->bytes;
	return 0;
}

void bench_lines_free(struct bench_lines *l)
{
	free(l->buf);
	free(l->off);
	memset(l, 0, sizeof(*l));
}
