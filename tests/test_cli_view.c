/* SPDX-License-Identifier: MIT */
/*
 * test_cli_view.c — the reader subcommands against a table filled through the writer API with
 * chosen receive times (kernel lines parsed by parse_line(), so the events are real): the
 * health rules, states and tenants from a configuration file, `wgmon show` in all its forms
 * and filters, `wgmon events`, and the doctor's time-dependent causes. Each command runs in a
 * forked child whose stdout and stderr go to files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parse/parse.h"
#include "shm/shm.h"
#include "tools/tools.h"
#include "tools/tools_view.h"

#define SEC UINT64_C(1000000000)
#define T0  UINT64_C(1763771234000000000) /* 2025-11-22, long before any test runs */

static char name[64];
static char conf[64];
static struct shm_writer *w;

/* wgmon.c owns this; the test links the subcommands without it. */
const char *tools_shm_name(const char *flag)
{
	return flag && *flag ? flag : name;
}

static void setup(void)
{
	struct shm_writer_opts o = {.capacity = 256, .event_ring = 256, .gid = -1};

	snprintf(name, sizeof(name), "/wgmon-test-cli-%d", (int)getpid());
	snprintf(conf, sizeof(conf), "/tmp/wgmon-test-cli-%d.conf", (int)getpid());
	shm_unlink(name);
	o.name = name;
	cr_assert_eq(shm_writer_open(&w, &o), 0, "%s", shm_writer_error());
}

static void teardown(void)
{
	shm_writer_close(w);
	shm_unlink(name);
	unlink(conf);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 30);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* Apply one kernel line as if received at t. */
static void line(const char *text, uint64_t t)
{
	struct parse_event ev;
	int r = parse_line(text, strlen(text), &ev);

	cr_assert_eq(r, PARSE_OK, "%s: %s", text, parse_reject_name((unsigned)r));
	cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t), 0);
}

/* A line of host `host` ("" = local) and interface `iface`, in an RFC 3164 envelope. */
static void hline(const char *host, const char *iface, const char *msg, uint64_t t)
{
	char buf[512];

	if (*host)
		snprintf(buf, sizeof(buf), "<7>Nov 22 10:00:00 %s kernel: wireguard: %s: %s", host,
		         iface, msg);
	else
		snprintf(buf, sizeof(buf), "wireguard: %s: %s", iface, msg);
	line(buf, t);
}

static void config(const char *text)
{
	FILE *f = fopen(conf, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

struct run {
	int code;
	char out[1 << 16];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run cmd with the NULL-terminated arguments; --shm is added. */
static void run(int (*cmd)(int, char **), struct run *res, ...)
{
	char out_path[] = "/tmp/wgmon-cli-out-XXXXXX", err_path[] = "/tmp/wgmon-cli-err-XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path), status, argc = 0;
	char *argv[32];
	const char *a;
	va_list ap;
	pid_t pid;

	cr_assert(out >= 0 && err >= 0);
	unlink(out_path);
	unlink(err_path);
	argv[argc++] = "cmd";
	va_start(ap, res);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 28)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc++] = "--shm";
	argv[argc++] = name;
	argv[argc] = NULL;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		status = cmd(argc, argv);
		fflush(NULL);
		_exit(status);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	res->code = WEXITSTATUS(status);
	slurp(out, res->out, sizeof(res->out));
	slurp(err, res->err, sizeof(res->err));
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- Health rules -------------------------------------------------------------------------- */

Test(cli, health_rules)
{
	const uint64_t stale = 180 * SEC, now = T0 + 1000 * SEC;
	struct shm_peer p = {.first_seen = T0};

	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_NEW);
	p.last_handshake = now - 180 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_UP, "exactly stale_after: up");
	p.last_handshake = now - 181 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_STALE);
	p.retry_at = now - 10 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_FAILING);
	p.last_handshake = now - 5 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_UP, "a handshake after retries");
	p.keys_zeroed_at = now - 1 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_DOWN, "keys zeroed since");
	p.keys_zeroed_at = 0;
	p.gave_up_at = now - 2 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_DOWN, "gave up since");
	p.retry_at = now - 1 * SEC;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_FAILING, "retrying again");
	p.destroyed_at = now;
	cr_assert_eq(shm_peer_state(&p, now, stale), SHM_STATE_REMOVED);
	for (int s = 0; s < SHM_STATE__COUNT; s++)
		cr_assert_eq(shm_state_lookup(shm_state_name(s)), s);
	cr_assert_eq(shm_state_lookup("bogus"), -1);
}

Test(cli, ages_and_state_lists)
{
	char buf[VIEW_AGE_MAX];
	unsigned mask;
	char err[96];

	view_age(buf, sizeof(buf), T0, T0 + 72 * SEC);
	cr_assert_str_eq(buf, "1 minute, 12 seconds ago");
	view_age(buf, sizeof(buf), T0, T0 + 3601 * SEC);
	cr_assert_str_eq(buf, "1 hour, 1 second ago");
	view_age(buf, sizeof(buf), T0, T0 + SEC / 2);
	cr_assert_str_eq(buf, "now");
	view_age(buf, sizeof(buf), 0, T0);
	cr_assert_str_eq(buf, "never");
	view_age_short(buf, sizeof(buf), T0, T0 + 3 * 86400 * SEC);
	cr_assert_str_eq(buf, "3d");
	cr_assert_eq(view_states_parse("up,failing", &mask, err, sizeof(err)), 0);
	cr_assert_eq(mask, (1u << SHM_STATE_UP) | (1u << SHM_STATE_FAILING));
	cr_assert_eq(view_states_parse("up,sad", &mask, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "'sad'"), "%s", err);
}

/* ---- show ---------------------------------------------------------------------------------- */

/* Peers of three tenants and none: acme by interface, edge by host, the rest none. */
static void tenants_table(uint64_t now)
{
	config("[health]\nstale_after = 90\n\n"
	       "[tenant acme]\ninterfaces = wg-acme*\nstale_after = 600\n\n"
	       "[tenant edge]\nhosts = vpn-edge*\n");
	hline("vpn1", "wg-acme0", "Keypair 1 created for peer 1", now - 120 * SEC);
	hline("vpn1", "wg0", "Keypair 2 created for peer 2", now - 120 * SEC);
	hline("vpn-edge1", "wg0", "Keypair 3 created for peer 3", now - 10 * SEC);
	hline("vpn1", "wg0",
	      "Handshake for peer 4 (192.0.2.4:51820) did not complete after 5 seconds, retrying "
	      "(try 2)",
	      now - 5 * SEC);
}

Test(cli, show_json_keeps_the_contract_and_adds_state_and_tenant)
{
	struct run res;

	config("[tenant acme]\nhosts = vpn1\n");
	hline("vpn1", "wg0", "Receiving keepalive packet from peer 9 (192.0.2.9:51820)", T0);
	hline("", "wg0", "Keypair 5 created for peer 5", T0 + SEC);
	run(cmd_show, &res, "--json", "--config", conf, NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert_str_eq(
	        res.out,
	        "{\"host\":\"\",\"iface\":\"wg0\",\"peer\":5,\"first_seen\":1763771235.000000,"
	        "\"last_seen\":1763771235.000000,\"last_handshake\":1763771235.000000,"
	        "\"endpoint_changes\":0,\"events\":{\"keypair_created\":1},"
	        "\"state\":\"stale\"}\n"
	        "{\"host\":\"vpn1\",\"iface\":\"wg0\",\"peer\":9,\"endpoint\":"
	        "\"192.0.2.9:51820\",\"ip\":\"192.0.2.9\",\"port\":51820,"
	        "\"first_seen\":1763771234.000000,\"last_seen\":1763771234.000000,"
	        "\"last_keepalive_rx\":1763771234.000000,\"endpoint_changes\":0,"
	        "\"events\":{\"keepalive_received\":1},\"state\":\"new\","
	        "\"tenant\":\"acme\"}\n");
}

Test(cli, states_and_tenants_come_from_the_config)
{
	uint64_t now = now_ns();
	struct run res;

	tenants_table(now);
	run(cmd_show, &res, "--json", "--config", conf, NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	/* acme: 120 s < its 600; peer 2: 120 s > [health] 90; edge: 10 s < 90. */
	cr_assert(strstr(res.out, "\"peer\":1,") && strstr(res.out, "\"state\":\"up\","
	                                                            "\"tenant\":\"acme\"}"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "\"events\":{\"keypair_created\":1},\"state\":\"stale\"}"), "%s",
	          res.out);
	cr_assert(strstr(res.out, "\"state\":\"up\",\"tenant\":\"edge\"}"), "%s", res.out);
	cr_assert(strstr(res.out, "\"state\":\"failing\"}"), "%s", res.out);
	/* The flag overrides [health] stale_after; acme keeps its own. */
	run(cmd_show, &res, "--json", "--config", conf, "--stale-after", "200", "--state", "stale",
	    NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert_str_eq(res.out, "");
	/* Without the file: the default 180 s. */
	run(cmd_show, &res, "--tsv", "--config", "/dev/null", NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert(strstr(res.out, "\tendpoint_changes\tstate\ttenant\n"), "%s", res.out);
	cr_assert(strstr(res.out, "\t0\tup\t\n"), "%s", res.out);
	cr_assert_null(strstr(res.out, "\tacme\n"), "no tenants without the file: %s", res.out);
}

Test(cli, show_filters)
{
	uint64_t now = now_ns();
	struct run res;

	tenants_table(now);
	run(cmd_show, &res, "--json", "--config", conf, "--tenant", "acme", NULL);
	cr_assert_eq(count_lines(res.out), 1, "%s", res.out);
	cr_assert(strstr(res.out, "\"peer\":1,"), "%s", res.out);
	run(cmd_show, &res, "--json", "--config", conf, "--tenant", "", NULL);
	cr_assert_eq(count_lines(res.out), 2, "no tenant: peers 2 and 4\n%s", res.out);
	run(cmd_show, &res, "--json", "--config", conf, "--host", "vpn-*", NULL);
	cr_assert_eq(count_lines(res.out), 1, "%s", res.out);
	run(cmd_show, &res, "--json", "--config", conf, "--iface", "wg0", "--peer", "4", NULL);
	cr_assert_eq(count_lines(res.out), 1, "%s", res.out);
	cr_assert(strstr(res.out, "\"peer\":4,"), "%s", res.out);
	run(cmd_show, &res, "--json", "--config", conf, "--state", "up,failing", NULL);
	cr_assert_eq(count_lines(res.out), 3, "%s", res.out);
	run(cmd_show, &res, "--state", "sleepy", NULL);
	cr_assert_eq(res.code, 2);
	cr_assert(strstr(res.err, "unknown state 'sleepy'"), "%s", res.err);
	run(cmd_show, &res, "--config", "/nonexistent/wgmon.conf", NULL);
	cr_assert_eq(res.code, 1);
	cr_assert(strstr(res.err, "wgmon show: "), "%s", res.err);
}

Test(cli, show_summary)
{
	uint64_t now = now_ns();
	struct run res;

	tenants_table(now);
	run(cmd_show, &res, "--summary", "--config", conf, NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert(strstr(res.out, "host        iface       tenant     total   new    up stale "
	                          "failing  down removed\n"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "vpn1        wg0         -              2     0     0     1"
	                          "       1     0       0\n"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "acme                                   1     0     1     0"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "(no tenant)                            2"), "%s", res.out);
	for (const char *l = res.out, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1)
		cr_assert_leq(nl - l, 80, "%.*s", (int)(nl - l), l);
	run(cmd_show, &res, "--summary", "--json", "--config", conf, NULL);
	cr_assert(strstr(res.out, "{\"group\":\"iface\",\"host\":\"vpn1\",\"iface\":\"wg-acme0\","
	                          "\"tenant\":\"acme\",\"total\":1,\"new\":0,\"up\":1,"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "{\"group\":\"tenant\",\"tenant\":\"edge\",\"total\":1,"), "%s",
	          res.out);
	cr_assert(strstr(res.out, "{\"group\":\"tenant\",\"tenant\":\"\",\"total\":2,"), "%s",
	          res.out);
}

Test(cli, show_human_fits_80_columns_and_colours_only_when_asked)
{
	uint64_t now = now_ns();
	struct run res;

	tenants_table(now);
	hline("vpn1", "wg0", "Receiving keepalive packet from peer 2 (192.0.2.2:51820)",
	      now - 5 * SEC);
	run(cmd_show, &res, "--config", conf, NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert_null(strchr(res.out, '\033'), "no colour off a terminal");
	cr_assert(strstr(res.out, "host: vpn1\n\ninterface: wg-acme0 (unknown)\n  tenant: acme\n"
	                          "  peers: 1 (1 up)\n\n  peer: 1\n"),
	          "%s", res.out);
	/* (The ages may have grown by a second on a slow machine.) */
	cr_assert(strstr(res.out, "  peer: 2\n    endpoint: 192.0.2.2:51820\n    latest handshake: "
	                          "2 minutes"),
	          "%s", res.out);
	cr_assert(strstr(res.out, " ago\n    keepalive: received "), "%s", res.out);
	cr_assert(strstr(res.out, " seconds ago, sent never\n    state: stale\n"), "%s", res.out);
	cr_assert(strstr(res.out, "interface: wg0 (unknown)\n  peers: 2 (1 stale, 1 failing)\n"),
	          "%s", res.out);
	for (const char *l = res.out, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1)
		cr_assert_leq(nl - l, 80, "%.*s", (int)(nl - l), l);
	run(cmd_show, &res, "--config", conf, "--color", "always", NULL);
	cr_assert(strstr(res.out, "    state: \033[32mup\033[0m\n"), "%s", res.out);
	run(cmd_show, &res, "--color", "sometimes", NULL);
	cr_assert_eq(res.code, 2);
}

/* ---- events -------------------------------------------------------------------------------- */

static void events_table(void)
{
	hline("vpn1", "wg0", "Receiving handshake initiation from peer 2 (198.51.100.2:51820)", T0);
	hline("vpn1", "wg0", "Invalid MAC of handshake, dropping packet from 198.51.100.2:51820",
	      T0 + SEC);
	hline("vpn1", "wg0", "Invalid MAC of handshake, dropping packet from 203.0.113.9:4444",
	      T0 + 2 * SEC);
	hline("vpn1", "wg1", "No peer has allowed IPs matching 10.20.30.40", T0 + 3 * SEC);
	line("<7>Nov 22 10:00:00 vpn1 kernel: message repeated 3 times: [ wireguard: wg0: "
	     "Sending keepalive packet to peer 2 (198.51.100.2:51820)]",
	     T0 + 4 * SEC);
}

Test(cli, events_prints_the_ring)
{
	struct run res;

	events_table();
	run(cmd_events, &res, "--json", NULL);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert_eq(count_lines(res.out), 5, "%s", res.out);
	cr_assert(starts(res.out,
	                 "{\"seq\":1,\"time\":1763771234.000000,\"event\":\"handshake_initiation_"
	                 "received\",\"host\":\"vpn1\",\"iface\":\"wg0\",\"peer\":2,\"endpoint\":"
	                 "\"198.51.100.2:51820\",\"ip\":\"198.51.100.2\",\"port\":51820}\n"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "\"event\":\"xmit_no_allowed_ips\",\"host\":\"vpn1\",\"iface\":"
	                          "\"wg1\",\"addr\":\"10.20.30.40\"}"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "\"repeat\":3"), "%s", res.out);
	run(cmd_events, &res, NULL);
	cr_assert(strstr(res.out, " vpn1 wg1 xmit_no_allowed_ips addr=10.20.30.40\n"), "%s",
	          res.out);
	cr_assert(strstr(res.out, " vpn1 wg0 peer 2 keepalive_sent 198.51.100.2:51820 (x3)\n"),
	          "%s", res.out);
}

Test(cli, events_filters)
{
	struct run res;

	events_table();
	/* --peer: its own events and the endpoint-only ones from its endpoint. */
	run(cmd_events, &res, "--peer", "2", NULL);
	cr_assert_eq(count_lines(res.out), 3, "%s", res.out);
	cr_assert(strstr(res.out, "handshake_mac_invalid 198.51.100.2:51820"), "%s", res.out);
	cr_assert_null(strstr(res.out, "203.0.113.9"), "%s", res.out);
	run(cmd_events, &res, "--event", "handshake_mac_invalid", NULL);
	cr_assert_eq(count_lines(res.out), 2, "%s", res.out);
	run(cmd_events, &res, "--event", "handshake_mac_invalid,xmit_no_allowed_ips", "--iface",
	    "wg1", NULL);
	cr_assert_eq(count_lines(res.out), 1, "%s", res.out);
	run(cmd_events, &res, "-n", "2", "--json", NULL);
	cr_assert_eq(count_lines(res.out), 2, "%s", res.out);
	cr_assert(starts(res.out, "{\"seq\":4,"), "%s", res.out);
	run(cmd_events, &res, "--host", "other", NULL);
	cr_assert_str_eq(res.out, "");
	run(cmd_events, &res, "--event", "bogus_event", NULL);
	cr_assert_eq(res.code, 2);
	cr_assert(strstr(res.err, "unknown event 'bogus_event'"), "%s", res.err);
}

/* A follower stopped while the writer laps the ring reports the loss where it happened. */
Test(cli, events_follow_says_what_it_missed)
{
	char path[] = "/tmp/wgmon-cli-follow-XXXXXX", buf[1 << 16];
	char *argv[] = {"events", "--follow", "--json", "--shm", name, NULL};
	int fd = mkstemp(path), status;
	uint64_t end;
	ssize_t n = 0;
	pid_t pid;

	cr_assert_geq(fd, 0);
	unlink(path);
	hline("vpn1", "wg0", "Peer 2 created", T0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fd, 1);
		_exit(cmd_events(5, argv));
	}
	/* Poll for the first event: then the follower is attached and drained. */
	for (end = now_ns() + 10 * SEC; now_ns() < end; poll(NULL, 0, 2)) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0 && memchr(buf, '\n', (size_t)n))
			break;
	}
	cr_assert_gt(n, 0, "the follower printed nothing");
	kill(pid, SIGSTOP);
	for (unsigned i = 1; i <= 600; i++)
		hline("vpn1", "wg0", "Sending keepalive packet to peer 2 (198.51.100.2:51820)",
		      T0 + i);
	kill(pid, SIGCONT);
	for (end = now_ns() + 10 * SEC; now_ns() < end; poll(NULL, 0, 2)) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, "{\"seq\":601,"))
			break;
	}
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	close(fd);
	/* Event 1 printed; head 601, ring 256: 601 - 256 - 1 = 344 lost, then 346...601. */
	cr_assert(strstr(buf, "{\"seq\":1,"), "%s", buf);
	cr_assert(strstr(buf, "}\n{\"missed\":344}\n{\"seq\":346,"), "%s", buf);
	cr_assert_eq(count_lines(buf), 1 + 1 + 256, "%s", buf);
}

/* ---- doctor: the causes that depend on time ------------------------------------------------ */

Test(cli, doctor_inactive_and_rebinding)
{
	uint64_t now = now_ns();
	char msg[128];
	struct run res;

	hline("vpn1", "wg0", "Keypair 1 created for peer 1", now - 1000 * SEC);
	hline("vpn1", "wg0", "Receiving keepalive packet from peer 2 (203.0.113.2:40000)",
	      now - 100 * SEC);
	hline("vpn1", "wg0", "Keypair 7 created for peer 2", now - 100 * SEC + 1);
	for (unsigned i = 1; i <= 4; i++) {
		snprintf(msg, sizeof(msg),
		         "Receiving keepalive packet from peer 2 (203.0.113.2:%u)", 40000 + i);
		hline("vpn1", "wg0", msg, now - 100 * SEC + i * SEC);
	}
	run(cmd_doctor, &res, "--json", NULL);
	cr_assert_eq(res.code, 3, "%s%s", res.out, res.err);
	cr_assert_eq(count_lines(res.out), 1, "4 changes in an hour are below 6: %s", res.out);
	cr_assert(starts(res.out, "{\"host\":\"vpn1\",\"iface\":\"wg0\",\"peer\":1,\"state\":"
	                          "\"stale\",\"cause\":\"inactive\",\"evidence\":{},\"since\":"),
	          "%s", res.out);
	run(cmd_doctor, &res, "--json", "--rebind-per-hour", "4", "--peer", "2", NULL);
	cr_assert_eq(res.code, 3, "%s", res.err);
	cr_assert(strstr(res.out, "\"peer\":2,\"state\":\"up\",\"cause\":\"nat_rebinding\","
	                          "\"evidence\":{\"endpoint_changes\":4},"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "now 203.0.113.2:40004, before 203.0.113.2:40003"), "%s",
	          res.out);
	run(cmd_doctor, &res, "--peer", "2", NULL);
	cr_assert_eq(res.code, 0, "%s", res.out);
	cr_assert(strstr(res.out, "No problems found (1 peers, 0 interfaces, 0 hosts checked).\n"),
	          "%s", res.out);
	run(cmd_doctor, &res, NULL);
	cr_assert(strstr(res.out, "vpn1 wg0 peer 1: inactive (stale)\n"), "%s", res.out);
	for (const char *l = res.out, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1)
		cr_assert_leq(nl - l, 80, "%.*s", (int)(nl - l), l);
}

Test(cli, doctor_key_mismatch_only_after_the_latest_handshake)
{
	struct run res;

	hline("vpn1", "wg0", "Invalid MAC of handshake, dropping packet from 198.51.100.2:51820",
	      T0);
	hline("vpn1", "wg0", "Receiving handshake initiation from peer 2 (198.51.100.2:51820)",
	      T0 + SEC);
	hline("vpn1", "wg0", "Keypair 1 created for peer 2", T0 + SEC);
	run(cmd_doctor, &res, "--json", "--stale-after", "999999999", NULL);
	cr_assert_eq(res.code, 0, "resolved by the later handshake: %s", res.out);
	hline("vpn1", "wg0", "Invalid handshake initiation from 198.51.100.2:51820", T0 + 2 * SEC);
	run(cmd_doctor, &res, "--json", "--stale-after", "999999999", NULL);
	cr_assert_eq(res.code, 3, "%s", res.err);
	cr_assert_str_eq(
	        res.out,
	        "{\"host\":\"vpn1\",\"iface\":\"wg0\",\"peer\":2,\"state\":\"up\","
	        "\"cause\":\"key_mismatch\",\"evidence\":{\"handshake_initiation_invalid\":"
	        "1},\"since\":1763771236.000000,\"detail\":\"from 198.51.100.2:51820\","
	        "\"fix\":\"Compare keys: this [Peer]'s PublicKey must be the public key "
	        "of the peer's private key (wg pubkey < private.key on the peer), and the "
	        "peer's [Peer] for us must hold our public key (wg show IFACE public-key). "
	        "PresharedKey must be the same on both sides, or absent on both.\"}\n");
}
