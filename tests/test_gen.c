/* SPDX-License-Identifier: MIT */
/*
 * Tests of bench/gen (the synthetic line generator), of `wgmon gen` and of
 * `wgmon-bench parse`: determinism, coverage of every event kind and envelope,
 * agreement of parse_line() with what the generator meant on every line, the
 * malformed share, and the address rendering against spec §6.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/gen.c" /* the static helpers too (peer ids, names, dates) */

#define TEST_REPORT_MAX 10 /* disagreements printed in full per test */

static struct gen *test_gen_new(uint64_t lines, uint64_t seed, int env, double malformed,
                                double decorated)
{
	struct gen_opts o;
	struct gen *g;

	gen_opts_default(&o);
	o.lines = lines;
	o.peers = 5000;
	o.ifaces = 40;
	o.hosts = 7;
	o.seed = seed;
	o.envelope = env;
	o.malformed = malformed;
	o.decorated = decorated;
	cr_assert_eq(gen_new(&o, &g), 0);
	return g;
}

/* ------------------------------------------------------------ determinism */

/* A hash of the first `lines` lines (FNV-1a over the bytes and the newlines). */
static uint64_t test_gen_hash(uint64_t lines, uint64_t seed, int env)
{
	struct gen *g = test_gen_new(lines, seed, env, 0.05, 0.05);
	char buf[GEN_LINE_MAX];
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n;

	while ((n = gen_line(g, buf, sizeof(buf))) > 0) {
		for (size_t i = 0; i <= n; i++) /* buf[n] is the NUL: stands for the newline */
			h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ull;
	}
	gen_free(g);
	return h;
}

Test(gen, deterministic)
{
	cr_assert_eq(test_gen_hash(20000, 1, GEN_ENV_MIX), test_gen_hash(20000, 1, GEN_ENV_MIX));
	cr_assert_neq(test_gen_hash(20000, 1, GEN_ENV_MIX), test_gen_hash(20000, 2, GEN_ENV_MIX));
	cr_assert_neq(test_gen_hash(20000, 1, GEN_ENV_MIX), test_gen_hash(20000, 1, GEN_ENV_KMSG));
}

Test(gen, lines_limit_and_small_buffer)
{
	struct gen *g = test_gen_new(3, 1, GEN_ENV_RFC5424, 0, 0);
	char full[GEN_LINE_MAX], small[8];
	size_t n;

	n = gen_line(g, small, sizeof(small));
	cr_assert_gt(n, sizeof(small));
	cr_assert_eq(strlen(small), sizeof(small) - 1, "truncated like snprintf");
	cr_assert_gt(gen_line(g, full, sizeof(full)), 0);
	cr_assert_gt(gen_line(g, full, sizeof(full)), 0);
	cr_assert_eq(gen_line(g, full, sizeof(full)), 0, "opts.lines ends the stream");
	gen_free(g);
}

Test(gen, bad_options)
{
	struct gen_opts o;
	struct gen *g = (struct gen *)&o;

	gen_opts_default(&o);
	o.peers = 0;
	cr_assert_eq(gen_new(&o, &g), -EINVAL);
	cr_assert_null(g);
	gen_opts_default(&o);
	o.malformed = 1.5;
	cr_assert_eq(gen_new(&o, &g), -EINVAL);
	gen_opts_default(&o);
	o.envelope = GEN_ENV__COUNT;
	cr_assert_eq(gen_new(&o, &g), -EINVAL);
	gen_opts_default(&o);
	o.ifaces = GEN_IFACES_MAX + 1;
	cr_assert_eq(gen_new(&o, &g), -EINVAL);
	gen_free(NULL);
	cr_assert_eq(gen_envelope_lookup("rfc5424-old"), GEN_ENV_RFC5424_OLD);
	cr_assert_eq(gen_envelope_lookup("mix"), GEN_ENV_MIX);
	cr_assert_eq(gen_envelope_lookup("json"), -1);
	cr_assert_str_eq(gen_envelope_name(GEN_ENV_KMSG), "kmsg");
	cr_assert_null(gen_envelope_name(GEN_ENV__COUNT));
}

/* ------------------------------------------------------------ population */

static int test_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

Test(gen, peer_ids_distinct_and_spread)
{
	const uint64_t peers = 200000;
	uint64_t *ids = malloc(peers * sizeof(*ids));
	uint64_t small = 0, mid = 0, huge = 0;

	cr_assert_not_null(ids);
	for (uint64_t i = 0; i < peers; i++) {
		ids[i] = gen_peer_id(42, i, peers);
		small += ids[i] >= 10 && ids[i] < (1ull << 32);
		mid += ids[i] >= (1ull << 32) && ids[i] < (1ull << 53);
		huge += ids[i] > (1ull << 53);
	}
	cr_assert_eq(ids[0], 1);
	cr_assert_eq(ids[1], UINT64_MAX);
	cr_assert_eq(ids[2], (1ull << 53) + 1, "not representable as a double");
	cr_assert_gt(small, peers / 2);
	cr_assert_gt(mid, peers / 10);
	cr_assert_gt(huge, peers / 10);
	qsort(ids, peers, sizeof(*ids), test_cmp_u64);
	for (uint64_t i = 1; i < peers; i++)
		cr_assert_neq(ids[i - 1], ids[i], "peer ids are distinct");
	free(ids);
}

Test(gen, iface_names_are_legal)
{
	for (uint64_t k = 0; k < GEN_IFACES_MAX; k += k < 1000 ? 1 : 997) {
		char name[PARSE_IFACE_MAX + 1];
		size_t n;

		gen_iface_name(name, 7, k);
		n = strlen(name);
		cr_assert(n >= 1 && n <= PARSE_IFACE_MAX, "'%s' has %zu bytes", name, n);
		cr_assert_eq(strcspn(name, ":/ \t\n\r\v\f"), n, "'%s' has a forbidden byte", name);
		cr_assert(strcmp(name, ".") && strcmp(name, ".."));
	}
}

/* ------------------------------------------------------------ rendering */

static void test_ep6(const char *text, const char *v6, uint16_t port, uint32_t flow, uint32_t scope)
{
	struct parse_endpoint ep = {
	        .af = PARSE_AF_INET6, .port = port, .flowinfo = flow, .scope = scope};
	char buf[GEN_EP_TEXT_MAX];

	cr_assert_eq(inet_pton(AF_INET6, v6, ep.addr), 1, "%s", v6);
	gen_endpoint_format(&ep, PARSE_STYLE_ENDPOINT, buf, sizeof(buf));
	cr_assert_str_eq(buf, text);
}

/* The examples of spec §6 (a re-implementation of the kernel's algorithm). */
Test(gen, endpoint_rendering_matches_spec)
{
	struct parse_endpoint v4 = {.af = PARSE_AF_INET, .port = 51820, .addr = {192, 0, 2, 1}};
	struct parse_endpoint unset = {.af = PARSE_AF_UNSET};
	struct parse_endpoint a6 = {.af = PARSE_AF_INET6};
	char buf[GEN_EP_TEXT_MAX];

	test_ep6("[2001:db8::1]:51820/0%0", "2001:db8::1", 51820, 0, 0);
	test_ep6("[2001:db8:85a3::8a2e:370:7334]:41641/0%0", "2001:db8:85a3::8a2e:370:7334", 41641,
	         0, 0);
	test_ep6("[fe80::1c2b:3cff:fe4d:5e6f]:51820/0%3", "fe80::1c2b:3cff:fe4d:5e6f", 51820, 0, 3);
	test_ep6("[::ffff:192.0.2.44]:51820/0%0", "::ffff:192.0.2.44", 51820, 0, 0);
	test_ep6("[2001:db8::1:0:0:1]:443/0%0", "2001:db8:0:0:1:0:0:1", 443, 0, 0);
	test_ep6("[2001:db8:0:1::1]:51821/0%0", "2001:db8:0:1::1", 51821, 0, 0);
	test_ep6("[fe80::5efe:192.0.2.1]:1/0%0", "fe80::5efe:c000:201", 1, 0, 0);
	test_ep6("[2001:db8::7]:51820/1048575%0", "2001:db8::7", 51820, 0xFFFFF, 0);
	test_ep6("[::]:0/0%0", "::", 0, 0, 0);
	test_ep6("[::1]:5/0%0", "::1", 5, 0, 0);
	test_ep6("[1::]:5/0%0", "1::", 5, 0, 0);
	test_ep6("[1:0:2:3:4:5:6:7]:5/0%0", "1:0:2:3:4:5:6:7", 5, 0, 0);
	test_ep6("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535/268435455%4294967295",
	         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 268435455, 4294967295u);
	gen_endpoint_format(&v4, PARSE_STYLE_ENDPOINT, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.0.2.1:51820");
	gen_endpoint_format(&v4, PARSE_STYLE_COMPRESSED, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.0.2.1");
	gen_endpoint_format(&unset, PARSE_STYLE_ENDPOINT, buf, sizeof(buf));
	cr_assert_str_eq(buf, "(einval)");
	cr_assert_eq(inet_pton(AF_INET6, "fd00::9", a6.addr), 1);
	gen_endpoint_format(&a6, PARSE_STYLE_UNCOMPRESSED, buf, sizeof(buf));
	cr_assert_str_eq(buf, "fd00:0000:0000:0000:0000:0000:0000:0009");
	gen_endpoint_format(&a6, PARSE_STYLE_COMPRESSED, buf, sizeof(buf));
	cr_assert_str_eq(buf, "fd00::9");
	cr_assert_eq(gen_endpoint_format(&a6, PARSE_STYLE_ENDPOINT, buf, 10), 0);
}

/* The generator's and the parser's renderings agree on many random endpoints. */
Test(gen, endpoint_rendering_agrees_with_parse)
{
	struct gen *g = test_gen_new(1, 3, GEN_ENV_BARE, 0, 0);
	int reported = 0;

	for (int i = 0; i < 200000; i++) {
		struct parse_endpoint ep;
		char a[GEN_EP_TEXT_MAX], b[GEN_EP_TEXT_MAX];
		int style = i % 3;

		gen_rand_endpoint(g, &ep, 1);
		gen_endpoint_format(&ep, style, a, sizeof(a));
		parse_endpoint_format(&ep, style, b, sizeof(b));
		if (strcmp(a, b) && reported++ < TEST_REPORT_MAX)
			cr_log_error("style %d: gen '%s', parse_endpoint_format '%s'", style, a, b);
	}
	cr_expect_eq(reported, 0, "%d renderings differ", reported);
	gen_free(g);
}

/* ------------------------------------------------------------ dates */

Test(gen, civil_dates)
{
	struct gen_civil c;

	gen_civil_from(0, &c);
	cr_assert(c.year == 1970 && c.mon == 1 && c.day == 1 && c.hour == 0);
	gen_civil_from(951782400ull * 1000000, &c); /* 2000-02-29T00:00:00Z */
	cr_assert(c.year == 2000 && c.mon == 2 && c.day == 29, "%u-%u-%u", c.year, c.mon, c.day);
	gen_civil_from(1709251199ull * 1000000 + 999999, &c); /* 2024-02-29T23:59:59.999999Z */
	cr_assert(c.year == 2024 && c.mon == 2 && c.day == 29 && c.hour == 23 && c.min == 59 &&
	          c.sec == 59 && c.usec == 999999);
	gen_civil_from(1735689600ull * 1000000, &c); /* 2025-01-01 */
	cr_assert(c.year == 2025 && c.mon == 1 && c.day == 1);
	gen_civil_from(4107542400ull * 1000000, &c); /* 2100-03-01: 2100 is not a leap year */
	cr_assert(c.year == 2100 && c.mon == 3 && c.day == 1, "%u-%u-%u", c.year, c.mon, c.day);
}

/* ------------------------------------------------------------ coverage */

Test(gen, every_kind_envelope_and_broken_shape_appears)
{
	struct gen *g = test_gen_new(300000, 11, GEN_ENV_MIX, 0.02, 0.05);
	uint64_t kinds[PARSE_EV__COUNT] = {0}, envs[GEN_ENV__COUNT] = {0};
	uint64_t rejects[PARSE_REJECT__COUNT] = {0}, decorated = 0, v6 = 0, unset = 0, huge = 0;
	char buf[GEN_LINE_MAX];

	while (gen_line(g, buf, sizeof(buf)) > 0) {
		const struct gen_truth *t = gen_truth(g);

		kinds[t->kind]++;
		envs[t->envelope]++;
		rejects[t->reject]++;
		decorated += t->decorated;
		v6 += t->endpoint.af == PARSE_AF_INET6;
		unset += (t->fields & PARSE_F_ENDPOINT) && t->endpoint.af == PARSE_AF_UNSET;
		huge += t->peer > (1ull << 53);
	}
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		cr_expect_gt(kinds[k], 0, "no %s line", parse_event_name(k));
	for (unsigned e = 0; e < GEN_ENV_MIX; e++)
		cr_expect_gt(envs[e], 0, "no %s envelope", gen_envelope_name(e));
	for (unsigned r = 1; r < PARSE_REJECT__COUNT; r++)
		cr_expect_gt(rejects[r], 0, "no line meant as %s", parse_reject_name(r));
	cr_expect_gt(kinds[PARSE_EV_KEEPALIVE_RECEIVED], kinds[PARSE_EV_HANDSHAKE_RETRY] * 5,
	             "keepalives dominate");
	cr_expect_gt(decorated, 0);
	cr_expect_gt(v6, 1000);
	cr_expect_gt(unset, 100, "some ((einval)) endpoints");
	cr_expect_gt(huge, 1000, "peer ids above 2^53");
	gen_free(g);
}

Test(gen, malformed_share_is_honoured)
{
	static const double shares[] = {0, 0.01, 0.25, 1};

	for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
		const uint64_t lines = 40000;
		struct gen *g = test_gen_new(lines, 5, GEN_ENV_MIX, shares[i], 0);
		char buf[GEN_LINE_MAX];
		uint64_t broken = 0;
		double got;

		while (gen_line(g, buf, sizeof(buf)) > 0)
			broken += gen_truth(g)->reject != PARSE_OK;
		got = (double)broken / (double)lines;
		/* binomial: 5 sigma is at most 0.0125 at 40000 lines */
		cr_expect(got >= shares[i] - 0.0125 && got <= shares[i] + 0.0125,
		          "asked %.2f, got %.4f", shares[i], got);
		gen_free(g);
	}
}

/* ------------------------------------------------------------ against the parser */

static int test_ep_eq(const struct parse_endpoint *a, const struct parse_endpoint *b)
{
	if (a->af != b->af)
		return 0;
	if (a->af != PARSE_AF_INET && a->af != PARSE_AF_INET6)
		return 1;
	return a->port == b->port && !memcmp(a->addr, b->addr, sizeof(a->addr)) &&
	       (a->af == PARSE_AF_INET || (a->flowinfo == b->flowinfo && a->scope == b->scope));
}

static int test_slice_eq(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && (n == 0 || !memcmp(s, want, n));
}

/* What in `ev` differs from the truth; NULL if nothing. */
static const char *test_event_diff(const struct parse_event *ev, const struct gen_truth *t)
{
	if (ev->kind != t->kind)
		return "kind";
	if (ev->fields != t->fields)
		return "fields";
	if (!test_slice_eq(ev->iface, ev->iface_len, t->iface) ||
	    (ev->iface_len && ev->iface[ev->iface_len] != '\0'))
		return "iface";
	if (!test_slice_eq(ev->host, ev->host_len, t->host))
		return "host";
	if (ev->repeat != t->repeat)
		return "repeat";
	if ((t->fields & PARSE_F_PEER) && ev->peer != t->peer)
		return "peer";
	if ((t->fields & PARSE_F_ENDPOINT) &&
	    (!test_ep_eq(&ev->endpoint, &t->endpoint) ||
	     !test_slice_eq(ev->endpoint_text, ev->endpoint_len, t->endpoint_text)))
		return "endpoint";
	if ((t->fields & PARSE_F_ADDR) &&
	    (!test_ep_eq(&ev->addr, &t->addr) ||
	     !test_slice_eq(ev->addr_text, ev->addr_len, t->addr_text)))
		return "addr";
	if ((t->fields & (PARSE_F_ERROR | PARSE_F_ATTEMPTS | PARSE_F_SECONDS | PARSE_F_NONCE |
	                  PARSE_F_KEYPAIR | PARSE_F_COUNT | PARSE_F_FAMILY)) &&
	    ev->n[0] != t->n[0])
		return "n[0]";
	if ((t->fields & (PARSE_F_TRY | PARSE_F_NONCE_MAX)) && ev->n[1] != t->n[1])
		return "n[1]";
	if ((t->fields & PARSE_F_VERSION) &&
	    !test_slice_eq(ev->version, ev->version_len, t->version))
		return "version";
	return NULL;
}

struct test_agree {
	uint64_t good, good_bad;   /* good lines, and those the parser got wrong */
	uint64_t broken, accepted; /* broken lines, and those the parser accepted */
	uint64_t wrong_reason; /* broken lines of a clear-cut kind rejected for another reason */
	uint64_t reason[PARSE_REJECT__COUNT][PARSE_REJECT__COUNT]; /* [meant][got] */
};

/*
 * Rejections the spec names precisely. A cut-off line, an unknown text or a
 * foreign line may fairly be classed several ways (a cut in the envelope is a
 * bad envelope); any rejection will do for those.
 */
static int test_reason_is_clear_cut(unsigned meant)
{
	return meant != PARSE_REJECT_TRUNCATED && meant != PARSE_REJECT_UNKNOWN_MESSAGE &&
	       meant != PARSE_REJECT_NOT_WIREGUARD;
}

static void test_agree_line(const char *line, size_t n, const struct gen_truth *t,
                            struct test_agree *a)
{
	struct parse_event ev;
	int rc = parse_line(line, n, &ev);
	const char *diff;

	if (t->reject != PARSE_OK) {
		a->broken++;
		a->reason[t->reject][rc]++;
		if (rc == PARSE_OK && a->accepted++ < TEST_REPORT_MAX)
			cr_log_error("accepted a broken line (meant %s) as %s: %s",
			             parse_reject_name(t->reject), parse_event_name(ev.kind), line);
		if (rc != PARSE_OK && rc != t->reject && test_reason_is_clear_cut(t->reject) &&
		    a->wrong_reason++ < TEST_REPORT_MAX)
			cr_log_error("meant %s, parser said %s: %s", parse_reject_name(t->reject),
			             parse_reject_name((unsigned)rc), line);
		return;
	}
	a->good++;
	diff = rc == PARSE_OK ? test_event_diff(&ev, t) : parse_reject_name((unsigned)rc);
	if (diff && a->good_bad++ < TEST_REPORT_MAX)
		cr_log_error("%s (meant %s peer %llu iface '%s' host '%s' endpoint '%s'): %s", diff,
		             parse_event_name(t->kind), (unsigned long long)t->peer, t->iface,
		             t->host, t->endpoint_text, line);
}

static void test_agree_run(struct gen *g, struct test_agree *a)
{
	char buf[GEN_LINE_MAX];
	size_t n;

	while ((n = gen_line(g, buf, sizeof(buf))) > 0)
		test_agree_line(buf, n, gen_truth(g), a);
	gen_free(g);
}

static void test_agree_summary(const struct test_agree *a)
{
	for (unsigned m = 1; m < PARSE_REJECT__COUNT; m++)
		for (unsigned r = 0; r < PARSE_REJECT__COUNT; r++)
			if (a->reason[m][r] && r != m)
				cr_log_info("meant %s, parser said %s: %llu lines",
				            parse_reject_name(m), r ? parse_reject_name(r) : "ok",
				            (unsigned long long)a->reason[m][r]);
}

Test(gen, parser_agrees_on_every_envelope)
{
	struct test_agree a = {0};

	for (int env = 0; env < GEN_ENV_MIX; env++)
		test_agree_run(test_gen_new(8000, 100 + (uint64_t)env, env, 0, 0.1), &a);
	cr_expect_eq(a.good, 8000ull * GEN_ENV_MIX);
	cr_expect_eq(a.good_bad, 0, "%llu of %llu good lines misparsed",
	             (unsigned long long)a.good_bad, (unsigned long long)a.good);
}

Test(gen, parser_agrees_on_a_large_mix)
{
	struct test_agree a = {0};

	test_agree_run(test_gen_new(150000, 77, GEN_ENV_MIX, 0.05, 0.05), &a);
	test_agree_summary(&a);
	cr_expect_eq(a.good_bad, 0, "%llu of %llu good lines misparsed",
	             (unsigned long long)a.good_bad, (unsigned long long)a.good);
	cr_expect_eq(a.accepted, 0, "%llu of %llu broken lines accepted",
	             (unsigned long long)a.accepted, (unsigned long long)a.broken);
	cr_expect_eq(a.wrong_reason, 0, "%llu broken lines rejected for another reason",
	             (unsigned long long)a.wrong_reason);
	cr_expect_gt(a.broken, 5000);
}

/* ------------------------------------------------------------ the programs */

/* Runs `cmd` with sh; returns its exit status and fills `out` (NUL-terminated). */
static int test_run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, k;
	int st;

	cr_assert_not_null(p, "%s", cmd);
	while (n + 1 < cap && (k = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += k;
	out[n] = '\0';
	while (fgetc(p) != EOF) /* drain what did not fit */
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *test_bin(const char *rel, char *buf, size_t cap)
{
	const char *bin = getenv("WGMON_BIN");

	if (!bin)
		cr_skip_test("WGMON_BIN is not set (run through ctest)");
	snprintf(buf, cap, "%s/%s", bin, rel);
	if (access(buf, X_OK))
		cr_skip_test("%s is not built", buf);
	return buf;
}

Test(gen, cli, .timeout = 60)
{
	static char a[1 << 20], b[1 << 20];
	char exe[4096], cmd[8192];
	size_t lines = 0;

	test_bin("tools/wgmon", exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s gen --lines 2000 --peers 50 --seed 9 --malformed=0.1", exe);
	cr_assert_eq(test_run(cmd, a, sizeof(a)), 0);
	cr_assert_eq(test_run(cmd, b, sizeof(b)), 0);
	cr_assert_str_eq(a, b, "same flags, same bytes");
	for (const char *p = a; (p = strchr(p, '\n')); p++)
		lines++;
	cr_assert_eq(lines, 2000);
	snprintf(cmd, sizeof(cmd), "%s gen --lines 2000 --peers 50 --seed 10 --malformed=0.1", exe);
	cr_assert_eq(test_run(cmd, b, sizeof(b)), 0);
	cr_assert_str_neq(a, b);
	snprintf(cmd, sizeof(cmd), "%s gen --lines 5 --envelope kmsg", exe);
	cr_assert_eq(test_run(cmd, a, sizeof(a)), 0);
	cr_assert(a[0] >= '0' && a[0] <= '9' && strchr(a, ';'), "kmsg: %s", a);
	snprintf(cmd, sizeof(cmd), "%s gen --help", exe);
	cr_assert_eq(test_run(cmd, a, sizeof(a)), 0);
	cr_assert_not_null(strstr(a, "--malformed"));
	static const char *const bad[] = {"--lines x", "--envelope json", "--malformed 2",
	                                  "--peers 0", "--frobnicate 1",  "--seed",
	                                  "extra",     "--lines -1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s gen %s 2>&1", exe, bad[i]);
		cr_expect_eq(test_run(cmd, a, sizeof(a)), 2, "'%s' is a usage error", bad[i]);
		cr_expect_not_null(strstr(a, "wgmon gen"), "'%s' explains itself: %s", bad[i], a);
	}
}

Test(gen, bench_parse_smoke, .timeout = 120)
{
	static char out[1 << 16];
	char exe[4096], cmd[8192];
	static const char *const keys[] = {"\"lines_per_sec\":", "\"baseline_lines_per_sec\":",
	                                   "\"ratio\":", "\"accepted\":", "\"runs\":1,"};

	test_bin("bench/wgmon-bench", exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s parse --lines 20000 --runs 1 --json --malformed 0.02", exe);
	cr_assert_eq(test_run(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(out[0], '{', "%s", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "exactly one line: %s", out);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect_not_null(strstr(out, keys[i]), "%s missing: %s", keys[i], out);
	snprintf(cmd, sizeof(cmd), "%s parse --runs 0 2>&1", exe);
	cr_expect_eq(test_run(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "%s nosuchbench 2>&1", exe);
	cr_expect_eq(test_run(cmd, out, sizeof(out)), 2);
}
