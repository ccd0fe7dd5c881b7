/* SPDX-License-Identifier: MIT */
/*
 * test_notify.c — wgmon-notify in process: payloads (native JSON, the replaced tool's
 * {"peer": "ip:port"}, escaping), the HMAC-SHA256 signature, backoff, routing filters, delivery
 * against real HTTP receivers on loopback (retry on 5xx, none on 4xx, a hanging receiver beside
 * a healthy one, queue overflow, signature), and the follower against a private table written
 * with the shm writer API (exactly once, per-peer time order, restart seeding, reconcile).
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>

#include "sinks/notify/notify_internal.h"

#include "test_notify_recv.c"

/* ---- helpers --------------------------------------------------------------------------------- */

static void setup_curl(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	notify_log_set_level(NOTIFY_LOG_ERROR);
}

static void teardown_curl(void)
{
	curl_global_cleanup();
}

static struct parse_endpoint ep4(const char *a, uint16_t port)
{
	struct parse_endpoint e = {.af = PARSE_AF_INET, .port = port};

	cr_assert_eq(inet_pton(AF_INET, a, e.addr), 1);
	return e;
}

static struct parse_endpoint ep6(const char *a, uint16_t port)
{
	struct parse_endpoint e = {.af = PARSE_AF_INET6, .port = port};

	cr_assert_eq(inet_pton(AF_INET6, a, e.addr), 1);
	return e;
}

static uint64_t stat_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Poll until *p == want (bounded). */
static bool stat_wait(const uint64_t *p, uint64_t want, double seconds)
{
	uint64_t end = recv_now_ns() + (uint64_t)(seconds * recv_slow() * 1e9);
	struct timespec ts = {0, 2000000};

	while (stat_load(p) != want) {
		if (recv_now_ns() > end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

static struct notify_target_opts topts(const char *url, struct notify_stats_target *st)
{
	return (struct notify_target_opts){
	        .url = url,
	        .format = NOTIFY_FORMAT_NATIVE,
	        .queue = 64,
	        .retries = 3,
	        .connect_timeout_ms = 2000,
	        .timeout_ms = 5000,
	        .backoff_min_ms = 20,
	        .backoff_max_ms = 200,
	        .stats = st,
	};
}

static void post_str(struct notify_target *t, const char *s)
{
	cr_assert_eq(notify_target_post(t, NOTIFY_ENDPOINT_CHANGED, s, strlen(s)), 0);
}

/* ---- payloads -------------------------------------------------------------------------------- */

Test(notify_render, endpoint_changed_native)
{
	struct notify_note n = {
	        .type = NOTIFY_ENDPOINT_CHANGED,
	        .time = 1763771234123456789ull,
	        .has_peer = true,
	        .peer = 17,
	        .host = "vpn1",
	        .iface = "wg0",
	        .tenant = "acme",
	        .tenant_index = 0,
	        .state = -1,
	        .prev_state = -1,
	};
	char buf[NOTIFY_BODY_MAX];

	n.endpoint = ep4("198.51.100.7", 51820);
	n.prev_endpoint = ep4("198.51.100.6", 51820);
	cr_assert_gt(notify_render_native(&n, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "{\"type\":\"endpoint_changed\",\"host\":\"vpn1\",\"iface\":\"wg0\","
	                      "\"peer\":17,\"tenant\":\"acme\",\"endpoint\":\"198.51.100.7:51820\","
	                      "\"previous_endpoint\":\"198.51.100.6:51820\","
	                      "\"time\":1763771234.123456}");
}

Test(notify_render, state_and_interface)
{
	struct notify_note n = {
	        .type = NOTIFY_STATE_CHANGED,
	        .time = 5000000000ull,
	        .has_peer = true,
	        .peer = UINT64_MAX,
	        .host = "",
	        .iface = "wg-ğç☃",
	        .tenant_index = -1,
	        .state = SHM_STATE_STALE,
	        .prev_state = SHM_STATE_UP,
	};
	char buf[NOTIFY_BODY_MAX];

	cr_assert_gt(notify_render_native(&n, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "{\"type\":\"state_changed\",\"host\":\"\",\"iface\":\"wg-ğç☃\","
	                      "\"peer\":18446744073709551615,\"state\":\"stale\","
	                      "\"previous_state\":\"up\",\"time\":5.000000}");
	n = (struct notify_note){.type = NOTIFY_INTERFACE_UP,
	                         .time = 1,
	                         .host = "h\"1\\\x01\xff",
	                         .iface = "wg0",
	                         .tenant_index = -1,
	                         .state = -1,
	                         .prev_state = -1};
	cr_assert_gt(notify_render_native(&n, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "{\"type\":\"interface_up\",\"host\":\"h\\\"1\\\\\\u0001\\ufffd\","
	                      "\"iface\":\"wg0\",\"time\":0.000000}");
	cr_assert_eq(notify_render_native(&n, buf, 20), 0, "too small: nothing");
}

Test(notify_render, manager_payload_is_the_replaced_tools)
{
	struct notify_note n = {.type = NOTIFY_ENDPOINT_CHANGED,
	                        .has_peer = true,
	                        .peer = 3,
	                        .host = "h",
	                        .iface = "wg0",
	                        .state = -1,
	                        .prev_state = -1};
	char buf[NOTIFY_BODY_MAX];

	n.endpoint = ep4("203.0.113.9", 41000);
	cr_assert_gt(notify_render_manager(&n, buf, sizeof(buf)), 0);
	/* httpx.post(url, json={"peer": f"{ip}:{port}"}): json.dumps' default separators. */
	cr_assert_str_eq(buf, "{\"peer\": \"203.0.113.9:41000\"}");
	n.endpoint = ep6("2001:db8::1", 51820);
	cr_assert_gt(notify_render_manager(&n, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "{\"peer\": \"[2001:db8::1]:51820/0%0\"}");
	n.type = NOTIFY_STATE_CHANGED;
	cr_assert_eq(notify_render_manager(&n, buf, sizeof(buf)), 0, "endpoint changes only");
}

Test(notify_render, hmac_sha256_rfc4231_case2)
{
	char hex[NOTIFY_SIG_HEX_LEN + 1];
	const char *data = "what do ya want for nothing?";

	cr_assert_eq(notify_sign("Jefe", 4, data, strlen(data), hex), 0);
	cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(notify_render, url_redacted)
{
	char out[NOTIFY_URL_SHOWN_MAX];

	notify_url_redact("https://user:pw@hooks.example:8443/a/b?token=s3cret#x", out,
	                  sizeof(out));
	cr_assert_str_eq(out, "https://hooks.example:8443/a/b?...");
	notify_url_redact("http://127.0.0.1:9/hook", out, sizeof(out));
	cr_assert_str_eq(out, "http://127.0.0.1:9/hook");
}

Test(notify_deliver, backoff_doubles_and_caps)
{
	cr_assert_eq(notify_backoff_ms(1, 100, 60000), 100);
	cr_assert_eq(notify_backoff_ms(2, 100, 60000), 200);
	cr_assert_eq(notify_backoff_ms(5, 100, 60000), 1600);
	cr_assert_eq(notify_backoff_ms(40, 100, 60000), 60000);
	cr_assert_eq(notify_backoff_ms(3, 100, 250), 250);
}

/* ---- delivery -------------------------------------------------------------------------------- */

TestSuite(notify_deliver, .init = setup_curl, .fini = teardown_curl, .timeout = 60);

Test(notify_deliver, retried_on_5xx_until_accepted)
{
	static const int script[] = {500, 503};
	struct notify_stats_target st = {0};
	struct notify_target *t;
	struct notify_target_opts o;
	struct recv r;

	cr_assert(recv_start(&r, 200, script, 2, false));
	o = topts(r.url, &st);
	cr_assert_eq(notify_target_start(&t, &o), 0);
	post_str(t, "{\"n\":1}");
	cr_assert(stat_wait(&st.sent, 1, 10));
	notify_target_free(t);
	cr_assert_eq(recv_count(&r), 3, "accepted on the third try");
	for (int i = 0; i < 3; i++) {
		cr_assert_str_eq(r.req[i].body, "{\"n\":1}");
		cr_assert_str_eq(r.req[i].method, "POST");
		cr_assert_str_eq(r.req[i].ctype, "application/json");
		cr_assert_str_eq(r.req[i].event, "endpoint_changed");
	}
	cr_assert_eq(st.retried, 2);
	cr_assert_eq(st.failed, 0);
	cr_assert_eq(st.last_status, 200);
	recv_stop(&r);
}

Test(notify_deliver, not_retried_on_4xx_and_counted)
{
	struct notify_stats_target st = {0};
	struct notify_target *t;
	struct notify_target_opts o;
	struct recv r;

	cr_assert(recv_start(&r, 400, NULL, 0, false));
	o = topts(r.url, &st);
	cr_assert_eq(notify_target_start(&t, &o), 0);
	post_str(t, "{\"n\":1}");
	post_str(t, "{\"n\":2}");
	cr_assert(stat_wait(&st.failed, 2, 10));
	notify_target_free(t); /* joined: nothing more can be attempted */
	cr_assert_eq(recv_count(&r), 2, "one request per notification");
	cr_assert_eq(st.rejected, 2);
	cr_assert_eq(st.retried, 0);
	cr_assert_eq(st.sent, 0);
	cr_assert_eq(st.last_status, 400);
	recv_stop(&r);
}

Test(notify_deliver, network_errors_retried_then_given_up)
{
	struct notify_stats_target st = {0};
	struct notify_target *t;
	struct notify_target_opts o;
	struct recv r;
	char url[64];

	/* A port that was just free: connection refused. */
	cr_assert(recv_start(&r, 200, NULL, 0, false));
	snprintf(url, sizeof(url), "%s", r.url);
	recv_stop(&r);
	o = topts(url, &st);
	o.retries = 2;
	cr_assert_eq(notify_target_start(&t, &o), 0);
	post_str(t, "{}");
	cr_assert(stat_wait(&st.failed, 1, 10));
	notify_target_free(t);
	cr_assert_eq(st.retried, 2);
	cr_assert_eq(st.rejected, 0);
	cr_assert_eq(st.last_status, 0);
}

Test(notify_deliver, hanging_receiver_does_not_delay_another)
{
	struct notify_stats_target st_hang = {0}, st_ok = {0};
	struct notify_target *hang, *ok;
	struct notify_target_opts o;
	struct recv rh, rok;
	uint64_t t0, took;
	char body[32];

	cr_assert(recv_start(&rh, 200, NULL, 0, true));
	cr_assert(recv_start(&rok, 200, NULL, 0, false));
	o = topts(rh.url, &st_hang);
	o.timeout_ms = 60000;
	cr_assert_eq(notify_target_start(&hang, &o), 0);
	o = topts(rok.url, &st_ok);
	cr_assert_eq(notify_target_start(&ok, &o), 0);
	t0 = recv_now_ns();
	for (int i = 0; i < 20; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		post_str(hang, body);
		post_str(ok, body);
	}
	cr_assert(recv_wait(&rok, 20, 10), "the healthy receiver got everything");
	took = recv_now_ns() - t0;
	cr_assert(recv_wait(&rh, 1, 10));
	cr_assert_eq(recv_count(&rh), 1, "the hanging one holds its first request");
	cr_assert_eq(stat_load(&st_hang.sent), 0);
	cr_assert_eq(stat_load(&st_hang.queue_depth), 20);
	cr_assert(stat_wait(&st_ok.sent, 20, 10));
	for (int i = 0; i < 20; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		cr_assert_str_eq(rok.req[i].body, body, "in order");
	}
	cr_log_info("healthy receiver: 20 posts in %.1f ms beside a hanging one",
	            (double)took / 1e6);
	/* Exit while hanging: the grace period ends it, well before the 60 s timeout. */
	t0 = recv_now_ns();
	notify_target_stop(hang, 200);
	notify_target_free(hang);
	cr_assert_lt(recv_now_ns() - t0, 5000000000ull, "stop is bounded");
	cr_assert_eq(stat_load(&st_hang.dropped), 19, "never attempted: counted");
	notify_target_free(ok);
	recv_stop(&rh);
	recv_stop(&rok);
}

Test(notify_deliver, full_queue_drops_the_oldest_and_counts)
{
	struct notify_stats_target st = {0};
	struct notify_target *t;
	struct notify_target_opts o;
	struct recv r;
	char body[32];
	static const char *const want[] = {"{\"n\":0}", "{\"n\":6}", "{\"n\":7}", "{\"n\":8}",
	                                   "{\"n\":9}"};

	cr_assert(recv_start(&r, 200, NULL, 0, true));
	o = topts(r.url, &st);
	o.queue = 4;
	o.timeout_ms = 60000;
	cr_assert_eq(notify_target_start(&t, &o), 0);
	post_str(t, "{\"n\":0}");
	cr_assert(recv_wait(&r, 1, 10), "first one in flight (held)");
	for (int i = 1; i < 10; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		post_str(t, body);
	}
	cr_assert_eq(stat_load(&st.dropped), 5);
	cr_assert_eq(stat_load(&st.posted), 10);
	cr_assert_eq(stat_load(&st.queue_depth), 5, "4 queued + 1 in flight");
	recv_release(&r);
	cr_assert(stat_wait(&st.sent, 5, 10));
	cr_assert(stat_wait(&st.queue_depth, 0, 10));
	notify_target_free(t);
	cr_assert_eq(recv_count(&r), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(r.req[i].body, want[i]);
	recv_stop(&r);
}

Test(notify_deliver, signature_verifies_with_the_shared_secret)
{
	struct notify_stats_target st = {0};
	struct notify_target *t;
	struct notify_target_opts o;
	struct recv r;

	cr_assert(recv_start(&r, 200, NULL, 0, false));
	o = topts(r.url, &st);
	o.secret = "s3cret-shared";
	cr_assert_eq(notify_target_start(&t, &o), 0);
	post_str(t, "{\"type\":\"endpoint_changed\",\"peer\":1}");
	post_str(t, "{\"type\":\"peer_created\",\"peer\":2}");
	cr_assert(stat_wait(&st.sent, 2, 10));
	notify_target_free(t);
	cr_assert_eq(recv_count(&r), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert(recv_sig_ok(&r.req[i], "s3cret-shared"), "%s", r.req[i].sig);
		cr_assert_not(recv_sig_ok(&r.req[i], "wrong"));
	}
	recv_stop(&r);
}

/* ---- routing --------------------------------------------------------------------------------- */

Test(notify_deliver, route_filters_types_tenants_and_manager)
{
	static struct wgmon_config cfg;
	static struct notify_stats st;
	struct notify_route rt;
	struct notify_target_opts o;
	struct notify_note n = {.type = NOTIFY_STATE_CHANGED,
	                        .has_peer = true,
	                        .peer = 1,
	                        .host = "h",
	                        .iface = "wg0",
	                        .state = 1,
	                        .prev_state = 0};
	struct recv r;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	cr_assert_eq(config_load_string(&cfg,
	                                "[notify]\nevents = [\"endpoint_changed\", "
	                                "\"peer_removed\"]\ntenants = acme\n"
	                                "[tenant acme]\ninterfaces = wg-acme*\n",
	                                "t.conf", err, sizeof(err)),
	             0, "%s", err);
	cr_assert(recv_start(&r, 200, NULL, 0, false));
	cr_assert_eq(notify_route_init(&rt, &cfg, &st, err, sizeof(err)), 0, "%s", err);
	o = topts(r.url, &st.target[0]);
	cr_assert_eq(notify_target_start(&rt.target[0], &o), 0);
	o = topts(r.url, &st.target[1]);
	o.format = NOTIFY_FORMAT_MANAGER;
	cr_assert_eq(notify_target_start(&rt.target[1], &o), 0);
	rt.format[0] = NOTIFY_FORMAT_NATIVE;
	rt.format[1] = NOTIFY_FORMAT_MANAGER;
	rt.n = 2;

	n.tenant_index = 0;
	cr_assert_eq(notify_route_note(&rt, &n), 0, "state_changed is filtered out");
	n.type = NOTIFY_PEER_REMOVED;
	cr_assert_eq(notify_route_note(&rt, &n), 1, "native only: not an endpoint change");
	n.type = NOTIFY_ENDPOINT_CHANGED;
	n.endpoint = ep4("192.0.2.1", 1);
	n.prev_endpoint = ep4("192.0.2.2", 1);
	cr_assert_eq(notify_route_note(&rt, &n), 2, "both");
	n.tenant_index = -1;
	cr_assert_eq(notify_route_note(&rt, &n), 0, "no tenant: filtered");
	cr_assert_eq(st.filtered, 2);
	cr_assert_eq(st.detected[NOTIFY_ENDPOINT_CHANGED], 2);
	cr_assert(stat_wait(&st.target[0].sent, 2, 10));
	cr_assert(stat_wait(&st.target[1].sent, 1, 10));
	notify_target_free(rt.target[0]);
	notify_target_free(rt.target[1]);
	cr_assert_eq(recv_count(&r), 3);
	for (int i = 0, removed = 0, manager = 0, changed = 0; i < 3; i++) {
		removed += !strcmp(r.req[i].event, "peer_removed");
		manager += !strcmp(r.req[i].body, "{\"peer\": \"192.0.2.1:1\"}");
		changed += strstr(r.req[i].body, "\"type\":\"endpoint_changed\"") != NULL;
		if (i == 2)
			cr_assert(removed == 1 && manager == 1 && changed == 1);
	}

	config_init(&cfg);
	cr_assert_eq(config_set(&cfg, "notify", "events", "endpoint_changed,bogus_type", err,
	                        sizeof(err)),
	             0);
	cr_assert_eq(notify_route_init(&rt, &cfg, &st, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "bogus_type"), "%s", err);
	recv_stop(&r);
}

/* ---- follower, against a private table ------------------------------------------------------- */

#define CAPTURE_MAX 256

struct capture {
	struct notify_note n[CAPTURE_MAX];
	char host[CAPTURE_MAX][64];
	int count;
};

static void capture_emit(void *ctx, const struct notify_note *n)
{
	struct capture *c = ctx;

	cr_assert_lt(c->count, CAPTURE_MAX);
	c->n[c->count] = *n;
	snprintf(c->host[c->count], sizeof(c->host[0]), "%s", n->host);
	c->n[c->count].host = c->host[c->count];
	c->n[c->count].iface = NULL; /* not kept: points into the follower */
	c->count++;
}

struct table {
	char name[64];
	struct shm_writer *w;
	struct shm_reader *r;
	struct wgmon_config cfg;
};

static void table_open(struct table *t, uint32_t ring)
{
	static int seq;
	struct shm_writer_opts o = {.capacity = 1024, .event_ring = ring, .gid = -1};

	snprintf(t->name, sizeof(t->name), "/wgmon-test-notify-%d-%d", (int)getpid(), seq++);
	o.name = t->name;
	(void)!shm_writer_unlink(t->name);
	cr_assert_eq(shm_writer_open(&t->w, &o), 0, "%s", shm_writer_error());
	cr_assert_eq(shm_reader_attach(&t->r, t->name), 0, "%s", shm_reader_error());
	config_init(&t->cfg);
}

static void table_close(struct table *t)
{
	shm_reader_detach(t->r);
	shm_writer_close(t->w);
	(void)!shm_writer_unlink(t->name);
}

/* Apply one kernel line received at t (ns). */
static void table_line(struct table *t, const char *line, uint64_t at)
{
	struct parse_event ev;

	cr_assert_eq(parse_line(line, strlen(line), &ev), PARSE_OK, "%s", line);
	cr_assert_eq(shm_writer_apply(t->w, SHM_BLOCK_WORKER(0), &ev, at), 0);
}

static struct notify_follow *follow_open(struct table *t, struct capture *c, uint64_t reorder)
{
	struct notify_follow_opts o = {.cfg = &t->cfg,
	                               .emit = capture_emit,
	                               .ctx = c,
	                               .scan_ns = 3600ull * 1000000000ull,
	                               .reorder_ns = reorder};
	struct notify_follow *f;

	cr_assert_eq(notify_follow_open(&f, t->r, &o), 0);
	return f;
}

static void follow_drain(struct notify_follow *f)
{
	while (notify_follow_pass(f) > 0)
		;
	notify_follow_flush(f);
}

#define T0 1700000000000000000ull
#define MS 1000000ull

TestSuite(notify_follow, .init = setup_curl, .fini = teardown_curl, .timeout = 60);

Test(notify_follow, endpoint_changes_once_in_time_order)
{
	static struct table t;
	static struct capture c;
	struct notify_follow *f;
	char ip[2][64];

	table_open(&t, 1024);
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.1:1000)",
	           T0);
	f = follow_open(&t, &c, 3600ull * 1000 * MS);
	/* Received in this order, applied out of order (as two workers may): the ring order
	 * differs from the receive order; notes follow the receive order. */
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.3:1000)",
	           T0 + 3 * MS);
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.2:1000)",
	           T0 + 2 * MS);
	table_line(&t, "wireguard: wg0: Sending keepalive packet to peer 1 ((einval))",
	           T0 + 4 * MS);
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.3:1000)",
	           T0 + 5 * MS);
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 2 (192.0.2.9:1)",
	           T0 + 6 * MS); /* first sight: not a change */
	follow_drain(f);
	cr_assert_eq(c.count, 2, "1→2, 2→3; %d", c.count);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(c.n[i].type, NOTIFY_ENDPOINT_CHANGED);
		cr_assert_eq(c.n[i].peer, 1);
		parse_endpoint_format(&c.n[i].endpoint, PARSE_STYLE_ENDPOINT, ip[0], 64);
		parse_endpoint_format(&c.n[i].prev_endpoint, PARSE_STYLE_ENDPOINT, ip[1], 64);
		cr_assert_str_eq(ip[0], i ? "192.0.2.3:1000" : "192.0.2.2:1000");
		cr_assert_str_eq(ip[1], i ? "192.0.2.2:1000" : "192.0.2.1:1000");
	}
	cr_assert_eq(c.n[0].time, T0 + 2 * MS);
	notify_follow_close(f);

	/* A new follower on the same table (a restart): nothing old is news. */
	c.count = 0;
	f = follow_open(&t, &c, 3600ull * 1000 * MS);
	follow_drain(f);
	notify_follow_scan(f);
	cr_assert_eq(c.count, 0);
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 2 (192.0.2.10:1)",
	           T0 + 7 * MS);
	follow_drain(f);
	cr_assert_eq(c.count, 1);
	notify_follow_close(f);
	table_close(&t);
}

Test(notify_follow, created_removed_interface_and_states)
{
	static struct table t;
	static struct capture c;
	struct notify_follow *f;
	const uint64_t now = notify_real_ns();

	table_open(&t, 1024);
	f = follow_open(&t, &c, NOTIFY_REORDER_NONE);
	table_line(&t, "wireguard: wg0: Interface created", now);
	table_line(&t, "wireguard: wg0: Peer 5 created", now + 1);
	follow_drain(f);
	notify_follow_scan(f);
	cr_assert_eq(c.count, 2);
	cr_assert_eq(c.n[0].type, NOTIFY_INTERFACE_UP);
	cr_assert_not(c.n[0].has_peer);
	cr_assert_eq(c.n[1].type, NOTIFY_PEER_CREATED);
	cr_assert_eq(c.n[1].peer, 5);
	table_line(&t, "wireguard: wg0: Keypair 1 created for peer 5", now + 2);
	follow_drain(f);
	notify_follow_scan(f);
	cr_assert_eq(c.count, 3);
	cr_assert_eq(c.n[2].type, NOTIFY_STATE_CHANGED);
	cr_assert_eq(c.n[2].prev_state, SHM_STATE_NEW);
	cr_assert_eq(c.n[2].state, SHM_STATE_UP);
	table_line(&t, "wireguard: wg0: Peer 5 (192.0.2.5:7) destroyed", now + 3);
	table_line(&t, "wireguard: wg0: Interface destroyed", now + 4);
	follow_drain(f);
	notify_follow_scan(f);
	cr_assert_eq(c.count, 6);
	cr_assert_eq(c.n[3].type, NOTIFY_PEER_REMOVED);
	cr_assert_eq(c.n[3].endpoint.af, PARSE_AF_INET, "the endpoint it was destroyed with");
	cr_assert_eq(c.n[4].type, NOTIFY_INTERFACE_DOWN);
	cr_assert_eq(c.n[5].type, NOTIFY_STATE_CHANGED);
	cr_assert_eq(c.n[5].state, SHM_STATE_REMOVED);
	notify_follow_close(f);
	table_close(&t);
}

Test(notify_follow, lost_events_are_reconciled_from_the_table)
{
	static struct table t;
	static struct capture c;
	struct notify_follow *f;
	char line[160];

	table_open(&t, SHM_EVENT_RING_MIN);
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.1:1)", T0);
	f = follow_open(&t, &c, NOTIFY_REORDER_NONE);
	/* More events than the ring holds: the follower is lapped. */
	table_line(&t, "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.2:1)",
	           T0 + 1);
	for (int i = 0; i < 3 * SHM_EVENT_RING_MIN; i++) {
		snprintf(line, sizeof(line),
		         "wireguard: wg0: Receiving keepalive packet from peer 1 (192.0.2.2:1)");
		table_line(&t, line, T0 + 2 + (uint64_t)i);
	}
	follow_drain(f);
	cr_assert_eq(c.count, 1, "the change is told once, from the table");
	cr_assert_eq(c.n[0].type, NOTIFY_ENDPOINT_CHANGED);
	cr_assert_eq(c.n[0].endpoint.addr[3], 2);
	cr_assert_eq(c.n[0].prev_endpoint.addr[3], 1);
	notify_follow_close(f);
	table_close(&t);
}
