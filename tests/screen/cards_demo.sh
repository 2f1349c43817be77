# The Cards view on `portier --demo` at 80x24, through its private portierd and in direct mode: the simulated
# panels hold the users their activity swipes (named, some not in ASCII, doors in an all-day time zone), so
# whose card an event was has an answer; a user's details; finding a user by name, PIN or card.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}"
for mode in daemon direct; do
    if [ $mode = daemon ]; then
        start 80x24 env PORTIER_DAEMON="$PORTIERD" "$PORTIER" --demo
    else
        start 80x24 "$PORTIER" --demo --direct
    fi
    wait_up
    keys 7; wait_text 'Cards: Panel A \(1 of 2, p: next\)  8 user\(s\)'
    wait_text '^[0-9]+ +1 +Ann Lee +always +1 2 3 4 \(tz 1\)'
    wait_text '^[0-9]+ +6 +François +always +1 2 3 4 \(tz 1\)'
    wait_text '^[0-9]+ +8 +Hiro Sato +always +no door'
    keys Enter; wait_text 'Valid: +always'
    wait_text 'Doors: +1 Main entrance, 2 Back door'
    keys Escape
    # find a user by part of the name (any case), by PIN, and by card number; the next match on Enter again
    keys /; wait_text 'Find a user'
    keys -l sTo; keys Enter; keys Enter; wait_text 'PIN: +2$'
    wait_text 'Name: +Bob Stone'
    keys Escape; keys /; wait_text 'Find a user'; keys C-u; keys -l ato; keys Enter; keys Enter
    wait_text 'Name: +Hiro Sato'
    card=$(screen_text | sed -n 's/.*Card: *\([0-9][0-9]*\).*/\1/p' | head -1)
    [ -n "$card" ] || fail "no card number in the details"
    keys Escape; keys /; keys C-u; keys -l AN; keys Enter; keys Enter; wait_text 'Name: +Ann Lee'
    keys Escape; keys /; wait_text 'Find a user'; keys Enter; keys Enter; wait_text 'Name: +François'
    keys Escape; keys /; keys C-u; keys -l 7; keys Enter; keys Enter; wait_text 'Name: +Gao Yan'
    keys Escape; keys /; keys C-u; keys -l "$card"; keys Enter; keys Enter; wait_text 'Name: +Hiro Sato'
    keys Escape; keys /; keys C-u; keys -l Zorro; keys Enter; wait_text "No user of Panel A has card or PIN 'Zorro'"
    keys p; wait_text 'Cards: Panel B \(2 of 2, p: next\)  8 user\(s\)'
    wait_text '^[0-9]+ +1 +Ann Lee +always +1 2 \(tz 1\)'
    keys q; wait_text 'EXITED 0'
    stop_tmux
    pass "the demo's panels hold named users with doors ($mode)"
done
