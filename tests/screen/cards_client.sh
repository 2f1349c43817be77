# The Cards view as a client of portierd: the panel's users read through the daemon (the panel-data-get action,
# audited there), whose card an event was, the user editor's check and change run by the daemon; two clients at
# once: while the console has its copy, portierctl (through the same daemon) gives another user a door, and the
# console's edit of its user's doors keeps that right (only the edited user's rights are replaced); a read-only
# console sees the users and may not change them.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}" "${PORTIERCTL:?}"
start_c3 --model C3-200 --seed 5
T="127.0.0.1:$C3_PORT"
printf 'id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,00:00-23:59,00:00-23:59,,,,,,,,\n2,,08:00-17:00,,,,,,,,\n' \
    >"$TMP/timezones.csv"
printf 'pin,card,password,group,start,end,name,super\n1,1001,,0,,,Ann,0\n2,2002,,0,,,Bob,0\n' >"$TMP/users.csv"
printf 'pin,door,timezone\n1,1,1\n' >"$TMP/access.csv"
for k in timezones users access; do
    "$PORTIERCTL" c3 "$T" "$k" import "$TMP/$k.csv" >/dev/null || fail "preparing the panel's $k"
done
write_live_config
start_portierd
start 120x30 env -u XDG_CONFIG_HOME "$PORTIER" --socket "$PD_SOCK"
wait_text 'connected to portierd .* as [^ ]+ \(technician\)'
wait_up
keys 7; wait_text 'Cards: Panel A'
wait_text '1001 +1 +Ann +always +1 \(tz 1\)'
wait_text '2002 +2 +Bob +always +no door'
c3 "swipe door=1 card=1001 pin=1"
keys 1; wait_text 'card 1001'
keys g; keys Enter; wait_text 'Card of: +user 1 Ann'
keys Escape; wait_gone 'Card of: '
pass "users and whose card, through portierd"

# another client gives Bob a door through the daemon; the console's copy does not know it yet
ctl access add 2 1 2 "Panel A" >/dev/null || fail "portierctl access add through portierd"
keys 7; wait_text 'Cards: Panel A'
wait_text '2002 +2 +Bob +always +no door'
# the console edits Ann: doors 1 2 in time zone 2 (Ann is the first row)
keys g; keys F3; wait_text 'User editor: Panel A, 1'
keys Down Down Down Down Down; keys C-u; keys -l '1 2'; keys Down; keys C-u; keys -l 2
keys Enter; wait_text 'changes to apply'
wait_text '\- pin=1 door=1 timezone=1'
wait_text '\+ pin=1 door=2 timezone=2'
screen_text | grep -q 'pin=2' && fail "the check touches Bob's rights"
keys y; wait_text 'Applied and read back'
keys Escape; wait_text '1001 +1 +Ann +always +1 2 \(tz 2\)'
wait_text '2002 +2 +Bob +always +1 \(tz 2\)'
ctl access list "Panel A" --csv >"$TMP/access.now" 2>&1 || fail "portierctl access list: $(cat "$TMP/access.now")"
grep -qx '2,1,2' "$TMP/access.now" || fail "the other client's right was lost: $(cat "$TMP/access.now")"
grep -qx '1,2,2' "$TMP/access.now" || fail "Ann's new right: $(cat "$TMP/access.now")"
grep -q '^1,1,1$' "$TMP/access.now" && fail "Ann's old right is still there: $(cat "$TMP/access.now")"
pass "an edit through portierd replaces only the edited user's rights; another client's change is kept"

# the daemon ran and audited the console's requests, under this user
ctl audit --limit 50 --csv >"$TMP/audit.csv" || fail "portierctl audit"
grep -q 'panel-data,Panel A,"access replace pin=1, ' "$TMP/audit.csv" || fail "audit: $(cat "$TMP/audit.csv")"
grep -q 'panel-data,Panel A,"access replace pin=1 dry-run, ' "$TMP/audit.csv" || fail "audit: no check of the change"
grep -q 'panel-data-get,Panel A,users list' "$TMP/audit.csv" || fail "audit: no read"
pass "the console's reads, checks and changes are in the daemon's audit"
keys q; wait_text 'EXITED 0'
stop_tmux

# a read-only console: the users, no editor
start 120x30 env -u XDG_CONFIG_HOME "$PORTIER" --socket "$PD_SOCK" --readonly
wait_text 'connected to portierd .* \(guard, read-only\)'
keys 7; wait_text '1001 +1 +Ann'
keys F2; wait_text 'Read-only console'
keys F4; wait_text 'Read-only console'
keys q; wait_text 'EXITED 0'
pass "a read-only console through portierd sees the users, may not change them"
