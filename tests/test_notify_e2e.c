/* SPDX-License-Identifier: MIT */
/*
 * test_notify_e2e.c — the real thing: wgmond on a loopback UDP port, wgmon-notify following
 * its table, and HTTP receivers on loopback (test_notify_recv.c). A generated scenario of
 * kernel lines (three hosts, IPv4 and IPv6 endpoints, (einval), interleaved peers) is replayed
 * over UDP; every endpoint change must reach the native and the [manager] receivers exactly
 * once, in order per peer, signed, while a third receiver hangs; a restarted wgmon-notify
 * re-fires nothing; states, creation, interfaces and the type filter work end to end.
 */
#include <criterion/criterion.h>
#include <sys/mman.h>

#include "test_wgmond_util.h"

#include "sinks/notify/notify.h"

#include "test_notify_recv.c"

#define SCEN_LINES_MAX 512
#define SCEN_PEERS     9
#define SECRET         "e2e-shared-secret"

struct notify_proc {
	pid_t pid;
	char log[128];
	bool reaped;
	int status;
};

/* ---- processes ------------------------------------------------------------------------------- */

static bool np_spawn(struct notify_proc *p, const char *shm, const char *const *args)
{
	static int seq;
	const char *argv[48];
	char bin[512];
	int n = 0;

	memset(p, 0, sizeof(*p));
	tw_bin("sinks/wgmon-notify", bin, sizeof(bin));
	snprintf(p->log, sizeof(p->log), "/tmp/wgmon-notify-test-%d-%d.log", (int)getpid(), seq++);
	argv[n++] = bin;
	argv[n++] = "--shm";
	argv[n++] = shm;
	for (int i = 0; args[i] && n < 46; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	p->pid = fork();
	if (p->pid < 0)
		return false;
	if (p->pid == 0) {
		int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (log < 0)
			_exit(126);
		dup2(log, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return true;
}

static const char *np_log(const struct notify_proc *p)
{
	static char buf[1 << 16];
	FILE *f = fopen(p->log, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static bool np_exited(struct notify_proc *p)
{
	if (!p->reaped && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
		p->reaped = true;
	return p->reaped;
}

static bool np_wait_ready(struct notify_proc *p)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(20);

	while (!strstr(np_log(p), "info: ready:")) {
		if (np_exited(p) || tw_now_ns() > end)
			return false;
		tw_pause();
	}
	return true;
}

/* SIGTERM and wait: its exit code, or -1 if it did not end in time (then killed). */
static int np_stop(struct notify_proc *p)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(20);

	if (p->pid <= 0)
		return -1;
	if (!np_exited(p))
		kill(p->pid, SIGTERM);
	while (!np_exited(p)) {
		if (tw_now_ns() > end) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &p->status, 0);
			p->reaped = true;
			return -1;
		}
		tw_pause();
	}
	return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
}

static void np_cleanup(struct notify_proc *p, const char *shm)
{
	char name[NOTIFY_STATS_NAME_MAX];

	if (p->pid > 0 && !np_exited(p)) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
	}
	if (notify_stats_name(shm, name, sizeof(name)) == 0 && shm_unlink(name) < 0)
		(void)0; /* removed by wgmon-notify itself */
	if (p->log[0])
		unlink(p->log);
}

/* ---- the scenario ---------------------------------------------------------------------------- */

struct scen_peer {
	const char *host;
	uint64_t id;
	char last[64];          /* last endpoint (text), "" none */
	char change[64][2][64]; /* expected changes: previous, new */
	int n_change;
};

struct scenario {
	char text[SCEN_LINES_MAX][256];
	struct tw_lines lines;
	struct scen_peer peer[SCEN_PEERS];
	int n_changes;
};

static const char *const scen_hosts[] = {"vpn-a", "vpn-b", ""};
static const uint64_t scen_ids[] = {1, 2, 18446744073709551615ull};

static void scen_endpoint(int h, int p, int k, char *out, size_t cap)
{
	if (k == 2)
		snprintf(out, cap, "[2001:db8:%x::%x]:51820/0%%0", h + 1, p + 1);
	else
		snprintf(out, cap, "198.51.%d.%d:%d", 100 + h, 10 + p, 40000 + k);
}

static void scen_add(struct scenario *s, const char *host, const char *msg)
{
	struct tw_lines *l = &s->lines;
	char *t = s->text[l->n];

	if (host[0])
		snprintf(t, sizeof(s->text[0]), "<7>Nov 22 01:00:00 %s kernel: wireguard: wg0: %s",
		         host, msg);
	else
		snprintf(t, sizeof(s->text[0]), "wireguard: wg0: %s", msg);
	l->line[l->n] = t;
	l->len[l->n] = strlen(t);
	l->n++;
}

/* One event of peer i carrying endpoint ep (NULL: "(einval)"), tracked for the expectation. */
static void scen_event(struct scenario *s, int i, const char *ep, unsigned pick)
{
	static const char *const fmt[] = {
	        "Receiving handshake initiation from peer %llu (%s)",
	        "Receiving keepalive packet from peer %llu (%s)",
	        "Sending handshake response to peer %llu (%s)",
	        "Sending keepalive packet to peer %llu (%s)",
	};
	struct scen_peer *p = &s->peer[i];
	char msg[200];

	snprintf(msg, sizeof(msg), fmt[pick % 4], (unsigned long long)p->id, ep ? ep : "(einval)");
	scen_add(s, p->host, msg);
	if (!ep)
		return;
	if (p->last[0] && strcmp(p->last, ep)) {
		memcpy(p->change[p->n_change][0], p->last, sizeof(p->last));
		snprintf(p->change[p->n_change][1], 64, "%s", ep);
		p->n_change++;
		s->n_changes++;
	}
	if (ep != p->last)
		snprintf(p->last, sizeof(p->last), "%s", ep);
}

static void scen_build(struct scenario *s, int steps)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	char ep[64];

	memset(s, 0, sizeof(*s));
	for (int h = 0; h < 3; h++)
		for (int p = 0; p < 3; p++) {
			s->peer[h * 3 + p].host = scen_hosts[h];
			s->peer[h * 3 + p].id = scen_ids[p];
		}
	for (int n = 0; n < steps; n++) {
		int i, k;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		i = (int)(x % SCEN_PEERS);
		k = (int)((x >> 8) % 4); /* mostly stays; 3 of 4 picks are endpoints 0..2 */
		if (k == 3 && ((x >> 16) & 3) == 0) {
			scen_event(s, i, NULL, 3); /* (einval) changes nothing */
			continue;
		}
		scen_endpoint(i / 3, i % 3, k == 3 ? 0 : k, ep, sizeof(ep));
		scen_event(s, i, ep, (unsigned)(x >> 24));
	}
}

/* ---- checking what the receivers got --------------------------------------------------------- */

/* The value of "key" in a flat JSON object: a string's text, or a number's digits. */
static bool json_get(const char *body, const char *key, char *out, size_t cap)
{
	char pat[48];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(body, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p == ' ')
		p++;
	if (*p == '"')
		e = strchr(++p, '"');
	else
		e = p + strcspn(p, ",}");
	if (!e || (size_t)(e - p) >= cap)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

static int scen_find(struct scenario *s, const char *host, const char *id)
{
	for (int i = 0; i < SCEN_PEERS; i++) {
		char idtext[32];

		snprintf(idtext, sizeof(idtext), "%llu", (unsigned long long)s->peer[i].id);
		if (!strcmp(s->peer[i].host, host) && !strcmp(idtext, id))
			return i;
	}
	return -1;
}

/* Native receiver: each peer's endpoint_changed, in order, exactly the expected ones. */
static void check_native(struct scenario *s, struct recv *r, int from)
{
	int seen[SCEN_PEERS] = {0}, total = 0;
	char type[32], host[64], id[32], ep[64], prev[64];

	for (int q = from; q < recv_count(r); q++) {
		const struct recv_req *req = &r->req[q];
		int i;

		cr_assert(json_get(req->body, "type", type, sizeof(type)), "%s", req->body);
		if (strcmp(type, "endpoint_changed"))
			continue;
		cr_assert(recv_sig_ok(req, SECRET), "signature of %s", req->body);
		cr_assert_str_eq(req->event, "endpoint_changed");
		cr_assert(json_get(req->body, "host", host, sizeof(host)));
		cr_assert(json_get(req->body, "peer", id, sizeof(id)));
		cr_assert(json_get(req->body, "endpoint", ep, sizeof(ep)));
		cr_assert(json_get(req->body, "previous_endpoint", prev, sizeof(prev)));
		i = scen_find(s, host, id);
		cr_assert_geq(i, 0, "unknown peer in %s", req->body);
		cr_assert_lt(seen[i], s->peer[i].n_change, "one too many for %s/%s: %s", host, id,
		             req->body);
		cr_assert_str_eq(prev, s->peer[i].change[seen[i]][0], "%s", req->body);
		cr_assert_str_eq(ep, s->peer[i].change[seen[i]][1], "%s", req->body);
		seen[i]++;
		total++;
	}
	for (int i = 0; i < SCEN_PEERS; i++)
		cr_assert_eq(seen[i], s->peer[i].n_change, "peer %s/%llu: %d of %d",
		             s->peer[i].host, (unsigned long long)s->peer[i].id, seen[i],
		             s->peer[i].n_change);
	cr_assert_eq(total, s->n_changes);
}

/* Manager receiver: {"peer": "ip:port"}; endpoints are unique per peer, which tells the peer. */
static void check_manager(struct scenario *s, struct recv *r)
{
	int seen[SCEN_PEERS] = {0};
	char ep[64], want[96];

	cr_assert_eq(recv_count(r), s->n_changes);
	for (int q = 0; q < recv_count(r); q++) {
		int i = -1;

		cr_assert(json_get(r->req[q].body, "peer", ep, sizeof(ep)), "%s", r->req[q].body);
		snprintf(want, sizeof(want), "{\"peer\": \"%s\"}", ep);
		cr_assert_str_eq(r->req[q].body, want, "byte for byte the replaced tool's payload");
		cr_assert_str_eq(r->req[q].method, "POST");
		cr_assert_str_eq(r->req[q].ctype, "application/json");
		for (int k = 0; k < SCEN_PEERS && i < 0; k++)
			for (int c = 0; c < s->peer[k].n_change && i < 0; c++)
				if (!strcmp(s->peer[k].change[c][1], ep))
					i = k;
		cr_assert_geq(i, 0, "%s", ep);
		cr_assert_str_eq(ep, s->peer[i].change[seen[i]][1], "in order per peer");
		seen[i]++;
	}
}

/* The replaced tool's config.toml.example, with its manager URL set. */
static bool write_legacy_toml(const char *path, const char *url)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fprintf(f,
	        "[app]\n# Host to bind the UDP server\nhost = \"0.0.0.0\"\n"
	        "# Port to bind the UDP server\nport = 9995\n\n[wireguard]\n"
	        "# Wireguard interface name.\ninterface = \"wg0\"\n\n[redis]\n"
	        "# Redis configuration\ndb = 3\nhost = \"localhost\"\npassword = \"\"\n"
	        "port = 6379\nusername = \"default\"\n\n[manager]\n"
	        "# Wireguard manager webhook's URL\nurl = \"%s\"\n",
	        url);
	return fclose(f) == 0;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static struct tw_proc wgmond;
static struct notify_proc notifier;
static struct recv r_native, r_manager, r_hang;
static struct scenario scen;
static char toml_path[96];

static void e2e_fini(void)
{
	if (toml_path[0])
		unlink(toml_path);
	np_cleanup(&notifier, wgmond.shm);
	tw_cleanup(&wgmond);
	recv_stop(&r_native);
	recv_stop(&r_manager);
	recv_stop(&r_hang);
}

static void start_wgmond(void)
{
	static char listen[32];

	tw_init(&wgmond, "notify");
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", wgmond.port);
	tw_arg(&wgmond, "--listen");
	tw_arg(&wgmond, listen);
	tw_arg(&wgmond, "--workers"); /* one: the table's own count follows the receive order */
	tw_arg(&wgmond, "1");
	cr_assert_eq(tw_spawn(&wgmond), 0);
	cr_assert(tw_wait_ready(&wgmond), "wgmond: %s", tw_log(&wgmond));
}

static void send_and_wait(size_t from, size_t to, uint64_t total)
{
	struct shm_stats st;

	cr_assert(tw_send(wgmond.port, &scen.lines, from, to));
	cr_assert(tw_wait_lines(wgmond.shm, total, 0, 20, &st), "wgmond applied %llu of %llu",
	          (unsigned long long)st.lines, (unsigned long long)total);
}

Test(notify_e2e, every_endpoint_change_once_in_order, .fini = e2e_fini, .timeout = 120)
{
	char *toml = toml_path;
	const char *args[] = {"--url",    NULL,   "--config",  toml,    "--url", NULL,
	                      "--secret", SECRET, "--timeout", "60000", NULL};
	int n_native, n_manager, status;
	char cmd[600], *out, prev[64], want[256];
	size_t n1;

	cr_assert(recv_start(&r_native, 200, NULL, 0, false));
	cr_assert(recv_start(&r_manager, 200, NULL, 0, false));
	cr_assert(recv_start(&r_hang, 200, NULL, 0, true));
	args[1] = r_native.url;
	args[5] = r_hang.url;
	/* The manager URL from the replaced tool's own config.toml, unchanged. */
	snprintf(toml_path, sizeof(toml_path), "/tmp/wgmon-notify-test-%d.toml", (int)getpid());
	cr_assert(write_legacy_toml(toml, r_manager.url));
	scen_build(&scen, 300);
	cr_assert_gt(scen.n_changes, 40, "a scenario with changes: %d", scen.n_changes);
	start_wgmond();
	cr_assert(np_spawn(&notifier, wgmond.shm, args));
	cr_assert(np_wait_ready(&notifier), "wgmon-notify: %s", np_log(&notifier));

	send_and_wait(0, scen.lines.n, scen.lines.n);
	cr_assert(recv_wait(&r_manager, scen.n_changes, 20), "manager got %d of %d",
	          recv_count(&r_manager), scen.n_changes);
	cr_assert_eq(recv_count(&r_hang), 1, "the hanging receiver still holds its first");

	/* The figures of the running process, as an operator reads them. */
	snprintf(cmd, sizeof(cmd), "%s/sinks/wgmon-notify --stats --json --shm %s",
	         getenv("WGMON_BIN") ? getenv("WGMON_BIN") : ".", wgmond.shm);
	out = tw_run(cmd, &status);
	cr_assert(out && status == 0, "%s", out ? out : "(none)");
	cr_assert(strstr(out, "\"targets\":[{\"url\":\"http://127.0.0.1:"), "%s", out);
	cr_assert(strstr(out, "\"format\":\"manager\""), "%s", out);
	free(out);

	cr_assert_eq(np_stop(&notifier), 0, "exit 0 on SIGTERM: %s", np_log(&notifier));
	cr_assert_null(strstr(np_log(&notifier), SECRET), "the secret is never logged");
	check_native(&scen, &r_native, 0);
	check_manager(&scen, &r_manager);
	cr_log_info("%d endpoint changes over %zu lines, each posted once to each receiver",
	            scen.n_changes, scen.lines.n);

	/* A restart: seeded from the table, it re-fires nothing; a new change is told once. */
	n_native = recv_count(&r_native);
	n_manager = recv_count(&r_manager);
	snprintf(prev, sizeof(prev), "%s", scen.peer[0].last);
	n1 = scen.lines.n;
	cr_assert(np_spawn(&notifier, wgmond.shm, args));
	cr_assert(np_wait_ready(&notifier), "wgmon-notify: %s", np_log(&notifier));
	scen_event(&scen, 0, "203.0.113.1:1", 1);
	scen_add(&scen, "vpn-a", "Receiving keepalive packet from peer 900 (203.0.113.2:2)");
	send_and_wait(n1, scen.lines.n, scen.lines.n);
	cr_assert(recv_wait(&r_manager, n_manager + 1, 20));
	cr_assert(recv_wait(&r_native, n_native + 1, 20));
	cr_assert_eq(np_stop(&notifier), 0);
	cr_assert_eq(recv_count(&r_manager), n_manager + 1, "nothing re-fired");
	cr_assert_str_eq(r_manager.req[n_manager].body, "{\"peer\": \"203.0.113.1:1\"}");
	cr_assert_eq(recv_count(&r_native), n_native + 1, "nothing re-fired, first sight silent");
	snprintf(want, sizeof(want),
	         "\"host\":\"vpn-a\",\"iface\":\"wg0\",\"peer\":1,\"endpoint\":\"203.0.113.1:1\","
	         "\"previous_endpoint\":\"%s\"",
	         prev);
	cr_assert(strstr(r_native.req[n_native].body, want), "%s", r_native.req[n_native].body);
}

Test(notify_e2e, states_creation_interfaces_and_filters, .fini = e2e_fini, .timeout = 120)
{
	const char *args[] = {"--url",
	                      NULL,
	                      "--manager-url",
	                      NULL,
	                      "--stale-after",
	                      "1",
	                      "--interval",
	                      "100",
	                      "--events",
	                      "state_changed,peer_created,interface_up",
	                      NULL};
	char type[32], state[16], prev[16];
	bool up = false, stale = false, created = false, iface_up = false;
	uint64_t end;

	cr_assert(recv_start(&r_native, 200, NULL, 0, false));
	cr_assert(recv_start(&r_manager, 200, NULL, 0, false));
	cr_assert(recv_start(&r_hang, 200, NULL, 0, false));
	args[1] = r_native.url;
	args[3] = r_manager.url;
	memset(&scen, 0, sizeof(scen));
	start_wgmond();
	cr_assert(np_spawn(&notifier, wgmond.shm, args));
	cr_assert(np_wait_ready(&notifier), "wgmon-notify: %s", np_log(&notifier));
	scen_add(&scen, "vpn-s", "Interface created");
	scen_add(&scen, "vpn-s", "Peer 9 created");
	scen_add(&scen, "vpn-s", "Receiving handshake initiation from peer 9 (192.0.2.9:1)");
	scen_add(&scen, "vpn-s", "Keypair 4 created for peer 9");
	scen_add(&scen, "vpn-s", "Receiving keepalive packet from peer 9 (192.0.2.10:1)");
	send_and_wait(0, scen.lines.n, scen.lines.n);
	cr_assert(recv_wait(&r_manager, 1, 20), "the manager gets endpoint changes regardless");

	/* new → up at the handshake, then up → stale a second later. */
	end = tw_now_ns() + tw_bound_ns(20);
	while (!(up && stale && created && iface_up) && tw_now_ns() < end) {
		up = stale = created = iface_up = false;
		for (int q = 0; q < recv_count(&r_native); q++) {
			const char *b = r_native.req[q].body;

			cr_assert(json_get(b, "type", type, sizeof(type)));
			cr_assert(strcmp(type, "endpoint_changed"), "filtered out: %s", b);
			created |= !strcmp(type, "peer_created");
			iface_up |= !strcmp(type, "interface_up");
			if (strcmp(type, "state_changed"))
				continue;
			cr_assert(json_get(b, "state", state, sizeof(state)), "%s", b);
			cr_assert(json_get(b, "previous_state", prev, sizeof(prev)), "%s", b);
			cr_assert(strstr(b, "\"host\":\"vpn-s\",\"iface\":\"wg0\",\"peer\":9"),
			          "%s", b);
			up |= !strcmp(prev, "new") && !strcmp(state, "up");
			stale |= !strcmp(prev, "up") && !strcmp(state, "stale");
		}
		tw_pause();
	}
	cr_assert(created && iface_up, "peer_created and interface_up");
	cr_assert(up && stale, "new → up → stale");
	cr_assert_eq(np_stop(&notifier), 0);
	cr_assert_str_eq(r_manager.req[0].body, "{\"peer\": \"192.0.2.10:1\"}");
}
