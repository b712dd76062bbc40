"""The optimiser steps of a network derivation, in PyTorch's form: SGD (`torch.optim.SGD`,
with momentum, Nesterov momentum and weight decay) and Adam (`torch.optim.Adam`, with weight
decay as an L2 term added to the gradient). One section per step; the state an optimiser
carries from step to step (velocity, moment estimates) is a quantity of its own."""
from __future__ import annotations

import numpy as np
import sympy

from ... import formula as F
from ...core import FieldError
from ...derivation import Quantity, Section, Step

FULL_STEPS = 3  # optimiser steps all shown in full; of more, the first is, and a table gives them all
TABLE_COLUMNS = 8  # columns of numbers in one table of the later steps
SYMBOLS = {"eta": "eta", "mu": "mu", "decay": "lambda", "beta1": "beta_1", "beta2": "beta_2", "eps": "epsilon"}


def hyperparameters(optimizer: tuple[str, ...]) -> list[str]:
    """The keys of the numbers an optimiser takes: η always; μ with momentum; β₁, β₂, ε for
    Adam; λ with weight decay."""
    name, terms = optimizer[0], optimizer[1:]
    return (["eta"] + (["mu"] if "momentum" in terms else []) + (["beta1", "beta2", "eps"] if name == "adam" else [])
            + (["decay"] if "decay" in terms else []))


def optimizer_terms(ask) -> tuple[str, ...]:
    """The optimiser's name and the terms its update has (what its derivation depends on)."""
    if ask.sgd and ask.adam:
        raise FieldError("ask.adam", "is given together with ask.sgd; expected one optimiser")
    if ask.adam:
        return ("adam",) + (("decay",) if ask.adam.weight_decay else ())
    sgd = ask.sgd
    if sgd is None:
        return ("sgd",)
    if sgd.nesterov and not sgd.momentum:
        raise FieldError("ask.sgd.nesterov", "needs momentum (as in PyTorch); expected a momentum > 0")
    return ("sgd",) + (("momentum",) if sgd.momentum else ()) + (("nesterov",) if sgd.nesterov else ()) + (
        ("decay",) if sgd.weight_decay else ())


def optimizer_values(ask) -> dict[str, np.ndarray]:
    """The optimiser's numbers by key (η, μ, λ, β₁, β₂, ε)."""
    o = ask.optimizer
    if o is None:
        return {}
    numbers = {"eta": o.learning_rate, "decay": o.weight_decay}
    numbers.update({"mu": o.momentum} if ask.sgd else {"beta1": o.betas[0], "beta2": o.betas[1], "eps": o.eps})
    return {key: np.array([[float(value)]]) for key, value in numbers.items() if key in hyperparameters(optimizer_terms(ask))}


def _state(key: str, letter: str, old: Quantity, k: int) -> Quantity:
    """The optimiser's `letter` (v, m, s, m̂, ŝ) of parameter `old` after step k, named after it: v_W^{(1)}."""
    symbol = old.symbol
    name = symbol.base.replace("_", "")  # one subscript: v_W, m̂_{W1} for a parameter named W_1
    return Quantity.named(f"{letter}{key}+{k}", *old.shape, f"{letter}_{name}", symbol.layer, k if k <= 3 else 0)


class Optimizer:
    """Derives the update of every trained parameter, step after step."""

    def __init__(self, optimizer: tuple[str, ...]):
        self.name, self.terms = optimizer[0], optimizer[1:]
        self.h = {key: Quantity.named(key, 1, 1, SYMBOLS[key]) for key in hyperparameters(optimizer)}
        self.state: dict[str, dict[str, Quantity]] = {}  # parameter key → its v (or m, s) of the step before

    @property
    def givens(self) -> list[Quantity]:
        return list(self.h.values())

    def _number(self, key: str) -> sympy.Symbol:
        return self.h[key].elements[0, 0]

    def update(self, key: str, old: Quantity, grad: Quantity, new: Quantity, k: int) -> list[Step]:
        """The steps that take parameter `old` (key W1, b2, ...) to `new` at step k."""
        g, g_shown = grad.elements, grad.symbol
        if "decay" in self.terms:  # L2 weight decay: the gradient of L + (λ/2)‖θ‖²
            g, g_shown = g + self._number("decay") * old.elements, F.Add(g_shown, F.Mul(self.h["decay"].symbol,
                                                                                          old.symbol))
        grouped = F.Paren(g_shown) if "decay" in self.terms else g_shown  # the gradient as a factor
        if self.name == "adam":
            return self._adam(key, old, g, grouped, new, k)
        eta = self.h["eta"]
        if "momentum" not in self.terms:
            return [Step("sgd_update", new, F.Sub(old.symbol, F.Mul(eta.symbol, grouped)),
                         old.elements - self._number("eta") * g, {"old": old.symbol})]
        mu, before = self.h["mu"], self.state.get(key, {})
        v = _state(key, "v", old, k)
        if "v" in before:
            formula = F.Add(F.Mul(mu.symbol, before["v"].symbol), g_shown)
            compute = self._number("mu") * before["v"].elements + g
        else:  # PyTorch starts the velocity at the first gradient
            formula, compute = g_shown, g
        steps = [Step("momentum_velocity", v, formula, compute, {"first": "v" not in before})]
        self.state[key] = {"v": v}
        if "nesterov" in self.terms:  # a step along the gradient plus the velocity's look-ahead
            direction = F.Paren(F.Add(g_shown, F.Mul(mu.symbol, v.symbol)))
            compute = old.elements - self._number("eta") * (g + self._number("mu") * v.elements)
        else:
            direction, compute = v.symbol, old.elements - self._number("eta") * v.elements
        steps.append(Step("momentum_update", new, F.Sub(old.symbol, F.Mul(eta.symbol, direction)), compute,
                          {"old": old.symbol, "nesterov": "nesterov" in self.terms}))
        return steps

    def _adam(self, key: str, old: Quantity, g: sympy.Matrix, shown: F.Node, new: Quantity, k: int) -> list[Step]:
        """Moment estimates, their bias corrections, and the step (all element-wise); `shown` is the
        gradient as written in a product."""
        b1, b2, eps, eta = (self.h[name] for name in ("beta1", "beta2", "eps", "eta"))
        beta1, beta2, epsilon = (self._number(name) for name in ("beta1", "beta2", "eps"))
        before = self.state.get(key, {})
        m, s, mhat, shat = (_state(key, letter, old, k) for letter in ("m", "s", "mhat", "shat"))
        one = F.Num(1)
        m_formula = F.Mul(F.Paren(F.Sub(one, b1.symbol)), shown)
        s_formula = F.Mul(F.Paren(F.Sub(one, b2.symbol)), F.Hadamard(shown, shown))
        m_compute, s_compute = (1 - beta1) * g, (1 - beta2) * g.multiply_elementwise(g)
        if before:  # PyTorch starts both moments at 0
            m_formula = F.Add(F.Mul(b1.symbol, before["m"].symbol), m_formula)
            s_formula = F.Add(F.Mul(b2.symbol, before["s"].symbol), s_formula)
            m_compute += beta1 * before["m"].elements
            s_compute += beta2 * before["s"].elements
        self.state[key] = {"m": m, "s": s}
        rows, cols = old.shape
        ratio = sympy.Matrix(rows, cols, lambda i, j: mhat.elements[i, j] / (sympy.sqrt(shat.elements[i, j]) + epsilon))
        power = F.Num(k)
        return [
            Step("adam_moment", m, m_formula, m_compute, {"which": "first", "first": not before}),
            Step("adam_moment", s, s_formula, s_compute, {"which": "second", "first": not before}),
            Step("adam_correction", mhat, F.Frac(m.symbol, F.Sub(one, F.Pow(b1.symbol, power))),
                 m.elements / (1 - beta1 ** k), {"which": "first", "step": k}),
            Step("adam_correction", shat, F.Frac(s.symbol, F.Sub(one, F.Pow(b2.symbol, power))),
                 s.elements / (1 - beta2 ** k), {"which": "second", "step": k}),
            Step("adam_update", new, F.Sub(old.symbol, F.Mul(eta.symbol, F.Frac(mhat.symbol, F.Add(
                F.Sqrt(shat.symbol), eps.symbol)))), old.elements - self._number("eta") * ratio, {"old": old.symbol}),
        ]


def later_steps_section(b) -> Section:
    """The loss before each optimiser step and the trained parameters after it, as tables of at
    most TABLE_COLUMNS columns of numbers (a parameter's matrix in each cell)."""
    q = {step.target.key: step.target for section in b.sections for step in section.steps}
    K = b.s.sgd_steps
    trained = [key for l in sorted(b.params) for key in (f"W{l}", f"b{l}") if f"{key}+1" in q]
    initial = {g.key: g for g in b.givens}
    tables, width = [[]], 0
    for key in trained:
        columns = initial[key].shape[1]
        if tables[-1] and width + columns > TABLE_COLUMNS:
            tables.append([])
            width = 0
        tables[-1].append(key)
        width += columns
    return Section("later_steps", [], {
        "steps": K, "L": b.loss_symbol, "losses": [q["L" if k == 1 else f"L+{k - 1}"].symbol for k in range(1, K + 1)],
        "tables": [{"headers": [initial[key].symbol for key in keys],
                    "rows": [[q[f"{key}+{k}"].symbol for key in keys] for k in range(1, K + 1)]} for keys in tables],
        "frozen": [initial[key].symbol for key in sorted(b.s.frozen) if key in initial]})


def update_section(b, gradients: dict[str, Quantity], k: int, facts: dict) -> Section:
    """Step k of the optimiser over every parameter of builder `b` (frozen ones are kept)."""
    steps, new_params, frozen = [], {}, []
    for l, (weights, bias) in b.params.items():
        new_w, new_b = b._params(l, b.s.layers[l - 1], f"+{k}", k if k <= 3 else 0)
        kept = []
        for old, new in ((weights, new_w), (bias, new_b)):
            if old is None:
                continue
            key = old.key.split("+")[0]
            if key in b.s.frozen:  # not trained: the next step uses it as it is
                kept.append(old)
                continue
            steps += b.optimizer.update(key, old, gradients[key], new, k)
        new_params[l] = tuple(old if old in kept else new for old, new in ((weights, new_w), (bias, new_b)))
        frozen += [q.symbol for q in kept]
    b.params = new_params
    shown = {key: q.symbol for key, q in b.optimizer.h.items()}
    return Section("sgd", steps, {**facts, "eta": shown["eta"], "frozen": frozen, "optimizer": b.optimizer.name,
                                  "terms": b.optimizer.terms, "hyper": shown})
