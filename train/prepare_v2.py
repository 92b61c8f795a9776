"""Corpus v2 shards -> token streams for train.py (GPU machine, 16 cores).

    python3 train/prepare_v2.py --shards .carry/wisp-corpus/shard-000.jsonl.xz ... \
        --tokenizer /tmp/wisp/tokenizer.json --out /tmp/wisp/tok-000 --variants 2

Each shard is an xz JSONL file of corpus records (train/corpus/common.py). Files are split by
path hash: MD5(path) mod 100 == 0 is validation (1 %), as in v1. Training documents are the FIM
layouts of train/FORMAT.md (train/fim.py), `variants` draws of every chunk; the files of one
package (the record's `source`) are laid next to each other in a random order, packages in a
random order, so the window that train.py reads from a document start also holds the next files
of the same package after their `<|file_sep|>PATH` headers (the model learns to use other files
of a project, as wisp's prompts carry definitions from other open documents).

Writes OUT/train.bin (uint16), train.idx.npy (document starts), train.lang.npy, val_<lang>.*,
tokens.json. Several OUT folders of different shards are joined by train.py (--data a,b,...).
"""
import argparse
import collections
import json
import lzma
import multiprocessing
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fim  # noqa: E402
from corpus.common import is_val  # noqa: E402
from prepare import LANGS, Encoder, write_stream  # noqa: E402

ENC = None


def _init(tok_path):
    global ENC
    from tokenizers import Tokenizer
    ENC = Encoder(Tokenizer.from_file(tok_path))


def file_docs(r, variant, failed):
    """The FIM documents of record r, or none when the transform fails on it: one bad file costs
    that file, not the shards it came with (lease 2 lost 10 of 13 shards to one exception)."""
    try:
        return fim.file_docs(r["path"], r["text"], variant)
    except Exception as e:  # noqa: BLE001 - any failure of the transform on this file
        failed.append(f"{r['path']}: {type(e).__name__}: {e}")
        return []


def encode_package(job):
    """(train [(lang, ids)], val [(lang, ids)], failures) of one package's records for all variants."""
    recs, variants, seed = job
    rng = random.Random(seed)
    train, val, failed = [], [], []
    val_recs = [r for r in recs if is_val(r["path"])]
    train_recs = [r for r in recs if not is_val(r["path"])]
    for v in range(variants):
        order = train_recs[:]
        rng.shuffle(order)
        docs, langs = [], []
        for r in order:
            d = file_docs(r, v, failed)
            docs.extend(d)
            langs.extend([r["lang"]] * len(d))
        if docs:
            train.append([(lg, a) for lg, a in zip(langs, ENC.encode(docs))])
    for r in val_recs:
        d = file_docs(r, 1000, failed)
        if d:
            val.extend((r["lang"], a) for a in ENC.encode(d))
    return train, val, failed


def read_shards(paths):
    by_pkg = collections.defaultdict(list)
    for p in paths:
        with lzma.open(p, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                by_pkg[rec.get("source") or rec["path"].split("/", 1)[0]].append(rec)
    return by_pkg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", nargs="+", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", type=int, default=2)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    by_pkg = read_shards(args.shards)
    # big packages are cut into groups of at most 400 files so the work spreads over the workers
    jobs = []
    for i, (pkg, recs) in enumerate(sorted(by_pkg.items())):
        for k in range(0, len(recs), 400):
            jobs.append((recs[k:k + 400], args.variants, f"{pkg}:{k}"))
    random.Random(0).shuffle(jobs)
    groups, val = [], {lg: [] for lg in LANGS}
    counts = collections.Counter()
    with multiprocessing.Pool(args.workers, initializer=_init, initargs=(args.tokenizer,)) as pool:
        for tr, va, failed in pool.imap_unordered(encode_package, jobs, chunksize=1):
            for f in failed:
                print(f"prepare_v2: FIM transform failed, file left out: {f}", file=sys.stderr, flush=True)
            counts["fim_failed"] += len(failed)
            groups.extend(tr)
            for lg, a in va:
                val[lg].append(a)
    # package groups in a random order (each group stays contiguous)
    random.Random(1).shuffle(groups)
    arrays, langs = [], []
    for g in groups:
        for lg, a in g:
            arrays.append(a)
            langs.append(LANGS.index(lg))
            counts[f"{lg}/train"] += len(a)
    total = write_stream(os.path.join(args.out, "train"), arrays)
    np.save(os.path.join(args.out, "train.lang.npy"), np.array(langs, dtype=np.uint8))
    for lg in LANGS:
        if val[lg]:
            counts[f"{lg}/val"] = write_stream(os.path.join(args.out, f"val_{lg}"), val[lg])
    counts["train_stream_total"] = total
    counts["train_documents"] = len(arrays)
    counts["packages"] = len(by_pkg)
    json.dump(dict(counts), open(os.path.join(args.out, "tokens.json"), "w"), indent=1)
    print(json.dumps(dict(counts)), flush=True)


if __name__ == "__main__":
    main()
