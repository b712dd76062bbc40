"""Hostile input: every bank problem file mutated at every field, hostile rosters, sheet
files and lockfiles. The command line answers with a verified build or one `error:` line
naming the file, exit 1; never a traceback, never a hang, never a non-finite number in JSON,
never a file outside the output folder."""
import contextlib
import io
import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
BANK = sorted(p for p in (ROOT / "problems").rglob("*.yaml") if p.name != "sheet.yaml")
SECONDS = 30


def deep(levels: int):
    value = 1.0
    for _ in range(levels):
        value = [value]
    return value


HOSTILE = [None, True, False, "", "☃", "\x07", r"\input{/etc/passwd}", "a" * 5000, "--- `` '' ,, !` ?` <<",
           0, -1, 2.5, 1e308, -1e308, 1e7, 10 ** 30, [], [[]], {}, [None], deep(400), [0.0] * 200,
           [[1.0] * 40] * 40, {"integers": [0, 10 ** 12]}, {"integers": [5, 1]}, {"choice": []},
           {"decimals": [0, 1], "step": 1e-12}, {"integers": [0, 3], "shape": [10 ** 5, 10 ** 5]},
           {"integers": [0, 3], "shape": -2}, {"choice": [1, "x"]}, {"integers": [0, 1], "exclude": ["a"]},
           {"integers": [1, 1], "exclude": [1]}]


def paths(data, prefix=()):
    """Every place in a document: mapping values and list entries, depth first."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data[:3]):
            yield from paths(value, prefix + (index,))


def replaced(data, path, value):
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(copy[path[0]], path[1:], value)
    return copy


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} in JSON")
    return json.loads(text, parse_constant=refuse)


def run(*args) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in args])
    return code, err.getvalue()


def assert_clean_answer(code: int, stderr: str, named: Path, out: Path) -> None:
    assert code in (0, 1), stderr
    if code == 1:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr
        assert str(named) in lines[0] or "--" in lines[0], stderr
    else:
        for answers in out.rglob("*.json"):
            strict_json(answers.read_text())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_bank_problem_gets_a_build_or_one_error_line(tmp_path_factory, data):
    source = data.draw(st.sampled_from(BANK), label="problem")
    document = yaml.safe_load(source.read_text())
    where = data.draw(st.sampled_from(list(paths(document))), label="field")
    value = data.draw(st.sampled_from(HOSTILE), label="value")
    folder = tmp_path_factory.mktemp("fuzz")
    problem = folder / "problems" / f"{source.stem}.yaml"
    problem.parent.mkdir()
    problem.write_text(json.dumps(replaced(document, where, value), ensure_ascii=False))  # JSON is YAML
    out = folder / "out"
    start = time.monotonic()
    code, stderr = run("build", problem, "--out", out, "--formats", "html,markdown,answers")
    assert time.monotonic() - start < SECONDS
    assert_clean_answer(code, stderr, problem, out)
    assert sorted(p.name for p in folder.iterdir()) == (["out", "problems"] if out.exists() else ["problems"])
    assert [p.name for p in problem.parent.iterdir()] == [problem.name]


@pytest.mark.parametrize("students", [["../escape"], ["/"], ["."], [".."], ["a", "a"], ["a/b", "a_b"], [""],
                                      ["☃"], ["x\x00y"], [f"s{i}" for i in range(1001)]],
                         ids=["dotdot", "slash", "dot", "dotdot-alone", "duplicate", "same-folder", "empty",
                              "snowman", "nul", "too-many"])
def test_a_hostile_roster_is_refused_or_stays_inside_the_output(tmp_path, students):
    roster = tmp_path / "roster.csv"
    roster.write_text("id\n" + "\n".join(students) + "\n")
    problem = ROOT / "problems" / "relu-networks" / "s1-one-hidden-unit.yaml"
    out = tmp_path / "out"
    code, stderr = run("build", problem, "--out", out, "--roster", roster, "--formats", "answers")
    assert_clean_answer(code, stderr, roster, out)
    if code == 0:
        folders = [p.name for p in (out / "s1-one-hidden-unit" / "variants").iterdir()]
        assert all(name not in (".", "..") and "/" not in name for name in folders)
    assert sorted(p.name for p in tmp_path.iterdir()) in (["roster.csv"], ["out", "roster.csv"])


@pytest.mark.parametrize("sheet", [{"problems": "q1.yaml"}, {"problems": []}, {"problems": ["missing.yaml"]},
                                   {"problems": ["../escape.yaml"]}, {"problems": [["q1.yaml"]]},
                                   {"title": ["x"], "problems": ["q1.yaml"]}, {"title": "☃", "problems": ["q1.yaml"]},
                                   {"title": "ok", "problems": ["q1.yaml"], "extra": 1}, [], "text", None],
                         ids=["string", "empty", "missing", "escape", "nested", "title-list", "title-snowman",
                              "extra-field", "list", "text", "empty-file"])
def test_a_hostile_sheet_file_is_one_error_line(tmp_path, sheet):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "q1.yaml").write_text((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    (folder / "sheet.yaml").write_text(yaml.safe_dump(sheet))
    code, stderr = run("build", folder, "--out", tmp_path / "out", "--formats", "answers")
    assert code == 1 and stderr.startswith(f"error: {folder / 'sheet.yaml'}") and stderr.count("\n") == 1, stderr


@pytest.mark.parametrize("lock", ['{"set": 3}', "not json", '{"set": "s", "problems": [], "variants": [{"seed": "x"}]}',
                                  "[]", '{"set": "s", "problems": [], "variants": [{"variant": null, "seed": 1, '
                                  '"parameters": "p", "answers": "a"}]}'],
                         ids=["wrong-type", "not-json", "wrong-seed", "list", "changed"])
def test_a_hostile_lockfile_is_one_error_line(tmp_path, lock):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "q1.yaml").write_text((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    (folder / "variants.lock").write_text(lock)
    code, stderr = run("check", folder)
    assert code == 1 and stderr.startswith(f"error: {folder / 'variants.lock'}") and stderr.count("\n") == 1, stderr


def test_a_symlink_loop_and_a_fifo_end_with_an_answer(tmp_path):
    import os
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "q1.yaml").write_text((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    (folder / "loop").symlink_to(folder)
    code, stderr = run("build", folder, "--out", tmp_path / "out", "--formats", "answers")
    assert code == 0, stderr
    os.mkfifo(folder / "q2.yaml")
    code, stderr = run("build", folder, "--out", tmp_path / "out", "--formats", "answers")
    assert code == 1 and "q2.yaml: is not a regular file" in stderr, stderr
    code, stderr = run("build", folder / "q2.yaml", "--out", tmp_path / "out2")
    assert code == 1 and stderr.startswith("error: ") and "neither a regular file nor a folder" in stderr, stderr


def cli(*args, env=None, timeout=300):
    import os
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "solvers", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_a_build_killed_midway_is_cleaned_up_by_the_next_one(tmp_path):
    import signal
    import subprocess
    import sys
    out = tmp_path / "out"
    sets = [ROOT / "problems" / name for name in ("relu-networks", "softmax", "convolution-values")]
    process = subprocess.Popen([sys.executable, "-m", "solvers", "build", *map(str, sets), "--out", str(out)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob(".staging-*/*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = cli("build", *sets, "--out", out)
    assert result.returncode == 0, result.stderr
    assert not list(out.glob(".staging-*")) and not list(out.glob(".old-*"))
    for name in ("relu-networks", "softmax", "convolution-values"):
        assert (out / name / "solutions.pdf").stat().st_size > 0
        strict_json((out / name / "answers.json").read_text())


def test_without_tex_the_pdf_format_says_how_to_install_it(tmp_path):
    import os
    import sys
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(sys.executable, bare / "python3")
    result = cli("build", ROOT / "problems/relu-networks", "--out", tmp_path / "out", env={"PATH": str(bare)})
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "latexmk and pdflatex not found" in result.stderr and "apt-get install" in result.stderr
    assert not (tmp_path / "out" / "relu-networks").exists()
    result = cli("build", ROOT / "problems/relu-networks", "--out", tmp_path / "out", "--formats", "html,answers",
                 env={"PATH": str(bare)})
    assert result.returncode == 0, result.stderr


def test_a_full_disk_is_one_error_line_and_the_previous_output_stays(tmp_path):
    import subprocess
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        out = disk / "out"
        first = cli("build", ROOT / "problems/relu-networks", "--out", out, "--formats", "answers")
        assert first.returncode == 0, first.stderr
        before = (out / "relu-networks" / "answers.json").read_text()
        (disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 - 64 * 1024))
        result = cli("build", ROOT / "problems/relu-networks", ROOT / "problems/universal-approximation",
                     "--out", out, "--formats", "html,markdown,answers")
        assert result.returncode == 1 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, \
            result.stderr
        assert "No space left" in result.stderr
        assert (out / "relu-networks" / "answers.json").read_text() == before
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_a_lockfile_that_is_a_fifo_or_a_device_is_one_error_line(tmp_path, special):
    import os
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "q1.yaml").write_text((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    if special == "fifo":
        os.mkfifo(folder / "variants.lock")
    else:
        (folder / "variants.lock").symlink_to("/dev/zero")  # endless bytes: read whole, it fills the memory
    code, stderr = run("check", folder)
    assert code == 1 and stderr.startswith(f"error: {folder / 'variants.lock'}: is not a regular file"), stderr


def test_ctrl_c_during_a_build_is_one_line_and_leaves_no_output(tmp_path):
    """SIGINT reaches the whole process group, as Ctrl-C in a terminal does: the workers ignore it,
    the build removes its staging folder and says so in one line."""
    import os
    import signal
    import subprocess
    import sys
    import time
    out = tmp_path / "out"
    build = subprocess.Popen([sys.executable, "-m", "solvers", "build", str(ROOT / "bench" / "variants-sheet"),
                              "--variants", "300", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:  # the build has begun: its staging folder is made
        time.sleep(0.05)
    time.sleep(0.5)  # variants rendering
    os.killpg(build.pid, signal.SIGINT)
    _, stderr = build.communicate(timeout=120)
    assert build.returncode == 130 and stderr == "error: interrupted\n", stderr
    assert not out.exists()


def test_an_empty_folder_and_two_problems_of_one_name_are_errors(tmp_path):
    problem = (ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text()
    (tmp_path / "empty").mkdir()
    code, stderr = run("check", tmp_path / "empty")
    assert code == 1 and "holds no problem files" in stderr, stderr
    twins = tmp_path / "twins"
    twins.mkdir()
    for name in ("q.yaml", "q.yml"):
        (twins / name).write_text(problem)
    code, stderr = run("check", twins)
    assert code == 1 and "has the name 'q' (.yaml and .yml)" in stderr, stderr
    sheet = tmp_path / "sheet"
    sheet.mkdir()
    (sheet / "q1.yaml").write_text(problem)
    (sheet / "sheet.yaml").write_text("title: S\nproblems: [q1.yaml, q1.yaml]\n")
    code, stderr = run("check", sheet)
    assert code == 1 and stderr.startswith(f"error: {sheet / 'sheet.yaml'}: problems[1]: 'q1.yaml' has the name"), stderr


def test_lock_refuses_to_write_into_a_fifo_and_a_folder_named_twice_is_not_empty(tmp_path):
    import os
    folder = tmp_path / "problems" / "set"
    folder.mkdir(parents=True)
    (folder / "q1.yaml").write_text((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    code, stderr = run("check", folder, folder.parent)  # the parent's only set was named first: not empty
    assert code == 0, stderr
    os.mkfifo(folder / "variants.lock")
    code, stderr = run("lock", folder)
    assert code == 1 and "variants.lock: is not a regular file" in stderr, stderr
