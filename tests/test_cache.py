"""The cache (solvers.cache): safe to delete, never stale, never trusted blindly; and what it
saves: torch for numbers verified before, lambdify for expressions seen before, matplotlib for
figures drawn before, the preamble of every LaTeX document."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from solvers import cache, lambdified
from solvers.derivation import element_symbol

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml"


@pytest.fixture(autouse=True)
def new_process():
    """Each test starts as a new process would: no function lambdified in memory yet (the
    memo would answer before the disk cache these tests are about)."""
    lambdified.forget()


def entries(shelf: str) -> list[Path]:
    return sorted((cache.folder() / shelf).rglob("*.json"))


def test_an_entry_reads_back_and_a_damaged_one_is_ignored():
    cache.store("test", "k" * 64, {"x": [1.5, float("inf")]})
    assert cache.load("test", "k" * 64) == {"x": [1.5, float("inf")]}
    path, = entries("test")
    record = json.loads(path.read_text())
    path.write_text(path.read_text()[:-5])  # truncated
    assert cache.load("test", "k" * 64) is None
    path.write_text(json.dumps({**record, "payload": record["payload"].replace("1.5", "2.5")}))  # checksum fails
    assert cache.load("test", "k" * 64) is None
    path.write_text(json.dumps(record))
    assert cache.load("test", "j" * 64) is None  # another key's name does not matter: the record names its key
    path.rename(path.with_name("j" * 64 + ".json"))
    assert cache.load("test", "j" * 64) is None


def test_off_means_no_folder_and_nothing_written(monkeypatch, tmp_path):
    monkeypatch.setenv("SOLVERS_CACHE", "off")
    assert cache.folder() is None
    cache.store("test", "k" * 64, 1)
    assert cache.load("test", "k" * 64) is None


def test_a_read_only_cache_is_left_alone(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SOLVERS_CACHE", str(blocked))
    cache.store("test", "k" * 64, 1)
    assert cache.load("test", "k" * 64) is None


def test_the_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("SOLVERS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.folder() == tmp_path / "nn-solutions"


def test_keys_change_with_the_libraries_versions(monkeypatch):
    before = cache.key("same input")
    cache.fingerprint.cache_clear()
    monkeypatch.setattr(cache.metadata, "version", lambda name: "0.0.0-other")
    try:
        assert cache.key("same input") != before
    finally:
        monkeypatch.undo()
        cache.fingerprint.cache_clear()
    assert cache.key("same input") == before != cache.key("other input")


def test_only_functions_of_the_package_are_versioned():
    from solvers.kinds import network
    assert cache.versioned(network.reference)
    assert not cache.versioned(lambda spec: {})

    def local(spec):
        return {}
    assert not cache.versioned(local)


def _expression():
    a, b = element_symbol("a", 0, 0), element_symbol("b", 0, 0)
    return [a, b], sympy.Matrix([[sympy.exp(-a) / (1 + sympy.exp(-a)) + sympy.Max(a, b) * b ** 2]])


def test_a_lambdified_step_is_rebuilt_from_the_cache_with_the_same_numbers(monkeypatch):
    free, expression = _expression()
    fresh = lambdified.lambdify(free, expression)
    assert len(entries(lambdified.SHELF)) == 1

    def no_sympy(*args, **kwargs):
        raise AssertionError("lambdify ran although the expression was cached")
    monkeypatch.setattr(sympy, "lambdify", no_sympy)
    lambdified.forget()  # as a new process: from the disk cache, not this process's memo
    cached = lambdified.lambdify(free, expression)
    points = np.random.default_rng(0).normal(size=(20, 2)) * 5
    assert [cached(*p).item() for p in points] == [fresh(*p).item() for p in points]
    assert cached.__code__.co_filename == "<lambdified, cached>"


def test_an_expression_is_lambdified_once_per_process_even_without_a_cache(monkeypatch):
    monkeypatch.setenv("SOLVERS_CACHE", "off")
    free, expression = _expression()
    first = lambdified.lambdify(free, expression)

    def no_sympy(*args, **kwargs):
        raise AssertionError("lambdify ran again for an expression this process lambdified")
    monkeypatch.setattr(sympy, "lambdify", no_sympy)
    assert lambdified.lambdify(list(free), expression) is first  # the same object
    assert lambdified.lambdify(list(free), expression.copy()) is first  # an equal one
    with pytest.raises(AssertionError):  # another argument order is another function
        lambdified.lambdify(free[::-1], expression)


def test_the_key_of_an_expression_is_its_exact_tree():
    x, y = sympy.symbols("x y", real=True)
    relu = sympy.Piecewise((x, x > 0), (0, True))
    key = lambdified.exact_digest
    built = sympy.Matrix([[x * y + sympy.Float(0.1), relu]])
    assert key(built) == key(sympy.Matrix([[sympy.Float(0.1) + y * x, sympy.Piecewise((x, x > 0), (0, True))]]))
    assert key(built) != key(sympy.Matrix([[x * y + sympy.Float(0.1 + 2 ** -56), relu]]))  # the last bit of a float
    assert key(built) != key(sympy.Matrix([[x * y + sympy.Float(0.1), sympy.Piecewise((x, x >= 0), (0, True))]]))
    assert key(x) != key(sympy.Symbol("x"))  # its assumptions
    assert key(built) != key(built.T)  # the shape
    assert key(x - y) != key(y - x)


def test_a_new_process_loads_the_templates_compiled(tmp_path):
    out = _python(f"""
import jinja2
from solvers import build
calls = []
compile_source = jinja2.Environment._compile
jinja2.Environment._compile = lambda self, *a: calls.append(a) or compile_source(self, *a)
build.build([{str(PROBLEM)!r}], {str(tmp_path / 'out')!r}, formats=["html", "markdown"])
print(len(calls))
""")
    assert int(out) > 5  # the first process compiles every template it uses
    assert list((cache.folder() / "templates").rglob("*.cache"))
    out = _python(f"""
import jinja2
from solvers import build
calls = []
compile_source = jinja2.Environment._compile
jinja2.Environment._compile = lambda self, *a: calls.append(a) or compile_source(self, *a)
build.build([{str(PROBLEM)!r}], {str(tmp_path / 'again')!r}, formats=["html", "markdown"])
print(len(calls))
""")
    assert out == "0"
    assert (tmp_path / "out/s1-one-hidden-unit/solutions.html").read_bytes() == \
        (tmp_path / "again/s1-one-hidden-unit/solutions.html").read_bytes()


@pytest.mark.parametrize("source", [
    "import os\ndef _lambdifygenerated(a_0_0, b_0_0):\n    return a_0_0\n",
    "def _lambdifygenerated(a_0_0, b_0_0):\n    return a_0_0.__class__\n",
    "def _lambdifygenerated(a_0_0, b_0_0):\n    return __import__('os')\n",
    "def _lambdifygenerated(a_0_0, b_0_0):\n    return open('x')\n",
    "def _lambdifygenerated(a_0_0, b_0_0):\n    return 'text'\n",
    "def _lambdifygenerated(a_0_0, b_0_0):\n    return a_0_0\n_lambdifygenerated(1, 2)\n",
    "def _lambdifygenerated(a_0_0, b_0_0",
])
def test_source_outside_the_whitelist_is_never_run(source):
    free, expression = _expression()
    expected = sympy.lambdify(free, expression, modules=lambdified.LAMBDIFY_MODULES)(0.5, 2.0)
    lambdified.lambdify(free, expression)
    path, = entries(lambdified.SHELF)
    record = json.loads(path.read_text())
    entry = path.stem
    cache.store(lambdified.SHELF, entry, {"source": source, "names": {"open": ["numpy", "open"]}})
    assert lambdified._rebuilt(cache.load(lambdified.SHELF, entry)) is None
    lambdified.forget()  # as a new process, which finds only the damaged entry
    assert np.allclose(lambdified.lambdify(free, expression)(0.5, 2.0), expected)  # recomputed instead
    assert json.loads(path.read_text())["payload"] == record["payload"]  # and stored again as it should be


def _python(code: str, env: dict | None = None) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


CHECK = """
import sys
from solvers import build
solved = build.check([sys.argv[1] if len(sys.argv) > 1 else {path!r}])
print(solved[0].values_checked, "torch" in sys.modules, "matplotlib" in sys.modules)
"""


def test_numbers_verified_before_need_no_torch_and_new_numbers_do(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM.read_text())
    check = CHECK.format(path=str(problem))
    assert _python(check) == "26 True False"  # first time: torch computes the reference
    assert _python(check) == "26 False False"  # the same numbers again: compared with torch's stored values
    problem.write_text(PROBLEM.read_text().replace("title: ", "title: Edited "))
    assert _python(check) == "26 False False"  # new text, same numbers
    problem.write_text(PROBLEM.read_text().replace("weights: -2", "weights: -3"))
    assert _python(check) == "26 True False"  # new numbers: torch again


def test_a_damaged_reference_entry_is_recomputed_by_torch(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM.read_text())
    check = CHECK.format(path=str(problem))
    _python(check)
    from solvers import verify
    for path in entries(verify.SHELF):
        path.write_text("{not json")
    assert _python(check) == "26 True False"


BUILD = """
import sys
from solvers import build, cache
if {lost!r}:
    cache.store = lambda *args: None  # nothing the child computes reaches this process
report = build.build([{path!r}], {out!r}, formats=["html"])
print(report.values_checked, "torch" in sys.modules)
"""


def test_new_numbers_are_verified_by_torch_in_a_child_process_while_the_build_renders(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM.read_text().replace("weights: -2", "weights: -3"))
    run = lambda lost, out: _python(BUILD.format(path=str(problem), out=str(tmp_path / out), lost=lost))
    assert run(False, "first") == "26 False"  # torch's values came from the child, which stored them
    assert run(False, "again") == "26 False"  # stored: no torch anywhere
    from solvers import verify
    assert len(entries(verify.SHELF)) == 1
    problem.write_text(PROBLEM.read_text().replace("weights: -2", "weights: -4"))
    assert run(True, "lost") == "26 True"  # the child's values never arrived: this process computed them


DRAW = """
import sys
from solvers import build
build.build([{path!r}], {out!r}, formats=["latex", "html"])
print("matplotlib" in sys.modules)
"""


def test_figures_drawn_before_need_no_matplotlib_and_are_the_same_files(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM.read_text())
    files = {}
    for run, text, drawn in ((0, PROBLEM.read_text(), "True"), (1, PROBLEM.read_text(), "False"),
                             (2, PROBLEM.read_text().replace("title: ", "title: Edited "), "False")):
        problem.write_text(text)
        out = tmp_path / f"out{run}"
        assert _python(DRAW.format(path=str(problem), out=str(out))) == drawn  # new text, same numbers: no drawing
        files[run] = {f.name: f.read_bytes() for f in sorted((out / "p" / "figures").iterdir())}
    assert files[0] and files[0] == files[1] == files[2]
    from solvers.render import figures
    for path in entries(figures.SHELF):
        path.write_text("{not json")
    assert _python(DRAW.format(path=str(problem), out=str(tmp_path / "out3"))) == "True"  # damaged: drawn again


def test_a_problem_file_error_imports_neither_torch_nor_matplotlib(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: network\nnetwork: [\n")
    out = _python(f"""
import sys
from solvers.__main__ import main
status = main(["build", {str(bad)!r}, "--out", {str(tmp_path / 'out')!r}])
print(status, sorted(m for m in ("torch", "matplotlib") if m in sys.modules))
""")
    assert out == "1 []"


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None, reason="needs TeX")
def test_a_document_from_the_precompiled_preamble_is_the_same_document(tmp_path, monkeypatch):
    from solvers.render import pdf
    text = "\n".join([r"\documentclass[11pt]{article}", r"\usepackage{amsmath}", r"\usepackage[a4paper]{geometry}",
                      r"\newwrite\pages\immediate\openout\pages=\jobname.pages", r"\begin{document}",
                      r"Hello \(\begin{bmatrix} 1 \\ 2 \end{bmatrix}\) \jobname.", r"\end{document}", ""])
    preamble, rest = pdf.split_preamble(text)
    assert preamble.endswith("{geometry}\n") and rest.startswith(r"\newwrite")
    texts = {}
    for name, setting in (("with", str(tmp_path / "cache")), ("without", "off")):
        monkeypatch.setenv("SOLVERS_CACHE", setting)
        folder = tmp_path / name
        folder.mkdir()
        (folder / "doc.tex").write_text(text)
        texts[name] = subprocess.run(["pdftotext", pdf.compile_pdf(folder / "doc.tex"), "-"], capture_output=True,
                                     text=True, check=True).stdout
        assert (folder / "doc.pages").exists() and not list(folder.glob(".*.tex"))
    assert "Hello" in texts["with"] and "doc." in texts["with"] and texts["with"] == texts["without"]
    formats = list((tmp_path / "cache" / pdf.SHELF).glob("*.fmt"))
    assert len(formats) == 1
    formats[0].write_bytes(b"not a format")  # damaged: the document still compiles, and the format is made again
    monkeypatch.setenv("SOLVERS_CACHE", str(tmp_path / "cache"))
    assert pdf.compile_pdf(tmp_path / "with" / "doc.tex").exists()
    assert not formats[0].exists() or formats[0].read_bytes() != b"not a format"


@pytest.mark.skipif(shutil.which("pdflatex") is None or os.name != "posix", reason="needs TeX and /dev/stdin")
def test_a_document_compiled_by_a_pdflatex_started_ahead_is_the_same_pdf(tmp_path, monkeypatch):
    from solvers.render import pdf
    monkeypatch.setenv("SOLVERS_CACHE", str(tmp_path / "cache"))
    head = [r"\documentclass{article}", r"\usepackage{graphicx}"]
    (tmp_path / "pic.tex").write_text("\n".join([*head, r"\begin{document}", "Picture", r"\end{document}", ""]))
    picture = pdf.compile_pdf(tmp_path / "pic.tex").read_bytes()  # also makes the format the others start from
    text = "\n".join([*head, r"\newwrite\pages\immediate\openout\pages=\jobname.pages", r"\begin{document}",
                      r"Hello \jobname. \includegraphics[width=2cm]{figures/pic.pdf}", r"\end{document}", ""])
    made = {}
    for way in ("cold", "ahead"):
        folder = tmp_path / way
        (folder / "figures").mkdir(parents=True)
        (folder / "figures" / "pic.pdf").write_bytes(picture)
        (folder / "doc.tex").write_text(text)
        if way == "ahead":
            pdf.ahead.expect(["doc", "other"], 1)
            (started,) = pdf.ahead._started  # one at a time, for the first document to come
            assert started.name == "doc"
        made[way] = pdf.compile_pdf(folder / "doc.tex").read_bytes()
        assert (folder / "doc.pages").read_text() == "" and (folder / "doc.log").exists()
    assert started.process.returncode == 0 and not started.folder.exists()
    assert [s.name for s in pdf.ahead._started] == ["other"]  # the next one started as this one was taken
    pdf.ahead.stop()
    assert not pdf.ahead._started and pdf.ahead._coming == []
    assert made["ahead"] == made["cold"] and b"/Subtype /Form" in made["ahead"]  # the figure is in it


@pytest.mark.skipif(shutil.which("pdflatex") is None or os.name != "posix", reason="needs TeX and /dev/stdin")
def test_a_build_that_fails_before_it_begins_leaves_no_pdflatex_started_ahead(tmp_path, monkeypatch, capsys):
    from solvers.__main__ import main
    from solvers.render import pdf
    monkeypatch.setenv("SOLVERS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}x\\end{document}\n")
    pdf.compile_pdf(tmp_path / "doc.tex")  # a format to start from
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: nope\ntitle: Bad\n")
    assert main(["build", str(bad), "--out", str(tmp_path / "out")]) == 1
    assert "unknown problem kind" in capsys.readouterr().err
    assert not pdf.ahead._started and not list((tmp_path / "cache" / pdf.SHELF).glob(".compiling-*"))
