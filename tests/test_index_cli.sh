#!/usr/bin/env bash
# test_index_cli.sh - `veto index` and `veto match` on real files, against
# an independent brute-force computation.
#
# Usage: test_index_cli.sh VETO_BINARY TESTDATA_DIR
#
# A bank that answers differently from a plain scan misses takedowns or
# takes down the wrong images, so every search result here is compared
# with Python computing the Hamming distance of every query against every
# bank hash (int(x, 16) ^ int(y, 16), counting ones): ThreatExchange's
# needles.txt against haystack.txt at radii 31, 0, 20, 44, 64 and 256 (the
# data has distances of exactly 20 and 44), in JSON and in
# text, after deletes (which must stop matching at once) and re-adds, with
# --limit and --bank. Then the reference images themselves: a bank built
# from expected-pdq.csv must find every bridge-mods/*.jpg at distance 0
# under its line's id, and the rotated and flipped bridges only with
# --dihedral, with the right variant. Refusals: 64-bit hash lists and
# malformed lines fail with exit 1 naming FILE:LINE and leave no output
# (nor touch an existing bank); truncated, bit-flipped and foreign .vidx
# files are refused by `index info` and `match` with exit 2.
set -u

VETO=${1:?usage: test_index_cli.sh VETO_BINARY TESTDATA_DIR}
TD=${2:?usage: test_index_cli.sh VETO_BINARY TESTDATA_DIR}
case $VETO in /*) ;; *) VETO=$PWD/$VETO ;; esac
TD=$(cd "$TD" && pwd) || { echo "FATAL: no test data directory $TD" >&2; exit 2; }
PDQ=$TD/pdq
REG=$PDQ/reg-test-input
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

[ -x "$VETO" ] || { echo "FATAL: $VETO is not an executable" >&2; exit 2; }
[ -f "$REG/haystack.txt" ] || { echo "FATAL: no $REG/haystack.txt" >&2; exit 2; }
command -v python3 > /dev/null || { echo "FATAL: python3 is needed" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/veto-index-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
cd "$PDQ" || exit 2

# status NAME WANT GOT: the exit status
status() {
	if [ "$3" -eq "$2" ]; then ok; else bad "$1: exit status $3, want $2"; fi
}
# contains NAME FILE TEXT: FILE has TEXT (fixed string)
contains() {
	if grep -qF -- "$3" "$2"; then ok; else bad "$1: no '$3' in: $(head -c 600 "$2")"; fi
}

# The independent oracle. brute.py OUT FORMAT QUERIES BANK RADIUS [options]
#   OUT      veto match output (FORMAT json or text)
#   QUERIES  one hash per line (line numbers from 1, as veto reports them)
#   BANK     one hash per line; entry id = line index from 0 + --base
#   --deleted ID,...  ids not in the bank    --limit K   nearest K per query
#   --label L  text QUERY column is L:LINE
cat > "$T/brute.py" <<'PY'
import argparse, json, sys
ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("format"); ap.add_argument("queries")
ap.add_argument("bank"); ap.add_argument("radius", type=int)
ap.add_argument("--base", type=int, default=0)
ap.add_argument("--deleted", default="")
ap.add_argument("--limit", type=int, default=0)
ap.add_argument("--label", default="")
a = ap.parse_args()
def hashes(path):
    return [l.strip() for l in open(path) if l.strip()]
queries = hashes(a.queries)
bank = [(a.base + i, int(h, 16)) for i, h in enumerate(hashes(a.bank))]
deleted = {int(x) for x in a.deleted.split(",") if x}
want = {}
for qi, q in enumerate(queries, 1):
    qv = int(q, 16)
    m = sorted((bin(qv ^ hv).count("1"), i) for i, hv in bank if i not in deleted)
    m = [(d, i) for d, i in m if d <= a.radius]
    if a.limit:
        m = m[:a.limit]
    want[qi] = m
errors = []
got = {}
lines = open(a.out).read().splitlines()
if a.format == "json":
    if len(lines) != len(queries):
        errors.append("%d JSON lines for %d queries" % (len(lines), len(queries)))
    for n, line in enumerate(lines, 1):
        o = json.loads(line)
        if o.get("line") != n:
            errors.append("object %d has line %r (not in input order)" % (n, o.get("line")))
        if n <= len(queries) and o.get("pdq") != queries[n - 1]:
            errors.append("object %d: pdq %r, want %r" % (n, o.get("pdq"), queries[n - 1]))
        ms = o.get("matches")
        got[o.get("line")] = [(m["distance"], m["id"]) for m in ms]
        for m in ms:
            if m.get("quality") != 100 or m.get("bank", 0) is not None or m.get("variant") != "original":
                errors.append("line %d: match %r: want quality 100, bank null, variant original" % (n, m))
else:
    for line in lines:
        f = line.split(",", 3)
        if len(f) != 4 or f[2] != "original" or not f[3].startswith(a.label + ":"):
            errors.append("bad text line %r" % line)
            continue
        got.setdefault(int(f[3][len(a.label) + 1:]), []).append((int(f[1]), int(f[0])))
    for qi in want:
        got.setdefault(qi, [])
for qi in sorted(set(want) | set(got)):
    w, g = want.get(qi, []), got.get(qi, [])
    if g != sorted(g):
        errors.append("query line %d: matches not sorted by distance, id: %r" % (qi, g))
    if sorted(w) != sorted(g):
        errors.append("query line %d: want %r, got %r" % (qi, w, g))
total = sum(len(v) for v in want.values())
for e in errors[:20]:
    print(e)
print("%d matches expected" % total, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# brute NAME OUT FORMAT QUERIES BANK RADIUS [options]
brute() {
	local name=$1
	shift
	if python3 "$T/brute.py" "$@" > "$T/brute.out" 2> "$T/brute.err"; then
		ok
	else
		bad "$name: differs from brute force:"
		head -n 20 "$T/brute.out" "$T/brute.err" >&2
	fi
}

# json_field FILE EXPR: evaluate a Python expression on the JSON object o
json_field() {
	python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

# ------------------------------------------------------ build and info
HAY=$REG/haystack.txt
NEEDLES=$REG/needles.txt
"$VETO" index build -o "$T/h.vidx" "$HAY" > "$T/build.out" 2> "$T/build.err"
status "index build haystack.txt" 0 $?
[ -s "$T/h.vidx" ] && ok || bad "index build wrote no $T/h.vidx"
contains "build summary" "$T/build.err" "1350 entries"
[ ! -s "$T/build.out" ] && ok || bad "build printed on stdout without --json"

"$VETO" index info "$T/h.vidx" > "$T/info.out" 2> "$T/info.err"
status "index info" 0 $?
grep -qx 'entries: 1350' "$T/info.out" && ok || bad "index info: no 'entries: 1350' in: $(cat "$T/info.out" "$T/info.err")"
"$VETO" index info --json "$T/h.vidx" > "$T/info.json" 2>&1
[ "$(json_field "$T/info.json" 'o["entries"], o["mapped"], o["file_bytes"] > 0')" = "(1350, True, True)" ] &&
	ok || bad "index info --json: $(cat "$T/info.json")"

"$VETO" index build -q --json -o "$T/h2.vidx" "$HAY" > "$T/build.json" 2> "$T/build2.err"
status "index build --json" 0 $?
[ ! -s "$T/build2.err" ] && ok || bad "build -q printed on stderr: $(cat "$T/build2.err")"
[ "$(json_field "$T/build.json" 'o["entries"], o["added"], o["bytes"] > 0')" = "(1350, 1350, True)" ] &&
	ok || bad "build --json summary: $(cat "$T/build.json")"

# ------------------------------------- needles vs haystack, brute force
for r in 31 0 20 44 64 256; do
	"$VETO" match --index "$T/h.vidx" --radius "$r" --hashes --json "$NEEDLES" > "$T/m$r.json" 2> "$T/m$r.err"
	status "match --hashes --json --radius $r" 0 $?
	brute "needles vs haystack, radius $r, JSON" "$T/m$r.json" json "$NEEDLES" "$HAY" "$r"
done
"$VETO" match --index "$T/h.vidx" --hashes "$NEEDLES" > "$T/m31.txt" 2> "$T/m31t.err"
status "match --hashes (text)" 0 $?
brute "needles vs haystack, radius 31, text" "$T/m31.txt" text "$NEEDLES" "$HAY" 31 --label "$NEEDLES"
# the default radius is 31: text and JSON agree line for line
[ "$(wc -l < "$T/m31.txt")" -gt 100 ] && ok || bad "only $(wc -l < "$T/m31.txt") text matches at radius 31"

"$VETO" match --index "$T/h.vidx" --limit 1 --hashes --json "$NEEDLES" > "$T/lim.json" 2>&1
status "match --limit 1" 0 $?
brute "needles vs haystack, --limit 1" "$T/lim.json" json "$NEEDLES" "$HAY" 31 --limit 1

# a query from stdin, and one that matches nothing: exit 1
H0=$(head -n 1 "$HAY")
NOT0=$(python3 -c 'import sys; print("%064x" % (int(sys.argv[1], 16) ^ ((1 << 256) - 1)))' "$H0")
echo "$H0" | "$VETO" match --index "$T/h.vidx" --radius 0 --hashes - > "$T/stdin.txt" 2>&1
status "match --hashes - (stdin)" 0 $?
grep -qx -- '0,0,original,-:1' "$T/stdin.txt" && ok || bad "stdin query: $(cat "$T/stdin.txt")"
echo "$NOT0" | "$VETO" match --index "$T/h.vidx" --radius 0 --hashes --json - > "$T/none.json" 2>&1
status "match with no match" 1 $?
[ "$(json_field "$T/none.json" 'o["matches"]')" = "[]" ] && ok || bad "no-match JSON: $(cat "$T/none.json")"

# ------------------------------------------- ids across lists, --id-base
cat "$HAY" "$NEEDLES" | "$VETO" index build -q -o "$T/cat.vidx" - 2> "$T/cat.err"
status "index build - (stdin)" 0 $?
"$VETO" index build -q -o "$T/two.vidx" "$HAY" "$NEEDLES" 2>> "$T/cat.err"
status "index build of two lists" 0 $?
cat "$HAY" "$NEEDLES" > "$T/both.txt"
for b in cat two; do
	"$VETO" match --index "$T/$b.vidx" --hashes --json "$NEEDLES" > "$T/$b.json" 2>&1
	brute "two lists ($b): ids continue across lists" "$T/$b.json" json "$NEEDLES" "$T/both.txt" 31
done
"$VETO" index build -q --id-base 5000 -o "$T/base.vidx" "$HAY" 2> /dev/null
"$VETO" match --index "$T/base.vidx" --hashes --json "$NEEDLES" > "$T/base.json" 2>&1
brute "--id-base 5000" "$T/base.json" json "$NEEDLES" "$HAY" 31 --base 5000

# comments, blank lines and CRLF: ids are line numbers counting every line
{ echo "# a comment"; echo; sed 's/$/\r/' "$HAY"; } > "$T/crlf.txt"
"$VETO" index build -q -o "$T/crlf.vidx" "$T/crlf.txt" 2> "$T/crlf.err"
status "index build of a CRLF list with comments" 0 $?
"$VETO" match --index "$T/crlf.vidx" --hashes --json "$NEEDLES" > "$T/crlf.json" 2>&1
brute "CRLF list, ids shifted by the 2 skipped lines" "$T/crlf.json" json "$NEEDLES" "$HAY" 31 --base 2

# --------------------------------------------------- delete and add back
DEL=1000,1001,1085,1198
"$VETO" index delete "$T/h.vidx" 1000 1085 --ids - <<< $'1001\n# comment\n1198,anything' > /dev/null 2> "$T/del.err"
status "index delete" 0 $?
contains "delete summary" "$T/del.err" "deleted 4 entries"
"$VETO" index info "$T/h.vidx" | grep -qx 'entries: 1346' && ok || bad "after delete: $("$VETO" index info "$T/h.vidx" 2>&1)"
"$VETO" match --index "$T/h.vidx" --hashes --json "$NEEDLES" > "$T/del.json" 2>&1
brute "after deleting $DEL" "$T/del.json" json "$NEEDLES" "$HAY" 31 --deleted "$DEL"
"$VETO" match --index "$T/h.vidx" --radius 64 --hashes "$NEEDLES" > "$T/del64.txt" 2>&1
brute "after deleting $DEL, radius 64, text" "$T/del64.txt" text "$NEEDLES" "$HAY" 64 --deleted "$DEL" --label "$NEEDLES"

# deleting ids that are not there changes nothing
cp "$T/h.vidx" "$T/h.before"
"$VETO" index delete "$T/h.vidx" 1000 999999 > /dev/null 2> "$T/del2.err"
status "index delete of absent ids" 0 $?
cmp -s "$T/h.vidx" "$T/h.before" && ok || bad "deleting absent ids rewrote the bank"

# add refuses lines without ids unless --id-base (they would collide)
"$VETO" index add "$T/h.vidx" "$NEEDLES" > /dev/null 2> "$T/addnoid.err"
status "index add without ids" 1 $?
contains "add without ids" "$T/addnoid.err" "needles.txt:1: no id"
cmp -s "$T/h.vidx" "$T/h.before" && ok || bad "a refused add changed the bank"

for id in 1000 1001 1085 1198; do
	printf '%s,%s\n' "$(sed -n "$((id + 1))p" "$HAY")" "$id"
done > "$T/back.txt"
"$VETO" index add "$T/h.vidx" "$T/back.txt" > /dev/null 2> "$T/add.err"
status "index add" 0 $?
contains "add summary" "$T/add.err" "added 4 entries"
"$VETO" index info "$T/h.vidx" | grep -qx 'entries: 1350' && ok || bad "after add: $("$VETO" index info "$T/h.vidx" 2>&1)"
"$VETO" match --index "$T/h.vidx" --hashes --json "$NEEDLES" > "$T/add.json" 2>&1
brute "after adding $DEL back" "$T/add.json" json "$NEEDLES" "$HAY" 31

# ------------------------------- a bank big enough for multi-index hashing
# haystack.txt is small enough that the library scans it; this one (27k:
# random hashes, haystack.txt, and copies of 30 needles with 0..40 bits
# flipped, so there are matches at every distance) is searched through its
# slices, loaded by mmap, then with tombstones and a delta on top.
head -n 30 "$NEEDLES" > "$T/n30.txt"
python3 - "$HAY" "$T/n30.txt" > "$T/big.txt" <<'PY'
import random, sys
rnd = random.Random(7)
out = [l.strip() for l in open(sys.argv[1]) if l.strip()]
for l in open(sys.argv[2]):
    q = int(l, 16)
    for k in range(0, 42, 2):
        bits = rnd.sample(range(256), k)
        out.append("%064x" % (q ^ sum(1 << b for b in bits)))
out += ["%064x" % rnd.getrandbits(256) for _ in range(25000)]
rnd.shuffle(out)
print("\n".join(out))
PY
"$VETO" index build -q -o "$T/big.vidx" "$T/big.txt" 2> "$T/big.err"
status "index build of 27k hashes" 0 $?
"$VETO" index info --json "$T/big.vidx" > "$T/big.info" 2>&1
[ "$(json_field "$T/big.info" 'o["entries"], o["slices"] > 0')" = "(26980, True)" ] && ok ||
	bad "big bank: want 26980 entries searched by slices: $(cat "$T/big.info")"
for r in 31 16 0; do
	"$VETO" match --index "$T/big.vidx" --radius $r --hashes --json "$T/n30.txt" > "$T/big$r.json" 2>&1
	brute "27k bank, radius $r" "$T/big$r.json" json "$T/n30.txt" "$T/big.txt" $r
done
BIGDEL=$(python3 -c 'import json,sys; print(",".join(str(m["id"]) for l in open(sys.argv[1]) for m in json.loads(l)["matches"][:2]))' "$T/big31.json")
"$VETO" index delete -q "$T/big.vidx" ${BIGDEL//,/ }
status "27k bank: delete" 0 $?
"$VETO" match --index "$T/big.vidx" --hashes --json "$T/n30.txt" > "$T/bigdel.json" 2>&1
brute "27k bank after deletes" "$T/bigdel.json" json "$T/n30.txt" "$T/big.txt" 31 --deleted "$BIGDEL"
for id in ${BIGDEL//,/ }; do printf '%s,%s\n' "$(sed -n "$((id + 1))p" "$T/big.txt")" "$id"; done > "$T/bigback.txt"
"$VETO" index add -q "$T/big.vidx" "$T/bigback.txt"
status "27k bank: add back" 0 $?
"$VETO" match --index "$T/big.vidx" --hashes --json "$T/n30.txt" > "$T/bigadd.json" 2>&1
brute "27k bank after adding back" "$T/bigadd.json" json "$T/n30.txt" "$T/big.txt" 31

# --------------------------------------------------------------- banks
"$VETO" index build -q --bank 3 -o "$T/b3.vidx" "$HAY" 2> /dev/null
"$VETO" match --index "$T/b3.vidx" --bank 3 --hashes --json "$NEEDLES" > "$T/b3.json" 2>&1
status "match --bank 3" 0 $?
[ "$(json_field <(head -n 1 "$T/b3.json") 'sorted({m["bank"] for m in o["matches"]})')" = "[3]" ] &&
	ok || bad "--bank 3: $(head -n 1 "$T/b3.json")"
"$VETO" match --index "$T/b3.vidx" --bank 4,none --hashes "$NEEDLES" > "$T/b4.txt" 2>&1
status "match --bank 4,none on a bank-3 index" 1 $?
[ ! -s "$T/b4.txt" ] && ok || bad "--bank 4 matched: $(head -n 3 "$T/b4.txt")"

# ------------------------------------------- the reference images, pdq-csv
"$VETO" index build -o "$T/p.vidx" expected-pdq.csv > /dev/null 2> "$T/p.err"
status "index build expected-pdq.csv" 0 $?
contains "pdq-csv summary" "$T/p.err" "49 entries"
contains "pdq-csv summary counts low quality" "$T/p.err" "3 with quality below 50"
"$VETO" match --index "$T/p.vidx" -j 2 bridge-mods/*.jpg > "$T/bridge.txt" 2> "$T/bridge.err"
status "match bridge-mods/*.jpg" 0 $?
"$VETO" match --index "$T/p.vidx" -j 2 --json bridge-mods/*.jpg > "$T/bridge.json" 2>&1
status "match --json bridge-mods/*.jpg" 0 $?
nbridge=0
for f in bridge-mods/*.jpg; do
	nbridge=$((nbridge + 1))
	id=$(($(grep -n ",$f\$" expected-pdq.csv | cut -d: -f1) - 1))
	grep -qx -- "$id,0,original,$f" "$T/bridge.txt" && ok || bad "$f: no '$id,0,original,$f' in the text output"
done
[ "$nbridge" -eq 12 ] && ok || bad "$nbridge bridge-mods images, want 12"
if python3 - "$T/bridge.json" expected-pdq.csv bridge-mods/*.jpg > "$T/bj.check" 2>&1 <<'PY'
import json, sys
out, csv, files = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [l.rstrip("\n").split(",", 2) for l in open(csv)]
line_of = {r[2]: i for i, r in enumerate(rows)}
objs = [json.loads(l) for l in open(out)]
errors = []
if [o["path"] for o in objs] != files:
    errors.append("paths not in input order: %r" % [o["path"] for o in objs])
for o in objs:
    i = line_of[o["path"]]
    if o["pdq"] != rows[i][0] or o["quality"] != int(rows[i][1]):
        errors.append("%s: pdq/quality %s,%s, want %s,%s" % (o["path"], o["pdq"], o["quality"], rows[i][0], rows[i][1]))
    # brute force: every bank row within 31 of the file's hash, quality >= 50
    q = int(rows[i][0], 16)
    want = sorted((bin(q ^ int(r[0], 16)).count("1"), k) for k, r in enumerate(rows) if int(r[1]) >= 50)
    want = [w for w in want if w[0] <= 31]
    got = [(m["distance"], m["id"]) for m in o["matches"]]
    if got != want:
        errors.append("%s: matches %r, want %r" % (o["path"], got, want))
for e in errors[:20]:
    print(e)
sys.exit(1 if errors else 0)
PY
then ok; else bad "match --json on images:"; cat "$T/bj.check" >&2; fi

# rotated and flipped bridges: the original only with --dihedral
grep ',bridge-mods/aaa-orig.jpg$' expected-pdq.csv > "$T/orig.csv"
"$VETO" index build -q -o "$T/orig.vidx" "$T/orig.csv" 2> /dev/null
for pair in 2-rotate-90:rotate270 3-rotate-180:rotate180 4-rotate-270:rotate90 5-flipx:flipx \
            6-flipy:flipy 7-flip-plus-1:flip_plus1 8-flip-minus-1:flip_minus1; do
	f=reg-test-input/dih/bridge-${pair%%:*}.jpg
	variant=${pair##*:}
	"$VETO" match --index "$T/orig.vidx" "$f" > "$T/dih0.txt" 2>&1
	status "$f without --dihedral" 1 $?
	[ ! -s "$T/dih0.txt" ] && ok || bad "$f matched without --dihedral: $(cat "$T/dih0.txt")"
	"$VETO" match --index "$T/orig.vidx" --dihedral "$f" > "$T/dih1.txt" 2>&1
	status "$f with --dihedral" 0 $?
	grep -qE "^0,([0-9]|[12][0-9]|3[01]),$variant,$f\$" "$T/dih1.txt" && ok ||
		bad "$f --dihedral: want '0,D,$variant,$f', got: $(cat "$T/dih1.txt")"
done
"$VETO" match --index "$T/orig.vidx" --dihedral reg-test-input/dih/bridge-1-original.jpg > "$T/dih.txt" 2>&1
grep -qx '0,0,original,reg-test-input/dih/bridge-1-original.jpg' "$T/dih.txt" && ok ||
	bad "bridge-1-original --dihedral: $(cat "$T/dih.txt")"

# quality below the floor: not searched, and said so
grep -n '' expected-pdq.csv | awk -F, '$2 < 50' | cut -d: -f1 > "$T/lowlines"
[ "$(wc -l < "$T/lowlines")" -eq 3 ] && ok || bad "expected-pdq.csv: $(wc -l < "$T/lowlines") low-quality rows, want 3"
"$VETO" match --index "$T/p.vidx" --hashes --json expected-pdq.csv > "$T/q.json" 2>&1
status "match --hashes expected-pdq.csv" 0 $?
if python3 - "$T/q.json" "$T/lowlines" > "$T/q.check" 2>&1 <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
low = {int(l) for l in open(sys.argv[2])}
errors = []
for o in objs:
    is_low = o["line"] in low
    if is_low != ("skipped" in o):
        errors.append("line %d: skipped=%r" % (o["line"], o.get("skipped")))
    if is_low and (o["matches"] or "below 50" not in o["skipped"]):
        errors.append("line %d: %r" % (o["line"], o))
    if not is_low and (o["line"] - 1, 0) not in {(m["id"], m["distance"]) for m in o["matches"]}:
        errors.append("line %d does not find itself: %r" % (o["line"], o))
    if "path" not in o:
        errors.append("line %d: no path" % o["line"])
if len(objs) != 49:
    errors.append("%d objects, want 49" % len(objs))
for e in errors[:20]:
    print(e)
sys.exit(1 if errors else 0)
PY
then ok; else bad "low-quality queries (JSON):"; cat "$T/q.check" >&2; fi
"$VETO" match --index "$T/p.vidx" --hashes expected-pdq.csv > /dev/null 2> "$T/q.err"
contains "low-quality query in text mode" "$T/q.err" "misc-images/small.jpg: quality 0 below 50"
"$VETO" match -q --index "$T/p.vidx" --hashes expected-pdq.csv > /dev/null 2> "$T/qq.err"
[ ! -s "$T/qq.err" ] && ok || bad "-q still printed: $(cat "$T/qq.err")"
"$VETO" match --index "$T/p.vidx" --min-quality 0 misc-images/small.jpg > "$T/q0.txt" 2>&1
grep -qx '27,0,original,misc-images/small.jpg' "$T/q0.txt" && ok || bad "--min-quality 0: $(cat "$T/q0.txt")"

# veto hash --json piped into match: JSON lines as queries, and as a list
"$VETO" hash -q --json bridge-mods/aaa-orig.jpg misc-images/c.png |
	"$VETO" match --index "$T/p.vidx" --radius 0 --hashes - > "$T/pipe.txt" 2>&1
status "veto hash --json | veto match --hashes -" 0 $?
grep -qx '0,0,original,bridge-mods/aaa-orig.jpg' "$T/pipe.txt" && ok || bad "piped JSON queries: $(cat "$T/pipe.txt")"
"$VETO" hash -q --json bridge-mods > "$T/bm.jsonl" 2>&1
"$VETO" index build -q -o "$T/j.vidx" "$T/bm.jsonl" 2> "$T/j.err"
status "index build from veto hash --json" 0 $?
"$VETO" match --index "$T/j.vidx" --radius 0 bridge-mods/blur-a-lot.jpg > "$T/j.txt" 2>&1
grep -qx '2,0,original,bridge-mods/blur-a-lot.jpg' "$T/j.txt" && ok || bad "JSON-built bank: $(cat "$T/j.txt")"

# an image that cannot be hashed: reported, the others go on, exit 2
"$VETO" match --index "$T/p.vidx" bridge-mods/aaa-orig.jpg no-such-file.jpg > "$T/err.txt" 2> "$T/err.err"
status "match with a missing file" 2 $?
contains "missing file named" "$T/err.err" "no-such-file.jpg"
grep -q ',bridge-mods/aaa-orig.jpg$' "$T/err.txt" && ok || bad "the good file was not matched"

# ----------------------------------------------------------- refusals
for f in long64.dat short64.dat; do
	"$VETO" index build -o "$T/x64.vidx" "$REG/$f" > /dev/null 2> "$T/x64.err"
	status "index build $f" 1 $?
	contains "$f refused" "$T/x64.err" "$f:1: '"
	contains "$f refused" "$T/x64.err" "64-bit hash"
	[ ! -e "$T/x64.vidx" ] && ok || bad "$f: an output file was left"
done

# malformed lines: named by FILE:LINE, nothing written, nothing left behind
mkdir "$T/out"
# badlist NAME LINE3 WANT: a list whose third line is LINE3
badlist() {
	{ head -n 2 "$HAY"; printf '%s\n' "$2"; sed -n 3,5p "$HAY"; } > "$T/bad.txt"
	"$VETO" index build -o "$T/out/bad.vidx" "$T/bad.txt" > /dev/null 2> "$T/bad.err"
	status "malformed line ($1)" 1 $?
	contains "malformed line ($1)" "$T/bad.err" "bad.txt:3: "
	contains "malformed line ($1)" "$T/bad.err" "$3"
	[ -z "$(ls -A "$T/out")" ] && ok || bad "malformed line ($1): left $(ls -A "$T/out")"
}
badlist "bad hex" "${H0:0:10}xy${H0:12}" "bad hash '"
badlist "63 digits" "${H0:1}" "63 hex digits"
badlist "bad id" "$H0,12a" "bad id '12a'"
badlist "negative id" "$H0,-5" "bad id '-5'"
badlist "bad quality" "$H0,101,x.jpg" "bad quality '101'"
badlist "bad JSON" "{\"pdq\": 5}" 'JSON object without a "pdq" string'
# a refused build leaves an existing bank alone
cp "$T/h.vidx" "$T/out/keep.vidx"
"$VETO" index build -o "$T/out/keep.vidx" "$T/bad.txt" > /dev/null 2>&1
status "build over an existing bank from a bad list" 1 $?
cmp -s "$T/h.vidx" "$T/out/keep.vidx" && ok || bad "a refused build changed the existing bank"
[ "$(ls -A "$T/out")" = "keep.vidx" ] && ok || bad "files left: $(ls -A "$T/out")"
# bad lines in match queries: named, the others still matched, exit 2
"$VETO" match --index "$T/h.vidx" --radius 0 --hashes "$T/bad.txt" > "$T/badq.txt" 2> "$T/badq.err"
status "match --hashes with a bad line" 2 $?
contains "bad query line" "$T/badq.err" "bad.txt:3:"
grep -qx "0,0,original,$T/bad.txt:1" "$T/badq.txt" && ok || bad "good query lines not matched: $(cat "$T/badq.txt")"

# damaged banks: refused by info and match with exit 2
size=$(stat -c %s "$T/h2.vidx")
damaged=()
head -c $((size / 2)) "$T/h2.vidx" > "$T/half.vidx"; damaged+=(half.vidx)
head -c $((size - 1)) "$T/h2.vidx" > "$T/short1.vidx"; damaged+=(short1.vidx)
head -c 16 "$T/h2.vidx" > "$T/head16.vidx"; damaged+=(head16.vidx)
: > "$T/empty.vidx"; damaged+=(empty.vidx)
cp "$HAY" "$T/text.vidx"; damaged+=(text.vidx)
for off in 0 $((size / 3)) $((size / 2)) $((size - 2)); do
	cp "$T/h2.vidx" "$T/flip$off.vidx"
	byte=$(od -An -tu1 -j "$off" -N1 "$T/h2.vidx" | tr -d ' ')
	printf "\\$(printf '%03o' $((byte ^ 0x40)))" |
		dd of="$T/flip$off.vidx" bs=1 seek="$off" conv=notrunc 2> /dev/null
	cmp -s "$T/h2.vidx" "$T/flip$off.vidx" && bad "flipping byte $off changed nothing"
	damaged+=("flip$off.vidx")
done
for d in "${damaged[@]}"; do
	"$VETO" index info "$T/$d" > "$T/dinfo.out" 2> "$T/dinfo.err"
	status "index info $d" 2 $?
	contains "index info $d" "$T/dinfo.err" "$d: "
	[ ! -s "$T/dinfo.out" ] && ok || bad "index info $d printed: $(head -c 300 "$T/dinfo.out")"
	"$VETO" match --index "$T/$d" --hashes "$NEEDLES" > "$T/dmatch.out" 2> "$T/dmatch.err"
	status "match --index $d" 2 $?
	contains "match --index $d" "$T/dmatch.err" "$d: "
	[ ! -s "$T/dmatch.out" ] && ok || bad "match --index $d printed: $(head -c 300 "$T/dmatch.out")"
done
"$VETO" match --index "$T/half.vidx" bridge-mods/aaa-orig.jpg > /dev/null 2>&1
status "match on images with a truncated bank" 2 $?
"$VETO" index add "$T/half.vidx" "$T/back.txt" > /dev/null 2>&1
status "index add to a truncated bank" 2 $?
"$VETO" index info "$T/no-such.vidx" > /dev/null 2> "$T/nosuch.err"
status "index info of a missing file" 2 $?
contains "missing bank named" "$T/nosuch.err" "no-such.vidx"

# -------------------------------------------------------- usage and help
"$VETO" match --hashes "$NEEDLES" > /dev/null 2>&1
status "match without --index" 2 $?
"$VETO" match --index "$T/h.vidx" --dihedral --hashes "$NEEDLES" > /dev/null 2>&1
status "match --dihedral --hashes" 2 $?
"$VETO" match --index "$T/h.vidx" --radius 257 --hashes "$NEEDLES" > /dev/null 2>&1
status "match --radius 257" 2 $?
"$VETO" index build "$HAY" > /dev/null 2>&1
status "index build without -o" 2 $?
"$VETO" index frobnicate > /dev/null 2>&1
status "index frobnicate" 2 $?
"$VETO" index delete "$T/h.vidx" 12x > /dev/null 2>&1
status "index delete 12x" 2 $?
"$VETO" --help > "$T/help.txt" 2>&1
grep -qE '^  index ' "$T/help.txt" && grep -qE '^  match ' "$T/help.txt" && ok ||
	bad "veto --help does not list index and match"
"$VETO" help index > "$T/hi.txt" 2>&1
status "veto help index" 0 $?
for w in "index build -o" "index add" "index delete" "index info" --format --bank --quality --id-base \
         --ids "64-bit" "line number counting from 0" "pdq-csv" "Exit status"; do
	contains "help index" "$T/hi.txt" "$w"
done
"$VETO" help match > "$T/hm.txt" 2>&1
status "veto help match" 0 $?
for w in --index --radius --dihedral --min-quality --bank --limit --hashes --json -j \
         "ID,DISTANCE,VARIANT,QUERY" '"skipped"' "Exit status"; do
	contains "help match" "$T/hm.txt" "$w"
done

echo "test_index_cli: $pass checks passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
