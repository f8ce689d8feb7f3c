#!/usr/bin/env bash
# bench/serve/run.sh BUILD_DIR - veto serve under load: bank N random PDQ
# hashes, start `veto serve --no-auth` on them, and measure
#   - bulk load (serve_load_bank: vs_content_add_many, 100k per transaction)
#   - start-up: catch-up from the store (no snapshot), and again from the
#     snapshot the first run saved at exit; the server's RSS (/proc)
#   - hash lookups, GET /m/raw_lookup and GET /m/lookup (serve_load: C
#     keep-alive connections, half near-duplicates of banked hashes with
#     0..16 bits flipped, half random): medians over ROUNDS rounds of
#     req/s, p50, p99, CPU per request; wrk as a cross-check of req/s when
#     installed; raw lookups again after the restart from the snapshot
#   - upload lookups, POST /m/lookup with the shared JPEGs, against hashing
#     the same bytes in-process (the bound: a lookup hashes its upload)
# and prints every figure, then the targets (>= 20,000 lookups/s with
# p99 <= 5 ms) and whether they were met.
#
# Builds nothing: BUILD_DIR must hold a Release build with the benchmarks,
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-bench -j2 --target veto_cli serve_load serve_load_bank
#   bench/serve/run.sh build-bench
#
# Environment:
#   N (10000000)        hashes to bank
#   ROUNDS (3), DURATION (20 s per round), CONNS (64), CLIENT_THREADS (cores)
#   UPLOAD_CONNS (4)    connections for the upload rounds
#   SERVE_ARGS          extra `veto serve` options (e.g. "--threads 8")
#   DATA                data folder to use (kept); reused without reloading
#                       when it already holds the same N and SEED
#   SEED (1), IMAGES (TESTDATA/pdq), VETO_TESTDATA (../shared/testdata)
#   NO_WRK=1            skip the wrk cross-check
# Client and server run on the same machine and share its cores: the
# client's and the server's CPU use are printed with each round.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: bench/serve/run.sh BUILD_DIR}" && pwd)
VETO=$BUILD/veto
LOAD=$BUILD/bench/serve_load
LOADBANK=$BUILD/bench/serve_load_bank
for b in "$VETO" "$LOAD" "$LOADBANK"; do
	[ -x "$b" ] || { echo "run.sh: no $b: build veto_cli, serve_load and serve_load_bank in $BUILD" >&2; exit 1; }
done
TESTDATA=${VETO_TESTDATA:-$ROOT/../shared/testdata}
N=${N:-10000000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
CONNS=${CONNS:-64}
CORES=$(nproc)
CLIENT_THREADS=${CLIENT_THREADS:-$CORES}
UPLOAD_CONNS=${UPLOAD_CONNS:-4}
IMAGES=${IMAGES:-$TESTDATA/pdq}
SERVE_ARGS=${SERVE_ARGS:-}
TARGET_RPS=20000
TARGET_P99=5

if [ -n "${DATA:-}" ]; then
	mkdir -p "$DATA"
	DATA=$(cd "$DATA" && pwd)
	KEEP=1
else
	DATA=$(mktemp -d "${TMPDIR:-/tmp}/veto-bench-serve-XXXXXX")
	KEEP=0
fi
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[ "$KEEP" = 1 ] || rm -rf "$DATA"
}
trap cleanup EXIT

# jget JSON KEY: one number or string out of a JSON line
jget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print(v if v is not None else "")' "$1" "$2"; }
mb() { awk '{printf "%.0f", $1 / 1024}' <<< "$1"; }
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

echo "== veto serve benchmark: N=$N, $CORES cores (client and server share them), data in $DATA"
echo "   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GB RAM", $2 / 1048576}' /proc/meminfo), load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   (each round prints the server's, the client's and the whole machine's CPU use: machine >"
echo "   server + client means something else was running and the figures are low)"

# ---------------------------------------------------------------- 1. load
if [ -f "$DATA/loaded" ] && [ "$(cat "$DATA/loaded")" = "$N $SEED" ] && [ -s "$DATA/sample.txt" ]; then
	echo "== 1. bank: reusing $N hashes already in $DATA"
	LOAD_S=reused
else
	rm -rf "$DATA"/veto.db* "$DATA"/matcher.snap "$DATA"/loaded
	echo "== 1. bank $N random PDQ hashes: $(basename "$LOADBANK") --n $N --seed $SEED"
	out=$("$LOADBANK" --db "sqlite:$DATA/veto.db" --n "$N" --seed "$SEED" --sample "$DATA/sample.txt")
	echo "$out" | grep -v '^{'
	json=$(echo "$out" | grep '^{')
	LOAD_S=$(jget "$json" load_seconds)
	echo "$N $SEED" > "$DATA/loaded"
fi
DB_MB=$(du -smc "$DATA"/veto.db* | awk 'END {print $1}')
echo "   database: $DB_MB MB"

# ---------------------------------------------------------- 2. start-up
# start_server LABEL: sets PID, PORT, START_S, CATCHUP_S, RSS_MB
start_server() {
	rm -f "$DATA/port"
	local t0
	t0=$(now)
	# shellcheck disable=SC2086
	"$VETO" serve --no-auth --data "$DATA" --listen 127.0.0.1:0 --ready-file "$DATA/port" \
		--log "$DATA/serve.log" $SERVE_ARGS &
	PID=$!
	while [ ! -s "$DATA/port" ]; do
		kill -0 "$PID" 2>/dev/null || { echo "run.sh: veto serve exited; its log:" >&2; tail -n 20 "$DATA/serve.log" >&2; exit 1; }
		sleep 0.05
	done
	START_S=$(since "$t0")
	PORT=$(cat "$DATA/port")
	CATCHUP_S=$(grep '"caught up"' "$DATA/serve.log" | tail -n 1 | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
	local changes
	changes=$(grep '"caught up"' "$DATA/serve.log" | tail -n 1 | sed -E 's/.*"changes":([0-9]+).*/\1/')
	RSS_MB=$(mb "$(rss_kb "$PID" VmRSS)")
	echo "   $1: ready in $START_S s (catch-up $CATCHUP_S s, $changes changes applied), RSS $RSS_MB MB, port $PORT, pid $PID"
}
stop_server() {
	local t0
	t0=$(now)
	kill -TERM "$PID"
	wait "$PID" || true
	STOP_S=$(since "$t0")
	PID=
}

echo "== 2. start veto serve --no-auth $SERVE_ARGS"
rm -f "$DATA/matcher.snap"
: > "$DATA/serve.log"
start_server "from the store (no snapshot)"
COLD_START_S=$START_S
COLD_CATCHUP_S=$CATCHUP_S
COLD_RSS_MB=$RSS_MB

# ---------------------------------------------------------- 3. lookups
lookups() { # lookups MODE
	"$LOAD" --port "$PORT" --mode "$1" -c "$CONNS" -t "$CLIENT_THREADS" -d "$DURATION" \
		--rounds "$ROUNDS" --hashes "$DATA/sample.txt" --server-pid "$PID" --seed "$SEED"
}
echo "== 3. hash lookups: serve_load --mode raw -c $CONNS -t $CLIENT_THREADS -d $DURATION --rounds $ROUNDS"
out=$(lookups raw)
echo "$out" | grep -v '^JSON '
RAW=$(echo "$out" | sed -n 's/^JSON //p')
echo "== 3b. GET /m/lookup: serve_load --mode lookup (same settings)"
out=$(lookups lookup)
echo "$out" | grep -v '^JSON '
LOOKUP=$(echo "$out" | sed -n 's/^JSON //p')

WRK_RPS=
if [ "${NO_WRK:-0}" != 1 ] && command -v wrk > /dev/null; then
	echo "== 3c. wrk cross-check: wrk -t$CLIENT_THREADS -c$CONNS -d${DURATION}s --latency -s bench/serve/wrk_lookup.lua (GET /m/raw_lookup)"
	out=$(wrk -t"$CLIENT_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/bench/serve/wrk_lookup.lua" \
		"http://127.0.0.1:$PORT" -- "$DATA/sample.txt" /m/raw_lookup)
	echo "$out" | sed 's/^/   /'
	WRK_RPS=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
	WRK_P99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	WRK_NON2XX=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
else
	echo "== 3c. wrk cross-check: skipped (no wrk)"
fi

# ----------------------------------------------------------- 4. uploads
echo "== 4. upload lookups: serve_load --mode upload -c $UPLOAD_CONNS -t 1 -d $DURATION --rounds $ROUNDS --images $IMAGES"
out=$("$LOAD" --port "$PORT" --mode upload -c "$UPLOAD_CONNS" -t 1 -d "$DURATION" --rounds "$ROUNDS" \
	--images "$IMAGES" --hash-threads "$CORES" --server-pid "$PID")
echo "$out" | grep -v '^JSON '
UPLOAD=$(echo "$out" | sed -n 's/^JSON //p')
AFTER_RSS_MB=$(mb "$(rss_kb "$PID" VmRSS)")
PEAK_RSS_MB=$(mb "$(rss_kb "$PID" VmHWM)")
echo "   server RSS after the load: $AFTER_RSS_MB MB (peak $PEAK_RSS_MB MB)"

# ------------------------------------------------ 5. restart (snapshot)
echo "== 5. stop (saves the snapshot), start again from it"
stop_server
echo "   stopped in $STOP_S s"
SNAP_MB=$(du -sm "$DATA/matcher.snap" 2>/dev/null | awk '{print $1}')
start_server "from the snapshot (${SNAP_MB:-?} MB)"
WARM_START_S=$START_S
WARM_RSS_MB=$RSS_MB
# the index as a snapshot restores it (one merged base) can differ from the
# one the catch-up left (base + delta): measure lookups on it too
echo "== 5b. hash lookups again, on the server started from the snapshot"
out=$(lookups raw)
echo "$out" | grep -v '^JSON '
RAW2=$(echo "$out" | sed -n 's/^JSON //p')
stop_server

# ----------------------------------------------------------- 6. summary
RPS=$(jget "$RAW" rps)
P50=$(jget "$RAW" p50_ms)
P99=$(jget "$RAW" p99_ms)
ERR=$(jget "$RAW" errors)
MISSED=$(( $(jget "$RAW" near_total) - $(jget "$RAW" near_matched) ))
U_RPS=$(jget "$UPLOAD" rps)
H_RPS=$(jget "$UPLOAD" inprocess_hashes_per_second)
RATIO=$(jget "$UPLOAD" upload_to_hashing_ratio)
echo
echo "== summary: N=$N, $CORES cores shared by client and server, $CONNS connections"
printf '   %-44s %s\n' \
	"bulk load (serve_load_bank)" "${LOAD_S} s, database $DB_MB MB" \
	"start from the store (catch-up)" "$COLD_START_S s (catch-up $COLD_CATCHUP_S s), RSS $COLD_RSS_MB MB" \
	"start from the snapshot" "$WARM_START_S s, RSS $WARM_RSS_MB MB (snapshot ${SNAP_MB:-?} MB)" \
	"RSS after the load (peak)" "$AFTER_RSS_MB MB ($PEAK_RSS_MB MB)" \
	"GET /m/raw_lookup (median of $ROUNDS)" "$RPS req/s, p50 $P50 ms, p99 $P99 ms, errors $ERR, near-dups missed $MISSED" \
	"GET /m/lookup (median of $ROUNDS)" "$(jget "$LOOKUP" rps) req/s, p50 $(jget "$LOOKUP" p50_ms) ms, p99 $(jget "$LOOKUP" p99_ms) ms, errors $(jget "$LOOKUP" errors)" \
	"CPU during raw lookups (median)" "server $(jget "$RAW" server_cpu_cores), client $(jget "$RAW" client_cpu_cores), whole machine $(jget "$RAW" machine_cpu_cores) of $CORES cores" \
	"CPU per raw lookup (median)" "server $(jget "$RAW" server_us_per_request) us, client $(jget "$RAW" client_us_per_request) us" \
	"raw lookups after a restart from the snapshot" "$(jget "$RAW2" rps) req/s, p50 $(jget "$RAW2" p50_ms) ms, p99 $(jget "$RAW2" p99_ms) ms, server $(jget "$RAW2" server_us_per_request) us/request"
[ -n "$WRK_RPS" ] && printf '   %-44s %s\n' "wrk, GET /m/raw_lookup" "$WRK_RPS req/s, p99 $WRK_P99${WRK_NON2XX:+, non-2xx $WRK_NON2XX}"
printf '   %-44s %s\n' \
	"POST /m/lookup uploads (median of $ROUNDS)" "$U_RPS uploads/s, p50 $(jget "$UPLOAD" p50_ms) ms, p99 $(jget "$UPLOAD" p99_ms) ms, errors $(jget "$UPLOAD" errors)" \
	"in-process hashing, same JPEGs, $CORES threads" "$H_RPS images/s ($(jget "$UPLOAD" inprocess_mix_hashes_per_second)/s on the uploads' mix)" \
	"uploads / in-process hashing (same mix)" "$RATIO"
met=$(awk -v r="$RPS" -v p="$P99" -v tr="$TARGET_RPS" -v tp="$TARGET_P99" 'BEGIN {print (r >= tr && p <= tp) ? "MET" : "NOT MET"}')
echo "   target: >= $TARGET_RPS hash lookups/s with p99 <= $TARGET_P99 ms: $met ($RPS req/s, p99 $P99 ms)"
echo "JSON {\"n\":$N,\"cores\":$CORES,\"load_seconds\":\"$LOAD_S\",\"db_mb\":$DB_MB,\"cold_start_seconds\":$COLD_START_S,\"catchup_seconds\":${COLD_CATCHUP_S:-null},\"cold_rss_mb\":$COLD_RSS_MB,\"warm_start_seconds\":$WARM_START_S,\"warm_rss_mb\":$WARM_RSS_MB,\"peak_rss_mb\":$PEAK_RSS_MB,\"raw\":$RAW,\"raw_after_restart\":$RAW2,\"lookup\":$LOOKUP,\"upload\":$UPLOAD,\"wrk_rps\":${WRK_RPS:-null},\"target_met\":$([ "$met" = MET ] && echo true || echo false)}"
