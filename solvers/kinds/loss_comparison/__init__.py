"""Comparing losses of candidate predictions for a one-hot target, and which losses SGD can
minimize.

SymPy substitutes the one-hot target into each loss (NLL −Σ yᵢ ln gᵢ, squared (1 − g yᵀ)²,
accuracy −1 when argmax g = argmax y), so each reduces to a function of the true class's
entry (or of the argmax); it proves the reduced NLL and squared losses strictly decreasing in
that entry (the reason the candidate giving the true class the most probability wins) and
differentiates every loss with respect to g (a loss with an identically zero gradient gives
SGD nothing to follow). The reference is torch: nll_loss of log g, argmax, autograd.

Quantity keys: y (the one-hot target), g{k} (candidate k, from 1), top{k} (its predicted class,
1-based, with accuracy); per loss name L (nll, squared, accuracy): L{k} (its value for
candidate k), best_L (the 1-based index of the smallest, nll and squared only) and, when SGD
is asked, sgd_L (1 when its gradient is not identically zero).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import sympy
from pydantic import BeforeValidator, Field, StrictInt, StringConstraints

from ... import formula as F
from ...core import FieldError, Model, Number, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ... import mistakes as M
from ...kind import Kind, Parts
from ...solution import Answer, Item

if TYPE_CHECKING:  # torch is imported where a reference runs: a cached build never loads it
    import torch

LOSSES = ("nll", "squared", "accuracy")
RANKED = ("nll", "squared")
BASES = {"nll": r"L_{\mathrm{NLL}}", "squared": r"L_{\mathrm{squared}}", "accuracy": r"L_{\mathrm{accuracy}}"}
TOLERANCE = 1e-9
ARGMAX = sympy.Symbol("A", integer=True, positive=True)

Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 .'-]*$", max_length=24)]
Probabilities = Annotated[list[Number], Field(min_length=2, max_length=10)]


def _not_boolean(value):
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a target; expected a class index (0, 1, ...), a one-hot list "
                         "or one of the labels")
    return value


class Ask(Model):
    sgd: bool = False


class Spec(SpecBase):
    kind: Literal["loss_comparison"]
    labels: Annotated[list[Label], Field(min_length=2, max_length=10)] | None = None
    target: Annotated[StrictInt | Probabilities | Label, BeforeValidator(_not_boolean)]
    candidates: Annotated[list[Probabilities], Field(min_length=2, max_length=10)]
    losses: Annotated[list[Literal[LOSSES]], Field(min_length=1)] = ["nll"]  # type: ignore[valid-type]
    ask: Ask = Ask()


def classes(spec: Spec) -> tuple[int, str]:
    """The number of classes and where it comes from."""
    if spec.labels:
        return len(spec.labels), "labels"
    if isinstance(spec.target, list):
        return len(spec.target), "target"
    return len(spec.candidates[0]), "candidates[0]"


def true_class(spec: Spec) -> int:
    """The 0-based index of the true class."""
    if isinstance(spec.target, int):
        return spec.target
    if isinstance(spec.target, str):
        return spec.labels.index(spec.target)
    return spec.target.index(1)


def check(spec: Spec) -> None:
    n, source = classes(spec)
    if spec.labels and len(set(spec.labels)) < n:
        raise FieldError("labels", f"{spec.labels} repeats a label; expected {n} different class names")
    _check_target(spec.target, spec.labels, n, source)
    for k, g in enumerate(spec.candidates):
        where = f"candidates[{k}]"
        if len(g) != n:
            raise FieldError(where, f"has {len(g)} entries but there are {n} classes (from {source}); "
                             f"expected {n} probabilities")
        for i, v in enumerate(g):
            if v < 0:
                raise FieldError(f"{where}[{i}]", f"is {v}; expected a probability (at least 0)")
        if abs(sum(g) - 1) > TOLERANCE:
            raise FieldError(where, f"sums to {sum(g):.12g}; expected probabilities summing to 1 (within 1e-9)")
    if len(set(spec.losses)) < len(spec.losses):
        raise FieldError("losses", f"{spec.losses} lists a loss twice; expected each loss at most once")
    c = true_class(spec)
    true = [g[c] for g in spec.candidates]
    if "nll" in spec.losses:
        for k, p in enumerate(true):
            if p == 0:
                raise FieldError(f"candidates[{k}][{c}]", "is 0, the probability of the true class, so its NLL "
                                 "loss is infinite; expected a positive probability")
    if any(loss in RANKED for loss in spec.losses):
        for k in range(len(true)):
            for j in range(k):
                if abs(true[k] - true[j]) <= TOLERANCE:
                    raise FieldError(f"candidates[{k}]", f"gives the true class the same probability {true[k]} as "
                                     f"candidates[{j}], so the smallest loss could be a tie; expected different "
                                     "probabilities of the true class")


def _check_target(target, labels, n: int, source: str) -> None:
    if isinstance(target, str):
        if not labels:
            raise FieldError("target", f"{target!r} is a class name but the problem has no labels; expected a class "
                             "index or a one-hot list, or add labels")
        if target not in labels:
            raise FieldError("target", f"{target!r} is not one of the labels {labels}")
    elif isinstance(target, int):
        if not 0 <= target < n:
            raise FieldError("target", f"class index {target} is out of range; expected 0 to {n - 1} (classes are "
                             "numbered from 0)")
    elif len(target) != n:
        raise FieldError("target", f"has {len(target)} entries but there are {n} classes (from {source})")
    elif sorted(target) != [0] * (n - 1) + [1]:
        raise FieldError("target", f"{target} is not one-hot; expected a single 1 and zeros elsewhere")


# -- derivation -----------------------------------------------------------------------------------

def _display(expr, names: dict) -> F.Node:
    """A SymPy expression as a display formula (the symbols in `names` as their nodes)."""
    if expr in names:
        return names[expr]
    if expr.is_Number:
        return F.Num(float(expr))
    if isinstance(expr, sympy.log):
        return F.Log(_display(expr.args[0], names))
    if expr.is_Add:
        return F.Add(*[_display(t, names) for t in expr.as_ordered_terms()])
    if expr.is_Mul and expr.as_coeff_Mul()[0] < 0:
        return F.Neg(_display(-expr, names))
    numerator, denominator = sympy.fraction(expr)
    if denominator != 1:
        return F.Frac(_display(numerator, names), _display(denominator, names))
    if expr.is_Mul:
        return F.Mul(*[_display(f, names) for f in sympy.Mul.make_args(expr)])
    if expr.is_Pow:
        return F.Pow(_display(expr.base, names), _display(expr.exp, names))
    return F.Sym(expr, tuple((s, names[s]) for s in sorted(expr.free_symbols, key=str)))


def _first(values: list, largest: bool = False) -> sympy.Expr:
    """The 1-based position of the first largest (or smallest) of `values`, as numpy and torch pick it."""
    before, after = (sympy.StrictGreaterThan, sympy.GreaterThan) if largest else (sympy.StrictLessThan, sympy.LessThan)
    cases = [(k + 1, sympy.And(*[before(v, w) for w in values[:k]], *[after(v, w) for w in values[k + 1:]]))
             for k, v in enumerate(values[:-1])]
    return sympy.Piecewise(*cases, (len(values), True))


def _general(loss: str, y: list, g: list) -> sympy.Expr:
    """The loss of prediction g for target y as the problem defines it (accuracy in terms of ARGMAX = argmax g)."""
    if loss == "nll":
        return -sum(yi * sympy.log(gi) for yi, gi in zip(y, g))
    if loss == "squared":
        return (1 - sum(gi * yi for gi, yi in zip(g, y))) ** 2
    return sympy.Piecewise((-1, sympy.Eq(ARGMAX, _first(y, largest=True))), (0, True))


@dataclass(frozen=True)
class Structure:
    """The numbers of classes and candidates, the true class, the losses compared and what is asked."""
    classes: int
    candidates: int
    true_class: int  # 0-based
    losses: tuple[str, ...]
    sgd: bool
    labels: tuple[str, ...] | None


def structure(spec: Spec) -> Structure:
    return Structure(classes(spec)[0], len(spec.candidates), true_class(spec), tuple(spec.losses), spec.ask.sgd,
                     tuple(spec.labels) if spec.labels else None)


def derive(s: Structure) -> Derivation:
    n, c, losses = s.classes, s.true_class, s.losses
    y = Quantity.named("y", n, 1, "y")
    candidates = [Quantity.named(f"g{k}", n, 1, "g", k) for k in range(1, s.candidates + 1)]
    g = F.Var("g", "g", "vector")
    p = [sympy.Symbol(f"p{i}", positive=True) for i in range(n)]
    generic = {p[i]: g.entry(i) for i in range(n)} | {ARGMAX: F.Call("argmax", g)}
    reduced = {loss: _general(loss, [int(i == c) for i in range(n)], p) for loss in losses}
    sections = [_loss_section(loss, reduced[loss], p, c, candidates, generic, s.labels) for loss in losses]
    if s.sgd:
        in_p = {loss: r.subs(ARGMAX, _first(p, largest=True)) for loss, r in reduced.items()}
        sections.append(_sgd_section(losses, in_p, p, c, generic))
    derivation = Derivation([y, *candidates], sections)
    return derivation


def _loss_section(loss, reduced, p, c, candidates, generic, labels) -> Section:
    steps = []
    for k, g in enumerate(candidates, 1):
        target = Quantity.named(f"{loss}{k}", 1, 1, BASES[loss], k)
        if loss == "accuracy":
            top = Quantity.named(f"top{k}", 1, 1, r"\hat{c}", k)
            entries = tuple(g.entry(i) for i in range(len(p)))
            steps.append(Step("predicted_class", top, F.Call("argmax", F.Grid((entries,))),
                              sympy.Matrix([[_first(list(g.elements), largest=True)]]), {"candidate": k}))
            names = {ARGMAX: top.symbol}
            compute = reduced.subs(ARGMAX, top.elements[0])
        else:
            names = {s: g.entry(i) for i, s in enumerate(p)}
            compute = reduced.subs(dict(zip(p, g.elements)))
        steps.append(Step("candidate_loss", target, _display(reduced, names), sympy.Matrix([[compute]]),
                          {"loss": loss, "candidate": k}))
    facts = {"loss": loss, "c": c, "labels": labels, "reduced": _display(reduced, generic),
             "entry": generic[p[c]], "n": len(p)}
    if loss in RANKED:
        slope = sympy.diff(reduced, p[c])
        if not sympy.is_strictly_decreasing(reduced, sympy.Interval.open(0, 1), p[c]):
            raise ArithmeticError(f"{loss}: SymPy could not show the loss decreasing in the true class's entry")
        losses = [s.target for s in steps]
        best = Quantity.named(f"best_{loss}", 1, 1, BASES[loss].replace("L", "k^{*}", 1))
        formula = F.Call("argmin", F.Grid((tuple(q.symbol for q in losses),)))
        compute = sympy.Matrix([[_first([q.elements[0] for q in losses])]])
        steps.append(Step("best_candidate", best, formula, compute,
                          {**facts, "slope": _display(slope, generic), "candidates": candidates,
                           "losses": losses}))
    return Section("loss_values", steps, facts)


def _sgd_section(losses, in_p, p, c, generic) -> Section:
    steps = []
    for loss in losses:
        gradient = [sympy.simplify(sympy.diff(in_p[loss], s)) for s in p]
        usable = any(d != 0 for d in gradient)
        zeros = sympy.solveset(gradient[c], p[c], sympy.Interval.Lopen(0, 1)) if usable else sympy.EmptySet
        row = F.Transpose(F.Grid((tuple(_display(d, generic) for d in gradient),)))
        partial = F.Partial(f"sgd_{loss}", F.Var("L", BASES[loss]), F.Var("g", "g", "vector"))
        target = Quantity(f"sgd_{loss}", (1, 1), F.Var(f"sgd_{loss}", r"\mathrm{SGD}"))
        steps.append(Step("sgd_gradient", target, F.Relation(partial, "!=" if usable else "==", F.Num(0)),
                          sympy.Matrix([[int(usable)]]),
                          {"loss": loss, "partial": partial, "gradient": row, "usable": usable,
                           "entry": generic[p[c]], "slope": _display(gradient[c], generic),
                           "zeros": [float(z) for z in zeros]}))
    return Section("sgd", steps, {"losses": losses})


# -- solution -------------------------------------------------------------------------------------

def given_values(spec: Spec) -> dict[str, np.ndarray]:
    n, c = classes(spec)[0], true_class(spec)
    values = {"y": np.array([[float(i == c)] for i in range(n)])}
    values.update({f"g{k}": np.array(g, dtype=float).reshape(-1, 1) for k, g in enumerate(spec.candidates, 1)})
    return values


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    quantities = derivation.quantities
    n, c, m = classes(spec)[0], true_class(spec), len(spec.candidates)
    candidates = [quantities[f"g{k}"] for k in range(1, m + 1)]
    givens = [Item("target", {"y": quantities["y"], "c": c, "n": n, "labels": spec.labels}),
              Item("candidates", {"candidates": candidates, "n": n})]
    questions = [Item("compare_losses", {"losses": spec.losses, "ranked": [x for x in spec.losses if x in RANKED]})]
    if spec.ask.sgd:
        questions.append(Item("sgd_losses", {"losses": spec.losses}))
    conventions = [Item("numbering", {"labels": spec.labels})] + [Item(f"definition_{x}") for x in spec.losses]
    answers = []
    for loss in spec.losses:
        answers += [Answer(f"loss.{loss}.{k}", f"{loss}{k}", quantities[f"{loss}{k}"].symbol, values[f"{loss}{k}"])
                    for k in range(1, m + 1)]
        if loss in RANKED:
            best = quantities[f"best_{loss}"]
            answers.append(Answer(f"best.{loss}", best.key, best.symbol, values[best.key], integer=True))
    if spec.ask.sgd:
        for step in derivation.sections[-1].steps:
            answers.append(Answer(f"sgd.{step.facts['loss']}", step.target.key,
                                  F.Relation(step.facts["partial"], "!=", F.Num(0)), values[step.target.key],
                                  boolean=True))
    return Parts(givens, questions, conventions, answers)


# -- reference ------------------------------------------------------------------------------------

def _torch_losses(loss: str, G: torch.Tensor, target: int) -> torch.Tensor:
    """The loss of each row of G (a batch of predictions) for the class `target`."""
    import torch
    labels = torch.full((G.shape[0],), target, dtype=torch.long)
    if loss == "nll":
        return torch.nn.functional.nll_loss(torch.log(G), labels, reduction="none")
    if loss == "squared":
        y = torch.nn.functional.one_hot(labels, G.shape[1]).to(torch.float64)
        return (1 - (G * y).sum(dim=1)) ** 2
    return -(torch.argmax(G, dim=1) == labels).to(torch.float64)


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Every value from float64 torch: nll_loss of log g, argmin, argmax, autograd gradients."""
    import torch
    n, c = classes(spec)[0], true_class(spec)
    out = {"y": torch.nn.functional.one_hot(torch.tensor(c), n).double().numpy().reshape(-1, 1)}
    G = torch.tensor(spec.candidates, dtype=torch.float64)
    for k, row in enumerate(G, 1):
        out[f"g{k}"] = row.numpy().reshape(-1, 1)
    probes = torch.stack([torch.softmax(torch.linspace(-1.0, 1.0, n, dtype=torch.float64), 0),
                          torch.full((n,), 1.0 / n, dtype=torch.float64)])
    for loss in spec.losses:
        values = _torch_losses(loss, G, c)
        for k, value in enumerate(values, 1):
            out[f"{loss}{k}"] = np.array([[value.item()]])
        if loss == "accuracy":
            for k, top in enumerate(torch.argmax(G, dim=1), 1):
                out[f"top{k}"] = np.array([[float(top.item() + 1)]])
        if loss in RANKED:
            out[f"best_{loss}"] = np.array([[float(torch.argmin(values).item() + 1)]])
        if spec.ask.sgd:
            jacobian = torch.autograd.functional.jacobian(lambda P, loss=loss: _torch_losses(loss, P, c).sum(), probes)
            out[f"sgd_{loss}"] = np.array([[float(bool(jacobian.abs().max() > 0))]])
    return out


KIND = Kind("loss_comparison", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check,
            mistakes=(M.LOG_BASE_10, M.LOSS_SIGN_DROPPED, M.ROUNDED_INTERMEDIATES))
