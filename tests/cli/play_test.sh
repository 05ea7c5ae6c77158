#!/usr/bin/env bash
# End-to-end tests of `dynpcm play`.
#
#   play_test.sh DYNPCM TMPDIR [WAV_TOOL] [PHONE_CARD]
#
# DYNPCM is the dynpcm binary, TMPDIR a scratch directory (emptied first). WAV_TOOL is the
# dynpcm_wav_tool helper built next to this script's CMakeLists (it writes the test tones and
# reads back what the wav backend recorded); PHONE_CARD defaults to examples/cards/phone.yaml.
# Prints one line per check and exits 1 if any failed.

set -u

DYNPCM=${1:?usage: play_test.sh DYNPCM TMPDIR [WAV_TOOL] [PHONE_CARD]}
TMP=${2:?usage: play_test.sh DYNPCM TMPDIR [WAV_TOOL] [PHONE_CARD]}
HERE=$(cd "$(dirname "$0")" && pwd)
WAVTOOL=${3:-$(dirname "$DYNPCM")/../tests/cli/dynpcm_wav_tool}
PHONE=${4:-$HERE/../../examples/cards/phone.yaml}

for f in "$DYNPCM" "$WAVTOOL"; do
    [[ -x $f ]] || { echo "play_test.sh: $f is not an executable"; exit 1; }
done
[[ -r $PHONE ]] || { echo "play_test.sh: cannot read $PHONE"; exit 1; }

rm -rf "$TMP"
mkdir -p "$TMP" || exit 1

source "$HERE/cli_lib.sh"

# play NAME ARGS...: runs `dynpcm play ARGS` (see run in cli_lib.sh).
play() {
    local name=$1
    shift
    run "$name" play "$@"
}

# expect_rc NAME WANT WHAT
expect_rc() {
    if [[ $RC -eq $2 ]]; then pass "$3: exit $2"; else fail "$3: exit $RC, expected $2"; show "$1"; fi
}

# expect_in TEXT NEEDLE WHAT NAME
expect_in() {
    if [[ $1 == *"$2"* ]]; then pass "$3"; else fail "$3: no '$2' in the output"; show "$4"; fi
}

# check WHAT COMMAND...: passes if COMMAND succeeds
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# near A B TOLERANCE: |A - B| <= TOLERANCE
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# peak_of NAME BE: the peak dBFS of the BE's summary line ("  BE   N frames (S s)  peak P dBFS").
peak_of() {
    sed -nE "s/^  $2 +[0-9]+ frames \\([0-9.]+ s\\)  peak (-?[0-9.]+|-inf) dBFS.*/\\1/p" "$TMP/$1.out" | head -n1
}

# expect_peak NAME BE DBFS WHAT
expect_peak() {
    local p
    p=$(peak_of "$1" "$2")
    if [[ -n $p ]] && near "$p" "$3" 0.3; then pass "$4: $2 peak $p dBFS"
    else fail "$4: $2 peak '${p}' dBFS, expected $3 +- 0.3"; show "$1"; fi
}

# field KEY "INFO LINE": a value of `dynpcm_wav_tool info`
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

# ---- test input ---------------------------------------------------------------------------------

"$WAVTOOL" tone "$TMP/tone48.wav" 48000 2 1.0 1000 -6 || { echo "cannot write test tones"; exit 1; }
"$WAVTOOL" tone "$TMP/mono44.wav" 44100 1 0.5 440 -12 || exit 1
"$WAVTOOL" tone "$TMP/tone96.wav" 96000 2 0.1 1000 -6 || exit 1
echo "this is not a WAV file" >"$TMP/text.wav"

FE='Media Playback'

# ---- (1) the phone card's default route: the speaker -------------------------------------------

play speaker "$PHONE" --fe "$FE" "$TMP/tone48.wav"
expect_rc speaker 0 "tone through $FE"
expect_in "$OUT" "$FE -> Speaker amp I2S (sim codec)" "the destination line names the speaker BE and its backend" speaker
expect_peak speaker "Speaker amp I2S" -6.0 "the speaker played the tone"
expect_in "$OUT" "played 1.00 s (48000 frames)" "the whole file played" speaker
expect_in "$OUT" "FE xruns: 0" "no FE xrun" speaker
if [[ $OUT == *"Headset codec"* ]]; then fail "the headset played without being routed"; show speaker
else pass "the headset, not routed, is not listed"; fi

# ---- (2) --set adds the headset -----------------------------------------------------------------

play headset "$PHONE" --fe "$FE" --set 'SLIMBUS_0_RX Audio Mixer MultiMedia1=on' "$TMP/tone48.wav"
expect_rc headset 0 "--set routes to the headset too"
expect_in "$OUT" "Headset codec (sim codec)" "the destination line names the headset" headset
expect_peak headset "Speaker amp I2S" -6.0 "with the headset routed"
expect_peak headset "Headset codec" -6.0 "with the headset routed"

# ---- (3) a wav backend records what the FE played ------------------------------------------------

# With a fixup: the BE runs at 48 kHz stereo whatever the FE plays.
cat >"$TMP/rec_fixup.yaml" <<'EOF'
card: Recorder Fixup
fe_links:
  - name: Music
    playback: {stream: Music Playback, formats: [S16_LE], rates: [44100, 48000], channels: {min: 1, max: 2}}
be_links:
  - name: Recorder
    playback: {stream: Rec Playback}
    backend: {type: wav, file: rec_fixup.wav}
    fixup: {rate: 48000, channels: 2, format: S16_LE}
widgets:
  - {name: Rec Mixer, type: mixer, controls: [{name: Music, value: on}]}
  - {name: Line Out, type: line}
routes:
  - [Rec Mixer, Music, Music Playback]
  - [Rec Playback, ~, Rec Mixer]
  - [Line Out, ~, Rec Playback]
EOF
play rec_fixup "$TMP/rec_fixup.yaml" --fe Music "$TMP/tone48.wav"
expect_rc rec_fixup 0 "playing into a wav backend"
expect_in "$OUT" "Music -> Recorder (WAV file" "the destination line names the wav backend" rec_fixup
if [[ -f $TMP/rec_fixup.wav ]]; then
    INFO=$("$WAVTOOL" info "$TMP/rec_fixup.wav")
    echo "      recorded: $INFO"
    check "the recording is 48000 Hz stereo" test "$(field rate "$INFO") $(field channels "$INFO")" = "48000 2"
    check "the recording holds the 1 kHz tone" near "$(field tone_hz "$INFO")" 1000 1
    check "the recording's peak is -6 dBFS" near "$(field peak_dbfs "$INFO")" -6 0.3
    # The tone starts with a zero sample; every frame after it is there.
    check "the whole file reached the recording" test "$(field sound_frames "$INFO")" -ge 47990
else
    fail "no recording at $TMP/rec_fixup.wav"; show rec_fixup
fi

# Without a fixup: the BE runs at the FE's configuration, here a mono 44.1 kHz file.
cat >"$TMP/rec_plain.yaml" <<'EOF'
card: Recorder Plain
fe_links:
  - name: Music
    playback: {stream: Music Playback, formats: [S16_LE], rates: [44100, 48000], channels: {min: 1, max: 2}}
be_links:
  - name: Recorder
    playback: {stream: Rec Playback, formats: [S16_LE], rates: {min: 8000, max: 192000}, channels: {min: 1, max: 2}}
    backend: {type: wav, file: rec_plain.wav}
widgets:
  - {name: Rec Mixer, type: mixer, controls: [{name: Music, value: on}]}
  - {name: Line Out, type: line}
routes:
  - [Rec Mixer, Music, Music Playback]
  - [Rec Playback, ~, Rec Mixer]
  - [Line Out, ~, Rec Playback]
EOF
play rec_plain "$TMP/rec_plain.yaml" --fe Music "$TMP/mono44.wav"
expect_rc rec_plain 0 "a mono 44.1 kHz file into a wav backend without fixup"
if [[ -f $TMP/rec_plain.wav ]]; then
    INFO=$("$WAVTOOL" info "$TMP/rec_plain.wav")
    echo "      recorded: $INFO"
    check "the recording is 44100 Hz mono, as the file" test "$(field rate "$INFO") $(field channels "$INFO")" = "44100 1"
    check "the recording holds the 440 Hz tone" near "$(field tone_hz "$INFO")" 440 1
    check "the recording's peak is -12 dBFS" near "$(field peak_dbfs "$INFO")" -12 0.3
    check "the whole file reached the recording" test "$(field sound_frames "$INFO")" -ge 22040
else
    fail "no recording at $TMP/rec_plain.wav"; show rec_plain
fi

# ---- (4) bad input: exit 2, with a message naming what is wrong ---------------------------------

play missing "$PHONE" --fe "$FE" "$TMP/missing.wav"
expect_rc missing 2 "a missing file"
expect_in "$ERR" "missing.wav" "the message names the missing file" missing

play notwav "$PHONE" --fe "$FE" "$TMP/text.wav"
expect_rc notwav 2 "a file that is not a WAV file"
expect_in "$ERR" "text.wav" "the message names the file" notwav

play badfe "$PHONE" --fe 'Media Playbak' "$TMP/tone48.wav"
expect_rc badfe 2 "an unknown FE"
expect_in "$ERR" "did you mean 'Media Playback'?" "the message suggests the FE" badfe

play badctl "$PHONE" --fe "$FE" --set 'SLIMBUS_0_RX Audio Mixer MultiMedia9=on' "$TMP/tone48.wav"
expect_rc badctl 2 "--set of an unknown control"
expect_in "$ERR" "did you mean 'SLIMBUS_0_RX Audio Mixer MultiMedia1'?" "the message suggests the control" badctl

play badval "$PHONE" --fe "$FE" --set 'SLIMBUS_0_RX Audio Mixer MultiMedia1=maybe' "$TMP/tone48.wav"
expect_rc badval 2 "--set with a bad value"
expect_in "$ERR" "'maybe'" "the message names the value" badval

play noeq "$PHONE" --fe "$FE" --set 'SLIMBUS_0_RX Audio Mixer MultiMedia1' "$TMP/tone48.wav"
expect_rc noeq 2 "--set without '='"

play rate "$PHONE" --fe "$FE" "$TMP/tone96.wav"
expect_rc rate 2 "a rate the FE does not support"
expect_in "$ERR" "96000 Hz" "the message says what the file has" rate
expect_in "$ERR" "44100, 48000 Hz" "the message says what the FE supports" rate

play capture "$PHONE" --fe 'Primary Capture' "$TMP/tone48.wav"
expect_rc capture 2 "an FE with no playback stream"

# ---- (5) nothing routed: exit 1, and the engine says what to set --------------------------------

play unrouted "$PHONE" --fe "$FE" --set 'PRI_MI2S_RX Audio Mixer MultiMedia1=off' "$TMP/tone48.wav"
expect_rc unrouted 1 "no BE routed"
expect_in "$ERR" "has no BE routed; set one of:" "the message says how to route" unrouted
expect_in "$ERR" "SLIMBUS_0_RX Audio Mixer MultiMedia1" "the message lists a routing control" unrouted

finish play_test.sh
