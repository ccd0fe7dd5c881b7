/* SPDX-License-Identifier: MIT */
/*
 * test_rsyslog.c — a real rsyslogd forwards kernel-style WireGuard lines to the real wgmond over
 * UDP, once with each forward template (RSYSLOG_TraditionalForwardFormat, RSYSLOG_ForwardFormat,
 * RSYSLOG_SyslogProtocol23Format), once with $RepeatedMsgReduction on, and once through the very
 * snippet `wgmon setup` installs (which must turn an earlier "on" off); the table must match the
 * lines sent, peer by peer and event by event.
 *
 * How the lines get in, and why. rsyslogd runs as a private instance: `rsyslogd -n -f CONF -i
 * PIDFILE` with global(workDirectory=…) in a temporary directory, loading only imfile, so the
 * system's /etc/rsyslog.conf, /dev/log and /proc/kmsg are never touched. The lines are what the
 * kernel hands imklog after the PRI (kernel-messages.md §8c): bare, with a kept "[ 5123.456789] "
 * timestamp (rsyslog < 8.2312), with the leading space newer imklog leaves, with a caller id and
 * with a dynamic-debug decoration. imfile reads them from a file. Lines injected that way would
 * get imfile's defaults, facility local0 ("user" for imuxsock) and a tag that is not "kernel:",
 * and wgmond rightly rejects a non-kern PRI as spoofed_facility. So the input says what imklog
 * would have set: input(type="imfile" … facility="kern" severity="debug" tag="kernel:"), which
 * gives PRI <7>, TAG "kernel:" and APP-NAME "kernel" in every template, as for real kernel lines.
 *
 * Found on the way (rsyslog 8.2302): the "message repeated N times" line that reduction emits
 * loses the input's ruleset and goes through the default one; a forward bound to a ruleset
 * misses it. The configurations below forward from the default ruleset, as real ones do.
 */
#ifdef TW_PLAIN
#include "tests/test_wgmond_plain.h" /* TSan builds: Criterion cannot start there */
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), ##__VA_ARGS__)
#define cr_expect_eq(a, b, ...)  cr_expect((a) == (b), ##__VA_ARGS__)
#define cr_expect_lt(a, b, ...)  cr_expect((a) < (b), ##__VA_ARGS__)
#define cr_expect_null(p, ...)   cr_expect((p) == NULL, ##__VA_ARGS__)
#else
#include <criterion/criterion.h>
#endif
#include <ftw.h>
#include <inttypes.h>

#include "parse/parse.h"
#include "tests/test_wgmond_util.h"

#define RS_HOST      "rs-e2e" /* rsyslog's localHostName: the host of every peer */
#define RS_PEERS     24
#define RS_LINES_MAX 512
#define RS_LINE_LEN  256
#define RS_PEERS_MAX (RS_PEERS + 4)
#define TIME_OK      30.0 /* seconds any wait may take (scaled by WGMON_TEST_SLOW) */

/* What the table must hold after the lines: computed by parsing each line as rsyslog sends it. */
struct rs_peer {
	uint64_t id;
	char iface[PARSE_IFACE_MAX + 1];
	struct parse_endpoint ep; /* the last set endpoint, af 0 if none */
	uint32_t events[PARSE_EV__COUNT];
};

struct rs_expect {
	unsigned lines;
	uint64_t events[PARSE_EV__COUNT];
	uint64_t total, suppressed;
	unsigned n_peers;
	struct rs_peer peer[RS_PEERS_MAX];
};

enum rs_mode {
	RS_PLAIN,   /* a forward action with the template under test */
	RS_REDUCE,  /* the same with $RepeatedMsgReduction on */
	RS_SNIPPET, /* "on" in the main file, then `wgmon setup --print rsyslog` included */
};

struct rs_run {
	char dir[64]; /* everything of this run: lines, configuration, pid file, spool, logs */
	pid_t pid;    /* rsyslogd */
	struct tw_proc wgmond;
	char listen[2][48];
	struct rs_expect e;
};

/* ---- the lines ---------------------------------------------------------------------------- */

static const char *const rs_ifaces[] = {"wg0", "wg-acme", "wireguard"};

static uint64_t rs_peer_id(unsigned i)
{
	return i == 0 ? UINT64_MAX : i == 1 ? (1ull << 53) + 1 : 1000 + 7ull * i;
}

/* IPv4, IPv6 and link-local IPv6 endpoints, printed the kernel's way (%pISpfsc). */
static void rs_endpoint(unsigned i, char *buf, size_t cap)
{
	if (i % 4 == 3)
		snprintf(buf, cap, "[2001:db8:%x::%x]:%u/0%%0", i, i + 1, 51820 + i);
	else if (i % 8 == 5)
		snprintf(buf, cap, "[fe80::%x]:51820/0%%%u", i, 2 + i % 3);
	else
		snprintf(buf, cap, "198.51.100.%u:%u", 10 + i, 40000 + 37 * i);
}

struct rs_gen {
	FILE *f;
	struct rs_expect *e;
	unsigned msg; /* messages so far: picks the decoration */
};

static struct rs_peer *rs_expect_peer(struct rs_expect *e, uint64_t id)
{
	for (unsigned i = 0; i < e->n_peers; i++)
		if (e->peer[i].id == id)
			return &e->peer[i];
	cr_assert(e->n_peers < RS_PEERS_MAX);
	e->peer[e->n_peers].id = id;
	return &e->peer[e->n_peers++];
}

/* Count one line as rsyslog's traditional format carries it (the parser's model of it). */
static void rs_expect_line(struct rs_expect *e, const char *body)
{
	char line[RS_LINE_LEN + 64];
	struct parse_event ev;
	struct rs_peer *p;
	int n = snprintf(line, sizeof(line), "<7>Jan  1 00:00:00 " RS_HOST " kernel:%s%s",
	                 body[0] == ' ' ? "" : " ", body);

	cr_assert_eq(parse_line(line, (size_t)n, &ev), PARSE_OK, "generated line: %s", line);
	e->lines++;
	e->events[ev.kind]++;
	e->total++;
	if (ev.kind == PARSE_EV_RATELIMIT_SUPPRESSED)
		e->suppressed += ev.n[0];
	if (!(ev.fields & PARSE_F_PEER))
		return;
	p = rs_expect_peer(e, ev.peer);
	snprintf(p->iface, sizeof(p->iface), "%s", ev.iface);
	p->events[ev.kind]++;
	if (ev.endpoint.af == PARSE_AF_INET || ev.endpoint.af == PARSE_AF_INET6)
		p->ep = ev.endpoint;
}

/* One message, `times` identical lines, with one of five prefixes the kernel's text can have. */
static void __attribute__((format(printf, 3, 4)))
rs_emit(struct rs_gen *g, unsigned times, const char *fmt, ...)
{
	char body[RS_LINE_LEN], line[RS_LINE_LEN + 64];
	unsigned m = g->msg++;
	const char *wg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	wg = strncmp(body, "wireguard: ", 11) ? NULL : body + 11; /* after the module prefix */
	switch (wg ? m % 5 : 0) {
	case 1:
		snprintf(line, sizeof(line), "[%5u.%06u] %s", 5000 + m, m * 7919 % 1000000, body);
		break;
	case 2: snprintf(line, sizeof(line), " %s", body); break; /* imklog >= 8.2312 */
	case 3: snprintf(line, sizeof(line), "wireguard:wg_fn_%u: wireguard: %s", m, wg); break;
	case 4: snprintf(line, sizeof(line), "[ T%u] %s", 100 + m, body); break;
	default: snprintf(line, sizeof(line), "%s", body); break;
	}
	for (unsigned t = 0; t < times; t++) {
		fprintf(g->f, "%s\n", line);
		rs_expect_line(g->e, line);
	}
}

static void rs_emit_peer(struct rs_gen *g, unsigned i)
{
	const char *ifc = rs_ifaces[i % 3];
	unsigned long long id = rs_peer_id(i);
	char ep[64];

	rs_endpoint(i, ep, sizeof(ep));
	rs_emit(g, 1, "wireguard: %s: Peer %llu created", ifc, id);
	rs_emit(g, 1, "wireguard: %s: Receiving handshake initiation from peer %llu (%s)", ifc, id,
	        ep);
	rs_emit(g, 1, "wireguard: %s: Sending handshake response to peer %llu (%s)", ifc, id, ep);
	rs_emit(g, 1, "wireguard: %s: Keypair %u created for peer %llu", ifc, 100 + i, id);
	/* Runs of identical lines: what repeated-message reduction folds. */
	rs_emit(g, 1 + i % 4, "wireguard: %s: Receiving keepalive packet from peer %llu (%s)", ifc,
	        id, ep);
	if (i % 3)
		rs_emit(g, i % 3, "wireguard: %s: Sending keepalive packet to peer %llu (%s)", ifc,
		        id, ep);
	if (i % 5 == 0)
		rs_emit(g, 1,
		        "wireguard: %s: Handshake for peer %llu (%s) did not complete after 5 "
		        "seconds, retrying (try %u)",
		        ifc, id, ep, 2 + i % 3);
	if (i % 6 == 1)
		rs_emit(g, 1,
		        "wireguard: %s: Packet has unallowed src IP (10.%u.0.1) from peer %llu "
		        "(%s)",
		        ifc, i, id, ep);
	if (i % 7 == 2) /* an unset endpoint never erases the known one */
		rs_emit(g, 1, "wireguard: %s: Peer %llu ((einval)) destroyed", ifc, id);
}

/* The lines, in the kernel's order of things; the last one is unique (see RS_REDUCE). */
static void rs_write_lines(const char *path, struct rs_expect *e)
{
	struct rs_gen g = {.f = fopen(path, "w"), .e = e};

	cr_assert_not_null(g.f, "%s: %s", path, strerror(errno));
	memset(e, 0, sizeof(*e));
	rs_emit(&g, 1, "wireguard: WireGuard 1.0.0 loaded. See www.wireguard.com for information.");
	rs_emit(&g, 1,
	        "wireguard: Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. "
	        "All Rights Reserved.");
	for (unsigned k = 0; k < 3; k++)
		rs_emit(&g, 1, "wireguard: %s: Interface created", rs_ifaces[k]);
	for (unsigned i = 0; i < RS_PEERS; i++)
		rs_emit_peer(&g, i);
	rs_emit(&g, 1, "wireguard: wg0: Packet has invalid nonce 99 (max 42)");
	rs_emit(&g, 1,
	        "wireguard: wg-acme: No peer has allowed IPs matching "
	        "2001:0db8:0000:0000:0000:0000:0000:0001");
	rs_emit(&g, 1,
	        "wireguard: wg0: Invalid MAC of handshake, dropping packet from "
	        "203.0.113.9:40000");
	rs_emit(&g, 2, "net_ratelimit: 17 callbacks suppressed");
	rs_emit(&g, 1, "wireguard: wireguard: Interface destroyed");
	cr_assert_eq(fclose(g.f), 0);
}

/* ---- rsyslogd --------------------------------------------------------------------------- */

static const char *rs_rsyslogd(void)
{
	const char *env = getenv("WGMON_RSYSLOGD");

	return env && *env ? env : "/usr/sbin/rsyslogd";
}

static void rs_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The snippet exactly as `wgmon setup --apply` would install it, for this run's wgmond. */
static void rs_write_snippet(struct rs_run *run, const char *collector)
{
	char cmd[512], bin[256], path[128];
	int st;
	char *out;

	snprintf(path, sizeof(path), "%s/rsyslog.d", run->dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(cmd, sizeof(cmd), "'%s' setup --print rsyslog --collector '%s'",
	         tw_bin("tools/wgmon", bin, sizeof(bin)), collector);
	out = tw_run(cmd, &st);
	cr_assert(out && st == 0, "%s failed", cmd);
	cr_assert_not_null(strstr(out, "$RepeatedMsgReduction off"));
	snprintf(path, sizeof(path), "%s/rsyslog.d/60-wgmon.conf", run->dir);
	rs_write_file(path, out);
	free(out);
}

static void rs_write_conf(struct rs_run *run, enum rs_mode mode, const char *tpl, int port)
{
	char conf[4096], path[128], target[64];
	int n;

	n = snprintf(conf, sizeof(conf),
	             "global(workDirectory=\"%s/spool\" localHostName=\"" RS_HOST "\")\n"
	             "%s"
	             "module(load=\"imfile\")\n"
	             "input(type=\"imfile\" file=\"%s/kern.lines\" tag=\"kernel:\"\n"
	             "      facility=\"kern\" severity=\"debug\" freshStartTail=\"off\")\n",
	             run->dir, mode == RS_PLAIN ? "" : "$RepeatedMsgReduction on\n", run->dir);
	if (mode == RS_SNIPPET) {
		/* Debian's order: the main file, then /etc/rsyslog.d, then the local files. */
		snprintf(target, sizeof(target), "%s",
		         run->listen[1][0] ? run->listen[1] : run->listen[0]);
		rs_write_snippet(run, target);
		n += snprintf(conf + n, sizeof(conf) - (size_t)n,
		              "$IncludeConfig %s/rsyslog.d/*.conf\n"
		              "*.* action(type=\"omfile\" file=\"%s/syslog.log\")\n",
		              run->dir, run->dir);
	} else {
		n += snprintf(conf + n, sizeof(conf) - (size_t)n,
		              "if $syslogfacility-text == \"kern\" then {\n"
		              "  action(type=\"omfwd\" target=\"127.0.0.1\" port=\"%d\"\n"
		              "         protocol=\"udp\" template=\"%s\")\n"
		              "  stop\n"
		              "}\n"
		              "*.* action(type=\"omfile\" file=\"%s/rsyslog-internal.log\")\n",
		              port, tpl, run->dir);
	}
	cr_assert_lt((size_t)n, sizeof(conf));
	snprintf(path, sizeof(path), "%s/rsyslog.conf", run->dir);
	rs_write_file(path, conf);
}

static void rs_spawn_rsyslogd(struct rs_run *run)
{
	char conf[128], pidf[128], out[128];

	snprintf(conf, sizeof(conf), "%s/rsyslog.conf", run->dir);
	snprintf(pidf, sizeof(pidf), "%s/rsyslogd.pid", run->dir);
	snprintf(out, sizeof(out), "%s/rsyslogd.out", run->dir);
	run->pid = fork();
	cr_assert_geq(run->pid, 0);
	if (run->pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(rs_rsyslogd(), "rsyslogd", "-n", "-f", conf, "-i", pidf, (char *)NULL);
		_exit(127);
	}
}

/* SIGTERM, a bounded wait, SIGKILL: rsyslogd never outlives the test. */
static void rs_stop_rsyslogd(struct rs_run *run)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(10);
	int st;

	if (run->pid <= 0)
		return;
	kill(run->pid, SIGTERM);
	while (waitpid(run->pid, &st, WNOHANG) == 0) {
		if (tw_now_ns() > end) {
			kill(run->pid, SIGKILL);
			waitpid(run->pid, &st, 0);
			break;
		}
		tw_pause();
	}
	run->pid = -1;
}

static int rs_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* The file's text (static buffer) for failure messages. */
static const char *rs_slurp(const struct rs_run *run, const char *name)
{
	static char buf[4096];
	char path[128];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", run->dir, name);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* ---- the run ------------------------------------------------------------------------------ */

static struct rs_run run = {.pid = -1};

static void rs_fini(void)
{
	rs_stop_rsyslogd(&run);
	tw_cleanup(&run.wgmond);
	if (run.dir[0])
		nftw(run.dir, rs_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static bool rs_have_ipv6(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* wgmond on a free port (IPv4, and IPv6 loopback when there is one), waiting for datagrams. */
static void rs_start_wgmond(struct rs_run *r)
{
	struct tw_proc *w = &r->wgmond;

	tw_init(w, "rsyslog");
	snprintf(r->listen[0], sizeof(r->listen[0]), "127.0.0.1:%d", w->port);
	tw_arg(w, "--listen");
	tw_arg(w, r->listen[0]);
	if (rs_have_ipv6()) {
		snprintf(r->listen[1], sizeof(r->listen[1]), "[::1]:%d", w->port);
		tw_arg(w, "--listen");
		tw_arg(w, r->listen[1]);
	}
	tw_arg(w, "--workers");
	tw_arg(w, "2");
	tw_arg(w, "--capacity");
	tw_arg(w, "4096");
	tw_arg(w, "--event-ring");
	tw_arg(w, "1024");
	cr_assert_eq(tw_spawn(w), 0);
	cr_assert(tw_wait_ready(w), "wgmond did not start: %s", tw_log(w));
}

/* Poll until the table counts every expected event (bounded); false if rsyslogd died. */
static bool rs_wait_events(struct rs_run *r, struct shm_stats *st)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(TIME_OK);
	int ws;

	for (;;) {
		if (tw_stats(r->wgmond.shm, st) && st->events_total >= r->e.total)
			return true;
		if (waitpid(r->pid, &ws, WNOHANG) == r->pid) {
			r->pid = -1;
			return false;
		}
		if (tw_now_ns() > end)
			return false;
		tw_pause();
	}
}

static void rs_check_counters(const struct rs_run *r, const struct shm_stats *st)
{
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		cr_expect_eq(st->events[k], r->e.events[k], "%s: table %" PRIu64 ", sent %" PRIu64,
		             parse_event_name(k), st->events[k], r->e.events[k]);
	for (unsigned k = 1; k < PARSE_REJECT__COUNT; k++)
		cr_expect_eq(st->rejected[k], 0, "%" PRIu64 " lines rejected as %s",
		             st->rejected[k], parse_reject_name(k));
	for (unsigned d = 0; d < SHM_DROP__COUNT; d++)
		cr_expect_eq(st->dropped[d], 0, "%" PRIu64 " dropped: %s", st->dropped[d],
		             shm_drop_name(d));
	cr_expect_eq(st->events_total, r->e.total);
	cr_expect_eq(st->ratelimit_suppressed, r->e.suppressed);
	cr_expect_eq(st->lines, st->datagrams, "one line per datagram");
	cr_expect_eq(st->peers, r->e.n_peers, "peers: table %" PRIu64 ", sent %u", st->peers,
	             r->e.n_peers);
}

static bool rs_endpoint_eq(const struct parse_endpoint *a, const struct parse_endpoint *b)
{
	return a->af == b->af && a->port == b->port && a->flowinfo == b->flowinfo &&
	       a->scope == b->scope && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Every expected peer is in the table under RS_HOST, with its interface, endpoint and counts. */
static void rs_check_peers(const struct rs_run *r)
{
	struct shm_reader *rd;
	struct shm_iface ifc;
	struct shm_peer p;
	int64_t host;

	cr_assert_eq(shm_reader_attach(&rd, r->wgmond.shm), 0, "%s", shm_reader_error());
	host = shm_reader_host_find(rd, RS_HOST, strlen(RS_HOST));
	cr_assert_geq(host, 0, "no host " RS_HOST " in the table");
	for (unsigned i = 0; i < r->e.n_peers; i++) {
		const struct rs_peer *x = &r->e.peer[i];
		char got[64], want[64];

		cr_assert_eq(shm_reader_peer_find(rd, (uint32_t)host, x->id, &p), 0,
		             "peer %" PRIu64 " missing", x->id);
		cr_assert_eq(shm_reader_iface(rd, p.iface, &ifc), 0);
		cr_expect_str_eq(ifc.name, x->iface, "peer %" PRIu64, x->id);
		parse_endpoint_format(&p.endpoint, PARSE_STYLE_ENDPOINT, got, sizeof(got));
		parse_endpoint_format(&x->ep, PARSE_STYLE_ENDPOINT, want, sizeof(want));
		cr_expect(rs_endpoint_eq(&p.endpoint, &x->ep), "peer %" PRIu64 ": %s, sent %s",
		          x->id, got, want);
		cr_expect_eq(p.endpoint_changes, 0, "peer %" PRIu64, x->id);
		for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
			cr_expect_eq(p.events[k], x->events[k], "peer %" PRIu64 " %s: %u, sent %u",
			             x->id, parse_event_name(k), p.events[k], x->events[k]);
	}
	shm_reader_detach(rd);
}

static void rs_case(const char *tpl, enum rs_mode mode)
{
	struct shm_stats st = {0};
	char path[128];

	if (access(rs_rsyslogd(), X_OK) != 0)
		cr_skip_test("%s is not installed (apt-get install rsyslog)", rs_rsyslogd());
	snprintf(run.dir, sizeof(run.dir), "/tmp/wgmon-rsyslog-XXXXXX");
	cr_assert_not_null(mkdtemp(run.dir));
	snprintf(path, sizeof(path), "%s/spool", run.dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/kern.lines", run.dir);
	rs_write_lines(path, &run.e);
	rs_start_wgmond(&run);
	rs_write_conf(&run, mode, tpl, run.wgmond.port);
	rs_spawn_rsyslogd(&run);

	cr_assert(rs_wait_events(&run, &st),
	          "%" PRIu64 " of %" PRIu64
	          " events arrived\nrsyslogd: %s\ninternal: %s\nwgmond: %s",
	          st.events_total, run.e.total, rs_slurp(&run, "rsyslogd.out"),
	          rs_slurp(&run, "rsyslog-internal.log"), tw_log(&run.wgmond));
	rs_stop_rsyslogd(&run); /* flushes; nothing more may arrive */
	cr_assert(tw_stats(run.wgmond.shm, &st));
	fprintf(stderr,
	        "%s%s: %u lines in %" PRIu64 " datagrams -> %" PRIu64 " events, %" PRIu64
	        " peers\n",
	        tpl,
	        mode == RS_REDUCE    ? " + $RepeatedMsgReduction on"
	        : mode == RS_SNIPPET ? " (60-wgmon.conf)"
	                             : "",
	        run.e.lines, st.datagrams, st.events_total, st.peers);
	rs_check_counters(&run, &st);
	rs_check_peers(&run);
	if (mode == RS_REDUCE)
		cr_expect_lt(st.datagrams, run.e.lines, "reduction folded nothing");
	else
		cr_expect_eq(st.datagrams, run.e.lines, "every line is one datagram");
	if (mode == RS_SNIPPET) /* its `stop` keeps the lines out of the local files */
		cr_expect_null(strstr(rs_slurp(&run, "syslog.log"), "wireguard"),
		               "forwarded lines reached syslog.log");
}

TestSuite(rsyslog, .fini = rs_fini, .timeout = 90);

Test(rsyslog, traditional_forward_format)
{
	rs_case("RSYSLOG_TraditionalForwardFormat", RS_PLAIN);
}

Test(rsyslog, forward_format)
{
	rs_case("RSYSLOG_ForwardFormat", RS_PLAIN);
}

Test(rsyslog, syslog_protocol23_format)
{
	rs_case("RSYSLOG_SyslogProtocol23Format", RS_PLAIN);
}

Test(rsyslog, repeated_msg_reduction)
{
	rs_case("RSYSLOG_TraditionalForwardFormat", RS_REDUCE);
}

Test(rsyslog, setup_snippet)
{
	rs_case("RSYSLOG_TraditionalForwardFormat", RS_SNIPPET);
}
