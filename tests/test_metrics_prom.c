/* SPDX-License-Identifier: MIT */
/*
 * wgmon-metrics with the real Prometheus: `promtool check rules` and `promtool test rules` on
 * deploy/prometheus/; then a Prometheus server on loopback (private config and data dir,
 * scrape every second, the shipped rules loaded) scrapes wgmon-metrics serving the replayed
 * corpus, and the test reads wgmon series back through /api/v1/query, checks that every rule
 * loaded healthy, and that every query of deploy/grafana/wgmon.json evaluates.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "sinks/metrics/metrics_internal.h"
#include "tests/test_metrics_util.c"

#define PROM_ARGS_MAX 8

static struct tw_proc wd;
static struct tm_proc mp;
static pid_t prom = -1;
static char prom_dir[64];
static int prom_port;

static void setup(void)
{
	memset(&wd, 0, sizeof(wd));
	memset(&mp, 0, sizeof(mp));
	wd.pid = mp.pid = -1;
}

static void prom_stop(void)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(20);
	int st;

	if (prom <= 0)
		return;
	kill(prom, SIGTERM);
	while (waitpid(prom, &st, WNOHANG) != prom) {
		if (tw_now_ns() > end) {
			kill(prom, SIGKILL);
			waitpid(prom, &st, 0);
			break;
		}
		tw_pause();
	}
	prom = -1;
}

static void teardown(void)
{
	char cmd[128];

	prom_stop();
	if (prom_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", prom_dir);
		if (system(cmd) != 0)
			cr_log_warn("cannot remove %s", prom_dir);
	}
	tm_cleanup(&mp);
	tw_cleanup(&wd);
}

TestSuite(metrics_prom, .init = setup, .fini = teardown, .timeout = 180);

static bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Run a shell command; its exit status, its output into *out (malloc'd). */
static int sh(const char *cmd, char **out)
{
	int st;
	char *o = tw_run(cmd, &st);

	if (out)
		*out = o;
	else
		free(o);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(metrics_prom, promtool_rules)
{
	char cmd[1024], *out;
	const char *src = getenv("WGMON_SRC");

	if (!have("promtool"))
		cr_skip_test("promtool is not installed");
	snprintf(cmd, sizeof(cmd),
	         "cd '%s/deploy/prometheus' && promtool check rules wgmon.rules.yml 2>&1", src);
	cr_expect_eq(sh(cmd, &out), 0, "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd),
	         "cd '%s/deploy/prometheus' && promtool test rules wgmon.rules.test.yml 2>&1", src);
	cr_expect_eq(sh(cmd, &out), 0, "%s", out);
	cr_expect(strstr(out, "SUCCESS"), "%s", out);
	free(out);
}

/* ---- A Prometheus server ----------------------------------------------------------------- */

static void prom_start(uint16_t target_port)
{
	char path[128], arg[4][256];
	const char *argv[PROM_ARGS_MAX];
	FILE *f;

	snprintf(prom_dir, sizeof(prom_dir), "/tmp/wgmon-prom-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(prom_dir));
	snprintf(path, sizeof(path), "%s/prometheus.yml", prom_dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
	        "rule_files:\n  - '%s/deploy/prometheus/wgmon.rules.yml'\n"
	        "scrape_configs:\n  - job_name: wgmon\n    static_configs:\n"
	        "      - targets: ['127.0.0.1:%u']\n",
	        getenv("WGMON_SRC"), target_port);
	fclose(f);
	prom_port = tm_free_tcp_port();
	snprintf(arg[0], sizeof(arg[0]), "--config.file=%s", path);
	snprintf(arg[1], sizeof(arg[1]), "--storage.tsdb.path=%s/data", prom_dir);
	snprintf(arg[2], sizeof(arg[2]), "--web.listen-address=127.0.0.1:%d", prom_port);
	snprintf(arg[3], sizeof(arg[3]), "%s/prometheus.log", prom_dir);
	argv[0] = "prometheus";
	for (int i = 0; i < 3; i++)
		argv[1 + i] = arg[i];
	argv[4] = "--log.level=warn";
	argv[5] = NULL;
	prom = fork();
	cr_assert_geq(prom, 0);
	if (prom == 0) {
		int log = open(arg[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(log, 1);
		dup2(log, 2);
		execvp("prometheus", (char *const *)argv);
		_exit(127);
	}
}

/* GET /api/v1/<what> with the query in a file (curl url-encodes it); the JSON, malloc'd. */
static char *prom_api(const char *what, const char *query)
{
	char qpath[128], cmd[512], *out = NULL;
	FILE *f;

	snprintf(qpath, sizeof(qpath), "%s/query.txt", prom_dir);
	if (query) {
		f = fopen(qpath, "w");
		cr_assert_not_null(f);
		fputs(query, f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
	         "curl -sS --max-time 10 -G %s%s%s 'http://127.0.0.1:%d/api/v1/%s'",
	         query ? "--data-urlencode 'query@" : "", query ? qpath : "", query ? "'" : "",
	         prom_port, what);
	sh(cmd, &out);
	return out;
}

/* The value of the first sample of an instant query ("" if none), into buf. */
static const char *prom_value(const char *json, char *buf, size_t cap)
{
	const char *v = json ? strstr(json, "\"value\":[") : NULL, *q, *e;

	buf[0] = '\0';
	if (!v || !(q = strchr(v, ',')) || q[1] != '"' || !(e = strchr(q + 2, '"')))
		return buf;
	snprintf(buf, cap, "%.*s", (int)(e - q - 2), q + 2);
	return buf;
}

/* Poll an instant query until its first value is `want` (bounded). */
static bool prom_wait_value(const char *query, const char *want, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	char got[64];

	for (;;) {
		char *json = prom_api("query", query);

		prom_value(json, got, sizeof(got));
		free(json);
		if (!strcmp(got, want))
			return true;
		if (tw_now_ns() > end) {
			cr_log_error("%s: got '%s', want '%s'", query, got, want);
			return false;
		}
		tw_pause();
	}
}

/* ---- The dashboard's queries ------------------------------------------------------------- */

/* The next "expr" string of the dashboard JSON from *p, unescaped and with the template
 * variables replaced; false when there is none left. */
static bool next_expr(const char **p, char *out, size_t cap)
{
	static const char *const vars[][2] = {
	        {"$__rate_interval", "1m"}, {"$instance", ".*"}, {"$tenant", ".*"}, {"$host", ".*"},
	        {"$iface", ".*"},
	};
	const char *s = strstr(*p, "\"expr\": \"");
	size_t n = 0;

	if (!s)
		return false;
	for (s += 9; *s && *s != '"' && n + 16 < cap; s++) {
		size_t v;

		if (*s == '\\' && s[1]) {
			out[n++] = *++s;
			continue;
		}
		for (v = 0; v < sizeof(vars) / sizeof(vars[0]); v++)
			if (!strncmp(s, vars[v][0], strlen(vars[v][0])))
				break;
		if (v < sizeof(vars) / sizeof(vars[0])) {
			n += (size_t)snprintf(out + n, cap - n, "%s", vars[v][1]);
			s += strlen(vars[v][0]) - 1;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	*p = s;
	return true;
}

static void check_dashboard(void)
{
	char path[512], expr[2048];
	struct tm_reply rep = {0};
	const char *p;
	FILE *f;
	long size;
	int n = 0;

	snprintf(path, sizeof(path), "%s/deploy/grafana/wgmon.json", getenv("WGMON_SRC"));
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	rep.body = calloc(1, (size_t)size + 1);
	cr_assert_eq(fread(rep.body, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (p = rep.body; next_expr(&p, expr, sizeof(expr)); n++) {
		char *json = prom_api("query", expr);

		cr_expect(json && strstr(json, "\"status\":\"success\""), "%s: %s", expr,
		          json ? json : "(no answer)");
		free(json);
	}
	cr_expect_gt(n, 20, "the dashboard's queries");
	tm_reply_free(&rep);
}

Test(metrics_prom, prometheus_scrapes_wgmon_metrics)
{
	char want[64], query[256], *json;
	struct shm_reader *r;
	struct shm_stats st;

	if (!have("prometheus") || !have("curl"))
		cr_skip_test("prometheus or curl is not installed");
	tm_replay_corpus(&wd, "prom");
	cr_assert_eq(shm_reader_attach(&r, wd.shm), 0);
	shm_reader_stats(r, &st);
	shm_reader_detach(r);
	tm_init(&mp, wd.shm, "prom");
	tm_arg(&mp, "--compat");
	tm_arg(&mp, "--interval");
	tm_arg(&mp, "200");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp), "%s", tm_log(&mp));
	prom_start(mp.port);

	/* a wgmon series read back through Prometheus' HTTP API */
	snprintf(want, sizeof(want), "%llu", (unsigned long long)st.peers);
	cr_assert(prom_wait_value("wgmon_table_peers", want, 60), "Prometheus never got it");
	cr_expect(prom_wait_value("up{job=\"wgmon\"}", "1", 10));
	cr_expect(prom_wait_value("count(wgmon_peer_state == 1)", want, 10));
	cr_expect(prom_wait_value("count(wgmon_peer_info)", want, 10));
	snprintf(want, sizeof(want), "%llu", (unsigned long long)st.lines);
	cr_expect(prom_wait_value("wgmon_ingest_lines_total", want, 10));
	snprintf(want, sizeof(want), "%llu",
	         (unsigned long long)st.events[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED]);
	cr_expect(prom_wait_value(
	        "sum(wgmon_interface_events_total{event=\"handshake_response_received\"})", want,
	        10));
	snprintf(query, sizeof(query),
	         "sum(wg_peer_monitoring_wg_wireguard_events_total{event=\"Keepalive\"})");
	snprintf(want, sizeof(want), "%llu",
	         (unsigned long long)st.events[PARSE_EV_KEEPALIVE_RECEIVED]);
	cr_expect(prom_wait_value(query, want, 10), "compat keepalives = keepalives received");
	json = prom_api("query", "wgmon_build_info");
	cr_expect(strstr(json, "\"version\":\"" WGMON_VERSION "\""), "%s", json);
	free(json);

	/* the shipped rules load and evaluate in a real server */
	json = prom_api("rules", NULL);
	cr_expect(json && strstr(json, "\"name\":\"WgmonPeerHandshakeStale\""), "%s", json);
	cr_expect(json && strstr(json, "\"name\":\"WgmonWriterHeartbeatStale\""), "%s", json);
	cr_expect(json && !strstr(json, "\"health\":\"err\""), "a rule failed: %s", json);
	free(json);
	check_dashboard();
	prom_stop();
	cr_expect_eq(tm_stop(&mp), 0);
}
