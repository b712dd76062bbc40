"""The grading rubric: every step value and answer of a bank problem with its points, in
rubric.csv and in rubric.pdf (read back with pdftotext), one per variant, text escaped."""
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from solvers import variants as V
from solvers.mistakes import answer_key
from solvers.render import prose
from solvers.render.drivers import rubric
from solvers.solution import displayed

ROOT = Path(__file__).resolve().parents[1]
GRADIENTS = ROOT / "problems" / "loss-and-backprop" / "q3-gradients.yaml"
needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                               reason="needs TeX")


def _build(source: Path, out: Path, *options) -> Path:
    subprocess.run([sys.executable, "-m", "solvers", "build", str(source), "--out", str(out),
                    "--formats", "answers,rubric,gradescope", *options], check=True, capture_output=True, cwd=ROOT)
    return out


def _pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.replace("\u2212", "-")


def _rows(folder: Path) -> list[dict]:
    with open(folder / "rubric.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def gradients(tmp_path_factory):
    return _build(GRADIENTS, tmp_path_factory.mktemp("rubric")) / "q3-gradients"


@pytest.fixture(scope="module")
def solved():
    problem, solution = V.instantiate(V.read(GRADIENTS), 1)
    return problem, solution


def test_the_csv_lists_every_step_and_answer_with_its_value_and_a_point(gradients, solved):
    _, solution = solved
    rows = _rows(gradients)
    expected = []
    for step in solution.derivation.steps:
        answers = [a for a in solution.answers if a.key == step.target.key]
        expected += [(f"answer {a.name}", a.value) for a in answers] or [("intermediate step", solution.values[step.target.key])]
    assert len(rows) == len(expected) == 14
    for row, (what, value) in zip(rows, expected):
        assert row["question"] == "1. Gradients of the cross-entropy loss" and row["points"] == "1"
        assert row["description"].startswith(what)
        shown = np.asarray(json.loads(row["expected"]), dtype=float).reshape(-1)
        assert shown.tolist() == displayed(np.asarray(value), solution.digits).reshape(-1).tolist()
    assert re.fullmatch(r"\$\$.+\$\$", rows[0]["rubric_item"])
    loss = next(r for r in rows if r["description"].startswith("answer loss,"))
    assert "accepted ±(" in loss["description"] and loss["description"].endswith("; Loss")


def _items(solved):
    problem, solution = solved
    return rubric.items(prose.prepare(solution), answer_key([problem], [solution])[0])


@needs_tex
def test_the_pdf_shows_every_value_and_the_points(gradients, solved):
    text = _pdf_text(gradients / "rubric.pdf")
    items = _items(solved)
    assert len(items) == 14 and {i.points for i in items} == {1}
    for item in items:
        for number in re.findall(r"-?\d+(?:\.\d+)?", item.value):
            assert number in text, (item.symbol, number)
    assert "Total: 14 points." in text and "Each answer is worth 1 point" in text
    assert text.count("intermediate step") == 6 + 1 and "gradient.W1" in text  # six steps and the note on points


def test_answers_no_step_gives_alone_come_last():
    problem, solution = V.instantiate(V.read(ROOT / "problems" / "parameter-counts" / "q4-fashion-mlp.yaml"), 1)
    items = rubric.items(prose.prepare(solution), answer_key([problem], [solution])[0])
    steps = {s.target.key for s in solution.derivation.steps}
    alone = [a.name for a in solution.answers if a.key not in steps]
    assert alone and [i.answer for i in items[-len(alone):]] == alone
    assert {i.section for i in items[-len(alone):]} == {"Answers"}
    assert sorted(i.answer for i in items if i.answer) == sorted(a.name for a in solution.answers)


@needs_tex
def test_with_variants_each_variant_has_its_own_values(tmp_path):
    folder = _build(ROOT / "bench" / "variants-sheet", tmp_path, "--variants", "2") / "variants-sheet"
    rows = _rows(folder)
    assert {r["variant"] for r in rows} == {"seed-1", "seed-2"}
    key = json.loads((folder / "answer-key.json").read_text())
    for variant in key["variants"]:
        text = _pdf_text(folder / "variants" / variant["variant"] / "rubric.pdf")
        assert variant["label"] in text
        mine = [r for r in rows if r["variant"] == variant["variant"]]
        for answer in variant["problems"][0]["answers"]:
            row = next(r for r in mine if r["description"].startswith(f"answer {answer['name']},"))
            assert float(row["expected"]) == float(f"{answer['value']:.4g}")
        shape = variant["problems"][1]["answers"][0]["value"]
        assert all(str(size) in text for size in shape)
    assert (folder / "rubric.pdf").exists() and not list(folder.glob("*.aux")) and not list(folder.glob("*.pages"))


@needs_tex
def test_problem_text_is_escaped(tmp_path):
    title, shown = "Loss & co: 50% of {y} #1 ~ x_2 costs \\$5", "Loss & co: 50% of {y} #1 ~ x_2 costs $5"
    problem = tmp_path / "src" / "q.yaml"
    problem.parent.mkdir()
    problem.write_text(yaml.safe_dump({
        "kind": "network", "title": title, "statement": "A statement.",
        "network": {"input": 1, "layers": [{"weights": 2, "bias": 1, "activation": "identity"}]},
        "loss": {"type": "squared_error", "target": 1}, "ask": {"forward": True, "loss": True}}), encoding="utf-8")
    folder = _build(problem, tmp_path / "out") / "q"
    assert shown in " ".join(_pdf_text(folder / "rubric.pdf").split())
    assert _rows(folder)[0]["question"] == f"1. {shown}"


def test_headings_and_plain_values():
    assert rubric.heading("**Forward pass.** The input goes through the network.") == "Forward pass"
    assert rubric.heading(r"**Question 1: the kernel.** With \( k \) odd") == "Question 1: the kernel"
    assert rubric.heading("No bold here.") == ""
    assert rubric.plain([[1.0], [2.5]], 4) == "[1, 2.5]"
    assert rubric.plain([[1.0, -0.00012345], [3.0, 4.0]], 3) == "[[1, -0.000123], [3, 4]]"
    assert rubric.plain([[0.81757]], 4) == "0.8176" and rubric.plain(True, 4) == "true"
    assert rubric.plain(15, 4, exact=True) == "15"
