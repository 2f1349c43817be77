#!/usr/bin/env bash
# The long run with real consoles: two `portier` consoles in tmux (as two Unix users when run as root: root the
# technician, nobody with group dialout the operator) and a `portierctl watch` on one portierd for 10 minutes
# (PORTIER_SOAK_SECONDS), one simulated C3-200 and a NiX1 bus with one slave. Card swipes with unique numbers all
# along: each must show on both screens (within 10 s) and be in the journal exactly once; every quarter an alarm
# acknowledged in one console must be acknowledged in the other, an emergency from portierctl must show in both
# with its counts and be restored from one of them. At the end: no link dropped, no gap, the watch saw every swipe.
#   bench/daemon_soak_consoles.sh [BUILD_DIR]      (default ./build)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
B=$(readlink -f "${1:-build}")
export PORTIER=$B/tui/portier PORTIER_SIM=$B/sim/portier-sim PORTIERD=$B/daemon/portierd PORTIERCTL=$B/cli/portierctl
for x in "$PORTIER" "$PORTIER_SIM" "$PORTIERD" "$PORTIERCTL"; do
    [ -x "$x" ] || { echo "build $x first (ninja -C $B)" >&2; exit 2; }
done
SOAK=${PORTIER_SOAK_SECONDS:-600}
source tests/screen/lib.sh
export PORTIER_LOCK_DIR="$TMP/locks"
start_c3 --model C3-200 --seed 3
start_nix1 --slaves 1 --configured
write_live_config
two_users_site
start_portierd
SESSION=a
SESSION=a start 160x50 "$PORTIER" --socket "$PD_SOCK"
SESSION=b start 160x50 env -u XDG_CONFIG_HOME $AS_B "$PORTIER" --socket "$PD_SOCK"
SESSION=a wait_up; SESSION=b wait_up
"$PORTIERCTL" --socket "$PD_SOCK" --json watch >"$TMP/watch.out" 2>"$TMP/watch.err" &
SIMPIDS+=($!)
since=$(date +%s)
sleep 1

problems=0
problem() { echo "PROBLEM: $*" >&2; problems=$((problems + 1)); }
# seen SESSION REGEX SECONDS: whether the screen shows REGEX within SECONDS (no exit)
seen() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        SESSION=$1 screen_text | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    return 1
}
gone() { # gone SESSION REGEX SECONDS
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        SESSION=$1 screen_text | grep -Eq -- "$2" || return 0
        sleep 0.1
    done
    return 1
}
round() { # the cross-client checks of one quarter: an alarm, an emergency
    local q=$1 first=a other=b
    [ $((q % 2)) -eq 0 ] && first=b other=a
    c3 force door=2
    for t in a b; do seen $t '[1-9] alarms?' 30 || problem "quarter $q: no alarm on console $t"; SESSION=$t keys 5; done
    sleep 1
    SESSION=$first keys F4
    for t in a b; do seen $t 'No alarm waiting' 20 || problem "quarter $q: alarm not acknowledged on console $t"; done
    c3 close door=2
    ctl emergency on >/dev/null 2>&1 || problem "quarter $q: portierctl emergency on"
    for t in a b; do
        SESSION=$t keys 1
        seen $t 'EMERGENCY UNLOCK . 4 doors: 4 confirmed, 0 pending, 0 failed' 40 ||
            problem "quarter $q: console $t did not show the emergency's counts"
    done
    SESSION=$other keys F11; seen $other 'End the emergency' 10 || problem "quarter $q: no restore dialog"
    SESSION=$other keys y
    for t in a b; do gone $t 'EMERGENCY UNLOCK' 40 || problem "quarter $q: the emergency stayed on console $t"; done
}

n=0
next_round=1
end=$((SECONDS + SOAK))
while [ $SECONDS -lt $end ]; do
    card=$((700000 + n))
    c3 swipe door=1 card=$card granted=1
    n=$((n + 1))
    for t in a b; do
        seen $t "card $card " 10 || problem "card $card never on console $t"
    done
    if [ $((SECONDS)) -ge $((end - SOAK + next_round * SOAK / 4)) ] && [ $next_round -lt 4 ]; then
        round $next_round
        next_round=$((next_round + 1))
    fi
done
sleep 2

# the journal: every swipe exactly once; no link drop, no gap that lost events; the watch saw every swipe
ctl --json journal --limit 1000000 --since "@$since" >"$TMP/journal.json"
read -r missing twice drops gaps w < <(python3 - "$TMP/journal.json" "$TMP/watch.out" "$n" <<'PY'
import collections, json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
n = int(sys.argv[3])
cards = collections.Counter(int(m.group(1)) for r in rows for m in [re.search(r"card (7\d{5}) ", r.get("text", ""))] if m)
missing = sum(1 for i in range(n) if cards[700000 + i] == 0)
twice = sum(1 for i in range(n) if cards[700000 + i] > 1)
drops = sum(1 for r in rows if r.get("kind") == "link" and r.get("code_name") != "up")
gaps = sum(1 for r in rows if r.get("kind") == "gap" and r.get("severity") != "normal")
seen = set()
for l in open(sys.argv[2]):
    m = re.search(r"card (7\d{5}) ", l)
    if m:
        seen.add(int(m.group(1)))
print(missing, twice, drops, gaps, len(seen))
PY
)
[ "$missing" = 0 ] && [ "$twice" = 0 ] || problem "journal: $missing swipes missing, $twice more than once (of $n)"
[ "$drops" = 0 ] || problem "$drops link rows other than up during the run"
[ "$gaps" = 0 ] || problem "$gaps gap rows that lost events during the run"
[ "$w" = "$n" ] || problem "portierctl watch saw $w of $n swipes"
echo "soak: ${SOAK} s, $n swipes on both consoles and in the journal (missing $missing, twice $twice), $((next_round - 1))" \
     "alarm/emergency rounds, link drops $drops, gaps $gaps, watch $w/$n; problems: $problems"
[ $problems = 0 ]
