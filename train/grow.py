"""Depth growth of a llama GGUF: inserts new blocks that start as the identity, so the grown model
computes exactly what the old one did and a continued run (train.py --init-gguf, --layers N)
trains the new blocks from there. Needs numpy (Debian's python3-numpy: run it with
/usr/bin/python3 where another python3 comes first on PATH).

    /usr/bin/python3 train/grow.py IN.gguf OUT.gguf --every 3

A new block goes after every EVERY old blocks (12 blocks, --every 3: after blocks 3, 6, 9 and 12,
16 in all). It is a copy of the block before it with its two output projections (attn_output,
ffn_down) zeroed: its attention and feed-forward then add nothing to the residual stream, which is
what makes the growth function-preserving (block expansion, Wu et al. 2024, "LLaMA Pro"). The
copy's other weights give those projections non-zero gradients from the first step. Written with
IN's metadata, `llama.block_count` and `wisp.early_exit.block_count` renumbered (the exit stays
after the same old block: 6 of 12 becomes 7 of 16 with --every 3), 2-D tensors in F16 and 1-D
gains in F32, ready for `wisp quantize OUT OUT8 q8_0`.
"""
import argparse
import re
import struct
import sys

import numpy as np

from gguf_init import read_tensors
from gguf_writer import ALIGNMENT, write_like

UINT32 = 4
ZEROED = ("attn_output.weight", "ffn_down.weight")


def plan(n_old, every):
    """[(new index, old index, is_new)] for the grown stack."""
    out = []
    for i in range(n_old):
        out.append((len(out), i, False))
        if (i + 1) % every == 0:
            out.append((len(out), i, True))
    return out


def new_exit(n_exit, every):
    """Blocks the grown model runs to reach the output of old block n_exit (0 = no exit)."""
    return n_exit + (n_exit - 1) // every if n_exit else 0


def set_u32(kv_raw, key, value):
    """kv_raw with the UINT32 value of `key` replaced (the key must be there, as a UINT32)."""
    k = key.encode("utf-8")
    pat = struct.pack("<Q", len(k)) + k + struct.pack("<I", UINT32)
    at = kv_raw.find(pat)
    if at < 0:
        raise ValueError(f"{key}: not in the metadata as a uint32")
    at += len(pat)
    return kv_raw[:at] + struct.pack("<I", value) + kv_raw[at + 4:]


def grow(in_path, out_path, every):
    meta, kv_raw, tensors = read_tensors(in_path)
    if meta.get("general.architecture") != "llama":
        raise ValueError(f"{in_path}: architecture {meta.get('general.architecture')!r}, not llama")
    if meta.get("general.alignment", ALIGNMENT) != ALIGNMENT:
        raise ValueError(f"{in_path}: alignment {meta['general.alignment']} (this writer uses {ALIGNMENT})")
    n_old = meta["llama.block_count"]
    if not 1 <= every <= n_old:
        raise ValueError(f"--every must be within 1..{n_old}")
    blocks = {}
    for name, shape, x in tensors:
        m = re.match(r"blk\.(\d+)\.(.+)$", name)
        if m:
            blocks.setdefault(int(m.group(1)), []).append((m.group(2), shape, x))
    if sorted(blocks) != list(range(n_old)):
        raise ValueError(f"{in_path}: blocks {sorted(blocks)} for a block_count of {n_old}")
    for i in range(n_old):
        have = {s for s, _, _ in blocks[i]}
        missing = [z for z in ZEROED if z not in have]
        if missing:
            raise ValueError(f"{in_path}: blk.{i} has no {', '.join(missing)}")
    stack = plan(n_old, every)
    kv = set_u32(kv_raw, "llama.block_count", len(stack))
    n_exit = new_exit(meta.get("wisp.early_exit.block_count", 0), every)
    if n_exit:
        kv = set_u32(kv, "wisp.early_exit.block_count", n_exit)
    # the input's order: what comes before blk.0, the blocks, what comes after the last one
    first = next(k for k, (name, _, _) in enumerate(tensors) if name.startswith("blk."))
    ordered = tensors[:first]
    for new_i, old_i, is_new in stack:
        for suffix, shape, x in blocks[old_i]:
            ordered.append((f"blk.{new_i}.{suffix}", shape, np.zeros_like(x) if is_new and suffix in ZEROED else x))
    ordered += [t for t in tensors[first:] if not t[0].startswith("blk.")]
    write_like(in_path, out_path, kv, ordered)
    return len(stack), n_exit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--every", type=int, required=True, help="a new block after every EVERY old blocks")
    args = ap.parse_args()
    try:
        n, n_exit = grow(args.src, args.out, args.every)
    except (ValueError, OSError) as e:
        sys.exit(f"grow.py: {e}")
    print(f"{args.out}: {n} blocks" + (f", exit after block {n_exit}" if n_exit else ""))


if __name__ == "__main__":
    main()
