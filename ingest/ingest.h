/* SPDX-License-Identifier: MIT */
/*
 * ingest — the front of wgmond: one ingest thread reads UDP (io_uring multishot
 * recvmsg, or a recvmmsg loop), files, stdin or /dev/kmsg, and hands each
 * datagram to one parser worker through that worker's SPSC lane; the workers
 * parse lines and apply the events to the shm table; a housekeeping thread
 * writes the heartbeat. Only wgmond links this.
 *
 *   socket ──▶ ingest thread ──copy──▶ lane[i] (ck_ring SPSC + byte arena) ──▶ worker i ──▶ shm
 *              (block 0)        full = counted drop, never a wait             (block i+1)
 *
 * Run to completion (`workers` 0, and the default when wgmond may use one CPU only): no
 * worker threads and no hand-off. The ingest thread splits, parses and applies each
 * datagram itself, with the counters of worker 0's block, so nothing changes for a
 * reader but the absence of a context switch per datagram. File, stdin and kmsg
 * lines still pass through one lane, which the ingest thread drains itself.
 *
 * Ownership: io_uring provided buffers and recvmmsg buffers belong to the
 * ingest thread and are recycled as soon as the datagram is copied into a lane;
 * a lane record belongs to its worker from dequeue until the worker releases it.
 */
#ifndef WGMON_INGEST_H
#define WGMON_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct shm_writer;
struct ingest;

#define INGEST_WUR __attribute__((warn_unused_result))

/* Limits and defaults, in one place. */
#define INGEST_LISTEN_MAX        16         /* UDP addresses */
#define INGEST_SOURCE_MAX        8          /* --source flags */
#define INGEST_ALLOW_MAX         256        /* allow-list CIDRs */
#define INGEST_WORKERS_MAX       62         /* shm counter blocks minus ingest and housekeeping */
#define INGEST_DATAGRAM_MAX      8192       /* bytes; a longer datagram is a `truncated` drop */
#define INGEST_RECORD_MAX        16384      /* bytes in one lane record (datagram or file lines) */
#define INGEST_WORKERS_AUTO      UINT32_MAX /* ingest_opts.workers: pick from the CPUs */
#define INGEST_RING_SIZE_DEFAULT 4096       /* lane entries (power of two; holds size - 1) */
#define INGEST_RING_SIZE_MAX     (1u << 20)
#define INGEST_RCVBUF_DEFAULT    (32u << 20)
#define INGEST_PORT_DEFAULT      9999
#define INGEST_HEARTBEAT_NS      250000000ull   /* housekeeping period */
#define INGEST_LOG_INTERVAL_NS   10000000000ull /* at most one line per reason per 10 s */

enum ingest_backend {
	INGEST_BACKEND_AUTO = 0, /* io_uring if it works here, else recvmmsg (logged) */
	INGEST_BACKEND_URING,
	INGEST_BACKEND_RECVMMSG,
};

enum ingest_source_kind {
	INGEST_SOURCE_UDP = 0, /* the --listen addresses */
	INGEST_SOURCE_FILE,    /* file:PATH, replayed */
	INGEST_SOURCE_STDIN,   /* "-" */
	INGEST_SOURCE_KMSG,    /* /dev/kmsg, new records only */
};

struct ingest_source {
	enum ingest_source_kind kind;
	char path[256]; /* INGEST_SOURCE_FILE */
};

/* One allow-list entry; IPv4 entries also match IPv4-mapped IPv6 senders. */
struct ingest_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix; /* bits */
	uint8_t addr[16];
};

/* The allow-list: no entry = every sender. Plain data, copied by value. */
struct ingest_allow {
	uint32_t n;
	struct ingest_cidr cidr[INGEST_ALLOW_MAX];
};

struct ingest_opts {
	struct sockaddr_storage listen[INGEST_LISTEN_MAX]; /* bound when a UDP source is used */
	uint32_t n_listen;
	struct ingest_source sources[INGEST_SOURCE_MAX];
	uint32_t n_sources; /* 0: UDP */
	/* Parser threads. 0: run to completion on the ingest thread. INGEST_WORKERS_AUTO (the
	 * default): CPUs this process may use - 1, and 0 when that is 0. */
	uint32_t workers;
	uint32_t ring_size; /* lane entries, power of two >= 2 */
	uint64_t rcvbuf;    /* SO_RCVBUF(FORCE) bytes */
	enum ingest_backend backend;
	struct ingest_allow allow;
	bool exit_on_eof; /* end when every file/stdin source reached EOF and was applied */
	uint64_t rate;    /* file/stdin lines per second, 0 = full speed */
	/*
	 * The replaced tool's `[wireguard] interface`: an event of an interface this says no to
	 * is counted as dropped (iface_filtered) and not applied; events without an interface
	 * always are. NULL: every interface. Called by the workers (or the ingest thread at
	 * --workers 0) concurrently, so it and iface_ctx must not change after ingest_start().
	 */
	bool (*iface_wanted)(const void *ctx, const char *iface);
	const void *iface_ctx;
};

/* Defaults: 0.0.0.0:9999 and [::]:9999, UDP, auto backend, 32 MiB, ring 4096, auto workers. */
void ingest_opts_init(struct ingest_opts *o);

/* "udp", "kmsg", "-", "file:PATH" → *out. 0 or -EINVAL. */
int ingest_source_parse(const char *spec, struct ingest_source *out) INGEST_WUR;

/* Allow-list (any thread, on its own copy). "10.0.0.0/8", "2001:db8::/32", "192.0.2.7". */
void ingest_allow_init(struct ingest_allow *a);
int ingest_allow_add(struct ingest_allow *a, const char *cidr) INGEST_WUR; /* -EINVAL, -ENOSPC */
bool ingest_allow_match(const struct ingest_allow *a, const struct sockaddr *sa);
/* "10.0.0.0/8, 2001:db8::/32" (or "all"); returns the length written. */
size_t ingest_allow_format(const struct ingest_allow *a, char *buf, size_t cap);

/*
 * ingest_start() - bind the UDP sockets, open the sources, start the ingest
 * thread, the workers and the housekeeping thread. Main thread. Block the
 * signals the process handles before calling: the threads inherit the mask.
 * `w` must outlive ingest_join(). Returns 0, or -errno after logging why (bind
 * failure, unreadable file, io_uring forced but unavailable, …).
 */
int ingest_start(struct ingest **out, const struct ingest_opts *o, struct shm_writer *w) INGEST_WUR;

/* An fd that becomes readable when the ingest thread has ended on its own
 * (--exit-on-eof after the last EOF); poll it from the main thread. */
int ingest_done_fd(const struct ingest *in);

/* Ask every thread to stop: ingest stops reading, the lanes drain, the workers
 * apply what they hold and exit. Main thread; returns at once. */
void ingest_stop(struct ingest *in);

/* Wait for every thread (after ingest_stop() or done). Main thread. Returns 0, or the
 * -errno that ended the ingest thread on its own (not EOF). */
int ingest_join(struct ingest *in);

/* Replace the allow-list at run time (SIGHUP). Main thread; the ingest thread
 * picks the new list up before its next datagram. 0 or -ENOMEM. */
int ingest_allow_reload(struct ingest *in, const struct ingest_allow *a) INGEST_WUR;

/* The UDP backend in use ("io_uring", "recvmmsg", or "none" without UDP). */
const char *ingest_backend_name(const struct ingest *in);

/* After ingest_join(); NULL is fine. */
void ingest_free(struct ingest *in);

/*
 * Logging: one line per notable thing on stderr ("wgmond: warn: …"). Any
 * thread. A rate-limited call site owns a static struct ingest_ratelimit:
 * at most one line per INGEST_LOG_INTERVAL_NS, the next line says how many
 * were suppressed meanwhile.
 */
enum ingest_log_level {
	INGEST_LOG_ERROR = 0,
	INGEST_LOG_WARN,
	INGEST_LOG_INFO,
	INGEST_LOG_DEBUG,
};

struct ingest_ratelimit {
	uint64_t next_ns;    /* monotonic time the next line may be printed */
	uint64_t suppressed; /* lines not printed since the last one */
};

void ingest_log_set_level(int level);
int ingest_log_level_parse(const char *name); /* "error".."debug", or -EINVAL */
void ingest_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ingest_log_ratelimited(struct ingest_ratelimit *rl, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif /* WGMON_INGEST_H */
