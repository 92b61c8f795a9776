#!/bin/bash
# The whole training lease of wisp-default on the GPU machine, meant to run detached:
#   setsid nohup bash scripts/device/train_all.sh MINUTES > /tmp/wisp/pipeline.log 2>&1 &
# SPECS (environment) overrides the sizes, see below.
# corpus (site-packages Python + carried JS/TS/C) -> tokenizer -> FIM token streams -> a smoke
# step -> three sizes trained side by side for MINUTES of wall time -> GGUF F16 exports + PyTorch
# perplexity, all under /tmp/wisp (outside the working-tree copy, which each call replaces).
set -euo pipefail
MIN=${1:-11}
W=/tmp/wisp
mkdir -p $W/out $W/runs
rm -rf $W/src && mkdir -p $W/src/fixtures/tokenizer && cp -r train .carry/wisp-train $W/src/
[ -d .carry/wisp-init ] && cp -r .carry/wisp-init $W/src/
cp fixtures/tokenizer/strings.txt.xz $W/src/fixtures/tokenizer/
cd $W/src
export PYTHONUNBUFFERED=1
stage() { echo "=== $(date -u +%T) $*"; }
# each stage is skipped when its output exists, so a relaunch after a fix resumes
stage python-corpus
if [ ! -s $W/python.jsonl ]; then
  python3 train/corpus/python_site.py --out $W/python.jsonl.tmp && mv $W/python.jsonl.tmp $W/python.jsonl
fi
stage finalize
[ -s $W/corpus/stats.json ] || python3 train/corpus/finalize.py --inputs $W/python.jsonl wisp-train/local.jsonl.xz \
    --dev-shingles wisp-train/dev_shingles.txt --out $W/corpus
stage tokenizer
# a carried tokenizer (wisp-init/tokenizer.json.xz) is reused, so a continued run keeps its ids
[ -s $W/tokenizer.json ] || [ ! -f wisp-init/tokenizer.json.xz ] || xz -dc wisp-init/tokenizer.json.xz > $W/tokenizer.json
[ -s $W/tokenizer.json ] || python3 train/tokenizer.py --corpus $W/corpus --vocab 16384 --max-bytes 120000000 \
    --out $W/tokenizer.json --vectors $W/out
stage prepare
[ -s $W/tok/tokens.json ] || python3 train/prepare.py --corpus $W/corpus --tokenizer $W/tokenizer.json --out $W/tok --variants 2
stage smoke
[ -s $W/runs/smoke/result.json ] || python3 train/train.py --name smoke --dim 64 --layers 2 --heads 2 --ffn 128 --data $W/tok \
    --out $W/runs/smoke --minutes 2 --max-steps 60 --compile 1 || COMPILE=0
stage train
# one line per size: name dim layers heads ffn lr [more train.py options]
SPECS=${SPECS:-"s8 256 6 4 688 2e-3
m25 384 12 6 1024 1.5e-3
l60 576 12 9 1536 1e-3"}
NAMES=""
while read -r name dim layers heads ffn lr extra; do
  [ -n "$name" ] || continue
  NAMES="$NAMES $name"
  [ -s $W/runs/$name/result.json ] || python3 train/train.py --name $name --dim $dim --layers $layers --heads $heads --ffn $ffn --lr $lr \
      --data $W/tok --out $W/runs/$name --minutes $MIN --compile ${COMPILE:-1} $extra > $W/runs/$name.log 2>&1 &
done <<< "$SPECS"
wait
stage export
python3 train/eval_text.py --corpus $W/corpus --out $W/out/ppl_text.txt
for name in $NAMES; do
  python3 train/export.py --run $W/runs/$name --tokenizer $W/tokenizer.json \
      --out $W/out/wisp-$name-f16.gguf --type f16 --name wisp-$name --ppl-text $W/out/ppl_text.txt || echo "export $name FAILED"
  cp $W/runs/$name/result.json $W/out/result-$name.json || true
  cp $W/runs/$name/log.jsonl $W/out/log-$name.jsonl || true
done
cp $W/tokenizer.json $W/corpus/stats.json $W/tok/tokens.json $W/out/
xz -T8 -c $W/corpus/manifest.tsv > $W/out/manifest.tsv.xz
stage done
