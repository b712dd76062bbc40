"""Figures: a kind draws onto matplotlib axes; this module turns the drawing into a PDF for
LaTeX and an inline SVG for HTML, both byte-for-byte reproducible (no dates, no creator, a
fixed hash salt for the SVG's ids, text kept as text, matplotlib's own default style).

A figure is drawn once for both files. When the caller names what the figure is drawn from
(`source`: the problem's fields and its prose templates, see `prose.drawn_from`), the files
are kept in the cache's `figures` shelf (data: PDF bytes and SVG text), so a figure drawn
before needs no matplotlib at all.
"""
from __future__ import annotations

import base64
import io
import weakref
from functools import lru_cache

from .. import cache
from ..solution import Figure

SHELF = "figures"
PDF_METADATA = {"CreationDate": None, "Producer": None, "Creator": None}
SVG_METADATA = {"Date": None, "Creator": None}
_files: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a figure's PDF and SVG, for every driver


@lru_cache(maxsize=None)
def _pyplot():
    """matplotlib, set up once for reproducible files (imported only when a figure is drawn)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcdefaults()  # a user's matplotlibrc changes no figure (nor what the cache holds)
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


def _save(figure: Figure) -> dict[str, bytes]:
    """The figure drawn once, saved as PDF and as SVG."""
    fig = _draw(figure)
    files = {}
    try:
        for form, metadata in (("pdf", PDF_METADATA), ("svg", SVG_METADATA)):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=form, metadata=metadata)
            files[form] = buffer.getvalue()
    finally:
        _pyplot().close(fig)
    return files


def _entry(figure: Figure, source: str) -> str:
    return cache.key(SHELF, source, figure.name, repr(figure.size), figure.alt, repr(figure.fill), repr(figure.grid))


def _drawn(figure: Figure, source: str) -> dict[str, bytes]:
    """The figure's files: drawn before in this process, stored in the cache, or drawn now."""
    if figure not in _files:
        entry = _entry(figure, source) if source else ""
        stored = _decoded(cache.load(SHELF, entry)) if entry else None
        if stored is not None:
            _files[figure] = stored
        else:
            _files[figure] = _save(figure)
            if entry:
                cache.store(SHELF, entry, {form: base64.b64encode(data).decode() for form, data in
                                           _files[figure].items()})
    return _files[figure]


def _decoded(stored) -> dict[str, bytes] | None:
    """Stored files as bytes, or None if they are not a PDF and an SVG in base64."""
    try:
        files = {form: base64.b64decode(stored[form], validate=True) for form in ("pdf", "svg")}
    except (KeyError, TypeError, ValueError):
        return None
    return files if set(stored) == set(files) else None


def to_pdf(figure: Figure, source: str = "") -> bytes:
    return _drawn(figure, source)["pdf"]


def to_svg(figure: Figure, source: str = "") -> str:
    """The figure as SVG to put inline in HTML (no XML prolog or doctype)."""
    text = _drawn(figure, source)["svg"].decode("utf-8")
    return text[text.index("<svg"):]
