#!/usr/bin/env python3
"""kill -9 during a catch-up: portierd recovers a large burst of a simulated C3 panel's transactions (journaled in
batches that do not wait for the disk, the position only in a synchronous commit after them) and is killed at
several moments: while the table is read, while the recovered rows are being journaled, right after. Each restart
reads again from the last stored position. At the end every row of the panel's table since the first contact is in
the journal exactly once, in the panel's order, marked recovered, and no batch was left half stored."""
import os
import random
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c3sim_lib import Panel, check_same, history, journal, panel_config, since_first_contact  # noqa: E402
from portierd_lib import Client, Daemon, cleanup, fail, links_up, ok, tmpdir  # noqa: E402

BURST = int(os.environ.get("PORTIER_KILL_BURST", "10000"))


def write_config(tmp, panel):
    return panel_config(os.path.join(tmp, "a.conf"), panel, "Catch-up kill", "technician")


def recovered_count(db):
    """Recovered rows of the panel committed so far (a reader beside the daemon: WAL), or -1 before the file."""
    if not os.path.exists(db):
        return -1
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
        try:
            return c.execute("SELECT count(*) FROM events WHERE recovered = 1 AND device = 'Panel A'").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return -1


def kill_when(d, db, pred, limit_s):
    """kill -9 the daemon as soon as pred(recovered rows) holds, or after limit_s. The count at the kill."""
    end = time.monotonic() + limit_s
    n = recovered_count(db)
    while time.monotonic() < end and not pred(n):
        time.sleep(0.002)
        n = recovered_count(db)
    d.kill9()
    return recovered_count(db)


tmp = tmpdir("c3-catchup-kill")
panel = None
try:
    panel = Panel(tmp, "a", ["--transactions", str(6 * BURST)])
    conf = write_config(tmp, panel)
    state = os.path.join(tmp, "state")
    db = os.path.join(state, "journal.db")
    sock = os.path.join(tmp, "d.sock")

    # first contact: the table's end is marked, nothing older is journaled
    d = Daemon(tmp, conf, state=state, sock=sock)
    c = Client(d.sock)
    links_up(c, n=1)
    c.drain(1)
    c.close()
    if d.stop() != 0:
        fail("portierd did not exit 0 on SIGTERM")

    rng = random.Random(7)
    total = 0
    mid = 0
    moments = [
        ("20 ms after it listens", lambda base: lambda n: False, 0.02),
        ("while the rows are journaled", lambda base: lambda n: n > base + 200, 30),
        ("while the rows are journaled", lambda base: lambda n: n > base + BURST // 2, 30),
        ("after a random delay", lambda base: lambda n: False, rng.uniform(0.05, 0.6)),
        ("while the rows are journaled", lambda base: lambda n: n > base + 1, 30),
    ]
    for what, make_pred, limit in moments:
        panel.control("burst n=%d" % BURST)  # recorded while nobody listens
        total += BURST
        base = max(recovered_count(db), 0)
        d = Daemon(tmp, conf, state=state, sock=sock)
        n = kill_when(d, db, make_pred(base), limit)
        if base < n < total:
            mid += 1
        if n > total:
            fail("%d recovered rows after the kill, only %d were recorded" % (n, total))
        ok("killed %s: %d of %d recorded rows journaled" % (what, n, total))
    if mid < 2:
        fail("only %d kills came in the middle of a catch-up: the test did not test it" % mid)

    # a last run to the end: the catch-up completes
    d = Daemon(tmp, conf, state=state, sock=sock)
    c = Client(d.sock)
    links_up(c, n=1)
    end = time.monotonic() + 120
    while recovered_count(db) < total and time.monotonic() < end:
        c.drain(0.2)
    c.drain(1)
    c.close()
    if d.stop() != 0:
        fail("portierd did not exit 0 on SIGTERM")

    txns = history(panel.port)
    rows = journal(db)
    evs, want = since_first_contact(rows, txns)
    check_same("Panel A", evs, want)
    if len(evs) != total or not all(e.get("recovered") for e in evs):
        fail("%d events after the first contact, %d recovered; %d were recorded"
             % (len(evs), sum(1 for e in evs if e.get("recovered")), total))
    with sqlite3.connect(db) as cdb:
        dup = cdb.execute("SELECT count(*) FROM (SELECT key FROM events WHERE key IS NOT NULL GROUP BY key "
                          "HAVING count(*) > 1)").fetchone()[0]
        check = cdb.execute("PRAGMA integrity_check").fetchone()[0]
    if dup or check != "ok":
        fail("journal: %d duplicated keys, integrity %s" % (dup, check))
    ok("%d kills (%d in the middle of a catch-up), then a full run: all %d rows once each, in the panel's order, "
       "marked recovered; the journal is intact" % (len(moments), mid, total))
finally:
    cleanup(tmp, *(x for x in (panel,) if x))
