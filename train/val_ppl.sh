#!/bin/bash
# Perplexity of GGUF models on the fixed texts, here on the CPU with `wisp perplexity` (context
# 1024, each window led by the file separator token, as every wisp prompt and every training
# document is: without it, continued-training checkpoints that use the first token as an attention
# sink look 10x worse than they are; models/README.md, lease 3): train/eval/ppl_text.txt (v1 validation, 8 KB a language) and the four corpus-v2
# validation texts (train/eval/val_v2_*.txt, 40 KB each; train/eval_text_v2.py). One row a model,
# tab-separated. Compare checkpoints on these before the dev benchmark: a lease's own validation
# windows come from the parts it trained on, which flattered lease 2 (models/README.md).
#   bash train/val_ppl.sh MODEL.gguf...     (WISP=path/to/wisp, default build/wisp)
set -euo pipefail
cd "$(dirname "$0")/.."
wisp=${WISP:-build/wisp}
[ $# -gt 0 ] || { echo "usage: bash train/val_ppl.sh MODEL.gguf..." >&2; exit 2; }
[ -x "$wisp" ] || { echo "val_ppl.sh: $wisp is not built (bash scripts/build.sh)" >&2; exit 2; }
printf 'model\tppl_text\tpython\tjavascript\ttypescript\tc\n'
for m in "$@"; do
  row=$m
  for t in ppl_text val_v2_python val_v2_javascript val_v2_typescript val_v2_c; do
    p=$("$wisp" perplexity "$m" "train/eval/$t.txt" --ctx 1024 --lead file_sep 2>&1 | awk '/^perplexity:/ { print $2 }')
    [ -n "$p" ] || { echo "val_ppl.sh: $wisp perplexity $m train/eval/$t.txt gave no figure" >&2; exit 1; }
    row="$row	$p"
  done
  printf '%s\n' "$row"
done
