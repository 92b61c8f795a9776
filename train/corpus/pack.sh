#!/bin/bash
# Packs the corpus work files into the shards the GPU machine trains on: exact and near
# duplicates out, every file the benchmark overlap checker lists out, then xz JSONL shards of
# about SHARD_MB compressed MB each (one GPU call carries at most 64 MiB), every package whole in
# one shard picked by a hash of its name. Prints the counts for train/DATA.md.
#   bash train/corpus/pack.sh [OVERLAP_CHECKER]   # default: the path in bench/overlap.path (outside the repository)
set -euo pipefail
cd "$(dirname "$0")/../.."
CHECKER=${1:-$(cat bench/overlap.path)}
SHARD_MB=${SHARD_MB:-23}
XZ_PRESET=${XZ_PRESET:-6}   # 1 writes the shards ~4x faster on a busy machine, ~10 % larger
mkdir -p .carry/wisp-corpus
rm -f .carry/wisp-corpus/shard-v2-*.jsonl.xz
python3 train/corpus/decontaminate.py --overlap "$CHECKER" --near-dup --shard-mb "$SHARD_MB" --xz-preset "$XZ_PRESET" \
  --out '.carry/wisp-corpus/shard-v2-%03d.jsonl.xz' train/data/work/src-v2.jsonl.xz train/data/work/debbin-v2.jsonl.xz \
  | tee train/data/work/pack.json
