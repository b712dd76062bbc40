"""conv_shape: output sizes and unknowns against torch, and the errors a TA can make."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.kinds import conv_shape
from solvers.verify import mismatches


def spec(data):
    return conv_shape.Spec.model_validate({"kind": "conv_shape", "title": "t", **data})


@settings(max_examples=60, deadline=None)
@given(st.integers(6, 40), st.integers(6, 40), st.lists(st.tuples(
    st.sampled_from(["conv", "max_pool", "avg_pool"]), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1),
    st.integers(1, 2)), min_size=1, max_size=3), st.sampled_from(["kernel", "padding"]))
def test_random_chains_and_unknowns_match_torch(height, width, layers, unknown):
    chain = [{"type": t, "kernel": k, "stride": s, "padding": min(p, k // 2) if t != "conv" else p,
              **({"filters": 2, "dilation": d} if t == "conv" else {})} for t, k, s, p, d in layers]
    data = {"input": {"channels": 2, "height": height, "width": width}, "layers": chain,
            "solve_for": [{"layer": 1, "unknown": unknown, "output": "same", "changes": {"stride": 1}}],
            "ask": {"shapes": False}}  # the shapes would give the unknown away
    try:
        problem = spec(data)
        conv_shape.check(problem)
    except conv_shape.FieldError:
        data.pop("solve_for")  # not every chain has a unique same-size answer: its shapes, then
        data.pop("ask")
        problem = spec(data)
        try:
            conv_shape.check(problem)
        except conv_shape.FieldError:
            return  # a kernel that does not fit: the error is tested below
    assert mismatches(conv_shape.KIND.solve(problem).values, conv_shape.reference(problem)) == []


@pytest.mark.parametrize("layers, solve_for, field, fragment", [
    ([{"type": "conv", "filters": 1, "kernel": 9, "padding": 0}], [], "layers[0].kernel",
     "the kernel spans 9 along the height but the padded input is only 5"),
    ([{"type": "max_pool", "kernel": 2, "padding": 2}], [], "layers[0].padding", "more than half the kernel"),
    ([{"type": "conv", "kernel": 3}], [], "layers[0].filters", "needs `filters`"),
    ([{"type": "conv", "filters": 1, "kernel": 3, "stride": [1, 2, 3]}], [], "layers[0].stride",
     "has 3 entries"),
    ([{"type": "conv", "filters": 1, "kernel": 1}], [{"layer": 1, "unknown": "stride", "output": [2, 2]}],
     "solve_for[0].output", "several (3, 4) stride values give 2×2"),
    ([{"type": "conv", "filters": 1, "kernel": 3}], [{"layer": 2, "unknown": "kernel", "output": "same"}],
     "solve_for[0].layer", "there is no layer 2"),
    ([{"type": "conv", "filters": 1, "kernel": 2}], [{"layer": 1, "unknown": "kernel", "output": "same",
                                                      "changes": {"padding": 1, "stride": 2}}],
     "solve_for[0].output", "no kernel value gives 5×5"),
    ([{"type": "conv", "filters": 1, "kernel": 3, "padding": 1}], [{"layer": 1, "unknown": "kernel", "output": "same"}],
     "solve_for[0]", "would give away"),
])
def test_bad_conv_problems_name_the_field(load_error, layers, solve_for, field, fragment):
    error = load_error({"kind": "conv_shape", "title": "t", "input": {"channels": 1, "height": 5, "width": 5},
                        "layers": layers, "solve_for": solve_for})
    assert error.field == field and fragment in error.message, str(error)


def test_a_problem_that_asks_for_nothing_is_an_error_at_ask(load_error):
    error = load_error({"kind": "conv_shape", "title": "t", "input": {"channels": 1, "height": 10, "width": 12},
                        "layers": [{"type": "conv", "filters": 1, "kernel": 6, "stride": 2, "padding": 2}],
                        "ask": {"shapes": False}})
    assert error.field == "ask" and "asks for nothing" in error.message, str(error)


def test_shapes_can_be_written_height_width_channels():
    problem = spec({"input": {"channels": 3, "height": 32, "width": 28}, "shape_order": "HWC",
                    "layers": [{"type": "conv", "filters": 8, "kernel": 3}]})
    solution = conv_shape.KIND.solve(problem)
    (answer,) = solution.answers
    assert answer.value.ravel().tolist() == [30, 26, 8]
    from solvers.render import prose
    assert "height × width × channels" in prose.prepare(solution).questions[0]
