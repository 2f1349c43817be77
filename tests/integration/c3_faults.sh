# portierctl c3 against every simulator fault mode: the session recovers where the panel still answers
# correctly, reports (exit 3) where it cannot, and nothing hangs past the timeout.
source "$SRCDIR/tests/integration/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"

check() { # check DIALECT FAULT WANT_RC
    local dialect=$1 fault=$2 want=$3
    c3_sim F --dialect "$dialect" --fault "$fault"
    run_timed "$PORTIERCTL" --json c3 "127.0.0.1:$F_PORT" --timeout 3000 info
    [ "$RC" -eq "$want" ] || { cat "$TMP/out" "$TMP/err" >&2; fail "$dialect fault $fault: exit $RC, want $want"; }
    [ "$ELAPSED_MS" -lt 8000 ] || fail "$dialect fault $fault: took ${ELAPSED_MS} ms with --timeout 3000"
    if [ "$want" -eq 0 ]; then
        [ "$(json_get "$TMP/out" doors)" = 4 ] || fail "$dialect fault $fault: wrong answer $(cat "$TMP/out")"
    else
        [ -s "$TMP/err" ] || fail "$dialect fault $fault: nothing reported"
    fi
    pass "$dialect fault $fault -> exit $RC in ${ELAPSED_MS} ms"
    kill "${PIDS[-1]}" 2>/dev/null || true
}

for d in session sessionless; do
    check "$d" delay=400 0
    check "$d" split 0
    check "$d" garbage 0
    check "$d" garbage,split 0
    check "$d" badcrc 3
    check "$d" drop 3
    check "$d" mute 3
    check "$d" delay=6000 3
done
check session badseq 3       # every reply echoes the wrong number: all discarded as stale
check sessionless badseq 0   # no numbers in this dialect: nothing to get wrong

# Recovery: the panel is mute, then heals while portierctl is still trying.
for fault in mute badcrc drop badseq; do
    c3_sim R --dialect session --fault "$fault"
    "$PORTIERCTL" -v --json c3 "127.0.0.1:$R_PORT" --timeout 30000 info >"$TMP/rec.out" 2>"$TMP/rec.err" &
    CL=$!; PIDS+=($CL)
    wait_file_line "$TMP/rec.err" '^>> ' >/dev/null || fail "recovery $fault: nothing sent"
    sleep 1
    c3_ctl "$R_CTL" "fault none" >/dev/null
    rc=0; wait "$CL" || rc=$?
    [ "$rc" -eq 0 ] || { tail -20 "$TMP/rec.err" >&2; fail "recovery from $fault: exit $rc"; }
    [ "$(json_get "$TMP/rec.out" doors)" = 4 ] || fail "recovery from $fault: $(cat "$TMP/rec.out")"
    grep -Eq "[1-9][0-9]* (timeouts|desyncs|bad frames|reconnects)" "$TMP/rec.err" \
        || grep -Eq "retrying" "$TMP/rec.err" || fail "recovery from $fault: trouble not reported"
    pass "recovers from $fault"
done

# Events keep flowing across a fault: follow, break the link, heal it, and still see the swipe.
c3_sim E --dialect session
"$PORTIERCTL" -v --json c3 "127.0.0.1:$E_PORT" events --follow --interval 100 >"$TMP/ev.out" 2>"$TMP/ev.err" &
EV=$!; PIDS+=($EV)
wait_file_line "$TMP/ev.err" 'c3: online' >/dev/null || fail "events: not online"
c3_ctl "$E_CTL" "fault drop" >/dev/null
wait_file_line "$TMP/ev.err" 'c3: backoff' >/dev/null || { tail "$TMP/ev.err" >&2; fail "events: link loss not noticed"; }
c3_ctl "$E_CTL" "fault none" >/dev/null
WAIT_TIMEOUT=20 wait_for bash -c "[ \$(grep -c 'c3: online' '$TMP/ev.err') -gt 1 ]" || fail "events: no reconnect"
sleep 0.3
c3_ctl "$E_CTL" "swipe door=1 card=99" >/dev/null
wait_file_line "$TMP/ev.out" '"card":99' >/dev/null || fail "events after reconnect: $(cat "$TMP/ev.out")"
kill -TERM "$EV"
rc=0; wait "$EV" || rc=$?
[ "$rc" -eq 0 ] || fail "events --follow after SIGTERM: exit $rc"
grep -q 'c3: disconnected' "$TMP/ev.err" || fail "events: no clean disconnect on SIGTERM"
pass "events survive a dropped link"

# Nothing listening: exit 3, within the timeout.
port=$(free_port)
run_timed "$PORTIERCTL" c3 "127.0.0.1:$port" --timeout 1500 info
[ "$RC" -eq 3 ] || fail "unreachable: exit $RC"
[ "$ELAPSED_MS" -lt 5000 ] || fail "unreachable took $ELAPSED_MS ms"
grep -qi 'refused\|timed out' "$TMP/err" || fail "unreachable not explained: $(cat "$TMP/err")"
pass "unreachable -> exit 3 in ${ELAPSED_MS} ms"
