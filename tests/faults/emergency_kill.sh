#!/usr/bin/env bash
# kill -9 of the console at 12 moments between 0 and 3 s after F12, against portier-sim site (a C3-400 panel and
# a NiX1 bus of three slaves at 9600 baud), then a restart and F11: every door must end in its state from before
# the emergency, read back from the simulators (C3 normal-open / latched / locked per door; NiX1 CRON, CRON_MODE,
# LOCK_0, LOCK_1 on each slave's card), including slaves with a real cron in mode 0. The restarted console must
# show the emergency it finds (banner) and the killed run's audit row must not stay "pending".
source "$(dirname "$0")/../screen/lib.sh"
: "${PORTIERCTL:?}" "${PORTIER_SIM:?}"

S1=270100000000006B
S2=2702000000000032
S3=2703000000000005
cat >"$TMP/site.conf" <<CONF
site = { name = "Kill site"; };
roles = { default = "technician"; };
panels = ( { name = "Panel A"; host = "10.9.9.9"; model = "C3-400"; poll_ms = 200;
             doors = [ "Front", "Back", "Side", "Store" ]; } );
buses = ( { name = "Bus 1"; port = "/dev/ttyUSB9"; baud = 9600; poll_ms = 200; slaves = (
  { address = "$S1"; name = "S1"; probe1 = { door = "S1 in"; unit = 1; }; probe2 = { door = "S1 out"; unit = 2; }; },
  { address = "$S2"; name = "S2"; probe1 = { door = "S2 in"; unit = 3; }; },
  { address = "$S3"; name = "S3"; probe1 = { door = "S3 in"; unit = 5; }; probe2 = { door = "S3 out"; unit = 6; }; }
  ); } );
emergency = { doors = "all"; confirm = "none"; restore = "previous"; };
journal = { path = "$TMP/journal.db"; };
CONF
chmod 600 "$TMP/site.conf"

mkfifo "$TMP/site.in"
"$PORTIER_SIM" site "$TMP/site.conf" --dir "$TMP/site" --seed 3 <"$TMP/site.in" >"$TMP/site.out" 2>"$TMP/site.err" &
SIMPIDS+=($!)
exec 9>"$TMP/site.in"
wait_file '^portier-sim site: 1 panel, 1 bus; config ' "$TMP/site.out" 60
CONF="$TMP/site/portier.conf"
PTS=$(sed -n 's/^portier-sim site: bus "Bus 1" (3 slaves) on \(.*\)$/\1/p' "$TMP/site.out")
card() { echo "$TMP"/site/nix1-*/"$1"/CONFIG.TXT; }
ctl() { "$PORTIERCTL" "$@" >>"$TMP/ctl.log" 2>&1 || fail "portierctl $*: $(tail -3 "$TMP/ctl.log")"; }

# ---- the state before every emergency ----
n1() { ctl nix1 "$PTS" --baud 9600 --slave "$@"; }
n1 $S1 cron set '0-30 8 * * 1-5'; n1 $S1 cron-mode set 0
n1 $S2 cron set '* 7-18 * * 1-5'; n1 $S2 cron-mode set 2; n1 $S2 lock 1 on
n1 $S3 lock 2 on
ctl -c "$CONF" door normal-open-on Front
ctl -c "$CONF" door hold Back

# The slaves' cards and the panel's doors, as one line each.
nix1_state() {
    local a
    for a in $S1 $S2 $S3; do
        printf '%s cron=%s mode=%s locks=%s,%s\n' "$a" "$(sed -n 's/^CRON\t//p' "$(card $a)")" \
            "$(sed -n 's/^CRON_MODE\t//p' "$(card $a)")" "$(sed -n 's/^LOCK_0\t//p' "$(card $a)")" \
            "$(sed -n 's/^LOCK_1\t//p' "$(card $a)")"
    done
}
c3_doors() {
    local before
    before=$(grep -c 'door1=' "$TMP/site.out" || true)
    echo "Panel A: status" >&9
    local i
    for i in $(seq 50); do
        [ "$(grep -c 'door1=' "$TMP/site.out" || true)" -gt "$before" ] && break
        sleep 0.1
    done
    grep 'door1=' "$TMP/site.out" | tail -1 | grep -o 'door[1-4]=[a-z]*,[a-z]*' | tr '\n' ' '
}
WANT_N1=$'270100000000006B cron=0-30 8 * * 1-5 mode=0 locks=0,0\n2702000000000032 cron=* 7-18 * * 1-5 mode=2 locks=1,0\n2703000000000005 cron= mode=0 locks=0,1'
WANT_C3='door1=closed,normalopen door2=closed,released door3=closed,locked door4=closed,locked '
[ "$(nix1_state)" = "$WANT_N1" ] || fail "NiX1 state before: $(nix1_state)"
[ "$(c3_doors)" = "$WANT_C3" ] || fail "C3 state before: $(c3_doors)"

console() {
    touch "$TMP/started"
    start 120x32 sh -c "'echo \$\$ >$TMP/console.pid; exec $PORTIER -c $CONF'"
    wait_up 60
}
# slaves_read: the console started last has read every slave (§5.14 "read at start-up"): the bus's state file,
# written at the end of each of its jobs (the read is the first after a start without an emergency), rewritten
# since then with the three slaves known.
slaves_read() {
    local f deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        f=$(find "$XDG_STATE_HOME" -name 'nix1-*.state' -newer "$TMP/started" 2>/dev/null | head -1)
        [ -n "$f" ] && [ "$(grep -c $'^slave\t[0-9A-F]*\t1\t' "$f")" = 3 ] && return 0
        sleep 0.05
    done
    fail "the console did not read the slaves: $(cat "$XDG_STATE_HOME"/portier/*/nix1-*.state 2>&1)"
}

for t in 0 0.1 0.2 0.3 0.6 0.8 1.1 1.4 1.7 2.0 2.5 3.0; do
    console
    slaves_read
    keys F12
    sleep "$t"
    pid=$(cat "$TMP/console.pid")
    kill -9 "$pid"
    # the shell's "EXITED 137" may wrap across pane lines: wait for the process itself
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && fail "console $pid still alive after kill -9"
    stop_tmux
    after_kill="$(nix1_state | tr '\n' ';') $(c3_doors)"
    # restart: whatever the kill interrupted is known and shown; F11 restores it
    console
    if screen_text | grep -q 'EMERGENCY' || { sleep 3; screen_text | grep -q 'EMERGENCY ACTIVE'; }; then
        wait_text 'EMERGENCY ACTIVE .* begun before this console started' 15
        keys F11; wait_text 'End the emergency'; keys y
        wait_text 'emergency-off site: done' 60
        wait_gone 'EMERGENCY' 10
        shown=yes
    else
        shown=no
    fi
    keys q; wait_text 'EXITED 0' 20
    stop_tmux
    got_n1=$(nix1_state); got_c3=$(c3_doors)
    [ "$got_n1" = "$WANT_N1" ] || fail "killed at $t s (banner: $shown; after the kill: $after_kill): NiX1 $got_n1"
    [ "$got_c3" = "$WANT_C3" ] || fail "killed at $t s (banner: $shown; after the kill: $after_kill): C3 $got_c3"
    echo "killed at $t s: after the kill $after_kill; banner after restart: $shown; restored"
done

# no audit row is left pending; the killed runs' rows say they were interrupted
"$PORTIERCTL" -c "$CONF" --json audit --limit 1000 >"$TMP/audit.json" || fail "audit query"
grep -q '"result":"pending"' "$TMP/audit.json" && fail "a pending audit row survived: $(grep pending "$TMP/audit.json")"
grep -q '"result":"interrupted"' "$TMP/audit.json" || fail "no interrupted row: $(cat "$TMP/audit.json")"
pass "kill -9 at 12 moments after F12: every door back to its state before the emergency"
