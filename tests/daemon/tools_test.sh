#!/usr/bin/env bash
# dynpcmd driven by the real alsa-utils tools through `dynpcm exec`, unmodified: amixer (info,
# contents, cset/cget on switches, volumes in dB and enums, events), alsactl monitor, and
# alsaucm with Debian's stock UCM profiles for the example machines, each checked against the
# daemon's own view (routes, dump, top). Every daemon runs on a socket in a temporary directory
# with a private HOME and XDG_RUNTIME_DIR, and is stopped by its PID; its exit code is checked
# (under ASan a leak at shutdown makes it non-zero).
#
#   tools_test.sh DYNPCM DYNPCMD TMPDIR SOURCE_DIR
set -uo pipefail
DYNPCM=$1 DYNPCMD=$2 TMP=$3 SRC=$4
rm -rf "$TMP" && mkdir -p "$TMP/home" "$TMP/run" && chmod 700 "$TMP/run"
# shellcheck source=../cli/cli_lib.sh
source "$SRC/tests/cli/cli_lib.sh"
# Nothing of the machine's or the user's ALSA setup: the child's configuration is exec's own.
export HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run"
unset ALSA_CONFIG_PATH ALSA_CONFIG_UCM2 DYNPCM_SOCKET ALSA_CARD ALSA_CTL_CARD
# A user's own default card elsewhere: exec must win over it without touching the file.
printf 'ctl.!default { type hw card 7 }\n' >"$HOME/.asoundrc"
for tool in amixer alsaucm alsactl stdbuf; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (scripts/install-deps.sh installs alsa-utils)"; exit 1; }
done

# shellcheck source=daemon_lib.sh
source "$SRC/tests/daemon/daemon_lib.sh"

# ---- the phone card with amixer ---------------------------------------------------------------
start phone "$SRC/examples/cards/phone.yaml" || finish tools_test.sh
x info amixer -D hw:0 info
expect_out "Card hw:0 'Phone'/'Phone'" "amixer info: the card's identity"
expect_out "Controls      : 38" "amixer info: every control"
x contents amixer contents
expect_out "numid=27,iface=MIXER,name='Speaker PGA Volume'" "amixer contents (default card)"
expect_out "| dBscale-min=-63.50dB,step=0.50dB,mute=1" "amixer contents: the dB scale as TLV"
expect_out "; Item #4 'Bluetooth'" "amixer contents: enum items"

expect_route "Media Playback/playback" "Speaker amp I2S" "before: media plays on the speaker"
x cset_switch amixer -q cset name='SLIMBUS_0_RX Audio Mixer MultiMedia1' on
expect_route "Media Playback/playback" "Headset codec, Speaker amp I2S" "amixer cset on a routing switch re-routes"
# dB goes through the simple mixer and the TLV (alsa-lib's cset parser takes no dB, for any card).
x sset_db amixer -- sset 'Speaker PGA' -6dB
expect_out "115 [91%] [-6.00dB]" "amixer sset in dB: -6 dB is 115 on the TLV's -63.5 dB + 0.5 dB scale"
x cget_db amixer cget name='Speaker PGA Volume'
expect_out ": values=115" "amixer cget reads what sset wrote"
x cset_enum amixer -D hw:0 cset name='Voice Call Mode' Headset
expect_out ": values=2" "amixer cset of an enum by item name"
run ctl_get ctl --socket "$SOCK" get 'Voice Call Mode'
expect_out "Voice Call Mode = Headset" "dynpcm ctl --socket sees what amixer set"
x cget amixer -D hw:Phone cget name='EAR PA Volume'
expect_out ": values=5" "amixer cget on hw:<card id>"
# (amixer clamps values to the element's range itself; the daemon's -EINVAL for an out-of-range
# write is in test_daemon.)
x unknown amixer cset name='Headfone Switch' on
((RC != 0)) && pass "an unknown control: refused" || fail "unknown control accepted"
x other_card amixer -D hw:3 info
if ((RC != 0)) && [[ $ERR == *"card '3' is not served here"* ]]; then pass "hw:3 is not the daemon's card"; else fail "hw:3"; show other_card; fi

# amixer events and alsactl monitor see changes made by another client and by a jack.
"$DYNPCM" exec --socket "$SOCK" -- stdbuf -oL amixer events >"$TMP/events.out" 2>&1 &
EVENTS_PID=$!
MONITOR_PID=""
if [[ -d /dev/snd ]]; then
    "$DYNPCM" exec --socket "$SOCK" -- stdbuf -oL alsactl monitor hw:0 >"$TMP/monitor.out" 2>&1 &
    MONITOR_PID=$!
fi
for _ in $(seq 100); do grep -q "Ready to listen" "$TMP/events.out" && break; sleep 0.1; done
sleep 0.3
run ctl_set ctl --socket "$SOCK" set 'EAR PA Volume' 3
run jack jack --socket "$SOCK" unplug Headphone
run scenario run --socket "$SOCK" "$SRC/examples/daemon/headset_policy.yaml"
((RC == 0)) && [[ $OUT == *"PASS: 4 of 4 expectations hold"* ]] && pass "a scenario against the daemon: jacks, csets, routes" ||
    { fail "run --socket"; show scenario; }
for _ in $(seq 100); do grep -q "name='Headset Mic Switch'" "$TMP/events.out" && break; sleep 0.1; done
sleep 0.2
kill "$EVENTS_PID" ${MONITOR_PID:+"$MONITOR_PID"} 2>/dev/null
wait "$EVENTS_PID" ${MONITOR_PID:+"$MONITOR_PID"} 2>/dev/null
grep -q "event value: numid=35,iface=MIXER,name='EAR PA Volume'" "$TMP/events.out" &&
    pass "amixer events: a change by another client" || { fail "amixer events missed EAR PA Volume"; cat "$TMP/events.out"; }
grep -q "event value: numid=32,iface=MIXER,name='Headphone Switch'" "$TMP/events.out" &&
    pass "amixer events: a jack's pin switch" || { fail "amixer events missed the jack"; cat "$TMP/events.out"; }
grep -q "event value: numid=33,iface=MIXER,name='Headset Mic Switch'" "$TMP/events.out" &&
    pass "amixer events: the changes a scenario makes" || { fail "amixer events missed the scenario"; cat "$TMP/events.out"; }
run scenario_bad run --socket "$SOCK" "$SRC/examples/scenarios/headset_plug.yaml"
((RC == 2)) && [[ $ERR == *"headset_plug.yaml:14: 'write' drives an FE stream"* ]] &&
    pass "a scenario step a daemon cannot run is refused by line" || { fail "run --socket with FE steps"; show scenario_bad; }
if [[ -n $MONITOR_PID ]]; then
    grep -q "'EAR PA Volume'" "$TMP/monitor.out" && pass "alsactl monitor: a change" || { fail "alsactl monitor"; cat "$TMP/monitor.out"; }
else
    echo "skip: alsactl monitor (alsa-utils 1.2.8 watches /dev/snd for hotplug and exits without it; this machine has none)"
fi

x exit_code sh -c 'exit 7'
((RC == 7)) && pass "dynpcm exec returns the child's exit code" || fail "exec returned $RC, not 7"
"$DYNPCM" exec --socket "$SOCK" -- sleep 60 &
EXEC_PID=$!
sleep 0.3
kill -TERM "$EXEC_PID"
wait "$EXEC_PID"
pgrep -f "^sleep 60$" >/dev/null && fail "a signal to exec left its child running" || pass "a signal to exec reaches its child"

run top top --socket "$SOCK" --once
expect_out "card 'Phone' (id Phone)" "dynpcm top: the card"
expect_out "CLIENT" "dynpcm top: the clients"
run dump dump --socket "$SOCK" --json
(($(grep -c '"users": 0' "$TMP/dump.out") == 8)) &&
    pass "dynpcm dump --socket --json: every BE" || { fail "dump"; show dump; }
grep -q "set 'SLIMBUS_0_RX Audio Mixer MultiMedia1' = on (was off)" "$TMP/phone.dlog" &&
    pass "the daemon logs route changes with who made them" || fail "no route change in the log"
cmp -s "$HOME/.asoundrc" <(printf 'ctl.!default { type hw card 7 }\n') && pass "the user's ~/.asoundrc is untouched" ||
    fail "~/.asoundrc changed"
stop

# ---- stock UCM profiles on the example machines ----------------------------------------------
# ucm NAME CHECK...: alsaucm -c hw:0 with the profile alsa-ucm-conf picks for the card's identity.
ucm() {
    local name=$1
    shift
    x "$name" alsaucm -c hw:0 "$@"
    if ((RC == 0)); then pass "alsaucm $*"; else fail "alsaucm $*: rc $RC"; show "$name"; fi
}

T_BXT=/usr/share/alsa/topology/bxtrt298/bxt_i2s.conf
start bxt --tplg "$T_BXT" --overlay "$SRC/examples/machines/bxt_rt298/overlay.yaml" || finish tools_test.sh
expect_route "Bxt Audio Port/playback" "" "broxton-rt298 before UCM: device 0 goes nowhere"
ucm bxt_hifi set _verb HiFi
expect_route "Bxt Audio Port/playback" "SSP5-Codec" "broxton-rt298 HiFi: device 0 plays on the codec"
expect_route "Bxt Audio Capture Port/capture" "SSP5-Codec, dmic01" "broxton-rt298 HiFi: device 1 records from both"
ucm bxt_headset set _verb HiFi set _enadev Headset
expect_route "Bxt Audio Capture Port/capture" "SSP5-Codec" "broxton-rt298 Headset: device 1 moves to the headset mic"
ucm bxt_mic set _verb HiFi set _enadev Mic
expect_route "Bxt Audio Capture Port/capture" "dmic01" "broxton-rt298 Mic: device 1 moves to the DMIC"
ucm bxt_pcm set _verb HiFi get PlaybackPCM/Speaker
expect_out "PlaybackPCM/Speaker=_ucm0001.hw:broxtonrt298" "broxton-rt298: PlaybackPCM names the daemon's card"
ucm bxt_off set _verb HiFi set _verb Inactive
stop

start skl --tplg /usr/share/alsa/topology/hda-dsp/skl_hda_dsp_generic-tplg.conf \
    --overlay "$SRC/examples/machines/skl_hda/overlay.yaml" || finish tools_test.sh
ucm skl_hifi set _verb HiFi
expect_route "Analog HDA DSP/playback" "Analog Playback and Capture" "hda-dsp HiFi: the analog PCM plays on the codec"
ucm skl_pcm set _verb HiFi get PlaybackPCM/Speaker
expect_out "PlaybackPCM/Speaker=_ucm0001.hw:hdadsp,7" "hda-dsp: PlaybackPCM is device 7 of the daemon's card"
stop

start rb5 "$SRC/examples/machines/rb5/card.yaml" || finish tools_test.sh
expect_route "MultiMedia2/playback" "" "RB5 before UCM: MultiMedia2 goes nowhere"
ucm rb5_hifi set _verb HiFi
expect_route "MultiMedia2/playback" "WSA_CODEC_DMA_RX_0" "RB5 HiFi: MultiMedia2 plays on the WSA speakers"
expect_route "MultiMedia3/capture" "VA_CODEC_DMA_TX_0" "RB5 HiFi: MultiMedia3 records from the VA DMIC"
ucm rb5_pcm set _verb HiFi set _enadev Speaker get PlaybackPCM/Speaker
expect_out "PlaybackPCM/Speaker=_ucm0001.hw:RB5,1" "RB5: PlaybackPCM is device 1 of the daemon's card"
ucm rb5_off set _verb HiFi set _verb Inactive
expect_route "MultiMedia2/playback" "" "RB5 Inactive: the verb's DisableSequence un-routes"
stop

finish tools_test.sh
