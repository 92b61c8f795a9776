"""Stage 4 (GPU machine): FIM-transform and tokenize the corpus into flat uint16 token streams
with the start offset of every document, ready for train.py.

    python3 train/prepare.py --corpus /tmp/wisp/corpus --tokenizer /tmp/wisp/tokenizer.json \
        --out /tmp/wisp/tok --variants 2

Writes train.bin (the documents of all variants, shuffled; each variant is one FIM draw of
every chunk), train.idx.npy (document starts), train.lang.npy (document languages, index into
LANGS), val_<lang>.bin / val_<lang>.idx.npy (one fixed draw), and tokens.json
(tokens per language and split). Layout of every document: train/FORMAT.md.
"""
import argparse
import json
import multiprocessing
import os
import sys

import numpy as np
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fim  # noqa: E402

LANGS = ("python", "javascript", "typescript", "c")


def docs_of(args):
    line, seed = args
    rec = json.loads(line)
    return rec["lang"], fim.file_docs(rec["path"], rec["text"], seed)


class Encoder:
    """Turns FIM documents into token ids in the exact layouts of FORMAT.md. Each text part is
    encoded on its own, as the special tokens around it split a prompt anyway."""

    def __init__(self, tok):
        self.tok = tok
        sid = tok.token_to_id
        self.eot, self.pre, self.mid = sid("<|endoftext|>"), sid("<|fim_prefix|>"), sid("<|fim_middle|>")
        self.suf, self.sep = sid("<|fim_suffix|>"), sid("<|file_sep|>")

    def encode(self, docs):
        texts = []
        for d in docs:
            texts.append(d[1] + "\n")
            texts.extend(d[2:])
        encs = self.tok.encode_batch_fast(texts, add_special_tokens=False) if hasattr(self.tok, "encode_batch_fast") \
            else self.tok.encode_batch(texts, add_special_tokens=False)
        out, k = [], 0
        for d in docs:
            ids = [np.array(e.ids, dtype=np.uint16) for e in encs[k:k + len(d) - 1]]
            k += len(d) - 1
            one = lambda t: np.array([t], dtype=np.uint16)  # noqa: E731
            if d[0] == "plain":
                parts = [one(self.sep), ids[0], ids[1], one(self.eot)]
            elif d[0] == "spm":   # <|file_sep|>PATH\n<|fim_suffix|>S<|fim_prefix|>P<|fim_middle|>M<|endoftext|>
                parts = [one(self.sep), ids[0], one(self.suf), ids[3], one(self.pre), ids[1], one(self.mid), ids[2], one(self.eot)]
            else:                 # <|file_sep|>PATH\n<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>M<|endoftext|>
                parts = [one(self.sep), ids[0], one(self.pre), ids[1], one(self.suf), ids[3], one(self.mid), ids[2], one(self.eot)]
            out.append(np.concatenate(parts))
        return out


def write_stream(path, arrays):
    lens = np.array([len(a) for a in arrays], dtype=np.int64)
    idx = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(arrays) else np.zeros(0, np.int64)
    np.concatenate(arrays).astype(np.uint16).tofile(path + ".bin")
    np.save(path + ".idx.npy", idx)
    return int(lens.sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    enc = Encoder(Tokenizer.from_file(args.tokenizer))
    counts = {}
    train_lines = open(os.path.join(args.corpus, "train.jsonl"), encoding="utf-8").readlines()
    arrays, doc_langs = [], []
    with multiprocessing.Pool(14) as pool:
        for v in range(args.variants):
            batch, langs = [], []
            for lang, docs in pool.imap(docs_of, ((l, v) for l in train_lines), chunksize=32):
                batch.extend(docs)
                langs.extend([lang] * len(docs))
                if len(batch) >= 20000:
                    for lg, a in zip(langs, enc.encode(batch)):
                        counts[f"{lg}/train"] = counts.get(f"{lg}/train", 0) + len(a) * (v == 0)
                        arrays.append(a)
                        doc_langs.append(LANGS.index(lg))
                    batch, langs = [], []
            for lg, a in zip(langs, enc.encode(batch)):
                counts[f"{lg}/train"] = counts.get(f"{lg}/train", 0) + len(a) * (v == 0)
                arrays.append(a)
                doc_langs.append(LANGS.index(lg))
            print(f"variant {v}: {len(arrays)} documents so far", flush=True)
    # shuffle documents so that every window mixes languages and sources
    order = np.random.default_rng(0).permutation(len(arrays))
    total = write_stream(os.path.join(args.out, "train"), [arrays[i] for i in order])
    np.save(os.path.join(args.out, "train.lang.npy"), np.array(doc_langs, dtype=np.uint8)[order])
    val = {lg: [] for lg in LANGS}
    for line in open(os.path.join(args.corpus, "val.jsonl"), encoding="utf-8"):
        lang, docs = docs_of((line, 1000))
        val[lang].extend(enc.encode(docs))
    for lg in LANGS:
        if val[lg]:
            counts[f"{lg}/val"] = write_stream(os.path.join(args.out, f"val_{lg}"), val[lg])
    counts["train_stream_total"] = total
    json.dump(counts, open(os.path.join(args.out, "tokens.json"), "w"), indent=1)
    print(json.dumps(counts, indent=1))


if __name__ == "__main__":
    main()
