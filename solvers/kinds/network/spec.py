"""The problem file of a network problem: what a TA writes, every way it can be wrong,
and its *structure* (everything but the numbers), which keys the derivation cache."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, StrictInt, StringConstraints

from ...activations import DEFAULT_ALPHA, NAMES, Activation
from ...core import FieldError, Model, Number, SpecBase


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
Vector = Annotated[list[Number], Field(min_length=1)] | Number
Matrix = Annotated[Annotated[list[Annotated[list[Number], Field(min_length=1)]], Field(min_length=1)]
                   | Annotated[list[Number], Field(min_length=1)] | Number, BeforeValidator(_not_mixed)]
LOSSES = ("cross_entropy", "binary_cross_entropy", "squared_error")
MOST_UNITS = 10  # entries of a layer (and of the input): the widest matrix a sheet shows readably
MOST_LAYERS = 10
MOST_PARAMETER_STEPS = 1000  # parameters × SGD steps: the sheet stays readable and builds in seconds
RESERVED_NAMES = {"x", "y", "z", "a", "L", "eta", "delta", "J"}


class SharedBias(Model):
    """One scalar bias added to every unit of a layer: `bias: {shared: 0.35}`."""
    shared: Number


class Layer(Model):
    activation: Literal[NAMES]  # type: ignore[valid-type]
    weights: Matrix | None = None
    bias: Vector | SharedBias | None = None
    alpha: Annotated[Number, Field(gt=0)] | None = None
    name: Identifier | None = None
    bias_name: Identifier | None = None


class Network(Model):
    input: Vector
    input_name: Identifier = "x"
    layout: Literal["rows", "columns"] = "rows"
    superscripts: Literal["auto", "always", "never"] = "auto"
    layer_index: Literal["superscript", "subscript"] = "superscript"  # z^{(1)}, or z_1 for one-unit layers
    layers: list[Layer] = Field(min_length=1, max_length=MOST_LAYERS)


class Loss(Model):
    type: Literal[LOSSES]  # type: ignore[valid-type]
    target: Annotated[StrictInt | Vector, BeforeValidator(_target_not_boolean)]
    half: bool = False
    reduction: Literal["sum", "mean"] = "sum"
    symbol: Identifier = "L"  # how the sheet writes the loss (Mazur writes E)


class SGD(Model):
    learning_rate: Annotated[Number, Field(gt=0)]
    steps: Annotated[int, Field(ge=1, le=20)] = 1
    parameters: list[str] | None = None  # what the step updates (names as in ask.gradients); default every one


class Ask(Model):
    forward: bool = False
    loss: bool = False
    gradients: Literal["all"] | list[str] | None = None
    deltas: bool = False
    sgd: SGD | None = None


class Spec(SpecBase):
    kind: Literal["network"]
    biases: Literal["use", "ignore"] = "use"
    kink: Literal["left", "right"] = "left"
    network: Network
    loss: Loss | None = None
    ask: Ask


def as_vector(value) -> list[float]:
    if isinstance(value, SharedBias):
        return [float(value.shared)]
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
    shared_bias: bool = False  # one scalar bias added to every unit (z = W a + b 1)


@dataclass(frozen=True)
class Structure:
    layout: str
    input_name: str
    layers: tuple[LayerShape, ...]
    loss: tuple[str, bool, str] | None
    wanted: frozenset[str]
    deltas: bool
    sgd_steps: int
    loss_name: str = "L"
    layer_index: str = "superscript"
    frozen: frozenset[str] = frozenset()  # parameters (W{l}, b{l}) the SGD step leaves as they are

    @property
    def outputs(self) -> int:
        return self.layers[-1].units


def structure(spec: Spec) -> Structure:
    net = spec.network
    width = len(as_vector(net.input))
    if width > MOST_UNITS:
        raise FieldError("network.input", f"has {width} entries; expected at most {MOST_UNITS} (the widest vector "
                         "a worked solution shows readably)")
    loss_name = spec.loss.symbol if spec.loss else "L"
    if loss_name in RESERVED_NAMES - {"L"} or loss_name == net.input_name:
        raise FieldError("loss.symbol", f"the name {loss_name!r} is already used; expected a letter of its own, "
                         "e.g. E (x, y, z, a, eta, delta and J are taken)")
    layers, names = [], {(net.input_name, None), (loss_name, None)}
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
    wide = next((l for l, layer in enumerate(layers, 1) if layer.units > 1), None)
    if net.layer_index == "subscript" and wide:
        raise FieldError("network.layer_index", f"is subscript, but layer {wide} has {layers[wide - 1].units} units, "
                         "whose entries take the subscript (z_i); expected superscript, or one unit per layer")
    loss = _check_loss(spec, layers)
    available = _parameter_names(layers)
    frozen = _frozen(spec, available)
    wanted = _wanted_gradients(spec, available, frozen)
    ask = spec.ask
    if not (ask.forward or ask.loss or wanted or ask.deltas or ask.sgd):
        raise FieldError("ask", "asks for nothing; expected at least one of forward, loss, gradients, deltas, sgd")
    if (ask.loss or wanted or ask.deltas or ask.sgd) and spec.loss is None:
        raise FieldError("loss", "is missing, but the problem asks for the loss or its gradients")
    if ask.sgd and not any(layer.dense for layer in layers):
        raise FieldError("ask.sgd", "the network has no parameters to update")
    parameters = sum(layer.units * (layer.inputs + layer.bias) for layer in layers if layer.dense)
    steps = ask.sgd.steps if ask.sgd else 1
    if parameters * steps > MOST_PARAMETER_STEPS:
        raise FieldError("ask.sgd.steps" if steps > 1 else "network.layers", f"{parameters} parameters"
                         f"{f' over {steps} SGD steps' if steps > 1 else ''} make a solution of "
                         f"{parameters * steps} parameter updates; expected at most {MOST_PARAMETER_STEPS} "
                         "(fewer steps, layers or units)")
    return Structure(net.layout, net.input_name, tuple(layers), loss, frozenset(wanted), ask.deltas,
                     ask.sgd.steps if ask.sgd else 0, loss_name, net.layer_index, frozen)


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
    if units > MOST_UNITS:
        raise FieldError(f"{where}.weights", f"gives the layer {units} units; expected at most {MOST_UNITS} (the "
                         "widest matrix a worked solution shows readably)")
    shared = isinstance(layer.bias, SharedBias)
    if not shared and layer.bias is not None and len(as_vector(layer.bias)) != units:
        count = len(as_vector(layer.bias))
        raise FieldError(f"{where}.bias", f"has {count} {'entry' if count == 1 else 'entries'}, but the layer "
                         f"has {units} unit{'s' if units > 1 else ''}; expected {units}")
    without_superscript = {"auto": layer.name is not None, "always": False, "never": True}[spec.network.superscripts]
    bias = layer.bias is not None and spec.biases == "use"
    return LayerShape(True, inputs, units, bias, activation, layer.name or "W",
                      layer.bias_name or _default_bias_name(layer.name), without_superscript,
                      shared_bias=bias and shared and units > 1)  # one unit's shared bias is its own bias


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


def _parameter_names(layers: list[LayerShape]) -> dict[str, str]:
    """Every name a parameter can be called by (W2, or its display name V) -> its key W2."""
    available = {}
    for l, layer in enumerate(layers, 1):
        if layer.dense:
            available[f"W{l}"] = available[layer.weight_name] = f"W{l}"
            if layer.bias:
                available[f"b{l}"] = available[layer.bias_name] = f"b{l}"
    return available


def _frozen(spec: Spec, available: dict[str, str]) -> frozenset[str]:
    """The parameters an SGD step leaves unchanged: those `ask.sgd.parameters` does not name."""
    sgd = spec.ask.sgd
    if sgd is None or sgd.parameters is None:
        return frozenset()
    names = ", ".join(sorted(available))
    if not sgd.parameters:
        raise FieldError("ask.sgd.parameters", f"is empty, so the step would update nothing; expected one or more "
                         f"of {names} (leave the field out to update every parameter)")
    updated = set()
    for i, name in enumerate(sgd.parameters):
        if name not in available:
            raise FieldError(f"ask.sgd.parameters[{i}]", f"no parameter is called {name!r}; expected one of {names}")
        updated.add(available[name])
    return frozenset(set(available.values()) - updated)


def _wanted_gradients(spec: Spec, available: dict[str, str], frozen: frozenset[str]) -> set[str]:
    """The gradients asked; `all` means those of the parameters SGD updates (a frozen one's only by name)."""
    asked = spec.ask.gradients
    if asked is None:
        return set()
    if asked == "all":
        return set(available.values()) - frozen
    wanted = set()
    for i, name in enumerate(asked):
        if name not in available:
            raise FieldError(f"ask.gradients[{i}]", f"no parameter is called {name!r}; expected one of "
                             f"{', '.join(sorted(available))}")
        wanted.add(available[name])
    return wanted


# The numbers of a problem

def given_values(spec: Spec) -> dict[str, np.ndarray]:
    s = structure(spec)
    net = spec.network
    values = {"x": np.array(as_vector(net.input)).reshape(-1, 1), "y": target_vector(spec, s.outputs)}
    for l, (layer, shape) in enumerate(zip(net.layers, s.layers), 1):
        if shape.dense:
            values[f"W{l}"] = np.array(as_matrix(layer.weights, net.layout))
            if shape.bias:  # a shared bias is one number (1×1)
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
