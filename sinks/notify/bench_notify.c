/* SPDX-License-Identifier: MIT */
/*
 * bench_notify.c — `wgmon-bench notify`: (1) the follower: ring events per second turned into
 * rendered native notes, from a private table written with the shm writer API (every event an
 * endpoint change: the worst case); (2) delivery: posts per second through one target to a
 * libmicrohttpd receiver on loopback, beside a bare libcurl loop posting the same bodies over
 * one kept-alive connection (the baseline). Median, min and max of --runs runs; --json.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "sinks/notify/notify_internal.h"

#define BENCH_RUNS_MAX      32
#define BENCH_PEERS_DEFAULT 10000
#define BENCH_EVENTS        200000
#define BENCH_POSTS_DEFAULT 2000
#define BENCH_RING          (1u << 18) /* > BENCH_EVENTS: nothing is lost */

int bench_notify_main(int argc, char **argv);

struct bench_opts {
	uint32_t runs, peers, posts;
	bool json;
};

struct bench_res {
	double follow_eps, notes, post_ps, curl_ps;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v; *med, *min, *max. */
static void stat_of(double *v, uint32_t n, double out[3])
{
	qsort(v, n, sizeof(*v), cmp_double);
	out[0] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	out[1] = v[0];
	out[2] = v[n - 1];
}

/* ---- (1) the follower ------------------------------------------------------------------------ */

struct render_sink {
	char body[NOTIFY_BODY_MAX];
	uint64_t notes, bytes;
};

static void render_emit(void *ctx, const struct notify_note *n)
{
	struct render_sink *s = ctx;

	s->bytes += notify_render_native(n, s->body, sizeof(s->body));
	s->notes++;
}

static int bench_table_fill(struct shm_writer *w, uint32_t peers)
{
	struct parse_event ev = {.kind = PARSE_EV_KEEPALIVE_RECEIVED,
	                         .iface_len = 3,
	                         .fields = PARSE_F_PEER | PARSE_F_ENDPOINT,
	                         .repeat = 1};
	uint64_t t = notify_real_ns();

	memcpy(ev.iface, "wg0", 4);
	ev.endpoint.af = PARSE_AF_INET;
	ev.endpoint.addr[0] = 198, ev.endpoint.addr[1] = 51;
	for (uint32_t i = 0; i < BENCH_EVENTS; i++) {
		ev.peer = i % peers;
		ev.endpoint.addr[2] = (uint8_t)(ev.peer >> 8);
		ev.endpoint.addr[3] = (uint8_t)ev.peer;
		ev.endpoint.port =
		        (uint16_t)(1024 + i / peers); /* a new port: a change each time */
		if (shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t + i) < 0)
			return -ENOSPC;
	}
	return 0;
}

/* Events per second through the follower; *notes: notes rendered. */
static int bench_follow(uint32_t peers, double *eps, uint64_t *notes)
{
	char name[64];
	struct shm_writer_opts wo = {.name = name,
	                             .capacity = peers,
	                             .event_ring = BENCH_RING,
	                             .gid = -1,
	                             .reset = true};
	static struct wgmon_config cfg;
	struct render_sink sink = {0};
	struct notify_follow_opts fo = {.cfg = &cfg,
	                                .emit = render_emit,
	                                .ctx = &sink,
	                                .scan_ns = 3600ull * 1000000000ull,
	                                .reorder_ns = NOTIFY_REORDER_NONE};
	struct shm_writer *w = NULL;
	struct shm_reader *r = NULL;
	struct notify_follow *f = NULL;
	uint64_t t0;
	int ret;

	snprintf(name, sizeof(name), "/wgmon-bench-notify-%d", (int)getpid());
	config_init(&cfg);
	if ((ret = shm_writer_open(&w, &wo)) < 0)
		return ret;
	if ((ret = shm_reader_attach(&r, name)) < 0 || (ret = notify_follow_open(&f, r, &fo)) < 0 ||
	    (ret = bench_table_fill(w, peers)) < 0)
		goto out;
	t0 = notify_mono_ns();
	while (notify_follow_pass(f) > 0)
		;
	notify_follow_flush(f);
	*eps = BENCH_EVENTS / ((double)(notify_mono_ns() - t0) / 1e9);
	*notes = sink.notes;
out:
	notify_follow_close(f);
	shm_reader_detach(r);
	shm_writer_close(w);
	(void)!shm_writer_unlink(name);
	return ret;
}

/* ---- (2) delivery ---------------------------------------------------------------------------- */

static enum MHD_Result bench_answer(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *upload,
                                    size_t *upload_size, void **con_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!*con_cls) {
		*con_cls = (void *)1; /* headers seen; the body comes next */
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 204, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Daemon *bench_receiver(char *url, size_t cap)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct MHD_Daemon *d;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	snprintf(url, cap, "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
	                     bench_answer, NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_END);
	if (!d)
		close(fd);
	return d;
}

static const char bench_body[] =
        "{\"type\":\"endpoint_changed\",\"host\":\"vpn-1\",\"iface\":\"wg0\",\"peer\":17,"
        "\"endpoint\":\"198.51.100.7:51820\",\"previous_endpoint\":\"198.51.100.6:51820\","
        "\"time\":1763771234.123456}";

static double bench_post_target(const char *url, uint32_t posts)
{
	struct notify_stats_target st = {0};
	struct notify_target_opts o = {.url = url,
	                               .queue = posts,
	                               .retries = 0,
	                               .connect_timeout_ms = 2000,
	                               .timeout_ms = 5000,
	                               .backoff_max_ms = 1000,
	                               .stats = &st};
	struct notify_target *t;
	uint64_t t0 = notify_mono_ns();

	if (notify_target_start(&t, &o) < 0)
		return 0;
	for (uint32_t i = 0; i < posts; i++)
		(void)!notify_target_post(t, NOTIFY_ENDPOINT_CHANGED, bench_body,
		                          sizeof(bench_body) - 1);
	while (__atomic_load_n(&st.sent, __ATOMIC_RELAXED) +
	               __atomic_load_n(&st.failed, __ATOMIC_RELAXED) <
	       posts)
		usleep(200); /* between two looks at the count */
	notify_target_free(t);
	return st.sent == posts ? posts / ((double)(notify_mono_ns() - t0) / 1e9) : 0;
}

static size_t bench_discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* The baseline: the same posts from a plain loop over one easy handle. */
static double bench_post_curl(const char *url, uint32_t posts)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	uint64_t t0 = notify_mono_ns();
	uint32_t ok = 0;
	long status;

	if (!c || !h)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, bench_body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(sizeof(bench_body) - 1));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_discard);
	for (uint32_t i = 0; i < posts; i++)
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
		    status == 204)
			ok++;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return ok == posts ? posts / ((double)(notify_mono_ns() - t0) / 1e9) : 0;
}

/* ---- driver ---------------------------------------------------------------------------------- */

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lo[] = {
	        {"runs", required_argument, NULL, 'r'},  {"peers", required_argument, NULL, 'p'},
	        {"posts", required_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct bench_opts){
	        .runs = 3, .peers = BENCH_PEERS_DEFAULT, .posts = BENCH_POSTS_DEFAULT};
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'r')
			o->runs = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 'p')
			o->peers = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 'n')
			o->posts = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 'j')
			o->json = true;
		else
			return 2;
	}
	if (!o->runs || o->runs > BENCH_RUNS_MAX || !o->peers || o->peers > BENCH_EVENTS ||
	    !o->posts || o->posts > 1000000)
		return 2;
	return 0;
}

static void bench_print(const struct bench_opts *o, double s[4][3], uint64_t notes)
{
	static const char *const what[4] = {"follow_events_per_s", "notes_per_s", "posts_per_s",
	                                    "baseline_curl_posts_per_s"};

	if (o->json) {
		printf("{\"runs\":%u,\"peers\":%u,\"events\":%u,\"notes\":%" PRIu64 ",\"posts\":%u",
		       o->runs, o->peers, BENCH_EVENTS, notes, o->posts);
		for (int i = 0; i < 4; i++)
			printf(",\"%s\":{\"median\":%.0f,\"min\":%.0f,\"max\":%.0f}", what[i],
			       s[i][0], s[i][1], s[i][2]);
		printf(",\"posts_vs_baseline\":%.3f}\n", s[3][0] > 0 ? s[2][0] / s[3][0] : 0);
		return;
	}
	printf("wgmon-notify, %u runs: %u ring events over %u peers (each a change), %u posts\n",
	       o->runs, BENCH_EVENTS, o->peers, o->posts);
	printf("  %-28s %14s %14s %14s\n", "", "median", "min", "max");
	for (int i = 0; i < 4; i++)
		printf("  %-28s %14.0f %14.0f %14.0f\n", what[i], s[i][0], s[i][1], s[i][2]);
	printf("  posts through a target vs the bare curl loop: %.2fx\n",
	       s[3][0] > 0 ? s[2][0] / s[3][0] : 0);
}

int bench_notify_main(int argc, char **argv)
{
	double v[4][BENCH_RUNS_MAX], s[4][3];
	struct bench_opts o;
	struct MHD_Daemon *d;
	uint64_t notes = 0;
	char url[64];
	int ret;

	if (bench_parse(argc, argv, &o)) {
		fprintf(stderr, "usage: notify [--runs N] [--peers N] [--posts N] [--json]\n");
		return 2;
	}
	notify_log_set_level(NOTIFY_LOG_ERROR);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(d = bench_receiver(url, 64))) {
		fprintf(stderr, "notify: cannot start libcurl or the loopback receiver\n");
		return 1;
	}
	for (uint32_t r = 0; r < o.runs; r++) {
		if ((ret = bench_follow(o.peers, &v[0][r], &notes)) < 0) {
			fprintf(stderr, "notify: private table: %s\n", strerror(-ret));
			MHD_stop_daemon(d);
			return 1;
		}
		v[1][r] = v[0][r] * (double)notes / BENCH_EVENTS;
		v[2][r] = bench_post_target(url, o.posts);
		v[3][r] = bench_post_curl(url, o.posts);
	}
	MHD_stop_daemon(d);
	curl_global_cleanup();
	for (int i = 0; i < 4; i++)
		stat_of(v[i], o.runs, s[i]);
	bench_print(&o, s, notes);
	return 0;
}
