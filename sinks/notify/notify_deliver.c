/* SPDX-License-Identifier: MIT */
/*
 * notify_deliver.c — one target per receiver URL: a bounded FIFO filled by the follower and a
 * worker thread of its own that POSTs each payload with libcurl (connect and total timeouts),
 * retries network errors and 5xx with capped exponential backoff, never retries 4xx, and counts
 * everything in the target's block of the stats object. One receiver's trouble stays its own.
 *
 *   post() ──▶ [ head … head+count ) ring of cap messages ──▶ worker: take, sign, POST, retry
 *   (full: the oldest is dropped, counted)                     (one message in flight: FIFO)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "sinks/notify/notify_internal.h"

#define HEADER_MAX 160 /* one request header line we build */

struct notify_msg {
	uint32_t len;
	uint32_t type; /* enum notify_type */
	char body[NOTIFY_BODY_MAX];
};

enum attempt_outcome {
	OUTCOME_SENT,    /* 2xx */
	OUTCOME_REJECT,  /* 4xx: the receiver refuses it, retrying would not help */
	OUTCOME_RETRY,   /* network error, timeout, 5xx */
	OUTCOME_FAIL,    /* anything else (3xx, a URL curl cannot use) */
	OUTCOME_STOPPED, /* aborted: the process is exiting */
};

struct notify_target {
	/* Set by notify_target_start(), read-only afterwards. */
	char url[CONFIG_URL_LEN];
	enum notify_format format;
	uint32_t retries, connect_timeout_ms, timeout_ms, backoff_min_ms, backoff_max_ms;
	char secret[CONFIG_SECRET_LEN];
	size_t secret_len;
	struct notify_stats_target *st;
	pthread_t thread;

	/* Under lock. stop and deadline_ns are also read, without it, by the worker's curl. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled on post and on stop */
	struct notify_msg *queue;
	uint32_t cap, head, count;
	bool busy; /* the worker holds a message (cur) */
	uint32_t stop;
	uint64_t deadline_ns; /* after stop: monotonic time at which to give up */
	uint64_t abandoned;   /* queued at exit, never attempted */

	/* The producer's own. */
	struct notify_ratelimit rl_drop;

	/* The worker's own. */
	CURL *curl;
	struct notify_msg cur;
	uint64_t rng;
	struct notify_ratelimit rl_retry, rl_fail;
};

uint64_t notify_backoff_ms(uint32_t attempt, uint32_t min_ms, uint32_t max_ms)
{
	uint64_t d = min_ms ? min_ms : NOTIFY_BACKOFF_MIN_MS;

	for (uint32_t i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

static void target_depth_locked(struct notify_target *t)
{
	notify_stat_set(&t->st->queue_depth, t->count + (t->busy ? 1u : 0u));
}

/* ---- Producer side --------------------------------------------------------------------------- */

int notify_target_post(struct notify_target *t, enum notify_type type, const char *body, size_t len)
{
	struct notify_msg *m;

	if (len > NOTIFY_BODY_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&t->lock);
	if (t->count == t->cap) {
		t->head = (t->head + 1) % t->cap;
		t->count--;
		notify_stat_add(&t->st->dropped, 1);
		notify_log_rl(&t->rl_drop, NOTIFY_LOG_WARN,
		              "%s: queue full (%u): dropped the oldest notification", t->st->url,
		              t->cap);
	}
	m = &t->queue[(t->head + t->count) % t->cap];
	m->len = (uint32_t)len;
	m->type = (uint32_t)type;
	memcpy(m->body, body, len);
	t->count++;
	notify_stat_add(&t->st->posted, 1);
	target_depth_locked(t);
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void notify_target_stop(struct notify_target *t, uint32_t grace_ms)
{
	pthread_mutex_lock(&t->lock);
	if (!t->stop) {
		/* Both read by the worker's progress callback without the lock; the deadline is
		 * stored first, and the release store of stop pairs with its acquire load. */
		__atomic_store_n(&t->deadline_ns, notify_mono_ns() + grace_ms * 1000000ull,
		                 __ATOMIC_RELAXED);
		__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	}
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* ---- Worker side ----------------------------------------------------------------------------- */

static bool target_past_deadline(struct notify_target *t)
{
	/* Pairs with the release store of stop in notify_target_stop(): the deadline is set. */
	return __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) &&
	       notify_mono_ns() >= __atomic_load_n(&t->deadline_ns, __ATOMIC_RELAXED);
}

static int target_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
	return target_past_deadline(arg) ? 1 : 0; /* non-zero: curl aborts the transfer */
}

static size_t target_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb; /* the receiver's answer is its status; the body is not read */
}

/* Wait for a message and take it into t->cur. false: stopping, and nothing (more) to do. */
static bool target_take(struct notify_target *t)
{
	bool got = false;

	pthread_mutex_lock(&t->lock);
	while (!t->count && !t->stop)
		pthread_cond_wait(&t->cond, &t->lock);
	if (t->count && !target_past_deadline(t)) {
		t->cur = t->queue[t->head];
		t->head = (t->head + 1) % t->cap;
		t->count--;
		t->busy = got = true;
	} else if (t->count) {
		t->abandoned += t->count;
		notify_stat_add(&t->st->dropped, t->count);
		t->count = 0;
	}
	target_depth_locked(t);
	pthread_mutex_unlock(&t->lock);
	return got;
}

static void target_done(struct notify_target *t)
{
	pthread_mutex_lock(&t->lock);
	t->busy = false;
	target_depth_locked(t);
	pthread_mutex_unlock(&t->lock);
}

/* Sleep before retry `attempt`, with jitter (half to all of the delay). false: stopping. */
static bool target_backoff(struct notify_target *t, uint32_t attempt)
{
	uint64_t d = notify_backoff_ms(attempt, t->backoff_min_ms, t->backoff_max_ms), end;
	struct timespec ts;
	bool stop;

	t->rng ^= t->rng << 13, t->rng ^= t->rng >> 7, t->rng ^= t->rng << 17;
	d = d / 2 + t->rng % (d - d / 2 + 1);
	end = notify_mono_ns() + d * 1000000ull;
	ts.tv_sec = (time_t)(end / 1000000000ull);
	ts.tv_nsec = (long)(end % 1000000000ull);
	pthread_mutex_lock(&t->lock);
	while (!t->stop && notify_mono_ns() < end)
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
			break;
	stop = t->stop;
	pthread_mutex_unlock(&t->lock);
	return !stop;
}

static struct curl_slist *target_headers(struct notify_target *t)
{
	struct curl_slist *h = NULL, *n;
	char line[HEADER_MAX], hex[NOTIFY_SIG_HEX_LEN + 1];
	const char *name = notify_type_name(t->cur.type);

	/* Expect: off — no 100-continue round trip for our small bodies. */
	const char *fixed[] = {"Content-Type: application/json", "Expect:"};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if ((n = curl_slist_append(h, fixed[i])))
			h = n;
	if (t->format == NOTIFY_FORMAT_NATIVE && name) {
		snprintf(line, sizeof(line), "X-Wgmon-Event: %s", name);
		if ((n = curl_slist_append(h, line)))
			h = n;
	}
	if (t->secret_len &&
	    notify_sign(t->secret, t->secret_len, t->cur.body, t->cur.len, hex) == 0) {
		snprintf(line, sizeof(line), "X-Wgmon-Signature: sha256=%s", hex);
		if ((n = curl_slist_append(h, line)))
			h = n;
	}
	return h;
}

static enum attempt_outcome target_classify(CURLcode res, long status)
{
	if (res == CURLE_OK) {
		if (status >= 200 && status < 300)
			return OUTCOME_SENT;
		if (status >= 400 && status < 500)
			return OUTCOME_REJECT;
		return status >= 500 ? OUTCOME_RETRY : OUTCOME_FAIL;
	}
	switch (res) {
	case CURLE_ABORTED_BY_CALLBACK: return OUTCOME_STOPPED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_OUT_OF_MEMORY: return OUTCOME_FAIL;
	default: return OUTCOME_RETRY; /* resolve, connect, TLS, send, receive, timeout */
	}
}

static enum attempt_outcome target_attempt(struct notify_target *t, long *status, CURLcode *res)
{
	struct curl_slist *h = target_headers(t);

	*status = 0;
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE, (long)t->cur.len);
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, t->cur.body);
	*res = curl_easy_perform(t->curl);
	if (*res == CURLE_OK)
		curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return target_classify(*res, *status);
}

static void target_failed(struct notify_target *t, bool rejected)
{
	notify_stat_add(&t->st->failed, 1);
	if (rejected)
		notify_stat_add(&t->st->rejected, 1);
	notify_stat_set(&t->st->last_failed_at, notify_real_ns());
}

static void target_why(char *buf, size_t cap, CURLcode res, long status)
{
	if (res == CURLE_OK)
		snprintf(buf, cap, "HTTP %ld", status);
	else
		snprintf(buf, cap, "%s", curl_easy_strerror(res));
}

/* Deliver t->cur: POST, and retry while it makes sense. */
static void target_deliver(struct notify_target *t)
{
	enum attempt_outcome o;
	char why[128];
	CURLcode res;
	long status;

	for (uint32_t attempt = 0;; attempt++) {
		if (attempt)
			notify_stat_add(&t->st->retried, 1);
		o = target_attempt(t, &status, &res);
		notify_stat_set(&t->st->last_status, (uint64_t)status);
		if (o == OUTCOME_SENT) {
			notify_stat_add(&t->st->sent, 1);
			notify_stat_set(&t->st->last_sent_at, notify_real_ns());
			return;
		}
		target_why(why, sizeof(why), res, status);
		if (o == OUTCOME_RETRY && attempt < t->retries && target_backoff(t, attempt + 1)) {
			notify_log_rl(&t->rl_retry, NOTIFY_LOG_INFO, "%s: %s, retrying", t->st->url,
			              why);
			continue;
		}
		target_failed(t, o == OUTCOME_REJECT);
		notify_log_rl(&t->rl_fail, NOTIFY_LOG_WARN, "%s: %s: notification %s after %u %s",
		              t->st->url, why,
		              o == OUTCOME_REJECT ? "refused, not retried" : "lost", attempt + 1,
		              attempt ? "attempts" : "attempt");
		return;
	}
}

static void *target_worker(void *arg)
{
	struct notify_target *t = arg;

	while (target_take(t)) {
		target_deliver(t);
		target_done(t);
	}
	if (t->abandoned)
		notify_log(NOTIFY_LOG_WARN, "%s: %llu notifications not sent before exit (dropped)",
		           t->st->url, (unsigned long long)t->abandoned);
	return NULL;
}

/* ---- Life cycle ------------------------------------------------------------------------------ */

static int target_curl_setup(struct notify_target *t)
{
	CURL *c = curl_easy_init();

	if (!c)
		return -ENOMEM;
	t->curl = c;
	if (curl_easy_setopt(c, CURLOPT_URL, t->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
		return -EINVAL;
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)t->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "wgmon-notify/" WGMON_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, target_discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, target_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
	return 0;
}

static int target_sync_init(struct notify_target *t)
{
	pthread_condattr_t ca;
	int ret;

	if ((ret = pthread_condattr_init(&ca)))
		return -ret;
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return -ret;
	if ((ret = pthread_mutex_init(&t->lock, NULL))) {
		pthread_cond_destroy(&t->cond);
		return -ret;
	}
	return 0;
}

static void target_fill(struct notify_target *t, const struct notify_target_opts *o)
{
	snprintf(t->url, sizeof(t->url), "%s", o->url);
	t->format = o->format;
	t->retries = o->retries;
	t->connect_timeout_ms = o->connect_timeout_ms;
	t->timeout_ms = o->timeout_ms;
	t->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : NOTIFY_BACKOFF_MIN_MS;
	t->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : t->backoff_min_ms;
	if (o->secret && *o->secret) {
		snprintf(t->secret, sizeof(t->secret), "%s", o->secret);
		t->secret_len = strlen(t->secret);
	}
	t->st = o->stats;
	t->cap = o->queue;
	t->rng = notify_mono_ns() ^ (uintptr_t)t ^ 0x9e3779b97f4a7c15ull;
	notify_url_redact(o->url, t->st->url, sizeof(t->st->url));
	t->st->format = (uint32_t)o->format;
	t->st->queue_cap = o->queue;
}

int notify_target_start(struct notify_target **out, const struct notify_target_opts *o)
{
	struct notify_target *t;
	int ret;

	if (!o->url || strlen(o->url) >= CONFIG_URL_LEN || !o->queue || !o->stats)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	target_fill(t, o);
	t->queue = calloc(t->cap, sizeof(*t->queue)); /* pages are touched only as it fills */
	if (!t->queue) {
		ret = -ENOMEM;
		goto free_t;
	}
	if ((ret = target_curl_setup(t)))
		goto free_curl;
	if ((ret = target_sync_init(t)))
		goto free_curl;
	if ((ret = -pthread_create(&t->thread, NULL, target_worker, t)))
		goto free_sync;
	pthread_setname_np(t->thread, "wgmon-notify-tx");
	*out = t;
	return 0;
free_sync:
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
free_curl:
	curl_easy_cleanup(t->curl);
	free(t->queue);
free_t:
	explicit_bzero(t->secret, sizeof(t->secret));
	free(t);
	return ret;
}

void notify_target_free(struct notify_target *t)
{
	if (!t)
		return;
	notify_target_stop(t, NOTIFY_STOP_GRACE_MS);
	pthread_join(t->thread, NULL);
	curl_easy_cleanup(t->curl);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	explicit_bzero(t->secret, sizeof(t->secret));
	free(t->queue);
	free(t);
}
