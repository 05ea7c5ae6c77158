#!/usr/bin/env bash
# Quick start, command 1: install what is missing (Debian packages), build, run the main job:
# a scenario in which a headset is plugged in and out while media plays, written to out/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target dynpcm_cli
echo
echo "== dynpcm run examples/scenarios/headset_plug.yaml --out out --trace out/trace.json =="
status=0
build/cli/dynpcm run examples/scenarios/headset_plug.yaml --out out --trace out/trace.json "$@" || status=$?
echo
echo "What each back-end played:  out/Speaker_amp_I2S_playback.wav, out/Headset_codec_playback.wav"
echo "The run as a timeline:      out/trace.json (open it in https://ui.perfetto.dev or chrome://tracing)"
echo "More scenarios:             ls examples/scenarios/   (docs/SCENARIO_FILE.md)"
echo "An ALSA topology as a card: build/cli/dynpcm tplg info examples/topology/dsp.conf   (docs/TOPOLOGY.md)"
exit $status
