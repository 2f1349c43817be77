# Helpers for the MQTT tests (sourced after tests/integration/lib.sh): a private mosquitto on 127.0.0.1 with a
# password file and an ACL, and a C3 + NiX1 simulated site owned by mqtt_host with the bridge.
: "${PORTIERD:?}"
command -v mosquitto >/dev/null || PATH="$PATH:/usr/sbin"
command -v mosquitto >/dev/null || fail "mosquitto is not installed (./run installs it)"

BROKER_PORT=$(free_port)
MQ="$TMP/mq"
mkdir -p "$MQ/data"
# users: portier (the bridge), reader (the tests' subscriber), alice (operator), guard1 (guard), hass (Home
# Assistant, operator), mallory (no role)
: >"$MQ/passwd"
for u in portier reader alice guard1 hass mallory; do
    mosquitto_passwd -b "$MQ/passwd" "$u" "pw-$u" >/dev/null 2>&1 || fail "mosquitto_passwd"
done
chmod 600 "$MQ/passwd"
cat >"$MQ/acl" <<ACL
# the bridge: its base topic and the Home Assistant discovery prefix
user portier
topic readwrite portier/#
topic readwrite homeassistant/#
# v5 response topics chosen by the commanding clients
topic write replies/#
# the tests' reader sees everything of the site
user reader
topic read portier/#
topic read homeassistant/#
topic read replies/#
# every user commands only under its own name (this is how portier knows who sent a command), reads the site
# and its own replies
pattern write portier/cmd/%u/#
pattern read portier/#
pattern readwrite replies/%u/#
ACL
cat >"$MQ/mosquitto.conf" <<CONF
listener $BROKER_PORT 127.0.0.1
# keep the user that runs the test (as root mosquitto would switch to the mosquitto user)
user $(id -un)
allow_anonymous false
password_file $MQ/passwd
acl_file $MQ/acl
persistence true
persistence_location $MQ/data/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 0
log_dest file $MQ/broker.log
log_type error
log_type warning
log_type notice
CONF
BROKER_PID=""

broker_start() {
    mosquitto -c "$MQ/mosquitto.conf" >>"$MQ/broker.out" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$BROKER_PORT" || fail "mosquitto did not start: $(tail -5 "$MQ/broker.log" "$MQ/broker.out" 2>/dev/null)"
}

broker_stop() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

# sub USER ARGS...: mosquitto_sub as USER against the test broker
sub() { local u=$1; shift; mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -u "$u" -P "pw-$u" "$@"; }
pub() { local u=$1; shift; mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u "$u" -P "pw-$u" "$@"; }
# sub_bg USER ARGS...: a subscriber in the background, ended by the test's cleanup. The process itself goes into
# PIDS, not a subshell around it: killing a backgrounded `sub` kills only the subshell and leaves mosquitto_sub
# reconnecting for ever to a broker that is gone.
sub_bg() {
    local u=$1
    shift
    mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -u "$u" -P "pw-$u" "$@" &
    PIDS+=($!)
}

# site_start: the simulators and the site configuration (with extra mqtt settings in $MQTT_EXTRA)
site_start() {
    "$PORTIER_SIM" c3 --port 0 --model c3-200 --control "$TMP/c3ctl" </dev/null >"$TMP/c3.out" 2>"$TMP/c3.err" &
    PIDS+=($!)
    "$PORTIER_SIM" nix1 --slaves 2 --configured --dir "$TMP/sd" --control "$TMP/nctl" --no-stdin \
        >"$TMP/nix1.out" 2>"$TMP/nix1.err" &
    PIDS+=($!)
    # the simulator binds a free port itself (no window in which another test takes it) and names it
    PA=$(wait_file_line "$TMP/c3.out" 'listening on 127.0.0.1:[0-9]+') || fail "C3 simulator did not start: $(cat "$TMP/c3.err")"
    PA=${PA#*127.0.0.1:}
    PA=${PA%% *}
    wait_file_line "$TMP/nix1.out" 'bus on /dev/' >/dev/null || fail "NiX1 simulator did not start"
    PTY=$(grep -m1 -o '/dev/[^ ]*' "$TMP/nix1.out")
    printf 'pw-portier\n' >"$TMP/mqtt.pw"
    chmod 600 "$TMP/mqtt.pw"
    CONF="$TMP/site.conf"
    cat >"$CONF" <<CONF
site = { name = "MQTT test"; };
panels = ( { name = "Panel A"; host = "127.0.0.1"; port = $PA; model = "C3-200"; poll_ms = 100;
             doors = ( "Main entrance", "Back door" ); aux = ( "Siren" ); } );
buses = ( { name = "Bus 1"; port = "$PTY"; baud = 9600; poll_ms = 200;
  slaves = (
    { address = "270100000000006B"; name = "Yard"; probe1 = { door = "Yard in"; unit = 1; }; },
    { address = "2702000000000032"; name = "Shed"; probe1 = { door = "Shed door"; unit = 1; }; }
  ); } );
emergency = { doors = "all"; confirm = "none"; };
journal = { path = "$TMP/journal.db"; };
mqtt = {
  host = "127.0.0.1"; port = $BROKER_PORT; username = "portier"; password_file = "mqtt.pw";
  base_topic = "portier"; keepalive = 5;
  ${MQTT_EXTRA:-}
};
CONF
    chmod 600 "$CONF"
}

HOST_PID=""
POLL_PID=""
# host_start: portierd on the site (its socket and state directory in $TMP), and a poller writing its MQTT status
host_start() {
    "$PORTIERD" -c "$CONF" --socket "$TMP/portierd.sock" --state-dir "$TMP/state" >>"$TMP/host.out" 2>&1 &
    HOST_PID=$!
    PIDS+=("$HOST_PID")
    if [ -z "$POLL_PID" ]; then
        python3 "$(dirname "${BASH_SOURCE[0]}")/mqtt_status_poll.py" "$TMP/portierd.sock" "$TMP/status.json" \
            >>"$TMP/poll.out" 2>&1 &
        POLL_PID=$!
        PIDS+=("$POLL_PID")
    fi
}
host_stop() {
    kill "$HOST_PID" 2>/dev/null || true
    wait "$HOST_PID" 2>/dev/null || true
    HOST_PID=""
    rm -f "$TMP/status.json"
}
# status FIELD: one field of the bridge's status
status() { py json "$TMP/status.json" "$1"; }
status_is() { [ "$(status "$1" 2>/dev/null)" = "$2" ]; }
c3ctl() { py ctl "$TMP/c3ctl" "$*"; }
