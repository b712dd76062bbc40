"""The reference: the same run in float64 torch (torch.nn.functional, autograd and
torch.optim.SGD), from the problem file and its inputs (the data, the initial parameters and
each epoch's order of the examples); it shares nothing with the derivation but the quantity
keys. The first step's quantities are the network kind's reference of that step."""
from __future__ import annotations

import numpy as np

from ... import torch_ops
from ...activations import DEFAULT_ALPHA
from ..network import KIND as NETWORK
from .inputs import run_inputs
from .spec import Spec


def reference(spec: Spec) -> dict[str, np.ndarray]:
    import torch
    functional = torch.nn.functional
    inputs = run_inputs(spec)
    out = dict(NETWORK.reference(inputs.first))
    rows = spec.network.layout == "rows"
    tensor = lambda v: torch.tensor(np.asarray(v), dtype=torch.float64)  # noqa: E731
    # as torch.nn.Linear holds them: weight (out × in), bias (out)
    weights = [tensor(inputs.parameters[f"W{l}"] if rows else inputs.parameters[f"W{l}"].T).requires_grad_(True)
               for l in range(1, inputs.layers + 1)]
    biases = [tensor(inputs.parameters[f"b{l}"].ravel()).requires_grad_(True) for l in range(1, inputs.layers + 1)]
    hidden = spec.network.hidden

    def forward(x: torch.Tensor) -> torch.Tensor:
        for l, (W, b) in enumerate(zip(weights, biases)):
            x = functional.linear(x, W, b)
            if l < len(hidden):
                alpha = hidden[l].alpha if hidden[l].alpha is not None else DEFAULT_ALPHA.get(hidden[l].activation)
                x = torch_ops.activation(hidden[l].activation, alpha, spec.kink, x)
        return x

    def loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if spec.loss == "cross_entropy":
            return functional.cross_entropy(forward(x), y)  # softmax and natural log, mean over the batch
        target = functional.one_hot(y, inputs.classes).to(torch.float64)
        return functional.mse_loss(forward(x), target, reduction="none").sum(dim=1).mean()

    def accuracy(x: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return (forward(x).argmax(dim=1) == y).to(torch.float64).mean().item()

    X, y = tensor(inputs.X), torch.from_numpy(inputs.y).long()
    X_val, y_val = tensor(inputs.X_val), torch.from_numpy(inputs.y_val).long()
    optimizer = torch.optim.SGD([*weights, *biases], lr=spec.training.learning_rate)
    k, size, limit = 0, inputs.batch, spec.training.steps or np.inf  # epochs: every batch of each
    for e, order in enumerate(inputs.orders, 1):
        batches = [b for b in torch.split(torch.from_numpy(order), size) if len(b) == size or not spec.training.drop_last]
        losses = []
        for batch in batches:
            if k == limit:
                break
            k += 1
            optimizer.zero_grad()
            value = loss(X[batch], y[batch])
            value.backward()
            optimizer.step()
            losses.append(value.item())
            out[f"L@{k}"] = np.array([[value.item()]])
            for l, (W, b) in enumerate(zip(weights, biases), 1):
                out[f"W{l}@{k}"] = (W.detach().numpy() if rows else W.detach().numpy().T).copy()
                out[f"b{l}@{k}"] = b.detach().numpy().reshape(-1, 1).copy()
        if not losses:
            break
        out[f"Lepoch@{e}"] = np.array([[float(np.mean(losses))]])
        out[f"acctrain@{e}"] = np.array([[accuracy(X, y)]])
        if len(y_val):
            with torch.no_grad():
                out[f"Lval@{e}"] = np.array([[loss(X_val, y_val).item()]])
            out[f"accval@{e}"] = np.array([[accuracy(X_val, y_val)]])
    out["acc_train"] = np.array([[accuracy(X, y)]])
    if len(y_val):
        out["acc_val"] = np.array([[accuracy(X_val, y_val)]])
    x_c, y_c = (X_val, y_val) if len(y_val) else (X, y)
    with torch.no_grad():
        predicted = forward(x_c).argmax(dim=1)
    counts = torch.bincount(y_c * inputs.classes + predicted, minlength=inputs.classes ** 2)
    out["confusion"] = counts.reshape(inputs.classes, inputs.classes).to(torch.float64).numpy()
    return out
