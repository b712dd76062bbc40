"""Shared biases (`bias: {shared: b}`, one scalar added to every unit of a layer) and frozen
parameters (`ask.sgd.parameters`, what the SGD step updates): random networks of both agree
with torch (a broadcast scalar parameter, torch.optim.SGD over the trained parameters only),
both are part of the structure, a frozen parameter keeps its value and the sheet says so, and
every way to write them wrongly is a one-line error naming the field."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solvers import build
from solvers.core import FieldError
from solvers.kinds import network
from solvers.problem import ProblemError
from solvers.variants import load
from solvers.verify import mismatches

from test_properties import assert_derivation_reused, problems, well_conditioned

settings_ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parameters(data: dict) -> list[str]:
    keys = []
    for l, layer in enumerate(data["network"]["layers"], 1):
        if layer.get("weights") is not None:
            keys.append(f"W{l}")
            if layer.get("bias") is not None and data.get("biases", "use") == "use":
                keys.append(f"b{l}")
    return keys


@st.composite
def shared_and_frozen(draw):
    """A random network of test_properties with some biases shared and some parameters frozen."""
    data = draw(problems()).model_dump()
    for layer in data["network"]["layers"]:
        if layer["bias"] is not None and draw(st.booleans()):
            layer["bias"] = {"shared": layer["bias"][0] if draw(st.booleans()) else draw(st.sampled_from([-1.5, 0.5, 2.0]))}
    keys = _parameters(data)
    optimizer = "adam" if data["ask"]["adam"] else "sgd"  # momentum and Adam keep no state for a frozen one
    if data["ask"][optimizer] is None or draw(st.booleans()):
        data["ask"][optimizer] = {"learning_rate": draw(st.sampled_from([0.1, 0.5])), "steps": draw(st.integers(1, 2))}
    trained = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    data["ask"][optimizer]["parameters"] = trained
    if draw(st.booleans()):  # a frozen parameter's gradient asked by name
        data["ask"]["gradients"] = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    return network.Spec.model_validate(data)


@settings(max_examples=120, **settings_)
@given(shared_and_frozen())
def test_shared_biases_and_frozen_parameters_equal_torch(spec):
    network.check(spec)
    s = network.structure(spec)
    solution = network.KIND.solve(spec)
    assume(well_conditioned(solution))
    assert mismatches(solution.values, network.reference(spec)) == []
    keys = [step.target.key for step in solution.derivation.steps]
    assert len(keys) == len(set(keys))  # no quantity derived twice (a frozen one's gradient in a later step)
    trained = {network.asked.parameter_names(list(s.layers))[name] for name in spec.ask.optimizer.parameters}
    for k in range(1, spec.ask.optimizer.steps + 1):
        for key in network.asked.parameter_names(list(s.layers)).values():
            assert (f"{key}+{k}" in solution.values) == (key in trained), (key, k)
    answers = {a.name for a in solution.answers}
    for key in s.frozen:
        assert not any(name.split(".")[0] in ("sgd", "adam") and name.endswith("." + key) for name in answers)
        assert (f"gradient.{key}" in answers) == (spec.ask.gradients != "all" and key in spec.ask.gradients)
    for l, layer in enumerate(s.layers, 1):
        if layer.shared_bias:
            assert solution.values[f"b{l}"].shape == (1, 1)
            if f"dL_db{l}" in solution.values:
                assert solution.values[f"dL_db{l}"][0, 0] == pytest.approx(solution.values[f"dL_dz{l}"].sum(),
                                                                           rel=1e-12, abs=1e-12)


@settings(max_examples=30, **settings_)
@given(shared_and_frozen(), st.integers(0, 2 ** 32 - 1))
def test_new_numbers_reuse_the_derivation_of_shared_and_frozen(spec, seed):
    rng = np.random.default_rng(seed)
    data = spec.model_dump()
    for layer in data["network"]["layers"]:
        if isinstance(layer["bias"], dict):
            layer["bias"] = {"shared": float(np.round(rng.normal(), 3))}
        if layer["weights"] is not None:
            layer["weights"] = np.round(rng.normal(size=np.shape(layer["weights"])), 3).tolist()
    assert_derivation_reused(spec, network.Spec.model_validate(data))


MAZUR = {
    "kind": "network", "title": "Shared biases, frozen",
    "network": {"input": [0.05, 0.10], "layers": [
        {"name": "W_1", "bias_name": "b_1", "weights": [[0.15, 0.20], [0.25, 0.30]], "bias": {"shared": 0.35},
         "activation": "sigmoid"},
        {"name": "W_2", "bias_name": "b_2", "weights": [[0.40, 0.45], [0.50, 0.55]], "bias": {"shared": 0.60},
         "activation": "sigmoid"}]},
    "loss": {"type": "squared_error", "target": [0.01, 0.99], "half": True, "symbol": "E"},
    "ask": {"forward": True, "loss": True, "gradients": "all",
            "sgd": {"learning_rate": 0.5, "steps": 2, "parameters": ["W_1", "W_2"]}},
}


def spec_of(data: dict) -> network.Spec:
    spec = network.Spec.model_validate(data)
    network.check(spec)
    return spec


def test_sharedness_and_frozenness_are_part_of_the_structure():
    shared, per_unit, trained = copy.deepcopy(MAZUR), copy.deepcopy(MAZUR), copy.deepcopy(MAZUR)
    per_unit["network"]["layers"][0]["bias"] = [0.35, 0.35]
    del trained["ask"]["sgd"]["parameters"]
    structures = {network.structure(spec_of(d)) for d in (shared, per_unit, trained)}
    assert len(structures) == 3


def test_a_frozen_parameter_keeps_its_value_and_the_sheet_says_so(tmp_path):
    spec = spec_of(MAZUR)
    solution = network.KIND.solve(spec)
    values = solution.values
    assert not any(key.startswith(("b1+", "b2+")) for key in values)
    answers = {a.name for a in solution.answers}
    assert {"sgd.step1.W1", "sgd.step2.W2"} <= answers
    assert not any(name.split(".")[0] in ("sgd", "adam") and name[-2:] in ("b1", "b2") for name in answers)
    assert not {"gradient.b1", "gradient.b2"} & answers  # gradients: all means those of the trained ones
    # the second step's forward pass uses the updated weights and the unchanged biases
    x = np.array([[0.05], [0.10]])
    z = values["W1+1"] @ x + 0.35
    np.testing.assert_allclose(values["z1+1"], z, rtol=1e-12)
    np.testing.assert_allclose(values["z2+1"], values["W2+1"] @ values["a1+1"] + 0.60, rtol=1e-12)
    # torch's optimizer, over the trained parameters only, agrees with every value
    assert mismatches(values, network.reference(spec)) == []

    folder = tmp_path / "sheet"
    folder.mkdir()
    (folder / "q1.yaml").write_text(yaml.safe_dump(MAZUR, sort_keys=False))
    build.build([folder], tmp_path / "out", formats=["markdown"])
    text = (tmp_path / "out" / "sheet" / "solutions.md").read_text()
    assert text.count("The step does not update $b_{1}$ and $b_{2}$: they are frozen (not trained) and keep their "
                      "values.") == 2
    assert "only $W_{1}$ and $W_{2}$ are trained, while $b_{1}$ and $b_{2}$ are held fixed" in text
    assert "(one number shared by the layer's 2 units)" in text
    assert r"W_{1} \, \mathbf{x} + b_{1} \, \mathbf{1}" in text


def test_a_shared_bias_gradient_is_shown_as_the_sum_over_the_units(tmp_path):
    data = copy.deepcopy(MAZUR)
    data["ask"] = {"gradients": ["b_1", "b_2"]}
    solution = network.KIND.solve(spec_of(data))
    v = solution.values
    for l in (1, 2):
        assert v[f"dL_db{l}"][0, 0] == pytest.approx(v[f"dL_dz{l}"].sum(), rel=1e-12)
    step = next(s for s in solution.derivation.steps if s.kind == "shared_bias_gradient")
    assert len(step.parts[0][1].terms) == 2  # ∂E/∂z_1 + ∂E/∂z_2
    folder = tmp_path / "sheet"
    folder.mkdir()
    (folder / "q1.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    build.build([folder], tmp_path / "out", formats=["markdown"])
    text = (tmp_path / "out" / "sheet" / "solutions.md").read_text()
    assert re.search(r"\\frac\{\\partial E\}\{\\partial b_\{1\}\} &= \\sum_\{i\} \\frac\{\\partial E\}"
                     r"\{\\partial z_\{i\}\^\{\(1\)\}\} \\\\  &= \\frac\{\\partial E\}\{\\partial z_\{1\}\^\{\(1\)\}\} \+ "
                     r"\\frac\{\\partial E\}\{\\partial z_\{2\}\^\{\(1\)\}\}", text), text


def test_an_sgd_step_updates_a_shared_bias_as_one_number():
    data = copy.deepcopy(MAZUR)
    del data["ask"]["sgd"]["parameters"]
    spec = spec_of(data)
    solution = network.KIND.solve(spec)
    v = solution.values
    assert v["b1+1"].shape == (1, 1)
    assert v["b1+1"][0, 0] == pytest.approx(0.35 - 0.5 * v["dL_dz1"].sum(), rel=1e-12)
    assert mismatches(v, network.reference(spec)) == []


@pytest.mark.parametrize("change, field, fragment", [
    (lambda d: d["network"]["layers"].append({"activation": "softmax", "bias": {"shared": 0.1}}),
     "network.layers[2].bias", "the layer has no weights"),
    (lambda d: d["ask"]["sgd"].update(parameters=["W_1", "W_3"]),
     "ask.sgd.parameters[1]", "no parameter is called 'W_3'; expected one of"),
    (lambda d: d.update(biases="ignore") or d["ask"]["sgd"].update(parameters=["W_1", "b_1"]),
     "ask.sgd.parameters[1]", "no parameter is called 'b_1'"),
    (lambda d: d["ask"]["sgd"].update(parameters=[]),
     "ask.sgd.parameters", "is empty, so the step would update nothing"),
    (lambda d: d["network"]["layers"][0].update(bias={"shared": [0.35, 0.35]}),
     "network.layers[0].bias.shared", "found [0.35, 0.35]"),
    (lambda d: d["network"]["layers"][0].update(bias={"sharde": 0.35}),
     "network.layers[0].bias", ""),
], ids=["shared-bias-without-units", "freezing-a-missing-parameter", "freezing-an-ignored-bias", "updating-nothing",
        "shared-bias-not-a-number", "misspelt-shared"])
def test_bad_shared_biases_and_frozen_parameters(tmp_path, change, field, fragment):
    data = copy.deepcopy(MAZUR)
    change(data)
    path = tmp_path / "problem.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ProblemError) as caught:
        load(path)
    error = caught.value
    assert error.field.startswith(field), str(error)
    assert fragment in error.message, str(error)
    assert "\n" not in str(error)


def test_check_raises_a_field_error_for_an_empty_update():
    data = copy.deepcopy(MAZUR)
    data["ask"]["sgd"]["parameters"] = []
    with pytest.raises(FieldError) as caught:
        network.check(network.Spec.model_validate(data))
    assert caught.value.field == "ask.sgd.parameters"
