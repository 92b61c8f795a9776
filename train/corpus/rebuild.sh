#!/bin/bash
# Rebuilds corpus v2 from the registries: fetches what the pin lists name (cached in
# train/data/src/, so a second run fetches only what is new) and filters it into two work files,
#   train/data/work/src-v2.jsonl.xz     npm tarballs + Debian source packages
#   train/data/work/debbin-v2.jsonl.xz  Python/JavaScript installed by Debian python3-*/node-* packages
# with the per-language/per-source counts and the filter drops in train/data/work/*.log.
# A work file newer than every input is not rebuilt. Then train/corpus/pack.sh makes the shards.
#   bash train/corpus/rebuild.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash train/corpus/fetch_local.sh
mkdir -p train/data/work train/data/empty
fresh() { [ -f "$1" ] && [ -z "$(find "${@:2}" -newer "$1" -print -quit)" ]; }
build() { # out, npm dir, deb dir, [debbin dir]
  local out=$1; shift
  if fresh "$out" "$@" train/corpus; then echo "$out is up to date"; return 0; fi
  python3 train/corpus/build_local.py --npm "$1" --deb "$2" ${3:+--debbin "$3"} --out "$out.part" \
    > "${out%.jsonl.xz}.log" 2> "${out%.jsonl.xz}.err" && mv "$out.part" "$out" && tail -n 12 "${out%.jsonl.xz}.log"
}
build train/data/work/src-v2.jsonl.xz train/data/src/npm train/data/src/deb &
build train/data/work/debbin-v2.jsonl.xz train/data/empty train/data/empty train/data/src/debbin &
wait
