"""Rendering solved problems to LaTeX and HTML documents, and the answer key to JSON.

Two stages, as in R/exams: prose templates (templates/prose/, one macro per step,
question, convention or given kind) turn each solution into neutral markup
(`solvers.render.markup`); a thin driver per output format wraps that markup in a
document template (templates/latex/, templates/html/). The renderers know formula nodes
and step kinds, never networks.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import formula as F
from ..solution import Solution
from . import figures, markup
from .printer import MathPrinter

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


class RenderError(Exception):
    """A solution that the templates cannot render (a missing template is our bug)."""


class MathContext:
    """What prose templates call as `m`: formulas printed symbolically or with the
    solution's numbers, and the usual chains of equalities."""

    def __init__(self, values: dict, digits: int, figure_prefix: str = "fig"):
        self.values, self.printer = values, MathPrinter({"digits": digits})
        self.figure_prefix, self.figures_used = figure_prefix, {}

    def figure(self, figure) -> str:
        """The markup that places a figure of the solution (drawn when the document is written)."""
        filename = re.sub(r"[^A-Za-z0-9-]", "-", f"{self.figure_prefix}-{figure.name}")
        self.figures_used[filename] = figure
        return markup.figure_token(filename)

    def tex(self, node) -> str:
        """LaTeX of a node (a formula, a SymPy expression, a quantity, a number) as written."""
        return self.printer.doprint(_node(node))

    def num(self, node) -> str:
        """LaTeX of a node with every known quantity replaced by its value."""
        node = _node(node)
        return self.printer.doprint(F.substitute(node, self.values) if isinstance(node, F.Node) else node)

    def value(self, node):
        """The numeric value of a quantity (for prose that depends on it, e.g. true/false)."""
        return self.values[_node(node).key]

    def chain(self, lhs, *forms) -> str:
        """`lhs = form₁ = form₂ …` as one display, forms that print alike shown once."""
        texts = []
        for form in forms:
            text = form if isinstance(form, str) else self.tex(form)
            if text not in texts[-1:]:
                texts.append(text)
        left = lhs if isinstance(lhs, str) else self.tex(lhs)
        if len(texts) == 1:
            return rf"\[ {left} = {texts[0]} \]"
        body = r" \\ ".join(("" if i else left) + f" &= {t}" for i, t in enumerate(texts))
        return r"\begin{align*} " + body + r" \end{align*}"

    def derivation(self, step) -> str:
        """target = formula = formula with numbers = value."""
        return self.chain(step.target.symbol, step.formula, self.num(step.formula), self.num(step.target))

    def entries(self, step, symbolic_first: bool = True) -> str:
        """Each part: entry = its formula with numbers = its value, a line each; with
        `symbolic_first` the first entry's formula as written comes on a line before."""
        rows = []
        for i, (lhs, form) in enumerate(step.parts):
            numbers = [self.num(form), self.num(lhs)]
            numbers = " = ".join(f for j, f in enumerate(numbers) if f not in numbers[:j])
            if i == 0 and symbolic_first and self.tex(form) != self.num(form):
                rows += [f"{self.tex(lhs)} &= {self.tex(form)}", f"&= {numbers}"]
            else:
                rows.append(f"{self.tex(lhs)} &= {numbers}")
        return r"\begin{align*} " + r" \\ ".join(rows) + r" \end{align*}"


def _answer_value(m: MathContext, answer) -> str:
    if answer.boolean:
        return r"\text{true}" if answer.value.reshape(-1)[0] else r"\text{false}"
    return m.tex(F.grid(answer.value))


def _node(thing):
    """A quantity's symbol, a number's Num, anything else as it is."""
    if isinstance(thing, (int, float)) and not isinstance(thing, bool):
        return F.Num(float(thing))
    return getattr(thing, "symbol", thing)


@dataclass
class RenderedProblem:
    """One problem as neutral markup, ready for either output format."""
    name: str
    title: str
    statement: list[str]
    notes: list[str]
    givens: list[str]
    questions: list[str]
    conventions: list[str]
    sections: list[tuple[str, list[str]]]
    answers: list[tuple[str, str, str]]
    closing: list[str] = field(default_factory=list)
    figures: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # name → (PDF, SVG)


def _prose_environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "prose"), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True)


PROSE = _prose_environment()


CATEGORIES = ("givens", "questions", "conventions", "steps", "sections", "closing")


def _libraries(kind: str, m: MathContext) -> dict[str, list]:
    """Per category, the prose libraries to search: the kind's own folder
    (templates/prose/<kind>/<category>.j2) first, then the shared file."""
    found = {}
    for what in CATEGORIES:
        names = [f"{kind}/{what}.j2", f"{what}.j2"]
        found[what] = [(name, PROSE.get_template(name).make_module({"m": m}))
                       for name in names if (TEMPLATES / "prose" / name).exists()]
    return found


def prepare(solution: Solution, figure_prefix: str = "fig") -> RenderedProblem:
    """The neutral-markup version of a solution, its figures drawn as PDF and SVG."""
    m = MathContext(solution.values, solution.digits, f"{figure_prefix}-{solution.name}")
    libraries = _libraries(solution.kind, m)

    def render(what: str, item) -> str:
        for _, library in libraries[what]:
            macro = getattr(library, item.kind, None)
            if macro is not None:
                return str(macro(item)).strip()
        searched = ", ".join(f"templates/prose/{name}" for name, _ in libraries[what])
        raise RenderError(f"no prose macro {item.kind!r} in {searched}")

    sections = [(render("sections", section), [render("steps", step) for step in section.steps])
                for section in solution.derivation.sections]
    answers = [(answer.name, m.tex(answer.label), _answer_value(m, answer)) for answer in solution.answers]
    rendered = RenderedProblem(solution.name, solution.title, markup.paragraphs(solution.statement),
                               markup.paragraphs(solution.notes), [render("givens", g) for g in solution.givens],
                               [render("questions", q) for q in solution.questions],
                               [render("conventions", c) for c in solution.conventions], sections, answers,
                               closing=[render("closing", c) for c in solution.closing])
    rendered.figures = {name: (figures.to_pdf(f), figures.to_svg(f)) for name, f in m.figures_used.items()}
    return rendered


def _latex_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "latex"), undefined=jinja2.StrictUndefined,
        block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["tex"] = markup.latex_escape
    env.filters["prose"] = markup.to_latex
    return env


def _html_environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "html"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, autoescape=True)
    env.filters["prose"] = jinja2.pass_context(lambda context, text: Markup(markup.to_html(text, context["svgs"])))
    env.filters["mathml"] = lambda tex: Markup(markup.math_to_mathml(tex))
    return env


LATEX, HTML = _latex_environment(), _html_environment()


@dataclass
class RenderedVariant:
    """One variant of a sheet: its label (none for a sheet without variants) and problems."""
    label: str | None
    problems: list[RenderedProblem]


def render_latex(template: str, title: str, variants: list[RenderedVariant]) -> str:
    """A LaTeX document of one or more variants, each starting on a new page."""
    return LATEX.get_template(template).render(title=title, variants=variants)


def render_html(title: str, variant: RenderedVariant) -> str:
    svgs = {name: svg for p in variant.problems for name, (_, svg) in p.figures.items()}
    return HTML.get_template("solutions.html.j2").render(title=title, label=variant.label,
                                                         problems=variant.problems, svgs=svgs)


def answers_of(solutions: list[Solution]) -> list[dict[str, Any]]:
    """Per problem, each answer's stable name, value and grading tolerance."""
    return [{"problem": s.name, "title": s.title, "answers": [a.as_json(s.digits) for a in s.answers]}
            for s in solutions]


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
