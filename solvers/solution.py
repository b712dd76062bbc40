"""What a solver hands to the renderers and the checker: one problem, solved.

Format-neutral, like R/exams' intermediate form: the problem's own text, the given data,
the parts asked, the conventions in force, the derivation, its values and the answers.
Prose is not here; templates key it by `kind`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import formula as F
from . import tolerance as T

if TYPE_CHECKING:
    from .derivation import Derivation


def displayed(value, digits: int):
    """`value` (a number or an array) rounded to `digits` significant digits, as shown."""
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[float])(value)


@dataclass(eq=False)
class Figure:
    """A drawing of a solution: `draw(ax)` plots onto matplotlib axes (the kind knows what to
    draw, the renderer how to store it). `name` is unique within the problem; `size` is in
    inches, as printed; `alt` describes the drawing in words (the HTML page's text for readers
    who cannot see it); `fill`: the axes are the whole figure, in inches from its lower left
    corner (a diagram that places everything itself), else a plot laid out around its axes
    (`grid` of them: panels side by side)."""
    name: str
    draw: Callable[[Any], None]
    size: tuple[float, float] = (5.0, 4.0)
    alt: str = ""
    fill: bool = False
    grid: tuple[int, int] = (1, 1)  # rows and columns of axes: more than one, `draw` gets the list of them


@dataclass
class Item:
    """A piece of the document chosen by `kind` (a question part, a convention, a given),
    with the facts its template shows."""
    kind: str
    facts: dict[str, Any] = field(default_factory=dict)


def kink_convention(activation) -> Item:
    """The convention item stating the derivative a piecewise activation uses at 0: the
    chosen side's where it has a kink, the one both sides agree on where it has none."""
    return Item("kink", {"activation": activation.name, "kink": activation.kink, "alpha": activation.alpha,
                         "value": activation.derivative_at_kink(), "has_kink": activation.has_kink,
                         "at_zero": F.Call(activation.name, F.Num(0), derivative=True)})


@dataclass
class Answer:
    """A final answer: a stable documented `name`, the quantity that holds it, its value."""
    name: str
    key: str
    label: F.Node
    value: np.ndarray
    integer: bool = False
    boolean: bool = False
    rule: T.Rule | None = None  # the problem file's tolerance for this answer; None: the default
    case: F.Node | None = None  # what tells it from answers of the same label (s = 0), shown beside it

    @property
    def exact(self) -> bool:
        return self.integer or self.boolean

    def tolerance(self, digits: int) -> dict[str, Any]:
        """What a grader should accept (solvers.tolerance): the problem file's rule, else the
        precision shown with an absolute floor at 0; nothing but the exact value for an
        integer answer (a size, a count) or a true/false one."""
        if self.exact:
            return dict(T.EXACT)
        return self.rule.as_key(digits) if self.rule else T.default(digits)

    def plain(self, value: np.ndarray | None = None) -> Any:
        """`value` (by default the answer's) as the key writes it: a number, a list for a
        vector, a list of rows for a matrix, true/false."""
        value = self.value if value is None else np.asarray(value)
        return plain(value.astype(int) if self.integer and np.all(value == np.round(value)) else (
            value != 0 if self.boolean else value))

    def as_json(self, digits: int) -> dict[str, Any]:
        """The answer as the key holds it (a negative zero as 0)."""
        value = self.value.astype(int) if self.integer else (self.value != 0 if self.boolean else self.value + 0.0)
        plain = value.reshape(-1)[0].item() if value.size == 1 else value.tolist()
        if value.ndim == 2 and value.shape[1] == 1 and value.size > 1:
            plain = value[:, 0].tolist()
        return {"name": self.name, "value": plain, "tolerance": self.tolerance(digits)}


@dataclass
class Solution:
    """One solved problem, ready to render and to verify."""
    name: str
    kind: str
    title: str
    statement: str
    notes: str
    digits: int
    givens: list[Item]
    questions: list[Item]
    conventions: list[Item]
    derivation: Derivation
    values: dict[str, np.ndarray]
    answers: list[Answer]
    closing: list[Item] = field(default_factory=list)  # shown after the steps: figures, exact forms
    instructor_notes: str = ""  # shown in the instructor key only
    count_from: int = 1  # the number the sheet gives the first entry, unit and class


def with_tolerances(answers: list[Answer], rules: dict[str, T.Rule]) -> list[Answer]:
    """The answers with the problem file's `tolerance:` rules attached (exact answers keep
    theirs); a name or pattern that matches no computed answer is a FieldError."""
    if not rules:
        return answers
    computed = [a.name for a in answers if not a.exact]
    try:
        chosen = T.assign(computed, rules)
    except KeyError as error:
        from .core import FieldError
        raise FieldError(f"tolerance.{error.args[0]}", "matches no computed answer of this problem; expected "
                         f"an answer name or pattern (or default) among: {', '.join(computed) or 'none'}") from None
    return [replace(a, rule=chosen[a.name]) if a.name in chosen else a for a in answers]


def plain(value: np.ndarray) -> Any:
    """A value as the key writes it: a number, a list for a vector, a list of rows for a
    matrix (a negative zero as 0)."""
    value = np.asarray(value)
    value = value + 0.0 if value.dtype.kind == "f" else value
    if value.size == 1:
        return value.reshape(-1)[0].item()
    if value.ndim == 2 and value.shape[1] == 1:
        return value[:, 0].tolist()
    return value.tolist()


def answer_key(solutions: list[Solution]) -> list[dict[str, Any]]:
    """Per problem, each answer's stable name, value and grading tolerance, and the numbers
    the problem gave (a variant's drawn numbers), named like the quantities they are."""
    return [{"problem": s.name, "title": s.title, "answers": [a.as_json(s.digits) for a in s.answers],
             "givens": [{"name": q.key, "value": plain(s.values[q.key])} for q in s.derivation.givens
                        if q.role != "chosen"]}
            for s in solutions]
