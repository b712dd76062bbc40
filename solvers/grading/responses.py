"""Reading students' responses: CSV or JSON rows of student (or variant), problem, answer
name and value (a number, true/false, or a JSON list for a vector or a matrix).

CSV: a header with `student`, `problem`, `answer`, `value` and optionally `variant`; JSON:
a list of objects with the same fields (or `{"responses": [...]}`). A student's variant is
the `variant` field, else the variant built for that student id (`--roster`), else (a key
without variants) the only one. A file that cannot be graded as a whole (a missing column,
an unknown problem or answer name, a student answering twice) is a GradingError naming the
file, the row and what is wrong; a value that cannot be read is graded `unparseable`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .key import Key, KeyVariant
from .model import GradingError

COLUMNS = ("student", "problem", "answer", "value")
LARGEST_FILE = 20_000_000


@dataclass
class Response:
    raw: Any  # the text of a CSV cell, or the JSON value
    row: str  # "row 7" (CSV, counting the header as row 1) or "responses[6]" (JSON)


@dataclass
class Submission:
    student: str
    variant: KeyVariant
    answers: dict[tuple[str, str], Response] = field(default_factory=dict)  # (problem, answer) → response


def read_responses(path: Path, key: Key) -> list[Submission]:
    """Every student's responses, in the order they first appear."""
    rows = _rows(path)
    submissions: dict[str, Submission] = {}
    for where, row in rows:
        student = _text(path, where, row, "student", required=not row.get("variant"))
        variant_id = _text(path, where, row, "variant", required=False)
        student = student or variant_id
        variant = _variant_of(path, where, key, student, variant_id)
        submission = submissions.setdefault(student, Submission(student, variant))
        if submission.variant is not variant:
            raise GradingError(path, where, f"student {student!r} is given variant {variant.id!r} here but "
                               f"{submission.variant.id!r} before; expected one variant per student")
        problem_name, answer_name = _text(path, where, row, "problem"), _text(path, where, row, "answer")
        problem = variant.problem(problem_name)
        if problem is None:
            raise GradingError(path, where, f"problem {problem_name!r} is not in the key; expected one of "
                               f"{', '.join(p.name for p in variant.problems)}")
        if problem.answer(answer_name) is None:
            raise GradingError(path, where, f"problem {problem_name!r} has no answer {answer_name!r}; expected one "
                               f"of {', '.join(a.name for a in problem.answers)}")
        if (problem_name, answer_name) in submission.answers:
            first = submission.answers[(problem_name, answer_name)].row
            raise GradingError(path, where, f"student {student!r} answers {problem_name} {answer_name} a second "
                               f"time (first in {first}); expected one row per answer")
        submission.answers[(problem_name, answer_name)] = Response(row.get("value"), where)
    if not submissions:
        raise GradingError(path, "", "has no responses")
    return list(submissions.values())


def _rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        if path.stat().st_size > LARGEST_FILE:
            raise GradingError(path, "", f"is larger than {LARGEST_FILE // 1_000_000} MB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GradingError(path, "", "does not exist; expected a CSV or JSON file of responses") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GradingError(path, "", f"cannot be read as UTF-8 text ({error})") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        return _json_rows(path, text)
    return _csv_rows(path, text)


def _csv_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        table = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise GradingError(path, "", f"is not valid CSV ({error})") from None
    if not table:
        raise GradingError(path, "", "is empty; expected a header row student,problem,answer,value")
    header = [cell.strip().lower() for cell in table[0]]
    missing = [c for c in COLUMNS if c not in header and not (c == "student" and "variant" in header)]
    if missing:
        raise GradingError(path, "row 1", f"has no column {', '.join(missing)}; expected a header with "
                           "student (or variant), problem, answer, value")
    rows = []
    for number, cells in enumerate(table[1:], 2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise GradingError(path, f"row {number}", f"has {len(cells)} cells but the header {len(header)}; "
                               "quote a value that holds commas (\"[1, 2]\")")
        rows.append((f"row {number}", {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)}))
    return rows


def _json_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise GradingError(path, f"line {error.lineno}", f"is not JSON ({error.msg})") from None
    except RecursionError:
        raise GradingError(path, "", "nests lists or objects too deeply; expected a list of responses") from None
    if isinstance(data, dict) and "responses" in data:
        data = data["responses"]
    if not isinstance(data, list):
        raise GradingError(path, "", "expected a list of responses (objects with student, problem, answer, value)")
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise GradingError(path, f"responses[{i}]", "is not an object; expected student, problem, answer, value")
        unknown = sorted(set(row) - set(COLUMNS) - {"variant"})
        if unknown:
            raise GradingError(path, f"responses[{i}]", f"has an unknown field {unknown[0]!r}; expected "
                               "student, variant, problem, answer, value")
        rows.append((f"responses[{i}]", row))
    return rows


def _text(path: Path, where: str, row: dict, name: str, required: bool = True) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise GradingError(path, where, f"has no {name}")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise GradingError(path, where, f"{name} is {json.dumps(value)}; expected text")
    return str(value).strip()


def _variant_of(path: Path, where: str, key: Key, student: str, variant_id: str) -> KeyVariant:
    if not key.has_variants:
        if variant_id and variant_id != (key.variants[0].id or variant_id):
            raise GradingError(path, where, f"variant {variant_id!r} is not in the key, which has no variants")
        return key.variants[0]
    if variant_id:
        variant = key.variant(variant_id)
        if variant is None:
            raise GradingError(path, where, f"variant {variant_id!r} is not in the key; expected one of "
                               f"{_some(v.id for v in key.variants)}")
        return variant
    for v in key.variants:  # a roster build: the variant's label is "Student <id>", its folder the id made safe
        if v.label == f"Student {student}" or v.id == student or v.id == re.sub(r"[^A-Za-z0-9._-]", "_", student):
            return v
    raise GradingError(path, where, f"student {student!r} has no variant in the key; give a variant column "
                       f"(one of {_some(v.id for v in key.variants)}) or build the key with --roster")


def _some(names) -> str:
    names = list(names)
    return ", ".join(names[:5]) + (f", … ({len(names)} in all)" if len(names) > 5 else "")
