"""Decision regions of a 2-input network with one ReLU hidden layer and a softmax output.

Each hidden unit's boundary z_j = 0 is a line (SymPy solves it), with z_j > 0 on the side
its weight vector points to; the hidden activations of given inputs; the output when the
hidden activations sum to s (when every hidden unit has the same outgoing weights, as in the
seed), exactly in powers of e and as decimals, with the predicted class; and a plot of the
regions. The reference is torch (the pre-activations at the boundary points are 0, the
hidden activations and the softmax outputs), with the boundary points solved by
torch.linalg.solve.

Quantity keys: X (the inputs, 2 × n, one per column), W (2 × units, one column per unit),
b, V (units × classes), c; Z, A (hidden pre-activations and activations of X); per asked
unit u: T{u} (the chosen coordinates), P{u} (2 × count points on its line), ZP{u} (z_u there);
per sum case i: s{i}, O{i} (softmax output).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import sympy
from pydantic import Field

from ... import formula as F
from ...activations import Activation
from ...core import FieldError, Model, Number, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ...kind import Kind, Parts
from ...solution import Answer, Figure, Item, kink_convention

Row = Annotated[list[Number], Field(min_length=1, max_length=10)]
CLASS_COLORS = ["#cfe3f7", "#f9d9b8", "#d4edc9", "#ead1f0", "#f5f0b5"]
LINE_COLORS = ["#1f5fa8", "#c0392b", "#2e8b3a", "#7d3c98", "#d35400", "#117a8b", "#8e6c1f", "#c2185b", "#555555",
               "#2c3e50"]  # one per hidden unit's boundary, told apart in grey print by LINE_STYLES too
LINE_STYLES = ["-", "--", "-.", ":"]


class Layer(Model):
    weights: Annotated[list[Row], Field(min_length=1, max_length=10)]
    bias: Annotated[list[Number], Field(min_length=1, max_length=10)]


class BoundaryPoints(Model):
    unit: Annotated[int, Field(ge=1)] = 1
    count: Annotated[int, Field(ge=1, le=8)] = 4


class Spec(SpecBase):
    kind: Literal["relu_regions"]
    hidden: Layer             # 2 × units, one column per hidden unit
    output: Layer             # units × classes, one column per output unit
    inputs: Annotated[list[Annotated[list[Number], Field(min_length=2, max_length=2)]], Field(max_length=10)] = []
    boundary_points: BoundaryPoints | None = None
    sum_cases: list[Annotated[Number, Field(ge=0)]] = []  # at most 10⁶ in size, as every number
    plot: bool = True


def units(spec: Spec) -> int:
    return len(spec.hidden.weights[0])


def check(spec: Spec) -> None:
    W, V = spec.hidden.weights, spec.output.weights
    if len(W) != 2:
        raise FieldError("hidden.weights", f"has {len(W)} rows; decision regions are drawn in 2-D, so expected "
                         "2 rows (inputs) with one column per hidden unit")
    for name, matrix in (("hidden", W), ("output", V)):
        if any(len(row) != len(matrix[0]) for row in matrix):
            raise FieldError(f"{name}.weights", "rows have different lengths; expected a rectangular matrix")
    if len(spec.hidden.bias) != units(spec):
        raise FieldError("hidden.bias", f"has {len(spec.hidden.bias)} entries for {units(spec)} hidden units")
    if len(V) != units(spec):
        raise FieldError("output.weights", f"has {len(V)} rows but there are {units(spec)} hidden units; "
                         "expected one row per hidden unit")
    if len(V[0]) < 2 or len(spec.output.bias) != len(V[0]):
        raise FieldError("output.bias", f"expected {len(V[0])} entries (one per class), at least 2 classes")
    if spec.boundary_points:
        u = spec.boundary_points.unit
        if u > units(spec):
            raise FieldError("boundary_points.unit", f"there is no hidden unit {u}; there are {units(spec)}")
        if W[0][u - 1] == 0 and W[1][u - 1] == 0:
            raise FieldError("hidden.weights", f"unit {u} has both weights 0: its boundary is not a line")
    if spec.sum_cases and any(row != V[0] for row in V):
        raise FieldError("sum_cases", "the output depends on more than the sum of the hidden activations "
                         "unless every hidden unit has the same outgoing weights (equal rows of output.weights)")


@dataclass(frozen=True)
class PointsOnLine:
    """The boundary points asked: the hidden unit, how many, and the coordinate solved for."""
    unit: int
    count: int
    free: str  # "x2", or "x1" when the unit's x2 weight is 0


@dataclass(frozen=True)
class Structure:
    """The numbers of hidden units, classes, inputs and sum cases, and the boundary points asked."""
    hidden: int
    classes: int
    inputs: int
    boundary_points: PointsOnLine | None
    sum_cases: int
    solved_for: tuple[str, ...] = ()  # per hidden unit, the coordinate its boundary is solved for


def structure(spec: Spec) -> Structure:
    solved_for = tuple("x2" if w2 != 0 else "x1" if w1 != 0 else "" for w1, w2 in zip(*spec.hidden.weights))
    points = None
    if spec.boundary_points:  # check made sure this unit's boundary is a line
        u = spec.boundary_points.unit
        points = PointsOnLine(u, spec.boundary_points.count, solved_for[u - 1])
    return Structure(units(spec), len(spec.output.bias), len(spec.inputs), points, len(spec.sum_cases), solved_for)


def derive(s: Structure) -> Derivation:
    hidden, classes, inputs = s.hidden, s.classes, s.inputs
    W, b = Quantity.named("W", 2, hidden, "W", 1), Quantity.named("b", hidden, 1, "b", 1)
    V, c = Quantity.named("V", hidden, classes, "W", 2), Quantity.named("c", classes, 1, "b", 2)
    givens = [W, b, V, c]
    sections = [Section("boundaries", _boundary_lines(s.solved_for, W, b), _boundary_facts(hidden, W, b))]
    if s.boundary_points:
        sections.append(_points_section(s.boundary_points, W, b, givens))
    if inputs:
        X = Quantity.named("X", 2, inputs, "X")
        givens.append(X)
        Z, A = Quantity.named("Z", hidden, inputs, "Z", 1), Quantity.named("A", hidden, inputs, "A", 1)
        z = W.elements.T * X.elements + b.elements * sympy.ones(1, inputs)
        relu = sympy.Matrix(hidden, inputs, lambda i, j: sympy.Piecewise((Z.elements[i, j], Z.elements[i, j] > 0),
                                                                           (0, True)))
        sections.append(Section("hidden_activations", [
            Step("region_preactivations", Z, F.Add(F.Mul(F.Transpose(W.symbol), X.symbol), b.symbol), z),
            Step("region_activations", A, F.Call("relu", Z.symbol), relu)], {}))
    for i in range(s.sum_cases):
        sections.append(_sum_case_section(i, V, c, classes, givens))
    return Derivation(givens, sections)


def _boundary_facts(hidden: int, W: Quantity, b: Quantity) -> dict:
    x1, x2 = sympy.symbols("x_1 x_2", real=True)
    lines = []
    for j in range(hidden):
        w1, w2, bj = W.elements[0, j], W.elements[1, j], b.elements[j]
        names = ((w1, W.entry(0, j)), (w2, W.entry(1, j)), (bj, b.entry(j)))
        lines.append({"unit": j + 1, "z": F.Var("Z", "z", "scalar", 1, (j,)),
                      "line": F.Sym(sympy.Eq(w1 * x1 + w2 * x2 + bj, 0), names)})
    return {"lines": lines}


def _boundary_lines(solved_for: tuple[str, ...], W: Quantity, b: Quantity) -> list[Step]:
    """Each unit's boundary solved for one coordinate: x₂ = m x₁ + c (slope and intercept), or
    x₁ = c where the unit ignores x₂."""
    steps = []
    for j, coordinate in enumerate(solved_for):
        if not coordinate:  # both weights 0: z is the constant bias everywhere, there is no line
            continue
        w1, w2, bj = W.elements[0, j], W.elements[1, j], b.elements[j]
        if coordinate == "x2":
            line = Quantity.named(f"B{j + 1}", 2, 1, "B")
            compute, weight = sympy.Matrix([-w1 / w2, -bj / w2]), W.entry(1, j)
        else:
            line = Quantity.named(f"B{j + 1}", 1, 1, "B")
            compute, weight = sympy.Matrix([-bj / w1]), W.entry(0, j)
        facts = {"positive": F.Relation(weight, ">", F.Num(0))}  # z grows with the solved coordinate
        steps.append(Step("boundary_line", line, F.Sym(compute), compute,
                          {**facts, "unit": j + 1, "coordinate": coordinate, "z": F.Var("Z", "z", "scalar", 1, (j,))}))
    return steps


def _points_section(points: PointsOnLine, W: Quantity, b: Quantity, givens: list) -> Section:
    unit, count, free = points.unit, points.count, points.free
    j = unit - 1
    x1, x2 = sympy.symbols("x_1 x_2", real=True)
    w1, w2, bj = W.elements[0, j], W.elements[1, j], b.elements[j]
    (solved,) = sympy.solve(sympy.Eq(w1 * x1 + w2 * x2 + bj, 0), x2 if free == "x2" else x1)
    T = Quantity.named(f"T{unit}", count, 1, "t", role="chosen")  # any points do: the solution picks these
    givens.append(T)
    P = Quantity.named(f"P{unit}", 2, count, "P")
    rows = []
    for t in T.elements:
        other = solved.subs(x1 if free == "x2" else x2, t)
        rows.append((t, other) if free == "x2" else (other, t))
    points = sympy.Matrix(2, count, lambda r, k: rows[k][r])
    ZP = Quantity.named(f"ZP{unit}", count, 1, "z")
    check_zero = sympy.Matrix([w1 * P.elements[0, k] + w2 * P.elements[1, k] + bj for k in range(count)])
    names = ((w1, W.entry(0, j)), (w2, W.entry(1, j)), (bj, b.entry(j)))
    return Section("boundary_points", [
        Step("boundary_points", P, F.Sym(sympy.Eq(x2 if free == "x2" else x1, solved), names), points,
             {"free": free, "given": "x_1" if free == "x2" else "x_2", "t": T.symbol}),
        Step("boundary_check", ZP, F.Add(F.Mul(F.Transpose(F.Var("W", "w", "vector", None)), F.Var("p", "p")),
                                         b.entry(j)), check_zero, {"unit": unit})], {"unit": unit})


def _sum_case_section(i: int, V: Quantity, c: Quantity, classes: int, givens: list) -> Section:
    s = Quantity.named(f"s{i}", 1, 1, "s")
    givens.append(s)
    O = Quantity.named(f"O{i}", classes, 1, "a", 2)
    z = [s.elements[0] * V.elements[0, k] + c.elements[k] for k in range(classes)]
    exact = [sympy.exp(zk) / sum(sympy.exp(zm) for zm in z) for zk in z]
    m = sympy.Max(*z)
    stable = sympy.Matrix([sympy.exp(zk - m) / sum(sympy.exp(zm - m) for zm in z) for zk in z])
    names = tuple((e, F.Var(key, base, "scalar", layer, index)) for e, key, base, layer, index in
                  [(s.elements[0], s.key, "s", None, ())] +
                  [(V.elements[0, k], "V", "W", 2, (0, k)) for k in range(classes)] +
                  [(c.elements[k], "c", "b", 2, (k,)) for k in range(classes)])
    parts = [(O.entry(k), F.Sym(exact[k], names)) for k in range(classes)]
    return Section("sum_case", [Step("sum_case_output", O, F.Call("softmax", F.Var("z2", "z", "vector", 2)),
                                     stable, {"classes": classes}, parts)], {"index": i + 1, "s": s.symbol})


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    column = lambda v: np.array(v, dtype=float).reshape(-1, 1)  # noqa: E731
    values = {"W": np.array(spec.hidden.weights, dtype=float), "b": column(spec.hidden.bias),
              "V": np.array(spec.output.weights, dtype=float), "c": column(spec.output.bias)}
    if spec.inputs:
        values["X"] = np.array(spec.inputs, dtype=float).T
    if spec.boundary_points:
        values[f"T{spec.boundary_points.unit}"] = column(range(-1, spec.boundary_points.count - 1))
    for i, s in enumerate(spec.sum_cases):
        values[f"s{i}"] = column([s])
    return values


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    q = derivation.quantities
    givens = [Item("regions_network", {"W": q["W"].symbol, "b": q["b"].symbol, "V": q["V"].symbol,
                                       "c": q["c"].symbol})]
    questions = [Item("regions_boundaries")]
    answers = [Answer(f"boundary.unit{j}.line", f"B{j}", q[f"B{j}"].symbol, values[f"B{j}"])
               for j in range(1, units(spec) + 1) if f"B{j}" in q]
    if spec.boundary_points:
        u = spec.boundary_points.unit
        questions.append(Item("regions_points", {"unit": u, "count": spec.boundary_points.count}))
        answers.append(Answer(f"boundary.unit{u}.points", f"P{u}", q[f"P{u}"].symbol, values[f"P{u}"]))
    if spec.inputs:
        givens.append(Item("regions_inputs", {"X": q["X"].symbol}))
        questions.append(Item("regions_hidden", {}))
        answers.append(Answer("hidden.activations", "A", q["A"].symbol, values["A"]))
    for i, total in enumerate(spec.sum_cases):
        output, case = values[f"O{i}"], F.Relation(F.Var(f"s{i}", "s"), "==", F.Num(float(total)))
        answers += [Answer(f"sum_case.{i + 1}.output", f"O{i}", q[f"O{i}"].symbol, output, case=case),
                    Answer(f"sum_case.{i + 1}.class", f"O{i}", F.Var("class", "k"),
                           np.array([[float(predicted_class(output[:, 0]))]]), integer=True, case=case)]
    if spec.sum_cases:
        questions.append(Item("regions_sums", {"cases": [float(s) for s in spec.sum_cases]}))
    closing = [Item("regions_exact", {"cases": _exact_outputs(spec)})] if spec.sum_cases else []
    if spec.plot:
        alt = (f"Decision regions in the (x1, x2) plane: the boundary line of each of the {units(spec)} hidden units "
               f"in its own colour, the plane shaded by the predicted class of {len(spec.output.bias)}"
               + (f", the {len(spec.inputs)} given inputs marked" if spec.inputs else "") + ".")
        closing.append(Item("regions_plot", {"figure": Figure("regions", _plotter(spec), (6.0, 4.2), alt)}))
    conventions = [Item("regions_layout"), kink_convention(Activation("relu"))]
    return Parts(givens, questions, conventions, answers, closing)


def predicted_class(probabilities: np.ndarray) -> int:
    """The class (from 1) with the largest probability, or 0 for a tie at the top."""
    top = np.flatnonzero(np.isclose(probabilities, probabilities.max(), rtol=1e-12, atol=0))
    return int(top[0]) + 1 if len(top) == 1 else 0


def _exact_outputs(spec: Spec) -> list[dict]:
    """Each sum case's softmax outputs as exact SymPy expressions in powers of e."""
    cases = []
    for s in spec.sum_cases:
        z = [sympy.nsimplify(s) * sympy.nsimplify(v) + sympy.nsimplify(bias)
             for v, bias in zip(spec.output.weights[0], spec.output.bias)]
        total = sum(sympy.exp(zk) for zk in z)
        cases.append({"s": F.Num(s), "outputs": [F.Sym(sympy.simplify(sympy.exp(zk) / total)) for zk in z]})
    return cases


def _plotter(spec: Spec):
    W, b = np.array(spec.hidden.weights, dtype=float), np.array(spec.hidden.bias, dtype=float)
    V, c = np.array(spec.output.weights, dtype=float), np.array(spec.output.bias, dtype=float)
    inputs = np.array(spec.inputs, dtype=float).reshape(-1, 2)
    span = max(4.0, float(np.abs(inputs).max(initial=0)) + 1, float(np.abs(b).max()) + 2)

    def draw(ax) -> None:
        grid = np.linspace(-span, span, 401)
        x1, x2 = np.meshgrid(grid, grid)
        hidden = np.maximum(np.einsum("ij,ikl->jkl", W, np.stack([x1, x2])) + b[:, None, None], 0)
        scores = np.einsum("jc,jkl->ckl", V, hidden) + c[:, None, None]
        predicted = scores.argmax(axis=0)
        colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(len(c))]
        ax.contourf(x1, x2, predicted, levels=np.arange(len(c) + 1) - 0.5, colors=colors)
        for j in range(W.shape[1]):
            w1, w2 = W[:, j]
            style = {"color": LINE_COLORS[j % len(LINE_COLORS)], "ls": LINE_STYLES[j % len(LINE_STYLES)], "lw": 1.4,
                     "label": f"$z_{j + 1} = 0$"}
            if w2 != 0:
                ax.plot(grid, -(w1 * grid + b[j]) / w2, **style)
            else:
                ax.axvline(-b[j] / w1, **style)
        for k, (p1, p2) in enumerate(inputs):
            ax.plot(p1, p2, "k.", ms=6)
            ax.annotate(f"$x^{{({k + 1})}}$", (p1, p2), textcoords="offset points", xytext=(4, 4))
        for k, color in enumerate(colors):
            ax.plot([], [], "s", color=color, ms=9, label=f"class {k + 1}")
        ax.set(xlim=(-span, span), ylim=(-span, span), xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, frameon=False)

    return draw


def reference(spec: Spec) -> dict[str, np.ndarray]:
    import torch
    out = given_values(spec)
    W, b = torch.tensor(spec.hidden.weights, dtype=torch.float64), torch.tensor(spec.hidden.bias, dtype=torch.float64)
    V, c = torch.tensor(spec.output.weights, dtype=torch.float64), torch.tensor(spec.output.bias, dtype=torch.float64)
    if spec.inputs:
        X = torch.tensor(spec.inputs, dtype=torch.float64).T
        Z = W.T @ X + b[:, None]
        out["Z"], out["A"] = Z.numpy(), torch.relu(Z).numpy()
    if spec.boundary_points:
        u, j = spec.boundary_points.unit, spec.boundary_points.unit - 1
        ts = out[f"T{u}"][:, 0]
        free_is_x2 = spec.hidden.weights[1][j] != 0
        points = []
        for t in ts:  # solve [w_j; e_fixed] p = [−b_j; t] for the point p on the line
            fixed = [1.0, 0.0] if free_is_x2 else [0.0, 1.0]
            system = torch.stack([W[:, j], torch.tensor(fixed, dtype=torch.float64)])
            points.append(torch.linalg.solve(system, torch.tensor([-b[j].item(), t], dtype=torch.float64)))
        P = torch.stack(points, dim=1)
        out[f"P{u}"], out[f"ZP{u}"] = P.numpy(), (W[:, j] @ P + b[j]).numpy().reshape(-1, 1)
    for j in range(units(spec)):  # each boundary w₁x₁ + w₂x₂ + b = 0 as x₂ = m x₁ + c, or x₁ = c
        w1, w2 = W[0, j], W[1, j]
        if w1 == 0 and w2 == 0:
            continue
        line = [-w1 / w2, -b[j] / w2] if w2 != 0 else [-b[j] / w1]
        out[f"B{j + 1}"] = torch.stack(line).numpy().reshape(-1, 1)
    for i, s in enumerate(spec.sum_cases):
        out[f"O{i}"] = torch.softmax(s * V[0] + c, dim=0).numpy().reshape(-1, 1)
    return out


KIND = Kind("relu_regions", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check)
