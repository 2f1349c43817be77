# Events a C3 panel recorded while no console was running come back on the next start, before anything live:
# marked [recovered] in the live events and the history, with a gap row that says how many were recovered and
# that nothing was lost; an event's details say it was not seen live, and whose card it was.
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-200 --seed 4
CTL="${PORTIERCTL:?}"
printf 'pin,card,password,group,start,end,name,super\n7,7007,,0,,,Kim,0\n' >"$TMP/users.csv"
"$CTL" c3 "127.0.0.1:$C3_PORT" users import "$TMP/users.csv" >/dev/null || fail "preparing the panel's users"
write_live_config
start 200x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
c3 "swipe door=1 card=4444 pin=0 granted=0"
wait_text 'card 4444 .*'
keys q; wait_text 'EXITED 0'
stop_tmux
pass "first run: the panel is known to the journal"

# the console is gone; the panel goes on
c3 "swipe door=2 card=7007 pin=7"
c3 "swipe door=1 card=5555 pin=0 granted=0"
c3 "swipe door=2 card=7007 pin=7"
c3_status 'last=[0-9]+'
start 200x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
wait_text 'nothing lost, 3 events recovered from the panel'
wait_text '\[recovered\] .*card 5555'
[ "$(screen_text | grep -c '\[recovered\]')" -ge 3 ] || fail "three recovered events on screen"
wait_text 'link up: session, binary RT log, catch-up'
screen_text | grep -q 'no catch-up' && fail "the link-up row says there is no catch-up"
c3 "swipe door=1 card=6666 pin=0 granted=0"
wait_text 'card 6666'
screen_text | grep 'card 6666' | grep -q recovered && fail "a live event marked recovered"
pass "recovered events marked on screen, the gap row counts them, live ones are not marked"

keys 6; wait_text 'History: journal'
wait_text '\[recovered\] .*card 7007'
keys '/'; keys -l 7007; keys Enter; wait_text 'card 7007'
keys g; keys Enter
wait_text "recovered from the panel's event table \(not seen live\)"
# whose card: the first look reads the panel's users, and the details name the user once they are read
wait_text 'card 7007: user 7 Kim'
keys Escape
keys q; wait_text 'EXITED 0'
pass "the history marks them too; the details say not seen live, and whose card"
