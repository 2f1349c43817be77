#!/usr/bin/env bash
# portierctl nix1 against portier-sim nix1 over a pseudo-terminal: commands, error codes, broadcasts,
# scratch commissioning, dead-slave polling, emergency on/off restoring every slave (file transfer and
# provisioning are in nix1_files.sh, which runs at the same time on its own bus). The line starts at the default 9600 baud and is switched to 115200
# after commissioning: nothing after it is about the line rate (sim_nix1_timing times the line at 9600), and
# at 9600 the file transfers alone took a minute.
source "$(dirname "$0")/lib.sh"

S1=270100000000006B
S2=2702000000000032
S3=2703000000000005
NEW=27AA000000000000
BAUD=9600
export XDG_STATE_HOME="$TMP/state"

nix1_sim sim --slaves 3 --configured
PTS=$sim_BUS

ctl() { py ctl "$TMP/sim.ctl" "$*"; }   # send one control line to the simulator, print its answer
nix1() { "$PORTIERCTL" nix1 "$PTS" --baud $BAUD "$@"; }
jnix1() { "$PORTIERCTL" --json nix1 "$PTS" --baud $BAUD "$@"; }

# --- status and simple get/set round trips ---
expect_rc 0 nix1 --slave $S1 status
grep -q 'version *SIM-1.0' "$TMP/out" || fail "status lacks the version"
expect_rc 0 nix1 --slave $S1 timeouts set valid=7 bad=9
expect_rc 0 jnix1 --slave $S1 timeouts get
grep -q '"valid":7,"bad":9' "$TMP/out" || fail "timeouts not stored: $(cat "$TMP/out")"
expect_rc 0 nix1 --slave $S1 cron set '* 7-18 * * 1-5'
expect_rc 0 jnix1 --slave $S1 cron get
grep -q '"cron":"\* 7-18 \* \* 1-5"' "$TMP/out" || fail "cron get: $(cat "$TMP/out")"
expect_rc 0 nix1 --slave $S1 cron-mode set 2
expect_rc 0 nix1 --slave $S1 lock 2 on
expect_rc 0 jnix1 --slave $S1 lock 2 get
grep -q '"locked":"1"' "$TMP/out" || fail "lock get"
expect_rc 0 nix1 --slave $S1 overdrive 1 on
expect_rc 0 jnix1 --slave $S1 overdrive get
grep -q '"overdrive1":"1"' "$TMP/out" || fail "overdrive get"
expect_rc 0 nix1 --slave $S1 time sync
expect_rc 0 jnix1 --slave $S1 time get
expect_rc 0 nix1 --slave $S1 user set alice 1350028169 3
expect_rc 0 jnix1 --slave $S1 user get alice
grep -q '"increment":"3"' "$TMP/out" || fail "user get: $(cat "$TMP/out")"
expect_rc 0 nix1 --slave $S1 right set alice 1 '* * * * *'
expect_rc 0 nix1 --slave $S1 right get alice 1
expect_rc 0 nix1 --slave $S1 right del alice 1
expect_rc 0 nix1 --slave $S1 user del alice
expect_rc 0 nix1 --slave $S1 key add 1349094539 'IdRPKslg\?/'
expect_rc 0 jnix1 --slave $S1 key get
expect_rc 0 nix1 --slave $S1 key del 1349094539
pass "get/set round trips"

# --- error codes the slave answers: exit 1 with the code's name (raw sends a request unchecked) ---
expect_rc 1 nix1 --slave $S1 raw 'Nb300';                  grep -q '50 ERROR_PARAM' "$TMP/err" || fail "50"
expect_rc 1 nix1 --slave $S1 raw 'Nh61 * * * *';           grep -q '60 ERROR_SYNTAX' "$TMP/err" || fail "60"
expect_rc 1 nix1 --slave $S1 raw 'Nu1\t70000';             grep -q '76 ERROR_UNIT' "$TMP/err" || fail "76"
expect_rc 1 nix1 --slave $S1 raw 'Nk99999999999\tk';       grep -q '74 ERROR_TIMESTAMP' "$TMP/err" || fail "74"
expect_rc 1 nix1 --slave $S1 user get nobody;              grep -q '4E ERROR_NOT_FOUND' "$TMP/err" || fail "4E"
expect_rc 1 nix1 --slave $S1 raw 'Xb';                     grep -q '43 ERROR_CMD' "$TMP/err" || fail "43"
expect_rc 1 nix1 --slave $S1 raw 'Qw3';                    grep -q '41 ERROR_ARG' "$TMP/err" || fail "41"
expect_rc 1 nix1 --broadcast unit 1 set 5;                 grep -q '64 ERROR_NOBROADCAST' "$TMP/err" || fail "64"
pass "error codes and exit statuses"

# --- a mistyped address is silence on the bus: the no-answer says which byte is wrong and what it should be ---
expect_rc 3 nix1 --timeout 300 --slave 2701000000000001 version
grep -q '^2701000000000001 Qn: no answer; check the address: its last byte should be the CRC-8 of the others, 6B (270100000000006B), not 01$' \
    "$TMP/err" || fail "no answer from a mistyped address: $(cat "$TMP/err")"
expect_rc 3 jnix1 --timeout 300 --slave 2701000000000001 version
python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); assert o["error"]=="no answer" and "(270100000000006B)" in o["hint"], o' \
    "$TMP/out" || fail "--json no answer from a mistyped address: $(cat "$TMP/out")"
expect_rc 3 nix1 --timeout 300 --slave 27AA0000000000CF version
grep -q '^27AA0000000000CF Qn: no answer$' "$TMP/err" || fail "no answer from a valid address that is absent: $(cat "$TMP/err")"
pass "no answer from a mistyped address names its CRC byte and the valid address; an absent slave is just no answer"

# --- the same mistakes typed as commands are refused with the reason before the port is even opened (exit 2):
# against a port that does not exist, so that opening it would have been exit 3 ---
bad() { # bad REGEX ARGS...: exit 2, the reason on stderr, a usage line, and nothing sent (-v traces no request)
    local want=$1; shift
    expect_rc 2 "$PORTIERCTL" -v nix1 "$TMP/no-such-port" "$@"
    grep -q -- "$want" "$TMP/err" || fail "refusal of '$*' does not say '$want': $(cat "$TMP/err")"
    grep -q '^usage: portierctl' "$TMP/err" || fail "refusal of '$*' has no usage line"
    ! grep -q '^>>' "$TMP/err" || fail "'$*' sent something"
}
bad 'bad: 300 is too large (the maximum is 255)'   --slave $S1 timeouts set bad=300
bad 'minute'                                        --slave $S1 cron set '61 * * * *'
bad 'fewer than 5 fields'                           --slave $S1 cron set '* * * *'
bad 'fewer than 5 fields'                           --slave $S1 right set alice 1 '* * *'
bad 'UNIT: 70000 is too large (the maximum is 65534)' --slave $S1 unit 1 set 70000
bad 'TS: 99999999999 is too large'                  --slave $S1 key add 99999999999 k
bad 'PROBE: 3 is too large (the maximum is 2)'      --slave $S1 lock 3 on
bad "expected get, on or off, not 'maybe'"          --slave $S1 lock 1 maybe
bad 'needs --slave ADDR, --broadcast or --scratch'  lock 1 on
bad 'needs --slave ADDR (or --scratch)'             --broadcast status
bad 'not a slave address'                           --slave 27XX status
bad 'is the broadcast address: use --broadcast'     --slave 27FFFFFFFFFFFF4E status
bad 'not a NiX1 rate'                               --baud 9601 --slave $S1 version
bad '--rewind: -1 is negative'                      --slave $S1 entries --rewind -1
bad 'NAME: longer than 12 characters'               --slave $S1 file put "$TMP/sim.ctl" FAR_TOO_LONG_NAME.TXT
bad 'not a file name the slave accepts'             --slave $S1 file put "$TMP/sim.ctl" NINECHARS.T
bad 'no-such-file: No such file or directory'       --slave $S1 file put "$TMP/no-such-file" A.TXT
bad 'open: MINUTES: 0 is below the minimum 1'       --slave $S1 open 0
bad 'open: MINUTES: 1441 is too large'              --slave $S1 open 1441
bad 'emergency: expected on or off'                 --slave $S1 emergency maybe
# a long cron is refused whole (the join that used to overflow its buffer past ~320 characters)
long=$(printf '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 %.0s' $(seq 1 12))   # 432 characters
bad 'is not a cron expression'                      --slave $S1 cron set $long
bad 'is not a cron expression'                      --slave $S1 right set alice 1 $long
pass "bad arguments refused before the port is opened, with the reason"
expect_rc 3 nix1 --slave 27BB000000000000 status
pass "an absent slave is exit 3"

# --- broadcasts get no reply, yet every slave acts ---
expect_rc 0 nix1 --broadcast timeouts set valid=11
grep -q 'sent' "$TMP/out" || fail "broadcast not reported as sent"
for s in $S1 $S2 $S3; do
    expect_rc 0 jnix1 --slave $s timeouts get
    grep -q '"valid":11' "$TMP/out" || fail "$s missed the broadcast"
done
pass "broadcast"

# --- scratch commissioning ---
ctl add-unconfigured $NEW | grep -q '^ok' || fail "add-unconfigured"
expect_rc 0 jnix1 --scratch scan --assign 7,8
grep -q "\"slave\":\"$NEW\"" "$TMP/out" || fail "scan did not reveal $NEW: $(cat "$TMP/out")"
expect_rc 0 jnix1 --slave $NEW unit 2 get
grep -q '"unit":"8"' "$TMP/out" || fail "units not assigned"
expect_rc 3 nix1 --scratch scan   # configured now: nobody answers scratch
pass "scratch commissioning"

# --- the rest at 115200: every slave switches after the broadcast, the master follows ---
expect_rc 0 nix1 --broadcast baud set 115200
BAUD=115200
for s in $S1 $S2 $S3 $NEW; do
    expect_rc 0 jnix1 --slave $s version
done
pass "line switched to $BAUD baud"

# --- a dead slave among live ones does not stall polling ---
ctl mute slave=$S3 on >/dev/null
ctl present slave=$S1 probe=1 uid=ghost >/dev/null
ctl present slave=$S2 probe=1 uid=ghost >/dev/null
expect_rc 0 jnix1 --slave $S1,$S2 entries          # drain what is pending
grep -q '"uid":"ghost"' "$TMP/out" || fail "entries did not read the pending entries"
timeout 30 "$PORTIERCTL" --json nix1 "$PTS" --baud $BAUD --slave $S1,$S3,$S2 entries --follow >"$TMP/follow" 2>&1 &
FPID=$!
WAIT_TIMEOUT=10 wait_file_line "$TMP/follow" "\"slave\":\"$S2\",\"state\":\"online\"" >/dev/null || fail "S2 never polled"
ctl present slave=$S1 probe=2 uid=ghost2 >/dev/null
ctl present slave=$S2 probe=2 uid=ghost2 >/dev/null
# follow until both entries and the dead slave's state are in (at most 10 s), then stop it
WAIT_TIMEOUT=10 wait_file_line "$TMP/follow" "\"type\":\"access\",\"slave\":\"$S1\".*\"uid\":\"ghost2\"" >/dev/null || true
WAIT_TIMEOUT=10 wait_file_line "$TMP/follow" "\"type\":\"access\",\"slave\":\"$S2\".*\"uid\":\"ghost2\"" >/dev/null || true
WAIT_TIMEOUT=10 wait_file_line "$TMP/follow" "\"slave\":\"$S3\",\"state\":\"offline\"" >/dev/null || true
kill $FPID 2>/dev/null || true
wait $FPID || true
grep -q "\"type\":\"access\",\"slave\":\"$S1\".*\"uid\":\"ghost2\"" "$TMP/follow" || { cat "$TMP/follow"; fail "S1 entry not polled"; }
grep -q "\"type\":\"access\",\"slave\":\"$S2\".*\"uid\":\"ghost2\"" "$TMP/follow" || { cat "$TMP/follow"; fail "S2 entry not polled past the dead S3"; }
grep -q "\"slave\":\"$S3\",\"state\":\"offline\"" "$TMP/follow" || fail "dead slave not reported offline"
ctl mute slave=$S3 off >/dev/null
pass "dead slave does not stall polling"

# the line lost under --follow (an adapter unplugged): said once while the bus retries, and its return
timeout 60 "$PORTIERCTL" nix1 "$PTS" --baud $BAUD --slave $S1 entries --follow >"$TMP/follow2" 2>&1 &
FPID=$!
WAIT_TIMEOUT=10 wait_file_line "$TMP/follow2" "^$S1 is online" >/dev/null || { cat "$TMP/follow2"; fail "S1 never polled"; }
ctl unplug on >/dev/null
WAIT_TIMEOUT=10 wait_file_line "$TMP/follow2" '^line lost: .* \(reopening\)$' >/dev/null \
    || { cat "$TMP/follow2"; fail "the line's loss not said under --follow"; }
# the unplugged port's path is gone, as an adapter's is (left, it would name a pty number the next pty gets)
[ ! -L "$PTS" ] && [ ! -e "$PTS" ] || fail "the unplugged port's path $PTS is still there"
sleep 3 # unplugged for a while: the bus's reopening fails several times meanwhile
ctl unplug off >/dev/null
WAIT_TIMEOUT=20 wait_file_line "$TMP/follow2" '^line back: ' >/dev/null \
    || { cat "$TMP/follow2"; fail "the line's return not said under --follow"; }
kill $FPID 2>/dev/null || true
wait $FPID || true
[ "$(grep -c '^line lost' "$TMP/follow2")" -eq 1 ] || { cat "$TMP/follow2"; fail "the loss said more than once"; }
pass "--follow says when the line is lost and when it is back"

# --- emergency on/off restores every slave's cron, cron mode and locks ---
expect_rc 0 nix1 --slave $S2 cron set '0-30 6 * * *'
expect_rc 0 nix1 --slave $S2 lock 1 on
expect_rc 0 nix1 --slave $S3 cron clear
expect_rc 0 nix1 --slave $S1,$S2,$S3 emergency on
for s in $S1 $S2 $S3; do
    expect_rc 0 jnix1 --slave $s cron get;  grep -q '"cron":"\* \* \* \* \*"' "$TMP/out" || fail "$s not open"
    expect_rc 0 jnix1 --slave $s lock 1 get; grep -q '"locked":"0"' "$TMP/out" || fail "$s still locked"
done
expect_rc 0 nix1 --slave $S1,$S2,$S3 emergency off
expect_rc 0 jnix1 --slave $S1 cron get;      grep -q '"cron":"\* 7-18 \* \* 1-5"' "$TMP/out" || fail "S1 cron"
expect_rc 0 jnix1 --slave $S1 cron-mode get; grep -q '"cron_mode":"2"' "$TMP/out" || fail "S1 cron mode"
expect_rc 0 jnix1 --slave $S1 lock 2 get;    grep -q '"locked":"1"' "$TMP/out" || fail "S1 lock 2"
expect_rc 0 jnix1 --slave $S2 cron get;      grep -q '"cron":"0-30 6 \* \* \*"' "$TMP/out" || fail "S2 cron"
expect_rc 0 jnix1 --slave $S2 lock 1 get;    grep -q '"locked":"1"' "$TMP/out" || fail "S2 lock 1"
expect_rc 1 nix1 --slave $S3 cron get      # no cron again (60)
pass "emergency on/off restores"

# --- a slave unreachable during the restore is restored when it comes back ---
expect_rc 0 nix1 --slave $S1,$S2,$S3 emergency on
ctl mute slave=$S3 on >/dev/null
jnix1 --slave $S1,$S2,$S3 --wait 60 emergency off >"$TMP/off.out" 2>"$TMP/off.err" &
OFF=$!
# back once the restore has given it up as unreachable (the CLI then waits for it)
wait_file_line "$TMP/off.out" "\"slave\":\"$S3\",\"ok\":false,\"unreachable\":true" >/dev/null \
    || { cat "$TMP/off.out" "$TMP/off.err" >&2; fail "S3 not reported unreachable during the restore"; }
ctl mute slave=$S3 off >/dev/null
rc=0; wait $OFF || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/off.out" "$TMP/off.err" >&2; fail "emergency off --wait: exit $rc"; }
expect_rc 1 nix1 --slave $S3 cron get
pass "unreachable slave restored when back"

# --- hold open / release ---
expect_rc 0 nix1 --slave $S2 hold on
expect_rc 0 jnix1 --slave $S2 cron-mode get; grep -q '"cron_mode":"1"' "$TMP/out" || fail "hold mode"
expect_rc 0 nix1 --slave $S2 hold off
expect_rc 0 jnix1 --slave $S2 cron get; grep -q '"cron":"0-30 6 \* \* \*"' "$TMP/out" || fail "release cron"
pass "hold and release"

# --- remaining commands ---
expect_rc 0 nix1 --slave $S3 mode set 1
expect_rc 0 jnix1 --slave $S3 mode get;   grep -q '"mode":"1"' "$TMP/out" || fail "mode"
expect_rc 0 nix1 --slave $S3 unit 1 clear
expect_rc 0 nix1 --slave $S3 general-status set 00
expect_rc 0 nix1 --slave $S3 tmp clear
expect_rc 0 jnix1 --slave $S3 version
expect_rc 0 nix1 --slave $S3 entries --rewind 5
expect_rc 0 nix1 --slave $S3 restart
WAIT_TIMEOUT=15 wait_for nix1 --slave $S3 version || fail "slave did not come back after restart"
pass "remaining commands"
echo "all nix1 cli checks passed"
