"""The `grade` command: `python -m solvers grade KEY RESPONSES [--problems PATH] [--out FOLDER]`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands) -> None:
    grade = commands.add_parser("grade", help="grade students' responses against an answer key, naming the "
                                "mistake behind a wrong answer")
    grade.add_argument("key", type=Path, help="answers.json or answer-key.json written by a build")
    grade.add_argument("responses", type=Path, help="CSV (student or variant, problem, answer, value) or JSON")
    grade.add_argument("--problems", nargs="+", metavar="PATH", help="the problem files or folder the key was built "
                       "from: carries a student's wrong earlier values forward")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="report folder (default: grades)")


def run(args: argparse.Namespace) -> int:
    from . import grade
    from .model import GradingError
    from .report import write
    try:
        report = grade(args.key, args.responses, args.problems)
        write(report, args.out)
    except GradingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error.filename or args.out}: cannot be written or read ({error.strerror})", file=sys.stderr)
        return 1
    counts = ", ".join(f"{n} {status}" for status, n in report.counts.items() if n)
    diagnosed = sum(a.mistake is not None for s in report.students for p in s.problems for a in p.answers)
    print(f"{len(report.students)} student(s) graded into {args.out}/: {counts}; {diagnosed} wrong answer(s) "
          f"diagnosed{'' if report.carried_forward else ' (errors not carried forward: give --problems)'}")
    for student in report.students:
        print(f"  {student.student}: {student.score:.2f} of {student.out_of}")
    return 0
