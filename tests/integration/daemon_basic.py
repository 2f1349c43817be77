#!/usr/bin/env python3
"""portierd on a simulated site (two C3 panels, one NiX1 bus) with two protocol clients: the daemon's hello, the
snapshot (site without passwords, devices, outputs), every device up; a door action by one client seen by the other
(action, output and operator event); an alarm acknowledged by one client gone for both; the emergency from one
client with live counts at the other, then restored; a reconnect resumed from a journal id gets exactly the missed
events; journal and audit queries; a bad configuration on SIGHUP leaves the running one (notice to every client),
a good one is applied without dropping a link; SIGTERM says bye to every client and exits 0."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import Client, Daemon, Site, cleanup, ctl, fail, links_up, ok, tmpdir, wait_until  # noqa: E402

tmp = tmpdir("daemon-basic")
site = daemon = None
try:
    site = Site(tmp)
    daemon = Daemon(tmp, site.config)
    a = Client(daemon.sock, journal_rows=5)
    b = Client(daemon.sock)
    g = a.greeting
    if g["proto"] != 1 or g["user"] != "root" or g["role"] != "technician" or g["site"] != "Daemon test":
        fail("daemon hello: %s" % g)
    snap = a.snapshot
    names = [d["name"] for d in snap["devices"]]
    if names != ["Panel A", "Panel B", "Bus 1"] or len(snap["outputs"]) != 10:
        fail("snapshot devices/outputs: %s %d" % (names, len(snap["outputs"])))
    with open(site.config) as f:
        conf = f.read()
    if "password" in str(snap["site"]["panels"]):
        fail("a password field in the snapshot")
    if a.synced["replayed"] > 5:
        fail("journal_rows 5 but %d replayed" % a.synced["replayed"])
    ok("hello, snapshot (3 devices, 10 outputs, no password), synced")
    links_up(a)
    links_up(b)
    ok("every device up in both clients")

    # one owner per device: direct mode and a raw bus command refuse what portierd owns, naming it
    rc, out, err = ctl("--direct", "-c", site.config, "status")
    if rc != 3 or "is owned by pid %d (portierd)" % daemon.proc.pid not in err or "use it" not in err:
        fail("direct mode against devices portierd owns: %d %s %s" % (rc, out, err))
    pty = site.bus_port()
    rc, out, err = ctl("nix1", pty, "--slave", "270100000000006B", "status")
    if rc == 0 or "is in use by pid %d (portierd)" % daemon.proc.pid not in err:
        fail("a second master on portierd's bus: %d %s %s" % (rc, out, err))
    b.drain(0.5)
    if any(m.get("type") == "device" and m.get("link") != "up" for m in b.msgs):
        fail("a refused direct owner disturbed a link")
    ok("--direct and a raw bus command refused (owned by portierd, serial port locked); no link disturbed")

    # a technician's raw requests go through portierd instead (audited); what would steal its work is refused
    # portierctl c3 against a panel portierd owns: the same command through the daemon, printed as in direct mode
    pa = "127.0.0.1:%s" % [l.split("=")[1].strip(" ;") for l in conf.splitlines()
                           if l.strip().startswith("port = ") and '"' not in l][0]
    rc, out, err = ctl("c3", pa, "info", sock=daemon.sock)
    if rc != 0 or not re.search(r"^serial +\S+", out, re.M) or "dialect   portierd's" not in out:
        fail("portierctl c3 info through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "params", "get", "LockCount", "~SerialNumber", sock=daemon.sock)
    if rc != 0 or not re.search(r"^LockCount=\d+$", out, re.M) or "~SerialNumber=" not in out:
        fail("portierctl c3 params get through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "time", "get", sock=daemon.sock)
    if rc != 0 or not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", out.strip()):
        fail("portierctl c3 time get through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "door", "open", "2", "2", sock=daemon.sock)
    if rc != 0 or not out.startswith("ok: "):
        fail("portierctl c3 door open through portierd: %d %s %s" % (rc, out, err))
    # portierctl nix1 PORT against portierd's bus: the single-request commands through the daemon too
    rc, out, err = ctl("nix1", pty, "--slave", "270100000000006B", "version", sock=daemon.sock)
    if rc != 0 or not out.startswith("270100000000006B "):
        fail("portierctl nix1 version through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("nix1", pty, "--slave", "270100000000006B", "lock", "1", "get", sock=daemon.sock)
    if rc != 0 or not out.startswith("270100000000006B "):
        fail("portierctl nix1 lock get through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("--json", "nix1", pty, "--slave", "270100000000006B", "lock", "1", "get", sock=daemon.sock)
    if rc != 0 or '"slave": "270100000000006B"' not in out.replace('":"', '": "'):
        fail("portierctl --json nix1 lock get through portierd: %d %s %s" % (rc, out, err))
    # events: the daemon's stream of the panel (a second reader of its ring would take events from the journal)
    rc, out, err = ctl("c3", pa, "events", sock=daemon.sock)
    if rc != 0 or err:
        fail("portierctl c3 events against portierd's panel: %d %s %s" % (rc, out, err))
    b.drain(0.5)
    if any(m.get("type") == "device" and m.get("link") != "up" for m in b.msgs):
        fail("portierctl c3 through portierd disturbed a link")
    rc, out, err = ctl("raw", "Panel A", "--command", "4", "--payload", b"~SerialNumber".hex(), sock=daemon.sock)
    if rc != 0 or not out.startswith("reply 0xC8: ") or bytes.fromhex(out.split(": ")[1].strip())[:13] != b"~SerialNumber":
        fail("raw C3 get-parameter through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("raw", "Bus 1", "--slave", "270100000000006B", "--line", "Qs", sock=daemon.sock)
    if rc != 0 or not out.startswith("reply 00"):
        fail("raw NiX1 Qs through portierd: %d %s %s" % (rc, out, err))
    for args, why in ((["raw", "Panel A", "--command", "11"], "real-time log"),
                      (["raw", "Panel A", "--command", "25", "--payload", "01"], "new-record pointer"),
                      (["raw", "Panel A", "--command", "13"], "big-data transfer"),
                      (["raw", "Bus 1", "--slave", "270100000000006B", "--line", "Qe"], "access log")):
        rc, out, err = ctl(*args, sock=daemon.sock)
        if rc != 2 or why not in err:
            fail("raw %s not refused: %d %s %s" % (args, rc, out, err))
    r = a.request({"op": "audit", "search": "raw", "limit": 20})
    rows = [x for m in a.progress if m["type"] == "rows" for x in m["rows"] if x["action"] == "raw"]
    if sorted(x["result"] for x in rows) != ["failed"] * 4 + ["ok"] * 9 or \
            not any("reply 0xC8" in x["detail"] for x in rows):
        fail("raw audit rows: %s" % rows)
    ok("portierctl c3 info / params get / time get / door open and portierctl nix1 version / lock get through portierd on its panel (events: the daemon's stream of it"
       "); raw C3 and NiX1 requests through portierd answered; every one audited; an RT-log or access-log read "
       "refused, and so are a move of the new-record pointer and a big-data transfer's step")

    # a door action by a, seen by b
    r = a.request({"op": "door-open", "target": "Main entrance", "value": 3})
    if r["status"] != "ok" or r["results"][0]["output"] != "Main entrance" or r["audit_id"] <= 0:
        fail("door-open: %s" % r)
    b.wait(lambda m: m.get("type") == "action" and m.get("op") == "door-open" and m.get("finished")
           and m.get("user") == "root", what="the door action")
    b.wait(lambda m: m.get("type") == "event" and m.get("kind") == "operator" and "door-open Main entrance" in m["text"],
           what="the operator event")
    b.wait(lambda m: m.get("type") == "output" and m.get("index") == 0 and m.get("progress") == "ok",
           what="the door's output change")
    ok("door-open by one client: result with audit id; the other saw the action, the event and the door")

    # an alarm: forced door on Panel B, acknowledged by b, gone for a
    site.control("Panel B: force door=1")
    ev = a.wait(lambda m: m.get("type") == "event" and m.get("severity") == "alarm" and m.get("device") == "Panel B",
                what="the forced-door alarm")
    b.wait(lambda m: m.get("type") == "event" and m.get("id") == ev["id"], what="the same alarm")
    c = Client(daemon.sock)
    if not any(x["id"] == ev["id"] for x in c.snapshot["alarms"]):
        fail("open alarm not in a new client's snapshot")
    r = b.request({"op": "ack", "target": ev["id"], "comment": "checked by the patrol"})
    if r["status"] != "ok":
        fail("ack: %s" % r)
    for cl in (a, c):
        cl.wait(lambda m: m.get("type") == "ack" and m.get("event") == ev["id"] and m.get("by") == "root",
                what="the acknowledgement")
    a.wait(lambda m: m.get("type") == "event" and "checked by the patrol" in m.get("text", ""), what="the comment")
    c.close()
    d = Client(daemon.sock)
    if any(x["id"] == ev["id"] for x in d.snapshot["alarms"]):
        fail("acknowledged alarm still open in a new snapshot")
    d.close()
    ok("alarm acknowledged by one client: gone for every client and from the snapshot")

    # the emergency from a, live at b
    r = a.request({"op": "emergency-on"})
    if r["status"] != "ok" or r["confirmed"] != 9 or r["total"] != 9:
        fail("emergency-on: %s" % {k: r.get(k) for k in ("status", "confirmed", "total", "error")})
    seen = []
    b.wait(lambda m: m.get("type") == "emergency" and (seen.append(m["confirmed"]) or True) and m["active"]
           and not m["running"] and m["confirmed"] == 9, what="the emergency counts")
    if len(set(seen)) < 3:
        fail("the other client saw no live counts: %s" % seen)
    e = Client(daemon.sock)
    if not e.snapshot["emergency"]["active"] or e.snapshot["emergency"]["by"] != "root":
        fail("emergency not in a new snapshot: %s" % e.snapshot["emergency"])
    e.close()
    r = b.request({"op": "emergency-off"})
    if r["status"] != "ok":
        fail("emergency-off: %s" % r)
    a.wait(lambda m: m.get("type") == "emergency" and not m["active"] and not m["running"], what="restored")
    ok("emergency on from one client (9 doors, live counts at the other), restored from the other")

    # resume after a reconnect: exactly the events missed
    last = max([m["id"] for m in a.msgs if m.get("type") == "event" and m.get("id")] + [a.synced["last_id"]])
    a.close()
    for card in (101, 102, 103):
        site.control("Panel A: swipe door=2 card=%d" % card)
    b.wait(lambda m: m.get("type") == "event" and m.get("card") == 103, what="the third swipe")
    a = Client(daemon.sock, resume=last)
    replayed = [m for m in a.msgs if m.get("type") == "event" and m.get("replay")]
    if a.synced["replayed"] != len(replayed):
        fail("synced says %d replayed, %d came" % (a.synced["replayed"], len(replayed)))
    cards = [m["card"] for m in replayed if m["kind"] == "access" and m["card"] in (101, 102, 103)]
    ids = [m["id"] for m in replayed]
    if cards != [101, 102, 103] or any(i <= last for i in ids) or ids != sorted(ids) or len(set(ids)) != len(ids):
        fail("replay after %d: cards %s ids %s" % (last, cards, ids))
    ok("reconnect resumed from #%d: %d events replayed in order, the three swipes once" % (last, len(replayed)))

    # queries
    r = a.request({"op": "journal", "search": "card 102", "limit": 10})
    rows = [x for m in a.progress if m["type"] == "rows" for x in m["rows"]]
    if r["status"] != "ok" or r["count"] != len(rows) or not rows:
        fail("journal query: %s %d" % (r, len(rows)))
    r = a.request({"op": "audit", "limit": 10})
    rows = [x for m in a.progress if m["type"] == "rows" for x in m["rows"]]
    acts = [x["action"] for x in rows]
    for want in ("door-open", "ack", "emergency-on", "emergency-off"):
        if want not in acts:
            fail("audit lacks %s: %s" % (want, acts))
    r = a.request({"op": "journal", "limit": 0})
    if r["status"] != "error":
        fail("limit 0 accepted: %s" % r)
    ok("journal and audit queries through the daemon")

    # reload: a bad file is refused and leaves the running configuration; a good one keeps the links
    with open(site.config) as f:
        good = f.read()
    with open(site.config, "w") as f:
        f.write(good + "\nthis is not libconfig\n")
    daemon.send_signal(signal.SIGHUP)
    n = b.wait(lambda m: m.get("type") == "notice" and m.get("level") == "error", what="the reload refusal")
    if "reload refused" not in n["text"] or "portier.conf" not in n["text"]:
        fail("reload notice: %s" % n)
    with open(site.config, "w") as f:
        f.write(good.replace('roles = {', 'roles = {\n  # reloaded\n', 1))
    a.msgs.clear()
    daemon.send_signal(signal.SIGHUP)
    a.recv_type("snapshot")
    a.drain(1.0)
    if any(m.get("type") == "device" and m.get("link") != "up" for m in a.msgs):
        fail("a link dropped on a reload with the same devices")
    r = a.request({"op": "audit", "search": "reload", "limit": 5})
    rows = [x for m in a.progress if m["type"] == "rows" for x in m["rows"]]
    results = sorted(x["result"] for x in rows if x["action"] == "reload-config")
    if results != ["failed", "ok"]:
        fail("reload audit rows: %s" % rows)
    ok("SIGHUP: a bad file refused with file:line to every client (audited), a good one applied without a reconnect")

    # SIGTERM: bye to everyone, exit 0
    daemon.send_signal(signal.SIGTERM)
    for cl in (a, b):
        m = cl.recv_type("bye")
        if m["reason"] != "portierd stopping":
            fail("bye: %s" % m)
    rc = daemon.stop(None)
    if rc != 0:
        fail("portierd exit status %s" % rc)
    ok("SIGTERM: bye to every client, exit 0")
finally:
    cleanup(tmp, *(x for x in (daemon, site) if x))
