#!/usr/bin/env bash
# A long fuzzing run: each libFuzzer target (tests/fuzz/fuzz_*.c, ASan + UBSan, build-fuzz/) for
# a time or a number of executions, one process each, one target after the other, niced; then
# the corpus it grew is replayed through the same target built for source-based coverage
# (build-fuzz-cov/, llvm-cov) to see which of wisp's files it reaches and how much of each.
#   scripts/fuzz-long.sh -t SECONDS [target...]     e.g. scripts/fuzz-long.sh -t 3600 fuzz_doc
#   scripts/fuzz-long.sh -n RUNS [target...]        e.g. scripts/fuzz-long.sh -n 10000000
# The corpus of each target persists in build-fuzz/long/corpus/<name>/ (seeded from
# tests/fuzz/corpus/<name>/), so runs add up. Each run appends one line per target to
# build-fuzz/long/runs.tsv (date, target, seconds, executions, exec/s, corpus files, crashes,
# status) and writes build-fuzz/long/<target>.cov.txt (llvm-cov's per-file report) and
# build-fuzz/long/<target>.files.txt (file, lines covered / lines, for files it reaches).
# A crash leaves its input in build-fuzz/crashes/ and makes the script exit 1 after the others.
# FUZZ_NICE (default 10) sets the niceness. The leak check, LeakSanitizer's and libFuzzer's (which
# runs an input again when its mallocs and frees do not balance, as with targets that keep state
# across inputs), is off by default here: it cost fuzz_serve x14 executions/s, fuzz_pipeline
# x2.5, fuzz_prompt x1.6 and fuzz_doc x1.3 (bench/RESULTS.md), and a long run is for executions.
# Leaks stay checked by the suite's short runs (scripts/test-fuzz.sh keeps the check on) and by
# the ASan ctest. FUZZ_LEAKS=1 turns it on.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=; amount=
case "${1:-}" in
  -t) mode=time; amount=${2:?seconds}; shift 2 ;;
  -n) mode=runs; amount=${2:?executions}; shift 2 ;;
  *) echo "usage: scripts/fuzz-long.sh -t SECONDS | -n RUNS [target...]" >&2; exit 2 ;;
esac
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
cov=llvm-cov-14; prof=llvm-profdata-14
command -v $cov >/dev/null || { cov=llvm-cov; prof=llvm-profdata; }
out=build-fuzz/long
mkdir -p "$out/corpus" build-fuzz/crashes
[ -f "$out/runs.tsv" ] || printf 'date\ttarget\tseconds\texecutions\texec_per_s\tcorpus_files\tcrashes\tstatus\n' >"$out/runs.tsv"

# Both builds first; the runs use copies (build-fuzz/long/bin/), so rebuilding meanwhile is safe.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWISP_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
CC=clang cmake -S . -B build-fuzz-cov -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWISP_FUZZ=ON -DWISP_FUZZ_COVERAGE=ON \
  -DCMAKE_C_COMPILER=clang >/dev/null
mkdir -p "$out/bin" "$out/bin-cov"
status=0
ready=()
for t in "${targets[@]}"; do
  if nice cmake --build build-fuzz -j "${FUZZ_JOBS:-2}" --target "$t" >"$out/$t.build.log" 2>&1 &&
     nice cmake --build build-fuzz-cov -j "${FUZZ_JOBS:-2}" --target "$t" >>"$out/$t.build.log" 2>&1; then
    cp build-fuzz/tests/"$t" "$out/bin/$t.new" && mv "$out/bin/$t.new" "$out/bin/$t" # a running copy is kept
    cp build-fuzz-cov/tests/"$t" "$out/bin-cov/$t.new" && mv "$out/bin-cov/$t.new" "$out/bin-cov/$t"
    ready+=("$t")
  else
    echo "!! $t does not build: see $out/$t.build.log" >&2
    status=1
  fi
done
for t in "${ready[@]}"; do
  name=${t#fuzz_}
  corpus="$out/corpus/$name"
  mkdir -p "$corpus"
  [ -d "tests/fuzz/corpus/$name" ] && cp -n "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  max_len=4096 # as scripts/fuzz.sh: model files need room
  case $t in fuzz_gguf|fuzz_tokenizer) max_len=65536 ;; esac
  limit=(-max_total_time="$amount")
  [ "$mode" = runs ] && limit=(-runs="$amount")
  echo "== $t: $mode $amount, corpus $corpus"
  t0=$SECONDS
  crashes0=$(ls build-fuzz/crashes/ 2>/dev/null | grep -c "^$t-" || true)
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=${FUZZ_LEAKS:-0} nice -n "${FUZZ_NICE:-10}" \
    "$out/bin/$t" "${dict[@]}" "${limit[@]}" -detect_leaks="${FUZZ_LEAKS:-0}" -rss_limit_mb=2048 -max_len=$max_len -timeout=120 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/"$t"- "$corpus" >"$out/$t.log" 2>&1
  rc=$?
  secs=$((SECONDS - t0))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$' | tail -1)
  rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
  crashes=$(( $(ls build-fuzz/crashes/ 2>/dev/null | grep -c "^$t-" || true) - crashes0 ))
  files=$(ls "$corpus" | wc -l)
  st=ok
  if [ $rc -ne 0 ]; then
    st=crashed; status=1
    echo "!! $t stopped (exit $rc): see $out/$t.log" >&2
    grep -E "check failed|ERROR|SUMMARY|Test unit written" "$out/$t.log" | head -5 >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$secs" "${execs:-0}" "${rate:-0}" "$files" \
    "$crashes" "$st" >>"$out/runs.tsv"
  echo "   $t: ${execs:-0} executions in ${secs} s (${rate:-0}/s), corpus $files files, $crashes crash(es)"

  # coverage of wisp's own files, from replaying the corpus (timeouts and crashes excluded)
  rm -f "$out/$t".*.profraw
  LLVM_PROFILE_FILE="$out/$t.%p.profraw" nice -n "${FUZZ_NICE:-10}" "$out/bin-cov/$t" -runs=0 \
    -rss_limit_mb=4096 -timeout=120 "$corpus" >"$out/$t.cov.log" 2>&1
  $prof merge -sparse "$out/$t".*.profraw -o "$out/$t.profdata" 2>>"$out/$t.cov.log" && rm -f "$out/$t".*.profraw
  srcs=$(ls core/*.c grammar/*.c cli/serve_request.c 2>/dev/null)
  # shellcheck disable=SC2086
  $cov report "$out/bin-cov/$t" -instr-profile="$out/$t.profdata" $srcs >"$out/$t.cov.txt" 2>>"$out/$t.cov.log"
  # file  lines-covered/lines (percent), for the files the corpus reaches at all
  awk '$1 ~ /\.c$/ && $8 > 0 && $9 < $8 { printf "%s\t%d/%d\t%s\n", $1, $8 - $9, $8, $10 }' "$out/$t.cov.txt" \
    | sed "s|^$(pwd)/||" >"$out/$t.files.txt"
  total=$(awk -F'\t' '{ split($2, f, "/"); c += f[1]; n += f[2] } END { if (n) printf "%d/%d lines, %.1f%%", c, n, 100 * c / n }' \
    "$out/$t.files.txt")
  echo "   $t: reaches $(wc -l <"$out/$t.files.txt") of wisp's files; of their lines it runs ${total:-none}"
done
exit $status
