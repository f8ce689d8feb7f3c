#!/usr/bin/env bash
# demo-cli.sh - the command-line tour (scripts/demo.sh runs the service):
# hash every image and video in samples/ (PDQ, vPDQ and TMK+PDQF, as the
# references compute them), then show that an edited copy matches and an
# unrelated file does not, for photos and for videos.
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
echo "== veto hash samples/    (images: hash,quality,path as the reference prints;"
echo "                          videos: md5,vpdq:frames hashed,path)"
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
echo
echo "== veto compare: a video against a copy with a logo added (vPDQ + TMK)"
"$VETO" compare samples/pattern-grey.mp4 samples/pattern-logo.mp4 || true
echo
echo "== veto compare: the same video against an unrelated one"
"$VETO" compare samples/pattern-grey.mp4 samples/doorknob.mp4 || true
PROV=${VETO_TESTDATA:-$ROOT/../shared/testdata}/provenance
if [ -d "$PROV" ]; then
	echo
	echo "== veto signals: provenance evidence (C2PA, generator metadata, watermarks)"
	"$VETO" signals --trust "$PROV/c2pa/trust/test_cert_root_bundle.pem" \
		"$PROV/c2pa/CA.jpg" "$PROV/c2pa/XCA.jpg" "$PROV/c2pa/amazon-titan-g1.png" \
		"$PROV/genmeta/automatic1111_cropped.png" "$PROV/watermark/sdxl_dwtdct_512.png" || true
else
	echo
	echo "== veto signals samples/ (no shared provenance corpus at $PROV for the C2PA examples)"
	"$VETO" signals samples/*.jpg || true
fi
