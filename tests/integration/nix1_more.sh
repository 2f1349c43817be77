#!/usr/bin/env bash
# portierctl nix1 against portier-sim nix1, the parts nix1_cli.sh leaves out: firmware upload + Nn (busy,
# restart, success and a failed flash), baud set (the slaves switch after the reply, the master follows,
# a slave left at the old rate is deaf), the fail-safe timed open (§5.14: the window cron matches the
# slave's own clock, the door closes by itself, release restores), key rotation across several slaves,
# and the tcp:// transport.
source "$(dirname "$0")/lib.sh"

S1=270100000000006B
S2=2702000000000032
S3=2703000000000005
export XDG_STATE_HOME="$TMP/state"

# start_sim NAME ARGS...: a simulator with a control socket $TMP/NAME.ctl, its files in $TMP/NAME.sd; sets PORT
start_sim() {
    local name=$1; shift
    nix1_sim "$name" --dir "$TMP/$name.sd" "$@"
    local bus="${name}_BUS"
    PORT=${!bus}
}

ctl() { py ctl "$TMP/$1.ctl" "$2"; }   # ctl NAME LINE: one control line to simulator NAME, prints its answer
# field NAME SLAVE KEY: one key=value of the simulator's status for SLAVE
field() { ctl "$1" "status slave=$2" | tr ' ;' '\n\n' | sed -n "s/^$3=//p" | head -1; }
# field_is NAME SLAVE KEY VALUE: whether that field has that value now (for wait_for)
field_is() { [ "$(field "$1" "$2" "$3")" = "$4" ]; }

# ---------------------------------------------------------------- firmware
# A flash takes seconds of simulated busy time and a restart, so the good flash runs on bus fw in the
# background while the failed-then-good flash runs on a second bus, fw2.
start_sim fw --slaves 2 --configured --baud 38400
FWPORT=$PORT
start_sim fw2 --slaves 2 --configured --baud 38400
FW2PORT=$PORT
nix1() { "$PORTIERCTL" nix1 "$FWPORT" --baud 38400 "$@"; }
jnix1() { "$PORTIERCTL" --json nix1 "$FWPORT" --baud 38400 "$@"; }
head -c 3000 /dev/urandom >"$TMP/FW0102.BIN"
expect_rc 0 nix1 --slave $S1 general-status set 00
"$PORTIERCTL" -v --json nix1 "$FWPORT" --baud 38400 --slave $S1 firmware "$TMP/FW0102.BIN" 0 >"$TMP/fw.out" 2>"$TMP/fw.err" &
FW=$!

ctl fw2 "flash-fail slave=$S2 on" | grep -q '^ok' || fail "flash-fail"
expect_rc 1 "$PORTIERCTL" --json nix1 "$FW2PORT" --baud 38400 --slave $S2 firmware "$TMP/FW0102.BIN" 0
grep -q '"type":"firmware","slave":"'$S2'","ok":false' "$TMP/out" || fail "failed flash not reported: $(cat "$TMP/out")"
grep -q '"code_name":"ERROR_FLASH"' "$TMP/out" || fail "failed flash without 46"
st=$(field fw2 $S2 status)
(( (16#$st & 0x10) != 0 )) || fail "b4 not set after a failed flash (status $st)"
ctl fw2 "flash-fail slave=$S2 off" >/dev/null
expect_rc 0 "$PORTIERCTL" --json nix1 "$FW2PORT" --baud 38400 --slave $S2 firmware "$TMP/FW0102.BIN" 0
grep -q '"type":"firmware","slave":"'$S2'","ok":true' "$TMP/out" || fail "flash after a failure: $(cat "$TMP/out")"
pass "firmware: a failed flash is exit 1 with 46, then a good one succeeds"

rc=0; wait $FW || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/fw.out" "$TMP/fw.err" >&2; fail "firmware: exit $rc"; }
grep -q '"type":"upload".*"ok":true' "$TMP/fw.out" || fail "firmware upload: $(cat "$TMP/fw.out")"
grep -q '"type":"firmware","slave":"'$S1'","ok":true,"status":"[0-9A-F]*","restarted":true,"version":"SIM-1.0"' "$TMP/fw.out" \
    || fail "firmware outcome: $(cat "$TMP/fw.out")"
grep -q "^>> ${S1}NnFW0102.BIN	0\$" "$TMP/fw.err" || fail "no Nn with the uploaded name and retries"
grep -q "^<< ${S1}16Qs" "$TMP/fw.err" || fail "the busy (16) period was not waited out"
expect_rc 0 jnix1 --slave $S1 file sum FW0102.BIN
grep -q "\"size\":\"3000\"" "$TMP/out" || fail "firmware image not on the card"
pass "firmware: upload, Nn, busy, restart, version"

# ---------------------------------------------------------------- timed open (§5.14)
# Slave clock: Saturday 21 Nov 2026 14:30:20 at +0100 (13:30:20 UTC); this host's clock and zone do not matter.
T=$(python3 -c 'import calendar; print(calendar.timegm((2026,11,21,13,30,20)))')
expect_rc 0 nix1 --slave $S1 raw "Nt$T	+0100"
expect_rc 0 nix1 --slave $S1 cron set '0-30 6 * * *'
expect_rc 0 nix1 --slave $S1 cron-mode set 2
[ "$(field fw $S1 door1)" = locked ] || fail "door open before the timed open"
expect_rc 0 nix1 --slave $S1 open 5
grep -q 'closes by itself at' "$TMP/out" || fail "open does not say when it closes"
expect_rc 0 jnix1 --slave $S1 cron get
grep -q '"cron":"30-34 14 21 11 \*"' "$TMP/out" || fail "window cron: $(cat "$TMP/out")"
expect_rc 0 jnix1 --slave $S1 cron-mode get
grep -q '"cron_mode":"1"' "$TMP/out" || fail "timed open mode"
WAIT_TIMEOUT=5 wait_for field_is fw $S1 door1 unlocked \
    || fail "door not open during the window"
[ "$(field fw $S1 window)" = 1 ] || fail "slave not inside its window"
# the window ends on the slave's clock: the door closes by itself (fail-safe, no console needed)
ctl fw "clock slave=$S1 ts=$((T + 5 * 60))" | grep -q '^ok' || fail "clock"
WAIT_TIMEOUT=5 wait_for field_is fw $S1 door1 locked \
    || fail "door still open after the window"
[ "$(field fw $S1 window)" = 0 ] || fail "window still active after its end"
# release restores what was there before
expect_rc 0 nix1 --slave $S1 hold off
expect_rc 0 jnix1 --slave $S1 cron get
grep -q '"cron":"0-30 6 \* \* \*"' "$TMP/out" || fail "cron not restored after the timed open"
expect_rc 0 jnix1 --slave $S1 cron-mode get
grep -q '"cron_mode":"2"' "$TMP/out" || fail "cron mode not restored"
# a window that would cross the hour is cut at the hour (closes early, never late)
ctl fw "clock slave=$S1 ts=$((T + 20 * 60))" >/dev/null   # 14:50:20
expect_rc 0 nix1 --slave $S1 open 30
expect_rc 0 jnix1 --slave $S1 cron get
grep -q '"cron":"50-59 14 21 11 \*"' "$TMP/out" || fail "hour-crossing window: $(cat "$TMP/out")"
expect_rc 0 nix1 --slave $S1 hold off
pass "timed open: window cron on the slave's clock, closes by itself, release restores"

# ---------------------------------------------------------------- baud set
expect_rc 0 nix1 --broadcast baud set 19200
grep -q 'sent' "$TMP/out" || fail "broadcast baud set"
! grep -q 'not changed' "$TMP/err" || fail "the master did not follow on a pty: $(cat "$TMP/err")"
for s in $S1 $S2; do
    WAIT_TIMEOUT=5 wait_for field_is fw $s baud 19200 \
        || fail "$s did not switch to 19200: $(ctl fw "status slave=$s")"
done
expect_rc 0 "$PORTIERCTL" nix1 "$FWPORT" --baud 19200 --slave $S1 file get CONFIG.TXT
grep -q '^BAUDRATE	19200' "$TMP/out" || fail "BAUDRATE not written"
expect_rc 0 "$PORTIERCTL" nix1 "$FWPORT" --baud 19200 --slave $S2 version
# unicast: only S1 switches (the line follows the reply); S2 stays at 19200 and is deaf at 38400
expect_rc 0 "$PORTIERCTL" nix1 "$FWPORT" --baud 19200 --slave $S1 baud set 38400
WAIT_TIMEOUT=5 wait_for field_is fw $S1 baud 38400 || fail "S1 baud"
expect_rc 0 nix1 --slave $S1 version
expect_rc 3 nix1 --slave $S2 version
expect_rc 0 nix1 --slave $S1 baud set 19200      # back: S2 hears the line again
expect_rc 0 "$PORTIERCTL" nix1 "$FWPORT" --baud 19200 --slave $S2 version
expect_rc 0 "$PORTIERCTL" nix1 "$FWPORT" --baud 19200 --broadcast baud set 38400
expect_rc 0 nix1 --slave $S1,$S2 entries
pass "baud set: slaves switch after the reply, the master follows, a slave at the old rate is deaf"

# ---------------------------------------------------------------- key rotation across slaves
start_sim kr --slaves 3 --configured --baud 38400
KRPORT=$PORT
knix1() { "$PORTIERCTL" --json nix1 "$KRPORT" --baud 38400 "$@"; }
mkdir -p "$TMP/srv"
NOW=$(date +%s)
OLD=$((NOW - 40 * 86400)); RECENT=$((NOW - 86400))
printf '%s\trecent-key-ABC\n%s\told-key-XYZ\n' $RECENT $OLD >"$TMP/srv/keys.txt"
expect_rc 0 knix1 --broadcast key add $OLD 'old-key-XYZ'
expect_rc 0 knix1 --broadcast key add $RECENT 'recent-key-ABC'
expect_rc 0 knix1 --slave $S1,$S2,$S3 key rotate "$TMP/srv" --max-age 30
grep -q '"type":"key_rotation".*"pruned":1,"verified":3,"unreachable":0' "$TMP/out" || fail "rotation: $(cat "$TMP/out")"
NEWTS=$(head -1 "$TMP/srv/keys.txt" | cut -f1)
NEWKEY=$(head -1 "$TMP/srv/keys.txt" | cut -f2)
[ "$NEWTS" -ge "$NOW" ] && [ ${#NEWKEY} -eq 24 ] || fail "keys.txt does not start with the new key"
grep -q 'recent-key-ABC' "$TMP/srv/keys.txt" || fail "recent key dropped from keys.txt"
! grep -q 'old-key-XYZ' "$TMP/srv/keys.txt" || fail "old key kept in keys.txt"
[ "$(stat -c %a "$TMP/srv/keys.txt")" != "" ] || fail "keys.txt missing"
for s in $S1 $S2 $S3; do
    expect_rc 0 knix1 --slave $s key get
    grep -qF "\"key_time\":\"$NEWTS\"" "$TMP/out" || fail "$s lacks the new key: $(cat "$TMP/out")"
    expect_rc 0 "$PORTIERCTL" nix1 "$KRPORT" --baud 38400 --slave $s file get KEYS.TXT
    grep -q "^$RECENT	recent-key-ABC\$" "$TMP/out" || fail "$s lost the recent key"
    ! grep -q "old-key-XYZ" "$TMP/out" || fail "$s still holds the pruned key"
done
# a dead slave is reported, the others still verified
ctl kr "mute slave=$S3 on" >/dev/null
expect_rc 3 knix1 --slave $S1,$S3,$S2 key rotate "$TMP/srv"
grep -q '"verified":2,"unreachable":1' "$TMP/out" || fail "rotation with a dead slave: $(cat "$TMP/out")"
ctl kr "mute slave=$S3 off" >/dev/null
pass "key rotation: broadcast Nk, Dk prune, Qk on every slave"

# ---------------------------------------------------------------- tcp:// transport
start_sim tcp --slaves 2 --configured --baud 38400 --tcp 0
TCP=$PORT
case "$TCP" in tcp://127.0.0.1:[0-9]*) ;; *) fail "no tcp port: $TCP" ;; esac
tnix1() { "$PORTIERCTL" nix1 "$TCP" "$@"; }
expect_rc 0 tnix1 --slave $S1 status
grep -q 'version *SIM-1.0' "$TMP/out" || fail "status over tcp"
head -c 1500 /dev/urandom | base64 -w 60 >"$TMP/T.TXT"
expect_rc 0 tnix1 --slave $S2 file put "$TMP/T.TXT"
expect_rc 0 tnix1 --slave $S2 file get T.TXT "$TMP/t.back"
cmp -s "$TMP/T.TXT" "$TMP/t.back" || fail "file round trip over tcp"
ctl tcp "present slave=$S1 probe=1 uid=tcpuser" >/dev/null
expect_rc 0 "$PORTIERCTL" --json nix1 "$TCP" --slave $S1 entries
grep -q '"uid":"tcpuser"' "$TMP/out" || fail "entries over tcp"
expect_rc 0 tnix1 --slave $S1,$S2 emergency on
[ "$(field tcp $S2 door1)" = unlocked ] || fail "emergency over tcp"
expect_rc 0 tnix1 --slave $S1,$S2 emergency off
# baud set over tcp changes only the slaves: the device server's speed is set on the server
expect_rc 0 tnix1 --broadcast baud set 19200
grep -q 'set the device server to 19200' "$TMP/err" || fail "no note about the device server"
WAIT_TIMEOUT=5 wait_for field_is tcp $S1 baud 19200 || fail "tcp baud"
expect_rc 0 tnix1 --slave $S1 version
# a second client replaces the first (serial device server behaviour); the next run still works
expect_rc 0 tnix1 --slave $S2 version
pass "tcp:// transport"
echo "all nix1 extra checks passed"
