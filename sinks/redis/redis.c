/* SPDX-License-Identifier: MIT */
/*
 * redis.c — the wgmon-redis engine: each pass writes to Redis the peers whose shm slot changed
 * since the previous pass (and those whose derived state did), plus the notable events of the
 * event ring, pipelined with hiredis in bounded batches. What was last written for each slot is
 * kept in a compact mirror (40 bytes a slot), so a pass writes only the hash fields that moved.
 *
 *   pass: table (attach / re-map) ─▶ connect (AUTH, SELECT, read the sentinel; a new
 *         epoch = resync) ─▶ EXISTS sentinel (gone: FLUSHALL, new epoch); SET it if this
 *         epoch has not ─▶ scan slots: snapshot, state, diff with mirror ─▶ HSET/ZADD/…
 *         appended ─▶ event ring ─▶ XADD appended ─▶ SET sentinel XX (nil: flushed during
 *         the pass, new epoch); every `batch` commands the batch is sent, and then the replies
 *         of the batch before it are read and its mirrors and ring position committed
 *         (a failed batch commits nothing). Two batches in flight at most:
 *
 *            client:  fill k ─ send k ─ read k-1 ─ fill k+1 ─ send k+1 ─ read k ─ …
 *            server:            └──── execute k ──────────┘└── execute k+1 ──┘
 *
 * Any I/O error or unexpected error reply drops the connection; the next pass reconnects after
 * a capped exponential backoff and, with a new epoch, rewrites every peer in full.
 * One thread owns a sink.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "parse/parse.h"
#include "sinks/redis/redis_internal.h"
#include "tools/config.h"

#define PEER_CMDS_MAX   12 /* commands one peer may append (MULTI … EXEC, XADDs) */
#define KEY_MAX         (CONFIG_NAME_LEN + SHM_HOST_NAME_MAX + 48)
#define CMD_HEAD        24 /* room in front of the arguments for "*<argc>\r\n" */
#define TIME_TEXT_MAX   32
#define ENDPOINT_MAX    64
#define CLASS_UNKNOWN   INT16_MIN /* iface class not computed yet */
#define CLASS_UNWANTED  (-2)      /* interface outside [wireguard] interface */
#define CLASS_NO_TENANT (-1)
#define CLIENT_NAME     "wgmon-redis"
#define LOCAL_HOST_TEXT "-" /* the local host in keys and fields (syslog's NILVALUE) */

/* Mirror flags. */
#define MIRROR_KNOWN   0x01 /* state/endpoint_changes are real values: changes are events */
#define MIRROR_REMOVED 0x02 /* written as removed: it has an expiry and no zset member */

/*
 * What was last written for one slot. `epoch` says for which connection: an entry of an older
 * epoch is unknown to this Redis and is written in full. The counters say which hash fields
 * changed: each one moves with the time field it drives (keepalive_received with
 * last_keepalive_rx, …), the rest (`other`) as a sum; `ident` hashes what changes rarely.
 */
struct mirror {
	uint32_t seq; /* the slot's sequence word when written */
	uint8_t flags;
	uint8_t state;  /* enum shm_state */
	uint16_t epoch; /* 0 = never written */
	uint32_t ka_rx, ka_tx, kp, hs_rx, other;
	uint32_t endpoint_changes;
	uint64_t ident; /* iface, endpoint, first_seen */
};

_Static_assert(sizeof(struct mirror) == 40, "mirror entry stays compact");

struct pending {
	uint64_t idx;
	struct mirror m;
};

/* One pipelined batch: its commands are in hiredis's buffer (filling) or on the wire. */
struct batch {
	size_t ncmd, npend, nevents;
	uint64_t missed;             /* ring records lost before this batch's XADDs */
	struct shm_event_cursor cur; /* ring position once its XADDs are written */
	size_t sentinel_at;          /* index of the closing SET … XX, or SIZE_MAX */
	struct pending *pend;        /* the mirrors it commits */
};

struct redis_sink {
	struct wgmon_config cfg; /* a private copy */
	char shm[CONFIG_PATH_LEN];
	char where[CONFIG_HOSTPORT_LEN + CONFIG_SOCKET_LEN + 8]; /* for messages */
	char key_zset[KEY_MAX], key_stream[KEY_MAX], key_sentinel[KEY_MAX + REDIS_INSTANCE_MAX];
	char key_peer[CONFIG_NAME_LEN + 8]; /* "{prefix}peer:" */
	size_t key_zset_len, key_stream_len, key_sentinel_len, key_peer_len;

	/* the table */
	struct shm_reader *r;
	uint64_t generation, slots;
	struct mirror *mirror;                    /* slots entries */
	int16_t iface_class[SHM_IFACES_MAX];      /* CLASS_* or tenant index */
	struct shm_iface iface_buf;               /* the entry sink_iface_class() read last */
	uint64_t stale_ns[CONFIG_TENANT_MAX + 1]; /* by class + 1 */
	struct shm_event_cursor cur;              /* committed ring position */
	struct shm_event_cursor cur_work;         /* position after the XADDs appended */
	bool have_cursor;

	/* Redis */
	redisContext *c;
	uint16_t epoch;
	bool ever_connected;
	bool sentinel_set; /* this epoch created the sentinel: its absence means a flush */
	uint64_t sentinel_gen, sentinel_next; /* read at connect; gen 0 = none */
	uint64_t backoff_ms;

	/* the batches: b[fill] takes commands; b[fill ^ 1] is on the wire if inflight */
	struct batch b[2];
	unsigned fill;
	bool inflight;
	size_t batch;                       /* commands per batch */
	char ev_field[PARSE_EV__COUNT][40]; /* "ev:<event name>" */
	uint8_t ev_field_len[PARSE_EV__COUNT];

	/* the command being built */
	char cmd[REDIS_CMD_MAX];
	size_t cmd_len;
	unsigned cmd_argc;
	bool cmd_overflow;

	struct redis_stats st;
	struct redis_stats_shm st_shm;
	struct redis_ratelimit rl_table, rl_connect, rl_reply, rl_busy;
};

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- Text formatting ---------------------------------------------------------------------- */

/* Decimal digits of v into buf (no NUL); returns the length (<= 20). */
static size_t fmt_u64(uint64_t v, char *buf)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

size_t redis_fmt_time(uint64_t ns, char *buf, size_t cap)
{
	uint64_t us = ns % 1000000000u / 1000u;
	char tmp[TIME_TEXT_MAX];
	size_t n = fmt_u64(ns / 1000000000u, tmp);

	tmp[n++] = '.';
	for (int i = 5; i >= 0; i--, us /= 10)
		tmp[n + (size_t)i] = (char)('0' + us % 10);
	n += 6;
	if (n + 1 > cap)
		return 0;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), Howard Hinnant's method. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

size_t redis_fmt_compat_time(uint64_t ns, char *buf, size_t cap)
{
	uint64_t s = ns / 1000000000u;
	unsigned m, d, sod = (unsigned)(s % 86400);
	int64_t y;
	int n;

	civil_from_days((int64_t)(s / 86400), &y, &m, &d);
	n = snprintf(buf, cap, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u", y, m, d, sod / 3600,
	             sod / 60 % 60, sod % 60);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int redis_compat_split(const char *endpoint, char *ip, size_t ipcap, char *port, size_t portcap)
{
	const char *colon = strrchr(endpoint, ':');
	size_t iplen, portlen;

	if (!colon)
		return -EINVAL;
	iplen = (size_t)(colon - endpoint);
	portlen = strlen(colon + 1);
	if (iplen + 1 > ipcap || portlen + 1 > portcap)
		return -EINVAL;
	memcpy(ip, endpoint, iplen);
	ip[iplen] = '\0';
	memcpy(port, colon + 1, portlen + 1);
	return 0;
}

/* ---- Building commands (RESP, written straight into s->cmd) --------------------------------- */

static void cmd_begin(struct redis_sink *s)
{
	s->cmd_len = CMD_HEAD;
	s->cmd_argc = 0;
	s->cmd_overflow = false;
}

static void cmd_arg(struct redis_sink *s, const char *p, size_t n)
{
	char *o;

	if (s->cmd_overflow || s->cmd_len + n + 26 > sizeof(s->cmd)) {
		s->cmd_overflow = true;
		return;
	}
	o = s->cmd + s->cmd_len;
	*o++ = '$';
	o += fmt_u64(n, o);
	*o++ = '\r';
	*o++ = '\n';
	memcpy(o, p, n);
	o += n;
	*o++ = '\r';
	*o++ = '\n';
	s->cmd_len = (size_t)(o - s->cmd);
	s->cmd_argc++;
}

static void cmd_str(struct redis_sink *s, const char *str)
{
	cmd_arg(s, str, strlen(str));
}

static void cmd_u64(struct redis_sink *s, uint64_t v)
{
	char tmp[20];

	cmd_arg(s, tmp, fmt_u64(v, tmp));
}

static void cmd_time(struct redis_sink *s, uint64_t ns)
{
	char tmp[TIME_TEXT_MAX];

	cmd_arg(s, tmp, redis_fmt_time(ns, tmp, sizeof(tmp)));
}

/* A field/value pair; a time of 0 ("never") or a counter of 0 is left out. */
static void cmd_field_time(struct redis_sink *s, const char *field, uint64_t ns)
{
	if (!ns)
		return;
	cmd_str(s, field);
	cmd_time(s, ns);
}

static void cmd_field_u64(struct redis_sink *s, const char *field, uint64_t v)
{
	cmd_str(s, field);
	cmd_u64(s, v);
}

static void cmd_field_event(struct redis_sink *s, unsigned kind, uint32_t count)
{
	if (!count)
		return;
	cmd_arg(s, s->ev_field[kind], s->ev_field_len[kind]);
	cmd_u64(s, count);
}

/*
 * Append the command built to the pipeline (no I/O yet: hiredis buffers it). A command that
 * did not fit is dropped with a message; it cannot happen with the limits above.
 */
static void cmd_end(struct redis_sink *s)
{
	char head[CMD_HEAD];
	int h = snprintf(head, sizeof(head), "*%u\r\n", s->cmd_argc);
	size_t start = CMD_HEAD - (size_t)h;

	if (s->cmd_overflow) {
		redis_log(REDIS_LOG_ERROR, "internal: a command exceeded %d bytes; dropped",
		          REDIS_CMD_MAX);
		return;
	}
	memcpy(s->cmd + start, head, (size_t)h);
	if (redisAppendFormattedCommand(s->c, s->cmd + start, s->cmd_len - start) == REDIS_OK)
		s->b[s->fill].ncmd++;
}

/* One whole command of literal arguments: cmd_simple(s, "MULTI", NULL). */
static void cmd_simple(struct redis_sink *s, const char *a, const char *b)
{
	cmd_begin(s);
	cmd_str(s, a);
	if (b)
		cmd_str(s, b);
	cmd_end(s);
}

/* ---- Errors and the connection -------------------------------------------------------------- */

/* Remember an error for the figures (never with a secret in it) and count it. */
static void sink_error(struct redis_sink *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void sink_error(struct redis_sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->st.last_error, sizeof(s->st.last_error), fmt, ap);
	va_end(ap);
	s->st.last_error_at = now_real_ns();
	s->st.errors++;
}

static void batch_reset(struct batch *b)
{
	b->ncmd = b->npend = b->nevents = 0;
	b->missed = 0;
	b->sentinel_at = SIZE_MAX;
}

static void sink_disconnect(struct redis_sink *s)
{
	if (s->c)
		redisFree(s->c);
	s->c = NULL;
	batch_reset(&s->b[0]);
	batch_reset(&s->b[1]);
	s->inflight = false;
	s->st.connected = 0;
}

static struct timeval ms_to_tv(unsigned ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000};
}

/* A command outside the pipeline (connect time, pass start). NULL after an I/O error. */
static redisReply *sink_command_argv(struct redis_sink *s, int argc, const char **argv)
{
	redisReply *rep = redisCommandArgv(s->c, argc, argv, NULL);

	if (!rep)
		sink_error(s, "%s: %s", s->where, s->c->errstr[0] ? s->c->errstr : "I/O error");
	return rep;
}

/*
 * A connect-time command whose error reply is fatal: 0, -EIO (link lost), or `fail` with
 * "<where>: <what> failed: <reply>" recorded. `what` must not contain a secret.
 */
static int sink_setup_cmd(struct redis_sink *s, int argc, const char **argv, const char *what,
                          int fail)
{
	redisReply *rep = sink_command_argv(s, argc, argv);
	int ret = 0;

	if (!rep)
		return -EIO;
	if (rep->type == REDIS_REPLY_ERROR && fail) {
		sink_error(s, "%s: %s failed: %.80s", s->where, what, rep->str);
		ret = fail;
	}
	freeReplyObject(rep);
	return ret;
}

/* AUTH (when a password is set), SELECT, CLIENT SETNAME. 0 or -errno, error recorded. */
static int sink_handshake(struct redis_sink *s)
{
	const struct config_redis *rc = &s->cfg.redis;
	const char *user = rc->username[0] ? rc->username : NULL;
	const char *auth[] = {"AUTH", user ? user : rc->password, rc->password};
	const char *name[] = {"CLIENT", "SETNAME", CLIENT_NAME};
	char db[16], what[CONFIG_NAME_LEN + 32];
	const char *select[] = {"SELECT", db};
	int ret = 0;

	snprintf(db, sizeof(db), "%u", rc->db);
	snprintf(what, sizeof(what), "authentication as '%s'", user ? user : "default");
	if (rc->password[0])
		ret = sink_setup_cmd(s, user ? 3 : 2, auth, what, -EACCES);
	snprintf(what, sizeof(what), "SELECT %s", db);
	if (!ret && rc->db)
		ret = sink_setup_cmd(s, 2, select, what, -EINVAL);
	if (!ret) /* an old server without CLIENT SETNAME is fine */
		ret = sink_setup_cmd(s, 3, name, "CLIENT SETNAME", 0);
	return ret;
}

/* What a previous run of this instance left: table generation and ring position. */
static int sink_read_sentinel(struct redis_sink *s)
{
	const char *argv[] = {"GET", s->key_sentinel};
	redisReply *rep = sink_command_argv(s, 2, argv);
	unsigned long long gen = 0, next = 0;
	int ret = 0;

	if (!rep)
		return -EIO;
	if (rep->type == REDIS_REPLY_STRING &&
	    sscanf(rep->str, "generation=%llu event_next=%llu", &gen, &next) != 2)
		gen = next = 0; /* not ours: start afresh */
	s->sentinel_gen = gen;
	s->sentinel_next = next;
	if (rep->type == REDIS_REPLY_ERROR) {
		sink_error(s, "%s: reading %s: %.80s", s->where, s->key_sentinel, rep->str);
		ret = -EPROTO;
	}
	freeReplyObject(rep);
	return ret;
}

/* A new epoch: every peer is unknown to Redis and gets written in full. */
static void sink_new_epoch(struct redis_sink *s)
{
	if (++s->epoch == 0) {
		/* Wrapped: entries of epoch 1 could pass for current. Forget every epoch. */
		for (uint64_t i = 0; s->mirror && i < s->slots; i++)
			s->mirror[i].epoch = 0;
		s->epoch = 1;
	}
}

void redis_sink_resync(struct redis_sink *s)
{
	s->st.resyncs++;
	sink_new_epoch(s);
}

static int sink_connect(struct redis_sink *s)
{
	const struct config_redis *rc = &s->cfg.redis;
	struct timeval tv = ms_to_tv(REDIS_CONNECT_TIMEOUT_MS);
	int ret;

	s->c = rc->socket[0] ? redisConnectUnixWithTimeout(rc->socket, tv)
	                     : redisConnectWithTimeout(rc->host, rc->port, tv);
	if (!s->c) {
		sink_error(s, "%s: out of memory", s->where);
		return -ENOMEM;
	}
	if (s->c->err) {
		sink_error(s, "cannot connect to %s: %s", s->where, s->c->errstr);
		sink_disconnect(s);
		return -ECONNREFUSED;
	}
	redisSetTimeout(s->c, ms_to_tv(REDIS_COMMAND_TIMEOUT_MS));
	if (!rc->socket[0])
		redisEnableKeepAlive(s->c);
	ret = sink_handshake(s);
	if (!ret)
		ret = sink_read_sentinel(s);
	if (ret) {
		sink_disconnect(s);
		return ret;
	}
	if (s->ever_connected)
		s->st.reconnects++;
	redis_log(s->ever_connected ? REDIS_LOG_WARN : REDIS_LOG_INFO, "connected to %s (db %u)%s",
	          s->where, rc->db, s->ever_connected ? ": rewriting every peer" : "");
	s->ever_connected = true;
	s->sentinel_set = false;
	s->st.connected = 1;
	s->backoff_ms = 0;
	s->st.resyncs++;
	sink_new_epoch(s);
	return 0;
}

/* The sentinel is gone (FLUSHALL, FLUSHDB): Redis lost what this epoch wrote. */
static void sink_flushed(struct redis_sink *s, const char *when)
{
	redis_log(REDIS_LOG_WARN, "%s: %s is gone (FLUSHALL?) %s: rewriting every peer", s->where,
	          s->key_sentinel, when);
	s->st.flushes++;
	s->st.resyncs++;
	s->sentinel_set = false;
	sink_new_epoch(s);
}

/* ---- The batch ------------------------------------------------------------------------------- */

/* One reply of the pipeline: 0, 1 for a tolerated error (counted), -errno to drop the link. */
static int sink_reply_check(struct redis_sink *s, const redisReply *rep)
{
	if (rep->type == REDIS_REPLY_ARRAY) { /* EXEC: look inside */
		int worst = 0;

		for (size_t i = 0; i < rep->elements; i++) {
			int r = sink_reply_check(s, rep->element[i]);

			worst = r < 0 ? r : worst ? worst : r;
		}
		return worst;
	}
	if (rep->type != REDIS_REPLY_ERROR)
		return 0;
	/* A key of ours that someone replaced with another type: count it, keep going. */
	if (!strncmp(rep->str, "WRONGTYPE", 9)) {
		s->st.errors++;
		redis_log_rl(&s->rl_reply, REDIS_LOG_WARN, "%s: %.120s", s->where, rep->str);
		return 1;
	}
	sink_error(s, "%s: %.120s", s->where, rep->str);
	return -EPROTO;
}

static int sink_io_error(struct redis_sink *s)
{
	sink_error(s, "%s: %s", s->where, s->c->errstr[0] ? s->c->errstr : "connection lost");
	return -EIO;
}

/*
 * Read the replies of the batch on the wire, then commit what it wrote: the mirrors of its
 * peers and the ring position of its XADDs. Nothing is committed if any reply is bad.
 */
static int sink_collect(struct redis_sink *s)
{
	struct batch *b = &s->b[s->fill ^ 1];
	bool flushed = false;
	redisReply *rep;
	int bad = 0, r;

	if (!s->inflight)
		return 0;
	for (size_t i = 0; i < b->ncmd; i++) {
		if (redisGetReply(s->c, (void **)&rep) != REDIS_OK || !rep)
			return sink_io_error(s);
		r = sink_reply_check(s, rep);
		bad = r < 0 ? r : bad;
		if (i == b->sentinel_at && rep->type == REDIS_REPLY_NIL)
			flushed = true;
		freeReplyObject(rep);
	}
	if (bad)
		return bad;
	if (flushed)
		sink_flushed(s, "during the pass");
	for (size_t i = 0; i < b->npend; i++)
		s->mirror[b->pend[i].idx] = b->pend[i].m;
	s->st.writes += b->ncmd;
	s->st.peers_written += b->npend;
	s->st.last_pass_peers += b->npend;
	s->st.events_written += b->nevents;
	s->st.events_missed += b->missed;
	s->cur = b->cur;
	batch_reset(b);
	s->inflight = false;
	return 0;
}

/*
 * Put the filling batch on the wire, then collect the one sent before it (the server ran it
 * while this one filled), and start filling the other.
 */
static int sink_send(struct redis_sink *s)
{
	struct batch *b = &s->b[s->fill];
	int done = 0, ret;

	b->cur = s->cur_work;
	do {
		if (redisBufferWrite(s->c, &done) != REDIS_OK)
			return sink_io_error(s);
	} while (!done);
	ret = sink_collect(s);
	if (ret)
		return ret;
	s->fill ^= 1;
	s->inflight = true;
	return 0;
}

/* Make room for one more peer's commands. */
static int sink_room(struct redis_sink *s)
{
	const struct batch *b = &s->b[s->fill];

	return b->ncmd + PEER_CMDS_MAX > s->batch || b->npend >= s->batch ? sink_send(s) : 0;
}

/* The sentinel's value: "generation=G event_next=N pid=P updated=T". */
static void cmd_sentinel(struct redis_sink *s, uint64_t next, bool only_if_there)
{
	char v[160], t[TIME_TEXT_MAX];
	int n;

	redis_fmt_time(now_real_ns(), t, sizeof(t));
	n = snprintf(v, sizeof(v),
	             "generation=%" PRIu64 " event_next=%" PRIu64 " pid=%d updated=%s",
	             s->generation, next, (int)getpid(), t);
	cmd_begin(s);
	cmd_str(s, "SET");
	cmd_arg(s, s->key_sentinel, s->key_sentinel_len);
	cmd_arg(s, v, (size_t)n);
	if (only_if_there)
		cmd_str(s, "XX");
	cmd_end(s);
}

/*
 * Pass start. The sentinel exists from the first pass of an epoch on: when it is missing,
 * Redis was flushed without a reconnect, and everything is written again. A new epoch sets it
 * before it writes any peer, so a flush later in the pass removes it and the pass's closing
 * `SET … XX` notices (sink_collect()).
 */
static int sink_check_sentinel(struct redis_sink *s)
{
	const char *argv[] = {"EXISTS", s->key_sentinel};
	redisReply *rep;
	int ret = 0;

	if (s->sentinel_set) {
		rep = sink_command_argv(s, 2, argv);
		if (!rep)
			return -EIO;
		if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
			sink_flushed(s, "since the last pass");
		else if (rep->type == REDIS_REPLY_ERROR) {
			sink_error(s, "%s: EXISTS: %.80s", s->where, rep->str);
			ret = -EPROTO;
		}
		freeReplyObject(rep);
		if (ret || s->sentinel_set)
			return ret;
	}
	cmd_sentinel(s, s->cur.next, false);
	ret = sink_send(s);
	if (!ret)
		ret = sink_collect(s);
	s->sentinel_set = !ret;
	return ret;
}

/* ---- The table ------------------------------------------------------------------------------- */

static int sink_table_reset(struct redis_sink *s)
{
	const struct shm_header *h = shm_reader_header(s->r);

	free(s->mirror);
	s->slots = shm_reader_peer_slots(s->r);
	s->mirror = calloc(s->slots ? s->slots : 1, sizeof(*s->mirror));
	if (!s->mirror)
		return -ENOMEM;
	s->generation = h->generation;
	for (size_t i = 0; i < SHM_IFACES_MAX; i++)
		s->iface_class[i] = CLASS_UNKNOWN;
	s->have_cursor = false;
	sink_new_epoch(s);
	return 0;
}

/* Attach, or re-map a recreated table. 0 or -errno (-ENOENT: no table yet). */
static int sink_table(struct redis_sink *s)
{
	int ret;

	if (!s->r) {
		ret = shm_reader_attach(&s->r, s->shm);
		if (ret) {
			redis_log_rl(&s->rl_table, REDIS_LOG_WARN, "%s; waiting for it",
			             shm_reader_error());
			return ret;
		}
		redis_log(REDIS_LOG_INFO, "attached table %s", s->shm);
		return sink_table_reset(s);
	}
	ret = shm_reader_refresh(s->r);
	if (ret == 1) {
		redis_log(REDIS_LOG_WARN, "table %s was recreated: rewriting every peer", s->shm);
		s->st.resyncs++;
		return sink_table_reset(s);
	}
	if (ret < 0) /* the old mapping stays valid: keep mirroring it */
		redis_log_rl(&s->rl_table, REDIS_LOG_WARN, "%s", shm_reader_error());
	return 0;
}

/*
 * The class of an interface (CLASS_UNWANTED, CLASS_NO_TENANT or its tenant's index) and, in
 * *name, its name (valid until the next call: it points into s->iface_buf).
 */
static int sink_iface_class(struct redis_sink *s, uint32_t iface, const char **name)
{
	struct shm_iface *f = &s->iface_buf;
	const char *host;
	int cls;

	*name = "";
	if (iface >= SHM_IFACES_MAX)
		return config_iface_wanted(&s->cfg, "") ? CLASS_NO_TENANT : CLASS_UNWANTED;
	if (shm_reader_iface(s->r, iface, f))
		return CLASS_NO_TENANT;
	*name = f->name;
	if (s->iface_class[iface] != CLASS_UNKNOWN)
		return s->iface_class[iface];
	host = shm_reader_host_name(s->r, f->host);
	if (!config_iface_wanted(&s->cfg, f->name))
		cls = CLASS_UNWANTED;
	else
		cls = config_tenant_index(&s->cfg, host ? host : "", f->name);
	s->iface_class[iface] = (int16_t)cls;
	return cls;
}

/* The class only (the cached fast path). */
static int sink_class(struct redis_sink *s, uint32_t iface)
{
	const char *name;

	if (iface < SHM_IFACES_MAX && s->iface_class[iface] != CLASS_UNKNOWN)
		return s->iface_class[iface];
	return sink_iface_class(s, iface, &name);
}

static const char *sink_host(const struct redis_sink *s, uint32_t host)
{
	const char *name = shm_reader_host_name(s->r, host);

	return name && name[0] ? name : LOCAL_HOST_TEXT;
}

/* ---- One peer -------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static uint64_t peer_ident(const struct shm_peer *p)
{
	uint64_t w[6] = {p->iface, p->first_seen}, h = 1;

	memcpy(&w[2], &p->endpoint, sizeof(p->endpoint)); /* 28 of 32 bytes; the rest stays 0 */
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		h = mix64(h, w[i]);
	return h;
}

static bool kind_is_other(unsigned k)
{
	return k != PARSE_EV_KEEPALIVE_RECEIVED && k != PARSE_EV_KEEPALIVE_SENT &&
	       k != PARSE_EV_KEYPAIR_CREATED && k != PARSE_EV_HANDSHAKE_INITIATION_RECEIVED &&
	       k != PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED;
}

static void mirror_of(struct mirror *m, const struct shm_peer *p, int state, uint16_t epoch)
{
	memset(m, 0, sizeof(*m));
	m->seq = p->seq;
	m->state = (uint8_t)state;
	m->epoch = epoch;
	m->ka_rx = p->events[PARSE_EV_KEEPALIVE_RECEIVED];
	m->ka_tx = p->events[PARSE_EV_KEEPALIVE_SENT];
	m->kp = p->events[PARSE_EV_KEYPAIR_CREATED];
	m->hs_rx = p->events[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] +
	           p->events[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED];
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		if (kind_is_other(k))
			m->other += p->events[k];
	m->endpoint_changes = p->endpoint_changes;
	m->ident = peer_ident(p);
	m->flags = MIRROR_KNOWN | (state == SHM_STATE_REMOVED ? MIRROR_REMOVED : 0);
}

/* Which groups of fields to write. */
struct diff {
	bool full, seen, ka_rx, ka_tx, kp, hs_rx, other, ident, state;
};

static void diff_of(struct diff *d, const struct mirror *old, const struct mirror *new)
{
	d->full = old->epoch != new->epoch;
	d->ka_rx = d->full || old->ka_rx != new->ka_rx;
	d->ka_tx = d->full || old->ka_tx != new->ka_tx;
	d->kp = d->full || old->kp != new->kp;
	d->hs_rx = d->full || old->hs_rx != new->hs_rx;
	d->other = d->full || old->other != new->other;
	d->seen = d->ka_rx || d->ka_tx || d->kp || d->hs_rx || d->other;
	d->ident = d->full || old->ident != new->ident ||
	           old->endpoint_changes != new->endpoint_changes;
	d->state = d->full || old->state != new->state;
}

/* Everything a peer's commands need besides the slot. */
struct peer_ctx {
	const struct shm_peer *p;
	struct diff d;
	int cls, state;
	const char *host, *iface_name; /* iface_name: NULL until peer_iface() */
	char key[KEY_MAX], member[KEY_MAX], compat_key[48];
	size_t key_len, member_len, compat_key_len;
	bool endpoint_done; /* endpoint[] formatted ("" = none) */
	char endpoint[ENDPOINT_MAX];
};

/* The interface's name, read from the table on first use. */
static const char *peer_iface(struct redis_sink *s, struct peer_ctx *x)
{
	if (!x->iface_name)
		sink_iface_class(s, x->p->iface, &x->iface_name);
	return x->iface_name;
}

/* The endpoint as the kernel printed it ("" when none), formatted on first use. */
static const char *peer_endpoint(struct peer_ctx *x)
{
	const struct parse_endpoint *ep = &x->p->endpoint;

	if (!x->endpoint_done) {
		x->endpoint_done = true;
		x->endpoint[0] = '\0';
		if ((ep->af == PARSE_AF_INET || ep->af == PARSE_AF_INET6) &&
		    !parse_endpoint_format(ep, PARSE_STYLE_ENDPOINT, x->endpoint,
		                           sizeof(x->endpoint)))
			x->endpoint[0] = '\0';
	}
	return x->endpoint;
}

static void peer_hset_ident(struct redis_sink *s, struct peer_ctx *x)
{
	const struct shm_peer *p = x->p;
	char ip[ENDPOINT_MAX];

	cmd_str(s, "iface");
	cmd_str(s, peer_iface(s, x));
	cmd_str(s, "tenant");
	cmd_str(s, x->cls >= 0 ? s->cfg.tenant[x->cls].name : "");
	if (peer_endpoint(x)[0] &&
	    parse_endpoint_format(&p->endpoint, PARSE_STYLE_COMPRESSED, ip, sizeof(ip))) {
		cmd_str(s, "endpoint");
		cmd_str(s, x->endpoint);
		cmd_str(s, "ip");
		cmd_str(s, ip);
		cmd_field_u64(s, "port", p->endpoint.port);
	}
	cmd_field_u64(s, "endpoint_changes", p->endpoint_changes);
	cmd_field_time(s, "first_seen", p->first_seen);
}

/* HSET of the fields that changed, the volatile ones first (a new hash keeps that order). */
static void peer_hset(struct redis_sink *s, struct peer_ctx *x)
{
	const struct shm_peer *p = x->p;
	const struct diff *d = &x->d;

	cmd_begin(s);
	cmd_str(s, "HSET");
	cmd_arg(s, x->key, x->key_len);
	if (d->seen)
		cmd_field_time(s, "last_seen", p->last_seen);
	if (d->ka_rx) {
		cmd_field_time(s, "last_keepalive_rx", p->last_keepalive_rx);
		cmd_field_event(s, PARSE_EV_KEEPALIVE_RECEIVED,
		                p->events[PARSE_EV_KEEPALIVE_RECEIVED]);
	}
	if (d->ka_tx) {
		cmd_field_time(s, "last_keepalive_tx", p->last_keepalive_tx);
		cmd_field_event(s, PARSE_EV_KEEPALIVE_SENT, p->events[PARSE_EV_KEEPALIVE_SENT]);
	}
	if (d->kp) {
		cmd_field_time(s, "last_handshake", p->last_handshake);
		cmd_field_event(s, PARSE_EV_KEYPAIR_CREATED, p->events[PARSE_EV_KEYPAIR_CREATED]);
	}
	if (d->hs_rx) {
		cmd_field_time(s, "last_handshake_rx", p->last_handshake_rx);
		cmd_field_event(s, PARSE_EV_HANDSHAKE_INITIATION_RECEIVED,
		                p->events[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED]);
		cmd_field_event(s, PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED,
		                p->events[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED]);
	}
	if (d->ident)
		peer_hset_ident(s, x);
	if (d->state) {
		cmd_str(s, "state");
		cmd_str(s, shm_state_name(x->state));
	}
	for (unsigned k = 1; d->other && k < PARSE_EV__COUNT; k++)
		if (kind_is_other(k))
			cmd_field_event(s, k, p->events[k]);
	if (s->cmd_argc > 2)
		cmd_end(s);
}

/* The sorted set by last handshake, and the expiry of removed peers. */
static void peer_index(struct redis_sink *s, const struct peer_ctx *x, bool was_removed)
{
	bool removed = x->state == SHM_STATE_REMOVED, full = x->d.full;

	cmd_begin(s);
	if (removed && (full || !was_removed)) {
		cmd_str(s, "ZREM");
		cmd_arg(s, s->key_zset, s->key_zset_len);
		cmd_arg(s, x->member, x->member_len);
		cmd_end(s);
		cmd_begin(s);
		cmd_str(s, "EXPIRE");
		cmd_arg(s, x->key, x->key_len);
		cmd_u64(s, s->cfg.redis.removed_ttl);
		cmd_end(s);
		return;
	}
	if (removed)
		return;
	if (full || x->d.kp || was_removed) {
		cmd_str(s, "ZADD");
		cmd_arg(s, s->key_zset, s->key_zset_len);
		cmd_time(s, x->p->last_handshake);
		cmd_arg(s, x->member, x->member_len);
		cmd_end(s);
	}
	if (was_removed && !full) {
		cmd_begin(s);
		cmd_str(s, "PERSIST");
		cmd_arg(s, x->key, x->key_len);
		cmd_end(s);
	}
}

/*
 * The replaced tool's hash: `wireguard_peer:{peer}` with `handshake` and the endpoint's `ip`
 * and `port` once a handshake packet was received, `keepalive` once a keepalive was.
 */
static void peer_compat(struct redis_sink *s, struct peer_ctx *x)
{
	const struct shm_peer *p = x->p;
	const struct diff *d = &x->d;
	char ip[ENDPOINT_MAX], port[ENDPOINT_MAX], t[TIME_TEXT_MAX];

	cmd_begin(s);
	cmd_str(s, "HSET");
	cmd_arg(s, x->compat_key, x->compat_key_len);
	if (p->last_handshake_rx && (d->hs_rx || d->ident) && peer_endpoint(x)[0] &&
	    !redis_compat_split(x->endpoint, ip, sizeof(ip), port, sizeof(port))) {
		cmd_str(s, "ip");
		cmd_str(s, ip);
		cmd_str(s, "port");
		cmd_str(s, port);
	}
	if (p->last_handshake_rx && d->hs_rx) {
		cmd_str(s, "handshake");
		cmd_arg(s, t, redis_fmt_compat_time(p->last_handshake_rx, t, sizeof(t)));
	}
	if (p->last_keepalive_rx && d->ka_rx) {
		cmd_str(s, "keepalive");
		cmd_arg(s, t, redis_fmt_compat_time(p->last_keepalive_rx, t, sizeof(t)));
	}
	if (s->cmd_argc > 2)
		cmd_end(s);
}

/* XADD key MAXLEN ~ N * event NAME host H iface I — the caller adds fields and ends it. */
static void xadd_begin(struct redis_sink *s, const char *event, const char *host, const char *iface)
{
	cmd_begin(s);
	cmd_str(s, "XADD");
	cmd_arg(s, s->key_stream, s->key_stream_len);
	cmd_str(s, "MAXLEN");
	cmd_str(s, "~");
	cmd_u64(s, s->cfg.redis.stream_maxlen);
	cmd_str(s, "*");
	cmd_str(s, "event");
	cmd_str(s, event);
	cmd_str(s, "host");
	cmd_str(s, host);
	cmd_str(s, "iface");
	cmd_str(s, iface);
}

static void xadd_endpoint(struct redis_sink *s, const char *field, const struct parse_endpoint *ep)
{
	char text[ENDPOINT_MAX];

	if ((ep->af == PARSE_AF_INET || ep->af == PARSE_AF_INET6) &&
	    parse_endpoint_format(ep, PARSE_STYLE_ENDPOINT, text, sizeof(text))) {
		cmd_str(s, field);
		cmd_str(s, text);
	}
}

/* Stream entries for what only the slot shows: endpoint and state changes. */
static void peer_stream(struct redis_sink *s, struct peer_ctx *x, const struct mirror *old,
                        uint64_t now)
{
	const struct shm_peer *p = x->p;
	struct batch *b = &s->b[s->fill];

	if (!(old->flags & MIRROR_KNOWN))
		return;
	if (p->endpoint_changes != old->endpoint_changes) {
		xadd_begin(s, "endpoint_changed", x->host, peer_iface(s, x));
		cmd_field_u64(s, "peer", p->peer);
		xadd_endpoint(s, "endpoint", &p->endpoint);
		xadd_endpoint(s, "previous", &p->prev_endpoint);
		cmd_field_u64(s, "changes", p->endpoint_changes - old->endpoint_changes);
		cmd_field_time(s, "time", p->endpoint_changed_at);
		cmd_end(s);
		b->nevents++;
	}
	if (x->state != old->state) {
		xadd_begin(s, "state_changed", x->host, peer_iface(s, x));
		cmd_field_u64(s, "peer", p->peer);
		cmd_str(s, "from");
		cmd_str(s, shm_state_name(old->state));
		cmd_str(s, "to");
		cmd_str(s, shm_state_name(x->state));
		cmd_field_time(s, "time", now);
		cmd_end(s);
		b->nevents++;
	}
}

/* dst = a + b + decimal(v): the key builders (no printf on this path). */
static size_t key_cat(char *dst, const char *a, size_t alen, const char *b, size_t blen, uint64_t v)
{
	memcpy(dst, a, alen);
	memcpy(dst + alen, b, blen);
	return alen + blen + fmt_u64(v, dst + alen + blen);
}

/* member "{host}:{peer}", key "{prefix}peer:{member}", compat key "wireguard_peer:{peer}". */
static void peer_keys(struct redis_sink *s, struct peer_ctx *x)
{
	const struct shm_peer *p = x->p;
	size_t hlen;

	x->host = sink_host(s, p->host);
	hlen = strlen(x->host); /* <= SHM_HOST_NAME_MAX: every key fits */
	x->member_len = key_cat(x->member, x->host, hlen, ":", 1, p->peer);
	memcpy(x->key, s->key_peer, s->key_peer_len);
	memcpy(x->key + s->key_peer_len, x->member, x->member_len);
	x->key_len = s->key_peer_len + x->member_len;
	x->compat_key_len = key_cat(x->compat_key, "wireguard_peer:", 15, "", 0, p->peer);
}

/*
 * Append what peer slot `idx` needs and queue its new mirror for the batch's commit. A full
 * write (a peer this epoch has not written) replaces the hashes atomically: MULTI, DEL, HSET …,
 * EXEC, so leftovers of an older table never survive and readers never see a half hash.
 */
static int sink_peer(struct redis_sink *s, uint64_t idx, const struct shm_peer *p, int cls,
                     int state, uint64_t now)
{
	const struct mirror *old = &s->mirror[idx];
	struct peer_ctx x = {.p = p, .cls = cls, .state = state};
	bool was_removed = old->epoch == s->epoch && (old->flags & MIRROR_REMOVED);
	struct pending *pe;
	int ret = sink_room(s);

	if (ret)
		return ret;
	pe = &s->b[s->fill].pend[s->b[s->fill].npend];
	mirror_of(&pe->m, p, state, s->epoch);
	diff_of(&x.d, old, &pe->m);
	peer_keys(s, &x);
	if (x.d.full) {
		cmd_simple(s, "MULTI", NULL);
		cmd_begin(s);
		cmd_str(s, "DEL");
		cmd_arg(s, x.key, x.key_len);
		if (s->cfg.redis.compat)
			cmd_arg(s, x.compat_key, x.compat_key_len);
		cmd_end(s);
	}
	peer_hset(s, &x);
	peer_index(s, &x, was_removed);
	if (s->cfg.redis.compat)
		peer_compat(s, &x);
	if (x.d.full)
		cmd_simple(s, "EXEC", NULL);
	peer_stream(s, &x, old, now);
	pe->idx = idx;
	s->b[s->fill].npend++;
	return 0;
}

/* ---- The pass -------------------------------------------------------------------------------- */

static uint64_t sink_stale_ns(const struct redis_sink *s, int cls)
{
	return s->stale_ns[cls < 0 ? 0 : cls + 1];
}

/* Every used slot: snapshot, derive the state, write it if anything moved. */
static int sink_scan(struct redis_sink *s, uint64_t now)
{
	const uint64_t slots = s->slots;
	uint64_t tracked = 0;
	struct shm_peer p;
	int ret, cls, state;

	for (uint64_t i = shm_reader_peer_next(s->r, 0); i < slots;
	     i = shm_reader_peer_next(s->r, i + 1)) {
		const struct mirror *m = &s->mirror[i];

		ret = shm_reader_peer_snapshot(s->r, i, &p);
		if (ret == -EAGAIN) {
			redis_log_rl(&s->rl_busy, REDIS_LOG_WARN,
			             "slot %" PRIu64 " stayed busy; next pass", i);
			continue;
		}
		if (ret)
			continue;
		cls = sink_class(s, p.iface);
		if (cls == CLASS_UNWANTED)
			continue;
		tracked++;
		state = shm_peer_state(&p, now, sink_stale_ns(s, cls));
		if (m->epoch == s->epoch && m->seq == p.seq && m->state == state)
			continue;
		ret = sink_peer(s, i, &p, cls, state, now);
		if (ret)
			return ret;
	}
	s->st.peers_tracked = tracked;
	return 0;
}

static bool kind_is_notable(unsigned k)
{
	switch (k) {
	case PARSE_EV_PEER_CREATED:
	case PARSE_EV_PEER_DESTROYED:
	case PARSE_EV_INTERFACE_CREATED:
	case PARSE_EV_INTERFACE_DESTROYED:
	case PARSE_EV_HANDSHAKE_GAVE_UP:
	case PARSE_EV_KEYS_ZEROED: return true;
	default: return false;
	}
}

static void sink_xadd_event(struct redis_sink *s, const struct shm_event *e, const char *iface)
{
	xadd_begin(s, parse_event_name(e->kind), sink_host(s, e->host), iface);
	if (e->fields & PARSE_F_PEER)
		cmd_field_u64(s, "peer", e->peer);
	if (e->fields & PARSE_F_ENDPOINT)
		xadd_endpoint(s, "endpoint", &e->endpoint);
	if (e->kind == PARSE_EV_HANDSHAKE_GAVE_UP)
		cmd_field_u64(s, "attempts", e->n[0]);
	if (e->kind == PARSE_EV_KEYS_ZEROED)
		cmd_field_u64(s, "seconds", e->n[0]);
	cmd_field_time(s, "time", e->time);
	cmd_end(s);
	s->b[s->fill].nevents++;
}

/* Where to start following the ring: where the last run stopped, else its oldest record. */
static void sink_cursor_start(struct redis_sink *s)
{
	const struct shm_header *h = shm_reader_header(s->r);
	uint64_t head = __atomic_load_n(&h->event_head, __ATOMIC_RELAXED); /* a position only */

	if (s->sentinel_gen == s->generation && s->sentinel_next <= head)
		s->cur.next = s->sentinel_next;
	else
		shm_reader_events_begin(s->r, &s->cur, h->event_capacity);
	s->have_cursor = true;
}

/* The notable events that reached the ring since the last committed position. */
static int sink_events(struct redis_sink *s)
{
	struct shm_event e;
	uint64_t missed;
	const char *iface;
	int ret, cls;

	for (;;) {
		int got = shm_reader_events_next(s->r, &s->cur_work, &e, &missed);

		s->b[s->fill].missed += missed;
		if (!got)
			return 0;
		if (!kind_is_notable(e.kind))
			continue;
		cls = sink_iface_class(s, e.iface, &iface);
		if (cls == CLASS_UNWANTED)
			continue;
		ret = sink_room(s);
		if (ret)
			return ret;
		sink_xadd_event(s, &e, iface);
	}
}

/* Last of a pass: refresh the sentinel if it is still there (ring position for a restart). */
static int sink_finish(struct redis_sink *s)
{
	int ret;

	s->b[s->fill].sentinel_at = s->b[s->fill].ncmd;
	cmd_sentinel(s, s->cur_work.next, true);
	ret = sink_send(s);
	return ret ? ret : sink_collect(s);
}

/* A Redis failure: drop the link, back off, and count every peer as pending (resync). */
static void sink_failed(struct redis_sink *s)
{
	const struct shm_header *h = s->r ? shm_reader_header(s->r) : NULL;

	s->st.passes_failed++;
	sink_disconnect(s);
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : REDIS_BACKOFF_MIN_MS;
	if (s->backoff_ms > REDIS_BACKOFF_MAX_MS)
		s->backoff_ms = REDIS_BACKOFF_MAX_MS;
	s->st.backoff_ms = s->backoff_ms;
	s->st.peers_pending = h ? __atomic_load_n(&h->peers_used, __ATOMIC_RELAXED) : 0;
	redis_log_rl(&s->rl_connect, REDIS_LOG_ERROR, "%s (retrying in %.1f s)", s->st.last_error,
	             (double)s->backoff_ms / 1000.0);
}

int redis_sink_pass(struct redis_sink *s)
{
	uint64_t t0 = now_mono_ns(), now = now_real_ns();
	int ret;

	s->st.last_pass_peers = 0;
	ret = sink_table(s);
	if (ret) { /* no table (yet): nothing to write, and not Redis's fault */
		s->st.passes_failed++;
		goto publish;
	}
	ret = s->c ? 0 : sink_connect(s);
	if (!ret && !s->have_cursor)
		sink_cursor_start(s);
	s->cur_work = s->cur; /* a failed pass left it past the committed position */
	if (!ret)
		ret = sink_check_sentinel(s);
	if (!ret)
		ret = sink_scan(s, now);
	if (!ret)
		ret = sink_events(s);
	if (!ret)
		ret = sink_finish(s);
	if (ret) {
		sink_failed(s);
	} else {
		s->st.passes++;
		s->st.last_pass_ns = now_mono_ns() - t0;
		s->st.peers_pending = 0;
		s->st.backoff_ms = 0;
	}
publish:
	s->st.updated_at = now_real_ns();
	redis_stats_publish(&s->st_shm, &s->st);
	return ret;
}

uint64_t redis_sink_delay_ms(const struct redis_sink *s)
{
	return s->backoff_ms ? s->backoff_ms : s->cfg.redis.interval_ms;
}

const struct redis_stats *redis_sink_stats(const struct redis_sink *s)
{
	return &s->st;
}

/* ---- Life cycle ------------------------------------------------------------------------------ */

static void sink_names(struct redis_sink *s, const char *instance)
{
	const struct config_redis *rc = &s->cfg.redis;
	char inst[REDIS_INSTANCE_MAX];
	struct utsname u;
	int n;

	if (!instance) {
		if (uname(&u) < 0)
			snprintf(u.nodename, sizeof(u.nodename), "localhost");
		snprintf(inst, sizeof(inst), "%.64s:%.255s", u.nodename, s->shm);
		instance = inst;
	}
	n = snprintf(s->key_peer, sizeof(s->key_peer), "%speer:", rc->prefix);
	s->key_peer_len = (size_t)n;
	n = snprintf(s->key_zset, sizeof(s->key_zset), "%shandshake", rc->prefix);
	s->key_zset_len = (size_t)n;
	n = snprintf(s->key_stream, sizeof(s->key_stream), "%sevents", rc->prefix);
	s->key_stream_len = (size_t)n;
	n = snprintf(s->key_sentinel, sizeof(s->key_sentinel), "%ssink:%s", rc->prefix, instance);
	s->key_sentinel_len =
	        (size_t)n < sizeof(s->key_sentinel) ? (size_t)n : sizeof(s->key_sentinel) - 1;
	if (rc->socket[0])
		snprintf(s->where, sizeof(s->where), "redis unix:%s", rc->socket);
	else if (strchr(rc->host, ':'))
		snprintf(s->where, sizeof(s->where), "redis [%s]:%u", rc->host, rc->port);
	else
		snprintf(s->where, sizeof(s->where), "redis %s:%u", rc->host, rc->port);
}

static void sink_stale_table(struct redis_sink *s)
{
	s->stale_ns[0] = (uint64_t)config_stale_after(&s->cfg, NULL) * 1000000000ull;
	for (uint32_t t = 0; t < s->cfg.n_tenant && t < CONFIG_TENANT_MAX; t++)
		s->stale_ns[t + 1] = (uint64_t)config_stale_after(&s->cfg, s->cfg.tenant[t].name) *
		                     1000000000ull;
}

int redis_sink_new(struct redis_sink **out, const struct wgmon_config *cfg,
                   const struct redis_sink_opts *o)
{
	struct redis_sink *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	snprintf(s->shm, sizeof(s->shm), "%s", o->shm ? o->shm : cfg->wgmond.shm);
	s->batch = cfg->redis.batch > PEER_CMDS_MAX ? cfg->redis.batch : PEER_CMDS_MAX;
	s->b[0].pend = calloc(s->batch + 1, sizeof(*s->b[0].pend));
	s->b[1].pend = calloc(s->batch + 1, sizeof(*s->b[1].pend));
	if (!s->b[0].pend || !s->b[1].pend) {
		ret = -ENOMEM;
		goto free_pend;
	}
	batch_reset(&s->b[0]);
	batch_reset(&s->b[1]);
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		s->ev_field_len[k] = (uint8_t)snprintf(s->ev_field[k], sizeof(s->ev_field[k]),
		                                       "ev:%s", parse_event_name(k));
	sink_names(s, o->instance);
	sink_stale_table(s);
	s->st_shm.fd = -1;
	if (o->publish_stats) {
		ret = redis_stats_open(&s->st_shm, s->shm);
		if (ret)
			goto free_pend;
	}
	if (o->figures) { /* a reload: the counters go on; the rest is this sink's */
		s->st = *o->figures;
		s->st.connected = 0;
		s->st.backoff_ms = 0;
	}
	memcpy(s->st.magic, REDIS_STATS_MAGIC, sizeof(s->st.magic));
	s->st.abi = REDIS_STATS_ABI;
	s->st.size = sizeof(s->st);
	s->st.pid = (uint32_t)getpid();
	s->st.running = 1;
	s->st.updated_at = now_real_ns();
	if (!o->figures)
		s->st.started_at = s->st.updated_at;
	redis_stats_publish(&s->st_shm, &s->st);
	*out = s;
	return 0;
free_pend:
	free(s->b[0].pend);
	free(s->b[1].pend);
	free(s);
	return ret;
}

void redis_sink_free(struct redis_sink *s)
{
	if (!s)
		return;
	sink_disconnect(s);
	redis_stats_close(&s->st_shm, &s->st);
	shm_reader_detach(s->r);
	free(s->mirror);
	free(s->b[0].pend);
	free(s->b[1].pend);
	free(s);
}
