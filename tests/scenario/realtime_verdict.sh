#!/usr/bin/env bash
# A real-time run that does not keep real time says so first and exits 3, whatever its
# expectations found; the JSON report carries the same verdict.
set -u
dynpcm=$1 scenario=$2
out=$("$dynpcm" run "$scenario" --quiet 2>&1); rc=$?
fail=0
if [[ $rc -ne 3 ]]; then echo "FAIL: exit $rc, wanted 3"; echo "$out" | tail -8; fail=1; fi
if ! grep -q "^DID NOT KEEP REAL TIME: the clock thread woke up to" <<<"$out"; then
    echo "FAIL: no 'DID NOT KEEP REAL TIME' line before the summary:"; echo "$out" | tail -8; fail=1
fi
json=$("$dynpcm" run "$scenario" --json 2>&1); rc=$?
if [[ $rc -ne 3 ]] || ! grep -q '"verdict": "did not keep real time"' <<<"$json"; then
    echo "FAIL: --json: exit $rc, verdict:"; grep '"verdict"' <<<"$json"; fail=1
fi
((fail == 0)) && echo "ok: exit 3, said first, and in the JSON verdict"
exit $fail
