"""A rubric for grading on paper (rubric.pdf): per problem, every step whose value the worked
solution shows and every answer, with the value expected at the sheet's digits and its points.

Grading gives every answer one point and problem files set no points, so the rubric does the
same for every intermediate step: one point per answer and one per intermediate step shown; a
step whose quantity is an answer counts once, as that answer. An answer no step gives alone
(a shape made of several sizes) comes after the steps. With variants, each variant is a
section of the sheet's rubric.pdf (one pdflatex run), split into variants/<id>/rubric.pdf
like the solutions. `items` is shared with the Gradescope rubric (gradescope.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from ... import tolerance as T
from .. import markup
from . import TEMPLATES, Document
from .latex import LATEX, Latex
from .quiz import shown

POINTS = 1  # per answer and per intermediate step
RUBRIC = LATEX.overlay(loader=jinja2.FileSystemLoader([TEMPLATES / "rubric", TEMPLATES / "latex"]))


@dataclass
class Item:
    """One line of a rubric: what to look for, the value expected and what it is worth."""
    section: str  # the heading of the solution's section, as plain text
    symbol: str  # LaTeX
    value: str  # LaTeX, as the solution shows it
    text: str  # the value as plain text at the sheet's digits
    points: int
    answer: str | None = None  # the answer's name; None for an intermediate step
    tolerance: str = ""  # what a grader accepts, in words (answers only)


@dataclass
class Problem:
    """A problem's rubric: its title (markup) and items, grouped by section in order."""
    title: str
    sections: list[tuple[str, list[Item]]]

    @property
    def points(self) -> int:
        return sum(item.points for _, items in self.sections for item in items)


def heading(text: str) -> str:
    """A section heading's leading bold words as plain text ("Forward pass")."""
    blocks = markup.translate(text, lambda t, s: t if s.bold else "\0", lambda m: "\0", lambda n: "\0")
    return blocks[0].split("\0")[0].strip().rstrip(".:").strip() if blocks else ""


def plain(value: Any, digits: int, exact: bool = False) -> str:
    """A value as plain text at the sheet's digits: a number, true/false, [a, b] or [[a, b], [c, d]]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if value and all(isinstance(row, list) and len(row) == 1 for row in value):
            value = [row[0] for row in value]  # a column vector as its entries
        if len(value) == 1 and not isinstance(value[0], list):
            return plain(value[0], digits, exact)
        return "[" + ", ".join(plain(v, digits, exact) for v in value) + "]"
    return shown(float(value), digits, exact)


def items(problem, key_problem: dict[str, Any]) -> list[Item]:
    """The rubric items of one problem of one variant, in the order of its solution."""
    digits = key_problem.get("digits", 4)
    keyed = {a["name"]: a for a in key_problem["answers"]}
    labels = {name: (symbol, value) for name, symbol, value in problem.answers}
    headings = [heading(text) or f"Part {i + 1}" for i, (text, _) in enumerate(problem.sections)]

    def answer(name: str, section: str) -> Item:
        found, (symbol, value) = keyed[name], labels[name]
        exact = found["tolerance"] == T.EXACT
        return Item(section, symbol, value, plain(found["value"], digits, exact), POINTS, name,
                    T.describe(found["tolerance"]))

    out, given = [], set()
    for step in problem.steps:
        if step.answers:
            out += [answer(name, headings[step.section]) for name in step.answers]
            given.update(step.answers)
        elif step.shown:
            out.append(Item(headings[step.section], step.symbol, step.value, plain(step.numbers, digits), POINTS))
    return out + [answer(name, "Answers") for name in keyed if name not in given]


def problem_rubric(problem, key_problem: dict[str, Any]) -> Problem:
    """A problem's items grouped by section, sections in order."""
    sections: list[tuple[str, list[Item]]] = []
    for item in items(problem, key_problem):
        if not sections or sections[-1][0] != item.section:
            sections.append((item.section, []))
        sections[-1][1].append(item)
    return Problem(problem.title, sections)


class Rubric(Latex):
    """rubric.pdf per sheet: compiled, split per variant and tidied like the latex driver's PDFs."""
    name = "rubric"
    default = False  # a pdflatex run per sheet: built when asked for (--formats rubric, or all)

    def render(self, document: Document) -> list[Problem]:
        return [problem_rubric(p, k) for p, k in zip(document.problems, document.answers)]

    def documents(self) -> list[str]:
        return ["rubric"]

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list[Any]:
        documents = [replace(d, problems=problems) for d, problems in rendered]
        tex = folder / "rubric.tex"
        tex.write_text(RUBRIC.get_template("rubric.tex.j2").render(
            title=documents[0].title, variants=documents, points=POINTS, figures={}), encoding="utf-8")
        return [self.compiling(tex, documents)]
