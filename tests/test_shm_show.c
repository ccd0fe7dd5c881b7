/* SPDX-License-Identifier: MIT */
/*
 * Tests of `wgmon show` and `wgmon stats` (tools/cmd_show.c, included here): the JSON lines
 * contract (keys, order, sorting), the TSV and human forms, the stats object, and the error
 * when no table exists. Each command runs in a child whose stdout/stderr go to files.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/cmd_show.c"

#define T0  1763771234000000000ull
#define SEC 1000000000ull

static char name[64];

/* wgmon.c owns this; the test links cmd_show.c alone. */
const char *tools_shm_name(const char *flag)
{
	return flag && *flag ? flag : name;
}

static void setup(void)
{
	snprintf(name, sizeof(name), "/wgmon-test-show-%d", (int)getpid());
	shm_unlink(name);
}

static void teardown(void)
{
	shm_unlink(name);
}

TestSuite(show, .init = setup, .fini = teardown, .timeout = 30);

struct run {
	int code;
	char out[65536];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run cmd(argv) in a child; collect exit code, stdout and stderr. */
static void run(int (*cmd)(int, char **), const char *const *args, struct run *res)
{
	char out_path[] = "/tmp/wgmon-show-out-XXXXXX", err_path[] = "/tmp/wgmon-show-err-XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path), status, argc = 0;
	char *argv[16];
	pid_t pid;

	cr_assert(out >= 0 && err >= 0);
	unlink(out_path);
	unlink(err_path);
	while (args[argc] && argc < 15) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
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

static struct shm_writer *open_writer(void)
{
	struct shm_writer_opts o = {.name = name, .capacity = 256, .event_ring = 64, .gid = -1};
	struct shm_writer *w = NULL;

	cr_assert_eq(shm_writer_open(&w, &o), 0, "%s", shm_writer_error());
	return w;
}

static void put(struct shm_writer *w, unsigned kind, const char *host, uint64_t peer,
                const char *ip, uint64_t t)
{
	struct parse_event e = {.kind = (uint8_t)kind,
	                        .repeat = 1,
	                        .fields = peer ? PARSE_F_PEER : 0,
	                        .peer = peer,
	                        .iface_len = 3,
	                        .iface = "wg0"};

	if (host) {
		e.host = host;
		e.host_len = (uint8_t)strlen(host);
	}
	if (ip) {
		e.fields |= PARSE_F_ENDPOINT;
		e.endpoint = (struct parse_endpoint){.af = PARSE_AF_INET, .port = 51820};
		cr_assert_eq(inet_pton(AF_INET, ip, e.endpoint.addr), 1);
	}
	cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &e, t), 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* The exact JSON and TSV forms (with state and tenant) are tested in test_cli_view.c. */

Test(show, human_form_fits_80_columns)
{
	static const char *const args[] = {"show", NULL};
	struct shm_writer *w = open_writer();
	uint64_t now = now_ns();
	struct run res;

	put(w, PARSE_EV_KEYPAIR_CREATED, "vpn1", 3, NULL, now - 72 * SEC - SEC / 4);
	put(w, PARSE_EV_KEEPALIVE_RECEIVED, "vpn1", 3, "192.0.2.3", now - 5 * SEC - SEC / 4);
	put(w, PARSE_EV_INTERFACE_CREATED, "vpn1", 0, NULL, now - 3600 * SEC);
	run(cmd_show, args, &res);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert(strstr(res.out, "host: vpn1\n"), "%s", res.out);
	cr_assert(strstr(res.out, "interface: wg0 (up)\n"), "%s", res.out);
	cr_assert(strstr(res.out, "  peer: 3\n    endpoint: 192.0.2.3:51820\n"), "%s", res.out);
	cr_assert(strstr(res.out, "latest handshake: 1 minute, 12 seconds ago\n"), "%s", res.out);
	cr_assert(strstr(res.out, "keepalive: received 5 seconds ago, sent never\n"), "%s",
	          res.out);
	for (char *line = res.out, *nl; (nl = strchr(line, '\n')); line = nl + 1)
		cr_assert_leq(nl - line, 80);
	shm_writer_close(w);
}

Test(show, stats_json_object)
{
	static const char *const args[] = {"stats", "--json", NULL};
	struct shm_writer *w = open_writer();
	struct shm_counters *c = shm_writer_counters(w, SHM_BLOCK_INGEST);
	struct run res;

	shm_counter_add(&c->datagrams, 3);
	shm_counter_add(&c->bytes, 300);
	shm_counter_add(&c->dropped[SHM_DROP_RING_FULL], 2);
	c = shm_writer_counters(w, SHM_BLOCK_WORKER(1));
	shm_counter_add(&c->lines, 4);
	shm_counter_add(&c->rejected[PARSE_REJECT_NOT_WIREGUARD], 1);
	put(w, PARSE_EV_KEEPALIVE_SENT, NULL, 1, NULL, T0);
	put(w, PARSE_EV_KEEPALIVE_SENT, NULL, 2, NULL, T0);
	put(w, PARSE_EV_PEER_CREATED, NULL, 2, NULL, T0);
	cr_assert_null(shm_writer_counters(w, SHM_COUNTER_BLOCKS));
	run(cmd_stats, args, &res);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert(!strncmp(res.out,
	                   "{\"datagrams\":3,\"bytes\":300,\"lines\":4,\"events\":3,"
	                   "\"events_by_kind\":{\"cookie_decrypt_failed\":0,",
	                   strlen("{\"datagrams\":3,\"bytes\":300,\"lines\":4,\"events\":3,"
	                          "\"events_by_kind\":{\"cookie_decrypt_failed\":0,")),
	          "%s", res.out);
	cr_assert(strstr(res.out, "\"keepalive_sent\":2,"), "%s", res.out);
	cr_assert(strstr(res.out, "\"rejected\":{\"not_wireguard\":1,\"unknown_message\":0,"), "%s",
	          res.out);
	cr_assert(strstr(res.out, ",\"too_long\":0},\"dropped\":{\"ring_full\":2,\"truncated\":0,"),
	          "%s", res.out);
	cr_assert(strstr(res.out, "\"peers\":2,\"capacity\":256,"), "%s", res.out);
	cr_assert(strstr(res.out, "\"generation\":1,"), "%s", res.out);
	cr_assert(strstr(res.out, "\"heartbeat_age_seconds\":"), "%s", res.out);
	cr_assert_eq(res.out[strlen(res.out) - 2], '}');
	shm_writer_close(w);
}

Test(show, stats_human)
{
	static const char *const args[] = {"stats", NULL};
	struct shm_writer *w = open_writer();
	struct run res;

	put(w, PARSE_EV_KEEPALIVE_SENT, NULL, 1, NULL, T0);
	run(cmd_stats, args, &res);
	cr_assert_eq(res.code, 0, "%s", res.err);
	cr_assert(strstr(res.out, "peers                            1 of 256\n"), "%s", res.out);
	cr_assert(strstr(res.out, "  keepalive_sent                 1\n"), "%s", res.out);
	shm_writer_close(w);
}

Test(show, no_table_is_a_clear_error)
{
	static const char *const show[] = {"show", "--json", NULL};
	static const char *const stats[] = {"stats", NULL};
	char want[128];
	struct run res;

	snprintf(want, sizeof(want), "wgmon show: no table at %s: is wgmond running?\n", name);
	run(cmd_show, show, &res);
	cr_assert_eq(res.code, 1);
	cr_assert_str_eq(res.err, want);
	cr_assert_str_eq(res.out, "");
	run(cmd_stats, stats, &res);
	cr_assert_eq(res.code, 1);
	cr_assert(strstr(res.err, "wgmon stats: no table at "), "%s", res.err);
}

Test(show, help_and_usage_errors)
{
	static const char *const help[] = {"show", "--help", NULL};
	static const char *const bad[] = {"show", "--bogus", NULL};
	static const char *const extra[] = {"stats", "--tsv", NULL};
	struct run res;

	run(cmd_show, help, &res);
	cr_assert_eq(res.code, 0);
	cr_assert(strstr(res.out, "Usage: wgmon show"));
	run(cmd_show, bad, &res);
	cr_assert_eq(res.code, 2);
	run(cmd_stats, extra, &res);
	cr_assert_eq(res.code, 2, "stats has no --tsv");
}
