# The daemon tests' shell helpers (sourced after cli_lib.sh, with DYNPCM, DYNPCMD and TMP set):
# start and stop a dynpcmd of this build by its PID on a socket under $TMP, run tools through
# `dynpcm exec`, and read the daemon's routes.
DAEMON_PID=""
# start NAME ARGS...: dynpcmd ARGS on $TMP/NAME.sock; waits for its ready line on stdout.
start() {
    local name=$1
    shift
    SOCK="$TMP/$name.sock"
    "$DYNPCMD" "$@" --socket "$SOCK" >"$TMP/$name.dout" 2>"$TMP/$name.dlog" &
    DAEMON_PID=$!
    DAEMON_NAME=$name
    for _ in $(seq 600); do
        grep -q "^dynpcmd: ready: serving" "$TMP/$name.dout" 2>/dev/null && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    fail "$name: dynpcmd did not say it was ready"
    cat "$TMP/$name.dlog"
    return 1
}
# stop: SIGTERM to the daemon this script started; it must exit 0 and remove its socket.
stop() {
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID"
    local rc=$?
    if ((rc == 0)); then pass "$DAEMON_NAME: clean shutdown (exit 0)"; else fail "$DAEMON_NAME: dynpcmd exited $rc"; tail -30 "$TMP/$DAEMON_NAME.dlog"; fi
    [[ ! -e $SOCK ]] && pass "$DAEMON_NAME: socket removed" || fail "$DAEMON_NAME: socket left behind"
    DAEMON_PID=""
}
cleanup() { [[ -n $DAEMON_PID ]] && kill -KILL "$DAEMON_PID" 2>/dev/null; true; }
trap cleanup EXIT

# x NAME CMD...: `dynpcm exec --socket $SOCK -- CMD...`, kept as run() keeps it.
x() {
    local name=$1
    shift
    run "$name" exec --socket "$SOCK" -- "$@"
}
expect_out() {  # expect_out TEXT WHAT: the last run's stdout holds TEXT
    if [[ $OUT == *"$1"* ]]; then pass "$2"; else fail "$2: no '$1'"; show "$LAST_RUN"; fi
}
route_of() {  # route_of FE/STREAM: the BEs of an FE stream in the daemon's routes ("" for none)
    "$DYNPCM" routes --socket "$SOCK" | sed -n "s|^ *[0-9]* $1  *-> ||p" | sed 's/^(no BE)$//'
}
expect_route() {  # expect_route FE/STREAM "BE, BE" WHAT
    local got
    got=$(route_of "$1")
    if [[ $got == "$2" ]]; then pass "$3"; else fail "$3: '$1' goes to '$got', not '$2'"; fi
}

