#!/usr/bin/env bash
# MQTT bridge benchmark: a private mosquitto on 127.0.0.1 (anonymous, no persistence), then bench/mqtt_bridge:
# events/s through the bridge with QoS 1 against the journal alone, and the latency the bridge adds over direct
# in-process delivery at a fixed rate.
# usage: bench/mqtt_bridge.sh BUILD_DIR [N] [RATE] [WINDOW]      e.g. bench/mqtt_bridge.sh build 20000 1000 64
set -euo pipefail
B=${1:-build}
EXE="$B/bench/mqtt_bridge"
[ -x "$EXE" ] || { echo "build $EXE first (ninja -C $B)" >&2; exit 2; }
command -v mosquitto >/dev/null || PATH="$PATH:/usr/sbin"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portier-bench.XXXXXX")
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\nmax_queued_messages 0\nmax_inflight_messages 0\nset_tcp_nodelay true\n' \
    "$PORT" "$(id -un)" >"$TMP/mosquitto.conf"
mosquitto -c "$TMP/mosquitto.conf" >"$TMP/broker.log" 2>&1 &
PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
"$EXE" "$PORT" "${2:-20000}" "${3:-1000}" "${4:-64}"
