/* SPDX-License-Identifier: MIT */
/*
 * test_rsyslog_setup.c — `wgmon setup` (the real binary) against fake root file systems built
 * in a temporary directory (--root DIR): a concentrator where everything can be done, one where
 * nothing can (no WireGuard, no debugfs, no rsyslog), WireGuard built into the kernel, and an
 * rsyslog.d file that undoes the snippet. A dry run changes nothing; --apply writes exactly the
 * files deploy/ ships and sets the runtime values; a second --apply changes nothing at all.
 */
#ifdef TW_PLAIN
#include "tests/test_wgmond_plain.h" /* TSan builds: Criterion cannot start there */
#define cr_expect_eq(a, b, ...)    cr_expect((a) == (b), ##__VA_ARGS__)
#define cr_expect_null(p, ...)     cr_expect((p) == NULL, ##__VA_ARGS__)
#define cr_expect_not_null(p, ...) cr_expect((p) != NULL, ##__VA_ARGS__)
#else
#include <criterion/criterion.h>
#endif
#include <ftw.h>
#include <sys/utsname.h>

#include "tests/test_wgmond_util.h"

#define SU_OUT_MAX (1 << 16)

/* A listing as the kernel's dynamic_debug/control prints it: `flags` is "_" or "p". */
#define SU_CONTROL(flags)                                                                          \
	"# filename:lineno [module]function flags format\n"                                        \
	"net/core/dev.c:1234 [core]netdev_foo =_ \"%s: foo\\012\"\n"                               \
	"drivers/net/wireguard/send.c:31 [wireguard]wg_packet_send_handshake_initiation =" flags   \
	" \"%s: Sending handshake initiation to peer %llu (%pISpfsc)\\012\"\n"                     \
	"drivers/net/wireguard/send.c:237 [wireguard]wg_packet_send_keepalive =" flags             \
	" \"%s: Sending keepalive packet to peer %llu (%pISpfsc)\\012\"\n"                         \
	"drivers/net/wireguard/peer.c:81 [wireguard]wg_peer_create =" flags                        \
	" \"%s: Peer %llu created\\012\"\n"

#define SU_RSYSLOG_CONF                                                                            \
	"module(load=\"imuxsock\")\nmodule(load=\"imklog\")\n"                                     \
	"$RepeatedMsgReduction on\n$IncludeConfig /etc/rsyslog.d/*.conf\n"

static char root[64];

static int su_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void su_fini(void)
{
	if (root[0])
		nftw(root, su_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create root/rel (and its directories) holding `text`; text NULL: a directory. */
static void su_put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	if (!text) {
		cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "%s", path);
		return;
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The text of root/rel (static buffer), or NULL if absent. */
static const char *su_get(const char *rel)
{
	static char buf[SU_OUT_MAX];
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static ino_t su_inode(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Run `wgmon setup ARGS`; its stdout (malloc'd) and exit code. */
static char *su_run(const char *args, int *code)
{
	char cmd[1024], bin[512];
	char *out;
	int st = -1;

	snprintf(cmd, sizeof(cmd), "'%s' setup %s 2>&1", tw_bin("tools/wgmon", bin, sizeof(bin)),
	         args);
	out = tw_run(cmd, &st);
	cr_assert_not_null(out, "%s", cmd);
	*code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static char *su_setup(const char *more, int *code)
{
	char args[512];

	snprintf(args, sizeof(args), "--root %s %s", root, more);
	return su_run(args, code);
}

static void su_new_root(void)
{
	snprintf(root, sizeof(root), "/tmp/wgmon-setup-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

/* A concentrator where everything can be done: WireGuard loaded, debugfs, rsyslog. */
static void su_concentrator(void)
{
	su_new_root();
	su_put("sys/module/wireguard/initstate", "live\n");
	su_put("sys/module/wireguard/version", "1.0.0\n");
	su_put("sys/kernel/debug/dynamic_debug/control", SU_CONTROL("_"));
	su_put("proc/sys/net/core/message_cost", "5\n");
	su_put("proc/sys/net/core/message_burst", "10\n");
	su_put("proc/sys/kernel/printk", "4\t4\t1\t7\n");
	su_put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda ro\n");
	su_put("usr/sbin/rsyslogd", "");
	su_put("etc/rsyslog.conf", SU_RSYSLOG_CONF);
	su_put("etc/rsyslog.d", NULL);
	su_put("etc/modprobe.d", NULL);
	su_put("etc/sysctl.d", NULL);
}

static void su_expect_has(const char *out, const char *needle)
{
	cr_expect_not_null(strstr(out, needle), "no \"%s\" in:\n%s", needle, out);
}

TestSuite(setup, .fini = su_fini, .timeout = 60);

Test(setup, dry_run_changes_nothing)
{
	int code;
	char *out;

	su_concentrator();
	out = su_setup("", &code);
	cr_expect_eq(code, 1, "%s", out);
	su_expect_has(out, "[ok]      WireGuard module loaded (version 1.0.0)");
	su_expect_has(out, "[todo]    dynamic debug: 0 of 3 wireguard call sites print");
	su_expect_has(out, "[todo]    net.core.message_cost = 5");
	su_expect_has(out, "/etc/rsyslog.d/60-wgmon.conf is missing");
	su_expect_has(out, "/etc/rsyslog.conf:3 turns $RepeatedMsgReduction on");
	su_expect_has(out, "5 to do, 0 done, 0 cannot");
	cr_expect_null(su_get("etc/modprobe.d/wgmon-wireguard.conf"));
	cr_expect_null(su_get("etc/sysctl.d/60-wgmon.conf"));
	cr_expect_null(su_get("etc/rsyslog.d/60-wgmon.conf"));
	cr_expect_str_eq(su_get("proc/sys/net/core/message_cost"), "5\n");
	cr_expect_str_eq(su_get("sys/kernel/debug/dynamic_debug/control"), SU_CONTROL("_"));
	free(out);
}

Test(setup, apply_twice)
{
	static const char *const files[] = {"etc/modprobe.d/wgmon-wireguard.conf",
	                                    "etc/sysctl.d/60-wgmon.conf",
	                                    "etc/rsyslog.d/60-wgmon.conf"};
	ino_t ino[3];
	char *out, *snippet;
	int code;

	su_concentrator();
	out = su_setup("--apply --collector 192.0.2.10:5514", &code);
	cr_expect_eq(code, 0, "%s", out);
	su_expect_has(out, "[done]    dynamic debug: switched on (module wireguard +p)");
	su_expect_has(out, "[done]    net.core.message_cost: was 5, now 0");
	su_expect_has(out, "0 to do, 5 done, 0 cannot");
	fprintf(stderr, "first --apply:\n%s", out);
	free(out);
	/* What the kernel was told, and the files. */
	cr_expect_str_eq(su_get("sys/kernel/debug/dynamic_debug/control"), "module wireguard +p\n");
	cr_expect_str_eq(su_get("proc/sys/net/core/message_cost"), "0\n");
	su_expect_has(su_get(files[0]), "\noptions wireguard dyndbg=+p\n");
	su_expect_has(su_get(files[1]), "\nnet.core.message_cost = 0\n");
	snippet = su_run("--print rsyslog --collector 192.0.2.10:5514", &code);
	cr_expect_eq(code, 0);
	cr_expect_str_eq(su_get(files[2]), snippet);
	su_expect_has(snippet, "target=\"192.0.2.10\" port=\"5514\" protocol=\"udp\"");
	free(snippet);

	/* The kernel applied the query: its listing now shows +p. Then --apply again. */
	su_put("sys/kernel/debug/dynamic_debug/control", SU_CONTROL("p"));
	for (unsigned i = 0; i < 3; i++)
		ino[i] = su_inode(files[i]);
	out = su_setup("--apply --collector 192.0.2.10:5514", &code);
	cr_expect_eq(code, 0, "%s", out);
	su_expect_has(out, "[ok]      dynamic debug: all 3 wireguard call sites print (+p)");
	su_expect_has(out, "[ok]      net.core.message_cost = 0");
	su_expect_has(out, "0 to do, 0 done, 0 cannot");
	cr_expect_null(strstr(out, "[done]"), "second --apply changed something:\n%s", out);
	for (unsigned i = 0; i < 3; i++)
		cr_expect_eq(su_inode(files[i]), ino[i], "%s was rewritten", files[i]);
	cr_expect_str_eq(su_get("sys/kernel/debug/dynamic_debug/control"), SU_CONTROL("p"));
	fprintf(stderr, "second --apply:\n%s", out);
	free(out);

	/* Another collector: only the snippet changes. */
	out = su_setup("--apply --collector [2001:db8::10]:9999", &code);
	cr_expect_eq(code, 0, "%s", out);
	su_expect_has(out, "[done]    rsyslog forwarding: wrote /etc/rsyslog.d/60-wgmon.conf");
	su_expect_has(out, "0 to do, 1 done");
	su_expect_has(su_get(files[2]), "target=\"2001:db8::10\" port=\"9999\"");
	free(out);
}

Test(setup, cannot_on_a_bare_host)
{
	char *out;
	int code;

	su_new_root();
	su_put("etc", NULL);
	out = su_setup("--apply", &code);
	cr_expect_eq(code, 1, "%s", out);
	su_expect_has(out, "[cannot]  no WireGuard on this host");
	su_expect_has(out, "[cannot]  dynamic debug: no /sys/kernel/debug/dynamic_debug/control");
	su_expect_has(out, "[cannot]  net.core.message_cost: cannot read");
	su_expect_has(out, "[cannot]  rsyslog is not installed");
	/* What can be prepared is: the settings that apply once WireGuard is there. */
	su_expect_has(out, "[done]    dynamic debug at every load: wrote");
	su_expect_has(out, "[done]    net.core.message_cost at boot: wrote");
	cr_expect_not_null(su_get("etc/modprobe.d/wgmon-wireguard.conf"));
	cr_expect_null(su_get("etc/rsyslog.d/60-wgmon.conf"));
	fprintf(stderr, "bare host:\n%s", out);
	free(out);
}

Test(setup, builtin_wireguard_needs_the_command_line)
{
	char *out, initstate[128];
	int code;

	su_concentrator();
	snprintf(initstate, sizeof(initstate), "%s/sys/module/wireguard/initstate", root);
	cr_assert_eq(remove(initstate), 0); /* built in: /sys/module/wireguard, no initstate */
	out = su_setup("--apply", &code);
	cr_expect_eq(code, 1, "%s", out);
	su_expect_has(out, "[ok]      WireGuard is built into the kernel");
	su_expect_has(out, "needs wireguard.dyndbg=+p on the kernel command line");
	cr_expect_null(su_get("etc/modprobe.d/wgmon-wireguard.conf"));
	free(out);
	su_put("proc/cmdline", "BOOT_IMAGE=/vmlinuz ro wireguard.dyndbg=+p\n");
	su_put("sys/kernel/debug/dynamic_debug/control", SU_CONTROL("p"));
	out = su_setup("--apply", &code);
	cr_expect_eq(code, 0, "%s", out);
	su_expect_has(out, "[ok]      dynamic debug at boot: wireguard.dyndbg= is on the kernel");
	free(out);
}

Test(setup, a_later_file_turning_reduction_on_again)
{
	char *out;
	int code;

	su_concentrator();
	su_put("etc/rsyslog.d/50-before.conf", "$RepeatedMsgReduction on\n");
	su_put("etc/rsyslog.d/70-after.conf", "# local\n  $RepeatedMsgReduction   on\n");
	out = su_setup("", &code);
	su_expect_has(out, "[cannot]  rsyslog: /etc/rsyslog.d/70-after.conf:2 turns "
	                   "$RepeatedMsgReduction on again after 60-wgmon.conf");
	cr_expect_null(strstr(out, "50-before.conf"), "%s", out);
	free(out);
}

Test(setup, rsyslog_conf_order_and_comments)
{
	char *out;
	int code;

	su_concentrator();
	/* imklog only in a comment; reduction turned on after the include of rsyslog.d. */
	su_put("etc/rsyslog.conf",
	       "#module(load=\"imklog\")\n$IncludeConfig /etc/rsyslog.d/*.conf\n"
	       "$RepeatedMsgReduction on # local\n");
	out = su_setup("", &code);
	cr_expect_eq(code, 1, "%s", out);
	su_expect_has(out,
	              "[cannot]  rsyslog: /etc/rsyslog.conf loads neither imklog nor imjournal");
	su_expect_has(out, "[cannot]  rsyslog: /etc/rsyslog.conf:3 turns $RepeatedMsgReduction on "
	                   "after including /etc/rsyslog.d (line 2)");
	free(out);
	su_put("etc/rsyslog.conf", "module(load=\"imjournal\")\n$RepeatedMsgReduction only\n");
	out = su_setup("", &code);
	su_expect_has(out, "[ok]      rsyslog reads the kernel log");
	cr_expect_null(strstr(out, "RepeatedMsgReduction on"), "%s", out);
	free(out);
}

/* deploy/ ships exactly what `wgmon setup --apply` writes (default collector). */
Test(setup, deploy_files_are_what_setup_writes)
{
	static const char *const pairs[][2] = {
	        {"rsyslog", "deploy/rsyslog/60-wgmon.conf"},
	        {"sysctl", "deploy/sysctl.d/60-wgmon.conf"},
	        {"modprobe", "deploy/modprobe.d/wgmon-wireguard.conf"},
	};
	const char *src = getenv("WGMON_SRC");

	if (!src)
		cr_skip_test("WGMON_SRC is not set (run through ctest)");
	snprintf(root, sizeof(root), "%s", src); /* su_get reads under `root` */
	for (unsigned i = 0; i < 3; i++) {
		char args[64], *out;
		const char *file;
		int code;

		snprintf(args, sizeof(args), "--print %s", pairs[i][0]);
		out = su_run(args, &code);
		cr_expect_eq(code, 0);
		file = su_get(pairs[i][1]);
		cr_assert_not_null(file, "%s/%s is missing", src, pairs[i][1]);
		cr_expect_str_eq(out, file, "%s differs from 'wgmon setup --print %s'", pairs[i][1],
		                 pairs[i][0]);
		free(out);
	}
	root[0] = '\0'; /* not ours to remove */
}

Test(setup, usage_errors)
{
	static const char *const bad[] = {
	        "--collector 'a\"b:1'", "--collector 2001:db8::1:9999",
	        "--collector h:0",      "--collector h:65536",
	        "--root relative/dir",  "--print nothing",
	        "--no-such-option",     "extra-argument",
	};
	char *out;
	int code;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = su_run(bad[i], &code);
		cr_expect_eq(code, 2, "wgmon setup %s: exit %d\n%s", bad[i], code, out);
		free(out);
	}
	out = su_run("--help", &code);
	cr_expect_eq(code, 0);
	su_expect_has(out, "Usage: wgmon setup");
	free(out);
}
