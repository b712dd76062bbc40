"""Convolution and pooling output sizes: the shape of a feature map after each layer.

Per spatial dimension, n_out = ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 (PyTorch's formula; d = 1
is an ordinary convolution), for non-square inputs, kernels, strides and paddings alike.
A convolution sets the channel count to its number of filters; pooling keeps it.
The reference pushes a tensor of the input's shape through the same torch layers.

Quantity keys: C0, H0, W0 (the input); per layer l: k{l}h, k{l}w, s{l}h, s{l}w, p{l}h,
p{l}w, d{l}h, d{l}w, f{l} (filters, convolutions only) and the output C{l}, H{l}, W{l}.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import sympy
from pydantic import Field, StrictInt

from ... import formula as F
from ...core import Constraint, FieldError, Model, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ... import mistakes as M
from ...kind import Kind, Parts
from ...nn import DIMENSIONS, kernel_span, output_size, pair, window_stride
from ...solution import Answer, Item

MOST = 10_000  # sizes, channels, kernels, strides, paddings: a feature map a sheet can discuss
Positive = Annotated[StrictInt, Field(ge=1, le=MOST)]
NonNegative = Annotated[StrictInt, Field(ge=0, le=MOST)]
PerDimension = list[Positive] | Positive
Padding = list[NonNegative] | NonNegative


class FeatureMap(Model):
    channels: Positive
    height: Positive
    width: Positive


class Layer(Model):
    type: Literal["conv", "max_pool", "avg_pool"]
    filters: Positive | None = None
    kernel: PerDimension
    stride: PerDimension | None = None
    padding: Padding = 0
    dilation: PerDimension = 1


class Ask(Model):
    shapes: bool = True


UNKNOWNS = {"kernel": "k", "stride": "s", "padding": "p"}
SIZE_NAMES = {"n": r"n_{\mathrm{in}}", "m": r"n_{\mathrm{out}}"}  # not n: problems name kernels n × n
TABULATED_AFTER = 3  # with more layers, those after the first of each type are rows of one table


class Unknown(Model):
    """Which value of a layer's kernel, stride or padding gives the required output size
    (`same`: the size of the layer's input), optionally with other hyperparameters changed,
    and optionally a claim about it to answer true or false."""
    layer: Positive
    unknown: Literal["kernel", "stride", "padding"]
    output: Literal["same"] | Annotated[list[Positive], Field(min_length=2, max_length=2)]
    changes: dict[Literal["kernel", "stride", "padding", "dilation"], Positive | Literal[0]] = {}
    claim: NonNegative | None = None


class Spec(SpecBase):
    kind: Literal["conv_shape"]
    input: FeatureMap
    layers: list[Layer] = Field(min_length=1, max_length=30)
    ask: Ask = Ask()
    solve_for: list[Unknown] = []
    shape_order: Literal["CHW", "HWC"] = "CHW"  # shapes as channels × height × width, or height × width × channels


def hyperparameters(layer: Layer) -> dict[str, tuple[int, int]]:
    """Kernel, stride (pooling defaults to the kernel, as in torch), padding, dilation."""
    stride = window_stride(layer.type, layer.kernel, layer.stride)
    return {"k": pair(layer.kernel), "s": pair(stride), "p": pair(layer.padding), "d": pair(layer.dilation)}


def check(spec: Spec) -> None:
    sizes_in = _check_layers(spec)
    if not spec.ask.shapes and not spec.solve_for:
        raise FieldError("ask", "asks for nothing; expected ask: {shapes: true} (the default), or a solve_for entry")
    for i, question in enumerate(spec.solve_for):
        _check_unknown(spec, question, sizes_in, f"solve_for[{i}]")
        if spec.ask.shapes:
            raise FieldError(f"solve_for[{i}]", f"asks for the {question.unknown} of layer {question.layer}, which "
                             "the shapes asked (ask.shapes) would give away; expected ask: {shapes: false}")


def input_sizes(spec: Spec) -> list[tuple[int, int]]:
    """The (height, width) entering each layer, by integer arithmetic."""
    return _check_layers(spec)


def _check_layers(spec: Spec) -> list[tuple[int, int]]:
    sizes_in: list[tuple[int, int]] = []
    size = (spec.input.height, spec.input.width)
    for l, layer in enumerate(spec.layers, 1):
        where = f"layers[{l - 1}]"
        for field in ("kernel", "stride", "padding", "dilation"):
            value = getattr(layer, field)
            if isinstance(value, list) and len(value) != 2:
                raise FieldError(f"{where}.{field}", f"{value} has {len(value)} entries; expected one number "
                                 "or [height, width]")
        if (layer.type == "conv") != (layer.filters is not None):
            raise FieldError(f"{where}.filters", "a convolution needs `filters` (its number of output channels)"
                             if layer.type == "conv" else "only a convolution has filters")
        h = hyperparameters(layer)
        if layer.type == "avg_pool" and h["d"] != (1, 1):
            raise FieldError(f"{where}.dilation", "average pooling has no dilation; expected 1")
        if layer.type != "conv" and any(p > k / 2 for p, k in zip(h["p"], h["k"])):
            raise FieldError(f"{where}.padding", f"padding {list(h['p'])} is more than half the kernel "
                             f"{list(h['k'])}; pooling allows at most half")
        sizes_in.append(size)
        new = []
        for i, (_, _, word) in enumerate(DIMENSIONS):
            span = kernel_span(h["k"][i], h["d"][i])
            padded = size[i] + 2 * h["p"][i]
            if span > padded:
                raise FieldError(f"{where}.kernel", f"the kernel spans {span} along the {word} but the padded "
                                 f"input is only {padded} ({size[i]} + 2·{h['p'][i]}); expected a kernel that fits")
            new.append(output_size(size[i], *(h[n][i] for n in "kspd")))
        size = tuple(new)
    return sizes_in


def question_hyperparameters(spec: Spec, question: Unknown) -> dict[str, tuple[int, int]]:
    """The layer's hyperparameters with the question's changes (the unknown's own left in)."""
    h = hyperparameters(spec.layers[question.layer - 1])
    for name, value in question.changes.items():
        h[{"kernel": "k", "stride": "s", "padding": "p", "dilation": "d"}[name]] = (value, value)
    return h


def required_output(question: Unknown, size_in: tuple[int, int]) -> tuple[int, int]:
    return size_in if question.output == "same" else tuple(question.output)


def candidates(question: Unknown, h: dict, size_in, out) -> list[int]:
    """Every value of the unknown (up to the padded size) that gives the required output."""
    key = UNKNOWNS[question.unknown]
    found = []
    for value in range(0 if key == "p" else 1, 2 * max(size_in) + 2):
        trial = {**h, key: (value, value)}
        if all(kernel_span(trial["k"][i], trial["d"][i]) <= size_in[i] + 2 * trial["p"][i]
               and output_size(size_in[i], *(trial[n][i] for n in "kspd")) == out[i] for i in range(2)):
            found.append(value)
    return found


def _check_unknown(spec: Spec, question: Unknown, sizes_in, where: str) -> None:
    if question.layer > len(spec.layers):
        raise FieldError(f"{where}.layer", f"there is no layer {question.layer}; the problem has "
                         f"{len(spec.layers)}")
    if question.unknown in question.changes:
        raise FieldError(f"{where}.changes", f"changes the unknown {question.unknown} itself")
    zero = sorted(name for name, value in question.changes.items() if value == 0 and name != "padding")
    if zero:
        raise FieldError(f"{where}.changes.{zero[0]}", "is 0; expected at least 1 (only the padding may be 0)")
    size_in = sizes_in[question.layer - 1]
    out = required_output(question, size_in)
    found = candidates(question, question_hyperparameters(spec, question), size_in, out)
    if len(found) != 1:
        what = "no" if not found else f"several ({', '.join(map(str, found))})"
        raise FieldError(f"{where}.output", f"{what} {question.unknown} value{'s give' if found else ' gives'} "
                         f"{out[0]}×{out[1]} from {size_in[0]}×{size_in[1]}; expected a question with one answer")


# -- derivation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
    """The layer types in order, whether their shapes are asked, and the unknown of each
    solve_for question."""
    layer_types: tuple[str, ...]
    unknowns: tuple[str, ...]
    shapes: bool = True


def structure(spec: Spec) -> Structure:
    return Structure(tuple(layer.type for layer in spec.layers), tuple(q.unknown for q in spec.solve_for),
                     spec.ask.shapes)


def derive(structure: Structure) -> Derivation:
    """Each layer's output sizes and channels, then each unknown solved for (`s` below is a
    layer's stride, hence the parameter's full name)."""
    givens = [Quantity.named(f"{d}0", 1, 1, d, 0) for d in "CHW"]
    sections, previous, table = [], {"C": givens[0], "H": givens[1], "W": givens[2]}, []
    types = structure.layer_types if structure.shapes else ()
    in_full = max(types.index(t) for t in set(types)) + 1 if len(types) > TABULATED_AFTER else len(types)
    for l, type_ in enumerate(types, 1):
        params = {f"{name}{dim}": Quantity.named(f"{name}{l}{dim}", 1, 1, f"{name}_{dim}", l)
                  for name in "kspd" for dim, _, _ in DIMENSIONS}
        givens += params.values()
        steps, current = [], {}
        for dim, size, word in DIMENSIONS:
            k, s, p, d = (params[f"{n}{dim}"] for n in "kspd")
            n_in = previous[size]
            out = Quantity.named(f"{size}{l}", 1, 1, size, l)
            numerator = F.Add(n_in.symbol, F.Mul(F.Num(2), p.symbol),
                              F.Neg(F.Mul(d.symbol, F.Paren(F.Sub(k.symbol, F.Num(1))))), F.Num(-1))
            formula = F.Add(F.Floor(F.Frac(numerator, s.symbol)), F.Num(1))
            e = {q.key: q.elements[0] for q in (n_in, k, s, p, d)}
            compute = sympy.floor((e[n_in.key] + 2 * e[p.key] - e[d.key] * (e[k.key] - 1) - 1) / e[s.key]) + 1
            steps.append(Step("output_size", out, formula, sympy.Matrix([[compute]]), {"dimension": word}))
            current[size] = out
        if type_ == "conv":
            filters = Quantity.named(f"f{l}", 1, 1, "f", l)
            givens.append(filters)
            channels, formula = filters.elements[0], filters.symbol
        else:
            channels, formula = previous["C"].elements[0], previous["C"].symbol
        current["C"] = Quantity.named(f"C{l}", 1, 1, "C", l)
        steps.append(Step("channels", current["C"], formula, sympy.Matrix([[channels]]), {"type": type_}))
        if l <= in_full:
            sections.append(Section("conv_layer", steps, {"layer": l, "type": type_}))
        else:  # the same formulas again: a row of the table of the remaining layers
            table += [replace(step, facts={**step.facts, "layer": l, "type": type_, "tabulated": True})
                      for step in steps]
        previous = current
    if table:
        sections.append(Section("layer_table", table, {"first": in_full + 1, "last": len(types)}))
    for i, unknown in enumerate(structure.unknowns):
        sections.append(_unknown_section(i, unknown, givens))
    return Derivation(givens, sections)


def _unknown_section(i: int, unknown: str, givens: list) -> Section:
    """Solve ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 = m for the unknown, taking the division as
    exact (the check made sure exactly one integer works, with the floor)."""
    symbols = {name: Quantity.named(f"q{i}{name}", 1, 1, SIZE_NAMES.get(name, name), None)
               for name in ("n", "k", "s", "p", "d", "m")}
    key = UNKNOWNS[unknown]
    givens += [q for name, q in symbols.items() if name != key]
    e = {name: q.elements[0] for name, q in symbols.items()}
    solution = sympy.solve(sympy.Eq((e["n"] + 2 * e["p"] - e["d"] * (e["k"] - 1) - 1) / e["s"] + 1, e["m"]), e[key])
    (value,) = solution
    target = Quantity.named(f"q{i}{key}", 1, 1, key, None)
    names = tuple((e[name], q.symbol) for name, q in symbols.items())
    equation = F.Relation(F.Add(F.Frac(F.Add(symbols["n"].symbol, F.Mul(F.Num(2), symbols["p"].symbol),
                                             F.Neg(F.Mul(symbols["d"].symbol, F.Paren(F.Sub(symbols["k"].symbol,
                                                                                            F.Num(1))))), F.Num(-1)),
                                       symbols["s"].symbol), F.Num(1)), "==", symbols["m"].symbol)
    step = Step("solve_unknown", target, F.Sym(value, names), sympy.Matrix([[value]]),
                {"unknown": unknown, "equation": equation, "symbols": {n: q.symbol for n, q in symbols.items()}})
    return Section("solve_unknown", [step], {"index": i + 1, "unknown": unknown})


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    values = {"C0": spec.input.channels, "H0": spec.input.height, "W0": spec.input.width}
    for l, layer in enumerate(spec.layers if spec.ask.shapes else (), 1):
        for name, (h, w) in hyperparameters(layer).items():
            values[f"{name}{l}h"], values[f"{name}{l}w"] = h, w
        if layer.type == "conv":
            values[f"f{l}"] = layer.filters
    sizes_in = input_sizes(spec)
    for i, question in enumerate(spec.solve_for):
        h = question_hyperparameters(spec, question)
        size_in = sizes_in[question.layer - 1]
        values.update({f"q{i}n": size_in[0], f"q{i}m": required_output(question, size_in)[0]})
        values.update({f"q{i}{name}": h[name][0] for name in "kspd" if name != UNKNOWNS[question.unknown]})
    return {key: np.array([[float(v)]]) for key, v in values.items()}


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    order = spec.shape_order
    shape = {l: tuple(F.Var(f"{d}{l}", d, "scalar", l) for d in order) for l in range(len(spec.layers) + 1)}
    givens = [Item("feature_map", {"shape": tuple(F.Var(f"{d}0", d, "scalar", 0) for d in "CHW")})]
    givens += [Item("conv_layer", {"layer": l, "type": layer.type, "filters": layer.filters,
                                   "unknown": {q.unknown for q in spec.solve_for if q.layer == l},
                                   **{n: list(v) for n, v in hyperparameters(layer).items()}})
               for l, layer in enumerate(spec.layers, 1)]
    words = {"C": "channels", "H": "height", "W": "width"}
    questions = ([Item("shapes", {"layers": len(spec.layers), "order": [words[d] for d in order]})]
                 if spec.ask.shapes else [])
    conventions = [Item("conv_size_formula")]
    if any(layer.type != "conv" for layer in spec.layers):
        conventions.append(Item("pool_stride"))
    answers = [Answer(f"layer{l}.shape", f"C{l}", F.Grid(tuple((v,) for v in shape[l])),
                      np.array([[values[f"{d}{l}"][0, 0]] for d in order]), integer=True)
               for l in range(1, len(spec.layers) + 1) if spec.ask.shapes]
    for i, question in enumerate(spec.solve_for):
        key = f"q{i}{UNKNOWNS[question.unknown]}"
        label = F.Var(key, UNKNOWNS[question.unknown])
        answers.append(Answer(f"solve.{i + 1}.{question.unknown}", key, label, values[key], integer=True))
        if question.claim is not None:
            answers.append(Answer(f"solve.{i + 1}.claim", key, F.Relation(label, "==", F.Num(question.claim)),
                                  np.array([[float(values[key][0, 0] == question.claim)]]), boolean=True))
        givens.append(Item("unknown", {"index": i + 1, "layer": question.layer, "unknown": question.unknown,
                                       "output": question.output, "changes": question.changes,
                                       "claim": question.claim}))
    if spec.solve_for:
        questions.append(Item("solve_unknowns", {"count": len(spec.solve_for)}))
    return Parts(givens, questions, conventions, answers)


# -- reference -----------------------------------------------------------------------------------

META = "meta"  # tensors with shapes and no data: torch computes the shapes of any size without memory


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Shapes from torch: a tensor of the input's shape through nn.Conv2d / MaxPool2d / AvgPool2d."""
    import torch
    out = {key: value for key, value in given_values(spec).items()}  # the givens, read from the file
    x = torch.zeros(1, spec.input.channels, spec.input.height, spec.input.width, dtype=torch.float64, device=META)
    for l, layer in enumerate(spec.layers, 1):
        h = hyperparameters(layer)
        if layer.type == "conv":
            module = torch.nn.Conv2d(x.shape[1], layer.filters, h["k"], h["s"], h["p"], h["d"], dtype=torch.float64,
                                     device=META)
        elif layer.type == "max_pool":
            module = torch.nn.MaxPool2d(h["k"], h["s"], h["p"], h["d"])
        else:
            module = torch.nn.AvgPool2d(h["k"], h["s"], h["p"])
        with torch.no_grad():
            x = module(x)
        for index, d in enumerate("CHW", 1):
            out[f"{d}{l}"] = np.array([[float(x.shape[index])]])
    for i, question in enumerate(spec.solve_for):
        out[f"q{i}{UNKNOWNS[question.unknown]}"] = np.array([[float(_search_with_torch(spec, question))]])
    return out


def _search_with_torch(spec: Spec, question: Unknown) -> int:
    """The unknown found by trying every value with a torch layer on a tensor of the layer's
    input shape (as many channels as the input; sizes from the shapes torch produces)."""
    import torch
    x = torch.zeros(1, 1, spec.input.height, spec.input.width, dtype=torch.float64, device=META)
    for layer in spec.layers[:question.layer - 1]:
        h = hyperparameters(layer)
        x = torch.nn.functional.max_pool2d(x, h["k"], h["s"], h["p"], h["d"]) if layer.type != "conv" else \
            torch.nn.functional.conv2d(x, torch.zeros(1, 1, *h["k"], dtype=torch.float64, device=META), None, h["s"], h["p"],
                                       h["d"])
    target = tuple(x.shape[2:]) if question.output == "same" else tuple(question.output)
    h, key = question_hyperparameters(spec, question), UNKNOWNS[question.unknown]
    found = []
    for value in range(0 if key == "p" else 1, 2 * max(x.shape[2:]) + 2):
        trial = {**h, key: (value, value)}
        try:
            y = torch.nn.functional.conv2d(x, torch.zeros(1, 1, *trial["k"], dtype=torch.float64, device=META), None,
                                           trial["s"], trial["p"], trial["d"])
        except RuntimeError:  # the kernel does not fit
            continue
        if tuple(y.shape[2:]) == target:
            found.append(value)
    return found[0] if len(found) == 1 else -1


# -- variants -------------------------------------------------------------------------------------

def _exact_division(problem, solution, setting) -> bool:
    """Every stride divides its numerator: no kernel position is dropped by the floor."""
    v = solution.values
    for l in range(1, len(problem.spec.layers) + 1):
        for dim, size, _ in DIMENSIONS:
            previous = v[f"{size}{l - 1}"] if l > 1 else v[f"{size}0"]
            k, s, p, d = (v[f"{n}{l}{dim}"][0, 0] for n in "kspd")
            if (previous[0, 0] + 2 * p - d * (k - 1) - 1) % s:
                return False
    return True


CONSTRAINTS = {"exact_division": Constraint(False, _exact_division, "every stride divides evenly (integer "
                                            "sizes without the floor)")}


KIND = Kind("conv_shape", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check, constraints=CONSTRAINTS,
            mistakes=(M.OUTPUT_SIZE_WITHOUT_FLOOR, M.OUTPUT_SIZE_WITHOUT_PLUS_ONE))
