"""Writes a GGUF's header and key/value section alone (zero tensors): the tokenizer and
hyper-parameters of a model in ~0.5 MB, for the GPU machine, where train/tokenizer_from_gguf.py
rebuilds the tokenizer from it. Standard library only.

    python3 train/gguf_meta.py models/wisp-default.gguf .carry/wisp2/tokenizer-meta.gguf
"""
import struct
import sys

_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def meta_only(data):
    if data[:4] != b"GGUF":
        raise ValueError("not a GGUF file")
    _n_t, n_kv = struct.unpack_from("<QQ", data, 8)
    p = 24

    def skip_string(p):
        return p + 8 + struct.unpack_from("<Q", data, p)[0]

    def skip_value(t, p):
        if t == 8:
            return skip_string(p)
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, p)
            p += 12
            if et == 8:
                for _ in range(n):
                    p = skip_string(p)
                return p
            return p + n * _SIZE[et]
        return p + _SIZE[t]

    for _ in range(n_kv):
        p = skip_string(p)
        t = struct.unpack_from("<I", data, p)[0]
        p = skip_value(t, p + 4)
    return data[:8] + struct.pack("<QQ", 0, n_kv) + data[24:p]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gguf_meta.py IN.gguf OUT.gguf")
    out = meta_only(open(sys.argv[1], "rb").read())
    open(sys.argv[2], "wb").write(out)
    print(f"{sys.argv[2]}: {len(out)} bytes")
