"""Weight averaging of two checkpoints of one run ("model soup"): out = (1 - w) * A + w * B,
tensor by tensor, written as a GGUF with A's metadata and A's tensor order (2-D tensors in F16,
1-D gains in F32), ready for `wisp quantize OUT Q8 q8_0`. A and B must have the same tensors
(names, shapes); F32, F16 and Q8_0 inputs are read (Q8_0 dequantized). Needs numpy (Debian's
python3-numpy: run it with /usr/bin/python3 where another python3 comes first on PATH).

    /usr/bin/python3 train/merge.py A.gguf B.gguf --weight 0.5 --out soup-f16.gguf

Why: a continued run that improved some languages and overfitted another (models/README.md,
"Lease 2") can be averaged with its starting point; both lie in one basin (B was trained from A),
so the average keeps most of each one's gains (Wortsman et al. 2022, "Model soups"; WiSE-FT).
"""
import argparse
import sys

import numpy as np

from gguf_init import read_tensors
from gguf_writer import ALIGNMENT, write_like



def merge(a_path, b_path, w, out_path):
    meta, kv_raw, ta = read_tensors(a_path)
    meta_b, _, tb = read_tensors(b_path)
    if meta.get("general.alignment", ALIGNMENT) != ALIGNMENT:
        raise ValueError(f"{a_path}: alignment {meta['general.alignment']} (this writer uses {ALIGNMENT})")
    for key in ("general.architecture", "llama.block_count", "llama.embedding_length"):
        if meta.get(key) != meta_b.get(key):
            raise ValueError(f"{key} differs: {meta.get(key)} in A, {meta_b.get(key)} in B")
    b = {name: (shape, x) for name, shape, x in tb}
    if set(b) != {name for name, _, _ in ta}:
        raise ValueError(f"tensor names differ: only in A {sorted({n for n, _, _ in ta} - set(b))}, "
                         f"only in B {sorted(set(b) - {n for n, _, _ in ta})}")
    out = []
    for name, shape, x in ta:
        shape_b, y = b[name]
        if tuple(shape) != tuple(shape_b):
            raise ValueError(f"{name}: shape {shape} in A, {shape_b} in B")
        out.append((name, shape, ((1.0 - w) * x + w * y).astype(np.float32)))
    write_like(a_path, out_path, kv_raw, out)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--weight", type=float, required=True, help="B's share, 0..1")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not 0.0 <= args.weight <= 1.0:
        sys.exit("merge.py: --weight must be within 0..1")
    merge(args.a, args.b, args.weight, args.out)


if __name__ == "__main__":
    main()
