"""The neutral markup that prose templates write, and its two translations.

Prose templates (templates/prose/*.j2) produce plain text with math in it:
- `\\( ... \\)` inline math, `\\[ ... \\]` display math, `\\begin{align*} ... \\end{align*}`
  a display of aligned lines; the math is LaTeX made by `MathPrinter`;
- `**...**` bold text; a blank line ends a paragraph.
Everything else is text, escaped for the output format. `to_latex` keeps the math as it is;
`to_html` turns it into MathML at build time (no JavaScript, works offline).
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

from latex2mathml.converter import convert as latex_to_mathml

MATH = re.compile(r"\\\((?P<inline>.+?)\\\)|\\\[(?P<display>.+?)\\\]|(?P<align>\\begin\{align\*\}.+?\\end\{align\*\})",
                  re.DOTALL)
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
FIGURE = re.compile(r"\[\[figure ([A-Za-z0-9-]+)\]\]")

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
# Characters outside pdflatex's default encoding that problem text may use.
UNICODE_TEXT = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon", "η": r"\eta",
    "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "π": r"\pi", "σ": r"\sigma", "τ": r"\tau",
    "φ": r"\phi", "ω": r"\omega", "Δ": r"\Delta", "Σ": r"\Sigma", "∂": r"\partial", "∇": r"\nabla",
    "×": r"\times", "·": r"\cdot", "−": "-", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx",
    "→": r"\rightarrow", "←": r"\leftarrow", "∈": r"\in", "∑": r"\sum", "⊙": r"\odot", "ᵀ": r"^{\top}",
    "²": "^{2}", "³": "^{3}", "½": r"\tfrac{1}{2}", "…": r"\ldots", "′": "'", "∞": r"\infty",
    "⌊": r"\lfloor", "⌋": r"\rfloor", "√": r"\surd", "±": r"\pm", "∘": r"\circ", "⊤": r"\top",
    **{chr(0x2080 + d): f"_{{{d}}}" for d in range(10)},
}
TYPOGRAPHY = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "\u00a0": "~", "é": r"\'e",
              "è": r"\`e", "ä": r'\"a', "ö": r'\"o', "ü": r'\"u', "ß": r"\ss{}", "ł": r"\l{}", "ó": r"\'o"}
TYPESETTABLE = set(UNICODE_TEXT) | set(TYPOGRAPHY)


def untypesettable(text: str) -> list[str]:
    """Characters of `text` that the LaTeX output cannot show."""
    return sorted({c for c in text if ord(c) > 126 and c not in TYPESETTABLE} |
                  {c for c in text if ord(c) < 32 and c not in "\n\t\r"})


def latex_escape(text: str) -> str:
    """Plain text as LaTeX that prints exactly that text (nothing in it is a command)."""
    out = []
    for c in text:
        if c in LATEX_SPECIALS:
            out.append(LATEX_SPECIALS[c])
        elif c in UNICODE_TEXT:
            out.append(r"\ensuremath{" + UNICODE_TEXT[c] + "}")
        elif c in TYPOGRAPHY:
            out.append(TYPOGRAPHY[c])
        else:
            out.append(c)
    return "".join(out)


def paragraphs(text: str) -> list[str]:
    """Blank-line-separated paragraphs, with inner line breaks folded."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def figure_token(filename: str) -> str:
    """The markup for a figure, a block of its own: `[[figure NAME]]` (NAME without extension)."""
    return f"\n\n[[figure {filename}]]\n\n"


def to_latex(markup: str) -> str:
    """Neutral markup as LaTeX (a figure is figures/NAME.pdf beside the document)."""
    out = []
    for block in _blocks(markup):
        figure = FIGURE.fullmatch(block)
        out.append(rf"\begin{{center}}\includegraphics[width=0.7\linewidth]{{figures/{figure.group(1)}.pdf}}\end{{center}}"
                   if figure else _translate(block, _latex_text, _latex_math))
    return "\n\n".join(out)


def to_html(markup: str, svgs: dict[str, str] | None = None) -> str:
    """Neutral markup as HTML with MathML; figures inline from `svgs` (name → SVG)."""
    out = []
    for block in _blocks(markup):
        figure = FIGURE.fullmatch(block)
        if figure:
            out.append(f'<figure class="plot">{(svgs or {})[figure.group(1)]}</figure>')
            continue
        body = _translate(block, _html_text, _html_math)
        out.append(body if body.startswith("<math") and body.endswith("</math>") else f"<p>{body}</p>")
    return "\n".join(out)


@lru_cache(maxsize=65536)
def math_to_mathml(latex: str, display: bool = False) -> str:
    """MathML for LaTeX math (cached: variants repeat most formulas)."""
    return latex_to_mathml(latex, display="block" if display else "inline")


def _blocks(markup: str) -> list[str]:
    """Paragraphs; a display is its own block even without blank lines around it."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", markup.strip()):
        position = 0
        for match in MATH.finditer(paragraph):
            if match.group("inline") is None:
                blocks.append(paragraph[position:match.start()])
                blocks.append(match.group(0))
                position = match.end()
        blocks.append(paragraph[position:])
    return [b.strip() for b in blocks if b.strip()]


def _translate(block: str, text, math) -> str:
    out, position = [], 0
    for match in MATH.finditer(block):
        out.append(text(block[position:match.start()]))
        out.append(math(match))
        position = match.end()
    out.append(text(block[position:]))
    return "".join(out).strip()


def _latex_text(text: str) -> str:
    parts = BOLD.split(re.sub(r"\s+", " ", text))
    return "".join(latex_escape(p) if i % 2 == 0 else r"\textbf{" + latex_escape(p) + "}"
                   for i, p in enumerate(parts))


def _latex_math(match: re.Match) -> str:
    if match.group("inline") is not None:
        return r"\(" + match.group("inline") + r"\)"
    if match.group("display") is not None:
        return r"\[" + match.group("display") + r"\]"
    return match.group("align")


def _html_text(text: str) -> str:
    parts = BOLD.split(re.sub(r"\s+", " ", text))
    return "".join(html.escape(p) if i % 2 == 0 else "<strong>" + html.escape(p) + "</strong>"
                   for i, p in enumerate(parts))


def _html_math(match: re.Match) -> str:
    if match.group("inline") is not None:
        return math_to_mathml(match.group("inline").strip())
    body = match.group("display") if match.group("display") is not None else match.group("align")
    return math_to_mathml(body.strip(), display=True)
