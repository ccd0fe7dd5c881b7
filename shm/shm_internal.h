/* SPDX-License-Identifier: MIT */
/*
 * shm_internal.h — what shm_writer.c and shm_reader.c share: the named atomics every access to
 * the mapping goes through, the layout both sides compute from the geometry, the hashes that
 * place hosts, interfaces and peers, and the per-thread error message.
 */
#ifndef WGMON_SHM_INTERNAL_H
#define WGMON_SHM_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "shm/shm.h"

/*
 * Atomics. The table is shared with other processes, so every access to a field that another
 * thread may write concurrently is one of these; a fence-free seqlock (release stores of the
 * data, acquire loads of it) keeps the protocol visible to ThreadSanitizer.
 */
#define shm_load_relaxed(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define shm_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define shm_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define shm_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline void shm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* A test-and-test-and-set spinlock for writer-private lock words (held for a few stores). */
static inline void shm_spin_lock(uint32_t *lock)
{
	/* Acquires what the previous holder published; pairs with shm_spin_unlock(). */
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		while (shm_load_relaxed(lock))
			shm_cpu_relax();
}

static inline void shm_spin_unlock(uint32_t *lock)
{
	/* Publishes the critical section to the next holder's exchange in shm_spin_lock(). */
	shm_store_release(lock, 0);
}

/*
 * Copy n bytes (a multiple of 8, both sides 8-aligned) out of the mapping with acquire loads:
 * the data side of a seqlock read. Each load pairs with the writer's release store of that word.
 */
static inline void shm_copy_acquire(void *dst, const void *src, size_t n)
{
	const uint64_t *s = src;
	uint64_t *d = dst;

	for (size_t i = 0; i < n / 8; i++)
		d[i] = shm_load_acquire(&s[i]);
}

/* ---- Layout -------------------------------------------------------------------------------- */

struct shm_layout {
	uint64_t peer_capacity;
	uint64_t peer_slots;
	uint32_t event_capacity;
	struct shm_section section[SHM_SEC__COUNT];
	uint64_t size;
};

static inline uint64_t shm_round_up(uint64_t x, uint64_t to)
{
	return (x + to - 1) / to * to;
}

/* Peer slots for a capacity: load stays <= 8/9, a whole number of bitmap words. */
static inline uint64_t shm_peer_slots_for(uint64_t capacity)
{
	return shm_round_up(capacity + capacity / 8 + 1, 64);
}

/* The layout for a geometry (validated by the caller); both sides must agree on it exactly. */
static inline void shm_layout_compute(struct shm_layout *l, uint64_t capacity, uint32_t ring)
{
	const uint64_t slots = shm_peer_slots_for(capacity);
	const uint64_t size[SHM_SEC__COUNT] = {
	        [SHM_SEC_COUNTERS] = SHM_COUNTER_BLOCKS * sizeof(struct shm_counters),
	        [SHM_SEC_HOSTS] = SHM_HOSTS_MAX * sizeof(struct shm_host),
	        [SHM_SEC_HOST_INDEX] = SHM_HOST_BUCKETS * sizeof(uint32_t),
	        [SHM_SEC_IFACES] = (uint64_t)SHM_IFACES_MAX * sizeof(struct shm_iface),
	        [SHM_SEC_IFACE_INDEX] = SHM_IFACE_BUCKETS * sizeof(uint32_t),
	        [SHM_SEC_PEER_BITMAP] = slots / 8,
	        [SHM_SEC_PEERS] = slots * sizeof(struct shm_peer),
	        [SHM_SEC_EVENTS] = (uint64_t)ring * sizeof(struct shm_event),
	};
	uint64_t off = sizeof(struct shm_header);

	memset(l, 0, sizeof(*l));
	l->peer_capacity = capacity;
	l->peer_slots = slots;
	l->event_capacity = ring;
	for (int i = 0; i < SHM_SEC__COUNT; i++) {
		l->section[i].offset = off;
		l->section[i].size = size[i];
		off = shm_round_up(off + size[i], SHM_PAGE);
	}
	l->size = off;
}

/* ---- Hashes -------------------------------------------------------------------------------- */

static inline uint64_t shm_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t shm_hash_bytes(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return shm_mix64(h);
}

/* The home slot of (host, peer): a 64-bit hash reduced to [0, slots) by multiplication. */
static inline uint64_t shm_peer_home(uint32_t host, uint64_t peer, uint64_t slots)
{
	uint64_t h = shm_mix64(peer * 0x9e3779b97f4a7c15ull ^ shm_mix64(host + 1));

	return (uint64_t)(((unsigned __int128)h * slots) >> 64);
}

static inline uint64_t shm_iface_hash(uint32_t host, const char *name, size_t len)
{
	return shm_hash_bytes(name, len, shm_mix64(host + 1));
}

/* ---- Mapping views and errors -------------------------------------------------------------- */

/* Typed pointers into one mapping, computed from a validated header. */
struct shm_view {
	void *base;
	uint64_t size;
	struct shm_header *hdr;
	struct shm_counters *counters;
	struct shm_host *hosts;
	uint32_t *host_index;
	struct shm_iface *ifaces;
	uint32_t *iface_index;
	uint64_t *bitmap;
	struct shm_peer *peers;
	struct shm_event *events;
	uint64_t peer_slots;
	uint64_t event_mask;
};

static inline void shm_view_init(struct shm_view *v, void *base, uint64_t size,
                                 const struct shm_layout *l)
{
	char *b = base;

	v->base = base;
	v->size = size;
	v->hdr = base;
	v->counters = (void *)(b + l->section[SHM_SEC_COUNTERS].offset);
	v->hosts = (void *)(b + l->section[SHM_SEC_HOSTS].offset);
	v->host_index = (void *)(b + l->section[SHM_SEC_HOST_INDEX].offset);
	v->ifaces = (void *)(b + l->section[SHM_SEC_IFACES].offset);
	v->iface_index = (void *)(b + l->section[SHM_SEC_IFACE_INDEX].offset);
	v->bitmap = (void *)(b + l->section[SHM_SEC_PEER_BITMAP].offset);
	v->peers = (void *)(b + l->section[SHM_SEC_PEERS].offset);
	v->events = (void *)(b + l->section[SHM_SEC_EVENTS].offset);
	v->peer_slots = l->peer_slots;
	v->event_mask = (uint64_t)l->event_capacity - 1;
}

/* Geometry limits both sides enforce. */
static inline int shm_geometry_valid(uint64_t capacity, uint32_t ring)
{
	return capacity >= 1 && capacity <= SHM_PEER_CAPACITY_MAX && ring >= SHM_EVENT_RING_MIN &&
	       ring <= SHM_EVENT_RING_MAX && (ring & (ring - 1)) == 0;
}

/* The calling thread's last error message (shm_reader.c owns it). */
void shm_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *shm_error_get(void);

/*
 * Interning indexes: open addressing over u32 buckets holding entry index + 1 (0 = empty);
 * there are twice as many buckets as entries, so probing always ends. These return the entry
 * index, or UINT32_MAX with *bucket = the empty bucket where probing stopped. Lock-free.
 */
static inline uint32_t shm_host_lookup(const struct shm_view *v, const char *name, size_t len,
                                       uint32_t *bucket)
{
	const uint32_t mask = SHM_HOST_BUCKETS - 1;
	uint32_t b = (uint32_t)shm_hash_bytes(name, len, 0) & mask;

	for (uint32_t n = 0; n <= mask; n++, b = (b + 1) & mask) {
		/* Pairs with the writer's release store of the bucket: the entry is complete. */
		uint32_t e = shm_load_acquire(&v->host_index[b]);
		const struct shm_host *h;

		if (!e || e > SHM_HOSTS_MAX)
			break;
		h = &v->hosts[e - 1];
		if (h->name_len == len && !memcmp(h->name, name, len)) {
			*bucket = b;
			return e - 1;
		}
	}
	*bucket = b;
	return UINT32_MAX;
}

static inline uint32_t shm_iface_lookup(const struct shm_view *v, uint32_t host, const char *name,
                                        size_t len, uint32_t *bucket)
{
	const uint32_t mask = SHM_IFACE_BUCKETS - 1;
	uint32_t b = (uint32_t)shm_iface_hash(host, name, len) & mask;

	for (uint32_t n = 0; n <= mask; n++, b = (b + 1) & mask) {
		/* Pairs with the writer's release store of the bucket: the entry is complete. */
		uint32_t e = shm_load_acquire(&v->iface_index[b]);
		const struct shm_iface *f;

		if (!e || e > SHM_IFACES_MAX)
			break;
		f = &v->ifaces[e - 1];
		if (f->host == host && !memcmp(f->name, name, len) && !f->name[len]) {
			*bucket = b;
			return e - 1;
		}
	}
	*bucket = b;
	return UINT32_MAX;
}

/*
 * Find slot (host, peer) by probing from its home: its index, or the index of the first unused
 * slot where probing stopped (*found = 0). Every slot is looked at once at most: a table with
 * no unused slot (never one wgmond wrote: capacity < slots; but a reader may map a hostile
 * one) gives peer_slots, which is no place to insert. Lock-free; the writer and the reader.
 */
static inline uint64_t shm_peer_probe(const struct shm_view *v, uint32_t host, uint64_t peer,
                                      uint64_t from, int *found)
{
	uint64_t i = from < v->peer_slots ? from : 0;

	*found = 0;
	for (uint64_t n = 0; n < v->peer_slots; n++) {
		const struct shm_peer *s = &v->peers[i];

		/* Pairs with the release store of `used` at insert: the key is complete. */
		if (!shm_load_acquire(&s->used))
			return i;
		if (shm_load_relaxed(&s->peer) == peer && shm_load_relaxed(&s->host) == host) {
			*found = 1;
			return i;
		}
		if (++i == v->peer_slots)
			i = 0;
	}
	return v->peer_slots;
}

#endif /* WGMON_SHM_INTERNAL_H */
