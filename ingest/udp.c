/* SPDX-License-Identifier: MIT */
/*
 * udp.c — the UDP sockets (bind, IPV6_V6ONLY, receive buffer) and the portable
 * backend: a recvmmsg loop, used where io_uring is not available or when
 * `--ingest recvmmsg` asks for it. Its buffers belong to the ingest thread and
 * are reused for the next batch as soon as each datagram is copied into a lane.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define MMSG_BATCH 64

size_t ingest_addr_format(const struct sockaddr *sa, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		n = snprintf(buf, cap, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		n = snprintf(buf, cap, "[%s]:%u", host, port);
	} else {
		n = snprintf(buf, cap, "(family %u)", sa->sa_family);
	}
	return n < 0 ? 0 : (size_t)n;
}

/* SO_RCVBUFFORCE where permitted (CAP_NET_ADMIN), else SO_RCVBUF (capped by rmem_max). */
static void udp_rcvbuf(int fd, const char *name, uint64_t want)
{
	int v = want > INT_MAX / 2 ? INT_MAX / 2 : (int)want, got = 0;
	socklen_t len = sizeof(got);
	const char *how = "SO_RCVBUFFORCE";

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0) {
		how = "SO_RCVBUF";
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
			how = "default";
	}
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
		got = 0;
	/* The kernel reports twice what it grants for data (the rest is bookkeeping). */
	ingest_log((uint64_t)got / 2 < want ? INGEST_LOG_WARN : INGEST_LOG_INFO,
	           "udp %s: receive buffer %d bytes (asked %llu, via %s)%s", name, got,
	           (unsigned long long)want, how,
	           (uint64_t)got / 2 < want ? ": raise net.core.rmem_max or run with CAP_NET_ADMIN"
	                                    : "");
}

/*
 * bind(), waiting a little while the address is in use: after a crash, the old process's
 * sockets can outlive it briefly (io_uring tears its requests down asynchronously).
 */
static int udp_bind(int fd, const struct sockaddr_storage *ss, socklen_t len, const char *name)
{
	uint64_t end = ingest_mono_ns() + INGEST_BIND_WAIT_NS;
	struct timespec pause = {0, 20000000};
	bool told = false;

	while (bind(fd, (const struct sockaddr *)ss, len) < 0) {
		if (errno != EADDRINUSE || ingest_mono_ns() > end)
			return -1;
		if (!told)
			ingest_log(INGEST_LOG_INFO, "udp %s: address in use, waiting up to %llu s",
			           name, (unsigned long long)(INGEST_BIND_WAIT_NS / 1000000000ull));
		told = true;
		nanosleep(&pause, NULL); /* polls the port; nothing to be woken by */
	}
	return 0;
}

static int udp_open_one(const struct sockaddr_storage *ss, uint64_t rcvbuf, int *out)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                          : sizeof(struct sockaddr_in);
	char name[INET6_ADDRSTRLEN + 16];
	int fd, one = 1, err;

	ingest_addr_format((const struct sockaddr *)ss, name, sizeof(name));
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* [::] must not also take IPv4: 0.0.0.0 has its own socket, like the replaced tool. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail_close;
	if (udp_bind(fd, ss, len, name) < 0)
		goto fail_close;
	udp_rcvbuf(fd, name, rcvbuf);
	*out = fd;
	return 0;

fail_close:
	err = errno;
	close(fd);
	errno = err;
fail:
	err = errno;
	ingest_log(INGEST_LOG_ERROR, "cannot listen on udp %s: %s", name, strerror(err));
	return -err;
}

int ingest_udp_bind(struct ingest *in)
{
	for (uint32_t i = 0; i < in->o.n_listen; i++) {
		int r = udp_open_one(&in->o.listen[i], in->o.rcvbuf, &in->udp_fds[i]);

		if (r < 0) {
			ingest_udp_unbind(in);
			return r;
		}
		in->n_udp = i + 1;
	}
	return 0;
}

void ingest_udp_unbind(struct ingest *in)
{
	for (uint32_t i = 0; i < in->n_udp; i++)
		close(in->udp_fds[i]);
	in->n_udp = 0;
}

/* ------------------------------------------------------- recvmmsg backend */

struct mmsg_state {
	struct mmsghdr msgs[MMSG_BATCH];
	struct iovec iov[MMSG_BATCH];
	struct sockaddr_in6 names[MMSG_BATCH];
	char bufs[MMSG_BATCH][INGEST_DATAGRAM_MAX];
};

static int mmsg_open(struct ingest *in)
{
	struct mmsg_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	for (unsigned i = 0; i < MMSG_BATCH; i++) {
		st->iov[i].iov_base = st->bufs[i];
		st->iov[i].iov_len = sizeof(st->bufs[i]);
		st->msgs[i].msg_hdr.msg_iov = &st->iov[i];
		st->msgs[i].msg_hdr.msg_iovlen = 1;
		st->msgs[i].msg_hdr.msg_name = &st->names[i];
	}
	in->udp_state = st;
	return 0;
}

static uint32_t mmsg_pollfds(struct ingest *in, struct pollfd *pfd)
{
	for (uint32_t i = 0; i < in->n_udp; i++)
		pfd[i] = (struct pollfd){.fd = in->udp_fds[i], .events = POLLIN};
	return in->n_udp;
}

/* Up to INGEST_UDP_BUDGET datagrams of one socket; true if it may hold more. */
static bool mmsg_drain(struct ingest *in, struct mmsg_state *st, int fd)
{
	static struct ingest_ratelimit rl;

	for (unsigned got = 0; got < INGEST_UDP_BUDGET;) {
		int n;

		for (unsigned i = 0; i < MMSG_BATCH; i++)
			st->msgs[i].msg_hdr.msg_namelen = sizeof(st->names[i]);
		n = recvmmsg(fd, st->msgs, MMSG_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				shm_counter_add(&in->cnt->dropped[SHM_DROP_RECV_ERROR], 1);
				ingest_log_ratelimited(&rl, INGEST_LOG_WARN, "recvmmsg: %s",
				                       strerror(errno));
			}
			return false;
		}
		for (int i = 0; i < n; i++)
			ingest_udp_datagram(in, st->bufs[i], st->msgs[i].msg_len,
			                    st->msgs[i].msg_hdr.msg_name,
			                    st->msgs[i].msg_hdr.msg_flags & MSG_TRUNC);
		if (n < MMSG_BATCH)
			return false;
		got += (unsigned)n;
	}
	return true;
}

static bool mmsg_process(struct ingest *in, const struct pollfd *pfd)
{
	bool more = false;

	for (uint32_t i = 0; i < in->n_udp; i++)
		if (pfd[i].revents & (POLLIN | POLLERR))
			more |= mmsg_drain(in, in->udp_state, in->udp_fds[i]);
	return more;
}

static void mmsg_close(struct ingest *in)
{
	free(in->udp_state);
	in->udp_state = NULL;
}

const struct ingest_udp_ops ingest_udp_mmsg = {
        .name = "recvmmsg",
        .open = mmsg_open,
        .pollfds = mmsg_pollfds,
        .process = mmsg_process,
        .close = mmsg_close,
};
