"""`python -m solvers watch`: rebuilds on save, reports an error in one line and goes on,
stops cleanly on Ctrl-C."""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from solvers import watch

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml"


def test_watch_rebuilds_once_per_change(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text("a")
    builds = []

    def rebuild():
        builds.append(problem.read_text())
        if len(builds) == 1:
            problem.write_text("bb")  # saved while the first build runs: seen at the next poll
    watch.watch([tmp_path], rebuild, interval=0.01, polls=5)
    assert builds == ["a", "bb"]


def test_a_snapshot_sees_new_changed_and_deleted_files(tmp_path):
    (tmp_path / "sub").mkdir()
    first = tmp_path / "sub" / "q.yaml"
    first.write_text("x")
    before = watch.snapshot([tmp_path])
    assert list(before) == [first]
    (tmp_path / "notes.txt").write_text("not a problem file")
    assert watch.snapshot([tmp_path]) == before
    first.write_text("xy")
    assert watch.snapshot([tmp_path]) != before
    assert watch.snapshot([tmp_path / "gone.yaml"]) == {tmp_path / "gone.yaml": (-1, -1)}


class Lines:
    """The output lines of a process (stderr merged into stdout, so in the order printed),
    read on a thread, waited for with a timeout."""

    def __init__(self, process):
        self.queue, self.seen = queue.Queue(), []
        threading.Thread(target=lambda: [self.queue.put(line) for line in process.stdout], daemon=True).start()

    def wait_for(self, text: str, seconds: float = 120) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                line = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {seconds} s; saw {self.seen}")


def test_watch_rebuilds_on_save_reports_errors_and_stops_on_ctrl_c(tmp_path):
    problem, out = tmp_path / "q.yaml", tmp_path / "out"
    problem.write_text(PROBLEM.read_text())
    process = subprocess.Popen([sys.executable, "-m", "solvers", "watch", str(problem), "--out", str(out),
                                "--formats", "answers"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = Lines(process)
    try:
        lines.wait_for("built into")
        lines.wait_for("watching for changes")
        answers = out / "q" / "answers.json"
        first = json.loads(answers.read_text())
        problem.write_text(PROBLEM.read_text().replace("bias: 3", "bias: 4"))
        lines.wait_for("built into")
        assert json.loads(answers.read_text()) != first
        problem.write_text(PROBLEM.read_text().replace("bias: 3", "bias: [3"))  # a typo
        error = lines.wait_for("error:")
        assert str(problem) in error and "Traceback" not in error
        lines.wait_for("watching for changes")
        assert process.poll() is None  # still watching
        problem.write_text(PROBLEM.read_text())
        lines.wait_for("built into")
        assert json.loads(answers.read_text()) == first
        lines.wait_for("watching for changes")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        lines.wait_for("stopped", seconds=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert not any("Traceback" in line for line in lines.seen)
