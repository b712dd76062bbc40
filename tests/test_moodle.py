"""The Moodle XML quiz: parsed back, the structure Moodle's importer requires, the key's
values and tolerances in every field, distractors distinct and seeded, text escaped."""
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import tolerance as T
from solvers.render.drivers import quiz as Q

ROOT = Path(__file__).resolve().parents[1]
FIELD = re.compile(r"\{1:NUMERICAL:=([^:]+):([^#]+)#")


def _build(source: Path, out: Path, *options) -> Path:
    subprocess.run([sys.executable, "-m", "solvers", "build", str(source), "--out", str(out),
                    "--formats", "answers,moodle", *options], check=True, capture_output=True, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    out = _build(ROOT / "bench" / "variants-sheet", tmp_path_factory.mktemp("moodle"), "--variants", "3")
    return out / "variants-sheet"


def _questions(folder: Path):
    root = ET.parse(folder / "quiz.xml").getroot()
    assert root.tag == "quiz"
    category, found = None, []
    for question in root:
        assert question.tag == "question"
        if question.get("type") == "category":
            category = question.find("category/text").text
            assert category.startswith("$course$/top/")
            continue
        assert category is not None, "a question before any category"
        for path in ("name/text", "questiontext/text", "defaultgrade", "penalty", "hidden"):
            assert question.find(path) is not None, path
        assert question.find("questiontext").get("format") == "html"
        found.append((category, question))
    return found


def test_one_question_per_variant_in_a_category_per_problem(sheet):
    by_category = {}
    for category, question in _questions(sheet):
        by_category.setdefault(category, []).append(question)
    assert {len(qs) for qs in by_category.values()} == {3}
    assert len({q.get("type") for qs in by_category.values() for q in qs}) >= 2
    assert "$course$/top/Loss and convolution shapes/Cross-entropy loss of a logistic regression" in by_category


def test_cloze_fields_hold_the_keys_values_and_tolerances(sheet):
    key = json.loads((sheet / "answer-key.json").read_text())
    cloze = [q for c, q in _questions(sheet) if q.get("type") == "cloze" and "logistic" in c]
    for variant, question in zip(key["variants"], cloze):
        answers = variant["problems"][0]["answers"]
        fields = FIELD.findall(question.find("questiontext/text").text)
        assert len(fields) == len(answers)
        for (value, band), answer in zip(fields, answers):
            assert float(value) == answer["value"]
            assert float(band) == pytest.approx(T.band(answer["tolerance"], answer["value"]).item())
        assert "\\(z^{(1)}\\)" in question.find("questiontext/text").text  # math for the TeX filter


def test_multiple_choice_has_one_right_option_and_distinct_distractors_naming_mistakes(sheet):
    key = json.loads((sheet / "answer-key.json").read_text())
    choice = [q for c, q in _questions(sheet) if q.get("type") == "multichoice" and "logistic" in c]
    assert len(choice) == 3
    for variant, question in zip(key["variants"], choice):
        answers = question.findall("answer")
        texts = [a.find("text").text for a in answers]
        assert len(set(texts)) == len(texts) >= 2
        right = [a for a in answers if a.get("fraction") == "100"]
        assert len(right) == 1 and question.find("single").text == "true"
        problem = variant["problems"][0]
        whys = {m["why"] for m in problem["mistakes"]}
        for wrong in (a for a in answers if a.get("fraction") == "0"):
            assert any(why in wrong.find("feedback/text").text for why in whys)


def test_the_quiz_is_reproducible(sheet, tmp_path):
    again = _build(ROOT / "bench" / "variants-sheet", tmp_path, "--variants", "3") / "variants-sheet"
    assert (again / "quiz.xml").read_bytes() == (sheet / "quiz.xml").read_bytes()


def test_problem_text_is_escaped(tmp_path):
    problem = tmp_path / "src" / "q.yaml"
    problem.parent.mkdir()
    problem.write_text(yaml.safe_dump({
        "kind": "network", "title": "Loss </text> & co / more", "statement": "Is 1 < 2 & 3 > 2? {1:NUMERICAL:=5}",
        "network": {"input": 1, "layers": [{"weights": 2, "bias": 1, "activation": "identity"}]},
        "loss": {"type": "squared_error", "target": 1}, "ask": {"forward": True, "loss": True}}), encoding="utf-8")
    folder = _build(problem, tmp_path / "out") / "q"
    questions = _questions(folder)
    category, question = questions[0]
    assert category.endswith("Loss <//text> & co // more")  # a / in a category name is //
    text = question.find("questiontext/text").text
    assert "1 &lt; 2 &amp; 3 &gt; 2" in text
    assert "{1:NUMERICAL:=5}" not in text and "&#123;1:NUMERICAL:=5&#125;" in text  # text, not a field
    assert len(FIELD.findall(text)) == 3


@settings(max_examples=100, deadline=None)
@given(st.floats(-100, 100).filter(lambda v: abs(v) > 1e-3), st.lists(st.floats(-100, 100), max_size=8),
       st.integers(2, 6), st.integers(0, 2 ** 31))
def test_choices_are_distinct_at_the_shown_digits_and_seeded(value, wrongs, digits, seed):
    mistakes = [(w, {"name": f"m{i}", "why": f"did thing {i}"}) for i, w in enumerate(wrongs)]
    entry = Q.Entry("a", "a", value, 0.0, False, False, mistakes)
    options = Q.choices(entry, digits, seed, "p")
    texts = [o.text for o in options]
    assert len(set(texts)) == len(texts) and sum(o.correct for o in options) == 1
    assert next(o.text for o in options if o.correct) == f"{value:.{digits}g}"
    assert [o.text for o in Q.choices(entry, digits, seed, "p")] == texts
    assert set(texts) == {f"{v:.{digits}g}" for v in [value, *wrongs]}
