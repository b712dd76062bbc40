"""Grading one student's answers: reading each value, comparing it with the key by its
tolerance (entry by entry for vectors and matrices, a transposed matrix recognised),
re-checking a wrong one against the student's own earlier values (when the problems are
given) and naming the catalog mistake that gives it."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .. import tolerance as T
from .key import Key, KeyAnswer, KeyProblem
from .model import AnswerGrade, ProblemGrade, StudentGrade
from .responses import Response, Submission

WORDS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}


class Unreadable(ValueError):
    """A response that is not a number, true/false, or a rectangular list of numbers."""


def as_array(value: Any) -> np.ndarray:
    """A key or response value as a float matrix: a number is 1×1, a list a column, a list
    of lists a matrix (rows)."""
    if isinstance(value, bool):
        return np.array([[float(value)]])
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise Unreadable("not a finite number")
        return np.array([[float(value)]])
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 for v in value):
        return as_array_rows([[v] for v in value])
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return as_array_rows(value)
    raise Unreadable("expected a number, true/false, or a list of numbers (a list of rows for a matrix)")


def as_array_rows(rows: list) -> np.ndarray:
    widths = {len(r) for r in rows}
    if len(widths) != 1 or 0 in widths:
        raise Unreadable("the rows of the matrix differ in length")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for r in rows for v in r):
        raise Unreadable("a matrix entry is not a number")
    array = np.array(rows, dtype=float)
    if not np.all(np.isfinite(array)):
        raise Unreadable("an entry is not a finite number")
    return array


def parse(raw: Any) -> np.ndarray | None:
    """A response as a matrix; None when it is missing. Raises Unreadable."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if text.lower() in WORDS:
            return np.array([[WORDS[text.lower()]]])
        try:
            raw = json.loads(text)
        except RecursionError:
            raise Unreadable(f"{text[:40]!r}… nests lists too deeply; expected a number or a matrix") from None
        except json.JSONDecodeError:
            try:
                raw = float(text.replace("−", "-"))
            except ValueError:
                raise Unreadable(f"{text[:40]!r} is not a number") from None
    return as_array(raw)


def plain(value: np.ndarray):
    """A matrix as the key writes values: a number, a list (a column), a list of rows."""
    if value.size == 1:
        return value.item()
    return value[:, 0].tolist() if value.shape[1] == 1 else value.tolist()


def shaped(given: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """`given` in the shape of `expected` where only the orientation of a vector differs."""
    if given.shape != expected.shape and given.size == expected.size and 1 in given.shape and 1 in expected.shape:
        return given.reshape(expected.shape)
    return given


def show(value: Any) -> str:
    """A value for a report: numbers to 6 significant digits."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def _size(a: np.ndarray) -> str:
    return f"{a.shape[0]}×{a.shape[1]}" if a.shape[1] > 1 else f"{a.shape[0]} entries"


def compare(answer: KeyAnswer, given: np.ndarray) -> tuple[str, float, str]:
    """Status, score and detail of a readable response."""
    expected = as_array(answer.value)
    given = shaped(given, expected)
    if given.shape == expected.shape:
        right = T.accepts(answer.tolerance, given, expected)
        if right.all():
            return "correct", 1.0, ""
        if expected.shape[1] > 1 and expected.shape[0] == expected.shape[1] and \
                T.accepts(answer.tolerance, given.T, expected).all():
            return "transposed", float(right.mean()), "the transpose of the right matrix"
        if right.size > 1 and right.any():
            return "partial", float(right.mean()), f"{int(right.sum())} of {right.size} entries right"
        return "wrong", 0.0, ""
    if given.shape == expected.T.shape and T.accepts(answer.tolerance, given.T, expected).all():
        return "transposed", 0.0, f"the transpose of the right matrix ({_size(given)}; expected {_size(expected)})"
    return "wrong", 0.0, f"{_size(given) if given.size > 1 else 'one number'}; expected {_size(expected)}"


def diagnose(problem: KeyProblem, answer: KeyAnswer, given: np.ndarray) -> tuple[dict | None, str]:
    """The catalog mistake whose answer `given` is (if exactly one), and a sentence."""
    expected = as_array(answer.value)
    given = shaped(given, expected)
    matching = []
    for mistake in problem.mistakes:
        if answer.name not in mistake.get("answers", {}):
            continue
        wrong = as_array(mistake["answers"][answer.name])
        if wrong.shape == given.shape and T.accepts(answer.tolerance, given, wrong).all():
            matching.append(mistake)
    if len(matching) == 1:
        m = matching[0]
        step = m.get("step", {})
        where = "a given" if step.get("kind") == "given" else f"the step {step.get('kind', '').replace('_', ' ')}"
        return m, (f"{m['why']}; it first shows in {step.get('quantity')} ({where}): {show(step.get('correct'))} "
                   f"becomes {show(step.get('mistaken'))}")
    if matching:
        return None, f"the answer several mistakes give: {', '.join(m['name'] for m in matching)}"
    return None, ""


def grade_answer(problem: KeyProblem, answer: KeyAnswer, response: Response | None, carried=None) -> AnswerGrade:
    """One answer graded; `carried(given)` (optional) is the value the student's own earlier
    answers give for it, or None."""
    words = T.describe(answer.tolerance)
    raw = None if response is None else response.raw
    try:
        given = parse(raw)
    except Unreadable as error:
        return AnswerGrade(answer.name, "unparseable", 0.0, raw, answer.value, words, str(error))
    if given is None:
        return AnswerGrade(answer.name, "missing", 0.0, None, answer.value, words)
    status, score, detail = compare(answer, given)
    grade = AnswerGrade(answer.name, status, score, plain(given), answer.value, words, detail)
    if status == "correct":
        return grade
    value = carried() if carried else None
    expected = as_array(answer.value)
    if value is not None and shaped(given, expected).shape == value.shape and \
            T.accepts(answer.tolerance, shaped(given, expected), value).all():
        grade.status, grade.score, grade.carried = "consistent", 1.0, plain(value)
        grade.detail = "follows from the student's own earlier answers through the same steps"
        return grade
    grade.mistake, sentence = diagnose(problem, answer, given)
    grade.detail = "; ".join(s for s in (grade.detail, sentence) if s)
    return grade


def grade_student(submission: Submission, key: Key, carry=None) -> StudentGrade:
    """Every answer of the student's variant graded, in the key's order."""
    variant, problems = submission.variant, []
    for problem in variant.problems:
        earlier: dict[str, np.ndarray] = {}
        answers = []
        for answer in problem.answers:
            response = submission.answers.get((problem.name, answer.name))
            carried = (lambda: carry.value(variant, problem, answer.name, earlier)) if carry else None
            grade = grade_answer(problem, answer, response, carried)
            answers.append(grade)
            if grade.status not in ("missing", "unparseable"):
                earlier[answer.name] = shaped(parse(response.raw), as_array(answer.value))
        problems.append(ProblemGrade(problem.name, problem.title, answers))
    return StudentGrade(submission.student, variant.id, problems)
