"""LaTeX to PDF with latexmk (pdflatex, never with shell escape)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ..timing import COUNTS, timed

# LaTeX writes the page count into the .aux file; without this latexmk takes that line for
# a changed cross-reference and runs pdflatex a second time for nothing.
IGNORE_PAGE_COUNT = "$hash_calc_ignore_pattern{'aux'} = 'abspage.last';"


class LatexError(Exception):
    """pdflatex could not compile a document."""


def compile_pdf(tex: Path) -> Path:
    """Compile `tex` in its own folder; returns the PDF. Counts pdflatex runs for the benchmark."""
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
               "-pdflatex=pdflatex -no-shell-escape %O %S", "-e", IGNORE_PAGE_COUNT, tex.name]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
    with timed("pdflatex"):
        result = subprocess.run(command, cwd=tex.parent, capture_output=True, text=True, env=env)
    COUNTS["pdflatex runs"] += len(re.findall(r"Run number \d+ of rule 'pdflatex'", result.stdout + result.stderr))
    pdf = tex.with_suffix(".pdf")
    if result.returncode != 0 or not pdf.exists():
        raise LatexError(f"{tex.name}: pdflatex failed:\n{_first_error(tex.with_suffix('.log'))}")
    return pdf


def _first_error(log: Path) -> str:
    if not log.exists():
        return "(pdflatex wrote no log; is latexmk installed?)"
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+: ", line):
            return "\n".join(lines[i:i + 6])
    return "\n".join(lines[-15:])
