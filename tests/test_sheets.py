"""What a sheet says around its numbers: every given the solution uses is on the question sheet,
numbers keep the digits they were rounded to, answers never hold -0, conventions follow the
actual parameters."""
from pathlib import Path

import numpy as np
import pytest

from solvers import variants
from solvers.activations import Activation
from solvers.render import prose
from solvers.render.printer import format_number
from solvers.solution import Answer

ROOT = Path(__file__).resolve().parents[1]
BANK = sorted(p for p in (ROOT / "problems").glob("*/*.yaml") if p.name != "sheet.yaml")


def _used(solution) -> list:
    """The givens some step of the derivation computes with (and that the problem gives)."""
    symbols = set().union(*(step.compute.free_symbols for step in solution.derivation.steps))
    return [q for q in solution.derivation.givens
            if q.role != "chosen" and symbols & set(q.elements.free_symbols)]


@pytest.mark.parametrize("path", BANK, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_given_the_solution_uses_is_on_the_question_sheet(path):
    _, solution = variants.instantiate(variants.read(path), 1)
    shown = prose.prepare(solution)
    sheet = " ".join([shown.statement, *shown.givens, *shown.questions])
    m = prose.MathContext(solution.values, solution.digits)
    missing = [q.key for q in _used(solution) if m.num(q) not in sheet and m.tex(q) not in sheet]
    assert missing == []


def test_a_given_the_question_asks_for_is_not_printed_on_the_sheet():
    _, solution = variants.instantiate(variants.read(ROOT / "problems/convolution-shapes/q3-same-padding.yaml"), 1)
    layer = prose.prepare(solution).givens[1]
    assert "kernel unknown" in layer and "5 \\times 5" not in layer


@pytest.mark.parametrize("value, digits, shown", [
    (0.364, 4, "0.3640"), (0.42, 4, "0.4200"), (0.0614, 4, "0.06140"), (1.30097, 4, "1.301"),
    (0.99999, 4, "1.000"), (2.0, 4, "2"), (-0.0, 4, "0"), (1.5e-7, 3, r"1.50 \times 10^{-7}"), (12345.6, 5, "12346"),
])
def test_numbers_keep_the_digits_they_are_rounded_to(value, digits, shown):
    assert format_number(value, digits) == shown


def test_the_answer_key_never_holds_a_negative_zero():
    answer = Answer("a", "a", None, np.array([[-0.0], [4.2]]))
    assert [str(v) for v in answer.as_json(4)["value"]] == ["0.0", "4.2"]


@pytest.mark.parametrize("name, alpha, kink", [("relu", None, True), ("leaky_relu", 0.01, True),
                                               ("elu", 1.0, False), ("elu", 0.5, True)])
def test_a_kink_is_claimed_only_where_the_sides_disagree(name, alpha, kink):
    assert Activation(name, alpha).has_kink is kink


def test_elu_with_alpha_one_is_stated_differentiable_at_zero():
    _, solution = variants.instantiate(variants.read(ROOT / "problems/activation-functions/q1-relu-family.yaml"), 1)
    conventions = " ".join(prose.prepare(solution).conventions)
    assert "ELU with \\( \\alpha = 1 \\) has no kink at 0" in conventions
    assert "ELU has a kink" not in conventions and "ReLU has a kink at 0" in conventions


def test_a_sheet_numbers_entries_and_classes_one_way_and_says_so():
    _, solution = variants.instantiate(variants.read(ROOT / "problems/loss-and-backprop/q2-forward-pass.yaml"), 1)
    shown = prose.prepare(solution)
    text = " ".join(shown.givens + shown.conventions + [s for _, steps in shown.sections for s in steps])
    assert "numbered from 0" in text and "class 2 one-hot" in text and "numbered from 1" not in text
    assert "W_{0,0}" in text and "y_{2}" in text and "y_{3}" not in text


def test_counting_from_zero_is_refused_where_a_kind_numbers_from_one(load_error):
    error = load_error({"kind": "loss_comparison", "title": "t", "count_from": 0, "target": 1,
                        "candidates": [[0.2, 0.8], [0.6, 0.4]]})
    assert error.field == "count_from" and "from 1" in error.message


def test_the_author_names_the_loss_and_writes_layers_as_subscripts(tmp_path):
    path = tmp_path / "mazur.yaml"
    path.write_text("""kind: network
title: t
network:
  input: 1
  layer_index: subscript
  layers:
    - {name: w_1, bias_name: b_1, weights: -2, bias: 3, activation: relu}
    - {name: w_2, bias_name: b_2, weights: 3, bias: 0, activation: identity}
loss: {type: squared_error, target: 1, symbol: E}
ask: {forward: true, loss: true, deltas: true, gradients: all}
""")
    _, solution = variants.instantiate(variants.read(path), 1)
    shown = prose.prepare(solution)
    text = " ".join(shown.questions + [s for _, steps in shown.sections for s in steps] + [a[1] for a in shown.answers])
    assert r"\frac{\partial E}{\partial w_{1}}" in text and r"\frac{\partial E}{\partial z_{1}}" in text
    assert "z^{(1)}" not in text and r"\partial L" not in text
    assert solution.values["L"][0, 0] == 4.0  # (a₂ − y)² with a₂ = 3·ReLU(−2·1 + 3) = 3 and y = 1


@pytest.mark.parametrize("network, loss, field, fragment", [
    ("{input: [1, 2], layer_index: subscript, layers: [{weights: [[1, 2], [3, 4]], activation: relu}]}",
     "{type: squared_error, target: [1, 1]}", "network.layer_index", "layer 1 has 2 units"),
    ("{input: 1, layers: [{weights: 2, activation: relu}]}", "{type: squared_error, target: 1, symbol: z}",
     "loss.symbol", "already used"),
])
def test_notation_that_would_clash_is_an_error(load_error, network, loss, field, fragment):
    import yaml
    error = load_error({"kind": "network", "title": "t", "network": yaml.safe_load(network),
                        "loss": yaml.safe_load(loss), "ask": {"loss": True}})
    assert error.field == field and fragment in error.message


def test_each_hidden_unit_gets_its_boundary_line_and_active_side():
    _, solution = variants.instantiate(variants.read(ROOT / "problems/relu-decision-regions/q1-regions.yaml"), 1)
    lines = [s for _, steps in prose.prepare(solution).sections for s in steps if s.startswith("Unit ")]
    assert lines[0].startswith(r"Unit 1: the boundary is the line \( x_1 = 1 \)") and r"where \( x_1 > 1 \)" in lines[0]
    assert r"\( x_1 = -1 \)" in lines[2] and r"where \( x_1 < -1 \)" in lines[2]
    key = {a.name: a.value.ravel().tolist() for a in solution.answers}
    assert key["boundary.unit1.line"] == [1.0] and key["boundary.unit3.line"] == [-1.0]


def test_the_answer_key_carries_each_variants_drawn_givens(tmp_path):
    import csv
    import json
    from solvers import build
    build.build([ROOT / "bench/variants-sheet"], tmp_path, formats=["answers"],
                variants=build.plan(seed=1, count=2))
    folder = tmp_path / "variants-sheet"
    rows = list(csv.DictReader(open(folder / "given-values.csv")))
    key = json.loads((folder / "answer-key.json").read_text())["variants"]
    assert len({r["variant"] for r in rows}) == 2
    for variant in key:
        problem = variant["problems"][0]
        drawn = {g["name"]: g["value"] for g in problem["givens"]}
        assert set(drawn) >= {"x", "W1", "b1"}
        listed = {r["given"]: json.loads(r["value"]) for r in rows
                  if r["variant"] == variant["variant"] and r["problem"] == problem["problem"]}
        assert listed == drawn
    assert key[0]["problems"][0]["givens"] != key[1]["problems"][0]["givens"]  # drawn anew per variant


def test_the_chain_bias_can_be_named_as_cs231n_writes_it(tmp_path, load_error):
    path = tmp_path / "circuit.yaml"
    path.write_text("kind: activation\ntitle: t\ncount_from: 0\nfunctions: [sigmoid]\n"
                    "chain: {x: [-1, -2], w: [2, -3], b: -3, bias_name: w_2}\n")
    _, solution = variants.instantiate(variants.read(path), 1)
    shown = prose.prepare(solution)
    assert r"w_{2} = -3" in shown.givens[0] and r"w^{\top} x + w_{2}" in shown.questions[-1]
    assert "no derivative" not in shown.questions[0]  # the sigmoid has no kink to ask about
    error = load_error({"kind": "activation", "title": "t", "functions": ["sigmoid"],
                        "chain": {"x": [1, 2], "w": [3, 4], "b": 1, "bias_name": "w_2"}})
    assert error.field == "chain.bias_name" and "already a symbol" in error.message


def test_answers_that_share_a_symbol_are_told_apart_in_the_table():
    _, solution = variants.instantiate(variants.read(ROOT / "problems/activation-functions/q1-relu-family.yaml"), 1)
    labels = [label for name, label, _ in prose.prepare(solution).answers if name.startswith("chain.")]
    assert len(labels) == len(set(labels)) == 3
    assert labels[1].endswith(r"\ \text{(leaky relu)}")
