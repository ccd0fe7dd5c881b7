/* SPDX-License-Identifier: MIT */
/*
 * metrics — wgmon-metrics: the peer table as a Prometheus exposition. A render thread turns the
 * table into text on a timer (never inside a request), publishes it as an immutable snapshot,
 * and libmicrohttpd serves the current snapshot and /healthz.
 *
 *   render thread:  table ──render──▶ back snapshot ──publish (atomic pointer swap)──▶ current
 *   http thread:    GET /metrics ──▶ take a reference on the current snapshot ──▶ zero-copy
 *                   response ──▶ libmicrohttpd frees the response ──▶ drop the reference
 *   gzip client:    current snapshot not compressed yet ──▶ suspend the connection, wake the
 *                   render thread ──▶ it compresses that snapshot once ──▶ resumes the waiters
 *
 * Snapshot ownership: a snapshot that is not current and has no reference belongs to the render
 * thread, which alone may write it. Once published, its body is immutable until the snapshot is
 * both replaced and released by every response that took a reference; its gzip is written
 * once, by the render thread, after publication, and published by gz_ready (readers read gz
 * only after loading gz_ready = 1 with acquire). The renderer never waits for a reference to
 * go: it renders into another free snapshot, or skips the pass (counted) if slow clients hold
 * them all. The series are documented in docs/metrics.md.
 */
#ifndef WGMON_METRICS_H
#define WGMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_WUR __attribute__((warn_unused_result))

/* ---- Limits ------------------------------------------------------------------------------- */

#define METRICS_LISTEN_DEFAULT     "127.0.0.1:9998" /* the replaced tool's port */
#define METRICS_SNAPSHOTS          3           /* current + back + one a slow client may hold */
#define METRICS_HTTP_CONNECTIONS   64          /* libmicrohttpd connection limit */
#define METRICS_HTTP_PER_IP        16          /* connections from one address */
#define METRICS_HTTP_TIMEOUT_S     15          /* idle connection timeout */
#define METRICS_HTTP_MEMORY        (32 * 1024) /* per-connection memory (headers) */
#define METRICS_HEARTBEAT_STALE_S  10 /* /healthz: writer heartbeat older than this = stale */
#define METRICS_GZIP_LEVEL_DEFAULT 1  /* zlib level: the exposition is very repetitive */
#define METRICS_INTERVAL_MIN_MS    10
#define METRICS_STATES             6   /* enum shm_state: new up stale failing down removed */
#define METRICS_STALE_DEFAULT_S    180 /* [health] stale_after when there is no config */

/* ---- Output buffers ------------------------------------------------------------------------ */

/* A growable byte buffer; owned by whoever owns the struct holding it. */
struct metrics_buf {
	char *p;
	size_t len, cap;
};

/*
 * The exposition is made of sections rendered in one pass over the table (each per-peer family
 * has its own section, so every family stays contiguous) and served in this order.
 */
enum metrics_section {
	METRICS_SEC_HEAD = 0,     /* build, table, writer, pipeline */
	METRICS_SEC_PEER_HS,      /* wgmon_peer_last_handshake_timestamp_seconds */
	METRICS_SEC_PEER_HS_RX,   /* wgmon_peer_last_handshake_received_timestamp_seconds */
	METRICS_SEC_PEER_KA_RX,   /* wgmon_peer_last_keepalive_received_timestamp_seconds */
	METRICS_SEC_PEER_CHANGES, /* wgmon_peer_endpoint_changes_total */
	METRICS_SEC_PEER_STATE,   /* wgmon_peer_state */
	METRICS_SEC_PEER_INFO,    /* wgmon_peer_info */
	METRICS_SEC_PEER_EVENTS,  /* wgmon_peer_events_total (opt-in) */
	METRICS_SEC_AGGREGATE,    /* interfaces, tenants, series budget, wgmon-metrics' own */
	METRICS_SEC_COMPAT,       /* wg_peer_monitoring_* (compat) */
	METRICS_SEC__COUNT
};

/* One rendered exposition: the concatenation of its sections. */
struct metrics_body {
	struct metrics_buf sec[METRICS_SEC__COUNT];
};

/* Total bytes of a body. */
size_t metrics_body_len(const struct metrics_body *b);

/* Copies the body into one malloc'd NUL-terminated string (tests, tools); NULL on ENOMEM. */
char *metrics_body_flatten(const struct metrics_body *b, size_t *len);

/* Frees the buffers (the struct itself is the caller's). NULL is fine. */
void metrics_body_free(struct metrics_body *b);

/* ---- Rendering: the render thread ------------------------------------------------------------ */

struct shm_reader;
struct wgmon_config;

struct metrics_opts {
	const struct wgmon_config
	        *cfg;             /* tenants and stale thresholds; must outlive the renderer */
	bool compat;              /* wg_peer_monitoring_* series */
	bool peer_events;         /* wgmon_peer_events_total (opt-in) */
	uint32_t max_peer_series; /* budget of each opt-in per-peer family; 0 = none */
};

/* What a render produced, and what wgmon-metrics measured itself (rendered as its own series). */
struct metrics_figures {
	uint64_t peers;          /* peers rendered */
	uint64_t peers_busy;     /* slots skipped because a writer held them (retried next pass) */
	uint64_t samples;        /* sample lines */
	uint64_t bytes;          /* body bytes */
	uint64_t series_dropped; /* opt-in per-peer series left out by the budget, this render */
};

/* ---- The other sinks' figures (wgmon-redis, wgmon-notify), when they run ------------------- */

#define METRICS_NOTIFY_TARGETS 17 /* >= NOTIFY_TARGETS_MAX */
#define METRICS_NOTIFY_TYPES   8  /* >= NOTIFY__COUNT */
#define METRICS_URL_MAX        128

/* A copy of the figures the other sinks publish, in wgmon-metrics' own terms. */
struct metrics_sinks {
	bool redis;    /* wgmon-redis' figures were found (the fields below are valid) */
	bool redis_up; /* its process runs */
	bool redis_connected;
	uint64_t redis_updated_at, redis_passes, redis_passes_failed, redis_writes;
	uint64_t redis_peers_written, redis_events_written, redis_events_missed, redis_errors;
	uint64_t redis_reconnects, redis_resyncs, redis_last_pass_ns, redis_peers_pending;

	bool notify; /* wgmon-notify's figures were found */
	bool notify_up;
	uint64_t notify_heartbeat, notify_events_read, notify_events_missed;
	uint64_t notify_detected[METRICS_NOTIFY_TYPES];
	const char *notify_type[METRICS_NOTIFY_TYPES]; /* names; NULL past the last type */
	uint32_t notify_targets;
	struct metrics_notify_target {
		char url[METRICS_URL_MAX]; /* as wgmon-notify shows it: without credentials */
		uint64_t posted, sent, failed, rejected, retried, dropped, queue_depth;
	} target[METRICS_NOTIFY_TARGETS];
};

/*
 * metrics_sinks_read() - the figures of the wgmon-redis and wgmon-notify of table `shm`, each
 * where its stats object exists (and these sinks were built in this tree). Never fails: what is
 * missing is marked so. Any thread.
 */
void metrics_sinks_read(const char *shm, struct metrics_sinks *out);

/*
 * The figures of wgmon-metrics itself that a render exposes (wgmon_metrics_*): the caller fills
 * them from its stats before each render; they describe the previous passes. `sinks`, if not
 * NULL, adds the other sinks' figures.
 */
struct metrics_self {
	uint64_t renders, render_skipped, render_errors;
	uint64_t last_render_ns, last_gzip_ns, last_bytes, last_gzip_bytes;
	uint64_t requests_metrics, requests_gzip, requests_healthz, requests_other;
	const struct metrics_sinks *sinks;
};

struct metrics_renderer;

/*
 * metrics_renderer_new() - the state a render keeps between passes (escaped names of hosts,
 * interfaces and tenants, per-interface tenant, scratch for aggregates). 0 or -ENOMEM.
 * A renderer belongs to one thread.
 */
METRICS_WUR int metrics_renderer_new(struct metrics_renderer **out, const struct metrics_opts *o);

/* NULL is fine. */
void metrics_renderer_free(struct metrics_renderer *rd);

/*
 * metrics_render() - render the table behind `r` (NULL: not attached: only the build, the
 * wgmon_table_attached 0 and the self figures) at wall-clock `now_ns` into `out`, whose buffers
 * are reused (grown as needed). `self` may be NULL. Fills `fig`. Returns 0, or -ENOMEM (out is
 * then incomplete: do not publish it). The thread that owns rd and r.
 */
METRICS_WUR int metrics_render(struct metrics_renderer *rd, const struct shm_reader *r,
                               uint64_t now_ns, const struct metrics_self *self,
                               struct metrics_body *out, struct metrics_figures *fig);

/* Forget the cached names: call after shm_reader_refresh() re-mapped the table. */
void metrics_renderer_reset(struct metrics_renderer *rd);

/*
 * metrics_gzip() - compress `body` as one gzip member into `out` (reused) at zlib `level`.
 * 0, -ENOMEM or -EIO. Any thread owning both.
 */
METRICS_WUR int metrics_gzip(const struct metrics_body *body, int level, struct metrics_buf *out);

/* Label-value escaping of the exposition format (\\ \" \n), invalid UTF-8 → U+FFFD.
 * dst needs 3 * n bytes; returns the bytes written (no NUL). Any thread. */
size_t metrics_escape(char *dst, const char *src, size_t n);

/* ---- Snapshots: published by the render thread, read by the http thread ---------------------- */

struct metrics_snapshot {
	uint32_t refs;            /* responses holding it (atomic) */
	uint32_t index;           /* in the pool */
	uint64_t seq;             /* render number, 1.. */
	uint64_t rendered_at;     /* CLOCK_REALTIME ns */
	struct metrics_body body; /* the exposition */
	struct metrics_figures fig;
	uint32_t gz_ready;     /* atomic: 1 once gz holds the body's gzip */
	struct metrics_buf gz; /* valid only after gz_ready reads 1 (acquire) */
};

struct metrics_pool {
	struct metrics_snapshot snap[METRICS_SNAPSHOTS];
	struct metrics_snapshot *current; /* atomic; NULL until the first publish */
};

/* Zero the pool. Before any thread uses it. */
void metrics_pool_init(struct metrics_pool *pool);

/* Free every buffer. After every thread stopped and every response was destroyed. */
void metrics_pool_destroy(struct metrics_pool *pool);

/*
 * metrics_pool_back() - a snapshot the render thread may write: not current and unreferenced;
 * NULL if slow clients hold all of them (skip this pass). Render thread only.
 */
struct metrics_snapshot *metrics_pool_back(struct metrics_pool *pool);

/* Make `s` (filled from metrics_pool_back()) the current snapshot. Render thread only. */
void metrics_pool_publish(struct metrics_pool *pool, struct metrics_snapshot *s);

/*
 * metrics_pool_get() - a reference on the current snapshot (NULL before the first publish).
 * The snapshot stays valid and unchanged until metrics_pool_put(). Any thread.
 */
struct metrics_snapshot *metrics_pool_get(struct metrics_pool *pool);

/* Drop a reference taken by metrics_pool_get(). Any thread. */
void metrics_pool_put(struct metrics_snapshot *s);

/* Whether s->gz may be read. Any thread holding a reference. */
static inline bool metrics_snapshot_has_gzip(const struct metrics_snapshot *s)
{
	/* Pairs with the release store in metrics_snapshot_gzip(): gz is complete. */
	return __atomic_load_n(&s->gz_ready, __ATOMIC_ACQUIRE) != 0;
}

/*
 * metrics_snapshot_gzip() - compress the published snapshot s (held by a reference) once, at
 * zlib `level`, and publish the result. 0 (also when it already was), or -errno. Render thread.
 */
METRICS_WUR int metrics_snapshot_gzip(struct metrics_snapshot *s, int level);

/* ---- wgmon-metrics' own figures: a small shm object, read by `--stats` and other tools -------- */

#define METRICS_STATS_MAGIC   "WGMETRIC" /* 8 bytes, no NUL */
#define METRICS_STATS_VERSION 1
#define METRICS_STATS_SUFFIX  "-metrics" /* object name = table name + this */

/*
 * The object `<table name>-metrics` (e.g. /wgmon-metrics, beside /wgmon-redis, /wgmon-notify), mode 0644, written by
 * one wgmon-metrics process. Every field has exactly one writing thread (named below), which
 * stores it with a relaxed atomic store; readers load with relaxed loads. Counters run free.
 */
struct metrics_stats {
	char magic[8];       /* METRICS_STATS_MAGIC, stored last at creation (release) */
	uint32_t version;    /* METRICS_STATS_VERSION */
	uint32_t size;       /* sizeof(struct metrics_stats) */
	uint64_t pid;        /* the process */
	uint64_t started_at; /* CLOCK_REALTIME ns */
	uint64_t http_port;  /* the port /metrics is served on (main thread, before serving) */
	uint8_t _pad0[24];
	/* render thread */
	uint64_t renders;         /* snapshots published */
	uint64_t render_skipped;  /* passes skipped: every free snapshot held by slow clients */
	uint64_t render_errors;   /* passes that failed (no table, out of memory) */
	uint64_t last_render_at;  /* CLOCK_REALTIME ns of the last publish */
	uint64_t last_render_ns;  /* duration of the last render */
	uint64_t last_gzip_ns;    /* duration of its compression (0: not compressed) */
	uint64_t last_bytes;      /* its size */
	uint64_t last_gzip_bytes; /* its gzip size (0: not compressed) */
	uint64_t last_peers;      /* peers it rendered */
	uint64_t last_samples;    /* sample lines it has */
	uint64_t series_dropped;  /* opt-in per-peer series left out by the budget, all renders */
	uint64_t attached;        /* 1 while the table is mapped */
	uint8_t _pad1[32];
	/* http thread */
	uint64_t requests_metrics; /* GET/HEAD /metrics answered with a snapshot */
	uint64_t requests_gzip;    /* ... of them gzip-encoded */
	uint64_t requests_healthz; /* /healthz */
	uint64_t requests_other;   /* 404, 405, 503 */
	uint8_t _pad2[32];
};

_Static_assert(sizeof(struct metrics_stats) == 256, "metrics stats object: 256 bytes");

/* The stats object's name for table `shm` into buf: 0 or -ENAMETOOLONG. Any thread. */
METRICS_WUR int metrics_stats_name(const char *shm, char *buf, size_t cap);

/*
 * Create (or take over from a dead process) the stats object read-write: 0, -EBUSY when a live
 * wgmon-metrics owns it (one per table), or -errno. The process that serves, once, at start.
 * metrics_stats_close() unmaps it and, with `unlink_it`, removes the name.
 */
METRICS_WUR int metrics_stats_create(const char *name, struct metrics_stats **out);
void metrics_stats_close(struct metrics_stats *st, const char *name, bool unlink_it);

/* Map an existing stats object read-only and copy it: 0, -ENOENT, -EPROTO or -errno. */
METRICS_WUR int metrics_stats_read(const char *name, struct metrics_stats *out);

/* Relaxed store of one stats field by its one writing thread. */
static inline void metrics_stat_set(uint64_t *field, uint64_t v)
{
	/* Publishes the figure; pairs with the relaxed loads of metrics_stats_read(). */
	__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

static inline void metrics_stat_add(uint64_t *field, uint64_t n)
{
	/* One writer per field: load + store, no read-modify-write needed. */
	__atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* ---- HTTP: the http thread (libmicrohttpd's internal polling thread) ------------------------ */

struct metrics_http;

struct metrics_http_opts {
	const char *host;             /* numeric or resolvable; IPv6 without brackets */
	uint16_t port;                /* 0: any (tests); metrics_http_port() tells which */
	struct metrics_pool *pool;    /* snapshots to serve */
	struct metrics_stats *stats;  /* request counters (the http thread writes them) */
	const char *shm;              /* table name, for /healthz's own reader */
	uint32_t stale_s;             /* /healthz heartbeat threshold, seconds */
	int gzip_level;               /* 0: never compress: gzip clients get identity */
	void (*want_gzip)(void *cls); /* http thread: a gzip client waits; wake the renderer */
	void *cls;
};

/*
 * metrics_http_start() - bind host:port (IPv6 only for an IPv6 address) and serve on
 * libmicrohttpd's own thread: /metrics, /healthz, / (a link). 0 or -errno (message logged).
 * Main thread.
 */
METRICS_WUR int metrics_http_start(struct metrics_http **out, const struct metrics_http_opts *o);

/* The bound port. */
uint16_t metrics_http_port(const struct metrics_http *h);

/*
 * metrics_http_resume() - resume every connection suspended while waiting for a gzip (after
 * compressing the current snapshot, or failing to). Any thread (the render thread).
 */
void metrics_http_resume(struct metrics_http *h);

/* Stop serving (waiters are resumed first) and free; waits for the http thread. NULL is
 * fine. Main thread, after the render thread stopped. */
void metrics_http_stop(struct metrics_http *h);

/*
 * Whether an Accept-Encoding value accepts gzip (a "gzip", "x-gzip" or "*" coding whose q is
 * not 0). NULL: no. Any thread.
 */
bool metrics_accepts_gzip(const char *accept_encoding);

/* ---- The bench (wgmon-bench metrics) ---------------------------------------------------------- */

/*
 * bench_metrics_main() - render time and bytes (plain and gzip) at 10 k, 100 k and 1 M peers
 * (--peers LIST), each table built directly with the shm writer API under a private name;
 * median, min and max of --runs N (default 5); --json for one object per size. Returns 0, 1 on
 * failure, 2 on a usage error.
 */
int bench_metrics_main(int argc, char **argv);

#endif /* WGMON_METRICS_H */
