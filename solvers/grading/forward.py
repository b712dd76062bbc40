"""Error carried forward: a later answer re-checked with the student's own earlier values.

The problems are solved again from their files for each variant's seed (and must give the
key's answers). For an answer, every earlier answer of the problem that is a quantity of the
derivation is replaced by the student's value as the kind's compiled derivation is
evaluated (`Evaluator.evaluate(..., after=)`); the answer that evaluation gives is what a
student who made no further mistake would write.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import build as B
from .. import variants as V
from ..core import ProblemError
from ..mistakes import mistaken_answers
from .check import as_array
from .key import Key, KeyProblem, KeyVariant
from .model import GradingError


class CarryForward:
    def __init__(self, key: Key, paths: list[str | Path]):
        self.key, self.paths = key, [str(p) for p in paths]
        try:
            sets = B.discover(self.paths)
        except ProblemError as error:
            raise GradingError(error.file, error.field, error.message) from None
        wanted = {p.name for v in key.variants for p in v.problems}
        matching = [s for s in sets if wanted <= {f.stem for f in s.files}]
        if not matching:
            raise GradingError(", ".join(self.paths), "", f"holds no problem set with the key's problems "
                               f"({', '.join(sorted(wanted))}); expected the problems the key was built from")
        self.files = {f.stem: f for f in matching[0].files}
        self.templates: dict[str, V.Template] = {}
        self.solved: dict[tuple[str | None, str], tuple] = {}

    def _solved(self, variant: KeyVariant, problem: KeyProblem):
        index = (variant.id, problem.name)
        if index not in self.solved:
            try:
                template = self.templates.get(problem.name) or V.read(self.files[problem.name])
                self.templates[problem.name] = template
                solved = V.instantiate(template, variant.seed if variant.seed is not None else 1)
            except ProblemError as error:
                raise GradingError(error.file, error.field, error.message) from None
            _check_matches(self.key, variant, problem, solved[1])
            self.solved[index] = solved
        return self.solved[index]

    def value(self, variant: KeyVariant, problem: KeyProblem, name: str, earlier: dict[str, np.ndarray]):
        """The answer `name` computed from the student's `earlier` answers, or None when no
        earlier answer of theirs enters its derivation."""
        spec_problem, solution = self._solved(variant, problem)
        names = [a.name for a in solution.answers]
        before = solution.answers[:names.index(name)]
        steps = {s.target.key for s in solution.derivation.steps}
        own = {a.key: earlier[a.name] for a in before
               if a.name in earlier and a.key in steps and _direct(a, solution)
               and earlier[a.name].shape == solution.values[a.key].shape}
        if not own:
            return None
        kind = spec_problem.kind
        evaluator = kind.compiled(kind.structure(spec_problem.spec))[1]
        values = evaluator.evaluate(kind.given_values(spec_problem.spec), lambda q, v: own.get(q.key))
        answers = mistaken_answers(spec_problem, solution, values)
        if answers is None:
            return None
        value = np.asarray(answers[names.index(name)].value, dtype=float)
        if not np.all(np.isfinite(value)) or np.allclose(value, solution.answers[names.index(name)].value):
            return None
        return value


def _direct(answer, solution) -> bool:
    """Whether the answer is its quantity's value itself (not a shape or a class made of it)."""
    value = solution.values[answer.key]
    return value.shape == answer.value.shape and np.allclose(value, answer.value, rtol=0, atol=0, equal_nan=True)


def _check_matches(key: Key, variant: KeyVariant, problem: KeyProblem, solution) -> None:
    ours = {a.name: a for a in solution.answers}
    for answer in problem.answers:
        mine = ours.get(answer.name)
        if mine is None or as_array(answer.value).shape != np.asarray(mine.value, dtype=float).shape or not \
                np.allclose(as_array(answer.value), np.asarray(mine.value, dtype=float), rtol=1e-9, atol=1e-12):
            where = f"variant {variant.id}, " if variant.id else ""
            raise GradingError(key.path, f"{where}problem {problem.name}, answer {answer.name}",
                               "differs from the problem files given with --problems; rebuild the key, or give "
                               "the problems it was built from")
