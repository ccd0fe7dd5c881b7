/* SPDX-License-Identifier: MIT */
/*
 * test_redis_live.c — the wgmon-redis program against real servers: the corpus replayed into
 * wgmond then written once (ACL user, password, database, tenants; native and compat schema)
 * equals `wgmon show --json`; a redis-server killed mid-run and restarted empty, then flushed,
 * converges back to the table; a wrong password is a clear, retried, password-free error.
 */
#include <criterion/criterion.h>

#include "test_redis_util.c"

#define PASSWORD     "s3cret-Pa55"
#define BAD_PASSWORD "not-the-Pa55word-42"

static struct tr_server srv;
static struct tw_proc wgmond;
static struct tr_sink sink;
static redisContext *rc;
static char conf_path[128];
static struct wgmon_config cfg;
static struct tw_lines lines;

static void setup(void)
{
	memset(&srv, 0, sizeof(srv));
	memset(&sink, 0, sizeof(sink));
	sink.pid = -1;
	memset(&lines, 0, sizeof(lines));
	tw_init(&wgmond, "redis");
	wgmond.before_exec = tr_die_with_parent;
	conf_path[0] = '\0';
	config_init(&cfg);
}

static void teardown(void)
{
	char figures[REDIS_STATS_NAME_MAX];

	tr_sink_cleanup(&sink);
	if (redis_stats_name(wgmond.shm, figures, sizeof(figures)) == 0)
		shm_unlink(figures); /* the sink's figures outlive it on purpose */
	tw_cleanup(&wgmond);
	if (rc)
		redisFree(rc);
	rc = NULL;
	tr_server_cleanup(&srv);
	if (conf_path[0])
		unlink(conf_path);
	free(lines.buf);
}

/* A wgmon config file with tenants (the sink and the comparison both load it). */
static void write_config(const char *text)
{
	char err[CONFIG_ERR_MAX];
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "/tmp/wgmon-test-redis-%d.conf", (int)getpid());
	f = fopen(conf_path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	cr_assert(config_load_file(&cfg, conf_path, err, sizeof(err)) == 0, "%s", err);
}

/* The corpus, applied by a wgmond that exits at its end; the table stays. */
static void replay_corpus(void)
{
	char corpus[512], source[600];

	tw_shared("corpus/lines.txt", corpus, sizeof(corpus));
	snprintf(source, sizeof(source), "file:%s", corpus);
	tw_arg(&wgmond, "--source");
	tw_arg(&wgmond, source);
	tw_arg(&wgmond, "--exit-on-eof");
	cr_assert(tw_spawn(&wgmond) == 0);
	cr_assert_eq(tw_stop(&wgmond, 0), 0, "wgmond: %s", tw_log(&wgmond));
}

static void run_once(const char *const *args)
{
	int code;

	cr_assert(tr_sink_spawn(&sink, "once", args));
	code = tr_sink_wait(&sink, 30);
	cr_assert_eq(code, 0, "wgmon-redis --once exited %d: %s", code, tr_sink_log(&sink));
}

static void assert_converges(unsigned db, bool compat, double seconds)
{
	struct tr_compare c = {
	        .cfg = &cfg, .shm = wgmond.shm, .prefix = "wgmon:", .compat = compat};
	redisContext *db_rc = tr_client(&srv, "wgmon", PASSWORD, db);

	cr_assert(db_rc);
	cr_assert(tr_converges(&c, db_rc, seconds), "Redis db %u differs: %s\nlog:\n%s", db, c.why,
	          tr_sink_log(&sink));
	redisFree(db_rc);
}

/* Stream entries = the notable events of the ring (the reader library counts them). */
static long long notable_events(const char *shm)
{
	struct shm_reader *r;
	struct shm_event_cursor cur;
	struct shm_event e;
	long long n = 0;

	cr_assert(shm_reader_attach(&r, shm) == 0);
	shm_reader_events_begin(r, &cur, shm_reader_header(r)->event_capacity);
	while (shm_reader_events_next(r, &cur, &e, NULL) == 1)
		n += e.kind == PARSE_EV_PEER_CREATED || e.kind == PARSE_EV_PEER_DESTROYED ||
		     e.kind == PARSE_EV_INTERFACE_CREATED ||
		     e.kind == PARSE_EV_INTERFACE_DESTROYED ||
		     e.kind == PARSE_EV_HANDSHAKE_GAVE_UP || e.kind == PARSE_EV_KEYS_ZEROED;
	shm_reader_detach(r);
	return n;
}

static const char acl_conf[] = "user default off\n"
                               "user wgmon on >" PASSWORD " ~* &* +@all\n";

TestSuite(redis_live, .init = setup, .fini = teardown, .timeout = 150);

Test(redis_live, corpus_native_and_compat_equal_the_table)
{
	const char *compat_args[] = {"--shm",    wgmond.shm, "--redis",  NULL,         "--db",
	                             "3",        "--user",   "wgmon",    "--password", PASSWORD,
	                             "--compat", "--once",   "--config", conf_path,    NULL};
	const char *native_args[] = {"--shm",  wgmond.shm, "--redis", NULL,         "--db",
	                             "4",      "--user",   "wgmon",   "--password", PASSWORD,
	                             "--once", "--config", conf_path, NULL};
	char hostport[32];
	redisContext *db3;

	write_config("[tenant core]\ninterfaces = wg-*\n[tenant nat]\nhosts = nat*\n"
	             "stale_after = 3600\n");
	snprintf(srv.extra, sizeof(srv.extra), "%s", acl_conf);
	cr_assert(tr_server_start(&srv));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", srv.port);
	compat_args[3] = native_args[3] = hostport;
	replay_corpus();

	run_once(compat_args);
	assert_converges(3, true, 0);
	db3 = tr_client(&srv, "wgmon", PASSWORD, 3);
	cr_assert(db3);
	cr_assert_eq(tr_integer(db3, "XLEN wgmon:events"), notable_events(wgmond.shm));
	cr_assert_gt(tr_count_keys(db3, "wireguard_peer:*"), 0);
	redisFree(db3);

	tr_sink_cleanup(&sink);
	run_once(native_args);
	assert_converges(4, false, 0);
}

/* Poll the sink's figures until pred holds (bounded). */
static bool wait_stats(bool (*pred)(const struct redis_stats *), double seconds,
                       struct redis_stats *st)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);

	for (;;) {
		if (redis_stats_read(wgmond.shm, st) == 0 && pred(st))
			return true;
		if (tw_now_ns() > end)
			return false;
		tw_pause();
	}
}

static bool lost_redis(const struct redis_stats *st)
{
	return !st->connected && st->errors > 0;
}

static bool reconnected(const struct redis_stats *st)
{
	return st->connected && st->reconnects >= 1 && st->passes_failed > 0;
}

static uint64_t resyncs_before;

static bool resynced(const struct redis_stats *st)
{
	return st->resyncs > resyncs_before && st->connected;
}

Test(redis_live, redis_restart_flushall_and_reload_converge)
{
	char hostport[32], port[16], corpus[512];
	const char *args[] = {"--shm", wgmond.shm,   "--redis", hostport,   "--user",
	                      "wgmon", "--password", PASSWORD,  "--compat", "--interval",
	                      "50",    "--config",   conf_path, NULL};
	struct redis_stats st;
	redisReply *r;

	write_config("[health]\nstale_after = 3600\n");
	snprintf(srv.extra, sizeof(srv.extra), "%s", acl_conf);
	cr_assert(tr_server_start(&srv));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", srv.port);
	snprintf(port, sizeof(port), "127.0.0.1:%d", wgmond.port);
	tw_arg(&wgmond, "--listen");
	tw_arg(&wgmond, port);
	cr_assert(tw_spawn(&wgmond) == 0);
	cr_assert(tw_wait_ready(&wgmond), "wgmond: %s", tw_log(&wgmond));
	cr_assert(tw_lines_load(&lines, tw_shared("corpus/lines.txt", corpus, sizeof(corpus))));
	cr_assert(tr_sink_spawn(&sink, "live", args));

	/* First half, written while the server is up. */
	cr_assert(tw_send(wgmond.port, &lines, 0, lines.n / 2));
	cr_assert(tw_wait_lines(wgmond.shm, lines.n / 2, ~0u, 10, NULL));
	assert_converges(0, true, 15);

	/* The server dies; the second half arrives meanwhile; it comes back empty. */
	tr_server_kill(&srv);
	cr_assert(tw_send(wgmond.port, &lines, lines.n / 2, lines.n));
	cr_assert(tw_wait_lines(wgmond.shm, lines.n, ~0u, 10, NULL));
	cr_assert(wait_stats(lost_redis, 10, &st), "the sink did not notice");
	cr_assert(tr_server_start(&srv));
	cr_assert(wait_stats(reconnected, 20, &st), "no reconnect: %s", st.last_error);
	assert_converges(0, true, 20);

	/* FLUSHALL without a reconnect: the sentinel's absence triggers the rewrite. */
	rc = tr_client(&srv, "wgmon", PASSWORD, 0);
	r = redisCommand(rc, "FLUSHALL");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_converges(0, true, 15);
	cr_assert(redis_stats_read(wgmond.shm, &st) == 0);
	cr_assert_geq(st.flushes, 1);
	cr_assert_eq(st.reconnects, 1);

	/* SIGHUP: the configuration again, a new connection, a full rewrite; counters go on. */
	resyncs_before = st.resyncs;
	kill(sink.pid, SIGHUP);
	cr_assert(wait_stats(resynced, 10, &st), "no reload: %s", tr_sink_log(&sink));
	cr_assert_eq(st.reconnects, 1);
	cr_assert(strstr(tr_sink_log(&sink), "SIGHUP: configuration reloaded"));
	assert_converges(0, true, 15);

	kill(sink.pid, SIGTERM);
	cr_assert_eq(tr_sink_wait(&sink, 10), 0, "SIGTERM must exit 0: %s", tr_sink_log(&sink));
	cr_assert(redis_stats_read(wgmond.shm, &st) == 0);
	cr_assert_eq(st.running, 0);
	cr_assert_eq(tw_stop(&wgmond, SIGTERM), 0);
}

static bool retried(const struct redis_stats *st)
{
	return st->errors >= 4 && st->backoff_ms >= 4 * REDIS_BACKOFF_MIN_MS;
}

Test(redis_live, wrong_password_is_a_clear_retried_error)
{
	char hostport[32], cmdline[4096], path[64];
	const char *args[] = {"--shm",      wgmond.shm,   "--redis",    hostport, "--user", "wgmon",
	                      "--password", BAD_PASSWORD, "--interval", "50",     NULL};
	struct redis_stats st;
	const char *log;
	ssize_t n;
	int fd;

	snprintf(srv.extra, sizeof(srv.extra), "%s", acl_conf);
	cr_assert(tr_server_start(&srv));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", srv.port);
	replay_corpus();
	cr_assert(tr_sink_spawn(&sink, "badpw", args));
	cr_assert(wait_stats(retried, 15, &st), "no retries with backoff: %" PRIu64 " errors",
	          st.errors);
	cr_assert(strstr(st.last_error, "authentication as 'wgmon' failed"), "%s", st.last_error);
	cr_assert(!strstr(st.last_error, BAD_PASSWORD));
	cr_assert_eq(waitpid(sink.pid, NULL, WNOHANG), 0, "it must keep running");

	/* Nor in the process list. */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)sink.pid);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	cr_assert(n > 0);
	cr_assert(!memmem(cmdline, (size_t)n, BAD_PASSWORD, strlen(BAD_PASSWORD)));

	kill(sink.pid, SIGTERM);
	cr_assert_eq(tr_sink_wait(&sink, 10), 0);
	log = tr_sink_log(&sink);
	cr_assert(strstr(log, "authentication as 'wgmon' failed: WRONGPASS"), "%s", log);
	cr_assert(strstr(log, "retrying in"), "%s", log);
	cr_assert(!strstr(log, BAD_PASSWORD), "the password leaked into the log:\n%s", log);
}

Test(redis_live, usage_and_stats_without_a_sink)
{
	const char *help[] = {"--help", NULL};
	const char *stats[] = {"--shm", "/wgmon-test-redis-none", "--stats", NULL};
	const char *bad[] = {"--interval", "0", "--once", NULL};

	cr_assert(tr_sink_spawn(&sink, "help", help));
	cr_assert_eq(tr_sink_wait(&sink, 10), 0);
	tr_sink_cleanup(&sink);
	cr_assert(tr_sink_spawn(&sink, "stats", stats));
	cr_assert_eq(tr_sink_wait(&sink, 10), 1);
	cr_assert(strstr(tr_sink_log(&sink), "no wgmon-redis has run"), "%s", tr_sink_log(&sink));
	tr_sink_cleanup(&sink);
	cr_assert(tr_sink_spawn(&sink, "bad", bad));
	cr_assert_eq(tr_sink_wait(&sink, 10), 2, "%s", tr_sink_log(&sink));
}
