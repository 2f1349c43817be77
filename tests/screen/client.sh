# The console as a client of portierd: it needs only the socket; events, alarms and the emergency come from the
# daemon; an acknowledgement or an emergency by another client (portierctl) shows at once (status naming a door's
# alarm and its emergency together); a comment given with
# an acknowledgement from the console is journaled by the daemon; the history is the
# daemon's journal; a killed daemon shows NOT CONNECTED (the screen kept, the emergency and restore keys saying why
# they cannot act) and the console reconnects by itself; a door action from the console is audited by the daemon
# under this user; a reload that changes the site makes the console start again; `portier --demo` runs a private
# portierd that portierctl can join (its directory removed even when its terminal closes), `--demo --direct` none.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}" "${PORTIERCTL:?}"
live_site 3
start_portierd
# direct mode refuses devices the daemon owns, and says to use it
start 120x30 "$PORTIER" -c "$TMP/site.conf" --direct
wait_text 'is owned by pid [0-9]+ \(portierd\).*use it'
wait_text 'EXITED 1'
stop_tmux
pass "portier --direct refuses the devices portierd owns"
# no configuration for the console: only the socket
start 120x30 env -u XDG_CONFIG_HOME "$PORTIER" --socket "$PD_SOCK"
wait_text 'connected to portierd .* as [^ ]+ \(technician\)'
wait_up
c3 swipe door=1 card=4242 granted=1
wait_text 'Panel A +Front .*card 4242'
pass "connected through the socket only; live events from the daemon"

# an alarm, acknowledged by another client: gone from this console at once
c3 force door=2
wait_text '[1-9] alarms?' 30
keys 5; wait_text 'Panel A +Back +door forced open'
id=$(ctl journal --severity alarm --search 'door forced open' --limit 1 --csv | awk -F, 'NR==2 {print $1}')
[ -n "$id" ] || fail "no forced-door alarm in the daemon's journal"
sleep 1 # the door's own alarm too (door status: opened)
ctl ack "$id" --comment "seen from portierctl" >/dev/null || fail "portierctl ack $id"
wait_text "alarm #$id acknowledged by [^ ]+ \(another client\)" 15
for a in $(ctl journal --severity alarm --limit 20 --csv | awk -F, 'NR>1 {print $1}'); do
    [ "$a" = "$id" ] || ctl ack "$a" >/dev/null || fail "portierctl ack $a"
done
wait_text 'No alarm waiting' 15
pass "an acknowledgement by portierctl clears the console's alarm"

# acknowledged from the console with a comment: the daemon journals the comment beside the acknowledgement
c3 close door=2
c3 force door=2
wait_text 'Panel A +Back +door forced open' 30
keys g; keys C; wait_text 'Comment \(recorded'
# a comment as long as the field takes, in a script of two-byte characters: kept whole, so it can be sent
keys -l "checked from the console: $(printf 'é%.0s' $(seq 140))"; keys Enter
wait_text 'Alarm acknowledged \(Panel A Back\)'
deadline=$((SECONDS + 15))
until ctl journal --search 'checked from the console' --csv | grep -q 'acknowledge comment.*acknowledged event #'; do
    [ $SECONDS -lt $deadline ] || fail "the comment is not in the daemon's journal: $(ctl journal --limit 5 --csv)"
    sleep 0.2
done
for a in $(ctl journal --severity alarm --limit 20 --csv | awk -F, 'NR>1 {print $1}'); do
    ctl ack "$a" >/dev/null 2>&1 || true
done
wait_text 'No alarm waiting' 15
pass "a comment acknowledged from the console is journaled by the daemon"

# the emergency started elsewhere: the console's banner; ended elsewhere: gone
ctl emergency on >/dev/null 2>&1 || fail "portierctl emergency on"
wait_text 'EMERGENCY' 15
# a door whose panel alarm is still on says so, and that the emergency holds it open
ctl status | grep -Eq '^  door  2 Back +ALARM, emergency open +sensor (open|closed)$' || fail "status of the forced door: $(ctl status 2>&1)"
ctl emergency off >/dev/null 2>&1 || fail "portierctl emergency off"
wait_gone 'EMERGENCY (UNLOCK|ACTIVE)' 30
pass "the emergency from another client shows on the console and goes"

# a door action from the console: run and audited by the daemon
keys 3; wait_text 'Front +door +Panel A +1 closed +locked'
keys g; keys o; wait_text 'Front: seconds \(1-254\)'
keys C-u; keys -l 3; keys Enter
wait_text 'Front .*door-open: ok' 20
wait_text 'door-open Front: done'
ctl audit --limit 5 --csv | grep -q 'door-open,Front' || fail "the daemon's audit has no open: $(ctl audit --limit 5 --csv)"
pass "a door action from the console goes through the daemon and is audited"

# the emergency from the console: run by the daemon, every client sees it; restored from the console
keys Escape; keys 1
keys F12
wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed, 0 pending, 0 failed' 30
ctl status 2>/dev/null | grep -qi 'emergency.*\(on\|active\)' || fail "portierctl status shows no emergency: $(ctl status 2>&1)"
keys F11; wait_text 'End the emergency'
keys y
wait_gone 'EMERGENCY UNLOCK' 30
wait_text 'emergency-off site: done'
c3_status 'door1=[a-z]+,locked.*door2=[a-z]+,locked'
pass "the emergency key runs the emergency in the daemon; restored from the console"

# the history is the daemon's journal
keys 6; keys /; keys -l 'card 4242'; keys Enter
wait_text 'Panel A +Front .*card 4242'
keys F3; keys F2; wait_text 'operator audit trail'
wait_text 'ack +[0-9]+ +ok'
keys F2; keys 1
pass "the history pane queries the daemon's journal and audit"

# the daemon killed: NOT CONNECTED; back: connected again, and what happened meanwhile is shown
keys 1; c3 swipe door=1 card=4343 granted=1; wait_text 'Panel A +Front .*card 4343'
kill -9 "$PD_PID"; wait "$PD_PID" 2>/dev/null || true
wait_text 'NOT CONNECTED TO portierd since .* no action can be sent' 15
wait_text 'links \?/2 up'
screen_text | grep -Eq 'Panel A +Front .*card 4343' || fail "the screen lost what it showed when the daemon went"
pass "the daemon killed: NOT CONNECTED, links unknown, the screen keeps what it had"
# the emergency key cannot act: it says why, over the screen; so does restore
keys F12
wait_text 'EMERGENCY NOT POSSIBLE'
wait_text 'not connected to it'
wait_text 'Nothing was sent: no door was changed'
c3_status 'door1=[a-z]+,locked.*door2=[a-z]+,locked'
keys Escape; wait_gone 'Nothing was sent: no door was changed' 5
keys F11
wait_text 'RESTORE NOT POSSIBLE'
pass "the emergency and restore keys say why they cannot act while the daemon is gone"
# the box goes by itself once the daemon is back
start_portierd
wait_text 'connected to portierd again' 30
wait_gone 'NOT CONNECTED' 10
wait_gone 'RESTORE NOT POSSIBLE' 10
wait_up
c3 swipe door=1 card=5151 granted=1
wait_text 'Panel A +Front .*card 5151' 20
pass "a killed daemon shows NOT CONNECTED; the console reconnects by itself"

# the daemon's site changes shape (a reload with one more aux output): the console starts again on it
sed -i 's/aux = \["Siren"\]/aux = ["Siren", "Horn"]/' "$TMP/site.conf"
grep -q Horn "$TMP/site.conf" || fail "could not edit the configuration"
kill -HUP "$PD_PID"
wait_text 'connected to portierd .* as' 30
wait_up
keys 3; wait_text 'Horn +aux +Panel A' 20
keys 1; c3 swipe door=1 card=6161 granted=1
wait_text 'Panel A +Front .*card 6161' 20
pass "a reload that changes the site's shape: the console starts again on the new site"

keys q; wait_text 'EXITED 0'
stop_tmux
kill "$PD_PID" 2>/dev/null; wait "$PD_PID" 2>/dev/null || true

# the demo: a private portierd on a temporary socket, the console its client; portierctl joins it
start 120x30 env PORTIER_DAEMON="$PORTIERD" "$PORTIER" --demo
wait_text 'connected to portierd .* at .*portierd.sock' 30
wait_up 60
demo_sock=$(screen_text | grep -Eo '/[^ ]*portier-demo\.[^ /]*/portierd\.sock' | head -1)
[ -S "$demo_sock" ] || fail "no demo socket on screen"
"$PORTIERCTL" --socket "$demo_sock" status >/dev/null || fail "portierctl cannot join the demo's portierd"
keys q; wait_text 'EXITED 0' 20
[ ! -e "$demo_sock" ] || fail "the demo's portierd outlived the console"
stop_tmux
pass "portier --demo runs the console on a private portierd (portierctl joins it; gone on quit)"
# its terminal closed (a dropped SSH connection): the demo still stops, and its directory goes
start 120x30 env PORTIER_DAEMON="$PORTIERD" "$PORTIER" --demo
wait_text 'connected to portierd .* at .*portierd.sock' 30
demo_dir=$(screen_text | grep -Eo '/[^ ]*portier-demo\.[^ /]*/portierd\.sock' | head -1)
demo_dir=${demo_dir%/portierd.sock}
[ -d "$demo_dir" ] || fail "no demo directory on screen"
stop_tmux
deadline=$((SECONDS + 15))
while [ -e "$demo_dir" ]; do
    [ $SECONDS -lt $deadline ] || fail "the demo's directory outlived its closed terminal: $(ls "$demo_dir")"
    sleep 0.2
done
pass "portier --demo whose terminal closes removes its directory"
start 120x30 "$PORTIER" --demo --direct
wait_up 60
screen_text | grep -q 'NOT CONNECTED\|portierd' && fail "--demo --direct went through a daemon"
keys q; wait_text 'EXITED 0' 20
pass "portier --demo --direct: the console owns the simulated site"
