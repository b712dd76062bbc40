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


SECONDS = 300  # one pdflatex run of a whole class's sheets takes seconds; more is a hang


class LatexError(Exception):
    """pdflatex could not compile a document."""


def compile_pdf(tex: Path) -> Path:
    """Compile `tex` in its own folder; returns the PDF. Counts pdflatex runs for the benchmark."""
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
               "-pdflatex=pdflatex -no-shell-escape %O %S", "-e", IGNORE_PAGE_COUNT, tex.name]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
    with timed("pdflatex"):
        try:
            result = subprocess.run(command, cwd=tex.parent, capture_output=True, text=True, env=env,
                                    timeout=SECONDS)
        except subprocess.TimeoutExpired:
            raise LatexError(f"{tex.name}: pdflatex did not finish in {SECONDS} s") from None
    COUNTS["pdflatex runs"] += len(re.findall(r"Run number \d+ of rule 'pdflatex'", result.stdout + result.stderr))
    pdf = tex.with_suffix(".pdf")
    if result.returncode != 0 or not pdf.exists():
        raise LatexError(f"{tex.name}: pdflatex failed: {_first_error(tex.with_suffix('.log'))}")
    return pdf


def _first_error(log: Path) -> str:
    """The first error pdflatex logged, on one line."""
    if not log.exists():
        return "it wrote no log"
    lines = log.read_text(errors="replace").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+: ", line)),
                 max(len(lines) - 3, 0))
    return " ".join(" ".join(lines[first:first + 3]).split())
