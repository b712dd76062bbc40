"""Rendering: PDFs compile and show the answers, HTML is MathML without raw LaTeX, problem
text is escaped in both, answers.json is complete."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from solvers import build, timing

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = r"50% of x_1 & y #2 \\input{/etc/passwd} <script>alert(1)</script> \$x\$ ~ ^{} [[figure x]] \*\*no\*\*"
SHOWN = r"50% of x_1 & y #2 \input{/etc/passwd} <script>alert(1)</script> $x$ ~ ^{} [[figure x]] **no**"
"""Problem text with every character LaTeX, HTML or our markup would act on, written literally."""


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """The whole problem bank, built once."""
    out = tmp_path_factory.mktemp("build")
    timing.reset()
    report = build.build([ROOT / "problems"], out)
    return out, [problem_set.name for problem_set, _ in report.sets], dict(timing.COUNTS)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    data = yaml.safe_load((ROOT / "problems/loss-and-backprop/q1-logistic-regression.yaml").read_text())
    data.update(title=HOSTILE, statement=HOSTILE + "\n\nSecond paragraph.", notes=HOSTILE,
                instructor_notes=HOSTILE)
    (folder / "hostile.yaml").write_text(yaml.safe_dump(data))
    out = folder / "out"
    build.build([folder / "hostile.yaml"], out)
    return out / "hostile"


def test_every_set_has_its_four_outputs(bank):
    out, names, _ = bank
    assert set(names) >= {"loss-and-backprop", "softmax-network", "relu-networks", "convolution-shapes",
                          "activation-functions", "relu-decision-regions", "universal-approximation"}
    for set_name in names:
        for name in ("questions.pdf", "solutions.pdf", "solutions.html", "answers.json"):
            assert (out / set_name / name).stat().st_size > 0
    assert not list(out.glob(".staging-*"))


def test_each_sheet_of_a_bank_needs_one_pdflatex_run(bank):
    """More sheets than processes: a sheet's questions, solutions and instructor key are one
    run, cut apart, leaving nothing of the run behind."""
    out, names, counts = bank
    assert counts["pdflatex runs"] == len(names)
    assert not list(out.glob("*/all-documents.*"))


def test_a_document_compiled_with_its_sheets_others_reads_as_compiled_alone(bank, tmp_path):
    out, _, _ = bank
    timing.reset()
    build.build([ROOT / "problems" / "softmax"], tmp_path)  # one sheet, two processes: a run per document
    assert timing.COUNTS["pdflatex runs"] == 3
    for name in ("questions.pdf", "solutions.pdf", "instructor-key.pdf"):
        alone, together = tmp_path / "softmax" / name, out / "softmax" / name
        assert pdf_text(together) == pdf_text(alone) and _pages(together) == _pages(alone) > 0


def _pages(pdf: Path) -> int:
    import pikepdf
    with pikepdf.open(pdf) as document:
        return len(document.pages)


def test_an_error_in_a_sheet_compiled_in_one_run_names_its_document(tmp_path, monkeypatch):
    from solvers.render.drivers import latex
    written = latex.render_document

    def broken(template, title, documents, instructor=False):
        text = written(template, title, documents, instructor)
        return text.replace(r"\end{document}", r"\nosuchcommand\end{document}") if instructor else text
    monkeypatch.setattr(latex, "render_document", broken)
    sheets = [ROOT / "problems" / name for name in ("softmax-network", "relu-networks", "loss-comparison")]
    with pytest.raises(latex.LatexError, match=r"instructor-key\.tex: pdflatex failed: .*Undefined control sequence"):
        build.build(sheets, tmp_path / "out", jobs=2)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("folder, shown", [
    ("loss-and-backprop", ["0.01051", "0.9895", "4.550", "1.301", "0.3640", "0.3637", "0.2723", "1.308"]),
    ("relu-networks", ["−8", "12", "6.914 × 10"]),
    ("softmax-network", ["0.6931", "0.4404", "0.8808"]),
    ("convolution-shapes", ["Problem 3: The filter size", "128", "256"]),
    ("activation-functions", ["−0.7769", "0.5488", "is false", "the unit has died"]),
])
def test_solution_pdf_shows_the_answers(bank, folder, shown):
    text = pdf_text(bank[0] / folder / "solutions.pdf")
    for value in shown:
        assert value in text, value
    assert "Answers" in text and "Conventions" in text


def last_lines(pdf: Path) -> list[str]:
    """The last line of text of each page, page numbers left out."""
    pages = pdf_text(pdf).split("\f")[:-1]
    return [([line.strip() for line in page.splitlines() if line.strip() and not line.strip().isdigit()] or [""])[-1]
            for page in pages]


def test_every_answer_table_fits_its_pages(bank):
    """A tabular cannot break across pages: a list of tall answers (a training run's matrices)
    is cut into tables that each fit, so every scalar answer is printed after its problem's
    Answers heading, none lost below a page's foot."""
    from solvers.numbers import format_number
    out, names, _ = bank
    for set_name in names:
        key = json.loads((out / set_name / "answers.json").read_text())["problems"]
        tables = pdf_text(out / set_name / "solutions.pdf").split("Answers\n")[1:]
        assert len(tables) == len(key), set_name
        for problem, text in zip(key, tables):
            shown = [format_number(a["value"], problem["digits"]).replace("-", "\u2212") for a in problem["answers"]
                     if isinstance(a["value"], float) and a["value"] != int(a["value"])
                     and "times" not in format_number(a["value"], problem["digits"])]
            missing = [value for value in shown if value not in text]
            assert not missing, (set_name, problem["problem"], missing)


def test_no_page_ends_on_a_lead_in_sentence(bank):
    """A sentence announcing a display ("Pre-activation of layer 1:") stays on the display's page."""
    out, names, _ = bank
    stranded = [f"{name}/{pdf} p{page}: {line}" for name in names
                for pdf in ("questions.pdf", "solutions.pdf", "instructor-key.pdf")
                for page, line in enumerate(last_lines(out / name / pdf), 1) if line.endswith(":")]
    assert stranded == []


def test_answer_key_names_and_instructor_notes_are_for_instructors_only(bank):
    out = bank[0] / "loss-and-backprop"
    student, instructor = (pdf_text(out / f"{name}.pdf") for name in ("solutions", "instructor-key"))
    note = "A handwritten solution of this problem reports the softmax outputs"
    assert "forward.z1" in instructor and "Answer key name" in instructor and note in " ".join(instructor.split())
    assert "forward.z1" not in student and "Answer key name" not in student and note not in " ".join(student.split())
    assert "Given values" in instructor and "Given values" not in student
    html = (out / "solutions.html").read_text(), (out / "instructor-key.html").read_text()
    assert "forward.z1" not in html[0] and "handwritten" not in html[0]
    assert "forward.z1" in html[1] and "handwritten" in html[1]


def test_questions_pdf_asks_without_answering(bank):
    text = pdf_text(bank[0] / "loss-and-backprop" / "questions.pdf")
    assert "Compute the binary cross-entropy loss" in text and "Compute the cross-entropy loss" in text
    assert "0.01051" not in text and "1.301" not in text


def test_solution_states_the_conventions(bank):
    text = " ".join(pdf_text(bank[0] / "relu-networks" / "solutions.pdf").split())
    assert "We use ReLU′ (0) = 0" in text and "as PyTorch does" in text
    assert "without a factor" in text
    text = " ".join(pdf_text(bank[0] / "loss-and-backprop" / "solutions.pdf").split())
    assert "natural logarithm" in text and "Biases are ignored" in text


def test_html_is_mathml_without_raw_latex(bank):
    page = (bank[0] / "loss-and-backprop" / "solutions.html").read_text()
    assert page.count("<math") > 50
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/1998/Math/MathML"', "")
    outside_math = re.sub(r"<math.*?</math>", "", page, flags=re.DOTALL)
    assert not re.search(r"\\[a-zA-Z]+|\\\(|\\\[|\$", outside_math)
    assert "0.01051" in page


def test_answer_key_lists_every_answer(bank):
    key = json.loads((bank[0] / "relu-networks" / "answers.json").read_text())
    first = key["problems"][0]
    assert first["problem"] == "s1-one-hidden-unit"
    answers = {a["name"]: a for a in first["answers"]}
    assert answers["sgd.step1.W1"]["value"] == -8
    assert answers["loss"]["value"] == 4
    assert answers["loss"]["tolerance"] == {"relative": 1e-3, "absolute": 5e-5}
    matrix = {a["name"]: a for a in json.loads((bank[0] / "loss-and-backprop" / "answers.json").read_text())
              ["problems"][2]["answers"]}["gradient.W1"]["value"]
    assert len(matrix) == 2 and len(matrix[0]) == 5


def test_problem_text_is_escaped_in_latex(hostile):
    source = (hostile / "solutions.tex").read_text()
    assert r"\input{/etc/passwd}" not in source
    assert r"\textbackslash{}input\{/etc/passwd\}" in source
    text = " ".join(pdf_text(hostile / "solutions.pdf").split())
    assert SHOWN in text
    assert SHOWN in " ".join(pdf_text(hostile / "instructor-key.pdf").split())


def test_problem_text_is_escaped_in_html(hostile):
    page = (hostile / "solutions.html").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert r"\input{/etc/passwd}" in page  # shown as text, harmless in HTML


def test_rebuild_replaces_the_previous_output(tmp_path):
    source = ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml"
    build.build([source], tmp_path)
    stale = tmp_path / "s1-one-hidden-unit" / "stale.txt"
    stale.write_text("from an earlier build")
    build.build([source], tmp_path)
    assert not stale.exists()
    assert (tmp_path / "s1-one-hidden-unit" / "solutions.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s1-one-hidden-unit"]


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="needs latexmk")
def test_pdflatex_runs_without_shell_escape(tmp_path):
    from solvers.render import pdf
    tex = tmp_path / "probe.tex"
    tex.write_text(r"\documentclass{article}\begin{document}\immediate\write18{touch pwned}ok\end{document}")
    pdf.compile_pdf(tex)
    assert not (tmp_path / "pwned").exists()


def test_problem_text_keeps_its_dashes_and_quotes_in_the_pdf(tmp_path):
    """pdflatex joins -- into an en dash, `` into a quote, ,, into „: text comes out as written."""
    written = "a -- b --- c ``d ,,e !`f ?`g <<h>>"
    data = yaml.safe_load((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    data.update(title="Dashes", statement=written)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    build.build([tmp_path / "p.yaml"], tmp_path / "out", formats=["latex"])
    assert written in " ".join(pdf_text(tmp_path / "out" / "p" / "questions.pdf").split())


def test_a_large_matrix_is_shown_by_its_corners_and_its_shape():
    import numpy as np

    from solvers import formula as F
    from solvers.render.printer import MathPrinter
    big = MathPrinter({"digits": 3}).doprint(F.grid(np.arange(20 * 13).reshape(20, 13)))
    rows = big.removeprefix(r"\begin{bmatrix} ").split(r" \end{bmatrix}")[0].split(r" \\ ")
    assert [r.split(" & ")[:5] for r in rows[:1]] == [["0", "1", "2", "3", r"\cdots"]]
    assert rows[4] == " & ".join([r"\vdots"] * 4 + [r"\ddots"] + [r"\vdots"] * 2)
    assert rows[-1].split(" & ")[-2:] == ["258", "259"] and big.endswith(r"\; (20 \times 13)")
    small = MathPrinter({"digits": 3}).doprint(F.grid(np.arange(16 * 8).reshape(16, 8)))
    assert r"\cdots" not in small and r"\times" not in small and small.count(r" \\ ") == 15
    counts = MathPrinter({"digits": 3}).doprint(F.grid(np.arange(10 * 10).reshape(10, 10)))  # a confusion matrix
    assert r"\cdots" not in counts and counts.count(" & ") == 90
    decimals = MathPrinter({"digits": 3}).doprint(F.grid(np.arange(10 * 10).reshape(10, 10) / 7))
    assert r"\cdots" in decimals and decimals.endswith(r"\; (10 \times 10)")


def test_the_headings_of_an_adam_run_name_adam_and_a_batch_of_two_lists_both_columns():
    from solvers.render.prose import prepare
    from solvers.variants import load
    problem = load(ROOT / "problems" / "batch-gradient-descent" / "q3-adam.yaml")
    rendered = prepare(problem.kind.solve(problem.spec, problem.name))
    headings = [heading for heading, _ in rendered.sections]
    assert any("Forward pass (Adam step 2)" in h for h in headings) and not any("SGD" in h for h in headings)
    conventions = " ".join(rendered.conventions)
    assert r"X = [\mathbf{x}_1 \; \mathbf{x}_2]" in conventions and "cdots" not in conventions


def test_a_name_with_a_subscript_stacks_its_layer_over_it_and_a_vector_bolds_its_letter_only():
    from solvers import formula as F
    from solvers.render.printer import MathPrinter
    printer = MathPrinter({})
    assert printer.doprint(F.Var("W0", "W_0", "matrix", "l")) == "W_{0}^{(l)}"  # not {W_{0}}^{(l)}, set off to the right
    assert printer.doprint(F.Var("b", "b_120", "vector", 1)) == r"\mathbf{b}_{120}^{(1)}"  # not a bold 120
    assert printer.doprint(F.Var("W0", "W_0", "scalar", 1, (0, 1))) == "{W_{0}}_{1,2}^{(1)}"  # two subscripts: grouped
