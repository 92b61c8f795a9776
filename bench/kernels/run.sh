#!/usr/bin/env bash
# Kernel microbenchmark, natively (gcc with the build's flags: -march=native, so AVX512-VNNI where the
# CPU has it; WISP_NATIVE_ARCH=OFF in the environment for the AVX2-only kernels) and as WebAssembly
# (emcc -O3 -msimd128) under node, one thread each; `chromium`: the WebAssembly builds in headless
# Chromium, plain simd128 and relaxed SIMD (Q8_0/Q4_0 from build-wasm/wisp-kernels-relaxed.wasm,
# as the relaxed engine build runs them). Outputs go to build-kernels/ (ignored).
#   bench/kernels/run.sh [native|wasm|chromium|all] [--quick] [--ref]
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}; shift || true
out=build-kernels
mkdir -p "$out"
srcs="bench/kernels/bench_kernels.c core/quant.c $(ls core/kernels/*.c | tr '\n' ' ')"
incs="-Icore/include -Icore -Icore/kernels"
native() {
  arch="-march=native -mavx2 -mfma -mf16c"
  [ "${WISP_NATIVE_ARCH:-ON}" = OFF ] && arch="-mavx2 -mfma -mf16c"
  gcc -std=gnu11 -O3 $arch $incs $srcs -lm -o "$out/bench_kernels"
  "$out/bench_kernels" "$@"
}
wasm() {
  export NODE_PATH=/usr/share/nodejs # emcc's acorn-optimizer finds Debian's node-acorn there
  emcc -std=gnu11 -O3 -msimd128 $incs $srcs -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=268435456 \
    -sENVIRONMENT=node -sSINGLE_FILE=1 -o "$out/bench_kernels.js"
  # --no-liftoff: measure the optimized (TurboFan) code a page runs once warm, not the baseline
  # tier the first calls run in
  node --no-liftoff "$out/bench_kernels.js" "$@"
}
chromium() {
  export NODE_PATH=/usr/share/nodejs
  [ -f build-wasm/wisp-kernels-relaxed.wasm ] || scripts/build.sh wasm
  web="-sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=268435456 -sENVIRONMENT=web -sMODULARIZE=1 -sEXPORT_NAME=createTest"
  emcc -std=gnu11 -O3 -msimd128 $incs $srcs $web -o "$out/bench_kernels_web.js"
  emcc -std=gnu11 -O3 -msimd128 -DWISP_RELAXED_KERNELS $incs $srcs $web --js-library=wasm/relaxed-kernels.js \
    -o "$out/bench_kernels_relaxed.js"
  node tests/wasm/run-in-chromium.mjs "$out/bench_kernels_web.js" -- "$@"
  node tests/wasm/run-in-chromium.mjs "$out/bench_kernels_relaxed.js" build-wasm/wisp-kernels-relaxed.wasm -- "$@"
}
case "$what" in
  native) native "$@" ;;
  wasm) wasm "$@" ;;
  chromium) chromium "$@" ;;
  all) native "$@"; wasm "$@"; chromium "$@" ;;
  *) echo "usage: bench/kernels/run.sh [native|wasm|chromium|all] [--quick] [--ref]" >&2; exit 2 ;;
esac
