# Shared helpers for screen tests: the real console in a private tmux server with a fixed size.
set -euo pipefail
: "${PORTIER:?}"
SOCK="portier-test-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portier-screen.XXXXXX")
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config"
SIMPIDS=()
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    local p
    for p in "${SIMPIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${SIMPIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- screen:" >&2; screen_text >&2 || true; exit 1; }
pass() { echo "ok: $*"; }

# start COLSxROWS CMD...: run CMD in a fresh session (TERM, locale and env passed explicitly). The session is
# named $SESSION (default t): with SESSION=a / SESSION=b, two consoles run side by side and every helper below
# drives $SESSION.
start() {
    local size=$1; shift
    local try
    for try in 1 2 3 4 5; do
        tmux -L "$SOCK" -f /dev/null new-session -d -s "${SESSION:-t}" -x "${size%x*}" -y "${size#*x}" \
            "env TERM=${TERM_OVERRIDE:-screen-256color} LANG=C.UTF-8 $*; echo EXITED \$?; sleep 60" \; \
            set-option -g status off && break
        sleep 0.5 # a previous server still shutting down
    done
    tmux -L "$SOCK" resize-window -t "${SESSION:-t}" -x "${size%x*}" -y "${size#*x}" 2>/dev/null || true
}
# stop_tmux: end the session's server and wait until it is gone (a new one may then start).
stop_tmux() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    local i
    for i in $(seq 50); do
        tmux -L "$SOCK" list-sessions >/dev/null 2>&1 || return 0
        sleep 0.1
    done
}
screen_text() { tmux -L "$SOCK" capture-pane -p -t "${SESSION:-t}"; }
# keys KEY...: as typed. A key right after an Esc waits until 60 ms after it, as a person types: within the
# console's escape delay (25 ms) Esc and the key are one Alt+key, as terminals send Alt.
LAST_ESC_US=0
keys() {
    local now
    now=${EPOCHREALTIME/./}
    if [ $((now - LAST_ESC_US)) -lt 60000 ]; then
        sleep "0.0$(printf '%05d' $((60000 - (now - LAST_ESC_US))))"
    fi
    tmux -L "$SOCK" send-keys -t "${SESSION:-t}" "$@"
    case "${*: -1}" in Escape|Esc|escape) LAST_ESC_US=${EPOCHREALTIME/./} ;; *) LAST_ESC_US=0 ;; esac
}
resize() { tmux -L "$SOCK" resize-window -t "${SESSION:-t}" -x "$1" -y "$2"; }
# wait_text REGEX [SECONDS]: until the screen matches.
wait_text() {
    local deadline=$((SECONDS + ${2:-15}))
    while [ $SECONDS -lt $deadline ]; do
        screen_text | grep -Eq -- "$1" && return 0
        sleep 0.1
    done
    fail "timed out waiting for /$1/"
}
# wait_full_size: the console draws its full screen again (its tab bar) after a resize from below the minimum size.
# tmux gives the pane its new size a moment after resize-window returns: a key typed before that is one typed in the
# small window, where only the emergency and quit keys act.
wait_full_size() { wait_text '^ 1 Events +2 iButton' "${1:-15}"; }
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

# ---- live devices: simulators with their control commands on a FIFO (fd kept open by this shell) ----
# free_port: a port free on 127.0.0.1 now, below the kernel's range of ephemeral ports (tests/integration/ports.py),
# so that no other test's port-0 bind and no outgoing connection takes it while it is not listened on.
free_port() {
    PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")/../integration" \
        python3 -c 'from ports import free_port_block; print(free_port_block(1))'
}
# wait_file REGEX FILE [SECONDS]
wait_file() {
    local deadline=$((SECONDS + ${3:-20}))
    while [ $SECONDS -lt $deadline ]; do
        grep -Eq -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "timed out waiting for /$1/ in $2: $(cat "$2" 2>/dev/null)"
}
# start_c3 ARGS...: a C3 simulator on a free port; sets C3_PORT; `c3 CMD` sends it a control command.
start_c3() {
    mkfifo "$TMP/c3.in"
    "$PORTIER_SIM" c3 --port 0 "$@" <"$TMP/c3.in" >"$TMP/c3.out" 2>"$TMP/c3.err" &
    SIMPIDS+=($!)
    exec 7>"$TMP/c3.in"
    wait_file 'listening on 127.0.0.1:[0-9]+' "$TMP/c3.out"
    C3_PORT=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$TMP/c3.out")
    C3_PORT=${C3_PORT#*:}   # bound by the simulator itself: no window in which another test takes the port
}
c3() { echo "$*" >&7; }
# start_nix1 ARGS...: a NiX1 bus simulator on a pseudo-terminal; sets NIX1_PTY and NIX1_ADDRS (sorted);
# `nix1 CMD` sends it a control command.
start_nix1() {
    mkfifo "$TMP/nix1.in"
    mkdir -p "$TMP/usd"
    "$PORTIER_SIM" nix1 --dir "$TMP/usd" "$@" <"$TMP/nix1.in" >"$TMP/nix1.out" 2>"$TMP/nix1.err" &
    SIMPIDS+=($!)
    exec 8>"$TMP/nix1.in"
    wait_file 'uSD cards' "$TMP/nix1.out"
    NIX1_PTY=$(grep -Eo '/dev/pts/[0-9]+' "$TMP/nix1.out" | head -1)
    NIX1_ADDRS=$(ls "$TMP/usd" | grep -E '^[0-9A-Fa-f]{16}$' | sort | tr '\n' ' ')
}
nix1() { echo "$*" >&8; }
# A site with one live C3-200 panel (doors Front, Back; aux Siren) and, with start_nix1 first, one bus whose
# first slave "Vault" has probe doors "Vault in" (unit 1) and "Vault out" (unit 2).
write_live_config() {
    local a1
    a1=$(echo "${NIX1_ADDRS:-}" | awk '{print $1}')
    {
        echo "site = { name = \"Live site\"; };"
        echo "roles = { default = \"${ROLE:-technician}\"; };"
        echo "panels = ("
        echo "  { name = \"Panel A\"; host = \"127.0.0.1\"; port = $C3_PORT; model = \"C3-200\"; poll_ms = 200;"
        echo "    doors = [\"Front\", \"Back\"]; aux = [\"Siren\"]; }"
        echo ");"
        if [ -n "$a1" ]; then
            echo "buses = ( { name = \"Bus 1\"; port = \"$NIX1_PTY\"; baud = 9600; poll_ms = 200; slaves = ("
            echo "  { address = \"$a1\"; name = \"Vault\";"
            echo "    probe1 = { door = \"Vault in\"; unit = 1; }; probe2 = { door = \"Vault out\"; unit = 2; }; } ); } );"
        fi
        echo "emergency = { doors = \"all\"; confirm = \"${CONFIRM:-none}\"; restore = \"previous\"; };"
        echo "journal = { path = \"$TMP/journal.db\"; };"
        echo "ui = { colours = true; bell = \"alarm\"; };"
    } >"$TMP/site.conf"
    chmod 600 "$TMP/site.conf"
    "$PORTIER" --check-config "$TMP/site.conf" >/dev/null || fail "generated config rejected: $("$PORTIER" --check-config "$TMP/site.conf" 2>&1)"
}
# live_site SEED: a live C3-200 (its simulator seeded with SEED) and a bus with one configured slave, the site
# written for them (write_live_config).
live_site() {
    start_c3 --model C3-200 --seed "$1"
    start_nix1 --slaves 1 --configured
    write_live_config
}
# screen_whole WHEN: what is on screen is what a full redraw (Ctrl-L) draws: no half-written sequence, nothing
# stale. The status line's clock and the message line, which may change between the two captures, are left out.
screen_whole() {
    local try before after
    for try in 1 2 3 4 5; do
        before=$(screen_text | sed '1d;$d' | sed '$d')
        keys C-l
        sleep 0.3 # the redraw has no text of its own to wait for
        after=$(screen_text | sed '1d;$d' | sed '$d')
        [ "$before" = "$after" ] && return 0
    done
    diff <(echo "$before") <(echo "$after") >&2
    fail "the screen after $1 differs from a redraw"
}

# wait_up: every device of the site is online (status line "links N/N up").
wait_up() { wait_text 'links ([0-9]+)/\1 up' "${1:-30}"; }
# c3_status REGEX [SECONDS]: ask the C3 simulator for panel 0's status until its newest answer matches.
c3_status() {
    local deadline=$((SECONDS + ${2:-20}))
    while [ $SECONDS -lt $deadline ]; do
        c3 status panel=0
        sleep 0.3
        grep -a 'ok panel=0 ' "$TMP/c3.out" | tail -1 | grep -Eq -- "$1" && return 0
    done
    fail "C3 simulator status never matched /$1/: $(grep -a 'ok panel=0 ' "$TMP/c3.out" | tail -1)"
}

# ---- portierd (tests of the console as its client; PORTIERD and PORTIERCTL set) ----
# start_portierd: portierd on $TMP/site.conf, socket $PD_SOCK, state in $TMP/pd; sets PD_PID.
PD_SOCK="$TMP/portierd.sock"
start_portierd() {
    mkdir -p "$TMP/pd"
    "$PORTIERD" -c "$TMP/site.conf" --socket "$PD_SOCK" --state-dir "$TMP/pd" --foreground 2>>"$TMP/portierd.log" &
    PD_PID=$!
    SIMPIDS+=($PD_PID)
    local i
    for i in $(seq 100); do [ -S "$PD_SOCK" ] && return 0; sleep 0.1; done
    fail "portierd did not start: $(cat "$TMP/portierd.log")"
}
ctl() { "$PORTIERCTL" --socket "$PD_SOCK" "$@"; }
# two_users_site: the live site (write_live_config first) for two Unix users when run as root: root the technician,
# nobody with group dialout ("B") the operator, portierd's socket for the group nogroup. Sets AS_B, the prefix
# that runs a command as B (empty when not root: then both are this user), and WHO_B, how portierd names B.
two_users_site() {
    if [ "$(id -u)" -eq 0 ]; then
        sed -i 's/^roles = .*/roles = { default = "guard"; map = ( { user = "root"; role = "technician"; }, { group = "dialout"; role = "operator"; } ); };/' \
            "$TMP/site.conf"
        echo 'daemon = { group = "nogroup"; };' >>"$TMP/site.conf"
        chmod 711 "$TMP" # the second user reaches the socket, nothing else
        AS_B="setpriv --reuid 65534 --regid 65534 --groups 20"
        WHO_B='nobody \(operator\)'
    else
        echo "not root: both consoles run as $(id -un)"
        AS_B=""
        WHO_B="$(id -un) \\(technician\\)"
    fi
}
