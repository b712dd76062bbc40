"""Grading: students' answers checked against an answer key, with the reason a wrong answer
is wrong where the catalog of mistakes knows it.

`grade(key, responses, problems=None)` reads an answer key (answers.json, or
answer-key.json with variants), the students' responses (CSV or JSON, `responses`) and
grades every answer (`check`): correct, partial (some entries of a vector or matrix),
transposed, wrong, missing or unparseable, by the key's tolerance for that answer. A wrong
answer that equals the answer one catalog mistake gives (and no other) is diagnosed: the
report names the mistake and the first step it changes. Given the problem files the key was
built from, a wrong answer that follows from the student's own earlier wrong values is
re-checked through the same derivation and scored as consistent (`forward`). `report`
writes the results: CSV, JSON and one HTML page per student.
"""
from __future__ import annotations

from pathlib import Path

from .check import grade_student
from .key import Key, read_key
from .model import AnswerGrade, GradingError, ProblemGrade, Report, StudentGrade
from .responses import read_responses

__all__ = ["grade", "AnswerGrade", "GradingError", "ProblemGrade", "Report", "StudentGrade", "Key", "read_key",
           "read_responses"]


def grade(key_path: str | Path, responses_path: str | Path, problems: list[str | Path] | None = None) -> Report:
    """Every student's responses graded against the key (with carried-forward errors when
    the problem files are given)."""
    key = read_key(Path(key_path))
    submissions = read_responses(Path(responses_path), key)
    carry = None
    if problems:
        from .forward import CarryForward
        carry = CarryForward(key, problems)
    students = [grade_student(submission, key, carry) for submission in submissions]
    return Report(str(key_path), str(responses_path), key.title, students, carry is not None)
