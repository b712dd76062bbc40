"""Each activation and its SymPy-derived derivative equal torch, at the kink and far out."""
import numpy as np
import pytest
import sympy
import torch

from solvers.activations import (
    DEFAULT_ALPHA,
    ELEMENTWISE,
    LAMBDIFY_MODULES,
    Activation,
    softmax_jacobian_checked,
    z,
)

POINTS = [-1000.0, -50.0, -1.5, -1e-9, 0.0, 1e-9, 0.7, 50.0, 1000.0]
F = torch.nn.functional


def torch_function(name: str, alpha):
    return {
        "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda t: t * 1.0,
        "leaky_relu": lambda t: F.leaky_relu(t, alpha), "elu": lambda t: F.elu(t, alpha),
    }[name]


def torch_value_and_derivative(name: str, alpha, points):
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    out = torch_function(name, alpha)(t)
    out.sum().backward()
    return out.detach().numpy(), t.grad.numpy()


def ours(activation: Activation, expr) -> np.ndarray:
    function = sympy.lambdify(z, activation.numeric(expr), modules=LAMBDIFY_MODULES)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array([float(function(p)) for p in POINTS])


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("alpha_scale", [1.0, 0.3])
def test_value_and_derivative_match_torch(name, alpha_scale):
    alpha = DEFAULT_ALPHA[name] * alpha_scale if name in DEFAULT_ALPHA else None
    activation = Activation(name, alpha)
    value, derivative = torch_value_and_derivative(name, alpha, POINTS)
    np.testing.assert_allclose(ours(activation, activation.symbolic()), value, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ours(activation, activation.derivative()), derivative, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name, left, right", [("relu", 0.0, 1.0), ("leaky_relu", 0.01, 1.0), ("elu", 1.0, 1.0)])
def test_derivative_at_the_kink_follows_the_stated_convention(name, left, right):
    assert Activation(name, DEFAULT_ALPHA.get(name), "left").derivative_at_kink() == left
    assert Activation(name, DEFAULT_ALPHA.get(name), "right").derivative_at_kink() == right


def test_left_convention_is_torchs():
    for name in ("relu", "leaky_relu", "elu"):
        alpha = 0.2 if name != "relu" else None
        _, derivative = torch_value_and_derivative(name, alpha, [0.0])
        assert Activation(name, alpha).derivative_at_kink() == pytest.approx(derivative[0])


def test_relu_derivative_is_piecewise_not_heaviside():
    derivative = Activation("relu").derivative()
    assert isinstance(derivative, sympy.Piecewise)
    assert not derivative.has(sympy.Heaviside)
    assert derivative.subs(z, 0) == 0


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_derivative_through_the_output(name):
    a, p = sympy.symbols("a p")
    expected = {"sigmoid": a * (1 - a), "tanh": 1 - a ** 2}[name]
    assert sympy.simplify(Activation(name).derivative_from_output(p, a) - expected) == 0


def test_softmax_jacobian_form_is_derived_and_matches_torch():
    assert softmax_jacobian_checked(4)
    p = torch.tensor([0.3, -1.2, 2.0, 0.0], dtype=torch.float64)
    s = torch.softmax(p, 0)
    compact = torch.diag(s) - torch.outer(s, s)
    np.testing.assert_allclose(compact.numpy(),
                               torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), p).numpy(),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kink", ["left", "right"])
def test_the_reference_elu_gradient_is_exact_far_below_zero(kink):
    """torch's ELU backward computes α(eᶻ − 1) + α, which cancels for z ≪ 0; the reference's
    ELU must give α eᶻ there (0.1·e^−33.1453125 = 4.0287811857e-16), and α or 1 at 0 by the
    kink convention."""
    from solvers import torch_ops
    t = torch.tensor([-33.1453125, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch_ops.activation("elu", 0.1, kink, t).sum().backward()
    assert t.grad[0].item() == pytest.approx(4.02878118572033e-16, rel=1e-12)
    assert t.grad[1].item() == (0.1 if kink == "left" else 1.0)
    assert t.grad[2].item() == 1.0
