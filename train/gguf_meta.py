"""Writes a GGUF's header and key/value section alone (zero tensors): the tokenizer and
hyper-parameters of a model in ~0.5 MB, for the GPU machine, where train/tokenizer_from_gguf.py
rebuilds the tokenizer from it. Standard library only.

    python3 train/gguf_meta.py models/wisp-default.gguf .carry/wisp2/tokenizer-meta.gguf
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_init import read_header  # noqa: E402


def meta_only(data):
    meta, _n_t, r = read_header(data)
    return data[:8] + struct.pack("<QQ", 0, len(meta)) + data[24:r.p]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gguf_meta.py IN.gguf OUT.gguf")
    out = meta_only(open(sys.argv[1], "rb").read())
    open(sys.argv[2], "wb").write(out)
    print(f"{sys.argv[2]}: {len(out)} bytes")
