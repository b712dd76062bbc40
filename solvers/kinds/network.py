"""Feed-forward networks: forward pass, loss, backpropagation and SGD steps.

Three parts, each readable alone:
1. the problem file (`Spec`, `check`): what a TA writes, and every way it can be wrong;
2. the derivation (`derive`): built once per network *structure* from SymPy's local
   derivatives and the chain rule, layer by layer; `solve` evaluates it at the numbers;
3. the reference (`reference`): the same network rebuilt in float64 torch with
   torch.nn.functional and autograd, sharing nothing with part 2 but the quantity keys.

Quantity keys (also the names verification reports): x, y, eta, W{l}, b{l}, z{l}, a{l}, L,
fprime{l} (f'(p) of layer l), J{l} (softmax Jacobian), dL_d<key> (∂L/∂ that quantity);
quantities of SGD step k > 1 end in +{k-1}, parameters after k steps are W{l}+{k}.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

import numpy as np
import sympy
import torch
from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictInt, StringConstraints

from .. import formula as F
from ..activations import DEFAULT_ALPHA, NAMES, Activation, softmax_jacobian_checked
from ..derivation import Derivation, Evaluator, Quantity, Section, Step
from ..problem import FieldError, Text, Title, kind
from ..solution import Answer, Item, Solution
from ..timing import timed

# --------------------------------------------------------------------------------------
# 1. The problem file
# --------------------------------------------------------------------------------------

def _not_mixed(value):
    if isinstance(value, list) and any(isinstance(v, list) for v in value) and not all(
            isinstance(v, list) for v in value):
        raise ValueError("mixes numbers and lists; expected a matrix (a list of rows)")
    return value


def _target_not_boolean(value):
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a target; expected a class index (0, 1, ...), a label 0 or 1, "
                         "or a list of numbers")
    return value


Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)?$", max_length=24)]
Number = Annotated[float, Strict(), AllowInfNan(False)]  # finite; true/false are not numbers
Vector = Annotated[list[Number], Field(min_length=1)] | Number
Matrix = Annotated[Annotated[list[Annotated[list[Number], Field(min_length=1)]], Field(min_length=1)]
                   | Annotated[list[Number], Field(min_length=1)] | Number, BeforeValidator(_not_mixed)]
LOSSES = ("cross_entropy", "binary_cross_entropy", "squared_error")
RESERVED_NAMES = {"x", "y", "z", "a", "L", "eta", "delta", "J"}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(Model):
    activation: Literal[NAMES]  # type: ignore[valid-type]
    weights: Matrix | None = None
    bias: Vector | None = None
    alpha: Annotated[Number, Field(gt=0)] | None = None
    name: Identifier | None = None
    bias_name: Identifier | None = None


class Network(Model):
    input: Vector
    input_name: Identifier = "x"
    layout: Literal["rows", "columns"] = "rows"
    superscripts: Literal["auto", "always", "never"] = "auto"
    layers: list[Layer] = Field(min_length=1)


class Loss(Model):
    type: Literal[LOSSES]  # type: ignore[valid-type]
    target: Annotated[StrictInt | Vector, BeforeValidator(_target_not_boolean)]
    half: bool = False
    reduction: Literal["sum", "mean"] = "sum"


class SGD(Model):
    learning_rate: Annotated[Number, Field(gt=0)]
    steps: Annotated[int, Field(ge=1, le=20)] = 1


class Ask(Model):
    forward: bool = False
    loss: bool = False
    gradients: Literal["all"] | list[str] | None = None
    deltas: bool = False
    sgd: SGD | None = None


class Spec(Model):
    kind: Literal["network"]
    title: Title
    statement: Text = ""
    notes: Text = ""
    digits: Annotated[int, Field(ge=2, le=12)] = 4
    biases: Literal["use", "ignore"] = "use"
    kink: Literal["left", "right"] = "left"
    network: Network
    loss: Loss | None = None
    ask: Ask


def as_vector(value) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def as_matrix(value, layout: str) -> list[list[float]]:
    """Weights as a list of rows; a flat list is one unit's weights."""
    if not isinstance(value, list):
        return [[float(value)]]
    if value and all(isinstance(v, list) for v in value):
        return [[float(v) for v in row] for row in value]
    if any(isinstance(v, list) for v in value):
        raise FieldError("", "mixes numbers and lists; expected a matrix (a list of rows)")
    row = [float(v) for v in value]
    return [row] if layout == "rows" else [[v] for v in row]


def check(spec: Spec) -> None:
    """Everything pydantic cannot see: shapes, targets, names, what is asked."""
    structure(spec)  # raises FieldError on any inconsistency


# --------------------------------------------------------------------------------------
# The structure of a problem: everything but its numbers
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerShape:
    dense: bool
    inputs: int
    units: int
    bias: bool
    activation: Activation
    weight_name: str
    bias_name: str
    without_superscript: bool


@dataclass(frozen=True)
class Structure:
    layout: str
    input_name: str
    layers: tuple[LayerShape, ...]
    loss: tuple[str, bool, str] | None
    wanted: frozenset[str]
    deltas: bool
    sgd_steps: int

    @property
    def outputs(self) -> int:
        return self.layers[-1].units


def structure(spec: Spec) -> Structure:
    net = spec.network
    width = len(as_vector(net.input))
    layers, names = [], {(net.input_name, None)}
    for l, layer in enumerate(net.layers, 1):
        where = f"network.layers[{l - 1}]"
        shape = _layer_shape(spec, layer, l, width, where)
        for field, name in (("name", shape.weight_name), ("bias_name", shape.bias_name)):
            shown = (name, None if shape.without_superscript else l)
            if shape.dense and (shown in names or name in RESERVED_NAMES):
                raise FieldError(f"{where}.{field}", f"the name {name!r} is already used; give each parameter "
                                 f"its own name (x, y, z, a, L, eta, delta and J are taken)")
            names.add(shown)
        layers.append(shape)
        width = shape.units
    loss = _check_loss(spec, layers)
    wanted = _wanted_gradients(spec, layers)
    ask = spec.ask
    if not (ask.forward or ask.loss or wanted or ask.deltas or ask.sgd):
        raise FieldError("ask", "asks for nothing; expected at least one of forward, loss, gradients, deltas, sgd")
    if (ask.loss or wanted or ask.deltas or ask.sgd) and spec.loss is None:
        raise FieldError("loss", "is missing, but the problem asks for the loss or its gradients")
    if ask.sgd and not any(layer.dense for layer in layers):
        raise FieldError("ask.sgd", "the network has no parameters to update")
    return Structure(net.layout, net.input_name, tuple(layers), loss, frozenset(wanted), ask.deltas,
                     ask.sgd.steps if ask.sgd else 0)


def _layer_shape(spec: Spec, layer: Layer, l: int, width: int, where: str) -> LayerShape:
    activation = Activation(layer.activation, _alpha(layer, where), spec.kink)
    if layer.weights is None:
        for field in ("bias", "name", "bias_name"):
            if getattr(layer, field) is not None:
                raise FieldError(f"{where}.{field}", "is given, but the layer has no weights; "
                                 "an activation-only layer takes only `activation`")
        return LayerShape(False, width, width, False, activation, "", "", False)
    try:
        weights = as_matrix(layer.weights, spec.network.layout)
    except FieldError as error:
        raise FieldError(f"{where}.weights", error.message) from None
    rows, cols = len(weights), len(weights[0])
    if any(len(row) != cols for row in weights):
        raise FieldError(f"{where}.weights", f"rows have different lengths {[len(r) for r in weights]}; "
                         "expected a rectangular matrix")
    rows_layout = spec.network.layout == "rows"
    inputs, units = (cols, rows) if rows_layout else (rows, cols)
    if inputs != width:
        feeding = "the input has" if l == 1 else f"layer {l - 1} has"
        expected = f"{units}×{width}" if rows_layout else f"{width}×{units}"
        layout = "rows-are-units" if rows_layout else "columns-are-units"
        raise FieldError(f"{where}.weights", f"{rows}×{cols} matrix, but {feeding} {width} "
                         f"{'entries' if l == 1 else 'outputs'} ({layout} layout expects {expected})")
    if layer.bias is not None and len(as_vector(layer.bias)) != units:
        count = len(as_vector(layer.bias))
        raise FieldError(f"{where}.bias", f"has {count} {'entry' if count == 1 else 'entries'}, but the layer "
                         f"has {units} unit{'s' if units > 1 else ''}; expected {units}")
    without_superscript = {"auto": layer.name is not None, "always": False, "never": True}[spec.network.superscripts]
    return LayerShape(True, inputs, units, layer.bias is not None and spec.biases == "use", activation,
                      layer.name or "W", layer.bias_name or _default_bias_name(layer.name), without_superscript)


def _default_bias_name(weight_name: str | None) -> str:
    """b for W^(l); b_1 for w_1; b_v for v."""
    if weight_name is None:
        return "b"
    return "b_" + (weight_name.split("_", 1)[1] if "_" in weight_name else weight_name)


def _alpha(layer: Layer, where: str) -> float | None:
    if layer.alpha is not None and layer.activation not in DEFAULT_ALPHA:
        raise FieldError(f"{where}.alpha", f"only leaky_relu and elu take alpha, not {layer.activation}")
    return layer.alpha if layer.alpha is not None else DEFAULT_ALPHA.get(layer.activation)


def _check_loss(spec: Spec, layers: list[LayerShape]) -> tuple[str, bool, str] | None:
    loss = spec.loss
    if loss is None:
        return None
    n, last = layers[-1].units, layers[-1].activation.name
    if loss.type == "cross_entropy":
        if last != "softmax":
            raise FieldError("loss.type", f"cross_entropy needs probabilities: the last activation must be "
                             f"softmax, found {last}")
        if isinstance(loss.target, int) and not isinstance(loss.target, bool):
            if not 0 <= loss.target < n:
                raise FieldError("loss.target", f"class {loss.target} is out of range; expected a class "
                                 f"index from 0 to {n - 1} (classes are numbered from 0)")
        else:
            target = as_vector(loss.target)
            if len(target) != n or any(t < 0 for t in target) or abs(sum(target) - 1) > 1e-12:
                raise FieldError("loss.target", f"{target} is not a one-hot (or probability) vector of "
                                 f"length {n}; expected entries ≥ 0 summing to 1, or a class index")
    elif loss.type == "binary_cross_entropy":
        if n != 1 or last != "sigmoid":
            raise FieldError("loss.type", f"binary_cross_entropy needs one sigmoid output, found {n} "
                             f"{last} output{'s' if n > 1 else ''}")
        target = as_vector(loss.target)
        if len(target) != 1 or not 0 <= target[0] <= 1:
            raise FieldError("loss.target", f"{loss.target} is not a label; expected 0 or 1")
    else:
        target = as_vector(loss.target)
        if len(target) != n:
            raise FieldError("loss.target", f"has {len(target)} entries, but the network has {n} outputs")
    if loss.type != "squared_error" and (loss.half or loss.reduction != "sum"):
        raise FieldError("loss.half" if loss.half else "loss.reduction", "applies to squared_error only")
    return loss.type, loss.half, loss.reduction


def _wanted_gradients(spec: Spec, layers: list[LayerShape]) -> set[str]:
    asked = spec.ask.gradients
    if asked is None:
        return set()
    available = {}
    for l, layer in enumerate(layers, 1):
        if layer.dense:
            available[f"W{l}"] = available[layer.weight_name] = f"W{l}"
            if layer.bias:
                available[f"b{l}"] = available[layer.bias_name] = f"b{l}"
    if asked == "all":
        return set(available.values())
    wanted = set()
    for i, name in enumerate(asked):
        if name not in available:
            raise FieldError(f"ask.gradients[{i}]", f"no parameter is called {name!r}; expected one of "
                             f"{', '.join(sorted(available))}")
        wanted.add(available[name])
    return wanted


# --------------------------------------------------------------------------------------
# 2. The derivation
# --------------------------------------------------------------------------------------

def _shape_word(rows: int, cols: int) -> str:
    return "scalar" if rows == cols == 1 else ("vector" if cols == 1 else "matrix")


def _quantity(key: str, rows: int, cols: int, base: str, layer: int | None = None, primes: int = 0) -> Quantity:
    return Quantity(key, (rows, cols), F.Var(key, base, _shape_word(rows, cols), layer, (), primes))


def _entry(q: Quantity, *index) -> F.Node:
    """Display symbol of one entry; a scalar quantity is its own only entry."""
    return q.symbol if q.shape == (1, 1) else q.entry(*index)


LOSS_SYMBOL = F.Var("L", "L")


def _partial(q: Quantity) -> Quantity:
    """The quantity ∂L/∂q."""
    key = f"dL_d{q.key}"
    return Quantity(key, q.shape, F.Partial(key, LOSS_SYMBOL, q.symbol))


def _sym(expr: sympy.Expr, *quantities: Quantity) -> F.Sym:
    """`expr` over entries of `quantities`, shown with their display symbols."""
    names = []
    for q in quantities:
        for (i, j), symbol in np.ndenumerate(np.array(q.elements, dtype=object)):
            if symbol in expr.free_symbols:
                names.append((symbol, _entry(q, i) if q.shape[1] == 1 else q.entry(i, j)))
    return F.Sym(expr, tuple(names))


@dataclass(frozen=True)
class _Generic:
    """One generic output entry a_i with target y_i, of an output of n entries."""
    a: sympy.Symbol
    y: sympy.Symbol
    n: int


class _Builder:
    """Builds the sections of one network derivation; one method per kind of step."""

    def __init__(self, s: Structure):
        self.s = s
        n0 = s.layers[0].inputs
        self.x = _quantity("x", n0, 1, s.input_name)
        self.y = _quantity("y", s.outputs, 1, "y")
        self.eta = _quantity("eta", 1, 1, "eta")
        self.params = {l: self._params(l, layer, "", 0) for l, layer in enumerate(s.layers, 1) if layer.dense}
        self.givens = [self.x] + [q for pair in self.params.values() for q in pair if q] + [self.y]
        if s.sgd_steps:
            self.givens.append(self.eta)
        self.sections: list[Section] = []

    def _params(self, l: int, layer: LayerShape, suffix: str, primes: int):
        rows, cols = (layer.units, layer.inputs) if self.s.layout == "rows" else (layer.inputs, layer.units)
        superscript = None if layer.without_superscript else l
        weights = _quantity(f"W{l}{suffix}", rows, cols, layer.weight_name, superscript, primes)
        bias = (_quantity(f"b{l}{suffix}", layer.units, 1, layer.bias_name, superscript, primes)
                if layer.bias else None)
        return weights, bias

    def build(self) -> Derivation:
        for k in range(max(self.s.sgd_steps, 1)):
            suffix = f"+{k}" if k else ""
            facts = {"step": k + 1, "steps": self.s.sgd_steps}
            outputs = self.forward(suffix, facts)
            if self.s.loss:
                loss = self.loss(outputs, suffix, facts)
                if self.s.wanted or self.s.deltas or self.s.sgd_steps:
                    gradients = self.backward(outputs, suffix, facts)
                    if self.s.sgd_steps:
                        self.update(gradients, k + 1, facts)
        return Derivation(self.givens, self.sections)

    # -- forward ---------------------------------------------------------------------
    def forward(self, suffix: str, facts: dict) -> list[tuple[Quantity, Quantity]]:
        """Steps z = W a + b and a = f(z) for every layer; returns (p, a) per layer, p
        being what the activation is applied to (z, or the previous a)."""
        steps, outputs, u = [], [], self.x
        for l, layer in enumerate(self.s.layers, 1):
            p = u
            if layer.dense:
                p = _quantity(f"z{l}{suffix}", layer.units, 1, "z", l)
                steps.append(self.linear(l, u, p))
            a = _quantity(f"a{l}{suffix}", layer.units, 1, "a", l)
            steps.append(self.activation(layer.activation, p, a))
            outputs.append((p, a))
            u = a
        self.sections.append(Section("forward", steps, facts))
        return outputs

    def linear(self, l: int, u: Quantity, z: Quantity) -> Step:
        weights, bias = self.params[l]
        rows = self.s.layout == "rows"
        product = F.Mul(weights.symbol if rows else F.Transpose(weights.symbol), u.symbol)
        formula = F.Add(product, bias.symbol) if bias else product
        compute = (weights.elements if rows else weights.elements.T) * u.elements
        if bias:
            compute += bias.elements
        parts = []
        if z.shape != (1, 1) or u.shape != (1, 1):
            for i in range(z.shape[0]):
                terms = [F.Mul(_entry(weights, i, j) if rows else _entry(weights, j, i), _entry(u, j))
                         for j in range(u.shape[0])]
                parts.append((_entry(z, i), F.Add(*terms, _entry(bias, i)) if bias else F.Add(*terms)))
        return Step("linear", z, formula, compute, {"layout": self.s.layout, "layer": l}, parts)

    def activation(self, act: Activation, p: Quantity, a: Quantity) -> Step:
        facts = {"activation": act.name, "alpha": act.alpha, "function": F.Call(act.name, F.Var("z", "z")),
                 "definition": act.definition(sympy.Symbol("z")) if act.elementwise else None}
        if not act.elementwise:
            exps = [sympy.exp(q - sympy.Max(*p.elements)) for q in p.elements]
            compute = sympy.Matrix([e / sum(exps) for e in exps])
            total = F.Add(*[F.Call("exp", _entry(p, j)) for j in range(p.shape[0])])
            parts = [(_entry(a, i), F.Frac(F.Call("exp", _entry(p, i)), total)) for i in range(p.shape[0])]
            return Step("softmax", a, F.Call("softmax", p.symbol), compute, facts, parts)
        compute = sympy.Matrix([act.numeric(act.symbolic(q)) for q in p.elements])
        parts = [(_entry(a, i), F.Call(act.name, _entry(p, i))) for i in range(p.shape[0])]
        return Step("activation", a, F.Call(act.name, p.symbol), compute, facts,
                    parts if act.name != "identity" else [])

    # -- loss --------------------------------------------------------------------------
    def loss(self, outputs, suffix: str, facts: dict) -> Quantity:
        (p, a), (kind_, half, reduction) = outputs[-1], self.s.loss
        L = Quantity(f"L{suffix}", (1, 1), F.Var(f"L{suffix}", "L"))
        n, y = a.shape[0], self.y
        if kind_ == "cross_entropy":
            formula = F.Neg(F.Sum("i", F.Mul(y.symbol.entry("i"), F.Log(a.symbol.entry("i")))))
            expanded = F.Neg(F.Add(*[F.Mul(_entry(y, i), F.Log(_entry(a, i))) for i in range(n)]))
            m = sympy.Max(*p.elements)
            compute = m + sympy.log(sum(sympy.exp(q - m) for q in p.elements)) - (y.elements.T * p.elements)[0]
        elif kind_ == "binary_cross_entropy":
            one = F.Num(1)
            formula = F.Neg(F.Add(F.Mul(y.symbol, F.Log(a.symbol)),
                                  F.Mul(F.Paren(F.Sub(one, y.symbol)), F.Log(F.Sub(one, a.symbol)))))
            expanded = None
            q, t = p.elements[0], y.elements[0]
            compute = sympy.Max(q, 0) - q * t + sympy.log(1 + sympy.exp(-sympy.Abs(q)))
        else:
            scale = (sympy.Rational(1, 2) if half else 1) / (n if reduction == "mean" else 1)
            square = F.Pow(F.Sub(_entry(a, "i"), _entry(y, "i")), F.Num(2))
            body = F.Sum("i", square) if n > 1 else F.Pow(F.Sub(a.symbol, y.symbol), F.Num(2))
            formula = F.Mul(F.Sym(scale), body) if scale != 1 else body
            terms = F.Add(*[F.Pow(F.Sub(_entry(a, i), _entry(y, i)), F.Num(2)) for i in range(n)])
            expanded = (F.Mul(F.Sym(scale), F.Paren(terms)) if scale != 1 else terms) if n > 1 else None
            compute = scale * sum((q - t) ** 2 for q, t in zip(a.elements, y.elements))
        parts = [(L.symbol, expanded)] if expanded else []
        step = Step("loss", L, formula, sympy.Matrix([[compute]]),
                    {"loss": kind_, "half": half, "reduction": reduction, "outputs": n}, parts)
        self.sections.append(Section("loss", [step], facts))
        return L

    def loss_expression(self, a: Quantity) -> sympy.Expr:
        """L as a SymPy expression of the output's entries, to differentiate."""
        kind_, half, reduction = self.s.loss
        if isinstance(a, _Generic):
            av, yv = [a.a], [a.y]
        else:
            av, yv = list(a.elements), list(self.y.elements)
        if kind_ == "cross_entropy":
            return -sum(t * sympy.log(q) for q, t in zip(av, yv))
        if kind_ == "binary_cross_entropy":
            return -(yv[0] * sympy.log(av[0]) + (1 - yv[0]) * sympy.log(1 - av[0]))
        n = a.n if isinstance(a, _Generic) else len(av)
        scale = (sympy.Rational(1, 2) if half else 1) / (n if reduction == "mean" else 1)
        return scale * sum((q - t) ** 2 for q, t in zip(av, yv))

    # -- backward ----------------------------------------------------------------------
    def backward(self, outputs, suffix: str, facts: dict) -> dict[str, Quantity]:
        """Steps from ∂L/∂a of the output down to the lowest layer anything is asked of."""
        s, steps, gradients = self.s, [], {}
        lowest = self._lowest_layer()
        top = len(s.layers)
        p, a = outputs[-1]
        last = s.layers[-1].activation.name
        shortcut = (s.loss[0], last) in (("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid"))
        if shortcut:
            delta = _partial(p)
            steps.append(Step("output_shortcut", delta, F.Sub(a.symbol, self.y.symbol),
                              a.elements - self.y.elements, {"loss": s.loss[0], "activation": last}))
        else:
            g = _partial(a)
            steps.append(self.loss_gradient(a, g))
        for l in range(top, lowest - 1, -1):
            layer, (p, a) = s.layers[l - 1], outputs[l - 1]
            if not (shortcut and l == top):
                delta = self.activation_backward(layer.activation, p, a, g, f"{l}{suffix}", steps)
            if layer.dense:
                u = outputs[l - 2][1] if l > 1 else self.x
                gradients.update(self.parameter_gradients(l, u, delta, steps))
                if l > lowest:
                    g = _partial(u)
                    steps.append(self.input_gradient(l, delta, g, u))
            else:
                g = delta
        self.sections.append(Section("backward", steps, facts))
        return gradients

    def _lowest_layer(self) -> int:
        s = self.s
        if s.deltas or s.sgd_steps:
            return min(l for l, layer in enumerate(s.layers, 1) if layer.dense)
        return min(int(key[1:]) for key in s.wanted)

    def loss_gradient(self, a: Quantity, g: Quantity) -> Step:
        """∂L/∂a of the output, entry by entry, differentiated by SymPy; the formula shown
        is the derivative of one generic entry i."""
        expr = self.loss_expression(a)
        compute = sympy.Matrix([sympy.diff(expr, q) for q in a.elements])
        ai, yi = sympy.symbols("a_i y_i", real=True)
        generic = sympy.factor_terms(sympy.diff(self.loss_expression(_Generic(ai, yi, a.shape[0])), ai))
        formula = F.Sym(generic, ((ai, _entry(a, "i")), (yi, _entry(self.y, "i"))))
        parts = [(_entry(g, i), _sym(sympy.factor_terms(compute[i]), a, self.y)) for i in range(a.shape[0])]
        return Step("loss_gradient", g, formula, compute,
                    {"loss": self.s.loss[0], "entry": _entry(g, "i")}, parts if a.shape != (1, 1) else [])

    def activation_backward(self, act: Activation, p, a, g, tag: str, steps: list[Step]) -> Quantity:
        """∂L/∂p from ∂L/∂a: the element-wise f'(p) ⊙ g, or the softmax Jacobian's Jᵀ g.
        `tag` is the layer number with the SGD-step suffix."""
        delta = _partial(p)
        if not act.elementwise:
            softmax_jacobian_checked(p.shape[0])
            J = Quantity(f"J{tag}", (p.shape[0], p.shape[0]), F.Partial(f"J{tag}", a.symbol, p.symbol))
            n = p.shape[0]
            compute = sympy.Matrix(n, n, lambda i, j: a.elements[i] * (int(i == j) - a.elements[j]))
            steps.append(Step("softmax_jacobian", J, F.Sub(F.Diag(a.symbol), F.Mul(a.symbol, F.Transpose(a.symbol))),
                              compute, {"entry_i": J.symbol.entry("i", "j")}))
            steps.append(Step("jacobian_backward", delta, F.Mul(F.Transpose(J.symbol), g.symbol),
                              J.elements.T * g.elements))
            return delta
        d = Quantity(f"fprime{tag}", p.shape, F.Partial(f"fprime{tag}", a.symbol, p.symbol))
        compute = sympy.Matrix([act.derivative_from_output(q, o) for q, o in zip(p.elements, a.elements)])
        parts = []
        for i in range(p.shape[0]):
            if act.name in ("sigmoid", "tanh"):
                parts.append((_entry(d, i), _sym(compute[i], a)))
            elif act.name != "identity":
                parts.append((_entry(d, i), F.Call(act.name, _entry(p, i), derivative=True)))
        facts = {"activation": act.name, "alpha": act.alpha, "kink": act.kink,
                 "function": F.Call(act.name, F.Var("z", "z"), derivative=True),
                 "derivative": act.derivative(sympy.Symbol("z")), "at_kink": act.derivative_at_kink()}
        steps.append(Step("activation_derivative", d, F.Call(act.name, p.symbol, derivative=True),
                          compute, facts, parts))
        hadamard = sympy.Matrix([x * y for x, y in zip(d.elements, g.elements)])
        steps.append(Step("activation_backward", delta, F.Hadamard(d.symbol, g.symbol), hadamard))
        return delta

    def parameter_gradients(self, l: int, u: Quantity, delta: Quantity, steps: list[Step]) -> dict:
        """∂L/∂W and ∂L/∂b from ∂L/∂z, with the local derivatives ∂z/∂W, ∂z/∂b as facts."""
        weights, bias = self.params_in_use[l]
        local, out = self._local(weights, bias, u, delta), {}
        if f"W{l}" in self.s.wanted or self.s.sgd_steps:
            dW = _partial(weights)
            if self.s.layout == "rows":
                formula, compute = F.Mul(delta.symbol, F.Transpose(u.symbol)), delta.elements * u.elements.T
            else:
                formula, compute = F.Mul(u.symbol, F.Transpose(delta.symbol)), u.elements * delta.elements.T
            entry = (_entry(dW, "i", "j"), F.Mul(local["dL_dz"], local["input"]))
            steps.append(Step("weight_gradient", dW, formula, compute,
                              {**local, "layout": self.s.layout, "entry": entry}))
            out[f"W{l}"] = dW
        if bias and (f"b{l}" in self.s.wanted or self.s.sgd_steps):
            db = _partial(bias)
            steps.append(Step("bias_gradient", db, delta.symbol, delta.elements, local))
            out[f"b{l}"] = db
        return out

    def _local(self, weights: Quantity, bias: Quantity | None, u: Quantity, delta: Quantity) -> dict:
        """One unit's pre-activation written out, and its local derivatives, as display nodes:
        z_i = Σ_j W_ij a_j + b_i with ∂z_i/∂W_ij = a_j, ∂z_i/∂b_i = 1, ∂z_i/∂a_j = W_ij
        (indices swapped in the columns layout)."""
        unit, source = ("i", "j") if self.s.layout == "rows" else ("j", "i")
        z = delta.symbol.wrt
        z_unit = z.entry(unit) if z.shape != "scalar" else z
        w = _entry(weights, "i", "j")
        a = _entry(u, source)
        total = F.Sum(source, F.Mul(w, a)) if u.shape != (1, 1) else F.Mul(w, a)
        return {"unit": z_unit, "sum": F.Add(total, _entry(bias, unit)) if bias else total,
                "dz_dW": F.Partial("", z_unit, w), "input": a, "weight": w,
                "dz_db": F.Partial("", z_unit, _entry(bias, unit)) if bias else None,
                "dz_da": F.Partial("", z_unit, a), "dL_dz": _entry(delta, unit),
                "dL_da": F.Partial("", LOSS_SYMBOL, a), "source": source}

    def input_gradient(self, l: int, delta: Quantity, g: Quantity, u: Quantity) -> Step:
        weights, bias = self.params_in_use[l]
        rows = self.s.layout == "rows"
        formula = F.Mul(F.Transpose(weights.symbol) if rows else weights.symbol, delta.symbol)
        compute = (weights.elements.T if rows else weights.elements) * delta.elements
        facts = {**self._local(weights, bias, u, delta), "layout": self.s.layout}
        return Step("input_gradient", g, formula, compute, facts)

    # -- SGD -----------------------------------------------------------------------------
    def update(self, gradients: dict[str, Quantity], k: int, facts: dict) -> None:
        steps, new_params = [], {}
        for l, (weights, bias) in self.params_in_use.items():
            new_w, new_b = self._params(l, self.s.layers[l - 1], f"+{k}", k if k <= 3 else 0)
            for old, new in ((weights, new_w), (bias, new_b)):
                if old is None:
                    continue
                grad = gradients[old.key.split("+")[0]]
                formula = F.Sub(old.symbol, F.Mul(self.eta.symbol, grad.symbol))
                compute = old.elements - self.eta.elements[0] * grad.elements
                steps.append(Step("sgd_update", new, formula, compute, {"old": old.symbol}))
            new_params[l] = (new_w, new_b)
        self.params = new_params
        self.sections.append(Section("sgd", steps, {**facts, "eta": self.eta.symbol}))

    @property
    def params_in_use(self):
        return self.params


@lru_cache(maxsize=256)
def derive(s: Structure) -> tuple[Derivation, Evaluator]:
    """The derivation for one network structure, compiled; cached across problems."""
    with timed("derivation"):
        derivation = _Builder(s).build()
        return derivation, derivation.compile()


# --------------------------------------------------------------------------------------
# Solving: evaluate the derivation at the problem's numbers
# --------------------------------------------------------------------------------------

def given_values(spec: Spec) -> dict[str, np.ndarray]:
    s = structure(spec)
    net = spec.network
    values = {"x": np.array(as_vector(net.input)).reshape(-1, 1), "y": target_vector(spec, s.outputs)}
    for l, (layer, shape) in enumerate(zip(net.layers, s.layers), 1):
        if shape.dense:
            values[f"W{l}"] = np.array(as_matrix(layer.weights, net.layout))
            if shape.bias:
                values[f"b{l}"] = np.array(as_vector(layer.bias)).reshape(-1, 1)
    if spec.ask.sgd:
        values["eta"] = np.array([[spec.ask.sgd.learning_rate]])
    return values


def target_vector(spec: Spec, n: int) -> np.ndarray:
    if spec.loss is None:
        return np.zeros((n, 1))
    target = spec.loss.target
    if spec.loss.type == "cross_entropy" and isinstance(target, int) and not isinstance(target, bool):
        return np.eye(n)[:, [target]]
    return np.array(as_vector(target)).reshape(-1, 1)


def solve(spec: Spec, name: str = "") -> Solution:
    s = structure(spec)
    derivation, evaluator = derive(s)
    values = evaluator.evaluate(given_values(spec))
    return Solution(name, "network", spec.title, spec.statement, spec.notes, spec.digits,
                    _givens(spec, s, derivation), _questions(spec, s, derivation),
                    _conventions(spec, s), derivation, values, _answers(spec, s, derivation, values))


def _by_key(derivation: Derivation) -> dict[str, Quantity]:
    found = {q.key: q for q in derivation.givens}
    found.update({step.target.key: step.target for step in derivation.steps})
    return found


def _givens(spec: Spec, s: Structure, derivation: Derivation) -> list[Item]:
    q = _by_key(derivation)
    items = [Item("input", {"symbol": q["x"].symbol, "value": q["x"].symbol})]
    for l, layer in enumerate(s.layers, 1):
        facts = {"layer": l, "activation": layer.activation.name, "alpha": layer.activation.alpha,
                 "units": layer.units, "dense": layer.dense, "layout": s.layout}
        if layer.dense:
            facts["weights"] = q[f"W{l}"].symbol
            facts["bias"] = q[f"b{l}"].symbol if layer.bias else None
        items.append(Item("layer", facts))
    if s.loss:
        items.append(Item("target", {"symbol": q["y"].symbol, "loss": s.loss[0],
                                     "class": spec.loss.target if isinstance(spec.loss.target, int)
                                     and s.loss[0] == "cross_entropy" else None}))
    return items


def _questions(spec: Spec, s: Structure, derivation: Derivation) -> list[Item]:
    q, ask, items = _by_key(derivation), spec.ask, []
    if ask.forward:
        items.append(Item("forward", {"outputs": [q[f"a{len(s.layers)}"].symbol]}))
    if ask.loss:
        items.append(Item("loss", {"loss": s.loss[0]}))
    if s.wanted:
        order = [k for l in range(1, len(s.layers) + 1) for k in (f"W{l}", f"b{l}") if k in s.wanted]
        items.append(Item("gradients", {"symbols": [q[f"dL_d{k}"].symbol for k in order]}))
    if ask.deltas:
        items.append(Item("deltas", {"symbols": [q[f"dL_dz{l}"].symbol for l, layer in enumerate(s.layers, 1)
                                                 if layer.dense]}))
    if ask.sgd:
        items.append(Item("sgd", {"eta": q["eta"].symbol, "steps": ask.sgd.steps}))
    return items


def _conventions(spec: Spec, s: Structure) -> list[Item]:
    items = [Item("layout", {"layout": s.layout})]
    if spec.biases == "ignore":
        items.append(Item("biases_ignored"))
    seen = set()
    for layer in s.layers:
        act = layer.activation
        if act.derivative_at_kink() is not None and act.name not in seen:
            seen.add(act.name)
            items.append(Item("kink", {"activation": act.name, "kink": act.kink, "value": act.derivative_at_kink(),
                                       "at_zero": F.Call(act.name, F.Num(0), derivative=True),
                                       "alpha": act.alpha}))
    if s.loss:
        items.append(Item("loss_" + s.loss[0], {"half": s.loss[1], "reduction": s.loss[2],
                                                "outputs": s.outputs}))
    return items


def _answers(spec: Spec, s: Structure, derivation: Derivation, values) -> list[Answer]:
    q, ask, names = _by_key(derivation), spec.ask, []
    if ask.forward:
        for l, layer in enumerate(s.layers, 1):
            names += ([(f"forward.z{l}", f"z{l}")] if layer.dense else []) + [(f"forward.a{l}", f"a{l}")]
    if ask.loss:
        names.append(("loss", "L"))
    for l in range(1, len(s.layers) + 1):
        if ask.deltas and s.layers[l - 1].dense:
            names.append((f"gradient.z{l}", f"dL_dz{l}"))
        names += [(f"gradient.{k}", f"dL_d{k}") for k in (f"W{l}", f"b{l}") if k in s.wanted]
    for k in range(1, s.sgd_steps + 1):
        for l in range(1, len(s.layers) + 1):
            names += [(f"sgd.step{k}.{p}{l}", f"{p}{l}+{k}") for p in "Wb" if f"{p}{l}+{k}" in q]
    return [Answer(name, key, q[key].symbol, values[key]) for name, key in names]


# --------------------------------------------------------------------------------------
# 3. The reference: the same network in float64 torch, from the problem file alone
# --------------------------------------------------------------------------------------

def _torch_activation(name: str, alpha: float | None, kink: str, p: torch.Tensor) -> torch.Tensor:
    """torch.nn.functional's activation; at a kink with the right-derivative convention,
    a torch.where whose autograd picks the z ≥ 0 branch at 0."""
    if kink == "right" and name in ("relu", "leaky_relu", "elu"):
        negative = {"relu": lambda: torch.zeros_like(p), "leaky_relu": lambda: alpha * p,
                    "elu": lambda: alpha * torch.expm1(p)}[name]()
        return torch.where(p >= 0, p, negative)
    return {
        "relu": lambda: torch.nn.functional.relu(p),
        "leaky_relu": lambda: torch.nn.functional.leaky_relu(p, alpha),
        "elu": lambda: torch.nn.functional.elu(p, alpha),
        "sigmoid": lambda: torch.sigmoid(p),
        "tanh": lambda: torch.tanh(p),
        "identity": lambda: p.clone(),
        "softmax": lambda: torch.softmax(p, dim=0),
    }[name]()


def _torch_loss(spec: Spec, p: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss, functional = spec.loss, torch.nn.functional
    if loss.type == "cross_entropy":
        return functional.cross_entropy(p.unsqueeze(0), y.unsqueeze(0))
    if loss.type == "binary_cross_entropy":
        return functional.binary_cross_entropy_with_logits(p, y)
    return functional.mse_loss(a, y, reduction=loss.reduction) * (0.5 if loss.half else 1.0)


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Every quantity a network derivation can show, computed by torch autograd."""
    net, tensor = spec.network, lambda v: torch.tensor(v, dtype=torch.float64)
    use_bias = spec.biases == "use"
    params = {}
    for l, layer in enumerate(net.layers, 1):
        if layer.weights is not None:
            params[f"W{l}"] = tensor(as_matrix(layer.weights, net.layout))
            if layer.bias is not None and use_bias:
                params[f"b{l}"] = tensor(as_vector(layer.bias))
    x = tensor(as_vector(net.input))
    y = torch.from_numpy(target_vector(spec, _output_width(spec))[:, 0])
    out = {"x": x, "y": y}
    out.update(params)
    steps = spec.ask.sgd.steps if spec.ask.sgd else 1
    for k in range(steps):
        suffix = f"+{k}" if k else ""
        leaves = {key: value.clone().requires_grad_(True) for key, value in params.items()}
        recorded = _torch_forward(spec, x, leaves, suffix)
        if spec.loss is not None:
            p_last, a_last = recorded["_last"]
            L = _torch_loss(spec, p_last, a_last, y)
            L.backward()
            out[f"L{suffix}"] = L
            for key, t in recorded.items():
                if key.startswith("_"):
                    continue
                if t.grad is not None:
                    out[f"dL_d{key}"] = t.grad
                out[key] = t
            for key, leaf in leaves.items():
                out[f"dL_d{key}{suffix}"] = leaf.grad
        else:
            out.update({key: t for key, t in recorded.items() if not key.startswith("_")})
        out.update(_torch_local_derivatives(spec, recorded, suffix))
        if spec.ask.sgd:
            eta = spec.ask.sgd.learning_rate
            params = {key: (leaf - eta * leaf.grad).detach() for key, leaf in leaves.items()}
            out.update({f"{key}+{k + 1}": value for key, value in params.items()})
            out["eta"] = tensor(eta)
    return {key: np.atleast_2d(t.detach().numpy()).reshape(_column(t)) for key, t in out.items()}


def _column(t: torch.Tensor) -> tuple[int, int]:
    return (t.shape[0], 1) if t.dim() == 1 else ((1, 1) if t.dim() == 0 else tuple(t.shape))


def _output_width(spec: Spec) -> int:
    width = len(as_vector(spec.network.input))
    for layer in spec.network.layers:
        if layer.weights is not None:
            m = as_matrix(layer.weights, spec.network.layout)
            width = len(m) if spec.network.layout == "rows" else len(m[0])
    return width


def _torch_forward(spec: Spec, x: torch.Tensor, leaves: dict, suffix: str) -> dict:
    """Run the network forward, keeping every intermediate (with retain_grad)."""
    net, functional = spec.network, torch.nn.functional
    x = x.clone().requires_grad_(True)
    recorded, u, u_key = {"x" if not suffix else f"x{suffix}": x}, x, "x"
    for l, layer in enumerate(net.layers, 1):
        p, p_key = u, u_key
        if layer.weights is not None:
            W = leaves[f"W{l}"]
            p = functional.linear(u, W if net.layout == "rows" else W.T, leaves.get(f"b{l}"))
            p_key = f"z{l}{suffix}"
            p.retain_grad()
            recorded[p_key] = p
        alpha = layer.alpha if layer.alpha is not None else DEFAULT_ALPHA.get(layer.activation)
        a = _torch_activation(layer.activation, alpha, spec.kink, p)
        a.retain_grad()
        recorded[f"a{l}{suffix}"] = a
        recorded[f"_p{l}"] = (p, p_key)
        u, u_key = a, f"a{l}{suffix}"
    recorded["_last"] = (p, a)
    return recorded


def _torch_local_derivatives(spec: Spec, recorded: dict, suffix: str) -> dict:
    """f'(p) of every element-wise layer (autograd of f summed) and softmax Jacobians."""
    out = {}
    for l, layer in enumerate(spec.network.layers, 1):
        p = recorded[f"_p{l}"][0].detach().clone().requires_grad_(True)
        alpha = layer.alpha if layer.alpha is not None else DEFAULT_ALPHA.get(layer.activation)
        if layer.activation == "softmax":
            out[f"J{l}{suffix}"] = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), p)
        else:
            (grad,) = torch.autograd.grad(_torch_activation(layer.activation, alpha, spec.kink, p).sum(), p)
            out[f"fprime{l}{suffix}"] = grad
    return out


kind("network")(sys.modules[__name__])
