"""Activation functions as SymPy expressions; their derivatives are derived, not typed.

Kinks are written as Piecewise with the convention explicit: with `kink="left"` (PyTorch's
choice) the derivative at z = 0 is that of the z < 0 branch, so ReLU'(0) = 0 and
LeakyReLU'(0) = ELU'(0) = α; with `kink="right"` it is that of the z > 0 branch (ReLU'(0) = 1).
Never Max/Heaviside: SymPy's Heaviside(0) = 1/2 agrees with neither convention.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1  # e^z − 1 without cancellation near 0

z = sympy.Symbol("z", real=True)
OUTPUT = sympy.Symbol("a", real=True)  # f(z), in derivatives written through the output
alpha = sympy.Symbol("alpha", positive=True)

ELEMENTWISE = ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "identity")
SMOOTH_EXTRAS = ("softplus", "gelu")  # for activation problems; not (yet) network layers
NAMES = ELEMENTWISE + ("softmax",)
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}  # PyTorch's defaults
KINKED = ("relu", "leaky_relu", "elu")


class sigmoid(sympy.Function):
    """σ(z) = 1 / (1 + e^(−z)), with the derivative rule σ'(z) = σ(z)(1 − σ(z))."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class softplus(sympy.Function):
    """softplus(z) = ln(1 + e^z), with the derivative rule softplus'(z) = σ(z)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return sympy.log(1 + sympy.exp(arg))

    def _latex(self, printer):
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"


def numpy_sigmoid(x):
    """σ for lambdified code; exp overflow for very negative x correctly gives 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


LAMBDIFY_MODULES = [{"sigmoid": numpy_sigmoid, "softplus": lambda x: np.logaddexp(0.0, x),
                     "erf": np.vectorize(math.erf, otypes=[float])}, "numpy"]


@dataclass(frozen=True)
class Activation:
    """One element-wise activation (or softmax) with its parameter and kink convention."""
    name: str
    alpha: float | None = None
    kink: str = "left"

    @property
    def elementwise(self) -> bool:
        return self.name != "softmax"

    def symbolic(self, arg=z) -> sympy.Expr:
        """f(arg), with α left as a symbol."""
        positive = arg >= 0 if self.kink == "right" else arg > 0
        return {
            "relu": lambda: sympy.Piecewise((arg, positive), (0, True)),
            "leaky_relu": lambda: sympy.Piecewise((arg, positive), (alpha * arg, True)),
            "elu": lambda: sympy.Piecewise((arg, positive), (alpha * expm1(arg), True)),
            "sigmoid": lambda: sigmoid(arg),
            "tanh": lambda: sympy.tanh(arg),
            "identity": lambda: arg,
            "softplus": lambda: softplus(arg),
            "gelu": lambda: arg * (1 + sympy.erf(arg / sympy.sqrt(2))) / 2,  # z Φ(z), the exact GELU
        }[self.name]()

    def definition(self, arg=z) -> sympy.Expr:
        """f(arg) as a student would write its definition (σ, tanh and ELU through exponentials)."""
        expr = self.symbolic(arg)
        return expr.rewrite(sympy.exp) if self.name in ("sigmoid", "tanh", "elu", "softplus") else expr

    def derivative(self, arg=z) -> sympy.Expr:
        """f'(arg), derived by SymPy, α still a symbol."""
        return _derivative(self, arg)

    def numeric(self, expr: sympy.Expr) -> sympy.Expr:
        """`expr` with α replaced by this activation's value."""
        return expr.subs(alpha, sympy.Float(self.alpha)) if self.alpha is not None else expr

    def derivative_from_output(self, arg, output) -> sympy.Expr:
        """f'(arg) written through the output a = f(arg) where that is how it is known
        (σ' = a(1 − a), tanh' = 1 − a²), numeric α; used for evaluation. Derived once per
        activation, then only its symbols are replaced (a batch has many entries)."""
        return _output_derivative(self).xreplace({z: arg, OUTPUT: output})

    def derivative_at_kink(self) -> float | None:
        """The value the convention gives f'(0), for kinked activations."""
        if self.name not in KINKED:
            return None
        return float(self.numeric(self.derivative(z)).subs(z, 0))

    def one_sided_derivatives(self) -> tuple[float, float] | None:
        """f'(0) from the negative and from the positive side, for the piecewise activations."""
        if self.name not in KINKED:
            return None
        return tuple(Activation(self.name, self.alpha, side).derivative_at_kink() for side in ("left", "right"))

    @property
    def has_kink(self) -> bool:
        """Whether f has no derivative at 0 (its sides disagree there; not ELU with α = 1)."""
        sides = self.one_sided_derivatives()
        return sides is not None and sides[0] != sides[1]


@lru_cache(maxsize=None)
def _derivative(activation: Activation, arg) -> sympy.Expr:
    return sympy.diff(activation.symbolic(arg), arg)


@lru_cache(maxsize=None)
def softmax_jacobian_checked(n: int) -> bool:
    """Derive ∂s_i/∂p_j of s = softmax(p) with SymPy and confirm it equals s_i(δ_ij − s_j).

    The compact form is what the solution shows and evaluates; this check (once per width)
    is what makes it a derivation rather than a quotation."""
    p = sympy.symbols(f"p0:{n}", real=True)
    total = sum(sympy.exp(q) for q in p)
    s = [sympy.exp(q) / total for q in p]
    for i in range(n):
        for j in range(n):
            compact = s[i] * (sympy.KroneckerDelta(i, j) - s[j])
            difference = sympy.together(sympy.diff(s[i], p[j]) - compact)
            if sympy.expand(difference.as_numer_denom()[0]) != 0:
                raise AssertionError(f"softmax Jacobian entry ({i}, {j}) does not simplify")
    return True


@lru_cache(maxsize=None)
def _output_derivative(act: Activation) -> sympy.Expr:
    """f'(z) with f(z) written as the output a where that is how it is known."""
    expr = act.numeric(act.derivative(z))
    return expr.subs(act.numeric(act.symbolic(z)), OUTPUT) if act.name in ("sigmoid", "tanh") else expr
