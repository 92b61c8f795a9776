#!/usr/bin/env python3
"""Reference outputs for the forward-pass equality test (tests/test_forward.c). GPU machine only.

    PYTHONUNBUFFERED=1 python3 scripts/device/make_reference.py --out $OUT

For two tiny random-weight models built by `transformers` from a config (fixed seed):
  llama: 4 layers, width 64, 4 heads / 2 kv heads (GQA), head_dim 16, ffn 160, vocab 600,
         untied output, rope theta 10000 (llama.cpp layout after our converter's permutation)
  qwen2: 3 layers, width 96, 6 heads / 2 kv heads, head_dim 16, ffn 224, vocab 520, tied
         embeddings, q/k/v biases, rope theta 1e6 (NEOX halves)
it saves the HF checkpoint (save_pretrained, safetensors), converts it with OUR converter
(train/convert_hf.py, F32) to <out>/<name>.gguf, and writes <out>/<name>.ref:

  "WREF" u32 version=1, u32 n_vocab, u32 n_prompts, then per prompt:
    u32 n_tok, u32 n_gen, u32 n_pos,
    i32 tokens[n_tok], i32 greedy[n_gen], u32 pos[n_pos],
    f32 logits[n_pos][n_vocab]          (next-token logits after tokens[0..pos])
    f64 nll                             (sum of -log p(seq[t] | seq[<t]) over t = 1..n-1 of
                                         seq = tokens + greedy, natural log)

A third model, `trained` (llama, 4 layers, width 128, 4 / 2 heads, ffn 256, vocab 600, tied),
is trained for a minute on the GPU as a byte-level model of Python's standard library sources,
its weights rounded to f16 and converted with --type f16 --no-merges (it was trained on bytes,
so its vocabulary tokenizes text to one id per byte). Random weights make a chaotic network
in which any perturbation (Q4_0's ~8% per-weight error) grows without bound, so perplexity under
quantization only means something on a trained model; its prompts are held-out source bytes.

20 prompts of random ids (held-out source bytes for `trained`), lengths 1..64; greedy = 16 argmax steps with use_cache, EOS ignored.
Everything runs in float32 on the CPU (TF32 off), eager attention: the models are tiny.
Weights are drawn with a larger std than HF's default (and norms/biases are randomized too) so
that the output distributions are peaked enough for greedy decoding and perplexity to mean
something; HF's default init gives near-uniform logits.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N_PROMPTS = 20
N_GEN = 16


def build(name, seed):
    torch.manual_seed(seed)
    if name == "llama":
        cfg = transformers.LlamaConfig(
            vocab_size=600, hidden_size=64, intermediate_size=160, num_hidden_layers=4,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
            attention_bias=False, mlp_bias=False, initializer_range=0.2,
            bos_token_id=None, eos_token_id=596, pad_token_id=None)
        model = transformers.LlamaForCausalLM(cfg)
    elif name == "trained":
        cfg = transformers.LlamaConfig(
            vocab_size=600, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
            rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
            attention_bias=False, mlp_bias=False, initializer_range=0.02,
            bos_token_id=None, eos_token_id=596, pad_token_id=None)
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Qwen2Config(
            vocab_size=520, hidden_size=96, intermediate_size=224, num_hidden_layers=3,
            num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=256,
            rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
            use_sliding_window=False, initializer_range=0.2,
            bos_token_id=None, eos_token_id=516, pad_token_id=None)
        model = transformers.Qwen2ForCausalLM(cfg)
    try:  # eager attention: plain float32 math, no fused kernels
        model.set_attn_implementation("eager")
    except Exception:
        model.config._attn_implementation = "eager"
    if name == "trained":
        return model
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif pname.endswith(".bias"):
                p.copy_(0.3 * torch.randn_like(p))
    model.eval()
    return model.to(torch.float32)


def corpus():
    """Python standard library sources as bytes: (train, held-out), split by file."""
    import glob
    import sysconfig
    files = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "**", "*.py"), recursive=True))
    train, held = bytearray(), bytearray()
    for i, f in enumerate(files):
        with open(f, "rb") as fh:
            b = fh.read()
        (held if i % 20 == 0 else train).extend(b)
        if len(train) > 8_000_000 and len(held) > 200_000:
            break
    return bytes(train), bytes(held)


def train(model, data, steps=2500, batch=96, seq=256):
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(dev).train()
    data = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(dev).long()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.05)
    g = torch.Generator(device=dev).manual_seed(7)
    for step in range(steps):
        idx = torch.randint(0, data.numel() - seq - 1, (batch,), device=dev, generator=g)
        x = data[idx[:, None] + torch.arange(seq + 1, device=dev)]
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"train step {step} loss {loss.item():.3f} nats/byte")
    model.to("cpu").eval()
    with torch.no_grad():  # the GGUF stores f16: the reference runs on exactly those weights
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


def write_ref(path, model, n_vocab, seed, held=None):
    g = torch.Generator().manual_seed(seed)
    lengths = [1, 2, 3, 64] + torch.randint(4, 64, (N_PROMPTS - 4,), generator=g).tolist()
    out = bytearray(b"WREF")
    out += struct.pack("<III", 1, n_vocab, N_PROMPTS)
    margins = []
    max_probs = []
    for n_tok in lengths:
        if held is None:
            tokens = torch.randint(0, n_vocab, (1, n_tok), generator=g)
        else:
            at = int(torch.randint(0, len(held) - n_tok, (1,), generator=g))
            tokens = torch.tensor([list(held[at:at + n_tok])])
        with torch.no_grad():
            full = model(tokens, use_cache=False).logits[0]  # (n_tok, n_vocab)
            # greedy with the KV cache, EOS ignored
            res = model(tokens, use_cache=True)
            pkv = res.past_key_values
            nxt = res.logits[0, -1]
            greedy = []
            for _ in range(N_GEN):
                top2 = torch.topk(nxt, 2).values
                margins.append(float(top2[0] - top2[1]))
                t = int(torch.argmax(nxt))
                greedy.append(t)
                res = model(torch.tensor([[t]]), past_key_values=pkv, use_cache=True)
                pkv = res.past_key_values
                nxt = res.logits[0, -1]
            seq = torch.cat([tokens[0], torch.tensor(greedy)]).unsqueeze(0)
            seq_logits = model(seq, use_cache=False).logits[0].double()
            logp = torch.log_softmax(seq_logits, dim=-1)
            nll = -sum(float(logp[t - 1, seq[0, t]]) for t in range(1, seq.shape[1]))
            max_probs.append(float(torch.softmax(full[-1].double(), -1).max()))
        if n_tok <= 4:
            pos = list(range(n_tok))
        else:
            pos = sorted({0, 1, n_tok // 3, n_tok // 2, n_tok - 2, n_tok - 1})
        out += struct.pack("<III", n_tok, N_GEN, len(pos))
        out += struct.pack("<%di" % n_tok, *tokens[0].tolist())
        out += struct.pack("<%di" % N_GEN, *greedy)
        out += struct.pack("<%dI" % len(pos), *pos)
        for p in pos:
            out += full[p].to(torch.float32).numpy().astype("<f4").tobytes()
        out += struct.pack("<d", nll)
    with open(path, "wb") as f:
        f.write(out)
    margins.sort()
    print(f"{path}: {len(out)} bytes; greedy top1-top2 margin min {margins[0]:.4g} "
          f"median {margins[len(margins) // 2]:.4g}; mean max prob {sum(max_probs) / len(max_probs):.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(4)
    print("torch", torch.__version__, "transformers", transformers.__version__)
    os.makedirs(a.out, exist_ok=True)
    train_bytes, held = corpus()
    print(f"corpus: {len(train_bytes)} train bytes, {len(held)} held-out bytes")
    for name, seed in (("llama", 1234), ("qwen2", 5678), ("trained", 4321)):
        model = build(name, seed)
        if name == "trained":
            model = train(model, train_bytes)
        hf_dir = os.path.join(a.out, "hf-" + name)
        model.save_pretrained(hf_dir, safe_serialization=True)
        for junk in ("generation_config.json",):
            p = os.path.join(hf_dir, junk)
            if os.path.exists(p):
                os.remove(p)
        gguf = os.path.join(a.out, name + ".gguf")
        opts = ["--type", "f16", "--no-merges"] if name == "trained" else ["--type", "f32"]
        subprocess.run([sys.executable, os.path.join(ROOT, "train", "convert_hf.py"), hf_dir, gguf,
                        "--name", "wisp-ref-" + name] + opts, check=True)
        write_ref(os.path.join(a.out, name + ".ref"), model, model.config.vocab_size, seed + 1,
                  held if name == "trained" else None)
        shutil.rmtree(hf_dir)
    shutil.copy(os.path.abspath(__file__), os.path.join(a.out, "make_reference.py"))


if __name__ == "__main__":
    main()
