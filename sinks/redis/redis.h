/* SPDX-License-Identifier: MIT */
/*
 * redis — wgmon-redis: a read-only process that mirrors the shm peer table into Redis
 * (hiredis, pipelined), writing each pass only the peers whose slot changed. This header is
 * its public face: the sink engine (the daemon, the tests and the bench drive it), and the
 * ABI of its figures, a small shared-memory object other readers (wgmon stats, wgmon-metrics)
 * may attach without linking hiredis. The Redis schema is documented in docs/redis.md.
 */
#ifndef WGMON_SINKS_REDIS_H
#define WGMON_SINKS_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_WUR __attribute__((warn_unused_result))

struct wgmon_config; /* tools/config.h */

/* ---- Limits (the only ones the sink has) --------------------------------------------------- */

#define REDIS_CMD_MAX            16384 /* bytes of one command: a full peer hash fits many times */
#define REDIS_CONNECT_TIMEOUT_MS 2000  /* connect, AUTH, SELECT */
#define REDIS_COMMAND_TIMEOUT_MS 5000  /* one batch: a hung server fails the pass */
#define REDIS_BACKOFF_MIN_MS     100   /* first retry after a failure */
#define REDIS_BACKOFF_MAX_MS     10000 /* the cap of the exponential backoff */
#define REDIS_LOG_INTERVAL_NS    5000000000ull /* a repeated complaint at most every 5 s */
#define REDIS_INSTANCE_MAX       336           /* "<nodename>:<shm name>" */
#define REDIS_STATS_NAME_MAX     280           /* shm name + REDIS_STATS_SUFFIX + NUL */
#define REDIS_ERROR_TEXT_MAX     160           /* redis_stats.last_error, NUL included */

/* ---- The figures: shared-memory object "<table name>-redis" ---------------------------------- */

#define REDIS_STATS_MAGIC  "WGMREDIS" /* 8 bytes, no NUL */
#define REDIS_STATS_ABI    1
#define REDIS_STATS_SUFFIX "-redis" /* "/wgmon" -> "/wgmon-redis" */

/*
 * The figures of one wgmon-redis, in shared memory object redis_stats_name(table). Written by
 * that process's main thread once per pass under a sequence word (seqlock: odd while writing,
 * release store when even again); readers copy it with redis_stats_read(). Times are u64 ns
 * since the Unix epoch, durations ns; counters run free since the process started.
 */
struct redis_stats {
	char magic[8];           /* REDIS_STATS_MAGIC */
	uint32_t abi;            /* REDIS_STATS_ABI */
	uint32_t size;           /* sizeof(struct redis_stats) */
	uint32_t seq;            /* seqlock word (see above) */
	uint32_t pid;            /* the writing wgmon-redis */
	uint32_t running;        /* 1 while it runs; 0 after a clean exit */
	uint32_t connected;      /* 1 while it holds a working Redis connection */
	uint64_t started_at;     /* when the process started */
	uint64_t updated_at;     /* when these figures were written */
	uint64_t passes;         /* passes that completed */
	uint64_t passes_failed;  /* passes a Redis or table error cut short */
	uint64_t writes;         /* commands Redis acknowledged */
	uint64_t peers_written;  /* peer updates written (at most one per changed peer per pass) */
	uint64_t events_written; /* stream entries added */
	uint64_t events_missed;  /* event ring records overwritten before they were read */
	uint64_t errors;         /* failed connects, I/O errors, error replies */
	uint64_t reconnects;     /* connections made after the first one */
	uint64_t resyncs; /* full rewrites of the table (start, reconnect, FLUSHALL, new table) */
	uint64_t flushes; /* FLUSHALL/FLUSHDB noticed without a reconnect (sentinel gone) */
	uint64_t last_pass_ns;    /* duration of the latest completed pass */
	uint64_t last_pass_peers; /* peers it wrote */
	uint64_t
	        peers_pending; /* changed peers not written yet (all of them while Redis is down) */
	uint64_t
	        peers_tracked; /* peers of the table this sink writes (after the interface filter) */
	uint64_t backoff_ms;   /* the delay before the next attempt; 0 while connected */
	uint64_t last_error_at;                /* when last_error was set; 0 = never */
	char last_error[REDIS_ERROR_TEXT_MAX]; /* latest error, never a secret */
	uint8_t _reserved[176];
};

_Static_assert(sizeof(struct redis_stats) == 512, "redis_stats is ABI");

/* "<table>-redis" into buf (cap >= REDIS_STATS_NAME_MAX suffices). 0, or -ENAMETOOLONG. */
REDIS_WUR int redis_stats_name(const char *table, char *buf, size_t cap);

/*
 * redis_stats_read() - copy the figures of the wgmon-redis of table `table` (NULL: "/wgmon").
 * 0; -ENOENT if no wgmon-redis ever ran for it; -EPROTO if the object is not ours or of another
 * ABI; -EAGAIN if it stayed busy. Any process, any thread; read-only mapping.
 */
REDIS_WUR int redis_stats_read(const char *table, struct redis_stats *out);

/* The figures as one JSON object (no newline). Length written, or 0 if cap is too small. */
size_t redis_stats_json(const struct redis_stats *s, char *buf, size_t cap);

/* ---- The sink engine ---------------------------------------------------------------------- */

/* A sink belongs to one thread (wgmon-redis: its main thread); several may live in a process. */
struct redis_sink;

struct redis_sink_opts {
	const char *shm;      /* table name; NULL: the config's [wgmond] shm */
	bool publish_stats;   /* create "<shm>-redis" and publish the figures there (the daemon) */
	const char *instance; /* sentinel/cursor id; NULL: "<nodename>:<shm>" */
	const struct redis_stats *figures; /* counters to continue from (a reload), or NULL */
};

/*
 * redis_sink_new() - a sink for table o->shm and the Redis of cfg->redis (copied: the sink
 * keeps no pointer to cfg). Neither attaches nor connects: the first pass does. With
 * publish_stats, -EBUSY when another wgmon-redis runs for the same table. 0 or -errno.
 * The process must ignore SIGPIPE (hiredis writes to sockets a dead server closed).
 */
REDIS_WUR int redis_sink_new(struct redis_sink **out, const struct wgmon_config *cfg,
                             const struct redis_sink_opts *o);

/* Disconnect, mark the figures not running, free. NULL is fine. */
void redis_sink_free(struct redis_sink *s);

/*
 * redis_sink_pass() - one pass: attach the table (or re-map a recreated one), connect to Redis
 * if needed (AUTH, SELECT, resync everything after every new connection), notice a FLUSHALL
 * (sentinel key gone: resync), then write every peer whose slot changed or whose state did
 * since the previous pass, and the notable events that reached the event ring, in pipelined
 * batches of cfg->redis.batch commands. 0; -ENOENT (no table yet), or the -errno of a Redis
 * failure (the connection is dropped; the next pass reconnects after redis_sink_delay_ms()).
 */
REDIS_WUR int redis_sink_pass(struct redis_sink *s);

/* Milliseconds to wait before the next pass: the interval, or the backoff after a failure. */
uint64_t redis_sink_delay_ms(const struct redis_sink *s);

/* Rewrite every peer in full on the next pass (as after a reconnect). */
void redis_sink_resync(struct redis_sink *s);

/* The sink's figures (also published when publish_stats). Valid until redis_sink_free(). */
const struct redis_stats *redis_sink_stats(const struct redis_sink *s);

/* ---- Formatting shared with the tests ----------------------------------------------------- */

/* Unix seconds with six decimals, as `wgmon show --json` prints times ("1763771234.123456"). */
size_t redis_fmt_time(uint64_t ns, char *buf, size_t cap);

/* The replaced tool's time format: UTC "%Y-%m-%d %H:%M:%S" (20 bytes with the NUL). */
size_t redis_fmt_compat_time(uint64_t ns, char *buf, size_t cap);

/*
 * The replaced tool's ip/port split of an endpoint as the kernel printed it: its regex
 * `\((.*):(.*)\)$` is greedy, so the address is everything before the last ':' and the port
 * everything after ("[2001:db8::1]:51820/0%0" -> "[2001:db8::1]", "51820/0%0").
 * Returns 0, or -EINVAL if there is no ':' or a part does not fit.
 */
REDIS_WUR int redis_compat_split(const char *endpoint, char *ip, size_t ipcap, char *port,
                                 size_t portcap);

/* ---- Bench (library wgmon_bench_redis; `wgmon-bench redis`) ------------------------------- */

/*
 * bench_redis_main() - peer updates per second into a real redis-server on loopback, at
 * 10 k and 100 k changed peers, beside what the server takes (see bench_redis.c). argv[0] is
 * the subcommand's name; `--help` lists the flags. Returns 0, 1 on failure, 2 on usage.
 */
int bench_redis_main(int argc, char **argv);

#endif /* WGMON_SINKS_REDIS_H */
