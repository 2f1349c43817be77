#!/usr/bin/env python3
"""kill -9 of portierd, twice, on a simulated site, with a `portierctl watch` client running all along.
During an emergency (one panel slow to answer, so the unlock is still in flight): restarted, the daemon shows the
emergency as active at once (snapshot of a new client), sends the unlock again to every emergency door until each
confirms (the simulator's doors released), and the restore then locks them. During an event flood: nothing
committed is lost (every event a client saw is in the journal after the restart), and the watch client, which
reconnected by itself both times, has every journal event of its time exactly once."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (PORTIERCTL, Client, Daemon, Site, cleanup, fail, interrupt, links_up, ok,  # noqa: E402
                          tmpdir, wait_until)

tmp = tmpdir("daemon-crash")
site = daemon = watch = None


def panel_doors(name):
    """The simulator's own view of a panel's doors: {'door1': 'released', ...}."""
    before = site.output()
    site.control("%s: status" % name)
    line = wait_until(lambda: next((l for l in site.output()[len(before):].splitlines()
                                    if l.startswith('panel "%s": ok' % name)), None), 10, "panel status")
    return dict(re.findall(r"(door\d)=\w+,(\w+),", line))


def watch_events():
    with open(os.path.join(tmp, "watch.out")) as f:
        return [json.loads(l) for l in f if l.strip()]


def journal_ids(c):
    ids, before = [], 0
    while True:
        req = {"op": "journal", "limit": 1000}
        if before:
            req["before_id"] = before
        c.request(req)
        page = [x["id"] for m in c.progress if m["type"] == "rows" for x in m["rows"]]
        ids += page
        if len(page) < 1000:
            return set(ids)
        before = page[-1]


try:
    site = Site(tmp, activity=0, poll=150)
    daemon = Daemon(tmp, site.config)
    c = Client(daemon.sock)
    links_up(c)
    watch = subprocess.Popen([PORTIERCTL, "--socket", daemon.sock, "--json", "watch"],
                             stdout=open(os.path.join(tmp, "watch.out"), "w"),
                             stderr=open(os.path.join(tmp, "watch.err"), "w"))
    wait_until(lambda: "watching" in open(os.path.join(tmp, "watch.err")).read(), 10, "watch to connect")

    # ---- kill -9 during an emergency ----
    site.control("Panel A: fault delay=4000")
    c.send({"op": "emergency-on", "id": 77})
    c.wait(lambda m: m.get("type") == "emergency" and m["active"] and m["confirmed"] >= 5, 20,
           "the fast doors to confirm")
    daemon.kill9()
    c.close()
    site.control("Panel A: fault none")
    daemon.start()
    n = Client(daemon.sock)
    em = n.snapshot["emergency"]
    if not em["active"] or em["by"] != "root":
        fail("emergency not resumed at once after kill -9: %s" % em)
    ok("kill -9 during the emergency: restarted with the emergency active (since %s, by %s)" % (em["since_us"], em["by"]))
    n.wait(lambda m: m.get("type") == "emergency" and m["active"] and m["confirmed"] == m["total"] == 9
           and m["retrying"] == 0, 60, "every door confirmed after the restart")
    doors = panel_doors("Panel A")
    if not set(doors.values()) <= {"released", "normalopen"}:
        fail("Panel A doors after the resumed emergency: %s" % doors)
    n.wait(lambda m: m.get("type") == "event" and "emergency resumed after a restart" in m.get("text", ""), 10,
           "the resume event")
    ok("every emergency door unlocked again and confirmed (the slow panel's doors open in the simulator)")
    r = n.request({"op": "emergency-off"})
    if r["status"] != "ok":
        fail("restore after the resume: %s" % r)
    doors = panel_doors("Panel A")
    if set(doors.values()) != {"locked"}:
        fail("Panel A doors after the restore: %s" % doors)
    ok("restore after the crash: ok, the panel's doors locked")

    # ---- kill -9 during an event flood ----
    stop_flood = False
    seen_live = set()
    cards = iter(range(500000, 600000))
    t_end = time.monotonic() + 3.0
    while time.monotonic() < t_end:
        for _ in range(20):
            site.control("Panel B: swipe door=%d card=%d" % (1 + next(cards) % 2, next(cards)))
        n.drain(0.05)
    seen_live = {m["id"] for m in n.msgs if m.get("type") == "event" and m.get("id")}
    daemon.kill9()
    n.close()
    for _ in range(100):
        site.control("Panel A: swipe door=3 card=%d" % next(cards))
    daemon.start()
    c = Client(daemon.sock)
    links_up(c)
    for _ in range(100):
        site.control("Panel B: swipe door=1 card=%d" % next(cards))
    time.sleep(2.0)
    ids = journal_ids(c)
    lost = seen_live - ids
    if lost:
        fail("%d events a client saw are not in the journal after kill -9: %s" % (len(lost), sorted(lost)[:10]))
    ok("kill -9 during a flood: the %d events clients saw before it are all in the journal" % len(seen_live))

    # the watch client reconnected by itself (twice) and has every journal event of its time exactly once
    def settled():
        w = [e["id"] for e in watch_events()]
        return w and w[-1] == max(ids) and w
    wait_until(settled, 20, "the watch client to catch up")
    w = [e["id"] for e in watch_events()]
    if len(w) != len(set(w)):
        dups = sorted({i for i in w if w.count(i) > 1})
        fail("the watch client got events twice: %s" % dups[:10])
    first = min(w)
    want = {i for i in ids if i >= first}
    missing = want - set(w)
    if missing:
        fail("the watch client misses %d journal events: %s" % (len(missing), sorted(missing)[:10]))
    err = open(os.path.join(tmp, "watch.err")).read()
    if err.count("reconnecting") < 2 or err.count("watching") < 3:
        fail("the watch client did not reconnect by itself twice: %s" % err)
    ok("portierctl watch reconnected by itself after each kill -9 and has all %d journal events of its time, once"
       % len(want))
finally:
    if watch:
        interrupt(watch)
    cleanup(tmp, *(x for x in (daemon, site) if x))
