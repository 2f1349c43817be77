"""Shared helpers for the portierd integration tests: a simulated site (portier-sim site), a private portierd on a
temporary socket and state directory, and protocol clients speaking JSON lines (doc/protocol.md). Everything
binds to loopback, pseudo-terminals and temporary Unix sockets."""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("PORTIER_BUILD", "")
PORTIER_SIM = os.environ.get("PORTIER_SIM") or os.path.join(BUILD, "sim/portier-sim")
PORTIERD = os.environ.get("PORTIERD") or os.path.join(BUILD, "daemon/portierd")
PORTIERCTL = os.environ.get("PORTIERCTL") or os.path.join(BUILD, "cli/portierctl")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg, flush=True)


def wait_until(pred, timeout=10.0, what="condition", step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    fail("timed out waiting for " + what)


SITE_CONF = """site = { name = "%(name)s"; };
panels = (
  { name = "Panel A"; host = "10.9.0.1"; model = "C3-400"; poll_ms = %(poll)d;
    doors = ( "Main entrance", "Back door", "Garage", "Store room" ); aux = ( "Siren" ); },
  { name = "Panel B"; host = "10.9.0.2"; model = "C3-200"; poll_ms = %(poll)d; doors = ( "Lab north", "Lab south" ); }
);
buses = ( { name = "Bus 1"; port = "/dev/ttyUSB9"; baud = 115200; poll_ms = %(poll)d;
  slaves = (
    { address = "270100000000006B"; name = "Yard"; bad_access_timeout = 0;
      probe1 = { door = "Yard in"; unit = 1; }; probe2 = { door = "Yard out"; unit = 2; }; },
    { address = "2702000000000032"; name = "Shed"; bad_access_timeout = 0; probe1 = { door = "Shed"; unit = 1; }; }
  ); } );
roles = { default = "guard"; map = ( { user = "root"; role = "technician"; }, { group = "dialout"; role = "operator"; } ); };
emergency = { doors = "all"; confirm = "none"; restore = "previous"; };
daemon = { group = "nogroup"; };
"""


def bus_port(config):
    """The first NiX1 bus's port of a configuration (the one quoted port: panels have numbers)."""
    with open(config) as f:
        return [l.split('"')[1] for l in f if l.strip().startswith('port = "')][0]


class Site:
    """portier-sim site: two C3 panels and one NiX1 bus, and the rewritten configuration that points at them."""

    def __init__(self, tmp, name="Daemon test", activity=0, poll=200, seed=5):
        self.tmp = tmp
        conf = os.path.join(tmp, "site.conf")
        with open(conf, "w") as f:
            f.write(SITE_CONF % {"name": name, "poll": poll})
        os.chmod(conf, 0o600)
        # the simulator's output: it appends (O_APPEND) and the test reads through a file of its own; a read that
        # moved a shared offset (seek(0) on the simulator's own stdout) let its next line overwrite earlier ones
        self.out_path = os.path.join(tmp, "sim.out")
        self.out = open(self.out_path, "a")
        self.err = open(os.path.join(tmp, "sim.err"), "w")
        args = [PORTIER_SIM, "site", conf, "--dir", os.path.join(tmp, "sim"), "--seed", str(seed)]
        if activity:
            args += ["--activity", str(activity)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=self.out, stderr=self.err)
        self.config = os.path.join(tmp, "sim", "portier.conf")

        def ready():
            return any(l.startswith("portier-sim site:") and "; config " in l for l in self.output().splitlines())
        wait_until(ready, 30, "the simulated site")

    def bus_port(self):
        """The NiX1 bus's port in the rewritten configuration: the simulator's link to its pseudo-terminal in the
        site's directory (gone when the simulator is, so nothing left running opens a reused /dev/pts number)."""
        return bus_port(self.config)

    def control(self, line):
        """A control line for the site ('Panel A: swipe door=1 card=5', 'Bus 1: present ...')."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def output(self):
        with open(self.out_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def panel_a(config):
    """Panel A's simulated address in a site configuration (127.0.0.1:PORT)."""
    with open(config) as f:
        return "127.0.0.1:%s" % [l.split("=")[1].strip(" ;") for l in f.read().splitlines()
                                 if l.strip().startswith("port = ") and '"' not in l][0]


def both_modes(sock, pa, pa2, args, rc_want, mask=lambda text: text):
    """portierctl c3 ARGS through portierd on pa and directly on its twin pa2: the same exit status (rc_want), stdout
    and stderr byte for byte, after mask (what must differ between two simulators: their clocks, their own activity)
    and with each panel's address as HOST. The first result."""
    r1 = ctl("c3", pa, *args, sock=sock)
    r2 = ctl("--direct", "c3", pa2, *args)
    # each names its own panel's address where a message names the panel
    o1, e1 = (mask(t.replace(pa, "HOST")) for t in r1[1:])
    o2, e2 = (mask(t.replace(pa2, "HOST")) for t in r2[1:])
    if r1[0] != rc_want or r2[0] != rc_want or o1 != o2 or e1 != e2:
        fail("%s: through portierd %d\n%s%s\ndirect %d\n%s%s" % (args, r1[0], r1[1], r1[2], r2[0], r2[1], r2[2]))
    return r1


def twin_site(tmp):
    """The same simulated site again (same configuration and seed) in tmp/twin: for a comparison with direct mode
    beside the one portierd owns."""
    d = os.path.join(tmp, "twin")
    os.makedirs(d)
    return Site(d)


def site_up(tmp, parts, twin=False):
    """A simulated site, portierd on it and a root client once its links are up: (site, daemon, root); with twin,
    also the site's twin for direct mode (twin_site), started before portierd: (site, twin, daemon, root). Each part
    is appended to parts as it starts, so that `cleanup(tmp, *reversed(parts))` stops what did start, portierd
    first."""
    site = Site(tmp)
    parts.append(site)
    if twin:
        twin = twin_site(tmp)
        parts.append(twin)
    daemon = Daemon(tmp, site.config)
    parts.append(daemon)
    root = Client(daemon.sock)
    links_up(root)
    return (site, twin, daemon, root) if twin else (site, daemon, root)


def twin_up(tmp, parts):
    """site_up with the site's twin for direct mode: (site, twin, daemon, root)."""
    return site_up(tmp, parts, twin=True)


def twin_c3(tmp, parts, mask):
    """twin_up for the C3 passthrough tests: (site, twin, daemon, root, pa, pa2, both), pa and pa2 panel A's address
    in the site portierd owns and in its twin, both(*ARGS, rc_want=0) the both_modes comparison of
    `portierctl c3 HOST ARGS` through portierd and directly, after mask."""
    site, twin, daemon, root = twin_up(tmp, parts)
    pa, pa2 = panel_a(site.config), panel_a(twin.config)

    def both(*args, rc_want=0):
        return both_modes(daemon.sock, pa, pa2, args, rc_want, mask)
    return site, twin, daemon, root, pa, pa2, both


class Daemon:
    def __init__(self, tmp, config, extra=(), state=None, sock=None):
        self.tmp = tmp
        self.config = config
        self.sock = sock or os.path.join(tmp, "portierd.sock")
        self.state = state or os.path.join(tmp, "state")
        self.extra = list(extra)
        self.log_path = os.path.join(tmp, "portierd.log")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([PORTIERD, "-c", self.config, "--socket", self.sock, "--state-dir", self.state,
                                      "--foreground"] + self.extra, stdout=self.log, stderr=self.log)

        def listening():
            if self.proc.poll() is not None:
                fail("portierd exited (%s): %s" % (self.proc.returncode, self.read_log()[-2000:]))
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                return True
            except OSError:
                return False
        wait_until(listening, 20, "portierd to listen")

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signal (sig None: already signalled) and wait; the exit status."""
        if self.proc and self.proc.poll() is None:
            if sig:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait()


ANSWER_TYPES = ("progress", "rows", "result")  # the messages of a request (doc/protocol.md)


class Client:
    """One protocol connection. Messages are kept in order; helpers wait for the ones a test wants."""

    def __init__(self, path, hello=True, preexec=None, **hello_fields):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = b""
        self.msgs = []
        self.closed = False
        self.next_id = 1
        self.greeting = self.recv_type("hello")
        if hello:
            self.hello(**hello_fields)

    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())

    def send_raw(self, data):
        self.s.sendall(data)

    def pump(self, timeout=0.0):
        """Read what is there (waiting up to timeout for the first bytes)."""
        if self.closed:
            return False
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return False
        try:
            data = self.s.recv(1 << 20)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                self.msgs.append(json.loads(line))
        return True

    def wait(self, pred, timeout=10.0, what="a message"):
        """The first kept message matching pred (removed from the kept list)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.msgs):
                if pred(m):
                    return self.msgs.pop(i)
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                fail("%s: no %s (closed=%s; last: %s)" % (self.label(), what, self.closed,
                                                          [json.dumps(m)[:160] for m in self.msgs[-5:]]))
            self.pump(min(left, 0.2))

    def label(self):
        return "client (%s)" % self.greeting.get("user", "?") if hasattr(self, "greeting") else "client"

    def recv_type(self, t, timeout=10.0):
        return self.wait(lambda m: m.get("type") == t, timeout, "'%s' message" % t)

    def hello(self, **fields):
        req = {"op": "hello", "proto": 1, "client": "test"}
        req.update(fields)
        r = self.request(req)
        if r["status"] != "ok":
            fail("hello refused: %s" % r)
        self.role = r["role"]
        self.snapshot = self.recv_type("snapshot")
        self.synced = self.recv_type("synced")
        return r

    def request(self, req, timeout=30.0):
        """Send a request (an id is added), return its result; its progress messages are kept in self.progress."""
        req = dict(req)
        req.setdefault("id", self.next_id)
        self.next_id += 1
        self.send(req)
        rid = req["id"]
        res = self.wait(lambda m: m.get("type") == "result" and m.get("id") == rid, timeout,
                        "result of %s" % req.get("op"))
        # the answers only: a stream event carries its journal id in the same field
        mine = lambda m: m.get("id") == rid and m.get("type") in ANSWER_TYPES
        self.progress = [m for m in self.msgs if mine(m)]
        self.msgs = [m for m in self.msgs if not mine(m)]
        return res

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(0.05)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


AS_GUARD = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]            # nobody: guard
AS_OPERATOR = ["setpriv", "--reuid", "65534", "--regid", "65534", "--groups", "20"]       # + dialout: operator
SYS_PYTHON = "/usr/bin/python3"  # readable by other users (a pyenv under /root is not)


def need_root():
    if os.geteuid() != 0:
        print("SKIP: needs root to run clients as other users (setpriv)")
        sys.exit(77)


def ctl(*args, sock=None, as_user=None, timeout=60):
    """portierctl ARGS (through the daemon at sock), optionally as another user; (rc, stdout, stderr)."""
    cmd = (as_user or []) + [PORTIERCTL] + (["--socket", sock] if sock else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def ctl_exit(args, want=0, timeout=120):
    """portierctl ARGS, which must exit with want (else the test fails); the finished process."""
    p = subprocess.run([PORTIERCTL] + list(args), capture_output=True, text=True, timeout=timeout)
    if p.returncode != want:
        fail("portierctl %s: exit %d, not %d: %s %s" % (" ".join(args), p.returncode, want, p.stdout, p.stderr))
    return p


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def write_files(tmp, *files):
    """Each (NAME, TEXT) written to tmp/NAME; their paths, in order."""
    return [write(os.path.join(tmp, name), text) for name, text in files]


def audit_rows(client, n=200):
    """The last n rows of the daemon's audit, newest first, as the client may read them."""
    client.request({"op": "audit", "limit": n})
    return [x for m in client.progress if m["type"] == "rows" for x in m["rows"]]


def panel_data_audit(client, n):
    """The panel-data requests among the last n rows of the audit, after checking that exactly one of them was
    refused: the guard's write (user nobody, action panel-data)."""
    data = [x for x in audit_rows(client, n) if x["action"] in ("panel-data", "panel-data-get")]
    denied = [x for x in data if x["result"] == "denied"]
    if len(denied) != 1 or denied[0]["user"] != "nobody" or denied[0]["action"] != "panel-data":
        fail("the guard's refusal in the audit: %s" % denied)
    return data


def private_locks(tmp):
    """This test's portierctl and portierd take their device locks in tmp/locks, apart from other tests'."""
    os.environ["PORTIER_LOCK_DIR"] = os.path.join(tmp, "locks")
    os.makedirs(os.environ["PORTIER_LOCK_DIR"])


def raw_session(sock, requests, as_user=None, timeout=60):
    """Hand-written JSON lines over the socket as another user (a python3 of the system run through setpriv):
    the daemon's greeting, then each request and every message until its result. Returns the messages."""
    script = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
out = [json.loads(f.readline())]
for line in sys.stdin:
    req = json.loads(line)
    f.write((json.dumps(req) + "\n").encode()); f.flush()
    while True:
        m = json.loads(f.readline())
        out.append(m)
        if m.get("type") == "result" and m.get("id") == req.get("id"):
            break
print(json.dumps(out))
"""
    p = subprocess.run((as_user or []) + [SYS_PYTHON, "-c", script, sock], input="\n".join(json.dumps(r) for r in requests),
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        fail("raw session failed: %s" % p.stderr[-1000:])
    return json.loads(p.stdout)


def tmpdir(name):
    d = tempfile.mkdtemp(prefix="portier-%s." % name, dir=os.environ.get("TMPDIR", "/tmp"))
    os.chmod(d, 0o755)  # clients under other uids must reach the socket
    return d


def interrupt(proc, timeout=10):
    """A client process (portierctl watch ...) ended as by Ctrl-C: SIGINT, then SIGKILL if it has not exited
    within timeout seconds."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def cleanup(tmp, *things):
    for t in things:
        try:
            t.stop()
        except Exception:  # cleanup must go on
            pass
    if os.environ.get("PORTIER_TEST_KEEP"):
        print("kept %s" % tmp, file=sys.stderr)
        return
    shutil.rmtree(tmp, ignore_errors=True)


def links_up(client, n=3, timeout=30):
    """Wait until the client's view has every device up (snapshot, then device changes)."""
    state = {d["index"]: d["link"] for d in client.snapshot["devices"]}

    def up():
        client.pump(0.1)
        for m in list(client.msgs):
            if m.get("type") == "device":
                state[m["index"]] = m["link"]
        return sum(1 for v in state.values() if v == "up") >= n
    wait_until(up, timeout, "links up")
