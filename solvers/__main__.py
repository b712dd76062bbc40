"""Command line: `python -m solvers build PATH... --out DIR`, `python -m solvers check PATH...`."""
from __future__ import annotations

import argparse
import sys
import time

from . import build as B
from .problem import ProblemError
from .render.documents import RenderError
from .render.pdf import LatexError
from .verify import VerificationError

EXPECTED_ERRORS = (ProblemError, VerificationError, LatexError, RenderError)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solvers",
                                     description="Worked, verified solutions to neural-network problems.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="solve, verify and render problem files or folders")
    build.add_argument("paths", nargs="+", help="problem files, sheet files or folders")
    build.add_argument("--out", default="build", help="output folder (default: build)")
    build.add_argument("--jobs", type=int, default=2, help="pdflatex processes at once (default: 2)")
    check = commands.add_parser("check", help="solve and verify every answer against torch, without rendering")
    check.add_argument("paths", nargs="+", help="problem files, sheet files or folders")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "build":
            solved = B.build(args.paths, args.out, jobs=args.jobs)
        else:
            solved = B.check(args.paths)
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    problems = sum(len(s.solutions) for s in solved)
    values = sum(s.values_checked for s in solved)
    verb = f"built into {args.out}/" if args.command == "build" else "checked"
    print(f"{len(solved)} set(s), {problems} problem(s), {values} values verified against torch; "
          f"{verb} in {time.perf_counter() - start:.1f} s")
    for s in solved:
        print(f"  {s.problem_set.name}: {', '.join(p.name for p in s.problems)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
