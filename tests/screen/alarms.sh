# Live events and alarms against the simulators: a card swipe in Live events, a key on a NiX1 probe in the
# iButton pane, filters by door; a forced door becomes an alarm (counted when repeated, bell muted with M),
# acknowledged alone, with a comment and all at once; the journal and the audit trail keep it. A NiX1 event's
# details give its return code in hex, as the protocol and its text write it.
source "$(dirname "$0")/lib.sh"
live_site 3
start 120x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
c3 swipe door=1 card=4242 granted=1
wait_text 'Panel A +Front .*card 4242'
c3 swipe door=2 card=777 granted=0
wait_text 'Panel A +Back .*card 777'
keys '\'; keys -l 'door:Back'; keys Enter
wait_text 'filter: door:Back'
wait_gone 'card 4242'
wait_text 'card 777'
keys Escape; wait_text 'card 4242'
nix1 present slave=$(echo $NIX1_ADDRS | cut -d" " -f1) probe=1 uid=Stranger
keys 2; wait_text 'Vault +1 +Vault in +Stranger +(refused|GRANTED)' 30
# its details give the NiX1 return code as the protocol writes it (hex), as its text does
wait_text 'Vault +1 +Vault in +Stranger +refused'
keys g; keys Enter; wait_text 'Event: +ERROR_[A-Z_]+ \(code 0x[0-9A-F]{2}\)'
code=$(screen_text | grep -Eo '\(code 0x[0-9A-F]{2}\)' | head -1 | cut -c9-10)
screen_text | grep -Eq "Text: .*: $code ERROR_" || fail "the code differs from the text's ($code)"
keys Escape
# a forced door: alarm, counted, listed, bell muted
c3 force door=2
wait_text '[1-9] alarms?' 30
wait_text 'Alarms \([1-9]\)'
keys 5; wait_text 'Panel A +Back +door forced open'
c3 close door=2
sleep 1.5
c3 force door=2
wait_text ' 2 Panel A +Back +door forced open' 30
keys M; wait_text 'alarms? \(muted\)'
keys M; wait_gone 'alarms? \(muted\)'
# details, then acknowledge the selected one
keys g; keys Enter; wait_text 'Repeated [0-9]+ time'
keys Escape
keys F2; wait_text 'Alarm acknowledged'
# with a comment: the other one still waiting
wait_text 'Panel A +Back +door forced open'
keys g; keys C; wait_text 'Comment \(recorded'
keys -l 'checked on site'; keys Enter
wait_text 'Alarm acknowledged \(Panel A Back\)'
wait_text 'No alarm waiting' 30
c3 close door=2
sleep 1.5
c3 force door=2
wait_text 'Panel A +Back +door forced open' 30
# all at once
keys F4; wait_text 'No alarm waiting' 30
wait_text '^[1-9][0-9]* alarms? acknowledged$'
wait_text '0 alarms'
# the journal: acknowledged alarms and the comment; the audit trail: the acknowledgements
keys 6; keys /; keys -l 'forced'; keys Enter
wait_text 'door forced open.*\[acknowledged\]'
keys F3; keys /; keys -l 'checked on site'; keys Enter
wait_text 'acknowledge comment.*checked on site'
keys F3; keys F2; wait_text 'operator audit trail'
wait_text 'ack +[0-9]+ +ok'
keys q; wait_text 'EXITED 0'
pass "live events, iButton, filters, alarms and their acknowledgement"
