"""A derivation as data: quantities, steps that define them, and their evaluation.

A `Step` defines one `Quantity` twice: as a display formula (`solvers.formula`, for the
reader) and as element-wise SymPy expressions over the entries of earlier quantities (for
evaluation). A `Derivation` is built once per problem *structure*; `compile()` turns every
step into a lambdified function (with common-subexpression elimination), so new numbers
only re-evaluate. Replaying a step with another expression (a mistake, a convention) is a
matter of evaluating with that step's `compute` swapped.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Mapping

import numpy as np
import sympy

from . import formula as F
from .lambdified import lambdify
from .timing import timed


@dataclass(frozen=True)
class Quantity:
    """A named value of a derivation: a scalar, a column vector or a matrix."""
    key: str
    shape: tuple[int, int]
    symbol: F.Var | F.Partial
    role: str = ""  # what a given is ("bias", "filter": for mistakes; "chosen": picked by the solution, not the problem)

    @classmethod
    def named(cls, key: str, rows: int, cols: int, base: str, layer: int | None = None, primes: int = 0,
              style: str | None = None, role: str = "") -> "Quantity":
        """A rows × cols quantity shown as `base` (with the layer as a superscript); its style
        (scalar, bold vector or matrix) follows from the shape unless given."""
        style = style or ("scalar" if rows == cols == 1 else ("vector" if cols == 1 else "matrix"))
        return cls(key, (rows, cols), F.Var(key, base, style, layer, (), primes), role)

    def at(self, *index) -> F.Var | F.Partial:
        """The display symbol of one entry; a 1×1 quantity is its own only entry."""
        return self.symbol if self.shape == (1, 1) else self.entry(*index)

    @cached_property
    def elements(self) -> sympy.Matrix:
        """One SymPy symbol per entry, for use in later steps' expressions (built once)."""
        rows, cols = self.shape
        return sympy.Matrix(rows, cols, lambda i, j: element_symbol(self.key, i, j))

    def entry(self, i: int, j: int | None = None) -> F.Var | F.Partial:
        """The display symbol of one entry (vectors take one index: a column's second index is dropped)."""
        base = self.symbol.wrt if isinstance(self.symbol, F.Partial) else self.symbol
        vector = self.shape[1] == 1 and base.shape == "vector"
        return self.symbol.entry(i) if j is None or vector else self.symbol.entry(i, j)


@dataclass
class Step:
    """One idea of the solution: `target` = `formula`, evaluated by `compute`.

    `kind` selects the prose template; `facts` carries whatever else that template shows
    (a local derivative as SymPy, a learning rate, ...); `parts` are per-entry expansions
    (entry symbol, formula over entries) shown with the numbers plugged in."""
    kind: str
    target: Quantity
    formula: F.Node
    compute: sympy.Matrix
    facts: dict[str, Any] = field(default_factory=dict)
    parts: list[tuple[F.Node, F.Node]] = field(default_factory=list)


@dataclass
class Section:
    """A titled group of steps (the forward pass, the backward pass, an SGD step, ...)."""
    kind: str
    steps: list[Step]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Derivation:
    """The given quantities and the sections of steps that derive everything else."""
    givens: list[Quantity]
    sections: list[Section]

    @property
    def steps(self) -> list[Step]:
        return [step for section in self.sections for step in section.steps]

    @property
    def quantities(self) -> dict[str, Quantity]:
        """Every quantity by key: the givens, then each step's target."""
        return {q.key: q for q in self.givens} | {step.target.key: step.target for step in self.steps}

    def compile(self) -> "Evaluator":
        return Evaluator(self)

    def replacing(self, compute: Callable[[Step], sympy.Matrix | None]) -> "Derivation":
        """The same derivation with each step for which `compute` returns an expression
        evaluated by that expression instead (replaying a mistake or another convention)."""
        def swap(step: Step) -> Step:
            new = compute(step)
            return step if new is None else replace(step, compute=new)
        return Derivation(self.givens, [Section(s.kind, [swap(step) for step in s.steps], s.facts)
                                        for s in self.sections])


After = Callable[[Quantity, np.ndarray], "np.ndarray | None"]


class Evaluator:
    """Lambdified steps of a derivation; `evaluate` feeds numbers through them in order."""

    def __init__(self, derivation: Derivation):
        self.derivation = derivation
        self.functions: list[tuple[Quantity, list[tuple[str, int, int]], Callable]] = []
        for step in derivation.steps:
            free = sorted(step.compute.free_symbols, key=lambda s: s.name)
            function = lambdify(free, step.compute)
            self.functions.append((step.target, [_address(s) for s in free], function))

    def evaluate(self, givens: Mapping[str, np.ndarray], after: After | None = None) -> dict[str, np.ndarray]:
        """Every quantity's value (float64 matrices), from the given quantities' values.
        `after(quantity, value)` may replace each step's value as it is computed (a
        student's own earlier value carried forward, a rounding), or return None to keep it."""
        with timed("evaluation"):
            return self._evaluate(givens, after)

    def _evaluate(self, givens: Mapping[str, np.ndarray], after: After | None) -> dict[str, np.ndarray]:
        values = {key: np.asarray(value, dtype=float).reshape(_shape_of(self.derivation, key))
                  for key, value in givens.items()}
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for target, addresses, function in self.functions:
                args = [values[key][i, j] for key, i, j in addresses]
                result = np.asarray(function(*args), dtype=float).reshape(target.shape)
                replaced = after(target, result) if after else None
                if replaced is not None:
                    result = np.asarray(replaced, dtype=float).reshape(target.shape)
                values[target.key] = result
        return values


def element_symbol(key: str, i: int, j: int) -> sympy.Symbol:
    """The symbol of entry (i, j) of quantity `key`, named as a valid Python identifier
    (lambdify is much faster when it need not rename symbols)."""
    return sympy.Symbol(f"{key.replace('+', '__')}_{i}_{j}", real=True)


def _address(symbol: sympy.Symbol) -> tuple[str, int, int]:
    key, i, j = symbol.name.rsplit("_", 2)
    return key.replace("__", "+"), int(i), int(j)


def _shape_of(derivation: Derivation, key: str) -> tuple[int, int]:
    for quantity in derivation.givens:
        if quantity.key == key:
            return quantity.shape
    raise KeyError(f"{key!r} is not a given quantity of this derivation")
