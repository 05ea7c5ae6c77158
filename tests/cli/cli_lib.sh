# Shared by the CLI test scripts (sourced): pass/fail bookkeeping, and running dynpcm with its
# output kept for the checks and for a failure's context. The sourcing script sets DYNPCM (the
# binary) and TMP (a scratch directory).

FAILED=0
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
pass() { echo "ok:   $*"; }

# run NAME ARGS...: runs `dynpcm ARGS`, stdout to $TMP/NAME.out, stderr to $TMP/NAME.err; sets RC,
# OUT and ERR (the texts), and LAST_RUN=NAME.
run() {
    local name=$1
    LAST_RUN=$name
    shift
    "$DYNPCM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    RC=$?
    OUT=$(cat "$TMP/$name.out")
    ERR=$(cat "$TMP/$name.err")
}

# show NAME: the output of a run, for a failure's context.
show() {
    echo "---- stdout of $1"; cat "$TMP/$1.out"
    echo "---- stderr of $1"; cat "$TMP/$1.err"
    echo "----"
}

# finish SCRIPT: the summary line; exits 1 if any check failed.
finish() {
    echo
    if ((FAILED > 0)); then
        echo "$1: $FAILED check(s) failed (outputs in $TMP)"
        exit 1
    fi
    echo "$1: all checks passed"
    exit 0
}
