#!/usr/bin/env bash
# bench/run_video.sh - build (Release) and run the video benchmark on the
# shared sample videos: veto's vPDQ (every frame, and 1 per second) and
# TMK+PDQF against a bare decode of the same files, medians of ROUNDS.
# Set VETO_REF_VPDQ=/path/to/vpdq-hash-video to time the reference too.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${VETO_TESTDATA:-../shared/testdata}/video/samples
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target bench_video >/dev/null
exec build-bench/bench/bench_video --rounds "${ROUNDS:-5}" "$data"/*.mp4 "$@"
