/* SPDX-License-Identifier: MIT */
/*
 * test_hardening_http.c — hostile HTTP clients against the real wgmon-metrics: oversized request
 * lines, headers and bodies are refused without the process growing; idle half-requests meet the
 * per-address limit (others are still served) and the connection limit (then everyone waits), and
 * are closed after the idle timeout. (Clients that stop reading a response: test_metrics_http.c.)
 * Raw sockets, every wait bounded.
 */
#include <criterion/criterion.h>
#include <poll.h>

#include "sinks/metrics/metrics_internal.h"
#include "tests/test_hardening_util.h"
#include "tests/test_metrics_util.c"

#define SEC        1000000000ull
#define PEERS      512
#define MEM_SLACK  (16u << 10) /* KiB the process may grow by over the whole abuse */
#define IDLE_S     15          /* METRICS_HTTP_TIMEOUT_S */
#define PER_IP     16          /* METRICS_HTTP_PER_IP */
#define ADDRS      4           /* addresses that together fill METRICS_HTTP_CONNECTIONS */
#define BIG_HEADER (64u << 10)
#define BIG_URL    (100u << 10)
#define BIG_BODY   (4u << 20)

_Static_assert(IDLE_S == METRICS_HTTP_TIMEOUT_S, "the idle timeout this test waits for");
_Static_assert(PER_IP == METRICS_HTTP_PER_IP, "the per-address limit this test fills");
_Static_assert(ADDRS *PER_IP == METRICS_HTTP_CONNECTIONS, "the connection limit it fills");

static struct tm_proc mp;
static struct shm_writer *w;
static char name[64];

static void setup(void)
{
	struct shm_writer_opts o = {.capacity = 1024, .event_ring = 64, .gid = -1, .reset = true};
	struct parse_event ev = {.kind = PARSE_EV_KEEPALIVE_RECEIVED,
	                         .fields = PARSE_F_PEER | PARSE_F_ENDPOINT,
	                         .repeat = 1,
	                         .iface_len = 3,
	                         .iface = "wg0",
	                         .endpoint = {.af = PARSE_AF_INET, .port = 51820}};

	memset(&mp, 0, sizeof(mp));
	mp.pid = -1;
	snprintf(name, sizeof(name), "/wgmon-test-hz-http-%d", (int)getpid());
	o.name = name;
	cr_assert_eq(shm_writer_open(&w, &o), 0, "%s", shm_writer_error());
	for (uint64_t i = 1; i <= PEERS; i++) {
		ev.peer = i;
		memcpy(ev.endpoint.addr, &i, 4);
		cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, metrics_now_real()), 0);
	}
	shm_writer_heartbeat(w, metrics_now_real());
}

static void teardown(void)
{
	tm_cleanup(&mp);
	shm_writer_close(w);
	(void)!shm_writer_unlink(name);
}

TestSuite(hz_http, .init = setup, .fini = teardown, .timeout = 120);

/* wgmon-metrics on 127.0.0.1, serving its first exposition. */
static void metrics_start(void)
{
	char url[128];
	struct tm_reply rep;

	tm_init(&mp, name, "hz");
	tm_arg(&mp, "--interval");
	tm_arg(&mp, "200");
	tm_spawn(&mp);
	cr_assert(tm_wait_ready(&mp), "%s", tm_log(&mp));
	tm_url(url, sizeof(url), "127.0.0.1", mp.port, "/metrics");
	cr_assert(tm_wait_body(url, "wgmon_table_peers 512", 20, &rep), "%s", tm_log(&mp));
	tm_reply_free(&rep);
}

/* A TCP connection to wgmon-metrics from `src`; -1 if not. */
static int http_connect(const char *src)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(mp.port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in s = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if ((src && (inet_pton(AF_INET, src, &s.sin_addr) != 1 ||
	             bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0)) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write all of it; false once the server closed (it may refuse before reading everything). */
static bool http_write(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return errno == EINTR;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Read until the server closes (bounded): the status code of its answer, 0 if it sent none. */
static int http_status(int fd, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	char buf[4096], head[64] = "";
	size_t got = 0;
	int code = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;

		cr_assert(tw_now_ns() < end, "the server neither answered nor closed");
		if (poll(&p, 1, 100) <= 0)
			continue;
		k = recv(fd, buf, sizeof(buf), 0);
		if (k <= 0)
			break;
		if (got < sizeof(head) - 1) {
			size_t n = (size_t)k < sizeof(head) - 1 - got ? (size_t)k
			                                              : sizeof(head) - 1 - got;

			memcpy(head + got, buf, n);
			got += n;
			head[got] = '\0';
		}
	}
	if (sscanf(head, "HTTP/1.%*d %d", &code) != 1)
		code = 0;
	return code;
}

/* Send a request (head, then `body` bytes of 'b') on a new connection: the status, or 0. */
static int http_request(const char *head, size_t head_len, size_t body)
{
	static char chunk[64 << 10];
	int fd = http_connect(NULL), code;
	bool open;

	cr_assert_geq(fd, 0);
	memset(chunk, 'b', sizeof(chunk));
	open = http_write(fd, head, head_len);
	for (size_t left = body; open && left;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		open = http_write(fd, chunk, n);
		left -= n;
	}
	shutdown(fd, SHUT_WR);
	code = http_status(fd, 30);
	close(fd);
	return code;
}

static size_t request_big_header(char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(
	        buf, cap, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Big: ");

	memset(buf + n, 'h', BIG_HEADER);
	n += BIG_HEADER;
	return n + (size_t)snprintf(buf + n, cap - n, "\r\n\r\n");
}

static size_t request_big_url(char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "GET /metrics?");

	memset(buf + n, 'u', BIG_URL);
	n += BIG_URL;
	return n + (size_t)snprintf(buf + n, cap - n,
	                            " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

static size_t request_many_headers(char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap,
	                            "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");

	for (unsigned i = 0; i < 8000; i++)
		n += (size_t)snprintf(buf + n, cap - n, "X-H%u: v\r\n", i);
	return n + (size_t)snprintf(buf + n, cap - n, "\r\n");
}

Test(hz_http, oversized_requests_are_refused_and_memory_stays_flat)
{
	static char req[BIG_URL + 256];
	static const char post[] = "POST /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	                           "Content-Length: 4194304\r\n\r\n";
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	uint64_t rss0, rss1;
	size_t n;
	int code;

	metrics_start();
	cr_assert_eq(http_request(get, sizeof(get) - 1, 0), 200);
	rss0 = hz_status_kib(mp.pid, "VmRSS");
	for (unsigned round = 0; round < 8; round++) {
		n = request_big_header(req, sizeof(req));
		code = http_request(req, n, 0);
		cr_assert(code != 200 && (code == 0 || code >= 400), "64 KiB header: %d", code);
		n = request_big_url(req, sizeof(req));
		code = http_request(req, n, 0);
		cr_assert(code != 200 && (code == 0 || code >= 400), "100 KiB URL: %d", code);
		n = request_many_headers(req, sizeof(req));
		code = http_request(req, n, 0);
		cr_assert(code != 200 && (code == 0 || code >= 400), "8000 headers: %d", code);
		code = http_request(post, sizeof(post) - 1, BIG_BODY);
		cr_assert(code == 405 || code == 0, "4 MiB POST: %d", code);
	}
	/* Still serving, whole expositions. */
	cr_assert_eq(http_request(get, sizeof(get) - 1, 0), 200);
	rss1 = hz_status_kib(mp.pid, "VmRSS");
	cr_assert_lt(rss1, rss0 + MEM_SLACK, "resident %llu KiB, was %llu KiB",
	             (unsigned long long)rss1, (unsigned long long)rss0);
	hz_note("wgmon-metrics resident: %llu KiB before, %llu KiB after the abuse",
	        (unsigned long long)rss0, (unsigned long long)rss1);
	cr_assert_eq(tm_stop(&mp), 0);
}

/* Is fd closed by the peer (EOF or reset) within `seconds`? */
static bool closed_within(int fd, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	char c;

	while (tw_now_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 50) > 0) {
			ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);

			if (k == 0 || (k < 0 && errno != EAGAIN))
				return true;
		}
	}
	return false;
}

/* Hold PER_IP idle half-requests from 127.0.0.<addr>; false if that address is not usable. */
static bool hold_from(int *held, unsigned addr)
{
	static const char half[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n"; /* never finished */
	char src[16];

	snprintf(src, sizeof(src), "127.0.0.%u", addr);
	for (unsigned i = 0; i < PER_IP; i++) {
		held[i] = http_connect(src);
		if (held[i] < 0)
			return false;
		cr_assert(http_write(held[i], half, sizeof(half) - 1));
	}
	return true;
}

/* One more connection from 127.0.0.<addr>, with a whole request: the fd. */
static int request_from(unsigned addr, const char *req, size_t len)
{
	char src[16];
	int fd;

	snprintf(src, sizeof(src), "127.0.0.%u", addr);
	fd = http_connect(src);
	cr_assert_geq(fd, 0); /* the kernel accepts it into the listen backlog */
	cr_assert(http_write(fd, req, len));
	return fd;
}

/* Nothing comes back on fd (no answer, not closed) for `seconds`. */
static bool silent_for(int fd, double seconds)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, (int)(seconds * 1000)) == 0;
}

Test(hz_http, idle_half_requests_hit_the_limits_then_time_out, .timeout = 180)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	static int held[ADDRS][PER_IP];
	uint64_t t0, waited;
	int fd, code;

	metrics_start();
	if (!hold_from(held[0], 2))
		cr_skip_test("cannot connect from 127.0.0.2 here: %s", strerror(errno));
	t0 = tw_now_ns();
	/* One more from the same address: closed at once. */
	fd = request_from(2, get, sizeof(get) - 1);
	cr_assert(closed_within(fd, 5), "a 17th connection from one address was kept");
	close(fd);
	cr_assert_eq(http_request(get, sizeof(get) - 1, 0), 200, "another address is served");
	/* Three more addresses fill the server's connection limit: a client beyond it waits in
	 * the listen backlog (libmicrohttpd stops accepting) until the idle timeout frees room. */
	for (unsigned a = 1; a < ADDRS; a++)
		cr_assert(hold_from(held[a], 2 + a));
	fd = request_from(2 + ADDRS, get, sizeof(get) - 1);
	cr_assert(silent_for(fd, 2), "a connection beyond the limit was answered");
	/* The held ones are closed once idle for the timeout (bounded: timeout + 10 s). */
	for (unsigned a = 0; a < ADDRS; a++)
		for (unsigned i = 0; i < PER_IP; i++) {
			cr_assert(closed_within(held[a][i], IDLE_S + 10),
			          "held connection %u of address %u still open", i, a);
			close(held[a][i]);
		}
	waited = tw_now_ns() - t0;
	code = http_status(fd, 10);
	close(fd);
	hz_note("%u idle half-requests (the connection limit) closed after %.1f s; the client that "
	        "waited behind them then got %d",
	        ADDRS * PER_IP, (double)waited / SEC, code);
	cr_assert_eq(code, 200);
	cr_assert_eq(http_request(get, sizeof(get) - 1, 0), 200);
	cr_assert_eq(tm_stop(&mp), 0);
}
