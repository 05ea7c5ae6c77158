#!/usr/bin/env bash
# Malformed scenarios: `dynpcm run` exits 2 with a message naming the file, the line and the
# bad value. A scenario whose expectation fails exits 1.
set -u
dynpcm=$1
root=$2
dir=$3
mkdir -p "$dir"
card=$root/examples/cards/phone.yaml
failures=0

# expect CODE PATTERN FILE-CONTENT: writes the scenario, runs it, checks the exit code and output.
expect() {
    local code=$1 pattern=$2 text=$3
    local file=$dir/case$((++n)).yaml
    printf '%s\n' "$text" > "$file"
    local out rc
    out=$("$dynpcm" run "$card" "$file" 2>&1)
    rc=$?
    if [[ $rc -ne $code ]]; then
        echo "FAIL case $n: exit $rc, wanted $code"; echo "$out" | tail -5; failures=$((failures + 1)); return
    fi
    if ! grep -qF -- "$pattern" <<<"$out"; then
        echo "FAIL case $n: output lacks '$pattern':"; echo "$out" | tail -5; failures=$((failures + 1)); return
    fi
    echo "ok   case $n: exit $code, '$pattern'"
}
n=0

expect 2 "case1.yaml:2:1: YAML syntax error" 'scenario: [unclosed'
expect 2 "case2.yaml:3: step has no action: 'strat' is not one (did you mean 'start'?)" 'scenario: x
steps:
  - {at: 0, strat: Media Playback}'
expect 2 "case3.yaml:4: card 'Phone' has no FE link 'Media Playbak' (did you mean 'Media Playback'?)" 'scenario: x
steps:
  - {at: 0, open: Media Playback}
  - {at: 0, start: Media Playbak}'
expect 2 "case4.yaml:3: card 'Phone' has no control 'PRI_MI2S_RX Audio Mixer MultiMedia9'" 'scenario: x
steps:
  - {set: {PRI_MI2S_RX Audio Mixer MultiMedia9: on}}'
expect 2 "case5.yaml:3: at: -1 s is out of range" 'scenario: x
steps:
  - {at: -1, dump: now}'
expect 2 "case6.yaml:3: params: unknown format 'S17_LE'" 'scenario: x
steps:
  - {open: Media Playback, params: {format: S17_LE}}'
expect 2 "case7.yaml:3: expect: 'RUNING' is not a PCM state" 'scenario: x
steps:
  - {expect: {fe: Media Playback, state: RUNING}}'
expect 2 "case8.yaml:3: write needs exactly one of tone, noise, silence, wav" 'scenario: x
steps:
  - {write: Media Playback, tone: {frequency: 440}, noise: {level: -20}}'
expect 2 "case9.yaml:3: inject: fault 'gon' is not one of xrun, gone, trigger (did you mean 'gone'?)" 'scenario: x
steps:
  - {inject: {be: Speaker amp I2S, fault: gon}}'
expect 2 "case10.yaml:3: a step has one action" 'scenario: x
steps:
  - {start: Media Playback, stop: Media Playback}'
expect 2 "case11.yaml:3: card 'Phone' has no BE link 'Speakr amp I2S' (did you mean 'Speaker amp I2S'?)" 'scenario: x
steps:
  - {expect: {be: Speakr amp I2S, state: START}}'
expect 2 "case12.yaml:3: write: cannot read WAV file" 'scenario: x
steps:
  - {write: Media Playback, wav: no-such-file.wav}'
expect 2 "case13.yaml:1: a scenario is a mapping" '[]'
rm -f "$dir/case13.yaml"
out=$("$dynpcm" run "$card" "$dir/case13.yaml" 2>&1); rc=$?
if [[ $rc -eq 2 && $out == *"cannot open"* ]]; then echo "ok   missing file: exit 2"; else echo "FAIL missing file: $rc $out"; failures=$((failures + 1)); fi
# A well-formed scenario whose expectation does not hold: exit 1, and the line is named.
expect 1 "case14.yaml:4: FE Media Playback/playback is XRUN (it is PREPARED)" 'scenario: x
steps:
  - {open: Media Playback, params: {rate: 48000, channels: 2}}
  - {at: 0.2, expect: {fe: Media Playback, state: XRUN}}
  - {write: Media Playback, tone: {frequency: 440}, duration: 1}'

# Clock domains and lost frames: a crystal changed on a BE that has none of its own, a drift or
# lost expectation missing what it needs, a THD+N window too short to measure.
expect 2 "case15.yaml:3: clock: BE 'Speaker amp I2S' runs on the engine's clock" 'scenario: x
steps:
  - {at: 0, clock: {be: Speaker amp I2S, ppm: 100}}'
expect 2 "case16.yaml:3: clock: unknown key 'wandr' (did you mean 'wander'?)" 'scenario: x
steps:
  - {at: 0, clock: {be: Speaker amp I2S, wandr: 100}}'
expect 2 "case17.yaml:3: expect lost: say frames, at_least or at_most" 'scenario: x
steps:
  - {at: 0, expect: {lost: {fe: Media Playback}}}'
expect 2 "case18.yaml:3: expect drift: be is missing" 'scenario: x
steps:
  - {at: 0, expect: {drift: {fe: Media Playback}}}'
expect 2 "case19.yaml:3: expect audio: thd_n needs a window of at least 0.35 s" 'scenario: x
steps:
  - {at: 0, expect: {audio: {be: Speaker amp I2S, thd_n: -80, window: 0.2}}}'

if [[ $failures -ne 0 ]]; then echo "$failures case(s) failed"; exit 1; fi
echo "all cases passed"
