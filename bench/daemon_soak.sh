#!/usr/bin/env bash
# The long run of tests/integration/daemon_multi.py: one simulated site under portierd for 10 minutes (or
# PORTIER_MULTI_SECONDS) with two portierctl watch clients, a fast and a slow protocol client, unique card swipes
# and iButton presentations all along, an emergency from a third client and an acknowledgement; it checks that no
# link dropped and that every swipe is in the journal and at every client exactly once.
#   bench/daemon_soak.sh [BUILD_DIR]      (default ./build)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
build=${1:-build}
export PORTIER_BUILD=$build PORTIER_SIM=$build/sim/portier-sim PORTIERD=$build/daemon/portierd \
       PORTIERCTL=$build/cli/portierctl PORTIER_MULTI_SECONDS=${PORTIER_MULTI_SECONDS:-600}
exec python3 tests/integration/daemon_multi.py
