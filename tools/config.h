/* SPDX-License-Identifier: MIT */
/*
 * config — the one configuration file every wgmon program reads (libinih), and
 * the flags that override it. Also accepts, unchanged, the `config.toml` of the
 * tool wgmon replaces (wg-peer-monitoring: sections [app] [wireguard] [redis] [manager]).
 *
 * Usage, in every program (main thread, at start or on SIGHUP, before any
 * other thread reads the struct):
 *
 *	static struct wgmon_config cfg;          // large: static or heap, not stack
 *	char err[CONFIG_ERR_MAX];
 *	config_init(&cfg);
 *	if (config_load_default(&cfg, flag_config_path_or_NULL, err, sizeof(err)) < 0)
 *		die("%s", err);                  // "wgmon.conf:12: unknown key 'foo' in [redis]"
 *	for each flag: config_set(&cfg, "wgmond", "listen", optarg, err, sizeof(err));
 *
 * Threads: init/load/set modify the struct and are not thread-safe; once
 * loading is done, the const readers (config_tenant_of, config_stale_after,
 * config_iface_wanted, config_dump) may be called from any thread at once.
 * The struct holds no pointers: it may be copied with memcpy, and two equal
 * configurations compare equal with memcmp (unused bytes are kept zero), which
 * lets a SIGHUP reload see what changed.
 *
 * The file format (see deploy/wgmon.conf.example, which documents every key):
 *   [section] / [tenant NAME] / [tenant.NAME]; key = value; # and ; comments
 *   (also after a value; not inside quotes); "basic strings" with TOML escapes,
 *   'literal strings', bare words, integers (1_000 allowed; sizes accept K/M/G
 *   suffixes), booleans (true/false, yes/no, on/off), lists as `a, b`,
 *   "a, b" or ["a", "b"] on one line (an array element is taken whole, commas
 *   and all; empty values are dropped, so `url = ""` is an empty list; a bare
 *   [::1]:9999 is an address, not an array). A list key may be repeated:
 *   within one file the values add up; a later file or the first flag
 *   replaces the list, further flags add. Any other key repeated in one file
 *   is an error. Lines are at most CONFIG_LINE_MAX bytes (split long lists by
 *   repeating the key).
 *   Every error names the file and line: "config.toml:3: port: expected an
 *   integer 1-65535".
 *
 * Compatibility with the replaced tool's config.toml ("legacy" below):
 *   [app] host, port              -> [wgmond] listen (UDP collector address)
 *   [app] metrics_host, metrics_port -> [metrics] listen
 *   [wireguard] interface         -> interface filter (only these interfaces)
 *   [redis] host port db username password -> the same keys of [redis]
 *   [manager] url                 -> endpoint-change webhook, payload {"peer":"ip:port"}
 * A file that has an [app] or [manager] section, or whose name ends in ".toml",
 * is a legacy file: Redis compat mode (`wireguard_peer:{peer}` keys) then
 * defaults to on, unless the file sets [redis] compat itself.
 */
#ifndef WGMON_CONFIG_H
#define WGMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_WUR __attribute__((warn_unused_result))

/* Limits: exceeding one is an error naming the line. */
#define CONFIG_DEFAULT_PATH "/etc/wgmon/wgmon.conf"
#define CONFIG_FILE_MAX     (1u << 20) /* bytes in one file */
#define CONFIG_LINE_MAX     199        /* bytes in one line: libinih's INI_MAX_LINE - 1 */
#define CONFIG_VALUE_MAX    1024       /* bytes in one value given to config_set() */
#define CONFIG_ERR_MAX      320        /* enough for any message (plus the file name) */
#define CONFIG_KEYS_MAX     96         /* keys in the key table (internal bookkeeping) */
#define CONFIG_LISTEN_MAX   16         /* [wgmond] listen entries */
#define CONFIG_ALLOW_MAX    64         /* [wgmond] allow CIDRs */
#define CONFIG_SOURCE_MAX   8          /* [wgmond] source entries */
#define CONFIG_IFACE_MAX    16         /* [wireguard] interface globs */
#define CONFIG_URL_MAX      16         /* [notify] url entries */
#define CONFIG_EVENTS_MAX   48         /* [notify] events entries */
#define CONFIG_TENANT_MAX   256        /* tenant sections */
#define CONFIG_TENANT_GLOBS 8          /* interfaces / hosts globs of one tenant */
#define CONFIG_WORKERS_MAX  62         /* shm counter blocks (64) minus ingest and housekeeping */
#define CONFIG_HOST_LEN     256        /* sizes below include the terminating NUL */
#define CONFIG_HOSTPORT_LEN (CONFIG_HOST_LEN + 8)
#define CONFIG_CIDR_LEN     64
#define CONFIG_PATH_LEN     256
#define CONFIG_SOCKET_LEN   108 /* sizeof(sun_path) */
#define CONFIG_URL_LEN      CONFIG_PATH_LEN
#define CONFIG_NAME_LEN     33 /* tenant, group, user, event names: 32 bytes */
#define CONFIG_SECRET_LEN   CONFIG_PATH_LEN
#define CONFIG_IFGLOB_LEN   32
#define CONFIG_HOSTGLOB_LEN 64

/* An address to bind: "0.0.0.0:9999", "[::]:9999", "[fe80::1%eth0]:9999", "localhost:9998". */
struct config_hostport {
	char text[CONFIG_HOSTPORT_LEN]; /* canonical "host:port" / "[v6]:port", for messages */
	char host[CONFIG_HOST_LEN];     /* without brackets: give it to getaddrinfo() */
	uint16_t port;                  /* 1-65535 */
};

enum config_ingest {
	CONFIG_INGEST_AUTO = 0, /* io_uring, else recvmmsg (logged) */
	CONFIG_INGEST_URING,
	CONFIG_INGEST_RECVMMSG,
};

/* [wgmond]: the collector. */
struct config_wgmond {
	struct config_hostport listen[CONFIG_LISTEN_MAX]; /* UDP; default 0.0.0.0:9999, [::]:9999 */
	uint32_t n_listen;
	char shm[CONFIG_PATH_LEN]; /* shm_open name, "/wgmon" */
	uint32_t
	        workers; /* parser threads, 0 = auto: usable CPUs - 1, or run to completion on one CPU */
	uint64_t capacity;   /* peer slots, 1048576 */
	uint32_t ring_size;  /* per-worker SPSC ring entries, power of two, 4096 */
	uint32_t event_ring; /* shm event ring records, power of two, 65536 */
	uint64_t rcvbuf;     /* SO_RCVBUF bytes, 32 MiB */
	char allow[CONFIG_ALLOW_MAX][CONFIG_CIDR_LEN]; /* sender CIDRs as written; none = all */
	uint32_t n_allow;
	uint32_t ingest; /* enum config_ingest */
	char source[CONFIG_SOURCE_MAX]
	           [CONFIG_PATH_LEN]; /* udp | kmsg | - | file:PATH; none = udp */
	uint32_t n_source;
	char shm_group[CONFIG_NAME_LEN]; /* group name or gid of the table, "" = keep */
	uint32_t shm_mode;               /* 0640 */
};

/* [wireguard] (legacy section): only lines of these interfaces count; none = all. */
struct config_wireguard {
	char interface[CONFIG_IFACE_MAX][CONFIG_IFGLOB_LEN]; /* fnmatch globs */
	uint32_t n_interface;
};

/* [health] */
struct config_health {
	uint32_t stale_after; /* seconds without a handshake before a peer is stale, 180 */
};

/* [redis]: wgmon-redis. Legacy keys: host port db username password. */
struct config_redis {
	char host[CONFIG_HOST_LEN];       /* "127.0.0.1" */
	uint16_t port;                    /* 6379 */
	uint32_t db;                      /* 0 */
	char username[CONFIG_NAME_LEN];   /* "" = AUTH with the password only */
	char password[CONFIG_SECRET_LEN]; /* secret: never printed */
	char socket[CONFIG_SOCKET_LEN];   /* unix socket path; when set, host/port are unused */
	char prefix[CONFIG_NAME_LEN];     /* key prefix of the native schema, "wgmon:" */
	bool compat;                      /* also write the replaced tool's keys */
	uint32_t interval_ms;             /* pass period, 1000 */
	uint32_t stream_maxlen;           /* event stream cap, 10000 */
	uint32_t removed_ttl;             /* seconds a removed peer is kept, 604800 */
	uint32_t batch;                   /* commands per pipeline, 1000 */
};

/* [metrics]: wgmon-metrics. */
struct config_metrics {
	struct config_hostport listen; /* 127.0.0.1:9998 */
	uint32_t interval_ms;          /* render period, 1000 */
	bool compat;                   /* also the replaced tool's wg_peer_monitoring_* series */
	uint32_t max_peer_series;      /* budget of per-peer series, 0 = no per-peer series */
	bool peer_events;              /* opt-in per-peer per-event counters */
};

/* [notify]: wgmon-notify. */
struct config_notify {
	char url[CONFIG_URL_MAX][CONFIG_URL_LEN]; /* http(s) URLs; none = off */
	uint32_t n_url;
	char secret[CONFIG_SECRET_LEN];                  /* secret: never printed */
	char events[CONFIG_EVENTS_MAX][CONFIG_NAME_LEN]; /* event names; none = all */
	uint32_t n_events;
	char tenants[CONFIG_TENANT_MAX][CONFIG_NAME_LEN]; /* tenant names; none = all */
	uint32_t n_tenants;
	uint32_t connect_timeout_ms; /* 2000 */
	uint32_t timeout_ms;         /* 5000 */
	uint32_t queue;              /* pending posts per URL, 1024 */
	uint32_t retries;            /* 5 */
	uint32_t backoff_max_ms;     /* 60000 */
};

/* [manager] (legacy section): the replaced tool's endpoint-change webhook. */
struct config_manager {
	char url[CONFIG_URL_LEN]; /* "" = off */
};

/* [tenant NAME] or [tenant.NAME]: a peer belongs to the first tenant (file order) whose
 * lists both match; an empty list matches everything. */
struct config_tenant {
	char name[CONFIG_NAME_LEN];
	char interfaces[CONFIG_TENANT_GLOBS][CONFIG_IFGLOB_LEN]; /* fnmatch globs */
	uint32_t n_interfaces;
	char hosts[CONFIG_TENANT_GLOBS][CONFIG_HOSTGLOB_LEN]; /* fnmatch globs ("" = local) */
	uint32_t n_hosts;
	uint32_t stale_after; /* seconds, 0 = [health] stale_after */
};

struct wgmon_config {
	struct config_wgmond wgmond;
	struct config_wireguard wireguard;
	struct config_health health;
	struct config_redis redis;
	struct config_metrics metrics;
	struct config_notify notify;
	struct config_manager manager;
	struct config_tenant tenant[CONFIG_TENANT_MAX];
	uint32_t n_tenant;
	bool legacy;                /* a file loaded was the replaced tool's config.toml */
	char file[CONFIG_PATH_LEN]; /* the last file loaded ("" = none), e.g. to reload on SIGHUP */
	uint8_t _flag_set[CONFIG_KEYS_MAX]; /* internal: keys already set by config_set() */
};

/* Fill every default. Never fails. */
void config_init(struct wgmon_config *c);

/*
 * config_load_file() - apply the file at `path` over `c`.
 * Returns 0, or -errno with a one-line message in `err` ("PATH:LINE: what"):
 * -ENOENT/-EACCES/… (cannot read), -EFBIG (> CONFIG_FILE_MAX), -EINVAL (any
 * error in the text). On error `c` may be partly updated: do not use it.
 */
int config_load_file(struct wgmon_config *c, const char *path, char *err, size_t errlen) CONFIG_WUR;

/* The same for text already in memory; `name` is used in messages and for the .toml test. */
int config_load_string(struct wgmon_config *c, const char *text, const char *name, char *err,
                       size_t errlen) CONFIG_WUR;

/* `flag_path` (the --config flag) if not NULL, else CONFIG_DEFAULT_PATH if it exists
 * (absent is fine: 0, nothing loaded). */
int config_load_default(struct wgmon_config *c, const char *flag_path, char *err,
                        size_t errlen) CONFIG_WUR;

/*
 * config_set() - apply one flag: `key` of `section` ("wgmond", "redis", …; not
 * "app" nor tenants) takes `value`, taken literally (no quotes, no comments);
 * lists are comma-separated. The first call for a list key replaces the list
 * from the file, later calls add to it. Returns 0 or -EINVAL with "KEY: what"
 * in `err`.
 */
int config_set(struct wgmon_config *c, const char *section, const char *key, const char *value,
               char *err, size_t errlen) CONFIG_WUR;

/* The first tenant whose globs match (`host` "" = local host), or NULL / -1. */
const char *config_tenant_of(const struct wgmon_config *c, const char *host, const char *iface);
int config_tenant_index(const struct wgmon_config *c, const char *host, const char *iface);

/* The stale threshold (seconds) of tenant `tenant`; NULL or unknown: [health] stale_after. */
uint32_t config_stale_after(const struct wgmon_config *c, const char *tenant);

/* Whether lines of interface `iface` are wanted ([wireguard] interface; none = all). */
bool config_iface_wanted(const struct wgmon_config *c, const char *iface);

/*
 * config_parse_hostport() - "host:port", "1.2.3.4:port", "[v6addr]:port" or
 * "[v6addr%zone]:port" into a host without brackets and a port 1-65535.
 * Returns 0, -EINVAL (malformed) or -ENAMETOOLONG (host does not fit hostcap).
 */
int config_parse_hostport(const char *s, char *host, size_t hostcap, uint16_t *port) CONFIG_WUR;

/* Write the effective configuration in the file format (secrets as "***").
 * Returns 0 or -EIO. */
int config_dump(const struct wgmon_config *c, FILE *out);

#endif /* WGMON_CONFIG_H */
