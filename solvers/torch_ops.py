"""Torch computations that several kinds' references share (never used by the SymPy side)."""
from __future__ import annotations

import torch

KINKED = ("relu", "leaky_relu", "elu")


def activation(name: str, alpha: float | None, kink: str, t: torch.Tensor) -> torch.Tensor:
    """torch.nn.functional's activation of `t`. With the right-derivative convention at a
    kink, a torch.where whose autograd takes the z ≥ 0 branch at 0; its other branch is fed
    min(z, 0) so that it stays finite (an overflowing branch would make the gradient NaN
    even where it is not selected)."""
    functional = torch.nn.functional
    if kink == "right" and name in KINKED:
        below = torch.minimum(t, torch.zeros_like(t))
        negative = {"relu": lambda: torch.zeros_like(t), "leaky_relu": lambda: alpha * below,
                    "elu": lambda: alpha * torch.expm1(below)}[name]()
        return torch.where(t >= 0, t, negative)
    return {
        "relu": lambda: functional.relu(t),
        "leaky_relu": lambda: functional.leaky_relu(t, alpha),
        "elu": lambda: functional.elu(t, alpha),
        "sigmoid": lambda: torch.sigmoid(t),
        "tanh": lambda: torch.tanh(t),
        "identity": lambda: t.clone(),
        "softmax": lambda: torch.softmax(t, dim=0),
        "gelu": lambda: functional.gelu(t),
        # torch's default threshold 20 switches to f(z) = z early enough to move f' by 2e-9
        "softplus": lambda: functional.softplus(t, threshold=40.0),
    }[name]()
