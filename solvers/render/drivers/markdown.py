"""Markdown for course sites and Jupyter: solutions.md per document, math as `$…$` and
`$$…$$` (aligned lines as `aligned` inside `$$`, which MathJax and KaTeX both read),
figures as SVG files in figures/ beside it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from .. import figures, markup
from . import Document, Driver, templates

SPECIALS = re.compile(r"([\\`*_{}\[\]<>#|$~])")
ALIGN = re.compile(r"\\begin\{align\*\}(.*)\\end\{align\*\}", re.DOTALL)


def markdown_escape(text: str) -> str:
    """Plain text as Markdown that shows exactly that text."""
    return SPECIALS.sub(r"\\\1", text)


def _text(text: str, style: markup.Style) -> str:
    mark = ("**" if style.bold else "") + ("*" if style.italic else "")
    core = text.strip()
    if not mark or not core:
        return markdown_escape(text)
    before, after = text[:len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    return f"{before}{mark}{markdown_escape(core)}{mark[::-1]}{after}"


def _math(math: markup.Math) -> str:
    latex = math.latex.strip()
    if math.mode == "inline":
        return f"${latex}$"
    if math.mode == "align":
        latex = r"\begin{aligned} " + ALIGN.fullmatch(latex).group(1).strip() + r" \end{aligned}"
    return f"\n$$\n{latex}\n$$\n"


def _figure(name: str, shown) -> str:
    """figures/NAME.svg with its alt text, and its number and caption under it."""
    if shown is None:
        return f"![Figure](figures/{name}.svg)"
    caption = " ".join(markup.translate(shown.caption, _text, _math, lambda n: "")) if shown.caption else ""
    alt = markdown_escape(shown.alt or f"Figure {shown.number}")
    return f"![{alt}](figures/{name}.svg)\n\n**Figure {shown.number}.**{' ' + caption if caption else ''}"


def to_markdown(text: str, figures: dict | None = None) -> str:
    """Neutral markup as Markdown (a figure is figures/NAME.svg beside the file, with its
    number and caption from `figures`, name → prose.FigureText)."""
    blocks = markup.translate(text, _text, _math, lambda name: _figure(name, (figures or {}).get(name)))
    return "\n\n".join(block.strip() for block in blocks)


def table_math(latex: str) -> str:
    """Math for a table cell: a `|` would end the cell."""
    return "$" + latex.replace("|", r"\vert ") + "$"


def _environment() -> jinja2.Environment:
    env = templates("markdown", autoescape=False, keep_trailing_newline=True)
    env.filters.update(prose=jinja2.pass_context(lambda context, text: to_markdown(text, context.get("figures"))),
                       md=markdown_escape, cell=table_math)
    return env


MARKDOWN = _environment()


class Markdown(Driver):
    name = "markdown"

    def render(self, document: Document) -> dict[str, Any]:
        drawn = self.figures(document, figures.to_svg)
        text = MARKDOWN.get_template("solutions.md.j2").render(title=document.title, label=document.label,
                                                               problems=document.problems,
                                                               figures=self.figure_texts(document.problems))
        return {"text": re.sub(r"\n{3,}", "\n\n", text), "figures": drawn}

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        for document, output in rendered:
            own = self.own_folder(folder, document)
            (own / "solutions.md").write_text(output["text"], encoding="utf-8")
            for name, svg in output["figures"].items():
                (own / "figures").mkdir(exist_ok=True)
                (own / "figures" / f"{name}.svg").write_text(svg, encoding="utf-8")
        return []
