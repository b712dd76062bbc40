"""The catalog of common mistakes: what a student does wrong, and what answers it gives.

A `Mistake` is a documented rewrite of the correct method, written against the derivation
as data, never against one kind: a step computed another way (`step`: Step → its mistaken
expression, or None where the mistake does not touch it) and/or a given taken wrongly
(`given`: quantity and value → the mistaken value, or None). Replaying it evaluates the
problem's own derivation with those rewrites, so one entry serves every kind whose
derivation has such steps or givens; a kind lists the entries that apply to it in its
`mistakes`. Variants use the catalog to reject exercises a mistake would still get right
(`undetected`); grading and multiple-choice distractors are meant to use the same entries.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy

from .derivation import Evaluator, Quantity, Step
from .solution import Solution


@dataclass(frozen=True)
class Mistake:
    """A named mistake, why it is wrong, and the rewrites that replay it."""
    name: str
    why: str
    step: Callable[[Step], sympy.Matrix | None] | None = None
    given: Callable[[Quantity, np.ndarray], np.ndarray | None] | None = None

    def applies(self, solution: Solution) -> bool:
        """Whether the mistake changes anything in this solution's derivation."""
        derivation = solution.derivation
        return (self.step is not None and any(self.step(s) is not None for s in derivation.steps)) or (
            self.given is not None and any(self.given(q, solution.values[q.key]) is not None
                                           for q in derivation.givens))

    def replay(self, kind, problem) -> dict[str, np.ndarray]:
        """The values a student making this mistake gets, under the correct values' keys."""
        structure = kind.structure(problem.spec)
        evaluator = _replayed(kind, structure, self) if self.step else kind.compiled(structure)[1]
        givens = kind.given_values(problem.spec)
        if self.given:
            quantities = {q.key: q for q in evaluator.derivation.givens}
            givens = {key: _or(self.given(quantities[key], value), value) if key in quantities else value
                      for key, value in givens.items()}
        return evaluator.evaluate(givens)


def _or(value, default):
    return default if value is None else value


@lru_cache(maxsize=128)
def _replayed(kind, structure, mistake: Mistake) -> Evaluator:
    return kind.compiled(structure)[0].replacing(mistake.step).compile()


# -- the catalog ---------------------------------------------------------------------------------

def _relu_as_identity(step: Step) -> sympy.Matrix | None:
    if step.kind == "activation_derivative" and step.facts.get("activation") == "relu":
        return sympy.ones(*step.target.shape)
    return None


RELU_MASK_FORGOTTEN = Mistake(
    "relu_mask_forgotten", "backpropagated through ReLU as if its derivative were 1 everywhere "
    "(forgot the mask ReLU'(z) = 0 for z ≤ 0)", step=_relu_as_identity)

BIAS_DROPPED = Mistake(
    "bias_dropped", "left out the bias when computing the pre-activations",
    given=lambda q, value: np.zeros_like(value) if q.role == "bias" else None)

FILTER_FLIP_CONFUSED = Mistake(
    "filter_flip_confused", "flipped the filter for a cross-correlation, or did not flip it for a "
    "convolution", given=lambda q, value: np.flip(value) if q.role == "filter" else None)

CATALOG: tuple[Mistake, ...] = (RELU_MASK_FORGOTTEN, BIAS_DROPPED, FILTER_FLIP_CONFUSED)


def same_answers(solution: Solution, values: dict[str, np.ndarray]) -> bool:
    """Whether `values` would be graded as giving every answer of `solution` right."""
    for answer in solution.answers:
        tolerance = answer.tolerance(solution.digits)
        mistaken = values.get(answer.key)
        if mistaken is None or not np.allclose(mistaken, answer.value, rtol=tolerance["relative"],
                                               atol=tolerance["absolute"]):
            return False
    return True


def undetected(problem, solution: Solution) -> list[Mistake]:
    """The mistakes of the problem's kind that apply to it and would still give every right answer."""
    kind = problem.kind
    return [m for m in kind.mistakes if m.applies(solution) and same_answers(solution, m.replay(kind, problem))]
