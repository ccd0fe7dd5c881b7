/* SPDX-License-Identifier: MIT */
/*
 * notify_internal.h — what the files of wgmon-notify share. The data path:
 *
 *   shm event ring ──▶ follow (reorder by time, per-peer memory) ──▶ note ──▶ route
 *   shm peer table ──▶ follow (seed, state scan, reconcile)          (filters, render once)
 *                                                                       │ post (never waits)
 *                                  one target per URL: bounded queue ◀──┘
 *                                  └─▶ its own worker thread: libcurl POST, retry, backoff
 *
 * Everything up to post() runs on the main thread; each target's worker only sends. A slow or
 * dead receiver fills its own queue (full: the oldest is dropped and counted) and nothing else.
 */
#ifndef WGMON_NOTIFY_INTERNAL_H
#define WGMON_NOTIFY_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/parse.h"
#include "shm/shm.h"
#include "sinks/notify/notify.h"
#include "tools/config.h"

/* ---- Limits ---------------------------------------------------------------------------------- */

#define NOTIFY_BODY_MAX        2048 /* one JSON payload; every note fits (hosts <= 255 bytes) */
#define NOTIFY_SIG_HEX_LEN     64   /* hex of an HMAC-SHA256 */
#define NOTIFY_BACKOFF_MIN_MS  100  /* first retry delay; doubles up to backoff_max_ms */
#define NOTIFY_STOP_GRACE_MS   2000 /* at exit: time left to flush queues, then abort */
#define NOTIFY_POLL_MS         10   /* follower sleep when the ring is idle */
#define NOTIFY_REORDER_MS      50   /* events wait this long to be put in time order */
#define NOTIFY_REORDER_MAX     4096 /* events held for reordering; beyond, the oldest goes */
#define NOTIFY_REORDER_NONE    UINT64_MAX   /* notify_follow_opts.reorder_ns: no window */
#define NOTIFY_SCAN_MS_DEFAULT 1000         /* state scan period */
#define NOTIFY_PEERS_INITIAL   1024         /* peer memory slots at start (grows by doubling) */
#define NOTIFY_PEERS_MAX       (1ull << 27) /* peer memory slots, at most (64 M peers) */
#define NOTIFY_ATTACH_RETRY_MS 1000         /* table absent: try again this often */
#define NOTIFY_REFRESH_MS      250          /* how often to check whether the table was recreated */
#define NOTIFY_LOG_INTERVAL_NS 10000000000ull /* rate-limited call sites: one line per 10 s */

/* ---- Log (notify_log.c): one write(2) per line on stderr; any thread ------------------------- */

enum notify_log_level { NOTIFY_LOG_ERROR = 0, NOTIFY_LOG_WARN, NOTIFY_LOG_INFO, NOTIFY_LOG_DEBUG };

/* One rate-limited call site: at most one line per NOTIFY_LOG_INTERVAL_NS, the rest counted. */
struct notify_ratelimit {
	uint64_t next_ns;
	uint64_t suppressed;
};

void notify_log_set_level(int level);         /* main, before threads start */
int notify_log_level_parse(const char *name); /* "error".."debug", or -EINVAL */
void notify_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void notify_log_rl(struct notify_ratelimit *rl, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
uint64_t notify_mono_ns(void);
uint64_t notify_real_ns(void);

/* ---- Stats object, writer side (notify_stats.c): main thread --------------------------------- */

/*
 * Create (or take over, if its owner is gone) the stats object `name`, sized and zeroed, and
 * lock it against a second wgmon-notify. 0, -EBUSY (another live wgmon-notify), -errno.
 */
NOTIFY_WUR int notify_stats_create(const char *name, struct notify_stats **out, int *fd);
/* Publish the header (magic last) once the targets are filled in. */
void notify_stats_publish(struct notify_stats *s);
/* Unmap, close and unlink. */
void notify_stats_destroy(const char *name, struct notify_stats *s, int fd);
/* Print figures (human, or one JSON object). */
void notify_stats_print(const struct notify_stats *s, bool json);

/* Store a counter with a relaxed atomic store (single writer; see notify.h). */
static inline void notify_stat_set(uint64_t *field, uint64_t v)
{
	/* Publishes the figure; pairs with the relaxed loads of notify_stats_read(). */
	__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

static inline void notify_stat_add(uint64_t *field, uint64_t n)
{
	notify_stat_set(field, __atomic_load_n(field, __ATOMIC_RELAXED) + n);
}

/* ---- Render (notify_render.c): pure functions, any thread ------------------------------------ */

/* Absent fields: state -1, endpoint af PARSE_AF_NONE, peer with has_peer false, tenant NULL. */
struct notify_note {
	enum notify_type type;
	uint64_t time; /* ns since the epoch: the event's receive time, or when a state was seen */
	bool has_peer;
	uint64_t peer;
	const char *host;   /* "" for the local host */
	const char *iface;  /* "" when unknown */
	const char *tenant; /* NULL: no tenant */
	int tenant_index;   /* config_tenant_index(), -1: none */
	struct parse_endpoint endpoint, prev_endpoint;
	int state, prev_state; /* enum shm_state, or -1 */
};

/* The native JSON object (no newline). Returns its length, 0 if it does not fit `cap`. */
size_t notify_render_native(const struct notify_note *n, char *buf, size_t cap);
/* The replaced tool's payload, byte for byte as it sent it: {"peer": "ip:port"}. 0: no fit. */
size_t notify_render_manager(const struct notify_note *n, char *buf, size_t cap);
/* "sha256=" is not included: the 64 hex digits of HMAC-SHA256(key, body), NUL-terminated. */
NOTIFY_WUR int notify_sign(const char *key, size_t key_len, const char *body, size_t len,
                           char hex[NOTIFY_SIG_HEX_LEN + 1]);
/* "scheme://host[:port]/path" of url: no user:password, no query or fragment. */
void notify_url_redact(const char *url, char *out, size_t cap);

/* ---- Targets (notify_deliver.c) -------------------------------------------------------------- */

struct notify_target;

struct notify_target_opts {
	const char *url;
	enum notify_format format;
	uint32_t queue;              /* pending posts kept (>= 1) */
	uint32_t retries;            /* attempts after the first, on network errors and 5xx */
	uint32_t connect_timeout_ms; /* TCP + TLS connect */
	uint32_t timeout_ms;         /* one whole attempt */
	uint32_t backoff_min_ms;     /* 0: NOTIFY_BACKOFF_MIN_MS */
	uint32_t backoff_max_ms;
	const char *secret;                /* NULL or "": unsigned. Copied. */
	struct notify_stats_target *stats; /* where its figures go; must outlive the target */
};

/* Start a target and its worker thread. Main thread, after curl_global_init(). 0 or -errno. */
NOTIFY_WUR int notify_target_start(struct notify_target **out, const struct notify_target_opts *o);

/*
 * Queue one payload (copied). Never waits for the receiver: a full queue drops its oldest
 * entry (counted). Returns 0, or -EMSGSIZE (len > NOTIFY_BODY_MAX). One producer thread.
 */
int notify_target_post(struct notify_target *t, enum notify_type type, const char *body,
                       size_t len);

/* Ask the worker to stop: it flushes what it can within grace_ms, then aborts. Any thread. */
void notify_target_stop(struct notify_target *t, uint32_t grace_ms);
/* Stop (if not asked yet), join and free. NULL is fine. Producer thread. */
void notify_target_free(struct notify_target *t);

/* Retry delay before attempt `attempt` (1 = first retry), capped, before jitter. */
uint64_t notify_backoff_ms(uint32_t attempt, uint32_t min_ms, uint32_t max_ms);

/* ---- Route (notify_route.c): filters, render once, post to every target; main thread --------- */

struct notify_route {
	struct notify_target *target[NOTIFY_TARGETS_MAX];
	enum notify_format format[NOTIFY_TARGETS_MAX];
	uint32_t n;
	uint32_t type_mask; /* native targets: bit per enum notify_type; 0 = all */
	uint64_t tenant_mask[(CONFIG_TENANT_MAX + 63) / 64]; /* tenant indices wanted */
	bool tenant_filter; /* false: every peer, with a tenant or not */
	struct notify_stats *stats;
};

/*
 * Build the filters from cfg->notify.events / tenants. Returns 0, or -EINVAL with a message in
 * err (an unknown event type).
 */
NOTIFY_WUR int notify_route_init(struct notify_route *rt, const struct wgmon_config *cfg,
                                 struct notify_stats *stats, char *err, size_t errlen);
/* Render n for each target that wants it and post it. Returns the number of targets posted to. */
unsigned notify_route_note(struct notify_route *rt, const struct notify_note *n);

/* ---- Follow (notify_follow.c): the shm reader side; main thread ------------------------------ */

struct notify_follow;

typedef void (*notify_emit_fn)(void *ctx, const struct notify_note *n);

struct notify_follow_opts {
	const struct wgmon_config *cfg; /* tenants and stale thresholds */
	notify_emit_fn emit;
	void *ctx;
	uint64_t scan_ns;           /* state scan period; 0: NOTIFY_SCAN_MS_DEFAULT */
	uint64_t reorder_ns;        /* reorder window; 0: NOTIFY_REORDER_MS; NOTIFY_REORDER_NONE */
	struct notify_stats *stats; /* may be NULL */
};

/*
 * Start following reader r (owned by the caller, outliving f): note the ring position, then
 * remember every peer and interface of the table as it is now, silently (a restart does not
 * notify what was already there). 0 or -ENOMEM.
 */
NOTIFY_WUR int notify_follow_open(struct notify_follow **out, struct shm_reader *r,
                                  const struct notify_follow_opts *o);

/*
 * One pass: refresh the mapping (a recreated table is re-seeded), read the ring, release the
 * events whose reorder window passed, reconcile with the table after a loss, and scan states
 * when due. Returns the number of ring events read (0: idle), or -errno from the refresh.
 */
int notify_follow_pass(struct notify_follow *f);

/* Release every held event now (at exit, or in tests). */
void notify_follow_flush(struct notify_follow *f);

/* Scan states now, whatever the period. */
void notify_follow_scan(struct notify_follow *f);

void notify_follow_close(struct notify_follow *f); /* NULL is fine */

#endif /* WGMON_NOTIFY_INTERNAL_H */
