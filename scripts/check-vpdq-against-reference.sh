#!/usr/bin/env bash
# check-vpdq-against-reference.sh - compare veto's vPDQ with a built
# ThreatExchange reference `vpdq-hash-video` on videos neither has seen
# (scripts/make-unseen-videos.sh: 27 files over 7 containers, 11 codecs, 8
# frame rates, VFR, odd sizes, rotation, B-frames, failure cases) plus the
# 14 shared samples (../shared/testdata/video/samples).
#
#   scripts/check-vpdq-against-reference.sh REF_VPDQ_HASH_VIDEO VETO_BIN [OUTDIR]
#
# Each file is hashed four ways, reference vs veto:
#   every  : -r 0            vs  hash --format vpdq --every 0
#   1s     : -r 1            vs  hash --format vpdq --every 1
#   0.5s   : -r 0.5          vs  hash --format vpdq --every 0.5
#   128px  : -r 0 -s 128     vs  hash --format vpdq --every 0 --vpdq-size 128
# and the reference's output file is compared byte for byte with veto's
# stdout (lines frameNumber,quality,hash,timestamp). Where the reference
# refuses a file (no video stream, a 4x4 video at native size...) veto must
# refuse it too (exit non-zero); that counts as agreement.
#
# The reference runs with one hashing thread (-t 1): its output does not
# depend on the thread count (checked once below), but with more threads a
# frame it cannot hash (under 5 px) aborts the whole process instead of
# failing cleanly. REF_VPDQ_HASH_VIDEO is built by hand from
# facebook/ThreatExchange vpdq/cpp (commit baefb4e; CMake, FFmpeg dev
# libraries; drop libavdevice from its pkg_check_modules if that library is
# absent, it is not used): it is not part of this repository nor of CI.
#
# OUTDIR keeps the corpus (made there unless OUTDIR/MANIFEST exists) and
# every output, OUTDIR/results/NAME.MODE.{ref,veto}.{txt,err}; without it a
# temporary directory is used and removed. Prints a table (one row per file,
# one column per mode; a differing cell shows differing/total lines and the
# largest Hamming distance between hashes of the same frame) and
# `N agree, M differ` over all (file, mode) pairs. Exit 0 when all agree.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage="usage: $0 REF_VPDQ_HASH_VIDEO VETO_BIN [OUTDIR]"
REF=${1:?$usage}
VETO=${2:?$usage}
OUT=${3:-}
S=${VETO_TESTDATA:-$ROOT/../shared/testdata}/video/samples
TIMEOUT=${TIMEOUT:-900}
[ -x "$REF" ] || { echo "$0: $REF is not an executable" >&2; exit 2; }
[ -x "$VETO" ] || { echo "$0: $VETO is not an executable (build veto first)" >&2; exit 2; }
[ -d "$S" ] || { echo "$0: no $S" >&2; exit 2; }
REF=$(cd "$(dirname "$REF")" && pwd)/$(basename "$REF")
VETO=$(cd "$(dirname "$VETO")" && pwd)/$(basename "$VETO")
if [ -z "$OUT" ]; then
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/veto-vpdq-check-XXXXXX")
	trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CORPUS=$OUT/corpus
if [ ! -f "$CORPUS/MANIFEST" ]; then
	"$ROOT/scripts/make-unseen-videos.sh" "$CORPUS" "$(dirname "$(dirname "$S")")"
fi
RES=$OUT/results
rm -rf "$RES"
mkdir -p "$RES"

files=()
while IFS=$'\t' read -r name _; do
	files+=("$CORPUS/$name")
done < "$CORPUS/MANIFEST"
for f in "$S"/*.mp4; do files+=("$f"); done

modes=(every 1s 0.5s 128px)
ref_args() { # MODE
	case $1 in
	every) echo "-r 0" ;; 1s) echo "-r 1" ;; 0.5s) echo "-r 0.5" ;; 128px) echo "-r 0 -s 128" ;;
	esac
}
veto_args() { # MODE
	case $1 in
	every) echo "--every 0" ;; 1s) echo "--every 1" ;; 0.5s) echo "--every 0.5" ;;
	128px) echo "--every 0 --vpdq-size 128" ;;
	esac
}
run_ref() { # FILE OUTTXT ERRFILE THREADS ARGS... ; status of the reference
	local f=$1 txt=$2 err=$3 t=$4
	shift 4
	rm -f "$txt"
	timeout "$TIMEOUT" "$REF" -i "$f" -o "$txt" -t "$t" "$@" 2> "$err" > /dev/null
}

# Largest Hamming distance between the hashes of lines with the same frame
# number in two vPDQ outputs (-1 when no frame is common).
maxdist() {
	awk -F, '
	BEGIN { hex = "0123456789abcdef"   # bits differing between two hex digits (POSIX awk: no xor)
		for (x = 0; x < 16; x++) for (y = 0; y < 16; y++) {
			b = 0; p = x; q = y; for (i = 0; i < 4; i++) { b += (p % 2 != q % 2); p = int(p / 2); q = int(q / 2) }
			pc[substr(hex, x + 1, 1) substr(hex, y + 1, 1)] = b } }
	NR == FNR { h[$1] = $3; next }
	($1 in h) { d = 0; a = tolower(h[$1]); c = tolower($3)
		for (i = 1; i <= 64; i++) d += pc[substr(a, i, 1) substr(c, i, 1)]
		if (d > m) m = d; seen = 1 }
	END { print seen ? m + 0 : -1 }' "$1" "$2"
}

# The reference's thread count must not matter: check once, every frame,
# on a B-frame file of each set.
for f in "$CORPUS/u01-testsrc2-h264-bframes-25.mp4" "$S/chair-22-sd-grey-bar.mp4"; do
	[ -f "$f" ] || continue
	run_ref "$f" "$RES/threads1.txt" "$RES/threads1.err" 1 -r 0
	run_ref "$f" "$RES/threads2.txt" "$RES/threads2.err" 2 -r 0
	if cmp -s "$RES/threads1.txt" "$RES/threads2.txt"; then
		echo "reference: $(basename "$f") hashed alike with 1 and 2 threads ($(wc -l < "$RES/threads1.txt") frames)"
	else
		echo "reference: $(basename "$f") DIFFERS between 1 and 2 threads: results are not trustworthy" >&2
		exit 2
	fi
done

agree=0
differ=0
printf '%-46s %7s' file frames
for m in "${modes[@]}"; do printf ' %-16s' "$m"; done
echo
for f in "${files[@]}"; do
	name=$(basename "$f")
	row=""
	frames=-
	for m in "${modes[@]}"; do
		base=$RES/$name.$m
		rs=0 vs=0
		# shellcheck disable=SC2046
		run_ref "$f" "$base.ref.txt" "$base.ref.err" 1 $(ref_args "$m") || rs=$?
		# shellcheck disable=SC2046
		timeout "$TIMEOUT" "$VETO" hash --format vpdq $(veto_args "$m") "$f" \
			> "$base.veto.txt" 2> "$base.veto.err" || vs=$?
		if [ $rs -ne 0 ] && [ $vs -ne 0 ]; then
			cell="both-refuse"
			agree=$((agree + 1))
		elif [ $rs -ne 0 ]; then
			cell="REF-ONLY-REFUSES"
			differ=$((differ + 1))
		elif [ $vs -ne 0 ]; then
			cell="VETO-FAILS($vs)"
			differ=$((differ + 1))
		elif cmp -s "$base.ref.txt" "$base.veto.txt"; then
			cell="ok"
			agree=$((agree + 1))
		else
			n=$(wc -l < "$base.ref.txt")
			k=$(diff "$base.ref.txt" "$base.veto.txt" | grep -c '^<' || true)
			[ "$(wc -l < "$base.veto.txt")" -eq "$n" ] || k="$k,v$(wc -l < "$base.veto.txt")"
			cell="DIFF($k/$n,d$(maxdist "$base.ref.txt" "$base.veto.txt"))"
			differ=$((differ + 1))
		fi
		if [ "$m" = every ]; then
			if [ $rs -eq 0 ]; then frames=$(wc -l < "$base.ref.txt"); else frames=x; fi
		fi
		row+=$(printf ' %-16s' "$cell")
	done
	printf '%-46s %7s%s\n' "${name:0:46}" "$frames" "$row"
done
echo "$agree agree, $differ differ"
[ "$differ" -eq 0 ]
