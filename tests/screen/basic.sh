# Every pane by Tab, S-Tab and number keys; help generated from the table and opened at the pane's own
# section; details, search and filter dialogs with validation; unknown keys answered; quit.
source "$(dirname "$0")/lib.sh"
write_config
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'Test site'
wait_text 'Live events'
wait_text 'F1Help'
wait_text 'F12EMERG'
wait_text 'console started'
keys Tab; wait_text 'iButton events \(NiX1\)'
keys Tab; wait_text 'Doors, aux outputs and probes'
wait_text 'Front +door +Panel A'
wait_text 'F2Open'
keys Tab; wait_text 'NiX1 slaves'
wait_text 'no NiX1 bus'
keys Tab; wait_text 'Alarms waiting'
wait_text 'No alarm waiting'
keys Tab; wait_text 'History: journal'
wait_text 'console started'
keys F2; wait_text 'operator audit trail'
keys F2; wait_text 'History: journal'
keys BTab; wait_text 'Alarms waiting'
keys 1; wait_text 'Live events'
# details of the newest event
keys Enter; wait_text 'Journal: +stored'
keys Escape; wait_gone 'Journal: +stored'
# search and filter (a bad filter is shown as typed and refused on Enter)
keys /; wait_text 'Show events containing'
keys -l nothing-like-this; keys Enter
wait_text 'No event matches the filter'
# an empty filter clears the fields only: the search stays (the same in every list pane)
keys '\'; wait_text 'door:NAME device:NAME'
keys Enter; wait_gone 'door:NAME device:NAME'
wait_text 'No event matches the filter'
keys Escape; wait_text 'console started'
# a search longer than the filter keeps is cut at a whole character (no broken one shown)
keys /; wait_text 'Show events containing'
keys -l "$(printf 'é%.0s' $(seq 150))"; keys Enter
wait_text 'filter: /éééé'
screen_text | grep 'filter: /' | grep -q '?' && fail "a broken character in the search"
keys Escape; wait_text 'console started'
keys '\'; wait_text 'door:NAME device:NAME'
keys -l 'sev:loud'; wait_text "unknown severity 'loud'"
keys Enter; wait_text "unknown severity 'loud'"
keys C-u; keys -l 'kind:system'; keys Enter
wait_text 'filter: kind:system'
keys Escape; wait_gone 'filter: kind:system'
# times in filters use portierctl's grammar: a bad one says what is wrong, yesterday works
keys '\'; wait_text 'since:/until: HH:MM'
keys -l 'since:25:00'; wait_text "hour 25 out of range 0-23"
# an empty time range is refused as portierctl refuses it; a door the site lacks is taken (the journal keeps a
# removed door's rows) and said
keys C-u; keys -l 'since:today until:yesterday'; wait_text 'is not before until'
keys C-u; keys -l 'door:Nowhere'; keys Enter
wait_text 'no door "Nowhere" in the configuration \(doors: Front, Back\): only past rows can match'
wait_text 'filter: door:Nowhere'
keys Escape; wait_gone 'filter: door:Nowhere'
keys '\'; wait_text 'since:/until: HH:MM'
keys C-u; keys -l 'since:yesterday kind:system'; keys Enter
wait_text 'filter: kind:system since:'
keys Escape; wait_gone 'filter: kind:system'
# an unbound key says so
keys Z; wait_text 'Z: no action here'
# help opens at the section of the pane it was called from, greyed/marked entries only when not allowed
keys 3; wait_text 'Doors, aux'
keys '?'; wait_text 'Help +root|Help +[a-z]'
wait_text 'F2 o +door-open +Open the door'
keys g; wait_text 'F12 ! +emergency +EMERGENCY'
keys Escape; wait_text 'Doors, aux'
keys F1; wait_text 'door-close'
keys F1; wait_text 'Doors, aux'
# a pane without keys of its own (live events): help opens at the global keys, not at the end of the list
keys 1; wait_text 'Live events'
keys '?'; wait_text 'F12 ! +emergency +EMERGENCY'
wait_text 'F10 q +quit'
keys Escape; wait_text 'Live events'
keys q; wait_text 'EXITED 0'
pass "panes, help, dialogs, quit"
