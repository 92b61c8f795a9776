"""Per-language validation texts of corpus v2, for comparing checkpoints here on the CPU with
`wisp perplexity` (no GPU, no PyTorch): the validation files (path hash, `corpus.common.is_val`,
which no lease trains on) of the xz shards, in MD5 order of their paths, at most --per-package
files of one package and files of at most --max-file characters, until --per-lang characters;
one file per language, joined by one newline.

    python3 train/eval_text_v2.py --shards .carry/send*/ .carry/wisp-corpus/ --out train/eval
    -> train/eval/val_v2_{python,javascript,typescript,c}.txt

Check it against the benchmarks before use: python3 ../shared/heldout/overlap.py --list train/eval
"""
import argparse
import glob
import hashlib
import json
import lzma
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus.common import is_val  # noqa: E402

LANGS = ("python", "javascript", "typescript", "c")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", nargs="+", required=True, help="folders of shard-*.jsonl.xz")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-lang", type=int, default=40000)
    ap.add_argument("--per-package", type=int, default=2)
    ap.add_argument("--max-file", type=int, default=6000)
    ap.add_argument("--skip", nargs="*", default=[], help="paths to leave out (overlap.py --list)")
    args = ap.parse_args()
    skip = set(args.skip)
    cands = {lg: [] for lg in LANGS}
    shards = sorted(f for d in args.shards for f in glob.glob(os.path.join(d, "shard-*.jsonl.xz")))
    if not shards:
        sys.exit("eval_text_v2.py: no shard-*.jsonl.xz in " + " ".join(args.shards))
    for sh in shards:
        with lzma.open(sh, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r["lang"] in cands and is_val(r["path"]) and len(r["text"]) <= args.max_file \
                        and r["path"] not in skip:
                    key = hashlib.md5(r["path"].encode("utf-8", "surrogatepass")).hexdigest()
                    cands[r["lang"]].append((key, r["source"], r["path"], r["text"]))
    os.makedirs(args.out, exist_ok=True)
    for lg in LANGS:
        per_pkg, parts, n = {}, [], 0
        for _key, src, _path, text in sorted(cands[lg]):
            if per_pkg.get(src, 0) >= args.per_package or n + len(text) > args.per_lang:
                continue
            per_pkg[src] = per_pkg.get(src, 0) + 1
            parts.append(text)
            n += len(text)
        out = os.path.join(args.out, f"val_v2_{lg}.txt")
        with open(out, "w", encoding="utf-8") as f:
            f.write("\n".join(parts))
        print(f"{out}: {n} chars, {len(parts)} files of {len(per_pkg)} packages "
              f"({len(cands[lg])} validation files to choose from)")


if __name__ == "__main__":
    main()
