"""The param_count kind: seed counts against closed forms, random architectures against torch,
and bad problem files."""
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.derivation import element_symbol
from solvers.kinds import param_count
from solvers.variants import load
from solvers.verify import mismatches, verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "parameter-counts"


def answers(name: str) -> dict:
    loaded = load(PROBLEMS / name)
    solution = loaded.kind.solve(loaded.spec)
    verify(loaded, solution)
    assert all(a.integer for a in solution.answers)
    return {a.name: a.value.ravel().tolist() for a in solution.answers}


def conv(k: int, c_in: int, filters: int, bias: bool = True) -> int:
    return k * k * c_in * filters + (filters if bias else 0)


def test_001_q3_2c_one_filter_spans_the_three_color_channels():
    a = answers("q1-color-image-one-filter.yaml")
    assert a["total"] == [conv(3, 3, 1)] == [28]
    assert a["total.weights"] == [conv(3, 3, 1, bias=False)] == [27]
    assert a["layer1.biases"] == [1]
    assert a["layer1.shape"] == [1, (12 + 2 * 2 - 3) // 1 + 1, 14]
    assert a["total"] != [10] and a["total.weights"] != [9]  # the seed's handwritten answers


def test_001_q3_2c_without_bias_is_27():
    data = yaml.safe_load((PROBLEMS / "q1-color-image-one-filter.yaml").read_text())
    data["layers"][0]["bias"] = False
    spec = param_count.Spec.model_validate(data)
    param_count.check(spec)
    solution = param_count.KIND.solve(spec)
    assert mismatches(solution.values, param_count.reference(spec)) == []
    assert solution.values["P"][0, 0] == 27 and solution.values["Pb1"][0, 0] == 0


def test_001_q3_2d_four_strided_filters():
    a = answers("q2-strided-filters.yaml")
    assert a["total"] == [conv(4, 1, 4)] == [68]
    assert a["total"] != [(4 * 4 * 1) + (1 * 4 * 1)]  # the seed counts one filter's weights
    assert a["layer1.shape"] == [4, (40 - 4) // 2 + 1, 19]


def test_001_q3_2e_second_layer_filters_span_the_first_layers_channels():
    a = answers("q3-two-conv-layers.yaml")
    assert a["layer1.shape"] == [4, (28 + 4 - 6) // 2 + 1, 14]
    assert a["layer1.params"] == [conv(6, 1, 4)] == [148]
    assert a["layer2.shape"] == [3, 12, 12]
    assert a["layer2.params"] == [conv(3, 4, 3)] == [111]
    assert a["total"] == [259]


def test_004_mlp_and_000_q7_tunable_parameters():
    a = answers("q4-fashion-mlp.yaml")
    sizes = [784, 256, 128, 64, 10]
    assert a["layer1.shape"] == [784]
    assert a["total"] == [sum(n * m + m for n, m in zip(sizes, sizes[1:]))] == [242762]
    assert a["layer2.weights"] == [784 * 256] and a["layer8.biases"] == [10]
    assert "layer3.params" not in a  # ReLU has no parameters


def test_001_cnn_counts_batch_norm_scale_and_shift_but_not_running_statistics():
    a = answers("q5-fashion-cnn.yaml")
    channels = [1, 32, 64, 128, 256]
    blocks = [(conv(3, c, f), 2 * f) for c, f in zip(channels, channels[1:])]
    expected = sum(c + b for c, b in blocks) + (256 * 128 + 128) + (128 * 10 + 10)
    assert a["total"] == [expected] == [422986]
    assert [a[f"layer{l}.params"][0] for l in (1, 6, 11, 16)] == [c for c, _ in blocks]
    assert [a[f"layer{l}.params"][0] for l in (4, 9, 14, 19)] == [64, 128, 256, 512]
    assert "layer1.shape" not in a and "layer5.params" not in a


def test_layer_totals_are_factored_by_sympy():
    layers = tuple(param_count.LayerKind(type_, True) for type_ in ("conv", "flatten", "dense"))
    derivation, _ = param_count.KIND.compiled(param_count.Structure(image=True, layers=layers))
    conv_total, dense_total = (s.facts["factored"].expr for s in derivation.steps if s.kind == "layer_total")
    e = lambda key: element_symbol(key, 0, 0)  # noqa: E731
    assert conv_total == e("f1") * (e("C0") * e("k1h") * e("k1w") + 1)
    assert dense_total == e("N3") * (e("N2") + 1)


# -- random architectures against torch -----------------------------------------------------------

@st.composite
def architectures(draw):
    image = draw(st.booleans())
    if image:
        size = [draw(st.integers(3, 14)), draw(st.integers(3, 14))]
        data = {"channels": draw(st.integers(1, 4)), "height": size[0], "width": size[1]}
    else:
        data = {"features": draw(st.integers(1, 40))}
    layers = []
    for _ in range(draw(st.integers(1, 6))):
        types = ["conv", "max_pool", "avg_pool", "flatten"] if image else ["dense"]
        layer = {"type": draw(st.sampled_from(types + ["batch_norm", "dropout", "relu", "tanh", "sigmoid"]))}
        if layer["type"] in ("conv", "max_pool", "avg_pool"):
            kernel = [draw(st.integers(1, min(4, n))) for n in size]
            padding = [draw(st.integers(0, k // 2)) for k in kernel]
            stride = [draw(st.integers(1, 3)) for _ in kernel]
            layer.update(kernel=kernel if draw(st.booleans()) or kernel[0] != kernel[1] else kernel[0],
                         padding=padding, stride=stride)
            if layer["type"] == "conv":
                layer.update(filters=draw(st.integers(1, 5)), bias=draw(st.booleans()))
            elif draw(st.booleans()):
                del layer["stride"]
                stride = kernel
            size = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(size, padding, kernel, stride)]
        elif layer["type"] == "dense":
            layer.update(units=draw(st.integers(1, 20)), bias=draw(st.booleans()))
        elif layer["type"] == "flatten":
            image = False
        layers.append(layer)
    return {"kind": "param_count", "title": "random", "input": data, "layers": layers}


@settings(max_examples=40, deadline=None)
@given(architectures())
def test_random_architectures_match_torch(data):
    spec = param_count.Spec.model_validate(data)
    param_count.check(spec)
    values = param_count.KIND.solve(spec).values
    assert mismatches(values, param_count.reference(spec)) == []
    layers = range(1, len(spec.layers) + 1)
    assert values["P"][0, 0] == sum(values[f"P{l}"][0, 0] for l in layers)


# -- bad problem files ------------------------------------------------------------------------------

def problem(**changes) -> dict:
    data = {"kind": "param_count", "title": "t", "input": {"channels": 1, "height": 8, "width": 8},
            "layers": [{"type": "conv", "filters": 2, "kernel": 3}]}
    return data | changes


@pytest.mark.parametrize("data, field, fragment", [
    (problem(layers=[{"type": "conv", "kernel": 3}]), "layers[0].filters", "is missing"),
    (problem(layers=[{"type": "conv", "filters": 2, "kernel": 3, "units": 4}]), "layers[0].units",
     "is not a field of a conv layer"),
    (problem(layers=[{"type": "dense", "units": 4}]), "layers[0].type", "add {type: flatten} before it"),
    (problem(layers=[{"type": "conv", "filters": 2, "kernel": 11, "padding": 1}]), "layers[0].kernel",
     "the padded input is only 10"),
    (problem(layers=[{"type": "flatten"}, {"type": "max_pool", "kernel": 2}]), "layers[1].type",
     "needs an image"),
    (problem(layers=[{"type": "max_pool", "kernel": 2, "padding": 2}]), "layers[0].padding", "more than half"),
    (problem(layers=[{"type": "conv", "filters": 2, "kernel": [3, 3, 3]}]), "layers[0].kernel", "has 3 entries"),
    (problem(layers=[{"type": "dropout", "p": 1.0}]), "layers[0].p", "less than 1"),
    (problem(layers=[{"type": "conv", "filters": 2, "kernel": 3, "bias": "yes"}]), "layers[0].bias",
     "valid boolean"),
    (problem(input={"channels": 1, "height": 8}), "input.width", "is missing"),
    (problem(input={"features": 4, "channels": 1}), "input", "has both"),
    (problem(input={"features": 100_000_000}, layers=[{"type": "dense", "units": 20_000_000}]), "layers[0]",
     "has 2000000000000000 weights; expected fewer than 1000000000000000"),
    (problem(layers=[]), "layers", "at least 1 item"),
])
def test_bad_problem_files_name_the_field(load_error, data, field, fragment):
    error = load_error(data)
    assert error.field == field
    assert fragment in error.message
