"""Parameter counts and output shapes of a network given layer by layer.

Per layer: the output shape (convolution and pooling ⌊(n + 2p − k)/s⌋ + 1 per spatial
dimension, flatten C·H·W, dense its units) and the weights and biases it learns: convolution
k_h·k_w·C_in·C_out and C_out, dense N_in·N_out and N_out, BatchNorm γ and β (C each; the
running statistics are buffers). Pooling, dropout, flatten and activations learn nothing.
SymPy evaluates every count and factors each layer's total; the reference builds the torch
modules, counts their parameters with numel and pushes a zero tensor through them.

Quantity keys: the input C0, H0, W0 (an image) or N0 (a vector); per layer l the output
C{l}, H{l}, W{l} or N{l} (a dense layer's N{l} is its given number of units); convolution
f{l} (filters); convolution and pooling k{l}h, k{l}w, s{l}h, s{l}w, p{l}h, p{l}w; P{l} (the
layer's parameters) and, for conv, dense and batch_norm, Pw{l}, Pb{l} (weights, biases);
the totals Pw, Pb and P.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import sympy
from pydantic import Field, StrictBool, StrictInt

from ... import formula as F
from ...core import FieldError, Model, Number, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ... import mistakes as M
from ...kind import Kind, Parts
from ...nn import DIMENSIONS, output_size, pair, window_stride
from ...solution import Answer, Item

if TYPE_CHECKING:  # torch is imported where a reference runs: a cached build never loads it
    import torch

Positive = Annotated[StrictInt, Field(ge=1, le=10 ** 9)]
NonNegative = Annotated[StrictInt, Field(ge=0, le=10 ** 9)]
WINDOW = ("conv", "max_pool", "avg_pool")
LEARNED = ("conv", "dense", "batch_norm")
ALLOWED = {"conv": {"filters", "kernel", "stride", "padding", "bias"}, "max_pool": {"kernel", "stride", "padding"},
           "avg_pool": {"kernel", "stride", "padding"}, "dense": {"units", "bias"}, "dropout": {"p"}}
REQUIRED = {"conv": ("filters", "kernel"), "max_pool": ("kernel",), "avg_pool": ("kernel",), "dense": ("units",)}
WEIGHTS, BIASES = r"P_{\mathrm{weights}}", r"P_{\mathrm{biases}}"  # not P_w: w is the width in k_w, s_w
LIMIT = 10 ** 15  # the printer shows whole numbers exactly below 10^15 (float64 is exact there)


class Input(Model):
    channels: Positive | None = None
    height: Positive | None = None
    width: Positive | None = None
    features: Positive | None = None


class Layer(Model):
    type: Literal["conv", "max_pool", "avg_pool", "batch_norm", "dropout", "flatten", "dense", "relu", "sigmoid",
                  "tanh"]
    filters: Positive | None = None
    kernel: list[Positive] | Positive | None = None
    stride: list[Positive] | Positive | None = None
    padding: list[NonNegative] | NonNegative | None = None
    units: Positive | None = None
    bias: StrictBool | None = None
    p: Annotated[Number, Field(ge=0, lt=1)] | None = None


class Ask(Model):
    shapes: bool = True


class Spec(SpecBase):
    kind: Literal["param_count"]
    input: Input
    layers: list[Layer] = Field(min_length=1, max_length=30)
    ask: Ask = Ask()


def window(layer: Layer) -> dict[str, tuple[int, int]]:
    """Kernel, stride (1 for a convolution, the kernel for pooling, as in torch), padding."""
    stride = window_stride(layer.type, layer.kernel, layer.stride)
    return {"k": pair(layer.kernel), "s": pair(stride), "p": pair(layer.padding or 0)}


def has_bias(layer: Layer) -> bool:
    return layer.bias is not False


def is_image(spec: Spec) -> bool:
    return spec.input.features is None


# -- checks ---------------------------------------------------------------------------------------

def check(spec: Spec) -> None:
    given = {name for name in ("channels", "height", "width") if getattr(spec.input, name) is not None}
    if spec.input.features is not None and given:
        raise FieldError("input", "has both features and channels/height/width; expected a vector "
                         "{features: n} or an image {channels, height, width}")
    if spec.input.features is None and len(given) < 3:
        missing = sorted({"channels", "height", "width"} - given)[0]
        raise FieldError(f"input.{missing}", "is missing; expected an image {channels, height, width} "
                         "or a vector {features: n}")
    shape = (spec.input.channels, spec.input.height, spec.input.width) if is_image(spec) else (spec.input.features,)
    total = 0
    for i, layer in enumerate(spec.layers):
        _check_fields(f"layers[{i}]", layer)
        shape, counts = _walk(f"layers[{i}]", layer, shape)
        total += sum(counts)
        for what, count in zip(("weights", "biases", "output entries"), (*counts, int(np.prod(shape)))):
            if count >= LIMIT:
                raise FieldError(f"layers[{i}]", f"has {count} {what}; expected fewer than {LIMIT} (larger "
                                 "numbers would be printed rounded)")
    if total >= LIMIT:
        raise FieldError("layers", f"have {total} parameters in all; expected fewer than {LIMIT} (larger numbers "
                         "would be printed rounded)")


def _check_fields(where: str, layer: Layer) -> None:
    allowed = ALLOWED.get(layer.type, set())
    for name in sorted(layer.model_fields_set - {"type"} - allowed):
        takes = f"takes only {', '.join(sorted(allowed))}" if allowed else "takes no other fields"
        raise FieldError(f"{where}.{name}", f"is not a field of a {layer.type} layer, which {takes}")
    for name in REQUIRED.get(layer.type, ()):
        if getattr(layer, name) is None:
            raise FieldError(f"{where}.{name}", f"is missing; a {layer.type} layer needs it")
    for name in ("kernel", "stride", "padding"):
        value = getattr(layer, name)
        if isinstance(value, list) and len(value) != 2:
            raise FieldError(f"{where}.{name}", f"{value} has {len(value)} entries; expected one number "
                             "or [height, width]")


def _walk(where: str, layer: Layer, shape: tuple) -> tuple[tuple, tuple[int, int]]:
    """The output shape of `layer` on an input of `shape`, and its (weights, biases)."""
    image = len(shape) == 3
    if layer.type in WINDOW + ("flatten",) and not image:
        raise FieldError(f"{where}.type", f"a {layer.type} layer needs an image (channels × height × width), "
                         f"found a flat vector of {shape[0]}")
    if layer.type == "dense" and image:
        raise FieldError(f"{where}.type", f"a dense layer needs a flat vector, found an image of "
                         f"{shape[0]}×{shape[1]}×{shape[2]}; add {{type: flatten}} before it")
    if layer.type == "dense":
        return (layer.units,), (shape[0] * layer.units, layer.units * has_bias(layer))
    if layer.type == "flatten":
        return (shape[0] * shape[1] * shape[2],), (0, 0)
    if layer.type == "batch_norm":
        return shape, (shape[0], shape[0])
    if layer.type not in WINDOW:
        return shape, (0, 0)
    w = window(layer)
    if layer.type != "conv" and any(p > k / 2 for p, k in zip(w["p"], w["k"])):
        raise FieldError(f"{where}.padding", f"padding {list(w['p'])} is more than half the kernel {list(w['k'])}; "
                         "pooling allows at most half")
    sizes = []
    for i, (_, _, word) in enumerate(DIMENSIONS):
        padded = shape[1 + i] + 2 * w["p"][i]
        if w["k"][i] > padded:
            raise FieldError(f"{where}.kernel", f"the kernel spans {w['k'][i]} along the {word} but the padded input "
                             f"is only {padded} ({shape[1 + i]} + 2·{w['p'][i]}); expected a kernel that fits")
        sizes.append(output_size(shape[1 + i], w["k"][i], w["s"][i], w["p"][i]))
    if layer.type != "conv":
        return (shape[0], *sizes), (0, 0)
    return (layer.filters, *sizes), (w["k"][0] * w["k"][1] * shape[0] * layer.filters, layer.filters * has_bias(layer))


# -- derivation -----------------------------------------------------------------------------------


def _e(q: Quantity) -> sympy.Symbol:
    return q.elements[0]


def _m(expr) -> sympy.Matrix:
    return sympy.Matrix([[expr]])


@dataclass(frozen=True)
class LayerKind:
    """A layer's type and whether it has a bias."""
    type: str
    bias: bool


@dataclass(frozen=True)
class Structure:
    """Whether the input is an image (else a vector), and each layer's kind."""
    image: bool
    layers: tuple[LayerKind, ...]


def structure(spec: Spec) -> Structure:
    return Structure(is_image(spec), tuple(LayerKind(layer.type, has_bias(layer)) for layer in spec.layers))


def derive(s: Structure) -> Derivation:
    shape = {d: Quantity.named(f"{d}0", 1, 1, d, 0) for d in ("CHW" if s.image else "N")}
    givens, sections, rows, learned = list(shape.values()), [], [], []
    for l, layer in enumerate(s.layers, 1):
        steps: list[Step] = []
        new = _shape_steps(l, layer.type, shape, givens, steps)
        counts = _count_steps(l, layer.type, layer.bias, shape, new, givens, steps)
        if layer.type in LEARNED:
            learned.append(counts)
        sections.append(Section("layer", steps, {"layer": l, "type": layer.type, "bias": layer.bias}))
        rows.append({"layer": l, "type": layer.type, "shape": tuple(q.symbol for q in new.values()),
                     "weights": counts[0].symbol if counts[0] else None,
                     "biases": counts[1].symbol if counts[1] else None, "total": counts[2].symbol})
        shape = new
    sections.append(_totals(learned, rows, all(layer.type != "batch_norm" for layer in s.layers)
                            and any(layer.bias for layer in s.layers if layer.type in ("conv", "dense"))))
    return Derivation(givens, sections)


def _shape_steps(l: int, type_: str, shape: dict, givens: list, steps: list) -> dict[str, Quantity]:
    """The steps that give layer l's output shape; returns its quantities."""
    if type_ == "dense":
        units = Quantity.named(f"N{l}", 1, 1, "N", l)
        givens.append(units)
        return {"N": units}
    if type_ == "flatten":
        out = Quantity.named(f"N{l}", 1, 1, "N", l)
        sources = [shape[d] for d in "CHW"]
        steps.append(Step("flatten", out, F.Mul(*(q.symbol for q in sources)),
                          _m(sympy.Mul(*(_e(q) for q in sources)))))
        return {"N": out}
    new = {d: Quantity.named(f"{d}{l}", 1, 1, d, l) for d in shape}
    if type_ in WINDOW:
        params = {f"{n}{dim}": Quantity.named(f"{n}{l}{dim}", 1, 1, f"{n}_{dim}", l)
                  for n in "ksp" for dim, _, _ in DIMENSIONS}
        givens += params.values()
        for dim, size, word in DIMENSIONS:
            k, s, p = (params[f"{n}{dim}"] for n in "ksp")
            numerator = F.Add(shape[size].symbol, F.Mul(F.Num(2), p.symbol), F.Neg(k.symbol))
            formula = F.Add(F.Floor(F.Frac(numerator, s.symbol)), F.Num(1))
            compute = sympy.floor((_e(shape[size]) + 2 * _e(p) - _e(k)) / _e(s)) + 1
            steps.append(Step("output_size", new[size], formula, _m(compute), {"dimension": word, "type": type_}))
    if type_ == "conv":
        filters = Quantity.named(f"f{l}", 1, 1, "f", l)
        givens.append(filters)
        steps.insert(0, Step("channels", new["C"], filters.symbol, _m(_e(filters))))
    kept = [d for d in shape if not (type_ in WINDOW and d in "HW") and not (type_ == "conv" and d == "C")]
    for i, d in enumerate(kept):
        steps.insert(i, Step("same_size", new[d], shape[d].symbol, _m(_e(shape[d])),
                             {"type": type_, "lead": i == 0, "to": tuple(new[k].symbol for k in kept),
                              "source": tuple(shape[k].symbol for k in kept)}))
    return new


def _count_steps(l: int, type_: str, bias: bool, shape: dict, new: dict, givens: list, steps: list) -> tuple:
    """The steps that count layer l's weights, biases and parameters; returns their quantities."""
    total = Quantity.named(f"P{l}", 1, 1, "P", l)
    if type_ not in LEARNED:
        steps.append(Step("no_parameters", total, F.Num(0), _m(sympy.Integer(0)), {"type": type_}))
        return None, None, total
    weights, biases = Quantity.named(f"Pw{l}", 1, 1, WEIGHTS, l), Quantity.named(f"Pb{l}", 1, 1, BIASES, l)
    channels = shape["C" if "C" in shape else "N"]
    facts = {"type": type_, "bias": bias, "per": "channel" if "C" in shape else "entry", "units": new.get("N"),
             "inputs": channels.key}  # the input channels (or units) quantity, for mistakes that drop it
    if type_ == "conv":
        k_h, k_w = (Quantity.named(f"k{l}{dim}", 1, 1, f"k_{dim}", l) for dim, _, _ in DIMENSIONS)
        filters = Quantity.named(f"f{l}", 1, 1, "f", l)
        factors, per_unit = (k_h, k_w, channels, filters), filters
    elif type_ == "dense":
        factors, per_unit = (channels, new["N"]), new["N"]
    else:
        factors, per_unit = (channels,), channels
    steps.append(Step("weights", weights, F.Mul(*(q.symbol for q in factors)) if len(factors) > 1
                      else factors[0].symbol, _m(sympy.Mul(*(_e(q) for q in factors))), facts))
    b = _e(per_unit) if bias or type_ == "batch_norm" else sympy.Integer(0)
    steps.append(Step("biases", biases, per_unit.symbol if b != 0 else F.Num(0), _m(b), facts))
    symbols = {_e(q): q.symbol for q in (*factors, per_unit)}
    factored = sympy.factor(sympy.Mul(*(_e(q) for q in factors)) + b)
    steps.append(Step("layer_total", total, F.Add(weights.symbol, biases.symbol), _m(_e(weights) + _e(biases)),
                      {**facts, "factored": F.Sym(factored, tuple(
                          (s, node) for s, node in symbols.items() if s in factored.free_symbols))}))
    return weights, biases, total


def _totals(learned: list, rows: list, without_biases: bool) -> Section:
    steps = []
    quantities = {"w": Quantity.named("Pw", 1, 1, WEIGHTS), "b": Quantity.named("Pb", 1, 1, BIASES)}
    for index, (name, q) in enumerate(quantities.items()):
        parts = [counts[index] for counts in learned]
        formula = F.Add(*(p.symbol for p in parts)) if len(parts) > 1 else (parts[0].symbol if parts else F.Num(0))
        steps.append(Step(f"total_{name}", q, formula, _m(sum((_e(p) for p in parts), sympy.Integer(0))),
                          {"terms": tuple(p.symbol for p in parts)}))
    total = Quantity.named("P", 1, 1, "P")
    steps.append(Step("total", total, F.Add(quantities["w"].symbol, quantities["b"].symbol),
                      _m(_e(quantities["w"]) + _e(quantities["b"])),
                      {"without_biases": without_biases, "weights": quantities["w"].symbol}))
    return Section("totals", steps, {"rows": rows})


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    i = spec.input
    values = {"C0": i.channels, "H0": i.height, "W0": i.width} if is_image(spec) else {"N0": i.features}
    for l, layer in enumerate(spec.layers, 1):
        if layer.type in WINDOW:
            for name, (h, w) in window(layer).items():
                values[f"{name}{l}h"], values[f"{name}{l}w"] = h, w
        if layer.type == "conv":
            values[f"f{l}"] = layer.filters
        if layer.type == "dense":
            values[f"N{l}"] = layer.units
    return {key: np.array([[float(v)]]) for key, v in values.items()}


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    rows = derivation.sections[-1].facts["rows"]
    givens = [Item("input", {"shape": tuple(q.symbol for q in derivation.givens[:3 if is_image(spec) else 1])})]
    givens += [Item("layer", {"layer": l, "type": layer.type, "filters": layer.filters, "units": layer.units,
                              "bias": has_bias(layer), "p": 0.5 if layer.p is None else layer.p,
                              "stride_default": layer.stride is None,
                              **(window(layer) if layer.type in WINDOW else {})})
               for l, layer in enumerate(spec.layers, 1)]
    types = {layer.type for layer in spec.layers}
    conventions = [Item("notation", {"image": is_image(spec)}), Item("parameters")]
    conventions += [Item(name) for name, needed in (
        ("conv_weights", "conv" in types), ("window_size", types & set(WINDOW)),
        ("pool_stride", any(layer.type in WINDOW[1:] and layer.stride is None for layer in spec.layers)),
        ("dense_weights", "dense" in types), ("batch_norm", "batch_norm" in types), ("dropout", "dropout" in types),
    ) if needed]
    answers = []
    for row in rows:
        l = row["layer"]
        if spec.ask.shapes:
            shape = row["shape"]
            label = F.Grid(tuple((s,) for s in shape)) if len(shape) > 1 else shape[0]
            answers.append(Answer(f"layer{l}.shape", shape[0].key, label,
                                  np.array([[values[s.key][0, 0]] for s in shape]), integer=True))
        if row["weights"] is not None:
            answers += [Answer(f"layer{l}.{what}", row[field].key, row[field], values[row[field].key], integer=True)
                        for what, field in (("weights", "weights"), ("biases", "biases"), ("params", "total"))]
    answers += [Answer(n, key, F.Var(key, base), values[key], integer=True)
                for n, key, base in (("total.weights", "Pw", WEIGHTS), ("total.biases", "Pb", BIASES),
                                     ("total", "P", "P"))]
    questions = [Item("counts", {"layers": len(spec.layers), "shapes": spec.ask.shapes})]
    return Parts(givens, questions, conventions, answers)


# -- reference ------------------------------------------------------------------------------------

def _module(layer: Layer, x: torch.Tensor) -> torch.nn.Module:
    import torch
    nn, f64 = torch.nn, torch.float64
    image = x.dim() == 4
    stride = layer.stride if layer.stride is not None else (1 if layer.type == "conv" else layer.kernel)
    padding = layer.padding if layer.padding is not None else 0
    build = {
        "conv": lambda: nn.Conv2d(x.shape[1], layer.filters, layer.kernel, stride, padding,
                                  bias=layer.bias is not False, dtype=f64, device=META),
        "max_pool": lambda: nn.MaxPool2d(layer.kernel, stride, padding),
        "avg_pool": lambda: nn.AvgPool2d(layer.kernel, stride, padding),
        "batch_norm": lambda: (nn.BatchNorm2d if image else nn.BatchNorm1d)(x.shape[1], dtype=f64, device=META),
        "dropout": lambda: nn.Dropout(0.5 if layer.p is None else layer.p),
        "flatten": lambda: nn.Flatten(),
        "dense": lambda: nn.Linear(x.shape[1], layer.units, bias=layer.bias is not False, dtype=f64, device=META),
        "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    }
    return build[layer.type]().eval()


META = "meta"  # modules and tensors with shapes and no data: any size counts without memory


def _numel(module: torch.nn.Module, name: str | None = None) -> float:
    return float(sum(p.numel() for n, p in module.named_parameters() if name is None or n.endswith(name)))


def reference(spec: Spec) -> dict[str, np.ndarray]:
    """Counts from torch: each layer built as an nn module, its parameters' numel, and the
    shape of a zero batch pushed through the whole nn.Sequential."""
    import torch
    from torch.nn.modules.utils import _pair

    i = spec.input
    x = torch.zeros((2, i.channels, i.height, i.width) if is_image(spec) else (2, i.features), dtype=torch.float64,
                    device=META)
    out = {key: float(n) for key, n in zip(("C0", "H0", "W0") if x.dim() == 4 else ("N0",), x.shape[1:])}
    modules = []
    for l, layer in enumerate(spec.layers, 1):
        module = _module(layer, x)
        modules.append(module)
        with torch.no_grad():
            x = module(x)
        out.update({f"{d}{l}": float(n) for d, n in zip("CHW" if x.dim() == 4 else "N", x.shape[1:])})
        if isinstance(module, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            for name, value in (("k", module.kernel_size), ("s", module.stride), ("p", module.padding)):
                out[f"{name}{l}h"], out[f"{name}{l}w"] = map(float, _pair(value))
        if isinstance(module, torch.nn.Conv2d):
            out[f"f{l}"] = float(module.out_channels)
        out[f"P{l}"] = _numel(module)
        if layer.type in LEARNED:
            out[f"Pw{l}"], out[f"Pb{l}"] = _numel(module, "weight"), _numel(module, "bias")
    model = torch.nn.Sequential(*modules)
    out.update(P=_numel(model), Pw=_numel(model, "weight"), Pb=_numel(model, "bias"))
    return {key: np.array([[value]]) for key, value in out.items()}


KIND = Kind("param_count", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check,
            mistakes=(M.BIAS_DROPPED, M.INPUT_CHANNELS_FORGOTTEN, M.OUTPUT_SIZE_WITHOUT_FLOOR,
                      M.OUTPUT_SIZE_WITHOUT_PLUS_ONE))
