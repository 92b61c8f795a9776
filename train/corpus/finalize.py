"""Stage 2 (GPU machine; stdlib + multiprocessing): merge the Python records and the carried
JS/TS/C archive, drop exact duplicates (hash), near duplicates (bottom-k line-shingle sketches,
estimated Jaccard >= 0.7) and any file sharing a long line-shingle with a development-benchmark
case, then split train/validation by file (1%, by a hash of the path).

    python3 train/corpus/finalize.py --inputs /tmp/wisp/python.jsonl .carry/wisp-train/local.jsonl.xz \
        --dev-shingles .carry/wisp-train/dev_shingles.txt --out /tmp/wisp/corpus

Writes OUT/train.jsonl, OUT/val.jsonl, OUT/manifest.tsv (lang, split, source, licence, bytes,
path: one row per kept file) and OUT/stats.json.
"""
import argparse
import collections
import hashlib
import json
import lzma
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DEV = set()


def read_lines(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield line


def analyse(line):
    """Per-record work done in parallel: exact hash, sketch, and the dev-case verdict."""
    rec = json.loads(line)
    text = rec["text"]
    exact = hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()
    sketch = common.sketch(text)
    dev_hit = bool(DEV) and not DEV.isdisjoint(common.long_shingles(text))
    return line, rec["lang"], rec["path"], exact, sketch, dev_hit


def init(dev_path):
    global DEV
    DEV = set(open(dev_path).read().split()) if dev_path else set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", nargs="+", required=True)
    ap.add_argument("--dev-shingles", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--val-percent", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seen_exact = set()
    near = common.NearDups()
    drops = collections.Counter()
    files = collections.Counter()
    nbytes = collections.Counter()
    outs = {s: open(os.path.join(args.out, f"{s}.jsonl"), "w", encoding="utf-8") for s in ("train", "val")}
    manifest = open(os.path.join(args.out, "manifest.tsv"), "w", encoding="utf-8")
    manifest.write("lang\tsplit\tsource\tlicense\tbytes\tpath\n")

    def lines():
        for p in args.inputs:
            yield from read_lines(p)

    with multiprocessing.Pool(16, initializer=init, initargs=(args.dev_shingles,)) as pool:
        for line, lang, path, exact, sketch, dev_hit in pool.imap(analyse, lines(), chunksize=64):
            if dev_hit:
                drops["dev-case-overlap"] += 1
                continue
            if exact in seen_exact:
                drops["exact-dup"] += 1
                continue
            seen_exact.add(exact)
            if near.seen(sketch):
                drops["near-dup"] += 1
                continue
            split = "val" if common.is_val(path, args.val_percent) else "train"
            outs[split].write(line if line.endswith("\n") else line + "\n")
            rec = json.loads(line)
            b = len(rec["text"].encode("utf-8", "surrogatepass"))
            files[(lang, split)] += 1
            nbytes[(lang, split)] += b
            clean = lambda v: " ".join(str(v).split())  # noqa: E731  (one TSV row per file)
            manifest.write(f"{lang}\t{split}\t{clean(rec['source'])}\t{clean(rec['license'])}\t{b}\t{clean(path)}\n")
    for f in outs.values():
        f.close()
    manifest.close()
    stats = {"drops": dict(drops),
             "files": {f"{l}/{s}": n for (l, s), n in sorted(files.items())},
             "bytes": {f"{l}/{s}": n for (l, s), n in sorted(nbytes.items())}}
    json.dump(stats, open(os.path.join(args.out, "stats.json"), "w"), indent=1)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
