/* SPDX-License-Identifier: MIT */
/*
 * notify_follow.c — the reader side of wgmon-notify: turns the event ring and the peer table
 * into notes (endpoint changed, state changed, peer created/removed, interface up/down), each
 * exactly once and, per peer, in the order of the events' receive times.
 *
 *   ring ──▶ held (min-heap by time, NOTIFY_REORDER_MS) ──▶ event ──▶ memory of that peer ──▶ note
 *   table ─▶ seed (start, recreated table) · state scan (period) · reconcile (events were lost)
 *
 * The memory (host, peer) → last endpoint and its time, created/destroyed times, state follows
 * the table's own rules (shm.h, struct shm_peer), so an endpoint change here is one there. It
 * is seeded from the table when following starts: what was there before is not news.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/notify/notify_internal.h"

#define PASS_EVENTS_MAX 65536 /* ring records read per pass before releasing and scanning */
#define STATE_UNKNOWN   0     /* peer_mem.state: none seen yet; else enum shm_state + 1 */

/* What we know of one peer (key host, peer). */
struct peer_mem {
	uint64_t peer;
	uint32_t host;
	uint8_t used;
	uint8_t state;
	uint16_t _pad;
	uint64_t ep_time; /* receive time of the event that brought ep */
	uint64_t created_at, destroyed_at;
	struct parse_endpoint ep; /* af PARSE_AF_NONE: none yet */
	uint32_t iface;
};

/* What we know of one interface (index into the table's interfaces). */
struct iface_mem {
	uint8_t resolved; /* name, host, tenant, stale_ns looked up */
	uint8_t state;    /* enum shm_iface_state */
	int16_t tenant;   /* config tenant index, -1: none */
	uint32_t host;
	uint64_t created_at, destroyed_at;
	uint64_t stale_ns;
	char name[SHM_IFACE_NAME_MAX + 1];
};

struct held {
	struct shm_event ev;
	uint64_t in_ns; /* monotonic time it was read */
};

struct notify_follow {
	struct shm_reader *r;
	const struct wgmon_config *cfg;
	notify_emit_fn emit;
	void *ctx;
	struct notify_stats *st;
	uint64_t scan_ns, reorder_ns, next_scan, next_refresh;
	struct shm_event_cursor cur;
	uint64_t generation, events_read, events_missed, reconciles, scans, untracked;
	bool need_reconcile;

	struct peer_mem *peers; /* open addressing, linear probing; power-of-two size */
	uint64_t peers_cap, peers_n;
	struct iface_mem *ifaces; /* SHM_IFACES_MAX */
	struct held *heap;        /* NOTIFY_REORDER_MAX, min-heap on (time, seq) */
	uint32_t heap_n;

	struct notify_ratelimit rl_refresh, rl_mem, rl_miss;
};

/* ---- Peer memory ----------------------------------------------------------------------------- */

static uint64_t peer_hash(uint32_t host, uint64_t peer)
{
	uint64_t x = peer ^ ((uint64_t)host * 0x9e3779b97f4a7c15ull);

	x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27, x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static struct peer_mem *peer_slot(struct peer_mem *t, uint64_t cap, uint32_t host, uint64_t peer)
{
	uint64_t i = peer_hash(host, peer) & (cap - 1);

	while (t[i].used && (t[i].host != host || t[i].peer != peer))
		i = (i + 1) & (cap - 1);
	return &t[i];
}

/* Double the table (rare: amortised over the peers that made it grow). */
static int peer_grow(struct notify_follow *f)
{
	uint64_t cap = f->peers_cap * 2;
	struct peer_mem *t;

	if (cap > NOTIFY_PEERS_MAX)
		return -ENOSPC;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (uint64_t i = 0; i < f->peers_cap; i++)
		if (f->peers[i].used)
			*peer_slot(t, cap, f->peers[i].host, f->peers[i].peer) = f->peers[i];
	free(f->peers);
	f->peers = t;
	f->peers_cap = cap;
	return 0;
}

/* The memory of (host, peer); with create, a new zeroed one (*created set). NULL: none. */
static struct peer_mem *peer_get(struct notify_follow *f, uint32_t host, uint64_t peer, bool create,
                                 bool *created)
{
	struct peer_mem *m = peer_slot(f->peers, f->peers_cap, host, peer);

	*created = false;
	if (m->used || !create)
		return m->used ? m : NULL;
	if ((f->peers_n + 1) * 4 > f->peers_cap * 3) {
		if (peer_grow(f) < 0) {
			f->untracked++;
			notify_log_rl(&f->rl_mem, NOTIFY_LOG_WARN,
			              "peer memory full (%llu peers): new peers are not followed",
			              (unsigned long long)f->peers_n);
			return NULL;
		}
		m = peer_slot(f->peers, f->peers_cap, host, peer);
	}
	memset(m, 0, sizeof(*m));
	m->used = 1;
	m->host = host;
	m->peer = peer;
	m->iface = SHM_NO_IFACE;
	f->peers_n++;
	*created = true;
	return m;
}

static bool endpoint_known(const struct parse_endpoint *ep)
{
	return ep->af == PARSE_AF_INET || ep->af == PARSE_AF_INET6;
}

/* The table's rule: address and port; flowinfo and scope do not make a new endpoint. */
static bool endpoint_same(const struct parse_endpoint *a, const struct parse_endpoint *b)
{
	return a->af == b->af && a->port == b->port && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* ---- Interface memory ------------------------------------------------------------------------ */

static struct iface_mem *iface_get(struct notify_follow *f, uint32_t idx)
{
	struct iface_mem *m;
	struct shm_iface copy;
	const char *host;

	if (idx >= SHM_IFACES_MAX)
		return NULL;
	m = &f->ifaces[idx];
	if (m->resolved || shm_reader_iface(f->r, idx, &copy) < 0)
		return m->resolved ? m : NULL;
	memcpy(m->name, copy.name, sizeof(m->name));
	m->name[SHM_IFACE_NAME_MAX] = '\0';
	m->host = copy.host;
	host = shm_reader_host_name(f->r, copy.host);
	m->tenant = (int16_t)config_tenant_index(f->cfg, host ? host : "", m->name);
	m->stale_ns = (uint64_t)config_stale_after(
	                      f->cfg, m->tenant >= 0 ? f->cfg->tenant[m->tenant].name : NULL) *
	              1000000000ull;
	m->resolved = 1;
	return m;
}

static uint8_t iface_state_of(const struct iface_mem *m)
{
	if (!m->created_at && !m->destroyed_at)
		return SHM_IFACE_UNKNOWN;
	return m->created_at >= m->destroyed_at ? SHM_IFACE_UP : SHM_IFACE_DOWN;
}

/* ---- Notes ----------------------------------------------------------------------------------- */

static void note_init(struct notify_follow *f, struct notify_note *n, enum notify_type type,
                      uint64_t time, uint32_t host, uint32_t iface)
{
	const struct iface_mem *m = iface_get(f, iface);
	const char *h = shm_reader_host_name(f->r, host);

	memset(n, 0, sizeof(*n));
	n->type = type;
	n->time = time;
	n->host = h ? h : "";
	n->iface = m ? m->name : "";
	n->tenant_index = m ? m->tenant : config_tenant_index(f->cfg, n->host, "");
	n->tenant = n->tenant_index >= 0 ? f->cfg->tenant[n->tenant_index].name : NULL;
	n->state = n->prev_state = -1;
}

static void note_peer(struct notify_follow *f, enum notify_type type, uint64_t time,
                      const struct peer_mem *p, const struct parse_endpoint *prev, int state,
                      int prev_state)
{
	struct notify_note n;

	note_init(f, &n, type, time, p->host, p->iface);
	n.has_peer = true;
	n.peer = p->peer;
	n.endpoint = p->ep;
	if (prev)
		n.prev_endpoint = *prev;
	n.state = state;
	n.prev_state = prev_state;
	f->emit(f->ctx, &n);
}

static void note_iface(struct notify_follow *f, uint32_t iface, uint8_t state, uint64_t time)
{
	const struct iface_mem *m = iface_get(f, iface);
	struct notify_note n;

	note_init(f, &n, state == SHM_IFACE_UP ? NOTIFY_INTERFACE_UP : NOTIFY_INTERFACE_DOWN, time,
	          m ? m->host : SHM_LOCAL_HOST, iface);
	f->emit(f->ctx, &n);
}

/* ---- Events ---------------------------------------------------------------------------------- */

/* An endpoint seen at t: the table's update rule; a different one is a change, once. */
static void peer_endpoint_seen(struct notify_follow *f, struct peer_mem *p,
                               const struct parse_endpoint *ep, uint64_t t)
{
	struct parse_endpoint prev = p->ep;

	if (!endpoint_known(ep) || (endpoint_known(&p->ep) && t < p->ep_time))
		return; /* unset ((einval)), or older than what we know */
	p->ep = *ep;
	p->ep_time = t;
	if (endpoint_known(&prev) && !endpoint_same(&prev, ep))
		note_peer(f, NOTIFY_ENDPOINT_CHANGED, t, p, &prev, -1, -1);
}

static void peer_created_seen(struct notify_follow *f, struct peer_mem *p, uint64_t t)
{
	if (t <= p->created_at)
		return; /* already known (seeded, or a replayed record) */
	p->created_at = t;
	note_peer(f, NOTIFY_PEER_CREATED, t, p, NULL, -1, -1);
}

static void peer_destroyed_seen(struct notify_follow *f, struct peer_mem *p, uint64_t t)
{
	if (t <= p->destroyed_at)
		return;
	p->destroyed_at = t;
	note_peer(f, NOTIFY_PEER_REMOVED, t, p, NULL, -1, -1);
}

static void iface_updown_seen(struct notify_follow *f, uint32_t iface, unsigned kind, uint64_t t)
{
	struct iface_mem *m;
	uint8_t old;

	if (iface >= SHM_IFACES_MAX)
		return;
	m = &f->ifaces[iface];
	old = m->state;
	if (kind == PARSE_EV_INTERFACE_CREATED && t > m->created_at)
		m->created_at = t;
	if (kind == PARSE_EV_INTERFACE_DESTROYED && t > m->destroyed_at)
		m->destroyed_at = t;
	m->state = iface_state_of(m);
	if (m->state != old)
		note_iface(f, iface, m->state, t);
}

static void follow_event(struct notify_follow *f, const struct shm_event *ev)
{
	struct peer_mem *p;
	bool created;

	if (ev->kind == PARSE_EV_INTERFACE_CREATED || ev->kind == PARSE_EV_INTERFACE_DESTROYED)
		iface_updown_seen(f, ev->iface, ev->kind, ev->time);
	if (!(ev->fields & PARSE_F_PEER))
		return;
	p = peer_get(f, ev->host, ev->peer, true, &created);
	if (!p)
		return;
	if (created && ev->kind == PARSE_EV_PEER_CREATED)
		p->state = SHM_STATE_NEW + 1; /* so its first handshake is a state change */
	if (ev->iface != SHM_NO_IFACE)
		p->iface = ev->iface;
	if (ev->fields & PARSE_F_ENDPOINT)
		peer_endpoint_seen(f, p, &ev->endpoint, ev->time);
	if (ev->kind == PARSE_EV_PEER_CREATED)
		peer_created_seen(f, p, ev->time);
	if (ev->kind == PARSE_EV_PEER_DESTROYED)
		peer_destroyed_seen(f, p, ev->time);
}

/* ---- Reorder: a min-heap on (time, seq) ------------------------------------------------------ */

static bool held_before(const struct held *a, const struct held *b)
{
	return a->ev.time < b->ev.time || (a->ev.time == b->ev.time && a->ev.seq < b->ev.seq);
}

static void heap_swap(struct held *a, struct held *b)
{
	struct held t = *a;

	*a = *b;
	*b = t;
}

static void heap_push(struct notify_follow *f, const struct shm_event *ev, uint64_t now)
{
	uint32_t i = f->heap_n++;

	f->heap[i].ev = *ev;
	f->heap[i].in_ns = now;
	while (i && held_before(&f->heap[i], &f->heap[(i - 1) / 2])) {
		heap_swap(&f->heap[i], &f->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

/* Remove the earliest event and process it. */
static void heap_release(struct notify_follow *f)
{
	struct shm_event ev = f->heap[0].ev;
	uint32_t i = 0, c;

	f->heap[0] = f->heap[--f->heap_n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= f->heap_n)
			break;
		if (c + 1 < f->heap_n && held_before(&f->heap[c + 1], &f->heap[c]))
			c++;
		if (!held_before(&f->heap[c], &f->heap[i]))
			break;
		heap_swap(&f->heap[c], &f->heap[i]);
		i = c;
	}
	follow_event(f, &ev);
}

void notify_follow_flush(struct notify_follow *f)
{
	while (f->heap_n)
		heap_release(f);
}

/* ---- Table: seed, scan, reconcile ------------------------------------------------------------ */

static int peer_state_now(struct notify_follow *f, const struct shm_peer *s, uint64_t now)
{
	const struct iface_mem *m = iface_get(f, s->iface);
	uint64_t stale =
	        m ? m->stale_ns : (uint64_t)config_stale_after(f->cfg, NULL) * 1000000000ull;

	return shm_peer_state(s, now, stale);
}

/* Take a slot as known, silently. */
static void peer_learn(struct notify_follow *f, struct peer_mem *p, const struct shm_peer *s,
                       uint64_t now)
{
	p->iface = s->iface;
	p->ep = s->endpoint;
	p->ep_time = s->endpoint_at;
	p->created_at = s->created_at;
	p->destroyed_at = s->destroyed_at;
	p->state = (uint8_t)(peer_state_now(f, s, now) + 1);
}

/* Events were lost: tell what the table knows that we do not (one note per kind of news). */
static void peer_reconcile(struct notify_follow *f, struct peer_mem *p, const struct shm_peer *s)
{
	struct parse_endpoint prev = p->ep;

	p->iface = s->iface;
	if (endpoint_known(&s->endpoint) &&
	    (!endpoint_known(&p->ep) || s->endpoint_at >= p->ep_time)) {
		p->ep = s->endpoint;
		p->ep_time = s->endpoint_at;
		if (endpoint_known(&prev) && !endpoint_same(&prev, &s->endpoint))
			note_peer(f, NOTIFY_ENDPOINT_CHANGED, s->endpoint_at, p, &prev, -1, -1);
	}
	if (s->created_at)
		peer_created_seen(f, p, s->created_at);
	if (s->destroyed_at)
		peer_destroyed_seen(f, p, s->destroyed_at);
}

static void peer_state_check(struct notify_follow *f, struct peer_mem *p, const struct shm_peer *s,
                             uint64_t now)
{
	int state = peer_state_now(f, s, now);

	if (p->state == STATE_UNKNOWN) {
		p->state = (uint8_t)(state + 1);
	} else if (p->state != state + 1) {
		p->iface = s->iface;
		note_peer(f, NOTIFY_STATE_CHANGED, now, p, NULL, state, p->state - 1);
		p->state = (uint8_t)(state + 1);
	}
}

/* A peer that appeared while its events were lost: first sight, but its creation is news. */
static void peer_discovered(struct notify_follow *f, struct peer_mem *p, const struct shm_peer *s,
                            uint64_t now)
{
	peer_learn(f, p, s, now);
	if (s->created_at)
		note_peer(f, NOTIFY_PEER_CREATED, s->created_at, p, NULL, -1, -1);
	if (s->destroyed_at && s->destroyed_at >= s->created_at)
		note_peer(f, NOTIFY_PEER_REMOVED, s->destroyed_at, p, NULL, -1, -1);
}

enum table_walk { WALK_SEED, WALK_SCAN, WALK_RECONCILE };

/*
 * Visit every peer of the table. A peer we do not know yet is learned silently when seeding,
 * discovered when reconciling (its events were lost), and left alone by a scan: its events
 * are still on their way through the ring.
 */
static void table_walk(struct notify_follow *f, enum table_walk how)
{
	const uint64_t slots = shm_reader_peer_slots(f->r), now = notify_real_ns();
	struct peer_mem *p;
	struct shm_peer s;
	bool created;

	for (uint64_t i = shm_reader_peer_next(f->r, 0); i < slots;
	     i = shm_reader_peer_next(f->r, i + 1)) {
		if (shm_reader_peer_snapshot(f->r, i, &s) < 0)
			continue;
		p = peer_get(f, s.host, s.peer, how != WALK_SCAN, &created);
		if (!p)
			continue;
		if (how == WALK_SEED) {
			peer_learn(f, p, &s, now);
			continue;
		}
		if (how == WALK_RECONCILE && created)
			peer_discovered(f, p, &s, now);
		else if (how == WALK_RECONCILE)
			peer_reconcile(f, p, &s);
		peer_state_check(f, p, &s, now);
	}
}

/* Interfaces: learn (seed) or catch up (reconcile) their up/down state. */
static void iface_walk(struct notify_follow *f, bool seed)
{
	const struct shm_header *h = shm_reader_header(f->r);
	/* Pairs with the writer's release store: entries below ifaces_used are complete. */
	uint32_t n = __atomic_load_n(&h->ifaces_used, __ATOMIC_ACQUIRE);
	struct shm_iface copy;
	struct iface_mem *m;

	for (uint32_t i = 0; i < n && i < SHM_IFACES_MAX; i++) {
		if (shm_reader_iface(f->r, i, &copy) < 0)
			continue;
		m = &f->ifaces[i];
		if (seed) {
			m->created_at = copy.created_at;
			m->destroyed_at = copy.destroyed_at;
			m->state = iface_state_of(m);
			continue;
		}
		if (copy.created_at > m->created_at)
			iface_updown_seen(f, i, PARSE_EV_INTERFACE_CREATED, copy.created_at);
		if (copy.destroyed_at > m->destroyed_at)
			iface_updown_seen(f, i, PARSE_EV_INTERFACE_DESTROYED, copy.destroyed_at);
	}
}

/* Forget everything and learn the table as it is now; the ring is followed from here. */
static void follow_seed(struct notify_follow *f)
{
	/* The position first: what is applied while we read the table comes again, and the
	 * times in our memory tell which of it is already known. */
	shm_reader_events_begin(f->r, &f->cur, 0);
	memset(f->peers, 0, f->peers_cap * sizeof(*f->peers));
	memset(f->ifaces, 0, SHM_IFACES_MAX * sizeof(*f->ifaces));
	f->peers_n = 0;
	f->heap_n = 0;
	f->need_reconcile = false;
	f->generation = shm_reader_header(f->r)->generation;
	iface_walk(f, true);
	table_walk(f, WALK_SEED);
}

static void follow_reconcile(struct notify_follow *f)
{
	notify_follow_flush(f);
	iface_walk(f, false);
	table_walk(f, WALK_RECONCILE);
	f->need_reconcile = false;
	f->reconciles++;
}

void notify_follow_scan(struct notify_follow *f)
{
	table_walk(f, WALK_SCAN);
	f->scans++;
	f->next_scan = notify_mono_ns() + f->scan_ns;
}

/* ---- Passes ---------------------------------------------------------------------------------- */

static void follow_publish(struct notify_follow *f)
{
	struct notify_stats *s = f->st;

	if (!s)
		return;
	notify_stat_set(&s->heartbeat, notify_real_ns());
	notify_stat_set(&s->events_read, f->events_read);
	notify_stat_set(&s->events_missed, f->events_missed);
	notify_stat_set(&s->reconciles, f->reconciles);
	notify_stat_set(&s->scans, f->scans);
	notify_stat_set(&s->peers_known, f->peers_n);
	notify_stat_set(&s->peers_untracked, f->untracked);
	notify_stat_set(&s->generation, f->generation);
}

static int follow_refresh(struct notify_follow *f, uint64_t now)
{
	int ret;

	if (now < f->next_refresh)
		return 0;
	f->next_refresh = now + NOTIFY_REFRESH_MS * 1000000ull;
	ret = shm_reader_refresh(f->r);

	if (ret < 0) {
		notify_log_rl(&f->rl_refresh, NOTIFY_LOG_WARN, "table: %s (following the old one)",
		              shm_reader_error());
		return ret;
	}
	if (ret == 1) {
		follow_seed(f);
		f->reconciles++;
		notify_log(NOTIFY_LOG_WARN,
		           "table recreated (generation %llu): following it afresh",
		           (unsigned long long)f->generation);
	}
	return 0;
}

/* Read what the ring has (bounded); returns the number of events read. */
static int follow_read(struct notify_follow *f, uint64_t now)
{
	struct shm_event ev;
	uint64_t missed;
	int n = 0, got;

	do {
		got = shm_reader_events_next(f->r, &f->cur, &ev, &missed);
		if (missed) {
			f->events_missed += missed;
			f->need_reconcile = true;
			notify_log_rl(&f->rl_miss, NOTIFY_LOG_WARN,
			              "fell behind the event ring: %llu events lost, catching up "
			              "from the table",
			              (unsigned long long)missed);
		}
		if (!got)
			break;
		if (f->heap_n == NOTIFY_REORDER_MAX)
			heap_release(f);
		heap_push(f, &ev, now);
		f->events_read++;
	} while (++n < PASS_EVENTS_MAX);
	return n;
}

int notify_follow_pass(struct notify_follow *f)
{
	uint64_t now;
	int ret, n;

	now = notify_mono_ns();
	ret = follow_refresh(f, now);
	n = follow_read(f, now);
	while (f->heap_n && now - f->heap[0].in_ns >= f->reorder_ns)
		heap_release(f);
	if (f->need_reconcile)
		follow_reconcile(f);
	if (now >= f->next_scan)
		notify_follow_scan(f);
	follow_publish(f);
	return ret < 0 ? ret : n;
}

/* ---- Life cycle ------------------------------------------------------------------------------ */

int notify_follow_open(struct notify_follow **out, struct shm_reader *r,
                       const struct notify_follow_opts *o)
{
	struct notify_follow *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->r = r;
	f->cfg = o->cfg;
	f->emit = o->emit;
	f->ctx = o->ctx;
	f->st = o->stats;
	f->scan_ns = o->scan_ns ? o->scan_ns : NOTIFY_SCAN_MS_DEFAULT * 1000000ull;
	f->reorder_ns = o->reorder_ns == NOTIFY_REORDER_NONE ? 0
	                : o->reorder_ns                      ? o->reorder_ns
	                                                     : NOTIFY_REORDER_MS * 1000000ull;
	f->peers_cap = NOTIFY_PEERS_INITIAL;
	f->peers = calloc(f->peers_cap, sizeof(*f->peers));
	f->ifaces = calloc(SHM_IFACES_MAX, sizeof(*f->ifaces));
	f->heap = calloc(NOTIFY_REORDER_MAX, sizeof(*f->heap));
	if (!f->peers || !f->ifaces || !f->heap) {
		notify_follow_close(f);
		return -ENOMEM;
	}
	follow_seed(f);
	f->next_scan = notify_mono_ns() + f->scan_ns;
	follow_publish(f);
	*out = f;
	return 0;
}

void notify_follow_close(struct notify_follow *f)
{
	if (!f)
		return;
	free(f->heap);
	free(f->peers);
	free(f->ifaces);
	free(f);
}
