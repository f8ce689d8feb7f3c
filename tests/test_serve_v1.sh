#!/usr/bin/env bash
# test_serve_v1.sh VETO TESTDATA - veto serve's /v1 routes, end to end.
#
# Starts `veto serve --no-auth` on port 0 in a temporary folder, exercises
# every /v1 route with curl and checks the exact answers with python3
# (stdlib json only): ids and seqs, validation errors naming the bad item,
# all-or-nothing batches and imports, change-feed paging that visits every
# change exactly once, import -> export -> import round trips for every
# format, and batch lookups finding what was imported. Then restarts the
# server with API keys to check roles and bank scoping on /v1. Exits
# non-zero with a message naming the failed check.
set -u

VETO=${1:?usage: test_serve_v1.sh VETO TESTDATA}
TESTDATA=${2:?usage: test_serve_v1.sh VETO TESTDATA}
for tool in curl python3; do
	command -v "$tool" >/dev/null || { echo "test_serve_v1: $tool is needed" >&2; exit 1; }
done
PDQ_CSV=$TESTDATA/pdq/expected-pdq.csv
VPDQ_TXT=$TESTDATA/video/expected-vpdq/chair-19-sd-bar.txt
[ -f "$PDQ_CSV" ] && [ -f "$VPDQ_TXT" ] || { echo "test_serve_v1: no test data in $TESTDATA" >&2; exit 1; }

TMP=$(mktemp -d)
export OUT=$TMP/out
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

CHECKS=0
fail() {
	echo "test_serve_v1: FAILED: $*" >&2
	if [ -f "$TMP/log" ]; then
		echo "--- server log (last lines):" >&2
		tail -n 5 "$TMP/log" >&2
	fi
	exit 1
}

start_server() { # [extra options...]
	rm -f "$TMP/port"
	"$VETO" serve --data "$TMP/data" --listen 127.0.0.1:0 --ready-file "$TMP/port" \
		--poll-ms 50 "$@" >>"$TMP/log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 200); do
		[ -s "$TMP/port" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited at start"
		sleep 0.05
	done
	[ -s "$TMP/port" ] || fail "the server did not write its port"
	BASE="http://127.0.0.1:$(cat "$TMP/port")"
}

stop_server() {
	kill -TERM "$SERVER_PID" || fail "cannot signal the server"
	wait "$SERVER_PID"
	local rc=$?
	SERVER_PID=
	[ "$rc" = 0 ] || fail "the server exited with status $rc after SIGTERM"
}

AUTH=()
# req METHOD PATH WANT_STATUS [curl args...]: the body goes to $OUT
req() {
	local method=$1 path=$2 want=$3 got
	shift 3
	got=$(curl -sS -o "$OUT" -w '%{http_code}' -X "$method" ${AUTH[@]+"${AUTH[@]}"} \
		"$BASE$path" "$@") || fail "$method $path: curl failed"
	[ "$got" = "$want" ] || fail "$method $path: HTTP $got, expected $want: $(head -c 400 "$OUT")"
	CHECKS=$((CHECKS + 1))
}
# jreq METHOD PATH WANT_STATUS JSON
jreq() { req "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4"; }

# py WHAT CODE: runs CODE with j = the last response as JSON (None if it is
# not JSON), text = its text, E = the environment, and helpers; prints
# whatever CODE prints. An exception or failed assert fails the test.
cat >"$TMP/h.py" <<'EOF'
import json, os, sys
E = os.environ
text = open(E["OUT"], encoding="utf-8").read()
try:
    j = json.loads(text)
except ValueError:
    j = None
def load(name):
    with open(os.path.join(E["TMP"], name), encoding="utf-8") as f:
        return json.load(f)
def save(name, value):
    with open(os.path.join(E["TMP"], name), "w", encoding="utf-8") as f:
        json.dump(value, f)
def eq(got, want, what=""):
    assert got == want, "%s: got %r, expected %r" % (what, got, want)
def bad(field, index=None, line=None, has=None):
    assert isinstance(j, dict) and isinstance(j.get("message"), str), "no message: %r" % (j,)
    eq(j.get("field"), field, "field")
    eq(j.get("index"), index, "index")
    eq(j.get("line"), line, "line")
    if has:
        assert has in j["message"], "message %r lacks %r" % (j["message"], has)
def ham(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")
EOF
export TMP
py() {
	local what=$1
	python3 -c "exec(open('$TMP/h.py').read())
$2" || fail "$what"
}

# ------------------------------------------------------------------ data
H1=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
H2=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
HFAR=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
M1=0123456789ABCDEF0123456789ABCDEF            # video_md5, upper case
M1L=0123456789abcdef0123456789abcdef
M2=00112233445566778899aabbccddeeff
M3=ffeeddccbbaa99887766554433221100
VPDQ_IN='["'$H1',100,0.000","'$H2',90,0.033"]'
VPDQ_CANON='["'$H1',100,0.0", "'$H2',90,0.033"]'
export H1 H2 HFAR M1 M1L M2 M3 VPDQ_CANON PDQ_CSV VPDQ_TXT

start_server --no-auth
for b in A OTHER R P P2 PQ V V2 J J2 TE TE2 TE3 TE4 S S2 S3; do
	jreq POST /c/banks 201 "{\"name\":\"$b\"}"
done

# ------------------------------------------------------------ /v1/banks
req GET /v1/banks 200
py "GET /v1/banks" '
names = [b["name"] for b in j["banks"]]
eq(names, "A OTHER R P P2 PQ V V2 J J2 TE TE2 TE3 TE4 S S2 S3".split(), "bank names")
for i, b in enumerate(j["banks"]):
    eq(b["id"], i + 1, "id")
    eq(b["enabled_ratio"], 1.0, "ratio")
    assert isinstance(b["created"], int) and b["created"] == b["updated"]
    eq(sorted(b), ["created", "enabled_ratio", "id", "name", "updated"], "keys")
save("bank_ids", {b["name"]: b["id"] for b in j["banks"]})'

# ------------------------------------------------------------- entries
jreq POST /v1/banks/A/entries 201 '{"signals":{"pdq":"'$H1'"},"source":"report-1",
 "case_ref":"CASE-1","note":"first","metadata":{"b":[1,2],"a":"x"},
 "original_media_uri":"https://example.org/1.jpg","disable_until_ts":1}'
py "POST one entry" '
eq(sorted(j), ["ids", "seq"], "keys"); eq(len(j["ids"]), 1, "ids")
assert j["seq"] > 0
save("e1", j)'
ID1=$(py "" 'print(load("e1")["ids"][0])')
SEQ1=$(py "" 'print(load("e1")["seq"])')
export ID1 SEQ1
req GET "/v1/banks/A/entries/$ID1" 200
py "GET the entry" '
e1 = load("e1")
eq(j, {"id": e1["ids"][0], "bank": "A", "status": "active", "signals": {"pdq": E["H1"]},
       "source": "report-1", "case_ref": "CASE-1", "note": "first",
       "metadata": {"a": "x", "b": [1, 2]}, "original_media_uri": "https://example.org/1.jpg",
       "disable_until_ts": 1, "created": j["created"], "updated": j["created"],
       "seq": e1["seq"]}, "entry")'

# a batch: canonical signal values are stored
jreq POST /v1/banks/A/entries 201 '{"entries":[
 {"signals":{"video_md5":"  '$M1'  "},"case_ref":"CASE-2"},
 {"signals":{"vpdq":"'"${VPDQ_IN//\"/\\\"}"'"},"status":"withdrawn"},
 {"signals":{"pdq":"'$H2'","video_md5":"'$M2'"},"disable_until_ts":0}]}'
py "POST a batch" '
eq(j["ids"], [int(E["ID1"]) + 1, int(E["ID1"]) + 2, int(E["ID1"]) + 3], "consecutive ids")
assert j["seq"] > int(E["SEQ1"])
save("batch", j)'
IDM=$((ID1 + 1)) IDV=$((ID1 + 2)) IDP2=$((ID1 + 3))
export IDM IDV IDP2
req GET "/v1/banks/A/entries?limit=10" 200
py "batch stored canonically" '
es = {e["id"]: e for e in j["entries"]}
eq(es[int(E["IDM"])]["signals"], {"video_md5": E["M1L"]}, "md5 trimmed and lowercased")
eq(es[int(E["IDM"])]["case_ref"], "CASE-2", "case_ref")
eq(es[int(E["IDV"])]["signals"], {"vpdq": E["VPDQ_CANON"]}, "vpdq canonical")
eq(es[int(E["IDV"])]["status"], "withdrawn", "status")
eq(es[int(E["IDP2"])]["signals"], {"pdq": E["H2"], "video_md5": E["M2"]}, "two signals")
eq(es[int(E["IDP2"])]["disable_until_ts"], 0, "disabled")
eq(es[int(E["IDP2"])]["source"], None, "no source")
eq(j["next_after"], None, "last page")
bs = [es[i]["seq"] for i in load("batch")["ids"]]
eq(max(bs), load("batch")["seq"], "the answer seq is the last change of the batch")
assert min(bs) > int(E["SEQ1"]) and len(set(bs)) == 3, bs'

# all or nothing: one bad entry stores nothing
req GET "/v1/banks/A/changes?limit=10000" 200
py "" 'save("before_bad", j["next_since"])'
jreq POST /v1/banks/A/entries 400 '{"entries":[{"signals":{"pdq":"'$H1'"}},
 {"signals":{"pdq":"'$H2'"}},{"signals":{"pdq":"'${H2:0:63}'"}},{"signals":{"pdq":"'$H1'"}}]}'
py "bad batch names the entry" 'bad("entries[2].signals.pdq", index=2, has="invalid PDQ hash")'
req GET "/v1/banks/A/entries?limit=10000" 200
py "bad batch stored nothing" 'eq(len(j["entries"]), 4, "entries")'
req GET "/v1/banks/A/changes?limit=10000" 200
py "bad batch wrote no change" 'eq(j["next_since"], load("before_bad"), "next_since")'
python3 -c '
import json
print(json.dumps({"entries": [{"signals": {"pdq": "%064x" % i}} for i in range(10001)]}))' >"$TMP/big.json"
req POST /v1/banks/A/entries 413 -H 'Content-Type: application/json' --data-binary @"$TMP/big.json"

# validation: each names its field
while IFS='|' read -r body field; do
	jreq POST /v1/banks/A/entries 400 "$body"
	py "validation of $body" "bad($field)"
done <<EOF
{}|"signals"
{"signals":{}}|"signals"
{"signals":[]}|"signals"
{"signals":{"pdq":"$H1"},"foo":1}|"foo"
{"signals":{"nope":"x"}}|"signals.nope"
{"signals":{"pdq":5}}|"signals.pdq"
{"signals":{"pdq":"${H1^^}"}}|"signals.pdq"
{"signals":{"pdq":"$H1"},"status":"deleted"}|"status"
{"signals":{"pdq":"$H1"},"status":"on"}|"status"
{"signals":{"pdq":"$H1"},"disable_until_ts":-1}|"disable_until_ts"
{"signals":{"pdq":"$H1"},"disable_until_ts":"1"}|"disable_until_ts"
{"signals":{"pdq":"$H1"},"disable_until_ts":99999999999}|"disable_until_ts"
{"signals":{"pdq":"$H1"},"metadata":[]}|"metadata"
{"signals":{"pdq":"$H1"},"note":7}|"note"
{"signals":{"pdq":"$H1"},"case_ref":"$(printf 'c%.0s' $(seq 256))"}|"case_ref"
{"entries":[{"signals":{"pdq":"$H1"}}],"x":1}|"x"
{"entries":[]}|"entries"
{"entries":{}}|"entries"
{"entries":[[]]}|"entries[0]", index=0
EOF
jreq POST /v1/banks/A/entries 400 '[1]'
jreq POST /v1/banks/A/entries 400 '{"signals":'
N256=$(python3 -c 'print("n" * 256)')
jreq POST /v1/banks/A/entries 400 '{"signals":{"pdq":"'$H1'"},"note":"'$N256'"}'
py "note of 256 characters" 'bad("note", has="255 characters")'
N255=$(python3 -c 'print("\u00e9" * 255)')
jreq POST /v1/banks/A/entries 201 '{"signals":{"pdq":"'$H1'"},"note":"'$N255'","id":999,
 "bank":"ELSEWHERE","created":5,"updated":6,"seq":7}'
py "255 characters, read-only fields ignored" '
eq(len(j["ids"]), 1, "ids"); assert j["ids"][0] != 999
save("e5", j["ids"][0])'
ID5=$(py "" 'print(load("e5"))')
export ID5
req GET "/v1/banks/A/entries/$ID5" 200
py "note kept" 'eq(j["note"], "\u00e9" * 255, "note"); eq(j["bank"], "A", "bank")'
req POST /v1/banks/NOPE/entries 404 -H 'Content-Type: application/json' --data-binary '{"signals":{"pdq":"'$H1'"}}'
req GET /v1/banks/OTHER/entries/$ID1 404
req GET /v1/banks/A/entries/0 404
req GET /v1/banks/A/entries/x1 404
req GET /v1/banks/A/entries/99999999999999999999999 404
req PUT /v1/banks/A/entries 405

# listing pages
for q in "limit=0" "limit=10001" "after=-1" "after=x" "limit=1.5"; do
	req GET "/v1/banks/A/entries?$q" 400
done
AFTER=0
: >"$TMP/listed"
for _ in $(seq 1 10); do
	req GET "/v1/banks/A/entries?after=$AFTER&limit=2" 200
	AFTER=$(py "list page" '
assert len(j["entries"]) <= 2
with open(E["TMP"] + "/listed", "a") as f:
    for e in j["entries"]:
        f.write("%d\n" % e["id"])
print(j["next_after"] if j["next_after"] is not None else "END")')
	[ "$AFTER" = END ] && break
done
[ "$AFTER" = END ] || fail "listing with limit=2 did not end"
py "listing visits every entry once" '
ids = [int(x) for x in open(E["TMP"] + "/listed").read().split()]
eq(ids, sorted(set(ids)), "ascending, no repeats")
eq(ids, [int(E["ID1"]), int(E["IDM"]), int(E["IDV"]), int(E["IDP2"]), int(E["ID5"])], "ids")'

# ---------------------------------------------------- PATCH, DELETE, lookup
lookup1() { # SIGNAL_TYPE SIGNAL [include_disabled]
	jreq POST /v1/lookup 200 '{"signals":[{"signal_type":"'$1'","signal":"'$2'"}],
	 "banks":["A"],"include_disabled":'${3:-false}'}'
}
lookup1 pdq "$H1"
py "lookup finds the entry" '
eq(j, {"results": [{"A": [{"bank_content_id": int(E["ID1"]), "distance": "0"},
                          {"bank_content_id": int(E["ID5"]), "distance": "0"}]}]}, "results")'
jreq PATCH "/v1/banks/A/entries/$ID1" 200 '{"status":"withdrawn"}'
py "withdrawn" 'eq(j["status"], "withdrawn", "status"); eq(j["signals"], {"pdq": E["H1"]}, "kept")'
lookup1 pdq "$H1"
py "withdrawn is not matched" 'eq(j["results"][0]["A"], [{"bank_content_id": int(E["ID5"]), "distance": "0"}], "A")'
jreq PATCH "/v1/banks/A/entries/$ID1" 200 '{"status":"active","disable_until_ts":0}'
lookup1 pdq "$H1"
py "disabled is not matched" 'eq(len(j["results"][0]["A"]), 1, "A")'
lookup1 pdq "$H1" true
py "include_disabled finds it" 'eq(len(j["results"][0]["A"]), 2, "A")'
jreq PATCH "/v1/banks/A/entries/$ID1" 200 '{"disable_until_ts":1,"note":null,"source":"s2",
 "case_ref":"","metadata":{"k":"v"}}'
py "PATCH fields" '
eq((j["status"], j["disable_until_ts"], j["note"], j["source"], j["case_ref"], j["metadata"]),
   ("active", 1, None, "s2", None, {"k": "v"}), "state")
save("patched", j)'
jreq PATCH "/v1/banks/A/entries/$ID1" 200 '{"metadata":null}'
py "metadata cleared" 'eq(j["metadata"], None, "metadata"); save("patched", j)'
jreq PATCH "/v1/banks/A/entries/$ID1" 200 '{}'
py "empty PATCH changes nothing" 'eq(j, load("patched"), "entry")'
jreq PATCH "/v1/banks/A/entries/$ID1" 400 '{"signals":{"pdq":"'$H2'"}}'
py "" 'bad("signals", has="cannot be changed")'
jreq PATCH "/v1/banks/A/entries/$ID1" 400 '{"id":3}'
py "" 'bad("id")'
jreq PATCH "/v1/banks/A/entries/$ID1" 400 '{"original_media_uri":"x"}'
jreq PATCH "/v1/banks/A/entries/$ID1" 400 '{"status":"bogus"}'
py "" 'bad("status")'
jreq PATCH "/v1/banks/A/entries/$ID1" 400 '{"disable_until_ts":-5}'
jreq PATCH "/v1/banks/A/entries/$ID1" 400 '[]'
jreq PATCH "/v1/banks/OTHER/entries/$ID1" 404 '{"note":"x"}'
jreq PATCH "/v1/banks/A/entries/123456789" 404 '{"note":"x"}'
lookup1 video_md5 "$M1L"
py "md5 found" 'eq(j["results"], [{"A": [{"bank_content_id": int(E["IDM"]), "distance": "-"}]}], "results")'
req DELETE "/v1/banks/OTHER/entries/$IDM" 404
req DELETE "/v1/banks/A/entries/$IDM" 200
py "DELETE" 'eq(sorted(j), ["id", "seq", "status"], "keys"); eq((j["id"], j["status"]), (int(E["IDM"]), "deleted"), "answer")'
req GET "/v1/banks/A/entries/$IDM" 404
req DELETE "/v1/banks/A/entries/$IDM" 404
jreq PATCH "/v1/banks/A/entries/$IDM" 404 '{"note":"x"}'
lookup1 video_md5 "$M1L"
py "deleted is not matched" 'eq(j["results"], [{}], "results")'
jreq PATCH "/v1/banks/A/entries/$IDV" 200 '{"status":"deleted"}'
py "PATCH status deleted erases the hashes" 'eq((j["status"], j["signals"], j["note"], j["metadata"]), ("deleted", {}, None, None), "tombstone")'
req GET "/v1/banks/A/entries/$IDV" 404

# ---------------------------------------------------------- change feed
jreq POST /v1/banks/OTHER/entries 201 '{"signals":{"pdq":"'$H2'"}}'   # a gap in A's feed
jreq PATCH "/v1/banks/A/entries/$IDP2" 200 '{"note":"late"}'
req GET "/v1/banks/A/changes?limit=10000" 200
py "the whole feed" '
eq(j["bank"], "A", "bank"); eq(j["bank_id"], load("bank_ids")["A"], "bank_id"); eq(j["more"], False, "more")
ch = j["changes"]
seqs = [c["seq"] for c in ch]
assert all(a < b for a, b in zip(seqs, seqs[1:])), "seqs not increasing: %r" % seqs
eq(j["next_since"], seqs[-1], "next_since")
eq(ch[0]["op"], "bank", "first change: the bank")
eq(ch[0]["bank"]["name"], "A", "bank name"); eq(ch[0]["bank"]["deleted"], False, "deleted")
eq(seqs[1], int(E["SEQ1"]), "first entry seq")
ups = [c for c in ch if c["op"] == "upsert"]; dels = [c for c in ch if c["op"] == "delete"]
eq(len(ch), 1 + len(ups) + len(dels), "ops")
for c in dels:
    eq(c["entry"], {"id": c["entry"]["id"], "status": "deleted"}, "a delete carries id and status")
eq(sorted({c["entry"]["id"] for c in dels}), sorted([int(E["IDM"]), int(E["IDV"])]), "deleted ids")
# state at read time: every change of an entry shows its current state
p2 = [c["entry"] for c in ups if c["entry"]["id"] == int(E["IDP2"])]
assert len(p2) >= 2 and all(e["note"] == "late" and e["seq"] == seqs[-1] for e in p2), p2
one = [c["entry"] for c in ups if c["entry"]["id"] == int(E["ID1"])]
assert len(one) >= 5 and all(e["source"] == "s2" for e in one), one
for c in ch:
    assert set(c) == {"seq", "ts", "op", "entry" if c["op"] != "bank" else "bank"}, c
save("feed", seqs)'
req GET "/v1/banks/OTHER/changes?limit=10000" 200
py "other banks are gaps" '
other = [c["seq"] for c in j["changes"]]
assert other and not set(other) & set(load("feed")), "feeds overlap"'
SINCE=0
: >"$TMP/paged"
for _ in $(seq 1 100); do
	req GET "/v1/banks/A/changes?since=$SINCE&limit=2" 200
	SINCE=$(py "feed page" '
assert len(j["changes"]) <= 2
with open(E["TMP"] + "/paged", "a") as f:
    for c in j["changes"]:
        f.write("%d\n" % c["seq"])
eq(j["more"], len(j["changes"]) == 2, "more")
since = j["next_since"]
if j["changes"]: eq(since, j["changes"][-1]["seq"], "next_since")
print("END" if not j["more"] else since)')
	[ "$SINCE" = END ] && break
done
[ "$SINCE" = END ] || fail "the feed with limit=2 did not end"
py "limit=2 pages visit every change exactly once" '
eq([int(x) for x in open(E["TMP"] + "/paged").read().split()], load("feed"), "seqs")'
LAST=$(py "" 'print(load("feed")[-1])')
req GET "/v1/banks/A/changes?since=$LAST" 200
py "nothing new" 'eq((j["changes"], j["next_since"], j["more"]), ([], load("feed")[-1], False), "empty page")'
for q in "since=-1" "since=x" "limit=0" "limit=10001"; do
	req GET "/v1/banks/A/changes?$q" 400
done
req GET /v1/banks/NOPE/changes 404
# a renamed bank's feed continues under its new name; a deleted one is 404
jreq POST /v1/banks/R/entries 201 '{"signals":{"pdq":"'$H1'"}}'
jreq PUT /c/bank/R 200 '{"name":"R_NEW"}'
req GET /v1/banks/R/changes 404
req GET /v1/banks/R_NEW/changes 200
py "rename in the feed" '
ch = j["changes"]; eq(j["bank_id"], load("bank_ids")["R"], "same bank id")
eq([c["op"] for c in ch], ["bank", "upsert", "bank"], "ops")
eq(ch[-1]["bank"]["name"], "R_NEW", "new name"); eq(ch[1]["entry"]["bank"], "R_NEW", "entry bank")'
req DELETE /c/bank/R_NEW 200
req GET /v1/banks/R_NEW/changes 404

# ----------------------------------------------------------- import: pdq
req POST "/v1/banks/P/import?format=pdq&case_ref=LIST-7" 201 --data-binary @"$PDQ_CSV"
py "import pdq-photo-hasher output" '
rows = [l.split(",", 2) for l in open(E["PDQ_CSV"]).read().splitlines() if l]
good = [r for r in rows if int(r[1]) >= 50]
eq((j["imported"], j["skipped"]), (len(good), len(rows) - len(good)), "counts")
eq(j["ids"][1] - j["ids"][0] + 1, len(good), "id range")
save("pdq_good", good); save("pdq_ids", j["ids"])'
req GET "/v1/banks/P/entries?limit=10000" 200
py "pdq entries" '
good = load("pdq_good")
eq([(e["signals"], e["source"], e["case_ref"]) for e in j["entries"]],
   [({"pdq": r[0]}, r[2], "LIST-7") for r in good], "entries")
eq([e["id"] for e in j["entries"]], list(range(load("pdq_ids")[0], load("pdq_ids")[1] + 1)), "ids")'
req GET "/v1/banks/P/export?format=pdq" 200
cp "$OUT" "$TMP/p.txt"
py "export pdq" 'eq(text, "".join(r[0] + "\n" for r in load("pdq_good")), "lines")'
req POST "/v1/banks/P2/import?format=pdq" 201 --data-binary @"$TMP/p.txt"
py "re-import" 'eq((j["imported"], j["skipped"]), (len(load("pdq_good")), 0), "counts")'
req GET "/v1/banks/P2/export?format=pdq" 200
cmp -s "$OUT" "$TMP/p.txt" || fail "pdq export -> import -> export differs"
req POST "/v1/banks/PQ/import?format=pdq&min_quality=0" 201 --data-binary @"$PDQ_CSV"
py "min_quality=0 keeps all" 'eq((j["imported"], j["skipped"]), (49, 0), "counts")'
printf '\xef\xbb\xbf# a comment\r\n\r\n  %s ,77, name, with, commas \r\n%s\r\n' "${H1^^}" "$H2" >"$TMP/crlf.txt"
req POST "/v1/banks/P2/import?format=pdq&source=fallback" 201 --data-binary @"$TMP/crlf.txt"
py "BOM, CRLF, comments, case, NAME with commas" 'eq(j["imported"], 2, "imported"); save("crlf", j["ids"])'
req GET "/v1/banks/P2/entries?after=$(py "" 'print(load("crlf")[0] - 1)')" 200
py "" 'eq([(e["signals"]["pdq"], e["source"]) for e in j["entries"]],
        [(E["H1"], " name, with, commas "), (E["H2"], "fallback")], "entries")'
printf '%s,100,a\n%s,90\nnot-a-hash,100,c\n%s\n' "$H1" "$H2" "$H1" >"$TMP/badline.txt"
req POST "/v1/banks/P2/import?format=pdq" 400 --data-binary @"$TMP/badline.txt"
py "bad line named" 'bad(None, line=3, has="not a PDQ hash")'
printf '%s,101\n' "$H1" | req POST "/v1/banks/P2/import?format=pdq" 400 --data-binary @-
py "" 'bad(None, line=1, has="QUALITY")'
printf '%s,50,a\0b\n' "$H1" | req POST "/v1/banks/P2/import?format=pdq" 400 --data-binary @-
req GET "/v1/banks/P2/entries?limit=10000" 200
py "bad imports stored nothing" 'eq(len(j["entries"]), len(load("pdq_good")) + 2, "entries")'
req POST "/v1/banks/P2/import?format=pdq" 400
req POST "/v1/banks/P2/import?format=pdq" 400 --data-binary $'# only\n\n'
py "" 'bad(None, has="nothing to import")'
printf '%s,10\n' "$H1" | req POST "/v1/banks/P2/import?format=pdq" 200 --data-binary @-
py "all skipped" 'eq(j, {"imported": 0, "ids": [], "seq": None, "skipped": 1}, "answer")'
req POST "/v1/banks/P2/import" 400 --data-binary @"$TMP/p.txt"
req POST "/v1/banks/P2/import?format=csv" 400 --data-binary @"$TMP/p.txt"
req POST "/v1/banks/P2/import?format=pdq&min_quality=101" 400 --data-binary @"$TMP/p.txt"
req POST "/v1/banks/NOPE/import?format=pdq" 404 --data-binary @"$TMP/p.txt"
req GET "/v1/banks/P2/export" 400

# ---------------------------------------------------------- import: vpdq
req POST "/v1/banks/V/import?format=vpdq&source=chair-19&case_ref=V-1" 201 --data-binary @"$VPDQ_TXT"
py "import one video" 'eq((j["imported"], j["ids"][0], j["ids"][1]), (1, j["ids"][0], j["ids"][0]), "one entry"); save("v", j["ids"][0])'
req GET "/v1/banks/V/entries" 200
py "vpdq signal" '
e = j["entries"][0]
eq((e["source"], e["case_ref"], list(e["signals"])), ("chair-19", "V-1", ["vpdq"]), "entry")
frames = json.loads(e["signals"]["vpdq"])
lines = [l.split(",") for l in open(E["VPDQ_TXT"]).read().splitlines() if l]
eq(len(frames), len(lines), "frames")
for f, l in zip(frames, lines):
    h, q, t = f.split(",")
    # python-threatexchange writes timestamps as format(t, ".3")
    eq((h, int(q), t), (l[2], int(l[1]), format(float(l[3]), ".3")), "frame")
save("vpdq_sig", e["signals"]["vpdq"])'
# the same frames as frame,hash,quality,timestamp, via a multipart upload
python3 -c '
import sys
for l in open(sys.argv[1]).read().splitlines():
    f = l.split(",")
    print(",".join([f[0], f[2], f[1], f[3]]))' "$VPDQ_TXT" >"$TMP/vpdq_swapped.txt"
req POST "/v1/banks/V2/import?format=vpdq" 201 -F "file=@$TMP/vpdq_swapped.txt"
req GET "/v1/banks/V2/entries" 200
py "the other field order gives the same signal" 'eq(j["entries"][0]["signals"]["vpdq"], load("vpdq_sig"), "signal")'
jreq POST /v1/lookup 200 "$(py "" 'print(json.dumps({"signals": [{"signal_type": "vpdq", "signal": load("vpdq_sig")}], "banks": ["V", "V2"]}))')"
py "vpdq lookup" '
r = j["results"][0]
eq(sorted(r), ["V", "V2"], "banks")
eq(r["V"][0]["bank_content_id"], load("v"), "id")'
printf '0,100,%s,0.000\n1,100,%s,x\n' "$H1" "$H2" | req POST "/v1/banks/V2/import?format=vpdq" 400 --data-binary @-
py "" 'bad(None, line=2, has="timestamp")'
printf '0,100,%s\n' "$H1" | req POST "/v1/banks/V2/import?format=vpdq" 400 --data-binary @-
py "" 'bad(None, line=1)'
req GET "/v1/banks/V/export?format=vpdq" 400

# ---------------------------------------------------------- import: json
req GET "/v1/banks/A/export?format=json" 200
cp "$OUT" "$TMP/a.json"
py "export json" '
eq(sorted(j), ["entries", "seq"], "keys")
assert j["seq"] >= load("feed")[-1]
eq([e["id"] for e in j["entries"]], [int(E["ID1"]), int(E["IDP2"]), int(E["ID5"])], "live entries")'
req POST "/v1/banks/J/import?format=json" 201 --data-binary @"$TMP/a.json"
py "" 'eq(j["imported"], 3, "imported")'
req GET "/v1/banks/J/export?format=json" 200
py "json round trip keeps signals and provenance" '
strip = lambda es: [{k: v for k, v in e.items() if k not in ("id", "bank", "created", "updated", "seq")} for e in es]
a = json.load(open(E["TMP"] + "/a.json"))["entries"]
eq(strip(j["entries"]), strip(a), "entries")
assert all(e["bank"] == "J" for e in j["entries"])'
req POST /v1/banks/J2/entries 201 -H 'Content-Type: application/json' --data-binary @"$TMP/a.json"
py "an export posts back as a batch" 'eq(len(j["ids"]), 3, "ids")'
req POST "/v1/banks/J2/import?format=json" 400 --data-binary '{"entries":[{"signals":{"pdq":"'$H1'"}},{"signals":{"tmk":"AAAA"}}]}'
py "" 'bad("entries[1].signals.tmk", index=1)'
req POST "/v1/banks/J2/import?format=json" 400 --data-binary '{"entries":'
py "" 'bad(None, line=1, has="malformed JSON")'

# ------------------------------------------------ import: threatexchange
cat >"$TMP/te.json" <<EOF
[{"indicator":"$H1","type":"HASH_PDQ","id":"1001","tags":["t1","t2"],"owner":{"id":"5"}},
 {"indicator":"$M1","type":"HASH_VIDEO_MD5","id":1002},
 {"indicator":"$M2","type":"HASH_MD5","id":"1003","tags":["media_type_video"]},
 {"indicator":"$M3","type":"HASH_MD5","id":"1004"},
 {"indicator":"$H2","type":"HASH_PDQ","id":"1005","should_delete":true}]
EOF
req POST "/v1/banks/TE/import?format=threatexchange" 201 --data-binary @"$TMP/te.json"
py "import threatexchange" 'eq((j["imported"], j["skipped"]), (4, 1), "counts")'
req GET "/v1/banks/TE/entries" 200
py "threatexchange entries" '
eq([(e["signals"], e["source"], e["metadata"]) for e in j["entries"]],
   [({"pdq": E["H1"]}, "threatexchange:1001", {"tags": ["t1", "t2"]}),
    ({"video_md5": E["M1L"]}, "threatexchange:1002", None),
    ({"video_md5": E["M2"]}, "threatexchange:1003", {"tags": ["media_type_video"]}),
    ({"video_md5": E["M3"]}, "threatexchange:1004", None)], "entries")
save("te_ids", [e["id"] for e in j["entries"]])'
req GET "/v1/banks/TE/export?format=threatexchange" 200
cp "$OUT" "$TMP/te_out.json"
py "export threatexchange" '
eq(j, [{"indicator": E["H1"], "type": "HASH_PDQ", "id": "1001", "tags": ["t1", "t2"]},
       {"indicator": E["M1L"], "type": "HASH_VIDEO_MD5", "id": "1002", "tags": []},
       {"indicator": E["M2"], "type": "HASH_VIDEO_MD5", "id": "1003", "tags": ["media_type_video"]},
       {"indicator": E["M3"], "type": "HASH_VIDEO_MD5", "id": "1004", "tags": []}], "records")'
req POST "/v1/banks/TE2/import?format=threatexchange" 201 --data-binary @"$TMP/te_out.json"
req GET "/v1/banks/TE2/export?format=threatexchange" 200
cmp -s "$OUT" "$TMP/te_out.json" || fail "threatexchange export -> import -> export differs"
python3 -c 'import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' "$TMP/te.json" >"$TMP/te.jsonl"
req POST "/v1/banks/TE3/import?format=threatexchange" 201 --data-binary @"$TMP/te.jsonl"
py "JSON lines" 'eq((j["imported"], j["skipped"]), (4, 1), "counts")'
req GET "/v1/banks/TE3/export?format=threatexchange" 200
cmp -s "$OUT" "$TMP/te_out.json" || fail "threatexchange JSON lines import differs"
req POST "/v1/banks/TE4/import?format=threatexchange" 201 --data-binary \
	'{"data":[{"indicator":"'$H2'","type":"HASH_PDQ","id":"9","tags":{"data":[{"id":"1","text":"g"}]}}],"paging":{}}'
req GET "/v1/banks/TE4/export?format=threatexchange" 200
py "Graph API page" 'eq(j, [{"indicator": E["H2"], "type": "HASH_PDQ", "id": "9", "tags": ["g"]}], "records")'
while IFS='|' read -r body check; do
	req POST "/v1/banks/TE4/import?format=threatexchange" 400 --data-binary "$body"
	py "threatexchange error in $body" "$check"
done <<EOF
[{"indicator":"$M1","type":"HASH_MD5","tags":["media_type_photo"]}]|bad("records[0].type", index=0, has="photo")
[{"indicator":"$H1","type":"HASH_PDQ"},{"indicator":"x","type":"HASH_TMK"}]|bad("records[1].type", index=1)
[{"type":"HASH_PDQ"}]|bad("records[0].indicator", index=0)
[{"indicator":"${H1:1}","type":"HASH_PDQ"}]|bad("records[0].indicator", index=0)
[{"indicator":"$H1","type":"HASH_PDQ","tags":[1]}]|bad("records[0].tags", index=0)
[5]|bad("records[0]", index=0)
"x"|bad(None)
EOF
printf '{"indicator":"%s","type":"HASH_PDQ"}\n{"indicator":\n' "$H1" >"$TMP/te_bad.jsonl"
req POST "/v1/banks/TE4/import?format=threatexchange" 400 --data-binary @"$TMP/te_bad.jsonl"
py "JSON lines error names the line" 'bad(None, line=2, has="malformed JSON")'
req GET "/v1/banks/TE4/entries" 200
py "failed imports stored nothing" 'eq(len(j["entries"]), 1, "entries")'

# ------------------------------------------------------ import: stopncii
py "" 'print(json.dumps({"hashes": [
  {"hashValue": E["H1"].upper(), "signalType": "PDQ", "caseNumber": "case-1", "hashId": "h1"},
  {"hashValue": E["M1"], "signalType": "MD5", "caseNumber": 42, "hashId": 7},
  {"hashValue": load("vpdq_sig"), "signalType": "VPDQ"}], "checkpoint": "anything"}))' >"$TMP/s.json"
req POST "/v1/banks/S/import?format=stopncii" 201 --data-binary @"$TMP/s.json"
py "import stopncii" 'eq(j["imported"], 3, "imported"); save("s_ids", j["ids"]); save("s_seq", j["seq"])'
req GET "/v1/banks/S/entries" 200
py "stopncii entries" '
eq([(e["signals"], e["case_ref"], e["source"]) for e in j["entries"]],
   [({"pdq": E["H1"]}, "case-1", "stopncii:h1"), ({"video_md5": E["M1L"]}, "42", "stopncii:7"),
    ({"vpdq": load("vpdq_sig")}, None, "stopncii")], "entries")'
req GET "/v1/banks/S/export?format=stopncii" 200
cp "$OUT" "$TMP/s_out.json"
py "export stopncii" '
eq(sorted(j), ["checkpoint", "hashes"], "keys")
assert isinstance(j["checkpoint"], int) and j["checkpoint"] >= load("s_seq")
eq(j["hashes"], [
  {"hashValue": E["H1"], "signalType": "PDQ", "caseNumber": "case-1", "hashId": "h1"},
  {"hashValue": E["M1L"], "signalType": "MD5", "caseNumber": "42", "hashId": "7"},
  {"hashValue": load("vpdq_sig"), "signalType": "VPDQ", "hashId": str(load("s_ids")[1])}], "hashes")'
req POST "/v1/banks/S2/import?format=stopncii" 201 --data-binary @"$TMP/s_out.json"
req GET "/v1/banks/S2/export?format=stopncii" 200
py "stopncii round trip" '
a = json.load(open(E["TMP"] + "/s_out.json"))["hashes"]
eq([{k: v for k, v in h.items() if k != "hashId"} for h in j["hashes"]],
   [{k: v for k, v in h.items() if k != "hashId"} for h in a], "hashes")
eq([h["hashId"] for h in j["hashes"][:2]], ["h1", "7"], "hash ids")'
req POST "/v1/banks/S3/import?format=stopncii" 201 --data-binary '{"count":3,"hasMoreRecords":false,
 "nextSetTimestamp":5,"hashRecords":[
 {"signalType":"ImagePDQ","hashValue":"'$H2'","hashStatus":"Active","caseNumbers":{"c1":"Active","c2":"Active"},"lastModtimestamp":1},
 {"signalType":"Text","hashValue":"hello","hashStatus":"Active","caseNumbers":{}},
 {"signalType":"VideoMD5","hashValue":"'$M2'","hashStatus":"Withdrawn","caseNumbers":{}}]}'
py "FetchHashes shape" 'eq((j["imported"], j["skipped"]), (1, 2), "counts")'
req GET "/v1/banks/S3/entries" 200
py "" 'eq([(e["signals"], e["case_ref"], e["source"]) for e in j["entries"]], [({"pdq": E["H2"]}, "c1,c2", "stopncii")], "entries")'
req POST "/v1/banks/S3/import?format=stopncii" 400 --data-binary '{"hashes":[{"hashValue":"'$H1'","signalType":"PDQ"},{"hashValue":"'$H1'","signalType":"TMK"}]}'
py "" 'bad("hashes[1].signalType", index=1)'
req POST "/v1/banks/S3/import?format=stopncii" 400 --data-binary '{"hashes":[{"hashValue":"'$H1'","signalType":"PDQ","caseNumber":[1]}]}'
py "" 'bad("hashes[0].caseNumber", index=0)'
req POST "/v1/banks/S3/import?format=stopncii" 400 --data-binary '[]'

# ------------------------------------------------------- batch lookups
py "" '
good = load("pdq_good")
save("lk.json", {"signals": [{"signal_type": "pdq", "signal": good[0][0]},
                        {"signal_type": "video_md5", "signal": E["M2"]},
                        {"signal_type": "pdq", "signal": E["HFAR"]},
                        {"signal_type": "pdq", "signal": good[-1][0]}],
            "banks": ["P", "TE"]})' >/dev/null
req POST /v1/lookup 200 -H 'Content-Type: application/json' --data-binary @"$TMP/lk.json"
py "batch lookup finds what was imported" '
good = load("pdq_good"); first = load("pdq_ids")[0]
te = load("te_ids")
def expect(q):
    hits = sorted((ham(q, r[0]), first + i) for i, r in enumerate(good) if ham(q, r[0]) <= 31)
    r = {"P": [{"bank_content_id": i, "distance": str(d)} for d, i in hits]}
    if ham(q, E["H1"]) <= 31:   # TE holds H1 as its first entry
        r["TE"] = [{"bank_content_id": te[0], "distance": str(ham(q, E["H1"]))}]
    return r
eq(len(j["results"]), 4, "one result per signal, in order")
eq(j["results"][0], expect(good[0][0]), "first")
eq(j["results"][1], {"TE": [{"bank_content_id": te[2], "distance": "-"}]}, "md5 in TE only (banks filter)")
eq(j["results"][2], {}, "far hash")
eq(j["results"][3], expect(good[-1][0]), "last")'
jreq POST /v1/lookup 200 '{"signals":[{"signal_type":"pdq","signal":"'$H2'"}]}'
py "every bank without a filter (the H2 entry of A is disabled)" 'eq(sorted(j["results"][0]), ["OTHER", "P2", "S3", "TE4"], "banks")'
jreq POST /v1/lookup 200 '{"signals":[{"signal_type":"pdq","signal":"'$H2'"}],"include_disabled":true}'
py "include_disabled" 'eq(j["results"][0]["A"], [{"bank_content_id": int(E["IDP2"]), "distance": "0"}], "A")
eq(sorted(j["results"][0]), ["A", "J", "J2", "OTHER", "P2", "S3", "TE4"], "banks: J and J2 hold disabled copies")'
while IFS='|' read -r body check; do
	jreq POST /v1/lookup 400 "$body"
	py "lookup error in $body" "$check"
done <<EOF
{"signals":[{"signal_type":"pdq","signal":"$H1"},{"signal_type":"pdq","signal":"zz"}]}|bad("signals[1].signal", index=1, has="invalid PDQ hash")
{"signals":[{"signal_type":"nope","signal":"$H1"}]}|bad("signals[0].signal_type", index=0)
{"signals":[{"signal_type":"pdq"}]}|bad("signals[0].signal", index=0)
{"signals":[{"signal_type":"pdq","signal":"$H1","x":1}]}|bad("signals[0].x", index=0)
{"signals":[[]]}|bad("signals[0]", index=0)
{"signals":[]}|bad("signals")
{"signals":[{"signal_type":"pdq","signal":"$H1"}],"banks":["lower"]}|bad("banks[0]", index=0)
{"signals":[{"signal_type":"pdq","signal":"$H1"}],"banks":[]}|bad("banks")
{"signals":[{"signal_type":"pdq","signal":"$H1"}],"include_disabled":1}|bad("include_disabled")
{"signals":[{"signal_type":"pdq","signal":"$H1"}],"seed":1}|bad("seed")
EOF
python3 -c '
import json
print(json.dumps({"signals": [{"signal_type": "pdq", "signal": "%064x" % i} for i in range(1001)]}))' >"$TMP/lk_big.json"
req POST /v1/lookup 413 -H 'Content-Type: application/json' --data-binary @"$TMP/lk_big.json"
req GET /v1/lookup 405

# ------------------------------------------- restart with keys: roles and scope
stop_server
CUR_A=$("$VETO" keys create --data "$TMP/data" --role curator --banks A 2>/dev/null) || fail "keys create"
CUR=$("$VETO" keys create --data "$TMP/data" --role curator 2>/dev/null) || fail "keys create"
MAT_P=$("$VETO" keys create --data "$TMP/data" --role matcher --banks P 2>/dev/null) || fail "keys create"
start_server
AUTH=()
req GET /v1/banks 401
AUTH=(-H "Authorization: Bearer $CUR_A")
req GET /v1/banks 200
py "a scoped key sees its banks only" 'eq([b["name"] for b in j["banks"]], ["A"], "banks")'
req GET /v1/banks/A/entries/$ID1 200
py "data survived the restart" 'eq(j["source"], "s2", "source")'
req GET /v1/banks/P/entries 404
req GET /v1/banks/P/changes 404
req GET "/v1/banks/P/export?format=pdq" 404
req POST "/v1/banks/P/import?format=pdq" 404 --data-binary @"$TMP/p.txt"
jreq POST /v1/banks/P/entries 404 '{"signals":{"pdq":"'$H1'"}}'
jreq POST /v1/lookup 200 '{"signals":[{"signal_type":"pdq","signal":"'$H1'"}]}'
py "a scoped key's lookups see its banks only" 'eq(list(j["results"][0]), ["A"], "banks")'
AUTH=(-H "Authorization: Bearer $MAT_P")
req GET /v1/banks 403
req GET /v1/banks/P/entries 403
jreq POST /v1/lookup 200 '{"signals":[{"signal_type":"pdq","signal":"'$H1'"}]}'
py "a matcher scoped to P" 'eq(list(j["results"][0]), ["P"], "banks")'
AUTH=(-H "Authorization: Bearer $CUR")
req GET /v1/banks 200
py "" 'assert len(j["banks"]) == 16, len(j["banks"])'
AUTH=()
stop_server

# ------------------------------------------------------------ /v1/signals
# The provenance report of an upload (docs/signals.md), with the C2PA test
# roots as the trust list: C.jpg's signer is then trusted; its sidecar
# store can be sent along; junk is a 415, no file a 400; nothing is kept.
PROV=$TESTDATA/provenance
start_server --no-auth --trust "$PROV/c2pa/trust/test_cert_root_bundle.pem"
req POST /v1/signals 200 -F "file=@$PROV/c2pa/C.jpg"
py "signals: C.jpg is valid against the trust list" '
eq(j["file"], "C.jpg", "file"); eq(j["c2pa"]["state"], "valid", "state")
eq(j["summary"]["c2pa"], "valid", "summary")
assert any(s["code"] == "signingCredential.trusted" for s in j["c2pa"]["validation_results"]["activeManifest"]["success"])'
req POST /v1/signals 200 -F "file=@$PROV/genmeta/automatic1111_cropped.png"
py "signals: an A1111 record is unsigned AI metadata" '
eq(j["summary"]["ai_declared"], True, "ai"); eq(j["summary"]["ai_strongest_evidence"], "unsigned-metadata", "evidence")'
req POST /v1/signals 200 -F "file=@$PROV/c2pa/cloud.jpg" -F "manifest=@$PROV/c2pa/cloud_manifest.c2pa"
py "signals: a sidecar manifest sent with the file" '
eq(j["c2pa"]["source"], "sidecar", "source"); assert j["c2pa"]["state"] != "invalid", j["c2pa"]["validation_status"]'
printf 'not an image\n' > "$TMP/junk.txt"
req POST /v1/signals 415 -F "file=@$TMP/junk.txt"
req POST /v1/signals 400 -F "note=hello"
req POST /v1/signals 400 -F "a=@$PROV/c2pa/C.jpg" -F "b=@$PROV/c2pa/CA.jpg"
stop_server
SERVER_PID=
if "$VETO" serve --data "$TMP/data2" --listen 127.0.0.1:0 --no-auth --trust "$TMP/junk.txt" >"$TMP/trustlog" 2>&1; then
	fail "serve started with a trust file holding no certificate"
fi
grep -q "junk.txt" "$TMP/trustlog" || fail "the bad --trust file is not named: $(cat "$TMP/trustlog")"
CHECKS=$((CHECKS + 1))

if grep -q '"status":5' "$TMP/log"; then
	fail "the server answered 5xx: $(grep '"status":5' "$TMP/log" | head -3)"
fi
echo "test_serve_v1: all $CHECKS checks passed"
