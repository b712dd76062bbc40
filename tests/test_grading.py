"""Grading: tolerances at their edges, transposition, carried-forward errors, the mistake
catalog diagnosing each entry, and clear errors for malformed files."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import mistakes as M
from solvers import tolerance as T
from solvers import variants as V
from solvers.grading import GradingError, grade
from solvers.grading.check import grade_answer
from solvers.grading.key import KeyAnswer, KeyProblem
from solvers.grading.report import write
from solvers.grading.responses import Response
from solvers.problem import ProblemError

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "problems"


def ok(tolerance, given, correct) -> bool:
    return bool(T.accepts(tolerance, np.array([[given]]), np.array([[correct]])).all())


# -- tolerances ----------------------------------------------------------------------------------

def test_significant_figures_accept_half_a_last_digit_and_not_more():
    three = {"sigfigs": 3, "absolute": 0.0}
    assert ok(three, 0.818, 0.8175744)  # 0.00043 off; 0.51 of the third digit is 0.00051
    assert not ok(three, 0.817, 0.8175744)  # 0.00057 off: a truncation, not a rounding
    assert ok(three, 1230, 1234.5) and not ok(three, 1240, 1234.5)
    assert ok(three, -0.0123, -0.01234) and not ok(three, -0.0122, -0.01234)


def test_decimal_places_accept_051_of_the_last_place():
    two = {"decimal_places": 2}
    assert ok(two, 1.2396, 1.2345) and not ok(two, 1.2397, 1.2345)
    assert ok(two, 0.0, 0.005) and not ok(two, 0.0, 0.0052)


def test_relative_plus_absolute_is_allclose():
    relabs = {"relative": 0.01, "absolute": 0.001}
    assert ok(relabs, 2.021, 2.0) and not ok(relabs, 2.0211, 2.0)
    assert ok(relabs, 0.001, 0.0) and not ok(relabs, 0.0011, 0.0)


def test_near_zero_the_absolute_floor_applies():
    floor = {"sigfigs": 3, "absolute": 5e-5}
    assert ok(floor, 4e-5, 0.0) and not ok(floor, 6e-5, 0.0)
    assert ok(floor, 4e-5, 1e-9)  # three significant figures of 1e-9 would ask for 1e-11
    assert not ok(T.EXACT, 3.0000001, 3.0) and ok(T.EXACT, 3.0, 3.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 1e6) | st.floats(-1e6, -1e-6), st.integers(1, 8))
def test_a_correctly_rounded_answer_is_accepted_and_one_digit_off_is_not(correct, digits):
    rule = {"sigfigs": digits, "absolute": 0.0}
    rounded = float(f"{correct:.{digits}g}")
    assert ok(rule, rounded, correct)
    last = 10.0 ** (np.floor(np.log10(abs(correct))) - digits + 1)
    assert not ok(rule, rounded + 1.5 * last * np.sign(correct), correct)


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e4, 1e4), st.integers(0, 6))
def test_decimal_places_accept_rounding_to_them(correct, places):
    assert ok({"decimal_places": places}, round(correct, places), correct)
    assert not ok({"decimal_places": places}, correct + 0.6 * 10.0 ** -places, correct)


def _network(tmp_path, **extra) -> Path:
    data = {"kind": "network", "title": "One hidden ReLU unit",
            "network": {"input": 1, "layers": [
                {"name": "w_1", "bias_name": "b_1", "weights": -2, "bias": 3, "activation": "relu"},
                {"name": "w_2", "bias_name": "b_2", "weights": 3, "bias": 0, "activation": "identity"}]},
            "loss": {"type": "squared_error", "target": 1},
            "ask": {"forward": True, "loss": True, "gradients": "all", "sgd": {"learning_rate": 0.5}}, **extra}
    path = tmp_path / "q1.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_tolerance_field_sets_each_answers_rule_and_is_written_into_the_key(tmp_path):
    path = _network(tmp_path, tolerance={"default": {"sigfigs": 3}, "loss": {"decimal_places": 2},
                                         "gradient.*": {"relative": 0.01}})
    solution = V.solve(V.load(path))
    rules = {a.name: a.tolerance(solution.digits) for a in solution.answers}
    assert rules["loss"] == {"decimal_places": 2}
    assert rules["gradient.W1"] == {"relative": 0.01, "absolute": 5e-5}
    assert rules["forward.z1"] == {"sigfigs": 3, "absolute": 5e-5}


def test_tolerance_pattern_that_matches_nothing_names_the_field(tmp_path):
    with pytest.raises(ProblemError, match=r"q1.yaml: tolerance.grad\.\*: matches no computed answer"):
        V.solve(V.load(_network(tmp_path, tolerance={"grad.*": {"sigfigs": 3}})))
    with pytest.raises(ProblemError, match=r"tolerance.loss: .*sigfigs or decimal_places, not both"):
        V.load(_network(tmp_path, tolerance={"loss": {"sigfigs": 3, "decimal_places": 2}}))


# -- answers -------------------------------------------------------------------------------------

def _grade(value, expected, tolerance=None, mistakes=()):
    answer = KeyAnswer("a", expected, tolerance or {"relative": 1e-3, "absolute": 5e-5})
    return grade_answer(KeyProblem("p", "", [answer], list(mistakes)), answer, Response(value, "row 2"))


def test_statuses_of_single_answers():
    assert _grade("0.8176", 0.8175744).status == "correct"
    assert _grade("", 0.8).status == "missing"
    assert (_grade("0.8.1", 0.8).status, _grade("[1, [2]]", 0.8).status) == ("unparseable", "unparseable")
    assert _grade("true", True, T.EXACT).status == "correct" and _grade("false", True, T.EXACT).status == "wrong"


def test_matrix_answers_get_entrywise_partial_credit():
    grade_ = _grade("[[1, 2, 3], [4, 5, 0]]", [[1, 2, 3], [4, 5, 6]])
    assert grade_.status == "partial" and grade_.score == pytest.approx(5 / 6)


def test_a_transposed_matrix_is_recognised():
    wide = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert _grade("[[1, 4], [2, 5], [3, 6]]", wide).status == "transposed"
    square = _grade("[[1, 3], [2, 4]]", [[1.0, 2.0], [3.0, 4.0]])
    assert square.status == "transposed" and square.score == pytest.approx(0.5)  # the diagonal is right
    assert _grade("[1, 2, 3]", [1.0, 2.0, 3.0]).status == "correct"  # a vector either way round


def test_a_wrong_answer_that_several_mistakes_give_names_none_of_them():
    mistakes = [{"name": n, "why": n, "answers": {"a": 2.0}, "step": {}} for n in ("one", "two")]
    grade_ = _grade("2.0", 1.0, mistakes=mistakes)
    assert grade_.mistake is None and "one, two" in grade_.detail


# -- the catalog, each entry diagnosed -----------------------------------------------------------

def _custom(tmp_path, name, data) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"title": name, **data}), encoding="utf-8")
    return path


def _square_network(tmp_path) -> Path:
    return _custom(tmp_path, "square", {"kind": "network", "network": {"input": [1, -2], "layers": [
        {"weights": [[0.5, -0.3], [0.2, 0.8]], "bias": [0.1, -0.2], "activation": "relu"},
        {"weights": [[1.0, -1.0], [0.5, 0.25]], "bias": [0.0, 0.1], "activation": "identity"}]},
        "loss": {"type": "squared_error", "target": [1, 0], "reduction": "mean", "half": False},
        "ask": {"forward": True, "loss": True, "gradients": "all", "sgd": {"learning_rate": 0.5}}})


def _softmax_network(tmp_path) -> Path:
    return _custom(tmp_path, "jacobian", {"kind": "network", "network": {"input": [1, 2], "layers": [
        {"weights": [[0.5, -0.3], [0.2, 0.8], [0.1, 0.1]], "bias": [0.1, -0.2, 0.0], "activation": "identity"},
        {"activation": "softmax"}]}, "loss": {"type": "squared_error", "target": [1, 0, 0]},
        "ask": {"forward": True, "loss": True, "gradients": "all"}})


CASES = {
    "relu_mask_forgotten": "activation-functions/q1-relu-family.yaml",
    "kink_side_wrong": "activation-functions/q1-relu-family.yaml",
    "leaky_slope_dropped": "activation-functions/q3-dead-relu.yaml",
    "elu_derivative_as_function": "activation-functions/q1-relu-family.yaml",
    "bias_dropped": "loss-and-backprop/q1-logistic-regression.yaml",
    "input_channels_forgotten": "parameter-counts/q1-color-image-one-filter.yaml",
    "output_size_without_floor": "convolution-shapes/q2-cnn-shapes.yaml",
    "output_size_without_plus_one": "convolution-shapes/q1-output-size.yaml",
    "log_base_10": "loss-and-backprop/q1-logistic-regression.yaml",
    "loss_sign_dropped": "softmax/q1-softmax-cross-entropy.yaml",
    "jacobian_diagonal_only": "softmax/q1-softmax-cross-entropy.yaml",
    "softmax_sigmoid_confused": "loss-and-backprop/q2-forward-pass.yaml",
    "squared_loss_half_confused": _square_network,
    "sum_for_mean": _square_network,
    "weight_gradient_transposed": _square_network,
    "sgd_wrong_sign": _square_network,
    "rounded_intermediates": "softmax/q1-softmax-cross-entropy.yaml",
    "filter_flip_confused": "convolution-values/q1-entries-e-and-v.yaml",
}


def test_every_catalog_entry_has_a_diagnosis_test():
    assert set(CASES) == {m.name for m in M.CATALOG}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_mistake_is_diagnosed_where_it_applies(name, tmp_path):
    source = CASES[name]
    path = BANK / source if isinstance(source, str) else source(tmp_path)
    problem = V.load(path)
    solution = V.solve(problem)
    key = M.answer_key([problem], [solution])[0]
    effect = next(e for e in key["mistakes"] if e["name"] == name)
    keyed = KeyProblem(key["problem"], key["title"], [KeyAnswer(**a) for a in key["answers"]], key["mistakes"])
    diagnosed = []
    for answer_name, wrong in effect["answers"].items():
        grade_ = grade_answer(keyed, keyed.answer(answer_name), Response(json.dumps(wrong), "row 2"))
        assert grade_.status in ("wrong", "partial", "transposed")
        if grade_.mistake:
            diagnosed.append(grade_.mistake["name"])
            assert effect["step"]["quantity"] in grade_.detail
    assert diagnosed and set(diagnosed) == {name}


def test_jacobian_mistake_in_a_network(tmp_path):
    problem = V.load(_softmax_network(tmp_path))
    names = {e.mistake.name for e in M.effects(problem, V.solve(problem))}
    assert "jacobian_diagonal_only" in names


def test_sgd_sign_mistake_gives_the_ascent_step(tmp_path):
    problem = V.load(_square_network(tmp_path))
    solution = V.solve(problem)
    effect = M.effect(M.SGD_WRONG_SIGN, problem, solution)
    new, old, grad = (solution.values[k] for k in ("W1+1", "W1", "dL_dW1"))
    assert np.allclose(effect.answers["sgd.step1.W1"], old + 0.5 * grad) and np.allclose(new, old - 0.5 * grad)


# -- carried forward, and whole files ------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("key")
    subprocess.run([sys.executable, "-m", "solvers", "build", str(BANK / "loss-and-backprop"), "--out", str(out),
                    "--formats", "answers"], check=True, capture_output=True, cwd=ROOT)
    return out / "loss-and-backprop" / "answers.json"


def _responses(tmp_path, text: str, name="responses.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_wrong_earlier_value_is_carried_forward(built, tmp_path):
    responses = _responses(tmp_path, "student,problem,answer,value\n"
                           "bob,q1-logistic-regression,forward.z1,4.5\n"  # the bias dropped
                           "bob,q1-logistic-regression,forward.a1,0.98901\n"
                           "bob,q1-logistic-regression,loss,0.01105\n")  # right for z = 4.5
    carried = grade(built, responses, [BANK / "loss-and-backprop"]).students[0].problems[0].answers
    assert [a.status for a in carried] == ["wrong", "correct", "consistent"]
    assert carried[0].mistake["name"] == "bias_dropped" and carried[2].score == 1.0
    assert carried[2].carried == pytest.approx(0.0110477, rel=1e-5)
    alone = grade(built, responses).students[0].problems[0].answers
    assert alone[2].status == "wrong"  # without the problem files nothing is carried forward


def test_report_files_and_html_escaping(built, tmp_path):
    responses = _responses(tmp_path, json.dumps([
        {"student": "<b>eve</b>", "problem": "q1-logistic-regression", "answer": "loss", "value": 0.004565}]),
        "responses.json")
    out = write(grade(built, responses), tmp_path / "grades")
    page = (out / "students" / "_b_eve__b_.html").read_text()
    assert "&lt;b&gt;eve&lt;/b&gt;" in page and "<b>eve" not in page and "log base 10" in page
    report = json.loads((out / "report.json").read_text())
    assert report["students"][0]["problems"][0]["answers"][2]["mistake"]["name"] == "log_base_10"
    assert (out / "scores.csv").read_text().splitlines()[1].startswith("<b>eve</b>,,0.0,")


@pytest.mark.parametrize("text, message", [
    ("name,problem,answer,value\n", "row 1: has no column student"),
    ("student,problem,answer,value\nal,q9,loss,1\n", "row 2: problem 'q9' is not in the key"),
    ("student,problem,answer,value\nal,q1-logistic-regression,los,1\n",
     "row 2: problem 'q1-logistic-regression' has no answer 'los'"),
    ("student,problem,answer,value\nal,q1-logistic-regression,loss,1\nal,q1-logistic-regression,loss,2\n",
     "row 3: student 'al' answers q1-logistic-regression loss a second time"),
    ("student,problem,answer,value\nal,q1-logistic-regression,loss,1,2\n", "row 2: has 5 cells"),
    ('[{"student": "al", "problem": "q1-logistic-regression", "answer": "loss", "valeu": 1}]',
     "responses[0]: has an unknown field 'valeu'"),
    ('[{"student": "al",', "line 1: is not JSON"),
    ("[" * 100_000 + "]" * 100_000, "nests lists or objects too deeply"),
])
def test_malformed_responses_give_one_clear_line(built, tmp_path, text, message):
    path = _responses(tmp_path, text, "r.json" if text.startswith("[") else "r.csv")
    with pytest.raises(GradingError, match=re.escape(message)) as caught:
        grade(built, path)
    assert str(path) in str(caught.value)
    run = subprocess.run([sys.executable, "-m", "solvers", "grade", str(built), str(path), "--out",
                          str(tmp_path / "g")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_a_key_that_is_not_a_key(tmp_path):
    path = _responses(tmp_path, '{"a": 1}', "key.json")
    with pytest.raises(GradingError, match="key.json: is not an answer key"):
        grade(path, path)


def test_a_key_nested_too_deeply_and_a_value_nested_too_deeply(built, tmp_path):
    path = _responses(tmp_path, "[" * 100_000 + "]" * 100_000, "key.json")
    with pytest.raises(GradingError, match="key.json: nests lists or objects too deeply"):
        grade(path, path)
    cell = "[" * 5000 + "]" * 5000
    responses = _responses(tmp_path, f"student,problem,answer,value\nal,q1-logistic-regression,loss,{cell}\n")
    (answer,) = [a for a in grade(built, responses).students[0].problems[0].answers if a.name == "loss"]
    assert answer.status == "unparseable" and "nests lists too deeply" in answer.detail


def test_variants_are_graded_against_their_own_key(tmp_path):
    out = tmp_path / "vs"
    subprocess.run([sys.executable, "-m", "solvers", "build", str(ROOT / "bench" / "variants-sheet"), "--out", str(out),
                    "--variants", "2", "--formats", "answers"], check=True, capture_output=True, cwd=ROOT)
    key = json.loads((out / "variants-sheet" / "answer-key.json").read_text())
    z = {v["variant"]: v["problems"][0]["answers"][0]["value"] for v in key["variants"]}
    responses = _responses(tmp_path, "student,variant,problem,answer,value\n"
                           f"s1,seed-1,logistic-regression,forward.z1,{z['seed-1']}\n"
                           f"s2,seed-2,logistic-regression,forward.z1,{z['seed-1']}\n")
    report = grade(out / "variants-sheet" / "answer-key.json", responses, [ROOT / "bench" / "variants-sheet"])
    assert [s.problems[0].answers[0].status for s in report.students] == ["correct", "wrong"]
    missing = _responses(tmp_path, "student,problem,answer,value\ns1,logistic-regression,forward.z1,1\n", "m.csv")
    with pytest.raises(GradingError, match="row 2: student 's1' has no variant in the key"):
        grade(out / "variants-sheet" / "answer-key.json", missing)
