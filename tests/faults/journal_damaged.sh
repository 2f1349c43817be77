# A damaged journal: garbage where the header should be, or a truncated file, is moved aside at start
# (journal.db.corrupt-TIME) and a new journal started, with a row saying so; damage in the middle of a running
# journal shows the banner within 1 s, the check confirms it, the file is moved aside and everything kept in
# memory is stored in the new journal.
source "$(dirname "$0")/journal_lib.sh"
start_c3 --model C3-200
db="$TMP/j/journal.db"
mkdir -p "$TMP/j"
write_journal_config "$db"
moved() { ls "$TMP/j" | grep -c '^journal\.db\.corrupt-[0-9]\{8\}-[0-9]\{6\}\(-[0-9]*\)\?$' || true; }

# 1. Garbage instead of a database.
head -c 16384 /dev/urandom >"$db"
start 140x40 "$PORTIER" -c "$TMP/site.conf"
wait_text 'journal damaged +the journal .* was damaged'
wait_up
[ "$(moved)" = 1 ] || fail "the damaged file was not moved aside: $(ls "$TMP/j")"
screen_text | grep -q 'JOURNAL NOT STORING' && fail "banner although a new journal works"
keys q; wait_text 'EXITED 0'
stop_tmux
[ "$(sql "$db" "SELECT count(*) FROM events WHERE code_name = 'journal damaged' AND text LIKE '%(file is not a database): it was moved to %.corrupt-%'")" = 1 ] || fail "no row about it"

# 2. A truncated journal (a copy cut in the middle).
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO events(host_us, kind, severity, text) VALUES(?, 7, 0, ?)",
              [(1700000000000000 + i, "filler %d %s" % (i, "x" * 200)) for i in range(3000)])
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
size=$(stat -c %s "$db")
truncate -s $((size / 2)) "$db"
start 140x40 "$PORTIER" -c "$TMP/site.conf"
wait_text 'journal damaged +the journal .* was damaged' 20
wait_up
[ "$(moved)" = 2 ] || fail "the truncated file was not moved aside: $(ls "$TMP/j")"
keys q; wait_text 'EXITED 0'
stop_tmux

# 3. Damage in the middle of a running journal.
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO events(host_us, kind, severity, text, key) VALUES(?, 7, 0, ?, ?)",
              [(1700000000000000 + i, "filler %d %s" % (i, "x" * 200), "filler-%d" % i) for i in range(3000)])
c.commit()
PY
start 140x40 "$PORTIER" -c "$TMP/site.conf"
wait_up
wait_text 'console started'
swipe 1 3
wait_text 'card 3 '
python3 - "$db" <<'PY'
import sqlite3, sys, os
path = sys.argv[1]
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
size = os.path.getsize(path)
with open(path, "r+b") as f:   # every page but the first (the header and the schema stay readable)
    f.seek(4096)
    f.write(bytes((i * 131 + 7) & 0xFF for i in range(size - 4096)))
c.execute("PRAGMA user_version = 2")  # another writer: the console reads its pages again
PY
c3 swipe door=1 card=4 granted=1
# the banner, or (when the check confirmed the damage and the new journal took over before the screen was read)
# the row that came with it
banner_within 1000 'JOURNAL NOT STORING since [0-9:]+ . [0-9]+ events? kept in memory|journal not storing +the journal'
swipe 5 10
wait_text 'journal damaged +the journal .* was damaged' 30
wait_text 'journal storing again' 10
wait_gone 'JOURNAL NOT STORING'
wait_text 'card 10 '
sleep 0.5
keys q; wait_text 'EXITED 0'
[ "$(moved)" = 3 ] || fail "the damaged file was not moved aside: $(ls "$TMP/j")"
got="$(cards_in_order "$db")"
[ "$got" = "$(seq_line 4 10)" ] || fail "the new journal should hold cards 4..10 in order: $got"
[ "$(sql "$db" "SELECT count(*) FROM events WHERE kind = 5")" = 0 ] || fail "a not-stored row without a loss"
[ "$(sql "$db" "SELECT count(*) FROM events WHERE code_name = 'journal not storing' AND text LIKE '%cannot store: database damaged%'")" = 1 ] ||
    fail "no row saying why the journal could not store"
[ "$(sql "$db" "SELECT count(*) FROM events WHERE code_name = 'journal damaged' AND text LIKE '%(quick_check: %'")" = 1 ] ||
    fail "no row saying the check found the damage"
pass "damaged journal: moved aside at start (garbage, truncated) and while running; nothing kept was lost"
stop_tmux
