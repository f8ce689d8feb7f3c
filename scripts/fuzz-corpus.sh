#!/usr/bin/env bash
# fuzz-corpus.sh OUTDIR [TESTDATA] - seed corpora for the fuzz/ targets.
#
# OUTDIR/<target>/ gets, for each fuzzer, small real inputs: the shared
# test images under 200 KB (../shared/testdata/pdq), plus small files that
# ImageMagick makes from the bridge photo in every format and layout the
# decoders handle (so each decoder starts from valid files it would
# otherwise take the fuzzer hours to find), EXIF blocks cut out of the
# shared phone photos, and PDQ planes. fuzz_image's seeds carry its option
# byte in front (see fuzz/fuzz_image.c); fuzz_multipart and fuzz_api get
# multipart bodies and requests for every veto serve route (section 9).
# Rebuilt from scratch on each run.
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
for t in image jpeg png webp gif tiff bmp pnm heif pdq exif index video tmk multipart api; do
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

# 9. fuzz_multipart ("Content-Type line\nbody") and fuzz_api (requests in
#    the form fuzz/fuzz_api.c decodes) for every veto serve route, with the
#    small generated JPEG and MP4 above as uploads
python3 - "$OUT" <<'PY'
import glob, os, sys
out = sys.argv[1]

def first(pattern):
    files = sorted(glob.glob(os.path.join(out, pattern)))
    return open(files[0], "rb").read() if files else b"\xff\xd8\xff\xe0 not a jpeg"

jpeg = first("jpeg/gen-base.jpg")
mp4 = first("video/h264.mp4")

def mp(parts, boundary=b"fuzzb", preamble=b"", epilogue=b""):
    b = preamble
    for name, filename, ctype, data in parts:
        b += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
        if filename is not None:
            b += b"; filename=\"" + filename + b"\""
        b += b"\r\n"
        if ctype:
            b += b"Content-Type: " + ctype + b"\r\n"
        b += b"\r\n" + data + b"\r\n"
    return b + b"--" + boundary + b"--\r\n" + epilogue

def put(target, name, data):
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)

# fuzz_multipart
CT = b"multipart/form-data; boundary=fuzzb"
put("multipart", "text", CT + b"\n" + mp([(b"note", None, None, b"hello")]))
put("multipart", "file", CT + b"\n" + mp([(b"photo", b"a.jpg", b"image/jpeg", jpeg[:600]),
                                          (b"metadata", None, b"application/json",
                                           b'{"content_id":"c1"}'), (b"note", None, None, b"n")]))
put("multipart", "quoted", b'multipart/form-data; charset=utf-8; boundary="q (x) +_,-./:=?"\n' +
    mp([(b"a", None, None, b"1"), (b"b", b"x\\\"y.bin", None, b"\r\n--not-it\r\n")],
       boundary=b"q (x) +_,-./:=?"))
put("multipart", "pre-epilogue", CT + b"\n" +
    mp([(b"a", None, None, b"")], preamble=b"preamble\r\n", epilogue=b"trailing junk"))
put("multipart", "padding", CT + b"\n--fuzzb \t\r\nCONTENT-DISPOSITION: form-data; name=x\r\n"
    b"X-Other: y\r\ncontent-type: text/plain\r\n\r\nv\r\n--fuzzb--")
put("multipart", "many", CT + b"\n" + mp([(b"f%d" % i, None, None, b"%d" % i) for i in range(17)]))
put("multipart", "truncated", CT + b"\n" + mp([(b"photo", b"a.jpg", None, b"abc")])[:-12])
put("multipart", "no-ctype", b"--fuzzb--")

# fuzz_api: method, flags, path NUL, query NUL, [auth NUL], [ctype NUL], body
M = {"GET": 0, "POST": 1, "PUT": 2, "DELETE": 3, "PATCH": 4, "HEAD": 5}
ADMIN, WRONG, CURATOR, HASHER, MATCHER, REVOKED, RAW = 1, 2, 3, 4, 5, 6, 7
NOCT, JSON, MULTI = 0, 1, 2
PDQ = ["a4c123b1612dd272d1371c17149d439536b3216fdaeeb975729fae923d5a4fd1",
       "2aabfe228f219e9cb0eb53f16947ccf25ec84d8dbc74254770f58904dba41ecc"]
NEAR = "a4c123b1612dd272d1371c17149d439536b3216fdaeeb975729fae923d5a4fd0"
MD5 = "d6ba2b0aee0ca923732881584d8c4fa2"
VPDQ = '["%s,100,0.000","%s,90,1.000"]' % (PDQ[0], PDQ[1])
n = 0

def req(method, path, query="", body=b"", auth=ADMIN, ctype=NOCT, raw_auth=None,
        raw_ctype=None, not_ready=False):
    global n
    flags = auth | (ctype << 3) | (32 if not_ready else 0)
    b = bytes([M[method], flags]) + path.encode() + b"\0" + query.encode() + b"\0"
    if auth == RAW:
        b += raw_auth.encode() + b"\0"
    if ctype == 3:
        b += raw_ctype.encode() + b"\0"
    b += body if isinstance(body, bytes) else body.encode()
    n += 1
    put("api", "%03d-%s%s" % (n, method, path.replace("/", "_")), b)

photo = mp([(b"photo", b"a.jpg", b"image/jpeg", jpeg)])
req("GET", "/status", auth=0)
req("GET", "/status/live", auth=0)
req("GET", "/status", auth=0, not_ready=True)
req("GET", "/metrics")
req("GET", "/metrics", auth=HASHER)
req("GET", "/h/hash", "url=http://example.com/a.jpg&content_type=photo")
req("POST", "/h/hash", body=photo, ctype=MULTI)
req("POST", "/h/hash", "types=video_md5,vpdq", mp([(b"video", b"v.mp4", b"video/mp4", mp4)]),
    ctype=MULTI)
req("POST", "/v1/signals", body=photo, ctype=MULTI, auth=HASHER)
req("POST", "/v1/signals", body=mp([(b"file", b"a.jpg", b"image/jpeg", jpeg),
                                    (b"manifest", b"a.c2pa", b"application/c2pa", b"\0\0\0\x10jumb")]),
    ctype=MULTI)
req("GET", "/m/raw_lookup", "signal_type=pdq&signal=" + NEAR)
req("GET", "/m/raw_lookup", "signal_type=pdq&signal=%s&include_distance=true&banks=FUZZ"
    % PDQ[1], auth=MATCHER)
req("GET", "/m/raw_lookup", "signal_type=pdq&signal=" + PDQ[0], auth=CURATOR)
req("GET", "/m/raw_lookup", "signal_type=pdq&signal=" + PDQ[0], not_ready=True)
req("GET", "/m/lookup", "signal_type=pdq&signal=%s&bypass_coinflip=true&seed=abc" % PDQ[0])
req("GET", "/m/lookup", "signal_type=video_md5&signal=" + MD5.upper())
req("GET", "/m/lookup", "signal_type=vpdq&signal=" + VPDQ)
req("GET", "/m/lookup", "url=http://example.com/x.jpg&content_type=photo")
req("POST", "/m/lookup", "bypass_coinflip=true&banks=FUZZ,OTHER", photo, ctype=MULTI)
req("POST", "/m/compare", body='{"pdq":["%s","%s"],"video_md5":["%s","%s"]}'
    % (PDQ[0], NEAR, MD5, MD5), ctype=JSON)
req("POST", "/m/compare", body='{"vpdq":[%s,%s]}' % ((VPDQ.replace('"', '\\"').join('""'),) * 2),
    ctype=JSON)
req("GET", "/m/index/status", "signal_type=pdq")
req("GET", "/c/banks")
req("GET", "/c/banks", auth=CURATOR)
req("POST", "/c/banks", body='{"name":"NEW_BANK","enabled_ratio":0.5}', ctype=JSON)
req("POST", "/c/banks", body='{"name":"FUZZ"}', ctype=JSON)
req("GET", "/c/bank/FUZZ")
req("PUT", "/c/bank/FUZZ", body='{"enabled":true,"enabled_ratio":0.75}', ctype=JSON)
req("PUT", "/c/bank/SPARE", body='{"name":"RENAMED","enabled":false}', ctype=JSON)
req("DELETE", "/c/bank/SPARE")
req("POST", "/c/bank/FUZZ/signal", body='{"pdq":"%s","video_md5":"%s","note":"n"}'
    % (NEAR, MD5), ctype=JSON)
req("POST", "/c/bank/FUZZ/signal", body='{"vpdq":%s,"tmk":"AAAA"}'
    % VPDQ.replace('"', '\\"').join('""'), ctype=JSON)
req("POST", "/c/bank/FUZZ/content", body=mp([
    (b"photo", b"a.jpg", b"image/jpeg", jpeg),
    (b"metadata", None, b"application/json",
     b'{"content_id":"c1","content_uri":"https://x/y","json":{"k":1},"collab":3}'),
    (b"note", None, None, b"a note")]), ctype=MULTI)
req("POST", "/c/bank/FUZZ/content", "url=http://example.com/a.jpg",
    '{"metadata":{"content_id":"c2"},"note":"n"}', ctype=JSON)
req("GET", "/c/bank/FUZZ/content/1", "include_signals=true&include_metadata=false")
req("PUT", "/c/bank/FUZZ/content/2", body='{"disable_until_ts":0,"note":"disabled"}',
    ctype=JSON)
req("PUT", "/c/bank/FUZZ/content/3", body='{"disable_until_ts":"1"}', ctype=JSON)
req("DELETE", "/c/bank/FUZZ/content/4")
req("GET", "/c/signal_type", auth=HASHER)
req("GET", "/c/signal_type/index", "signal_type=pdq")
req("PUT", "/c/signal_type/pdq", body='{"enabled_ratio":"0.5"}', ctype=JSON)
req("GET", "/c/content_type")
# /v1 (server/api_v1.c): veto's own routes
ENTRY = ('{"signals":{"pdq":"%s","video_md5":"%s"},"source":"fuzz","case_ref":"c1",'
         '"note":"n","metadata":{"a":[1]},"status":"active","disable_until_ts":1,'
         '"original_media_uri":"https://x/y"}' % (NEAR, MD5))
req("GET", "/v1/banks")
req("POST", "/v1/banks/FUZZ/entries", body=ENTRY, ctype=JSON)
req("POST", "/v1/banks/FUZZ/entries", body='{"entries":[%s,{"signals":{"vpdq":%s},'
    '"status":"withdrawn"}]}' % (ENTRY, VPDQ.replace('"', '\\"').join('""')), ctype=JSON)
req("GET", "/v1/banks/FUZZ/entries", "after=1&limit=3")
req("GET", "/v1/banks/FUZZ/entries/1")
req("PATCH", "/v1/banks/FUZZ/entries/2", body='{"status":"withdrawn","note":"x",'
    '"source":"s","case_ref":"r","disable_until_ts":0,"metadata":{"k":"v"}}', ctype=JSON)
req("DELETE", "/v1/banks/FUZZ/entries/3")
req("GET", "/v1/banks/FUZZ/changes", "since=0&limit=10")
req("POST", "/v1/banks/FUZZ/import", "format=pdq&source=list&min_quality=60",
    "# a comment\n%s,100,one.jpg\n\n%s,40,two.jpg\n%s\n" % (PDQ[0], PDQ[1], NEAR))
req("POST", "/v1/banks/FUZZ/import", "format=vpdq",
    "0,100,%s,0.000\n1,90,%s,1.000\n" % (PDQ[0], PDQ[1]))
req("POST", "/v1/banks/FUZZ/import", "format=json", '{"entries":[%s]}' % ENTRY, ctype=JSON)
req("POST", "/v1/banks/FUZZ/import", "format=threatexchange&case_ref=te",
    '{"data":[{"indicator":"%s","type":"HASH_PDQ","id":"1","tags":["a"]},'
    '{"indicator":"%s","type":"HASH_MD5","id":"2","tags":{"data":[{"text":"media_type_video"}]}},'
    '{"indicator":"%s","type":"HASH_PDQ","id":"3","should_delete":true}]}'
    % (PDQ[1].upper(), MD5, NEAR), ctype=JSON)
req("POST", "/v1/banks/FUZZ/import", "format=stopncii",
    '{"hashes":[{"hashValue":"%s","signalType":"PDQ","caseNumber":"c","hashId":"h1"},'
    '{"hashValue":"%s","signalType":"MD5","caseNumber":"c","hashId":"h2"}],"checkpoint":1}'
    % (PDQ[0], MD5), ctype=JSON)
req("POST", "/v1/banks/FUZZ/import", "format=stopncii",
    '{"hashRecords":[{"signalType":"ImagePDQ","hashValue":"%s","hashStatus":"Active",'
    '"caseNumbers":{"x":"1"}},{"signalType":"VideoMD5","hashValue":"%s","hashStatus":'
    '"Withdrawn"}]}' % (PDQ[1], MD5), ctype=JSON)
req("POST", "/v1/banks/FUZZ/import", "format=pdq",
    mp([(b"file", b"hashes.txt", b"text/plain", ("%s\n" % PDQ[0]).encode())]), ctype=MULTI)
for fmt in ("pdq", "json", "threatexchange", "stopncii"):
    req("GET", "/v1/banks/FUZZ/export", "format=" + fmt)
req("POST", "/v1/lookup", body='{"signals":[{"signal_type":"pdq","signal":"%s"},'
    '{"signal_type":"video_md5","signal":"%s"}],"banks":["FUZZ","OTHER"],'
    '"include_disabled":true}' % (NEAR, MD5), ctype=JSON)
req("POST", "/v1/lookup", body='{"signals":[{"signal_type":"pdq","signal":"%s"}]}' % PDQ[0],
    ctype=JSON, auth=MATCHER)
# authentication and transport variations
req("GET", "/c/banks", auth=WRONG)
req("GET", "/c/banks", auth=REVOKED)
req("GET", "/c/banks", auth=0)
req("GET", "/c/banks", auth=RAW, raw_auth="Bearer veto_fzadmin")
req("DELETE", "/c/bank/FUZZ", auth=HASHER)
req("HEAD", "/c/banks")
req("PATCH", "/c/banks")
req("GET", "/no/such/route")
req("POST", "/h/hash", body=b"--x\r\n", ctype=3, raw_ctype='multipart/form-data; boundary="x"')
req("GET", "/m/lookup", "&".join("a%d=%d" % (i, i) for i in range(70)))
PY

# 10. veto signals: the provenance fixtures (TESTDATA/provenance) for the
# container walkers, the manifest stores cut out of them for fuzz_c2pa,
# their claims for fuzz_cbor, XMP packets for fuzz_xmp, EXIF blocks for
# fuzz_exiftags, the small files whole for fuzz_signals, and the COSE pairs
# of tests/data/cose for fuzz_cose / fuzz_x509 (see fuzz/fuzz_cose.c).
PROV=$TD/provenance
for t in jpegseg pngchunk riff gifext tiffifd bmff bmffhash jumbf c2pa cbor xmp exiftags genmeta signals cose x509; do
	mkdir -p "$OUT/$t"
done
if [ -d "$PROV" ]; then
	while IFS= read -r -d '' f; do
		b=$(basename "$f")
		case $b in
		*.jpg) cp "$f" "$OUT/jpegseg/$b" ;;
		*.png) cp "$f" "$OUT/pngchunk/$b" ;;
		*.webp) cp "$f" "$OUT/riff/$b" ;;
		*.mp4|*.heic|*.avif) cp "$f" "$OUT/bmff/$b"
			# fuzz_bmffhash: no assertion (length 0xFFFF: its fixed one), then the file
			{ printf '\377\377'; cat "$f"; } > "$OUT/bmffhash/$b" ;;
		*.c2pa) cp "$f" "$OUT/c2pa/$b" ;;
		esac
		case $b in *.jpg|*.png|*.webp|*.mp4|*.heic|*.avif|*.c2pa) cp "$f" "$OUT/signals/$b" ;; esac
	done < <(find "$PROV" -type f -size -400k -print0)
	for f in "$OUT"/gif/gen-*.gif; do [ -f "$f" ] && cp "$f" "$OUT/gifext/"; done
	for f in "$OUT"/tiff/gen-*.tiff; do [ -f "$f" ] && cp "$f" "$OUT/tiffifd/"; done
	for f in "$OUT"/exif/*; do [ -f "$f" ] && cp "$f" "$OUT/exiftags/"; done
	python3 - "$PROV" "$OUT" <<'PY'
import os, struct, sys
prov, out = sys.argv[1], sys.argv[2]
def boxes(buf, off, end, path, acc):
    while off + 8 <= end:
        lbox, tbox = struct.unpack(">I4s", buf[off:off + 8])
        if lbox < 8 or off + lbox > end:
            return
        p0, p1 = off + 8, off + lbox
        if tbox == b"jumb":
            dl = struct.unpack(">I", buf[p0:p0 + 4])[0]
            boxes(buf, p0 + dl, p1, path, acc)
        elif tbox == b"cbor":
            acc.append(buf[p0:p1])
        off += lbox
for name in sorted(os.listdir(os.path.join(prov, "c2pa"))):
    if not name.endswith(".jpg"):
        continue
    src = open(os.path.join(prov, "c2pa", name), "rb").read()
    pos, segs = 2, {}
    while pos + 4 <= len(src):
        m, ln = struct.unpack(">HH", src[pos:pos + 4])
        if m == 0xFFDA:
            break
        if m == 0xFFEB and src[pos + 4:pos + 6] == b"JP":
            en, z = struct.unpack(">HI", src[pos + 6:pos + 12])
            segs.setdefault(en, []).append((z, src[pos + 12:pos + 2 + ln]))
        if m == 0xFFE1 and src[pos + 4:pos + 33] == b"http://ns.adobe.com/xap/1.0/\0":
            open(os.path.join(out, "xmp", name + ".xmp"), "wb").write(src[pos + 33:pos + 2 + ln])
        pos += 2 + ln
    for en, l in segs.items():
        l.sort()
        store = l[0][1] + b"".join(x[1][8:] for x in l[1:])
        if len(store) < 400000:
            open(os.path.join(out, "c2pa", "%s-%d.c2pa" % (name, en)), "wb").write(store)
            open(os.path.join(out, "jumbf", "%s-%d.c2pa" % (name, en)), "wb").write(store)
        acc = []
        boxes(store, 0, len(store), "", acc)
        for i, c in enumerate(acc[:40]):
            if len(c) < 20000:
                open(os.path.join(out, "cbor", "%s-%d-%d.cbor" % (name, en, i)), "wb").write(c)
PY
fi
cose=$ROOT/tests/data/cose
if [ -d "$cose" ]; then
	python3 - "$cose" "$OUT" <<'PY'
import os, struct, sys
d, out = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(d)):
    if not name.endswith(".cose"):
        continue
    base = name[:-5]
    cose = open(os.path.join(d, name), "rb").read()
    claim_path = os.path.join(d, base + ".claim")
    claim = open(claim_path, "rb").read() if os.path.exists(claim_path) else b""
    if len(claim) < 65536:
        open(os.path.join(out, "cose", base), "wb").write(b"\0" + struct.pack(">H", len(claim)) + claim + cose)
    open(os.path.join(out, "cbor", base + ".cose"), "wb").write(cose)
PY
fi

for t in "$OUT"/*/; do
	printf 'fuzz-corpus.sh: %-6s %3d seeds\n' "$(basename "$t")" "$(find "$t" -type f | wc -l)"
done
