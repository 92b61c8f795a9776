#!/usr/bin/env python3
"""Hugging Face llama / qwen2 checkpoint -> GGUF, with our own writer (train/gguf_writer.py).

    python3 train/convert_hf.py HF_DIR OUT.gguf [--type f32|f16]
                                 [--vocab-gguf V.gguf | --byte-vocab]

HF_DIR holds config.json and model.safetensors (or model-*.safetensors shards). The output uses
llama.cpp's tensor names and keys, so the same file loads in wisp and in llama.cpp:

  * `llama`: the q and k rows are permuted exactly as llama.cpp's convert_hf_to_gguf.py does
    (LlamaModel.permute), because llama.cpp's `llama` graph rotates ADJACENT pairs
    (x[2i], x[2i+1]) while HF rotates halves (x[i], x[i + d/2]). k uses n_head_kv.
  * `qwen2`: no permutation (llama.cpp runs qwen2 with NEOX rope), q/k/v biases kept.
  * `--type f16` stores 2-D weights as F16 and keeps norms and biases F32 (as llama.cpp does).
  * tied embeddings (`tie_word_embeddings`) => no output.weight tensor.

The tokenizer: `--tokenizer` (by default HF_DIR/tokenizer.json when it exists) converts a HF
tokenizer.json with train/tokenizer_to_gguf.py, padded to the model's vocab_size with unused
tokens as llama.cpp does; `--vocab-gguf` copies every `tokenizer.*` key from another GGUF;
`--byte-vocab` (the default when there is no tokenizer) writes a minimal byte-level BPE vocabulary of exactly the model's vocab_size:
256 byte tokens, two-byte merges of common characters (or, with --no-merges, unused
placeholders), then <|endoftext|> and the three FIM tokens as control tokens. That is enough for random-weight test models to load and decode.

Standard library only (numpy is used for F16/BF16 conversion when it is importable), so it runs
both on the GPU machine and on the development machine.
"""
import argparse
import json
import os
import struct
import sys
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402

try:  # optional: only makes the F16/BF16 conversions faster
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

ST_DTYPES = {"F32": 4, "F16": 2, "BF16": 2}


# --------------------------------------------------------------------------------------------
# safetensors: an 8-byte header length, a JSON header, then raw little-endian tensor bytes.

def read_safetensors(path):
    """Returns {name: (dtype, shape, bytes)} for every tensor of one safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in ST_DTYPES:
            raise SystemExit(f"{path}: tensor {name}: dtype {dtype} not supported (F32/F16/BF16)")
        a, b = info["data_offsets"]
        out[name] = (dtype, tuple(info["shape"]), blob[base + a:base + b])
    return out


def read_checkpoint(hf_dir):
    files = sorted(f for f in os.listdir(hf_dir) if f.endswith(".safetensors"))
    if not files:
        raise SystemExit(f"{hf_dir}: no .safetensors file (save with safe_serialization=True)")
    tensors = {}
    for f in files:
        tensors.update(read_safetensors(os.path.join(hf_dir, f)))
    return tensors


def to_f32_bytes(dtype, raw):
    """Raw safetensors bytes of one tensor -> little-endian float32 bytes."""
    if dtype == "F32":
        return raw
    if np is not None:
        if dtype == "F16":
            return np.frombuffer(raw, dtype="<f2").astype("<f4").tobytes()
        u = np.frombuffer(raw, dtype="<u2").astype("<u4") << 16
        return u.tobytes()
    n = len(raw) // 2
    if dtype == "F16":
        return array("f", struct.unpack("<%de" % n, raw)).tobytes()
    u = array("I", (v << 16 for v in struct.unpack("<%dH" % n, raw)))
    return u.tobytes()


def f32_to_f16_bytes(raw):
    if np is not None:
        return np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes()
    n = len(raw) // 4
    return struct.pack("<%de" % n, *struct.unpack("<%df" % n, raw))


def permute_rows(raw, n_rows, n_head):
    """llama.cpp's LlamaModel.permute on row-major f32 bytes of a (n_rows, cols) weight or a
    (n_rows,) bias: w.reshape(n_head, 2, n_rows/n_head/2, cols).swapaxes(1, 2). Row
    h*hd + s*(hd/2) + i of the HF tensor becomes row h*hd + 2*i + s."""
    row_bytes = len(raw) // n_rows
    hd = n_rows // n_head
    half = hd // 2
    out = []
    for h in range(n_head):
        for i in range(half):
            for s in range(2):
                r = h * hd + s * half + i
                out.append(raw[r * row_bytes:(r + 1) * row_bytes])
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Tokenizer keys.

def byte_to_unicode():
    """GPT-2's reversible byte -> printable character table (the byte-level BPE alphabet)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_VOCAB_SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]


def add_byte_vocab(w, n_vocab, merges_on=True):
    """A minimal byte-level BPE vocabulary of exactly n_vocab tokens (see the module doc). With
    merges_on=False the ids between the bytes and the control tokens are unused placeholders and
    there are no merges: every text tokenizes to one id per byte (for byte-level models)."""
    n_special = len(BYTE_VOCAB_SPECIALS)
    n_merges = n_vocab - 256 - n_special
    if n_merges < 0:
        raise SystemExit(f"vocab_size {n_vocab} is too small for a byte vocabulary (>= {256 + n_special})")
    u = byte_to_unicode()
    tokens = [u[b] for b in range(256)]
    types = [1] * 256
    merges = []
    chars = " etaoinsrhldcum=(){}:_.,"
    if not merges_on:
        tokens += [f"<|unused_{i}|>" for i in range(n_merges)]
        types += [5] * n_merges  # UNUSED: never produced by tokenization
        n_merges = 0
    for a in chars:
        for b in chars:
            if len(merges) == n_merges:
                break
            ua, ub = u[ord(a)], u[ord(b)]
            merges.append(f"{ua} {ub}")
            tokens.append(ua + ub)
            types.append(1)
    if len(merges) < n_merges:
        raise SystemExit(f"vocab_size {n_vocab} is too large for the built-in byte vocabulary")
    first_special = len(tokens)
    tokens += BYTE_VOCAB_SPECIALS
    types += [3] * n_special
    w.add("tokenizer.ggml.model", "gpt2")
    w.add("tokenizer.ggml.pre", "gpt-2")
    w.add("tokenizer.ggml.tokens", tokens)
    w.add("tokenizer.ggml.token_type", types, gw.ARRAY, gw.INT32)
    w.add("tokenizer.ggml.merges", merges, gw.ARRAY, gw.STRING)
    w.add("tokenizer.ggml.eos_token_id", first_special)
    w.add("tokenizer.ggml.fim_pre_token_id", first_special + 1)
    w.add("tokenizer.ggml.fim_suf_token_id", first_special + 2)
    w.add("tokenizer.ggml.fim_mid_token_id", first_special + 3)
    w.add("tokenizer.ggml.add_bos_token", False)


def _skip_value(blob, p, vtype):
    """Offset just past one GGUF value of type vtype starting at p."""
    if vtype == gw.STRING:
        (n,) = struct.unpack_from("<Q", blob, p)
        return p + 8 + n
    if vtype == gw.ARRAY:
        et, n = struct.unpack_from("<IQ", blob, p)
        p += 12
        if et == gw.STRING:
            for _ in range(n):
                p = _skip_value(blob, p, gw.STRING)
            return p
        return p + n * struct.calcsize(gw._FMT[et])
    return p + struct.calcsize(gw._FMT[vtype])


def copy_vocab_keys(w, path):
    """Copies every tokenizer.* key of the GGUF at `path` into the writer, bytes unchanged."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] != gw.GGUF_MAGIC:
        raise SystemExit(f"{path}: not a GGUF file")
    _, _, n_kv = struct.unpack_from("<IQQ", blob, 4)
    p = 24
    n = 0
    for _ in range(n_kv):
        (klen,) = struct.unpack_from("<Q", blob, p)
        key = blob[p + 8:p + 8 + klen].decode("utf-8")
        p += 8 + klen
        (vtype,) = struct.unpack_from("<I", blob, p)
        p += 4
        end = _skip_value(blob, p, vtype)
        if key.startswith("tokenizer."):
            w.kv.append((key, vtype, blob[p:end]))
            n += 1
        p = end
    if n == 0:
        raise SystemExit(f"{path}: no tokenizer.* keys")


class _Collect:
    """Stands in for a GGUFWriter to catch the keys tokenizer_to_gguf.add_tokenizer writes."""

    def __init__(self):
        self.items = []

    def add(self, key, value, vtype=None, elem_type=None):
        self.items.append([key, value, vtype, elem_type])


def add_hf_tokenizer(w, path, n_vocab):
    """tokenizer.* keys from a HF tokenizer.json (a folder or the file) through
    train/tokenizer_to_gguf.py, padded to the model's n_vocab with unused "[PAD<id>]" tokens as
    llama.cpp's converter does (checkpoints often have more embedding rows than tokens)."""
    import tokenizer_to_gguf as t2g
    tj, cfg = t2g.load_hf(path)
    c = _Collect()
    t2g.add_tokenizer(c, tj, cfg)
    kv = {item[0]: item for item in c.items}
    tokens = kv["tokenizer.ggml.tokens"][1]
    if len(tokens) > n_vocab:
        raise SystemExit(f"{path}: {len(tokens)} tokens but the model has only {n_vocab} embedding rows")
    pad = n_vocab - len(tokens)
    if pad:
        tokens.extend(f"[PAD{i}]" for i in range(len(tokens), n_vocab))
        kv["tokenizer.ggml.token_type"][1].extend([5] * pad)  # UNUSED
        if "tokenizer.ggml.scores" in kv:
            kv["tokenizer.ggml.scores"][1].extend([0.0] * pad)
    for key, value, vtype, elem_type in c.items:
        w.add(key, value, vtype, elem_type)


# --------------------------------------------------------------------------------------------

ARCHS = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}


def convert(hf_dir, out_path, out_type="f32", vocab_gguf=None, name=None, merges=True, tokenizer=None):
    with open(os.path.join(hf_dir, "config.json")) as f:
        cfg = json.load(f)
    hf_arch = (cfg.get("architectures") or ["?"])[0]
    arch = ARCHS.get(hf_arch)
    if arch is None:
        raise SystemExit(f"{hf_dir}: architecture {hf_arch} not supported (llama, qwen2)")
    n_embd = cfg["hidden_size"]
    n_head = cfg["num_attention_heads"]
    n_head_kv = cfg.get("num_key_value_heads") or n_head
    head_dim = cfg.get("head_dim") or n_embd // n_head
    n_layer = cfg["num_hidden_layers"]
    n_vocab = cfg["vocab_size"]
    tied = bool(cfg.get("tie_word_embeddings", arch == "qwen2"))
    # transformers >= 5 writes rope settings under "rope_parameters"; older ones at the top level
    rope = cfg.get("rope_parameters") or {}
    rope_theta = float(rope.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    scaling = cfg.get("rope_scaling") or (rope if rope.get("rope_type", "default") != "default" else None)
    if scaling:
        raise SystemExit(f"{hf_dir}: rope scaling {scaling} is not supported")

    w = gw.GGUFWriter(arch=arch)
    w.add("general.name", name or os.path.basename(os.path.normpath(hf_dir)))
    w.add("general.file_type", 0 if out_type == "f32" else 1)
    w.add(f"{arch}.context_length", cfg.get("max_position_embeddings", 2048))
    w.add(f"{arch}.embedding_length", n_embd)
    w.add(f"{arch}.block_count", n_layer)
    w.add(f"{arch}.feed_forward_length", cfg["intermediate_size"])
    w.add(f"{arch}.attention.head_count", n_head)
    w.add(f"{arch}.attention.head_count_kv", n_head_kv)
    w.add(f"{arch}.rope.freq_base", rope_theta)
    w.add(f"{arch}.rope.dimension_count", head_dim)
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", float(cfg.get("rms_norm_eps", 1e-6)))
    if head_dim != n_embd // n_head:
        w.add(f"{arch}.attention.key_length", head_dim)
        w.add(f"{arch}.attention.value_length", head_dim)
    w.add(f"{arch}.vocab_size", n_vocab)
    if vocab_gguf:
        copy_vocab_keys(w, vocab_gguf)
    elif tokenizer:
        add_hf_tokenizer(w, tokenizer, n_vocab)
    else:
        add_byte_vocab(w, n_vocab, merges)

    src = read_checkpoint(hf_dir)
    used = set()

    def put(gguf_name, hf_name, permute_heads=None):
        if hf_name not in src:
            raise SystemExit(f"{hf_dir}: tensor {hf_name} missing")
        used.add(hf_name)
        dtype, shape, raw = src[hf_name]
        data = to_f32_bytes(dtype, raw)
        if permute_heads:
            data = permute_rows(data, shape[0], permute_heads)
        ggml_shape = tuple(reversed(shape))
        if out_type == "f16" and len(shape) == 2:
            w.add_tensor(gguf_name, f32_to_f16_bytes(data), ggml_shape, gw.F16)
        else:
            w.add_tensor(gguf_name, data, ggml_shape, gw.F32)

    put("token_embd.weight", "model.embed_tokens.weight")
    for i in range(n_layer):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        put(b + "attn_norm.weight", p + "input_layernorm.weight")
        perm_q = n_head if arch == "llama" else None
        perm_k = n_head_kv if arch == "llama" else None
        put(b + "attn_q.weight", p + "self_attn.q_proj.weight", perm_q)
        put(b + "attn_k.weight", p + "self_attn.k_proj.weight", perm_k)
        put(b + "attn_v.weight", p + "self_attn.v_proj.weight")
        for t in ("q", "k", "v"):
            hf = p + f"self_attn.{t}_proj.bias"
            if hf in src:
                if arch == "llama":
                    raise SystemExit(f"{hf_dir}: {hf}: llama with attention bias is not supported")
                put(b + f"attn_{t}.bias", hf)
        put(b + "attn_output.weight", p + "self_attn.o_proj.weight")
        put(b + "ffn_norm.weight", p + "post_attention_layernorm.weight")
        put(b + "ffn_gate.weight", p + "mlp.gate_proj.weight")
        put(b + "ffn_up.weight", p + "mlp.up_proj.weight")
        put(b + "ffn_down.weight", p + "mlp.down_proj.weight")
    put("output_norm.weight", "model.norm.weight")
    if not tied:
        put("output.weight", "lm_head.weight")
    else:
        used.add("lm_head.weight")
    left = sorted(set(src) - used)
    if left:
        raise SystemExit(f"{hf_dir}: tensors not converted: {', '.join(left[:5])}")
    w.write(out_path)
    return arch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("hf_dir")
    ap.add_argument("out")
    ap.add_argument("--type", choices=("f32", "f16"), default="f32")
    ap.add_argument("--vocab-gguf", help="copy tokenizer.* keys from this GGUF")
    ap.add_argument("--tokenizer", help="tokenizer.json (or its folder) to convert with "
                    "train/tokenizer_to_gguf.py; default: HF_DIR/tokenizer.json when present")
    ap.add_argument("--byte-vocab", action="store_true",
                    help="minimal byte-level vocabulary (the default without a tokenizer.json)")
    ap.add_argument("--no-merges", action="store_true",
                    help="with the byte vocabulary: no merges, one id per byte (byte-level models)")
    ap.add_argument("--name", help="general.name (default: the directory name)")
    a = ap.parse_args()
    if sum(bool(x) for x in (a.vocab_gguf, a.byte_vocab, a.tokenizer)) > 1:
        ap.error("--vocab-gguf, --tokenizer and --byte-vocab exclude each other")
    tokenizer = a.tokenizer
    if not (tokenizer or a.vocab_gguf or a.byte_vocab) and os.path.exists(os.path.join(a.hf_dir, "tokenizer.json")):
        tokenizer = a.hf_dir
    if a.vocab_gguf and a.no_merges:
        ap.error("--no-merges only applies to the byte vocabulary")
    arch = convert(a.hf_dir, a.out, a.type, a.vocab_gguf, a.name, not a.no_merges, tokenizer)
    print(f"{a.out}: {arch}, {os.path.getsize(a.out)} bytes")


if __name__ == "__main__":
    main()
