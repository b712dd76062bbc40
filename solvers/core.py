"""The shared vocabulary of problem kinds and the pipeline: the parts of a problem file
(`Model`, `SpecBase`, `Number`, `Text`), the two errors a problem can cause (`FieldError`
inside a kind, `ProblemError` with the file named) and `Constraint`, a condition on a random
variant. Nothing here knows a kind, a renderer or the build."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

import pydantic
from pydantic import AfterValidator, AllowInfNan, Strict, StringConstraints

from .authored import AuthoredError, segments
from .characters import untypesettable
from .tolerance import Rule


def _typesettable(text: str) -> str:
    bad = untypesettable(text)
    if bad:
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in bad)
        raise ValueError(f"contains characters the PDF cannot show: {shown}; write them in words or ASCII")
    return text


def _segments(text: str) -> list:
    try:
        return segments(text)
    except AuthoredError as error:
        raise ValueError(str(error)) from None


def _authored(text: str) -> str:
    _segments(text)
    return text


def _one_line(title: str) -> str:
    if any(s.kind == "display" for s in _segments(title)) or "\n\n" in title.strip():
        raise ValueError("a title is one line: inline math ($…$) only, no display math or blank line")
    return title


Text = Annotated[str, AfterValidator(_typesettable), AfterValidator(_authored)]
Title = Annotated[str, StringConstraints(min_length=1), AfterValidator(_typesettable), AfterValidator(_one_line)]
"""Problem text (titles, statements, notes): text with $math$, **bold** and *italic*
(`solvers.authored`), its math checked against a whitelist when the file is read."""

LARGEST = 1e6


def _moderate(value: float) -> float:
    if abs(value) > LARGEST:
        raise ValueError(f"{value:g} is too large for a worked solution; expected a number between "
                         f"-{LARGEST:g} and {LARGEST:g}")
    return value


Number = Annotated[float, Strict(), AllowInfNan(False), AfterValidator(_moderate)]
"""A finite number in a problem file, at most 10⁶ in size (so that every value a solution
computes from it stays finite in float64); true/false are not numbers."""


class Model(pydantic.BaseModel):
    """A part of a problem file: unknown fields are errors, values are immutable."""
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class SpecBase(Model):
    """The fields every problem file has, whatever its kind."""
    title: Title
    statement: Text = ""
    notes: Text = ""  # shown to students, after the solution
    instructor_notes: Text = ""  # shown only in the instructor key
    digits: Annotated[int, pydantic.Field(ge=2, le=12)] = 4
    count_from: Literal[0, 1] = 1  # the sheet's first entry, unit and class (file indices count from 0)
    tolerance: dict[str, Rule] = {}  # grading tolerance per answer name or pattern (solvers.tolerance)


class ProblemError(Exception):
    """A problem file that cannot be solved as written."""

    def __init__(self, file: str | Path, field: str, message: str):
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")
        self.file, self.field, self.message = str(file), field, message

    def __reduce__(self):  # errors cross process boundaries when variants build in parallel
        return (ProblemError, (self.file, self.field, self.message))


class FieldError(Exception):
    """A semantic error in a validated spec; the loader adds the file name."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Constraint:
    """A built-in condition on a random variant: `holds(problem, solution, setting)`, with
    its default setting (False: off unless the problem file switches it on)."""
    default: Any
    holds: Callable[[Any, Any, Any], bool]
    means: str
