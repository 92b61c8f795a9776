#!/usr/bin/env bash
# The serve benchmark, one command: latency p50/p95 and throughput of `wisp serve` at 1, 4 and 16
# concurrent clients, against llama.cpp (node-llama-cpp 3.22.1 behind bench/serve/llamacpp_server.mjs,
# one sequence as `llama-server -np 1`) on the same GGUF, the same requests, the same thread count.
#   bench/serve/run.sh [--threads N] [--model M.gguf] [--n-predict N] [--requests "R1 R4 R16"]
# Rows: wisp (its pipeline: the requests carry a filename), wisp-fim (no filename: plain FIM
# prompt, the closest to what llama.cpp's /infill does), llama.cpp. Prints one JSON line per row
# and level, then a markdown table. Needs bench/peers/setup.sh (run here) and the native build.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=1; model=models/wisp-default.gguf; n_predict=32; requests="24 48 64"
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --n-predict) n_predict=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    *) echo "usage: bench/serve/run.sh [--threads N] [--model M] [--n-predict N] [--requests \"R1 R4 R16\"]" >&2; exit 2 ;;
  esac
done
bench/peers/setup.sh
scripts/build.sh native >/dev/null
out=build-bench-serve
mkdir -p "$out"
# 48 cursors in three languages: Debian's heapq.py, wisp's own sampler and debounce sources.
python3 bench/serve/make_cases.py "$out/cases.json" "$n_predict" \
  /usr/lib/python3.11/heapq.py:16 core/sampler.c:16 wasm/src/debounce.ts:16 >&2
read -r r1 r4 r16 <<<"$requests"

pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap cleanup EXIT
start() { # start LOG COMMAND...: runs a server on a free port, sets $pid and $port
  local log=$1; shift
  "$@" 2>"$log" & pid=$!
  for _ in $(seq 600); do
    port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  return 1
}
measure() { # measure LABEL [load.py options]: warm-up, then 1, 4 and 16 clients
  local label=$1; shift
  python3 bench/serve/load.py --port "$port" --cases "$out/cases.json" --clients 1 --requests 4 "$@" >/dev/null
  for c in 1 4 16; do
    local r=$r1; [ "$c" = 4 ] && r=$r4; [ "$c" = 16 ] && r=$r16
    python3 bench/serve/load.py --port "$port" --cases "$out/cases.json" --clients "$c" --requests "$r" \
      --label "$label" "$@"
  done
}
{
  start "$out/wisp.log" build/wisp serve --model "$model" --port 0 --threads "$threads" --queue 64
  measure wisp
  measure wisp-fim --no-filename
  cleanup
  start "$out/llamacpp.log" node bench/serve/llamacpp_server.mjs --model "$model" --port 0 --threads "$threads"
  measure llama.cpp
  cleanup
} | tee "$out/results.jsonl"
python3 - "$out/results.jsonl" "$threads" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"\n| server (threads {sys.argv[2]}) | clients | requests | p50 ms | p95 ms | req/s | tokens/s | tokens/answer | errors |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['label']} | {r['clients']} | {r['requests']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
          f"{r['req_s']:.2f} | {r['tok_s']:.0f} | {r['mean_tokens']:.1f} | {r['errors']} |")
PY
