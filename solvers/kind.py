"""The interface every problem kind implements, and the scaffolding they share.

A kind is one folder of `solvers/kinds/` that builds a `Kind` and is listed in the registry
(`solvers/kinds/__init__.py`). It says what its problem files look like (`Spec`, `check`),
what of a problem decides the derivation (`structure`: everything but the numbers,
hashable), how to derive it (`derive`, run once per structure and compiled), the numbers a
problem gives (`given_values`), what the reader is shown besides the steps (`present`; its
answers alone, when a kind can make them cheaper, `answers`), an
independent torch computation of every value (`reference`), and what makes a random
variant a good exercise (`constraints`, `mistakes`). Solving is the same for every kind and
written once here: derive once per structure, evaluate at the numbers, package a Solution.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Generic, Hashable, Mapping, TypeVar

import numpy as np

from .codec import remembered
from .core import Constraint, FieldError, SpecBase
from .derivation import Derivation, Evaluator
from .solution import Answer, Item, Solution, with_tolerances
from .timing import timed

SpecT = TypeVar("SpecT", bound=SpecBase)
StructureT = TypeVar("StructureT", bound=Hashable)
Values = dict[str, np.ndarray]


@dataclass
class Parts:
    """What a solution shows around its derivation, built by a kind's `present`."""
    givens: list[Item]
    questions: list[Item]
    conventions: list[Item]
    answers: list[Answer]
    closing: list[Item] = field(default_factory=list)  # after the steps: figures, exact forms
    values: Values = field(default_factory=dict)  # shown values computed outside the derivation


@dataclass(frozen=True, eq=False)
class Kind(Generic[SpecT, StructureT]):
    """One kind of problem. Instances are singletons (compared and hashed by identity)."""
    name: str
    Spec: type[SpecT]
    structure: Callable[[SpecT], StructureT]
    derive: Callable[[StructureT], Derivation]
    given_values: Callable[[SpecT], Values]
    present: Callable[[SpecT, Derivation, Values], Parts]
    reference: Callable[[SpecT], Mapping[str, np.ndarray]]
    folder: Path  # the kind's own folder: prose/ templates and README.md
    check: Callable[[SpecT], None] = lambda spec: None
    constraints: Mapping[str, Constraint] = field(default_factory=dict)
    mistakes: tuple[Any, ...] = ()  # solvers.mistakes.Mistake entries that apply to this kind
    counts_from_zero: bool = False  # whether its sheets can number entries and classes from 0 (count_from)
    uses_prose: tuple[str, ...] = ()  # other kinds whose prose macros its solutions also use (their items, steps)
    answers: Callable[[SpecT, Derivation, Values], list[Answer]] | None = None  # present's answers, without the rest

    def answers_at(self, spec: SpecT, derivation: Derivation, values: Values) -> list[Answer]:
        """The answers `present` would give at `values` (a mistake's replay asks for nothing
        else: no givens, no figures laid out)."""
        if self.answers is not None:
            return self.answers(spec, derivation, values)
        return self.present(spec, derivation, values).answers

    def validate(self, spec: SpecT) -> None:
        """What a schema cannot see: the kind's own `check`, and the fields every kind shares."""
        if spec.count_from == 0 and not self.counts_from_zero:
            raise FieldError("count_from", f"is 0, but {self.name} problems number their entries and classes "
                             "from 1; expected 1 (or leave it out)")
        self.check(spec)

    def compiled(self, structure: StructureT) -> tuple[Derivation, Evaluator]:
        """The derivation for `structure` and its evaluator, derived once (cached)."""
        return _compiled(self, structure)

    def solve(self, spec: SpecT, name: str = "") -> Solution:
        """Evaluate the derivation of `spec`'s structure at its numbers."""
        derivation, evaluator = self.compiled(self.structure(spec))
        values = evaluator.evaluate(self.given_values(spec))
        parts = self.present(spec, derivation, values)
        values.update(parts.values)
        _check_finite(derivation, values)
        return Solution(name, self.name, spec.title, spec.statement, spec.notes, spec.digits, parts.givens,
                        parts.questions, [Item("rounding", {"digits": spec.digits})] + parts.conventions,
                        derivation, values,
                        with_tolerances(parts.answers, spec.tolerance), parts.closing,
                        spec.instructor_notes, spec.count_from)


class NotFinite(FieldError):
    """A value that overflowed float64 (or is undefined) although the problem's numbers are finite."""


def _check_finite(derivation: Derivation, values: Values) -> None:
    """Every value is a finite number, except those a kind computes to show an overflow
    (role "overflow"); else a FieldError naming the first quantity that is not."""
    shown = derivation.quantities
    for key, value in values.items():
        if shown.get(key) is not None and shown[key].role == "overflow":
            continue
        if not np.all(np.isfinite(value)):
            raise NotFinite("", f"the value of {key} is {'infinite' if np.any(np.isinf(value)) else 'undefined'} "
                            "in float64; expected numbers (inputs, weights, learning rates, steps) whose results stay "
                            "finite: make them smaller")


@lru_cache(maxsize=512)
def _compiled(kind: Kind, structure: Hashable) -> tuple[Derivation, Evaluator]:
    with timed("derivation"):
        derivation = remembered(kind.name, structure, kind.derive)
        return derivation, derivation.compile()
