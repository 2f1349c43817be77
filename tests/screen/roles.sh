# A guard watches and acknowledges: every state-changing request is refused with the role named, the help
# marks what needs more, the function-key bar stays; read-only forces guard and says so.
source "$(dirname "$0")/lib.sh"
ROLE=guard write_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'root \(guard\)|\(guard\)'
keys 3; wait_text 'Doors, aux'
for k in o c h r n N x; do
    keys "$k"; wait_text 'Not allowed for role guard'
    keys Escape
done
keys F12; wait_text 'Not allowed for role guard \(needs operator\): EMERGENCY'
keys F11; wait_text 'Not allowed for role guard \(needs operator\): End the emergency'
keys 4; keys e; wait_text 'Not allowed for role guard'
keys 5; keys F2; wait_text 'No alarm to acknowledge'
keys 3; keys '?'; wait_text 'door-open +\[operator\] Open the door'
keys Escape
keys q; wait_text 'EXITED 0'
pass "guard role refusals and help marks"
