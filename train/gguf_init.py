"""Reads a wisp-default GGUF (F32, F16 or Q8_0 weights) back into the PyTorch state dict of
train/model.py, so a later lease can continue training from a shipped or exported file (the
inverse of export.py: ggml shapes reversed, q/k rows permuted back to the HF rotate_half order,
Q8_0 blocks dequantized). Needs numpy for the tensors; the metadata alone (read_header) is
standard library.

    cfg, state = load("wisp-m25-q8_0.gguf")
"""
import struct

F32, F16, Q8_0 = 0, 1, 8
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class _Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n].decode("utf-8", "replace")
        self.p += n
        return s

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            if et == 8:
                return [self.string() for _ in range(n)]
            fmt = _SCALAR[et]
            size = struct.calcsize(fmt)
            out = list(struct.unpack_from("<%d%s" % (n, fmt[1]), self.d, self.p))
            self.p += n * size
            return out
        return self.take(_SCALAR[t])


def read_header(data, name="GGUF data"):
    """(metadata dict, tensor count, reader positioned just after the key/value section)."""
    r = _Reader(data)
    if r.take("<4s") != b"GGUF":
        raise ValueError(f"{name}: not a GGUF file")
    _version, n_t, n_kv = r.take("<IQQ")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("<I"))
    return meta, n_t, r


def read_tensors(path):
    """(metadata dict, metadata section's raw bytes, [(name, ggml shape, flat float32 numpy array)]
    in the file's order) of a GGUF file; F32, F16 and Q8_0 tensors (Q8_0 dequantized)."""
    import numpy as np
    data = open(path, "rb").read()
    meta, n_t, r = read_header(data, path)
    kv_raw = data[24:r.p]
    infos = []
    for _ in range(n_t):
        name = r.string()
        nd = r.take("<I")
        shape = struct.unpack_from("<%dQ" % nd, data, r.p)
        r.p += 8 * nd
        ty, off = r.take("<IQ")
        infos.append((name, shape, ty, off))
    align = meta.get("general.alignment", 32)
    base = (r.p + align - 1) // align * align
    out = []
    for name, shape, ty, off in infos:
        n = int(np.prod(shape))
        at = base + off
        if ty == F32:
            a = np.frombuffer(data, np.float32, n, at)
        elif ty == F16:
            a = np.frombuffer(data, np.float16, n, at).astype(np.float32)
        elif ty == Q8_0:
            blocks = np.frombuffer(data, np.uint8, n // 32 * 34, at).reshape(-1, 34)
            d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
            q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
            a = (q * d).reshape(-1)
        else:
            raise ValueError(f"{name}: tensor type {ty} not supported here")
        out.append((name, shape, a))
    return meta, kv_raw, out


def read(path, tensors=True):
    """(metadata dict, {name: float32 numpy array in PyTorch shape}) of a GGUF file
    (tensors=False: the metadata and an empty dict)."""
    if not tensors:
        return read_header(open(path, "rb").read(), path)[0], {}
    meta, _, ts = read_tensors(path)
    return meta, {name: a.reshape(tuple(reversed(shape))).copy() for name, shape, a in ts}


def unpermute_qk(w, n_head):
    """llama.cpp's interleaved-pair rows -> HF rotate_half order (inverse of export.permute_qk)."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def load(path):
    """(Config kwargs, state dict of numpy arrays keyed as train/model.py names them)."""
    meta, t = read(path)
    a = "llama."
    cfg = {"vocab": meta[a + "vocab_size"], "dim": meta[a + "embedding_length"], "n_layers": meta[a + "block_count"],
           "n_heads": meta[a + "attention.head_count"], "ffn": meta[a + "feed_forward_length"],
           "ctx": meta[a + "context_length"], "rope_theta": meta[a + "rope.freq_base"],
           "norm_eps": meta[a + "attention.layer_norm_rms_epsilon"],
           "n_kv_heads": meta.get(a + "attention.head_count_kv", meta[a + "attention.head_count"]),
           "exit_layer": meta.get("wisp.early_exit.block_count", 0)}
    h, hkv = cfg["n_heads"], cfg["n_kv_heads"]
    sd = {"tok_emb.weight": t["token_embd.weight"], "norm.weight": t["output_norm.weight"]}
    for i in range(cfg["n_layers"]):
        b, p = f"blk.{i}.", f"layers.{i}."
        sd[p + "attn_norm.weight"] = t[b + "attn_norm.weight"]
        sd[p + "attn.wq.weight"] = unpermute_qk(t[b + "attn_q.weight"], h)
        sd[p + "attn.wk.weight"] = unpermute_qk(t[b + "attn_k.weight"], hkv)
        sd[p + "attn.wv.weight"] = t[b + "attn_v.weight"]
        sd[p + "attn.wo.weight"] = t[b + "attn_output.weight"]
        sd[p + "ffn_norm.weight"] = t[b + "ffn_norm.weight"]
        sd[p + "ffn.w1.weight"] = t[b + "ffn_gate.weight"]
        sd[p + "ffn.w3.weight"] = t[b + "ffn_up.weight"]
        sd[p + "ffn.w2.weight"] = t[b + "ffn_down.weight"]
    return cfg, sd
