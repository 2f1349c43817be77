# A dumb terminal is refused with a clear message; --check-config works without a terminal.
source "$(dirname "$0")/lib.sh"
write_config
TERM_OVERRIDE=dumb start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_text 'cannot move the cursor'
wait_text 'EXITED 1'
"$PORTIER" --check-config "$TMP/site.conf" >/dev/null || fail "--check-config rejected a valid file"
pass "dumb terminal refused, check-config"
