"""The characters problem text may use beyond ASCII, and how LaTeX writes each.

Problem files are checked against these tables when they are read (a character the PDF
cannot show is a clear error, not a pdflatex failure); the LaTeX translation uses the same
tables, so what is accepted is exactly what can be typeset.
"""
from __future__ import annotations

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
"""Characters written in LaTeX math mode."""

TYPOGRAPHY = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "\u00a0": "~", "é": r"\'e",
              "è": r"\`e", "ä": r'\"a', "ö": r'\"o', "ü": r'\"u', "ß": r"\ss{}", "ł": r"\l{}", "ó": r"\'o"}
"""Characters written in LaTeX text mode."""

TYPESETTABLE = set(UNICODE_TEXT) | set(TYPOGRAPHY)


def untypesettable(text: str) -> list[str]:
    """Characters of `text` that the LaTeX output cannot show."""
    return sorted({c for c in text if ord(c) > 126 and c not in TYPESETTABLE} |
                  {c for c in text if ord(c) < 32 and c not in "\n\t\r"})
