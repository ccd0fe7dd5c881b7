#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package wgmon builds, tests or runs with.
# Idempotent and quick: it does nothing when everything is already there.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config clang            # toolchain (clang: sanitizers, libFuzzer)
  libclang-rt-14-dev llvm                           # sanitizer/libFuzzer runtimes; llvm-symbolizer,
                                                    # without which TSan cannot match suppressions
  liburing-dev libhiredis-dev libck-dev             # the design card
  libcriterion-dev                                  # tests
  libinih-dev libmicrohttpd-dev libcurl4-openssl-dev # config, /metrics, webhooks
  zlib1g-dev libssl-dev                             # gzip for /metrics, HMAC for webhooks
  redis-server prometheus rsyslog tmux procps curl  # real parts the tests run
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
