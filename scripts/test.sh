#!/usr/bin/env bash
# Quick start, command 2: build and run every test, three ways, each in its own build directory,
# plus the fuzzers:
#   build/        normal build (-Werror), also builds the benchmarks (not run)
#   build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tsan/   ThreadSanitizer
#   build-fuzz/   clang + libFuzzer + ASan/UBSan: each fuzz target runs for DYNPCM_FUZZ_SECONDS
#                 (default 30); the g++ builds replay the seed corpus as a regular test
# Options:  --only normal|asan|tsan|fuzz   run one variant;   -L LABEL   run one kind of test
#           (unit, concurrency, scenario, daemon, fuzz, model). Re-runs are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
label_args=()
while (($#)); do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        -L) label_args=(-L "$2"); shift 2 ;;
        *) echo "usage: $0 [--only normal|asan|tsan|fuzz] [-L label]" >&2; exit 2 ;;
    esac
done

scripts/install-deps.sh
jobs=$(nproc)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

total_pass=0 total_fail=0 failed_variants=()
run_variant() {
    local name=$1 dir=$2; shift 2
    [[ -z "$only" || "$only" == "$name" ]] || return 0
    echo "=== [$name] configure + build in $dir"
    local start=$SECONDS
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDYNPCM_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "=== [$name] ctest"
    local log="$dir/ctest.log" rc=0
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" "${label_args[@]}" 2>&1 | tee "$log" || rc=$?
    local line pass=0 fail=0
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$log" | tail -1 || true)
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        fail=${BASH_REMATCH[1]}; pass=$((BASH_REMATCH[2] - fail))
    fi
    total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
    if ((rc != 0 || fail != 0)) || [[ -z "$line" ]]; then failed_variants+=("$name"); fi
    echo "=== [$name] $pass passed, $fail failed ($((SECONDS - start)) s)"
}

run_variant normal build
run_variant asan build-asan -DDYNPCM_SANITIZE=address,undefined -DDYNPCM_BUILD_BENCH=OFF
run_variant tsan build-tsan -DDYNPCM_SANITIZE=thread -DDYNPCM_BUILD_BENCH=OFF
run_variant fuzz build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DDYNPCM_FUZZ=ON -DDYNPCM_SANITIZE=address,undefined \
    -DDYNPCM_BUILD_CLI=OFF -DDYNPCM_BUILD_BENCH=OFF -DDYNPCM_FUZZ_SECONDS="${DYNPCM_FUZZ_SECONDS:-30}"

echo
echo "tests: $total_pass passed, $total_fail failed"
if ((${#failed_variants[@]})); then
    echo "FAILED variants: ${failed_variants[*]}" >&2
    exit 1
fi
