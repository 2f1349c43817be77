# portierctl c3 against portier-sim c3: users, cards, access, time zones and holidays round-trip through CSV
# (export -> import writes nothing, the file comes back byte for byte); bad rows are refused with line and column
# and nothing is written; dry run shows the difference and writes nothing; add/set/delete; the raw tables
# (list/get/set/delete); the stored events (events --history, --since); discovery of 3 panels on loopback and an
# address change. Nothing leaves 127.0.0.1: discovery goes to the simulator's own UDP port (--to).
source "$SRCDIR/tests/integration/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"
CTL=("$PORTIERCTL")

DPORT=$(free_port)
c3_sim S --model C3-400 --panels 3 --discovery-port "$DPORT" --transactions 1000
T="127.0.0.1:$S_PORT"
C3=("${CTL[@]}" c3 "$T")

# ---- the whole user base through CSV ----
cat >"$TMP/timezones.csv" <<'EOF'
id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3
1,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,,,
2,,08:00-12:00 13:00-17:00 18:00-20:00,08:00-17:00,08:00-17:00,08:00-17:00,08:00-17:00,,,,
EOF
cat >"$TMP/users.csv" <<'EOF'
pin,card,password,group,start,end,name,super
1,1234567,4321,1,,,Alice,0
2,,,3,2024-01-01,2024-12-31,"Bob, Jr",1
10,99,,0,,,,0
4000000000,4294967295,12345678,255,2099-12-31,2099-12-31,Zed,0
EOF
cat >"$TMP/cards.csv" <<'EOF'
card,pin,name
77,2,"Bob, Jr"
99,10,
1234567,1,Alice
4294967295,4000000000,Zed
EOF
cat >"$TMP/access.csv" <<'EOF'
pin,door,timezone
1,1,1
1,2,1
1,4,2
2,2,2
10,1,1
EOF
cat >"$TMP/holidays.csv" <<'EOF'
date,type,loop
2024-01-01,1,yearly
2024-12-24,2,once
EOF
for kind in timezones users cards access holidays; do
    expect_rc 0 "${C3[@]}" "$kind" import "$TMP/$kind.csv"
    grep -q "written and read back" "$TMP/out" || fail "$kind import: $(cat "$TMP/out")"
    expect_rc 0 "${C3[@]}" "$kind" export
    cmp -s "$TMP/out" "$TMP/$kind.csv" || { diff "$TMP/$kind.csv" "$TMP/out" >&2; fail "$kind export differs from the file imported"; }
    expect_rc 0 "${C3[@]}" "$kind" import "$TMP/$kind.csv"
    grep -qx "0 added, 0 changed, 0 deleted, [0-9]* unchanged: nothing to write" "$TMP/out" || fail "$kind re-import: $(cat "$TMP/out")"
done
pass "users, cards, access, time zones, holidays: import, export identical, re-import writes nothing"

# the cards import gave the users their cards: the users export says so
expect_rc 0 "${C3[@]}" users export
grep -qx '2,77,,3,2024-01-01,2024-12-31,"Bob, Jr",1' "$TMP/out" || fail "user 2's card: $(cat "$TMP/out")"
cp "$TMP/out" "$TMP/users_now.csv"

# ---- bad rows: refused with line and column, nothing written ----
bad() { # KIND LINE_MATCH: import $TMP/bad.csv must be refused (one message: bad data is no usage error), and the
        # kind's export unchanged
    "${C3[@]}" "$1" export >"$TMP/before" 2>/dev/null || fail "$1 export"
    expect_rc 2 "${C3[@]}" "$1" import "$TMP/bad.csv"
    grep -qF "$2" "$TMP/err" || fail "$1 bad row: expected '$2', got: $(cat "$TMP/err")"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$1 bad row: more than its message: $(cat "$TMP/err")"
    ! grep -q "usage:" "$TMP/err" || fail "$1 bad row: a usage line for bad data: $(cat "$TMP/err")"
    "${C3[@]}" "$1" export >"$TMP/after" 2>/dev/null || fail "$1 export"
    cmp -s "$TMP/before" "$TMP/after" || fail "$1: a refused import changed the panel"
}
printf 'pin,card,name\n1,1,Ann\n2,2,Ben\n3,3x,Cid\n4,4,Dee\n' >"$TMP/bad.csv"
bad users "bad.csv: line 4: card: '3x' is not a number"
printf 'pin,name\n5,Eve\n5,Eva\n' >"$TMP/bad.csv"
bad users "line 3: pin:"
printf 'pin,password\n5,12ab\n' >"$TMP/bad.csv"
bad users "line 2: password:"
printf 'pin,name\n5,Elevenchars\n' >"$TMP/bad.csv"
bad users "line 2: name:"
printf 'pin,start,end\n5,2024-05-01,2024-04-01\n' >"$TMP/bad.csv"
bad users "line 2: end:"
printf 'pin,card\n5,777\n6,777\n' >"$TMP/bad.csv"
bad users "line 3: card:"
printf 'pin,colour\n5,red\n' >"$TMP/bad.csv"
bad users "line 1: colour: unknown column"
printf 'card,pin\n5,42\n' >"$TMP/bad.csv"
bad cards "line 2: pin: 42 is not a user of this panel"
printf 'pin,door,timezone\n1,1,1\n1,5,1\n' >"$TMP/bad.csv"
bad access "line 3: door: '5' is not a number 1-4"
printf 'pin,door,timezone\n1,1,1\n1,2,9\n' >"$TMP/bad.csv"
bad access "line 3: timezone: the panel has no time zone 9"
printf 'pin,door,timezone\n1,1,1\n3,2,1\n' >"$TMP/bad.csv"
bad access "line 3: pin: the panel has no user 3"
printf 'id,mon\n3,08:00-09:00 10:00-11:00 12:00-13:00 14:00-15:00\n' >"$TMP/bad.csv"
bad timezones "line 2: mon: more than 3 intervals in one day"
printf 'id,tue\n3,09:00-08:00\n' >"$TMP/bad.csv"
bad timezones "line 2: tue: interval 09:00-08:00 ends before it starts"
printf 'id,wed\n3,08:00-10:00 09:00-11:00\n' >"$TMP/bad.csv"
bad timezones "line 2: wed: interval 09:00-11:00 overlaps"
printf 'date,type\n2024-02-30,1\n' >"$TMP/bad.csv"
bad holidays "line 2: date:"
printf 'date,type\n2024-03-01,4\n' >"$TMP/bad.csv"
bad holidays "line 2: type:"
printf 'pin,name\n5,"open quote\n' >"$TMP/bad.csv"
bad users "bad.csv"
pass "bad rows refused with line and column, nothing written"

# ---- dry run, add, set, delete ----
printf 'pin,card,password,group,start,end,name,super\n1,1234567,4321,1,,,Alice,0\n2,222,,3,2024-01-01,2024-12-31,"Bob, Jr",1\n11,111,,0,,,Kim,0\n' >"$TMP/change.csv"
expect_rc 0 "${C3[@]}" users import "$TMP/change.csv" --dry-run
grep -qx '+ pin=11 card=111 group=0 name=Kim super=0' "$TMP/out" || fail "dry run add line: $(cat "$TMP/out")"
grep -qx '~ pin=2: card 77 -> 222' "$TMP/out" || fail "dry run change line: $(cat "$TMP/out")"
grep -q '^- pin=10 ' "$TMP/out" || fail "dry run delete line: $(cat "$TMP/out")"
grep -q 'dry run: nothing written' "$TMP/out" || fail "dry run summary"
expect_rc 0 "${C3[@]}" users export
cmp -s "$TMP/out" "$TMP/users_now.csv" || fail "dry run changed the panel"
expect_rc 0 "${CTL[@]}" --json c3 "$T" users import "$TMP/change.csv" --merge --dry-run
grep -q '"deleted":0' "$TMP/out" || fail "--merge deletes nothing: $(cat "$TMP/out")"
pass "dry run shows the difference and writes nothing"

expect_rc 0 "${C3[@]}" users add 20 --card 2020 --name Zoe --start 2025-01-01 --keypad 2468
expect_rc 2 "${C3[@]}" users add 20
grep -q "'20' exists already" "$TMP/err" || fail "add twice: $(cat "$TMP/err")"
expect_rc 0 "${C3[@]}" users set 20 --name Zora
expect_rc 0 "${C3[@]}" users list --csv
grep -qx "20,2020,2468,0,2025-01-01,,Zora,0" "$TMP/out" || fail "users set kept the other columns: $(cat "$TMP/out")"
expect_rc 0 "${C3[@]}" cards set 3030 20
expect_rc 0 "${C3[@]}" timezones add 5 --mon "07:00-09:00 16:00-18:00"
expect_rc 0 "${C3[@]}" access add 20 3 5
expect_rc 0 "${C3[@]}" holidays add 2025-05-01 --type 3 --loop yearly
expect_rc 0 "${C3[@]}" access list --csv
grep -qx '20,3,5' "$TMP/out" || fail "access add"
expect_rc 0 "${C3[@]}" users delete 20
grep -q "access rights of the 1 deleted user were removed" "$TMP/out" || fail "users delete cascade: $(cat "$TMP/out")"
expect_rc 0 "${C3[@]}" access list --csv
! grep -q '^20,' "$TMP/out" || fail "the deleted user's access rights stayed"
expect_rc 2 "${C3[@]}" users delete 20
expect_rc 0 "${C3[@]}" timezones delete 5
expect_rc 0 "${C3[@]}" holidays delete 2025-05-01
expect_rc 0 "${CTL[@]}" --json c3 "$T" holidays list
grep -q '"date":"2024-12-24"' "$TMP/out" || fail "holidays JSON: $(cat "$TMP/out")"
expect_rc 2 "${C3[@]}" timezones add 6 --fri "08:00-09:00 09:30-10:00 11:00-12:00 13:00-14:00"
expect_rc 2 "${C3[@]}" holidays add 2025-13-01
pass "add, set, delete of every kind (a deleted user's access rights go too)"

# ---- raw tables ----
expect_rc 0 "${C3[@]}" table list
grep -Eq '^user +1 +[0-9]+ +UID=' "$TMP/out" || grep -Eq '^user +1 +[0-9]+ ' "$TMP/out" || fail "table list: $(cat "$TMP/out")"
grep -q '^transaction' "$TMP/out" || fail "table list: no transaction"
expect_rc 0 "${C3[@]}" table get user --where Pin=1 --csv
[ "$(sed -n 2p "$TMP/out" | cut -d, -f2,3)" = "1234567,1" ] || fail "table get --where: $(cat "$TMP/out")"
printf 'Holiday,HolidayType,Loop\n20260704,2,1\n' >"$TMP/hol.csv"
expect_rc 0 "${C3[@]}" table set holiday "$TMP/hol.csv"
expect_rc 0 "${C3[@]}" holidays list --csv
grep -qx '2026-07-04,2,yearly' "$TMP/out" || fail "table set: $(cat "$TMP/out")"
expect_rc 0 "${C3[@]}" table delete holiday --where Holiday=20260704
expect_rc 2 "${C3[@]}" table delete holiday --where Holiday=20260704
expect_rc 1 "${C3[@]}" table get nosuch
pass "table list/get/set/delete"

# ---- the stored events ----
c3_ctl "$S_CTL" "burst n=300" >/dev/null
expect_rc 0 "${C3[@]}" events --history
[ "$(wc -l <"$TMP/out")" -ge 301 ] || fail "history rows: $(wc -l <"$TMP/out")"
grep -q "reading the panel's events" "$TMP/err" && fail "a progress bar on stderr that is not a terminal"
# on a terminal: a progress bar on stderr up to 100 %, the events on stdout all the same
script -qec "$(printf '%q ' "${C3[@]}" events --history) >$(printf '%q' "$TMP/hist.out")" "$TMP/tty" >/dev/null \
    || fail "events --history on a terminal: $(cat "$TMP/tty")"
grep -aEq "reading the panel's events \[#* *\] +[0-9]+% " "$TMP/tty" || fail "no progress bar: $(cat -v "$TMP/tty")"
grep -aEq "reading the panel's events \[#{40}\] 100% " "$TMP/tty" || fail "the bar does not end at 100%: $(cat -v "$TMP/tty")"
head -n "$(wc -l <"$TMP/out")" "$TMP/hist.out" | cmp -s - "$TMP/out" || fail "events --history on a terminal printed other rows"
expect_rc 0 "${CTL[@]}" --json c3 "$T" events --history
python3 - "$TMP/out" <<'PY' || fail "history JSON not in table order"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
idx = [r["index"] for r in rows]
assert idx == sorted(idx) and len(idx) == len(set(idx)) and all(r["stored"] for r in rows), idx[:5]
PY
expect_rc 0 "${C3[@]}" events --history --since "$(date -d '+1 hour' '+%Y-%m-%d %H:%M:%S')"
[ ! -s "$TMP/out" ] || fail "--since in the future: $(head -3 "$TMP/out")"
expect_rc 2 "${C3[@]}" events --history --follow
pass "events --history in table order, --since"

# ---- a panel's refusal: printed with its code, as every refusal or failure of portierctl ----
expect_rc 0 "${C3[@]}" users add 31 --card 3131 --name Ria
c3_ctl "$S_CTL" "fault refuse=-13" >/dev/null
expect_rc 1 "${C3[@]}" users set 31 --name Rhea
grep -qx 'portierctl c3: (code -13) writing: unknown or unsupported command' "$TMP/err" \
    || fail "a refused set without its code: $(cat "$TMP/err")"
expect_rc 1 "${C3[@]}" users delete 31
grep -qx 'portierctl c3: (code -13) writing: unknown or unsupported command' "$TMP/err" \
    || fail "a refused delete without its code: $(cat "$TMP/err")"
expect_rc 1 "${CTL[@]}" --json c3 "$T" users set 31 --name Rhea
grep -qx '{"error":"writing: unknown or unsupported command","code":-13}' "$TMP/out" || fail "--json: $(cat "$TMP/out")"
c3_ctl "$S_CTL" "fault refuse=-5" >/dev/null
expect_rc 1 "${C3[@]}" users set 31 --name Rhea
grep -q '^portierctl c3: (code -5) ' "$TMP/err" || fail "code -5: $(cat "$TMP/err")"
c3_ctl "$S_CTL" "fault none" >/dev/null
# refused input is named by its field, not by a code (nothing reached the panel)
expect_rc 2 "${C3[@]}" users add 31
grep -q "'31' exists already" "$TMP/err" && ! grep -q '(code' "$TMP/err" || fail "refused input: $(cat "$TMP/err")"
expect_rc 0 "${C3[@]}" users list --csv
grep -q '^31,3131,.*,Ria,' "$TMP/out" || fail "a refused write changed the user: $(cat "$TMP/out")"
pass "a panel's refusal is printed with its code (text and --json)"

# ---- the text table aligned by display width: UTF-8, a double-width script, a byte that is no UTF-8 ----
printf 'UID,CardNo,Pin,Password,Group,StartTime,EndTime,Name,SuperAuthorize\n41,4101,41,,0,0,0,J\303\274rgen,0\n42,4202,42,,0,0,0,\374ber,0\n43,4303,43,,0,0,0,\347\216\213\345\260\217\346\230\216,1\n44,4404,44,,0,0,0,Ann,0\n' \
    >"$TMP/wide.csv"
expect_rc 0 "${C3[@]}" table set user "$TMP/wide.csv"
for what in "users list" "table get user"; do
    expect_rc 0 "${C3[@]}" $what
    python3 - "$TMP/out" <<'PY' || fail "$what: columns not aligned by display width: $(cat "$TMP/out")"
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()  # the output is UTF-8 text, nothing else
head = lines[0]
col = width(head[:head.index("uper") - 1 if "super" in head else head.index("SuperAuthorize")])
rows = {l.split()[0]: l for l in lines[1:]}
for pin, name in (("41", "Jürgen"), ("42", "\\xFCber"), ("43", "王小明"), ("44", "Ann")):
    line = next(l for l in lines[1:] if name in l)
    at = line.index(name) + len(name)
    rest = line[at:]
    assert width(line[:at]) + len(rest) - len(rest.lstrip(" ")) == col, (pin, line, col)
PY
done
pass "users list and table get align columns by display width; a byte that is no UTF-8 shows as \\xNN"

# ---- discovery ----
expect_rc 0 "${CTL[@]}" --json c3 discover --to "127.0.0.1:$DPORT" --timeout 1500
[ "$(grep -c '"mac"' "$TMP/out")" = 3 ] || fail "discover: $(cat "$TMP/out")"
for k in ip netmask gateway serial model firmware; do grep -q "\"$k\":\"" "$TMP/out" || fail "discover field $k"; done
mac=$(sed -n 2p "$TMP/out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["mac"])')
expect_rc 0 "${CTL[@]}" c3 discover set-ip "$mac" 10.1.2.3/16 10.1.0.1 --to "127.0.0.1:$DPORT"
expect_rc 0 "${CTL[@]}" c3 discover --to "127.0.0.1:$DPORT" --timeout 1500
grep -Eq "^$mac +10\.1\.2\.3 +255\.255\.0\.0 +10\.1\.0\.1 " "$TMP/out" || fail "set-ip not seen: $(cat "$TMP/out")"
expect_rc 3 "${CTL[@]}" c3 discover set-ip 00:11:22:33:44:55 10.1.2.3/16 10.1.0.1 --to "127.0.0.1:$DPORT" --timeout 500
expect_rc 2 "${CTL[@]}" c3 discover set-ip "$mac" 10.1.2.3/40 10.1.0.1 --to "127.0.0.1:$DPORT"
pass "discovery: 3 panels on loopback, an address change"
