#!/usr/bin/env bash
# bench/run.sh - build (Release) and run the image-hashing benchmark on the
# shared bridge photo (1600x1004) and the 12 MP phone photos (4032x3024).
# Set VETO_REF_PDQ=/path/to/pdq-photo-hasher to time the reference too.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${VETO_TESTDATA:-../shared/testdata}/pdq
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target bench_hash >/dev/null
exec build-bench/bench/bench_hash --rounds "${ROUNDS:-9}" \
  "$data/bridge-mods/aaa-orig.jpg" "$data/reg-test-input/dih/bridge-2-rotate-90.jpg" \
  "$data"/reg-test-input/exif-rotn/exif-rotn-{1,3,6,8}.jpg
