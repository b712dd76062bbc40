"""The neutral markup that prose templates write, and the walk every driver translates it by.

Prose templates produce plain text with math in it:
- `\\( ... \\)` inline math, `\\[ ... \\]` display math, `\\begin{align*} ... \\end{align*}`
  a display of aligned lines; the math is LaTeX made by `MathPrinter`;
- `**...**` bold text; a blank line ends a paragraph;
- `[[figure NAME]]`, a block of its own: a figure of the solution.
Everything else is text, which each output format escapes in its own way. A driver
translates markup with `translate`, giving one function for text, one for math and one for
a figure; problem text (titles, statements) never passes through markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

MATH = re.compile(r"\\\((?P<inline>.+?)\\\)|\\\[(?P<display>.+?)\\\]|(?P<align>\\begin\{align\*\}.+?\\end\{align\*\})",
                  re.DOTALL)
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
FIGURE = re.compile(r"\[\[figure ([A-Za-z0-9-]+)\]\]")


class RenderError(Exception):
    """A solution that the templates cannot render (a missing macro is our bug)."""


@dataclass(frozen=True)
class Math:
    """One piece of math: its LaTeX and how it is set (inline, display or align, the last
    with `align` holding the whole `\\begin{align*} ... \\end{align*}`)."""
    latex: str
    mode: str


def paragraphs(text: str) -> list[str]:
    """Blank-line-separated paragraphs, with inner line breaks folded."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def figure_token(filename: str) -> str:
    """The markup for a figure, a block of its own: `[[figure NAME]]` (NAME without extension)."""
    return f"\n\n[[figure {filename}]]\n\n"


def bold_parts(text: str) -> list[tuple[str, bool]]:
    """Text (inner whitespace folded) cut into (piece, is bold) parts."""
    parts = BOLD.split(re.sub(r"\s+", " ", text))
    return [(p, i % 2 == 1) for i, p in enumerate(parts)]


def translate(markup: str, text: Callable[[str], str], math: Callable[[Math], str],
              figure: Callable[[str], str]) -> list[str]:
    """Each block of `markup` (a paragraph, a display or a figure) in an output format."""
    out = []
    for block in blocks(markup):
        found = FIGURE.fullmatch(block)
        if found:
            out.append(figure(found.group(1)))
            continue
        pieces, position = [], 0
        for match in MATH.finditer(block):
            pieces.append(text(block[position:match.start()]))
            pieces.append(math(_math(match)))
            position = match.end()
        pieces.append(text(block[position:]))
        out.append("".join(pieces).strip())
    return out


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
