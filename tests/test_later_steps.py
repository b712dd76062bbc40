"""Many optimiser steps: the first is worked in full, and one table gives the loss before every
step and the trained parameters after it; every step is still derived and verified."""
import numpy as np
import pytest
from test_bad_inputs import write

from solvers import build
from solvers.kinds import network
from solvers.kinds.network.optimize import FULL_STEPS
from solvers.verify import mismatches

MAZUR = {
    "kind": "network", "title": "Many steps",
    "network": {"input": [0.05, 0.10], "layers": [
        {"name": "W_1", "bias_name": "b_1", "weights": [[0.15, 0.20], [0.25, 0.30]], "bias": {"shared": 0.35},
         "activation": "sigmoid"},
        {"name": "W_2", "bias_name": "b_2", "weights": [[0.40, 0.45], [0.50, 0.55]], "bias": {"shared": 0.60},
         "activation": "sigmoid"}]},
    "loss": {"type": "squared_error", "target": [0.01, 0.99], "half": True, "symbol": "E"},
    "ask": {"forward": True, "loss": True, "sgd": {"learning_rate": 0.5, "steps": 6, "parameters": ["W_1", "W_2"]}},
}


def with_steps(steps: int) -> dict:
    return {**MAZUR, "ask": {**MAZUR["ask"], "sgd": {**MAZUR["ask"]["sgd"], "steps": steps}}}


def test_steps_after_the_first_are_tabulated_and_still_verified():
    spec = network.Spec.model_validate(MAZUR)
    solution = network.KIND.solve(spec)
    sections = solution.derivation.sections
    table = next(s for s in sections if s.kind == "later_steps")
    assert [s.facts["step"] for s in sections if s.kind == "sgd" and not s.facts["tabulated"]] == [1]
    assert all(s.facts["tabulated"] for s in sections if s.kind == "sgd" and s.facts["step"] > 1)
    assert len(table.facts["losses"]) == 6 and [len(t["rows"]) for t in table.facts["tables"]] == [6]
    assert [h.key for h in table.facts["tables"][0]["headers"]] == ["W1", "W2"]  # the frozen biases are not
    assert mismatches(solution.values, network.reference(spec)) == []
    answers = {a.name: a.value for a in solution.answers}
    assert {f"sgd.step{k}.W2" for k in range(1, 7)} <= set(answers)
    losses = [solution.values["L" if k == 0 else f"L+{k}"].item() for k in range(6)]
    assert losses == sorted(losses, reverse=True) and losses[0] == pytest.approx(0.298371109, abs=1e-9)


def test_a_few_steps_are_each_worked_in_full():
    solution = network.KIND.solve(network.Spec.model_validate(with_steps(FULL_STEPS)))
    assert not any(s.kind == "later_steps" or s.facts.get("tabulated") for s in solution.derivation.sections)


def test_the_table_replaces_the_later_steps_on_the_sheet(tmp_path):
    source = tmp_path / "set"
    source.mkdir()
    write(source, MAZUR)
    build.build([source], tmp_path / "out", formats=["markdown", "answers"])
    text = (tmp_path / "out" / "set" / "solutions.md").read_text(encoding="utf-8")
    assert "Steps 2 to 6." in text and "stay as given" in text
    assert "(SGD step 1)" in text and "(SGD step 2)" not in text
    W2_after_6 = network.KIND.solve(network.Spec.model_validate(MAZUR)).values["W2+6"]
    assert f"{W2_after_6[0, 0]:.4f}" in text
    assert np.all(np.abs(W2_after_6) < 10)
