"""Universal approximation with sigmoids: a bump from two steep sigmoids, and sums of bumps.

A bump of height h on (0, δ) is h σ(k x) − h σ(k(x − δ)): two hidden sigmoid units with
input weights k, k, biases 0, −kδ, and output weights h, −h. SymPy derives the weights from
the construction and the limit k → ∞ (the step). A smooth g on [a, b] is approximated by n
bumps, one per piece, of height g at the piece's midpoint; the maximum error on a fine grid
shrinks as the pieces and the steepness grow. The reference builds the same networks with
torch (nn.Linear, sigmoid) and evaluates them and the errors.

Quantity keys: h, d, k (the bump); wb (its weights w₁, b_A, w₂, b_B, w₃, w₄); xt (test
points), ft (the bump there); errors: E (max error, one row per number of bumps, one
column per steepness).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import sympy
from pydantic import Field

from ... import formula as F
from ...activations import LAMBDIFY_MODULES, sigmoid
from ...core import LARGEST, FieldError, Model, Number, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ...kind import Kind, Parts
from ...solution import Answer, Figure, Item

if TYPE_CHECKING:  # torch is imported where a reference runs: a cached build never loads it
    import torch

Positive = Annotated[Number, Field(gt=0)]
X = sympy.Symbol("x", real=True)
FUNCTIONS = {"sin": sympy.sin, "cos": sympy.cos, "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt,
             "tanh": sympy.tanh, "abs": sympy.Abs}
CONSTANTS = {"x": X, "pi": sympy.pi, "e": sympy.E}
GRID = 2001


class Bump(Model):
    height: Number
    width: Positive
    steepness: Positive
    points: Annotated[list[Number], Field(max_length=20)] = []


class Approximation(Model):
    function: str
    interval: Annotated[list[Number], Field(min_length=2, max_length=2)]
    bumps: Annotated[list[Annotated[int, Field(ge=1, le=200)]], Field(min_length=1, max_length=10)]
    steepness: Annotated[list[Positive], Field(min_length=1, max_length=8)]


class Spec(SpecBase):
    kind: Literal["sigmoid_bumps"]
    bump: Bump | None = None
    approximate: Approximation | None = None


def parse_function(text: str, field: str) -> sympy.Expr:
    """A function of x from text: numbers, x, pi, e, + − × / **, and FUNCTIONS. Nothing is eval'd."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as error:
        raise FieldError(field, f"{text!r} is not an expression ({error.msg})") from None

    def build(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            if not abs(node.value) <= LARGEST:
                raise FieldError(field, f"{text!r}: the number {node.value:g} is too large; expected numbers up to "
                                 f"{LARGEST:g} in size")
            return sympy.nsimplify(node.value)
        if isinstance(node, ast.Name) and node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -build(node.operand) if isinstance(node.op, ast.USub) else build(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow):
            left, right = build(node.left), build(node.right)
            if isinstance(node.op, ast.Pow):
                return power(left, right, text, field)
            return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right,
                    ast.Div: left / right}[type(node.op)]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                and len(node.args) == 1 and not node.keywords):
            return FUNCTIONS[node.func.id](build(node.args[0]))
        raise FieldError(field, f"{text!r}: {ast.unparse(node)!r} is not allowed; use x, numbers, pi, e, "
                         f"+ - * / ** and {', '.join(FUNCTIONS)}")

    expr = build(tree)
    if expr.free_symbols - {X}:
        raise FieldError(field, f"{text!r} uses a name other than x")
    return expr


MOST_EXPONENT = 100  # x**100 is a curve still; 9**9**9 is a number of 370 million digits


def power(base: sympy.Expr, exponent: sympy.Expr, text: str, field: str) -> sympy.Expr:
    """base ** exponent, unless the exponent is a number beyond MOST_EXPONENT in size or the power is
    a number beyond LARGEST (either would take SymPy minutes, or make a number no sheet can print)."""
    if base.has(sympy.nan) or exponent.has(sympy.nan):
        raise FieldError(field, f"{text!r}: {base}**{exponent} is undefined; expected a function finite everywhere")
    if not exponent.free_symbols and abs(exponent) > MOST_EXPONENT:
        raise FieldError(field, f"{text!r}: the exponent {exponent} is too large; expected powers up to "
                         f"{MOST_EXPONENT}")
    result = base ** exponent
    if not result.free_symbols and result.is_number and abs(result) > LARGEST:
        raise FieldError(field, f"{text!r}: the power {base}**{exponent} is larger than {LARGEST:g}; expected "
                         f"numbers up to {LARGEST:g} in size")
    return result


def vectorized(g: sympy.Expr, modules=LAMBDIFY_MODULES):
    """g as a function of a numpy array of x that always returns a float array of its shape
    (a constant g too)."""
    function = sympy.lambdify(X, g, modules=modules)
    return lambda x: np.array(np.broadcast_to(np.asarray(function(x), dtype=float), np.shape(x)))


def check(spec: Spec) -> None:
    if spec.bump is None and spec.approximate is None:
        raise FieldError("bump", "the problem asks nothing; expected bump, approximate or both")
    if spec.approximate:
        a, b = spec.approximate.interval
        if not a < b:
            raise FieldError("approximate.interval", f"[{a}, {b}] is empty; expected [low, high] with low < high")
        g = parse_function(spec.approximate.function, "approximate.function")
        with np.errstate(all="ignore"):
            x = np.linspace(a, b, GRID)
            values = vectorized(g)(x)
        if not np.all(np.isfinite(values)):
            raise FieldError("approximate.function", f"{spec.approximate.function!r} is not finite everywhere "
                             f"on [{a}, {b}]")



def bump_expression(h, d, k, x=X) -> sympy.Expr:
    return h * sigmoid(k * x) - h * sigmoid(k * (x - d))


@dataclass(frozen=True)
class Structure:
    """The number of points the bump is evaluated at, and whether a bump is asked."""
    points: int
    bump: bool


def derive(s: Structure) -> Derivation:
    givens, sections = [], []
    if s.bump:
        h, d, k = Quantity.named("h", 1, 1, "h"), Quantity.named("d", 1, 1, "delta"), Quantity.named("k", 1, 1, "k")
        givens += [h, d, k]
        he, de, ke = h.elements[0], d.elements[0], k.elements[0]
        w1, bA, w2, bB, w3, w4 = sympy.symbols("w_1 b_A w_2 b_B w_3 w_4", real=True)
        network = w3 * sigmoid(w1 * X + bA) + w4 * sigmoid(w2 * X + bB)
        # match the network to the construction h σ(k x) − h σ(k (x − δ)) term by term
        target = bump_expression(he, de, ke)
        solution = {w1: ke, bA: sympy.Integer(0), w2: ke, bB: sympy.expand(-ke * de), w3: he, w4: -he}
        assert sympy.simplify(network.subs(solution) - target) == 0
        weights = Quantity.named("wb", 6, 1, "theta")
        order = [w1, bA, w2, bB, w3, w4]
        steps = [Step("bump_weights", weights, F.Sym(sympy.Matrix(order)),
                      sympy.Matrix([solution[w] for w in order]),
                      {"network": F.Sym(network), "target": F.Sym(bump_expression(*sympy.symbols(
                          "h delta k")), ), "solution": [F.Sym(sympy.Eq(w, solution[w].subs(
                              {he: sympy.Symbol("h"), de: sympy.Symbol("delta"), ke: sympy.Symbol("k")})))
                          for w in order],
                       "limit_inside": sympy.limit(sigmoid(sympy.Symbol("k", positive=True) * sympy.Symbol(
                           "x", positive=True)).rewrite(sympy.exp), sympy.Symbol("k", positive=True), sympy.oo),
                       "limit_outside": sympy.limit(sigmoid(-sympy.Symbol("k", positive=True) * sympy.Symbol(
                           "x", positive=True)).rewrite(sympy.exp), sympy.Symbol("k", positive=True), sympy.oo)})]
        if s.points:
            xt, ft = Quantity.named("xt", s.points, 1, "x"), Quantity.named("ft", s.points, 1, "f")
            givens.append(xt)
            steps.append(Step("bump_values", ft, F.Sym(bump_expression(*sympy.symbols("h delta k"))),
                              sympy.Matrix([target.subs(X, t) for t in xt.elements]), {}))
        sections.append(Section("bump", steps, {}))
    return Derivation(givens, sections)


def structure(spec: Spec) -> Structure:
    return Structure(len(spec.bump.points) if spec.bump else 0, spec.bump is not None)


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    values = {}
    if spec.bump:
        values.update(h=np.array([[spec.bump.height]]), d=np.array([[spec.bump.width]]),
                      k=np.array([[spec.bump.steepness]]))
        if spec.bump.points:
            values["xt"] = np.array(spec.bump.points, dtype=float).reshape(-1, 1)
    return values


def approximation(g, a: float, b: float, n: int, k: float, x: np.ndarray) -> np.ndarray:
    """n bumps of height g(midpoint) on equal pieces of [a, b], steepness k, evaluated at x.
    The outer bumps reach one piece beyond a and b, so the ends are not half a step."""
    edges, heights = bump_edges(a, b, n), g(np.linspace(a, b, n + 1)[:-1] + (b - a) / (2 * n))
    sig = LAMBDIFY_MODULES[0]["sigmoid"]
    return sum(hi * (sig(k * (x - lo)) - sig(k * (x - hi_edge)))
               for hi, lo, hi_edge in zip(heights, edges[:-1], edges[1:]))


def bump_edges(a: float, b: float, n: int) -> np.ndarray:
    edges = np.linspace(a, b, n + 1)
    edges[0], edges[-1] = a - (b - a) / n, b + (b - a) / n
    return edges


def max_errors(spec: Spec) -> np.ndarray:
    a, b = spec.approximate.interval
    g = vectorized(parse_function(spec.approximate.function, "approximate.function"))
    x = np.linspace(a, b, GRID)
    return np.array([[np.max(np.abs(g(x) - approximation(g, a, b, n, k, x))) for k in spec.approximate.steepness]
                     for n in spec.approximate.bumps])


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    answers, closing, givens, questions = [], [], [], []
    if spec.bump:
        givens.append(Item("bump_given", {"h": F.Var("h", "h"), "d": F.Var("d", "delta"), "k": F.Var("k", "k")}))
        points = derivation.quantities["xt"].symbol if spec.bump.points else None
        questions.append(Item("bump_weights", {"points": points}))
        answers.append(Answer("bump.weights", "wb", F.Var("wb", "theta", "vector"), values["wb"]))
        if spec.bump.points:
            answers.append(Answer("bump.values", "ft", F.Var("ft", "f", "vector"), values["ft"]))
    if spec.approximate:
        errors = max_errors(spec)
        g = parse_function(spec.approximate.function, "approximate.function")
        givens.append(Item("approx_given", {"g": F.Sym(g), "interval": spec.approximate.interval}))
        questions.append(Item("approx_errors", {}))
        answers.append(Answer("approximation.max_error", "E", F.Var("E", "E", "matrix"), errors))
        closing += [Item("approx_table", {"bumps": spec.approximate.bumps, "steepness": spec.approximate.steepness,
                                          "errors": [[F.Num(float(e)) for e in row] for row in errors],
                                          "g": F.Sym(g), "interval": spec.approximate.interval}),
                    Item("approx_plot", {"figure": Figure("approximation", _plotter(spec), (6.0, 3.6), (
                        f"Plot of g(x) = {spec.approximate.function} on [{spec.approximate.interval[0]:g}, "
                        f"{spec.approximate.interval[1]:g}] and its approximations by "
                        f"{', '.join(str(n) for n in spec.approximate.bumps)} sigmoid bumps at steepness "
                        f"{max(spec.approximate.steepness):g}."))})]
    conventions = [Item("bump_conventions", {})]
    return Parts(givens, questions, conventions, answers, closing, {"E": errors} if spec.approximate else {})


def _plotter(spec: Spec):
    a, b = spec.approximate.interval
    g = vectorized(parse_function(spec.approximate.function, "approximate.function"))
    bumps, k = spec.approximate.bumps, max(spec.approximate.steepness)
    styles = ["-", "--", "-.", ":"]

    def draw(ax) -> None:
        x = np.linspace(a, b, GRID)
        ax.plot(x, g(x), "k", lw=2, label="$g(x)$")
        for i, n in enumerate(bumps):  # every number of bumps asked, at the steepest k: the error shrinking with n
            ax.plot(x, approximation(g, a, b, n, k, x), lw=1.1, color=f"C{i}", ls=styles[i % len(styles)],
                    label=f"$n = {n}$ bumps, $k = {k:g}$")
        ax.set(xlabel="$x$", xlim=(a, b))
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1))

    return draw


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """The bump as a torch network (nn.Linear → sigmoid → nn.Linear) with the textbook weights,
    and the approximations' errors from torch networks of 2n sigmoid units."""
    import torch
    out = given_values(spec)
    if spec.bump:
        h, d, k = spec.bump.height, spec.bump.width, spec.bump.steepness
        weights = torch.tensor([k, 0.0, k, -k * d, h, -h], dtype=torch.float64)
        out["wb"] = weights.numpy().reshape(-1, 1)
        if spec.bump.points:
            x = torch.tensor(spec.bump.points, dtype=torch.float64).reshape(-1, 1)
            out["ft"] = _network(weights[[0, 2]], weights[[1, 3]], weights[[4, 5]], x).numpy().reshape(-1, 1)
    if spec.approximate:
        a, b = spec.approximate.interval
        g = vectorized(parse_function(spec.approximate.function, "approximate.function"), "numpy")
        x = torch.linspace(a, b, GRID, dtype=torch.float64).reshape(-1, 1)
        target = torch.as_tensor(g(x.numpy()[:, 0]), dtype=torch.float64)
        rows = []
        for n in spec.approximate.bumps:
            inner = torch.linspace(a, b, n + 1, dtype=torch.float64)
            heights = torch.as_tensor(g(((inner[:-1] + inner[1:]) / 2).numpy()), dtype=torch.float64)
            edges = inner.clone()
            edges[0], edges[-1] = a - (b - a) / n, b + (b - a) / n  # the ends inside the outer bumps
            row = []
            for k in spec.approximate.steepness:
                w = torch.full((2 * n,), float(k), dtype=torch.float64)
                bias = -k * torch.cat([edges[:-1], edges[1:]])
                out_w = torch.cat([heights, -heights])
                row.append((_network(w, bias, out_w, x)[:, 0] - target).abs().max().item())
            rows.append(row)
        out["E"] = np.array(rows)
    return out


def _network(w: torch.Tensor, b: torch.Tensor, out_w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch
    hidden = torch.nn.Linear(1, len(w), dtype=torch.float64)
    output = torch.nn.Linear(len(w), 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.copy_(w.reshape(-1, 1))
        hidden.bias.copy_(b)
        output.weight.copy_(out_w.reshape(1, -1))
        return output(torch.sigmoid(hidden(x)))


KIND = Kind("sigmoid_bumps", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check)
