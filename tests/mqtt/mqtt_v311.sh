#!/usr/bin/env bash
# A broker that speaks MQTT 3.1.1 only (fake_broker_v311.py): the bridge's v5 CONNECT is refused, it connects
# again at once in 3.1.1, publishes (QoS 1, acknowledged), and a command's result goes to the documented
# result topic <base>/result/<user> with the request's "id" (3.1.1 has no response topic).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
export WAIT_TIMEOUT=20
V3=$(free_port)
python3 "$(dirname "$0")/fake_broker_v311.py" "$V3" "$TMP/v3.log" portier/cmd/alice/command \
    '{"action":"door-open","target":"Main entrance","seconds":2,"id":"v3-1"}' >"$TMP/v3.out" 2>&1 &
PIDS+=($!)
wait_port "$V3" || fail "fake 3.1.1 broker did not start"
BROKER_PORT=$V3
MQTT_EXTRA='commands = true; roles = ( { user = "alice"; role = "operator"; } );'
site_start
host_start
wait_for status_is connection connected || fail "no 3.1.1 connection: $(cat "$TMP/status.json" "$TMP/v3.log" 2>/dev/null)"
[ "$(status protocol)" = 4 ] || fail "protocol $(status protocol), expected 4 (3.1.1)"
[ "$(grep '^#connect' "$TMP/v3.log" | head -2 | tr '\n' ' ')" = "#connect 5 #connect 4 " ] \
    || fail "expected a v5 attempt then 3.1.1: $(grep '^#connect' "$TMP/v3.log")"
wait_file_line "$TMP/v3.log" $'^portier/status\tonline$' >/dev/null || fail "no online status"
wait_file_line "$TMP/v3.log" '^portier/events	\{"journal_id":' >/dev/null || fail "no journal events"
grep -q "^#subscribe portier/cmd/+/#" "$TMP/v3.log" || fail "command topics not subscribed"
pass "a 3.1.1-only broker: v5 refused, 3.1.1 at once, states and events published"
wait_file_line "$TMP/v3.log" $'^portier/result/alice\t.*"id":"v3-1"' >/dev/null || fail "no result: $(grep result "$TMP/v3.log")"
grep $'^portier/result/alice\t' "$TMP/v3.log" | grep -q '"status":"ok"' || fail "command failed: $(grep result "$TMP/v3.log")"
[ "$(sqlite3 "$TMP/journal.db" "SELECT user||' '||action||' '||result FROM audit WHERE user='mqtt:alice'")" \
  = "mqtt:alice door-open ok" ] || fail "not audited"
pass "over 3.1.1 a command's result arrives on portier/result/alice with its id; audited"
