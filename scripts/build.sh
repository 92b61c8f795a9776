#!/usr/bin/env bash
# Builds the native targets (build/) and the WebAssembly module (build-wasm/). Incremental.
#   scripts/build.sh [native|wasm|asan|all]   (default all = native + wasm)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
jobs=$(nproc)
native() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$jobs"
}
asan() {
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWISP_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
}
wasm() {
  export NODE_PATH=/usr/share/nodejs  # emcc's acorn-optimizer finds Debian's node-acorn there
  emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-wasm -j "$jobs"
}
case "$what" in
  native) native ;;
  wasm) wasm ;;
  asan) asan ;;
  all) native; wasm ;;
  *) echo "usage: scripts/build.sh [native|wasm|asan|all]" >&2; exit 2 ;;
esac
