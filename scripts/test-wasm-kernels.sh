#!/usr/bin/env bash
# The kernel tests (tests/test_kernels.c, the same source ctest runs natively) compiled to
# WebAssembly with -msimd128 and run under node: every simd128 kernel against its reference.
# cmocka has no WASM build, so tests/wasm/mini_cmocka.h stands in for it. Exit status 0 = passed.
#   WISP_WASM_ASAN=1 scripts/test-wasm-kernels.sh   also runs them under AddressSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs # emcc's acorn-optimizer finds Debian's node-acorn there
out=build-wasm-kernels
mkdir -p "$out"
srcs="tests/test_kernels.c core/quant.c core/kernels/ref.c core/kernels/simd128.c core/kernels/avx2.c core/kernels/generic.c"
flags="-std=gnu11 -msimd128 -Wall -Wextra -Wno-unused-parameter -DWISP_MINI_CMOCKA -Itests -Icore/include -Icore -Icore/kernels"
link="-sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=node -sSINGLE_FILE=1"
emcc $flags -O2 $srcs $link -o "$out/test_kernels.js"
node "$out/test_kernels.js"
if [ "${WISP_WASM_ASAN:-0}" = 1 ]; then
  emcc $flags -O1 -fsanitize=address $srcs $link -sINITIAL_MEMORY=536870912 -o "$out/test_kernels_asan.js"
  node "$out/test_kernels_asan.js"
fi
