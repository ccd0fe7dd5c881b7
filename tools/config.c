/* SPDX-License-Identifier: MIT */
/*
 * config — the configuration file (libinih frames sections and keys), the flags
 * that override it, and the lookups programs make on the result. Not on any hot
 * path; the only allocation holds a file's bytes while it is parsed.
 *
 *   text ─▶ config_reader: one line at a time — length, control bytes, quotes,
 *   │       comments, "[section]" lines (checked here, libinih has no hook)
 *   └─▶ ini_parse_stream ─▶ config_handler: key table ─▶ value grammar ─▶ typed store
 *   then config_finish: the replaced tool's [app] keys, legacy defaults, cross-checks.
 */
#include "tools/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a)      (sizeof(a) / sizeof((a)[0]))
#define CONFIG_ITEMS_MAX   64 /* values in one list line or one flag */
#define CONFIG_SECTION_LEN 50 /* libinih's MAX_SECTION: longer names would be cut silently */
#define CONFIG_TENANT_NAME (CONFIG_NAME_LEN - 1)
#define CONFIG_MASK        '\1' /* stands for ';' inside quotes while libinih sees the line */
#define CONFIG_WHY_MAX     (CONFIG_ERR_MAX - 64)

/* Defaults that are not plain numbers in config_init(). */
#define CONFIG_COLLECTOR_PORT 9999 /* the replaced tool's port, kept */
#define CONFIG_METRICS_PORT   9998
#define CONFIG_METRICS_HOST   "127.0.0.1" /* loopback unless configured otherwise */

enum config_sect {
	SECT_NONE = 0, /* before the first [section] */
	SECT_WGMOND,
	SECT_WIREGUARD,
	SECT_HEALTH,
	SECT_REDIS,
	SECT_METRICS,
	SECT_NOTIFY,
	SECT_MANAGER,
	SECT_APP,
	SECT_TENANT,
	SECT__COUNT
};

static const char *const config_sect_names[SECT__COUNT] = {
        [SECT_WGMOND] = "wgmond",   [SECT_WIREGUARD] = "wireguard",
        [SECT_HEALTH] = "health",   [SECT_REDIS] = "redis",
        [SECT_METRICS] = "metrics", [SECT_NOTIFY] = "notify",
        [SECT_MANAGER] = "manager", [SECT_APP] = "app",
        [SECT_TENANT] = "tenant",
};

enum config_type { T_STR, T_BOOL, T_UINT, T_HOSTPORT, T_ENUM };

enum config_flag {
	F_SECRET = 1u << 0, /* never printed */
	F_POW2 = 1u << 1,   /* a power of two */
	F_SIZE = 1u << 2,   /* bytes, K/M/G suffixes */
	F_OCTAL = 1u << 3,  /* a file mode */
};

/* The replaced tool's [app] values: kept only while a file is parsed, then mapped. */
struct config_app {
	char host[CONFIG_HOST_LEN];
	uint16_t port;
	char metrics_host[CONFIG_HOST_LEN];
	uint16_t metrics_port;
};

/*
 * One key. `off` is relative to the section's base (struct wgmon_config, the
 * current struct config_tenant, or struct config_app). A list (max_items > 0)
 * stores max_items elements of `size` bytes at `off` and their count, a
 * uint32_t, at `cnt_off`. A scalar stores `size` bytes at `off`.
 */
struct config_key {
	const char *name;
	uint8_t sect;
	uint8_t type;
	uint8_t flags;
	uint32_t size;
	uint32_t max_items;
	size_t off;
	size_t cnt_off;
	uint64_t min, max;
	const char *(*check)(const char *s); /* NULL, or what is wrong with s */
	const char *const *names;            /* T_ENUM, NULL-terminated */
};

static const char *const config_ingest_names[] = {"auto", "uring", "recvmmsg", NULL};

static const char *config_check_shm(const char *s);
static const char *config_check_host(const char *s);
static const char *config_check_cidr(const char *s);
static const char *config_check_source(const char *s);
static const char *config_check_group(const char *s);
static const char *config_check_glob(const char *s);
static const char *config_check_socket(const char *s);
static const char *config_check_url(const char *s);
static const char *config_check_url_opt(const char *s);
static const char *config_check_event(const char *s);
static const char *config_check_tenant(const char *s);

#define AT(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define LIST(T, f, n)                                                                              \
	.off = offsetof(T, f), .size = sizeof(((T *)0)->f[0]),                                     \
	.max_items = ARRAY_SIZE(((T *)0)->f), .cnt_off = offsetof(T, n)
#define KEY(s, n, t)  .sect = SECT_##s, .name = n, .type = t
#define C(f)          AT(struct wgmon_config, f)
#define CL(f, n)      LIST(struct wgmon_config, f, n)
#define RANGE(lo, hi) .min = lo, .max = hi
#define MS_RANGE      RANGE(10, 3600000)
#define SECONDS       RANGE(0, INT32_MAX)

static const struct config_key config_keys[] = {
        {KEY(WGMOND, "listen", T_HOSTPORT), CL(wgmond.listen, wgmond.n_listen)},
        {KEY(WGMOND, "shm", T_STR), C(wgmond.shm), .check = config_check_shm},
        {KEY(WGMOND, "workers", T_UINT), C(wgmond.workers), RANGE(0, CONFIG_WORKERS_MAX)},
        {KEY(WGMOND, "capacity", T_UINT), C(wgmond.capacity), RANGE(1, 1u << 30)},
        {KEY(WGMOND, "ring_size", T_UINT), C(wgmond.ring_size), RANGE(2, 1u << 20),
         .flags = F_POW2},
        {KEY(WGMOND, "event_ring", T_UINT), C(wgmond.event_ring), RANGE(2, 1u << 24),
         .flags = F_POW2},
        {KEY(WGMOND, "rcvbuf", T_UINT), C(wgmond.rcvbuf), RANGE(4096, INT32_MAX), .flags = F_SIZE},
        {KEY(WGMOND, "allow", T_STR), CL(wgmond.allow, wgmond.n_allow), .check = config_check_cidr},
        {KEY(WGMOND, "ingest", T_ENUM), C(wgmond.ingest), .names = config_ingest_names},
        {KEY(WGMOND, "source", T_STR), CL(wgmond.source, wgmond.n_source),
         .check = config_check_source},
        {KEY(WGMOND, "shm_group", T_STR), C(wgmond.shm_group), .check = config_check_group},
        {KEY(WGMOND, "shm_mode", T_UINT), C(wgmond.shm_mode), RANGE(0, 0777), .flags = F_OCTAL},
        /* legacy */
        {KEY(WIREGUARD, "interface", T_STR), CL(wireguard.interface, wireguard.n_interface),
         .check = config_check_glob},
        {KEY(HEALTH, "stale_after", T_UINT), C(health.stale_after), RANGE(1, INT32_MAX)},
        /* legacy: host port db username password */
        {KEY(REDIS, "host", T_STR), C(redis.host), .check = config_check_host},
        {KEY(REDIS, "port", T_UINT), C(redis.port), RANGE(1, 65535)},
        {KEY(REDIS, "db", T_UINT), C(redis.db), RANGE(0, INT32_MAX)},
        {KEY(REDIS, "username", T_STR), C(redis.username)},
        {KEY(REDIS, "password", T_STR), C(redis.password), .flags = F_SECRET},
        {KEY(REDIS, "socket", T_STR), C(redis.socket), .check = config_check_socket},
        {KEY(REDIS, "prefix", T_STR), C(redis.prefix)},
        {KEY(REDIS, "compat", T_BOOL), C(redis.compat)},
        {KEY(REDIS, "interval_ms", T_UINT), C(redis.interval_ms), MS_RANGE},
        {KEY(REDIS, "stream_maxlen", T_UINT), C(redis.stream_maxlen), RANGE(1, 1u << 30)},
        {KEY(REDIS, "removed_ttl", T_UINT), C(redis.removed_ttl), SECONDS},
        {KEY(REDIS, "batch", T_UINT), C(redis.batch), RANGE(1, 1000000)},
        {KEY(METRICS, "listen", T_HOSTPORT), C(metrics.listen)},
        {KEY(METRICS, "interval_ms", T_UINT), C(metrics.interval_ms), MS_RANGE},
        {KEY(METRICS, "compat", T_BOOL), C(metrics.compat)},
        {KEY(METRICS, "max_peer_series", T_UINT), C(metrics.max_peer_series), RANGE(0, 1u << 30)},
        {KEY(METRICS, "peer_events", T_BOOL), C(metrics.peer_events)},
        {KEY(NOTIFY, "url", T_STR), CL(notify.url, notify.n_url), .check = config_check_url},
        {KEY(NOTIFY, "secret", T_STR), C(notify.secret), .flags = F_SECRET},
        {KEY(NOTIFY, "events", T_STR), CL(notify.events, notify.n_events),
         .check = config_check_event},
        {KEY(NOTIFY, "tenants", T_STR), CL(notify.tenants, notify.n_tenants),
         .check = config_check_tenant},
        {KEY(NOTIFY, "connect_timeout_ms", T_UINT), C(notify.connect_timeout_ms), RANGE(1, 600000)},
        {KEY(NOTIFY, "timeout_ms", T_UINT), C(notify.timeout_ms), RANGE(1, 600000)},
        {KEY(NOTIFY, "queue", T_UINT), C(notify.queue), RANGE(1, 1u << 20)},
        {KEY(NOTIFY, "retries", T_UINT), C(notify.retries), RANGE(0, 100)},
        {KEY(NOTIFY, "backoff_max_ms", T_UINT), C(notify.backoff_max_ms), RANGE(1, 86400000)},
        /* legacy */
        {KEY(MANAGER, "url", T_STR), C(manager.url), .check = config_check_url_opt},
        /* legacy, mapped by config_finish() */
        {KEY(APP, "host", T_STR), AT(struct config_app, host), .check = config_check_host},
        {KEY(APP, "port", T_UINT), AT(struct config_app, port), RANGE(1, 65535)},
        {KEY(APP, "metrics_host", T_STR), AT(struct config_app, metrics_host),
         .check = config_check_host},
        {KEY(APP, "metrics_port", T_UINT), AT(struct config_app, metrics_port), RANGE(1, 65535)},
        {KEY(TENANT, "interfaces", T_STR), LIST(struct config_tenant, interfaces, n_interfaces),
         .check = config_check_glob},
        {KEY(TENANT, "hosts", T_STR), LIST(struct config_tenant, hosts, n_hosts),
         .check = config_check_glob},
        {KEY(TENANT, "stale_after", T_UINT), AT(struct config_tenant, stale_after), SECONDS},
};

_Static_assert(ARRAY_SIZE(config_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");

/* The state of one config_load_*() call. */
struct config_parse {
	struct wgmon_config *c;
	const char *name; /* for messages */
	const char *text;
	size_t len, pos;
	uint32_t line;
	bool failed;
	char *err;
	size_t errlen;
	uint8_t sect;
	bool legacy;                  /* an [app] or [manager] section was seen */
	bool tenants;                 /* a tenant section was seen: earlier tenants are replaced */
	struct config_tenant *tenant; /* the current tenant section */
	struct config_app app;
	uint32_t seen[ARRAY_SIZE(config_keys)];  /* line of each key's first setting */
	uint32_t tenant_line[CONFIG_TENANT_MAX]; /* line of each tenant's section */
};

/* A value split into its items (NUL-terminated strings in buf). */
struct config_items {
	uint32_t n;
	size_t used;
	const char *v[CONFIG_ITEMS_MAX];
	char buf[CONFIG_VALUE_MAX + 2];
};

static bool config_is_list(const struct config_key *k)
{
	return k->max_items > 0;
}

static int config_why(char *why, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int config_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Record the first error of a parse as "NAME:LINE: what"; returns 0 (libinih's "error"). */
static int config_fail(struct config_parse *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int config_fail(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return 0;
	p->failed = true;
	if (!p->err || !p->errlen)
		return 0;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static void config_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *config_skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool config_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return false;
	memcpy(dst, src, n);
	memset(dst + n, 0, cap - n); /* no stale bytes: equal configs compare equal */
	return true;
}

/* ---- validators: NULL when fine, else what is expected ---- */

static bool config_charset(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

/* An IPv6 literal, optionally with a %zone, without brackets. */
static bool config_is_ipv6(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	const char *zone = memchr(s, '%', len);
	size_t alen = zone ? (size_t)(zone - s) : len;

	if (!alen || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	if (!zone)
		return true;
	alen = len - alen - 1;
	if (!alen || alen > 15)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		            zone[1 + i]))
			return false;
	return true;
}

/* A host name (letters, digits, '-', '_', '.') or a dotted IPv4 address. */
static bool config_is_hostname(const char *s, size_t len)
{
	char buf[CONFIG_HOST_LEN];
	struct in_addr a;

	if (!len || len > 253)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!config_charset(buf, "-_."))
		return false;
	if (strspn(buf, "0123456789.") == len)
		return inet_pton(AF_INET, buf, &a) == 1;
	return true;
}

static const char *config_check_host(const char *s)
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		return config_is_ipv6(s + 1, len - 2) ? NULL : "expected a host name or address";
	if (strchr(s, ':'))
		return config_is_ipv6(s, len) ? NULL : "expected a host name or address";
	return config_is_hostname(s, len) ? NULL : "expected a host name or address";
}

static const char *config_check_shm(const char *s)
{
	size_t len = strlen(s);

	if (s[0] != '/' || len < 2 || len > 255 || strchr(s + 1, '/'))
		return "expected a shared-memory name like \"/wgmon\" (one leading '/', no other)";
	return NULL;
}

static const char *config_check_cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	unsigned long bits = 0, max;
	char *end;

	if (!alen || alen >= sizeof(buf))
		return "expected an address or CIDR like 10.0.0.0/8 or 2001:db8::/32";
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		max = 128;
	else
		return "expected an address or CIDR like 10.0.0.0/8 or 2001:db8::/32";
	if (!slash)
		return NULL;
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
		return "expected a prefix length after '/'";
	bits = strtoul(slash + 1, &end, 10);
	if (*end || bits > max)
		return "prefix length out of range";
	return NULL;
}

static const char *config_check_source(const char *s)
{
	if (!strcmp(s, "udp") || !strcmp(s, "kmsg") || !strcmp(s, "-"))
		return NULL;
	if (!strncmp(s, "file:", 5) && s[5])
		return NULL;
	return "expected udp, kmsg, - (stdin) or file:PATH";
}

static const char *config_check_group(const char *s)
{
	if (strlen(s) >= CONFIG_NAME_LEN || !config_charset(s, "-_."))
		return "expected a group name or gid";
	return NULL;
}

static const char *config_check_glob(const char *s)
{
	if (!*s || strpbrk(s, " \t"))
		return "expected a glob pattern without spaces";
	return NULL;
}

static const char *config_check_socket(const char *s)
{
	return *s && *s != '/' ? "expected an absolute path" : NULL;
}

static const char *config_check_url(const char *s)
{
	const char *host;

	if (!strncmp(s, "http://", 7))
		host = s + 7;
	else if (!strncmp(s, "https://", 8))
		host = s + 8;
	else
		return "expected an http:// or https:// URL";
	if (!*host || *host == '/')
		return "expected an http:// or https:// URL";
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return "a URL cannot contain spaces or control characters";
	return NULL;
}

static const char *config_check_url_opt(const char *s)
{
	return *s ? config_check_url(s) : NULL;
}

static const char *config_check_event(const char *s)
{
	if (strlen(s) >= CONFIG_NAME_LEN || !config_charset(s, "_") ||
	    strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		return "expected an event name like endpoint_changed (lower case, '_')";
	return NULL;
}

static const char *config_check_tenant(const char *s)
{
	if (!*s || strlen(s) > CONFIG_TENANT_NAME || !config_charset(s, "-_"))
		return "expected a tenant name (1-32 letters, digits, '-', '_')";
	return NULL;
}

/* ---- the value grammar: quoted strings, bare words, lists ---- */

static size_t config_utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The TOML escape after a backslash at *sp; *sp moves past it. */
static int config_escape_decode(const char **sp, uint32_t *cp)
{
	static const char simple[] = "b\bt\tn\nf\fr\re\033\"\"\\\\";
	const char *s = *sp, *hit;
	unsigned digits;

	*cp = 0;
	if (*s == 'u' || *s == 'U') {
		digits = *s++ == 'u' ? 4 : 8;
		for (unsigned i = 0; i < digits; i++, s++) {
			int d = *s >= '0' && *s <= '9'   ? *s - '0'
			        : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			        : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
			                                 : -1;
			if (d < 0)
				return -EINVAL;
			*cp = *cp << 4 | (uint32_t)d;
		}
		if (!*cp || (*cp >= 0xd800 && *cp <= 0xdfff) || *cp > 0x10ffff)
			return -EINVAL;
		*sp = s;
		return 0;
	}
	hit = *s ? strchr(simple, *s) : NULL;
	if (!hit || (hit - simple) % 2)
		return -EINVAL;
	*cp = (unsigned char)hit[1];
	*sp = s + 1;
	return 0;
}

/*
 * Decode the "basic" or 'literal' string at *sp into out (NUL-terminated,
 * ';' unmasked); *sp moves past the closing quote.
 */
static int config_string_decode(const char **sp, char *out, size_t cap, const char *key, char *why,
                                size_t whylen)
{
	const char *s = *sp;
	char q = *s++;
	size_t n = 0;
	uint32_t cp;

	while (*s && *s != q) {
		if (cap - n < 5)
			return config_why(why, whylen, "%s: value too long", key);
		if (q == '"' && *s == '\\') {
			s++;
			if (config_escape_decode(&s, &cp) < 0)
				return config_why(why, whylen, "%s: bad escape sequence in string",
				                  key);
			n += config_utf8_put(cp, out + n);
			continue;
		}
		out[n++] = *s == CONFIG_MASK ? ';' : *s;
		s++;
	}
	if (*s != q)
		return config_why(why, whylen, "%s: unterminated string", key);
	out[n] = '\0';
	*sp = s + 1;
	return 0;
}

/* Copy a bare word of `len` bytes, right-trimmed and unmasked, to out. */
static int config_bare_copy(const char *s, size_t len, char *out, size_t cap, const char *key,
                            char *why, size_t whylen)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= cap)
		return config_why(why, whylen, "%s: value too long", key);
	for (size_t i = 0; i < len; i++)
		out[i] = s[i] == CONFIG_MASK ? ';' : s[i];
	out[len] = '\0';
	return 0;
}

/*
 * Whether a value is a TOML array: it starts with '[' and ends with ']' (comments
 * and blanks are gone). So an unquoted "[::1]:9999" is not one.
 */
static bool config_is_array(const char *v)
{
	size_t n = strlen(v);

	return n >= 2 && v[0] == '[' && v[n - 1] == ']';
}

/* A scalar from a file: one quoted string, or the whole bare text. */
static int config_items_scalar(struct config_items *it, const char *v, const char *key, char *why,
                               size_t whylen)
{
	int r;

	it->n = 0;
	if (*v == '"' || *v == '\'') {
		r = config_string_decode(&v, it->buf, sizeof(it->buf), key, why, whylen);
		if (r < 0)
			return r;
		if (*config_skip_ws(v))
			return config_why(why, whylen, "%s: unexpected text after the string", key);
	} else if (config_is_array(v)) {
		return config_why(why, whylen, "%s: expected a single value, not a list", key);
	} else {
		r = config_bare_copy(v, strlen(v), it->buf, sizeof(it->buf), key, why, whylen);
		if (r < 0)
			return r;
	}
	it->v[it->n++] = it->buf;
	return 0;
}

/* Add the item at out (inside it->buf), unless it is empty: `url = ""` is an empty list. */
static int config_items_add(struct config_items *it, char *out, const char *key, char *why,
                            size_t whylen)
{
	size_t len = strlen(out);

	it->used = (size_t)(out - it->buf) + len + 1;
	if (!len)
		return 0;
	if (it->n == CONFIG_ITEMS_MAX)
		return config_why(why, whylen, "%s: more than %d values on one line", key,
		                  CONFIG_ITEMS_MAX);
	it->v[it->n++] = out;
	return 0;
}

/* Split the string at s (inside it->buf) at its commas, in place, into trimmed items. */
static int config_items_split(struct config_items *it, char *s, const char *key, char *why,
                              size_t whylen)
{
	char *w = s, *seg;
	size_t n, len;
	bool more;
	int r;

	for (;;) {
		n = strcspn(s, ",");
		more = s[n] == ','; /* before w[len] may overwrite that comma */
		seg = (char *)config_skip_ws(s);
		len = n - (size_t)(seg - s);
		while (len && (seg[len - 1] == ' ' || seg[len - 1] == '\t'))
			len--;
		memmove(w, seg, len); /* w <= seg: the items only move left */
		w[len] = '\0';
		r = config_items_add(it, w, key, why, whylen);
		if (r < 0)
			return r;
		w += len + 1;
		if (!more)
			return 0;
		s += n + 1;
	}
}

/*
 * One list piece at *vp: a quoted string or a bare word up to ',' (or ']' in an
 * array). Outside an array a piece is itself a comma list ("a, b"); an array
 * element is taken whole, commas included.
 */
static int config_item_take(struct config_items *it, const char **vp, bool array, const char *key,
                            char *why, size_t whylen)
{
	char *out = it->buf + it->used;
	size_t cap = sizeof(it->buf) - it->used, len;
	const char *v = *vp;
	int r;

	if (*v == '"' || *v == '\'') {
		r = config_string_decode(&v, out, cap, key, why, whylen);
	} else {
		len = strcspn(v, array ? ",]" : ",");
		if (array && memchr(v, '[', len))
			return config_why(
			        why, whylen,
			        "%s: quote list elements that contain '[' (nested lists are "
			        "not supported)",
			        key);
		r = config_bare_copy(v, len, out, cap, key, why, whylen);
		v += len;
	}
	if (r < 0)
		return r;
	*vp = v;
	if (!array)
		return config_items_split(it, out, key, why, whylen);
	return config_items_add(it, out, key, why, whylen);
}

/* A list from a file: `a, "b"` or `["a", 'b',]` (one line). */
static int config_items_list(struct config_items *it, const char *v, const char *key, char *why,
                             size_t whylen)
{
	bool array = config_is_array(v);
	int r;

	it->n = 0;
	it->used = 0;
	v += array;
	for (;;) {
		v = config_skip_ws(v);
		if (array && *v == ']')
			break;
		if (!*v)
			break;
		r = config_item_take(it, &v, array, key, why, whylen);
		if (r < 0)
			return r;
		v = config_skip_ws(v);
		if (*v == ',')
			v++;
		else if (*v && !(array && *v == ']'))
			return config_why(why, whylen, "%s: expected ',' between values", key);
	}
	if (array && *v++ != ']')
		return config_why(why, whylen, "%s: missing ']' at the end of the list", key);
	if (*config_skip_ws(v))
		return config_why(why, whylen, "%s: unexpected text after ']'", key);
	return 0;
}

/* A flag's value: taken literally; a list splits at commas. */
static int config_items_flag(struct config_items *it, const char *v, bool list, const char *key,
                             char *why, size_t whylen)
{
	size_t len = strlen(v);

	it->n = 0;
	it->used = 0;
	if (len > CONFIG_VALUE_MAX)
		return config_why(why, whylen, "%s: value too long", key);
	memcpy(it->buf, v, len + 1);
	if (list)
		return config_items_split(it, it->buf, key, why, whylen);
	it->v[it->n++] = it->buf;
	return 0;
}

/* ---- typed stores ---- */

static int config_store_str(const struct config_key *k, void *dst, const char *s, char *why,
                            size_t whylen)
{
	const char *bad = k->check ? k->check(s) : NULL;

	if (bad && (k->flags & F_SECRET))
		return config_why(why, whylen, "%s: %s", k->name, bad);
	if (bad)
		return config_why(why, whylen, "%s: %s, got '%.64s'", k->name, bad, s);
	if (!config_copy(dst, k->size, s))
		return config_why(why, whylen, "%s: too long (at most %u bytes)", k->name,
		                  k->size - 1);
	return 0;
}

static int config_store_bool(const struct config_key *k, void *dst, const char *s, char *why,
                             size_t whylen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*(bool *)dst = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return config_why(why, whylen, "%s: expected true or false", k->name);
}

/* Digits (and single '_' between digits, as TOML allows) in `base`; 0 or -EINVAL. */
static int config_digits(const char **sp, unsigned base, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	unsigned d;

	if (*s < '0' || *s >= (char)('0' + base))
		return -EINVAL;
	for (; (*s >= '0' && *s < (char)('0' + base)) || *s == '_'; s++) {
		if (*s == '_') {
			if (s[1] < '0' || s[1] >= (char)('0' + base))
				return -EINVAL;
			continue;
		}
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

/* "32M", "32MiB", "1g": binary multiples. */
static int config_size_suffix(const char *s, uint64_t *v)
{
	static const char units[] = "kmg";
	const char *u = *s ? strchr(units, s[0] | 0x20) : NULL;
	unsigned shift;

	if (!*s)
		return 0;
	if (!u || (s[1] && strcasecmp(s + 1, "ib") && strcasecmp(s + 1, "b")))
		return -EINVAL;
	shift = 10 * (unsigned)(u - units + 1);
	if (*v > (UINT64_MAX >> shift))
		return -EINVAL;
	*v <<= shift;
	return 0;
}

static int config_uint_parse(const struct config_key *k, const char *s, uint64_t *v)
{
	if (k->flags & F_OCTAL) {
		if (!strncmp(s, "0o", 2))
			s += 2;
		return config_digits(&s, 8, v) < 0 || *s ? -EINVAL : 0;
	}
	s += *s == '+';
	if (config_digits(&s, 10, v) < 0)
		return -EINVAL;
	if (k->flags & F_SIZE)
		return config_size_suffix(s, v);
	return *s ? -EINVAL : 0;
}

static int config_store_uint(const struct config_key *k, void *dst, const char *s, char *why,
                             size_t whylen)
{
	uint64_t v;
	bool ok = config_uint_parse(k, s, &v) == 0 && v >= k->min && v <= k->max;

	if (ok && (k->flags & F_POW2))
		ok = (v & (v - 1)) == 0;
	if (!ok && (k->flags & F_OCTAL))
		return config_why(why, whylen, "%s: expected an octal mode 0-0777", k->name);
	if (!ok && (k->flags & F_POW2))
		return config_why(why, whylen, "%s: expected a power of two %" PRIu64 "-%" PRIu64,
		                  k->name, k->min, k->max);
	if (!ok && (k->flags & F_SIZE))
		return config_why(why, whylen,
		                  "%s: expected a size in bytes %" PRIu64 "-%" PRIu64
		                  " (K, M, G suffixes allowed)",
		                  k->name, k->min, k->max);
	if (!ok)
		return config_why(why, whylen, "%s: expected an integer %" PRIu64 "-%" PRIu64,
		                  k->name, k->min, k->max);
	if (k->size == sizeof(uint16_t))
		*(uint16_t *)dst = (uint16_t)v;
	else if (k->size == sizeof(uint32_t))
		*(uint32_t *)dst = (uint32_t)v;
	else
		*(uint64_t *)dst = v;
	return 0;
}

static int config_hostport_fill(struct config_hostport *hp, const char *s)
{
	struct config_hostport t;
	int r;

	memset(&t, 0, sizeof(t));
	r = config_parse_hostport(s, t.host, sizeof(t.host), &t.port);
	if (r < 0)
		return r;
	if (strchr(t.host, ':'))
		snprintf(t.text, sizeof(t.text), "[%s]:%u", t.host, t.port);
	else
		snprintf(t.text, sizeof(t.text), "%s:%u", t.host, t.port);
	*hp = t;
	return 0;
}

static int config_store_hostport(const struct config_key *k, void *dst, const char *s, char *why,
                                 size_t whylen)
{
	if (config_hostport_fill(dst, s) < 0)
		return config_why(
		        why, whylen,
		        "%s: expected HOST:PORT or [IPv6]:PORT (port 1-65535), got '%.64s'",
		        k->name, s);
	return 0;
}

static int config_store_enum(const struct config_key *k, void *dst, const char *s, char *why,
                             size_t whylen)
{
	char list[128] = "";
	size_t n = 0;

	for (uint32_t i = 0; k->names[i]; i++) {
		if (!strcasecmp(s, k->names[i])) {
			*(uint32_t *)dst = i;
			return 0;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
		                      k->names[i]);
		if (n >= sizeof(list))
			break;
	}
	return config_why(why, whylen, "%s: expected one of %s", k->name, list);
}

static int config_store(const struct config_key *k, void *dst, const char *s, char *why,
                        size_t whylen)
{
	switch (k->type) {
	case T_STR: return config_store_str(k, dst, s, why, whylen);
	case T_BOOL: return config_store_bool(k, dst, s, why, whylen);
	case T_UINT: return config_store_uint(k, dst, s, why, whylen);
	case T_HOSTPORT: return config_store_hostport(k, dst, s, why, whylen);
	case T_ENUM: return config_store_enum(k, dst, s, why, whylen);
	}
	return config_why(why, whylen, "%s: internal error: bad key type", k->name);
}

/* Store every item of `it` in key k at `base`; `reset` first empties a list. */
static int config_apply(const struct config_key *k, void *base, const struct config_items *it,
                        bool reset, char *why, size_t whylen)
{
	uint32_t *n = (uint32_t *)((char *)base + k->cnt_off);
	char *dst = (char *)base + k->off;
	int r;

	if (!config_is_list(k)) {
		if (it->n != 1)
			return config_why(why, whylen, "%s: expected one value", k->name);
		return config_store(k, dst, it->v[0], why, whylen);
	}
	if (reset) {
		*n = 0;
		memset(dst, 0, (size_t)k->max_items * k->size);
	}
	for (uint32_t i = 0; i < it->n; i++) {
		if (*n >= k->max_items)
			return config_why(why, whylen, "%s: more than %u values", k->name,
			                  k->max_items);
		r = config_store(k, dst + (size_t)*n * k->size, it->v[i], why, whylen);
		if (r < 0)
			return r;
		(*n)++;
	}
	return 0;
}

static const struct config_key *config_key_find(unsigned sect, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
		if (config_keys[i].sect == sect && !strcmp(config_keys[i].name, name))
			return &config_keys[i];
	return NULL;
}

static int config_sect_find(const char *name, size_t len)
{
	for (int i = SECT_NONE + 1; i < SECT__COUNT; i++)
		if (strlen(config_sect_names[i]) == len &&
		    !strncmp(config_sect_names[i], name, len))
			return i;
	return -1;
}

/* ---- sections (seen by the reader, before libinih) ---- */

static void config_sect_label(const struct config_parse *p, char *buf, size_t cap)
{
	if (p->sect == SECT_TENANT)
		snprintf(buf, cap, "[tenant %s]", p->tenant->name);
	else
		snprintf(buf, cap, "[%s]", config_sect_names[p->sect]);
}

static int config_tenant_begin(struct config_parse *p, const char *name)
{
	struct wgmon_config *c = p->c;
	const char *bad = config_check_tenant(name);

	if (bad)
		return config_fail(p, "bad tenant name '%.40s': %s", name, bad);
	if (!p->tenants) { /* this file's tenants replace earlier ones */
		p->tenants = true;
		c->n_tenant = 0;
		memset(c->tenant, 0, sizeof(c->tenant));
	}
	for (uint32_t i = 0; i < c->n_tenant; i++)
		if (!strcmp(c->tenant[i].name, name))
			return config_fail(p, "duplicate tenant '%s' (first on line %u)", name,
			                   p->tenant_line[i]);
	if (c->n_tenant == CONFIG_TENANT_MAX)
		return config_fail(p, "more than %d tenants", CONFIG_TENANT_MAX);
	p->tenant_line[c->n_tenant] = p->line;
	p->tenant = &c->tenant[c->n_tenant++];
	memset(p->tenant, 0, sizeof(*p->tenant));
	memcpy(p->tenant->name, name, strlen(name) + 1);
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
		if (config_keys[i].sect == SECT_TENANT)
			p->seen[i] = 0;
	p->sect = SECT_TENANT;
	return 1;
}

/* `line` starts with '['; comments and outer blanks are gone. 1 ok, 0 failed. */
static int config_section_begin(struct config_parse *p, const char *line)
{
	const char *end = strchr(line, ']'), *name = config_skip_ws(line + 1);
	char buf[CONFIG_SECTION_LEN];
	size_t len;
	int sect;

	if (line[1] == '[')
		return config_fail(p, "arrays of tables ([[...]]) are not supported");
	if (!end)
		return config_fail(p, "missing ']' after the section name");
	if (end[1])
		return config_fail(p, "unexpected text after ']'");
	if (end - line >= CONFIG_SECTION_LEN)
		return config_fail(p, "section name too long");
	len = end > name ? (size_t)(end - name) : 0;
	while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	memcpy(buf, name, len); /* libinih still needs the line as it is */
	buf[len] = '\0';
	if (!strncmp(buf, "tenant", 6) && (buf[6] == '.' || buf[6] == ' ' || buf[6] == '\t'))
		return config_tenant_begin(p, config_skip_ws(buf + 7));
	sect = config_sect_find(buf, len);
	if (sect == SECT_TENANT)
		return config_fail(p, "a tenant section needs a name: [tenant NAME]");
	if (sect < 0)
		return config_fail(p, "unknown section [%s]", buf);
	p->sect = (uint8_t)sect;
	p->legacy |= sect == SECT_APP || sect == SECT_MANAGER;
	return 1;
}

/*
 * Make one line safe for libinih: reject control bytes; mask ';' inside quotes
 * (libinih would take " ;" for a comment); cut '#' and ' ;' comments outside
 * quotes; trim both ends (so libinih never sees an indented line, which it
 * would take for a continuation). Returns 1, or 0 after recording an error.
 */
static int config_line_lex(struct config_parse *p, char *line)
{
	char quote = 0, *s = line;
	size_t i, n;

	for (i = 0; line[i]; i++)
		if (((unsigned char)line[i] < ' ' && line[i] != '\t') || line[i] == 0x7f)
			return config_fail(p, "control character in line");
	for (i = 0; line[i]; i++) {
		char ch = line[i];

		if (quote) {
			if (ch == ';')
				line[i] = CONFIG_MASK;
			else if (quote == '"' && ch == '\\' && line[i + 1] == ';')
				line[++i] = CONFIG_MASK; /* a bad escape, reported when decoded */
			else if (quote == '"' && ch == '\\' && line[i + 1])
				i++; /* \" does not end the string */
			else if (ch == quote)
				quote = 0;
		} else if (ch == '"' || ch == '\'') {
			if (line[i + 1] == ch && line[i + 2] == ch)
				return config_fail(p, "multi-line strings are not supported");
			quote = ch;
		} else if (ch == '#' ||
		           (ch == ';' && (!i || line[i - 1] == ' ' || line[i - 1] == '\t'))) {
			line[i] = '\0';
			break;
		}
	}
	if (quote)
		return config_fail(p, "unterminated string");
	s = (char *)config_skip_ws(line);
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	memmove(line, s, n);
	line[n] = '\0';
	if (line[0] == '[')
		return config_section_begin(p, line);
	if (line[0] && !strpbrk(line, "=:"))
		return config_fail(p, "expected 'key = value' or '[section]'");
	return 1;
}

/* libinih's reader: the next line of p->text into buf (cap bytes), or NULL at the end. */
static char *config_reader(char *buf, int cap, void *arg)
{
	struct config_parse *p = arg;
	const char *s = p->text + p->pos, *nl;
	size_t n;

	if (p->failed || p->pos >= p->len)
		return NULL;
	nl = memchr(s, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + (nl != NULL);
	p->line++;
	if (n && s[n - 1] == '\r')
		n--;
	if (p->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		n -= 3;
	}
	if (n > CONFIG_LINE_MAX || n >= (size_t)cap) {
		config_fail(p, "line longer than %d bytes (repeat a list key to split a list)",
		            CONFIG_LINE_MAX);
		return NULL;
	}
	if (memchr(s, '\0', n)) {
		config_fail(p, "NUL byte in line");
		return NULL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return config_line_lex(p, buf) ? buf : NULL;
}

static void *config_base(struct config_parse *p, const struct config_key *k)
{
	if (k->sect == SECT_TENANT)
		return p->tenant;
	if (k->sect == SECT_APP)
		return &p->app;
	return p->c;
}

/* libinih's handler: one "key = value" of the current section. */
static int config_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct config_parse *p = arg;
	const struct config_key *k;
	struct config_items it;
	char why[CONFIG_WHY_MAX], label[CONFIG_SECTION_LEN + 16];
	size_t idx;
	int r;

	if (p->failed)
		return 0;
	if (p->sect == SECT_NONE)
		return config_fail(p, "key '%.40s' outside any section", name);
	config_sect_label(p, label, sizeof(label));
	k = config_key_find(p->sect, name);
	if (!k)
		return config_fail(p, "unknown key '%.40s' in %s", name, label);
	idx = (size_t)(k - config_keys);
	if (p->seen[idx] && !config_is_list(k))
		return config_fail(p, "duplicate key '%s' in %s (first on line %u)", name, label,
		                   p->seen[idx]);
	if (config_is_list(k))
		r = config_items_list(&it, value, k->name, why, sizeof(why));
	else
		r = config_items_scalar(&it, value, k->name, why, sizeof(why));
	if (r == 0)
		r = config_apply(k, config_base(p, k), &it, !p->seen[idx], why, sizeof(why));
	if (r < 0)
		return config_fail(p, "%s", why);
	p->seen[idx] = p->line;
	return 1;
}

static uint32_t config_seen(const struct config_parse *p, unsigned sect, const char *name)
{
	return p->seen[config_key_find(sect, name) - config_keys];
}

/* "host" + port into a hostport (brackets added for IPv6). */
static int config_hostport_join(struct config_hostport *hp, const char *host, uint16_t port)
{
	char text[CONFIG_HOSTPORT_LEN];
	size_t len = strlen(host);

	if (len >= 2 && host[0] == '[')
		snprintf(text, sizeof(text), "%s:%u", host, port);
	else if (strchr(host, ':'))
		snprintf(text, sizeof(text), "[%s]:%u", host, port);
	else
		snprintf(text, sizeof(text), "%s:%u", host, port);
	return config_hostport_fill(hp, text);
}

/* [app] host/port → [wgmond] listen; metrics_host/metrics_port → [metrics] listen. */
static int config_finish_app(struct config_parse *p)
{
	struct wgmon_config *c = p->c;
	uint32_t host = config_seen(p, SECT_APP, "host"), port = config_seen(p, SECT_APP, "port");
	uint32_t mhost = config_seen(p, SECT_APP, "metrics_host");
	uint32_t mport = config_seen(p, SECT_APP, "metrics_port");

	if (host || port) {
		p->line = host > port ? host : port;
		if (!config_seen(p, SECT_WGMOND, "listen")) {
			c->wgmond.n_listen = 0;
			memset(c->wgmond.listen, 0, sizeof(c->wgmond.listen));
		}
		if (c->wgmond.n_listen == CONFIG_LISTEN_MAX)
			return config_fail(p, "listen: more than %d values", CONFIG_LISTEN_MAX);
		if (config_hostport_join(&c->wgmond.listen[c->wgmond.n_listen++],
		                         host ? p->app.host : "0.0.0.0",
		                         port ? p->app.port : CONFIG_COLLECTOR_PORT) < 0)
			return config_fail(p, "host: cannot be used as a listen address");
	}
	if (mhost || mport) {
		p->line = mhost > mport ? mhost : mport;
		if (config_seen(p, SECT_METRICS, "listen"))
			return config_fail(p,
			                   "[app] metrics_host/metrics_port and [metrics] listen "
			                   "both set the metrics address");
		if (config_hostport_join(&c->metrics.listen,
		                         mhost ? p->app.metrics_host : CONFIG_METRICS_HOST,
		                         mport ? p->app.metrics_port : CONFIG_METRICS_PORT) < 0)
			return config_fail(p, "metrics_host: cannot be used as a listen address");
	}
	return 1;
}

static int config_tenant_index_by_name(const struct wgmon_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_tenant; i++)
		if (!strcmp(c->tenant[i].name, name))
			return (int)i;
	return -1;
}

/* After the last line: legacy mapping and defaults, cross-section checks. 1 ok, 0 failed. */
static int config_finish(struct config_parse *p)
{
	struct wgmon_config *c = p->c;
	size_t nlen = strlen(p->name);
	uint32_t line = config_seen(p, SECT_NOTIFY, "tenants");

	if (!config_finish_app(p))
		return 0;
	if (p->legacy || (nlen >= 5 && !strcmp(p->name + nlen - 5, ".toml"))) {
		c->legacy = true;
		if (!config_seen(p, SECT_REDIS, "compat"))
			c->redis.compat = true;
	}
	for (uint32_t i = 0; line && i < c->notify.n_tenants; i++) {
		if (config_tenant_index_by_name(c, c->notify.tenants[i]) < 0) {
			p->line = line;
			return config_fail(p, "tenants: no tenant section named '%s'",
			                   c->notify.tenants[i]);
		}
	}
	return 1;
}

/* ---- public API ---- */

void config_init(struct wgmon_config *c)
{
	memset(c, 0, sizeof(*c));
	(void)!config_hostport_fill(&c->wgmond.listen[0], "0.0.0.0:9999");
	(void)!config_hostport_fill(&c->wgmond.listen[1], "[::]:9999");
	c->wgmond.n_listen = 2;
	memcpy(c->wgmond.shm, "/wgmon", sizeof("/wgmon"));
	c->wgmond.capacity = 1u << 20;
	c->wgmond.ring_size = 4096;
	c->wgmond.event_ring = 65536;
	c->wgmond.rcvbuf = 32u << 20;
	c->wgmond.ingest = CONFIG_INGEST_AUTO;
	c->wgmond.shm_mode = 0640;
	c->health.stale_after = 180;
	memcpy(c->redis.host, "127.0.0.1", sizeof("127.0.0.1"));
	c->redis.port = 6379;
	memcpy(c->redis.prefix, "wgmon:", sizeof("wgmon:"));
	c->redis.interval_ms = 1000;
	c->redis.stream_maxlen = 10000;
	c->redis.removed_ttl = 604800;
	c->redis.batch = 1000;
	(void)!config_hostport_fill(&c->metrics.listen, CONFIG_METRICS_HOST ":9998");
	c->metrics.interval_ms = 1000;
	c->metrics.max_peer_series = 100000;
	c->notify.connect_timeout_ms = 2000;
	c->notify.timeout_ms = 5000;
	c->notify.queue = 1024;
	c->notify.retries = 5;
	c->notify.backoff_max_ms = 60000;
}

/* Parse `len` bytes of `text` (need not be NUL-terminated) over c. */
static int config_load_text(struct wgmon_config *c, const char *text, size_t len, const char *name,
                            char *err, size_t errlen)
{
	struct config_parse parse, *p = &parse;
	int r;

	memset(p, 0, sizeof(*p));
	p->c = c;
	p->name = name;
	p->text = text;
	p->len = len;
	p->err = err;
	p->errlen = errlen;
	r = ini_parse_stream(config_reader, p, config_handler, p);
	if (!p->failed && r != 0) {
		p->line = r > 0 ? (uint32_t)r : p->line;
		config_fail(p, "syntax error");
	}
	if (!p->failed)
		config_finish(p);
	return p->failed ? -EINVAL : 0;
}

int config_load_string(struct wgmon_config *c, const char *text, const char *name, char *err,
                       size_t errlen)
{
	if (!text) {
		config_err(err, errlen, "no configuration text");
		return -EINVAL;
	}
	return config_load_text(c, text, strlen(text), name ? name : "<string>", err, errlen);
}

/* The bytes of the file at path in a new buffer (*out, *len); 0 or -errno. */
static int config_file_read(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t got;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto close_fd;
	}
	while (n <= CONFIG_FILE_MAX) {
		got = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto free_buf;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > CONFIG_FILE_MAX) {
		config_err(err, errlen, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
		r = -EFBIG;
		goto free_buf;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
free_buf:
	free(buf);
close_fd:
	close(fd);
fail:
	if (r != -EFBIG)
		config_err(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

int config_load_file(struct wgmon_config *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = config_file_read(path, &text, &len, err, errlen);
	if (r < 0)
		return r;
	r = config_load_text(c, text, len, path, err, errlen);
	free(text);
	if (r == 0 && !config_copy(c->file, sizeof(c->file), path))
		c->file[0] = '\0';
	return r;
}

/* config_load_default() with the default path as a parameter (tests use another). */
static int config_load_default_at(struct wgmon_config *c, const char *flag_path,
                                  const char *default_path, char *err, size_t errlen)
{
	struct stat st;

	if (flag_path)
		return config_load_file(c, flag_path, err, errlen);
	if (stat(default_path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	return config_load_file(c, default_path, err, errlen);
}

int config_load_default(struct wgmon_config *c, const char *flag_path, char *err, size_t errlen)
{
	return config_load_default_at(c, flag_path, CONFIG_DEFAULT_PATH, err, errlen);
}

int config_set(struct wgmon_config *c, const char *section, const char *key, const char *value,
               char *err, size_t errlen)
{
	int sect = section ? config_sect_find(section, strlen(section)) : -1;
	const struct config_key *k;
	struct config_items it;
	char why[CONFIG_WHY_MAX];
	size_t idx;
	int r;

	if (sect < 0 || sect == SECT_TENANT || sect == SECT_APP) {
		config_err(err, errlen, "[%s] cannot be set by a flag", section ? section : "");
		return -EINVAL;
	}
	k = key ? config_key_find((unsigned)sect, key) : NULL;
	if (!k) {
		config_err(err, errlen, "unknown key '%s' in [%s]", key ? key : "", section);
		return -EINVAL;
	}
	if (!value) {
		config_err(err, errlen, "%s: no value", k->name);
		return -EINVAL;
	}
	idx = (size_t)(k - config_keys);
	r = config_items_flag(&it, value, config_is_list(k), k->name, why, sizeof(why));
	if (r == 0)
		r = config_apply(k, c, &it, !c->_flag_set[idx], why, sizeof(why));
	if (r < 0) {
		config_err(err, errlen, "%s", why);
		return r;
	}
	c->_flag_set[idx] = 1;
	return 0;
}

static bool config_globs_match(const char *globs, size_t size, uint32_t n, const char *s)
{
	if (!n)
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (fnmatch(globs + (size_t)i * size, s, 0) == 0)
			return true;
	return false;
}

int config_tenant_index(const struct wgmon_config *c, const char *host, const char *iface)
{
	for (uint32_t i = 0; i < c->n_tenant; i++) {
		const struct config_tenant *t = &c->tenant[i];

		if (config_globs_match(t->interfaces[0], sizeof(t->interfaces[0]), t->n_interfaces,
		                       iface ? iface : "") &&
		    config_globs_match(t->hosts[0], sizeof(t->hosts[0]), t->n_hosts,
		                       host ? host : ""))
			return (int)i;
	}
	return -1;
}

const char *config_tenant_of(const struct wgmon_config *c, const char *host, const char *iface)
{
	int i = config_tenant_index(c, host, iface);

	return i < 0 ? NULL : c->tenant[i].name;
}

uint32_t config_stale_after(const struct wgmon_config *c, const char *tenant)
{
	int i = tenant ? config_tenant_index_by_name(c, tenant) : -1;

	if (i >= 0 && c->tenant[i].stale_after)
		return c->tenant[i].stale_after;
	return c->health.stale_after;
}

bool config_iface_wanted(const struct wgmon_config *c, const char *iface)
{
	return config_globs_match(c->wireguard.interface[0], sizeof(c->wireguard.interface[0]),
	                          c->wireguard.n_interface, iface ? iface : "");
}

int config_parse_hostport(const char *s, char *host, size_t hostcap, uint16_t *port)
{
	const char *h, *colon, *end;
	size_t hlen;
	unsigned long v;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
		if (!config_is_ipv6(h, hlen))
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* none, or a bare IPv6 address: needs brackets */
		h = s;
		hlen = (size_t)(colon - s);
		if (!config_is_hostname(h, hlen))
			return -EINVAL;
	}
	if (!colon[1] || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	v = strtoul(colon + 1, NULL, 10);
	if (v < 1 || v > 65535)
		return -EINVAL;
	if (hlen >= hostcap)
		return -ENAMETOOLONG;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* ---- dump ---- */

static void config_dump_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < ' ' || ch == 0x7f)
			fprintf(out, "\\u%04X", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void config_dump_scalar(FILE *out, const struct config_key *k, const void *v)
{
	uint64_t u;

	switch (k->type) {
	case T_STR:
		if ((k->flags & F_SECRET) && *(const char *)v)
			fputs("\"***\"", out);
		else
			config_dump_quoted(out, v);
		break;
	case T_BOOL: fputs(*(const bool *)v ? "true" : "false", out); break;
	case T_UINT:
		u = k->size == sizeof(uint16_t)   ? *(const uint16_t *)v
		    : k->size == sizeof(uint32_t) ? *(const uint32_t *)v
		                                  : *(const uint64_t *)v;
		if (k->flags & F_OCTAL)
			fprintf(out, "\"0%" PRIo64 "\"", u);
		else
			fprintf(out, "%" PRIu64, u);
		break;
	case T_HOSTPORT: config_dump_quoted(out, ((const struct config_hostport *)v)->text); break;
	case T_ENUM: config_dump_quoted(out, k->names[*(const uint32_t *)v]); break;
	}
}

/* Every key of `sect` stored at `base`; a list prints one line per value. */
static void config_dump_sect(FILE *out, unsigned sect, const void *base)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		const char *v = (const char *)base + k->off;
		uint32_t n;

		if (k->sect != sect)
			continue;
		if (!config_is_list(k)) {
			fprintf(out, "%s = ", k->name);
			config_dump_scalar(out, k, v);
			fputc('\n', out);
			continue;
		}
		n = *(const uint32_t *)((const char *)base + k->cnt_off);
		if (!n)
			fprintf(out, "%s = []\n", k->name);
		for (uint32_t j = 0; j < n; j++) {
			fprintf(out, "%s = ", k->name);
			config_dump_scalar(out, k, v + (size_t)j * k->size);
			fputc('\n', out);
		}
	}
}

int config_dump(const struct wgmon_config *c, FILE *out)
{
	static const uint8_t order[] = {SECT_WGMOND,  SECT_WIREGUARD, SECT_HEALTH, SECT_REDIS,
	                                SECT_METRICS, SECT_NOTIFY,    SECT_MANAGER};

	fprintf(out, "# wgmon effective configuration%s%s%s\n", c->file[0] ? " (file " : "",
	        c->file, c->file[0] ? ")" : "");
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		fprintf(out, "%s[%s]\n", i ? "\n" : "", config_sect_names[order[i]]);
		config_dump_sect(out, order[i], c);
	}
	for (uint32_t i = 0; i < c->n_tenant; i++) {
		fprintf(out, "\n[tenant %s]\n", c->tenant[i].name);
		config_dump_sect(out, SECT_TENANT, &c->tenant[i]);
	}
	return ferror(out) ? -EIO : 0;
}
