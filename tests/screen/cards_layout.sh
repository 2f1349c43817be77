# The Cards view and the user editor with names as a panel may hold them (UTF-8, a double-width script, a byte
# that is no character, the longest the panel keeps) at 80x24: every column stays in its place; a user whose name
# the editor may not write (not ASCII) can still get another card, the name kept; a character the panel does not
# keep is refused as it is typed. Resizing with the editor open (larger, smaller, below the minimum and back)
# keeps what was typed, and keys typed while the window is too small change nothing.
source "$(dirname "$0")/lib.sh"
: "${PORTIERCTL:?}"
start_c3 --model C3-200 --seed 6
T="127.0.0.1:$C3_PORT"
printf 'id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,00:00-23:59,00:00-23:59,,,,,,,,\n' >"$TMP/timezones.csv"
# the raw user table: names the vendor's software may have written
printf 'UID,CardNo,Pin,Password,Group,StartTime,EndTime,Name,SuperAuthorize\n1,1001,1,,0,0,0,Ann,0\n2,2002,2,,0,20250101,20251231,Alexandria,0\n3,3003,3,,0,0,0,J\303\274rgen,0\n4,4004,4,,0,0,0,\374ber,0\n5,5005,5,,0,0,0,\347\216\213\345\260\217\346\230\216,0\n' \
    >"$TMP/user.csv"
"$PORTIERCTL" c3 "$T" timezones import "$TMP/timezones.csv" >/dev/null || fail "preparing the time zones"
"$PORTIERCTL" c3 "$T" table set user "$TMP/user.csv" >/dev/null || fail "preparing the users"
printf 'pin,door,timezone\n3,1,1\n3,2,1\n5,2,1\n' >"$TMP/access.csv"
"$PORTIERCTL" c3 "$T" access import "$TMP/access.csv" >/dev/null || fail "preparing the access rights"
write_live_config
# the screen column (0-based, in cells) where the text "always"/a date range starts on each user's row
columns() {
    screen_text | python3 -c '
import re, sys, unicodedata
for line in sys.stdin:
    m = re.search(r"always|2025-01-01", line)
    if re.match(r"[0-9]{4} ", line) and m:
        print(line[:4], sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line[:m.start()]))
'
}
start 80x24 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 7; wait_text '5005 +5 '
wait_text 'Jürgen +always +1 2 \(tz 1\)'
wait_text '4004 +4 +\?ber +always'
wait_text '王小明 +always +2 \(tz 1\)'
[ "$(columns | awk '{print $2}' | sort -u)" = 36 ] || fail "the Valid column moves: $(columns)"
pass "UTF-8, double-width, a byte that is no character and a 10-character name keep the columns in place"

# Jürgen gets another card; the name is not sent (the editor writes ASCII only) and stays as it was
keys Down Down; keys F3; wait_text 'User editor: Panel A, 3'
wait_text 'Name +Jürgen'
keys Down; keys C-u; keys -l 3010; keys Enter
wait_text '~ pin=3: card 3003 -> 3010'
screen_text | grep -q 'name' && fail "the check changes the name"
keys y; wait_text 'Applied and read back'
keys Escape; wait_text '3010 +3 +Jürgen +always +1 2 \(tz 1\)'
pass "a user with a name the editor may not write gets another card; the name is kept"
# typing a character the panel does not keep
keys F3; wait_text 'User editor: Panel A, 3'
keys C-u; keys -l 'Zoë'
wait_text 'Name: only printable ASCII characters \(the panel keeps no others\)'
wait_text 'Name +Zo *$'
keys Enter; wait_text '~ pin=3: name Jürgen -> Zo'
keys Escape; keys Escape; wait_text 'no change made'
pass "a character the panel does not keep is refused as it is typed"

# resizing with the editor open
resize 120 30
keys G; keys F3; wait_text 'User editor: Panel A, 5'
keys Down Down Down Down Down; keys C-u; keys -l '1 2'
resize 80 24; wait_text 'Doors \(e\.g\. 1 2\) +1 2 *$'
wait_text 'Time zone of the doors +1'
resize 60 16; wait_text 'at least 80x24'
keys -l 'xyz'; keys Escape; keys BSpace; wait_text '5 key\(s\) ignored: only the emergency keys and quit work here'
resize 100 30; wait_text 'User editor: Panel A, 5'
wait_text 'Doors \(e\.g\. 1 2\) +1 2 *$'
keys Enter; wait_text '\+ pin=5 door=1 timezone=1'
keys y; wait_text 'Applied and read back'
keys Escape; wait_text '5005 +5 +王小明 +always +1 2 \(tz 1\)'
pass "resizing with the editor open keeps the form; keys on the too-small screen change nothing"
keys q; wait_text 'EXITED 0'
stop_tmux
"$PORTIERCTL" c3 "$T" table get user --csv >"$TMP/now.csv" || fail "reading the users back"
grep -qx '3,3010,3,,0,0,0,Jürgen,0' "$TMP/now.csv" || fail "Jürgen on the panel: $(cat "$TMP/now.csv")"
pass "the panel holds the new card with the name as it was"
