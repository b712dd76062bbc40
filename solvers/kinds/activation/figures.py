"""Plots of the activation functions a problem asks about: each function and its derivative
on one panel, the given points marked on both, and at a kink the derivative's two sides,
the value the convention takes filled and the other side's open, so that the sheet's
choice of f'(0) is visible."""
from __future__ import annotations

import numpy as np
import sympy

from ...activations import LAMBDIFY_MODULES, Activation
from ...nn import activation_name
from ...numbers import figure_label
from ...solution import Figure

COLUMNS = 3  # panels side by side


def _numeric(expr: sympy.Expr):
    z = sympy.Symbol("z", real=True)
    expr = expr.subs(sympy.Symbol("z"), z)
    function = sympy.lambdify(z, expr, modules=LAMBDIFY_MODULES)
    return lambda x: np.broadcast_to(np.asarray(function(x), dtype=float), np.shape(x))


def plot(activations: list[Activation], points: list[float], digits: int) -> Figure:
    """One panel per activation, over an interval that holds the points asked (numbers to
    the sheet's `digits`)."""
    reach = max([3.0] + [abs(float(p)) * 1.15 for p in points])
    rows = -(-len(activations) // COLUMNS)
    columns = -(-len(activations) // rows)  # balanced: 4 panels as 2 × 2, not 3 + 1

    def draw(axes) -> None:
        axes = axes if isinstance(axes, list) else [axes]
        for ax, act in zip(axes, activations):
            f = _numeric(act.numeric(act.symbolic()))
            d = _numeric(act.numeric(act.derivative()))
            left, right = np.linspace(-reach, 0, 301)[:-1], np.linspace(0, reach, 301)[1:]
            ax.plot(np.concatenate([left, [0.0], right]), f(np.concatenate([left, [0.0], right])), color="#1f5fa8",
                    lw=1.6, label="$f(z)$")
            ax.plot(left, d(left), color="#c0392b", lw=1.4, ls="--", label="$f'(z)$")
            ax.plot(right, d(right), color="#c0392b", lw=1.4, ls="--")
            sides = act.one_sided_derivatives()
            if act.has_kink:
                chosen = act.derivative_at_kink()
                other = sides[1] if chosen == sides[0] else sides[0]
                ax.plot([0], [other], "o", mfc="white", mec="#c0392b", ms=5, zorder=3)
                ax.plot([0], [chosen], "o", color="#c0392b", ms=5, zorder=4)
                ax.annotate(f"f′(0) = {figure_label(chosen, digits)}", (0, chosen), textcoords="offset points", xytext=(6, 6),
                            fontsize=7, color="#c0392b")
            if points:
                t = np.array(points, dtype=float)
                ax.plot(t, f(t), "o", color="#1f5fa8", ms=3.5, zorder=5)
                ax.plot(t, d(t), "s", color="#c0392b", ms=3.5, zorder=5)
            ax.axhline(0, color="#999999", lw=0.6, zorder=0)
            ax.axvline(0, color="#999999", lw=0.6, zorder=0)
            title = activation_name(act.name, capital=True) + (f", α = {figure_label(act.alpha, digits)}"
                                                               if act.alpha is not None else "")
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("$z$", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[0].legend(fontsize=7, frameon=False, loc="upper left")
        for ax in axes[len(activations):]:
            ax.set_axis_off()

    alt = ("Plots of " + "; ".join(_described(act) for act in activations) + ", each with its derivative "
           "(dashed)" + (", the points asked marked on both" if points else "") + ".")
    return Figure("activations", draw, (min(6.5, 2.25 * columns), 2.1 * rows), alt, grid=(rows, columns))


def _described(act: Activation) -> str:
    text = activation_name(act.name) + (f" with alpha = {act.alpha:g}" if act.alpha is not None else "")
    if act.has_kink:
        text += f" (kink at 0: f'(0) = {act.derivative_at_kink():g} filled, the other side's value open)"
    return text
