#!/usr/bin/env python3
"""A broker that speaks MQTT 3.1.1 only (for the bridge's fallback): a v5 CONNECT gets CONNACK 0x01 (unacceptable
protocol version) and the connection is closed, as a 3.1.1 broker does; a 3.1.1 CONNECT is accepted. Every
PUBLISH is acknowledged (QoS 1) and written to LOG as "topic<TAB>payload"; after the first SUBSCRIBE of a connection it sends one command
(COMMAND_TOPIC, COMMAND_PAYLOAD) to the client. Protocol versions seen go to LOG as "#connect <level>".
usage: fake_broker_v311.py PORT LOG COMMAND_TOPIC COMMAND_PAYLOAD"""
import socket, sys, threading

port, log_path, cmd_topic, cmd_payload = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()

def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")

def recv_exact(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise ConnectionError
        b += chunk
    return b

def read_packet(c):
    h = recv_exact(c, 1)[0]
    mult, length = 1, 0
    while True:
        d = recv_exact(c, 1)[0]
        length += (d & 127) * mult
        mult *= 128
        if not d & 128:
            break
    return h, recv_exact(c, length)

def enc_len(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (128 if n else 0)])
        if not n:
            return out

def serve(c):
    sent = False
    try:
        while True:
            h, body = read_packet(c)
            kind = h >> 4
            if kind == 1:  # CONNECT
                nl = int.from_bytes(body[0:2], "big")
                level = body[2 + nl]
                log("#connect %d" % level)
                if level != 4:
                    c.sendall(bytes([0x20, 2, 0, 1]))
                    return
                c.sendall(bytes([0x20, 2, 0, 0]))
            elif kind == 3:  # PUBLISH
                qos = (h >> 1) & 3
                tl = int.from_bytes(body[0:2], "big")
                topic = body[2:2 + tl].decode()
                pos = 2 + tl
                if qos:
                    pid = body[pos:pos + 2]
                    pos += 2
                    c.sendall(bytes([0x40, 2]) + pid)
                log("%s\t%s" % (topic, body[pos:].decode(errors="replace")))
            elif kind == 8:  # SUBSCRIBE
                pid = body[0:2]
                n = 0
                pos = 2
                while pos < len(body):
                    tl = int.from_bytes(body[pos:pos + 2], "big")
                    log("#subscribe %s" % body[pos + 2:pos + 2 + tl].decode())
                    pos += 2 + tl + 1
                    n += 1
                c.sendall(bytes([0x90]) + enc_len(2 + n) + pid + bytes([1] * n))
                if not sent:
                    sent = True
                    t, p = cmd_topic.encode(), cmd_payload.encode()
                    var = len(t).to_bytes(2, "big") + t + p
                    c.sendall(bytes([0x30]) + enc_len(len(var)) + var)
            elif kind == 12:  # PINGREQ
                c.sendall(bytes([0xD0, 0]))
            elif kind == 14:  # DISCONNECT
                return
    except (ConnectionError, OSError):
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
