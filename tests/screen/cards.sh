# The Cards view against a live C3 panel: the panel's users with their cards, validity and doors; an access
# event's details say whose card it was; the technician's user editor adds a user with doors (checked first, the
# changes shown, then applied), refuses a bad card and a door or time zone the panel lacks, edits a user's name
# and doors, and deletes a user; the simulated panel holds exactly what the editor said; every read and change is
# in the audit; a guard sees the users but may not change them.
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-200 --seed 9
CTL="${PORTIERCTL:?}"
T="127.0.0.1:$C3_PORT"
printf 'id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,00:00-23:59,00:00-23:59,,,,,,,,\n2,,08:00-17:00,,,,,,,,\n' \
    >"$TMP/timezones.csv"
printf 'pin,card,password,group,start,end,name,super\n1,1001,,0,,,Ann,0\n2,2002,,0,2025-01-01,2025-12-31,Bob,0\n' \
    >"$TMP/users.csv"
printf 'pin,door,timezone\n1,1,1\n1,2,1\n' >"$TMP/access.csv"
for k in timezones users access; do
    "$CTL" c3 "$T" "$k" import "$TMP/$k.csv" >/dev/null || fail "preparing the panel's $k"
done
# what the panel holds: its row counts from the simulator while the console owns it, its rows once it has quit
panel() { "$CTL" c3 "$T" "$1" export 2>&1; }
write_live_config
start 120x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 7; wait_text 'Cards: Panel A'
wait_text '1001 +1 +Ann +always +1 2 \(tz 1\)'
wait_text '2002 +2 +Bob +2025-01-01..2025-12-31 +no door'
keys Enter; wait_text 'Doors: +1 Front, 2 Back \(tz 1\)'
keys Escape; wait_gone 'Doors: +1 Front'
pass "the panel's users, cards, validity and doors"

# whose card: the live event's details
c3 "swipe door=1 card=2002 pin=2"
keys 1; wait_text '2002'
keys g; keys Enter; wait_text 'Card of: +user 2 Bob'
keys Escape; wait_gone 'Card of: '
keys 3; wait_text 'Front'
keys g; keys Enter; wait_text 'Last card: .* card 2002, '
wait_text 'Card of: +user 2 Bob'
keys Escape; wait_gone 'Card of: '
pass "an access event's details and the door's details name the card's user"

# add a user with two doors: checked, the changes shown, applied
keys 7; wait_text 'Cards: Panel A'
keys F2; wait_text 'User editor: Panel A, new user'
keys -l 5; keys Down; keys -l Eve; keys Down; keys -l 5005; keys Down Down Down Down
# a door the C3-200 lacks, then a time zone the panel lacks: refused in the form, nothing sent
keys -l '1 3'; keys Enter; wait_text 'Doors: 3 is not a door of Panel A \(1-2, separated by spaces\)'
keys BSpace; keys -l 2; keys Down; keys C-u; keys -l 9; keys Enter
wait_text 'Time zone: the panel has no time zone 9 \(it has 1 2\)'
keys C-u; keys -l 1; keys Enter
wait_text 'changes to apply'
wait_text '\+ pin=5 card=5005 group=0 name=Eve super=0'  # as the panel will hold it
wait_text '\+ pin=5 door=1 timezone=1'
wait_text '\+ pin=5 door=2 timezone=1'
c3_status ' users=2 access=1 '
keys y; wait_text 'Applied and read back'
keys Escape; wait_text '5005 +5 +Eve +always +1 2 \(tz 1\)'
c3_status ' users=3 access=2 '
pass "user added with doors after the check; a door and a time zone the panel lacks refused"

# a bad card: refused by the form, with the field; nothing sent (not even the check)
keys G; keys F3; wait_text 'User editor: Panel A, 5'
keys Down; keys C-u; keys -l 12x; keys Enter
wait_text "Card: '12x' is not a number 1-4294967295 \(empty: no card\)\. Nothing was sent\."
keys Escape; wait_text '5005 +5 +Eve'
pass "a bad card refused by the form, with the field"

# edit: the name and the doors (only door 2, in time zone 2)
keys G; keys F3; wait_text 'User editor: Panel A, 5'
keys C-u; keys -l Evi; keys Down Down Down Down Down; keys C-u; keys -l 2; keys Down; keys C-u; keys -l 2
keys Enter; wait_text 'changes to apply'
wait_text '~ pin=5: name Eve -> Evi'
wait_text '\- pin=5 door=1 timezone=1'
wait_text '\+ pin=5 door=2 timezone=2'
keys Enter; wait_text 'Applied and read back'
keys Escape; wait_text '5005 +5 +Evi +always +2 \(tz 2\)'
wait_text '1001 +1 +Ann +always +1 2 \(tz 1\)'
c3_status ' users=3 access=2 '
pass "edit of the name and doors"

# another user, added and then deleted (asked first), with the user's access rights
keys F2; wait_text 'User editor: Panel A, new user'
keys -l 7; keys Down; keys -l Kim; keys Down; keys -l 7007; keys Down Down Down Down; keys -l 1; keys Enter
wait_text '\+ pin=7 door=1 timezone=1'
keys y; wait_text 'Applied and read back'
keys Escape; wait_text '7007 +7 +Kim'
c3_status ' users=4 access=3 '
keys G; keys F4; wait_text 'Delete user 7 \(Kim\)'
keys y; wait_text 'access rights of the 1 deleted user were removed'
keys Escape; wait_gone '7007 +7 +Kim'
c3_status ' users=3 access=2 '
pass "delete, with the user's access rights"

keys 6; wait_text 'History: journal'
keys F2; wait_text 'operator audit trail'
wait_text 'panel-data +Panel A +ok +Panel A: ok 0 added, 0 changed, 1'
keys q; wait_text 'EXITED 0'
# every check, change and read, in order, with what was asked
"$CTL" -c "$TMP/site.conf" audit --csv --limit 200 >"$TMP/audit.csv" 2>&1 || fail "portierctl audit: $(cat "$TMP/audit.csv")"
# the audit in time order as "action|request|result", and the editor's requests in the order they were made
python3 - "$TMP/audit.csv" >"$TMP/audit.txt" <<'PY'
import csv, sys
rows = sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: int(r["id"]))
for r in rows:
    if r["action"].startswith("panel-data") and r["target"] == "Panel A":
        print("%s|%s|%s" % (r["action"], r["params"].split(",")[0], r["result"]))
PY
python3 - "$TMP/audit.txt" <<'PY' || fail "audit trail: $(cat "$TMP/audit.txt")"
import sys
got = open(sys.argv[1]).read().splitlines()
want = ["panel-data-get|users list|ok", "panel-data-get|access list|ok", "panel-data-get|timezones list|ok",
        "panel-data|users add dry-run|ok", "panel-data|users add|ok", "panel-data|access replace pin=5|ok",
        "panel-data|users set dry-run|ok", "panel-data|access replace pin=5 dry-run|ok",
        "panel-data|users set|ok", "panel-data|access replace pin=5|ok",
        "panel-data|users add dry-run|ok", "panel-data|users add|ok", "panel-data|access replace pin=7|ok",
        "panel-data|users delete|ok", "panel-data-get|users list|ok"]
i = 0
for g in got:
    if i < len(want) and g == want[i]:
        i += 1
if i < len(want):
    sys.exit("missing, in this order: %s" % want[i])
if any(g.endswith("|failed") for g in got):
    sys.exit("a request failed (the form sends nothing it refuses)")
PY
pass "every read, check and change audited"

# the panel holds exactly what the editor showed
[ "$(panel users)" = 'pin,card,password,group,start,end,name,super
1,1001,,0,,,Ann,0
2,2002,,0,2025-01-01,2025-12-31,Bob,0
5,5005,,0,,,Evi,0' ] || fail "the panel's users: $(panel users)"
[ "$(panel access)" = 'pin,door,timezone
1,1,1
1,2,1
5,2,2' ] || fail "the panel's access rights: $(panel access)"
pass "the panel's users and access rights are what the editor applied"
# a guard reads but does not change
stop_tmux
ROLE=guard write_live_config
start 120x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 7; wait_text '1001 +1 +Ann'
keys F2; wait_text 'Not allowed for role guard \(needs technician\): Add a user'
keys F3; wait_text 'Not allowed for role guard \(needs technician\): Edit the user'
keys F4; wait_text 'Not allowed for role guard \(needs technician\): Delete the user'
keys q; wait_text 'EXITED 0'
pass "a guard sees the users, may not change them"
