#!/usr/bin/env bash
# make-unseen-videos.sh OUTDIR [TESTDATA] - a corpus of videos veto's tests
# never saw, for scripts/check-vpdq-against-reference.sh.
#
# Every file is made by /usr/bin/ffmpeg from its built-in sources (testsrc2,
# mandelbrot, smptehdbars, life, cellauto, gradients, sine) or from a
# re-encode, with edits, of the shared samples (../shared/testdata/video);
# each has its own content. Together they cover the containers mp4, mov,
# mkv, webm, avi, mpegts and flv; the codecs H.264 (4:2:0, 4:4:4, 4:0:0,
# High 10), HEVC (8- and 10-bit), VP8, VP9, AV1 (libaom, SVT-AV1, rav1e),
# MPEG-4 part 2, MPEG-2 (interlaced), MJPEG, FFV1 (RGB) and FLV1; the frame
# rates 10, 23.976, 24, 25, 29.97, 30, 50 and 60 plus two variable-rate
# files; odd sizes (321x241, 97x55, 601x451, 1920x1080, 4x4); B-frames,
# all-intra, a rotation display matrix, audio before video, two video
# streams, a 60 s 720x480 phone-like clip, and the failure cases (no video
# stream, truncated files, a 4x4 video the reference refuses).
#
# Deterministic: the same ffmpeg build makes the same bytes (bitexact
# muxing, no metadata, fixed seeds, one encoder thread where an encoder's
# output could depend on threading). A codec this ffmpeg lacks is skipped
# with a message on stderr. OUTDIR is rebuilt from scratch; OUTDIR/MANIFEST
# lists what was made (name, then what it is for) and is written last, so
# its presence means the corpus is complete. About 22 MB, 2 minutes on 2 cores.
set -euo pipefail

OUT=${1:?usage: make-unseen-videos.sh OUTDIR [TESTDATA]}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TD=${2:-${VETO_TESTDATA:-$ROOT/../shared/testdata}}
S=$TD/video/samples
FFMPEG=${FFMPEG:-/usr/bin/ffmpeg}
[ -x "$FFMPEG" ] || FFMPEG=ffmpeg
[ -d "$S" ] || { echo "make-unseen-videos.sh: no $S" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/veto-videos-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

export SVT_LOG=1  # SVT-AV1: errors only
ENCODERS=$("$FFMPEG" -hide_banner -encoders 2>/dev/null | awk 'NR > 10 { print $2 }')
have() { grep -qx -- "$1" <<< "$ENCODERS"; }
manifest=()
made=0
skipped=0

# [THEN=...] mk NAME "WHAT IT IS FOR" ENCODER[,ENCODER...] FFMPEG-ARGS...
# Runs ffmpeg with the arguments (the output is NAME in OUTDIR, appended
# here) when every listed encoder exists. THEN="cut PERCENT" keeps only the
# first PERCENT % of the file's bytes; THEN="rotate DEGREES" stream-copies
# it with that rotation tag (ffmpeg 5.1 writes the display matrix on copy,
# not when encoding, and has no -display_rotation yet).
mk() {
	local name=$1 what=$2 encs=$3 e size
	shift 3
	for e in ${encs//,/ }; do
		if ! have "$e"; then
			echo "make-unseen-videos.sh: skipped $name (this ffmpeg has no $e encoder)" >&2
			skipped=$((skipped + 1))
			return 0
		fi
	done
	"$FFMPEG" -nostdin -hide_banner -loglevel error -y "$@" \
		-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact "$TMP/$name"
	case ${THEN:-} in
	"") mv "$TMP/$name" "$OUT/$name" ;;
	cut\ *)
		size=$(stat -c %s "$TMP/$name")
		head -c $((size * ${THEN#cut } / 100)) "$TMP/$name" > "$OUT/$name" ;;
	rotate\ *)
		"$FFMPEG" -nostdin -hide_banner -loglevel error -y -i "$TMP/$name" -map 0 -c copy \
			-map_metadata -1 -fflags +bitexact -metadata:s:v:0 rotate="${THEN#rotate }" "$OUT/$name" ;;
	esac
	rm -f "$TMP/$name"
	manifest+=("$name	$what")
	made=$((made + 1))
}

# Common inputs. lavfi sources are deterministic: life, cellauto and
# gradients are given seeds, gradients its colours too (it picks random
# ones, not from its seed, unless given them); testsrc2 rounds its size
# to even. sine is the audio track where there is one.
colors() { local i=0 c out=; for c; do out+="${out:+:}c$i=0x$c"; i=$((i + 1)); done; echo "$out"; }
sine() { echo "-f lavfi -i sine=frequency=$1:sample_rate=48000:duration=$2"; }
X264="-c:v libx264 -preset veryfast -threads 2"  # x264 is deterministic across threads

# shellcheck disable=SC2046,SC2086
{
mk u01-testsrc2-h264-bframes-25.mp4 "H.264 4:2:0 High, 3 B-frames (b-pyramid), 25 fps, 640x360, AAC" libx264,aac \
	-f lavfi -i testsrc2=s=640x360:r=25:d=4 $(sine 440 4) \
	$X264 -crf 23 -bf 3 -pix_fmt yuv420p -c:a aac -b:a 96k

mk u02-mandelbrot-h264-yuv444p-321x241-2997.mov "H.264 High 4:4:4, odd size 321x241, 29.97 fps, MOV" libx264 \
	-f lavfi -i mandelbrot=s=321x241:r=30000/1001:start_scale=2.5:end_scale=0.05:end_pts=90 -t 3 \
	$X264 -crf 20 -pix_fmt yuv444p

mk u03-smptehdbars-h264-high10-24.mkv "H.264 High 10 (yuv420p10le), 24 fps, 1280x720, MKV, moving overlay" libx264 \
	-f lavfi -i smptehdbars=s=1280x720:r=24:d=3 -f lavfi -i testsrc2=s=240x180:r=24:d=3 \
	-filter_complex "[0:v][1:v]overlay=x='mod(t*350,1040)':y='200+100*sin(t*3)'" \
	$X264 -crf 24 -pix_fmt yuv420p10le -profile:v high10

mk u04-life-hevc-50.mkv "HEVC (libx265) Main, 50 fps, 640x480, MKV" libx265 \
	-f lavfi -i "life=s=320x240:r=50:seed=7:mold=10:ratio=0.3:life_color=#20ff40:death_color=#a01010:mold_color=#303080" -t 3 \
	-vf scale=640:480:flags=neighbor -c:v libx265 -preset fast -crf 28 -pix_fmt yuv420p \
	-x265-params log-level=error:pools=1:frame-threads=1

mk u05-cellauto-vp8-30.webm "VP8, 30 fps, 400x300, WebM with Vorbis" libvpx,libvorbis \
	-f lavfi -i cellauto=s=400x300:r=30:seed=3:rule=110:random_fill_ratio=0.4 $(sine 330 4) -t 4 \
	-c:v libvpx -b:v 1M -deadline good -cpu-used 4 -threads 1 -auto-alt-ref 1 -c:a libvorbis -q:a 3

mk u06-gradients-vp9-60.webm "VP9 profile 0, 60 fps, 480x270, WebM with Opus" libvpx-vp9,libopus \
	-f lavfi -i gradients=s=480x270:r=60:seed=11:speed=0.05:n=5:type=radial:$(colors 1f3a93 f2c14e d7263d 02c39a f4f1de) $(sine 550 3) -t 3 \
	-c:v libvpx-vp9 -b:v 800k -deadline good -cpu-used 5 -threads 1 -row-mt 0 -c:a libopus -b:a 64k

mk u07-testsrc2-av1-aom-23976.mkv "AV1 (libaom), 23.976 fps, 320x180, MKV, mirrored" libaom-av1 \
	-f lavfi -i testsrc2=s=320x180:r=24000/1001:d=2 -vf hflip \
	-c:v libaom-av1 -cpu-used 8 -crf 35 -b:v 0 -threads 1 -row-mt 0 -tiles 1x1

mk u08-mandelbrot-av1-svt-30.mp4 "AV1 (SVT-AV1), 30 fps, 352x240, MP4" libsvtav1 \
	-f lavfi -i "mandelbrot=s=352x240:r=30:start_x=-0.743643887:start_y=0.131825904:start_scale=0.5:end_scale=0.001:end_pts=60" -t 2 \
	-c:v libsvtav1 -preset 10 -crf 40 -pix_fmt yuv420p -svtav1-params lp=1

mk u09-av1-rav1e-30.webm "AV1 (rav1e), 30 fps, 256x144, WebM" librav1e \
	-f lavfi -i cellauto=s=128x72:r=30:seed=42:rule=30:random_fill_ratio=0.5 -t 2 -vf scale=256:144:flags=neighbor,format=yuv420p \
	-c:v librav1e -speed 10 -qp 120 -rav1e-params threads=1

mk u10-mandelbrot-mpeg4-bframes-10.avi "MPEG-4 part 2 (native) with 2 B-frames, 10 fps, 352x288, AVI with MP3" mpeg4,libmp3lame \
	-f lavfi -i "mandelbrot=s=352x288:r=10:start_x=-0.77568377:start_y=0.13646737:start_scale=1.5:end_scale=0.01:end_pts=50" $(sine 220 5) -t 5 \
	-c:v mpeg4 -q:v 4 -bf 2 -g 30 -c:a libmp3lame -b:a 64k

mk u11-smptehdbars-mpeg2-interlaced-2997.ts "MPEG-2 interlaced (ilme/ildct), B-frames, 29.97 fps, 720x480, MPEG-TS with MP2" mpeg2video,mp2 \
	-f lavfi -i smptehdbars=s=720x480:r=30000/1001:d=4 -f lavfi -i mandelbrot=s=200x150:r=30000/1001 $(sine 660 4) \
	-filter_complex "[0:v][1:v]overlay=x='mod(t*150,520)':y=250:shortest=1" -map 2:a \
	-c:v mpeg2video -b:v 4M -maxrate 6M -bufsize 2M -g 15 -bf 2 -flags +ilme+ildct -top 1 -c:a mp2 -b:a 128k

mk u12-testsrc2-mjpeg-97x55-30.avi "MJPEG (yuvj420p), odd size 97x55, 30 fps, AVI" mjpeg \
	-f lavfi -i testsrc2=s=194x110:r=30:d=3 -vf vflip,scale=97:55:flags=bicubic -c:v mjpeg -q:v 3 -pix_fmt yuvj420p

mk u13-life-ffv1-rgb-601x451-25.mkv "FFV1 lossless RGB (bgr0), odd size 601x451, 25 fps, MKV" ffv1 \
	-f lavfi -i "life=s=200x150:r=25:seed=99:rule=S23/B36:ratio=0.2:life_color=#ffd000:death_color=#002040" -t 3 \
	-vf scale=601:451:flags=neighbor,format=bgr0 -c:v ffv1 -level 3 -slices 4 -threads 1

mk u14-doorknob-h264-allintra-1920x1080-25.mp4 "H.264 all-intra (keyint 1), 1920x1080 upscale of a shared sample, 25 fps, brightened" libx264 \
	-i "$S/doorknob-hd-no-bar.mp4" -t 2 -an -vf "fps=25,scale=1920:1080:flags=bicubic,eq=brightness=0.05:contrast=1.2" \
	$X264 -crf 22 -pix_fmt yuv420p -x264-params keyint=1:min-keyint=1:scenecut=0

mk u15-pattern-flv1-24.flv "FLV1 (Sorenson H.263), 24 fps, 320x240 crop of a shared sample, FLV with MP3" flv,libmp3lame \
	-i "$S/pattern-sd-grey-bar.mp4" -t 4 -vf "crop=480:360:0:180,scale=320:240,fps=24" \
	-c:v flv -q:v 5 -c:a libmp3lame -ar 22050 -b:a 48k

mk u16-tiny-4x4-h264-30.mp4 "H.264 4x4 video (below PDQ's 5 px minimum: the reference refuses it at native size)" libx264 \
	-f lavfi -i testsrc2=s=64x64:r=30:d=1 -vf scale=4:4:flags=area \
	$X264 -crf 18 -pix_fmt yuv420p

THEN="rotate 90" mk u17-chair-rotate90-h264-30.mp4 "H.264 with a 90 degree rotation display matrix (rotate=90), cropped shared sample" libx264,aac \
	-i "$S/chair-20-sd-bar.mp4" -t 5 -vf "crop=480:600:0:60,scale=360:450,eq=gamma=1.3" \
	$X264 -crf 23 -pix_fmt yuv420p -c:a aac -b:a 64k

mk u18-testsrc2-vfr-dropped-h264.mp4 "variable frame rate H.264 in MP4 (30 fps clock, frames 10-19 of each second dropped)" libx264 \
	-f lavfi -i testsrc2=s=320x240:r=30:d=6 -vf "select='not(between(mod(n\,30)\,10\,19))',drawgrid=w=40:h=40:c=red" \
	-fps_mode vfr $X264 -crf 23 -pix_fmt yuv420p

mk u19-gradients-vfr-15-then-30.mkv "variable frame rate MKV: 3 s at 15 fps then 3 s at 30 fps (H.264)" libx264 \
	-f lavfi -i gradients=s=384x216:r=15:d=3:seed=5:speed=0.03:$(colors 3d5a80 ee6c4d) -f lavfi -i gradients=s=384x216:r=30:d=3:seed=6:speed=0.03:type=circular:n=3:$(colors 283618 fefae0 bc6c25) \
	-filter_complex "[0:v]settb=1/1000[a];[1:v]settb=1/1000[b];[a][b]concat=n=2:v=1:a=0" \
	-fps_mode vfr $X264 -crf 23 -pix_fmt yuv420p

mk u20-chair-audiofirst-h264-bframes-30.mkv "audio is stream 0, video stream 1 (H.264, B-frames): the reference never flushes the decoder then" libx264,aac \
	-i "$S/chair-19-sd-bar.mp4" -t 6 -map 0:a -map 0:v -vf "hflip,scale=360:540" \
	$X264 -crf 23 -bf 3 -pix_fmt yuv420p -c:a aac -b:a 64k

mk u21-pattern-hevc-main10-2997.mp4 "HEVC Main 10 (hvc1), 29.97 fps, logo sample cropped and sharpened" libx265 \
	-i "$S/pattern-sd-with-large-logo-bar.mp4" -t 4 -an -vf "fps=30000/1001,crop=480:480:0:120,unsharp=5:5:1.0" \
	-c:v libx265 -preset fast -crf 26 -pix_fmt yuv420p10le -tag:v hvc1 -x265-params log-level=error:pools=1:frame-threads=1

mk u22-mandelbrot-h264-gray-50.mp4 "H.264 High 4:0:0 (gray), 50 fps, 360x360" libx264 \
	-f lavfi -i "mandelbrot=s=360x360:r=50:start_x=-1.25066:start_y=0.02012:start_scale=1:end_scale=0.002:end_pts=150" -t 3 \
	-vf format=gray $X264 -crf 22 -pix_fmt gray

mk u23-two-video-streams.mkv "two video streams (cellauto H.264, then testsrc2 VP8): the first is hashed" libx264,libvpx \
	-f lavfi -i cellauto=s=320x240:r=25:seed=17:rule=90 -f lavfi -i testsrc2=s=320x240:r=25:d=3 -map 0:v -map 1:v -t 3 \
	-c:v:0 libx264 -preset veryfast -threads 2 -crf 23 -pix_fmt yuv420p -c:v:1 libvpx -b:v:1 500k -threads 1

mk u24-no-video.mp4 "audio only (AAC in MP4): no video stream" aac \
	$(sine 880 2) -c:a aac -b:a 64k

mk u25-chair-phone-720x480-60s.mp4 "phone-like clip: 60 s, 720x480, 30 fps, H.264 Main + AAC, faststart (shared sample looped, cropped, noisy)" libx264,aac \
	-stream_loop -1 -i "$S/chair-orig-22-sd-bar.mp4" -t 60 \
	-vf "crop=480:320:0:200,scale=720:480,eq=saturation=1.3,noise=alls=6:allf=t" \
	$X264 -profile:v main -crf 27 -g 60 -pix_fmt yuv420p -c:a aac -b:a 96k -movflags +faststart
}

# Truncated files: a complete file cut at a fixed byte count.
# shellcheck disable=SC2046,SC2086
{
THEN="cut 55" mk u26-truncated-h264.ts "MPEG-TS cut at 55% of its bytes (decoder sees a partial last packet)" libx264 \
	-f lavfi -i testsrc2=s=352x288:r=25:d=4 -vf negate $X264 -crf 23 -bf 2 -pix_fmt yuv420p

THEN="cut 50" mk u27-truncated-faststart-h264.mp4 "MP4 with moov first, cut at 50% of its bytes (index lists frames that are missing)" libx264 \
	-f lavfi -i gradients=s=320x240:r=30:d=4:seed=23:speed=0.08:n=3:$(colors 6a040f ffba08 03071e) $X264 -crf 23 -pix_fmt yuv420p -movflags +faststart
}

printf '%s\n' "${manifest[@]}" > "$OUT/MANIFEST"
echo "make-unseen-videos.sh: $made files in $OUT ($(du -sh "$OUT" | cut -f1)), $skipped skipped" >&2
