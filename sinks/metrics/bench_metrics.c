/* SPDX-License-Identifier: MIT */
/*
 * bench_metrics.c — `wgmon-bench metrics`: how long rendering /metrics takes and how big it is
 * (plain and gzip) at 10 k, 100 k and 1 M peers. Each table is built directly with the shm
 * writer API under a private name (handshakes, handshakes received, keepalives, a mix of IPv4
 * and IPv6 endpoints over several hosts and interfaces), rendered --runs times, and removed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sinks/metrics/metrics_internal.h"

#define BENCH_SIZES_MAX    8
#define BENCH_RUNS_DEF     5
#define BENCH_RUNS_MIN     3
#define BENCH_RUNS_LIMIT   100
#define BENCH_HOSTS        4
#define BENCH_IFACES       8 /* per host */
#define BENCH_TARGET_PEERS 100000
#define BENCH_TARGET_MS    100.0

struct bench_args {
	uint64_t peers[BENCH_SIZES_MAX];
	unsigned n_sizes, runs;
	int gzip_level;
	bool json, compat, peer_events;
};

struct bench_stat {
	double median, min, max;
};

struct bench_result {
	uint64_t peers, bytes, gzip_bytes, samples;
	double build_s;
	struct bench_stat render_ms, gzip_ms;
};

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct bench_stat bench_stat_of(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_cmp);
	return (struct bench_stat){
	        .median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
	        .min = v[0],
	        .max = v[n - 1],
	};
}

/* One peer's events: a handshake received, the handshake completed, a keepalive. */
static int bench_peer(struct shm_writer *w, uint64_t i, uint64_t now)
{
	static const unsigned kinds[] = {PARSE_EV_HANDSHAKE_INITIATION_RECEIVED,
	                                 PARSE_EV_KEYPAIR_CREATED, PARSE_EV_KEEPALIVE_RECEIVED};
	char host[32];
	struct parse_event ev;
	uint64_t t = now - (i % 600) * 1000000000ull; /* handshakes spread over 10 minutes */
	int ret = 0;

	memset(&ev, 0, sizeof(ev));
	ev.host_len = (uint8_t)snprintf(host, sizeof(host), "vpn%u.example.net",
	                                (unsigned)(i % BENCH_HOSTS));
	ev.host = host;
	ev.iface_len = (uint8_t)snprintf(ev.iface, sizeof(ev.iface), "wg%u",
	                                 (unsigned)(i / BENCH_HOSTS % BENCH_IFACES));
	ev.peer = i + 1;
	ev.repeat = 1;
	if (i % 8 == 0) {
		ev.endpoint.af = PARSE_AF_INET6;
		ev.endpoint.addr[0] = 0x20, ev.endpoint.addr[1] = 0x01, ev.endpoint.addr[3] = 0xb8;
		memcpy(ev.endpoint.addr + 8, &i, sizeof(i));
	} else {
		ev.endpoint.af = PARSE_AF_INET;
		ev.endpoint.addr[0] = 10;
		memcpy(ev.endpoint.addr + 1, &i, 3);
	}
	ev.endpoint.port = (uint16_t)(1024 + i % 60000);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && !ret; k++) {
		ev.kind = (uint8_t)kinds[k];
		ev.fields = kinds[k] == PARSE_EV_KEYPAIR_CREATED ? PARSE_F_PEER | PARSE_F_KEYPAIR
		                                                 : PARSE_F_PEER | PARSE_F_ENDPOINT;
		ret = shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t + k * 1000);
	}
	return ret;
}

static int bench_build(const char *name, uint64_t peers, struct shm_writer **w)
{
	struct shm_writer_opts o = {.name = name,
	                            .capacity = peers,
	                            .event_ring = SHM_EVENT_RING_MIN,
	                            .gid = -1,
	                            .reset = true};
	uint64_t now = metrics_now_real();
	int ret = shm_writer_open(w, &o);

	if (ret < 0) {
		fprintf(stderr, "wgmon-bench metrics: %s\n", shm_writer_error());
		return ret;
	}
	for (uint64_t i = 0; i < peers && !ret; i++)
		ret = bench_peer(*w, i, now);
	shm_writer_heartbeat(*w, now);
	return ret;
}

/* Render (and compress) args->runs times after one warm-up. */
static int bench_runs(const struct bench_args *a, const struct shm_reader *r,
                      struct bench_result *res)
{
	struct metrics_opts o = {
	        .compat = a->compat, .peer_events = a->peer_events, .max_peer_series = 1u << 30};
	double render[BENCH_RUNS_LIMIT], gz[BENCH_RUNS_LIMIT];
	struct metrics_renderer *rd;
	struct metrics_body body = {0};
	struct metrics_buf out = {0};
	struct metrics_figures fig;
	int ret = metrics_renderer_new(&rd, &o);

	for (unsigned i = 0; !ret && i <= a->runs; i++) {
		uint64_t t0 = metrics_now_mono(), t1, t2;

		ret = metrics_render(rd, r, metrics_now_real(), NULL, &body, &fig);
		t1 = metrics_now_mono();
		if (!ret && a->gzip_level)
			ret = metrics_gzip(&body, a->gzip_level, &out);
		t2 = metrics_now_mono();
		if (i == 0)
			continue; /* warm-up: first-touch page faults of the buffers */
		render[i - 1] = (double)(t1 - t0) / 1e6;
		gz[i - 1] = (double)(t2 - t1) / 1e6;
	}
	if (!ret) {
		res->render_ms = bench_stat_of(render, a->runs);
		res->gzip_ms = bench_stat_of(gz, a->runs);
		res->bytes = fig.bytes;
		res->gzip_bytes = out.len;
		res->samples = fig.samples;
		if (fig.peers != res->peers)
			ret = -EPROTO; /* the render missed peers: the figures would lie */
	}
	free(out.p);
	metrics_body_free(&body);
	metrics_renderer_free(rd);
	return ret;
}

static int bench_one(const struct bench_args *a, uint64_t peers, struct bench_result *res)
{
	char name[64];
	struct shm_writer *w = NULL;
	struct shm_reader *r = NULL;
	uint64_t t0 = metrics_now_mono();
	int ret;

	snprintf(name, sizeof(name), "/wgmon-bench-metrics-%d-%llu", (int)getpid(),
	         (unsigned long long)peers);
	memset(res, 0, sizeof(*res));
	res->peers = peers;
	ret = bench_build(name, peers, &w);
	res->build_s = (double)(metrics_now_mono() - t0) / 1e9;
	if (!ret)
		ret = shm_reader_attach(&r, name);
	if (!ret)
		ret = bench_runs(a, r, res);
	shm_reader_detach(r);
	shm_writer_close(w);
	if (shm_writer_unlink(name) < 0)
		fprintf(stderr, "wgmon-bench metrics: cannot remove %s\n", name);
	return ret;
}

static void bench_print(const struct bench_args *a, const struct bench_result *r)
{
	double mbs = r->render_ms.median > 0 ? r->bytes / 1e3 / r->render_ms.median : 0;

	if (a->json) {
		printf("{\"bench\":\"metrics\",\"peers\":%llu,\"runs\":%u,\"samples\":%llu,"
		       "\"render_ms\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"bytes\":%llu,"
		       "\"gzip_level\":%d,\"gzip_ms\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
		       "\"gzip_bytes\":%llu,\"build_s\":%.3f}\n",
		       (unsigned long long)r->peers, a->runs, (unsigned long long)r->samples,
		       r->render_ms.median, r->render_ms.min, r->render_ms.max,
		       (unsigned long long)r->bytes, a->gzip_level, r->gzip_ms.median,
		       r->gzip_ms.min, r->gzip_ms.max, (unsigned long long)r->gzip_bytes,
		       r->build_s);
		return;
	}
	printf("%9llu %10llu %9.2f %9.2f %9.2f %12llu %7.0f %9.2f %11llu %6.1fx\n",
	       (unsigned long long)r->peers, (unsigned long long)r->samples, r->render_ms.median,
	       r->render_ms.min, r->render_ms.max, (unsigned long long)r->bytes, mbs,
	       r->gzip_ms.median, (unsigned long long)r->gzip_bytes,
	       r->gzip_bytes ? (double)r->bytes / (double)r->gzip_bytes : 0.0);
}

static void bench_usage(FILE *out)
{
	fprintf(out,
	        "Usage: wgmon-bench metrics [--peers N,N,...] [--runs N] [--gzip-level N]\n"
	        "                           [--compat] [--peer-events] [--json]\n"
	        "Render time and size of /metrics at each table size (default "
	        "10000,100000,1000000),\nmedian of --runs (default %d, at least %d).\n",
	        BENCH_RUNS_DEF, BENCH_RUNS_MIN);
}

static int bench_sizes(const char *s, struct bench_args *a)
{
	char *end;

	a->n_sizes = 0;
	while (*s && a->n_sizes < BENCH_SIZES_MAX) {
		unsigned long long v = strtoull(s, &end, 10);

		if (end == s || v == 0 || v > SHM_PEER_CAPACITY_MAX)
			return -EINVAL;
		a->peers[a->n_sizes++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return a->n_sizes ? 0 : -EINVAL;
}

static int bench_args_parse(int argc, char **argv, struct bench_args *a)
{
	static const struct option lo[] = {{"peers", required_argument, NULL, 'p'},
	                                   {"runs", required_argument, NULL, 'r'},
	                                   {"gzip-level", required_argument, NULL, 'z'},
	                                   {"json", no_argument, NULL, 'j'},
	                                   {"compat", no_argument, NULL, 'c'},
	                                   {"peer-events", no_argument, NULL, 'e'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	int c;

	*a = (struct bench_args){.peers = {10000, 100000, 1000000},
	                         .n_sizes = 3,
	                         .runs = BENCH_RUNS_DEF,
	                         .gzip_level = METRICS_GZIP_LEVEL_DEFAULT};
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (bench_sizes(optarg, a) < 0)
				return -1;
			break;
		case 'r': a->runs = (unsigned)atoi(optarg); break;
		case 'z': a->gzip_level = atoi(optarg); break;
		case 'j': a->json = true; break;
		case 'c': a->compat = true; break;
		case 'e': a->peer_events = true; break;
		case 'h': bench_usage(stdout); return 1;
		default: return -1;
		}
	}
	if (a->runs < BENCH_RUNS_MIN || a->runs > BENCH_RUNS_LIMIT || a->gzip_level < 0 ||
	    a->gzip_level > 9 || optind < argc)
		return -1;
	return 0;
}

int bench_metrics_main(int argc, char **argv)
{
	struct bench_args a;
	struct bench_result r;
	int ret = bench_args_parse(argc, argv, &a);

	if (ret) {
		if (ret < 0)
			bench_usage(stderr);
		return ret < 0 ? 2 : 0;
	}
	if (!a.json)
		printf("metrics: render of /metrics, median of %u runs (gzip level %d)\n"
		       "%9s %10s %9s %9s %9s %12s %7s %9s %11s %7s\n",
		       a.runs, a.gzip_level, "peers", "samples", "render ms", "min", "max", "bytes",
		       "MB/s", "gzip ms", "gzip bytes", "ratio");
	for (unsigned i = 0; i < a.n_sizes; i++) {
		ret = bench_one(&a, a.peers[i], &r);
		if (ret < 0) {
			fprintf(stderr, "wgmon-bench metrics: %llu peers: %s\n",
			        (unsigned long long)a.peers[i], strerror(-ret));
			return 1;
		}
		bench_print(&a, &r);
		if (!a.json && r.peers == BENCH_TARGET_PEERS)
			printf("%9s target: %d peers in < %.0f ms: %s (%.2f ms)\n", "",
			       BENCH_TARGET_PEERS, BENCH_TARGET_MS,
			       r.render_ms.median < BENCH_TARGET_MS ? "met" : "MISSED",
			       r.render_ms.median);
	}
	return 0;
}
