#!/usr/bin/env python3
"""Bad clients never hold up portierd or the others. While a well-behaved client keeps pinging (every answer within
a second) and receiving the live stream of a busy simulated site: garbage, a JSON array, a line of 10 MB, a half line,
a silent connection, 2000 quick connects and 300 held open by one user, a client that never reads and one that stops
reading for a while are each closed with a reason (bye) or resynchronised (a stopped client gets "resync", a fresh
snapshot and every event it missed, exactly once); the daemon is alive and serving at the end."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import (AS_GUARD, SYS_PYTHON, Client, Daemon, Site, cleanup, ctl, fail, links_up,  # noqa: E402
                          ok, tmpdir)

tmp = tmpdir("daemon-bad")
site = daemon = None
errors = []


def bye_of(s, timeout=45.0):
    """Read until the daemon's bye (returns its reason) and the close."""
    s.settimeout(timeout)
    buf = b""
    reason = None
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
            buf += data
            for line in buf.split(b"\n")[:-1]:
                try:
                    m = json.loads(line)
                except ValueError:
                    continue
                if m.get("type") == "bye":
                    reason = m["reason"]
            buf = buf[buf.rfind(b"\n") + 1:]
    except (socket.timeout, ConnectionResetError):
        pass
    return reason


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.sock)
    return s


def scenario(name, fn):
    def run():
        try:
            fn()
        except Exception as e:  # reported by the main thread
            errors.append("%s: %r" % (name, e))
    t = threading.Thread(target=run, name=name)
    t.start()
    return t


def expect_bye(name, send, want, timeout=45.0):
    def go():
        s = connect()
        try:
            send(s)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reason = bye_of(s, timeout)
        s.close()
        if not reason or want not in reason:
            errors.append("%s: bye %r, wanted %r" % (name, reason, want))
    return scenario(name, go)


def hello_line():
    return (json.dumps({"op": "hello", "id": 1, "proto": 1}) + "\n").encode()


try:
    site = Site(tmp, activity=300, poll=150)
    daemon = Daemon(tmp, site.config, extra=["--max-clients", "300", "--client-queue", "262144",
                                             "--stall-timeout", "5"])
    good = Client(daemon.sock)
    links_up(good)
    # a journal big enough that a query answer (1000 rows) is bigger than a client's queue
    good.msgs.insert(0, good.wait(lambda m: m.get("type") == "event" and m.get("id", 0) >= 2500, 60,
                                  "2500 journal events"))
    stop = threading.Event()
    worst = [0.0]
    pings = [0]

    def pinger():
        # the well-behaved client: its requests answered fast, its stream flowing, whatever the others do
        while not stop.is_set():
            t0 = time.monotonic()
            r = good.request({"op": "ping"}, timeout=10)
            dt = time.monotonic() - t0
            if r["status"] != "ok":
                errors.append("ping: %s" % r)
            worst[0] = max(worst[0], dt)
            pings[0] += 1
            time.sleep(0.1)
    ping_thread = threading.Thread(target=pinger)
    ping_thread.start()

    threads = [
        expect_bye("garbage", lambda s: s.sendall(b"\x00\xff garbage \x01\n"), "not JSON"),
        expect_bye("array", lambda s: s.sendall(hello_line() + b"[1,2,3]\n"), "not a JSON object"),
        expect_bye("10 MB line", lambda s: [s.sendall(b"x" * 65536) for _ in range(160)],
                   "line longer than 1048576 bytes"),
        expect_bye("half line", lambda s: s.sendall(hello_line() + b'{"op":"ping","id":'), "incomplete line for 30 s",
                   60),
        expect_bye("silent", lambda s: None, "no hello within 10 s", 30),
    ]

    # 2000 quick connects, then 300 held open by one user (nobody): the per-user limit refuses the rest
    def churn():
        time.sleep(1.0)  # after the other scenarios have connected (the per-user limit counts root's too)
        for i in range(2000):
            s = connect()
            if i % 2:
                s.sendall(hello_line())
            s.close()
    threads.append(scenario("2000 connects", churn))
    held = subprocess.Popen(AS_GUARD + [SYS_PYTHON, "-c", r"""
import json, socket, sys, time
socks, refused = [], 0
for i in range(300):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)
time.sleep(1.0)
for s in socks:
    s.settimeout(5)
    line = s.makefile("rb").readline()
    if json.loads(line).get("type") == "bye":
        refused += 1
print(json.dumps({"open": len(socks) - refused, "refused": refused}))
sys.stdout.flush()
time.sleep(3)
""", daemon.sock], stdout=subprocess.PIPE, text=True) if os.geteuid() == 0 else None

    # a client that never reads: it asks for big answers and the stream keeps coming; its queue overflows, it
    # is resynchronised when it reads again, which it never does: closed after the stall timeout
    def never_reads():
        s = connect()
        s.sendall(hello_line())
        for i in range(40):
            s.sendall((json.dumps({"op": "journal", "id": 10 + i, "limit": 1000}) + "\n").encode())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "not reading for 5 s" not in daemon.read_log():
            time.sleep(0.2)
        if "not reading for 5 s" not in daemon.read_log():
            errors.append("never-reading client not closed")
        s.close()
    threads.append(scenario("never reads", never_reads))

    # a client that stops reading for a while, then reads again: resync, snapshot, every missed event once
    stopped = Client(daemon.sock)
    for i in range(20):
        stopped.send({"op": "journal", "id": 100 + i, "limit": 1000})
    time.sleep(3.0)  # stopped: its queue overflows meanwhile (the daemon must not wait for it)
    m = stopped.wait(lambda m: m.get("type") == "resync", 30, "resync")
    if "output queue full" not in m["reason"] or not m["dropped"]:
        fail("resync: %s" % m)
    stopped.wait(lambda m: m.get("type") == "snapshot", 10, "fresh snapshot")
    stopped.wait(lambda m: m.get("type") == "synced", 30, "synced")
    ok("a stopped client: resync (%d answers dropped, each named), a fresh snapshot, the missed events replayed"
       % len(m["dropped"]))

    for t in threads:
        t.join(90)
    if held:
        out, _ = held.communicate(timeout=60)
        counts = json.loads(out)
        if counts["open"] != 75 or counts["refused"] != 225:
            fail("300 connections of one user: %s (want 75 open, 225 refused)" % counts)
        ok("300 connections from one user: 75 served, 225 refused with a reason; others unaffected")
    stop.set()
    ping_thread.join(30)
    # the quick connects had closed before the daemon reached them: they never count against the per-user limit
    if "too many connections for uid %d" % os.geteuid() in daemon.read_log():
        errors.append("quick connects refused by the per-user limit (closed connections counted): %s"
                      % [ln for ln in daemon.read_log().splitlines() if "refused" in ln][:5])
    if errors:
        fail("; ".join(errors))
    ok("garbage, an array, a 10 MB line, a half line, a silent client, 2000 connects: each closed with its reason")
    ok("a client that never reads: resynchronised, then closed after 5 s of not reading")

    # the stopped client's events match the good client's: same ids, each once, nothing missing
    time.sleep(1.0)
    good.drain(0.5)
    stopped.drain(0.5)
    ids_good = [m["id"] for m in good.msgs if m.get("type") == "event" and m.get("id")]
    ids_stop = [m["id"] for m in stopped.msgs if m.get("type") == "event" and m.get("id")]
    if len(ids_stop) != len(set(ids_stop)):
        fail("the resynchronised client got an event twice")
    lo = max(min(ids_good), min(ids_stop))
    hi = min(max(ids_good), max(ids_stop))
    a = sorted(i for i in ids_good if lo <= i <= hi)
    b = sorted(i for i in ids_stop if lo <= i <= hi)
    if a != b or len(a) < 50:
        fail("events #%d..#%d: good client %d, resynchronised client %d" % (lo, hi, len(a), len(b)))
    ok("the resynchronised client has the same %d events as the others, each once" % len(a))
    bound = 2.5 if os.environ.get("PORTIER_SANITIZED") == "1" else 1.0  # ASan/UBSan: every step 2-5 times slower
    if worst[0] > bound or pings[0] < 50:
        fail("the good client waited %.2f s for an answer (bound %.1f s; %d pings)" % (worst[0], bound, pings[0]))
    ok("the good client was answered throughout: %d pings, slowest %.0f ms" % (pings[0], worst[0] * 1000))
    # 120 connections that came and went while the daemon was not running (stopped): when it runs again they are
    # all waiting to be accepted, and already gone; a new connection of the same user is served, not refused
    import signal
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        for i in range(120):
            s = connect()
            s.sendall(hello_line())
            s.close()
        late = connect()
        late.sendall(hello_line())
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    late.settimeout(20)
    first = json.loads(late.makefile("rb").readline())
    late.close()
    if first.get("type") == "bye":
        fail("after 120 connections that had gone: a new one refused: %s" % first.get("reason"))
    ok("120 connections gone before the daemon reached them: not counted, the next one served (%s)"
       % first.get("type"))
    # portierd's own account of it: the refusals counted, the resync, the longest hold of its loop (as a guard too)
    rc, out, err = ctl("--json", "daemon", "status", sock=daemon.sock, as_user=AS_GUARD if os.geteuid() == 0 else None)
    st = json.loads(out) if rc == 0 else {}
    if rc != 0 or st.get("refused", 0) < (225 if held else 0) or st.get("resyncs", 0) < 1 \
            or st.get("bad_lines", 0) < 3 or st.get("accepted", 0) < 2000 or not st.get("loop_longest_us") \
            or st.get("loop_callbacks", 0) < 1000 or st.get("clients", 0) < 2:
        fail("daemon status: rc %d %s %s" % (rc, st or out, err))
    rc, out, err = ctl("daemon", "status", sock=daemon.sock)
    if rc != 0 or "%d refused" % st["refused"] not in out or "event loop:" not in out:
        fail("daemon status (text): rc %d %s %s" % (rc, out, err))
    ok("daemon status: %d accepted, %d refused, %d resynchronised, %d malformed lines; loop held at most %.0f ms, "
       "%d times 100 ms or more" % (st["accepted"], st["refused"], st["resyncs"], st["bad_lines"],
                                     st["loop_longest_us"] / 1000, st["loop_slow"]))
    r = Client(daemon.sock).request({"op": "ping"})
    if r["status"] != "ok" or daemon.proc.poll() is not None:
        fail("daemon not serving at the end")
    ok("portierd alive and serving")
finally:
    cleanup(tmp, *(x for x in (daemon, site) if x))
