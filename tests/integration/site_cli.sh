#!/usr/bin/env bash
# portierctl site commands: check-config (every problem with its line), audit-first door control with
# per-door results, journal and audit queries in text, CSV and JSON; --json ack prints its outcome.
. "$(dirname "$0")/lib.sh"
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/xdg"

cp "$SRCDIR/config/portier.conf.example" "$TMP/p.conf"
chmod 600 "$TMP/p.conf"
expect_rc 0 "$PORTIERCTL" --check-config "$TMP/p.conf"
grep -q 'OK: site "Head office": 1 panel, 1 bus, 6 doors, 0 warnings' "$TMP/out" || fail "check-config summary"
pass "example config is valid"

# the search order: $XDG_CONFIG_HOME/portier/portier.conf
mkdir -p "$TMP/xdg/portier" && cp "$TMP/p.conf" "$TMP/xdg/portier/portier.conf"
expect_rc 0 "$PORTIERCTL" --check-config
grep -q "^$TMP/xdg/portier/portier.conf: OK" "$TMP/out" || fail "XDG config not found"
pass "search order"

cat > "$TMP/bad.conf" <<'CONF'
site = { name = "Bad"; };
panels = (
  { name = "P"; host = "10.0.0.1"; port = 70000; model = "C3-200";
    doors = ( "A", "B", "C" ); password = "x"; }
);
buses = ( { name = "B"; port = "/dev/ttyS0"; baud = 9601;
  slaves = ( { address = "271A2100000000F3"; probe1 = { door = "A"; unit = 1; }; } ); } );
CONF
chmod 644 "$TMP/bad.conf"
expect_rc 1 "$PORTIERCTL" --check-config "$TMP/bad.conf"
B="$TMP/bad.conf"
cat > "$TMP/want" <<WANT
$B:3: 'port' = 70000 is out of range (1..65535)
$B:4: a password is set but $B is readable by group or others (mode 0644): run chmod 600 $B
$B:4: 'doors' names 3 outputs but a C3-200 has 2
$B:6: 'baud' = 9601 is not a NiX1 rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
$B:7: warning: address 271A2100000000F3: CRC-8 mismatch (expected FD; a real slave would be 271A2100000000FD)
$B:7: duplicate door name "A" (first at line 4)
WANT
diff -u "$TMP/want" "$TMP/err" || fail "check-config diagnostics differ"
pass "every problem reported with its line"
# --json: one object per problem, then the verdict
expect_rc 1 "$PORTIERCTL" --json --check-config "$TMP/bad.conf"
python3 - "$TMP/out" "$B" <<'PY' || fail "check-config --json: $(cat "$TMP/out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
probs, verdict = rows[:-1], rows[-1]
assert len(probs) == 6, probs
assert {"file": sys.argv[2], "line": 3, "severity": "error", "message": "'port' = 70000 is out of range (1..65535)"} in probs, probs
assert any(p["severity"] == "warning" and p["line"] == 7 for p in probs), probs
assert verdict == {"file": sys.argv[2], "ok": False, "errors": 5, "warnings": 1,
                   "error": sys.argv[2] + ": 5 errors", "code": 1}, verdict
PY
expect_rc 0 "$PORTIERCTL" --json check-config "$TMP/p.conf"
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert len(r)==1 and r[0]["ok"] and r[0]["site"]=="Head office" and r[0]["doors"]==6, r' \
    "$TMP/out" || fail "check-config --json of a valid file: $(cat "$TMP/out")"
pass "check-config --json"

# door control: audited first, result per door. Tests never reach beyond loopback: point the example's
# panel at a closed 127.0.0.1 port and its bus at a missing device, so the door fails with the reason
# and the audit row says so.
closed_port=$(closed_port)
sed -i -e "s|host = \"[^\"]*\"|host = \"127.0.0.1\"|" -e "s|port = 4370;|port = $closed_port;|" \
    -e "s|port = \"/dev/ttyUSB0\"|port = \"$TMP/no-such-tty\"|" "$TMP/p.conf"
grep -q '127.0.0.1' "$TMP/p.conf" && ! grep -q '192\.168\.' "$TMP/p.conf" || fail "example config not rewritten to loopback"
t0=$SECONDS
expect_rc 3 "$PORTIERCTL" -c "$TMP/p.conf" door open "main ENTRANCE" 5
grep -q '^Main entrance: FAILED' "$TMP/out" || fail "door result line"
grep -q '^Main entrance: FAILED — .*refused' "$TMP/out" || fail "door result without the reason: $(cat "$TMP/out")"
# a refused connection fails the door at once (no waiting out the link deadline)
[ $((SECONDS - t0)) -lt 5 ] || fail "door open on a refused panel took $((SECONDS - t0)) s"
expect_rc 2 "$PORTIERCTL" -c "$TMP/p.conf" door open "Nowhere" 5
grep -q 'no door named "Nowhere"' "$TMP/err" || fail "unknown door message"
expect_rc 2 "$PORTIERCTL" --readonly -c "$TMP/p.conf" emergency on
grep -q 'emergency-on needs the operator role' "$TMP/err" || fail "readonly not enforced: $(cat "$TMP/err")"
pass "door control audited, roles enforced"

expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" --json audit
python3 - "$TMP/out" <<'PY' || fail "audit JSON"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# newest first; the unknown door was refused before anything was sent and is not an audit row
assert [r["action"] for r in rows] == ["emergency-on", "door-open"], rows
assert rows[0]["result"] == "denied" and rows[0]["role"] == "guard", rows[0]
assert rows[1]["target"] == "Main entrance" and rows[1]["params"] == "seconds=5", rows[1]
assert rows[1]["result"] == "failed" and "Main entrance: FAILED" in rows[1]["detail"], rows[1]
PY
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" journal --kind operator --csv --search "door-open"
head -1 "$TMP/out" | grep -q '^id,time,kind,severity,device,door,code,code_name,card,uid,text$' || fail "csv header"
[ "$(wc -l < "$TMP/out")" -eq 3 ] || fail "journal csv rows: $(cat "$TMP/out")"
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" journal --severity warning --search "door-open" --limit 1
grep -q 'door-open Main entrance: failed' "$TMP/out" || fail "journal severity filter"
# one time grammar with the console's filters: yesterday and -5m work, a bad date says what is wrong
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" journal --since yesterday --kind operator --search door-open
grep -q 'door-open Main entrance' "$TMP/out" || fail "journal --since yesterday: $(cat "$TMP/out")"
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" journal --until -5m --kind operator --search door-open
! grep -q 'door-open' "$TMP/out" || fail "journal --until -5m shows what happened just now"
expect_rc 2 "$PORTIERCTL" -c "$TMP/p.conf" journal --since 2026-02-30
grep -q "2026-02 has 28 days" "$TMP/err" || fail "bad date not explained: $(cat "$TMP/err")"
pass "journal and audit queries"

# a filter nothing can match is refused, with what the site has: an empty time range, a door or device it lacks
expect_rc 2 "$PORTIERCTL" -c "$TMP/p.conf" journal --since today --until yesterday
grep -q 'journal: since .* is not before until .*: nothing can match' "$TMP/err" || fail "empty range: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "empty range: output $(cat "$TMP/out")"
expect_rc 2 "$PORTIERCTL" -c "$TMP/p.conf" journal --door Nowhere
grep -q 'journal: no door "Nowhere" in the configuration (doors: Main entrance, Back door, .*) nor in the journal' "$TMP/err" \
    || fail "unknown door: $(cat "$TMP/err")"
expect_rc 2 "$PORTIERCTL" -c "$TMP/p.conf" journal --device "Panel Z"
grep -q 'journal: no device "Panel Z" in the configuration (devices: Panel A, Bus 1)' "$TMP/err" \
    || fail "unknown device: $(cat "$TMP/err")"
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" journal --door "main ENTRANCE" --device operator
# a door since removed from the configuration: the journal keeps its rows, and --door finds them
sqlite3 "$TMP/state/portier/journal.db" "INSERT INTO events (host_us, kind, severity, device, door, text)
    VALUES (CAST(strftime('%s','now') AS INTEGER) * 1000000, 0, 0, 'Panel A', 'Old gate', 'door opened')" \
    || fail "could not add the removed door's row"
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" journal --door "old GATE"
grep -q 'Old gate' "$TMP/out" || fail "a removed door's rows: $(cat "$TMP/out" "$TMP/err")"
expect_rc 2 "$PORTIERCTL" -c "$TMP/p.conf" audit --since today --until -1d
pass "journal filters that nothing can match are refused, naming what exists"

# --json failures in direct mode: one object with "error" and the exit status as "code"; stderr keeps its text
for args in "journal --door Nowhere" "journal --since today --until yesterday" "watch" "door open Nowhere 5"; do
    rc=0; "$PORTIERCTL" -c "$TMP/p.conf" --json $args >"$TMP/out" 2>"$TMP/err" || rc=$?
    python3 - "$TMP/out" "$rc" <<'PY' || fail "--json $args: exit $rc: $(cat "$TMP/out" "$TMP/err")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
errs = [r for r in rows if "error" in r]
assert int(sys.argv[2]) != 0 and len(errs) == 1 and errs[0]["code"] == int(sys.argv[2]) and errs[0]["error"], rows
PY
    [ -s "$TMP/err" ] || fail "--json $args: nothing on stderr"
done
pass "--json failures: one error object on stdout"

# --json for an action on no output (ack): one object on standard output, for success and failure alike; only an
# alarm is acknowledged
id=$("$PORTIERCTL" -c "$TMP/p.conf" journal --kind operator --limit 1 --csv | awk -F, 'NR==2 {print $1}')
[ -n "$id" ] || fail "no journal event to acknowledge"
expect_rc 1 "$PORTIERCTL" -c "$TMP/p.conf" ack "$id"
grep -q "event $id is not an alarm" "$TMP/err" || fail "ack of a normal event: $(cat "$TMP/err")"
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" --json audit --limit 1
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read()); assert r["action"]=="ack" and r["result"]=="failed" and "not an alarm" in r["detail"], r' \
    "$TMP/out" || fail "audit of a refused ack: $(cat "$TMP/out")"
expect_rc 1 "$PORTIERCTL" -c "$TMP/p.conf" --json ack 99999999
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert len(r)==1 and r[0]["ok"] is False and "no event" in r[0]["message"], r' \
    "$TMP/out" || fail "failed ack --json: $(cat "$TMP/out")"
grep -q 'no event 99999999' "$TMP/err" || fail "failed ack: no message on stderr"
pass "--json ack prints its outcome"

# the emergency with every device dead: each door fails at once with its device's reason
t0=$SECONDS
expect_rc 3 "$PORTIERCTL" -c "$TMP/p.conf" emergency on
[ $((SECONDS - t0)) -lt 5 ] || fail "emergency on dead devices took $((SECONDS - t0)) s"
[ "$(grep -c '^.*: FAILED — .*refused' "$TMP/out")" -eq 4 ] || fail "panel doors: $(cat "$TMP/out")"
[ "$(grep -c "^.*: FAILED — .*no-such-tty" "$TMP/out")" -eq 2 ] || fail "bus doors: $(cat "$TMP/out")"
grep -q '^emergency-on: failed (0 confirmed, 6 failed)' "$TMP/out" || fail "emergency summary: $(cat "$TMP/out")"
pass "dead devices fail their doors at once, with the reason"

# the emergency is an alarm: acknowledged, with one JSON object
id=$("$PORTIERCTL" -c "$TMP/p.conf" journal --severity alarm --kind emergency --limit 1 --csv | awk -F, 'NR==2 {print $1}')
[ -n "$id" ] || fail "no alarm to acknowledge"
expect_rc 0 "$PORTIERCTL" -c "$TMP/p.conf" --json ack "$id"
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert r==[{"action":"ack","target":sys.argv[2],"ok":True,"message":"ok"}], r' \
    "$TMP/out" "$id" || fail "ack --json: $(cat "$TMP/out")"
pass "an alarm is acknowledged"
