"""Rebuilds the Hugging Face tokenizer.json of a wisp-default GGUF from its own keys
(tokenizer.ggml.tokens / merges, the byte-level BPE with the qwen2 split of train/tokenizer.py),
so a later training run keeps the shipped model's token ids without carrying the JSON.

    python3 train/tokenizer_from_gguf.py models/wisp-default.gguf /tmp/wisp/tokenizer.json \
        [--check fixtures/tokenizer/wisp-default-val.strings.txt.xz fixtures/tokenizer/wisp-default-val.vectors.xz]

--check encodes the test strings and exits non-zero unless every id list equals the stored one.
"""
import argparse
import lzma
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_init  # noqa: E402
import tokenizer as wtok  # noqa: E402


def rebuild(gguf_path, out_path):
    from tokenizers import AddedToken, models
    meta, _ = gguf_init.read(gguf_path, tensors=False)
    tokens = meta["tokenizer.ggml.tokens"]
    types = meta["tokenizer.ggml.token_type"]
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = wtok.build_empty()
    tok.model = models.BPE(vocab=vocab, merges=merges)
    specials = [t for t, ty in zip(tokens, types) if ty == 3]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.save(out_path)
    return tok


def check(tok, strings_path, vectors_path):
    strings = wtok.read_strings(strings_path)
    lines = lzma.open(vectors_path, "rt", encoding="utf-8").read().split("\n")[1:]
    bad = 0
    for s, want in zip(strings, lines):
        got = " ".join(map(str, tok.encode(s, add_special_tokens=False).ids))
        bad += got != want
    return bad, len(strings)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--check", nargs=2, metavar=("STRINGS", "VECTORS"))
    args = ap.parse_args()
    tok = rebuild(args.gguf, args.out)
    print(f"tokenizer: {tok.get_vocab_size()} tokens -> {args.out}")
    if args.check:
        bad, n = check(tok, *args.check)
        print(f"check: {n - bad}/{n} strings give the stored ids")
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
