"""The neutral markup that prose templates write, and the walk every driver translates it by.

Prose templates produce plain text with math in it:
- `\\( ... \\)` inline math, `\\[ ... \\]` display math, `\\begin{align*} ... \\end{align*}`
  a display of aligned lines; the math is LaTeX made by `MathPrinter`;
- `**...**` bold text, `*...*` italic text (also around math); a blank line ends a paragraph;
- `[[figure NAME]]`, a block of its own: a figure of the solution.
Everything else is text, which each output format escapes in its own way. A driver
translates markup with `translate`, giving one function for text (with its emphasis), one
for math and one for a figure. Problem text (`solvers.authored`) becomes markup through
`from_authored`, its text pieces made `literal` so that nothing in them reads as markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from ..authored import segments

MATH = re.compile(r"\\\((?P<inline>.+?)\\\)|\\\[(?P<display>.+?)\\\]|(?P<align>\\begin\{align\*\}.+?\\end\{align\*\})",
                  re.DOTALL)
EMPHASIS = re.compile(r"\*\*|\*")
FIGURE = re.compile(r"\[\[figure ([A-Za-z0-9-]+)\]\]")


class RenderError(Exception):
    """A solution that the templates cannot render (a missing macro is our bug)."""


@dataclass(frozen=True)
class Math:
    """One piece of math: its LaTeX and how it is set (inline, display or align, the last
    with `align` holding the whole `\\begin{align*} ... \\end{align*}`)."""
    latex: str
    mode: str


def figure_token(filename: str) -> str:
    """The markup for a figure, a block of its own: `[[figure NAME]]` (NAME without extension)."""
    return f"\n\n[[figure {filename}]]\n\n"


@dataclass(frozen=True)
class Style:
    """The emphasis a piece of text is set in."""
    bold: bool = False
    italic: bool = False


LITERAL = {"\\": "\ue000b", "*": "\ue000s", "[": "\ue000l"}
"""Characters of literal text written as private-use tokens (problem text cannot contain
private-use characters), so that no `\\(`, `**` or `[[figure` in it is read as markup."""


def literal(text: str) -> str:
    """Markup that shows exactly `text`."""
    return "".join(LITERAL.get(c, c) for c in text)


def _shown(text: str) -> str:
    for character, token in LITERAL.items():
        text = text.replace(token, character)
    return text


def from_authored(text: str) -> str:
    """Problem text (checked when the file was read) as markup."""
    out, style = [], Style()
    for segment in segments(text):
        if segment.kind != "text":
            out.append(r"\(" + segment.content + r"\)" if segment.kind == "inline"
                       else "\n\n\\[" + segment.content + "\\]\n\n")
            continue
        out.append(("**" if segment.bold != style.bold else "") + ("*" if segment.italic != style.italic else ""))
        style = Style(segment.bold, segment.italic)
        out.append(literal(segment.content))
    out.append(("**" if style.bold else "") + ("*" if style.italic else ""))
    return "".join(out)


def styled_parts(text: str, style: Style = Style()) -> tuple[list[tuple[str, Style]], Style]:
    """Text (inner whitespace folded) cut into (piece, its style) parts, starting in `style`;
    also the style in force at its end."""
    parts = []
    position = 0
    text = re.sub(r"\s+", " ", text)
    for match in EMPHASIS.finditer(text):
        parts.append((_shown(text[position:match.start()]), style))
        style = Style(not style.bold, style.italic) if match.group(0) == "**" else Style(style.bold, not style.italic)
        position = match.end()
    parts.append((_shown(text[position:]), style))
    return [(piece, s) for piece, s in parts if piece], style


def translate(markup: str, text: Callable[[str, Style], str], math: Callable[[Math], str],
              figure: Callable[[str], str]) -> list[str]:
    """Each block of `markup` (a paragraph, a display or a figure) in an output format;
    `text` is called for each piece of text with its emphasis."""
    return [figure(block.name) if isinstance(block, FigureBlock) else
            "".join(math(piece) if isinstance(piece, Math) else text(*piece) for piece in block).strip()
            for block in parse(markup)]


@dataclass(frozen=True)
class FigureBlock:
    """A figure's block: `[[figure NAME]]`."""
    name: str


@lru_cache(maxsize=8192)
def parse(markup: str) -> tuple[FigureBlock | tuple[tuple[str, Style] | Math, ...], ...]:
    """Each block of `markup`: a figure, or its pieces in order, text with its emphasis and
    math. Remembered: every format translates the same texts."""
    out = []
    for block in blocks(markup):
        found = FIGURE.fullmatch(block)
        if found:
            out.append(FigureBlock(found.group(1)))
            continue
        pieces, position, style = [], 0, Style()
        for match in list(MATH.finditer(block)) + [None]:
            parts, style = styled_parts(block[position:match.start() if match else len(block)], style)
            pieces.extend(parts)
            if match:
                pieces.append(_math(match))
                position = match.end()
        out.append(tuple(pieces))
    return tuple(out)


def blocks(markup: str) -> list[str]:
    """Paragraphs; a display is its own block even without blank lines around it."""
    found = []
    for paragraph in re.split(r"\n\s*\n", markup.strip()):
        position = 0
        for match in MATH.finditer(paragraph):
            if match.group("inline") is None:
                found.append(paragraph[position:match.start()])
                found.append(match.group(0))
                position = match.end()
        found.append(paragraph[position:])
    return [b.strip() for b in found if b.strip()]


def _math(match: re.Match) -> Math:
    for mode in ("inline", "display", "align"):
        if match.group(mode) is not None:
            return Math(match.group(mode), mode)
    raise AssertionError("MATH matched nothing")
