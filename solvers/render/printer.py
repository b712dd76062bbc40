"""The one LaTeX printer for every formula we show.

A subclass of SymPy's LatexPrinter: SymPy expressions (Piecewise, symbols) print as SymPy
prints them, our formula nodes (`solvers.formula`) print through one `_print_<Node>` method
each, and every number is rounded to the document's significant digits here and nowhere
else. HTML output converts this same LaTeX to MathML.
"""
from __future__ import annotations

import re
from functools import cache, lru_cache

import sympy
from sympy.printing.latex import LatexPrinter

from .. import formula as F
from ..numbers import format_number

FUNCTION_NAMES = {
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "relu": r"\operatorname{ReLU}",
    "leaky_relu": r"\operatorname{LeakyReLU}",
    "elu": r"\operatorname{ELU}",
    "identity": r"\operatorname{id}",
    "softmax": r"\operatorname{softmax}",
    "exp": r"\exp",
}


SHOWN_ROWS, SHOWN_COLUMNS = 16, 8  # a matrix beyond either is shown by its corners
NARROW_COLUMNS, NARROW = 12, 3  # columns of entries of at most 3 characters (counts, small integers) shown in full


def _kept(n: int, most: int) -> list[int | None]:
    """The indices shown of n rows (or columns): all up to `most`, else the first four, None for
    the dots, and the last two."""
    return list(range(n)) if n <= most else [0, 1, 2, 3, None, n - 2, n - 1]


@lru_cache(maxsize=4096)
def _symbol_latex(name: str) -> str:
    """A name as SymPy prints a symbol of that name (w_1 → w_{1}, alpha → \\alpha)."""
    return LatexPrinter({}).doprint(sympy.Symbol(name))


class MathPrinter(LatexPrinter):
    """LaTeX for formula nodes and SymPy expressions, numbers to `digits` significant digits."""

    _default_settings = {**LatexPrinter._default_settings, "digits": 4, "count_from": 1, "ln_notation": True}

    # -- numbers -----------------------------------------------------------------------
    def _print_Num(self, node: F.Num) -> str:
        return format_number(node.value, self._settings["digits"])

    def _print_Float(self, expr: sympy.Float) -> str:
        return format_number(float(expr), self._settings["digits"])

    def _print_Grid(self, node: F.Grid) -> str:
        """A matrix; one of more than SHOWN_ROWS rows or SHOWN_COLUMNS columns by its corners
        (its first four and last two rows and columns, dots between) followed by its shape; up to
        NARROW_COLUMNS columns in full when every entry is short (a confusion matrix's counts)."""
        rows, cols = len(node.rows), len(node.rows[0])
        if rows == 1 and cols == 1:
            return self._print(node.rows[0][0])
        kept_rows = _kept(rows, SHOWN_ROWS)
        shown = cache(lambda i, j: self._print(node.rows[i][j]))  # each entry printed once, measured or not
        narrow = SHOWN_COLUMNS < cols <= NARROW_COLUMNS and all(
            len(shown(i, j)) <= NARROW for i in kept_rows if i is not None for j in range(cols))
        kept_cols = _kept(cols, NARROW_COLUMNS if narrow else SHOWN_COLUMNS)

        def cell(i, j) -> str:
            if i is None:
                return r"\ddots" if j is None else r"\vdots"
            return r"\cdots" if j is None else shown(i, j)
        body = r" \\ ".join(" & ".join(cell(i, j) for j in kept_cols) for i in kept_rows)
        shape = "" if (rows, cols) == (len(kept_rows), len(kept_cols)) else rf" \; ({rows} \times {cols})"
        return r"\begin{bmatrix} " + body + r" \end{bmatrix}" + shape

    # -- named quantities --------------------------------------------------------------
    def _print_Var(self, node: F.Var) -> str:
        base = self._base(node.base)
        if node.shape == "vector" and not node.index:  # the letter bold, not its subscript (b_{120})
            letter, scripts = re.match(r"([^_^]*)(.*)", base).groups()
            base = (rf"\boldsymbol{{{letter}}}" if letter.startswith("\\") else rf"\mathbf{{{letter}}}") + scripts
        # a base with a subscript of its own takes another index or a prime only as a group; a layer
        # superscript stacks over its subscript (W_{0}^{(l)})
        if ("_" in base and (node.index or node.primes)) or ("^" in base and (node.index or node.layer is not None
                                                                               or node.primes)):
            base = "{" + base + "}"
        if node.primes:  # after an accent (m̂) a prime needs an empty group before it: amsmath's accents look ahead
            base = "{" + base + ("{}" if ACCENTED.match(base) else "") + "'" * node.primes + "}"
        if node.index:
            first = self._settings["count_from"]
            base += "_{" + ",".join(str(i + first) if isinstance(i, int) else i for i in node.index) + "}"
        if node.layer is not None:
            base += "^{(" + str(node.layer) + ")}"
        return base

    def _base(self, name: str) -> str:
        return _symbol_latex(name)

    def _print_Partial(self, node: F.Partial) -> str:
        return rf"\frac{{\partial {self._print(node.of)}}}{{\partial {self._print(node.wrt)}}}"

    # -- operations ----------------------------------------------------------------------
    def _print_Add(self, node):
        if not isinstance(node, F.Add):
            return super()._print_Add(node)
        text = self._print(node.terms[0])
        for term in node.terms[1:]:
            if isinstance(term, F.Num) and term.value < 0:
                text += " - " + self._print(F.Num(-term.value))
            elif (isinstance(term, F.Mul) and isinstance(term.factors[0], F.Num)
                  and term.factors[0].value < 0):
                flipped = F.Mul(F.Num(-term.factors[0].value), *term.factors[1:])
                text += " - " + self._print(flipped)
            elif isinstance(term, F.Neg):
                text += " - " + self._wrap_sum(term.arg)
            else:
                text += " + " + self._print(term)
        return text

    def _print_Sub(self, node: F.Sub) -> str:
        return f"{self._print(node.left)} - {self._wrap_sum(node.right, negative=True)}"

    def _print_Neg(self, node: F.Neg) -> str:
        return "-" + self._wrap_sum(node.arg, negative=True)

    def _print_Mul(self, node):
        if not isinstance(node, F.Mul):  # SymPy puts a dot between two numbers, but not after a bracketed one
            return BRACKET_THEN_NUMBER.sub(r"\\right) \\cdot ", super()._print_Mul(node))
        text = self._wrap_sum(node.factors[0])
        for previous, factor in zip(node.factors, node.factors[1:]):
            # a number after anything, or a bracket after a number, needs a visible dot
            # (2 · 3, x · 3, 1 · (6 − 1)); otherwise juxtapose (2 p, w x)
            dot = _numeric(factor) or (_numeric(previous) and isinstance(factor, (F.Paren, F.Add)))
            text += (r" \cdot " if dot else r" \, ") + self._wrap_sum(factor, negative=True)
        return text

    def _print_Hadamard(self, node: F.Hadamard) -> str:
        if is_scalar(node.left) and is_scalar(node.right):
            return self._print(F.Mul(node.left, node.right))
        return rf"{self._wrap_sum(node.left)} \odot {self._wrap_sum(node.right, negative=True)}"

    def _print_Frac(self, node: F.Frac) -> str:
        return rf"\frac{{{self._print(node.num)}}}{{{self._print(node.den)}}}"

    def _print_Transpose(self, node):
        if not isinstance(node, F.Transpose):
            return super()._print_Transpose(node)
        inner = self._print(node.arg)
        if is_scalar(node.arg):
            return inner
        if isinstance(node.arg, F.Var) and node.arg.layer is None and "_" not in inner:
            return inner + r"^{\top}"
        if isinstance(node.arg, (F.Var, F.Grid)):
            return "{" + inner + r"}^{\top}"
        return r"\left(" + inner + r"\right)^{\top}"

    def _print_Call(self, node: F.Call) -> str:
        if node.name == "exp" and not node.derivative:
            return f"e^{{{self._print(node.arg)}}}"
        name = FUNCTION_NAMES.get(node.name, rf"\operatorname{{{node.name}}}")
        if node.derivative:
            name += "'"
        return rf"{name}\left({self._print(node.arg)}\right)"

    def _print_Log(self, node: F.Log) -> str:
        return rf"\ln\left({self._print(node.arg)}\right)"

    def _print_Sum(self, node):
        if not isinstance(node, F.Sum):
            return super()._print_Sum(node)
        return rf"\sum_{{{node.index}}} {self._wrap_sum(node.body)}"

    def _print_Relation(self, node):
        if not isinstance(node, F.Relation):
            return super()._print_Relational(node)
        symbol = {"<": "<", "<=": r"\le", ">": ">", ">=": r"\ge", "==": "=", "!=": r"\ne"}[node.relation]
        return f"{self._print(node.left)} {symbol} {self._print(node.right)}"

    def _print_Floor(self, node):
        if not isinstance(node, F.Floor):
            return super()._print_floor(node)
        return rf"\left\lfloor {self._print(node.arg)} \right\rfloor"

    def _print_Diag(self, node: F.Diag) -> str:
        return rf"\operatorname{{diag}}\left({self._print(node.arg)}\right)"

    def _print_Paren(self, node: F.Paren) -> str:
        return rf"\left({self._print(node.arg)}\right)"

    def _print_Sqrt(self, node: F.Sqrt) -> str:
        return rf"\sqrt{{{self._print(node.arg)}}}"

    def _print_Pow(self, node):
        if not isinstance(node, F.Pow):
            return super()._print_Pow(node)
        base = self._print(node.base)
        if not isinstance(node.base, (F.Var, F.Num)) or base.startswith("-") or "^" in base:
            base = rf"\left({base}\right)"
        return f"{base}^{{{self._print(node.exponent)}}}"

    def _print_Sym(self, node: F.Sym) -> str:
        if not node.names:
            return self._print(node.expr)
        names = {symbol: self._atom(n) for symbol, n in node.names}
        return MathPrinter({"digits": self._settings["digits"], "count_from": self._settings["count_from"],
                            "symbol_names": names}).doprint(node.expr)

    def _atom(self, node: F.Node) -> str:
        """LaTeX of `node` safe to stand where SymPy expects a symbol."""
        text = self._print(node)
        if isinstance(node, F.Num) and node.value < 0 or " " in text and not isinstance(node, (F.Var, F.Partial)):
            return rf"\left({text}\right)"
        return text

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        rows = []
        for value, condition in expr.args:
            when = r"\text{otherwise}" if condition is sympy.true else r"\text{if } " + self._print(condition)
            rows.append(f"{self._print(value)} & {when}")
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"

    def _wrap_sum(self, node: F.Node, negative: bool = False) -> str:
        """Print `node`, in parentheses where a sum or a negative number would misread."""
        text = self._print(node)
        if isinstance(node, (F.Add, F.Sub)) or (negative and text.startswith("-")):
            return rf"\left({text}\right)"
        return text


BRACKET_THEN_NUMBER = re.compile(r"\\right\) (?=[0-9])")  # (−1) 0: a product, written (−1) · 0


ACCENTED = re.compile(r"^\{?\\(?:hat|bar|tilde|dot|ddot|vec|check|breve)\{")  # SymPy's accented names (mhat)


def _numeric(node: F.Node) -> bool:
    """A single number as printed (a Num, a 1×1 Grid, or the transpose of one)."""
    if isinstance(node, F.Transpose):
        node = node.arg
    return isinstance(node, F.Num) or (isinstance(node, F.Grid) and len(node.rows) == 1 and len(node.rows[0]) == 1)


def is_scalar(node: F.Node) -> bool:
    """Whether `node` stands for a single number (so ⊙ is ·, and ⊤ does nothing)."""
    if isinstance(node, F.Num):
        return True
    if isinstance(node, F.Grid):
        return len(node.rows) == 1 and len(node.rows[0]) == 1
    if isinstance(node, F.Var):
        return node.shape == "scalar" or bool(node.index)
    if isinstance(node, F.Partial):
        return node.wrt.shape == "scalar" or bool(node.wrt.index)
    return False


def latex(node, digits: int = 4, count_from: int = 1) -> str:
    """LaTeX of a formula node or SymPy expression."""
    return MathPrinter({"digits": digits, "count_from": count_from}).doprint(node)
