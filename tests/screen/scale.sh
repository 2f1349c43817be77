# A site of 400 doors (100 simulated C3-400 panels): the Doors view scrolls to the end, finds a door by part of
# its name (any case, not only ASCII; Enter again: the next one), and the emergency key answers at once.
source "$(dirname "$0")/lib.sh"
PANELS=100
mkfifo "$TMP/c3.in"
PORT0=$(PYTHONPATH="$(dirname "$0")/../integration" python3 -c "from ports import free_port_block; print(free_port_block($PANELS))")
"$PORTIER_SIM" c3 --port "$PORT0" --panels $PANELS --model c3-400 --activity 1 <"$TMP/c3.in" >"$TMP/c3.out" 2>"$TMP/c3.err" &
SIMPIDS+=($!)
exec 7>"$TMP/c3.in"
wait_file "listening on 127.0.0.1:$PORT0 \\($PANELS panels\\)" "$TMP/c3.out"
{
    echo 'site = { name = "Campus"; };'
    echo 'roles = { default = "technician"; };'
    echo 'panels = ('
    for i in $(seq 0 $((PANELS - 1))); do
        n=$(printf '%02d' $i)
        printf '  { name = "Bau %s"; host = "127.0.0.1"; port = %d; model = "C3-400"; poll_ms = 500;\n' $n $((PORT0 + i))
        printf '    doors = ["Bau %s Nord", "Bau %s Süd", "Bau %s Tor", "Bau %s Lager"]; }%s\n' $n $n $n $n \
            "$([ $i -lt $((PANELS - 1)) ] && echo ,)"
    done
    echo ');'
    echo 'emergency = { doors = "all"; confirm = "none"; restore = "previous"; };'
    echo "journal = { path = \"$TMP/journal.db\"; };"
} >"$TMP/site.conf"
chmod 600 "$TMP/site.conf"
"$PORTIER" --check-config "$TMP/site.conf" | grep -q '400 doors' || fail "config: $("$PORTIER" --check-config "$TMP/site.conf" 2>&1)"
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text "links $PANELS/$PANELS up" 60
keys 3; wait_text 'Doors, aux outputs and probes  400'
keys End; wait_text '^Bau 99 Lager +door +Bau 99 +4 '
keys Home; wait_text '^Bau 00 Nord +door'
# find by part of the name, another case, not ASCII; the details of the found door
keys /; wait_text 'Find a door'
keys -l 'bau 57 SÜD'; keys Enter
wait_gone 'Find a door' 5
wait_text '^Bau 57 Süd +door +Bau 57 +2 '
keys Enter; wait_text 'Bau 57 Süd: door 2 of Bau 57'
keys Escape; wait_gone 'Bau 57 Süd: door 2 of Bau 57' 5
# Enter again: the next match, round the list
keys /; wait_text 'Find a door'
keys C-u; keys -l 'lager'; keys Enter
wait_text '^Bau 57 Lager +door'
keys /; wait_text 'Find a door'; keys Enter
wait_text '^Bau 58 Lager +door'
keys /; wait_text 'Find a door'; keys C-u; keys -l 'nowhere'; keys Enter
wait_text "No door, output or probe named with 'nowhere'"
# the emergency key at once, then every door confirmed
keys F12
bound=2; [ "${PORTIER_SANITIZED:-0}" = 1 ] && bound=6 # ASan/UBSan: a 400-door redraw is 2-5 times slower
wait_text 'EMERGENCY UNLOCK .* 400 doors' $bound
wait_text '400 doors: 400 confirmed, 0 pending, 0 failed' 60
keys F11; wait_text 'End the emergency'
keys y
wait_gone 'EMERGENCY' 60
keys q; wait_text 'EXITED 0'
pass "400 doors: scrolling, finding a door, the emergency key"
