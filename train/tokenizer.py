"""Stage 3 (GPU machine, HF `tokenizers`): train the byte-level BPE of wisp-default on the
training split, with the qwen2 pre-tokenizer split rule (so GGUF `tokenizer.ggml.pre = "qwen2"`
reproduces it in wisp, llama.cpp and wllama) and Qwen's special-token spellings; then write the
test vectors that wisp's C tokenizer must reproduce.

    python3 train/tokenizer.py --corpus /tmp/wisp/corpus --vocab 16384 --out /tmp/wisp/tokenizer.json \
        --vectors /tmp/wisp/out

Vocabulary 16384: the output layer costs vocab x width MACs per generated token; at the widths
of the sweep (256..576) 16384 keeps it at 4-9M MACs, about a third of a small model's work,
while a larger vocabulary would buy few fewer tokens on code; a smaller one (8192) makes every
completion longer in tokens, and decode steps are what the latency budget pays for.
"""
import argparse
import json
import lzma
import os
import random

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

# Qwen2's pre-tokenizer split rule, as in its tokenizer.json (and llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN2).
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
            "<|repo_name|>", "<|file_sep|>"]


def build_empty():
    """An untrained tokenizer with wisp-default's pipeline (no normalizer: bytes are taken as
    they are, as llama.cpp's qwen2 pre-tokenizer does)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def texts(path, max_bytes):
    """Texts of a JSONL split, balanced: each language contributes up to max_bytes / 4."""
    per = max_bytes // 4
    used = {}
    for line in open(path, encoding="utf-8"):
        rec = json.loads(line)
        lang = rec["lang"]
        if used.get(lang, 0) > per:
            continue
        used[lang] = used.get(lang, 0) + len(rec["text"])
        yield rec["path"] + "\n" + rec["text"]


def read_strings(path):
    """The strings of a wisp-tokenizer-strings file (xz): header, then per string
    "<byte length>\n<bytes>\n"."""
    data = lzma.open(path).read()
    head, _, rest = data.partition(b"\n")
    n = int(head.split()[1])
    out, pos = [], 0
    for _ in range(n):
        nl = rest.index(b"\n", pos)
        ln = int(rest[pos:nl])
        out.append(rest[nl + 1:nl + 1 + ln].decode("utf-8", "surrogateescape"))
        pos = nl + 1 + ln + 1
    return out


def write_strings(path, strings):
    with lzma.open(path, "wb") as f:
        f.write(b"wisp-tokenizer-strings %d\n" % len(strings))
        for t in strings:
            b = t.encode("utf-8")
            f.write(b"%d\n" % len(b) + b + b"\n")


def write_ids(tok, path, strings, name="wisp-default"):
    """wisp-tokenizer-vectors file (xz): the ids HF `tokenizers` gives each string with
    add_special_tokens=False (special-token texts are split out, as wisp's parse_special)."""
    import tokenizers
    with lzma.open(path, "wb") as f:
        f.write(f"wisp-tokenizer-vectors {name} {len(strings)} tokenizers@{tokenizers.__version__}\n".encode())
        for t in strings:
            ids = tok.encode(t, add_special_tokens=False).ids
            f.write((" ".join(map(str, ids)) + "\n").encode())


def val_strings(val_path, n=300, seed=7):
    """n strings cut from validation files (random slices of 1..400 characters) plus a few edge
    cases."""
    rng = random.Random(seed)
    recs = [json.loads(l) for l in open(val_path, encoding="utf-8")]
    rng.shuffle(recs)
    cases = [" ", "\n", "\n\n\t  x", "def f(x):\n    return x  # caf\u00e9 \u2713\n",
             "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "int main(void) {\r\n  return 0;\r\n}",
             "    \n    \n", "x = 1_000_000 + 0x1F + 3.14e-10", "const s = `h\u00e9llo ${name}` // \u65e5\u672c\u8a9e",
             "<|file_sep|>src/a.ts\n<|fim_suffix|>}\n<|fim_prefix|>function f() {\n  <|fim_middle|>"]
    for rec in recs:
        if len(cases) >= n:
            break
        t = rec["text"]
        a = rng.randrange(len(t))
        cases.append(t[a:a + rng.randint(1, 400)])
    return cases


def write_vectors(tok, corpus, out_dir, shared_strings=None):
    """Writes OUT_DIR/wisp-default-val.strings.txt.xz + wisp-default-val.vectors.xz (validation
    strings) and, given the shared fixtures/tokenizer/strings.txt.xz, wisp-default.vectors.xz."""
    vs = val_strings(os.path.join(corpus, "val.jsonl"))
    write_strings(os.path.join(out_dir, "wisp-default-val.strings.txt.xz"), vs)
    write_ids(tok, os.path.join(out_dir, "wisp-default-val.vectors.xz"), vs)
    if shared_strings and os.path.exists(shared_strings):
        write_ids(tok, os.path.join(out_dir, "wisp-default.vectors.xz"), read_strings(shared_strings))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--vocab", type=int, default=16384)
    ap.add_argument("--max-bytes", type=int, default=200_000_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vectors", help="folder for the test vectors")
    ap.add_argument("--shared-strings", default="fixtures/tokenizer/strings.txt.xz")
    args = ap.parse_args()
    tok = build_empty()
    trainer = trainers.BpeTrainer(vocab_size=args.vocab, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts(os.path.join(args.corpus, "train.jsonl"), args.max_bytes), trainer=trainer)
    tok.save(args.out)
    print(f"tokenizer: {tok.get_vocab_size()} tokens -> {args.out}")
    if args.vectors:
        os.makedirs(args.vectors, exist_ok=True)
        write_vectors(tok, args.corpus, args.vectors, args.shared_strings)
        print(f"vectors -> {args.vectors}")


if __name__ == "__main__":
    main()
