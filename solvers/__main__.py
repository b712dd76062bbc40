"""Command line: `python -m solvers build|watch|check|lock PATH... [options]`, `python -m solvers grade KEY RESPONSES`."""
from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import threading
import time
from pathlib import Path

if __name__ == "__main__":  # importing makes many objects and next to no garbage: no collections meanwhile
    gc.disable()

from .grading import cli as grading_cli
from .render.drivers import DEFAULT_FORMATS, DRIVERS


def expected_errors() -> tuple[type[Exception], ...]:
    """The errors a build, check or lock reports as one message, not a traceback."""
    from .lock import LockError
    from .problem import ProblemError
    from .render.markup import RenderError
    from .render.pdf import LatexError
    from .verify import VerificationError
    return ProblemError, VerificationError, LatexError, RenderError, LockError


def _variant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=_path, help="problem files, sheet files or folders")
    parser.add_argument("--seed", type=int, default=1, help="seed of the (first) variant (default: 1)")
    parser.add_argument("--variants", type=int, metavar="N", help="build N variants, seeds SEED … SEED+N−1")
    parser.add_argument("--roster", type=Path, metavar="CSV", help="build one variant per student id in CSV")
    parser.add_argument("--salt", default="", help="course salt mixed into every student's seed")


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes; expected 1 to 64")
    return int(text)


def _path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; expected a problem file, a sheet file or a folder")
    return text


def _formats(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return list(DRIVERS)
    unknown = [name for name in names if name not in DRIVERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or 'nothing'} is not an output format; expected "
                                         f"some of {', '.join(DRIVERS)}, or all")
    return names


def _variants(args) -> list:
    from . import build as B
    from .problem import ProblemError
    if args.variants is not None and args.roster is not None:
        raise ProblemError(args.roster, "", "give either --variants or --roster, not both")
    return B.plan(args.seed, args.variants, args.roster, args.salt)


def _load(args) -> tuple:
    """The build, check and lock commands' modules (SymPy, every kind): loaded once the command
    line is read, while what can start without them does (pdflatex loading its format); after
    `python -m solvers` paused collections for the imports, they resume without what the
    imports made."""
    if args.command in ("build", "watch"):
        for name in args.formats or DEFAULT_FORMATS:
            DRIVERS[name].warm_up(args.jobs)
    from . import build as B
    from . import lock as L
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
    return B, L, expected_errors()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solvers",
                                     description="Worked, verified solutions to neural-network problems.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="solve, verify and render problem files or folders")
    watch = commands.add_parser("watch", help="build, then build again whenever a problem file is saved "
                                "(Ctrl-C stops)")
    for command in (build, watch):
        _variant_options(command)
        command.add_argument("--out", default="build", help="output folder (default: build)")
        command.add_argument("--jobs", type=_jobs, default=2, help="processes at once, 1 to 64 (default: 2)")
        command.add_argument("--formats", type=_formats, default=None,
                             help=f"comma-separated output formats, or all (default: {', '.join(DEFAULT_FORMATS)}; "
                             f"on request: {', '.join(sorted(set(DRIVERS) - set(DEFAULT_FORMATS)))})")
    check = commands.add_parser("check", help="verify every answer against torch (and every lockfile), "
                                "without rendering")
    _variant_options(check)
    lock = commands.add_parser("lock", help="record deployed variants in each set's variants.lock")
    _variant_options(lock)
    grading_cli.add_parser(commands)
    for stream in (sys.stdout, sys.stderr):  # file names that are not UTF-8 print escaped, not as a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = parser.parse_args(argv)
    try:
        if args.command == "grade":
            gc.enable()
            return grading_cli.run(args)
        if args.command == "watch":
            return _watch(args)
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C: a build removes what it was writing (its staging folder) on the way out
        print("error: interrupted", file=sys.stderr, flush=True)
        return 130


def _run(args) -> int:
    """One build, check or lock; an expected error is one message and exit status 1."""
    start = time.perf_counter()
    B, L, expected = _load(args)
    try:
        variants = _variants(args)
        if args.command in ("build", "watch"):
            report = B.build(args.paths, args.out, variants, jobs=args.jobs, formats=args.formats)
            sets = [(s, [r.problems for r in rendered]) for s, rendered in report.sets]
            values = report.values_checked
        elif args.command == "check":
            solved = B.check(args.paths, variants)
            sets = [(s.problem_set, [[p.name for p in v.problems] for v in s.variants]) for s in solved]
            values = sum(s.values_checked for s in solved)
            for path, count in L.check_locks(B.discover(args.paths)):
                print(f"  {path}: {count} deployed variant(s) unchanged")
        else:
            for path, count in L.write_locks(B.discover(args.paths), variants):
                print(f"{path}: {count} variant(s) recorded")
            return 0
    except expected as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    except OSError as error:  # a full disk, a folder that cannot be written
        print(f"error: {error.filename or getattr(args, 'out', '')}: cannot be written or read ({error.strerror})",
              file=sys.stderr, flush=True)
        return 1
    finally:  # what `warm_up` started for a build that failed before it began stops
        for name in (args.formats or DEFAULT_FORMATS) if args.command in ("build", "watch") else []:
            DRIVERS[name].abandon()
    problems = sum(len(names[0]) * len(names) for _, names in sets)
    verb = "checked" if args.command == "check" else f"built into {args.out}/"
    print(f"{len(sets)} set(s), {len(variants)} variant(s), {problems} problem(s), {values} values verified "
          f"against torch; {verb} in {time.perf_counter() - start:.1f} s")
    for problem_set, names in sets:
        print(f"  {problem_set.name}: {', '.join(names[0])}", flush=True)
    return 0


def _watch(args) -> int:
    """Build now and on every save until Ctrl-C; an error is reported and watching goes on."""
    from .watch import watch

    def rebuild() -> None:
        print(f"[{time.strftime('%H:%M:%S')}] building {' '.join(args.paths)}", flush=True)
        try:
            _run(args)
        except Exception as error:  # noqa: BLE001 (a bug in one build must not end the session)
            print(f"error: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        print("watching for changes (Ctrl-C stops)", flush=True)
        import torch  # noqa: F401 (while the file is edited: new numbers are then verified in this warm process)

    try:
        watch(args.paths, rebuild)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


def _exit(code: int) -> None:
    """Exit with `code` once the exit handlers have run and the output is flushed, without the
    interpreter's teardown of every module (15 ms; 0.1 s once torch is loaded). With another
    thread still running, the usual exit, which waits for it."""
    gc.freeze()  # the interpreter's collections at exit would walk every object SymPy made (0.1 s)
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: what was not read is lost, as it would be anyway
        code = code or 120
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
