/* SPDX-License-Identifier: MIT */
/*
 * split.c — a datagram (or file chunk) into lines, and the choice of the worker
 * that gets it: all lines of one peer go to the same worker, in order, so the
 * table never depends on how many workers there are.
 */
#include <netinet/in.h>
#include <string.h>

#include "ingest/ingest_internal.h"

bool ingest_split_next(struct ingest_split *s, const char **line, size_t *len)
{
	const char *p = s->p, *nl;
	size_t n;

	if (p >= s->end)
		return false;
	nl = memchr(p, '\n', (size_t)(s->end - p));
	n = (size_t)((nl ? nl : s->end) - p);
	if (n && p[n - 1] == '\r')
		n--; /* "\r\n", or a last line ending in '\r' */
	s->p = nl ? nl + 1 : s->end;
	*line = p;
	*len = n;
	return true;
}

/* splitmix64's finaliser: cheap, and every input bit moves the top bits. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The digits after the first "peer " or "Peer " of [p, end), or false. */
static bool peer_key(const char *p, const char *end, uint64_t *key)
{
	const char *q = p;
	uint64_t v = 0;

	while ((q = memmem(q, (size_t)(end - q), "eer ", 4)) != NULL) {
		if (q > p && (q[-1] == 'p' || q[-1] == 'P'))
			break;
		q += 4;
	}
	if (!q)
		return false;
	q += 4;
	if (q >= end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++)
		v = v * 10 + (uint64_t)(*q - '0'); /* wraps past 2^64: still a stable key */
	*key = v;
	return true;
}

static uint64_t sender_key(const struct sockaddr *from)
{
	uint64_t a = 0, b = 0;

	if (!from)
		return 0;
	if (from->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)from;

		memcpy(&a, &s4->sin_addr, sizeof(s4->sin_addr));
	} else if (from->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)from;

		memcpy(&a, s6->sin6_addr.s6_addr, 8);
		memcpy(&b, s6->sin6_addr.s6_addr + 8, 8);
	}
	return a ^ mix64(b);
}

uint32_t ingest_pick_worker(const char *data, size_t len, const struct sockaddr *from,
                            uint32_t nworkers)
{
	const char *nl = memchr(data, '\n', len);
	uint64_t key;

	if (nworkers <= 1)
		return 0;
	if (!peer_key(data, nl ? nl : data + len, &key))
		key = sender_key(from) ^ 0x9e3779b97f4a7c15ull; /* keep apart from peer ids */
	/* Lemire's range reduction of the top 32 bits: no division. */
	return (uint32_t)(((mix64(key) >> 32) * nworkers) >> 32);
}
