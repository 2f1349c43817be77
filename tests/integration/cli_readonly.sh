#!/usr/bin/env bash
# --readonly refuses every command that changes state, of every family, wherever the option is written: the
# commands come from portierctl's own table (--list-commands), so a new row is covered without editing this test.
# Device families: exit 2 with the reason, nothing opened (a missing port is not even looked at) and the simulators
# received nothing: the C3 panel counted no request, the NiX1 slaves' settings and card files are unchanged. Site
# commands: exit 2, the guard role's refusal audited as denied, no device contacted. Read-only commands still work.
source "$(dirname "$0")/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/xdg"

S1=270100000000006B
S2=2702000000000032
c3_sim P --model C3-400 --dialect session
nix1_sim n --slaves 2 --configured --baud 115200 --dir "$TMP/sd"
PTS=$n_BUS

cat >"$TMP/site.conf" <<CONF
site = { name = "Readonly"; };
panels = ( { name = "Panel A"; host = "127.0.0.1"; port = $P_PORT; model = "C3-400";
             doors = ( "Main entrance", "Back door", "Garage", "Store" ); aux = ( "Siren" ); } );
buses = ( { name = "Bus 1"; port = "$PTS"; baud = 115200;
            slaves = ( { address = "$S1"; probe1 = { door = "Lab"; unit = 1; }; probe2 = { door = "Lab exit"; unit = 2; }; },
                       { address = "$S2"; probe1 = { door = "Archive"; unit = 3; }; } ); } );
roles = { default = "operator"; };
CONF
chmod 600 "$TMP/site.conf"

# what the simulators hold: the C3 request count; each slave's settings (not its running clock) and card files
c3_state() { c3_requests "$P_CTL"; }
nix1_state() {
    py ctl "$TMP/n.ctl" status | tr ';' '\n' | sed 's/ clock=[0-9]*//'
    (cd "$TMP/sd" && find . -type f ! -name 'ACTIVITY.*' -print0 | sort -z | xargs -0 sha256sum)
}
c3_before=$(c3_state)
nix1_state >"$TMP/nix1.before"

"$PORTIERCTL" --list-commands >"$TMP/commands" || fail "--list-commands"
python3 - "$PORTIERCTL" "$TMP" "$P_PORT" "$PTS" "$S1" <<'PY' || fail "--readonly let a command through"
import json, os, subprocess, sys
ctl, tmp, c3port, pts, s1 = sys.argv[1:6]
conf = os.path.join(tmp, "site.conf")
# the site's names for each kind of target (a door command needs a real door to get as far as the role check)
site_target = {"door-open": "Main entrance", "door-close": "Main entrance", "door-hold": "Main entrance",
               "door-release": "Main entrance", "door-timed-open": "Main entrance", "normal-open-on": "Back door",
               "normal-open-off": "Back door", "aux-on": "Siren", "aux-off": "Siren", "lockout-on": "Lab",
               "lockout-off": "Lab", "cancel-alarm": "Panel A"}
rows = [json.loads(l) for l in open(os.path.join(tmp, "commands"))]
changing = [r for r in rows if r["type"] == "command" and r["changes"]]
fams = {r["family"] for r in changing}
assert fams == {None, "c3", "nix1"}, fams
runs = denied = 0

def run(argv, where):
    global runs
    runs += 1
    p = subprocess.run([ctl] + argv, capture_output=True, text=True, timeout=60)
    if p.returncode != 2:
        sys.exit("%s: exit %d, want 2\n%s%s" % (where, p.returncode, p.stdout, p.stderr))
    if ">>" in p.stderr:
        sys.exit("%s: something was sent:\n%s" % (where, p.stderr))
    return p

for r in changing:
    words = list(r["argv"])
    if r["family"] is None:
        if r["action"] in site_target:
            words = [w if w != "A" else site_target[r["action"]] for w in words]
        for at in ("front", "end"):
            argv = ["-c", conf] + (["--readonly"] + words if at == "front" else words + ["--readonly"])
            p = run(argv, " ".join(argv))
            if r.get("daemon") and "portierd" in p.stderr:
                continue  # only portierd serves it, and none runs here: refused all the same, nothing sent
            if r["action"] is None:
                if "refused, nothing was opened or sent" not in p.stderr:
                    sys.exit("%s: refusal does not say why: %s" % (" ".join(argv), p.stderr))
                continue
            if "role" not in p.stderr:
                sys.exit("%s: not refused for the role: %s" % (" ".join(argv), p.stderr))
            denied += 1
        continue
    target = ["c3", "127.0.0.1:%s" % c3port] if r["family"] == "c3" else ["nix1", pts, "--baud", "115200", "--slave", s1]
    missing = ["c3", "127.0.0.1:1"] if r["family"] == "c3" else ["nix1", os.path.join(tmp, "no-such-port"), "--slave", s1]
    if r.get("targetless"):  # c3 discover set-ip: no panel address, a UDP broadcast that must not go out
        target = missing = [r["family"]]
    for argv in (["--readonly", "-v"] + target + words, ["-v"] + target + words + ["--readonly"],
                 ["--readonly", "-v"] + missing + words):
        p = run(argv, " ".join(argv))
        if "--readonly" not in p.stderr or "refused, nothing was opened or sent" not in p.stderr:
            sys.exit("%s: refusal does not say why: %s" % (" ".join(argv), p.stderr))
print("ok: %d state-changing commands refused in %d runs (%d site attempts denied)" % (len(changing), runs, denied))
open(os.path.join(tmp, "denied"), "w").write(str(denied))
PY

[ "$(c3_state)" = "$c3_before" ] || fail "the C3 panel received $(( $(c3_state) - c3_before )) requests"
nix1_state >"$TMP/nix1.after"
diff -u "$TMP/nix1.before" "$TMP/nix1.after" || fail "a NiX1 slave changed"
pass "the simulators received nothing"

expect_rc 0 "$PORTIERCTL" -c "$TMP/site.conf" --json audit --limit 1000
python3 - "$TMP/out" "$(cat "$TMP/denied")" <<'PY' || fail "audit of the refused site commands"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
denied = [r for r in rows if r["result"] == "denied"]
assert len(denied) == int(sys.argv[2]) == len(rows), (len(denied), sys.argv[2], len(rows))
assert all(r["role"] == "guard" for r in denied), denied
PY
pass "each refused site command is audited as denied (guard role)"

# read-only commands still run with --readonly
expect_rc 0 "$PORTIERCTL" --readonly c3 "127.0.0.1:$P_PORT" info
expect_rc 0 "$PORTIERCTL" --readonly nix1 "$PTS" --baud 115200 --slave $S1 status
expect_rc 0 "$PORTIERCTL" --readonly nix1 "$PTS" --baud 115200 --slave $S1 cron-mode get
expect_rc 0 "$PORTIERCTL" --readonly -c "$TMP/site.conf" journal
expect_rc 0 "$PORTIERCTL" -c "$TMP/site.conf" check-config --readonly
pass "read-only commands run with --readonly"

# and the same state-changing commands without it do reach the simulators (the observation above is real)
c3_mid=$(c3_state)
expect_rc 0 "$PORTIERCTL" c3 "127.0.0.1:$P_PORT" door open 1
[ "$(c3_state)" -gt "$c3_mid" ] || fail "door open without --readonly reached no panel"
expect_rc 0 "$PORTIERCTL" nix1 "$PTS" --baud 115200 --slave $S1 lock 1 on
nix1_state >"$TMP/nix1.changed"
! diff -q "$TMP/nix1.before" "$TMP/nix1.changed" >/dev/null || fail "lock on without --readonly changed nothing"
expect_rc 0 "$PORTIERCTL" -c "$TMP/site.conf" door open "Main entrance" 2
pass "without --readonly the same commands act"
