/* SPDX-License-Identifier: MIT */
/*
 * wgmon-metrics end to end: the shared corpus replayed by the real wgmond, served by the real
 * wgmon-metrics, fetched with curl. Every served value is checked against the table read with
 * the reader library; the exposition passes `promtool check metrics`; gzip, HEAD, errors,
 * /healthz, IPv6, a table that appears late or is recreated, slow clients that hold snapshots,
 * and SIGTERM are exercised. Every process is bounded in time and cleaned up.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "sinks/metrics/metrics_internal.h"
#include "tests/test_metrics_util.c"
#include "tools/config.h"

#define SEC 1000000000ull

static struct tw_proc wd;
static struct tm_proc mp;
static char conf_path[96];

static void setup(void)
{
	memset(&wd, 0, sizeof(wd));
	memset(&mp, 0, sizeof(mp));
	wd.pid = mp.pid = -1;
	snprintf(conf_path, sizeof(conf_path), "/tmp/wgmon-metrics-test-%d.conf", (int)getpid());
}

static void teardown(void)
{
	tm_cleanup(&mp);
	tw_cleanup(&wd);
	unlink(conf_path);
}

TestSuite(metrics_http, .init = setup, .fini = teardown, .timeout = 120);

/* ---- The oracle: what the table says each series must be ---------------------------------- */

struct oracle {
	const struct tm_expo *e;
	const struct shm_reader *r;
	const struct wgmon_config *cfg;
	uint64_t now;
	unsigned mismatches;
};

static void escaped(char *dst, const char *src)
{
	dst[metrics_escape(dst, src, strlen(src))] = '\0';
}

/* Expect series `series` to have value `want` (NULL: to be absent). */
static void expect_value(struct oracle *o, const char *series, const char *want)
{
	const char *got = tm_expo_get(o->e, series);

	if ((!want && !got) || (want && got && !strcmp(want, got)))
		return;
	if (o->mismatches++ < 20)
		cr_log_error("%s: got %s, want %s", series, got ? got : "(absent)",
		             want ? want : "(absent)");
}

static void expect_u64(struct oracle *o, const char *series, uint64_t v)
{
	char want[32];

	snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
	expect_value(o, series, want);
}

static void expect_time(struct oracle *o, const char *series, uint64_t ns)
{
	char want[48];

	snprintf(want, sizeof(want), "%llu.%06llu", (unsigned long long)(ns / SEC),
	         (unsigned long long)(ns % SEC / 1000));
	expect_value(o, series, ns ? want : NULL);
}

static void check_pipeline(struct oracle *o)
{
	struct shm_stats st;
	char series[256];

	shm_reader_stats(o->r, &st);
	expect_u64(o, "wgmon_table_peers", st.peers);
	expect_u64(o, "wgmon_table_capacity", st.peer_capacity);
	expect_u64(o, "wgmon_ingest_datagrams_total", st.datagrams);
	expect_u64(o, "wgmon_ingest_bytes_total", st.bytes);
	expect_u64(o, "wgmon_ingest_lines_total", st.lines);
	for (unsigned d = 0; d < SHM_DROP__COUNT; d++) {
		snprintf(series, sizeof(series), "wgmon_ingest_dropped_total{reason=\"%s\"}",
		         shm_drop_name(d));
		expect_u64(o, series, st.dropped[d]);
	}
	for (unsigned k = 1; k < PARSE_REJECT__COUNT; k++) {
		snprintf(series, sizeof(series), "wgmon_parse_rejected_total{reason=\"%s\"}",
		         parse_reject_name(k));
		expect_u64(o, series, st.rejected[k]);
	}
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
		snprintf(series, sizeof(series), "wgmon_events_total{event=\"%s\"}",
		         parse_event_name(k));
		expect_u64(o, series, st.events[k]);
	}
}

/* Every per-peer series of one peer. Returns its state. */
static int check_peer(struct oracle *o, const struct shm_peer *p)
{
	char host[800], iface[64], pre[1024], series[2048], ep[64] = "";
	struct shm_iface f = {0};
	const char *hname = shm_reader_host_name(o->r, p->host), *tenant;
	int state;

	if (p->iface != SHM_NO_IFACE)
		cr_assert_eq(shm_reader_iface(o->r, p->iface, &f), 0);
	escaped(host, hname);
	escaped(iface, f.name);
	snprintf(pre, sizeof(pre), "host=\"%s\",iface=\"%s\",peer=\"%llu\"", host, iface,
	         (unsigned long long)p->peer);
	tenant = config_tenant_of(o->cfg, hname, f.name);
	state = shm_peer_state(p, o->now, config_stale_after(o->cfg, tenant) * SEC);
#define SERIES(fmt, ...) (snprintf(series, sizeof(series), fmt, __VA_ARGS__), series)
	expect_time(o, SERIES("wgmon_peer_last_handshake_timestamp_seconds{%s}", pre),
	            p->last_handshake);
	expect_time(o, SERIES("wgmon_peer_last_handshake_received_timestamp_seconds{%s}", pre),
	            p->last_handshake_rx);
	expect_time(o, SERIES("wgmon_peer_last_keepalive_received_timestamp_seconds{%s}", pre),
	            p->last_keepalive_rx);
	expect_u64(o, SERIES("wgmon_peer_endpoint_changes_total{%s}", pre), p->endpoint_changes);
	expect_value(o, SERIES("wgmon_peer_state{%s,state=\"%s\"}", pre, shm_state_name(state)),
	             "1");
	if (p->endpoint.af == PARSE_AF_INET || p->endpoint.af == PARSE_AF_INET6)
		parse_endpoint_format(&p->endpoint, PARSE_STYLE_ENDPOINT, ep, sizeof(ep));
	expect_value(o,
	             SERIES("wgmon_peer_info{%s,tenant=\"%s\",endpoint=\"%s\"}", pre,
	                    tenant ? tenant : "", ep),
	             "1");
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
		SERIES("wgmon_peer_events_total{%s,event=\"%s\"}", pre, parse_event_name(k));
		if (p->events[k])
			expect_u64(o, series, p->events[k]);
		else
			expect_value(o, series, NULL);
	}
#undef SERIES
	return state;
}

static void check_ifaces(struct oracle *o, uint64_t (*peers)[METRICS_STATES])
{
	const struct shm_header *h = shm_reader_header(o->r);
	char host[800], iface[64], series[2048];
	struct shm_iface f;

	for (uint32_t i = 0; i < h->ifaces_used; i++) {
		cr_assert_eq(shm_reader_iface(o->r, i, &f), 0);
		escaped(host, shm_reader_host_name(o->r, f.host));
		escaped(iface, f.name);
		snprintf(series, sizeof(series), "wgmon_interface_up{host=\"%s\",iface=\"%s\"}",
		         host, iface);
		expect_value(o, series,
		             f.state == SHM_IFACE_UP     ? "1"
		             : f.state == SHM_IFACE_DOWN ? "0"
		                                         : NULL);
		for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
			snprintf(series, sizeof(series),
			         "wgmon_interface_events_total{host=\"%s\",iface=\"%s\",event=\"%"
			         "s\"}",
			         host, iface, parse_event_name(k));
			if (f.events[k])
				expect_u64(o, series, f.events[k]);
			else
				expect_value(o, series, NULL);
		}
		for (int st = 0; st < METRICS_STATES; st++) {
			snprintf(series, sizeof(series),
			         "wgmon_interface_peers{host=\"%s\",iface=\"%s\",state=\"%s\"}",
			         host, iface, shm_state_name(st));
			expect_u64(o, series, peers[i][st]);
		}
	}
}

/* The replaced tool's counters, summed over hosts per peer id. */
static void check_compat(struct oracle *o)
{
	const uint64_t slots = shm_reader_peer_slots(o->r);
	uint64_t ids[4096], hs[4096] = {0}, ka[4096] = {0}, ch[4096] = {0};
	size_t n = 0;
	struct shm_peer p;
	char series[256];

	for (uint64_t i = shm_reader_peer_next(o->r, 0); i < slots;
	     i = shm_reader_peer_next(o->r, i + 1)) {
		size_t j;

		if (shm_reader_peer_snapshot(o->r, i, &p) < 0)
			continue;
		for (j = 0; j < n && ids[j] != p.peer; j++)
			;
		if (j == n)
			ids[n++] = p.peer;
		hs[j] += (uint64_t)p.events[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] +
		         p.events[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED];
		ka[j] += p.events[PARSE_EV_KEEPALIVE_RECEIVED];
		if (p.events[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] +
		    p.events[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED])
			ch[j] += p.endpoint_changes + 1ull;
	}
	for (size_t j = 0; j < n; j++) {
		snprintf(series, sizeof(series),
		         "wg_peer_monitoring_wg_wireguard_events_total{peer=\"%llu\",event="
		         "\"Handshake\"}",
		         (unsigned long long)ids[j]);
		if (hs[j])
			expect_u64(o, series, hs[j]);
		else
			expect_value(o, series, NULL);
		snprintf(series, sizeof(series),
		         "wg_peer_monitoring_wg_wireguard_events_total{peer=\"%llu\",event="
		         "\"Keepalive\"}",
		         (unsigned long long)ids[j]);
		if (ka[j])
			expect_u64(o, series, ka[j]);
		else
			expect_value(o, series, NULL);
		snprintf(series, sizeof(series),
		         "wg_peer_monitoring_wg_peer_changes_total{peer=\"%llu\"}",
		         (unsigned long long)ids[j]);
		if (ch[j])
			expect_u64(o, series, ch[j]);
		else
			expect_value(o, series, NULL);
	}
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static const char tenants_conf[] =
        "[health]\nstale_after = 600\n"
        "[tenant edge]\nhosts = edge-*, *relay*\n"
        "[tenant.prod]\ninterfaces = wg-prod*, wg0, wg1\nstale_after = 30\n";

Test(metrics_http, corpus_values_match_table)
{
	static struct wgmon_config cfg;
	static uint64_t iface_peers[SHM_IFACES_MAX][METRICS_STATES];
	uint64_t tenant_peers[3] = {0}, slots, peers = 0;
	char url[128], err[CONFIG_ERR_MAX], *show;
	struct oracle o = {0};
	struct tm_reply rep;
	struct tm_expo e;
	struct shm_reader *r;
	struct shm_peer p;
	int st;

	tm_replay_corpus(&wd, "values");
	write_conf(tenants_conf);
	config_init(&cfg);
	cr_assert_eq(config_load_file(&cfg, conf_path, err, sizeof(err)), 0, "%s", err);
	tm_init(&mp, wd.shm, "values");
	tm_arg(&mp, "--config");
	tm_arg(&mp, conf_path);
	tm_arg(&mp, "--compat");
	tm_arg(&mp, "--peer-events");
	tm_arg(&mp, "--interval");
	tm_arg(&mp, "100");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp), "wgmon-metrics did not start: %s", tm_log(&mp));
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/metrics");
	cr_assert(tm_wait_body(url, "\nwgmon_table_attached 1\n", 20, &rep), "no table: %d",
	          rep.code);
	cr_expect(strstr(rep.headers, "text/plain; version=0.0.4"), "%s", rep.headers);
	cr_expect_eq(tm_promtool_check(rep.body) % 77, 0, "promtool check metrics failed");
	tm_expo_parse(&e, rep.body);

	cr_assert_eq(shm_reader_attach(&r, wd.shm), 0);
	o = (struct oracle){.e = &e, .r = r, .cfg = &cfg, .now = metrics_now_real()};
	check_pipeline(&o);
	slots = shm_reader_peer_slots(r);
	for (uint64_t i = shm_reader_peer_next(r, 0); i < slots;
	     i = shm_reader_peer_next(r, i + 1)) {
		struct shm_iface f = {0};
		int state, t;

		cr_assert_eq(shm_reader_peer_snapshot(r, i, &p), 0);
		state = check_peer(&o, &p);
		if (p.iface != SHM_NO_IFACE) {
			iface_peers[p.iface][state]++;
			shm_reader_iface(r, p.iface, &f);
		}
		t = config_tenant_index(&cfg, shm_reader_host_name(r, p.host), f.name);
		tenant_peers[t < 0 ? 2 : t]++;
		peers++;
	}
	check_ifaces(&o, iface_peers);
	check_compat(&o);
	cr_expect_eq(o.mismatches, 0, "%u series differ from the table", o.mismatches);

	/* the same number of peers as `wgmon show`, a different reader */
	cr_expect_eq(tm_expo_count(&e, "wgmon_peer_state"), peers);
	cr_expect_eq(tm_expo_count(&e, "wgmon_peer_info"), peers);
	snprintf(url, sizeof(url), "'%s/tools/wgmon' show --shm '%s' --json | wc -l",
	         getenv("WGMON_BIN"), wd.shm);
	show = tw_run(url, &st);
	cr_expect_eq(strtoull(show, NULL, 10), peers, "wgmon show: %s", show);
	free(show);
	cr_expect_gt(peers, 100, "the corpus makes hundreds of peers");
	for (int t = 0; t < 3; t++) {
		uint64_t sum = 0;
		const char *names[] = {"edge", "prod", ""};

		for (int s = 0; s < METRICS_STATES; s++) {
			char series[128];
			const char *v;

			snprintf(series, sizeof(series),
			         "wgmon_tenant_peers{tenant=\"%s\",state=\"%s\"}", names[t],
			         shm_state_name(s));
			v = tm_expo_get(&e, series);
			cr_assert_not_null(v, "%s", series);
			sum += strtoull(v, NULL, 10);
		}
		cr_expect_eq(sum, tenant_peers[t], "tenant '%s'", names[t]);
	}
	cr_expect_gt(tenant_peers[0] * tenant_peers[1], 0, "both tenants claim peers");
	shm_reader_detach(r);
	tm_expo_free(&e);
	tm_reply_free(&rep);
	cr_expect_eq(tm_stop(&mp), 0);
}

Test(metrics_http, gzip_head_and_errors)
{
	char url[128];
	struct tm_reply rep, gz;
	struct metrics_stats st;

	tm_replay_corpus(&wd, "gzip");
	tm_init(&mp, wd.shm, "gzip");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp));
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/metrics");
	cr_assert(tm_wait_body(url, "\nwgmon_table_attached 1\n", 20, &rep));
	cr_expect_not(strcasestr(rep.headers, "content-encoding"), "identity unless asked");

	/* the first gzip client waits for the compression; the body decodes to an exposition */
	tm_get(url, "--compressed", &gz);
	cr_expect_eq(gz.code, 200);
	cr_expect(strcasestr(gz.headers, "content-encoding: gzip"), "%s", gz.headers);
	cr_expect(strcasestr(gz.headers, "vary: accept-encoding"), "%s", gz.headers);
	cr_expect(strstr(gz.body, "\nwgmon_table_peers "), "decoded body");
	cr_expect_eq(tm_promtool_check(gz.body) % 77, 0);
	tm_reply_free(&gz);
	tm_get(url, "-H 'Accept-Encoding: gzip;q=0'", &gz);
	cr_expect_not(strcasestr(gz.headers, "content-encoding"), "q=0 refuses gzip");
	tm_reply_free(&gz);
	cr_assert(tm_stats(&mp, &st));
	cr_expect_geq(st.requests_gzip, 1);
	cr_expect_gt(st.last_gzip_bytes, 0);
	cr_expect_lt(st.last_gzip_bytes, st.last_bytes);

	tm_get(url, "-I", &gz); /* HEAD: the headers of GET, no body */
	cr_expect_eq(gz.code, 200);
	cr_expect(strcasestr(gz.headers, "content-length:"));
	tm_reply_free(&gz);
	tm_get(url, "-X POST -d x", &gz);
	cr_expect_eq(gz.code, 405);
	cr_expect(strcasestr(gz.headers, "allow: GET, HEAD"), "%s", gz.headers);
	tm_reply_free(&gz);
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/nope");
	tm_get(url, NULL, &gz);
	cr_expect_eq(gz.code, 404);
	tm_reply_free(&gz);
	tm_reply_free(&rep);
	cr_expect_eq(tm_stop(&mp), 0);
}

Test(metrics_http, healthz_follows_the_writer)
{
	char url[128], listen[64];
	struct tm_reply rep;
	uint64_t end;

	tw_init(&wd, "health");
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", wd.port);
	tw_arg(&wd, "--listen");
	tw_arg(&wd, listen);
	tw_arg(&wd, "--capacity");
	tw_arg(&wd, "1024");
	cr_assert_eq(tw_spawn(&wd), 0);
	cr_assert(tw_wait_ready(&wd), "%s", tw_log(&wd));
	tm_init(&mp, wd.shm, "health");
	tm_arg(&mp, "--healthz-stale");
	tm_arg(&mp, "2");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp));
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/healthz");
	tm_get(url, NULL, &rep);
	cr_expect_eq(rep.code, 200, "%s", rep.body);
	cr_expect(rep.body && !strncmp(rep.body, "ok: writer heartbeat", 20), "%s", rep.body);
	tm_reply_free(&rep);

	cr_expect_eq(tw_stop(&wd, SIGTERM), 0); /* no more heartbeats */
	end = tw_now_ns() + tw_bound_ns(15);
	do {
		tm_reply_free(&rep);
		tm_get(url, NULL, &rep);
	} while (rep.code == 200 && tw_now_ns() < end && (tw_pause(), true));
	cr_expect_eq(rep.code, 503, "%s", rep.body);
	cr_expect(rep.body && !strncmp(rep.body, "stale: writer heartbeat", 23), "%s", rep.body);
	tm_reply_free(&rep);
	cr_expect_eq(tm_stop(&mp), 0);
}

Test(metrics_http, table_late_then_recreated)
{
	char url[128], body[64];
	struct tm_reply rep;
	struct shm_reader *r;
	struct shm_stats st;

	tm_replay_setup(&wd, "late"); /* its name; no table yet */
	tm_init(&mp, wd.shm, "late");
	tm_arg(&mp, "--interval");
	tm_arg(&mp, "50");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp));
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/metrics");
	cr_assert(tm_wait_body(url, "\nwgmon_table_attached 0\n", 20, &rep), "%d", rep.code);
	cr_expect_eq(tm_promtool_check(rep.body) % 77, 0);
	tm_reply_free(&rep);

	tm_replay_run(&wd); /* the table appears: wgmon-metrics attaches by itself */
	cr_assert_eq(shm_reader_attach(&r, wd.shm), 0);
	shm_reader_stats(r, &st);
	shm_reader_detach(r);
	snprintf(body, sizeof(body), "\nwgmon_table_peers %llu\n", (unsigned long long)st.peers);
	cr_assert(tm_wait_body(url, body, 20, &rep), "%s", tm_log(&mp));
	cr_expect(strstr(rep.body, "\nwgmon_table_generation 1\n"));
	tm_reply_free(&rep);

	/* wgmond --reset with another geometry: a new table under the name (generation 2) */
	wd.args[TM_CAPACITY_ARG] = "8192";
	tw_arg(&wd, "--reset");
	tm_replay_run(&wd);
	cr_assert(tm_wait_body(url, "\nwgmon_table_generation 2\n", 20, &rep), "%s", tm_log(&mp));
	cr_expect(strstr(rep.body, "\nwgmon_table_capacity 8192\n"));
	cr_expect(strstr(rep.body, body), "the same corpus, the same peers");
	tm_reply_free(&rep);
	cr_expect_eq(tm_stop(&mp), 0);
}

Test(metrics_http, ipv6_listen)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	char url[128];
	struct tm_reply rep;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		cr_skip_test("no IPv6 loopback here");
	}
	close(fd);
	tm_replay_corpus(&wd, "v6");
	tm_init(&mp, wd.shm, "v6");
	tm_arg(&mp, "--listen");
	tm_arg(&mp, "[::1]:0");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp), "%s", tm_log(&mp));
	snprintf(url, sizeof(url), "http://[::1]:%u/metrics", mp.port);
	cr_expect(tm_wait_body(url, "\nwgmon_table_attached 1\n", 20, &rep), "%d", rep.code);
	tm_reply_free(&rep);
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/metrics");
	tm_get(url, "--connect-timeout 2", &rep);
	cr_expect_eq(rep.code, 0, "an IPv6 listener is IPv6 only");
	tm_reply_free(&rep);
	cr_expect_eq(tm_stop(&mp), 0);
}

Test(metrics_http, stats_and_sigterm)
{
	char cmd[512], *out, name[128];
	struct metrics_stats st;
	int status;

	tm_replay_corpus(&wd, "term");
	tm_init(&mp, wd.shm, "term");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp));
	snprintf(cmd, sizeof(cmd), "'%s/sinks/wgmon-metrics' --shm '%s' --stats",
	         getenv("WGMON_BIN"), wd.shm);
	out = tw_run(cmd, &status);
	cr_expect_eq(status, 0);
	cr_expect(strstr(out, "renders ") && strstr(out, "last_peers "), "%s", out);
	free(out);
	cr_assert(tm_stats(&mp, &st));

	/* one wgmon-metrics per table: a second one refuses to take the figures over */
	snprintf(cmd, sizeof(cmd), "'%s/sinks/wgmon-metrics' --shm '%s' --listen 127.0.0.1:0 2>&1",
	         getenv("WGMON_BIN"), wd.shm);
	out = tw_run(cmd, &status);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
	cr_expect(strstr(out, "another wgmon-metrics serves this table"), "%s", out);
	free(out);
	cr_assert(tm_stats(&mp, &st), "the first one's figures are untouched");

	cr_expect_eq(tm_stop(&mp), 0, "SIGTERM: exit 0");
	cr_assert_eq(metrics_stats_name(wd.shm, name, sizeof(name)), 0);
	cr_expect_eq(metrics_stats_read(name, &st), -ENOENT, "figures removed at exit");
	snprintf(cmd, sizeof(cmd), "'%s/sinks/wgmon-metrics' --shm '%s' --stats",
	         getenv("WGMON_BIN"), wd.shm);
	out = tw_run(cmd, &status);
	cr_expect_neq(status, 0, "--stats without a running wgmon-metrics fails");
	free(out);
}

/* ---- Slow clients ---------------------------------------------------------------------------- */

#define SLOW_PEERS_MIN      30000
#define SLOW_PEERS_MAX      400000
#define SLOW_BYTES_PER_PEER 300 /* at least, in this table's exposition */

/* Enough peers that one exposition is 3x what the kernel may buffer for a TCP sender. */
static uint64_t slow_peers(void)
{
	unsigned long lo, def, max = 4u << 20;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
	uint64_t n;

	if (f) {
		if (fscanf(f, "%lu %lu %lu", &lo, &def, &max) != 3)
			max = 4u << 20;
		fclose(f);
	}
	n = 3ull * max / SLOW_BYTES_PER_PEER;
	return n < SLOW_PEERS_MIN ? SLOW_PEERS_MIN : n > SLOW_PEERS_MAX ? SLOW_PEERS_MAX : n;
}

/* A table big enough that a client that never reads keeps its response (and snapshot). */
static struct shm_writer *slow_table(const char *name, uint64_t peers)
{
	struct shm_writer_opts o = {
	        .name = name, .capacity = peers, .event_ring = 64, .gid = -1, .reset = true};
	struct shm_writer *w;
	struct parse_event ev;

	cr_assert_eq(shm_writer_open(&w, &o), 0, "%s", shm_writer_error());
	memset(&ev, 0, sizeof(ev));
	ev.kind = PARSE_EV_KEEPALIVE_RECEIVED;
	ev.fields = PARSE_F_PEER | PARSE_F_ENDPOINT;
	ev.repeat = 1;
	ev.iface_len = 3;
	memcpy(ev.iface, "wg0", 3);
	ev.endpoint.af = PARSE_AF_INET;
	ev.endpoint.port = 51820;
	for (uint64_t i = 1; i <= peers; i++) {
		ev.peer = i;
		memcpy(ev.endpoint.addr, &i, 4);
		cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, metrics_now_real()), 0);
	}
	shm_writer_heartbeat(w, metrics_now_real());
	return w;
}

/* Ask for /metrics and never read: the response holds its snapshot. */
static int slow_client(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	return fd;
}

static uint64_t renders_of(struct tm_proc *p)
{
	struct metrics_stats st;

	cr_assert(tm_stats(p, &st));
	return st.renders;
}

/* Poll until the stats field at `off` reaches `want`; false after `seconds`. */
static bool wait_stat(struct tm_proc *p, size_t off, uint64_t want, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	struct metrics_stats st;

	while (tw_now_ns() < end) {
		if (tm_stats(p, &st) && *(const uint64_t *)((const char *)&st + off) >= want)
			return true;
		tw_pause();
	}
	return false;
}

Test(metrics_http, slow_clients_never_block_the_renderer)
{
	char name[64], url[128];
	struct shm_writer *w;
	struct tm_reply rep;
	uint64_t n, peers = slow_peers();
	int c1, c2;

	snprintf(name, sizeof(name), "/wgmon-test-metrics-slow-%d", (int)getpid());
	w = slow_table(name, peers);
	tm_init(&mp, name, "slow");
	tm_arg(&mp, "--interval");
	tm_arg(&mp, "20");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp));
	cr_assert(wait_stat(&mp, offsetof(struct metrics_stats, renders), 2, 20));

	c1 = slow_client(mp.port); /* holds the current snapshot */
	n = renders_of(&mp);
	cr_expect(wait_stat(&mp, offsetof(struct metrics_stats, renders), n + 2, 20),
	          "one held snapshot: renders go on");
	c2 = slow_client(mp.port); /* holds another: with the current one, all three are taken */
	cr_expect(wait_stat(&mp, offsetof(struct metrics_stats, render_skipped), 1, 20),
	          "all snapshots held: passes are skipped, not waited for");
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/metrics");
	tm_get(url, NULL, &rep); /* others are still served, at once */
	cr_expect_eq(rep.code, 200);
	cr_expect_gt(rep.len, peers * SLOW_BYTES_PER_PEER, "%zu bytes", rep.len);
	tm_reply_free(&rep);
	close(c1);
	close(c2);
	n = renders_of(&mp);
	cr_expect(wait_stat(&mp, offsetof(struct metrics_stats, renders), n + 2, 20),
	          "released: renders resume");
	cr_expect_eq(tm_stop(&mp), 0);
	shm_writer_close(w);
	(void)!shm_writer_unlink(name);
}
