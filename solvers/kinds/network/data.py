"""The examples of a network problem: the input of each (`input`, or a batch `inputs`), the
target of each (`target`, or `targets`), the checks that they fit the network, and their values
as the derivation takes them."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...core import FieldError

if TYPE_CHECKING:
    from .spec import LayerShape, Loss, Network, Spec, Structure


def as_vector(value) -> list[float]:
    if hasattr(value, "shared"):  # a SharedBias
        return [float(value.shared)]
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def input_examples(net: Network) -> list[list[float]]:
    """The input of each example: one for `input`, one per entry of `inputs`."""
    if (net.input is None) == (net.inputs is None):
        raise FieldError("network.input", "is given together with network.inputs" if net.input is not None else
                         "is missing; expected `input` (one example) or `inputs` (a list of examples)")
    if net.inputs is None:
        return [as_vector(net.input)]
    examples = [as_vector(example) for example in net.inputs]
    for n, example in enumerate(examples):
        if len(example) != len(examples[0]):
            raise FieldError(f"network.inputs[{n}]", f"has {len(example)} entries, but example 0 has "
                             f"{len(examples[0])}; expected every example to have the same number of entries")
    return examples


def check_batchable(spec: Spec, layers: list[LayerShape]) -> None:
    """In a batch, softmax's Jacobian is one matrix per example; only its combination with
    cross-entropy (prediction minus target) is worked in matrix form."""
    for l, layer in enumerate(layers, 1):
        last_with_ce = l == len(layers) and spec.loss is not None and spec.loss.type == "cross_entropy"
        if layer.activation.name == "softmax" and not last_with_ce and spec.loss is not None:
            raise FieldError(f"network.layers[{l - 1}].activation", "is softmax inside a batch problem, whose "
                             "backward pass needs one Jacobian per example; expected softmax only as the last "
                             "layer followed by cross_entropy (or a problem on one example: `input`)")


def check_loss(spec: Spec, layers: list[LayerShape], batch: int) -> tuple[str, bool, str] | None:
    loss = spec.loss
    if loss is None:
        return None
    for field, target in _targets(spec, batch):
        _check_target(loss, target, field, layers[-1].units, layers[-1].activation.name)
    if loss.type != "squared_error" and (loss.half or loss.reduction != "sum"):
        raise FieldError("loss.half" if loss.half else "loss.reduction", "applies to squared_error only")
    if not batch and loss.batch_reduction != "mean":
        raise FieldError("loss.batch_reduction", "applies to a batch (network.inputs) only")
    return loss.type, loss.half, loss.reduction


def _targets(spec: Spec, batch: int) -> list[tuple[str, object]]:
    """(field, target) of each example: `target` of the one example, `targets` of a batch."""
    loss = spec.loss
    if not batch:
        if loss.targets is not None:
            raise FieldError("loss.targets", "is a target per example, but network.input is one example; "
                             "expected loss.target (or network.inputs, a list of examples)")
        if loss.target is None:
            raise FieldError("loss.target", "is missing; expected the target of the example")
        return [("loss.target", loss.target)]
    if loss.target is not None:
        raise FieldError("loss.target", "is one target, but network.inputs is a batch; expected loss.targets, "
                         "one target per example")
    if loss.targets is None or len(loss.targets) != batch:
        given = "is missing" if loss.targets is None else f"has {len(loss.targets)} entries"
        raise FieldError("loss.targets", f"{given}, but network.inputs has {batch} examples; expected one target "
                         "per example")
    return [(f"loss.targets[{n}]", target) for n, target in enumerate(loss.targets)]


def _check_target(loss: Loss, target, field: str, n: int, last: str) -> None:
    if loss.type == "cross_entropy":
        if last != "softmax":
            raise FieldError("loss.type", f"cross_entropy needs probabilities: the last activation must be "
                             f"softmax, found {last}")
        if isinstance(target, int) and not isinstance(target, bool):
            if not 0 <= target < n:
                raise FieldError(field, f"class {target} is out of range; expected a class "
                                 f"index from 0 to {n - 1} (classes are numbered from 0)")
        else:
            vector = as_vector(target)
            if len(vector) != n or any(t < 0 for t in vector) or abs(sum(vector) - 1) > 1e-12:
                raise FieldError(field, f"{vector} is not a one-hot (or probability) vector of "
                                 f"length {n}; expected entries ≥ 0 summing to 1, or a class index")
    elif loss.type == "binary_cross_entropy":
        if n != 1 or last != "sigmoid":
            raise FieldError("loss.type", f"binary_cross_entropy needs one sigmoid output, found {n} "
                             f"{last} output{'s' if n > 1 else ''}")
        vector = as_vector(target)
        if len(vector) != 1 or not 0 <= vector[0] <= 1:
            raise FieldError(field, f"{target} is not a label; expected 0 or 1")
    elif len(as_vector(target)) != n:
        raise FieldError(field, f"has {len(as_vector(target))} entries, but the network has {n} outputs")


def per_example(s: Structure, vectors: list[np.ndarray]) -> np.ndarray:
    """Per-example vectors as one quantity: a column for one example; for a batch, a column
    per example (rows layout, X = [x_1 … x_B]) or a row per example (columns layout)."""
    columns = np.column_stack([np.ravel(v) for v in vectors])
    return columns if s.layout == "rows" or not s.batch else columns.T


def target_vectors(spec: Spec, n: int, batch: int) -> list[np.ndarray]:
    """The target of each example as a vector (a class index one-hot encoded); zeros without a loss."""
    if spec.loss is None:
        return [np.zeros(n) for _ in range(max(batch, 1))]
    targets = spec.loss.targets if batch else [spec.loss.target]
    one_hot = spec.loss.type == "cross_entropy"
    return [np.eye(n)[t] if one_hot and isinstance(t, int) and not isinstance(t, bool) else np.array(as_vector(t))
            for t in targets]
