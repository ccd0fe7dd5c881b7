/* SPDX-License-Identifier: MIT */
/*
 * test_hardening_util.h — helpers of the hardening tests (header-only, on top of
 * test_wgmond_util.h): a reader kept attached while wgmond runs, UDP senders from a chosen
 * source address, the expected counters of any bytes (what the parser says of every line, and
 * which datagrams wgmond must drop whole), windowed sending that never outruns wgmond, and
 * /proc figures (resident memory, the kernel's socket drops). Every wait is a bounded poll.
 */
#ifndef WGMON_TEST_HARDENING_UTIL_H
#define WGMON_TEST_HARDENING_UTIL_H

#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "parse/parse.h"
#include "tests/test_wgmond_util.h"

/* What the plain runner of test_wgmond_plain.h (TSan builds) lacks of Criterion. */
#ifdef TW_PLAIN
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), ##__VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), ##__VA_ARGS__)
#endif

/* A figure for the record: on stderr, which ctest keeps in its log (Criterion's info does not). */
#define hz_note(...) (fprintf(stderr, "hardening: " __VA_ARGS__), (void)fputc('\n', stderr))

#define HZ_DATAGRAM_MAX 8192 /* INGEST_DATAGRAM_MAX: longer is a `truncated` drop */
#define HZ_UDP_MAX      65507

/* ---- The table, read while wgmond writes it ------------------------------------------------- */

/* Attach to `shm`, waiting (bounded) until wgmond created it; NULL if it never did. */
static inline struct shm_reader *hz_attach(const char *shm, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	struct shm_reader *r;

	while (shm_reader_attach(&r, shm) != 0) {
		if (tw_now_ns() > end)
			return NULL;
		tw_pause();
	}
	return r;
}

static inline void hz_stats(struct shm_reader *r, struct shm_stats *st)
{
	if (shm_reader_refresh(r) < 0) { /* keeps the old mapping: the figures stay readable */
	}
	shm_reader_stats(r, st);
}

/* Lines plus datagrams dropped whole (truncated, not allowed, ring full): wgmond's progress. */
static inline uint64_t hz_taken(const struct shm_stats *st)
{
	return st->lines + st->dropped[SHM_DROP_TRUNCATED] + st->dropped[SHM_DROP_NOT_ALLOWED] +
	       st->dropped[SHM_DROP_RING_FULL];
}

/* Poll until hz_taken() reaches n; false after `seconds` (st: the last figures). */
static inline bool hz_wait_taken(struct shm_reader *r, uint64_t n, double seconds,
                                 struct shm_stats *st)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);

	for (;;) {
		hz_stats(r, st);
		if (hz_taken(st) >= n)
			return hz_taken(st) == n;
		if (tw_now_ns() > end)
			return false;
		tw_pause();
	}
}

/* ---- Senders -------------------------------------------------------------------------------- */

/* A UDP socket sending to 127.0.0.1:port (or [::1]:port), from `src` (NULL: any). -1 if not. */
static inline int hz_sock(int port, const char *src, bool v6)
{
	struct sockaddr_in6 d6 = {.sin6_family = AF_INET6,
	                          .sin6_port = htons((uint16_t)port),
	                          .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr_in d4 = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0), big = 8 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (src && (inet_pton(AF_INET, src, &s4.sin_addr) != 1 ||
	            bind(fd, (struct sockaddr *)&s4, sizeof(s4)) < 0))
		goto fail;
	if (v6 ? connect(fd, (struct sockaddr *)&d6, sizeof(d6))
	       : connect(fd, (struct sockaddr *)&d4, sizeof(d4)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Send one datagram; false if the kernel refused it. */
static inline bool hz_send(int fd, const void *p, size_t n)
{
	for (;;) {
		ssize_t k = send(fd, p, n, 0);

		if (k == (ssize_t)n)
			return true;
		if (k < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR))
			continue; /* a full loopback queue: try again */
		return false;
	}
}

/* ---- The oracle: what wgmond must count for given bytes ------------------------------------ */

struct hz_expect {
	uint64_t datagrams, truncated, lines;
	uint64_t rejected[PARSE_REJECT__COUNT];
	uint64_t events[PARSE_EV__COUNT];
};

/* The lines of a datagram as wgmond splits them (ingest_split_next's rules, written again). */
static inline void hz_expect_add(struct hz_expect *e, const char *d, size_t n)
{
	const char *p = d, *end = d + n;
	struct parse_event ev;

	e->datagrams++;
	if (n > HZ_DATAGRAM_MAX) {
		e->truncated++;
		return;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		int r;

		if (len && p[len - 1] == '\r')
			len--;
		r = parse_line(p, len, &ev);
		e->lines++;
		if (r == PARSE_OK)
			e->events[ev.kind] += ev.repeat ? ev.repeat : 1;
		else
			e->rejected[r]++;
		p = nl ? nl + 1 : end;
	}
}

/* Does the table count exactly what was expected (since `base`)? The first difference, or "". */
static inline const char *hz_expect_diff(const struct hz_expect *e, const struct shm_stats *base,
                                         const struct shm_stats *st)
{
	static char why[256];

	why[0] = '\0';
	if (st->datagrams - base->datagrams != e->datagrams)
		snprintf(why, sizeof(why), "datagrams %llu, want %llu",
		         (unsigned long long)(st->datagrams - base->datagrams),
		         (unsigned long long)e->datagrams);
	else if (st->dropped[SHM_DROP_TRUNCATED] - base->dropped[SHM_DROP_TRUNCATED] !=
	         e->truncated)
		snprintf(why, sizeof(why), "truncated %llu, want %llu",
		         (unsigned long long)(st->dropped[SHM_DROP_TRUNCATED] -
		                              base->dropped[SHM_DROP_TRUNCATED]),
		         (unsigned long long)e->truncated);
	else if (st->lines - base->lines != e->lines)
		snprintf(why, sizeof(why), "lines %llu, want %llu",
		         (unsigned long long)(st->lines - base->lines),
		         (unsigned long long)e->lines);
	for (unsigned k = 1; !why[0] && k < PARSE_REJECT__COUNT; k++)
		if (st->rejected[k] - base->rejected[k] != e->rejected[k])
			snprintf(why, sizeof(why), "rejected %s %llu, want %llu",
			         parse_reject_name(k),
			         (unsigned long long)(st->rejected[k] - base->rejected[k]),
			         (unsigned long long)e->rejected[k]);
	for (unsigned k = 1; !why[0] && k < PARSE_EV__COUNT; k++)
		if (st->events[k] - base->events[k] != e->events[k])
			snprintf(why, sizeof(why), "event %s %llu, want %llu", parse_event_name(k),
			         (unsigned long long)(st->events[k] - base->events[k]),
			         (unsigned long long)e->events[k]);
	return why;
}

/* ---- /proc ------------------------------------------------------------------------------------ */

/* A "Key:   N kB" line of /proc/PID/status, in KiB; 0 if absent. */
static inline uint64_t hz_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The kernel's drop count of the UDP sockets bound to local port `port` (/proc/net/udp{,6}). */
static inline uint64_t hz_udp_drops(int port)
{
	static const char *const files[] = {"/proc/net/udp", "/proc/net/udp6"};
	char line[512], want[8];
	uint64_t drops = 0;

	snprintf(want, sizeof(want), ":%04X", port);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "r");

		while (f && fgets(line, sizeof(line), f)) {
			char local[64], *last;

			if (sscanf(line, "%*s %63s", local) != 1 || !strstr(local, want) ||
			    strlen(strstr(local, want)) != 5)
				continue;
			last = strrchr(line, ' ');
			if (last)
				drops += strtoull(last + 1, NULL, 10);
		}
		if (f)
			fclose(f);
	}
	return drops;
}

/* Packets the kernel dropped before any socket (a full per-CPU backlog: loopback at high rates),
 * summed over CPUs from /proc/net/softnet_stat. Machine-wide: meaningful in a serial run. */
static inline uint64_t hz_backlog_drops(void)
{
	FILE *f = fopen("/proc/net/softnet_stat", "r");
	unsigned long long processed, dropped;
	uint64_t sum = 0;

	while (f && fscanf(f, "%llx %llx%*[^\n]", &processed, &dropped) == 2)
		sum += dropped;
	if (f)
		fclose(f);
	return sum;
}

/* The kernel's UDP counters (the "Udp:" values of /proc/net/snmp), as text, for a message. */
static inline const char *hz_udp_snmp(void)
{
	static char text[512];
	char line[512];
	FILE *f = fopen("/proc/net/snmp", "r");
	int seen = 0;

	text[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Udp:", 4) && ++seen == 2)
			snprintf(text, sizeof(text), "%s", line);
	if (f)
		fclose(f);
	return text;
}

#endif /* WGMON_TEST_HARDENING_UTIL_H */
