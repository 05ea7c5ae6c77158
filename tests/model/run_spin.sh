#!/usr/bin/env bash
# Runs a SPIN model in each of its modes and checks the verdicts:
#   run_spin.sh MODEL [MODE=verify|fail ...]
# `verify`: the full search must find no error; `fail`: it must find one (a deliberately broken
# variant, so the model is shown able to see the bug). Without MODE arguments:
# 0=verify 1=fail 2=fail (models/dpcm_links.pml: the real protocol, no grace period, no
# re-check on leave). Each mode's description is read from the model's header ("MODE n: ...").
# Prints one line per mode and exits non-zero if any verdict is not the expected one.
#
# Environment: SPIN (default: spin), CC (default: gcc), SPIN_NOPS (control operations,
# default: the model's NOPS), KEEP=1 keeps the work directory (with each failing mode's
# replayed counterexample in mode<n>/trail.txt).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=${1:-$here/../../models/dpcm_links.pml}
shift || true
modes=("$@")
if ((${#modes[@]} == 0)); then modes=(0=verify 1=fail 2=fail); fi
spin_bin=${SPIN:-spin}
cc_bin=${CC:-gcc}

if [[ ! -f $model ]]; then
    echo "run_spin.sh: model not found: $model" >&2
    exit 2
fi
for tool in "$spin_bin" "$cc_bin"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run_spin.sh: '$tool' not found (Debian: apt-get install spin gcc)" >&2
        exit 2
    fi
done
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")

work=$(mktemp -d "${TMPDIR:-/tmp}/dpcm_spin.XXXXXX")
cleanup() {
    if [[ ${KEEP:-0} == 1 ]]; then echo "run_spin.sh: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

defs=()
if [[ -n ${SPIN_NOPS:-} ]]; then defs+=("-DNOPS=$SPIN_NOPS"); fi

now_ns() { date +%s%N; }
describe() {
    local d
    d=$(sed -n "s/^ \* MODE $1: *\(.*\)/\1/p" "$model" | head -n1 | sed 's/ *->.*//')
    echo "${d:-mode $1}"
}

status=0
for spec in "${modes[@]}"; do
    mode=${spec%%=*}
    want=${spec#*=}
    dir=$work/mode$mode
    mkdir -p "$dir"
    cp "$model" "$dir/model.pml"
    t0=$(now_ns)
    if ! (cd "$dir" && "$spin_bin" "-DMODE=$mode" ${defs[@]+"${defs[@]}"} -a model.pml >spin.log 2>&1); then
        echo "MODE $mode ($(describe $mode)): FAIL: spin -a failed:" >&2
        cat "$dir/spin.log" >&2
        status=1
        continue
    fi
    # -w: pan.c is generated code and warns a lot under recent gcc; not our warnings.
    if ! (cd "$dir" && "$cc_bin" -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c >cc.log 2>&1); then
        echo "MODE $mode ($(describe $mode)): FAIL: compiling pan.c failed:" >&2
        cat "$dir/cc.log" >&2
        status=1
        continue
    fi
    # pan exits non-zero on some errors; the verdict is read from its report instead.
    (cd "$dir" && ./pan -m100000 >pan.log 2>&1) || true
    t1=$(now_ns)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')

    log=$dir/pan.log
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
    states=$(awk '/states, stored/ { print $1; exit }' "$log")
    depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
    what=$(grep -m1 -E '^pan:[0-9]+: ' "$log" | sed 's/^pan:[0-9]*: *//' || true)
    if [[ -z $errors ]]; then
        echo "MODE $mode ($(describe $mode)): FAIL: no verdict from pan:" >&2
        cat "$log" >&2
        status=1
        continue
    fi
    incomplete=""
    if grep -qE 'max search depth too small|out of memory' "$log"; then
        incomplete=" (search incomplete)"
    fi

    verdict=OK
    if [[ $want == verify ]]; then
        [[ $errors == 0 && -z $incomplete ]] || verdict=FAIL
        expect="expected errors: 0"
    else
        [[ $errors -gt 0 ]] || verdict=FAIL
        expect="expected errors > 0"
    fi
    if [[ $errors -gt 0 && ${KEEP:-0} == 1 ]]; then
        # Replay the counterexample for inspection (KEEP=1): mode<n>/trail.txt.
        (cd "$dir" && "$spin_bin" "-DMODE=$mode" ${defs[@]+"${defs[@]}"} -t -p -g model.pml >trail.txt 2>&1) || true
    fi
    line="MODE $mode ($(describe $mode)): errors: $errors, $states states, depth $depth, ${secs} s$incomplete"
    if [[ -n $what ]]; then line+=" -- $what"; fi
    echo "$line -- $verdict ($expect)"
    if [[ $verdict != OK ]]; then
        status=1
        sed -n '1,40p' "$log" >&2
    fi
done
exit $status
