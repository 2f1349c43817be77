# A C3 panel that answers again is online within 2 s: the console's panel powers off for 20 s (its port refuses
# connections meanwhile, so the backoff grows to 8-16 s: the console's is 0.5 s doubling to 30 s), and once it
# accepts again the status line says it is up within 2 s (a bare TCP connect probe every second while backing
# off), not after the rest of the backoff. Without the probe this takes up to the backoff delay.
source "$(dirname "$0")/journal_lib.sh"
# Its port is one no other test's simulator can take while the panel is off (free_port: not an ephemeral one).
start_c3 --model C3-200 --restart-ms 20000 --port "$(free_port)"
write_journal_config "$TMP/journal.db"
start 140x40 "$PORTIER" -c "$TMP/site.conf"
wait_up
wait_text 'console started'
c3 restart panel=0
wait_text 'links 0/1 up, 1 down'
# Wait for the port to accept again (a bare connect, closed at once), then time the console.
python3 - "$C3_PORT" <<'PY' || fail "the simulated panel never came back"
import socket, sys, time
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
        s.close()
        sys.exit(0)
    except OSError:
        s.close()
        time.sleep(0.02)
sys.exit(1)
PY
banner_within 2000 'links 1/1 up'
# It works again: a swipe shows.
c3 swipe door=1 card=77 granted=1
wait_text 'card 77 '
keys q; wait_text 'EXITED 0'
# One "down" and one "up" for the outage: no link event per probe.
downs=$(sql "$TMP/journal.db" "SELECT count(*) FROM events WHERE kind = 3 AND code_name = 'down'")
ups=$(sql "$TMP/journal.db" "SELECT count(*) FROM events WHERE kind = 3 AND code_name = 'up'")
[ "$downs" = 1 ] && [ "$ups" = 2 ] || fail "link events: $downs down, $ups up (want 1 and 2)"
pass "panel up within 2 s of accepting again after a 20 s power cut"
stop_tmux
