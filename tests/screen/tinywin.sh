# Tiny windows (60x20, 40x12, 20x5) while events flood in: the keys that still work (the emergency key first) are
# shown, every line wrapped rather than cut, the emergency state first; what does not fit is said to be hidden.
# Resizes in a loop leave no garbage and no crash.
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-400 --seed 5 --activity 200
write_live_config
sed -i 's/doors = \["Front", "Back"\]; aux = \["Siren"\];/doors = ["Front", "Back", "Garage", "Server room"];/; s/C3-200/C3-400/' "$TMP/site.conf"
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 3; wait_text 'Server room'
resize 60 20
wait_text '^Keys here: F12/! EMERGENCY, F10/q quit$'
wait_text '^portier needs a terminal of at least 80x24$'
resize 40 12
wait_text '^Keys here: F12/! EMERGENCY, F10/q quit$'
wait_text '^portier needs a terminal of at least$'   # wrapped at a word, not cut
wait_text '^80x24$'
wait_text '^this one is 40x12: please enlarge the$'
resize 20 5
wait_text '^Keys here: F12/!$'
wait_text '^EMERGENCY, F10/q$'
wait_text '^\+[0-9]+ lines hidden$'
# the emergency: its state comes first, then the restore question and the keys
keys F12
wait_text '^EMERGENCY ACTIVE: 4$'
wait_text '^\+[0-9]+ lines hidden$'
resize 40 12
wait_text '^EMERGENCY ACTIVE: 4 doors, 4 confirmed,$'
wait_text '^Keys here: F12/! EMERGENCY, F11/R$'
wait_text '^restore, F10/q quit$'
keys F11
wait_text '^Restore: End the emergency and put$'
wait_text '^y/Enter = yes   n/Esc = no$'
keys y
wait_gone 'EMERGENCY ACTIVE' 15
# resizes in a loop while events flood in: alive, and what is left on screen is what a full redraw shows
resize 100 30
wait_full_size
keys 1; wait_text 'Live events'
for i in $(seq 15); do
    for s in "80 24" "20 5" "120 40" "40 12" "81 25" "60 20" "100 30"; do resize ${s% *} ${s#* }; done
done
wait_full_size
wait_text 'Live events'
keys 3; wait_text 'Server room'
# the Doors view at 100x30: 4 door rows under its headings, nothing else down to the message line
S=$(screen_text)
echo "$S" | sed -n '5,8p' | grep -Evq '^(Front|Back|Garage|Server room) +door +Panel A +[1-4] ' &&
    fail "a door row is not what a redraw shows"
[ -z "$(echo "$S" | sed -n '9,28p' | tr -d ' ')" ] || fail "left over on screen after the resizes"
[ "$(echo "$S" | LC_ALL=C.UTF-8 wc -L)" -le 100 ] || fail "a line wider than the window"
keys q; wait_text 'EXITED 0'
pass "tiny windows: keys, wrapping, emergency first, hidden lines said; resizes under a flood"
