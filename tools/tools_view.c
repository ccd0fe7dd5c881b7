/* SPDX-License-Identifier: MIT */
/*
 * tools_view.c — the reader subcommands' common ground: configuration and table, state and
 * tenant of each peer (tenants cached per interface: fnmatch once per interface, not per
 * peer), filters, sorted rows, and the little text helpers people read.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/config.h"
#include "tools/tools.h"
#include "tools/tools_view.h"

/* ---- Opening ------------------------------------------------------------------------------- */

static bool view_want_color(int mode)
{
	const char *term = getenv("TERM");

	if (mode != VIEW_COLOR_AUTO)
		return mode == VIEW_COLOR_ALWAYS;
	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return false;
	return isatty(STDOUT_FILENO) && !(term && !strcmp(term, "dumb"));
}

int view_color_parse(const char *s, int *color)
{
	static const char *const names[] = {"auto", "always", "never"};

	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*color = i;
			return 0;
		}
	return -EINVAL;
}

int view_opt(int c, const char *arg, struct view_opts *o, struct view_filter *f)
{
	char err[96];

	switch (c) {
	case VIEW_OPT_SHM: o->shm = arg; return 1;
	case VIEW_OPT_CONFIG: o->config = arg; return 1;
	case VIEW_OPT_STALE_AFTER: o->stale_after = arg; return 1;
	case VIEW_OPT_COLOR:
		if (!view_color_parse(arg, &o->color))
			return 1;
		fprintf(stderr, "wgmon %s: --color: expected auto, always or never\n", o->cmd);
		return -1;
	default: break;
	}
	if (!f)
		return 0;
	switch (c) {
	case VIEW_OPT_HOST: f->host = arg; return 1;
	case VIEW_OPT_IFACE: f->iface = arg; return 1;
	case VIEW_OPT_TENANT: f->tenant = arg; return 1;
	case VIEW_OPT_STATE:
		if (!view_states_parse(arg, &f->states, err, sizeof(err)))
			return 1;
		fprintf(stderr, "wgmon %s: --state: %s\n", o->cmd, err);
		return -1;
	case VIEW_OPT_PEER:
		f->has_peer = true;
		if (!view_u64_parse(arg, &f->peer))
			return 1;
		fprintf(stderr, "wgmon %s: --peer: expected a peer id (a number)\n", o->cmd);
		return -1;
	default: return 0;
	}
}

int view_config(struct view *v, const struct view_opts *o)
{
	char err[CONFIG_ERR_MAX];

	memset(v, 0, sizeof(*v));
	v->cfg = malloc(sizeof(*v->cfg));
	if (!v->cfg) {
		fprintf(stderr, "wgmon %s: out of memory\n", o->cmd);
		return 1;
	}
	config_init(v->cfg);
	if (config_load_default(v->cfg, o->config, err, sizeof(err)) < 0 ||
	    (o->stale_after &&
	     config_set(v->cfg, "health", "stale_after", o->stale_after, err, sizeof(err)) < 0)) {
		fprintf(stderr, "wgmon %s: %s\n", o->cmd, err);
		goto fail;
	}
	v->color = view_want_color(o->color);
	view_tick(v);
	return 0;
fail:
	free(v->cfg);
	v->cfg = NULL;
	return 1;
}

int view_open(struct view *v, const struct view_opts *o)
{
	if (view_config(v, o))
		return 1;
	if (shm_reader_attach(&v->r, tools_shm_name(o->shm))) {
		fprintf(stderr, "wgmon %s: %s\n", o->cmd, shm_reader_error());
		view_close(v);
		return 1;
	}
	return 0;
}

void view_close(struct view *v)
{
	shm_reader_detach(v->r);
	free(v->cfg);
	free(v->iface_tenant);
	memset(v, 0, sizeof(*v));
}

void view_tick(struct view *v)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	v->now = (uint64_t)ts.tv_sec * VIEW_NS + (uint64_t)ts.tv_nsec;
}

int view_refresh(struct view *v)
{
	int ret = shm_reader_refresh(v->r);

	if (ret == 1) {
		free(v->iface_tenant);
		v->iface_tenant = NULL;
		memset(v->host_tenant, 0, sizeof(v->host_tenant));
	}
	return ret;
}

/* ---- Names, tenants, state ----------------------------------------------------------------- */

const char *view_host(const struct view *v, uint32_t host)
{
	const char *name = shm_reader_host_name(v->r, host);

	return name ? name : "";
}

const char *view_host_label(const struct view *v, uint32_t host)
{
	const char *name = view_host(v, host);

	return *name ? name : "(local)";
}

const char *view_iface(const struct view *v, uint32_t iface, char *buf)
{
	struct shm_iface f;

	buf[0] = '\0';
	if (iface != SHM_NO_IFACE && !shm_reader_iface(v->r, iface, &f))
		memcpy(buf, f.name, sizeof(f.name));
	return buf;
}

int view_tenant_index(struct view *v, uint32_t host, uint32_t iface)
{
	char name[SHM_IFACE_NAME_MAX + 1];
	int16_t *slot;

	if (!v->cfg->n_tenant || host >= SHM_HOSTS_MAX)
		return VIEW_NO_TENANT;
	if (iface < SHM_IFACES_MAX && !v->iface_tenant)
		v->iface_tenant = calloc(SHM_IFACES_MAX, sizeof(*v->iface_tenant));
	if (iface < SHM_IFACES_MAX && v->iface_tenant)
		slot = &v->iface_tenant[iface];
	else
		slot = &v->host_tenant[host];
	if (!*slot) {
		view_iface(v, slot == &v->host_tenant[host] ? SHM_NO_IFACE : iface, name);
		*slot = (int16_t)(config_tenant_index(v->cfg, view_host(v, host), name) + 2);
	}
	return *slot - 2;
}

const char *view_tenant_name(const struct view *v, int tenant)
{
	return tenant >= 0 && (uint32_t)tenant < v->cfg->n_tenant ? v->cfg->tenant[tenant].name
	                                                          : NULL;
}

uint64_t view_stale_after_ns(const struct view *v, int tenant)
{
	return (uint64_t)config_stale_after(v->cfg, view_tenant_name(v, tenant)) * VIEW_NS;
}

int view_peer_state(struct view *v, const struct shm_peer *p, int *tenant_out)
{
	int tenant = view_tenant_index(v, p->host, p->iface);

	if (tenant_out)
		*tenant_out = tenant;
	return shm_peer_state(p, v->now, view_stale_after_ns(v, tenant));
}

const char *view_iface_state_name(uint32_t state)
{
	static const char *const names[VIEW_IFACE_STATE] = {"unknown", "up", "down"};

	return names[state < VIEW_IFACE_STATE ? state : 0];
}

/* ---- Filters ------------------------------------------------------------------------------- */

int view_states_parse(const char *list, unsigned *mask, char *err, size_t cap)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		char word[16];
		int s = -1;

		if (n && n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			s = shm_state_lookup(word);
		}
		if (s < 0) {
			snprintf(err, cap,
			         "unknown state '%.*s' (new, up, stale, failing, down, removed)",
			         (int)(n < 32 ? n : 32), p);
			return -EINVAL;
		}
		*mask |= 1u << s;
		p += n + (p[n] == ',');
	}
	if (!*mask) {
		snprintf(err, cap, "no state named");
		return -EINVAL;
	}
	return 0;
}

int view_u64_parse(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static bool view_glob(const char *pattern, const char *name)
{
	if (!pattern)
		return true;
	if (!strcmp(pattern, "(local)"))
		pattern = "";
	return !*pattern ? !*name : !fnmatch(pattern, name, 0);
}

bool view_filter_place(struct view *v, const struct view_filter *f, uint32_t host, uint32_t iface)
{
	char name[SHM_IFACE_NAME_MAX + 1];
	const char *tenant;

	if (!view_glob(f->host, view_host(v, host)))
		return false;
	if (f->iface && !view_glob(f->iface, view_iface(v, iface, name)))
		return false;
	if (!f->tenant)
		return true;
	tenant = view_tenant_name(v, view_tenant_index(v, host, iface));
	return view_glob(f->tenant, tenant ? tenant : "");
}

bool view_filter_peer(struct view *v, const struct view_filter *f, const struct shm_peer *p,
                      int state)
{
	if (f->has_peer && p->peer != f->peer)
		return false;
	if (f->states && !(f->states & (1u << state)))
		return false;
	return view_filter_place(v, f, p->host, p->iface);
}

/* ---- Sorted rows --------------------------------------------------------------------------- */

/* A rank per host (by name) and per interface (by host rank, then name). */
struct view_ranks {
	uint32_t host[SHM_HOSTS_MAX];
	uint32_t iface[SHM_IFACES_MAX];
};

struct view_iface_key {
	uint32_t idx, host_rank;
	char name[SHM_IFACE_NAME_MAX + 1];
};

static const struct view *sort_view; /* qsort has no context argument */

static int view_cmp_host(const void *a, const void *b)
{
	return strcmp(view_host(sort_view, *(const uint32_t *)a),
	              view_host(sort_view, *(const uint32_t *)b));
}

static int view_cmp_iface(const void *a, const void *b)
{
	const struct view_iface_key *x = a, *y = b;

	if (x->host_rank != y->host_rank)
		return x->host_rank < y->host_rank ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int view_rank(const struct view *v, struct view_ranks *k)
{
	const struct shm_header *h = shm_reader_header(v->r);
	/* Pairs with the writer's release of the counts: entries below them are complete. */
	uint32_t nh = __atomic_load_n(&h->hosts_used, __ATOMIC_ACQUIRE);
	uint32_t ni = __atomic_load_n(&h->ifaces_used, __ATOMIC_ACQUIRE);
	uint32_t *hosts = calloc(nh ? nh : 1, sizeof(*hosts));
	struct view_iface_key *ifs = calloc(ni ? ni : 1, sizeof(*ifs));
	struct shm_iface f;

	if (!hosts || !ifs)
		goto oom;
	nh = nh < SHM_HOSTS_MAX ? nh : SHM_HOSTS_MAX;
	ni = ni < SHM_IFACES_MAX ? ni : SHM_IFACES_MAX;
	memset(k, 0xff, sizeof(*k));
	for (uint32_t i = 0; i < nh; i++)
		hosts[i] = i;
	sort_view = v;
	qsort(hosts, nh, sizeof(*hosts), view_cmp_host);
	for (uint32_t i = 0; i < nh; i++)
		k->host[hosts[i]] = i;
	for (uint32_t i = 0; i < ni; i++) {
		ifs[i].idx = i;
		ifs[i].host_rank = UINT32_MAX;
		if (!shm_reader_iface(v->r, i, &f)) {
			ifs[i].host_rank = f.host < SHM_HOSTS_MAX ? k->host[f.host] : UINT32_MAX;
			memcpy(ifs[i].name, f.name, sizeof(f.name));
		}
	}
	qsort(ifs, ni, sizeof(*ifs), view_cmp_iface);
	for (uint32_t i = 0; i < ni; i++)
		k->iface[ifs[i].idx] = i;
	free(hosts);
	free(ifs);
	return 0;
oom:
	free(hosts);
	free(ifs);
	return -1;
}

static enum view_order sort_order;

static int view_cmp_row(const void *a, const void *b)
{
	const struct view_row *x = a, *y = b;

	if (x->host_rank != y->host_rank)
		return x->host_rank < y->host_rank ? -1 : 1;
	if (sort_order == VIEW_BY_HOST_IFACE_PEER && x->iface_rank != y->iface_rank)
		return x->iface_rank < y->iface_rank ? -1 : 1;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return 0;
}

static int view_row_add(struct view_row **rows, uint64_t *n, uint64_t *cap)
{
	struct view_row *grown;

	if (*n < *cap)
		return 0;
	*cap = *cap ? 2 * *cap : 1024;
	grown = realloc(*rows, *cap * sizeof(**rows));
	if (!grown)
		return -1;
	*rows = grown;
	return 0;
}

int64_t view_rows(struct view *v, const struct view_filter *f, enum view_order order,
                  struct view_row **out)
{
	const uint64_t slots = shm_reader_peer_slots(v->r);
	struct view_ranks *k = malloc(sizeof(*k));
	struct view_row *rows = NULL;
	uint64_t n = 0, cap = 0;
	struct shm_peer p;
	int state, tenant;

	if (!k || view_rank(v, k))
		goto oom;
	for (uint64_t i = shm_reader_peer_next(v->r, 0); i < slots;
	     i = shm_reader_peer_next(v->r, i + 1)) {
		if (shm_reader_peer_snapshot(v->r, i, &p))
			continue;
		state = view_peer_state(v, &p, &tenant);
		if (!view_filter_peer(v, f, &p, state))
			continue;
		if (view_row_add(&rows, &n, &cap))
			goto oom;
		rows[n++] = (struct view_row){
		        .peer = p.peer,
		        .slot = i,
		        .host_rank = p.host < SHM_HOSTS_MAX ? k->host[p.host] : UINT32_MAX,
		        .iface_rank = p.iface < SHM_IFACES_MAX ? k->iface[p.iface] : UINT32_MAX,
		        .host = p.host,
		        .iface = p.iface,
		        .tenant = (int16_t)tenant,
		        .state = (uint8_t)state,
		};
	}
	sort_order = order;
	if (n) /* rows is NULL when there are none */
		qsort(rows, n, sizeof(*rows), view_cmp_row);
	free(k);
	*out = rows;
	return (int64_t)n;
oom:
	free(k);
	free(rows);
	return -1;
}

/* ---- Text ---------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	char letter;
	uint64_t secs;
} view_units[] = {{"year", 'y', 365 * 86400},
                  {"day", 'd', 86400},
                  {"hour", 'h', 3600},
                  {"minute", 'm', 60},
                  {"second", 's', 1}};
#define VIEW_UNITS (sizeof(view_units) / sizeof(view_units[0]))

void view_age(char *buf, size_t cap, uint64_t t, uint64_t now)
{
	uint64_t left = t < now ? (now - t) / VIEW_NS : 0;
	size_t len = 0;

	buf[0] = '\0';
	if (!t) {
		snprintf(buf, cap, "never");
		return;
	}
	for (size_t i = 0; i < VIEW_UNITS && len < cap; i++) {
		uint64_t n = left / view_units[i].secs;

		if (!n)
			continue;
		left -= n * view_units[i].secs;
		len += (size_t)snprintf(buf + len, cap - len, "%s%" PRIu64 " %s%s", len ? ", " : "",
		                        n, view_units[i].name, n == 1 ? "" : "s");
	}
	if (!len)
		snprintf(buf, cap, "now");
	else if (len < cap)
		snprintf(buf + len, cap - len, " ago");
}

void view_age_short(char *buf, size_t cap, uint64_t t, uint64_t now)
{
	uint64_t secs = t < now ? (now - t) / VIEW_NS : 0;

	if (!t) {
		snprintf(buf, cap, "-");
		return;
	}
	for (size_t i = 0; i < VIEW_UNITS; i++)
		if (secs >= view_units[i].secs || i == VIEW_UNITS - 1) {
			snprintf(buf, cap, "%" PRIu64 "%c", secs / view_units[i].secs,
			         view_units[i].letter);
			return;
		}
}

const char *view_endpoint(const struct parse_endpoint *ep, char *buf, size_t cap)
{
	if ((ep->af != PARSE_AF_INET && ep->af != PARSE_AF_INET6) ||
	    !parse_endpoint_format(ep, PARSE_STYLE_ENDPOINT, buf, cap))
		return NULL;
	return buf;
}

void view_unix(char *buf, size_t cap, uint64_t ns)
{
	snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64, ns / VIEW_NS, ns % VIEW_NS / 1000u);
}

void view_date(char *buf, size_t cap, uint64_t ns)
{
	time_t secs = (time_t)(ns / VIEW_NS);
	struct tm tm;

	if (!localtime_r(&secs, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, cap, "%" PRIu64, ns / VIEW_NS);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t view_utf8(const unsigned char *s)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (!len || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

void view_json_str(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', out);
	while (*u) {
		size_t len = *u >= 0x80 ? view_utf8(u) : 0;

		if (len) {
			fwrite(u, 1, len, out);
			u += len;
		} else if (*u == '"' || *u == '\\') {
			fprintf(out, "\\%c", *u++);
		} else if (*u < 0x20 || *u >= 0x7f) {
			fprintf(out, "\\u%04x", *u++);
		} else {
			fputc(*u++, out);
		}
	}
	fputc('"', out);
}

const char *view_state_color(const struct view *v, int state)
{
	static const char *const colors[SHM_STATE__COUNT] = {
	        [SHM_STATE_NEW] = "\033[36m",   [SHM_STATE_UP] = "\033[32m",
	        [SHM_STATE_STALE] = "\033[33m", [SHM_STATE_FAILING] = "\033[1;31m",
	        [SHM_STATE_DOWN] = "\033[31m",  [SHM_STATE_REMOVED] = "\033[2m",
	};

	return v->color && state >= 0 && state < SHM_STATE__COUNT ? colors[state] : "";
}

const char *view_bold(const struct view *v)
{
	return v->color ? "\033[1m" : "";
}

const char *view_reset(const struct view *v)
{
	return v->color ? "\033[0m" : "";
}

void view_wrap(FILE *out, const char *text, int indent, int lead_len, int width)
{
	const char *p = text;
	int col = lead_len;
	bool first = true;

	while (*p) {
		size_t word = strcspn(p, " ");

		if (!first && col + 1 + (int)word > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', out);
			col++;
		}
		first = false;
		fwrite(p, 1, word, out);
		col += (int)word;
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

int view_host_entry(const struct view *v, uint32_t host, struct shm_host *out)
{
	const struct shm_header *h = shm_reader_header(v->r);
	const struct shm_host *hosts;

	/* Pairs with the writer's release of hosts_used: entries below it are complete. */
	if (host >= __atomic_load_n(&h->hosts_used, __ATOMIC_ACQUIRE) || host >= h->host_capacity)
		return -ENOENT;
	hosts = (const struct shm_host *)((const char *)h + h->section[SHM_SEC_HOSTS].offset);
	memset(out, 0, sizeof(*out));
	/* Counters only: relaxed loads, no ordering needed. */
	out->ratelimit_suppressed =
	        __atomic_load_n(&hosts[host].ratelimit_suppressed, __ATOMIC_RELAXED);
	out->last_ratelimit = __atomic_load_n(&hosts[host].last_ratelimit, __ATOMIC_RELAXED);
	out->first_seen = __atomic_load_n(&hosts[host].first_seen, __ATOMIC_RELAXED);
	return 0;
}
