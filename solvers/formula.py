"""Display formulas: a small expression tree that printers lay out.

Solvers build these trees to say *how* a value is written (W a + b, f'(z) ⊙ g, ...);
they never build LaTeX. Leaves are `Var` (a named quantity, or one entry of it), `Partial`
(∂L/∂q, or one entry) and `Num`. `substitute` replaces every leaf that has a value by that
value, which gives the "numbers plugged in" form of the same formula.

Every node is a frozen dataclass, so formulas are comparable, hashable and readable in a
repr. Printers dispatch on the class name (`_print_Var`, `_print_Add`, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class Node:
    """Base class of every formula node."""


@dataclass(frozen=True)
class Var(Node):
    """A named quantity: `base` with an optional layer superscript and entry indices.

    `key` names the value in an evaluation; `shape` is 'scalar', 'vector' or 'matrix'.
    `index` holds 0-based entry indices (printed 1-based)."""
    key: str
    base: str
    shape: str = "scalar"
    layer: int | None = None
    index: tuple[int | str, ...] = ()
    primes: int = 0

    def entry(self, *index: int | str) -> Var:
        return replace(self, index=index)


@dataclass(frozen=True)
class Partial(Node):
    """The derivative ∂of/∂wrt; `wrt` may be an entry (then this is one entry). `position` is
    where an entry sits in its quantity's value when that is not `wrt`'s index (a Jacobian's
    entry ∂a_i/∂x_j is at (i, j))."""
    key: str
    of: Var
    wrt: Var
    position: tuple[int | str, ...] = ()

    @property
    def index(self) -> tuple[int | str, ...]:
        return self.position or self.wrt.index

    def entry(self, *index: int | str) -> Partial:
        """One entry: ∂L/∂w_ij for a scalar `of`; ∂a_i/∂z_j (one index: ∂a_i/∂z_i) for a vector."""
        if self.of.shape == "matrix":  # an element-wise derivative of a matrix: ∂A_in/∂Z_in
            return replace(self, of=self.of.entry(*index), wrt=self.wrt.entry(*index))
        if self.of.shape != "vector":
            return replace(self, wrt=self.wrt.entry(*index))
        return replace(self, of=self.of.entry(index[0]), wrt=self.wrt.entry(index[-1]))


@dataclass(frozen=True)
class Num(Node):
    """A number, printed to the document's significant digits."""
    value: float


@dataclass(frozen=True)
class Grid(Node):
    """A matrix (a column vector has one column) of nodes."""
    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class Add(Node):
    terms: tuple[Node, ...]

    def __init__(self, *terms: Node):
        object.__setattr__(self, "terms", tuple(terms))


@dataclass(frozen=True)
class Sub(Node):
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg(Node):
    arg: Node


@dataclass(frozen=True)
class Mul(Node):
    """A product: matrix product for matrices, ordinary product for scalars."""
    factors: tuple[Node, ...]

    def __init__(self, *factors: Node):
        object.__setattr__(self, "factors", tuple(factors))


@dataclass(frozen=True)
class Hadamard(Node):
    """Element-wise product a ⊙ b."""
    left: Node
    right: Node


@dataclass(frozen=True)
class Frac(Node):
    num: Node
    den: Node


@dataclass(frozen=True)
class Transpose(Node):
    arg: Node


@dataclass(frozen=True)
class Call(Node):
    """A named function applied to an argument: f(x), f'(x) when `derivative`.

    `params` are printed as a subscript (e.g. the α of a leaky ReLU)."""
    name: str
    arg: Node
    derivative: bool = False
    params: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Log(Node):
    """Natural logarithm."""
    arg: Node


@dataclass(frozen=True)
class Sum(Node):
    """Σ over `index` of `body` (the index is printed, not evaluated)."""
    index: str
    body: Node


@dataclass(frozen=True)
class Relation(Node):
    """left ρ right, ρ one of <, ≤, >, ≥, =, ≠ (written as in Python)."""
    left: Node
    relation: str
    right: Node


@dataclass(frozen=True)
class Floor(Node):
    arg: Node


@dataclass(frozen=True)
class Diag(Node):
    arg: Node


@dataclass(frozen=True)
class Paren(Node):
    arg: Node


@dataclass(frozen=True)
class Sqrt(Node):
    """The square root (element-wise for a matrix)."""
    arg: Node


@dataclass(frozen=True)
class Pow(Node):
    base: Node
    exponent: Node


@dataclass(frozen=True)
class Sym(Node):
    """A SymPy expression, printed by SymPy's own LaTeX printer (e.g. a Piecewise).

    `names` maps SymPy symbols to the nodes they stand for (an entry's display symbol, or
    after `substitute` its number), as a tuple of pairs so the node stays hashable."""
    expr: Any
    names: tuple[tuple[Any, Node], ...] = ()


def grid(values: np.ndarray) -> Grid:
    """The Grid of a numeric matrix."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    return Grid(tuple(tuple(Num(float(v)) for v in row) for row in values))


def substitute(node: Node, values: Mapping[str, np.ndarray]) -> Node:
    """Replace each Var or Partial that has a value by that value (a Num or a Grid)."""
    if isinstance(node, (Var, Partial)):
        if node.key not in values or any(not isinstance(i, int) for i in node.index):
            return node
        value = np.asarray(values[node.key], dtype=float)
        if node.index:
            return Num(float(value.reshape(value.shape[0], -1)[_entry(node.index)]))
        if value.size == 1 and _is_scalar(node):
            return Num(float(value.reshape(-1)[0]))
        return grid(value.reshape(value.shape[0], -1) if value.ndim else value)
    if isinstance(node, Num):
        return node
    if isinstance(node, Sym):
        return Sym(node.expr, tuple((s, substitute(n, values)) for s, n in node.names))
    changes = {}
    for name, child in vars(node).items():
        if isinstance(child, Node):
            changes[name] = substitute(child, values)
        elif isinstance(child, tuple) and child and isinstance(child[0], Node):
            changes[name] = tuple(substitute(c, values) for c in child)
        elif isinstance(child, tuple) and child and isinstance(child[0], tuple):
            changes[name] = tuple(tuple(substitute(c, values) for c in row) for row in child)
    new = object.__new__(type(node))
    for name, child in vars(node).items():
        object.__setattr__(new, name, changes.get(name, child))
    return new


def _entry(index: tuple[int, ...]) -> tuple[int, int]:
    return (index[0], index[1]) if len(index) == 2 else (index[0], 0)


def _is_scalar(node: Var | Partial) -> bool:
    var = node.wrt if isinstance(node, Partial) else node
    return var.shape == "scalar"
