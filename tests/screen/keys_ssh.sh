# Keys as they arrive over SSH: function keys of another terminal than TERM names (tmux sends xterm's F1, TERM=linux
# expects its own; PuTTY's F1 is Esc [11~; TERM=vt100 has no F12) work; Alt+key (Esc and the key at once) is one key with no action, not
# Esc (cancel) followed by a key that acts; an unknown escape sequence is said, not taken as keys.
source "$(dirname "$0")/lib.sh"
write_config
TERM_OVERRIDE=linux start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
# xterm's F1 (Esc O P) on TERM=linux
keys F1; wait_text 'Esc or F1 returns'
keys Escape; wait_text 'Live events'
# PuTTY's / rxvt's F1 and F3
keys -H 1b 5b 31 31 7e; wait_text 'Esc or F1 returns'
keys Escape; wait_text 'Live events'
keys 3; wait_text 'Doors, aux outputs'
keys -H 1b 5b 31 33 7e; wait_text 'door-close: offline'
keys -H 1b 5b 31 32 7e; wait_text 'Front: seconds \(1-254\)'
keys Escape; wait_gone 'Front: seconds \(1-254\)' 5
keys 1; wait_text 'Live events'
# Alt+3 inside the search dialog: the dialog stays, the view stays, the text is untouched
keys /; wait_text 'Show events containing'
keys -l abc; wait_text '  abc *$'
keys M-3; wait_text 'Alt\+3: no action'
screen_text | grep -q 'Show events containing' || fail "Alt+3 cancelled the search dialog"
screen_text | grep -Eq '  abc *$' || fail "Alt+3 changed the search text"
screen_text | grep -q 'Doors, aux outputs' && fail "Alt+3 switched to the Doors view"
# Alt+q in a list view: no quit question, no quit
keys Escape; wait_gone 'Show events containing' 5
keys M-q; wait_text 'Alt\+q: no action'
screen_text | grep -q 'EXITED' && fail "Alt+q quit"
# Ctrl+Delete of a terminal TERM does not describe (Esc [3;5~): said, and its '3' does not switch the view
keys -H 1b 5b 33 3b 35 7e; wait_text 'Unknown key \(Esc \[3;5~\): check TERM \(now linux\)'
screen_text | grep -q 'Doors, aux outputs' && fail "an unknown escape sequence switched to the Doors view"
# a plain Esc still cancels, and typed apart from it a key acts
keys /; wait_text 'Show events containing'
keys Escape; wait_gone 'Show events containing' 5
keys 3; wait_text 'Doors, aux outputs'
keys q; wait_text 'EXITED 0'
stop_tmux
# TERM=vt100 knows no F11/F12: the emergency key of an xterm-like terminal (Esc [24~) still is the emergency key
TERM_OVERRIDE=vt100 start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Live events'
keys F12
wait_text 'EMERGENCY UNLOCK .* 2 doors'
screen_text | grep -q 'Unknown key' && fail "F12 taken as an unknown key on TERM=vt100"
keys F11; wait_text 'End the emergency'
keys y; wait_gone 'EMERGENCY UNLOCK' 15
keys C-c; wait_text 'EXITED 0'
pass "function keys of other terminals, Alt+key, unknown sequences, Esc"
