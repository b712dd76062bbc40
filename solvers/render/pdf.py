"""LaTeX to PDF with pdflatex (never with shell escape): one run per document, the preamble's
packages loaded from a precompiled format.

Our documents have no cross-references, so one pdflatex run is final; a second runs only if
LaTeX itself asks for one ("Rerun to get …"). Loading the packages is most of the time of a
small document, so the lines up to the last `\\usepackage` are compiled once into a format
(`pdflatex -ini … \\dump`) kept in `solvers.cache`'s folder under a hash of those lines and
of which pdflatex it is (its program file); each document then starts from the format and
reads only the rest. A format that cannot be made (no cache folder, an error) means a run
without one; the PDF is the same either way.

Loading the format is itself most of what is left (about 80 ms of a 130 ms document), so a
build says which documents it will compile (`ahead.expect`) and a few pdflatex processes start
at once from the format used last: each loads it while the build is still solving and
rendering, then reads its document from its standard input when that is written. A process
that does not fit the document (another format, an error) is not used: the document runs as
above.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
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
    started = ahead.take(fmt, tex.stem) if fmt is not None else None
    if started is not None:
        result = started.finish(tex, rest)
        COUNTS["pdflatex runs"] += 1
        if result.returncode == 0 and "Rerun to get" not in _log(tex):
            return result
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


@dataclass
class Started:
    """A pdflatex process that has loaded a format (or is loading it) in a folder of its own
    and waits for the rest of document `name` on its standard input."""
    name: str
    process: subprocess.Popen
    folder: Path

    @classmethod
    def start(cls, fmt: Path, name: str) -> Started:
        folder = Path(tempfile.mkdtemp(prefix=".compiling-", dir=fmt.parent))
        try:
            process = subprocess.Popen([*PDFLATEX, f"-fmt={fmt.with_suffix('')}", f"-jobname={name}",
                                        r"\input{/dev/stdin}"], cwd=folder, stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **ENV})
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cls(name, process, folder)

    def finish(self, tex: Path, rest: str) -> subprocess.CompletedProcess:
        """Compile `rest` (which ends the document) as `tex`; the files it makes go beside `tex`."""
        try:
            if (tex.parent / "figures").is_dir():
                (self.folder / "figures").symlink_to(tex.parent / "figures")
            self.process.communicate(rest.encode("utf-8"), timeout=SECONDS)
            for made in self.folder.glob(f"{self.name}.*"):
                shutil.move(made, tex.with_name(made.name))
            return subprocess.CompletedProcess(self.process.args, self.process.returncode)
        except (OSError, subprocess.TimeoutExpired):
            return subprocess.CompletedProcess(self.process.args, -1)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class Ahead:
    """pdflatex processes started ahead of their documents, at most `count` at a time and no
    more than documents still to come (a POSIX system's /dev/stdin is how they are fed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._coming: list[str] = []  # names of the documents still to compile, in order
        self._started: list[Started] = []
        self._count = 0
        self._format: Path | None = None

    def expect(self, names: list[str], count: int) -> None:
        """Documents `names` (in the order they will be written) are to be compiled, `count`
        of them started ahead."""
        with self._lock:
            self._coming, self._count = list(names), count if os.name == "posix" else 0
            self._format = _recent_format()
            if self._format is not None:
                _remove_abandoned(self._format.parent)
            soon = self._coming[:self._count]
            for started in list(self._started):  # started for documents that no longer come next
                if started.name in soon:
                    soon.remove(started.name)
                else:
                    self._started.remove(started)
                    started.stop()
            self._top_up()

    def take(self, fmt: Path, name: str) -> Started | None:
        """The process started for document `name` from `fmt`, if there is one."""
        with self._lock:
            if name in self._coming:
                self._coming.remove(name)
            if fmt != self._format:  # the format used last is not this build's
                self._format = fmt
                self._stop_started()
            started = next((s for s in self._started if s.name == name), None)
            if started is not None:
                self._started.remove(started)
            self._top_up()
        return started

    def stop(self) -> None:
        """No more documents: every process still waiting ends."""
        with self._lock:
            self._coming = []
            self._stop_started()

    def _stop_started(self) -> None:
        for started in self._started:
            started.stop()
        self._started = []

    def _top_up(self) -> None:
        waiting = [s.name for s in self._started]
        for name in self._coming[:self._count]:
            if name in waiting:
                waiting.remove(name)
            elif self._format is not None and self._format.exists():
                try:
                    self._started.append(Started.start(self._format, name))
                except OSError:
                    return


ahead = Ahead()


def _remove_abandoned(shelf: Path) -> None:
    """Folders of processes whose build was killed (older than any run may take) are removed."""
    for folder in shelf.glob(".compiling-*"):
        try:
            if time.time() - folder.stat().st_mtime > SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _recent_format() -> Path | None:
    """The format a document used last (formats are touched when used), if any."""
    root = C.folder()
    try:  # a format may be removed meanwhile (another build found it damaged)
        used = [(fmt.stat().st_mtime, fmt) for fmt in (root / SHELF).glob("*.fmt")] if root is not None else []
    except OSError:
        return None
    return max(used, default=(0, None))[1]


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
    try:
        os.utime(fmt)  # the format used last is the one processes start from (`Ahead`)
    except OSError:
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
    """Which pdflatex this is (a format is only good for the pdflatex that made it): its
    program file, size and time, which an upgrade changes (no process to ask it)."""
    found = shutil.which("pdflatex")
    try:
        program = os.path.realpath(found) if found else ""
        status = os.stat(program)
    except OSError:
        return ""
    return f"{program} {status.st_size} {status.st_mtime_ns}"


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
