#!/usr/bin/env bash
# Quick start, command 1: install what is missing (Debian packages), build, run the main job:
# a scenario in which a headset is plugged in and out while media plays, written to out/; then
# the same engine as a service: dynpcmd on the example speaker card, and unmodified aplay
# playing a tone through one of its FEs into a BE that records a WAV file.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target dynpcm_cli dynpcmd asound_module_ctl_dynpcm asound_module_pcm_dynpcm pcm_probe
echo
echo "== dynpcm run examples/scenarios/headset_plug.yaml --out out --trace out/trace.json =="
status=0
build/cli/dynpcm run examples/scenarios/headset_plug.yaml --out out --trace out/trace.json "$@" || status=$?

echo
echo "== dynpcmd out/speaker.yaml, and aplay through its FE 'Media' (hw:0,0) =="
# The card's playback BEs record into WAV files next to the card file: a copy in out/.
cp examples/daemon/speaker.yaml out/speaker.yaml
rm -f out/speaker.wav out/headphones.wav
build/plugin/pcm_probe tone out/tone.wav 1000 -6 2   # 2 s of 1 kHz at -6 dBFS
sock=$(mktemp -u "${TMPDIR:-/tmp}/dynpcm-quickstart-XXXXXX.sock")
build/daemon/dynpcmd out/speaker.yaml --socket "$sock" 2>out/dynpcmd.log &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
build/cli/dynpcm exec --socket "$sock" -- aplay -L | grep -A1 '^dynpcm_'
build/cli/dynpcm exec --socket "$sock" -- aplay -D hw:0,0 out/tone.wav || status=$?
kill "$daemon"
wait "$daemon" || status=$?
trap - EXIT
echo
echo "aplay played into the daemon's FE 'Media'; its BE 'Speaker' recorded out/speaker.wav:"
build/cli/dynpcm analyze out/speaker.wav || status=$?
echo
echo "What each back-end played:  out/Speaker_amp_I2S_playback.wav, out/Headset_codec_playback.wav"
echo "The run as a timeline:      out/trace.json (open it in https://ui.perfetto.dev or chrome://tracing)"
echo "The daemon's log:           out/dynpcmd.log"
echo "More scenarios:             ls examples/scenarios/   (docs/SCENARIO_FILE.md)"
echo "The card as a service:      docs/DAEMON.md (aplay, arecord, amixer, alsaucm through dynpcm exec)"
echo "An ALSA topology as a card: build/cli/dynpcm tplg info examples/topology/dsp.conf   (docs/TOPOLOGY.md)"
exit $status
