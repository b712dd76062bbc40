"""The problem file of a network problem: what a TA writes, every way it can be wrong,
and its *structure* (everything but the numbers), which keys the derivation cache."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, StrictInt, StringConstraints

from ...activations import DEFAULT_ALPHA, NAMES, Activation
from ...core import FieldError, Model, Number, SpecBase
from .asked import (
    check_below,
    differentiated_quantity,
    frozen_parameters,
    jacobian_pairs,
    parameter_names,
    wanted_gradients,
)
from .data import (
    as_vector,
    check_batchable,
    check_loss,
    input_examples,
    per_example,
    target_vectors,
)
from .optimize import optimizer_terms, optimizer_values  # noqa: F401 (optimizer_values: API)


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
MOST_UNITS = 10  # entries of a layer: the widest matrix a sheet shows readably in full
MOST_INPUTS = 64  # entries of the input (an 8×8 image); beyond MOST_UNITS no weighted sum is written out
MOST_LAYERS = 10
MOST_EXAMPLES = 32  # examples of a batch (a row each in the columns layout)
MOST_COLUMNS = 8  # examples of a batch in the rows layout, a column each: what a page is wide enough for
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
    input: Vector | None = None  # one example, or
    inputs: Annotated[list[Vector], Field(min_length=1, max_length=MOST_EXAMPLES)] | None = None  # a batch
    input_name: Identifier = "x"
    layout: Literal["rows", "columns"] = "rows"
    superscripts: Literal["auto", "always", "never"] = "auto"
    layer_index: Literal["superscript", "subscript"] = "superscript"  # z^{(1)}, or z_1 for one-unit layers
    layers: list[Layer] = Field(min_length=1, max_length=MOST_LAYERS)
    output_name: Identifier | None = None  # how the sheet writes the network's output (CS231n: f)


Target = Annotated[StrictInt | Vector, BeforeValidator(_target_not_boolean)]


class Loss(Model):
    type: Literal[LOSSES]  # type: ignore[valid-type]
    target: Target | None = None  # of the one example, or
    targets: Annotated[list[Target], Field(min_length=1, max_length=MOST_EXAMPLES)] | None = None  # one per example
    half: bool = False
    reduction: Literal["sum", "mean"] = "sum"  # of squared_error over the outputs
    batch_reduction: Literal["mean", "sum"] = "mean"  # of the examples' losses (PyTorch's default: mean)
    symbol: Identifier = "L"  # how the sheet writes the loss (Mazur writes E)


class SGD(Model):
    """torch.optim.SGD: plain, with momentum (Nesterov's if asked), and L2 weight decay."""
    learning_rate: Annotated[Number, Field(gt=0)]
    steps: Annotated[int, Field(ge=1, le=20)] = 1
    parameters: list[str] | None = None  # what the step updates (names as in ask.gradients); default every one
    momentum: Annotated[Number, Field(ge=0)] = 0
    nesterov: bool = False
    weight_decay: Annotated[Number, Field(ge=0)] = 0


class Adam(Model):
    """torch.optim.Adam (weight decay as an L2 term added to the gradient)."""
    learning_rate: Annotated[Number, Field(gt=0)]
    steps: Annotated[int, Field(ge=1, le=20)] = 1
    parameters: list[str] | None = None
    betas: Annotated[list[Annotated[Number, Field(ge=0, lt=1)]], Field(min_length=2, max_length=2)] = [0.9, 0.999]
    eps: Annotated[Number, Field(gt=0)] = 1e-8
    weight_decay: Annotated[Number, Field(ge=0)] = 0


class Jacobian(Model):
    """∂of/∂wrt of one example: `of` a layer's z{l}, a{l} or output; `wrt` the input or an earlier z, a."""
    of: str
    wrt: str


class Ask(Model):
    forward: bool = False
    loss: bool = False
    gradients: Literal["all"] | list[str] | None = None
    gradients_of: str | None = None  # the quantity differentiated: the loss, or a one-entry z{l}, a{l} or output
    jacobians: Annotated[list[Jacobian], Field(max_length=4)] = []
    deltas: bool = False
    sgd: SGD | None = None
    adam: Adam | None = None

    @property
    def optimizer(self) -> SGD | Adam | None:
        return self.sgd or self.adam

    @property
    def optimizer_field(self) -> str:
        return "ask.adam" if self.adam else "ask.sgd"


class Spec(SpecBase):
    kind: Literal["network"]
    biases: Literal["use", "ignore"] = "use"
    kink: Literal["left", "right"] = "left"
    network: Network
    loss: Loss | None = None
    ask: Ask


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
    batch: int = 0  # examples of a batch (0: one example, `input`)
    batch_reduction: str = "mean"  # the batch loss: mean or sum of the examples' losses
    of: str = "L"  # the quantity the gradients are of: the loss L, or a one-entry z{l} or a{l}
    output_name: str | None = None  # the display name of the last layer's output, if the problem gives one
    optimizer: tuple[str, ...] = ("sgd",)  # its name and terms: momentum, nesterov, decay
    jacobians: tuple[tuple[str, str], ...] = ()  # (of, wrt) keys of each Jacobian asked, e.g. (a2, x)

    @property
    def of_layer(self) -> int:
        """The layer of the differentiated quantity (the last layer for the loss)."""
        return len(self.layers) if self.of == "L" else int(self.of[1:])

    @property
    def outputs(self) -> int:
        return self.layers[-1].units


def structure(spec: Spec) -> Structure:
    net = spec.network
    examples = input_examples(net)
    width = len(examples[0])
    if width > MOST_INPUTS:
        field = "network.input" if net.inputs is None else "network.inputs[0]"
        raise FieldError(field, f"has {width} entries; expected at most {MOST_INPUTS} (an 8×8 image; beyond "
                         f"{MOST_UNITS} entries a sheet shows its vectors and matrices by their corners)")
    loss_name = spec.loss.symbol if spec.loss else "L"
    if loss_name in RESERVED_NAMES - {"L"} or loss_name == net.input_name:
        raise FieldError("loss.symbol", f"the name {loss_name!r} is already used; expected a letter of its own, "
                         "e.g. E (x, y, z, a, eta, delta and J are taken)")
    layers, names = [], {(net.input_name, None), (net.input_name.capitalize(), None), (loss_name, None)}
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
    if net.output_name is not None and (net.output_name in RESERVED_NAMES or (net.output_name, None) in names):
        raise FieldError("network.output_name", f"the name {net.output_name!r} is already used; expected a letter "
                         "of its own, e.g. f (x, y, z, a, L, eta, delta and J are taken)")
    wide = next((l for l, layer in enumerate(layers, 1) if layer.units > 1), None)
    if net.layer_index == "subscript" and wide:
        raise FieldError("network.layer_index", f"is subscript, but layer {wide} has {layers[wide - 1].units} units, "
                         "whose entries take the subscript (z_i); expected superscript, or one unit per layer")
    batch = len(examples) if net.inputs is not None else 0
    if batch > MOST_COLUMNS and net.layout == "rows":
        raise FieldError("network.inputs", f"has {batch} examples, a column each in the rows layout: wider than a "
                         f"page; expected at most {MOST_COLUMNS}, or `layout: columns` (a row per example, up to "
                         f"{MOST_EXAMPLES})")
    loss = check_loss(spec, layers, batch)
    if batch:
        check_batchable(spec, layers)
    available = parameter_names(layers)
    frozen = frozen_parameters(spec, available)
    wanted = wanted_gradients(spec, available | {net.input_name: "x", "x": "x"}, frozen)
    ask = spec.ask
    of = differentiated_quantity(spec, layers)
    jacobians = jacobian_pairs(spec, layers)
    if not (ask.forward or ask.loss or wanted or ask.deltas or ask.optimizer or jacobians):
        raise FieldError("ask", "asks for nothing; expected at least one of forward, loss, gradients, deltas, sgd, "
                         "adam, jacobians")
    if (ask.loss or ask.optimizer or (of == "L" and (wanted or ask.deltas))) and spec.loss is None:
        raise FieldError("loss", "is missing, but the problem asks for the loss or its gradients")
    if of != "L":
        check_below(wanted, ask.deltas, of, layers)
    if ask.optimizer and not any(layer.dense for layer in layers):
        raise FieldError(ask.optimizer_field, "the network has no parameters to update")
    parameters = sum(layer.units * (layer.inputs + layer.bias) for layer in layers if layer.dense)
    steps = ask.optimizer.steps if ask.optimizer else 1
    if parameters * steps > MOST_PARAMETER_STEPS:
        raise FieldError(f"{ask.optimizer_field}.steps" if steps > 1 else "network.layers", f"{parameters} parameters"
                         f"{f' over {steps} steps' if steps > 1 else ''} make a solution of "
                         f"{parameters * steps} parameter updates; expected at most {MOST_PARAMETER_STEPS} "
                         "(fewer steps, layers or units)")
    return Structure(net.layout, net.input_name, tuple(layers), loss, frozenset(wanted), ask.deltas,
                     ask.optimizer.steps if ask.optimizer else 0, loss_name, net.layer_index, frozen, batch,
                     spec.loss.batch_reduction if spec.loss else "mean", of, net.output_name, optimizer_terms(ask),
                     jacobians)


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


# The numbers of a problem

def given_values(spec: Spec) -> dict[str, np.ndarray]:
    s = structure(spec)
    net = spec.network
    values = {"x": per_example(s, [np.array(v) for v in input_examples(net)]),
              "y": per_example(s, target_vectors(spec, s.outputs, s.batch))}
    for l, (layer, shape) in enumerate(zip(net.layers, s.layers), 1):
        if shape.dense:
            values[f"W{l}"] = np.array(as_matrix(layer.weights, net.layout))
            if shape.bias:  # a shared bias is one number (1×1)
                values[f"b{l}"] = np.array(as_vector(layer.bias)).reshape(-1, 1)
    values.update(optimizer_values(spec.ask))
    return values
