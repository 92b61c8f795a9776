"""The fixed validation text for perplexity comparisons (PyTorch vs `wisp perplexity`): the
first validation files of each language, at most --per-lang characters each, whole files only,
joined by one newline. Written on the GPU machine and kept as train/eval/ppl_text.txt.

    python3 train/eval_text.py --corpus /tmp/wisp/corpus --out train/eval/ppl_text.txt
"""
import argparse
import json

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--corpus", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--per-lang", type=int, default=8000)
args = ap.parse_args()
used, parts = {}, []
for line in open(f"{args.corpus}/val.jsonl", encoding="utf-8"):
    rec = json.loads(line)
    n = used.get(rec["lang"], 0)
    if n + len(rec["text"]) > args.per_lang or len(rec["text"]) > 6000:
        continue
    used[rec["lang"]] = n + len(rec["text"])
    parts.append(rec["text"])
open(args.out, "w", encoding="utf-8").write("\n".join(parts))
print(f"{args.out}: {sum(len(p) for p in parts)} chars from {len(parts)} files {used}")
