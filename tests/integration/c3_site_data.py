#!/usr/bin/env python3
"""A configured panel's users, cards, access rights, time zones and holidays through the site commands
(`portierctl -c FILE users ... PANEL`): directly (this process owns the panel) and through portierd, alike. Every
kind round-trips through CSV; a bad row is refused with its line and column and nothing is written; each request
is an audited panel-data action; a guard may read but not write (denied, audited)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c3sim_lib import Panel, panel_config  # noqa: E402
from portierd_lib import Daemon, cleanup, fail, ok, private_locks, tmpdir, write  # noqa: E402
from portierd_lib import ctl_exit as ctl  # noqa: E402

FILES = {
    "timezones": "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,,08:00-12:00 13:00-17:00,,,,,,,,\n",
    "users": "pin,card,password,group,start,end,name,super\n1,1001,1234,0,,,Ann,0\n2,,,1,2025-01-01,2025-12-31,"
             "\"Lee, B\",1\n",
    "cards": "card,pin,name\n1001,1,Ann\n2002,2,\"Lee, B\"\n",
    "access": "pin,door,timezone\n1,1,1\n2,1,1\n2,2,1\n",
    "holidays": "date,type,loop\n2025-12-25,1,yearly\n",
}


def config(tmp, panel, name, role):
    return panel_config(os.path.join(tmp, name + ".conf"), panel, "Data", role, os.path.join(tmp, name + ".db"))


def roundtrip(tmp, how, label):
    for kind, text in FILES.items():
        path = write(os.path.join(tmp, kind + ".csv"), text)
        ctl(how + [kind, "import", path, "Panel A"])
        out = ctl(how + [kind, "export", "Panel A"]).stdout
        if out != text:
            fail("%s %s export differs:\n%s\nwanted:\n%s" % (label, kind, out, text))
        again = ctl(how + [kind, "import", path, "Panel A"]).stdout
        if "nothing to write" not in again:
            fail("%s %s re-import wrote something: %s" % (label, kind, again))
    ok("%s: every kind imported, exported identical, re-imported without a write" % label)


tmp = tmpdir("c3-site-data")
panel = daemon = None
try:
    private_locks(tmp)
    panel = Panel(tmp, "p")
    conf = config(tmp, panel, "tech", "technician")
    direct = ["-c", conf, "--direct"]
    roundtrip(tmp, direct, "direct")

    bad = write(os.path.join(tmp, "bad.csv"), "pin,card,name\n1,1001,Ann\n3,30x,Kim\n")
    before = ctl(direct + ["users", "export", "Panel A"]).stdout
    p = ctl(direct + ["users", "import", bad, "Panel A"], want=2)
    if "bad.csv: line 3: card: '30x' is not a number" not in p.stderr:
        fail("bad row message: %s" % p.stderr)
    if ctl(direct + ["users", "export", "Panel A"]).stdout != before:
        fail("a refused import changed the users")
    ok("a bad row is refused with its line and column, nothing written")

    ctl(direct + ["users", "add", "5", "Panel A", "--name", "Eve", "--card", "5005"])
    ctl(direct + ["access", "add", "5", "2", "1", "Panel A"])
    p = ctl(direct + ["users", "delete", "5", "Panel A"])
    if "access rights of the 1 deleted user were removed" not in p.stdout:
        fail("users delete: %s" % p.stdout)
    p = ctl(direct + ["users", "set", "1", "Panel A", "--name", "Anne", "--dry-run"])
    if "~ pin=1: name Ann -> Anne" not in p.stdout or "dry run" not in p.stdout:
        fail("dry run: %s" % p.stdout)
    audit = ctl(direct + ["audit", "--limit", "200"]).stdout
    for what in ("panel-data Panel A users replace", "panel-data-get Panel A users list", "panel-data Panel A users add",
                 "panel-data Panel A users delete"):
        if what not in audit:
            fail("no audit row '%s':\n%s" % (what, audit))
    ok("add, delete (with the user's access rights), dry run; every request audited")

    guard = direct[:]
    guard[1] = config(tmp, panel, "guard", "guard")
    if ctl(guard + ["users", "list", "Panel A"]).stdout.count("\n") != 3:
        fail("a guard cannot list the users")
    p = ctl(guard + ["users", "add", "6", "Panel A"], want=2)
    if "technician" not in p.stderr:
        fail("guard write: %s" % p.stderr)
    if "denied" not in ctl(guard + ["audit", "--limit", "5"]).stdout:
        fail("the guard's attempt is not audited as denied")
    ok("a guard reads, a write is denied and audited")

    # the same through portierd: it owns the panel, portierctl asks it
    daemon = Daemon(tmp, conf, sock=os.path.join(tmp, "d.sock"), state=os.path.join(tmp, "dstate"))
    via = ["--socket", daemon.sock]
    p = ctl(["-c", conf, "--direct", "users", "list", "Panel A"], want=3)  # portierd owns it now
    roundtrip(tmp, via, "through portierd")
    p = ctl(via + ["users", "import", bad, "Panel A"], want=2)
    if "line 3: card:" not in p.stderr:
        fail("bad row through portierd: %s" % p.stderr)
    p = ctl(via + ["--json", "users", "list", "Panel A"])
    if '"pin":"2"' not in p.stdout:
        fail("JSON list through portierd: %s" % p.stdout)
    ok("through portierd: the same round trips, refusals and JSON")
finally:
    cleanup(tmp, *(x for x in (daemon, panel) if x))
