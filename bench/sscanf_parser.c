/* SPDX-License-Identifier: MIT */
/*
 * sscanf_parser — the baseline parse_line() is measured against: the parser a
 * competent C programmer writes in an afternoon with the C library (copy the
 * line, strstr() for "wireguard: ", sscanf() each known format in turn, check
 * the whole message matched with %n, endpoints through sscanf and inet_pton).
 * It is honest work, not a straw man: it recognises the common messages and
 * extracts the same fields for them. It is not used by wgmon itself.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "parse/parse.h"

#define BASELINE_LINE_MAX 4096

enum baseline_shape {
	SHAPE_PEER_EP,  /* "… peer %llu (EP)…" */
	SHAPE_EP,       /* "… EP" from a packet */
	SHAPE_PEER,     /* "… peer %llu …" */
	SHAPE_KEYPAIR,  /* "Keypair %llu … peer %llu" */
	SHAPE_RETRY,    /* "… peer %llu (EP) … %d seconds, retrying (try %d)" */
	SHAPE_NO_ROUTE, /* "No route to EP, error %d" */
	SHAPE_TEXT,     /* fixed text */
};

struct baseline_format {
	const char *fmt; /* ends in %n, so a full match is provable */
	int kind;
	int shape;
};

/* Most frequent first, as anyone tuning this by hand would order them. */
static const struct baseline_format baseline_formats[] = {
        {"Receiving keepalive packet from peer %llu (%127[^)])%n", PARSE_EV_KEEPALIVE_RECEIVED,
         SHAPE_PEER_EP},
        {"Sending keepalive packet to peer %llu (%127[^)])%n", PARSE_EV_KEEPALIVE_SENT,
         SHAPE_PEER_EP},
        {"Sending handshake initiation to peer %llu (%127[^)])%n",
         PARSE_EV_HANDSHAKE_INITIATION_SENT, SHAPE_PEER_EP},
        {"Receiving handshake initiation from peer %llu (%127[^)])%n",
         PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, SHAPE_PEER_EP},
        {"Sending handshake response to peer %llu (%127[^)])%n", PARSE_EV_HANDSHAKE_RESPONSE_SENT,
         SHAPE_PEER_EP},
        {"Receiving handshake response from peer %llu (%127[^)])%n",
         PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED, SHAPE_PEER_EP},
        {"Keypair %llu created for peer %llu%n", PARSE_EV_KEYPAIR_CREATED, SHAPE_KEYPAIR},
        {"Keypair %llu destroyed for peer %llu%n", PARSE_EV_KEYPAIR_DESTROYED, SHAPE_KEYPAIR},
        {"Handshake for peer %llu (%127[^)]) did not complete after %d seconds, retrying (try "
         "%d)%n",
         PARSE_EV_HANDSHAKE_RETRY, SHAPE_RETRY},
        {"Retrying handshake with peer %llu (%127[^)]) because we stopped hearing back after 15 "
         "seconds%n",
         PARSE_EV_HANDSHAKE_RESTART, SHAPE_PEER_EP},
        {"No route to %127[^,], error %d%n", PARSE_EV_SEND_NO_ROUTE, SHAPE_NO_ROUTE},
        {"Invalid MAC of handshake, dropping packet from %127s%n", PARSE_EV_HANDSHAKE_MAC_INVALID,
         SHAPE_EP},
        {"Handshake for peer %llu (%127[^)]) did not complete after 20 attempts, giving up%n",
         PARSE_EV_HANDSHAKE_GAVE_UP, SHAPE_PEER_EP},
        {"Zeroing out all keys for peer %llu (%127[^)]), since we haven't received a new one in "
         "540 "
         "seconds%n",
         PARSE_EV_KEYS_ZEROED, SHAPE_PEER_EP},
        {"Receiving cookie response from %127s%n", PARSE_EV_COOKIE_RESPONSE_RECEIVED, SHAPE_EP},
        {"Invalid handshake initiation from %127s%n", PARSE_EV_HANDSHAKE_INITIATION_INVALID,
         SHAPE_EP},
        {"Invalid handshake response from %127s%n", PARSE_EV_HANDSHAKE_RESPONSE_INVALID, SHAPE_EP},
        {"Dropping handshake packet from %127s%n", PARSE_EV_HANDSHAKE_PACKET_DROPPED, SHAPE_EP},
        {"Sending cookie response for denied handshake message for %127s%n",
         PARSE_EV_COOKIE_RESPONSE_SENT, SHAPE_EP},
        {"Peer %llu created%n", PARSE_EV_PEER_CREATED, SHAPE_PEER},
        {"Peer %llu (%127[^)]) destroyed%n", PARSE_EV_PEER_DESTROYED, SHAPE_PEER_EP},
        {"No valid endpoint has been configured or discovered for peer %llu%n",
         PARSE_EV_XMIT_NO_ENDPOINT, SHAPE_PEER},
        {"Interface created%n", PARSE_EV_INTERFACE_CREATED, SHAPE_TEXT},
        {"Interface destroyed%n", PARSE_EV_INTERFACE_DESTROYED, SHAPE_TEXT},
};

/* "1.2.3.4:5", "[v6]:port/flow%scope" or "(einval" (the ")" was eaten by %[^)]). */
static int baseline_endpoint(const char *s, struct baseline_event *ev)
{
	char addr[64];

	if (s[0] == '(') {
		ev->af = 0;
		return strncmp(s, "(einval", 7) == 0 ? 0 : -1;
	}
	if (s[0] == '[') {
		if (sscanf(s, "[%45[^]]]:%hu/%u%%%u", addr, &ev->port, &ev->flowinfo, &ev->scope) !=
		    4)
			return -1;
		ev->af = 6;
		return inet_pton(AF_INET6, addr, ev->addr) == 1 ? 0 : -1;
	}
	if (sscanf(s, "%15[0-9.]:%hu", addr, &ev->port) != 2)
		return -1;
	ev->af = 4;
	return inet_pton(AF_INET, addr, ev->addr) == 1 ? 0 : -1;
}

/* The HOSTNAME of the syslog envelopes; "" for the others. */
static void baseline_host(const char *buf, char *host)
{
	int pri;

	host[0] = '\0';
	if (buf[0] != '<')
		return;
	if (sscanf(buf, "<%d>1 %*s %255s", &pri, host) == 2)
		return;
	if (sscanf(buf, "<%d>%*3s %*d %*d:%*d:%*d %255s", &pri, host) == 2)
		return;
	if (sscanf(buf, "<%d>%*s %255s", &pri, host) != 2)
		host[0] = '\0';
}

static int baseline_message(const char *msg, const struct baseline_format *f,
                            struct baseline_event *ev)
{
	char ep[128];
	int n = 0, err = 0, got;

	switch (f->shape) {
	case SHAPE_PEER_EP: got = sscanf(msg, f->fmt, &ev->peer, ep, &n) == 2; break;
	case SHAPE_EP: got = sscanf(msg, f->fmt, ep, &n) == 1; break;
	case SHAPE_PEER: got = sscanf(msg, f->fmt, &ev->peer, &n) == 1; break;
	case SHAPE_KEYPAIR: got = sscanf(msg, f->fmt, &ev->keypair, &ev->peer, &n) == 2; break;
	case SHAPE_RETRY:
		got = sscanf(msg, f->fmt, &ev->peer, ep, &err, &ev->try_no, &n) == 4;
		break;
	case SHAPE_NO_ROUTE: got = sscanf(msg, f->fmt, ep, &err, &n) == 2; break;
	default: got = sscanf(msg, f->fmt, &n) == 0; break;
	}
	if (!got || n == 0 || msg[n] != '\0')
		return -1;
	if (f->shape == SHAPE_PEER_EP || f->shape == SHAPE_EP || f->shape == SHAPE_RETRY ||
	    f->shape == SHAPE_NO_ROUTE)
		return baseline_endpoint(ep, ev);
	return 0;
}

int baseline_parse_line(const char *line, size_t len, struct baseline_event *ev)
{
	char buf[BASELINE_LINE_MAX], *p;
	size_t m;
	int n = 0;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	memset(ev, 0, sizeof(*ev));
	baseline_host(buf, ev->host);
	p = strstr(buf, "wireguard: ");
	if (!p) {
		p = strstr(buf, "net_ratelimit: ");
		ev->kind = PARSE_EV_RATELIMIT_SUPPRESSED;
		return p && sscanf(p, "net_ratelimit: %llu callbacks suppressed", &ev->peer) == 1
		               ? 0
		               : -1;
	}
	if (sscanf(p + 11, "%15[^:]: %n", ev->iface, &n) != 1 || n == 0)
		return -1;
	p += 11 + n;
	m = strlen(p);
	if (m && p[m - 1] == ']') /* rsyslog's "message repeated N times: [ … ]" */
		p[m - 1] = '\0';
	for (size_t i = 0; i < sizeof(baseline_formats) / sizeof(baseline_formats[0]); i++) {
		if (baseline_message(p, &baseline_formats[i], ev) == 0) {
			ev->kind = baseline_formats[i].kind;
			return 0;
		}
	}
	return -1;
}
