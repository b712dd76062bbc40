"""Jacobians (`ask.jacobians`): of any layer's z or a with respect to the input or an earlier z
or a, derived as a product of local Jacobians and equal to torch.autograd.functional.jacobian."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_bad_inputs import BATCH, assert_error, load_error, mutated, write
from test_properties import problems, well_conditioned

from solvers.kinds import network
from solvers.verify import mismatches

NEURONS = {
    "kind": "network", "title": "Sensitivity", "count_from": 0,
    "network": {"input": [0.5, -1.0], "layers": [
        {"weights": [[0.4, -0.6], [0.3, 0.8], [-0.5, 0.2]], "bias": [0.1, -0.1, 0.2], "activation": "tanh"},
        {"weights": [[0.7, -0.3, 0.5], [-0.2, 0.6, 0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"}]},
    "ask": {"jacobians": [{"of": "a1", "wrt": "x"}, {"of": "output", "wrt": "x"}]},
}


def solved(data: dict):
    spec = network.Spec.model_validate(data)
    network.check(spec)
    return spec, network.KIND.solve(spec)


def test_the_jacobians_are_the_chain_rule_products_written_out():
    spec, solution = solved(NEURONS)
    W1, b1 = np.array([[0.4, -0.6], [0.3, 0.8], [-0.5, 0.2]]), np.array([0.1, -0.1, 0.2])
    W2, b2 = np.array([[0.7, -0.3, 0.5], [-0.2, 0.6, 0.4]]), np.array([0.0, 0.1])
    a1 = np.tanh(W1 @ [0.5, -1.0] + b1)
    a2 = 1 / (1 + np.exp(-(W2 @ a1 + b2)))
    da1_dx = np.diag(1 - a1 ** 2) @ W1
    da2_dx = np.diag(a2 * (1 - a2)) @ W2 @ da1_dx
    answers = {a.name: a.value for a in solution.answers}
    np.testing.assert_allclose(answers["jacobian.a1.x"], da1_dx, rtol=1e-12)
    np.testing.assert_allclose(answers["jacobian.a2.x"], da2_dx, rtol=1e-12)
    assert answers["jacobian.a2.x"].shape == (2, 2) and answers["jacobian.a1.x"].shape == (3, 2)
    assert mismatches(solution.values, network.reference(spec)) == []


def test_a_jacobian_found_on_the_way_to_another_is_not_derived_twice():
    _, solution = solved({**NEURONS, "ask": {"jacobians": [{"of": "a2", "wrt": "x"}, {"of": "a1", "wrt": "x"}]}})
    sections = [s for s in solution.derivation.sections if s.kind == "jacobian"]
    targets = [step.target.key for s in sections for step in s.steps]
    assert len(sections) == 1 and len(targets) == len(set(targets))
    assert {"da1_dx", "da2_dx", "da1_dz1", "da2_dz2"} <= set(targets)


def test_the_sheet_states_the_jacobian_layout_and_asks_each_one(tmp_path):
    from solvers import build
    source = tmp_path / "set"
    source.mkdir()
    write(source, NEURONS)
    build.build([source], tmp_path / "out", formats=("markdown", "answers"))
    text = (tmp_path / "out" / "set" / "solutions.md").read_text(encoding="utf-8")
    assert "one row per entry of the quantity differentiated" in text and "is 3×2" in text
    assert "Compute the Jacobians" in text and "diagonal" in text


ORDER = ["x", "z1", "a1", "z2", "a2", "z3", "a3", "z4", "a4", "a5"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.data())
def test_every_jacobian_equals_torch(spec, data):
    """Random networks (every activation incl. softmax, both layouts), a random pair (of, wrt)."""
    keys = ["x"] + [f"{p}{l}" for l, layer in enumerate(spec.network.layers, 1) for p in ("z", "a")
                    if p == "a" or layer.weights is not None]
    i = data.draw(st.integers(0, len(keys) - 2))
    j = data.draw(st.integers(i + 1, len(keys) - 1))
    changed = spec.model_dump()
    changed["ask"]["jacobians"] = [{"of": keys[j], "wrt": keys[i]}]
    spec, solution = solved(changed)
    assume(well_conditioned(solution))  # as every property test of optimiser steps: no Adam step near eps
    reference = network.reference(spec)
    assert mismatches(solution.values, reference) == []
    key = f"d{keys[j]}_d{keys[i]}"
    assert key in reference and solution.values[key].shape == (solution.values[keys[j]].shape[0],
                                                                solution.values[keys[i]].shape[0])


@pytest.mark.parametrize("changes, field, fragments", [
    ({**BATCH, ("ask", "jacobians"): [{"of": "a1", "wrt": "x"}]}, "ask.jacobians", ["batch", "one example"]),
    ({("ask", "jacobians"): [{"of": "a7", "wrt": "x"}]}, "ask.jacobians[0].of", ["no quantity is called 'a7'"]),
    ({("ask", "jacobians"): [{"of": "a2", "wrt": "V"}]}, "ask.jacobians[0].wrt", ["a parameter", "not a matrix"]),
    ({("ask", "jacobians"): [{"of": "z1", "wrt": "a2"}]}, "ask.jacobians[0].wrt", ["does not come before z1"]),
    ({("ask", "jacobians"): [{"of": "a1", "wrt": "a1"}]}, "ask.jacobians[0].wrt", ["does not come before"]),
    ({("ask", "jacobians"): [{"of": "a1", "wrt": "x"}, {"of": "a1", "wrt": "x"}]}, "ask.jacobians[1]",
     ["twice"]),
], ids=["batch", "unknown-of", "wrt-parameter", "wrt-later", "wrt-itself", "twice"])
def test_bad_jacobians(tmp_path, changes, field, fragments):
    path = write(tmp_path, mutated(changes))
    assert_error(load_error(path), path, field, *fragments)
