#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang + ASan + UBSan in build-fuzz/ and
# runs each for N seconds (default 30) on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<name>/ stays unchanged), with tests/fuzz/<target>.dict when present.
# A crash leaves its input in build-fuzz/crashes/ and makes the script exit 1; so does a target
# that fails to build.
#   scripts/fuzz.sh [seconds] [target...]      e.g. scripts/fuzz.sh 300 fuzz_gguf
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
CC=${FUZZ_CC:-clang} cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWISP_FUZZ=ON \
  -DCMAKE_C_COMPILER="${FUZZ_CC:-clang}" >/dev/null
mkdir -p build-fuzz/crashes
status=0
for t in "${targets[@]}"; do
  if ! cmake --build build-fuzz -j "${FUZZ_JOBS:-2}" --target "$t" >build-fuzz/"$t".build.log 2>&1; then
    echo "!! $t does not build: see build-fuzz/$t.build.log" >&2
    grep -E "error|undefined reference" build-fuzz/"$t".build.log | head -5 >&2 || true
    status=1
    continue
  fi
  seeds="tests/fuzz/corpus/${t#fuzz_}"
  work="build-fuzz/corpus/${t#fuzz_}"
  mkdir -p "$work"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  # model files need room; source-text targets build their texts from a few bytes (fuzz_input.h)
  max_len=4096
  case $t in fuzz_gguf|fuzz_tokenizer) max_len=65536 ;; esac
  echo "== $t: ${secs}s on $seeds"
  if ! ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
       build-fuzz/tests/"$t" "${dict[@]}" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=$max_len -timeout=120 \
       -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/"$t"- "$work" \
       >build-fuzz/"$t".log 2>&1; then
    echo "!! $t crashed: see build-fuzz/$t.log and build-fuzz/crashes/" >&2
    grep -E "ERROR|SUMMARY|Test unit written" build-fuzz/"$t".log | head -5 >&2 || true
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build-fuzz/"$t".log | tr '\n' ' '
    echo
  fi
done
exit $status
