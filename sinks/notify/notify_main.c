/* SPDX-License-Identifier: MIT */
/*
 * notify_main.c — wgmon-notify: options and configuration, the receivers, and the main loop
 * that follows the table (notify_follow.c) and routes each note (notify_route.c) to the
 * receivers' queues (notify_deliver.c). `--stats` prints the figures of the running one.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sinks/notify/notify_internal.h"

#define FLAGS_MAX 256 /* configuration flags on one command line */

/* A flag that sets a configuration key, applied over the file in command-line order. */
struct cfg_flag {
	const char *section, *key, *value;
};

struct main_opts {
	const char *shm, *config, *log_level;
	bool stats, json;
	uint32_t interval_ms;
	struct cfg_flag flag[FLAGS_MAX];
	unsigned n_flag;
};

static int stop_requested; /* set by the signal handler; atomic loads and stores only */

static struct wgmon_config cfg; /* large: static */
static struct notify_route route;

enum {
	OPT_URL = 256,
	OPT_MANAGER_URL,
	OPT_SECRET,
	OPT_EVENTS,
	OPT_TENANTS,
	OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT,
	OPT_QUEUE,
	OPT_RETRIES,
	OPT_BACKOFF_MAX,
	OPT_STALE_AFTER,
	OPT_INTERVAL,
	OPT_SHM,
	OPT_CONFIG,
	OPT_STATS,
	OPT_JSON,
	OPT_LOG_LEVEL,
	OPT_HELP,
	OPT_VERSION,
};

/* Flags that are configuration keys: option id -> (section, key). */
static const struct {
	int id;
	const char *section, *key;
} cfg_keys[] = {
        {OPT_URL, "notify", "url"},
        {OPT_MANAGER_URL, "manager", "url"},
        {OPT_SECRET, "notify", "secret"},
        {OPT_EVENTS, "notify", "events"},
        {OPT_TENANTS, "notify", "tenants"},
        {OPT_CONNECT_TIMEOUT, "notify", "connect_timeout_ms"},
        {OPT_TIMEOUT, "notify", "timeout_ms"},
        {OPT_QUEUE, "notify", "queue"},
        {OPT_RETRIES, "notify", "retries"},
        {OPT_BACKOFF_MAX, "notify", "backoff_max_ms"},
        {OPT_STALE_AFTER, "health", "stale_after"},
};

static const struct option long_opts[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"manager-url", required_argument, NULL, OPT_MANAGER_URL},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"tenants", required_argument, NULL, OPT_TENANTS},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
        {"stale-after", required_argument, NULL, OPT_STALE_AFTER},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"shm", required_argument, NULL, OPT_SHM},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"stats", no_argument, NULL, OPT_STATS},
        {"json", no_argument, NULL, OPT_JSON},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fputs("Usage: wgmon-notify [options]\n"
	      "\n"
	      "Follows the wgmon table and POSTs JSON to webhooks when a peer's endpoint or state\n"
	      "changes, a peer is created or removed, or an interface goes up or down. Each\n"
	      "receiver has its own queue and thread: a slow one never delays another.\n"
	      "Flags override the configuration file ([notify], [manager], [health]).\n"
	      "\n"
	      "Options:\n"
	      "  --url URL                webhook for native notifications, repeatable\n"
	      "  --manager-url URL        the replaced tool's webhook: {\"peer\": \"ip:port\"} on\n"
	      "                           endpoint changes ([manager] url)\n"
	      "  --secret S               sign bodies with HMAC-SHA256 under S, sent as\n"
	      "                           X-Wgmon-Signature: sha256=HEX\n"
	      "                           (also $WGMON_NOTIFY_SECRET; never logged)\n"
	      "  --events LIST            types to send to --url receivers (default all):\n"
	      "                           endpoint_changed,state_changed,peer_created,\n"
	      "                           peer_removed,interface_down,interface_up\n"
	      "  --tenants LIST           only peers and interfaces of these tenants\n"
	      "  --connect-timeout MS     connect timeout (default 2000)\n"
	      "  --timeout MS             timeout of one attempt (default 5000)\n"
	      "  --queue N                pending notifications per receiver; beyond, the oldest\n"
	      "                           is dropped and counted (default 1024)\n"
	      "  --retries N              retries on network errors and 5xx; 4xx is never\n"
	      "                           retried (default 5)\n"
	      "  --backoff-max MS         cap of the exponential retry delay (default 60000)\n"
	      "  --stale-after S          seconds without a handshake before a peer is stale\n"
	      "                           (default 180; per tenant in the file)\n"
	      "  --interval MS            period of the state scan of the table (default 1000)\n"
	      "  --shm NAME               table to follow (default $WGMON_SHM, else [wgmond] shm,\n"
	      "                           else /wgmon)\n"
	      "  --config FILE            configuration file (default /etc/wgmon/wgmon.conf if\n"
	      "                           present)\n"
	      "  --stats                  print the figures of the wgmon-notify following the\n"
	      "                           table, and exit (--json: one JSON object)\n"
	      "  --json                   with --stats\n"
	      "  --log-level LEVEL        error | warn | info (default) | debug\n"
	      "  --help                   this text\n"
	      "  --version                print the version\n",
	      out);
}

static void on_signal(int sig)
{
	/* Seen by the main loop's relaxed load: a request, nothing else to publish. */
	__atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);
}

static bool stopping(void)
{
	return __atomic_load_n(&stop_requested, __ATOMIC_RELAXED) != 0;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL); /* the follower's idle period: the ring has no wake-up */
}

static int parse_uint_ms(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 10 || v > 3600000)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Returns -1 to go on, or the exit code. */
static int parse_args(int argc, char **argv, struct main_opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
			if (cfg_keys[i].id != c)
				continue;
			if (o->n_flag == FLAGS_MAX) {
				fprintf(stderr, "wgmon-notify: too many options\n");
				return 2;
			}
			o->flag[o->n_flag++] =
			        (struct cfg_flag){cfg_keys[i].section, cfg_keys[i].key, optarg};
		}
		switch (c) {
		case OPT_INTERVAL:
			if (parse_uint_ms(optarg, &o->interval_ms) < 0) {
				fprintf(stderr,
				        "wgmon-notify: --interval: expected 10-3600000 ms\n");
				return 2;
			}
			break;
		case OPT_SHM: o->shm = optarg; break;
		case OPT_CONFIG: o->config = optarg; break;
		case OPT_STATS: o->stats = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_LOG_LEVEL: o->log_level = optarg; break;
		case OPT_HELP: usage(stdout); return 0;
		case OPT_VERSION: printf("wgmon-notify %s\n", WGMON_VERSION); return 0;
		case '?': usage(stderr); return 2;
		default: break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wgmon-notify: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* The configuration: the file, then the flags over it. 0, or the exit code. */
static int load_config(const struct main_opts *o)
{
	char err[CONFIG_ERR_MAX];
	const char *env;

	config_init(&cfg);
	if (config_load_default(&cfg, o->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgmon-notify: %s\n", err);
		return 1;
	}
	for (unsigned i = 0; i < o->n_flag; i++) {
		if (config_set(&cfg, o->flag[i].section, o->flag[i].key, o->flag[i].value, err,
		               sizeof(err)) < 0) {
			fprintf(stderr, "wgmon-notify: %s\n", err);
			return 2;
		}
		if (!strcmp(o->flag[i].key, "secret")) /* out of /proc/PID/cmdline */
			explicit_bzero((char *)o->flag[i].value, strlen(o->flag[i].value));
	}
	env = getenv("WGMON_NOTIFY_SECRET");
	if (!cfg.notify.secret[0] && env && *env &&
	    config_set(&cfg, "notify", "secret", env, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgmon-notify: WGMON_NOTIFY_SECRET: %s\n", err);
		return 2;
	}
	return 0;
}

static const char *table_name(const struct main_opts *o)
{
	const char *env = getenv("WGMON_SHM");

	if (o->shm)
		return o->shm;
	return env && *env ? env : cfg.wgmond.shm;
}

static int print_stats(const struct main_opts *o)
{
	static struct notify_stats st;
	const char *shm = table_name(o);
	int ret = notify_stats_read(shm, &st);

	if (ret == -ENOENT) {
		fprintf(stderr, "wgmon-notify: no wgmon-notify is following %s\n", shm);
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "wgmon-notify: stats of %s: %s\n", shm, strerror(-ret));
		return 1;
	}
	notify_stats_print(&st, o->json);
	return 0;
}

/* One target per receiver: the [notify] urls, then the [manager] url. */
static int start_targets(struct notify_stats *st)
{
	const struct config_notify *nc = &cfg.notify;
	struct notify_target_opts to = {
	        .queue = nc->queue,
	        .retries = nc->retries,
	        .connect_timeout_ms = nc->connect_timeout_ms,
	        .timeout_ms = nc->timeout_ms,
	        .backoff_max_ms = nc->backoff_max_ms,
	        .secret = nc->secret,
	};
	int ret;

	for (uint32_t i = 0; i <= nc->n_url && route.n < NOTIFY_TARGETS_MAX; i++) {
		to.url = i < nc->n_url ? nc->url[i] : cfg.manager.url;
		to.format = i < nc->n_url ? NOTIFY_FORMAT_NATIVE : NOTIFY_FORMAT_MANAGER;
		if (!*to.url)
			continue;
		to.stats = &st->target[route.n];
		ret = notify_target_start(&route.target[route.n], &to);
		if (ret < 0) {
			notify_log(NOTIFY_LOG_ERROR, "%s: cannot start: %s", to.stats->url,
			           strerror(-ret));
			return ret;
		}
		route.format[route.n++] = to.format;
		notify_log(NOTIFY_LOG_INFO, "receiver %s (%s)%s", to.stats->url,
		           to.format == NOTIFY_FORMAT_MANAGER ? "manager payload" : "native",
		           to.secret[0] ? ", signed" : "");
	}
	st->n_targets = route.n;
	return 0;
}

static void stop_targets(void)
{
	struct notify_stats_target sum;

	for (uint32_t i = 0; i < route.n; i++)
		notify_target_stop(route.target[i], NOTIFY_STOP_GRACE_MS);
	for (uint32_t i = 0; i < route.n; i++)
		notify_target_free(route.target[i]);
	route.n = 0;
	if (!route.stats)
		return;
	notify_stats_total(route.stats, &sum);
	notify_log(NOTIFY_LOG_INFO,
	           "stopped: %llu sent, %llu failed (%llu refused), %llu retries, %llu dropped",
	           (unsigned long long)sum.sent, (unsigned long long)sum.failed,
	           (unsigned long long)sum.rejected, (unsigned long long)sum.retried,
	           (unsigned long long)sum.dropped);
}

static void on_note(void *ctx, const struct notify_note *n)
{
	notify_route_note(&route, n);
}

/* Attach to the table, waiting for it while it does not exist. NULL: asked to stop. */
static struct shm_reader *attach_table(const char *shm)
{
	struct notify_ratelimit rl = {0};
	struct shm_reader *r = NULL;
	int ret;

	while (!stopping()) {
		ret = shm_reader_attach(&r, shm);
		if (ret == 0)
			return r;
		notify_log_rl(&rl, NOTIFY_LOG_WARN, "%s; waiting for it", shm_reader_error());
		for (uint32_t t = 0; t < NOTIFY_ATTACH_RETRY_MS && !stopping(); t += NOTIFY_POLL_MS)
			sleep_ms(NOTIFY_POLL_MS);
	}
	return NULL;
}

static void follow_loop(struct shm_reader *r, const struct main_opts *o, struct notify_stats *st)
{
	struct notify_follow_opts fo = {
	        .cfg = &cfg,
	        .emit = on_note,
	        .scan_ns = (uint64_t)o->interval_ms * 1000000ull,
	        .stats = st,
	};
	struct notify_follow *f;
	int ret;

	ret = notify_follow_open(&f, r, &fo);
	if (ret < 0) {
		notify_log(NOTIFY_LOG_ERROR, "cannot follow %s: %s", table_name(o), strerror(-ret));
		return;
	}
	notify_log(NOTIFY_LOG_INFO,
	           "ready: following %s (generation %llu, %llu peers known), %u receivers",
	           table_name(o), (unsigned long long)st->generation,
	           (unsigned long long)st->peers_known, route.n);
	while (!stopping())
		if (notify_follow_pass(f) <= 0)
			sleep_ms(NOTIFY_POLL_MS);
	notify_log(NOTIFY_LOG_INFO, "stopping: flushing the receivers' queues (at most %d ms)",
	           NOTIFY_STOP_GRACE_MS);
	notify_follow_flush(f); /* what waited for its reorder window still goes out */
	notify_follow_close(f);
}

static int run(const struct main_opts *o)
{
	char stats_name[NOTIFY_STATS_NAME_MAX], err[CONFIG_ERR_MAX];
	struct notify_stats *st = NULL;
	struct shm_reader *r;
	int fd = -1, ret;

	if (notify_route_init(&route, &cfg, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgmon-notify: %s\n", err);
		return 2;
	}
	if (!cfg.notify.n_url && !cfg.manager.url[0]) {
		fprintf(stderr, "wgmon-notify: no receiver: give --url (or [notify] url, "
		                "[manager] url)\n");
		return 2;
	}
	if (notify_stats_name(table_name(o), stats_name, sizeof(stats_name)) < 0) {
		fprintf(stderr, "wgmon-notify: --shm: name too long\n");
		return 2;
	}
	ret = notify_stats_create(stats_name, &st, &fd);
	if (ret < 0) {
		fprintf(stderr, "wgmon-notify: stats object %s: %s\n", stats_name,
		        ret == -EBUSY ? "another wgmon-notify follows this table" : strerror(-ret));
		return 1;
	}
	route.stats = st;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		notify_stats_destroy(stats_name, st, fd);
		fprintf(stderr, "wgmon-notify: libcurl initialisation failed\n");
		return 1;
	}
	ret = start_targets(st);
	notify_stats_publish(st);
	if (ret == 0 && (r = attach_table(table_name(o)))) {
		follow_loop(r, o, st);
		shm_reader_detach(r);
	}
	stop_targets();
	curl_global_cleanup();
	notify_stats_destroy(stats_name, st, fd);
	explicit_bzero(cfg.notify.secret, sizeof(cfg.notify.secret));
	return ret < 0 ? 1 : 0;
}

static void signals_setup(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
	static struct main_opts o = {.interval_ms = NOTIFY_SCAN_MS_DEFAULT};
	int ret, level;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (o.log_level) {
		level = notify_log_level_parse(o.log_level);
		if (level < 0) {
			fprintf(stderr, "wgmon-notify: --log-level: error, warn, info or debug\n");
			return 2;
		}
		notify_log_set_level(level);
	}
	ret = load_config(&o);
	if (ret)
		return ret;
	if (o.stats)
		return print_stats(&o);
	signals_setup();
	return run(&o);
}
