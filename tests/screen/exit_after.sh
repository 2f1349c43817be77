# The real console against the simulators for a fixed number of ticks (--exit-after), as CI runs it under
# ASan/UBSan: it must draw, take keys while events flow, exit 0 by itself, restore the terminal and report
# nothing on stderr (sanitizer reports go there).
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-200 --seed 11 --activity 50
start_nix1 --slaves 2 --configured --seed 4 --activity 5
write_live_config
# 300 ticks (30 s of the console's own time): the keys below take about 5 s (the time is printed), so they are
# all taken before it even on a machine busy with other tests.
start 100x30 "$PORTIER" -c "$TMP/site.conf" --exit-after 300 2>"$TMP/stderr"
t0=$SECONDS
wait_up 60
for k in 2 3 4 5 6 1 '?' Escape 3 o Escape j h r; do keys "$k"; sleep 0.2; done
keys 5; wait_text 'Alarms waiting'
keys F12; wait_text 'EMERGENCY UNLOCK' 30
keys R; keys y
echo "keys taken within $((SECONDS - t0)) s of the start"
wait_text 'EXITED 0' 60
[ ! -s "$TMP/stderr" ] || fail "stderr not empty: $(head -c 2000 "$TMP/stderr")"
rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$TMP/journal.db")
[ "$rows" -gt 50 ] || fail "only $rows events journaled"
pass "--exit-after run with live devices: exit 0, clean stderr, $rows events journaled"
