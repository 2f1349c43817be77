# The NiX1 slave editor: fields validated as typed (ranges, cron, baud rate, zone), Enter refused while a
# field is wrong, the diff of the changes, apply through the slave-set action with one result per field
# and the slave's CONFIG.TXT changed, Esc; the editor starts from the slave's own settings (read when it
# opens); an operator may not edit.
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-200
start_nix1 --slaves 1 --configured
write_live_config
ADDR=$(echo $NIX1_ADDRS | cut -d' ' -f1)
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 4; wait_text "Vault +$ADDR +Bus 1 +up"
keys e; wait_text "Slave editor: Vault \\($ADDR\\)"
wait_text 'Values read from the slave'
wait_text 'Unit probe 1 +1 *$|Unit probe 1 +1 '
# Lock probe 2 -> 1
keys Down; keys BSpace; keys 1; wait_text 'Lock probe 2 +1 +changed'
# Unit probe 2: out of range, then letters, then fixed
keys Down Down; keys C-u; keys -l 70000; wait_text 'out of range 0-65534'
keys C-u; keys -l 12a; wait_text 'digits only, 0-65534'
keys Enter; wait_text 'field\(s\) do not validate'
keys C-u; keys -l 42; wait_gone 'digits only'
# Cron: a bad expression names the problem; a good one is accepted
keys Down Down; keys -l '99 * * * *'; wait_text 'Cron +99 \* \* \* \* +[a-z]'
keys C-u; keys -l '* 7-18 * * 1-5'; wait_text 'Cron +\* 7-18 \* \* 1-5 +changed'
# Baud rate and zone
keys Down Down Down Down Down Down; keys C-u; keys -l 1234; wait_text '1200 2400 4800 9600'
keys C-u; keys -l 19200; wait_gone '1200 2400 4800 9600'
keys Down; keys C-u; keys -l '+2500'; wait_text '\+HHMM or -HHMM'
keys C-u; keys -l '+0100'; wait_gone '\+HHMM or -HHMM'
# put the baud rate back (changing it would move the slave off the line's rate)
keys Up; keys C-u; keys -l 9600
# review: only the changes, old -> new
keys Enter; wait_text 'changes to apply'
wait_text 'Lock probe 2 +0 +-> 1'
wait_text 'Unit probe 2 +2 +-> 42'
wait_text 'Cron +\(unset\) +-> \* 7-18 \* \* 1-5'
wait_text 'Time zone +\+0000 +-> \+0100'
wait_gone 'Baud rate'
keys Escape; wait_text 'Up/Down move'
keys Enter; wait_text 'changes to apply'
keys y; wait_text 'Slave editor: Vault .*(applying|result)'
wait_text 'Vault: 4 setting\(s\) applied' 30
wait_text 'Lock probe 2 .*✓'
wait_text 'Unit probe 2 .*✓'
wait_text 'Time zone .*✓ ok \(clock set'
wait_file 'LOCK_1.1' "$TMP/usd/$ADDR/CONFIG.TXT"
wait_file 'UNIT_1.42' "$TMP/usd/$ADDR/CONFIG.TXT"
wait_file 'CRON.\* 7-18 \* \* 1-5' "$TMP/usd/$ADDR/CONFIG.TXT"
wait_file 'TIMEZONE.\+0100' "$TMP/usd/$ADDR/CONFIG.TXT"
keys Escape; wait_text 'NiX1 slaves'
# opened again, the editor shows the slave's values, not the configuration's (unit 2)
keys e; wait_text 'Values read from the slave'
wait_text 'Unit probe 2 +42( |$)'
wait_text 'Lock probe 2 +1( |$)'
keys Escape; wait_text 'NiX1 slaves'
keys 6; keys F2; wait_text 'slave-set +Vault +(ok|partial|failed)'
keys Enter; wait_text 'LOCK_1=1 UNIT_1=42 CRON=\* 7-18 \* \* 1-5 TIMEZONE=\+0100'
keys Escape
keys q; wait_text 'EXITED 0'
stop_tmux
# an operator may not edit slaves; a technician opens the slave's files (tests/screen/files.sh)
ROLE=operator write_live_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'operator\)'
keys 4; keys e; wait_text 'Not allowed for role operator'
keys Enter; wait_text 'Not allowed for role operator'
keys q; wait_text 'EXITED 0'
stop_tmux
write_live_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'technician\)'
keys 4; keys f; wait_text "Files on Vault \\($ADDR\\)"
keys Escape; wait_text 'NiX1 slaves'
keys q; wait_text 'EXITED 0'
pass "slave editor validation, diff, apply with per-field results, roles"
