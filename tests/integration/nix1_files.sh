#!/usr/bin/env bash
# portierctl nix1 against portier-sim nix1 over a pseudo-terminal: file transfer under garbling and muting,
# and provisioning twice (the second run changes nothing). Split from nix1_cli.sh so both run at once. The
# line runs at 115200 baud: the transfers are about the protocol, not the line rate.
source "$(dirname "$0")/lib.sh"

S1=270100000000006B
S2=2702000000000032
BAUD=115200
export XDG_STATE_HOME="$TMP/state"

nix1_sim sim --slaves 3 --configured --baud $BAUD
PTS=$sim_BUS

ctl() { py ctl "$TMP/sim.ctl" "$*"; }   # send one control line to the simulator, print its answer
nix1() { "$PORTIERCTL" nix1 "$PTS" --baud $BAUD "$@"; }
jnix1() { "$PORTIERCTL" --json nix1 "$PTS" --baud $BAUD "$@"; }
# at_least FILE REGEX N: FILE has at least N lines matching REGEX (bytes, not characters)
at_least() { [ "$(LC_ALL=C grep -ac -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }

# --- file transfer with garbled and lost packets ---
# The faults are placed by count of the slave's replies before each upload starts (the simulator garbles or
# withholds the N-th reply from now), so they land mid-transfer whatever the machine's load; the -v trace of the
# packets acknowledged shows that the transfer went on after them.
head -c 2500 /dev/urandom | base64 -w 60 >"$TMP/DATA.TXT"
expect_rc 0 nix1 --slave $S2 file put "$TMP/DATA.TXT"
upload() { # upload NAME: file put DATA.TXT as NAME in the background; JSON in $TMP/out, trace in $UPERR
    UPERR="$TMP/up.$1.err"
    : >"$UPERR"   # exists and is empty before anything waits on it
    "$PORTIERCTL" -v --json nix1 "$PTS" --baud $BAUD --slave $S2 file put "$TMP/DATA.TXT" "$1" \
        >"$TMP/out" 2>"$UPERR" &
    UP=$!
}
ACKED=$'^<< [0-9A-F]*06Ny\t'        # a packet the slave acknowledged
GARBLED=$'^<< .*[\x80-\xff]'         # a reply with a garbled (non-ASCII) byte
ctl garble slave=$S2 after=8 | grep -q '^ok' || fail "garble"
ctl garble slave=$S2 after=20 | grep -q '^ok' || fail "garble"
upload DATA2.TXT
rc=0; wait $UP || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/out" "$UPERR" >&2; fail "upload under garbling: exit $rc"; }
grep -q '"ok":true' "$TMP/out" || fail "upload under garbling: $(cat "$TMP/out")"
at_least "$UPERR" "$GARBLED" 2 || fail "two garbled replies were expected during the upload: $(cat "$UPERR")"
# acknowledged packets after the last garbled reply: the transfer went on
LC_ALL=C awk -v g="$GARBLED" -v a="$ACKED" '$0 ~ g { n = 0; next } $0 ~ a { n++ } END { exit !(n >= 3) }' "$UPERR" ||
    fail "upload did not go on after a garbled reply: $(cat "$UPERR")"
ctl mute slave=$S2 on after=10 | grep -q '^ok' || fail "mute"
upload DATA3.TXT
# the lost packet restarts the transfer from Dy; the slave is back for the restart
WAIT_TIMEOUT=60 wait_for at_least "$UPERR" $'^>> [0-9A-F]*Dy$' 2 ||
    fail "no restart after a lost packet: $(tail -20 "$UPERR")"
ctl mute slave=$S2 off | grep -q '^ok' || fail "unmute"
rc=0; wait $UP || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/out" "$UPERR" >&2; fail "upload with a lost packet: exit $rc"; }
grep -q '"ok":true' "$TMP/out" || fail "upload with a lost packet: $(cat "$TMP/out")"
grep -q '"restarts":[12]' "$TMP/out" || fail "a lost packet must restart the transfer: $(cat "$TMP/out")"
expect_rc 0 nix1 --slave $S2 file get DATA3.TXT "$TMP/back.txt"
cmp -s "$TMP/DATA.TXT" "$TMP/back.txt" || fail "downloaded file differs"
expect_rc 0 jnix1 --slave $S2 file ls TXT
grep -q '"name":"DATA3.TXT"' "$TMP/out" || fail "file ls"
expect_rc 0 nix1 --slave $S2 file cp DATA3.TXT COPY.TXT
expect_rc 0 nix1 --slave $S2 file sum COPY.TXT
expect_rc 0 nix1 --slave $S2 file rm COPY.TXT
expect_rc 1 nix1 --slave $S2 file rm COPY.TXT; grep -q '4E' "$TMP/err" || fail "rm twice"
pass "file transfer"

# --- provisioning twice changes nothing the second time ---
mkdir -p "$TMP/srv"
printf '1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n' >"$TMP/srv/keys.txt"
printf '1\tReception\n2\tMain Office\n3\tCEO\n' >"$TMP/srv/units.txt"
printf 'Arthur Dent\t1350028169\t3\nuser2\t0\t0\nFord\t0\t1\n' >"$TMP/srv/users.txt"
printf '1\tArthur Dent\t* 8-17 * * *\n2\tuser2\t* 7-19 * 1-8 1,4-5\n3\tFord\t* * * * *\n' >"$TMP/srv/cron.txt"
expect_rc 0 jnix1 --slave $S1,$S2 provision "$TMP/srv"
grep -q '"changed_slaves":2' "$TMP/out" || fail "first provisioning: $(cat "$TMP/out")"
expect_rc 0 jnix1 --slave $S1,$S2 provision "$TMP/srv"
grep -q '"changed_slaves":0,"commands":0,"files_pushed":0,"records":0,"deleted":0,"verified":2' "$TMP/out" \
    || fail "second provisioning changed something: $(cat "$TMP/out")"
expect_rc 0 nix1 --slave $S1 file get 1U.A
grep -q '^Arthur Dent' "$TMP/out" || fail "rights file not on the slave"
pass "provisioning is idempotent"

echo "all nix1 file checks passed"
