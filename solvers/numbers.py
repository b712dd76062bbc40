"""Numbers as a sheet shows them: rounded to the problem's significant digits, the one
rounding rule that the LaTeX printer (`solvers.render.printer`) and the labels of figures
share, so that a figure shows the very digits of the text around it."""
from __future__ import annotations

import math


def format_number(value: float, digits: int) -> str:
    """`value` to `digits` significant digits, as LaTeX (10^k notation when tiny or huge). A
    whole number is written exactly; any other keeps its trailing zeros (0.3640, 1.000), so
    every number shows the digits it was rounded to."""
    if not math.isfinite(value):
        return r"\infty" if value > 0 else (r"-\infty" if value < 0 else r"\mathrm{NaN}")
    if value == int(value) and abs(value) < 1e15:  # whole numbers exactly (float64 is exact below 2^53)
        return str(int(value))
    text = f"{value:#.{digits}g}".rstrip(".")
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def figure_label(value: float, digits: int) -> str:
    """`value` as `format_number` writes it, as the text of a figure (matplotlib): a true
    minus sign, a power of ten as mathtext."""
    text = format_number(float(value), digits)
    return f"${text}$" if "\\" in text else text.replace("-", "\u2212")
