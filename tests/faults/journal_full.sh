# A full disk under the journal (a real one: a 1 MB tmpfs filled to the last block): the banner within 1 s,
# every event still shown; the memory queue (50 events) is stored in order once there is space again, the
# rest counted in one "not stored" row with its time span; nothing is stored twice.
source "$(dirname "$0")/journal_lib.sh"
MNT="$TMP/disk"
mount_tmpfs "$MNT" 1m
start_c3 --model C3-200
write_journal_config "$MNT/journal.db" 50
start 140x40 "$PORTIER" -c "$TMP/site.conf"
wait_up
wait_text 'console started'
swipe 1 5
wait_text 'card 5 '
before=$(shown)
# Fill the disk to the last block.
dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null || true
sync
c3 swipe door=1 card=6 granted=1
banner_within 1000 'JOURNAL NOT STORING since [0-9:]+ . [0-9]+ events? kept in memory \(max 50\)'
wait_text '0 alarms  JOURNAL *$'
swipe 7 100
wait_text 'card 100 ' 30
sleep 0.5
after=$(shown)
wait_text 'JOURNAL NOT STORING.* kept in memory \(max 50\), [0-9]+ LOST'
wait_text 'disk full'
# The newest event's detail says it is not stored; the oldest kept ones wait in memory.
keys Enter; wait_text 'Journal: +NOT STORED'; keys Escape
# Space again: stored within the retry delay (1 s) and a flush.
rm -f "$MNT/fill"
banner_within 5000 'journal storing again'
wait_gone 'JOURNAL NOT STORING'
keys q; wait_text 'EXITED 0'
db="$MNT/journal.db"
outage=$((after - before))
[ "$outage" -ge 96 ] || fail "only $outage events shown during the outage"
# Every event the queue could hold is stored: the 50 kept (the trouble notice and cards 6..), in order.
kept=$(sql "$db" "SELECT count(*) FROM events WHERE id > (SELECT max(id) FROM events WHERE card = 5) AND kind != 5 AND code_name NOT IN ('journal storing again', 'console stopped')")
[ "$kept" = 50 ] || fail "$kept events stored from the outage, the queue held 50"
last=$(sql "$db" "SELECT max(card) FROM events WHERE kind = 0")
want="$(seq_line 1 "$last")"
got="$(cards_in_order "$db")"
[ "$got" = "$want" ] || fail "cards stored out of order or twice: $got"
# The rest is counted in one row, between the first and the last lost event.
lost=$(sql "$db" "SELECT text FROM events WHERE kind = 5 AND device = 'journal'")
[ "$(echo "$lost" | grep -c .)" = 1 ] || fail "expected one not-stored row: $lost"
n=$(echo "$lost" | sed -n 's/^\([0-9]*\) events and 0 audit rows could not be stored between .* and .*/\1/p')
[ "$n" = $((outage - 50)) ] || fail "the row counts $n lost events, $outage shown - 50 kept = $((outage - 50)): $lost"
pass "disk full: banner, $outage events shown, 50 stored in order, $n counted as not stored"
stop_tmux
