"""The picture of one named entry of a convolution: per channel, the (padded) image with its
padding shaded and the window under the filter outlined, beside the filter as it is used (the
rotated filter for a convolution); on the right the output with the entry's cell outlined and
its value under it. The numbers are the sheet's (`figure_label`, the printer's rounding).

The layout depends on the problem's sizes only; the values are read when the figure is made
(`EntryPicture.figure`), so one derivation serves every variant.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...drawing import text_size
from ...numbers import figure_label
from ...solution import Figure

LABEL = 7.0  # points: the numbers in the cells
CELL = 0.24  # inches: a cell's height, and its least width
TITLE = 8.0  # points: the heading over each grid
GAP = 0.42  # inches between the grids
TOP = 0.34  # inches above a row of grids, for its headings
BOTTOM = 0.30  # inches under the output, for the entry's value
WIDEST = 6.2  # inches: the text's width on the page
TALLEST = 7.5
HIGHLIGHT = "#c0392b"
PADDING = "#d9d9d9"
WINDOW = "#fbe4e1"
SUPERSCRIPT = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


@dataclass(frozen=True)
class EntryPicture:
    """The figure of entry `letter` of the problem with structure `s` (a conv_values Structure)."""
    s: object
    letter: str

    @property
    def padded(self) -> bool:
        return bool(self.s.padding[0] or self.s.padding[1])

    @property
    def rotated(self) -> bool:
        return self.s.operation == "convolution"

    @property
    def channels(self) -> int | None:
        return self.s.channels

    def figure(self, values: dict, digits: int) -> Figure:
        plan = _layout(self.s, self.letter, values, digits)
        return Figure(f"conv-{self.letter}", lambda ax: _draw(plan, ax), (round(plan["width"], 2),
                      round(plan["height"], 2)), _describe(self.s, self.letter, values, digits), fill=True)


def _suffixes(s) -> list[str]:
    return [str(c) for c in range(1, s.channels + 1)] if s.channels else [""]


def _output(s) -> tuple[int, int]:
    (h, w), (kh, kw), (ph, pw), (sh, sw) = s.image, s.kernel, s.padding, s.stride
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _position(s, letter: str) -> tuple[int, int]:
    from . import LETTERS
    return divmod(LETTERS.index(letter), _output(s)[1])


def _layout(s, letter: str, values: dict, digits: int) -> dict:
    from . import LETTERS
    padded = bool(s.padding[0] or s.padding[1])
    rotated = s.operation == "convolution"
    (ph, pw), (kh, kw), (oh, ow) = s.padding, s.kernel, _output(s)
    m, n = _position(s, letter)
    top, left = s.stride[0] * m, s.stride[1] * n
    channels = []
    for suffix in _suffixes(s):
        image = np.asarray(values[f"Xp{suffix}" if padded else f"X{suffix}"], dtype=float)
        kernel = np.asarray(values[f"Fr{suffix}" if rotated else f"F{suffix}"], dtype=float)
        channels.append(([[figure_label(v, digits) for v in row] for row in image],
                         [[figure_label(v, digits) for v in row] for row in kernel], suffix))
    value = figure_label(np.ravel(values[f"y_{letter}"])[0], digits)
    texts = [t for image, kernel, _ in channels for grid in (image, kernel) for row in grid for t in row]
    wide, high = max([CELL] + [text_size(t, LABEL)[0] + 0.08 for t in texts]), CELL  # a cell, in inches
    rows, cols = len(channels[0][0]), len(channels[0][0][0])
    band = max(rows, oh) * high + TOP  # one channel's row of grids
    width = 0.05 + (cols + kw + ow) * wide + 2 * GAP + 0.05
    height = len(channels) * band + (len(channels) - 1) * 0.15 + BOTTOM
    scale = min(1.0, WIDEST / width, TALLEST / height)
    wide, high, gap = wide * scale, high * scale, GAP * scale
    band = max(rows, oh) * high + TOP
    width = 0.05 + (cols + kw + ow) * wide + 2 * gap + 0.05
    height = len(channels) * band + (len(channels) - 1) * 0.15 + BOTTOM
    grids = []
    for c, (image, kernel, suffix) in enumerate(channels):
        upper = height - c * (band + 0.15) - TOP  # the top edge of this channel's grids
        channel = f"$^{{({suffix})}}$" if suffix else ""
        x0 = 0.05
        shaded = [[padded and not (ph <= i < ph + s.image[0] and pw <= j < pw + s.image[1]) for j in range(cols)]
                  for i in range(rows)]
        title = (r"$\tilde{X}$" if padded else "$X$") + channel + (" (padded)" if padded else "")
        grids.append({"x": x0, "top": upper, "texts": image, "shaded": shaded, "title": title,
                      "outline": (top, left, kh, kw)})
        x1 = x0 + cols * wide + gap
        title = (r"$\hat{F}$" + channel + " (F rotated 180°)") if rotated else ("$F$" + channel)
        grids.append({"x": x1, "top": upper - (rows - kh) * high / 2, "texts": kernel, "title": title,
                      "outline": (0, 0, kh, kw)})
    names = [[LETTERS[i * ow + j] for j in range(ow)] for i in range(oh)]
    x2 = 0.05 + (cols + kw) * wide + 2 * gap
    centres = [height - c * (band + 0.15) - TOP - rows * high / 2 for c in range(len(channels))]
    centre = sum(centres) / len(centres)
    grids.append({"x": x2, "top": centre + oh * high / 2, "texts": names, "title": "$Y$",
                  "outline": (m, n, 1, 1), "fill": (m, n), "italic": True})
    font = LABEL * scale
    lowest = min(BOTTOM, centre - oh * high / 2 - 0.08 - 1.3 * TITLE / 72)  # the last grid, or the value under Y
    if lowest > 0.05:  # room to spare under the grids
        height -= lowest - 0.05
        for grid in grids:
            grid["top"] -= lowest - 0.05
        centres = [c - (lowest - 0.05) for c in centres]
        centre -= lowest - 0.05
    return {"width": width, "height": height, "cell": (wide, high), "grids": grids, "font": font,
            "value": f"{letter} = {value}", "operators": [(0.05 + cols * wide + gap / 2, "⊙"),
                                                         (x2 - gap / 2, "→")],
            "rows": centres, "centre": centre}


def _draw(plan: dict, ax) -> None:
    from matplotlib.patches import Rectangle
    (wide, high), font = plan["cell"], plan["font"]
    for grid in plan["grids"]:
        x0, top, texts = grid["x"], grid["top"], grid["texts"]
        rows, cols = len(texts), len(texts[0])
        for i in range(rows):
            for j in range(cols):
                shaded = grid.get("shaded") and grid["shaded"][i][j]
                r, c, h, w = grid["outline"]
                inside = r <= i < r + h and c <= j < c + w
                face = PADDING if shaded else "white"
                if inside and "shaded" in grid and not shaded:
                    face = WINDOW
                if grid.get("fill") == (i, j):
                    face = WINDOW
                ax.add_patch(Rectangle((x0 + j * wide, top - (i + 1) * high), wide, high, fc=face, ec="#777777",
                                       lw=0.5, zorder=1))
                ax.text(x0 + (j + 0.5) * wide, top - (i + 0.5) * high, texts[i][j], ha="center", va="center",
                        fontsize=font, zorder=3, fontstyle="italic" if grid.get("italic") else "normal",
                        color="#555555" if shaded else "black")
        r, c, h, w = grid["outline"]
        ax.add_patch(Rectangle((x0 + c * wide, top - (r + h) * high), w * wide, h * high, fill=False, ec=HIGHLIGHT,
                               lw=1.8, zorder=4))
        ax.text(x0 + cols * wide / 2, top + 0.08, grid["title"], ha="center", va="bottom", fontsize=TITLE)
    output = plan["grids"][-1]
    ax.text(output["x"] + len(output["texts"][0]) * wide / 2, output["top"] - len(output["texts"]) * high - 0.08,
            plan["value"], ha="center", va="top", fontsize=TITLE, color=HIGHLIGHT)
    for y in plan["rows"]:
        ax.text(plan["operators"][0][0], y, plan["operators"][0][1], ha="center", va="center", fontsize=TITLE + 2)
    ax.text(plan["operators"][1][0], plan["centre"], "→", ha="center", va="center",
            fontsize=TITLE + 4)


def _describe(s, letter: str, values: dict, digits: int) -> str:
    """The picture in words: which cells are outlined, and the entry's value."""
    m, n = _position(s, letter)
    (kh, kw), top, left = s.kernel, s.stride[0] * m, s.stride[1] * n
    padded = bool(s.padding[0] or s.padding[1])
    value = figure_label(np.ravel(values[f"y_{letter}"])[0], digits).replace("\u2212", "-")
    image = "the padded image (the padding shaded)" if padded else "the image"
    each = f" in each of its {s.channels} channels" if s.channels else ""
    used = "the filter rotated by 180°" if s.operation == "convolution" else "the filter"
    return (f"Entry {letter} of the output: {image}{each} with the {kh}×{kw} window of rows {top + 1} to {top + kh} "
            f"and columns {left + 1} to {left + kw} outlined in red, beside {used}; the output grid with {letter} "
            f"(row {m + 1}, column {n + 1}) outlined, {letter} = {value}.")
