/* SPDX-License-Identifier: MIT */
/*
 * parse — one WireGuard kernel log line in, one fixed-size event out.
 *
 * The parser understands every message of ../shared/spec/kernel-messages.md §3
 * (M1–M38, the 5.6–5.7 legacy line and the net_ratelimit marker), inside every
 * envelope of §8 and every dynamic-debug decoration of §7. It never allocates,
 * never uses a regex or the locale, and never reads past `len`: one call, one
 * verdict. Any thread may call it; it keeps no state between calls.
 */
#ifndef WGMON_PARSE_H
#define WGMON_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Limits (the only ones the parser has). */
#define PARSE_LINE_MAX    4096 /* longer lines are rejected as too_long */
#define PARSE_IFACE_MAX   15   /* IFNAMSIZ - 1 */
#define PARSE_HOST_MAX    255  /* RFC 5424 HOSTNAME */
#define PARSE_VERSION_MAX 31   /* "1.0.20220627" fits many times over */

/*
 * Event kinds. The numeric values are part of the shared-memory ABI (per-kind
 * counters are indexed by them): append only, never reorder.
 */
enum parse_event_kind {
	PARSE_EV_NONE = 0,
	PARSE_EV_COOKIE_DECRYPT_FAILED,
	PARSE_EV_SEND_NO_ROUTE,
	PARSE_EV_COOKIE_RESPONSE_RECEIVED,
	PARSE_EV_HANDSHAKE_MAC_INVALID,
	PARSE_EV_HANDSHAKE_INITIATION_INVALID,
	PARSE_EV_HANDSHAKE_INITIATION_RECEIVED,
	PARSE_EV_HANDSHAKE_RESPONSE_INVALID,
	PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED,
	PARSE_EV_KEEPALIVE_RECEIVED,
	PARSE_EV_PACKET_SRC_UNALLOWED,
	PARSE_EV_PACKET_NOT_IP,
	PARSE_EV_PACKET_SIZE_INVALID,
	PARSE_EV_PACKET_NONCE_INVALID,
	PARSE_EV_HANDSHAKE_PACKET_DROPPED,
	PARSE_EV_HANDSHAKE_INITIATION_SENT,
	PARSE_EV_HANDSHAKE_RESPONSE_SENT,
	PARSE_EV_COOKIE_RESPONSE_SENT,
	PARSE_EV_KEEPALIVE_SENT,
	PARSE_EV_HANDSHAKE_GAVE_UP,
	PARSE_EV_HANDSHAKE_RETRY,
	PARSE_EV_HANDSHAKE_RESTART,
	PARSE_EV_KEYS_ZEROED,
	PARSE_EV_PEER_CREATED,
	PARSE_EV_PEER_DESTROYED,
	PARSE_EV_XMIT_INVALID_PACKET,
	PARSE_EV_XMIT_NO_ALLOWED_IPS,
	PARSE_EV_XMIT_NO_ENDPOINT,
	PARSE_EV_INTERFACE_DESTROYED,
	PARSE_EV_INTERFACE_CREATED,
	PARSE_EV_NETNS_EXITING,
	PARSE_EV_KEYPAIR_DESTROYED,
	PARSE_EV_KEYPAIR_CREATED,
	PARSE_EV_MODULE_LOADED,
	PARSE_EV_MODULE_BANNER,
	PARSE_EV_SOCKET_CREATE_FAILED,
	PARSE_EV_PACKET_GRO_DROPPED,
	PARSE_EV_RATELIMIT_SUPPRESSED,
	PARSE_EV__COUNT
};

/* Rejection reasons; 0 means "parsed". Also ABI (counter indices). */
enum parse_reject {
	PARSE_OK = 0,
	PARSE_REJECT_NOT_WIREGUARD,
	PARSE_REJECT_UNKNOWN_MESSAGE,
	PARSE_REJECT_BAD_IFACE,
	PARSE_REJECT_BAD_NUMBER,
	PARSE_REJECT_BAD_ENDPOINT,
	PARSE_REJECT_BAD_ENVELOPE,
	PARSE_REJECT_SPOOFED_FACILITY,
	PARSE_REJECT_TRUNCATED,
	PARSE_REJECT_TOO_LONG,
	PARSE_REJECT__COUNT
};

/* Which fields an event carries (a bit each); fixed by its kind. */
enum parse_field {
	PARSE_F_PEER = 1u << 0,
	PARSE_F_ENDPOINT = 1u << 1,
	PARSE_F_ADDR = 1u << 2,
	PARSE_F_ERROR = 1u << 3,
	PARSE_F_ATTEMPTS = 1u << 4,
	PARSE_F_SECONDS = 1u << 5,
	PARSE_F_TRY = 1u << 6,
	PARSE_F_NONCE = 1u << 7,
	PARSE_F_NONCE_MAX = 1u << 8,
	PARSE_F_KEYPAIR = 1u << 9,
	PARSE_F_COUNT = 1u << 10,
	PARSE_F_FAMILY = 1u << 11,
	PARSE_F_VERSION = 1u << 12,
	PARSE_F_REPEAT = 1u << 13, /* the line was "message repeated N times: [ … ]" */
};

/* An address as the kernel printed it, in binary. */
enum parse_af {
	PARSE_AF_NONE = 0,  /* the message has no such field */
	PARSE_AF_UNSET = 1, /* "(einval)" or "(invalid address)": no endpoint */
	PARSE_AF_INET = 4,
	PARSE_AF_INET6 = 6,
};

struct parse_endpoint {
	uint8_t af; /* enum parse_af */
	uint8_t _pad;
	uint16_t port;     /* host order */
	uint32_t flowinfo; /* IPv6 only */
	uint32_t scope;    /* IPv6 only */
	uint8_t addr[16];  /* network order; IPv4 in addr[0..3] */
};

/*
 * One parsed line. Numbers are stored by meaning (`peer`, `n[0]`, `n[1]`), so
 * a worker can turn the event into a table update without looking at text.
 * The text slices (`host`, `endpoint_text`, `addr_text`, `version`) point into
 * the caller's line and are valid exactly as long as that buffer is.
 *
 *   n[0]: error (as int64), attempts, seconds, nonce, keypair, count, family
 *   n[1]: try (M21), nonce_max (M14)
 */
struct parse_event {
	uint8_t kind;      /* enum parse_event_kind */
	uint8_t iface_len; /* 0: the message has no interface */
	uint8_t host_len;  /* 0: local host (no HOSTNAME in the envelope) */
	uint8_t endpoint_len;
	uint8_t addr_len;
	uint8_t version_len;
	uint16_t fields; /* enum parse_field bits */
	uint32_t repeat; /* 1, or N of rsyslog's "message repeated N times" */
	uint32_t _pad;
	uint64_t peer;
	uint64_t n[2];
	struct parse_endpoint endpoint;
	struct parse_endpoint addr;      /* inner address of M11/M27/M28 (port 0) */
	char iface[PARSE_IFACE_MAX + 1]; /* unescaped, NUL-terminated */
	const char *host;
	const char *endpoint_text;
	const char *addr_text;
	const char *version;
};

/*
 * parse_line() - parse one line (without or with its trailing "\n" / "\r\n").
 * @line: the bytes; need not be NUL-terminated and may contain NULs.
 * @len:  their number.
 * @ev:   filled on success; its contents are unspecified on rejection.
 *
 * Returns PARSE_OK or a rejection reason (enum parse_reject).
 */
int parse_line(const char *line, size_t len, struct parse_event *ev);

/* Canonical names ("keepalive_received", "bad_endpoint"); NULL if out of range. */
const char *parse_event_name(unsigned kind);
const char *parse_reject_name(unsigned reason);
/* The kind named `name` (length `len`), or PARSE_EV_NONE. */
unsigned parse_event_lookup(const char *name, size_t len);

/*
 * parse_endpoint_format() - render an endpoint exactly as the kernel's %pISpfsc
 * (or %pISc / %pI6 for addresses, see `style`) prints it. Returns the length
 * written (NUL-terminated), or 0 if `cap` is too small. 64 bytes always suffice.
 */
enum parse_addr_style {
	PARSE_STYLE_ENDPOINT = 0, /* %pISpfsc: 1.2.3.4:5 / [v6c]:p/f%s / (einval) */
	PARSE_STYLE_COMPRESSED,   /* %pISc: address only, v6 compressed */
	PARSE_STYLE_UNCOMPRESSED, /* %pI6: 8 groups of 4 hex digits */
};
size_t parse_endpoint_format(const struct parse_endpoint *ep, int style, char *buf, size_t cap);

/*
 * parse_event_json() - the `wgmon parse` JSON object of one event (or of
 * rejection `reason` when it is not PARSE_OK), without a newline. Returns the
 * length written (NUL-terminated), or 0 if `cap` is too small. PARSE_JSON_MAX
 * always suffices.
 */
#define PARSE_JSON_MAX 4096
size_t parse_event_json(int reason, const struct parse_event *ev, char *buf, size_t cap);

#endif /* WGMON_PARSE_H */
