/* SPDX-License-Identifier: MIT */
/*
 * notify — wgmon-notify, the webhook sink: the notification types it sends and the ABI of its
 * figures, a small shared-memory object (`/wgmon-notify` for table `/wgmon`) that `wgmon stats`,
 * wgmon-metrics and `wgmon-notify --stats` read. Link wgmon_notify_stats to read it (no curl).
 *
 * The stats object is written by one wgmon-notify process; every field has one writing thread
 * (named at the field) and is stored with a relaxed atomic store; readers copy it with relaxed
 * loads (notify_stats_read()): each counter is exact, a copy of several is not a snapshot.
 */
#ifndef WGMON_NOTIFY_H
#define WGMON_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define NOTIFY_WUR __attribute__((warn_unused_result))

/* The notification types: the "type" of the JSON payload and the names [notify] events takes. */
enum notify_type {
	NOTIFY_ENDPOINT_CHANGED = 0,
	NOTIFY_STATE_CHANGED,
	NOTIFY_PEER_CREATED,
	NOTIFY_PEER_REMOVED,
	NOTIFY_INTERFACE_DOWN,
	NOTIFY_INTERFACE_UP,
	NOTIFY__COUNT
};

/* "endpoint_changed", …; NULL if out of range. */
const char *notify_type_name(unsigned type);
/* The type named `name`, or -1. */
int notify_type_lookup(const char *name);

/* How a receiver is spoken to. ABI (stored in the stats object). */
enum notify_format {
	NOTIFY_FORMAT_NATIVE = 0,  /* [notify] url: the native JSON of every (filtered) type */
	NOTIFY_FORMAT_MANAGER = 1, /* [manager] url: {"peer": "ip:port"} on endpoint changes only */
};

/* ---- The stats object (ABI) ------------------------------------------------------------------ */

#define NOTIFY_STATS_MAGIC     "WGMNOTFY" /* 8 bytes, no NUL */
#define NOTIFY_STATS_MAGIC_LEN 8
#define NOTIFY_STATS_ABI       1
#define NOTIFY_STATS_SUFFIX    "-notify" /* appended to the table's name */
#define NOTIFY_STATS_NAME_MAX  256
#define NOTIFY_TARGETS_MAX     17  /* CONFIG_URL_MAX [notify] urls + the [manager] url */
#define NOTIFY_URL_SHOWN_MAX   128 /* the redacted URL kept for display */
#define NOTIFY_TYPE_SLOTS      8   /* >= NOTIFY__COUNT: room to append types */

/*
 * One receiver. W: "main" is the follower (main) thread, "worker" the receiver's own thread,
 * "queue" whichever of the two holds the receiver's queue lock.
 */
struct notify_stats_target {
	char url[NOTIFY_URL_SHOWN_MAX]; /* W: main, at start. No user:password, query, fragment */
	uint32_t format;                /* W: main, at start. enum notify_format */
	uint32_t queue_cap;             /* W: main, at start. Pending posts kept */
	uint64_t posted;                /* W: queue. Notifications queued for this receiver */
	uint64_t dropped;               /* W: queue. Pushed out of a full queue (the oldest) */
	uint64_t queue_depth;           /* W: queue. Waiting + in flight */
	uint64_t sent;                  /* W: worker. Answered 2xx */
	uint64_t failed;                /* W: worker. Given up: 4xx, retries exhausted, other */
	uint64_t rejected;              /* W: worker. Of failed: answered 4xx (never retried) */
	uint64_t retried;               /* W: worker. Attempts after the first */
	uint64_t last_status;           /* W: worker. HTTP status of the last attempt; 0: none */
	uint64_t last_sent_at;          /* W: worker. ns since the epoch; 0: never */
	uint64_t last_failed_at;        /* W: worker. ns since the epoch; 0: never */
	uint64_t _reserved[5];
};

_Static_assert(sizeof(struct notify_stats_target) == 256, "target block: four cache lines");

struct notify_stats {
	char magic[NOTIFY_STATS_MAGIC_LEN];   /* W: main, last at creation (release store) */
	uint32_t abi;                         /* NOTIFY_STATS_ABI */
	uint32_t size;                        /* sizeof(struct notify_stats) */
	uint32_t pid;                         /* the writing wgmon-notify */
	uint32_t n_targets;                   /* entries of target[] in use */
	uint64_t started_at;                  /* ns since the epoch */
	uint64_t heartbeat;                   /* W: main, every pass. ns since the epoch */
	uint64_t events_read;                 /* W: main. Event ring records read */
	uint64_t events_missed;               /* W: main. Records overwritten before we read them */
	uint64_t reconciles;                  /* W: main. Table re-reads after a miss or a reset */
	uint64_t scans;                       /* W: main. State scans of the table */
	uint64_t peers_known;                 /* W: main. Peers followed */
	uint64_t peers_untracked;             /* W: main. Peers not followed (memory) */
	uint64_t generation;                  /* W: main. Generation of the table followed */
	uint64_t filtered;                    /* W: main. Notifications no receiver wanted */
	uint64_t detected[NOTIFY_TYPE_SLOTS]; /* W: main. Notifications made, by enum notify_type */
	uint64_t _reserved[11];
	struct notify_stats_target target[NOTIFY_TARGETS_MAX];
};

_Static_assert(NOTIFY__COUNT <= NOTIFY_TYPE_SLOTS, "room for every type");
_Static_assert(offsetof(struct notify_stats, target) == 256, "targets on their own lines");

/*
 * The stats object's name for table `shm` ("/wgmon" -> "/wgmon-notify"). Returns 0, or
 * -ENAMETOOLONG. Any thread.
 */
NOTIFY_WUR int notify_stats_name(const char *shm, char *out, size_t cap);

/*
 * Copy the figures of the wgmon-notify that follows table `shm` (NULL: "/wgmon") into *out.
 * Returns 0, -ENOENT (no wgmon-notify running for that table), -EPROTO (not a stats object of
 * this ABI), or another -errno. Any process, any thread.
 */
NOTIFY_WUR int notify_stats_read(const char *shm, struct notify_stats *out);

/* The sums of every target's counters (posted, sent, failed, …) into *sum. */
void notify_stats_total(const struct notify_stats *s, struct notify_stats_target *sum);

#endif /* WGMON_NOTIFY_H */
