#!/usr/bin/env bash
# bench/run_index.sh - build (Release) and run the hash-index benchmark:
# veto's index against FAISS (IndexBinaryMultiHash 16x16 as HMA sets it up,
# IndexBinaryFlat) and a plain popcount scan, on uniform random hashes and
# on hashes skewed like real PDQ ones (see bench/bench_index.cpp).
#
# The real-hash corpus is made once by bench/make_corpus from the shared
# photos and videos (~2 minutes on 2 cores) and cached in
# build-bench/corpus.bin; it is remade when make_corpus is rebuilt.
#
# Environment: N (sizes, default 1000000,10000000,100000000; 1M, 10k...
# also accepted), DIST (default uniform,real), VETO_TESTDATA. Any arguments
# go to bench_index (e.g. --queries 2000, --no-faiss, --quick).
# The default run took 19 minutes here. At N = 100M it holds the 3.2 GB hash
# array and FAISS-flat's 3.2 GB copy; veto and faiss-mh are skipped there,
# with the reason printed, when their measured build peak would not fit.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${VETO_TESTDATA:-../shared/testdata}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target make_corpus >/dev/null
cmake --build build-bench -j"$(nproc)" --target bench_index >/dev/null || {
	echo "run_index.sh: bench_index is not built: it needs FAISS (apt-get install libfaiss-dev, or scripts/setup.sh)" >&2
	exit 1
}
corpus=build-bench/corpus.bin
if [ ! -s "$corpus" ] || [ build-bench/bench/make_corpus -nt "$corpus" ]; then
	mapfile -t files < <(find "$data/pdq" "$data/provenance" -type f \
		\( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) | sort)
	build-bench/bench/make_corpus "$corpus.tmp" "${files[@]}" "$data"/video/samples/*.mp4
	mv "$corpus.tmp" "$corpus"
fi
exec build-bench/bench/bench_index --n "${N:-1000000,10000000,100000000}" --dist "${DIST:-uniform,real}" \
	--corpus "$corpus" --stats "$@"
