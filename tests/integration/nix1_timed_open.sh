#!/usr/bin/env bash
# The NiX1 fail-safe timed open computes the same minute window whichever front end asks: `portierctl nix1 PORT
# open N` (the door module directly) and the site's `portierctl -c CONF door timed-open DOOR N` (the site
# adapter, as the console does). The slave's clock runs 5 h 17 min ahead of this host's and its zone is +0530,
# so a window computed on the host's clock or zone would name another hour: both paths must read the slave's
# clock (Qt) and put the window that is "now" for the slave, read back from the simulated card's CONFIG.TXT.
source "$(dirname "$0")/lib.sh"

S1=270100000000006B
export XDG_STATE_HOME="$TMP/state"
mkdir -p "$TMP/usd"
nix1_sim sim --slaves 1 --configured --dir "$TMP/usd"
PTS=$sim_BUS
CONF_TXT="$TMP/usd/$S1/CONFIG.TXT"
nix1() { "$PORTIERCTL" nix1 "$PTS" --slave $S1 --state "$TMP/cli.state" "$@"; }

OFFSET=$((5 * 3600 + 17 * 60))
expect_rc 0 nix1 raw "Nt$(($(date +%s) + OFFSET))	+0530"
expect_rc 0 nix1 time get
grep -q '+0530' "$TMP/out" || fail "the slave's zone was not set: $(cat "$TMP/out")"

# the window the slave must get for N minutes from its own "now" (its local time = UTC + 5:30)
expected() {
    python3 - "$OFFSET" "$1" <<'PY'
import sys, time
off, n = int(sys.argv[1]), int(sys.argv[2])
t = time.gmtime(int(time.time()) + off + 330 * 60)
first, last = t.tm_min, min(t.tm_min + n - 1, 59)   # a window is cut at the hour (closes early, never late)
mins = str(first) if first == last else "%d-%d" % (first, last)
print("%s %d %d %d *" % (mins, t.tm_hour, t.tm_mday, t.tm_mon))
PY
}
host_window() {
    python3 - "$1" <<'PY'
import sys, time
t = time.localtime(); n = int(sys.argv[1])
first, last = t.tm_min, min(t.tm_min + n - 1, 59)
print("%s %d %d %d *" % (str(first) if first == last else "%d-%d" % (first, last), t.tm_hour, t.tm_mday, t.tm_mon))
PY
}
cron_on_card() { sed -n 's/^CRON\t//p' "$CONF_TXT"; }
# start between 3 and 40 s into a minute, so that one path's run does not cross into the next one (the slave's
# clock was set from a whole second and may lag this host's by up to a second)
wait_minute_start() {
    local s
    while s=$(date +%S | sed 's/^0//'); [ "$s" -gt 40 ] || [ "$s" -lt 3 ]; do sleep 0.5; done
}

cat >"$TMP/site.conf" <<CONF
site = { name = "Timed"; };
roles = { default = "operator"; };
buses = ( { name = "Bus T"; port = "$PTS"; baud = 9600; poll_ms = 200; slaves = (
  { address = "$S1"; name = "Vault"; probe1 = { door = "Vault in"; unit = 1; }; } ); } );
journal = { path = "$TMP/journal.db"; };
CONF
chmod 600 "$TMP/site.conf"

for round in 1 2; do
    wait_minute_start
    want=$(expected 10)
    # 1. the CLI path
    expect_rc 0 "$PORTIERCTL" --json nix1 "$PTS" --slave $S1 --state "$TMP/cli.state" open 10
    cli_json=$(grep '"type":"door"' "$TMP/out" | head -1)
    cli=$(cron_on_card)
    expect_rc 0 nix1 hold off
    [ "$(sed -n 's/^CRON_MODE\t//p' "$CONF_TXT")" = 0 ] || fail "the CLI's release did not put back cron mode 0"
    # 2. the site path (the console's action)
    expect_rc 0 "$PORTIERCTL" -c "$TMP/site.conf" door timed-open "Vault in" 10
    site=$(cron_on_card)
    want_after=$(expected 10)
    expect_rc 0 "$PORTIERCTL" -c "$TMP/site.conf" door release "Vault in"
    [ "$want" = "$want_after" ] || { echo "round $round crossed a minute, again"; continue; }
    [ "$cli" = "$want" ] || fail "CLI window \"$cli\", the slave's clock wants \"$want\""
    [ "$site" = "$want" ] || fail "site window \"$site\", the slave's clock wants \"$want\" (CLI: \"$cli\")"
    echo "$cli_json" | grep -qF "\"cron\":\"$want\"" || fail "the CLI did not report the window: $cli_json"
    [ "$(host_window 10)" != "$want" ] || fail "test is void: the host's window equals the slave's"
    pass "one window through both paths: \"$want\" (host clock would give \"$(host_window 10)\")"
    [ -z "$(cron_on_card)" ] || fail "the release left a cron: $(cron_on_card)"
    exit 0
done
fail "every round crossed a minute boundary"
