"""PyTorch perplexity of a GGUF model's weights on a text, on a CPU: the reference figure of
`tests/test_model_default.c` (models/wisp-default.ppl) when the GPU machine's export did not
write it. The weights are read back from the GGUF (train/gguf_init.py; an F16 file gives exactly
the exported weights) and run through train/model.py under train/export.py's protocol; the text's
token ids come from `wisp tokenize` (the same ids as the training tokenizer's: the vectors of
`tests/test_model_default.c` check that), so that no `tokenizers` package is needed here.

    /usr/bin/python3 train/ppl_torch.py MODEL.gguf train/eval/ppl_text.txt [--lead file_sep] [--ctx 1024]
"""
import argparse
import json
import os
import re
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_init  # noqa: E402
from export import perplexity_ids  # noqa: E402
from model import Config  # noqa: E402


def wisp_ids(wisp, model, text):
    """Token ids of `text` (no special tokens parsed) from `wisp tokenize`, one "ID "PIECE"" a line."""
    out = subprocess.run([wisp, "tokenize", model, text], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    ids = [int(m.group(1)) for m in (re.match(r"\s*(\d+) \"", ln) for ln in out.splitlines()) if m]
    summary = re.search(r"(\d+) tokens from (\d+) bytes", out)
    if not summary or int(summary.group(1)) != len(ids):
        sys.exit(f"ppl_torch.py: could not read {wisp} tokenize's output")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("text")
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--lead", choices=("file_sep",), help="each window led by the model's <|file_sep|> token")
    ap.add_argument("--wisp", default="build/wisp")
    args = ap.parse_args()
    meta, _ = gguf_init.read(args.model, tensors=False)
    cfg, sd = gguf_init.load(args.model)
    lead = meta.get("tokenizer.ggml.fim_sep_token_id") if args.lead else None
    if args.lead and lead is None:
        sys.exit(f"ppl_torch.py: {args.model} names no file separator token")
    ids = wisp_ids(args.wisp, args.model, open(args.text, encoding="utf-8").read())
    c = Config(**cfg)
    r = perplexity_ids(c, {k: torch.tensor(v) for k, v in sd.items()}, "f32", ids, args.ctx, lead)
    r.update({"model": os.path.basename(args.model), "text": args.text})
    print(json.dumps(r))


if __name__ == "__main__":
    main()
