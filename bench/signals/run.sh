#!/usr/bin/env bash
# bench/signals/run.sh BUILD_DIR - how fast `veto signals` reads the
# provenance corpus (TESTDATA/provenance: C2PA JPEG/PNG/BMFF, generator
# metadata, watermark images), against a baseline in the same run:
# `veto hash` over the same image files, i.e. reading and decoding them once
# (signals decodes each image once too, for the watermark and stealth
# readers, and on top validates C2PA and parses metadata). Also the parts:
#   signals --no-watermark --no-stealth   (containers, C2PA, XMP/EXIF only)
#   signals on the C2PA fixtures alone    (files/s, signature checks included)
# Prints medians over ROUNDS (default 5) runs of each, one process per run
# over all files (-j is not used: one core, comparable), and the ratios.
# c2patool (the Rust reference) is timed too when it is on PATH.
set -euo pipefail
B=${1:?usage: bench/signals/run.sh BUILD_DIR}
VETO=$B/veto
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TD=${VETO_TESTDATA:-$ROOT/../shared/testdata}
P=$TD/provenance
ROUNDS=${ROUNDS:-5}
[ -x "$VETO" ] || { echo "no $VETO (build veto_cli first)" >&2; exit 1; }
mapfile -t ALL < <(cd "$P" && find c2pa genmeta watermark -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' -o -name '*.mp4' -o -name '*.heic' -o -name '*.avif' \) | sort | sed "s|^|$P/|")
mapfile -t IMG < <(printf '%s\n' "${ALL[@]}" | grep -vE '\.(mp4)$')
mapfile -t C2PA < <(printf '%s\n' "${ALL[@]}" | grep '/c2pa/')

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
timeit() { # timeit CMD... -> median wall ms over ROUNDS
	local t=()
	for ((r = 0; r < ROUNDS; r++)); do
		local s=$(date +%s%N)
		"$@" > /dev/null 2>&1 || true
		t+=($(( ($(date +%s%N) - s) / 1000000 )))
	done
	printf '%s\n' "${t[@]}" | median
}

echo "files: ${#ALL[@]} ($(du -cb "${ALL[@]}" | tail -1 | cut -f1) bytes), images ${#IMG[@]}, C2PA fixtures ${#C2PA[@]}; rounds $ROUNDS"
hash_ms=$(timeit "$VETO" hash -j 1 "${IMG[@]}")
sig_img_ms=$(timeit "$VETO" signals --json "${IMG[@]}")
sig_all_ms=$(timeit "$VETO" signals --json "${ALL[@]}")
meta_ms=$(timeit "$VETO" signals --json --no-watermark --no-stealth "${ALL[@]}")
c2pa_ms=$(timeit "$VETO" signals --json --no-watermark --no-stealth "${C2PA[@]}")
printf '%-52s %8s ms\n' "veto hash (baseline: decode + PDQ), images" "$hash_ms" \
	"veto signals, same images" "$sig_img_ms" \
	"veto signals, all files" "$sig_all_ms" \
	"veto signals --no-watermark --no-stealth, all files" "$meta_ms" \
	"  the same, C2PA fixtures only" "$c2pa_ms"
awk -v h="$hash_ms" -v s="$sig_img_ms" -v c="$c2pa_ms" -v n="${#C2PA[@]}" 'BEGIN {
	printf "signals / hash on the same images: %.2fx\n", s / h
	printf "C2PA validation: %.1f files/s (%.1f ms per file, process start included)\n", n * 1000 / c, c / n }'
if command -v c2patool > /dev/null; then
	ct=$(timeit bash -c 'for f; do c2patool "$f" > /dev/null 2>&1; done' _ "${C2PA[@]}")
	printf '%-52s %8s ms  (veto is %.1fx faster)\n' "c2patool, C2PA fixtures" "$ct" "$(awk -v a="$ct" -v b="$c2pa_ms" 'BEGIN{print a/b}')"
else
	echo "c2patool not installed: no comparison with the Rust reference in this run"
fi
