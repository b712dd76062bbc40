"""The problem file of a softmax problem: scores, target, what is asked, and its structure."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, StrictInt

from ...core import FieldError, Model, Number, SpecBase, Text

Scores = Annotated[list[Number], Field(min_length=2, max_length=10)]
CLAIMS = {"shift_changes_output": "chg", "naive_overflows": "over"}
RESERVED = set("ceijknq")  # e, indices, the class, the shift c, naive quotients q
SCORE_LIMIT = 100
FLOAT64_MAX = 2 ** 1024 - 2 ** 971  # (2 − 2⁻⁵²)·2¹⁰²³, exactly


class Symbols(Model):
    scores: str = "z"
    outputs: str = "y"
    target: str = "t"


class Statement(Model):
    text: Text = Field(min_length=1)
    claim: Literal[tuple(CLAIMS)]  # type: ignore[valid-type]


class Ask(Model):
    jacobian: bool = True
    cross_entropy_gradient: bool | None = None
    stability: bool | None = None


class Spec(SpecBase):
    kind: Literal["softmax"]
    z: Scores
    target: Annotated[StrictInt, Field(ge=0)] | Scores | None = None
    overflow: Scores | None = None
    symbols: Symbols = Symbols()
    statements: Annotated[list[Statement], Field(max_length=10)] = []
    ask: Ask = Ask()


def asked(spec: Spec) -> tuple[bool, bool, bool]:
    """(jacobian, cross-entropy gradient, stability); the gradient needs the Jacobian."""
    ce = spec.target is not None if spec.ask.cross_entropy_gradient is None else spec.ask.cross_entropy_gradient
    stability = spec.overflow is not None if spec.ask.stability is None else spec.ask.stability
    return spec.ask.jacobian or ce, ce, stability


def check(spec: Spec) -> None:
    letters = spec.symbols.model_dump()
    for role, letter in letters.items():
        if len(letter) != 1 or not letter.islower() or not letter.isascii() or letter in RESERVED:
            raise FieldError(f"symbols.{role}", f"{letter!r} cannot name a vector; expected one lowercase letter "
                             f"other than {', '.join(sorted(RESERVED))} (used for Euler's number, indices, "
                             "the class, the shift and the naive quotients)")
    if len(set(letters.values())) < 3:
        raise FieldError("symbols", f"{letters} uses a letter twice; expected three different letters")
    n = len(spec.z)
    for i, value in enumerate(spec.z):
        if abs(value) > SCORE_LIMIT:
            raise FieldError(f"z[{i}]", f"{value} is outside [-{SCORE_LIMIT}, {SCORE_LIMIT}]; the solution evaluates "
                             "e^z exactly as defined, so put large scores in `overflow` (the stability part)")
    _, ce, stability = asked(spec)
    if isinstance(spec.target, int) and spec.target >= n:
        raise FieldError("target", f"class {spec.target} does not exist: z has {n} scores, so the classes are "
                         f"0 to {n - 1} (numbered from 0)")
    if isinstance(spec.target, list):
        if len(spec.target) != n:
            raise FieldError("target", f"has {len(spec.target)} entries but z has {n}; expected one per class")
        if min(spec.target) < 0 or abs(sum(spec.target) - 1) > 1e-9:
            raise FieldError("target", f"{spec.target} is not a probability distribution; expected entries >= 0 "
                             "that sum to 1 (a one-hot vector, or a class index)")
    if ce and spec.target is None:
        raise FieldError("target", "is missing; the cross-entropy gradient needs the target class (an index "
                         "from 0) or a one-hot vector")
    if spec.target is not None and not ce:
        raise FieldError("target", "is given but ask.cross_entropy_gradient is false; expected no target")
    if stability and spec.overflow is None:
        raise FieldError("overflow", "is missing; the stability part needs large scores, e.g. [1000, 999, 998]")
    if spec.overflow is not None and not stability:
        raise FieldError("overflow", "is given but ask.stability is false; expected no overflow scores")
    for i, statement in enumerate(spec.statements):
        if not stability:
            raise FieldError(f"statements[{i}].claim", "the claims are decided by the stability part; expected "
                             "ask.stability (and overflow scores)")


@dataclass(frozen=True)
class Letters:
    """The letters that name the scores, the outputs and the target."""
    scores: str
    outputs: str
    target: str


@dataclass(frozen=True)
class Structure:
    """The numbers of scores and of large scores, the parts asked, the letters and the claims."""
    scores: int
    large_scores: int  # 0 without the stability part
    jacobian: bool
    cross_entropy: bool
    stability: bool
    letters: Letters
    claims: tuple[str, ...]


def structure(spec: Spec) -> Structure:
    jacobian, ce, stability = asked(spec)
    letters = Letters(spec.symbols.scores, spec.symbols.outputs, spec.symbols.target)
    claims = tuple(s.claim for s in spec.statements)
    return Structure(len(spec.z), len(spec.overflow or ()), jacobian, ce, stability, letters, claims)


def target_vector(spec: Spec) -> np.ndarray:
    if isinstance(spec.target, int):
        return np.eye(len(spec.z))[spec.target].reshape(-1, 1)
    return np.array(spec.target, dtype=float).reshape(-1, 1)


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    values = {"z": np.array(spec.z, dtype=float).reshape(-1, 1)}
    if spec.target is not None:
        values["t"] = target_vector(spec)
    if spec.overflow is not None:
        values["u"] = np.array(spec.overflow, dtype=float).reshape(-1, 1)
    return values
