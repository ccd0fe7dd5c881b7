/* SPDX-License-Identifier: MIT */
/*
 * bench_net — UDP over loopback for `udp` and `latency`: the blaster (sendmmsg,
 * one generated line per datagram, paced), the bare receiver (a recvmmsg loop
 * on its own pinned thread that only counts: the most any receiver can take on
 * this machine), and the kernel's UDP counters from /proc/net/snmp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define BENCH_BARE_BUF     2048     /* bytes per receive buffer: every generated line fits */
#define BENCH_BARE_WAKE_NS 20000000 /* the bare receiver checks `stop` this often when idle */

/* ---- the blaster ------------------------------------------------------------------------ */

int bench_blaster_open(struct bench_blaster *b, int port, const struct bench_lines *l)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	memset(b, 0, sizeof(*b));
	b->l = l;
	b->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (b->fd < 0)
		return -errno;
	if (connect(b->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;

		close(b->fd);
		b->fd = -1;
		return err;
	}
	return 0;
}

void bench_blaster_close(struct bench_blaster *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

unsigned bench_blaster_send(struct bench_blaster *b, unsigned n)
{
	struct mmsghdr m[BENCH_UDP_BATCH];
	struct iovec iov[BENCH_UDP_BATCH];
	unsigned done = 0;

	if (n > BENCH_UDP_BATCH)
		n = BENCH_UDP_BATCH;
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = (void *)bench_line(b->l, b->next, &iov[i].iov_len);
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		b->next = b->next + 1 == b->l->n ? 0 : b->next + 1;
	}
	while (done < n) {
		int k = sendmmsg(b->fd, m + done, n - done, 0);

		if (k > 0)
			done += (unsigned)k;
		else if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN &&
		         errno != ECONNREFUSED)
			break;
	}
	b->sent += done;
	return done;
}

/* Sleeps until monotonic time `at`. */
static void bench_sleep_until(uint64_t at)
{
	struct timespec ts = {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

double bench_blaster_paced(struct bench_blaster *b, uint64_t n, double rate, unsigned batch,
                           uint64_t deadline_ns, void (*idle)(void *), void *arg, uint64_t *sent)
{
	uint64_t start = bench_now_ns(), now = start, done = 0;

	if (!batch || batch > BENCH_UDP_BATCH)
		batch = BENCH_UDP_BATCH;
	while (done < n && (now = bench_now_ns()) < deadline_ns) {
		/* Datagrams due by now on the schedule start + i / rate (the first at once). */
		uint64_t due = rate > 0 ? (uint64_t)((double)(now - start) * rate / 1e9) + 1 : n;

		if (due > n)
			due = n;
		if (due <= done) {
			if (idle)
				idle(arg);
			else
				bench_sleep_until(start + (uint64_t)((double)done * 1e9 / rate));
			continue;
		}
		done += bench_blaster_send(b, due - done > batch ? batch : (unsigned)(due - done));
	}
	*sent = done;
	now = bench_now_ns();
	return (double)done * 1e9 / (double)(now - start + 1);
}

/* ---- the bare receiver ------------------------------------------------------------------ */

static void *bench_bare_main(void *arg)
{
	static __thread char bufs[BENCH_UDP_BATCH][BENCH_BARE_BUF];
	struct mmsghdr m[BENCH_UDP_BATCH];
	struct iovec iov[BENCH_UDP_BATCH];
	struct bench_bare *s = arg;

	if (bench_pin_to(s->cpu))
		fprintf(stderr, "wgmon-bench: bare receiver not pinned to CPU %d\n", s->cpu);
	for (unsigned i = 0; i < BENCH_UDP_BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	/* Pairs with bench_bare_stop()'s release store. */
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		int n = recvmmsg(s->fd, m, BENCH_UDP_BATCH, MSG_WAITFORONE, NULL);

		if (n > 0)
			/* A count, no ordering: only this thread writes it. */
			__atomic_store_n(&s->count, s->count + (uint64_t)n, __ATOMIC_RELAXED);
	}
	return NULL;
}

int bench_bare_start(struct bench_bare *s, int cpu, uint64_t rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {0, BENCH_BARE_WAKE_NS / 1000};
	int v = rcvbuf > INT_MAX / 2 ? INT_MAX / 2 : (int)rcvbuf, err;
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->cpu = cpu;
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	/* What wgmond does with --rcvbuf: the same buffer for both receivers. */
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0 &&
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
		fprintf(stderr, "wgmon-bench: bare receiver: SO_RCVBUF: %s\n", strerror(errno));
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len) < 0) {
		err = -errno;
		goto close_fd;
	}
	s->port = ntohs(a.sin_port);
	err = -pthread_create(&s->tid, NULL, bench_bare_main, s);
	if (!err)
		return 0;
close_fd:
	close(s->fd);
	s->fd = -1;
	return err;
}

uint64_t bench_bare_count(const struct bench_bare *s)
{
	/* A count; pairs with nothing (the receiver's relaxed store). */
	return __atomic_load_n(&s->count, __ATOMIC_RELAXED);
}

uint64_t bench_bare_cpu_ns(const struct bench_bare *s)
{
	struct timespec ts;
	clockid_t id;

	if (pthread_getcpuclockid(s->tid, &id) || clock_gettime(id, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_bare_stop(struct bench_bare *s)
{
	/* Pairs with the receiver's acquire load; it sees it within BENCH_BARE_WAKE_NS. */
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->tid, NULL);
	close(s->fd);
	s->fd = -1;
}

/* ---- /proc/net/snmp --------------------------------------------------------------------- */

/* Column `name` of the "Udp:" header line, in the "Udp:" values line after it. */
static int bench_snmp_field(const char *head, const char *vals, const char *name, uint64_t *out)
{
	size_t nlen = strlen(name);
	int col = 0;

	for (const char *p = head; *p && *p != '\n'; col++) {
		p += strspn(p, " ");
		if (!strncmp(p, name, nlen) && (p[nlen] == ' ' || p[nlen] == '\n')) {
			for (int i = 0; i < col && vals; i++)
				vals = strchr(vals + 1, ' ');
			if (!vals)
				return -EPROTO;
			*out = strtoull(vals, NULL, 10);
			return 0;
		}
		p += strcspn(p, " \n");
	}
	return -ENOENT;
}

int bench_snmp_udp(uint64_t *rcvbuf_errors, uint64_t *in_errors)
{
	char buf[8192], *head, *vals;
	FILE *f = fopen("/proc/net/snmp", "r");
	size_t n;
	int err;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	head = strstr(buf, "\nUdp: ");
	vals = head ? strstr(head + 1, "\nUdp: ") : NULL;
	if (!head || !vals)
		return -EPROTO;
	/* Both lines start with "Udp:" then a space-separated list: columns line up. */
	err = bench_snmp_field(head + 5, vals + 5, "RcvbufErrors", rcvbuf_errors);
	if (!err)
		err = bench_snmp_field(head + 5, vals + 5, "InErrors", in_errors);
	return err;
}
