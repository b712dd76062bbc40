"""The output folder: a build writes only where it may, and replaces sets in one move each.

Set folders a build writes carry the MARK file; only such folders (or, from before the mark,
folders holding only our file names) are ever replaced. Staging folders of an interrupted
build are removed by the next one. Each set is replaced by one rename (the old version moved
aside first), one set after the other.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .core import ProblemError

STAGING = ".staging-"
MARK = ".built-by-solvers"


def check(out: Path, read: set[Path], names: list[str]) -> None:
    """Refuse an output folder that is, contains or lies inside a folder of problems being
    `read` (building would replace or mix with sources), and set folders `names` in it that a
    build did not write."""
    where = out.resolve()
    for folder in sorted(read):
        if where == folder or folder.is_relative_to(where) or where.is_relative_to(folder):
            raise ProblemError(out, "", f"the output folder overlaps the problem folder {folder}; building there "
                                 "could replace problem files. Choose an --out outside every problem folder")
    for name in names:
        target = out / name
        if target.exists() and not _written_by_a_build(target):
            raise ProblemError(target, "", "exists but was not written by a build, so it is not replaced; "
                                 "move it away or choose another --out")


OUTPUTS = {"questions.pdf", "solutions.pdf", "questions.tex", "solutions.tex", "solutions.html", "solutions.md",
           "answers.json", "answer-key.json", "answer-key.csv", "figures", "variants", MARK}


def _written_by_a_build(folder: Path) -> bool:
    """A set folder we wrote: it has our mark (or, from before the mark, only our file names)."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return (folder / MARK).exists() or all(p.name in OUTPUTS for p in folder.iterdir())


def remove_stale(out: Path) -> None:
    """Staging folders left by a build that was killed; said, then removed."""
    for stale in sorted([*out.glob(f"{STAGING}*"), *out.glob(".old-*")]):
        if stale.is_dir() and not stale.is_symlink() and (stale.name.startswith(STAGING) or (stale / MARK).exists()):
            print(f"removing {stale}, left by an interrupted build", file=sys.stderr)
            shutil.rmtree(stale, ignore_errors=True)


def replace(new: Path, target: Path) -> None:
    """Move `new` to `target`, replacing any previous version in one rename each."""
    if target.exists():
        old = target.with_name(f".old-{target.name}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old)
    else:
        new.rename(target)
