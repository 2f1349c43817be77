#!/usr/bin/env python3
"""Many clients, one owner: a simulated site (two C3 panels, one NiX1 bus) under portierd for a while
(PORTIER_MULTI_SECONDS, default 60; bench/daemon_soak.sh runs 10 minutes), with two `portierctl watch` clients, a
protocol client that reads at once and one that reads in bursts. Card swipes and iButton presentations with
unique numbers go through the simulators the whole time; midway an emergency from a third portierctl, shown with
live counts to every client, restored later; an alarm acknowledged by one client is acknowledged for all. At the
end: no link dropped and no gap during the run, every swipe and presentation is in the journal exactly once and
reached every client exactly once, and every client saw the same emergency and acknowledgement."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (PORTIERCTL, Client, Daemon, Site, cleanup, ctl, fail, interrupt, links_up, ok,  # noqa: E402
                          tmpdir, wait_until)

SECONDS = float(os.environ.get("PORTIER_MULTI_SECONDS", "60"))
SLAVE = "270100000000006B"
tmp = tmpdir("daemon-multi")
site = daemon = None
watches = []


def watch_out(i):
    with open(os.path.join(tmp, "watch%d.out" % i)) as f:
        return [json.loads(l) for l in f if l.strip()]


try:
    site = Site(tmp, activity=0, poll=200)
    daemon = Daemon(tmp, site.config)
    fast = Client(daemon.sock, journal_rows=0)
    slow = Client(daemon.sock, journal_rows=0)
    links_up(fast)
    links_up(slow)
    start_id = max(fast.synced["last_id"], slow.synced["last_id"])
    for i in range(2):
        watches.append(subprocess.Popen([PORTIERCTL, "--socket", daemon.sock, "--json", "watch"],
                                        stdout=open(os.path.join(tmp, "watch%d.out" % i), "w"),
                                        stderr=open(os.path.join(tmp, "watch%d.err" % i), "w")))
    for i in range(2):
        wait_until(lambda: "watching" in open(os.path.join(tmp, "watch%d.err" % i)).read(), 10, "watch %d" % i)
        # each client is compared from when the last of them had joined
        m = re.search(r"from event #(\d+)", open(os.path.join(tmp, "watch%d.err" % i)).read())
        start_id = max(start_id, int(m.group(1)))

    cards, uids = [], []
    t0 = time.monotonic()
    end = t0 + SECONDS
    alarm_at, emergency_at, restore_at = t0 + SECONDS / 6, t0 + SECONDS / 3, t0 + 2 * SECONDS / 3
    em_result = restore_result = None
    alarm_id = None
    next_card = 7000000
    tick = 0
    while time.monotonic() < end:
        # 10 swipes/s on each panel, 2 presentations/s on the bus, all with their own number
        for panel, doors in (("Panel A", 4), ("Panel B", 2)):
            next_card += 1
            cards.append(next_card)
            site.control("%s: swipe door=%d card=%d granted=0" % (panel, 1 + next_card % doors, next_card))
        if tick % 5 == 0:
            uid = "U%08d" % (len(uids) + 1)
            uids.append(uid)
            site.control("Bus 1: present slave=%s probe=%d uid=%s" % (SLAVE, 1 + len(uids) % 2, uid))
        tick += 1
        fast.drain(0.1)
        if tick % 20 == 0:
            slow.drain(0.01)  # the slow one reads every two seconds
        now = time.monotonic()
        if em_result is None and now >= emergency_at:
            # the emergency from a third client, while the swipes go on
            p = subprocess.Popen([PORTIERCTL, "--socket", daemon.sock, "--json", "emergency", "on"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            while p.poll() is None:
                fast.drain(0.05)
            em_result = [json.loads(l) for l in p.stdout.read().splitlines() if l.strip()]
            if p.returncode != 0 or len(em_result) != 9 or not all(x["ok"] for x in em_result):
                fail("emergency on from a third client: rc %d %s" % (p.returncode, em_result))
        if alarm_id is None and now >= alarm_at:
            site.control("Panel A: force door=2")
            ev = fast.wait(lambda m: m.get("type") == "event" and m.get("severity") == "alarm"
                           and m.get("device") == "Panel A", 10, "the forced door")
            fast.msgs.insert(0, ev)
            alarm_id = ev["id"]
            rc, out, err = ctl("ack", str(alarm_id), "--comment", "patrol sent", sock=daemon.sock)
            if rc != 0:
                fail("ack from a third client: %d %s" % (rc, err))
        if restore_result is None and now >= restore_at:
            restore_result = slow.request({"op": "emergency-off"}, timeout=60)
            if restore_result["status"] != "ok":
                fail("restore from the slow client: %s" % restore_result)
    ok("%.0f s: %d card swipes and %d iButton presentations sent through the simulators" % (SECONDS, len(cards), len(uids)))

    # let the last events arrive everywhere
    time.sleep(2.0)
    fast.drain(1.0)
    slow.drain(1.0)
    last = max(m["id"] for m in fast.msgs if m.get("type") == "event" and m.get("id"))
    for i in range(2):
        wait_until(lambda: any(e["id"] >= last for e in watch_out(i)), 20, "watch %d to catch up" % i)

    # the journal: every swipe and presentation exactly once, no link drop, no gap
    rows, before = [], 0
    while True:
        req = {"op": "journal", "limit": 1000, "after_id": start_id}
        if before:
            req["before_id"] = before
        fast.request(req)
        page = [x for m in fast.progress if m["type"] == "rows" for x in m["rows"]]
        rows += page
        if len(page) < 1000:
            break
        before = page[-1]["id"]
    jcards = [r["card"] for r in rows if r["kind"] == "access" and r["card"] in set(cards)]
    juids = [r["uid"] for r in rows if r["kind"] == "nix1-access" and r["uid"] in set(uids)]
    if sorted(jcards) != sorted(cards) or sorted(juids) != sorted(uids):
        missing = set(cards) - set(jcards)
        fail("journal: %d/%d swipes (missing %s, twice %s), %d/%d presentations"
             % (len(set(jcards)), len(cards), sorted(missing)[:5],
                sorted({c for c in jcards if jcards.count(c) > 1})[:5], len(set(juids)), len(uids)))
    # a gap row of normal severity says events the real-time log missed were recovered, nothing lost
    drops = [r for r in rows if (r["kind"] == "link" and r["code_name"] != "up") or
             (r["kind"] == "gap" and r["severity"] != "normal")]
    if drops:
        fail("link drops or gaps during the run: %s" % [r["text"] for r in drops][:5])
    recovered = [r["text"] for r in rows if r["kind"] == "gap"]
    if recovered:
        print("note: %s" % "; ".join(recovered))
    ok("journal: every swipe and presentation exactly once (%d + %d); no link dropped, no gap" % (len(cards), len(uids)))

    # every client: the same events, each once
    journal_ids = sorted(r["id"] for r in rows)
    views = {"fast": [m for m in fast.msgs if m.get("type") == "event"],
             "slow": [m for m in slow.msgs if m.get("type") == "event"]}
    for i in range(2):
        views["watch %d" % i] = [e for e in watch_out(i) if e["id"] > start_id]
    for name, evs in views.items():
        ids = [e["id"] for e in evs if e.get("id")]
        if len(ids) != len(set(ids)):
            fail("%s got events twice" % name)
        mine = sorted(i for i in ids if start_id < i <= journal_ids[-1])
        if mine != journal_ids:
            fail("%s: %d events, the journal %d (missing %s)" % (name, len(mine), len(journal_ids),
                                                               sorted(set(journal_ids) - set(mine))[:5]))
        got_cards = sorted(e["card"] for e in evs if e["kind"] == "access" and e.get("card") in set(cards))
        if got_cards != sorted(cards):
            fail("%s: swipes %d of %d" % (name, len(got_cards), len(cards)))
    ok("%d clients (2 portierctl watch, a fast and a slow protocol client): the journal's %d events, each once"
       % (len(views), len(journal_ids)))

    # the emergency and the acknowledgement, the same for everyone
    for name, c in (("fast", fast), ("slow", slow)):
        ems = [m for m in c.msgs if m.get("type") == "emergency"]
        on = [m for m in ems if m["active"] and m["action"] == "emergency-on" and not m["running"]]
        if not on or on[-1]["confirmed"] != 9 or not any(m["running"] and 0 < m["confirmed"] < 9 for m in ems):
            fail("%s: emergency counts %s" % (name, [(m["confirmed"], m["running"]) for m in ems]))
        if ems[-1]["active"]:
            fail("%s: emergency still active at the end" % name)
        acks = [m for m in c.msgs if m.get("type") == "ack" and m["event"] == alarm_id]
        if len(acks) != 1 or acks[0]["by"] != "root":
            fail("%s: acknowledgement %s" % (name, acks))
    for i in range(2):
        texts = [e["text"] for e in watch_out(i) if e["kind"] in ("emergency", "operator")]
        if not any("emergency-on ok: 9 confirmed" in t for t in texts) or \
           not any("emergency-off ok: 9 confirmed" in t for t in texts) or \
           not any("patrol sent" in t for t in texts):
            fail("watch %d: emergency or acknowledgement missing: %s" % (i, texts[-6:]))
    ok("the emergency from a third client (9 of 9, live counts), its restore and the acknowledgement: seen alike by all")
finally:
    for w in watches:
        interrupt(w)
    cleanup(tmp, *(x for x in (daemon, site) if x))
