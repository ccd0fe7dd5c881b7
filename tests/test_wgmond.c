/* SPDX-License-Identifier: MIT */
/*
 * test_wgmond.c — the real wgmond binary end to end: the shared corpus over UDP
 * (io_uring and recvmmsg), from a file and from stdin gives the table that
 * expected.jsonl implies; 1 and 3 workers (and 0: run to completion) give the
 * same table; a SIGKILL and restart lose nothing; a tiny ring drops and counts;
 * io_uring missing falls back visibly; the allow-list and SIGHUP; /dev/kmsg; flags and --help.
 * Every test stops wgmond and unlinks its table, and every wait is bounded.
 */
#ifdef TW_PLAIN
#include "tests/test_wgmond_plain.h" /* TSan builds: Criterion cannot start there */
#else
#include <criterion/criterion.h>
#endif
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "parse/parse.h"
#include "tests/test_wgmond_util.h"

#define CORPUS_LINES 600
#define PEERS_MAX    2048
#define TIME_OK      30.0 /* seconds any wait may take (scaled by WGMON_TEST_SLOW) */

static struct tw_proc procs[3];
static struct tw_lines corpus;

static void setup(void)
{
	char path[512];

	cr_assert(tw_lines_load(&corpus, tw_shared("corpus/lines.txt", path, sizeof(path))),
	          "cannot read %s", path);
	cr_assert_eq(corpus.n, CORPUS_LINES);
	for (unsigned i = 0; i < 3; i++)
		tw_init(&procs[i], "t");
}

static void teardown(void)
{
	for (unsigned i = 0; i < 3; i++)
		tw_cleanup(&procs[i]);
	free(corpus.buf);
}

/* ------------------------------------------------------- a little JSON */

struct jmember {
	char key[48];
	char val[1024]; /* strings decoded; objects and numbers as written */
};

struct jobj {
	struct jmember m[48];
	int n;
};

static const char *j_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static size_t j_utf8(unsigned cp, char *o)
{
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};

	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		o[i] = (char)(0x80 | (cp & 0x3f));
	o[0] = (char)(lead[n] | cp);
	return n;
}

/* p at '"': decode into out; returns the character after the closing quote, or NULL. */
static const char *j_string(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	for (p++; *p && *p != '"'; p++) {
		char e[4];
		size_t k = 1;

		e[0] = *p;
		if (*p == '\\') {
			unsigned cp;

			switch (*++p) {
			case 'n': e[0] = '\n'; break;
			case 't': e[0] = '\t'; break;
			case 'r': e[0] = '\r'; break;
			case 'b': e[0] = '\b'; break;
			case 'f': e[0] = '\f'; break;
			case 'u':
				if (sscanf(p + 1, "%4x", &cp) != 1)
					return NULL;
				p += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u') {
					unsigned lo;

					if (sscanf(p + 3, "%4x", &lo) != 1)
						return NULL;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
				k = j_utf8(cp, e);
				break;
			default: e[0] = *p; break; /* \" \\ \/ */
			}
		}
		if (n + k >= cap)
			return NULL;
		memcpy(out + n, e, k);
		n += k;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* A flat object whose values are strings, numbers or flat objects (kept as text). */
static bool j_object(const char *p, struct jobj *o)
{
	o->n = 0;
	p = j_ws(p);
	if (*p++ != '{')
		return false;
	for (p = j_ws(p); *p && *p != '}' && o->n < 48; p = j_ws(p)) {
		struct jmember *m = &o->m[o->n++];
		const char *v;

		if (*p != '"' || !(p = j_string(p, m->key, sizeof(m->key))))
			return false;
		p = j_ws(p);
		if (*p++ != ':')
			return false;
		p = j_ws(p);
		if (*p == '"') {
			if (!(p = j_string(p, m->val, sizeof(m->val))))
				return false;
		} else {
			v = p;
			p = *p == '{' ? strchr(p, '}') + 1 : p + strcspn(p, ",}");
			if ((size_t)(p - v) >= sizeof(m->val))
				return false;
			memcpy(m->val, v, (size_t)(p - v));
			m->val[p - v] = '\0';
		}
		p = j_ws(p);
		if (*p == ',')
			p++;
	}
	return *p == '}';
}

static const char *j_get(const struct jobj *o, const char *key)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].key, key))
			return o->m[i].val;
	return NULL;
}

/* ------------------------------------------------ the expected table */

struct peer_state {
	char host[PARSE_HOST_MAX + 1];
	char peer[24];
	char iface[64];
	char endpoint[96];
	uint64_t events[PARSE_EV__COUNT];
};

static struct peer_state *peer_get(struct peer_state *t, size_t *n, const char *host,
                                   const char *peer)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(t[i].host, host) && !strcmp(t[i].peer, peer))
			return &t[i];
	cr_assert_lt(*n, PEERS_MAX);
	memset(&t[*n], 0, sizeof(t[*n]));
	snprintf(t[*n].host, sizeof(t[*n].host), "%s", host);
	snprintf(t[*n].peer, sizeof(t[*n].peer), "%s", peer);
	return &t[(*n)++];
}

/* "host|peer|iface|endpoint|name=count,..." (events in kind order). */
static void peer_canon(const struct peer_state *p, char *out, size_t cap)
{
	size_t n =
	        (size_t)snprintf(out, cap, "%s|%s|%s|%s|", p->host, p->peer, p->iface, p->endpoint);

	for (unsigned k = 0; k < PARSE_EV__COUNT && n < cap; k++)
		if (p->events[k])
			n += (size_t)snprintf(out + n, cap - n, "%s=%llu,", parse_event_name(k),
			                      (unsigned long long)p->events[k]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical, sorted lines of a table; returns their number. */
static size_t canon_sorted(const struct peer_state *t, size_t n, char **out)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = malloc(2048);
		peer_canon(&t[i], out[i], 2048);
	}
	qsort(out, n, sizeof(out[0]), cmp_str);
	return n;
}

/* Per (host, peer): counts (with repeat), last endpoint other than unset, last iface. */
static size_t expected_table(struct peer_state *t)
{
	char path[512], line[4096];
	FILE *f = fopen(tw_shared("corpus/expected.jsonl", path, sizeof(path)), "r");
	size_t n = 0;

	cr_assert(f, "cannot read %s", path);
	while (fgets(line, sizeof(line), f)) {
		static struct jobj o;
		const char *ev, *peer, *host, *ep, *rep;
		struct peer_state *p;

		cr_assert(j_object(line, &o), "bad expected line: %s", line);
		ev = j_get(&o, "event");
		peer = j_get(&o, "peer");
		if (!ev || !peer)
			continue;
		host = j_get(&o, "host");
		p = peer_get(t, &n, host ? host : "", peer);
		rep = j_get(&o, "repeat");
		p->events[parse_event_lookup(ev, strlen(ev))] += rep ? strtoull(rep, NULL, 10) : 1;
		ep = j_get(&o, "endpoint");
		if (ep && strcmp(ep, "(einval)") && strcmp(ep, "(invalid address)"))
			snprintf(p->endpoint, sizeof(p->endpoint), "%s", ep);
		snprintf(p->iface, sizeof(p->iface), "%s", j_get(&o, "iface"));
	}
	fclose(f);
	return n;
}

/* `wgmon show --shm NAME --json` (malloc'd). */
static char *show_json(const char *shm)
{
	char bin[512], cmd[1024];
	char *out;
	int st = -1;

	snprintf(cmd, sizeof(cmd), "%s show --shm %s --json",
	         tw_bin("tools/wgmon", bin, sizeof(bin)), shm);
	out = tw_run(cmd, &st);
	cr_assert(out && st == 0, "'%s' failed (status %d)", cmd, st);
	return out;
}

/* The table as wgmon show --json prints it, in the same canonical form. */
static size_t actual_table(const char *shm, struct peer_state *t)
{
	char *json = show_json(shm), *save = NULL;
	size_t n = 0;

	for (char *line = strtok_r(json, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		static struct jobj o, evs;
		struct peer_state *p;
		char evtext[1024];

		cr_assert(j_object(line, &o), "bad show line: %s", line);
		p = peer_get(t, &n, j_get(&o, "host"), j_get(&o, "peer"));
		snprintf(p->iface, sizeof(p->iface), "%s", j_get(&o, "iface"));
		if (j_get(&o, "endpoint"))
			snprintf(p->endpoint, sizeof(p->endpoint), "%s", j_get(&o, "endpoint"));
		snprintf(evtext, sizeof(evtext), "%s", j_get(&o, "events"));
		cr_assert(j_object(evtext, &evs), "bad events: %s", evtext);
		for (int i = 0; i < evs.n; i++)
			p->events[parse_event_lookup(evs.m[i].key, strlen(evs.m[i].key))] =
			        strtoull(evs.m[i].val, NULL, 10);
	}
	free(json);
	return n;
}

static void check_corpus_table(const char *shm)
{
	static struct peer_state exp[PEERS_MAX], act[PEERS_MAX];
	static char *e[PEERS_MAX], *a[PEERS_MAX];
	size_t ne = canon_sorted(exp, expected_table(exp), e);
	size_t na = canon_sorted(act, actual_table(shm, act), a);

	for (size_t i = 0; i < ne && i < na; i++)
		cr_expect_str_eq(a[i], e[i], "peer %zu differs:\n  got  %s\n  want %s", i, a[i],
		                 e[i]);
	cr_assert_eq(na, ne, "peers: got %zu, want %zu", na, ne);
	for (size_t i = 0; i < ne; i++)
		free(e[i]);
	for (size_t i = 0; i < na; i++)
		free(a[i]);
}

/* show --json without the receive times: the lines as printed, minus those keys. */
static char *show_untimed(const char *shm)
{
	char *json = show_json(shm), *save = NULL;
	size_t cap = strlen(json) + 1, n = 0;
	char *out = malloc(cap);

	for (char *line = strtok_r(json, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		static struct jobj o;

		cr_assert(j_object(line, &o), "bad show line: %s", line);
		for (int i = 0; i < o.n; i++) {
			const char *k = o.m[i].key;
			size_t kl = strlen(k);

			if (!strcmp(k, "first_seen") || !strncmp(k, "last_", 5) ||
			    (kl > 3 && !strcmp(k + kl - 3, "_at")))
				continue;
			n += (size_t)snprintf(out + n, cap - n, "%s=%s;", k, o.m[i].val);
		}
		n += (size_t)snprintf(out + n, cap - n, "\n");
	}
	free(json);
	return out;
}

/* ------------------------------------------------------- runners */

static void add_listen(struct tw_proc *p, char *buf, size_t cap)
{
	snprintf(buf, cap, "127.0.0.1:%d", p->port);
	tw_arg(p, "--listen");
	tw_arg(p, buf);
}

static void small_table(struct tw_proc *p)
{
	tw_arg(p, "--capacity");
	tw_arg(p, "4096");
	tw_arg(p, "--event-ring");
	tw_arg(p, "1024");
}

static void start_ready(struct tw_proc *p)
{
	cr_assert_eq(tw_spawn(p), 0);
	cr_assert(tw_wait_ready(p), "wgmond did not get ready:\n%s", tw_log(p));
}

static void send_and_wait(struct tw_proc *p, size_t from, size_t to)
{
	struct shm_stats st;

	cr_assert(tw_send(p->port, &corpus, from, to));
	cr_assert(tw_wait_lines(p->shm, to, 0, TIME_OK, &st),
	          "lines: got %llu, want %zu (datagrams %llu, ring_full %llu)\n%s",
	          (unsigned long long)st.lines, to, (unsigned long long)st.datagrams,
	          (unsigned long long)st.dropped[SHM_DROP_RING_FULL], tw_log(p));
}

static void stop_ok(struct tw_proc *p)
{
	int code = tw_stop(p, SIGTERM);

	cr_assert_eq(code, 0, "wgmond exit %d on SIGTERM:\n%s", code, tw_log(p));
}

/* The corpus over UDP with extra flags; returns false if io_uring was asked but missing. */
static bool corpus_udp(const char *backend)
{
	struct tw_proc *p = &procs[0];
	char listen[64];

	add_listen(p, listen, sizeof(listen));
	small_table(p);
	if (backend) {
		tw_arg(p, "--ingest");
		tw_arg(p, backend);
	}
	cr_assert_eq(tw_spawn(p), 0);
	if (!tw_wait_ready(p)) {
		if (backend && !strcmp(backend, "uring") &&
		    strstr(tw_log(p), "io_uring is not usable here"))
			return false;
		cr_assert_fail("wgmond did not get ready:\n%s", tw_log(p));
	}
	send_and_wait(p, 0, CORPUS_LINES);
	check_corpus_table(p->shm);
	stop_ok(p);
	return true;
}

TestSuite(wgmond, .init = setup, .fini = teardown, .timeout = 120);

Test(wgmond, corpus_udp_io_uring)
{
	if (!corpus_udp("uring"))
		cr_skip_test("io_uring is not usable on this machine: %s", tw_log(&procs[0]));
	cr_expect(strstr(tw_log(&procs[0]), "udp via io_uring"), "%s", tw_log(&procs[0]));
}

Test(wgmond, corpus_udp_recvmmsg)
{
	cr_assert(corpus_udp("recvmmsg"));
	cr_expect(strstr(tw_log(&procs[0]), "udp via recvmmsg"), "%s", tw_log(&procs[0]));
}

Test(wgmond, corpus_file_exit_on_eof)
{
	struct tw_proc *p = &procs[0];
	char src[600], path[512];
	struct shm_stats st;

	snprintf(src, sizeof(src), "file:%s", tw_shared("corpus/lines.txt", path, sizeof(path)));
	tw_arg(p, "--source");
	tw_arg(p, src);
	tw_arg(p, "--exit-on-eof");
	tw_arg(p, "--workers");
	tw_arg(p, "2");
	small_table(p);
	cr_assert_eq(tw_spawn(p), 0);
	cr_assert_eq(tw_wait_exit(p, TIME_OK), 0, "wgmond did not exit 0:\n%s", tw_log(p));
	cr_assert(tw_stats(p->shm, &st));
	cr_assert_eq(st.lines, CORPUS_LINES);
	check_corpus_table(p->shm);
}

/* A pipe on stdin, replayed at --rate: every line applied, and not faster than the rate. */
Test(wgmond, corpus_stdin_pipe_with_rate)
{
	struct tw_proc *p = &procs[0];
	int fds[2];
	uint64_t t0, ns;

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0); /* wgmond must not hold the write end */
	p->stdin_fd = fds[0];
	tw_arg(p, "--source");
	tw_arg(p, "-");
	tw_arg(p, "--rate");
	tw_arg(p, "3000");
	tw_arg(p, "--exit-on-eof");
	small_table(p);
	t0 = tw_now_ns();
	cr_assert_eq(tw_spawn(p), 0);
	close(fds[0]);
	for (size_t i = 0; i < corpus.n;
	     i++) { /* blocks while wgmond holds back: that is the rate */
		char line[4200];

		memcpy(line, corpus.line[i], corpus.len[i]);
		line[corpus.len[i]] = '\n';
		cr_assert_eq(write(fds[1], line, corpus.len[i] + 1), (ssize_t)corpus.len[i] + 1);
	}
	close(fds[1]);
	cr_assert_eq(tw_wait_exit(p, TIME_OK), 0, "wgmond did not exit 0:\n%s", tw_log(p));
	ns = tw_now_ns() - t0;
	/* 600 lines at 3000/s take 0.2 s at the very least (a bound in the safe direction). */
	cr_assert_gt(ns, 150000000ull, "600 lines in %llu ns: faster than --rate",
	             (unsigned long long)ns);
	cr_assert(strstr(tw_log(p), "stdin: end of input after 600 lines"), "%s", tw_log(p));
	check_corpus_table(p->shm);
}

Test(wgmond, ipv4_and_ipv6_listeners)
{
	struct tw_proc *p = &procs[0];
	char l4[64], l6[64];

	add_listen(p, l4, sizeof(l4));
	snprintf(l6, sizeof(l6), "[::1]:%d", p->port);
	tw_arg(p, "--listen");
	tw_arg(p, l6);
	tw_arg(p, "--workers");
	tw_arg(p, "2");
	small_table(p);
	cr_assert_eq(tw_spawn(p), 0);
	if (!tw_wait_ready(p)) {
		if (strstr(tw_log(p), "[::1]") && strstr(tw_log(p), "cannot listen"))
			cr_skip_test("no IPv6 loopback here: %s", tw_log(p));
		cr_assert_fail("wgmond did not get ready:\n%s", tw_log(p));
	}
	/* Half over each family. Not interleaved: two sockets have no order between them. */
	send_and_wait(p, 0, CORPUS_LINES / 2);
	cr_assert(tw_send6(p->port, &corpus, CORPUS_LINES / 2, CORPUS_LINES));
	cr_assert(tw_wait_lines(p->shm, CORPUS_LINES, 0, TIME_OK, NULL), "%s", tw_log(p));
	check_corpus_table(p->shm);
	stop_ok(p);
}

Test(wgmond, one_or_three_workers_same_table)
{
	char listen[2][64];
	char *t[2];

	for (unsigned i = 0; i < 2; i++) {
		struct tw_proc *p = &procs[i];

		add_listen(p, listen[i], sizeof(listen[i]));
		small_table(p);
		tw_arg(p, "--workers");
		tw_arg(p, i ? "3" : "1");
		start_ready(p);
		send_and_wait(p, 0, CORPUS_LINES);
		t[i] = show_untimed(p->shm);
		stop_ok(p);
	}
	cr_assert_gt(strlen(t[0]), 0);
	cr_assert_str_eq(t[0], t[1]);
	free(t[0]);
	free(t[1]);
}

/* Run to completion (--workers 0): no hand-off, the same table as one worker. */
Test(wgmond, zero_or_one_workers_same_table)
{
	char listen[2][64];
	char *t[2];

	for (unsigned i = 0; i < 2; i++) {
		struct tw_proc *p = &procs[i];

		add_listen(p, listen[i], sizeof(listen[i]));
		small_table(p);
		tw_arg(p, "--workers");
		tw_arg(p, i ? "1" : "0");
		start_ready(p);
		if (!i)
			cr_assert(strstr(tw_log(p), "run to completion"), "%s", tw_log(p));
		send_and_wait(p, 0, CORPUS_LINES);
		t[i] = show_untimed(p->shm);
		stop_ok(p);
	}
	cr_assert_gt(strlen(t[0]), 0);
	cr_assert_str_eq(t[0], t[1]);
	free(t[0]);
	free(t[1]);
}

/* Run to completion with a file source: its lines pass through lane 0, drained inline. */
Test(wgmond, zero_workers_file_exit_on_eof)
{
	struct tw_proc *p = &procs[0];
	char src[600], path[512];
	struct shm_stats st;

	snprintf(src, sizeof(src), "file:%s", tw_shared("corpus/lines.txt", path, sizeof(path)));
	tw_arg(p, "--source");
	tw_arg(p, src);
	tw_arg(p, "--exit-on-eof");
	tw_arg(p, "--workers");
	tw_arg(p, "0");
	small_table(p);
	cr_assert_eq(tw_spawn(p), 0);
	cr_assert_eq(tw_wait_exit(p, TIME_OK), 0, "wgmond did not exit 0:\n%s", tw_log(p));
	cr_assert(tw_stats(p->shm, &st));
	cr_assert_eq(st.lines, CORPUS_LINES);
	check_corpus_table(p->shm);
}

/*
 * The replaced tool's [wireguard] interface: events of other interfaces are counted as
 * dropped (iface_filtered), never silently lost, and leave no peer behind.
 */
Test(wgmond, wireguard_interface_filter_is_counted)
{
	struct tw_proc *p = &procs[0];
	char src[600], path[512], conf[64];
	struct shm_stats st;
	char *show, *line;
	FILE *f;

	snprintf(conf, sizeof(conf), "/tmp/wgmon-test-%d-filter.toml", (int)getpid());
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[wireguard]\ninterface = \"wg0\"\n", f);
	fclose(f);
	snprintf(src, sizeof(src), "file:%s", tw_shared("corpus/lines.txt", path, sizeof(path)));
	tw_arg(p, "--config");
	tw_arg(p, conf);
	tw_arg(p, "--source");
	tw_arg(p, src);
	tw_arg(p, "--exit-on-eof");
	small_table(p);
	cr_assert_eq(tw_spawn(p), 0);
	cr_assert_eq(tw_wait_exit(p, TIME_OK), 0, "wgmond did not exit 0:\n%s", tw_log(p));
	unlink(conf);
	cr_assert(tw_stats(p->shm, &st));
	cr_assert_eq(st.lines, CORPUS_LINES);
	cr_assert_gt(st.dropped[SHM_DROP_IFACE_FILTERED], 0);
	show = show_untimed(p->shm);
	cr_assert(show && *show, "wg0 peers remain");
	for (line = show; (line = strstr(line, "\"iface\":")); line++)
		cr_expect(!strncmp(line, "\"iface\":\"wg0\"", 14), "%.40s", line);
	free(show);
}

Test(wgmond, sigkill_restart_keeps_state)
{
	struct tw_proc *a = &procs[0], *b = &procs[1];
	char la[64], lb[64];
	char *ta, *tb;

	add_listen(a, la, sizeof(la));
	small_table(a);
	start_ready(a);
	send_and_wait(a, 0, CORPUS_LINES);
	ta = show_untimed(a->shm);
	stop_ok(a);

	add_listen(b, lb, sizeof(lb));
	small_table(b);
	start_ready(b);
	send_and_wait(b, 0, CORPUS_LINES / 2);
	cr_assert_eq(tw_stop(b, SIGKILL), 128 + SIGKILL);
	start_ready(b); /* same --shm: re-attaches, state kept */
	cr_assert(strstr(tw_log(b), "generation 1"), "%s", tw_log(b));
	send_and_wait(b, CORPUS_LINES / 2, CORPUS_LINES);
	tb = show_untimed(b->shm);
	stop_ok(b);
	cr_assert_str_eq(ta, tb);
	free(ta);
	free(tb);
}

Test(wgmond, tiny_ring_drops_are_counted)
{
	struct tw_proc *p = &procs[0];
	const size_t burst = 20 * CORPUS_LINES;
	struct shm_stats st;
	char listen[64];

	add_listen(p, listen, sizeof(listen));
	small_table(p);
	tw_arg(p, "--ring-size");
	tw_arg(p, "2");
	tw_arg(p, "--workers");
	tw_arg(p, "1");
	start_ready(p);
	for (unsigned i = 0; i < burst / CORPUS_LINES; i++)
		cr_assert(tw_send(p->port, &corpus, 0, CORPUS_LINES));
	/* Every datagram is either applied (one line each) or dropped as ring_full. */
	cr_assert(tw_wait_lines(p->shm, burst, 1u << SHM_DROP_RING_FULL, TIME_OK, &st),
	          "lines %llu + ring_full %llu != %zu", (unsigned long long)st.lines,
	          (unsigned long long)st.dropped[SHM_DROP_RING_FULL], burst);
	cr_assert_eq(st.datagrams, burst);
	cr_assert_gt(st.dropped[SHM_DROP_RING_FULL], 0, "a 1-entry ring never filled");
	cr_assert_gt(st.lines, 0);
	/* Still healthy: it answers (more lines get in) and stops cleanly. */
	cr_assert(tw_send(p->port, &corpus, 0, 1));
	cr_assert(tw_wait_lines(p->shm, burst + 1, 1u << SHM_DROP_RING_FULL, TIME_OK, NULL));
	stop_ok(p);
}

/* In the child before exec: io_uring_setup fails with ENOSYS, as under a strict seccomp. */
static void no_io_uring(void)
{
	struct sock_filter f[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(125);
}

Test(wgmond, io_uring_missing_falls_back_to_recvmmsg)
{
	struct tw_proc *p = &procs[0], *q = &procs[1];
	char lp[64], lq[64];
	int code;

#if !defined(__x86_64__)
	cr_skip_test("the seccomp filter of this test is written for x86_64");
#endif
	p->before_exec = no_io_uring;
	add_listen(p, lp, sizeof(lp));
	small_table(p);
	start_ready(p);
	cr_assert(strstr(tw_log(p), "io_uring is not usable here"), "%s", tw_log(p));
	cr_assert(strstr(tw_log(p), "udp via recvmmsg"), "%s", tw_log(p));
	send_and_wait(p, 0, CORPUS_LINES);
	check_corpus_table(p->shm);
	stop_ok(p);

	/* Forced io_uring where it is missing: a clear error and a non-zero exit. */
	q->before_exec = no_io_uring;
	add_listen(q, lq, sizeof(lq));
	small_table(q);
	tw_arg(q, "--ingest");
	tw_arg(q, "uring");
	cr_assert_eq(tw_spawn(q), 0);
	code = tw_wait_exit(q, TIME_OK);
	cr_assert(code > 0 && WIFEXITED(code) && WEXITSTATUS(code) == 1, "status %d:\n%s", code,
	          tw_log(q));
	cr_assert(strstr(tw_log(q), "io_uring is not usable here"), "%s", tw_log(q));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(wgmond, allow_list_and_sighup_reload)
{
	struct tw_proc *p = &procs[0];
	char conf[128], text[128], listen[64];
	struct shm_stats st;

	snprintf(conf, sizeof(conf), "/tmp/wgmond-test-%d.conf", (int)getpid());
	write_file(conf, "[wgmond]\nallow = 10.0.0.0/8, 2001:db8::/32\n");
	tw_arg(p, "--config");
	tw_arg(p, conf);
	add_listen(p, listen, sizeof(listen));
	small_table(p);
	start_ready(p);
	cr_assert(tw_send(p->port, &corpus, 0, 10));
	cr_assert(tw_wait_lines(p->shm, 10, 1u << SHM_DROP_NOT_ALLOWED, TIME_OK, &st));
	cr_assert_eq(st.dropped[SHM_DROP_NOT_ALLOWED], 10);
	cr_assert_eq(st.lines, 0);

	snprintf(text, sizeof(text), "[wgmond]\nallow = 127.0.0.0/8\n");
	write_file(conf, text);
	cr_assert_eq(kill(p->pid, SIGHUP), 0);
	cr_assert(tw_wait_log(p, "allow-list now: 127.0.0.0/8", TIME_OK), "%s", tw_log(p));
	cr_assert(tw_send(p->port, &corpus, 0, 10));
	cr_assert(tw_wait_lines(p->shm, 20, 1u << SHM_DROP_NOT_ALLOWED, TIME_OK, &st));
	cr_assert_eq(st.lines, 10);
	stop_ok(p);
	unlink(conf);
}

Test(wgmond, kmsg_source)
{
	struct tw_proc *p = &procs[0];
	const char rec[] = "<7>wireguard: wg0: Interface created\n";
	struct shm_stats st;
	uint64_t end;
	int fd;

	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0 || access("/dev/kmsg", R_OK) < 0)
		cr_skip_test("/dev/kmsg is not readable and writable here: %s", strerror(errno));
	tw_arg(p, "--source");
	tw_arg(p, "kmsg");
	small_table(p);
	start_ready(p);
	/* Userspace writes get the user facility: the parser must call the line spoofed. */
	end = tw_now_ns() + tw_bound_ns(TIME_OK);
	for (;;) {
		cr_assert(write(fd, rec, sizeof(rec) - 1) == (ssize_t)(sizeof(rec) - 1));
		if (tw_stats(p->shm, &st) && st.rejected[PARSE_REJECT_SPOOFED_FACILITY] > 0)
			break;
		cr_assert(tw_now_ns() < end, "no spoofed kmsg line counted:\n%s", tw_log(p));
		tw_pause();
	}
	close(fd);
	cr_assert_gt(st.datagrams, 0);
	cr_assert_eq(st.events[PARSE_EV_INTERFACE_CREATED], 0, "a user line became an event");
	stop_ok(p);
}

Test(wgmond, bad_flags_and_bind_failure)
{
	struct tw_proc *p = &procs[0], *q = &procs[1];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char listen[64];
	int fd, code;

	tw_arg(p, "--no-such-flag");
	cr_assert_eq(tw_spawn(p), 0);
	code = tw_wait_exit(p, TIME_OK);
	cr_assert(WIFEXITED(code) && WEXITSTATUS(code) == 2, "%s", tw_log(p));

	/* The port is taken: wgmond says so and exits 1. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = htons((uint16_t)q->port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	add_listen(q, listen, sizeof(listen));
	small_table(q);
	cr_assert_eq(tw_spawn(q), 0);
	code = tw_wait_exit(q, TIME_OK);
	close(fd);
	cr_assert(WIFEXITED(code) && WEXITSTATUS(code) == 1, "status %d:\n%s", code, tw_log(q));
	cr_assert(strstr(tw_log(q), "cannot listen on udp 127.0.0.1:"), "%s", tw_log(q));
}

/* A table of another size is refused with a clear message unless --reset. */
Test(wgmond, other_table_size_needs_reset)
{
	struct tw_proc *p = &procs[0];
	int code;

	tw_arg(p, "--source");
	tw_arg(p, "file:/dev/null"); /* ends at once; wgmond keeps running */
	small_table(p);
	start_ready(p);
	stop_ok(p);
	p->nargs = 0;
	tw_arg(p, "--source");
	tw_arg(p, "file:/dev/null");
	tw_arg(p, "--capacity");
	tw_arg(p, "8192");
	tw_arg(p, "--event-ring");
	tw_arg(p, "1024");
	cr_assert_eq(tw_spawn(p), 0);
	code = tw_wait_exit(p, TIME_OK);
	cr_assert(code >= 0 && WIFEXITED(code) && WEXITSTATUS(code) == 1, "status %d:\n%s", code,
	          tw_log(p));
	tw_arg(p, "--reset");
	start_ready(p);
	cr_assert(strstr(tw_log(p), "generation 2"), "%s", tw_log(p));
	stop_ok(p);
}

Test(wgmond, bad_ring_size_is_refused)
{
	struct tw_proc *p = &procs[0];
	char listen[64];
	int code;

	add_listen(p, listen, sizeof(listen));
	small_table(p);
	tw_arg(p, "--ring-size");
	tw_arg(p, "3");
	cr_assert_eq(tw_spawn(p), 0);
	code = tw_wait_exit(p, TIME_OK);
	cr_assert(code >= 0 && WIFEXITED(code) && WEXITSTATUS(code) != 0, "%s", tw_log(p));
	cr_assert(strstr(tw_log(p), "ring"), "%s", tw_log(p));
}

Test(wgmond, help_lists_every_option)
{
	static const char *const flags[] = {
	        "--listen", "--shm",        "--workers",     "--capacity", "--ring-size",
	        "--source", "--ingest",     "--rcvbuf",      "--allow",    "--reset",
	        "--config", "--event-ring", "--exit-on-eof", "--rate",     "--help",
	};
	char bin[512], cmd[600];
	char *out;
	int st = -1;

	snprintf(cmd, sizeof(cmd), "%s --help", tw_bin("tools/wgmond", bin, sizeof(bin)));
	out = tw_run(cmd, &st);
	cr_assert(out && st == 0);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cr_expect(strstr(out, flags[i]), "--help does not mention %s", flags[i]);
	free(out);
}
