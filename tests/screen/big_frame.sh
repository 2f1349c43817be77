# A frame larger than the pipe curses writes into (its pipe left at one page, as when the user's pipe limit refuses
# a larger one) must neither hold the console nor lose a byte: a wide window's full redraws come out whole, keys
# answer, and with the terminal held the emergency key still acts while a redraw larger than the pipe waits.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
: "${PORTIER_SMALL_PIPE:?}"
SMALL="LD_PRELOAD=$PORTIER_SMALL_PIPE ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
journal_count() { sqlite3 -cmd '.timeout 2000' "$TMP/journal.db" "SELECT count(*) FROM events WHERE $1;"; }
live_site 17
start 230x70 env $SMALL "$PORTIER" -c "$TMP/site.conf"
wait_up 40
pane=$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{pane_pid}')
pid=$(pgrep -P "$pane" -f "$PORTIER" | head -1)
[ -n "$pid" ] || fail "no console process under the pane ($pane)"
# the pipe the console asked to grow (its output pipe) holds one page: the library took effect
sizes=$(python3 - "$pid" <<'PY'
import fcntl, os, sys
F_GETPIPE_SZ = 1032
d = "/proc/%s/fd" % sys.argv[1]
for fd in os.listdir(d):
    try:
        if not os.readlink(os.path.join(d, fd)).startswith("pipe:"):
            continue
        f = os.open(os.path.join(d, fd), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        continue
    print(fcntl.fcntl(f, F_GETPIPE_SZ))
    os.close(f)
PY
)
[ -n "$sizes" ] || fail "the console has no output pipe"
[ "$(echo "$sizes" | sort -n | head -1)" -le 4096 ] || fail "the console's output pipe is larger than a page: $sizes"
# a full Events pane: a redraw of it alone is several pages
for card in $(seq 5001 5080); do c3 swipe panel=0 door=$((card % 2 + 1)) card=$card; done
wait_text 'card 5080' 30
keys C-l; wait_text 'card 5080'
pass "a 230x70 window drawn through a one-page pipe"
# every pane, full width, several times: each a frame of many pages
for round in 1 2; do
    for k in 1 2 3 4 5 6 7; do keys "$k"; done
    keys 1; wait_text 'Live events'
    keys F1; wait_text 'Esc or F1 returns'; keys Escape
done
for card in 5101 5102 5103 5104 5105 5106; do c3 swipe panel=0 door=1 card=$card; done
wait_text '5106' 20
keys C-l; wait_text 'Live events'
resize 250 80
wait_text 'Live events'
deadline=$((SECONDS + 20))
until [ "$(screen_text | head -1 | wc -L)" -gt 240 ]; do
    [ $SECONDS -lt $deadline ] || fail "the screen was not drawn at the new width"
    sleep 0.2
done
screen_text | grep -qE $'\e|\\[[0-9;]+[mHJK]' && fail "escape sequence text on the screen"
screen_whole "redraws larger than the pipe"
pass "full redraws larger than the pipe: drawn whole, keys answered"

# held terminal (XOFF): a resize asks for a full redraw larger than the pipe; the emergency key still acts
keys C-s
resize 240 75
c3 activity panel=0 rate=20
keys F12
c3_status 'door1=[a-z]+,(unlocked|normalopen).*door2=[a-z]+,(unlocked|normalopen)' 20
deadline=$((SECONDS + 20))
until [ "$(journal_count "text LIKE '%emergency-on%'")" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || fail "the emergency was not journaled while the terminal was held"
    sleep 0.2
done
pass "held terminal, redraw larger than the pipe: the emergency key unlocked the doors"
c3 activity panel=0 rate=0
keys C-q
wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed' 30
keys R; wait_text 'End the emergency'; keys y
wait_gone 'EMERGENCY UNLOCK' 40
keys q; wait_text 'EXITED 0'
pass "after the stall the console quits normally"
