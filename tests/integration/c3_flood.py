#!/usr/bin/env python3
"""The flood: 10 simulated C3 panels, 100 events/s each (1000 events/s offered), polled by portierd every second,
and in the middle a burst of 100 events on every panel, so the 30-event real-time rings overflow between polls.
What overflowed is read back from the panels' transaction tables. When the flood is over, each panel's journal
holds every row its table recorded since the first contact (up to the moment the polling stopped) exactly once:
the live events in the panel's order, the recovered ones in the panel's order (journaled when they are
recovered, so after later live events the operator saw first), and the gap rows count what was recovered."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c3sim_lib import (Panel, check_interleaved, explain, history, journal, panel_events,  # noqa: E402
                       since_first_contact, txn_text)
from portierd_lib import Client, Daemon, cleanup, fail, links_up, ok, tmpdir, wait_until  # noqa: E402

PANELS = 10
RATE = 100
SECONDS = float(os.environ.get("PORTIER_FLOOD_S", "10"))
RECOVERED = re.compile(r"(\d+) events? (?:the real-time log missed )?(?:were |was )?recovered")

tmp = tmpdir("c3-flood")
sim = d = None
try:
    sim = Panel(tmp, "flood", ["--model", "C3-400"], panels=PANELS)
    conf = os.path.join(tmp, "flood.conf")
    with open(conf, "w") as f:
        f.write('site = { name = "Flood"; };\nroles = { default = "technician"; };\npanels = (\n')
        f.write(",\n".join('  { name = "P%d"; host = "127.0.0.1"; port = %d; model = "C3-400"; poll_ms = 1000; }'
                           % (i + 1, sim.port + i) for i in range(PANELS)))
        f.write("\n);\n")
    os.chmod(conf, 0o600)
    state = os.path.join(tmp, "state")
    d = Daemon(tmp, conf, state=state)
    c = Client(d.sock)
    links_up(c, n=PANELS)
    db = os.path.join(state, "journal.db")
    # the flood starts once every first contact has placed its position (a link is up before that): rows from
    # before it are then only the panels' boot rows, so the count below knows which journal events are not rows
    # since the first contact (activity during a first contact is busy_first_contact in test_c3_catchup_site)
    wait_until(lambda: all(any("first contact" in r["text"] for r in journal(db, "P%d" % (i + 1)))
                           for i in range(PANELS)), 60, "every panel's first contact")
    sim.control("activity rate=%d" % RATE)
    t0 = time.monotonic()
    c.drain(SECONDS / 2)
    for i in range(PANELS):  # and a burst on every panel that no poll rate can take from a 30-event ring
        sim.control("burst n=100 panel=%d" % i)
    c.drain(SECONDS / 2)
    sim.control("activity rate=0")
    # doors opened by the flood still close and held ones time out: wait until no panel records anything more
    # for 3 s, then for the polls to read it
    last, quiet = None, time.monotonic()
    while time.monotonic() - quiet < 3:
        c.drain(0.5)
        st = sim.control("status")
        now = int(re.search(r" events=(\d+) ", st).group(1))
        if now != last:
            last, quiet = now, time.monotonic()
        if time.monotonic() - t0 > SECONDS + 60:
            fail("the panels never went quiet: %s" % now)
    # a door left open may still time out later, after portierd is gone: what must be in the journal is every row
    # up to the last one each panel had recorded here (2 s of polls before the stop read it)
    upto = [int(re.search(r" last=(\d+) ", sim.control("status panel=%d" % i)).group(1)) for i in range(PANELS)]
    # ... which the polls, and the catch-ups that hold a panel's polls while they run, store within moments, or
    # within many seconds on a loaded machine: wait until every ring is read and the journal holds as many events
    # since each first contact as the table had up to there, and has stopped growing (WAL: reading it while
    # portierd writes is fine)

    def stored():
        counts = []
        for i in range(PANELS):
            if int(re.search(r" ring=(\d+) ", sim.control("status panel=%d" % i)).group(1)) != 0:
                return None
            rows = journal(db, "P%d" % (i + 1))
            firsts = [r["text"] for r in rows if "first contact" in r["text"]]
            if len(firsts) != 1:
                return None
            before = int(firsts[0].split("first contact with this panel: ")[1].split()[0])
            evs = panel_events(rows)
            # no panel restarts here: a device-start event is the boot row from before the first contact, shown
            # live from the ring, and does not count for the rows since
            n = len(evs) - sum(1 for e in evs if e["code"] == 206)
            if n < upto[i] - before:
                return None
            counts.append(n)
        return counts
    deadline, seen = time.monotonic() + 120, None
    while True:
        c.drain(1)
        now_counts = stored()
        if now_counts is not None and now_counts == seen:
            break
        seen = now_counts
        if time.monotonic() > deadline:
            break  # the checks below say what is missing
    c.close()
    dropped = int(re.search(r" dropped=(\d+) ", st).group(1))
    if d.stop() != 0:
        fail("portierd did not exit 0 on SIGTERM")
    total = recovered = told = 0
    for i in range(PANELS):
        name = "P%d" % (i + 1)
        rows = journal(db, name)
        evs, want = since_first_contact(rows, history(sim.port + i))
        need = [t for t in want if t["index"] <= upto[i]]
        if len(evs) < len(need):
            missing, _ = explain(name, evs, need, panel_events(rows)[:len(panel_events(rows)) - len(evs)])
            fail("%s: %d events in the journal, the table had %d when the polls stopped; not in the journal: %s"
                 % (name, len(evs), len(need), "; ".join(txn_text(t) for t in missing[:5])))
        check_interleaved(name, evs, want[:len(evs)], want)
        total += len(evs)
        recovered += sum(1 for e in evs if e.get("recovered"))
        told += sum(int(m.group(1)) for g in rows if g["kind"] == "gap" for m in [RECOVERED.search(g["text"])] if m)
        lost = [g["text"] for g in rows if g["kind"] == "gap" and "lost" in g["text"] and "nothing lost" not in g["text"]]
        if lost:
            fail("%s: a gap row says events were lost: %s" % (name, lost))
    if told != recovered:
        fail("the gap rows say %d recovered, the journal marks %d" % (told, recovered))
    if dropped == 0:
        fail("the rings never overflowed (%d recovered): the test shows nothing" % recovered)
    if recovered < dropped:
        fail("%d events overflowed the rings, only %d were recovered" % (dropped, recovered))
    ok("%d panels x %d events/s offered for %.0f s, polled every second: %d events recorded in all, %d of them "
       "overflowed the real-time rings; the %d since the first contact are in the journal once, live and recovered "
       "ones each in the panel's order; %d recovered from the tables (the gap rows count %d)"
       % (PANELS, RATE, SECONDS, last, dropped, total, recovered, told))
finally:
    cleanup(tmp, *(x for x in (d, sim) if x))
