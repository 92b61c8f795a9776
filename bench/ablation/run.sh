#!/usr/bin/env bash
# The ablation of the context sources on the development benchmark (its cases live outside the
# repository: CASES, default the path in bench/dev_cases.path; score.py beside them): exact
# match and edit similarity per language and kind, with
#   a  plain      the bare prefix/suffix FIM prompt, raw stop rules (newline / max lines)
#   b  +scopes    + the file path line and scope-aware prefix cuts / cut-off scope headers
#   c  +defs      + definitions of names near the cursor as a commented block
#   d  +trim      + syntax-aware trimming (block ends, suffix duplication, balance, reparse)
# then the time `wisp complete` spends outside the model per case (p50/p95), and a report that
# goes into bench/RESULTS.md (with --append).
#
#   bench/ablation/run.sh [--append]   env: MODEL WISP CASES JOBS LIMIT OUT, CONFIGS="a_plain d_trim"
#                                       (a subset), SKIP_TIMINGS=1
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
MODEL=$(realpath "${MODEL:-models/wisp-default.gguf}")
[ -x "${WISP:-build/wisp}" ] || { echo "no ${WISP:-build/wisp}: run scripts/build.sh native" >&2; exit 1; }
WISP=$(realpath "${WISP:-build/wisp}")
# a private copy: a rebuild of build/wisp in the middle of a run would fail the cases it hits
cp "$WISP" "${TMPDIR:-/tmp}/wisp-ablation.$$" && WISP="${TMPDIR:-/tmp}/wisp-ablation.$$"
trap 'rm -f "$WISP"' EXIT
CASES=$(realpath "${CASES:-$(cat bench/dev_cases.path)}")
SCORE=$(dirname "$CASES")/score.py
JOBS=${JOBS:-2}
LIMIT=${LIMIT:-0}
OUT=${OUT:-bench/ablation/out}
mkdir -p "$OUT"
[ -f "$MODEL" ] || { echo "no model at $MODEL (set MODEL=...)" >&2; exit 1; }

configs=(  # the shipped configuration first, so it is there even if a run is cut short
  "d_trim|"
  "a_plain|--no-path --no-scopes --no-defs --no-trim"
  "c_defs|--no-trim"
  "b_scopes|--no-defs --no-trim"
)
for c in "${configs[@]}"; do
  name=${c%%|*}
  if [ -n "${CONFIGS:-}" ] && [[ " $CONFIGS " != *" $name "* ]]; then continue; fi
  flags=${c#*|}
  echo "== $name: wisp complete $flags" >&2
  python3 "$SCORE" --cases "$CASES" --jobs "$JOBS" --limit "$LIMIT" --out "$OUT/$name.jsonl" \
    --cmd "$WISP complete --model $MODEL $flags --file {file} --offset {offset}" | tee "$OUT/$name.txt" | tail -1
done
if [ -z "${SKIP_TIMINGS:-}" ]; then
  echo "== timings outside the model" >&2
  limit_args=()
  [ "$LIMIT" != 0 ] && limit_args=(--limit "$LIMIT")
  python3 bench/ablation/timings.py --wisp "$WISP" --model "$MODEL" --cases "$CASES" --jobs "$JOBS" "${limit_args[@]}" \
    --out "$OUT/timings.jsonl" > "$OUT/timings.md"
  cat "$OUT/timings.md"
fi
echo "== trimming rules alone (no model)" >&2
cc -O2 -Icore/include -Icore -Igrammar/include -Igrammar bench/ablation/trim_check.c grammar/trim.c core/error.c -o "$OUT/trim_check"
python3 bench/ablation/trim_check.py "$OUT/trim_check" "$CASES" > "$OUT/trim_check.txt"
cat "$OUT/trim_check.txt"
python3 bench/ablation/report.py --dir "$OUT" --model "$MODEL" "$@"
