/* SPDX-License-Identifier: MIT */
/*
 * test_redis_util.c — helpers of the wgmon-redis tests, #included by test_redis.c and
 * test_redis_live.c: a real redis-server on a free loopback port (own config and directory,
 * --save '', killed with its test), a wgmon-redis process, and the comparison of Redis with
 * the table as `wgmon show --json` prints it. Everything is static; every wait is a bounded poll.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sinks/redis/redis_internal.h"
#include "tests/test_wgmond_util.h"
#include "tools/config.h"

/* Each test program uses some of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define TR_FIELDS_MAX 64
#define TR_TEXT_MAX   160
#define TR_PEERS_MAX  1024

/* ---- redis-server ---------------------------------------------------------------------------- */

struct tr_server {
	pid_t pid;
	int port;
	char dir[64], conf[128], sock[128];
	char extra[512]; /* config lines (ACL users, requirepass) */
};

static int tr_free_tcp_port(void)
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

/* A child that dies with its test. */
static void tr_die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Any answer to PING (PONG, NOAUTH, …) means the server is up. */
static bool tr_server_answers(const struct tr_server *s)
{
	struct timeval tv = {.tv_sec = 1};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
	bool up = r != NULL;

	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return up;
}

/* Start (or restart, empty) the server described by s; s->port 0 picks one. */
static bool tr_server_start(struct tr_server *s)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(10);
	FILE *f;

	if (!s->dir[0]) {
		snprintf(s->dir, sizeof(s->dir), "/tmp/wgmon-test-redis-XXXXXX");
		if (!mkdtemp(s->dir))
			return false;
		snprintf(s->conf, sizeof(s->conf), "%s/redis.conf", s->dir);
		snprintf(s->sock, sizeof(s->sock), "%s/redis.sock", s->dir);
		s->port = tr_free_tcp_port();
	}
	f = fopen(s->conf, "w");
	if (!f)
		return false;
	fprintf(f,
	        "port %d\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir %s\n"
	        "unixsocket %s\nunixsocketperm 700\nlogfile %s/redis.log\ndaemonize no\n%s\n",
	        s->port, s->dir, s->sock, s->dir, s->extra);
	fclose(f);
	s->pid = fork();
	if (s->pid < 0)
		return false;
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		tr_die_with_parent();
		dup2(null, 0);
		dup2(null, 1);
		execlp("redis-server", "redis-server", s->conf, (char *)NULL);
		_exit(127);
	}
	while (!tr_server_answers(s)) {
		if (tw_now_ns() > end || waitpid(s->pid, NULL, WNOHANG) == s->pid)
			return false;
		tw_pause();
	}
	return true;
}

static void tr_server_kill(struct tr_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
}

static void tr_server_cleanup(struct tr_server *s)
{
	char path[192];
	static const char *const files[] = {"redis.conf", "redis.log", "redis.sock", "dump.rdb"};

	tr_server_kill(s);
	for (size_t i = 0; s->dir[0] && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]);
		unlink(path);
	}
	if (s->dir[0])
		rmdir(s->dir);
	s->dir[0] = '\0';
}

/* A client (AUTH user/password when given, SELECT db). NULL if it cannot. */
static redisContext *tr_client(const struct tr_server *s, const char *user, const char *pass,
                               unsigned db)
{
	struct timeval tv = {.tv_sec = 2};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	redisReply *r;

	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (pass) {
		r = user ? redisCommand(c, "AUTH %s %s", user, pass)
		         : redisCommand(c, "AUTH %s", pass);
		if (r)
			freeReplyObject(r);
	}
	r = redisCommand(c, "SELECT %u", db);
	if (r)
		freeReplyObject(r);
	return c;
}

/* ---- wgmon-redis processes ------------------------------------------------------------------- */

struct tr_sink {
	pid_t pid;
	int status;
	char log[128];
};

/* Run $WGMON_BIN/sinks/wgmon-redis with args (NULL-terminated), stderr to a log file. */
static bool tr_sink_spawn(struct tr_sink *k, const char *tag, const char *const *args)
{
	const char *argv[48];
	char bin[512];
	int n = 0;

	tw_bin("sinks/wgmon-redis", bin, sizeof(bin));
	snprintf(k->log, sizeof(k->log), "/tmp/wgmon-redis-test-%d-%s.log", (int)getpid(), tag);
	unlink(k->log);
	argv[n++] = bin;
	while (*args && n < 46)
		argv[n++] = *args++;
	argv[n] = NULL;
	k->pid = fork();
	if (k->pid < 0)
		return false;
	if (k->pid == 0) {
		int log = open(k->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDWR);

		tr_die_with_parent();
		dup2(null, 0);
		dup2(null, 1);
		dup2(log, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return true;
}

/* Wait (bounded) for the process to end: its exit code, 128 + signal, or -1 if it did not. */
static int tr_sink_wait(struct tr_sink *k, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);

	while (k->pid > 0) {
		if (waitpid(k->pid, &k->status, WNOHANG) == k->pid) {
			k->pid = -1;
			return WIFEXITED(k->status) ? WEXITSTATUS(k->status)
			                            : 128 + WTERMSIG(k->status);
		}
		if (tw_now_ns() > end)
			return -1;
		tw_pause();
	}
	return WIFEXITED(k->status) ? WEXITSTATUS(k->status) : 128 + WTERMSIG(k->status);
}

static void tr_sink_cleanup(struct tr_sink *k)
{
	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
		k->pid = -1;
	}
	if (k->log[0])
		unlink(k->log);
}

/* The whole log (static buffer). */
static const char *tr_sink_log(const struct tr_sink *k)
{
	static char buf[1 << 16];
	FILE *f = fopen(k->log, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* ---- `wgmon show --json` --------------------------------------------------------------------- */

/* One peer: its fields as Redis should hold them ("ev:<name>" for the events object). */
struct tr_peer {
	char host[SHM_HOST_NAME_MAX + 1];
	char iface[SHM_IFACE_NAME_MAX + 1];
	uint64_t peer;
	unsigned n;
	char key[TR_FIELDS_MAX][48];
	char val[TR_FIELDS_MAX][TR_TEXT_MAX];
};

struct tr_table {
	struct tr_peer *p;
	size_t n;
};

static const char *tr_field(const struct tr_peer *p, const char *key)
{
	for (unsigned i = 0; i < p->n; i++)
		if (!strcmp(p->key[i], key))
			return p->val[i];
	return NULL;
}

/* A JSON string at *s (after the opening quote) into out; \u00XX becomes that byte. */
static const char *tr_json_str(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	while (*s && *s != '"') {
		char c = *s++;

		if (c == '\\') {
			c = *s++;
			if (c == 'u') {
				unsigned v = 0;

				sscanf(s, "%4x", &v);
				s += 4;
				c = (char)v;
			} else if (c == 'n') {
				c = '\n';
			} else if (c == 't') {
				c = '\t';
			}
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	out[n] = '\0';
	return *s ? s + 1 : s;
}

/* A number or string value at s into out; returns what follows. */
static const char *tr_json_value(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	if (*s == '"')
		return tr_json_str(s + 1, out, cap);
	while (*s && *s != ',' && *s != '}' && n + 1 < cap)
		out[n++] = *s++;
	out[n] = '\0';
	return s;
}

/* strlcpy: copy what fits, always terminated. */
static void tr_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	n = n < cap ? n : cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void tr_put(struct tr_peer *p, const char *key, const char *val)
{
	/* state and tenant depend on the reader's config: tr_compare_extra() computes them. */
	if (p->n >= TR_FIELDS_MAX || !strcmp(key, "state") || !strcmp(key, "tenant"))
		return;
	tr_copy(p->key[p->n], sizeof(p->key[0]), key);
	tr_copy(p->val[p->n++], sizeof(p->val[0]), val);
}

/* One line of `wgmon show --json` into p. */
static bool tr_parse_line(const char *s, struct tr_peer *p)
{
	char key[48], val[TR_TEXT_MAX], ev[64];

	memset(p, 0, sizeof(*p));
	if (*s++ != '{')
		return false;
	while (*s == '"') {
		s = tr_json_str(s + 1, key, sizeof(key));
		if (*s++ != ':')
			return false;
		if (!strcmp(key, "events") && *s == '{') {
			for (s++; *s == '"';) {
				s = tr_json_str(s + 1, key, sizeof(key));
				s = tr_json_value(s + 1, val, sizeof(val));
				snprintf(ev, sizeof(ev), "ev:%s", key);
				tr_put(p, ev, val);
				if (*s == ',')
					s++;
			}
			s++; /* '}' */
		} else {
			s = tr_json_value(s, val, sizeof(val));
			if (!strcmp(key, "host"))
				tr_copy(p->host, sizeof(p->host), val);
			else if (!strcmp(key, "peer"))
				p->peer = strtoull(val, NULL, 10);
			else
				tr_put(p, key, val);
			if (!strcmp(key, "iface"))
				tr_copy(p->iface, sizeof(p->iface), val);
		}
		if (*s == ',')
			s++;
	}
	return *s == '}';
}

/* The table of shm `name` as `wgmon show --json` prints it. */
static bool tr_table_load(struct tr_table *t, const char *shm)
{
	char cmd[768], bin[512];
	int status = -1;
	char *out, *line, *save = NULL;

	tw_bin("tools/wgmon", bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' show --shm '%s' --json", bin, shm);
	out = tw_run(cmd, &status);
	t->n = 0;
	if (!t->p)
		t->p = calloc(TR_PEERS_MAX, sizeof(*t->p));
	if (!out || !t->p || status != 0) {
		free(out);
		return false;
	}
	for (line = strtok_r(out, "\n", &save); line && t->n < TR_PEERS_MAX;
	     line = strtok_r(NULL, "\n", &save))
		if (!tr_parse_line(line, &t->p[t->n++])) {
			free(out);
			return false;
		}
	free(out);
	return true;
}

static void tr_table_free(struct tr_table *t)
{
	free(t->p);
	t->p = NULL;
	t->n = 0;
}

/* ---- Comparing Redis with the table ----------------------------------------------------------- */

struct tr_compare {
	const struct wgmon_config *cfg; /* tenants; NULL: no tenant expected */
	const char *shm;                /* for the state: read with the reader library */
	const char *prefix;             /* "wgmon:" */
	bool compat;                    /* wireguard_peer:{peer} expected */
	char why[1024];                 /* the first difference */
};

static bool tr_differ(struct tr_compare *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static bool tr_differ(struct tr_compare *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return false;
}

static const char *tr_host_text(const struct tr_peer *p)
{
	return p->host[0] ? p->host : "-";
}

/* The state the sink should have written, from the same table and function. */
static const char *tr_state_of(struct tr_compare *c, struct shm_reader *r, const struct tr_peer *p)
{
	const char *tenant = c->cfg ? config_tenant_of(c->cfg, p->host, p->iface) : NULL;
	uint64_t stale =
	        (uint64_t)(c->cfg ? config_stale_after(c->cfg, tenant) : 180) * 1000000000ull;
	int64_t host = shm_reader_host_find(r, p->host, strlen(p->host));
	struct shm_peer sp;
	struct timespec now;

	if (host < 0 || shm_reader_peer_find(r, (uint32_t)host, p->peer, &sp))
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	return shm_state_name(shm_peer_state(
	        &sp, (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec, stale));
}

static bool tr_compare_extra(struct tr_compare *c, struct shm_reader *r, const struct tr_peer *p,
                             const char *field, const char *val)
{
	const char *tenant, *state;

	if (!strcmp(field, "tenant")) {
		tenant = c->cfg ? config_tenant_of(c->cfg, p->host, p->iface) : NULL;
		return !strcmp(val, tenant ? tenant : "") ||
		       tr_differ(c, "%s:%" PRIu64 ": tenant '%s', expected '%s'", p->host, p->peer,
		                 val, tenant ? tenant : "");
	}
	if (!strcmp(field, "state")) {
		state = tr_state_of(c, r, p);
		return (state && !strcmp(val, state)) ||
		       tr_differ(c, "%s:%" PRIu64 ": state '%s', expected '%s'", p->host, p->peer,
		                 val, state ? state : "?");
	}
	return tr_differ(c, "%s:%" PRIu64 ": unexpected field %s=%s", p->host, p->peer, field, val);
}

/* HGETALL of the peer's native hash equals its show --json fields (+ tenant, state). */
static bool tr_compare_peer(struct tr_compare *c, redisContext *rc, struct shm_reader *r,
                            const struct tr_peer *p)
{
	redisReply *h = redisCommand(rc,
	                             "HGETALL %s"
	                             "peer:%s:%" PRIu64,
	                             c->prefix, tr_host_text(p), p->peer);
	unsigned matched = 0;
	bool ok = h && h->type == REDIS_REPLY_ARRAY && h->elements > 0;

	if (!ok) {
		if (h)
			freeReplyObject(h);
		return tr_differ(c, "%speer:%s:%" PRIu64 ": missing", c->prefix, tr_host_text(p),
		                 p->peer);
	}
	for (size_t i = 0; ok && i + 1 < h->elements; i += 2) {
		const char *f = h->element[i]->str, *v = h->element[i + 1]->str;
		const char *want = tr_field(p, f);

		if (want && strcmp(want, v))
			ok = tr_differ(c, "%s:%" PRIu64 ": %s='%s', expected '%s'", p->host,
			               p->peer, f, v, want);
		else if (want)
			matched++;
		else
			ok = tr_compare_extra(c, r, p, f, v);
	}
	if (ok && matched != p->n)
		ok = tr_differ(c, "%s:%" PRIu64 ": %u of %u fields in Redis", p->host, p->peer,
		               matched, p->n);
	freeReplyObject(h);
	return ok;
}

static uint64_t tr_ns_of(const char *text)
{
	return text ? (uint64_t)strtoull(text, NULL, 10) * 1000000000ull : 0;
}

/* What the compat hash of p holds ("" for an absent field); false if p writes no hash. */
static bool tr_compat_expect(const struct tr_peer *p, char ip[64], char port[64], char hs[32],
                             char ka[32])
{
	const char *ep = tr_field(p, "endpoint"), *rx = tr_field(p, "last_handshake_rx"),
	           *kr = tr_field(p, "last_keepalive_rx");

	ip[0] = port[0] = hs[0] = ka[0] = '\0';
	if (rx && ep && redis_compat_split(ep, ip, 64, port, 64))
		ip[0] = port[0] = '\0';
	if (rx)
		redis_fmt_compat_time(tr_ns_of(rx), hs, 32);
	if (kr)
		redis_fmt_compat_time(tr_ns_of(kr), ka, 32);
	return rx || kr;
}

static bool tr_compat_matches(const redisReply *h, const struct tr_peer *p)
{
	char want[4][64], *got[4] = {"", "", "", ""};
	static const char *const names[] = {"ip", "port", "handshake", "keepalive"};

	if (!tr_compat_expect(p, want[0], want[1], want[2], want[3]))
		return h->elements == 0;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		bool known = false;

		for (int k = 0; k < 4; k++)
			if (!strcmp(h->element[i]->str, names[k])) {
				got[k] = h->element[i + 1]->str;
				known = true;
			}
		if (!known)
			return false;
	}
	for (int k = 0; k < 4; k++)
		if (strcmp(got[k], want[k]))
			return false;
	return true;
}

/*
 * wireguard_peer:{peer}: several hosts may share a peer id (the replaced tool knew one host),
 * so the hash must match one of the peers with that id.
 */
static bool tr_compare_compat(struct tr_compare *c, redisContext *rc, const struct tr_table *t,
                              const struct tr_peer *p)
{
	redisReply *h = redisCommand(rc, "HGETALL wireguard_peer:%" PRIu64, p->peer);
	bool ok = false;

	for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && !ok && i < t->n; i++)
		if (t->p[i].peer == p->peer)
			ok = tr_compat_matches(h, &t->p[i]);
	if (!ok)
		tr_differ(c, "wireguard_peer:%" PRIu64 ": %zu fields match no peer of that id",
		          p->peer, h && h->type == REDIS_REPLY_ARRAY ? h->elements / 2 : 0);
	if (h)
		freeReplyObject(h);
	return ok;
}

static long long tr_integer(redisContext *rc, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v = -1;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r)
		freeReplyObject(r);
	return v;
}

/* Keys matching pattern (SCAN; small databases). */
static long long tr_count_keys(redisContext *rc, const char *pattern)
{
	char cursor[32] = "0";
	long long n = 0;

	do {
		redisReply *r = redisCommand(rc, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		n += (long long)r->element[1]->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0"));
	return n;
}

/* The sorted set and the expiry of peer p agree with its state. */
static bool tr_compare_index(struct tr_compare *c, redisContext *rc, const struct tr_peer *p)
{
	redisReply *z = redisCommand(rc, "ZSCORE %shandshake %s:%" PRIu64, c->prefix,
	                             tr_host_text(p), p->peer);
	redisReply *st = redisCommand(rc, "HGET %speer:%s:%" PRIu64 " state", c->prefix,
	                              tr_host_text(p), p->peer);
	long long ttl =
	        tr_integer(rc, "TTL %speer:%s:%" PRIu64, c->prefix, tr_host_text(p), p->peer);
	const char *hs = tr_field(p, "last_handshake");
	bool removed = st && st->type == REDIS_REPLY_STRING && !strcmp(st->str, "removed");
	bool ok = true;

	if (removed && (!z || z->type != REDIS_REPLY_NIL || ttl <= 0))
		ok = tr_differ(c, "%s:%" PRIu64 ": removed but in the zset or ttl %lld", p->host,
		               p->peer, ttl);
	else if (!removed && (!z || z->type != REDIS_REPLY_STRING || ttl != -1 ||
	                      strtod(z->str, NULL) != (hs ? strtod(hs, NULL) : 0)))
		ok = tr_differ(c, "%s:%" PRIu64 ": zset score %s, last_handshake %s, ttl %lld",
		               p->host, p->peer, z && z->str ? z->str : "nil", hs ? hs : "-", ttl);
	if (z)
		freeReplyObject(z);
	if (st)
		freeReplyObject(st);
	return ok;
}

/* Redis (database of rc) holds exactly the table: 1 equal, 0 not (c->why says how). */
static bool tr_compare_all(struct tr_compare *c, redisContext *rc, const struct tr_table *t)
{
	struct shm_reader *r;
	char pattern[96];
	bool ok = true;
	long long keys;

	if (shm_reader_attach(&r, c->shm))
		return tr_differ(c, "cannot attach %s", c->shm);
	for (size_t i = 0; ok && i < t->n; i++) {
		ok = tr_compare_peer(c, rc, r, &t->p[i]) && tr_compare_index(c, rc, &t->p[i]);
		if (ok && c->compat)
			ok = tr_compare_compat(c, rc, t, &t->p[i]);
	}
	shm_reader_detach(r);
	snprintf(pattern, sizeof(pattern), "%speer:*", c->prefix);
	keys = tr_count_keys(rc, pattern);
	if (ok && keys != (long long)t->n)
		ok = tr_differ(c, "%lld peer hashes for %zu peers", keys, t->n);
	keys = tr_count_keys(rc, "wireguard_peer:*");
	if (ok && !c->compat && keys != 0)
		ok = tr_differ(c, "%lld compat hashes without compat", keys);
	return ok;
}

/* Poll until Redis equals the table of shm (bounded); the last difference in c->why. */
static bool tr_converges(struct tr_compare *c, redisContext *rc, double seconds)
{
	uint64_t end = tw_now_ns() + tw_bound_ns(seconds);
	struct tr_table t = {0};
	bool ok;

	for (;;) {
		ok = tr_table_load(&t, c->shm) && tr_compare_all(c, rc, &t);
		if (ok || tw_now_ns() > end)
			break;
		tw_pause();
	}
	tr_table_free(&t);
	return ok;
}
