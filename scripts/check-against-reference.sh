#!/usr/bin/env bash
# check-against-reference.sh - compare veto with a built ThreatExchange
# reference on images neither has seen: 4 shared photos x 6 edits (resize,
# crop, rotate, colour, chroma subsampling, grey) x JPEG/PNG/WebP/TIFF, plus
# BMP, PNM and GIF, generated with ImageMagick into a temporary directory.
#
#   scripts/check-against-reference.sh REF_CLI [REF_FULL]
#
# REF_CLI is the reference pdq-photo-hasher as shipped (squashes to 512x512):
# compared with `veto hash --pdq-cli512`. REF_FULL, optional, is the same
# program built with its 512 squash disabled (DOWNSAMPLE_DIMS raised in
# io/pdqio.cpp, i.e. the reference library functions on the full image):
# compared with plain `veto hash`. The reference is not part of this
# repository (nor built by CI: it needs its sources); build it by hand.
# Exit 0 when every hash and quality agrees.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ref_cli=${1:?usage: $0 REF_CLI [REF_FULL]}
ref_full=${2:-}
VETO=${VETO:-$ROOT/build-release/veto}
S=${VETO_TESTDATA:-$ROOT/../shared/testdata}/pdq
[ -x "$VETO" ] || { echo "build veto first (scripts/demo.sh or cmake), or set VETO" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
i=0
for src in "$S/bridge-mods/aaa-orig.jpg" "$S/reg-test-input/pen-and-coaster.png" \
           "$S/misc-images/c.png" "$S/reg-test-input/exif-rotn/exif-rotn-6.jpg"; do
	for spec in "-resize 37% -quality 71" "-crop 700x500+13+7 -quality 93" \
	            "-rotate 7 -resize 900x -quality 60" "-modulate 110,80 -resize 333x" \
	            "-sampling-factor 2x1 -quality 85 -resize 1201x" "-colorspace Gray -resize 777x"; do
		i=$((i + 1))
		for ext in jpg png webp tif; do
			# shellcheck disable=SC2086
			convert "$src" $spec +repage "u$i.$ext" 2>/dev/null
		done
	done
done
convert "$S/bridge-mods/aaa-orig.jpg" -resize 50% b24.bmp
convert "$S/bridge-mods/aaa-orig.jpg" -resize 50% -colors 200 -type Palette bmp3:b8.bmp
convert "$S/bridge-mods/aaa-orig.jpg" -resize 50% b.ppm
convert "$S/bridge-mods/aaa-orig.jpg" -resize 50% -colorspace Gray b.pgm
convert "$S/bridge-mods/aaa-orig.jpg" -resize 50% b.gif
files=(u*.* b*.*)
status=0
compare() { # LABEL REF VETO-ARGS...
	local label=$1 ref=$2
	shift 2
	"$ref" "${files[@]}" 2>/dev/null | sort > ref.csv
	"$VETO" hash "$@" "${files[@]}" | sort > veto.csv
	if diff ref.csv veto.csv > diff.txt; then
		echo "$label: all $(wc -l < ref.csv) files agree bit for bit"
	else
		echo "$label: DIFFERENCES"; cat diff.txt; status=1
	fi
}
compare "reference CLI vs veto --pdq-cli512" "$ref_cli" --pdq-cli512
[ -n "$ref_full" ] && compare "reference library (full image) vs veto" "$ref_full"
exit $status
