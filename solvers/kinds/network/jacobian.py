"""The Jacobians a network problem asks (∂a⁽²⁾/∂x, ...): the chain rule for vector functions,
from the quantity differentiated with respect to, forward one step of the network at a time,
each step multiplying the Jacobian so far by its local Jacobian on the left."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import sympy

from ... import formula as F
from ...derivation import Quantity, Section, Step
from .asked import chain

if TYPE_CHECKING:
    from .derive import _Builder

IDENTITY = F.Var("identity", "I", "matrix")  # the identity matrix: the Jacobian of the identity activation


def jacobian_section(b: _Builder, outputs: list[tuple[Quantity, Quantity]], params: dict, of: str,
                     wrt: str) -> Section | None:
    """The steps from ∂wrt/∂wrt = I forward to ∂of/∂wrt, at the forward pass `outputs` with the
    parameters `params` (the given ones), reusing every quantity derived before; None when ∂of/∂wrt
    was found on the way to an earlier one."""
    known = {step.target.key: step.target for section in b.sections for step in section.steps}
    shown = {"x": b.x} | {q.key: q for pair in outputs for q in pair}
    origin, steps, previous, reused = shown[wrt], [], None, False  # previous: the Jacobian so far (None: I)
    for key in chain(of, wrt, b.s.layers):
        target = _jacobian(shown[key], origin)
        if target.key in known:
            reused = True
        else:
            l = int(key[1:])
            step = (_linear(b, params[l][0], l, target, previous) if key.startswith("z") else
                    _activation(b, l, outputs[l - 1], target, previous, known, steps))
            steps.append(step)
            known[target.key] = target
        previous = known[target.key]
    if not steps:
        return None
    return Section("jacobian", steps, {"symbol": previous.symbol, "wrt": origin.symbol, "reused": reused,
                                      "first": not any(s.kind == "jacobian" for s in b.sections)})


def _jacobian(q: Quantity, origin: Quantity) -> Quantity:
    """The Jacobian ∂q/∂origin: a row per entry of q, a column per entry of origin."""
    key = f"d{q.key}_d{origin.key}"
    return Quantity(key, (q.shape[0], origin.shape[0]), F.Partial(key, q.symbol, origin.symbol))


def _linear(b: _Builder, weights: Quantity, l: int, target: Quantity, previous: Quantity | None) -> Step:
    """∂z/∂v = W ∂u/∂v (rows layout; Wᵀ in the columns layout): z depends on v only through its input u."""
    local = weights.symbol if b.rows else F.Transpose(weights.symbol)
    W = weights.elements if b.rows else weights.elements.T
    source = "k" if previous is not None else "j"
    w = weights.at("i", source) if b.rows else weights.at(source, "i")
    facts = {"layer": l, "layout": b.s.layout, "first": previous is None, "wrt": target.symbol.wrt,
             "input": previous.symbol.of if previous is not None else None,
             "entry": (target.symbol.entry("i", "j"), w if previous is None else
                       F.Sum("k", F.Mul(w, previous.symbol.entry("k", "j"))))}
    if previous is None:
        return Step("jacobian_linear", target, local, W, facts)
    return Step("jacobian_linear", target, F.Mul(local, previous.symbol), W * previous.elements, facts)


def _activation(b: _Builder, l: int, pair: tuple[Quantity, Quantity], target: Quantity,
                previous: Quantity | None, known: dict[str, Quantity], steps: list[Step]) -> Step:
    """∂a/∂v = (∂a/∂p)(∂p/∂v): the activation's local Jacobian (diagonal for an element-wise one,
    softmax's J) times the Jacobian so far; the local Jacobian itself when v is p."""
    act, (p, a) = b.s.layers[l - 1].activation, pair
    if act.name == "identity":  # ∂a/∂p = I
        facts = {"activation": act.name, "first": previous is None}
        if previous is None:
            return Step("jacobian_activation", target, IDENTITY, sympy.eye(p.shape[0]), facts)
        return Step("jacobian_activation", target, previous.symbol, previous.elements, facts)
    local = _local_jacobian(b, act, p, a, l)
    if previous is None:
        return replace(local, target=target)
    if local.target.key not in known:
        steps.append(local)
        known[local.target.key] = local.target
    J = known[local.target.key]
    entry = (target.symbol.entry("i", "j"), F.Mul(F.Call(act.name, p.symbol.entry("i"), derivative=True),
                                                  previous.symbol.entry("i", "j"))) if act.elementwise else None
    facts = {"activation": act.name, "first": False, "elementwise": act.elementwise, "entry": entry}
    return Step("jacobian_activation", target, F.Mul(J.symbol, previous.symbol), J.elements * previous.elements,
                facts)


def _local_jacobian(b: _Builder, act, p: Quantity, a: Quantity, l: int) -> Step:
    """∂a/∂p of layer l: diag(f'(p)) for an element-wise activation, with each f'(p_i) worked out;
    softmax's Jacobian J."""
    local = b.local_derivative(act, p, a, str(l))
    if not act.elementwise:
        return local
    target = _jacobian(a, p)
    diagonal = [(replace(target.symbol.entry(i, i), position=(i, i)), form) for i, (_, form) in enumerate(local.parts)]
    return Step("jacobian_local", target, F.Diag(F.Call(act.name, p.symbol, derivative=True)),
                sympy.diag(*local.compute), local.facts, diagonal)
