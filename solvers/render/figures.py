"""Figures: a kind draws onto matplotlib axes; this module turns the drawing into a PDF for
LaTeX and an inline SVG for HTML, both byte-for-byte reproducible (no dates, no creator, a
fixed hash salt for the SVG's ids, text kept as text)."""
from __future__ import annotations

import io
import weakref
from functools import lru_cache

from ..solution import Figure

PDF_METADATA = {"CreationDate": None, "Producer": None, "Creator": None}
SVG_METADATA = {"Date": None, "Creator": None}
_svgs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a figure's SVG, for HTML and Markdown alike


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
    fig = plt.figure(figsize=figure.size)
    if figure.fill:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set(xlim=(0, figure.size[0]), ylim=(0, figure.size[1]))
        figure.draw(ax)
    elif figure.grid != (1, 1):
        figure.draw(list(fig.subplots(*figure.grid, squeeze=False).flat))
        fig.tight_layout()
    else:
        ax = fig.add_subplot()
        figure.draw(ax)
        fig.tight_layout()
    return fig


def _save(figure: Figure, form: str, metadata: dict) -> bytes:
    fig = _draw(figure)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=form, metadata=metadata)
    finally:
        _pyplot().close(fig)
    return buffer.getvalue()


def to_pdf(figure: Figure) -> bytes:
    return _save(figure, "pdf", PDF_METADATA)


def to_svg(figure: Figure) -> str:
    """The figure as SVG to put inline in HTML (no XML prolog or doctype), drawn once per
    figure however many formats show it."""
    if figure not in _svgs:
        text = _save(figure, "svg", SVG_METADATA).decode("utf-8")
        _svgs[figure] = text[text.index("<svg"):]
    return _svgs[figure]
