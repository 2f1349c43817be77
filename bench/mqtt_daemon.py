#!/usr/bin/env python3
"""bench mqtt_daemon: the latency the MQTT output adds against portierd's own client stream, in one run.
A simulated site (portier-sim site: two C3 panels and a NiX1 bus, card swipes at --activity per second) owned by
portierd with an mqtt group; a private mosquitto on 127.0.0.1. Two consumers in their own processes stamp each
journal event when it arrives: a protocol client on portierd's socket (doc/protocol.md, the change stream), and
mosquitto_sub on <base>/events with QoS 1 (its own receive timestamps). Printed: events seen by both, and per
event the MQTT arrival minus the daemon stream's arrival (median, p90, p99), and both against the event's host
time (when portierd received it from the device).
usage: bench/mqtt_daemon.py BUILD_DIR [SECONDS] [ACTIVITY]"""
import json, os, socket, statistics, subprocess, sys, tempfile, time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
activity = int(sys.argv[3]) if len(sys.argv) > 3 else 50
os.environ.setdefault("PORTIER_BUILD", build)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import portierd_lib as pl  # noqa: E402

STREAM = r'''
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
f = s.makefile("rb")
f.readline()
s.sendall(b'{"op":"hello","id":1,"proto":1,"client":"bench","journal_rows":0,"stream":true}\n')
out = open(sys.argv[2], "w")
for line in f:
    t = time.time()
    if b'"type":"event"' in line or b'"type": "event"' in line:
        m = json.loads(line)
        if not m.get("replay") and m.get("id", 0) > 0:
            out.write("%d %.6f %d\n" % (m["id"], t, m.get("time_us", 0)))
            out.flush()
'''

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]

tmp = tempfile.mkdtemp(prefix="portier-bench-")
procs = []
try:
    port = free_port()
    with open(os.path.join(tmp, "mosquitto.conf"), "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\nuser %s\n" % (port, os.environ.get("USER", "root")))
    procs.append(subprocess.Popen(["mosquitto", "-c", os.path.join(tmp, "mosquitto.conf")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    pl.wait_until(lambda: subprocess.call(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d" % port],
                                          stderr=subprocess.DEVNULL) == 0, 10, "mosquitto")
    site = pl.Site(tmp, name="Bench", activity=activity, poll=100)
    with open(site.config, "a") as f:
        f.write('\nmqtt = { host = "127.0.0.1"; port = %d; base_topic = "bench"; discovery = false; };\n' % port)
    d = pl.Daemon(tmp, site.config)
    mq_path, st_path = os.path.join(tmp, "mqtt.txt"), os.path.join(tmp, "stream.txt")
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", "bench/events",
                            "-F", "%U %p"], stdout=open(mq_path, "w"))
    stream = subprocess.Popen([sys.executable, "-c", STREAM, d.sock, st_path])
    procs += [sub, stream]
    time.sleep(seconds)
    time.sleep(1.0)  # the last events in flight
    mq = {}
    for line in open(mq_path):
        ts, _, payload = line.partition(" ")
        try:
            jid = json.loads(payload).get("journal_id")
        except ValueError:
            continue
        if jid and jid not in mq:
            mq[jid] = float(ts)
    st, host = {}, {}
    for line in open(st_path):
        i, t, h = line.split()
        st[int(i)] = float(t)
        host[int(i)] = int(h) / 1e6
    both = sorted(set(mq) & set(st))
    if not both:
        print("no event reached both consumers (mqtt %d, stream %d)" % (len(mq), len(st)))
        sys.exit(1)
    added = [(mq[i] - st[i]) * 1e3 for i in both]
    to_stream = [(st[i] - host[i]) * 1e3 for i in both]
    to_mqtt = [(mq[i] - host[i]) * 1e3 for i in both]
    print("portierd with its MQTT output, simulated site at --activity %d for %.0f s: %d journal events, "
          "%d on the daemon stream, %d on MQTT, %d on both" % (activity, seconds, len(set(mq) | set(st)), len(st),
                                                                len(mq), len(both)))
    print("  event received by portierd -> daemon client stream: median %.2f ms, p99 %.2f ms" %
          (statistics.median(to_stream), pct(to_stream, 0.99)))
    print("  event received by portierd -> MQTT consumer (QoS 1): median %.2f ms, p99 %.2f ms" %
          (statistics.median(to_mqtt), pct(to_mqtt, 0.99)))
    print("  MQTT minus daemon stream, per event: median %.2f ms, p90 %.2f ms, p99 %.2f ms (ratio of medians %.2f)" %
          (statistics.median(added), pct(added, 0.90), pct(added, 0.99),
           statistics.median(to_mqtt) / max(statistics.median(to_stream), 1e-6)))
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
    try:
        d.stop()
    except NameError:
        pass
    try:
        site.stop()
    except NameError:
        pass
    subprocess.call(["rm", "-rf", tmp])
