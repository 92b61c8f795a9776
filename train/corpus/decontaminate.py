"""Drops every corpus record that the benchmark overlap checker flags, and writes the rest as an
xz JSONL shard (records as train/corpus/common.py makes them).

    python3 train/corpus/decontaminate.py --overlap ../shared/heldout/overlap.py \
        --out .carry/wisp-corpus/shard-000.jsonl.xz IN.jsonl[.xz] ...

The checker takes files, so the records are written under a scratch folder at their own paths
(`overlap.py --list SCRATCH` prints the flagged ones). Exact duplicates are dropped first. Prints kept / flagged counts per language
as one JSON line (the data card's overlap count).
"""
import argparse
import collections
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile


def read(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--overlap", required=True, help="the benchmark overlap checker (overlap.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    recs, seen, exact = [], set(), 0
    for p in a.inputs:
        for r in read(p):
            h = hashlib.sha1(r["text"].encode("utf-8", "surrogatepass")).digest()
            if h in seen:   # exact duplicates (the same file in two distributions)
                exact += 1
                continue
            seen.add(h)
            recs.append(r)
    scratch = tempfile.mkdtemp(prefix="wisp-overlap-")
    try:
        names = {}
        for i, r in enumerate(recs):
            rel = os.path.join(str(i), r["path"].lstrip("/").replace("..", "_"))
            full = os.path.join(scratch, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(r["text"])
            names[os.path.normpath(full)] = i
        out = subprocess.run([sys.executable, a.overlap, "--list", scratch], check=True,
                             capture_output=True, text=True).stdout.split("\n")
        flagged = {names[os.path.normpath(p)] for p in out if p.strip() and os.path.normpath(p) in names}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    kept, dropped = collections.Counter(), collections.Counter()
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with lzma.open(a.out + ".tmp", "wt", encoding="utf-8", preset=6) as f:
        for i, r in enumerate(recs):
            if i in flagged:
                dropped[r["lang"]] += 1
                continue
            kept[r["lang"]] += 1
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(a.out + ".tmp", a.out)
    print(json.dumps({"out": a.out, "kept": dict(kept), "overlap_dropped": dict(dropped), "exact_dups": exact}))


if __name__ == "__main__":
    main()
