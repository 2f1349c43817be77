# Names not in ASCII ("Tür Süd", "Kantine – Ost", CJK): columns aligned by display width (wcwidth) and cut at a
# whole character in a UTF-8 locale, a long door name keeping its start and end; in LANG=C one '?' per character, never raw bytes, same alignment; search and
# filter of such text ignore case beyond ASCII, in the live panes and in the History pane's journal search alike.
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-400 --seed 7 --activity 20
cat >"$TMP/site.conf" <<CONF
site = { name = "Werk Süd"; };
roles = { default = "technician"; };
panels = (
  { name = "Zentrale Ä"; host = "127.0.0.1"; port = $C3_PORT; model = "C3-400"; poll_ms = 200;
    doors = ["Tür Süd", "Kantine – Ost", "北门入口", "Garage"]; },
  { name = "東京パネル"; host = "127.0.0.1"; port = 9; model = "C3-400";
    doors = ["Vorrat", "Büro", "Bau 57 Eingang Nord A", "Bau 57 Eingang Nord B"]; }
);
emergency = { doors = "all"; confirm = "none"; restore = "previous"; };
journal = { path = "$TMP/journal.db"; };
ui = { colours = true; bell = "alarm"; };
CONF
chmod 600 "$TMP/site.conf"
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'links 1/2 up'
# Doors: the name column is 18 cells and the device column 10 whatever the bytes; "Zentrale Ä" fits whole
keys 3; wait_text 'Doors, aux outputs'
wait_text '^Tür Süd            door  Zentrale Ä 1 '
wait_text '^Kantine – Ost      door  Zentrale Ä 2 '
wait_text '^北门入口           door  Zentrale Ä 3 '
wait_text '^Büro               door  東京パネル 2 '
# a name longer than its column keeps its start and its end, so two that differ at the end stay apart
wait_text '^Bau 57 Eing…Nord A door  東京パネル 3 '
wait_text '^Bau 57 Eing…Nord B door  東京パネル 4 '
# Live events: device 12 cells, door 16
keys 1
wait_text '^[0-9:]{8} Zentrale Ä   (Tür Süd         |Kantine – Ost   |北门入口        |Garage          ) [a-z]'
wait_text '^[0-9:]{8} 東京パネル   -                down'
# search for non-ASCII text in another case; Backspace takes a whole character
keys /; wait_text 'Show events containing'
keys -l 'tür sü'; wait_text '  tür sü *$'
keys BSpace; wait_text '  tür s *$'
keys -l 'üd'; keys Enter
wait_text 'filter: /tür süd'
wait_text '^[0-9:]{8} Zentrale Ä   Tür Süd          [a-z]'
screen_text | grep -Eq '^[0-9:]{8} .*(Kantine|北门入口|Garage|東京)' && fail "the search showed other doors"
keys Escape; wait_gone 'filter: /' 5
# the filter's door: ignores case beyond ASCII too
keys '\'; wait_text 'door:NAME'
keys -l 'door:"KANTINE – OST"'; keys Enter
wait_text 'filter: .*door:'
wait_text '^[0-9:]{8} Zentrale Ä   Kantine – Ost    [a-z]' 30
# the History pane's search (a query of the journal) folds case as the live filter does
keys 6; wait_text 'History'
keys /; wait_text 'Search the journal'
keys -l 'TÜR SÜD'; keys Enter
wait_text '^[0-9-]{10} [0-9:]{8} .{4} Zentrale Ä   Tür Süd          [a-z]' 30
screen_text | grep -Eq '^[0-9-]{10} [0-9:]{8} .*(Kantine|北门入口|Garage)' && fail "the History search showed other doors"
keys q; wait_text 'EXITED 0'
stop_tmux
# LANG=C: no UTF-8 byte reaches the terminal; one '?' per character keeps the columns
tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 100 -y 30 \
    "env TERM=screen-256color LC_ALL=C LANG=C $PORTIER -c $TMP/site.conf; echo EXITED \$?; sleep 60" \; set-option -g status off
wait_text 'links 1/2 up'
keys 3; wait_text 'Doors, aux outputs'
wait_text '^T\?r S\?d            door  Zentrale \? 1 '
wait_text '^Kantine \? Ost      door  Zentrale \? 2 '
wait_text '^\?\?\?\?               door  Zentrale \? 3 '
wait_text '^B\?ro               door  \?\?\?\?\?      2 '
wait_text 'Werk S\?d \| '
keys 1; wait_text '^[0-9:]{8} Zentrale \?   (T\?r S\?d         |Kantine \? Ost   |\?\?\?\?            |Garage          ) [a-z]'
if tmux -L "$SOCK" capture-pane -p -t t | LC_ALL=C grep -q $'[\x80-\xff]'; then
    fail "bytes outside ASCII shown in the C locale"
fi
keys q; wait_text 'EXITED 0'
pass "display-width columns, whole characters, LANG=C, non-ASCII search and filter"
