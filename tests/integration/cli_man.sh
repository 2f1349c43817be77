#!/usr/bin/env bash
# portierctl(1) cannot drift from the verb table: its SYNOPSIS, OPTIONS and COMMANDS sections are the output of
# `portierctl --man-synopsis`, and the page renders without warnings.
source "$(dirname "$0")/lib.sh"

PAGE="$SRCDIR/doc/portierctl.1"
"$PORTIERCTL" --man-synopsis >"$TMP/generated" || fail "--man-synopsis failed"
sed -n '/^\.\\" BEGIN GENERATED/,/^\.\\" END GENERATED/p' "$PAGE" >"$TMP/in-page"
[ -s "$TMP/in-page" ] || fail "no generated sections in $PAGE"
diff -u "$TMP/in-page" "$TMP/generated" >"$TMP/diff" || {
    cat "$TMP/diff" >&2
    fail "doc/portierctl.1 differs from the table: regenerate its GENERATED sections with portierctl --man-synopsis"
}
pass "the man page's generated sections match the table"

# every command of the table is in the page, and every command word of the page is in --help
for fam in "" c3 nix1; do
    "$PORTIERCTL" $fam ${fam:+x} --help >"$TMP/help.$fam" 2>&1 || true
done
"$PORTIERCTL" --help >"$TMP/help" || fail "--help failed"
grep -q '^usage: portierctl' "$TMP/help" || fail "--help has no usage line"
for w in journal audit emergency check-config 'door open'; do
    grep -q "^  $w" "$TMP/help" || fail "--help lacks $w"
done
grep -q '^  events \[OPTIONS\]' "$TMP/help.c3" || fail "c3 --help lacks events"
grep -q '^  emergency on|off' "$TMP/help.nix1" || fail "nix1 --help lacks emergency"
pass "--help lists every family's commands"

if command -v man >/dev/null 2>&1; then
    MANWIDTH=100 man --warnings -l "$PAGE" >/dev/null 2>"$TMP/warn" || fail "man failed: $(cat "$TMP/warn")"
    [ ! -s "$TMP/warn" ] || fail "man warnings: $(cat "$TMP/warn")"
    pass "the page renders without warnings"
fi
