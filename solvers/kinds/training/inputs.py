"""The inputs of a training run, as the problem file gives them: the data (generated from its
seed, given, or the digits) split into training and validation sets, the initial parameters,
the order of the examples in each epoch, and the first step as a problem of the network kind.
The solver and the reference both start from these; neither computes them otherwise."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pydantic

from ... import datasets
from ...core import FieldError
from ..network import KIND as NETWORK
from ..network.spec import MOST_EXAMPLES as MOST_BATCH
from ..network.spec import MOST_INPUTS
from .spec import MOST_EPOCHS, MOST_STEPS, Spec


@dataclass(frozen=True, eq=False)
class RunInputs:
    X: np.ndarray  # the training examples, a row each
    y: np.ndarray  # their classes, numbered from 0
    X_val: np.ndarray  # the validation examples (none: 0 rows)
    y_val: np.ndarray
    classes: int
    parameters: dict[str, np.ndarray]  # W{l} (the file's layout) and b{l} (a column), before the first step
    batch: int  # examples per batch (the last of an epoch may have fewer)
    per_epoch: int  # batches (steps) per epoch
    steps: int
    epochs: int  # epochs begun (the last may be partial when the run is given in steps)
    orders: tuple[np.ndarray, ...]  # the training examples' order in each epoch
    first: object  # the first step: a network-kind Spec (batch form)

    @property
    def layers(self) -> int:
        return sum(1 for key in self.parameters if key.startswith("W"))


def run_inputs(spec: Spec) -> RunInputs:
    """The run's inputs; a FieldError at the field responsible for anything that does not fit."""
    return _inputs(spec.model_dump_json())


@lru_cache(maxsize=32)
def _inputs(spec_json: str) -> RunInputs:
    spec = Spec.model_validate(json.loads(spec_json))
    X, y = _examples(spec)
    X_train, y_train, X_val, y_val = _split(spec, X, y)
    classes = int(y.max()) + 1
    if X.shape[1] > MOST_INPUTS:
        raise FieldError("data.points", f"has {X.shape[1]} inputs per example, but the first step is worked as a "
                         f"network problem, which takes at most {MOST_INPUTS}; expected examples of at most "
                         f"{MOST_INPUTS} entries")
    parameters = _parameters(spec, X.shape[1], classes)
    n, t = len(y_train), spec.training
    batch = t.batch_size or n
    if batch > n:
        raise FieldError("training.batch_size", f"is {batch}, but the training set has {n} examples"
                         f"{f' ({len(y_val)} held out for validation)' if len(y_val) else ''}; expected at most {n}")
    if batch > MOST_BATCH:
        given = f"is {batch}" if t.batch_size else f"is omitted, so a batch is the whole training set of {n}"
        raise FieldError("training.batch_size", f"{given}, but the first step is worked in full, which shows at "
                         f"most {MOST_BATCH} examples; expected a batch_size of at most {MOST_BATCH}")
    per_epoch = n // batch if t.drop_last else math.ceil(n / batch)
    steps = t.steps if t.steps is not None else t.epochs * per_epoch
    epochs = math.ceil(steps / per_epoch)
    field = "training.steps" if t.steps is not None else "training.epochs"
    if steps > MOST_STEPS:
        raise FieldError(field, f"make {steps} steps of {per_epoch} per epoch; expected at most {MOST_STEPS}")
    if epochs > MOST_EPOCHS:
        raise FieldError(field, f"make {epochs} epochs of {per_epoch} steps; expected at most {MOST_EPOCHS}")
    orders = _orders(t.shuffle_seed, n, epochs)
    first = orders[0][:batch]
    problem = network_problem(spec, parameters, X_train[first], y_train[first], classes)
    return RunInputs(X_train, y_train, X_val, y_val, classes, parameters, batch, per_epoch, steps, epochs, orders,
                     problem)


def _orders(seed: int | None, n: int, epochs: int) -> tuple[np.ndarray, ...]:
    """The order of the training examples in each epoch: numpy.random.default_rng(seed).permutation(n),
    drawn anew for every epoch; without a seed, the examples as they are."""
    if seed is None:
        return tuple(np.arange(n) for _ in range(epochs))
    rng = np.random.default_rng(seed)
    return tuple(rng.permutation(n) for _ in range(epochs))


def _examples(spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    data = spec.data
    if data.points is not None:
        return np.array(data.points, dtype=float), np.array(data.labels, dtype=int)
    if data.digits:
        try:
            X, y = datasets.digits()
        except (ModuleNotFoundError, FileNotFoundError) as error:
            raise FieldError("data.digits", str(error)) from None
        return X[:data.examples or len(y)], y[:data.examples or len(y)]
    noise = data.noise
    try:
        if data.generate == "blobs":
            return datasets.blobs(data.examples, data.classes or 2, 1.0 if noise is None else noise, data.seed)
        generator = {"two_moons": datasets.two_moons, "xor": datasets.xor}[data.generate]
        return generator(data.examples, noise or 0.0, data.seed)
    except ValueError as error:
        raise FieldError("data.examples", f"{error}") from None


def _split(spec: Spec, X: np.ndarray, y: np.ndarray):
    fraction, n = spec.data.validation, len(y)
    if not fraction:
        return X, y, X[:0], y[:0]
    if round(fraction * n) == 0:
        raise FieldError("data.validation", f"is {fraction:g}, which holds out none of the {n} examples; expected "
                         f"0 (no validation set) or at least {1 / n:.2g}")
    try:
        return datasets.split(X, y, fraction, spec.data.seed)
    except ValueError as error:
        raise FieldError("data.validation", str(error)) from None


def _parameters(spec: Spec, inputs: int, classes: int) -> dict[str, np.ndarray]:
    """W{l} in the file's layout and b{l} as a column: drawn (every layer's weights in turn, as a
    units × inputs matrix, from one generator) or given."""
    net, widths = spec.network, [inputs] + [h.units for h in spec.network.hidden] + [classes]
    rows = net.layout == "rows"
    out = {}
    rng = np.random.default_rng(net.init.seed) if net.init else None
    for l, (fan_in, units) in enumerate(zip(widths, widths[1:]), 1):
        if rng is not None:
            W, b = rng.normal(0.0, net.init.scale, size=(units, fan_in)), np.zeros(units)
            W = W if rows else W.T
        else:
            given, where = net.layers[l - 1], f"network.layers[{l - 1}]"
            W = np.array(given.weights, dtype=float) if len({len(r) for r in given.weights}) == 1 else None
            expected = (units, fan_in) if rows else (fan_in, units)
            if W is None or W.shape != expected:
                found = "rows of different lengths" if W is None else f"a {W.shape[0]}×{W.shape[1]} matrix"
                what = "the output layer" if l == len(widths) - 1 else f"hidden layer {l}"
                raise FieldError(f"{where}.weights", f"is {found}, but {what} has {units} units and {fan_in} inputs; "
                                 f"expected {expected[0]}×{expected[1]} ({'a row' if rows else 'a column'} per unit)")
            b = np.zeros(units) if given.bias is None else np.array(given.bias, dtype=float)
            if len(b) != units:
                raise FieldError(f"{where}.bias", f"has {len(b)} entries; expected {units}, one per unit")
        out[f"W{l}"], out[f"b{l}"] = W, b.reshape(-1, 1)
    return out


def output_activation(spec: Spec) -> str:
    """Softmax before cross-entropy; no activation (the scores themselves) before the squared error."""
    return "softmax" if spec.loss == "cross_entropy" else "identity"


def network_problem(spec: Spec, parameters: dict, X: np.ndarray, y: np.ndarray, classes: int):
    """One step of the run as a network-kind problem in batch form: the batch's examples and
    targets, the parameters, the loss averaged over the batch, the gradients and one SGD step."""
    layers = []
    for l, hidden in enumerate([*spec.network.hidden, None], 1):
        layer = {"weights": parameters[f"W{l}"].tolist(), "bias": parameters[f"b{l}"].ravel().tolist(),
                 "activation": hidden.activation if hidden else output_activation(spec)}
        if hidden and hidden.alpha is not None:
            layer["alpha"] = hidden.alpha
        layers.append(layer)
    targets = [int(c) for c in y] if spec.loss == "cross_entropy" else np.eye(classes)[y].tolist()
    problem = {"kind": "network", "title": spec.title, "digits": spec.digits, "count_from": spec.count_from,
               "kink": spec.kink, "network": {"inputs": X.tolist(), "layout": spec.network.layout, "layers": layers},
               "loss": {"type": spec.loss, "targets": targets, "batch_reduction": "mean"},
               "ask": {"loss": True, "gradients": "all", "sgd": {"learning_rate": spec.training.learning_rate}}}
    try:
        network = NETWORK.Spec.model_validate(problem)
        NETWORK.validate(network)
    except pydantic.ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise FieldError(_field(spec, ".".join(str(p) for p in first["loc"])), f"{first['msg']} (in the first "
                         "step, worked as a network problem)") from None
    except FieldError as error:
        raise FieldError(_field(spec, error.field), f"{error.message} (in the first step, worked as a network "
                         "problem)") from None
    return network


def _field(spec: Spec, field: str) -> str:
    """The field of the training problem that a field of its first step's network problem comes from."""
    layer = re.match(r"network\.layers\.?\[?(\d+)", field)
    if layer:
        l = int(layer.group(1))
        return f"network.hidden[{l}]" if l < len(spec.network.hidden) else "network"
    for prefix, ours in (("network.input", "data"), ("loss", "loss"), ("ask", "training")):
        if field.startswith(prefix):
            return ours
    return "network"
