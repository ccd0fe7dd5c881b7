/* SPDX-License-Identifier: MIT */
/*
 * test_notify_tsan.c — the threads of wgmon-notify under ThreadSanitizer. A plain program
 * (Criterion cannot start under TSan, Criterion issue #274): the producer posting while each
 * target's worker delivers, retries, hangs, drops and stops, and a reader copying the stats
 * object meanwhile. Exit 0 when every check holds; run it in a -DWGMON_SANITIZE=thread build
 * (label "tsan"), where any race report fails it.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>

#include "sinks/notify/notify_internal.h"

#include "test_notify_recv.c"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static bool wait_eq(const uint64_t *p, uint64_t want, double seconds)
{
	uint64_t end = recv_now_ns() + (uint64_t)(seconds * recv_slow() * 1e9);
	struct timespec ts = {0, 2000000};

	while (load(p) != want) {
		if (recv_now_ns() > end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

static struct notify_target *start(const char *url, struct notify_stats_target *st, uint32_t queue,
                                   uint32_t timeout_ms)
{
	struct notify_target_opts o = {.url = url,
	                               .queue = queue,
	                               .retries = 3,
	                               .connect_timeout_ms = 2000,
	                               .timeout_ms = timeout_ms,
	                               .backoff_min_ms = 10,
	                               .backoff_max_ms = 50,
	                               .secret = "k",
	                               .stats = st};
	struct notify_target *t = NULL;

	CHECK(notify_target_start(&t, &o) == 0, "start %s", url);
	return t;
}

static void post(struct notify_target *t, int i)
{
	char body[32];
	int n = snprintf(body, sizeof(body), "{\"n\":%d}", i);

	CHECK(notify_target_post(t, NOTIFY_PEER_CREATED, body, (size_t)n) == 0, "post %d", i);
}

/* A reader copying the stats object while everything runs. */
struct reader_arg {
	const char *shm;
	int stop;
	uint64_t copies;
};

static void *stats_reader(void *arg)
{
	struct reader_arg *a = arg;
	static struct notify_stats copy;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
		if (notify_stats_read(a->shm, &copy) == 0)
			a->copies++;
	return NULL;
}

static void retry_reject_hang_overflow(struct notify_stats *s, struct reader_arg *ra,
                                       pthread_t *reader)
{
	static const int script[] = {500, 503};
	struct recv r5, r4, rh, rok;
	struct notify_target *t5, *t4, *th, *tok;

	CHECK(recv_start(&r5, 200, script, 2, false) && recv_start(&r4, 404, NULL, 0, false) &&
	              recv_start(&rh, 200, NULL, 0, true) && recv_start(&rok, 200, NULL, 0, false),
	      "receivers");
	t5 = start(r5.url, &s->target[0], 8, 5000);
	t4 = start(r4.url, &s->target[1], 8, 5000);
	th = start(rh.url, &s->target[2], 4, 60000);
	tok = start(rok.url, &s->target[3], 64, 5000);
	s->n_targets = 4;
	notify_stats_publish(s); /* as wgmon-notify does: after the targets filled their blocks */
	pthread_create(reader, NULL, stats_reader, ra);
	post(t5, 0);
	post(t4, 0);
	post(th, 0);
	CHECK(recv_wait(&rh, 1, 10), "hanging receiver holds one");
	for (int i = 0; i < 500; i++) {
		post(tok, i);
		if (i < 9)
			post(th, i + 1);
	}
	CHECK(wait_eq(&s->target[0].sent, 1, 10), "5xx twice then accepted");
	CHECK(load(&s->target[0].retried) == 2, "retried %" PRIu64, load(&s->target[0].retried));
	CHECK(wait_eq(&s->target[1].rejected, 1, 10), "404 refused");
	CHECK(load(&s->target[2].dropped) == 5, "overflow %" PRIu64, load(&s->target[2].dropped));
	CHECK(wait_eq(&s->target[3].queue_depth, 0, 20), "healthy one drained");
	CHECK(load(&s->target[3].sent) + load(&s->target[3].dropped) == 500, "all accounted for");
	CHECK(recv_count(&rh) == 1, "the hanging one still holds its first");
	notify_target_stop(th, 100);
	notify_target_free(th);
	notify_target_free(t5);
	notify_target_free(t4);
	notify_target_free(tok);
	CHECK(recv_count(&r4) == 1, "404 not retried");
	CHECK(recv_count(&rok) > 0 && recv_sig_ok(&rok.req[0], "k"), "signed");
	for (int i = 1; i < recv_count(&rok); i++)
		CHECK(atoi(rok.req[i].body + 5) > atoi(rok.req[i - 1].body + 5), "FIFO");
	recv_stop(&r5);
	recv_stop(&r4);
	recv_stop(&rh);
	recv_stop(&rok);
}

int main(void)
{
	char shm[64], name[NOTIFY_STATS_NAME_MAX];
	struct reader_arg ra = {.shm = shm};
	struct notify_stats *s;
	pthread_t reader;
	int fd;

	snprintf(shm, sizeof(shm), "/wgmon-test-notify-tsan-%d", (int)getpid());
	if (notify_stats_name(shm, name, sizeof(name)) < 0 ||
	    notify_stats_create(name, &s, &fd) < 0 || curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	notify_log_set_level(NOTIFY_LOG_ERROR);
	retry_reject_hang_overflow(s, &ra, &reader);
	__atomic_store_n(&ra.stop, 1, __ATOMIC_RELEASE); /* pairs with the reader's acquire */
	pthread_join(reader, NULL);
	CHECK(ra.copies > 0, "the reader read the stats object");
	curl_global_cleanup();
	notify_stats_destroy(name, s, fd);
	printf("%s: %d failures, %" PRIu64 " stats copies\n", failures ? "FAIL" : "ok", failures,
	       ra.copies);
	return failures ? 1 : 0;
}
