/* SPDX-License-Identifier: MIT */
/*
 * bench_redis.c — `wgmon-bench redis`: peer updates per second wgmon-redis writes into a real
 * redis-server on loopback, with 10 k and 100 k changed peers per pass, beside the rate the
 * same server takes for a plain pipelined HSET loop of the same fields, measured in the same
 * run. The table is built directly with the shm writer API under a private name.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sinks/redis/redis_internal.h"
#include "tools/config.h"

#define BENCH_RUNS_DEFAULT 5
#define BENCH_RUNS_MIN     3
#define BENCH_RUNS_MAX     100
#define BENCH_SIZES_MAX    8
#define BENCH_HOSTS        16
#define BENCH_READY_NS     (10ull * 1000000000ull) /* redis-server must answer within 10 s */
#define BENCH_PREFIX       "wgmon-bench:"
#define BENCH_BASE_KEY     "wgmon-bench:base:"
#define BENCH_BASE_CMD_MAX 256 /* bytes of one pre-formatted baseline HSET */
#define BENCH_TIMEOUT_S    60  /* a command that takes longer: the server is gone */

struct bench_opts {
	uint64_t sizes[BENCH_SIZES_MAX];
	unsigned nsizes, runs, batch;
	bool json;
	const char *redis;       /* external server "HOST:PORT", or NULL: start one */
	const char *server_path; /* redis-server binary */
};

struct bench_server {
	pid_t pid;
	char host[CONFIG_HOST_LEN];
	uint16_t port;
	char dir[64];
	char version[32];
};

struct stat3 {
	double median, min, max;
};

struct bench_result {
	uint64_t peers;
	struct stat3 sink, full, base;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct stat3 stat_of(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct stat3){.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
	                      .min = v[0],
	                      .max = v[n - 1]};
}

/* ---- The server ------------------------------------------------------------------------------ */

static int free_tcp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static redisContext *bench_connect(const struct bench_server *srv)
{
	struct timeval tv = {.tv_sec = 2};
	redisContext *c = redisConnectWithTimeout(srv->host, srv->port, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	if (c) {
		tv.tv_sec = BENCH_TIMEOUT_S;
		redisSetTimeout(c, tv);
	}
	return c;
}

/* Poll until the server answers PING; fill its version. */
static int server_wait(struct bench_server *srv)
{
	uint64_t end = mono_ns() + BENCH_READY_NS;
	struct timespec pause = {0, 20000000};

	while (mono_ns() < end) {
		redisContext *c = bench_connect(srv);
		redisReply *r = c ? redisCommand(c, "INFO server") : NULL;

		if (r && r->type == REDIS_REPLY_STRING) {
			const char *v = strstr(r->str, "redis_version:");

			if (v)
				sscanf(v + 14, "%31[^\r\n]", srv->version);
			freeReplyObject(r);
			redisFree(c);
			return 0;
		}
		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (srv->pid > 0 && waitpid(srv->pid, NULL, WNOHANG) == srv->pid) {
			srv->pid = -1;
			return -ECHILD;
		}
		nanosleep(&pause, NULL); /* between two polls of readiness */
	}
	return -ETIMEDOUT;
}

static int server_start(struct bench_server *srv, const char *path)
{
	char port[8], log[128];
	int port_n = free_tcp_port();

	snprintf(srv->dir, sizeof(srv->dir), "/tmp/wgmon-bench-redis-XXXXXX");
	if (port_n < 0 || !mkdtemp(srv->dir))
		return -errno;
	snprintf(srv->host, sizeof(srv->host), "127.0.0.1");
	srv->port = (uint16_t)port_n;
	snprintf(port, sizeof(port), "%d", port_n);
	snprintf(log, sizeof(log), "%s/redis.log", srv->dir);
	srv->pid = fork();
	if (srv->pid < 0)
		return -errno;
	if (srv->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execlp(path, path, "--port", port, "--bind", "127.0.0.1", "--save", "",
		       "--appendonly", "no", "--dir", srv->dir, "--logfile", log, "--daemonize",
		       "no", (char *)NULL);
		_exit(127);
	}
	return server_wait(srv);
}

static void server_stop(struct bench_server *srv)
{
	char path[128];

	if (srv->pid > 0) {
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, NULL, 0);
		srv->pid = -1;
	}
	if (srv->dir[0]) {
		snprintf(path, sizeof(path), "%s/redis.log", srv->dir);
		unlink(path);
		rmdir(srv->dir);
	}
}

/* Remove the bench's keys from an external server (SCAN MATCH prefix*, UNLINK). */
static void server_clean(const struct bench_server *srv)
{
	redisContext *c = bench_connect(srv);
	char cursor[32] = "0";

	if (!c)
		return;
	do {
		redisReply *r =
		        redisCommand(c, "SCAN %s MATCH %s* COUNT 1000", cursor, BENCH_PREFIX);

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++)
			redisAppendCommand(c, "UNLINK %s", r->element[1]->element[i]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *d;

			if (redisGetReply(c, (void **)&d) == REDIS_OK)
				freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0"));
	redisFree(c);
}

/* ---- The table ------------------------------------------------------------------------------- */

static void event_init(struct parse_event *ev, unsigned kind, uint64_t peer, const char *host)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = (uint8_t)kind;
	ev->repeat = 1;
	ev->fields = PARSE_F_PEER | PARSE_F_ENDPOINT;
	ev->peer = peer;
	ev->host = host;
	ev->host_len = (uint8_t)strlen(host);
	ev->iface_len = 3;
	memcpy(ev->iface, "wg0", 4);
	ev->endpoint.af = PARSE_AF_INET;
	ev->endpoint.port = (uint16_t)(1024 + peer % 60000);
	ev->endpoint.addr[0] = 198;
	ev->endpoint.addr[1] = 51;
	ev->endpoint.addr[2] = (uint8_t)(peer >> 8);
	ev->endpoint.addr[3] = (uint8_t)peer;
}

/* Apply `kind` to every peer of the table at time t. */
static int table_touch(struct shm_writer *w, uint64_t peers, unsigned kind, uint64_t t)
{
	char hosts[BENCH_HOSTS][16];
	struct parse_event ev;
	int ret;

	for (unsigned h = 0; h < BENCH_HOSTS; h++)
		snprintf(hosts[h], sizeof(hosts[h]), "bench-h%02u", h);
	for (uint64_t i = 0; i < peers; i++) {
		event_init(&ev, kind, i / BENCH_HOSTS + 1, hosts[i % BENCH_HOSTS]);
		if (kind == PARSE_EV_KEYPAIR_CREATED)
			ev.fields = PARSE_F_PEER | PARSE_F_KEYPAIR;
		ret = shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t + i);
		if (ret)
			return ret;
	}
	return 0;
}

static int table_build(struct shm_writer **w, const char *name, uint64_t peers, uint64_t t)
{
	static const unsigned kinds[] = {PARSE_EV_PEER_CREATED,
	                                 PARSE_EV_HANDSHAKE_INITIATION_RECEIVED,
	                                 PARSE_EV_HANDSHAKE_RESPONSE_SENT,
	                                 PARSE_EV_KEYPAIR_CREATED,
	                                 PARSE_EV_KEEPALIVE_RECEIVED,
	                                 PARSE_EV_KEEPALIVE_SENT};
	struct shm_writer_opts o = {
	        .name = name, .capacity = peers + peers / 4 + 1024, .gid = -1, .reset = true};
	int ret = shm_writer_open(w, &o);

	if (ret) {
		fprintf(stderr, "bench redis: %s\n", shm_writer_error());
		return ret;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		ret = table_touch(*w, peers, kinds[k], t + k * 1000000ull);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- The measurements ------------------------------------------------------------------------ */

/* One timed pass; its rate in peer updates per second, or a negative -errno. */
static double timed_pass(struct redis_sink *s, uint64_t peers)
{
	uint64_t before = redis_sink_stats(s)->peers_written, t0 = mono_ns(), t;
	int ret = redis_sink_pass(s);

	t = mono_ns() - t0;
	if (ret)
		return ret;
	if (redis_sink_stats(s)->peers_written - before != peers) {
		fprintf(stderr,
		        "bench redis: a pass wrote %" PRIu64 " peers, expected %" PRIu64 "\n",
		        redis_sink_stats(s)->peers_written - before, peers);
		return -EIO;
	}
	return (double)peers / ((double)t / 1e9);
}

/*
 * The baseline: what the same server takes. The HSETs of the three fields a keepalive changes
 * (last_seen, last_keepalive_rx, ev:keepalive_received) on `peers` hashes of the size wgmon
 * writes are formatted before the clock starts; then all are written at once and every reply
 * read (redis-benchmark -P with no bound). Returns HSETs per second, or -errno.
 */
static double baseline_pass(redisContext *c, uint64_t peers, uint64_t round)
{
	size_t cap = (size_t)peers * BENCH_BASE_CMD_MAX, len = 0;
	char *buf = malloc(cap), t[32];
	uint64_t t0;
	int n;

	if (!buf)
		return -ENOMEM;
	redis_fmt_time(1763771234000000000ull + round * 1000000000ull, t, sizeof(t));
	for (uint64_t i = 0; i < peers; i++) {
		char key[64], cnt[24];
		int kl = snprintf(key, sizeof(key), BENCH_BASE_KEY "%" PRIu64, i);
		int cl = snprintf(cnt, sizeof(cnt), "%" PRIu64, round);

		n = snprintf(buf + len, BENCH_BASE_CMD_MAX,
		             "*8\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$9\r\nlast_seen\r\n$%zu\r\n%s\r\n"
		             "$17\r\nlast_keepalive_rx\r\n$%zu\r\n%s\r\n"
		             "$21\r\nev:keepalive_received\r\n$%d\r\n%s\r\n",
		             kl, key, strlen(t), t, strlen(t), t, cl, cnt);
		if (n < 0 || n >= BENCH_BASE_CMD_MAX) {
			free(buf);
			return -EOVERFLOW;
		}
		len += (size_t)n;
	}
	t0 = mono_ns();
	n = redisAppendFormattedCommand(c, buf, len);
	for (uint64_t i = 0; n == REDIS_OK && i < peers; i++) {
		redisReply *r;

		n = redisGetReply(c, (void **)&r);
		if (n == REDIS_OK)
			freeReplyObject(r);
	}
	t0 = mono_ns() - t0;
	free(buf);
	return n == REDIS_OK ? (double)peers / ((double)t0 / 1e9) : -EIO;
}

/* The baseline's hashes get the full field set first, so both sides update hashes alike. */
static int baseline_fill(redisContext *c, uint64_t peers, unsigned batch)
{
	uint64_t pending = 0;

	for (uint64_t i = 0; i < peers; i++) {
		redisAppendCommand(
		        c,
		        "HSET " BENCH_BASE_KEY "%" PRIu64 " last_seen 1 last_keepalive_rx 1 "
		        "ev:keepalive_received 1 last_keepalive_tx 1 ev:keepalive_sent 1 "
		        "last_handshake 1 ev:keypair_created 1 last_handshake_rx 1 "
		        "ev:handshake_initiation_received 1 iface wg0 tenant x endpoint "
		        "198.51.100.1:51820 ip 198.51.100.1 port 51820 endpoint_changes 0 "
		        "first_seen 1 state up ev:peer_created 1 ev:handshake_response_sent 1",
		        i);
		if (++pending == batch || i + 1 == peers) {
			for (; pending; pending--) {
				redisReply *r;

				if (redisGetReply(c, (void **)&r) != REDIS_OK)
					return -EIO;
				freeReplyObject(r);
			}
		}
	}
	return 0;
}

static struct redis_sink *sink_make(const struct bench_server *srv, const char *table,
                                    unsigned batch)
{
	static struct wgmon_config cfg;
	struct redis_sink_opts o = {.shm = table, .instance = "bench"};
	struct redis_sink *s;
	char err[CONFIG_ERR_MAX], port[8];

	config_init(&cfg);
	snprintf(port, sizeof(port), "%u", srv->port);
	snprintf(cfg.redis.host, sizeof(cfg.redis.host), "%s", srv->host);
	if (config_set(&cfg, "redis", "port", port, err, sizeof(err)) < 0)
		return NULL;
	snprintf(cfg.redis.prefix, sizeof(cfg.redis.prefix), BENCH_PREFIX);
	cfg.redis.batch = batch;
	cfg.redis.compat = false;
	return redis_sink_new(&s, &cfg, &o) ? NULL : s;
}

/* One size: build the table, write it once, then `runs` × (keepalive pass, full pass, baseline). */
static int bench_size(const struct bench_opts *o, const struct bench_server *srv, uint64_t peers,
                      struct bench_result *res)
{
	double sink[BENCH_RUNS_MAX], full[BENCH_RUNS_MAX], base[BENCH_RUNS_MAX];
	uint64_t t0 = 1763771234000000000ull;
	struct shm_writer *w = NULL;
	struct redis_sink *s = NULL;
	redisContext *c = NULL;
	char table[64];
	int ret;

	snprintf(table, sizeof(table), "/wgmon-bench-redis-%d", (int)getpid());
	ret = table_build(&w, table, peers, t0);
	if (!ret)
		ret = (s = sink_make(srv, table, o->batch)) ? 0 : -ENOMEM;
	if (!ret)
		ret = redis_sink_pass(s); /* the first, full write */
	if (!ret)
		ret = (c = bench_connect(srv)) ? baseline_fill(c, peers, o->batch) : -ECONNREFUSED;
	for (unsigned r = 0; !ret && r < o->runs; r++) {
		ret = table_touch(w, peers, PARSE_EV_KEEPALIVE_RECEIVED,
		                  t0 + (r + 1) * 1000000000ull);
		sink[r] = ret ? ret : timed_pass(s, peers);
		redis_sink_resync(s);
		full[r] = sink[r] < 0 ? sink[r] : timed_pass(s, peers);
		base[r] = full[r] < 0 ? full[r] : baseline_pass(c, peers, r + 1);
		if (base[r] < 0)
			ret = (int)base[r];
	}
	if (ret)
		fprintf(stderr, "bench redis: %" PRIu64 " peers: %s%s%s\n", peers, strerror(-ret),
		        s ? "; " : "", s ? redis_sink_stats(s)->last_error : "");
	res->peers = peers;
	if (!ret) {
		res->sink = stat_of(sink, o->runs);
		res->full = stat_of(full, o->runs);
		res->base = stat_of(base, o->runs);
	}
	if (c)
		redisFree(c);
	redis_sink_free(s);
	shm_writer_close(w);
	if (shm_writer_unlink(table))
		(void)0; /* already gone */
	server_clean(srv);
	return ret;
}

/* ---- Output ---------------------------------------------------------------------------------- */

static void print_table(const struct bench_opts *o, const struct bench_server *srv,
                        const struct bench_result *res, unsigned n)
{
	printf("wgmon-bench redis: peer updates/s into redis-server %s on %s:%u, batch %u, "
	       "median of %u runs (min-max)\n",
	       srv->version, srv->host, srv->port, o->batch, o->runs);
	printf("%8s  %-28s  %-28s  %-28s  %s\n", "peers", "wgmon-redis (keepalive pass)",
	       "wgmon-redis (full resync)", "baseline (server, HSET -P all)", "ratio");
	for (unsigned i = 0; i < n; i++) {
		char a[64], b[64], c[64];

		snprintf(a, sizeof(a), "%.0f (%.0f-%.0f)", res[i].sink.median, res[i].sink.min,
		         res[i].sink.max);
		snprintf(b, sizeof(b), "%.0f (%.0f-%.0f)", res[i].full.median, res[i].full.min,
		         res[i].full.max);
		snprintf(c, sizeof(c), "%.0f (%.0f-%.0f)", res[i].base.median, res[i].base.min,
		         res[i].base.max);
		printf("%8" PRIu64 "  %-28s  %-28s  %-28s  %.2f\n", res[i].peers, a, b, c,
		       res[i].sink.median / res[i].base.median);
	}
	printf("target: >= 200000 peer updates/s (keepalive pass); ratio = wgmon-redis / "
	       "baseline\n");
}

static void json_stat(const char *name, const struct stat3 *s, const char *sep)
{
	printf("\"%s\":{\"median\":%.0f,\"min\":%.0f,\"max\":%.0f}%s", name, s->median, s->min,
	       s->max, sep);
}

static void print_json(const struct bench_opts *o, const struct bench_server *srv,
                       const struct bench_result *res, unsigned n)
{
	printf("{\"bench\":\"redis\",\"server\":\"%s\",\"runs\":%u,\"batch\":%u,\"unit\":"
	       "\"peer updates/s\",\"target\":200000,\"results\":[",
	       srv->version, o->runs, o->batch);
	for (unsigned i = 0; i < n; i++) {
		printf("%s{\"peers\":%" PRIu64 ",", i ? "," : "", res[i].peers);
		json_stat("sink", &res[i].sink, ",");
		json_stat("full_resync", &res[i].full, ",");
		json_stat("baseline_hset", &res[i].base, ",");
		printf("\"ratio\":%.3f}", res[i].sink.median / res[i].base.median);
	}
	printf("]}\n");
}

/* ---- Entry ----------------------------------------------------------------------------------- */

static const char bench_usage[] =
        "Usage: wgmon-bench redis [--peers N[,N…]] [--runs N] [--batch N] [--json]\n"
        "                         [--redis HOST:PORT] [--redis-server PATH]\n"
        "Peer updates per second wgmon-redis writes into redis-server (one started on a free\n"
        "loopback port, or --redis), at 10000 and 100000 changed peers by default, beside a plain\n"
        "pipelined HSET loop on the same server. Median of --runs (default 5, at least 3).\n";

static int parse_sizes(struct bench_opts *o, char *list)
{
	o->nsizes = 0;
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		char *end;
		unsigned long long v = strtoull(tok, &end, 10);

		if (*end || !v || v > SHM_PEER_CAPACITY_MAX / 2 || o->nsizes == BENCH_SIZES_MAX)
			return -EINVAL;
		o->sizes[o->nsizes++] = v;
	}
	return o->nsizes ? 0 : -EINVAL;
}

static int bench_args(struct bench_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {{"peers", required_argument, NULL, 'p'},
	                                     {"runs", required_argument, NULL, 'r'},
	                                     {"batch", required_argument, NULL, 'b'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"redis", required_argument, NULL, 'R'},
	                                     {"redis-server", required_argument, NULL, 'S'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	*o = (struct bench_opts){.sizes = {10000, 100000},
	                         .nsizes = 2,
	                         .runs = BENCH_RUNS_DEFAULT,
	                         .batch = 1000,
	                         .server_path = "redis-server"};
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_sizes(o, optarg))
				return 2;
			break;
		case 'r': o->runs = (unsigned)atoi(optarg); break;
		case 'b': o->batch = (unsigned)atoi(optarg); break;
		case 'j': o->json = true; break;
		case 'R': o->redis = optarg; break;
		case 'S': o->server_path = optarg; break;
		case 'h': fputs(bench_usage, stdout); return 0;
		default: fputs(bench_usage, stderr); return 2;
		}
	}
	if (o->runs < BENCH_RUNS_MIN || o->runs > BENCH_RUNS_MAX || o->batch < 1) {
		fprintf(stderr, "bench redis: --runs %u..%u, --batch >= 1\n", BENCH_RUNS_MIN,
		        BENCH_RUNS_MAX);
		return 2;
	}
	return -1;
}

int bench_redis_main(int argc, char **argv)
{
	struct bench_result res[BENCH_SIZES_MAX];
	struct bench_server srv = {.pid = -1};
	struct bench_opts o;
	int ret = bench_args(&o, argc, argv);

	if (ret >= 0)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	redis_log_set_level(REDIS_LOG_WARN);
	if (o.redis) {
		ret = config_parse_hostport(o.redis, srv.host, sizeof(srv.host), &srv.port);
		ret = ret ? ret : server_wait(&srv);
	} else {
		ret = server_start(&srv, o.server_path);
	}
	if (ret) {
		fprintf(stderr, "bench redis: no redis-server: %s\n", strerror(-ret));
		server_stop(&srv);
		return 1;
	}
	for (unsigned i = 0; !ret && i < o.nsizes; i++)
		ret = bench_size(&o, &srv, o.sizes[i], &res[i]);
	if (!ret && o.json)
		print_json(&o, &srv, res, o.nsizes);
	else if (!ret)
		print_table(&o, &srv, res, o.nsizes);
	server_stop(&srv);
	return ret ? 1 : 0;
}
