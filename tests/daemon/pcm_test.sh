#!/usr/bin/env bash
# The PCM plugin with the real alsa-utils tools, unmodified, through `dynpcm exec`: aplay (plain,
# mmap, non-blocking, through plug and rate), arecord, speaker-test, two clients mixed on one BE,
# a route moved with amixer mid-stream, an underrun and its recovery, pause, the boundary's wrap,
# the seed report's sequence (the path closed by a mixer write while the daemon still plays what
# aplay wrote), a client killed mid-stream, a BE device that vanishes, and a daemon that exits or
# dies under its clients. What the BEs recorded is checked with `dynpcm analyze`. Every daemon is
# this build's (so ASan's or TSan's in those trees), on a socket under TMPDIR, with a private HOME
# and XDG_RUNTIME_DIR, stopped by its PID; its log must hold no sanitizer report.
#
#   pcm_test.sh DYNPCM DYNPCMD PCM_PROBE TMPDIR SOURCE_DIR [SEED_LOOPS [seed]]
#
# With "seed" last, only the seed sequence runs (bench/plugin/seed_soak runs it a thousand times).
set -uo pipefail
DYNPCM=$1 DYNPCMD=$2 PROBE=$3 TMP=$4 SRC=$5 LOOPS=${6:-3} ONLY=${7:-}
all() { [[ -z $ONLY ]]; }
rm -rf "$TMP" && mkdir -p "$TMP/home" "$TMP/run" "$TMP/card" && chmod 700 "$TMP/run"
# shellcheck source=../cli/cli_lib.sh
source "$SRC/tests/cli/cli_lib.sh"
# shellcheck source=daemon_lib.sh
source "$SRC/tests/daemon/daemon_lib.sh"
export HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run"
unset ALSA_CONFIG_PATH ALSA_CONFIG_UCM2 DYNPCM_SOCKET ALSA_CARD ALSA_CTL_CARD ALSA_PCM_CARD
for tool in aplay arecord speaker-test amixer; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (scripts/install-deps.sh installs alsa-utils)"; exit 1; }
done
# The card records into WAV files next to itself: a copy in TMP.
CARD="$TMP/card/speaker.yaml"
cp "$SRC/examples/daemon/speaker.yaml" "$CARD"
SPK="$TMP/card/speaker.wav" HP="$TMP/card/headphones.wav"
"$PROBE" tone "$TMP/tone1k.wav" 1000 -6 1 && "$PROBE" tone "$TMP/tone1k3s.wav" 1000 -6 3 &&
    "$PROBE" tone "$TMP/tone500.wav" 500 -12 1 && "$PROBE" tone "$TMP/tone1k10s.wav" 1000 -6 10 &&
    "$PROBE" tone "$TMP/tone1k-22k-mono.wav" 1000 -6 1 22050 1 || { echo "FAIL: pcm_probe tone"; exit 1; }

# ex NAME CMD...: the command under `dynpcm exec`, with a deadline (a hang is a failure).
ex() {
    local name=$1
    shift
    LAST_RUN=$name
    timeout 30 "$DYNPCM" exec --socket "$SOCK" -- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    RC=$?
    OUT=$(cat "$TMP/$name.out")
    ERR=$(cat "$TMP/$name.err")
}
expect_rc() {  # expect_rc CODE WHAT
    if ((RC == $1)); then pass "$2"; else fail "$2: exit $RC"; show "$LAST_RUN"; fi
}
# recorded FILE WHAT ARGS...: `dynpcm analyze FILE ARGS` holds; the BE closes its file once
# its last FE has gone, shortly after the client exits.
recorded() {
    local file=$1 what=$2
    shift 2
    for _ in $(seq 50); do
        "$DYNPCM" dump --socket "$SOCK" | grep -q "^ *BE" || break
        sleep 0.05
    done
    sleep 0.1
    if "$DYNPCM" analyze "$file" "$@" >"$TMP/analyze.out" 2>&1; then pass "$what"; else fail "$what"; cat "$TMP/analyze.out"; fi
}
fe_field() {  # fe_field FE KEY: KEY of FE in `dynpcm top --once --json`
    "$DYNPCM" top --socket "$SOCK" --once --json | tr -d ' \n' | grep -o "\"name\":\"$1\"[^}]*" | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}
no_sanitizer_report() {
    if grep -qE "ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$TMP/$DAEMON_NAME.dlog"; then
        fail "$DAEMON_NAME: a sanitizer report in the daemon's log"
        grep -A20 -E "Sanitizer|runtime error" "$TMP/$DAEMON_NAME.dlog" | head -60
    else
        pass "$DAEMON_NAME: no sanitizer report"
    fi
}
now_ms() { date +%s%3N; }
log_ms() {  # log_ms PATTERN: the daemon log's time of the first line matching, in ms since the epoch
    local t
    t=$(grep -m1 "$1" "$TMP/$DAEMON_NAME.dlog" | cut -d' ' -f1)
    [[ -n $t ]] && date -d "$(date +%F) $t" +%s%3N
}

start speaker "$CARD" || finish pcm_test.sh

if all; then
# ---- listing and plain playback ---------------------------------------------------------------
ex list aplay -L
expect_out "dynpcm, FE 'Media' (hw:0,0)" "aplay -L lists FE 0 by name"
expect_out "dynpcm, FE 'Music' (hw:0,1)" "aplay -L lists FE 1 by name"
ex list_capture arecord -L
expect_out "dynpcm, FE 'Mic' (hw:0,2)" "arecord -L lists the capture FE"

ex aplay aplay -D hw:0,0 "$TMP/tone1k.wav"
expect_rc 0 "aplay -D hw:0,0 plays a second of 1 kHz"
recorded "$SPK" "the Speaker BE recorded it whole: 1 kHz at -6 dBFS, 48000 frames, no gap, no click" \
    --tone 1000 --level -6 --frames 48000 --no-gaps --max-step 0.07

ex aplay_mmap aplay -M -D hw:0,0 "$TMP/tone1k.wav"
expect_rc 0 "aplay -M (mmap access)"
recorded "$SPK" "mmap: the same second, whole" --tone 1000 --level -6 --frames 48000 --no-gaps --max-step 0.07

ex aplay_nb aplay -N -D hw:0,0 "$TMP/tone1k.wav"
expect_rc 0 "aplay -N (non-blocking)"
recorded "$SPK" "non-blocking: the same second, whole" --tone 1000 --level -6 --frames 48000 --no-gaps --max-step 0.07

ex aplay_default aplay "$TMP/tone1k.wav"
expect_rc 0 "aplay to the default PCM (FE 0 behind plug)"
recorded "$SPK" "default: the same second, whole" --tone 1000 --frames 48000 --no-gaps

ex plughw aplay -D plughw:0,1 "$TMP/tone1k-22k-mono.wav"
expect_rc 0 "aplay -D plughw:0,1 of a 22.05 kHz mono file (plug and rate over the plugin)"
recorded "$HP" "plug: the Headphones BE got a second of 1 kHz, converted" --tone 1000 --level -6 --no-gaps

# An FE named in the user's own configuration, by name.
printf 'pcm.mine { type dynpcm fe "Music" }\n' >"$HOME/.asoundrc"
ex own_config aplay -D mine "$TMP/tone1k.wav"
expect_rc 0 "aplay -D mine, a 'type dynpcm' PCM of the user's ~/.asoundrc naming FE 'Music'"
recorded "$HP" "it played on FE 'Music', into the Headphones BE" --tone 1000 --frames 48000 --no-gaps
rm "$HOME/.asoundrc"
# Non-interleaved: one file per channel.
ex arecord_ni arecord -I -D hw:0,2 -f S16_LE -r 48000 -c 2 -d 1 "$TMP/mic_ni.wav"
expect_rc 0 "arecord -I (non-interleaved access, a file per channel)"
# arecord -I writes raw S16 per channel: a second is 96000 bytes, and a tone is rarely 0.
for c in 0 1; do
    size=$(stat -c %s "$TMP/mic_ni.wav.$c" 2>/dev/null || echo 0)
    nonzero=$(tr -d '\0' <"$TMP/mic_ni.wav.$c" 2>/dev/null | wc -c)
    ((size == 96000 && nonzero > 80000)) && pass "non-interleaved capture: channel $c's file is a second of sound" ||
        fail "non-interleaved capture: channel $c's file is $size bytes, $nonzero not zero"
done

ex speaker speaker-test -D hw:0,0 -c 2 -l 1 -t sine -f 1000
expect_rc 0 "speaker-test -c 2 -l 1"
recorded "$SPK" "speaker-test's sine reached the Speaker BE" --tone 1000

ex arecord arecord -D hw:0,2 -f S16_LE -r 48000 -c 2 -d 1 "$TMP/mic.wav"
expect_rc 0 "arecord -D hw:0,2 records a second"
if "$DYNPCM" analyze "$TMP/mic.wav" --tone 1000 --level -6 --no-gaps --max-step 0.07 >"$TMP/analyze.out"; then
    pass "the recording is the codec's 1 kHz at -6 dBFS, without a gap"
else fail "the recording"; cat "$TMP/analyze.out"; fi
ex arecord_mmap arecord -M -D hw:0,2 -f S16_LE -r 48000 -c 1 -d 1 "$TMP/mic_mmap.wav"
expect_rc 0 "arecord -M (mmap, mono from a stereo BE)"
"$DYNPCM" analyze "$TMP/mic_mmap.wav" --tone 1000 --no-gaps >"$TMP/analyze.out" && pass "mmap capture holds the tone" ||
    { fail "mmap capture"; cat "$TMP/analyze.out"; }

# ---- pause, non-blocking drain, recovery, delay (pcm_probe: alsa-lib's API as an app calls it) ----
for probe in pause drain-nb xrun delay freerun; do
    ex "probe_$probe" "$PROBE" "$probe" hw:0,0
    if ((RC == 0)); then pass "pcm_probe $probe: $(grep -c '^ok' "$TMP/probe_$probe.out") checks"; else fail "pcm_probe $probe"; show "probe_$probe"; fi
done

# An underrun with an unmodified aplay: its input stalls for a second mid-file.
ex underrun bash -c "(head -c 96044 '$TMP/tone1k.wav'; sleep 1.2; tail -c 96000 '$TMP/tone1k.wav') | aplay -D hw:0,0 -"
expect_rc 0 "aplay recovers from an underrun (its input stalled) and finishes"
[[ $ERR == *"underrun"* ]] && pass "aplay reported the underrun" || { fail "aplay saw no underrun"; show underrun; }

# ---- two clients mixed on one BE, and a route moved while aplay plays ------------------------
"$DYNPCM" ctl --socket "$SOCK" set 'Speaker Mixer Music' on >/dev/null
timeout 30 "$DYNPCM" exec --socket "$SOCK" -- aplay -q -D hw:0,1 "$TMP/tone500.wav" &
A=$!
ex mixed aplay -q -D hw:0,0 "$TMP/tone1k.wav"
wait "$A" && pass "two aplays at once, on FE 0 and FE 1" || fail "the second aplay failed"
"$DYNPCM" ctl --socket "$SOCK" set 'Speaker Mixer Music' off >/dev/null
recorded "$SPK" "the Speaker BE mixed them: 1 kHz dominates, no click" --tone 1000 --max-step 0.2
peak=$(sed -n 's/.*channel 0: peak \(-*[0-9.]*\) dBFS.*/\1/p' "$TMP/analyze.out")
awk -v p="$peak" 'BEGIN { exit !(p > -5.5) }' && pass "the mix peaks above either tone alone ($peak dBFS)" ||
    fail "no mix: peak $peak dBFS"

timeout 30 "$DYNPCM" exec --socket "$SOCK" -- aplay -q -D hw:0,0 "$TMP/tone1k3s.wav" &
A=$!
sleep 1.2
ex move_on amixer -q cset name='Headphones Mixer Media' on
ex move_off amixer -q cset name='Speaker Mixer Media' off
wait "$A" && pass "aplay played on while amixer moved its route" || fail "aplay failed while its route moved"
recorded "$SPK" "the speaker faded out: no click" --tone 1000 --max-step 0.07
spk=$(sed -n 's/.*(\([0-9]*\) frames),.*/\1/p' "$TMP/analyze.out")
recorded "$HP" "the headphones faded in: no click" --tone 1000 --max-step 0.07
hp=$(sed -n 's/.*(\([0-9]*\) frames),.*/\1/p' "$TMP/analyze.out")
# The speaker's port FIFO (one FE period, 6000 frames here) is cut after its fade when the
# route goes: the engine's rule today, as the kernel's (docs/DATA_PATH.md).
((spk + hp >= 144000 - 6000 - 480)) && pass "between them the BEs played 3 s but at most the cut FIFO ($spk + $hp frames)" ||
    fail "frames went missing in the move: $spk + $hp of 144000"
"$DYNPCM" ctl --socket "$SOCK" set 'Speaker Mixer Media' on >/dev/null
"$DYNPCM" ctl --socket "$SOCK" set 'Headphones Mixer Media' off >/dev/null

fi

# ---- the seed report: the path closed under aplay's queued audio -------------------------------
# aplay writes all of a second (its buffer holds half), returns from its last write and drains;
# amixer then closes its path while the daemon still plays what it wrote. Meanwhile a second
# stream plays on another BE. The drain must end (aplay exits 0), the lost tail must be reported,
# and the second stream must not notice.
# The second stream: speaker-test's sine on FE 1, looping until this script stops it.
"$DYNPCM" exec --socket "$SOCK" -- speaker-test -D hw:0,1 -c 2 -t sine -f 500 -l 0 >"$TMP/music.out" 2>&1 &
MUSIC=$!
sleep 0.3
seeds_ok=0
for i in $(seq "$LOOPS"); do
    "$DYNPCM" ctl --socket "$SOCK" set 'Speaker Mixer Media' on >/dev/null
    timeout 30 "$DYNPCM" exec --socket "$SOCK" -- aplay -q -D hw:0,0 "$TMP/tone1k.wav" &
    A=$!
    for _ in $(seq 300); do
        "$DYNPCM" dump --socket "$SOCK" | grep -q DRAINING && break
        sleep 0.01
    done
    timeout 30 "$DYNPCM" exec --socket "$SOCK" -- amixer -q cset name='Speaker Mixer Media' off
    wait "$A" && ((seeds_ok += 1))
done
((seeds_ok == LOOPS)) && pass "seed: $LOOPS times aplay's drain ended after amixer closed its path" ||
    fail "seed: only $seeds_ok of $LOOPS aplays ended well"
lost=$(grep -c "FE 'Media/playback' of .* lost its tail: [1-9][0-9]* frames" "$TMP/speaker.dlog")
((lost == LOOPS)) && pass "seed: the daemon reported the lost tail each time ($lost)" ||
    { fail "seed: $lost lost-tail reports for $LOOPS runs"; grep -i "tail\|drain" "$TMP/speaker.dlog" | tail -5; }
x=$(fe_field Music xruns)
[[ $x == 0 ]] && pass "seed: the stream on the other BE had no xrun" || fail "seed: the other stream had '${x}' xruns"
"$DYNPCM" ctl --socket "$SOCK" set 'Speaker Mixer Media' on >/dev/null

if all; then
# ---- faults ------------------------------------------------------------------------------------
# A client killed mid-stream: its FE goes within one period, the other stream plays on.
"$DYNPCM" exec --socket "$SOCK" -- aplay -q -D hw:0,0 "$TMP/tone1k3s.wav" &
A=$!
sleep 0.8
victim=$(pgrep -P "$A" -x aplay)  # exec's child, the aplay this script started
t_kill=$(now_ms)
kill -KILL "$victim"
wait "$A"
sleep 0.3
t_gone=$(log_ms "released FE 'Media/playback'")
if [[ -n $t_gone ]] && ((t_gone - t_kill <= 125)); then
    pass "a SIGKILLed aplay's FE was closed $((t_gone - t_kill)) ms later (its period is 125 ms)"
else fail "the killed client's FE: released at '${t_gone}', killed at $t_kill"; fi
x=$(fe_field Music xruns)
[[ $x == 0 ]] && pass "the other stream had no xrun meanwhile" || fail "the other stream had '${x}' xruns"

# A BE device that vanishes: only its FE sees -ENODEV.
timeout 30 "$DYNPCM" exec --socket "$SOCK" -- arecord -q -D hw:0,2 -f S16_LE -r 48000 -c 2 -d 5 "$TMP/gone.wav" 2>"$TMP/gone.err" &
A=$!
sleep 0.6
"$DYNPCM" jack unplug --socket "$SOCK" --be "Mic Codec"
t0=$(now_ms)
wait "$A"
rc=$?
((rc != 0)) && grep -qi "no such device" "$TMP/gone.err" && pass "arecord on the vanished BE failed with ENODEV ($(($(now_ms) - t0)) ms)" ||
    { fail "arecord on the vanished BE: exit $rc"; cat "$TMP/gone.err"; }
kill -0 "$MUSIC" 2>/dev/null && pass "the stream on another BE went on" || fail "the other stream stopped"
x=$(fe_field Music xruns)
[[ $x == 0 ]] && pass "and had no xrun" || fail "the other stream had '${x}' xruns"
"$DYNPCM" jack plug --socket "$SOCK" --be "Mic Codec"
fi

kill -0 "$MUSIC" 2>/dev/null && pass "the stream on FE 1 played throughout" || fail "the stream on FE 1 stopped"
kill -TERM "$MUSIC"
wait "$MUSIC"
no_sanitizer_report
stop
all || finish pcm_test.sh

# ---- the boundary wraps: 3 s through positions that wrap every 0.68 s ---------------------------
start wrap "$CARD" --pointer-bits 16 || finish pcm_test.sh
ex wrap aplay -D hw:0,0 --buffer-size=4096 --period-size=1024 "$TMP/tone1k3s.wav"
expect_rc 0 "aplay through a boundary of 32768 frames"
recorded "$SPK" "past the wraps: 3 s of 1 kHz, whole" --tone 1000 --level -6 --frames 144000 --no-gaps --max-step 0.07
no_sanitizer_report
stop

# ---- a daemon that exits, or dies, under its clients ------------------------------------------
for how in TERM KILL; do
    start "exit_$how" "$CARD" || finish pcm_test.sh
    timeout 30 "$DYNPCM" exec --socket "$SOCK" -- aplay -q -D hw:0,0 "$TMP/tone1k10s.wav" 2>"$TMP/exit_$how.err" &
    A=$!
    sleep 0.6
    kill "-$how" "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    t0=$(now_ms)
    wait "$A"
    rc=$?
    took=$(($(now_ms) - t0))
    ((rc != 0 && rc != 124 && took < 3000)) && pass "SIG$how to the daemon: aplay failed in $took ms, no hang" ||
        { fail "SIG$how to the daemon: aplay exit $rc after $took ms"; cat "$TMP/exit_$how.err"; }
    [[ $how == TERM ]] && no_sanitizer_report
    DAEMON_PID=""
done

finish pcm_test.sh
