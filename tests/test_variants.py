"""Variants: seeded draws, constraints, diagnostic variants, rosters, lockfiles, outputs."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pikepdf
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import build, lock, mistakes, timing, variants
from solvers.derivation import Evaluator
from solvers.problem import ProblemError
from solvers.randomize import sample, seed_for_student
from solvers.verify import mismatches

ROOT = Path(__file__).resolve().parents[1]
SHEET = ROOT / "bench" / "variants-sheet"

RELU = {
    "kind": "network", "title": "A random ReLU network",
    "network": {"input": {"integers": [-3, 3], "shape": 3}, "layers": [
        {"weights": {"decimals": [-1, 1], "step": 0.5, "shape": [2, 3]},
         "bias": {"integers": [-1, 1], "shape": 2}, "activation": "relu"},
        {"weights": {"decimals": [-1, 1], "step": 0.5, "shape": [2, 2]}, "activation": "softmax"}]},
    "loss": {"type": "cross_entropy", "target": {"integers": [0, 1]}},
    "ask": {"forward": True, "loss": True, "gradients": "all"},
}


def write(folder: Path, data: dict, name: str = "problem.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_distributions_draw_on_their_grid():
    rng = np.random.default_rng(3)
    drawn = sample({"a": {"integers": [-2, 2], "shape": [3, 4]}, "b": {"decimals": [-1, 1], "step": 0.1, "shape": 50},
                    "c": {"choice": [0.25, 4]}, "d": {"integers": [0, 3], "exclude": [0, 1], "shape": 20}}, rng)
    assert np.shape(drawn["a"]) == (3, 4) and all(-2 <= v <= 2 and v == int(v) for row in drawn["a"] for v in row)
    assert all(-1 <= v <= 1 and f"{v:.10g}" == f"{round(v, 1):.10g}" for v in drawn["b"])  # 0.3, not 0.30000000004
    assert drawn["c"] in (0.25, 4)
    assert set(drawn["d"]) <= {2, 3}


@pytest.mark.parametrize("distribution, field, fragment", [
    ({"integers": [5, 1]}, "network.input.integers", "low ≤ high"),
    ({"integers": [0, 1], "shape": [2, 2, 2]}, "network.input.shape", "not a shape"),
    ({"decimals": [0, 1], "step": -1}, "network.input.step", "positive"),
    ({"integers": [0, 1], "spread": 2}, "network.input.spread", "not an option of integers"),
    ({"integers": [1, 1], "exclude": [1]}, "network.input.integers", "no value"),
])
def test_bad_distributions_name_the_field(tmp_path, distribution, field, fragment):
    data = {**RELU, "network": {**RELU["network"], "input": distribution}}
    with pytest.raises(ProblemError) as caught:
        variants.read(write(tmp_path, data))
    assert caught.value.field == field and fragment in caught.value.message, str(caught.value)


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    template = variants.read(write(tmp_path, RELU))
    first, again, other = (variants.instantiate(template, seed)[1] for seed in (7, 7, 8))
    assert all(np.array_equal(first.values[k], again.values[k]) for k in first.values)
    assert not np.array_equal(first.values["W1"], other.values["W1"])


def test_a_problems_numbers_do_not_depend_on_the_rest_of_the_sheet(tmp_path):
    alone = variants.read(write(tmp_path / "one", RELU, "relu.yaml"))
    beside = variants.read(write(tmp_path / "two", RELU, "relu.yaml"))
    write(tmp_path / "two", {**RELU, "title": "another problem"}, "another.yaml")
    a, b = variants.instantiate(alone, 11)[1], variants.instantiate(beside, 11)[1]
    assert np.array_equal(a.values["W1"], b.values["W1"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_every_variant_meets_its_constraints_and_verifies(tmp_path_factory, seed):
    template = variants.read(write(tmp_path_factory.mktemp("relu"), RELU))
    problem, solution = variants.instantiate(template, seed)
    assert np.all(np.abs(solution.values["z1"]) >= 0.05)  # kink margin
    p = np.sort(np.round(solution.values["a2"][:, 0], 4))
    assert p[-1] > p[-2] and 0 < p.min() and p.max() < 1  # a clear class, no 0 or 1 shown
    assert mistakes.undetected(problem, solution) == []  # diagnostic
    assert mismatches(solution.values, problem.kind.reference(problem.spec)) == []


def test_diagnostic_rejects_a_variant_where_forgetting_the_relu_mask_is_right(tmp_path):
    """All hidden pre-activations positive: forgetting ReLU's mask changes nothing."""
    data = {**RELU, "network": {**RELU["network"], "input": {"integers": [1, 3], "shape": 3}, "layers": [
        {**RELU["network"]["layers"][0], "weights": {"decimals": [0.5, 1], "step": 0.5, "shape": [2, 3]},
         "bias": {"integers": [1, 2], "shape": 2}},
        RELU["network"]["layers"][1]]}}
    template = variants.read(write(tmp_path, data))
    with pytest.raises(ProblemError) as caught:
        variants.instantiate(template, 1)
    assert "diagnostic" in caught.value.message and "no variant met every constraint" in caught.value.message
    relaxed = {**data, "variants": {"constraints": {"diagnostic": False}}}
    problem, solution = variants.instantiate(variants.read(write(tmp_path, relaxed)), 1)
    assert [m.name for m in mistakes.undetected(problem, solution)] == ["relu_mask_forgotten"]


def test_an_impossible_condition_is_named(tmp_path):
    data = {**RELU, "variants": {"tries": 30, "require": ["L < 0"]}}
    with pytest.raises(ProblemError) as caught:
        variants.instantiate(variants.read(write(tmp_path, data)), 1)
    assert caught.value.field == "variants"
    assert "require 'L < 0'" in caught.value.message and "30 of them" in caught.value.message


@pytest.mark.parametrize("condition, fragment", [("L <", "is not an expression"), ("__import__('os')", "only these"),
                                                 ("zz > 1", "unknown name 'zz'"), ("L.real > 0", "Attribute")])
def test_bad_conditions_are_reported(tmp_path, condition, fragment):
    with pytest.raises(ProblemError) as caught:
        variants.read(write(tmp_path, {**RELU, "variants": {"require": [condition]}}))
    assert caught.value.field == "variants.require[0]" and fragment in caught.value.message


def test_conv_variants_divide_exactly():
    template = next(t for t in build.templates_of(build.discover([SHEET])[0]) if t.name == "conv-output-size")
    for seed in range(30):
        problem, solution = variants.instantiate(template, seed)
        h = solution.values
        assert (h["H0"][0, 0] + 2 * h["p1h"][0, 0] - h["k1h"][0, 0]) % h["s1h"][0, 0] == 0


def test_roster_seeds_are_stable_under_reordering_and_salted(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\nAda,s01\nAlan,s02\nGrace,s03\n")
    reordered = tmp_path / "reordered.csv"
    reordered.write_text("id,name\ns03,Grace\ns01,Ada\ns02,Alan\n")
    first = {v.id: v.seed for v in build.plan(roster=roster, salt="nn-2026")}
    second = {v.id: v.seed for v in build.plan(roster=reordered, salt="nn-2026")}
    assert first == second and len(set(first.values())) == 3
    assert first["s01"] == seed_for_student("s01", "nn-2026") != seed_for_student("s01", "nn-2027")


def test_roster_errors(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id\ns01\ns01\n")
    with pytest.raises(ProblemError, match="lists student 's01' twice"):
        build.plan(roster=roster)


@pytest.fixture
def locked_sheet(tmp_path):
    sheet = tmp_path / "sheet"
    shutil.copytree(SHEET, sheet)
    sets = build.discover([sheet])
    lock.write_locks(sets, build.plan(3, 4))
    return sheet, sets


def test_lockfile_records_and_confirms_deployed_variants(locked_sheet):
    sheet, sets = locked_sheet
    data = json.loads((sheet / "variants.lock").read_text())
    assert [v["seed"] for v in data["variants"]] == [3, 4, 5, 6]
    assert lock.check_locks(sets) == [(sheet / "variants.lock", 4)]


def test_lockfile_detects_changed_answers(locked_sheet, monkeypatch):
    sheet, sets = locked_sheet
    honest = Evaluator.evaluate

    def upgraded(self, givens):  # a dependency upgrade that moves one number
        values = honest(self, givens)
        if "L" in values:
            values["L"] = values["L"] * (1 + 1e-9)
        return values

    monkeypatch.setattr(Evaluator, "evaluate", upgraded)
    with pytest.raises(lock.LockError, match=r"deployed variant seed-3 \(seed 3\) now has different answers"):
        lock.check_locks(sets)


def test_lockfile_detects_changed_parameters(locked_sheet):
    sheet, sets = locked_sheet
    problem = sheet / "logistic-regression.yaml"
    problem.write_text(problem.read_text().replace("[-5, 5]", "[-4, 5]"))
    with pytest.raises(lock.LockError, match="now has different parameters"):
        lock.check_locks(build.discover([sheet]))


def test_variant_outputs_are_complete_and_reproducible(tmp_path):
    plan = build.plan(5, 3)
    build.build([SHEET], tmp_path / "a", plan)
    build.build([SHEET], tmp_path / "b", plan)
    a, b = tmp_path / "a" / "variants-sheet", tmp_path / "b" / "variants-sheet"
    pages = 0
    for variant in ("seed-5", "seed-6", "seed-7"):
        for name in ("questions.pdf", "solutions.pdf", "solutions.html", "answers.json"):
            assert (a / "variants" / variant / name).read_bytes() == (b / "variants" / variant / name).read_bytes()
        pages += len(pikepdf.open(a / "variants" / variant / "solutions.pdf").pages)
        assert f"Variant {variant[5:]}" in (a / "variants" / variant / "solutions.html").read_text()
    assert pages == len(pikepdf.open(a / "solutions.pdf").pages)
    for name in ("questions.pdf", "solutions.pdf", "answer-key.json", "answer-key.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    rows = list(csv.DictReader((a / "answer-key.csv").open()))
    assert len(rows) == 3 * (3 + 1) and {r["variant"] for r in rows} == {"seed-5", "seed-6", "seed-7"}
    key = json.loads((a / "answer-key.json").read_text())
    assert [v["seed"] for v in key["variants"]] == [5, 6, 7]


def test_a_variant_that_fails_verification_stops_the_build_with_its_seed(tmp_path, monkeypatch):
    from dataclasses import replace

    from solvers.kinds import KINDS, network
    from solvers.verify import VerificationError
    honest = network.reference

    def wrong(spec):
        values = honest(spec)
        values["L"] = values["L"] + 1e-3
        return values

    monkeypatch.setitem(KINDS, "network", replace(network.KIND, reference=wrong))
    with pytest.raises(VerificationError, match=r"L: ours .*\n.*variant seed-4, seed 4: rebuild it with --seed 4"):
        build.build([SHEET], tmp_path / "out", build.plan(4, 2))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_stage_times_of_worker_processes_reach_the_parent(tmp_path):
    """Variants rendered on two processes: every problem of every variant verified there is
    counted here (the benchmark's breakdown reads these stopwatches)."""
    timing.reset()
    report = build.build([SHEET], tmp_path / "out", build.plan(1, 4), jobs=2, formats=["answers"])
    assert len(report.sets[0][1]) == 4
    assert timing.COUNTS["verification"] == 4 * 2 and timing.COUNTS["rendering"] >= 4
    assert timing.SECONDS["verification"] > 0 and timing.SECONDS["evaluation"] > 0
