# Below 80x24 the console says what it needs and still answers the emergency key (its progress and the restore
# question shown there); a resize redraws at once;
# monochrome (NO_COLOR) draws without colours, ASCII mode without line-drawing glyphs; 80x24 fits.
source "$(dirname "$0")/lib.sh"
write_config
start 60x15 NO_COLOR=1 PORTIER_ASCII=1 "$PORTIER" -c "$TMP/site.conf"
wait_text 'at least 80x24'
wait_text 'this one is 60x15'
resize 100 30
wait_text 'Live events'
wait_text 'Test site \| '
resize 70 30
wait_text 'at least 80x24'
wait_text 'this one is 70x30'
# the emergency key works on the small screen (the devices here are unreachable: the doors fail)
keys F12
wait_text 'EMERGENCY ACTIVE: 2 doors, 0 confirmed, 0 pending, 2 failed'
# the restore key's question is shown here too, and answered here; a hidden text field takes no keys
keys F11
wait_text 'Restore: End the emergency'
wait_text 'y/Enter = yes   n/Esc = no'
keys n
wait_gone 'Restore: End the emergency' 5
wait_text 'EMERGENCY ACTIVE'
resize 100 30
wait_text 'EMERGENCY UNLOCK \* 2 doors: 0 confirmed, 0 pending, 2 failed'
wait_text 'FAILED: Front'
# no colour in monochrome: only bold/reverse/underline attributes
if tmux -L "$SOCK" capture-pane -e -p -t t | grep -Eq $'\e\\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5|48;5)[;m]'; then
    fail "colour escape sequences in NO_COLOR mode"
fi
tmux -L "$SOCK" capture-pane -e -p -t t | grep -Eq $'\e\\[[0-9;]*7m' || fail "no reverse video for the banner"
# 80x24 is enough for every pane, and the function-key bar keeps the emergency key
resize 80 24
for k in 1 2 3 4 5 6; do
    keys $k
    wait_text 'F12EMERG'
done
keys 3; wait_text 'F2Open .*F12EMERG'
keys F10; wait_text 'EXITED 0'
stop_tmux
# colours by default
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
wait_text 'Test site │ '
tmux -L "$SOCK" capture-pane -e -p -t t | grep -Eq $'\e\\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5|48;5)[;m]' || fail "no colours"
keys q; wait_text 'EXITED 0'
stop_tmux
# a double-press site: what the emergency key says is shown on the small screen too
CONFIRM=double write_config
start 60x15 "$PORTIER" -c "$TMP/site.conf"
wait_text 'at least 80x24'
keys F12; wait_text 'press again within 2.0 s'
wait_text 'Emergency NOT started' 10
keys q; wait_text 'EXITED 0'
stop_tmux
# a typed-word site: the word's field is shown and typed into on the small screen
CONFIRM=word write_config
start 60x15 "$PORTIER" -c "$TMP/site.conf"
wait_text 'at least 80x24'
keys F12; wait_text 'EMERGENCY: Unlock EVERY door of the site. Type EMERGENCY'
keys -l EMERG; wait_text '^> EMERG_'
keys -l ENCY; keys Enter
wait_text 'EMERGENCY ACTIVE: 2 doors'
stop_tmux
pass "small window message, emergency there, resize, monochrome, ASCII, 80x24"
