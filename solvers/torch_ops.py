"""Torch computations that several kinds' references share (never used by the SymPy side)."""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a reference runs: a build whose values were verified before never loads torch
    import torch

KINKED = ("relu", "leaky_relu", "elu")


@cache
def _negative_elu() -> type:
    """α(eᶻ − 1) for z ≤ 0 with the gradient α eᶻ (a torch autograd function, defined on first
    use). torch's own ELU (and expm1) compute the gradient from the output, α(eᶻ − 1) + α,
    which cancels to noise for z ≪ 0."""
    import torch

    class NegativeELU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t: torch.Tensor, alpha: float) -> torch.Tensor:
            ctx.save_for_backward(t)
            ctx.alpha = alpha
            return alpha * torch.expm1(t)

        @staticmethod
        def backward(ctx, grad: torch.Tensor):
            (t,) = ctx.saved_tensors
            return grad * ctx.alpha * torch.exp(t), None
    return NegativeELU


def activation(name: str, alpha: float | None, kink: str, t: torch.Tensor) -> torch.Tensor:
    """torch.nn.functional's activation of `t` (ELU through an exact-gradient branch). At a
    kink, a torch.where whose autograd takes the z ≤ 0 branch at 0 (kink "left", as torch)
    or the z ≥ 0 branch (kink "right"); the negative branch is fed min(z, 0) so that it stays
    finite (an overflowing branch would make the gradient NaN even where it is not selected)."""
    import torch
    functional = torch.nn.functional
    if name == "elu" or (kink == "right" and name in KINKED):
        below = torch.clamp(t, max=0.0)  # gradient 1 at 0 itself (minimum would halve it)
        negative = {"relu": lambda: torch.zeros_like(t), "leaky_relu": lambda: alpha * below,
                    "elu": lambda: _negative_elu().apply(below, alpha)}[name]()
        return torch.where(t >= 0 if kink == "right" else t > 0, t, negative)
    return {
        "relu": lambda: functional.relu(t),
        "leaky_relu": lambda: functional.leaky_relu(t, alpha),
        "sigmoid": lambda: torch.sigmoid(t),
        "tanh": lambda: torch.tanh(t),
        "identity": lambda: t.clone(),
        "softmax": lambda: torch.softmax(t, dim=-1),  # over the entries of each example (a row per example)
        "gelu": lambda: functional.gelu(t),
        # torch's default threshold 20 switches to f(z) = z early enough to move f' by 2e-9
        "softplus": lambda: functional.softplus(t, threshold=40.0),
    }[name]()
