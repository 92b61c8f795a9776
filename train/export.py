"""Stage 6 (GPU machine, needs torch): write a trained run as GGUF (llama architecture, F16 or
F32 matrices, F32 norms, tied embedding so no output.weight) with the byte-level BPE tokenizer
and the FIM token ids under the keys wisp, llama.cpp and wllama read; and measure PyTorch's
perplexity on a fixed validation text, for comparison with `wisp perplexity`.

    python3 train/export.py --run /tmp/wisp/runs/m25 --tokenizer /tmp/wisp/tokenizer.json \
        --out /tmp/wisp/out/wisp-m25-f16.gguf --type f16 --ppl-text train/eval/ppl_text.txt

Perplexity protocol (`--ppl-text`): the text tokenized with no special tokens and no BOS, cut
into consecutive windows of `--ppl-ctx` tokens (1024); each window is evaluated on its own and
every token but its first is scored; ppl = exp(mean negative log-likelihood), computed in
float32 with the weights as stored in the GGUF (rounded to F16 for an F16 export). Written
beside it, under `lead_file_sep`: each window the `<|file_sep|>` token (unscored) then
`--ppl-ctx` - 1 text tokens, all scored, as every prompt and training document starts (`wisp
perplexity --lead file_sep`; `train/ppl_torch.py` gives the same figure from a GGUF on a CPU).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402
from model import Config, Model  # noqa: E402

SPECIAL_KEYS = {"<|endoftext|>": ["bos", "eos", "eot"], "<|fim_prefix|>": ["fim_pre"],
                "<|fim_suffix|>": ["fim_suf"], "<|fim_middle|>": ["fim_mid"], "<|fim_pad|>": ["fim_pad", "padding"],
                "<|repo_name|>": ["fim_rep"], "<|file_sep|>": ["fim_sep"]}


def permute_qk(w, n_head):
    """HF rotate_half row order -> llama.cpp's interleaved pairs, as convert_hf_to_gguf.py does."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tokenizer_keys(w, tok_path):
    """Adds the tokenizer.ggml.* keys of a HF byte-level BPE tokenizer.json."""
    tj = json.load(open(tok_path, encoding="utf-8"))
    vocab = dict(tj["model"]["vocab"])
    special = {}
    for t in tj["added_tokens"]:
        vocab[t["content"]] = t["id"]
        if t.get("special"):
            special[t["content"]] = t["id"]
    n = max(vocab.values()) + 1
    tokens = [None] * n
    for s, i in vocab.items():
        tokens[i] = s
    if any(t is None for t in tokens):
        raise ValueError("tokenizer ids are not contiguous")
    types = [3 if t in special else 1 for t in tokens]   # 3 = control, 1 = normal
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w.add("tokenizer.ggml.model", "gpt2")
    w.add("tokenizer.ggml.pre", "qwen2")
    w.add("tokenizer.ggml.tokens", tokens)
    w.add("tokenizer.ggml.token_type", types, elem_type=gw.INT32)
    w.add("tokenizer.ggml.merges", merges)
    for text, keys in SPECIAL_KEYS.items():
        for k in keys:
            w.add(f"tokenizer.ggml.{k}_token_id", special[text], gw.UINT32)
    w.add("tokenizer.ggml.add_bos_token", False)
    w.add("tokenizer.ggml.add_eos_token", False)
    return n


def to_type(t, dtype):
    """(bytes, ggml type) of a float tensor in F16 or F32."""
    a = t.detach().float().cpu().numpy()
    if dtype == "f16":
        return a.astype(np.float16).tobytes(), gw.F16
    return a.astype(np.float32).tobytes(), gw.F32


def export(run, tok_path, out_path, dtype, name, weights="model.pt"):
    ck = torch.load(os.path.join(run, weights), map_location="cpu")
    c = Config(**ck["config"])
    sd = ck["model"]
    w = gw.GGUFWriter(arch="llama")
    w.add("general.name", name)
    w.add("general.license", "MIT")
    w.add("general.description", "wisp-default: small FIM code model (Python, JS, TS, C) trained by the wisp project")
    w.add("general.file_type", 1 if dtype == "f16" else 0, gw.UINT32)
    w.add("llama.context_length", c.ctx, gw.UINT32)
    w.add("llama.embedding_length", c.dim, gw.UINT32)
    w.add("llama.block_count", c.n_layers, gw.UINT32)
    w.add("llama.feed_forward_length", c.ffn, gw.UINT32)
    w.add("llama.attention.head_count", c.n_heads, gw.UINT32)
    w.add("llama.attention.head_count_kv", c.kv_heads(), gw.UINT32)
    if c.exit_layer:   # early exit: the first N blocks + output_norm + the tied head already answer
        w.add("wisp.early_exit.block_count", c.exit_layer, gw.UINT32)
    w.add("llama.rope.dimension_count", c.dim // c.n_heads, gw.UINT32)
    w.add("llama.rope.freq_base", float(c.rope_theta), gw.FLOAT32)
    w.add("llama.attention.layer_norm_rms_epsilon", float(c.norm_eps), gw.FLOAT32)
    w.add("llama.vocab_size", c.vocab, gw.UINT32)
    n_tok = tokenizer_keys(w, tok_path)
    if n_tok != c.vocab:
        raise ValueError(f"tokenizer has {n_tok} tokens, model {c.vocab}")

    def mat(gname, t):
        data, ty = to_type(t, dtype)
        w.add_tensor(gname, data, shape=tuple(reversed(t.shape)), dtype=ty)

    def vec(gname, t):
        w.add_tensor(gname, t.float().numpy().astype(np.float32).tobytes(), shape=(t.shape[0],), dtype=gw.F32)

    mat("token_embd.weight", sd["tok_emb.weight"])
    for i in range(c.n_layers):
        p = f"layers.{i}."
        vec(f"blk.{i}.attn_norm.weight", sd[p + "attn_norm.weight"])
        mat(f"blk.{i}.attn_q.weight", permute_qk(sd[p + "attn.wq.weight"], c.n_heads))
        mat(f"blk.{i}.attn_k.weight", permute_qk(sd[p + "attn.wk.weight"], c.kv_heads()))
        mat(f"blk.{i}.attn_v.weight", sd[p + "attn.wv.weight"])
        mat(f"blk.{i}.attn_output.weight", sd[p + "attn.wo.weight"])
        vec(f"blk.{i}.ffn_norm.weight", sd[p + "ffn_norm.weight"])
        mat(f"blk.{i}.ffn_gate.weight", sd[p + "ffn.w1.weight"])
        mat(f"blk.{i}.ffn_up.weight", sd[p + "ffn.w3.weight"])
        mat(f"blk.{i}.ffn_down.weight", sd[p + "ffn.w2.weight"])
    vec("output_norm.weight", sd["norm.weight"])
    w.write(out_path)
    return c, sd


@torch.no_grad()
def perplexity(c, sd, dtype, tok_path, text, n_ctx, lead=None):
    """PyTorch perplexity of the text under the protocol in this file's docstring (lead: the text
    of the token put before each window, or None)."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tok_path)
    lead_id = tok.token_to_id(lead) if lead is not None else None
    return perplexity_ids(c, sd, dtype, tok.encode(text, add_special_tokens=False).ids, n_ctx, lead_id)


def perplexity_ids(c, sd, dtype, ids, n_ctx, lead=None):
    """The same on token ids (lead: an id, or None)."""
    model = Model(c)
    sd = {k: (v.half().float() if dtype == "f16" and v.dim() == 2 else v.float()) for k, v in sd.items()}
    model.load_state_dict(sd)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(dev).eval()
    torch.backends.cuda.matmul.allow_tf32 = False
    nll, n = 0.0, 0
    step = n_ctx - 1 if lead is not None else n_ctx
    with torch.no_grad():
        for s in range(0, len(ids) if lead is not None else len(ids) - 1, step):
            win = ([lead] if lead is not None else []) + ids[s:s + step]
            win = torch.tensor(win, device=dev)[None]
            if win.shape[1] < 2:
                break
            logits = model(win).float()
            lp = torch.log_softmax(logits[0, :-1], -1)
            nll -= lp.gather(1, win[0, 1:, None]).sum().item()
            n += win.shape[1] - 1
    r = {"tokens": len(ids), "scored": n, "ppl": math.exp(nll / n), "n_ctx": n_ctx}
    if lead is not None:
        r["lead"] = lead
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", choices=("f16", "f32"), default="f16")
    ap.add_argument("--name", default="wisp-default")
    ap.add_argument("--weights", default="model.pt", help="file in --run: model.pt (final) or stable.pt (before the cool-down)")
    ap.add_argument("--ppl-text")
    ap.add_argument("--ppl-ctx", type=int, default=1024)
    args = ap.parse_args()
    c, sd = export(args.run, args.tokenizer, args.out, args.type, args.name, args.weights)
    print(f"wrote {args.out}: {os.path.getsize(args.out) / 1e6:.1f} MB, {c.n_params() / 1e6:.2f}M params")
    if args.ppl_text:
        text = open(args.ppl_text, encoding="utf-8").read()
        r = perplexity(c, sd, args.type, args.tokenizer, text, args.ppl_ctx)
        r.update({"model": os.path.basename(args.out), "type": args.type})
        # the same with each window led by <|file_sep|> (wisp perplexity --lead file_sep)
        r["lead_file_sep"] = perplexity(c, sd, args.type, args.tokenizer, text, args.ppl_ctx, lead="<|file_sep|>")
        with open(args.out + ".ppl.json", "w") as f:
            json.dump(r, f, indent=1)
        print("pytorch perplexity:", json.dumps(r))


if __name__ == "__main__":
    main()
