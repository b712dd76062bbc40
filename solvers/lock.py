"""The lockfile: a record of deployed variants, so an upgrade cannot silently change them.

`python -m solvers lock SET --variants N` (or `--roster`) writes, per set, each variant's
seed with a hash of its drawn parameters and a hash of its answers (to 12 significant
digits, beyond any displayed precision but blind to last-bit noise). The instructor commits
it; `make check` then redraws and resolves every recorded variant and fails, naming the
variant, if its parameters or its answers changed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pydantic

from . import build as B
from .problem import describe_validation_error
from .solution import displayed


class LockError(Exception):
    """A deployed variant is no longer what was handed out."""


def fingerprint(solved: "B.SolvedVariant") -> dict:
    parameters = [p.spec.model_dump(mode="json") for p in solved.problems]
    answers = [[(a.name, displayed(a.value, 12).tolist()) for a in s.answers]
               for s in solved.solutions]
    return {"variant": solved.variant.id, "label": solved.variant.label, "seed": solved.variant.seed,
            "parameters": _digest(parameters), "answers": _digest(answers)}


def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_locks(sets: list["B.ProblemSet"], variants: list["B.Variant"]) -> list[tuple[Path, int]]:
    written = []
    for problem_set in sets:
        templates = B.templates_of(problem_set)
        entries = [fingerprint(B.solve_variant(templates, v)) for v in variants]
        data = {"set": problem_set.name, "problems": [f.name for f in problem_set.files], "variants": entries}
        if problem_set.lockfile.exists() and not problem_set.lockfile.is_file():  # a FIFO would block the write
            raise LockError(f"{problem_set.lockfile}: is not a regular file; expected a lockfile (or none) to write")
        problem_set.lockfile.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written.append((problem_set.lockfile, len(entries)))
    return written


class LockedVariant(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    variant: str | None
    label: str | None = None
    seed: int
    parameters: str
    answers: str


MOST_BYTES = 10_000_000  # a lockfile of a thousand variants is about 200 kB


class Lockfile(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    set: str
    problems: list[str]
    variants: list[LockedVariant]


def read_lockfile(path: Path) -> list[LockedVariant]:
    """The locked variants of a lockfile, or a LockError saying it is not one."""
    if not path.is_file() or path.stat().st_size > MOST_BYTES:
        what = "not a regular file" if not path.is_file() else f"{path.stat().st_size} bytes"
        raise LockError(f"{path}: is {what}; expected a lockfile written by `python -m solvers lock` (a JSON file "
                        f"of at most {MOST_BYTES} bytes)")
    try:
        return Lockfile.model_validate_json(path.read_bytes()).variants
    except (OSError, pydantic.ValidationError) as error:
        detail = error.strerror if isinstance(error, OSError) else describe_validation_error(error)
        detail = detail if isinstance(detail, str) else ": ".join(d for d in detail if d)
        raise LockError(f"{path}: is not a lockfile written by `python -m solvers lock` ({detail}); "
                        "write it again with `make lock`") from None


def check_locks(sets: list["B.ProblemSet"]) -> list[tuple[Path, int]]:
    """Redraw every locked variant; raise LockError at the first that changed."""
    checked = []
    for problem_set in sets:
        path = problem_set.lockfile
        if not path.exists():
            continue
        entries = read_lockfile(path)
        templates = B.templates_of(problem_set)
        for entry in entries:
            variant = B.Variant(entry.variant, entry.seed, entry.label)
            now = fingerprint(B.solve_variant(templates, variant))
            for what in ("parameters", "answers"):
                if now[what] != getattr(entry, what):
                    name = entry.variant or "the sheet"
                    raise LockError(f"{path}: deployed variant {name} (seed {entry.seed}) now has different "
                                    f"{what} than when it was locked; its students have the old "
                                    f"{'numbers' if what == 'parameters' else 'answers'}")
        checked.append((path, len(entries)))
    return checked
