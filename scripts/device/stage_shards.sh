#!/bin/bash
# Groups the packed shards (.carry/wisp-corpus/shard-v2-*.jsonl.xz, from train/corpus/pack.sh;
# the TypeScript/JavaScript extension's .carry/wisp-corpus-ts/shard-v2-ts-*.jsonl.xz, from
# train/corpus/rebuild_ts.sh, copied; any other shard-v2-*.jsonl.xz put in .carry/stage/
# beforehand) into what each GPU call of a
# lease carries, under the run tool's 64 MiB per call. Every call is made with the shipped model
# out of the index (scripts/device/tree_model.sh out; `in` after the lease):
#   .carry/wisp-corpus/   the smallest shard, for the `start` call, which also carries .carry/wisp2
#                         and the resume point .carry/resume/ (scripts/device/resume_point.sh)
#   .carry/sendK/         the rest, first fit by size, for `add` calls
# and prints the calls. Run it on the developer machine before the lease.
#   bash scripts/device/stage_shards.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=$((64 * 1024 * 1024))
tree=$(git ls-files -z | grep -zv '^models/wisp-default.gguf$' | xargs -0 du -cb | tail -1 | cut -f1)   # model out
meta=$(du -sb .carry/wisp2 | cut -f1)
resume=$(du -sb .carry/resume 2>/dev/null | cut -f1 || echo 0)
start_room=$((LIMIT - tree - meta - ${resume:-0} - 1024 * 1024))
add_room=$((LIMIT - tree - 2 * 1024 * 1024))
mkdir -p .carry/stage && mv .carry/wisp-corpus/shard-v2-*.jsonl.xz .carry/send*/shard-v2-*.jsonl.xz .carry/stage/ 2>/dev/null || true
for f in .carry/wisp-corpus-ts/shard-v2-ts-*.jsonl.xz; do
  [ -f "$f" ] && [ ! -f ".carry/stage/$(basename "$f")" ] && cp "$f" .carry/stage/
done
rm -rf .carry/send*
mapfile -t shards < <(ls -S -r .carry/stage/shard-v2-*.jsonl.xz)
first=${shards[0]}
[ "$(stat -c %s "$first")" -le "$start_room" ] || { echo "smallest shard does not fit the start call ($start_room bytes)"; exit 1; }
mv "$first" .carry/wisp-corpus/
echo "start: carry [\".carry/wisp2\", \".carry/wisp-corpus\", \".carry/resume\"] ($(basename "$first")); add EXPECT_SHARDS=${#shards[@]} to its command (lease_v2.sh: the main run waits for them)"
declare -a room=()
for s in $(ls -S .carry/stage/shard-v2-*.jsonl.xz 2>/dev/null); do   # largest first
  size=$(stat -c %s "$s"); k=0
  while [ $k -lt ${#room[@]} ] && [ "${room[$k]}" -lt "$size" ]; do k=$((k + 1)); done
  [ $k -lt ${#room[@]} ] || room+=("$add_room")
  [ "$size" -le "${room[$k]}" ] || { echo "$s is larger than one add call ($add_room bytes)"; exit 1; }
  mkdir -p .carry/send$((k + 1)) && mv "$s" .carry/send$((k + 1))/
  room[$k]=$((room[$k] - size))
done
for d in .carry/send*; do
  [ -d "$d" ] || continue
  echo "add:   carry [\"$d\"], command: mkdir -p .carry/wisp-corpus && cp $d/* .carry/wisp-corpus/ && bash scripts/device/lease_v2.sh add ($(ls $d | tr '\n' ' '))"
done
rmdir .carry/stage 2>/dev/null || true
