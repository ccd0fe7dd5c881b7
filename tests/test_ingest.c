/* SPDX-License-Identifier: MIT */
/*
 * test_ingest.c — unit tests of ingest/: datagram splitting, the worker choice,
 * the CIDR allow-list, source specs, and the SPSC lane (single-threaded limits,
 * and a producer and a consumer thread whose counts must match; label tsan).
 */
#ifdef TW_PLAIN
#include "tests/test_wgmond_plain.h" /* TSan builds: Criterion cannot start there */
#else
#include <criterion/criterion.h>
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest_internal.h"

/* ------------------------------------------------------------ splitting */

static size_t split_all(const char *data, size_t len, char out[][64], size_t cap)
{
	struct ingest_split sp;
	const char *line;
	size_t n = 0, l;

	ingest_split_init(&sp, data, len);
	while (ingest_split_next(&sp, &line, &l)) {
		cr_assert_lt(n, cap);
		cr_assert_lt(l, 64);
		memcpy(out[n], line, l);
		out[n++][l] = '\0';
	}
	return n;
}

#define SPLIT(s, out) split_all((s), sizeof(s) - 1, (out), sizeof(out) / sizeof(out[0]))

Test(split, several_lines_and_trailing_newline)
{
	char out[8][64];

	cr_assert_eq(SPLIT("a\nbb\nccc\n", out), 3);
	cr_assert_str_eq(out[0], "a");
	cr_assert_str_eq(out[1], "bb");
	cr_assert_str_eq(out[2], "ccc");
}

Test(split, crlf_is_one_terminator)
{
	char out[8][64];

	cr_assert_eq(SPLIT("a\r\nb\r\n", out), 2);
	cr_assert_str_eq(out[0], "a");
	cr_assert_str_eq(out[1], "b");
	cr_assert_eq(SPLIT("one\r", out), 1);
	cr_assert_str_eq(out[0], "one");
}

Test(split, empty_lines_and_last_line_without_newline)
{
	char out[8][64];

	cr_assert_eq(SPLIT("a\n\nb", out), 3);
	cr_assert_str_eq(out[0], "a");
	cr_assert_str_eq(out[1], "");
	cr_assert_str_eq(out[2], "b");
	cr_assert_eq(SPLIT("\n", out), 1);
	cr_assert_str_eq(out[0], "");
	cr_assert_eq(SPLIT("\r\n\r\n", out), 2);
	cr_assert_eq(SPLIT("", out), 0);
	cr_assert_eq(SPLIT("no newline", out), 1);
	cr_assert_str_eq(out[0], "no newline");
}

Test(split, nul_bytes_stay_inside_a_line)
{
	char out[8][64];
	const char data[] = "a\0b\nc";

	cr_assert_eq(split_all(data, sizeof(data) - 1, out, 8), 2);
	cr_assert_eq(memcmp(out[0], "a\0b", 3), 0);
}

/* ---------------------------------------------------------- worker choice */

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s = {.sin_family = AF_INET};

	cr_assert_eq(inet_pton(AF_INET, a, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6 v6(const char *a)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6};

	cr_assert_eq(inet_pton(AF_INET6, a, &s.sin6_addr), 1);
	return s;
}

#define PICK(s, from, n) ingest_pick_worker((s), strlen(s), (const struct sockaddr *)(from), (n))

Test(pick, same_peer_same_worker_whatever_the_message)
{
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("198.51.100.9");
	const char *lines[] = {
	        "<7>Jan  1 00:00:00 vpn1 kernel: wireguard: wg0: Receiving keepalive packet from "
	        "peer "
	        "17 (192.0.2.7:51820)",
	        "wireguard: wg1: Keypair 99 created for peer 17",
	        "7,1,2,-;wireguard: wg0: Peer 17 created",
	        "wireguard: wg0: Sending handshake initiation to peer 17 ((einval))\nsecond line "
	        "peer 5",
	        "<7>1 2025-01-01T00:00:00Z other kernel - - -  wireguard: wgx: Packet has "
	        "unallowed src "
	        "IP (10.0.0.1) from peer 17 ([2001:db8::1]:1/0%0)",
	};

	for (uint32_t n = 1; n <= 8; n++) {
		uint32_t w = PICK(lines[0], &a, n);

		cr_assert_lt(w, n);
		for (size_t i = 1; i < sizeof(lines) / sizeof(lines[0]); i++)
			cr_assert_eq(PICK(lines[i], i % 2 ? &a : &b, n), w, "line %zu, %u workers",
			             i, n);
	}
}

Test(pick, one_worker_is_always_zero)
{
	struct sockaddr_in a = v4("192.0.2.1");

	cr_assert_eq(PICK("wireguard: wg0: Peer 5 created", &a, 1), 0);
	cr_assert_eq(PICK("anything", NULL, 1), 0);
}

Test(pick, without_peer_the_sender_decides)
{
	struct sockaddr_in a = v4("192.0.2.1");
	struct sockaddr_in6 b = v6("2001:db8::7");
	const char *x = "wireguard: wg0: Interface created",
	           *y = "wireguard: wg9: Invalid IP packet";
	const char *z = "wireguard: wg0: No peer has allowed IPs matching 10.0.0.1";

	cr_assert_eq(PICK(x, &a, 5), PICK(y, &a, 5));
	cr_assert_eq(PICK(x, &a, 5), PICK(z, &a, 5));
	cr_assert_eq(PICK(x, &b, 5), PICK(y, &b, 5));
	cr_assert_eq(PICK(x, NULL, 5), PICK(y, NULL, 5));
}

Test(pick, peers_spread_over_workers)
{
	uint32_t hits[3] = {0};
	char line[128];

	for (uint64_t peer = 1; peer <= 3000; peer++) {
		snprintf(line, sizeof(line),
		         "wireguard: wg0: Sending keepalive packet to peer %llu "
		         "(192.0.2.1:1)",
		         (unsigned long long)peer);
		hits[PICK(line, NULL, 3)]++;
	}
	for (unsigned i = 0; i < 3; i++)
		cr_assert_gt(hits[i], 800, "worker %u got %u of 3000", i, hits[i]);
}

/* ------------------------------------------------------------ allow-list */

Test(allow, parses_v4_v6_and_rejects_garbage)
{
	static struct ingest_allow a;
	char text[256];

	ingest_allow_init(&a);
	cr_assert_eq(ingest_allow_add(&a, "10.0.0.0/8"), 0);
	cr_assert_eq(ingest_allow_add(&a, "192.0.2.7"), 0);
	cr_assert_eq(ingest_allow_add(&a, "2001:db8::/32"), 0);
	cr_assert_eq(ingest_allow_add(&a, "172.16.9.9/12"), 0); /* host bits cleared */
	cr_assert_eq(ingest_allow_add(&a, "::/0"), 0);
	cr_assert_eq(a.n, 5);
	ingest_allow_format(&a, text, sizeof(text));
	cr_assert_str_eq(text, "10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32, 172.16.0.0/12, ::/0");
	static const char *const bad[] = {"",
	                                  "/8",
	                                  "10.0.0.0/33",
	                                  "10.0.0.0/",
	                                  "10.0.0.0/08",
	                                  "10.0.0.0/-1",
	                                  "10.0.0.0/8x",
	                                  "2001:db8::/129",
	                                  "host",
	                                  "10.0.0.256",
	                                  "1.2.3.4/ 8"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(ingest_allow_add(&a, bad[i]), -EINVAL, "accepted '%s'", bad[i]);
	cr_assert_eq(a.n, 5);
}

Test(allow, empty_list_allows_everyone)
{
	static struct ingest_allow a;
	struct sockaddr_in s = v4("203.0.113.5");
	char text[16];

	ingest_allow_init(&a);
	cr_assert(ingest_allow_match(&a, (struct sockaddr *)&s));
	ingest_allow_format(&a, text, sizeof(text));
	cr_assert_str_eq(text, "all");
}

#define MATCH(a, sa) ingest_allow_match((a), (const struct sockaddr *)&(sa))

Test(allow, matches_v4_v6_and_v4_mapped)
{
	static struct ingest_allow a;
	struct sockaddr_in in1 = v4("10.200.3.4"), out1 = v4("11.0.0.1"),
	                   in2 = v4("172.31.255.255");
	struct sockaddr_in out2 = v4("172.32.0.0");
	struct sockaddr_in6 in6 = v6("2001:db8:ffff::1"), out6 = v6("2001:db9::1");
	struct sockaddr_in6 mapped_in = v6("::ffff:10.1.1.1"), mapped_out = v6("::ffff:8.8.8.8");
	struct sockaddr_in6 odd_in = v6("fd00::80"), odd_out = v6("fd00::100");

	ingest_allow_init(&a);
	cr_assert_eq(ingest_allow_add(&a, "10.0.0.0/8"), 0);
	cr_assert_eq(ingest_allow_add(&a, "172.16.0.0/12"), 0);
	cr_assert_eq(ingest_allow_add(&a, "2001:db8::/32"), 0);
	cr_assert_eq(ingest_allow_add(&a, "fd00::80/121"), 0);
	cr_assert(MATCH(&a, in1));
	cr_assert(MATCH(&a, in2));
	cr_assert_not(MATCH(&a, out1));
	cr_assert_not(MATCH(&a, out2));
	cr_assert(MATCH(&a, in6));
	cr_assert_not(MATCH(&a, out6));
	cr_assert(MATCH(&a, mapped_in), "a v4-mapped sender is matched as IPv4");
	cr_assert_not(MATCH(&a, mapped_out));
	cr_assert(MATCH(&a, odd_in));
	cr_assert_not(MATCH(&a, odd_out));
}

Test(allow, v6_entries_do_not_match_v4_senders)
{
	static struct ingest_allow a;
	struct sockaddr_in s = v4("10.0.0.1");
	struct sockaddr_in6 m = v6("::ffff:10.0.0.1");

	ingest_allow_init(&a);
	cr_assert_eq(ingest_allow_add(&a, "::/0"), 0);
	cr_assert_not(MATCH(&a, s));
	cr_assert_not(MATCH(&a, m));
	cr_assert_eq(ingest_allow_add(&a, "0.0.0.0/0"), 0);
	cr_assert(MATCH(&a, s));
	cr_assert(MATCH(&a, m));
}

Test(allow, full_list_is_enospc)
{
	static struct ingest_allow a;

	ingest_allow_init(&a);
	for (unsigned i = 0; i < INGEST_ALLOW_MAX; i++)
		cr_assert_eq(ingest_allow_add(&a, "10.0.0.0/8"), 0);
	cr_assert_eq(ingest_allow_add(&a, "10.0.0.0/8"), -ENOSPC);
}

Test(source, specs)
{
	struct ingest_source s;

	cr_assert_eq(ingest_source_parse("udp", &s), 0);
	cr_assert_eq(s.kind, INGEST_SOURCE_UDP);
	cr_assert_eq(ingest_source_parse("kmsg", &s), 0);
	cr_assert_eq(s.kind, INGEST_SOURCE_KMSG);
	cr_assert_eq(ingest_source_parse("-", &s), 0);
	cr_assert_eq(s.kind, INGEST_SOURCE_STDIN);
	cr_assert_eq(ingest_source_parse("file:/var/log/kern.log", &s), 0);
	cr_assert_eq(s.kind, INGEST_SOURCE_FILE);
	cr_assert_str_eq(s.path, "/var/log/kern.log");
	cr_assert_eq(ingest_source_parse("file:", &s), -EINVAL);
	cr_assert_eq(ingest_source_parse("tcp", &s), -EINVAL);
}

/* ------------------------------------------------------------------ lane */

static struct ingest_lane lane __attribute__((aligned(64)));

static void lane_put(struct ingest_lane *l, const char *s)
{
	struct ingest_record *r = ingest_lane_reserve(l, (uint32_t)strlen(s));

	cr_assert_not_null(r);
	memcpy(r->data, s, strlen(s));
	ingest_lane_commit(l, r, (uint32_t)strlen(s), 42);
}

Test(lane, ring_of_4_holds_3_then_refuses)
{
	struct ingest_record *r;

	cr_assert_eq(ingest_lane_init(&lane, 3), -EINVAL);
	cr_assert_eq(ingest_lane_init(&lane, 4), 0);
	lane_put(&lane, "one");
	lane_put(&lane, "two");
	lane_put(&lane, "three");
	cr_assert_null(ingest_lane_reserve(&lane, 4), "a full ring must refuse (ring_full)");
	r = ingest_lane_pop(&lane);
	cr_assert_not_null(r);
	cr_assert_eq(r->len, 3);
	cr_assert_eq(memcmp(r->data, "one", 3), 0);
	cr_assert_eq(r->recv_ns, 42);
	ingest_lane_release(&lane, r);
	lane_put(&lane, "four");
	for (const char *want[] = {"two", "three", "four"}, **w = want; w < want + 3; w++) {
		r = ingest_lane_pop(&lane);
		cr_assert_not_null(r);
		cr_assert_eq(memcmp(r->data, *w, strlen(*w)), 0);
		ingest_lane_release(&lane, r);
	}
	cr_assert_null(ingest_lane_pop(&lane));
	ingest_lane_destroy(&lane);
}

Test(lane, full_arena_refuses_until_released)
{
	struct ingest_record *r[8];
	unsigned n = 0;

	cr_assert_eq(ingest_lane_init(&lane, 64), 0); /* 64 KiB arena: INGEST_LANE_MIN */
	while (n < 8 && (r[n] = ingest_lane_reserve(&lane, INGEST_RECORD_MAX)) != NULL)
		ingest_lane_commit(&lane, r[n++], INGEST_RECORD_MAX, 1);
	cr_assert_eq(n, 3, "%u records of 16 KiB in a 64 KiB arena", n);
	ingest_lane_release(&lane, ingest_lane_pop(&lane));
	cr_assert_not_null(ingest_lane_reserve(&lane, INGEST_RECORD_MAX));
	cr_assert_null(ingest_lane_reserve(&lane, INGEST_RECORD_MAX + 1), "records are bounded");
	ingest_lane_destroy(&lane);
}

Test(lane, wrap_keeps_records_whole)
{
	char buf[3000];

	cr_assert_eq(ingest_lane_init(&lane, 64), 0);
	for (unsigned i = 0; i < 1000; i++) {
		struct ingest_record *r;
		uint32_t len = 1 + (i * 7919u) % sizeof(buf);

		memset(buf, 'a' + (int)(i % 26), len);
		r = ingest_lane_reserve(&lane, len);
		cr_assert_not_null(r);
		memcpy(r->data, buf, len);
		ingest_lane_commit(&lane, r, len, i);
		r = ingest_lane_pop(&lane);
		cr_assert_not_null(r);
		cr_assert_eq(r->len, len);
		cr_assert_eq(r->recv_ns, i);
		cr_assert_eq(memcmp(r->data, buf, len), 0);
		ingest_lane_release(&lane, r);
	}
	ingest_lane_destroy(&lane);
}

Test(lane, close_ends_the_wait_after_draining)
{
	cr_assert_eq(ingest_lane_init(&lane, 8), 0);
	lane_put(&lane, "last");
	ingest_lane_close(&lane);
	cr_assert(ingest_lane_wait(&lane), "a record is still there");
	ingest_lane_release(&lane, ingest_lane_pop(&lane));
	cr_assert_not(ingest_lane_wait(&lane), "closed and empty");
	ingest_lane_destroy(&lane);
}

/* Producer and consumer threads: every record arrives once, in order, intact, or is a
 * counted drop; the consumer sleeps on the futex when the producer pauses. */
#define SPSC_RECORDS 200000u

struct spsc {
	uint64_t dropped, consumed, bad;
};

static void *spsc_consumer(void *arg)
{
	struct spsc *s = arg;
	uint64_t last = 0;

	for (;;) {
		struct ingest_record *r = ingest_lane_pop(&lane);
		uint64_t seq;

		if (!r) {
			if (!ingest_lane_wait(&lane))
				break;
			continue;
		}
		memcpy(&seq, r->data, sizeof(seq));
		if (seq <= last || r->recv_ns != seq || r->len != 8 + seq % 200 ||
		    (r->len > 8 && (uint8_t)r->data[r->len - 1] != (uint8_t)seq))
			s->bad++;
		last = seq;
		s->consumed++;
		ingest_lane_release(&lane, r);
	}
	return NULL;
}

Test(lane, spsc_threads_counts_match, .timeout = 60)
{
	struct spsc s = {0};
	pthread_t t;

	cr_assert_eq(ingest_lane_init(&lane, 64), 0);
	cr_assert_eq(pthread_create(&t, NULL, spsc_consumer, &s), 0);
	for (uint64_t seq = 1; seq <= SPSC_RECORDS; seq++) {
		uint32_t len = 8 + (uint32_t)(seq % 200);
		struct ingest_record *r = ingest_lane_reserve(&lane, len);

		if (!r) {
			s.dropped++; /* full: a counted drop, never a wait */
		} else {
			memcpy(r->data, &seq, 8);
			memset(r->data + 8, (int)(uint8_t)seq, len - 8);
			ingest_lane_commit(&lane, r, len, seq);
		}
		if (seq % 64 == 0)
			ingest_lane_kick(&lane);
		if (seq % 50000 == 0) { /* let the consumer run dry and sleep */
			ingest_lane_kick(&lane);
			while (ck_ring_size(&lane.ring))
				sched_yield();
		}
	}
	ingest_lane_close(&lane);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(s.bad, 0);
	cr_assert_eq(s.consumed + s.dropped, SPSC_RECORDS, "consumed %llu + dropped %llu",
	             (unsigned long long)s.consumed, (unsigned long long)s.dropped);
	cr_assert_gt(s.consumed, 0);
	ingest_lane_destroy(&lane);
}
