#!/usr/bin/env bash
# portier-sim c3 on its own: frames built by hand from the spec (c3-protocol.md) by a small python3 client on
# loopback; checks replies, dialects, password, the one-client rule, the RT-log ring, door events, faults,
# restart, several panels and seeded activity.
. "$(dirname "$0")/lib.sh"

# start_sim NAME ARGS... : start a simulator, wait for its ready line; sets SIM_PID_<NAME>.
start_sim() {
    local name=$1; shift
    "$PORTIER_SIM" c3 "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    eval "SIM_PID_$name=$pid"
    wait_file_line "$TMP/$name.out" 'portier-sim c3: listening on 127\.0\.0\.1:[0-9]+ \([0-9]+ panels\)' >/dev/null ||
        { cat "$TMP/$name.err" >&2; fail "$name did not get ready"; }
}

P1=$(free_port)
start_sim main --port "$P1" --control "$TMP/main.sock"
P2=$(free_port)
start_sim old --port "$P2" --dialect sessionless --model c3-200
P3=$(free_port)
start_sim pw --port "$P3" --password banana123 --restart-ms 300 --control "$TMP/pw.sock"
P4=$(free_port)
start_sim kv --port "$P4" --dialect kv --model c3-100
# Three panels on consecutive ports (keep trying ports until a free run is found).
for _ in 1 2 3 4 5; do
    P5=$(free_port)
    "$PORTIER_SIM" c3 --port "$P5" --panels 3 </dev/null >"$TMP/multi.out" 2>"$TMP/multi.err" & MPID=$!
    PIDS+=("$MPID")
    if wait_file_line "$TMP/multi.out" 'listening on 127\.0\.0\.1:[0-9]+ \(3 panels\)' >/dev/null; then break; fi
    P5=""
done
[ -n "$P5" ] || fail "no free run of 3 ports"

# Usage errors are reported with exit status 2.
expect_rc 2 "$PORTIER_SIM" c3
expect_rc 2 "$PORTIER_SIM" c3 --port 1 --dialect bogus
expect_rc 2 "$PORTIER_SIM" c3 --port 1 --fault nonsense
expect_rc 2 "$PORTIER_SIM" c3 --port 65535 --panels 2
pass "option errors"

# Seeded activity: two identical simulators and one with another seed, read before the ring can overflow.
# The reader waits 3 s for activity, so it runs in the background while the protocol checks below go on.
P6=$(free_port); start_sim actA --port "$P6" --activity 4 --seed 7
P7=$(free_port); start_sim actB --port "$P7" --activity 4 --seed 7
P8=$(free_port); start_sim actC --port "$P8" --activity 4 --seed 8
PYTHONPATH="$(dirname "$0")" python3 - "$P6" "$P7" "$P8" <<'PY' >"$TMP/activity.out" 2>&1 &
import socket, struct, sys, time
from c3wire import frame, recv_frame
P6, P7, P8 = (int(x) for x in sys.argv[1:4])

def ok(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)

def payload(s):
    """The data of the next frame on s."""
    return recv_frame(s)[0][5:-3]

def activity(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(frame(0x01))
    payload(s)
    out = []
    for _ in range(40):
        s.sendall(frame(0x0B))
        card, pin, verify, door, etype, inout, t = struct.unpack("<IIBBBBI", payload(s))
        if etype == 255:
            break
        out.append((etype, door, card, pin, inout))
    s.close()
    return out

time.sleep(3.0)
A, B, C = activity(P6), activity(P7), activity(P8)
common = min(len(A), len(B))
ok(common >= 4, "activity produced events (%d, %d)" % (len(A), len(B)))
ok(A[:common - 2] == B[:common - 2], "same seed, same activity")
ok(A[: min(len(A), len(C))] != C[: min(len(A), len(C))], "another seed, other activity")
types = {e[0] for e in A + C}
ok(types <= {206, 0, 23, 27, 102, 200, 201, 202, 28}, "activity event types %r" % types)

print("ok: activity A=%d B=%d C=%d events" % (len(A), len(B), len(C)))
PY
ACT=$!

PYTHONPATH="$(dirname "$0")" python3 - "$P1" "$P2" "$P3" "$P4" "$P5" "$TMP" <<'PY'
import socket, struct, sys, time
from c3wire import crc16, frame, recv_frame

P1, P2, P3, P4, P5 = (int(x) for x in sys.argv[1:6])
TMP = sys.argv[6]
checks = 0

def ok(cond, what):
    global checks
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
    checks += 1

# The hand-made encoder reproduces the spec's vectors (c3-protocol.md §1).
ok(crc16(b"123456789") == 0xBB3D, "crc check value")
ok(frame(0x01).hex() == "aa010100 00503c55".replace(" ", ""), "vector: session-less connect")
ok(frame(0x76, bytes.fromhex("fefefefe")).hex() == "aa01760400fefefefe467755", "vector: session connect")
ok(frame(0x04, bytes.fromhex("d18afffe") + b"~SerialNumber,LockCount").hex() ==
   "aa01041b00d18afffe7e53657269616c4e756d6265722c4c6f636b436f756e74127d55", "vector: get params")
ok(frame(0x05, bytes.fromhex("d18a01ff") + bytes([1, 1, 1, 5, 0])).hex() ==
   "aa01050900d18a01ff0101010500523855", "vector: control door 1 open 5 s")

def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def parse(raw, check=True):
    n = struct.unpack("<H", raw[3:5])[0]
    data = raw[5 : 5 + n]
    crc_ok = crc16(raw[1 : 5 + n]) == struct.unpack("<H", raw[5 + n : 7 + n])[0] and raw[-1] == 0x55
    if check:
        ok(crc_ok, "reply CRC and end byte: " + raw.hex())
    return raw[1], raw[2], data, crc_ok

def closed(s, timeout=5.0):
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False

class Session:
    """Session-mode client (0x76)."""
    def __init__(self, port, password=b""):
        self.s = connect(port)
        self.s.sendall(frame(0x76, bytes.fromhex("fefefefe") + password))
        raw, _ = recv_frame(self.s)
        addr, code, data, _ = parse(raw)
        self.code, self.data = code, data
        if code == 0xC8:
            ok(len(data) == 4 and data[2:4] == b"\xfe\xfe", "connect reply echoes number FEFE")
            self.sid = data[0:2]
        self.nr = 0xFEFE

    def req(self, cmd, payload=b""):
        self.nr = (self.nr + 1) & 0xFFFF
        self.s.sendall(frame(cmd, self.sid + struct.pack("<H", self.nr) + payload))
        raw, _ = recv_frame(self.s)
        addr, code, data, _ = parse(raw)
        ok(data[0:2] == self.sid and struct.unpack("<H", data[2:4])[0] == self.nr,
           "reply echoes session %s and number %04x: %s" % (self.sid.hex(), self.nr, raw.hex()))
        return code, data[4:]

    def params(self, names):
        code, data = self.req(0x04, names.encode())
        ok(code == 0xC8, "get params OK")
        return dict(item.split("=", 1) for item in data.decode().split(","))

    def rt(self):
        code, data = self.req(0x0B)
        ok(code == 0xC8 and len(data) == 16, "RT log: one 16-byte record, got %d bytes" % len(data))
        card, pin, verify, door, etype, inout, t = struct.unpack("<IIBBBBI", data)
        return dict(card=card, pin=pin, verify=verify, door=door, type=etype, inout=inout, time=t, raw=data)

    def drain(self):
        out = []
        for _ in range(40):
            r = self.rt()
            if r["type"] == 255:
                return out, r
            out.append(r)
        ok(False, "RT log never returned a status record")

class Ctl:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
    def cmd(self, line):
        self.f.write(line + "\n")
        self.f.flush()
        return self.f.readline().strip()

def pack_time(y, mo, d, h, mi, s):
    return (((y - 2000) * 372 + (mo - 1) * 31 + (d - 1)) * 86400) + h * 3600 + mi * 60 + s

# ---- session dialect: connect, params, clock ----
a = Session(P1)
ok(a.code == 0xC8, "0x76 connect accepted")
ok(a.sid != b"\xfe\xfe", "panel assigned a session id")
p = a.params("~SerialNumber,LockCount,ReaderCount,AuxInCount,AuxOutCount,FirmVer,~DeviceName,Door1Drivertime,"
             "Door1Detectortime,Door1SensorType,ComPwd,NoSuchParam")
ok(p["~SerialNumber"] == "DDG8130016092200401", "serial number")
ok(p["LockCount"] == "4" and p["ReaderCount"] == "4" and p["AuxInCount"] == "4" and p["AuxOutCount"] == "4",
   "C3-400 counts")
ok(p["FirmVer"] == "AC Ver 5.4.3.2001 Sep 25 2019", "firmware string")
ok(p["~DeviceName"] == "C3-400", "device name")
ok(p["NoSuchParam"] == "", "unknown parameter answers Name=")
ok(p["ComPwd"] == "", "no password")
code, data = a.req(0x04, b"LockCount,~SerialNumber")
ok(data == b"LockCount=4,~SerialNumber=DDG8130016092200401", "reply keeps the asked order")
code, data = a.req(0x04, b"")
ok(code == 0xC9 and data == b"\xf5", "empty get -> C9 -11")
code, data = a.req(0x03, b"DateTime=%d" % 812649252)
ok(code == 0xC8 and data == b"", "set DateTime -> C8, no data: %x %r" % (code, data))
dt = int(a.params("DateTime")["DateTime"])
ok(0 <= dt - 812649252 <= 5, "panel clock follows DateTime (got %d)" % dt)
code, data = a.req(0x03, b"DateTime=%d" % pack_time(2025, 2, 31, 0, 0, 0))
ok(code == 0xC9 and data == b"\xf5", "impossible date refused with -11")
code, data = a.req(0x03, b"Door1Drivertime=3,Door1Detectortime=2")
ok(code == 0xC8, "set door parameters")
p = a.params("Door1Drivertime,Door1Detectortime")
ok(p == {"Door1Drivertime": "3", "Door1Detectortime": "2"}, "door parameters stored")
code, data = a.req(0x03, b"Door1Drivertime=300")
ok(code == 0xC9 and data == b"\xf5", "out-of-range value refused")
code, data = a.req(0x03, b"LockCount=1,~SerialNumber=X")
ok(code == 0xC8 and a.params("LockCount")["LockCount"] == "4", "read-only names are ignored")
code, data = a.req(0x03, b"garbage")
ok(code == 0xC9 and data == b"\xf5", "set without '=' -> -11")
code, data = a.req(0x42)
ok(code == 0xC9 and data == b"\xf3", "unknown command -> -13")

# ---- RT log ----
events, st = a.drain()
ok(len(events) == 1 and events[0]["type"] == 206 and events[0]["door"] == 0, "first connect after boot sees 206")
ok(st["raw"][0:4] == b"\0\0\0\0" and st["raw"][4:8] == b"\x01\x01\x01\x01", "status: no alarm, all closed")
ok(st["raw"][8] == 200 and st["raw"][10] == 0xFF and st["raw"][11] == 0, "status record layout")
ok(0 <= st["time"] - 812649252 <= 10, "status record carries the panel time")

code, data = a.req(0x05, bytes([1, 1, 1, 5, 0]))
ok(code == 0xC8 and data == b"", "control: door 1 open 5 s")
code, data = a.req(0x05, bytes([1, 2, 2, 0, 0]))
ok(code == 0xC8, "control: aux 2 off")
code, data = a.req(0x05, bytes([4, 2, 1, 0, 0]))
ok(code == 0xC8, "control: door 2 normal open")
code, data = a.req(0x05, bytes([1, 9, 1, 5, 0]))
ok(code == 0xC9 and data == b"\xf5", "control: door 9 refused")
code, data = a.req(0x05, bytes([1, 1, 1]))
ok(code == 0xC9, "control: short payload refused")
events, st = a.drain()
ok([(e["type"], e["door"], e["verify"], e["inout"]) for e in events] ==
   [(8, 1, 200, 2), (13, 2, 200, 2), (205, 2, 200, 2)], "control events 8, 13, 205: %r" % events)

ctl = Ctl(TMP + "/main.sock")
r = ctl.cmd("swipe door=3 card=123456 pin=7 granted=1")
ok(r.startswith("ok swipe"), "swipe: " + r)
r = ctl.cmd("swipe door=2 card=999")
ok(r.startswith("ok"), r)
r = ctl.cmd("button door=4")
ok(r.startswith("ok"), r)
ok(ctl.cmd("swipe door=5 card=1").startswith("error"), "door 5 refused on the control interface")
ok(ctl.cmd("frobnicate").startswith("error"), "unknown control command")
ok(ctl.cmd("swipe door=1").startswith("error"), "swipe without card")
events, st = a.drain()
ok([(e["type"], e["door"], e["card"], e["pin"]) for e in events] ==
   [(0, 3, 123456, 7), (27, 2, 999, 0), (202, 4, 0, 0)], "swipe/button events: %r" % events)
ok(events[0]["verify"] == 4 and events[2]["verify"] == 200, "verify modes")

# Door 1: sensor open while the lock is released -> 200, then the 2 s timeout -> 28, close -> 201.
r = ctl.cmd("close door=1")  # nothing: already closed
a.req(0x05, bytes([1, 1, 1, 30, 0]))
ok(ctl.cmd("open door=1").startswith("ok"), "open door 1")
time.sleep(2.6)
events, st = a.drain()
ok([e["type"] for e in events] == [8, 200, 28], "released open then timeout: %r" % [e["type"] for e in events])
ok(st["raw"][0] == 0x02 and st["raw"][4] == 0x02, "status: door 1 open-timeout alarm, sensor open")
ctl.cmd("close door=1")
a.req(0x05, bytes([1, 1, 1, 0, 0]))
events, st = a.drain()
ok([e["type"] for e in events] == [201, 9], "close then remote close")
ok(st["raw"][0] == 0 and st["raw"][4] == 1, "timeout alarm clears when the door closes")

# Forced door: 102 + alarm bit until cancel alarm (7).
ok(ctl.cmd("force door=3").startswith("error"), "force refused while the lock is released (swipe above)")
a.req(0x05, bytes([1, 3, 1, 0, 0]))  # remote close: lock door 3 again
r = ctl.cmd("force door=3")
ok(r.startswith("ok"), r)
events, st = a.drain()
ok([e["type"] for e in events] == [9, 102] and st["raw"][2] == 0x01 and st["raw"][6] == 0x02, "forced: 102 + alarm")
time.sleep(2.5)
a.req(0x05, bytes([2, 0, 0, 0, 0]))
events, st = a.drain()
ok([e["type"] for e in events] == [201, 7] and st["raw"][2] == 0, "forced door closes, cancel alarm -> 7")

# Ring of 30: oldest dropped.
for i in range(35):
    ctl.cmd("swipe door=1 card=%d granted=0" % (1000 + i))
events, st = a.drain()
ok(len(events) == 30 and events[0]["card"] == 1005 and events[-1]["card"] == 1034, "ring keeps the newest 30")

# Key/value log works in the session dialect.
ctl.cmd("button door=2")
code, data = a.req(0x79)
recs = data.decode().split("\r\n")
ok(code == 0xC8 and len(recs) == 2 and "\tevent=202\t" in recs[0] and recs[1].startswith("time=") and
   "\tsensor=55\t" in recs[1], "0x79 text: %r" % data)

# ---- one client at a time ----
b = Session(P1)
ok(b.code == 0xC8, "second client connects")
ok(closed(a.s), "the first client's socket is closed by the panel")
code, data = b.req(0x0B)
ok(code == 0xC8, "second client is served")
idle = connect(P1)  # connecting alone does not kick anybody
time.sleep(0.2)
code, data = b.req(0x0B)
ok(code == 0xC8, "an idle connection does not replace the client")
idle.close()
# A request with a foreign session id is refused (-8).
b.s.sendall(frame(0x0B, b"\x01\x02\x03\x04"))
raw, _ = recv_frame(b.s)
_, code, data, _ = parse(raw)
ok(code == 0xC9 and data == b"\x01\x02\x03\x04\xf8", "foreign session id -> -8 with echoed prefix")
# Not connected yet -> -8.
c = connect(P1)
c.sendall(frame(0x0B))
_, code, data, _ = parse(recv_frame(c)[0])
ok(code == 0xC9 and data == b"\xf8", "request before connect -> -8")
ok(closed(b.s, 2), "b was replaced by c")
c.close()
# Disconnect: C8 then the panel closes.
d = Session(P1)
code, data = d.req(0x02)
ok(code == 0xC8 and data == b"", "disconnect OK")
ok(closed(d.s), "panel closes after disconnect")

# ---- bad input never crashes ----
g = connect(P1)
g.sendall(bytes(range(256)) * 4 + b"\xaa\x01\x0b\xff\xff" + b"\x00" * 64 + frame(0x0B)[:-2] + b"\x00\x00")
g.sendall(frame(0x01))
_, code, data, _ = parse(recv_frame(g)[0])
ok(code == 0xC8 and data == b"", "after noise, oversize and bad-CRC frames the panel still answers")
g.close()

# ---- faults ----
f = Session(P1)
def fault(mode):
    r = ctl.cmd("fault " + mode)
    ok(r.startswith("ok fault"), r)

fault("badcrc")
f.nr += 1
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
raw, _ = recv_frame(f.s)
ok(not parse(raw, check=False)[3], "badcrc: reply CRC is wrong")
fault("badseq")
f.nr += 1
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
raw, _ = recv_frame(f.s)
ok(struct.unpack("<H", parse(raw)[2][2:4])[0] == (f.nr + 1) & 0xFFFF, "badseq: wrong echoed number")
fault("garbage")
f.nr += 1
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
raw, junk = recv_frame(f.s)
ok(len(junk) >= 1 and parse(raw)[1] == 0xC8, "garbage: junk before a good reply")
fault("delay=400,split")
f.nr += 1
t0 = time.monotonic()
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
raw, _ = recv_frame(f.s)
ok(time.monotonic() - t0 >= 0.39 and parse(raw)[1] == 0xC8, "delay+split: late but intact")
fault("mute")
f.nr += 1
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
try:
    recv_frame(f.s, timeout=1.0)
    ok(False, "mute: no reply expected")
except socket.timeout:
    ok(True, "mute")
fault("none")
f.nr += 1
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
ok(parse(recv_frame(f.s)[0])[1] == 0xC8, "none: answers again")
fault("drop panel=0")
f.nr += 1
f.s.sendall(frame(0x0B, f.sid + struct.pack("<H", f.nr)))
try:
    recv_frame(f.s)
    ok(False, "drop: a whole frame arrived")
except EOFError:
    ok(True, "drop: closed mid-frame")
fault("none")
ok(ctl.cmd("fault sideways").startswith("error"), "unknown fault refused")
ok(ctl.cmd("status").startswith("ok panels=1"), "status")

# ---- session-less firmware (4.3.4) ----
o = connect(P2)
o.sendall(bytes.fromhex("aa01760400fefefefe467755"))
_, code, data, _ = parse(recv_frame(o)[0])
ok(code == 0xC9 and data == b"\xf3", "sessionless: 0x76 -> C9 -13")
o.sendall(bytes.fromhex("aa01010000503c55"))
_, code, data, _ = parse(recv_frame(o)[0])
ok(code == 0xC8 and data == b"", "sessionless: 0x01 -> C8 empty")
o.sendall(bytes.fromhex("aa010417007e53657269616c4e756d6265722c4c6f636b436f756e749b4c55"))
_, code, data, _ = parse(recv_frame(o)[0])
ok(data == b"~SerialNumber=DDG8130016092200401,LockCount=2", "sessionless get params vector: %r" % data)
o.sendall(bytes.fromhex("aa010b0000703e55"))
_, code, data, _ = parse(recv_frame(o)[0])
ok(len(data) == 16 and data[10] == 206, "sessionless RT log vector")
o.sendall(frame(0x04, b"FirmVer"))
ok(parse(recv_frame(o)[0])[2] == b"FirmVer=AC Ver 4.3.4 Apr 27 2017", "old firmware string")
o.sendall(frame(0x79))
ok(parse(recv_frame(o)[0])[2] == b"\xf3", "sessionless: 0x79 -> -13")
o.sendall(bytes.fromhex("aa01020000a03c55"))
ok(parse(recv_frame(o)[0])[1] == 0xC8 and closed(o), "sessionless disconnect vector")

# ---- password ----
w = Session(P3, b"wrong")
ok(w.code == 0xC9 and w.data == b"\xfe\xfe\xfe\xfe\xf2", "wrong password -> C9 -14")
ok(closed(w.s), "wrong password closes the socket")
w = connect(P3)
w.sendall(bytes.fromhex("aa0101080041646d696e313233d40955"))  # 0x01 with "Admin123"
ok(parse(recv_frame(w)[0])[2] == b"\xf2" and closed(w), "0x01 with a wrong password -> -14 and close")
k = connect(P3)
k.sendall(bytes.fromhex("aa01760d00fefefefe62616e616e61313233961955"))  # the spec vector, password banana123
_, code, data, _ = parse(recv_frame(k)[0])
ok(code == 0xC8 and len(data) == 4, "right password accepted")
k.close()

# ---- restart ----
r = Session(P3, b"banana123")
r.rt()
code, data = r.req(0x05, bytes([3, 0, 0, 0, 0]))
ok(code == 0xC8, "restart acknowledged")
ok(closed(r.s), "restart drops the connection")
deadline = time.monotonic() + 10
while True:
    try:
        r = Session(P3, b"banana123")
        break
    except (ConnectionRefusedError, ConnectionResetError, EOFError):
        ok(time.monotonic() < deadline, "panel comes back after restart")
        time.sleep(0.1)
events, st = r.drain()
ok([e["type"] for e in events] == [206], "device start (206) after restart")
code, data = r.req(0x03, b"ComPwd=newpw")
ok(code == 0xC8, "change password")
r.s.close()
n = Session(P3, b"newpw")
ok(n.code == 0xC8, "new password works")
n.s.close()

# ---- kv dialect (newer firmware), C3-100 ----
v = Session(P4)
code, data = v.req(0x0B)
ok(code == 0xC8 and len(data) % 16 != 0, "kv: 0x0B payload is not a multiple of 16 (%d)" % len(data))
code, data = v.req(0x79)
recs = data.decode().split("\r\n")
ok("\tevent=206\t" in recs[0] and recs[-1].startswith("time=") and "sensor=" in recs[-1], "kv: text log %r" % data)
p = v.params("LockCount,ReaderCount,Door2Drivertime")
ok(p == {"LockCount": "1", "ReaderCount": "2", "Door2Drivertime": ""}, "C3-100 parameters")
code, data = v.req(0x05, bytes([1, 2, 1, 5, 0]))
ok(code == 0xC9, "C3-100 has no door 2")

# ---- several panels ----
serials = set()
for i in range(3):
    m = Session(P5 + i)
    serials.add(m.params("~SerialNumber")["~SerialNumber"])
    m.s.close()
ok(len(serials) == 3, "three panels, three serial numbers")

print("ok: %d checks" % checks)
PY
pass "protocol checks"

rc=0; wait $ACT || rc=$?
cat "$TMP/activity.out"
[ $rc -eq 0 ] || fail "seeded activity"
pass "seeded activity"

# Clean exit on SIGTERM and SIGINT; the control socket is removed.
kill -TERM "$SIM_PID_main"
wait "$SIM_PID_main" || fail "SIGTERM: non-zero exit"
[ ! -e "$TMP/main.sock" ] || fail "control socket left behind"
kill -INT "$SIM_PID_old"
wait "$SIM_PID_old" || fail "SIGINT: non-zero exit"
# quit on stdin
echo quit | "$PORTIER_SIM" c3 --port "$(free_port)" >"$TMP/q.out" 2>&1 || fail "quit: non-zero exit"
grep -q '^ok bye' "$TMP/q.out" || fail "quit answer"
# Every other simulator also exits cleanly (under ASan this also reports leaks) and logged no sanitizer error.
for v in SIM_PID_pw SIM_PID_kv SIM_PID_actA SIM_PID_actB SIM_PID_actC MPID; do
    kill -TERM "${!v}"
    wait "${!v}" || fail "$v: non-zero exit after SIGTERM"
done
if grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' "$TMP"/*.err "$TMP/q.out" 2>/dev/null; then
    fail "sanitizer reports above"
fi
pass "clean exits"
