/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of sinks/metrics/: label escaping and number formatting, Accept-Encoding, the
 * snapshot pool's ownership rules, gzip, and renders of a private table built with the shm
 * writer API (absent timestamps, states, IPv6 endpoints, escaping, tenants, the series budget,
 * the compatibility series), each checked by `promtool check metrics` as well.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "sinks/metrics/render.c"
#include "tools/config.h"

#define SEC   1000000000ull
#define NOW   1763771234000000000ull /* 2025-11-22, in ns */
#define STALE (180 * SEC)

static char name[64];
static struct shm_writer *w;
static struct shm_reader *r;

static void setup(void)
{
	struct shm_writer_opts o = {.capacity = 1024, .event_ring = 64, .gid = -1, .reset = true};

	snprintf(name, sizeof(name), "/wgmon-test-metrics-%d", (int)getpid());
	o.name = name;
	cr_assert_eq(shm_writer_open(&w, &o), 0, "%s", shm_writer_error());
	shm_writer_heartbeat(w, NOW);
}

static void teardown(void)
{
	shm_reader_detach(r);
	shm_writer_close(w);
	(void)!shm_writer_unlink(name);
}

TestSuite(metrics, .init = setup, .fini = teardown, .timeout = 30);

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Parse a kernel line and apply it at time t. */
static void apply(const char *line, uint64_t t)
{
	struct parse_event ev;
	int ret = parse_line(line, strlen(line), &ev);

	cr_assert_eq(ret, PARSE_OK, "%s: %s", line, parse_reject_name((unsigned)ret));
	cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t), 0, "%s", line);
}

/* An event built by hand (names the parser would not produce from a line). */
static void apply_raw(const char *host, const char *iface, uint64_t peer, unsigned kind, uint64_t t)
{
	struct parse_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = (uint8_t)kind;
	ev.host = host;
	ev.host_len = (uint8_t)strlen(host);
	ev.iface_len = (uint8_t)strlen(iface);
	memcpy(ev.iface, iface, ev.iface_len);
	ev.peer = peer;
	ev.fields = PARSE_F_PEER;
	ev.repeat = 1;
	cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t), 0);
}

static void scenario(void)
{
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Interface created", NOW - 900 * SEC);
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg1: Interface destroyed", NOW - 800 * SEC);
	/* peer 1 on vpn1/wg0: up, all three times */
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Receiving handshake initiation from "
	      "peer 1 (192.0.2.1:51820)",
	      NOW - 10 * SEC);
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Keypair 7 created for peer 1",
	      NOW - 9 * SEC);
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Receiving keepalive packet from peer 1 "
	      "(192.0.2.1:51820)",
	      NOW - 5 * SEC);
	/* peer 2: created, never handshaked */
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Peer 2 created", NOW - 100 * SEC);
	/* peer 3 on vpn1/wg1: retrying */
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg1: Handshake for peer 3 "
	      "(198.51.100.3:51820) "
	      "did not complete after 5 seconds, retrying (try 2)",
	      NOW - 3 * SEC);
	/* peer 4 on vpn2/wg0: IPv6, stale */
	apply("Nov 22 01:00:00 vpn2 kernel: wireguard: wg0: Receiving keepalive packet from peer 4 "
	      "([2001:db8::1]:51820/0%0)",
	      NOW - 2000 * SEC);
	apply("Nov 22 01:00:00 vpn2 kernel: wireguard: wg0: Keypair 9 created for peer 4",
	      NOW - 1000 * SEC);
	/* peer 1 on vpn2 too: the compatibility series sum it with vpn1's */
	apply("Nov 22 01:00:00 vpn2 kernel: wireguard: wg0: Receiving handshake response from peer "
	      "1 "
	      "(203.0.113.9:4500)",
	      NOW - 20 * SEC);
	apply("Nov 22 01:00:00 vpn2 kernel: wireguard: wg0: Receiving handshake response from peer "
	      "1 "
	      "(203.0.113.10:4500)",
	      NOW - 19 * SEC);
	/* peer 6: destroyed */
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Peer 6 created", NOW - 50 * SEC);
	apply("Nov 22 01:00:00 vpn1 kernel: wireguard: wg0: Peer 6 (192.0.2.6:1) destroyed",
	      NOW - 40 * SEC);
	/* names that need escaping: a quote and a backslash; bytes that are not UTF-8 */
	apply_raw("odd\\host", "a\"b\\c", 5, PARSE_EV_KEYPAIR_CREATED, NOW - 1 * SEC);
	apply_raw("vpn1", "wg\xff", 7, PARSE_EV_PEER_CREATED, NOW - 1 * SEC);
}

/* Render the table with opts; returns the flattened exposition (free it). */
static char *render(const struct metrics_opts *o, struct metrics_figures *fig)
{
	struct metrics_renderer *rd;
	struct metrics_body body = {0};
	struct metrics_figures f;
	char *s;

	if (!r)
		cr_assert_eq(shm_reader_attach(&r, name), 0, "%s", shm_reader_error());
	cr_assert_eq(metrics_renderer_new(&rd, o), 0);
	cr_assert_eq(metrics_render(rd, r, NOW, NULL, &body, fig ? fig : &f), 0);
	s = metrics_body_flatten(&body, NULL);
	cr_assert_not_null(s);
	metrics_body_free(&body);
	metrics_renderer_free(rd);
	return s;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static bool has_prefix_line(const char *text, const char *prefix)
{
	for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++)
		if (p == text || p[-1] == '\n')
			return true;
	return false;
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++)
		n += p == text || p[-1] == '\n';
	return n;
}

#define expect_line(text, line) cr_expect(has_line(text, line), "missing line: %s", line)

/* `promtool check metrics` on text: its exit status (77: no promtool). */
static int promtool_check(const char *text)
{
	char path[64], cmd[256];
	FILE *f;
	int st;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return 77;
	snprintf(path, sizeof(path), "/tmp/wgmon-test-metrics-%d.txt", (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	st = system(cmd);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- Formatting ---------------------------------------------------------------------------- */

Test(metrics, escape)
{
	char out[64];
	size_t n;

	n = metrics_escape(out, "a\"b\\c\nd", 7);
	cr_expect_eq(n, 10);
	cr_expect_arr_eq(out, "a\\\"b\\\\c\\nd", 10);
	n = metrics_escape(out, "wg\xff", 3); /* a byte that is not UTF-8 → U+FFFD */
	cr_expect_arr_eq(out, "wg\xef\xbf\xbd", n);
	n = metrics_escape(out, "\xc0\xaf", 2); /* overlong '/' → two replacements */
	cr_expect_eq(n, 6);
	n = metrics_escape(out, "\xed\xa0\x80", 3); /* a surrogate */
	cr_expect_eq(n, 9);
	n = metrics_escape(out, "vpn-\xc4\x9f\xe2\x98\x83\xf0\x9f\x98\x80", 13); /* valid: kept */
	cr_expect_eq(n, 13);
	cr_expect_arr_eq(out, "vpn-\xc4\x9f\xe2\x98\x83\xf0\x9f\x98\x80", 13);
	n = metrics_escape(out, "\xe2\x98", 2); /* truncated sequence */
	cr_expect_eq(n, 6);
}

Test(metrics, numbers)
{
	char out[64], *e;

	e = put_u64(out, 0);
	cr_expect_arr_eq(out, "0", (size_t)(e - out));
	e = put_u64(out, 18446744073709551615ull);
	*e = '\0';
	cr_expect_str_eq(out, "18446744073709551615");
	e = put_u64(out, 100);
	*e = '\0';
	cr_expect_str_eq(out, "100");
	e = put_seconds(out, 1763771234000001999ull);
	*e = '\0';
	cr_expect_str_eq(out, "1763771234.000001");
	e = put_seconds(out, 999);
	*e = '\0';
	cr_expect_str_eq(out, "0.000000");
	e = put_seconds(out, 12 * SEC + 340000000);
	*e = '\0';
	cr_expect_str_eq(out, "12.340000");
}

Test(metrics, accept_encoding)
{
	cr_expect(metrics_accepts_gzip("gzip"));
	cr_expect(metrics_accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
	cr_expect(metrics_accepts_gzip("identity, GZIP"));
	cr_expect(metrics_accepts_gzip("x-gzip"));
	cr_expect(metrics_accepts_gzip("br;q=1, *"));
	cr_expect(metrics_accepts_gzip("gzip ; q=0.001"));
	cr_expect_not(metrics_accepts_gzip(NULL));
	cr_expect_not(metrics_accepts_gzip(""));
	cr_expect_not(metrics_accepts_gzip("identity"));
	cr_expect_not(metrics_accepts_gzip("gzip;q=0"));
	cr_expect_not(metrics_accepts_gzip("gzip;q=0.000, deflate"));
	cr_expect_not(metrics_accepts_gzip("gzipx, xgzip"));
	cr_expect_not(metrics_accepts_gzip("*;q=0"));
}

/* ---- The pool ------------------------------------------------------------------------------ */

Test(metrics, pool_ownership)
{
	static struct metrics_pool pool;
	struct metrics_snapshot *a, *b, *held, *c, *d;

	metrics_pool_init(&pool);
	cr_expect_null(metrics_pool_get(&pool), "nothing published yet");
	a = metrics_pool_back(&pool);
	cr_assert_not_null(a);
	metrics_pool_publish(&pool, a);
	held = metrics_pool_get(&pool);
	cr_expect_eq(held, a);
	b = metrics_pool_back(&pool);
	cr_assert(b && b != a, "the current snapshot is never handed out for writing");
	metrics_pool_publish(&pool, b);
	c = metrics_pool_back(&pool);
	cr_assert(c && c != a && c != b, "a held snapshot is never handed out, even replaced");
	metrics_pool_publish(&pool, c);
	d = metrics_pool_get(&pool); /* hold c too: a held, c current+held, b free */
	cr_expect_eq(d, c);
	cr_expect_eq(metrics_pool_back(&pool), b);
	metrics_pool_publish(&pool, b);
	cr_expect_null(metrics_pool_back(&pool), "all held or current: the pass is skipped");
	metrics_pool_put(held);
	cr_expect_eq(metrics_pool_back(&pool), a, "released: writable again");
	metrics_pool_put(d);
	cr_expect_eq(a->refs + b->refs + c->refs, 0);
	metrics_pool_destroy(&pool);
}

/* ---- Renders ------------------------------------------------------------------------------- */

Test(metrics, render_peers)
{
	struct metrics_opts o = {0};
	struct metrics_figures fig;
	char *s;

	scenario();
	s = render(&o, &fig);
	cr_expect_eq(fig.peers, 8);
	cr_expect_eq(fig.peers_busy, 0);
	expect_line(s, "wgmon_peer_last_handshake_timestamp_seconds{host=\"vpn1\",iface=\"wg0\","
	               "peer=\"1\"} 1763771225.000000");
	expect_line(s, "wgmon_peer_last_handshake_received_timestamp_seconds{host=\"vpn1\","
	               "iface=\"wg0\",peer=\"1\"} 1763771224.000000");
	expect_line(s, "wgmon_peer_last_keepalive_received_timestamp_seconds{host=\"vpn1\","
	               "iface=\"wg0\",peer=\"1\"} 1763771229.000000");
	expect_line(s, "wgmon_peer_state{host=\"vpn1\",iface=\"wg0\",peer=\"1\",state=\"up\"} 1");
	/* never: absent, not 0 */
	cr_expect_not(has_prefix_line(s,
	                              "wgmon_peer_last_handshake_timestamp_seconds{host=\"vpn1\","
	                              "iface=\"wg0\",peer=\"2\"}"));
	cr_expect_not(has_prefix_line(s, "wgmon_peer_last_keepalive_received_timestamp_seconds{"
	                                 "host=\"vpn1\",iface=\"wg0\",peer=\"2\"}"));
	expect_line(s, "wgmon_peer_state{host=\"vpn1\",iface=\"wg0\",peer=\"2\",state=\"new\"} 1");
	expect_line(s, "wgmon_peer_info{host=\"vpn1\",iface=\"wg0\",peer=\"2\",tenant=\"\","
	               "endpoint=\"\"} 1");
	expect_line(s,
	            "wgmon_peer_state{host=\"vpn1\",iface=\"wg1\",peer=\"3\",state=\"failing\"} 1");
	expect_line(s,
	            "wgmon_peer_state{host=\"vpn2\",iface=\"wg0\",peer=\"4\",state=\"stale\"} 1");
	expect_line(s, "wgmon_peer_info{host=\"vpn2\",iface=\"wg0\",peer=\"4\",tenant=\"\","
	               "endpoint=\"[2001:db8::1]:51820/0%0\"} 1");
	expect_line(s,
	            "wgmon_peer_state{host=\"vpn1\",iface=\"wg0\",peer=\"6\",state=\"removed\"} 1");
	expect_line(s,
	            "wgmon_peer_endpoint_changes_total{host=\"vpn2\",iface=\"wg0\",peer=\"1\"} 1");
	expect_line(s, "wgmon_peer_info{host=\"vpn2\",iface=\"wg0\",peer=\"1\",tenant=\"\","
	               "endpoint=\"203.0.113.10:4500\"} 1");
	/* escaping */
	expect_line(s, "wgmon_peer_state{host=\"odd\\\\host\",iface=\"a\\\"b\\\\c\",peer=\"5\","
	               "state=\"up\"} 1");
	expect_line(s, "wgmon_peer_state{host=\"vpn1\",iface=\"wg\xef\xbf\xbd\",peer=\"7\","
	               "state=\"new\"} 1");
	cr_expect_eq(count_prefix(s, "wgmon_peer_state{"), 8);
	cr_expect_eq(count_prefix(s, "wgmon_peer_info{"), 8);
	cr_expect_not(has_prefix_line(s, "wgmon_peer_events_total"), "opt-in");
	cr_expect_not(has_prefix_line(s, "wg_peer_monitoring_"), "compat is opt-in");
	cr_expect_eq(promtool_check(s) % 77, 0, "promtool check metrics failed");
	free(s);
}

Test(metrics, render_aggregates)
{
	struct metrics_opts o = {0};
	char *s;

	scenario();
	s = render(&o, NULL);
	expect_line(s, "wgmon_build_info{version=\"" WGMON_VERSION "\"} 1");
	expect_line(s, "wgmon_table_attached 1");
	expect_line(s, "wgmon_table_peers 8");
	expect_line(s, "wgmon_table_capacity 1024");
	expect_line(s, "wgmon_writer_heartbeat_age_seconds 0.000000");
	expect_line(s, "wgmon_interface_up{host=\"vpn1\",iface=\"wg0\"} 1");
	expect_line(s, "wgmon_interface_up{host=\"vpn1\",iface=\"wg1\"} 0");
	cr_expect_not(has_prefix_line(s, "wgmon_interface_up{host=\"vpn2\",iface=\"wg0\"}"),
	              "unknown state: absent");
	expect_line(s, "wgmon_interface_events_total{host=\"vpn2\",iface=\"wg0\","
	               "event=\"handshake_response_received\"} 2");
	expect_line(s, "wgmon_interface_peers{host=\"vpn1\",iface=\"wg0\",state=\"up\"} 1");
	expect_line(s, "wgmon_interface_peers{host=\"vpn1\",iface=\"wg0\",state=\"new\"} 1");
	expect_line(s, "wgmon_interface_peers{host=\"vpn1\",iface=\"wg0\",state=\"removed\"} 1");
	expect_line(s, "wgmon_interface_peers{host=\"vpn1\",iface=\"wg0\",state=\"stale\"} 0");
	expect_line(s, "wgmon_tenant_peers{tenant=\"\",state=\"up\"} 2");
	expect_line(s, "wgmon_tenant_peers{tenant=\"\",state=\"new\"} 3");
	expect_line(s, "wgmon_events_total{event=\"keypair_created\"} 3");
	expect_line(s, "wgmon_ingest_dropped_total{reason=\"table_full\"} 0");
	expect_line(s, "wgmon_series_dropped_total{family=\"wgmon_peer_events_total\"} 0");
	cr_expect_eq(promtool_check(s) % 77, 0);
	free(s);
}

Test(metrics, render_tenants)
{
	static struct wgmon_config cfg;
	struct metrics_opts o = {.cfg = &cfg};
	char err[CONFIG_ERR_MAX];
	char *s;

	config_init(&cfg);
	cr_assert_eq(config_load_string(
	                     &cfg,
	                     "[health]\nstale_after = 3000\n"
	                     "[tenant acme]\nhosts = vpn2\n"
	                     "[tenant.core]\nhosts = vpn1\ninterfaces = wg1\nstale_after = 1\n",
	                     "t.conf", err, sizeof(err)),
	             0, "%s", err);
	scenario();
	s = render(&o, NULL);
	/* vpn2's peer 4 is stale after 180 s, but not after acme's 3000 s */
	expect_line(s, "wgmon_peer_state{host=\"vpn2\",iface=\"wg0\",peer=\"4\",state=\"up\"} 1");
	expect_line(s, "wgmon_peer_info{host=\"vpn2\",iface=\"wg0\",peer=\"4\",tenant=\"acme\","
	               "endpoint=\"[2001:db8::1]:51820/0%0\"} 1");
	expect_line(s, "wgmon_peer_info{host=\"vpn1\",iface=\"wg1\",peer=\"3\",tenant=\"core\","
	               "endpoint=\"198.51.100.3:51820\"} 1");
	expect_line(s, "wgmon_tenant_peers{tenant=\"acme\",state=\"up\"} 1");
	expect_line(s, "wgmon_tenant_peers{tenant=\"acme\",state=\"new\"} 1");
	expect_line(s, "wgmon_tenant_peers{tenant=\"core\",state=\"failing\"} 1");
	expect_line(s, "wgmon_tenant_events_total{tenant=\"acme\",event=\"keepalive_received\"} 1");
	cr_expect_eq(promtool_check(s) % 77, 0);
	free(s);
}

Test(metrics, render_budget_and_compat)
{
	struct metrics_opts o = {.peer_events = true, .compat = true, .max_peer_series = 2};
	struct metrics_figures fig;
	char *s;

	scenario();
	s = render(&o, &fig);
	cr_expect_leq(count_prefix(s, "wgmon_peer_events_total{"), 2);
	cr_expect_gt(fig.series_dropped, 0);
	cr_expect(!has_line(s, "wgmon_series_dropped_total{family=\"wgmon_peer_events_total\"} 0"),
	          "the budget bit: it must say so");
	expect_line(s, "wgmon_peer_series_budget 2");
	free(s);

	o.max_peer_series = 1000;
	s = render(&o, &fig);
	cr_expect_eq(fig.series_dropped, 0);
	expect_line(s, "wgmon_peer_events_total{host=\"vpn1\",iface=\"wg0\",peer=\"1\","
	               "event=\"keypair_created\"} 1");
	expect_line(s, "wg_peer_monitoring_app_version_info{version=\"" WGMON_VERSION "\"} 1");
	/* peer 1: vpn1's initiation + vpn2's two responses; one keepalive on vpn1 */
	expect_line(
	        s,
	        "wg_peer_monitoring_wg_wireguard_events_total{peer=\"1\",event=\"Handshake\"} 3");
	expect_line(
	        s,
	        "wg_peer_monitoring_wg_wireguard_events_total{peer=\"1\",event=\"Keepalive\"} 1");
	expect_line(
	        s,
	        "wg_peer_monitoring_wg_wireguard_events_total{peer=\"4\",event=\"Keepalive\"} 1");
	cr_expect_not(has_prefix_line(s, "wg_peer_monitoring_wg_wireguard_events_total{peer=\"4\","
	                                 "event=\"Handshake\"}"));
	/* first sightings (vpn1 and vpn2) + vpn2's change */
	expect_line(s, "wg_peer_monitoring_wg_peer_changes_total{peer=\"1\"} 3");
	cr_expect_not(has_prefix_line(s, "wg_peer_monitoring_wg_peer_changes_total{peer=\"4\"}"));
	cr_expect_eq(promtool_check(s) % 77, 0);
	free(s);
}

Test(metrics, render_without_table)
{
	struct metrics_opts o = {0};
	struct metrics_self self = {.renders = 3, .requests_metrics = 2, .last_render_ns = 1500000};
	struct metrics_renderer *rd;
	struct metrics_body body = {0};
	struct metrics_figures fig;
	char *s;

	cr_assert_eq(metrics_renderer_new(&rd, &o), 0);
	cr_assert_eq(metrics_render(rd, NULL, NOW, &self, &body, &fig), 0);
	s = metrics_body_flatten(&body, NULL);
	expect_line(s, "wgmon_table_attached 0");
	expect_line(s, "wgmon_metrics_renders_total 3");
	expect_line(s, "wgmon_metrics_requests_total{path=\"/metrics\"} 2");
	expect_line(s, "wgmon_metrics_render_duration_seconds 0.001500");
	cr_expect_not(has_prefix_line(s, "wgmon_table_peers"));
	cr_expect_eq(promtool_check(s) % 77, 0);
	free(s);
	metrics_body_free(&body);
	metrics_renderer_free(rd);
}

Test(metrics, render_reuses_buffers_and_gzip_roundtrip)
{
	struct metrics_opts o = {.compat = true, .peer_events = true, .max_peer_series = 100};
	struct metrics_renderer *rd;
	struct metrics_body body = {0};
	struct metrics_figures fig;
	struct metrics_buf gz = {0};
	char *plain, *back;
	size_t len;
	uLongf out_len;
	z_stream z;

	scenario();
	cr_assert_eq(shm_reader_attach(&r, name), 0);
	cr_assert_eq(metrics_renderer_new(&rd, &o), 0);
	for (int i = 0; i < 3; i++) /* the same table renders the same bytes every time */
		cr_assert_eq(metrics_render(rd, r, NOW, NULL, &body, &fig), 0);
	plain = metrics_body_flatten(&body, &len);
	cr_expect_eq(len, fig.bytes);
	cr_assert_eq(metrics_gzip(&body, 6, &gz), 0);
	cr_expect_lt(gz.len, len);
	back = malloc(len + 1);
	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz.p;
	z.avail_in = (uInt)gz.len;
	z.next_out = (Bytef *)back;
	z.avail_out = (uInt)len + 1;
	cr_expect_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	out_len = z.total_out;
	inflateEnd(&z);
	cr_expect_eq(out_len, len);
	cr_expect_arr_eq(back, plain, len);
	free(back);
	free(plain);
	free(gz.p);
	metrics_body_free(&body);
	metrics_renderer_free(rd);
}
