#!/usr/bin/env bash
# The whole site end to end through the driver adapters: two C3 panels (C3-400, C3-200) and a NiX1 bus of
# three configured slaves on a pty; portierctl status, door open, emergency on (every door confirmed) and
# off (NiX1 slaves back to their previous cron, cron mode and lock-outs, C3 doors locked), journal, audit.
. "$(dirname "$0")/lib.sh"
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/xdg"
export WAIT_TIMEOUT=20

PA=$(free_port)
PB=$(free_port)
"$PORTIER_SIM" c3 --port "$PA" --model c3-400 </dev/null >"$TMP/c3a.out" 2>"$TMP/c3a.err" &
PIDS+=($!)
"$PORTIER_SIM" c3 --port "$PB" --model c3-200 </dev/null >"$TMP/c3b.out" 2>"$TMP/c3b.err" &
PIDS+=($!)
"$PORTIER_SIM" nix1 --slaves 3 --configured --dir "$TMP/sd" --control "$TMP/nctl" --no-stdin --link "$TMP/bus.tty" \
    >"$TMP/nix1.out" 2>"$TMP/nix1.err" &
PIDS+=($!)
wait_port "$PA" || fail "C3-400 simulator did not start: $(cat "$TMP/c3a.err")"
wait_port "$PB" || fail "C3-200 simulator did not start: $(cat "$TMP/c3b.err")"
wait_file_line "$TMP/nix1.out" "bus on $TMP/bus.tty " >/dev/null || fail "NiX1 simulator did not start: $(cat "$TMP/nix1.err")"
PTY=$TMP/bus.tty
S1=270100000000006B S2=2702000000000032 S3=2703000000000005
pass "simulators: C3-400 on $PA, C3-200 on $PB, NiX1 bus on $PTY"

C="$TMP/site.conf"
cat > "$C" <<CONF
site = { name = "E2E"; };
panels = (
  { name = "Panel A"; host = "127.0.0.1"; port = $PA; model = "C3-400"; poll_ms = 200;
    doors = ( "Main entrance", "Back door", "Garage", "Store room" ); aux = ( "Siren" ); },
  { name = "Panel B"; host = "127.0.0.1"; port = $PB; model = "C3-200"; poll_ms = 200;
    doors = ( "Office", "Lab" ); }
);
buses = ( { name = "Bus 1"; port = "$PTY"; baud = 9600; poll_ms = 200;
  slaves = (
    { address = "$S1"; name = "Slave 1"; probe1 = { door = "Yard in"; unit = 1; }; probe2 = { door = "Yard out"; unit = 2; }; },
    { address = "$S2"; name = "Slave 2"; probe1 = { door = "Shed"; unit = 1; }; },
    { address = "$S3"; name = "Slave 3"; probe1 = { door = "Cellar in"; unit = 1; }; probe2 = { door = "Cellar out"; unit = 2; }; }
  ); } );
roles = { default = "operator"; };
emergency = { doors = "all"; confirm = "none"; restore = "previous"; };
journal = { path = "$TMP/journal.db"; };
CONF
chmod 600 "$C"
ctl() { "$PORTIERCTL" -c "$C" "$@"; }
nix() { "$PORTIERCTL" nix1 "$PTY" --slave "$1" "${@:2}"; }

# ---- status: every device up, every door with its state ----
expect_rc 0 ctl status
for d in "Main entrance" "Back door" "Garage" "Store room" "Office" "Lab"; do
    grep -Eq "^  door  [1-4] $d +closed +sensor closed$" "$TMP/out" || fail "C3 door $d not closed in status: $(cat "$TMP/out")"
done
for d in "Yard in" "Yard out" "Shed" "Cellar in" "Cellar out"; do
    grep -Eq "^  probe [12] $d +locked$" "$TMP/out" || fail "NiX1 door $d not locked in status: $(cat "$TMP/out")"
done
grep -Eq '^Panel A +c3 +up ' "$TMP/out" && grep -Eq '^Panel B +c3 +up ' "$TMP/out" || fail "panels not up"
grep -Eq '^Bus 1 +nix1 +up +3/3 slaves online' "$TMP/out" || fail "bus not up: $(cat "$TMP/out")"
expect_rc 0 ctl --json status
python3 - "$TMP/out" <<'PY' || fail "status JSON"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
text = json.dumps(rows)
for name in ["Main entrance", "Office", "Yard in", "Cellar out", "Siren"]:
    assert name in text, name
PY
pass "status: 3 devices up, 11 doors and 1 aux with their state"

# ---- door open: confirmed by the panel and by the slave ----
expect_rc 0 ctl door open "Main entrance" 3
grep -q '^Main entrance: ok$' "$TMP/out" || fail "door open result: $(cat "$TMP/out")"
grep -q 'door-open: ok (1 confirmed, 0 failed)' "$TMP/out" || fail "door open summary"
expect_rc 0 ctl door open "Shed" 3
grep -q '^Shed: ok — open until [0-2][0-9]:[0-5][0-9]' "$TMP/out" || fail "NiX1 door open result: $(cat "$TMP/out")"
nix $S2 cron get >"$TMP/cron" 2>&1 || fail "cron get"
grep -Eq "$S2 cron=[0-9]+(-[0-9]+)? [0-9]+ [0-9]+ [0-9]+ \*" "$TMP/cron" || fail "timed-open window: $(cat "$TMP/cron")"
expect_rc 0 ctl door release "Shed"
grep -q '^Shed: ok$' "$TMP/out" || fail "release: $(cat "$TMP/out")"
pass "door open confirmed (C3 pulse, NiX1 fail-safe cron window, released)"

# ---- previous NiX1 states that the emergency must put back ----
nix $S2 cron set "0-30 8 * * 1-5" >/dev/null || fail "cron set"
nix $S2 cron-mode set 2 >/dev/null || fail "cron-mode set"
nix $S3 lock 2 on >/dev/null || fail "lock on"
echo 'present slave=1 probe=1 uid="Nobody Known"' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.write(sys.stdin.read()); f.flush(); print(f.readline().strip())' "$TMP/nctl" >"$TMP/present" \
    || fail "present a key"
grep -q '^ok' "$TMP/present" || fail "present: $(cat "$TMP/present")"

# ---- emergency on: every door confirmed, per door ----
START=$(date +%s%N)
expect_rc 0 ctl emergency on
END=$(date +%s%N)
for d in "Main entrance" "Back door" "Garage" "Store room" "Office" "Lab" "Yard in" "Yard out" "Shed" "Cellar in" "Cellar out"; do
    grep -Eq "^$d: ok" "$TMP/out" || fail "emergency on: $d not confirmed: $(cat "$TMP/out")"
done
grep -q 'emergency-on: ok (11 confirmed, 0 failed)' "$TMP/out" || fail "emergency on summary: $(cat "$TMP/out")"
echo "emergency on confirmed in $(( (END - START) / 1000000 )) ms (process start included)"
for a in $S1 $S2 $S3; do
    nix $a cron get | grep -q "cron=\* \* \* \* \*" || fail "$a not held open"
    nix $a cron-mode get | grep -q "cron_mode=1" || fail "$a cron mode not 1"
    nix $a lock 2 get | grep -q "locked=0" || fail "$a probe 2 still locked out"
done
expect_rc 0 ctl status
grep -q 'EMERGENCY' "$TMP/out" || true
[ "$(grep -Ec 'emergency open( +sensor (open|closed))?$' "$TMP/out")" -eq 11 ] || fail "status during the emergency: $(cat "$TMP/out")"
pass "emergency on: 11 doors confirmed and shown as emergency open; slaves verified open"

# ---- emergency off: restored ----
expect_rc 0 ctl emergency off
grep -q 'emergency-off: ok (11 confirmed, 0 failed)' "$TMP/out" || fail "emergency off summary: $(cat "$TMP/out")"
nix $S2 cron get | grep -q "cron=0-30 8 \* \* 1-5" || fail "slave 2 cron not restored"
nix $S2 cron-mode get | grep -q "cron_mode=2" || fail "slave 2 cron mode not restored"
nix $S1 cron get >"$TMP/c1" 2>&1 || true
grep -q "60 ERROR_SYNTAX" "$TMP/c1" || fail "slave 1 should have no cron again: $(cat "$TMP/c1")"
nix $S1 cron-mode get | grep -q "cron_mode=0" || fail "slave 1 cron mode not restored"
nix $S3 lock 2 get | grep -q "locked=1" || fail "slave 3 lock-out not restored"
nix $S3 lock 1 get | grep -q "locked=0" || fail "slave 3 probe 1 lock-out appeared"
expect_rc 0 ctl status
for d in "Main entrance" "Back door" "Garage" "Store room" "Office" "Lab"; do
    grep -Eq "^  door  [1-4] $d +closed +sensor closed$" "$TMP/out" || fail "C3 door $d not closed after the emergency: $(cat "$TMP/out")"
done
grep -Eq '^  probe 2 Cellar out +locked out$' "$TMP/out" || fail "Cellar out not locked out: $(cat "$TMP/out")"
pass "emergency off: C3 doors locked, NiX1 cron, cron mode and lock-outs as before"

# ---- journal and audit ----
expect_rc 0 ctl journal --limit 500
J="$TMP/out"
grep -q 'operator: emergency-on ok: 11 confirmed, 0 failed' "$J" || fail "journal: emergency on"
grep -q 'operator: emergency-off ok: 11 confirmed, 0 failed' "$J" || fail "journal: emergency off"
grep -q 'Slave 1 / Yard in: refused Nobody Known: 55 ERROR_USER' "$J" || fail "journal: NiX1 access entry: $(grep -i slave "$J")"
grep -Eq 'Panel A: link up' "$J" && grep -Eq 'Bus 1: link up' "$J" || fail "journal: link events"
grep -Eq 'Panel [AB] / [A-Za-z ]+: remote (opening|normal opening|closing)' "$J" || fail "journal: C3 events: $(grep Panel "$J")"
expect_rc 0 ctl audit
A="$TMP/out"
grep -q 'door-open Main entrance seconds=3: ok — Main entrance: ok' "$A" || fail "audit door open"
grep -q 'emergency-on site: ok — Main entrance: ok; Back door: ok' "$A" || fail "audit emergency on: $(cat "$A")"
grep -q 'emergency-off site: ok' "$A" || fail "audit emergency off"
pass "journal has link, C3, NiX1 access and emergency events; audit has every action with per-door results"

# ---- a panel that goes away: the door fails with a reason, the others still work ----
kill "${PIDS[1]}" && wait "${PIDS[1]}" 2>/dev/null || true
PIDS[1]=""
t0=$SECONDS
expect_rc 3 ctl door open "Office" 2
grep -q '^Office: FAILED — offline' "$TMP/out" || fail "offline panel result: $(cat "$TMP/out")"
[ $((SECONDS - t0)) -lt 5 ] || fail "a door of the refused panel took $((SECONDS - t0)) s to fail"
t0=$SECONDS
expect_rc 0 ctl door open "Garage" 2
[ $((SECONDS - t0)) -lt 5 ] || fail "a door of a live panel took $((SECONDS - t0)) s while another panel is down"
pass "an unreachable panel fails its door with the reason; the rest of the site works"
