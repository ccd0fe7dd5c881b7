#!/usr/bin/env bash
# tests/test_example_reader.sh — what `cmake --install` gives a machine, checked from outside:
#   install  install the build into a fresh prefix, check every file a deployment needs is
#            there, that the installed programs run, that the systemd units point into the
#            prefix and pass `systemd-analyze verify` (when it exists), and that the installed
#            rsyslog example is what `wgmon setup` writes;
#   reader   install likewise, compile docs/example-reader.c against the installed header,
#            library and pkg-config file only, and run it against a table that the installed
#            wgmond made from real lines; its peers must be those `wgmon show` lists.
# ctest runs both (tests/realworld.cmake) with WGMON_SRC, WGMON_BIN, and WGMON_TEST_CC /
# WGMON_TEST_CFLAGS (the build's compiler and sanitizer flags, so the libraries link).
set -euo pipefail
mode=${1:?usage: test_example_reader.sh install|reader}
: "${WGMON_SRC:?run through ctest}" "${WGMON_BIN:?run through ctest}"
cc=${WGMON_TEST_CC:-cc}
cflags=${WGMON_TEST_CFLAGS:-}

tmp=$(mktemp -d /tmp/wgmon-install-test.XXXXXX)
shm="/wgmon-test-reader-$$"
cleanup() {
	rm -f "/dev/shm${shm}"
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

prefix="$tmp/prefix"
cmake --install "$WGMON_BIN" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "cmake --install"; }
echo "installed $(grep -c '^-- Installing' "$tmp/install.log") files into $prefix"
pc=$(find "$prefix" -name wgmon-shm.pc | head -1)
[ -n "$pc" ] || fail "no wgmon-shm.pc installed"
libdir=$(dirname "$(dirname "$pc")")

check_install() {
	local f missing=0
	for f in bin/wgmon bin/wgmond bin/wgmon-redis bin/wgmon-metrics bin/wgmon-notify \
		lib/systemd/system/wgmond.service lib/systemd/system/wgmon-redis.service \
		lib/systemd/system/wgmon-metrics.service lib/systemd/system/wgmon-notify.service \
		lib/sysusers.d/wgmon.conf include/wgmon/shm/shm.h include/wgmon/parse/parse.h \
		share/doc/wgmon/README.md share/doc/wgmon/example-reader.c \
		share/doc/wgmon/examples/wgmon.conf.example \
		share/doc/wgmon/examples/rsyslog/60-wgmon.conf \
		share/doc/wgmon/examples/sysctl.d/60-wgmon.conf \
		share/doc/wgmon/examples/modprobe.d/wgmon-wireguard.conf \
		share/doc/wgmon/examples/docker/Dockerfile share/doc/wgmon/examples/docker/compose.yaml; do
		[ -e "$prefix/$f" ] || { echo "missing: $f" >&2; missing=1; }
	done
	for f in libwgmon_shm.a libwgmon_parse.a; do
		[ -e "$libdir/$f" ] || { echo "missing: $libdir/$f" >&2; missing=1; }
	done
	[ "$missing" -eq 0 ] || fail "files missing from the installation"
	for f in "$prefix"/bin/*; do
		"$f" --version >/dev/null || fail "$f --version"
	done
	echo "every expected file is installed; every program runs (--version)"

	for f in "$prefix"/lib/systemd/system/*.service; do
		grep -q "^ExecStart=$prefix/bin/" "$f" || fail "$f: ExecStart is not under $prefix"
	done
	if command -v systemd-analyze >/dev/null; then
		(cd "$prefix/lib/systemd/system" &&
			SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./*.service) \
			>"$tmp/verify.log" 2>&1 || { cat "$tmp/verify.log"; fail "systemd-analyze verify"; }
		[ ! -s "$tmp/verify.log" ] || { cat "$tmp/verify.log"; fail "systemd-analyze warned"; }
		echo "systemd-analyze verify: the 4 units are clean"
	else
		echo "SKIP (part): systemd-analyze is not installed: the units were not verified"
	fi
	"$prefix/bin/wgmon" setup --print rsyslog |
		cmp - "$prefix/share/doc/wgmon/examples/rsyslog/60-wgmon.conf" ||
		fail "installed 60-wgmon.conf differs from 'wgmon setup --print rsyslog'"
}

check_reader() {
	local out peers shown
	# Only the installed files: no include or library path into the source or build tree.
	# shellcheck disable=SC2046,SC2086
	"$cc" -std=gnu11 -Wall -Wextra -Werror -O1 $cflags \
		"$prefix/share/doc/wgmon/example-reader.c" \
		$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs wgmon-shm) \
		-o "$tmp/example-reader" || fail "compiling example-reader.c against $prefix"
	echo "example-reader.c compiled against the installed wgmon-shm ($("$cc" --version | head -1))"

	"$prefix/bin/wgmon" gen --lines 600 --peers 40 --ifaces 3 --hosts 2 --seed 7 \
		--envelope mix >"$tmp/lines.txt"
	"$prefix/bin/wgmond" --shm "$shm" --source "file:$tmp/lines.txt" --exit-on-eof \
		--capacity 4096 --event-ring 1024 --workers 2 2>"$tmp/wgmond.log" ||
		{ cat "$tmp/wgmond.log"; fail "wgmond"; }

	out=$("$tmp/example-reader" "$shm" 4) || fail "example-reader exited $?"
	echo "$out" | head -4
	echo "$out" | tail -5
	peers=$(echo "$out" | sed -n 's/^\([0-9]*\) peers listed$/\1/p')
	shown=$("$prefix/bin/wgmon" show --shm "$shm" --tsv | tail -n +2 | wc -l)
	[ -n "$peers" ] && [ "$peers" -gt 0 ] || fail "the reader listed no peers"
	[ "$peers" -eq "$shown" ] || fail "the reader lists $peers peers, wgmon show $shown"
	echo "$out" | head -1 | grep -q "ABI [0-9]*, generation 1, .* $peers peers, 600 lines" ||
		fail "unexpected header line"
	[ "$(echo "$out" | grep -c '^event ')" -eq 4 ] || fail "expected the 4 newest events"
	echo "example-reader: $peers peers, as wgmon show lists them; the 4 newest events"
}

case $mode in
install) check_install ;;
reader) check_reader ;;
*) fail "unknown mode $mode" ;;
esac
echo PASS
