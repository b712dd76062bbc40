"""The conv_values kind: entries and outputs of padded, strided, multi-channel convolutions,
against plain numpy sliding windows and torch."""
from pathlib import Path

import numpy as np
import pytest
import sympy
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import mistakes
from solvers import problem as P
from solvers.kinds import conv_values
from solvers.render.prose import prepare
from solvers.variants import instantiate, load, read
from solvers.verify import mismatches, verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "convolution-values"


def numpy_conv(image, kernel, padding=(0, 0), stride=(1, 1), bias=0.0, flip=False) -> np.ndarray:
    """Sliding-window sums over a (C, H, W) image, written out by hand."""
    image, kernel = np.atleast_3d(np.array(image, float).T).T, np.atleast_3d(np.array(kernel, float).T).T
    if flip:
        kernel = kernel[:, ::-1, ::-1]
    x = np.pad(image, ((0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    _, kh, kw = kernel.shape
    rows, cols = (x.shape[1] - kh) // stride[0] + 1, (x.shape[2] - kw) // stride[1] + 1
    out = np.empty((rows, cols))
    for m in range(rows):
        for n in range(cols):
            window = x[:, m * stride[0]:m * stride[0] + kh, n * stride[1]:n * stride[1] + kw]
            out[m, n] = (window * kernel).sum() + bias
    return out


def solved(name: str):
    loaded = load(PROBLEMS / name)
    solution = loaded.kind.solve(loaded.spec, loaded.name)
    verify(loaded, solution)
    return loaded, solution, {a.name: a.value for a in solution.answers}


def test_001_q3_1a_entries_e_and_v_of_the_padded_6x6_by_4x4_convolution():
    loaded, solution, answers = solved("q1-entries-e-and-v.yaml")
    spec = loaded.spec
    expected = numpy_conv(spec.image, spec.filter, padding=(1, 1))
    assert expected.shape == (5, 5)
    np.testing.assert_array_equal(answers["output"], expected)
    assert answers["entry.e"][0, 0] == expected[0, 4] == 31  # e: row 1, column 5
    assert answers["entry.v"][0, 0] == expected[4, 1] == -29  # v: row 5, column 2
    # e by hand, as the seed starts it: the padded top row is zeros, so rows 1..3 of the window count
    e = (-2 * 1 + 5 * 3 + 0 * 1 + 0 * 3) + (6 * 2 + 3 * -1 + 3 * 2 + 0 * -1) + (3 * 1 - 2 * 3 + 6 * 1 + 0 * 3)
    assert e == 31 and e != 34  # 34 would be the seed's 6(3) in place of 5·3
    np.testing.assert_array_equal(solution.values["P_e"], [[0, 0, 0, 0], [-2, 5, 0, 0], [6, 3, 3, 0], [3, -2, 6, 0]])
    assert [a.name for a in solution.answers] == ["entry.e", "entry.v", "output"]


def test_two_channel_image_with_stride_2_and_bias():
    loaded, solution, answers = solved("q2-two-channels.yaml")
    spec = loaded.spec
    expected = numpy_conv(spec.image, spec.filter, stride=(2, 2), bias=1.0)
    np.testing.assert_array_equal([answers[f"entry.{x}"][0, 0] for x in "abcd"], expected.ravel())
    np.testing.assert_array_equal(expected, [[6, 7], [11, 0]])
    np.testing.assert_array_equal(solution.values["H_a2"], np.array(spec.image[1])[:2, :2] * np.array(spec.filter[1]))


def test_convolution_flips_the_filter_and_cross_correlation_does_not():
    loaded, solution, answers = solved("q3-flipped-convolution.yaml")
    spec = loaded.spec
    flipped = numpy_conv(spec.image, spec.filter, (1, 1), (2, 2), bias=-1.0, flip=True)
    plain = numpy_conv(spec.image, spec.filter, (1, 1), (2, 2), bias=-1.0)
    np.testing.assert_array_equal(answers["output"], flipped)
    np.testing.assert_array_equal(flipped, [[5, -2, 0], [-1, 6, 2], [-2, 0, 1]])
    assert answers["entry.a"][0, 0] == 5 and answers["entry.e"][0, 0] == 6
    assert not np.array_equal(flipped, plain)
    np.testing.assert_array_equal(solution.values["Fr"], np.rot90(np.array(spec.filter), 2))
    flip = mistakes.FILTER_FLIP_CONFUSED
    assert flip in conv_values.KIND.mistakes and flip.applies(loaded, solution)
    assert not mistakes.same_answers(solution, flip.replay(conv_values.KIND, loaded))
    assert mistakes.undetected(loaded, solution) == []


def test_an_entry_is_evaluated_as_the_sum_of_window_times_filter_symbols():
    loaded, solution, _ = solved("q1-entries-e-and-v.yaml")
    step = next(s for s in solution.derivation.steps if s.target.key == "y_e")
    window = next(s for s in solution.derivation.steps if s.target.key == "P_e").target.elements
    kernel = solution.derivation.givens[1].elements
    assert sympy.expand(step.compute[0] - sum(window.multiply_elementwise(kernel))) == 0
    assert len(step.formula.terms) == 16


def test_the_solution_states_the_convention_and_shows_the_window():
    rendered = prepare(solved("q1-entries-e-and-v.yaml")[1])
    conventions = " ".join(rendered.conventions)
    assert "cross-correlation" in conventions and "not flipped" in conventions
    text = " ".join(step for _, steps in rendered.sections for step in steps)
    assert r"\tilde{X}_{1:4,\; 5:8}" in text and "rows 1 to 4 and columns 5 to 8" in text
    flipped = prepare(solved("q3-flipped-convolution.yaml")[1])
    assert "rotated by 180" in " ".join(flipped.conventions)
    assert any("Rotating the filter" in heading for heading, _ in flipped.sections)


def test_new_numbers_reuse_the_cached_derivation():
    spec = load(PROBLEMS / "q1-entries-e-and-v.yaml").spec
    other = spec.model_copy(update={"image": [[v + 1 for v in row] for row in spec.image]})
    same = conv_values.KIND.compiled(conv_values.structure(spec))
    assert conv_values.KIND.compiled(conv_values.structure(other)) is same
    assert conv_values.KIND.solve(other).values["y_e"][0, 0] == numpy_conv(other.image, other.filter, (1, 1))[0, 4]


def test_random_variants_keep_flipping_diagnostic(tmp_path):
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump({"kind": "conv_values", "title": "random", "operation": "convolution",
                                    "image": {"integers": [-3, 3], "shape": [4, 4]},
                                    "filter": {"integers": [-2, 2], "shape": [2, 2]},
                                    "ask": {"entries": ["a"], "output": True}}))
    template = read(path)
    for seed in range(3):
        problem, solution = instantiate(template, seed)
        kernel = np.array(problem.spec.filter, float)
        image = problem.spec.image
        assert not np.array_equal(numpy_conv(image, kernel, flip=True), numpy_conv(image, kernel))
        np.testing.assert_array_equal(solution.values["Y"], numpy_conv(image, kernel, flip=True))


small = st.integers(-4, 4).map(float)


@st.composite
def specs(draw):
    channels = draw(st.sampled_from([None, 1, 2, 3]))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    kh, kw = draw(st.integers(1, h + 2 * padding[0])), draw(st.integers(1, w + 2 * padding[1]))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))

    def array(rows, cols):
        plane = lambda: draw(st.lists(st.lists(small, min_size=cols, max_size=cols),  # noqa: E731
                                      min_size=rows, max_size=rows))
        return plane() if channels is None else [plane() for _ in range(channels)]

    data = {"kind": "conv_values", "title": "random", "image": array(h, w), "filter": array(kh, kw),
            "padding": list(padding) if padding[0] != padding[1] else padding[0],
            "stride": list(stride), "operation": draw(st.sampled_from(["cross_correlation", "convolution"])),
            "ask": {"output": draw(st.booleans())}}
    if draw(st.booleans()):
        data["bias"] = draw(small)
    rows = (h + 2 * padding[0] - kh) // stride[0] + 1
    cols = (w + 2 * padding[1] - kw) // stride[1] + 1
    count = rows * cols
    if count <= 26:
        data["ask"]["entries"] = draw(st.one_of(st.just("all"), st.lists(
            st.sampled_from("abcdefghijklmnopqrstuvwxyz"[:count]), min_size=1, max_size=3, unique=True)))
    if not data["ask"].get("entries"):
        data["ask"]["output"] = True
    return conv_values.Spec.model_validate(data)


@settings(max_examples=40, deadline=None)
@given(spec=specs())
def test_random_convolutions_match_torch(spec):
    conv_values.check(spec)
    solution = conv_values.KIND.solve(spec)
    assert mismatches(solution.values, conv_values.reference(spec)) == []
    if spec.ask.output:
        flip = spec.operation == "convolution"
        expected = numpy_conv(spec.image, spec.filter, conv_values.pair(spec.padding), conv_values.pair(spec.stride),
                              spec.bias or 0.0, flip)
        np.testing.assert_allclose(solution.values["Y"], expected, rtol=1e-12, atol=1e-12)


BASE = {"kind": "conv_values", "title": "bad", "image": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
        "filter": [[1, 0], [0, 1]], "padding": 1, "ask": {"entries": ["a"], "output": True}}


@pytest.mark.parametrize("changes, field, fragment", [
    ({"image": [[1, 2, 3], [4, 5], [7, 8, 9]]}, "image[1]", "has 2 entries but row 0 has 3"),
    ({"filter": [[[1, 0], [0, 1]]]}, "filter", "expected one filter channel per image channel"),
    ({"image": [[[1, 2], [3, 4]], [[1, 2], [3, 4]]], "filter": [[[1]], [[1]], [[1]]]}, "filter",
     "is 3 channel matrices but the image is 2 channel matrices"),
    ({"image": [[[1, 2], [3, 4]], [[1, 2, 3], [3, 4, 5]]], "filter": [[[1]], [[1]]]}, "image[1]",
     "is 2×3 but channel 0 is 2×2"),
    ({"filter": [[1] * 6] * 6}, "filter", "is 6×6 but the padded image is only 5×5"),
    ({"ask": {"entries": ["z"]}}, "ask.entries[0]", "'z' names no entry: the output is 4×4, its entries are a to p"),
    ({"ask": {"entries": ["a", "a"]}}, "ask.entries[1]", "is asked twice"),
    ({"image": [[1] * 8] * 8, "filter": [[1]], "padding": 0, "ask": {"entries": ["a"]}}, "ask.entries",
     "the output is 8×8 = 64 entries, but only 26 can be named"),
    ({"ask": {}}, "ask", "asks nothing"),
    ({"image": [[1] * 9] * 9}, "image", "the padded image is 11×11; expected at most 10×10"),
    ({"operation": "flipped"}, "operation", "input should be 'cross_correlation' or 'convolution'"),
    ({"image": [[1, 2, 3], [4, float("nan"), 6], [7, 8, 9]]}, "image[1][1]", "finite number"),
    ({"stride": 0}, "stride", "greater than or equal to 1"),
    ({"padding": [1, 2, 3]}, "padding", "[1, 2, 3] has 3 entries; expected one number or [rows, columns]"),
    ({"ask": {"entries": ["A"]}}, "ask.entries[0]", "'A' is not an entry name; expected a lowercase letter"),
    ({"ask": {"entries": "every"}}, "ask.entries", "found 'every'"),
])
def test_bad_inputs_name_the_field(tmp_path, changes, field, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**BASE, **changes}, allow_unicode=True))
    with pytest.raises(P.ProblemError) as error:
        load(path)
    assert error.value.field == field
    assert fragment in error.value.message, error.value.message


def test_the_question_speaks_of_a_padded_image_only_when_there_is_padding():
    padded = " ".join(prepare(solved("q1-entries-e-and-v.yaml")[1]).questions)
    plain = " ".join(prepare(solved("q2-two-channels.yaml")[1]).questions)
    assert "window of the padded image under the filter" in padded
    assert "window of the image under the filter" in plain and "padded" not in plain
