"""Muon: momentum SGD whose update of each weight matrix is replaced by the nearest
semi-orthogonal matrix (its polar factor), computed approximately by a few Newton-Schulz steps
in bf16. Used for the 2-D hidden matrices of train/model.py; embeddings and RMSNorm gains stay
on AdamW (train.py builds both).

The quintic iteration X <- aX + b(XX^T)X + c(XX^T)^2 X with (a, b, c) = (3.4445, -4.7750,
2.0315) pushes every singular value of the normalised update towards ~1 in five steps without
converging exactly, which is all the method needs. The update is scaled by
sqrt(max(1, rows / cols)) so tall and wide matrices move at comparable rates.
"""
import torch


def orthogonalize(g, steps=5, eps=1e-7):
    """Approximate polar factor U V^T of each matrix g = U S V^T (g: (rows, cols) or a stack
    (n, rows, cols) of same-shaped matrices, done in one batched pass; bf16 inside)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.bfloat16()
    tall = x.size(-2) > x.size(-1)
    if tall:
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + eps)
    for _ in range(steps):
        s = x @ x.mT
        x = a * x + (b * s + c * s @ s) @ x
    if tall:
        x = x.mT
    return x.to(g.dtype)


class Muon(torch.optim.Optimizer):
    """Muon for a list of 2-D parameters: Nesterov momentum, then orthogonalized update
    (parameters of one shape are orthogonalized together, as one batch). Decoupled weight decay
    as in AdamW (p <- p * (1 - lr * wd))."""

    def __init__(self, params, lr=0.02, momentum=0.95, weight_decay=0.0, ns_steps=5):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, ns_steps=ns_steps))
        for g in self.param_groups:
            for p in g["params"]:
                if p.dim() != 2:
                    raise ValueError("Muon takes 2-D parameters only")

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            by_shape = {}
            for p in g["params"]:
                if p.grad is not None:
                    by_shape.setdefault(tuple(p.shape), []).append(p)
            for shape, ps in by_shape.items():
                upds = []
                for p in ps:
                    st = self.state[p]
                    if "buf" not in st:
                        st["buf"] = torch.zeros_like(p.grad)
                    buf = st["buf"]
                    buf.mul_(g["momentum"]).add_(p.grad)
                    upds.append(p.grad.add(buf, alpha=g["momentum"]))   # Nesterov
                o = orthogonalize(torch.stack(upds), g["ns_steps"])
                o *= max(1.0, shape[0] / shape[1]) ** 0.5
                for p, u in zip(ps, o):
                    if g["weight_decay"]:
                        p.mul_(1 - g["lr"] * g["weight_decay"])
                    p.add_(u, alpha=-g["lr"])
