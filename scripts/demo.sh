#!/usr/bin/env bash
# demo.sh - set up, build, and run veto's main job on the bundled samples:
# hash every image in samples/ (PDQ, as the reference computes it), then
# show that an edited copy matches and an unrelated photo does not.
# Any arguments replace samples/ as the paths to hash.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target veto_cli >/dev/null
VETO=build-release/veto
if [ $# -gt 0 ]; then
	exec "$VETO" hash "$@"
fi
echo "== veto hash samples/    (hash,quality,path: the reference's format)"
"$VETO" hash samples/
echo
echo "== veto compare: the bridge photo against an edited (shrunk) copy"
"$VETO" compare samples/bridge-256.jpg samples/bridge-shrunk.jpg || true
echo
echo "== veto compare: the bridge photo against an unrelated photo"
"$VETO" compare samples/bridge-256.jpg samples/street.jpg || true
echo
echo "== veto hash --json (every signal of one file)"
"$VETO" hash --json samples/street.jpg
