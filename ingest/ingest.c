/* SPDX-License-Identifier: MIT */
/*
 * ingest.c — the ingest thread's loop, the housekeeping thread, and the life
 * cycle (start, stop, join). The ingest thread waits in ppoll() on its wake
 * eventfd, the UDP backend's fds and the sources, handles what is ready, then
 * wakes the workers whose lanes got records. It never waits for a worker.
 * Run to completion (no workers), it applies each datagram itself instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define DROP_SUMMARY_NS INGEST_LOG_INTERVAL_NS

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ingest_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t ingest_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void ingest_opts_init(struct ingest_opts *o)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->listen[0];
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->listen[1];

	memset(o, 0, sizeof(*o));
	v4->sin_family = AF_INET;
	v4->sin_port = htons(INGEST_PORT_DEFAULT);
	v6->sin6_family = AF_INET6;
	v6->sin6_port = htons(INGEST_PORT_DEFAULT);
	o->n_listen = 2;
	o->ring_size = INGEST_RING_SIZE_DEFAULT;
	o->rcvbuf = INGEST_RCVBUF_DEFAULT;
	o->workers = INGEST_WORKERS_AUTO;
}

int ingest_source_parse(const char *spec, struct ingest_source *out)
{
	memset(out, 0, sizeof(*out));
	if (!strcmp(spec, "udp"))
		out->kind = INGEST_SOURCE_UDP;
	else if (!strcmp(spec, "kmsg"))
		out->kind = INGEST_SOURCE_KMSG;
	else if (!strcmp(spec, "-") || !strcmp(spec, "stdin"))
		out->kind = INGEST_SOURCE_STDIN;
	else if (!strncmp(spec, "file:", 5) && spec[5] && strlen(spec + 5) < sizeof(out->path)) {
		out->kind = INGEST_SOURCE_FILE;
		memcpy(out->path, spec + 5, strlen(spec + 5) + 1);
	} else
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------- the data path */

struct ingest_record *ingest_reserve(struct ingest *in, uint32_t w, uint32_t cap)
{
	struct ingest_record *r = ingest_lane_reserve(&in->lanes[w], cap);

	if (!r && in->run_inline) {
		/* No worker to wait for: make the room ourselves. Safe here, as lane 0 has no
		 * other reservation open: a source reserves only when it holds none. */
		ingest_inline_drain(in);
		r = ingest_lane_reserve(&in->lanes[w], cap);
	}
	if (r)
		in->kick |= 1ull << w;
	return r;
}

void ingest_udp_datagram(struct ingest *in, const char *data, size_t len,
                         const struct sockaddr *from, bool truncated)
{
	static struct ingest_ratelimit rl_trunc, rl_deny, rl_full;
	struct shm_counters *c = in->cnt;
	struct ingest_record *r;
	char who[INET6_ADDRSTRLEN + 16];
	uint32_t w;

	shm_counter_add(&c->datagrams, 1);
	shm_counter_add(&c->bytes, len);
	if (truncated) {
		shm_counter_add(&c->dropped[SHM_DROP_TRUNCATED], 1);
		ingest_addr_format(from, who, sizeof(who));
		ingest_log_ratelimited(
		        &rl_trunc, INGEST_LOG_WARN,
		        "dropped a datagram from %s: longer than %u bytes (truncated)", who,
		        INGEST_DATAGRAM_MAX);
		return;
	}
	if (!ingest_allow_match(&in->allow, from)) {
		shm_counter_add(&c->dropped[SHM_DROP_NOT_ALLOWED], 1);
		ingest_addr_format(from, who, sizeof(who));
		ingest_log_ratelimited(&rl_deny, INGEST_LOG_WARN,
		                       "dropped a datagram from %s: not in the allow-list", who);
		return;
	}
	if (len == 0)
		return;
	if (in->run_inline) {
		ingest_lines_apply(in, SHM_BLOCK_WORKER(0), in->inline_cnt, data, len,
		                   ingest_now_ns());
		return;
	}
	w = ingest_pick_worker(data, len, from, in->nworkers);
	r = ingest_reserve(in, w, (uint32_t)len);
	if (!r) {
		shm_counter_add(&c->dropped[SHM_DROP_RING_FULL], 1);
		ingest_log_ratelimited(&rl_full, INGEST_LOG_WARN,
		                       "dropped a datagram: worker %u is behind (ring_full)", w);
		return;
	}
	memcpy(r->data, data, len);
	ingest_lane_commit(&in->lanes[w], r, (uint32_t)len, ingest_now_ns());
}

/* ------------------------------------------------------ the ingest thread */

static bool ingest_stopping(struct ingest *in)
{
	/* Pairs with the release in ingest_stop(). */
	return __atomic_load_n(&in->stop, __ATOMIC_ACQUIRE);
}

/* After a turn: the workers whose lanes got records are woken, one kick per lane per turn
 * (run to completion: the records of the sources are applied here). */
static void ingest_kick(struct ingest *in)
{
	if (in->run_inline) {
		ingest_inline_drain(in);
		in->kick = 0;
		return;
	}
	for (uint64_t m = in->kick; m; m &= m - 1)
		ingest_lane_kick(&in->lanes[__builtin_ctzll(m)]);
	in->kick = 0;
}

/* A new allow-list from the main thread (SIGHUP). */
static void ingest_allow_take(struct ingest *in)
{
	/* Pairs with the exchange in ingest_allow_reload(): the list's bytes are visible. */
	struct ingest_allow *a = __atomic_exchange_n(&in->allow_next, NULL, __ATOMIC_ACQUIRE);
	char text[256];

	if (!a)
		return;
	in->allow = *a;
	free(a);
	ingest_allow_format(&in->allow, text, sizeof(text));
	ingest_log(INGEST_LOG_INFO, "allow-list now: %s", text);
}

/* Every file/stdin source reached its end (and there was one). */
static bool ingest_finite_done(const struct ingest *in)
{
	bool any = false;

	for (uint32_t i = 0; i < in->n_src; i++) {
		if (in->src[i].kind == INGEST_SOURCE_KMSG)
			continue;
		if (in->src[i].fd >= 0)
			return false;
		any = true;
	}
	return any;
}

/* How long ppoll may sleep: NULL = until an fd is ready. */
static struct timespec *ingest_timeout(struct ingest *in, bool more, struct timespec *ts)
{
	uint64_t ns = more ? 0 : UINT64_MAX;

	for (uint32_t i = 0; i < in->n_src && ns; i++) {
		const struct ingest_src *s = &in->src[i];

		if (s->fd < 0)
			continue;
		if (s->paused && ns > INGEST_PAUSE_NS)
			ns = INGEST_PAUSE_NS;
		else if (s->throttled) {
			/* The next line is due when rate_lines / rate seconds have passed. */
			uint64_t due =
			        in->rate_start_ns + (uint64_t)((unsigned __int128)in->rate_lines *
			                                       1000000000u / in->o.rate);
			uint64_t now = ingest_mono_ns();

			ns = due <= now ? 0 : due - now < ns ? due - now : ns;
		} else if (s->regular && !s->paused)
			ns = 0; /* a regular file is always readable */
	}
	if (ns == UINT64_MAX)
		return NULL;
	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
	return ts;
}

/* Fill pfd: [0] wake fd, then the backend's, then one per pollable source. */
static uint32_t ingest_pollfds(struct ingest *in, struct pollfd *pfd, uint32_t *udp_n, int *src_at)
{
	uint32_t n = 0;

	pfd[n++] = (struct pollfd){.fd = in->wake_fd, .events = POLLIN};
	*udp_n = in->udp ? in->udp->pollfds(in, pfd + n) : 0;
	n += *udp_n;
	for (uint32_t i = 0; i < in->n_src; i++) {
		const struct ingest_src *s = &in->src[i];

		src_at[i] = -1;
		if (s->fd < 0 || s->regular || s->paused || s->throttled)
			continue;
		src_at[i] = (int)n;
		pfd[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	}
	return n;
}

/* One turn: wait, then serve whatever is ready. false: stop. */
static bool ingest_turn(struct ingest *in, bool *more)
{
	struct pollfd pfd[INGEST_POLLFDS];
	int src_at[INGEST_SOURCE_MAX];
	struct timespec ts;
	uint32_t udp_n, n = ingest_pollfds(in, pfd, &udp_n, src_at);
	uint64_t v;

	if (ppoll(pfd, n, ingest_timeout(in, *more, &ts), NULL) < 0 && errno != EINTR)
		return false;
	if (pfd[0].revents & POLLIN) {
		if (read(in->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return false;
		ingest_allow_take(in);
	}
	if (ingest_stopping(in))
		return false;
	*more = in->udp && in->udp->process(in, pfd + 1);
	for (uint32_t i = 0; i < in->n_src; i++)
		*more |=
		        ingest_src_process(in, &in->src[i], src_at[i] < 0 ? NULL : &pfd[src_at[i]]);
	ingest_kick(in);
	return true;
}

static void ingest_report(struct ingest *in, int result)
{
	pthread_mutex_lock(&in->hk_lock);
	in->start_result = result;
	in->start_done = true;
	pthread_cond_broadcast(&in->hk_cond);
	pthread_mutex_unlock(&in->hk_lock);
}

static int ingest_udp_open(struct ingest *in)
{
	int r;

	if (!in->n_udp)
		return 0;
	if (in->o.backend != INGEST_BACKEND_RECVMMSG) {
		r = ingest_udp_uring.open(in);
		if (r == 0) {
			in->udp = &ingest_udp_uring;
			return 0;
		}
		if (in->o.backend == INGEST_BACKEND_URING) {
			ingest_log(INGEST_LOG_ERROR, "io_uring is not usable here: %s",
			           strerror(-r));
			return r;
		}
		ingest_log(INGEST_LOG_WARN, "io_uring is not usable here (%s): using recvmmsg",
		           strerror(-r));
	}
	r = ingest_udp_mmsg.open(in);
	if (r == 0)
		in->udp = &ingest_udp_mmsg;
	return r;
}

static void *ingest_main(void *arg)
{
	struct ingest *in = arg;
	bool more = false, eof_end = false;
	int r;

	pthread_setname_np(pthread_self(), "wgmond-ingest");
	/* The backend is set up here: io_uring completions run in the submitting thread. */
	r = ingest_udp_open(in);
	ingest_report(in, r);
	if (r < 0)
		goto out;
	in->rate_start_ns = ingest_mono_ns();
	while (ingest_turn(in, &more)) {
		if (in->o.exit_on_eof && ingest_finite_done(in)) {
			eof_end = true;
			break;
		}
	}
	if (in->udp)
		in->udp->close(in);
out:
	if (in->run_inline)
		ingest_inline_drain(in); /* what the last turn left (--exit-on-eof) */
	for (uint32_t i = 0; i < in->nworkers; i++)
		ingest_lane_close(&in->lanes[i]);
	if (r == 0 && !ingest_stopping(in)) {
		/* Ended on its own: tell the main thread (ingest_done_fd). */
		uint64_t one = 1;

		if (eof_end) {
			ingest_log(INGEST_LOG_INFO, "every input ended: draining the workers");
		} else {
			in->end_error = -errno; /* read by ingest_join(), after pthread_join */
			ingest_log(INGEST_LOG_ERROR, "ingest loop failed: %s", strerror(errno));
		}
		if (write(in->done_fd, &one, sizeof(one)) < 0)
			ingest_log(INGEST_LOG_ERROR, "done eventfd: %s", strerror(errno));
	}
	return NULL;
}

/* ------------------------------------------------------- housekeeping */

/* Every DROP_SUMMARY_NS: one line with the drops since the previous summary. */
static void hk_drop_summary(struct ingest *in, uint64_t *last)
{
	uint64_t now[SHM_DROP__COUNT] = {0};
	char text[512];
	size_t len = 0;

	for (uint32_t b = 0; b < SHM_COUNTER_BLOCKS; b++) {
		const struct shm_counters *c = shm_writer_counters(in->w, b);

		for (unsigned d = 0; c && d < SHM_DROP__COUNT; d++)
			now[d] += __atomic_load_n(&c->dropped[d], __ATOMIC_RELAXED);
	}
	for (unsigned d = 0; d < SHM_DROP__COUNT && len < sizeof(text) - 64; d++) {
		if (now[d] != last[d])
			len += (size_t)snprintf(text + len, sizeof(text) - len, " %s %llu",
			                        shm_drop_name(d),
			                        (unsigned long long)(now[d] - last[d]));
		last[d] = now[d];
	}
	if (len)
		ingest_log(INGEST_LOG_WARN, "dropped in the last %llu s:%s",
		           (unsigned long long)(DROP_SUMMARY_NS / 1000000000ull), text);
}

static void *hk_main(void *arg)
{
	struct ingest *in = arg;
	uint64_t last[SHM_DROP__COUNT] = {0};
	uint64_t next_summary = ingest_mono_ns() + DROP_SUMMARY_NS;
	struct timespec ts;

	pthread_setname_np(pthread_self(), "wgmond-hk");
	hk_drop_summary(in, last); /* the baseline: drops of a previous run are not news */
	pthread_mutex_lock(&in->hk_lock);
	while (!in->hk_stop) {
		uint64_t mono = ingest_mono_ns(), wake = mono + INGEST_HEARTBEAT_NS;

		shm_writer_heartbeat(in->w, ingest_now_ns());
		if (mono >= next_summary) {
			hk_drop_summary(in, last);
			next_summary = mono + DROP_SUMMARY_NS;
		}
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		pthread_cond_timedwait(&in->hk_cond, &in->hk_lock, &ts);
	}
	pthread_mutex_unlock(&in->hk_lock);
	shm_writer_heartbeat(in->w, ingest_now_ns());
	return NULL;
}

/* ------------------------------------------------------- life cycle */

static int ingest_sync_init(struct ingest *in)
{
	pthread_condattr_t ca;
	int r;

	in->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	in->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (in->wake_fd < 0 || in->done_fd < 0)
		return -errno;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&in->hk_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r)
		return -r;
	r = pthread_mutex_init(&in->hk_lock, NULL);
	if (r) {
		pthread_cond_destroy(&in->hk_cond);
		return -r;
	}
	in->sync_ready = true;
	return 0;
}

/* The CPUs this process may run on, minus the ingest thread's: 0 (run to completion) when
 * it may use one CPU only (taskset, a cpuset, a container limited to one core). */
static uint32_t ingest_default_workers(void)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 1)
		return 0;
	return (uint32_t)(n - 1 < INGEST_WORKERS_MAX ? n - 1 : INGEST_WORKERS_MAX);
}

static int ingest_check_opts(const struct ingest_opts *o, uint32_t workers)
{
	if (workers > INGEST_WORKERS_MAX) {
		ingest_log(INGEST_LOG_ERROR, "workers: %u is not within 0-%u", workers,
		           INGEST_WORKERS_MAX);
		return -EINVAL;
	}
	if (o->ring_size < 2 || o->ring_size > INGEST_RING_SIZE_MAX ||
	    (o->ring_size & (o->ring_size - 1))) {
		ingest_log(INGEST_LOG_ERROR, "ring size: %u is not a power of two within 2-%u",
		           o->ring_size, INGEST_RING_SIZE_MAX);
		return -EINVAL;
	}
	if (o->n_listen > INGEST_LISTEN_MAX || o->n_sources > INGEST_SOURCE_MAX)
		return -EINVAL;
	return 0;
}

static int ingest_lanes_init(struct ingest *in)
{
	in->lanes = aligned_alloc(INGEST_CACHELINE, sizeof(*in->lanes) * in->nworkers);
	in->workers = calloc(in->nworkers, sizeof(*in->workers));
	if (!in->lanes || !in->workers)
		return -ENOMEM;
	for (uint32_t i = 0; i < in->nworkers; i++) {
		int r = ingest_lane_init(&in->lanes[i], in->o.ring_size);

		if (r < 0)
			return r;
		in->lanes_ready = i + 1;
	}
	return 0;
}

/* Open every source; UDP sources mean "bind the listen addresses". */
static int ingest_sources_open(struct ingest *in)
{
	bool udp = in->o.n_sources == 0;
	char text[256];

	for (uint32_t i = 0; i < in->o.n_sources; i++) {
		int r;

		if (in->o.sources[i].kind == INGEST_SOURCE_UDP) {
			udp = true;
			continue;
		}
		r = ingest_src_open(&in->src[in->n_src], &in->o.sources[i]);
		if (r < 0)
			return r;
		in->n_src++;
	}
	if (!udp)
		return 0;
	if (in->allow.n == 0)
		ingest_log(INGEST_LOG_WARN, "no allow-list: accepting datagrams from every sender "
		                            "(use --allow CIDR)");
	else if (ingest_allow_format(&in->allow, text, sizeof(text)))
		ingest_log(INGEST_LOG_INFO, "allow-list: %s", text);
	return ingest_udp_bind(in);
}

static int ingest_threads_start(struct ingest *in)
{
	int r;

	for (uint32_t i = 0; i < in->nworkers && !in->run_inline; i++) {
		struct ingest_worker *wk = &in->workers[i];

		wk->in = in;
		wk->lane = &in->lanes[i];
		wk->block = SHM_BLOCK_WORKER(i);
		wk->cnt = shm_writer_counters(in->w, wk->block);
		r = pthread_create(&wk->tid, NULL, ingest_worker_main, wk);
		if (r)
			return -r;
		in->workers_started = i + 1;
	}
	r = pthread_create(&in->hk_tid, NULL, hk_main, in);
	if (r)
		return -r;
	in->started |= 2;
	r = pthread_create(&in->ingest_tid, NULL, ingest_main, in);
	if (r)
		return -r;
	in->started |= 1;
	pthread_mutex_lock(&in->hk_lock);
	while (!in->start_done)
		pthread_cond_wait(&in->hk_cond, &in->hk_lock);
	pthread_mutex_unlock(&in->hk_lock);
	return in->start_result;
}

int ingest_start(struct ingest **out, const struct ingest_opts *o, struct shm_writer *w)
{
	struct ingest *in = calloc(1, sizeof(*in));
	int r;

	if (!in)
		return -ENOMEM;
	in->o = *o;
	in->w = w;
	in->allow = o->allow;
	in->wake_fd = in->done_fd = -1;
	in->nworkers = o->workers == INGEST_WORKERS_AUTO ? ingest_default_workers() : o->workers;
	in->cnt = shm_writer_counters(w, SHM_BLOCK_INGEST);
	r = ingest_check_opts(o, in->nworkers);
	if (in->nworkers == 0) {
		in->run_inline = true;
		in->nworkers = 1; /* lane 0, for the file/stdin/kmsg sources */
		in->inline_cnt = shm_writer_counters(w, SHM_BLOCK_WORKER(0));
	}
	if (r == 0 && (!in->cnt || (in->run_inline && !in->inline_cnt)))
		r = -EINVAL;
	if (r == 0)
		r = ingest_sync_init(in);
	if (r == 0)
		r = ingest_lanes_init(in);
	if (r == 0)
		r = ingest_sources_open(in);
	if (r == 0)
		r = ingest_threads_start(in);
	if (r < 0) {
		ingest_stop(in);
		(void)ingest_join(in);
		ingest_free(in);
		return r;
	}
	if (in->run_inline)
		ingest_log(INGEST_LOG_INFO, "0 workers (run to completion), udp via %s",
		           ingest_backend_name(in));
	else
		ingest_log(INGEST_LOG_INFO, "%u workers, lanes of %u entries, udp via %s",
		           in->nworkers, in->o.ring_size, ingest_backend_name(in));
	*out = in;
	return 0;
}

int ingest_done_fd(const struct ingest *in)
{
	return in->done_fd;
}

void ingest_stop(struct ingest *in)
{
	uint64_t one = 1;

	/* Publishes the request; pairs with the acquire in ingest_stopping(). */
	__atomic_store_n(&in->stop, 1, __ATOMIC_RELEASE);
	if (in->wake_fd >= 0 && write(in->wake_fd, &one, sizeof(one)) < 0)
		ingest_log(INGEST_LOG_ERROR, "wake eventfd: %s", strerror(errno));
}

int ingest_join(struct ingest *in)
{
	if (in->started & 1)
		pthread_join(in->ingest_tid, NULL);
	else /* the ingest thread never ran: close the lanes for it */
		for (uint32_t i = 0; i < in->lanes_ready; i++)
			ingest_lane_close(&in->lanes[i]);
	for (uint32_t i = 0; i < in->workers_started; i++)
		pthread_join(in->workers[i].tid, NULL);
	if (in->started & 2) {
		pthread_mutex_lock(&in->hk_lock);
		in->hk_stop = true;
		pthread_cond_broadcast(&in->hk_cond);
		pthread_mutex_unlock(&in->hk_lock);
		pthread_join(in->hk_tid, NULL);
	}
	in->started = 0;
	in->workers_started = 0;
	return in->end_error;
}

int ingest_allow_reload(struct ingest *in, const struct ingest_allow *a)
{
	struct ingest_allow *copy = malloc(sizeof(*copy)), *old;
	uint64_t one = 1;

	if (!copy)
		return -ENOMEM;
	*copy = *a;
	/* Publishes the copy's bytes; pairs with the acquire exchange in ingest_allow_take(). */
	old = __atomic_exchange_n(&in->allow_next, copy, __ATOMIC_RELEASE);
	free(old); /* a list the ingest thread never took */
	if (write(in->wake_fd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

const char *ingest_backend_name(const struct ingest *in)
{
	return in->udp ? in->udp->name : "none";
}

void ingest_free(struct ingest *in)
{
	if (!in)
		return;
	for (uint32_t i = 0; i < in->n_src; i++)
		ingest_src_close(&in->src[i]);
	ingest_udp_unbind(in);
	for (uint32_t i = 0; i < in->lanes_ready; i++)
		ingest_lane_destroy(&in->lanes[i]);
	free(in->lanes);
	free(in->workers);
	free(in->allow_next);
	if (in->sync_ready) {
		pthread_cond_destroy(&in->hk_cond);
		pthread_mutex_destroy(&in->hk_lock);
	}
	if (in->wake_fd >= 0)
		close(in->wake_fd);
	if (in->done_fd >= 0)
		close(in->done_fd);
	free(in);
}
