/* SPDX-License-Identifier: MIT */
/*
 * http.c — /metrics and /healthz over libmicrohttpd. Every handler runs on libmicrohttpd's one
 * internal polling thread ("the http thread"): /metrics never renders, it hands the current
 * snapshot's buffers to a zero-copy response that holds a reference until libmicrohttpd frees
 * it; a gzip client whose snapshot is not compressed yet is suspended until the render thread
 * compressed it (metrics_http_resume()); /healthz reads the writer's heartbeat through its own
 * read-only mapping.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sinks/metrics/metrics_internal.h"

#define HTTP_BACKLOG      128
#define HTTP_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_MSG_MAX      256

struct metrics_http {
	struct MHD_Daemon *d;
	uint16_t port;
	struct metrics_http_opts o;
	struct shm_reader *health; /* /healthz's own mapping: the http thread's */
	struct metrics_ratelimit rl_mhd, rl_health;
	pthread_mutex_t wait_lock; /* guards the three below (http thread and resumers) */
	struct MHD_Connection *waiting[METRICS_HTTP_CONNECTIONS]; /* suspended for a gzip */
	unsigned n_waiting;
	bool closing; /* stop: suspend nobody any more */
};

/* Per-request state (req_cls): headers seen; resumed after waiting for a gzip. */
static int req_seen, req_resumed;

/* ---- Accept-Encoding ------------------------------------------------------------------------ */

/* A q value of 0 ("0", "0.0", "0.000") refuses the coding. */
static bool http_q_zero(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 2 || strncasecmp(p, "q=", 2))
		return false;
	p += 2;
	if (p >= end || *p != '0')
		return false;
	for (p++; p < end && *p != ' ' && *p != '\t'; p++)
		if (*p != '.' && *p != '0')
			return false;
	return true;
}

bool metrics_accepts_gzip(const char *ae)
{
	const char *p = ae;

	while (p && *p) {
		const char *end = strchr(p, ','), *semi, *tok;
		size_t len;

		end = end ? end : p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		tok = p;
		while (tok < end && (*tok == ' ' || *tok == '\t'))
			tok++;
		len = (size_t)((semi ? semi : end) - tok);
		while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			len--;
		if (((len == 4 && !strncasecmp(tok, "gzip", 4)) ||
		     (len == 6 && !strncasecmp(tok, "x-gzip", 6)) || (len == 1 && *tok == '*')) &&
		    !(semi && http_q_zero(semi + 1, end)))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* ---- Responses ------------------------------------------------------------------------------ */

static enum MHD_Result http_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *resp =
	        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* libmicrohttpd is done with a response: drop its snapshot reference. */
static void http_snapshot_release(void *cls)
{
	metrics_pool_put(cls);
}

static struct MHD_Response *http_body(struct metrics_snapshot *s, bool gz)
{
	struct MHD_IoVec iov[METRICS_SEC__COUNT];
	unsigned n = 0;

	if (gz)
		return MHD_create_response_from_buffer_with_free_callback_cls(
		        s->gz.len, s->gz.p, http_snapshot_release, s);
	for (int i = 0; i < METRICS_SEC__COUNT; i++) {
		if (!s->body.sec[i].len)
			continue;
		iov[n].iov_base = s->body.sec[i].p;
		iov[n++].iov_len = s->body.sec[i].len;
	}
	return MHD_create_response_from_iovec(iov, n, http_snapshot_release, s);
}

/* Park a gzip client until the render thread compressed the current snapshot. */
static bool http_wait_gzip(struct metrics_http *h, struct MHD_Connection *conn, void **req_cls)
{
	bool parked = false;

	*req_cls = &req_resumed; /* once: a resumed (or unparked) request is served as it is */
	pthread_mutex_lock(&h->wait_lock);
	if (!h->closing && h->n_waiting < METRICS_HTTP_CONNECTIONS) {
		MHD_suspend_connection(conn);
		h->waiting[h->n_waiting++] = conn;
		parked = true;
	}
	pthread_mutex_unlock(&h->wait_lock);
	if (parked)
		h->o.want_gzip(h->o.cls);
	return parked;
}

void metrics_http_resume(struct metrics_http *h)
{
	pthread_mutex_lock(&h->wait_lock);
	for (unsigned i = 0; i < h->n_waiting; i++)
		MHD_resume_connection(h->waiting[i]); /* thread-safe: wakes the http thread */
	h->n_waiting = 0;
	pthread_mutex_unlock(&h->wait_lock);
}

static enum MHD_Result http_metrics(struct metrics_http *h, struct MHD_Connection *conn,
                                    void **req_cls)
{
	const char *ae =
	        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	bool want_gz = h->o.gzip_level > 0 && metrics_accepts_gzip(ae), gz;
	struct metrics_snapshot *s = metrics_pool_get(h->o.pool);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!s) {
		metrics_stat_add(&h->o.stats->requests_other, 1);
		return http_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                 "no exposition rendered yet\n");
	}
	gz = want_gz && metrics_snapshot_has_gzip(s);
	if (want_gz && !gz && *req_cls != &req_resumed) {
		metrics_pool_put(s);
		if (http_wait_gzip(h, conn, req_cls))
			return MHD_YES;
		return http_metrics(h, conn, req_cls); /* could not park it: serve identity */
	}
	resp = http_body(s, gz);
	if (!resp) {
		metrics_pool_put(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CONTENT_TYPE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (gz)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp); /* the connection keeps its own reference */
	metrics_stat_add(&h->o.stats->requests_metrics, 1);
	if (gz)
		metrics_stat_add(&h->o.stats->requests_gzip, 1);
	return ret;
}

/* The writer's heartbeat in ns (0: no table), through our own mapping. */
static uint64_t http_heartbeat(struct metrics_http *h)
{
	int ret;

	if (!h->health) {
		ret = shm_reader_attach(&h->health, h->o.shm);
		if (ret < 0) {
			metrics_log_rl(&h->rl_health, METRICS_LOG_WARN, "/healthz: %s",
			               shm_reader_error());
			return 0;
		}
	} else if (shm_reader_refresh(h->health) < 0) {
		metrics_log_rl(&h->rl_health, METRICS_LOG_WARN,
		               "/healthz: %s (keeping the mapping)", shm_reader_error());
	}
	/* Relaxed: a time stamp the housekeeping thread stores on its own; no data hangs on it. */
	return __atomic_load_n(&shm_reader_header(h->health)->heartbeat, __ATOMIC_RELAXED);
}

static enum MHD_Result http_healthz(struct metrics_http *h, struct MHD_Connection *conn)
{
	uint64_t hb = http_heartbeat(h), now = metrics_now_real();
	uint64_t age = now > hb ? now - hb : 0;
	bool fresh = hb && age <= (uint64_t)h->o.stale_s * 1000000000ull;
	struct metrics_snapshot *s = metrics_pool_get(h->o.pool);
	double snap_age = -1.0; /* no exposition yet */
	char msg[HTTP_MSG_MAX];

	if (s) {
		snap_age = now > s->rendered_at ? (double)(now - s->rendered_at) / 1e9 : 0.0;
		metrics_pool_put(s);
	}
	metrics_stat_add(&h->o.stats->requests_healthz, 1);
	if (!hb)
		snprintf(msg, sizeof(msg), "stale: no table at %s (is wgmond running?)\n",
		         h->o.shm);
	else
		snprintf(msg, sizeof(msg),
		         "%s: writer heartbeat %.3f s ago (limit %u s); exposition %.3f s old\n",
		         fresh ? "ok" : "stale", (double)age / 1e9, h->o.stale_s, snap_age);
	return http_text(conn, fresh ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, msg);
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls)
{
	struct metrics_http *h = cls;

	/*
	 * Answer on the second call, once the whole request was read: libmicrohttpd closes the
	 * connection after a response queued on the first call (no keep-alive for scrapers).
	 */
	if (!*req_cls) {
		*req_cls = &req_seen;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* a body on GET/HEAD (or on what we refuse): ignored */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		metrics_stat_add(&h->o.stats->requests_other, 1);
		return http_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	}
	if (!strcmp(url, "/metrics"))
		return http_metrics(h, conn, req_cls);
	if (!strcmp(url, "/healthz"))
		return http_healthz(h, conn);
	metrics_stat_add(&h->o.stats->requests_other, 1);
	if (!strcmp(url, "/"))
		return http_text(conn, MHD_HTTP_OK, "wgmon-metrics: see /metrics and /healthz\n");
	return http_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics_http *h = cls;
	char line[HTTP_MSG_MAX];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	metrics_log_rl(&h->rl_mhd, METRICS_LOG_WARN, "http: %s", line);
}

/* ---- The listening socket ------------------------------------------------------------------ */

static int http_bind_one(const struct addrinfo *ai, uint16_t *port)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} a;
	socklen_t alen = sizeof(a);
	int one = 1, fd, ret;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, HTTP_BACKLOG) < 0 ||
	    getsockname(fd, &a.sa, &alen) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*port = ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in.sin_port);
	return fd;
}

/* The first address of host:port that binds; the fd or -errno (logged). */
static int http_listen(const char *host, uint16_t port, uint16_t *bound)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	char ps[8];
	int fd = -EADDRNOTAVAIL, rc;

	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc) {
		metrics_log(METRICS_LOG_ERROR, "listen %s: %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = http_bind_one(ai, bound);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		metrics_log(METRICS_LOG_ERROR, "listen %s port %u: %s", host, port, strerror(-fd));
	return fd;
}

int metrics_http_start(struct metrics_http **out, const struct metrics_http_opts *o)
{
	const unsigned flags =
	        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct metrics_http *h = calloc(1, sizeof(*h));
	int fd;

	if (!h)
		return -ENOMEM;
	h->o = *o;
	pthread_mutex_init(&h->wait_lock, NULL);
	fd = http_listen(o->host, o->port, &h->port);
	if (fd < 0) {
		pthread_mutex_destroy(&h->wait_lock);
		free(h);
		return fd;
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_handle, h, MHD_OPTION_EXTERNAL_LOGGER,
	                        http_mhd_log, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNECTIONS,
	                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_PER_IP,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT_S,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_MEMORY,
	                        MHD_OPTION_END);
	if (!h->d) {
		metrics_log(METRICS_LOG_ERROR, "cannot start the HTTP server on %s port %u",
		            o->host, h->port);
		close(fd);
		pthread_mutex_destroy(&h->wait_lock);
		free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

uint16_t metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->wait_lock);
	h->closing = true;
	pthread_mutex_unlock(&h->wait_lock);
	metrics_http_resume(h); /* libmicrohttpd must not be stopped with suspended connections */
	MHD_stop_daemon(h->d);  /* joins the http thread, closes the listening socket */
	pthread_mutex_destroy(&h->wait_lock);
	shm_reader_detach(h->health);
	free(h);
}
