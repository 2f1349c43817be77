# portierctl c3 with the right, a wrong and no communication password, in both connect dialects.
source "$SRCDIR/tests/integration/lib.sh"
source "$SRCDIR/tests/integration/c3_common.sh"

for dialect in session sessionless; do
    c3_sim P --dialect "$dialect" --password 'Secret12'
    T="127.0.0.1:$P_PORT"
    expect_rc 0 "$PORTIERCTL" --json c3 "$T" --password Secret12 info
    [ "$(json_get "$TMP/out" doors)" = 4 ] || fail "$dialect right password"
    pass "$dialect right password"

    run_timed "$PORTIERCTL" c3 "$T" --password wrong --timeout 20000 info
    [ "$RC" -eq 1 ] || { cat "$TMP/err"; fail "$dialect wrong password: exit $RC"; }
    grep -qi 'password' "$TMP/err" || fail "$dialect wrong password not reported: $(cat "$TMP/err")"
    grep -q -- '-14' "$TMP/err" || fail "$dialect: panel code not printed"
    [ "$ELAPSED_MS" -lt 10000 ] || fail "$dialect wrong password took ${ELAPSED_MS} ms"
    pass "$dialect wrong password ($ELAPSED_MS ms)"

    run_timed "$PORTIERCTL" --json c3 "$T" info
    [ "$RC" -eq 1 ] || fail "$dialect no password: exit $RC"
    [ "$(json_get "$TMP/out" code)" = -14 ] || fail "$dialect no password json: $(cat "$TMP/out")"
    pass "$dialect missing password"

    # The panel still serves the right password afterwards.
    expect_rc 0 "$PORTIERCTL" c3 "$T" --password Secret12 time get
    pass "$dialect right password after failures"
done
