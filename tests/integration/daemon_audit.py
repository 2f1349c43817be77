#!/usr/bin/env python3
"""An audit trail you can trust: portierd's journal and state are its own (files not readable by others); every
audit row is also written to an independent copy (the system journal, or portierd's log without one); `portierctl
audit --verify` holds on an untouched trail, through the daemon and reading the file directly; a guard's denied
door-open edited into "ok", or a row deleted, is reported with the first broken link (exit 1), and the independent
copy still shows the row as it was written."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, Client, Daemon, Site, cleanup, ctl, fail, links_up, need_root,  # noqa: E402
                          ok, tmpdir)

need_root()
tmp = tmpdir("daemon-audit")
site = daemon = None
try:
    site = Site(tmp)
    daemon = Daemon(tmp, site.config)
    c = Client(daemon.sock)
    links_up(c)
    db = os.path.join(tmp, "sim", "journal.db")
    for path in (db, daemon.state):
        if os.stat(path).st_mode & 0o077:
            fail("%s is open to others: mode %o" % (path, os.stat(path).st_mode & 0o777))
    ok("the journal and the state directory are portierd's alone")

    ctl("door", "open", "Main entrance", "2", sock=daemon.sock)
    rc, out, err = ctl("door", "open", "Back door", sock=daemon.sock, as_user=AS_GUARD)
    if rc != 2:
        fail("guard door open: %d %s" % (rc, err))
    ctl("emergency", "on", sock=daemon.sock)
    ctl("emergency", "off", sock=daemon.sock)
    # an acknowledgement that fails (no such event) is exit 1, as in direct mode: no device was unreachable
    rc, out, err = ctl("ack", "99999999", sock=daemon.sock)
    if rc != 1 or "no event 99999999" not in err:
        fail("ack of an unknown event through portierd: %d %s %s" % (rc, out, err))
    rc, out, err = ctl("audit", "--verify", sock=daemon.sock)
    if rc != 0 or "audit trail ok" not in out:
        fail("verify of an untouched trail: %d %s %s" % (rc, out, err))
    rc, out2, err = ctl("audit", "--verify", "--db", db)
    if rc != 0 or "audit trail ok" not in out2:
        fail("direct verify of an untouched trail: %d %s %s" % (rc, out2, err))
    ok("audit --verify holds through portierd and on the file: %s" % out.strip())

    # the guard's refusal edited into a success, behind portier's back
    con = sqlite3.connect(db)
    row = con.execute("SELECT id FROM audit WHERE user='nobody' AND result='denied'").fetchone()
    con.execute("UPDATE audit SET result='ok', detail='Back door: ok' WHERE id=?", row)
    con.commit()
    rc, out, err = ctl("audit", "--verify", sock=daemon.sock)
    if rc != 1 or ("audit row #%d was changed" % row[0]) not in out or "first broken link: #" not in out:
        fail("an edited row not reported: %d %s %s" % (rc, out, err))
    ok("an edited row is reported: %s" % " / ".join(out.strip().splitlines()))
    log = daemon.read_log()
    if ("audit #%d completed" % row[0]) not in log or "nobody (guard) door-open Back door" not in log or \
            "denied" not in log.split("audit #%d completed" % row[0])[1].splitlines()[0]:
        fail("the independent copy does not show the row as written")
    ok("the independent copy (portierd's log here; the system journal under systemd) still says denied")

    # a deleted row
    con.execute("UPDATE audit SET result='denied', detail=? WHERE id=?",
                ("door-open needs the operator role; nobody is guard", row[0]))
    con.commit()
    first = con.execute("SELECT min(id) FROM audit WHERE action='emergency-on'").fetchone()[0]
    con.execute("DELETE FROM audit WHERE id=?", (first,))
    con.commit()
    con.close()
    rc, out, err = ctl("--json", "audit", "--verify", sock=daemon.sock)
    if rc != 1 or ('"bad_audit_id":%d' % first) not in out or "was deleted" not in out:
        fail("a deleted row not reported: %d %s %s" % (rc, out, err))
    ok("a deleted row is reported (JSON): %s" % out.strip())
finally:
    cleanup(tmp, *(x for x in (daemon, site) if x))
