#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds wgmon three times —
# plain (gcc), ASan+UBSan with the libFuzzer drivers (clang), TSan (clang) — and runs every
# test in each. Fuzzing is bounded: WGMON_FUZZ_SECONDS per driver (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh

jobs=$(nproc)
fuzz_seconds=${WGMON_FUZZ_SECONDS:-30}
configure_and_build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}

echo "== plain build (gcc)"
configure_and_build build
ctest --test-dir build --output-on-failure -LE fuzz$

echo "== ASan+UBSan build (clang), fuzz drivers for ${fuzz_seconds}s each"
configure_and_build build-asan -DCMAKE_C_COMPILER=clang -DWGMON_SANITIZE=address \
  -DWGMON_FUZZ=ON -DWGMON_FUZZ_SECONDS="$fuzz_seconds"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure

# Criterion cannot start under TSan (its arena setup aborts), so the concurrent parts — rings,
# table, event ring, reader retry, the sinks' threads — have plain test programs labelled "tsan".
echo "== TSan build (clang): the concurrent parts"
configure_and_build build-tsan -DCMAKE_C_COMPILER=clang -DWGMON_SANITIZE=thread
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -L tsan
