/* SPDX-License-Identifier: MIT */
/*
 * render.c — the table as a Prometheus text exposition (format 0.0.4), in one pass over the
 * peers. Each per-peer family goes to its own section, so every family stays contiguous without
 * a second pass; interfaces and tenants are summed during the pass and written after it.
 * Nothing on the per-peer path uses printf: names are escaped once and cached, numbers are
 * formatted by hand, and each section reserves room for a whole line before writing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/metrics/metrics_internal.h"
#include "tools/config.h"

#define HOST_ESC_MAX     (3 * SHM_HOST_NAME_MAX + 3) /* escaped host name, worst case */
#define IFACE_ESC_MAX    (3 * SHM_IFACE_NAME_MAX + 3)
#define TENANT_ESC_MAX   (3 * CONFIG_NAME_LEN)
#define EVENT_NAME_MAX   40
#define ENDPOINT_MAX     64   /* parse_endpoint_format() never needs more */
#define LABELS_MAX       1536 /* every label set of one sample fits */
#define LINE_MAX_BYTES   2048 /* name + labels + value of one sample */
#define SEC_INITIAL      (64 * 1024)
#define SEC_SHRINK_BYTES (1u << 20)        /* buffers above this shrink when 4x too large */
#define NO_TENANT        CONFIG_TENANT_MAX /* the slot of peers no tenant claims */
#define COMPAT_INITIAL   1024

/* The opt-in per-peer families the budget applies to (wgmon_series_dropped_total{family}). */
enum budget_family {
	BUDGET_PEER_EVENTS = 0,
	BUDGET_COMPAT_EVENTS,
	BUDGET_COMPAT_CHANGES,
	BUDGET__COUNT
};

static const char *const budget_names[BUDGET__COUNT] = {
        "wgmon_peer_events_total",
        "wg_peer_monitoring_wg_wireguard_events_total",
        "wg_peer_monitoring_wg_peer_changes_total",
};

struct esc_name {
	uint16_t len;
	int16_t tenant; /* slot in the tenant tables (NO_TENANT: none) */
	uint32_t host;  /* interfaces: their host index */
};

struct host_name {
	struct esc_name n;
	char s[HOST_ESC_MAX];
};

struct iface_name {
	struct esc_name n;
	char s[IFACE_ESC_MAX];
};

struct short_name {
	uint16_t len;
	char s[TENANT_ESC_MAX];
};

/* The replaced tool's counters of one peer id, summed over hosts as it summed them. */
struct compat_peer {
	uint64_t peer, handshakes, keepalives, changes;
};

struct metrics_renderer {
	struct metrics_opts o;
	uint32_t n_tenants;
	uint64_t stale_ns[CONFIG_TENANT_MAX + 1];
	struct short_name tenant[CONFIG_TENANT_MAX + 1];
	struct short_name event[PARSE_EV__COUNT];

	struct host_name *hosts; /* escaped names of host indices [0, n_hosts) */
	uint32_t n_hosts;
	struct iface_name *ifaces; /* ... of interface indices [0, n_ifaces) */
	uint32_t n_ifaces;

	/* this render's aggregates */
	uint32_t (*iface_states)[METRICS_STATES];
	uint64_t tenant_states[CONFIG_TENANT_MAX + 1][METRICS_STATES];
	uint64_t tenant_events[CONFIG_TENANT_MAX + 1][SHM_EVENT_KINDS];
	uint64_t budget_used[BUDGET__COUNT];
	bool budget_full[BUDGET__COUNT];
	uint64_t dropped[BUDGET__COUNT];       /* this render */
	uint64_t dropped_total[BUDGET__COUNT]; /* since start */
	struct metrics_buf scratch;

	struct compat_peer *compat; /* in order of first sight */
	size_t n_compat, cap_compat;
	uint32_t *compat_index; /* open addressing: 1 + index into compat, 0 = empty */
	size_t compat_slots;    /* 4 * cap_compat, a power of two */
};

/* One render in progress. */
struct rctx {
	struct metrics_renderer *rd;
	const struct shm_reader *r;
	struct metrics_body *out;
	uint64_t now;
	uint64_t samples, peers, busy;
	int err;
};

/* ---- Bytes ---------------------------------------------------------------------------------- */

static char *put(char *d, const char *s, size_t n)
{
	memcpy(d, s, n);
	return d + n;
}

#define PUT_LIT(d, lit) put((d), (lit), sizeof(lit) - 1)

static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "6869707172737475767778798081828384858687888990919293949596979899";

static char *put_u64(char *d, uint64_t v)
{
	char tmp[20];
	char *t = tmp + sizeof(tmp);

	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;

		v /= 100;
		*--t = digits2[i + 1];
		*--t = digits2[i];
	}
	if (v >= 10) {
		*--t = digits2[v * 2 + 1];
		*--t = digits2[v * 2];
	} else {
		*--t = (char)('0' + v);
	}
	return put(d, t, (size_t)(tmp + sizeof(tmp) - t));
}

/* Nanoseconds as seconds with six decimals: what a float64 holds exactly enough for a date. */
static char *put_seconds(char *d, uint64_t ns)
{
	uint64_t us = ns / 1000 % 1000000;

	d = put_u64(d, ns / 1000000000ull);
	*d++ = '.';
	for (int i = 5; i >= 0; i--, us /= 10)
		d[i] = (char)('0' + us % 10);
	return d + 6;
}

static int buf_grow(struct metrics_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : SEC_INITIAL;
	char *p;

	while (cap - b->len < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Give back most of a buffer a bigger table once needed. */
static void buf_trim(struct metrics_buf *b)
{
	size_t cap = b->len * 2 > SEC_INITIAL ? b->len * 2 : SEC_INITIAL;
	char *p;

	if (b->cap <= SEC_SHRINK_BYTES || b->cap / 4 <= b->len)
		return;
	p = realloc(b->p, cap);
	if (p) {
		b->p = p;
		b->cap = cap;
	}
}

/* ---- Escaping ------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t metrics_escape(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	char *d = dst;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(s + i, n - i);

		if (k == 0) {
			d = PUT_LIT(d, "\xef\xbf\xbd"); /* U+FFFD for each byte that is not UTF-8 */
			i++;
			continue;
		}
		if (s[i] == '\\' || s[i] == '"') {
			*d++ = '\\';
			*d++ = (char)s[i];
		} else if (s[i] == '\n') {
			d = PUT_LIT(d, "\\n");
		} else {
			d = put(d, (const char *)s + i, k);
		}
		i += k;
	}
	return (size_t)(d - dst);
}

/* ---- Sections and samples ------------------------------------------------------------------ */

/* Section SEC_SCRATCH is the renderer's scratch buffer, appended to a real section later. */
#define SEC_SCRATCH METRICS_SEC__COUNT

static struct metrics_buf *sec_buf(struct rctx *c, int sec)
{
	return sec == SEC_SCRATCH ? &c->rd->scratch : &c->out->sec[sec];
}

/* Room for `need` more bytes at the end of section `sec`, or NULL (c->err set). */
static char *sec_reserve(struct rctx *c, int sec, size_t need)
{
	struct metrics_buf *b = sec_buf(c, sec);

	if (c->err)
		return NULL;
	if (b->cap - b->len < need && buf_grow(b, need) < 0) {
		c->err = -ENOMEM;
		return NULL;
	}
	return b->p + b->len;
}

static void sec_commit(struct rctx *c, int sec, const char *end)
{
	struct metrics_buf *b = sec_buf(c, sec);

	b->len = (size_t)(end - b->p);
}

static void sec_append(struct rctx *c, int sec, const char *s, size_t n)
{
	char *d = sec_reserve(c, sec, n);

	if (d)
		sec_commit(c, sec, put(d, s, n));
}

static void family(struct rctx *c, int sec, const char *name, const char *type, const char *help)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	                 type);

	sec_append(c, sec, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* A label set under construction; values are given already escaped. */
struct labels {
	size_t len;
	char s[LABELS_MAX];
};

static void lab_init(struct labels *l)
{
	l->len = 0;
}

static void lab_add(struct labels *l, const char *key, const char *val, size_t vlen)
{
	char *d = l->s + l->len;
	size_t klen = strlen(key);

	if (l->len + klen + vlen + 5 > sizeof(l->s))
		return; /* cannot happen with the sizes above; never overflow anyway */
	if (l->len)
		*d++ = ',';
	d = put(d, key, klen);
	d = PUT_LIT(d, "=\"");
	d = put(d, val, vlen);
	*d++ = '"';
	l->len = (size_t)(d - l->s);
}

static void lab_add_str(struct labels *l, const char *key, const char *val)
{
	lab_add(l, key, val, strlen(val));
}

/* name{labels} — the part of a sample line before the value. */
static char *put_series(char *d, const char *name, size_t nlen, const char *lab, size_t llen)
{
	d = put(d, name, nlen);
	if (llen) {
		*d++ = '{';
		d = put(d, lab, llen);
		*d++ = '}';
	}
	*d++ = ' ';
	return d;
}

enum value_kind { VAL_U64, VAL_SECONDS };

static void sample_raw(struct rctx *c, int sec, const char *name, size_t nlen, const char *lab,
                       size_t llen, enum value_kind k, uint64_t v)
{
	char *d = sec_reserve(c, sec, LINE_MAX_BYTES);

	if (!d)
		return;
	d = put_series(d, name, nlen, lab, llen);
	d = k == VAL_U64 ? put_u64(d, v) : put_seconds(d, v);
	*d++ = '\n';
	sec_commit(c, sec, d);
	c->samples++;
}

static void sample(struct rctx *c, int sec, const char *name, const struct labels *l, uint64_t v)
{
	sample_raw(c, sec, name, strlen(name), l ? l->s : "", l ? l->len : 0, VAL_U64, v);
}

static void sample_seconds(struct rctx *c, int sec, const char *name, const struct labels *l,
                           uint64_t ns)
{
	sample_raw(c, sec, name, strlen(name), l ? l->s : "", l ? l->len : 0, VAL_SECONDS, ns);
}

/* A family of one unlabelled sample. */
static void single(struct rctx *c, int sec, const char *name, const char *type, const char *help,
                   uint64_t v)
{
	family(c, sec, name, type, help);
	sample(c, sec, name, NULL, v);
}

/* ---- Names: escaped once, cached by index ----------------------------------------------------- */

static int tenant_slot(const struct metrics_renderer *rd, const char *host, const char *iface)
{
	int t = rd->o.cfg ? config_tenant_index(rd->o.cfg, host, iface) : -1;

	return t >= 0 && t < (int)rd->n_tenants ? t : NO_TENANT;
}

/*
 * Escape the hosts and interfaces published since the last call. ifaces_used is loaded before
 * hosts_used: an interface's host is interned before the interface, so every host an interface
 * names is then below hosts_used.
 */
static void names_sync(struct metrics_renderer *rd, const struct shm_reader *r)
{
	const struct shm_header *h = shm_reader_header(r);
	/* Pairs with the writer's release stores of the two counts: entries below are complete. */
	uint32_t ni = __atomic_load_n(&h->ifaces_used, __ATOMIC_ACQUIRE);
	uint32_t nh = __atomic_load_n(&h->hosts_used, __ATOMIC_ACQUIRE);
	struct shm_iface e;

	for (; rd->n_hosts < nh && rd->n_hosts < SHM_HOSTS_MAX; rd->n_hosts++) {
		struct host_name *hn = &rd->hosts[rd->n_hosts];
		const char *name = shm_reader_host_name(r, rd->n_hosts);

		name = name ? name : "";
		hn->n.len = (uint16_t)metrics_escape(hn->s, name, strnlen(name, SHM_HOST_NAME_MAX));
		hn->n.tenant = (int16_t)tenant_slot(rd, name, "");
	}
	for (; rd->n_ifaces < ni && rd->n_ifaces < SHM_IFACES_MAX; rd->n_ifaces++) {
		struct iface_name *in = &rd->ifaces[rd->n_ifaces];
		const char *host;

		if (shm_reader_iface(r, rd->n_ifaces, &e) < 0 || e.host >= rd->n_hosts)
			break; /* not there yet: the next render takes it */
		e.name[SHM_IFACE_NAME_MAX] = '\0';
		host = shm_reader_host_name(r, e.host);
		memset(rd->iface_states[rd->n_ifaces], 0, sizeof(rd->iface_states[0]));
		in->n.host = e.host;
		in->n.len = (uint16_t)metrics_escape(in->s, e.name, strlen(e.name));
		in->n.tenant = (int16_t)tenant_slot(rd, host ? host : "", e.name);
	}
}

static const struct host_name *host_of(struct rctx *c, uint32_t host)
{
	static const struct host_name none = {.n = {0, NO_TENANT, 0}};

	if (host >= c->rd->n_hosts)
		names_sync(c->rd, c->r);
	return host < c->rd->n_hosts ? &c->rd->hosts[host] : &none;
}

static const struct iface_name *iface_of(struct rctx *c, uint32_t iface)
{
	if (iface == SHM_NO_IFACE)
		return NULL;
	if (iface >= c->rd->n_ifaces)
		names_sync(c->rd, c->r);
	return iface < c->rd->n_ifaces ? &c->rd->ifaces[iface] : NULL;
}

void metrics_renderer_reset(struct metrics_renderer *rd)
{
	rd->n_hosts = 0;
	rd->n_ifaces = 0;
}

/* ---- The head: build, table, writer, pipeline ---------------------------------------------- */

static void head_build(struct rctx *c, bool attached)
{
	struct labels l;

	lab_init(&l);
	lab_add_str(&l, "version", WGMON_VERSION);
	family(c, METRICS_SEC_HEAD, "wgmon_build_info", "gauge", "wgmon's version; always 1.");
	sample(c, METRICS_SEC_HEAD, "wgmon_build_info", &l, 1);
	single(c, METRICS_SEC_HEAD, "wgmon_table_attached", "gauge",
	       "1 while wgmon-metrics has the shared-memory table mapped.", attached);
}

static void head_table(struct rctx *c, const struct shm_stats *st)
{
	const int s = METRICS_SEC_HEAD;

	single(c, s, "wgmon_table_generation", "gauge",
	       "Generation of the table (bumped when it is recreated).", st->generation);
	single(c, s, "wgmon_table_peers", "gauge",
	       "Peers in the table (a destroyed peer keeps its slot).", st->peers);
	single(c, s, "wgmon_table_capacity", "gauge", "Peers the table can hold.",
	       st->peer_capacity);
	single(c, s, "wgmon_table_hosts", "gauge", "Hosts interned in the table.", st->hosts);
	single(c, s, "wgmon_table_interfaces", "gauge", "Interfaces interned in the table.",
	       st->ifaces);
	if (st->heartbeat) {
		family(c, s, "wgmon_writer_heartbeat_age_seconds", "gauge",
		       "Seconds since wgmond's last heartbeat, when this exposition was rendered.");
		sample_seconds(c, s, "wgmon_writer_heartbeat_age_seconds", NULL,
		               c->now > st->heartbeat ? c->now - st->heartbeat : 0);
	}
	if (st->writer_start) {
		family(c, s, "wgmon_writer_start_timestamp_seconds", "gauge",
		       "When the current wgmond attached to the table.");
		sample_seconds(c, s, "wgmon_writer_start_timestamp_seconds", NULL,
		               st->writer_start);
	}
}

static void head_pipeline(struct rctx *c, const struct shm_stats *st)
{
	const int s = METRICS_SEC_HEAD;
	struct labels l;

	single(c, s, "wgmon_ingest_datagrams_total", "counter",
	       "Datagrams (kmsg records, file chunks) wgmond received.", st->datagrams);
	single(c, s, "wgmon_ingest_bytes_total", "counter", "Bytes of those datagrams.", st->bytes);
	single(c, s, "wgmon_ingest_lines_total", "counter",
	       "Lines handed to the parser, accepted or not.", st->lines);
	family(c, s, "wgmon_ingest_dropped_total", "counter", "Input wgmond dropped, by reason.");
	for (unsigned d = 0; d < SHM_DROP__COUNT; d++) {
		lab_init(&l);
		lab_add_str(&l, "reason", shm_drop_name(d));
		sample(c, s, "wgmon_ingest_dropped_total", &l, st->dropped[d]);
	}
	family(c, s, "wgmon_parse_rejected_total", "counter",
	       "Lines the parser rejected, by reason.");
	for (unsigned k = PARSE_OK + 1; k < PARSE_REJECT__COUNT; k++) {
		lab_init(&l);
		lab_add_str(&l, "reason", parse_reject_name(k));
		sample(c, s, "wgmon_parse_rejected_total", &l, st->rejected[k]);
	}
	family(c, s, "wgmon_events_total", "counter", "Events applied to the table, by kind.");
	for (unsigned k = PARSE_EV_NONE + 1; k < PARSE_EV__COUNT; k++) {
		lab_init(&l);
		lab_add(&l, "event", c->rd->event[k].s, c->rd->event[k].len);
		sample(c, s, "wgmon_events_total", &l, st->events[k]);
	}
}

/* Per host: net_ratelimit suppressions, read straight from the ABI's host section. */
static void head_ratelimit(struct rctx *c)
{
	const struct shm_header *h = shm_reader_header(c->r);
	const struct shm_host *hosts =
	        (const void *)((const char *)h + h->section[SHM_SEC_HOSTS].offset);
	struct labels l;

	family(c, METRICS_SEC_HEAD, "wgmon_kernel_ratelimit_suppressed_total", "counter",
	       "Kernel messages the kernel's net_ratelimit suppressed (data is incomplete: set "
	       "net.core.message_cost=0), by host.");
	for (uint32_t i = 0; i < c->rd->n_hosts; i++) {
		lab_init(&l);
		lab_add(&l, "host", c->rd->hosts[i].s, c->rd->hosts[i].n.len);
		/* Relaxed: a counter the workers add to atomically; no ordering needed. */
		sample(c, METRICS_SEC_HEAD, "wgmon_kernel_ratelimit_suppressed_total", &l,
		       __atomic_load_n(&hosts[i].ratelimit_suppressed, __ATOMIC_RELAXED));
	}
}

/* ---- Peers ---------------------------------------------------------------------------------- */

#define N_HS      "wgmon_peer_last_handshake_timestamp_seconds"
#define N_HS_RX   "wgmon_peer_last_handshake_received_timestamp_seconds"
#define N_KA_RX   "wgmon_peer_last_keepalive_received_timestamp_seconds"
#define N_CHANGES "wgmon_peer_endpoint_changes_total"
#define N_STATE   "wgmon_peer_state"
#define N_INFO    "wgmon_peer_info"
#define N_EVENTS  "wgmon_peer_events_total"
#define SLEN(lit) (sizeof(lit) - 1)

static void peer_families(struct rctx *c)
{
	family(c, METRICS_SEC_PEER_HS, N_HS, "gauge",
	       "Last completed handshake (keypair created: wg show's latest handshake); absent "
	       "when never.");
	family(c, METRICS_SEC_PEER_HS_RX, N_HS_RX, "gauge",
	       "Last handshake initiation or response received from the peer; absent when never.");
	family(c, METRICS_SEC_PEER_KA_RX, N_KA_RX, "gauge",
	       "Last keepalive received from the peer; absent when never.");
	family(c, METRICS_SEC_PEER_CHANGES, N_CHANGES, "counter",
	       "Times a newer event brought the peer a different endpoint address or port.");
	family(c, METRICS_SEC_PEER_STATE, N_STATE, "gauge",
	       "The peer's state (new, up, stale, failing, down, removed): 1 for the current one.");
	family(c, METRICS_SEC_PEER_INFO, N_INFO, "gauge",
	       "Always 1: the peer's tenant and current endpoint, for joins on host, iface, peer.");
	if (c->rd->o.peer_events)
		family(c, METRICS_SEC_PEER_EVENTS, N_EVENTS, "counter",
		       "Kernel events of the peer, by kind (opt-in; within the series budget).");
}

/* host="…",iface="…",peer="N" */
static size_t peer_prefix(char *d0, const struct host_name *h, const struct iface_name *f,
                          uint64_t peer)
{
	char *d = d0;

	d = PUT_LIT(d, "host=\"");
	d = put(d, h->s, h->n.len);
	d = PUT_LIT(d, "\",iface=\"");
	if (f)
		d = put(d, f->s, f->n.len);
	d = PUT_LIT(d, "\",peer=\"");
	d = put_u64(d, peer);
	*d++ = '"';
	return (size_t)(d - d0);
}

/* name{prefix,key="val"} v */
static void peer_sample_kv(struct rctx *c, int sec, const char *name, size_t nlen,
                           const struct labels *pre, const char *kv, size_t kvlen, uint64_t v)
{
	char lab[LABELS_MAX];
	char *d = put(lab, pre->s, pre->len);

	d = put(d, kv, kvlen);
	sample_raw(c, sec, name, nlen, lab, (size_t)(d - lab), VAL_U64, v);
}

static void peer_info(struct rctx *c, const struct shm_peer *p, const struct labels *pre,
                      int tenant)
{
	const struct short_name *t = &c->rd->tenant[tenant];
	char kv[TENANT_ESC_MAX + ENDPOINT_MAX + 32], *d = kv;

	d = PUT_LIT(d, ",tenant=\"");
	d = put(d, t->s, t->len);
	d = PUT_LIT(d, "\",endpoint=\"");
	if (p->endpoint.af == PARSE_AF_INET || p->endpoint.af == PARSE_AF_INET6)
		d += parse_endpoint_format(&p->endpoint, PARSE_STYLE_ENDPOINT, d, ENDPOINT_MAX);
	*d++ = '"';
	peer_sample_kv(c, METRICS_SEC_PEER_INFO, N_INFO, SLEN(N_INFO), pre, kv, (size_t)(d - kv),
	               1);
}

/* Whether `want` more series fit family f's budget; once one does not, nothing more does. */
static bool budget_take(struct metrics_renderer *rd, enum budget_family f, uint64_t want)
{
	if (!rd->budget_full[f] && rd->budget_used[f] + want <= rd->o.max_peer_series) {
		rd->budget_used[f] += want;
		return true;
	}
	rd->budget_full[f] = true;
	rd->dropped[f] += want;
	return false;
}

static void peer_events(struct rctx *c, const struct shm_peer *p, const struct labels *pre)
{
	char kv[EVENT_NAME_MAX + 16];
	unsigned nz = 0;

	for (unsigned k = 1; k < PARSE_EV__COUNT; k++)
		nz += p->events[k] != 0;
	if (!nz || !budget_take(c->rd, BUDGET_PEER_EVENTS, nz))
		return;
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
		const struct short_name *e = &c->rd->event[k];
		char *d = kv;

		if (!p->events[k])
			continue;
		d = PUT_LIT(d, ",event=\"");
		d = put(d, e->s, e->len);
		*d++ = '"';
		peer_sample_kv(c, METRICS_SEC_PEER_EVENTS, N_EVENTS, SLEN(N_EVENTS), pre, kv,
		               (size_t)(d - kv), p->events[k]);
	}
}

static void compat_add(struct rctx *c, const struct shm_peer *p);

static void peer_render(struct rctx *c, const struct shm_peer *p)
{
	static const char *const state_kv[METRICS_STATES] = {
	        ",state=\"new\"",     ",state=\"up\"",   ",state=\"stale\"",
	        ",state=\"failing\"", ",state=\"down\"", ",state=\"removed\"",
	};
	struct metrics_renderer *rd = c->rd;
	const struct host_name *h = host_of(c, p->host);
	const struct iface_name *f = iface_of(c, p->iface);
	int tenant = f ? f->n.tenant : h->n.tenant;
	int state = shm_peer_state(p, c->now, rd->stale_ns[tenant]);
	struct labels pre;

	pre.len = peer_prefix(pre.s, h, f, p->peer);
	if (p->last_handshake)
		sample_raw(c, METRICS_SEC_PEER_HS, N_HS, SLEN(N_HS), pre.s, pre.len, VAL_SECONDS,
		           p->last_handshake);
	if (p->last_handshake_rx)
		sample_raw(c, METRICS_SEC_PEER_HS_RX, N_HS_RX, SLEN(N_HS_RX), pre.s, pre.len,
		           VAL_SECONDS, p->last_handshake_rx);
	if (p->last_keepalive_rx)
		sample_raw(c, METRICS_SEC_PEER_KA_RX, N_KA_RX, SLEN(N_KA_RX), pre.s, pre.len,
		           VAL_SECONDS, p->last_keepalive_rx);
	sample_raw(c, METRICS_SEC_PEER_CHANGES, N_CHANGES, SLEN(N_CHANGES), pre.s, pre.len, VAL_U64,
	           p->endpoint_changes);
	if (state >= 0 && state < METRICS_STATES) {
		peer_sample_kv(c, METRICS_SEC_PEER_STATE, N_STATE, SLEN(N_STATE), &pre,
		               state_kv[state], strlen(state_kv[state]), 1);
		rd->tenant_states[tenant][state]++;
		if (f)
			rd->iface_states[p->iface][state]++;
	}
	peer_info(c, p, &pre, tenant);
	if (rd->o.peer_events)
		peer_events(c, p, &pre);
	if (rd->o.compat)
		compat_add(c, p);
	c->peers++;
}

static void peers_render(struct rctx *c)
{
	const uint64_t slots = shm_reader_peer_slots(c->r);
	struct shm_peer p;

	peer_families(c);
	for (uint64_t i = shm_reader_peer_next(c->r, 0); i < slots && !c->err;
	     i = shm_reader_peer_next(c->r, i + 1)) {
		int ret = shm_reader_peer_snapshot(c->r, i, &p);

		if (ret == -EAGAIN)
			c->busy++; /* a writer kept it busy: it is rendered next time */
		else if (ret == 0)
			peer_render(c, &p);
	}
}

/* ---- Aggregates: interfaces, tenants, the budget, wgmon-metrics itself --------------------- */

/* wgmon_interface_up into AGGREGATE, the events into scratch (appended after it). */
static void iface_up_and_events(struct rctx *c)
{
	struct metrics_renderer *rd = c->rd;
	const int s = METRICS_SEC_AGGREGATE;
	struct shm_iface e;
	struct labels l;

	family(c, s, "wgmon_interface_up", "gauge",
	       "1 after interface_created, 0 after interface_destroyed (the later wins); absent "
	       "while neither was seen.");
	for (uint32_t i = 0; i < rd->n_ifaces && !c->err; i++) {
		const struct iface_name *f = &rd->ifaces[i];
		const struct host_name *h = &rd->hosts[f->n.host];
		size_t mark;

		if (shm_reader_iface(c->r, i, &e) < 0)
			break;
		lab_init(&l);
		lab_add(&l, "host", h->s, h->n.len);
		lab_add(&l, "iface", f->s, f->n.len);
		if (e.state == SHM_IFACE_UP || e.state == SHM_IFACE_DOWN)
			sample(c, s, "wgmon_interface_up", &l, e.state == SHM_IFACE_UP);
		mark = l.len;
		for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
			if (!e.events[k])
				continue;
			rd->tenant_events[f->n.tenant][k] += e.events[k];
			l.len = mark;
			lab_add(&l, "event", rd->event[k].s, rd->event[k].len);
			sample(c, SEC_SCRATCH, "wgmon_interface_events_total", &l, e.events[k]);
		}
	}
}

static void iface_peers(struct rctx *c)
{
	struct metrics_renderer *rd = c->rd;
	const int s = METRICS_SEC_AGGREGATE;
	struct labels l;

	family(c, s, "wgmon_interface_peers", "gauge", "Peers of the interface, by state.");
	for (uint32_t i = 0; i < rd->n_ifaces && !c->err; i++) {
		const struct iface_name *f = &rd->ifaces[i];
		const struct host_name *h = &rd->hosts[f->n.host];

		for (int st = 0; st < METRICS_STATES; st++) {
			lab_init(&l);
			lab_add(&l, "host", h->s, h->n.len);
			lab_add(&l, "iface", f->s, f->n.len);
			lab_add_str(&l, "state", shm_state_name(st));
			sample(c, s, "wgmon_interface_peers", &l, rd->iface_states[i][st]);
		}
	}
}

static void tenants(struct rctx *c)
{
	struct metrics_renderer *rd = c->rd;
	const int s = METRICS_SEC_AGGREGATE;
	struct labels l;

	family(c, s, "wgmon_tenant_peers", "gauge",
	       "Peers of the tenant, by state (tenant \"\": peers no tenant claims).");
	for (uint32_t t = 0; t <= CONFIG_TENANT_MAX; t++) {
		if (t >= rd->n_tenants && t != NO_TENANT)
			continue;
		for (int st = 0; st < METRICS_STATES; st++) {
			lab_init(&l);
			lab_add(&l, "tenant", rd->tenant[t].s, rd->tenant[t].len);
			lab_add_str(&l, "state", shm_state_name(st));
			sample(c, s, "wgmon_tenant_peers", &l, rd->tenant_states[t][st]);
		}
	}
	family(c, s, "wgmon_tenant_events_total", "counter",
	       "Kernel events on the tenant's interfaces, by kind.");
	for (uint32_t t = 0; t <= CONFIG_TENANT_MAX; t++) {
		for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
			if (!rd->tenant_events[t][k])
				continue;
			lab_init(&l);
			lab_add(&l, "tenant", rd->tenant[t].s, rd->tenant[t].len);
			lab_add(&l, "event", rd->event[k].s, rd->event[k].len);
			sample(c, s, "wgmon_tenant_events_total", &l, rd->tenant_events[t][k]);
		}
	}
}

static void budget(struct rctx *c)
{
	struct metrics_renderer *rd = c->rd;
	const int s = METRICS_SEC_AGGREGATE;
	struct labels l;

	single(c, s, "wgmon_peer_series_budget", "gauge",
	       "max_peer_series: the most series each opt-in per-peer family may have.",
	       rd->o.max_peer_series);
	family(c, s, "wgmon_series_dropped_total", "counter",
	       "Opt-in per-peer series left out because the budget bit, summed over renders "
	       "(rising: raise max_peer_series).");
	for (int f = 0; f < BUDGET__COUNT; f++) {
		rd->dropped_total[f] += rd->dropped[f];
		lab_init(&l);
		lab_add_str(&l, "family", budget_names[f]);
		sample(c, s, "wgmon_series_dropped_total", &l, rd->dropped_total[f]);
	}
}

static void self_requests(struct rctx *c, const struct metrics_self *m)
{
	static const char *const paths[] = {"/metrics", "/healthz", "other"};
	const uint64_t counts[] = {m->requests_metrics, m->requests_healthz, m->requests_other};
	struct labels l;

	family(c, METRICS_SEC_AGGREGATE, "wgmon_metrics_requests_total", "counter",
	       "HTTP requests, by path.");
	for (int i = 0; i < 3; i++) {
		lab_init(&l);
		lab_add_str(&l, "path", paths[i]);
		sample(c, METRICS_SEC_AGGREGATE, "wgmon_metrics_requests_total", &l, counts[i]);
	}
	single(c, METRICS_SEC_AGGREGATE, "wgmon_metrics_gzip_responses_total", "counter",
	       "/metrics responses sent gzip-encoded.", m->requests_gzip);
}

static void self_figures(struct rctx *c, const struct metrics_self *m)
{
	const int s = METRICS_SEC_AGGREGATE;
	struct labels l;

	single(c, s, "wgmon_metrics_renders_total", "counter",
	       "Expositions wgmon-metrics published.", m->renders);
	single(c, s, "wgmon_metrics_render_skipped_total", "counter",
	       "Renders skipped because slow clients held every free buffer.", m->render_skipped);
	single(c, s, "wgmon_metrics_render_errors_total", "counter",
	       "Renders that failed (no table, out of memory).", m->render_errors);
	family(c, s, "wgmon_metrics_render_duration_seconds", "gauge",
	       "Time the previous render took.");
	sample_seconds(c, s, "wgmon_metrics_render_duration_seconds", NULL, m->last_render_ns);
	family(c, s, "wgmon_metrics_gzip_duration_seconds", "gauge",
	       "Time the last compression took (0: none yet).");
	sample_seconds(c, s, "wgmon_metrics_gzip_duration_seconds", NULL, m->last_gzip_ns);
	family(c, s, "wgmon_metrics_exposition_bytes", "gauge",
	       "Size of the previous exposition, by encoding (gzip: the last compressed one).");
	lab_init(&l);
	lab_add_str(&l, "encoding", "identity");
	sample(c, s, "wgmon_metrics_exposition_bytes", &l, m->last_bytes);
	lab_init(&l);
	lab_add_str(&l, "encoding", "gzip");
	sample(c, s, "wgmon_metrics_exposition_bytes", &l, m->last_gzip_bytes);
	self_requests(c, m);
}

/* ---- The other sinks' figures (struct metrics_sinks) -------------------------------------- */

struct sink_field {
	const char *name, *type, *help;
	size_t off; /* of a uint64_t in the struct */
	bool seconds;
};

/* clang-format off */
#define SF(n, t, h, f) {n, t, h, offsetof(struct metrics_sinks, f), false}
#define TF(n, t, h, f) {n, t, h, offsetof(struct metrics_notify_target, f), false}

static const struct sink_field redis_fields[] = {
	SF("wgmon_redis_passes_total", "counter", "Passes wgmon-redis completed.", redis_passes),
	SF("wgmon_redis_pass_failures_total", "counter", "Passes a Redis or table error cut short.",
	   redis_passes_failed),
	SF("wgmon_redis_writes_total", "counter", "Commands Redis acknowledged.", redis_writes),
	SF("wgmon_redis_peer_updates_total", "counter", "Peer updates written.",
	   redis_peers_written),
	SF("wgmon_redis_stream_entries_total", "counter", "Event stream entries added.",
	   redis_events_written),
	SF("wgmon_redis_events_missed_total", "counter",
	   "Event ring records overwritten before wgmon-redis read them.", redis_events_missed),
	SF("wgmon_redis_errors_total", "counter", "Failed connects, I/O errors, error replies.",
	   redis_errors),
	SF("wgmon_redis_reconnects_total", "counter", "Connections after the first one.",
	   redis_reconnects),
	SF("wgmon_redis_resyncs_total", "counter", "Full rewrites of the table into Redis.",
	   redis_resyncs),
	SF("wgmon_redis_peers_pending", "gauge", "Changed peers not written yet.",
	   redis_peers_pending),
	{"wgmon_redis_last_pass_duration_seconds", "gauge", "Duration of the latest pass.",
	 offsetof(struct metrics_sinks, redis_last_pass_ns), true},
};

static const struct sink_field notify_fields[] = {
	SF("wgmon_notify_events_read_total", "counter", "Event ring records wgmon-notify read.",
	   notify_events_read),
	SF("wgmon_notify_events_missed_total", "counter",
	   "Event ring records overwritten before wgmon-notify read them.", notify_events_missed),
};

static const struct sink_field target_fields[] = {
	TF("wgmon_notify_posted_total", "counter", "Notifications queued for the receiver.", posted),
	TF("wgmon_notify_sent_total", "counter", "Notifications the receiver answered with 2xx.",
	   sent),
	TF("wgmon_notify_failed_total", "counter", "Notifications given up.", failed),
	TF("wgmon_notify_rejected_total", "counter", "Of those, answered 4xx (never retried).",
	   rejected),
	TF("wgmon_notify_retried_total", "counter", "Attempts after the first.", retried),
	TF("wgmon_notify_dropped_total", "counter", "Pushed out of the receiver's full queue.",
	   dropped),
	TF("wgmon_notify_queue_depth", "gauge", "Notifications waiting or in flight.", queue_depth),
};
#undef SF
#undef TF
/* clang-format on */

static uint64_t field_of(const void *base, const struct sink_field *f)
{
	uint64_t v;

	memcpy(&v, (const char *)base + f->off, sizeof(v));
	return v;
}

static void sink_fields(struct rctx *c, const void *base, const struct sink_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		family(c, METRICS_SEC_AGGREGATE, f[i].name, f[i].type, f[i].help);
		if (f[i].seconds)
			sample_seconds(c, METRICS_SEC_AGGREGATE, f[i].name, NULL,
			               field_of(base, &f[i]));
		else
			sample(c, METRICS_SEC_AGGREGATE, f[i].name, NULL, field_of(base, &f[i]));
	}
}

static void sinks_up(struct rctx *c, const struct metrics_sinks *k)
{
	struct labels l;

	family(c, METRICS_SEC_AGGREGATE, "wgmon_sink_up", "gauge",
	       "1 while the sink's process runs, by sink (absent: it never ran for this table).");
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = {"metrics", "redis", "notify"};
		bool found[] = {true, k && k->redis, k && k->notify};
		bool up[] = {true, k && k->redis_up, k && k->notify_up};

		if (!found[i])
			continue;
		lab_init(&l);
		lab_add_str(&l, "sink", names[i]);
		sample(c, METRICS_SEC_AGGREGATE, "wgmon_sink_up", &l, up[i]);
	}
}

static void sinks_notify_targets(struct rctx *c, const struct metrics_sinks *k)
{
	char url[3 * METRICS_URL_MAX];
	struct labels l;

	for (size_t f = 0; f < sizeof(target_fields) / sizeof(target_fields[0]); f++) {
		family(c, METRICS_SEC_AGGREGATE, target_fields[f].name, target_fields[f].type,
		       target_fields[f].help);
		for (uint32_t t = 0; t < k->notify_targets && t < METRICS_NOTIFY_TARGETS; t++) {
			lab_init(&l);
			lab_add(&l, "url", url,
			        metrics_escape(url, k->target[t].url, strlen(k->target[t].url)));
			sample(c, METRICS_SEC_AGGREGATE, target_fields[f].name, &l,
			       field_of(&k->target[t], &target_fields[f]));
		}
	}
}

static void sinks_figures(struct rctx *c, const struct metrics_sinks *k)
{
	const int s = METRICS_SEC_AGGREGATE;
	struct labels l;

	sinks_up(c, k);
	if (k && k->redis) {
		single(c, s, "wgmon_redis_connected", "gauge",
		       "1 while wgmon-redis holds a working Redis connection.", k->redis_connected);
		sink_fields(c, k, redis_fields, sizeof(redis_fields) / sizeof(redis_fields[0]));
	}
	if (!k || !k->notify)
		return;
	sink_fields(c, k, notify_fields, sizeof(notify_fields) / sizeof(notify_fields[0]));
	family(c, s, "wgmon_notify_notifications_total", "counter",
	       "Notifications wgmon-notify made, by type.");
	for (int t = 0; t < METRICS_NOTIFY_TYPES && k->notify_type[t]; t++) {
		lab_init(&l);
		lab_add_str(&l, "type", k->notify_type[t]);
		sample(c, s, "wgmon_notify_notifications_total", &l, k->notify_detected[t]);
	}
	sinks_notify_targets(c, k);
}

static void aggregates(struct rctx *c, const struct metrics_self *self)
{
	struct metrics_buf *scratch = &c->rd->scratch;

	if (c->r) {
		scratch->len = 0;
		iface_up_and_events(c);
		family(c, METRICS_SEC_AGGREGATE, "wgmon_interface_events_total", "counter",
		       "Kernel events of the interface, by kind.");
		if (scratch->len)
			sec_append(c, METRICS_SEC_AGGREGATE, scratch->p, scratch->len);
		iface_peers(c);
		tenants(c);
		budget(c);
	}
	if (self)
		self_figures(c, self);
	sinks_figures(c, self ? self->sinks : NULL);
}

/* ---- Compatibility: the replaced tool's wg_peer_monitoring_* series ------------------------- */

static uint64_t compat_hash(uint64_t peer)
{
	peer *= 0x9e3779b97f4a7c15ull;
	return peer ^ (peer >> 29);
}

static void compat_index_put(struct metrics_renderer *rd, size_t i)
{
	size_t mask = rd->compat_slots - 1, s = compat_hash(rd->compat[i].peer) & mask;

	while (rd->compat_index[s])
		s = (s + 1) & mask;
	rd->compat_index[s] = (uint32_t)(i + 1);
}

/* Double the entries (the index stays at most a quarter full). 0 or -ENOMEM. */
static int compat_grow(struct metrics_renderer *rd)
{
	size_t cap = rd->cap_compat ? rd->cap_compat * 2 : COMPAT_INITIAL;
	struct compat_peer *np = realloc(rd->compat, cap * sizeof(*np));
	uint32_t *ni;

	if (!np)
		return -ENOMEM;
	rd->compat = np;
	ni = calloc(cap * 4, sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	free(rd->compat_index);
	rd->compat_index = ni;
	rd->compat_slots = cap * 4;
	rd->cap_compat = cap;
	for (size_t i = 0; i < rd->n_compat; i++)
		compat_index_put(rd, i);
	return 0;
}

/*
 * What the replaced tool counted for this peer: "Handshake" = handshake initiations and
 * responses received, "Keepalive" = keepalives received, and a peer change for its first
 * sighting by a handshake plus each endpoint change. It knew no hosts: a peer id seen on
 * several hosts is summed, as it summed them.
 */
static void compat_add(struct rctx *c, const struct shm_peer *p)
{
	struct metrics_renderer *rd = c->rd;
	uint64_t hs = (uint64_t)p->events[PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] +
	              p->events[PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED];
	uint64_t ka = p->events[PARSE_EV_KEEPALIVE_RECEIVED];
	struct compat_peer *e;
	size_t mask, s;

	if (!hs && !ka)
		return;
	if (rd->n_compat == rd->cap_compat && compat_grow(rd) < 0) {
		c->err = -ENOMEM;
		return;
	}
	mask = rd->compat_slots - 1;
	for (s = compat_hash(p->peer) & mask; rd->compat_index[s]; s = (s + 1) & mask) {
		e = &rd->compat[rd->compat_index[s] - 1];
		if (e->peer == p->peer)
			goto add;
	}
	e = &rd->compat[rd->n_compat];
	memset(e, 0, sizeof(*e));
	e->peer = p->peer;
	rd->compat_index[s] = (uint32_t)++rd->n_compat;
add:
	e->handshakes += hs;
	e->keepalives += ka;
	e->changes += hs ? (uint64_t)p->endpoint_changes + 1 : 0;
}

#define N_COMPAT_EVENTS  "wg_peer_monitoring_wg_wireguard_events_total"
#define N_COMPAT_CHANGES "wg_peer_monitoring_wg_peer_changes_total"

static void compat_sample(struct rctx *c, const char *name, size_t nlen, uint64_t peer,
                          const char *event, uint64_t v)
{
	char lab[96], *d = lab;

	d = PUT_LIT(d, "peer=\"");
	d = put_u64(d, peer);
	*d++ = '"';
	if (event) {
		d = PUT_LIT(d, ",event=\"");
		d = put(d, event, strlen(event));
		*d++ = '"';
	}
	sample_raw(c, METRICS_SEC_COMPAT, name, nlen, lab, (size_t)(d - lab), VAL_U64, v);
}

static void compat_render(struct rctx *c)
{
	struct metrics_renderer *rd = c->rd;
	const int s = METRICS_SEC_COMPAT;
	struct labels l;

	lab_init(&l);
	lab_add_str(&l, "version", WGMON_VERSION);
	family(c, s, "wg_peer_monitoring_app_version_info", "gauge", "Application information");
	sample(c, s, "wg_peer_monitoring_app_version_info", &l, 1);
	family(c, s, N_COMPAT_EVENTS, "counter", "Wireguard events");
	for (size_t i = 0; i < rd->n_compat; i++) {
		const struct compat_peer *e = &rd->compat[i];

		if (!budget_take(rd, BUDGET_COMPAT_EVENTS,
		                 (e->handshakes > 0) + (e->keepalives > 0)))
			continue;
		if (e->handshakes)
			compat_sample(c, N_COMPAT_EVENTS, SLEN(N_COMPAT_EVENTS), e->peer,
			              "Handshake", e->handshakes);
		if (e->keepalives)
			compat_sample(c, N_COMPAT_EVENTS, SLEN(N_COMPAT_EVENTS), e->peer,
			              "Keepalive", e->keepalives);
	}
	family(c, s, N_COMPAT_CHANGES, "counter", "Peer changes");
	for (size_t i = 0; i < rd->n_compat; i++) {
		const struct compat_peer *e = &rd->compat[i];

		if (e->changes && budget_take(rd, BUDGET_COMPAT_CHANGES, 1))
			compat_sample(c, N_COMPAT_CHANGES, SLEN(N_COMPAT_CHANGES), e->peer, NULL,
			              e->changes);
	}
}

/* ---- The render ------------------------------------------------------------------------------ */

static void render_begin(struct metrics_renderer *rd, struct metrics_body *out)
{
	for (int i = 0; i < METRICS_SEC__COUNT; i++)
		out->sec[i].len = 0;
	memset(rd->iface_states, 0, rd->n_ifaces * sizeof(*rd->iface_states));
	memset(rd->tenant_states, 0, sizeof(rd->tenant_states));
	memset(rd->tenant_events, 0, sizeof(rd->tenant_events));
	memset(rd->budget_used, 0, sizeof(rd->budget_used));
	memset(rd->budget_full, 0, sizeof(rd->budget_full));
	memset(rd->dropped, 0, sizeof(rd->dropped));
	rd->n_compat = 0;
	if (rd->compat_index)
		memset(rd->compat_index, 0, rd->compat_slots * sizeof(*rd->compat_index));
}

int metrics_render(struct metrics_renderer *rd, const struct shm_reader *r, uint64_t now_ns,
                   const struct metrics_self *self, struct metrics_body *out,
                   struct metrics_figures *fig)
{
	struct rctx c = {.rd = rd, .r = r, .out = out, .now = now_ns};
	struct shm_stats st;

	render_begin(rd, out);
	head_build(&c, r != NULL);
	if (r) {
		names_sync(rd, r);
		shm_reader_stats(r, &st);
		head_table(&c, &st);
		head_pipeline(&c, &st);
		head_ratelimit(&c);
		peers_render(&c);
	}
	aggregates(&c, self);
	if (r && rd->o.compat)
		compat_render(&c);
	for (int i = 0; i < METRICS_SEC__COUNT; i++)
		buf_trim(&out->sec[i]);
	memset(fig, 0, sizeof(*fig));
	fig->peers = c.peers;
	fig->peers_busy = c.busy;
	fig->samples = c.samples;
	fig->bytes = metrics_body_len(out);
	for (int f = 0; f < BUDGET__COUNT; f++)
		fig->series_dropped += rd->dropped[f];
	return c.err;
}

int metrics_renderer_new(struct metrics_renderer **out, const struct metrics_opts *o)
{
	const struct wgmon_config *cfg = o->cfg;
	struct metrics_renderer *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return -ENOMEM;
	rd->o = *o;
	rd->hosts = calloc(SHM_HOSTS_MAX, sizeof(*rd->hosts));
	rd->ifaces = calloc(SHM_IFACES_MAX, sizeof(*rd->ifaces));
	rd->iface_states = calloc(SHM_IFACES_MAX, sizeof(*rd->iface_states));
	if (!rd->hosts || !rd->ifaces || !rd->iface_states) {
		metrics_renderer_free(rd);
		return -ENOMEM;
	}
	rd->n_tenants = cfg ? cfg->n_tenant : 0;
	for (uint32_t t = 0; t < rd->n_tenants; t++) {
		const char *name = cfg->tenant[t].name;

		rd->tenant[t].len = (uint16_t)metrics_escape(rd->tenant[t].s, name, strlen(name));
		rd->stale_ns[t] = config_stale_after(cfg, name) * 1000000000ull;
	}
	rd->stale_ns[NO_TENANT] =
	        (cfg ? config_stale_after(cfg, NULL) : METRICS_STALE_DEFAULT_S) * 1000000000ull;
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
		const char *name = parse_event_name(k);

		rd->event[k].len = (uint16_t)metrics_escape(rd->event[k].s, name, strlen(name));
	}
	*out = rd;
	return 0;
}

void metrics_renderer_free(struct metrics_renderer *rd)
{
	if (!rd)
		return;
	free(rd->hosts);
	free(rd->ifaces);
	free(rd->iface_states);
	free(rd->scratch.p);
	free(rd->compat);
	free(rd->compat_index);
	free(rd);
}

/* ---- Bodies ---------------------------------------------------------------------------------- */

size_t metrics_body_len(const struct metrics_body *b)
{
	size_t n = 0;

	for (int i = 0; i < METRICS_SEC__COUNT; i++)
		n += b->sec[i].len;
	return n;
}

char *metrics_body_flatten(const struct metrics_body *b, size_t *len)
{
	size_t n = metrics_body_len(b), at = 0;
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	for (int i = 0; i < METRICS_SEC__COUNT; i++) {
		if (b->sec[i].len)
			memcpy(s + at, b->sec[i].p, b->sec[i].len);
		at += b->sec[i].len;
	}
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

void metrics_body_free(struct metrics_body *b)
{
	if (!b)
		return;
	for (int i = 0; i < METRICS_SEC__COUNT; i++) {
		free(b->sec[i].p);
		b->sec[i] = (struct metrics_buf){0};
	}
}
