#!/usr/bin/env python3
"""tui_latency: key press to screen change of the real portier console under an event flood.

Starts `portier-sim c3 --panels N --activity R` (N*R events/s in total), writes a site configuration for
those panels, runs `portier` on a pseudo-terminal of a fixed size and, after a warm-up, presses keys that
switch panes ('3' Doors, '5' Alarms) every 250 ms for the measuring time. The latency of one press is the
time from writing the key to reading the first output bytes that contain the new pane's title. It reports
median, 95th percentile and worst latency, the console's CPU use, its peak memory (VmHWM) and its resident
memory over time (flat = no growth), the events per second the journal actually stored, and the ratios to
the goals (median < 20 ms, worst < 100 ms).

usage: tui_latency.py PORTIER PORTIER_SIM [--seconds 60] [--panels 10] [--rate 100] [--warmup 5]
The journal lives in a temporary directory under $TMPDIR: TMPDIR=/dev/shm separates the console's own
latency from the cost of the journal's durable commits (synchronous=FULL) on the disk.
"""
import argparse
import fcntl
import os
import pty
import re
import select
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

GOAL_MEDIAN_MS = 20.0
GOAL_WORST_MS = 100.0


def free_port_block(n):
    """A first port such that port..port+n-1 are free on 127.0.0.1 right now."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
        s.close()
        if base + n >= 65535:
            continue
        ok = True
        for p in range(base, base + n):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                t.close()
            if not ok:
                break
        if ok:
            return base
    raise SystemExit("no block of free ports")


def proc_stat(pid):
    """(utime+stime seconds, VmRSS kB, VmHWM kB) of pid."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, rss, hwm


class Console:
    def __init__(self, argv, env, cols, rows):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)
        self.total = 0

    def drain(self, timeout):
        """Read whatever arrives within timeout seconds; returns the bytes."""
        out = b""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return out
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return out
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return out
            if not chunk:
                return out
            self.total += len(chunk)
            out += chunk

    def press(self, key, want, timeout=2.0):
        """Write key; return the seconds until output containing `want` arrives (None on timeout)."""
        self.drain(0)  # whatever was pending belongs to the time before the press
        t0 = time.monotonic()
        os.write(self.fd, key)
        seen = b""
        while True:
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return None
            self.total += len(chunk)
            seen += chunk
            if want in seen:
                return time.monotonic() - t0
            seen = seen[-len(want):]  # keep a tail so a title split across reads still matches


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("portier")
    ap.add_argument("sim")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--panels", type=int, default=10)
    ap.add_argument("--rate", type=int, default=100, help="events per second per panel")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--interval", type=float, default=0.25)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="portier-bench.")
    base = free_port_block(a.panels)
    sim = subprocess.Popen([a.sim, "c3", "--port", str(base), "--panels", str(a.panels), "--model", "C3-400",
                            "--seed", "1", "--activity", str(a.rate)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = sim.stdout.readline().decode()
    if "listening" not in line:
        raise SystemExit(f"simulator did not start: {line!r}")
    conf = os.path.join(tmp, "portier.conf")
    journal = os.path.join(tmp, "journal.db")
    with open(conf, "w") as f:
        f.write('site = { name = "Bench"; };\nroles = { default = "technician"; };\npanels = (\n')
        for i in range(a.panels):
            f.write(f'  {{ name = "P{i + 1}"; host = "127.0.0.1"; port = {base + i}; model = "C3-400"; '
                    f'poll_ms = 100; }}{"," if i + 1 < a.panels else ""}\n')
        f.write(');\nemergency = { doors = "all"; confirm = "none"; };\n')
        f.write(f'journal = {{ path = "{journal}"; }};\nui = {{ bell = "none"; }};\n')
    os.chmod(conf, 0o600)
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8", XDG_STATE_HOME=tmp)
    con = Console([a.portier, "-c", conf], env, 120, 40)
    try:
        con.drain(a.warmup)
        rows0 = sqlite3.connect(journal).execute("select count(*) from events").fetchone()[0]
        cpu0, _, _ = proc_stat(con.pid)
        t_start = time.monotonic()
        lat, missed, rss = [], 0, []
        keys = [(b"3", b"Doors, aux"), (b"5", b"Alarms wait")]
        k = 0
        next_sample = t_start
        while time.monotonic() - t_start < a.seconds:
            key, want = keys[k % 2]
            k += 1
            d = con.press(key, want)
            if d is None:
                missed += 1
            else:
                lat.append(d * 1000)
            if time.monotonic() >= next_sample:
                rss.append((time.monotonic() - t_start, proc_stat(con.pid)[1]))
                next_sample += 1.0
            con.drain(max(0.0, a.interval - (d or 0)))
        elapsed = time.monotonic() - t_start
        cpu1, rss_end, hwm = proc_stat(con.pid)
        rows1 = sqlite3.connect(journal).execute("select count(*) from events").fetchone()[0]
        os.write(con.fd, b"q")
        con.drain(2)
    finally:
        try:
            os.kill(con.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(con.pid, 0)
        except ChildProcessError:
            pass
        sim.terminate()
        sim.wait()
        subprocess.run(["rm", "-rf", tmp])

    if not lat:
        raise SystemExit("no key press answered")
    lat.sort()
    med = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
    worst = lat[-1]
    third = max(1, len(rss) // 3)
    rss_first = statistics.mean(v for _, v in rss[:third])
    rss_last = statistics.mean(v for _, v in rss[-third:])
    ev_rate = (rows1 - rows0) / elapsed
    print(f"tui_latency: {a.panels} panels x {a.rate} events/s offered = {a.panels * a.rate} events/s, "
          f"{elapsed:.0f} s measured after {a.warmup:.0f} s warm-up; journal in {os.path.dirname(tmp)}")
    offered = a.panels * a.rate
    print(f"  events stored by the journal: {ev_rate:.0f}/s"
          + (f" ({ev_rate / offered:.2f} of offered)" if offered else ""))
    print(f"  key presses: {len(lat)} answered, {missed} not answered within 2 s")
    print(f"  latency ms: median {med:.2f}  p95 {p95:.2f}  worst {worst:.2f}")
    print(f"  CPU: {100 * (cpu1 - cpu0) / elapsed:.1f}% of one core")
    print(f"  memory: peak (VmHWM) {hwm / 1024:.1f} MiB; resident first third {rss_first / 1024:.1f} MiB, "
          f"last third {rss_last / 1024:.1f} MiB (growth {100 * (rss_last - rss_first) / rss_first:+.1f}%)")
    print(f"  screen output: {con.total / elapsed / 1024:.0f} KiB/s")
    print(f"  ratio to goals: median {med / GOAL_MEDIAN_MS:.2f} of {GOAL_MEDIAN_MS:.0f} ms, "
          f"worst {worst / GOAL_WORST_MS:.2f} of {GOAL_WORST_MS:.0f} ms (below 1.00 meets the goal)")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
