# Every `portierctl c3` command against `portier-sim c3`, in each dialect (session, sessionless, kv).
source "$SRCDIR/tests/integration/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"
CTL=("$PORTIERCTL")

for dialect in session sessionless kv; do
    # a restart takes 300 ms here (3 s by default): the test is that the client comes back, not how late
    c3_sim S --dialect "$dialect" --model C3-400 --restart-ms 300
    T="127.0.0.1:$S_PORT"

    expect_rc 0 "${CTL[@]}" --json c3 "$T" info
    [ "$(json_get "$TMP/out" doors)" = 4 ] || fail "$dialect info doors"
    serial=$(json_get "$TMP/out" serial)
    [ "$(json_get "$TMP/out" model)" = C3-400 ] || fail "$dialect info model: $(cat "$TMP/out")"
    for k in serial firmware readers aux_in aux_out; do json_get "$TMP/out" "$k" >/dev/null || fail "$dialect info $k"; done
    grep -Eq '"datetime":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"' "$TMP/out" || fail "$dialect datetime"
    want=session; [ "$dialect" != sessionless ] || want=sessionless
    [ "$(json_get "$TMP/out" dialect)" = "$want" ] || fail "$dialect: dialect detected as $(json_get "$TMP/out" dialect)"
    expect_rc 0 "${CTL[@]}" c3 "$T" info
    grep -q '^serial' "$TMP/out" || fail "$dialect human info"
    pass "$dialect info"

    expect_rc 0 "${CTL[@]}" --json c3 "$T" params get '~SerialNumber' LockCount FirmVer
    [ "$(json_get "$TMP/out" '~SerialNumber')" = "$serial" ] || fail "$dialect params get ~SerialNumber"
    [ "$(json_get "$TMP/out" LockCount)" = 4 ] || fail "$dialect params get LockCount"
    expect_rc 0 "${CTL[@]}" c3 "$T" params get LockCount
    grep -qx 'LockCount=4' "$TMP/out" || fail "$dialect human params get"
    pass "$dialect params get"

    expect_rc 0 "${CTL[@]}" --json c3 "$T" params set Door1Drivertime=7 Door2Detectortime=30
    expect_rc 0 "${CTL[@]}" --json c3 "$T" params get Door1Drivertime Door2Detectortime
    [ "$(json_get "$TMP/out" Door1Drivertime)" = 7 ] || fail "$dialect params set did not stick: $(cat "$TMP/out")"
    [ "$(json_get "$TMP/out" Door2Detectortime)" = 30 ] || fail "$dialect params set (2)"
    # 35 names: two GET requests of 30 and 5, answered as one object.
    names=(); for i in $(seq 1 35); do names+=("Door$(( (i % 4) + 1 ))Drivertime"); done
    expect_rc 0 "${CTL[@]}" --json c3 "$T" params get "${names[@]}"
    pass "$dialect params set/get"

    for cmd in "door open 1" "door open 2 9" "door close 1" "door hold 3" "door normal-open 2 on" \
               "door normal-open 2 off" "aux on 1" "aux on 2 4" "aux off 1" "alarms cancel"; do
        # shellcheck disable=SC2086
        expect_rc 0 "${CTL[@]}" --json c3 "$T" $cmd
        [ "$(json_get "$TMP/out" ok)" = true ] || fail "$dialect $cmd"
    done
    expect_rc 0 "${CTL[@]}" c3 "$T" door open 1 3
    grep -q '^ok: door 1' "$TMP/out" || fail "$dialect human door open: $(cat "$TMP/out")"
    pass "$dialect door/aux/alarms"

    expect_rc 0 "${CTL[@]}" --json c3 "$T" time sync
    synced=$(json_get "$TMP/out" datetime)
    expect_rc 0 "${CTL[@]}" --json c3 "$T" time get
    got=$(json_get "$TMP/out" datetime)
    python3 - "$synced" "$got" <<'PY' || fail "$dialect time sync/get: $synced vs $got"
import sys, datetime
a, b = (datetime.datetime.fromisoformat(x) for x in sys.argv[1:3])
now = datetime.datetime.now().replace(microsecond=0)
assert abs((b - a).total_seconds()) <= 5 and abs((b - now).total_seconds()) <= 5
PY
    pass "$dialect time sync/get"

    # Events: follow, then make things happen on the panel.
    "${CTL[@]}" -v --json c3 "$T" events --follow --count 3 --interval 100 >"$TMP/ev.out" 2>"$TMP/ev.err" &
    EV=$!; PIDS+=($EV)
    wait_file_line "$TMP/ev.err" 'c3: online' >/dev/null || fail "$dialect events: not online"

    sleep 0.3
    c3_ctl "$S_CTL" "swipe door=2 card=4242 pin=17" >/dev/null
    c3_ctl "$S_CTL" "force door=4" >/dev/null
    c3_ctl "$S_CTL" "button door=3" >/dev/null
    wait "$EV" || fail "$dialect events exited with $?: $(tail -5 "$TMP/ev.err")"
    python3 - "$TMP/ev.out" <<'PY' || { cat "$TMP/ev.out" >&2; fail "$dialect events content"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# --follow says when the link came up (a "link" record) before the events; --count counts events only
assert lines[0]["type"] == "link" and lines[0]["state"] == "online", lines
recs = [r for r in lines if r["type"] != "link"]
assert len(recs) == 3, lines
for r in recs:
    assert r["type"] == "event"
    for k in ("time", "door", "event", "event_name", "severity", "verify", "verify_name", "inout", "card", "pin"):
        assert k in r, (k, r)
sw = [r for r in recs if r["card"] == 4242]
assert sw and sw[0]["door"] == 2 and sw[0]["pin"] == 17, recs
assert any(r["door"] == 4 and r["severity"] == "alarm" for r in recs), recs
PY
    if [ "$dialect" = kv ]; then
        grep -q '^>> aa 01 79' "$TMP/ev.err" || fail "kv: no switch to the 0x79 RT log"
    else
        ! grep -q '^>> aa 01 79' "$TMP/ev.err" || fail "$dialect: switched to 0x79 without reason"
    fi
    expect_rc 0 "${CTL[@]}" --json c3 "$T" events --include-status
    grep -q '"type":"status"' "$TMP/out" || fail "$dialect status record"
    python3 - "$TMP/out" <<'PY' || fail "$dialect status doors"
import json, sys
st = [json.loads(l) for l in open(sys.argv[1]) if '"status"' in l][-1]
assert len(st["doors"]) == 4 and all(d["sensor"] in ("open", "closed", "none") for d in st["doors"]), st
assert all(isinstance(d["alarm"], bool) and isinstance(d["open_timeout"], bool) for d in st["doors"])
PY
    expect_rc 0 "${CTL[@]}" c3 "$T" events --include-status
    grep -q 'status' "$TMP/out" || fail "$dialect human status"
    pass "$dialect events"

    expect_rc 0 "${CTL[@]}" --json c3 "$T" restart
    # The panel comes back after its restart; the client reconnects within its timeout.
    expect_rc 0 "${CTL[@]}" --json c3 "$T" --timeout 20000 info
    pass "$dialect restart"
done

# Model detection and door count for status records.
c3_sim M --model C3-200 --dialect session
expect_rc 0 "$PORTIERCTL" --json c3 "127.0.0.1:$M_PORT" info
[ "$(json_get "$TMP/out" doors)" = 2 ] || fail "C3-200 doors"
expect_rc 0 "$PORTIERCTL" --json c3 "127.0.0.1:$M_PORT" events --include-status
python3 -c 'import json,sys; st=[json.loads(l) for l in open(sys.argv[1]) if "status" in l][-1]; assert len(st["doors"])==2, st' "$TMP/out" \
    || fail "C3-200 status has 2 doors"
pass "C3-200"

# Usage errors exit 2, without touching the network.
for bad in "" "127.0.0.1:1" "127.0.0.1:1 frobnicate" "127.0.0.1:1 door open 9" "127.0.0.1:1 door open 1 300" \
           "127.0.0.1:1 params get" "127.0.0.1:1 params set X" "127.0.0.1:1 aux on" "127.0.0.1:1 --timeout x info" \
           "127.0.0.1:1 door normal-open 1 maybe" "host:99999 info" "127.0.0.1:1 events --count 0" "127.0.0.1:1 time"; do
    # shellcheck disable=SC2086
    expect_rc 2 "$PORTIERCTL" c3 $bad
done
pass "usage errors"
