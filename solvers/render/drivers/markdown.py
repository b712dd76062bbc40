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


def to_markdown(text: str) -> str:
    """Neutral markup as Markdown (a figure is figures/NAME.svg beside the file)."""
    blocks = markup.translate(text, _text, _math, lambda name: f"![Figure](figures/{name}.svg)")
    return "\n\n".join(block.strip() for block in blocks)


def table_math(latex: str) -> str:
    """Math for a table cell: a `|` would end the cell."""
    return "$" + latex.replace("|", r"\vert ") + "$"


def _environment() -> jinja2.Environment:
    env = templates("markdown", autoescape=False, keep_trailing_newline=True)
    env.filters.update(prose=to_markdown, md=markdown_escape, cell=table_math)
    return env


MARKDOWN = _environment()


class Markdown(Driver):
    name = "markdown"

    def render(self, document: Document) -> dict[str, Any]:
        drawn = self.figures(document, figures.to_svg)
        text = MARKDOWN.get_template("solutions.md.j2").render(title=document.title, label=document.label,
                                                               problems=document.problems)
        return {"text": re.sub(r"\n{3,}", "\n\n", text), "figures": drawn}

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        for document, output in rendered:
            own = self.own_folder(folder, document)
            (own / "solutions.md").write_text(output["text"], encoding="utf-8")
            for name, svg in output["figures"].items():
                (own / "figures").mkdir(exist_ok=True)
                (own / "figures" / f"{name}.svg").write_text(svg, encoding="utf-8")
        return []
