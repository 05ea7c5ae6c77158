#!/usr/bin/env bash
# Quick start, command 1: install what is missing (Debian packages), build, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target dynpcm_cli
echo
echo "== dynpcm demo: a playback PCM on the simulated DMA clock =="
exec build/cli/dynpcm demo "$@"
