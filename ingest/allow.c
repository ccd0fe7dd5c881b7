/* SPDX-License-Identifier: MIT */
/*
 * allow.c — the allow-list of sender networks. UDP syslog is unauthenticated:
 * a datagram from outside every listed CIDR is a counted drop (not_allowed).
 * An empty list accepts everyone (wgmond warns at start).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest_internal.h"

void ingest_allow_init(struct ingest_allow *a)
{
	memset(a, 0, sizeof(*a));
}

/* A decimal prefix length 0..max, nothing else. */
static int prefix_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Clear the host bits, so "10.1.2.3/8" is stored as 10.0.0.0/8. */
static void cidr_mask(struct ingest_cidr *c)
{
	unsigned bytes = c->family == 4 ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned bit = i * 8;

		if (bit >= c->prefix)
			c->addr[i] = 0;
		else if (c->prefix - bit < 8)
			c->addr[i] &= (uint8_t)(0xff00u >> (c->prefix - bit));
	}
}

int ingest_allow_add(struct ingest_allow *a, const char *cidr)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	struct ingest_cidr c = {0};
	unsigned prefix;

	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, cidr, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, c.addr) == 1)
		c.family = 4;
	else if (inet_pton(AF_INET6, host, c.addr) == 1)
		c.family = 6;
	else
		return -EINVAL;
	prefix = c.family == 4 ? 32 : 128;
	if (slash && prefix_parse(slash + 1, prefix, &prefix) < 0)
		return -EINVAL;
	if (a->n >= INGEST_ALLOW_MAX)
		return -ENOSPC;
	c.prefix = (uint8_t)prefix;
	cidr_mask(&c);
	a->cidr[a->n++] = c;
	return 0;
}

static bool cidr_match(const struct ingest_cidr *c, const uint8_t *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full))
		return false;
	return !rest || !((c->addr[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest));
}

bool ingest_allow_match(const struct ingest_allow *a, const struct sockaddr *sa)
{
	const uint8_t *addr;
	uint8_t family;

	if (a->n == 0)
		return true;
	if (sa->sa_family == AF_INET) {
		family = 4;
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		        &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		family = IN6_IS_ADDR_V4MAPPED(a6) ? 4 : 6;
		addr = family == 4 ? a6->s6_addr + 12 : a6->s6_addr;
	} else {
		return false;
	}
	for (uint32_t i = 0; i < a->n; i++)
		if (a->cidr[i].family == family && cidr_match(&a->cidr[i], addr))
			return true;
	return false;
}

size_t ingest_allow_format(const struct ingest_allow *a, char *buf, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (a->n == 0)
		return (size_t)snprintf(buf, cap, "all");
	for (uint32_t i = 0; i < a->n && len < cap; i++) {
		const struct ingest_cidr *c = &a->cidr[i];
		char host[INET6_ADDRSTRLEN];
		int k;

		inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, host, sizeof(host));
		k = snprintf(buf + len, cap - len, "%s%s/%u", i ? ", " : "", host, c->prefix);
		if (k < 0)
			break;
		len += (size_t)k;
	}
	return len < cap ? len : cap - 1;
}
