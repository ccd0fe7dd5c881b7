/* SPDX-License-Identifier: MIT */
/*
 * bench_util — what every wgmon-bench subcommand shares: the clocks, CPUs and
 * pinning, statistics over runs, the common flags, the machine's description,
 * clean-up on interruption, and a set of generated lines held in memory.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/gen.h"

#define BENCH_CLEANUP_MAX 8

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int bench_pin_cpu(void)
{
	int cpu = sched_getcpu(), err;

	if (cpu < 0)
		return -errno;
	err = bench_pin_to(cpu);
	return err ? err : cpu;
}

int bench_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

double bench_load1(void)
{
	double l[1];

	return getloadavg(l, 1) == 1 ? l[0] : -1;
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

/* ---- the common flags ------------------------------------------------------------------- */

/* wgmond next to us in the build tree ($WGMON_BIN/tools/wgmond, or ../tools/ from our own
 * directory), else the one in $PATH. */
static const char *bench_wgmond_default(void)
{
	static char path[PATH_MAX];
	const char *bin = getenv("WGMON_BIN");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (bin && *bin) {
		snprintf(path, sizeof(path), "%s/tools/wgmond", bin);
		if (access(path, X_OK) == 0)
			return path;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%.*s/../tools/wgmond", PATH_MAX - 20, self);
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	return "wgmond";
}

void bench_ctx_init(struct bench_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->runs = BENCH_RUNS;
	c->cpu[0] = 0;
	c->cpu[1] = bench_cpus() > 1 ? 1 : 0;
	c->wgmond = bench_wgmond_default();
}

const char bench_ctx_usage[] =
        "  --runs R        runs of every figure (default 3): median, min and max are shown\n"
        "  --quick         smoke sizes (seconds per subcommand; the figures are rough)\n"
        "  --json          one JSON object on one line instead of the Markdown table\n"
        "  --cpus A,B      CPU of the sender/producer and of the receiver/worker (default 0,1)\n"
        "  --wgmond PATH   the wgmond binary (default: $WGMON_BIN/tools/wgmond, else next to\n"
        "                  wgmon-bench in the build tree, else $PATH)\n"
        "  --ingest B      wgmond's UDP backend: uring or recvmmsg (default: wgmond's)\n";

static int bench_ctx_cpus(struct bench_ctx *c, const char *v)
{
	char *end;
	long a, b;

	if (!v)
		return -EINVAL;
	a = strtol(v, &end, 10);
	if (end == v || *end != ',')
		return -EINVAL;
	v = end + 1;
	b = strtol(v, &end, 10);
	if (end == v || *end || a < 0 || b < 0 || a >= CPU_SETSIZE || b >= CPU_SETSIZE)
		return -EINVAL;
	c->cpu[0] = (int)a;
	c->cpu[1] = (int)b;
	return 0;
}

int bench_ctx_arg(struct bench_ctx *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	uint64_t n;

	if (!strcmp(a, "--quick"))
		return c->quick = true, 1;
	if (!strcmp(a, "--json"))
		return c->json = true, 1;
	if (!strcmp(a, "--runs")) {
		if (bench_parse_u64(v, &n) || !n || n > BENCH_RUNS_MAX)
			return -EINVAL;
		c->runs = (unsigned)n;
	} else if (!strcmp(a, "--cpus")) {
		if (bench_ctx_cpus(c, v))
			return -EINVAL;
	} else if (!strcmp(a, "--wgmond")) {
		if (!v || !*v)
			return -EINVAL;
		c->wgmond = v;
	} else if (!strcmp(a, "--ingest")) {
		if (!v || (strcmp(v, "uring") && strcmp(v, "recvmmsg")))
			return -EINVAL;
		c->ingest = v;
	} else {
		return 0;
	}
	(*i)++;
	return 1;
}

void bench_progress(const char *fmt, ...)
{
	va_list ap;

	fputs("wgmon-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "model name : X" of /proc/cpuinfo, or "". */
static void bench_cpu_model(char *buf, size_t cap)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512], *p;

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) || !(p = strchr(line, ':')))
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(buf, cap, "%s", p);
		break;
	}
	if (f)
		fclose(f);
}

void bench_machine(char *buf, size_t cap)
{
	struct utsname u;
	char model[160];

	bench_cpu_model(model, sizeof(model));
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	snprintf(buf, cap, "%s, %d CPUs, %s %s %s", model[0] ? model : "unknown CPU", bench_cpus(),
	         u.sysname, u.release, u.machine);
}

/* ---- clean-up on interruption ----------------------------------------------------------- */

/* Names of tables this process created; main thread writes, the signal handler reads. */
static char bench_cleanup_shm[BENCH_CLEANUP_MAX][64];

static void bench_cleanup_signal(int sig)
{
	for (int i = 0; i < BENCH_CLEANUP_MAX; i++)
		if (bench_cleanup_shm[i][0])
			shm_unlink(bench_cleanup_shm[i]);
	/* wgmond children get SIGTERM from the kernel (PR_SET_PDEATHSIG) as we die. */
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_cleanup_add_shm(const char *name)
{
	static bool installed;

	if (!installed) {
		signal(SIGINT, bench_cleanup_signal);
		signal(SIGTERM, bench_cleanup_signal);
		signal(SIGHUP, bench_cleanup_signal);
		installed = true;
	}
	for (int i = 0; i < BENCH_CLEANUP_MAX; i++) {
		if (!bench_cleanup_shm[i][0]) {
			snprintf(bench_cleanup_shm[i], sizeof(bench_cleanup_shm[i]), "%s", name);
			return;
		}
	}
}

void bench_cleanup_del_shm(const char *name)
{
	for (int i = 0; i < BENCH_CLEANUP_MAX; i++)
		if (!strcmp(bench_cleanup_shm[i], name))
			bench_cleanup_shm[i][0] = '\0';
}

/* ---- generated lines -------------------------------------------------------------------- */

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
