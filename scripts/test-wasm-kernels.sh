#!/usr/bin/env bash
# The kernel tests (tests/test_kernels.c, the same source ctest runs natively) compiled to
# WebAssembly with -msimd128 and run under node: every simd128 kernel against its reference.
# cmocka has no WASM build, so tests/wasm/mini_cmocka.h stands in for it. Then the same tests with
# the Q8_0/Q4_0 matmul from the relaxed kernel module (build-wasm/wisp-kernels-relaxed.wasm, as the
# relaxed engine build loads it), in headless Chromium (Node 20 predates the relaxed-SIMD opcode
# numbering), after checking that the module imports only memory and keeps no stack or data in it.
# Exit status 0 = passed.
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

kern=build-wasm/wisp-kernels-relaxed.wasm
[ -f "$kern" ] || scripts/build.sh wasm
node -e '
const b = require("fs").readFileSync(process.argv[1]);
const sections = [];
for (let i = 8; i < b.length;) {
  const id = b[i++]; let size = 0, shift = 0, c;
  do { c = b[i++]; size |= (c & 0x7f) << shift; shift += 7; } while (c & 0x80);
  sections.push([id, b.subarray(i, i + size)]); i += size;
}
const imports = sections.filter(([id]) => id === 2).map(([, s]) => s.toString("latin1"));
const data = sections.filter(([id]) => id === 11 || id === 12);
const ok = imports.length === 1 && imports[0].startsWith("\x01\x03env\x06memory\x02") && data.length === 0;
if (!ok) { console.error(`${process.argv[1]}: imports ${JSON.stringify(imports)}, ${data.length} data sections`); process.exit(1); }
' "$kern"
if llvm-objdump-19 -d "$kern" | grep -q 'global\.get'; then
  echo "$kern: uses a stack in the engine's memory (global.get of __stack_pointer)" >&2
  exit 1
fi
emcc $flags -DWISP_RELAXED_KERNELS -O2 $srcs -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=web -sMODULARIZE=1 \
  -sEXPORT_NAME=createTest --js-library=wasm/relaxed-kernels.js -o "$out/test_kernels_relaxed.js"
node tests/wasm/run-in-chromium.mjs "$out/test_kernels_relaxed.js" "$kern"
if [ "${WISP_WASM_ASAN:-0}" = 1 ]; then
  emcc $flags -O1 -fsanitize=address $srcs $link -sINITIAL_MEMORY=536870912 -o "$out/test_kernels_asan.js"
  node "$out/test_kernels_asan.js"
fi
