#!/usr/bin/env python3
"""portierctl as its users meet it, through a private portierd on a simulated site: status --json carries what the
text shows (the site and its emergency with its counts, every door's lock, sensor and flags), so that a script
needs no text; a guard refused for the role, or anyone for --readonly, is told why without a usage line (the command
was right)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import AS_GUARD, Daemon, Site, cleanup, ctl, fail, links_up, Client, ok, tmpdir  # noqa: E402

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
site = daemon = None
try:
    site = Site(tmp)
    daemon = Daemon(tmp, site.config)
    root = Client(daemon.sock)
    links_up(root)
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
    ctl("door", "release", "Garage", sock=daemon.sock)
    rc, out, err = ctl("emergency", "on", sock=daemon.sock)
    if rc != 0:
        fail("emergency on: %d %s %s" % (rc, out, err))
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
    ok("status --json: the site and its emergency (by, confirmed of total), every door's lock, sensor and flags")

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
finally:
    cleanup(tmp, daemon, site)
