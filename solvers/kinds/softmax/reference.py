"""Every quantity of a softmax problem from torch (float64), read from the problem file alone."""
from __future__ import annotations

import numpy as np

from .spec import Spec, asked


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Every quantity from torch (float64), read from the problem file alone."""
    import torch
    def column(tensor):
        return tensor.detach().numpy().astype(float).reshape(-1, 1)

    def number(value):
        return np.array([[float(value.detach()) if isinstance(value, torch.Tensor) else float(value)]])

    f64 = torch.float64
    jacobian, ce, stability = asked(spec)
    z = torch.tensor(spec.z, dtype=f64)
    out = {"z": column(z), "S": number(torch.exp(z).sum()), "y": column(torch.softmax(z, 0))}
    if jacobian:
        out["J"] = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), z).numpy()
    if ce:
        target = (torch.tensor([spec.target]) if isinstance(spec.target, int)
                  else torch.tensor([spec.target], dtype=f64))
        t = torch.nn.functional.one_hot(target, len(spec.z)).to(f64)[0] if isinstance(spec.target, int) else target[0]
        scores = z.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(scores[None], target, reduction="sum")
        loss.backward()
        probabilities = torch.softmax(z, 0).requires_grad_(True)
        (-(t * torch.log(probabilities)).sum()).backward()
        out.update(t=column(t), L=number(loss), dL_dy=column(probabilities.grad), dL_dz=column(scores.grad),
                   dL_dz_J=column(scores.grad))
    if stability:
        naive = torch.exp(z) / torch.exp(z).sum()
        out.update(M=number(z.max()), y_shift=column(torch.softmax(z, 0)),
                   chg=number(not torch.allclose(naive, torch.softmax(z, 0), rtol=1e-12, atol=0.0)))
        largest = torch.finfo(f64).max
        u = torch.tensor(spec.overflow, dtype=f64)
        E = torch.exp(u)
        quotient = E / E.sum()
        finite = torch.isfinite(quotient)
        out.update(fmax=number(largest), zmax=number(torch.log(torch.tensor(largest, dtype=f64))), u=column(u),
                   Eu=column(E), Su=number(E.sum()), oku=column(finite.to(f64)),
                   qu=column(torch.where(finite, quotient, torch.zeros_like(quotient))),
                   over=number(torch.isinf(E.sum())),
                   Mu=number(u.max()), su=column(u - u.max()), Esu=column(torch.exp(u - u.max())),
                   Ssu=number(torch.exp(u - u.max()).sum()), yu=column(torch.softmax(u, 0)))
    return out
