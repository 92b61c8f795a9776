"""The llama-architecture model of wisp-default in plain PyTorch: RMSNorm, rotary position
embedding in the Hugging Face convention (rotate_half: dimension i pairs with i + head_dim/2),
multi-head attention without biases, SwiGLU feed-forward, tied input/output embedding.
export.py permutes q/k rows into llama.cpp's interleaved-pair convention when writing GGUF.
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclasses.dataclass
class Config:
    vocab: int = 16384
    dim: int = 384
    n_layers: int = 12
    n_heads: int = 6
    ffn: int = 1024
    n_kv_heads: int = 0          # grouped-query attention: 0 = as many as n_heads
    exit_layer: int = 0          # early exit: also score the output after this many layers (0 = off)
    ctx: int = 1024
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    def kv_heads(self):
        return self.n_kv_heads or self.n_heads

    def n_params(self):
        kv = self.kv_heads() * (self.dim // self.n_heads)
        per_layer = 2 * self.dim * self.dim + 2 * self.dim * kv + 3 * self.dim * self.ffn + 2 * self.dim
        return self.vocab * self.dim + self.n_layers * per_layer + self.dim


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(head_dim, ctx, theta, device=None):
    """cos/sin of shape (ctx, head_dim) in the HF layout (the half table repeated twice)."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    ang = torch.outer(torch.arange(ctx, device=device).float(), inv)
    emb = torch.cat([ang, ang], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(d) + causal mask) v: PyTorch's fused kernel where it has one (2.0 on),
    the same sum written out on older versions (Debian's 1.13, for CPU checks of the code)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    t = q.shape[-2]
    s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s.float(), dim=-1).to(q.dtype) @ v


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads, self.head_dim, self.n_kv = c.n_heads, c.dim // c.n_heads, c.kv_heads()
        self.wq = nn.Linear(c.dim, c.dim, bias=False)
        self.wk = nn.Linear(c.dim, self.n_kv * self.head_dim, bias=False)
        self.wv = nn.Linear(c.dim, self.n_kv * self.head_dim, bias=False)
        self.wo = nn.Linear(c.dim, c.dim, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        q = self.wq(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)   # (b, h, t, hd)
        k = self.wk(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        cos, sin = cos[:t].to(q.dtype), sin[:t].to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.n_kv != self.n_heads:   # grouped-query attention: each kv head serves n_heads / n_kv query heads
            k = k.repeat_interleave(self.n_heads // self.n_kv, dim=1)
            v = v.repeat_interleave(self.n_heads // self.n_kv, dim=1)
        y = causal_attention(q, k, v)
        return self.wo(y.transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = nn.Linear(c.dim, c.ffn, bias=False)   # gate
        self.w3 = nn.Linear(c.dim, c.ffn, bias=False)   # up
        self.w2 = nn.Linear(c.ffn, c.dim, bias=False)   # down

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attn_norm = RMSNorm(c.dim, c.norm_eps)
        self.attn = Attention(c)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)
        self.ffn = FeedForward(c)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.ffn(self.ffn_norm(x))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_emb = nn.Embedding(c.vocab, c.dim)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        cos, sin = rope_tables(c.dim // c.n_heads, c.ctx, c.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():   # scaled init of the residual projections
            if name.endswith("wo.weight") or name.endswith("w2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def head(self, x):
        return F.linear(self.norm(x), self.tok_emb.weight)

    def forward(self, idx, targets=None, exit_weight=0.0, n_layers=None):
        """idx (b, t) token ids -> logits (b, t, vocab) after n_layers (default all), or the mean
        cross-entropy when targets (b, t) are given. With exit_weight > 0 and c.exit_layer set,
        the loss is (full + exit_weight * exit) / (1 + exit_weight), where exit is the loss of the
        same norm and head applied after c.exit_layer layers (early exit); use forward_losses for
        the two parts."""
        if targets is None:
            x = self.tok_emb(idx)
            for layer in self.layers[:n_layers]:
                x = layer(x, self.cos, self.sin)
            return self.head(x)
        full, early = self.forward_losses(idx, targets, exit_weight > 0)
        if early is None:
            return full
        return (full + exit_weight * early) / (1 + exit_weight)

    def forward_losses(self, idx, targets, with_exit=True):
        """(full-depth loss, early-exit loss or None)."""
        x = self.tok_emb(idx)
        early = None
        for i, layer in enumerate(self.layers):
            x = layer(x, self.cos, self.sin)
            if with_exit and self.c.exit_layer and i + 1 == self.c.exit_layer:
                early = _ce(self.head(x), targets)
        return _ce(self.head(x), targets), early


def _ce(logits, targets):
    return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
