"""C3 frames built and read by hand from the spec (c3-protocol.md §1), apart from portier's own codec: for the
python clients of the C3 simulator tests (sim_c3_basic)."""
import struct


def crc16(d):
    """CRC-16/ARC (poly 0xA001 reflected, init 0) of d."""
    c = 0
    for b in d:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return c


def frame(cmd, data=b"", addr=1):
    """A request frame: 0xAA, address, command, length, data, CRC, 0x55."""
    body = bytes([addr, cmd]) + struct.pack("<H", len(data)) + data
    return b"\xaa" + body + struct.pack("<H", crc16(body)) + b"\x55"


def recv_frame(s, timeout=5.0):
    """Read one frame from socket s; skips bytes before 0xAA. Returns (raw bytes, junk before it); EOFError when
    the connection closes first."""
    s.settimeout(timeout)
    buf = b""
    junk = b""
    while b"\xaa" not in buf:
        junk += buf
        buf = b""
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    i = buf.index(b"\xaa")
    junk += buf[:i]
    buf = buf[i:]
    while len(buf) < 5:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed mid-frame")
        buf += chunk
    n = struct.unpack("<H", buf[3:5])[0]
    while len(buf) < n + 8:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed mid-frame")
        buf += chunk
    return buf[: n + 8], junk
