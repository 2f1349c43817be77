# The user editor when things go wrong, at 80x24: a panel that refuses the change shows its code (as portierctl
# does) and keeps its rows, for an edit and a delete, in direct mode and through portierd; bad input in every
# field is refused by the form with the field named and nothing is sent (no request in the audit); a panel that
# stops answering leaves the operator a way out (Esc) of the check and of the change, whose outcome still comes;
# one that stays away fails the change after the 15 s link-wait bound, and the change is never written later.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}" "${PORTIERCTL:?}"
start_c3 --model C3-200 --seed 4
T="127.0.0.1:$C3_PORT"
printf 'id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,00:00-23:59,00:00-23:59,,,,,,,,\n' >"$TMP/timezones.csv"
printf 'pin,card,password,group,start,end,name,super\n1,1001,,0,,,Ann,0\n2,2002,,0,,,Bob,0\n' >"$TMP/users.csv"
printf 'pin,door,timezone\n1,1,1\n' >"$TMP/access.csv"
for k in timezones users access; do
    "$PORTIERCTL" c3 "$T" "$k" import "$TMP/$k.csv" >/dev/null || fail "preparing the panel's $k"
done
users_now() { "$PORTIERCTL" c3 "$T" users export 2>&1; }
# fault MODE: set the simulated panel's fault and wait until the simulator has taken it (its answer is new)
fault() {
    local before deadline=$((SECONDS + 20))
    before=$(grep -c "^ok fault $1 " "$TMP/c3.out" || true)
    c3 "fault $1"
    while [ "$(grep -c "^ok fault $1 " "$TMP/c3.out" || true)" -le "$before" ]; do
        [ $SECONDS -lt $deadline ] || fail "the simulator did not take fault $1"
        sleep 0.1
    done
}
write_live_config
# audit rows of the editor's requests (panel-data), as "request|result", oldest first
audit_rows() {
    "$PORTIERCTL" "$@" audit --csv --limit 500 >"$TMP/audit.csv" 2>&1 || fail "portierctl audit: $(cat "$TMP/audit.csv")"
    python3 - "$TMP/audit.csv" <<'PY'
import csv, sys
for r in sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: int(r["id"])):
    if r["action"] == "panel-data":
        print("%s|%s" % (r["params"].split(",")[0], r["result"]))
PY
}

# ---- a refused change, direct mode ----
start 80x24 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 7; wait_text '1001 +1 +Ann +always +1 \(tz 1\)'
fault refuse=-13
keys F3; wait_text 'User editor: Panel A, 1'
keys C-u; keys -l Anna; keys Enter
wait_text '~ pin=1: name Ann -> Anna'
keys y
wait_text 'FAILED \(NOT saved\): \(code -13\) writing: unknown or'
wait_text 'Panel A, 1 +result'
keys Escape; wait_text '1001 +1 +Ann +always'
pass "a refused edit shows the panel's code"
keys G; keys F4; wait_text 'Delete user 2 \(Bob\)'
keys y; wait_text 'FAILED \(NOT deleted\): \(code -13\)'
screen_text | grep -q 'row was written' && fail "a failed delete claims a written row"
keys Escape; wait_text '2002 +2 +Bob'
c3_status ' users=2 access=1 '
pass "a refused delete shows the panel's code; the panel's users are as they were"
fault none
# the audit at 80 columns: who, what (which user) and the result of each request
keys 6; keys F2; wait_text 'operator audit trail'
wait_text "^[-0-9: ]+ +$(id -un | cut -c1-8) +panel-data +failed +Panel A: users delete pin=2"
wait_text "^[-0-9: ]+ +$(id -un | cut -c1-8) +panel-data +failed +Panel A: users set pin=1 \\[name\\]"
keys F2; wait_text 'History: journal'
keys 7; wait_text '1001 +1 +Ann'
pass "the audit view at 80 columns says who, which user and the result"

# ---- bad input: refused by the form, nothing sent ----
keys g; keys F3; wait_text 'User editor: Panel A, 1'
refused() { # FIELD-DOWNS VALUE REGEX: type VALUE into the field DOWNS rows below the name, expect REGEX
    local i
    for ((i = 0; i < $1; i++)); do keys Down; done
    keys C-u; keys -l "$2"; keys Enter; wait_text "$3"
    keys C-u
    for ((i = 0; i < $1; i++)); do keys Up; done
}
refused 1 12x "Card: '12x' is not a number 1-4294967295 \\(empty: no card\\)\\. Nothing was sent\\."
refused 1 99999999999 "Card: '9999999999' is not a number 1-4294967295"
refused 1 0 "Card: '0' is not a number 1-4294967295"
keys Down; keys -l 1001; keys Up
refused 2 12a4 "Keypad password: '12a4': only digits, at most 8"
refused 3 2025-13-01 "Valid from: '2025-13-01' is not a date YYYY-MM-DD"
refused 4 2025-02-30 "Valid until: '2025-02-30' is not a date YYYY-MM-DD"
keys Down Down Down; keys -l 2026-05-01; keys Down; keys C-u; keys -l 2026-04-30; keys Enter
wait_text 'Valid until: 2026-04-30 is before 2026-05-01\. Nothing was sent\.'
keys C-u; keys Up; keys C-u; keys Up Up Up
refused 5 '1 9' 'Doors: 9 is not a door of Panel A \(1-2, separated by spaces\)\. Nothing was'
refused 5 'front' 'Doors: front is not a door of Panel A'
keys Down Down Down Down Down; keys -l 1; keys Down; keys C-u; keys -l 7; keys Enter
wait_text 'Time zone: the panel has no time zone 7 \(it has 1\)\. Nothing was sent\.'
keys C-u; keys -l x; keys Enter; wait_text "Time zone: the id of one of the panel's time zones \\(1 = its first\\)\\."

keys Escape; wait_text '1001 +1 +Ann'
keys F2; wait_text 'User editor: Panel A, new user'
keys Enter; wait_text "PIN: '' is not a number 1-4294967295\\. Nothing was sent\\."
keys -l 0; keys Enter; wait_text "PIN: '0' is not a number 1-4294967295"
keys BSpace; keys -l 4294967296; keys Enter; wait_text "PIN: '4294967296' is not a number 1-4294967295"
keys Escape; wait_text '1001 +1 +Ann'
keys q; wait_text 'EXITED 0'
stop_tmux
[ "$(users_now)" = "$(cat "$TMP/users.csv")" ] || fail "the panel's users changed: $(users_now)"
audit_rows -c "$TMP/site.conf" >"$TMP/rows.txt"
[ "$(cat "$TMP/rows.txt")" = 'users set dry-run|ok
users set|failed
users delete|failed' ] || fail "the audit holds other requests than the refused edit and delete: $(cat "$TMP/rows.txt")"
pass "bad PIN, card, keypad, dates, doors and time zone refused by the form, the field named; nothing sent"

# ---- through portierd: a refused change shows the code; a panel that stops answering ----
start_portierd
start 80x24 env -u XDG_CONFIG_HOME "$PORTIER" --socket "$PD_SOCK"
wait_text 'connected to portierd'
wait_up
keys 7; wait_text '1001 +1 +Ann +always +1 \(tz 1\)'
fault refuse=-13
keys F3; wait_text 'User editor: Panel A, 1'
keys C-u; keys -l Anna; keys Enter; wait_text '~ pin=1: name Ann -> Anna'
keys y; wait_text 'FAILED \(NOT saved\): \(code -13\) writing: unknown or'
pass "through portierd, a refused edit shows the panel's code"
fault none
keys Escape; wait_text '1001 +1 +Ann +always'
# the panel stops answering during the check: Esc goes back to the form, nothing written
keys F3; wait_text 'User editor: Panel A, 1'
keys C-u; keys -l Anna; fault mute
keys Enter; wait_text 'links 0/1 up' 30
wait_text 'checking\.\.\.'
wait_text 'the panel is offline: waiting for it \(Esc: back to the form\)'
keys Escape; wait_text 'Check abandoned; nothing was written\.'
wait_text 'Name +Anna'
keys Escape; wait_text 'no change made'
fault none; wait_up
pass "Esc leaves a check the panel does not answer"
# ... and during the change: Esc closes the editor, the change goes on and its outcome comes as a message
keys F3; wait_text 'User editor: Panel A, 1'
keys C-u; keys -l Anna; keys Enter; wait_text '~ pin=1: name Ann -> Anna'
fault mute
keys y; wait_text 'links 0/1 up' 30
wait_text 'applying\.\.\.'
wait_text 'the panel is offline: the change waits for it \(Esc closes; it goes on\)'
keys Escape; wait_text 'User editor closed; the change goes on'
wait_text '1001 +1 +Ann +always'
fault none
wait_text 'Panel A: user 1 saved' 60
wait_text '1001 +1 +Anna +always'
keys q; wait_text 'EXITED 0'   # nothing left running: no question
pass "Esc leaves a change the panel does not answer; its outcome still comes"
stop_tmux
[ "$(ctl users list "Panel A" --csv | sed -n 2p)" = '1,1001,,0,,,Anna,0' ] || fail "user 1 on the panel: $(ctl users list "Panel A" --csv)"
# the refused change (checked first), the abandoned check (answered once the panel was back), the change
audit_rows --socket "$PD_SOCK" | tail -5 >"$TMP/rows.txt"
[ "$(cat "$TMP/rows.txt")" = 'users set dry-run|ok
users set|failed
users set dry-run|ok
users set dry-run|ok
users set|ok' ] || fail "portierd's audit: $(cat "$TMP/rows.txt")"
pass "the panel holds the change; portierd's audit has the refused and the completed change"

# ---- a panel that stays away: the change gives up after the link-wait bound, and is never sent later ----
start 80x24 env -u XDG_CONFIG_HOME "$PORTIER" --socket "$PD_SOCK"
wait_text 'connected to portierd'
wait_up
keys 7; wait_text '1001 +1 +Anna +always'
keys F3; wait_text 'User editor: Panel A, 1'
keys C-u; keys -l Anja; keys Enter; wait_text '~ pin=1: name Anna -> Anja'
fault mute
keys y; wait_text 'links 0/1 up' 30
wait_text 'FAILED \(NOT saved\): offline: \(code -2004\) panel not connected for 15 s' 60
fault none; wait_up
keys Escape; keys q; wait_text 'EXITED 0'
stop_tmux
# a read after the reconnect comes after anything still queued: the change given up was not sent
[ "$(ctl users list "Panel A" --csv | sed -n 2p)" = '1,1001,,0,,,Anna,0' ] || fail "user 1 on the panel: $(ctl users list "Panel A" --csv)"
audit_rows --socket "$PD_SOCK" | tail -1 >"$TMP/rows.txt"
[ "$(cat "$TMP/rows.txt")" = 'users set|failed' ] || fail "portierd's audit: $(cat "$TMP/rows.txt")"
pass "a change whose panel stays away fails after 15 s with the code, and is not written when the panel is back"
