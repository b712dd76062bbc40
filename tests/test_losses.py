"""Losses and their gradients equal torch autograd, also for extreme pre-activations, and
verification catches a wrong value."""
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from solvers.kinds import network
from solvers.variants import load
from solvers.verify import VerificationError, mismatches, verify


def spec(weights, activation, loss, bias=None, extra_layers=()):
    layer = {"weights": weights, "activation": activation, **({"bias": bias} if bias else {})}
    return network.Spec.model_validate({
        "kind": "network", "title": "extreme", "network": {"input": [1.0], "layers": [layer, *extra_layers]},
        "loss": loss, "ask": {"forward": True, "loss": True, "gradients": "all"}})


def autograd(logits, loss_of):
    p = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    value = loss_of(p)
    value.backward()
    return value.item(), p.grad.numpy()


@pytest.mark.parametrize("logits, target", [([1000.0, -1000.0, 0.0], 1), ([800.0, 799.0, -5.0], 0),
                                            ([-745.0, 0.0, 745.0], 2), ([0.0, 0.0, 0.0], 1)])
def test_softmax_cross_entropy_is_stable(logits, target):
    s = spec([[v] for v in logits], "softmax", {"type": "cross_entropy", "target": target})
    values = network.KIND.solve(s).values
    expected, gradient = autograd(logits, lambda p: torch.nn.functional.cross_entropy(
        p.unsqueeze(0), torch.tensor([target])))
    assert values["L"][0, 0] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(values["dL_dz1"][:, 0], gradient, rtol=1e-12, atol=1e-300)
    assert np.isfinite(values["L"]).all() and np.isfinite(values["a1"]).all()


@pytest.mark.parametrize("logit, label", [(800.0, 0), (800.0, 1), (-800.0, 1), (-30.0, 0), (0.0, 1)])
def test_sigmoid_binary_cross_entropy_is_stable(logit, label):
    s = spec([[logit]], "sigmoid", {"type": "binary_cross_entropy", "target": label})
    values = network.KIND.solve(s).values
    expected, gradient = autograd([logit], lambda p: torch.nn.functional.binary_cross_entropy_with_logits(
        p, torch.tensor([float(label)], dtype=torch.float64)))
    assert values["L"][0, 0] == pytest.approx(expected, rel=1e-12)
    assert values["L"][0, 0] == pytest.approx(max(logit, 0) - logit * label + math.log1p(math.exp(-abs(logit))))
    np.testing.assert_allclose(values["dL_dz1"][:, 0], gradient, rtol=1e-12)


@pytest.mark.parametrize("half, reduction", [(False, "sum"), (True, "sum"), (False, "mean"), (True, "mean")])
def test_squared_error_and_its_derivative(half, reduction):
    outputs, target = [0.5, -2.0, 3.25], [1.0, 0.0, 3.0]
    s = spec([[v] for v in outputs], "identity",
             {"type": "squared_error", "target": target, "half": half, "reduction": reduction})
    values = network.KIND.solve(s).values
    scale = (0.5 if half else 1.0)
    expected, gradient = autograd(outputs, lambda a: scale * torch.nn.functional.mse_loss(
        a, torch.tensor(target, dtype=torch.float64), reduction=reduction))
    assert values["L"][0, 0] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(values["dL_da1"][:, 0], gradient, rtol=1e-12)


def test_softmax_jacobian_path_through_a_non_final_softmax():
    """softmax followed by squared error goes through the Jacobian, not the a − y shortcut."""
    s = spec([[2.0], [-1.0], [0.5]], "softmax", {"type": "squared_error", "target": [0, 1, 0]})
    solution = network.KIND.solve(s)
    assert [step.kind for step in solution.derivation.steps if step.kind.startswith(("softmax", "jacobian"))] \
        == ["softmax", "softmax_jacobian", "jacobian_backward"]
    assert mismatches(solution.values, network.reference(s)) == []


def test_verification_names_the_problem_quantity_and_both_values(tmp_path, monkeypatch):
    path = tmp_path / "p.yaml"
    path.write_text((Path(__file__).resolve().parents[1] / "problems/relu-networks/s1-one-hidden-unit.yaml")
                    .read_text())
    loaded = load(path)
    solution = loaded.kind.solve(loaded.spec)
    honest = network.reference

    def off_by_a_little(spec):
        values = honest(spec)
        values["dL_dW1"] = values["dL_dW1"] + 1e-6
        return values

    monkeypatch.setattr(loaded, "kind", dataclasses.replace(network.KIND, reference=off_by_a_little))
    with pytest.raises(VerificationError) as caught:
        verify(loaded, solution)
    message = str(caught.value)
    assert str(path) in message and "dL_dW1: ours [12.], torch [12.000001]" in message


def test_a_value_without_a_reference_is_a_mismatch():
    assert mismatches({"extra": np.zeros((1, 1))}, {}) == ["extra: no independent value to check it against"]
