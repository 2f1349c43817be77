# An info dialog wraps its text at the window's width: at 80x24 the door details of a door whose panel cannot be
# reached show the whole link error (longer than a line) inside the box, broken between words, and a key closes it.
source "$(dirname "$0")/lib.sh"
write_config
start 80x24 "$PORTIER" -c "$TMP/site.conf"
wait_text 'links 0/1 up'
keys 3; wait_text 'Doors, aux'
wait_text 'Front'
keys Enter
wait_text 'any key closes'
# the link detail ends on a line of its own: nothing of it was cut at the box's edge
wait_text 'Connection refused\)' 10
screen_text >"$TMP/screen"
grep -q 'Front: door 1 of Panel A (c3, link down,' "$TMP/screen" || fail "the first line of the details"
grep -q 'State: ' "$TMP/screen" && grep -q 'Last action: none' "$TMP/screen" || fail "the lines after the wrapped one"
# every line of the box stays within the window and the box's right edge: no word cut in two by the wrap
python3 - "$TMP/screen" <<'PY' || fail "the wrapped text: $(cat "$TMP/screen")"
import sys
rows = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert all(len(r) <= 80 for r in rows), [len(r) for r in rows]
text = " ".join(r.strip() for r in rows)
assert "cannot connect to tcp 127.0.0.1:9: Connection refused)" in text, text
PY
keys x; wait_gone 'any key closes'
keys q; wait_text 'EXITED 0'
pass "an info dialog wraps a long line at 80x24"
