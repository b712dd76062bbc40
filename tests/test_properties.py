"""Property tests: for random networks every value of the derivation equals torch.

Networks of depth 1–4 and widths 1–6, every activation, every loss, both weight layouts,
with and without biases, both kink conventions, gradients, ∂L/∂z and SGD steps. Numbers
come from a half-integer grid, so pre-activations often land exactly on a kink."""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solvers.kind import _compiled
from solvers.kinds import network
from solvers.verify import mismatches

HIDDEN = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "identity"]
numbers = st.integers(-6, 6).map(lambda k: k / 2)


def well_conditioned(solution) -> bool:
    """No diverging run, and no Adam step near ε. Adam's step m̂/(√ŝ + ε) is ill-conditioned where √ŝ is near ε (a gradient near 1e-8):
    there a rounding of the gradient moves the step by ~1e-11, beyond the verification's
    tolerance, though both sides are right. Such problems are no Adam exercise; skip them."""
    if any(np.any(np.abs(v) > 1e4) for v in solution.values.values()):
        return False  # a diverging run: its numbers dwarf a step's rounding, which can flip a later kink
    eps = solution.values.get("eps")
    return eps is None or all(np.all((np.sqrt(v) == 0) | (np.sqrt(v) > 1e4 * eps)) for key, v in
                              solution.values.items() if key.startswith("shat"))


@st.composite
def optimizers(draw):
    """`ask.sgd` (plain, momentum, Nesterov, weight decay) or `ask.adam`, for 1–3 steps."""
    steps, rate = draw(st.integers(1, 3)), draw(st.sampled_from([0.1, 0.5]))
    decay = draw(st.sampled_from([0, 0, 0.05]))
    if draw(st.booleans()):
        return {"adam": {"learning_rate": rate / 10, "steps": steps, "weight_decay": decay,
                         "betas": draw(st.sampled_from([[0.9, 0.999], [0.5, 0.9]]))}}
    momentum = draw(st.sampled_from([0, 0.9]))
    return {"sgd": {"learning_rate": rate, "steps": steps, "momentum": momentum, "weight_decay": decay,
                    "nesterov": bool(momentum) and draw(st.booleans())}}


@st.composite
def problems(draw, batched=False):
    """A random network problem; `batched`: on a batch of 1–4 examples (`inputs`, `targets`)."""
    depth = draw(st.integers(1, 4))
    widths = [draw(st.integers(1, 6)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(["cross_entropy", "binary_cross_entropy", "squared_error"]))
    if loss == "binary_cross_entropy":
        widths[-1] = 1
    elif loss == "cross_entropy":
        widths[-1] = max(widths[-1], 2)
    layout = draw(st.sampled_from(["rows", "columns"]))
    layers = []
    for l in range(depth):
        softmax = [] if batched else ["softmax"]  # a batch has softmax only before cross-entropy
        activation = draw(st.sampled_from(HIDDEN + (softmax if l < depth - 1 else [])))
        if l == depth - 1:
            activation = {"cross_entropy": draw(st.sampled_from(["softmax"] + ([] if batched else ["sigmoid"]))),
                          "binary_cross_entropy": "sigmoid"}.get(loss, draw(st.sampled_from(HIDDEN + softmax)))
        shape = (widths[l + 1], widths[l]) if layout == "rows" else (widths[l], widths[l + 1])
        layer = {"weights": draw(st.lists(st.lists(numbers, min_size=shape[1], max_size=shape[1]),
                                          min_size=shape[0], max_size=shape[0])),
                 "activation": activation}
        if draw(st.booleans()):
            layer["bias"] = draw(st.lists(numbers, min_size=widths[l + 1], max_size=widths[l + 1]))
        if activation in ("leaky_relu", "elu") and draw(st.booleans()):
            layer["alpha"] = draw(st.sampled_from([0.1, 0.5, 2.0]))
        layers.append(layer)
    if loss == "cross_entropy" and layers[-1]["activation"] != "softmax":
        layers.append({"activation": "softmax"})
    n = widths[-1]
    examples = draw(st.integers(1, 4)) if batched else 1
    if loss == "cross_entropy":
        targets = draw(st.lists(st.integers(0, n - 1), min_size=examples, max_size=examples))
    elif loss == "binary_cross_entropy":
        targets = draw(st.lists(st.sampled_from([0, 1]), min_size=examples, max_size=examples))
    else:
        targets = draw(st.lists(st.lists(numbers, min_size=n, max_size=n), min_size=examples, max_size=examples))
    inputs = draw(st.lists(st.lists(numbers, min_size=widths[0], max_size=widths[0]), min_size=examples,
                           max_size=examples))
    gradients = draw(st.sampled_from(["all", ["x"], ["W1", "x"]]))
    if gradients == ["W1", "x"] and "weights" not in layers[0]:
        gradients = ["x"]
    ask = {"forward": True, "loss": True, "gradients": gradients, "deltas": draw(st.booleans())}
    if draw(st.booleans()):
        ask.update(draw(optimizers()))
    data = {
        "kind": "network", "title": "random", "biases": draw(st.sampled_from(["use", "use", "ignore"])),
        "kink": draw(st.sampled_from(["left", "right"])),
        "network": {**({"inputs": inputs} if batched else {"input": inputs[0]}), "layout": layout, "layers": layers},
        "loss": {"type": loss, **({"targets": targets, "batch_reduction": draw(st.sampled_from(["mean", "sum"]))}
                                  if batched else {"target": targets[0]}),
                 **({"half": draw(st.booleans()), "reduction": draw(st.sampled_from(["sum", "mean"]))}
                    if loss == "squared_error" else {})},
        "ask": ask,
    }
    return network.Spec.model_validate(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_derived_value_equals_torch(spec):
    network.check(spec)
    solution = network.KIND.solve(spec)
    assume(well_conditioned(solution))
    assert mismatches(solution.values, network.reference(spec)) == []
    for answer in solution.answers:
        assert np.all(np.isfinite(answer.value)), answer.name


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(batched=True))
def test_every_derived_value_of_a_batch_equals_torch(spec):
    """Batches: forward, loss, gradients (parameters and inputs), ∂L/∂Z and SGD against torch on the batch."""
    network.check(spec)
    solution = network.KIND.solve(spec)
    assume(well_conditioned(solution))
    reference = network.reference(spec)
    assert mismatches(solution.values, reference) == []
    compared = set(solution.values) & set(reference)
    assert "L" in compared and ("dL_dx" in compared) == ("x" in spec.ask.gradients)
    assert solution.values["x"].shape[spec.network.layout == "rows"] == len(spec.network.inputs)


@settings(max_examples=40, deadline=None)
@given(problems(), st.integers(0, 2 ** 32 - 1))
def test_new_numbers_reuse_the_derivation(spec, seed):
    """Same structure, other numbers: the cached derivation is reused and still matches torch."""
    rng = np.random.default_rng(seed)
    data = spec.model_dump()
    for layer in data["network"]["layers"]:
        if layer["weights"] is not None:
            layer["weights"] = np.round(rng.normal(size=np.shape(layer["weights"])), 3).tolist()
    assert_derivation_reused(spec, network.Spec.model_validate(data))


def assert_derivation_reused(spec, other) -> None:
    """`other`, the same problem with other numbers, reuses `spec`'s derivation and matches torch."""
    network.KIND.solve(spec)
    before = _compiled.cache_info()
    solution = network.KIND.solve(other)
    after = _compiled.cache_info()
    assert network.structure(other) == network.structure(spec)
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    assume(well_conditioned(solution))  # the new numbers, too: no Adam step near eps
    assert mismatches(solution.values, network.reference(other)) == []
