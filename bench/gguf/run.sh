#!/usr/bin/env bash
# GGUF reader + quantizer benchmark, natively (gcc -O2 with the build's arch flags) and as
# WebAssembly (emcc -O3 -msimd128) under node; one thread. Outputs in build-bench-gguf/ (ignored).
#   bench/gguf/run.sh [native|wasm|all] [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}; shift || true
out=build-bench-gguf
mkdir -p "$out"
srcs="bench/gguf/bench_gguf.c core/gguf.c core/dtype.c core/error.c core/quantize.c core/quant.c"
incs="-Icore/include -Icore"
native() {
  gcc -std=gnu11 -O2 -mavx2 -mfma -mf16c $incs $srcs -lm -o "$out/bench_gguf"
  echo "# native (gcc -O2 -mavx2 -mfma -mf16c)"
  "$out/bench_gguf" "$@"
}
wasm() {
  export NODE_PATH=/usr/share/nodejs # emcc's acorn-optimizer finds Debian's node-acorn there
  emcc -std=gnu11 -O3 -msimd128 $incs $srcs -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=268435456 \
    -sENVIRONMENT=node -sSINGLE_FILE=1 -o "$out/bench_gguf.js"
  echo "# wasm (emcc -O3 -msimd128, node $(node --version))"
  node "$out/bench_gguf.js" "$@"
}
case "$what" in
  native) native "$@" ;;
  wasm) wasm "$@" ;;
  all) native "$@"; wasm "$@" ;;
  *) echo "usage: bench/gguf/run.sh [native|wasm|all] [--quick]" >&2; exit 2 ;;
esac
