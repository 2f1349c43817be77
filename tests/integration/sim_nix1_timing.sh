#!/usr/bin/env bash
# portier-sim nix1 on TCP: output paced at the baud rate, turnaround, Nz rate switch after the reply,
# the demo set-up (--configured) with scripted activity, cron mode 1 holding the door open, and status.
source "$(dirname "$0")/lib.sh"

# --tcp 0: the simulator binds a free port itself and names it (no window in which another test takes it)
"$PORTIER_SIM" nix1 --tcp 0 --slaves 2 --dir "$TMP/sd" --configured --seed 7 --activity 20 \
    --control "$TMP/ctl" --no-stdin >"$TMP/sim.out" 2>"$TMP/sim.err" &
PIDS+=($!)
PORT=$(wait_file_line "$TMP/sim.out" "bus on tcp 127.0.0.1:[0-9]+ \\(2 slaves\\)") || fail "start: $(cat "$TMP/sim.err")"
PORT=${PORT#*127.0.0.1:}
PORT=${PORT%% *}
wait_port "$PORT" || fail "port $PORT"
pass "bus on tcp $PORT"

PYTHONPATH="$(dirname "$0")" python3 - "$PORT" "$TMP/ctl" "$TMP/sd" <<'PY'
import os, socket, sys, time
from nix1sim_check import controller, fail, finish

port, ctlpath, sd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
S = "270100000000006B"
bus = socket.create_connection(("127.0.0.1", port))
control = controller(ctlpath)
def xfer(req, n=1, timeout=3.0, until=None):
    bus.sendall(req.encode() + b"\n")
    t0 = time.monotonic(); buf = b""; first = None
    bus.settimeout(0.05)
    while (buf.count(b"\n") < n if until is None else not (until in buf and buf.endswith(b"\n"))) \
            and time.monotonic() - t0 < timeout:
        try:
            d = bus.recv(4096)
        except socket.timeout:
            continue
        if d and first is None:
            first = time.monotonic() - t0
        buf += d
    return buf, first, time.monotonic() - t0

# Pacing: 19-char request + 5 ms + 22-char reply at 9600 bd (1.042 ms/char) is >= 45 ms end to end.
best = None
for _ in range(5):
    got, first, total = xfer(S + "Qb")
    if got != (S + "00Qb\t5\n").encode():
        fail("Qb: %r" % got)
    best = total if best is None else min(best, total)
print("ok: Qb round trip %.1f ms at 9600 bd" % (best * 1000))
if not (0.040 <= best <= 0.5):
    fail("round trip %.1f ms outside 40-500 ms" % (best * 1000))
# A multi-line reply (Qg of CONFIG.TXT, about 500 chars) takes its character time.
got, first, total = xfer(S + "QgCONFIG.TXT\t0", until=b"04Qg\t")
n = len(got)
print("ok: Qg CONFIG.TXT %d bytes in %.0f ms (%.2f ms/char)" % (n, total * 1000, total * 1000 / n))
if total * 1000 < n * 1.0:
    fail("output not paced: %d chars in %.0f ms" % (n, total * 1000))
# Nz: the reply comes at the old rate; then both sides run at 19200.
got, _, _ = xfer(S + "Nz19200")
if got != (S + "00Nz\n").encode():
    fail("Nz: %r" % got)
time.sleep(0.2)
best2 = min(xfer(S + "Qb")[2] for _ in range(5))
print("ok: Qb round trip %.1f ms at 19200 bd" % (best2 * 1000))
if not (best2 < best and best2 >= 0.020):
    fail("19200 bd round trip %.1f ms vs %.1f ms at 9600" % (best2 * 1000, best * 1000))
got, _, _ = xfer("27FFFFFFFFFFFF4ENz9600", 1, 0.3)
if got:
    fail("broadcast answered: %r" % got)
time.sleep(0.2)
got, _, _ = xfer(S + "Qb")
if got != (S + "00Qb\t5\n").encode():
    fail("back at 9600: %r" % got)

# Demo set-up: units 1/2 and 3/4, enabled, clock set, demo users: activity fills ACCESS files.
st = control("status")
if "units=1,2" not in st or "units=3,4" not in st or "enable=1" not in st:
    fail("status after --configured: " + st)
deadline = time.time() + 20
entries = 0
while time.time() < deadline:
    entries = 0
    for slave in os.listdir(sd):
        for f in os.listdir(os.path.join(sd, slave)):
            if f.startswith("ACCESS."):
                entries += len(open(os.path.join(sd, slave, f)).read().splitlines())
    if entries >= 5:
        break
    time.sleep(0.2)
print("ok: %d ACCESS entries from scripted activity" % entries)
if entries < 5:
    fail("activity produced %d entries" % entries)
got, _, _ = xfer(S + "Qe")
if not got.startswith((S + "00Qe\t" + S + "\t").encode()) and got != (S + "04Qe\n").encode():
    fail("Qe after activity: %r" % got)

# Cron mode 1: inside the window the door stays open; LOCK overrides.
for r in ("Nh* * * * *", "No1"):
    got, _, _ = xfer(S + r)
    if got != (S + "00" + r[:2] + "\n").encode():
        fail("%s: %r" % (r, got))
st = control("status slave=" + S)
if "door1=unlocked" not in st or "door2=unlocked" not in st or "window=1" not in st:
    fail("cron mode 1 hold-open: " + st)
xfer(S + "Nl2\t1")
st = control("status slave=" + S)
if "door1=unlocked" not in st or "door2=locked" not in st:
    fail("LOCK overrides cron mode: " + st)
print("ok: cron mode 1 and LOCK")
print(control("quit"))
finish()
PY
pass "timing, Nz, demo and door checks"
wait "${PIDS[0]}" || fail "exit status after quit"
PIDS=()
pass "quit exits cleanly"
