"""The pipeline: problem files → variants, solved and verified → documents in build/.

A *set* is what becomes one folder of output: a folder of problem files (ordered by a
`sheet.yaml` if it has one, else by file name), a sheet file, or a single problem file.
A build makes one or more *variants* of every set (one seed each, or one per student).

Without variants a set's folder holds questions.pdf, solutions.pdf, solutions.html and
answers.json. With variants it holds the combined printable questions.pdf and solutions.pdf
of all variants, answer-key.json and answer-key.csv for all of them, and variants/<id>/ with
each variant's own PDFs, HTML and answers.json. The PDFs of all variants are compiled as one
document each (one pdflatex run) and split by page.

Everything is written to a staging folder first and moved into place only when every set
has been solved, verified and compiled, so a failed build leaves build/ as it was.
"""
from __future__ import annotations

import csv
import multiprocessing
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
from pypdf import PdfReader, PdfWriter
from tqdm import tqdm

from . import problem as P
from . import variants as V
from .randomize import seed_for_student
from .render import documents
from .render.pdf import compile_pdf
from .solution import Solution
from .timing import timed
from .verify import VerificationError, verify

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


# -- finding sets ----------------------------------------------------------------------------

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
        return [ProblemSet(path.stem, _title_of(path), [path], path)]
    sets = []
    sheet = path / SHEET
    problems = sorted(p for p in path.glob("*.y*ml") if p.name != SHEET and p.suffix in (".yaml", ".yml"))
    if sheet.exists():
        sets.append(_sheet(sheet, P.read_yaml(sheet), name=path.name))
    elif problems:
        sets.append(ProblemSet(path.name, path.name.replace("-", " ").replace("_", " ").capitalize(), problems, path))
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
    return ProblemSet(name or path.stem, title, files, path.parent if name else path)


def _title_of(path: Path) -> str:
    data = P.read_yaml(path)
    return data.get("title", path.stem) if isinstance(data, dict) and isinstance(data.get("title"), str) else path.stem


# -- choosing variants -----------------------------------------------------------------------

def plan(seed: int = 1, count: int | None = None, roster: Path | None = None, salt: str = "") -> list[Variant]:
    """The variants to build: one unlabelled (no count, no roster), `count` seeds from
    `seed` on, or one per student of a roster CSV (seed from the id and the course salt)."""
    if roster is not None:
        return [Variant(_folder_name(student), seed_for_student(student, salt), f"Student {student}")
                for student in read_roster(roster)]
    if count is None:
        return [Variant(None, seed)]
    return [Variant(f"seed-{s}", s, f"Variant {s}") for s in range(seed, seed + count)]


def read_roster(path: Path) -> list[str]:
    """Student ids: the column named id, student or student_id, else the first column."""
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError) as error:
        raise P.ProblemError(path, "", f"cannot be read as a CSV file ({error})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise P.ProblemError(path, "", "has no students")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(n) for n in ("id", "student_id", "student") if n in header), None)
    body = rows[1:] if column is not None else rows
    ids = [row[column or 0].strip() for row in body]
    missing = next((i for i, s in enumerate(ids) if not s), None)
    if missing is not None:
        raise P.ProblemError(path, f"row {missing + 1 + (column is not None)}", "has no student id")
    duplicate = next((s for s in ids if ids.count(s) > 1), None)
    if duplicate:
        raise P.ProblemError(path, "", f"lists student {duplicate!r} twice")
    folders = [_folder_name(s) for s in ids]
    clash = next((s for s, f in zip(ids, folders) if folders.count(f) > 1), None)
    if clash:
        raise P.ProblemError(path, "", f"student ids {clash!r} and another map to the same folder name")
    return ids


def _folder_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", student)


# -- solving ---------------------------------------------------------------------------------

def templates_of(problem_set: ProblemSet) -> list[V.Template]:
    return [V.read(file) for file in problem_set.files]


def solve_variant(templates: list[V.Template], variant: Variant) -> SolvedVariant:
    """Draw, solve and verify every problem of a set for one variant."""
    problems, solutions, checked = [], [], 0
    for template in templates:
        problem, solution = V.instantiate(template, variant.seed)
        with timed("verification"):
            try:
                checked += verify(problem, solution)
            except VerificationError as error:
                if template.randomized:
                    raise VerificationError(f"{error}\n  (variant {variant.id or 'default'}, seed {variant.seed}: "
                                            f"rebuild it with --seed {variant.seed} --variants 1)") from None
                raise
        problems.append(problem)
        solutions.append(solution)
    return SolvedVariant(variant, problems, solutions, checked)


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
    """What a worker hands back for one variant: documents as text, answers as data."""
    variant: Variant
    latex: documents.RenderedVariant
    html: str
    answers: list[dict]
    problems: list[str]
    values_checked: int


def _render_variant(job: tuple[ProblemSet, list[V.Template], Variant, str]) -> RenderedVariant:
    problem_set, templates, variant, title = job
    solved = solve_variant(templates, variant)
    with timed("rendering"):
        prefix = f"fig-{variant.id or 'sheet'}"
        rendered = documents.RenderedVariant(variant.label, [documents.prepare(s, prefix) for s in solved.solutions])
        html = documents.render_html(title, rendered)
    return RenderedVariant(variant, rendered, html, documents.answers_of(solved.solutions),
                           [p.name for p in solved.problems], solved.values_checked)


_JOBS: list = []  # the work of one _render_all, inherited by forked workers (modules do not pickle)


def _render_job(index: int) -> RenderedVariant:
    return _render_variant(_JOBS[index])


def _render_all(jobs: list, jobs_at_once: int) -> list[RenderedVariant]:
    """Every variant solved, verified and rendered, on `jobs_at_once` processes."""
    progress = dict(total=len(jobs), desc="variants", unit="variant", disable=len(jobs) < 10 or None)
    if len(jobs) < 4 or jobs_at_once < 2:
        return [_render_variant(job) for job in tqdm(jobs, **progress)]
    _JOBS[:] = jobs
    # torch's intra-op thread pool does not survive fork: a child that inherits a pool the
    # parent has used hangs at its first torch call. Our tensors are tiny; one thread it is.
    torch.set_num_threads(1)
    try:
        with multiprocessing.get_context("fork").Pool(jobs_at_once) as pool:
            return list(tqdm(pool.imap(_render_job, range(len(jobs)), chunksize=4), **progress))
    finally:
        _JOBS.clear()


def write_set(problem_set: ProblemSet, rendered: list[RenderedVariant], folder: Path) -> list[Path]:
    """Write one set's documents into `folder`; returns the .tex files still to compile."""
    folder.mkdir(parents=True)
    title = problem_set.title
    with timed("rendering"):
        docs = [r.latex for r in rendered]
        for problem in (p for doc in docs for p in doc.problems):
            for name, (pdf, _) in problem.figures.items():
                (folder / "figures").mkdir(exist_ok=True)
                (folder / "figures" / f"{name}.pdf").write_bytes(pdf)
        (folder / "questions.tex").write_text(documents.render_latex("questions.tex.j2", title, docs))
        (folder / "solutions.tex").write_text(documents.render_latex("solutions.tex.j2", title, docs))
        if rendered[0].variant.id is None:
            (folder / "solutions.html").write_text(rendered[0].html, encoding="utf-8")
            (folder / "answers.json").write_text(documents.to_json(
                {"title": title, "problems": rendered[0].answers}), encoding="utf-8")
        else:
            _write_variants(title, rendered, folder)
    return [folder / "questions.tex", folder / "solutions.tex"]


def _write_variants(title: str, rendered: list[RenderedVariant], folder: Path) -> None:
    key = []
    for r in rendered:
        own = folder / "variants" / r.variant.id
        own.mkdir(parents=True)
        (own / "solutions.html").write_text(r.html, encoding="utf-8")
        data = {"title": title, "variant": r.variant.id, "seed": r.variant.seed, "problems": r.answers}
        (own / "answers.json").write_text(documents.to_json(data), encoding="utf-8")
        key.append({"variant": r.variant.id, "label": r.variant.label, "seed": r.variant.seed, "problems": r.answers})
    (folder / "answer-key.json").write_text(documents.to_json({"title": title, "variants": key}), encoding="utf-8")
    with open(folder / "answer-key.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seed", "problem", "answer", "value", "relative_tolerance", "absolute_tolerance"])
        for entry in key:
            for problem in entry["problems"]:
                for answer in problem["answers"]:
                    writer.writerow([entry["variant"], entry["seed"], problem["problem"], answer["name"],
                                     documents.to_json(answer["value"]).strip().replace("\n", "").replace(" ", ""),
                                     answer["tolerance"]["relative"], answer["tolerance"]["absolute"]])


def split_pdf(pdf: Path, rendered: list[RenderedVariant]) -> None:
    """Cut a compiled all-variants PDF into variants/<id>/<same name>.pdf."""
    starts = [int(line.split()[1]) for line in pdf.with_suffix(".pages").read_text().splitlines()]
    reader = PdfReader(pdf)
    ends = starts[1:] + [len(reader.pages) + 1]
    for r, start, end in zip(rendered, starts, ends):
        writer = PdfWriter()
        for page in range(start - 1, end - 1):
            writer.add_page(reader.pages[page])
        writer.add_metadata({"/Title": f"{pdf.stem} {r.variant.id}"})
        with open(pdf.parent / "variants" / r.variant.id / pdf.name, "wb") as handle:
            writer.write(handle)


# -- the build -------------------------------------------------------------------------------

@dataclass
class BuildReport:
    sets: list[tuple[ProblemSet, list[RenderedVariant]]]

    @property
    def values_checked(self) -> int:
        return sum(r.values_checked for _, rendered in self.sets for r in rendered)


def build(paths: list[str | Path], out: str | Path, variants: list[Variant] | None = None,
          jobs: int = 2) -> BuildReport:
    """Build every set in `paths` into `out`/<set>/, all or nothing."""
    out, variants = Path(out), variants or plan()
    sets = discover(paths)
    work = [(problem_set, templates, v, problem_set.title)
            for problem_set, templates in ((s, templates_of(s)) for s in sets) for v in variants]
    rendered = iter(_render_all(work, jobs))  # every variant of every set, in this order
    report = BuildReport([(problem_set, [next(rendered) for _ in variants]) for problem_set in sets])
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        sources = [tex for problem_set, rendered in report.sets
                   for tex in write_set(problem_set, rendered, staging / problem_set.name)]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pdfs = list(pool.map(compile_pdf, sources))
        for (problem_set, rendered) in report.sets:
            folder = staging / problem_set.name
            if rendered[0].variant.id is not None:
                for pdf in pdfs:
                    if pdf.parent == folder:
                        split_pdf(pdf, rendered)
            _clean_latex_byproducts(folder)
            _replace(folder, out / problem_set.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _clean_latex_byproducts(folder: Path) -> None:
    for pattern in ("*.aux", "*.log", "*.fls", "*.fdb_latexmk", "*.pages"):
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
