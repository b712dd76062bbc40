"""The loss of a network derivation: its step (one example or a batch, summed or averaged),
the loss as a SymPy expression of the output, and ∂L/∂a of the output differentiated by SymPy.
`b` is the derivation's builder (its structure, its examples' layout and its quantities)."""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ... import formula as F
from ...derivation import Quantity, Step
from .examples import FEW_EXAMPLES, shown_as


@dataclass(frozen=True)
class _Generic:
    """One generic output entry a_i with target y_i, of an output of n entries."""
    a: sympy.Symbol
    y: sympy.Symbol
    n: int


def loss_step(b, outputs, suffix: str) -> Step:
    (p, a), (kind_, half, reduction) = outputs[-1], b.s.loss
    L = Quantity(f"L{suffix}", (1, 1), F.Var(f"L{suffix}", b.s.loss_name))
    n, y, batch = b.s.outputs, b.y, b.s.batch
    examples = list(zip(b.ex.split(p), b.ex.split(a), b.ex.split(y)))
    over = "n" if batch else None  # the index of the examples in the formula
    def entry(q, i):  # entry i (of example n in a batch); a 1×1 quantity is its own entry
        return b.ex.at(q, i, over)
    if kind_ == "cross_entropy":
        body = F.Sum("i", F.Mul(entry(y, "i"), F.Log(entry(a, "i"))))
        terms = [F.Mul(b.ex.at(y, i, k), F.Log(b.ex.at(a, i, k))) for k in range(max(batch, 1)) for i in range(n)]
        formula, expanded = F.Neg(body), F.Neg(F.Add(*terms))
        largest = [sympy.Max(*ps, evaluate=False) for ps, _, _ in examples]
        per_example = [m + sympy.log(sum(sympy.exp(q - m) for q in ps)) - sum(t * q for t, q in zip(ys, ps))
                       for m, (ps, _, ys) in zip(largest, examples)]
    elif kind_ == "binary_cross_entropy":
        one, a1, y1 = F.Num(1), entry(a, 0), entry(y, 0)
        formula = F.Neg(F.Add(F.Mul(y1, F.Log(a1)), F.Mul(F.Paren(F.Sub(one, y1)), F.Log(F.Sub(one, a1)))))
        expanded = None
        per_example = [sympy.Max(ps[0], 0) - ps[0] * ys[0] + sympy.log(1 + sympy.exp(-sympy.Abs(ps[0])))
                       for ps, _, ys in examples]
    else:
        scale = (sympy.Rational(1, 2) if half else 1) / (n if reduction == "mean" else 1)
        square = F.Pow(F.Sub(entry(a, "i"), entry(y, "i")), F.Num(2))
        body = F.Sum("i", square) if n > 1 else F.Pow(F.Sub(entry(a, 0), entry(y, 0)), F.Num(2))
        formula = F.Mul(F.Sym(scale), body) if scale != 1 else body
        terms = F.Add(*[F.Pow(F.Sub(b.ex.at(a, i, k), b.ex.at(y, i, k)), F.Num(2))
                        for k in range(max(batch, 1)) for i in range(n)])
        expanded = None if n == 1 and not batch else terms
        per_example = [scale * sum((q - t) ** 2 for q, t in zip(qs, ys)) for _, qs, ys in examples]
        scale_shown = scale
    if batch:
        formula = F.Sum("n", F.Paren(formula) if kind_ != "squared_error" or scale == 1 else formula)
    batch_scale = sympy.Rational(1, batch) if batch and b.s.batch_reduction == "mean" else 1
    shown_scale = batch_scale * (scale_shown if kind_ == "squared_error" else 1)
    if batch and batch_scale != 1:
        formula = F.Mul(F.Sym(batch_scale), formula)
    if expanded is not None and kind_ == "squared_error":
        expanded = F.Mul(F.Sym(shown_scale), F.Paren(expanded)) if shown_scale != 1 else expanded
    elif expanded is not None and batch_scale != 1:
        expanded = F.Mul(F.Sym(-batch_scale), F.Paren(expanded.arg))
    if batch and len(examples) * n > 2 * FEW_EXAMPLES:
        expanded = None  # too many terms to write out
    parts = [(L.symbol, expanded)] if expanded else []
    compute = batch_scale * sum(per_example)
    step = Step("loss", L, formula, sympy.Matrix([[compute]]),
                {"loss": kind_, "half": half, "reduction": reduction, "outputs": n, "batch": batch,
                 "batch_reduction": b.s.batch_reduction}, parts)
    return step

def loss_expression(b, a: Quantity | _Generic) -> sympy.Expr:
    """L as a SymPy expression of the output's entries, to differentiate."""
    kind_, half, reduction = b.s.loss
    if isinstance(a, _Generic):
        examples, n = [([a.a], [a.y])], a.n
    else:
        examples, n = list(zip(b.ex.split(a), b.ex.split(b.y))), b.s.outputs
    if kind_ == "cross_entropy":
        per_example = [-sum(t * sympy.log(q) for q, t in zip(av, yv)) for av, yv in examples]
    elif kind_ == "binary_cross_entropy":
        per_example = [-(yv[0] * sympy.log(av[0]) + (1 - yv[0]) * sympy.log(1 - av[0])) for av, yv in examples]
    else:
        scale = (sympy.Rational(1, 2) if half else 1) / (n if reduction == "mean" else 1)
        per_example = [scale * sum((q - t) ** 2 for q, t in zip(av, yv)) for av, yv in examples]
    batch = b.s.batch
    return sum(per_example) / (batch if batch and b.s.batch_reduction == "mean" else 1)


def loss_gradient(b, a: Quantity, g: Quantity) -> Step:
    """∂L/∂a of the output, entry by entry, differentiated by SymPy; the formula shown
    is the derivative of one generic entry i (of example n in a batch)."""
    expr = loss_expression(b, a)
    compute = a.elements.applyfunc(lambda q: sympy.diff(expr, q))
    ai, yi = sympy.symbols("a_i y_i", real=True)
    generic = sympy.factor_terms(sympy.diff(loss_expression(b, _Generic(ai, yi, b.s.outputs)), ai))
    over = "n" if b.s.batch else None
    formula = F.Sym(generic, ((ai, b.ex.at(a, "i", over)), (yi, b.ex.at(b.y, "i", over))))
    parts = [(b.ex.at(g, i, n), shown_as(sympy.factor_terms(compute[b.ex.index(a, i, n)]), a, b.y))
             for i, n in b.ex.entries(a)] if b.ex.shown else []
    return Step("loss_gradient", g, formula, compute,
                {"loss": b.s.loss[0], "entry": b.ex.at(g, "i", over)}, parts if a.shape != (1, 1) else [])

