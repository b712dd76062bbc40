"""The results of grading, as data: per answer, per problem, per student."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("correct", "consistent", "partial", "transposed", "wrong", "missing", "unparseable")
"""correct: within tolerance; consistent: wrong, but what the student's own earlier values
give through the same derivation (full credit); partial: some entries right (credit for
those); transposed: the transpose of the right matrix; wrong; missing; unparseable."""


class GradingError(Exception):
    """A key or responses file that cannot be graded: the file, where in it, what is wrong."""

    def __init__(self, file, where: str, message: str):
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")


@dataclass
class AnswerGrade:
    name: str
    status: str
    score: float  # 0 … 1
    given: Any  # what the student wrote, as read (None when missing)
    expected: Any
    tolerance: str  # in words
    detail: str = ""  # why, in a sentence
    mistake: dict[str, Any] | None = None  # the catalog mistake diagnosed: name, why, step
    carried: Any = None  # the value the student's own earlier answers give, when consistent


@dataclass
class ProblemGrade:
    problem: str
    title: str
    answers: list[AnswerGrade]

    @property
    def score(self) -> float:
        return sum(a.score for a in self.answers)

    @property
    def out_of(self) -> int:
        return len(self.answers)


@dataclass
class StudentGrade:
    student: str
    variant: str | None
    problems: list[ProblemGrade]

    @property
    def score(self) -> float:
        return sum(p.score for p in self.problems)

    @property
    def out_of(self) -> int:
        return sum(p.out_of for p in self.problems)


@dataclass
class Report:
    key: str
    responses: str
    title: str
    students: list[StudentGrade]
    carried_forward: bool  # whether the problem files were given (errors carried forward)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.counts = {status: sum(a.status == status for s in self.students for p in s.problems for a in p.answers)
                       for status in STATUSES}

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "key": self.key, "responses": self.responses,
                "carried_forward": self.carried_forward, "counts": self.counts,
                "students": [{"student": s.student, "variant": s.variant, "score": s.score, "out_of": s.out_of,
                              "problems": [{"problem": p.problem, "title": p.title, "score": p.score,
                                            "out_of": p.out_of, "answers": [asdict(a) for a in p.answers]}
                                           for p in s.problems]}
                             for s in self.students]}
