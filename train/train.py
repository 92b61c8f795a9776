"""Stage 5 (GPU machine): train one size of wisp-default for a fixed wall time, resumable.

    python3 train/train.py --name m25 --dim 384 --layers 12 --heads 6 --ffn 1024 \
        --data /tmp/wisp/tok --out /tmp/wisp/runs/m25 --minutes 12

The whole token stream lives on the GPU (int32); each step takes `batch` windows of ctx+1
tokens that start at random document starts (so every FIM document is seen from its path
header; prepare_v2.py lays the files of one package next to each other, so a window also holds
the package's neighbouring files). The learning-rate schedule runs on wall time, so several runs
trained side by side on one GPU all finish together: `cosine` (warm-up by steps, cosine decay to
10% over `minutes`) or `wsd` (warm-up, constant, then a linear cool-down to 0 over the last
`cooldown-minutes`; the weights just before the cool-down are saved as OUT/stable.pt, the point
a later lease resumes from, while the cooled weights are the ones to ship).
Optimizers: `adamw` for everything, or `muon` (train/muon.py) for the 2-D hidden matrices with
AdamW for the embedding and the gains. --exit-layer adds the early-exit loss (model.py).
Checkpoints (weights, optimiser, step, elapsed seconds) go to OUT/ckpt.pt every 2 minutes and at
the end; a rerun with the same OUT resumes. Logs: OUT/log.jsonl (step, loss, tokens/s, lr).
At the end: OUT/model.pt (weights + config) and OUT/result.json (validation loss per language).
"""
import argparse
import dataclasses
import glob
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
DEVICE = os.environ.get("WISP_TRAIN_DEVICE", "cuda")   # "cpu" for a quick local check of the code
FUSED = {"fused": True} if DEVICE == "cuda" else {}


def _read_stream(path):
    """(uint16 tokens, document starts) of one prepared stream, as numpy arrays."""
    return np.fromfile(path + ".bin", dtype=np.uint16), np.load(path + ".idx.npy")


def load_stream(path, device):
    """(tokens int32 on device, valid window starts int64 on device) of one prepared stream."""
    toks, idx = _read_stream(path)
    return torch.from_numpy(toks.astype(np.int32)).to(device), torch.from_numpy(idx).to(device)


def load_parts(dirs, name, device):
    """The streams `name` of several prepared folders joined: (tokens, starts, languages or None)."""
    toks, starts, langs, off = [], [], [], 0
    for d in dirs:
        p = os.path.join(d, name)
        if not os.path.exists(p + ".bin"):
            continue
        t, idx = _read_stream(p)
        toks.append(t)
        starts.append(idx + off)
        lp = p + ".lang.npy"
        langs.append(np.load(lp) if os.path.exists(lp) else None)
        off += len(t)
    if not toks:
        raise SystemExit(f"no {name}.bin in {dirs}")
    lang = None if any(x is None for x in langs) else torch.from_numpy(np.concatenate(langs)).to(device)
    return (torch.from_numpy(np.concatenate(toks).astype(np.int32)).to(device),
            torch.from_numpy(np.concatenate(starts)).to(device), lang)


def capped_weights(weights, lang_tokens, plan_tokens, max_passes):
    """Per-language sampling shares {lang: share} from the wanted `weights`, with no language read
    more than `max_passes` times over a run of `plan_tokens` tokens: a language whose share would
    pass that is held at max_passes * its tokens / plan_tokens, and what it gives up goes to the
    others in proportion to their weights. Languages without tokens get nothing. When even the
    held shares cannot fill the run, every language gets its cap scaled up alike."""
    w = {lg: weights.get(lg, 0.0) for lg in LANGS if lang_tokens.get(lg, 0) > 0 and weights.get(lg, 0.0) > 0}
    if not w:
        return {}
    if not max_passes or not plan_tokens:
        t = sum(w.values())
        return {lg: v / t for lg, v in w.items()}
    cap = {lg: max_passes * lang_tokens[lg] / plan_tokens for lg in w}
    if sum(cap.values()) <= 1.0:
        t = sum(cap.values())
        return {lg: c / t for lg, c in cap.items()}
    held = {}
    while True:
        free = 1.0 - sum(held.values())
        rest = {lg: v for lg, v in w.items() if lg not in held}
        t = sum(rest.values())
        over = {lg for lg, v in rest.items() if free * v / t > cap[lg]}
        if not over:
            return dict(held, **{lg: free * v / t for lg, v in rest.items()})
        for lg in over:
            held[lg] = cap[lg]


class Sampler:
    """Picks document starts: uniformly over documents, or, with per-language weights, first a
    language by weight and then a document of it uniformly (to rebalance a corpus that is mostly
    Python)."""

    def __init__(self, starts, doc_langs=None, weights=None, n_tokens=0, plan_tokens=0, max_passes=0.0):
        self.starts = starts
        self.weights = None
        self.shares = {}
        if weights and doc_langs is not None:
            order = torch.argsort(doc_langs, stable=True)
            self.sorted = starts[order]
            sizes = torch.bincount(doc_langs.long(), minlength=len(LANGS))
            self.offs = torch.cumsum(sizes, 0) - sizes
            self.sizes = sizes
            # tokens per language: each document runs to the next one's start
            ends = torch.cat([starts[1:], torch.tensor([n_tokens or int(starts[-1]) + 1], device=starts.device)])
            per = torch.zeros(len(LANGS), dtype=torch.float64, device=starts.device)
            per.index_add_(0, doc_langs.long(), (ends - starts).double())
            self.lang_tokens = {lg: int(per[i]) for i, lg in enumerate(LANGS)}
            self.shares = capped_weights(weights, self.lang_tokens, plan_tokens, max_passes)
            w = torch.tensor([self.shares.get(lg, 0.0) for lg in LANGS], dtype=torch.float32)
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
def evaluate(model, data_dirs, ctx, device, n_windows=128, batch=16, exit_too=False):
    """Mean token cross-entropy per language over n_windows validation documents of each
    language, joined over the prepared folders `data_dirs` (a list, or one folder) and picked
    evenly spaced over all their documents (window = ctx+1 tokens from the document's start):
    deterministic for a given set of folders, so two models evaluated on the same folders are
    compared on the same windows. exit_too: also the early-exit loss, under the key LANG@exit."""
    if isinstance(data_dirs, str):
        data_dirs = [data_dirs]
    model.eval()
    out = {}
    for lg in LANGS:
        if not any(os.path.exists(os.path.join(d, f"val_{lg}.bin")) for d in data_dirs):
            continue
        toks, starts, _ = load_parts(data_dirs, f"val_{lg}", device)
        if len(starts) > n_windows:
            starts = starts[torch.linspace(0, len(starts) - 1, n_windows, device=device).long()]
        starts = torch.clamp(starts, max=len(toks) - ctx - 1)
        tot, tot_e, n = 0.0, 0.0, 0
        for i in range(0, len(starts), batch):
            s = starts[i:i + batch]
            win = toks[s[:, None] + torch.arange(ctx + 1, device=device)].long()
            with torch.autocast(DEVICE, dtype=torch.bfloat16):
                full, early = model.forward_losses(win[:, :-1], win[:, 1:], exit_too)
            tot += full.item() * len(s)
            tot_e += early.item() * len(s) if early is not None else 0.0
            n += len(s)
        out[lg] = tot / max(1, n)
        if exit_too and model.c.exit_layer:
            out[lg + "@exit"] = tot_e / max(1, n)
    model.train()
    return out


def make_optimizers(model, args):
    """AdamW for everything, or Muon for the 2-D hidden matrices + AdamW for the embedding and
    the gains. Each param group keeps its peak rate in base_lr; the schedule scales it."""
    emb = [model.tok_emb.weight]
    hidden = [p for n, p in model.named_parameters() if p.dim() == 2 and n != "tok_emb.weight"]
    gains = [p for n, p in model.named_parameters() if p.dim() < 2]
    if args.opt == "adamw":
        groups = [{"params": emb + hidden, "weight_decay": 0.1, "base_lr": args.lr},
                  {"params": gains, "weight_decay": 0.0, "base_lr": args.lr}]
        return [torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, **FUSED)]
    from muon import Muon
    adam = torch.optim.AdamW([{"params": emb, "weight_decay": 0.1, "base_lr": args.lr},
                              {"params": gains, "weight_decay": 0.0, "base_lr": args.lr}],
                             lr=args.lr, betas=(0.9, 0.95), eps=1e-8, **FUSED)
    muon = Muon([{"params": hidden, "base_lr": args.muon_lr}], lr=args.muon_lr, weight_decay=0.01)
    return [adam, muon]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--ffn", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=16384)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--data", required=True, help="prepared folder(s), comma-separated; validation from the first")
    ap.add_argument("--kv-heads", type=int, default=0, help="grouped-query attention (0 = --heads)")
    ap.add_argument("--exit-layer", type=int, default=0, help="early-exit depth (0 = none)")
    ap.add_argument("--exit-weight", type=float, default=0.0, help="weight of the early-exit loss")
    ap.add_argument("--opt", choices=("adamw", "muon"), default="adamw")
    ap.add_argument("--muon-lr", type=float, default=0.02)
    ap.add_argument("--schedule", choices=("cosine", "wsd"), default="cosine")
    ap.add_argument("--cooldown-minutes", type=float, default=0.0, help="wsd: cool-down at the end of --minutes")
    ap.add_argument("--tokens-before", type=int, default=0, help="tokens seen by earlier leases (for the record)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke tests)")
    ap.add_argument("--init-gguf", help="start from the weights of this GGUF (F32/F16/Q8_0) instead of random")
    ap.add_argument("--data-watch", default="", help="a glob of prepared folders: ones that appear while "
                    "training (shards sent later in a lease) join the training data")
    ap.add_argument("--lang-weights", default="", help="e.g. python=0.45,javascript=0.22,typescript=0.11,c=0.22")
    ap.add_argument("--max-passes", type=float, default=0.0, help="with --lang-weights: no language read more "
                    "than this many times over --tokens-plan tokens (the rest goes to the others)")
    ap.add_argument("--tokens-plan", type=float, default=0.0, help="tokens this run expects to train on")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    data_dirs = args.data.split(",")
    device = DEVICE
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = Config(vocab=args.vocab, dim=args.dim, n_layers=args.layers, n_heads=args.heads, ffn=args.ffn, ctx=args.ctx,
                 n_kv_heads=args.kv_heads, exit_layer=args.exit_layer)
    torch.manual_seed(0)
    model = Model(cfg).to(device)
    opts = make_optimizers(model, args)
    step, elapsed, seen = 0, 0.0, 0
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.init_gguf and not os.path.exists(ckpt_path):
        import gguf_init
        gcfg, gsd = gguf_init.load(args.init_gguf)
        have = dict(vars(cfg), n_kv_heads=cfg.kv_heads())
        for k in ("vocab", "dim", "n_layers", "n_heads", "ffn", "n_kv_heads"):
            if gcfg[k] != have[k]:
                raise SystemExit(f"--init-gguf: {k} is {gcfg[k]} in the file, {have[k]} here")
        model.load_state_dict({k: torch.from_numpy(v) for k, v in gsd.items()})
        print(f"initialised from {args.init_gguf}: val loss " + json.dumps(evaluate(model, data_dirs[:1], args.ctx, device, n_windows=32)), flush=True)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        for o, st in zip(opts, ck["opt"]):
            o.load_state_dict(st)
        step, elapsed, seen = ck["step"], ck["elapsed"], ck["seen"]
        print(f"resumed at step {step}, {elapsed:.0f} s", flush=True)
    weights = dict((kv.split("=")[0], float(kv.split("=")[1])) for kv in args.lang_weights.split(",") if kv)

    def load_train():
        toks, starts, doc_langs = load_parts(data_dirs, "train", device)
        smp = Sampler(starts, doc_langs if weights else None, weights, len(toks), args.tokens_plan, args.max_passes)
        if smp.shares:
            print(f"{args.name}: language shares " + json.dumps({k: round(v, 4) for k, v in smp.shares.items()})
                  + " of tokens " + json.dumps(smp.lang_tokens), flush=True)
        return toks, smp

    def new_parts():
        found = sorted(d for d in glob.glob(args.data_watch) if os.path.exists(os.path.join(d, "train.bin")))
        return [d for d in found if d not in data_dirs] if args.data_watch else []

    data_dirs += new_parts()
    toks, sampler = load_train()
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
        torch.save({"model": model.state_dict(), "opt": [o.state_dict() for o in opts], "step": step,
                    "elapsed": time.time() - t_start, "seen": seen, "config": dataclasses.asdict(cfg)},
                   ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    stable_path = os.path.join(args.out, "stable.pt")
    cool_at = budget - args.cooldown_minutes * 60.0
    while True:
        now_s = time.time() - t_start
        frac = now_s / budget
        if frac >= 1.0 or (args.max_steps and step >= args.max_steps):
            break
        if args.schedule == "wsd":
            if now_s >= cool_at and not os.path.exists(stable_path):
                torch.save({"model": model.state_dict(), "config": dataclasses.asdict(cfg), "step": step,
                            "tokens_seen": seen + args.tokens_before}, stable_path)
                print(f"{args.name}: stable weights saved at step {step} before the cool-down", flush=True)
            sched = 1.0 if now_s < cool_at else max(0.0, (budget - now_s) / max(1.0, budget - cool_at))
        else:
            sched = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
        sched *= min(1.0, (step + 1) / args.warmup)
        lr = args.lr * sched
        for o in opts:
            for g in o.param_groups:
                g["lr"] = g["base_lr"] * sched
        x, y = batch_of(toks, sampler, args.batch, args.ctx, gen)
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            try:
                loss = fwd(x, y, args.exit_weight)
            except Exception as e:
                if fwd is model:
                    raise
                print(f"compiled step failed ({type(e).__name__}: {e}); running eager", flush=True)
                fwd = model
                loss = fwd(x, y, args.exit_weight)
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for o in opts:
            o.step()
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
                fresh = new_parts()
                if fresh:
                    data_dirs += fresh
                    toks, sampler = load_train()
                    print(f"{args.name}: +{len(fresh)} parts {fresh}, now {len(toks) / 1e6:.1f}M train tokens", flush=True)
    save()
    # validation on every part that arrived, the same windows for the starting weights (when the
    # run continues a shipped file) and the final ones: one learning-curve point per lease
    val = evaluate(model, data_dirs, args.ctx, device, exit_too=bool(args.exit_layer))
    val_init = None
    if args.init_gguf:
        import gguf_init
        ref = Model(cfg).to(device)
        ref.load_state_dict({k: torch.from_numpy(v) for k, v in gguf_init.load(args.init_gguf)[1].items()})
        val_init = evaluate(ref, data_dirs, args.ctx, device)
        del ref
    torch.save({"model": model.state_dict(), "config": dataclasses.asdict(cfg)}, os.path.join(args.out, "model.pt"))
    result = {"name": args.name, "params": n_params, "steps": step, "tokens_seen": seen,
              "tokens_total": seen + args.tokens_before, "opt": args.opt, "schedule": args.schedule,
              "muon_lr": args.muon_lr if args.opt == "muon" else None, "exit_weight": args.exit_weight,
              "train_seconds": round(time.time() - t_start), "batch": args.batch, "ctx": args.ctx,
              "lr": args.lr, "init": args.init_gguf, "data": data_dirs, "lang_weights": weights, "lang_shares": sampler.shares,
              "max_passes": args.max_passes, "tokens_plan": args.tokens_plan, "val_loss": val,
              "val_loss_init": val_init, "val_parts": len(data_dirs), "config": dataclasses.asdict(cfg),
              "gpu": torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE}
    json.dump(result, open(os.path.join(args.out, "result.json"), "w"), indent=1)
    print(f"{args.name} done: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
