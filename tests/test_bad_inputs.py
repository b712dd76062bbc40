"""Every kind of bad problem file gives a clear error naming the file and field, never a traceback."""
from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from solvers import build
from solvers.problem import ProblemError
from solvers.variants import load

ROOT = Path(__file__).resolve().parents[1]
DELETE = object()

BASE = {
    "kind": "network",
    "title": "Forward pass and cross-entropy loss",
    "network": {
        "input": [5, 7, 4, 3, 2],
        "layers": [
            {"name": "V", "bias_name": "b_V",
             "weights": [[0.5, -0.1, -0.2, 0.1, -0.4], [-0.9, 0.7, 0.7, -0.5, 0.2]],
             "bias": [0.02, -0.01], "activation": "relu"},
            {"name": "W", "bias_name": "b_W",
             "weights": [[0.1, 0.6], [0.8, 0.4], [0.7, -0.2]],
             "bias": [0.0, 0.05, 0.04], "activation": "sigmoid"},
            {"activation": "softmax"},
        ],
    },
    "loss": {"type": "cross_entropy", "target": 2},
    "ask": {"forward": True, "loss": True},
}


def transposed(matrix):
    return [list(column) for column in zip(*matrix)]


def base_problem(layout: str = "rows") -> dict:
    data = copy.deepcopy(BASE)
    if layout == "columns":
        data["network"]["layout"] = "columns"
        for layer in data["network"]["layers"]:
            if "weights" in layer:
                layer["weights"] = transposed(layer["weights"])
    return data


def mutated(changes: dict, layout: str = "rows") -> dict:
    """The base problem with each `path: value` of `changes` applied; DELETE removes the field."""
    data = base_problem(layout)
    for path, value in changes.items():
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


def write(tmp_path: Path, content: dict | str, name: str = "problem.yaml") -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        load(path)
    return caught.value


def assert_error(error: ProblemError, path: Path, field: str, *fragments: str) -> None:
    assert (error.file, error.field) == (str(path), field), str(error)
    for fragment in fragments:
        assert fragment in error.message, str(error)
    expected = f"{path}: {field}: {error.message}" if field else f"{path}: {error.message}"
    assert str(error) == expected


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solvers", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_base_problem_is_valid(tmp_path, layout):
    load(write(tmp_path, base_problem(layout)))


def test_malformed_yaml_gives_line_and_column(tmp_path):
    path = write(tmp_path, "kind: network\ntitle: Unclosed\nnetwork:\n  input: [5, 7, 4\nask: {forward: true}\n")
    error = load_error(path)
    assert_error(error, path, "", "is not valid YAML", "expected ',' or ']'")
    assert re.search(r"is not valid YAML at line [45], column \d+", error.message), str(error)


@pytest.mark.parametrize("text, found", [
    ("- kind: network\n- title: A list\n", "found [{'kind': 'network'}, {'title': 'A list'}]"),
    ("just a sentence\n", "found 'just a sentence'"),
    ("42\n", "found 42"),
], ids=["list", "string", "number"])
def test_document_that_is_not_a_mapping(tmp_path, text, found):
    path = write(tmp_path, text)
    assert_error(load_error(path), path, "", "must be a mapping of fields", found)


@pytest.mark.parametrize("text", ["", "\n# only a comment\n"], ids=["empty", "comment-only"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    assert_error(load_error(path), path, "", "empty")


@pytest.mark.parametrize("changes, field, fragments", [
    ({("kind",): "netwrok"}, "kind", ["unknown problem kind 'netwrok'", "expected one of: ", "network"]),
    ({("kind",): DELETE}, "kind", ["is missing"]),
    ({("title",): DELETE}, "title", ["is missing (required)"]),
    ({("network",): DELETE}, "network", ["is missing (required)"]),
    ({("ask",): DELETE}, "ask", ["is missing (required)"]),
    ({("network", "input"): DELETE}, "network.input", ["is missing", "`inputs` (a list of examples)"]),
    ({("title",): ""}, "title", ["at least 1 character", "found ''"]),
    ({("network", "layers"): []}, "network.layers", ["at least 1 item", "found []"]),
    ({("network", "input"): [], ("network", "layers"): [{"activation": "softmax"}],
      ("loss",): DELETE, ("ask",): {"forward": True}}, "network.input", ["at least 1", "found []"]),
], ids=["unknown-kind", "missing-kind", "missing-title", "missing-network", "missing-ask",
        "missing-input", "empty-title", "no-layers", "empty-input"])
def test_kind_and_required_fields(tmp_path, changes, field, fragments):
    path = write(tmp_path, mutated(changes))
    assert_error(load_error(path), path, field, *fragments)


@pytest.mark.parametrize("changes, field, fragments", [
    ({("network", "layers", 0, "activation"): "relu6"}, "network.layers[0].activation",
     ["'relu'", "'softmax'", "found 'relu6'"]),
    ({("loss", "type"): "hinge"}, "loss.type", ["'cross_entropy'", "'squared_error'", "found 'hinge'"]),
    ({("network", "layers", 0, "weigths"): [[1.0] * 5] * 2}, "network.layers[0].weigths",
     ["is not a known field"]),
    ({("network", "layout"): "diagonal"}, "network.layout", ["'rows'", "'columns'", "found 'diagonal'"]),
    ({("ask", "sgd"): {"learning_rate": 0}}, "ask.sgd.learning_rate", ["greater than 0", "found 0"]),
    ({("ask", "sgd"): {"learning_rate": -0.1}}, "ask.sgd.learning_rate", ["greater than 0", "found -0.1"]),
    ({("ask", "sgd"): {"learning_rate": 0.1, "steps": 0}}, "ask.sgd.steps", ["greater than or equal to 1"]),
    ({("network", "layers", 0, "name"): "2V"}, "network.layers[0].name", ["found '2V'"]),
], ids=["unknown-activation", "unknown-loss", "misspelled-field", "unknown-layout",
        "zero-learning-rate", "negative-learning-rate", "zero-steps", "bad-name"])
def test_unknown_names_and_values(tmp_path, changes, field, fragments):
    path = write(tmp_path, mutated(changes))
    assert_error(load_error(path), path, field, *fragments)


@pytest.mark.parametrize("layout, changes, field, message", [
    ("rows", {("network", "layers", 0, "weights"): [[0.5, -0.1, -0.2, 0.1], [-0.9, 0.7, 0.7, -0.5]]},
     "network.layers[0].weights",
     "2×4 matrix, but the input has 5 entries (rows-are-units layout expects 2×5)"),
    ("rows", {("network", "layers", 1, "weights"): [[0.1, 0.6, 0.3], [0.8, 0.4, 0.3], [0.7, -0.2, 0.3]]},
     "network.layers[1].weights",
     "3×3 matrix, but layer 1 has 2 outputs (rows-are-units layout expects 3×2)"),
    ("rows", {("network", "layers", 0, "weights"): [[0.5, -0.1, -0.2, 0.1, -0.4], [-0.9, 0.7, 0.7, -0.5]]},
     "network.layers[0].weights", "rows have different lengths [5, 4]; expected a rectangular matrix"),
    ("rows", {("network", "layers", 0, "bias"): [0.02, -0.01, 0.03]},
     "network.layers[0].bias", "has 3 entries, but the layer has 2 units; expected 2"),
    ("columns", {("network", "layers", 0, "weights"): [[0.5, -0.9], [-0.1, 0.7], [-0.2, 0.7], [0.1, -0.5]]},
     "network.layers[0].weights",
     "4×2 matrix, but the input has 5 entries (columns-are-units layout expects 5×2)"),
    ("columns", {("network", "layers", 1, "weights"): [[0.1, 0.8, 0.7]]},
     "network.layers[1].weights",
     "1×3 matrix, but layer 1 has 2 outputs (columns-are-units layout expects 2×3)"),
    ("columns", {("network", "layers", 0, "weights"): [[0.5, -0.9], [-0.1, 0.7], [-0.2], [0.1, -0.5], [-0.4, 0.2]]},
     "network.layers[0].weights", "rows have different lengths [2, 2, 1, 2, 2]; expected a rectangular matrix"),
    ("columns", {("network", "layers", 1, "bias"): [0.0, 0.05]},
     "network.layers[1].bias", "has 2 entries, but the layer has 3 units; expected 3"),
    ("rows", {("network", "layers", 0, "weights"): [[0.5, -0.1, -0.2, 0.1, -0.4], 0.3]},
     "network.layers[0].weights", "mixes numbers and lists; expected a matrix (a list of rows)"),
], ids=["rows-input-width", "rows-hidden-width", "rows-ragged", "rows-bias-length",
        "columns-input-width", "columns-hidden-width", "columns-ragged", "columns-bias-length",
        "numbers-mixed-with-rows"])
def test_shape_mismatch(tmp_path, layout, changes, field, message):
    path = write(tmp_path, mutated(changes, layout))
    error = load_error(path)
    assert_error(error, path, field)
    assert error.message == message, str(error)


@pytest.mark.parametrize("changes, field, fragments", [
    ({("loss", "target"): 3}, "loss.target", ["class 3 is out of range", "from 0 to 2"]),
    ({("loss", "target"): -1}, "loss.target", ["class -1 is out of range", "from 0 to 2"]),
    ({("loss", "target"): [0, 1]}, "loss.target", ["[0.0, 1.0]", "of length 3"]),
    ({("loss", "target"): [0.5, 0.5, 0.5]}, "loss.target", ["[0.5, 0.5, 0.5]", "summing to 1"]),
    ({("loss", "target"): [1.5, -0.5, 0.0]}, "loss.target", ["entries ≥ 0"]),
    ({("loss", "target"): True}, "loss.target", ["class index"]),
    ({("network", "layers"): BASE["network"]["layers"][:2]}, "loss.type",
     ["the last activation must be softmax", "found sigmoid"]),
    ({("network", "layers"): BASE["network"]["layers"][:2], ("loss",): {"type": "binary_cross_entropy",
                                                                        "target": 1}},
     "loss.type", ["binary_cross_entropy needs one sigmoid output", "found 3 sigmoid outputs"]),
    ({("network", "layers"): BASE["network"]["layers"][:2], ("loss",): {"type": "squared_error",
                                                                        "target": [0, 1]}},
     "loss.target", ["has 2 entries", "3 outputs"]),
    ({("loss", "half"): True}, "loss.half", ["applies to squared_error only"]),
], ids=["class-too-large", "class-negative", "one-hot-wrong-length", "target-not-summing-to-1",
        "negative-probability", "boolean-class", "cross-entropy-without-softmax", "bce-several-outputs",
        "squared-error-target-length", "half-for-cross-entropy"])
def test_loss_and_target(tmp_path, changes, field, fragments):
    path = write(tmp_path, mutated(changes))
    assert_error(load_error(path), path, field, *fragments)


@pytest.mark.parametrize("location, value, field", [
    (("network", "layers", 0, "weights", 0, 1), float("nan"), "network.layers[0].weights[0][1]"),
    (("network", "layers", 0, "weights", 1, 0), float("inf"), "network.layers[0].weights[1][0]"),
    (("network", "layers", 1, "bias", 2), float("-inf"), "network.layers[1].bias[2]"),
    (("network", "input", 1), float("nan"), "network.input[1]"),
    (("network", "input", 4), float("inf"), "network.input[4]"),
], ids=["nan-weight", "inf-weight", "minus-inf-bias", "nan-input", "inf-input"])
def test_non_finite_numbers(tmp_path, location, value, field):
    path = write(tmp_path, mutated({location: value}))
    assert re.search(r"-?\.(nan|inf)\b", path.read_text())
    assert_error(load_error(path), path, field, "finite number")


@pytest.mark.parametrize("location, field", [
    (("network", "layers", 0, "weights", 0, 0), "network.layers[0].weights[0][0]"),
    (("network", "input", 2), "network.input[2]"),
], ids=["weight", "input"])
def test_entry_that_is_not_a_number(tmp_path, location, field):
    path = write(tmp_path, mutated({location: "a"}))
    assert_error(load_error(path), path, field, "valid number", "found 'a'")


@pytest.mark.parametrize("changes, field, fragments", [
    ({("network", "layers", 0, "alpha"): 0.1}, "network.layers[0].alpha",
     ["only leaky_relu and elu take alpha", "not relu"]),
    ({("network", "layers", 2, "bias"): [0.0, 0.0, 0.0]}, "network.layers[2].bias",
     ["is given, but the layer has no weights"]),
    ({("ask",): {}}, "ask", ["asks for nothing", "forward, loss, gradients, deltas, sgd"]),
    ({("ask",): {"forward": False, "loss": False}}, "ask", ["asks for nothing"]),
    ({("ask",): {"gradients": ["U"]}}, "ask.gradients[0]",
     ["no parameter is called 'U'", "V", "W", "b_V", "b_W"]),
    ({("ask",): {"gradients": ["V", "b_U"]}}, "ask.gradients[1]", ["no parameter is called 'b_U'"]),
    ({("loss",): DELETE}, "loss", ["is missing", "asks for the loss"]),
    ({("loss",): DELETE, ("ask",): {"gradients": "all"}}, "loss", ["is missing"]),
    ({("network", "layers", 1, "name"): "V"}, "network.layers[1].name", ["the name 'V' is already used"]),
    ({("network", "layers", 1, "bias_name"): "b_V"}, "network.layers[1].bias_name",
     ["the name 'b_V' is already used"]),
    ({("network", "layers", 0, "bias_name"): "V"}, "network.layers[0].bias_name",
     ["the name 'V' is already used"]),
    ({("network", "layers", 0, "name"): "x"}, "network.layers[0].name", ["the name 'x' is already used"]),
    ({("network", "layers", 0, "name"): "eta"}, "network.layers[0].name", ["the name 'eta' is already used"]),
], ids=["alpha-for-relu", "bias-without-weights", "ask-empty", "ask-all-false", "gradient-of-unknown-parameter",
        "gradient-of-unknown-bias", "loss-asked-without-loss", "gradients-asked-without-loss",
        "duplicate-weight-name", "duplicate-bias-name", "bias-named-like-weights", "name-of-input",
        "reserved-name"])
def test_inconsistent_requests_and_names(tmp_path, changes, field, fragments):
    path = write(tmp_path, mutated(changes))
    assert_error(load_error(path), path, field, *fragments)


@pytest.mark.parametrize("content, fragment", [
    (mutated({("network", "layers", 0, "bias"): [0.02]}),
     ": network.layers[0].bias: has 1 entry, but the layer has 2 units"),
    ("kind: network\ntitle: [unclosed\n", ": is not valid YAML at line 3, column 1"),
    ("- a list\n", ": must be a mapping of fields"),
    (mutated({("network", "layers", 0, "weights", 0, 1): float("nan")}), ": network.layers[0].weights"),
    (mutated({("network", "input"): [], ("network", "layers"): [{"activation": "softmax"}],
              ("loss",): DELETE, ("ask",): {"forward": True}}), ": network.input: "),
    ("kind: network\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
     + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")) + "title: *h\n",
     ": holds more than 1000000 values once its aliases"),
    ("kind: network\ntitle: t\nnetwork: &n {input: 1, layers: [*n]}\n", ": nests lists or mappings more than 64"),
    ("kind: network\ntitle: t\nnetwork: {input: " + "[" * 500 + "1" + "]" * 500 + "}\n", ": nests lists or mappings"),
    ("kind: network\ntitle: First\ntitle: Second\n", ": is not valid YAML at line 3, column 1: the key 'title' is "
     "given twice"),
], ids=["bias-length", "malformed-yaml", "list", "nan-weight", "empty-input", "alias-bomb", "alias-in-itself",
        "nested-500-deep", "duplicate-key"])
def test_check_command_reports_error_without_traceback(tmp_path, content, fragment):
    bad = write(tmp_path, content)
    result = run_cli("check", bad)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: {bad}{fragment}"), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == ""


def test_a_problem_file_whose_name_is_not_utf8_is_one_error(tmp_path):
    import os
    folder = tmp_path / "set"
    folder.mkdir()
    name = os.fsdecode(b"q\xff.yaml")  # the bytes as Python keeps them: a lone surrogate
    write(folder, base_problem("rows"), name)
    result = run_cli("build", folder, "--out", tmp_path / "out")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "has a file name that is not printable UTF-8 text" in result.stderr
    assert not (tmp_path / "out").exists()


def test_check_command_on_missing_file(tmp_path):
    result = run_cli("check", tmp_path / "absent.yaml")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_build_leaves_previous_output_untouched(tmp_path):
    out = tmp_path / "out"
    previous = out / "some-set"
    previous.mkdir(parents=True)
    (previous / "marker.txt").write_text("previous build", encoding="utf-8")
    (previous / build.MARK).write_text("")  # what a build writes into every set folder
    source = tmp_path / "problems" / "some-set"
    source.mkdir(parents=True)
    write(source, base_problem(), name="a-good.yaml")
    bad = write(source, mutated({("loss", "target"): 3}), name="b-bad.yaml")
    result = run_cli("build", source.parent, "--out", out)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: {bad}: loss.target: class 3 is out of range"), result.stderr
    assert [p.name for p in out.iterdir()] == ["some-set"]
    assert sorted(p.name for p in previous.iterdir()) == sorted([build.MARK, "marker.txt"])
    assert (previous / "marker.txt").read_text(encoding="utf-8") == "previous build"


def test_a_set_failing_after_earlier_sets_were_written_leaves_no_output(tmp_path, monkeypatch):
    """Each set is written (its PDFs compiling) as soon as it is rendered; a later set that
    fails stops that work, and the build leaves no output folder and no staging behind."""
    for name in ("a-first", "b-second"):
        (tmp_path / "problems" / name).mkdir(parents=True)
        (tmp_path / "problems" / name / "q.yaml").write_text(
            (ROOT / "problems/convolution-shapes/q1-output-size.yaml").read_text(), encoding="utf-8")
    out, render, seen = tmp_path / "out", build._render_variant, []

    def second_fails(job):
        if job[0].name == "b-second":
            seen.extend(out.glob(".staging-*/a-first/solutions.tex"))  # the first set, written already
            raise build.VerificationError("b-second: a value disagrees with torch")
        return render(job)
    monkeypatch.setattr(build, "_render_variant", second_fails)
    with pytest.raises(build.VerificationError):
        build.build([tmp_path / "problems"], out, jobs=1)
    assert len(seen) == 1 and not out.exists()
    monkeypatch.setattr(build, "_render_variant", render)
    build.build([tmp_path / "problems"], out, jobs=1)  # nothing of the failed build in the way
    assert sorted(p.name for p in out.iterdir()) == ["a-first", "b-second"]
    assert (out / "b-second" / "solutions.pdf").read_bytes().startswith(b"%PDF")


BATCH = {("network", "input"): DELETE, ("network", "inputs"): [[5, 7, 4, 3, 2], [1, 0, 1, 0, 1]],
         ("loss", "target"): DELETE, ("loss", "targets"): [2, 0]}


@pytest.mark.parametrize("changes, field, fragments", [
    ({**BATCH, ("network", "inputs"): [[5, 7, 4, 3, 2], [1, 0, 1]]}, "network.inputs[1]",
     ["has 3 entries", "example 0 has 5"]),
    ({**BATCH, ("loss", "targets"): [2]}, "loss.targets", ["has 1 entries", "2 examples", "one target per example"]),
    ({k: v for k, v in BATCH.items() if k != ("loss", "targets")}, "loss.targets",
     ["is missing", "one target per example"]),
    ({**BATCH, ("loss", "target"): 2}, "loss.target", ["one target", "loss.targets"]),
    ({**BATCH, ("loss", "targets"): [2, 5]}, "loss.targets[1]", ["class 5 is out of range"]),
    ({("network", "inputs"): [[1, 2, 3, 4, 5]]}, "network.input", ["together with network.inputs"]),
    ({("loss", "targets"): [2]}, "loss.targets", ["network.input is one example"]),
    ({("loss", "batch_reduction"): "sum"}, "loss.batch_reduction", ["a batch"]),
    ({**BATCH, ("network", "layers", 1, "activation"): "softmax"}, "network.layers[1].activation",
     ["one Jacobian per example"]),
    ({("ask", "sgd"): {"learning_rate": 0.1, "nesterov": True}}, "ask.sgd.nesterov", ["needs momentum"]),
    ({("ask", "sgd"): {"learning_rate": 0.1}, ("ask", "adam"): {"learning_rate": 0.1}}, "ask.adam",
     ["together with ask.sgd"]),
    ({("ask", "adam"): {"learning_rate": 0.1, "betas": [0.9, 1.0]}}, "ask.adam.betas[1]", ["less than 1"]),
    ({("ask", "adam"): {"learning_rate": 0.1, "parameters": ["U"]}}, "ask.adam.parameters[0]",
     ["no parameter is called 'U'"]),
    ({("ask", "gradients_of"): "a1"}, "ask.gradients_of", ["has 2 entries", "Jacobian"]),
    ({("ask", "gradients_of"): "q7"}, "ask.gradients_of", ["no quantity is called 'q7'", "z1, a1"]),
    ({("ask", "gradients"): ["x"], ("ask", "deltas"): True, ("ask", "gradients_of"): "z1"},
     "ask.gradients_of", ["Jacobian"]),
    ({("network", "output_name"): "V"}, "network.output_name", ["already used"]),
], ids=["example-lengths", "too-few-targets", "no-targets", "target-with-batch", "batch-class-range",
        "input-and-inputs", "targets-without-batch", "batch-reduction-one-example", "softmax-inside-batch",
        "nesterov-without-momentum", "two-optimisers", "beta-one", "adam-unknown-parameter",
        "gradient-of-a-vector", "gradient-of-unknown", "gradient-of-wide-z", "output-name-taken"])
def test_batch_gradient_and_optimiser_fields(tmp_path, changes, field, fragments):
    path = write(tmp_path, mutated(changes))
    assert_error(load_error(path), path, field, *fragments)


def test_a_gradient_of_an_earlier_quantity_with_respect_to_a_later_parameter(tmp_path):
    data = {"kind": "network", "title": "Chain", "network": {"input": 1.5, "layers": [
        {"weights": 0.5, "bias": 0.1, "activation": "tanh"}, {"weights": -2.0, "activation": "sigmoid"}]},
        "ask": {"gradients": ["W2"], "gradients_of": "a1"}}
    path = write(tmp_path, data)
    assert_error(load_error(path), path, "ask.gradients", "W2 is used after a1", "layers 1 to 1")
