/* SPDX-License-Identifier: MIT */
/*
 * cmd_doctor.c — `wgmon doctor`: every peer, interface and host in trouble, with the likely
 * cause, the evidence (which events, how many, since when) and the fix, in operators' words.
 *
 * Evidence comes from two places. The table holds lifetime facts: per-peer and per-interface
 * counters and the times of the latest handshake, retry, give-up, keys zeroed. The event ring
 * holds the recent events themselves, which is the only place where events that carry just an
 * endpoint (invalid MACs, no route, cookies) can be matched to the peer whose current endpoint
 * it is, and where "since" and "after the latest handshake" can be told. So:
 *
 *   ring  -> evidence events, sorted three ways (by peer, by endpoint, by place)
 *   table -> per peer: match its (host, iface, endpoint) and (host, peer) ranges -> findings
 *            per interface: counters + endpoint events no peer claimed           -> findings
 *            per host: kernel rate-limit suppressions                            -> findings
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/shm.h"
#include "tools/config.h"
#include "tools/tools.h"
#include "tools/tools_view.h"

#define DOC_SCAN_MAX      (1u << 20) /* ring records looked at, the most recent ones */
#define DOC_EVIDENCE_MAX  6          /* evidence entries of one finding */
#define DOC_DETAIL_MAX    192
#define DOC_DISTINCT_MAX  3 /* addresses or endpoints named in a detail */
#define DOC_REBIND_HOUR   6 /* endpoint changes per hour that make nat_rebinding */
#define DOC_HOUR_NS       (3600 * VIEW_NS)
#define DOC_WIDTH         80
#define DOC_EXIT_FINDINGS 3

enum doc_cause {
	DC_KEY_MISMATCH,
	DC_NO_RESPONSE,
	DC_NO_ROUTE,
	DC_ALLOWEDIPS_INBOUND,
	DC_ALLOWEDIPS_OUTBOUND,
	DC_NO_ENDPOINT,
	DC_NAT_REBINDING,
	DC_UNDER_LOAD,
	DC_KEYS_EXPIRED,
	DC_BAD_PACKETS,
	DC_INTERFACE_DOWN,
	DC_KERNEL_RATELIMITED,
	DC_INACTIVE,
	DC__COUNT
};

struct doc_cause_text {
	const char *code;
	const char *what;
	const char *fix;
	const char *what_place; /* for an interface finding, when it differs */
};

/* The words operators use when they troubleshoot WireGuard. */
static const struct doc_cause_text doc_text[DC__COUNT] = {
        [DC_KEY_MISMATCH] =
                {"key_mismatch",
                 "Handshakes from the peer's endpoint fail the key check (invalid MAC or "
                 "invalid handshake): the keys on the two sides do not match.",
                 "Compare keys: this [Peer]'s PublicKey must be the public key of "
                 "the peer's private key (wg pubkey < private.key on the peer), and "
                 "the peer's [Peer] for us must hold our public key (wg show IFACE "
                 "public-key). PresharedKey must be the same on both sides, or "
                 "absent on both.",
                 "Handshakes with a wrong key (invalid MAC or invalid handshake) "
                 "arrive from endpoints that are no known peer's: a peer whose key "
                 "changed before wgmon saw its endpoint, or a scanner."},
        [DC_NO_RESPONSE] = {"no_response",
                            "Handshake initiations are sent and retried, but no response comes "
                            "back: the UDP port is blocked, the endpoint is wrong, or the peer is "
                            "down.",
                            "Check that the peer is running (wg show on it) and that Endpoint "
                            "has its right address and port; open the peer's UDP ListenPort in "
                            "every firewall, security group and NAT on the way (tcpdump -ni any "
                            "udp port PORT on the peer shows whether the packets arrive)."},
        [DC_NO_ROUTE] = {"no_route",
                         "The kernel has no route to the endpoint (send_no_route): packets to it "
                         "cannot leave this host.",
                         "Check the route: ip route get ADDRESS on this host. A missing default "
                         "route, a blackhole or prohibit route, or a policy-routing rule "
                         "(wg-quick's Table and fwmark) causes it; fix the route or the "
                         "Endpoint.",
                         "The kernel has no route to endpoints that are no known peer's "
                         "(send_no_route)."},
        [DC_ALLOWEDIPS_INBOUND] = {"allowedips_inbound",
                                   "The peer sends packets from source addresses outside its "
                                   "AllowedIPs, and the kernel drops them.",
                                   "Add those addresses (or their prefix) to this [Peer]'s "
                                   "AllowedIPs, or fix the Address the peer sends from. "
                                   "AllowedIPs is also the routing table: one prefix cannot "
                                   "belong to two peers."},
        [DC_ALLOWEDIPS_OUTBOUND] = {"allowedips_outbound",
                                    "Packets are routed into this interface to addresses that no "
                                    "peer's AllowedIPs covers, and the kernel drops them.",
                                    "Add the destination prefixes to the AllowedIPs of the peer "
                                    "that should carry them, or fix the route that sends this "
                                    "traffic into the interface."},
        [DC_NO_ENDPOINT] = {"no_endpoint",
                            "The peer has no endpoint: no Endpoint is configured and the peer "
                            "never reached us, so the kernel has nowhere to send its packets.",
                            "Set Endpoint = HOST:PORT for this peer, or let the peer initiate: "
                            "give it our Endpoint and PersistentKeepalive = 25, and we learn its "
                            "address from its first handshake."},
        [DC_NAT_REBINDING] = {"nat_rebinding",
                              "The peer's endpoint changes often: a NAT in front of it hands "
                              "out new ports when its mapping expires (or the peer roams).",
                              "Set PersistentKeepalive = 25 on the peer behind the NAT so the "
                              "mapping stays open; if it still rebinds, raise the NAT's UDP "
                              "timeout. Roaming clients move on purpose: that is harmless."},
        [DC_UNDER_LOAD] = {"under_load",
                           "The interface is under load: it answers handshakes with cookies "
                           "and drops handshake packets.",
                           "Look for a handshake flood (wgmon events --event "
                           "cookie_response_sent shows the sources) and filter or rate-limit the "
                           "UDP port upstream; check the CPU load of this host. Legitimate peers "
                           "still connect, more slowly."},
        [DC_KEYS_EXPIRED] = {"keys_expired",
                             "The session keys were zeroed (no new handshake for 9 minutes) and "
                             "no handshake completed since: the tunnel is idle or the peer is "
                             "gone.",
                             "If the tunnel must stay up, set PersistentKeepalive = 25; "
                             "otherwise check that the peer is running and reachable. Traffic "
                             "to it starts a new handshake."},
        [DC_BAD_PACKETS] = {"bad_packets",
                            "Malformed data packets arrive: wrong size, not IP, or an invalid "
                            "nonce.",
                            "Usually the MTU or a path that mangles UDP: lower MTU on both sides "
                            "(1420 is the default; try 1380, or 1280 over PPPoE, mobile or "
                            "nested tunnels). Nonce errors alone can come from reordering."},
        [DC_INTERFACE_DOWN] = {"interface_down",
                               "The interface was destroyed and not created again.",
                               "Bring it up (wg-quick up IFACE, or systemctl start "
                               "wg-quick@IFACE) and find why it went down (journalctl -u "
                               "wg-quick@IFACE)."},
        [DC_KERNEL_RATELIMITED] = {"kernel_ratelimited",
                                   "The kernel suppressed log messages on this host "
                                   "(net_ratelimit): wgmon's data for it is incomplete.",
                                   "Run sysctl -w net.core.message_cost=0 on the host and keep "
                                   "it in /etc/sysctl.d/; wgmon setup prints everything a "
                                   "concentrator needs."},
        [DC_INACTIVE] = {"inactive",
                         "No completed handshake within the stale threshold, and no other "
                         "evidence: the peer is idle or offline, or its lines do not reach "
                         "wgmond.",
                         "Check that the peer is running and has traffic (wg show on both "
                         "sides); set PersistentKeepalive = 25 if it must stay reachable; check "
                         "that the host forwards its kernel lines to wgmond."},
};

/* ---- Evidence from the event ring ---------------------------------------------------------- */

/* One ring event worth keeping (of a kind in doc_kinds). */
struct doc_ev {
	uint64_t time;
	uint64_t peer;
	int64_t n0;
	uint32_t host, iface, repeat;
	uint8_t kind;
	uint8_t attributed; /* an endpoint event claimed by a peer */
	struct parse_endpoint ep;
	struct parse_endpoint addr;
};

#define K(kind) (1ull << (kind))
/* Kinds that name a peer, kinds that carry only an endpoint, kinds of a place. */
#define DOC_PEER_KINDS                                                                             \
	(K(PARSE_EV_HANDSHAKE_INITIATION_SENT) | K(PARSE_EV_HANDSHAKE_RETRY) |                     \
	 K(PARSE_EV_HANDSHAKE_RESTART) | K(PARSE_EV_HANDSHAKE_GAVE_UP) | K(PARSE_EV_KEYS_ZEROED) | \
	 K(PARSE_EV_PACKET_SRC_UNALLOWED) | K(PARSE_EV_PACKET_NOT_IP) |                            \
	 K(PARSE_EV_PACKET_SIZE_INVALID) | K(PARSE_EV_XMIT_NO_ENDPOINT))
#define DOC_EP_KINDS                                                                               \
	(K(PARSE_EV_HANDSHAKE_MAC_INVALID) | K(PARSE_EV_HANDSHAKE_INITIATION_INVALID) |            \
	 K(PARSE_EV_HANDSHAKE_RESPONSE_INVALID) | K(PARSE_EV_SEND_NO_ROUTE) |                      \
	 K(PARSE_EV_COOKIE_RESPONSE_SENT) | K(PARSE_EV_HANDSHAKE_PACKET_DROPPED))
#define DOC_PLACE_KINDS                                                                            \
	(K(PARSE_EV_XMIT_NO_ALLOWED_IPS) | K(PARSE_EV_PACKET_NONCE_INVALID) |                      \
	 K(PARSE_EV_INTERFACE_DESTROYED) | K(PARSE_EV_RATELIMIT_SUPPRESSED))
#define DOC_KEY_KINDS                                                                              \
	(K(PARSE_EV_HANDSHAKE_MAC_INVALID) | K(PARSE_EV_HANDSHAKE_INITIATION_INVALID) |            \
	 K(PARSE_EV_HANDSHAKE_RESPONSE_INVALID))
#define DOC_RETRY_KINDS                                                                            \
	(K(PARSE_EV_HANDSHAKE_INITIATION_SENT) | K(PARSE_EV_HANDSHAKE_RETRY) |                     \
	 K(PARSE_EV_HANDSHAKE_RESTART) | K(PARSE_EV_HANDSHAKE_GAVE_UP))
#define DOC_LOAD_KINDS     (K(PARSE_EV_COOKIE_RESPONSE_SENT) | K(PARSE_EV_HANDSHAKE_PACKET_DROPPED))
#define DOC_BAD_PEER_KINDS (K(PARSE_EV_PACKET_NOT_IP) | K(PARSE_EV_PACKET_SIZE_INVALID))

struct doc_evs {
	struct doc_ev *v;
	size_t n, cap;
};

struct doc_ring {
	struct doc_evs by_peer;  /* sorted by host, peer, time */
	struct doc_evs by_ep;    /* sorted by host, iface, endpoint, time */
	struct doc_evs by_place; /* sorted by host, iface, time */
};

static int doc_evs_push(struct doc_evs *a, const struct doc_ev *e)
{
	struct doc_ev *grown;

	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		grown = realloc(a->v, a->cap * sizeof(*grown));
		if (!grown)
			return -1;
		a->v = grown;
	}
	a->v[a->n++] = *e;
	return 0;
}

static int doc_cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Endpoints compare like the writer's: address family, address and port. */
static int doc_cmp_ep(const struct parse_endpoint *a, const struct parse_endpoint *b)
{
	int c = a->af - b->af;

	if (!c)
		c = memcmp(a->addr, b->addr, sizeof(a->addr));
	return c ? c : a->port - b->port;
}

static int doc_key_peer(const struct doc_ev *a, const struct doc_ev *b)
{
	int c = doc_cmp_u64(a->host, b->host);

	return c ? c : doc_cmp_u64(a->peer, b->peer);
}

static int doc_key_place(const struct doc_ev *a, const struct doc_ev *b)
{
	int c = doc_cmp_u64(a->host, b->host);

	return c ? c : doc_cmp_u64(a->iface, b->iface);
}

static int doc_key_ep(const struct doc_ev *a, const struct doc_ev *b)
{
	int c = doc_key_place(a, b);

	return c ? c : doc_cmp_ep(&a->ep, &b->ep);
}

#define DOC_SORTER(name, key)                                                                      \
	static int name(const void *a, const void *b)                                              \
	{                                                                                          \
		const struct doc_ev *x = a, *y = b;                                                \
		int c = key(x, y);                                                                 \
		return c ? c : doc_cmp_u64(x->time, y->time);                                      \
	}
DOC_SORTER(doc_sort_peer, doc_key_peer)
DOC_SORTER(doc_sort_ep, doc_key_ep)
DOC_SORTER(doc_sort_place, doc_key_place)

/* The range [*lo, *hi) of events equal to `key` under `cmp` (the array is sorted by it). */
static void doc_range(const struct doc_evs *a, const struct doc_ev *key,
                      int (*cmp)(const struct doc_ev *, const struct doc_ev *), size_t *lo,
                      size_t *hi)
{
	size_t l = 0, h = a->n;

	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (cmp(&a->v[m], key) < 0)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	for (h = l; h < a->n && !cmp(&a->v[h], key); h++)
		;
	*hi = h;
}

static void doc_evs_sort(struct doc_evs *a, int (*cmp)(const void *, const void *))
{
	if (a->n) /* a->v is NULL when there are none */
		qsort(a->v, a->n, sizeof(*a->v), cmp);
}

/* Read the most recent records of the ring into the three sorted arrays. */
static int doc_ring_load(const struct view *v, struct doc_ring *ring)
{
	const struct shm_header *h = shm_reader_header(v->r);
	const uint64_t cap = h->event_capacity < DOC_SCAN_MAX ? h->event_capacity : DOC_SCAN_MAX;
	/* Only a bound for this pass: each record's seq publishes its contents. */
	const uint64_t head = __atomic_load_n(&h->event_head, __ATOMIC_RELAXED);
	struct shm_event_cursor c;
	struct shm_event e;
	uint64_t missed;

	shm_reader_events_begin(v->r, &c, cap);
	while (c.next < head) {
		struct doc_ev d;
		struct doc_evs *to;

		if (shm_reader_events_next(v->r, &c, &e, &missed) != 1) {
			if (!missed)
				break;
			continue;
		}
		if (e.kind >= 64 ||
		    !((DOC_PEER_KINDS | DOC_EP_KINDS | DOC_PLACE_KINDS) & K(e.kind)))
			continue;
		d = (struct doc_ev){.time = e.time,
		                    .peer = e.peer,
		                    .n0 = (int64_t)e.n[0],
		                    .host = e.host,
		                    .iface = e.iface,
		                    .repeat = e.repeat ?: 1,
		                    .kind = e.kind,
		                    .ep = e.endpoint,
		                    .addr = e.addr};
		to = DOC_PEER_KINDS & K(e.kind) ? &ring->by_peer
		     : DOC_EP_KINDS & K(e.kind) ? &ring->by_ep
		                                : &ring->by_place;
		if (doc_evs_push(to, &d))
			return -1;
	}
	doc_evs_sort(&ring->by_peer, doc_sort_peer);
	doc_evs_sort(&ring->by_ep, doc_sort_ep);
	doc_evs_sort(&ring->by_place, doc_sort_place);
	return 0;
}

static void doc_ring_free(struct doc_ring *ring)
{
	free(ring->by_peer.v);
	free(ring->by_ep.v);
	free(ring->by_place.v);
}

/* ---- Findings ------------------------------------------------------------------------------ */

struct doc_finding {
	uint32_t host, iface; /* iface SHM_NO_IFACE: a host finding */
	bool has_peer;
	uint64_t peer;
	const char *state;
	int state_id; /* enum shm_state of a peer, for colour; -1 otherwise */
	int tenant;
	enum doc_cause cause;
	uint64_t since;
	unsigned n_ev;
	struct {
		const char *name;
		uint64_t count;
	} ev[DOC_EVIDENCE_MAX];
	char detail[DOC_DETAIL_MAX];
};

struct doc_findings {
	struct doc_finding *v;
	size_t n, cap;
};

/* What one evaluation collects from ring events: counts per kind, the first time. */
struct doc_tally {
	uint64_t count[PARSE_EV__COUNT];
	uint64_t first;
	uint64_t total;
};

static void doc_tally_add(struct doc_tally *t, const struct doc_ev *e)
{
	t->count[e->kind] += e->repeat;
	t->total += e->repeat;
	if (!t->first || e->time < t->first)
		t->first = e->time;
}

/* Tally events [lo, hi) of the kinds in mask, newer than `after`. */
static void doc_tally_range(struct doc_tally *t, struct doc_ev *v, size_t lo, size_t hi,
                            uint64_t mask, uint64_t after)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = lo; i < hi; i++)
		if ((mask & K(v[i].kind)) && v[i].time > after)
			doc_tally_add(t, &v[i]);
}

static struct doc_finding *doc_new(struct doc_findings *fs, enum doc_cause cause)
{
	struct doc_finding *grown, *f;

	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? 2 * fs->cap : 64;
		grown = realloc(fs->v, fs->cap * sizeof(*grown));
		if (!grown)
			return NULL;
		fs->v = grown;
	}
	f = &fs->v[fs->n++];
	memset(f, 0, sizeof(*f));
	f->cause = cause;
	f->state_id = -1;
	f->iface = SHM_NO_IFACE;
	f->tenant = VIEW_NO_TENANT;
	return f;
}

static void doc_evidence(struct doc_finding *f, const char *name, uint64_t count)
{
	if (count && f->n_ev < DOC_EVIDENCE_MAX) {
		f->ev[f->n_ev].name = name;
		f->ev[f->n_ev++].count = count;
	}
}

/* Evidence from a tally, in kind order. */
static void doc_evidence_tally(struct doc_finding *f, const struct doc_tally *t)
{
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		doc_evidence(f, parse_event_name(k), t->count[k]);
}

/* Evidence from the slot's lifetime counters of the kinds in mask. */
static void doc_evidence_slot(struct doc_finding *f, const uint32_t *events, uint64_t mask)
{
	for (unsigned k = 1; k < PARSE_EV__COUNT && k < 64; k++)
		if (mask & K(k))
			doc_evidence(f, parse_event_name(k), events[k]);
}

/* "10.9.9.9, 10.9.9.10 and 3 more": distinct addresses (or endpoints) of events [lo, hi). */
static void doc_distinct(char *buf, size_t cap, const struct doc_ev *v, size_t lo, size_t hi,
                         uint64_t mask, bool endpoints)
{
	struct parse_endpoint seen[DOC_DISTINCT_MAX];
	size_t n = 0, more = 0, len = 0;

	buf[0] = '\0';
	for (size_t i = lo; i < hi; i++) {
		const struct parse_endpoint *a = endpoints ? &v[i].ep : &v[i].addr;
		bool dup = false;
		char text[VIEW_ENDPOINT];

		if (!(mask & K(v[i].kind)) || (endpoints && v[i].attributed))
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = !doc_cmp_ep(&seen[j], a);
		if (dup)
			continue;
		if (n == DOC_DISTINCT_MAX) {
			more++;
			continue;
		}
		seen[n++] = *a;
		if (!parse_endpoint_format(
		            a, endpoints ? PARSE_STYLE_ENDPOINT : PARSE_STYLE_COMPRESSED, text,
		            sizeof(text)))
			continue;
		len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s",
		                        n > 1 ? ", " : "", text);
	}
	if (more && len < cap)
		snprintf(buf + len, cap - len, " and %zu more", more);
}

/* ---- Peers --------------------------------------------------------------------------------- */

struct doc_ctx {
	struct view *v;
	struct doc_ring ring;
	struct doc_findings found;
	struct view_filter filter;
	uint64_t rebind_per_hour;
	uint64_t peers, ifaces, hosts; /* checked */
};

struct doc_peer {
	const struct shm_peer *p;
	int state, tenant;
	size_t plo, phi; /* ring events naming the peer */
	size_t elo, ehi; /* ring endpoint events from its current endpoint */
	bool found;      /* a finding that explains a failing or down state */
};

static struct doc_finding *doc_peer_finding(struct doc_ctx *x, struct doc_peer *d,
                                            enum doc_cause cause)
{
	struct doc_finding *f = doc_new(&x->found, cause);

	if (!f)
		return NULL;
	f->host = d->p->host;
	f->iface = d->p->iface;
	f->has_peer = true;
	f->peer = d->p->peer;
	f->state = shm_state_name(d->state);
	f->state_id = d->state;
	f->tenant = d->tenant;
	return f;
}

/* key_mismatch and no_route: endpoint events from its endpoint since its latest handshake. */
static int doc_peer_endpoint(struct doc_ctx *x, struct doc_peer *d, enum doc_cause cause,
                             uint64_t mask)
{
	struct doc_ev *ev = x->ring.by_ep.v;
	struct doc_finding *f;
	struct doc_tally t;
	char ep[VIEW_ENDPOINT];
	int64_t error = 0;

	for (size_t i = d->elo; i < d->ehi; i++)
		if (mask & K(ev[i].kind)) {
			ev[i].attributed = 1;
			error = ev[i].time > d->p->last_handshake ? ev[i].n0 : error;
		}
	doc_tally_range(&t, ev, d->elo, d->ehi, mask, d->p->last_handshake);
	if (!t.total)
		return 0;
	f = doc_peer_finding(x, d, cause);
	if (!f)
		return -1;
	doc_evidence_tally(f, &t);
	f->since = t.first;
	view_endpoint(&d->p->endpoint, ep, sizeof(ep));
	if (cause == DC_NO_ROUTE)
		snprintf(f->detail, sizeof(f->detail), "to %s, error %" PRId64, ep, error);
	else
		snprintf(f->detail, sizeof(f->detail), "from %s", ep);
	d->found = true;
	return 0;
}

/* The first ring event naming the peer, of the kinds in mask (0: none in the ring). */
static uint64_t doc_peer_first(struct doc_ctx *x, const struct doc_peer *d, uint64_t mask,
                               uint64_t after)
{
	struct doc_tally t;

	doc_tally_range(&t, x->ring.by_peer.v, d->plo, d->phi, mask, after);
	return t.first;
}

static int doc_peer_no_endpoint(struct doc_ctx *x, struct doc_peer *d)
{
	const struct shm_peer *p = d->p;
	const uint64_t mask = K(PARSE_EV_XMIT_NO_ENDPOINT) | DOC_RETRY_KINDS;
	struct doc_finding *f;
	uint64_t tried = 0;

	if (p->endpoint.af == PARSE_AF_INET || p->endpoint.af == PARSE_AF_INET6)
		return 0;
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		tried += (mask & K(k)) ? p->events[k] : 0;
	if (!tried && !p->events[PARSE_EV_KEEPALIVE_SENT])
		return 0; /* only waiting for the peer to reach us: normal on a server */
	f = doc_peer_finding(x, d, DC_NO_ENDPOINT);
	if (!f)
		return -1;
	doc_evidence_slot(f, p->events, mask | K(PARSE_EV_KEEPALIVE_SENT));
	f->since = doc_peer_first(x, d, mask, 0) ?: p->first_seen;
	snprintf(f->detail, sizeof(f->detail), "endpoint never known (einval)");
	d->found = true;
	return 0;
}

static int doc_peer_no_response(struct doc_ctx *x, struct doc_peer *d)
{
	const struct shm_peer *p = d->p;
	struct doc_finding *f;
	struct doc_tally t;
	char ep[VIEW_ENDPOINT];

	if (d->found || !(d->state == SHM_STATE_FAILING ||
	                  (d->state == SHM_STATE_DOWN && p->gave_up_at > p->last_handshake)))
		return 0;
	f = doc_peer_finding(x, d, DC_NO_RESPONSE);
	if (!f)
		return -1;
	doc_tally_range(&t, x->ring.by_peer.v, d->plo, d->phi, DOC_RETRY_KINDS, p->last_handshake);
	if (t.total)
		doc_evidence_tally(f, &t);
	else /* the ring no longer holds them: the slot's lifetime counts */
		doc_evidence_slot(f, p->events, DOC_RETRY_KINDS);
	f->since = t.first ?: p->retry_at ?: p->gave_up_at;
	snprintf(f->detail, sizeof(f->detail), "to %s%s",
	         view_endpoint(&p->endpoint, ep, sizeof(ep)) ?: "(no endpoint)",
	         p->gave_up_at > p->last_handshake ? ", gave up" : "");
	d->found = true;
	return 0;
}

static int doc_peer_keys_expired(struct doc_ctx *x, struct doc_peer *d)
{
	const struct shm_peer *p = d->p;
	struct doc_finding *f;
	struct doc_tally t;

	if (d->found || p->keys_zeroed_at <= p->last_handshake)
		return 0;
	f = doc_peer_finding(x, d, DC_KEYS_EXPIRED);
	if (!f)
		return -1;
	doc_tally_range(&t, x->ring.by_peer.v, d->plo, d->phi, K(PARSE_EV_KEYS_ZEROED),
	                p->last_handshake);
	doc_evidence(f, parse_event_name(PARSE_EV_KEYS_ZEROED),
	             t.total ?: p->events[PARSE_EV_KEYS_ZEROED]);
	f->since = t.first ?: p->keys_zeroed_at;
	d->found = true;
	return 0;
}

/* allowedips_inbound and bad_packets: the slot's counters of the kinds in mask. */
static int doc_peer_counted(struct doc_ctx *x, struct doc_peer *d, enum doc_cause cause,
                            uint64_t mask)
{
	const struct shm_peer *p = d->p;
	struct doc_finding *f;
	uint64_t n = 0;

	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		n += (mask & K(k)) ? p->events[k] : 0;
	if (!n)
		return 0;
	f = doc_peer_finding(x, d, cause);
	if (!f)
		return -1;
	doc_evidence_slot(f, p->events, mask);
	f->since = doc_peer_first(x, d, mask, 0) ?: p->first_seen;
	if (cause == DC_ALLOWEDIPS_INBOUND) {
		char addrs[DOC_DETAIL_MAX - 16];

		doc_distinct(addrs, sizeof(addrs), x->ring.by_peer.v, d->plo, d->phi, mask, false);
		if (*addrs)
			snprintf(f->detail, sizeof(f->detail), "source %s", addrs);
	}
	return 0;
}

/* Endpoint changes per hour, over the peer's life (at least one hour). */
static int doc_peer_rebinding(struct doc_ctx *x, struct doc_peer *d)
{
	const struct shm_peer *p = d->p;
	uint64_t life = x->v->now > p->first_seen ? x->v->now - p->first_seen : 0;
	char ep[VIEW_ENDPOINT], prev[VIEW_ENDPOINT];
	struct doc_finding *f;

	if (life < DOC_HOUR_NS)
		life = DOC_HOUR_NS;
	if (!p->endpoint_changes ||
	    (double)p->endpoint_changes * (double)DOC_HOUR_NS / (double)life <
	            (double)x->rebind_per_hour)
		return 0;
	f = doc_peer_finding(x, d, DC_NAT_REBINDING);
	if (!f)
		return -1;
	doc_evidence(f, "endpoint_changes", p->endpoint_changes);
	f->since = p->first_seen;
	snprintf(f->detail, sizeof(f->detail), "%.1f changes per hour; now %s, before %s",
	         (double)p->endpoint_changes * (double)DOC_HOUR_NS / (double)life,
	         view_endpoint(&p->endpoint, ep, sizeof(ep)) ?: "-",
	         view_endpoint(&p->prev_endpoint, prev, sizeof(prev)) ?: "-");
	return 0;
}

/* Stale, or new for longer than the threshold, with nothing else to say. */
static int doc_peer_inactive(struct doc_ctx *x, struct doc_peer *d, size_t before)
{
	const struct shm_peer *p = d->p;
	uint64_t stale = view_stale_after_ns(x->v, d->tenant);
	struct doc_finding *f;
	char age[VIEW_AGE_MAX];

	if (x->found.n > before)
		return 0;
	if (d->state != SHM_STATE_STALE &&
	    !(d->state == SHM_STATE_NEW && x->v->now > p->first_seen + stale))
		return 0;
	f = doc_peer_finding(x, d, DC_INACTIVE);
	if (!f)
		return -1;
	f->since = d->state == SHM_STATE_STALE ? p->last_handshake + stale : p->first_seen;
	view_age(age, sizeof(age), p->last_handshake, x->v->now);
	snprintf(f->detail, sizeof(f->detail), "latest handshake: %s", age);
	return 0;
}

static void doc_peer_ranges(struct doc_ctx *x, struct doc_peer *d)
{
	struct doc_ev key = {
	        .host = d->p->host, .iface = d->p->iface, .peer = d->p->peer, .ep = d->p->endpoint};

	doc_range(&x->ring.by_peer, &key, doc_key_peer, &d->plo, &d->phi);
	d->elo = d->ehi = 0;
	if (d->p->endpoint.af == PARSE_AF_INET || d->p->endpoint.af == PARSE_AF_INET6)
		doc_range(&x->ring.by_ep, &key, doc_key_ep, &d->elo, &d->ehi);
}

/* Every cause of one peer; specific ones first, so they win over the generic ones. */
static int doc_peer(struct doc_ctx *x, const struct shm_peer *p)
{
	struct doc_peer d = {.p = p};
	size_t before = x->found.n;

	d.state = view_peer_state(x->v, p, &d.tenant);
	if (d.state == SHM_STATE_REMOVED || !view_filter_peer(x->v, &x->filter, p, d.state))
		return 0;
	x->peers++;
	doc_peer_ranges(x, &d);
	if (doc_peer_endpoint(x, &d, DC_KEY_MISMATCH, DOC_KEY_KINDS) ||
	    doc_peer_endpoint(x, &d, DC_NO_ROUTE, K(PARSE_EV_SEND_NO_ROUTE)) ||
	    doc_peer_no_endpoint(x, &d) || doc_peer_no_response(x, &d) ||
	    doc_peer_keys_expired(x, &d) ||
	    doc_peer_counted(x, &d, DC_ALLOWEDIPS_INBOUND, K(PARSE_EV_PACKET_SRC_UNALLOWED)) ||
	    doc_peer_counted(x, &d, DC_BAD_PACKETS, DOC_BAD_PEER_KINDS) ||
	    doc_peer_rebinding(x, &d) || doc_peer_inactive(x, &d, before))
		return -1;
	return 0;
}

static int doc_peers(struct doc_ctx *x)
{
	const uint64_t slots = shm_reader_peer_slots(x->v->r);
	struct shm_peer p;

	for (uint64_t i = shm_reader_peer_next(x->v->r, 0); i < slots;
	     i = shm_reader_peer_next(x->v->r, i + 1))
		if (!shm_reader_peer_snapshot(x->v->r, i, &p) && doc_peer(x, &p))
			return -1;
	return 0;
}

/* ---- Interfaces and hosts ------------------------------------------------------------------ */

static struct doc_finding *doc_place_finding(struct doc_ctx *x, uint32_t host, uint32_t iface,
                                             const char *state, enum doc_cause cause)
{
	struct doc_finding *f = doc_new(&x->found, cause);

	if (!f)
		return NULL;
	f->host = host;
	f->iface = iface;
	f->state = state;
	f->tenant = iface == SHM_NO_IFACE ? VIEW_NO_TENANT : view_tenant_index(x->v, host, iface);
	return f;
}

/* The first ring event of a place (an interface, or a host with SHM_NO_IFACE), or 0. */
static uint64_t doc_place_first(struct doc_ctx *x, const struct doc_evs *a, uint32_t host,
                                uint32_t iface, uint64_t mask)
{
	struct doc_ev key = {.host = host, .iface = iface};
	struct doc_tally t;
	size_t lo, hi;

	doc_range(a, &key, doc_key_place, &lo, &hi);
	doc_tally_range(&t, a->v, lo, hi, mask, 0);
	return t.first;
}

/* A finding from the interface's lifetime counters of the kinds in mask. */
static int doc_iface_counted(struct doc_ctx *x, uint32_t i, const struct shm_iface *e,
                             enum doc_cause cause, uint64_t mask)
{
	const struct doc_evs *a = mask & DOC_EP_KINDS ? &x->ring.by_ep : &x->ring.by_place;
	struct doc_ev key = {.host = e->host, .iface = i};
	struct doc_finding *f;
	uint64_t n = 0;
	size_t lo, hi;

	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		n += (mask & K(k)) ? e->events[k] : 0;
	if (!n)
		return 0;
	f = doc_place_finding(x, e->host, i, view_iface_state_name(e->state), cause);
	if (!f)
		return -1;
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		if (mask & K(k))
			doc_evidence(f, parse_event_name(k), e->events[k]);
	f->since = doc_place_first(x, a, e->host, i, mask) ?: e->first_seen;
	if (cause == DC_ALLOWEDIPS_OUTBOUND) {
		char addrs[DOC_DETAIL_MAX - 16];

		doc_range(a, &key, doc_key_place, &lo, &hi);
		doc_distinct(addrs, sizeof(addrs), a->v, lo, hi, mask, false);
		if (*addrs)
			snprintf(f->detail, sizeof(f->detail), "destination %s", addrs);
	}
	return 0;
}

/* Endpoint events of the interface that no peer claimed (in the ring only). */
static int doc_iface_unclaimed(struct doc_ctx *x, uint32_t i, const struct shm_iface *e,
                               enum doc_cause cause, uint64_t mask)
{
	struct doc_ev key = {.host = e->host, .iface = i};
	struct doc_finding *f;
	struct doc_tally t = {0};
	char eps[DOC_DETAIL_MAX - 40];
	size_t lo, hi;

	doc_range(&x->ring.by_ep, &key, doc_key_place, &lo, &hi);
	for (size_t k = lo; k < hi; k++)
		if ((mask & K(x->ring.by_ep.v[k].kind)) && !x->ring.by_ep.v[k].attributed)
			doc_tally_add(&t, &x->ring.by_ep.v[k]);
	if (!t.total)
		return 0;
	f = doc_place_finding(x, e->host, i, view_iface_state_name(e->state), cause);
	if (!f)
		return -1;
	doc_evidence_tally(f, &t);
	f->since = t.first;
	doc_distinct(eps, sizeof(eps), x->ring.by_ep.v, lo, hi, mask, true);
	snprintf(f->detail, sizeof(f->detail), "%s %s (no known peer's endpoint)",
	         cause == DC_NO_ROUTE ? "to" : "from", eps);
	return 0;
}

static int doc_iface(struct doc_ctx *x, uint32_t i)
{
	struct shm_iface e;
	struct doc_finding *f;

	if (shm_reader_iface(x->v->r, i, &e) || !view_filter_place(x->v, &x->filter, e.host, i) ||
	    x->filter.has_peer || x->filter.states)
		return 0;
	x->ifaces++;
	if (e.state == SHM_IFACE_DOWN) {
		f = doc_place_finding(x, e.host, i, "down", DC_INTERFACE_DOWN);
		if (!f)
			return -1;
		doc_evidence(f, parse_event_name(PARSE_EV_INTERFACE_DESTROYED),
		             e.events[PARSE_EV_INTERFACE_DESTROYED]);
		f->since = e.destroyed_at;
	}
	if (doc_iface_unclaimed(x, i, &e, DC_KEY_MISMATCH, DOC_KEY_KINDS) ||
	    doc_iface_unclaimed(x, i, &e, DC_NO_ROUTE, K(PARSE_EV_SEND_NO_ROUTE)) ||
	    doc_iface_counted(x, i, &e, DC_ALLOWEDIPS_OUTBOUND, K(PARSE_EV_XMIT_NO_ALLOWED_IPS)) ||
	    doc_iface_counted(x, i, &e, DC_UNDER_LOAD, DOC_LOAD_KINDS) ||
	    doc_iface_counted(x, i, &e, DC_BAD_PACKETS, K(PARSE_EV_PACKET_NONCE_INVALID)))
		return -1;
	return 0;
}

/* A host passes the filter when its name does and, with --tenant, one of its interfaces. */
static bool doc_host_wanted(struct doc_ctx *x, uint32_t host, uint32_t ifaces)
{
	struct view_filter place = x->filter;
	struct shm_iface e;

	if (x->filter.has_peer || x->filter.states || x->filter.iface)
		return false;
	place.tenant = NULL;
	if (!view_filter_place(x->v, &place, host, SHM_NO_IFACE))
		return false;
	if (!x->filter.tenant)
		return true;
	for (uint32_t i = 0; i < ifaces; i++)
		if (!shm_reader_iface(x->v->r, i, &e) && e.host == host &&
		    view_filter_place(x->v, &x->filter, host, i))
			return true;
	return false;
}

static int doc_places(struct doc_ctx *x)
{
	const struct shm_header *h = shm_reader_header(x->v->r);
	/* Pairs with the writer's release of the counts: entries below them are complete. */
	uint32_t ni = __atomic_load_n(&h->ifaces_used, __ATOMIC_ACQUIRE);
	uint32_t nh = __atomic_load_n(&h->hosts_used, __ATOMIC_ACQUIRE);
	struct doc_finding *f;
	struct shm_host e;

	for (uint32_t i = 0; i < ni && i < SHM_IFACES_MAX; i++)
		if (doc_iface(x, i))
			return -1;
	for (uint32_t host = 0; host < nh && host < SHM_HOSTS_MAX; host++) {
		if (view_host_entry(x->v, host, &e) || !doc_host_wanted(x, host, ni))
			continue;
		x->hosts++;
		if (!e.ratelimit_suppressed)
			continue;
		f = doc_place_finding(x, host, SHM_NO_IFACE, "incomplete", DC_KERNEL_RATELIMITED);
		if (!f)
			return -1;
		doc_evidence(f, parse_event_name(PARSE_EV_RATELIMIT_SUPPRESSED),
		             e.ratelimit_suppressed);
		f->since = doc_place_first(x, &x->ring.by_place, host, SHM_NO_IFACE,
		                           K(PARSE_EV_RATELIMIT_SUPPRESSED))
		                   ?: e.first_seen;
		snprintf(f->detail, sizeof(f->detail), "%" PRIu64 " kernel messages suppressed",
		         e.ratelimit_suppressed);
	}
	return 0;
}

/* ---- Output -------------------------------------------------------------------------------- */

static const struct view *doc_sort_view;

/* By host name, then interface name (host findings first), then peer (place findings first). */
static int doc_cmp_finding(const void *a, const void *b)
{
	const struct doc_finding *x = a, *y = b;
	char xi[SHM_IFACE_NAME_MAX + 1], yi[SHM_IFACE_NAME_MAX + 1];
	int c = strcmp(view_host(doc_sort_view, x->host), view_host(doc_sort_view, y->host));

	if (!c)
		c = strcmp(view_iface(doc_sort_view, x->iface, xi),
		           view_iface(doc_sort_view, y->iface, yi));
	if (!c)
		c = (int)x->has_peer - (int)y->has_peer;
	if (!c)
		c = doc_cmp_u64(x->peer, y->peer);
	return c ? c : (int)x->cause - (int)y->cause;
}

static void doc_json(struct view *v, const struct doc_finding *f)
{
	const char *tenant = view_tenant_name(v, f->tenant);
	char iface[SHM_IFACE_NAME_MAX + 1], since[32];

	printf("{\"host\":");
	view_json_str(stdout, view_host(v, f->host));
	printf(",\"iface\":");
	view_json_str(stdout, view_iface(v, f->iface, iface));
	if (f->has_peer)
		printf(",\"peer\":%" PRIu64, f->peer);
	printf(",\"state\":\"%s\",\"cause\":\"%s\",\"evidence\":{", f->state,
	       doc_text[f->cause].code);
	for (unsigned i = 0; i < f->n_ev; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", f->ev[i].name, f->ev[i].count);
	view_unix(since, sizeof(since), f->since);
	printf("},\"since\":%s", since);
	if (tenant) {
		printf(",\"tenant\":");
		view_json_str(stdout, tenant);
	}
	if (*f->detail) {
		printf(",\"detail\":");
		view_json_str(stdout, f->detail);
	}
	printf(",\"fix\":");
	view_json_str(stdout, doc_text[f->cause].fix);
	printf("}\n");
}

static void doc_human(struct view *v, const struct doc_finding *f)
{
	const char *tenant = view_tenant_name(v, f->tenant);
	char iface[SHM_IFACE_NAME_MAX + 1], date[32], age[VIEW_AGE_MAX], line[512];
	size_t n = 0;

	printf("%s%s", view_bold(v), view_host_label(v, f->host));
	if (f->iface != SHM_NO_IFACE)
		printf(" %s", view_iface(v, f->iface, iface));
	if (f->has_peer)
		printf(" peer %" PRIu64, f->peer);
	printf(": %s%s (%s%s%s%s%s)\n", doc_text[f->cause].code, view_reset(v),
	       view_state_color(v, f->state_id), f->state, view_reset(v), tenant ? ", tenant " : "",
	       tenant ? tenant : "");
	printf("  ");
	view_wrap(stdout,
	          !f->has_peer && doc_text[f->cause].what_place ? doc_text[f->cause].what_place
	                                                        : doc_text[f->cause].what,
	          2, 2, DOC_WIDTH);
	for (unsigned i = 0; i < f->n_ev && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %" PRIu64, i ? ", " : "",
		                      f->ev[i].name, f->ev[i].count);
	if (*f->detail && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "%s%s", n ? "; " : "", f->detail);
	printf("  evidence: ");
	view_wrap(stdout, line, 4, 12, DOC_WIDTH);
	view_date(date, sizeof(date), f->since);
	view_age(age, sizeof(age), f->since, v->now);
	printf("  since: %s (%s)\n", date, age);
	printf("  fix: ");
	view_wrap(stdout, doc_text[f->cause].fix, 4, 7, DOC_WIDTH);
	printf("\n");
}

static void doc_print(struct doc_ctx *x, bool json)
{
	doc_sort_view = x->v;
	if (x->found.n) /* NULL when there are none */
		qsort(x->found.v, x->found.n, sizeof(*x->found.v), doc_cmp_finding);
	for (size_t i = 0; i < x->found.n; i++) {
		if (json)
			doc_json(x->v, &x->found.v[i]);
		else
			doc_human(x->v, &x->found.v[i]);
	}
	if (json)
		return;
	if (!x->found.n)
		printf("No problems found ");
	else
		printf("%zu finding%s ", x->found.n, x->found.n == 1 ? "" : "s");
	printf("(%" PRIu64 " peers, %" PRIu64 " interfaces, %" PRIu64 " hosts checked).\n",
	       x->peers, x->ifaces, x->hosts);
}

/* ---- The command --------------------------------------------------------------------------- */

static void doc_usage(FILE *out)
{
	fprintf(out,
	        "Usage: wgmon doctor [options]\n\n"
	        "Find every peer, interface and host in trouble, and say the likely cause, the\n"
	        "evidence (events, counts, since when) and the fix. A peer is looked at when it\n"
	        "is not up, or up with evidence of trouble. Causes:\n"
	        "  key_mismatch  no_response  no_route  allowedips_inbound  allowedips_outbound\n"
	        "  no_endpoint  nat_rebinding  under_load  keys_expired  bad_packets\n"
	        "  interface_down  kernel_ratelimited  inactive (stale, nothing else known)\n\n"
	        "--json prints one object per finding: host, iface (\"\" for a host), peer "
	        "(absent\n"
	        "for interface and host findings), state (the peer's; an interface's up, down or\n"
	        "unknown; \"incomplete\" for a host), cause, evidence (name -> count), since\n"
	        "(Unix seconds), and tenant, detail, fix when there are.\n"
	        "Exit status: 0 nothing found, 3 findings printed, 1 error, 2 usage.\n\n"
	        "  --json              JSON lines\n"
	        "  --rebind-per-hour N endpoint changes per hour that are nat_rebinding "
	        "(6)\n" VIEW_HELP_TABLE VIEW_HELP_FILTER "  --help              this text\n");
}

static int doc_args(int argc, char **argv, struct view_opts *o, struct doc_ctx *x, bool *json)
{
	static const struct option longopts[] = {
	        VIEW_LONGOPTS_TABLE,
	        VIEW_LONGOPTS_FILTER,
	        {"json", no_argument, NULL, 'j'},
	        {"rebind-per-hour", required_argument, NULL, 'R'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = view_opt(c, optarg, o, &x->filter);
		if (r < 0)
			return 3;
		if (r > 0)
			continue;
		switch (c) {
		case 'j': *json = true; break;
		case 'R':
			if (view_u64_parse(optarg, &x->rebind_per_hour) || !x->rebind_per_hour) {
				fprintf(stderr, "wgmon doctor: --rebind-per-hour: expected a "
				                "number above 0\n");
				return 3;
			}
			break;
		case 'h': doc_usage(stdout); return 1;
		default: doc_usage(stderr); return 3;
		}
	}
	if (optind < argc) {
		doc_usage(stderr);
		return 3;
	}
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	struct view_opts o = {.cmd = "doctor"};
	struct doc_ctx x = {.rebind_per_hour = DOC_REBIND_HOUR};
	struct view v;
	bool json = false;
	int ret = doc_args(argc, argv, &o, &x, &json);

	if (ret)
		return ret - 1;
	if (view_open(&v, &o))
		return 1;
	x.v = &v;
	ret = doc_ring_load(&v, &x.ring) || doc_peers(&x) || doc_places(&x);
	if (ret)
		fprintf(stderr, "wgmon doctor: out of memory\n");
	else
		doc_print(&x, json);
	ret = ret ? 1 : x.found.n ? DOC_EXIT_FINDINGS : 0;
	doc_ring_free(&x.ring);
	free(x.found.v);
	view_close(&v);
	return fflush(stdout) ? 1 : ret;
}
