#!/usr/bin/env bash
# tests/fresh-machine.sh — the README's two commands on a fresh Debian 12: debootstraps a
# minimal bookworm root file system into build/fresh-root, copies the repository in (git
# archive), and runs ./scripts/run-demo.sh then ./scripts/run-tests.sh inside a chroot.
#
# It needs root and the Debian package network, and takes a long while (three builds and every
# test on the machine's cores), so it runs on request, never in CI:
#
#   sudo tests/fresh-machine.sh [--worktree] [--no-shared] [--fresh] [--demo-only]
#
#   --root DIR     root file system to use (default: build/fresh-root in the repository)
#   --mirror URL   Debian mirror (default: $DEBIAN_MIRROR, else http://deb.debian.org/debian)
#   --fresh        debootstrap again even if DIR holds a finished one (default: reuse it, but
#                  every run gets a fresh copy of the repository)
#   --worktree     copy the working tree (tracked and untracked files, .gitignore respected)
#                  instead of `git archive HEAD`
#   --no-shared    do not copy ../shared (the specs and corpus the tests read) beside the copy
#   --dir PATH     where the copy goes inside the chroot (default /root/wgmon, as a user who
#                  clones as root gets it; ../shared goes beside it)
#   --demo-only    run only ./scripts/run-demo.sh
#   --preinstall P apt-get install these packages (comma-separated) first: to look past a gap
#                  in scripts/deps.sh once found (the run then proves less; it says so)
#   --timeout S    bound of each command in seconds (default 14400)
#
# Inside the chroot only proc, sys and dev are mounted (dev bound from the host, so /dev/shm is
# the host's); they are unmounted on exit, whatever happens, and any process still running
# with the chroot as its root is killed by pid. A policy-rc.d keeps the packages it installs
# (redis-server, rsyslog) from starting services in the chroot. Exit code 0 only when every
# command passed; the logs are in build/fresh-logs/.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root="$repo/build/fresh-root"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fresh=0 worktree=0 shared=1 demo_only=0 bound=14400 preinstall= dir=/root/wgmon
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$(realpath -m "$2"); shift ;;
	--mirror) mirror=$2; shift ;;
	--fresh) fresh=1 ;;
	--worktree) worktree=1 ;;
	--no-shared) shared=0 ;;
	--dir) dir=$2; shift ;;
	--demo-only) demo_only=1 ;;
	--preinstall) preinstall=${2//,/ }; shift ;;
	--timeout) bound=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "fresh-machine: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

logs="$repo/build/fresh-logs"
say() { printf '[fresh-machine %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v git >/dev/null || die "git is missing"
case $root in /|/usr|/usr/*|/etc|/etc/*|/bin|/sbin|/lib*|/var|/root|/home) die "refusing --root $root" ;; esac
case $dir in /?*/?*) ;; *) die "--dir needs an absolute path two levels deep (e.g. /srv/wgmon)" ;; esac
shared_dir="$(dirname "$dir")/shared"
mkdir -p "$logs"

# ---- mounts, and their undoing ---------------------------------------------------------------
mounted=()
cleanup() {
	local pid r
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		r=$(readlink "/proc/$pid/root" 2>/dev/null || true)
		if [ "$r" = "$root" ]; then
			say "killing pid $pid still running in the chroot"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" 2>/dev/null ||
			say "could not unmount ${mounted[$i]}"
	done
	mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_in() { # type|--rbind source target
	mkdir -p "$3"
	if [ "$1" = --rbind ]; then
		mount --rbind "$2" "$3"
		mount --make-rslave "$3"
	else
		mount -t "$1" "$2" "$3"
	fi
	mounted+=("$3")
}

# Refuse to debootstrap over anything mounted (a previous run killed before its trap ran).
if grep -q " $root/" /proc/mounts; then
	die "something is still mounted under $root: umount -R it first"
fi

# ---- the root file system ----------------------------------------------------------------------
if [ "$fresh" -eq 1 ] || [ ! -f "$root/.wgmon-debootstrap-done" ]; then
	say "debootstrap bookworm (minbase) into $root from $mirror"
	rm -rf "$root"
	mkdir -p "$root"
	start=$SECONDS
	timeout "$bound" debootstrap --variant=minbase bookworm "$root" "$mirror" \
		>"$logs/debootstrap.log" 2>&1 || { tail -20 "$logs/debootstrap.log"; die "debootstrap"; }
	touch "$root/.wgmon-debootstrap-done"
	say "debootstrap done in $((SECONDS - start)) s"
else
	say "reusing the Debian 12 root file system in $root (--fresh to rebuild it)"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\n# fresh-machine.sh: no service starts inside the chroot\nexit 101\n' \
	>"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# ---- the repository, as a user would get it ---------------------------------------------------
rm -rf "$root$dir" "$root$shared_dir"
mkdir -p "$root$dir"
if [ "$worktree" -eq 1 ]; then
	say "copying the working tree (tracked + untracked, .gitignore respected)"
	(cd "$repo" && git ls-files -z -c -o --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$root$dir"
else
	say "git archive HEAD ($(git -C "$repo" rev-parse --short HEAD))"
	git -C "$repo" archive --format=tar HEAD | tar -xf - -C "$root$dir"
fi
if [ "$shared" -eq 1 ] && [ -d "$repo/../shared" ]; then
	say "copying ../shared beside it (specs and corpus the tests read)"
	cp -a "$repo/../shared" "$root$shared_dir"
fi

# ---- run the README's commands -----------------------------------------------------------------
mount_in proc proc "$root/proc"
mount_in sysfs sysfs "$root/sys"
mount_in --rbind /dev "$root/dev"

run_in_chroot() { # name command
	local name=$1 cmd=$2 start rc
	say "chroot: $cmd (bounded by ${bound}s, log $logs/$name.log)"
	start=$SECONDS
	set +e
	# In the background and waited for, so that a signal runs the traps at once.
	timeout --kill-after=30 "$bound" chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
		LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash -c "cd '$dir' && $cmd" >"$logs/$name.log" 2>&1 &
	wait $!
	rc=$?
	set -e
	tail -15 "$logs/$name.log" | sed "s/^/  $name| /"
	say "$name: exit $rc after $((SECONDS - start)) s"
	return $rc
}

status=0
if [ -n "$preinstall" ]; then
	say "NOT a clean run: installing $preinstall before the README's commands (--preinstall)"
	run_in_chroot preinstall "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $preinstall" || die "--preinstall"
fi
run_in_chroot demo ./scripts/run-demo.sh || status=1
if [ "$demo_only" -eq 0 ]; then
	run_in_chroot tests ./scripts/run-tests.sh || status=1
fi
if [ "$status" -eq 0 ] && [ -n "$preinstall" ]; then
	say "PASS, but only with --preinstall $preinstall: scripts/deps.sh misses it"
elif [ "$status" -eq 0 ]; then
	say "PASS: the README's commands work on a fresh Debian 12"
else
	say "FAIL: see $logs"
fi
exit $status
