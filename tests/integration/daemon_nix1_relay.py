#!/usr/bin/env python3
"""`portierctl nix1 PORT ...` against the bus portierd owns: the commands of several requests (status, scan, file
ls/get/put, provision ...) run through the daemon, their lines relayed one by one to its bus, with the same output
(text and --json) as direct mode against an identical simulator; each command is one audit row with its outcome; a
guard is refused before anything is sent (and the refusal audited); what only portierd may do on its bus (reading
the access entries, the doors, the line rate) is refused with where to turn. A long file transfer through the
daemon runs while `portierctl emergency on` is issued: the emergency's doors answer promptly, a presentation on the
bus reaches the journal during the transfer (polling goes on), and the transfer finishes, verified."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, audit_rows, bus_port, PORTIERCTL, Client, Daemon, Site, cleanup, ctl,  # noqa: E402
                          fail, links_up, need_root, ok, tmpdir, twin_up, wait_until)

S1, S2 = "270100000000006B", "2702000000000032"
EMERGENCY_BOUND_S = 3.0  # the emergency on every door of the site, a transfer on the bus or not


def masked(text):
    """What differs between the two simulators by nature: the slaves' clocks, a transfer's duration, and the log
    position that portierd's polling keeps in the slave's CONFIG.TXT (and so that file's size)."""
    text = re.sub(r"\b1[0-9]{9}( [+-][0-9]{4})?", "TIME", text)
    text = re.sub(r"LOG_POSITION\t[0-9:]+\n", "", text)
    text = re.sub(r'(CONFIG\.TXT +)[0-9]+|("name":"CONFIG\.TXT","size":)[0-9]+', r"\1\2SIZE", text)
    return re.sub(r"[0-9]+\.[0-9] s\)", "N s)", text)


need_root()
tmp = tmpdir("daemon-nix1-relay")
parts = []
try:
    site, twin, daemon, root = twin_up(tmp, parts)
    sock = daemon.sock
    pty, pty2 = bus_port(site.config), bus_port(twin.config)

    def both(*args, compare=True, rc_want=0):
        """The command through portierd and in direct mode on the twin: the same exit status and output."""
        r1 = ctl("nix1", pty, *args, sock=sock)
        r2 = ctl("--direct", "nix1", pty2, "--baud", "115200", *args)
        if r1[0] != rc_want or r2[0] != rc_want:
            fail("%s: through portierd %d (%s %s), direct %d (%s %s)" % (args, r1[0], r1[1], r1[2], r2[0], r2[1],
                                                                          r2[2]))
        if compare and (masked(r1[1]) != masked(r2[1]) or masked(r1[2]) != masked(r2[2])):
            fail("%s: through portierd\n%s%s\ndirect\n%s%s" % (args, r1[1], r1[2], r2[1], r2[2]))
        return r1

    # ---- the same output as direct mode ----
    srv = os.path.join(tmp, "srv")
    os.makedirs(srv)
    with open(os.path.join(srv, "keys.txt"), "w") as f:
        f.write("1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n")
    with open(os.path.join(srv, "units.txt"), "w") as f:
        f.write("1\tReception\n2\tMain Office\n")
    with open(os.path.join(srv, "users.txt"), "w") as f:
        f.write("Arthur Dent\t1350028169\t3\nFord\t0\t1\n")
    small = os.path.join(tmp, "NOTE.TXT")
    with open(small, "w") as f:
        f.write("".join("note line %03d\n" % i for i in range(60)))
    commands = [
        ["status", "--slave", S1], ["--json", "status", "--slave", S2], ["scan"], ["--json", "scan"],
        ["version", "--slave", S1], ["--json", "unit", "1", "get", "--slave", S1], ["timeouts", "get", "--slave", S2],
        ["file", "ls", "TXT", "--slave", S1], ["--json", "file", "ls", "TXT", "--slave", S2],
        ["file", "get", "CONFIG.TXT", "--slave", S1], ["file", "put", small, "--slave", S1],
        ["--json", "file", "sum", "NOTE.TXT", "--slave", S1], ["file", "get", "NOTE.TXT", "--slave", S1],
        ["--json", "provision", srv, "--slave", S1, "--slave", S2], ["provision", srv, "--slave", S1, "--slave", S2],
        ["lock", "2", "on", "--broadcast"], ["--json", "lock", "2", "get", "--slave", S2],
        ["lock", "2", "off", "--slave", S1, "--slave", S2], ["--json", "file", "get", "NOPE.TXT", "--slave", S1],
    ]
    for args in commands:
        want = 3 if args[-1] == "scan" else 1 if "NOPE.TXT" in args else 0
        both(*args, rc_want=want)
    r = both("file", "get", "NOTE.TXT", "--slave", S1)
    if r[1] != open(small).read():
        fail("the uploaded file read back through portierd differs")
    ok("%d commands through portierd: the same exit status and output (text and --json) as direct mode" %
       (len(commands) + 1))

    # ---- one audit row per command, with its outcome ----
    rows = [x for x in audit_rows(root) if x["action"] == "raw"]
    if len(rows) != len(commands) + 1:
        fail("%d commands, %d raw audit rows: %s" % (len(commands) + 1, len(rows), [x["params"] for x in rows]))
    st = [x for x in rows if x["params"] == "command=nix1 status --slave %s" % S1]
    if len(st) != 1 or st[0]["result"] != "ok" or "13 bus requests, 0 without an answer" not in st[0]["detail"] \
            or st[0]["user"] != "root" or st[0]["target"] != "Bus 1":
        fail("the status command's audit row: %s" % st)
    bad = [x for x in rows if "NOPE.TXT" in x["params"]]
    if len(bad) != 1 or bad[0]["result"] != "failed" or "exit status 1" not in bad[0]["detail"]:
        fail("a failed command's audit row: %s" % bad)
    prov = [x for x in rows if x["params"].startswith("command=nix1 provision ")]
    if len(prov) != 2 or not all(x["result"] == "ok" for x in prov):
        fail("provisioning's audit rows: %s" % prov)
    ok("one audit row per command (user, bus, the command, outcome, how many bus requests)")

    # ---- a guard: refused before anything is sent, each refusal audited ----
    for args in (["status", "--slave", S1], ["file", "put", small, "--slave", S1], ["provision", srv, "--slave", S1],
                 ["version", "--slave", S1]):
        rc, out, err = ctl("nix1", pty, *args, sock=sock, as_user=AS_GUARD)
        if rc != 2 or "portierd: raw needs the technician role; nobody is guard" not in err:
            fail("guard %s: %d %s %s" % (args, rc, out, err))
    denied = [x for x in audit_rows(root) if x["result"] == "denied"]
    if len(denied) != 4 or any(x["user"] != "nobody" or x["action"] != "raw" or not x["params"].startswith("command=nix1 ")
                               for x in denied):
        fail("the guard's refusals in the audit: %s" % denied)
    ok("a guard's status, file put, provision and version: denied (exit 2), each refusal audited with the command")

    # ---- what only portierd does on its bus ----
    n_before = len(audit_rows(root))
    for args, says in ((["entries", "--slave", S1], "portierctl watch"), (["hold", "on", "--slave", S1], "emergency on"),
                       (["emergency", "on", "--broadcast"], "portierctl emergency on|off"),
                       (["baud", "set", "9600", "--broadcast"], "portierctl reload")):
        rc, out, err = ctl("nix1", pty, *args, sock=sock)
        if rc != 2 or says not in err:
            fail("%s through portierd: %d %s %s" % (args, rc, out, err))
    if len(audit_rows(root)) != n_before:
        fail("a command refused before anything was asked left an audit row")
    ok("entries, hold, emergency and baud set on portierd's bus: refused with where to turn, nothing sent")

    # ---- the emergency while a long transfer runs through the daemon ----
    t = time.monotonic()
    rc, out, err = ctl("emergency", "on", sock=sock)
    idle_on = time.monotonic() - t
    rc2, _, _ = ctl("emergency", "off", sock=sock)
    if rc or rc2:
        fail("emergency on/off without a transfer: %d %d %s" % (rc, rc2, out))
    big = os.path.join(tmp, "BIG.TXT")
    with open(big, "w") as f:
        f.write("".join("line %05d of a long file for the slave's card\n" % i for i in range(800)))
    stream = Client(sock, journal_rows=0)
    up = subprocess.Popen([PORTIERCTL, "--socket", sock, "--json", "nix1", pty, "--slave", S2, "file", "put", big],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: any("BIG.TXT" in x["params"] and x["result"] == "pending" for x in audit_rows(root, 5)), 10,
               "the transfer to start")
    time.sleep(2.0)  # well inside the transfer (about 16 s on the simulator)
    site.control("Bus 1: present slave=%s probe=1 uid=RELAY0001" % S1)
    t = time.monotonic()
    rc, out, err = ctl("--json", "emergency", "on", sock=sock)
    busy_on = time.monotonic() - t
    if rc != 0 or up.poll() is not None:
        fail("emergency on during the transfer: rc %d (transfer %s): %s %s" % (rc, up.poll(), out, err))
    if busy_on > EMERGENCY_BOUND_S:
        fail("the emergency took %.2f s during a transfer (%.2f s without): over %.1f s" % (busy_on, idle_on,
                                                                                          EMERGENCY_BOUND_S))
    stream.wait(lambda m: m.get("type") == "event" and m.get("uid") == "RELAY0001", 10,
                "the presentation made during the transfer")
    out, err = up.communicate(timeout=120)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    if up.returncode != 0 or not any(m.get("type") == "upload" and m.get("ok") for m in lines):
        fail("the transfer after the emergency: %d %s %s" % (up.returncode, out, err))
    rc, out, err = ctl("--json", "nix1", pty, "--slave", S2, "file", "sum", "BIG.TXT", sock=sock)
    if rc != 0 or '"size":"%d"' % os.path.getsize(big) not in out.replace(" ", ""):
        fail("the file on the slave after the transfer: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("emergency", "off", sock=sock)
    if rc != 0:
        fail("emergency off: %d %s %s" % (rc, out, err))
    ok("emergency on during a %d-byte transfer through portierd: %.2f s (%.2f s without a transfer; bound %.1f s); "
       "a presentation during the transfer journaled; the transfer finished, verified"
       % (os.path.getsize(big), busy_on, idle_on, EMERGENCY_BOUND_S))
    stream.close()
    root.close()
finally:
    cleanup(tmp, *reversed(parts))
