"""The catalog of common mistakes: what a student does wrong, and what answers it gives.

Each `Mistake` replays a problem's derivation with the mistake applied (a step computed
another way, or a given taken wrongly) and returns the mistaken values under the same keys
as the correct ones. Variants use the catalog to reject exercises a mistake would still get
right (`undetected`); grading and multiple-choice distractors will use the same entries.
Add a mistake by adding an entry to CATALOG.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy

from .problem import Problem
from .solution import Solution


@dataclass(frozen=True)
class Mistake:
    """A named mistake, why it is wrong, where it can occur, and its replay."""
    name: str
    why: str
    kind: str
    applies: Callable[[Problem, Solution], bool]
    replay: Callable[[Problem, Solution], dict[str, np.ndarray]]


# -- network -----------------------------------------------------------------------------

def _relu_derivative_steps(solution: Solution) -> list:
    return [s for s in solution.derivation.steps
            if s.kind == "activation_derivative" and s.facts.get("activation") == "relu"]


@lru_cache(maxsize=64)
def _without_relu_mask(structure):
    from .kinds.network import derive
    derivation, _ = derive(structure)
    ones = lambda step: sympy.ones(*step.target.shape)  # noqa: E731
    return derivation.replacing(lambda step: ones(step) if step.kind == "activation_derivative"
                                and step.facts.get("activation") == "relu" else None).compile()


def _replay_relu_mask(problem: Problem, solution: Solution) -> dict[str, np.ndarray]:
    from .kinds.network import given_values, structure
    return _without_relu_mask(structure(problem.spec)).evaluate(given_values(problem.spec))


def _has_bias(problem: Problem, solution: Solution) -> bool:
    return any(q.key.startswith("b") for q in solution.derivation.givens)


def _replay_bias_dropped(problem: Problem, solution: Solution) -> dict[str, np.ndarray]:
    from .kinds.network import derive, given_values, structure
    givens = {k: (np.zeros_like(v) if k.startswith("b") else v) for k, v in given_values(problem.spec).items()}
    return derive(structure(problem.spec))[1].evaluate(givens)


CATALOG: list[Mistake] = [
    Mistake("relu_mask_forgotten", "backpropagated through ReLU as if its derivative were 1 everywhere "
            "(forgot the mask ReLU'(z) = 0 for z ≤ 0)", "network",
            lambda p, s: bool(_relu_derivative_steps(s)), _replay_relu_mask),
    Mistake("bias_dropped", "left out the bias when computing the pre-activations", "network",
            _has_bias, _replay_bias_dropped),
]


def same_answers(solution: Solution, values: dict[str, np.ndarray]) -> bool:
    """Whether `values` would be graded as giving every answer of `solution` right."""
    for answer in solution.answers:
        tolerance = answer.tolerance(solution.digits)
        mistaken = values.get(answer.key)
        if mistaken is None or not np.allclose(mistaken, answer.value, rtol=tolerance["relative"],
                                               atol=tolerance["absolute"]):
            return False
    return True


def undetected(problem: Problem, solution: Solution) -> list[Mistake]:
    """The mistakes that apply to this problem and would still give every right answer."""
    return [m for m in CATALOG if m.kind == solution.kind and m.applies(problem, solution)
            and same_answers(solution, m.replay(problem, solution))]
