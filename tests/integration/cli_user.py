#!/usr/bin/env python3
"""portierctl as its users meet it, through a private portierd on a simulated site: status --json carries what the
text shows (the site and its emergency with its counts, every door's lock, sensor and flags), so that a script
needs no text; a door action's journal line says its outcome once, an ack counts no doors; an action's live counts go to a terminal only, not into a log; a guard refused for the role, or anyone for --readonly, is told why without a usage line (the command
was right); watch says once that portierd went away, however often it retries, and an interrupt while portierd
is away exits 3; watch on the socket of a dead daemon, or of a group the caller is not in, says why (and where to
turn) and exits 3 at once; with no portierd and no
configuration, the site commands say that portierd is not running (exit 3), not only that a file is missing."""
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, PORTIERCTL, cleanup, ctl, fail, interrupt, ok, site_up, tmpdir,  # noqa: E402
                          wait_until)

FLAGS = ("locked", "alarm", "emergency", "held_open", "normal_open", "open_timeout", "locked_out", "stale")


def json_lines(out, what):
    """Every line of out as JSON (a line that is not fails the test)."""
    rows = []
    for line in out.splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            fail("%s: not JSON on stdout: %r" % (what, line))
    return rows


def status_json(sock):
    rc, out, err = ctl("--json", "status", sock=sock)
    if rc != 0:
        fail("status --json: exit %d: %s" % (rc, err))
    rows = json_lines(out, "status --json")
    sites = [r for r in rows if "site" in r]
    outputs = {r["output"]: r for r in rows if "output" in r}
    if len(sites) != 1:
        fail("status --json: %d site objects: %s" % (len(sites), out))
    return sites[0], outputs


tmp = tmpdir("cli-user")
parts = []
try:
    site, daemon, root = site_up(tmp, parts)
    root.close()  # portierctl from here on

    # ---- status --json: the site, its emergency and every flag of every door ----
    s, outs = status_json(daemon.sock)
    if s["site"] != "Daemon test" or s["emergency"]["active"] is not False:
        fail("status --json site object: %s" % s)
    for name, o in outs.items():
        missing = [k for k in FLAGS + ("sensor", "state", "device", "type", "number") if k not in o]
        if missing:
            fail("status --json: %s lacks %s: %s" % (name, missing, o))
    if outs["Yard in"].get("slave") != "Yard" or outs["Shed"].get("slave") != "Shed":
        fail("status --json: a probe's slave: %s %s" % (outs["Yard in"], outs["Shed"]))
    rc, out, err = ctl("door", "hold", "Garage", sock=daemon.sock)
    if rc != 0:
        fail("door hold: %d %s %s" % (rc, out, err))
    s, outs = status_json(daemon.sock)
    if outs["Garage"]["held_open"] is not True or outs["Garage"]["locked"] is not False:
        fail("status --json after door hold: %s" % outs["Garage"])
    # the text shows the sensor too: a door held open may stand open, and the columns stay aligned
    site.control("Panel A: open door=%d" % outs["Garage"]["number"])
    wait_until(lambda: status_json(daemon.sock)[1]["Garage"]["sensor"] == "open", 20, "Garage's sensor open")
    rc, out, err = ctl("status", sock=daemon.sock)
    lines = [line for line in out.splitlines() if line.startswith("  door ")]
    garage = [line for line in lines if " Garage " in line]
    if rc != 0 or len(garage) != 1 or not re.match(r"^  door  \d Garage +held open +sensor open$", garage[0]):
        fail("status text of a door held and standing open: %r" % out)
    cols = {line.index(" sensor ") for line in lines if " sensor " in line}
    if len(cols) != 1:
        fail("status text: the sensor column is not aligned: %r" % out)
    site.control("Panel A: close door=%d" % outs["Garage"]["number"])
    ctl("door", "release", "Garage", sock=daemon.sock)
    rc, out, err = ctl("journal", "--kind", "operator", "--limit", "6", sock=daemon.sock)
    if rc != 0 or "door-hold Garage: ok\n" not in out or "door-release Garage: ok\n" not in out or "ok: ok" in out:
        fail("the journal's line of a door action says its outcome once: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("emergency", "on", sock=daemon.sock)
    if rc != 0:
        fail("emergency on: %d %s %s" % (rc, out, err))
    if "\r" in err or "pending" in err:  # the live counts are for a terminal, not a log or a pipe
        fail("emergency on, stderr not a terminal: live counts in it: %r" % err)
    s, outs = status_json(daemon.sock)
    em = s["emergency"]
    if not em["active"] or em["by"] != "root" or em["confirmed"] != 9 or em["total"] != 9 or em["failures"]:
        fail("status --json during the emergency: %s" % s)
    if not all(o["emergency"] for o in outs.values() if o["type"] != "aux"):
        fail("status --json: a door not flagged emergency: %s" % outs)
    rc, out, err = ctl("status", sock=daemon.sock)
    if "EMERGENCY since it was started by root: 9 of 9 doors confirmed" not in out:
        fail("status text during the emergency: %s" % out)
    rc, out, err = ctl("emergency", "off", sock=daemon.sock)
    if rc != 0:
        fail("emergency off: %d %s %s" % (rc, out, err))
    s, outs = status_json(daemon.sock)
    if s["emergency"]["active"] or any(o["emergency"] for o in outs.values()):
        fail("status --json after the emergency: %s" % s)
    ok("status --json: the site and its emergency (by, confirmed of total), every door's lock, sensor and flags;"
       " a door action's journal line says 'ok' once")

    # ---- ack: only an alarm; a normal event or an unknown id is refused with the reason, and audited so ----
    rc, out, err = ctl("journal", "--severity", "alarm", "--kind", "emergency", "--limit", "1", "--csv",
                       sock=daemon.sock)
    alarm = out.splitlines()[1].split(",")[0] if rc == 0 and len(out.splitlines()) == 2 else None
    rc, out, err = ctl("journal", "--kind", "operator", "--severity", "normal", "--limit", "20", "--csv",
                       sock=daemon.sock)
    normal = [line.split(",")[0] for line in out.splitlines()[1:] if ",normal," in line]
    if not alarm or not normal:
        fail("ack: no alarm and normal event to acknowledge: %r %r" % (alarm, out))
    rc, out, err = ctl("ack", alarm, sock=daemon.sock)
    if rc != 0 or out != "ack: ok\n":
        fail("ack of an alarm: an action on no door counts no doors: %d %r %r" % (rc, out, err))
    for target, why in ((normal[0], "event %s is not an alarm" % normal[0]), ("99999999", "no event 99999999")):
        rc, out, err = ctl("ack", target, sock=daemon.sock)
        if rc != 1 or why not in err:
            fail("ack %s: exit %d, want 1 and %r: %r %r" % (target, rc, why, out, err))
    rc, out, err = ctl("--json", "audit", "--search", "ack", "--limit", "3", sock=daemon.sock)
    acks = [r for r in json_lines(out, "audit --json") if r["action"] == "ack"]
    if [(r["target"], r["result"]) for r in acks] != [("99999999", "failed"), (normal[0], "failed"), (alarm, "ok")] \
            or "is not an alarm" not in acks[1]["detail"]:
        fail("audit of the acks: %s" % acks)
    ok("ack: an alarm is acknowledged; a normal event or an unknown id is refused (exit 1, the reason), and audited")

    # ---- journal filters nothing can match: refused by portierd, exit 2, with what the site has ----
    for args, why in ((["--since", "today", "--until", "yesterday"], "is not before until"),
                      (["--door", "Nowhere"], 'no door "Nowhere" in the configuration (doors: '),
                      (["--door", "Nowhere"], ') nor in the journal'),
                      (["--device", "Panel Z"], 'no device "Panel Z" in the configuration (devices: ')):
        rc, out, err = ctl("journal", *args, sock=daemon.sock)
        if rc != 2 or why not in err or out:
            fail("journal %s through portierd: exit %d, want 2 and %r: %r %r" % (args, rc, why, out, err))
    rc, out, err = ctl("journal", "--door", "garage", "--device", "operator", sock=daemon.sock)
    if rc != 0:
        fail("journal of a door and device the site has: %d %r" % (rc, err))
    # a door since removed from the configuration: the journal keeps its rows, and --door finds them
    db = sqlite3.connect(os.path.join(os.path.dirname(daemon.config), "journal.db"), timeout=10)  # the site's
    with db:
        db.execute("INSERT INTO events (host_us, kind, severity, device, door, text) VALUES (?, 0, 0, 'Panel A', "
                   "'Old gate', 'door opened')", (int(time.time() * 1e6),))
    db.close()
    rc, out, err = ctl("journal", "--door", "old GATE", sock=daemon.sock)
    if rc != 0 or "Old gate" not in out:
        fail("journal of a door since removed, through portierd: %d %r %r" % (rc, out, err))
    ok("journal: an empty time range or a door / device the site lacks is refused (exit 2), naming what exists")

    # ---- --json failures: one object with "error" and "code" (the exit status) on stdout; stderr keeps its text ----
    cases = [(["mqtt", "status"], None, "MQTT"), (["journal", "--door", "Nowhere"], None, 'no door "Nowhere"'),
             (["journal", "--bogus"], None, "unknown option")]
    if os.geteuid() == 0:
        cases.append((["door", "open", "Garage"], AS_GUARD, "nobody is guard"))
    for args, user, why in cases:
        rc, out, err = ctl("--json", *args, sock=daemon.sock, as_user=user)
        rows = json_lines(out, "--json %s" % args)
        errs = [r for r in rows if "error" in r]
        if rc == 0 or len(errs) != 1 or errs[0].get("code") != rc or why not in errs[0]["error"] or why not in err:
            fail("--json %s: exit %d, want one error object with code %d and %r: %r %r" % (args, rc, rc, why, out, err))
    ok("--json failures: one error object with the exit status as its code on stdout, the text on stderr")

    # ---- a refusal of a right command line: the reason, exit 2, no usage line ----
    if os.geteuid() == 0:
        for args in (["door", "open", "Garage"], ["emergency", "on"], ["reload"]):
            rc, out, err = ctl(*args, sock=daemon.sock, as_user=AS_GUARD)
            if rc != 2 or "role; nobody is guard" not in err or "usage:" in err or len(err.splitlines()) != 1:
                fail("guard's %s: exit %d, stderr %r" % (args, rc, err))
    rc, out, err = ctl("--readonly", "door", "open", "Garage", sock=daemon.sock)
    if rc != 2 or "needs the operator role; root is guard" not in err or "usage:" in err:
        fail("--readonly door open: exit %d, stderr %r" % (rc, err))
    rc, out, err = ctl("--readonly", "nix1", site.bus_port(), "--slave", "270100000000006B", "lock", "1", "on")
    if rc != 2 or "changes state: refused" not in err or "usage:" in err:
        fail("--readonly nix1 lock on: exit %d, stderr %r" % (rc, err))
    rc, out, err = ctl("door", "open", "No such door", sock=daemon.sock)
    if rc != 2 or "\nusage: portierctl" not in "\n" + err:
        fail("a door that does not exist: the usage line goes with the mistake: %d %r" % (rc, err))
    ok("refusals for the role and --readonly say why, exit 2, no usage line; a mistake keeps its usage line")

    # ---- watch across portierd's absence: said once, back by itself, interrupted while away is exit 3 ----
    err_path = os.path.join(tmp, "watch.err")
    with open(err_path, "w") as ef, open(os.path.join(tmp, "watch.out"), "w") as of:
        watch = subprocess.Popen([PORTIERCTL, "--socket", daemon.sock, "watch"], stdout=of, stderr=ef)

    def said(text, n=1):
        with open(err_path) as f:
            return f.read().count(text) >= n
    wait_until(lambda: said("portierctl: watching "), 20, "watch to start")
    daemon.stop()
    wait_until(lambda: said("reconnecting"), 10, "watch to say portierd went away")
    time.sleep(4)  # retries at 0.1, 0.2, 0.4 ... s: each would have been a line
    with open(err_path) as f:
        lines = f.read().splitlines()
    if len([l for l in lines if "reconnecting" in l]) > 2:
        fail("watch repeats the loss at every retry:\n%s" % "\n".join(lines))
    daemon.start()
    wait_until(lambda: said("portierctl: watching ", 2), 20, "watch to come back by itself")
    daemon.stop()
    wait_until(lambda: said("reconnecting", 3), 10, "watch to say portierd went away again")
    interrupt(watch)
    with open(err_path) as f:
        err = f.read()
    if watch.returncode != 3 or "interrupted while portierd was away" not in err:
        fail("watch interrupted while portierd was away: exit %s\n%s" % (watch.returncode, err))
    dead = os.path.join(tmp, "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(dead)  # a socket file nobody listens on
    rc, out, err = ctl("watch", sock=dead, timeout=20)
    s.close()
    if rc != 3 or "Connection refused" not in err or "reconnecting" in err or len(err.splitlines()) != 1:
        fail("watch on a dead daemon's socket: exit %d, %r" % (rc, err))
    if os.geteuid() == 0:  # a socket of another group: watch says what status says, where to turn
        os.chmod(tmp, 0o755)
        closed = os.path.join(tmp, "closed.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(closed)
        s.listen(1)
        os.chmod(closed, 0o660)
        for args in (["watch"], ["status"]):
            rc, out, err = ctl(*args, sock=closed, as_user=AS_GUARD, timeout=20)
            if rc != 3 or "Permission denied (the socket is for portierd's group: ask to be added to it)" not in err:
                fail("%s on a socket of another group: exit %d, %r" % (args, rc, err))
        s.close()
    ok("watch: portierd's absence said once, back by itself, interrupted while away exit 3; a dead socket exit 3")

    # ---- neither portierd nor a configuration: say that portierd is not running ----
    if os.path.exists("/run/portier/portier.sock"):
        print("skipped: a portierd listens at the default socket here")
    else:
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "none"), XDG_STATE_HOME=os.path.join(tmp, "nostate"))
        for args, want in ((["status"], "no configuration was found"), (["door", "open", "Garage"], "no configuration"),
                           (["journal"], "no journal of this user's own"), (["audit", "--verify"], "no journal")):
            p = subprocess.run([PORTIERCTL] + args, capture_output=True, text=True, env=env, timeout=30)
            if (p.returncode != 3 or "portierd is not running here (no socket at /run/portier/portier.sock)"
                    not in p.stderr or want not in p.stderr or "usage:" in p.stderr):
                fail("%s with no portierd and no configuration: exit %d %r" % (args, p.returncode, p.stderr))
        p = subprocess.run([PORTIERCTL, "--direct", "status"], capture_output=True, text=True, env=env, timeout=30)
        if p.returncode != 2 or "no configuration found" not in p.stderr or "portierd" in p.stderr:
            fail("--direct status with no configuration: exit %d %r" % (p.returncode, p.stderr))
        ok("no portierd and no configuration: 'portierd is not running here', exit 3 (--direct: the configuration)")
finally:
    cleanup(tmp, *reversed(parts))
