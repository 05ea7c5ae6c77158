#!/usr/bin/env bash
# End-to-end tests of topology input: `dynpcm tplg info|dump`, `--tplg FILE [--overlay FILE]` on
# the card commands, and bad topology files, which must exit 2 with the byte offset named.
#
#   tplg_test.sh DYNPCM TMPDIR WAV_TOOL SOURCE_DIR
#
# Prints one line per check and exits 1 if any failed.

set -u

DYNPCM=${1:?usage: tplg_test.sh DYNPCM TMPDIR WAV_TOOL SOURCE_DIR}
TMP=${2:?usage}
WAVTOOL=${3:?usage}
ROOT=${4:?usage}
EX=$ROOT/examples/topology
BDW=/usr/share/alsa/topology/broadwell/broadwell.conf

rm -rf "$TMP"
mkdir -p "$TMP" || exit 1
command -v alsatplg >/dev/null || { echo "FAIL: alsatplg (alsa-utils) is not installed"; exit 1; }

source "$(dirname "$0")/cli_lib.sh"

# expect NAME WANT_RC TEXT...: the last run exited WANT_RC and its output holds each TEXT.
expect() {
    local name=$1 want=$2
    shift 2
    if [[ $RC -ne $want ]]; then
        fail "$name: exit $RC, wanted $want"
        show "$LAST_RUN"
        return
    fi
    local t
    for t in "$@"; do
        if ! grep -qF -- "$t" <<<"$OUT$ERR"; then
            fail "$name: output lacks '$t'"
            show "$LAST_RUN"
            return
        fi
    done
    pass "$name"
}

# patch FILE OFFSET BYTES: overwrites bytes (printf escapes) at a decimal offset.
patch() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

alsatplg -c "$EX/dsp.conf" -o "$TMP/dsp.tplg" 2>/dev/null || { fail "alsatplg cannot compile dsp.conf"; exit 1; }
TPLG=(--tplg "$EX/dsp.conf" --overlay "$EX/dsp-overlay.yaml")

# ---- tplg info / dump
run info_json tplg info "$TMP/dsp.tplg" --json
expect "tplg info --json: the keys and counts" 0 '"abi": 5' '"widgets": 8' '"routes": 10' '"controls": 6' \
    '"pcms": [' '"Media PCM"' '"Capture PCM"' '"be_links": [' '"Speaker"' '"Headset"'
run info_conf tplg info "$EX/dsp.conf"
expect "tplg info compiles a .conf" 0 "ALSA topology, ABI 5" "PCMs       3: Media PCM, Voice PCM, Capture PCM" \
    "BE links   2: Speaker, Headset" "DAIs       1: SSP0 Pin" "private    3 objects"
run dump tplg dump "$TMP/dsp.tplg"
expect "tplg dump lists objects, tuples and configs" 0 "0x0224 dapm widget" "token 102 (string) = 'eq-iir'" \
    "'Master Volume' ops 1/256/256 min 0 max 127 channels 2 dB -64.00 step 0.50 mute" \
    "enum 'Capture Mux' ops 4/257/257 items [Headset Mic, DMIC]" \
    "hw config 1 (default): I2S bclk codec consumer fsync codec consumer" "Capture Mux, Headset Mic, SSP1.IN" \
    "flags: symmetric_rates on"
if [[ -r $BDW ]]; then
    run info_bdw tplg info "$BDW" --json
    expect "tplg info on Debian's broadwell.conf" 0 '"widgets": 5' '"routes": 6' '"controls": 4' \
        '"System Playback/Capture"' '"Loopback PCM"' '"Codec"'
else
    echo "skip: $BDW is missing (package alsa-topology-conf)"
fi

# ---- --tplg on the card commands
run check "check" "${TPLG[@]}" -v
expect "check --tplg --overlay" 0 "card 'dsp-demo' is valid: 23 widgets, 21 routes (0 stream bindings and 0 DAI link connections the card made), 9 controls, 3 FE links, 3 BE links, 1 component" \
    "FE 'Media PCM' PCM device 3" \
    "note: $EX/dsp.conf: 3 objects carry vendor-private data" \
    "BE 'Speaker' id 0 cpu_dai 'SSP0 Pin', fixup S24_LE 48000 Hz 2 ch, I2S (BCLK from the CPU, FSYNC from the CPU, TDM 2x32), 'Amp Playback' S16_LE|S24_LE 48000 Hz 2 ch" \
    "BE 'Headset' id 1, fixup S16_LE 48000 Hz 2 ch, DSP_A (BCLK from the codec, FSYNC from the codec, TDM 4x16)"
run check_quiet check "${TPLG[@]}"
if grep -qF "vendor-private data" <<<"$OUT$ERR"; then fail "the private-data note shows only with -v"; show check_quiet
else pass "the private-data note shows only with -v"; fi
run check_bare check --tplg "$TMP/dsp.tplg"
expect "check --tplg without an overlay warns of unmatched configs" 0 "card 'dsp' is valid" \
    "link config id 0 'Speaker' matches no BE link" "DAI config 'SSP0 Pin' matches no BE link"
run ctl ctl list --json "${TPLG[@]}"
expect "ctl list --tplg" 0 '"name": "Master Volume"' '"name": "Media Mixer Media"' '"name": "Capture Mux"' \
    '"name": "EQ EQ Coefficients"'
run routes routes "${TPLG[@]}" --set 'Media Mixer Media=on' --set 'Capture Mux=DMIC'
expect "routes --tplg --set" 0 "Media PCM/playback               -> Headset, Speaker" \
    "Capture PCM/capture              -> DMIC"
run graph graph "${TPLG[@]}"
expect "graph --tplg" 0 "digraph" 'label="Media Mixer' 'label="FE Media PCM\nMedia Playback'
run scenario run "${TPLG[@]}" "$EX/dsp-scenario.yaml" --quiet --out "$TMP/out"
expect "run --tplg SCENARIO" 0 "PASS: 13 of 13 expectations hold"
"$WAVTOOL" tone "$TMP/tone.wav" 48000 2 0.5 1000 -6 >/dev/null || fail "cannot write a test tone"
run play play "${TPLG[@]}" --fe 'Media PCM' --set 'Media Mixer Media=on' "$TMP/tone.wav"
expect "play --tplg" 0 "Headset" "Speaker"
if [[ -r $BDW ]]; then
    run routes_bdw routes --tplg "$BDW" --overlay "$EX/broadwell-overlay.yaml"
    expect "routes on broadwell.conf with its overlay" 0 "System Playback/Capture/playback -> Codec" \
        "System Playback/Capture/capture  -> Codec" "Offload0 Playback/playback       -> Codec" \
        "Loopback PCM/capture             -> (no BE)"
fi

SKL=/usr/share/alsa/topology/sklrt286/skl_i2s.conf
if [[ -r $SKL ]]; then
    run skl_bare check --tplg "$SKL"
    expect "skl_i2s.conf alone: its FE streams come from the platform driver" 1 \
        "route 1 (media0_in cpr 0, , System Playback): unknown source widget 'System Playback' (a DAI stream of a link"
    run skl routes --tplg "$SKL" --overlay "$EX/skl-rt286-overlay.yaml" --set 'codec0_out mo media0_in mi Switch=on' \
        --set 'media0_out mo dmic01_hifi_in mi Switch=on'
    expect "skl_i2s.conf with FE and BE links from its overlay" 0 "System Pin/playback              -> SSP0-Codec" \
        "System Pin/capture               -> dmic01" "HDMI2 Pin/playback               -> iDisp2" \
        "HDMI3 Pin/playback               -> iDisp1"
fi

# ---- SOF-style topologies: BE links from the DAI widgets, strstr stream matching
SOF=$ROOT/tests/data/sof-style.conf
run sof check --tplg "$SOF"
expect "a SOF-style topology loads without an overlay" 0 "card 'sof-style' is valid" \
    "2 BE links made from the topology's DAI widgets" "NoCodec-0, NoCodec-1" \
    "BE 'NoCodec-0' id 0 cpu_dai 'SSP0.OUT', fixup S24_LE 48000 Hz 2 ch" "BE 'NoCodec-1' id 1 cpu_dai 'DMIC0.IN', fixup S32_LE 16000 Hz 4 ch" \
    "FE 'DMIC14' PCM device 14" \
    "widget 'PCM14C' (component 'platform') (stream 'Passthrough Capture 14') is bound to DAI stream 'Passthrough Capture 1'" \
    "widget 'PCM9C' (component 'platform'): stream 'Passthrough Capture 9' is the stream of no DAI in its component; left unbound"
run sof_routes routes --tplg "$SOF"
expect "SOF routes: the kernel's substring match reaches an extra BE" 0 "  0 Port0/playback                   -> NoCodec-0" \
    "  1 Port1/capture                    -> NoCodec-0, NoCodec-1" " 14 DMIC14/capture                   -> NoCodec-1"
printf 'stream_match: exact\n' >"$TMP/exact.yaml"
run sof_exact routes --tplg "$SOF" --overlay "$TMP/exact.yaml"
expect "SOF routes with stream_match: exact" 0 "  1 Port1/capture                    -> NoCodec-0"
if grep -qF "Port1/capture                    -> NoCodec-0, NoCodec-1" <<<"$OUT"; then fail "exact matching leaves the extra BE out"; fi

# ---- what scripts read: JSON in the card's order
run routes_json routes "$ROOT/examples/cards/phone.yaml" --json
expect "routes --json has each FE's device and BEs" 0 '"device": 0' '"bes": ['
if [[ $(grep -o '"[^"]*/playback"\|"[^"]*/capture"' <<<"$OUT" | head -1) != '"Media Playback/playback"' ]]; then
    fail "routes --json keeps the card's FE order"; show routes_json
else pass "routes --json keeps the card's FE order"; fi
run info_widgets tplg info --json "$SOF"
expect "tplg info --json: widget types, stream names, link ids" 0 '"type": "dai_in"' '"stream": "NoCodec-0"' '"stream_name": ""' '"id": 14'
run dump_json tplg dump --json "$SOF"
expect "tplg dump --json" 0 '"hw_configs": [' '"tdm_slots": 4' '"sink": "SSP0.OUT"' '"type": "aif_out"'
run ctl_list_card ctl list "$ROOT/examples/cards/phone.yaml"
expect "ctl list CARD" 0 "'SLIMBUS_0_RX Audio Mixer MultiMedia1'" "pcm=0      'Media Playback' playback"
run ctl_card_list ctl "$ROOT/examples/cards/phone.yaml" list
expect "ctl CARD list" 0 "'SLIMBUS_0_RX Audio Mixer MultiMedia1'"
run ctl_verb ctl "$ROOT/examples/cards/phone.yaml" frob
expect "ctl with an unknown verb" 2 "ctl: unknown verb 'frob'"

# ---- one mistake, one error: a misspelt overlay key does not bury itself under its consequences
sed 's/^be_links:/be_link:/' "$EX/dsp-overlay.yaml" >"$TMP/typo.yaml"
run typo check --tplg "$EX/dsp.conf" --overlay "$TMP/typo.yaml"
expect "a misspelt overlay key" 1 "unknown key 'be_link' (did you mean 'be_links'?)" "routes name widgets that are missing, probably because of the error above" "2 errors"
if grep -qF "unknown source widget" <<<"$OUT$ERR"; then fail "no follow-on route errors"; show typo; else pass "no follow-on route errors"; fi

# ---- a scenario step that must fail
cat >"$TMP/fails.yaml" <<'YAML'
scenario: a prepare with no BE routed fails
steps:
  - {at: 0, open: Media PCM}
  - {configure: Media PCM, params: {format: S16_LE, rate: 48000, channels: 2, period: 1024, periods: 4}, fails: EINVAL}
YAML
run fails run "${TPLG[@]}" "$TMP/fails.yaml"
expect "fails: EINVAL holds when the step fails so" 0 "✓ expect configure fails with EINVAL: it did" "PASS: 2 of 2"
sed 's/fails: EINVAL/fails: EBUSY/' "$TMP/fails.yaml" >"$TMP/fails2.yaml"
run fails2 run "${TPLG[@]}" "$TMP/fails2.yaml"
expect "fails: EBUSY does not hold for an EINVAL" 1 "configure fails with EBUSY: it failed otherwise" "[EINVAL]"
sed 's/, fails: EINVAL//; s/^  - {at: 0, open: Media PCM}/  - {at: 0, set: {Media Mixer Media: on}}\n  - {open: Media PCM}/' "$TMP/fails.yaml" >"$TMP/fails3.yaml"
printf '  - {prepare: Media PCM, fails: true}\n' >>"$TMP/fails3.yaml"
run fails3 run "${TPLG[@]}" "$TMP/fails3.yaml"
expect "fails: true does not hold for a step that succeeds" 1 "prepare fails: it succeeded"
printf 'scenario: x\nsteps:\n  - {at: 0, open: Media PCM, fails: ENOPE}\n' >"$TMP/fails4.yaml"
run fails4 run "${TPLG[@]}" "$TMP/fails4.yaml"
expect "fails: an unknown errno" 2 "fails4.yaml:3: fails: 'ENOPE' is no errno dynpcm reports"

# ---- play --out records what each BE received
run play_out play "${TPLG[@]}" --fe 'Media PCM' --set 'Media Mixer Media=on' --out "$TMP/play_out" "$TMP/tone.wav"
expect "play --out" 0 "wrote $TMP/play_out/Speaker_playback.wav" "wrote $TMP/play_out/Headset_playback.wav"
if [[ $(stat -c %s "$TMP/play_out/Speaker_playback.wav" 2>/dev/null || echo 0) -gt 40000 ]]; then pass "play --out wrote the audio"
else fail "play --out wrote the audio"; fi

# ---- usage
run both check "$ROOT/examples/cards/phone.yaml" --tplg "$TMP/dsp.tplg"
expect "a card file and --tplg together" 2 "give either a card file"
run none check
expect "no card at all" 2 "no card: give a card file, or --tplg FILE"
run overlay_alone check "$ROOT/examples/cards/phone.yaml" --overlay "$EX/dsp-overlay.yaml"
expect "--overlay needs --tplg" 2 "--overlay requires --tplg"
run run_both run "$ROOT/examples/cards/phone.yaml" "$EX/dsp-scenario.yaml" --tplg "$TMP/dsp.tplg"
expect "run with a card file and --tplg" 2 "give either a card file"

# ---- bad topology files: exit 2 (tplg) or 1 (check, an invalid card), the byte offset named
head -c 20 "$TMP/dsp.tplg" >"$TMP/short.tplg"
run short tplg info "$TMP/short.tplg"
expect "shorter than a header" 2 "short.tplg: offset 0x0: truncated: 20 bytes"
head -c 3000 "$TMP/dsp.tplg" >"$TMP/cut.tplg"
run cut tplg info "$TMP/cut.tplg"
expect "truncated inside a block" 2 "cut.tplg: offset 0x23c (block 2, dapm widget): payload size 4236 overruns the file"
cp "$TMP/dsp.tplg" "$TMP/magic.tplg" && patch "$TMP/magic.tplg" 0 'XXXX'
run magic tplg dump "$TMP/magic.tplg"
expect "bad magic" 2 "magic.tplg: offset 0x0: bad magic 0x58585858"
cp "$TMP/dsp.tplg" "$TMP/abi.tplg" && patch "$TMP/abi.tplg" 156 '\x07'
run abi check --tplg "$TMP/abi.tplg"
expect "unsupported ABI in the second block" 1 "abi.tplg: offset 0x9c (block 1, mixer): unsupported ABI version 7"
cp "$TMP/dsp.tplg" "$TMP/count.tplg" && patch "$TMP/count.tplg" $((0x224 + 32)) '\x09'
run count tplg info "$TMP/count.tplg"
expect "count larger than the elements" 2 "count.tplg: offset 0x12d4" "count 9 but the payload (4236 bytes) ends after 8 widgets"
cp "$TMP/dsp.tplg" "$TMP/noterm.tplg"
patch "$TMP/noterm.tplg" $((0x248 + 8)) 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
run noterm tplg info "$TMP/noterm.tplg"
expect "unterminated widget name" 2 "noterm.tplg: offset 0x250 (block 2, dapm widget, widget 0): widget name is not terminated within its 44 bytes"
run zero tplg info /dev/zero
expect "a device that never ends" 2 "/dev/zero: more than 64 MiB: not a topology file"
run dir tplg info "$TMP"
expect "a directory" 2 "it is a directory, not a topology file"
printf 'SectionWidget."X" {\n\ttype "nonsense"\n}\n' >"$TMP/bad.conf"
run badconf tplg info "$TMP/bad.conf"
expect "a .conf that alsatplg rejects" 2 "bad.conf: alsatplg failed" "nonsense"
DYNPCM_ALSATPLG=/nonexistent/alsatplg run noalsatplg tplg info "$EX/dsp.conf"
expect "alsatplg missing" 2 "cannot run '/nonexistent/alsatplg'"
printf 'be_links:\n  - {name: Speaker, id: 0, playbak: {stream: X}}\n' >"$TMP/overlay.yaml"
run bad_overlay check --tplg "$EX/dsp.conf" --overlay "$TMP/overlay.yaml"
expect "a bad overlay names its line" 1 "overlay.yaml:2: be_link 1: unknown key 'playbak' (did you mean 'playback'?)"
printf 'routes:\n  - [Amp Playback, ~, SSP9.OUT]\n' >"$TMP/route.yaml"
run bad_route check --tplg "$EX/dsp.conf" --overlay "$TMP/route.yaml"
expect "an overlay route to an unknown widget" 1 "route.yaml:2: route 1: unknown sink widget 'Amp Playback'"

finish tplg_test.sh
