/* SPDX-License-Identifier: MIT */
/*
 * cmd_events.c — `wgmon events`: the recent events of the shm event ring, filtered, one per
 * line (or JSON lines, the objects of `wgmon parse` with seq, time and tenant added), and with
 * --follow the new ones as they come. A reader that falls behind the ring says how many events
 * it missed, in the stream, where they were lost.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/shm.h"
#include "tools/tools.h"
#include "tools/tools_view.h"

#define EV_FOLLOW_MS 100 /* how often --follow looks at the ring */
#define EV_KINDS_MAX 64  /* a bit per event kind in the --event mask */
#define EV_PEER_EPS  64  /* endpoints remembered for --peer */

struct ev_opts {
	struct view_opts view;
	struct view_filter filter;
	uint64_t kinds; /* --event: bit per kind, 0 = all */
	uint64_t last;  /* -n: only the last N matching events before following; 0 = all */
	bool follow, json;
};

/* --peer also matches the events that carry only an endpoint (invalid MACs, no route, ...)
 * from the peer's current endpoint on its host. */
struct ev_peer_eps {
	uint32_t host[EV_PEER_EPS];
	struct parse_endpoint ep[EV_PEER_EPS];
	unsigned n;
};

static volatile sig_atomic_t ev_stop; /* set by SIGINT / SIGTERM while following */

static void ev_on_signal(int sig)
{
	(void)sig;
	ev_stop = 1;
}

static void ev_usage(FILE *out)
{
	fprintf(out,
	        "Usage: wgmon events [options]\n\n"
	        "Print the recent events still in the event ring (oldest first), then with\n"
	        "--follow the new ones until interrupted. When the writers lap this reader, a\n"
	        "line says how many events were missed there: \"-- missed N events --\", or\n"
	        "{\"missed\":N} with --json.\n\n"
	        "  -f, --follow        keep printing new events\n"
	        "  --event NAMES       only these events (comma-separated, repeatable)\n"
	        "  --peer ID           only this peer's events, and the endpoint-only events\n"
	        "                      (invalid MACs, no route, cookies) from its endpoint\n"
	        "  --host GLOB         only these hosts ('' or '(local)': the local host)\n"
	        "  --iface GLOB        only these interfaces\n"
	        "  --tenant GLOB       only these tenants\n"
	        "  -n, --last N        start with only the last N matching events\n"
	        "  --json              the objects of `wgmon parse`, with seq, time and tenant\n"
	        "                      (host absent: the local host)\n"
	        "  --shm NAME          table to read (default: $WGMON_SHM, else /wgmon)\n"
	        "  --config FILE       tenants (default /etc/wgmon/wgmon.conf if present)\n"
	        "  --color WHEN        auto, always, never\n"
	        "  --help              this text\n");
}

static int ev_kinds_parse(const char *list, uint64_t *mask)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		unsigned k = parse_event_lookup(p, n);

		if (k == PARSE_EV_NONE || k >= EV_KINDS_MAX) {
			fprintf(stderr, "wgmon events: --event: unknown event '%.*s'\n",
			        (int)(n < 48 ? n : 48), p);
			return -EINVAL;
		}
		*mask |= 1ull << k;
		p += n + (p[n] == ',');
	}
	return 0;
}

/* 0 to go on, else the exit code + 1. */
static int ev_args(int argc, char **argv, struct ev_opts *o)
{
	static const struct option longopts[] = {
	        VIEW_LONGOPTS_TABLE,
	        VIEW_LONGOPTS_FILTER,
	        {"follow", no_argument, NULL, 'f'},
	        {"event", required_argument, NULL, 'e'},
	        {"last", required_argument, NULL, 'n'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c, r;

	*o = (struct ev_opts){.view.cmd = "events"};
	optind = 0;
	while ((c = getopt_long(argc, argv, "fn:h", longopts, NULL)) != -1) {
		if (c == VIEW_OPT_STATE || c == VIEW_OPT_STALE_AFTER)
			goto bad; /* events have no state */
		r = view_opt(c, optarg, &o->view, &o->filter);
		if (r < 0)
			return 3;
		if (r > 0)
			continue;
		switch (c) {
		case 'f': o->follow = true; break;
		case 'j': o->json = true; break;
		case 'e':
			if (ev_kinds_parse(optarg, &o->kinds))
				return 3;
			break;
		case 'n':
			if (view_u64_parse(optarg, &o->last) || !o->last) {
				fprintf(stderr,
				        "wgmon events: --last: expected a number above 0\n");
				return 3;
			}
			break;
		case 'h': ev_usage(stdout); return 1;
		default: goto bad;
		}
	}
	if (optind == argc)
		return 0;
bad:
	ev_usage(stderr);
	return 3;
}

/* ---- Matching ------------------------------------------------------------------------------ */

/* Remember the current endpoint of every peer with the --peer id (one per host). */
static void ev_peer_eps_load(struct view *v, const struct view_filter *f, struct ev_peer_eps *e)
{
	const uint64_t slots = shm_reader_peer_slots(v->r);
	struct shm_peer p;

	e->n = 0;
	if (!f->has_peer)
		return;
	for (uint64_t i = shm_reader_peer_next(v->r, 0); i < slots && e->n < EV_PEER_EPS;
	     i = shm_reader_peer_next(v->r, i + 1)) {
		if (shm_reader_peer_snapshot(v->r, i, &p) || p.peer != f->peer ||
		    (p.endpoint.af != PARSE_AF_INET && p.endpoint.af != PARSE_AF_INET6))
			continue;
		e->host[e->n] = p.host;
		e->ep[e->n++] = p.endpoint;
	}
}

static bool ev_same_endpoint(const struct parse_endpoint *a, const struct parse_endpoint *b)
{
	return a->af == b->af && a->port == b->port && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool ev_match_peer(const struct view_filter *f, const struct ev_peer_eps *eps,
                          const struct shm_event *e)
{
	if (e->fields & PARSE_F_PEER)
		return e->peer == f->peer;
	if (!(e->fields & PARSE_F_ENDPOINT))
		return false;
	for (unsigned i = 0; i < eps->n; i++)
		if (eps->host[i] == e->host && ev_same_endpoint(&eps->ep[i], &e->endpoint))
			return true;
	return false;
}

static bool ev_match(struct view *v, const struct ev_opts *o, const struct ev_peer_eps *eps,
                     const struct shm_event *e)
{
	if (o->kinds && (e->kind >= EV_KINDS_MAX || !(o->kinds & (1ull << e->kind))))
		return false;
	if (o->filter.has_peer && !ev_match_peer(&o->filter, eps, e))
		return false;
	return view_filter_place(v, &o->filter, e->host, e->iface);
}

/* ---- Printing ------------------------------------------------------------------------------ */

/* The event as `wgmon parse` prints it: rebuild a parse_event with its text slices. */
static size_t ev_parse_json(struct view *v, const struct shm_event *e, char *buf, size_t cap)
{
	const char *host = view_host(v, e->host);
	char ep[VIEW_ENDPOINT], addr[VIEW_ENDPOINT];
	struct parse_event pe = {
	        .kind = e->kind,
	        .fields = e->fields,
	        .repeat = e->repeat,
	        .peer = e->peer,
	        .n = {e->n[0], e->n[1]},
	        .endpoint = e->endpoint,
	        .addr = e->addr,
	        .host = host,
	        .host_len = (uint8_t)strlen(host),
	        .endpoint_text = ep,
	        .addr_text = addr,
	        .version = "",
	};

	view_iface(v, e->iface, pe.iface);
	pe.iface_len = (uint8_t)strlen(pe.iface);
	pe.endpoint_len =
	        (uint8_t)parse_endpoint_format(&e->endpoint, PARSE_STYLE_ENDPOINT, ep, sizeof(ep));
	/* M27 prints IPv4, M28 IPv6 uncompressed (%pI6), M11 compressed (%pISc). */
	pe.addr_len = (uint8_t)parse_endpoint_format(&e->addr,
	                                             e->kind == PARSE_EV_XMIT_NO_ALLOWED_IPS
	                                                     ? PARSE_STYLE_UNCOMPRESSED
	                                                     : PARSE_STYLE_COMPRESSED,
	                                             addr, sizeof(addr));
	return parse_event_json(PARSE_OK, &pe, buf, cap);
}

static void ev_print_json(struct view *v, const struct shm_event *e)
{
	const char *tenant = view_tenant_name(v, view_tenant_index(v, e->host, e->iface));
	char json[PARSE_JSON_MAX], time[32];
	size_t n = ev_parse_json(v, e, json, sizeof(json));

	if (n < 2)
		return;
	view_unix(time, sizeof(time), e->time);
	printf("{\"seq\":%" PRIu64 ",\"time\":%s,%.*s", e->seq, time, (int)(n - 2), json + 1);
	if (tenant) {
		printf(",\"tenant\":");
		view_json_str(stdout, tenant);
	}
	printf("}\n");
}

/* The fields besides host, iface, peer and endpoint, as "name=value". */
static void ev_print_fields(const struct shm_event *e)
{
	static const struct {
		uint16_t bit;
		const char *name;
		int slot; /* n[slot] */
		bool is_signed;
	} fields[] = {
	        {PARSE_F_ERROR, "error", 0, true},      {PARSE_F_ATTEMPTS, "attempts", 0, true},
	        {PARSE_F_SECONDS, "seconds", 0, true},  {PARSE_F_TRY, "try", 1, true},
	        {PARSE_F_NONCE, "nonce", 0, false},     {PARSE_F_NONCE_MAX, "max", 1, false},
	        {PARSE_F_KEYPAIR, "keypair", 0, false}, {PARSE_F_COUNT, "count", 0, true},
	        {PARSE_F_FAMILY, "family", 0, true},
	};
	char addr[VIEW_ENDPOINT];

	if ((e->fields & PARSE_F_ADDR) &&
	    parse_endpoint_format(&e->addr,
	                          e->kind == PARSE_EV_XMIT_NO_ALLOWED_IPS ? PARSE_STYLE_UNCOMPRESSED
	                                                                  : PARSE_STYLE_COMPRESSED,
	                          addr, sizeof(addr)))
		printf(" addr=%s", addr);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!(e->fields & fields[i].bit))
			continue;
		if (fields[i].is_signed)
			printf(" %s=%" PRId64, fields[i].name, (int64_t)e->n[fields[i].slot]);
		else
			printf(" %s=%" PRIu64, fields[i].name, e->n[fields[i].slot]);
	}
	if (e->repeat > 1)
		printf(" (x%" PRIu32 ")", e->repeat);
}

/* "2026-11-22 02:01:40.123456 vpn1 wg0 peer 17 keepalive_received 198.51.100.7:51820" */
static void ev_print_human(struct view *v, const struct shm_event *e)
{
	char date[32], iface[SHM_IFACE_NAME_MAX + 1], ep[VIEW_ENDPOINT];

	view_date(date, sizeof(date), e->time);
	printf("%s.%06" PRIu64 " %s %s", date, e->time % VIEW_NS / 1000u,
	       view_host_label(v, e->host), *view_iface(v, e->iface, iface) ? iface : "-");
	if (e->fields & PARSE_F_PEER)
		printf(" peer %" PRIu64, e->peer);
	printf(" %s%s%s", view_bold(v), parse_event_name(e->kind) ?: "?", view_reset(v));
	if ((e->fields & PARSE_F_ENDPOINT) &&
	    parse_endpoint_format(&e->endpoint, PARSE_STYLE_ENDPOINT, ep, sizeof(ep)))
		printf(" %s", ep);
	ev_print_fields(e);
	printf("\n");
}

static void ev_print_missed(const struct ev_opts *o, uint64_t missed)
{
	if (o->json)
		printf("{\"missed\":%" PRIu64 "}\n", missed);
	else
		printf("-- missed %" PRIu64 " event%s --\n", missed, missed == 1 ? "" : "s");
}

static void ev_print(struct view *v, const struct ev_opts *o, const struct shm_event *e)
{
	if (o->json)
		ev_print_json(v, e);
	else
		ev_print_human(v, e);
}

/* ---- Reading ------------------------------------------------------------------------------- */

/* Where to start: with --last N, just before the N-th newest matching event still there. */
static void ev_begin(struct view *v, const struct ev_opts *o, const struct ev_peer_eps *eps,
                     struct shm_event_cursor *c)
{
	const struct shm_header *h = shm_reader_header(v->r);
	/* Only a bound for this pass: each record's seq publishes its contents. */
	const uint64_t head = __atomic_load_n(&h->event_head, __ATOMIC_RELAXED);
	uint64_t *pos = o->last ? calloc(o->last, sizeof(*pos)) : NULL;
	uint64_t n = 0;
	struct shm_event e;

	shm_reader_events_begin(v->r, c, h->event_capacity);
	if (!pos)
		return;
	for (struct shm_event_cursor s = *c; s.next < head;) {
		uint64_t missed;

		if (shm_reader_events_next(v->r, &s, &e, &missed) != 1) {
			if (!missed)
				break;
			continue;
		}
		if (ev_match(v, o, eps, &e))
			pos[n++ % o->last] = e.seq - 1; /* event seq s lives at position s - 1 */
	}
	if (n >= o->last)
		c->next = pos[n % o->last];
	free(pos);
}

/* Print what is there now; 0, or -1 when stdout failed. */
static int ev_drain(struct view *v, const struct ev_opts *o, const struct ev_peer_eps *eps,
                    struct shm_event_cursor *c)
{
	struct shm_event e;
	uint64_t missed;
	int got;

	for (;;) {
		got = shm_reader_events_next(v->r, c, &e, &missed);
		if (missed)
			ev_print_missed(o, missed);
		if (got != 1 && !missed)
			break;
		if (got == 1 && ev_match(v, o, eps, &e))
			ev_print(v, o, &e);
		if (ferror(stdout))
			return -1;
	}
	return fflush(stdout) ? -1 : 0;
}

static void ev_signals(void)
{
	struct sigaction sa = {.sa_handler = ev_on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed pipe shows as an error of fflush */
}

static int ev_follow(struct view *v, const struct ev_opts *o, struct ev_peer_eps *eps,
                     struct shm_event_cursor *c)
{
	int ret;

	ev_signals();
	while (!ev_stop) {
		ret = view_refresh(v);
		if (ret == 1) {
			/* A new table (wgmond --reset): its ring starts over. */
			fprintf(stderr, "wgmon events: the table was recreated; following it\n");
			ev_peer_eps_load(v, &o->filter, eps);
			shm_reader_events_begin(v->r, c, shm_reader_header(v->r)->event_capacity);
		}
		if (ev_drain(v, o, eps, c))
			return -1;
		poll(NULL, 0, EV_FOLLOW_MS); /* the ring has no wake-up: look again shortly */
	}
	return 0;
}

int cmd_events(int argc, char **argv)
{
	struct shm_event_cursor c;
	struct ev_peer_eps eps;
	struct ev_opts o;
	struct view v;
	int ret = ev_args(argc, argv, &o);

	if (ret)
		return ret - 1;
	if (view_open(&v, &o.view))
		return 1;
	ev_peer_eps_load(&v, &o.filter, &eps);
	ev_begin(&v, &o, &eps, &c);
	ret = ev_drain(&v, &o, &eps, &c);
	if (!ret && o.follow)
		ret = ev_follow(&v, &o, &eps, &c);
	view_close(&v);
	return ret ? 1 : 0;
}
