#!/usr/bin/env bash
# test_video_cli.sh - videos through the CLI: `veto hash`, `veto compare`,
# `veto index --videos` and `veto match`, against the reference outputs and
# an independent Python computation of the reference's match rule.
#
# Usage: test_video_cli.sh VETO_BINARY TESTDATA_DIR
#
# - `veto hash --format vpdq --every 0` prints expected-vpdq/NAME.txt byte
#   for byte; --json holds the file's MD5/SHA-256 (checked with hashlib),
#   the sampled frames and the TMK; --tmk-dir writes NAME.tmk equal to
#   expected-tmk/NAME.tmk.
# - `veto compare` for EVERY ordered pair of the 14 shared samples (their
#   reference vPDQ files): the query and target percentages equal Python's
#   python-threatexchange rule (de-dup, quality >= 50, distance <= 31), and
#   the verdict is query >= 80%. The .tmk pairs give the reference's
#   verdicts; the families the issue names behave as it says (chair-19 vs
#   chair-20 match by vPDQ; pattern HD vs SD match only by TMK; the large
#   logo defeats both) and a video file gives what its vPDQ file gives.
# - `veto index build --videos` + `veto match`: for every sample as query,
#   the percentages per banked video equal `veto compare`'s.
# - Hostile: audio only, no frames, truncated, a frame budget, frames too
#   small, a pixel limit, a text file: the right exit status and a message
#   naming the file; partial results are flagged as partial (and damaged,
#   with exit 1, when the data is cut short rather than a budget reached).
# - vpdq-hash-video never flushes its decoder when the video is not stream
#   0; a clip with audio first must lose the same last frames.
set -u

VETO=${1:?usage: test_video_cli.sh VETO_BINARY TESTDATA_DIR}
TD=${2:?usage: test_video_cli.sh VETO_BINARY TESTDATA_DIR}
case $VETO in /*) ;; *) VETO=$PWD/$VETO ;; esac
TD=$(cd "$TD" && pwd) || { echo "FATAL: no test data directory $TD" >&2; exit 2; }
VD=$TD/video
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

[ -x "$VETO" ] || { echo "FATAL: $VETO is not an executable" >&2; exit 2; }
[ -d "$VD/samples" ] || { echo "FATAL: no $VD/samples" >&2; exit 2; }
command -v python3 > /dev/null || { echo "FATAL: python3 is needed" >&2; exit 2; }
command -v ffmpeg > /dev/null || { echo "FATAL: ffmpeg is needed (scripts/setup.sh)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/veto-video-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
NAMES=$(cd "$VD/samples" && ls *.mp4 | sed 's/\.mp4$//')

# ---------------------------------------------------------------- hash ---
for n in chair-22-sd-grey-bar test-padded-dimensions; do
	if "$VETO" hash --no-tmk --format vpdq --every 0 "$VD/samples/$n.mp4" > "$T/$n.txt" &&
	   cmp -s "$T/$n.txt" "$VD/expected-vpdq/$n.txt"; then ok; else bad "hash --format vpdq $n"; fi
	if "$VETO" hash --no-tmk --format vpdq --every 0 --vpdq-size 128 "$VD/samples/$n.mp4" |
	   cmp -s - "$VD/expected-vpdq-128/$n-128x128.txt"; then ok; else bad "hash --vpdq-size 128 $n"; fi
done

n=doorknob-hd-no-bar
mkdir -p "$T/tmk"
if "$VETO" hash --json --tmk-dir "$T/tmk" "$VD/samples/$n.mp4" > "$T/$n.json"; then ok; else bad "hash --json $n"; fi
if cmp -s "$T/tmk/$n.tmk" "$VD/expected-tmk/$n.tmk"; then ok; else bad "--tmk-dir $n.tmk differs from the reference"; fi
if python3 - "$T/$n.json" "$VD/samples/$n.mp4" "$VD/expected-vpdq/$n.txt" "$T/tmk/$n.tmk" <<'EOF'
import hashlib, json, sys
o = json.loads(open(sys.argv[1]).read())
data = open(sys.argv[2], 'rb').read()
assert o['kind'] == 'video', o['kind']
assert o['md5'] == hashlib.md5(data).hexdigest()
assert o['sha256'] == hashlib.sha256(data).hexdigest()
assert o['bytes'] == len(data)
assert o['partial'] is False
assert o['frames'] == 120 and o['width'] == 1280 and o['height'] == 720, o
assert abs(o['fps'] - 30) < 1e-9 and o['every'] == 1
ref = [l.split(',') for l in open(sys.argv[3]).read().split()]
want = [(int(f), int(q), h) for f, q, h, _ in ref if int(f) % 30 == 0]
got = [(f['frame'], f['quality'], f['pdq']) for f in o['vpdq']]
assert got == want, (got, want)
assert o['tmk']['file'] == sys.argv[4] and o['tmk']['fps'] == 15
EOF
then ok; else bad "hash --json $n"; fi
# Without --tmk-dir the JSON carries the .tmk itself.
if "$VETO" hash --json "$VD/samples/$n.mp4" | python3 -c '
import base64, json, sys
o = json.loads(sys.stdin.read())
assert base64.b64decode(o["tmk"]["tmk_base64"]) == open(sys.argv[1], "rb").read()
' "$VD/expected-tmk/$n.tmk"; then ok; else bad "hash --json: tmk_base64 is not the reference .tmk"; fi
line=$("$VETO" hash --no-tmk "$VD/samples/$n.mp4")
md5=$(md5sum < "$VD/samples/$n.mp4" | cut -d' ' -f1)
[ "$line" = "$md5,vpdq:4,$VD/samples/$n.mp4" ] && ok || bad "hash text line: $line"

# ------------------------------------------------------------- compare ---
# Every ordered pair of reference vPDQ files, in JSON.
for a in $NAMES; do for b in $NAMES; do
	"$VETO" compare --json "$VD/expected-vpdq/$a.txt" "$VD/expected-vpdq/$b.txt"
	echo "rc=$?"
done; done > "$T/pairs.txt" 2> "$T/pairs.err"
if python3 - "$T/pairs.txt" "$VD/expected-vpdq" $NAMES <<'EOF'
import json, sys
out, d, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(n):
    fr = [l.split(',') for l in open(f'{d}/{n}.txt').read().split()]
    seen, hs = set(), []
    for f, q, h, t in fr:            # python-threatexchange: dedupe, then quality
        if h in seen: continue
        seen.add(h)
        if int(q) >= 50: hs.append(int(h, 16))
    return hs
def count(a, b):
    return sum(1 for x in a if any(bin(x ^ y).count('1') <= 31 for y in b))
H = {n: load(n) for n in names}
lines = open(out).read().split('\n')
i = 0; bad = 0
for a in names:
    for b in names:
        o = json.loads(lines[i]); rc = int(lines[i + 1][3:]); i += 2
        qa, qb = H[a], H[b]
        qp = count(qa, qb) * 100 / len(qa) if qa and qb else 0.0
        tp = count(qb, qa) * 100 / len(qb) if qa and qb else 0.0
        v = o['vpdq']
        m = qp >= 80
        if abs(v['query_percent'] - qp) > 1e-9 or abs(v['target_percent'] - tp) > 1e-9 \
           or v['match'] != m or rc != (0 if m else 1):
            print(f'{a} vs {b}: veto {v} rc {rc}, python {qp} {tp} {m}'); bad += 1
sys.exit(1 if bad else 0)
EOF
then ok; else bad "compare: vPDQ percentages differ from the python-threatexchange rule"; fi

# The verdicts the issue names, by signal, on the video files themselves.
verdict() { # A B -> "vpdq=yes tmk=no"
	"$VETO" compare --every 0 --json "$VD/samples/$1.mp4" "$VD/samples/$2.mp4" |
		python3 -c 'import json,sys; o=json.load(sys.stdin); print("vpdq=%s tmk=%s" % tuple("yes" if o[k]["match"] else "no" for k in ("vpdq","tmk")))'
}
v=$(verdict chair-19-sd-bar chair-20-sd-bar)
[ "$v" = "vpdq=yes tmk=yes" ] && ok || bad "chair-19 vs chair-20: $v"
v=$(verdict pattern-hd-no-bar pattern-sd-grey-bar)
[ "$v" = "vpdq=no tmk=yes" ] && ok || bad "pattern HD vs SD: $v (expected a match by TMK only)"
v=$(verdict chair-22-with-large-logo-bar chair-orig-22-sd-bar)
[ "$v" = "vpdq=no tmk=no" ] && ok || bad "large logo vs original: $v (expected both defeated)"
"$VETO" compare --every 0 "$VD/samples/chair-22-with-large-logo-bar.mp4" "$VD/samples/chair-orig-22-sd-bar.mp4" > /dev/null
[ $? -eq 1 ] && ok || bad "compare of a non-match must exit 1"
# A video file and its reference vPDQ file compare as identical.
if "$VETO" compare --no-tmk --every 0 --json "$VD/samples/chair-19-sd-bar.mp4" "$VD/expected-vpdq/chair-19-sd-bar.txt" |
   grep -q '"query_percent":100.0,"target_percent":100.0'; then ok; else bad "video vs its own vPDQ file"; fi
# TMK files: level 1 and 2 for a pair, and the verdict.
if "$VETO" compare --json "$VD/expected-tmk/pattern-hd-no-bar.tmk" "$VD/expected-tmk/pattern-sd-grey-bar.tmk" |
   python3 -c 'import json,sys; o=json.load(sys.stdin); t=o["tmk"]; assert t["match"] and t["level1"]>=0.7 and t["level2"]>=0.7 and "vpdq" not in o'
then ok; else bad "compare .tmk files"; fi
"$VETO" compare "$VD/samples/chair-19-sd-bar.mp4" "$TD/pdq/bridge-mods/aaa-orig.jpg" > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q 'compare videos with videos' "$T/err" && ok || bad "video vs image must be refused"

# --------------------------------------------------------- index + match ---
"$VETO" index build -q -o "$T/bank.vidx" --videos $(for n in $NAMES; do echo "$VD/expected-vpdq/$n.txt"; done) > "$T/ids.txt"
[ $? -eq 0 ] && [ "$(wc -l < "$T/ids.txt")" -eq 14 ] && ok || bad "index build --videos"
"$VETO" match --index "$T/bank.vidx" --json --match-percent 0 \
	$(for n in $NAMES; do echo "$VD/expected-vpdq/$n.txt"; done) > "$T/match.json"
[ $? -eq 0 ] && ok || bad "match of vPDQ files"
# And one real video, every frame, through the decoder.
"$VETO" match --index "$T/bank.vidx" --json --match-percent 0 --every 0 "$VD/samples/chair-20-sd-bar.mp4" > "$T/match1.json"
if python3 - "$T/pairs.txt" "$T/match.json" "$T/ids.txt" "$T/match1.json" $NAMES <<'EOF'
import json, sys
pairs, match, ids, match1, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
lines = open(pairs).read().split('\n')
cmp = {}
i = 0
for a in names:
    for b in names:
        cmp[(a, b)] = json.loads(lines[i])['vpdq']; i += 2
idname = {int(l.split(',')[0]): l.split(',', 1)[1].rsplit('/', 1)[1][:-4] for l in open(ids).read().split()}
bad = 0
def check(a, o):
    global bad
    got = {idname[m['id']]: (m['query_percent'], m['target_percent']) for m in o['matches']}
    for b in names:
        c = cmp[(a, b)]
        want = (c['query_percent'], c['target_percent'])
        g = got.get(b, (0.0, 0.0) if c['query_percent'] == 0 else None)
        if g is None or abs(g[0] - want[0]) > 1e-9 or abs(g[1] - want[1]) > 1e-9:
            print(f'match {a} -> {b}: index {g}, compare {want}'); bad += 1
for a, l in zip(names, open(match).read().split('\n')):
    check(a, json.loads(l))
check('chair-20-sd-bar', json.loads(open(match1).read()))
sys.exit(1 if bad else 0)
EOF
then ok; else bad "match percentages differ from compare's"; fi
# Default threshold: only banked videos with query_percent >= 80, text form.
"$VETO" match --index "$T/bank.vidx" "$VD/expected-vpdq/pattern-hd-no-bar.txt" > "$T/m.txt"
[ "$(cut -d, -f1 "$T/m.txt" | sort -n | tr '\n' ' ')" = "8 9 " ] && ok || bad "match text: $(cat "$T/m.txt")"

# ------------------------------------------------------------- hostile ---
ff() { ffmpeg -nostdin -v error -y "$@"; }
ff -f lavfi -i sine=frequency=440:duration=1 "$T/audio.m4a"
"$VETO" hash "$T/audio.m4a" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "audio.m4a.*no video stream" "$T/err" && ok || bad "audio only: $(cat "$T/err")"
ff -f lavfi -i testsrc2=size=4x4:rate=10 -t 1 -pix_fmt yuv420p "$T/tiny.mkv" 2> /dev/null ||
	ff -f lavfi -i testsrc2=size=4x4:rate=10 -t 1 -c:v ffv1 "$T/tiny.mkv"
"$VETO" hash --no-tmk "$T/tiny.mkv" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "tiny.mkv.*too small" "$T/err" && ok || bad "4x4 video: $(cat "$T/err")"
"$VETO" hash --no-tmk --vpdq-size 16 "$T/tiny.mkv" > /dev/null 2> "$T/err"
[ $? -eq 0 ] && ok || bad "4x4 video with --vpdq-size 16: $(cat "$T/err")"
head -c 300000 "$VD/samples/chair-20-sd-bar.mp4" > "$T/cut.mp4"
"$VETO" hash --no-tmk --json "$T/cut.mp4" > "$T/cut.json" 2> "$T/err"
rc=$?
# Cut short: exit 1 naming the file; what did hash is printed, marked damaged.
if [ $rc -eq 1 ] && grep -q "cut.mp4" "$T/err" &&
   { [ ! -s "$T/cut.json" ] || grep -q '"partial":true,"damaged":true' "$T/cut.json"; }; then ok
else bad "truncated mp4: rc $rc $(cat "$T/err")"; fi
"$VETO" hash --no-tmk --json --max-frames 7 --every 0 "$VD/samples/chair-20-sd-bar.mp4" > "$T/budget.json" 2> "$T/err"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["partial"] and len(o["vpdq"])==7 and "budget" in o["partial_reason"]' "$T/budget.json" &&
	grep -q "partial result" "$T/err" && ok || bad "frame budget"
"$VETO" hash --no-tmk --max-pixels 1000 "$VD/samples/chair-20-sd-bar.mp4" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "chair-20-sd-bar.mp4.*over the limit" "$T/err" && ok || bad "pixel limit: $(cat "$T/err")"
ff -f lavfi -i testsrc2=size=64x64:rate=10 -frames:v 0 -c:v mpeg4 "$T/empty.avi" 2> /dev/null
if [ -f "$T/empty.avi" ]; then
	"$VETO" hash --no-tmk "$T/empty.avi" > /dev/null 2> "$T/err"
	[ $? -eq 1 ] && grep -q "empty.avi" "$T/err" && ok || bad "no frames: $(cat "$T/err")"
fi
printf 'just some text\n' > "$T/notes.txt"
"$VETO" hash "$T/notes.txt" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "notes.txt" "$T/err" && ok || bad "text file: $(cat "$T/err")"
"$VETO" hash --every -1 "$VD/samples/chair-20-sd-bar.mp4" > /dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--every -1 must be a usage error"
# Audio as stream 0: the reference's output lacks the frames only a flush
# returns (B-frame delay); veto's does too, and TMK (whose reference, the
# ffmpeg CLI, flushes) still sees every frame.
ff -i "$VD/samples/chair-19-sd-bar.mp4" -map 0:a -map 0:v -c copy -t 3 "$T/audiofirst.mkv"
ff -i "$VD/samples/chair-19-sd-bar.mp4" -map 0:v -map 0:a -c copy -t 3 "$T/videofirst.mkv"
"$VETO" hash --no-tmk --json --every 0 "$T/audiofirst.mkv" > "$T/af.json" &&
"$VETO" hash --no-tmk --json --every 0 "$T/videofirst.mkv" > "$T/vf.json"
if python3 - "$T/af.json" "$T/vf.json" <<'EOF'
import json, sys
a, v = (json.load(open(p)) for p in sys.argv[1:])
fa, fv = a['vpdq'], v['vpdq']
assert a['frames'] == v['frames'] == len(fv), (a['frames'], v['frames'], len(fv))
# the same frames, minus the decoder's reordering delay at the end
assert 0 < len(fv) - len(fa) <= 4 and fa == fv[:len(fa)], (len(fa), len(fv))
EOF
then ok; else bad "audio-first clip: vPDQ must drop the frames only a flush returns"; fi

# A directory of mixed images and videos: both kinds hashed, in order.
mkdir -p "$T/mixed" && cp "$VD/samples/doorknob-hd-no-bar.mp4" "$TD/pdq/bridge-mods/aaa-orig.jpg" "$T/mixed/"
out=$("$VETO" hash --no-tmk "$T/mixed")
[ "$(echo "$out" | wc -l)" -eq 2 ] && echo "$out" | grep -q ',100,.*aaa-orig.jpg$' && echo "$out" | grep -q 'vpdq:4,' &&
	ok || bad "mixed directory: $out"

echo "test_video_cli: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
