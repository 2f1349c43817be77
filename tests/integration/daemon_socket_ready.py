#!/usr/bin/env python3
"""portierd's socket: its path appears only once a client can connect (a client that saw the path and was refused
could not tell a starting portierd from a dead one: `portier --demo` failed so on a loaded machine), and two
portierd started on one path at once leave exactly one listening. listen() is slowed by a preloaded library
(slow_listen.c) to widen the moment between bind and listen."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import PORTIERD, Client, Site, cleanup, fail, ok, wait_until  # noqa: E402

SHIM = os.environ["PORTIER_SLOW_LISTEN"]
DELAY_MS = 400


def slow_env():
    env = dict(os.environ)
    env["LD_PRELOAD"] = SHIM
    env["PORTIER_TEST_LISTEN_DELAY_MS"] = str(DELAY_MS)
    # the shim comes before the sanitizer's runtime in the ASan build
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    return env


def start(tmp, config, sock, tag):
    log = open(os.path.join(tmp, "portierd-%s.log" % tag), "w")
    return subprocess.Popen([PORTIERD, "-c", config, "--socket", sock, "--state-dir", os.path.join(tmp, "state-" + tag),
                             "--foreground"], stdout=log, stderr=subprocess.STDOUT, env=slow_env())


def log_of(tmp, tag):
    with open(os.path.join(tmp, "portierd-%s.log" % tag)) as f:
        return f.read()


def main():
    tmp = tempfile.mkdtemp(prefix="portier-sockready.")
    site = Site(tmp)
    sites = [site]
    procs = []
    try:
        # 1. The moment the path exists, a connection is accepted and answered.
        sock = os.path.join(tmp, "portierd.sock")
        p = start(tmp, site.config, sock, "one")
        procs.append(p)
        deadline = time.monotonic() + 20
        while not os.path.exists(sock):
            if p.poll() is not None:
                fail("portierd exited (%s): %s" % (p.returncode, log_of(tmp, "one")))
            if time.monotonic() > deadline:
                fail("portierd made no socket within 20 s")
            time.sleep(0.001)
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock)
        except OSError as e:
            fail("the socket's path was there but a connection was refused: %s" % e)
        s.close()
        Client(sock).close()  # greeted, hello answered
        if any(n.startswith(".portierd.sock.") for n in os.listdir(tmp)):
            fail("the private name was left beside the socket: %s" % os.listdir(tmp))
        ok("the socket's path appears only once portierd listens")
        p.terminate()
        p.wait(20)
        procs.remove(p)

        # 2. Two at once on one path (two sites: their devices do not stop the second first): one listens, the
        # other says so and exits; the first keeps its socket.
        other_dir = os.path.join(tmp, "other")
        os.makedirs(other_dir)
        other = Site(other_dir)
        sites.append(other)
        sock2 = os.path.join(tmp, "both.sock")
        a = start(tmp, site.config, sock2, "a")
        b = start(tmp, other.config, sock2, "b")
        procs += [a, b]
        wait_until(lambda: a.poll() is not None or b.poll() is not None, 30, "one of two portierd to give up")
        loser, ltag, winner = (a, "a", b) if a.poll() is not None else (b, "b", a)
        if loser.returncode == 0:
            fail("the second portierd exited 0")
        if "another portierd is listening there" not in log_of(tmp, ltag):
            fail("the second portierd's message: %s" % log_of(tmp, ltag))
        time.sleep(0.5)
        if winner.poll() is not None:
            fail("both portierd exited")
        Client(sock2).close()
        ok("two portierd on one path: one listens, the other exits with a message")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        cleanup(tmp, *sites)


if __name__ == "__main__":
    main()
