"""Activation functions and their derivatives: definitions, values, the chain rule through
h = f(wᵀx + b), true/false comparisons of derivatives, and the dead-ReLU condition.

SymPy derives every derivative from the function's definition (kinks as Piecewise with the
convention stated); the reference evaluates the same functions with torch.nn.functional and
autograd.

Quantity keys: t (the points); per function k (1-based, in the order listed) f{k} and df{k}
(values and derivatives at the points); chain: x, w, b, s (= wᵀx + b), dh_dw{k}; compare i:
cmp{i} (the two derivatives); dead ReLU: X, v, c (data, weights, bias), zd (pre-activations)
and, for relu, leaky_relu and elu, dd_{name} (local derivatives), gw_{name}, gb_{name} (the
gradients of L = Σᵢ f(zᵢ)).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import sympy
from pydantic import BeforeValidator, Field, StringConstraints

from ... import formula as F
from ... import torch_ops
from ...activations import DEFAULT_ALPHA, ELEMENTWISE, SMOOTH_EXTRAS, Activation
from ...core import FieldError, Model, Number, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ... import mistakes as M
from ...kind import Kind, Parts
from ...solution import Answer, Item, kink_convention
from .figures import plot

NAMES = ELEMENTWISE + SMOOTH_EXTRAS
DEAD_FAMILY = ("relu", "leaky_relu", "elu")


def _named(value):
    return {"name": value} if isinstance(value, str) else value


class Function(Model):
    name: Literal[NAMES]  # type: ignore[valid-type]
    alpha: Annotated[Number, Field(gt=0)] | None = None


FunctionEntry = Annotated[Function, BeforeValidator(_named)]


class Chain(Model):
    x: Annotated[list[Number], Field(min_length=1, max_length=10)]
    w: Annotated[list[Number], Field(min_length=1, max_length=10)]
    b: Number | None = None
    bias_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)?$", max_length=24)] = "b"


class Comparison(Model):
    greater: FunctionEntry
    than: FunctionEntry
    at: Number = 0.0


class DeadUnit(Model):
    data: Annotated[list[Annotated[list[Number], Field(min_length=1, max_length=10)]], Field(min_length=1, max_length=20)]
    w: Annotated[list[Number], Field(min_length=1, max_length=10)]
    b: Number = 0.0


class Spec(SpecBase):
    kind: Literal["activation"]
    kink: Literal["left", "right"] = "left"
    functions: Annotated[list[FunctionEntry], Field(max_length=10)] = []
    points: Annotated[list[Number], Field(max_length=20)] = []
    chain: Chain | None = None
    compare: Annotated[list[Comparison], Field(max_length=10)] = []
    dead_relu: DeadUnit | None = None


def activation(function: Function, kink: str) -> Activation:
    return Activation(function.name, function.alpha if function.alpha is not None
                      else DEFAULT_ALPHA.get(function.name), kink)


def _check_bias_name(chain: Chain, first: int) -> None:
    """The chain's bias must not be written like x, w, an entry of them, or a symbol of the solution."""
    taken = {"x", "w", "s", "h", "z", "t"} | {f"{v}_{j}" for v in "xw" for j in range(first, first + len(chain.x))}
    if chain.bias_name in taken:
        raise FieldError("chain.bias_name", f"{chain.bias_name!r} is already a symbol of this solution (x, w, "
                         f"their entries x_{first}…, w_{first}…, s, h, z, t); expected another name, e.g. b, or "
                         f"w_{first + len(chain.x)} after the weights")


def check(spec: Spec) -> None:
    for i, function in enumerate(spec.functions):
        if function.alpha is not None and function.name not in DEFAULT_ALPHA:
            raise FieldError(f"functions[{i}].alpha", f"only leaky_relu and elu take alpha, not {function.name}")
    if (spec.points or spec.chain) and not spec.functions:
        raise FieldError("functions", "is empty, but points or chain need functions to evaluate")
    if spec.chain:
        _check_bias_name(spec.chain, spec.count_from)
    if spec.chain and len(spec.chain.x) != len(spec.chain.w):
        raise FieldError("chain.w", f"has {len(spec.chain.w)} entries but x has {len(spec.chain.x)}; "
                         "expected the same length")
    if spec.dead_relu:
        width = len(spec.dead_relu.w)
        for i, row in enumerate(spec.dead_relu.data):
            if len(row) != width:
                raise FieldError(f"dead_relu.data[{i}]", f"has {len(row)} features but w has {width}")
    if not (spec.functions or spec.compare or spec.dead_relu):
        raise FieldError("functions", "the problem asks nothing; expected functions, compare or dead_relu")


# -- derivation ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainShape:
    """The chain rule part: the number of features of x and w, whether there is a bias, and
    how the sheet writes it (b; CS231n writes w_2)."""
    features: int
    bias: bool
    bias_name: str = "b"


@dataclass(frozen=True)
class Compared:
    """One comparison: is the derivative of `greater` larger than that of `than`?"""
    greater: Activation
    than: Activation


@dataclass(frozen=True)
class DeadShape:
    """The dead-ReLU part: the number of examples (rows of the data) and of features."""
    examples: int
    features: int


@dataclass(frozen=True)
class Structure:
    """The activations, the number of points, and the chain, comparison and dead-ReLU parts."""
    activations: tuple[Activation, ...]
    points: int
    chain: ChainShape | None
    comparisons: tuple[Compared, ...]
    dead: DeadShape | None


def _facts(act: Activation) -> dict:
    z = sympy.Symbol("z")
    return {"activation": act.name, "alpha": act.alpha, "kink": act.kink,
            "at_kink": act.derivative_at_kink() if act.has_kink else None,
            "function": F.Call(act.name, F.Var("z", "z")), "definition": act.definition(z),
            "derivative_call": F.Call(act.name, F.Var("z", "z"), derivative=True), "derivative": act.derivative(z)}


def derive(s: Structure) -> Derivation:
    acts, points = s.activations, s.points
    givens, sections = [], []
    t = Quantity.named("t", points, 1, "t")
    if points:
        givens.append(t)
    for k, act in enumerate(acts, 1):
        steps = []
        if points:
            value = Quantity.named(f"f{k}", points, 1, f"f_{k}")
            slope = Quantity.named(f"df{k}", points, 1, f"f'_{k}")
            f, d = act.numeric(act.symbolic()), act.numeric(act.derivative())
            z = sympy.Symbol("z", real=True)
            steps.append(Step("function_values", value, F.Call(act.name, t.symbol),
                              sympy.Matrix([f.subs(z, e) for e in t.elements]), {"activation": act.name},
                              [(value.at(i), F.Call(act.name, t.at(i))) for i in range(points)]))
            steps.append(Step("derivative_values", slope, F.Call(act.name, t.symbol, derivative=True),
                              sympy.Matrix([d.subs(z, e) for e in t.elements]), {"activation": act.name},
                              [(slope.at(i), F.Call(act.name, t.at(i), derivative=True))
                               for i in range(points)]))
        sections.append(Section("activation_function", steps, _facts(act)))
    if s.chain:
        sections.append(_chain_section(acts, s.chain, givens))
    for i, compared in enumerate(s.comparisons):
        sections.append(_comparison_section(i, compared.greater, compared.than, givens))
    if s.dead:
        sections.append(_dead_section(s.dead.examples, s.dead.features, acts[0].kink if acts else "left", givens))
    return Derivation(givens, sections)


def _chain_section(acts, chain: ChainShape, givens: list) -> Section:
    features, bias = chain.features, chain.bias
    x, w = Quantity.named("x", features, 1, "x"), Quantity.named("w", features, 1, "w")
    b = Quantity.named("b", 1, 1, chain.bias_name)
    s = Quantity.named("s", 1, 1, "s")
    givens += [x, w] + ([b] if bias else [])
    product = F.Mul(F.Transpose(w.symbol), x.symbol)
    compute = (w.elements.T * x.elements)[0] + (b.elements[0] if bias else 0)
    steps = [Step("chain_preactivation", s, F.Add(product, b.symbol) if bias else product, sympy.Matrix([[compute]]),
                  {}, [(s.symbol, F.Add(*[F.Mul(w.at(j), x.at(j)) for j in range(features)],
                                        *([b.symbol] if bias else [])))])]
    for k, act in enumerate(acts, 1):
        gradient = Quantity(f"dh_dw{k}", (features, 1), F.Partial(f"dh_dw{k}", F.Var("h", "h"), w.symbol))
        slope = act.numeric(act.derivative()).subs(sympy.Symbol("z", real=True), s.elements[0])
        steps.append(Step("chain_gradient", gradient, F.Mul(F.Call(act.name, s.symbol, derivative=True), x.symbol),
                          slope * x.elements, {**_facts(act), "s": s.symbol, "x_j": x.at("j"),
                                               "w_j": w.at("j"), "dh_dwj": gradient.entry("j")}))
    return Section("chain", steps, {"bias": b.symbol if bias else None})


def _comparison_section(i: int, left: Activation, right: Activation, givens: list) -> Section:
    at = Quantity.named(f"at{i}", 1, 1, "z")
    givens.append(at)
    pair = Quantity.named(f"cmp{i}", 2, 1, "c")
    z = sympy.Symbol("z", real=True)
    compute = sympy.Matrix([a.numeric(a.derivative()).subs(z, at.elements[0]) for a in (left, right)])
    calls = [F.Call(a.name, at.symbol, derivative=True) for a in (left, right)]
    step = Step("comparison", pair, F.Grid(((calls[0],), (calls[1],))), compute,
                {"left": _facts(left), "right": _facts(right), "left_call": calls[0], "right_call": calls[1],
                 "claim": F.Relation(pair.entry(0), ">", pair.entry(1)),
                 "tie": F.Relation(pair.entry(0), "==", pair.entry(1))})
    return Section("comparison", [step], {"index": i + 1})


def _dead_section(examples: int, features: int, kink: str, givens: list) -> Section:
    X, v = Quantity.named("X", examples, features, "X"), Quantity.named("v", features, 1, "w")
    c = Quantity.named("c", 1, 1, "b")
    givens += [X, v, c]
    zd = Quantity.named("zd", examples, 1, "z")
    steps = [Step("dead_preactivations", zd, F.Add(F.Mul(X.symbol, v.symbol), c.symbol),
                  X.elements * v.elements + sympy.ones(examples, 1) * c.elements[0],
                  {"dead": F.Relation(zd.symbol, "<=", F.Num(0))})]
    for name in DEAD_FAMILY:
        act = Activation(name, DEFAULT_ALPHA.get(name), kink)
        local = Quantity(f"dd_{name}", (examples, 1), F.Partial(f"dd_{name}", F.Var("h", "h", "vector"), zd.symbol))
        z = sympy.Symbol("z", real=True)
        d = act.numeric(act.derivative())
        steps.append(Step("dead_local", local, F.Call(name, zd.symbol, derivative=True),
                          sympy.Matrix([d.subs(z, e) for e in zd.elements]), _facts(act)))
        gw = Quantity(f"gw_{name}", (features, 1), F.Partial(f"gw_{name}", F.Var("L", "L"), v.symbol))
        gb = Quantity(f"gb_{name}", (1, 1), F.Partial(f"gb_{name}", F.Var("L", "L"), c.symbol))
        steps.append(Step("dead_gradient_w", gw, F.Mul(F.Transpose(X.symbol), local.symbol),
                          X.elements.T * local.elements,
                          {"activation": name, "zero": F.Relation(gw.symbol, "==", F.Num(0))}))
        steps.append(Step("dead_gradient_b", gb, F.Sum("i", local.symbol.entry("i")),
                          sympy.Matrix([[sum(local.elements)]]), {"activation": name}))
    return Section("dead_relu", steps, {"examples": examples})


def structure(spec: Spec) -> Structure:
    acts = tuple(activation(f, spec.kink) for f in spec.functions)
    chain = ChainShape(len(spec.chain.x), spec.chain.b is not None, spec.chain.bias_name) if spec.chain else None
    comparisons = tuple(Compared(activation(c.greater, spec.kink), activation(c.than, spec.kink))
                        for c in spec.compare)
    dead = DeadShape(len(spec.dead_relu.data), len(spec.dead_relu.w)) if spec.dead_relu else None
    return Structure(acts, len(spec.points), chain, comparisons, dead)


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    column = lambda values: np.array(values, dtype=float).reshape(-1, 1)  # noqa: E731
    values = {"t": column(spec.points)} if spec.points else {}
    if spec.chain:
        values.update(x=column(spec.chain.x), w=column(spec.chain.w))
        if spec.chain.b is not None:
            values["b"] = column([spec.chain.b])
    for i, c in enumerate(spec.compare):
        values[f"at{i}"] = column([c.at])
    if spec.dead_relu:
        values.update(X=np.array(spec.dead_relu.data, dtype=float), v=column(spec.dead_relu.w),
                      c=column([spec.dead_relu.b]))
    return values


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    by_key = derivation.quantities
    answers = []
    for k, function in enumerate(spec.functions, 1):
        if spec.points:
            t = by_key["t"].symbol
            answers += [Answer(f"value.{k}.{function.name}", f"f{k}", F.Call(function.name, t), values[f"f{k}"]),
                        Answer(f"derivative.{k}.{function.name}", f"df{k}", F.Call(function.name, t, True),
                               values[f"df{k}"])]
        if spec.chain:
            answers.append(Answer(f"chain.{k}.{function.name}", f"dh_dw{k}", by_key[f"dh_dw{k}"].symbol,
                                  values[f"dh_dw{k}"]))
    for i, _ in enumerate(spec.compare):
        left, right = values[f"cmp{i}"][:, 0]
        c = spec.compare[i]
        statement = F.Relation(F.Call(c.greater.name, F.Num(c.at), True), ">", F.Call(c.than.name, F.Num(c.at), True))
        answers.append(Answer(f"compare.{i + 1}", f"cmp{i}", statement, np.array([[float(left > right)]]),
                              boolean=True))
    if spec.dead_relu:
        answers += [Answer(f"dead_relu.{g}.{n}", f"{g}_{n}", by_key[f"{g}_{n}"].symbol, values[f"{g}_{n}"])
                    for n in DEAD_FAMILY for g in ("gw", "gb")]
    functions = [activation(f, spec.kink) for f in spec.functions]
    asked = {"activation_derivatives": {"functions": functions}, "activation_points": {},
             "activation_chain": {"bias": by_key["b"].symbol if spec.chain and spec.chain.b is not None else None},
             "activation_compare": {},
             "dead_relu": {}}
    questions = [Item(kind_, asked[kind_]) for kind_, present in (("activation_derivatives", spec.functions),
                 ("activation_points", spec.points), ("activation_chain", spec.chain),
                 ("activation_compare", spec.compare), ("dead_relu", spec.dead_relu)) if present]
    givens = []
    if spec.points:
        givens.append(Item("points", {"symbol": by_key["t"].symbol}))
    if spec.chain:
        givens.append(Item("chain", {"x": by_key["x"].symbol, "w": by_key["w"].symbol,
                                     "b": by_key["b"].symbol if spec.chain.b is not None else None}))
    if spec.dead_relu:
        givens.append(Item("dead_relu", {"X": by_key["X"].symbol, "w": by_key["v"].symbol, "b": by_key["c"].symbol}))
    for i, c in enumerate(spec.compare):
        givens.append(Item("comparison", {"index": i + 1, "left": F.Call(c.greater.name, F.Num(c.at), True),
                                          "right": F.Call(c.than.name, F.Num(c.at), True)}))
    used = list(structure(spec).activations) + ([Activation(n, DEFAULT_ALPHA.get(n), spec.kink) for n in DEAD_FAMILY]
                                                 if spec.dead_relu else [])
    kinked = sorted({a for a in used if a.one_sided_derivatives() is not None}, key=lambda a: (a.name, a.alpha or 0.0))
    conventions = [kink_convention(a) for a in kinked] + ([Item("numbering")] if spec.chain else [])
    closing = [Item("activation_plot", {"figure": plot(functions, [float(p) for p in spec.points], spec.digits),
                                        "kinked": any(a.has_kink for a in functions)})] if functions else []
    return Parts(givens, questions, conventions, answers, closing)


# -- reference ---------------------------------------------------------------------------------------

def _value_and_slope(act: Activation, points) -> tuple[np.ndarray, np.ndarray]:
    import torch
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    out = torch_ops.activation(act.name, act.alpha, act.kink, t)
    out.sum().backward()
    return out.detach().numpy().reshape(-1, 1), t.grad.numpy().reshape(-1, 1)


def reference(spec: Spec) -> dict[str, np.ndarray]:
    import torch
    out = given_values(spec)
    for k, function in enumerate(spec.functions, 1):
        act = activation(function, spec.kink)
        if spec.points:
            out[f"f{k}"], out[f"df{k}"] = _value_and_slope(act, spec.points)
        if spec.chain:
            x = torch.tensor(spec.chain.x, dtype=torch.float64)
            w = torch.tensor(spec.chain.w, dtype=torch.float64, requires_grad=True)
            s = w @ x + (spec.chain.b or 0.0)
            torch_ops.activation(act.name, act.alpha, act.kink, s).backward()
            out["s"], out[f"dh_dw{k}"] = np.array([[s.item()]]), w.grad.numpy().reshape(-1, 1)
    for i, c in enumerate(spec.compare):
        out[f"cmp{i}"] = np.vstack([_value_and_slope(activation(f, spec.kink), [c.at])[1] for f in (c.greater, c.than)])
    if spec.dead_relu:
        X = torch.tensor(spec.dead_relu.data, dtype=torch.float64)
        for name in DEAD_FAMILY:
            act = Activation(name, DEFAULT_ALPHA.get(name), spec.kink)
            w = torch.tensor(spec.dead_relu.w, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(spec.dead_relu.b, dtype=torch.float64, requires_grad=True)
            z = X @ w + b
            z.retain_grad()
            torch_ops.activation(act.name, act.alpha, act.kink, z).sum().backward()
            out["zd"] = z.detach().numpy().reshape(-1, 1)
            out[f"dd_{name}"] = z.grad.numpy().reshape(-1, 1)
            out[f"gw_{name}"], out[f"gb_{name}"] = w.grad.numpy().reshape(-1, 1), np.array([[b.grad.item()]])
    return out


KIND = Kind("activation", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check, counts_from_zero=True,
            mistakes=(M.RELU_MASK_FORGOTTEN, M.KINK_SIDE_WRONG, M.LEAKY_SLOPE_DROPPED, M.ELU_DERIVATIVE_AS_FUNCTION,
                      M.ROUNDED_INTERMEDIATES))
