#!/usr/bin/env python3
"""`users add|set PIN ... --doors LIST [--timezone ID]` against a simulated C3-200 (2 doors): the user and the doors
they may open in one command, checked as the console's user editor checks them (door numbers against the panel's
doors, the time zone against the panel's time zones) before anything is written; --dry-run shows the difference of
the user's row and of the user's rights; the rights given replace the user's rights. The same for the panel's own
address (`portierctl c3 HOST`), for a configured panel (`portierctl -c FILE users ... PANEL`, audited), and through
portierd. Bad input: refused with what is wrong, exit 2, nothing written."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c3sim_lib import Panel, panel_config  # noqa: E402
from portierd_lib import Daemon, cleanup, fail, ok, private_locks, tmpdir, write  # noqa: E402
from portierd_lib import ctl_exit as ctl  # noqa: E402

TZS = "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n1,,08:00-12:00,,,,,,,,\n2,,13:00-17:00,,,,,,,,\n"


def check(form, label, panel_name):
    """form(args...) -> the command line for users/access/timezones of the panel under test."""
    ctl(form("timezones", "import", write(os.path.join(tmp, "tz.csv"), TZS)))

    def state():
        return ctl(form("users", "export")).stdout + ctl(form("access", "export")).stdout

    before = state()
    refusals = [
        (["--doors", "1 3"], "--doors: 3 is not a door of %s (1-2, separated by spaces)" % panel_name),
        (["--doors", "1,x"], "--doors: x is not a door of %s" % panel_name),
        (["--doors", "1 2", "--timezone", "9"], "--timezone: the panel has no time zone 9 (it has 1 2)"),
        (["--timezone", "2"], "--timezone is the time zone of the doors given with --doors"),
    ]
    for extra, msg in refusals:
        p = ctl(form("users", "add", "7", "--name", "Ann") + extra, want=2)
        if msg not in p.stderr:
            fail("%s: %s: expected '%s', got: %s" % (label, " ".join(extra), msg, p.stderr))
    if state() != before:
        fail("%s: a refused command changed the panel" % label)
    ok("%s: a door the panel does not have, a word, an unknown time zone: refused, nothing written" % label)

    p = ctl(form("users", "add", "7", "--name", "Ann", "--card", "7007", "--doors", "1,2", "--timezone", "2",
                  "--dry-run"))
    for line in ("+ pin=7 card=7007", "name=Ann", "+ pin=7 door=1 timezone=2", "+ pin=7 door=2 timezone=2",
                 "user: 1 added", "doors: 2 added", "dry run: nothing written"):
        if line not in p.stdout:
            fail("%s: dry run: no '%s' in: %s" % (label, line, p.stdout))
    if state() != before:
        fail("%s: a dry run changed the panel" % label)
    ok("%s: --dry-run shows the new user and the rights, writes nothing" % label)

    p = ctl(form("users", "add", "7", "--name", "Ann", "--card", "7007", "--doors", "1,2", "--timezone", "2"))
    if "user: 1 added" not in p.stdout or "doors: 2 added" not in p.stdout:
        fail("%s: add: %s" % (label, p.stdout))
    users, access = ctl(form("users", "export")).stdout, ctl(form("access", "export")).stdout
    if "7,7007,,0,,,Ann,0" not in users or "7,1,2\n" not in access or "7,2,2\n" not in access:
        fail("%s: after the add: %s / %s" % (label, users, access))
    ok("%s: the user and the doors written and read back" % label)

    p = ctl(form("users", "set", "7", "--doors", "2", "--timezone", "1", "--dry-run"))
    if "- pin=7 door=1 timezone=2" not in p.stdout or "+ pin=7 door=2 timezone=1" not in p.stdout:
        fail("%s: set dry run: %s" % (label, p.stdout))
    if ctl(form("access", "export")).stdout != access:
        fail("%s: a dry run of set changed the rights" % label)
    ctl(form("users", "set", "7", "--doors", "2", "--timezone", "1"))
    access = ctl(form("access", "export")).stdout
    if [x for x in access.splitlines() if x.startswith("7,")] != ["7,2,1"]:
        fail("%s: after the set the rights of 7 are not door 2 in time zone 1: %s" % (label, access))
    ctl(form("users", "set", "7", "--doors", "none"))
    if any(x.startswith("7,") for x in ctl(form("access", "export")).stdout.splitlines()):
        fail("%s: --doors none left rights to user 7" % label)
    ctl(form("users", "delete", "7"))
    ok("%s: set --doors replaces the user's rights (dry run first), --doors none removes them" % label)


tmp = tmpdir("c3-user-doors")
panel = daemon = None
try:
    private_locks(tmp)
    panel = Panel(tmp, "p")
    host = "127.0.0.1:%d" % panel.port
    check(lambda kind, op, *rest: ["c3", host, kind, op] + list(rest), "portierctl c3 HOST", host)

    conf = panel_config(os.path.join(tmp, "tech.conf"), panel, "Doors", "technician", os.path.join(tmp, "j.db"))

    def site(how):
        """The site form: the panel's name follows the command's argument (PIN, FILE), options may follow it."""
        def form(kind, op, *rest):
            if op == "export":
                return how + [kind, op, "Panel A"]
            return how + [kind, op, rest[0], "Panel A"] + list(rest[1:])
        return form

    check(site(["-c", conf, "--direct"]), "site, direct", "Panel A")
    audit = ctl(["-c", conf, "--direct", "audit", "--limit", "400"]).stdout
    for what in ("panel-data Panel A users add", "panel-data Panel A access replace pin=7",
                 "panel-data-get Panel A timezones list"):
        if what not in audit:
            fail("no audit row '%s':\n%s" % (what, audit))
    ok("site, direct: the user's row, the rights and the time zone read are audited panel-data actions")

    daemon = Daemon(tmp, conf, sock=os.path.join(tmp, "d.sock"), state=os.path.join(tmp, "dstate"))
    check(site(["-c", conf, "--socket", daemon.sock]), "through portierd", "Panel A")
finally:
    cleanup(tmp, *(x for x in (daemon, panel) if x))
