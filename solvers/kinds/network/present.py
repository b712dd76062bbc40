"""What a network solution shows around its derivation: the givens, the parts asked, the
conventions in force and the answers, each with a stable name."""
from __future__ import annotations

import numpy as np

from ... import formula as F
from ...derivation import Derivation
from ...kind import Parts
from ...solution import Answer, Item, kink_convention
from .derive import ONES
from .figures import computation_graph, detailed, diagram, scalar
from .optimize import SYMBOLS, hyperparameters
from .spec import Spec, Structure, structure

INLINE_COLUMNS, INLINE_ROWS = 5, 8  # a larger weight matrix is given in a display of its own


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    s = structure(spec)
    givens = _givens(spec, s, derivation) + [Item("network_diagram", {
        "figure": diagram(spec, s, _per_unit(s, values)), "detailed": detailed(s), "biases": any(layer.bias for layer in s.layers)})]
    closing = [Item("computation_graph", {"figure": computation_graph(spec, s, derivation.quantities, values)})] if (
        scalar(s) and not s.batch and s.loss and (s.wanted or s.deltas)) else []  # the chain rule drawn, where gradients are asked
    return Parts(givens, _questions(spec, s, derivation), _conventions(spec, s, derivation),
                 _answers(spec, s, derivation, values), closing)


def answers(spec: Spec, derivation: Derivation, values) -> list[Answer]:
    """The answers `present` gives, alone (no diagram laid out)."""
    return _answers(spec, structure(spec), derivation, values)


def _givens(spec: Spec, s: Structure, derivation: Derivation) -> list[Item]:
    q = derivation.quantities
    items = [Item("input", {"symbol": q["x"].symbol, "value": q["x"].symbol, "batch": s.batch,
                            "layout": s.layout})]
    for l, layer in enumerate(s.layers, 1):
        facts = {"layer": l, "activation": layer.activation.name, "alpha": layer.activation.alpha,
                 "units": layer.units, "dense": layer.dense, "layout": s.layout}
        if layer.dense:
            facts["weights"] = q[f"W{l}"].symbol
            facts["bias"] = q[f"b{l}"].symbol if layer.bias else None
            facts["shared"] = layer.shared_bias
            rows, cols = q[f"W{l}"].shape
            facts["displayed"] = cols > INLINE_COLUMNS or rows > INLINE_ROWS  # too big for a line of text
        items.append(Item("layer", facts))
    if s.loss:
        classes = [spec.loss.target] if not s.batch else spec.loss.targets
        one_hot = s.loss[0] == "cross_entropy" and all(isinstance(c, int) for c in classes)
        items.append(Item("target", {"symbol": q["y"].symbol, "loss": s.loss[0], "batch": s.batch,
                                     "layout": s.layout, "classes": classes if one_hot else None}))
    return items


def _questions(spec: Spec, s: Structure, derivation: Derivation) -> list[Item]:
    q, ask, items = derivation.quantities, spec.ask, []
    if ask.forward:
        items.append(Item("forward", {"outputs": [q[f"a{len(s.layers)}"].symbol]}))
    if ask.loss:
        items.append(Item("loss", {"loss": s.loss[0], "L": F.Var("L", s.loss_name)}))
    if s.wanted:
        order = [k for l in range(1, len(s.layers) + 1) for k in (f"W{l}", f"b{l}") if k in s.wanted]
        order += ["x"] if "x" in s.wanted else []
        items.append(Item("gradients", {"symbols": [q[f"dL_d{k}"].symbol for k in order]}))
    if ask.deltas:
        items.append(Item("deltas", {"symbols": [q[f"dL_dz{l}"].symbol for l, layer in enumerate(s.layers, 1)
                                                 if layer.dense]}))
    if s.jacobians:
        items.append(Item("jacobians", {"symbols": [q[f"d{of}_d{wrt}"].symbol for of, wrt in s.jacobians]}))
    if ask.optimizer:
        items.append(Item("sgd", {"eta": q["eta"].symbol, "steps": ask.optimizer.steps,
                                  "optimizer": s.optimizer[0], "terms": s.optimizer[1:],
                                  "hyper": {key: q[key].symbol for key in hyperparameters(s.optimizer)},
                                  "updated": [q[k].symbol for k in _parameters(s) if k not in s.frozen],
                                  "frozen": [q[k].symbol for k in _parameters(s) if k in s.frozen]}))
    return items


def _conventions(spec: Spec, s: Structure, derivation: Derivation) -> list[Item]:
    scalar = all(layer.units == layer.inputs == 1 for layer in s.layers)  # no matrix, vector or index to explain
    items = [] if scalar and not s.batch else [Item("layout", {"layout": s.layout, "batch": s.batch})]
    if spec.biases == "ignore":
        items.append(Item("biases_ignored"))
    if any(layer.shared_bias for layer in s.layers):
        items.append(Item("shared_bias", {"ones": ONES, "layout": s.layout, "L": F.Var("L", s.loss_name),
                                          "batch": s.batch}))
    seen = set()
    for layer in s.layers:
        act = layer.activation
        if act.derivative_at_kink() is not None and act.name not in seen:
            seen.add(act.name)
            items.append(kink_convention(act))
    if s.sgd_steps and s.optimizer != ("sgd",):
        items.append(Item("optimizer", {"optimizer": s.optimizer[0], "terms": s.optimizer[1:],
                                        "hyper": {key: F.Var(key, SYMBOLS[key]) for key in hyperparameters(s.optimizer)}}))
    if s.jacobians:
        of, wrt = s.jacobians[0]
        J = derivation.quantities[f"d{of}_d{wrt}"]
        items.append(Item("jacobian", {"symbol": J.symbol, "rows": J.shape[0], "cols": J.shape[1],
                                       "entry": J.symbol.entry("i", "j"), "more": len(s.jacobians) > 1}))
    if s.loss and s.batch:
        items.append(Item("batch", {"examples": s.batch, "reduction": s.batch_reduction,
                                    "L": F.Var("L", s.loss_name)}))
    if s.loss:
        items.append(Item("loss_" + s.loss[0], {"half": s.loss[1], "reduction": s.loss[2],
                                                "L": F.Var("L", s.loss_name),
                                                "outputs": s.outputs, "batch": s.batch,
                                                "layout": s.layout}))
    return items


def _parameters(s: Structure) -> list[str]:
    """The parameter keys in the order of the layers: W1, b1, W2, ..."""
    return [f"{p}{l}" for l, layer in enumerate(s.layers, 1) if layer.dense
            for p in ("W", "b") if p == "W" or layer.bias]


def _per_unit(s: Structure, values) -> dict:
    """The values with each shared bias repeated for every unit of its layer, as the diagram shows it."""
    shown = dict(values)
    for l, layer in enumerate(s.layers, 1):
        if layer.shared_bias:
            shown[f"b{l}"] = np.full((layer.units, 1), float(np.ravel(values[f"b{l}"])[0]))
    return shown


def _answers(spec: Spec, s: Structure, derivation: Derivation, values) -> list[Answer]:
    q, ask, names = derivation.quantities, spec.ask, []
    if ask.forward:
        for l, layer in enumerate(s.layers, 1):
            names += ([(f"forward.z{l}", f"z{l}")] if layer.dense else []) + [(f"forward.a{l}", f"a{l}")]
    if ask.loss:
        names.append(("loss", "L"))
    for l in range(1, len(s.layers) + 1):
        if ask.deltas and s.layers[l - 1].dense:
            names.append((f"gradient.z{l}", f"dL_dz{l}"))
        names += [(f"gradient.{k}", f"dL_d{k}") for k in (f"W{l}", f"b{l}") if k in s.wanted]
    if "x" in s.wanted:
        names.append(("gradient.x", "dL_dx"))
    names += [(f"jacobian.{of}.{wrt}", f"d{of}_d{wrt}") for of, wrt in s.jacobians]
    for k in range(1, s.sgd_steps + 1):
        for l in range(1, len(s.layers) + 1):
            for p in "Wb":  # the optimiser's state, then the parameter, after step k
                names += [(f"{s.optimizer[0]}.step{k}.{state}.{p}{l}", f"{letter}{p}{l}+{k}")
                          for letter, state in (("v", "velocity"), ("m", "m"), ("s", "s")) if f"{letter}{p}{l}+{k}" in q]
                names += [(f"{s.optimizer[0]}.step{k}.{p}{l}", f"{p}{l}+{k}")] if f"{p}{l}+{k}" in q else []
    return [Answer(name, key, q[key].symbol, values[key]) for name, key in names]
