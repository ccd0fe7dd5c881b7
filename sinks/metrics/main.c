/* SPDX-License-Identifier: MIT */
/*
 * wgmon-metrics — serves the peer table as Prometheus metrics. The main thread parses flags
 * and the configuration, starts the render thread (a timer: render, compress, publish) and
 * libmicrohttpd's thread, then only waits for SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "sinks/metrics/metrics_internal.h"
#include "tools/config.h"

#define FLAGS_MAX      64
#define GZIP_LEVEL_MAX 9

enum opt_id {
	OPT_KEY = 0, /* a config key: section/key in the table */
	OPT_SHM,
	OPT_LISTEN,
	OPT_CONFIG,
	OPT_GZIP,
	OPT_HEALTHZ,
	OPT_STATS,
	OPT_ONCE,
	OPT_LOG_LEVEL,
	OPT_HELP,
	OPT_VERSION,
};

struct main_opt {
	const char *name, *arg; /* arg NULL: a switch */
	enum opt_id id;
	const char *section, *key, *value; /* OPT_KEY; value: what a switch sets */
	const char *help;
};

static const struct main_opt main_opts[] = {
        {"shm", "NAME", OPT_SHM, NULL, NULL, NULL,
         "table to read (default $WGMON_SHM, [wgmond] shm, /wgmon)"},
        {"listen", "HOST:PORT", OPT_LISTEN, NULL, NULL, NULL,
         "HTTP address (default 127.0.0.1:9998; [::1]:PORT: IPv6)"},
        {"interval", "MS", OPT_KEY, "metrics", "interval_ms", NULL,
         "render every MS milliseconds (default 1000)"},
        {"compat", NULL, OPT_KEY, "metrics", "compat", "true",
         "also the replaced tool's wg_peer_monitoring_* series"},
        {"peer-events", NULL, OPT_KEY, "metrics", "peer_events", "true",
         "per-peer per-event counters (opt-in, within the budget)"},
        {"max-peer-series", "N", OPT_KEY, "metrics", "max_peer_series", NULL,
         "series budget of each opt-in family (default 100000)"},
        {"stale-after", "SECONDS", OPT_KEY, "health", "stale_after", NULL,
         "no handshake for this long: stale (default 180)"},
        {"gzip-level", "N", OPT_GZIP, NULL, NULL, NULL,
         "zlib level 1-9 for gzip clients, 0: never (default 1)"},
        {"healthz-stale", "SECONDS", OPT_HEALTHZ, NULL, NULL, NULL,
         "/healthz: heartbeat older = stale (default 10)"},
        {"config", "FILE", OPT_CONFIG, NULL, NULL, NULL,
         "configuration (default /etc/wgmon/wgmon.conf if present)"},
        {"stats", NULL, OPT_STATS, NULL, NULL, NULL,
         "print the figures of the wgmon-metrics of --shm, exit"},
        {"once", NULL, OPT_ONCE, NULL, NULL, NULL, "write one exposition to stdout and exit"},
        {"log-level", "LEVEL", OPT_LOG_LEVEL, NULL, NULL, NULL,
         "error | warn | info (default) | debug"},
        {"help", NULL, OPT_HELP, NULL, NULL, NULL, "this text"},
        {"version", NULL, OPT_VERSION, NULL, NULL, NULL, "print the version"},
};
#define MAIN_NOPTS (sizeof(main_opts) / sizeof(main_opts[0]))

struct main_args {
	const char *config, *shm, *listen;
	int gzip_level;
	uint32_t healthz_stale;
	bool stats, once;
	const struct main_opt *flag[FLAGS_MAX]; /* config keys, applied after the file */
	const char *flag_value[FLAGS_MAX];
	unsigned n_flags;
};

/* Everything the render thread works with. */
struct render_loop {
	struct wgmon_config *cfg;
	const char *shm;
	uint64_t interval_ns;
	int gzip_level;
	uint32_t healthz_stale;
	struct metrics_renderer *rd;
	struct shm_reader *reader; /* the render thread's */
	struct metrics_pool *pool;
	struct metrics_stats *stats;
	struct metrics_http *http;  /* to resume gzip waiters */
	struct metrics_sinks sinks; /* the other sinks' figures, read each pass */
	uint64_t seq;
	pthread_mutex_t lock; /* guards stop and gzip_pending; with cond: the timer wait */
	pthread_cond_t cond;
	bool stop;
	bool gzip_pending; /* a gzip client waits for the current snapshot's compression */
	struct metrics_ratelimit rl_attach, rl_render;
};

static struct wgmon_config main_cfg; /* large: static */

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: wgmon-metrics [options]\n\n"
	        "Serves wgmond's peer table as Prometheus metrics on /metrics (rendered on a\n"
	        "timer, gzip when asked) and the writer's liveness on /healthz. Flags override\n"
	        "the configuration file ([metrics], [health], tenants). SIGINT/SIGTERM: finish\n"
	        "the current pass and exit.\n\nOptions:\n");
	for (size_t i = 0; i < MAIN_NOPTS; i++) {
		const struct main_opt *o = &main_opts[i];
		char left[48];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
		fprintf(out, "  %-26s %s\n", left, o->help);
	}
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end || *out < lo || *out > hi ? -EINVAL : 0;
}

static int log_level_of(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* One option; returns 0, 1 (exit 0 now) or -1 (usage error). */
static int args_one(const struct main_opt *o, const char *arg, struct main_args *a)
{
	long v;

	switch (o->id) {
	case OPT_KEY:
		if (a->n_flags == FLAGS_MAX)
			return -1;
		a->flag[a->n_flags] = o;
		a->flag_value[a->n_flags++] = o->value ? o->value : arg;
		return 0;
	case OPT_SHM: a->shm = arg; return 0;
	case OPT_LISTEN: a->listen = arg; return 0;
	case OPT_CONFIG: a->config = arg; return 0;
	case OPT_STATS: a->stats = true; return 0;
	case OPT_ONCE: a->once = true; return 0;
	case OPT_GZIP:
		if (parse_int(arg, 0, GZIP_LEVEL_MAX, &v) < 0)
			return -1;
		a->gzip_level = (int)v;
		return 0;
	case OPT_HEALTHZ:
		if (parse_int(arg, 1, 86400, &v) < 0)
			return -1;
		a->healthz_stale = (uint32_t)v;
		return 0;
	case OPT_LOG_LEVEL:
		metrics_log_level = log_level_of(arg);
		return metrics_log_level < 0 ? -1 : 0;
	case OPT_HELP: usage(stdout); return 1;
	case OPT_VERSION: printf("wgmon-metrics %s\n", WGMON_VERSION); return 1;
	}
	return -1;
}

static int args_parse(int argc, char **argv, struct main_args *a)
{
	struct option lo[MAIN_NOPTS + 1];
	int c, ret;

	memset(lo, 0, sizeof(lo));
	for (size_t i = 0; i < MAIN_NOPTS; i++) {
		lo[i].name = main_opts[i].name;
		lo[i].has_arg = main_opts[i].arg ? required_argument : no_argument;
		lo[i].val = 256 + (int)i;
	}
	a->gzip_level = METRICS_GZIP_LEVEL_DEFAULT;
	a->healthz_stale = METRICS_HEARTBEAT_STALE_S;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c < 256)
			return -1;
		ret = args_one(&main_opts[c - 256], optarg, a);
		if (ret)
			return ret;
	}
	return optind < argc ? -1 : 0;
}

/* --listen: a config key, except that port 0 ("any", for tests) is ours to allow. */
static int listen_set(struct wgmon_config *cfg, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	char tmp[CONFIG_HOSTPORT_LEN];

	if (n < 3 || n >= sizeof(tmp) || strcmp(v + n - 2, ":0"))
		return config_set(cfg, "metrics", "listen", v, err, errlen);
	memcpy(tmp, v, n + 1);
	tmp[n - 1] = '1';
	if (config_set(cfg, "metrics", "listen", tmp, err, errlen) < 0)
		return -EINVAL;
	cfg->metrics.listen.port = 0;
	return 0;
}

static int config_setup(struct wgmon_config *cfg, const struct main_args *a)
{
	char err[CONFIG_ERR_MAX];

	config_init(cfg);
	if (config_load_default(cfg, a->config, err, sizeof(err)) < 0)
		goto fail;
	for (unsigned i = 0; i < a->n_flags; i++)
		if (config_set(cfg, a->flag[i]->section, a->flag[i]->key, a->flag_value[i], err,
		               sizeof(err)) < 0)
			goto fail;
	if (a->listen && listen_set(cfg, a->listen, err, sizeof(err)) < 0)
		goto fail;
	return 0;
fail:
	metrics_log(METRICS_LOG_ERROR, "%s", err);
	return -EINVAL;
}

static const char *shm_name_of(const struct main_args *a, const struct wgmon_config *cfg)
{
	const char *env = getenv("WGMON_SHM");

	if (a->shm)
		return a->shm;
	if (env && *env)
		return env;
	return cfg->wgmond.shm[0] ? cfg->wgmond.shm : SHM_NAME_DEFAULT;
}

static struct metrics_opts opts_of(const struct wgmon_config *cfg)
{
	return (struct metrics_opts){
	        .cfg = cfg,
	        .compat = cfg->metrics.compat,
	        .peer_events = cfg->metrics.peer_events,
	        .max_peer_series = cfg->metrics.max_peer_series,
	};
}

/* ---- --stats and --once ------------------------------------------------------------------- */

/* What --stats prints: a field of struct metrics_stats, durations (ns) shown in ms. */
struct stats_field {
	const char *name;
	size_t off;
	bool ns;
};

/* clang-format off */
#define STAT(f)    {#f, offsetof(struct metrics_stats, f), false}
#define STAT_MS(f) {#f, offsetof(struct metrics_stats, f), true}
static const struct stats_field stats_fields[] = {
	STAT(pid), STAT(http_port), STAT(renders), STAT(render_skipped), STAT(render_errors),
	STAT_MS(last_render_ns), STAT_MS(last_gzip_ns), STAT(last_bytes), STAT(last_gzip_bytes),
	STAT(last_peers), STAT(last_samples), STAT(series_dropped), STAT(attached),
	STAT(requests_metrics), STAT(requests_gzip), STAT(requests_healthz), STAT(requests_other),
};
#undef STAT
#undef STAT_MS
/* clang-format on */

static int main_stats(const char *shm)
{
	char name[NAME_MAX + 1];
	struct metrics_stats st;
	int ret = metrics_stats_name(shm, name, sizeof(name));

	if (!ret)
		ret = metrics_stats_read(name, &st);
	if (ret < 0) {
		fprintf(stderr, "wgmon-metrics: no figures at %s: %s (is wgmon-metrics running?)\n",
		        name, strerror(-ret));
		return 1;
	}
	for (size_t i = 0; i < sizeof(stats_fields) / sizeof(stats_fields[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)&st + stats_fields[i].off, sizeof(v));
		if (stats_fields[i].ns) /* "last_render_ns" shown as "last_render_ms" */
			printf("%-.*sms%*s %.3f\n", (int)strlen(stats_fields[i].name) - 2,
			       stats_fields[i].name, 18 - (int)strlen(stats_fields[i].name), "",
			       (double)v / 1e6);
		else
			printf("%-18s %llu\n", stats_fields[i].name, (unsigned long long)v);
	}
	return 0;
}

static int main_once(const struct wgmon_config *cfg, const char *shm)
{
	static struct metrics_sinks sinks;
	struct metrics_self self = {.sinks = &sinks};
	struct metrics_opts o = opts_of(cfg);
	struct metrics_renderer *rd = NULL;
	struct metrics_body body = {0};
	struct metrics_figures fig;
	struct shm_reader *r;
	int ret = 1;

	if (shm_reader_attach(&r, shm) < 0) {
		metrics_log(METRICS_LOG_ERROR, "%s", shm_reader_error());
		return 1;
	}
	metrics_sinks_read(shm, &sinks);
	if (metrics_renderer_new(&rd, &o) < 0 ||
	    metrics_render(rd, r, metrics_now_real(), &self, &body, &fig) < 0)
		goto out;
	for (int i = 0; i < METRICS_SEC__COUNT; i++)
		if (body.sec[i].len &&
		    fwrite(body.sec[i].p, 1, body.sec[i].len, stdout) != body.sec[i].len)
			goto out;
	ret = fflush(stdout) ? 1 : 0;
out:
	if (ret)
		metrics_log(METRICS_LOG_ERROR, "cannot render or write the exposition");
	metrics_body_free(&body);
	metrics_renderer_free(rd);
	shm_reader_detach(r);
	return ret;
}

/* ---- The render thread ---------------------------------------------------------------------- */

/* Map the table if we have none; follow a --reset. Returns the reader or NULL. */
static const struct shm_reader *loop_table(struct render_loop *L)
{
	int ret;

	if (!L->reader) {
		ret = shm_reader_attach(&L->reader, L->shm);
		if (ret < 0) {
			L->reader = NULL;
			metrics_log_rl(&L->rl_attach, METRICS_LOG_WARN, "%s", shm_reader_error());
		} else {
			metrics_log(METRICS_LOG_INFO, "attached to table %s", L->shm);
			metrics_renderer_reset(L->rd);
		}
		return L->reader;
	}
	ret = shm_reader_refresh(L->reader);
	if (ret == 1) {
		metrics_log(METRICS_LOG_INFO, "table %s was recreated: re-mapped", L->shm);
		metrics_renderer_reset(L->rd);
	} else if (ret < 0) {
		metrics_log_rl(&L->rl_attach, METRICS_LOG_WARN, "%s (keeping the old mapping)",
		               shm_reader_error());
	}
	return L->reader;
}

static void loop_self(struct render_loop *L, struct metrics_self *m)
{
	const struct metrics_stats *st = L->stats;

	/* Relaxed loads: figures other threads (or we) stored with metrics_stat_set(). */
#define LOAD(f) __atomic_load_n(&st->f, __ATOMIC_RELAXED)
	*m = (struct metrics_self){
	        .renders = LOAD(renders),
	        .render_skipped = LOAD(render_skipped),
	        .render_errors = LOAD(render_errors),
	        .last_render_ns = LOAD(last_render_ns),
	        .last_gzip_ns = LOAD(last_gzip_ns),
	        .last_bytes = LOAD(last_bytes),
	        .last_gzip_bytes = LOAD(last_gzip_bytes),
	        .requests_metrics = LOAD(requests_metrics),
	        .requests_gzip = LOAD(requests_gzip),
	        .requests_healthz = LOAD(requests_healthz),
	        .requests_other = LOAD(requests_other),
	        .sinks = &L->sinks,
	};
#undef LOAD
	metrics_sinks_read(L->shm, &L->sinks);
}

static void loop_account(struct render_loop *L, const struct metrics_snapshot *s, uint64_t render)
{
	struct metrics_stats *st = L->stats;

	metrics_stat_add(&st->renders, 1);
	metrics_stat_set(&st->last_render_at, s->rendered_at);
	metrics_stat_set(&st->last_render_ns, render);
	metrics_stat_set(&st->last_bytes, s->fig.bytes);
	metrics_stat_set(&st->last_peers, s->fig.peers);
	metrics_stat_set(&st->last_samples, s->fig.samples);
	metrics_stat_add(&st->series_dropped, s->fig.series_dropped);
	metrics_stat_set(&st->attached, L->reader != NULL);
}

/* One pass: render into a free snapshot and publish it. */
static void loop_pass(struct render_loop *L)
{
	const struct shm_reader *r = loop_table(L);
	struct metrics_snapshot *s = metrics_pool_back(L->pool);
	struct metrics_self self;
	uint64_t t0, t1;
	int ret;

	if (!s) {
		metrics_stat_add(&L->stats->render_skipped, 1);
		metrics_log_rl(&L->rl_render, METRICS_LOG_WARN,
		               "slow clients hold every buffer: render skipped");
		return;
	}
	loop_self(L, &self);
	t0 = metrics_now_mono();
	ret = metrics_render(L->rd, r, metrics_now_real(), &self, &s->body, &s->fig);
	t1 = metrics_now_mono();
	if (ret < 0) {
		metrics_stat_add(&L->stats->render_errors, 1);
		metrics_log_rl(&L->rl_render, METRICS_LOG_ERROR, "render failed: %s",
		               strerror(-ret));
		return;
	}
	if (!r)
		metrics_stat_add(&L->stats->render_errors, 1);
	/* s is ours (not current, unreferenced): nobody loads it until the publish below. */
	__atomic_store_n(&s->gz_ready, 0, __ATOMIC_RELAXED);
	s->seq = ++L->seq;
	s->rendered_at = metrics_now_real();
	metrics_pool_publish(L->pool, s);
	loop_account(L, s, t1 - t0);
}

/* Compress the current snapshot for the gzip clients waiting, then let them go. */
static void loop_compress(struct render_loop *L)
{
	struct metrics_snapshot *s = metrics_pool_get(L->pool);
	uint64_t t0 = metrics_now_mono();
	int ret;

	if (s && !metrics_snapshot_has_gzip(s)) {
		ret = metrics_snapshot_gzip(s, L->gzip_level);
		if (ret < 0) {
			metrics_log_rl(&L->rl_render, METRICS_LOG_ERROR, "gzip failed: %s",
			               strerror(-ret));
		} else {
			metrics_stat_set(&L->stats->last_gzip_ns, metrics_now_mono() - t0);
			metrics_stat_set(&L->stats->last_gzip_bytes, s->gz.len);
		}
	}
	if (s)
		metrics_pool_put(s);
	metrics_http_resume(L->http); /* compressed or not: nobody waits longer */
}

/* The http thread: a gzip client is waiting. */
static void loop_want_gzip(void *cls)
{
	struct render_loop *L = cls;

	pthread_mutex_lock(&L->lock);
	L->gzip_pending = true;
	pthread_cond_signal(&L->cond);
	pthread_mutex_unlock(&L->lock);
}

static void *loop_main(void *arg)
{
	struct render_loop *L = arg;
	uint64_t next = metrics_now_mono(), now;
	struct timespec ts;
	bool gzip;

	pthread_mutex_lock(&L->lock);
	while (!L->stop) {
		gzip = L->gzip_pending;
		L->gzip_pending = false;
		pthread_mutex_unlock(&L->lock);
		now = metrics_now_mono();
		if (now >= next) {
			loop_pass(L);
			next += L->interval_ns;
			now = metrics_now_mono();
			if (next <= now) /* a pass longer than the interval: no catch-up burst */
				next = now + L->interval_ns;
		}
		if (gzip)
			loop_compress(L);
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		pthread_mutex_lock(&L->lock);
		while (!L->stop && !L->gzip_pending &&
		       pthread_cond_timedwait(&L->cond, &L->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&L->lock);
	return NULL;
}

static int loop_init(struct render_loop *L)
{
	pthread_condattr_t ca;
	int ret;

	pthread_mutex_init(&L->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&L->cond, &ca);
	pthread_condattr_destroy(&ca);
	return -ret;
}

static void loop_stop(struct render_loop *L, pthread_t t)
{
	pthread_mutex_lock(&L->lock);
	L->stop = true;
	pthread_cond_signal(&L->cond);
	pthread_mutex_unlock(&L->lock);
	pthread_join(t, NULL); /* the current pass finishes first */
}

/* ---- Serving ---------------------------------------------------------------------------------- */

static int signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread starts: every thread inherits the mask, the signalfd gets them. */
	if (pthread_sigmask(SIG_BLOCK, set, NULL))
		return -EINVAL;
	return signalfd(-1, set, SFD_CLOEXEC);
}

static void wait_for_signal(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) < 0 && errno == EINTR)
		;
	metrics_log(METRICS_LOG_INFO, "signal %u: finishing the current pass", si.ssi_signo);
}

/* Start the threads, wait for a signal, stop them. The stats object is already mapped. */
static int main_serve_with(struct render_loop *L, int sfd)
{
	const struct config_hostport *lp = &L->cfg->metrics.listen;
	struct metrics_http_opts ho = {
	        .host = lp->host,
	        .port = lp->port,
	        .pool = L->pool,
	        .stats = L->stats,
	        .shm = L->shm,
	        .stale_s = L->healthz_stale,
	        .gzip_level = L->gzip_level,
	        .want_gzip = loop_want_gzip,
	        .cls = L,
	};
	struct metrics_http *http = NULL;
	pthread_t thread;
	int ret;

	ret = metrics_http_start(&http, &ho);
	if (ret < 0)
		return ret;
	metrics_stat_set(&L->stats->http_port, metrics_http_port(http));
	L->http = http;
	ret = -pthread_create(&thread, NULL, loop_main, L);
	if (ret < 0) {
		metrics_http_stop(http);
		return ret;
	}
	metrics_log(METRICS_LOG_INFO, "ready: http://%s%s%s:%u/metrics, table %s, every %u ms",
	            strchr(lp->host, ':') ? "[" : "", lp->host, strchr(lp->host, ':') ? "]" : "",
	            metrics_http_port(http), L->shm, L->cfg->metrics.interval_ms);
	wait_for_signal(sfd);
	loop_stop(L, thread);
	metrics_http_stop(http);
	return 0;
}

static int main_serve(struct wgmon_config *cfg, const char *shm, const struct main_args *a)
{
	static struct metrics_pool pool;
	struct metrics_opts o = opts_of(cfg);
	struct render_loop L = {.cfg = cfg,
	                        .shm = shm,
	                        .pool = &pool,
	                        .gzip_level = a->gzip_level,
	                        .healthz_stale = a->healthz_stale};
	char stats_name[NAME_MAX + 1];
	sigset_t set;
	int sfd, ret;

	L.interval_ns = (uint64_t)(cfg->metrics.interval_ms < METRICS_INTERVAL_MIN_MS
	                                   ? METRICS_INTERVAL_MIN_MS
	                                   : cfg->metrics.interval_ms) *
	                1000000ull;
	sfd = signals_block(&set);
	if (sfd < 0)
		return 1;
	metrics_pool_init(&pool);
	ret = metrics_stats_name(shm, stats_name, sizeof(stats_name));
	if (ret < 0 || (ret = metrics_stats_create(stats_name, &L.stats)) < 0) {
		metrics_log(METRICS_LOG_ERROR, "%s: %s", stats_name,
		            ret == -EBUSY ? "another wgmon-metrics serves this table"
		                          : strerror(-ret));
		goto out_sfd;
	}
	ret = metrics_renderer_new(&L.rd, &o);
	if (ret < 0 || (ret = loop_init(&L)) < 0)
		goto out_stats;
	ret = main_serve_with(&L, sfd);
	pthread_cond_destroy(&L.cond);
	pthread_mutex_destroy(&L.lock);
out_stats:
	metrics_renderer_free(L.rd);
	shm_reader_detach(L.reader);
	metrics_pool_destroy(&pool);
	metrics_stats_close(L.stats, stats_name, true);
out_sfd:
	close(sfd);
	if (ret < 0)
		metrics_log(METRICS_LOG_ERROR, "cannot serve: %s", strerror(-ret));
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct main_args a;
	const char *shm;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = args_parse(argc, argv, &a);
	if (ret) {
		if (ret < 0)
			usage(stderr);
		return ret < 0 ? 2 : 0;
	}
	if (config_setup(&main_cfg, &a) < 0)
		return 2;
	shm = shm_name_of(&a, &main_cfg);
	if (a.stats)
		return main_stats(shm);
	if (a.once)
		return main_once(&main_cfg, shm);
	return main_serve(&main_cfg, shm, &a);
}
