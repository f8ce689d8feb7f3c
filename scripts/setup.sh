#!/usr/bin/env bash
# setup.sh - install every Debian 12 package veto needs to build, test,
# fuzz and benchmark. Idempotent: when all are installed already (checked
# with dpkg-query) it does nothing, so scripts/test.sh can call it on
# every run. Needs root (or sudo) only when something is missing.
#
#   build:  build-essential cmake pkg-config and the -dev libraries
#   fuzz:   clang + libclang-rt-14-dev (libclang_rt.fuzzer/asan/ubsan for
#           clang 14, Debian 12's default clang)
#   test:   imagemagick (tests/test_decoders.c compares with `convert`),
#           python3 (tests/test_cli.sh parses the JSON output)
#   serve:  libmicrohttpd-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev
#           (veto serve; libcurl fetches ?url= media from allowed hosts);
#           postgresql (the fleet/kill tests start a private cluster),
#           curl (tests/test_serve_*.sh), wrk (bench/serve)
#   bench:  libjpeg-turbo-progs (djpeg); hyperfine when available
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config
	clang libclang-rt-14-dev
	libjpeg62-turbo-dev libpng-dev libwebp-dev libheif-dev libtiff-dev
	libssl-dev libjansson-dev zlib1g-dev libxxhash-dev libcbor-dev libexpat1-dev
	libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libavutil-dev
	libjpeg-turbo-progs imagemagick python3
	libfaiss-dev ffmpeg
	libmicrohttpd-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev postgresql curl wrk strace
)
OPTIONAL=(hyperfine)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done
missing_optional=()
for p in "${OPTIONAL[@]}"; do
	installed "$p" || missing_optional+=("$p")
done

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
	echo "setup.sh: all ${#PACKAGES[@]} packages installed"
	exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo > /dev/null || { echo "setup.sh: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "setup.sh: installing ${missing[*]} ${missing_optional[*]}"
"${SUDO[@]}" apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
	"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for p in "${missing_optional[@]}"; do
	"${SUDO[@]}" apt-get install -y -q --no-install-recommends "$p" ||
		echo "setup.sh: optional package $p not installed (benchmarks use a fallback)" >&2
done
# the fuzzer runtime must be where clang looks for it
clang -print-file-name=libclang_rt.fuzzer-x86_64.a | grep -q / ||
	{ echo "setup.sh: clang cannot find libclang_rt.fuzzer" >&2; exit 1; }
echo "setup.sh: done"
