#!/usr/bin/env bash
# test_cli.sh - the `veto` command line against the reference's outputs.
#
# Usage: test_cli.sh VETO_BINARY TESTDATA_DIR
#
# Scripts and banks consume veto's text output unchanged, so it must be
# pdq-photo-hasher's, line for line: `veto hash` run inside
# ../shared/testdata/pdq must reproduce expected-pdq.csv, and with
# --pdq-cli512 [--dihedral] the other two CSVs. Also: output in input
# order and identical for -j1 and -j2; directory walking; --json with
# pdq/quality/md5/sha256 (checked against md5sum/sha256sum); exit status 1
# when one of the paths is missing while the others still print; `-` reads
# paths from stdin; `veto compare` on files and on hex hashes (0 match,
# 1 no match, 2 trouble).
set -u

VETO=${1:?usage: test_cli.sh VETO_BINARY TESTDATA_DIR}
TD=${2:?usage: test_cli.sh VETO_BINARY TESTDATA_DIR}
case $VETO in /*) ;; *) VETO=$PWD/$VETO ;; esac
PDQ=$TD/pdq
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

[ -x "$VETO" ] || { echo "FATAL: $VETO is not an executable" >&2; exit 2; }
[ -f "$PDQ/expected-pdq.csv" ] || { echo "FATAL: no $PDQ/expected-pdq.csv" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/veto-cli-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
cd "$PDQ" || exit 2

# The images the CSVs list, in a fixed order (paths as the CSVs spell them).
cut -d, -f3 expected-pdq.csv | sort > "$T/list"
mapfile -t FILES < "$T/list"
[ "${#FILES[@]}" -ge 40 ] || bad "only ${#FILES[@]} files in expected-pdq.csv"

# same_lines NAME GOT WANT: equal as sorted sets of lines, else show the diff
same_lines() {
	if diff <(sort "$2") <(sort "$3") > "$T/diff"; then
		ok
	else
		bad "$1: output differs from the reference (< veto, > reference):"
		head -n 40 "$T/diff" >&2
	fi
}

# ---------------------------------------------------------------- hash
"$VETO" hash -q "${FILES[@]}" > "$T/exact.out" 2> "$T/exact.err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "veto hash exited $rc"; head -n 20 "$T/exact.err" >&2; }
same_lines "veto hash" "$T/exact.out" expected-pdq.csv
# input order: the third field follows the arguments
if cut -d, -f3 "$T/exact.out" | cmp -s - "$T/list"; then ok; else bad "veto hash: lines not in input order"; fi

"$VETO" hash -q --pdq-cli512 "${FILES[@]}" > "$T/cli512.out" 2> "$T/cli512.err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "veto hash --pdq-cli512 exited $rc"; head -n 20 "$T/cli512.err" >&2; }
same_lines "veto hash --pdq-cli512" "$T/cli512.out" expected-pdq-cli512.csv

"$VETO" hash -q --pdq-cli512 --dihedral "${FILES[@]}" > "$T/dih.out" 2> "$T/dih.err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "veto hash --pdq-cli512 --dihedral exited $rc"; head -n 20 "$T/dih.err" >&2; }
same_lines "veto hash --pdq-cli512 --dihedral" "$T/dih.out" expected-pdq-cli512-dihedral.csv

# -j1 and -j2: byte-identical output, order included
"$VETO" hash -q -j1 "${FILES[@]}" > "$T/j1.out" 2>/dev/null
"$VETO" hash -q -j2 "${FILES[@]}" > "$T/j2.out" 2>/dev/null
if [ -s "$T/j1.out" ] && cmp -s "$T/j1.out" "$T/j2.out"; then ok; else bad "-j1 and -j2 outputs differ (or are empty)"; fi

# a directory is walked; its lines are the reference's for those files
"$VETO" hash -q bridge-mods > "$T/dir.out" 2> "$T/dir.err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "veto hash bridge-mods exited $rc"; head -n 5 "$T/dir.err" >&2; }
grep ',bridge-mods/' expected-pdq.csv > "$T/dir.want"
same_lines "veto hash bridge-mods" "$T/dir.out" "$T/dir.want"

# '-' reads the paths from standard input
printf '%s\n' "${FILES[@]}" | "$VETO" hash -q - > "$T/stdin.out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && ok || bad "veto hash - exited $rc"
same_lines "veto hash - (paths on stdin)" "$T/stdin.out" expected-pdq.csv

# a missing path among good ones: exit 1, the others still print, and
# stderr names the missing one
"$VETO" hash -q bridge-mods/aaa-orig.jpg no-such-file.jpg misc-images/c.png > "$T/miss.out" 2> "$T/miss.err"
rc=$?
[ $rc -eq 1 ] && ok || bad "hash with a missing file exited $rc, want 1"
grep -e ',bridge-mods/aaa-orig.jpg' -e ',misc-images/c.png' expected-pdq.csv > "$T/miss.want"
same_lines "hash with a missing file" "$T/miss.out" "$T/miss.want"
grep -q 'no-such-file.jpg' "$T/miss.err" && ok || bad "stderr does not name no-such-file.jpg: $(cat "$T/miss.err")"

# a file that is not an image: exit 1, named on stderr
printf 'not an image\n' > "$T/text.jpg"
"$VETO" hash -q "$T/text.jpg" > /dev/null 2> "$T/text.err"
rc=$?
[ $rc -eq 1 ] && ok || bad "hash of a text file exited $rc, want 1"
grep -q 'text.jpg' "$T/text.err" && ok || bad "stderr does not name text.jpg"

# usage errors exit 2
"$VETO" hash > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "veto hash with no PATH exited $rc, want 2"
"$VETO" hash --no-such-option x > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "veto hash --no-such-option exited $rc, want 2"

# ---------------------------------------------------------------- JSON
JSONFILES=(bridge-mods/aaa-orig.jpg bridge-mods/square-128x128.jpg misc-images/c.png
           misc-images/modes/RGBA.png misc-images/modes/F.webp reg-test-input/pen-and-coaster.png)
"$VETO" hash -q --json "${JSONFILES[@]}" > "$T/json.out" 2> "$T/json.err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "veto hash --json exited $rc"; head -n 5 "$T/json.err" >&2; }
: > "$T/digests"
for f in "${JSONFILES[@]}"; do
	printf '%s %s %s\n' "$f" "$(md5sum < "$f" | cut -d' ' -f1)" "$(sha256sum < "$f" | cut -d' ' -f1)" >> "$T/digests"
done
if python3 - "$T/json.out" "$T/digests" expected-pdq.csv "${#JSONFILES[@]}" > "$T/json.check" 2>&1 <<'PY'
import json, sys
out, digests, csv, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
want = {}
for line in open(csv):
    h, q, p = line.rstrip("\n").split(",")
    want[p] = (h, int(q))
dig = {}
for line in open(digests):
    p, md5, sha = line.split()
    dig[p] = (md5, sha)
errors = []
lines = open(out).read().splitlines()
if len(lines) != n:
    errors.append("%d JSON lines, want %d" % (len(lines), n))
for line in lines:
    try:
        o = json.loads(line)
    except ValueError as e:
        errors.append("not JSON: %r (%s)" % (line[:80], e))
        continue
    p = o.get("path")
    if p not in want:
        errors.append("unexpected path %r" % p)
        continue
    for key, value in (("pdq", want[p][0]), ("quality", want[p][1]),
                       ("md5", dig[p][0]), ("sha256", dig[p][1])):
        if o.get(key) != value:
            errors.append("%s: %s is %r, want %r" % (p, key, o.get(key), value))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
then ok; else bad "--json output:"; cat "$T/json.check" >&2; fi

# ------------------------------------------------------------- compare
hash_of() { grep ",$1\$" expected-pdq.csv | cut -d, -f1; }
dist() { python3 -c 'import sys; print(bin(int(sys.argv[1],16) ^ int(sys.argv[2],16)).count("1"))' "$1" "$2"; }
H_ORIG=$(hash_of bridge-mods/aaa-orig.jpg)
H_BLUR=$(hash_of bridge-mods/blur-a-lot.jpg)
H_OTHER=$(hash_of reg-test-input/labelme-subset/q0003.jpg)
H_NOT=$(python3 -c 'import sys; print("%064x" % (int(sys.argv[1],16) ^ ((1<<256)-1)))' "$H_ORIG")

# compare_case NAME WANT_STATUS WANT_DISTANCE A B [OPTIONS...]
compare_case() {
	local name=$1 want=$2 wantd=$3 a=$4 b=$5
	shift 5
	"$VETO" compare "$@" "$a" "$b" > "$T/cmp.out" 2> "$T/cmp.err"
	local rc=$?
	[ "$rc" -eq "$want" ] && ok || { bad "compare $name exited $rc, want $want"; cat "$T/cmp.err" >&2; }
	if [ -n "$wantd" ]; then
		grep -qx "distance: $wantd" "$T/cmp.out" && ok ||
			{ bad "compare $name: want 'distance: $wantd' in:"; cat "$T/cmp.out" >&2; }
	fi
}
compare_case "two matching files" 0 "$(dist "$H_ORIG" "$H_BLUR")" bridge-mods/aaa-orig.jpg bridge-mods/blur-a-lot.jpg
compare_case "two unrelated files" 1 "$(dist "$H_ORIG" "$H_OTHER")" bridge-mods/aaa-orig.jpg reg-test-input/labelme-subset/q0003.jpg
compare_case "equal hashes" 0 0 "$H_ORIG" "$H_ORIG"
compare_case "complementary hashes" 1 256 "$H_ORIG" "$H_NOT"
compare_case "near hashes" 0 "$(dist "$H_ORIG" "$H_BLUR")" "$H_ORIG" "$H_BLUR"
compare_case "far hashes" 1 "$(dist "$H_ORIG" "$H_OTHER")" "$H_ORIG" "$H_OTHER"
compare_case "file and its own hash" 0 0 bridge-mods/aaa-orig.jpg "$H_ORIG"
compare_case "threshold 0, distance > 0" 1 "$(dist "$H_ORIG" "$H_BLUR")" "$H_ORIG" "$H_BLUR" --threshold 0
compare_case "rotated file, --dihedral" 0 "" bridge-mods/aaa-orig.jpg reg-test-input/dih/bridge-2-rotate-90.jpg --dihedral
compare_case "a missing file" 2 "" bridge-mods/aaa-orig.jpg no-such-file.jpg
compare_case "a 63-digit hash" 2 "" "${H_ORIG:1}" "$H_ORIG"

"$VETO" compare --json "$H_ORIG" "$H_BLUR" > "$T/cmp.json" 2>/dev/null
if python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if o["distance"]==int(sys.argv[2]) and o["match"] is True else 1)' \
	"$T/cmp.json" "$(dist "$H_ORIG" "$H_BLUR")" 2>/dev/null; then ok; else bad "compare --json: $(cat "$T/cmp.json")"; fi

echo "test_cli: $pass checks passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
