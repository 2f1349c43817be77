#!/usr/bin/env bash
# portierctl against 1000 generated command lines (tests/integration/cli_argv.py says which and what must hold):
# mistakes are exit 2 with a usage line, well-formed commands that cannot reach their device end with the
# documented status, and nothing ends with a signal (under ASan in the sanitizer build). Loopback only.
source "$(dirname "$0")/lib.sh"
export XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/xdg" HOME="$TMP/home"
# in the sanitizer build a report must end the run with a signal, which the generator counts as a failure
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:abort_on_error=1"
mkdir -p "$TMP/work" "$TMP/home"
echo "a local file" >"$TMP/work/A"
closed=$(closed_port)
cat >"$TMP/site.conf" <<CONF
site = { name = "Unreachable"; };
panels = ( { name = "Panel A"; host = "127.0.0.1"; port = $closed; model = "C3-400";
             doors = ( "Main entrance", "Back door", "Garage", "Store" ); aux = ( "Siren" ); } );
buses = ( { name = "Bus 1"; port = "$TMP/no-such-tty"; baud = 115200;
            slaves = ( { address = "270100000000006B"; probe1 = { door = "Lab"; unit = 1; }; } ); } );
roles = { default = "operator"; };
CONF
chmod 600 "$TMP/site.conf"
python3 "$SRCDIR/tests/integration/cli_argv.py" "$PORTIERCTL" "$TMP/work" "$closed" "$TMP/site.conf" \
    "${CLI_ARGV_COUNT:-1000}" || fail "portierctl mishandled generated command lines"
