/* SPDX-License-Identifier: MIT */
/*
 * wgmon setup — checks, and with --apply makes, what a WireGuard concentrator needs before
 * wgmon can see anything: WireGuard's dynamic debug on (now and at every load), the kernel's
 * net_ratelimit out of the way, and rsyslog forwarding the lines to wgmond. It says plainly
 * what it cannot do on this host. --root DIR runs every check and write under DIR (tests,
 * images). Idempotent: a second --apply finds everything in place and writes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tools/tools.h"

#define SETUP_PATH_MAX  4096
#define SETUP_FILE_MAX  (64 * 1024) /* files compared or read whole */
#define SETUP_TEXT_MAX  4096        /* a file setup writes */
#define SETUP_HOST_MAX  256
#define SETUP_PORT_DFLT 9999
#define SETUP_CONF_MAX  64 /* rsyslog.d files scanned */
#define SETUP_HOST_CHARS                                                                           \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%" /* [v6%zone] too */

/* The absolute paths; under --root DIR each is DIR + path. */
#define P_MODPROBE      "/etc/modprobe.d/wgmon-wireguard.conf"
#define P_SYSCTL        "/etc/sysctl.d/60-wgmon.conf"
#define P_RSYSLOG_D     "/etc/rsyslog.d"
#define P_RSYSLOG       P_RSYSLOG_D "/60-wgmon.conf"
#define P_RSYSLOG_CONF  "/etc/rsyslog.conf"
#define P_RSYSLOGD      "/usr/sbin/rsyslogd"
#define P_CONTROL_DEBUG "/sys/kernel/debug/dynamic_debug/control"
#define P_CONTROL_PROC  "/proc/dynamic_debug/control"
#define P_COST          "/proc/sys/net/core/message_cost"
#define P_BURST         "/proc/sys/net/core/message_burst"
#define P_PRINTK        "/proc/sys/kernel/printk"
#define P_CMDLINE       "/proc/cmdline"
#define P_SYSMOD        "/sys/module/wireguard"

static const char modprobe_text[] =
        "# /etc/modprobe.d/wgmon-wireguard.conf: written by `wgmon setup`.\n"
        "# WireGuard's debug lines (handshakes, keepalives, endpoints, errors) are\n"
        "# dynamic debug call sites, off by default: switch them all on whenever the\n"
        "# module loads. If WireGuard is built into the kernel, put wireguard.dyndbg=+p\n"
        "# on the kernel command line instead.\n"
        "options wireguard dyndbg=+p\n";

static const char sysctl_text[] =
        "# /etc/sysctl.d/60-wgmon.conf: written by `wgmon setup`.\n"
        "# WireGuard's packet-path debug lines go through net_ratelimit(), which lets\n"
        "# only net.core.message_burst (10) lines through every net.core.message_cost (5)\n"
        "# seconds, for all of networking together; the others are dropped, and only\n"
        "# \"net_ratelimit: N callbacks suppressed\" tells how many. 0 turns that limit\n"
        "# off: wgmon sees every line.\n"
        "net.core.message_cost = 0\n";

/* %s target, %u port. The test compares it with deploy/rsyslog/60-wgmon.conf. */
static const char rsyslog_fmt[] =
        "# /etc/rsyslog.d/60-wgmon.conf: forward the kernel's WireGuard lines to wgmond.\n"
        "# Written by `wgmon setup`; `wgmon setup --apply --collector HOST:PORT` rewrites\n"
        "# it. rsyslog must read the kernel log: imklog (Debian's /etc/rsyslog.conf loads\n"
        "# it) or imjournal.\n"
        "#\n"
        "# Repeated-message reduction folds identical lines (keepalives above all) into one\n"
        "# \"message repeated N times: [...]\" line: wgmond counts it N times, but the\n"
        "# times of all but the last are lost. rsyslog gives every input the last\n"
        "# $RepeatedMsgReduction it reads, and this file is read after /etc/rsyslog.conf:\n"
        "# this turns it off for the whole host.\n"
        "$RepeatedMsgReduction off\n"
        "\n"
        "# WireGuard's lines and the kernel's loss marker (\"net_ratelimit: N callbacks\n"
        "# suppressed\"), of facility kern only, over UDP. An in-memory queue of its own:\n"
        "# if wgmond is away, lines wait there (up to 100000), and the host's other\n"
        "# logging never waits for them.\n"
        "if $syslogfacility-text == \"kern\" and\n"
        "   ($msg contains \"wireguard: \" or $msg contains \"net_ratelimit: \") then {\n"
        "\taction(type=\"omfwd\" target=\"%s\" port=\"%u\" protocol=\"udp\"\n"
        "\t       template=\"RSYSLOG_TraditionalForwardFormat\"\n"
        "\t       queue.type=\"LinkedList\" queue.size=\"100000\")\n"
        "\t# Keeps the debug flood out of /var/log/kern.log and /var/log/syslog; delete\n"
        "\t# this line to keep a local copy as well.\n"
        "\tstop\n"
        "}\n";

enum setup_status { SETUP_OK, SETUP_TODO, SETUP_DONE, SETUP_CANNOT, SETUP_NOTE };

enum setup_module {
	SETUP_MOD_ABSENT,    /* neither loaded nor installed for the running kernel */
	SETUP_MOD_AVAILABLE, /* installed, not loaded */
	SETUP_MOD_LOADED,    /* a loaded module */
	SETUP_MOD_BUILTIN,   /* built into the kernel */
};

struct setup_ctx {
	bool apply;
	const char *root; /* "" = the real root */
	char host[SETUP_HOST_MAX];
	unsigned port;
	enum setup_module module;
	unsigned count[SETUP_NOTE + 1];
};

/* ---- output ------------------------------------------------------------------------------ */

static void setup_say(struct setup_ctx *c, enum setup_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void setup_more(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void setup_say(struct setup_ctx *c, enum setup_status st, const char *fmt, ...)
{
	static const char *const tag[] = {"ok", "todo", "done", "cannot", "note"};
	va_list ap;

	c->count[st]++;
	printf("[%s]%*s", tag[st], (int)(8 - strlen(tag[st])), "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A continuation line under the last one. */
static void setup_more(const char *fmt, ...)
{
	va_list ap;

	fputs("          ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Every line of `text`, indented, as a file to be written. */
static void setup_show_text(const char *text)
{
	const char *nl;

	for (; *text; text = nl + 1) {
		nl = strchrnul(text, '\n');
		printf("            | %.*s\n", (int)(nl - text), text);
		if (!*nl)
			break;
	}
}

/* ---- files under the root ------------------------------------------------------------------ */

static const char *setup_path(const struct setup_ctx *c, const char *abs, char *buf)
{
	snprintf(buf, SETUP_PATH_MAX, "%s%s", c->root, abs);
	return buf;
}

static bool setup_exists(const struct setup_ctx *c, const char *abs)
{
	char p[SETUP_PATH_MAX];

	return access(setup_path(c, abs, p), F_OK) == 0;
}

/* Read at most cap - 1 bytes of `abs`, NUL-terminated; the length or -errno. */
static ssize_t setup_read(const struct setup_ctx *c, const char *abs, char *buf, size_t cap)
{
	char p[SETUP_PATH_MAX];
	ssize_t n, len = 0;
	int fd = open(setup_path(c, abs, p), O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)len < cap - 1 && (n = read(fd, buf + len, cap - 1 - (size_t)len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return len;
}

/* Whether a line of `abs` contains `needle` (files of any size, read by line). */
static bool setup_file_has(const struct setup_ctx *c, const char *abs, const char *needle)
{
	char p[SETUP_PATH_MAX], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen(setup_path(c, abs, p), "re");

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, needle) != NULL;
	free(line);
	fclose(f);
	return found;
}

/* mkdir -p of the directories above `path` that are below the root. */
static int setup_mkparents(const struct setup_ctx *c, const char *path)
{
	char d[SETUP_PATH_MAX];
	size_t skip = strlen(c->root);

	snprintf(d, sizeof(d), "%s", path);
	for (char *s = d + skip + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* Replace `path` with `text` at once: a temporary file beside it, fsync, rename. */
static int setup_write_atomic(const char *path, const char *text)
{
	char tmp[SETUP_PATH_MAX + 16];
	size_t len = strlen(text);
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.wgmon-tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	errno = 0; /* a short write sets none */
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* Write a small value into a /proc or /sys file (O_TRUNC, as the shell's `>` does). */
static int setup_write_value(const struct setup_ctx *c, const char *abs, const char *value)
{
	char p[SETUP_PATH_MAX];
	size_t len = strlen(value);
	int fd = open(setup_path(c, abs, p), O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, value, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

/* Make `abs` hold exactly `text`: ok if it does, else todo (dry run) or write it. */
static enum setup_status setup_file_ensure(struct setup_ctx *c, const char *what, const char *abs,
                                           const char *text)
{
	char p[SETUP_PATH_MAX], *cur = malloc(SETUP_FILE_MAX);
	ssize_t n = cur ? setup_read(c, abs, cur, SETUP_FILE_MAX) : -ENOMEM;
	bool same = n >= 0 && !strcmp(cur, text);
	int r;

	free(cur);
	if (same) {
		setup_say(c, SETUP_OK, "%s: %s is in place", what, abs);
		return SETUP_OK;
	}
	if (!c->apply) {
		setup_say(c, SETUP_TODO, "%s: %s %s; --apply writes:", what, abs,
		          n == -ENOENT ? "is missing" : "differs");
		setup_show_text(text);
		return SETUP_TODO;
	}
	setup_path(c, abs, p);
	r = setup_mkparents(c, p);
	if (!r)
		r = setup_write_atomic(p, text);
	if (r) {
		setup_say(c, SETUP_CANNOT, "%s: cannot write %s: %s", what, abs, strerror(-r));
		return SETUP_CANNOT;
	}
	setup_say(c, SETUP_DONE, "%s: wrote %s", what, abs);
	return SETUP_DONE;
}

/* ---- the checks ---------------------------------------------------------------------------- */

static void setup_check_privileges(struct setup_ctx *c)
{
	char p[SETUP_PATH_MAX];

	if (c->root[0]) {
		if (access(setup_path(c, "/", p), W_OK) == 0)
			setup_say(c, SETUP_OK, "working under %s (--root), which is writable",
			          c->root);
		else
			setup_say(c, SETUP_CANNOT, "cannot write under %s (--root): %s", c->root,
			          strerror(errno));
		return;
	}
	if (geteuid() == 0)
		setup_say(c, SETUP_OK, "running as root");
	else if (c->apply)
		setup_say(c, SETUP_CANNOT,
		          "not root: --apply can change nothing below "
		          "(run: sudo wgmon setup --apply)");
	else
		setup_say(c, SETUP_NOTE,
		          "not root: the dynamic debug state below is root-only "
		          "(sudo wgmon setup shows it)");
}

static void setup_check_module(struct setup_ctx *c)
{
	char ver[64] = "", dep[SETUP_PATH_MAX];
	struct utsname u;

	uname(&u);
	if (setup_read(c, P_SYSMOD "/version", ver, sizeof(ver)) > 0)
		ver[strcspn(ver, "\n")] = '\0';
	snprintf(dep, sizeof(dep), "/lib/modules/%s/modules.dep", u.release);
	if (setup_exists(c, P_SYSMOD "/initstate")) {
		c->module = SETUP_MOD_LOADED;
		setup_say(c, SETUP_OK, "WireGuard module loaded (version %s)", ver[0] ? ver : "?");
	} else if (setup_exists(c, P_SYSMOD)) {
		c->module = SETUP_MOD_BUILTIN;
		setup_say(c, SETUP_OK, "WireGuard is built into the kernel (version %s)",
		          ver[0] ? ver : "?");
	} else if (setup_file_has(c, dep, "/wireguard.ko")) {
		c->module = SETUP_MOD_AVAILABLE;
		setup_say(c, SETUP_NOTE,
		          "WireGuard module installed, not loaded yet (it loads with "
		          "the first wg interface, or: modprobe wireguard)");
	} else {
		c->module = SETUP_MOD_ABSENT;
		setup_say(c, SETUP_CANNOT,
		          "no WireGuard on this host: no %s, no wireguard.ko in /lib/modules/%s",
		          P_SYSMOD, u.release);
		setup_more(
		        "this kernel prints no WireGuard lines; the files below still prepare it");
	}
}

struct setup_dyndbg {
	const char *control; /* absolute path, NULL: none */
	int err;             /* reading it: 0 or -errno */
	unsigned sites;      /* wireguard call sites listed */
	unsigned enabled;    /* ... with the p flag */
};

/* Count WireGuard's call sites in the control file and those that print. A line reads
 * `drivers/net/wireguard/send.c:31 [wireguard]wg_packet_send_keepalive =_ "%s: Sending…"`. */
static void setup_dyndbg_scan(const struct setup_ctx *c, struct setup_dyndbg *d)
{
	char p[SETUP_PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	memset(d, 0, sizeof(*d));
	if (setup_exists(c, P_CONTROL_DEBUG))
		d->control = P_CONTROL_DEBUG;
	else if (setup_exists(c, P_CONTROL_PROC))
		d->control = P_CONTROL_PROC;
	else
		return;
	f = fopen(setup_path(c, d->control, p), "re");
	if (!f) {
		d->err = -errno;
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		const char *m = strstr(line, " [wireguard]"), *flags;

		if (!m || !(flags = strstr(m, " =")))
			continue;
		d->sites++;
		flags += 2;
		if (memchr(flags, 'p', strcspn(flags, " \n")))
			d->enabled++;
	}
	free(line);
	fclose(f);
}

static void setup_check_dyndbg_now(struct setup_ctx *c)
{
	struct setup_dyndbg d;
	int r;

	setup_dyndbg_scan(c, &d);
	if (!d.control) {
		setup_say(c, SETUP_CANNOT, "dynamic debug: no %s (debugfs not mounted) and no %s",
		          P_CONTROL_DEBUG, P_CONTROL_PROC);
		setup_more("mount it (mount -t debugfs none /sys/kernel/debug); a kernel without");
		setup_more("CONFIG_DYNAMIC_DEBUG prints none of WireGuard's debug lines");
		return;
	}
	if (d.err) {
		setup_say(c, SETUP_CANNOT, "dynamic debug: cannot read %s: %s", d.control,
		          strerror(-d.err));
		return;
	}
	if (c->module == SETUP_MOD_ABSENT || c->module == SETUP_MOD_AVAILABLE) {
		setup_say(c, SETUP_NOTE,
		          "dynamic debug: nothing to switch on until WireGuard is "
		          "loaded (the setting below does it at load)");
		return;
	}
	if (!d.sites) {
		setup_say(c, SETUP_CANNOT,
		          "dynamic debug: %s lists no wireguard call sites: this "
		          "kernel's WireGuard has no dynamic debug",
		          d.control);
		return;
	}
	if (d.enabled == d.sites) {
		setup_say(c, SETUP_OK, "dynamic debug: all %u wireguard call sites print (+p)",
		          d.sites);
		return;
	}
	if (!c->apply) {
		setup_say(c, SETUP_TODO,
		          "dynamic debug: %u of %u wireguard call sites print; "
		          "--apply runs:",
		          d.enabled, d.sites);
		setup_more("echo 'module wireguard +p' > %s", d.control);
		return;
	}
	r = setup_write_value(c, d.control, "module wireguard +p\n");
	if (r)
		setup_say(c, SETUP_CANNOT, "dynamic debug: writing %s: %s", d.control,
		          strerror(-r));
	else
		setup_say(c, SETUP_DONE, "dynamic debug: switched on (module wireguard +p)");
}

static void setup_check_dyndbg_boot(struct setup_ctx *c)
{
	char cmdline[4096];

	if (c->module != SETUP_MOD_BUILTIN) {
		setup_file_ensure(c, "dynamic debug at every load", P_MODPROBE, modprobe_text);
		return;
	}
	if (setup_read(c, P_CMDLINE, cmdline, sizeof(cmdline)) > 0 &&
	    strstr(cmdline, "wireguard.dyndbg="))
		setup_say(c, SETUP_OK,
		          "dynamic debug at boot: wireguard.dyndbg= is on the kernel "
		          "command line");
	else {
		setup_say(c, SETUP_CANNOT,
		          "dynamic debug at boot: WireGuard is built in, so it "
		          "needs wireguard.dyndbg=+p on the kernel command line");
		setup_more(
		        "wgmon setup does not edit the boot loader: add it to GRUB_CMDLINE_LINUX");
		setup_more("in /etc/default/grub, then run update-grub");
	}
}

static long setup_read_long(const struct setup_ctx *c, const char *abs, long dflt)
{
	char buf[64];

	return setup_read(c, abs, buf, sizeof(buf)) > 0 ? strtol(buf, NULL, 10) : dflt;
}

static void setup_check_message_cost(struct setup_ctx *c)
{
	long cost = setup_read_long(c, P_COST, -1), burst = setup_read_long(c, P_BURST, 10);
	int r;

	if (cost < 0) {
		setup_say(c, SETUP_CANNOT, "net.core.message_cost: cannot read %s", P_COST);
	} else if (cost == 0) {
		setup_say(c, SETUP_OK,
		          "net.core.message_cost = 0: no kernel rate limit on the lines");
	} else if (!c->apply) {
		setup_say(c, SETUP_TODO,
		          "net.core.message_cost = %ld: the kernel keeps only %ld "
		          "net_ratelimit lines per %ld s, for all of networking",
		          cost, burst, cost);
		setup_more("the rest are dropped (\"net_ratelimit: N callbacks suppressed\"); "
		           "--apply sets 0 now");
	} else if ((r = setup_write_value(c, P_COST, "0\n")) != 0) {
		setup_say(c, SETUP_CANNOT, "net.core.message_cost: writing %s: %s%s", P_COST,
		          strerror(-r),
		          geteuid() == 0 && (r == -EROFS || r == -EACCES) ? " (a container?)" : "");
	} else {
		setup_say(c, SETUP_DONE, "net.core.message_cost: was %ld, now 0", cost);
	}
	setup_file_ensure(c, "net.core.message_cost at boot", P_SYSCTL, sysctl_text);
}

/* The console prints every line at a level below its own: at 8, every debug line. */
static void setup_check_console(struct setup_ctx *c)
{
	long level = setup_read_long(c, P_PRINTK, 4);

	if (level > 7) {
		setup_say(c, SETUP_NOTE,
		          "kernel.printk console level %ld: every debug line also "
		          "goes to the console, which is slow",
		          level);
		setup_more("consider: sysctl -w kernel.printk='4 4 1 7'");
	}
}

/* The number (from 1) of the first line of `text` outside comments that `pred` accepts; 0: none. */
static unsigned setup_line_find(const char *text, bool (*pred)(const char *s, size_t len))
{
	unsigned no = 0;

	for (const char *l = text; *l;) {
		const char *nl = strchrnul(l, '\n'), *s = l + strspn(l, " \t");

		no++;
		if (s < nl && *s != '#' && pred(s, (size_t)(nl - s)))
			return no;
		l = *nl ? nl + 1 : nl;
	}
	return 0;
}

static bool setup_is_reduction_on(const char *s, size_t len)
{
	static const char key[] = "$RepeatedMsgReduction";
	size_t k = sizeof(key) - 1, v;

	if (len <= k || strncasecmp(s, key, k))
		return false;
	v = k + strspn(s + k, " \t");
	return len >= v + 2 && !strncasecmp(s + v, "on", 2) &&
	       (len == v + 2 || strchr(" \t#\r", s[v + 2]));
}

static bool setup_is_include_d(const char *s, size_t len)
{
	return memmem(s, len, "rsyslog.d", 9) &&
	       (memmem(s, len, "IncludeConfig", 13) || memmem(s, len, "include(", 8));
}

static bool setup_is_kernel_input(const char *s, size_t len)
{
	return memmem(s, len, "imklog", 6) || memmem(s, len, "imjournal", 9);
}

static int setup_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* rsyslog.conf's own $RepeatedMsgReduction on is undone by our file only if it comes before
 * the include of /etc/rsyslog.d (`conf` holds rsyslog.conf). */
static void setup_check_reduction_main(struct setup_ctx *c, const char *conf)
{
	unsigned on = setup_line_find(conf, setup_is_reduction_on);
	unsigned inc = setup_line_find(conf, setup_is_include_d);

	if (!on)
		return;
	if (inc && on > inc) {
		setup_say(c, SETUP_CANNOT,
		          "rsyslog: %s:%u turns $RepeatedMsgReduction on after including "
		          "/etc/rsyslog.d (line %u): move it above, or remove it",
		          P_RSYSLOG_CONF, on, inc);
		return;
	}
	setup_say(c, SETUP_NOTE, "rsyslog: %s:%u turns $RepeatedMsgReduction on;", P_RSYSLOG_CONF,
	          on);
	setup_more("%s turns it off again (the last one read wins)", P_RSYSLOG);
}

/* Files of /etc/rsyslog.d read after ours that turn repeated-message reduction on again. */
static void setup_check_reduction_d(struct setup_ctx *c, char *buf)
{
	char p[SETUP_PATH_MAX], *names[SETUP_CONF_MAX];
	const char *base = strrchr(P_RSYSLOG, '/') + 1;
	unsigned n = 0, line;
	struct dirent *e;
	DIR *dir;

	dir = opendir(setup_path(c, P_RSYSLOG_D, p));
	while (dir && n < SETUP_CONF_MAX && (e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 5 && !strcmp(e->d_name + len - 5, ".conf") &&
		    strcmp(e->d_name, base) > 0 && (names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	if (dir)
		closedir(dir);
	qsort(names, n, sizeof(names[0]), setup_cmp_names); /* rsyslog's order */
	for (unsigned i = 0; i < n; i++) {
		snprintf(p, sizeof(p), P_RSYSLOG_D "/%s", names[i]);
		if (setup_read(c, p, buf, SETUP_FILE_MAX) >= 0 &&
		    (line = setup_line_find(buf, setup_is_reduction_on)) != 0)
			setup_say(c, SETUP_CANNOT,
			          "rsyslog: %s:%u turns $RepeatedMsgReduction on again after %s: "
			          "remove that line",
			          p, line, base);
		free(names[i]);
	}
}

static void setup_check_rsyslog(struct setup_ctx *c)
{
	char text[SETUP_TEXT_MAX], *buf;

	if (!setup_exists(c, P_RSYSLOGD)) {
		setup_say(c, SETUP_CANNOT, "rsyslog is not installed (apt-get install rsyslog)");
		setup_more("or run wgmond on this host with --source kmsg: it reads /dev/kmsg");
		return;
	}
	buf = malloc(SETUP_FILE_MAX);
	if (!buf)
		return;
	if (setup_read(c, P_RSYSLOG_CONF, buf, SETUP_FILE_MAX) < 0)
		buf[0] = '\0';
	if (setup_line_find(buf, setup_is_kernel_input))
		setup_say(c, SETUP_OK, "rsyslog reads the kernel log (imklog or imjournal in %s)",
		          P_RSYSLOG_CONF);
	else
		setup_say(c, SETUP_CANNOT,
		          "rsyslog: %s loads neither imklog nor imjournal: add "
		          "module(load=\"imklog\")",
		          P_RSYSLOG_CONF);
	setup_check_reduction_main(c, buf);
	setup_check_reduction_d(c, buf);
	free(buf);
	snprintf(text, sizeof(text), rsyslog_fmt, c->host, c->port);
	if (setup_file_ensure(c, "rsyslog forwarding", P_RSYSLOG, text) == SETUP_DONE)
		setup_more("restart rsyslog to use it (wgmon setup restarts nothing): "
		           "systemctl restart rsyslog");
}

/* ---- the command --------------------------------------------------------------------------- */

/* "HOST", "HOST:PORT" or "[V6]:PORT"; only characters that are safe inside the snippet. */
static int setup_collector_parse(const char *s, char *host, size_t cap, unsigned *port)
{
	const char *end, *colon;
	unsigned long v;
	char *e;
	size_t len;

	*port = SETUP_PORT_DFLT;
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		colon = end[1] ? end + 1 : NULL;
		s++;
	} else {
		colon = strrchr(s, ':');
		end = colon ? colon : s + strlen(s);
		if (colon && strchr(s, ':') != colon)
			return -EINVAL; /* an IPv6 address needs its brackets */
	}
	len = (size_t)(end - s);
	if (!len || len >= cap || strspn(s, SETUP_HOST_CHARS) < len)
		return -EINVAL;
	memcpy(host, s, len);
	host[len] = '\0';
	if (colon) {
		errno = 0;
		v = strtoul(colon + 1, &e, 10);
		if (errno || *e || colon[1] < '0' || colon[1] > '9' || v < 1 || v > 65535)
			return -EINVAL;
		*port = (unsigned)v;
	}
	return 0;
}

static void setup_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon setup [--apply] [--collector HOST:PORT] [--root DIR]\n"
	        "       wgmon setup --print rsyslog|sysctl|modprobe [--collector HOST:PORT]\n\n"
	        "Checks what a WireGuard concentrator needs for wgmon, and with --apply (as root)\n"
	        "does it: WireGuard's dynamic debug on now and at every load (%s),\n"
	        "net.core.message_cost = 0 now and at boot (%s), and rsyslog\n"
	        "forwarding the lines to wgmond (%s). It restarts nothing,\n"
	        "says what it cannot do here, and a second --apply changes nothing.\n\n"
	        "  --apply              make the changes marked [todo]\n"
	        "  --collector H:P      where wgmond listens (default 127.0.0.1:%u; [v6]:port)\n"
	        "  --root DIR           check and write under DIR instead of / (tests, images)\n"
	        "  --print FILE         print the file setup would write, and exit\n"
	        "  --help               this text\n\n"
	        "Exit status: 0 when nothing is left to do, 1 when something is [todo] or "
	        "[cannot],\n"
	        "2 on a usage error.\n",
	        P_MODPROBE, P_SYSCTL, P_RSYSLOG, SETUP_PORT_DFLT);
}

static int setup_print(const struct setup_ctx *c, const char *what)
{
	if (!strcmp(what, "rsyslog"))
		printf(rsyslog_fmt, c->host, c->port);
	else if (!strcmp(what, "sysctl"))
		fputs(sysctl_text, stdout);
	else if (!strcmp(what, "modprobe"))
		fputs(modprobe_text, stdout);
	else {
		fprintf(stderr, "wgmon setup: --print rsyslog, sysctl or modprobe\n");
		return 2;
	}
	return 0;
}

static int setup_run(struct setup_ctx *c)
{
	printf("wgmon setup: what this %s needs for wgmon (%s)\n\n",
	       c->root[0] ? "root file system" : "concentrator",
	       c->apply ? "--apply: making the changes" : "a dry run: nothing is changed");
	setup_check_privileges(c);
	setup_check_module(c);
	setup_check_dyndbg_now(c);
	setup_check_dyndbg_boot(c);
	setup_check_message_cost(c);
	setup_check_console(c);
	setup_check_rsyslog(c);
	printf("\n%u ok, %u to do, %u done, %u cannot be done here, %u notes\n", c->count[SETUP_OK],
	       c->count[SETUP_TODO], c->count[SETUP_DONE], c->count[SETUP_CANNOT],
	       c->count[SETUP_NOTE]);
	if (c->count[SETUP_TODO])
		printf("run 'wgmon setup --apply' as root to make the changes marked [todo]\n");
	return c->count[SETUP_TODO] || c->count[SETUP_CANNOT] ? 1 : 0;
}

int cmd_setup(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"apply", no_argument, NULL, 'a'},      {"collector", required_argument, NULL, 'c'},
	        {"root", required_argument, NULL, 'r'}, {"print", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	struct setup_ctx c = {.root = "", .host = "127.0.0.1", .port = SETUP_PORT_DFLT};
	const char *print = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'a': c.apply = true; break;
		case 'c':
			if (setup_collector_parse(optarg, c.host, sizeof(c.host), &c.port) < 0) {
				fprintf(stderr,
				        "wgmon setup: --collector %s: expected HOST, HOST:PORT "
				        "or [IPV6]:PORT\n",
				        optarg);
				return 2;
			}
			break;
		case 'r': c.root = strcmp(optarg, "/") ? optarg : ""; break;
		case 'p': print = optarg; break;
		case 'h': setup_usage(stdout); return 0;
		default: setup_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wgmon setup: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (c.root[0] && c.root[0] != '/') {
		fprintf(stderr, "wgmon setup: --root needs an absolute path\n");
		return 2;
	}
	if (print)
		return setup_print(&c, print);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return setup_run(&c);
}
