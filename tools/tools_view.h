/* SPDX-License-Identifier: MIT */
/*
 * tools_view — what the reader subcommands (show, watch, events, doctor) share: the attached
 * table with its configuration (tenants, stale thresholds), each peer's state and tenant,
 * filters, sorted peer rows, and the text helpers (ages, endpoints, JSON strings, colour).
 * Everything here runs in the one thread of a wgmon command; nothing is shared between
 * processes except the read-only table.
 */
#ifndef WGMON_TOOLS_VIEW_H
#define WGMON_TOOLS_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shm/shm.h"

#define VIEW_WUR __attribute__((warn_unused_result))

#define VIEW_NS          UINT64_C(1000000000)
#define VIEW_AGE_MAX     96 /* "1 year, 2 days, 3 hours, 4 minutes, 5 seconds ago" */
#define VIEW_ENDPOINT    64 /* any endpoint text, NUL included */
#define VIEW_NO_TENANT   (-1)
#define VIEW_STATES_ALL  ((1u << SHM_STATE__COUNT) - 1)
#define VIEW_IFACE_STATE 3 /* "unknown", "up", "down" */

struct wgmon_config;
struct view_filter;

/* The table and how to judge it. Filled by view_open(); view_close() frees it. */
struct view {
	struct shm_reader *r;
	struct wgmon_config *cfg; /* defaults when no file: [health] stale_after 180, no tenants */
	uint64_t now;             /* CLOCK_REALTIME ns; view_tick() renews it */
	bool color;               /* ANSI colour on stdout */
	int16_t *iface_tenant;    /* per iface index: tenant + 2; 0 = not looked up yet */
	int16_t host_tenant[SHM_HOSTS_MAX]; /* the same for peers without an interface */
};

/* The options every reader subcommand takes, parsed by the subcommand. */
struct view_opts {
	const char *cmd;         /* "show", ... for messages */
	const char *shm;         /* --shm, or NULL */
	const char *config;      /* --config, or NULL (then /etc/wgmon/wgmon.conf if present) */
	const char *stale_after; /* --stale-after SECONDS, or NULL */
	int color;               /* VIEW_COLOR_* */
};

enum { VIEW_COLOR_AUTO = 0, VIEW_COLOR_ALWAYS, VIEW_COLOR_NEVER };

/* Long options every reader subcommand shares (getopt_long codes above any letter). */
enum view_opt_code {
	VIEW_OPT_SHM = 0x100,
	VIEW_OPT_CONFIG,
	VIEW_OPT_STALE_AFTER,
	VIEW_OPT_COLOR,
	VIEW_OPT_HOST,
	VIEW_OPT_IFACE,
	VIEW_OPT_TENANT,
	VIEW_OPT_STATE,
	VIEW_OPT_PEER,
};
#define VIEW_LONGOPTS_TABLE                                                                        \
	{"shm", required_argument, NULL, VIEW_OPT_SHM},                                            \
	        {"config", required_argument, NULL, VIEW_OPT_CONFIG},                              \
	        {"stale-after", required_argument, NULL, VIEW_OPT_STALE_AFTER},                    \
	{                                                                                          \
		"color", required_argument, NULL, VIEW_OPT_COLOR                                   \
	}
#define VIEW_LONGOPTS_FILTER                                                                       \
	{"host", required_argument, NULL, VIEW_OPT_HOST},                                          \
	        {"iface", required_argument, NULL, VIEW_OPT_IFACE},                                \
	        {"tenant", required_argument, NULL, VIEW_OPT_TENANT},                              \
	        {"state", required_argument, NULL, VIEW_OPT_STATE},                                \
	{                                                                                          \
		"peer", required_argument, NULL, VIEW_OPT_PEER                                     \
	}
/* The help lines of those options. */
#define VIEW_HELP_TABLE                                                                            \
	"  --shm NAME          table to read (default: $WGMON_SHM, else /wgmon)\n"                 \
	"  --config FILE       tenants, thresholds (default: /etc/wgmon/wgmon.conf)\n"             \
	"  --stale-after SECS  override [health] stale_after (a tenant's own value wins)\n"        \
	"  --color WHEN        auto (on a terminal, unless NO_COLOR), always, never\n"
#define VIEW_HELP_FILTER                                                                           \
	"  --host GLOB         only these hosts ('' or '(local)': the local host)\n"               \
	"  --iface GLOB        only these interfaces\n"                                            \
	"  --tenant GLOB       only these tenants ('': peers without a tenant)\n"                  \
	"  --state LIST        only these states: new,up,stale,failing,down,removed\n"             \
	"  --peer ID           only this kernel peer id\n"

/* Handle one shared option (code c, argument arg); f may be NULL if the command has no filters.
 * Returns 1 if handled, 0 if not a shared option, -1 on a bad value (message printed). */
int view_opt(int c, const char *arg, struct view_opts *o, struct view_filter *f);

/* Load the configuration and attach the table; messages go to stderr as "wgmon CMD: ...".
 * Returns 0, or the exit code (1). */
VIEW_WUR int view_open(struct view *v, const struct view_opts *o);
void view_close(struct view *v);
/* Load only the configuration (v->r stays NULL): 0 or 1 (message printed). */
VIEW_WUR int view_config(struct view *v, const struct view_opts *o);
/* Renew v->now. */
void view_tick(struct view *v);
/* A refresh of the table mapping: 1 if re-mapped (indices and caches are void; they are
 * dropped here), 0 unchanged, < 0 error (kept the old mapping). */
int view_refresh(struct view *v);
/* Parse "auto|always|never" into *color: 0, or -EINVAL. */
VIEW_WUR int view_color_parse(const char *s, int *color);

/* Host name of index `host` ("" for the local host, and for an index the table lacks). */
const char *view_host(const struct view *v, uint32_t host);
/* "(local)" for the local host, else its name: for people. */
const char *view_host_label(const struct view *v, uint32_t host);
/* A host's counters (ratelimit_suppressed, last_ratelimit, first_seen; the name is not copied:
 * use view_host()). 0, or -ENOENT. Read through the ABI's section table. */
int view_host_entry(const struct view *v, uint32_t host, struct shm_host *out);
/* Interface name (copied to buf, at least SHM_IFACE_NAME_MAX + 1 bytes), "" when none. */
const char *view_iface(const struct view *v, uint32_t iface, char *buf);

/* Tenant index of (host, iface), or VIEW_NO_TENANT; cached per interface. */
int view_tenant_index(struct view *v, uint32_t host, uint32_t iface);
/* The tenant's name, or NULL for VIEW_NO_TENANT. */
const char *view_tenant_name(const struct view *v, int tenant);
/* Stale threshold of a tenant (ns). */
uint64_t view_stale_after_ns(const struct view *v, int tenant);
/* The peer's state (enum shm_state) at v->now, with its tenant's threshold. */
int view_peer_state(struct view *v, const struct shm_peer *p, int *tenant_out);

/* ---- Filters ------------------------------------------------------------------------------ */

/* --host --iface --tenant are fnmatch globs; "" (or "(local)") matches the local host, and
 * --tenant "" matches peers without a tenant. --state is a comma-separated list. */
struct view_filter {
	const char *host, *iface, *tenant;
	unsigned states; /* bit per enum shm_state; 0 = all */
	bool has_peer;
	uint64_t peer;
};

/* Parse "up,stale" into a mask: 0 or -EINVAL (names the bad word in err). */
VIEW_WUR int view_states_parse(const char *list, unsigned *mask, char *err, size_t cap);
/* Parse a peer id: 0 or -EINVAL. */
VIEW_WUR int view_u64_parse(const char *s, uint64_t *out);
/* Whether the host/iface/tenant part of the filter matches. */
bool view_filter_place(struct view *v, const struct view_filter *f, uint32_t host, uint32_t iface);
/* Whether a peer (with its state) passes the filter. */
bool view_filter_peer(struct view *v, const struct view_filter *f, const struct shm_peer *p,
                      int state);

/* ---- Sorted peer rows ---------------------------------------------------------------------- */

/* One peer to print; the slot is copied again when printed. */
struct view_row {
	uint64_t peer;
	uint64_t slot;
	uint32_t host_rank;
	uint32_t iface_rank;
	uint32_t host;
	uint32_t iface;
	int16_t tenant;
	uint8_t state;
};

enum view_order {
	VIEW_BY_HOST_PEER,       /* host name, then peer id (the JSON contract) */
	VIEW_BY_HOST_IFACE_PEER, /* host, interface name, peer id (the human form) */
};

/* Every peer in use that passes the filter, sorted. Returns the count, or -1 (out of memory).
 * *rows is malloc'd (free it). */
int64_t view_rows(struct view *v, const struct view_filter *f, enum view_order order,
                  struct view_row **rows);

/* ---- Text ---------------------------------------------------------------------------------- */

/* "1 minute, 12 seconds ago" (wg show's words); "now" under a second; "never" for 0. */
void view_age(char *buf, size_t cap, uint64_t t, uint64_t now);
/* Short form for tables: "12s", "3m", "2h", "4d"; "-" for never. */
void view_age_short(char *buf, size_t cap, uint64_t t, uint64_t now);
/* An endpoint as the kernel prints it, or NULL when unset. */
const char *view_endpoint(const struct parse_endpoint *ep, char *buf, size_t cap);
/* Unix seconds with six decimals ("1763771234.000000"). */
void view_unix(char *buf, size_t cap, uint64_t ns);
/* Local date and time "2026-11-22 02:01:40". */
void view_date(char *buf, size_t cap, uint64_t ns);
/* A JSON string (quoted, escaped: control bytes and invalid UTF-8 as \u00XX). */
void view_json_str(FILE *out, const char *s);
/* The ANSI colour of a state, or "" without colour; view_reset() ends it. */
const char *view_state_color(const struct view *v, int state);
const char *view_bold(const struct view *v);
const char *view_reset(const struct view *v);
/* "up" / "down" / "unknown" for enum shm_iface_state. */
const char *view_iface_state_name(uint32_t state);
/* Print `text` wrapped at `width` columns, each line indented by `indent` spaces, the first
 * line after `lead` (already printed, of length lead_len). */
void view_wrap(FILE *out, const char *text, int indent, int lead_len, int width);

#endif /* WGMON_TOOLS_VIEW_H */
