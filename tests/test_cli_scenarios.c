/* SPDX-License-Identifier: MIT */
/*
 * test_cli_scenarios.c — `wgmon doctor` and `wgmon show` against a real wgmond: every file of
 * tests/scenarios/ (kernel lines and the findings they must give; format in its README.md) is
 * replayed over UDP step by step, and the findings must be exactly the expected ones. The
 * single-step scenarios are also replayed together from a file (--source file: --exit-on-eof).
 * Health thresholds and tenants from a configuration file are checked on a live table, by
 * polling until the short threshold has passed. Every wait is bounded; wgmond always stops.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_wgmond_util.h"

#define SC_LINES_MAX  256
#define SC_STEPS_MAX  32
#define SC_EXPECT_MAX 16
#define SC_FOUND_MAX  64
#define SC_KEY_MAX    256
#define SC_TIME_OK    30.0 /* seconds any wait may take (scaled by WGMON_TEST_SLOW) */

struct scenario {
	char name[64];
	char *text;                    /* the file, lines cut in place */
	struct tw_lines lines;         /* the kernel lines, for tw_send() */
	size_t step_end[SC_STEPS_MAX]; /* lines [prev end, end) form a step */
	unsigned steps;
	char expect[SC_EXPECT_MAX][SC_KEY_MAX]; /* "host iface peer cause tenant" */
	unsigned n_expect;
	char config[2048];
};

static struct tw_proc proc;
static char conf_path[128];

static void setup(void)
{
	tw_init(&proc, "cli");
	snprintf(conf_path, sizeof(conf_path), "/tmp/wgmon-test-cli-%d.conf", (int)getpid());
}

static void teardown(void)
{
	tw_cleanup(&proc);
	unlink(conf_path);
}

TestSuite(scenario, .init = setup, .fini = teardown, .timeout = 60);

/* ---- Scenario files ------------------------------------------------------------------------ */

/* "# expect: vpn-key wg0 2 key_mismatch" -> "vpn-key wg0 2 key_mismatch -". */
static void sc_expect(struct scenario *s, const char *spec)
{
	char host[64], iface[32], peer[32], cause[40], tenant[40] = "-";
	int n = sscanf(spec, "%63s %31s %31s %39s %39s", host, iface, peer, cause, tenant);

	cr_assert(n == 4 || n == 5, "%s: bad expect line '%s'", s->name, spec);
	cr_assert_lt(s->n_expect, SC_EXPECT_MAX);
	snprintf(s->expect[s->n_expect++], SC_KEY_MAX, "%s %s %s %s %s", host, iface, peer, cause,
	         tenant);
}

static void sc_line(struct scenario *s, char *l)
{
	if (!strncmp(l, "# expect: ", 10)) {
		sc_expect(s, l + 10);
	} else if (!strncmp(l, "# config: ", 10)) {
		strncat(s->config, l + 10, sizeof(s->config) - strlen(s->config) - 2);
		strcat(s->config, "\n");
	} else if (!strcmp(l, "---")) {
		cr_assert_lt(s->steps, SC_STEPS_MAX);
		s->step_end[s->steps++] = s->lines.n;
	} else if (*l && *l != '#') {
		cr_assert_lt(s->lines.n, SC_LINES_MAX);
		s->lines.line[s->lines.n] = l;
		s->lines.len[s->lines.n++] = strlen(l);
	}
}

static void sc_load(struct scenario *s, const char *name)
{
	char path[512];
	FILE *f;
	long size;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(path, sizeof(path), "%s/tests/scenarios/%s.txt",
	         getenv("WGMON_SRC") ? getenv("WGMON_SRC") : "..", name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	s->text = calloc(1, (size_t)size + 1);
	cr_assert_not_null(s->text);
	cr_assert_eq(fread(s->text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (char *l = s->text, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = '\0';
		sc_line(s, l);
	}
	if (!s->steps || s->step_end[s->steps - 1] != s->lines.n)
		s->step_end[s->steps++] = s->lines.n;
}

static void sc_free(struct scenario *s)
{
	free(s->text);
	s->text = NULL;
}

static const char *sc_config(const char *text)
{
	FILE *f;

	if (!*text)
		return "/dev/null";
	f = fopen(conf_path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return conf_path;
}

/* ---- wgmond and the commands --------------------------------------------------------------- */

static void sc_start(struct tw_proc *p)
{
	static char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", p->port);
	tw_arg(p, "--listen");
	tw_arg(p, listen);
	tw_arg(p, "--workers");
	tw_arg(p, "2");
	tw_arg(p, "--capacity");
	tw_arg(p, "4096");
	tw_arg(p, "--event-ring");
	tw_arg(p, "4096");
	cr_assert_eq(tw_spawn(p), 0);
	cr_assert(tw_wait_ready(p), "wgmond did not start:\n%s", tw_log(p));
}

/* Send each step and wait until it is applied before the next. */
static void sc_replay(const struct scenario *s, struct tw_proc *p)
{
	struct shm_stats st;
	size_t from = 0;
	uint64_t rejected = 0;

	for (unsigned i = 0; i < s->steps; i++) {
		cr_assert(tw_send(p->port, &s->lines, from, s->step_end[i]));
		cr_assert(tw_wait_lines(p->shm, s->step_end[i], 0, SC_TIME_OK, &st),
		          "%s: step %u: %llu of %zu lines applied", s->name, i,
		          (unsigned long long)st.lines, s->step_end[i]);
		from = s->step_end[i];
	}
	for (unsigned k = 0; k < SHM_REJECT_KINDS; k++)
		rejected += st.rejected[k];
	cr_assert_eq(rejected, 0, "%s: a scenario line was rejected", s->name);
}

/* Run `wgmon ARGS --shm SHM`; its stdout (malloc'd) and exit code. */
static char *sc_wgmon(const char *shm, const char *args, int *code)
{
	char bin[512], cmd[2048];
	int status = -1;
	char *out;

	tw_bin("tools/wgmon", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "%s %s --shm %s", bin, args, shm);
	out = tw_run(cmd, &status);
	cr_assert_not_null(out, "%s", cmd);
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return out;
}

/* The string or number value of "key" in a flat JSON line, or false. */
static bool sc_json(const char *obj, const char *key, char *out, size_t cap)
{
	char pat[48];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(obj, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p == '"') {
		for (p++; *p && *p != '"' && n + 1 < cap; p++)
			out[n++] = *p == '\\' ? *++p : *p;
	} else {
		while (*p && *p != ',' && *p != '}' && n + 1 < cap)
			out[n++] = *p++;
	}
	out[n] = '\0';
	return true;
}

static int sc_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The findings of `doctor --json` as sorted "host iface peer cause tenant" keys; checks that
 * each has a state and a since within [t0, now + 1 s]. */
static unsigned sc_findings(char *out, char keys[][SC_KEY_MAX], uint64_t t0)
{
	unsigned n = 0;

	for (char *l = out, *nl; l && *l; l = nl) {
		char host[64], iface[32], peer[32] = "-", cause[40], tenant[40] = "-", since[32],
		                          state[16];
		double t;

		nl = strchr(l, '\n');
		if (nl)
			*nl++ = '\0';
		cr_assert(sc_json(l, "host", host, sizeof(host)) &&
		                  sc_json(l, "iface", iface, sizeof(iface)) &&
		                  sc_json(l, "cause", cause, sizeof(cause)) &&
		                  sc_json(l, "state", state, sizeof(state)) &&
		                  sc_json(l, "since", since, sizeof(since)) &&
		                  strstr(l, "\"evidence\":{"),
		          "malformed finding: %s", l);
		sc_json(l, "peer", peer, sizeof(peer));
		sc_json(l, "tenant", tenant, sizeof(tenant));
		t = atof(since);
		cr_assert(t >= (double)(t0 / 1000000000u) - 1 && t <= (double)time(NULL) + 1,
		          "since %s out of range: %s", since, l);
		cr_assert_lt(n, SC_FOUND_MAX);
		snprintf(keys[n++], SC_KEY_MAX, "%s %s %s %s %s", host, *iface ? iface : "-", peer,
		         cause, tenant);
	}
	qsort(keys, n, SC_KEY_MAX, sc_cmp);
	return n;
}

static void sc_join(char keys[][SC_KEY_MAX], unsigned n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\n", keys[i]);
}

/* The doctor's findings must be exactly `expect` (n_expect keys, any order). */
static void sc_check(const char *what, const char *shm, const char *config,
                     char expect[][SC_KEY_MAX], unsigned n_expect, uint64_t t0)
{
	static char found[SC_FOUND_MAX][SC_KEY_MAX];
	char args[256], want[4096], got[4096];
	unsigned n;
	char *out, *human;
	int code, hcode;

	snprintf(args, sizeof(args), "doctor --json --config %s", config);
	out = sc_wgmon(shm, args, &code);
	snprintf(args, sizeof(args), "doctor --config %s", config);
	human = sc_wgmon(shm, args, &hcode);
	n = sc_findings(out, found, t0);
	qsort(expect, n_expect, SC_KEY_MAX, sc_cmp);
	sc_join(expect, n_expect, want, sizeof(want));
	sc_join(found, n, got, sizeof(got));
	cr_assert_str_eq(got, want,
	                 "%s: findings differ\n--- want\n%s--- got\n%s--- doctor says\n%s", what,
	                 want, got, human);
	cr_assert_eq(code, n_expect ? 3 : 0, "%s: exit %d", what, code);
	cr_assert_eq(hcode, code);
	free(out);
	free(human);
}

static uint64_t sc_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sc_run(const char *name)
{
	struct scenario s;
	uint64_t t0 = sc_wall();

	sc_load(&s, name);
	sc_start(&proc);
	sc_replay(&s, &proc);
	sc_check(name, proc.shm, sc_config(s.config), s.expect, s.n_expect, t0);
	cr_assert_eq(tw_stop(&proc, SIGTERM), 0, "%s", tw_log(&proc));
	sc_free(&s);
}

/* ---- Every cause, and none for a healthy peer ---------------------------------------------- */

Test(scenario, healthy)
{
	sc_run("healthy");
}
Test(scenario, key_mismatch)
{
	sc_run("key_mismatch");
}
Test(scenario, no_response)
{
	sc_run("no_response");
}
Test(scenario, no_route)
{
	sc_run("no_route");
}
Test(scenario, allowedips_inbound)
{
	sc_run("allowedips_inbound");
}
Test(scenario, allowedips_outbound)
{
	sc_run("allowedips_outbound");
}
Test(scenario, no_endpoint)
{
	sc_run("no_endpoint");
}
Test(scenario, nat_rebinding)
{
	sc_run("nat_rebinding");
}
Test(scenario, under_load)
{
	sc_run("under_load");
}
Test(scenario, keys_expired)
{
	sc_run("keys_expired");
}
Test(scenario, bad_packets)
{
	sc_run("bad_packets");
}
Test(scenario, interface_down)
{
	sc_run("interface_down");
}
Test(scenario, kernel_ratelimited)
{
	sc_run("kernel_ratelimited");
}
Test(scenario, tenants)
{
	sc_run("tenants");
}

/* The single-step scenarios without a configuration, all in one file, read by wgmond. */
Test(scenario, single_step_ones_from_a_file)
{
	static const char *const names[] = {
	        "healthy",    "allowedips_inbound", "allowedips_outbound",
	        "under_load", "bad_packets",        "kernel_ratelimited"};
	static char expect[SC_FOUND_MAX][SC_KEY_MAX];
	char path[128], source[160];
	unsigned n_expect = 0;
	uint64_t t0 = sc_wall();
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/wgmon-test-cli-%d.lines", (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct scenario s;

		sc_load(&s, names[i]);
		cr_assert_eq(s.steps, 1, "%s", names[i]);
		cr_assert_str_empty(s.config, "%s", names[i]);
		for (size_t l = 0; l < s.lines.n; l++)
			fprintf(f, "%s\n", s.lines.line[l]);
		for (unsigned e = 0; e < s.n_expect; e++)
			memcpy(expect[n_expect++], s.expect[e], SC_KEY_MAX);
		sc_free(&s);
	}
	fclose(f);
	snprintf(source, sizeof(source), "file:%s", path);
	tw_arg(&proc, "--source");
	tw_arg(&proc, source);
	tw_arg(&proc, "--exit-on-eof");
	cr_assert_eq(tw_spawn(&proc), 0);
	cr_assert_eq(tw_wait_exit(&proc, SC_TIME_OK), 0, "wgmond:\n%s", tw_log(&proc));
	unlink(path);
	sc_check("from a file", proc.shm, "/dev/null", expect, n_expect, t0);
}

/* ---- Thresholds and tenants from the configuration, on a live table ----------------------- */

/* The "state" of peer `peer` in `show --json` output, or "". */
static const char *sc_state_of(const char *out, const char *peer, char *state, size_t cap)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\"peer\":%s,", peer);
	state[0] = '\0';
	p = strstr(out, pat);
	if (p) {
		const char *end = strchr(p, '\n');
		char line[4096];
		size_t n = end ? (size_t)(end - p) : strlen(p);

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		sc_json(line, "state", state, cap);
	}
	return state;
}

Test(scenario, thresholds_and_tenants_from_the_config)
{
	static const char *const lines[] = {
	        "<7>Nov 22 10:00:00 vpn-h kernel: wireguard: wg0: Keypair 1 created for peer 1",
	        ("<7>Nov 22 10:00:00 vpn-h kernel: wireguard: wg-slow0: Keypair 2 created for peer "
	         "2"),
	        "<7>Nov 22 10:00:00 vpn-edge1 kernel: wireguard: wg0: Keypair 3 created for peer 3",
	};
	static char expect[2][SC_KEY_MAX] = {"vpn-h wg0 1 inactive -",
	                                     "vpn-edge1 wg0 3 inactive edge"};
	const char *config =
	        sc_config("[health]\nstale_after = 1\n\n"
	                  "[tenant slow]\ninterfaces = wg-slow*\nstale_after = 3600\n\n"
	                  "[tenant edge]\nhosts = vpn-edge*\n");
	struct tw_lines l = {.n = 3};
	char args[256], s1[16], s2[16], s3[16];
	uint64_t t0 = sc_wall(), end;
	char *out = NULL;
	int code;

	for (size_t i = 0; i < l.n; i++) {
		l.line[i] = lines[i];
		l.len[i] = strlen(lines[i]);
	}
	sc_start(&proc);
	cr_assert(tw_send(proc.port, &l, 0, l.n));
	cr_assert(tw_wait_lines(proc.shm, l.n, 0, SC_TIME_OK, NULL));
	snprintf(args, sizeof(args), "show --json --config %s", config);
	/* Poll until the 1 s threshold has passed for peers 1 and 3 (the default and edge). */
	for (end = tw_now_ns() + tw_bound_ns(SC_TIME_OK);; tw_pause()) {
		free(out);
		out = sc_wgmon(proc.shm, args, &code);
		cr_assert_eq(code, 0);
		sc_state_of(out, "1", s1, sizeof(s1));
		sc_state_of(out, "3", s3, sizeof(s3));
		if ((!strcmp(s1, "stale") && !strcmp(s3, "stale")) || tw_now_ns() > end)
			break;
	}
	cr_assert_str_eq(s1, "stale", "%s", out);
	cr_assert_str_eq(s3, "stale", "%s", out);
	cr_assert_str_eq(sc_state_of(out, "2", s2, sizeof(s2)), "up", "slow's own 3600 s: %s", out);
	cr_assert(strstr(out, "\"state\":\"up\",\"tenant\":\"slow\"}"), "%s", out);
	cr_assert(strstr(out, "\"state\":\"stale\",\"tenant\":\"edge\"}"), "%s", out);
	free(out);
	/* The doctor judges with the same thresholds and names the tenant. */
	sc_check("thresholds", proc.shm, config, expect, 2, t0);
	/* --tenant picks one tenant's peers; --summary counts them. */
	snprintf(args, sizeof(args), "show --json --tenant slow --config %s", config);
	out = sc_wgmon(proc.shm, args, &code);
	cr_assert(strstr(out, "\"peer\":2,") && !strstr(out, "\"peer\":1,") &&
	                  !strstr(out, "\"peer\":3,"),
	          "%s", out);
	free(out);
	snprintf(args, sizeof(args), "show --summary --json --config %s", config);
	out = sc_wgmon(proc.shm, args, &code);
	cr_assert(strstr(out, "{\"group\":\"tenant\",\"tenant\":\"slow\",\"total\":1,\"new\":0,"
	                      "\"up\":1,\"stale\":0,"),
	          "%s", out);
	cr_assert(strstr(out,
	                 "{\"group\":\"tenant\",\"tenant\":\"\",\"total\":1,\"new\":0,\"up\":0,"
	                 "\"stale\":1,"),
	          "%s", out);
	free(out);
	cr_assert_eq(tw_stop(&proc, SIGTERM), 0);
}
