/* SPDX-License-Identifier: MIT */
/*
 * shm — the shared-memory table wgmond writes and everyone else reads: its ABI (this header is
 * the documentation third-party readers get), the writer API (wgmond only) and the reader
 * library (sinks, the wgmon CLI, third parties).
 *
 * One POSIX shared-memory object (default "/wgmon"), created by wgmond with mode 0640 and a
 * configurable group, sized with ftruncate (sparse) and laid out as page-aligned sections:
 *
 *   offset 0  struct shm_header           magic, ABI, geometry, section table, writer identity,
 *                                         heartbeat, use counts, event ring head
 *   section   struct shm_counters[64]     one block per writer thread, summed by readers
 *   section   struct shm_host[4096]       interned syslog hostnames; index 0 = the local host
 *   section   uint32_t[8192]              host hash index (lookups: shm_reader_host_find())
 *   section   struct shm_iface[65536]     interned (host, interface) pairs
 *   section   uint32_t[131072]            interface hash index
 *   section   uint64_t[peer_slots / 64]   bitmap of peer slots that may be in use
 *   section   struct shm_peer[peer_slots] the peer table, open addressing on (host, peer id)
 *   section   struct shm_event[event_cap] ring of the most recent events
 *
 * Conventions: all integers are native-endian fixed-width; all times are u64 nanoseconds since
 * the Unix epoch (CLOCK_REALTIME of the datagram's receipt), 0 meaning "never"; every counter
 * runs free (wraps) and is compared by difference. Readers map the object read-only and never
 * write: all synchronisation is done by the writer's release stores and the reader's acquire
 * loads described at each structure. A reader must check the header (shm_reader_attach() does)
 * before trusting anything else.
 *
 * Compatibility: any change of layout bumps SHM_ABI_VERSION. New event kinds, reject and drop
 * reasons are appended within the counter arrays' spare room and do not.
 */
#ifndef WGMON_SHM_H
#define WGMON_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/parse.h"

#define SHM_WUR __attribute__((warn_unused_result))

/* ---- Limits and ABI constants (the only ones shm has) ------------------------------------- */

#define SHM_MAGIC        "WGMONSHM" /* 8 bytes, no NUL */
#define SHM_MAGIC_LEN    8
#define SHM_ABI_VERSION  1
#define SHM_NAME_DEFAULT "/wgmon"
#define SHM_MODE_DEFAULT 0640
#define SHM_CACHELINE    64
#define SHM_PAGE         4096 /* section alignment */

#define SHM_COUNTER_BLOCKS     64 /* one per writer thread */
#define SHM_BLOCK_INGEST       0
#define SHM_BLOCK_WORKER(i)    (1u + (unsigned)(i))
#define SHM_WORKERS_MAX        (SHM_COUNTER_BLOCKS - 2)
#define SHM_BLOCK_HOUSEKEEPING (SHM_COUNTER_BLOCKS - 1)

#define SHM_EVENT_KINDS      48 /* >= PARSE_EV__COUNT: room to append kinds */
#define SHM_REJECT_KINDS     16 /* >= PARSE_REJECT__COUNT */
#define SHM_DROP_KINDS       16 /* >= SHM_DROP__COUNT */
#define SHM_PEER_EVENT_KINDS 40 /* per-peer u32 counters, >= PARSE_EV__COUNT */

#define SHM_HOSTS_MAX      4096
#define SHM_HOST_BUCKETS   (2 * SHM_HOSTS_MAX)
#define SHM_HOST_NAME_MAX  255 /* == PARSE_HOST_MAX */
#define SHM_IFACES_MAX     65536
#define SHM_IFACE_BUCKETS  (2 * SHM_IFACES_MAX)
#define SHM_IFACE_NAME_MAX 15 /* == PARSE_IFACE_MAX (IFNAMSIZ - 1) */

#define SHM_PEER_CAPACITY_DEFAULT (1u << 20)
#define SHM_PEER_CAPACITY_MAX     (1u << 26)
#define SHM_EVENT_RING_DEFAULT    65536
#define SHM_EVENT_RING_MIN        64
#define SHM_EVENT_RING_MAX        (1u << 24)

#define SHM_LOCAL_HOST 0u         /* host index of lines without a HOSTNAME */
#define SHM_NO_IFACE   UINT32_MAX /* iface index of events without an interface */

/* Drop reasons (counter indices in shm_counters.dropped): ABI, append only. */
enum shm_drop {
	SHM_DROP_RING_FULL = 0,     /* a worker's SPSC ring was full (ingest never waits) */
	SHM_DROP_TRUNCATED,         /* a datagram larger than the receive buffer */
	SHM_DROP_NOT_ALLOWED,       /* sender outside the allow-list */
	SHM_DROP_TABLE_FULL,        /* a new peer, but peer_capacity peers are in use */
	SHM_DROP_HOST_TABLE_FULL,   /* a new hostname, but SHM_HOSTS_MAX are in use */
	SHM_DROP_IFACE_TABLE_FULL,  /* a new (host, iface), but SHM_IFACES_MAX are in use */
	SHM_DROP_KMSG_OVERRUN,      /* /dev/kmsg records overwritten before we read them (-EPIPE) */
	SHM_DROP_NOBUFS,            /* io_uring ran out of provided buffers (-ENOBUFS) */
	SHM_DROP_RECV_ERROR,        /* any other receive error */
	SHM_DROP_EVENT_RING_LAPPED, /* an event left out of the event ring: its writer was lapped */
	SHM_DROP_IFACE_FILTERED,    /* an event of an interface outside [wireguard] interface */
	SHM_DROP__COUNT
};

/* "ring_full", "table_full", …; NULL if out of range. */
const char *shm_drop_name(unsigned reason);

/* ---- The header ---------------------------------------------------------------------------- */

/* Where a section lives: byte offset from the start of the object and its size in bytes. */
struct shm_section {
	uint64_t offset;
	uint64_t size;
};

enum shm_section_id {
	SHM_SEC_COUNTERS = 0,
	SHM_SEC_HOSTS,
	SHM_SEC_HOST_INDEX,
	SHM_SEC_IFACES,
	SHM_SEC_IFACE_INDEX,
	SHM_SEC_PEER_BITMAP,
	SHM_SEC_PEERS,
	SHM_SEC_EVENTS,
	SHM_SEC__COUNT
};
#define SHM_SECTIONS_MAX 12

/*
 * The header, one page. "W:" says who writes a field and when; readers load every field that
 * changes after creation with a relaxed atomic load unless an acquire is named.
 *
 * Line 0 keeps the same offsets in every ABI version, so any reader or writer can tell a table
 * of another version (and its generation) apart before trusting the rest.
 */
struct shm_header {
	/* line 0: identity (W: at creation; magic last, with a release store) */
	char magic[SHM_MAGIC_LEN]; /* SHM_MAGIC; readers load-acquire it before anything else */
	uint32_t abi;              /* SHM_ABI_VERSION */
	uint32_t header_size;      /* sizeof(struct shm_header) */
	uint64_t generation;       /* 1 for a new table, previous + 1 on every --reset */
	uint64_t object_size;      /* bytes; equals the object's st_size */
	uint32_t retired;          /* W: 1 when a --reset replaced this object: re-attach by name */
	uint32_t _pad0;
	uint64_t created_at; /* when this object was created */
	uint8_t _pad1[16];

	/* line 1: geometry (W: at creation) */
	uint64_t peer_capacity;  /* peers that may be in use at once (the configured capacity) */
	uint64_t peer_slots;     /* slots in the peer table (> capacity: load stays <= 8/9) */
	uint32_t host_capacity;  /* SHM_HOSTS_MAX */
	uint32_t iface_capacity; /* SHM_IFACES_MAX */
	uint32_t host_buckets;   /* SHM_HOST_BUCKETS */
	uint32_t iface_buckets;  /* SHM_IFACE_BUCKETS */
	uint32_t event_capacity; /* records in the event ring, a power of two */
	uint32_t counter_blocks; /* SHM_COUNTER_BLOCKS */
	uint32_t peer_size;      /* sizeof(struct shm_peer) */
	uint32_t host_size;      /* sizeof(struct shm_host) */
	uint32_t iface_size;     /* sizeof(struct shm_iface) */
	uint32_t event_size;     /* sizeof(struct shm_event) */
	uint32_t counters_size;  /* sizeof(struct shm_counters) */
	uint32_t _pad2;

	/* lines 2-4: section table, indexed by enum shm_section_id (W: at creation) */
	struct shm_section section[SHM_SECTIONS_MAX];

	/* line 5: the writer (W: wgmond, each time it attaches) */
	uint64_t writer_start; /* when the current wgmond attached */
	uint32_t writer_pid;
	uint8_t _pad3[52];

	/* line 6: liveness (W: wgmond's housekeeping thread, about every 250 ms) */
	uint64_t heartbeat; /* last heartbeat; compare with now to tell a dead writer */
	uint8_t _pad4[56];

	/* line 7: peers (W: workers, under peer_lock) */
	uint64_t peers_used; /* peers in use (slots never come back: destroyed peers stay) */
	uint32_t peer_lock;  /* writer-private: serialises inserts into the peer table */
	uint8_t _pad5[52];

	/* line 8: hosts and interfaces (W: workers, under host_lock / iface_lock) */
	uint32_t hosts_used;  /* entries [0, hosts_used) are complete; load-acquire it */
	uint32_t host_lock;   /* writer-private */
	uint32_t ifaces_used; /* entries [0, ifaces_used) are complete; load-acquire it */
	uint32_t iface_lock;  /* writer-private */
	uint8_t _pad6[48];

	/* line 9: the event ring's head (W: workers, atomic fetch-add per event) */
	uint64_t event_head; /* events ever appended; the next one gets seq event_head + 1 */
	uint8_t _pad7[56];

	uint8_t _reserved[SHM_PAGE - 640];
};

_Static_assert(sizeof(struct shm_header) == SHM_PAGE, "header is one page");
_Static_assert(offsetof(struct shm_header, generation) == 16, "ABI-stable prefix");
_Static_assert(offsetof(struct shm_header, retired) == 32, "ABI-stable prefix");
_Static_assert(offsetof(struct shm_header, peer_capacity) == 64, "geometry on line 1");
_Static_assert(offsetof(struct shm_header, section) == 128, "sections on lines 2-4");
_Static_assert(offsetof(struct shm_header, writer_start) == 320, "writer on line 5");
_Static_assert(offsetof(struct shm_header, heartbeat) == 384, "heartbeat on line 6");
_Static_assert(offsetof(struct shm_header, peers_used) == 448, "peers on line 7");
_Static_assert(offsetof(struct shm_header, hosts_used) == 512, "interning on line 8");
_Static_assert(offsetof(struct shm_header, event_head) == 576, "ring head on line 9");

/* ---- Counters -------------------------------------------------------------------------------- */

/*
 * One block per writer thread: block SHM_BLOCK_INGEST (0) is the ingest thread, blocks
 * SHM_BLOCK_WORKER(0..) the parser workers, SHM_BLOCK_HOUSEKEEPING the last one. Each block has
 * exactly one writing thread, which adds with a plain load and a relaxed atomic store
 * (shm_counter_add()); readers sum all blocks with relaxed loads (shm_reader_stats()).
 */
struct shm_counters {
	uint64_t datagrams;               /* datagrams (or kmsg records, or file chunks) received */
	uint64_t bytes;                   /* their bytes */
	uint64_t lines;                   /* lines handed to the parser, accepted or not */
	uint64_t ratelimit_suppressed;    /* sum of net_ratelimit "N callbacks suppressed" */
	uint64_t events[SHM_EVENT_KINDS]; /* by enum parse_event_kind, counting `repeat` */
	uint64_t rejected[SHM_REJECT_KINDS]; /* by enum parse_reject */
	uint64_t dropped[SHM_DROP_KINDS];    /* by enum shm_drop */
	uint64_t _reserved[12];
} __attribute__((aligned(SHM_CACHELINE)));

_Static_assert(sizeof(struct shm_counters) == 768, "counter block size");
_Static_assert(offsetof(struct shm_counters, events) == 32, "counter layout");
_Static_assert(PARSE_EV__COUNT <= SHM_PEER_EVENT_KINDS, "room for every event kind");
_Static_assert(SHM_PEER_EVENT_KINDS <= SHM_EVENT_KINDS, "room for every event kind");
_Static_assert(PARSE_REJECT__COUNT <= SHM_REJECT_KINDS, "room for every reject reason");
_Static_assert(SHM_DROP__COUNT <= SHM_DROP_KINDS, "room for every drop reason");

/* Add n to a counter of the calling thread's own block (the block's only writer). */
static inline void shm_counter_add(uint64_t *counter, uint64_t n)
{
	/* Publishes the new count; pairs with the relaxed loads of shm_reader_stats(). */
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* ---- Hosts and interfaces -------------------------------------------------------------------- */

/*
 * An interned syslog HOSTNAME. Index 0 is the local host (name ""), for lines that carry no
 * hostname. Entries are appended by the writer, never removed; an entry is complete once
 * `used` reads 1 with a load-acquire (or its index is below a load-acquired hosts_used).
 */
struct shm_host {
	uint32_t used;                    /* W: 1, release store, after name and name_len */
	uint32_t name_len;                /* bytes of name, without the NUL */
	uint64_t ratelimit_suppressed;    /* W: workers, atomic add: kernel net_ratelimit losses */
	uint64_t last_ratelimit;          /* W: workers, atomic max: last such marker */
	uint64_t first_seen;              /* when the host was interned */
	uint8_t _reserved[32];            /* room for a tenant */
	char name[SHM_HOST_NAME_MAX + 1]; /* NUL-terminated */
};

_Static_assert(sizeof(struct shm_host) == 320, "host entry size");

enum shm_iface_state {
	SHM_IFACE_UNKNOWN = 0, /* neither interface_created nor interface_destroyed seen */
	SHM_IFACE_UP = 1,      /* the latest (by receive time) of the two was interface_created */
	SHM_IFACE_DOWN = 2,    /* ... was interface_destroyed */
};

/*
 * An interned interface, keyed on (host, name). Published like hosts (`used`, ifaces_used).
 * The counters are added to by several workers with relaxed atomic adds; state and the two
 * times are written together under a writer-private lock, each with a relaxed atomic store.
 */
struct shm_iface {
	uint32_t used;                     /* W: 1, release store, after host and name */
	uint32_t host;                     /* host index */
	char name[SHM_IFACE_NAME_MAX + 1]; /* NUL-terminated */
	uint32_t state;                    /* enum shm_iface_state, by receive time */
	uint32_t lock;                     /* writer-private */
	uint64_t created_at;               /* latest interface_created */
	uint64_t destroyed_at;             /* latest interface_destroyed */
	uint64_t peers;                    /* peers whose first event named this interface */
	uint64_t first_seen;               /* when the interface was interned */
	uint8_t _reserved[64];             /* room for a tenant */
	uint64_t events[SHM_EVENT_KINDS];  /* by enum parse_event_kind, counting `repeat` */
};

_Static_assert(sizeof(struct shm_iface) == 512, "iface entry size");
_Static_assert(offsetof(struct shm_iface, events) == 128, "iface counters from line 2");

/* ---- The peer table -------------------------------------------------------------------------- */

/*
 * One peer, identified by (host, peer id); its interface is an attribute (the one of its latest
 * event). Written by wgmond's workers only, each update under `lock`. Slots are found by linear
 * probing from a hash of (host, peer); they never move and are never freed: a destroyed peer
 * keeps its slot with destroyed_at set ("removed" is derived by readers). A slot is in use once
 * `used` reads 1 with a load-acquire; its key (host, peer) never changes afterwards.
 *
 * Consistency: `seq` follows ck_sequence's protocol (a ck_sequence_t may be laid over it):
 * writers, serialised by `lock`, make it odd, store the changed fields, and make it even again
 * with a release store; a reader loads it (acquire), copies the slot with acquire loads, and
 * retries while it was odd or has changed (shm_reader_peer_snapshot() does all this).
 *
 * Update rules (so the result does not depend on how a peer's lines were spread over workers):
 * every "last" time is the maximum receive time of its events, first_seen the minimum; the
 * endpoint is replaced only by an event at least as recent as endpoint_at; an unset endpoint
 * ("(einval)", "(invalid address)") never erases a known one; counters add `repeat`.
 */
struct shm_peer {
	uint32_t seq;              /* sequence: odd while a writer is inside */
	uint32_t lock;             /* writer-private spinlock */
	uint32_t used;             /* 1 once key and first event are in (release store) */
	uint32_t host;             /* host index */
	uint64_t peer;             /* kernel peer id */
	uint32_t iface;            /* iface index of the latest event (SHM_NO_IFACE: none) */
	uint32_t endpoint_changes; /* times a newer event brought a different address or port */
	uint32_t retry_try;        /* the `try` of the latest handshake_retry */
	uint32_t _pad0;
	uint64_t first_seen;            /* earliest event */
	uint64_t last_seen;             /* latest event */
	uint64_t endpoint_at;           /* latest event carrying the current endpoint */
	struct parse_endpoint endpoint; /* current endpoint; af PARSE_AF_NONE (0) = none yet */
	uint32_t _pad1;
	struct parse_endpoint prev_endpoint; /* the one before the latest change; af 0 = none */
	uint32_t _pad2;
	uint64_t endpoint_changed_at; /* the latest change of endpoint (0: never changed) */
	uint64_t last_handshake;      /* keypair_created: "latest handshake" of wg show */
	uint64_t last_handshake_rx;   /* handshake_initiation_received / _response_received */
	uint64_t last_keepalive_rx;   /* keepalive_received */
	uint64_t last_keepalive_tx;   /* keepalive_sent */
	uint64_t retry_at;            /* latest handshake_retry */
	uint64_t gave_up_at;          /* latest handshake_gave_up */
	uint64_t keys_zeroed_at;      /* latest keys_zeroed */
	uint64_t created_at;          /* latest peer_created */
	uint64_t destroyed_at;        /* latest peer_destroyed */
	uint64_t _reserved[2];        /* room for state and tenant */
	uint32_t events[SHM_PEER_EVENT_KINDS]; /* by enum parse_event_kind, counting `repeat` */
};

_Static_assert(sizeof(struct shm_peer) == 384, "peer slot: 6 cache lines, <= 512 bytes");
_Static_assert(sizeof(struct shm_peer) % SHM_CACHELINE == 0, "slots are cache-line multiples");
_Static_assert(offsetof(struct shm_peer, endpoint) == 64, "peer layout");
_Static_assert(offsetof(struct shm_peer, prev_endpoint) == 96, "peer layout");
_Static_assert(offsetof(struct shm_peer, endpoint_changed_at) == 128, "peer layout");
_Static_assert(offsetof(struct shm_peer, events) == 224, "peer layout");
_Static_assert(sizeof(struct parse_endpoint) == 28, "binary endpoint is ABI");

/* ---- The event ring -------------------------------------------------------------------------- */

/*
 * Every applied event, most recent event_capacity of them. Positions are free-running u64;
 * the event at position p has sequence number p + 1 and lives in record p % event_capacity.
 *
 *            event_head (fetch-add by each writer)
 *                 v
 *   ... | p-2 | p-1 | p   | ...        record.seq:  0               never written
 *           ^                                       (p + 1) | BUSY  being written for position p
 *      reader cursor (its own)                      p + 1           event p is readable
 *
 * Writer: p = fetch_add(event_head, 1); claim the record with a compare-and-swap of seq from a
 * published earlier lap (not busy, below p + 1) to (p + 1) | BUSY; the fields (release stores);
 * seq = p + 1 (release). So two writers never mix one record: a record still busy for an
 * earlier lap (its writer was preempted while the ring wrapped) is waited for; one already
 * claimed for a later lap means this writer was lapped itself, and its event is left out of
 * the ring (counted as SHM_DROP_EVENT_RING_LAPPED).
 *
 * Reader at position c, expecting seq c + 1: load-acquire seq; equal: copy with acquire loads,
 * then reload seq: still equal → a good copy, otherwise it was overwritten. A seq above c + 1
 * means the writers lapped the reader: the events before (seq & ~BUSY) - capacity are lost;
 * the reader jumps and reports how many it missed (a seq no later lap explains is a corrupt
 * record: passed over as missed). Below, or BUSY for c itself: not written
 * yet; but once the head is more than capacity / 2 ahead of c, such a record is given up and
 * counted as missed (its writer is stalled or died). A record of kind PARSE_EV_NONE is a gap
 * the writer filled after a crash: it counts as missed. shm_reader_events_next() does all this.
 */
#define SHM_EVENT_BUSY (1ull << 63)

struct shm_event {
	uint64_t seq;   /* see above; in a reader's copy: the event's sequence number */
	uint64_t time;  /* receive time */
	uint64_t peer;  /* kernel peer id, if fields has PARSE_F_PEER */
	uint32_t host;  /* host index */
	uint32_t iface; /* iface index, or SHM_NO_IFACE */
	uint8_t kind;   /* enum parse_event_kind */
	uint8_t _pad0;
	uint16_t fields; /* enum parse_field bits */
	uint32_t repeat; /* the event counts this many times */
	uint64_t n[2];   /* as struct parse_event: error/attempts/seconds/…, try/nonce_max */
	struct parse_endpoint endpoint;
	struct parse_endpoint addr; /* inner address of M11/M27/M28 */
	uint64_t _reserved[2];
};

_Static_assert(sizeof(struct shm_event) == 128, "event record: two cache lines");
_Static_assert(offsetof(struct shm_event, endpoint) == 56, "event layout");

/* ---- Writer API: wgmond only ----------------------------------------------------------------- */

struct shm_writer;

struct shm_writer_opts {
	const char *name;    /* NULL: SHM_NAME_DEFAULT */
	uint64_t capacity;   /* peers; 0: SHM_PEER_CAPACITY_DEFAULT */
	uint32_t event_ring; /* records, a power of two; 0: SHM_EVENT_RING_DEFAULT */
	unsigned mode;       /* permission bits; 0: SHM_MODE_DEFAULT */
	long gid;            /* group of the object; -1: keep (the creator's) */
	bool reset;          /* recreate the table (generation + 1) instead of refusing */
};

/*
 * shm_writer_open() - create the table, or re-attach to an existing one, for writing.
 * An existing table of this ABI and the same geometry (capacity, event ring) is re-attached
 * with its state kept (generation unchanged); locks a killed writer held are released and torn
 * event records are marked lost. A table of another ABI or geometry is refused (-EEXIST)
 * unless o->reset, which recreates it with generation + 1 and marks the old object retired.
 * Another live writer on the same name: -EBUSY. Other failures: -errno (-ENOSPC when /dev/shm
 * cannot hold the table, -EACCES, -EINVAL for bad options). On failure shm_writer_error()
 * holds a one-line message naming the table and the fix.
 * Call from one thread, before the writer threads start.
 */
SHM_WUR int shm_writer_open(struct shm_writer **out, const struct shm_writer_opts *o);

/* Unmap and close (the object stays: restart re-attaches). NULL is fine. After all threads stop. */
void shm_writer_close(struct shm_writer *w);

/* Remove the name (readers keep their mapping). 0 or -errno. Any thread. */
SHM_WUR int shm_writer_unlink(const char *name);

/* The last error message of shm_writer_open()/shm_writer_unlink() in the calling thread. */
const char *shm_writer_error(void);

/*
 * The counter block `block` (< SHM_COUNTER_BLOCKS), or NULL. Only the one thread that owns the
 * block may add to it, with shm_counter_add().
 */
struct shm_counters *shm_writer_counters(struct shm_writer *w, unsigned block);

/* The table's header, for wgmond's own logging (read-only use). Any writer thread. */
const struct shm_header *shm_writer_header(const struct shm_writer *w);

/*
 * shm_writer_apply() - apply one parsed event received at recv_ns, from the worker that owns
 * counter block `block`. Counts the event in the block (events[kind] += repeat;
 * ratelimit_suppressed += count * repeat, also on the host), interns host and interface,
 * updates the interface (counters; up/down by receive time), for an event with a peer id
 * finds or creates the peer's slot and updates it (rules at struct shm_peer), and appends the
 * event to the event ring. The caller counts lines, rejections, datagrams and bytes.
 * Returns 0; -ENOSPC when the peer, host or interface table is full (counted as a drop; what
 * could be applied was); -EINVAL for a bad block or kind. Any number of worker threads, each
 * with its own block; never blocks for long (per-slot spinlocks held for a few stores).
 */
int shm_writer_apply(struct shm_writer *w, unsigned block, const struct parse_event *ev,
                     uint64_t recv_ns);

/* Store the heartbeat (CLOCK_REALTIME ns). wgmond's housekeeping thread. */
void shm_writer_heartbeat(struct shm_writer *w, uint64_t now_ns);

/* ---- Reader API: sinks, the CLI, third parties ---------------------------------------------- */

struct shm_reader;

/*
 * shm_reader_attach() - map table `name` (NULL: SHM_NAME_DEFAULT) read-only and validate it:
 * magic, ABI version, header size, geometry and every section against the object's size.
 * Returns 0, -ENOENT (no table: "is wgmond running?"), -EACCES, -EPROTO (not a wgmon table, or
 * another ABI, or still being created), or another -errno; shm_reader_error() has the message.
 * The functions below that take a const reader may run in several threads at once; refresh
 * and detach must not run concurrently with anything else on the same reader.
 */
SHM_WUR int shm_reader_attach(struct shm_reader **out, const char *name);

/* Unmap and free. NULL is fine. */
void shm_reader_detach(struct shm_reader *r);

/* The last error message of attach/refresh in the calling thread. */
const char *shm_reader_error(void);

/*
 * shm_reader_refresh() - re-map if the table was recreated (--reset: retired flag, or another
 * object under the name). Returns 1 if it re-mapped (every pointer and index obtained before
 * is void), 0 if nothing changed, or -errno (the old mapping is kept). Call it once per pass.
 */
int shm_reader_refresh(struct shm_reader *r);

/* The mapped header (valid until detach or a refresh that returns 1). */
const struct shm_header *shm_reader_header(const struct shm_reader *r);

/* Number of peer slots: the bound for slot indices. */
uint64_t shm_reader_peer_slots(const struct shm_reader *r);

/*
 * The first slot index >= from that may be in use (from the bitmap, without touching the slots
 * in between), or shm_reader_peer_slots() when there is none. Iterate with:
 *   for (i = shm_reader_peer_next(r, 0); i < slots; i = shm_reader_peer_next(r, i + 1))
 *           if (shm_reader_peer_snapshot(r, i, &p) == 0) …
 */
uint64_t shm_reader_peer_next(const struct shm_reader *r, uint64_t from);

/*
 * Copy slot idx consistently into *out (retrying while a writer is inside, bounded).
 * 0; -ENOENT if the slot is unused or idx out of range; -EAGAIN if it stayed busy.
 */
int shm_reader_peer_snapshot(const struct shm_reader *r, uint64_t idx, struct shm_peer *out);

/* Find peer (host, peer) and copy it: 0, -ENOENT, -EAGAIN. */
int shm_reader_peer_find(const struct shm_reader *r, uint32_t host, uint64_t peer,
                         struct shm_peer *out);

/* Name of host index `host` ("" for the local host), or NULL if no such host (or a corrupt,
 * unterminated entry). */
const char *shm_reader_host_name(const struct shm_reader *r, uint32_t host);

/* Index of host `name` (len bytes; "" = local), or -ENOENT. */
int64_t shm_reader_host_find(const struct shm_reader *r, const char *name, size_t len);

/* Copy interface entry `iface` (its name always NUL-terminated): 0, or -ENOENT. */
int shm_reader_iface(const struct shm_reader *r, uint32_t iface, struct shm_iface *out);

/* Every counter block summed, plus the header's live fields. */
struct shm_stats {
	uint64_t datagrams, bytes, lines, ratelimit_suppressed;
	uint64_t events_total; /* sum of events[] */
	uint64_t events[SHM_EVENT_KINDS];
	uint64_t rejected[SHM_REJECT_KINDS];
	uint64_t dropped[SHM_DROP_KINDS];
	uint64_t peers, peer_capacity, generation, heartbeat, writer_start, event_head;
	uint32_t writer_pid, hosts, ifaces;
};
void shm_reader_stats(const struct shm_reader *r, struct shm_stats *out);

/* Event ring following (protocol at struct shm_event). */
struct shm_event_cursor {
	uint64_t next; /* position of the next event to read */
};

/* Start at the event `back` events before the newest one (0: only new events). */
void shm_reader_events_begin(const struct shm_reader *r, struct shm_event_cursor *c, uint64_t back);

/*
 * Read the next event into *out (out->seq = its sequence number). Returns 1 if it got one, 0 if
 * none is ready yet. *missed (if not NULL) is set to the number of events lost since the
 * previous call (overwritten before this reader got to them, or given up: see struct
 * shm_event); it may be non-zero with 0 returned.
 */
int shm_reader_events_next(const struct shm_reader *r, struct shm_event_cursor *c,
                           struct shm_event *out, uint64_t *missed);

/*
 * shm_peer_json() - the `wgmon show --json` object of one peer (no newline): host, iface, peer,
 * endpoint/ip/port (when known), times as Unix seconds with six decimals (each omitted when
 * never), endpoint_changes, events (name → count, non-zero only). Returns the length written
 * (NUL-terminated), or 0 if cap is too small; SHM_PEER_JSON_MAX always suffices.
 */
#define SHM_PEER_JSON_MAX 4096
size_t shm_peer_json(const struct shm_reader *r, const struct shm_peer *p, char *buf, size_t cap);

/* ---- Health (readers) ------------------------------------------------------------------------ */

/*
 * A peer's state, decided by a reader from the slot's times, the current time and its own
 * threshold (DESIGN.md "Health"; default stale_after 180 s, settable per tenant). The writer
 * stores facts only. Any process may call these; they read only the copy passed in.
 */
enum shm_state {
	SHM_STATE_NEW = 0, /* seen or created, never a completed handshake */
	SHM_STATE_UP,      /* a completed handshake within stale_after */
	SHM_STATE_STALE,   /* the latest completed handshake is older than stale_after */
	SHM_STATE_FAILING, /* retrying or restarting handshakes since the latest one completed */
	SHM_STATE_DOWN,    /* gave up, or keys zeroed, with no handshake since */
	SHM_STATE_REMOVED, /* peer_destroyed seen */
	SHM_STATE__COUNT
};
#define SHM_STALE_AFTER_DEFAULT_S 180

int shm_peer_state(const struct shm_peer *p, uint64_t now_ns, uint64_t stale_after_ns);
const char *shm_state_name(int state);  /* "new", "up", …; "unknown" out of range */
int shm_state_lookup(const char *name); /* the state named `name`, or -1 */

#endif /* WGMON_SHM_H */
