"""The reference of a matrix-form backpropagation problem: autograd on float64 tensors."""
from __future__ import annotations

import numpy as np

from .spec import Spec, given_values


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Autograd on float64 tensors: Z = W.T @ A + W0, the activation from torch, and the
    gradients of (dLdZ * Z).sum(), (dLdA * f(Z)).sum() or the NLL of softmax."""
    import torch
    out = given_values(spec)
    tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    A, W = tensor(spec.A).requires_grad_(), tensor(spec.W).requires_grad_()
    W0 = tensor(spec.W0).reshape(-1, 1).requires_grad_()
    Z = W.T @ A + W0
    Z.retain_grad()
    act, loss = spec.activation, None
    if act is None:
        loss = (tensor(spec.dLdZ) * Z).sum() if spec.dLdZ is not None else None
    elif act.type == "softmax_nll":
        out["Aout"] = torch.softmax(Z, dim=0).detach().numpy()
        loss = torch.nn.functional.cross_entropy(Z.T, tensor(act.Y).T, reduction="sum")
        out["L"] = np.array([[loss.item()]])
    else:
        function = torch.tanh if act.type == "tanh" else torch.nn.functional.relu
        output = function(Z)
        out["Aout"] = output.detach().numpy()
        jacobian = torch.autograd.functional.jacobian(function, Z.detach())
        out["dAout_dZ"] = torch.einsum("ijij->ij", jacobian).numpy()
        loss = (tensor(act.dLdA) * output).sum() if act.dLdA is not None else None
    out["Z"] = Z.detach().numpy()
    if loss is not None and spec.ask.backward:
        loss.backward()
        out.update(dLdZ=Z.grad.numpy(), dLdA=A.grad.numpy(), dLdW=W.grad.numpy(), dLdW0=W0.grad.numpy())
    return out
