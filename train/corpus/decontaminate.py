"""Packs corpus records into xz JSONL shards for the GPU machine: drops exact duplicates, near
duplicates (bottom-k sketches, common.NearDups) and every record that the benchmark overlap
checker flags, then writes the rest (records as train/corpus/common.py makes them).

    python3 train/corpus/decontaminate.py --overlap "$(cat bench/overlap.path)" \
        --out .carry/wisp-corpus/shard-000.jsonl.xz IN.jsonl[.xz] ...
    python3 train/corpus/decontaminate.py --overlap "$(cat bench/overlap.path)" --near-dup \
        --shard-mb 48 --out '.carry/wisp-corpus/shard-v2-%03d.jsonl.xz' IN.jsonl[.xz] ...

--exclude-exact drops files already in the corpus (its work files), --seen counts the shards of an
earlier batch as kept (exact and near duplicates of them are dropped) and --first numbers the
new shards after them, so that a corpus can grow batch by batch:

    python3 train/corpus/decontaminate.py --overlap ... --near-dup --shard-mb 23 --first 3 \
        --exclude-exact train/data/work/src-v2.jsonl.xz --seen .carry/wisp-corpus-ts/shard-v2-ts-000.jsonl.xz ... \
        --out '.carry/wisp-corpus-ts/shard-v2-ts-%03d.jsonl.xz' NEW.jsonl.xz

With --shard-mb, OUT is a printf pattern and the records are spread over as many shards as it
takes for each to stay under that many compressed MB (at ~7x compression for source): every
package (record `source`) lies whole in one shard, picked by a hash of its name, so each shard
is a random sample of packages of every language and any prefix of the shards is a fair corpus.

The checker takes files, so the records are written under a scratch folder at their own paths
(`overlap.py --list SCRATCH` prints the flagged ones). Prints kept / dropped counts per language
as one JSON line (the data card's counts).
"""
import argparse
import collections
import hashlib
import json
import lzma
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

COMPRESSION = 7.0   # source bytes per xz byte (measured on shard-000: 216 MB -> 30 MB)


def read(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def digests(path):
    """SHA-1 digests of the texts of a records file, or of a .sha1 file (20 bytes each)."""
    if path.endswith(".sha1"):
        data = open(path, "rb").read()
        return {data[i:i + 20] for i in range(0, len(data), 20)}
    return {hashlib.sha1(r["text"].encode("utf-8", "surrogatepass")).digest() for r in read(path)}


def sketch_of(text):
    return common.sketch(text)


def flagged_by_overlap(recs, checker):
    """Indices of the records that the benchmark overlap checker lists."""
    # hundreds of thousands of small files: in memory where there is a tmpfs (deleting them from
    # a slow disk took minutes)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    scratch = tempfile.mkdtemp(prefix="wisp-overlap-", dir=shm)
    try:
        names = {}
        for i, r in enumerate(recs):
            rel = os.path.join(str(i), r["path"].lstrip("/").replace("..", "_"))
            full = os.path.join(scratch, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(r["text"])
            names[os.path.normpath(full)] = i
        out = subprocess.run([sys.executable, checker, "--list", scratch], check=True,
                             capture_output=True, text=True).stdout.split("\n")
        return {names[os.path.normpath(p)] for p in out if p.strip() and os.path.normpath(p) in names}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def shard_of(source, n):
    return int(hashlib.md5(source.encode("utf-8", "surrogatepass")).hexdigest(), 16) % n


def write_shard(path, recs, preset=6):
    tmp = path + ".tmp"
    with lzma.open(tmp, "wt", encoding="utf-8", preset=preset) as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path, os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--overlap", required=True, help="the benchmark overlap checker (overlap.py)")
    ap.add_argument("--out", required=True, help="shard path, or a printf pattern with --shard-mb")
    ap.add_argument("--near-dup", action="store_true", help="also drop near duplicates")
    ap.add_argument("--shard-mb", type=float, help="split into shards of about this many xz MB")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--exclude-exact", action="append", default=[], metavar="FILE",
                    help="records already in the corpus: a file with the same text is dropped (exact-dup-corpus)")
    ap.add_argument("--hashes-out", help="write the --exclude-exact digests to this .sha1 file")
    ap.add_argument("--seen", action="append", default=[], metavar="FILE",
                    help="shards packed before (an earlier batch): their files count as kept for the exact "
                         "and near-duplicate checks, and are not written again")
    ap.add_argument("--xz-preset", type=int, default=6,
                    help="xz level of the shards (below 6 compresses less: lower --shard-mb to match)")
    ap.add_argument("--seen-exact", action="append", default=[], metavar="FILE",
                    help="as --seen, for exact duplicates only (cheaper: no sketches); FILE may be a .sha1")
    ap.add_argument("--first", type=int, default=0, help="number of the first shard (with --shard-mb)")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    recs, seen = [], set()
    dropped = collections.Counter()
    corpus = set()
    for p in a.exclude_exact:
        corpus.update(digests(p))
    for p in a.seen_exact:
        seen.update(digests(p))
    if a.hashes_out:   # the corpus's digests, to pass as --exclude-exact FILE.sha1 next time
        with open(a.hashes_out, "wb") as f:
            f.write(b"".join(sorted(corpus)))
    near = common.NearDups()
    for p in a.seen:
        for r in read(p):
            seen.add(hashlib.sha1(r["text"].encode("utf-8", "surrogatepass")).digest())
            if a.near_dup:
                near.seen(common.sketch(r["text"]))
    for p in a.inputs:
        for r in read(p):
            h = hashlib.sha1(r["text"].encode("utf-8", "surrogatepass")).digest()
            if h in seen:   # exact duplicates (the same file in two distributions)
                dropped["exact-dup"] += 1
                continue
            if h in corpus:
                dropped["exact-dup-corpus"] += 1
                continue
            seen.add(h)
            recs.append(r)
    if a.near_dup:
        kept = []
        with multiprocessing.Pool(a.jobs) as pool:
            for r, sk in zip(recs, pool.imap(sketch_of, (r["text"] for r in recs), chunksize=256)):
                if near.seen(sk):
                    dropped["near-dup"] += 1
                else:
                    kept.append(r)
        recs = kept
    flagged = flagged_by_overlap(recs, a.overlap)
    overlap = collections.Counter(recs[i]["lang"] for i in flagged)
    recs = [r for i, r in enumerate(recs) if i not in flagged]
    kept = collections.Counter(r["lang"] for r in recs)
    kept_bytes = collections.Counter()
    for r in recs:
        kept_bytes[r["lang"]] += len(r["text"].encode("utf-8", "surrogatepass"))
    if a.shard_mb:
        n = max(1, int(sum(kept_bytes.values()) / COMPRESSION / (a.shard_mb * 1e6) + 0.999))
        groups = [[] for _ in range(n)]
        for r in recs:
            groups[shard_of(r["source"], n)].append(r)
        paths = [a.out % (a.first + i) for i in range(n)]
    else:
        groups, paths = [recs], [a.out]
    for p in paths:
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
    with multiprocessing.Pool(min(a.jobs, len(groups))) as pool:
        written = pool.starmap(write_shard, zip(paths, groups, [a.xz_preset] * len(groups)))
    print(json.dumps({"out": {p: s for p, s in written}, "kept": dict(kept), "kept_bytes": dict(kept_bytes),
                      "overlap_dropped": dict(overlap), "dropped": dict(dropped)}))


if __name__ == "__main__":
    main()
