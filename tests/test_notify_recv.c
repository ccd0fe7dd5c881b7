/* SPDX-License-Identifier: MIT */
/*
 * test_notify_recv.c — a tiny HTTP receiver for the wgmon-notify tests (libmicrohttpd, one
 * thread per connection, on a free 127.0.0.1 port): records every request (method, path, body,
 * signature and event headers) and answers a scripted list of status codes, or hangs until
 * released. #included by test_notify.c and test_notify_e2e.c; everything is static.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define RECV_REQ_MAX    2048
#define RECV_BODY_MAX   4096
#define RECV_SCRIPT_MAX 16

struct recv_req {
	char method[8];
	char path[128];
	char body[RECV_BODY_MAX];
	size_t len;
	char sig[128];  /* X-Wgmon-Signature, "" if none */
	char event[64]; /* X-Wgmon-Event */
	char ctype[64]; /* Content-Type */
	int status;     /* what we answered */
};

struct recv {
	struct MHD_Daemon *d;
	int port;
	char url[64];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int script[RECV_SCRIPT_MAX]; /* answers, in order; then `dflt` */
	int n_script, next_script, dflt;
	bool hang; /* hold every request until recv_release() */
	bool released;
	int hanging;          /* requests held right now */
	struct recv_req *req; /* completed bodies, in arrival order */
	int n_req;
};

struct recv_conn {
	char body[RECV_BODY_MAX];
	size_t len;
	bool overflow;
};

static uint64_t recv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double recv_slow(void)
{
	const char *s = getenv("WGMON_TEST_SLOW");
	double k = s ? atof(s) : 1.0;

	return k > 0 ? k : 1.0;
}

static void recv_copy_header(struct MHD_Connection *c, const char *name, char *out, size_t cap)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, cap, "%s", v ? v : "");
}

/* Record the request; returns the status to answer. Holds it first if hanging. */
static int recv_record(struct recv *r, struct MHD_Connection *c, const char *url,
                       const char *method, const struct recv_conn *rc)
{
	struct recv_req *q;
	int status;

	pthread_mutex_lock(&r->lock);
	status = r->next_script < r->n_script ? r->script[r->next_script++] : r->dflt;
	if (r->n_req < RECV_REQ_MAX) {
		q = &r->req[r->n_req];
		snprintf(q->method, sizeof(q->method), "%s", method);
		snprintf(q->path, sizeof(q->path), "%s", url);
		memcpy(q->body, rc->body, rc->len);
		q->body[rc->len] = '\0';
		q->len = rc->len;
		recv_copy_header(c, "X-Wgmon-Signature", q->sig, sizeof(q->sig));
		recv_copy_header(c, "X-Wgmon-Event", q->event, sizeof(q->event));
		recv_copy_header(c, "Content-Type", q->ctype, sizeof(q->ctype));
		q->status = status;
		r->n_req++;
	}
	pthread_cond_broadcast(&r->cond);
	r->hanging++;
	while (r->hang && !r->released)
		pthread_cond_wait(&r->cond, &r->lock);
	r->hanging--;
	pthread_mutex_unlock(&r->lock);
	return status;
}

static enum MHD_Result recv_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *upload,
                                    size_t *upload_size, void **con_cls)
{
	struct recv *r = cls;
	struct recv_conn *rc = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int status;

	if (!rc) {
		rc = calloc(1, sizeof(*rc));
		if (!rc)
			return MHD_NO;
		*con_cls = rc;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rc->len + *upload_size < RECV_BODY_MAX) {
			memcpy(rc->body + rc->len, upload, *upload_size);
			rc->len += *upload_size;
		} else {
			rc->overflow = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	status = recv_record(r, c, url, method, rc);
	resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void recv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

/* Start on a free loopback port; answers `dflt` once the script (may be NULL) is used up. */
static bool recv_start(struct recv *r, int dflt, const int *script, int n_script, bool hang)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd;

	memset(r, 0, sizeof(*r));
	r->dflt = dflt;
	r->hang = hang;
	for (int i = 0; i < n_script && i < RECV_SCRIPT_MAX; i++)
		r->script[r->n_script++] = script[i];
	r->req = calloc(RECV_REQ_MAX, sizeof(*r->req));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!r->req || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 64) < 0 || getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	r->port = ntohs(a.sin_port);
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/hook", r->port);
	r->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
	                        NULL, NULL, recv_handler, r, MHD_OPTION_LISTEN_SOCKET, fd,
	                        MHD_OPTION_NOTIFY_COMPLETED, recv_completed, NULL, MHD_OPTION_END);
	if (!r->d)
		close(fd);
	return r->d != NULL;
}

static void recv_release(struct recv *r)
{
	pthread_mutex_lock(&r->lock);
	r->released = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void recv_stop(struct recv *r)
{
	recv_release(r);
	if (r->d)
		MHD_stop_daemon(r->d);
	r->d = NULL;
	free(r->req);
	r->req = NULL;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

static int recv_count(struct recv *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->n_req;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* Poll until at least n requests arrived (bounded by seconds × WGMON_TEST_SLOW). */
static bool recv_wait(struct recv *r, int n, double seconds)
{
	uint64_t end = recv_now_ns() + (uint64_t)(seconds * recv_slow() * 1e9);
	struct timespec ts = {0, 2000000};

	while (recv_count(r) < n) {
		if (recv_now_ns() > end)
			return false;
		nanosleep(&ts, NULL); /* between two polls of the count */
	}
	return true;
}

/* Whether request q carries "sha256=" + HMAC-SHA256(secret, body) (computed here directly). */
static bool recv_sig_ok(const struct recv_req *q, const char *secret)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 8];

	if (strncmp(q->sig, "sha256=", 7) ||
	    !HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)q->body, q->len,
	          md, &md_len))
		return false;
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strlen(q->sig + 7) == 2 * md_len && !strcmp(q->sig + 7, hex);
}
