# A guard's key for an action the role does not allow is refused in the console and the refused attempt is in the
# audit (who, what, target, denied: which role it needs): written by this console's site in direct mode, by
# portierd (which decides the role) through the socket; nothing runs, and the History pane shows it.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}" "${PORTIERCTL:?}"
ROLE=guard write_config
# direct mode: the console's own journal
start 120x30 "$PORTIER" -c "$TMP/site.conf"
wait_text '\(guard\)'
keys 3; wait_text 'Doors, aux'
keys o; wait_text 'Not allowed for role guard \(needs operator\)'
keys Escape
keys 6; keys F2; wait_text 'door-open.*denied' 15
keys q; wait_text 'EXITED 0'
stop_tmux
"$PORTIERCTL" audit --db "$TMP/journal.db" --csv >"$TMP/audit1.csv" || fail "portierctl audit --db"
grep -E 'door-open,Front,' "$TMP/audit1.csv" | grep -E ',guard,' | grep -E ',denied,' |
    grep -q 'needs the operator role' || fail "no denied door-open of Front in the audit: $(cat "$TMP/audit1.csv")"
pass "direct mode: a guard's refused door-open is audited as denied"

# through portierd: the daemon decides the role and writes the row
mv "$TMP/journal.db" "$TMP/journal-direct.db"
start_portierd
start 120x30 env -u XDG_CONFIG_HOME "$PORTIER" --socket "$PD_SOCK"
wait_text 'connected to portierd .* as [^ ]+ \(guard\)'
keys 3; wait_text 'Doors, aux'
keys j; keys h; wait_text 'Not allowed for role guard \(needs operator\)'
keys Escape
deadline=$((SECONDS + 15))
until ctl audit --csv 2>/dev/null | grep -E 'door-hold,Back,' | grep -E ',denied,' | grep -q 'needs the operator role'; do
    [ $SECONDS -lt $deadline ] || fail "no denied door-hold of Back in portierd's audit: $(ctl audit --csv 2>&1)"
    sleep 0.2
done
ctl audit --csv | grep -E 'door-hold,Back,' | grep -q ',ok,' && fail "the refused attempt ran"
keys 6; keys F2; wait_text 'door-hold.*denied' 15
keys q; wait_text 'EXITED 0'
pass "through portierd: the refused attempt is audited by the daemon as denied"
