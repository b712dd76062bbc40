"""The training run: every step re-evaluates the compiled derivation of the network kind (one
per batch size, derived once) at the next mini-batch and the current parameters; after each
epoch the network is evaluated on the training and validation sets.

Quantity keys of the run: L@k (the loss of step k's batch, at the parameters before it),
W{l}@k, b{l}@k (the parameters after step k), Lepoch@e (the mean of epoch e's batch losses),
Lval@e, accval@e, acctrain@e (after epoch e), acc_train, acc_val, confusion (at the end)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from ...activations import DEFAULT_ALPHA, LAMBDIFY_MODULES, Activation
from ...core import FieldError
from ..network import KIND as NETWORK
from .inputs import RunInputs, network_problem, output_activation, run_inputs
from .spec import Spec

GROWTH = 1e3
"""A loss this many times the first step's (or 1, if that is less) marks a run that diverges:
its later numbers are rounding errors multiplied step by step, which no two float64
computations (ours, torch's, a student's) reproduce to the digits shown."""


@dataclass(frozen=True)
class Epoch:
    number: int  # from 1
    steps: tuple[int, ...]  # the steps (from 1) it holds
    complete: bool  # every batch of the epoch was done (the last epoch of a run in steps may stop early)


def schedule(inputs: RunInputs, drop_last: bool) -> list[tuple[int, np.ndarray]]:
    """(epoch, example indices) of every step: each epoch's order cut into batches."""
    found, n, size = [], len(inputs.y), inputs.batch
    for e, order in enumerate(inputs.orders, 1):
        for start in range(0, n, size):
            chunk = order[start:start + size]
            if len(chunk) == size or not drop_last:
                found.append((e, chunk))
    return found[:inputs.steps]


def epochs(inputs: RunInputs, drop_last: bool) -> list[Epoch]:
    steps = schedule(inputs, drop_last)
    return [Epoch(e, tuple(k for k, (epoch, _) in enumerate(steps, 1) if epoch == e),
                  sum(epoch == e for epoch, _ in steps) == inputs.per_epoch) for e in range(1, inputs.epochs + 1)]


def evaluator(spec: Spec, inputs: RunInputs, size: int):
    """The compiled network derivation of a step on `size` examples (derived once per size)."""
    problem = inputs.first if size == inputs.batch else network_problem(
        spec, inputs.parameters, inputs.X[:size], inputs.y[:size], inputs.classes)
    return NETWORK.compiled(NETWORK.structure(problem))[1]


def train(spec: Spec) -> dict[str, np.ndarray]:
    """Every value of the run, by key (the module's docstring)."""
    inputs = run_inputs(spec)
    rows = spec.network.layout == "rows"
    eta = np.array([[spec.training.learning_rate]])
    onehot = np.eye(inputs.classes)
    parameters = dict(inputs.parameters)
    values: dict[str, np.ndarray] = {}
    evaluators = {}
    ends = {epoch.steps[-1]: epoch for epoch in epochs(inputs, spec.training.drop_last)}
    for k, (e, batch) in enumerate(schedule(inputs, spec.training.drop_last), 1):
        if len(batch) not in evaluators:
            evaluators[len(batch)] = evaluator(spec, inputs, len(batch))
        x, y = inputs.X[batch], onehot[inputs.y[batch]]
        given = {"x": x.T if rows else x, "y": y.T if rows else y, "eta": eta, **parameters}
        step = evaluators[len(batch)].evaluate(given)
        values[f"L@{k}"] = step["L"]
        parameters = {key: step[f"{key}+1"] for key in parameters}
        values.update({f"{key}@{k}": value for key, value in parameters.items()})
        diverged = _diverged(values[f"L@{k}"], values["L@1"], parameters)
        if diverged:
            raise FieldError("training.learning_rate", f"makes the run diverge: at step {k} {diverged}; expected a "
                             "smaller learning rate")
        if k in ends:
            epoch = ends[k]
            values[f"Lepoch@{e}"] = np.array([[np.mean([values[f"L@{j}"][0, 0] for j in epoch.steps])]])
            values[f"acctrain@{e}"] = _accuracy(spec, parameters, inputs.X, inputs.y)
            if len(inputs.y_val):
                values[f"Lval@{e}"] = _loss(spec, parameters, inputs.X_val, inputs.y_val, inputs.classes)
                values[f"accval@{e}"] = _accuracy(spec, parameters, inputs.X_val, inputs.y_val)
    values["acc_train"] = _accuracy(spec, parameters, inputs.X, inputs.y)
    if len(inputs.y_val):
        values["acc_val"] = _accuracy(spec, parameters, inputs.X_val, inputs.y_val)
    X, y = (inputs.X_val, inputs.y_val) if len(inputs.y_val) else (inputs.X, inputs.y)
    predicted = scores(spec, parameters, X).argmax(axis=1)
    confusion = np.zeros((inputs.classes, inputs.classes))
    np.add.at(confusion, (y, predicted), 1)
    values["confusion"] = confusion
    return values


def _diverged(loss: np.ndarray, first: np.ndarray, parameters: dict[str, np.ndarray]) -> str:
    """Why the run has diverged by this step's `loss` (the first step's: `first`), or ''."""
    if not np.isfinite(loss).all() or not all(np.isfinite(v).all() for v in parameters.values()):
        return "the loss or a parameter is no longer a finite number in float64"
    limit = GROWTH * max(float(first.max()), 1.0)
    return (f"the loss is {float(loss.max()):.4g}, above {limit:.4g} ({GROWTH:g} times the first step's loss, or "
            f"{GROWTH:g} if that is below 1)") if loss.max() > limit else ""


def scores(spec: Spec, parameters: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The output layer's pre-activations of the examples X (a row each), a row per example."""
    rows = spec.network.layout == "rows"
    a = X
    layers = len(spec.network.hidden) + 1
    for l in range(1, layers + 1):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        a = a @ (W.T if rows else W) + b.T
        if l < layers:
            hidden = spec.network.hidden[l - 1]
            a = _function(hidden.activation, hidden.alpha, spec.kink)(a)
    return a


def _per_example_loss(spec: Spec, z: np.ndarray, y: np.ndarray, classes: int) -> np.ndarray:
    if output_activation(spec) == "softmax":  # -ln softmax(z)_y = logsumexp(z) - z_y
        top = z.max(axis=1)
        return top + np.log(np.exp(z - top[:, None]).sum(axis=1)) - z[np.arange(len(y)), y]
    return ((z - np.eye(classes)[y]) ** 2).sum(axis=1)


def _loss(spec: Spec, parameters, X, y, classes) -> np.ndarray:
    return np.array([[_per_example_loss(spec, scores(spec, parameters, X), y, classes).mean()]])


def _accuracy(spec: Spec, parameters, X, y) -> np.ndarray:
    return np.array([[np.mean(scores(spec, parameters, X).argmax(axis=1) == y)]])


@lru_cache(maxsize=None)
def _function(name: str, alpha: float | None, kink: str):
    """An activation as a NumPy function, lambdified from its SymPy definition."""
    activation = Activation(name, alpha if alpha is not None else DEFAULT_ALPHA.get(name), kink)
    z = sympy.Symbol("z", real=True)
    return sympy.lambdify([z], activation.numeric(activation.symbolic(z)), LAMBDIFY_MODULES)
