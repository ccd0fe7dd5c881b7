/* SPDX-License-Identifier: MIT */
/*
 * lane.c — the SPSC hand-off from the ingest thread (producer) to one parser
 * worker (consumer): a ck_ring of record pointers over a byte arena, plus a
 * futex so an idle worker sleeps instead of spinning. See ingest_internal.h.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define REC_ALIGN 8u

static uint64_t rec_bytes(uint32_t len)
{
	return (sizeof(struct ingest_record) + len + REC_ALIGN - 1) & ~(uint64_t)(REC_ALIGN - 1);
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static void futex_wait(uint32_t *word, uint32_t val)
{
	/* Returns at once if *word != val; EINTR and spurious wake-ups just re-check. */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int ingest_lane_init(struct ingest_lane *l, uint32_t ring_size)
{
	uint64_t bytes = (uint64_t)ring_size * INGEST_LANE_BYTES;

	memset(l, 0, sizeof(*l));
	if (ring_size < 2 || ring_size > INGEST_RING_SIZE_MAX || (ring_size & (ring_size - 1)))
		return -EINVAL;
	bytes = pow2_at_least(bytes > INGEST_LANE_MIN ? bytes : INGEST_LANE_MIN);
	l->slots = calloc(ring_size, sizeof(*l->slots));
	if (!l->slots)
		return -ENOMEM;
	if (posix_memalign((void **)&l->arena, INGEST_CACHELINE, bytes)) {
		free(l->slots);
		l->slots = NULL;
		return -ENOMEM;
	}
	l->arena_mask = bytes - 1;
	ck_ring_init(&l->ring, ring_size);
	return 0;
}

void ingest_lane_destroy(struct ingest_lane *l)
{
	free(l->slots);
	free(l->arena);
	l->slots = NULL;
	l->arena = NULL;
}

struct ingest_record *ingest_lane_reserve(struct ingest_lane *l, uint32_t cap)
{
	uint64_t size = l->arena_mask + 1, need = rec_bytes(cap);
	uint64_t pos = l->head & l->arena_mask;
	/* A record never wraps: skip the arena's tail if it does not fit there. */
	uint64_t start = l->head + (pos + need > size ? size - pos : 0);

	if (cap > INGEST_RECORD_MAX || ck_ring_size(&l->ring) + 1 >= ck_ring_capacity(&l->ring))
		return NULL;
	if (start + need - l->released_seen > size) {
		/* Pairs with the release in ingest_lane_release: the worker is done with those bytes. */
		l->released_seen = __atomic_load_n(&l->released, __ATOMIC_ACQUIRE);
		if (start + need - l->released_seen > size)
			return NULL;
	}
	l->resv = start;
	return (struct ingest_record *)(l->arena + (start & l->arena_mask));
}

void ingest_lane_commit(struct ingest_lane *l, struct ingest_record *r, uint32_t len,
                        uint64_t recv_ns)
{
	bool ok;

	r->recv_ns = recv_ns;
	r->len = len;
	r->end = l->resv + rec_bytes(len);
	l->head = r->end;
	ingest_tsan_release(&l->ring);
	/* ck's store fence publishes the record before the pointer; it pairs with the load
	 * fence in ck_ring_dequeue_spsc. Cannot fail: reserve checked the room and only we add. */
	ok = ck_ring_enqueue_spsc(&l->ring, l->slots, r);
	(void)ok;
}

/*
 * A full barrier, then `sleeping`. GCC refuses atomic_thread_fence under TSan (which cannot model
 * fences); there a seq_cst read-modify-write stands in, a full barrier on x86 as well.
 */
static uint32_t lane_fence_load_sleeping(struct ingest_lane *l)
{
#ifdef INGEST_TSAN
	return __atomic_fetch_or(&l->sleeping, 0, __ATOMIC_SEQ_CST);
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&l->sleeping, __ATOMIC_RELAXED);
#endif
}

void ingest_lane_kick(struct ingest_lane *l)
{
	/* Orders our p_tail (and `closing`) stores before the load of `sleeping`; pairs with
	 * the worker's seq_cst store of `sleeping` before its re-check: one of us sees the other. */
	if (lane_fence_load_sleeping(l) && __atomic_exchange_n(&l->sleeping, 0, __ATOMIC_RELAXED))
		futex_wake(&l->sleeping);
}

void ingest_lane_close(struct ingest_lane *l)
{
	/* Publishes every earlier commit; pairs with the acquire in ingest_lane_wait. */
	__atomic_store_n(&l->closing, 1, __ATOMIC_RELEASE);
	ingest_lane_kick(l);
}

struct ingest_record *ingest_lane_pop(struct ingest_lane *l)
{
	struct ingest_record *r;

	if (!ck_ring_dequeue_spsc(&l->ring, l->slots, &r))
		return NULL;
	ingest_tsan_acquire(&l->ring);
	return r;
}

void ingest_lane_release(struct ingest_lane *l, const struct ingest_record *r)
{
	/* Gives the record's bytes back; pairs with the acquire in ingest_lane_reserve. */
	__atomic_store_n(&l->released, r->end, __ATOMIC_RELEASE);
}

/* Poll the ring for up to INGEST_SPIN_NS: a busy producer refills it sooner than a futex
 * round trip would take (on another core); an idle one costs a few µs per wake-up. */
static bool lane_spin(struct ingest_lane *l)
{
	uint64_t end = ingest_mono_ns() + INGEST_SPIN_NS;

	for (;;) {
		for (unsigned i = 0; i < INGEST_SPIN_CHECK; i++) {
			if (ck_ring_size(&l->ring))
				return true;
			ck_pr_stall(); /* cpu_relax */
		}
		if (ingest_mono_ns() >= end)
			return false;
	}
}

/*
 * The lost-wake-up pairing (a Dekker pattern: each side stores, full barrier, loads):
 *
 *   worker (here)                          producer (ingest_lane_kick)
 *   store sleeping = 1 (seq_cst)           store p_tail (ck enqueue), `closing`
 *   load p_tail: empty? (re-check)         full fence
 *   futex_wait(sleeping, 1)                load sleeping: 1? → exchange 0, futex_wake
 *
 * The worker's seq_cst store is ordered before its re-check; the producer's fence orders its
 * publication before its load of `sleeping`. So either the worker's re-check sees the record,
 * or the producer sees sleeping == 1 and wakes it; futex_wait itself returns at once when the
 * producer cleared `sleeping` between the re-check and the syscall.
 */
bool ingest_lane_wait(struct ingest_lane *l)
{
	if (lane_spin(l))
		return true;
	for (;;) {
		/* Announces the sleep before the re-check; pairs with the fence in ingest_lane_kick. */
		__atomic_store_n(&l->sleeping, 1, __ATOMIC_SEQ_CST);
		if (ck_ring_size(&l->ring))
			break;
		/* Pairs with the release in ingest_lane_close: every commit is visible now. */
		if (__atomic_load_n(&l->closing, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&l->sleeping, 0, __ATOMIC_RELAXED); /* no wake needed */
			return ck_ring_size(&l->ring) != 0;
		}
		futex_wait(&l->sleeping, 1);
	}
	__atomic_store_n(&l->sleeping, 0, __ATOMIC_RELAXED); /* only saves the producer a wake */
	return true;
}
