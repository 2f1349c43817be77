# portierctl c3 HOST events --follow while the panel is away: the loss is said once however often the link is
# retried, and an interrupt while the panel is away exits 3 (as watch does while portierd is away), saying so once.
source "$SRCDIR/tests/integration/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"

c3_sim D --dialect session
"$PORTIERCTL" -v c3 "127.0.0.1:$D_PORT" events --follow --interval 100 >"$TMP/ev.out" 2>"$TMP/ev.err" &
EV=$!; PIDS+=($EV)
wait_file_line "$TMP/ev.out" 'LINK +online' >/dev/null || { cat "$TMP/ev.err" >&2; fail "events: not online"; }
kill -9 "$D_PID"; wait "$D_PID" 2>/dev/null || true
wait_file_line "$TMP/ev.out" 'LINK +down' >/dev/null || { cat "$TMP/ev.out" >&2; fail "events: the loss not said"; }
# several retries fail while the panel is away
WAIT_TIMEOUT=20 wait_for bash -c "[ \$(grep -c 'c3: retrying' '$TMP/ev.err') -ge 3 ]" \
    || { tail "$TMP/ev.err" >&2; fail "events: no retries"; }
kill -INT "$EV"
rc=0; wait "$EV" || rc=$?
[ "$rc" -eq 3 ] || { cat "$TMP/ev.out" "$TMP/ev.err" >&2; fail "events --follow interrupted while the panel is away: exit $rc, want 3"; }
[ "$(grep -Ec 'LINK +down' "$TMP/ev.out")" -eq 1 ] || { cat "$TMP/ev.out" >&2; fail "the loss said more than once"; }
[ "$(grep -c 'interrupted while' "$TMP/ev.err")" -eq 1 ] || { cat "$TMP/ev.err" >&2; fail "the interrupt not said once"; }
grep -q "interrupted while the panel was away (since .*127.0.0.1:$D_PORT" "$TMP/ev.err" \
    || { cat "$TMP/ev.err" >&2; fail "the interrupt does not name the panel: $(grep interrupted "$TMP/ev.err")"; }
pass "events --follow interrupted while the panel is away: exit 3, the loss and the interrupt said once"

# the same without -v: nothing on stderr but the one line of the interrupt
c3_sim Q --dialect session
"$PORTIERCTL" c3 "127.0.0.1:$Q_PORT" events --follow --interval 100 >"$TMP/q.out" 2>"$TMP/q.err" &
QV=$!; PIDS+=($QV)
wait_file_line "$TMP/q.out" 'LINK +online' >/dev/null || fail "events (quiet): not online"
kill -9 "$Q_PID"; wait "$Q_PID" 2>/dev/null || true
wait_file_line "$TMP/q.out" 'LINK +down' >/dev/null || fail "events (quiet): the loss not said"
kill -INT "$QV"
rc=0; wait "$QV" || rc=$?
[ "$rc" -eq 3 ] || fail "events --follow (quiet) interrupted while the panel is away: exit $rc"
[ "$(wc -l <"$TMP/q.err")" -eq 1 ] && grep -q 'interrupted while' "$TMP/q.err" || fail "quiet stderr: $(cat "$TMP/q.err")"
pass "without -v: one line on stderr"
