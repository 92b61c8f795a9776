#!/usr/bin/env bash
# The llama.cpp interop test: fixtures/reference/trained.gguf (written by our converter)
# is quantized by `wisp quantize` to q8_0 and q4_0 and laid out in arrival order by
# `wisp gguf-order`; each file, the F16 original and the shipped model (in arrival order), must load in
# llama.cpp (node-llama-cpp from bench/peers, one thread) and give the same greedy ids as
# `wisp generate` for the prompts of tests/interop/greedy_llamacpp.mjs. The one tolerance: where
# the two first differ, llama.cpp's own probabilities of both tokens must be within 0.1 nats (a
# near-tie, flipped by a different summation order of quantized products), and at least half of
# the prompts must match over all 32 ids; any other difference fails. A model with a file-separator
# token (the shipped one) gets each prompt led by it, as wisp's prompts are. Needs build/wisp
# (scripts/build.sh native) and the peers (bench/peers/setup.sh, run here).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${WISP_BUILD_DIR:-build}
[ -x "$build/wisp" ] || scripts/build.sh native >/dev/null
bench/peers/setup.sh
out=$build/interop
mkdir -p "$out"
src=fixtures/reference/trained.gguf
files=("$src")
for t in q8_0 q4_0; do
  "$build/wisp" quantize "$src" "$out/trained-$t.gguf" "$t" >/dev/null
  files+=("$out/trained-$t.gguf")
done
"$build/wisp" gguf-order "$out/trained-q8_0.gguf" "$out/trained-q8_0-ordered.gguf" >/dev/null 2>&1
files+=("$out/trained-q8_0-ordered.gguf" models/wisp-default.gguf)
WISP_BUILD_DIR=$build exec node tests/interop/greedy_llamacpp.mjs --n 32 "${files[@]}"
