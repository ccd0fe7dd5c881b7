/* SPDX-License-Identifier: MIT */
/*
 * gen — deterministic synthetic WireGuard kernel lines (see gen.h). A line is
 * built in two steps: the kernel text ("wireguard: wg0: …", with an optional
 * dynamic-debug decoration) into g->body, then the envelope around it into
 * g->line. Everything random comes from one xoshiro256** stream seeded by
 * splitmix64, so the output depends only on the options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen.h"

#define GEN_BODY_MAX 1024 /* the longest kernel text is well under 300 bytes */
#define GEN_TOO_LONG 4200 /* a broken line longer than PARSE_LINE_MAX */

/* Timing model: each line advances the clock by 0 … 2 ms; hosts booted 20 s … 400 days ago. */
#define GEN_STEP_US_MAX  2000
#define GEN_UPTIME_S_MAX (400ull * 86400)
#define GEN_EPOCH_MIN    1546300800ull /* 2019-01-01T00:00:00Z */
#define GEN_EPOCH_SPAN   (15ull * 365 * 86400)

/* How rarely a peer's endpoint moves (NAT rebinding), per line that shows it. */
#define GEN_REBIND_PORT_PER 1000
#define GEN_REBIND_ADDR_PER 5000

struct gen_host {
	char name[GEN_HOST_MAX + 1];
	int tz_min; /* UTC offset of the host's local time, minutes */
	uint64_t boot_us;
	uint64_t kmsg_seq;
	uint64_t keypair_next; /* the host's global keypair counter */
};

struct gen_iface {
	char name[PARSE_IFACE_MAX + 1];
};

struct gen_peer {
	uint64_t id;
	struct parse_endpoint ep;
	uint32_t host;
	uint32_t iface;
	uint64_t keypair; /* its current keypair id, 0 before the first */
};

struct gen {
	struct gen_opts o;
	uint64_t s[4]; /* xoshiro256** state */
	uint64_t made;
	uint64_t now_us; /* UTC wall clock of the current line */
	struct gen_host *hosts;
	struct gen_iface *ifaces;
	struct gen_peer *peers;
	unsigned weight_total; /* sum of gen_msgs[].weight */
	struct gen_truth truth;
	size_t body_len;
	char body[GEN_BODY_MAX];
	char line[GEN_LINE_MAX];
};

/* A bounded writer: output past the end is dropped, never written. */
struct gen_out {
	char *p;
	char *end;
};

/* ---------------------------------------------------------------- randomness */

static uint64_t gen_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t gen_rand(struct gen *g)
{
	uint64_t *s = g->s;
	uint64_t r = gen_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = gen_rotl(s[3], 45);
	return r;
}

/* Uniform in [0, n) (multiply-shift; the bias is far below anything we measure). */
static uint64_t gen_below(struct gen *g, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)gen_rand(g) * n) >> 64);
}

static int gen_chance(struct gen *g, double p)
{
	return (double)(gen_rand(g) >> 11) * 0x1.0p-53 < p;
}

static uint64_t gen_range(struct gen *g, uint64_t lo, uint64_t hi)
{
	return lo + gen_below(g, hi - lo + 1);
}

/* Picks index i with probability w[i] / sum(w). */
static unsigned gen_pick(struct gen *g, const uint16_t *w, unsigned n, unsigned total)
{
	uint64_t r = gen_below(g, total);
	unsigned i;

	for (i = 0; i + 1 < n && r >= w[i]; i++)
		r -= w[i];
	return i;
}

/* Little-endian bytes of a random word, so the output does not depend on the host's byte order. */
static void gen_rand_bytes(struct gen *g, uint8_t *dst, size_t n)
{
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++, r >>= 8) {
		if (i % 8 == 0)
			r = gen_rand(g);
		dst[i] = (uint8_t)r;
	}
}

/* ---------------------------------------------------------------- output */

static void out_mem(struct gen_out *w, const void *s, size_t n)
{
	size_t room = (size_t)(w->end - w->p);

	if (n > room)
		n = room;
	memcpy(w->p, s, n);
	w->p += n;
}

static void out_str(struct gen_out *w, const char *s)
{
	out_mem(w, s, strlen(s));
}

static void out_ch(struct gen_out *w, char c)
{
	if (w->p < w->end)
		*w->p++ = c;
}

/* Decimal, at least `width` digits wide, padded with `pad` (' ' or '0'). */
static void out_u64w(struct gen_out *w, uint64_t v, int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (width-- > n)
		out_ch(w, pad);
	while (n)
		out_ch(w, tmp[--n]);
}

static void out_u64(struct gen_out *w, uint64_t v)
{
	out_u64w(w, v, 0, ' ');
}

static void out_i64(struct gen_out *w, int64_t v)
{
	if (v < 0) {
		out_ch(w, '-');
		out_u64(w, -(uint64_t)v);
	} else {
		out_u64(w, (uint64_t)v);
	}
}

/* A 16-bit word in lowercase hex, no leading zeros but at least `width` digits. */
static void out_hex(struct gen_out *w, unsigned v, int width)
{
	static const char hex[] = "0123456789abcdef";
	int digits = 1;

	while (digits < 4 && (v >> (4 * digits)))
		digits++;
	if (digits < width)
		digits = width;
	while (digits--)
		out_ch(w, hex[(v >> (4 * digits)) & 0xf]);
}

/* ---------------------------------------------------------------- addresses */

static void out_ipv4(struct gen_out *w, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			out_ch(w, '.');
		out_u64(w, a[i]);
	}
}

static unsigned gen_word(const uint8_t *a, int i)
{
	return (unsigned)a[2 * i] << 8 | a[2 * i + 1];
}

/* v4-mapped (::ffff:0:0/96) or ISATAP (interface id 0000:5efe or 0200:5efe). */
static int gen_ipv6_tail_is_ipv4(const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!memcmp(a, mapped, 12))
		return 1;
	return (a[8] | 0x02) == 0x02 && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe;
}

/*
 * %pI6c as lib/vsprintf.c prints it: lowercase, no leading zeros, the first
 * longest run of two or more zero words as "::", dotted IPv4 for the last 32
 * bits of v4-mapped and ISATAP addresses.
 */
static void out_ipv6c(struct gen_out *w, const uint8_t *a)
{
	int v4 = gen_ipv6_tail_is_ipv4(a);
	int words = v4 ? 6 : 8;
	int best = -1, best_len = 1, colon = 0;

	for (int i = 0; i < words; i++) {
		int n = 0;

		while (i + n < words && gen_word(a, i + n) == 0)
			n++;
		if (n > best_len) {
			best = i;
			best_len = n;
		}
	}
	for (int i = 0; i < words; i++) {
		if (i == best) { /* the previous word, if any, left no ':' of its own */
			out_str(w, "::");
			colon = 0;
			i += best_len - 1;
			continue;
		}
		if (colon)
			out_ch(w, ':');
		out_hex(w, gen_word(a, i), 1);
		colon = 1;
	}
	if (v4) {
		if (colon)
			out_ch(w, ':');
		out_ipv4(w, a + 12);
	}
}

/* %pI6: eight groups of four hex digits, never compressed. */
static void out_ipv6_full(struct gen_out *w, const uint8_t *a)
{
	for (int i = 0; i < 8; i++) {
		if (i)
			out_ch(w, ':');
		out_hex(w, gen_word(a, i), 4);
	}
}

static void out_endpoint(struct gen_out *w, const struct parse_endpoint *ep, int style)
{
	if (ep->af == PARSE_AF_INET) {
		out_ipv4(w, ep->addr);
		if (style != PARSE_STYLE_ENDPOINT)
			return;
		out_ch(w, ':');
		out_u64(w, ep->port);
	} else if (ep->af == PARSE_AF_INET6) {
		if (style == PARSE_STYLE_UNCOMPRESSED) {
			out_ipv6_full(w, ep->addr);
			return;
		}
		if (style == PARSE_STYLE_COMPRESSED) {
			out_ipv6c(w, ep->addr);
			return;
		}
		out_ch(w, '[');
		out_ipv6c(w, ep->addr);
		out_str(w, "]:");
		out_u64(w, ep->port);
		out_ch(w, '/');
		out_u64(w, ep->flowinfo);
		out_ch(w, '%');
		out_u64(w, ep->scope);
	} else {
		out_str(w, "(einval)");
	}
}

size_t gen_endpoint_format(const struct parse_endpoint *ep, int style, char *buf, size_t cap)
{
	struct gen_out w;

	if (cap < GEN_EP_TEXT_MAX)
		return 0;
	w = (struct gen_out){buf, buf + cap - 1};
	out_endpoint(&w, ep, style);
	*w.p = '\0';
	return (size_t)(w.p - buf);
}

/* ---------------------------------------------------------------- population */

static const char *const gen_sites[] = {"par", "ams", "fra", "lon", "sin", "nyc", "ber", "sfo"};
#define GEN_SITES (sizeof(gen_sites) / sizeof(gen_sites[0]))

static void gen_name(char *dst, size_t cap, const char *a, const char *b, uint64_t n, int width,
                     const char *c)
{
	struct gen_out w = {dst, dst + cap - 1};

	out_str(&w, a);
	out_str(&w, b);
	out_u64w(&w, n, width, '0');
	out_str(&w, c);
	*w.p = '\0';
}

/* Interface k: 1–15 bytes, no ':', '/' or space; distinct for distinct k. */
static void gen_iface_name(char *dst, uint64_t seed, uint64_t k)
{
	const char *site = gen_sites[gen_mix64(seed ^ (k << 8)) % GEN_SITES];
	size_t cap = PARSE_IFACE_MAX + 1;

	if (k < 2) {
		gen_name(dst, cap, "wg", "", k, 0, "");
		return;
	}
	if (k == 2) {
		strcpy(dst, "wireguard"); /* a legal name that collides with the prefix */
		return;
	}
	switch (gen_mix64(seed + k * 0x9e3779b97f4a7c15ull) % 8) {
	case 0: gen_name(dst, cap, "wg", "", k, 0, ""); break;
	case 1: gen_name(dst, cap, "wg-tenant", "", k, 0, ""); break;
	case 2: gen_name(dst, cap, "wg_cust_", "", k, 4, ""); break;
	case 3: gen_name(dst, cap, "tun-wg", "", k, 0, ""); break;
	case 4: gen_name(dst, cap, "vpn-", site, k, 0, ""); break;
	case 5: gen_name(dst, cap, "wg-\xc3\xbc", "", k, 0, ""); break; /* UTF-8 "wg-ü" */
	case 6: gen_name(dst, cap, "wg.", "", k, 0, "_a@"); break;
	default: gen_name(dst, cap, "wg-", "", k, 12, ""); break; /* exactly 15 bytes */
	}
}

static void gen_host_name(char *dst, uint64_t seed, uint64_t h)
{
	const char *site = gen_sites[gen_mix64(seed ^ (h << 16)) % GEN_SITES];
	size_t cap = GEN_HOST_MAX + 1;

	if (h == 0) {
		strcpy(dst, "gw1");
		return;
	}
	switch (gen_mix64(seed * 31 + h) % 6) {
	case 0: gen_name(dst, cap, "gw", "", h + 1, 0, ""); break;
	case 1: gen_name(dst, cap, "vpn-edge-", "", h, 2, ""); break;
	case 2: gen_name(dst, cap, "concentrator-", site, h, 0, ""); break;
	case 3: gen_name(dst, cap, site, "", h, 0, ".example.org"); break;
	case 4: gen_name(dst, cap, "ng-relay", "", h, 0, ""); break;
	default: gen_name(dst, cap, "edge-", site, h, 2, ".dc2.example.com"); break;
	}
}

/*
 * Peer i's id. Ids fall in three disjoint bands, each increasing with i, so
 * they are distinct: small (1 + i), mid (around 2^32) and huge (above 2^53,
 * where a double loses precision). Three ids are pinned to the edges.
 */
static uint64_t gen_peer_id(uint64_t seed, uint64_t i, uint64_t peers)
{
	const uint64_t huge = (1ull << 53) + 1;
	uint64_t h = gen_mix64(seed ^ gen_mix64(i + 1));
	uint64_t stride;

	if (i == 1)
		return UINT64_MAX;
	if (i == 2)
		return huge;
	switch (i == 0 ? 0 : h % 10) {
	case 6:
	case 7: return (1ull << 32) + i * 1024 + (h >> 32) % 1024;
	case 8:
	case 9:
		stride = (UINT64_MAX - huge) / (peers + 1);
		return huge + i * stride + (h >> 8) % stride;
	default: return 1 + i;
	}
}

/* Documentation, CGNAT and private prefixes, or anything in 1.0.0.0 … 223.255.255.255. */
static void gen_rand_ipv4(struct gen *g, uint8_t *a)
{
	gen_rand_bytes(g, a, 4);
	switch (gen_below(g, 8)) {
	case 0: a[0] = 203, a[1] = 0, a[2] = 113; break;
	case 1: a[0] = 198, a[1] = 51, a[2] = 100; break;
	case 2: a[0] = 100, a[1] = (uint8_t)(64 + a[1] % 64); break;
	case 3: a[0] = 192, a[1] = 168; break;
	case 4: a[0] = 10; break;
	default: a[0] = (uint8_t)(1 + a[0] % 223); break;
	}
}

/* IPv6 with realistic zero runs; sets the scope for link-local addresses. */
static void gen_rand_ipv6(struct gen *g, struct parse_endpoint *ep)
{
	uint8_t *a = ep->addr;
	unsigned k = (unsigned)gen_below(g, 100);

	gen_rand_bytes(g, a, 16);
	for (int i = 2; i < 8; i++) /* each word zero with p = 0.35 */
		if (gen_below(g, 100) < 35)
			a[2 * i] = a[2 * i + 1] = 0;
	if (k < 40) { /* 2001:db8::/32 documentation prefix */
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	} else if (k < 60) { /* ULA */
		a[0] = 0xfd;
	} else if (k < 72) { /* link-local, the scope is the ingress ifindex */
		memset(a, 0, 8);
		a[0] = 0xfe, a[1] = 0x80;
		ep->scope = k == 71 ? UINT32_MAX : (uint32_t)gen_range(g, 1, 40);
	} else if (k < 76) { /* v4-mapped */
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
	} else if (k < 78) { /* ISATAP */
		a[8] = k == 76 ? 0 : 2, a[9] = 0, a[10] = 0x5e, a[11] = 0xfe;
	} else if (k == 78) { /* :: and ::1 */
		memset(a, 0, 16);
		a[15] = (uint8_t)gen_below(g, 2);
	}
	if (gen_below(g, 100) < 3)
		ep->flowinfo = (uint32_t)gen_below(g, 1u << 28);
}

static uint16_t gen_rand_port(struct gen *g)
{
	unsigned k = (unsigned)gen_below(g, 100);

	if (k < 45)
		return 51820;
	if (k < 47)
		return k == 45 ? 1 : 65535;
	return (uint16_t)gen_range(g, 1024, 65535);
}

/* A fresh endpoint: 70 % IPv4, 28 % IPv6, `unset_pct` % unset. */
static void gen_rand_endpoint(struct gen *g, struct parse_endpoint *ep, unsigned unset_pct)
{
	unsigned k = (unsigned)gen_below(g, 100);

	memset(ep, 0, sizeof(*ep));
	if (k < unset_pct) {
		ep->af = PARSE_AF_UNSET;
		return;
	}
	ep->port = gen_rand_port(g);
	if (k < 72) {
		ep->af = PARSE_AF_INET;
		gen_rand_ipv4(g, ep->addr);
	} else {
		ep->af = PARSE_AF_INET6;
		gen_rand_ipv6(g, ep);
	}
}

static void gen_populate(struct gen *g)
{
	const struct gen_opts *o = &g->o;

	for (uint64_t h = 0; h < o->hosts; h++) {
		static const int tz[] = {0, 60, 120, -300, -420, 330, -210, 540, 0, 0};
		struct gen_host *host = &g->hosts[h];

		gen_host_name(host->name, o->seed, h);
		host->tz_min = tz[gen_below(g, sizeof(tz) / sizeof(tz[0]))];
		host->boot_us =
		        g->now_us - (gen_chance(g, 0.2) ? gen_range(g, 20, 999)
		                                        : gen_range(g, 1000, GEN_UPTIME_S_MAX)) *
		                            1000000;
		host->kmsg_seq = gen_below(g, 10000000);
		host->keypair_next = 1 + gen_below(g, 1000000);
	}
	for (uint64_t k = 0; k < o->ifaces; k++)
		gen_iface_name(g->ifaces[k].name, o->seed, k);
	for (uint64_t i = 0; i < o->peers; i++) {
		struct gen_peer *p = &g->peers[i];

		p->id = gen_peer_id(o->seed, i, o->peers);
		p->host = (uint32_t)gen_below(g, o->hosts);
		p->iface = (uint32_t)gen_below(g, o->ifaces);
		gen_rand_endpoint(g, &p->ep, 2);
		p->keypair = 0;
	}
}

/* ---------------------------------------------------------------- messages */

/* What a message says about the peer's endpoint. */
enum gen_ep_use {
	GEN_EP_NONE = 0, /* no endpoint */
	GEN_EP_PEER,     /* &peer->endpoint.addr, may be unset */
	GEN_EP_LEARNED,  /* the peer's endpoint just learned from a packet: always set */
	GEN_EP_SKB,      /* the UDP source of a packet, no peer id */
};

struct gen_msg {
	uint16_t weight; /* per 10000 good lines */
	uint8_t level;   /* syslog severity */
	uint8_t ep;      /* enum gen_ep_use */
	uint16_t fields; /* enum parse_field */
	const char *pre; /* text before the peer id or endpoint */
	const char *post;
	const char *func; /* the call site, for dynamic-debug decorations */
	const char *file;
};

#define P PARSE_F_PEER
#define E PARSE_F_ENDPOINT
/* Indexed by enum parse_event_kind. Mostly keepalives and handshakes, then a tail. */
/* One entry per message; laid out by hand. */
/* clang-format off */
static const struct gen_msg gen_msgs[PARSE_EV__COUNT] = {
	[PARSE_EV_COOKIE_DECRYPT_FAILED] = {10, 7, GEN_EP_NONE, 0,
		"Could not decrypt invalid cookie response", "", "wg_cookie_message_consume", "cookie.c"},
	[PARSE_EV_SEND_NO_ROUTE] = {60, 7, GEN_EP_PEER, E | PARSE_F_ERROR,
		"No route to ", ", error ", "send4", "socket.c"},
	[PARSE_EV_COOKIE_RESPONSE_RECEIVED] = {25, 7, GEN_EP_SKB, E,
		"Receiving cookie response from ", "", "wg_receive_handshake_packet", "receive.c"},
	[PARSE_EV_HANDSHAKE_MAC_INVALID] = {50, 7, GEN_EP_SKB, E,
		"Invalid MAC of handshake, dropping packet from ", "", "wg_receive_handshake_packet",
		"receive.c"},
	[PARSE_EV_HANDSHAKE_INITIATION_INVALID] = {25, 7, GEN_EP_SKB, E,
		"Invalid handshake initiation from ", "", "wg_receive_handshake_packet", "receive.c"},
	[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] = {800, 7, GEN_EP_LEARNED, P | E,
		"Receiving handshake initiation from peer ", "", "wg_receive_handshake_packet",
		"receive.c"},
	[PARSE_EV_HANDSHAKE_RESPONSE_INVALID] = {20, 7, GEN_EP_SKB, E,
		"Invalid handshake response from ", "", "wg_receive_handshake_packet", "receive.c"},
	[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED] = {700, 7, GEN_EP_LEARNED, P | E,
		"Receiving handshake response from peer ", "", "wg_receive_handshake_packet",
		"receive.c"},
	[PARSE_EV_KEEPALIVE_RECEIVED] = {2400, 7, GEN_EP_LEARNED, P | E,
		"Receiving keepalive packet from peer ", "", "wg_packet_consume_data_done",
		"receive.c"},
	[PARSE_EV_PACKET_SRC_UNALLOWED] = {50, 7, GEN_EP_LEARNED, P | E | PARSE_F_ADDR,
		"Packet has unallowed src IP (", ") from peer ", "wg_packet_consume_data_done",
		"receive.c"},
	[PARSE_EV_PACKET_NOT_IP] = {15, 7, GEN_EP_LEARNED, P | E,
		"Packet is neither ipv4 nor ipv6 from peer ", "", "wg_packet_consume_data_done",
		"receive.c"},
	[PARSE_EV_PACKET_SIZE_INVALID] = {15, 7, GEN_EP_LEARNED, P | E,
		"Packet has incorrect size from peer ", "", "wg_packet_consume_data_done",
		"receive.c"},
	[PARSE_EV_PACKET_NONCE_INVALID] = {30, 7, GEN_EP_NONE, PARSE_F_NONCE | PARSE_F_NONCE_MAX,
		"Packet has invalid nonce ", " (max ", "wg_packet_rx_poll", "receive.c"},
	[PARSE_EV_HANDSHAKE_PACKET_DROPPED] = {25, 7, GEN_EP_SKB, E,
		"Dropping handshake packet from ", "", "wg_packet_receive", "receive.c"},
	[PARSE_EV_HANDSHAKE_INITIATION_SENT] = {800, 7, GEN_EP_PEER, P | E,
		"Sending handshake initiation to peer ", "", "wg_packet_send_handshake_initiation",
		"send.c"},
	[PARSE_EV_HANDSHAKE_RESPONSE_SENT] = {700, 7, GEN_EP_LEARNED, P | E,
		"Sending handshake response to peer ", "", "wg_packet_send_handshake_response",
		"send.c"},
	[PARSE_EV_COOKIE_RESPONSE_SENT] = {25, 7, GEN_EP_SKB, E,
		"Sending cookie response for denied handshake message for ", "",
		"wg_packet_send_handshake_cookie", "send.c"},
	[PARSE_EV_KEEPALIVE_SENT] = {2000, 7, GEN_EP_PEER, P | E,
		"Sending keepalive packet to peer ", "", "wg_packet_send_keepalive", "send.c"},
	[PARSE_EV_HANDSHAKE_GAVE_UP] = {30, 7, GEN_EP_PEER, P | E | PARSE_F_ATTEMPTS,
		"Handshake for peer ", " did not complete after 20 attempts, giving up",
		"wg_expired_retransmit_handshake", "timers.c"},
	[PARSE_EV_HANDSHAKE_RETRY] = {250, 7, GEN_EP_PEER, P | E | PARSE_F_SECONDS | PARSE_F_TRY,
		"Handshake for peer ", " did not complete after 5 seconds, retrying (try ",
		"wg_expired_retransmit_handshake", "timers.c"},
	[PARSE_EV_HANDSHAKE_RESTART] = {150, 7, GEN_EP_PEER, P | E | PARSE_F_SECONDS,
		"Retrying handshake with peer ", " because we stopped hearing back after 15 seconds",
		"wg_expired_new_handshake", "timers.c"},
	[PARSE_EV_KEYS_ZEROED] = {30, 7, GEN_EP_PEER, P | E | PARSE_F_SECONDS,
		"Zeroing out all keys for peer ", ", since we haven't received a new one in 540 seconds",
		"wg_queued_expired_zero_key_material", "timers.c"},
	[PARSE_EV_PEER_CREATED] = {20, 7, GEN_EP_NONE, P,
		"Peer ", " created", "wg_peer_create", "peer.c"},
	[PARSE_EV_PEER_DESTROYED] = {20, 7, GEN_EP_PEER, P | E,
		"Peer ", " destroyed", "kref_release", "peer.c"},
	[PARSE_EV_XMIT_INVALID_PACKET] = {15, 7, GEN_EP_NONE, 0,
		"Invalid IP packet", "", "wg_xmit", "device.c"},
	[PARSE_EV_XMIT_NO_ALLOWED_IPS] = {50, 7, GEN_EP_NONE, PARSE_F_ADDR,
		"No peer has allowed IPs matching ", "", "wg_xmit", "device.c"},
	[PARSE_EV_XMIT_NO_ENDPOINT] = {25, 7, GEN_EP_NONE, P,
		"No valid endpoint has been configured or discovered for peer ", "", "wg_xmit",
		"device.c"},
	[PARSE_EV_INTERFACE_DESTROYED] = {8, 7, GEN_EP_NONE, 0,
		"Interface destroyed", "", "wg_destruct", "device.c"},
	[PARSE_EV_INTERFACE_CREATED] = {8, 7, GEN_EP_NONE, 0,
		"Interface created", "", "wg_newlink", "device.c"},
	[PARSE_EV_NETNS_EXITING] = {5, 7, GEN_EP_NONE, 0,
		"Creating namespace exiting", "", "wg_netns_pre_exit", "device.c"},
	[PARSE_EV_KEYPAIR_DESTROYED] = {550, 7, GEN_EP_NONE, PARSE_F_KEYPAIR | P,
		"Keypair ", " destroyed for peer ", "keypair_free_kref", "noise.c"},
	[PARSE_EV_KEYPAIR_CREATED] = {600, 7, GEN_EP_NONE, PARSE_F_KEYPAIR | P,
		"Keypair ", " created for peer ", "wg_noise_handshake_begin_session", "noise.c"},
	[PARSE_EV_MODULE_LOADED] = {5, 6, GEN_EP_NONE, PARSE_F_VERSION,
		"WireGuard ", " loaded. See www.wireguard.com for information.", NULL, NULL},
	[PARSE_EV_MODULE_BANNER] = {5, 6, GEN_EP_NONE, 0,
		"Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. All Rights Reserved.",
		"", NULL, NULL},
	[PARSE_EV_SOCKET_CREATE_FAILED] = {5, 3, GEN_EP_NONE, PARSE_F_FAMILY,
		"Could not create IPv", " socket", NULL, NULL},
	[PARSE_EV_PACKET_GRO_DROPPED] = {10, 7, GEN_EP_LEARNED, P | E,
		"Failed to give packet to userspace from peer ", "", "wg_packet_consume_data_done",
		"receive.c"},
	[PARSE_EV_RATELIMIT_SUPPRESSED] = {30, 4, GEN_EP_NONE, PARSE_F_COUNT,
		"net_ratelimit: ", " callbacks suppressed", NULL, NULL},
};
/* clang-format on */
#undef P
#undef E

/* A message kind, drawn by the weights of gen_msgs. */
static unsigned gen_pick_kind(struct gen *g)
{
	uint64_t r = gen_below(g, g->weight_total);
	unsigned k;

	for (k = 1; k + 1 < PARSE_EV__COUNT && r >= gen_msgs[k].weight; k++)
		r -= gen_msgs[k].weight;
	return k;
}

/* "[pid] " / "<intr> ", then "wireguard:", "func:", "drivers/…/file.c:", "line:" (spec §7). */
static void gen_decorate(struct gen *g, struct gen_out *w, const struct gen_msg *m)
{
	unsigned flags = 1 + (unsigned)gen_below(g, 31); /* t m f s l, at least one */
	int mid = 0;

	if (flags & 1) {
		if (gen_chance(g, 0.5))
			out_str(w, "<intr> ");
		else {
			out_ch(w, '[');
			out_u64(w, gen_range(g, 1, 4194304));
			out_str(w, "] ");
		}
	}
	if (flags & 2)
		out_str(w, "wireguard:"), mid = 1;
	if (flags & 4)
		out_str(w, m->func), out_ch(w, ':'), mid = 1;
	if (flags & 8)
		out_str(w, "drivers/net/wireguard/"), out_str(w, m->file), out_ch(w, ':'), mid = 1;
	if (flags & 16)
		out_u64(w, gen_range(g, 20, 1100)), out_ch(w, ':'), mid = 1;
	if (mid)
		out_ch(w, ' ');
}

/* Copies the endpoint's text into the truth and the line. */
static void gen_put_endpoint(struct gen *g, struct gen_out *w, const struct parse_endpoint *ep)
{
	struct gen_truth *t = &g->truth;

	t->endpoint = *ep;
	gen_endpoint_format(ep, PARSE_STYLE_ENDPOINT, t->endpoint_text, sizeof(t->endpoint_text));
	out_str(w, t->endpoint_text);
}

static void gen_put_addr(struct gen *g, struct gen_out *w, const struct parse_endpoint *a,
                         int style)
{
	struct gen_truth *t = &g->truth;

	t->addr = *a;
	gen_endpoint_format(a, style, t->addr_text, sizeof(t->addr_text));
	out_str(w, t->addr_text);
}

/* NAT rebinding: now and then the peer shows up from a new port or address. */
static void gen_peer_rebind(struct gen *g, struct gen_peer *p)
{
	if (gen_below(g, GEN_REBIND_PORT_PER) == 0)
		p->ep.port = gen_rand_port(g);
	else if (gen_below(g, GEN_REBIND_ADDR_PER) == 0)
		gen_rand_endpoint(g, &p->ep, 0);
}

/* The endpoint a message prints, by what the message says about it. */
static const struct parse_endpoint *gen_msg_endpoint(struct gen *g, struct gen_peer *p,
                                                     unsigned use, struct parse_endpoint *tmp)
{
	switch (use) {
	case GEN_EP_LEARNED: gen_peer_rebind(g, p); return &p->ep;
	case GEN_EP_PEER: return &p->ep;
	default:
		if (p->ep.af != PARSE_AF_UNSET && gen_chance(g, 0.7))
			return &p->ep;
		gen_rand_endpoint(g, tmp, 0); /* a stranger; from a packet, so no flowinfo */
		tmp->flowinfo = 0;
		return tmp;
	}
}

/* An inner address: IPv4 (M27, half of M11) or IPv6 (M28, the rest of M11). */
static void gen_inner_addr(struct gen *g, struct parse_endpoint *a, int v6)
{
	memset(a, 0, sizeof(*a));
	if (!v6) {
		a->af = PARSE_AF_INET;
		gen_rand_ipv4(g, a->addr);
		return;
	}
	a->af = PARSE_AF_INET6;
	gen_rand_ipv6(g, a);
	a->flowinfo = a->scope = 0;
}

static void gen_msg_numbers(struct gen *g, struct gen_out *w, unsigned kind, struct gen_peer *p)
{
	struct gen_truth *t = &g->truth;
	struct gen_host *h = &g->hosts[p->host];

	switch (kind) {
	case PARSE_EV_PACKET_NONCE_INVALID:
		t->n[0] = gen_chance(g, 0.5) ? gen_below(g, 1u << 20) : gen_rand(g);
		t->n[1] = gen_chance(g, 0.5) ? t->n[0] + gen_below(g, 10000) : gen_rand(g);
		break;
	case PARSE_EV_KEYPAIR_CREATED: p->keypair = t->n[0] = h->keypair_next++; break;
	case PARSE_EV_KEYPAIR_DESTROYED:
		t->n[0] = p->keypair ? p->keypair : h->keypair_next - 1 - gen_below(g, 100);
		break;
	}
	out_u64(w, t->n[0]);
	out_str(w, gen_msgs[kind].post);
	out_u64(w, kind == PARSE_EV_PACKET_NONCE_INVALID ? t->n[1] : p->id);
	if (kind == PARSE_EV_PACKET_NONCE_INVALID)
		out_ch(w, ')');
	else
		t->peer = p->id;
}

/* The text after "wireguard: IFACE: " (or after "wireguard: " for M35/M36). */
static void gen_msg_text(struct gen *g, struct gen_out *w, unsigned kind, struct gen_peer *p)
{
	static const char *const versions[] = {"1.0.0", "1.0.20220627", "1.0.20210606"};
	static const int errors[] = {-101, -113, -22, -13, -97, -1};
	const struct gen_msg *m = &gen_msgs[kind];
	struct gen_truth *t = &g->truth;
	struct parse_endpoint tmp, addr;

	out_str(w, m->pre);
	switch (kind) {
	case PARSE_EV_SEND_NO_ROUTE: /* sending needs an address: never "(einval)" here */
		if (p->ep.af == PARSE_AF_UNSET)
			gen_rand_endpoint(g, &tmp, 0);
		gen_put_endpoint(g, w, p->ep.af == PARSE_AF_UNSET ? &tmp : &p->ep);
		out_str(w, m->post);
		t->n[0] = (uint64_t)(int64_t)errors[gen_below(g, 6)];
		out_i64(w, (int64_t)t->n[0]);
		return;
	case PARSE_EV_PACKET_SRC_UNALLOWED:
		gen_inner_addr(g, &addr, gen_chance(g, 0.3));
		gen_put_addr(g, w, &addr, PARSE_STYLE_COMPRESSED);
		out_str(w, m->post);
		out_u64(w, t->peer = p->id);
		out_str(w, " (");
		gen_put_endpoint(g, w, gen_msg_endpoint(g, p, m->ep, &tmp));
		out_ch(w, ')');
		return;
	case PARSE_EV_XMIT_NO_ALLOWED_IPS:
		gen_inner_addr(g, &addr, gen_chance(g, 0.4));
		gen_put_addr(g, w, &addr, PARSE_STYLE_UNCOMPRESSED);
		return;
	case PARSE_EV_PACKET_NONCE_INVALID:
	case PARSE_EV_KEYPAIR_CREATED:
	case PARSE_EV_KEYPAIR_DESTROYED: gen_msg_numbers(g, w, kind, p); return;
	case PARSE_EV_HANDSHAKE_RETRY:
		t->n[0] = 5;
		t->n[1] = gen_range(g, 2, 20);
		break;
	case PARSE_EV_HANDSHAKE_GAVE_UP: t->n[0] = 20; break;
	case PARSE_EV_HANDSHAKE_RESTART: t->n[0] = 15; break;
	case PARSE_EV_KEYS_ZEROED: t->n[0] = 540; break;
	case PARSE_EV_MODULE_LOADED:
		strcpy(t->version, versions[gen_below(g, 3)]);
		out_str(w, t->version);
		out_str(w, m->post);
		return;
	case PARSE_EV_SOCKET_CREATE_FAILED:
		t->n[0] = gen_chance(g, 0.5) ? 4 : 6;
		out_u64(w, t->n[0]);
		out_str(w, m->post);
		return;
	case PARSE_EV_RATELIMIT_SUPPRESSED:
		t->n[0] = gen_chance(g, 0.9) ? gen_range(g, 1, 200) : gen_range(g, 201, 1000000);
		out_u64(w, t->n[0]);
		out_str(w, m->post);
		return;
	}
	if (m->fields & PARSE_F_PEER)
		out_u64(w, t->peer = p->id);
	if (m->ep == GEN_EP_SKB) {
		gen_put_endpoint(g, w, gen_msg_endpoint(g, p, m->ep, &tmp));
	} else if (m->ep != GEN_EP_NONE) {
		out_str(w, " (");
		gen_put_endpoint(g, w, gen_msg_endpoint(g, p, m->ep, &tmp));
		out_ch(w, ')');
	}
	out_str(w, m->post);
	if (kind == PARSE_EV_HANDSHAKE_RETRY) {
		out_u64(w, t->n[1]);
		out_ch(w, ')');
	}
}

/* Peers without an endpoint only send (and time out): swap in a sending message. */
static unsigned gen_fit_kind(struct gen *g, unsigned kind, const struct gen_peer *p)
{
	if (p->ep.af != PARSE_AF_UNSET || gen_msgs[kind].ep != GEN_EP_LEARNED)
		return kind;
	return gen_chance(g, 0.5) ? PARSE_EV_KEEPALIVE_SENT : PARSE_EV_HANDSHAKE_INITIATION_SENT;
}

/* Builds one good kernel text into g->body and fills the truth. Returns the syslog severity. */
static int gen_body_good(struct gen *g, unsigned kind, struct gen_peer *p)
{
	const struct gen_msg *m = &gen_msgs[kind];
	struct gen_truth *t = &g->truth;
	struct gen_out w = {g->body, g->body + sizeof(g->body)};

	t->kind = (uint8_t)kind;
	t->fields = m->fields;
	if (m->func && g->o.decorated > 0 && gen_chance(g, g->o.decorated)) {
		t->decorated = 1;
		gen_decorate(g, &w, m);
	}
	if (kind != PARSE_EV_RATELIMIT_SUPPRESSED)
		out_str(&w, "wireguard: ");
	if (m->func || kind == PARSE_EV_SOCKET_CREATE_FAILED) {
		strcpy(t->iface, g->ifaces[p->iface].name);
		out_str(&w, t->iface);
		out_str(&w, ": ");
	}
	gen_msg_text(g, &w, kind, p);
	g->body_len = (size_t)(w.p - g->body);
	return m->level;
}

/* ---------------------------------------------------------------- envelopes */

struct gen_civil {
	unsigned year, mon, day, hour, min, sec, usec;
};

/* Days since 1970-01-01 to a proleptic Gregorian date (era arithmetic). */
static void gen_civil_from(uint64_t us, struct gen_civil *c)
{
	uint64_t secs = us / 1000000, days = secs / 86400, rem = secs % 86400;
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	c->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	c->mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	c->year = (unsigned)(yoe + era * 400 + (c->mon <= 2));
	c->hour = (unsigned)(rem / 3600);
	c->min = (unsigned)(rem / 60 % 60);
	c->sec = (unsigned)(rem % 60);
	c->usec = (unsigned)(us % 1000000);
}

static void gen_local(const struct gen *g, const struct gen_host *h, struct gen_civil *c)
{
	gen_civil_from(g->now_us + (uint64_t)((int64_t)h->tz_min * 60000000), c);
}

static void out_hms(struct gen_out *w, const struct gen_civil *c)
{
	out_u64w(w, c->hour, 2, '0');
	out_ch(w, ':');
	out_u64w(w, c->min, 2, '0');
	out_ch(w, ':');
	out_u64w(w, c->sec, 2, '0');
}

static void out_pri(struct gen_out *w, int pri)
{
	out_ch(w, '<');
	out_u64(w, (uint64_t)pri);
	out_ch(w, '>');
}

/* "Aug  2 11:31:16" in the host's local time. */
static void out_date3164(struct gen_out *w, const struct gen_civil *c)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	out_mem(w, months + 3 * (c->mon - 1), 3);
	out_ch(w, ' ');
	out_u64w(w, c->day, 2, ' ');
	out_ch(w, ' ');
	out_hms(w, c);
}

/* "2025-08-22T11:31:16.482913+02:00". */
static void out_date3339(struct gen_out *w, const struct gen_civil *c, int tz_min)
{
	unsigned tz = (unsigned)(tz_min < 0 ? -tz_min : tz_min);

	out_u64w(w, c->year, 4, '0');
	out_ch(w, '-');
	out_u64w(w, c->mon, 2, '0');
	out_ch(w, '-');
	out_u64w(w, c->day, 2, '0');
	out_ch(w, 'T');
	out_hms(w, c);
	out_ch(w, '.');
	out_u64w(w, c->usec, 6, '0');
	out_ch(w, tz_min < 0 ? '-' : '+');
	out_u64w(w, tz / 60, 2, '0');
	out_ch(w, ':');
	out_u64w(w, tz % 60, 2, '0');
}

/* The kernel's "[%5lu.%06lu]" monotonic time, then maybe a caller id "[ T1234]". */
static void out_ktime(struct gen *g, struct gen_out *w, const struct gen_host *h, int caller)
{
	uint64_t mono = g->now_us - h->boot_us;

	out_ch(w, '[');
	out_u64w(w, mono / 1000000, 5, ' ');
	out_ch(w, '.');
	out_u64w(w, mono % 1000000, 6, '0');
	out_ch(w, ']');
	if (caller) { /* "[%6s]" of "T<pid>" or "C<cpu>": right-aligned in six columns */
		char id[8] = "T";
		struct gen_out c = {id + 1, id + sizeof(id) - 1};

		if (gen_chance(g, 0.3))
			id[0] = 'C';
		out_u64(&c, id[0] == 'C' ? gen_below(g, 64) : gen_range(g, 1, 99999));
		*c.p = '\0';
		out_ch(w, '[');
		for (size_t pad = strlen(id); pad < 6; pad++)
			out_ch(w, ' ');
		out_str(w, id);
		out_ch(w, ']');
	}
}

/* /dev/kmsg escapes every byte < 0x20, >= 0x7f and '\' as \xNN. */
static void out_kmsg_text(struct gen_out *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\') {
			out_str(w, "\\x");
			out_ch(w, hex[c >> 4]);
			out_ch(w, hex[c & 0xf]);
		} else {
			out_ch(w, (char)c);
		}
	}
}

static void out_kmsg_head(struct gen *g, struct gen_out *w, struct gen_host *h, int pri)
{
	h->kmsg_seq += 1 + gen_below(g, 3);
	out_u64(w, (uint64_t)pri);
	out_ch(w, ',');
	out_u64(w, h->kmsg_seq);
	out_ch(w, ',');
	out_u64(w, g->now_us - h->boot_us);
	out_str(w, ",-");
	if (gen_chance(g, 0.2)) {
		out_str(w, gen_chance(g, 0.5) ? ",caller=T" : ",caller=C");
		out_u64(w, gen_below(g, 5000));
	}
	out_ch(w, ';');
}

/* "<PRI>DATE HOST kernel:" for the rsyslog forwarding formats with a TAG. */
static void out_syslog_head(struct gen *g, struct gen_out *w, const struct gen_host *h, int pri,
                            int rfc3339)
{
	struct gen_civil c;

	gen_local(g, h, &c);
	if (pri >= 0) /* < 0: a log file's line, which has no PRI */
		out_pri(w, pri);
	if (rfc3339)
		out_date3339(w, &c, h->tz_min);
	else
		out_date3164(w, &c);
	out_ch(w, ' ');
	out_str(w, h->name);
	out_str(w, " kernel:");
}

static void out_5424_head(struct gen *g, struct gen_out *w, const struct gen_host *h, int pri)
{
	struct gen_civil c;

	gen_local(g, h, &c);
	out_pri(w, pri);
	out_str(w, "1 ");
	out_date3339(w, &c, h->tz_min);
	out_ch(w, ' ');
	out_str(w, h->name);
	out_str(w, " kernel - - - ");
}

/* Wraps g->body in envelope `env` into `w`; `pri` is what goes in <PRI> or the kmsg prefix. */
static void gen_wrap(struct gen *g, struct gen_out *w, int env, int pri, struct gen_host *h)
{
	const char *body = g->body;
	size_t n = g->body_len;

	switch (env) {
	case GEN_ENV_KMSG:
		out_kmsg_head(g, w, h, pri);
		out_kmsg_text(w, body, n);
		return;
	case GEN_ENV_DMESG: out_ktime(g, w, h, 0), out_ch(w, ' '); break;
	case GEN_ENV_RFC3164:
	case GEN_ENV_RFC3339:
		out_syslog_head(g, w, h, pri, env == GEN_ENV_RFC3339), out_ch(w, ' ');
		break;
	case GEN_ENV_RFC3164_OLD:
		out_syslog_head(g, w, h, pri, 0);
		out_ch(w, ' ');
		out_ktime(g, w, h, gen_chance(g, 0.1));
		out_ch(w, ' ');
		break;
	case GEN_ENV_RFC5424: out_5424_head(g, w, h, pri), out_ch(w, ' '); break;
	case GEN_ENV_FILE: out_syslog_head(g, w, h, -1, gen_chance(g, 0.3)), out_ch(w, ' '); break;
	case GEN_ENV_RFC5424_OLD:
		out_5424_head(g, w, h, pri);
		out_ktime(g, w, h, gen_chance(g, 0.1));
		out_ch(w, ' ');
		break;
	case GEN_ENV_REPEATED:
		out_syslog_head(g, w, h, pri, gen_chance(g, 0.3));
		out_str(w, " message repeated ");
		out_u64(w, g->truth.repeat = (uint32_t)gen_range(g, 2, 40));
		g->truth.fields |= PARSE_F_REPEAT;
		out_str(w, " times: [ ");
		out_mem(w, body, n);
		out_ch(w, ']');
		return;
	}
	out_mem(w, body, n);
}

static int gen_env_has_host(int env)
{
	return env >= GEN_ENV_RFC3164 && env <= GEN_ENV_FILE;
}

/* The envelope of the next line: the configured one, or one drawn from a realistic mix. */
static int gen_pick_envelope(struct gen *g)
{
	static const uint16_t mix[GEN_ENV_MIX] = {
	        [GEN_ENV_BARE] = 8,     [GEN_ENV_KMSG] = 15,        [GEN_ENV_DMESG] = 7,
	        [GEN_ENV_RFC3164] = 30, [GEN_ENV_RFC3164_OLD] = 12, [GEN_ENV_RFC3339] = 10,
	        [GEN_ENV_RFC5424] = 10, [GEN_ENV_RFC5424_OLD] = 4,  [GEN_ENV_REPEATED] = 4,
	        [GEN_ENV_FILE] = 5,
	};
	unsigned total = 0;

	if (g->o.envelope != GEN_ENV_MIX)
		return g->o.envelope;
	for (unsigned e = 0; e < GEN_ENV_MIX; e++)
		total += mix[e];
	return (int)gen_pick(g, mix, GEN_ENV_MIX, total);
}

/* Envelope, host and truth bookkeeping common to good and broken lines. */
static size_t gen_finish(struct gen *g, int env, int pri, struct gen_host *h)
{
	struct gen_out w = {g->line, g->line + sizeof(g->line) - 1};

	g->truth.envelope = (uint8_t)env;
	if (gen_env_has_host(env))
		strcpy(g->truth.host, h->name);
	gen_wrap(g, &w, env, pri, h);
	*w.p = '\0';
	return (size_t)(w.p - g->line);
}

/* ---------------------------------------------------------------- broken lines */

enum gen_broken {
	GEN_BROKEN_NUMBER,
	GEN_BROKEN_ENDPOINT,
	GEN_BROKEN_TRUNCATED,
	GEN_BROKEN_FOREIGN,
	GEN_BROKEN_SPOOFED,
	GEN_BROKEN_UNKNOWN,
	GEN_BROKEN_IFACE,
	GEN_BROKEN_ENVELOPE,
	GEN_BROKEN_TOO_LONG,
	GEN_BROKEN_CONTINUATION,
	GEN_BROKEN__COUNT
};

static const char *gen_pick_str(struct gen *g, const char *const *v, size_t n)
{
	return v[gen_below(g, n)];
}
#define GEN_PICK(g, v) gen_pick_str(g, v, sizeof(v) / sizeof(v[0]))

/* "wireguard: IFACE: Receiving keepalive packet from peer ID (EP)" with ID or EP given. */
static void gen_body_keepalive(struct gen *g, struct gen_peer *p, const char *id, const char *ep)
{
	struct gen_out w = {g->body, g->body + sizeof(g->body)};
	char ep_text[GEN_EP_TEXT_MAX];

	out_str(&w, "wireguard: ");
	out_str(&w, g->ifaces[p->iface].name);
	out_str(&w, ": Receiving keepalive packet from peer ");
	if (id)
		out_str(&w, id);
	else
		out_u64(&w, p->id);
	out_str(&w, " (");
	if (!ep) {
		gen_endpoint_format(&p->ep, PARSE_STYLE_ENDPOINT, ep_text, sizeof(ep_text));
		ep = ep_text;
	}
	out_str(&w, ep);
	out_ch(&w, ')');
	g->body_len = (size_t)(w.p - g->body);
}

/* g->body = a b c (none of them may point into g->body). */
static void gen_body_text(struct gen *g, const char *a, const char *b, const char *c)
{
	struct gen_out w = {g->body, g->body + sizeof(g->body)};

	out_str(&w, a);
	out_str(&w, b);
	out_str(&w, c);
	g->body_len = (size_t)(w.p - g->body);
}

static const char *const gen_bad_numbers[] = {
        "18446744073709551616", "99999999999999999999999", "+17", "-3", "0x1f", "12a",
};
static const char *const gen_bad_endpoints[] = {
        "256.1.2.3:51820",
        "192.0.2.1:65536",
        "192.0.2:51820",
        "192.0.2.1",
        "[2001:db8::1::2]:51820/0%0",
        "[2001:db8::1]:51820",
        "[2001:db8::g]:51820/0%0",
        "[fe80::1]:51820/0%4294967296",
        "[::ffff:1.2.3.256]:5/0%0",
        "2001:db8::1:51820",
        "(einva)",
        "192.0.2.1:-5",
};
static const char *const gen_foreign[] = {
        "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
        "nf_conntrack: nf_conntrack: table full, dropping packet",
        "Somehow a wrong type of packet wound up in the handshake queue!",
        ("WARNING: CPU: 2 PID: 0 at drivers/net/wireguard/receive.c:213 "
         "wg_packet_receive+0x1c4/0x1d0 [wireguard]"),
        "IPv6: ADDRCONF(NETDEV_CHANGE): wg0: link becomes ready",
        "TCP: request_sock_TCP: Possible SYN flooding on port 22. Sending cookies.",
        "audit: type=1400 audit(1692696676.482:77): apparmor=\"DENIED\" operation=\"open\"",
        "wireguardx: wg0: Sending keepalive packet to peer 1 (192.0.2.1:51820)",
};
static const char *const gen_unknown[] = {
        "Unknown message from 192.0.2.7:51820 encountered, packet dropped",
        "Sending keepalive packet to peer 5 (192.0.2.1:51820) now",
        "receiving keepalive packet from peer 5 (192.0.2.1:51820)",
        "Keypair 5 rotated for peer 9",
        "Interface renamed",
};
static const char *const gen_bad_ifaces[] = {
        "wg-0123456789abc", "", "wg 0", "wg/0", "a-very-long-interface-name",
};

/* Envelope of a broken line; broken envelopes are built by gen_broken_envelope(). */
static int gen_broken_env(struct gen *g)
{
	int env = gen_pick_envelope(g);

	return env == GEN_ENV_REPEATED ? GEN_ENV_RFC3164 : env;
}

/* A syslog or kmsg head that is wrong: impossible dates, a broken PRI or kmsg prefix. */
static size_t gen_broken_envelope(struct gen *g, struct gen_host *h)
{
	static const char *const heads[] = {
	        "<7>Feb 30 10:00:00 ",
	        "<7>Apr 31 23:59:59 ",
	        "<7>Aug 32 11:31:16 ",
	        "<7>Aug 22 25:31:16 ",
	        "<7>Aug 22 11:60:16 ",
	        "<7>2025-02-29T11:31:16.482913+02:00 ",
	        "<7>2023-13-05T11:31:16.482913+00:00 ",
	        "<7>2024-04-31T01:02:03.000001-07:00 ",
	        "<7>1 2025-02-29T11:31:16.482913+02:00 ",
	        "<1000>Aug 22 11:31:16 ",
	        "<7Aug 22 11:31:16 ",
	};
	static const char *const kmsg[] = {"7,12a4,5,-;", "7,,5,-;", "7,1;", "7,1,2x,-;"};
	struct gen_out w = {g->line, g->line + sizeof(g->line) - 1};
	const char *head = gen_chance(g, 0.25) ? GEN_PICK(g, kmsg) : GEN_PICK(g, heads);

	out_str(&w, head);
	if (head[0] == '<') {
		out_str(&w, h->name);
		out_str(&w, head[2] == '1' && head[3] == ' ' ? " kernel - - -  " : " kernel: ");
	}
	out_mem(&w, g->body, g->body_len);
	*w.p = '\0';
	g->truth.envelope = head[0] == '<' ? GEN_ENV_RFC3164 : GEN_ENV_KMSG;
	return (size_t)(w.p - g->line);
}

/* A good line cut short: only messages that end in a fixed word or ')' (a cut number could still be a number). */
static size_t gen_broken_truncated(struct gen *g, struct gen_peer *p, struct gen_host *h)
{
	static const uint8_t kinds[] = {
	        PARSE_EV_KEEPALIVE_RECEIVED,   PARSE_EV_HANDSHAKE_INITIATION_SENT,
	        PARSE_EV_HANDSHAKE_RETRY,      PARSE_EV_PEER_CREATED,
	        PARSE_EV_INTERFACE_CREATED,    PARSE_EV_HANDSHAKE_RESTART,
	        PARSE_EV_RATELIMIT_SUPPRESSED,
	};
	unsigned kind = gen_fit_kind(g, kinds[gen_below(g, sizeof(kinds))], p);
	int env = gen_broken_env(g);
	int pri = gen_body_good(g, kind, p);
	size_t n;

	n = gen_finish(g, env, pri, h);
	n = (size_t)gen_range(g, 1, n - 1);
	g->line[n] = '\0';
	return n;
}

/* A keepalive line with junk appended until it is longer than PARSE_LINE_MAX. */
static size_t gen_broken_too_long(struct gen *g, struct gen_peer *p, struct gen_host *h)
{
	size_t n;

	gen_body_keepalive(g, p, NULL, NULL);
	n = gen_finish(g, gen_broken_env(g), 7, h);
	for (; n < GEN_TOO_LONG; n++)
		g->line[n] = (char)('a' + n % 26);
	g->line[n] = '\0';
	return n;
}

static const uint8_t gen_broken_reject[GEN_BROKEN__COUNT] = {
        [GEN_BROKEN_NUMBER] = PARSE_REJECT_BAD_NUMBER,
        [GEN_BROKEN_ENDPOINT] = PARSE_REJECT_BAD_ENDPOINT,
        [GEN_BROKEN_TRUNCATED] = PARSE_REJECT_TRUNCATED,
        [GEN_BROKEN_FOREIGN] = PARSE_REJECT_NOT_WIREGUARD,
        [GEN_BROKEN_SPOOFED] = PARSE_REJECT_SPOOFED_FACILITY,
        [GEN_BROKEN_UNKNOWN] = PARSE_REJECT_UNKNOWN_MESSAGE,
        [GEN_BROKEN_IFACE] = PARSE_REJECT_BAD_IFACE,
        [GEN_BROKEN_ENVELOPE] = PARSE_REJECT_BAD_ENVELOPE,
        [GEN_BROKEN_TOO_LONG] = PARSE_REJECT_TOO_LONG,
        [GEN_BROKEN_CONTINUATION] = PARSE_REJECT_NOT_WIREGUARD,
};

/* The kernel text of a broken line of kind `kind` into g->body (the shapes that need one). */
static void gen_broken_body(struct gen *g, unsigned kind, struct gen_peer *p)
{
	struct gen_out out;

	switch (kind) {
	case GEN_BROKEN_NUMBER: gen_body_keepalive(g, p, GEN_PICK(g, gen_bad_numbers), NULL); break;
	case GEN_BROKEN_ENDPOINT:
		gen_body_keepalive(g, p, NULL, GEN_PICK(g, gen_bad_endpoints));
		break;
	case GEN_BROKEN_FOREIGN: gen_body_text(g, GEN_PICK(g, gen_foreign), "", ""); break;
	case GEN_BROKEN_UNKNOWN:
		gen_body_text(g, "wireguard: ", g->ifaces[p->iface].name, ": ");
		out = (struct gen_out){g->body + g->body_len, g->body + sizeof(g->body)};
		out_str(&out, GEN_PICK(g, gen_unknown));
		g->body_len = (size_t)(out.p - g->body);
		break;
	case GEN_BROKEN_IFACE:
		gen_body_text(g, "wireguard: ", GEN_PICK(g, gen_bad_ifaces), ": Interface created");
		break;
	case GEN_BROKEN_SPOOFED:
	case GEN_BROKEN_ENVELOPE: gen_body_keepalive(g, p, NULL, NULL); break;
	case GEN_BROKEN_CONTINUATION:
		gen_body_text(g, gen_chance(g, 0.5) ? " SUBSYSTEM=net" : " DEVICE=+net:", "wg0",
		              "");
		break;
	}
}

/* One broken line of a random kind into g->line; the truth says which rejection it aims at. */
static size_t gen_line_broken(struct gen *g, struct gen_peer *p, struct gen_host *h)
{
	static const int spoof_pri[] = {13, 14, 15, 31, 191, 12};
	unsigned kind = (unsigned)gen_below(g, GEN_BROKEN__COUNT);
	size_t n;
	int env;

	gen_broken_body(g, kind, p);
	switch (kind) {
	case GEN_BROKEN_TRUNCATED: n = gen_broken_truncated(g, p, h); break;
	case GEN_BROKEN_TOO_LONG: n = gen_broken_too_long(g, p, h); break;
	case GEN_BROKEN_ENVELOPE: n = gen_broken_envelope(g, h); break;
	case GEN_BROKEN_SPOOFED: /* a user-space facility in the PRI or the kmsg prefix */
		n = gen_finish(g, gen_chance(g, 0.2) ? GEN_ENV_KMSG : GEN_ENV_RFC3164,
		               spoof_pri[gen_below(g, 6)], h);
		break;
	case GEN_BROKEN_CONTINUATION: n = gen_finish(g, GEN_ENV_BARE, 7, h); break;
	default: n = gen_finish(g, gen_broken_env(g), 7, h); break;
	}
	env = g->truth.envelope;
	memset(&g->truth, 0, sizeof(g->truth));
	g->truth.envelope = (uint8_t)env;
	g->truth.reject = gen_broken_reject[kind];
	g->truth.repeat = 1;
	return n;
}

/* ---------------------------------------------------------------- public */

void gen_opts_default(struct gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lines = 1000;
	o->peers = 100;
	o->ifaces = 4;
	o->hosts = 1;
	o->seed = 1;
	o->envelope = GEN_ENV_MIX;
}

static int gen_opts_check(const struct gen_opts *o)
{
	if (o->peers < 1 || o->peers > GEN_PEERS_MAX || o->ifaces < 1 ||
	    o->ifaces > GEN_IFACES_MAX || o->hosts < 1 || o->hosts > GEN_HOSTS_MAX)
		return -EINVAL;
	if (o->envelope < 0 || o->envelope >= GEN_ENV__COUNT)
		return -EINVAL;
	if (!(o->malformed >= 0 && o->malformed <= 1) || !(o->decorated >= 0 && o->decorated <= 1))
		return -EINVAL;
	return 0;
}

int gen_new(const struct gen_opts *o, struct gen **out)
{
	uint64_t x;
	struct gen *g;
	int err = gen_opts_check(o);

	*out = NULL;
	if (err)
		return err;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->o = *o;
	g->hosts = calloc(o->hosts, sizeof(*g->hosts));
	g->ifaces = calloc(o->ifaces, sizeof(*g->ifaces));
	g->peers = calloc(o->peers, sizeof(*g->peers));
	if (!g->hosts || !g->ifaces || !g->peers) {
		gen_free(g);
		return -ENOMEM;
	}
	x = o->seed;
	for (int i = 0; i < 4; i++)
		g->s[i] = gen_mix64(x += 0x9e3779b97f4a7c15ull); /* splitmix64 seeding */
	for (unsigned k = 0; k < PARSE_EV__COUNT; k++)
		g->weight_total += gen_msgs[k].weight;
	g->now_us =
	        (GEN_EPOCH_MIN + gen_below(g, GEN_EPOCH_SPAN)) * 1000000 + gen_below(g, 1000000);
	gen_populate(g);
	*out = g;
	return 0;
}

void gen_free(struct gen *g)
{
	if (!g)
		return;
	free(g->hosts);
	free(g->ifaces);
	free(g->peers);
	free(g);
}

size_t gen_line(struct gen *g, char *buf, size_t cap)
{
	struct gen_peer *p;
	struct gen_host *h;
	size_t n;

	if (g->o.lines && g->made >= g->o.lines)
		return 0;
	g->made++;
	p = &g->peers[gen_below(g, g->o.peers)];
	h = &g->hosts[p->host];
	g->now_us += gen_below(g, GEN_STEP_US_MAX + 1);
	memset(&g->truth, 0, offsetof(struct gen_truth, iface));
	g->truth.iface[0] = g->truth.host[0] = g->truth.version[0] = '\0';
	g->truth.endpoint_text[0] = g->truth.addr_text[0] = '\0';
	g->truth.repeat = 1;
	if (g->o.malformed > 0 && gen_chance(g, g->o.malformed)) {
		n = gen_line_broken(g, p, h);
	} else {
		unsigned kind = gen_fit_kind(g, gen_pick_kind(g), p);
		int pri = gen_body_good(g, kind, p);

		n = gen_finish(g, gen_pick_envelope(g), pri, h);
	}
	if (cap) {
		size_t k = n < cap ? n : cap - 1;

		memcpy(buf, g->line, k);
		buf[k] = '\0';
	}
	return n;
}

const struct gen_truth *gen_truth(const struct gen *g)
{
	return &g->truth;
}

static const char *const gen_envelope_names[GEN_ENV__COUNT] = {
        [GEN_ENV_BARE] = "bare",
        [GEN_ENV_KMSG] = "kmsg",
        [GEN_ENV_DMESG] = "dmesg",
        [GEN_ENV_RFC3164] = "rfc3164",
        [GEN_ENV_RFC3164_OLD] = "rfc3164-old",
        [GEN_ENV_RFC3339] = "rfc3339",
        [GEN_ENV_RFC5424] = "rfc5424",
        [GEN_ENV_RFC5424_OLD] = "rfc5424-old",
        [GEN_ENV_REPEATED] = "repeated",
        [GEN_ENV_FILE] = "file",
        [GEN_ENV_MIX] = "mix",
};

int gen_envelope_lookup(const char *name)
{
	for (int i = 0; i < GEN_ENV__COUNT; i++)
		if (!strcmp(name, gen_envelope_names[i]))
			return i;
	return -1;
}

const char *gen_envelope_name(int envelope)
{
	return envelope >= 0 && envelope < GEN_ENV__COUNT ? gen_envelope_names[envelope] : NULL;
}
