"""Where the time goes when the problem bank is built. Prints figures; asserts nothing about speed.

Run with `make bench` (or `.venv/bin/python bench/benchmark.py`). Exits non-zero if a build fails.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's solvers/, whatever the venv has installed

import torch  # noqa: E402,F401  (imported now, so no figure of sections 2-4 includes it)

import problem_shapes  # noqa: E402 (bench/, beside this script)
import solvers.kinds  # noqa: E402,F401
from solvers import build as B  # noqa: E402
from solvers import cache  # noqa: E402
from solvers import timing
from solvers.__main__ import expected_errors  # noqa: E402
from solvers.kind import _compiled  # noqa: E402
from solvers.render import pdf  # noqa: E402
from solvers.render.drivers import latex as latex_driver  # noqa: E402
from solvers.variants import load  # noqa: E402

PROBLEMS = REPO / "problems"
ONE_PROBLEM = PROBLEMS / "loss-and-backprop" / "q2-forward-pass.yaml"
SOLVES, REFERENCES = 200, 50
TARGETS = {"one": 0.7, "variants": 1.3, "bank": 1.3}  # seconds; times bare pdflatex; times bare pdflatex
VARIANT_SHEET = REPO / "bench" / "variants-sheet"
VARIANT_COUNTS = (1, 10, 100)
LEAN_FORMATS = ("latex", "html", "answers")  # PDF, HTML and answer key: the workload the speed targets were set on
FIRST_SOLVE = """
import sys, time
sys.path.insert(0, sys.argv[1])
import solvers.kinds
from solvers.variants import load
start = time.perf_counter()
load(sys.argv[2])
print(time.perf_counter() - start)
"""
STAGES = {  # stage in solvers.timing.SECONDS -> what it covers
    "derivation": "SymPy derivation + lambdify, once per structure",
    "evaluation": "lambdified evaluation at the numbers",
    "verification": "independent torch computation and comparison",
    "rendering": "templates, MathML",
}


class BuildFailed(Exception):
    """`make solutions` exited non-zero."""


def make_solutions() -> tuple[float, float]:
    """Wall seconds of `make solutions` cold (no bytecode, empty output) and warm (right after)."""
    for cache in (REPO / "solvers").rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="bench-make-") as out:
        return _run_make(out), _run_make(out)


def _run_make(out: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(["make", "solutions", f"OUT={out}"], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BuildFailed(f"`make solutions OUT={out}` exited {result.returncode}:\n"
                          f"{(result.stderr or result.stdout).strip()}")
    return seconds


def timed_build(paths: list[Path], variants: list | None = None) -> dict:
    """One in-process build: the stage stopwatches, counts and wall times."""
    span = []  # (start, end) of each PDF compile, to know the wall time of the parallel phase
    compile_pdf = latex_driver.compile_pdf

    def compile_and_time(tex: Path) -> Path:
        start = time.perf_counter()
        try:
            return compile_pdf(tex)
        finally:
            span.append((start, time.perf_counter()))

    timing.reset()
    latex_driver.compile_pdf = compile_and_time
    try:
        with tempfile.TemporaryDirectory(prefix="bench-build-") as out:
            start = time.perf_counter()
            report = B.build(paths, out, variants)
            wall = time.perf_counter() - start
            pdfs = len(list(Path(out).glob("*/*.pdf")))
    finally:
        latex_driver.compile_pdf = compile_pdf
    return {"wall": wall, "seconds": dict(timing.SECONDS), "counts": dict(timing.COUNTS), "pdfs": pdfs,
            "pdflatex wall": max(e for _, e in span) - min(s for s, _ in span) if span else 0.0,
            "until first pdf": min(s for s, _ in span) - start if span else wall,
            "sets": len(report.sets), "problems": sum(len(r[0].problems) for _, r in report.sets),
            "values": report.values_checked}


def variants_benchmark() -> None:
    """N variants of a two-problem sheet (random logistic regression, random conv output size):
    per-variant question and solution PDFs, HTML, answer keys, every variant verified."""
    print(f"4. Variants of {VARIANT_SHEET.relative_to(REPO)}/ (2 problems; every variant verified, "
          "questions + solutions PDFs, HTML, answer keys)", flush=True)
    for count in VARIANT_COUNTS:
        b = timed_build([VARIANT_SHEET], B.plan(1, count))
        share = b["pdflatex wall"] / b["wall"] * 100
        _line(f"N = {count}", b["wall"], "s", f"{b['wall'] / count * 1e3:.1f} ms per variant; pdflatex "
              f"{b['pdflatex wall']:.2f} s wall ({share:.0f}%, {b['counts'].get('pdflatex runs', 0)} runs); "
              f"{b['values']} values verified")
    count = VARIANT_COUNTS[-1]
    with tempfile.TemporaryDirectory(prefix="bench-variants-") as out:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "solvers", "build", str(VARIANT_SHEET), "--out", out,
                                 "--variants", str(count)], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if result.returncode != 0:
        raise BuildFailed(result.stderr.strip())
    _line(f"N = {count}, CLI", wall, "s", "python -m solvers build … --variants 100 in a fresh process "
          "(imports and SymPy derivation included)")
    print("  (for comparison: R/exams needs about 39 s for 100 such PDFs on these machines; target < 15 s)")


def first_solve_in_fresh_process(cache_folder: str = "off") -> float:
    """Milliseconds of the first solve in a new Python process (imports excluded): derivation
    cold, plus SymPy's one-time set-up that the first problem of any build pays; with a
    cache folder that an earlier process filled, the derivation is read instead."""
    result = subprocess.run([sys.executable, "-c", FIRST_SOLVE, str(REPO), str(ONE_PROBLEM)],
                            capture_output=True, text=True, check=True, env={**os.environ, cache.VARIABLE: cache_folder})
    return float(result.stdout) * 1e3


def first_solve_stored() -> float:
    """`first_solve_in_fresh_process` with the derivation (and its lambdified steps) stored by
    the process before."""
    with tempfile.TemporaryDirectory(prefix="bench-stored-") as folder:
        first_solve_in_fresh_process(folder)
        return first_solve_in_fresh_process(folder)


def derive_once() -> tuple[float, float, float]:
    """Milliseconds: the first solve of one problem (derivation cold), the mean of later
    solves (derivation cached, no SymPy), and the mean torch reference."""
    problem = load(ONE_PROBLEM)
    kind, spec = problem.kind, problem.spec
    _compiled.cache_clear()  # the build above has already derived this structure
    start = time.perf_counter()
    kind.solve(spec)
    first = time.perf_counter() - start
    return (first * 1e3, _mean_ms(lambda: kind.solve(spec), SOLVES),
            _mean_ms(lambda: kind.reference(spec), REFERENCES))


def _mean_ms(call, times: int) -> float:
    start = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - start) / times * 1e3


# -- targets ---------------------------------------------------------------------------------

def cli_build(paths: list[Path], out: str, *options: str, cache_folder: str) -> float:
    """Wall seconds of `python -m solvers build` in a fresh process (with SOLVERS_CACHE=cache_folder)."""
    env = {**os.environ, cache.VARIABLE: cache_folder}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "solvers", "build", *map(str, paths), "--out", out, *options],
                            cwd=REPO, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BuildFailed(result.stderr.strip())
    return seconds


def processor_seconds(measure, *args, **options) -> tuple[Any, float]:
    """What `measure` returns, and the processor seconds (user and system) of the processes it ran."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = measure(*args, **options)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bare_pdflatex(out: Path, jobs: int = 2) -> tuple[float, int]:
    """Wall seconds of plain `pdflatex FILE.tex` once on every document a build wrote into
    `out` (copied with its figures, `jobs` at a time, as the build compiles), and their number."""
    from concurrent.futures import ThreadPoolExecutor
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as work:
        documents = []
        for tex in sorted(out.glob("*/*.tex")):
            folder = Path(work) / tex.parent.name
            if not folder.exists():
                shutil.copytree(tex.parent, folder, ignore=shutil.ignore_patterns("variants", "*.pdf", "*.html"))
                if (tex.parent / "figures").exists():
                    shutil.rmtree(folder / "figures")
                    shutil.copytree(tex.parent / "figures", folder / "figures")
            documents.append(folder / tex.name)

        def run(tex: Path) -> None:
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", tex.name], cwd=tex.parent,
                           capture_output=True, check=True, env={**os.environ, **pdf.ENV})
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, documents))
        return time.perf_counter() - start, len(documents)


def _verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "NOT met"


def targets() -> None:
    """The three speed targets, measured in fresh processes, each with the cache off, empty
    and warm; the limits in bare pdflatex time are measured here too."""
    print("5. Targets (fresh processes; cache off = every derivation, reference and preamble redone)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as work:
        work = Path(work)
        store, out = str(work / "cache"), work / "out"
        problem = work / ONE_PROBLEM.name
        problem.write_text(ONE_PROBLEM.read_text())
        off = cli_build([problem], str(out), cache_folder="off")
        empty = cli_build([problem], str(out), cache_folder=store)
        warm = cli_build([problem], str(out), cache_folder=store)
        problem.write_text(ONE_PROBLEM.read_text().replace("title: ", "title: Edited ", 1))
        edited = cli_build([problem], str(out), cache_folder=store)
        problem.write_text(ONE_PROBLEM.read_text().replace("input: [5, 7,", "input: [6, 7,", 1))
        renumbered = cli_build([problem], str(out), cache_folder=store)
        bare, count = bare_pdflatex(out)
        limit = TARGETS["one"]
        _line("one problem", warm, "s", f"PDF + HTML + key, structure and numbers seen before (target <= {limit} s: "
              f"{_verdict(warm, limit)}); text edited {edited:.2f} s; cache empty {empty:.2f} s; off {off:.2f} s")
        _line("  new numbers", renumbered, "s", "an input edited: structure seen, the new values verified by torch "
              "(importing torch is most of it)")
        _line("  of which TeX", bare, "s", f"bare pdflatex of its {count} documents, 2 at a time")
        _line("  watch mode", watch_rebuild(problem, work / "watched"), "s",
              "rebuild after a save in a warm `python -m solvers watch` process (new numbers, torch verifying)")

        variants, out = ("--variants", str(VARIANT_COUNTS[-1])), work / "variants"
        shutil.rmtree(work / "cache", ignore_errors=True)
        off = cli_build([VARIANT_SHEET], str(out), *variants, cache_folder="off")
        empty = cli_build([VARIANT_SHEET], str(out), *variants, cache_folder=store)
        warm, processor = processor_seconds(cli_build, [VARIANT_SHEET], str(out), *variants, cache_folder=store)
        (bare, count), bare_processor = processor_seconds(bare_pdflatex, out)
        limit = TARGETS["variants"] * bare
        _line(f"{VARIANT_COUNTS[-1]} variants", warm, "s", f"cache warm; {warm / bare:.2f}x bare pdflatex {bare:.2f} s "
              f"({count} documents; target <= {TARGETS['variants']}x = {limit:.2f} s: {_verdict(warm, limit)}); "
              f"cache empty {empty:.2f} s; off {off:.2f} s")
        _processor_line(processor, bare_processor, bare)
        lean, out = ("--formats", ",".join(LEAN_FORMATS)), work / "variants-lean"
        warm, processor = processor_seconds(cli_build, [VARIANT_SHEET], str(out), *variants, *lean, cache_folder=store)
        bare, _ = bare_pdflatex(out)
        _line("  PDF, HTML, key", warm, "s", f"the same, formats {', '.join(LEAN_FORMATS)} only: {warm / bare:.2f}x "
              f"bare pdflatex {bare:.2f} s ({_verdict(warm, TARGETS['variants'] * bare)})")
        _processor_line(processor, bare_processor, bare)

        off = cli_build([PROBLEMS], str(work / "bank-off"), cache_folder="off")
        empty = cli_build([PROBLEMS], str(work / "bank-empty"), cache_folder=store)
        warm, processor = processor_seconds(cli_build, [PROBLEMS], str(work / "bank-warm"), cache_folder=store)
        (bare, count), bare_processor = processor_seconds(bare_pdflatex, work / "bank-warm")
        limit = TARGETS["bank"] * bare
        _line("whole bank", warm, "s", f"cold output folder, cache warm; {warm / bare:.2f}x bare pdflatex "
              f"{bare:.2f} s ({count} documents; target <= {TARGETS['bank']}x = {limit:.2f} s: {_verdict(warm, limit)}); "
              f"cache empty {empty:.2f} s; off {off:.2f} s")
        _processor_line(processor, bare_processor, bare)


def _processor_line(build: float, bare: float, bare_wall: float) -> None:
    """A warm build's processor time beside bare pdflatex's, and the wall time two cores could at
    best bring it to: the floor under the target's ratio."""
    _line("  processor", build, "s", f"user + system time of all the warm build's processes (bare pdflatex {bare:.2f} s); "
          f"on 2 cores at least {build / 2:.2f} s wall, {build / 2 / bare_wall:.2f}x bare pdflatex")


def watch_rebuild(problem: Path, out: Path) -> float:
    """Seconds of one rebuild of `problem` with new numbers in a warm process, as
    `python -m solvers watch` does after a save (the first build warms it)."""
    B.build([problem], out)
    text = problem.read_text()
    problem.write_text(text.replace("input: [5, 7,", "input: [6, 7,", 1))
    start = time.perf_counter()
    try:
        B.build([problem], out)
    except expected_errors():  # the new numbers broke a constraint: time the same numbers again instead
        problem.write_text(text)
        start = time.perf_counter()
        B.build([problem], out)
    return time.perf_counter() - start


def _line(label: str, value: float, unit: str, note: str = "") -> None:
    print(f"  {label:<16}{value:>9.3f} {unit:<8} {note}".rstrip(), flush=True)


def main() -> int:
    os.environ[cache.VARIABLE] = "off"  # sections 1-4: the uncached pipeline; section 5 names its caches
    # Fresh processes run as on a user's machine: Python writes bytecode and reuses it. (An
    # environment with PYTHONDONTWRITEBYTECODE would compile this package in every process.)
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        print("(PYTHONDONTWRITEBYTECODE unset for this benchmark's processes: Python's default)")
    print(f"Benchmark of the problem bank {PROBLEMS.relative_to(REPO)}/ ({REPO})\n")
    try:
        print("1. make solutions, as a subprocess with OUT=<temporary folder>", flush=True)
        cold, warm = make_solutions()
        _line("cold", cold, "s", "empty output folder, solvers/**/__pycache__ deleted first")
        _line("warm", warm, "s", "immediately after, same output folder, bytecode cached")
        print("  (every run is a fresh Python process, with the cache off: derivations and references redone)\n")

        print("2. In-process breakdown of one build (solvers.build.build, jobs=2)", flush=True)
        b = timed_build([PROBLEMS])
    except (BuildFailed, *expected_errors()) as error:
        print(f"error: build failed: {error}", file=sys.stderr)
        return 1
    seconds, counts = b["seconds"], b["counts"]
    for stage, note in STAGES.items():
        _line(stage, seconds.get(stage, 0.0), "s", f"{note} ({counts.get(stage, 0)} calls)")
    latex = seconds.get("pdflatex", 0.0)
    _line("pdflatex", latex, "s", f"pdflatex, process time summed over parallel threads (phase wall "
          f"{b['pdflatex wall']:.3f} s, from the first compile to the last: it overlaps the rendering of later sets)")
    _line("until first PDF", b["until first pdf"], "s", "loading, validation, solving and rendering before the "
          "first document compiles")
    _line("total", b["wall"], "s", f"wall, {b['sets']} sets, {b['problems']} problems")
    runs = counts.get("pdflatex runs", 0)
    per_document = runs / b["pdfs"] if b["pdfs"] else float("nan")
    _line("pdflatex runs", per_document, "runs/doc", f"{runs} runs for {b['pdfs']} PDF documents (expected 1.0)")
    print()

    name = ONE_PROBLEM.relative_to(PROBLEMS)
    print(f"3. Derive once, re-evaluate ({name})", flush=True)
    _line("first, new proc", first_solve_in_fresh_process(), "ms",
          "first load + solve in a fresh process: derivation cold + SymPy one-time set-up")
    _line("first, stored", first_solve_stored(), "ms",
          "the same, the derivation stored by an earlier process (solvers.codec): rebuilt, not derived")
    first, later, reference = derive_once()
    _line("first solve", first, "ms", "derivation cold for this structure (after the build: SymPy warmed up)")
    _line("later solves", later, "ms", f"mean of {SOLVES}, derivation cached: evaluation and answers only")
    _line("torch reference", reference, "ms", f"mean of {REFERENCES}, module.reference(spec)")
    print()
    try:
        variants_benchmark()
        print()
        targets()
        print()
        problem_shapes.main()  # 6. a batch of 32, 7. a 100-step training run
    except (BuildFailed, *expected_errors()) as error:
        print(f"error: build failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
