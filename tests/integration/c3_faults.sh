# portierctl c3 against every simulator fault mode: the session recovers where the panel still answers
# correctly, reports (exit 3) where it cannot, and nothing hangs past the timeout.
source "$SRCDIR/tests/integration/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"

# Every case has its own simulator; their portierctl runs go at once (each only waits on its own panel), then
# the results are checked one by one. A case the session must recover from has a longer timeout (what it shows is
# the recovery, and 18 runs at once on a loaded machine take their time); one that must fail keeps a short one
# (what it shows is that nothing hangs past the timeout).
CASES=()
for d in session sessionless; do
    CASES+=("$d delay=400 0" "$d split 0" "$d garbage 0" "$d garbage,split 0" "$d badcrc 3" "$d drop 3" "$d mute 3"
            "$d delay=6000 3")
done
CASES+=("session badseq 3")       # every reply echoes the wrong number: all discarded as stale
CASES+=("sessionless badseq 0")   # no numbers in this dialect: nothing to get wrong

JOBS=()
for i in "${!CASES[@]}"; do
    read -r dialect fault want <<<"${CASES[$i]}"
    c3_sim "F$i" --dialect "$dialect" --fault "$fault"
    port_var="F${i}_PORT"
    timeout=3000
    [ "$want" -eq 0 ] && timeout=10000
    (
        t0=${EPOCHREALTIME/[.,]/}
        rc=0
        "$PORTIERCTL" --json c3 "127.0.0.1:${!port_var}" --timeout $timeout info >"$TMP/f$i.out" 2>"$TMP/f$i.err" ||
            rc=$?
        t1=${EPOCHREALTIME/[.,]/}
        echo "$rc $(( (t1 - t0) / 1000 ))" >"$TMP/f$i.res"
    ) &
    JOBS+=($!)
done
for j in "${JOBS[@]}"; do wait "$j"; done
for i in "${!CASES[@]}"; do
    read -r dialect fault want <<<"${CASES[$i]}"
    read -r RC ELAPSED_MS <"$TMP/f$i.res"
    [ "$RC" -eq "$want" ] || { cat "$TMP/f$i.out" "$TMP/f$i.err" >&2; fail "$dialect fault $fault: exit $RC, want $want"; }
    [ "$want" -eq 0 ] || [ "$ELAPSED_MS" -lt 8000 ] || fail "$dialect fault $fault: took ${ELAPSED_MS} ms with --timeout 3000"
    if [ "$want" -eq 0 ]; then
        [ "$(json_get "$TMP/f$i.out" doors)" = 4 ] || fail "$dialect fault $fault: wrong answer $(cat "$TMP/f$i.out")"
    else
        [ -s "$TMP/f$i.err" ] || fail "$dialect fault $fault: nothing reported"
    fi
    pass "$dialect fault $fault -> exit $RC in ${ELAPSED_MS} ms"
done
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()

# Recovery: the panel is mute (or garbles, drops, misnumbers), then heals while portierctl is still trying.
# All four at once, each with its own simulator; a panel is healed once its fault has hit a request: the
# first (connect) for most, the second for badseq (the connect reply carries no number to get wrong).
c3_requests_reach() { [ "$(c3_requests "$1")" -ge "$2" ]; }
REC=(mute badcrc drop badseq)
declare -A CL
for fault in "${REC[@]}"; do
    c3_sim "R_$fault" --dialect session --fault "$fault"
    port_var="R_${fault}_PORT"
    "$PORTIERCTL" -v --json c3 "127.0.0.1:${!port_var}" --timeout 30000 info >"$TMP/rec.$fault.out" 2>"$TMP/rec.$fault.err" &
    CL[$fault]=$!; PIDS+=($!)
done
for fault in "${REC[@]}"; do
    ctl_var="R_${fault}_CTL"
    hit=1; [ "$fault" != badseq ] || hit=2
    wait_file_line "$TMP/rec.$fault.err" '^>> ' >/dev/null || fail "recovery $fault: nothing sent"
    wait_for c3_requests_reach "${!ctl_var}" "$hit" || fail "recovery $fault: the panel saw no request"
    c3_ctl "${!ctl_var}" "fault none" >/dev/null
done
for fault in "${REC[@]}"; do
    rc=0; wait "${CL[$fault]}" || rc=$?
    [ "$rc" -eq 0 ] || { tail -20 "$TMP/rec.$fault.err" >&2; fail "recovery from $fault: exit $rc"; }
    [ "$(json_get "$TMP/rec.$fault.out" doors)" = 4 ] || fail "recovery from $fault: $(cat "$TMP/rec.$fault.out")"
    grep -Eq "[1-9][0-9]* (timeouts|desyncs|bad frames|reconnects)" "$TMP/rec.$fault.err" \
        || grep -Eq "retrying" "$TMP/rec.$fault.err" || fail "recovery from $fault: trouble not reported"
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
# the loss is in the output itself: link down, link online again, and the gap between them
python3 - "$TMP/ev.out" <<'PY' || { cat "$TMP/ev.out" >&2; fail "events: link/gap records"; }
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kinds = [(r["type"], r.get("state")) for r in recs if r["type"] in ("link", "gap")]
assert kinds[:4] == [("link", "online"), ("link", "down"), ("link", "online"), ("gap", None)], kinds
gap = [r for r in recs if r["type"] == "gap"][0]
assert gap["from"] <= gap["to"] and gap["detail"] == "link lost", gap
assert recs.index(gap) < [i for i, r in enumerate(recs) if r.get("card") == 99][0], recs
PY
pass "events survive a dropped link, and say so (link and gap records)"

# The same in text, and a panel that stops answering polls is reported stale, then answering again.
c3_sim T --dialect session
"$PORTIERCTL" c3 "127.0.0.1:$T_PORT" events --follow --interval 100 >"$TMP/tx.out" 2>"$TMP/tx.err" &
TX=$!; PIDS+=($TX)
wait_file_line "$TMP/tx.out" 'LINK +online' >/dev/null || fail "text events: no link record"
c3_ctl "$T_CTL" "fault mute" >/dev/null
wait_file_line "$TMP/tx.out" 'STALE +stale: polls are not answered' >/dev/null || { cat "$TMP/tx.out" >&2; fail "text events: not stale"; }
c3_ctl "$T_CTL" "fault none" >/dev/null
WAIT_TIMEOUT=15 wait_for bash -c "grep -Eq 'STALE +answering' '$TMP/tx.out' || [ \$(grep -c 'LINK +online' '$TMP/tx.out') -gt 1 ]" \
    || { cat "$TMP/tx.out" >&2; fail "text events: never answering again"; }
pass "events --follow reports a stale panel and its return"

# Ctrl-C ends --follow within 200 ms, even when the panel no longer answers the polite disconnect. The exit
# status says whether the link was up when the signal came: 0 while online (the mute panel's polls are merely
# late), 3 with "interrupted while the panel was away" if the session had given the link up meanwhile (a loaded
# machine can make 200 ms of silence reach the request timeout). Both are right; a wrong pairing is the defect.
last_link_online() { [ "$(grep -E '  LINK +(online|down)' "$TMP/tx.out" | tail -1 | grep -c ' online')" = 1 ]; }
wait_for last_link_online || { cat "$TMP/tx.out" >&2; fail "text events: the link never came back online"; }
c3_ctl "$T_CTL" "fault mute" >/dev/null
sleep 0.2
t0=${EPOCHREALTIME/[.,]/}
kill -INT "$TX"
rc=0; wait "$TX" || rc=$?
t1=${EPOCHREALTIME/[.,]/}
ms=$(( (t1 - t0) / 1000 ))
if last_link_online; then
    [ "$rc" -eq 0 ] || { cat "$TMP/tx.out" "$TMP/tx.err" >&2; fail "events --follow after SIGINT while online: exit $rc"; }
else
    [ "$rc" -eq 3 ] || { cat "$TMP/tx.out" "$TMP/tx.err" >&2; fail "events --follow after SIGINT while away: exit $rc"; }
    grep -q 'interrupted while the panel was away' "$TMP/tx.err" || fail "events --follow: away at SIGINT not said"
fi
# (the sanitizers' exit, with its leak check, takes its own time on a loaded machine)
limit=200
[ "${PORTIER_SANITIZED:-0}" = 1 ] && limit=600
[ "$ms" -lt $limit ] || fail "events --follow took $ms ms to stop after SIGINT (limit $limit ms)"
pass "SIGINT stops events --follow in $ms ms"

# A panel that never answers: --follow gives up after --timeout with exit 3 (closed port and mute panel).
port=$(closed_port)
run_timed "$PORTIERCTL" --json c3 "127.0.0.1:$port" --timeout 800 events --follow
[ "$RC" -eq 3 ] || fail "events --follow on a closed port: exit $RC"
[ "$ELAPSED_MS" -lt 3000 ] || fail "events --follow on a closed port took $ELAPSED_MS ms"
grep -q '"type":"error"' "$TMP/out" || fail "events --follow on a closed port: no error record: $(cat "$TMP/out")"
grep -q 'no answer after 800 ms' "$TMP/err" || fail "events --follow: $(cat "$TMP/err")"
c3_sim M --dialect session --fault mute
run_timed "$PORTIERCTL" c3 "127.0.0.1:$M_PORT" --timeout 800 events --follow
[ "$RC" -eq 3 ] || fail "events --follow on a mute panel: exit $RC"
[ "$ELAPSED_MS" -lt 3000 ] || fail "events --follow on a mute panel took $ELAPSED_MS ms"
pass "events --follow: a panel that never answers is exit 3 after --timeout"

# Nothing listening: exit 3, within the timeout.
port=$(closed_port)
run_timed "$PORTIERCTL" c3 "127.0.0.1:$port" --timeout 1500 info
[ "$RC" -eq 3 ] || fail "unreachable: exit $RC"
[ "$ELAPSED_MS" -lt 5000 ] || fail "unreachable took $ELAPSED_MS ms"
grep -qi 'refused\|timed out' "$TMP/err" || fail "unreachable not explained: $(cat "$TMP/err")"
pass "unreachable -> exit 3 in ${ELAPSED_MS} ms"
