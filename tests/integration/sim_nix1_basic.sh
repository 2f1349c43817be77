#!/usr/bin/env bash
# portier-sim nix1 against the normative spec: the §5.8 examples byte for byte, the §5.9 file transfer,
# validation order (§5.5), broadcast rules (§5.6), framing (NAK, inter-character timeout), and the
# access decision of §5.11 with the HMAC test vector. A python3 client talks to the pty. The line runs at
# 115200 baud: these checks are about bytes, not the line rate (sim_nix1_timing times the line at 9600).
source "$(dirname "$0")/lib.sh"

"$PORTIER_SIM" nix1 --dir "$TMP/sd" --address 271A2100000000F3 --slaves 3 --baud 115200 --control "$TMP/ctl" --no-stdin \
    --link "$TMP/bus.tty" >"$TMP/sim.out" 2>"$TMP/sim.err" &
PIDS+=($!)
wait_file_line "$TMP/sim.out" "bus on $TMP/bus.tty " >/dev/null || fail "simulator did not start: $(cat "$TMP/sim.err")"
PTY=$TMP/bus.tty
[ -c "$PTY" ] && [[ "$(readlink "$PTY")" == /dev/pts/* ]] || fail "the link $PTY does not name a pseudo-terminal"
grep -q '(3 slaves)' "$TMP/sim.out" || fail "banner: $(cat "$TMP/sim.out")"
pass "bus on $PTY"

PYTHONPATH="$(dirname "$0")" python3 - "$PTY" "$TMP/ctl" "$TMP/sd" <<'PY'
import hashlib, hmac, os, select, socket, sys, time, tty
from nix1sim_check import controller, fail, finish

pty, ctlpath, sd = sys.argv[1:4]
S = "271A2100000000F3"
fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
control = controller(ctlpath)

def read_lines(n, timeout=3.0):
    """Read until n LF-terminated lines arrived or timeout."""
    buf = b""
    end = time.time() + timeout
    while buf.count(b"\n") < n and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            buf += os.read(fd, 4096)
    return buf

def quiet(t=0.4):
    return read_lines(1, t)

def xfer(req, nlines=1, timeout=3.0):
    os.write(fd, req if isinstance(req, bytes) else req.encode() + b"\n")
    return read_lines(nlines, timeout)

def expect(req, want, nlines=None, what=None):
    want_b = want.encode()
    got = xfer(req, nlines or max(1, want_b.count(b"\n")))
    if got != want_b:
        fail("%s: %r -> %r, want %r" % (what or req, req, got, want_b))
    else:
        print("ok:", what or repr(req))

def expect_silent(req, what):
    got = xfer(req, 1, 0.5)
    if got:
        fail("%s: expected no reply, got %r" % (what, got))
    else:
        print("ok:", what)

# ---- §5.8 examples ----
expect(S + "Qb", S + "00Qb\t5\n")
expect(S + "Nb300", S + "50Nb\n", what="Nb300 out of range")
expect(S + "Qw3", S + "41Qw\n", what="doc example Qw3 on an AC slave")
expect(S + "Xb", S + "43Xb\n", what="unknown command")
expect_silent("27FFFFFFFFFFFF4ENt1436413339\t+0100", "broadcast Nt is not answered")
got = xfer(S + "Qt")
if not got.startswith((S + "00Qt\t143641333").encode()) or not got.endswith(b"\t+0100\n"):
    fail("broadcast Nt did not set the clock: %r" % got)
# the other two slaves get units: only S stays unconfigured and answers scratch
st = control("status")
ids = [part.split()[0] if i else part.split()[1] for i, part in enumerate(st.split("; "))]
for a in ids:
    if a != S:
        expect(a + "Nu1\t7", a + "00Nu\n", what="configure " + a)
expect("270000000000005CQn", S + "00Qn\tSIM-1.0\n", what="scratch Qn reveals the unconfigured slave")

# ACCESS example line: unit 15 on probe 2, key known, user1 unknown -> 55, od 0
expect(S + "Nu2\t15", S + "00Nu\n")
expect(S + "Nm1", S + "00Nm\n")
expect(S + "Nb0", S + "00Nb\n")
expect(S + "Nv2\t1", S + "00Nv\n")
expect(S + "Nk1436400000\tsecret-key-1", S + "00Nk\n")
for i in range(11):
    r = control('present slave=%s probe=2 uid="nobody%d"' % (S, i))
    if "rc=55" not in r:
        fail("present unknown user: " + r)
r = control("clock slave=%s ts=1436413339" % S) + " | " + control('present slave=%s probe=2 uid="user1" od=0' % S)
if "refused rc=55" not in r:
    fail("present user1: " + r)
expect(S + "Ne5", S + "00Ne\t12\n")
for i in range(7, 11):
    got = xfer(S + "Qe")
    if not got.startswith((S + "00Qe\t" + S + "\tnobody").encode()):
        fail("Qe entry %d: %r" % (i, got))
expect(S + "Qe", S + "00Qe\t" + S + "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55\n", what="Qe returns the ACCESS line verbatim")
expect(S + "Qe", S + "04Qe\n", what="Qe with nothing pending")

# ---- §5.9 worked example ----
expect(S + "Dy", S + "00Dy\n")
expect(S + "Ny1\t25\t09AF\t7573657232092A20372D3139202A20312D3820312C342D350A", S + "06Ny\t1\t1\n")
expect(S + "Ng14U.U\t09AF", S + "00Ng\n")
expect(S + "Qp14U.U", S + "00Qp\t09AF\t25\n")
expect(S + "Qg14U.U\t0", S + "00Qg\tuser2\t* 7-19 * 1-8 1,4-5\n" + S + "04Qg\t1\n", what="Qg multi-line")
keys = b"1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n"
assert len(keys) == 61
expect(S + "Dy", S + "00Dy\n")
expect(S + "Ny2\t32\tCD1D\t" + keys[:32].hex().upper(), S + "06Ny\t1\t2\n")
expect(S + "Ny2\t29\tEF66\t" + keys[32:].hex().upper(), S + "06Ny\t2\t2\n")
expect(S + "Ny2\t29\tEF66\t" + keys[32:].hex().upper(), S + "51Ny\n", what="Ny beyond nbrPacket")
expect(S + "NgKEYS.TXT\t7A79", S + "00Ng\n")
expect(S + "Qk", S + "00Qk\t1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n")
with open(os.path.join(sd, S, "KEYS.TXT"), "rb") as f:
    if f.read() != keys:
        fail("KEYS.TXT on the card differs from the upload")
expect(S + "Ng14U.U\t09AF", S + "4ENg\n", what="Ng without upload")
expect(S + "Dy", S + "00Dy\n")
expect(S + "Ny1\t25\t0000\t7573657232092A20372D3139202A20312D3820312C342D350A", S + "47Ny\n", what="Ny bad CRC")
expect(S + "Ny1\t25\t09AF\t7573ZZ", S + "52Ny\n", what="Ny bad hex")
expect(S + "Ny1\t0\t09AF\t", S + "50Ny\n", what="Ny empty block")
got = xfer(S + "QiTXT", 3)
lines = got.decode(errors="replace").splitlines()
if len(lines) != 3 or not lines[0].startswith(S + "00Qi\tCONFIG.TXT\t") or lines[1] != S + "00Qi\tKEYS.TXT\t61" \
        or lines[2] != S + "04Qi\t2":
    fail("Qi: %r" % got)

# ---- validation order (§5.5) ----
expect(S + "Nb", S + "50Nb\n", what="missing option")
expect(S + "Qu1", S + "76Qu\n", what="Qu on an unset probe")
expect(S + "Nu1\t70000", S + "76Nu\n", what="unit out of range")
expect(S + "Nu3\t70000", S + "50Nu\n", what="probe checked before unit")
expect(S + "Nh* * *", S + "60Nh\n", what="bad cron")
expect(S + "Ntabc\t+0100", S + "74Nt\n", what="bad timestamp")
expect(S + "Ntabc\tx", S + "50Nt\n", what="syntax (50) before ranges (74)")
expect(S + "Nz1234", S + "50Nz\n", what="unsupported baud")
expect(S + "Qb5", S + "50Qb\n", what="option on a query without one")
expect(S + "Dk1", S + "4EDk\n", what="Dk unknown timestamp")
expect(S + "QxNobody", S + "4EQx\n", what="Qx unknown user")
print(control("card slave=%s out" % S))
expect(S + "DgFOO.TXT", S + "7BDg\n", what="card out")
expect(S + "Dgbad/name", S + "50Dg\n", what="param (50) before card (7B)")
expect(S + "Qb", S + "00Qb\t0\n", what="RAM query with the card out")
got = xfer(S + "Qs")
if got != (S + "00Qs\t09\n").encode() and got != (S + "00Qs\t0D\n").encode():
    fail("Qs with card out should show b0 and b3: %r" % got)
print(control("card slave=%s in" % S))
expect(S + "Ns00", S + "00Ns\n")
expect(S + "Da", S + "00Da\n", what="format")
expect(S + "Xb", S + "43Xb\n", what="cmd (43) before busy")
expect(S + "Qa", S + "41Qa\n", what="arg (41) before busy")
expect(S + "Nb300", S + "16Nb\n", what="busy (16) before param (50)")
expect_silent("27FFFFFFFFFFFF4EQb", "non-broadcastable broadcast is ignored")

# ---- framing ----
expect(S.encode() + b"Qb\x01\n", S + "15Qb\n", what="NAK on a bad byte")
expect(S.encode() + b"Ng" + b"A" * 400 + b"\n", S + "15Ng\n", what="NAK on overflow")
os.write(fd, S.encode())
time.sleep(0.2)
expect_silent("Qb", "inter-character timeout drops a partial line")
expect_silent("2701000000000099Qb", "other addresses are ignored")
format_started = time.time()  # about when Da began S's 5 s busy window; slave A is tested meanwhile

# ---- access decision, §5.11 ----
vec_key = "[Z}4V;qr$(/Kc_aiF7#K8tATNC"
def h(key, rom, uid, ts, inc):
    msg = "%s\t%s\t%d\t%d" % (rom, uid, ts, inc)
    return hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()[:16].hex().upper()
if h(vec_key, "01A1B2C3D4E5F68F", "Arthur Dent", 1350028169, 3) != "11C86B27929B3EE84732013882A67718":
    fail("test's own HMAC does not reproduce the spec vector")
A = ids[1] if ids[0] == S else ids[0]
for r, w in [("Nk1350028169\t" + vec_key, "00Nk"), ("Nk1349094539\tIdRPKslg\\?/", "00Nk"),
             ("NxArthur Dent\t1349094539\t3", "00Nx"), ("NrArthur Dent\t7\t* * * * *", "00Nr"),
             ("Nm1", "00Nm"), ("Nb0", "00Nb"), ("Nt1436413339\t+0100", "00Nt")]:
    expect(A + r, A + w + "\n")
r = control('present slave=%s probe=1 uid="Arthur Dent" rom=01A1B2C3D4E5F68F hash=11C86B27929B3EE84732013882A67718' % A)
if "refused rc=54" not in r or "ACTIVITY" not in r:
    fail("DS1990A (family 01) has no memory: " + r)
rom = "0CA1B2C3D4E5F6" + "00"
def present(args, want, what):
    """A key presented at slave A (args: probe, uid and the rest); the simulator's answer must contain want."""
    r = control("present slave=%s %s" % (A, args))
    if want not in r:
        fail(what + ": " + r)

def crc8(data):
    c = 0
    for b in data:
        for _ in range(8):
            mix = (c ^ b) & 1
            c >>= 1
            if mix: c ^= 0x8C
            b >>= 1
    return c
rom = "0CA1B2C3D4E5F6%02X" % crc8(bytes.fromhex("0CA1B2C3D4E5F6"))
good = h(vec_key, rom, "Arthur Dent", 1350028169, 3)
r = control('present slave=%s probe=1 uid="Arthur Dent" rom=%s key_ts=1350028169 inc=3 hash=%s' % (A, rom, good))
if "granted rc=00 key_ts=1350028169" not in r or "door=unlocked" not in r:
    fail("granted with a correct credential: " + r)
expect(A + "QxArthur Dent", A + "00Qx\tArthur Dent\t1350028169\t3\n", what="grant records the key timestamp")
old = h("IdRPKslg\\?/", rom, "Arthur Dent", 1349094539, 3)
cases = [
    ("key_ts=1349094539 inc=3 hash=%s" % old, "74", "stale credential (older than the user's timestamp)"),
    ("key_ts=1350028169 inc=3 hash=%s" % ("0" * 32), "48", "wrong hash"),
    ("key_ts=1111111111 inc=3 hash=%s" % good, "4B", "unknown key"),
    ("key_ts=1350028169 inc=2 hash=%s" % h(vec_key, rom, "Arthur Dent", 1350028169, 2), "43", "revoked increment"),
    ("readable=0", "49", "unreadable"),
]
for opts, rc, what in cases:
    r = control('present slave=%s probe=1 uid="Arthur Dent" rom=%s %s' % (A, rom, opts))
    if "rc=" + rc in r:
        print("ok:", what, r)
    else:
        fail("%s %s" % (what, r))
present('probe=1 uid="Ford Prefect"', "rc=55", "unknown user")
present('probe=2 uid="Arthur Dent"', "rc=76", "probe without unit")
expect(A + "Nl1\t1", A + "00Nl\n")
present('probe=1 uid="Arthur Dent"', "rc=6C", "locked probe")
expect(A + "Nl1\t0", A + "00Nl\n")
expect(A + "NrArthur Dent\t7\t0 3 * * *", A + "00Nr\n")
present('probe=1 uid="Arthur Dent"', "rc=73", "out of schedule")
expect(A + "NrArthur Dent\t7\t* * * * *", A + "00Nr\n")
present('probe=1 uid="Arthur Dent"', "granted", "default credential is granted")
# bad access timeout: a refusal makes the probe ignore keys
expect(A + "Nb5", A + "00Nb\n")
control('present slave=%s probe=1 uid="Nobody"' % A)
present('probe=1 uid="Arthur Dent"', "ignored reason=bad-access-timeout", "BAD_ACCESS_TIMEOUT")
# disabled slave ignores keys
expect(A + "Nm0", A + "00Nm\n")
present('probe=2 uid="Arthur Dent"', "ignored reason=disabled", "ENABLE 0")
# ACCESS file has the exact format and od = OD_SPEED AND supports_od (OD_SPEED_0 is 0 here)
doy = time.gmtime(1436413339 + 3600).tm_yday  # 1-based already
with open(os.path.join(sd, A, "ACCESS.%d" % doy)) as f:
    lines = f.read().splitlines()
g = [l for l in lines if l.endswith("\t00")]
if not g or g[0].split("\t")[:4] != [A, "Arthur Dent", "7", "1350028169"] or g[0].split("\t")[5:8] != ["+0100", "1", "0"]:
    fail("ACCESS grant line: %r" % g[:1])
with open(os.path.join(sd, A, "ACTIVITY.%d" % doy)) as f:
    act = f.read().splitlines()
if not any(l.split("\t")[1:2] == [""] and l.endswith("\t54") for l in act):
    fail("ACTIVITY lacks the 54 line: %r" % act)

# ---- end of S's format busy window ----
end = format_started + 15
while time.time() < end and xfer(S + "Qs").startswith((S + "16Qs").encode()):
    time.sleep(0.1)
expect(S.lower() + "Qn", S + "00Qn\tSIM-1.0\n", what="case-insensitive address")

# ---- restart ----
expect(A + "Ds", A + "00Ds\n")
expect_silent(A + "Qn", "silent while restarting")
time.sleep(2.5)
got = xfer(A + "Qs")
if not got.startswith((A + "00Qs\t").encode()) or not (int(got.split(b"\t")[1][:2], 16) & 1):
    fail("status b0 after restart: %r" % got)
print(control("mute slave=%s on" % A))
expect_silent(A + "Qn", "muted slave")
print(control("mute slave=%s off" % A))
print(control("garble slave=%s" % A))
got = xfer(A + "Qn")
if got == (A + "00Qn\tSIM-1.0\n").encode() or not any(b > 0x7E for b in got):
    fail("garbled reply: %r" % got)
expect(A + "Qn", A + "00Qn\tSIM-1.0\n", what="next reply clean again")

finish()
PY
pass "nix1 simulator protocol checks"

kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" || fail "simulator exit status after SIGTERM"
PIDS=()
pass "clean exit on SIGTERM"
