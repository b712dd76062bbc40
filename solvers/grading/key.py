"""Reading an answer key written by a build: answers.json (one variant) or answer-key.json
(every variant), each problem's answers with their tolerance and the mistakes it detects."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import GradingError


@dataclass
class KeyAnswer:
    name: str
    value: Any  # as the key writes it: a number, true/false, a list, a list of rows
    tolerance: dict[str, Any]


@dataclass
class KeyProblem:
    name: str
    title: str
    answers: list[KeyAnswer]
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, name: str) -> KeyAnswer | None:
        return next((a for a in self.answers if a.name == name), None)


@dataclass
class KeyVariant:
    id: str | None
    label: str | None
    seed: int | None
    problems: list[KeyProblem]

    def problem(self, name: str) -> KeyProblem | None:
        return next((p for p in self.problems if p.name == name), None)


@dataclass
class Key:
    path: Path
    title: str
    variants: list[KeyVariant]

    @property
    def has_variants(self) -> bool:
        return self.variants[0].id is not None

    def variant(self, id_: str) -> KeyVariant | None:
        return next((v for v in self.variants if v.id == id_), None)


def read_key(path: Path) -> Key:
    """The key in `path`; anything that is not a key written by a build is a GradingError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradingError(path, "", "does not exist; expected answers.json or answer-key.json from a build") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GradingError(path, "", f"cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise GradingError(path, f"line {error.lineno}", f"is not JSON ({error.msg})") from None
    except RecursionError:
        raise GradingError(path, "", "nests lists or objects too deeply; expected answers.json or answer-key.json "
                           "from a build") from None
    if not isinstance(data, dict) or not ("problems" in data or "variants" in data):
        raise GradingError(path, "", "is not an answer key; expected answers.json or answer-key.json from a build "
                           "(an object with problems or variants)")
    title = str(data.get("title", ""))
    if "variants" in data:
        entries = _list(path, data["variants"], "variants")
        variants = [_variant(path, v, f"variants[{i}]", v.get("variant") if isinstance(v, dict) else None)
                    for i, v in enumerate(entries)]
    else:  # one variant's answers.json: with its variant id, or the sheet without variants
        variants = [_variant(path, data, "", data.get("variant"))]
    if not variants:
        raise GradingError(path, "variants", "is empty; expected at least one variant")
    return Key(path, title, variants)


def _variant(path: Path, data: Any, where: str, id_: Any) -> KeyVariant:
    if not isinstance(data, dict):
        raise GradingError(path, where, "is not an object; expected a variant with its problems")
    problems = [_problem(path, p, f"{where}.problems[{i}]".lstrip("."))
                for i, p in enumerate(_list(path, data.get("problems"), f"{where}.problems".lstrip(".")))]
    seed = data.get("seed")
    return KeyVariant(None if id_ is None else str(id_), data.get("label"), seed if isinstance(seed, int) else None,
                      problems)


def _problem(path: Path, data: Any, where: str) -> KeyProblem:
    if not isinstance(data, dict) or not isinstance(data.get("problem"), str):
        raise GradingError(path, where, "is not a problem of a key; expected an object with problem and answers")
    answers = []
    for i, a in enumerate(_list(path, data.get("answers"), f"{where}.answers")):
        if not (isinstance(a, dict) and isinstance(a.get("name"), str) and "value" in a
                and isinstance(a.get("tolerance"), dict)):
            raise GradingError(path, f"{where}.answers[{i}]", "expected an object with name, value and tolerance")
        answers.append(KeyAnswer(a["name"], a["value"], a["tolerance"]))
    return KeyProblem(data["problem"], str(data.get("title", "")), answers, list(data.get("mistakes", [])))


def _list(path: Path, value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise GradingError(path, where, "is missing or not a list")
    return value
