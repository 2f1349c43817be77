#!/usr/bin/env python3
"""Ask portierd for the MQTT output's status ("mqtt-status", doc/protocol.md) every 200 ms and write its "mqtt"
object as one JSON line to FILE (atomically). Reconnects when the daemon goes away (kill -9 in the tests).
usage: mqtt_status_poll.py SOCKET FILE"""
import json, os, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import portierd_lib  # noqa: E402

sock, out = sys.argv[1], sys.argv[2]
portierd_lib.fail = lambda msg: (_ for _ in ()).throw(ConnectionError(msg))  # a lost daemon: reconnect
client = None
while True:
    try:
        if client is None:
            client = portierd_lib.Client(sock, stream=False, journal_rows=0)
        r = client.request({"op": "mqtt-status"}, timeout=5)
        st = r.get("mqtt") or {"connection": "none", "error": r.get("message", r.get("status"))}
        with open(out + ".tmp", "w") as f:
            f.write(json.dumps(st) + "\n")
        os.replace(out + ".tmp", out)
    except (OSError, ConnectionError, ValueError):
        if client is not None:
            client.close()
        client = None
    time.sleep(0.2)
