"""Writing a grading report: report.json (everything), report.csv (one row per answer),
scores.csv (one row per student: each problem's score and the total) and students/<id>.html
(a readable page per student). Written into a staging folder, then moved into place; an
existing folder is replaced only if a grading wrote it."""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import jinja2

from ..output import replace
from ..render.drivers import TEMPLATES
from ..render.drivers.answers import compact_json, to_json
from .check import show
from .model import GradingError, Report

MARK = ".graded-by-solvers"


def write(report: Report, out: Path) -> Path:
    """The report's files in `out` (replacing a previous report there)."""
    if out.exists() and not (out.is_dir() and ((out / MARK).exists() or not any(out.iterdir()))):
        raise GradingError(out, "", "exists and was not written by a grading, so it is not replaced; choose "
                           "another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".staging-{out.name}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    (staging / MARK).write_text("", encoding="utf-8")
    (staging / "report.json").write_text(to_json(report.as_json()), encoding="utf-8")
    _answers_csv(report, staging / "report.csv")
    _scores_csv(report, staging / "scores.csv")
    pages = staging / "students"
    pages.mkdir()
    template = _environment().get_template("student.html.j2")
    for student in report.students:
        (pages / f"{page_name(student.student)}.html").write_text(
            template.render(report=report, student=student, show=show), encoding="utf-8")
    replace(staging, out)
    return out


def page_name(student: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", student)
    return name if name.strip(".") else "_" + name


def _answers_csv(report: Report, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "variant", "problem", "answer", "status", "score", "given", "expected",
                         "mistake", "detail"])
        for s in report.students:
            for p in s.problems:
                for a in p.answers:
                    writer.writerow([s.student, s.variant or "", p.problem, a.name, a.status, round(a.score, 4),
                                     "" if a.given is None else _cell(a.given), compact_json(a.expected),
                                     a.mistake["name"] if a.mistake else "", a.detail])


def _cell(value) -> str:
    return value if isinstance(value, str) else compact_json(value)


def _scores_csv(report: Report, path: Path) -> None:
    problems = [p.problem for p in report.students[0].problems] if report.students else []
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "variant", *problems, "total", "out_of"])
        for s in report.students:
            writer.writerow([s.student, s.variant or "", *(round(p.score, 4) for p in s.problems), round(s.score, 4),
                             s.out_of])


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "grade"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
