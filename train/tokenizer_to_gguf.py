#!/usr/bin/env python3
"""Converts a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) into a
vocabulary-only GGUF holding the `tokenizer.ggml.*` keys llama.cpp and wisp read.

    python3 train/tokenizer_to_gguf.py DIR_OR_TOKENIZER_JSON OUT.gguf [--pre NAME] [--name NAME]

Two kinds of vocabularies:
  * byte-level BPE (a ByteLevel pre-tokenizer or decoder): `tokenizer.ggml.model` = "gpt2", with
    `tokens`, `token_type`, `merges` and `pre` (the pre-tokenizer, recognised from its regexes:
    gpt-2, llama-bpe, qwen2, starcoder, deepseek-coder; `--pre` overrides);
  * SentencePiece-style BPE (byte_fallback, U+2581 for spaces, as Llama-2 / Mistral ship):
    `model` = "llama", with `tokens`, `token_type` and `scores`. tokenizer.json holds merges, not
    scores, so a piece's score is minus the rank of the first merge that produces it (the
    SentencePiece merge order, which the HF conversion preserved); pieces no merge produces
    score 0 and are never merge results.
Added tokens become CONTROL (special: true) or USER_DEFINED (special: false) token types. BOS,
EOS, UNK, PAD come from tokenizer_config.json; EOT and the FIM ids (fim_{pre,suf,mid,pad,rep,sep})
are written when the vocabulary holds one of their well-known spellings. Standard library only;
the GGUF itself is written by train/gguf_writer.py. The model-training work reuses this for our
own model's tokenizer (pass `writer=` to add_tokenizer to put the keys into a model file).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402

# llama.cpp token types
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# Pre-tokenizer regexes as tokenizer.json files spell them, keyed by llama.cpp's `pre` names.
GPT2_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
LLAMA3_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
             "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_RE = LLAMA3_RE.replace("\\p{N}{1,3}", "\\p{N}")

# Well-known spellings, first match wins. The engine has the same table for old files.
FIM_TEXTS = {
    "fim_pre": ["<|fim_prefix|>", "<fim_prefix>", "<fim-prefix>", "<PRE>", "\u2581<PRE>",
                "<\uff5cfim\u2581begin\uff5c>"],
    "fim_suf": ["<|fim_suffix|>", "<fim_suffix>", "<fim-suffix>", "<SUF>", "\u2581<SUF>",
                "<\uff5cfim\u2581hole\uff5c>"],
    "fim_mid": ["<|fim_middle|>", "<fim_middle>", "<fim-middle>", "<MID>", "\u2581<MID>",
                "<\uff5cfim\u2581end\uff5c>"],
    "fim_pad": ["<|fim_pad|>", "<fim_pad>", "<fim-pad>", "<PAD>"],
    "fim_rep": ["<|repo_name|>", "<repo_name>", "<reponame>"],
    "fim_sep": ["<|file_sep|>", "<file_sep>", "<filename>"],
}
EOT_TEXTS = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
             "<\uff5cend\u2581of\u2581sentence\uff5c>"]


def _bytes_to_unicode():
    """GPT-2's byte <-> printable character table (the ByteLevel pre-tokenizer's alphabet)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def _regexes(pre_tok):
    """All Split regexes of a pre_tokenizer tree, in order, and whether Digits(individual) occurs."""
    out, digits = [], False
    if not pre_tok:
        return out, digits
    if pre_tok.get("type") == "Sequence":
        for p in pre_tok.get("pretokenizers", []):
            o, d = _regexes(p)
            out += o
            digits = digits or d
    elif pre_tok.get("type") == "Split":
        pat = pre_tok.get("pattern", {})
        if "Regex" in pat:
            out.append(pat["Regex"])
    elif pre_tok.get("type") == "Digits":
        digits = bool(pre_tok.get("individual_digits"))
    elif pre_tok.get("type") == "ByteLevel" and pre_tok.get("use_regex", True):
        out.append(GPT2_RE)
    return out, digits


def detect_pre(tj):
    """The llama.cpp `pre` name for tokenizer.json's pre-tokenizer; raises when unknown."""
    res, digits = _regexes(tj.get("pre_tokenizer"))
    if res == [LLAMA3_RE]:
        return "llama-bpe"
    if res == [QWEN2_RE]:
        return "qwen2"
    if res == [GPT2_RE]:
        return "starcoder" if digits else "gpt-2"
    if len(res) >= 4 and res[0] == "[\r\n]" and digits:
        return "deepseek-coder"
    if res == ["\\p{N}", GPT2_RE]:
        return "starcoder"
    raise ValueError("unknown pre-tokenizer %r: pass --pre NAME" % (res,))


def _is_byte_level(tj):
    def has(node):
        if isinstance(node, dict):
            if node.get("type") == "ByteLevel":
                return True
            return any(has(v) for v in node.values())
        if isinstance(node, list):
            return any(has(v) for v in node)
        return False
    return has(tj.get("pre_tokenizer")) or has(tj.get("decoder"))


def _byte_level_prefix_space(node):
    """True when a ByteLevel step adds a leading space (RoBERTa style), which wisp does not do."""
    if isinstance(node, dict):
        if node.get("type") == "ByteLevel" and node.get("add_prefix_space"):
            return True
        return any(_byte_level_prefix_space(v) for v in node.values())
    if isinstance(node, list):
        return any(_byte_level_prefix_space(v) for v in node)
    return False


def _add_prefix_space(tj):
    """True when the SentencePiece normalizer/pre-tokenizer prepends U+2581 (Llama-2 legacy)."""
    norm = tj.get("normalizer") or {}
    items = norm.get("normalizers", [norm]) if norm.get("type") == "Sequence" else [norm]
    if any(n.get("type") == "Prepend" and n.get("prepend") == "\u2581" for n in items):
        return True
    pt = tj.get("pre_tokenizer") or {}
    if pt.get("type") == "Metaspace":
        return pt.get("prepend_scheme", "always") != "never" and pt.get("add_prefix_space", True)
    return False


def _token_text(v):
    if isinstance(v, dict):
        return v.get("content")
    return v


def add_tokenizer(w, tj, cfg, pre=None):
    """Adds every tokenizer.ggml.* key for tokenizer.json `tj` and tokenizer_config `cfg` to the
    GGUFWriter `w`. Returns a short summary dict."""
    model = tj["model"]
    if model.get("type", "BPE") != "BPE":
        raise ValueError("only BPE tokenizer.json models are supported, not %r" % model.get("type"))
    vocab = dict(model["vocab"])
    added = {a["id"]: a for a in tj.get("added_tokens", [])}
    for i, a in added.items():
        vocab[a["content"]] = i
    n = max(vocab.values()) + 1
    tokens = [None] * n
    for t, i in vocab.items():
        tokens[i] = t
    types = [NORMAL] * n
    for i in range(n):
        if tokens[i] is None:
            tokens[i] = "[PAD%d]" % i
            types[i] = UNUSED
    for i, a in added.items():
        types[i] = CONTROL if a.get("special", False) else USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    byte_level = _is_byte_level(tj)
    w.add("tokenizer.ggml.model", "gpt2" if byte_level else "llama")
    if byte_level:
        if _byte_level_prefix_space(tj.get("pre_tokenizer")):
            raise ValueError("ByteLevel pre-tokenizer with add_prefix_space: not supported")
        if tj.get("normalizer") not in (None, {"type": "NFC"}):
            raise ValueError("normalizer %r: not supported for byte-level vocabularies"
                             % (tj.get("normalizer"),))
        w.add("tokenizer.ggml.pre", pre or detect_pre(tj))
    else:
        unk = model.get("unk_token")
        for i, t in enumerate(tokens):
            if len(t) == 6 and t.startswith("<0x") and t.endswith(">") and types[i] == NORMAL:
                types[i] = BYTE
            if unk is not None and t == unk:
                types[i] = UNKNOWN
        scores = [0.0] * n
        seen = set()
        for rank, m in enumerate(merges):
            a, b = m.split(" ", 1)
            piece = vocab.get(a + b)
            if piece is not None and piece not in seen:
                seen.add(piece)
                scores[piece] = -float(rank + 1)
        w.add("tokenizer.ggml.scores", scores, gguf_writer.ARRAY, gguf_writer.FLOAT32)
        w.add("tokenizer.ggml.add_space_prefix", _add_prefix_space(tj))
    w.add("tokenizer.ggml.tokens", tokens)
    w.add("tokenizer.ggml.token_type", types, gguf_writer.ARRAY, gguf_writer.INT32)
    if byte_level:
        w.add("tokenizer.ggml.merges", merges, gguf_writer.ARRAY, gguf_writer.STRING)

    ids = {}
    for key, cfg_key in (("bos", "bos_token"), ("eos", "eos_token"), ("unknown", "unk_token"),
                         ("padding", "pad_token")):
        text = _token_text(cfg.get(cfg_key))
        if text is not None and text in vocab:
            ids[key] = vocab[text]
    for t in EOT_TEXTS:
        if t in vocab and vocab[t] != ids.get("eos"):
            ids["eot"] = vocab[t]
            break
    for key, texts in FIM_TEXTS.items():
        for t in texts:
            if t in vocab:
                ids[key] = vocab[t]
                break
    for key, i in ids.items():
        w.add("tokenizer.ggml.%s_token_id" % key, i, gguf_writer.UINT32)
    if "add_bos_token" in cfg:
        w.add("tokenizer.ggml.add_bos_token", bool(cfg["add_bos_token"]))
    if "add_eos_token" in cfg:
        w.add("tokenizer.ggml.add_eos_token", bool(cfg["add_eos_token"]))
    return {"model": "gpt2" if byte_level else "llama", "n_vocab": n, "n_merges": len(merges),
            "ids": ids}


def load_hf(path):
    """(tokenizer.json, tokenizer_config.json or {}) from a folder or a tokenizer.json path."""
    tj_path = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
    with open(tj_path, encoding="utf-8") as f:
        tj = json.load(f)
    cfg_path = os.path.join(os.path.dirname(tj_path), "tokenizer_config.json")
    cfg = {}
    if os.path.exists(cfg_path):
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    return tj, cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="folder with tokenizer.json, or the tokenizer.json itself")
    ap.add_argument("out", help="output .gguf")
    ap.add_argument("--pre", help="pre-tokenizer name (default: recognised from the regexes)")
    ap.add_argument("--name", help="general.name")
    ap.add_argument("--arch", default="llama",
                    help="general.architecture (llama.cpp refuses even a vocabulary-only file "
                         "without one; default llama)")
    args = ap.parse_args(argv)
    tj, cfg = load_hf(args.src)
    w = gguf_writer.GGUFWriter(arch=args.arch)
    w.add("general.name", args.name or os.path.basename(os.path.abspath(args.src)))
    info = add_tokenizer(w, tj, cfg, args.pre)
    tmp = args.out + ".tmp"
    w.write(tmp)
    os.replace(tmp, args.out)
    print("%s: %s vocabulary, %d tokens, %d merges, ids %s" % (
        args.out, info["model"], info["n_vocab"], info["n_merges"], info["ids"]))


if __name__ == "__main__":
    main()
