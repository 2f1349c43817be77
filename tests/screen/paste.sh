# Pasting (bracketed paste): a pasted line break is a space in the field, never Enter, and what follows it never
# a key; a paste where no text field is open does nothing and says so; a paste longer than the field is cut and
# said; the emergency key still acts when a paste's end was lost.
source "$(dirname "$0")/lib.sh"
write_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
paste() { tmux -L "$SOCK" set-buffer -- "$1"; tmux -L "$SOCK" paste-buffer -p -t "${SESSION:-t}"; }
keys /; wait_text 'Show events containing'
paste "$(printf 'Front\n3q')"
wait_text '^ +Front 3q *$'
screen_text | grep -q 'EXITED' && fail "a pasted q quit"
screen_text | grep -q 'Doors, aux outputs' && fail "a pasted 3 switched the view"
keys C-u; wait_gone '^ +Front 3q *$' 5
# longer than the field: cut at a whole character, and said
paste "$(python3 -c 'print("Tür Süd 北门 " * 40, end="")')"
wait_text 'Pasted text: [0-9]+ byte\(s\) not taken \(the field is full\)'
wait_text 'Show events containing'
keys Escape; wait_gone 'Show events containing' 5
# no text field: nothing happens, and it is said (a pasted ! is not the emergency key, q not quit)
paste '!3q'
wait_text 'Pasted text: 3 byte\(s\) not taken \(no text field here; nothing was done\)'
screen_text | grep -Eq 'EMERGENCY|EXITED|Doors, aux outputs' && fail "pasted text acted as keys"
# a paste whose end never came: the emergency key still acts
keys -H 1b 5b 32 30 30 7e 61 62 63
keys F12
wait_text 'EMERGENCY UNLOCK'
pass "bracketed paste: line breaks are text, no keys from a paste, full field said, F12 still acts"
