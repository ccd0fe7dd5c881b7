/* SPDX-License-Identifier: MIT */
/*
 * parse_json.c — the parser's public face: event and rejection names, the
 * kernel's address rendering (so readers print endpoints exactly as the
 * kernel did), and the `wgmon parse` JSON object of one line.
 */
#include <stdbool.h>
#include <string.h>

#include "parse/parse.h"
#include "parse/parse_internal.h"

/* Released names: they appear in metrics, Redis and JSON; never change them. */
static const char *const event_names[PARSE_EV__COUNT] = {
        [PARSE_EV_NONE] = "none",
        [PARSE_EV_COOKIE_DECRYPT_FAILED] = "cookie_decrypt_failed",
        [PARSE_EV_SEND_NO_ROUTE] = "send_no_route",
        [PARSE_EV_COOKIE_RESPONSE_RECEIVED] = "cookie_response_received",
        [PARSE_EV_HANDSHAKE_MAC_INVALID] = "handshake_mac_invalid",
        [PARSE_EV_HANDSHAKE_INITIATION_INVALID] = "handshake_initiation_invalid",
        [PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] = "handshake_initiation_received",
        [PARSE_EV_HANDSHAKE_RESPONSE_INVALID] = "handshake_response_invalid",
        [PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED] = "handshake_response_received",
        [PARSE_EV_KEEPALIVE_RECEIVED] = "keepalive_received",
        [PARSE_EV_PACKET_SRC_UNALLOWED] = "packet_src_unallowed",
        [PARSE_EV_PACKET_NOT_IP] = "packet_not_ip",
        [PARSE_EV_PACKET_SIZE_INVALID] = "packet_size_invalid",
        [PARSE_EV_PACKET_NONCE_INVALID] = "packet_nonce_invalid",
        [PARSE_EV_HANDSHAKE_PACKET_DROPPED] = "handshake_packet_dropped",
        [PARSE_EV_HANDSHAKE_INITIATION_SENT] = "handshake_initiation_sent",
        [PARSE_EV_HANDSHAKE_RESPONSE_SENT] = "handshake_response_sent",
        [PARSE_EV_COOKIE_RESPONSE_SENT] = "cookie_response_sent",
        [PARSE_EV_KEEPALIVE_SENT] = "keepalive_sent",
        [PARSE_EV_HANDSHAKE_GAVE_UP] = "handshake_gave_up",
        [PARSE_EV_HANDSHAKE_RETRY] = "handshake_retry",
        [PARSE_EV_HANDSHAKE_RESTART] = "handshake_restart",
        [PARSE_EV_KEYS_ZEROED] = "keys_zeroed",
        [PARSE_EV_PEER_CREATED] = "peer_created",
        [PARSE_EV_PEER_DESTROYED] = "peer_destroyed",
        [PARSE_EV_XMIT_INVALID_PACKET] = "xmit_invalid_packet",
        [PARSE_EV_XMIT_NO_ALLOWED_IPS] = "xmit_no_allowed_ips",
        [PARSE_EV_XMIT_NO_ENDPOINT] = "xmit_no_endpoint",
        [PARSE_EV_INTERFACE_DESTROYED] = "interface_destroyed",
        [PARSE_EV_INTERFACE_CREATED] = "interface_created",
        [PARSE_EV_NETNS_EXITING] = "netns_exiting",
        [PARSE_EV_KEYPAIR_DESTROYED] = "keypair_destroyed",
        [PARSE_EV_KEYPAIR_CREATED] = "keypair_created",
        [PARSE_EV_MODULE_LOADED] = "module_loaded",
        [PARSE_EV_MODULE_BANNER] = "module_banner",
        [PARSE_EV_SOCKET_CREATE_FAILED] = "socket_create_failed",
        [PARSE_EV_PACKET_GRO_DROPPED] = "packet_gro_dropped",
        [PARSE_EV_RATELIMIT_SUPPRESSED] = "ratelimit_suppressed",
};

static const char *const reject_names[PARSE_REJECT__COUNT] = {
        [PARSE_OK] = "ok",
        [PARSE_REJECT_NOT_WIREGUARD] = "not_wireguard",
        [PARSE_REJECT_UNKNOWN_MESSAGE] = "unknown_message",
        [PARSE_REJECT_BAD_IFACE] = "bad_iface",
        [PARSE_REJECT_BAD_NUMBER] = "bad_number",
        [PARSE_REJECT_BAD_ENDPOINT] = "bad_endpoint",
        [PARSE_REJECT_BAD_ENVELOPE] = "bad_envelope",
        [PARSE_REJECT_SPOOFED_FACILITY] = "spoofed_facility",
        [PARSE_REJECT_TRUNCATED] = "truncated",
        [PARSE_REJECT_TOO_LONG] = "too_long",
};

const uint16_t parse_seg_field[SEG__COUNT] = {
        [SEG_PEER] = PARSE_F_PEER,       [SEG_ENDPOINT] = PARSE_F_ENDPOINT,
        [SEG_ADDR_C] = PARSE_F_ADDR,     [SEG_ADDR_FULL] = PARSE_F_ADDR,
        [SEG_ERROR] = PARSE_F_ERROR,     [SEG_ATTEMPTS] = PARSE_F_ATTEMPTS,
        [SEG_SECONDS] = PARSE_F_SECONDS, [SEG_TRY] = PARSE_F_TRY,
        [SEG_NONCE] = PARSE_F_NONCE,     [SEG_NONCE_MAX] = PARSE_F_NONCE_MAX,
        [SEG_KEYPAIR] = PARSE_F_KEYPAIR, [SEG_COUNT] = PARSE_F_COUNT,
        [SEG_VERSION] = PARSE_F_VERSION,
};

const char *parse_event_name(unsigned kind)
{
	return kind < PARSE_EV__COUNT ? event_names[kind] : NULL;
}

const char *parse_reject_name(unsigned reason)
{
	return reason < PARSE_REJECT__COUNT ? reject_names[reason] : NULL;
}

unsigned parse_event_lookup(const char *name, size_t len)
{
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		if (strlen(event_names[k]) == len && !memcmp(event_names[k], name, len))
			return k;
	return PARSE_EV_NONE;
}

/* --------------------------------------------------------- address text */

static char *u64_text(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *ip4_text(char *p, const uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = u64_text(p, a[i]);
	}
	return p;
}

static char *hex16_text(char *p, unsigned w, bool pad)
{
	static const char hex[] = "0123456789abcdef";
	bool lead = !pad;

	for (int shift = 12; shift >= 0; shift -= 4) {
		unsigned d = (w >> shift) & 0xf;

		if (lead && !d && shift)
			continue;
		lead = false;
		*p++ = hex[d];
	}
	return p;
}

/*
 * The kernel's ip6_compressed_string(): the first longest run of ≥ 2 zero
 * words becomes "::"; v4-mapped and ISATAP addresses end in dotted IPv4.
 */
size_t parse_addr6_compressed(const uint8_t a[16], char *buf)
{
	unsigned w[8];
	int range, colonpos = -1, longest = 1;
	bool needcolon = false, v4;
	char *p = buf;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	v4 = (!w[0] && !w[1] && !w[2] && !w[3] && !w[4] && w[5] == 0xffff) ||
	     ((w[4] | 0x0200) == 0x0200 && w[5] == 0x5efe);
	range = v4 ? 6 : 8;
	for (int i = 0; i < range; i++) {
		int run = 0;

		while (i + run < range && !w[i + run])
			run++;
		if (run > longest) {
			longest = run;
			colonpos = i;
		}
	}
	for (int i = 0; i < range; i++) {
		if (i == colonpos) {
			if (needcolon || i == 0)
				*p++ = ':';
			*p++ = ':';
			needcolon = false;
			i += longest - 1;
			continue;
		}
		if (needcolon)
			*p++ = ':';
		p = hex16_text(p, w[i], false);
		needcolon = true;
	}
	if (v4) {
		if (needcolon)
			*p++ = ':';
		p = ip4_text(p, a + 12);
	}
	return (size_t)(p - buf);
}

size_t parse_endpoint_format(const struct parse_endpoint *ep, int style, char *buf, size_t cap)
{
	char tmp[96], *p = tmp;

	switch (ep->af) {
	case PARSE_AF_INET:
		p = ip4_text(p, ep->addr);
		if (style == PARSE_STYLE_ENDPOINT) {
			*p++ = ':';
			p = u64_text(p, ep->port);
		}
		break;
	case PARSE_AF_INET6:
		if (style == PARSE_STYLE_UNCOMPRESSED) {
			for (int i = 0; i < 8; i++) {
				if (i)
					*p++ = ':';
				p = hex16_text(p,
				               (unsigned)ep->addr[2 * i] << 8 | ep->addr[2 * i + 1],
				               true);
			}
			break;
		}
		if (style == PARSE_STYLE_ENDPOINT)
			*p++ = '[';
		p += parse_addr6_compressed(ep->addr, p);
		if (style == PARSE_STYLE_ENDPOINT) {
			*p++ = ']';
			*p++ = ':';
			p = u64_text(p, ep->port);
			*p++ = '/';
			p = u64_text(p, ep->flowinfo);
			*p++ = '%';
			p = u64_text(p, ep->scope);
		}
		break;
	case PARSE_AF_UNSET:
		memcpy(p, "(einval)", 8);
		p += 8;
		break;
	default: break;
	}
	if ((size_t)(p - tmp) + 1 > cap)
		return 0;
	memcpy(buf, tmp, (size_t)(p - tmp));
	buf[p - tmp] = '\0';
	return (size_t)(p - tmp);
}

/* ------------------------------------------------------------------ JSON */

/* A bounded writer: once full, it stays full and the result is reported as 0. */
struct out {
	char *p, *end;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || (size_t)(o->end - o->p) < n) {
		o->full = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}
#define PUT(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_u64(struct out *o, uint64_t v)
{
	char tmp[24];

	put(o, tmp, (size_t)(u64_text(tmp, v) - tmp));
}

static void put_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		PUT(o, "-");
		put_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(o, (uint64_t)v);
	}
}

/* Length of the valid UTF-8 sequence at s (≤ n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	uint32_t cp;

	if (!len || len > n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	cp = len == 2   ? 0
	     : len == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6
	                : (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12;
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * A JSON string. Valid UTF-8 is copied; control bytes and bytes that are not
 * UTF-8 (an interface name may hold any byte) become \u00XX, so the output
 * is always valid JSON and never loses a byte's identity.
 */
static void json_string(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;

	PUT(o, "\"");
	for (size_t i = 0; i < n;) {
		size_t run = i;

		while (run < n && u[run] >= 0x20 && u[run] < 0x7f && u[run] != '"' &&
		       u[run] != '\\')
			run++;
		put(o, s + i, run - i);
		if ((i = run) >= n)
			break;
		if (u[i] == '"' || u[i] == '\\') {
			char esc[2] = {'\\', (char)u[i]};

			put(o, esc, 2);
			i++;
			continue;
		}
		if (u[i] >= 0x80) {
			size_t len = utf8_seq(u + i, n - i);

			if (len) {
				put(o, s + i, len);
				i += len;
				continue;
			}
		}
		char esc[6] = {'\\', 'u', '0', '0', hex[u[i] >> 4], hex[u[i] & 0xf]};

		put(o, esc, 6);
		i++;
	}
	PUT(o, "\"");
}

static void put_key(struct out *o, const char *key)
{
	PUT(o, ",\"");
	put(o, key, strlen(key));
	PUT(o, "\":");
}

/* "endpoint", then its parts: ip, port, and for IPv6 flowinfo and scope. */
static void put_endpoint(struct out *o, const struct parse_event *ev)
{
	const struct parse_endpoint *ep = &ev->endpoint;
	const char *ip = ev->endpoint_text;
	size_t ip_len;

	put_key(o, "endpoint");
	json_string(o, ev->endpoint_text, ev->endpoint_len);
	if (ep->af != PARSE_AF_INET && ep->af != PARSE_AF_INET6)
		return;
	/* The text was validated as the kernel prints it: the address is inside it. */
	if (ep->af == PARSE_AF_INET6)
		ip++;
	for (ip_len = 0; ip[ip_len] != (ep->af == PARSE_AF_INET6 ? ']' : ':'); ip_len++)
		;
	put_key(o, "ip");
	json_string(o, ip, ip_len);
	put_key(o, "port");
	put_u64(o, ep->port);
	if (ep->af == PARSE_AF_INET6) {
		put_key(o, "flowinfo");
		put_u64(o, ep->flowinfo);
		put_key(o, "scope");
		put_u64(o, ep->scope);
	}
}

static void put_field(struct out *o, int seg, const struct parse_event *ev)
{
	switch (seg) {
	case SEG_PEER: put_key(o, "peer"), put_u64(o, ev->peer); break;
	case SEG_ENDPOINT: put_endpoint(o, ev); break;
	case SEG_ADDR_C:
	case SEG_ADDR_FULL: put_key(o, "addr"), json_string(o, ev->addr_text, ev->addr_len); break;
	case SEG_ERROR: put_key(o, "error"), put_i64(o, (int64_t)ev->n[0]); break;
	case SEG_ATTEMPTS: put_key(o, "attempts"), put_i64(o, (int64_t)ev->n[0]); break;
	case SEG_SECONDS: put_key(o, "seconds"), put_i64(o, (int64_t)ev->n[0]); break;
	case SEG_COUNT: put_key(o, "count"), put_i64(o, (int64_t)ev->n[0]); break;
	case SEG_TRY: put_key(o, "try"), put_i64(o, (int64_t)ev->n[1]); break;
	case SEG_NONCE: put_key(o, "nonce"), put_u64(o, ev->n[0]); break;
	case SEG_NONCE_MAX: put_key(o, "nonce_max"), put_u64(o, ev->n[1]); break;
	case SEG_KEYPAIR: put_key(o, "keypair"), put_u64(o, ev->n[0]); break;
	case SEG_VERSION:
		put_key(o, "version"), json_string(o, ev->version, ev->version_len);
		break;
	default: break;
	}
}

size_t parse_event_json(int reason, const struct parse_event *ev, char *buf, size_t cap)
{
	struct out o = {buf, buf + (cap ? cap - 1 : 0), cap == 0};
	const char *name;

	if (reason != PARSE_OK) {
		name = parse_reject_name((unsigned)reason);
		PUT(&o, "{\"reject\":");
		json_string(&o, name ? name : "unknown", strlen(name ? name : "unknown"));
		PUT(&o, "}");
		goto done;
	}
	name = parse_event_name(ev->kind);
	PUT(&o, "{\"event\":");
	json_string(&o, name, strlen(name));
	if (ev->host_len) {
		put_key(&o, "host");
		json_string(&o, ev->host, ev->host_len);
	}
	if (ev->iface_len) {
		put_key(&o, "iface");
		json_string(&o, ev->iface, ev->iface_len);
	}
	for (const struct parse_seg *s = parse_msg_segs[ev->kind]; s && s->type != SEG_END; s++)
		put_field(&o, s->type, ev);
	if (ev->fields & PARSE_F_FAMILY) {
		put_key(&o, "family");
		put_u64(&o, ev->n[0]);
	}
	if (ev->fields & PARSE_F_REPEAT) {
		put_key(&o, "repeat");
		put_u64(&o, ev->repeat);
	}
	PUT(&o, "}");
done:
	if (o.full)
		return 0;
	*o.p = '\0';
	return (size_t)(o.p - buf);
}
