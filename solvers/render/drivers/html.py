"""One self-contained HTML page per document: styles inline, math as MathML made at build
time (latex2mathml), figures as inline SVG; no scripts, works offline."""
from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ... import cache
from .. import figures, markup, mathml
from . import Document, Driver, templates

MATHML_SHELF = "mathml"


@lru_cache(maxsize=65536)
def math_to_mathml(latex: str, display: bool = False) -> str:
    """MathML for LaTeX math, as browsers should show it (remembered in the process, as
    variants repeat most formulas, and in the cache's `mathml` shelf, as builds repeat them)."""
    entry = cache.key(MATHML_SHELF, latex, str(display))
    stored = cache.load(MATHML_SHELF, entry)
    if isinstance(stored, str):
        return stored
    shown = mathml.convert(latex, display)
    cache.store(MATHML_SHELF, entry, shown)
    return shown


def _text(text: str, style: markup.Style) -> str:
    text = html.escape(text)
    if style.italic:
        text = f"<em>{text}</em>"
    return f"<strong>{text}</strong>" if style.bold else text


WIDE_CHARACTERS = 24  # inline math showing more characters than this (or a matrix) may be wider than a phone


def _math(math: markup.Math) -> str:
    shown = math_to_mathml(math.latex.strip(), display=math.mode != "inline")
    if math.mode == "inline" and ("<mtable" in shown or len(html.unescape(re.sub(r"<[^>]+>", "", shown)))
                                  > WIDE_CHARACTERS):
        shown = shown.replace("<math", '<math class="wide"', 1)  # its own scroll box (see the page's style)
    return shown


SVG_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')
METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def inline_svg(svg: str) -> str:
    """An SVG file as HTML5 holds it inline: without its metadata block and namespace
    declarations (the HTML parser knows SVG), so the page names no address at all."""
    head, _, rest = svg.partition(">")
    return SVG_NAMESPACES.sub("", head) + ">" + METADATA.sub("", rest, count=1)


def _figure(svg: str, shown) -> str:
    """An inline SVG figure, described for screen readers by its alt text, numbered and
    captioned under it (a page that does not number its figures: just the SVG)."""
    svg = f'<div class="scroll">{svg}</div>'  # on a phone a figure keeps a readable size and scrolls
    if shown is None:
        return f'<figure class="plot">{svg}</figure>'
    caption = " ".join(markup.translate(shown.caption, _text, _math, lambda name: "")) if shown.caption else ""
    label = f' role="img" aria-label="{html.escape(shown.alt)}"' if shown.alt else ""
    return (f'<figure class="plot"{label}>{svg}<figcaption><strong>Figure {shown.number}.</strong>'
            f'{" " + caption if caption else ""}</figcaption></figure>')


def to_html(text: str, svgs: dict[str, str] | None = None, figures: dict | None = None) -> str:
    """Neutral markup as HTML with MathML; figures inline from `svgs` (name → SVG), with their
    numbers, captions and alt text from `figures` (name → prose.FigureText)."""
    blocks = markup.translate(text, _text, _math, lambda name: _figure((svgs or {})[name], (figures or {}).get(name)))
    return "\n".join(b if b.startswith(("<math", "<figure")) and b.endswith(("</math>", "</figure>"))
                     else f"<p>{b}</p>" for b in blocks)


def inline_html(text: str) -> str:
    """Markup of one line (a title) as HTML without a paragraph around it."""
    return " ".join(markup.translate(text, _text, _math, lambda name: ""))


def _environment() -> jinja2.Environment:
    env = templates("html", autoescape=True)
    env.filters["inline"] = lambda text: Markup(inline_html(text))
    env.filters["prose"] = jinja2.pass_context(lambda context, text: Markup(to_html(text, context["svgs"],
                                                                                            context.get("figures"))))
    env.filters["mathml"] = lambda tex: Markup(math_to_mathml(tex))
    return env


HTML = _environment()


class Html(Driver):
    name = "html"

    def render(self, document: Document) -> dict[str, str]:
        """solutions.html and instructor-key.html of the document."""
        svgs = {name: inline_svg(svg) for name, svg in self.figures(document, figures.to_svg).items()}
        template = HTML.get_template("solutions.html.j2")
        return {name: template.render(title=document.title, label=document.label, problems=document.problems,
                                      svgs=svgs, figures=self.figure_texts(document.problems),
                                      instructor=instructor) for name, instructor in PAGES.items()}

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        for document, pages in rendered:
            for name, page in pages.items():
                (self.own_folder(folder, document) / f"{name}.html").write_text(page, encoding="utf-8")
        return []


PAGES = {"solutions": False, "instructor-key": True}  # file name -> whether it is for instructors
