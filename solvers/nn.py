"""Neural-network arithmetic that solvers and references share: integer shapes and names.

Plain Python on integers (no SymPy, no torch), so a kind's checks, its derivation's givens
and its torch reference all size layers the same way, while the values themselves are
computed independently on each side.
"""
from __future__ import annotations

DIMENSIONS = (("h", "H", "height"), ("w", "W", "width"))
"""Per spatial dimension: the subscript of its hyperparameters, its size symbol, its word."""


def pair(value) -> tuple[int, int]:
    """A per-dimension setting as (height, width): one number for both, or [height, width]."""
    return (value, value) if isinstance(value, int) else tuple(value)


def output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """The size of a convolution or pooling output along one dimension, as PyTorch computes it:
    ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 (with d = 1 the numerator is n + 2p − k)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def kernel_span(k: int, d: int = 1) -> int:
    """How many input positions a (dilated) kernel covers along one dimension."""
    return d * (k - 1) + 1


def window_stride(kind: str, kernel, stride):
    """A layer's stride: as given, else 1 for a convolution and the kernel for pooling (torch)."""
    return stride if stride is not None else (1 if kind == "conv" else kernel)


ACTIVATION_NAMES = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "elu": "ELU", "sigmoid": "sigmoid", "tanh": "tanh",
                    "identity": "identity", "softmax": "softmax", "softplus": "softplus", "gelu": "GELU"}


def activation_name(name: str, capital: bool = False) -> str:
    """An activation's name in prose ("leaky ReLU"; "Leaky ReLU" to start a sentence)."""
    text = ACTIVATION_NAMES[name]
    return text[0].upper() + text[1:] if capital else text
