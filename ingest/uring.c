/* SPDX-License-Identifier: MIT */
/*
 * uring.c — the io_uring UDP backend: one multishot recvmsg per socket over a
 * ring of provided buffers. The kernel fills a buffer per datagram
 * (io_uring_recvmsg_out header, sender address, payload); the ingest thread
 * validates it, copies the payload into a worker's lane and gives the buffer
 * back to the kernel at the end of the same batch of completions.
 *
 *   kernel ──fills──▶ buf[bid] ──CQE(bid)──▶ ingest thread ──copy──▶ lane
 *     ▲                                            │
 *     └────────── io_uring_buf_ring_add/advance ◀──┘ (same batch)
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ingest/ingest_internal.h"

#define URING_SQ_ENTRIES 64
#define URING_CQ_ENTRIES 1024 /* > URING_BUFS: completions never overflow */
#define URING_BUFS       512  /* provided buffers (power of two) */
#define URING_BGID       1
#define URING_CQE_BATCH  128
#define URING_NAMELEN    ((socklen_t)sizeof(struct sockaddr_in6))
/* One buffer: the recvmsg_out header, the sender's address, then the payload. */
#define URING_BUF_SIZE                                                                             \
	((sizeof(struct io_uring_recvmsg_out) + URING_NAMELEN + INGEST_DATAGRAM_MAX + 63) & ~63ul)

struct uring_state {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	char *bufs;
	struct msghdr msg; /* what multishot reserves in each buffer: the name, no control */
	bool rearm[INGEST_LISTEN_MAX];
};

static int uring_arm(struct uring_state *st, uint32_t idx, int fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&st->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recvmsg_multishot(sqe, fd, &st->msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	io_uring_sqe_set_data64(sqe, idx);
	return 0;
}

static void uring_buf_put(struct uring_state *st, unsigned bid, int offset)
{
	io_uring_buf_ring_add(st->br, st->bufs + (size_t)bid * URING_BUF_SIZE, URING_BUF_SIZE,
	                      (unsigned short)bid, io_uring_buf_ring_mask(URING_BUFS), offset);
}

static int uring_buffers(struct uring_state *st)
{
	struct io_uring_buf_reg reg = {0};
	int r;

	st->br_bytes = URING_BUFS * sizeof(struct io_uring_buf);
	st->br = mmap(NULL, st->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1,
	              0);
	if (st->br == MAP_FAILED) {
		st->br = NULL;
		return -errno;
	}
	st->bufs = aligned_alloc(4096, (size_t)URING_BUFS * URING_BUF_SIZE);
	if (!st->bufs)
		return -ENOMEM;
	reg.ring_addr = (uint64_t)(uintptr_t)st->br;
	reg.ring_entries = URING_BUFS;
	reg.bgid = URING_BGID;
	r = io_uring_register_buf_ring(&st->ring, &reg, 0);
	if (r < 0)
		return r;
	io_uring_buf_ring_init(st->br);
	for (unsigned i = 0; i < URING_BUFS; i++)
		uring_buf_put(st, i, (int)i);
	io_uring_buf_ring_advance(st->br, URING_BUFS);
	return 0;
}

/* A kernel without multishot recvmsg (< 6.0) fails the first request at once. */
static int uring_check_armed(struct uring_state *st)
{
	struct io_uring_cqe *cqe;

	if (io_uring_peek_cqe(&st->ring, &cqe) == 0 && cqe->res < 0 &&
	    !(cqe->flags & IORING_CQE_F_MORE))
		return cqe->res == -ENOBUFS ? 0 : cqe->res;
	return 0;
}

static void uring_close(struct ingest *in)
{
	struct uring_state *st = in->udp_state;

	if (!st)
		return;
	if (st->ring.ring_fd >= 0)
		io_uring_queue_exit(&st->ring); /* cancels the requests, unregisters the buffers */
	if (st->br)
		munmap(st->br, st->br_bytes);
	free(st->bufs);
	free(st);
	in->udp_state = NULL;
}

/*
 * The ring. COOP_TASKRUN: a datagram's completion work (the copy into our buffer) is queued
 * to this thread without an IPI that would interrupt it in user space — one per datagram
 * otherwise, as costly as a context switch. A sleeping thread is still woken; a running one
 * finds IORING_SQ_TASKRUN set (TASKRUN_FLAG) and runs the work in uring_process(). Kernels
 * before 5.19 refuse the flags: then without them.
 */
static int uring_ring_init(struct uring_state *st)
{
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN |
	                                     IORING_SETUP_TASKRUN_FLAG,
	                            .cq_entries = URING_CQ_ENTRIES};
	int r = io_uring_queue_init_params(URING_SQ_ENTRIES, &st->ring, &p);

	if (r != -EINVAL)
		return r;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = URING_CQ_ENTRIES;
	return io_uring_queue_init_params(URING_SQ_ENTRIES, &st->ring, &p);
}

static int uring_open(struct ingest *in)
{
	struct uring_state *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return -ENOMEM;
	st->ring.ring_fd = -1;
	in->udp_state = st;
	r = uring_ring_init(st);
	if (r < 0) {
		st->ring.ring_fd = -1;
		goto fail;
	}
	r = uring_buffers(st);
	if (r < 0)
		goto fail;
	st->msg.msg_namelen = URING_NAMELEN;
	for (uint32_t i = 0; i < in->n_udp && r == 0; i++)
		r = uring_arm(st, i, in->udp_fds[i]);
	if (r == 0) {
		r = io_uring_submit(&st->ring);
		r = r < 0 ? r : 0;
	}
	if (r == 0)
		r = uring_check_armed(st);
	if (r == 0)
		return 0;
fail:
	uring_close(in);
	return r;
}

static uint32_t uring_pollfds(struct ingest *in, struct pollfd *pfd)
{
	struct uring_state *st = in->udp_state;

	/* The ring's fd is readable while completions wait in the CQ. */
	pfd[0] = (struct pollfd){.fd = st->ring.ring_fd, .events = POLLIN};
	return 1;
}

/* One completion; returns 1 if it consumed a provided buffer (to give back). */
static int uring_cqe(struct ingest *in, struct uring_state *st, const struct io_uring_cqe *cqe,
                     int offset)
{
	static struct ingest_ratelimit rl_err, rl_bad;
	uint64_t idx = io_uring_cqe_get_data64(cqe);
	struct io_uring_recvmsg_out *out;
	unsigned bid;
	char *buf;

	if (!(cqe->flags & IORING_CQE_F_MORE) && idx < in->n_udp)
		st->rearm[idx] = true; /* the multishot request ended: arm it again */
	if (cqe->res == -ENOBUFS) {
		/* Back-pressure: every buffer is in flight. Counted; buffers come back below. */
		shm_counter_add(&in->cnt->dropped[SHM_DROP_NOBUFS], 1);
		return 0;
	}
	if (cqe->res < 0) {
		shm_counter_add(&in->cnt->dropped[SHM_DROP_RECV_ERROR], 1);
		ingest_log_ratelimited(&rl_err, INGEST_LOG_WARN, "io_uring recvmsg: %s",
		                       strerror(-cqe->res));
		return 0;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return 0;
	bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	buf = st->bufs + (size_t)bid * URING_BUF_SIZE;
	out = io_uring_recvmsg_validate(buf, cqe->res, &st->msg);
	if (!out || out->namelen > URING_NAMELEN) {
		shm_counter_add(&in->cnt->dropped[SHM_DROP_RECV_ERROR], 1);
		ingest_log_ratelimited(&rl_bad, INGEST_LOG_WARN, "io_uring: malformed recvmsg");
	} else {
		unsigned len = io_uring_recvmsg_payload_length(out, cqe->res, &st->msg);

		/* The buffer, rounded up, holds a little more than the limit: the limit rules, as
		 * with recvmmsg (a longer datagram is a truncated drop, not a longer line). */
		ingest_udp_datagram(in, io_uring_recvmsg_payload(out, &st->msg), len,
		                    io_uring_recvmsg_name(out),
		                    (out->flags & MSG_TRUNC) || len > INGEST_DATAGRAM_MAX);
	}
	uring_buf_put(st, bid, offset); /* copied (or dropped): the kernel may reuse it */
	return 1;
}

static bool uring_process(struct ingest *in, const struct pollfd *pfd)
{
	static struct ingest_ratelimit rl;
	struct uring_state *st = in->udp_state;
	struct io_uring_cqe *cqes[URING_CQE_BATCH];
	unsigned n;
	int bufs = 0, r;
	bool armed = false;

	/* COOP_TASKRUN: completions wait as task work until we enter the kernel for them. The
	 * kernel sets the flag before it queues the work; a relaxed look suffices: work we miss
	 * here also marks this thread (TIF_NOTIFY_SIGNAL), so the next ppoll() runs it and
	 * returns with the completions ready. */
	if (__atomic_load_n(st->ring.sq.kflags, __ATOMIC_RELAXED) & IORING_SQ_TASKRUN)
		(void)io_uring_get_events(&st->ring);
	n = io_uring_peek_batch_cqe(&st->ring, cqes, URING_CQE_BATCH);

	for (unsigned i = 0; i < n; i++)
		bufs += uring_cqe(in, st, cqes[i], bufs);
	io_uring_buf_ring_advance(st->br, bufs);
	io_uring_cq_advance(&st->ring, n);
	for (uint32_t i = 0; i < in->n_udp; i++) {
		if (!st->rearm[i])
			continue;
		if (uring_arm(st, i, in->udp_fds[i]) == 0) {
			st->rearm[i] = false;
			armed = true;
		}
	}
	if (armed && (r = io_uring_submit(&st->ring)) < 0)
		ingest_log_ratelimited(&rl, INGEST_LOG_ERROR, "io_uring_submit: %s", strerror(-r));
	return n == URING_CQE_BATCH;
}

const struct ingest_udp_ops ingest_udp_uring = {
        .name = "io_uring",
        .open = uring_open,
        .pollfds = uring_pollfds,
        .process = uring_process,
        .close = uring_close,
};
