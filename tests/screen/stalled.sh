# A terminal that stops reading (Ctrl-S flow control here; a stalled SSH link or a tmux client that stopped
# reading alike) must not stop the console: while its output is held, devices are still polled, their events
# journaled, keys still read and the emergency key still acts; when the output flows again the screen is whole
# and up to date (a redraw shows nothing different).
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
live_site 11
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 1; wait_text 'Live events'
# requests N: the C3 simulator's count of requests served (the console polls every 200 ms)
requests() {
    c3 status panel=0
    local i
    for i in $(seq 50); do
        local n
        n=$(grep -a 'ok panel=0 ' "$TMP/c3.out" | tail -1 | grep -oE ' requests=[0-9]+' | cut -d= -f2)
        [ -n "$n" ] && [ "$n" != "${LAST_REQ:-}" ] && { LAST_REQ=$n; echo "$n"; return 0; }
        sleep 0.1
    done
    echo "${LAST_REQ:-0}"
}
journal_count() { sqlite3 -cmd '.timeout 2000' "$TMP/journal.db" "SELECT count(*) FROM events WHERE $1;"; }
# wait_journal WHERE N SECONDS WHAT: until the journal has N rows matching WHERE.
wait_journal() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(journal_count "$1")" -ge "$2" ] && return 0
        sleep 0.2
    done
    fail "while the output was stalled: $4 (journal rows: $(journal_count "$1") of $2)"
}

# ---- stall the terminal: XOFF (the pane's line discipline holds every byte the console writes) ----
keys C-s
# events arrive and keep arriving while the console is held: the screen has plenty to write
for card in 4201 4202 4203 4204 4205; do c3 swipe panel=0 door=1 card=$card; done
c3 activity panel=0 rate=20
r0=$(requests)
wait_journal 'card BETWEEN 4201 AND 4205' 5 20 "the swiped cards were not journaled"
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ]; do
    r1=$(requests)
    [ $((r1 - r0)) -ge 25 ] && break
    sleep 0.3
done
[ $((r1 - r0)) -ge 25 ] || fail "while the output was stalled the panel was polled $((r1 - r0)) times (expected >= 25)"
pass "stalled output: events journaled, panel polled ($((r1 - r0)) requests)"
# NiX1 bus traffic goes on too: an iButton at the Vault reaches the journal
nix1 present slave=$(echo $NIX1_ADDRS | cut -d" " -f1) probe=1 uid=Stalled
wait_journal "text LIKE '%Stalled%' OR uid LIKE '%Stalled%'" 1 20 "the iButton at the Vault was not journaled"
# the emergency key acts at once, though the screen cannot show it yet
keys F12
c3_status 'door1=[a-z]+,(unlocked|normalopen).*door2=[a-z]+,(unlocked|normalopen)' 20
wait_journal "text LIKE '%emergency-on%'" 1 20 "the emergency was not journaled"
pass "stalled output: the emergency key unlocked the panel's doors"
c3 activity panel=0 rate=0

# the window changes size meanwhile
resize 110 32

# ---- the terminal reads again: the screen catches up, whole, at its new size ----
keys C-q
wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed' 30
[ "$(screen_text | head -1 | wc -L)" -gt 100 ] || fail "the screen was not drawn at the new width"
screen_whole "the stall"
keys F1; wait_text 'Esc or F1 returns'
screen_whole "the stall, in a view no late event changes"
keys Escape
screen_text | grep -qE $'\e|\\[[0-9;]+[mHJK]' && fail "escape sequence text on the screen"
keys 2; wait_text 'Vault +1 +Vault in +Stalled'
pass "after the stall the screen is whole"
keys R; wait_text 'End the emergency'; keys y
wait_gone 'EMERGENCY UNLOCK' 40
keys q; wait_text 'EXITED 0'
pass "after the stall the console quits normally"

# ---- SIGTERM while the terminal is held: the console ends at once and the terminal is restored ----
stop_tmux
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
pane=$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{pane_pid}')
pid=$(pgrep -P "$pane" -f "$PORTIER" | head -1)
[ -n "$pid" ] || fail "no console process under the pane ($pane)"
keys C-s
c3 activity panel=0 rate=20
wait_journal "id > 0" $(( $(journal_count "id > 0") + 20 )) 20 "events stopped reaching the journal"
kill -TERM "$pid"
deadline=$((SECONDS + 10))
while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "SIGTERM did not end the console while its terminal was held"
# what is left to write the held output (until the terminal reads again) holds nothing of the console's: not
# the journal, not a device's owner lock, not the panel's connection (a panel serves one client)
holders=$(for p in /proc/[0-9]*; do
    if ls -l "$p/fd" 2>/dev/null | grep -qE "$TMP/journal.db|$PORTIER_LOCK_DIR"; then echo "${p#/proc/}"; fi
done)
[ -z "$holders" ] || fail "after the console ended, processes still hold its journal or device locks: $holders ($(ps -o pid,args -p "${holders//$'\n'/,}" 2>&1))"
c3 activity panel=0 rate=0
keys C-q
wait_text 'EXITED 0'
[ "$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{alternate_on}')" = 0 ] || fail "the terminal was left on the alternate screen"
[ "$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{cursor_flag}')" = 1 ] || fail "the cursor was left hidden"
pass "SIGTERM while held: ended, terminal restored"

# ---- Ctrl-Z hands the terminal back to the shell; on continuing, the screen is drawn whole ----
stop_tmux
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
pane=$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{pane_pid}')
pid=$(pgrep -P "$pane" -f "$PORTIER" | head -1)
keys C-z
deadline=$((SECONDS + 10))
until [ "$(ps -o stat= -p "$pid" | cut -c1)" = T ] && \
      [ "$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{alternate_on}')" = 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "Ctrl-Z: not stopped with the terminal handed back"
    sleep 0.1
done
kill -CONT "$pid"
wait_text 'Live events'
[ "$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{alternate_on}')" = 1 ] || fail "Ctrl-Z: the screen was not taken again"
keys q; wait_text 'EXITED 0'
pass "Ctrl-Z: suspended and continued"
# ---- a link that stops reading (the console on a pty relayed like an SSH session): its writes fill the pty ----
stop_tmux
c3 activity panel=0 rate=20
start 100x30 python3 "$(dirname "$0")/stall_pty.py" "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 1; wait_text 'Live events'
relay=$(pgrep -P "$(tmux -L "$SOCK" display -p -t "${SESSION:-t}" '#{pane_pid}')" -f stall_pty.py | head -1)
[ -n "$relay" ] || fail "no relay process"
kill -USR1 "$relay"
r0=$(requests)
j0=$(journal_count "id > 0")
# the console redraws for every few events: well over what the pty buffers
wait_journal "id > 0" $((j0 + 200)) 30 "events stopped reaching the journal"
r1=$(requests)
[ $((r1 - r0)) -ge 25 ] || fail "while the relay did not read, the panel was polled $((r1 - r0)) times (expected >= 25)"
keys 3
c3 activity panel=0 rate=0
kill -USR2 "$relay"
wait_text 'Doors, aux' 20
keys F1; wait_text 'Esc or F1 returns' # a view that no late door change redraws meanwhile
screen_whole "the stalled link"
keys q; wait_text 'EXITED 0'
pass "a link that stops reading: events journaled ($(( $(journal_count "id > 0") - j0 ))), panel polled ($((r1 - r0))), screen whole after"
pass "stalled terminal output"
