# Shared helpers for integration tests (sourced). Everything binds to 127.0.0.1 or pseudo-terminals.
set -euo pipefail

: "${PORTIER_SIM:?}" "${PORTIERCTL:?}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portier-it.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

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
        if grep -Eq "$2" "$1" 2>/dev/null; then grep -Em1 "$2" "$1"; return 0; fi
        sleep 0.05
    done
    return 1
}

# expect_rc WANT CMD... : run CMD, fail unless its exit status is WANT. Output goes to $TMP/out.
expect_rc() {
    local want=$1; shift
    local rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$TMP/out" "$TMP/err" >&2; fail "expected exit $want, got $rc: $*"; }
}
