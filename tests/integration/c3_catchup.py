#!/usr/bin/env python3
"""No lost events across a downtime: portierd journals a simulated C3 panel's live events, is stopped for 60 s
(PORTIER_DOWNTIME_S) while the panel keeps producing activity, and is started again. Then every event of the
panel's transaction table since the first connection is in the journal exactly once, in the panel's order, the
ones of the downtime marked recovered, and the gap row says how many were recovered. Second part: a panel whose
table (200 rows) is smaller than the downtime's events: the gap row says how many are lost for good, and the
journal holds exactly the rows the table still had, once each."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c3sim_lib import (Panel, check_same, history, journal, key_ev, key_txn, panel_config, panel_events,  # noqa: E402
                       same, since_first_contact)
from portierd_lib import PORTIERCTL, Client, Daemon, cleanup, fail, links_up, ok, tmpdir  # noqa: E402

DOWNTIME_S = float(os.environ.get("PORTIER_DOWNTIME_S", "60"))


def write_config(tmp, panel, name):
    return panel_config(os.path.join(tmp, name + ".conf"), panel, "Catch-up", "technician")


def session(tmp, panel, conf, state, seconds, linked=None):
    """portierd up until the panel is linked (then linked() if given), then `seconds` more."""
    d = Daemon(tmp, conf, state=state, sock=os.path.join(tmp, "d.sock"))
    c = Client(d.sock)
    links_up(c, n=1)
    if linked:
        linked()
    c.drain(seconds)
    c.close()
    if d.stop() != 0:
        fail("portierd did not exit 0 on SIGTERM")
    return d


tmp = tmpdir("c3-catchup")
panel = small = None
try:
    # ---- part 1: 60 s down, nothing lost ----
    panel = Panel(tmp, "a")
    conf = write_config(tmp, panel, "a")
    state = os.path.join(tmp, "state-a")
    db = os.path.join(state, "journal.db")
    # the first contact marks the table's end; the activity starts after it, live events are journaled as they come
    session(tmp, panel, conf, state, 4, linked=lambda: panel.control("activity rate=15"))
    t0 = time.monotonic()
    while time.monotonic() - t0 < DOWNTIME_S:  # the console is gone; the panel goes on
        time.sleep(1)
    session(tmp, panel, conf, state, 4)  # catch-up, then live again
    panel.control("activity rate=0")
    # doors the activity left open close on the panel's own timers, seconds later: the table is read until it
    # stops growing, so that the last session sees every row (a row after it would be the next start's)
    n, t0 = len(history(panel.port)), time.monotonic()
    while time.monotonic() - t0 < 40:
        time.sleep(6)  # longer than the longest step of a door's script (the open timeout to the close: 2-5 s)
        m = len(history(panel.port))
        if m == n:
            break
        n = m
    session(tmp, panel, conf, state, 2)  # the last live events (and a start-up catch-up of the quiet time)
    txns = history(panel.port)
    rows = journal(db)
    evs, want = since_first_contact(rows, txns)
    check_same("Panel A", evs, want)
    recovered = [e for e in evs if e.get("recovered")]
    gaps = [r for r in rows if r["kind"] == "gap"]
    # a connect's gap row ("N events recovered from ...") and a background read's ("N events the real-time log
    # missed were recovered ...": the ring overflowed, e.g. while polls waited for a long catch-up)
    told = sum(int(m.group(1)) for g in gaps
               for m in [re.search(r"(\d+) events? (?:the real-time log missed (?:was|were) )?recovered", g["text"])]
               if m)
    down = int(DOWNTIME_S * 15)
    if len(recovered) < down * 0.7:
        fail("only %d recovered events for %d s of 15 events/s" % (len(recovered), DOWNTIME_S))
    if told != len(recovered):
        fail("the gap rows say %d recovered, the journal marks %d: %s" % (told, len(recovered),
                                                                         [g["text"] for g in gaps]))
    if any("lost" in g["text"] and "nothing lost" not in g["text"] for g in gaps):
        fail("a gap row says events were lost: %s" % [g["text"] for g in gaps])
    ok("%d s down: %d events in the journal exactly once and in the panel's order, %d recovered (%s)"
       % (DOWNTIME_S, len(evs), len(recovered), "; ".join(g["text"] for g in gaps if "recovered" in g["text"])))
    # the journal says which are recovered, in text too
    p = subprocess.run([PORTIERCTL, "journal", "--db", db, "--device", "Panel A", "--limit", "5",
                        "--before", str(recovered[-1]["id"] + 1)], capture_output=True, text=True)
    if "(recovered)" not in p.stdout:
        fail("portierctl journal does not mark recovered events: %s" % p.stdout)
    ok("recovered events marked in portierctl journal (text and JSON)")

    # ---- part 2: a table smaller than the downtime's events ----
    small = Panel(tmp, "b", ["--transactions", "200"])
    conf = write_config(tmp, small, "b")
    state = os.path.join(tmp, "state-b")
    db = os.path.join(state, "journal.db")
    session(tmp, small, conf, state, 2)
    small.control("burst n=500")  # 500 events while nobody listens; the table keeps the last 200
    session(tmp, small, conf, state, 3)
    txns = history(small.port)
    if len(txns) != 200:
        fail("the small table holds %d rows, not 200" % len(txns))
    rows = journal(db)
    evs = [e for e in panel_events(rows) if e.get("recovered")]
    gaps = [r for r in rows if r["kind"] == "gap" and "lost" in r["text"]]
    if not gaps or "300 events lost for good" not in gaps[-1]["text"] or "200 recovered" not in gaps[-1]["text"]:
        fail("the gap row does not say 300 lost, 200 recovered: %s" % [r["text"] for r in rows if r["kind"] == "gap"])
    if not same([key_ev(e) for e in evs], [key_txn(t) for t in txns]):
        fail("the recovered events are not the 200 rows the table kept, in order")
    ok("a 200-row table after 500 events: the gap says 300 lost for good, the 200 kept are journaled once, in order")
finally:
    cleanup(tmp, *(x for x in (panel, small) if x))
