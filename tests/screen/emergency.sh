# Emergency from any pane and dialog: banner with per-door counts; restore asks first; read-only refuses.
source "$(dirname "$0")/lib.sh"
write_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
keys /; wait_text 'Search'
keys F12
wait_text 'EMERGENCY UNLOCK'
wait_text 'confirmed, [0-9]+ pending, [0-9]+ failed'
keys F11; wait_text 'End the emergency'
keys y
wait_gone 'EMERGENCY UNLOCK' 30
keys q; wait_text 'EXITED 0'
tmux -L "$SOCK" kill-server
start 100x30 "$PORTIER" --readonly -c "$TMP/site.conf"
wait_text 'guard, read-only'
keys 3; wait_text 'Doors, aux'
keys o; wait_text 'Read-only console'
keys q; wait_text 'EXITED 0'
pass "emergency on/restore, read-only"
