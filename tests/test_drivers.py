"""Output formats as drivers: the Markdown driver (math as $…$, figures as SVG files, problem
text escaped), format selection, and every format from the same neutral document."""
import json
import re
from pathlib import Path

import pytest
import yaml
from latex2mathml.converter import convert

from solvers import build
from solvers.render.drivers import DEFAULT_FORMATS, DRIVERS
from solvers.render.drivers.markdown import markdown_escape, to_markdown

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = r"Use \*this\*, not _that_: \$x\$ <script>alert(1)</script> [link](http://x) # 50% | a`b \\ c"
SHOWN = r"Use *this*, not _that_: $x$ <script>alert(1)</script> [link](http://x) # 50% | a`b \ c"


@pytest.fixture(scope="module")
def markdown(tmp_path_factory):
    """Two sets (one with a figure) built as Markdown and the answer key only."""
    out = tmp_path_factory.mktemp("md")
    build.build([ROOT / "problems/relu-networks", ROOT / "problems/relu-decision-regions"], out,
                formats=["markdown", "answers"])
    return out


def test_only_the_formats_asked_for_are_written(markdown):
    assert sorted(p.name for p in (markdown / "relu-networks").iterdir() if not p.name.startswith(".")) == ["answers.json", "figures", "solutions.md"]  # figures: the diagrams
    assert set(DRIVERS) == {"latex", "html", "markdown", "answers", "moodle", "qti", "rubric", "gradescope"}
    assert DEFAULT_FORMATS == [name for name in DRIVERS if name != "rubric"]  # the rubric's pdflatex run: on request


def test_markdown_math_is_dollar_delimited_and_every_formula_is_valid_latex(markdown):
    text = (markdown / "relu-networks" / "solutions.md").read_text()
    assert r"\(" not in text and r"\[" not in text and "align*" not in text
    displays = re.findall(r"^\$\$\n(.+?)\n\$\$$", text, re.S | re.M)
    inline = re.findall(r"(?<![$\\])\$([^$\n]+)\$(?!\$)", text)
    assert len(displays) > 10 and len(inline) > 20
    assert any(d.startswith(r"\begin{aligned}") for d in displays)
    for formula in displays + inline:
        assert "<math" in convert(formula)


def test_markdown_answers_table_has_every_answer_with_its_value(markdown):
    text = (markdown / "relu-networks" / "solutions.md").read_text()
    answers = json.loads((markdown / "relu-networks" / "answers.json").read_text())["problems"]
    rows = re.findall(r"^\| (\$.*\$) \| (\$.*\$) \|$", text, re.M)
    names = [a["name"] for p in answers for a in p["answers"]]
    assert len(rows) == len(names) and not any(f"`{name}`" in text for name in names)  # key names: instructors only
    # s1: one SGD step from w1 = -2 with eta = 0.5 and dL/dw1 = 12 gives -8
    step = dict(zip(names, (value for _, value in rows)))["sgd.step1.W1"]
    assert step == "$-8$"


def test_markdown_figures_are_svg_files_beside_the_page(markdown):
    folder = markdown / "relu-decision-regions"
    text = (folder / "solutions.md").read_text()
    links = re.findall(r"!\[[^\]]+\]\((figures/[A-Za-z0-9-]+\.svg)\)", text)
    assert links and all((folder / link).read_text().startswith("<svg") for link in links)


def test_problem_text_is_escaped_in_markdown(tmp_path):
    data = yaml.safe_load((ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml").read_text())
    data.update(title=HOSTILE, statement=HOSTILE)
    (tmp_path / "hostile.yaml").write_text(yaml.safe_dump(data))
    build.build([tmp_path / "hostile.yaml"], tmp_path / "out", formats=["markdown"])
    text = (tmp_path / "out" / "hostile" / "solutions.md").read_text()
    assert "<script>" not in text and "*this*" not in text and "[link](" not in text
    assert markdown_escape(SHOWN) in text
    assert re.sub(r"\\(.)", r"\1", markdown_escape(SHOWN)) == SHOWN


def test_markup_translates_bold_inline_display_and_aligned_lines():
    markup = r"**Loss.** With \( a = 1 \): \[ L = 2 \] then \begin{align*} x &= 1 \\ &= 2 \end{align*}"
    assert to_markdown(markup) == ("**Loss.** With $a = 1$:\n\n$$\nL = 2\n$$\n\nthen\n\n$$\n"
                                   "\\begin{aligned} x &= 1 \\\\ &= 2 \\end{aligned}\n$$")
