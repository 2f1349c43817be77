"""Helpers for the C3 python tests: `portier-sim c3` panels on free loopback ports with a control socket, and the
comparison of a journal with the panels' own transaction tables."""
import calendar
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter

from ports import free_port_block
from simctl import control_line
from portierd_lib import PORTIER_SIM, PORTIERCTL, fail, wait_until


class Panel:
    """portier-sim c3 (C3-200 unless extra says otherwise) on a free port with a control socket; with panels=N,
    N panels on the ports port .. port+N-1."""

    def __init__(self, tmp, name, extra=(), panels=1):
        # one panel binds port 0 itself (no window in which another test takes the port); N panels need N ports
        # in a row
        self.port = 0 if panels == 1 else free_port_block(panels)
        self.ctl = os.path.join(tmp, name + ".ctl")
        self.log = open(os.path.join(tmp, name + ".log"), "w+")
        model = [] if "--model" in extra else ["--model", "C3-200"]
        self.proc = subprocess.Popen([PORTIER_SIM, "c3", "--port", str(self.port), "--control", self.ctl, "--seed",
                                      "11", "--panels", str(panels)] + model + list(extra),
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        wait_until(lambda: os.path.exists(self.ctl) and self._listening(), 20, "the simulator's control socket and port")
        self.port = self._listening()

    def _listening(self):
        """The first panel's port from the simulator's 'listening on' line (0 until it is written)."""
        with open(self.log.name) as f:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
        return int(m.group(1)) if m else 0

    def control(self, line):
        reply = control_line(self.ctl, line)
        if not reply.startswith("ok"):
            fail("simulator control '%s': %s" % (line, reply))
        return reply

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def panel_config(path, panel, site, role, journal=None):
    """A site of one C3-200 panel "Panel A" (doors Front and Back, polled every 200 ms) on the simulator panel's
    port, written to path (mode 600): the site's name, its default role and its journal (None: the default)."""
    with open(path, "w") as f:
        f.write('site = { name = "%s"; };\n'
                'panels = ( { name = "Panel A"; host = "127.0.0.1"; port = %d; model = "C3-200"; poll_ms = 200;\n'
                '  doors = ( "Front", "Back" ); } );\n'
                'roles = { default = "%s"; };\n' % (site, panel.port, role))
        if journal:
            f.write('journal = { path = "%s"; };\n' % journal)
    os.chmod(path, 0o600)
    return path


# ---- a journal against the panels' transaction tables ----

def run_json(args):
    p = subprocess.run([PORTIERCTL, "--json"] + args, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        fail("portierctl %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr[-2000:]))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def history(port):
    """The transaction table of the panel on port, oldest first (nothing else may own it: one client at a time)."""
    return run_json(["c3", "127.0.0.1:%d" % port, "events", "--history"])


def journal(db, device="Panel A"):
    rows = run_json(["journal", "--db", db, "--device", device, "--limit", "1000000"])
    return sorted(rows, key=lambda r: r["id"])


def key_txn(t):
    return (t["door"], t["event"], t["card"], t["pin"], t["verify"], t["inout"])


def txn_epoch(t):
    """A table row's time as the journal's device_time (the panel's clock read as UTC)."""
    return calendar.timegm(time.strptime(t["time"], "%Y-%m-%dT%H:%M:%S"))


def key_ev(e):
    """The journal's JSON carries card, PIN, verify and in/out for access events only (None: any)."""
    return (e["door_no"], e["code"], e.get("card"), e.get("pin"), e.get("verify"), e.get("inout"))


def same(a, b):
    return len(a) == len(b) and all(all(x is None or y is None or x == y for x, y in zip(p, q)) for p, q in zip(a, b))


def panel_events(rows):
    """The journal rows that are rows of the panel's table (door changes read from status records, code 255,
    are not)."""
    return [r for r in rows if r["kind"] in ("access", "door", "system") and 0 <= r.get("code", -1) < 255
            and r.get("device_time", 0) > 0]


def since_first_contact(rows, txns):
    """The journal's panel events and the table's rows after the first contact (whose row says how many table rows
    were there before, not read): (events, rows), which must be the same, once each and in order. Rows from before
    that were still in the panel's real-time ring are shown live at the first contact: the journal may begin
    with the last of them; they are left out."""
    firsts = [r["text"] for r in rows if "first contact" in r["text"]]
    if len(firsts) != 1:
        fail("first contact rows: %s" % firsts)
    before = int(firsts[0].split("first contact with this panel: ")[1].split()[0])
    want = [t for t in txns if t["index"] > before]
    evs = panel_events(rows)
    # with the time of the row: fields the journal leaves out of non-access events match anything, so without it
    # the first events after the contact could pass for the last rows before it (and be left out of the count)
    older = [key_txn(t) + (txn_epoch(t),) for t in txns if t["index"] <= before]
    k = max(m for m in range(min(len(evs), len(older)) + 1)
            if same([key_ev(e) + (e.get("device_time"),) for e in evs[:m]], older[len(older) - m:]))
    return evs[k:], want


def txn_text(t):
    return "row #%d %s door %d event %d card %d pin %d verify %d inout %d" % (
        t["index"], t["time"], t["door"], t["event"], t["card"], t["pin"], t["verify"], t["inout"])


def ev_text(e):
    return "journal #%s device_time=%s (%s) door %s event %s card %s%s: %s" % (
        e["id"], e.get("device_time"), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e.get("device_time") or 0)),
        e["door_no"], e["code"], e.get("card"), " recovered" if e.get("recovered") else "", e["text"])


def unpaired(evs, want):
    """(table rows with no journal event, journal events with no table row): paired by time and content, identical
    rows of one second with identical events in order."""
    pool = {}
    for e in evs:
        pool.setdefault((e.get("device_time"), e["door_no"], e["code"]), []).append(e)
    missing = []
    for t in want:
        cands = pool.get((txn_epoch(t), t["door"], t["event"]), [])
        hit = next((e for e in cands if same([key_ev(e)], [key_txn(t)])), None)
        if hit is None:
            missing.append(t)
        else:
            cands.remove(hit)
    return missing, sorted((e for c in pool.values() for e in c), key=lambda e: e["id"])


def explain(what, evs, want, left_out=()):
    """Print, for the reader of a failure, every table row the journal lacks and every journal event the table
    lacks, each with the journal's events of the seconds around it (in journal order)."""
    missing, extra = unpaired(evs, want)
    out = ["%s: %d journal events, %d table rows; %d rows not in the journal, %d events not in the table"
           % (what, len(evs), len(want), len(missing), len(extra))]
    if left_out:
        out.append("  left out as rows from before the first contact: " + "; ".join(ev_text(e) for e in left_out))
    for kind, items in (("MISSING", missing[:5]), ("EXTRA", extra[:5])):
        for x in items:
            if kind == "MISSING":
                at, key = txn_epoch(x), (txn_epoch(x),) + key_txn(x)
                out.append("  MISSING %s" % txn_text(x))
            else:
                at, key = x.get("device_time") or 0, (x.get("device_time"),) + key_ev(x)
                out.append("  EXTRA %s" % ev_text(x))
            # the same row: every journal event and table row with its time and content
            out += ["    same: " + ev_text(e) for e in evs if same([(e.get("device_time"),) + key_ev(e)], [key])]
            out += ["    same: table " + txn_text(t) for t in want if same([(txn_epoch(t),) + key_txn(t)], [key])]
            # where it is (or would be) in the journal: the events journaled around the nearest one of that second
            near = [i for i, e in enumerate(evs) if (e.get("device_time") or 0) == at] or \
                   [min(range(len(evs)), key=lambda i: abs((evs[i].get("device_time") or 0) - at))] if evs else []
            for i in sorted({j for i in near[:1] + near[-1:] for j in range(max(0, i - 4), min(len(evs), i + 5))}):
                out.append("    journal: " + ev_text(evs[i]))
    print("\n".join(out), file=sys.stderr, flush=True)
    return missing, extra


def check_same(what, evs, want):
    """fail() at the first difference of the journal's events and the table's rows."""
    got = [key_ev(e) for e in evs]
    exp = [key_txn(t) for t in want]
    if not same(got, exp):
        n = next((i for i, (a, b) in enumerate(zip(got, exp)) if not same([a], [b])), min(len(got), len(exp)))
        for e in evs[max(0, n - 3):n + 12]:  # what the journal holds there, for the reader of the failure
            print("  " + ev_text(e), file=sys.stderr)
        for t in want[max(0, n - 3):n + 12]:
            print("  table " + txn_text(t), file=sys.stderr)
        explain(what, evs, want)
        fail("%s: journal and table differ at %d (journal %d events, table %d): journal %s table %s"
             % (what, n, len(got), len(exp), got[n:n + 3], exp[n:n + 3]))


def check_interleaved(what, evs, want, full=None):
    """After ring overflows: the journal's live events in the table's order, its recovered ones in the table's
    order (they are journaled when recovered, after later live ones), and the two together every row once.
    Identical rows (one card at one door within a second, of which one was lost from the ring and one came live)
    cannot be told apart by content, so which of them is marked recovered is not checked: each list must be in
    the table's order, and together they must be the table's rows, each as many times as the table has it.
    full: every row of the table since the first contact, for the explanation of a failure."""
    exp = [key_txn(t) for t in want]
    for kind, lst in (("live", [e for e in evs if not e.get("recovered")]),
                      ("recovered", [e for e in evs if e.get("recovered")])):
        n = 0
        for e in lst:
            while n < len(exp) and not same([key_ev(e)], [exp[n]]):
                n += 1
            if n == len(exp):
                explain(what, evs, full or want)  # which rows are missing or extra, by time and content
                fail("%s: the %s event #%d %s is not in the table's order" % (what, kind, e["id"], key_ev(e)))
            n += 1
    # the journal leaves out card, PIN, verify and in/out of events that are not access events: so does the count
    short = {e["code"] for e in evs if e.get("card") is None}
    got = Counter(key_ev(e) for e in evs)
    rows = Counter(k if k[1] not in short else k[:2] + (None,) * 4 for k in exp)
    if got != rows:
        explain(what, evs, want)
        fail("%s: the journal's %d events are not the table's %d rows once each: only in the journal %s, only in "
             "the table %s" % (what, len(evs), len(exp), list((got - rows).items())[:3], list((rows - got).items())[:3]))
