/* SPDX-License-Identifier: MIT */
/*
 * cmd_show.c — `wgmon show` (the peer table: for people grouped by host and interface, --tsv
 * for scripts, --json one object per line, --summary peers by state per interface and tenant)
 * and `wgmon stats` (the collector's counters). Both are plain readers of the shm table: they
 * attach read-only, copy what they print, and never wait for the writer.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm/shm.h"
#include "tools/config.h"
#include "tools/tools.h"
#include "tools/tools_view.h"

#define SHOW_HOST_COL   11 /* --summary column widths: 80 columns in all */
#define SHOW_IFACE_COL  11
#define SHOW_TENANT_COL 10

enum show_format { SHOW_HUMAN, SHOW_TSV, SHOW_JSON };

struct show_opts {
	struct view_opts view;
	struct view_filter filter;
	enum show_format format;
	bool summary;
};

static void show_usage(FILE *out)
{
	fprintf(out,
	        "Usage: wgmon show [options]\n\n"
	        "Print the peer table of a running wgmond: grouped by host and interface\n"
	        "(default), tab-separated with a header line (--tsv), or one JSON object per\n"
	        "peer and line, sorted by host then peer (--json). Each peer has a state\n"
	        "(new, up, stale, failing, down, removed) and, when the configuration maps its\n"
	        "host or interface to one, a tenant. In JSON, `tenant` is omitted when the\n"
	        "peer has none; in TSV it is empty.\n\n"
	        "  --json              JSON lines\n"
	        "  --tsv               tab-separated values\n"
	        "  --summary           peers by state per interface and per "
	        "tenant\n" VIEW_HELP_TABLE VIEW_HELP_FILTER "  --help              this text\n");
}

static void stats_usage(FILE *out)
{
	fprintf(out, "Usage: wgmon stats [--shm NAME] [--json]\n\n"
	             "Print the collector's counters: datagrams, lines, events, rejections and\n"
	             "drops by reason, peers in use, and the writer's heartbeat.\n\n"
	             "  --shm NAME  table to read (default: $WGMON_SHM, else /wgmon)\n"
	             "  --json      one JSON object\n"
	             "  --help      this text\n");
}

/* Parse the options of show. 0 to go on, else the exit code + 1. */
static int show_args(int argc, char **argv, struct show_opts *o)
{
	static const struct option longopts[] = {
	        VIEW_LONGOPTS_TABLE,
	        VIEW_LONGOPTS_FILTER,
	        {"json", no_argument, NULL, 'j'},
	        {"tsv", no_argument, NULL, 't'},
	        {"summary", no_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c, r;

	*o = (struct show_opts){.format = SHOW_HUMAN, .view.cmd = "show"};
	optind = 0; /* glibc: start over, also when called twice in one process */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = view_opt(c, optarg, &o->view, &o->filter);
		if (r < 0)
			return 3;
		if (r > 0)
			continue;
		switch (c) {
		case 'j': o->format = SHOW_JSON; break;
		case 't': o->format = SHOW_TSV; break;
		case 'S': o->summary = true; break;
		case 'h': show_usage(stdout); return 1;
		default: goto bad;
		}
	}
	if (optind < argc)
		goto bad;
	return 0;
bad:
	show_usage(stderr);
	return 3;
}

/* ---- One peer ------------------------------------------------------------------------------ */

static void show_time_tsv(uint64_t ns)
{
	char buf[32];

	view_unix(buf, sizeof(buf), ns);
	printf("\t%s", ns ? buf : "0");
}

static void show_tsv_header(void)
{
	printf("host\tiface\tpeer\tendpoint\tfirst_seen\tlast_seen\tlast_handshake\t"
	       "last_handshake_rx\tlast_keepalive_rx\tlast_keepalive_tx\tendpoint_changes\t"
	       "state\ttenant\n");
}

static void show_tsv(struct view *v, const struct shm_peer *p, const struct view_row *row)
{
	const char *tenant = view_tenant_name(v, row->tenant);
	char ep[VIEW_ENDPOINT], iface[SHM_IFACE_NAME_MAX + 1];

	printf("%s\t%s\t%" PRIu64 "\t%s", view_host(v, p->host), view_iface(v, p->iface, iface),
	       p->peer, view_endpoint(&p->endpoint, ep, sizeof(ep)) ?: "(none)");
	show_time_tsv(p->first_seen);
	show_time_tsv(p->last_seen);
	show_time_tsv(p->last_handshake);
	show_time_tsv(p->last_handshake_rx);
	show_time_tsv(p->last_keepalive_rx);
	show_time_tsv(p->last_keepalive_tx);
	printf("\t%" PRIu32 "\t%s\t%s\n", p->endpoint_changes, shm_state_name(row->state),
	       tenant ? tenant : "");
}

/* The contract object of shm_peer_json(), plus "state" and "tenant" (omitted when none). */
static void show_json(struct view *v, const struct shm_peer *p, const struct view_row *row)
{
	const char *tenant = view_tenant_name(v, row->tenant);
	char json[SHM_PEER_JSON_MAX];
	size_t n = shm_peer_json(v->r, p, json, sizeof(json));

	if (!n || json[n - 1] != '}')
		return;
	printf("%.*s,\"state\":\"%s\"", (int)(n - 1), json, shm_state_name(row->state));
	if (tenant) {
		printf(",\"tenant\":");
		view_json_str(stdout, tenant);
	}
	printf("}\n");
}

/* "2 up, 1 stale" over rows [from, to). */
static void show_state_counts(const struct view_row *rows, int64_t from, int64_t to)
{
	uint64_t count[SHM_STATE__COUNT] = {0};
	bool first = true;

	for (int64_t i = from; i < to; i++)
		count[rows[i].state]++;
	printf("  peers: %" PRId64 " (", to - from);
	for (int s = 0; s < SHM_STATE__COUNT; s++) {
		if (!count[s])
			continue;
		printf("%s%" PRIu64 " %s", first ? "" : ", ", count[s], shm_state_name(s));
		first = false;
	}
	printf(")\n");
}

/* The "host:" and "interface:" headings when row i starts a new group. */
static void show_headings(struct view *v, const struct view_row *rows, int64_t i, int64_t n)
{
	const struct view_row *row = &rows[i], *prev = i ? &rows[i - 1] : NULL;
	const char *tenant = view_tenant_name(v, row->tenant);
	struct shm_iface f;
	int64_t end = i;

	if (!prev || prev->host_rank != row->host_rank)
		printf("%s%shost%s: %s\n", prev ? "\n" : "", view_bold(v), view_reset(v),
		       view_host_label(v, row->host));
	if (prev && prev->host_rank == row->host_rank && prev->iface_rank == row->iface_rank)
		return;
	if (row->iface != SHM_NO_IFACE && !shm_reader_iface(v->r, row->iface, &f))
		printf("\n%sinterface%s: %s (%s)\n", view_bold(v), view_reset(v), f.name,
		       view_iface_state_name(f.state));
	else
		printf("\n%sinterface%s: (unknown)\n", view_bold(v), view_reset(v));
	if (tenant)
		printf("  tenant: %s\n", tenant);
	while (end < n && rows[end].host_rank == row->host_rank &&
	       rows[end].iface_rank == row->iface_rank)
		end++;
	show_state_counts(rows, i, end);
}

/* The human form of one peer, in the spirit of `wg show`. */
static void show_human(struct view *v, const struct shm_peer *p, const struct view_row *row)
{
	char ep[VIEW_ENDPOINT], age[VIEW_AGE_MAX], age2[VIEW_AGE_MAX];

	printf("\n  %speer%s: %" PRIu64 "\n", view_bold(v), view_reset(v), p->peer);
	if (view_endpoint(&p->endpoint, ep, sizeof(ep)))
		printf("    endpoint: %s\n", ep);
	if (p->last_handshake) {
		view_age(age, sizeof(age), p->last_handshake, v->now);
		printf("    latest handshake: %s\n", age);
	}
	if (p->last_keepalive_rx || p->last_keepalive_tx) {
		view_age(age, sizeof(age), p->last_keepalive_rx, v->now);
		view_age(age2, sizeof(age2), p->last_keepalive_tx, v->now);
		printf("    keepalive: received %s, sent %s\n", age, age2);
	}
	printf("    state: %s%s%s\n", view_state_color(v, row->state), shm_state_name(row->state),
	       view_reset(v));
	view_age(age, sizeof(age), p->last_seen, v->now);
	printf("    last seen: %s\n", age);
	if (p->endpoint_changes)
		printf("    endpoint changes: %" PRIu32 "\n", p->endpoint_changes);
}

/* ---- Summary ------------------------------------------------------------------------------- */

struct show_group {
	uint64_t count[SHM_STATE__COUNT];
	uint64_t total;
};

static void show_group_add(struct show_group *g, int state)
{
	g->count[state]++;
	g->total++;
}

/* A name cut to `width` columns ("~" marks the cut), for the summary table. */
static void show_cell(const char *s, int width)
{
	int len = (int)strlen(s);

	if (len <= width)
		printf("%-*s ", width, s);
	else
		printf("%.*s~ ", width - 1, s);
}

/* Human summary: a state's column is as wide as its name, at least 5. */
static int show_state_width(int state)
{
	int len = (int)strlen(shm_state_name(state));

	return len > 5 ? len : 5;
}

static void show_group_print(const struct show_group *g, enum show_format format)
{
	if (format == SHOW_JSON) {
		printf(",\"total\":%" PRIu64, g->total);
		for (int s = 0; s < SHM_STATE__COUNT; s++)
			printf(",\"%s\":%" PRIu64, shm_state_name(s), g->count[s]);
		printf("}\n");
		return;
	}
	if (format == SHOW_TSV)
		printf("\t%" PRIu64, g->total);
	else
		printf("%6" PRIu64, g->total);
	for (int s = 0; s < SHM_STATE__COUNT; s++)
		if (format == SHOW_TSV)
			printf("\t%" PRIu64, g->count[s]);
		else
			printf(" %*" PRIu64, show_state_width(s), g->count[s]);
	printf("\n");
}

static void show_summary_header(const char *lead, enum show_format format)
{
	if (format == SHOW_JSON)
		return;
	printf("%s%s", lead, format == SHOW_TSV ? "\ttotal" : " total");
	for (int s = 0; s < SHM_STATE__COUNT; s++)
		if (format == SHOW_TSV)
			printf("\t%s", shm_state_name(s));
		else
			printf(" %*s", show_state_width(s), shm_state_name(s));
	printf("\n");
}

/* One line per interface (rows sorted by host and interface). */
static void show_summary_ifaces(struct view *v, const struct view_row *rows, int64_t n,
                                enum show_format format)
{
	char iface[SHM_IFACE_NAME_MAX + 1];

	if (format == SHOW_HUMAN)
		show_summary_header("host        iface       tenant    ", format);
	else if (format == SHOW_TSV)
		show_summary_header("group\thost\tiface\ttenant", format);
	for (int64_t i = 0, end; i < n; i = end) {
		const char *host = view_host(v, rows[i].host);
		const char *tenant = view_tenant_name(v, rows[i].tenant);
		struct show_group g = {0};

		for (end = i; end < n && rows[end].host_rank == rows[i].host_rank &&
		              rows[end].iface_rank == rows[i].iface_rank;
		     end++)
			show_group_add(&g, rows[end].state);
		view_iface(v, rows[i].iface, iface);
		if (format == SHOW_JSON) {
			printf("{\"group\":\"iface\",\"host\":");
			view_json_str(stdout, host);
			printf(",\"iface\":");
			view_json_str(stdout, iface);
			if (tenant) {
				printf(",\"tenant\":");
				view_json_str(stdout, tenant);
			}
		} else if (format == SHOW_TSV) {
			printf("iface\t%s\t%s\t%s", host, iface, tenant ? tenant : "");
		} else {
			show_cell(view_host_label(v, rows[i].host), SHOW_HOST_COL);
			show_cell(iface, SHOW_IFACE_COL);
			printf("%-*.*s", SHOW_TENANT_COL, SHOW_TENANT_COL, tenant ? tenant : "-");
		}
		show_group_print(&g, format);
	}
}

/* One line per tenant (configuration order), then peers without a tenant. */
static int show_summary_tenants(struct view *v, const struct view_row *rows, int64_t n,
                                enum show_format format)
{
	const uint32_t nt = v->cfg->n_tenant;
	struct show_group *g = calloc(nt + 1, sizeof(*g));

	if (!g)
		return -1;
	for (int64_t i = 0; i < n; i++)
		show_group_add(&g[rows[i].tenant < 0 ? nt : (uint32_t)rows[i].tenant],
		               rows[i].state);
	if (format == SHOW_HUMAN)
		show_summary_header("\ntenant                            ", format);
	for (uint32_t t = 0; t <= nt; t++) {
		const char *name = t < nt ? v->cfg->tenant[t].name : "";

		if (!g[t].total && t == nt)
			continue;
		if (format == SHOW_JSON) {
			printf("{\"group\":\"tenant\",\"tenant\":");
			view_json_str(stdout, name);
		} else if (format == SHOW_TSV) {
			printf("tenant\t\t\t%s", name);
		} else {
			printf("%-34s", t < nt ? name : "(no tenant)");
		}
		show_group_print(&g[t], format);
	}
	free(g);
	return 0;
}

/* ---- The command --------------------------------------------------------------------------- */

static void show_peers(struct view *v, const struct show_opts *o, const struct view_row *rows,
                       int64_t n)
{
	struct shm_peer p;

	if (o->format == SHOW_TSV)
		show_tsv_header();
	for (int64_t i = 0; i < n; i++) {
		if (shm_reader_peer_snapshot(v->r, rows[i].slot, &p))
			continue;
		if (o->format == SHOW_JSON) {
			show_json(v, &p, &rows[i]);
		} else if (o->format == SHOW_TSV) {
			show_tsv(v, &p, &rows[i]);
		} else {
			show_headings(v, rows, i, n);
			show_human(v, &p, &rows[i]);
		}
	}
}

int cmd_show(int argc, char **argv)
{
	struct view_row *rows = NULL;
	struct show_opts o;
	struct view v;
	int64_t n;
	int ret = show_args(argc, argv, &o);

	if (ret)
		return ret - 1;
	if (view_open(&v, &o.view))
		return 1;
	n = view_rows(&v, &o.filter,
	              o.format == SHOW_JSON && !o.summary ? VIEW_BY_HOST_PEER
	                                                  : VIEW_BY_HOST_IFACE_PEER,
	              &rows);
	ret = n < 0;
	if (!ret && o.summary) {
		show_summary_ifaces(&v, rows, n, o.format);
		ret = show_summary_tenants(&v, rows, n, o.format) < 0;
	} else if (!ret) {
		show_peers(&v, &o, rows, n);
	}
	if (ret)
		fprintf(stderr, "wgmon show: out of memory\n");
	free(rows);
	view_close(&v);
	return ret || fflush(stdout) ? 1 : 0;
}

/* ---- Stats --------------------------------------------------------------------------------- */

static uint64_t stats_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * VIEW_NS + (uint64_t)ts.tv_nsec;
}

static double stats_heartbeat_age(const struct shm_stats *s)
{
	uint64_t now = stats_now();

	return s->heartbeat < now ? (double)(now - s->heartbeat) / 1e9 : 0.0;
}

static void stats_json_map(const char *key, const uint64_t *v, unsigned from, unsigned count,
                           const char *(*name)(unsigned))
{
	printf(",\"%s\":{", key);
	for (unsigned k = from; k < count; k++)
		printf("%s\"%s\":%" PRIu64, k == from ? "" : ",", name(k), v[k]);
	printf("}");
}

static void stats_json(const struct shm_stats *s)
{
	printf("{\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"lines\":%" PRIu64
	       ",\"events\":%" PRIu64,
	       s->datagrams, s->bytes, s->lines, s->events_total);
	stats_json_map("events_by_kind", s->events, 1, PARSE_EV__COUNT, parse_event_name);
	stats_json_map("rejected", s->rejected, 1, PARSE_REJECT__COUNT, parse_reject_name);
	stats_json_map("dropped", s->dropped, 0, SHM_DROP__COUNT, shm_drop_name);
	printf(",\"ratelimit_suppressed\":%" PRIu64 ",\"peers\":%" PRIu64 ",\"capacity\":%" PRIu64
	       ",\"hosts\":%" PRIu32 ",\"ifaces\":%" PRIu32 ",\"generation\":%" PRIu64
	       ",\"writer_pid\":%" PRIu32 ",\"heartbeat_age_seconds\":%.3f,\"event_head\":%" PRIu64
	       "}\n",
	       s->ratelimit_suppressed, s->peers, s->peer_capacity, s->hosts, s->ifaces,
	       s->generation, s->writer_pid, stats_heartbeat_age(s), s->event_head);
}

/* "  name  count" for each non-zero entry. */
static void stats_human_map(const uint64_t *v, unsigned from, unsigned count,
                            const char *(*name)(unsigned))
{
	for (unsigned k = from; k < count; k++)
		if (v[k])
			printf("  %-30s %" PRIu64 "\n", name(k), v[k]);
}

static uint64_t stats_sum(const uint64_t *v, unsigned count)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < count; k++)
		n += v[k];
	return n;
}

static void stats_human(const char *name, const struct shm_stats *s)
{
	printf("table %s: generation %" PRIu64 ", writer pid %" PRIu32
	       ", heartbeat %.1f seconds ago\n",
	       name, s->generation, s->writer_pid, stats_heartbeat_age(s));
	printf("%-32s %" PRIu64 " of %" PRIu64 "\n", "peers", s->peers, s->peer_capacity);
	printf("%-32s %" PRIu32 "\n", "hosts", s->hosts);
	printf("%-32s %" PRIu32 "\n", "interfaces", s->ifaces);
	printf("%-32s %" PRIu64 "\n", "datagrams", s->datagrams);
	printf("%-32s %" PRIu64 "\n", "bytes", s->bytes);
	printf("%-32s %" PRIu64 "\n", "lines", s->lines);
	printf("%-32s %" PRIu64 "\n", "events", s->events_total);
	stats_human_map(s->events, 1, PARSE_EV__COUNT, parse_event_name);
	printf("%-32s %" PRIu64 "\n", "rejected", stats_sum(s->rejected, SHM_REJECT_KINDS));
	stats_human_map(s->rejected, 1, PARSE_REJECT__COUNT, parse_reject_name);
	printf("%-32s %" PRIu64 "\n", "dropped", stats_sum(s->dropped, SHM_DROP_KINDS));
	stats_human_map(s->dropped, 0, SHM_DROP__COUNT, shm_drop_name);
	printf("%-32s %" PRIu64 "\n", "kernel ratelimit suppressed", s->ratelimit_suppressed);
}

/* Parse the options of stats. 0 to go on, else the exit code + 1. */
static int stats_args(int argc, char **argv, const char **shm, bool *json)
{
	static const struct option longopts[] = {
	        {"shm", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	*shm = NULL;
	*json = false;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': *shm = optarg; break;
		case 'j': *json = true; break;
		case 'h': stats_usage(stdout); return 1;
		default: stats_usage(stderr); return 3;
		}
	}
	if (optind < argc) {
		stats_usage(stderr);
		return 3;
	}
	*shm = tools_shm_name(*shm);
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	struct shm_reader *r;
	struct shm_stats s;
	const char *shm;
	bool json;
	int ret = stats_args(argc, argv, &shm, &json);

	if (ret)
		return ret - 1;
	if (shm_reader_attach(&r, shm)) {
		fprintf(stderr, "wgmon stats: %s\n", shm_reader_error());
		return 1;
	}
	shm_reader_stats(r, &s);
	if (json)
		stats_json(&s);
	else
		stats_human(shm, &s);
	shm_reader_detach(r);
	return fflush(stdout) ? 1 : 0;
}
