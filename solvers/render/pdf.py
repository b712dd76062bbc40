"""LaTeX to PDF with pdflatex (never with shell escape): one run per document, the preamble's
packages loaded from a precompiled format.

Our documents have no cross-references, so one pdflatex run is final; a second runs only if
LaTeX itself asks for one ("Rerun to get …"). Loading the packages is most of the time of a
small document, so the lines up to the last `\\usepackage` are compiled once into a format
(`pdflatex -ini … \\dump`) kept in `solvers.cache`'s folder under a hash of those lines and
of the pdflatex version; each document then starts from the format and reads only the rest.
A format that cannot be made (no cache folder, an error) means a run without one; the PDF is
the same either way.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

from .. import cache as C
from ..timing import COUNTS, timed

SECONDS = 300  # one pdflatex run of a whole class's sheets takes seconds; more is a hang
RUNS = 2  # at most: the second only if LaTeX asks for it
SHELF = "latex-formats"
PDFLATEX = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
ENV = {"SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
DUMPABLE = re.compile(r"\\(documentclass|usepackage)\b")
NOT_DUMPABLE = re.compile(r"\\(jobname|openout|write|immediate|input|include|begin)\b")
_making = threading.Lock()


class LatexError(Exception):
    """pdflatex could not compile a document."""


def compile_pdf(tex: Path) -> Path:
    """Compile `tex` in its own folder; returns the PDF. Counts pdflatex runs for the benchmark."""
    with timed("pdflatex"):
        preamble, rest = split_preamble(tex.read_text(encoding="utf-8"))
        fmt = format_for(preamble) if preamble else None
        result = _compile(tex, fmt, rest) if fmt is not None else None
        if result is None or result.returncode != 0:  # without a format: a damaged one is never the error
            result = _compile(tex, None, "")
            if fmt is not None and result.returncode == 0:
                fmt.unlink(missing_ok=True)  # the format was at fault; the next build makes it again
    pdf = tex.with_suffix(".pdf")
    if result.returncode != 0 or not pdf.exists():
        raise LatexError(f"{tex.name}: pdflatex failed: {_first_error(tex.with_suffix('.log'))}")
    return pdf


def _compile(tex: Path, fmt: Path | None, rest: str) -> subprocess.CompletedProcess:
    """pdflatex on `tex` (from `fmt`, reading only `rest`, if given), run again if LaTeX asks."""
    body = tex.with_name(f".{tex.stem}.body.tex")
    if fmt is not None:
        body.write_text(rest, encoding="utf-8")
        command = [*PDFLATEX, f"-fmt={fmt.with_suffix('')}", f"-jobname={tex.stem}", rf"\input{{{body.name}}}"]
    else:
        command = [*PDFLATEX, tex.name]
    try:
        for _ in range(RUNS):
            result = _run(command, tex.parent, tex.name)
            COUNTS["pdflatex runs"] += 1
            if result.returncode != 0 or "Rerun to get" not in _log(tex):
                break
    finally:
        body.unlink(missing_ok=True)
    return result


def split_preamble(text: str) -> tuple[str, str]:
    """The leading lines that can go into a format (up to the last \\documentclass or
    \\usepackage before anything that writes files or reads others), and the rest."""
    lines = text.splitlines(keepends=True)
    end = 0
    for number, line in enumerate(lines):
        if NOT_DUMPABLE.search(line):
            break
        if DUMPABLE.match(line.lstrip()):
            end = number + 1
    return "".join(lines[:end]), "".join(lines[end:])


def format_for(preamble: str) -> Path | None:
    """The format of `preamble` (made on first use), or None if there is no cache folder or
    pdflatex cannot make it."""
    root = C.folder()
    if root is None:
        return None
    name = hashlib.sha256(f"{_version()}\0{preamble}".encode()).hexdigest()[:32]
    fmt = root / SHELF / f"{name}.fmt"
    with _making:  # two documents of a build share a preamble: make it once
        if not fmt.exists() and not _make_format(preamble, fmt):
            return None
    return fmt


def _make_format(preamble: str, fmt: Path) -> bool:
    try:
        fmt.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=fmt.parent, prefix=".making-") as work:
            source = Path(work) / "preamble.tex"
            source.write_text(preamble + "\\dump\n", encoding="utf-8")
            result = _run(["pdflatex", "-ini", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                           f"-jobname={fmt.stem}", "&pdflatex", source.name], Path(work), "the preamble")
            made = Path(work) / fmt.name
            if result.returncode != 0 or not made.exists():
                return False
            os.replace(made, fmt)
            return True
    except (OSError, LatexError):
        return False


def _run(command: list[str], folder: Path, what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=folder, capture_output=True, text=True, errors="replace",
                              env={**os.environ, **ENV}, timeout=SECONDS)
    except subprocess.TimeoutExpired:
        raise LatexError(f"{what}: pdflatex did not finish in {SECONDS} s") from None


@cache
def _version() -> str:
    """pdflatex's version banner (a format is only good for the pdflatex that made it)."""
    try:
        return subprocess.run(["pdflatex", "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _log(tex: Path) -> str:
    log = tex.with_suffix(".log")
    return log.read_text(errors="replace") if log.exists() else ""


def _first_error(log: Path) -> str:
    """The first error pdflatex logged, on one line."""
    if not log.exists():
        return "it wrote no log"
    lines = log.read_text(errors="replace").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+: ", line)),
                 max(len(lines) - 3, 0))
    return " ".join(" ".join(lines[first:first + 3]).split())
