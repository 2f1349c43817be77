# Emergency against live simulators: F12 from inside a dialog, banner with live per-door counts, every door
# marked, restore asks first and puts every door back; a mute panel shows up as failed doors; read-only refuses;
# a double-press site says when the window for the second press is over.
source "$(dirname "$0")/lib.sh"
live_site 5
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 3; wait_text 'Vault out'
keys o; wait_text 'seconds \(1-254\)'
keys F12
wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed, 0 pending, 0 failed' 30
wait_text 'EMERGENCY *$'
keys Escape
wait_text 'Front +door .*EMERGENCY'
wait_text 'Vault out +probe .*EMERGENCY'
# wide: every flag is shown whole in its column, the last action after it
resize 130 30
wait_text 'Front +door .*EMERGENCY held-open normal-open +. emergency-on: ok'
resize 100 30
# the panel agrees: its doors are unlocked
c3_status 'door1=[a-z]+,(unlocked|normalopen).*door2=[a-z]+,(unlocked|normalopen)'
keys F11; wait_text 'End the emergency'
keys n; wait_gone 'End the emergency'
wait_text 'EMERGENCY UNLOCK'
keys F11; wait_text 'End the emergency'
keys y
wait_gone 'EMERGENCY UNLOCK' 30
wait_text 'emergency-off site: done'
wait_gone 'Front .*EMERGENCY'
c3_status 'door1=[a-z]+,locked.*door2=[a-z]+,locked'
# the live events keep the whole result line (the event's name is not cut from a longer word)
keys 1; wait_text 'emergency +emergency-off ok: 4 confirmed'
keys 6; keys F2; wait_text 'emergency-off +site +ok'
wait_text 'emergency-on +site +ok'
# a panel that stops answering: its doors fail, the others are confirmed, the banner says which
c3 fault mute
keys 3
keys '!'
wait_text '4 doors: 2 confirmed, 0 pending, 2 failed' 40
wait_text 'FAILED: Front'
c3 fault none
keys R; wait_text 'End the emergency'; keys y
wait_gone 'EMERGENCY' 40
keys q; wait_text 'EXITED 0'
stop_tmux
start 100x30 "$PORTIER" --readonly -c "$TMP/site.conf"
wait_text 'guard, read-only'
keys F12; wait_text "Read-only console: 'EMERGENCY"
keys 3; wait_text 'Doors, aux'
keys o; wait_text 'Read-only console'
keys q; wait_text 'EXITED 0'
stop_tmux
# a site that asks for a double press: one press asks for the second, and says so when the window is over;
# two presses in time start it
sed -i 's/confirm = "none";/confirm = "double"; double_ms = 1000;/' "$TMP/site.conf"
grep -q 'double_ms = 1000' "$TMP/site.conf" || fail "could not edit the configuration"
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys F12; wait_text 'press again within 1.0 s'
wait_text 'Emergency NOT started: no second press within 1.0 s' 5
screen_text | grep -q 'EMERGENCY UNLOCK' && fail "one press started the emergency"
keys F12; keys F12
wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed' 30
keys R; wait_text 'End the emergency'; keys y
wait_gone 'EMERGENCY UNLOCK' 40
keys q; wait_text 'EXITED 0'
pass "emergency on/restore with per-door counts, failures, read-only"
