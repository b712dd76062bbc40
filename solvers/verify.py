"""Verification: every value a solution shows equals an independent torch computation.

`verify` compares each quantity of the evaluated derivation with the kind's `reference`
(float64 torch built from the problem file, not from our SymPy expressions). A quantity the
reference does not compute is an error too: nothing is shown unverified.
"""
from __future__ import annotations

import numpy as np

from .problem import Problem
from .solution import Solution

RELATIVE = 1e-9
ABSOLUTE = 1e-12


class VerificationError(Exception):
    """The solution and the reference disagree (or the reference lacks a value)."""


def mismatches(values: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> list[str]:
    """A sentence for every quantity that is missing from `reference` or differs from it."""
    found = []
    for key, value in values.items():
        if key not in reference:
            found.append(f"{key}: no independent value to check it against")
            continue
        expected = np.asarray(reference[key], dtype=float)
        if expected.shape != value.shape:
            found.append(f"{key}: shape {value.shape}, torch has {expected.shape}")
        elif not np.allclose(value, expected, rtol=RELATIVE, atol=ABSOLUTE, equal_nan=False):
            found.append(f"{key}: ours {_show(value)}, torch {_show(expected)}")
    return found


def verify(problem: Problem, solution: Solution) -> int:
    """Raise VerificationError unless every value of `solution` matches torch; returns how
    many values were compared."""
    problems = mismatches(solution.values, problem.kind.reference(problem.spec))
    if problems:
        raise VerificationError(f"{problem.path}: verification against torch failed:\n  " + "\n  ".join(problems))
    return sum(v.size for v in solution.values.values())


def _show(value: np.ndarray) -> str:
    return np.array2string(np.asarray(value).ravel(), precision=12, separator=", ")
