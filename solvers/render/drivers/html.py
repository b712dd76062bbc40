"""One self-contained HTML page per document: styles inline, math as MathML made at build
time (latex2mathml), figures as inline SVG; no scripts, works offline."""
from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import figures, markup
from . import Document, Driver, templates


@lru_cache(maxsize=65536)
def math_to_mathml(latex: str, display: bool = False) -> str:
    """MathML for LaTeX math (cached: variants repeat most formulas)."""
    from latex2mathml.converter import convert as latex_to_mathml
    return latex_to_mathml(latex, display="block" if display else "inline")


def _text(text: str) -> str:
    return "".join("<strong>" + html.escape(p) + "</strong>" if bold else html.escape(p)
                   for p, bold in markup.bold_parts(text))


def _math(math: markup.Math) -> str:
    return math_to_mathml(math.latex.strip(), display=math.mode != "inline")


def to_html(text: str, svgs: dict[str, str] | None = None) -> str:
    """Neutral markup as HTML with MathML; figures inline from `svgs` (name → SVG)."""
    blocks = markup.translate(text, _text, _math, lambda name: f'<figure class="plot">{(svgs or {})[name]}</figure>')
    return "\n".join(b if b.startswith(("<math", "<figure")) and b.endswith(("</math>", "</figure>"))
                     else f"<p>{b}</p>" for b in blocks)


def _environment() -> jinja2.Environment:
    env = templates("html", autoescape=True)
    env.filters["prose"] = jinja2.pass_context(lambda context, text: Markup(to_html(text, context["svgs"])))
    env.filters["mathml"] = lambda tex: Markup(math_to_mathml(tex))
    return env


HTML = _environment()


class Html(Driver):
    name = "html"

    def render(self, document: Document) -> str:
        svgs = self.figures(document, figures.to_svg)
        return HTML.get_template("solutions.html.j2").render(title=document.title, label=document.label,
                                                             problems=document.problems, svgs=svgs)

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        for document, page in rendered:
            (self.own_folder(folder, document) / "solutions.html").write_text(page, encoding="utf-8")
        return []
