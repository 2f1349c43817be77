# The emergency banner keeps the restore key in sight at 80 columns and the status line its links count, also for an emergency begun before this
# console started (its text is longer than the line): its counts come first, the key stays at the right end; the
# failed doors are named before the reasons, those failed alike together.
source "$(dirname "$0")/lib.sh"
write_config
start 80x24 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
keys F12
wait_text 'EMERGENCY UNLOCK .* 2 doors: 0 confirmed, 0 pending, 2 failed +F11 = restore$'
# the status line keeps how many devices are down whole (the user's name and the clock give way first)
wait_text '^ Test site .* \(technician\) links 0/1 up, 1 down +0 alarms +EMERGENCY'
keys C-c; wait_text 'EXITED 0'
stop_tmux
start 80x24 "$PORTIER" -c "$TMP/site.conf"
wait_text '^ EMERGENCY ACTIVE .* 2 doors: 0 unlocked, 2 not confirmed .* F11 = restore$'
keys F11; wait_text 'End the emergency'
keys y; wait_text 'STILL ACTIVE|emergency-off'
keys C-c; wait_text 'EXITED 0'
stop_tmux
# the failed doors are named first, those with the same reason together, so the cut line still names them all
rm -rf "$TMP/state"
start 80x24 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
keys F12
wait_text '^ FAILED: (Front, Back|Back, Front) \(offline'
keys C-c; wait_text 'EXITED 0'
pass "the restore key stays on the emergency banner"
