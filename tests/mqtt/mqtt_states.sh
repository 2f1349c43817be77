#!/usr/bin/env bash
# The MQTT bridge against a real mosquitto (password file + ACL) on a simulated site (C3-200 + NiX1 bus):
# retained door states match the simulator; every swipe arrives once, in journal order; Home Assistant
# discovery validated against ha_discovery_schema.json (what HA documents per entity type, cited there);
# commands: guard refused and audited, unknown user refused, operator opens the door with the result on the
# v5 response topic (with its correlation data) or on the result topic, malformed payloads answered and audited,
# and a user cannot command under another user's name (the broker's ACL).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
export WAIT_TIMEOUT=20
HERE="$(dirname "$0")"

broker_start
MQTT_EXTRA='commands = true; ha_user = "hass";
  roles = ( { user = "alice"; role = "operator"; }, { user = "guard1"; role = "guard"; },
            { user = "hass"; role = "operator"; } );'
site_start
# a consumer with a persistent session on the events topic, there before the bridge
sub_bg reader -i reader-events -c -q 1 -t portier/events >"$TMP/events.txt" 2>"$TMP/events.err"
wait_file_line "$MQ/broker.log" "as reader-events" >/dev/null || fail "reader did not connect"
sub_bg reader -V 5 -t 'portier/result/#' -t 'replies/#' -F '%t|%D|%p' >"$TMP/results.txt" 2>&1
host_start
wait_for status_is connection connected || fail "bridge not connected: $(cat "$TMP/host.out")"
[ "$(status protocol)" = 5 ] || fail "expected MQTT v5 with mosquitto 2"
wait_for status_is backlog 0 || fail "backlog at start"
expect_rc 0 "$PORTIERCTL" --socket "$TMP/portierd.sock" mqtt status
grep -q "^MQTT 127.0.0.1:$BROKER_PORT: connected (MQTT 5) since " "$TMP/out" || fail "mqtt status: $(cat "$TMP/out")"
grep -Eq '^journal: last acknowledged #[0-9]+, newest #[0-9]+, backlog 0 ' "$TMP/out" || fail "mqtt status: $(cat "$TMP/out")"
expect_rc 0 "$PORTIERCTL" --socket "$TMP/portierd.sock" --json mqtt status
[ "$(py json "$TMP/out" connection)" = connected ] && [ "$(py json "$TMP/out" acked_id)" = "$(py json "$TMP/out" journal_id)" ] \
    || fail "mqtt status --json: $(cat "$TMP/out")"
pass "bridge connected to mosquitto (v5) as portier; portierctl mqtt status shows it (connection, backlog 0)"

# ---- retained states match the simulator ----
c3ctl open door=1 >/dev/null
state_of() { sub reader -t "portier/output/$1/state" -C 1 -W 5 2>/dev/null; }
wait_for bash -c "$(declare -f sub); BROKER_PORT=$BROKER_PORT; sub reader -t portier/output/main_entrance/state -C 1 -W 2 | grep -q '\"sensor\":\"open\"'" \
    || fail "door 1 open never retained"
# the bus is up once a slave has answered its first poll (the panel may be up well before): wait for it
wait_for bash -c "$(declare -f sub); BROKER_PORT=$BROKER_PORT; sub reader -t portier/device/bus_1/availability -C 1 -W 2 | grep -qx online" \
    || fail "bus 1 never retained as online: $(cat "$TMP/host.out")"
sleep 0.5
SIM=$(c3ctl status panel=0)
sub reader -t 'portier/output/+/state' -t 'portier/device/+/availability' -t portier/status -t portier/emergency \
    -F '%t %p' -W 2 >"$TMP/retained.txt" 2>/dev/null || true
python3 - "$TMP/retained.txt" "$SIM" <<'PY' || fail "retained states differ from the simulator"
import json, re, sys
ret = {}
for line in open(sys.argv[1]):
    t, _, p = line.rstrip("\n").partition(" ")
    if t.startswith("portier/"):
        ret[t] = p
sim = dict(re.findall(r"(door\d)=(\S+)", sys.argv[2]))
names = {"door1": "main_entrance", "door2": "back_door"}
for d, slug in names.items():
    sensor, lock, alarm = sim[d].split(",")
    st = json.loads(ret["portier/output/%s/state" % slug])
    want = {"sensor": sensor, "locked": lock == "locked", "alarm": alarm == "alarm=1"}
    got = {k: st[k] for k in want}
    assert got == want, (d, sim[d], got)
assert ret["portier/status"] == "online", ret.get("portier/status")
assert ret["portier/device/panel_a/availability"] == "online"
assert ret["portier/device/bus_1/availability"] == "online"
em = json.loads(ret["portier/emergency"])
assert em["active"] is False and em["doors"] == 4, em
print("retained states match: %s" % ", ".join("%s=%s" % kv for kv in sorted(sim.items())))
PY
c3ctl close door=1 >/dev/null
pass "retained door states match the simulator (sensor, lock, alarm), devices online, emergency off"

# ---- every swipe once, in journal order ----
FIRST=$(sqlite3 "$TMP/journal.db" "SELECT ifnull(max(id),0) FROM events")
for i in $(seq 1 40); do   # paced: the panel's ring holds 30 events between two polls
    c3ctl swipe door=$(( i % 2 + 1 )) card=$(( 5000 + i )) granted=1 >/dev/null
    sleep 0.03
done
wait_for grep -q '"card":5040' "$TMP/events.txt" || fail "swipe 40 never arrived: $(tail -3 "$TMP/events.txt")"
wait_for status_is backlog 0 || fail "backlog not drained: $(cat "$TMP/status.json")"
sqlite3 "$TMP/journal.db" "SELECT id FROM events WHERE id > $FIRST ORDER BY id" >"$TMP/journal_ids.txt"
python3 - "$TMP/events.txt" "$TMP/journal_ids.txt" <<'PY' || fail "events on the broker differ from the journal"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
journal = [int(l) for l in open(sys.argv[2]) if l.strip()]
ids = [e["journal_id"] for e in evs if e["journal_id"] is not None]
assert ids == sorted(ids) and len(ids) == len(set(ids)), "not in journal order or repeated: %s" % ids
cards = [e.get("card") for e in evs if e.get("card", 0) >= 5001]
assert sorted(cards) == list(range(5001, 5041)) and len(cards) == 40, "cards: %s" % cards
tail = [i for i in ids if i > journal[0] - 1] if journal else []
assert tail == journal, "journal %s.. vs broker %s.." % (journal[:5], tail[:5])
print("%d events, ids %d..%d contiguous as in the journal, 40 swipes once each" % (len(ids), ids[0], ids[-1]))
PY
pass "40 swipes arrived once each, in journal order, every journal event on the broker"

# ---- Home Assistant discovery ----
sub reader -t 'homeassistant/#' -F '%t %p' -W 2 >"$TMP/discovery.txt" 2>/dev/null || true
sub reader -t 'portier/#' -F '%t %p' -W 2 --retained-only >"$TMP/all_retained.txt" 2>/dev/null || true
python3 "$HERE/ha_check.py" "$HERE/ha_discovery_schema.json" "$TMP/discovery.txt" "$TMP/all_retained.txt" portier \
    hass 1 || fail "discovery payloads do not match what Home Assistant documents"
grep -q '"serial_number":"270100000000006B"' "$TMP/discovery.txt" || fail "NiX1 slave device without its serial"
grep -q '"model":"C3-200"' "$TMP/discovery.txt" || fail "C3 panel device without its model"
SERIAL=$(c3ctl status panel=0 | grep -o 'serial=[^ ]*' | cut -d= -f2)
grep -q "\"serial_number\":\"$SERIAL\"" "$TMP/discovery.txt" || fail "C3 panel device without the serial the panel reports ($SERIAL)"
grep -q '"sw_version":"AC Ver' "$TMP/discovery.txt" || fail "C3 panel device without its firmware"
grep -q "portier/device/panel_a/state .*\"serial\":\"$SERIAL\"" "$TMP/all_retained.txt" || fail "device state without serial"
pass "discovery: doors as door sensors, locks and access events, aux as switch, cancel button, emergency switch; panels with model, firmware and serial, slaves with their address"

# ---- commands ----
audit_count() { sqlite3 "$TMP/journal.db" "SELECT count(*) FROM audit"; }
sim_door() { c3ctl status panel=0 | grep -q "door$1=$2"; }
wait_for sim_door 1 closed,locked || fail "door 1 did not lock again after the swipes"
pub guard1 -q 1 -t portier/cmd/guard1/output/main_entrance/lock -m OPEN
wait_for grep -q '^portier/result/guard1|.*"status":"denied"' "$TMP/results.txt" || fail "guard refusal: $(cat "$TMP/results.txt")"
[ "$(sqlite3 "$TMP/journal.db" "SELECT user||' '||role||' '||action||' '||target||' '||result FROM audit WHERE user='mqtt:guard1'")" \
  = "mqtt:guard1 guard door-open Main entrance denied" ] || fail "guard refusal not audited"
sleep 0.5
sim_door 1 closed,locked || fail "a guard's command moved the door"
pass "a guard's open is refused, answered and audited; the door stays locked"

pub mallory -q 1 -t portier/cmd/mallory/emergency -m ON
wait_for grep -q '^portier/result/mallory|.*"status":"denied".*has no role' "$TMP/results.txt" || fail "unknown user"
[ "$(sqlite3 "$TMP/journal.db" "SELECT result FROM audit WHERE user='mqtt:mallory'")" = denied ] || fail "not audited"
pass "an MQTT user without a role is refused and audited"

n=$(audit_count)
pub alice -q 1 -t portier/cmd/guard1/output/main_entrance/lock -m OPEN   # the ACL drops it: not alice's level
pub alice -q 1 -t portier/cmd/alice/command -m '{"action":"door-open","target":"Back door","seconds":3,"id":"req-1"}'
wait_for grep -q '^portier/result/alice|.*"id":"req-1"' "$TMP/results.txt" || fail "v3-style result"
grep '"id":"req-1"' "$TMP/results.txt" | grep -q '"status":"ok"' || fail "door-open by alice: $(cat "$TMP/results.txt")"
[ "$(audit_count)" = $((n + 1)) ] || fail "a command under another user's name got through: $(sqlite3 "$TMP/journal.db" 'SELECT * FROM audit')"
pass "alice cannot command as guard1 (broker ACL); her JSON command answers on portier/result/alice with its id"

pub alice -V 5 -q 1 -t portier/cmd/alice/output/main_entrance/lock -D publish response-topic replies/alice/7 \
    -D publish correlation-data corr-42 -m OPEN
wait_for grep -q '^replies/alice/7|corr-42|.*"status":"ok"' "$TMP/results.txt" || fail "v5 result: $(cat "$TMP/results.txt")"
wait_for sim_door 1 closed,released || fail "the door did not open"
[ "$(sqlite3 "$TMP/journal.db" "SELECT user||' '||role||' '||result FROM audit WHERE user='mqtt:alice' AND target='Main entrance'")" \
  = "mqtt:alice operator ok" ] || fail "operator command not audited"
pass "an operator's OPEN unlocks the door; the result arrives on the v5 response topic with its correlation data"

pub alice -q 1 -t portier/cmd/alice/command -m '{"action": "door-open", "target": '
pub alice -q 1 -t portier/cmd/alice/command -m '{"action":"reload-config"}'
pub alice -q 1 -t portier/cmd/alice/output/siren/lock -m BANG
wait_for bash -c "[ \$(grep -c '^portier/result/alice|.*\"status\":\"refused\"' '$TMP/results.txt') -ge 3 ]" \
    || fail "malformed payloads not answered: $(cat "$TMP/results.txt")"
[ "$(sqlite3 "$TMP/journal.db" "SELECT count(*) FROM audit WHERE user='mqtt:alice' AND result='refused'")" -ge 3 ] \
    || fail "malformed payloads not audited"
grep -q 'reload-config is not available over MQTT' "$TMP/results.txt" || fail "technician action over MQTT"
pass "malformed payloads, actions not offered over MQTT and wrong payloads get an error reply and an audit row"

# ---- a clean stop says offline ----
broker_stop
wait_for status_is connection disconnected || fail "broker gone unnoticed"
expect_rc 3 "$PORTIERCTL" --socket "$TMP/portierd.sock" mqtt status
grep -q ": disconnected since " "$TMP/out" && grep -q "^last error: " "$TMP/out" || fail "mqtt status when down: $(cat "$TMP/out")"
pass "portierctl mqtt status says so when the broker is gone (exit 3, the last error)"
broker_start
wait_for status_is connection connected || fail "no reconnection"
host_stop
[ "$(sub reader -t portier/status -C 1 -W 3)" = offline ] || fail "status not offline after a clean stop"
pass "a clean stop publishes offline"
