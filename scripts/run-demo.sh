#!/usr/bin/env bash
# The main job (README quick start): installs what is missing, builds wgmon, and parses the
# sample corpus of kernel lines with `wgmon parse --stats`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
corpus=${1:-../shared/corpus/lines.txt}
[ -f "$corpus" ] || { ./build/tools/wgmon gen --lines 600 > build/sample.txt; corpus=build/sample.txt; }
./build/tools/wgmon parse --stats "$corpus"
