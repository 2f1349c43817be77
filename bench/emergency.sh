#!/usr/bin/env bash
# Emergency benchmark: 50 simulated C3-400 panels (200 doors) and 2 NiX1 buses of 16 slaves (32 probes
# each) at 9600 baud; runs bench/emergency (the real action path) and prints its ratios. For NiX1: when the
# first and the last of the four emergency broadcasts went out (the last one against 0.5 s), and "all verified"
# against the §5.1 limit computed with the simulator's 5 ms reply latency, plus a stricter line computed with
# the 2 ms minimum slave turnaround. BENCH_TRACE=1 prints the NiX1 lines of the first 3 s with their times.
# usage: bench/emergency.sh BUILD_DIR      e.g. bench/emergency.sh build
set -euo pipefail
B=${1:-build}
SIM="$B/sim/portier-sim"
EXE="$B/bench/emergency"
[ -x "$SIM" ] && [ -x "$EXE" ] || { echo "build $SIM and $EXE first (ninja -C $B)" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portier-bench.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
export XDG_STATE_HOME="$TMP/state"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$SIM" c3 --port "$PORT" --panels 50 --model c3-400 </dev/null >"$TMP/c3.out" 2>"$TMP/c3.err" &
PIDS+=($!)
# the 32 slave addresses 27 01..20 00.. (CRC-valid, computed like the simulator's defaults): bus 1 has the
# simulator's first 16, bus 2 gets 17..32
python3 -c '
def crc8(d):
    c = 0
    for b in d:
        for _ in range(8):
            m = (c ^ b) & 1; c >>= 1
            if m: c ^= 0x8C
            b >>= 1
    return c
for i in range(1, 33):
    d = [0x27, i & 0xFF, (i >> 8) & 0xFF, 0, 0, 0, 0]; print("".join("%02X" % x for x in d) + "%02X" % crc8(d))' >"$TMP/addrs"
ADDR2=$(sed -n '17,32s/^/--address /p' "$TMP/addrs")
"$SIM" nix1 --slaves 16 --configured --dir "$TMP/sd1" --no-stdin >"$TMP/n1.out" 2>"$TMP/n1.err" &
PIDS+=($!)
# shellcheck disable=SC2086
"$SIM" nix1 $ADDR2 --configured --dir "$TMP/sd2" --no-stdin >"$TMP/n2.out" 2>"$TMP/n2.err" &
PIDS+=($!)
for f in "$TMP/n1.out" "$TMP/n2.out"; do
    for _ in $(seq 200); do grep -q 'bus on /dev/' "$f" 2>/dev/null && break; sleep 0.05; done
done
for _ in $(seq 200); do grep -q 'listening' "$TMP/c3.out" 2>/dev/null && break; sleep 0.05; done
python3 - "$TMP" "$PORT" "$(grep -m1 -o '/dev/[^ ]*' "$TMP/n1.out")" "$(grep -m1 -o '/dev/[^ ]*' "$TMP/n2.out")" <<'PY'
import sys
tmp, port, pty1, pty2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
addrs = open(tmp + "/addrs").read().split()
def addr(i):
    return addrs[i - 1]
out = ['site = { name = "Bench"; };', "panels = ("]
out.append(",\n".join('  { name = "P%02d"; host = "127.0.0.1"; port = %d; model = "C3-400"; poll_ms = 1000; }' % (i + 1, port + i)
                      for i in range(50)))
out.append(");\nbuses = (")
buses = []
for b, pty in ((1, pty1), (2, pty2)):
    base = 0 if b == 1 else 16
    sl = ",\n".join('    { address = "%s"; name = "B%d S%02d"; probe1 = { door = "B%d S%02d in"; unit = 1; }; '
                    'probe2 = { door = "B%d S%02d out"; unit = 2; }; }' % (addr(base + i), b, i, b, i, b, i) for i in range(1, 17))
    buses.append('  { name = "Bus %d"; port = "%s"; baud = 9600; slaves = (\n%s\n  ); }' % (b, pty, sl))
out.append(",\n".join(buses))
out.append(");")
out.append('emergency = { doors = "all"; confirm = "none"; restore = "previous"; };')
out.append('journal = { path = "%s/journal.db"; };' % tmp)
open(tmp + "/bench.conf", "w").write("\n".join(out) + "\n")
PY
chmod 600 "$TMP/bench.conf"
"$EXE" "$TMP/bench.conf"
