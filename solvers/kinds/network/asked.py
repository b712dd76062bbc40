"""What a network problem asks, checked against its layers: the parameters it names (and
which are frozen), the quantity its gradients are of, and the Jacobians it asks for."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...core import FieldError

if TYPE_CHECKING:
    from .spec import LayerShape, Spec


def parameter_names(layers: list[LayerShape]) -> dict[str, str]:
    """Every name a parameter can be called by (W2, or its display name V) -> its key W2."""
    available = {}
    for l, layer in enumerate(layers, 1):
        if layer.dense:
            available[f"W{l}"] = available[layer.weight_name] = f"W{l}"
            if layer.bias:
                available[f"b{l}"] = available[layer.bias_name] = f"b{l}"
    return available


def frozen_parameters(spec: Spec, available: dict[str, str]) -> frozenset[str]:
    """The parameters an optimiser step leaves unchanged: those `ask.sgd.parameters` does not name."""
    sgd, field = spec.ask.optimizer, spec.ask.optimizer_field
    if sgd is None or sgd.parameters is None:
        return frozenset()
    names = ", ".join(sorted(available))
    if not sgd.parameters:
        raise FieldError(f"{field}.parameters", f"is empty, so the step would update nothing; expected one or more "
                         f"of {names} (leave the field out to update every parameter)")
    updated = set()
    for i, name in enumerate(sgd.parameters):
        if name not in available:
            raise FieldError(f"{field}.parameters[{i}]", f"no parameter is called {name!r}; expected one of {names}")
        updated.add(available[name])
    return frozenset(set(available.values()) - updated)


def wanted_gradients(spec: Spec, available: dict[str, str], frozen: frozenset[str]) -> set[str]:
    """The gradients asked; `all` means those of the parameters SGD updates (a frozen one's only by name)."""
    asked = spec.ask.gradients
    if asked is None:
        return set()
    if asked == "all":
        return set(available.values()) - frozen - {"x"}
    wanted = set()
    for i, name in enumerate(asked):
        if name not in available:
            raise FieldError(f"ask.gradients[{i}]", f"no parameter is called {name!r}; expected one of "
                             f"{', '.join(sorted(available))}")
        wanted.add(available[name])
    return wanted


def _layer_quantities(layers: list[LayerShape]) -> list[str]:
    """The keys of what the forward pass computes, in order: z1, a1, z2, a2, ... (no z without weights)."""
    return [f"{p}{l}" for l, layer in enumerate(layers, 1) for p in ("z", "a") if p == "a" or layer.dense]


def _quantity_key(spec: Spec, name: str, layers: list[LayerShape]) -> str | None:
    """The key of a quantity named in `ask`: output (or network.output_name) is the last a."""
    key = f"a{len(layers)}" if name in ("output", spec.network.output_name) else name
    return key if key in _layer_quantities(layers) else None


def differentiated_quantity(spec: Spec, layers: list[LayerShape]) -> str:
    """The key of the quantity `ask.gradients_of` names: L (the loss, the default), or z{l}/a{l}
    ("output" is the last a) of one entry."""
    name = spec.ask.gradients_of
    if name is None or name in ("loss", "L", spec.loss.symbol if spec.loss else "L"):
        return "L"
    key = _quantity_key(spec, name, layers)
    if key is None:
        raise FieldError("ask.gradients_of", f"no quantity is called {name!r}; expected the loss (leave the field "
                         f"out), output, or one of {', '.join(_layer_quantities(layers))}")
    l = int(key[1:])
    if layers[l - 1].units > 1 or spec.network.inputs is not None:
        raise FieldError("ask.gradients_of", f"{name} has {layers[l - 1].units * max(1, len(spec.network.inputs or []))} "
                         "entries, so its derivative is a Jacobian; expected a quantity of one entry (a layer of one "
                         "unit, on one example), or ask.jacobians for the Jacobian of a vector")
    if spec.ask.sgd:
        raise FieldError("ask.sgd", f"gradient descent minimises the loss, but the gradients are of {name}; "
                         "expected no sgd, or the gradients of the loss")
    return key


def check_below(wanted: set[str], deltas: bool, of: str, layers: list[LayerShape]) -> None:
    """Gradients of z{l} or a{l} exist only for what comes before it."""
    top = int(of[1:])
    for key in sorted(wanted):
        if key != "x" and int(key[1:]) > top:
            raise FieldError("ask.gradients", f"{key} is used after {of}, so {of} does not depend on it; expected "
                             f"parameters of layers 1 to {top} or the input")
    if deltas and top < len(layers):
        raise FieldError("ask.deltas", f"asks for every layer's ∂/∂z, but layers above {top} come after {of}; "
                         "expected no deltas, or the gradients of the loss")


def jacobian_pairs(spec: Spec, layers: list[LayerShape]) -> tuple[tuple[str, str], ...]:
    """The (of, wrt) keys of each Jacobian `ask.jacobians` asks: of a layer's z or a (or the output)
    with respect to the input or an earlier z or a, on one example."""
    asked = spec.ask.jacobians
    if asked and spec.network.inputs is not None:
        raise FieldError("ask.jacobians", "the problem has a batch of examples; expected one example "
                         "(network.input): a Jacobian is of one example's vectors")
    order = ["x"] + _layer_quantities(layers)
    names = f"output, {spec.network.input_name}, {', '.join(order[1:])}"
    out = []
    for i, jacobian in enumerate(asked):
        of = _quantity_key(spec, jacobian.of, layers)
        if of is None:
            raise FieldError(f"ask.jacobians[{i}].of", f"no quantity is called {jacobian.of!r}; expected one of "
                             f"{names}")
        wrt = "x" if jacobian.wrt in ("x", spec.network.input_name) else _quantity_key(spec, jacobian.wrt, layers)
        if wrt is None:
            parameter = jacobian.wrt in parameter_names(layers)
            raise FieldError(f"ask.jacobians[{i}].wrt", f"{jacobian.wrt!r} is "
                             + ("a parameter, and the derivative of a vector with respect to a matrix is not a matrix; "
                                "expected the input or an earlier z or a (ask.gradients_of takes parameters)"
                                if parameter else f"not a quantity of the network; expected one of {names}"))
        if order.index(wrt) >= order.index(of):
            raise FieldError(f"ask.jacobians[{i}].wrt", f"{jacobian.wrt} does not come before {jacobian.of}, so "
                             f"{jacobian.of} does not depend on it; expected the input or a quantity of an earlier "
                             "step of the forward pass")
        if (of, wrt) in out:
            raise FieldError(f"ask.jacobians[{i}]", f"asks for ∂{jacobian.of}/∂{jacobian.wrt} twice; expected each "
                             "Jacobian once")
        out.append((of, wrt))
    return tuple(out)


def chain(of: str, wrt: str, layers: list[LayerShape]) -> list[str]:
    """The quantities from `wrt` (excluded) forward to `of` (included) whose Jacobians with respect
    to `wrt` the chain rule goes through."""
    order = ["x"] + _layer_quantities(layers)
    return order[order.index(wrt) + 1:order.index(of) + 1]
