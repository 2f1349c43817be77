#!/usr/bin/env python3
"""portierd as systemd runs it (Type=notify): READY=1 with a STATUS once it serves, WATCHDOG=1 at half the
WatchdogSec the manager sets, a new STATUS after SIGHUP, STOPPING=1 on SIGTERM; SIGTERM leaves the doors as they
are (a held door stays held in the simulator, and after a restart); the unit file, the sysusers and tmpfiles
snippets parse (systemd-analyze, when present)."""
import glob
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import PORTIERD, Client, Site, cleanup, fail, links_up, ok, tmpdir, wait_until  # noqa: E402

tmp = tmpdir("daemon-systemd")
site = proc = None
try:
    site = Site(tmp)
    nsock = os.path.join(tmp, "notify.sock")
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(nsock)
    n.settimeout(0.2)
    sock = os.path.join(tmp, "portierd.sock")
    state = os.path.join(tmp, "state")
    env = dict(os.environ, NOTIFY_SOCKET=nsock, WATCHDOG_USEC="400000")
    log = open(os.path.join(tmp, "portierd.log"), "w")
    cmd = 'WATCHDOG_PID=$$ exec "$0" -c "$1" --socket "$2" --state-dir "$3"'
    proc = subprocess.Popen(["sh", "-c", cmd, PORTIERD, site.config, sock, state], env=env, stdout=log, stderr=log)
    notes = []

    def collect(until, what, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                notes.append(n.recv(4096).decode())
            except socket.timeout:
                pass
            if until():
                return
        fail("no %s from portierd (got %s)" % (what, notes[-5:]))

    collect(lambda: any("READY=1" in x for x in notes), "READY=1")
    ready = [x for x in notes if "READY=1" in x][0]
    if "STATUS=serving site" not in ready or "MAINPID=%d" % proc.pid not in ready:
        fail("READY message: %r" % ready)
    c = Client(sock)
    if "site" in c.greeting and not os.path.exists(sock):
        fail("socket missing")
    ok("READY=1 once the socket serves: %s" % ready.replace("\n", " | "))
    t0 = time.monotonic()
    notes.clear()
    collect(lambda: sum("WATCHDOG=1" in x for x in notes) >= 5, "watchdog pings", 5)
    ok("WATCHDOG=1 every ~200 ms (WatchdogSec 0.4 s): 5 pings in %.2f s" % (time.monotonic() - t0))
    if not any(l.startswith("<") for l in open(os.path.join(tmp, "portierd.log"))):
        fail("log lines without journald priorities")

    links_up(c)
    r = c.request({"op": "door-hold", "target": "Main entrance"})
    if r["status"] != "ok":
        fail("hold: %s" % r)
    notes.clear()
    proc.send_signal(signal.SIGHUP)
    collect(lambda: any("STATUS=serving" in x for x in notes), "a STATUS after SIGHUP")
    ok("SIGHUP: configuration reloaded, STATUS sent again")

    def door1():
        """The lock of Panel A's door 1 as the simulated panel has it. The answer comes from the simulators alone
        (the site simulator forwards the line to the panel's process and prints its answer: two local processes,
        two pipes, nothing of portierd): it is taken the moment its whole line is written, and the bound only says
        how long a machine loaded by parallel builds and tests may leave those processes unscheduled before this
        is a failure (30 s, as for the simulators' start)."""
        before = len(site.output())
        site.control("Panel A: status")
        answer = re.compile(r'^panel "Panel A": ok .*door1=\w+,(\w+),.*\n', re.M)
        m = wait_until(lambda: answer.search(site.output(), before), 30, "the simulated panel's status answer")
        return m.group(1)

    if door1() == "locked":
        fail("the held door is locked before SIGTERM")
    notes.clear()
    proc.send_signal(signal.SIGTERM)
    collect(lambda: any("STOPPING=1" in x for x in notes), "STOPPING=1")
    if proc.wait(20) != 0:
        fail("exit status %s" % proc.returncode)
    time.sleep(1.0)
    held = door1()
    if held == "locked":
        fail("SIGTERM locked the held door")
    ok("SIGTERM: STOPPING=1, exit 0, the held door left as it was (%s)" % held)
    # the journal as the schema before (5) left it: the restart upgrades it and tells systemd first, with more
    # start-up time (a large journal's upgrade would otherwise be killed by the start-up timeout, again and again)
    journals = glob.glob(os.path.join(tmp, "**", "journal.db"), recursive=True)
    if len(journals) != 1:
        fail("one journal expected: %s" % journals)
    db = sqlite3.connect(journals[0])
    db.execute("INSERT INTO events(host_us,kind,severity,device,text,key,recovered) VALUES"
               " (?,0,0,'Panel A','before the upgrade','Panel A|1700000000|0|1|123|0|-1|-1|#77',0)",
               (int(time.time() * 1e6) - 60 * 1000000,))
    db.execute("PRAGMA user_version=5")
    db.commit()
    db.close()
    proc = subprocess.Popen(["sh", "-c", cmd, PORTIERD, site.config, sock, state], env=env, stdout=log, stderr=log)
    notes.clear()
    collect(lambda: any("READY=1" in x for x in notes), "READY=1 after a restart")
    first_ready = next(i for i, x in enumerate(notes) if "READY=1" in x)
    upgrade = [x for x in notes[:first_ready] if "STATUS=upgrading the journal from schema 5 to " in x]
    if not upgrade or "EXTEND_TIMEOUT_USEC=30000000" not in upgrade[0]:
        fail("no upgrade notice with more start-up time before READY=1: %s" % notes[:first_ready + 1])
    db = sqlite3.connect(journals[0])
    version = db.execute("PRAGMA user_version").fetchone()[0]
    keys = [r[0] for r in db.execute("SELECT key FROM events WHERE text = 'before the upgrade'")]
    db.close()
    if version < 6 or keys != ["Panel A|#000000000077|1700000000|0|1|123|0|-1|-1"]:
        fail("the journal was not upgraded: version %s, keys %s" % (version, keys))
    if "upgrading the journal from schema 5" not in open(os.path.join(tmp, "portierd.log")).read():
        fail("the upgrade is not in portierd's log")
    ok("a journal of schema 5 upgraded at the restart, told first: %s" % upgrade[0].replace("\n", " | "))
    c = Client(sock)
    links_up(c)
    main = [o for o in c.snapshot["outputs"] if o["name"] == "Main entrance"][0]
    c.drain(1.0)
    states = [m for m in c.msgs if m.get("type") == "output" and m["index"] == main["index"]]
    st = (states[-1] if states else main)["state"]
    if not st["held_open"] or door1() == "locked":
        fail("after a restart the door is not held: %s" % st)
    ok("restarted: the door is still held, and portierd knows it")
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)

    analyze = shutil.which("systemd-analyze")
    unit = os.path.join(os.environ.get("PORTIER_BUILD_DIR", os.path.dirname(PORTIERD)), "portierd.service")
    if analyze and os.path.exists(unit):
        out = subprocess.run([analyze, "verify", unit], capture_output=True, text=True).stderr
        bad = [l for l in out.splitlines() if "is not executable" not in l and "man " not in l and l.strip()]
        if bad:
            fail("systemd-analyze verify: %s" % bad)
        ok("the unit file parses (systemd-analyze verify)")
    else:
        print("note: systemd-analyze or the unit file not found: unit not checked")
finally:
    if proc and proc.poll() is None:
        proc.kill()
    cleanup(tmp, *(x for x in (site,) if x))
