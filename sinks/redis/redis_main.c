/* SPDX-License-Identifier: MIT */
/*
 * redis_main.c — the wgmon-redis program: flags over the configuration file, then passes of
 * the sink engine (redis.c) every interval until SIGINT/SIGTERM, or `--stats` to print the
 * figures of the wgmon-redis that runs (or ran) for a table.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinks/redis/redis_internal.h"
#include "tools/config.h"

#define ENV_SHM      "WGMON_SHM"
#define ENV_PASSWORD "WGMON_REDIS_PASSWORD"

static volatile sig_atomic_t stop_signal; /* set by the handlers, read by the main loop */
static volatile sig_atomic_t reload_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_reload(int sig)
{
	reload_signal = sig;
}

static const char usage_text[] =
        "Usage: wgmon-redis [options]\n"
        "\n"
        "Mirrors the wgmon peer table into Redis: every pass (at once on start, then every\n"
        "interval) writes the peers whose slot changed, pipelined. Flags override the\n"
        "configuration file ([redis] section). SIGINT/SIGTERM finish the pass and exit;\n"
        "SIGHUP reloads the configuration file (and rewrites every peer).\n"
        "\n"
        "Options:\n"
        "  --shm NAME            table to read (default $WGMON_SHM, else [wgmond] shm, /wgmon)\n"
        "  --redis HOST:PORT     Redis server (default 127.0.0.1:6379; [::1]:6379 for IPv6)\n"
        "  --socket PATH         Redis unix socket instead of HOST:PORT\n"
        "  --db N                database number (default 0)\n"
        "  --user NAME           ACL username (AUTH NAME PASSWORD)\n"
        "  --password PASS       password; prefer the config file or $WGMON_REDIS_PASSWORD\n"
        "                        (a flag is visible to other users in the process list)\n"
        "  --prefix TEXT         key prefix of the native schema (default \"wgmon:\")\n"
        "  --compat, --no-compat also write (or not) the replaced tool's wireguard_peer:{peer}\n"
        "                        hashes (default: on with its config.toml, off otherwise)\n"
        "  --interval MS         pass period in milliseconds (default 1000)\n"
        "  --batch N             commands per pipelined batch (default 1000)\n"
        "  --stream-maxlen N     cap of the event stream, MAXLEN ~ (default 10000)\n"
        "  --removed-ttl S       seconds a removed peer's hash is kept (default 604800)\n"
        "  --config FILE         configuration file (default /etc/wgmon/wgmon.conf if present)\n"
        "  --once                one pass, then exit (0 if it wrote everything)\n"
        "  --stats               print the figures of the wgmon-redis of --shm and exit\n"
        "  --json                with --stats: one JSON object\n"
        "  --log-level LEVEL     error | warn | info (default) | debug\n"
        "  --help                this text\n"
        "  --version             print the version\n";

enum opt_id {
	OPT_SHM = 256,
	OPT_REDIS,
	OPT_SOCKET,
	OPT_DB,
	OPT_USER,
	OPT_PASSWORD,
	OPT_PREFIX,
	OPT_COMPAT,
	OPT_NO_COMPAT,
	OPT_INTERVAL,
	OPT_BATCH,
	OPT_MAXLEN,
	OPT_TTL,
	OPT_CONFIG,
	OPT_ONCE,
	OPT_STATS,
	OPT_JSON,
	OPT_LOG_LEVEL,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
        {"shm", required_argument, NULL, OPT_SHM},
        {"redis", required_argument, NULL, OPT_REDIS},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"db", required_argument, NULL, OPT_DB},
        {"user", required_argument, NULL, OPT_USER},
        {"password", required_argument, NULL, OPT_PASSWORD},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"compat", no_argument, NULL, OPT_COMPAT},
        {"no-compat", no_argument, NULL, OPT_NO_COMPAT},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"stream-maxlen", required_argument, NULL, OPT_MAXLEN},
        {"removed-ttl", required_argument, NULL, OPT_TTL},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"once", no_argument, NULL, OPT_ONCE},
        {"stats", no_argument, NULL, OPT_STATS},
        {"json", no_argument, NULL, OPT_JSON},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
};

/* A [redis] key set by a flag, applied after the file is loaded. */
struct flag_set {
	const char *key;
	char *value;
};

struct cli {
	const char *shm, *config;
	bool once, stats, json;
	struct flag_set set[sizeof(long_opts) / sizeof(long_opts[0])];
	unsigned nset;
};

static const char *flag_key(int id)
{
	switch (id) {
	case OPT_SOCKET: return "socket";
	case OPT_DB: return "db";
	case OPT_USER: return "username";
	case OPT_PASSWORD: return "password";
	case OPT_PREFIX: return "prefix";
	case OPT_INTERVAL: return "interval_ms";
	case OPT_BATCH: return "batch";
	case OPT_MAXLEN: return "stream_maxlen";
	case OPT_TTL: return "removed_ttl";
	default: return NULL;
	}
}

/* Keep a copy of the password and blank the original, so `ps` does not show it. */
static char *hide_arg(char *arg)
{
	char *copy = strdup(arg);

	if (copy)
		memset(arg, 'x', strlen(arg));
	return copy;
}

static void cli_add(struct cli *cli, const char *key, char *value)
{
	cli->set[cli->nset].key = key;
	cli->set[cli->nset++].value = value;
}

/* Parse the command line. Returns -1 to go on, else the exit code. */
static int cli_parse(struct cli *cli, int argc, char **argv)
{
	int id, level;

	while ((id = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (cli->nset + 2 > sizeof(cli->set) / sizeof(cli->set[0]))
			cli->nset = 0; /* a flag repeated many times: later ones win anyway */
		switch (id) {
		case OPT_SHM: cli->shm = optarg; break;
		case OPT_REDIS: cli_add(cli, "hostport", optarg); break;
		case OPT_COMPAT: cli_add(cli, "compat", "true"); break;
		case OPT_NO_COMPAT: cli_add(cli, "compat", "false"); break;
		case OPT_PASSWORD: cli_add(cli, "password", hide_arg(optarg)); break;
		case OPT_CONFIG: cli->config = optarg; break;
		case OPT_ONCE: cli->once = true; break;
		case OPT_STATS: cli->stats = true; break;
		case OPT_JSON: cli->json = true; break;
		case OPT_LOG_LEVEL:
			level = redis_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "wgmon-redis: --log-level: unknown level '%s'\n",
				        optarg);
				return 2;
			}
			redis_log_set_level(level);
			break;
		case OPT_HELP: fputs(usage_text, stdout); return 0;
		case OPT_VERSION: printf("wgmon-redis %s\n", WGMON_VERSION); return 0;
		default:
			if (!flag_key(id)) {
				fputs("Try 'wgmon-redis --help'.\n", stderr);
				return 2;
			}
			cli_add(cli, flag_key(id), optarg);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wgmon-redis: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* "HOST:PORT" into [redis] host and port. */
static int apply_hostport(struct wgmon_config *c, const char *v, char *err, size_t errlen)
{
	char host[CONFIG_HOST_LEN], port[8];
	uint16_t p;

	if (config_parse_hostport(v, host, sizeof(host), &p) < 0) {
		snprintf(err, errlen, "--redis: expected HOST:PORT, got '%s'", v);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", p);
	if (config_set(c, "redis", "host", host, err, errlen) < 0 ||
	    config_set(c, "redis", "port", port, err, errlen) < 0)
		return -EINVAL;
	c->redis.socket[0] = '\0'; /* --redis means TCP even if the file names a socket */
	return 0;
}

/* The configuration: file first, then the flags. 0 or the exit code. */
static int load_config(struct wgmon_config *c, const struct cli *cli)
{
	char err[CONFIG_ERR_MAX];
	const char *pw = getenv(ENV_PASSWORD);

	config_init(c);
	if (config_load_default(c, cli->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgmon-redis: %s\n", err);
		return 1;
	}
	if (pw && config_set(c, "redis", "password", pw, err, sizeof(err)) < 0)
		goto bad;
	for (unsigned i = 0; i < cli->nset; i++) {
		const struct flag_set *f = &cli->set[i];
		int ret = !strcmp(f->key, "hostport")
		                  ? apply_hostport(c, f->value, err, sizeof(err))
		                  : config_set(c, "redis", f->key, f->value ? f->value : "", err,
		                               sizeof(err));

		if (ret < 0)
			goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "wgmon-redis: %s\n", err);
	return 2;
}

static const char *table_name(const struct cli *cli, const struct wgmon_config *c)
{
	const char *env = getenv(ENV_SHM);

	if (cli->shm)
		return cli->shm;
	return env && env[0] ? env : c->wgmond.shm;
}

static void print_stats(const char *table, const struct redis_stats *st)
{
	struct timespec now;
	bool alive = st->running && (kill((pid_t)st->pid, 0) == 0 || errno == EPERM);

	clock_gettime(CLOCK_REALTIME, &now);
	printf("wgmon-redis for %s: %s (pid %" PRIu32 "), %s\n", table,
	       alive ? "running" : "not running", st->pid,
	       st->connected ? "connected" : "not connected");
	printf("  passes %" PRIu64 " (failed %" PRIu64 "), last pass %.3f s wrote %" PRIu64
	       " peers\n",
	       st->passes, st->passes_failed, (double)st->last_pass_ns / 1e9, st->last_pass_peers);
	printf("  writes %" PRIu64 ", peer updates %" PRIu64 ", stream entries %" PRIu64
	       " (events missed %" PRIu64 ")\n",
	       st->writes, st->peers_written, st->events_written, st->events_missed);
	printf("  errors %" PRIu64 ", reconnects %" PRIu64 ", resyncs %" PRIu64
	       ", flushes noticed %" PRIu64 "\n",
	       st->errors, st->reconnects, st->resyncs, st->flushes);
	printf("  peers tracked %" PRIu64 ", pending %" PRIu64 ", backoff %" PRIu64 " ms\n",
	       st->peers_tracked, st->peers_pending, st->backoff_ms);
	if (st->last_error_at)
		printf("  last error %.0f s ago: %s\n",
		       (double)now.tv_sec - (double)(st->last_error_at / 1000000000u),
		       st->last_error);
}

static int run_stats(const char *table, bool json)
{
	struct redis_stats st;
	char buf[2048];
	int ret = redis_stats_read(table, &st);

	if (ret) {
		fprintf(stderr, "wgmon-redis: no figures for %s: %s\n", table,
		        ret == -ENOENT ? "no wgmon-redis has run for this table" : strerror(-ret));
		return 1;
	}
	if (json && redis_stats_json(&st, buf, sizeof(buf)))
		printf("%s\n", buf);
	else
		print_stats(table, &st);
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: the sleep wakes up */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_reload;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a dead Redis is an EPIPE, not a death */
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
	                      .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL); /* the interval between passes; a signal cuts it short */
}

/* A sink for cfg, with a line saying what it does. NULL after a message. */
static struct redis_sink *start(const struct wgmon_config *cfg, const char *table,
                                const struct redis_stats *figures)
{
	struct redis_sink_opts o = {.shm = table, .publish_stats = true, .figures = figures};
	char where[CONFIG_HOSTPORT_LEN + CONFIG_SOCKET_LEN];
	struct redis_sink *s;
	int ret = redis_sink_new(&s, cfg, &o);

	if (ret) {
		redis_log(REDIS_LOG_ERROR, "%s",
		          ret == -EBUSY ? "another wgmon-redis is running for this table"
		                        : strerror(-ret));
		return NULL;
	}
	if (cfg->redis.socket[0])
		snprintf(where, sizeof(where), "unix:%s", cfg->redis.socket);
	else
		snprintf(where, sizeof(where), strchr(cfg->redis.host, ':') ? "[%s]:%u" : "%s:%u",
		         cfg->redis.host, cfg->redis.port);
	redis_log(REDIS_LOG_INFO, "table %s, redis %s, db %u, compat %s, every %u ms", table, where,
	          cfg->redis.db, cfg->redis.compat ? "on" : "off", cfg->redis.interval_ms);
	return s;
}

/* SIGHUP: the file and the flags again; a new sink (a full rewrite) if that worked. */
static struct redis_sink *reload(struct redis_sink *s, struct wgmon_config *cfg,
                                 const struct cli *cli, const char *table)
{
	static struct wgmon_config fresh;
	struct redis_stats figures = *redis_sink_stats(s);
	struct redis_sink *n;

	reload_signal = 0;
	if (load_config(&fresh, cli)) {
		redis_log(REDIS_LOG_ERROR,
		          "SIGHUP: configuration not reloaded, keeping the old one");
		return s;
	}
	redis_sink_free(s); /* releases the figures object for its successor */
	n = start(&fresh, table, &figures);
	if (!n) {
		redis_log(REDIS_LOG_ERROR, "SIGHUP: back to the old configuration");
		return start(cfg, table, &figures);
	}
	*cfg = fresh;
	redis_log(REDIS_LOG_INFO, "SIGHUP: configuration reloaded");
	return n;
}

static int run(struct wgmon_config *cfg, const struct cli *cli, const char *table)
{
	struct redis_sink *s = start(cfg, table, NULL);
	bool failed;
	int ret = 0;

	install_signals();
	while (s) {
		ret = redis_sink_pass(s);
		if (cli->once) {
			if (ret)
				redis_log(REDIS_LOG_ERROR, "the pass failed: %s",
				          redis_sink_stats(s)->last_error[0]
				                  ? redis_sink_stats(s)->last_error
				                  : strerror(-ret));
			break;
		}
		if (!stop_signal && !reload_signal)
			sleep_ms(redis_sink_delay_ms(s));
		if (stop_signal)
			break;
		if (reload_signal)
			s = reload(s, cfg, cli, table);
	}
	if (stop_signal)
		redis_log(REDIS_LOG_INFO, "signal %d: exiting", (int)stop_signal);
	failed = !s || (cli->once && ret);
	redis_sink_free(s);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct wgmon_config cfg; /* large: not on the stack */
	struct cli cli = {0};
	int ret = cli_parse(&cli, argc, argv);

	if (ret >= 0)
		return ret;
	ret = load_config(&cfg, &cli);
	if (!ret)
		ret = cli.stats ? run_stats(table_name(&cli, &cfg), cli.json)
		                : run(&cfg, &cli, table_name(&cli, &cfg));
	for (unsigned i = 0; i < cli.nset; i++)
		if (!strcmp(cli.set[i].key, "password"))
			free(cli.set[i].value); /* the strdup of hide_arg(), kept for SIGHUP */
	return ret;
}
