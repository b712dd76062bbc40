"""Hostile input, counted: per category, how many inputs gave a traceback or a hang.

Each input is run through the command line in this process (`solvers.__main__.main`); a
traceback is any exception escaping it, a hang a run longer than HANG seconds, and a bad
answer an exit code other than 0/1 or an error that is not one `error:` line. Prints one
row per category; `python bench/hostile.py [inputs per category]`.
"""
from __future__ import annotations

import contextlib
import io
import json
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
from solvers.__main__ import main  # noqa: E402
from test_fuzz import BANK, HOSTILE, paths, replaced  # noqa: E402

HANG = 60
INJECT = [r"\input{/etc/passwd}", r"\write18{ls}", r"\catcode`\@=11", "$x$ & # % ^ _ ~", "<script>x</script>",
          "}{\\end{document}", "a -- b ``c'' ,,d", "**bold** *it*", "\u202e reversed", "line\nbreak\n\npara"]
NUMBERS = [1e6, -1e6, 999999.5, 5e-324, 1e-300, 0.0, -0.0, 1, 2 ** 53, 0.1]
DISTRIBUTIONS = [{"integers": [0, 0]}, {"integers": [-10 ** 6, 10 ** 6]}, {"decimals": [0, 1], "step": 0.3},
                 {"choice": [0.0]}, {"integers": [0, 2], "shape": [100, 100]}, {"integers": [1, 3], "shape": 3},
                 {"decimals": [-1e6, 1e6], "step": 0.5}, {"integers": [2, 2], "exclude": [2.0000000000001]}]


class Hang(Exception):
    pass


def _alarm(*_):
    raise Hang()


def run(args: list) -> str:
    """'ok', 'error', 'traceback', 'hang' or 'bad answer'."""
    err = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main([str(a) for a in args])
            except SystemExit as usage:  # argparse: a usage line and the error, exit 2
                code = 1 if usage.code == 2 and "error:" in err.getvalue() else usage.code
                err = io.StringIO("error: " + err.getvalue().strip().splitlines()[-1].split("error: ", 1)[-1])
    except Hang:
        return "hang"
    except BaseException:  # noqa: BLE001 (counting them is the point)
        return "traceback"
    finally:
        signal.alarm(0)
    lines = err.getvalue().strip().splitlines()
    if code == 0:
        return "ok"
    return "error" if code == 1 and len(lines) == 1 and lines[0].startswith("error: ") else "bad answer"


def mutated(rng: random.Random, values: list, text_only: bool = False) -> tuple[Path, list]:
    source = rng.choice(BANK)
    document = yaml.safe_load(source.read_text())
    places = [p for p in paths(document) if not text_only or (p and p[-1] in ("title", "statement", "notes"))]
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    problem = folder / "problems" / source.name
    problem.parent.mkdir()
    problem.write_text(json.dumps(replaced(document, rng.choice(places or [("title",)]), rng.choice(values)),
                                  ensure_ascii=False))
    return problem, folder


def malformed(rng: random.Random) -> list:
    text = bytearray(rng.choice(BANK).read_bytes())
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(text))
        text[at:at + rng.randint(0, 4)] = bytes(rng.choice([b":", b"[", b"{", b"- ", b"\t", b"\xff", b"'", b"&a",
                                                            b"*a", b"!!python/object:os.system", b"\n  ", b""]))
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    (folder / "p.yaml").write_bytes(bytes(text))
    return ["build", folder / "p.yaml", "--out", folder / "out", "--formats", "answers"]


def cases(category: str, rng: random.Random) -> list:
    if category == "malformed":
        return malformed(rng)
    if category == "inject":
        problem, folder = mutated(rng, INJECT, text_only=True)
        return ["build", problem, "--out", folder / "out"]
    values = {"kinds": HOSTILE, "numeric": NUMBERS, "randomize": DISTRIBUTIONS}[category]
    problem, folder = mutated(rng, values)
    extra = ["--variants", "3"] if category == "randomize" else []
    return ["build", problem, "--out", folder / "out", "--formats", "html,markdown,answers", *extra]


FIXED = {
    "cli": [["build"], ["build", "problems", "--variants", "0"], ["build", "problems", "--variants", "-3"],
            ["build", "problems/relu-networks", "--variants", str(10 ** 9)], ["check", "problems/x", "--seed", "-1"],
            ["build", "problems/relu-networks", "--jobs", "0", "--out", "{tmp}/o"], ["nonsense"],
            ["build", "problems/relu-networks", "--roster", "{tmp}/missing.csv"], ["build", "--formats", "pdf", "x"],
            ["lock", "{tmp}/nothing"], ["check", "problems/relu-networks", "--variants", "2", "--roster", "r.csv"]],
    "paths": [["build", "problems/relu-networks", "--out", "/dev/null"], ["build", "problems/relu-networks", "--out",
              "{tmp}/file.txt"], ["build", "problems", "--out", "problems"], ["build", "problems/relu-networks",
              "--out", "problems"], ["build", "problems/relu-networks", "--out", "problems/relu-networks/x"],
              ["build", "/dev/zero", "--out", "{tmp}/o"], ["build", "/proc/self", "--out", "{tmp}/o"],
              ["build", "{tmp}/\udcff.yaml", "--out", "{tmp}/o"], ["build", "problems/relu-networks", "--out",
              "{tmp}/\u2603/o", "--formats", "answers"], ["build", "", "--out", "{tmp}/o"]],
}


def main_() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    rng = random.Random(2026)
    print(f"{'category':<10} {'inputs':>6} {'ok':>5} {'error':>6} {'traceback':>9} {'hang':>5} {'bad answer':>10} "
          f"{'seconds':>8}")
    for category in ("cli", "paths", "malformed", "kinds", "numeric", "randomize", "inject"):
        tmp = tempfile.mkdtemp(prefix="hostile-")
        Path(tmp, "file.txt").write_text("x")
        inputs = ([[a.replace("{tmp}", tmp) for a in args] for args in FIXED[category]] if category in FIXED
                  else [cases(category, rng) for _ in range(count if category != "inject" else max(count // 4, 5))])
        start, results = time.perf_counter(), []
        with contextlib.chdir(REPO):
            results = [run(args) for args in inputs]
        tally = {k: results.count(k) for k in ("ok", "error", "traceback", "hang", "bad answer")}
        print(f"{category:<10} {len(inputs):>6} {tally['ok']:>5} {tally['error']:>6} {tally['traceback']:>9} "
              f"{tally['hang']:>5} {tally['bad answer']:>10} {time.perf_counter() - start:>8.1f}", flush=True)


if __name__ == "__main__":
    main_()
