"""The problem bank reproduces the seed sheets with the true values.

Expected values are computed here by hand-written closed forms or plain numpy, independently
of both the SymPy derivation and the torch reference. Where a seed's own arithmetic is off,
the test asserts the true value and that the seed's value would be marked wrong."""
import math
from pathlib import Path

import numpy as np
import pytest

from solvers.variants import load
from solvers.verify import verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def solve(relative: str) -> dict[str, np.ndarray]:
    loaded = load(PROBLEMS / relative)
    solution = loaded.kind.solve(loaded.spec, loaded.name)
    verify(loaded, solution)
    answers = {a.name: a.value.ravel() for a in solution.answers}
    return answers | {"_tolerance": solution.answers[0].tolerance(solution.digits)}


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def within(value, expected, tolerance) -> bool:
    return abs(value - expected) <= max(tolerance["relative"] * abs(expected), tolerance["absolute"])


def test_000_q1_logistic_regression_loss():
    answers = solve("loss-and-backprop/q1-logistic-regression.yaml")
    z = 0.5 * 6 + 0.1 * 4 - 0.8 * 2 + 0.9 * 3 + 0.0 * 1 + 0.05
    assert answers["forward.z1"][0] == pytest.approx(4.55, abs=1e-12)
    assert answers["forward.a1"][0] == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-12)
    assert answers["loss"][0] == pytest.approx(math.log1p(math.exp(-z)), rel=1e-12)
    assert answers["loss"][0] == pytest.approx(0.0105117617, rel=1e-8)
    assert not within(0.0106, answers["loss"][0], answers["_tolerance"])  # the seed's handwritten value


def forward_000(bias: bool):
    x = np.array([5, 7, 4, 3, 2.0])
    V = np.array([[0.5, -0.1, -0.2, 0.1, -0.4], [-0.9, 0.7, 0.7, -0.5, 0.2]])
    W = np.array([[0.1, 0.6], [0.8, 0.4], [0.7, -0.2]])
    bv, bw = (np.array([0.02, -0.01]), np.array([0.0, 0.05, 0.04])) if bias else (0, 0)
    h = np.maximum(V @ x + bv, 0)
    s = sigmoid(W @ h + bw)
    p = np.exp(s) / np.exp(s).sum()
    return x, V, W, h, s, p


def test_000_q2_forward_pass_and_loss():
    answers = solve("loss-and-backprop/q2-forward-pass.yaml")
    _, _, _, h, s, p = forward_000(bias=True)
    np.testing.assert_allclose(answers["forward.a1"], [0.52, 2.09], rtol=1e-12)
    np.testing.assert_allclose(answers["forward.z2"], [1.306, 1.302, -0.014], rtol=1e-12)
    np.testing.assert_allclose(answers["forward.a2"], s, rtol=1e-12)
    np.testing.assert_allclose(answers["forward.a3"], p, rtol=1e-12)
    assert answers["loss"][0] == pytest.approx(-math.log(p[2]), rel=1e-12)
    assert round(answers["forward.a3"][1], 4) == 0.3637  # the seed wrote 0.3638
    assert round(answers["loss"][0], 4) == 1.3010  # the seed wrote 1.3009


def test_000_q3_gradients_with_biases_ignored():
    answers = solve("loss-and-backprop/q3-gradients.yaml")
    x, V, W, h, s, p = forward_000(bias=False)
    y = np.array([0, 0, 1.0])
    softmax_jacobian = np.diag(p) - np.outer(p, p)
    dL_ds = softmax_jacobian.T @ (-y / p)
    dL_dz2 = dL_ds * s * (1 - s)
    dL_dz1 = (W.T @ dL_dz2) * (V @ x > 0)
    np.testing.assert_allclose(answers["gradient.W2"], np.outer(dL_dz2, h).ravel(), rtol=1e-10)
    np.testing.assert_allclose(answers["gradient.W1"], np.outer(dL_dz1, x).ravel(), rtol=1e-10)
    assert "gradient.b1" not in answers and "gradient.b2" not in answers


def test_002_q3_two_layer_network_all_derivatives():
    answers = solve("softmax-network/q3-two-layer-network.yaml")
    hidden = sigmoid(2.0)
    np.testing.assert_allclose(answers["forward.a1"], [hidden] * 3, rtol=1e-12)
    np.testing.assert_allclose(answers["forward.z2"], [-hidden, -hidden], rtol=1e-12)
    np.testing.assert_allclose(answers["forward.a2"], [0.5, 0.5], rtol=1e-12)
    assert answers["loss"][0] == pytest.approx(math.log(2), rel=1e-12)
    np.testing.assert_allclose(answers["gradient.b2"], [-0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(answers["gradient.W2"], np.outer([hidden] * 3, [-0.5, 0.5]).ravel(), rtol=1e-12)
    # both output units have identical weights, so nothing flows back to the first layer
    np.testing.assert_allclose(answers["gradient.W1"], np.zeros(6), atol=1e-15)
    np.testing.assert_allclose(answers["gradient.b1"], np.zeros(3), atol=1e-15)


def test_003_s1_one_hidden_unit_and_sgd_step():
    answers = solve("relu-networks/s1-one-hidden-unit.yaml")
    # z1 = -2*1 + 3 = 1, a1 = 1, a2 = 3*1 + 0 = 3, L = (3 - 1)^2 = 4
    assert answers["forward.a2"][0] == 3
    assert answers["loss"][0] == 4
    assert answers["gradient.z2"][0] == 4  # 2 (a2 - y)
    assert answers["gradient.z1"][0] == 12  # 4 * w2 * ReLU'(1)
    assert (answers["gradient.W1"][0], answers["gradient.b1"][0]) == (12, 12)
    assert (answers["gradient.W2"][0], answers["gradient.b2"][0]) == (4, 4)
    assert answers["sgd.step1.W1"][0] == -8  # -2 - 0.5 * 12
    assert (answers["sgd.step1.b1"][0], answers["sgd.step1.W2"][0], answers["sgd.step1.b2"][0]) == (-3, 1, -2)


def test_003_s2_relu_softmax_outputs():
    answers = solve("relu-networks/s2-relu-softmax-outputs.yaml")
    np.testing.assert_array_equal(answers["forward.a1"], [2, 13, 0, 0])
    np.testing.assert_array_equal(answers["forward.z2"], [15, -13])
    small = 1 / (1 + math.exp(28))
    np.testing.assert_allclose(answers["forward.a2"], [1 - small, small], rtol=1e-12)


def test_001_q3_1b_strided_convolution_output_size():
    answers = solve("convolution-shapes/q1-output-size.yaml")
    # height (10 + 2·2 − 6) // 2 + 1 = 5, width (12 + 2·2 − 6) // 2 + 1 = 6
    np.testing.assert_array_equal(answers["layer1.shape"], [1, 5, 6])


def test_001_cnn_shapes_through_four_blocks():
    answers = solve("convolution-shapes/q2-cnn-shapes.yaml")
    expected = [(32, 28), (32, 14), (64, 14), (64, 7), (128, 7), (128, 3), (256, 3), (256, 1)]
    for l, (channels, size) in enumerate(expected, 1):
        np.testing.assert_array_equal(answers[f"layer{l}.shape"], [channels, size, size])


def test_001_q3_2a_same_size_kernel_and_the_doubled_padding_statements():
    answers = solve("convolution-shapes/q3-same-padding.yaml")
    assert answers["solve.1.kernel"][0] == 5  # 32 + 2·2 − n + 1 = 32
    assert answers["solve.2.kernel"][0] == 9  # 32 + 2·4 − n + 1 = 32
    assert (answers["solve.2.claim"][0], answers["solve.3.claim"][0]) == (0.0, 1.0)  # "10" false, "9" true


def test_backprop_step_by_step_shared_biases_and_weights_only_update():
    """Mazur's 2-2-2 example: one bias per layer, only the weights trained."""
    answers = solve("backprop-step-by-step/q1-two-two-two-network.yaml")
    x, y = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    W1, W2 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])
    h = sigmoid(W1 @ x + 0.35)
    o = sigmoid(W2 @ h + 0.60)
    delta2 = (o - y) * o * (1 - o)
    delta1 = (W2.T @ delta2) * h * (1 - h)
    np.testing.assert_allclose(answers["forward.a2"], o, rtol=1e-12)
    assert answers["loss"][0] == pytest.approx(0.5 * np.sum((y - o) ** 2), rel=1e-12)
    np.testing.assert_allclose(answers["gradient.W2"], np.outer(delta2, h).ravel(), rtol=1e-12)
    np.testing.assert_allclose(answers["gradient.W1"], np.outer(delta1, x).ravel(), rtol=1e-12)
    np.testing.assert_allclose(answers["sgd.step1.W2"], (W2 - 0.5 * np.outer(delta2, h)).ravel(), rtol=1e-12)
    np.testing.assert_allclose(answers["sgd.step1.W1"], (W1 - 0.5 * np.outer(delta1, x)).ravel(), rtol=1e-12)
    # the published values, to the digits given there
    assert round(answers["loss"][0], 9) == 0.298371109
    assert round(answers["gradient.W2"][0], 9) == 0.082167041  # ∂E/∂w5
    assert round(answers["sgd.step1.W2"][0], 8) == 0.35891648  # w5⁺
    assert round(answers["sgd.step1.W1"][0], 9) == 0.149780716  # w1⁺
    assert not any(name.endswith(("b1", "b2")) for name in answers)  # the biases: not trained, not asked
