"""Problem text with math and emphasis: the whitelist, the errors, and the same text in every format."""
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import authored
from solvers.authored import AuthoredError, segments
from solvers.render import markup
from solvers.render.drivers.html import inline_html, math_to_mathml, to_html
from solvers.render.drivers.latex import to_latex
from solvers.render.drivers.markdown import to_markdown


@pytest.mark.parametrize("text, fragment", [
    (r"$\input{/etc/passwd}$", r"\input"),
    (r"$\write18{rm -rf /}$", r"\write"),
    (r"$\catcode`\^=7$", r"\catcode"),
    (r"$\def\x{1}$", r"\def"),
    (r"$\newcommand{\x}{1}$", r"\newcommand"),
    (r"$\immediate$", r"\immediate"),
    (r"$\csname input\endcsname$", r"\csname"),
    (r"$^^5cinput$", "^^"),
    (r"$x % comment$", "comment out"),
    (r"$#1$", "macro parameter"),
    (r"${x$", "without its }"),
    (r"$x}$", "without its {"),
    (r"$\begin{verbatim}x\end{verbatim}$", "environment verbatim"),
    (r"$\begin{bmatrix}1$", "never ended"),
    (r"$\text{\input{x}}$", "plain words"),
    (r"$a & b$", "outside a matrix"),
    (r"$x", "never closed"),
    (r"$$$$", "empty math"),
    ("$x \\\ny$", "may not use"),
    (r"$a \\] b$", r"\\]"),
    (r"\input{x}", "backslash outside math"),
    (r"**bold", "opened but not closed"),
    (r"2 * 3", "opened but not closed"),
    ("*a\n\nb*", "paragraph"),
    ("$x\n\ny$", "blank line"),
    ("$x ☃$", "U+2603"),
    # malformed structure, which LaTeX or the MathML converter cannot read
    (r"$x^1^2$", "two superscripts"),
    (r"$x_1_2$", "two subscripts"),
    (r"$x^$", "no superscript"),
    (r"$\sum_$", "no subscript"),
    (r"$x^\quad$", "no superscript"),
    (r"$x^\begin{matrix}1\end{matrix}$", "no superscript"),
    (r"$\frac$", r"\frac with no arguments"),
    (r"$\frac{1}$", r"\frac with too few arguments"),
    (r"$\binom{1}$", r"\binom with too few"),
    (r"$\left( x$", r"a \left has no \right"),
    (r"$x \right)$", r"a \left has no \right"),
    (r"$\left( x \right$", r"\right without a delimiter"),
    (r"$\left\left( x \right)$", r"\left without a delimiter"),
    (r"$\big x$", r"\big without a delimiter"),
    (r"$x\limits^2$", r"\limits after something that is not an operator"),
    (r"$\frac12\limits$", r"\limits after something"),
    (r"$x^\sqrt{2}$", "no superscript of its own"),
    (r"$x_\hat{a}$", "no subscript of its own"),
    (r"$\begin{cases} a & b & c \end{cases}$", "more than one &"),
])
def test_what_problem_text_may_not_do_is_an_error_naming_it(text, fragment):
    with pytest.raises(AuthoredError) as error:
        segments(text)
    assert fragment in str(error.value)


def test_a_bad_statement_is_a_problem_error_naming_the_field(load_error):
    error = load_error({"kind": "activation", "title": "t", "functions": ["relu"],
                        "statement": r"Compute $\input{/etc/passwd}$."})
    assert error.field == "statement" and r"\input" in error.message


@pytest.mark.parametrize("math", [r"\begin{cases} a \& b & x > 0 \end{cases}", r"\left/ x \right\backslash",
                                  r"x^\frac12", r"x^\mathbf{a}", r"\sum\limits_{i} x_i", r"x^{\sqrt{2}}"])
def test_well_formed_math_that_looks_odd_is_accepted(math):
    assert authored.check_math(math) == math


def test_a_statement_whose_math_is_malformed_is_an_error_at_read_time_naming_the_field(load_error):
    error = load_error({"kind": "activation", "title": "t", "functions": ["relu"], "statement": r"Let $x^1^2$."})
    assert error.field == "statement" and "two superscripts" in error.message


def test_an_instructor_note_is_checked_like_any_text(load_error):
    error = load_error({"kind": "activation", "title": "t", "functions": ["relu"], "instructor_notes": "$x"})
    assert error.field == "instructor_notes" and "never closed" in error.message


def test_segments_carry_math_and_emphasis():
    found = segments(r"The **loss $L$ is** *small*: $$\frac{1}{2}(a - y)^2$$ costs \$5 \* 2 \\ not more.")
    assert [(s.kind, s.content, s.bold, s.italic) for s in found] == [
        ("text", "The ", False, False), ("text", "loss ", True, False), ("inline", "L", False, False),
        ("text", " is", True, False), ("text", " ", False, False), ("text", "small", False, True),
        ("text", ": ", False, False), ("display", r"\frac{1}{2}(a - y)^2", False, False),
        ("text", r" costs $5 * 2 \ not more.", False, False)]


def test_unicode_in_math_becomes_commands():
    assert authored.check_math("σ(z) ≤ 1") == r"\sigma (z) \leq  1"
    assert authored.check_math("xᵀ") == r"x^{\top}"


MATH = r"$\frac{\partial L}{\partial w_{j}} = \sum_{i} y_i \ln g_i$"


def test_bold_around_math_is_bold_text_with_the_math_in_place():
    text = markup.from_authored("**the value " + MATH + " here**")
    assert to_latex(text).startswith(r"\textbf{the value }\(\frac")
    assert to_latex(text).endswith(r"\)\textbf{ here}")
    html = to_html(text)
    assert html.startswith("<p><strong>the value </strong><math") and html.endswith("<strong> here</strong></p>")
    assert "**" not in to_latex(text) + html


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list("ab *\\$[]()_^{}%#&~<>`'-\n") + ["**", "[[figure x]]", r"\(", r"\["]),
                max_size=20).map("".join))
def test_literal_text_shows_exactly_itself_in_every_format(text):
    """Whatever an author writes as escaped literal text comes out as that text, never as markup."""
    written = text.replace("\\", "\\\\").replace("$", "\\$").replace("*", "\\*")
    shown = markup.from_authored(written)
    blocks = markup.blocks(shown)
    folded = " ".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())
    html = " ".join(to_html(shown).replace("<p>", "").replace("</p>", "").split("\n"))
    import html as html_module
    assert html_module.unescape(html) == folded or not folded
    assert all(not markup.FIGURE.fullmatch(b) for b in blocks)
    assert "<math" not in to_html(shown) and r"\(" not in to_latex(shown).replace(r"\textbackslash{}(", "")
    assert "$" not in to_markdown(shown).replace(r"\$", "")


LIMITS = {"limits", "nolimits"}  # only after an operator
EVERY_COMMAND = [rf"\{name}" for name in authored.GREEK + authored.SYMBOLS + authored.OPERATORS if name not in LIMITS] + [
    r"\sum\limits_{i} x_i", r"\sum\nolimits_{i} x_i",
    r"\frac{a}{b}", r"\dfrac{a}{b}", r"\tfrac{a}{b}", r"\binom{n}{k}", r"\sqrt{x}", r"\hat{x}", r"\bar{x}",
    r"\tilde{x}", r"\vec{x}", r"\dot{x}", r"\ddot{x}", r"\overline{x}", r"\underline{x}", r"\mathbf{x}",
    r"\boldsymbol{x}", r"\mathrm{d}", r"\mathit{x}", r"\mathcal{L}", r"\mathbb{R}", r"\operatorname{ReLU}",
    r"\text{if } x", r"\textbf{bold}", r"\textit{it}", r"\left( x \right)", r"\big( x \big)", r"\Big[ x \Big]",
    r"\bigg| x \bigg|", r"\Bigg\{ x \Bigg\}", r"\bigl( x \bigr)", r"\Bigl( x \Bigr)", r"a \, b \; c \: d \! e \ f",
    r"\{ x \}", r"\| x \|", r"50\%", r"\#", r"\&", r"\$", r"\_", r"\begin{matrix} 1 & 2 \\ 3 & 4 \end{matrix}",
    r"\begin{pmatrix} 1 \end{pmatrix}", r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}", r"\begin{vmatrix} 1 \end{vmatrix}",
    r"\begin{Bmatrix} 1 \end{Bmatrix}", r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}",
]


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_every_allowed_command_makes_mathml(command):
    assert authored.check_math(command) == command
    assert math_to_mathml(command).startswith("<math")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_every_allowed_command_compiles_in_the_pdf(tmp_path):
    """Every whitelisted command is one the LaTeX document defines: one document with them all."""
    body = "\n\n".join(to_latex(markup.from_authored(f"${c}$ and $${c}$$")) for c in EVERY_COMMAND)
    (tmp_path / "all.tex").write_text(r"\documentclass{article}\usepackage{amsmath,amssymb}\begin{document}"
                                      + body + r"\end{document}")
    run = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "all.tex"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]


def test_a_title_is_one_line_of_html():
    assert inline_html(markup.from_authored("The *loss* $L$")) .startswith("The <em>loss</em> <math")
