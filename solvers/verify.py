"""Verification: every value a solution shows equals an independent torch computation.

`verify` compares each quantity of the evaluated derivation with the kind's `reference`
(float64 torch built from the problem file, not from our SymPy expressions). A quantity the
reference does not compute is an error too: nothing is shown unverified.

torch's values are remembered (`solvers.cache`, keyed by the kind, the reference function and
the problem's exact fields, under the fingerprint of this package's source and torch's
version): a rebuild of numbers verified before compares with the stored reference values and
need not import torch; new numbers are always computed by torch. The comparison itself runs
every time. The prose every problem has (`PROSE`: title, statement, notes) is left out of the
key, so editing a problem's text needs no torch: a reference computes from the numbers and
never reads it. New numbers of a small build are computed by a child process beside the
build's rendering (`computed_ahead`), handed back through the cache.
"""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np

from . import cache
from .problem import Problem
from .solution import Solution

SHELF = "references"
PROSE = {"title", "statement", "notes", "instructor_notes"}  # SpecBase's text fields
RELATIVE = 1e-9
ABSOLUTE = 1e-12


_ahead: int | None = None  # the child process computing references ahead (`computed_ahead`)


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
    problems = mismatches(solution.values, reference_values(problem))
    if problems:
        raise VerificationError(f"{problem.path}: verification against torch failed:\n  " + "\n  ".join(problems))
    return sum(v.size for v in solution.values.values())


def reference_values(problem: Problem) -> dict[str, np.ndarray]:
    """The kind's reference values for `problem`: stored ones if these exact numbers were
    computed by torch before with this code, else torch's (and stored)."""
    reference = problem.kind.reference
    if not cache.versioned(reference):
        return dict(reference(problem.spec))
    entry = _entry(problem)
    stored = _decoded(cache.load(SHELF, entry))
    if stored is None and _ahead is not None:
        _wait_for_ahead()
        stored = _decoded(cache.load(SHELF, entry))
    if stored is not None:
        return stored
    values = dict(reference(problem.spec))
    encoded = _encoded(values)
    if encoded is not None:
        cache.store(SHELF, entry, encoded)
    return values


@contextmanager
def computed_ahead(problems: Iterable[Problem]) -> Iterator[None]:
    """torch's values for `problems` computed and stored by a child process while this one
    renders (within the block), so that a build of new numbers imports torch (about a second)
    beside its other work rather than before it; `reference_values` waits for the child before
    computing anything itself, and a block left early stops it. Only where it pays and can work:
    fork available, the cache on (it is how the values come back), torch not imported here
    yet, and some values not stored. A child that fails leaves the reference to this process,
    which reports what is wrong."""
    global _ahead
    missing = [] if "torch" in sys.modules or cache.folder() is None or not hasattr(os, "fork") else [
        p for p in problems if cache.versioned(p.kind.reference) and not _stored(p)]
    if missing and _ahead is None:
        try:
            pid = os.fork()
        except OSError:  # no process to spare: this one computes them, as without a cache
            pid = None
        if pid == 0:
            code = 1
            try:
                for problem in missing:
                    reference_values(problem)
                code = 0
            finally:
                os._exit(code)  # nothing of the parent's (exit handlers, buffered output) runs twice
        _ahead = pid
    try:
        yield
    finally:
        _wait_for_ahead(stop=True)


def _wait_for_ahead(stop: bool = False) -> None:
    """The child of `computed_ahead` ended (with `stop`: ended now, its work not needed)."""
    global _ahead
    pid, _ahead = _ahead, None
    if pid is None:
        return
    try:
        if stop:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _entry(problem: Problem) -> str:
    reference = problem.kind.reference
    return cache.key(SHELF, problem.kind.name, f"{reference.__module__}.{reference.__qualname__}",
                     type(problem.spec).__qualname__, fields_without_prose(problem))


def _stored(problem: Problem) -> bool:
    return _decoded(cache.load(SHELF, _entry(problem))) is not None


def fields_without_prose(problem: Problem) -> str:
    """The problem's exact fields as JSON, its prose left out: what its values (and figures)
    are computed from."""
    return problem.spec.model_dump_json(round_trip=True, exclude=PROSE & set(type(problem.spec).model_fields))


def _encoded(values: dict) -> dict | None:
    """Reference values as JSON data (floats round-trip exactly), or None if one is not numeric."""
    try:
        return {key: {"shape": list(np.shape(value)), "data": np.asarray(value, dtype=float).ravel().tolist()}
                for key, value in values.items()}
    except (TypeError, ValueError):
        return None


def _decoded(stored) -> dict[str, np.ndarray] | None:
    if not isinstance(stored, dict):
        return None
    try:
        return {key: np.array(item["data"], dtype=float).reshape(item["shape"]) for key, item in stored.items()}
    except (KeyError, TypeError, ValueError):
        return None


def _show(value: np.ndarray) -> str:
    return np.array2string(np.asarray(value).ravel(), precision=12, separator=", ")
