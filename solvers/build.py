"""The pipeline: problem files → variants, solved and verified → documents in build/.

A *set* is what becomes one folder of output: a folder of problem files (ordered by a
`sheet.yaml` if it has one, else by file name), a sheet file, or a single problem file.
A build makes one or more *variants* of every set (one seed each, or one per student).

Each output format is a driver (solvers.render.drivers). Without variants a set's folder
holds questions.pdf, solutions.pdf, solutions.html, solutions.md and answers.json. With
variants it holds the combined printable questions.pdf and solutions.pdf of all variants,
answer-key.json and answer-key.csv for all of them, and variants/<id>/ with each variant's
own PDFs, HTML, Markdown and answers.json.

Everything is written to a staging folder first and moved into place only when every set
has been solved, verified and compiled, so a failed build leaves build/ as it was.
"""
from __future__ import annotations

import csv
import re
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator


from . import output, timing
from . import problem as P
from . import variants as V
from .characters import untypesettable
from .mistakes import answer_key
from .output import MARK
from .randomize import seed_for_student
from .render.drivers import DEFAULT_FORMATS, DRIVERS, Document
from .solution import Solution
from .timing import timed
from .sets import SHEET, ProblemSet, discover  # noqa: F401 (the pipeline's API: finding sets)
from .verify import VerificationError, computed_ahead, fields_without_prose, verify


@dataclass(frozen=True)
class Variant:
    """One version of every sheet: `id` names its folder, `label` is printed on it."""
    id: str | None
    seed: int
    label: str | None = None


@dataclass
class SolvedVariant:
    variant: Variant
    problems: list[P.Problem]
    solutions: list[Solution]
    values_checked: int


@dataclass
class SolvedSet:
    problem_set: ProblemSet
    variants: list[SolvedVariant] = field(default_factory=list)

    @property
    def problems(self) -> list[P.Problem]:
        return self.variants[0].problems

    @property
    def solutions(self) -> list[Solution]:
        return self.variants[0].solutions

    @property
    def values_checked(self) -> int:
        return sum(v.values_checked for v in self.variants)


# -- choosing variants -----------------------------------------------------------------------

MOST_VARIANTS = 1000  # variants (or students) in one build


def plan(seed: int = 1, count: int | None = None, roster: Path | None = None, salt: str = "") -> list[Variant]:
    """The variants to build: one unlabelled (no count, no roster), `count` seeds from
    `seed` on, or one per student of a roster CSV (seed from the id and the course salt)."""
    if roster is not None:
        return [Variant(_folder_name(student), seed_for_student(student, salt), f"Student {student}")
                for student in read_roster(roster)]
    if count is None:
        return [Variant(None, seed)]
    if not 1 <= count <= MOST_VARIANTS:
        raise P.ProblemError("--variants", "", f"{count} variants; expected 1 to {MOST_VARIANTS}")
    return [Variant(f"seed-{s}", s, f"Variant {s}") for s in range(seed, seed + count)]


def read_roster(path: Path) -> list[str]:
    """Student ids: the column named id, student or student_id, else the first column."""
    if not path.is_file():
        raise P.ProblemError(path, "", "is not a file; expected a CSV roster with one student id per row")
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise P.ProblemError(path, "", f"cannot be read as a CSV file ({error})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise P.ProblemError(path, "", "has no students")
    header = [cell.strip().lower() for cell in rows[0]]
    named = [header.index(n) for n in ("id", "student_id", "student") if n in header]
    column, body = (named[0], rows[1:]) if named else (0, rows)
    first_row = len(rows) - len(body) + 1
    if not body:
        raise P.ProblemError(path, "", "has a header but no students")
    if len(body) > MOST_VARIANTS:
        raise P.ProblemError(path, "", f"lists {len(body)} students; expected at most {MOST_VARIANTS} per build")
    ids, folders = [], {}
    for number, row in enumerate(body, first_row):
        student = row[column].strip() if column < len(row) else ""
        if not student:
            raise P.ProblemError(path, f"row {number}", "has no student id")
        bad = untypesettable(student)
        if bad:
            raise P.ProblemError(path, f"row {number}", f"student id {student!r} contains characters the PDF cannot "
                                 f"show: {', '.join(repr(c) for c in bad)}")
        folder = _folder_name(student)
        if folder in folders:
            other = folders[folder]
            raise P.ProblemError(path, f"row {number}", f"lists student {student!r} twice" if other == student else
                                 f"student ids {other!r} and {student!r} map to the same folder name {folder!r}")
        folders[folder] = student
        ids.append(student)
    return ids


def _folder_name(student: str) -> str:
    """A folder name for a student id: letters, digits, . _ - only, never . or .. itself."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", student)
    return name if name.strip(".") else "_" + name


# -- solving ---------------------------------------------------------------------------------

def templates_of(problem_set: ProblemSet) -> list[V.Template]:
    return [V.read(file) for file in problem_set.files]


def draw_variant(templates: list[V.Template], variant: Variant) -> list[tuple[P.Problem, Solution]]:
    """Every problem of a set drawn and solved for one variant."""
    return [V.instantiate(template, variant.seed) for template in templates]


def verify_variant(templates: list[V.Template], variant: Variant, drawn: list[tuple[P.Problem, Solution]]) -> SolvedVariant:
    """A variant's solutions, every value verified against torch."""
    checked = 0
    for template, (problem, solution) in zip(templates, drawn):
        with timed("verification"):
            try:
                checked += verify(problem, solution)
            except VerificationError as error:
                if template.randomized:
                    raise VerificationError(f"{error}\n  (variant {variant.id or 'default'}, seed {variant.seed}: "
                                            f"rebuild it with --seed {variant.seed} --variants 1)") from None
                raise
    return SolvedVariant(variant, [p for p, _ in drawn], [s for _, s in drawn], checked)


def solve_variant(templates: list[V.Template], variant: Variant) -> SolvedVariant:
    """Draw, solve and verify every problem of a set for one variant."""
    return verify_variant(templates, variant, draw_variant(templates, variant))


def check(paths: list[str | Path], variants: list[Variant] | None = None) -> list[SolvedSet]:
    """Solve and verify everything in `paths` without rendering."""
    variants = variants or plan()
    solved = []
    for problem_set in discover(paths):
        templates = templates_of(problem_set)
        solved.append(SolvedSet(problem_set, [solve_variant(templates, v) for v in variants]))
    return solved


# -- rendering -------------------------------------------------------------------------------

@dataclass
class RenderedVariant:
    """What a worker hands back for one variant: the document each driver sees, and what
    each driver made of it (text and bytes)."""
    variant: Variant
    document: Document
    outputs: dict[str, Any]
    problems: list[str]
    values_checked: int


def _render_variant(job: tuple[ProblemSet, list[V.Template], Variant, list[str]],
                    drawn: list[tuple[P.Problem, Solution]] | None = None) -> RenderedVariant:
    """One variant drawn (unless `drawn`), rendered in every format, then verified (torch's
    values may still be coming, `verify.computed_ahead`); a value that is wrong is reported
    before anything it broke in rendering."""
    problem_set, templates, variant, formats = job
    from .render import prose  # SymPy's printer: only once there is something to render

    drawn = draw_variant(templates, variant) if drawn is None else drawn
    try:
        with timed("rendering"):
            prefix = f"fig-{variant.id or 'sheet'}"
            document = Document(problem_set.title, variant.id, variant.label, variant.seed,
                                [prose.prepare(s, prefix, i, fields_without_prose(p))
                                 for i, (p, s) in enumerate(drawn, 1)],
                                answer_key([p for p, _ in drawn], [s for _, s in drawn]), str(problem_set.source))
            outputs = {name: DRIVERS[name].render(document) for name in formats}
            document.problems = [replace(p, figures={}) for p in document.problems]  # drawn; closures do not pickle
    except Exception:
        verify_variant(templates, variant, drawn)
        raise
    solved = verify_variant(templates, variant, drawn)
    return RenderedVariant(variant, document, outputs, [p.name for p in solved.problems], solved.values_checked)


_JOBS: list = []  # the work of one _render_all, inherited by forked workers (kinds hold closures)


def _render_job(index: int) -> tuple[RenderedVariant, tuple[dict, dict]]:
    """One variant rendered in a worker, and the time its stages took there."""
    return timing.taken(lambda: _render_variant(_JOBS[index]))


def _render_all(jobs: list, jobs_at_once: int) -> Iterator[RenderedVariant]:
    """Every variant solved, verified and rendered, on `jobs_at_once` processes: each as soon
    as it and those before it are done, in order."""
    if jobs_at_once < 2:
        yield from (_render_variant(job) for job in _progress(jobs, len(jobs)))
        return
    if len(jobs) < 4:  # here, torch's values computed beside on the other core
        drawn = [draw_variant(templates, variant) for _, templates, variant, _ in jobs]
        with computed_ahead([problem for problems in drawn for problem, _ in problems]):
            yield from (_render_variant(job, problems) for job, problems in zip(jobs, drawn))
        return
    import multiprocessing
    _JOBS[:] = jobs
    # torch's intra-op thread pool does not survive fork: a child that inherits a pool the
    # parent has used hangs at its first torch call. Our tensors are tiny; one thread it is.
    # A parent that has not loaded torch (every value verified before) leaves it to the
    # workers that need it.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    try:
        # Ctrl-C reaches the parent alone, which stops the workers (no traceback from each).
        with multiprocessing.get_context("fork").Pool(jobs_at_once, signal.signal, (signal.SIGINT, signal.SIG_IGN)) as pool:
            # Small chunks keep both processes busy to the end (one set may take seconds);
            # many variants go a few at a time, to spare the messages between the processes.
            chunk = max(1, len(jobs) // (jobs_at_once * 8))
            for rendered, gained in _progress(pool.imap(_render_job, range(len(jobs)), chunksize=chunk), len(jobs)):
                timing.add(gained)
                yield rendered
    finally:
        _JOBS.clear()


def _progress(items: Iterable, total: int) -> Iterable:
    """`items`, with a progress bar on a terminal when there are ten or more."""
    if total < 10:
        return items
    from tqdm import tqdm
    return tqdm(items, total=total, desc="variants", unit="variant", disable=None)


def write_set(rendered: list[RenderedVariant], folder: Path, formats: list[str]) -> dict[str, list]:
    """Write one set's files into `folder`, driver by driver; returns what each must finish."""
    folder.mkdir(parents=True)
    (folder / MARK).write_text("written by python -m solvers build; replaced by the next build\n")
    with timed("rendering"):
        return {name: DRIVERS[name].write([(r.document, r.outputs[name]) for r in rendered], folder)
                for name in formats}


# -- the build -------------------------------------------------------------------------------

@dataclass
class BuildReport:
    sets: list[tuple[ProblemSet, list[RenderedVariant]]]

    @property
    def values_checked(self) -> int:
        return sum(r.values_checked for _, rendered in self.sets for r in rendered)


def build(paths: list[str | Path], out: str | Path, variants: list[Variant] | None = None,
          jobs: int = 2, formats: list[str] | None = None) -> BuildReport:
    """Build every set in `paths` into `out`/<set>/ in the default formats (or the `formats`
    named, see solvers.render.drivers), all or nothing."""
    out, variants, formats = Path(out), variants or plan(), formats or DEFAULT_FORMATS
    sets = discover(paths)
    read = {Path(p).resolve() for p in paths if Path(p).is_dir()}
    read |= {(s.source if s.source.is_dir() else s.source.parent).resolve() for s in sets
             if s.source.name == SHEET or s.source.is_dir()}
    output.check(out, read, [s.name for s in sets])
    work = [(problem_set, templates, v, formats)
            for problem_set, templates in ((s, templates_of(s)) for s in sets) for v in variants]
    rendered = _render_all(work, jobs)  # every variant of every set, in this order
    report, staging, pending = BuildReport([]), None, {name: [] for name in formats}
    made_out = not out.exists()
    try:
        for name in formats:
            DRIVERS[name].begin(jobs, len(sets))
        for problem_set in sets:  # each set written (its PDFs compiling) while the next ones render
            report.sets.append((problem_set, [next(rendered) for _ in variants]))
            if staging is None:
                out.mkdir(parents=True, exist_ok=True)
                output.remove_stale(out)
                staging = Path(tempfile.mkdtemp(prefix=output.STAGING, dir=out))
            for name, work in write_set(report.sets[-1][1], staging / problem_set.name, formats).items():
                pending[name] += work
        rendered.close()  # every variant is in: the workers stop while the PDFs compile
        for name in formats:
            DRIVERS[name].finish(pending[name], jobs)
        for problem_set, _ in report.sets:
            output.replace(staging / problem_set.name, out / problem_set.name)
    except BaseException:
        rendered.close()  # the workers stopped
        for name in formats:
            DRIVERS[name].abandon()
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if made_out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a build that failed leaves no output folder it made
    return report
