# Helpers for the c3_*.sh integration tests (sourced after lib.sh): a portier-sim c3 per test on a free
# port with a control socket, and portierctl c3 against it.

# c3_sim NAME ARGS...: start `portier-sim c3` on a free port (it binds port 0 itself, so no other test can take
# the port in between); sets ${NAME}_PORT, ${NAME}_CTL and ${NAME}_PID. A simulator started before under the same
# name is stopped first: it would otherwise go on writing into the log the new one is read from (at its old
# offset, past the new end: a file with a hole of NULs, which grep takes for binary and prints no line of).
c3_sim() {
    local name=$1; shift
    local port=0 ctl log line a prev="" old="${name}_PID"
    if [ -n "${!old:-}" ]; then
        kill "${!old}" 2>/dev/null || true
        wait "${!old}" 2>/dev/null || true
    fi
    for a in "$@"; do   # N panels take N ports in a row
        if [ "$prev" = --panels ] && [ "$a" -gt 1 ]; then port=$(py port_block "$a"); fi
        prev=$a
    done
    ctl="$TMP/$name.ctl"
    log="$TMP/$name.log"
    "$PORTIER_SIM" c3 --port "$port" --control "$ctl" --seed 7 "$@" </dev/null >"$log" 2>&1 &
    PIDS+=($!)
    # the port from the simulator's own line, read until it is whole (a CI run once got an empty port here: the
    # log is shown if that happens again)
    local deadline=$((SECONDS + 10))
    port=""
    until [[ $port =~ ^[0-9]+$ ]]; do
        [ $SECONDS -lt $deadline ] || { od -c "$log" | head -20 >&2; fail "simulator $name: no port in its line: '$line'"; }
        line=$(wait_file_line "$log" "listening on 127.0.0.1:[0-9]+ ") || { cat "$log" >&2; fail "simulator $name did not start"; }
        port=${line#*listening on 127.0.0.1:}
        port=${port%% *}
        [[ $port =~ ^[0-9]+$ ]] || sleep 0.05
    done
    wait_for test -S "$ctl" || fail "simulator $name: no control socket"
    printf -v "${name}_PID" '%s' "${PIDS[-1]}"
    printf -v "${name}_PORT" '%s' "$port"
    printf -v "${name}_CTL" '%s' "$ctl"
}

# c3_ctl SOCKET LINE: send one control command, print the reply line; fail unless it starts with "ok".
c3_ctl() {
    local reply
    reply=$(py ctl "$1" "$2") || fail "control '$2': $reply"
    case "$reply" in ok*) echo "$reply" ;; *) fail "control '$2': $reply" ;; esac
}

# jq-free JSON field check: json_get FILE KEY → prints the value of KEY in the first JSON line.
json_get() { py json "$1" "$2"; }

# run_timed CMD...: run CMD; how long it took in $ELAPSED_MS, exit status in $RC, output in $TMP/out/err.
run_timed() {
    local t0 t1
    t0=${EPOCHREALTIME/[.,]/}
    RC=0
    "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
    t1=${EPOCHREALTIME/[.,]/}
    ELAPSED_MS=$(( (t1 - t0) / 1000 ))
}

# c3_requests SOCKET: how many request frames the simulated panel has received so far.
c3_requests() { c3_ctl "$1" status | tr ' ' '\n' | sed -n 's/^requests=//p'; }
