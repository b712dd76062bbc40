"""The linear_backprop kind: matrix-form backprop through a linear module and tanh, ReLU and
softmax+NLL modules, against numpy closed forms, finite differences and torch."""
from pathlib import Path

import numpy as np
import pytest
import sympy
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.kinds import linear_backprop
from solvers.variants import instantiate, load, read
from solvers.verify import mismatches, verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "matrix-backprop"

# the batch of q2 and q3: m = 2, n = 3, b = 3
A2 = np.array([[1, -1, 2], [2, 0, -1.0]])
W2 = np.array([[1, -0.5, 0.5], [-1, 0.5, 1]])
W02 = np.array([[0.5], [0], [0]])
DLDA2 = np.array([[1, -2, 0.5], [0.5, 1, -1], [-1, 2, 1]])


def answers(name: str) -> dict[str, np.ndarray]:
    loaded = load(PROBLEMS / name)
    solution = loaded.kind.solve(loaded.spec, loaded.name)
    verify(loaded, solution)
    return {a.name: a.value for a in solution.answers}


def linear_backward(A, W, G):
    """The seed's own answers (003 §5.1): W @ dLdZ, A @ dLdZ.T, dLdZ summed over the batch."""
    return W @ G, A @ G.T, G.sum(axis=1, keepdims=True)


def test_003_4_1_linear_module_on_a_batch():
    a = answers("q1-linear-module.yaml")
    A = np.array([[1, 2], [0, -1], [3, 1.0]])
    W = np.array([[0.5, -1], [2, 0.25], [-1, 1]])
    G = np.array([[1, -1], [0.5, 2]])
    np.testing.assert_allclose(a["forward.Z"], [[-2.4, -1.9], [1.8, -1.45]], rtol=1e-12)
    np.testing.assert_allclose(a["backward.dLdA"], [[0, -2.5], [2.125, -1.5], [-0.5, 3]], rtol=1e-12)
    np.testing.assert_allclose(a["backward.dLdW"], [[-1, 4.5], [1, -2], [2, 3.5]], rtol=1e-12)
    np.testing.assert_allclose(a["backward.dLdW0"], [[0], [2.5]], atol=1e-15)
    assert (a["backward.dLdA"].shape, a["backward.dLdW"].shape, a["backward.dLdW0"].shape) == ((3, 2), (3, 2), (2, 1))
    for ours, seed in zip((a["backward.dLdA"], a["backward.dLdW"], a["backward.dLdW0"]), linear_backward(A, W, G)):
        np.testing.assert_allclose(ours, seed, rtol=1e-12)


def test_linear_gradients_match_finite_differences():
    a = answers("q1-linear-module.yaml")
    A = np.array([[1, 2], [0, -1], [3, 1.0]])
    W = np.array([[0.5, -1], [2, 0.25], [-1, 1]])
    W0 = np.array([[0.1], [-0.2]])
    G = np.array([[1, -1], [0.5, 2]])
    loss = lambda A, W, W0: float((G * (W.T @ A + W0)).sum())  # noqa: E731
    for name, index in (("dLdA", 0), ("dLdW", 1), ("dLdW0", 2)):
        args = [A, W, W0]
        numeric = np.zeros_like(args[index])
        for ij in np.ndindex(numeric.shape):
            step = np.zeros_like(numeric)
            step[ij] = 1e-6
            plus, minus = list(args), list(args)
            plus[index], minus[index] = args[index] + step, args[index] - step
            numeric[ij] = (loss(*plus) - loss(*minus)) / 2e-6
        np.testing.assert_allclose(a[f"backward.{name}"], numeric, rtol=1e-7, atol=1e-8)


def test_003_5_2_1_tanh_backward_uses_the_stored_output():
    a = answers("q2-tanh-module.yaml")
    Z = W2.T @ A2 + W02
    out = np.tanh(Z)
    np.testing.assert_allclose(a["forward.Z"], [[-0.5, -0.5, 3.5], [0.5, 0.5, -1.5], [2.5, -0.5, 0]], rtol=1e-12)
    np.testing.assert_allclose(a["forward.A"], out, rtol=1e-12)
    np.testing.assert_allclose(a["backward.dAdZ"], 1 / np.cosh(Z) ** 2, rtol=1e-12)
    G = DLDA2 * (1 - out ** 2)
    np.testing.assert_allclose(a["backward.dLdZ"], G, rtol=1e-12)
    np.testing.assert_allclose(a["backward.dLdZ"], DLDA2 * (1 - np.tanh(np.arctanh(out)) ** 2), rtol=1e-9)
    for ours, expected in zip((a["backward.dLdA"], a["backward.dLdW"], a["backward.dLdW0"]),
                              linear_backward(A2, W2, G)):
        np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_003_5_2_2_relu_mask_is_entry_by_entry_with_relu_prime_0_equal_0():
    a = answers("q3-relu-module.yaml")
    Z = W2.T @ A2 + W02
    assert Z[2, 2] == 0  # the kink is in the batch
    mask = np.array([[0, 0, 1], [1, 1, 0], [1, 0, 0.0]])
    np.testing.assert_array_equal(a["backward.dAdZ"], mask)
    np.testing.assert_array_equal(a["forward.A"], np.maximum(Z, 0))
    np.testing.assert_allclose(a["backward.dLdZ"], DLDA2 * mask, rtol=1e-12)
    # the seed's handwritten backward returns dLdA unchanged when sum(A) != 0: wrong in 5 entries
    handwritten = DLDA2 * (np.zeros((1, 3)) if np.sum(np.maximum(Z, 0)) == 0 else np.ones((1, 3)))
    assert np.sum(handwritten != a["backward.dLdZ"]) == 5
    for ours, expected in zip((a["backward.dLdA"], a["backward.dLdW"], a["backward.dLdW0"]),
                              linear_backward(A2, W2, DLDA2 * mask)):
        np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_003_5_3_softmax_nll_gradient_is_prediction_minus_target():
    a = answers("q4-softmax-nll.yaml")
    A = np.array([[1, -1], [0.5, 2]])
    W = np.array([[1, -1, 0], [0.5, 0.5, -1]])
    W0 = np.array([[0], [0.5], [-0.5]])
    Y = np.array([[0, 1], [1, 0], [0, 0.0]])
    Z = W.T @ A + W0
    np.testing.assert_allclose(a["forward.Z"], [[1.25, 0], [-0.25, 2.5], [-1, -2.5]], rtol=1e-12)
    probabilities = np.exp(Z) / np.exp(Z).sum(axis=0)
    np.testing.assert_allclose(a["forward.A"], probabilities, rtol=1e-12)
    nll = lambda Z: -np.sum(Y * (Z - np.log(np.exp(Z).sum(axis=0))))  # noqa: E731
    assert a["loss"][0, 0] == pytest.approx(nll(Z), rel=1e-12)
    assert a["loss"][0, 0] == pytest.approx(-np.log(probabilities[1, 0]) - np.log(probabilities[0, 1]), rel=1e-12)
    np.testing.assert_allclose(a["backward.dLdZ"], probabilities - Y, rtol=1e-12)
    numeric = np.zeros_like(Z)
    for ij in np.ndindex(Z.shape):
        step = np.zeros_like(Z)
        step[ij] = 1e-6
        numeric[ij] = (nll(Z + step) - nll(Z - step)) / 2e-6
    np.testing.assert_allclose(a["backward.dLdZ"], numeric, rtol=1e-6, atol=1e-8)
    for ours, expected in zip((a["backward.dLdA"], a["backward.dLdW"], a["backward.dLdW0"]),
                              linear_backward(A, W, probabilities - Y)):
        np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_sympy_derives_the_matrix_forms_it_evaluates():
    derivation, _ = linear_backprop.KIND.compiled(linear_backprop.Structure(
        inputs=3, outputs=2, batch=4, activation=None, forward=True, backward=True))
    steps = {s.target.key: s for s in derivation.steps}
    W = derivation.givens[1].elements
    G = derivation.givens[3].elements
    assert steps["dLdA"].compute == W * G
    assert steps["dLdW0"].compute == G * sympy.ones(4, 1)
    assert linear_backprop.softmax_nll_gradient_checked(4)


def test_forward_only_and_backward_only_problems():
    base = {"kind": "linear_backprop", "title": "t", "A": [[1, 2]], "W": [[3]], "W0": [1]}
    forward = linear_backprop.Spec.model_validate(base | {"ask": {"forward": True, "backward": False}})
    linear_backprop.check(forward)
    solution = linear_backprop.KIND.solve(forward)
    assert [a.name for a in solution.answers] == ["forward.Z"]
    np.testing.assert_array_equal(solution.answers[0].value, [[4, 7]])
    backward = linear_backprop.Spec.model_validate(base | {"dLdZ": [[1, -1]], "ask": {"forward": False}})
    solution = linear_backprop.KIND.solve(backward)
    assert "Z" not in solution.values
    np.testing.assert_array_equal({a.name: a.value for a in solution.answers}["backward.dLdW0"], [[0]])


def test_random_relu_variants_have_a_mixed_mask(tmp_path):
    path = tmp_path / "random-relu.yaml"
    path.write_text(yaml.safe_dump({
        "kind": "linear_backprop", "title": "random", "A": {"integers": [-3, 3], "shape": [2, 3]},
        "W": {"integers": [-2, 2], "shape": [2, 2]}, "W0": {"integers": [-1, 1], "shape": 2},
        "activation": {"type": "relu", "dLdA": {"integers": [-2, 2], "shape": [2, 3]}}}), encoding="utf-8")
    template = read(path)
    for seed in range(1, 6):
        problem, solution = instantiate(template, seed)
        mask = solution.values["dAout_dZ"]
        assert mask.min() == 0 and mask.max() == 1
        assert mismatches(solution.values, linear_backprop.reference(problem.spec)) == []


numbers = st.integers(-8, 8).map(lambda k: k / 4)


def matrix(data, rows: int, cols: int) -> list[list[float]]:
    return data.draw(st.lists(st.lists(numbers, min_size=cols, max_size=cols), min_size=rows, max_size=rows))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 5), n=st.integers(1, 5), b=st.integers(1, 5),
       act=st.sampled_from([None, "tanh", "relu", "softmax_nll"]), forward=st.booleans(), data=st.data())
def test_random_shapes_match_torch(m, n, b, act, forward, data):
    spec = {"kind": "linear_backprop", "title": "random", "A": matrix(data, m, b), "W": matrix(data, m, n),
            "W0": data.draw(st.lists(numbers, min_size=n, max_size=n)), "ask": {"forward": forward}}
    if act is None:
        spec["dLdZ"] = matrix(data, n, b)
    elif act == "softmax_nll":
        classes = data.draw(st.lists(st.integers(0, n - 1), min_size=b, max_size=b))
        spec["activation"] = {"type": act, "Y": [[float(c == i) for c in classes] for i in range(n)]}
    else:
        spec["activation"] = {"type": act, "dLdA": matrix(data, n, b)}
    spec = linear_backprop.Spec.model_validate(spec)
    linear_backprop.check(spec)
    solution = linear_backprop.KIND.solve(spec)
    assert mismatches(solution.values, linear_backprop.reference(spec)) == []
    shapes = {a.name: a.value.shape for a in solution.answers}
    assert (shapes["backward.dLdA"], shapes["backward.dLdW"], shapes["backward.dLdW0"]) == ((m, b), (m, n), (n, 1))


BASE = {"kind": "linear_backprop", "title": "Bad", "A": [[1, 2], [0, -1], [3, 1]],
        "W": [[0.5, -1], [2, 0.25], [-1, 1]], "W0": [0.1, -0.2], "dLdZ": [[1, -1], [0.5, 2]]}
TANH = {"dLdZ": None, "activation": {"type": "tanh", "dLdA": [[1, -1], [0.5, 2]]}}


@pytest.mark.parametrize("changes, field, fragment", [
    ({"W": [[0.5, -1], [2, 0.25]]}, "W", "has 2 rows but A has 3; expected m = 3"),
    ({"W0": [0.1, -0.2, 0.3]}, "W0", "has 3 entries but W has 2 columns"),
    ({"A": [[1, 2], [0], [3, 1]]}, "A[1]", "has 1 entries but A[0] has 2"),
    ({"A": [1, 2, 3]}, "A", "not a list of rows"),
    ({"A": [[1, 2], [0, float("nan")], [3, 1]]}, "A[1][1]", "finite"),
    ({"A": [[1] * 6] * 3}, "A", "b (columns of A) is 6; expected at most 5"),
    ({"dLdZ": [[1, -1, 0], [0.5, 2, 0]]}, "dLdZ", "is 2×3; expected 2×2"),
    ({"dLdZ": None}, "dLdZ", "is missing"),
    ({"activation": {"type": "relu", "dLdA": [[1, -1], [0.5, 2]]}}, "dLdZ", "given together with an activation"),
    ({**TANH, "activation": {"type": "sigmoid", "dLdA": [[1, 1], [1, 1]]}}, "activation.type", "'softmax_nll'"),
    ({**TANH, "activation": {"type": "relu"}}, "activation.dLdA", "is missing"),
    ({**TANH, "activation": {"type": "tanh", "dLdA": [[1, 1]]}}, "activation.dLdA", "is 1×2; expected 2×2"),
    ({**TANH, "activation": {"type": "tanh", "Y": [[1, 0], [0, 1]]}}, "activation.Y", "is not used by tanh"),
    ({**TANH, "activation": {"type": "softmax_nll", "Y": [[1, 0.5], [0, 0]]}}, "activation.Y", "column 2"),
    ({**TANH, "activation": {"type": "softmax_nll"}}, "activation.Y", "is missing"),
    ({"ask": {"forward": False, "backward": False}}, "ask", "asks nothing"),
    ({"ask": {"backward": False}}, "dLdZ", "only used by the backward pass"),
])
def test_bad_problem_files_name_the_field(load_error, changes, field, fragment):
    error = load_error({k: v for k, v in (BASE | changes).items() if v is not None})
    assert error.field == field
    assert fragment in error.message
