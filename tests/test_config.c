/* SPDX-License-Identifier: MIT */
/*
 * tools/config: the replaced tool's config.toml, every wgmon key, the value
 * grammar, errors with their exact line, tenants, flags over the file, host:port
 * parsing, the dump (secrets hidden), the example file and the fuzz corpus.
 * Includes config.c (static functions) and the fuzz driver.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_config.c"
#include "tools/config.c"

static struct wgmon_config cfg;
static char err[CONFIG_ERR_MAX];

static int load(const char *text, const char *name)
{
	config_init(&cfg);
	err[0] = '\0';
	return config_load_string(&cfg, text, name, err, sizeof(err));
}

#define LOAD_OK(text, name)                                                                        \
	do {                                                                                       \
		int r_ = load(text, name);                                                         \
		cr_assert_eq(r_, 0, "load failed (%d): %s", r_, err);                              \
	} while (0)

#define LOAD_ERR(text, name, msg)                                                                  \
	do {                                                                                       \
		int r_ = load(text, name);                                                         \
		cr_assert_eq(r_, -EINVAL, "expected an error, got %d (%s)", r_, err);              \
		cr_assert_str_eq(err, msg);                                                        \
	} while (0)

/* hatamiarash7/Wireguard-Peer-Monitoring config.toml.example, byte for byte. */
static const char legacy_example[] =
        "[app]\n"
        "# Host to bind the UDP server\n"
        "host = \"0.0.0.0\"\n"
        "# Port to bind the UDP server\n"
        "port = 9995\n"
        "\n"
        "[wireguard]\n"
        "# Wireguard interface name. This will be used to capture specific logs from kernel.\n"
        "interface = \"wg-server\"\n"
        "\n"
        "[redis]\n"
        "# Redis configuration\n"
        "db = 3\n"
        "host = \"localhost\"\n"
        "password = \"\"\n"
        "port = 6379\n"
        "username = \"default\"\n"
        "\n"
        "[manager]\n"
        "# Wireguard manager webhook's URL\n"
        "url = \"\"\n";

/* Its config.toml (no [app] section). */
static const char legacy_config[] = "[wireguard]\n"
                                    "interface = \"wg-home\"\n"
                                    "\n"
                                    "[redis]\n"
                                    "db = 3\n"
                                    "host = \"localhost\"\n"
                                    "password = \"\"\n"
                                    "port = 6379\n"
                                    "username = \"default\"\n"
                                    "\n"
                                    "[manager]\n"
                                    "url = \"\"\n";

Test(config, defaults)
{
	config_init(&cfg);
	cr_assert_eq(cfg.wgmond.n_listen, 2);
	cr_assert_str_eq(cfg.wgmond.listen[0].text, "0.0.0.0:9999");
	cr_assert_str_eq(cfg.wgmond.listen[1].text, "[::]:9999");
	cr_assert_str_eq(cfg.wgmond.listen[1].host, "::");
	cr_assert_str_eq(cfg.wgmond.shm, "/wgmon");
	cr_assert_eq(cfg.wgmond.workers, 0);
	cr_assert_eq(cfg.wgmond.capacity, 1048576);
	cr_assert_eq(cfg.wgmond.ring_size, 4096);
	cr_assert_eq(cfg.wgmond.event_ring, 65536);
	cr_assert_eq(cfg.wgmond.rcvbuf, 32u << 20);
	cr_assert_eq(cfg.wgmond.ingest, CONFIG_INGEST_AUTO);
	cr_assert_eq(cfg.wgmond.shm_mode, 0640);
	cr_assert_eq(cfg.health.stale_after, 180);
	cr_assert_str_eq(cfg.redis.prefix, "wgmon:");
	cr_assert_eq(cfg.redis.port, 6379);
	cr_assert_not(cfg.redis.compat);
	cr_assert_eq(cfg.redis.interval_ms, 1000);
	cr_assert_eq(cfg.redis.stream_maxlen, 10000);
	cr_assert_eq(cfg.redis.removed_ttl, 604800);
	cr_assert_eq(cfg.redis.batch, 1000);
	cr_assert_str_eq(cfg.metrics.listen.text, "127.0.0.1:9998");
	cr_assert_eq(cfg.metrics.interval_ms, 1000);
	cr_assert_not(cfg.metrics.peer_events);
	cr_assert_eq(cfg.n_tenant, 0);
	cr_assert_not(cfg.legacy);
	cr_assert(config_iface_wanted(&cfg, "anything"));
}

Test(config, legacy_example_maps)
{
	LOAD_OK(legacy_example, "config.toml");
	cr_assert(cfg.legacy);
	cr_assert_eq(cfg.wgmond.n_listen, 1);
	cr_assert_str_eq(cfg.wgmond.listen[0].host, "0.0.0.0");
	cr_assert_eq(cfg.wgmond.listen[0].port, 9995);
	cr_assert_eq(cfg.wireguard.n_interface, 1);
	cr_assert_str_eq(cfg.wireguard.interface[0], "wg-server");
	cr_assert(config_iface_wanted(&cfg, "wg-server"));
	cr_assert_not(config_iface_wanted(&cfg, "wg-home"));
	cr_assert_eq(cfg.redis.db, 3);
	cr_assert_str_eq(cfg.redis.host, "localhost");
	cr_assert_str_eq(cfg.redis.password, "");
	cr_assert_eq(cfg.redis.port, 6379);
	cr_assert_str_eq(cfg.redis.username, "default");
	cr_assert_str_eq(cfg.manager.url, "");
	cr_assert(cfg.redis.compat, "a legacy file turns Redis compat mode on");
	cr_assert_str_eq(cfg.metrics.listen.text, "127.0.0.1:9998");
}

Test(config, legacy_config_toml)
{
	LOAD_OK(legacy_config, "/srv/wg/config.toml");
	cr_assert(cfg.legacy);
	cr_assert(cfg.redis.compat);
	cr_assert_eq(cfg.wgmond.n_listen, 2, "no [app]: the default listen stays");
	cr_assert_str_eq(cfg.wireguard.interface[0], "wg-home");
}

Test(config, legacy_detection)
{
	LOAD_OK("[redis]\nport = 1\n", "x.toml");
	cr_assert(cfg.legacy && cfg.redis.compat);
	LOAD_OK("[redis]\nport = 1\n", "x.conf");
	cr_assert(!cfg.legacy && !cfg.redis.compat);
	LOAD_OK("[manager]\nurl = \"http://mgr:8080/hook\"\n", "wgmon.conf");
	cr_assert(cfg.legacy && cfg.redis.compat);
	cr_assert_str_eq(cfg.manager.url, "http://mgr:8080/hook");
	LOAD_OK("[app]\nport = 1234\n[redis]\ncompat = false\n", "wgmon.conf");
	cr_assert(cfg.legacy);
	cr_assert_not(cfg.redis.compat, "an explicit compat = false wins");
	cr_assert_str_eq(cfg.wgmond.listen[0].text, "0.0.0.0:1234");
}

Test(config, legacy_app_extras)
{
	/* The replaced tool's main.py also reads [app] metrics_host / metrics_port. */
	LOAD_OK("[app]\nhost = \"::\"\nport = 9999\nmetrics_host = \"0.0.0.0\"\nmetrics_port = "
	        "9998\n",
	        "config.toml");
	cr_assert_str_eq(cfg.wgmond.listen[0].text, "[::]:9999");
	cr_assert_eq(cfg.wgmond.n_listen, 1);
	cr_assert_str_eq(cfg.metrics.listen.text, "0.0.0.0:9998");
	LOAD_OK("[wgmond]\nlisten = \"127.0.0.1:7000\"\n[app]\nport = 7001\n", "a.toml");
	cr_assert_eq(cfg.wgmond.n_listen, 2, "[app] adds to an explicit listen");
	cr_assert_str_eq(cfg.wgmond.listen[1].text, "0.0.0.0:7001");
	LOAD_ERR("[metrics]\nlisten = \"127.0.0.1:1\"\n[app]\nmetrics_port = 2\n", "a.toml",
	         "a.toml:4: [app] metrics_host/metrics_port and [metrics] listen both set the "
	         "metrics address");
}

static const char all_keys[] = "[wgmond]\n"
                               "listen = \"127.0.0.1:9000, [::1]:9001\"\n"
                               "listen = [\"[fe80::1%eth0]:9002\"]\n"
                               "shm = \"/wgmon-test\"\n"
                               "workers = 3\n"
                               "capacity = 2_000_000\n"
                               "ring_size = 8192\n"
                               "event_ring = 1024\n"
                               "rcvbuf = 64M\n"
                               "allow = 10.0.0.0/8, 192.0.2.7, 2001:db8::/32\n"
                               "ingest = recvmmsg\n"
                               "source = [\"udp\", \"file:/var/log/kern.log\", \"kmsg\", \"-\"]\n"
                               "shm_group = wgmon\n"
                               "shm_mode = 0660\n"
                               "[wireguard]\n"
                               "interface = wg-*, vpn0\n"
                               "[health]\n"
                               "stale_after = 300\n"
                               "[redis]\n"
                               "host = redis.example.net\n"
                               "port = 6380\n"
                               "db = 2\n"
                               "username = monitor\n"
                               "password = \"s3cr;et#1\"\n"
                               "socket = /run/redis/redis.sock\n"
                               "prefix = \"wg:\"\n"
                               "compat = yes\n"
                               "interval_ms = 500\n"
                               "stream_maxlen = 5000\n"
                               "removed_ttl = 86400\n"
                               "batch = 250\n"
                               "[metrics]\n"
                               "listen = \"[::]:9100\"\n"
                               "interval_ms = 2000\n"
                               "compat = true\n"
                               "max_peer_series = 5000\n"
                               "peer_events = on\n"
                               "[notify]\n"
                               "url = https://hooks.example.com/a, http://127.0.0.1:8080/b\n"
                               "secret = 'hmac\\key'\n"
                               "events = [\"endpoint_changed\", \"state_changed\"]\n"
                               "tenants = acme\n"
                               "connect_timeout_ms = 1500\n"
                               "timeout_ms = 4000\n"
                               "queue = 64\n"
                               "retries = 3\n"
                               "backoff_max_ms = 30000\n"
                               "[manager]\n"
                               "url = \"http://manager.local/peer\"\n"
                               "[tenant acme]\n"
                               "interfaces = [\"wg-acme*\"]\n"
                               "hosts = [\"vpn-*.acme.example\"]\n"
                               "stale_after = 600\n";

Test(config, every_key)
{
	LOAD_OK(all_keys, "wgmon.conf");
	cr_assert_not(cfg.legacy == false, "[manager] marks the file legacy");
	cr_assert_eq(cfg.wgmond.n_listen, 3);
	cr_assert_str_eq(cfg.wgmond.listen[0].text, "127.0.0.1:9000");
	cr_assert_str_eq(cfg.wgmond.listen[1].host, "::1");
	cr_assert_eq(cfg.wgmond.listen[1].port, 9001);
	cr_assert_str_eq(cfg.wgmond.listen[2].host, "fe80::1%eth0");
	cr_assert_str_eq(cfg.wgmond.shm, "/wgmon-test");
	cr_assert_eq(cfg.wgmond.workers, 3);
	cr_assert_eq(cfg.wgmond.capacity, 2000000);
	cr_assert_eq(cfg.wgmond.ring_size, 8192);
	cr_assert_eq(cfg.wgmond.event_ring, 1024);
	cr_assert_eq(cfg.wgmond.rcvbuf, 64u << 20);
	cr_assert_eq(cfg.wgmond.n_allow, 3);
	cr_assert_str_eq(cfg.wgmond.allow[2], "2001:db8::/32");
	cr_assert_eq(cfg.wgmond.ingest, CONFIG_INGEST_RECVMMSG);
	cr_assert_eq(cfg.wgmond.n_source, 4);
	cr_assert_str_eq(cfg.wgmond.source[1], "file:/var/log/kern.log");
	cr_assert_str_eq(cfg.wgmond.shm_group, "wgmon");
	cr_assert_eq(cfg.wgmond.shm_mode, 0660);
	cr_assert_eq(cfg.wireguard.n_interface, 2);
	cr_assert(config_iface_wanted(&cfg, "wg-tenant7"));
	cr_assert(config_iface_wanted(&cfg, "vpn0"));
	cr_assert_not(config_iface_wanted(&cfg, "vpn1"));
	cr_assert_eq(cfg.health.stale_after, 300);
	cr_assert_str_eq(cfg.redis.host, "redis.example.net");
	cr_assert_eq(cfg.redis.port, 6380);
	cr_assert_eq(cfg.redis.db, 2);
	cr_assert_str_eq(cfg.redis.username, "monitor");
	cr_assert_str_eq(cfg.redis.password, "s3cr;et#1");
	cr_assert_str_eq(cfg.redis.socket, "/run/redis/redis.sock");
	cr_assert_str_eq(cfg.redis.prefix, "wg:");
	cr_assert(cfg.redis.compat);
	cr_assert_eq(cfg.redis.interval_ms, 500);
	cr_assert_eq(cfg.redis.stream_maxlen, 5000);
	cr_assert_eq(cfg.redis.removed_ttl, 86400);
	cr_assert_eq(cfg.redis.batch, 250);
	cr_assert_str_eq(cfg.metrics.listen.text, "[::]:9100");
	cr_assert_eq(cfg.metrics.interval_ms, 2000);
	cr_assert(cfg.metrics.compat);
	cr_assert_eq(cfg.metrics.max_peer_series, 5000);
	cr_assert(cfg.metrics.peer_events);
	cr_assert_eq(cfg.notify.n_url, 2);
	cr_assert_str_eq(cfg.notify.url[1], "http://127.0.0.1:8080/b");
	cr_assert_str_eq(cfg.notify.secret, "hmac\\key");
	cr_assert_eq(cfg.notify.n_events, 2);
	cr_assert_str_eq(cfg.notify.events[0], "endpoint_changed");
	cr_assert_eq(cfg.notify.n_tenants, 1);
	cr_assert_eq(cfg.notify.connect_timeout_ms, 1500);
	cr_assert_eq(cfg.notify.timeout_ms, 4000);
	cr_assert_eq(cfg.notify.queue, 64);
	cr_assert_eq(cfg.notify.retries, 3);
	cr_assert_eq(cfg.notify.backoff_max_ms, 30000);
	cr_assert_str_eq(cfg.manager.url, "http://manager.local/peer");
	cr_assert_eq(cfg.n_tenant, 1);
	cr_assert_eq(config_stale_after(&cfg, "acme"), 600);
}

Test(config, errors_name_the_line)
{
	LOAD_ERR("[app]\nhost = \"0.0.0.0\"\nport = 99999\n", "config.toml",
	         "config.toml:3: port: expected an integer 1-65535");
	LOAD_ERR("# c\n\n[redis]\nhost = \"x\"\n\n\n\n\n\n\n\nfoo = 1\n", "config.toml",
	         "config.toml:12: unknown key 'foo' in [redis]");
	LOAD_ERR("[redis]\n[nope]\n", "w.conf", "w.conf:2: unknown section [nope]");
	LOAD_ERR("port = 1\n", "w.conf", "w.conf:1: key 'port' outside any section");
	LOAD_ERR("[redis]\nport = 1\n\nport = 2\n", "w.conf",
	         "w.conf:4: duplicate key 'port' in [redis] (first on line 2)");
	LOAD_ERR("[redis]\ncompat = maybe\n", "w.conf", "w.conf:2: compat: expected true or false");
	LOAD_ERR("[redis]\nport = -1\n", "w.conf", "w.conf:2: port: expected an integer 1-65535");
	LOAD_ERR("[redis]\nport = 12ab\n", "w.conf", "w.conf:2: port: expected an integer 1-65535");
	LOAD_ERR("[redis]\nport = \n", "w.conf", "w.conf:2: port: expected an integer 1-65535");
	LOAD_ERR("[wgmond]\nring_size = 1000\n", "w.conf",
	         "w.conf:2: ring_size: expected a power of two 2-1048576");
	LOAD_ERR("[wgmond]\nshm_mode = 0999\n", "w.conf",
	         "w.conf:2: shm_mode: expected an octal mode 0-0777");
	LOAD_ERR("[wgmond]\nrcvbuf = 3X\n", "w.conf",
	         "w.conf:2: rcvbuf: expected a size in bytes 4096-2147483647 (K, M, G suffixes "
	         "allowed)");
	LOAD_ERR("[wgmond]\ningest = epoll\n", "w.conf",
	         "w.conf:2: ingest: expected one of auto, uring, recvmmsg");
	LOAD_ERR("[wgmond]\nlisten = 0.0.0.0:9999, ::1:9999\n", "w.conf",
	         "w.conf:2: listen: expected HOST:PORT or [IPv6]:PORT (port 1-65535), got "
	         "'::1:9999'");
	LOAD_ERR("[wgmond]\nallow = 10.0.0.0/33\n", "w.conf",
	         "w.conf:2: allow: prefix length out of range, got '10.0.0.0/33'");
	LOAD_ERR(
	        "[wgmond]\nshm = wgmon\n", "w.conf",
	        "w.conf:2: shm: expected a shared-memory name like \"/wgmon\" (one leading '/', no "
	        "other), got 'wgmon'");
	LOAD_ERR("[notify]\nurl = ftp://x\n", "w.conf",
	         "w.conf:2: url: expected an http:// or https:// URL, got 'ftp://x'");
	LOAD_ERR("[redis]\nhost = \"abc\n", "w.conf", "w.conf:2: unterminated string");
	LOAD_ERR("[redis]\nhost = \"a\\qb\"\n", "w.conf",
	         "w.conf:2: host: bad escape sequence in string");
	LOAD_ERR("[redis]\nhost = \"\"\"x\"\"\"\n", "w.conf",
	         "w.conf:2: multi-line strings are not supported");
	LOAD_ERR("[redis]\njust words\n", "w.conf",
	         "w.conf:2: expected 'key = value' or '[section]'");
	LOAD_ERR("[redis\n", "w.conf", "w.conf:1: missing ']' after the section name");
	LOAD_ERR("[[tenant]]\n", "w.conf",
	         "w.conf:1: arrays of tables ([[...]]) are not supported");
	LOAD_ERR("[redis]\nport = [1, 2]\n", "w.conf",
	         "w.conf:2: port: expected a single value, not a list");
	LOAD_ERR("[redis]\nhost = \"a\" b\n", "w.conf",
	         "w.conf:2: host: unexpected text after the string");
	LOAD_ERR("[wgmond]\nallow = [\"10.0.0.0/8\" 10.1.0.0/16]\n", "w.conf",
	         "w.conf:2: allow: expected ',' between values");
	LOAD_ERR("[wgmond]\nallow = [\"10.0.0.0/8\"] x]\n", "w.conf",
	         "w.conf:2: allow: unexpected text after ']'");
	LOAD_ERR("[wgmond]\nlisten = [[::1]:1]\n", "w.conf",
	         "w.conf:2: listen: quote list elements that contain '[' (nested lists are not "
	         "supported)");
	LOAD_ERR("[redis]\nhost = a\x01"
	         "b\n",
	         "w.conf", "w.conf:2: control character in line");
	LOAD_ERR("[notify]\ntenants = ghost\n[tenant real]\n", "w.conf",
	         "w.conf:2: tenants: no tenant section named 'ghost'");
}

Test(config, error_limits)
{
	char text[4096];
	size_t n = 0;

	/* A line of CONFIG_LINE_MAX bytes is fine, one more is an error naming it. */
	n = (size_t)snprintf(text, sizeof(text), "[redis]\npassword = \"%0*d\"\n",
	                     CONFIG_LINE_MAX - 13, 0);
	LOAD_OK(text, "w.conf");
	n = (size_t)snprintf(text, sizeof(text), "[redis]\npassword = \"%0*d\"\n",
	                     CONFIG_LINE_MAX - 12, 0);
	LOAD_ERR(text, "w.conf",
	         "w.conf:2: line longer than 199 bytes (repeat a list key to split a list)");

	n = (size_t)snprintf(text, sizeof(text), "[wgmond]\n");
	for (int i = 0; i <= CONFIG_LISTEN_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "listen = 127.0.0.1:%d\n",
		                      1000 + i);
	LOAD_ERR(text, "w.conf", "w.conf:18: listen: more than 16 values");

	n = 0;
	for (int i = 0; i <= CONFIG_TENANT_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[tenant t%d]\n", i);
	cr_assert_lt(n, sizeof(text));
	LOAD_ERR(text, "w.conf", "w.conf:257: more than 256 tenants");

	LOAD_ERR("[tenant bad name!]\n", "w.conf",
	         "w.conf:1: bad tenant name 'bad name!': expected a tenant name (1-32 letters, "
	         "digits, '-', '_')");
	LOAD_ERR("[tenant a]\n[tenant.b]\n[tenant a]\n", "w.conf",
	         "w.conf:3: duplicate tenant 'a' (first on line 1)");
	LOAD_ERR("[redis]\npassword = \"\\u0000\"\n", "w.conf",
	         "w.conf:2: password: bad escape sequence in string");
}

Test(config, quotes_comments_arrays)
{
	LOAD_OK("\xef\xbb\xbf# BOM, CRLF, indentation, comments everywhere\r\n"
	        "  [ redis ]  # a table\r\n"
	        "\thost = \"db.local\"   # after a value\r\n"
	        "  username = 'a \\n b ; c'   ; INI comment\r\n"
	        "  password = \"p#ss;w\\\"rd\\t\\u00e9\\U0001F600\"\r\n"
	        "  prefix = bare value # cut here\r\n"
	        "[wgmond]\n"
	        "allow = [ \"10.0.0.0/8\" , '192.168.0.0/16', ]  # trailing comma\n"
	        "allow = 172.16.0.0/12\n"
	        "source = []\n"
	        "[notify]\n"
	        "url = [\"https://x.example/?a=1,2\"]\n"
	        "url = \"\"\n"
	        "events = a_b, \"c_d, e_f\"\n"
	        "timeout_ms: 1_500\n",
	        "w.conf");
	cr_assert_str_eq(cfg.redis.host, "db.local");
	cr_assert_str_eq(cfg.redis.username, "a \\n b ; c");
	cr_assert_str_eq(cfg.redis.password, "p#ss;w\"rd\t\xc3\xa9\xf0\x9f\x98\x80");
	cr_assert_str_eq(cfg.redis.prefix, "bare value");
	cr_assert_eq(cfg.wgmond.n_allow, 3);
	cr_assert_str_eq(cfg.wgmond.allow[1], "192.168.0.0/16");
	cr_assert_str_eq(cfg.wgmond.allow[2], "172.16.0.0/12");
	cr_assert_eq(cfg.wgmond.n_source, 0);
	cr_assert_eq(cfg.notify.n_url, 1, "an array element keeps its commas; \"\" adds nothing");
	cr_assert_str_eq(cfg.notify.url[0], "https://x.example/?a=1,2");
	cr_assert_eq(cfg.notify.n_events, 3);
	cr_assert_str_eq(cfg.notify.events[2], "e_f");
	cr_assert_eq(cfg.notify.timeout_ms, 1500);

	/* Unquoted IPv6 addresses are not arrays. */
	LOAD_OK("[wgmond]\nlisten = [::]:9999, [::1]:9\n[metrics]\nlisten = [::1]:9100\n",
	        "w.conf");
	cr_assert_eq(cfg.wgmond.n_listen, 2);
	cr_assert_str_eq(cfg.wgmond.listen[1].text, "[::1]:9");
	cr_assert_str_eq(cfg.metrics.listen.host, "::1");
	LOAD_ERR("[metrics]\nlisten = [\"[::1]:9100\"]\n", "w.conf",
	         "w.conf:2: listen: expected a single value, not a list");
}

Test(config, later_file_replaces_lists)
{
	char e[CONFIG_ERR_MAX];

	LOAD_OK("[wgmond]\nlisten = 127.0.0.1:1\n[tenant a]\n", "one.conf");
	cr_assert_eq(config_load_string(&cfg, "[wgmond]\nlisten = 127.0.0.1:2\n[tenant b]\n",
	                                "two.conf", e, sizeof(e)),
	             0, "%s", e);
	cr_assert_eq(cfg.wgmond.n_listen, 1);
	cr_assert_eq(cfg.wgmond.listen[0].port, 2);
	cr_assert_eq(cfg.n_tenant, 1);
	cr_assert_str_eq(cfg.tenant[0].name, "b");
}

/* Unused bytes stay zero: a reloaded configuration compares equal to a fresh one. */
Test(config, reload_compares_equal)
{
	static struct wgmon_config fresh;
	static const char big[] = "[wgmond]\nlisten = 127.0.0.1:1, 127.0.0.1:2, [::1]:3\n"
	                          "[redis]\nprefix = a-long-prefix:\n[tenant a]\n[tenant b]\n";
	static const char small[] = "[wgmond]\nlisten = 127.0.0.1:9\n[redis]\nprefix = p:\n"
	                            "[tenant c]\n[app]\nport = 4\n";
	char e[CONFIG_ERR_MAX];

	LOAD_OK(small, "s.conf");
	fresh = cfg;
	LOAD_OK(big, "b.conf");
	cr_assert_eq(config_load_string(&cfg, small, "s.conf", e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(memcmp(&cfg, &fresh, sizeof(cfg)), 0);
}

static const char tenants[] = "[health]\n"
                              "stale_after = 200\n"
                              "[tenant acme]\n"
                              "interfaces = wg-acme*, wg-a?\n"
                              "stale_after = 60\n"
                              "[tenant.globex]\n"
                              "hosts = [\"vpn-*.globex.example\", \"gx[0-9]\"]\n"
                              "[tenant both]\n"
                              "interfaces = wg-*\n"
                              "hosts = edge*\n"
                              "[tenant local]\n"
                              "hosts = \"\"\n"
                              "interfaces = wg-local\n";

Test(config, tenants)
{
	LOAD_OK(tenants, "w.conf");
	cr_assert_eq(cfg.n_tenant, 4);
	cr_assert_str_eq(config_tenant_of(&cfg, "any", "wg-acme-7"), "acme");
	cr_assert_str_eq(config_tenant_of(&cfg, "", "wg-ab"), "acme");
	cr_assert_str_eq(config_tenant_of(&cfg, "vpn-3.globex.example", "wg0"), "globex");
	cr_assert_str_eq(config_tenant_of(&cfg, "gx7", "wg-acme1"), "acme", "first match wins");
	cr_assert_str_eq(config_tenant_of(&cfg, "edge1", "wg-x"), "both");
	cr_assert_null(config_tenant_of(&cfg, "edge1", "eth0"), "both lists must match");
	cr_assert_null(config_tenant_of(&cfg, "core", "wg-x"));
	cr_assert_str_eq(config_tenant_of(&cfg, "", "wg-local"), "local");
	cr_assert_str_eq(config_tenant_of(&cfg, NULL, "wg-local"), "local");
	cr_assert_eq(config_tenant_index(&cfg, "gx1", "x"), 1);
	cr_assert_eq(config_stale_after(&cfg, "acme"), 60);
	cr_assert_eq(config_stale_after(&cfg, "globex"), 200, "no override: [health]");
	cr_assert_eq(config_stale_after(&cfg, "nobody"), 200);
	cr_assert_eq(config_stale_after(&cfg, NULL), 200);

	/* A tenant with no lists is a catch-all. */
	LOAD_OK("[tenant first]\ninterfaces = wg1\n[tenant rest]\n", "w.conf");
	cr_assert_str_eq(config_tenant_of(&cfg, "h", "eth9"), "rest");
	cr_assert_str_eq(config_tenant_of(&cfg, "h", "wg1"), "first");
}

Test(config, flags_override_file)
{
	LOAD_OK("[wgmond]\nlisten = 127.0.0.1:1, 127.0.0.1:2\nworkers = 2\n"
	        "allow = 10.0.0.0/8\n[redis]\nport = 7000\n",
	        "w.conf");
	cr_assert_eq(config_set(&cfg, "wgmond", "listen", "[::1]:5000", err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(cfg.wgmond.n_listen, 1, "the first flag replaces the file's list");
	cr_assert_eq(config_set(&cfg, "wgmond", "listen", "127.0.0.1:5001,127.0.0.1:5002", err,
	                        sizeof(err)),
	             0);
	cr_assert_eq(cfg.wgmond.n_listen, 3, "later flags add");
	cr_assert_str_eq(cfg.wgmond.listen[0].text, "[::1]:5000");
	cr_assert_eq(config_set(&cfg, "wgmond", "workers", "5", err, sizeof(err)), 0);
	cr_assert_eq(cfg.wgmond.workers, 5);
	cr_assert_eq(config_set(&cfg, "redis", "port", "7001", err, sizeof(err)), 0);
	cr_assert_eq(cfg.redis.port, 7001);
	cr_assert_eq(config_set(&cfg, "redis", "password", "\"q#uo;te\"", err, sizeof(err)), 0);
	cr_assert_str_eq(cfg.redis.password, "\"q#uo;te\"", "flags are literal");
	cr_assert_eq(cfg.wgmond.n_allow, 1, "untouched keys keep the file's value");

	cr_assert_eq(config_set(&cfg, "redis", "port", "0", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "port: expected an integer 1-65535");
	cr_assert_eq(cfg.redis.port, 7001);
	cr_assert_eq(config_set(&cfg, "redis", "nope", "1", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "unknown key 'nope' in [redis]");
	cr_assert_eq(config_set(&cfg, "tenant", "hosts", "x", err, sizeof(err)), -EINVAL);
	cr_assert_eq(config_set(&cfg, "app", "port", "1", err, sizeof(err)), -EINVAL);
	cr_assert_eq(config_set(&cfg, "bogus", "port", "1", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "[bogus] cannot be set by a flag");
}

Test(config, compat_flag_over_legacy_file)
{
	LOAD_OK(legacy_config, "config.toml");
	cr_assert(cfg.redis.compat);
	cr_assert_eq(config_set(&cfg, "redis", "compat", "false", err, sizeof(err)), 0);
	cr_assert_not(cfg.redis.compat);
}

Test(config, hostport)
{
	char host[64];
	uint16_t port = 0;

	cr_assert_eq(config_parse_hostport("0.0.0.0:9999", host, sizeof(host), &port), 0);
	cr_assert_str_eq(host, "0.0.0.0");
	cr_assert_eq(port, 9999);
	cr_assert_eq(config_parse_hostport("[::]:9999", host, sizeof(host), &port), 0);
	cr_assert_str_eq(host, "::");
	cr_assert_eq(config_parse_hostport("[::1]:1", host, sizeof(host), &port), 0);
	cr_assert_str_eq(host, "::1");
	cr_assert_eq(port, 1);
	cr_assert_eq(config_parse_hostport("[2001:db8::ffff:192.0.2.1]:65535", host, sizeof(host),
	                                   &port),
	             0);
	cr_assert_eq(port, 65535);
	cr_assert_eq(config_parse_hostport("[fe80::1%wg0]:51820", host, sizeof(host), &port), 0);
	cr_assert_str_eq(host, "fe80::1%wg0");
	cr_assert_eq(config_parse_hostport("localhost:9998", host, sizeof(host), &port), 0);
	cr_assert_str_eq(host, "localhost");
	cr_assert_eq(config_parse_hostport("redis-1.example.com:6379", host, sizeof(host), &port),
	             0);

	static const char *const bad[] = {
	        "",           ":9999",    "host",          "host:",       "host:0",
	        "host:65536", "host:+1",  "host:99999999", "::1:9999",    "[::1]9999",
	        "[::1]",      "[::g]:1",  "[]:1",          "[1.2.3.4]:1", "300.1.1.1:1",
	        "a b:1",      "[::1%]:1", "h:1 ",          "[::1]:1:2",   NULL,
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(config_parse_hostport(bad[i], host, sizeof(host), &port), -EINVAL,
		             "'%s' accepted", bad[i] ? bad[i] : "(null)");
	cr_assert_eq(config_parse_hostport("abcdefgh:1", host, 8, &port), -ENAMETOOLONG);
	cr_assert_eq(config_parse_hostport("abcdefg:1", host, 8, &port), 0);
}

static char *dump_to_string(const struct wgmon_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(config_dump(c, f), 0);
	fclose(f);
	return buf;
}

Test(config, dump_hides_secrets)
{
	char *text;

	LOAD_OK("[redis]\npassword = \"hunter2-redis\"\n[notify]\nsecret = 'hunter2-hmac'\n",
	        "w.conf");
	text = dump_to_string(&cfg);
	cr_assert_null(strstr(text, "hunter2"), "a secret was printed:\n%s", text);
	cr_assert_not_null(strstr(text, "password = \"***\""));
	cr_assert_not_null(strstr(text, "secret = \"***\""));
	free(text);
}

Test(config, dump_round_trips)
{
	static struct wgmon_config first;
	char *text, *again;
	char e[CONFIG_ERR_MAX];

	LOAD_OK(all_keys, "w.conf");
	/* secrets do not survive a dump */
	memset(cfg.redis.password, 0, sizeof(cfg.redis.password));
	memset(cfg.notify.secret, 0, sizeof(cfg.notify.secret));
	first = cfg;
	text = dump_to_string(&first);
	config_init(&cfg);
	cr_assert_eq(config_load_string(&cfg, text, "dump.conf", e, sizeof(e)), 0, "%s\n%s", e,
	             text);
	cfg.legacy = first.legacy;
	again = dump_to_string(&cfg);
	cr_assert_str_eq(again, text);
	cr_assert_eq(memcmp(&cfg.wgmond, &first.wgmond, sizeof(cfg.wgmond)), 0);
	cr_assert_eq(memcmp(&cfg.redis, &first.redis, sizeof(cfg.redis)), 0);
	cr_assert_eq(memcmp(&cfg.notify, &first.notify, sizeof(cfg.notify)), 0);
	cr_assert_eq(memcmp(cfg.tenant, first.tenant, sizeof(cfg.tenant)), 0);
	free(text);
	free(again);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

Test(config, files_and_default)
{
	char dir[] = "/tmp/wgmon-config-test-XXXXXX", path[128], missing[128];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.toml", dir);
	snprintf(missing, sizeof(missing), "%s/absent.conf", dir);
	write_file(path, legacy_example);

	config_init(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert(cfg.legacy && cfg.redis.compat);
	cr_assert_str_eq(cfg.file, path);

	config_init(&cfg);
	cr_assert_eq(config_load_file(&cfg, missing, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "absent.conf: No such file or directory"), "%s", err);

	config_init(&cfg);
	cr_assert_eq(config_load_default_at(&cfg, NULL, missing, err, sizeof(err)), 0,
	             "an absent default file is fine");
	cr_assert_eq(cfg.file[0], '\0');
	cr_assert_eq(config_load_default_at(&cfg, NULL, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.wgmond.listen[0].port, 9995);
	config_init(&cfg);
	cr_assert_eq(config_load_default_at(&cfg, missing, path, err, sizeof(err)), -ENOENT,
	             "an absent --config file is an error");

	write_file(path, "[redis]\nport = 1\n[redis]\nbad = 2\n");
	config_init(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "config.toml:4: unknown key 'bad' in [redis]"), "%s", err);

	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0);
}

Test(config, example_file_loads)
{
	const char *src = getenv("WGMON_SRC");
	char path[4096];

	if (!src)
		cr_skip_test("WGMON_SRC not set");
	snprintf(path, sizeof(path), "%s/deploy/wgmon.conf.example", src);
	config_init(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(cfg.legacy, "the example is a native file");
}

/* The committed fuzz seeds go through the driver (under ASan in the sanitizer build). */
Test(config, fuzz_corpus_replays)
{
	const char *src = getenv("WGMON_SRC");
	char dirpath[4096], path[8192];
	struct dirent *e;
	unsigned files = 0;
	DIR *d;

	if (!src)
		cr_skip_test("WGMON_SRC not set");
	snprintf(dirpath, sizeof(dirpath), "%s/tests/fuzz/corpus/config", src);
	d = opendir(dirpath);
	cr_assert_not_null(d, "%s: %s", dirpath, strerror(errno));
	char *buf = malloc(CONFIG_FILE_MAX);

	cr_assert_not_null(buf);
	while ((e = readdir(d))) {
		size_t n;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		f = fopen(path, "rb");
		cr_assert_not_null(f);
		n = fread(buf, 1, CONFIG_FILE_MAX, f);
		fclose(f);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
		files++;
	}
	closedir(d);
	free(buf);
	cr_assert_geq(files, 3);
}
