#!/usr/bin/env bash
# JS tests of the WebAssembly package (node --test tests/js/) over the real wisp.wasm and a GGUF
# model (WISP_TEST_MODEL, default fixtures/reference/qwen2.gguf); the catalogue's HTTP rows run
# build/wisp serve. Builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build-wasm/wisp.wasm ] || scripts/build.sh wasm
[ -x build/wisp ] || scripts/build.sh native
node wasm/build.mjs
exec node --test tests/js/
