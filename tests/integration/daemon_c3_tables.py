#!/usr/bin/env python3
"""`portierctl c3 HOST table list|get|set|delete` against a panel portierd owns: through the daemon's panel-data
actions, with the exit status and output of direct mode against an identical simulator (text, --csv, --json,
refusals). A guard may read the tables, writing needs a technician; every request is audited with its table."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, cleanup, ctl, fail, need_root, ok, panel_data_audit, tmpdir,  # noqa: E402
                          twin_c3, write_files)


def masked(text):
    """Row counts of the transaction table differ between the two simulators (their own activity)."""
    text = re.sub(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}", "TIME", text)
    return "\n".join(l for l in text.splitlines() if not re.match(r'^(transaction|\{"name":"transaction")', l))


need_root()
tmp = tmpdir("daemon-c3-tables")
parts = []
try:
    site, twin, daemon, root, pa, pa2, both = twin_c3(tmp, parts, masked)
    sock = daemon.sock

    hol, usr, bad, badrow, upd = write_files(
        tmp, ("hol.csv", "Holiday,HolidayType,Loop\n20260704,2,1\n20261225,1,1\n"),
        ("user.csv", "Pin,CardNo,Name\n1,1234567,Ann\n2,7654321,Bob\n"),
        ("bad.csv", "Holiday,NoSuchField\n20260704,2\n"),
        ("badrow.csv", "Pin,CardNo,Name\n3,333,Cy\n4,4x4,Di\n"),
        # empty cells and left-out fields: the panel holds 0 / nothing there, the write reads back as written
        ("upd.csv", "Pin,CardNo,Name,UID\n1,1234567,Ann,\n2,7654322,Bob,\n5,555,Eve,\n6,,Fay,\n"))
    steps = [
        (["table", "list"], 0), (["--json", "table", "list"], 0), (["table", "set", "user", usr], 0),
        (["table", "get", "user"], 0), (["table", "get", "user", "--csv"], 0),
        (["--json", "table", "get", "user", "--where", "Pin=1"], 0),
        (["table", "get", "user", "--where", "Pin=1", "--csv"], 0),
        (["table", "get", "nosuch"], 1), (["--json", "table", "get", "nosuch"], 1),
        (["table", "set", "holiday", hol, "--dry-run"], 0), (["table", "set", "holiday", hol], 0),
        (["table", "get", "holiday", "--csv"], 0), (["table", "set", "holiday", hol], 0),
        (["table", "set", "holiday", bad], 2),
        (["table", "delete", "holiday", "--where", "Holiday=20260704", "--dry-run"], 0),
        (["table", "delete", "holiday", "--where", "Holiday=20260704"], 0),
        (["table", "delete", "holiday", "--where", "Holiday=20260704"], 2),
        (["--json", "table", "delete", "holiday", "--where", "Holiday=20261225"], 0),
        (["table", "get", "holiday"], 0), (["holidays", "list"], 0),
        (["--json", "table", "set", "user", upd, "--dry-run"], 0), (["table", "set", "user", upd, "--dry-run"], 0),
        (["--json", "table", "set", "user", upd], 0), (["--json", "table", "set", "user", upd], 0),
        (["table", "get", "user", "--csv"], 0),
        (["table", "set", "user", badrow], 2), (["--json", "table", "set", "user", badrow], 2),
        (["--json", "table", "set", "holiday", bad], 2), (["--json", "table", "set", "nosuch", hol], 1),
        (["table", "set", "nosuch", hol], 1), (["table", "delete", "nosuch", "--where", "a=1"], 1),
        (["--json", "table", "delete", "user", "--where", "Pin=5", "--dry-run"], 0),
        (["table", "delete", "user", "--where", "Pin=5"], 0),
        (["--json", "table", "delete", "user", "--where", "Pin=5"], 2),
        (["--json", "table", "get", "user"], 0), (["--json", "table", "get", "holiday"], 0),
        (["--json", "table", "get", "user", "--where", "Pin=99"], 0), (["table", "get", "user", "--where", "Pin=99"], 0),
        (["table", "get", "user", "--where", "NoField=1"], 2), (["--json", "table", "get", "user", "--where", "NoField=1"], 2),
    ]
    for args, rc in steps:
        both(*args, rc_want=rc)
    ok("%d table commands by name through portierd: the same exit status and output as direct mode" % len(steps))
    out = both("table", "get", "user", "--csv")[1]
    if "\n0,0,6,,0,0,0,Fay,0\n" not in out or "\n0,7654322,2,,0,0,0,Bob,0\n" not in out:
        fail("the user rows written with empty fields: %s" % out)
    ok("a user row with empty fields is held with 0 / nothing there and reads back as written (exit 0)")

    # ---- roles: a guard reads, a technician writes; every request audited with its table ----
    rc, out, err = ctl("c3", pa, "table", "get", "user", "--csv", sock=sock, as_user=AS_GUARD)
    if rc != 0 or ",1234567,1," not in out:
        fail("a guard's table get: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "table", "delete", "user", "--where", "Pin=1", sock=sock, as_user=AS_GUARD)
    if rc != 2 or "technician" not in err:
        fail("a guard's table delete: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "table", "get", "user", "--where", "Name=a b", sock=sock)
    if rc != 2 or "spaces" not in err:
        fail("a --where with a space through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("c3", pa, "table", "get", "user", "--csv", sock=sock)
    if rc != 0 or ",1234567,1," not in out:
        fail("the user table after the guard's refused delete: %d %s %s" % (rc, out, err))
    params = [x["params"] for x in panel_data_audit(root, 200)]
    for want in ("tables list", "table:user list Pin=1", "table:holiday set dry-run, ", "table:holiday set, ",
                 "table:holiday delete Holiday=20260704 dry-run", "table:holiday delete Holiday=20260704"):
        if not any(p.startswith(want) for p in params):
            fail("%r not in the audit: %s" % (want, params))
    ok("a guard reads tables by name and is refused deleting rows (audited as denied); every request in the audit")

    # ---- hand-written requests: refused by the daemon, never sent to the panel ----
    for settings, action, says in (
            ("table:user list Pin=1 dry-run", "panel-data-get", "table:NAME"), ("table:user set", "panel-data", "rows"),
            ("table:user delete", "panel-data", "table:NAME"), ("table:us-er list", "panel-data-get", "table:NAME"),
            ("tables list x", "panel-data-get", "table:NAME"), ("table:user set Pin=1", "panel-data", "table:NAME"),
            ("table:user delete Pin=\x01", "panel-data", "table:NAME"), ("table:user list", "panel-data", "table:NAME"),
            ("table:%s list" % ("u" * 32), "panel-data-get", "table:NAME"),
            ("table:user list Name=%s" % ("x" * 70), "panel-data-get", "table:NAME")):
        req = {"op": action, "target": "Panel A", "settings": settings}
        if "set" not in settings:
            req["data_b64"] = "UGluCjEK"  # rows where none belong change nothing
        r = root.request(req)
        if r.get("status") != "refused" or says not in r.get("error", ""):
            fail("%r was not refused: %s" % (settings, r))
    ok("malformed table requests sent by hand are refused by the daemon")
    root.close()
finally:
    cleanup(tmp, *reversed(parts))
