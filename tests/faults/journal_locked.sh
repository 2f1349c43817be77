# The journal locked by another process (BEGIN EXCLUSIVE held for seconds): the banner within 1 s, the
# screen answers at once meanwhile (the history can still be read), and once the lock is released every event
# is stored, in order, exactly once, with no "not stored" row.
source "$(dirname "$0")/journal_lib.sh"
start_c3 --model C3-200
db="$TMP/journal.db"
write_journal_config "$db"
start 140x40 "$PORTIER" -c "$TMP/site.conf"
wait_up
wait_text 'console started'
swipe 1 5
wait_text 'card 5 '
# Another process takes the write lock and keeps it until told.
mkfifo "$TMP/lock.in"
cat >"$TMP/lock.py" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
c.execute("ROLLBACK")
print("released", flush=True)
PY
python3 "$TMP/lock.py" "$db" <"$TMP/lock.in" >"$TMP/lock.out" 2>&1 &
SIMPIDS+=($!)
exec 9>"$TMP/lock.in"
wait_file locked "$TMP/lock.out"
c3 swipe door=1 card=6 granted=1
banner_within 1000 'JOURNAL NOT STORING since [0-9:]+ . [0-9]+ events? kept in memory'
wait_text 'locked by another process'
swipe 7 40
wait_text 'card 40 '
# The screen answers at once while the journal is locked, and the history is still readable.
t0=$(ms)
keys 6; within 1000 "$t0" 'History: journal'
within 1000 "$t0" 'card 5 '
keys 1; wait_text 'Live events'
sleep 2
wait_text 'JOURNAL NOT STORING'
echo release >&9
wait_file released "$TMP/lock.out"
banner_within 5000 'journal storing again'
wait_gone 'JOURNAL NOT STORING'
keys q; wait_text 'EXITED 0'
got="$(cards_in_order "$db")"
[ "$got" = "$(seq_line 1 40)" ] || fail "cards not stored once each in order: $got"
[ "$(sql "$db" "SELECT count(*) FROM events WHERE kind = 5")" = 0 ] || fail "a not-stored row without a loss"
[ "$(sql "$db" "SELECT count(*) FROM events WHERE code_name = 'journal not storing'")" = 1 ] || fail "no trouble row"
pass "locked journal: banner, screen answered, 40 cards stored in order after the lock"
stop_tmux
