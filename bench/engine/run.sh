#!/usr/bin/env bash
# The engine benchmark, one command: prompt processing (a 256-token prompt) and
# generation (64 greedy tokens) tokens/s, ONE thread, for a ~30M and a ~100M-parameter llama model
# (random weights, fixed seed, real Llama-2 vocabulary) at Q8_0 and Q4_0:
#   native wisp (bench_engine.c over libwisp_core.a) vs llama.cpp (node-llama-cpp 3.22.1, threads 1),
#   wisp's WASM (build-wasm's libwisp_core.a, -msimd128) vs @wllama/wllama 3.8.1 (single-thread),
#   both in one headless Chromium page, same GGUF files, same run.
# Prints a table, then as the last line:
#   wasm_vs_wllama pp=<ratio> tg=<ratio> native_vs_llamacpp pp=<ratio> tg=<ratio>
# (geometric means over models x quants; ratio > 1 = wisp faster). Native ratios use CPU time of
# the one compute thread (robust to a loaded machine); wall-time ratios are printed in the table.
#   bench/engine/run.sh [--reps N] [--browser-reps N] [--n N] [--quick]
# --reps: native runs (best of, default 3); --browser-reps: page runs (default 1: wllama takes
# minutes per 100M model on this machine); --quick: the 30M model only.
# Needs: bench/peers/setup.sh (the peers), deps (playwright-core, chromium). Models are generated
# into bench/engine/models/ (ignored by git); builds go to build/ and build-bench-engine/.
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=3; browser_reps=1; n_gen=64; sizes="30m 100m"
while [ $# -gt 0 ]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --browser-reps) browser_reps=$2; shift 2 ;;
    --n) n_gen=$2; shift 2 ;;
    --quick) sizes="30m"; shift ;;
    *) echo "usage: bench/engine/run.sh [--reps N] [--browser-reps N] [--n N] [--quick]" >&2; exit 2 ;;
  esac
done
export NODE_PATH=/usr/share/nodejs # emcc's acorn-optimizer finds Debian's node-acorn there
out=build-bench-engine
mkdir -p "$out" bench/engine/models
bench/peers/setup.sh
scripts/build.sh native >/dev/null
scripts/build.sh wasm >/dev/null
gcc -std=gnu11 -O2 -Wall -Wextra -Icore/include bench/engine/bench_engine.c build/core/libwisp_core.a \
  -lutf8proc -lm -o "$out/bench_engine"
emcc -std=gnu11 -O3 -msimd128 -Wall -Wextra -Icore/include bench/engine/bench_engine.c \
  build-wasm/core/libwisp_core.a build-wasm/libutf8proc.a -sMODULARIZE=1 -sEXPORT_ES6=1 \
  -sEXPORT_NAME=createBench -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=33554432 -sMAXIMUM_MEMORY=2147483648 \
  -sFILESYSTEM=0 -sENVIRONMENT=web,worker -sEXPORTED_FUNCTIONS=_malloc,_free,_bench_wasm_run \
  -sEXPORTED_RUNTIME_METHODS=HEAPU8,HEAP32,HEAPF64 -o "$out/bench_engine.mjs"

python3 bench/engine/make_models.py bench/engine/models
files=()
for s in $sizes; do
  for q in q8_0 q4_0; do
    f=bench/engine/models/bench-$s-$q.gguf
    [ "$f" -nt bench/engine/models/bench-$s-f16.gguf ] || build/wisp quantize bench/engine/models/bench-$s-f16.gguf "$f" "$q" >/dev/null
    files+=("$f")
  done
done
# The prompt: 255 tokens of Python source (Debian's heapq.py) + BOS; wllama gets its text.
src=/usr/lib/python3.11/heapq.py
[ -f "$src" ] || src=$(python3 -c 'import heapq; print(heapq.__file__)')
python3 bench/engine/make_prompt.py build/wisp "${files[0]}" "$src" 256 "$out/prompt"

{
  "$out/bench_engine" --prompt-file "$out/prompt.ids" --n "$n_gen" --reps "$reps" "${files[@]}" | sed 's/^{/{"engine":"wisp-native",/'
  node bench/peers/llamacpp_bench.mjs --prompt-file "$out/prompt.ids" --n "$n_gen" --reps "$reps" "${files[@]}" | sed 's/^{/{"engine":"llama.cpp",/'
  node bench/engine/browser.mjs --prompt "$out/prompt" --n "$n_gen" --reps "$browser_reps" "${files[@]}" 2>/dev/null
} | tee "$out/results.jsonl"
python3 bench/engine/report.py "$out/results.jsonl"
