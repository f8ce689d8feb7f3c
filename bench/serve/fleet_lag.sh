#!/usr/bin/env bash
# fleet_lag.sh BUILD_DIR - how far behind the writer a fleet of matchers is.
# Runs tests/test_serve_fleet.py (one writer + three `veto serve --role
# matcher --poll-ms 100` on a private PostgreSQL started by
# tests/with_pg.sh) with the issue's target asserted: every add, delete and
# disable visible on every matcher within 1 s. Prints the median and max
# lag per kind of change. Run it on a quiet machine: it times real
# processes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build-release}
export VETO_FLEET_LAG_LIMIT=${VETO_FLEET_LAG_LIMIT:-1.0}
exec bash "$ROOT/tests/with_pg.sh" python3 "$ROOT/tests/test_serve_fleet.py" \
	"$BUILD/veto" "${VETO_TESTDATA:-$ROOT/../shared/testdata}" --pg
