"""The loss_comparison kind: NLL, squared and accuracy losses of candidate predictions, the
smallest, and which losses SGD can minimize, against closed forms, numpy and torch."""
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from solvers import formula as F
from solvers import problem as P
from solvers.kinds import loss_comparison as LC
from solvers.variants import load
from solvers.verify import mismatches, verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "loss-comparison"
SEED_CANDIDATES = [[0.25, 0.20, 0.30, 0.25], [0.01, 0.01, 0.44, 0.54], [0.25, 0.25, 0.25, 0.25],
                   [0.97, 0.01, 0.01, 0.01]]
DYNASTIES = ["Tang", "Song", "Ming", "Qing"]


def answers(name: str) -> dict:
    loaded = load(PROBLEMS / name)
    solution = loaded.kind.solve(loaded.spec, loaded.name)
    verify(loaded, solution)
    return {a.name: a.value.ravel() for a in solution.answers}


def spec(**fields) -> LC.Spec:
    data = {"kind": "loss_comparison", "title": "t", "target": 2, "candidates": SEED_CANDIDATES} | fields
    result = LC.Spec.model_validate(data)
    LC.check(result)
    return result


def test_003_3_1_smallest_nll_is_the_largest_probability_of_ming():
    a = answers("q1-smallest-nll.yaml")
    for k, expected in enumerate([-math.log(0.30), -math.log(0.44), math.log(4), -math.log(0.01)], 1):
        assert a[f"loss.nll.{k}"][0] == pytest.approx(expected, rel=1e-12)
    assert a["best.nll"][0] == 2  # (0.01, 0.01, 0.44, 0.54), although it ranks Qing first
    assert round(a["loss.nll.2"][0], 4) == 0.8210


def test_003_3_2_accuracy_squared_and_which_losses_sgd_can_minimize():
    a = answers("q2-losses-for-sgd.yaml")
    G = np.array(SEED_CANDIDATES)
    np.testing.assert_array_equal([a[f"loss.accuracy.{k}"][0] for k in range(1, 5)],
                                  -(G.argmax(axis=1) == 2).astype(float))
    np.testing.assert_array_equal([a[f"loss.accuracy.{k}"][0] for k in range(1, 5)], [-1, 0, 0, 0])
    np.testing.assert_allclose([a[f"loss.squared.{k}"][0] for k in range(1, 5)], (1 - G[:, 2]) ** 2, rtol=1e-12)
    assert a["best.squared"][0] == 2 and a["best.nll"][0] == 2
    assert (a["sgd.nll"][0], a["sgd.accuracy"][0], a["sgd.squared"][0]) == (1, 0, 1)


def test_target_as_index_label_or_one_hot_gives_the_same_solution():
    forms = [2, "Ming", [0, 0, 1, 0], [0.0, 0.0, 1.0, 0.0]]
    solved = [LC.KIND.solve(spec(target=t, labels=DYNASTIES, losses=["nll", "accuracy"])).values for t in forms]
    for values in solved[1:]:
        assert values.keys() == solved[0].keys()
        assert all(np.array_equal(values[k], solved[0][k]) for k in values)


def test_sympy_reduces_each_loss_to_the_true_class_and_finds_the_accuracy_gradient_zero():
    derivation, _ = LC.KIND.compiled(LC.structure(spec(losses=["nll", "squared", "accuracy"], ask={"sgd": True})))
    nll, squared, accuracy, sgd = derivation.sections
    g3 = F.Var("g1", "g", "vector", 1).entry(2)
    assert nll.steps[0].formula == F.Neg(F.Log(g3))
    assert squared.steps[0].formula == F.Pow(F.Add(F.Num(1.0), F.Neg(g3)), F.Num(2.0))
    assert [s.facts["usable"] for s in sgd.steps] == [True, True, False]
    assert [s.facts["zeros"] for s in sgd.steps] == [[], [1.0], []]  # −1/g₃ never 0; 2g₃ − 2 at g₃ = 1


def test_argmax_ties_take_the_first_entry_as_numpy_and_torch():
    values = LC.KIND.solve(spec(target=0, candidates=[[0.4, 0.4, 0.2], [0.3, 0.3, 0.4]], losses=["accuracy"])).values
    assert values["top1"][0, 0] == 1 and values["accuracy1"][0, 0] == -1
    values = LC.KIND.solve(spec(target=1, candidates=[[0.4, 0.4, 0.2], [0.3, 0.3, 0.4]], losses=["accuracy"])).values
    assert values["accuracy1"][0, 0] == 0


@st.composite
def problems(draw):
    n, m = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    c = draw(st.integers(0, n - 1))
    candidates = []
    for _ in range(m):
        weights = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
        weights[c] = draw(st.integers(1, 20))
        candidates.append([w / sum(weights) for w in weights])
    losses = draw(st.lists(st.sampled_from(LC.LOSSES), min_size=1, max_size=3, unique=True))
    return {"target": c, "candidates": candidates, "losses": losses, "ask": {"sgd": draw(st.booleans())}}


@settings(max_examples=60, deadline=None)
@given(problems())
def test_random_problems_match_torch_and_numpy(fields):
    true = [g[fields["target"]] for g in fields["candidates"]]
    assume(len({round(p, 9) for p in true}) == len(true))
    problem = spec(**fields)
    solution = LC.KIND.solve(problem)
    assert mismatches(solution.values, LC.reference(problem)) == []
    values, G, c = solution.values, np.array(fields["candidates"]), fields["target"]
    for loss in fields["losses"]:
        got = np.array([values[f"{loss}{k}"][0, 0] for k in range(1, len(G) + 1)])
        expected = {"nll": -np.log(G[:, c]), "squared": (1 - G[:, c]) ** 2,
                    "accuracy": -(G.argmax(axis=1) == c).astype(float)}[loss]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        if loss in LC.RANKED:
            assert values[f"best_{loss}"][0, 0] == G[:, c].argmax() + 1
        if fields["ask"]["sgd"]:
            assert values[f"sgd_{loss}"][0, 0] == (loss != "accuracy")


BASE = """kind: loss_comparison
title: t
labels: [Tang, Song, Ming, Qing]
target: Ming
candidates:
  - [0.25, 0.20, 0.30, 0.25]
  - [0.01, 0.01, 0.44, 0.54]
"""


@pytest.mark.parametrize("change, field, fragment", [
    ({"candidates": "[[0.25, 0.20, 0.30, 0.25], [0.5, 0.5]]"}, "candidates[1]", "has 2 entries but there are 4"),
    ({"candidates": "[[0.25, 0.20, 0.30, 0.20], [0.1, 0.1, 0.7, 0.1]]"}, "candidates[0]", "sums to 0.95"),
    ({"candidates": "[[0.25, 0.20, 0.30, 0.25], [0.6, -0.1, 0.4, 0.1]]"}, "candidates[1][1]", "is -0.1"),
    ({"candidates": "[[0.25, 0.20, 0.30, 0.25]]"}, "candidates", "at least 2 items"),
    ({"candidates": "[[0.25, 0.20, 0.30, 0.25], [0.2, 0.3, 0.3, 0.2]]"}, "candidates[1]",
     "same probability 0.3 as candidates[0]"),
    ({"candidates": "[[0.25, 0.20, 0.30, 0.25], [0.5, 0.5, 0.0, 0.0]]"}, "candidates[1][2]", "NLL loss is infinite"),
    ({"candidates": "[[0.25, 0.20, 0.30, .nan], [0.1, 0.1, 0.7, 0.1]]"}, "candidates[0][3]", "finite"),
    ({"target": "Yuan"}, "target", "'Yuan' is not one of the labels"),
    ({"target": "[0, 1, 1, 0]"}, "target", "is not one-hot"),
    ({"target": "[0, 0, 1]"}, "target", "has 3 entries but there are 4 classes"),
    ({"target": "4"}, "target", "class index 4 is out of range; expected 0 to 3"),
    ({"target": "true"}, "target", "True is not a target"),
    ({"labels": "[Tang, Song, Ming, Ming]"}, "labels", "repeats a label"),
    ({"labels": None, "target": "Ming"}, "target", "the problem has no labels"),
    ({"losses": "[nll, hinge]"}, "losses[1]", "'nll', 'squared' or 'accuracy'"),
    ({"losses": "[nll, nll]"}, "losses", "lists a loss twice"),
    ({"ask": "{sgd: true, grad: true}"}, "ask.grad", "not a known field"),
])
def test_bad_inputs_name_the_field(tmp_path, change, field, fragment):
    lines = {line.split(":")[0]: line for line in BASE.splitlines() if not line.startswith(" ")}
    text = BASE
    for key, value in change.items():
        if key == "candidates":
            text = text.split("candidates:")[0] + f"candidates: {value}\n"
        elif value is None:
            text = text.replace(lines[key] + "\n", "")
        elif key in lines:
            text = text.replace(lines[key], f"{key}: {value}")
        else:
            text += f"{key}: {value}\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(P.ProblemError) as error:
        load(path)
    assert error.value.field == field
    assert fragment in error.value.message
