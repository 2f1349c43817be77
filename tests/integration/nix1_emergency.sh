#!/usr/bin/env bash
# portierctl nix1 PORT --broadcast emergency on: the unlock goes out first, as a broadcast (spec §5.14), whatever
# the command knows of the bus; then the slaves it knows (--slave, its state file, the configuration) are verified
# and each is reported; slaves it was not told about are unlocked too but said to be unverified. Restore: known
# schedules come back, unknown ones need --locked.
source "$(dirname "$0")/lib.sh"

S1=270100000000006B
S2=2702000000000032
S3=2703000000000005
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/xdg"

nix1_sim sim --slaves 3 --configured --baud 115200
PTS=$sim_BUS

ctl() { py ctl "$TMP/sim.ctl" "$*"; }
field() { ctl "status slave=$1" | tr ' ;' '\n\n' | sed -n "s/^$2=//p" | head -1; }
nix1() { "$PORTIERCTL" nix1 "$PTS" --baud 115200 "$@"; }
# every door of every slave unlocked / locked, as the simulator sees it
all_doors() {
    for s in $S1 $S2 $S3; do
        for d in door1 door2; do [ "$(field $s $d)" = "$1" ] || return 1; done
    done
}
schedules() { # the simulator's cron mode and locks of each slave, as one line
    for s in $S1 $S2 $S3; do printf '%s:%s:%s ' $s "$(field $s cron_mode)" "$(field $s locks)"; done
}

# A site where the doors are normally closed: S1 opens on a schedule (cron mode 2), S2 has probe 1 locked out.
expect_rc 0 nix1 --slave $S1 cron set '0-30 6 * * *'
expect_rc 0 nix1 --slave $S1 cron-mode set 2
expect_rc 0 nix1 --slave $S2 lock 1 on
all_doors locked || fail "doors not locked before the emergency: $(ctl status)"
before=$(schedules)

# ---- nothing known: no --slave, no state file, no configuration ----
expect_rc 0 "$PORTIERCTL" -v nix1 "$PTS" --baud 115200 --broadcast emergency on
all_doors unlocked || fail "not every door unlocked: $(ctl status)"
# the unlock is the first thing on the wire: the four broadcasts of §5.14, nothing read before
grep '^>>' "$TMP/err" | head -4 >"$TMP/first"
printf '>> 27FFFFFFFFFFFF4ENl1\t0\n>> 27FFFFFFFFFFFF4ENl2\t0\n>> 27FFFFFFFFFFFF4ENh* * * * *\n>> 27FFFFFFFFFFFF4ENo1\n' >"$TMP/want"
diff -u "$TMP/want" "$TMP/first" || fail "the unlock broadcast is not the first request"
[ "$(grep -c '^>>' "$TMP/err")" -eq 4 ] || fail "something else was sent: $(grep '^>>' "$TMP/err")"
grep -q 'emergency: unlocking every door of .* by broadcast, then verifying 0 known slaves' "$TMP/out" \
    || fail "no announcement: $(cat "$TMP/out")"
grep -q 'any other slave could not be' "$TMP/out" || fail "unverified slaves not mentioned: $(cat "$TMP/out")"
pass "unknown bus: the broadcast alone unlocks every door, and says nothing could be verified"

# restoring needs to know the slaves; their schedules were never read, so only --locked can close them
expect_rc 2 nix1 emergency off
grep -q 'needs the bus.s slaves' "$TMP/err" || fail "off without slaves: $(cat "$TMP/err")"
expect_rc 0 nix1 --slave $S1,$S2,$S3 emergency off --locked
all_doors locked || fail "emergency off --locked left a door open: $(ctl status)"
for s in $S1 $S2 $S3; do
    [ "$(field $s cron_mode)" = 0 ] || fail "$s cron mode after --locked: $(field $s cron_mode)"
done
pass "emergency off --locked closes slaves whose schedule was not known"

# ---- some slaves known: S1 given, S2 remembered in the state file, S3 not told about ----
expect_rc 0 nix1 --slave $S1 cron set '0-30 6 * * *'
expect_rc 0 nix1 --slave $S1 cron-mode set 2
expect_rc 0 nix1 --slave $S2 lock 1 on
ST2="$TMP/second.state"                  # a state file that knows only S2
expect_rc 0 nix1 --state "$ST2" --slave $S2 hold on     # it now remembers S2's schedule
expect_rc 0 nix1 --state "$ST2" --slave $S2 hold off
all_doors locked || fail "doors not locked before the second emergency: $(ctl status)"
[ "$(schedules)" = "$before" ] || fail "setup differs: $(schedules) vs $before"
expect_rc 0 "$PORTIERCTL" -v --json nix1 "$PTS" --baud 115200 --state "$ST2" --slave $S1 --broadcast emergency on
all_doors unlocked || fail "not every door unlocked (S3 was not named): $(ctl status)"
grep '^>>' "$TMP/err" | head -1 | grep -q '^>> 27FFFFFFFFFFFF4ENl1' || fail "not unlocked first: $(head -3 "$TMP/err")"
python3 - "$TMP/out" "$S1" "$S2" "$S3" <<'PY' || { cat "$TMP/out" >&2; fail "emergency report"; }
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s1, s2, s3 = sys.argv[2:5]
doors = {r["slave"]: r for r in recs if r["type"] == "door"}
assert set(doors) == {s1, s2}, doors          # verified: the one named and the one remembered
assert all(d["ok"] and d["op"] == "emergency on" for d in doors.values()), doors
summ = [r for r in recs if r["type"] == "door_summary"][0]
assert summ["broadcast"] is True and summ["verified"] == 2 and summ["ok"] == 2, summ
PY
pass "S3, unknown to the command, is unlocked by the broadcast; S1 (named) and S2 (remembered) are verified"

# restore: S2 comes back as it was; S1's schedule was never read (left open, and said so)
expect_rc 1 nix1 --state "$ST2" emergency off
grep -q "$S2 emergency off: ok" "$TMP/out" || fail "S2 not restored: $(cat "$TMP/out")"
grep -q "$S1 emergency off: FAILED: previous state unknown" "$TMP/out" || fail "S1: $(cat "$TMP/out")"
[ "$(field $S2 locks)" = "1,0" ] || fail "S2's lock-out not restored: $(field $S2 locks)"
[ "$(field $S2 door1)" = locked ] && [ "$(field $S2 door2)" = locked ] || fail "S2 still open"
pass "emergency off restores what was known and says which could not be restored"

# ---- the configuration names the bus's slaves: every one is verified ----
mkdir -p "$TMP/xdg/portier"
cat >"$TMP/xdg/portier/portier.conf" <<CONF
site = { name = "Bus"; };
buses = ( { name = "B"; port = "$PTS"; baud = 115200;
  slaves = ( { address = "$S1"; probe1 = { door = "A"; unit = 1; }; },
             { address = "$S2"; probe1 = { door = "B"; unit = 2; }; },
             { address = "$S3"; probe1 = { door = "C"; unit = 3; }; } ); } );
CONF
chmod 600 "$TMP/xdg/portier/portier.conf"
expect_rc 0 "$PORTIERCTL" --json nix1 "$PTS" --baud 115200 --state "$TMP/fresh.state" --broadcast emergency on
grep -q '"type":"door_summary".*"ok":3.*"broadcast":true,"verified":3' "$TMP/out" || fail "config slaves: $(cat "$TMP/out")"
expect_rc 0 nix1 --state "$TMP/fresh.state" emergency off --locked
all_doors locked || fail "doors left open: $(ctl status)"
pass "with a configuration, every slave of the bus is verified"
echo "all broadcast emergency checks passed"
