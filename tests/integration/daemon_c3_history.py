#!/usr/bin/env python3
"""`portierctl c3 HOST events --history [--since T]` against a panel portierd owns: the same plain read of the
panel's event table as direct mode (text and --json identical to direct mode's read of the same simulator right
after), open to guards and audited; and the daemon's catch-up still journals every event the panel recorded
exactly once when histories were read through it while it caught up and while it ran."""
import json
import os
import re
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c3sim_lib import Panel, check_same, history, journal, panel_config, since_first_contact  # noqa: E402
from portierd_lib import PORTIERCTL, Client, Daemon, cleanup, ctl, fail, links_up, need_root, ok, tmpdir  # noqa: E402


def write_config(tmp, panel):
    return panel_config(os.path.join(tmp, "site.conf"), panel, "History", "guard")


need_root()
tmp = tmpdir("daemon-c3-history")
panel = daemon = None
try:
    panel = Panel(tmp, "a")
    host = "127.0.0.1:%d" % panel.port
    conf = write_config(tmp, panel)
    state = os.path.join(tmp, "state")
    db = os.path.join(state, "journal.db")
    sock = os.path.join(tmp, "d.sock")

    def up():
        d = Daemon(tmp, conf, state=state, sock=sock)
        c = Client(d.sock)
        links_up(c, n=1)
        return d, c

    def table_still(when):
        """Read the history through portierd until the panel's table stands still (the activity stopped, the doors
        it opened closed: nothing more will be recorded)."""
        last, t_end = None, time.monotonic() + 60
        while True:
            rc, out, err = ctl("c3", host, "events", "--history", sock=sock)
            if rc != 0:
                fail("events --history through portierd %s: %d %s" % (when, rc, err))
            if out == last or time.monotonic() > t_end:
                return
            last = out
            time.sleep(3.0)

    def down(d, c):
        c.close()
        if d.stop() != 0:
            fail("portierd did not exit 0 on SIGTERM")

    # ---- the first contact marks the table's end; activity while portierd is down ----
    daemon, c = up()
    panel.control("activity rate=40")
    c.drain(1.0)
    down(daemon, c)
    time.sleep(2.0)
    panel.control("activity rate=0")

    # ---- through portierd, then directly: the same output ----
    daemon, c = up()
    # read while portierd catches up, then until the table stands still (doors opened by the activity close later)
    table_still("while it catches up")
    via = {}
    for args in ((), ("--json",)):
        rc, out, err = ctl(*args, "c3", host, "events", "--history", sock=sock)
        if rc != 0 or not out:
            fail("events --history %s through portierd: %d %s %s" % (args, rc, out[-500:], err))
        via[args] = (out, err)
    rows = [json.loads(l) for l in via[("--json",)][0].splitlines()]
    if len(rows) < 40 or any(r["type"] != "event" or not r["stored"] for r in rows):
        fail("the history through portierd: %d rows: %s" % (len(rows), rows[:3]))
    mid = rows[len(rows) // 2]["time"]
    for args in ((), ("--json",)):
        rc, out, err = ctl(*args, "c3", host, "events", "--history", "--since", mid, sock=sock)
        if rc != 0:
            fail("events --history --since %s through portierd: %d %s" % (mid, rc, err))
        via[args + ("since",)] = (out, err)
    n_since = len(via[("--json", "since")][0].splitlines())
    if not 0 < n_since < len(rows) or any(json.loads(l)["time"] < mid for l in via[("--json", "since")][0].splitlines()):
        fail("--since %s through portierd: %d of %d rows" % (mid, n_since, len(rows)))
    # the audit: a guard's reads, with what they asked
    c.request({"op": "audit", "limit": 50})
    audit = [x for m in c.progress if m["type"] == "rows" for x in m["rows"] if x["action"] == "panel-data-get"]
    if len(audit) < 5 or any(x["result"] != "ok" or x["role"] != "guard" or not x["params"].startswith("history")
                              for x in audit) or sum(1 for x in audit if "since=" in x["params"]) != 2:
        fail("the history reads in the audit: %s" % audit)
    # hand-written requests: refused, never sent to the panel
    for settings, action in (("history since=", "panel-data-get"), ("history since=4294967296", "panel-data-get"),
                             ("history since=12 x", "panel-data-get"), ("history from=1", "panel-data-get"),
                             ("history", "panel-data")):
        r = c.request({"op": action, "target": "Panel A", "settings": settings, "data_b64": "UGluCjEK"})
        # panel-data is a technician's: a guard is denied before the request is read
        if r.get("status") != ("denied" if action == "panel-data" else "refused"):
            fail("%r (%s) was not refused: %s" % (settings, action, r))
    # on a terminal: the read's progress bar on stderr up to 100 %, the same rows on stdout
    tty_out, tty_err = os.path.join(tmp, "hist.out"), os.path.join(tmp, "hist.tty")
    cmd = " ".join(shlex.quote(x) for x in (PORTIERCTL, "--socket", sock, "c3", host, "events", "--history"))
    p = subprocess.run(["script", "-qec", "%s >%s" % (cmd, shlex.quote(tty_out)), tty_err], capture_output=True,
                       timeout=60)
    with open(tty_err, "rb") as f:
        bar = f.read().decode(errors="replace")
    with open(tty_out) as f:
        shown = f.read()
    if p.returncode != 0 or not re.search(r"reading the panel's events \[#{40}\] 100% ", bar) \
            or "%d events" % len(rows) not in bar:
        fail("events --history through portierd on a terminal: no progress bar ending at 100%%: %r" % bar[-600:])
    if shown != via[()][0]:
        fail("events --history through portierd on a terminal printed other rows")
    down(daemon, c)
    for args in ((), ("--json",)):
        for since in ((), ("--since", mid)):
            rc, out, err = ctl(*args, "--direct", "c3", host, "events", "--history", *since)
            want = via[args + (("since",) if since else ())]
            if rc != 0 or out != want[0] or err != want[1]:
                fail("events --history %s %s: through portierd\n%s%s\ndirectly\n%s%s"
                     % (args, since, want[0][-800:], want[1], out[-800:], err))
    ok("events --history (%d events) and --since (%d) through portierd: the output of direct mode, text and --json"
       % (len(rows), n_since))

    # ---- events live and during a downtime, histories read meanwhile: every event journaled exactly once ----
    daemon, c = up()
    panel.control("activity rate=40")
    for _ in range(3):
        rc, out, err = ctl("c3", host, "events", "--history", sock=sock)
        if rc != 0:
            fail("events --history while events come: %d %s" % (rc, err))
    c.drain(1.0)
    down(daemon, c)
    time.sleep(2.0)
    daemon, c = up()
    rc, out, err = ctl("c3", host, "events", "--history", sock=sock)  # while portierd catches up
    if rc != 0:
        fail("events --history during the catch-up: %d %s" % (rc, err))
    panel.control("activity rate=0")
    table_still("after the activity")  # the doors the activity opened close later: recorded before the last start
    c.drain(1.0)
    down(daemon, c)
    daemon, c = up()  # a start-up catch-up of what the last session did not see (nothing, or a last door closing)
    c.drain(1.0)
    down(daemon, c)
    daemon = None
    txns = history(panel.port)
    evs, want = since_first_contact(journal(db), txns)
    check_same("Panel A", evs, want)
    ok("%d events recorded across two downtimes, histories read while portierd ran and caught up: each in the "
       "journal exactly once" % len(want))
finally:
    cleanup(tmp, *(x for x in (daemon, panel) if x))
