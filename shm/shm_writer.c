/* SPDX-License-Identifier: MIT */
/*
 * shm_writer.c — wgmond's side of the table: create or re-attach the object (one writer at a
 * time, held by flock), repair what a killed writer left half-done, and apply parsed events:
 * counters, interned hosts and interfaces, the peer slot (under its spinlock and sequence), and
 * the event ring. Update rules and the publication protocol are documented in shm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <ck_sequence.h>

#include "shm/shm_internal.h"

#define SHM_DEV_DIR        "/dev/shm" /* where glibc puts POSIX shm objects: checked for space */
#define WRITER_CLAIM_SPINS 1024       /* spins on a stalled event record between sched_yield()s */

/* A ck_sequence_t can be laid over shm_peer.seq by third-party readers. */
_Static_assert(sizeof(ck_sequence_t) == sizeof(uint32_t), "ck_sequence_t is one u32");

/* The last host and interface a block interned: lines come in runs from one host/interface. */
struct writer_cache {
	uint32_t host;  /* UINT32_MAX: none */
	uint32_t iface; /* SHM_NO_IFACE: none */
} __attribute__((aligned(SHM_CACHELINE)));

struct shm_writer {
	struct shm_view v;
	int fd; /* kept open: its flock marks the one live writer */
	char name[NAME_MAX + 1];
	struct writer_cache cache[SHM_COUNTER_BLOCKS]; /* cache[b]: only block b's thread */
};

/* Resolved options. */
struct writer_geom {
	const char *name;
	uint64_t capacity;
	uint32_t ring;
	unsigned mode;
	long gid;
	bool reset;
};

const char *shm_writer_error(void)
{
	return shm_error_get();
}

/* Set "<what> <name>: <strerror(errno)>" and return -errno. */
static int writer_errno(const char *what, const char *name)
{
	const int err = errno;

	shm_error_set("%s %s: %s", what, name, strerror(err));
	return -err;
}

static uint64_t writer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Opening: create, re-attach, reset ----------------------------------------------------- */

static int writer_resolve(const struct shm_writer_opts *o, struct writer_geom *g)
{
	const char *name = o->name ? o->name : SHM_NAME_DEFAULT;

	*g = (struct writer_geom){
	        .name = name,
	        .capacity = o->capacity ? o->capacity : SHM_PEER_CAPACITY_DEFAULT,
	        .ring = o->event_ring ? o->event_ring : SHM_EVENT_RING_DEFAULT,
	        .mode = o->mode ? o->mode : SHM_MODE_DEFAULT,
	        .gid = o->gid,
	        .reset = o->reset,
	};
	if (name[0] != '/' || !name[1] || strchr(name + 1, '/') || strlen(name) > NAME_MAX) {
		shm_error_set("bad table name '%s': it must be '/' and a name without '/'", name);
		return -EINVAL;
	}
	if (!shm_geometry_valid(g->capacity, g->ring)) {
		shm_error_set("bad geometry for %s: capacity must be 1..%u peers and the event "
		              "ring a power of two in %u..%u",
		              name, SHM_PEER_CAPACITY_MAX, SHM_EVENT_RING_MIN, SHM_EVENT_RING_MAX);
		return -EINVAL;
	}
	return 0;
}

/*
 * Open (creating if absent; *created says which) and take the writer lock. Returns the fd or
 * -errno.
 */
static int writer_open_fd(const struct writer_geom *g, bool *created)
{
	int fd = shm_open(g->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, g->mode & 0777);
	struct shm_header h;
	int err;

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = shm_open(g->name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		shm_error_set("cannot open or create table %s: %s%s", g->name, strerror(err),
		              err == EACCES ? " (it belongs to another user?)" : "");
		return -err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? EBUSY : errno;
		if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.writer_pid)
			shm_error_set("table %s is in use by another wgmond (pid %u)", g->name,
			              h.writer_pid);
		else
			shm_error_set("table %s is in use by another wgmond", g->name);
		close(fd);
		return -err;
	}
	return fd;
}

/* Mode and group as configured, on a new or re-attached object. */
static int writer_set_owner(int fd, const struct writer_geom *g)
{
	struct stat st;
	int err;

	if (fstat(fd, &st))
		goto fail;
	if ((st.st_mode & 07777) != (g->mode & 07777) && fchmod(fd, g->mode & 07777))
		goto fail;
	if (g->gid >= 0 && st.st_gid != (gid_t)g->gid && fchown(fd, (uid_t)-1, (gid_t)g->gid))
		goto fail;
	return 0;
fail:
	err = errno;
	shm_error_set("cannot set mode %o / group %ld on table %s: %s", g->mode, g->gid, g->name,
	              strerror(err));
	return -err;
}

/* Can /dev/shm still hold `need` more bytes? (The object is sparse: this is its maximum.) */
static int writer_check_space(const struct writer_geom *g, uint64_t need)
{
	struct statvfs vfs;
	uint64_t avail;

	if (statvfs(SHM_DEV_DIR, &vfs))
		return 0; /* not glibc's usual layout: let ftruncate and use decide */
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail >= need)
		return 0;
	shm_error_set("table %s needs %" PRIu64 " MiB but %s has %" PRIu64 " MiB free: lower "
	              "--capacity or enlarge %s",
	              g->name, need >> 20, SHM_DEV_DIR, avail >> 20, SHM_DEV_DIR);
	return -ENOSPC;
}

static int writer_map(struct shm_writer *w, uint64_t size, const struct shm_layout *l)
{
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);

	if (base == MAP_FAILED)
		return writer_errno("cannot map table", w->name);
	shm_view_init(&w->v, base, size, l);
	return 0;
}

/* Fill a new, zero object. The magic goes last: readers refuse the table until then. */
static void writer_init_header(struct shm_writer *w, const struct shm_layout *l, uint64_t gen)
{
	struct shm_header *h = w->v.hdr;
	const uint64_t now = writer_now();
	uint64_t magic;

	h->abi = SHM_ABI_VERSION;
	h->header_size = sizeof(*h);
	h->generation = gen;
	h->object_size = l->size;
	h->created_at = now;
	h->peer_capacity = l->peer_capacity;
	h->peer_slots = l->peer_slots;
	h->host_capacity = SHM_HOSTS_MAX;
	h->iface_capacity = SHM_IFACES_MAX;
	h->host_buckets = SHM_HOST_BUCKETS;
	h->iface_buckets = SHM_IFACE_BUCKETS;
	h->event_capacity = l->event_capacity;
	h->counter_blocks = SHM_COUNTER_BLOCKS;
	h->peer_size = sizeof(struct shm_peer);
	h->host_size = sizeof(struct shm_host);
	h->iface_size = sizeof(struct shm_iface);
	h->event_size = sizeof(struct shm_event);
	h->counters_size = sizeof(struct shm_counters);
	memcpy(h->section, l->section, sizeof(l->section));
	w->v.hosts[SHM_LOCAL_HOST].first_seen = now;
	w->v.hosts[SHM_LOCAL_HOST].used = 1;
	h->hosts_used = 1;
	memcpy(&magic, SHM_MAGIC, sizeof(magic));
	/* Publishes the whole header; pairs with the load-acquire in reader_validate(). */
	shm_store_release((uint64_t *)h->magic, magic);
}

static int writer_init(struct shm_writer *w, const struct writer_geom *g, uint64_t gen)
{
	struct shm_layout l;
	int ret;

	shm_layout_compute(&l, g->capacity, g->ring);
	ret = writer_check_space(g, l.size);
	if (ret)
		return ret;
	if (ftruncate(w->fd, 0) || ftruncate(w->fd, (off_t)l.size))
		return writer_errno("cannot size table", g->name);
	ret = writer_map(w, l.size, &l);
	if (ret)
		return ret;
	writer_init_header(w, &l, gen);
	return 0;
}

/*
 * Compare an existing object's header with the geometry asked for. 0: re-attach; -EEXIST
 * (message set): another ABI or geometry; 1: no magic (a creation that never finished).
 */
static int writer_check_existing(const struct writer_geom *g, const struct shm_header *h,
                                 uint64_t size, struct shm_layout *l)
{
	shm_layout_compute(l, g->capacity, g->ring);
	if (memcmp(h->magic, SHM_MAGIC, SHM_MAGIC_LEN)) {
		for (size_t i = 0; i < sizeof(h->magic); i++)
			if (h->magic[i])
				goto foreign;
		return 1;
	}
	if (h->abi != SHM_ABI_VERSION || h->header_size != sizeof(*h)) {
		shm_error_set(
		        "table %s has ABI %u, this wgmond writes ABI %u: restart with --reset "
		        "to recreate it (its readers re-attach)",
		        g->name, h->abi, SHM_ABI_VERSION);
		return -EEXIST;
	}
	if (h->peer_capacity != g->capacity || h->event_capacity != g->ring ||
	    h->object_size != size || l->size != size ||
	    memcmp(h->section, l->section, sizeof(l->section))) {
		shm_error_set("table %s has capacity %" PRIu64 " and event ring %u, not %" PRIu64
		              " and %u: restart with --reset to recreate it, or with its geometry",
		              g->name, h->peer_capacity, h->event_capacity, g->capacity, g->ring);
		return -EEXIST;
	}
	return 0;
foreign:
	shm_error_set("%s exists and is not a wgmon table: remove it, or restart with --reset",
	              g->name);
	return -EEXIST;
}

static void writer_repair(struct shm_writer *w);

static int writer_attach(struct shm_writer *w, const struct shm_layout *l)
{
	int ret = writer_map(w, l->size, l);

	if (ret)
		return ret;
	writer_repair(w);
	return 0;
}

/*
 * --reset: mark the old object retired (its readers re-attach), unlink it, and create a new
 * one with generation + 1. Consumes w->fd (the old object) and leaves the new one there.
 */
static int writer_recreate(struct shm_writer *w, const struct writer_geom *g,
                           const struct shm_header *old)
{
	const bool ours = !memcmp(old->magic, SHM_MAGIC, SHM_MAGIC_LEN);
	const uint64_t gen = ours ? old->generation : 0; /* line 0 is the same in every ABI */
	const uint32_t retired = 1;
	int fd, ret;

	if (ours && pwrite(w->fd, &retired, sizeof(retired), offsetof(struct shm_header, retired)) <
	                    (ssize_t)sizeof(retired)) {
		/* Not fatal: readers also notice the replacement by the object's identity. */
	}
	if (shm_unlink(g->name) && errno != ENOENT)
		return writer_errno("--reset cannot remove table", g->name);
	close(w->fd);
	w->fd = -1;
	fd = shm_open(g->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, g->mode & 0777);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno;

		shm_error_set("table %s was re-created by someone else during --reset", g->name);
		if (fd >= 0)
			close(fd);
		return -(err == EEXIST || err == EWOULDBLOCK ? EBUSY : err);
	}
	w->fd = fd;
	ret = writer_init(w, g, gen + 1);
	if (ret && shm_unlink(g->name)) {
		/* Already failing: the message stays the first cause. */
	}
	return ret;
}

/* Decide between a new table, re-attaching, refusing and resetting. */
static int writer_setup(struct shm_writer *w, const struct writer_geom *g)
{
	struct shm_header old = {0};
	struct shm_layout l;
	struct stat st;
	int ret;

	if (fstat(w->fd, &st))
		return writer_errno("cannot stat table", g->name);
	if (!st.st_size)
		return writer_init(w, g, 1);
	if (pread(w->fd, &old, sizeof(old), 0) < 0)
		return writer_errno("cannot read table", g->name);
	ret = writer_check_existing(g, &old, st.st_size, &l);
	if (ret == 0)
		return writer_attach(w, &l);
	if (ret == 1)
		return writer_init(w, g, 1);
	if (!g->reset)
		return ret;
	return writer_recreate(w, g, &old);
}

int shm_writer_open(struct shm_writer **out, const struct shm_writer_opts *o)
{
	struct writer_geom g;
	struct shm_writer *w;
	bool created;
	int ret;

	ret = writer_resolve(o, &g);
	if (ret)
		return ret;
	w = calloc(1, sizeof(*w));
	if (!w) {
		shm_error_set("out of memory");
		return -ENOMEM;
	}
	strcpy(w->name, g.name);
	for (int b = 0; b < SHM_COUNTER_BLOCKS; b++)
		w->cache[b] = (struct writer_cache){.host = UINT32_MAX, .iface = SHM_NO_IFACE};
	w->fd = writer_open_fd(&g, &created);
	if (w->fd < 0) {
		ret = w->fd;
		goto free_writer;
	}
	ret = writer_setup(w, &g);
	if (ret)
		goto close_fd;
	ret = writer_set_owner(w->fd, &g);
	if (ret)
		goto unmap;
	shm_store_relaxed(&w->v.hdr->writer_pid, (uint32_t)getpid());
	shm_store_relaxed(&w->v.hdr->writer_start, writer_now());
	shm_writer_heartbeat(w, writer_now());
	*out = w;
	return 0;
unmap:
	munmap(w->v.base, w->v.size);
close_fd:
	if (w->fd >= 0)
		close(w->fd);
	if (created && shm_unlink(g.name)) {
		/* Already failing: the error message stays the first cause. */
	}
free_writer:
	free(w);
	return ret;
}

void shm_writer_close(struct shm_writer *w)
{
	if (!w)
		return;
	munmap(w->v.base, w->v.size);
	close(w->fd);
	free(w);
}

int shm_writer_unlink(const char *name)
{
	name = name ? name : SHM_NAME_DEFAULT;
	return shm_unlink(name) ? writer_errno("cannot remove table", name) : 0;
}

struct shm_counters *shm_writer_counters(struct shm_writer *w, unsigned block)
{
	return block < SHM_COUNTER_BLOCKS ? &w->v.counters[block] : NULL;
}

const struct shm_header *shm_writer_header(const struct shm_writer *w)
{
	return w->v.hdr;
}

void shm_writer_heartbeat(struct shm_writer *w, uint64_t now_ns)
{
	/* A liveness stamp, no ordering; pairs with relaxed loads in readers. */
	shm_store_relaxed(&w->v.hdr->heartbeat, now_ns);
}

/* ---- Interning ----------------------------------------------------------------------------- */

/*
 * Append host `name` under host_lock (lookups stay lock-free): the entry, then `used`,
 * hosts_used and the index bucket, each a release store, so a crash between them leaves
 * nothing a reader or a lookup could half-see (writer_repair() re-indexes the rest).
 */
static uint32_t writer_host_insert(struct shm_view *v, const char *name, size_t len, uint64_t t)
{
	struct shm_header *h = v->hdr;
	uint32_t bucket, idx;
	struct shm_host *e;

	shm_spin_lock(&h->host_lock);
	idx = shm_host_lookup(v, name, len, &bucket);
	if (idx != UINT32_MAX || h->hosts_used >= SHM_HOSTS_MAX)
		goto unlock;
	idx = h->hosts_used;
	e = &v->hosts[idx];
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->name_len = (uint32_t)len;
	e->first_seen = t;
	/* Publishes the entry to readers that check `used`. */
	shm_store_release(&e->used, 1);
	/* Publishes entries [0, idx] to readers; pairs with their load-acquire of hosts_used. */
	shm_store_release(&h->hosts_used, idx + 1);
	/* Publishes the entry to lookups; pairs with the acquire in shm_host_lookup(). */
	shm_store_release(&v->host_index[bucket], idx + 1);
unlock:
	shm_spin_unlock(&h->host_lock);
	return idx;
}

/* The host index of the event's HOSTNAME, or UINT32_MAX if the host table is full. */
static uint32_t writer_host(struct shm_writer *w, struct writer_cache *c,
                            const struct parse_event *ev, uint64_t t)
{
	const struct shm_host *e;
	uint32_t bucket, idx;

	if (!ev->host_len)
		return SHM_LOCAL_HOST;
	if (c->host != UINT32_MAX) {
		e = &w->v.hosts[c->host];
		if (e->name_len == ev->host_len && !memcmp(e->name, ev->host, ev->host_len))
			return c->host;
	}
	idx = shm_host_lookup(&w->v, ev->host, ev->host_len, &bucket);
	if (idx == UINT32_MAX)
		idx = writer_host_insert(&w->v, ev->host, ev->host_len, t);
	if (idx != UINT32_MAX)
		c->host = idx;
	return idx;
}

/* As writer_host_insert(), for (host, interface). */
static uint32_t writer_iface_insert(struct shm_view *v, uint32_t host, const char *name, size_t len,
                                    uint64_t t)
{
	struct shm_header *h = v->hdr;
	struct shm_iface *e;
	uint32_t bucket, idx;

	shm_spin_lock(&h->iface_lock);
	idx = shm_iface_lookup(v, host, name, len, &bucket);
	if (idx != UINT32_MAX || h->ifaces_used >= SHM_IFACES_MAX)
		goto unlock;
	idx = h->ifaces_used;
	e = &v->ifaces[idx];
	e->host = host;
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, name, len);
	e->first_seen = t;
	/* Publishes the entry to readers that check `used`. */
	shm_store_release(&e->used, 1);
	/* Publishes entries [0, idx] to readers; pairs with their load-acquire of ifaces_used. */
	shm_store_release(&h->ifaces_used, idx + 1);
	/* Publishes the entry to lookups; pairs with the acquire in shm_iface_lookup(). */
	shm_store_release(&v->iface_index[bucket], idx + 1);
unlock:
	shm_spin_unlock(&h->iface_lock);
	return idx;
}

static uint32_t writer_iface(struct shm_writer *w, struct writer_cache *c, uint32_t host,
                             const struct parse_event *ev, uint64_t t)
{
	const size_t len = ev->iface_len;
	const struct shm_iface *e;
	uint32_t bucket, idx;

	if (c->iface != SHM_NO_IFACE) {
		e = &w->v.ifaces[c->iface];
		if (e->host == host && !memcmp(e->name, ev->iface, len) && !e->name[len])
			return c->iface;
	}
	idx = shm_iface_lookup(&w->v, host, ev->iface, len, &bucket);
	if (idx == UINT32_MAX)
		idx = writer_iface_insert(&w->v, host, ev->iface, len, t);
	if (idx == UINT32_MAX)
		return SHM_NO_IFACE;
	c->iface = idx;
	return idx;
}

static void atomic_max_u64(uint64_t *p, uint64_t v)
{
	uint64_t cur = shm_load_relaxed(p);

	/* A time stamp, no ordering: relaxed CAS until ours is not newer. */
	while (cur < v &&
	       !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* interface_created / interface_destroyed: the latest of the two by receive time wins. */
static void writer_iface_updown(struct shm_iface *f, unsigned kind, uint64_t t)
{
	uint64_t up, down;

	shm_spin_lock(&f->lock);
	up = f->created_at;
	down = f->destroyed_at;
	if (kind == PARSE_EV_INTERFACE_CREATED && t > up)
		shm_store_relaxed(&f->created_at, up = t);
	if (kind == PARSE_EV_INTERFACE_DESTROYED && t > down)
		shm_store_relaxed(&f->destroyed_at, down = t);
	/* Relaxed: readers take the three fields as a hint, each on its own. */
	shm_store_relaxed(&f->state, up >= down ? SHM_IFACE_UP : SHM_IFACE_DOWN);
	shm_spin_unlock(&f->lock);
}

/* ---- Peers --------------------------------------------------------------------------------- */

/* Which "latest X" time each kind sets (0: none). */
static const uint8_t peer_time_field[PARSE_EV__COUNT] = {
        [PARSE_EV_KEYPAIR_CREATED] = offsetof(struct shm_peer, last_handshake),
        [PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] = offsetof(struct shm_peer, last_handshake_rx),
        [PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED] = offsetof(struct shm_peer, last_handshake_rx),
        [PARSE_EV_KEEPALIVE_RECEIVED] = offsetof(struct shm_peer, last_keepalive_rx),
        [PARSE_EV_KEEPALIVE_SENT] = offsetof(struct shm_peer, last_keepalive_tx),
        [PARSE_EV_HANDSHAKE_RETRY] = offsetof(struct shm_peer, retry_at),
        [PARSE_EV_HANDSHAKE_GAVE_UP] = offsetof(struct shm_peer, gave_up_at),
        [PARSE_EV_KEYS_ZEROED] = offsetof(struct shm_peer, keys_zeroed_at),
        [PARSE_EV_PEER_CREATED] = offsetof(struct shm_peer, created_at),
        [PARSE_EV_PEER_DESTROYED] = offsetof(struct shm_peer, destroyed_at),
};

/* The endpoint as stored: unused bytes zero, so equal endpoints are equal bytes. */
static struct parse_endpoint endpoint_clean(const struct parse_endpoint *ep)
{
	struct parse_endpoint e = {.af = ep->af, .port = ep->port};

	if (ep->af == PARSE_AF_INET) {
		memcpy(e.addr, ep->addr, 4);
	} else {
		memcpy(e.addr, ep->addr, 16);
		e.flowinfo = ep->flowinfo;
		e.scope = ep->scope;
	}
	return e;
}

/* Same address and port (flowinfo and scope do not make a new endpoint). */
static bool endpoint_same(const struct parse_endpoint *a, const struct parse_endpoint *b)
{
	return a->af == b->af && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static void peer_update_endpoint(struct shm_peer *p, const struct parse_endpoint *ep, uint64_t t)
{
	struct parse_endpoint e;

	if (ep->af != PARSE_AF_INET && ep->af != PARSE_AF_INET6)
		return; /* (einval), (invalid address): never erases a known endpoint */
	if (p->endpoint.af && t < p->endpoint_at)
		return; /* older than what we know */
	e = endpoint_clean(ep);
	if (p->endpoint.af && !endpoint_same(&p->endpoint, &e)) {
		p->prev_endpoint = p->endpoint;
		p->endpoint_changed_at = t;
		p->endpoint_changes++;
	}
	p->endpoint = e;
	p->endpoint_at = t;
}

/*
 * Apply one event received at t to a private copy of a slot (rules in shm.h). It changes only
 * the fields before `events`, and events[ev->kind]: writer_peer_update() copies no more.
 */
static void peer_update(struct shm_peer *p, const struct parse_event *ev, uint32_t iface,
                        uint64_t t, uint32_t repeat)
{
	const unsigned kind = ev->kind;
	uint64_t *field;

	p->events[kind] += repeat;
	if (!p->first_seen || t < p->first_seen)
		p->first_seen = t;
	if (t >= p->last_seen) {
		p->last_seen = t;
		if (iface != SHM_NO_IFACE)
			p->iface = iface;
	}
	if (ev->fields & PARSE_F_ENDPOINT)
		peer_update_endpoint(p, &ev->endpoint, t);
	if (kind == PARSE_EV_HANDSHAKE_RETRY && t >= p->retry_at)
		p->retry_try = (uint32_t)ev->n[1];
	if (peer_time_field[kind]) {
		field = (uint64_t *)((char *)p + peer_time_field[kind]);
		if (t > *field)
			*field = t;
	}
}

/* The words of a slot before its counters: all that peer_update() may change besides one. */
#define PEER_FIELD_WORDS (offsetof(struct shm_peer, events) / 8)
_Static_assert(offsetof(struct shm_peer, events) % 8 == 0, "counters start on a word");

/*
 * Update slot s under its lock, inside an odd sequence: work on a private copy of the words an
 * update can change (the fields, and the word holding events[kind]), then store those that
 * changed. Only lock holders write a slot, so the copy-in may be plain loads.
 */
static void writer_peer_update(struct shm_peer *s, const struct parse_event *ev, uint32_t iface,
                               uint64_t t, uint32_t repeat)
{
	const size_t ew = (offsetof(struct shm_peer, events) + ev->kind * sizeof(s->events[0])) / 8;
	uint64_t *dst = (uint64_t *)s, *b;
	struct shm_peer new;
	uint32_t seq;

	b = (uint64_t *)&new;
	shm_spin_lock(&s->lock);
	memcpy(&b[1], &dst[1], (PEER_FIELD_WORDS - 1) * 8);
	b[ew] = dst[ew];
	peer_update(&new, ev, iface, t, repeat);
	seq = s->seq;
	/* Odd: readers that see it (or any word below) retry; ordered before the words by them. */
	shm_store_relaxed(&s->seq, seq + 1);
	for (size_t i = 1; i < PEER_FIELD_WORDS; i++)
		if (b[i] != dst[i])
			/* Publishes word i, and the odd seq before it; pairs with the snapshot's
			 * acquire loads in shm_copy_acquire(). */
			shm_store_release(&dst[i], b[i]);
	/* As above, for the counter's word. */
	shm_store_release(&dst[ew], b[ew]);
	/* Even again: publishes the update; pairs with the snapshot's load-acquire of seq. */
	shm_store_release(&s->seq, seq + 2);
	shm_spin_unlock(&s->lock);
}

/*
 * Insert (host, peer) at unused slot i, under peer_lock, with its first event already applied:
 * readers never see a peer without events. The key and the update come first, then the bitmap
 * bit, then `used` (release); a writer killed before that leaves a slot that is still unused.
 */
static void writer_peer_insert(struct shm_view *v, uint64_t i, const struct parse_event *ev,
                               uint32_t host, uint32_t iface, uint64_t t, uint32_t repeat)
{
	struct shm_peer *s = &v->peers[i];

	/* Unpublished, so plain stores; clears what a killed insert may have left (not `used`,
	 * which lock-free probes load). */
	memset(s, 0, offsetof(struct shm_peer, used));
	memset((char *)s + offsetof(struct shm_peer, host), 0,
	       sizeof(*s) - offsetof(struct shm_peer, host));
	s->host = host;
	s->peer = ev->peer;
	s->iface = iface;
	writer_peer_update(s, ev, iface, t, repeat);
	/* Publishes "slot i may be in use"; pairs with the acquire in shm_reader_peer_next(). */
	__atomic_fetch_or(&v->bitmap[i / 64], 1ull << (i % 64), __ATOMIC_RELEASE);
	/* Publishes the slot; pairs with the load-acquire of `used` in probes and snapshots. */
	shm_store_release(&s->used, 1);
	shm_store_relaxed(&v->hdr->peers_used, v->hdr->peers_used + 1);
	if (iface != SHM_NO_IFACE)
		__atomic_fetch_add(&v->ifaces[iface].peers, 1, __ATOMIC_RELAXED);
}

/*
 * Apply a peer event: find the slot of (host, peer) lock-free and update it, or insert it under
 * peer_lock. 0, or -ENOSPC when peer_capacity peers are in use.
 */
static int writer_peer_apply(struct shm_view *v, const struct parse_event *ev, uint32_t host,
                             uint32_t iface, uint64_t t, uint32_t repeat)
{
	struct shm_header *h = v->hdr;
	int found, ret = 0;
	uint64_t i;

	i = shm_peer_probe(v, host, ev->peer, shm_peer_home(host, ev->peer, v->peer_slots), &found);
	if (!found) {
		shm_spin_lock(&h->peer_lock);
		/* Slots never empty again, so a concurrent insert of our key is at i or after. */
		i = shm_peer_probe(v, host, ev->peer, i, &found);
		if (!found && (h->peers_used >= h->peer_capacity || i >= v->peer_slots))
			ret = -ENOSPC;
		else if (!found)
			writer_peer_insert(v, i, ev, host, iface, t, repeat);
		shm_spin_unlock(&h->peer_lock);
	}
	if (found)
		writer_peer_update(&v->peers[i], ev, iface, t, repeat);
	return ret;
}

/* ---- Event ring ---------------------------------------------------------------------------- */

/*
 * Claim record rec for position p (protocol at struct shm_event in shm.h), from a record that
 * was published for an earlier lap or never written. If it is still busy for an earlier lap
 * (that writer was preempted while the ring wrapped), wait: it finishes without needing
 * anything from us. If it was claimed for p or a later lap, we were lapped ourselves: false,
 * and the event is not in the ring (readers skip the position as overwritten).
 */
static bool writer_event_claim(struct shm_event *rec, uint64_t p)
{
	uint64_t s = shm_load_relaxed(&rec->seq);

	for (unsigned spin = 1;; spin++) {
		if ((s & ~SHM_EVENT_BUSY) >= p + 1)
			return false;
		/* Busy for p. Acquire: pairs with the previous writer's publishing store of seq,
		 * so its words are ordered before ours. */
		if (!(s & SHM_EVENT_BUSY) &&
		    __atomic_compare_exchange_n(&rec->seq, &s, (p + 1) | SHM_EVENT_BUSY, false,
		                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
		if (s & SHM_EVENT_BUSY) {
			if (spin % WRITER_CLAIM_SPINS == 0)
				sched_yield(); /* the stalled writer may need this CPU */
			else
				shm_cpu_relax();
			s = shm_load_relaxed(&rec->seq);
		}
	}
}

/* Fill a record claimed (busy) for position p, then publish it. */
static void writer_event_fill(struct shm_event *rec, const struct shm_event *e, uint64_t p)
{
	const uint64_t *src = (const uint64_t *)e;
	uint64_t *dst = (uint64_t *)rec;

	for (size_t i = 1; i < sizeof(*e) / 8; i++)
		/* Publishes word i after the busy mark; pairs with the reader's acquire loads. */
		shm_store_release(&dst[i], src[i]);
	/* Publishes event p; pairs with the load-acquire of seq in events_take(). */
	shm_store_release(&rec->seq, p + 1);
}

/* Append the event; false if its record could not be claimed (see writer_event_claim()). */
static bool writer_event_append(struct shm_view *v, const struct parse_event *ev, uint32_t host,
                                uint32_t iface, uint64_t t, uint32_t repeat)
{
	struct shm_event e = {
	        .time = t,
	        .peer = ev->fields & PARSE_F_PEER ? ev->peer : 0,
	        .host = host,
	        .iface = iface,
	        .kind = ev->kind,
	        .fields = ev->fields,
	        .repeat = repeat,
	        .n = {ev->n[0], ev->n[1]},
	};
	/* Only reserves a position: the record's seq publishes it (writer_event_fill()). */
	uint64_t p = __atomic_fetch_add(&v->hdr->event_head, 1, __ATOMIC_RELAXED);
	struct shm_event *rec = &v->events[p & v->event_mask];

	if (ev->fields & PARSE_F_ENDPOINT)
		e.endpoint = endpoint_clean(&ev->endpoint);
	if (ev->fields & PARSE_F_ADDR)
		e.addr = endpoint_clean(&ev->addr);
	if (!writer_event_claim(rec, p))
		return false;
	writer_event_fill(rec, &e, p);
	return true;
}

/* ---- Apply --------------------------------------------------------------------------------- */

static void writer_count_ratelimit(struct shm_writer *w, struct shm_counters *c, uint32_t host,
                                   const struct parse_event *ev, uint64_t t, uint32_t repeat)
{
	const uint64_t n = ev->n[0] * repeat;
	struct shm_host *h = &w->v.hosts[host];

	shm_counter_add(&c->ratelimit_suppressed, n);
	/* A count, no ordering. */
	__atomic_fetch_add(&h->ratelimit_suppressed, n, __ATOMIC_RELAXED);
	atomic_max_u64(&h->last_ratelimit, t);
}

/* Count the event on its interface; returns the iface index or SHM_NO_IFACE. */
static uint32_t writer_apply_iface(struct shm_writer *w, struct writer_cache *cache,
                                   struct shm_counters *c, uint32_t host,
                                   const struct parse_event *ev, uint64_t t, uint32_t repeat)
{
	uint32_t iface = writer_iface(w, cache, host, ev, t);
	struct shm_iface *f;

	if (iface == SHM_NO_IFACE) {
		shm_counter_add(&c->dropped[SHM_DROP_IFACE_TABLE_FULL], 1);
		return iface;
	}
	f = &w->v.ifaces[iface];
	/* A count, no ordering: several workers add here. */
	__atomic_fetch_add(&f->events[ev->kind], repeat, __ATOMIC_RELAXED);
	if (ev->kind == PARSE_EV_INTERFACE_CREATED || ev->kind == PARSE_EV_INTERFACE_DESTROYED)
		writer_iface_updown(f, ev->kind, t);
	return iface;
}

int shm_writer_apply(struct shm_writer *w, unsigned block, const struct parse_event *ev,
                     uint64_t recv_ns)
{
	const uint32_t repeat = ev->repeat ? ev->repeat : 1;
	struct shm_counters *c;
	uint32_t host, iface = SHM_NO_IFACE;
	int ret = 0;

	if (block >= SHM_COUNTER_BLOCKS || ev->kind == PARSE_EV_NONE || ev->kind >= PARSE_EV__COUNT)
		return -EINVAL;
	c = &w->v.counters[block];
	shm_counter_add(&c->events[ev->kind], repeat);
	host = writer_host(w, &w->cache[block], ev, recv_ns);
	if (host == UINT32_MAX) {
		shm_counter_add(&c->dropped[SHM_DROP_HOST_TABLE_FULL], 1);
		return -ENOSPC;
	}
	if (ev->kind == PARSE_EV_RATELIMIT_SUPPRESSED)
		writer_count_ratelimit(w, c, host, ev, recv_ns, repeat);
	if (ev->iface_len) {
		iface = writer_apply_iface(w, &w->cache[block], c, host, ev, recv_ns, repeat);
		ret = iface == SHM_NO_IFACE ? -ENOSPC : 0;
	}
	if ((ev->fields & PARSE_F_PEER) &&
	    writer_peer_apply(&w->v, ev, host, iface, recv_ns, repeat)) {
		shm_counter_add(&c->dropped[SHM_DROP_TABLE_FULL], 1);
		ret = -ENOSPC;
	}
	if (!writer_event_append(&w->v, ev, host, iface, recv_ns, repeat))
		shm_counter_add(&c->dropped[SHM_DROP_EVENT_RING_LAPPED], 1);
	return ret;
}

/* ---- Repair after a killed writer ---------------------------------------------------------- */

/* Entries counted in *_used but missing from their index (killed between the two stores). */
static void writer_reindex(struct shm_view *v)
{
	uint32_t bucket;

	for (uint32_t i = 1; i < v->hdr->hosts_used; i++) {
		const struct shm_host *e = &v->hosts[i];

		if (shm_host_lookup(v, e->name, e->name_len, &bucket) == UINT32_MAX)
			v->host_index[bucket] = i + 1;
	}
	for (uint32_t i = 0; i < v->hdr->ifaces_used; i++) {
		struct shm_iface *e = &v->ifaces[i];

		e->lock = 0;
		if (shm_iface_lookup(v, e->host, e->name, strnlen(e->name, sizeof(e->name)),
		                     &bucket) == UINT32_MAX)
			v->iface_index[bucket] = i + 1;
	}
}

/* Release slot locks, close odd sequences, recount the peers in use. */
static void writer_repair_peers(struct shm_view *v)
{
	uint64_t used = 0;

	for (uint64_t word = 0; word < v->peer_slots / 64; word++) {
		for (uint64_t bits = v->bitmap[word]; bits; bits &= bits - 1) {
			struct shm_peer *s = &v->peers[word * 64 + __builtin_ctzll(bits)];

			s->lock = 0;
			if (s->seq & 1)
				/* Even again: the half-update is what readers get from now on. */
				shm_store_release(&s->seq, s->seq + 1);
			used += s->used;
		}
	}
	shm_store_relaxed(&v->hdr->peers_used, used);
}

/* Records reserved but never completed become gaps (kind 0) that readers count as missed. */
static void writer_repair_events(struct shm_view *v)
{
	const uint64_t head = v->hdr->event_head, cap = v->event_mask + 1;
	const struct shm_event gap = {0};

	for (uint64_t p = head > cap ? head - cap : 0; p < head; p++) {
		struct shm_event *rec = &v->events[p & v->event_mask];

		if (shm_load_relaxed(&rec->seq) == p + 1)
			continue;
		shm_store_relaxed(&rec->seq, (p + 1) | SHM_EVENT_BUSY); /* no writer runs yet */
		writer_event_fill(rec, &gap, p);
	}
}

/*
 * On re-attach, before any writer thread runs: a killed wgmond may have died holding a lock,
 * inside a sequence, between an entry and its index, or with a reserved event record.
 */
static void writer_repair(struct shm_writer *w)
{
	struct shm_header *h = w->v.hdr;

	h->peer_lock = h->host_lock = h->iface_lock = 0;
	if (h->hosts_used < 1 || h->hosts_used > SHM_HOSTS_MAX)
		h->hosts_used = SHM_HOSTS_MAX; /* not ours to trust: at worst, unusable entries */
	if (h->ifaces_used > SHM_IFACES_MAX)
		h->ifaces_used = SHM_IFACES_MAX;
	writer_reindex(&w->v);
	writer_repair_peers(&w->v);
	writer_repair_events(&w->v);
}
