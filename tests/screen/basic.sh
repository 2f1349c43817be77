# Every pane, help generated from the table, Tab cycling, quit.
source "$(dirname "$0")/lib.sh"
write_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Test site'
wait_text 'Live events'
wait_text 'F1.*Help'
keys Tab; wait_text 'iButton events'
keys Tab; wait_text 'Doors, aux outputs and probes'
wait_text 'Front'
keys Tab; wait_text 'NiX1 slaves'
keys Tab; wait_text 'Alarms waiting'
keys Tab; wait_text 'History: journal'
keys F2; wait_text 'operator audit trail'
keys '?'; wait_text 'EMERGENCY: unlock every door'
wait_text 'door-open'
keys Escape; wait_text 'History'
keys 3; wait_text 'Doors, aux'
keys q; wait_text 'EXITED 0'
pass "panes, help, quit"
