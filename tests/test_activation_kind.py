"""The activation kind: derivatives, the chain rule, comparisons and dead ReLUs, against
closed forms and torch."""
import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.activations import ELEMENTWISE, SMOOTH_EXTRAS
from solvers.kinds import activation
from solvers.variants import load
from solvers.verify import mismatches, verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "activation-functions"


def answers(name: str) -> dict:
    loaded = load(PROBLEMS / name)
    solution = loaded.kind.solve(loaded.spec)
    verify(loaded, solution)
    return {a.name: a.value.ravel() for a in solution.answers}


def test_001_q2_relu_family_derivatives_and_chain_rule():
    a = answers("q1-relu-family.yaml")
    np.testing.assert_array_equal(a["derivative.1.relu"], [0, 0, 1])  # ReLU'(0) = 0, as torch
    np.testing.assert_allclose(a["derivative.2.leaky_relu"], [0.01, 0.01, 1])
    np.testing.assert_allclose(a["derivative.3.elu"], [math.exp(-1.5), 1, 1])
    np.testing.assert_allclose(a["value.3.elu"], [math.expm1(-1.5), 0, 2])
    x = np.array([1.0, -2.0, 0.5])
    s = 0.3 * 1 + 0.4 * -2 - 0.2 * 0.5  # -0.6: every unit is on its negative side
    np.testing.assert_array_equal(a["chain.1.relu"], [0, 0, 0])
    np.testing.assert_allclose(a["chain.2.leaky_relu"], 0.01 * x)
    np.testing.assert_allclose(a["chain.3.elu"], math.exp(s) * x)


def test_001_q1_2_sigmoid_derivative_is_not_greater_than_tanh_at_0():
    a = answers("q2-sigmoid-tanh.yaml")
    assert a["compare.1"][0] == 0.0
    np.testing.assert_allclose(a["derivative.1.sigmoid"], [0.25, math.exp(-1) / (1 + math.exp(-1)) ** 2])
    np.testing.assert_allclose(a["derivative.2.tanh"], [1, 1 - math.tanh(1) ** 2])
    np.testing.assert_allclose(a["value.3.softplus"], [math.log(2), math.log1p(math.e)])
    np.testing.assert_allclose(a["derivative.4.gelu"][0], 0.5)


def test_001_q2_3_dead_relu_has_exactly_zero_gradient_and_leaky_elu_do_not():
    a = answers("q3-dead-relu.yaml")
    assert np.all(a["dead_relu.gw.relu"] == 0) and a["dead_relu.gb.relu"][0] == 0
    assert np.all(a["dead_relu.gw.leaky_relu"] != 0) and np.all(a["dead_relu.gw.elu"] != 0)
    data = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 1.0], [-0.2, 0.5]])
    z = data @ [-1.0, -0.5] - 0.5
    assert np.all(z <= 0)
    np.testing.assert_allclose(a["dead_relu.gw.leaky_relu"], 0.01 * data.sum(axis=0))
    np.testing.assert_allclose(a["dead_relu.gw.elu"], data.T @ np.exp(z))


names = st.sampled_from(ELEMENTWISE + SMOOTH_EXTRAS)
numbers = st.integers(-8, 8).map(lambda k: k / 4)


@settings(max_examples=60, deadline=None)
@given(functions=st.lists(names, min_size=1, max_size=4), points=st.lists(numbers, min_size=1, max_size=4),
       features=st.integers(1, 4), data=st.data(), kink=st.sampled_from(["left", "right"]))
def test_random_activation_problems_match_torch(functions, points, features, data, kink):
    spec = activation.Spec.model_validate({
        "kind": "activation", "title": "random", "kink": kink, "functions": functions, "points": points,
        "chain": {"x": data.draw(st.lists(numbers, min_size=features, max_size=features)),
                  "w": data.draw(st.lists(numbers, min_size=features, max_size=features)),
                  "b": data.draw(numbers)},
        "compare": [{"greater": data.draw(names), "than": data.draw(names), "at": data.draw(numbers)}],
        "dead_relu": {"data": data.draw(st.lists(st.lists(numbers, min_size=2, max_size=2), min_size=1, max_size=4)),
                      "w": data.draw(st.lists(numbers, min_size=2, max_size=2)), "b": data.draw(numbers)},
    })
    activation.check(spec)
    assert mismatches(activation.KIND.solve(spec).values, activation.reference(spec)) == []
