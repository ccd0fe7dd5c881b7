/* SPDX-License-Identifier: MIT */
/*
 * test_hardening_sinks.c — each sink SIGKILLed while wgmond takes a steady load, then
 * restarted: wgmon-redis converges to exactly the table (Redis compared key by key), the
 * wgmon-metrics exposition comes back equal to the table's counters, and wgmon-notify posts
 * every endpoint change made after its restart exactly once and never one twice. Real
 * processes (redis-server, wgmond, the sinks, a loopback HTTP receiver), every wait bounded.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>

#include "sinks/metrics/metrics.h"
#include "sinks/notify/notify.h"
#include "tests/test_hardening_util.h"
#include "tests/test_metrics_util.c"
#include "tests/test_notify_recv.c"
#include "tests/test_redis_util.c"

#define TIME_OK    30.0
#define LOAD_FIRST 101 /* the load's peers: LOAD_FIRST .. LOAD_FIRST + LOAD_PEERS - 1 */
#define LOAD_PEERS 200
#define MOVES      20 /* endpoint changes in each batch of the notify test */

static struct tw_proc wd;
static char listen_arg[64];

static void setup(void)
{
	tw_init(&wd, "sinks");
	wd.before_exec = tr_die_with_parent;
}

static void teardown(void)
{
	char name[REDIS_STATS_NAME_MAX + NOTIFY_STATS_NAME_MAX];

	tw_cleanup(&wd);
	/* The sinks' figures objects: a killed sink leaves its own (its restart takes it over). */
	if (redis_stats_name(wd.shm, name, sizeof(name)) == 0)
		shm_unlink(name);
	if (notify_stats_name(wd.shm, name, sizeof(name)) == 0)
		shm_unlink(name);
	if (metrics_stats_name(wd.shm, name, sizeof(name)) == 0)
		shm_unlink(name);
}

TestSuite(hz_sinks, .init = setup, .fini = teardown, .timeout = 180);

static void wgmond_start(void)
{
	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", wd.port);
	tw_arg(&wd, "--listen");
	tw_arg(&wd, listen_arg);
	tw_arg(&wd, "--capacity");
	tw_arg(&wd, "4096");
	tw_arg(&wd, "--event-ring");
	tw_arg(&wd, "4096");
	cr_assert_eq(tw_spawn(&wd), 0);
	cr_assert(tw_wait_ready(&wd), "%s", tw_log(&wd));
}

/* ---- A steady load: keepalives of LOAD_PEERS peers, each from its own fixed endpoint ------ */

struct load {
	int fd;
	uint32_t stop; /* main: release; sender: acquire */
	pthread_t tid;
};

static int line_keepalive(char *buf, size_t cap, uint64_t peer, unsigned port)
{
	return snprintf(buf, cap,
	                "<7>Nov 22 10:00:00 vpn1 kernel: wireguard: wg0: Receiving keepalive "
	                "packet from peer %llu (198.51.%u.%u:%u)",
	                (unsigned long long)peer, (unsigned)(peer >> 8 & 255),
	                (unsigned)(peer & 255), port);
}

static void *load_main(void *arg)
{
	struct load *l = arg;
	struct timespec gap = {0, 200000}; /* about 5000 lines per second */
	char line[192];

	/* Pairs with the release store in load_stop(). */
	for (uint64_t n = 0; !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE); n++) {
		int len = line_keepalive(line, sizeof(line), LOAD_FIRST + n % LOAD_PEERS, 51820);

		if (!hz_send(l->fd, line, (size_t)len) && errno != ECONNREFUSED)
			break;
		nanosleep(&gap, NULL); /* paces the sender; nothing waits on it */
	}
	return NULL;
}

static void load_start(struct load *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = hz_sock(wd.port, NULL, false);
	cr_assert_geq(l->fd, 0);
	cr_assert_eq(pthread_create(&l->tid, NULL, load_main, l), 0);
}

static void load_stop(struct load *l)
{
	/* Publishes the request; pairs with the acquire in load_main(). */
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	pthread_join(l->tid, NULL);
	close(l->fd);
}

/* wgmond took everything sent so far: the count stops moving for 300 ms (bounded). */
static void wait_quiet(struct shm_stats *st)
{
	struct shm_reader *r = hz_attach(wd.shm, TIME_OK);
	uint64_t end = tw_now_ns() + tw_bound_ns(TIME_OK), last = UINT64_MAX, still = 0;

	cr_assert_not_null(r);
	for (;;) {
		hz_stats(r, st);
		if (st->lines != last) {
			last = st->lines;
			still = tw_now_ns();
		} else if (tw_now_ns() - still > 300000000ull) {
			break;
		}
		cr_assert(tw_now_ns() < end);
		tw_pause();
	}
	shm_reader_detach(r);
}

/* Poll until the load has moved the table by `lines` more lines (bounded). */
static void wait_load(uint64_t lines)
{
	struct shm_reader *r = hz_attach(wd.shm, TIME_OK);
	uint64_t end = tw_now_ns() + tw_bound_ns(TIME_OK), from;
	struct shm_stats st;

	cr_assert_not_null(r);
	hz_stats(r, &st);
	from = st.lines;
	while (st.lines < from + lines) {
		cr_assert(tw_now_ns() < end, "the load does not reach wgmond:\n%s", tw_log(&wd));
		tw_pause();
		hz_stats(r, &st);
	}
	shm_reader_detach(r);
}

/* ---- wgmon-redis ------------------------------------------------------------------------------ */

Test(hz_sinks, redis_sink_killed_under_load_converges)
{
	static struct tr_server srv;
	static struct tr_sink sink;
	static struct wgmon_config cfg;
	char hostport[32], figures[REDIS_STATS_NAME_MAX];
	const char *args[] = {"--shm", wd.shm, "--redis", hostport, "--interval", "50", NULL};
	struct tr_compare c = {.cfg = &cfg, .shm = wd.shm, .prefix = "wgmon:"};
	redisContext *rc;
	struct shm_stats st;
	struct load l;

	memset(&srv, 0, sizeof(srv));
	config_init(&cfg);
	cr_assert(tr_server_start(&srv), "redis-server did not start");
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", srv.port);
	wgmond_start();
	load_start(&l);
	wait_load(2000);
	cr_assert(tr_sink_spawn(&sink, "hz1", args));
	wait_load(5000);
	kill(sink.pid, SIGKILL);
	cr_assert_eq(tr_sink_wait(&sink, 10), 128 + SIGKILL);
	wait_load(5000); /* the table moves on while no sink writes */
	cr_assert(tr_sink_spawn(&sink, "hz2", args));
	wait_load(5000);
	load_stop(&l);
	wait_quiet(&st);
	rc = tr_client(&srv, NULL, NULL, 0);
	cr_assert_not_null(rc);
	cr_assert(tr_converges(&c, rc, TIME_OK), "Redis differs from the table: %s\n%s", c.why,
	          tr_sink_log(&sink));
	cr_assert_eq(tr_count_keys(rc, "wgmon:peer:*"), LOAD_PEERS);
	redisFree(rc);
	kill(sink.pid, SIGTERM);
	cr_assert_eq(tr_sink_wait(&sink, 10), 0, "%s", tr_sink_log(&sink));
	tr_sink_cleanup(&sink);
	if (redis_stats_name(wd.shm, figures, sizeof(figures)) == 0)
		shm_unlink(figures);
	tr_server_cleanup(&srv);
}

/* ---- wgmon-metrics ---------------------------------------------------------------------------- */

/* The exposition's value of `series`, or -1. */
static long long expo_value(struct tm_proc *mp, const char *series)
{
	struct tm_reply rep;
	struct tm_expo e;
	const char *v;
	char url[128];
	long long n = -1;

	tm_url(url, sizeof(url), "127.0.0.1", mp->port, "/metrics");
	tm_get(url, NULL, &rep);
	if (rep.code == 200 && rep.body) {
		tm_expo_parse(&e, rep.body);
		v = tm_expo_get(&e, series);
		n = v ? atoll(v) : -1;
		tm_expo_free(&e);
	}
	tm_reply_free(&rep);
	return n;
}

Test(hz_sinks, metrics_sink_killed_under_load_serves_the_table_again)
{
	static struct tm_proc mp;
	struct shm_stats st;
	struct load l;
	uint64_t end;
	long long lines = -1, peers = -1;

	wgmond_start();
	load_start(&l);
	wait_load(2000);
	tm_init(&mp, wd.shm, "hz");
	tm_arg(&mp, "--interval");
	tm_arg(&mp, "100");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp), "%s", tm_log(&mp));
	wait_load(3000);
	kill(mp.pid, SIGKILL);
	cr_assert_eq(waitpid(mp.pid, &mp.status, 0), mp.pid);
	wait_load(3000);
	tm_spawn(&mp); /* the killed one's figures object is still there: it is taken over */
	cr_assert(tm_wait_ready(&mp), "%s", tm_log(&mp));
	wait_load(3000);
	load_stop(&l);
	wait_quiet(&st);
	end = tw_now_ns() + tw_bound_ns(TIME_OK);
	while (tw_now_ns() < end) {
		lines = expo_value(&mp, "wgmon_ingest_lines_total");
		peers = expo_value(&mp, "wgmon_table_peers");
		if (lines == (long long)st.lines && peers == (long long)st.peers)
			break;
		tw_pause();
	}
	cr_assert_eq(lines, (long long)st.lines, "%s", tm_log(&mp));
	cr_assert_eq(peers, LOAD_PEERS);
	cr_assert_eq(tm_stop(&mp), 0);
	tm_cleanup(&mp);
}

/* ---- wgmon-notify ----------------------------------------------------------------------------- */

struct notify_proc {
	pid_t pid;
	char log[128];
};

static void np_spawn(struct notify_proc *p, const char *url)
{
	char bin[512];

	tw_bin("sinks/wgmon-notify", bin, sizeof(bin));
	snprintf(p->log, sizeof(p->log), "/tmp/wgmon-notify-hz-%d.log", (int)getpid());
	unlink(p->log); /* no "ready" of an earlier run may be read as this one's */
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		tr_die_with_parent();
		dup2(log, 2);
		execl(bin, bin, "--shm", wd.shm, "--url", url, "--events", "endpoint_changed",
		      "--interval", "100", (char *)NULL);
		_exit(127);
	}
}

static const char *np_log(const struct notify_proc *p)
{
	static char buf[1 << 14];
	FILE *f = fopen(p->log, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool np_ready(struct notify_proc *p)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(20);

	while (tw_now_ns() < end) {
		if (strstr(np_log(p), "info: ready:"))
			return true;
		tw_pause();
	}
	return false;
}

/* Move peers [first, first + MOVES) to port `port`; wait until wgmond applied it. */
static void move_peers(uint64_t first, unsigned port)
{
	int fd = hz_sock(wd.port, NULL, false);
	char line[192];

	cr_assert_geq(fd, 0);
	for (uint64_t p = first; p < first + MOVES; p++) {
		int n = line_keepalive(line, sizeof(line), p, port);

		cr_assert(hz_send(fd, line, (size_t)n));
	}
	close(fd);
}

/* How many of the endpoint changes received are of peer `peer` to port `port`. */
static int changes_of(struct recv *r, uint64_t peer, unsigned port)
{
	char want_peer[40], want_port[16];
	int n = 0;

	snprintf(want_peer, sizeof(want_peer), "\"peer\":%llu,", (unsigned long long)peer);
	snprintf(want_port, sizeof(want_port), ":%u\",", port);
	pthread_mutex_lock(&r->lock);
	for (int q = 0; q < r->n_req; q++)
		n += strstr(r->req[q].body, "\"type\":\"endpoint_changed\"") &&
		     strstr(r->req[q].body, want_peer) && strstr(r->req[q].body, want_port);
	pthread_mutex_unlock(&r->lock);
	return n;
}

Test(hz_sinks, notify_sink_killed_under_load_posts_each_change_once)
{
	static struct recv rcv;
	struct notify_proc np = {.pid = -1};
	char name[NOTIFY_STATS_NAME_MAX];
	int lost = 0;
	struct load l;

	cr_assert(recv_start(&rcv, 200, NULL, 0, false));
	wgmond_start();
	move_peers(1, 51820); /* peers 1..60 exist, each at its first endpoint */
	move_peers(1 + MOVES, 51820);
	move_peers(1 + 2 * MOVES, 51820);
	load_start(&l);
	wait_load(2000);
	np_spawn(&np, rcv.url);
	cr_assert(np_ready(&np), "wgmon-notify did not get ready");
	move_peers(1, 40001); /* A: seen by the first run */
	cr_assert(recv_wait(&rcv, MOVES, TIME_OK), "%d of %d", recv_count(&rcv), MOVES);
	kill(np.pid, SIGKILL);
	cr_assert_eq(waitpid(np.pid, NULL, 0), np.pid);
	move_peers(1 + MOVES, 40002); /* B: while no notifier runs */
	wait_load(2000);
	np_spawn(&np, rcv.url);
	cr_assert(np_ready(&np), "wgmon-notify did not come back");
	move_peers(1 + 2 * MOVES, 40003); /* C: after the restart */
	if (!recv_wait(&rcv, 2 * MOVES, TIME_OK)) {
		char cmd[700], bin[512];
		int st;

		snprintf(cmd, sizeof(cmd), "%s --stats --shm %s 2>&1",
		         tw_bin("sinks/wgmon-notify", bin, sizeof(bin)), wd.shm);
		cr_assert_fail("%d of %d\n%s\n%s", recv_count(&rcv), 2 * MOVES, np_log(&np),
		               tw_run(cmd, &st));
	}
	wait_load(2000); /* time for anything wrong (a repeat, a late one) to arrive */
	load_stop(&l);
	for (uint64_t p = 1; p <= MOVES; p++) {
		cr_assert_eq(changes_of(&rcv, p, 40001), 1, "peer %llu: change A posted %d times",
		             (unsigned long long)p, changes_of(&rcv, p, 40001));
		cr_assert_eq(changes_of(&rcv, p + 2 * MOVES, 40003), 1,
		             "peer %llu: change C posted %d times",
		             (unsigned long long)p + 2 * MOVES,
		             changes_of(&rcv, p + 2 * MOVES, 40003));
		cr_assert_leq(changes_of(&rcv, p + MOVES, 40002), 1);
		lost += !changes_of(&rcv, p + MOVES, 40002);
	}
	hz_note("wgmon-notify killed: %d of %d changes made while it was down were not posted "
	        "after its restart (by design: what the table holds at start is not news)",
	        lost, MOVES);
	kill(np.pid, SIGTERM);
	waitpid(np.pid, NULL, 0);
	unlink(np.log);
	if (notify_stats_name(wd.shm, name, sizeof(name)) == 0)
		shm_unlink(name);
	recv_stop(&rcv);
}
