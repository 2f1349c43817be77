# Shared helpers for integration tests (sourced). Everything binds to 127.0.0.1 or pseudo-terminals.
set -euo pipefail

: "${PORTIER_SIM:?}" "${PORTIERCTL:?}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portier-it.XXXXXX")
PIDS=()
PY_PID=""
cleanup() {
    local p i
    # the newest first, each waited for: clients (portier, portierd, portierctl) started after their simulators
    # are gone before the simulators' ports and pseudo-terminals are freed, so none reopens a number that another
    # test's simulator gets next
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        p=${PIDS[i]}
        [ -n "$p" ] || continue
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [ -n "$PY_PID" ] && kill "$PY_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# ---- one python3 helper for the whole test ----
# Starting python3 costs about 0.2 s of CPU here and tests make dozens of small requests (control lines to
# the simulators, JSON fields, free ports), so one helper process serves them all. A request is one line on
# the FIFO $PY_REQ naming its own reply FIFO, so subshells and background jobs may use it too.
PY_REQ="$TMP/py.req"
mkfifo "$PY_REQ"
exec {PY_REQ_FD}<>"$PY_REQ"   # held open, so a request written before the helper has started is kept
PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" python3 -u - "$PY_REQ" <<'PY' &
import json, os, socket, sys
from simctl import control_line

def ctl(path, line, timeout="10"):
    """One control line to a simulator's unix socket; its one-line answer."""
    return control_line(path, line, float(timeout))

def json_get(path, key):
    """KEY (dotted, list indices as numbers) of the first JSON line of PATH; strings bare, the rest as JSON."""
    with open(path) as f:
        v = json.loads(f.readline())
    for k in key.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    return v if isinstance(v, str) else json.dumps(v)

def port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return str(p)

def port_block(n):
    """A first port of N free ones in a row (tests/integration/ports.py), for a simulator of N panels."""
    sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests", "integration"))
    from ports import free_port_block
    return str(free_port_block(int(n)))

HELD = []

def closed_port():
    """A TCP port on 127.0.0.1 that refuses connections for the whole test: bound here and never listened on,
    so no other test's simulator can take it between our requests (a port merely free now can be)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    HELD.append(s)
    return str(s.getsockname()[1])

OPS = {"ctl": ctl, "json": json_get, "port": port, "port_block": port_block, "closed_port": closed_port}
with os.fdopen(os.open(sys.argv[1], os.O_RDWR), "rb") as req:
    for raw in req:
        reply, op, *args = raw.rstrip(b"\n").decode().split("\x1f")
        try:
            rc, out = 0, OPS[op](*args)
        except Exception as e:  # reported to the caller, who decides
            rc, out = 1, "%s: %s" % (type(e).__name__, e)
        fd = os.open(reply, os.O_WRONLY)
        os.write(fd, ("%d\x1f%s\x1e" % (rc, out.replace("\x1e", " "))).encode())
        os.close(fd)
PY
PY_PID=$!
disown "$PY_PID"   # a bare `wait` in a test must not wait for the helper; cleanup ends it

# py OP ARGS...: one request to the helper (ops: ctl SOCKET LINE [TIMEOUT_S], json FILE KEY, port,
# port_block N, closed_port); prints the answer; exit status 1 when the request failed (the answer says why). Arguments are single lines.
py() {
    local reply="$TMP/py.$BASHPID" fd answer IFS=$'\x1f'
    [ -p "$reply" ] || mkfifo "$reply"
    exec {fd}<>"$reply"
    printf '%s\n' "$reply$IFS$*" 1<>"$PY_REQ"
    answer=""
    IFS= read -r -d $'\x1e' -t 60 -u "$fd" answer || { exec {fd}<&-; echo "py $1: no answer" >&2; return 1; }
    exec {fd}<&-
    printf '%s\n' "${answer#*$'\x1f'}"
    [ "${answer%%$'\x1f'*}" = 0 ]
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now (for a simulator about to start).
free_port() { py port; }
# closed_port: a TCP port on 127.0.0.1 that refuses connections until the test ends (an unreachable device).
closed_port() { py closed_port; }

# wait_for CMD... : retry CMD until it succeeds, for up to $WAIT_TIMEOUT seconds (default 10).
wait_for() {
    local deadline=$((SECONDS + ${WAIT_TIMEOUT:-10}))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# wait_port PORT: wait until 127.0.0.1:PORT accepts connections.
wait_port() { wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"; }

# wait_file_line FILE REGEX: wait until FILE has a line matching REGEX; prints that line.
wait_file_line() {
    local deadline=$((SECONDS + ${WAIT_TIMEOUT:-10}))
    while [ $SECONDS -lt $deadline ]; do
        if grep -aEq "$2" "$1" 2>/dev/null; then grep -aEm1 "$2" "$1"; return 0; fi
        sleep 0.05
    done
    return 1
}

# nix1_sim NAME ARGS...: start `portier-sim nix1` with ARGS, its control socket $TMP/NAME.ctl and its output in
# $TMP/NAME.out; waits for its bus and its control socket; sets ${NAME}_BUS (tcp://HOST:PORT, or $TMP/NAME.tty: the
# simulator's link to its pty, gone when it exits, so that nothing left running opens a reused /dev/pts number).
nix1_sim() {
    local name=$1; shift
    local out="$TMP/$name.out" ctl="$TMP/$name.ctl" where link=()
    [[ " $* " == *" --tcp "* ]] || link=(--link "$TMP/$name.tty")
    "$PORTIER_SIM" nix1 --control "$ctl" --no-stdin "${link[@]}" "$@" >"$out" 2>&1 &
    PIDS+=($!)
    WAIT_TIMEOUT=20 wait_file_line "$out" 'bus on ' >/dev/null || { cat "$out" >&2; fail "simulator $name did not start"; }
    wait_for test -S "$ctl" || fail "simulator $name: no control socket"
    where=$(grep -o 'bus on [^(]*' "$out" | head -1 | sed 's/^bus on //; s/ *$//')
    case "$where" in tcp\ *) where="tcp://${where#tcp }" ;; esac
    printf -v "${name}_BUS" '%s' "$where"
}

# expect_rc WANT CMD... : run CMD, fail unless its exit status is WANT. Output goes to $TMP/out.
expect_rc() {
    local want=$1; shift
    local rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$TMP/out" "$TMP/err" >&2; fail "expected exit $want, got $rc: $*"; }
}
