/* SPDX-License-Identifier: MIT */
/*
 * ingest_internal.h — declarations shared by the files of ingest/ (and its
 * tests): the SPSC lane, line splitting and worker choice, the UDP backends,
 * the sources, and struct ingest itself. Not for use outside ingest/.
 */
#ifndef WGMON_INGEST_INTERNAL_H
#define WGMON_INGEST_INTERNAL_H

#include <ck_ring.h>
#include <poll.h>
#include <pthread.h>

#include "ingest/ingest.h"
#include "parse/parse.h"
#include "shm/shm.h"

#define INGEST_CACHELINE    64
#define INGEST_LANE_BYTES   512u /* arena bytes per lane entry (typical datagram ~200 B) */
#define INGEST_LANE_MIN     (4u * INGEST_RECORD_MAX) /* arena floor: a few full records */
#define INGEST_FILE_BUF     (256u << 10)             /* file/stdin read buffer */
#define INGEST_LINE_MAX     (PARSE_LINE_MAX + 2)     /* longer file lines are too_long here */
#define INGEST_KMSG_BUF     8192u                    /* /dev/kmsg record (CONSOLE_EXT_LOG_MAX) */
#define INGEST_SPIN_NS      5000ull       /* a worker polls its empty lane this long, then sleeps */
#define INGEST_SPIN_CHECK   64            /* polls between two reads of the clock while spinning */
#define INGEST_PAUSE_NS     100000ull     /* retry period of a source paused on a full lane */
#define INGEST_BIND_WAIT_NS 3000000000ull /* bind() retried this long on EADDRINUSE */
#define INGEST_UDP_BUDGET   256           /* datagrams per socket per loop turn */
#define INGEST_SRC_BUDGET   64            /* kmsg records per loop turn */
#define INGEST_FILE_TURNS   4             /* file reads per loop turn */
#define INGEST_POLLFDS      (1 + INGEST_LISTEN_MAX + INGEST_SOURCE_MAX)

_Static_assert(INGEST_WORKERS_MAX == SHM_WORKERS_MAX, "a counter block per thread");
_Static_assert(INGEST_WORKERS_MAX <= 64, "lane kick mask is a u64");
_Static_assert(INGEST_LINE_MAX + 1 <= INGEST_RECORD_MAX, "a file line fits a record");

/*
 * Annotations for ThreadSanitizer: ck_ring orders the record bytes with plain
 * fences, which TSan does not model. The producer's release just before the
 * enqueue and the consumer's acquire just after the dequeue tell TSan about the
 * happens-before that ck's fences already give. No code in normal builds.
 */
#if defined(__SANITIZE_THREAD__)
#define INGEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define INGEST_TSAN 1
#endif
#endif
#ifdef INGEST_TSAN
#include <sanitizer/tsan_interface.h>
#define ingest_tsan_release(p) __tsan_release(p)
#define ingest_tsan_acquire(p) __tsan_acquire(p)
#else
#define ingest_tsan_release(p) ((void)(p))
#define ingest_tsan_acquire(p) ((void)(p))
#endif

/* ------------------------------------------------------------------ lane */

/*
 * A lane: the ingest thread's hand-off to one worker. Records live in a byte
 * arena (a ring of bytes); ck_ring carries pointers to them, in order.
 *
 *   arena:  [ released ..... records owned by the worker ..... head ) free [
 *            worker stores   (queued or being parsed)           ingest reserves
 *
 * The ingest thread reserves at `head`, copies, and enqueues the pointer. The
 * worker dequeues, parses, then stores `released` = the record's end. Records
 * are released in order, so every byte before `released` is free again.
 * Full arena or full ring = the reservation fails: a UDP datagram is dropped
 * and counted (ring_full); a file or kmsg source pauses instead (nothing is
 * lost, the data waits in the file or the kernel).
 */
struct ingest_record {
	uint64_t recv_ns; /* CLOCK_REALTIME ns the datagram (or file chunk) was read */
	uint64_t end;     /* arena position (free-running) just past this record */
	uint32_t len;     /* bytes in data */
	uint32_t _pad;
	char data[]; /* lines, '\n'-separated */
};

struct ingest_lane {
	struct ck_ring ring; /* ck puts c_head and p_tail on separate lines */
	/* Producer side: the ingest thread only. */
	struct ck_ring_buffer *slots;
	char *arena;
	uint64_t arena_mask;
	uint64_t head;          /* end of the last committed record */
	uint64_t resv;          /* start of the current reservation */
	uint64_t released_seen; /* last value loaded from `released` */
	/* Consumer side: written by the worker (and `closing` once by the ingest thread). */
	uint64_t released __attribute__((aligned(INGEST_CACHELINE)));
	uint32_t sleeping; /* futex word: 1 while the worker sleeps or is about to */
	uint32_t closing;  /* 1: no record will be enqueued any more */
} __attribute__((aligned(INGEST_CACHELINE)));

int ingest_lane_init(struct ingest_lane *l, uint32_t ring_size) INGEST_WUR;
void ingest_lane_destroy(struct ingest_lane *l);
/* Producer. Room for `cap` bytes, or NULL when the ring or the arena is full.
 * Valid until the commit; at most one reservation per lane at a time. */
struct ingest_record *ingest_lane_reserve(struct ingest_lane *l, uint32_t cap);
/* Producer. Publish the reserved record with its final length (<= cap). */
void ingest_lane_commit(struct ingest_lane *l, struct ingest_record *r, uint32_t len,
                        uint64_t recv_ns);
/* Producer, after a batch of commits (once per receive batch, never per record): wake the
 * worker if it sleeps. A worker that is awake or spinning costs a fence and a load. */
void ingest_lane_kick(struct ingest_lane *l);
/* Producer, after its last commit: the worker drains the lane and ends. */
void ingest_lane_close(struct ingest_lane *l);
/* Consumer. The oldest record, or NULL. It stays valid until its release. */
struct ingest_record *ingest_lane_pop(struct ingest_lane *l);
/* Consumer. Give the record's bytes back to the producer. */
void ingest_lane_release(struct ingest_lane *l, const struct ingest_record *r);
/* Consumer. Wait until a record is there (true) or the lane is closed and empty (false):
 * polls for INGEST_SPIN_NS first, then sleeps on the futex. */
bool ingest_lane_wait(struct ingest_lane *l);

/* ------------------------------------------------------- lines, workers */

struct ingest_split {
	const char *p;
	const char *end;
};

static inline void ingest_split_init(struct ingest_split *s, const char *data, size_t len)
{
	s->p = data;
	s->end = data + len;
}

/* The next line without its "\n" / "\r\n"; false at the end. A trailing
 * newline does not make an extra empty line; inner empty lines are lines. */
bool ingest_split_next(struct ingest_split *s, const char **line, size_t *len);

/* The worker for a datagram: by the peer id after the first "peer "/"Peer " of
 * its first line, else by the sender address (`from` NULL: worker of key 0). */
uint32_t ingest_pick_worker(const char *data, size_t len, const struct sockaddr *from,
                            uint32_t nworkers);

/* ----------------------------------------------------------- the threads */

struct ingest;

/* A UDP backend: io_uring or recvmmsg. All calls from the ingest thread. */
struct ingest_udp_ops {
	const char *name;
	int (*open)(struct ingest *in) INGEST_WUR; /* 0, or -errno: not usable here */
	uint32_t (*pollfds)(struct ingest *in, struct pollfd *pfd);   /* fds to wait on */
	bool (*process)(struct ingest *in, const struct pollfd *pfd); /* true: more is ready */
	void (*close)(struct ingest *in);
};
extern const struct ingest_udp_ops ingest_udp_uring;
extern const struct ingest_udp_ops ingest_udp_mmsg;

/* A file, stdin or /dev/kmsg source (ingest thread). */
struct ingest_src {
	enum ingest_source_kind kind;
	char name[272];
	int fd;
	bool regular; /* a regular file: always readable, no poll */
	bool eof;
	bool paused;    /* a lane was full: retry after INGEST_PAUSE_NS */
	bool throttled; /* --rate: wait until the next line is due */
	bool skipping;  /* inside a line longer than INGEST_LINE_MAX */
	char *buf;
	size_t off, fill; /* unprocessed bytes are buf[off, fill) */
	uint64_t lines;   /* lines handed on (for --rate and the EOF log) */
};

struct ingest_worker {
	struct ingest *in;
	struct ingest_lane *lane;
	struct shm_counters *cnt; /* this worker's block */
	uint32_t block;
	pthread_t tid;
};

struct ingest {
	struct ingest_opts o;
	struct shm_writer *w;
	struct shm_counters *cnt;        /* block 0: the ingest thread's */
	uint32_t nworkers;               /* lanes; 1 when run_inline */
	bool run_inline;                 /* run to completion: no worker thread, the ingest thread
	                           * applies (with worker 0's block) and drains lane 0 itself */
	struct shm_counters *inline_cnt; /* run_inline: worker 0's block */
	struct ingest_lane *lanes;
	struct ingest_worker *workers;
	uint64_t kick; /* ingest thread: lanes that got records since the last kick */

	int udp_fds[INGEST_LISTEN_MAX];
	uint32_t n_udp;
	const struct ingest_udp_ops *udp;
	void *udp_state;

	struct ingest_src src[INGEST_SOURCE_MAX];
	uint32_t n_src;
	uint64_t rate_start_ns; /* --rate schedule origin */
	uint64_t rate_lines;    /* lines of every file/stdin source so far */

	struct ingest_allow allow;       /* the ingest thread's copy */
	struct ingest_allow *allow_next; /* main → ingest: atomic exchange, ingest frees it */

	int wake_fd;   /* eventfd: stop or reload requested */
	int done_fd;   /* eventfd: the ingest thread ended on its own */
	uint32_t stop; /* main: store-release; ingest/housekeeping: load-acquire */

	pthread_t ingest_tid, hk_tid;
	uint32_t started; /* threads to join: bit 0 ingest, bit 1 housekeeping */
	uint32_t workers_started;
	uint32_t lanes_ready;
	bool sync_ready;
	/* hk_lock guards the three below; hk_cond signals a change of any of them. */
	pthread_mutex_t hk_lock;
	pthread_cond_t hk_cond;
	bool hk_stop;     /* main → housekeeping: end */
	bool start_done;  /* ingest thread → main: the UDP backend is set up (or failed) */
	int start_result; /* its result, 0 or -errno */
	int end_error;    /* ingest thread: why it ended on its own; main reads it after join */
};

/* ingest.c, ingest thread: one datagram from a UDP backend (counted, checked
 * against the allow-list, copied into its worker's lane or dropped). */
void ingest_udp_datagram(struct ingest *in, const char *data, size_t len,
                         const struct sockaddr *from, bool truncated);
/* ingest.c, ingest thread: the lane of worker `w`; marks it for the next kick. */
struct ingest_record *ingest_reserve(struct ingest *in, uint32_t w, uint32_t cap);
uint64_t ingest_now_ns(void); /* CLOCK_REALTIME */
/* "127.0.0.1:9999" / "[::1]:9999"; returns the length. */
size_t ingest_addr_format(const struct sockaddr *sa, char *buf, size_t cap);
uint64_t ingest_mono_ns(void); /* CLOCK_MONOTONIC */

/* udp.c, main thread: bind every listen address; 0 or -errno (logged). */
int ingest_udp_bind(struct ingest *in) INGEST_WUR;
void ingest_udp_unbind(struct ingest *in);

/* source.c, ingest thread (open/close: main thread). */
int ingest_src_open(struct ingest_src *s, const struct ingest_source *spec) INGEST_WUR;
void ingest_src_close(struct ingest_src *s);
/* Work on a source: true if it could do more at once (readable, not paused). */
bool ingest_src_process(struct ingest *in, struct ingest_src *s, const struct pollfd *pfd);

/* worker.c */
void *ingest_worker_main(void *arg);
/* Split `data` into lines, parse and apply each with `block` (a worker's, or the ingest
 * thread's when it runs to completion), count lines and rejections in `cnt`. The thread that
 * owns `block`. */
void ingest_lines_apply(struct ingest *in, uint32_t block, struct shm_counters *cnt,
                        const char *data, size_t len, uint64_t recv_ns);
/* Run to completion: apply and release every record of lane 0. Ingest thread. */
void ingest_inline_drain(struct ingest *in);

#endif /* WGMON_INGEST_INTERNAL_H */
