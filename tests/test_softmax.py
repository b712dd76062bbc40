"""The softmax kind: outputs, Jacobian, cross-entropy gradient and the max-subtraction, against
closed forms in plain numpy (and torch through verify), the seed problems, and bad inputs."""
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from solvers import problem as P
from solvers.kinds import softmax
from solvers.render.drivers.html import to_html
from solvers.render.prose import prepare
from solvers.variants import load
from solvers.verify import mismatches, verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "softmax"


def solved(name: str, seed: int = 1):
    loaded = load(PROBLEMS / name, seed)
    solution = loaded.kind.solve(loaded.spec, loaded.name)
    verify(loaded, solution)
    return loaded, solution


def answers(name: str, seed: int = 1) -> dict:
    return {a.name: a.value for a in solved(name, seed)[1].answers}


def np_softmax(z) -> np.ndarray:
    e = np.exp(np.asarray(z, dtype=float) - np.max(z))
    return e / e.sum()


def np_jacobian(z) -> np.ndarray:
    y = np_softmax(z)
    return np.array([[y[i] * ((i == j) - y[j]) for j in range(len(y))] for i in range(len(y))])


def test_002_q1_q2_local_derivatives_and_gradient():
    a = answers("q1-softmax-cross-entropy.yaml")
    z = [1.0, 2.0, 0.5]
    y = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(a["softmax"].ravel(), y, rtol=1e-12)
    J = a["jacobian"]
    np.testing.assert_allclose(np.diag(J), y * (1 - y), rtol=1e-12)  # case i = j
    assert J[0, 1] == pytest.approx(-y[0] * y[1], rel=1e-12)  # case i != j
    np.testing.assert_allclose(J, np_jacobian(z), rtol=1e-12, atol=1e-15)
    assert a["cross_entropy.loss"][0, 0] == pytest.approx(-math.log(y[1]), rel=1e-12)
    np.testing.assert_allclose(a["cross_entropy.output_gradient"].ravel(), [0, -1 / y[1], 0], rtol=1e-12)
    np.testing.assert_allclose(a["cross_entropy.gradient"].ravel(), y - [0, 1, 0], rtol=1e-12)
    assert round(a["cross_entropy.loss"][0, 0], 4) == 0.4644


def test_004_q2_off_diagonal_entries_are_negative():
    a = answers("q2-jacobian-by-logarithm.yaml")
    z = [0.5, -1.0, 2.0, 0.0]
    y = np_softmax(z)
    J = a["jacobian"]
    np.testing.assert_allclose(J, np.diag(y) - np.outer(y, y), rtol=1e-12, atol=1e-15)
    off = J[~np.eye(4, dtype=bool)]
    assert np.all(off < 0)
    assert not np.allclose(J[0, 2], y[0] * y[2])  # the handwritten i != j case, y_i y_j, has the wrong sign
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-15)
    np.testing.assert_allclose(J, J.T, atol=1e-16)


def test_003_3_3_subtracting_the_maximum():
    _, solution = solved("q3-subtracting-the-maximum.yaml")
    a = {x.name: x.value for x in solution.answers}
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp([1000.0, 999.0, 998.0]) / np.exp([1000.0, 999.0, 998.0]).sum()
    assert np.all(np.isnan(naive))
    expected = np.exp([0.0, -1.0, -2.0]) / np.exp([0.0, -1.0, -2.0]).sum()
    np.testing.assert_allclose(a["stability.probabilities"].ravel(), expected, rtol=1e-12)
    assert a["stability.naive_overflows"][0, 0] == 1 and a["stability.shift_changes_output"][0, 0] == 0
    assert a["statement.1"][0, 0] == 0 and a["statement.2"][0, 0] == 1
    np.testing.assert_allclose(a["softmax"].ravel(), np_softmax([2, 1, 0.1]), rtol=1e-12)
    v = solution.values
    assert np.all(np.isinf(v["Eu"])) and np.isinf(v["Su"][0, 0]) and np.all(v["oku"] == 0)
    assert v["fmax"][0, 0] == np.finfo(float).max and v["zmax"][0, 0] == pytest.approx(709.782712893384)
    np.testing.assert_array_equal(v["su"].ravel(), [0, -1, -2])
    text = "\n".join(step for _, steps in prepare(solution).sections for step in steps)
    assert text.count(r"\mathrm{NaN}") == 3 and "**overflows**" in text


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_problem_variants_overflow_and_verify(seed):
    loaded, solution = solved("q4-random-scores.yaml", seed)
    a = {x.name: x.value for x in solution.answers}
    z = loaded.spec.z
    assert a["stability.naive_overflows"][0, 0] == 1
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.array(loaded.spec.overflow, dtype=float)).sum())
    np.testing.assert_allclose(a["cross_entropy.gradient"].ravel(),
                               np_softmax(z) - np.eye(3)[loaded.spec.target], rtol=1e-10, atol=1e-15)


def test_every_problem_renders_to_html():
    for path in sorted(PROBLEMS.glob("q*.yaml")):
        _, solution = solved(path.name)
        rendered = prepare(solution)
        for heading, steps in rendered.sections:
            for block in [heading, *steps]:
                has_math = any(mark in block for mark in ("\\(", "\\[", "\\begin{align*}"))
                assert ("<math" in to_html(block)) == has_math


def test_shift_identity_and_partial_overflow():
    spec = softmax.Spec.model_validate({"kind": "softmax", "title": "t", "z": [3, -1], "overflow": [700, 800],
                                        "statements": [{"text": "x", "claim": "naive_overflows"}]})
    softmax.check(spec)
    v = softmax.KIND.solve(spec).values
    assert v["chg"][0, 0] == 0
    np.testing.assert_allclose(v["y_shift"], v["y"], rtol=1e-15)
    assert v["Eu"][0, 0] == pytest.approx(math.exp(700)) and np.isinf(v["Eu"][1, 0])
    np.testing.assert_array_equal(v["oku"].ravel(), [1, 0])  # e^700/inf = 0 is a number; inf/inf is not
    assert v["over"][0, 0] == 1
    np.testing.assert_allclose(v["yu"].ravel(), [math.exp(-100) / (1 + math.exp(-100)), 1 / (1 + math.exp(-100))])


def test_sum_overflow_without_a_single_overflowing_exponential():
    spec = softmax.Spec.model_validate({"kind": "softmax", "title": "t", "z": [0, 1], "overflow": [709.5] * 3})
    softmax.check(spec)
    v = softmax.KIND.solve(spec).values
    assert np.all(np.isfinite(v["Eu"])) and v["over"][0, 0] == 1 and np.all(v["qu"] == 0)


def test_underflow_is_not_overflow():
    spec = softmax.Spec.model_validate({"kind": "softmax", "title": "t", "z": [0, 1], "overflow": [-800, -900]})
    softmax.check(spec)
    v = softmax.KIND.solve(spec).values
    assert v["over"][0, 0] == 0 and v["Su"][0, 0] == 0 and np.all(v["oku"] == 0)
    np.testing.assert_allclose(v["yu"].ravel(), [1 / (1 + math.exp(-100)), math.exp(-100) / (1 + math.exp(-100))])


def test_distribution_target_and_other_letters():
    spec = softmax.Spec.model_validate({"kind": "softmax", "title": "t", "z": [0.3, -0.2, 1.1],
                                        "target": [0.2, 0.5, 0.3], "symbols": {"scores": "o", "outputs": "g",
                                                                               "target": "y"}})
    softmax.check(spec)
    solution = softmax.KIND.solve(spec)
    assert mismatches(solution.values, softmax.reference(spec)) == []
    t = np.array([0.2, 0.5, 0.3])
    y = np_softmax([0.3, -0.2, 1.1])
    assert solution.values["L"][0, 0] == pytest.approx(-(t * np.log(y)).sum(), rel=1e-12)
    np.testing.assert_allclose(solution.values["dL_dz"].ravel(), y - t, rtol=1e-12)
    text = "\n".join(step for _, steps in prepare(solution).sections for step in steps)
    assert "g_{i}" in text and "o_{j}" in text and "z_{" not in text


scores = st.integers(-40, 40).map(lambda k: k / 8)
large = st.integers(-2000, 2000).map(float)


@st.composite
def problems(draw) -> dict:
    """A softmax problem: 2 to 6 scores, maybe a target (class or distribution), maybe the
    stability part with 2 to 5 large scores and a statement."""
    n = draw(st.integers(2, 6))
    problem = {"kind": "softmax", "title": "random", "z": draw(st.lists(scores, min_size=n, max_size=n))}
    if draw(st.booleans()):
        if draw(st.booleans()):
            weights = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n).filter(any))
            problem["target"] = [w / sum(weights) for w in weights]
        else:
            problem["target"] = draw(st.integers(0, n - 1))
    if draw(st.booleans()):
        problem["overflow"] = draw(st.lists(large, min_size=2, max_size=5))
        problem["statements"] = [{"text": "s", "claim": draw(st.sampled_from(sorted(softmax.CLAIMS)))}]
    return problem


SUBNORMAL_SUM = {"kind": "softmax", "title": "random", "z": [0.0, 0.0], "target": 0, "overflow": [-710.0, -712.0],
                 "statements": [{"text": "s", "claim": "naive_overflows"}]}


@settings(max_examples=40, deadline=None)
@given(problem=problems())
@example(problem=SUBNORMAL_SUM)
def test_random_softmax_problems_match_torch(problem):
    spec = softmax.Spec.model_validate(problem)
    softmax.check(spec)
    solution = softmax.KIND.solve(spec)
    assert mismatches(solution.values, softmax.reference(spec)) == []
    z = problem["z"]
    np.testing.assert_allclose(solution.values["J"], np_jacobian(z), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(solution.values["J"].sum(axis=1), 0, atol=1e-14)
    if "target" in problem:
        t = softmax.target_vector(spec).ravel()
        np.testing.assert_allclose(solution.values["dL_dz_J"].ravel(), np_softmax(z) - t, rtol=1e-9, atol=1e-14)
    if "overflow" in problem:
        u = np.array(problem["overflow"])
        np.testing.assert_allclose(solution.values["yu"].ravel(), np_softmax(u), rtol=1e-9, atol=1e-300)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            assert solution.values["over"][0, 0] == float(np.isinf(np.exp(u).sum()))
            np.testing.assert_array_equal(solution.values["oku"].ravel(), np.isfinite(np.exp(u) / np.exp(u).sum()))


def test_naive_quotients_of_a_subnormal_sum_are_numbers():
    """e^-710 and e^-712 are subnormal and so is their sum S (< 1/Ω): e^u/S is a number,
    though 1/S overflows, so the quotient must be one division."""
    spec = softmax.Spec.model_validate(SUBNORMAL_SUM)
    softmax.check(spec)
    v = softmax.KIND.solve(spec).values
    assert 0 < v["Su"][0, 0] < 1 / np.finfo(float).max
    assert v["over"][0, 0] == 0
    np.testing.assert_array_equal(v["oku"].ravel(), [1, 1])
    p = 1 / (1 + math.exp(-2))
    np.testing.assert_allclose(v["qu"].ravel(), [p, 1 - p], rtol=1e-9)
    np.testing.assert_allclose(v["yu"].ravel(), [p, 1 - p], rtol=1e-12)


# -- bad inputs ------------------------------------------------------------------------------------------

GOOD = "kind: softmax\ntitle: t\n"


@pytest.mark.parametrize("body, field, fragment", [
    ("z: [1, 1000]\n", "z[1]", "outside [-100, 100]"),
    ("z: [1]\n", "z", "at least 2"),
    ("z: [1, .nan]\n", "z[1]", "finite"),
    ("z: [1, 2]\ntarget: 2\n", "target", "does not exist"),
    ("z: [1, 2]\ntarget: [0, 0, 1]\n", "target", "has 3 entries"),
    ("z: [1, 2]\ntarget: [0.5, 0.6]\n", "target", "not a probability distribution"),
    ("z: [1, 2]\nask: {cross_entropy_gradient: true}\n", "target", "is missing"),
    ("z: [1, 2]\ntarget: 0\nask: {cross_entropy_gradient: false}\n", "target", "ask.cross_entropy_gradient is false"),
    ("z: [1, 2]\nask: {stability: true}\n", "overflow", "is missing"),
    ("z: [1, 2]\noverflow: [1000, 0]\nask: {stability: false}\n", "overflow", "ask.stability is false"),
    ("z: [1, 2]\nsymbols: {outputs: e}\n", "symbols.outputs", "cannot name a vector"),
    ("z: [1, 2]\nsymbols: {outputs: z}\n", "symbols", "uses a letter twice"),
    ("z: [1, 2]\nsymbols: {target: tt}\n", "symbols.target", "one lowercase letter"),
    ("z: [1, 2]\nstatements: [{text: a, claim: naive_overflows}]\n", "statements[0].claim", "stability"),
    ("z: [1, 2]\noverflow: [1000, 0]\nstatements: [{text: a, claim: faster}]\n", "statements[0].claim",
     "shift_changes_output"),
    ("z: [1, 2]\noverflow: [1000, 0]\nstatements: [{text: '**a', claim: naive_overflows}]\n",
     "statements[0].text", "opened but not closed"),
    ("z: [1, 2]\nscores: [1, 2]\n", "scores", "not a known field"),
])
def test_bad_inputs_name_the_field(tmp_path, body, field, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD + body, encoding="utf-8")
    with pytest.raises(P.ProblemError) as error:
        load(path)
    assert error.value.field == field
    assert fragment in error.value.message
