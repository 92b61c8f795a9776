"""Stage 5 (GPU machine): train one size of wisp-default for a fixed wall time, resumable.

    python3 train/train.py --name m25 --dim 384 --layers 12 --heads 6 --ffn 1024 \
        --data /tmp/wisp/tok --out /tmp/wisp/runs/m25 --minutes 12

The whole token stream lives on the GPU (int32); each step takes `batch` windows of ctx+1
tokens that start at random document starts (so every FIM document is seen from its path
header). The learning-rate schedule runs on wall time (warm-up by steps, cosine decay to 10%
over `minutes`), so several sizes trained side by side on one GPU all finish together.
Checkpoints (weights, optimiser, step, elapsed seconds) go to OUT/ckpt.pt every 2 minutes and at
the end; a rerun with the same OUT resumes. Logs: OUT/log.jsonl (step, loss, tokens/s, lr).
At the end: OUT/model.pt (weights + config) and OUT/result.json (validation loss per language).
"""
import argparse
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, Model  # noqa: E402

LANGS = ("python", "javascript", "typescript", "c")


def load_stream(path, device):
    """(tokens int32 on device, valid window starts int64 on device) of one prepared stream."""
    toks = np.fromfile(path + ".bin", dtype=np.uint16)
    idx = np.load(path + ".idx.npy")
    return torch.from_numpy(toks.astype(np.int32)).to(device), torch.from_numpy(idx).to(device)


class Sampler:
    """Picks document starts: uniformly over documents, or, with per-language weights, first a
    language by weight and then a document of it uniformly (to rebalance a corpus that is mostly
    Python)."""

    def __init__(self, starts, doc_langs=None, weights=None):
        self.starts = starts
        self.weights = None
        if weights and doc_langs is not None:
            order = torch.argsort(doc_langs, stable=True)
            self.sorted = starts[order]
            sizes = torch.bincount(doc_langs.long(), minlength=len(LANGS))
            self.offs = torch.cumsum(sizes, 0) - sizes
            self.sizes = sizes
            w = torch.tensor([weights.get(lg, 0.0) if sizes[i] > 0 else 0.0 for i, lg in enumerate(LANGS)])
            self.weights = (w / w.sum()).to(starts.device)

    def pick(self, n, gen):
        if self.weights is None:
            return self.starts[torch.randint(len(self.starts), (n,), device=self.starts.device, generator=gen)]
        lg = torch.multinomial(self.weights, n, replacement=True, generator=gen)
        u = torch.rand(n, device=self.starts.device, generator=gen)
        idx = self.offs[lg] + (u * self.sizes[lg]).long()
        idx = torch.minimum(idx, self.offs[lg] + self.sizes[lg] - 1)
        return self.sorted[idx]


def batch_of(toks, sampler, n, ctx, gen):
    """n windows of ctx+1 tokens at random document starts (clamped to fit)."""
    pick = sampler.pick(n, gen)
    pick = torch.clamp(pick, max=len(toks) - ctx - 1)
    win = toks[pick[:, None] + torch.arange(ctx + 1, device=toks.device)].long()
    return win[:, :-1], win[:, 1:]


@torch.no_grad()
def evaluate(model, data_dir, ctx, device, n_windows=128, batch=16):
    """Mean token cross-entropy per language over the first n_windows documents of each
    validation stream (window = ctx+1 tokens from the document's start): deterministic."""
    model.eval()
    out = {}
    for lg in LANGS:
        p = os.path.join(data_dir, f"val_{lg}")
        if not os.path.exists(p + ".bin"):
            continue
        toks, starts = load_stream(p, device)
        starts = torch.clamp(starts[:n_windows], max=len(toks) - ctx - 1)
        tot, n = 0.0, 0
        for i in range(0, len(starts), batch):
            s = starts[i:i + batch]
            win = toks[s[:, None] + torch.arange(ctx + 1, device=device)].long()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(win[:, :-1], win[:, 1:])
            tot += loss.item() * len(s)
            n += len(s)
        out[lg] = tot / max(1, n)
    model.train()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--ffn", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=16384)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke tests)")
    ap.add_argument("--init-gguf", help="start from the weights of this GGUF (F32/F16/Q8_0) instead of random")
    ap.add_argument("--lang-weights", default="", help="e.g. python=0.45,javascript=0.22,typescript=0.11,c=0.22")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    device = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = Config(vocab=args.vocab, dim=args.dim, n_layers=args.layers, n_heads=args.heads, ffn=args.ffn, ctx=args.ctx)
    torch.manual_seed(0)
    model = Model(cfg).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)
    step, elapsed, seen = 0, 0.0, 0
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.init_gguf and not os.path.exists(ckpt_path):
        import gguf_init
        gcfg, gsd = gguf_init.load(args.init_gguf)
        for k in ("vocab", "dim", "n_layers", "n_heads", "ffn"):
            if gcfg[k] != getattr(cfg, k):
                raise SystemExit(f"--init-gguf: {k} is {gcfg[k]} in the file, {getattr(cfg, k)} here")
        model.load_state_dict({k: torch.from_numpy(v) for k, v in gsd.items()})
        print(f"initialised from {args.init_gguf}: val loss " + json.dumps(evaluate(model, args.data, args.ctx, device, n_windows=32)), flush=True)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed, seen = ck["step"], ck["elapsed"], ck["seen"]
        print(f"resumed at step {step}, {elapsed:.0f} s", flush=True)
    toks, starts = load_stream(os.path.join(args.data, "train"), device)
    weights = dict((kv.split("=")[0], float(kv.split("=")[1])) for kv in args.lang_weights.split(",") if kv)
    lang_path = os.path.join(args.data, "train.lang.npy")
    doc_langs = torch.from_numpy(np.load(lang_path)).to(device) if weights and os.path.exists(lang_path) else None
    sampler = Sampler(starts, doc_langs, weights)
    gen = torch.Generator(device=device)
    gen.manual_seed(1234 + step)
    fwd = model
    if args.compile:
        try:
            fwd = torch.compile(model)
        except Exception as e:  # compile is an optimisation: fall back to eager
            print(f"torch.compile unavailable: {e}", flush=True)
    n_params = cfg.n_params()
    print(f"{args.name}: {n_params / 1e6:.2f}M params, {len(toks) / 1e6:.1f}M train tokens", flush=True)
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    budget = args.minutes * 60.0
    t_last, t_ckpt, seen_last = time.time(), time.time(), seen
    t_start = time.time() - elapsed

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "elapsed": time.time() - t_start, "seen": seen, "config": dataclasses.asdict(cfg)},
                   ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    while True:
        frac = (time.time() - t_start) / budget
        if frac >= 1.0 or (args.max_steps and step >= args.max_steps):
            break
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch_of(toks, sampler, args.batch, args.ctx, gen)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            try:
                loss = fwd(x, y)
            except Exception as e:
                if fwd is model:
                    raise
                print(f"compiled step failed ({type(e).__name__}: {e}); running eager", flush=True)
                fwd = model
                loss = fwd(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += x.numel()
        if step % 50 == 0:
            now = time.time()
            rec = {"step": step, "loss": round(loss.item(), 4), "lr": lr, "tok_s": round((seen - seen_last) / (now - t_last)),
                   "elapsed_s": round(now - t_start, 1), "tokens": seen}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(f"{args.name} " + json.dumps(rec), flush=True)
            t_last, seen_last = now, seen
            if now - t_ckpt > 120:
                save()
                t_ckpt = now
    save()
    val = evaluate(model, args.data, args.ctx, device)
    torch.save({"model": model.state_dict(), "config": dataclasses.asdict(cfg)}, os.path.join(args.out, "model.pt"))
    result = {"name": args.name, "params": n_params, "steps": step, "tokens_seen": seen,
              "train_seconds": round(time.time() - t_start), "batch": args.batch, "ctx": args.ctx,
              "lr": args.lr, "init": args.init_gguf, "lang_weights": weights, "val_loss": val, "config": dataclasses.asdict(cfg),
              "gpu": torch.cuda.get_device_name(0)}
    json.dump(result, open(os.path.join(args.out, "result.json"), "w"), indent=1)
    print(f"{args.name} done: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
