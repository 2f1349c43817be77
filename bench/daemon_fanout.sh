#!/usr/bin/env bash
# portierd's fan-out: 50 clients at 1000 events/s offered, against 1 client in the same run, and the cost of a
# stopped client (bench/daemon_fanout.c says what is measured). Options pass through (--clients --rate --seconds).
#   bench/daemon_fanout.sh [BUILD_DIR] [OPTIONS]          (default ./build)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
B=${1:-build}
[ $# -gt 0 ] && shift
for x in "$B/sim/portier-sim" "$B/daemon/portierd" "$B/bench/daemon_fanout"; do
    [ -x "$x" ] || { echo "build $x first (ninja -C $B)" >&2; exit 2; }
done
exec "$B/bench/daemon_fanout" "$B" "$@"
