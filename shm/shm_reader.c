/* SPDX-License-Identifier: MIT */
/*
 * shm_reader.c — the reader library: map the table read-only, validate it, copy peers and
 * interfaces consistently, sum the counters, follow the event ring, render a peer as JSON.
 * Readers never write to the table; everything they see is published by the writer's release
 * stores (see shm.h), which their acquire loads here pair with.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/shm_internal.h"

#define SHM_SNAPSHOT_TRIES 4096 /* a writer holds a slot for a few stores */
#define SHM_EVENT_ROUNDS   8    /* resynchronisations per shm_reader_events_next() call */
#define SHM_ERROR_MAX      320

struct shm_reader {
	struct shm_view v;
	dev_t dev; /* identity of the mapped object, to notice a replacement */
	ino_t ino;
	char name[NAME_MAX + 1];
};

static __thread char shm_error_buf[SHM_ERROR_MAX];

void shm_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(shm_error_buf, sizeof(shm_error_buf), fmt, ap);
	va_end(ap);
}

const char *shm_error_get(void)
{
	return shm_error_buf;
}

const char *shm_reader_error(void)
{
	return shm_error_buf;
}

static const char *const shm_drop_names[SHM_DROP__COUNT] = {
        [SHM_DROP_RING_FULL] = "ring_full",
        [SHM_DROP_TRUNCATED] = "truncated",
        [SHM_DROP_NOT_ALLOWED] = "not_allowed",
        [SHM_DROP_TABLE_FULL] = "table_full",
        [SHM_DROP_HOST_TABLE_FULL] = "host_table_full",
        [SHM_DROP_IFACE_TABLE_FULL] = "iface_table_full",
        [SHM_DROP_KMSG_OVERRUN] = "kmsg_overrun",
        [SHM_DROP_NOBUFS] = "nobufs",
        [SHM_DROP_RECV_ERROR] = "recv_error",
        [SHM_DROP_EVENT_RING_LAPPED] = "event_ring_lapped",
        [SHM_DROP_IFACE_FILTERED] = "iface_filtered",
};

const char *shm_drop_name(unsigned reason)
{
	return reason < SHM_DROP__COUNT ? shm_drop_names[reason] : NULL;
}

/* ---- Attach and validate ------------------------------------------------------------------- */

/* Does the header describe exactly the layout its geometry implies, within `size` bytes? */
static int reader_validate(const struct shm_header *h, uint64_t size, const char *name,
                           struct shm_layout *l)
{
	uint64_t magic;

	memcpy(&magic, SHM_MAGIC, sizeof(magic));
	/* Pairs with the writer's release store of magic: the header is complete. */
	if (shm_load_acquire((const uint64_t *)h->magic) != magic) {
		shm_error_set("%s is not a wgmon table (or wgmond is still creating it)", name);
		return -EPROTO;
	}
	if (h->abi != SHM_ABI_VERSION || h->header_size != sizeof(*h)) {
		shm_error_set("table %s has ABI %u, this program reads ABI %u: upgrade the reader, "
		              "or restart wgmond with --reset",
		              name, h->abi, SHM_ABI_VERSION);
		return -EPROTO;
	}
	if (!shm_geometry_valid(h->peer_capacity, h->event_capacity)) {
		shm_error_set("table %s has an invalid geometry", name);
		return -EPROTO;
	}
	shm_layout_compute(l, h->peer_capacity, h->event_capacity);
	if (h->object_size != size || l->size != size || h->peer_slots != l->peer_slots ||
	    h->host_capacity != SHM_HOSTS_MAX || h->iface_capacity != SHM_IFACES_MAX ||
	    h->host_buckets != SHM_HOST_BUCKETS || h->iface_buckets != SHM_IFACE_BUCKETS ||
	    h->counter_blocks != SHM_COUNTER_BLOCKS || h->peer_size != sizeof(struct shm_peer) ||
	    h->host_size != sizeof(struct shm_host) || h->iface_size != sizeof(struct shm_iface) ||
	    h->event_size != sizeof(struct shm_event) ||
	    h->counters_size != sizeof(struct shm_counters) ||
	    memcmp(h->section, l->section, sizeof(l->section))) {
		shm_error_set("table %s: sizes do not match its geometry (corrupt or truncated)",
		              name);
		return -EPROTO;
	}
	return 0;
}

static int reader_open_fd(const char *name, struct stat *st)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	int err;

	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			shm_error_set("no table at %s: is wgmond running?", name);
		else if (err == EACCES)
			shm_error_set("no permission to read table %s: join its group (see wgmond "
			              "--shm-group)",
			              name);
		else
			shm_error_set("cannot open table %s: %s", name, strerror(err));
		return -err;
	}
	if (fstat(fd, st)) {
		err = errno;
		shm_error_set("cannot stat table %s: %s", name, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

/* Map `name` read-only into *v, validated. */
static int reader_map(const char *name, struct shm_view *v, struct stat *st)
{
	struct shm_layout l;
	void *base;
	int fd, ret;

	fd = reader_open_fd(name, st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st->st_size < sizeof(struct shm_header)) {
		shm_error_set("%s is not a wgmon table (or wgmond is still creating it)", name);
		close(fd);
		return -EPROTO;
	}
	base = mmap(NULL, st->st_size, PROT_READ, MAP_SHARED, fd, 0);
	ret = base == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret) {
		shm_error_set("cannot map table %s: %s", name, strerror(-ret));
		return ret;
	}
	ret = reader_validate(base, st->st_size, name, &l);
	if (ret) {
		munmap(base, st->st_size);
		return ret;
	}
	shm_view_init(v, base, st->st_size, &l);
	return 0;
}

int shm_reader_attach(struct shm_reader **out, const char *name)
{
	struct shm_reader *r;
	struct stat st;
	int ret;

	name = name ? name : SHM_NAME_DEFAULT;
	if (strlen(name) > NAME_MAX) {
		shm_error_set("table name too long: %s", name);
		return -ENAMETOOLONG;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		shm_error_set("out of memory");
		return -ENOMEM;
	}
	strcpy(r->name, name);
	ret = reader_map(name, &r->v, &st);
	if (ret) {
		free(r);
		return ret;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	*out = r;
	return 0;
}

void shm_reader_detach(struct shm_reader *r)
{
	if (!r)
		return;
	munmap(r->v.base, r->v.size);
	free(r);
}

int shm_reader_refresh(struct shm_reader *r)
{
	struct shm_view v;
	struct stat st;
	int fd, ret;

	/* Set by a --reset before it unlinks this object; a stat below catches the rest. */
	if (!shm_load_relaxed(&r->v.hdr->retired)) {
		fd = reader_open_fd(r->name, &st);
		if (fd < 0)
			return fd;
		close(fd);
		if (st.st_dev == r->dev && st.st_ino == r->ino)
			return 0;
	}
	ret = reader_map(r->name, &v, &st);
	if (ret)
		return ret;
	munmap(r->v.base, r->v.size);
	r->v = v;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	return 1;
}

const struct shm_header *shm_reader_header(const struct shm_reader *r)
{
	return r->v.hdr;
}

/* ---- Peers, hosts, interfaces -------------------------------------------------------------- */

uint64_t shm_reader_peer_slots(const struct shm_reader *r)
{
	return r->v.peer_slots;
}

uint64_t shm_reader_peer_next(const struct shm_reader *r, uint64_t from)
{
	const uint64_t slots = r->v.peer_slots;
	uint64_t word, bits;

	if (from >= slots)
		return slots;
	word = from / 64;
	/* Pairs with the writer's fetch-or at insert (which precedes the slot's `used`). */
	bits = shm_load_acquire(&r->v.bitmap[word]) & (~0ull << (from % 64));
	while (!bits) {
		if (++word >= slots / 64)
			return slots;
		bits = shm_load_acquire(&r->v.bitmap[word]);
	}
	return word * 64 + (uint64_t)__builtin_ctzll(bits);
}

int shm_reader_peer_snapshot(const struct shm_reader *r, uint64_t idx, struct shm_peer *out)
{
	const struct shm_peer *s;
	uint32_t seq;

	if (idx >= r->v.peer_slots)
		return -ENOENT;
	s = &r->v.peers[idx];
	/* Pairs with the release store of `used` at insert: the key is complete. */
	if (!shm_load_acquire(&s->used))
		return -ENOENT;
	for (int i = 0; i < SHM_SNAPSHOT_TRIES; i++) {
		/* Pairs with the writer's closing release store of seq: its stores are visible. */
		seq = shm_load_acquire(&s->seq);
		if (seq & 1) {
			shm_cpu_relax();
			continue;
		}
		shm_copy_acquire((char *)out + 8, (const char *)s + 8, sizeof(*out) - 8);
		/* Ordered after the acquire loads above: an unchanged seq means no writer came in. */
		if (shm_load_relaxed(&s->seq) == seq) {
			out->seq = seq;
			out->lock = 0;
			return 0;
		}
	}
	return -EAGAIN;
}

int shm_reader_peer_find(const struct shm_reader *r, uint32_t host, uint64_t peer,
                         struct shm_peer *out)
{
	int found;
	uint64_t i = shm_peer_probe(&r->v, host, peer, shm_peer_home(host, peer, r->v.peer_slots),
	                            &found);

	return found ? shm_reader_peer_snapshot(r, i, out) : -ENOENT;
}

const char *shm_reader_host_name(const struct shm_reader *r, uint32_t host)
{
	const char *name;

	/* Pairs with the writer's release store of hosts_used: entries below it are complete. */
	if (host >= shm_load_acquire(&r->v.hdr->hosts_used) || host >= SHM_HOSTS_MAX)
		return NULL;
	name = r->v.hosts[host].name;
	/* The writer always terminates it; a corrupt table must not send callers past it. */
	return memchr(name, '\0', SHM_HOST_NAME_MAX + 1) ? name : NULL;
}

int64_t shm_reader_host_find(const struct shm_reader *r, const char *name, size_t len)
{
	uint32_t bucket, idx;

	if (!len)
		return SHM_LOCAL_HOST;
	if (len > SHM_HOST_NAME_MAX)
		return -ENOENT;
	idx = shm_host_lookup(&r->v, name, len, &bucket);
	return idx == UINT32_MAX ? (int64_t)-ENOENT : (int64_t)idx;
}

int shm_reader_iface(const struct shm_reader *r, uint32_t iface, struct shm_iface *out)
{
	/* Pairs with the writer's release store of ifaces_used: entries below it are complete. */
	if (iface >= shm_load_acquire(&r->v.hdr->ifaces_used) || iface >= SHM_IFACES_MAX)
		return -ENOENT;
	shm_copy_acquire(out, &r->v.ifaces[iface], sizeof(*out));
	out->lock = 0;
	/* The writer always terminates it; a corrupt table must not send callers past it. */
	out->name[SHM_IFACE_NAME_MAX] = '\0';
	return 0;
}

/* ---- Counters ------------------------------------------------------------------------------ */

static void stats_add_block(struct shm_stats *s, const struct shm_counters *c)
{
	/* Relaxed loads pair with shm_counter_add()'s relaxed stores: counts, not ordering. */
	s->datagrams += shm_load_relaxed(&c->datagrams);
	s->bytes += shm_load_relaxed(&c->bytes);
	s->lines += shm_load_relaxed(&c->lines);
	s->ratelimit_suppressed += shm_load_relaxed(&c->ratelimit_suppressed);
	for (int k = 0; k < SHM_EVENT_KINDS; k++)
		s->events[k] += shm_load_relaxed(&c->events[k]);
	for (int k = 0; k < SHM_REJECT_KINDS; k++)
		s->rejected[k] += shm_load_relaxed(&c->rejected[k]);
	for (int k = 0; k < SHM_DROP_KINDS; k++)
		s->dropped[k] += shm_load_relaxed(&c->dropped[k]);
}

void shm_reader_stats(const struct shm_reader *r, struct shm_stats *out)
{
	const struct shm_header *h = r->v.hdr;

	memset(out, 0, sizeof(*out));
	for (int b = 0; b < SHM_COUNTER_BLOCKS; b++)
		stats_add_block(out, &r->v.counters[b]);
	for (int k = 0; k < SHM_EVENT_KINDS; k++)
		out->events_total += out->events[k];
	out->peers = shm_load_relaxed(&h->peers_used);
	out->peer_capacity = h->peer_capacity;
	out->generation = h->generation;
	out->heartbeat = shm_load_relaxed(&h->heartbeat);
	out->writer_start = shm_load_relaxed(&h->writer_start);
	out->writer_pid = shm_load_relaxed(&h->writer_pid);
	out->event_head = shm_load_relaxed(&h->event_head);
	out->hosts = shm_load_relaxed(&h->hosts_used);
	out->ifaces = shm_load_relaxed(&h->ifaces_used);
}

/* ---- Event ring ---------------------------------------------------------------------------- */

void shm_reader_events_begin(const struct shm_reader *r, struct shm_event_cursor *c, uint64_t back)
{
	const uint64_t cap = r->v.event_mask + 1;
	/* Only a position: the records' own seq words publish their contents. */
	uint64_t head = shm_load_relaxed(&r->v.hdr->event_head);
	uint64_t start = back < head ? head - back : 0;

	if (head - start > cap)
		start = head - cap;
	c->next = start;
}

/*
 * Try to copy the record of position c->next. Returns 1 with a copy, 0 if it is not written
 * yet, -1 if the writers lapped us (c->next moved forward, *lost increased).
 */
static int events_take(const struct shm_reader *r, struct shm_event_cursor *c,
                       struct shm_event *out, uint64_t *lost)
{
	const uint64_t cap = r->v.event_mask + 1;
	const struct shm_event *rec = &r->v.events[c->next & r->v.event_mask];
	const uint64_t want = c->next + 1;
	/* Pairs with the writer's closing release store of seq: the record is complete. */
	uint64_t s = shm_load_acquire(&rec->seq), v = s & ~SHM_EVENT_BUSY;

	if (v < want || s == (want | SHM_EVENT_BUSY))
		return 0;
	if (v == want) {
		shm_copy_acquire((char *)out + 8, (const char *)rec + 8, sizeof(*out) - 8);
		/* Ordered after the acquire loads: unchanged means the copy is of event want. */
		if (shm_load_relaxed(&rec->seq) == s) {
			out->seq = want;
			return 1;
		}
		return -1; /* overwritten while copying: the next look sees the newer seq */
	}
	/*
	 * Writers put here only the positions of this record's later laps, once reserved. A seq
	 * less than a lap ahead, or a lap past the head, is a corrupt record: jumping by it would
	 * send the cursor back (events read twice) or far ahead (none read again). Passed over.
	 */
	if (v - want < cap || v - cap > shm_load_relaxed(&r->v.hdr->event_head)) {
		(*lost)++;
		c->next++;
		return -1;
	}
	/* Position v - 1 (a later lap) is being written here: everything before v - cap is gone. */
	*lost += v - cap - c->next;
	c->next = v - cap;
	return -1;
}

int shm_reader_events_next(const struct shm_reader *r, struct shm_event_cursor *c,
                           struct shm_event *out, uint64_t *missed)
{
	const uint64_t cap = r->v.event_mask + 1;
	uint64_t lost = 0, head;
	int got = 0, ret;

	for (int round = 0; round < SHM_EVENT_ROUNDS && !got; round++) {
		head = shm_load_relaxed(&r->v.hdr->event_head);
		if (c->next >= head)
			break;
		if (head - c->next > cap) {
			lost += head - cap - c->next;
			c->next = head - cap;
		}
		ret = events_take(r, c, out, &lost);
		if (ret == 0 && head - c->next <= cap / 2)
			break; /* its writer is on it */
		if (ret == 0) {
			lost++; /* its writer is stalled or died: give it up */
			c->next++;
			continue;
		}
		if (ret < 0)
			continue;
		c->next++;
		if (out->kind == PARSE_EV_NONE)
			lost++; /* a gap a crashed writer left, filled at re-attach */
		else
			got = 1;
	}
	if (missed)
		*missed = lost;
	return got;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

struct jbuf {
	char *p;
	size_t cap, len;
	bool full;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->full || b->len + n >= b->cap) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void jb_fmt(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_fmt(struct jbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	jb_put(b, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (!len || len > n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A JSON string: quotes, backslashes and control bytes escaped, invalid UTF-8 as \u00XX. */
static void jb_str(struct jbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), u;

	jb_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			jb_put(b, "\\", 1);
			jb_put(b, (const char *)&s[i], 1);
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			jb_put(b, (const char *)&s[i], 1);
		} else if (s[i] >= 0x80 && (u = utf8_len(&s[i], n - i))) {
			jb_put(b, (const char *)&s[i], u);
			i += u - 1;
		} else {
			jb_fmt(b, "\\u%04x", s[i]);
		}
	}
	jb_put(b, "\"", 1);
}

static void jb_time(struct jbuf *b, const char *key, uint64_t ns)
{
	if (ns)
		jb_fmt(b, ",\"%s\":%" PRIu64 ".%06" PRIu64, key, ns / 1000000000u,
		       ns % 1000000000u / 1000u);
}

static void jb_endpoint(struct jbuf *b, const struct parse_endpoint *ep)
{
	char text[64], ip[64];

	if (ep->af != PARSE_AF_INET && ep->af != PARSE_AF_INET6)
		return;
	if (!parse_endpoint_format(ep, PARSE_STYLE_ENDPOINT, text, sizeof(text)) ||
	    !parse_endpoint_format(ep, PARSE_STYLE_COMPRESSED, ip, sizeof(ip)))
		return;
	jb_put(b, ",\"endpoint\":", 12);
	jb_str(b, text);
	jb_put(b, ",\"ip\":", 6);
	jb_str(b, ip);
	jb_fmt(b, ",\"port\":%u", ep->port);
}

static void jb_events(struct jbuf *b, const struct shm_peer *p)
{
	bool first = true;

	jb_put(b, ",\"events\":{", 11);
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
		if (!p->events[k])
			continue;
		jb_fmt(b, "%s\"%s\":%" PRIu32, first ? "" : ",", parse_event_name(k), p->events[k]);
		first = false;
	}
	jb_put(b, "}", 1);
}

size_t shm_peer_json(const struct shm_reader *r, const struct shm_peer *p, char *buf, size_t cap)
{
	struct jbuf b = {.p = buf, .cap = cap};
	const char *host = shm_reader_host_name(r, p->host);
	struct shm_iface f;

	jb_put(&b, "{\"host\":", 8);
	jb_str(&b, host ? host : "");
	jb_put(&b, ",\"iface\":", 9);
	jb_str(&b, p->iface != SHM_NO_IFACE && !shm_reader_iface(r, p->iface, &f) ? f.name : "");
	jb_fmt(&b, ",\"peer\":%" PRIu64, p->peer);
	jb_endpoint(&b, &p->endpoint);
	jb_time(&b, "first_seen", p->first_seen);
	jb_time(&b, "last_seen", p->last_seen);
	jb_time(&b, "last_handshake", p->last_handshake);
	jb_time(&b, "last_handshake_rx", p->last_handshake_rx);
	jb_time(&b, "last_keepalive_rx", p->last_keepalive_rx);
	jb_time(&b, "last_keepalive_tx", p->last_keepalive_tx);
	jb_fmt(&b, ",\"endpoint_changes\":%" PRIu32, p->endpoint_changes);
	jb_events(&b, p);
	jb_put(&b, "}", 1);
	if (b.full || !cap)
		return 0;
	buf[b.len] = '\0';
	return b.len;
}
