"""Loopback ports for the tests' simulators: one rule for the shell helper (lib.sh) and the python tests."""
import random
import socket


def free_port_block(n):
    """A first port such that port .. port+n-1 are free on 127.0.0.1 now. Below the kernel's range of ephemeral
    ports, so that port-0 binds and outgoing connections (which take ports from that range) never take one of
    them before the simulator does. A simulator of one panel binds port 0 itself instead."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(200):
        base = random.randint(10000, max(10001, low - n - 1))
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError("no block of %d free ports" % n)
