#!/usr/bin/env bash
# portier-sim site: a simulator for every panel group and bus of a configuration, a rewritten configuration
# that the loader accepts and whose hosts/ports reach the simulators (C3 info, NiX1 status with the configured
# units, access decisions with provisioned rights), control forwarding, clean stops, and a dead child reported.
. "$(dirname "$0")/lib.sh"
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/xdg"
export WAIT_TIMEOUT=30   # two shared cores: starting four simulators can take a while

S1=271A2100000000FD
S2=2701000000000025   # CRC-8 mismatch on purpose: a warning, still simulated
cat > "$TMP/site.conf" <<'CONF'
site = { name = "Sim site"; };
panels = (
  { name = "Panel A"; host = "10.1.1.1"; model = "C3-400"; password = "s3cret";
    doors = ( "Main entrance", "Back door", "Garage", "Store" ); aux = ( "Siren" ); },
  { name = "Panel B"; host = "10.1.1.2"; port = 4371; doors = ( "Lab north", "Lab south" ); poll_ms = 500; },
  { name = "Panel C"; host = "panel-c.example"; model = "C3-200"; doors = ( "Yard" ); }
);
buses = (
  { name = "Bus 1"; port = "/dev/ttyUSB0"; baud = 19200;
    slaves = (
      { address = "271A2100000000FD"; name = "Lab"; valid_access_timeout = 7;
        probe1 = { door = "Lab entrance"; unit = 14; }; probe2 = { door = "Lab exit"; unit = 15; }; },
      { address = "2701000000000025"; probe1 = { door = "Archive \"old\""; unit = 30; }; }
    ); }
);
roles = { default = "operator"; map = ( { user = "root"; role = "technician"; } ); };
emergency = { doors = ( "Main entrance", "Lab exit" ); confirm = "word"; };
ui = { keys = ( "door-open=o" ); };
CONF
chmod 600 "$TMP/site.conf"

# stdin from a FIFO held open here: commands go in, EOF only when we decide
mkfifo "$TMP/in"
exec 3<>"$TMP/in"
"$PORTIER_SIM" site "$TMP/site.conf" --dir "$TMP/site" --seed 7 <"$TMP/in" >"$TMP/site.out" 2>"$TMP/site.err" &
SITE=$!
PIDS+=("$SITE")
wait_file_line "$TMP/site.out" '^portier-sim site: 3 panels, 1 bus; config ' >/dev/null ||
    { cat "$TMP/site.out" "$TMP/site.err" >&2; fail "no ready line"; }
CONF="$TMP/site/portier.conf"
grep -q "^portier-sim site: 3 panels, 1 bus; config $CONF\$" "$TMP/site.out" || fail "ready line names $CONF"
grep -q 'warning: address 2701000000000025: CRC-8 mismatch' "$TMP/site.err" || fail "config warning not shown"
pass "ready line after every simulator"

# the rewritten configuration: private, valid, same site, pointing at the simulators
[ "$(stat -c %a "$CONF")" = 600 ] || fail "rewritten config mode $(stat -c %a "$CONF")"
expect_rc 0 "$PORTIERCTL" --check-config "$CONF"
grep -q 'OK: site "Sim site": 3 panels, 1 bus, 11 doors, 1 warning' "$TMP/out" || fail "check-config: $(cat "$TMP/out")"
port_of() { sed -n "s/^portier-sim site: panel \"$1\" (\\(c3-[0-9]*\\)) on 127.0.0.1:\\([0-9]*\\)\$/\\2/p" "$TMP/site.out"; }
PA=$(port_of "Panel A"); PB=$(port_of "Panel B"); PC=$(port_of "Panel C")
PTS=$(sed -n 's/^portier-sim site: bus "Bus 1" (2 slaves) on \(.*\)$/\1/p' "$TMP/site.out")
[ -n "$PA" ] && [ -n "$PB" ] && [ -n "$PC" ] && [ -c "$PTS" ] || fail "ports/pty not announced: $(cat "$TMP/site.out")"
[ "$PC" -eq $((PB + 1)) ] || fail "Panel B and C (2 doors, no password) should share one simulator: $PB $PC"
grep -Eq 'host = "10\.|panel-c\.example|ttyUSB0' "$CONF" && fail "an original host or port survived"
python3 - "$CONF" "$PA" "$PB" "$PC" "$PTS" "$TMP/site" <<'PY' || fail "rewritten config content"
import re, sys
text, pa, pb, pc, pts, d = open(sys.argv[1]).read(), *sys.argv[2:]
def block(name):
    i = text.index('name = "%s";' % name)
    return text[i:text.index('}', i)]
a, b, c = block("Panel A"), block("Panel B"), block("Panel C")
assert 'host = "127.0.0.1";' in a and ("port = %s;" % pa) in a and 'password = "s3cret";' in a, a
assert 'model = "C3-400";' in a and '"Main entrance", "Back door", "Garage", "Store"' in a and '"Siren"' in a, a
assert ("port = %s;" % pb) in b and "poll_ms = 500;" in b and "model" not in b, b
assert ("port = %s;" % pc) in c and 'model = "C3-200";' in c and '"Yard"' in c, c
assert ('port = "%s";' % pts) in text and "baud = 19200;" in text
assert 'door = "Archive \\"old\\""; unit = 30;' in text, "escaped door name"
assert "valid_access_timeout = 7;" in text and 'confirm = "word";' in text
assert '{ user = "root"; role = "technician"; }' in text and '"door-open=o"' in text
assert ('path = "%s/journal.db";' % d) in text, "journal must stay inside the simulation directory"
PY
pass "rewritten config valid, private, same site, hosts/ports/bus replaced"

# every panel answers as its model, on its port, with its password
expect_rc 0 "$PORTIERCTL" c3 "127.0.0.1:$PA" --password s3cret info
grep -Eq '^model +C3-400$' "$TMP/out" && grep -Eq '^doors +4$' "$TMP/out" || fail "Panel A info: $(cat "$TMP/out")"
expect_rc 1 "$PORTIERCTL" c3 "127.0.0.1:$PA" info
grep -q 'wrong communication password' "$TMP/err" || fail "Panel A accepted no password"
for p in "$PB" "$PC"; do
    expect_rc 0 "$PORTIERCTL" c3 "127.0.0.1:$p" info
    grep -Eq '^model +C3-200$' "$TMP/out" && grep -Eq '^doors +2$' "$TMP/out" || fail "panel on $p: $(cat "$TMP/out")"
done
pass "panels: models, ports and password as configured"

# the slaves booted with the configured units and timeouts, at the line rate, with the host clock
for s in $S1 $S2; do
    expect_rc 0 "$PORTIERCTL" --json nix1 "$PTS" --baud 19200 --slave "$s" status
    cp "$TMP/out" "$TMP/status.$s"
done
python3 - "$TMP/status.$S1" "$TMP/status.$S2" <<'PY' || fail "slave status: $(cat "$TMP/status.$S1" "$TMP/status.$S2")"
import json, sys, time
s1, s2 = (json.loads(open(f).read()) for f in sys.argv[1:3])
assert s1["slave"] == "271A2100000000FD" and s1["unit1"] == "14" and s1["unit2"] == "15", s1
assert s1["valid_timeout"] == "7" and s1["mode"] == "1", s1
assert s2["slave"] == "2701000000000025" and s2["unit1"] == "30" and s2["unit2"] is None, s2
assert s2["valid_timeout"] == "5", s2   # not configured: the slave's default
assert abs(int(s1["time"].split()[0]) - time.time()) < 120, s1["time"]
PY
pass "slaves: configured units, timeouts and host clock"

# access decisions use rights provisioned for the configured units; control goes through the site's stdin
echo 'Bus 1: present slave='$S1' probe=1 uid="Arthur Dent"' >&3
echo 'Bus 1: present slave='$S2' probe=1 uid="Nobody"' >&3
wait_file_line "$TMP/site.out" '^bus "Bus 1": ok granted rc=00 .*door=unlocked' >/dev/null ||
    fail "Arthur Dent not granted on unit 14: $(tail -3 "$TMP/site.out")"
wait_file_line "$TMP/site.out" '^bus "Bus 1": ok refused ' >/dev/null || fail "unknown user not refused"
echo 'Panel C: status' >&3
wait_file_line "$TMP/site.out" '^panels "Panel B", "Panel C": ' >/dev/null || fail "forwarded panel command"
echo 'Nowhere: status' >&3
wait_file_line "$TMP/site.out" '^error: no panel or bus of that name' >/dev/null || fail "unknown device"
pass "control forwarding, provisioned rights"

# the live site through the rewritten configuration: every device up, every door known, and a door command
# reaches the password-protected panel
expect_rc 0 timeout 60 "$PORTIERCTL" -c "$CONF" status
for dev in "Panel A" "Panel B" "Panel C" "Bus 1"; do
    grep -Eq "^$dev +(c3|nix1) +up" "$TMP/out" || { cat "$TMP/out" >&2; fail "$dev not up"; }
done
grep -Eq '^Bus 1 +nix1 +up +2/2 slaves online' "$TMP/out" || fail "bus slaves: $(grep '^Bus 1' "$TMP/out")"
grep -Eq '^  (door|aux|probe) ' "$TMP/out" || fail "no outputs listed"
[ "$(grep -Ec '^  (door|aux|probe) ' "$TMP/out")" -eq 12 ] || fail "expected 12 outputs: $(cat "$TMP/out")"
grep -E '^  (door|aux|probe) ' "$TMP/out" | grep -q stale && fail "stale outputs: $(cat "$TMP/out")"
expect_rc 0 timeout 60 "$PORTIERCTL" -c "$CONF" door open "Garage" 3
grep -q '^Garage: ' "$TMP/out" && ! grep -q FAILED "$TMP/out" || fail "door open: $(cat "$TMP/out" "$TMP/err")"
pass "portierctl -c rewritten config: every device up, door command on Panel A"

# status lists one simulator per group; a dead child is reported and takes the site down, no orphans
echo status >&3
wait_file_line "$TMP/site.out" '^bus "Bus 1": pid [0-9]+' >/dev/null || fail "status"
mapfile -t CHILDREN < <(sed -n 's/^\(panel\|panels\|bus\) .*: pid \([0-9]*\), .*/\2/p' "$TMP/site.out")
[ "${#CHILDREN[@]}" -eq 3 ] || fail "expected 3 simulators, got ${#CHILDREN[@]}: $(cat "$TMP/site.out")"
kill -KILL "${CHILDREN[0]}"
rc=0
wait "$SITE" || rc=$?
[ "$rc" -eq 1 ] || fail "site exit $rc after a child died"
grep -q 'the simulator of panel "Panel A" (pid [0-9]*) was killed by signal 9' "$TMP/site.err" ||
    fail "death not reported: $(cat "$TMP/site.err")"
for p in "${CHILDREN[@]}"; do kill -0 "$p" 2>/dev/null && fail "simulator $p left running"; done
pass "dead simulator reported, the others stopped"

# SIGTERM: clean stop, temporary directory removed; --quit-on-eof: stdin EOF stops it
TMPDIR="$TMP/t" && mkdir -p "$TMPDIR" && export TMPDIR
"$PORTIER_SIM" site "$TMP/site.conf" </dev/null >"$TMP/s2.out" 2>"$TMP/s2.err" &
S=$!
PIDS+=("$S")
wait_file_line "$TMP/s2.out" 'config ' >/dev/null || fail "second site not ready: $(cat "$TMP/s2.err")"
sleep 0.5   # a negative check: stdin is at EOF (/dev/null) and the site must still be running
kill -0 "$S" || fail "stdin EOF stopped the site without --quit-on-eof"
D=$(sed -n 's/.*; config \(.*\)\/portier.conf$/\1/p' "$TMP/s2.out")
case "$D" in "$TMP/t/portier-site."*) ;; *) fail "temporary directory $D" ;; esac
mapfile -t CHILDREN < <(pgrep -P "$S")
[ "${#CHILDREN[@]}" -eq 3 ] || fail "expected 3 simulators under $S, got ${#CHILDREN[@]}"
kill -TERM "$S"
rc=0; wait "$S" || rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM exit $rc: $(cat "$TMP/s2.err")"
[ ! -e "$D" ] || fail "temporary directory left behind"
for p in "${CHILDREN[@]}"; do kill -0 "$p" 2>/dev/null && fail "simulator $p left running after SIGTERM"; done
grep -q 'while stopping\|did not stop' "$TMP/s2.err" && fail "unclean stop: $(cat "$TMP/s2.err")"
pass "SIGTERM stops everything and removes the temporary directory (stdin EOF alone does not)"

exec 4> >(exec "$PORTIER_SIM" site "$TMP/site.conf" --quit-on-eof --dir "$TMP/eof" >"$TMP/s2.out" 2>"$TMP/s2.err")
wait_file_line "$TMP/s2.out" 'config ' >/dev/null || fail "eof site not ready"
exec 4>&-
WAIT_TIMEOUT=15 wait_for bash -c "! pgrep -f '[p]ortier-sim .*$TMP/eof' >/dev/null" || fail "stdin EOF did not stop the site"
[ -f "$TMP/eof/portier.conf" ] || fail "--dir contents must be kept"
pass "--quit-on-eof"

# bad input: an invalid configuration is refused with its diagnostics, nothing started
printf 'site = { name = "X"; };\npanels = ( { name = "P"; } );\n' >"$TMP/bad.conf"
expect_rc 2 "$PORTIER_SIM" site "$TMP/bad.conf"
grep -q "bad.conf:2: panel \"P\": missing required key 'host'" "$TMP/err" || fail "diagnostics: $(cat "$TMP/err")"
expect_rc 2 "$PORTIER_SIM" site "$TMP/missing.conf"
expect_rc 2 "$PORTIER_SIM" site "$TMP/site.conf" --activity -1
expect_rc 2 "$PORTIER_SIM" site
pass "bad configuration and options refused"

# no sanitizer report from the site or any of its simulators (sanitizer builds)
if grep -El 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP"/*.err "$TMP/err" 2>/dev/null; then
    fail "sanitizer report"
fi
pass "no sanitizer reports"
