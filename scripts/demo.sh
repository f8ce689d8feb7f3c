#!/usr/bin/env bash
# demo.sh - set up, build, and run veto's main job: the matching service.
#
#   1. scripts/setup.sh (Debian packages), a Release build of `veto`;
#   2. API keys in ./veto-demo (the data folder: SQLite database + index
#      snapshot): a curator key to build the bank, a matcher key to query;
#   3. `veto serve` on 127.0.0.1:${VETO_DEMO_PORT:-8080} with SQLite under
#      ./veto-demo;
#   4. a demo bank DEMO_BANK built through the HTTP API from the bundled
#      sample photos and a sample video (samples/, from ThreatExchange);
#   5. prints (and runs) curl lines that look up an edited copy of a banked
#      photo - it matches - an unrelated photo - it does not - and a banked
#      video with a logo added;
#   6. keeps serving until Ctrl-C (VETO_DEMO_ONESHOT=1: stop right away).
# Run it again and it reuses the folder, its keys and its bank.
# scripts/demo-cli.sh is the command-line tour (hash, compare, index).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target veto_cli >/dev/null
VETO=$ROOT/build-release/veto
DATA=$ROOT/veto-demo
PORT=${VETO_DEMO_PORT:-8080}
URL=http://127.0.0.1:$PORT
mkdir -p "$DATA"
chmod 700 "$DATA"

key() { # key NAME ROLE: the saved key, or a new one
	local f=$DATA/$1.key
	if [ ! -s "$f" ]; then
		(umask 077; "$VETO" keys create --data "$DATA" --role "$2" --name "demo $1" > "$f")
	fi
	cat "$f"
}
CURATOR=$(key curator curator)
MATCHER=$(key matcher matcher)

rm -f "$DATA/port"
"$VETO" serve --data "$DATA" --listen "127.0.0.1:$PORT" --ready-file "$DATA/port" \
	--log "$DATA/serve.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
	[ -s "$DATA/port" ] && break
	kill -0 $SERVER 2>/dev/null || { echo "demo.sh: veto serve did not start; see $DATA/serve.log" >&2; tail -3 "$DATA/serve.log" >&2; exit 1; }
	sleep 0.1
done
[ -s "$DATA/port" ] || { echo "demo.sh: veto serve did not become ready" >&2; exit 1; }

auth=(-H "Authorization: Bearer $CURATOR")
if [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$URL/c/bank/DEMO_BANK")" != 200 ]; then
	echo "== building DEMO_BANK from samples/ through the API (POST /c/banks, /c/bank/DEMO_BANK/content)"
	curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d '{"name":"DEMO_BANK"}' "$URL/c/banks"
	echo
	for f in samples/bridge-256.jpg samples/wee.jpg; do
		printf '%s -> ' "$f"
		curl -sf "${auth[@]}" -F "photo=@$f" -F 'note=demo: bundled sample' "$URL/c/bank/DEMO_BANK/content"
		echo
	done
	printf '%s -> ' samples/pattern-grey.mp4
	curl -sf "${auth[@]}" -F "video=@samples/pattern-grey.mp4" "$URL/c/bank/DEMO_BANK/content" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print({"id": d["id"], "signals": sorted(d["signals"])})'
else
	echo "== DEMO_BANK is already there (remove $DATA to start over)"
fi

echo
echo "veto serve is listening on $URL (data: $DATA, log: $DATA/serve.log)"
echo
echo "== an edited (shrunk) copy of a banked photo: it matches"
echo "curl -H 'Authorization: Bearer $MATCHER' -F photo=@samples/bridge-shrunk.jpg $URL/m/lookup"
curl -s -H "Authorization: Bearer $MATCHER" -F photo=@samples/bridge-shrunk.jpg "$URL/m/lookup"
echo
echo "== an unrelated photo: no match"
echo "curl -H 'Authorization: Bearer $MATCHER' -F photo=@samples/street.jpg $URL/m/lookup"
curl -s -H "Authorization: Bearer $MATCHER" -F photo=@samples/street.jpg "$URL/m/lookup"
echo
HASH=$("$VETO" hash samples/bridge-shrunk.jpg | cut -d, -f1)
echo "== the same by hash (what a platform sends when it hashes on its own side)"
echo "curl -H 'Authorization: Bearer $MATCHER' '$URL/m/lookup?signal_type=pdq&signal=$HASH'"
curl -s -H "Authorization: Bearer $MATCHER" "$URL/m/lookup?signal_type=pdq&signal=$HASH"
echo
echo "== a banked video with a logo added: vPDQ and TMK+PDQF match it (its MD5 does not)"
echo "curl -H 'Authorization: Bearer $MATCHER' -F video=@samples/pattern-logo.mp4 $URL/m/lookup"
curl -s -H "Authorization: Bearer $MATCHER" -F video=@samples/pattern-logo.mp4 "$URL/m/lookup"
echo
if [ "${VETO_DEMO_ONESHOT:-0}" = 1 ]; then
	exit 0
fi
echo "Serving until Ctrl-C. API: docs/serve.md"
wait $SERVER
