/* SPDX-License-Identifier: MIT */
/*
 * test_hardening_input.c — hostile input against the real wgmond over UDP: random bytes, NUL and
 * control bytes, every datagram length up to and past the limits (8 KiB, 64 KiB), with both
 * UDP backends; a million distinct fake peers against a small table; every syslog facility;
 * senders outside the allow-list. Whatever arrives, each count in the table must be exactly
 * what the parser says of those bytes (the oracle runs parse_line() on the same lines here),
 * nothing may be applied that should not be, and wgmond must stay healthy and stop cleanly.
 */
#ifdef TW_PLAIN
#include "tests/test_wgmond_plain.h" /* TSan builds: Criterion cannot start there */
#else
#include <criterion/criterion.h>
#endif

#include "tests/test_hardening_util.h"

#define TIME_OK     30.0 /* seconds any wait may take (scaled by WGMON_TEST_SLOW) */
#define WINDOW      64   /* datagrams sent before waiting for wgmond to take them */
#define RANDOM_N    3000 /* random datagrams */
#define LENGTH_MAX  8256 /* every datagram length up to this (the io_uring buffer's slack) */
#define FAKE_PEERS  1000000
#define FAKE_BATCH  32 /* lines per datagram of the flood */
#define KNOWN_PEERS 16
#define CAPACITY    1024

static struct tw_proc wd;
static struct shm_reader *rd;
static int tx = -1;
static char listen_arg[64];

static void setup(void)
{
	tw_init(&wd, "hostile");
	rd = NULL;
	tx = -1;
}

static void teardown(void)
{
	if (tx >= 0)
		close(tx);
	shm_reader_detach(rd);
	tw_cleanup(&wd);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 180);

/* Start wgmond on 127.0.0.1 with these extra flags (NULL-terminated); false if `backend` was
 * asked for and is not usable here. */
static bool start(const char *backend, const char *const *extra)
{
	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", wd.port);
	tw_arg(&wd, "--listen");
	tw_arg(&wd, listen_arg);
	tw_arg(&wd, "--event-ring");
	tw_arg(&wd, "1024");
	if (backend) {
		tw_arg(&wd, "--ingest");
		tw_arg(&wd, backend);
	}
	while (extra && *extra)
		tw_arg(&wd, *extra++);
	cr_assert_eq(tw_spawn(&wd), 0);
	if (!tw_wait_ready(&wd)) {
		if (backend && !strcmp(backend, "uring") &&
		    strstr(tw_log(&wd), "io_uring is not usable here"))
			return false;
		cr_assert_fail("wgmond did not get ready:\n%s", tw_log(&wd));
	}
	rd = hz_attach(wd.shm, TIME_OK);
	cr_assert_not_null(rd, "cannot attach %s", wd.shm);
	tx = hz_sock(wd.port, NULL, false);
	cr_assert_geq(tx, 0);
	return true;
}

static void stop_ok(void)
{
	int code = tw_stop(&wd, SIGTERM);

	cr_assert_eq(code, 0, "wgmond exit %d on SIGTERM:\n%s", code, tw_log(&wd));
}

/* Sends datagrams and keeps the oracle; waits for wgmond every WINDOW datagrams. */
struct feed {
	struct hz_expect want;
	uint64_t taken, sent; /* lines + whole-datagram drops expected so far; datagrams */
	struct shm_stats base;
};

static void feed_init(struct feed *f)
{
	memset(f, 0, sizeof(*f));
	hz_stats(rd, &f->base);
	f->taken = hz_taken(&f->base);
}

static void feed_wait(struct feed *f)
{
	struct shm_stats st;

	cr_assert(hz_wait_taken(rd, f->taken, TIME_OK, &st),
	          "wgmond took %llu, want %llu (ring_full %llu)\n%s",
	          (unsigned long long)hz_taken(&st), (unsigned long long)f->taken,
	          (unsigned long long)st.dropped[SHM_DROP_RING_FULL], tw_log(&wd));
}

static void feed(struct feed *f, const char *d, size_t n)
{
	uint64_t lines = f->want.lines, trunc = f->want.truncated;

	hz_expect_add(&f->want, d, n);
	f->taken += f->want.lines - lines + f->want.truncated - trunc;
	cr_assert(hz_send(tx, d, n), "send of %zu bytes: %s", n, strerror(errno));
	if (++f->sent % WINDOW == 0)
		feed_wait(f);
}

/* All sent, all taken: the table's counts are exactly the oracle's. */
static void feed_check(struct feed *f)
{
	struct shm_stats st;
	const char *why;

	feed_wait(f);
	hz_stats(rd, &st);
	why = hz_expect_diff(&f->want, &f->base, &st);
	cr_assert(!*why, "%s\n%s", why, tw_log(&wd));
	cr_assert_eq(st.dropped[SHM_DROP_RING_FULL], f->base.dropped[SHM_DROP_RING_FULL]);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char valid_line[] = "<7>Nov 22 10:00:00 vpn1 kernel: wireguard: wg0: Receiving "
                                 "keepalive packet from peer 7 (192.0.2.1:51820)";

/* Random bytes, biased towards the bytes that matter: '\n', '\r', NUL, '<', ':' and spaces;
 * half the datagrams start from a valid line with a few bytes changed. */
static void random_datagrams(struct feed *f, uint64_t seed)
{
	static const char special[] = "\n\r\0<>: ()[]";
	static char d[1500];

	for (unsigned i = 0; i < RANDOM_N; i++) {
		size_t n = rnd(&seed) % sizeof(d);

		if (i % 2) {
			n = n % (sizeof(valid_line) + 8);
			memcpy(d, valid_line,
			       n < sizeof(valid_line) - 1 ? n : sizeof(valid_line) - 1);
			for (size_t k = sizeof(valid_line) - 1; k < n; k++)
				d[k] = 'x';
			for (unsigned m = rnd(&seed) % 4; n && m; m--)
				d[rnd(&seed) % n] = (char)rnd(&seed);
		} else {
			for (size_t k = 0; k < n; k++) {
				uint64_t r = rnd(&seed);

				d[k] = r % 8 ? (char)(r >> 8)
				             : special[(r >> 8) % (sizeof(special) - 1)];
			}
		}
		feed(f, d, n);
	}
}

/* Every length 0..LENGTH_MAX ('x' lines: not_wireguard up to 4096 bytes, too_long above, a
 * truncated drop above 8192); every 257th, and the lengths at the limits, end with a valid
 * line; then the largest datagrams UDP allows. */
static void length_datagrams(struct feed *f)
{
	static char d[HZ_UDP_MAX];
	static const size_t big[] = {16384, 32768, 65000, HZ_UDP_MAX};
	const size_t vlen = sizeof(valid_line) - 1;

	for (size_t n = 0; n <= LENGTH_MAX; n++) {
		memset(d, 'x', n);
		if ((n % 257 == 0 || (n >= 4095 && n <= 4098) || (n >= 8191 && n <= 8193)) &&
		    n > vlen + 1) {
			d[n - vlen - 1] = '\n';
			memcpy(d + n - vlen, valid_line, vlen);
		}
		feed(f, d, n);
	}
	memset(d, 'x', sizeof(d));
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		feed(f, d, big[i]);
}

static void hostile_bytes(const char *backend)
{
	static const char *const flags[] = {"--workers", "2", "--capacity", "4096", NULL};
	struct shm_peer p;
	struct feed f;
	int64_t host;

	if (!start(backend, flags))
		cr_skip_test("io_uring is not usable on this machine: %s", tw_log(&wd));
	feed_init(&f);
	random_datagrams(&f, 0x9e3779b97f4a7c15ull);
	length_datagrams(&f);
	feed_check(&f);
	cr_assert_gt(f.want.truncated, 4, "the test sent datagrams past the limit");
	cr_assert_gt(f.want.events[PARSE_EV_KEEPALIVE_RECEIVED], 10);
	/* Healthy: a valid line is applied as it should be. */
	host = shm_reader_host_find(rd, "vpn1", 4);
	cr_assert_geq(host, 0);
	cr_assert_eq(shm_reader_peer_find(rd, (uint32_t)host, 7, &p), 0);
	cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_RECEIVED],
	             f.want.events[PARSE_EV_KEEPALIVE_RECEIVED]);
	stop_ok();
}

Test(hostile, random_bytes_and_every_length_recvmmsg)
{
	hostile_bytes("recvmmsg");
}

Test(hostile, random_bytes_and_every_length_io_uring)
{
	hostile_bytes("uring");
}

/* Every facility and level: only facility 0 (kern) may become an event. */
Test(hostile, spoofed_facilities_are_rejected)
{
	static const char *const flags[] = {"--capacity", "64", NULL};
	struct shm_stats st;
	struct feed f;
	char line[160], host[16];

	start(NULL, flags);
	feed_init(&f);
	for (unsigned fac = 0; fac < 24; fac++)
		for (unsigned lvl = 0; lvl < 8; lvl++) {
			int n = snprintf(
			        line, sizeof(line),
			        "<%u>Nov 22 10:00:00 f%u kernel: wireguard: wg0: Receiving "
			        "keepalive packet from peer %u (192.0.2.1:51820)",
			        fac * 8 + lvl, fac, 100 + lvl);

			feed(&f, line, (size_t)n);
		}
	feed_check(&f);
	hz_stats(rd, &st);
	cr_assert_eq(st.rejected[PARSE_REJECT_SPOOFED_FACILITY], 23 * 8);
	cr_assert_eq(st.events[PARSE_EV_KEEPALIVE_RECEIVED], 8);
	cr_assert_eq(st.peers, 8);
	cr_assert_geq(shm_reader_host_find(rd, "f0", 2), 0);
	for (unsigned fac = 1; fac < 24; fac++) {
		int n = snprintf(host, sizeof(host), "f%u", fac);

		cr_assert_eq(shm_reader_host_find(rd, host, (size_t)n), -ENOENT,
		             "a spoofed line interned host %s", host);
	}
	stop_ok();
}

/* A sender outside the allow-list is counted and changes nothing else in the table. */
Test(hostile, senders_outside_the_allow_list_are_counted_and_ignored)
{
	static const char *const flags[] = {"--capacity", "64", "--allow", "127.0.0.1/32", NULL};
	const char intruder[] = "<7>Nov 22 10:00:00 intruder kernel: wireguard: wg0: Receiving "
	                        "keepalive packet from peer 4242 (203.0.113.9:51820)";
	const char friend[] = "<7>Nov 22 10:00:00 friend kernel: wireguard: wg0: Receiving "
	                      "keepalive packet from peer 4243 (192.0.2.9:51820)";
	struct shm_stats base, st;
	const char *log, *p;
	unsigned warned = 0;
	int out;

	start(NULL, flags);
	out = hz_sock(wd.port, "127.0.0.2", false);
	if (out < 0)
		cr_skip_test("cannot send from 127.0.0.2 here: %s", strerror(errno));
	hz_stats(rd, &base);
	for (unsigned i = 0; i < 500; i++)
		cr_assert(hz_send(out, intruder, sizeof(intruder) - 1));
	cr_assert(hz_send(tx, friend, sizeof(friend) - 1));
	cr_assert(hz_wait_taken(rd, hz_taken(&base) + 501, TIME_OK, &st), "%s", tw_log(&wd));
	close(out);
	cr_assert_eq(st.dropped[SHM_DROP_NOT_ALLOWED] - base.dropped[SHM_DROP_NOT_ALLOWED], 500);
	cr_assert_eq(st.lines - base.lines, 1);
	cr_assert_eq(st.datagrams - base.datagrams, 501);
	cr_assert_eq(st.peers, 1);
	cr_assert_eq(shm_reader_host_find(rd, "intruder", 8), -ENOENT);
	cr_assert_geq(shm_reader_host_find(rd, "friend", 6), 0);
	/* The warning is rate-limited: not 500 log lines. */
	log = tw_log(&wd);
	for (p = log; (p = strstr(p, "not in the allow-list")); p++)
		warned++;
	cr_assert(warned >= 1 && warned <= 2, "%u warnings:\n%s", warned, log);
	stop_ok();
}

static size_t fake_datagram(char *d, size_t cap, uint64_t first)
{
	size_t n = 0;

	for (uint64_t id = first; id < first + FAKE_BATCH && id < 2 * FAKE_PEERS; id++)
		n += (size_t)snprintf(
		        d + n, cap - n,
		        "<7>Nov 22 10:00:00 fake kernel: wireguard: wg0: Receiving "
		        "handshake initiation from peer %llu (10.%llu.%llu.1:51820)\n",
		        (unsigned long long)id, (unsigned long long)(id >> 16 & 255),
		        (unsigned long long)(id >> 8 & 255));
	return n;
}

static size_t known_datagram(char *d, size_t cap)
{
	size_t n = 0;

	for (unsigned id = 1; id <= KNOWN_PEERS; id++)
		n += (size_t)snprintf(d + n, cap - n,
		                      "<7>Nov 22 10:00:00 known kernel: wireguard: wg0: Receiving "
		                      "keepalive packet from peer %u (192.0.2.%u:51820)\n",
		                      id, id);
	return n;
}

/* A million new peers against a table of 1024: table_full drops, while known peers update. */
Test(hostile, a_million_fake_peers_fill_the_table_known_peers_keep_updating, .timeout = 300)
{
	static const char *const flags[] = {"--capacity", "1024", NULL};
	static char d[FAKE_BATCH * 160];
	uint64_t rounds = 0, before_ka = 0;
	struct shm_stats st;
	struct shm_peer p;
	struct feed f;
	int64_t known;
	size_t n;

	start(NULL, flags);
	feed_init(&f);
	n = known_datagram(d, sizeof(d));
	feed(&f, d, n);
	rounds++;
	feed_wait(&f);
	known = shm_reader_host_find(rd, "known", 5);
	cr_assert_geq(known, 0);
	for (uint64_t id = FAKE_PEERS; id < 2 * FAKE_PEERS; id += FAKE_BATCH) {
		n = fake_datagram(d, sizeof(d), id);
		feed(&f, d, n);
		if ((id - FAKE_PEERS) % (64 * FAKE_BATCH) == 0) {
			n = known_datagram(d, sizeof(d));
			feed(&f, d, n);
			rounds++;
		}
		if ((id - FAKE_PEERS) % (FAKE_PEERS / 4) < FAKE_BATCH) {
			/* The known peers' keepalive count keeps rising while the table is full. */
			feed_wait(&f);
			cr_assert_eq(shm_reader_peer_find(rd, (uint32_t)known, 1, &p), 0);
			cr_assert_geq(p.events[PARSE_EV_KEEPALIVE_RECEIVED], before_ka);
			before_ka = p.events[PARSE_EV_KEEPALIVE_RECEIVED] + 1;
		}
	}
	feed_check(&f);
	hz_stats(rd, &st);
	cr_assert_eq(st.peers, CAPACITY);
	cr_assert_eq(st.events[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED], FAKE_PEERS);
	cr_assert_eq(st.dropped[SHM_DROP_TABLE_FULL], FAKE_PEERS - (CAPACITY - KNOWN_PEERS),
	             "table_full %llu", (unsigned long long)st.dropped[SHM_DROP_TABLE_FULL]);
	for (unsigned id = 1; id <= KNOWN_PEERS; id++) {
		cr_assert_eq(shm_reader_peer_find(rd, (uint32_t)known, id, &p), 0);
		cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_RECEIVED], rounds, "peer %u: %u of %llu",
		             id, p.events[PARSE_EV_KEEPALIVE_RECEIVED], (unsigned long long)rounds);
	}
	cr_assert(strstr(tw_log(&wd), "table full: raise --capacity"), "%s", tw_log(&wd));
	stop_ok();
}
