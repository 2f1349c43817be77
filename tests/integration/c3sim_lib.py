"""Helpers for the C3 python tests: a `portier-sim c3` panel on a free loopback port with a control socket."""
import os
import socket
import subprocess

from portierd_lib import PORTIER_SIM, fail, wait_until


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Panel:
    """portier-sim c3 (one C3-200) on a free port with a control socket."""

    def __init__(self, tmp, name, extra=()):
        self.port = free_port()
        self.ctl = os.path.join(tmp, name + ".ctl")
        self.log = open(os.path.join(tmp, name + ".log"), "w+")
        self.proc = subprocess.Popen([PORTIER_SIM, "c3", "--port", str(self.port), "--control", self.ctl, "--seed",
                                      "11", "--model", "C3-200"] + list(extra),
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        wait_until(lambda: os.path.exists(self.ctl), 20, "the simulator's control socket")

    def control(self, line):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.ctl)
        s.sendall((line + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        if not reply.startswith(b"ok"):
            fail("simulator control '%s': %s" % (line, reply))
        return reply.decode().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
