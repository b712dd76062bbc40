"""The reference: the network rebuilt from the problem file alone in float64 torch
(torch.nn.functional and autograd). It shares nothing with the derivation but the quantity
keys, so agreement between the two is evidence, not tautology."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ... import torch_ops
from ...activations import DEFAULT_ALPHA
from .asked import chain
from .spec import (
    SharedBias,
    Spec,
    as_matrix,
    as_vector,
    input_examples,
    optimizer_values,
    structure,
    target_vectors,
)

if TYPE_CHECKING:  # torch is imported where a reference runs: a cached build never loads it
    import torch


def _torch_loss(spec: Spec, p: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss of one example (1-D tensors) or of a batch (a row per example)."""
    import torch
    loss, functional = spec.loss, torch.nn.functional
    batch = p.dim() == 2
    over = loss.batch_reduction if batch else "mean"
    if loss.type == "cross_entropy":
        return functional.cross_entropy(p if batch else p.unsqueeze(0), y if batch else y.unsqueeze(0), reduction=over)
    if loss.type == "binary_cross_entropy":
        return functional.binary_cross_entropy_with_logits(p, y, reduction=over)
    half = 0.5 if loss.half else 1.0
    if not batch:
        return functional.mse_loss(a, y, reduction=loss.reduction) * half
    per_example = functional.mse_loss(a, y, reduction="none").sum(dim=1) * half
    if loss.reduction == "mean":
        per_example = per_example / a.shape[1]
    return per_example.mean() if over == "mean" else per_example.sum()


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Every quantity a network derivation can show, computed by torch autograd."""
    import torch
    net, tensor = spec.network, lambda v: torch.tensor(v, dtype=torch.float64)
    use_bias = spec.biases == "use"
    params = {}
    for l, layer in enumerate(net.layers, 1):
        if layer.weights is not None:
            params[f"W{l}"] = tensor(as_matrix(layer.weights, net.layout))
            if isinstance(layer.bias, SharedBias) and use_bias:  # one scalar, broadcast over the units
                params[f"b{l}"] = tensor(float(layer.bias.shared))
            elif layer.bias is not None and use_bias:
                params[f"b{l}"] = tensor(as_vector(layer.bias))
    batch = net.inputs is not None
    examples = input_examples(net)
    x = tensor(examples if batch else examples[0])  # a row per example
    targets = np.array(target_vectors(spec, _output_width(spec), len(examples) if batch else 0))
    y = torch.from_numpy(targets if batch else targets[0])
    out = {"x": x, "y": y}
    out.update(params)
    steps = spec.ask.optimizer.steps if spec.ask.optimizer else 1
    trained = _trained(spec, params)
    leaves = {key: value.clone().requires_grad_(True) for key, value in params.items()}
    optimizer = _torch_optimizer(spec.ask, [leaves[key] for key in trained])  # the frozen ones are left out
    of = structure(spec).of
    for k in range(steps):
        suffix = f"+{k}" if k else ""
        for leaf in leaves.values():
            leaf.grad = None
        recorded = _torch_forward(spec, x, leaves, suffix)
        if k == 0:
            out.update(_torch_jacobians(spec, x, leaves, recorded))
        if spec.loss is not None or of != "L":
            if spec.loss is not None:
                p_last, a_last = recorded["_last"]
                out[f"L{suffix}"] = L = _torch_loss(spec, p_last, a_last, y)
            (L if of == "L" else recorded[of].sum()).backward()  # the gradients of the loss, or of z/a (one entry)
            for key, t in recorded.items():
                if key.startswith("_"):
                    continue
                if t.grad is not None:
                    out[f"dL_d{key}"] = t.grad
                out[key] = t
            for key, leaf in leaves.items():
                out[f"dL_d{key}{suffix}"] = leaf.grad.clone()
        else:
            out.update({key: t for key, t in recorded.items() if not key.startswith("_")})
        out.update(_torch_local_derivatives(spec, recorded, suffix))
        if optimizer is not None:
            optimizer.step()
            out.update({f"{key}+{k + 1}": leaves[key].detach().clone() for key in trained})
            out.update(_optimizer_state(spec.ask, optimizer, leaves, trained, k + 1))
    out.update({key: tensor(value[0, 0]) for key, value in optimizer_values(spec.ask).items()})
    shown = {key: np.atleast_2d(t.detach().numpy()).reshape(_column(t)) for key, t in out.items()}
    if batch and net.layout == "rows":  # the sheet's batch quantities have a column per example
        shown = {key: value.T if _per_example(key) else value for key, value in shown.items()}
    return shown


def _torch_optimizer(ask, leaves: list):
    """torch.optim.SGD or Adam over the trained parameters, as the problem sets them."""
    import torch
    if ask.sgd:
        return torch.optim.SGD(leaves, lr=ask.sgd.learning_rate, momentum=ask.sgd.momentum,
                               nesterov=ask.sgd.nesterov, weight_decay=ask.sgd.weight_decay)
    if ask.adam:
        return torch.optim.Adam(leaves, lr=ask.adam.learning_rate, betas=tuple(ask.adam.betas), eps=ask.adam.eps,
                                weight_decay=ask.adam.weight_decay)
    return None


def _optimizer_state(ask, optimizer, leaves: dict, trained: list[str], k: int) -> dict:
    """What the optimiser carries to the next step, after step k: SGD's velocity v (its momentum
    buffer), Adam's moments m, s and their bias corrections."""
    out = {}
    for key in trained:
        state = optimizer.state[leaves[key]]
        if ask.sgd and ask.sgd.momentum:
            out[f"v{key}+{k}"] = state["momentum_buffer"].clone()
        elif ask.adam:
            beta1, beta2 = ask.adam.betas
            m, s = state["exp_avg"].clone(), state["exp_avg_sq"].clone()
            out.update({f"m{key}+{k}": m, f"s{key}+{k}": s, f"mhat{key}+{k}": m / (1 - beta1 ** k),
                        f"shat{key}+{k}": s / (1 - beta2 ** k)})
    return out


def _per_example(key: str) -> bool:
    """Whether a quantity has a value per example (x, y, z, a, f', and their gradients)."""
    base = key.removeprefix("dL_d")
    return base[0] in "xyza" or base.startswith("fprime")


def _trained(spec: Spec, params: dict) -> list[str]:
    """The keys of the parameters the SGD step updates: every one, or those `ask.sgd.parameters` names
    (by key, W2, or by the layer's name or bias name)."""
    named = spec.ask.optimizer.parameters if spec.ask.optimizer else None
    if named is None:
        return list(params)
    keys = set()
    for l, layer in enumerate(spec.network.layers, 1):
        weight_name = layer.name or "W"
        bias_name = layer.bias_name or ("b" if layer.name is None else
                                        "b_" + (layer.name.split("_", 1)[1] if "_" in layer.name else layer.name))
        for key, name in ((f"W{l}", weight_name), (f"b{l}", bias_name)):
            if key in params and (key in named or name in named):
                keys.add(key)
    return [key for key in params if key in keys]


def _column(t: torch.Tensor) -> tuple[int, int]:
    return (t.shape[0], 1) if t.dim() == 1 else ((1, 1) if t.dim() == 0 else tuple(t.shape))


def _output_width(spec: Spec) -> int:
    width = len(input_examples(spec.network)[0])
    for layer in spec.network.layers:
        if layer.weights is not None:
            m = as_matrix(layer.weights, spec.network.layout)
            width = len(m) if spec.network.layout == "rows" else len(m[0])
    return width


def _torch_forward(spec: Spec, x: torch.Tensor, leaves: dict, suffix: str, start: tuple | None = None) -> dict:
    """Run the network forward, keeping every intermediate (with retain_grad); `start` (key, tensor)
    puts that tensor in place of the quantity of that key (to differentiate from there)."""
    import torch
    net, functional = spec.network, torch.nn.functional
    x = x.clone().requires_grad_(True) if start is None else (start[1] if start[0] == "x" else x)
    recorded, u, u_key = {"x" if not suffix else f"x{suffix}": x}, x, "x"
    for l, layer in enumerate(net.layers, 1):
        p, p_key = u, u_key
        if layer.weights is not None:
            W = leaves[f"W{l}"]
            b = leaves.get(f"b{l}")
            shared = b is not None and b.dim() == 0
            p = functional.linear(u, W if net.layout == "rows" else W.T, None if shared else b)
            if shared:
                p = p + b
            p_key = f"z{l}{suffix}"
            p = start[1] if start and start[0] == p_key else p
            _retain(p)
            recorded[p_key] = p
        alpha = layer.alpha if layer.alpha is not None else DEFAULT_ALPHA.get(layer.activation)
        a = torch_ops.activation(layer.activation, alpha, spec.kink, p)
        a = start[1] if start and start[0] == f"a{l}{suffix}" else a
        _retain(a)
        recorded[f"a{l}{suffix}"] = a
        recorded[f"_p{l}"] = (p, p_key)
        u, u_key = a, f"a{l}{suffix}"
    recorded["_last"] = (p, a)
    return recorded


def _retain(t: torch.Tensor) -> None:
    """Keep t's gradient, where it has one (not before the start of a forward pass from a quantity)."""
    if t.requires_grad:
        t.retain_grad()


def _torch_jacobians(spec: Spec, x: torch.Tensor, leaves: dict, recorded: dict) -> dict:
    """Each Jacobian asked and those on its way (∂z1/∂x, ∂a1/∂x, ...) with each activation's own
    (∂a1/∂z1), by torch.autograd.functional.jacobian of the network run forward from the quantity
    differentiated with respect to."""
    import torch
    s, out = structure(spec), {}
    parameters = {key: leaf.detach() for key, leaf in leaves.items()}

    def jacobians(wrt: str, keys: list[str]) -> None:
        def forward_from(value):
            run = _torch_forward(spec, x, parameters, "", (wrt, value))
            return tuple(run[key] for key in keys)
        for key, J in zip(keys, torch.autograd.functional.jacobian(forward_from, recorded[wrt].detach().clone())):
            out[f"d{key}_d{wrt}"] = J

    for of, wrt in s.jacobians:
        keys = chain(of, wrt, list(s.layers))
        jacobians(wrt, keys)
        for key in keys:
            if key.startswith("a"):
                jacobians(recorded[f"_p{key[1:]}"][1], [key])  # the activation's own, at its input
    return out


def _torch_local_derivatives(spec: Spec, recorded: dict, suffix: str) -> dict:
    """f'(p) of every element-wise layer (autograd of f summed) and softmax Jacobians."""
    import torch
    out = {}
    for l, layer in enumerate(spec.network.layers, 1):
        p = recorded[f"_p{l}"][0].detach().clone().requires_grad_(True)
        alpha = layer.alpha if layer.alpha is not None else DEFAULT_ALPHA.get(layer.activation)
        if layer.activation == "softmax" and p.dim() == 2:
            continue  # a batch: softmax's Jacobians (one per example) are not part of its solution
        if layer.activation == "softmax":
            out[f"J{l}{suffix}"] = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), p)
        else:
            (grad,) = torch.autograd.grad(torch_ops.activation(layer.activation, alpha, spec.kink, p).sum(), p)
            out[f"fprime{l}{suffix}"] = grad
    return out
