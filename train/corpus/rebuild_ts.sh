#!/bin/bash
# The TypeScript/JavaScript extension of corpus v2: fetches the pins of npm_packages_ts.txt (cached in
# train/data/src/npm-ts/), filters them like the main corpus plus --drop-compiled (build output and
# files whose header names a copyleft/commercial licence) into train/data/work/ts-v2.jsonl.xz, then
# packs them: exact + near dedup, exact duplicates of the main corpus's work files dropped (when they
# exist), every file the benchmark overlap checker lists dropped, ~23 MB xz shards
# .carry/wisp-corpus-ts/shard-v2-ts-NNN.jsonl.xz (records as the main shards: prepare_v2.py reads them).
#   bash train/corpus/rebuild_ts.sh [OVERLAP_CHECKER]   # default: the path in bench/overlap.path
set -euo pipefail
cd "$(dirname "$0")/../.."
CHECKER=${1:-$(cat bench/overlap.path)}
SHARD_MB=${SHARD_MB:-23}
W=train/data/work D=train/data/src/npm-ts
mkdir -p $W train/data/empty .carry/wisp-corpus-ts
bash train/corpus/fetch_npm.sh train/corpus/npm_packages_ts.txt $D
nice -n 10 python3 train/corpus/build_local.py --npm $D --npm-list train/corpus/npm_packages_ts.txt \
  --deb train/data/empty --npm-langs typescript,javascript --drop-compiled --out $W/ts-v2.jsonl.xz.part > $W/ts-v2.log 2> $W/ts-v2.err
mv $W/ts-v2.jsonl.xz.part $W/ts-v2.jsonl.xz && cat $W/ts-v2.log
excl=()
for f in $W/src-v2.jsonl.xz $W/debbin-v2.jsonl.xz; do [ -f "$f" ] && excl+=(--exclude-exact "$f"); done
[ ${#excl[@]} -gt 0 ] || echo "rebuild_ts: no main corpus work files: dedup among the new files only" >&2
rm -f .carry/wisp-corpus-ts/shard-v2-ts-*.jsonl.xz
nice -n 10 python3 train/corpus/decontaminate.py --overlap "$CHECKER" --near-dup --shard-mb "$SHARD_MB" "${excl[@]}" \
  --out '.carry/wisp-corpus-ts/shard-v2-ts-%03d.jsonl.xz' $W/ts-v2.jsonl.xz | tee $W/pack-ts.json
