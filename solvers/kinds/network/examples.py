"""How a network derivation lays out the quantities that have a value per example: for one
example, column vectors; for a batch, matrices with a column per example (rows layout,
X = [x_1 … x_B]) or a row per example (columns layout, as in PyTorch), written in capitals."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import sympy

from ... import formula as F
from ...derivation import Quantity

FEW_EXAMPLES = 4  # a batch up to this size is also worked entry by entry


@dataclass(frozen=True)
class Examples:
    batch: int  # 0: one example
    rows: bool  # the rows layout (a column per example)

    def quantity(self, key: str, units: int, base: str, layer: int | None = None) -> Quantity:
        """A quantity with `units` entries per example."""
        if not self.batch:
            return Quantity.named(key, units, 1, base, layer)
        rows, cols = (units, self.batch) if self.rows else (self.batch, units)
        return Quantity.named(key, rows, cols, base[0].upper() + base[1:], layer, style="matrix")

    def one(self, q: Quantity) -> F.Var:
        """The symbol of one example's vector of `q` (a for A), to write a per-example formula."""
        if not self.batch:
            return q.symbol
        return replace(q.symbol, base=q.symbol.base[0].lower() + q.symbol.base[1:], shape="vector")

    def at(self, q: Quantity, i, n=0):
        """The display symbol of unit (or output) i of example n."""
        if not self.batch:
            return q.at(i)
        return q.entry(i, n) if self.rows else q.entry(n, i)

    def index(self, q: Quantity, i: int, n: int) -> tuple[int, int]:
        """The matrix position of unit i of example n."""
        return (i, n) if self.rows or not self.batch else (n, i)

    def units(self, q: Quantity) -> int:
        """Entries per example."""
        return q.shape[0] if self.rows or not self.batch else q.shape[1]

    def split(self, q: Quantity) -> list[list[sympy.Symbol]]:
        """The entries of `q`, example by example."""
        m = q.elements
        return [list(m[:, n]) for n in range(m.cols)] if self.rows or not self.batch else \
            [list(m[n, :]) for n in range(m.rows)]

    def join(self, columns: list[list[sympy.Expr]]) -> sympy.Matrix:
        """The inverse of `split`: per-example entries back into the quantity's matrix."""
        m = sympy.Matrix(columns)  # a row per example
        return m if self.batch and not self.rows else m.T

    def entries(self, q: Quantity) -> list[tuple[int, int]]:
        """Every (unit, example) of `q` to show entry by entry: all of them for one example or a
        few, none for a larger batch (its matrices say it all)."""
        if self.batch > FEW_EXAMPLES:
            return []
        return [(i, n) for n in range(max(self.batch, 1)) for i in range(self.units(q))]

    @property
    def shown(self) -> bool:
        """Whether entry-by-entry expansions are shown."""
        return self.batch <= FEW_EXAMPLES


def shown_as(expr: sympy.Expr, *quantities: Quantity) -> F.Sym:
    """`expr` over entries of `quantities`, shown with their display symbols."""
    names = []
    for q in quantities:
        for (i, j), symbol in np.ndenumerate(np.array(q.elements, dtype=object)):
            if symbol in expr.free_symbols:
                names.append((symbol, q.at(i) if q.shape[1] == 1 else q.entry(i, j)))
    return F.Sym(expr, tuple(names))
