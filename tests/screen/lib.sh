# Shared helpers for screen tests: the real console in a private tmux server with a fixed size.
set -euo pipefail
: "${PORTIER:?}"
SOCK="portier-test-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portier-screen.XXXXXX")
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config"
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- screen:" >&2; screen_text >&2 || true; exit 1; }
pass() { echo "ok: $*"; }

# start COLSxROWS CMD...: run CMD in a fresh session (TERM, locale and env passed explicitly).
start() {
    local size=$1; shift
    tmux -L "$SOCK" -f /dev/null new-session -d -s t -x "${size%x*}" -y "${size#*x}" \
        "env TERM=${TERM_OVERRIDE:-screen-256color} LANG=C.UTF-8 $*; echo EXITED \$?; sleep 30"
}
screen_text() { tmux -L "$SOCK" capture-pane -p -t t; }
keys() { tmux -L "$SOCK" send-keys -t t "$@"; }
resize() { tmux -L "$SOCK" resize-window -t t -x "$1" -y "$2"; }
# wait_text REGEX [SECONDS]: until the screen matches.
wait_text() {
    local deadline=$((SECONDS + ${2:-15}))
    while [ $SECONDS -lt $deadline ]; do
        screen_text | grep -Eq -- "$1" && return 0
        sleep 0.1
    done
    fail "timed out waiting for /$1/"
}
# wait_gone REGEX [SECONDS]
wait_gone() {
    local deadline=$((SECONDS + ${2:-15}))
    while [ $SECONDS -lt $deadline ]; do
        screen_text | grep -Eq -- "$1" || return 0
        sleep 0.1
    done
    fail "timed out waiting for /$1/ to go away"
}
# A site with no reachable device (ports nobody listens on): every door action must fail cleanly.
write_config() {
    mkdir -p "$TMP/config/portier"
    cat >"$TMP/site.conf" <<CONF
site = { name = "Test site"; };
roles = { default = "${ROLE:-technician}"; };
panels = (
  { name = "Panel A"; host = "127.0.0.1"; port = 9; model = "C3-200"; doors = ["Front", "Back"]; }
);
emergency = { doors = "all"; confirm = "${CONFIRM:-none}"; restore = "previous"; };
journal = { path = "$TMP/journal.db"; };
ui = { colours = true; bell = "alarm"; };
CONF
    chmod 600 "$TMP/site.conf"
}
