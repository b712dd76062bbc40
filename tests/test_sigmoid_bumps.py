"""sigmoid_bumps: the bump's weights, its values, the error table, and safe function parsing."""
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.kinds import sigmoid_bumps
from solvers.variants import load
from solvers.verify import mismatches, verify

SEED = Path(__file__).resolve().parents[1] / "problems" / "universal-approximation" / "q1-bumps.yaml"


def sig(z):
    return 1 / (1 + math.exp(-z))


def test_004_q1_bump_weights_values_and_shrinking_error():
    loaded = load(SEED)
    solution = loaded.kind.solve(loaded.spec)
    verify(loaded, solution)
    a = {x.name: x.value for x in solution.answers}
    np.testing.assert_allclose(a["bump.weights"][:, 0], [50, 0, 50, -25, 2, -2])
    expected = [2 * sig(50 * x) - 2 * sig(50 * (x - 0.5)) for x in (-0.25, 0.1, 0.25, 0.4, 0.75)]
    np.testing.assert_allclose(a["bump.values"][:, 0], expected, rtol=1e-12)
    errors = a["approximation.max_error"]
    assert errors[-1, -1] < 0.1 < errors[0, -1]  # 40 steep bumps beat 5
    assert np.all(np.diff(errors[:, -1]) < 0)  # more bumps, less error, when steep
    assert errors[-1, 0] > errors[-1, -1]  # shallow sigmoids are not steps


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('x')", "is not allowed"),
    ("sin(x", "is not an expression"),
    ("y + 1", "'y' is not allowed"),
    ("log(x)", "is not finite everywhere"),
    ("x + 9**9**9", "the power 9**9 is larger than 1e+06"),  # a tower SymPy would compute for minutes
    ("1000000**1000000", "the exponent 1000000 is too large"),
    ("x**(0/0)", "is undefined"),
])
def test_function_text_is_parsed_safely(load_error, text, fragment):
    data = yaml.safe_load(SEED.read_text())
    data["approximate"]["function"] = text
    error = load_error(data)
    assert error.field == "approximate.function" and fragment in error.message, str(error)


@pytest.mark.parametrize("function", ["x**2", "exp(-x)*cos(3*x)", "abs(x - 0.5)", "tanh(4*x - 2)"])
def test_other_functions_match_torch(function):
    spec = sigmoid_bumps.Spec.model_validate({
        "kind": "sigmoid_bumps", "title": "t", "bump": {"height": -1.5, "width": 2, "steepness": 7, "points": [1.0]},
        "approximate": {"function": function, "interval": [0, 1], "bumps": [3, 8], "steepness": [5, 500]}})
    sigmoid_bumps.check(spec)
    assert mismatches(sigmoid_bumps.KIND.solve(spec).values, sigmoid_bumps.reference(spec)) == []


@settings(max_examples=30, deadline=None)
@given(height=st.integers(-30, 30).map(lambda k: k / 10), width=st.integers(1, 40).map(lambda k: k / 10),
       steepness=st.sampled_from([1, 5, 50, 500]), points=st.lists(st.integers(-20, 60).map(lambda k: k / 10),
                                                                   max_size=5),
       bumps=st.lists(st.integers(1, 30), min_size=1, max_size=3, unique=True),
       low=st.integers(-3, 2), length=st.integers(1, 4), coefficient=st.integers(-3, 3))
def test_random_bumps_and_approximations_match_torch(height, width, steepness, points, bumps, low, length, coefficient):
    spec = sigmoid_bumps.Spec.model_validate({
        "kind": "sigmoid_bumps", "title": "t",
        "bump": {"height": height, "width": width, "steepness": steepness, "points": points},
        "approximate": {"function": f"{coefficient}*x**2 + sin(x)", "interval": [low, low + length],
                        "bumps": bumps, "steepness": [steepness, 10 * steepness]}})
    sigmoid_bumps.check(spec)
    assert mismatches(sigmoid_bumps.KIND.solve(spec).values, sigmoid_bumps.reference(spec)) == []
