#!/usr/bin/env bash
# fuzz-corpus.sh OUTDIR [TESTDATA] - seed corpora for the fuzz/ targets.
#
# OUTDIR/<target>/ gets, for each fuzzer, small real inputs: the shared
# test images under 200 KB (../shared/testdata/pdq), plus small files that
# ImageMagick makes from the bridge photo in every format and layout the
# decoders handle (so each decoder starts from valid files it would
# otherwise take the fuzzer hours to find), EXIF blocks cut out of the
# shared phone photos, and PDQ planes. fuzz_image's seeds carry its option
# byte in front (see fuzz/fuzz_image.c). Rebuilt from scratch on each run.
set -euo pipefail

OUT=${1:?usage: fuzz-corpus.sh OUTDIR [TESTDATA]}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TD=${2:-$ROOT/../shared/testdata}
PDQ=$TD/pdq
[ -d "$PDQ" ] || { echo "fuzz-corpus.sh: no $PDQ" >&2; exit 1; }
CONVERT=/usr/bin/convert
[ -x "$CONVERT" ] || CONVERT=convert
SRC=$PDQ/bridge-mods/aaa-orig.jpg

rm -rf "$OUT"
for t in image jpeg png webp gif tiff bmp pnm heif pdq exif index video tmk; do
	mkdir -p "$OUT/$t"
done
GEN=$(mktemp -d "${TMPDIR:-/tmp}/veto-corpus-XXXXXX")
trap 'rm -rf "$GEN"' EXIT

# 1. real files under 200 KB, by content type
while IFS= read -r -d '' f; do
	case $f in
	*.jpg) t=jpeg ;; *.png) t=png ;; *.webp) t=webp ;; *) continue ;;
	esac
	cp "$f" "$OUT/$t/shared-$(basename "$(dirname "$f")")-$(basename "$f")"
done < <(find "$PDQ" -type f -size -200k -print0)

# 2. generated: small sizes keep each fuzz iteration fast
gen() { # gen TARGET NAME CONVERT-ARGS... (last arg is the output prefix)
	local t=$1 name=$2
	shift 2
	local spec=${*: -1}
	local args=("${@:1:$#-1}")
	if "$CONVERT" "$SRC" -resize 48x30! "${args[@]}" "$spec$GEN/$name" 2>/dev/null; then
		cp "$GEN/$name" "$OUT/$t/gen-$name"
	else
		echo "fuzz-corpus.sh: convert could not make $name (skipped)" >&2
	fi
}
gen jpeg base.jpg -quality 85 jpg:
gen jpeg prog.jpg -interlace JPEG jpg:
gen jpeg grey.jpg -colorspace Gray jpg:
gen jpeg cmyk.jpg -colorspace CMYK jpg:
gen jpeg s411.jpg -sampling-factor 4:1:1 jpg:
gen jpeg restart.jpg -define jpeg:restart-interval=1 jpg:
gen png rgb.png png24:
gen png grey.png -colorspace Gray -type Grayscale png:
gen png pal.png -colors 16 png8:
gen png rgba.png -alpha set -channel A -evaluate set 50% +channel png32:
gen png rgb16.png -evaluate multiply 0.9 -depth 16 png48:
gen png grey16.png -colorspace Gray -depth 16 png:
gen png mono.png -monochrome png:
gen png interlaced.png -interlace PNG png24:
gen webp lossless.webp -define webp:lossless=true webp:
gen webp lossy.webp -quality 50 webp:
gen webp alpha.webp -alpha set -channel A -evaluate set 50% +channel webp:
gen gif image.gif gif:
gen gif grey.gif -colorspace Gray gif:
gen gif interlaced.gif -interlace GIF gif:
gen tiff none.tiff -compress none tiff:
gen tiff lzw.tiff -compress lzw tiff:
gen tiff zip.tiff -compress zip tiff:
gen tiff jpeg.tiff -compress jpeg tiff:
gen tiff packbits.tiff -compress rle tiff:
gen tiff grey16.tiff -colorspace Gray -depth 16 tiff:
gen tiff rgba.tiff -alpha set -channel A -evaluate set 50% +channel tiff:
gen tiff mono.tiff -monochrome -compress group4 tiff:
gen bmp rgb24.bmp -type TrueColor bmp3:
gen bmp pal8.bmp -colors 16 -type Palette bmp3:
gen bmp rle8.bmp -colors 16 -type Palette -compress rle bmp3:
gen bmp rgba32.bmp -alpha set -channel A -evaluate set 50% +channel bmp:
gen bmp v2.bmp -type TrueColor bmp2:
gen bmp mono.bmp -monochrome bmp3:
gen pnm p6.ppm ppm:
gen pnm p5.pgm -colorspace Gray pgm:
gen pnm p4.pbm -monochrome pbm:
gen pnm p3.ppm -compress none ppm:
gen pnm p2.pgm -colorspace Gray -compress none pgm:
gen pnm p1.pbm -monochrome -compress none pbm:
gen pnm p6-16.ppm -depth 16 ppm:
gen pnm pam.pam -alpha set pam:
gen heif image.heic heic:
gen heif image.avif avif:

# 3. fuzz_image: every seed above with an option byte in front, cycling
#    through the modes and flags
i=0
for f in "$OUT"/{jpeg,png,webp,gif,tiff,bmp,pnm,heif}/*; do
	[ -f "$f" ] || continue
	sel=$(( (i * 7) % 32 ))
	{ printf "\\$(printf '%03o' "$sel")"; cat "$f"; } > "$OUT/image/$(printf '%02x' "$sel")-$(basename "$f")"
	i=$((i + 1))
done

# 4. fuzz_exif: the TIFF-structured EXIF payloads of the shared JPEGs
python3 - "$OUT/exif" "$PDQ" <<'PY'
import os, sys
out, root = sys.argv[1], sys.argv[2]
n = 0
for dirpath, _, names in os.walk(root):
    for name in sorted(names):
        if not name.endswith(".jpg"):
            continue
        data = open(os.path.join(dirpath, name), "rb").read()
        i = 2
        while i + 4 <= len(data) and data[i] == 0xFF:
            marker, seglen = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if marker == 0xE1 and data[i + 4:i + 10] == b"Exif\0\0":
                open(os.path.join(out, "exif-" + name + ".tiff"), "wb").write(data[i + 10:i + 2 + seglen])
                n += 1
                break
            if marker == 0xDA:
                break
            i += 2 + seglen
# and two minimal blocks: orientation 6, little and big endian
open(os.path.join(out, "min-le"), "wb").write(
    b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0")
open(os.path.join(out, "min-be"), "wb").write(
    b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0")
print("fuzz-corpus.sh: %d EXIF blocks" % n)
PY

# 5. fuzz_pdq: size bytes then luma pairs, cut from real image data
for spec in "63 63 8192" "4 4 64" "4 9 200" "127 127 4096" "99 13 3000" "159 159 20000"; do
	set -- $spec
	{ printf "\\$(printf '%03o' "$1")\\$(printf '%03o' "$2")"; head -c "$3" "$PDQ/misc-images/c.png"; } \
		> "$OUT/pdq/plane-$1-$2"
done
printf '%s' "$(cut -d, -f1 "$PDQ/expected-pdq.csv" | head -n 1)" > "$OUT/pdq/hex-hash"

# 6. fuzz_index: small real bank files, made by the release build's CLI
VETO=${VETO_BIN:-$ROOT/build-release/veto}
if [ -x "$VETO" ]; then
	"$VETO" index build -q -o "$OUT/index/empty.vidx"
	head -n 40 "$PDQ/reg-test-input/haystack.txt" | "$VETO" index build -q -o "$OUT/index/small.vidx" -
	"$VETO" index build -q --bank 3 -o "$OUT/index/csv.vidx" "$PDQ/expected-pdq.csv"
else
	echo "fuzz-corpus.sh: no $VETO: fuzz_index starts from no seeds" >&2
fi

# 7. fuzz_video: tiny videos (a few 32x24 frames) in the containers and
#    codecs people upload, made by ffmpeg from its own test source
if command -v ffmpeg > /dev/null; then
	vgen() { # vgen NAME ARGS...
		local name=$1
		shift
		if ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=32x24:rate=10 -t 0.5 "$@" \
			"$GEN/$name" 2> /dev/null; then
			cp "$GEN/$name" "$OUT/video/$name"
		else
			echo "fuzz-corpus.sh: ffmpeg could not make $name (skipped)" >&2
		fi
	}
	vgen h264.mp4 -c:v libx264 -pix_fmt yuv420p -bf 2
	vgen h264.mkv -c:v libx264 -pix_fmt yuv420p
	vgen vp9.webm -c:v libvpx-vp9
	vgen mpeg4.avi -c:v mpeg4
	vgen mjpeg.mov -c:v mjpeg -pix_fmt yuvj420p
	vgen mpeg2.ts -c:v mpeg2video
	vgen anim.gif
	vgen ffv1.mkv -c:v ffv1
else
	echo "fuzz-corpus.sh: no ffmpeg, fuzz_video has no seeds" >&2
fi

# 8. fuzz_tmk: two reference .tmk files
for n in chair-19-sd-bar doorknob-hd-no-bar; do
	if [ -f "$TD/video/expected-tmk/$n.tmk" ]; then cp "$TD/video/expected-tmk/$n.tmk" "$OUT/tmk/"; fi
done

for t in "$OUT"/*/; do
	printf 'fuzz-corpus.sh: %-6s %3d seeds\n' "$(basename "$t")" "$(find "$t" -type f | wc -l)"
done
