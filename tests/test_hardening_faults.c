/* SPDX-License-Identifier: MIT */
/*
 * test_hardening_faults.c — wgmond killed and restarted: SIGKILL under load, five times, while
 * two readers copy every slot without pause and check each copy for tearing; the table stays
 * valid, keeps its generation and takes new lines after each restart. Readers attached across
 * restarts keep following (same generation) and move to the new table of a --reset. Creating
 * the table fails with a clear message and exit code 1 when /dev/shm is full or forbidden.
 * (Sinks killed under load: test_hardening_sinks.c.)
 */
#ifdef TW_PLAIN
#include "tests/test_wgmond_plain.h" /* TSan builds: Criterion cannot start there */
#else
#include <criterion/criterion.h>
#endif
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "tests/test_hardening_util.h"

#define TIME_OK   30.0
#define PEERS     512
#define PORT_BASE 20000 /* a peer's endpoint port: PORT_BASE + its id */
#define KILLS     5
#define LINES_PER 20000 /* lines applied between two kills */
#define READERS   2
#define NOBODY    65534

static struct tw_proc wd;
static char listen_arg[64];

static void setup(void)
{
	tw_init(&wd, "faults");
}

static void teardown(void)
{
	tw_cleanup(&wd);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 240);

static void add_listen(struct tw_proc *p)
{
	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", p->port);
	tw_arg(p, "--listen");
	tw_arg(p, listen_arg);
}

static void start_ready(struct tw_proc *p)
{
	cr_assert_eq(tw_spawn(p), 0);
	cr_assert(tw_wait_ready(p), "wgmond did not get ready:\n%s", tw_log(p));
}

/* ---- Load: every peer's keepalives, each from a new endpoint that counts them -------------- */

/*
 * Line k of peer p comes from 10.k2.k1.k0:(PORT_BASE + p). One peer's lines go to one worker,
 * in order, so in any consistent copy of its slot: every applied line changed the endpoint
 * (events == endpoint_changes + 1), the endpoint is the latest line applied (its k is the
 * largest, and not below the count), and the times that line set are all the same.
 */
struct load {
	int fd;
	uint32_t stop; /* main: release; sender: acquire */
	uint64_t sent; /* sender: relaxed stores; main: relaxed loads (a statistic) */
	uint32_t k[PEERS + 1];
	pthread_t tid;
};

static void *load_main(void *arg)
{
	struct load *l = arg;
	char line[192];

	/* Pairs with the release store in load_stop(). */
	for (uint64_t n = 0; !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE); n++) {
		uint32_t p = 1 + (uint32_t)(n % PEERS), k = ++l->k[p];
		int len = snprintf(line, sizeof(line),
		                   "<7>Nov 22 10:00:00 load kernel: wireguard: wg0: Receiving "
		                   "keepalive packet from peer %u (10.%u.%u.%u:%u)",
		                   p, k >> 16 & 255, k >> 8 & 255, k & 255, PORT_BASE + p);

		/* While wgmond is down, its port refuses (ICMP): the datagram is lost, go on. */
		if (!hz_send(l->fd, line, (size_t)len) && errno != ECONNREFUSED)
			break;
		__atomic_store_n(&l->sent, n + 1, __ATOMIC_RELAXED);
		if (n % 64 == 63)
			sched_yield(); /* two cores: leave wgmond and the readers their share */
	}
	return NULL;
}

static void load_start(struct load *l, int port)
{
	memset(l, 0, sizeof(*l));
	l->fd = hz_sock(port, NULL, false);
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

static uint32_t ep_k(const struct parse_endpoint *ep)
{
	return (uint32_t)ep->addr[1] << 16 | (uint32_t)ep->addr[2] << 8 | ep->addr[3];
}

/* NULL if the copy is consistent, else what is wrong with it. */
static const char *slot_torn(const struct shm_peer *p)
{
	const uint32_t n = p->events[PARSE_EV_KEEPALIVE_RECEIVED];

	if (!n || p->peer < 1 || p->peer > PEERS)
		return "not a slot of the load";
	if (p->endpoint.af != PARSE_AF_INET || p->endpoint.port != PORT_BASE + p->peer)
		return "endpoint of another peer";
	if (n != p->endpoint_changes + 1)
		return "events != endpoint_changes + 1";
	if (ep_k(&p->endpoint) < n)
		return "endpoint older than the count";
	if (p->endpoint_at != p->last_keepalive_rx || p->endpoint_at != p->last_seen ||
	    p->first_seen > p->last_seen)
		return "times of different lines";
	if (p->endpoint_changes && (p->prev_endpoint.af != PARSE_AF_INET ||
	                            ep_k(&p->prev_endpoint) >= ep_k(&p->endpoint) ||
	                            p->endpoint_changed_at != p->endpoint_at))
		return "previous endpoint of another update";
	return NULL;
}

/* ---- Readers that never stop copying -------------------------------------------------------- */

struct watch {
	const char *shm;
	uint32_t stop;            /* main: release; readers: acquire */
	uint8_t killed[1u << 16]; /* slots a kill left inside an update (main, with wgmond dead) */
	uint64_t copies, busy, bad; /* readers: atomic adds */
	pthread_mutex_t lock;       /* guards why */
	char why[256];              /* the first torn copy */
	pthread_t tid[READERS];
};

static void watch_slot(struct watch *w, struct shm_reader *r, uint64_t i)
{
	struct shm_peer p;
	const char *torn;
	int ret = shm_reader_peer_snapshot(r, i, &p);

	if (ret == -EAGAIN)
		__atomic_fetch_add(&w->busy, 1, __ATOMIC_RELAXED); /* a count */
	if (ret)
		return;
	__atomic_fetch_add(&w->copies, 1, __ATOMIC_RELAXED); /* a count */
	/* Relaxed: main sets the mark while wgmond is dead, long before it matters here. */
	if (!(torn = slot_torn(&p)) || __atomic_load_n(&w->killed[i], __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&w->lock);
	if (!w->bad++)
		snprintf(w->why, sizeof(w->why), "slot %llu (peer %llu): %s", (unsigned long long)i,
		         (unsigned long long)p.peer, torn);
	pthread_mutex_unlock(&w->lock);
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	struct shm_reader *r = hz_attach(w->shm, TIME_OK);

	if (!r)
		return NULL;
	/* Pairs with the release store in watch_stop(). */
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		const uint64_t slots = shm_reader_peer_slots(r);

		for (uint64_t i = shm_reader_peer_next(r, 0); i < slots;
		     i = shm_reader_peer_next(r, i + 1))
			watch_slot(w, r, i);
	}
	shm_reader_detach(r);
	return NULL;
}

/* Slots a killed wgmond left with an odd sequence (inside an update), marked; their number. */
static unsigned mark_killed(struct watch *w)
{
	struct shm_reader *r = hz_attach(w->shm, TIME_OK);
	const struct shm_header *h;
	const struct shm_peer *peers;
	unsigned n = 0;

	cr_assert_not_null(r);
	h = shm_reader_header(r);
	peers = (const void *)((const char *)h + h->section[SHM_SEC_PEERS].offset);
	cr_assert_leq(h->peer_slots, sizeof(w->killed));
	for (uint64_t i = 0; i < h->peer_slots; i++)
		if (__atomic_load_n(&peers[i].seq, __ATOMIC_RELAXED) & 1) {
			__atomic_store_n(&w->killed[i], 1, __ATOMIC_RELAXED);
			n++;
		}
	shm_reader_detach(r);
	return n;
}

static void wait_lines(struct shm_reader *r, uint64_t n)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(TIME_OK);
	struct shm_stats st;

	do {
		cr_assert(tw_now_ns() < end, "wgmond did not reach %llu lines:\n%s",
		          (unsigned long long)n, tw_log(&wd));
		tw_pause();
		hz_stats(r, &st);
	} while (st.lines < n);
}

/* Until the line count stops moving for 200 ms (bounded). */
static void wait_quiet(struct shm_reader *r, struct shm_stats *st)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(TIME_OK), last = UINT64_MAX, still = tw_now_ns();

	for (;;) {
		hz_stats(r, st);
		if (hz_taken(st) != last) {
			last = hz_taken(st);
			still = tw_now_ns();
		} else if (tw_now_ns() - still > 200000000ull) {
			return;
		}
		cr_assert(tw_now_ns() < end, "wgmond never went quiet");
		tw_pause();
	}
}

Test(faults, sigkill_under_load_no_torn_slot_and_restart_keeps_the_table)
{
	static struct watch w;
	struct shm_reader *r;
	struct shm_stats st;
	struct shm_peer p;
	struct load l;
	unsigned killed = 0, used = 0;
	uint64_t target;

	add_listen(&wd);
	tw_arg(&wd, "--workers");
	tw_arg(&wd, "2");
	tw_arg(&wd, "--capacity");
	tw_arg(&wd, "4096");
	tw_arg(&wd, "--event-ring");
	tw_arg(&wd, "1024");
	start_ready(&wd);
	r = hz_attach(wd.shm, TIME_OK);
	cr_assert_not_null(r);
	memset(&w, 0, sizeof(w));
	w.shm = wd.shm;
	pthread_mutex_init(&w.lock, NULL);
	for (int i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&w.tid[i], NULL, watch_main, &w), 0);
	load_start(&l, wd.port);
	target = LINES_PER;
	for (int kill_no = 0; kill_no < KILLS; kill_no++) {
		wait_lines(r, target);
		cr_assert_eq(tw_stop(&wd, SIGKILL), 128 + SIGKILL);
		killed += mark_killed(&w); /* wgmond is dead: the table holds still */
		start_ready(&wd);          /* re-attaches the same table, load still running */
		cr_assert(strstr(tw_log(&wd), "generation 1"), "%s", tw_log(&wd));
		hz_stats(r, &st);
		target = st.lines + LINES_PER;
	}
	wait_lines(r, target); /* new lines keep coming in after the last restart */
	load_stop(&l);
	wait_quiet(r, &st);
	/* Pairs with the acquire in watch_main(). */
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++)
		pthread_join(w.tid[i], NULL);
	cr_assert_eq(w.bad, 0, "%llu torn copies, the first: %s", (unsigned long long)w.bad, w.why);
	cr_assert_gt(w.copies, 10000, "the readers made only %llu copies",
	             (unsigned long long)w.copies);
	/* The table after the kills: every slot whole, the counts agree, new peers get in. */
	for (uint64_t i = shm_reader_peer_next(r, 0); i < shm_reader_peer_slots(r);
	     i = shm_reader_peer_next(r, i + 1)) {
		const char *torn;

		cr_assert_eq(shm_reader_peer_snapshot(r, i, &p), 0, "slot %llu",
		             (unsigned long long)i);
		torn = slot_torn(&p);
		cr_assert(!torn || w.killed[i], "slot %llu: %s", (unsigned long long)i, torn);
		used++;
	}
	cr_assert_eq(used, PEERS);
	cr_assert_eq(st.peers, PEERS);
	cr_assert_eq(st.generation, 1);
	cr_assert_eq(st.hosts, 2);
	hz_note("%u kills under load: %llu slot copies, %llu busy retries, %u slot(s) left "
	        "inside an update by a kill, %llu datagrams sent",
	        KILLS, (unsigned long long)w.copies, (unsigned long long)w.busy, killed,
	        (unsigned long long)l.sent);
	shm_reader_detach(r);
	cr_assert_eq(tw_stop(&wd, SIGTERM), 0, "%s", tw_log(&wd));
}

/* ---- Readers across restarts ----------------------------------------------------------------- */

static void send_line(int port, uint64_t peer, const char *host)
{
	char line[192];
	int fd = hz_sock(port, NULL, false), n;

	cr_assert_geq(fd, 0);
	n = snprintf(line, sizeof(line),
	             "<7>Nov 22 10:00:00 %s kernel: wireguard: wg0: Peer %llu created", host,
	             (unsigned long long)peer);
	cr_assert(hz_send(fd, line, (size_t)n));
	close(fd);
}

/* Follow r's ring until peer_created of `peer` arrives (bounded); false if it never does. */
static bool follow_until(struct shm_reader *r, struct shm_event_cursor *c, uint64_t peer,
                         uint64_t *missed_total)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(TIME_OK), missed;
	struct shm_event e;

	while (tw_now_ns() < end) {
		int got = shm_reader_events_next(r, c, &e, &missed);

		*missed_total += missed;
		if (got && e.kind == PARSE_EV_PEER_CREATED && e.peer == peer)
			return true;
		if (!got && !missed)
			tw_pause();
	}
	return false;
}

static void small_table(struct tw_proc *p, const char *capacity)
{
	add_listen(p);
	tw_arg(p, "--capacity");
	tw_arg(p, capacity);
	tw_arg(p, "--event-ring");
	tw_arg(p, "1024");
}

Test(faults, readers_follow_a_restarted_writer_and_a_new_generation)
{
	struct shm_reader *r, *stale;
	struct shm_event_cursor c;
	struct shm_peer p;
	uint64_t missed = 0;
	int64_t host;

	small_table(&wd, "1024");
	start_ready(&wd);
	r = hz_attach(wd.shm, TIME_OK);
	stale = hz_attach(wd.shm, TIME_OK);
	cr_assert(r && stale);
	shm_reader_events_begin(r, &c, 0);
	send_line(wd.port, 1, "gen1");
	cr_assert(follow_until(r, &c, 1, &missed), "%s", tw_log(&wd));

	/* Killed and restarted: same table, same generation; the cursor goes on. */
	cr_assert_eq(tw_stop(&wd, SIGKILL), 128 + SIGKILL);
	start_ready(&wd);
	cr_assert_eq(shm_reader_refresh(r), 0, "same object: nothing to re-map");
	send_line(wd.port, 2, "gen1");
	cr_assert(follow_until(r, &c, 2, &missed), "%s", tw_log(&wd));
	cr_assert_eq(shm_reader_header(r)->generation, 1);

	/* Restarted with another size and --reset: a new object, generation 2. */
	cr_assert_eq(tw_stop(&wd, SIGTERM), 0);
	wd.nargs = 0;
	small_table(&wd, "2048");
	tw_arg(&wd, "--reset");
	start_ready(&wd);
	cr_assert(strstr(tw_log(&wd), "generation 2"), "%s", tw_log(&wd));
	cr_assert_eq(shm_reader_header(r)->retired, 1, "the old object says it was replaced");
	cr_assert_eq(shm_reader_refresh(r), 1, "re-mapped");
	cr_assert_eq(shm_reader_header(r)->generation, 2);
	cr_assert_eq(shm_reader_header(r)->peer_capacity, 2048);
	cr_assert_eq(shm_reader_refresh(r), 0);
	shm_reader_events_begin(r, &c, 0);
	send_line(wd.port, 3, "gen2");
	cr_assert(follow_until(r, &c, 3, &missed), "%s", tw_log(&wd));
	host = shm_reader_host_find(r, "gen2", 4);
	cr_assert_geq(host, 0);
	cr_assert_eq(shm_reader_peer_find(r, (uint32_t)host, 3, &p), 0);
	cr_assert_eq(shm_reader_host_find(r, "gen1", 4), -ENOENT, "a new table starts empty");
	/* A reader that did not refresh still reads its old, retired table, unharmed. */
	cr_assert_eq(shm_reader_header(stale)->generation, 1);
	cr_assert_geq(shm_reader_host_find(stale, "gen1", 4), 0);
	cr_assert_eq(shm_reader_host_find(stale, "gen2", 4), -ENOENT);
	hz_note("readers across restarts: %llu events missed", (unsigned long long)missed);
	shm_reader_detach(stale);
	shm_reader_detach(r);
	cr_assert_eq(tw_stop(&wd, SIGTERM), 0);
}

/* ---- Creating the table fails ----------------------------------------------------------------- */

/* Run wgmond (file source: no port) and expect exit 1 with `needle` in its message. */
static void expect_refusal(const char *needle)
{
	int code;

	tw_arg(&wd, "--source");
	tw_arg(&wd, "file:/dev/null");
	cr_assert_eq(tw_spawn(&wd), 0);
	code = tw_wait_exit(&wd, TIME_OK);
	cr_assert(code >= 0 && WIFEXITED(code) && WEXITSTATUS(code) == 1, "status %d:\n%s", code,
	          tw_log(&wd));
	cr_assert(strstr(tw_log(&wd), needle), "no '%s' in:\n%s", needle, tw_log(&wd));
	cr_assert(strstr(tw_log(&wd), wd.shm), "the message names the table:\n%s", tw_log(&wd));
}

/* In the child: a private /dev/shm of 1 MiB (root only; 125 if it cannot). */
static void tiny_dev_shm(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m"))
		_exit(125);
}

Test(faults, no_space_for_the_table_is_a_clear_error)
{
	char cap[32];
	struct statvfs vfs;
	int code;

	/* A /dev/shm of 1 MiB of its own, where mount namespaces are allowed. */
	wd.before_exec = tiny_dev_shm;
	tw_arg(&wd, "--source");
	tw_arg(&wd, "file:/dev/null");
	cr_assert_eq(tw_spawn(&wd), 0);
	code = tw_wait_exit(&wd, TIME_OK);
	if (code >= 0 && WIFEXITED(code) && WEXITSTATUS(code) == 125) {
		/* No namespaces here: a capacity larger than what /dev/shm has free. */
		cr_assert_eq(statvfs("/dev/shm", &vfs), 0);
		if ((uint64_t)vfs.f_bavail * vfs.f_frsize > (24ull << 30))
			cr_skip_test(
			        "cannot make /dev/shm too small here, and it holds the largest "
			        "table");
		wd.before_exec = NULL;
		wd.nargs = 0;
		snprintf(cap, sizeof(cap), "%u", SHM_PEER_CAPACITY_MAX);
		tw_arg(&wd, "--capacity");
		tw_arg(&wd, cap);
		expect_refusal("MiB free: lower --capacity or enlarge /dev/shm");
		return;
	}
	cr_assert(code >= 0 && WIFEXITED(code) && WEXITSTATUS(code) == 1, "status %d:\n%s", code,
	          tw_log(&wd));
	cr_assert(strstr(tw_log(&wd), "MiB free: lower --capacity or enlarge /dev/shm"), "%s",
	          tw_log(&wd));
	cr_assert(strstr(tw_log(&wd), wd.shm), "%s", tw_log(&wd));
	hz_note("a 1 MiB /dev/shm: %s", tw_log(&wd));
}

/* In the child: become nobody (root only; 125 if it cannot). */
static void become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		_exit(125);
}

Test(faults, no_permission_for_the_table_is_a_clear_error)
{
	int fd;

	/* Someone else's table (root's, 0600) for a wgmond running as nobody; or, without root, a
	 * table of ours that nobody may open. */
	fd = shm_open(wd.shm, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	if (geteuid() == 0)
		wd.before_exec = become_nobody;
	else
		cr_assert_eq(fchmod(fd, 0), 0);
	close(fd);
	expect_refusal("Permission denied");
	cr_assert(strstr(tw_log(&wd), "cannot open or create table"), "%s", tw_log(&wd));
	hz_note("%s: %s", geteuid() ? "mode 0" : "as nobody", tw_log(&wd));
}
