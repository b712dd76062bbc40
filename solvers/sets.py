"""Finding problem sets: a folder of problem files (ordered by a `sheet.yaml` if it has one,
else by file name), a sheet file, or a single problem file. A problem's file name is its name
in the answer key, so a set never holds two of one name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import problem as P
from .characters import untypesettable

SHEET = "sheet.yaml"


@dataclass
class ProblemSet:
    name: str
    title: str
    files: list[Path]
    source: Path  # the folder, sheet file or problem file the set was found as

    @property
    def lockfile(self) -> Path:
        """Where the instructor's record of deployed variants lives (see solvers.lock)."""
        return self.source / "variants.lock" if self.source.is_dir() else self.source.with_suffix(".lock")


def discover(paths: list[str | Path]) -> list[ProblemSet]:
    """The problem sets in `paths` (files or folders, searched recursively)."""
    sets: list[ProblemSet] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        if not path.exists():
            raise P.ProblemError(path, "", "does not exist")
        if not (path.is_file() or path.is_dir()):
            raise P.ProblemError(path, "", "is neither a regular file nor a folder; expected problem files or folders")
        sets.extend(_sets_in(path, seen))
        if path.is_dir() and not any(s.source.resolve().is_relative_to(path.resolve()) for s in sets):
            raise P.ProblemError(path, "", "holds no problem files (*.yaml or *.yml), nor do its folders")
    names = [s.name for s in sets]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise P.ProblemError(duplicate, "", "two problem sets have this name; their output folders would collide")
    return sets


def _sets_in(path: Path, seen: set[Path]) -> list[ProblemSet]:
    """The sets in a file or, recursively, a folder (each folder once: symlink loops end)."""
    if path.is_file():
        data = P.read_yaml(path)
        if isinstance(data, dict) and "problems" in data and "kind" not in data:
            return [_sheet(path, data)]
        return [ProblemSet(path.stem, _title_of(path), [path], path)]
    if path.resolve() in seen:
        return []
    seen.add(path.resolve())
    sets = []
    sheet = path / SHEET
    problems = sorted(p for p in path.glob("*.y*ml") if p.name != SHEET and p.suffix in (".yaml", ".yml"))
    if sheet.exists():
        sets.append(_sheet(sheet, P.read_yaml(sheet), name=path.name))
    elif problems:
        stems = [p.stem for p in problems]
        twin = next((p for p in problems if stems.count(p.stem) > 1), None)
        if twin is not None:
            raise P.ProblemError(twin, "", f"another file of this folder has the name {twin.stem!r} (.yaml and .yml); "
                                 "a problem's file name is its name in the answer key: rename one")
        title = path.name.replace("-", " ").replace("_", " ").capitalize()
        sets.append(ProblemSet(path.name, _checked_title(title, path), problems, path))
    for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sets.extend(_sets_in(child, seen))
    return sets


def _sheet(path: Path, data, name: str | None = None) -> ProblemSet:
    if not isinstance(data, dict) or not isinstance(data.get("problems"), list) or not data["problems"]:
        raise P.ProblemError(path, "problems", "a sheet needs a non-empty list of problem files")
    title = data.get("title", path.stem)
    if not isinstance(title, str) or not title.strip():
        raise P.ProblemError(path, "title", f"must be text, found {title!r}")
    _checked_title(title, path, "title")
    files = []
    for i, entry in enumerate(data["problems"]):
        file = path.parent / str(entry)
        if not file.is_file():
            raise P.ProblemError(path, f"problems[{i}]", f"{entry!r} is not a file next to the sheet")
        twin = next((f for f in files if f.stem == file.stem), None)
        if twin is not None:
            raise P.ProblemError(path, f"problems[{i}]", f"{entry!r} has the name {file.stem!r} of {twin.name!r}, listed "
                                 "before it; a problem's file name is its name in the answer key: list each once, "
                                 "under names of their own")
        files.append(file)
    unknown = set(data) - {"title", "problems"}
    if unknown:
        raise P.ProblemError(path, sorted(unknown)[0], "is not a sheet field; expected title and problems")
    return ProblemSet(name or path.stem, title, files, path.parent if name else path)


def _checked_title(title: str, path: Path, field: str = "", source: str = "folder") -> str:
    """A sheet title (from a sheet file, a folder or a file name) that the PDF can show."""
    bad = untypesettable(title)
    if bad:
        where = "the sheet title" if field else f"the {source} name, used as the sheet title,"
        raise P.ProblemError(path, field, f"{where} contains characters the PDF cannot show: "
                             f"{', '.join(repr(c) for c in bad)}; use words or ASCII (or a sheet.yaml with a title)")
    return title


def _title_of(path: Path) -> str:
    """A single problem's sheet title: its own title (checked with the problem), else its file name."""
    data = P.read_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("title"), str) and data["title"].strip():
        return data["title"]
    return _checked_title(path.stem, path, source="file")
