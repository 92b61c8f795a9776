#!/bin/bash
# Regenerates train/corpus/npm_packages_ts.txt (the TypeScript/JavaScript extension's pins) from a
# list of the registry's packages: probe each family's most downloaded packages, expand the
# families whose probes keep source, pin what keeps >= 20 KB after the filters. Deterministic given
# the list and the tarballs the registry serves. See npm_candidates.py. ~1 h here (12,000 tarballs).
#   bash train/corpus/regen_npm_ts.sh [/work/.library/env/packages/npm.tsv]
set -euo pipefail
cd "$(dirname "$0")/../.."
TSV=${1:-/work/.library/env/packages/npm.tsv}
W=train/data/work D=train/data/src/npm-ts
mkdir -p $W $D
python3 train/corpus/npm_candidates.py probe --tsv "$TSV" > $W/npm-ts-probe.txt
bash train/corpus/fetch_npm.sh $W/npm-ts-probe.txt $D
nice -n 10 python3 train/corpus/npm_scan.py $D > $W/npm-ts-scan.tsv 2> $W/npm-ts-scan.err
python3 train/corpus/npm_candidates.py expand --tsv "$TSV" --scan $W/npm-ts-scan.tsv > $W/npm-ts-expand.txt
bash train/corpus/fetch_npm.sh $W/npm-ts-expand.txt $D
nice -n 10 python3 train/corpus/npm_scan.py $D > $W/npm-ts-scan.tsv 2> $W/npm-ts-scan.err
python3 train/corpus/npm_candidates.py pin --scan $W/npm-ts-scan.tsv > train/corpus/npm_packages_ts.txt
echo "pinned $(grep -vc '^#' train/corpus/npm_packages_ts.txt) packages"
