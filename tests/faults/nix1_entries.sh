#!/usr/bin/env bash
# Exactly-once NiX1 entries against the real console: keys presented on three slaves all along while one slave
# is muted, one reboots, one garbles its replies, the port goes away and comes back (a USB adapter replugged:
# the slaves keep logging, more than the spec's 10-line rewind window per slave) and the console is killed and
# started again. Afterwards every line of every slave's ACCESS files is in the journal exactly once and the
# journal holds no other entry. The link must be "up" again after the replug.
source "$(dirname "$0")/../screen/lib.sh"
: "${PORTIERCTL:?}" "${PORTIER_SIM:?}"

S=(270100000000006B 2702000000000032 2703000000000005)
mkdir -p "$TMP/usd"
"$PORTIER_SIM" nix1 --slaves 3 --configured --dir "$TMP/usd" --control "$TMP/ctl" --no-stdin \
    --link "$TMP/ttyNIX" >"$TMP/nix1.out" 2>"$TMP/nix1.err" &
SIMPIDS+=($!)
wait_file 'uSD cards' "$TMP/nix1.out"

# one helper keeps the control connection: a line on the FIFO is a command, its answer goes to ctl.log
mkfifo "$TMP/ctl.in"
python3 -u - "$TMP/ctl" "$TMP/ctl.in" "$TMP/ctl.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb", buffering=0)
with open(sys.argv[2], "rb") as cmds, open(sys.argv[3], "ab", buffering=0) as log:
    for line in cmds:
        f.write(line); log.write(line.strip() + b" => " + f.readline())
PY
SIMPIDS+=($!)
exec 6>"$TMP/ctl.in"
ctl() { echo "$*" >&6; }
N=0
# present K keys, round robin over the slaves (skip is a slave index not to use), each a new uid
present() {
    local k=$1 skip=${2:--1} i
    for ((i = 0; i < k; i++)); do
        local s=$(((N + i) % 3))
        [ "$s" = "$skip" ] && s=$(((s + 1) % 3))
        ctl "present slave=${S[$s]} probe=1 uid=U$N"
        N=$((N + 1))
        sleep "${3:-0.05}"
    done
}

for a in "${S[@]}"; do # no quiet time after a refused key: every presentation is logged
    "$PORTIERCTL" nix1 "$TMP/ttyNIX" --slave "$a" timeouts set bad=0 >/dev/null || fail "timeouts on $a"
done
cat >"$TMP/site.conf" <<CONF
site = { name = "Entries"; };
roles = { default = "technician"; };
buses = ( { name = "Bus 1"; port = "$TMP/ttyNIX"; baud = 9600; poll_ms = 200; slaves = (
  { address = "${S[0]}"; name = "S1"; probe1 = { door = "S1 in"; unit = 1; }; },
  { address = "${S[1]}"; name = "S2"; probe1 = { door = "S2 in"; unit = 3; }; },
  { address = "${S[2]}"; name = "S3"; probe1 = { door = "S3 in"; unit = 5; }; } ); } );
journal = { path = "$TMP/journal.db"; };
CONF
chmod 600 "$TMP/site.conf"
console() {
    start 120x32 sh -c "'echo \$\$ >$TMP/console.pid; exec $PORTIER -c $TMP/site.conf'"
    wait_up 60
}

console
present 12
# a slave muted (it logs nothing while mute), then back
ctl "mute slave=${S[0]} on"; present 9 0 0.2; ctl "mute slave=${S[0]} off"; present 6
# a reboot (silent 2 s, its log and position kept)
ctl "reboot slave=${S[1]}"; present 9 1 0.2; present 6
# garbled replies, each spoiling whatever the slave sends next (an entry, or the resynchronisation)
for g in 1 2 3 4; do ctl "garble slave=${S[2]}"; present 4 -1 0.15; done
# the port goes away for 4 s while every slave keeps logging (15 entries each: more than the Ne window)
ctl "unplug on"; present 45 -1 0.02; sleep 3; ctl "unplug off"
wait_up 60
pass "link up again after the port came back"
present 9
# the console is killed while entries come in, and started again
present 6 -1 0.02; pid=$(cat "$TMP/console.pid"); kill -9 "$pid"; present 6 -1 0.02
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
stop_tmux
console
present 9

# every presentation the slaves logged, and the journal, until they agree (at most 90 s)
files() { cat "$TMP"/usd/*/ACCESS.* 2>/dev/null | wc -l; }
stored() { "$PORTIERCTL" -c "$TMP/site.conf" --json journal --kind nix1-access --limit 100000 2>/dev/null | wc -l; }
deadline=$((SECONDS + 90))
until [ "$(stored)" -ge "$(files)" ] || [ $SECONDS -ge $deadline ]; do sleep 1; done
sleep 2 # anything replayed late would show up now
keys q; wait_text 'EXITED 0' 20
stop_tmux
"$PORTIERCTL" -c "$TMP/site.conf" --json journal --kind nix1-access --limit 100000 >"$TMP/journal.json"
python3 - "$TMP/usd" "$TMP/journal.json" "$TMP/ctl.log" <<'PY' || fail "entries are not exactly once (see above)"
import collections, glob, json, sys
usd, jpath, ctl = sys.argv[1:4]
logged = collections.Counter()
for f in glob.glob(usd + "/*/ACCESS.*"):
    for line in open(f):
        p = line.rstrip("\r\n").split("\t")
        logged[(p[0].upper(), p[1], int(p[4]))] += 1
stored = collections.Counter()
for line in open(jpath):
    e = json.loads(line)
    stored[(e["addr"].upper(), e["uid"], int(e["device_time"]))] += 1
presented = sum(1 for l in open(ctl) if " => ok refused" in l or " => ok granted" in l)
dups = {k: n for k, n in stored.items() if n > 1}
missing = [k for k in logged if k not in stored]
extra = [k for k in stored if k not in logged]
print("presented and logged %d, lines in the slaves' files %d, entries in the journal %d" %
      (presented, sum(logged.values()), sum(stored.values())))
ok = True
if sum(logged.values()) != presented:
    print("the slaves logged %d lines for %d logged presentations" % (sum(logged.values()), presented)); ok = False
for what, v in (("duplicated", dups), ("missing", missing), ("not on any slave", extra)):
    if v:
        print("%s: %s" % (what, sorted(v)[:10])); ok = False
sys.exit(0 if ok else 1)
PY
pass "every NiX1 entry stored exactly once over mute, reboot, garble, replug and a killed console"
