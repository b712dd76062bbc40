"""The pipeline: problem files → solved, verified problems → documents in build/.

A *set* is what becomes one folder of output: a folder of problem files (ordered by a
`sheet.yaml` if it has one, else by file name), a sheet file, or a single problem file.
Everything is written to a temporary folder first and moved into place only when every
set has been solved, verified and compiled, so a failed build leaves build/ as it was.
"""
from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import problem as P
from .render import documents
from .render.pdf import compile_pdf
from .solution import Solution
from .timing import timed
from .verify import verify

SHEET = "sheet.yaml"


@dataclass
class ProblemSet:
    name: str
    title: str
    files: list[Path]


@dataclass
class SolvedSet:
    problem_set: ProblemSet
    problems: list[P.Problem]
    solutions: list[Solution]
    values_checked: int


def discover(paths: list[str | Path]) -> list[ProblemSet]:
    """The problem sets in `paths` (files or folders, searched recursively)."""
    sets: list[ProblemSet] = []
    for path in map(Path, paths):
        if not path.exists():
            raise P.ProblemError(path, "", "does not exist")
        sets.extend(_sets_in(path))
    names = [s.name for s in sets]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise P.ProblemError(duplicate, "", "two problem sets have this name; their output folders would collide")
    return sets


def _sets_in(path: Path) -> list[ProblemSet]:
    if path.is_file():
        data = P.read_yaml(path)
        if isinstance(data, dict) and "problems" in data and "kind" not in data:
            return [_sheet(path, data)]
        return [ProblemSet(path.stem, _title_of(path), [path])]
    sets = []
    sheet = path / SHEET
    problems = sorted(p for p in path.glob("*.y*ml") if p.name != SHEET and p.suffix in (".yaml", ".yml"))
    if sheet.exists():
        sets.append(_sheet(sheet, P.read_yaml(sheet), name=path.name))
    elif problems:
        sets.append(ProblemSet(path.name, path.name.replace("-", " ").replace("_", " ").capitalize(), problems))
    for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sets.extend(_sets_in(child))
    return sets


def _sheet(path: Path, data, name: str | None = None) -> ProblemSet:
    if not isinstance(data, dict) or not isinstance(data.get("problems"), list) or not data["problems"]:
        raise P.ProblemError(path, "problems", "a sheet needs a non-empty list of problem files")
    title = data.get("title", path.stem)
    if not isinstance(title, str):
        raise P.ProblemError(path, "title", f"must be text, found {title!r}")
    files = []
    for i, entry in enumerate(data["problems"]):
        file = path.parent / str(entry)
        if not file.is_file():
            raise P.ProblemError(path, f"problems[{i}]", f"{entry!r} is not a file next to the sheet")
        files.append(file)
    unknown = set(data) - {"title", "problems"}
    if unknown:
        raise P.ProblemError(path, sorted(unknown)[0], "is not a sheet field; expected title and problems")
    return ProblemSet(name or path.stem, title, files)


def _title_of(path: Path) -> str:
    data = P.read_yaml(path)
    return data.get("title", path.stem) if isinstance(data, dict) and isinstance(data.get("title"), str) else path.stem


def solve_set(problem_set: ProblemSet) -> SolvedSet:
    """Load, solve and verify every problem of a set."""
    problems, solutions, checked = [], [], 0
    for file in problem_set.files:
        problem = P.load(file)
        solution = problem.module.solve(problem.spec, problem.name)
        with timed("verification"):
            checked += verify(problem, solution)
        problems.append(problem)
        solutions.append(solution)
    return SolvedSet(problem_set, problems, solutions, checked)


def check(paths: list[str | Path]) -> list[SolvedSet]:
    """Solve and verify everything in `paths` without rendering."""
    return [solve_set(s) for s in discover(paths)]


def write_set(solved: SolvedSet, folder: Path) -> list[Path]:
    """Write one set's documents into `folder`; returns the .tex files still to compile."""
    folder.mkdir(parents=True)
    title = solved.problem_set.title
    with timed("rendering"):
        rendered = [documents.prepare(s) for s in solved.solutions]
        (folder / "questions.tex").write_text(documents.render_latex("questions.tex.j2", title, rendered))
        (folder / "solutions.tex").write_text(documents.render_latex("solutions.tex.j2", title, rendered))
        (folder / "solutions.html").write_text(documents.render_html(title, rendered), encoding="utf-8")
        (folder / "answers.json").write_text(documents.answer_key(title, solved.solutions), encoding="utf-8")
    return [folder / "questions.tex", folder / "solutions.tex"]


def build(paths: list[str | Path], out: str | Path, jobs: int = 2) -> list[SolvedSet]:
    """Build every set in `paths` into `out`/<set>/, all or nothing."""
    out = Path(out)
    solved = check(paths)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        sources = [tex for s in solved for tex in write_set(s, staging / s.problem_set.name)]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(compile_pdf, sources))
        for s in solved:
            _clean_latex_byproducts(staging / s.problem_set.name)
            _replace(staging / s.problem_set.name, out / s.problem_set.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return solved


def _clean_latex_byproducts(folder: Path) -> None:
    for pattern in ("*.aux", "*.log", "*.fls", "*.fdb_latexmk"):
        for file in folder.glob(pattern):
            file.unlink()


def _replace(new: Path, target: Path) -> None:
    """Move `new` to `target`, replacing any previous version in one rename each."""
    if target.exists():
        old = target.with_name(f".old-{target.name}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old)
    else:
        new.rename(target)
