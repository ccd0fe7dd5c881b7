/* SPDX-License-Identifier: MIT */
/*
 * parse.c — envelope → decoration → "wireguard: IFACE: " → message → event.
 *
 * Each stage is a small function over a cursor (p, end); a stage either moves
 * the cursor or names the reason the line is rejected. The 38 messages are
 * data (templates of literal text and typed fields, below), so adding one is a
 * table row. Nothing here allocates, locks, or reads past `end`.
 */
#include <stdbool.h>
#include <string.h>

#include "parse/parse.h"
#include "parse/parse_internal.h"

/* Internal verdict of a template that simply does not apply to the line. */
#define MISMATCH (-1)

struct cursor {
	const char *p;
	const char *end;
};

static inline bool is_digit(int c)
{
	return (unsigned)(c - '0') < 10u;
}

static inline bool is_alnum(int c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static inline bool at(const struct cursor *c, const char *lit, size_t n)
{
	return (size_t)(c->end - c->p) >= n && !memcmp(c->p, lit, n);
}
#define AT(c, lit) at((c), (lit), sizeof(lit) - 1)

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/*
 * A fresh event. Only the header is cleared (kind, lengths, fields, repeat);
 * a field's storage is written when its bit in `fields` is set, and nothing
 * reads it otherwise. That keeps 150 bytes of stores off every line.
 */
static inline void event_clear(struct parse_event *ev)
{
	memset(ev, 0, offsetof(struct parse_event, peer));
	ev->repeat = 1;
	ev->host = NULL;
}

/* ---------------------------------------------------------------- numbers */

/*
 * Decimal as %llu prints it: no sign, no leading zero, ≤ UINT64_MAX, and not
 * glued to further letters or digits ("0x1f", "1,000", "12a" are bad_number).
 */
static int number_u64(struct cursor *c, uint64_t *out)
{
	const char *start = c->p, *p = start;
	uint64_t v = 0;

	if (p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (!is_digit(*p) || (*p == '0' && p + 1 < c->end && is_alnum(p[1])))
		return PARSE_REJECT_BAD_NUMBER;
	/* Up to 19 digits cannot overflow; the 20th is checked against UINT64_MAX as text. */
	while (p < c->end && is_digit(*p) && p - start < 20)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p - start == 20 && memcmp(start, "18446744073709551615", 20) > 0)
		return PARSE_REJECT_BAD_NUMBER;
	if (p < c->end && (is_alnum(*p) || *p == '_' || *p == ',' || *p == '.'))
		return PARSE_REJECT_BAD_NUMBER;
	c->p = p;
	*out = v;
	return PARSE_OK;
}

/* Decimal as %d prints it: an optional '-', then as above, within int range. */
static int number_int(struct cursor *c, int64_t *out)
{
	bool neg = c->p < c->end && *c->p == '-';
	uint64_t v;
	int rc;

	if (neg)
		c->p++;
	rc = number_u64(c, &v);
	if (rc)
		return rc;
	if (v > (neg ? 2147483648u : 2147483647u))
		return PARSE_REJECT_BAD_NUMBER;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return PARSE_OK;
}

/*
 * A bounded decimal inside an address (octet, port, flowinfo, scope): no
 * leading zero, at most `max` (≤ UINT32_MAX, so the running check cannot
 * overflow), not followed by a letter or digit.
 */
static bool endpoint_number(struct cursor *c, uint64_t max, uint64_t *out)
{
	const char *p = c->p;
	uint64_t v;

	if (p >= c->end || !is_digit(*p))
		return false;
	v = (uint64_t)(*p++ - '0');
	if (v)
		while (p < c->end && is_digit(*p))
			if ((v = v * 10 + (uint64_t)(*p++ - '0')) > max)
				return false;
	if (p < c->end && is_alnum(*p))
		return false;
	c->p = p;
	*out = v;
	return true;
}

/* -------------------------------------------------------------- addresses */

/* a.b.c.d as %pI4 prints it: decimal octets, no leading zeros. */
static bool addr_v4(struct cursor *c, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		uint64_t octet;

		if (i && (c->p >= c->end || *c->p++ != '.'))
			return false;
		if (!endpoint_number(c, 255, &octet))
			return false;
		out[i] = (uint8_t)octet;
	}
	return true;
}

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The kernel prints hex in lowercase only. */
static inline int lower_hex_value(int c)
{
	return is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Is this the compression the kernel's ip6_compressed_string() chooses? It
 * writes the first longest run of ≥ 2 zero words as "::" (never a single
 * one), and ends v4-mapped and ISATAP addresses in dotted IPv4.
 */
static bool addr_v6_is_kernel_form(const uint16_t w[8], int gap, int gap_words, bool dotted)
{
	bool v4 = (!w[0] && !w[1] && !w[2] && !w[3] && !w[4] && w[5] == 0xffff) ||
	          ((w[4] | 0x0200) == 0x0200 && w[5] == 0x5efe);
	int range = v4 ? 6 : 8, colonpos = -1, longest = 1;

	if (dotted != v4)
		return false;
	for (int i = 0; i < range;) {
		int run = 0;

		while (i + run < range && !w[i + run])
			run++;
		if (run > longest) {
			longest = run;
			colonpos = i;
		}
		i += run ? run : 1;
	}
	return colonpos < 0 ? gap < 0 : gap == colonpos && gap_words == longest;
}

/*
 * IPv6 text exactly as the kernel's %pI6c prints it, in one pass: groups of
 * lowercase hex without leading zeros, at most one "::", an optional dotted
 * IPv4 tail, and the kernel's choice of compression.
 */
static bool addr_v6_compressed(struct cursor *c, uint8_t out[16])
{
	uint16_t w[8] = {0}, full[8] = {0};
	int n = 0, gap = -1;
	bool dotted = false;

	if (at(c, "::", 2)) {
		gap = 0;
		c->p += 2;
		if (c->p >= c->end || lower_hex_value(*c->p) < 0)
			goto assemble;
	}
	while (n < 8) {
		const char *start = c->p;
		unsigned v = 0;
		int h;

		while (c->p < c->end && c->p - start < 4 && (h = lower_hex_value(*c->p)) >= 0) {
			v = v * 16 + (unsigned)h;
			c->p++;
		}
		if (c->p < c->end && *c->p == '.' && n <= 6) {
			uint8_t q[4];

			c->p = start; /* a dotted IPv4 tail: the last two words */
			if (!addr_v4(c, q))
				return false;
			w[n++] = (uint16_t)(q[0] << 8 | q[1]);
			w[n++] = (uint16_t)(q[2] << 8 | q[3]);
			dotted = true;
			break;
		}
		if (c->p == start || (c->p - start > 1 && *start == '0') ||
		    (c->p < c->end && hex_value(*c->p) >= 0))
			return false;
		w[n++] = (uint16_t)v;
		if (n == 8 || !at(c, ":", 1))
			break;
		if (at(c, "::", 2)) {
			if (gap >= 0)
				return false;
			gap = n;
			c->p += 2;
			if (c->p >= c->end || lower_hex_value(*c->p) < 0)
				break;
			continue;
		}
		c->p++;
	}
assemble:
	if (gap < 0 ? n != 8 : n > 7)
		return false;
	for (int i = 0; i < n; i++)
		full[gap >= 0 && i >= gap ? 8 - n + i : i] = w[i];
	if (!addr_v6_is_kernel_form(full, gap, 8 - n, dotted))
		return false;
	for (int i = 0; i < 8; i++) {
		out[2 * i] = (uint8_t)(full[i] >> 8);
		out[2 * i + 1] = (uint8_t)full[i];
	}
	return true;
}

/* %pI6: eight groups of exactly four lowercase hex digits. */
static bool addr_v6_full(struct cursor *c, uint8_t out[16])
{
	if (c->end - c->p < 39)
		return false;
	for (int i = 0; i < 8; i++) {
		unsigned v = 0;

		for (int j = 0; j < 4; j++) {
			int ch = *c->p++, h = hex_value(ch);

			if (h < 0 || (ch >= 'A' && ch <= 'F'))
				return false;
			v = v * 16 + (unsigned)h;
		}
		out[2 * i] = (uint8_t)(v >> 8);
		out[2 * i + 1] = (uint8_t)v;
		if (i < 7 && *c->p++ != ':')
			return false;
	}
	return true;
}

/* Where a failed address ended: at the end of the line it was cut short. */
static int addr_failure(const struct cursor *c)
{
	return c->p >= c->end ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_BAD_ENDPOINT;
}

/*
 * %pISpfsc: "a.b.c.d:port", "[v6c]:port/flowinfo%scope", or the unset forms
 * "(einval)" and (before 2019) "(invalid address)".
 */
static int endpoint(struct cursor *c, struct parse_endpoint *ep)
{
	uint64_t port, flow, scope;

	if (c->p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (*c->p == '(') {
		if (AT(c, "(einval)"))
			c->p += sizeof("(einval)") - 1;
		else if (AT(c, "(invalid address)"))
			c->p += sizeof("(invalid address)") - 1;
		else
			return addr_failure(c);
		*ep = (struct parse_endpoint){.af = PARSE_AF_UNSET};
		return PARSE_OK;
	}
	memset(ep, 0, sizeof(*ep));
	if (*c->p != '[') {
		if (!addr_v4(c, ep->addr) || !at(c, ":", 1))
			return addr_failure(c);
		c->p++;
		if (!endpoint_number(c, 65535, &port))
			return addr_failure(c);
		ep->af = PARSE_AF_INET;
		ep->port = (uint16_t)port;
		return PARSE_OK;
	}
	c->p++;
	if (!addr_v6_compressed(c, ep->addr))
		return addr_failure(c);
	if (!at(c, "]:", 2))
		return addr_failure(c);
	c->p += 2;
	if (!endpoint_number(c, 65535, &port) || !at(c, "/", 1))
		return addr_failure(c);
	c->p++;
	if (!endpoint_number(c, 0x0FFFFFFF, &flow) || !at(c, "%", 1))
		return addr_failure(c);
	c->p++;
	if (!endpoint_number(c, UINT32_MAX, &scope))
		return addr_failure(c);
	ep->af = PARSE_AF_INET6;
	ep->port = (uint16_t)port;
	ep->flowinfo = (uint32_t)flow;
	ep->scope = (uint32_t)scope;
	return PARSE_OK;
}

/* An inner address: %pISc (v4 or compressed v6) or %pI4 / %pI6 (M27/M28). */
static int inner_addr(struct cursor *c, int style, struct parse_endpoint *a)
{
	const char *start = c->p;

	memset(a, 0, sizeof(*a));
	if (addr_v4(c, a->addr)) {
		a->af = PARSE_AF_INET;
		return PARSE_OK;
	}
	c->p = start;
	if (style == PARSE_STYLE_UNCOMPRESSED ? addr_v6_full(c, a->addr)
	                                      : addr_v6_compressed(c, a->addr)) {
		a->af = PARSE_AF_INET6;
		return PARSE_OK;
	}
	return addr_failure(c);
}

/* -------------------------------------------------------------- messages */

/*
 * A message is a list of segments: literal text, or a typed field that
 * stores into the event. The field segments double as the JSON field order.
 */
#define LIT(s)                                                                                     \
	{                                                                                          \
		SEG_LIT, sizeof(s) - 1, s                                                          \
	}
#define FLD(f)                                                                                     \
	{                                                                                          \
		(f), 0, NULL                                                                       \
	}
#define END                                                                                        \
	{                                                                                          \
		SEG_END, 0, NULL                                                                   \
	}

static const struct parse_seg m1[] = {LIT("Could not decrypt invalid cookie response"), END};
static const struct parse_seg m2[] = {LIT("No route to "), FLD(SEG_ENDPOINT), LIT(", error "),
                                      FLD(SEG_ERROR), END};
static const struct parse_seg m4[] = {LIT("Receiving cookie response from "), FLD(SEG_ENDPOINT),
                                      END};
static const struct parse_seg m5[] = {LIT("Invalid MAC of handshake, dropping packet from "),
                                      FLD(SEG_ENDPOINT), END};
static const struct parse_seg m6[] = {LIT("Invalid handshake initiation from "), FLD(SEG_ENDPOINT),
                                      END};
static const struct parse_seg m7[] = {LIT("Receiving handshake initiation from peer "),
                                      FLD(SEG_PEER),
                                      LIT(" ("),
                                      FLD(SEG_ENDPOINT),
                                      LIT(")"),
                                      END};
static const struct parse_seg m8[] = {LIT("Invalid handshake response from "), FLD(SEG_ENDPOINT),
                                      END};
static const struct parse_seg m9[] = {LIT("Receiving handshake response from peer "),
                                      FLD(SEG_PEER),
                                      LIT(" ("),
                                      FLD(SEG_ENDPOINT),
                                      LIT(")"),
                                      END};
static const struct parse_seg m10[] = {LIT("Receiving keepalive packet from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m11[] = {LIT("Packet has unallowed src IP ("),
                                       FLD(SEG_ADDR_C),
                                       LIT(") from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m12[] = {LIT("Packet is neither ipv4 nor ipv6 from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m13[] = {LIT("Packet has incorrect size from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m14[] = {LIT("Packet has invalid nonce "),
                                       FLD(SEG_NONCE),
                                       LIT(" (max "),
                                       FLD(SEG_NONCE_MAX),
                                       LIT(")"),
                                       END};
static const struct parse_seg m15[] = {LIT("Dropping handshake packet from "), FLD(SEG_ENDPOINT),
                                       END};
static const struct parse_seg m16[] = {LIT("Sending handshake initiation to peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m17[] = {LIT("Sending handshake response to peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m18[] = {
        LIT("Sending cookie response for denied handshake message for "), FLD(SEG_ENDPOINT), END};
static const struct parse_seg m19[] = {LIT("Sending keepalive packet to peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m20[] = {LIT("Handshake for peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(") did not complete after "),
                                       FLD(SEG_ATTEMPTS),
                                       LIT(" attempts, giving up"),
                                       END};
static const struct parse_seg m21[] = {LIT("Handshake for peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(") did not complete after "),
                                       FLD(SEG_SECONDS),
                                       LIT(" seconds, retrying (try "),
                                       FLD(SEG_TRY),
                                       LIT(")"),
                                       END};
static const struct parse_seg m22[] = {LIT("Retrying handshake with peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(") because we stopped hearing back after "),
                                       FLD(SEG_SECONDS),
                                       LIT(" seconds"),
                                       END};
static const struct parse_seg m23[] = {LIT("Zeroing out all keys for peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT("), since we haven't received a new one in "),
                                       FLD(SEG_SECONDS),
                                       LIT(" seconds"),
                                       END};
static const struct parse_seg m24[] = {LIT("Peer "), FLD(SEG_PEER), LIT(" created"), END};
static const struct parse_seg m25[] = {LIT("Peer "),      FLD(SEG_PEER),      LIT(" ("),
                                       FLD(SEG_ENDPOINT), LIT(") destroyed"), END};
static const struct parse_seg m26[] = {LIT("Invalid IP packet"), END};
static const struct parse_seg m27[] = {LIT("No peer has allowed IPs matching "), FLD(SEG_ADDR_FULL),
                                       END};
static const struct parse_seg m29[] = {
        LIT("No valid endpoint has been configured or discovered for peer "), FLD(SEG_PEER), END};
static const struct parse_seg m30[] = {LIT("Interface destroyed"), END};
static const struct parse_seg m31[] = {LIT("Interface created"), END};
static const struct parse_seg m32[] = {LIT("Creating namespace exiting"), END};
static const struct parse_seg m33[] = {LIT("Keypair "), FLD(SEG_KEYPAIR),
                                       LIT(" destroyed for peer "), FLD(SEG_PEER), END};
static const struct parse_seg m34[] = {LIT("Keypair "), FLD(SEG_KEYPAIR), LIT(" created for peer "),
                                       FLD(SEG_PEER), END};
static const struct parse_seg m35[] = {LIT("WireGuard "), FLD(SEG_VERSION),
                                       LIT(" loaded. See www.wireguard.com for information."), END};
static const struct parse_seg m36[] = {
        LIT("Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. All Rights Reserved."),
        END};
static const struct parse_seg m37[] = {LIT("Could not create IPv4 socket"), END};
static const struct parse_seg m38[] = {LIT("Could not create IPv6 socket"), END};
static const struct parse_seg mgro[] = {LIT("Failed to give packet to userspace from peer "),
                                        FLD(SEG_PEER),
                                        LIT(" ("),
                                        FLD(SEG_ENDPOINT),
                                        LIT(")"),
                                        END};
static const struct parse_seg mrl[] = {LIT("net_ratelimit: "), FLD(SEG_COUNT),
                                       LIT(" callbacks suppressed"), END};

/* Per kind: a template whose fields give the JSON order. */
const struct parse_seg *const parse_msg_segs[PARSE_EV__COUNT] = {
        [PARSE_EV_COOKIE_DECRYPT_FAILED] = m1,
        [PARSE_EV_SEND_NO_ROUTE] = m2,
        [PARSE_EV_COOKIE_RESPONSE_RECEIVED] = m4,
        [PARSE_EV_HANDSHAKE_MAC_INVALID] = m5,
        [PARSE_EV_HANDSHAKE_INITIATION_INVALID] = m6,
        [PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] = m7,
        [PARSE_EV_HANDSHAKE_RESPONSE_INVALID] = m8,
        [PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED] = m9,
        [PARSE_EV_KEEPALIVE_RECEIVED] = m10,
        [PARSE_EV_PACKET_SRC_UNALLOWED] = m11,
        [PARSE_EV_PACKET_NOT_IP] = m12,
        [PARSE_EV_PACKET_SIZE_INVALID] = m13,
        [PARSE_EV_PACKET_NONCE_INVALID] = m14,
        [PARSE_EV_HANDSHAKE_PACKET_DROPPED] = m15,
        [PARSE_EV_HANDSHAKE_INITIATION_SENT] = m16,
        [PARSE_EV_HANDSHAKE_RESPONSE_SENT] = m17,
        [PARSE_EV_COOKIE_RESPONSE_SENT] = m18,
        [PARSE_EV_KEEPALIVE_SENT] = m19,
        [PARSE_EV_HANDSHAKE_GAVE_UP] = m20,
        [PARSE_EV_HANDSHAKE_RETRY] = m21,
        [PARSE_EV_HANDSHAKE_RESTART] = m22,
        [PARSE_EV_KEYS_ZEROED] = m23,
        [PARSE_EV_PEER_CREATED] = m24,
        [PARSE_EV_PEER_DESTROYED] = m25,
        [PARSE_EV_XMIT_INVALID_PACKET] = m26,
        [PARSE_EV_XMIT_NO_ALLOWED_IPS] = m27,
        [PARSE_EV_XMIT_NO_ENDPOINT] = m29,
        [PARSE_EV_INTERFACE_DESTROYED] = m30,
        [PARSE_EV_INTERFACE_CREATED] = m31,
        [PARSE_EV_NETNS_EXITING] = m32,
        [PARSE_EV_KEYPAIR_DESTROYED] = m33,
        [PARSE_EV_KEYPAIR_CREATED] = m34,
        [PARSE_EV_MODULE_LOADED] = m35,
        [PARSE_EV_MODULE_BANNER] = m36,
        [PARSE_EV_SOCKET_CREATE_FAILED] = m37,
        [PARSE_EV_PACKET_GRO_DROPPED] = mgro,
        [PARSE_EV_RATELIMIT_SUPPRESSED] = mrl,
};

struct candidate {
	uint8_t kind;
	uint8_t family;
	const struct parse_seg *segs;
};

/* The interface messages, grouped by their first byte (the dispatch key). */
static const struct candidate by_c[] = {{PARSE_EV_COOKIE_DECRYPT_FAILED, 0, m1},
                                        {PARSE_EV_SOCKET_CREATE_FAILED, 4, m37},
                                        {PARSE_EV_SOCKET_CREATE_FAILED, 6, m38},
                                        {PARSE_EV_NETNS_EXITING, 0, m32},
                                        {0, 0, NULL}};
static const struct candidate by_n[] = {{PARSE_EV_SEND_NO_ROUTE, 0, m2},
                                        {PARSE_EV_XMIT_NO_ALLOWED_IPS, 0, m27},
                                        {PARSE_EV_XMIT_NO_ENDPOINT, 0, m29},
                                        {0, 0, NULL}};
static const struct candidate by_r[] = {{PARSE_EV_KEEPALIVE_RECEIVED, 0, m10},
                                        {PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, 0, m7},
                                        {PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED, 0, m9},
                                        {PARSE_EV_COOKIE_RESPONSE_RECEIVED, 0, m4},
                                        {PARSE_EV_HANDSHAKE_RESTART, 0, m22},
                                        {0, 0, NULL}};
static const struct candidate by_i[] = {{PARSE_EV_HANDSHAKE_MAC_INVALID, 0, m5},
                                        {PARSE_EV_HANDSHAKE_INITIATION_INVALID, 0, m6},
                                        {PARSE_EV_HANDSHAKE_RESPONSE_INVALID, 0, m8},
                                        {PARSE_EV_XMIT_INVALID_PACKET, 0, m26},
                                        {PARSE_EV_INTERFACE_DESTROYED, 0, m30},
                                        {PARSE_EV_INTERFACE_CREATED, 0, m31},
                                        {0, 0, NULL}};
static const struct candidate by_p[] = {{PARSE_EV_PACKET_SRC_UNALLOWED, 0, m11},
                                        {PARSE_EV_PACKET_NOT_IP, 0, m12},
                                        {PARSE_EV_PACKET_SIZE_INVALID, 0, m13},
                                        {PARSE_EV_PACKET_NONCE_INVALID, 0, m14},
                                        {PARSE_EV_PEER_CREATED, 0, m24},
                                        {PARSE_EV_PEER_DESTROYED, 0, m25},
                                        {0, 0, NULL}};
static const struct candidate by_s[] = {{PARSE_EV_KEEPALIVE_SENT, 0, m19},
                                        {PARSE_EV_HANDSHAKE_INITIATION_SENT, 0, m16},
                                        {PARSE_EV_HANDSHAKE_RESPONSE_SENT, 0, m17},
                                        {PARSE_EV_COOKIE_RESPONSE_SENT, 0, m18},
                                        {0, 0, NULL}};
static const struct candidate by_h[] = {
        {PARSE_EV_HANDSHAKE_RETRY, 0, m21}, {PARSE_EV_HANDSHAKE_GAVE_UP, 0, m20}, {0, 0, NULL}};
static const struct candidate by_k[] = {
        {PARSE_EV_KEYPAIR_CREATED, 0, m34}, {PARSE_EV_KEYPAIR_DESTROYED, 0, m33}, {0, 0, NULL}};
static const struct candidate by_d[] = {{PARSE_EV_HANDSHAKE_PACKET_DROPPED, 0, m15}, {0, 0, NULL}};
static const struct candidate by_z[] = {{PARSE_EV_KEYS_ZEROED, 0, m23}, {0, 0, NULL}};
static const struct candidate by_f[] = {{PARSE_EV_PACKET_GRO_DROPPED, 0, mgro}, {0, 0, NULL}};
/* The messages without an interface. */
static const struct candidate module_msgs[] = {
        {PARSE_EV_MODULE_LOADED, 0, m35}, {PARSE_EV_MODULE_BANNER, 0, m36}, {0, 0, NULL}};
static const struct candidate ratelimit_msg[] = {{PARSE_EV_RATELIMIT_SUPPRESSED, 0, mrl},
                                                 {0, 0, NULL}};

static const struct candidate *candidates_for(char first)
{
	switch (first) {
	case 'C': return by_c;
	case 'D': return by_d;
	case 'F': return by_f;
	case 'H': return by_h;
	case 'I': return by_i;
	case 'K': return by_k;
	case 'N': return by_n;
	case 'P': return by_p;
	case 'R': return by_r;
	case 'S': return by_s;
	case 'Z': return by_z;
	default: return NULL;
	}
}

/* Short literals are compared inline; a libc call costs more than they do. */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
	if (n >= 16)
		return !memcmp(a, b, n);
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* One field of a template: read it at the cursor into the event. */
static int field(struct cursor *c, int seg, struct parse_event *ev)
{
	const char *start = c->p;
	int64_t i;
	int rc;

	switch (seg) {
	case SEG_PEER: return number_u64(c, &ev->peer);
	case SEG_NONCE:
	case SEG_KEYPAIR: return number_u64(c, &ev->n[0]);
	case SEG_NONCE_MAX: return number_u64(c, &ev->n[1]);
	case SEG_ERROR:
	case SEG_ATTEMPTS:
	case SEG_SECONDS:
	case SEG_COUNT:
	case SEG_TRY:
		rc = number_int(c, &i);
		ev->n[seg == SEG_TRY] = (uint64_t)i;
		return rc;
	case SEG_ENDPOINT:
		rc = endpoint(c, &ev->endpoint);
		ev->endpoint_text = start;
		ev->endpoint_len = (uint8_t)(c->p - start);
		return rc;
	case SEG_ADDR_C:
	case SEG_ADDR_FULL:
		rc = inner_addr(
		        c, seg == SEG_ADDR_C ? PARSE_STYLE_COMPRESSED : PARSE_STYLE_UNCOMPRESSED,
		        &ev->addr);
		ev->addr_text = start;
		ev->addr_len = (uint8_t)(c->p - start);
		return rc;
	case SEG_VERSION:
		while (c->p < c->end && c->p - start <= PARSE_VERSION_MAX && *c->p != ' ' &&
		       (unsigned char)*c->p > ' ' && *c->p != 0x7f)
			c->p++;
		if (c->p == start || c->p - start > PARSE_VERSION_MAX)
			return c->p >= c->end ? PARSE_REJECT_TRUNCATED : MISMATCH;
		ev->version = start;
		ev->version_len = (uint8_t)(c->p - start);
		return PARSE_OK;
	}
	return MISMATCH;
}

/* Match one template against the whole rest of the line. */
static int template_match(struct cursor c, const struct parse_seg *seg, struct parse_event *ev,
                          size_t *progress)
{
	const char *begin = c.p;
	unsigned fields = 0;
	int rc = PARSE_OK;

	for (; seg->type != SEG_END; seg++) {
		fields |= parse_seg_field[seg->type];
		if (seg->type == SEG_LIT) {
			size_t avail = (size_t)(c.end - c.p);

			if (avail < seg->len) {
				rc = memcmp(c.p, seg->text, avail) ? MISMATCH
				                                   : PARSE_REJECT_TRUNCATED;
				break;
			}
			if (!bytes_eq(c.p, seg->text, seg->len)) {
				rc = MISMATCH;
				break;
			}
			c.p += seg->len;
			continue;
		}
		rc = field(&c, seg->type, ev);
		if (rc)
			break;
	}
	if (!rc && c.p != c.end)
		rc = MISMATCH; /* trailing bytes: not this message */
	*progress = (size_t)(c.p - begin);
	if (!rc)
		ev->fields |= (uint16_t)fields;
	return rc;
}

/*
 * Try every candidate; the first that matches wins. If none does, the
 * failure of the candidate that got furthest names the reason (a line that
 * read "Peer 17" and then stopped is truncated, not unknown).
 */
static int message_match(struct cursor c, const struct candidate *cand, struct parse_event *ev)
{
	int best = PARSE_REJECT_UNKNOWN_MESSAGE;
	size_t best_progress = 0;

	for (; cand && cand->segs; cand++) {
		size_t progress;
		int rc = template_match(c, cand->segs, ev, &progress);

		if (rc == PARSE_OK) {
			ev->kind = cand->kind;
			if (cand->family) {
				ev->n[0] = cand->family;
				ev->fields |= PARSE_F_FAMILY;
			}
			return PARSE_OK;
		}
		if (progress > best_progress || (best == PARSE_REJECT_UNKNOWN_MESSAGE && rc > 0)) {
			best_progress = progress;
			best = rc == MISMATCH ? PARSE_REJECT_UNKNOWN_MESSAGE : rc;
		}
	}
	return best;
}

/* ------------------------------------------------------------- interface */

static inline bool iface_byte_ok(unsigned char b)
{
	/* dev_valid_name(): no '/', ':', NUL, or byte the kernel's isspace() accepts. */
	return b != '/' && b != ':' && b != ' ' && (b < '\t' || b > '\r') && b != 0xA0 && b;
}

/*
 * The interface name, up to the first ':' (which dev_valid_name forbids in
 * names), then ' '. /dev/kmsg escapes bytes as \xNN: undo that for kmsg lines.
 */
static int iface(struct cursor *c, bool kmsg, struct parse_event *ev)
{
	unsigned n = 0;

	while (c->p < c->end && *c->p != ':') {
		unsigned char b = (unsigned char)*c->p++;

		if (kmsg && b == '\\') {
			int hi, lo;

			if (c->end - c->p < 3 || c->p[0] != 'x' || (hi = hex_value(c->p[1])) < 0 ||
			    (lo = hex_value(c->p[2])) < 0)
				return PARSE_REJECT_BAD_IFACE;
			b = (unsigned char)(hi << 4 | lo);
			c->p += 3;
		}
		if (!iface_byte_ok(b) || n == PARSE_IFACE_MAX)
			return PARSE_REJECT_BAD_IFACE;
		ev->iface[n++] = (char)b;
	}
	if (c->p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (!n || (n == 1 && ev->iface[0] == '.') ||
	    (n == 2 && ev->iface[0] == '.' && ev->iface[1] == '.'))
		return PARSE_REJECT_BAD_IFACE;
	c->p++;
	if (c->p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (*c->p++ != ' ')
		return PARSE_REJECT_BAD_IFACE;
	ev->iface[n] = '\0';
	ev->iface_len = (uint8_t)n;
	return PARSE_OK;
}

/* Everything after "wireguard: ": a module line, or "IFACE: message". */
static int wireguard_body(struct cursor c, bool kmsg, struct parse_event *ev)
{
	int rc;

	if (AT(&c, "WireGuard ") || AT(&c, "Copyright "))
		return message_match(c, module_msgs, ev);
	rc = iface(&c, kmsg, ev);
	if (rc)
		return rc;
	if (c.p >= c.end)
		return PARSE_REJECT_TRUNCATED;
	return message_match(c, candidates_for(*c.p), ev);
}

/* ------------------------------------------------------------ decoration */

/* Forget what a failed reading stored; keep what the envelope found. */
static void message_reset(struct parse_event *ev)
{
	const char *host = ev->host;
	uint8_t host_len = ev->host_len;

	event_clear(ev);
	ev->host = host;
	ev->host_len = host_len;
}

/* How far a failed reading got: later stages make better explanations. */
static int reject_depth(int rc)
{
	switch (rc) {
	case PARSE_REJECT_NOT_WIREGUARD: return 0;
	case PARSE_REJECT_BAD_IFACE: return 1;
	case PARSE_REJECT_UNKNOWN_MESSAGE: return 2;
	default: return 3;
	}
}

/* Module, function, source path and line tokens: [A-Za-z0-9_./-] and ':'. */
static inline bool is_decoration_byte(char b)
{
	return is_alnum(b) || b == '_' || b == '.' || b == '/' || b == '-' || b == ':';
}

#define WIREGUARD_PREFIX "wireguard: "

/*
 * The optional dynamic-debug decoration (spec §7), then "wireguard: ".
 * "<intr> " or "[tid] " may come first; then one space-free word of
 * colon-terminated tokens (module, function, file, line) and a space. With
 * the m flag and an interface named "wireguard", "wireguard: " can open both
 * readings, so both are tried and the one that parses the whole line wins.
 */
static int decorated(struct cursor c, bool kmsg, struct parse_event *ev)
{
	struct cursor word;
	int plain = PARSE_REJECT_NOT_WIREGUARD, deco;

	if (AT(&c, "<intr> ")) {
		c.p += sizeof("<intr> ") - 1;
	} else if (AT(&c, "[")) {
		const char *q = c.p + 1;

		while (q < c.end && is_digit(*q))
			q++;
		if (q > c.p + 1 && q + 1 < c.end && q[0] == ']' && q[1] == ' ')
			c.p = q + 2;
	}
	if (AT(&c, WIREGUARD_PREFIX)) {
		struct cursor body = {c.p + sizeof(WIREGUARD_PREFIX) - 1, c.end};

		plain = wireguard_body(body, kmsg, ev);
		if (plain == PARSE_OK)
			return PARSE_OK;
	}
	word = c;
	while (word.p < word.end && is_decoration_byte(*word.p))
		word.p++;
	if (word.p == c.p || word.p[-1] != ':' || word.p >= word.end || *word.p != ' ')
		goto no_decoration;
	word.p++;
	if (!AT(&word, WIREGUARD_PREFIX))
		goto no_decoration;
	word.p += sizeof(WIREGUARD_PREFIX) - 1;
	message_reset(ev); /* undo the first reading */
	deco = wireguard_body(word, kmsg, ev);
	if (deco == PARSE_OK || reject_depth(deco) >= reject_depth(plain))
		return deco;
no_decoration:
	if (plain == PARSE_REJECT_NOT_WIREGUARD && AT(&c, "net_ratelimit: "))
		return message_match(c, ratelimit_msg, ev);
	return plain;
}

/* "[ 5123.456789]" and/or "[ T1234]" / "[ C3]" (CONFIG_PRINTK_CALLER). */
static bool kernel_timestamp(struct cursor *c)
{
	const char *p = c->p + 1;
	int frac = 0;

	if (!AT(c, "["))
		return false;
	while (p < c->end && *p == ' ')
		p++;
	if (p >= c->end || !is_digit(*p))
		return false;
	while (p < c->end && is_digit(*p))
		p++;
	if (p >= c->end || *p++ != '.')
		return false;
	while (p < c->end && is_digit(*p) && frac < 7)
		p++, frac++;
	if (frac != 6 || p >= c->end || *p != ']')
		return false;
	c->p = p + 1;
	return true;
}

static bool kernel_caller(struct cursor *c)
{
	const char *p = c->p + 1;
	const char *digits;

	if (!AT(c, "["))
		return false;
	while (p < c->end && *p == ' ')
		p++;
	if (p >= c->end || (*p != 'T' && *p != 'C'))
		return false;
	digits = ++p;
	while (p < c->end && is_digit(*p))
		p++;
	if (p == digits || p >= c->end || *p != ']')
		return false;
	c->p = p + 1;
	return true;
}

/* The kernel's text after any envelope: timestamp, caller, decoration. */
static int kernel_text(struct cursor c, bool kmsg, struct parse_event *ev)
{
	bool stamped;

	skip_spaces(&c);
	stamped = kernel_timestamp(&c);
	if (kernel_caller(&c) || stamped) {
		if (!AT(&c, " "))
			return PARSE_REJECT_NOT_WIREGUARD;
		skip_spaces(&c);
	}
	return decorated(c, kmsg, ev);
}

/* rsyslog's " message repeated N times: [ MSG]" around a syslog MSG. */
static int syslog_msg(struct cursor c, struct parse_event *ev)
{
	int64_t n;
	int rc;

	skip_spaces(&c);
	if (!AT(&c, "message repeated "))
		return kernel_text(c, false, ev);
	c.p += sizeof("message repeated ") - 1;
	rc = number_int(&c, &n);
	if (rc)
		return rc;
	if (n < 1)
		return PARSE_REJECT_BAD_NUMBER;
	if (!AT(&c, " times: ["))
		return c.end - c.p < 9 ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_NOT_WIREGUARD;
	c.p += sizeof(" times: [") - 1;
	if (c.p >= c.end || c.end[-1] != ']')
		return PARSE_REJECT_TRUNCATED;
	c.end--;
	rc = kernel_text(c, false, ev);
	ev->repeat = (uint32_t)n;
	ev->fields |= PARSE_F_REPEAT;
	return rc;
}

/* ------------------------------------------------------------- envelopes */

static bool two_digits(const char *p, unsigned *out)
{
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return false;
	*out = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	return true;
}

static unsigned days_in_month(unsigned month, unsigned year_or_0)
{
	static const unsigned char days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = !year_or_0 || (year_or_0 % 4 == 0 && (year_or_0 % 100 || year_or_0 % 400 == 0));

	return month == 2 && !leap ? 28 : days[month - 1];
}

/* "hh:mm:ss" */
static bool clock_time(const char *p, unsigned max_sec)
{
	unsigned h, m, s;

	return two_digits(p, &h) && p[2] == ':' && two_digits(p + 3, &m) && p[5] == ':' &&
	       two_digits(p + 6, &s) && h < 24 && m < 60 && s <= max_sec;
}

/* RFC 3164 "Mmm dd hh:mm:ss " (the day space-padded); no year, so Feb 29 is fine. */
static int date_3164(struct cursor *c)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = c->p;
	unsigned month = 0, day;

	if (c->end - p < 16)
		return PARSE_REJECT_TRUNCATED;
	for (unsigned i = 0; i < 12 && !month; i++)
		if (p[0] == months[3 * i] && p[1] == months[3 * i + 1] && p[2] == months[3 * i + 2])
			month = i + 1;
	if (!month || p[3] != ' ' || p[6] != ' ' || p[15] != ' ')
		return PARSE_REJECT_BAD_ENVELOPE;
	if (p[4] == ' ' && is_digit(p[5]))
		day = (unsigned)(p[5] - '0');
	else if (!two_digits(p + 4, &day))
		return PARSE_REJECT_BAD_ENVELOPE;
	if (!day || day > days_in_month(month, 0) || !clock_time(p + 7, 59))
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 16;
	return PARSE_OK;
}

/* Two digits known to be digits. */
static inline unsigned d2(const char *p)
{
	return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

/* RFC 3339 "YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm) " */
static int date_3339(struct cursor *c)
{
	const char *p = c->p;
	unsigned year, month, day;

	if (c->end - p < 21)
		return PARSE_REJECT_TRUNCATED;
#define D(i) is_digit(p[i])
	if (!(D(0) && D(1) && D(2) && D(3) && p[4] == '-' && D(5) && D(6) && p[7] == '-' && D(8) &&
	      D(9) && p[10] == 'T' && D(11) && D(12) && p[13] == ':' && D(14) && D(15) &&
	      p[16] == ':' && D(17) && D(18)))
		return PARSE_REJECT_BAD_ENVELOPE;
#undef D
	year = d2(p) * 100 + d2(p + 2);
	month = d2(p + 5);
	day = d2(p + 8);
	if (!month || month > 12 || !day || day > days_in_month(month, year ?: 2000) ||
	    d2(p + 11) > 23 || d2(p + 14) > 59 || d2(p + 17) > 60)
		return PARSE_REJECT_BAD_ENVELOPE;
	p += 19;
	if (*p == '.') {
		const char *digits = ++p;

		while (p < c->end && is_digit(*p) && p - digits < 10)
			p++;
		if (p == digits || p - digits > 9)
			return PARSE_REJECT_BAD_ENVELOPE;
	}
	if (p < c->end && *p == 'Z') {
		p++;
	} else {
		if (c->end - p < 6 || (*p != '+' && *p != '-') || !is_digit(p[1]) ||
		    !is_digit(p[2]) || p[3] != ':' || !is_digit(p[4]) || !is_digit(p[5]) ||
		    d2(p + 1) > 23 || d2(p + 4) > 59)
			return PARSE_REJECT_BAD_ENVELOPE;
		p += 6;
	}
	if (p >= c->end || *p != ' ')
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 1;
	return PARSE_OK;
}

/* A space-free token; returns its length (0 if none) and skips one space. */
static size_t token(struct cursor *c, const char **start)
{
	const char *p = c->p;

	while (p < c->end && *p != ' ')
		p++;
	*start = c->p;
	c->p = p < c->end ? p + 1 : p;
	return (size_t)(p - *start);
}

static int hostname(struct cursor *c, struct parse_event *ev)
{
	const char *h = c->p, *p = h, *end = c->end;

	while (p < end && *p != ' ') {
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return PARSE_REJECT_BAD_ENVELOPE;
		p++;
	}
	if (p == h || p >= end)
		return PARSE_REJECT_TRUNCATED;
	if (p - h > PARSE_HOST_MAX)
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 1;
	if (p - h == 1 && h[0] == '-')
		return PARSE_OK; /* RFC 5424 NILVALUE: no host */
	ev->host = h;
	ev->host_len = (uint8_t)(p - h);
	return PARSE_OK;
}

/* The syslog TAG: only the kernel ("kernel:" or "kernel[0]:") logs WireGuard lines. */
static int kernel_tag(struct cursor *c)
{
	if (AT(c, "kernel:")) {
		c->p += sizeof("kernel:") - 1;
	} else if (AT(c, "kernel[")) {
		c->p += sizeof("kernel[") - 1;
		while (c->p < c->end && is_digit(*c->p))
			c->p++;
		if (!AT(c, "]:"))
			return PARSE_REJECT_NOT_WIREGUARD;
		c->p += 2;
	} else {
		return c->p >= c->end ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_NOT_WIREGUARD;
	}
	return PARSE_OK;
}

/* After an RFC 3164 or RFC 3339 date: "HOST TAG MSG". */
static int syslog_3164_rest(struct cursor c, struct parse_event *ev)
{
	int rc = hostname(&c, ev);

	if (!rc)
		rc = kernel_tag(&c);
	return rc ? rc : syslog_msg(c, ev);
}

/* RFC 5424 STRUCTURED-DATA: "-" or one or more [id param="value"…] elements. */
static int structured_data(struct cursor *c)
{
	if (AT(c, "-")) {
		c->p++;
		return PARSE_OK;
	}
	if (!AT(c, "["))
		return PARSE_REJECT_BAD_ENVELOPE;
	while (AT(c, "[")) {
		bool quoted = false;

		for (c->p++; c->p < c->end; c->p++) {
			if (quoted && *c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			else if (*c->p == '"')
				quoted = !quoted;
			else if (!quoted && *c->p == ']')
				break;
		}
		if (c->p >= c->end)
			return PARSE_REJECT_TRUNCATED;
		c->p++;
	}
	return PARSE_OK;
}

/* "<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID SD MSG", APP-NAME = kernel. */
static int syslog_5424(struct cursor c, struct parse_event *ev)
{
	const char *t;
	size_t n;
	int rc;

	if (AT(&c, "- "))
		c.p += 2;
	else if ((rc = date_3339(&c)))
		return rc;
	if ((rc = hostname(&c, ev)))
		return rc;
	n = token(&c, &t);
	if (n != 6 || memcmp(t, "kernel", 6))
		return c.p >= c.end ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_NOT_WIREGUARD;
	token(&c, &t); /* PROCID */
	token(&c, &t); /* MSGID */
	if (c.p >= c.end)
		return PARSE_REJECT_TRUNCATED;
	if ((rc = structured_data(&c)))
		return rc;
	return syslog_msg(c, ev);
}

/* "<PRI>": 1–3 digits, at most 191 (facility 23, severity 7). */
static int syslog_pri(struct cursor *c, unsigned *pri)
{
	const char *p = c->p + 1;
	unsigned v = 0;
	int n = 0;

	while (p < c->end && is_digit(*p) && n < 4)
		v = v * 10 + (unsigned)(*p++ - '0'), n++;
	if (!n || n > 3 || p >= c->end || *p != '>' || v > 191 || (n > 1 && c->p[1] == '0'))
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 1;
	*pri = v;
	return PARSE_OK;
}

static bool looks_like_3339(const struct cursor *c)
{
	return c->end - c->p >= 5 && is_digit(c->p[0]) && is_digit(c->p[1]) && is_digit(c->p[2]) &&
	       is_digit(c->p[3]) && c->p[4] == '-';
}

static bool looks_like_3164(const struct cursor *c)
{
	return c->end - c->p >= 4 && c->p[0] >= 'A' && c->p[0] <= 'Z' && c->p[1] >= 'a' &&
	       c->p[1] <= 'z' && c->p[2] >= 'a' && c->p[2] <= 'z' && c->p[3] == ' ';
}

/* The envelopes with a date: RFC 5424, RFC 3339 (rsyslog), RFC 3164, or none. */
static int syslog_after_pri(struct cursor c, struct parse_event *ev)
{
	int rc;

	if (AT(&c, "1 "))
		return syslog_5424((struct cursor){c.p + 2, c.end}, ev);
	if (looks_like_3339(&c)) {
		rc = date_3339(&c);
		return rc ? rc : syslog_3164_rest(c, ev);
	}
	if (looks_like_3164(&c)) {
		rc = date_3164(&c);
		return rc ? rc : syslog_3164_rest(c, ev);
	}
	return kernel_text(c, false, ev); /* /proc/kmsg, dmesg -r */
}

/* A decimal header field of /dev/kmsg and the ',' after it. */
static bool kmsg_number(struct cursor *c, uint64_t *out)
{
	const char *p = c->p;
	uint64_t v = 0;

	while (p < c->end && is_digit(*p) && p - c->p < 20)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == c->p || p >= c->end || *p != ',')
		return false;
	c->p = p + 1;
	*out = v;
	return true;
}

/* /dev/kmsg: "PREFIX,SEQ,USEC,FLAG[,more];TEXT" (Documentation/ABI/testing/dev-kmsg). */
static int kmsg_record(struct cursor c, struct parse_event *ev)
{
	uint64_t prefix, seq, usec;
	const char *fields;

	if (!kmsg_number(&c, &prefix) || !kmsg_number(&c, &seq) || !kmsg_number(&c, &usec))
		return PARSE_REJECT_BAD_ENVELOPE;
	if (c.p >= c.end || (*c.p != '-' && *c.p != 'c' && *c.p != '+'))
		return PARSE_REJECT_BAD_ENVELOPE;
	fields = ++c.p;
	while (c.p < c.end && *c.p != ';' && *c.p != ' ' && c.p - fields < 64)
		c.p++;
	if (c.p >= c.end || *c.p != ';' || (c.p > fields && *fields != ','))
		return PARSE_REJECT_BAD_ENVELOPE;
	c.p++;
	if (prefix >= 8) /* userspace writes to /dev/kmsg get facility LOG_USER */
		return PARSE_REJECT_SPOOFED_FACILITY;
	return kernel_text(c, true, ev);
}

/* dmesg -x: "kern  :debug : TEXT" ("%-6s:%-6s: "). */
static int dmesg_decoded(struct cursor c, struct parse_event *ev)
{
	static const char *const levels[] = {"emerg", "alert",  "crit", "err",
	                                     "warn",  "notice", "info", "debug"};
	const char *p = c.p + 7;
	size_t n;

	for (n = 0; p + n < c.end && p[n] >= 'a' && p[n] <= 'z'; n++)
		;
	for (size_t i = 0; i < 8; i++) {
		if (strlen(levels[i]) != n || memcmp(p, levels[i], n))
			continue;
		for (p += n; p < c.end && *p == ' '; p++)
			;
		if (c.end - p < 2 || p[0] != ':' || p[1] != ' ')
			break;
		if (memcmp(c.p, "kern  :", 7))
			return PARSE_REJECT_SPOOFED_FACILITY;
		return kernel_text((struct cursor){p + 2, c.end}, false, ev);
	}
	return PARSE_REJECT_NOT_WIREGUARD;
}

static bool looks_like_dmesg_decoded(const struct cursor *c)
{
	static const char *const facilities[] = {"kern  :", "user  :", "mail  :", "daemon:",
	                                         "auth  :", "syslog:", "lpr   :", "news  :"};

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (at(c, facilities[i], 7))
			return true;
	return false;
}

static bool looks_like_line_number(const struct cursor *c)
{
	const char *p = c->p;

	while (p < c->end && is_digit(*p))
		p++;
	return c->end - p >= 2 && p[0] == ':' && p[1] == ' ';
}

static int envelope(struct cursor c, struct parse_event *ev)
{
	unsigned pri;
	int rc;

	switch (*c.p) {
	case '<':
		if (AT(&c, "<intr> ")) /* a bare line with the t decoration */
			return kernel_text(c, false, ev);
		if ((rc = syslog_pri(&c, &pri)))
			return rc;
		rc = syslog_after_pri(c, ev);
		/* The envelope itself must be sound before its PRI is judged. */
		if (rc == PARSE_REJECT_BAD_ENVELOPE || pri < 8)
			return rc;
		return PARSE_REJECT_SPOOFED_FACILITY;
	case '0' ... '9':
		if (looks_like_3339(&c)) {
			rc = date_3339(&c);
			return rc ? rc : syslog_3164_rest(c, ev);
		}
		if (looks_like_line_number(&c)) /* the l decoration: "237: wireguard: …" */
			return kernel_text(c, false, ev);
		return kmsg_record(c, ev);
	case 'A' ... 'Z':
		if (looks_like_3164(&c)) {
			rc = date_3164(&c);
			return rc ? rc : syslog_3164_rest(c, ev);
		}
		return kernel_text(c, false, ev);
	default:
		if (looks_like_dmesg_decoded(&c))
			return dmesg_decoded(c, ev);
		return kernel_text(c, false, ev);
	}
}

int parse_line(const char *line, size_t len, struct parse_event *ev)
{
	int rc;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > PARSE_LINE_MAX)
		return PARSE_REJECT_TOO_LONG;
	event_clear(ev);
	/* Empty lines and /dev/kmsg continuation lines (" SUBSYSTEM=…") are not events. */
	if (!len || line[0] == ' ')
		return PARSE_REJECT_NOT_WIREGUARD;
	rc = envelope((struct cursor){line, line + len}, ev);
	return rc;
}
