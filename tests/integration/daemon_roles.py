#!/usr/bin/env python3
"""Roles are decided by portierd from the caller's Unix identity, whatever the client sends. Clients run as other
users with setpriv (as root): nobody without groups is a guard, nobody with group dialout an operator, root a
technician. A guard's portierctl cannot open a door, start the emergency, reload or reach a panel or bus with `portierctl c3` / `nix1`; a guard's hand-written JSON
cannot either (nor slave settings, files, provisioning, slave reads, cancel-alarm), even naming another user or
role in the request or asking for a higher role in the hello; every refusal is in the audit trail as denied. An
operator opens doors but cannot reload or read slaves; root with --readonly is a guard; a user outside the
socket's group cannot connect at all."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, AS_OPERATOR, Client, Daemon, Site, cleanup, ctl, fail, links_up,  # noqa: E402
                          need_root, ok, raw_session, tmpdir)

need_root()
tmp = tmpdir("daemon-roles")
site = daemon = None
try:
    site = Site(tmp)
    daemon = Daemon(tmp, site.config)
    sock = daemon.sock
    root = Client(sock)
    links_up(root)
    if os.stat(sock).st_mode & 0o777 != 0o660 or os.stat(sock).st_gid != 65534:
        fail("socket mode/group: %o gid %d" % (os.stat(sock).st_mode & 0o777, os.stat(sock).st_gid))

    denied = 0
    # ---- portierctl as a guard ----
    rc, out, err = ctl("status", sock=sock, as_user=AS_GUARD)
    if rc != 0 or "as nobody (guard)" not in out:
        fail("guard status: %d %s %s" % (rc, out, err))
    for args in (["door", "open", "Main entrance", "3"], ["emergency", "on"], ["door", "hold", "Shed"], ["reload"]):
        rc, out, err = ctl(*args, sock=sock, as_user=AS_GUARD)
        if rc != 2 or "needs the" not in err or "nobody is guard" not in err:
            fail("guard %s: rc %d: %s %s" % (args, rc, out, err))
        denied += 1
    root.drain(0.5)
    if any(m.get("type") == "action" for m in root.msgs):
        fail("a denied action was shown to the others as running")
    # a panel's own commands through the daemon: technicians only, even by the panel's address
    with open(site.config) as f:
        pa = "127.0.0.1:%s" % [l.split("=")[1].strip(" ;") for l in f.read().splitlines()
                               if l.strip().startswith("port = ") and '"' not in l][0]
    pty = site.bus_port()
    for args in (["c3", pa, "door", "open", "1", "3"], ["c3", pa, "info"],
                 ["nix1", pty, "--slave", "270100000000006B", "lock", "1", "on"]):
        rc, out, err = ctl(*args, sock=sock, as_user=AS_GUARD)
        if rc != 2 or "portierd:" not in err or "technician" not in err:
            fail("guard %s: rc %d: %s %s" % (args, rc, out, err))
        denied += 1
    ok("portierctl as a guard: status works, door open / emergency / hold / reload, portierctl c3 on portierd's "
       "panel and portierctl nix1 on its bus denied (exit 2)")

    # ---- hand-written JSON as a guard ----
    reqs = [
        {"op": "hello", "id": 1, "proto": 1, "role": "technician", "readonly": False},
        {"op": "door-open", "id": 2, "target": "Main entrance", "value": 5, "user": "root", "role": "technician"},
        {"op": "emergency-on", "id": 3, "as": "root"},
        {"op": "slave-set", "id": 4, "target": "Yard", "settings": "LOCK_0=1"},
        {"op": "slave-file-put", "id": 5, "target": "Yard", "name": "KEYS.TXT", "data_b64": "aGVsbG8K"},
        {"op": "slave-provision", "id": 6, "target": "Shed"},
        {"op": "slave-get", "id": 7, "target": "Yard"},
        {"op": "slave-files", "id": 8, "target": "Yard"},
        {"op": "slave-file-get", "id": 9, "target": "Yard", "name": "KEYS.TXT"},
        {"op": "reload-config", "id": 10},
        {"op": "cancel-alarm", "id": 11, "target": "Panel A"},
        {"op": "emergency-off", "id": 12},
        {"op": "door-open", "id": 13, "target": "Main entrance"},
        {"op": "raw", "id": 14, "device": "Panel A", "command": 4, "payload_hex": "7e53657269616c4e756d626572"},
        {"op": "raw", "id": 15, "device": "Bus 1", "slave": "270100000000006B", "line": "Nl 1\t1"},
    ]
    msgs = raw_session(sock, reqs, as_user=AS_GUARD)
    greet = msgs[0]
    if greet["role"] != "guard" or greet["user"] != "nobody":
        fail("greeting for nobody: %s" % greet)
    hello = [m for m in msgs if m.get("type") == "result" and m.get("id") == 1][0]
    if hello["role"] != "guard":
        fail("a client raised its own role: %s" % hello)
    if not any(m.get("type") == "notice" and "cannot raise its own role" in m.get("text", "") for m in msgs):
        fail("no notice for asking a higher role")
    for r in reqs[1:]:
        res = [m for m in msgs if m.get("type") == "result" and m.get("id") == r["id"]][0]
        if res["status"] != "denied":
            fail("guard %s: %s" % (r["op"], res))
        denied += 1
    ok("hand-written JSON as a guard: %d state changes and slave reads denied, a higher role in the hello ignored"
       % (len(reqs) - 1))

    # ---- an operator, a technician reading only, a user outside the socket's group ----
    rc, out, err = ctl("door", "open", "Back door", "2", sock=sock, as_user=AS_OPERATOR)
    if rc != 0 or "Back door: ok" not in out:
        fail("operator door open: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("reload", sock=sock, as_user=AS_OPERATOR)
    if rc != 2 or "needs the technician role" not in err:
        fail("operator reload: %d %s" % (rc, err))
    denied += 1
    msgs = raw_session(sock, [{"op": "hello", "id": 1, "proto": 1}, {"op": "slave-get", "id": 2, "target": "Yard"}],
                       as_user=AS_OPERATOR)
    if [m for m in msgs if m.get("type") == "result" and m.get("id") == 2][-1]["status"] != "denied":
        fail("operator slave-get not denied")
    denied += 1
    rc, out, err = ctl("--readonly", "door", "open", "Back door", sock=sock)
    if rc != 2 or "root is guard" not in err:
        fail("root --readonly: %d %s" % (rc, err))
    denied += 1
    rc, out, err = ctl("status", sock=sock, as_user=["setpriv", "--reuid", "65534", "--regid", "1", "--clear-groups"])
    if rc != 3 or "Permission denied" not in err:
        fail("a user outside the socket's group: %d %s %s" % (rc, out, err))
    # a socket in a directory the caller cannot enter: said so, not "not a socket"
    private = os.path.join(tmp, "private")
    os.mkdir(private, 0o700)
    hidden = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hidden.bind(os.path.join(private, "portierd.sock"))
    rc, out, err = ctl("status", sock=os.path.join(private, "portierd.sock"), as_user=AS_GUARD)
    hidden.close()
    if rc != 3 or "Permission denied" not in err or "not a socket" in err:
        fail("a socket the caller cannot reach: %d %s %s" % (rc, out, err))
    ok("operator: door open ok, reload and slave reads denied; root --readonly is a guard; other groups cannot connect"
       " (nor reach a socket in a directory closed to them: said so)")

    # ---- every refusal audited ----
    rows = []
    before = 0
    while True:
        req = {"op": "audit", "limit": 1000}
        if before:
            req["before_id"] = before
        r = root.request(req)
        page = [x for m in root.progress if m["type"] == "rows" for x in m["rows"]]
        rows += page
        if len(page) < 1000:
            break
        before = page[-1]["id"]
    refused = [x for x in rows if x["result"] == "denied"]
    if len(refused) != denied:
        fail("%d refusals made, %d denied rows: %s" % (denied, len(refused), [(x["user"], x["action"]) for x in refused]))
    if any(x["user"] not in ("nobody", "root") or x["role"] != "guard" and x["user"] == "nobody" and
           x["action"] in ("door-open", "emergency-on") for x in refused):
        fail("a denied row with the wrong user or role: %s" % refused)
    if not any(x["action"] == "door-open" and x["user"] == "nobody" and x["target"] == "Main entrance" and
               x["params"] == "seconds=3" for x in refused):
        fail("the guard's denied door-open does not say what was asked (seconds=3): %s" %
             [(x["action"], x["target"], x["params"]) for x in refused if x["action"] == "door-open"])
    ops = {x["action"] for x in refused}
    for want in ("door-open", "emergency-on", "slave-set", "slave-file-put", "slave-provision", "slave-get",
                 "slave-files", "slave-file-get", "reload-config", "cancel-alarm", "emergency-off", "door-hold",
                 "raw"):
        if want not in ops:
            fail("no denied audit row for %s: %s" % (want, sorted(ops)))
    ok("every refusal audited as denied with the real user and role (%d rows)" % denied)
    root.close()
finally:
    cleanup(tmp, *(x for x in (daemon, site) if x))
