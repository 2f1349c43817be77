# `portier --demo` killed with kill -9: its simulators and daemon go with it, and the next `--demo` removes the
# directory it left (and any of its processes still running); a live demo's directory and processes are left alone.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}"
DT="$TMP/dt"
mkdir -p "$DT"
# run.sh NAME: the demo in $DT, its console's pid in $TMP/NAME.pid
cat >"$TMP/run.sh" <<EOF
#!/bin/sh
echo \$\$ >"$TMP/\$1.pid"
exec env TMPDIR="$DT" PORTIER_DAEMON="$PORTIERD" "$PORTIER" --demo
EOF
chmod +x "$TMP/run.sh"
demo_dirs() { find "$DT" -mindepth 1 -maxdepth 1 -name 'portier-demo.*' | sort; }
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
wait_gone_pid() { # PID SECONDS
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do gone "$1" && return 0; sleep 0.1; done
    return 1
}

# a live demo (a) that must survive everything below
SESSION=a start 100x30 "$TMP/run.sh" a
SESSION=a wait_up
LIVE=$(demo_dirs)
[ "$(echo "$LIVE" | wc -l)" = 1 ] || fail "one demo directory expected: $LIVE"
# a demo (b) killed with -9
SESSION=b start 100x30 "$TMP/run.sh" b
SESSION=b wait_up
B=$(cat "$TMP/b.pid")
BDIR=$(comm -13 <(echo "$LIVE") <(demo_dirs))
[ -d "$BDIR" ] || fail "no directory for the second demo"
CHILDREN=$(pgrep -P "$B" | tr '\n' ' ')
[ "$(echo $CHILDREN | wc -w)" -ge 4 ] || fail "the demo's simulators and daemon not found: '$CHILDREN'"
# a process of b's demo that outlived it (as a child stuck in its shutdown would)
setsid env PORTIER_DEMO_DIR="$BDIR" sleep 300 </dev/null >/dev/null 2>&1 &
STRAY=$!
SIMPIDS+=($STRAY)
kill -9 "$B"
for p in $CHILDREN; do
    wait_gone_pid "$p" 10 || fail "demo process $p ($(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)) outlived its console"
done
[ -d "$BDIR" ] || fail "the killed demo's directory vanished by itself"
# directories without the lock file (a portier that took none): one a minute old that no process names goes,
# one whose simulator still runs (its path on the command line) stays, as does one just made
mkdir -m 700 "$DT/portier-demo.OLD001" "$DT/portier-demo.OLD002" "$DT/portier-demo.NEW001"
touch -d '-5 minutes' "$DT/portier-demo.OLD001" "$DT/portier-demo.OLD002"
# python3 itself, not a wrapper script on PATH that execs it later (pyenv's shims exec several times: a command line
# read in the middle of an exec is empty, and the directory would look abandoned)
PY=$(python3 -c 'import sys; print(sys.executable)')
setsid "$PY" -c 'import time; time.sleep(300)' nix1 --dir "$DT/portier-demo.OLD002/usd" </dev/null >/dev/null 2>&1 &
OLDSIM=$!
SIMPIDS+=($OLDSIM)
for i in $(seq 50); do tr '\0' ' ' <"/proc/$OLDSIM/cmdline" 2>/dev/null | grep -q OLD002 && break; sleep 0.1; done
tr '\0' ' ' <"/proc/$OLDSIM/cmdline" | grep -q OLD002 || fail "the simulator naming OLD002 did not start"
# the next demo (c) cleans up b's leftovers, and only those
SESSION=c start 100x30 "$TMP/run.sh" c
SESSION=c wait_up
[ -d "$BDIR" ] && fail "the killed demo's directory $BDIR is still there: $(ls -A "$BDIR")"
wait_gone_pid "$STRAY" 5 || fail "a process of the killed demo is still running"
[ -d "$LIVE" ] || fail "the live demo's directory was removed"
[ -e "$LIVE/owner.lock" ] || fail "the live demo's lock file was removed"
A=$(cat "$TMP/a.pid")
for p in $A $(pgrep -P "$A"); do gone "$p" && fail "a process of the live demo ($p) was stopped"; done
[ -d "$DT/portier-demo.OLD001" ] && fail "an abandoned directory without a lock file is still there"
[ -d "$DT/portier-demo.OLD002" ] || fail "a directory whose simulator runs was removed"
[ -d "$DT/portier-demo.NEW001" ] || fail "a directory just made was removed"
kill "$OLDSIM"; rm -rf "$DT/portier-demo.OLD002" "$DT/portier-demo.NEW001"
[ "$(demo_dirs | wc -l)" = 2 ] || fail "two demo directories expected: $(demo_dirs)"
SESSION=a wait_up
# quitting removes a demo's own directory; what is left is the other live one's
SESSION=c keys q; SESSION=c wait_text 'EXITED 0'
SESSION=a keys q; SESSION=a wait_text 'EXITED 0'
[ -z "$(demo_dirs)" ] || fail "directories left after both demos quit: $(demo_dirs)"
# a directory kept on purpose (PORTIER_DEMO_KEEP) is not taken for a killed demo's
SESSION=k start 100x30 env PORTIER_DEMO_KEEP=1 "$TMP/run.sh" k
SESSION=k wait_up
SESSION=k keys q; SESSION=k wait_text 'EXITED 0'
KEPT=$(demo_dirs)
[ -n "$KEPT" ] && [ -e "$KEPT/kept" ] || fail "the kept directory is not marked: $KEPT"
SESSION=m start 100x30 "$TMP/run.sh" m
SESSION=m wait_up
[ -d "$KEPT" ] || fail "a directory kept on purpose was removed"
SESSION=m keys q; SESSION=m wait_text 'EXITED 0'
[ "$(demo_dirs)" = "$KEPT" ] || fail "left after the demos: $(demo_dirs)"
pass "a killed demo's processes die with it; the next demo removes its directory, never a live one's"
