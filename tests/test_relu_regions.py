"""relu_regions: boundaries, hidden activations, sum cases and the plot, against closed forms and torch."""
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.kinds import relu_regions
from solvers.variants import load
from solvers.verify import mismatches, verify

SEED = Path(__file__).resolve().parents[1] / "problems" / "relu-decision-regions" / "q1-regions.yaml"


def test_003_s2_3_and_2_4_values():
    loaded = load(SEED)
    solution = loaded.kind.solve(loaded.spec)
    verify(loaded, solution)
    a = {x.name: x.value for x in solution.answers}
    points = a["boundary.unit1.points"]
    np.testing.assert_array_equal(points[0], [1, 1, 1, 1])  # z1 = x1 − 1 = 0 is the line x1 = 1
    np.testing.assert_array_equal(a["hidden.activations"], [[0, 0, 0], [0, 1, 0], [0, 0, 2], [0, 0, 0]])
    np.testing.assert_allclose(a["sum_case.1.output"][:, 0], [1 / (1 + math.e ** 2), 1 / (1 + math.e ** -2)])
    np.testing.assert_allclose(a["sum_case.3.output"][:, 0], [1 / (1 + math.e ** -4), 1 / (1 + math.e ** 4)])
    assert [a[f"sum_case.{i}.class"][0, 0] for i in (1, 2, 3)] == [2, 0, 1]  # sum 1 is a tie


def test_the_plot_is_in_both_outputs(tmp_path):
    from solvers import build
    build.build([SEED], tmp_path)
    out = tmp_path / "q1-regions"
    assert (out / "figures").is_dir() and any((out / "figures").glob("*.pdf"))
    page = (out / "solutions.html").read_text()
    assert '<figure class="plot" role="img" aria-label="Decision regions in the (x1, x2) plane' in page
    assert "<figcaption><strong>Figure 1.1.</strong> Decision regions" in page and "<script" not in page


numbers = st.integers(-4, 4).map(float)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(2, 3), st.data())
def test_random_networks_match_torch(units, classes, data):
    row = data.draw(st.lists(numbers, min_size=classes, max_size=classes))
    w = [data.draw(st.lists(numbers, min_size=units, max_size=units)) for _ in range(2)]
    if w[0][0] == 0 and w[1][0] == 0:
        w[0][0] = 1.0
    spec = relu_regions.Spec.model_validate({
        "kind": "relu_regions", "title": "t", "plot": False,
        "hidden": {"weights": w, "bias": data.draw(st.lists(numbers, min_size=units, max_size=units))},
        "output": {"weights": [row] * units, "bias": data.draw(st.lists(numbers, min_size=classes, max_size=classes))},
        "inputs": data.draw(st.lists(st.lists(numbers, min_size=2, max_size=2), min_size=1, max_size=4)),
        "boundary_points": {"unit": 1, "count": 3}, "sum_cases": data.draw(st.lists(st.integers(0, 5), max_size=3))})
    relu_regions.check(spec)
    assert mismatches(relu_regions.KIND.solve(spec).values, relu_regions.reference(spec)) == []


@pytest.mark.parametrize("change, field, fragment", [
    ({"hidden": {"weights": [[1, 0], [0, 1], [1, 1]], "bias": [0, 0]}}, "hidden.weights", "expected 2 rows"),
    ({"output": {"weights": [[1, -1], [1, 0], [1, -1], [1, -1]], "bias": [0, 2]}}, "sum_cases",
     "depends on more than the sum"),
    ({"boundary_points": {"unit": 5}}, "boundary_points.unit", "no hidden unit 5"),
    ({"hidden": {"weights": [[1, 0, -1, 0]], "bias": [-1, -1, -1, -1]}}, "hidden.weights", "expected 2 rows"),
    ({"sum_cases": [1e308]}, "sum_cases[0]", "too large"),  # e^(1e308) in exact form: an overflow in mpmath
])
def test_bad_region_problems(load_error, change, field, fragment):
    error = load_error(yaml.safe_load(SEED.read_text()) | change)
    assert error.field == field and fragment in error.message, str(error)


def test_a_bracketed_number_times_a_number_has_its_dot():
    """(−1) 0 + 2 reads as −10 + 2; the sum case's exponent is written (−1) · 0 + 2."""
    from solvers.render.prose import prepare
    problem = load(SEED)
    text = " ".join(step for _, steps in prepare(problem.kind.solve(problem.spec, problem.name)).sections for step in steps)
    assert r"e^{\left(-1\right) \cdot 0 + 2}" in text and r"\right) 0" not in text


def test_each_sum_cases_answers_are_labelled_by_their_sum():
    from solvers.render.prose import prepare
    problem = load(SEED)
    labels = {name: label for name, label, _ in prepare(problem.kind.solve(problem.spec, problem.name)).answers}
    assert labels["sum_case.1.output"] == r"\mathbf{a}^{(2)}\ (s = 0)" and labels["sum_case.3.class"] == r"k\ (s = 3)"
