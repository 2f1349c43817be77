#!/usr/bin/env python3
"""`portierctl c3 HOST events` and the users / cards / access / timezones / holidays commands against a panel
portierd owns: through the daemon, with the output of direct mode against an identical simulator. events follows
the daemon's stream of that panel (the daemon alone reads its ring); the tables go through the daemon's panel-data
actions: a guard may read them, writing needs a technician, each request is audited (a refusal as denied); so does
events --history (compared with direct mode in daemon_c3_history). Tables by name: daemon_c3_tables."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, PORTIERCTL, cleanup, ctl, fail, interrupt, need_root, ok,  # noqa: E402
                          panel_data_audit, tmpdir, twin_c3, wait_until, write, write_files)


def masked(text):
    """The panels' clocks differ between the two simulators by a second or two."""
    return re.sub(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}", "TIME", text)


need_root()
tmp = tmpdir("daemon-c3-passthrough")
parts = []
try:
    site, twin, daemon, root, pa, pa2, both = twin_c3(tmp, parts, masked)
    sock = daemon.sock

    # ---- the tables: every verb, text and --json, the same bytes as direct mode ----
    imp, merge, bad, dup = write_files(
        tmp, ("users.csv", "pin,card,name\n7,1234,Bob Smith\n8,2345,\"Doe, Jane\"\n9,3456,Zed\n"),
        ("merge.csv", "pin,card,name\n9,3457,Zed\n10,4567,Ann\n"),
        ("bad.csv", "pin,card,name\n11,5678,Ok\n12,12ab,Bad\n"),
        ("dup.csv", "date,type,loop\n2026-12-24,1,0\n2026-12-24,2,0\n"))
    steps = []
    for j in ([], ["--json"]):
        steps += [(j + ["users", "list"], 0), (j + ["cards", "list"], 0), (j + ["access", "list"], 0),
                  (j + ["timezones", "list"], 0), (j + ["holidays", "list"], 0), (j + ["users", "export"], 0)]
    steps += [
        (["users", "add", "21", "--doors", "1"], 2), (["--json", "users", "add", "21", "--doors", "1"], 2),
        (["access", "add", "7", "1", "1"], 2), (["--json", "timezones", "add", "1", "--sun", "00:00-23:59"], 0),
        (["timezones", "set", "1", "--mon", "00:00-23:59", "--tue", "00:00-23:59"], 0),
        (["users", "add", "7", "--card", "1234", "--name", "Bob Smith"], 0),
        (["--json", "users", "add", "8", "--card", "2345", "--name", "Doe, Jane"], 0),
        (["users", "add", "8", "--card", "2345"], 2), (["--json", "users", "add", "8", "--card", "2345"], 2),
        (["cards", "add", "555", "7"], 2), (["--json", "cards", "add", "555", "7"], 2),
        (["users", "import", imp, "--dry-run"], 0), (["--json", "users", "import", imp, "--dry-run"], 0),
        (["--json", "users", "import", imp], 0), (["users", "import", imp], 0),
        (["users", "import", merge, "--merge", "--dry-run"], 0), (["--json", "users", "import", merge, "--merge"], 0),
        (["users", "import", bad], 2), (["--json", "users", "import", bad], 2),
        (["users", "list"], 0), (["--json", "cards", "list"], 0), (["users", "export"], 0),
        (["users", "set", "7", "--name", "Bob", "--dry-run"], 0), (["--json", "users", "set", "7", "--group", "2"], 0),
        (["users", "set", "7", "--name", "Bob"], 0), (["--json", "users", "set", "7", "--name", "Bob"], 0),
        (["users", "add", "20", "--card", "2020", "--doors", "1 2", "--dry-run"], 0),
        (["--json", "users", "add", "20", "--card", "2020", "--doors", "1 2", "--dry-run"], 0),
        (["--json", "users", "add", "20", "--card", "2020", "--doors", "1 2"], 0),
        (["users", "set", "20", "--doors", "2", "--dry-run"], 0), (["users", "set", "20", "--doors", "2"], 0),
        (["--json", "users", "set", "20", "--doors", "1", "--timezone", "99"], 2),
        (["users", "set", "20", "--doors", "9"], 2),
        (["access", "add", "7", "1", "1"], 0), (["--json", "access", "add", "7", "2", "1"], 0),
        (["--json", "access", "delete", "7", "2", "1", "--dry-run"], 0), (["access", "delete", "7", "2", "1"], 0),
        (["access", "list"], 0), (["--json", "access", "list"], 0), (["access", "export"], 0),
        (["timezones", "add", "2", "--mon", "08:00-12:00 13:00-17:00"], 0),
        (["--json", "timezones", "set", "2", "--tue", "07:00-19:00", "--dry-run"], 0),
        (["--json", "timezones", "set", "2", "--tue", "07:00-19:00"], 0),
        (["timezones", "list", "--csv"], 0), (["--json", "timezones", "list"], 0),
        (["timezones", "delete", "2", "--dry-run"], 0), (["--json", "timezones", "delete", "2"], 0),
        (["holidays", "add", "2026-12-24", "--type", "2", "--loop", "yearly"], 0),
        (["--json", "holidays", "add", "2026-12-31"], 0), (["holidays", "list"], 0),
        (["holidays", "import", dup], 2), (["--json", "holidays", "import", dup, "--dry-run"], 2),
        (["--json", "holidays", "delete", "2026-12-24", "--dry-run"], 0), (["holidays", "delete", "2026-12-24"], 0),
        (["holidays", "delete", "2026-12-24"], 2), (["--json", "holidays", "list"], 0),
        (["cards", "delete", "2020"], 0), (["--json", "cards", "list"], 0),
        (["users", "delete", "9"], 0), (["--json", "users", "delete", "8", "10"], 0), (["users", "list", "--csv"], 0),
    ]
    for args, rc in steps:
        both(*args, rc_want=rc)
    ok("%d table commands through portierd: the same exit status and output as direct mode" % len(steps))

    # bad data in a file is refused with its line and field only (exit 2, no usage line: the command was right), in
    # both modes and in the site form; a mistake on the command line keeps its usage line
    malformed = write(os.path.join(tmp, "malformed.csv"), "pin,name\n5,\"open quote\n")
    for args, says in ((["users", "import", bad], "bad.csv: line 3: card: '12ab' is not a number"),
                       (["holidays", "import", dup], "dup.csv: line 2: loop: '0' is neither yearly nor once"),
                       (["users", "import", malformed], "malformed.csv: line 2:")):
        for r in (ctl("c3", pa, *args, sock=sock), ctl("--direct", "c3", pa2, *args),
                  ctl(*args, "Panel A", sock=sock)):
            if r[0] != 2 or says not in r[2] or "usage:" in r[2] or len(r[2].splitlines()) != 1:
                fail("%s: bad data must be exit 2 with its message alone: %d\n%s" % (args, r[0], r[2]))
    r = ctl("c3", pa, "users", "import", bad, "--no-such-option", sock=sock)
    if r[0] != 2 or "\nusage: portierctl" not in "\n" + r[2]:
        fail("a usage error lost its usage line: %d\n%s" % (r[0], r[2]))
    ok("bad data in a file: exit 2 with the line and field alone, through portierd, directly and by panel name")

    # ---- the same through the site: `portierctl users ... PANEL` through portierd prints what `portierctl c3 HOST
    # users ...` prints in direct mode (its messages under its own name, its own usage) ----
    def site_form(*args, rc_want=0):
        g = [a for a in args if a == "--json"]
        words = [a for a in args if a != "--json"]
        r1 = ctl(*g, *words, "Panel A", sock=sock)
        r2 = ctl(*g, "--direct", "c3", pa2, *words)

        def norm(r):
            err = "\n".join(l for l in r[2].splitlines() if not l.startswith(("usage:", "Try ")))
            return [masked(t.replace(pa2, "PANEL").replace("Panel A", "PANEL").replace("portierctl c3: ", "portierctl: "))
                    for t in (r[1], err)]
        if r1[0] != rc_want or r2[0] != rc_want or norm(r1) != norm(r2):
            fail("%s: the site form through portierd %d\n%s%s\nc3 HOST directly %d\n%s%s" % (
                args, r1[0], r1[1], r1[2], r2[0], r2[1], r2[2]))
    site_steps = [
        (["users", "add", "30", "--card", "3030", "--name", "Sam"], 0), (["--json", "users", "add", "31", "--card", "3131"], 0),
        (["--json", "users", "set", "30", "--name", "Samuel", "--dry-run"], 0), (["users", "set", "30", "--name", "Samuel"], 0),
        (["users", "import", merge, "--merge", "--dry-run"], 0), (["--json", "users", "import", bad], 2),
        (["users", "import", bad], 2), (["--json", "users", "add", "31", "--card", "1"], 2),
        (["--json", "users", "add", "32", "--doors", "1 2", "--dry-run"], 0), (["users", "add", "32", "--doors", "1"], 0),
        (["users", "set", "32", "--doors", "1", "--timezone", "9"], 2), (["--json", "users", "set", "32", "--doors", "7"], 2),
        (["--json", "holidays", "add", "2027-01-01"], 0), (["timezones", "set", "1", "--wed", "08:00-09:00", "--dry-run"], 0),
        (["--json", "access", "add", "30", "2", "1"], 0), (["--json", "users", "delete", "31"], 0), (["users", "delete", "30"], 0),
        (["--json", "users", "list"], 0), (["users", "list", "--csv"], 0), (["users", "export"], 0), (["access", "list"], 0),
    ]
    for args, rc in site_steps:
        site_form(*args, rc_want=rc)
    ok("%d site commands by panel name through portierd: the output and exit status of `c3 HOST` in direct mode"
       % len(site_steps))

    # ---- a panel's refusal: its code in both modes, text and --json, the same bytes ----
    def fault(sim, spec):
        """Panel A's fault mode, once the simulated panel has answered that very command."""
        before = len(sim.output())
        sim.control("Panel A: fault %s" % spec)
        answer = re.compile(r'^panel "Panel A": ok fault %s\b' % re.escape(spec), re.M)
        wait_until(lambda: answer.search(sim.output(), before), 30, "the simulated panel's answer to the fault")
    for sim in (site, twin):
        fault(sim, "refuse=-13")
    for j in ([], ["--json"]):
        r = both(*(j + ["users", "set", "7", "--name", "Rhea"]), rc_want=1)
        want = '"code":-13' if j else "portierctl c3: (code -13) writing: unknown or unsupported command"
        if want not in (r[1] if j else r[2]):
            fail("a refused write through portierd without its code: %s %s" % (r[1], r[2]))
    site_form("users", "delete", "7", rc_want=1)
    for sim in (site, twin):
        fault(sim, "none")
    ok("a panel's refusal through portierd carries its code as direct mode prints it")

    # ---- roles: a guard reads, a technician writes; every request audited ----
    rc, out, err = ctl("c3", pa, "users", "list", "--csv", sock=sock, as_user=AS_GUARD)
    if rc != 0 or "7,1234" not in out:
        fail("a guard's users list: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "users", "add", "20", "--card", "99", sock=sock, as_user=AS_GUARD)
    if rc != 2 or "technician" not in err:
        fail("a guard's users add: %d %s %s" % (rc, out, err))
    data = panel_data_audit(root, 100)
    writes = [x for x in data if x["action"] == "panel-data" and x["user"] == "root"]
    if len(writes) < 6 or not any(x["result"] == "ok" for x in writes) or \
            len([x for x in data if x["action"] == "panel-data-get"]) < 8:
        fail("the table requests in the audit: %s" % [(x["action"], x["params"], x["result"]) for x in data])
    ok("a guard reads the tables and is refused writing them (audited as denied); every request in the audit")

    # ---- events: the daemon's stream of that panel, printed as direct mode prints the panel's records ----
    def follow(args, sock_=None):
        cmd = [PORTIERCTL] + (["--socket", sock_] if sock_ else ["--direct"]) + ["c3", pa if sock_ else pa2] + args
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def round_of(procs, sim):
        time.sleep(2.0)  # the followers are up
        for door, card in ((1, 5), (2, 6), (3, 7)):
            sim.control("Panel A: swipe door=%d card=%d" % (door, card))
        res = []
        for p in procs:
            o, e = p.communicate(timeout=30)
            if p.returncode:
                fail("events --follow --count 3: %d %s %s" % (p.returncode, o, e))
            # direct mode names its own link to the panel (the daemon's is its own)
            res.append([masked(l) for l in o.splitlines() if " LINK " not in l and '"type":"link"' not in l])
        return res
    args = ["events", "--follow", "--count", "3"]
    d_text, d_json = round_of([follow(args, sock), follow(["--json"] + args, sock)], site)
    x_text, = round_of([follow(args)], twin)
    x_json, = round_of([follow(["--json"] + args)], twin)
    if len(d_text) != 3 or d_text != x_text or d_json != x_json:
        fail("events through portierd\n%s\n%s\ndirect\n%s\n%s" % (d_text, d_json, x_text, x_json))
    ok("events --follow --count 3 through portierd: the daemon's stream of that panel, printed as direct mode "
       "prints the panel's records (text and --json)")
    t0 = time.monotonic()
    rc, out, err = ctl("c3", pa, "events", sock=sock, as_user=AS_GUARD)
    took = time.monotonic() - t0
    if rc != 0 or took > 10:
        fail("events without --follow through portierd (a guard): %d after %.1f s: %s %s" % (rc, took, out, err))
    ok("events without --follow: what the daemon's polling brings in two rounds (%.1f s), for a guard too" % took)

    # ---- events --history: a read a guard may make (compared with direct mode in daemon_c3_history) ----
    rc, out, err = ctl("--json", "c3", pa, "events", "--history", sock=sock, as_user=AS_GUARD)
    if rc != 0 or not out or any(not l.startswith('{"type":"event"') for l in out.splitlines()):
        fail("events --history through portierd (a guard): %d %s %s" % (rc, out[-500:], err))
    stored = len(out.splitlines())
    rc, out, err = ctl("c3", pa, "events", "--history", "--follow", sock=sock)
    if rc != 2 or "--follow" not in err:
        fail("events --history --follow through portierd: %d %s %s" % (rc, out, err))
    ok("events --history through portierd: a guard reads the panel's %d stored events" % stored)

    # ---- events --follow interrupted while portierd cannot reach the panel: exit 3, said once ----
    def panel_link():
        rc, out, err = ctl("--json", "status", sock=sock)
        rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return [r.get("link") for r in rows if r.get("device") == "Panel A" and "kind" in r]
    follower = follow(["events", "--follow"], sock)
    time.sleep(1.0)  # the follower is up
    fault(site, "drop")
    wait_until(lambda: panel_link() not in ([], ["up"]), 30, "portierd to lose Panel A")
    time.sleep(0.5)  # the follower's view has the loss too
    interrupt(follower)
    o, e = follower.communicate()
    if follower.returncode != 3 or e.count("interrupted while portierd could not reach Panel A") != 1:
        fail("events --follow interrupted while the panel is away: %d %r %r" % (follower.returncode, o, e))
    fault(site, "none")
    ok("events --follow through portierd, interrupted while the panel is away: exit 3, said once")
    root.close()
finally:
    cleanup(tmp, *reversed(parts))
