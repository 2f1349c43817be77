# A journal that cannot be written at start (its filesystem read-only; as a user: its directory read-only):
# the console starts anyway with the banner within 1 s (more than it takes to start with a writable journal),
# the history read-only, the emergency key works and says its audit row is not stored yet; once writable again
# everything kept is stored, the audit row too.
source "$(dirname "$0")/journal_lib.sh"
start_c3 --model C3-200
dir="$TMP/ro"
db="$dir/journal.db"
if [ "$(id -u)" = 0 ]; then
    mount_tmpfs "$dir" 4m
    make_ro() { mount -o remount,ro "$dir"; }
    make_rw() { mount -o remount,rw "$dir"; }
else
    mkdir -p "$dir"
    make_ro() { chmod a-w "$dir" "$db"; }
    make_rw() { chmod u+w "$dir" "$db"; }
fi
write_journal_config "$db"
# A journal with history; the time this console takes to show its first screen on this machine now (the
# banner below must be there at most 1 s later than that).
t0=$(ms)
start 140x40 "$PORTIER" -c "$TMP/site.conf"
within 30000 "$t0" 'Live events'
first=$WITHIN_MS
wait_up
swipe 1 3
wait_text 'card 3 '
keys q; wait_text 'EXITED 0'
stop_tmux
make_ro
t0=$(ms)
start 140x40 "$PORTIER" -c "$TMP/site.conf"
within $((first + 1000)) "$t0" 'JOURNAL UNAVAILABLE since [0-9:]+ . [0-9]+ events? kept in memory \(max 4096\), history read-only'
wait_text 'cannot be written'
wait_up
keys 6; wait_text 'History: journal .*\(read-only: the journal cannot be written\)'
wait_text 'card 3 '
keys 1
swipe 4 8
wait_text 'card 8 '
keys F12
wait_text 'emergency-on site: done; its audit row is NOT YET STORED \(kept in memory\)' 30
wait_text 'audit rows waiting'
c3_status 'door1=[a-z]+,(unlocked|normalopen)'
make_rw
banner_within 5000 'journal storing again'
wait_gone 'JOURNAL UNAVAILABLE'
keys F11; wait_text 'End the emergency'; keys y
wait_gone 'EMERGENCY UNLOCK' 30
keys q; wait_text 'EXITED 0'
stop_tmux
got="$(cards_in_order "$db")"
[ "$got" = "$(seq_line 1 8)" ] || fail "cards not stored once each in order: $got"
[ "$(sql "$db" "SELECT result FROM audit WHERE action = 'emergency-on'")" = ok ] || fail "no emergency audit row"
[ "$(sql "$db" "SELECT count(*) FROM events WHERE code_name = 'journal not storing'")" = 1 ] || fail "no trouble row"
pass "read-only journal at start: banner, read-only history, emergency with its audit row stored afterwards"

# Direct mode (portierctl) with the journal read-only: a door action is refused (its audit row cannot be
# written first), the emergency runs and says that its rows are lost.
if [ -n "${PORTIERCTL:-}" ]; then
    make_ro
    rc=0
    "$PORTIERCTL" --direct -c "$TMP/site.conf" door open Front >"$TMP/ctl.out" 2>"$TMP/ctl.err" || rc=$?
    [ "$rc" != 0 ] || fail "door open ran without its audit row"
    grep -q 'audit record could not be stored' "$TMP/ctl.err" || fail "door open: $(cat "$TMP/ctl.err")"
    rc=0
    "$PORTIERCTL" --direct -c "$TMP/site.conf" emergency on >"$TMP/ctl.out" 2>"$TMP/ctl.err" || rc=$?
    [ "$rc" = 0 ] || fail "emergency on without a journal: exit $rc: $(cat "$TMP/ctl.err")"
    c3_status 'door1=[a-z]+,(unlocked|normalopen)'
    grep -Eq 'could not store [0-9]+ events and [1-9][0-9]* audit rows .*: they are lost' "$TMP/ctl.err" ||
        fail "portierctl did not count the lost audit rows: $(cat "$TMP/ctl.err")"
    make_rw
    "$PORTIERCTL" --direct -c "$TMP/site.conf" emergency off >"$TMP/ctl.out" 2>"$TMP/ctl.err" || fail "emergency off: $(cat "$TMP/ctl.err")"
    pass "portierctl with a read-only journal: door refused, emergency runs and counts its lost rows"
fi
