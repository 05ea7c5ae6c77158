#!/usr/bin/env bash
# Runs a scenario in real time RUNS times while BUSY other processes keep CPUs busy, and checks
# the verdicts: no run may fail an expectation (exit 1) or end any other way than pass (exit 0)
# or "did not keep real time" (exit 3), and at most MAX_LATE runs (a number, or `any`) may say
# they did not keep real time.
# Prints one line per run and a summary. The busy processes are this script's own children,
# stopped by PID when it ends. A first, uncounted run warms the page cache.
#
# Usage: realtime_load.sh DYNPCM SCENARIO RUNS BUSY MAX_LATE
set -u
dynpcm=$1 scenario=$2 runs=$3 busy=$4 max_late=$5

# A bound on late runs is for a clock thread at SCHED_FIFO: where the system refuses it, the
# clock runs at normal priority next to the busy processes, and any number of runs that say they
# did not keep real time is the right answer.
if [[ $max_late != any ]] && "$dynpcm" run "$scenario" --realtime 2>&1 | grep -q "SCHED_FIFO .* not permitted"; then
    echo "note: SCHED_FIFO is not permitted here; any number of runs may not keep real time"
    max_late=any
fi

pids=()
stop_busy() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
}
trap stop_busy EXIT
for ((i = 0; i < busy; i++)); do
    (while :; do :; done) &
    pids+=($!)
done

# One run first that is not counted: the first run after a build (or after the page cache was
# dropped) reads the binary's pages from disk while it runs, and can be late for that alone.
"$dynpcm" run "$scenario" --realtime --quiet >/dev/null 2>&1
echo "warm-up run: exit $?"

passed=0 late=0 failed=0
for ((r = 1; r <= runs; r++)); do
    out=$("$dynpcm" run "$scenario" --realtime --quiet 2>&1)
    rc=$?
    case $rc in
        0) passed=$((passed + 1)); echo "run $r: pass" ;;
        3) late=$((late + 1)); echo "run $r: did not keep real time"; sed -n '/DID NOT KEEP/,/^(the expectations/p' <<<"$out" ;;
        *) failed=$((failed + 1)); echo "run $r: exit $rc"; echo "$out" | tail -8 ;;
    esac
done
stop_busy
echo "$runs runs with $busy busy process(es): $passed passed, $late did not keep real time, $failed failed"
((failed == 0)) || exit 1
[[ $max_late == any ]] || ((late <= max_late))
