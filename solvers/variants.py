"""Variants: a problem file with random numbers, drawn again until the variant is a good
exercise.

A problem file's optional `variants:` section switches constraints and adds conditions:

    variants:
      tries: 200                  # how many draws before giving up
      constraints:                # built-in; each is on by default for random problems
        kink_margin: 0.05         # (network) no ReLU-type pre-activation within 0.05 of 0
        distinct_classes: true    # (network) no tie for the predicted class
        displayable_probabilities: true  # (network) no probability shown as 0 or 1
        exact_givens: true        # every given number is shown exactly at the sheet's digits
        diagnostic: true          # none of the kind's mistakes (solvers.mistakes) gives the right answers
      require:                    # the problem's own conditions, over its quantities
        - abs(z1) > 0.5

Constraints apply to random problems only: a problem written with fixed numbers is taken as
the TA wrote it.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from . import problem as P
from .core import Constraint
from .randomize import Condition, randomized, sample, sub_seed
from .solution import Solution, displayed

if TYPE_CHECKING:
    from .kind import Kind


def _exact_givens(problem: P.Problem, solution: Solution, setting) -> bool:
    givens = solution.derivation.givens
    return all(np.all(displayed(solution.values[q.key], solution.digits) == solution.values[q.key]) for q in givens)


def _diagnostic(problem: P.Problem, solution: Solution, setting) -> bool:
    from . import mistakes  # SymPy: only once a problem is solved
    return not mistakes.undetected(problem, solution)


DRAW_SECONDS = 30  # drawing one variant stops with an error after this long

COMMON: dict[str, Constraint] = {
    "exact_givens": Constraint(True, _exact_givens, "every given number is shown exactly"),
    "diagnostic": Constraint(True, _diagnostic, "no common mistake gives the right answers"),
}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tries: int = Field(default=200, ge=1, le=100_000)
    constraints: dict[str, float | bool] = {}
    require: list[str] = []


@dataclass
class Template:
    """A problem file as written, random fields still random."""
    path: Path
    kind: Kind
    data: dict
    settings: Settings
    conditions: list[Condition]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def randomized(self) -> bool:
        return randomized(self.data)

    def constraints(self) -> dict[str, tuple[Constraint, Any]]:
        """The constraints in force, with their settings (off ones left out)."""
        available = {**COMMON, **self.kind.constraints}
        chosen = {name: (c, self.settings.constraints.get(name, c.default)) for name, c in available.items()}
        return {name: pair for name, pair in chosen.items() if pair[1] is not False}

    def draw(self, rng: np.random.Generator) -> P.Problem:
        try:
            data = sample(self.data, rng)
        except P.FieldError as error:
            raise P.ProblemError(self.path, error.field, error.message) from None
        return P.validate(self.path, self.kind, data)


def read(path: str | Path) -> Template:
    """Read a problem file as a template; every error is reported against the file."""
    path = Path(path)
    kind, data = P.read(path)
    raw = data.pop("variants", None)
    try:
        settings = Settings.model_validate(raw or {})
    except pydantic.ValidationError as error:
        field, message = P.describe_validation_error(error)
        raise P.ProblemError(path, f"variants.{field}" if field else "variants", message) from None
    template = Template(path, kind, data, settings, [])
    unknown = set(settings.constraints) - set(COMMON) - set(kind.constraints)
    if unknown:
        raise P.ProblemError(path, f"variants.constraints.{sorted(unknown)[0]}", "is not a constraint of this kind; "
                             f"expected one of: {', '.join(sorted({*COMMON, *kind.constraints}))}")
    try:
        template.conditions = [Condition(text, f"variants.require[{i}]") for i, text in enumerate(settings.require)]
    except P.FieldError as error:
        raise P.ProblemError(path, error.field, error.message) from None
    first = template.draw(np.random.default_rng(0))  # shapes, names and the rest, checked once
    if template.conditions:
        known = set(solve(first).values)
        for condition in template.conditions:
            try:
                condition.check_names(known)
            except P.FieldError as error:
                raise P.ProblemError(path, error.field, error.message) from None
    return template


def solve(problem: P.Problem) -> Solution:
    """The problem solved; a value that cannot be computed is an error against its file."""
    try:
        return problem.kind.solve(problem.spec, problem.name)
    except P.FieldError as error:
        raise P.ProblemError(problem.path, error.field, error.message) from None


def instantiate(template: Template, seed: int) -> tuple[P.Problem, Solution]:
    """The variant of `template` for `seed`: drawn (and drawn again) until every constraint
    and condition holds. A fixed problem is returned as written."""
    rng = np.random.default_rng(sub_seed(seed, template.name))
    if not template.randomized:
        problem = template.draw(rng)
        return problem, solve(problem)
    failures: Counter = Counter()
    constraints = template.constraints()
    deadline, draws = time.monotonic() + DRAW_SECONDS, 0
    while draws < template.settings.tries and time.monotonic() < deadline:
        draws += 1
        problem = template.draw(rng)
        solution = solve(problem)
        failed = [name for name, (c, setting) in constraints.items() if not c.holds(problem, solution, setting)]
        try:
            failed += [f"require {c.text!r}" for c in template.conditions if not c.holds(solution.values)]
        except P.FieldError as error:
            raise P.ProblemError(template.path, error.field, error.message) from None
        if not failed:
            return problem, solution
        failures.update(failed)
    name, count = failures.most_common(1)[0]
    means = constraints[name][0].means if name in constraints else "the problem's own condition"
    within = "" if draws == template.settings.tries else f" (stopped after {DRAW_SECONDS} s)"
    raise P.ProblemError(template.path, "variants", f"no variant met every constraint in {draws} draws{within} "
                         f"(seed {seed}); {name} ({means}) failed in {count} of them. Widen the "
                         "distributions, switch the constraint off, or raise variants.tries")


def load(path: str | Path, seed: int = 1) -> P.Problem:
    """Read, validate and check one problem file (random fields drawn for `seed`)."""
    return instantiate(read(path), seed)[0]
