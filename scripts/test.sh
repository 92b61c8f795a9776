#!/usr/bin/env bash
# Runs every test of wisp on this machine: set-up (idempotent), then
#   1. cmocka tests through ctest (native Release build), and scripts/check_cycles.py (no cycle
#      between the files of core/ and grammar/; its self-test plants one)
#   2. the same C tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. a short libFuzzer run of every fuzz target (GGUF reader, tokenizer, documents, completion
#      pipeline, prompt, wisp serve's requests), their seed corpora first
#      and the llama.cpp interop test (node-llama-cpp loads wisp-quantized files, same greedy ids)
#   4. the WebAssembly kernel check under node (simd128 vs reference) and in headless Chromium
#      (the relaxed-SIMD kernel module vs reference), and the tokenizer tests
#      (equality vectors included) compiled to WebAssembly
#   5. JS tests of the WebAssembly API (node --test): the worker protocol under abuse, faults
#      (downloads, traps, memory growth refused, a terminated worker), the catalogue of bad inputs
#   6. a short soak of the worker (bench/soak/soak.mjs --check: no heap growth after warm-up)
#   7. end-to-end tests in headless Chromium (Monaco demo, VS Code for the Web, storage faults)
# Prints one line per suite and a last line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0; failed=0; failures=()
suite() { # suite NAME COMMAND...
  local name=$1; shift
  echo "=== $name: $*"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}
jobs=$(nproc)

suite ctest ctest --test-dir build --output-on-failure -j "$jobs"  # check_cycles is one of them
suite asan bash -c "scripts/build.sh asan >/dev/null && \
  ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j $jobs \
  -E test_model_default"  # that one checks the shipped model's numbers (minutes under ASan);
                          # the forward pass itself runs under ASan in test_forward / test_ctx
suite fuzz scripts/test-fuzz.sh
suite interop scripts/test-interop.sh
suite wasm-kernels scripts/test-wasm-kernels.sh
suite wasm-tokenizer scripts/test-wasm-tokenizer.sh
suite js scripts/test-js.sh
suite soak node --expose-gc bench/soak/soak.mjs --model fixtures/reference/qwen2.gguf --completions 1000 \
  --cycles 100 --large-kb 128 --check
suite e2e scripts/test-e2e.sh

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
