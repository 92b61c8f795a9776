#!/usr/bin/env bash
# Interop check of the quantizer against llama.cpp: quantizes fixtures/reference/{llama,qwen2}.gguf
# to q8_0, q4_0 and f16 with `wisp quantize`, loads each in llama.cpp (node-llama-cpp from
# bench/peers; run bench/peers/setup.sh first) and compares its greedy ids with wisp's
# (tests/interop/quantize_llamacpp.mjs says what is enforced). Needs build/wisp
# (scripts/build.sh native). Exit 1 on a load failure or an enforced disagreement.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d bench/peers/node_modules/node-llama-cpp ] || { echo "bench/peers not installed: run bench/peers/setup.sh" >&2; exit 2; }
out=build/interop
mkdir -p "$out"
status=0
for m in llama qwen2; do
  files=("fixtures/reference/$m.gguf")
  for t in q8_0 q4_0 f16; do
    build/wisp quantize "fixtures/reference/$m.gguf" "$out/$m-$t.gguf" "$t"
    files+=("$out/$m-$t.gguf")
  done
  node tests/interop/quantize_llamacpp.mjs "${files[@]}" || status=1
done
exit $status
