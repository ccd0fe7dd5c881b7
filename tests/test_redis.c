/* SPDX-License-Identifier: MIT */
/*
 * test_redis.c — wgmon-redis through its engine API: text formats, the figures object, and
 * passes against a real redis-server (unix socket, started per test) over a table the test
 * writes with the shm writer API: incremental writes stay equal to the table (out-of-order
 * events, endpoint changes, removal and return), one write per changed peer, state changes by
 * time, FLUSHALL, the event stream and its resume, the interface filter.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "test_redis_util.c"

#define T_PEERS 24

static struct tr_server srv;
static struct shm_writer *w;
static struct redis_sink *sink;
static redisContext *rc;
static char table[64];
static struct wgmon_config cfg;

static void setup(void)
{
	struct shm_writer_opts o = {.capacity = 4096, .event_ring = 1024, .gid = -1};

	memset(&srv, 0, sizeof(srv));
	snprintf(table, sizeof(table), "/wgmon-test-redis-%d", (int)getpid());
	o.name = table;
	cr_assert(shm_writer_open(&w, &o) == 0, "%s", shm_writer_error());
	cr_assert(tr_server_start(&srv), "redis-server did not start");
	rc = tr_client(&srv, NULL, NULL, 0);
	cr_assert(rc);
	config_init(&cfg);
	tr_copy(cfg.redis.socket, sizeof(cfg.redis.socket), srv.sock);
	cfg.redis.compat = true;
	cfg.redis.batch = 12; /* several batches per pass */
	redis_log_set_level(REDIS_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN); /* as every user of the engine must */
}

static void teardown(void)
{
	redis_sink_free(sink);
	sink = NULL;
	if (rc)
		redisFree(rc);
	rc = NULL;
	shm_writer_close(w);
	w = NULL;
	if (shm_writer_unlink(table))
		(void)0;
	tr_server_cleanup(&srv);
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Apply one event (kind, host, iface, peer, IPv4 endpoint a.b.c.d:port or none) at time t. */
static void put(unsigned kind, const char *host, const char *iface, uint64_t peer, uint32_t ip,
                uint16_t port, uint64_t t)
{
	struct parse_event ev = {.kind = (uint8_t)kind, .repeat = 1, .peer = peer};

	ev.fields = PARSE_F_PEER | (ip ? PARSE_F_ENDPOINT : 0);
	ev.host = host;
	ev.host_len = (uint8_t)strlen(host);
	ev.iface_len = (uint8_t)strlen(iface);
	memcpy(ev.iface, iface, ev.iface_len + 1u);
	if (ip) {
		ev.endpoint.af = PARSE_AF_INET;
		ev.endpoint.port = port;
		ev.endpoint.addr[0] = (uint8_t)(ip >> 24);
		ev.endpoint.addr[1] = (uint8_t)(ip >> 16);
		ev.endpoint.addr[2] = (uint8_t)(ip >> 8);
		ev.endpoint.addr[3] = (uint8_t)ip;
	}
	if (kind == PARSE_EV_HANDSHAKE_GAVE_UP)
		ev.n[0] = 20;
	cr_assert(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t) == 0);
}

static const char *const hosts[] = {"", "vpn1", "vpn2.example.net"};

/* A realistic life for peers 1..n: handshake, keys, keepalives. */
static void populate(unsigned n, uint64_t t)
{
	for (unsigned i = 1; i <= n; i++) {
		const char *h = hosts[i % 3], *f = i % 2 ? "wg0" : "wg-core";
		uint32_t ip = 0xc6336400u + i; /* 198.51.100.i */

		put(PARSE_EV_PEER_CREATED, h, f, i, 0, 0, t);
		put(PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, h, f, i, ip, 51820, t + 1000);
		put(PARSE_EV_HANDSHAKE_RESPONSE_SENT, h, f, i, ip, 51820, t + 2000);
		put(PARSE_EV_KEYPAIR_CREATED, h, f, i, 0, 0, t + 3000);
		put(PARSE_EV_KEEPALIVE_RECEIVED, h, f, i, ip, 51820, t + 4000);
	}
}

static void new_sink(void)
{
	struct redis_sink_opts o = {.shm = table, .instance = "test"};

	cr_assert(redis_sink_new(&sink, &cfg, &o) == 0);
}

static void pass_ok(void)
{
	cr_assert(redis_sink_pass(sink) == 0, "pass failed: %s",
	          redis_sink_stats(sink)->last_error);
}

static void assert_equal(void)
{
	struct tr_compare c = {.cfg = &cfg, .shm = table, .prefix = "wgmon:", .compat = true};
	struct tr_table t = {0};

	cr_assert(tr_table_load(&t, table), "wgmon show --json failed");
	cr_assert(tr_compare_all(&c, rc, &t), "Redis differs from the table: %s", c.why);
	tr_table_free(&t);
}

/* ---- Formats ----------------------------------------------------------------------------------- */

Test(redis_format, times)
{
	char buf[64];

	cr_assert_eq(redis_fmt_time(1763771234123456789ull, buf, sizeof(buf)), 17);
	cr_assert_str_eq(buf, "1763771234.123456");
	redis_fmt_time(5000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0.000005");
	cr_assert_eq(redis_fmt_time(1763771234123456789ull, buf, 10), 0);
}

Test(redis_format, compat_time_is_strftime_utc)
{
	static const uint64_t secs[] = {
	        0,          951782400,    951868799, 1709164800, 4102444799ull,
	        1763771234, 9999999999ull /* u64 ns end in 2554 */};
	char got[32], want[32];
	struct tm tm;

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		time_t t = (time_t)secs[i];

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%d %H:%M:%S", &tm);
		redis_fmt_compat_time(secs[i] * 1000000000ull + 999999999, got, sizeof(got));
		cr_assert_str_eq(got, want, "at %" PRIu64, secs[i]);
	}
	for (uint64_t s = 0; s < 5000000000ull; s += 86399 * 37 + 11) {
		time_t t = (time_t)s;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%d %H:%M:%S", &tm);
		redis_fmt_compat_time(s * 1000000000ull, got, sizeof(got));
		cr_assert_str_eq(got, want);
	}
}

Test(redis_format, compat_split_is_the_greedy_regex)
{
	char ip[64], port[64];

	cr_assert(redis_compat_split("192.0.2.1:51820", ip, 64, port, 64) == 0);
	cr_assert_str_eq(ip, "192.0.2.1");
	cr_assert_str_eq(port, "51820");
	cr_assert(redis_compat_split("[2001:db8::1]:51820/0%0", ip, 64, port, 64) == 0);
	cr_assert_str_eq(ip, "[2001:db8::1]");
	cr_assert_str_eq(port, "51820/0%0");
	cr_assert(redis_compat_split("(einval)", ip, 64, port, 64) == -EINVAL);
	cr_assert(redis_compat_split("192.0.2.1:51820", ip, 4, port, 64) == -EINVAL);
}

/* ---- The figures object ------------------------------------------------------------------------ */

Test(redis_stats, publish_read_json_and_one_writer)
{
	char name[64], json[2048];
	struct redis_stats_shm a, b;
	struct redis_stats st = {0}, got;

	snprintf(name, sizeof(name), "/wgmon-test-stats-%d", (int)getpid());
	cr_assert(redis_stats_read(name, &got) == -ENOENT);
	cr_assert(redis_stats_open(&a, name) == 0);
	cr_assert(redis_stats_open(&b, name) == -EBUSY, "a second writer must be refused");
	st.running = 1;
	st.writes = 42;
	st.reconnects = 3;
	st.last_error_at = 1;
	snprintf(st.last_error, sizeof(st.last_error), "redis 127.0.0.1:1: \"quoted\"");
	redis_stats_publish(&a, &st);
	cr_assert(redis_stats_read(name, &got) == 0);
	cr_assert_eq(got.writes, 42);
	cr_assert_eq(got.reconnects, 3);
	cr_assert_eq(got.pid, (uint32_t)getpid());
	cr_assert_str_eq(got.last_error, st.last_error);
	cr_assert(redis_stats_json(&got, json, sizeof(json)) > 0);
	cr_assert(strstr(json, "\"writes\":42"));
	cr_assert(strstr(json, "\"last_error\":\"redis 127.0.0.1:1: \\\"quoted\\\"\""), "%s", json);
	redis_stats_close(&a, &st);
	cr_assert(redis_stats_read(name, &got) == 0);
	cr_assert_eq(got.running, 0);
	cr_assert(redis_stats_open(&b, name) == 0, "the lock leaves with its holder");
	redis_stats_close(&b, &st);
	cr_assert(redis_stats_name(name, json, sizeof(json)) == 0);
	shm_unlink(json);
}

/* ---- Passes ------------------------------------------------------------------------------------ */

TestSuite(redis_sink, .init = setup, .fini = teardown, .timeout = 60);

Test(redis_sink, incremental_passes_stay_equal_to_the_table)
{
	uint64_t t = real_ns() - 20000000000ull, before;

	populate(T_PEERS, t);
	new_sink();
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->last_pass_peers, T_PEERS);
	assert_equal();

	/* Nothing changed: nothing written. */
	before = redis_sink_stats(sink)->writes;
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->last_pass_peers, 0);
	cr_assert_eq(redis_sink_stats(sink)->writes, before + 1, "only the sentinel");

	/* One keepalive: one peer written, and only what moved. */
	put(PARSE_EV_KEEPALIVE_RECEIVED, "vpn1", "wg0", 1, 0xc6336401u, 51820, t + 5000000);
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->last_pass_peers, 1);
	assert_equal();

	/* An older event applied late (another worker): its time field still moves. */
	put(PARSE_EV_KEEPALIVE_SENT, "vpn1", "wg0", 1, 0xc6336401u, 51820, t + 4500);
	put(PARSE_EV_HANDSHAKE_RETRY, "", "wg-core", 3, 0xc6336403u, 51820, t + 100);
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->last_pass_peers, 2);
	assert_equal();

	/* Roaming: a new endpoint, then only a different flowinfo-free IPv4 port. */
	put(PARSE_EV_KEEPALIVE_RECEIVED, "vpn2.example.net", "wg-core", 2, 0xcb007101u, 4000,
	    t + 6000000);
	put(PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, "", "wg0", 9, 0xc6336409u, 51821, t + 6000000);
	pass_ok();
	assert_equal();
}

Test(redis_sink, removed_peers_expire_and_come_back)
{
	uint64_t t = real_ns() - 20000000000ull;
	long long ttl;

	populate(6, t);
	new_sink();
	pass_ok();
	put(PARSE_EV_PEER_DESTROYED, "", "wg-core", 3, 0xc6336403u, 51820, t + 9000000);
	pass_ok();
	assert_equal();
	ttl = tr_integer(rc, "TTL wgmon:peer:-:3");
	cr_assert(ttl > 604000 && ttl <= 604800, "ttl %lld", ttl);
	cr_assert_eq(tr_integer(rc, "ZCARD wgmon:handshake"), 5);
	cr_assert_eq(tr_integer(rc, "EXISTS wireguard_peer:3"), 1, "compat keys never expire");

	put(PARSE_EV_PEER_CREATED, "", "wg-core", 3, 0, 0, t + 10000000);
	pass_ok();
	assert_equal();
	cr_assert_eq(tr_integer(rc, "TTL wgmon:peer:-:3"), -1);
	cr_assert_eq(tr_integer(rc, "ZCARD wgmon:handshake"), 6);
}

Test(redis_sink, flushall_and_reconnect_resync)
{
	uint64_t t = real_ns() - 20000000000ull;
	redisReply *r;

	populate(T_PEERS, t);
	new_sink();
	pass_ok();
	r = redisCommand(rc, "FLUSHALL");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->flushes, 1);
	cr_assert_eq(redis_sink_stats(sink)->last_pass_peers, T_PEERS);
	assert_equal();

	/* The server goes away and comes back empty: errors, backoff, then a full rewrite. */
	redisFree(rc);
	rc = NULL;
	tr_server_kill(&srv);
	put(PARSE_EV_KEEPALIVE_RECEIVED, "vpn1", "wg0", 1, 0xc6336401u, 51820, t + 7000000);
	cr_assert(redis_sink_pass(sink) < 0);
	cr_assert_eq(redis_sink_delay_ms(sink), REDIS_BACKOFF_MIN_MS);
	cr_assert(redis_sink_pass(sink) < 0);
	cr_assert_eq(redis_sink_delay_ms(sink), 2 * REDIS_BACKOFF_MIN_MS);
	cr_assert_eq(redis_sink_stats(sink)->peers_pending, T_PEERS);
	cr_assert(tr_server_start(&srv));
	rc = tr_client(&srv, NULL, NULL, 0);
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->reconnects, 1);
	cr_assert_eq(redis_sink_delay_ms(sink), cfg.redis.interval_ms);
	assert_equal();
}

Test(redis_sink, state_changes_by_time_and_stream)
{
	uint64_t t = real_ns();
	uint64_t end = tw_now_ns() + tw_bound_ns(10);
	redisReply *r;
	bool stale = false;

	cfg.health.stale_after = 1;
	populate(2, t - 100000000ull); /* handshake 0.1 s ago: up, stale 1 s later */
	put(PARSE_EV_HANDSHAKE_GAVE_UP, "vpn2.example.net", "wg0", 5, 0xc6336405u, 51820, t);
	new_sink();
	pass_ok();
	r = redisCommand(rc, "HGET wgmon:peer:vpn1:1 state");
	cr_assert(r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "up"), "%s",
	          r && r->str ? r->str : "nil");
	freeReplyObject(r);
	while (!stale && tw_now_ns() < end) { /* poll passes until the threshold passes */
		pass_ok();
		r = redisCommand(rc, "HGET wgmon:peer:vpn1:1 state");
		stale = r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "stale");
		freeReplyObject(r);
		if (!stale)
			tw_pause();
	}
	cr_assert(stale, "state never became stale");
	assert_equal();
	/* peer_created x2, handshake_gave_up, and state_changed up -> stale x2 */
	r = redisCommand(rc, "XRANGE wgmon:events - +");
	cr_assert(r && r->type == REDIS_REPLY_ARRAY);
	{
		unsigned created = 0, gave_up = 0, changed = 0;

		for (size_t i = 0; i < r->elements; i++) {
			redisReply *f = r->element[i]->element[1];
			const char *ev = f->element[1]->str;

			created += !strcmp(ev, "peer_created");
			gave_up += !strcmp(ev, "handshake_gave_up");
			changed += !strcmp(ev, "state_changed");
		}
		cr_assert_eq(created, 2);
		cr_assert_eq(gave_up, 1);
		cr_assert_eq(changed, 2);
	}
	freeReplyObject(r);
}

Test(redis_sink, stream_resumes_where_the_last_run_stopped)
{
	uint64_t t = real_ns() - 20000000000ull;
	long long len;

	populate(4, t);
	new_sink();
	pass_ok();
	len = tr_integer(rc, "XLEN wgmon:events");
	cr_assert_eq(len, 4, "one peer_created each");
	redis_sink_free(sink);
	sink = NULL;
	new_sink(); /* a restart: the sentinel holds the ring position */
	pass_ok();
	cr_assert_eq(tr_integer(rc, "XLEN wgmon:events"), 4, "no duplicates after a restart");
	put(PARSE_EV_PEER_DESTROYED, "vpn1", "wg0", 1, 0, 0, t + 9000000);
	put(PARSE_EV_KEYS_ZEROED, "vpn2.example.net", "wg-core", 2, 0xc6336402u, 51820,
	    t + 9000000);
	pass_ok();
	/* + peer_destroyed, keys_zeroed, and two state changes */
	cr_assert_eq(tr_integer(rc, "XLEN wgmon:events"), 8);
	assert_equal();
}

Test(redis_sink, endpoint_changes_reach_the_stream)
{
	uint64_t t = real_ns() - 20000000000ull;
	redisReply *r;

	populate(3, t);
	new_sink();
	pass_ok();
	put(PARSE_EV_KEEPALIVE_RECEIVED, "vpn2.example.net", "wg-core", 2, 0xcb007101u, 4000,
	    t + 6000000);
	pass_ok();
	assert_equal();
	r = redisCommand(rc, "XREVRANGE wgmon:events + - COUNT 1");
	cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
	{
		redisReply *f = r->element[0]->element[1];
		char flat[512] = "";

		for (size_t i = 0; i < f->elements; i++) {
			strncat(flat, f->element[i]->str, sizeof(flat) - strlen(flat) - 2);
			strcat(flat, " ");
		}
		cr_assert(strstr(flat,
		                 "event endpoint_changed host vpn2.example.net iface wg-core "
		                 "peer 2 endpoint 203.0.113.1:4000 previous 198.51.100.2:51820 "
		                 "changes 1 time "),
		          "%s", flat);
	}
	freeReplyObject(r);
}

Test(redis_sink, interface_filter_and_tenants)
{
	uint64_t t = real_ns() - 20000000000ull;
	char err[CONFIG_ERR_MAX];

	cr_assert(config_load_string(&cfg,
	                             "[wireguard]\ninterface = wg0\n"
	                             "[tenant acme]\nhosts = vpn*\nstale_after = 600\n",
	                             "t.conf", err, sizeof(err)) == 0,
	          "%s", err);
	populate(T_PEERS, t);
	new_sink();
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->peers_tracked, T_PEERS / 2);
	cr_assert_eq(tr_count_keys(rc, "wgmon:peer:*"), T_PEERS / 2);
	cr_assert_eq(tr_count_keys(rc, "wgmon:peer:*:2"), 0, "wg-core is filtered out");
	{
		redisReply *r = redisCommand(rc, "HGET wgmon:peer:vpn1:1 tenant");

		cr_assert(r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "acme"));
		freeReplyObject(r);
		r = redisCommand(rc, "HGET wgmon:peer:-:3 tenant");
		cr_assert(r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, ""));
		freeReplyObject(r);
	}
}

Test(redis_sink, legacy_config_toml_turns_compat_on)
{
	/* The replaced tool's config.toml, as its repository ships it (interface adapted). */
	static const char legacy[] = "[wireguard]\ninterface = \"wg0\"\n\n[redis]\ndb = 3\n"
	                             "host = \"localhost\"\npassword = \"\"\nport = 6379\n"
	                             "username = \"default\"\n\n[manager]\nurl = \"\"\n";
	uint64_t t = real_ns() - 20000000000ull;
	char err[CONFIG_ERR_MAX];
	redisContext *db3;

	cfg.redis.compat = false;
	cr_assert(config_load_string(&cfg, legacy, "config.toml", err, sizeof(err)) == 0, "%s",
	          err);
	cr_assert(cfg.redis.compat, "compat is the default with the replaced tool's config");
	populate(T_PEERS, t);
	new_sink();
	pass_ok();
	db3 = tr_client(&srv, NULL, NULL, 3);
	cr_assert(db3);
	cr_assert_eq(tr_count_keys(db3, "wireguard_peer:*"), T_PEERS / 2, "wg0 peers only");
	cr_assert_eq(tr_count_keys(rc, "*"), 0, "nothing in db 0");
	redisFree(db3);
}

struct flusher {
	const struct tr_server *srv;
	bool flushed;
};

/* Another client: FLUSHALL as soon as the pass has written something. */
static void *flush_when_written(void *arg)
{
	struct flusher *f = arg;
	redisContext *c = tr_client(f->srv, NULL, NULL, 0);
	uint64_t end = tw_now_ns() + tw_bound_ns(10);

	while (c && tw_now_ns() < end) {
		long long n = tr_integer(c, "DBSIZE");

		if (n > 20) {
			freeReplyObject(redisCommand(c, "FLUSHALL"));
			f->flushed = true;
			break;
		}
	}
	if (c)
		redisFree(c);
	return NULL;
}

Test(redis_sink, flush_racing_with_a_pass_heals)
{
	uint64_t t = real_ns() - 20000000000ull;
	struct flusher f = {.srv = &srv};
	pthread_t th;

	populate(1000, t);
	new_sink();
	cr_assert(pthread_create(&th, NULL, flush_when_written, &f) == 0);
	pass_ok(); /* the flush lands during this pass, or just after it */
	pthread_join(th, NULL);
	cr_assert(f.flushed);
	pass_ok();
	pass_ok();
	cr_assert_eq(redis_sink_stats(sink)->flushes, 1);
	assert_equal();
}
