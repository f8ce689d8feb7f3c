#!/usr/bin/env bash
# check-tmk-against-reference.sh - veto's TMK+PDQF against the reference's
# tmk-hash-video on videos it has never seen. Not run in CI: it needs the
# reference built by hand and takes a few minutes.
#
# Usage: scripts/check-tmk-against-reference.sh REF_TMK_HASH_VIDEO [BUILD_DIR] [FFMPEG]
#   REF_TMK_HASH_VIDEO  facebook/ThreatExchange tmk/cpp/tmk-hash-video, built
#                       with that directory's Makefile (g++ -O2)
#   BUILD_DIR           a veto build (default: build); its tests/test_tmk
#                       hashes with `test_tmk --hash VIDEO OUT.tmk`
#   FFMPEG              the ffmpeg the reference runs (default /usr/bin/ffmpeg,
#                       Debian 12's 5.1, the one veto reproduces)
#
# It makes short videos with ffmpeg covering what the shared samples do not
# (frame rates 8 to 60 and NTSC rates, variable frame rate, odd sizes,
# 10-bit, MPEG-4, VP9, MJPEG, FFV1, MPEG-2 TS, rotation in the container
# and in H.264 SEI, late video starts, a mid-stream size change, a single
# frame), hashes each with both, and requires the
# .tmk files to be byte-identical. The shared samples are checked too if
# VETO_TESTDATA (or ../shared/testdata) is there. Exit status 0: all equal.
set -u
ref=${1:?usage: $0 REF_TMK_HASH_VIDEO [BUILD_DIR] [FFMPEG]}
build=${2:-build}
ffmpeg=${3:-/usr/bin/ffmpeg}
here=$(cd "$(dirname "$0")/.." && pwd)
data=${VETO_TESTDATA:-$here/../shared/testdata}
veto="$build/tests/test_tmk"
[ -x "$ref" ] || { echo "no reference binary at $ref" >&2; exit 2; }
[ -x "$veto" ] || { echo "no $veto: build veto first" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ff() { "$ffmpeg" -nostdin -loglevel error -y "$@"; }
src="testsrc2=s=320x240"

echo "making test videos in $work"
ff -f lavfi -i "$src:r=25" -t 4 -c:v libx264 -pix_fmt yuv420p "$work/r25-h264.mp4"
ff -f lavfi -i "$src:r=24" -f lavfi -i sine=r=44100 -t 4 -c:v libx264 -pix_fmt yuv420p -c:a aac "$work/r24-audio.mp4"
ff -f lavfi -i "$src:r=30000/1001" -f lavfi -i sine=r=48000 -t 4 -c:v libx264 -pix_fmt yuv420p -c:a aac "$work/r2997-audio.mp4"
ff -f lavfi -i "$src:r=24000/1001" -t 4 -c:v mpeg4 -q:v 4 "$work/r23976-mpeg4.avi"
ff -f lavfi -i "$src:r=50" -t 3 -c:v libvpx-vp9 -b:v 300k -deadline realtime "$work/r50-vp9.webm"
ff -f lavfi -i "$src:r=60" -t 3 -c:v libx264 -pix_fmt yuv420p "$work/r60-h264.mkv"
ff -f lavfi -i "$src:r=10" -t 4 -c:v mjpeg -q:v 3 -pix_fmt yuvj420p "$work/r10-mjpeg.mov"
ff -f lavfi -i "$src:r=8" -t 3 -c:v libx264 -pix_fmt yuv420p "$work/r8-h264.mp4"
ff -f lavfi -i "$src:r=25" -t 3 -c:v ffv1 "$work/r25-ffv1.mkv"
ff -f lavfi -i "testsrc2=s=321x241:r=25" -t 3 -c:v libx264 -pix_fmt yuv444p "$work/odd-321x241.mp4"
ff -f lavfi -i "$src:r=25" -t 3 -c:v libx264 -pix_fmt yuv420p10le "$work/10bit.mp4"
ff -f lavfi -i "$src:r=30" -t 5 -vf "select='not(mod(n\,3))+gt(n\,70)'" -vsync vfr -c:v libx264 -pix_fmt yuv420p "$work/vfr.mkv"
ff -f lavfi -i "$src:r=25" -t 4 -c:v mpeg2video -q:v 4 -f mpegts "$work/r25-mpeg2.ts"
ff -f lavfi -i "$src:r=25" -frames:v 1 -c:v libx264 -pix_fmt yuv420p "$work/one-frame.mp4"
ff -itsoffset 1.3 -f lavfi -i "$src:r=25" -f lavfi -i sine=r=44100 -t 4 -c:v libx264 -pix_fmt yuv420p -c:a aac "$work/late-start.mp4"
ff -itsoffset 1.3 -f lavfi -i "$src:r=25" -t 3 -c:v libx264 -pix_fmt yuv420p "$work/late-start-video-only.mp4"
ff -f lavfi -i "$src:r=25" -t 2 -c:v libx264 -pix_fmt yuv420p -f mpegts "$work/part1.ts.tmp"
ff -f lavfi -i "testsrc2=s=176x144:r=25" -t 2 -c:v libx264 -pix_fmt yuv420p -output_ts_offset 2 \
	-f mpegts "$work/part2.ts.tmp"
cat "$work/part1.ts.tmp" "$work/part2.ts.tmp" > "$work/size-change.ts"
rm -f "$work"/*.tmp
ff -i "$work/r25-h264.mp4" -c copy -bsf:v h264_metadata=display_orientation=insert:rotate=90 \
	"$work/sei-rotate-90.mp4"
for deg in 90 180 270 45; do
	ff -i "$work/r25-h264.mp4" -c copy -metadata:s:v:0 rotate=$deg "$work/rotate-$deg.mp4"
done

files=("$work"/*.*)
if [ -d "$data/video/samples" ]; then
	files+=("$data"/video/samples/*.mp4)
fi
fail=0
n=0
for v in "${files[@]}"; do
	name=$(basename "$v")
	out="$work/out-${name%.*}"
	"$ref" -f "$ffmpeg" -i "$v" -o "$out.ref.tmk" >/dev/null 2>"$out.ref.err"
	rr=$?
	"$veto" --hash "$v" "$out.veto.tmk" 2>"$out.veto.err"
	vr=$?
	n=$((n + 1))
	if [ $rr -ne 0 ] || [ $vr -ne 0 ]; then
		echo "FAIL $name: reference exit $rr, veto exit $vr: $(head -c 300 "$out.veto.err" "$out.ref.err" | tr '\n' ' ')"
		fail=$((fail + 1))
	elif cmp -s "$out.ref.tmk" "$out.veto.tmk"; then
		echo "same $name ($(stat -c %s "$out.veto.tmk") bytes)"
	else
		echo "DIFF $name: $(cmp "$out.ref.tmk" "$out.veto.tmk" | head -1)"
		fail=$((fail + 1))
	fi
done
echo "$((n - fail)) of $n videos byte-identical"
[ $fail -eq 0 ]
