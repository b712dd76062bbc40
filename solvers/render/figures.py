"""Figures: a kind draws onto matplotlib axes; this module turns the drawing into a PDF for
LaTeX and an inline SVG for HTML, both byte-for-byte reproducible."""
from __future__ import annotations

import io
from functools import lru_cache

from ..solution import Figure


@lru_cache(maxsize=None)
def _pyplot():
    """matplotlib, set up once for reproducible files (imported only when a figure is drawn)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.hashsalt": "figures", "font.size": 9, "svg.fonttype": "none"})
    return plt


def _draw(figure: Figure):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figure.size)
    figure.draw(ax)
    fig.tight_layout()
    return fig


def to_pdf(figure: Figure) -> bytes:
    fig = _draw(figure)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def to_svg(figure: Figure) -> str:
    fig = _draw(figure)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    _pyplot().close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inline in HTML
