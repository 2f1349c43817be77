"""A simulator's control socket (portier-sim --control PATH), one rule for the shell helper (lib.sh) and the python
tests: a connection per line, the one-line answer."""
import socket


def control_line(path, line, timeout=10.0):
    """LINE to the control socket at path; the answer, without its line end."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall((line + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode(errors="replace").strip()
