#!/usr/bin/env bash
# test.sh - the one command that sets up and runs veto's whole test suite.
#
#   1. scripts/setup.sh (installs missing Debian packages; fast when none)
#   2. gcc Release build with -Werror, then every ctest test
#   3. clang build with ASan + UBSan and -Werror, then every ctest test again
#   4. clang libFuzzer build; seed corpora from ../shared/testdata
#      (scripts/fuzz-corpus.sh) plus fuzz/regressions/<target>/ (inputs that
#      once crashed); each fuzzer runs VETO_FUZZ_SECONDS (20) seconds and
#      fails on any crash, leak, sanitizer report or timeout
#   5. a summary: the failures, then "N passed, N failed" on its own line
#
# Each build step, ctest test and fuzzer counts once in the summary. It
# keeps going after a failure so one run shows everything, and exits 1 if
# anything failed. Build trees: build-release/, build-asan/, build-fuzz/.
# Environment: VETO_TESTDATA (default ../shared/testdata beside the repo),
# VETO_FUZZ_SECONDS, VETO_SKIP_FUZZ=1 / VETO_SKIP_ASAN=1 for quick local runs.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TESTDATA=$(cd "${VETO_TESTDATA:-$ROOT/../shared/testdata}" 2>/dev/null && pwd) || {
	echo "test.sh: no test data at ${VETO_TESTDATA:-$ROOT/../shared/testdata}" >&2
	echo "0 passed, 1 failed"
	exit 1
}
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${VETO_FUZZ_SECONDS:-20}
# leaks inside system libraries that veto cannot free (see the file)
LSAN=suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "test.sh: FAILED: $1" >&2; }
banner() { printf '\n==== %s ====\n' "$*"; }

# run NAME CMD...: one counted step
run() {
	local name=$1
	shift
	if "$@"; then pass; return 0; fi
	fail "$name"
	return 1
}

# ctest_suite LABEL BUILD_DIR [ENV=VAL...]: every test counts once
ctest_suite() {
	local label=$1 dir=$2
	shift 2
	local log=$dir/ctest.log
	env "$@" ctest --test-dir "$dir" --output-on-failure -j "$JOBS" 2>&1 | tee "$log"
	local n=0 line name
	while IFS= read -r line; do
		name=$(sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+).*/\1/' <<< "$line")
		n=$((n + 1))
		if [[ $line =~ \ Passed\  ]]; then pass; else fail "$label: $name"; fi
	done < <(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log")
	[ "$n" -gt 0 ] || fail "$label: ctest ran no test"
}

# build LABEL DIR CMAKE-ARGS...: configure + build (keep going past errors)
build() {
	local label=$1 dir=$2
	shift 2
	banner "$label: configure"
	run "$label: configure" cmake -S "$ROOT" -B "$dir" -G "Unix Makefiles" \
		-DVETO_TESTDATA="$TESTDATA" "$@" || return 1
	banner "$label: build"
	run "$label: build" cmake --build "$dir" -j "$JOBS" -- -k
}

START=$(date +%s)

banner "setup"
run "setup.sh" bash "$ROOT/scripts/setup.sh"

banner "gcc Release build"
build "gcc release" build-release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
	-DVETO_WERROR=ON -DVETO_SANITIZE=OFF -DVETO_FUZZ=OFF
[ -f build-release/CTestTestfile.cmake ] && { banner "gcc Release: ctest"; ctest_suite "gcc release" build-release; }

if [ "${VETO_SKIP_ASAN:-0}" != 1 ]; then
	banner "clang ASan+UBSan build"
	build "clang asan" build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DVETO_WERROR=ON -DVETO_SANITIZE=ON -DVETO_FUZZ=OFF -DVETO_BENCH=OFF
	[ -f build-asan/CTestTestfile.cmake ] && { banner "clang ASan+UBSan: ctest"; ctest_suite "clang asan" build-asan \
		ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
		LSAN_OPTIONS="$LSAN" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; }
fi

FUZZERS=(image jpeg png webp gif tiff bmp pnm heif pdq exif index tmk video multipart api
	jpegseg pngchunk riff gifext tiffifd bmff bmffhash jumbf c2pa cbor cose x509 xmp exiftags genmeta signals)
if [ "${VETO_SKIP_FUZZ:-0}" != 1 ]; then
	banner "clang libFuzzer build"
	if run "fuzz: configure" cmake -S "$ROOT" -B build-fuzz -G "Unix Makefiles" \
		-DVETO_TESTDATA="$TESTDATA" -DCMAKE_C_COMPILER=clang \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVETO_WERROR=ON -DVETO_SANITIZE=OFF -DVETO_FUZZ=ON \
		-DVETO_BENCH=OFF; then
		run "fuzz: build" cmake --build build-fuzz -j "$JOBS" --target fuzzers -- -k
	fi
	banner "fuzz: seed corpora"
	run "fuzz: seed corpora" bash "$ROOT/scripts/fuzz-corpus.sh" build-fuzz/corpus "$TESTDATA"
	for t in "${FUZZERS[@]}"; do
		bin=build-fuzz/fuzz/fuzz_$t
		banner "fuzz_$t: ${FUZZ_SECONDS}s"
		if [ ! -x "$bin" ]; then
			fail "fuzz_$t: not built"
			continue
		fi
		work=build-fuzz/fuzz-run/$t
		rm -rf "$work"
		mkdir -p "$work/corpus" "$work/artifacts"
		# seeds, then fuzz/regressions/<target>: inputs that once crashed
		# a target, kept so they are re-run every time
		seeds=()
		[ -d "build-fuzz/corpus/$t" ] && seeds+=("build-fuzz/corpus/$t")
		[ -d "fuzz/regressions/$t" ] && seeds+=("fuzz/regressions/$t")
		# -timeout: one input running 60 s is a hang (a DoS), not slowness
		if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="$LSAN" UBSAN_OPTIONS=print_stacktrace=1 \
			"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=60 -rss_limit_mb=3072 \
			-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
			"$work/corpus" "${seeds[@]}" > "$work/log" 2>&1; then
			pass
			grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" | tr '\n' ' '
			echo
		else
			fail "fuzz_$t: crash, see $work/log and $work/artifacts/"
			grep -n -m1 -E 'ERROR: |runtime error|deadly signal|Timeout|out-of-memory' "$work/log" >&2
			tail -n 60 "$work/log" >&2
		fi
	done
fi

END=$(date +%s)
banner "summary ($((END - START)) s)"
for f in "${failures[@]}"; do
	echo "failed: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
