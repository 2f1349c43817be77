"""Shared by the python clients of the NiX1 simulator tests (sim_nix1_basic, sim_nix1_timing): the simulator's
control socket, and the checks that failed, counted, so that a run reports every failure before it exits."""
import socket
import sys

failures = 0


def fail(msg):
    """A check failed: said at once, counted for finish()."""
    global failures
    failures += 1
    print("FAIL:", msg)


def finish():
    """Exit 1 when any check failed, else 0."""
    print("%d failures" % failures)
    sys.exit(1 if failures else 0)


def controller(path):
    """control(LINE): one line to the simulator's control socket at path, its one-line answer."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rw")

    def control(line):
        f.write(line + "\n")
        f.flush()
        return f.readline().rstrip("\n")
    return control
