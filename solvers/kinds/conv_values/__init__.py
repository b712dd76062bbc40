"""Convolution values: entries of image ⊛ filter with zero padding and stride, and the whole output.

A named entry shows the window of the padded input under the filter, the element-wise
products and their sum (plus the bias); the output is one matrix. Cross-correlation (what
deep-learning libraries call convolution) by default; `operation: convolution` rotates the
filter by 180° first. A multi-channel image has one filter channel per image channel and the
sums run over the channels too. The reference is torch.nn.functional.conv2d (and pad,
flip, unfold for the intermediate matrices).

Quantity keys (suffix {c} = channel 1, 2, … for a multi-channel image, nothing otherwise):
X{c} (image), F{c} (filter), b (bias, if given), Xp{c} (padded image, if padding > 0),
Fr{c} (rotated filter, convolution only); per named entry L (a, b, …): P_L{c} (window),
H_L{c} (products), y_L (the entry); Y (the output, if asked).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import sympy
from pydantic import AfterValidator, BeforeValidator, Field, StrictInt

from ... import formula as F
from ... import mistakes, nn
from ...core import FieldError, Model, Number, SpecBase
from ...derivation import Derivation, Quantity, Section, Step
from ...kind import Kind, Parts
from ...nn import pair
from ...solution import Answer, Item
from .figures import EntryPicture

LETTERS = string.ascii_lowercase
PICTURES = 3  # named entries up to which each gets its picture (more: only the first)
MAX_COLUMNS = 10  # amsmath's bmatrix shows at most 10 columns

Row = Annotated[list[Number], Field(min_length=1)]
Plane = Annotated[list[Row], Field(min_length=1)]
Stack = Annotated[list[Plane], Field(min_length=1)]
NonNegative = Annotated[StrictInt, Field(ge=0, le=100)]
Positive = Annotated[StrictInt, Field(ge=1, le=100)]


def _not_mixed(value):
    if isinstance(value, list) and any(isinstance(v, list) for v in value) and not all(
            isinstance(v, list) for v in value):
        raise ValueError("mixes numbers and lists; expected a matrix (a list of rows) or a list of matrices")
    return value


Array = Annotated[Plane | Stack, BeforeValidator(_not_mixed)]


def _letter(value: str) -> str:
    if len(value) != 1 or value not in LETTERS:
        raise ValueError(f"{value!r} is not an entry name; expected a lowercase letter (a is the first entry)")
    return value


class Ask(Model):
    entries: Literal["all"] | list[Annotated[str, AfterValidator(_letter)]] = []
    output: bool = False


class Spec(SpecBase):
    kind: Literal["conv_values"]
    image: Array
    filter: Array
    padding: NonNegative | list[NonNegative] = 0
    stride: Positive | list[Positive] = 1
    bias: Number | None = None
    operation: Literal["cross_correlation", "convolution"] = "cross_correlation"
    ask: Ask


def planes(array) -> list[list[list[float]]]:
    return array if isinstance(array[0][0], list) else [array]


def multichannel(spec: Spec) -> bool:
    return isinstance(spec.image[0][0], list)


def output_size(spec: Spec) -> tuple[int, int]:
    (h, w), (kh, kw) = np.shape(planes(spec.image)[0]), np.shape(planes(spec.filter)[0])
    (ph, pw), (sh, sw) = pair(spec.padding), pair(spec.stride)
    return nn.output_size(h, kh, sh, ph), nn.output_size(w, kw, sw, pw)


def letters(spec: Spec) -> tuple[str, ...]:
    rows, cols = output_size(spec)
    return tuple(LETTERS[:rows * cols]) if spec.ask.entries == "all" else tuple(spec.ask.entries)


def _check_rectangular(field: str, array) -> tuple[int, int]:
    shape = None
    for c, plane in enumerate(planes(array)):
        where = f"{field}[{c}]" if isinstance(array[0][0], list) else field
        for i, row in enumerate(plane):
            if len(row) != len(plane[0]):
                raise FieldError(f"{where}[{i}]", f"has {len(row)} entries but row 0 has {len(plane[0])}; "
                                 "expected a rectangular matrix")
        if shape is not None and (len(plane), len(plane[0])) != shape:
            raise FieldError(where, f"is {len(plane)}×{len(plane[0])} but channel 0 is {shape[0]}×{shape[1]}; "
                             "expected every channel the same size")
        shape = (len(plane), len(plane[0]))
    return shape


def check(spec: Spec) -> None:
    for field in ("padding", "stride"):
        value = getattr(spec, field)
        if isinstance(value, list) and len(value) != 2:
            raise FieldError(field, f"{value} has {len(value)} entries; expected one number or [rows, columns]")
    (h, w), (kh, kw) = _check_rectangular("image", spec.image), _check_rectangular("filter", spec.filter)
    channels, depth = len(planes(spec.image)), len(planes(spec.filter))
    if multichannel(spec) != isinstance(spec.filter[0][0], list) or channels != depth:
        found = f"{depth} channel matrices" if isinstance(spec.filter[0][0], list) else "one matrix"
        expected = f"{channels} channel matrices" if multichannel(spec) else "one matrix"
        raise FieldError("filter", f"is {found} but the image is {expected}; expected one filter channel "
                         "per image channel, nested like the image")
    ph, pw = pair(spec.padding)
    if h + 2 * ph > MAX_COLUMNS or w + 2 * pw > MAX_COLUMNS:
        raise FieldError("image", f"the padded image is {h + 2 * ph}×{w + 2 * pw}; expected at most "
                         f"{MAX_COLUMNS}×{MAX_COLUMNS} (the size a worked solution can show as a matrix)")
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise FieldError("filter", f"is {kh}×{kw} but the padded image is only {h + 2 * ph}×{w + 2 * pw}; "
                         "expected a filter that fits")
    rows, cols = output_size(spec)
    asked = spec.ask.entries
    if asked and rows * cols > len(LETTERS):
        raise FieldError("ask.entries", f"the output is {rows}×{cols} = {rows * cols} entries, but only "
                         f"{len(LETTERS)} can be named a to z; expected output: true instead")
    last = LETTERS[rows * cols - 1] if rows * cols <= len(LETTERS) else "z"
    for i, letter in enumerate([] if asked == "all" else asked):
        if letter in asked[:i]:
            raise FieldError(f"ask.entries[{i}]", f"{letter!r} is asked twice; expected each entry once")
        if LETTERS.index(letter) >= rows * cols:
            raise FieldError(f"ask.entries[{i}]", f"{letter!r} names no entry: the output is {rows}×{cols}, "
                             f"its entries are a to {last}")
    if not asked and not spec.ask.output:
        raise FieldError("ask", "asks nothing; expected entries (letters, or all) or output: true")


# -- derivation ------------------------------------------------------------------------------------

def _q(key: str, shape: tuple[int, int], base: str, channel: int | None, role: str = "") -> Quantity:
    return Quantity(key, shape, F.Var(key, base, "matrix" if shape != (1, 1) else "scalar", channel), role)


@dataclass(frozen=True)
class Structure:
    """The sizes and settings of a convolution problem and the entries it asks for."""
    channels: int | None  # None for a single matrix
    image: tuple[int, int]  # (height, width) of one channel
    kernel: tuple[int, int]
    padding: tuple[int, int]
    stride: tuple[int, int]
    bias: bool
    operation: str
    named: tuple[str, ...]  # the letters of the entries asked
    output: bool


def structure(spec: Spec) -> Structure:
    channels = len(planes(spec.image)) if multichannel(spec) else None
    image, kernel = np.shape(planes(spec.image)[0]), np.shape(planes(spec.filter)[0])
    return Structure(channels, image, kernel, pair(spec.padding), pair(spec.stride), spec.bias is not None,
                     spec.operation, letters(spec), spec.ask.output)


def _pad_step(x: Quantity, padded: Quantity, padding: tuple[int, int], channel) -> Step:
    (h, w), (ph, pw), (rows, cols) = x.shape, padding, padded.shape

    def inside(i: int, j: int) -> bool:
        return 0 <= i - ph < h and 0 <= j - pw < w

    formula = F.Grid(tuple(tuple(x.entry(i - ph, j - pw) if inside(i, j) else F.Num(0) for j in range(cols))
                           for i in range(rows)))
    compute = sympy.Matrix(rows, cols, lambda i, j: x.elements[i - ph, j - pw] if inside(i, j) else 0)
    return Step("conv_pad", padded, formula, compute, {"image": x.symbol, "channel": channel})


def _flip_step(k: Quantity, flipped: Quantity, channel) -> Step:
    kh, kw = k.shape
    formula = F.Grid(tuple(tuple(k.entry(kh - 1 - i, kw - 1 - j) for j in range(kw)) for i in range(kh)))
    return Step("conv_flip", flipped, formula, sympy.Matrix(kh, kw, lambda i, j: k.elements[kh - 1 - i, kw - 1 - j]),
                {"filter": k.symbol, "channel": channel})


def derive(s: Structure) -> Derivation:
    channels, (h, w), (kh, kw), (ph, pw), (sh, sw) = s.channels, s.image, s.kernel, s.padding, s.stride
    suffixes = [str(c) for c in range(1, channels + 1)] if channels else [""]
    layers = list(range(1, channels + 1)) if channels else [None]
    X = [_q(f"X{suffix}", (h, w), "X", c) for suffix, c in zip(suffixes, layers)]
    K = [_q(f"F{suffix}", (kh, kw), "F", c, role="filter") for suffix, c in zip(suffixes, layers)]
    b = _q("b", (1, 1), "beta", None) if s.bias else None
    sections, source, used = [], X, K
    if ph or pw:
        source = [_q(f"Xp{suffix}", (h + 2 * ph, w + 2 * pw), "Xtilde", c) for suffix, c in zip(suffixes, layers)]
        sections.append(Section("conv_pad", [_pad_step(x, p, (ph, pw), c) for x, p, c in zip(X, source, layers)],
                                {"padding": (ph, pw), "size": (h + 2 * ph, w + 2 * pw)}))
    if s.operation == "convolution":
        used = [_q(f"Fr{suffix}", (kh, kw), "Fhat", c) for suffix, c in zip(suffixes, layers)]
        sections.append(Section("conv_flip", [_flip_step(k, r, c) for k, r, c in zip(K, used, layers)]))
    oh, ow = nn.output_size(h, kh, sh, ph), nn.output_size(w, kw, sw, pw)
    for k, letter in enumerate(s.named):
        position = divmod(LETTERS.index(letter), ow)
        sections.append(_entry_section(letter, position, (sh, sw), list(zip(source, used, suffixes, layers)), b))
        if k == 0 or len(s.named) <= PICTURES:
            sections[-1].facts["picture"] = EntryPicture(s, letter)
    if s.output:
        sections.append(_output_section((oh, ow), (sh, sw), list(zip(source, used, K)), b, s.operation))
    derivation = Derivation(X + K + ([b] if b else []), sections)
    return derivation


def _entry_section(letter: str, position, stride, channels: list, bias: Quantity | None) -> Section:
    (m, n), (sh, sw) = position, stride
    steps, pairs = [], []
    for s, k, suffix, channel in channels:
        (kh, kw), top, left = k.shape, sh * m, sw * n
        window = _q(f"P_{letter}{suffix}", k.shape, f"P_{letter}", channel)
        formula = F.Grid(tuple(tuple(s.entry(i, j) for j in range(left, left + kw)) for i in range(top, top + kh)))
        steps.append(Step("conv_window", window, formula, s.elements[top:top + kh, left:left + kw],
                          {"source": s.symbol, "channel": channel, "position": (m + 1, n + 1), "stride": stride,
                           "rows": (top + 1, top + kh), "cols": (left + 1, left + kw)}))
        products = _q(f"H_{letter}{suffix}", k.shape, f"H_{letter}", channel)
        steps.append(Step("conv_products", products, F.Hadamard(window.symbol, k.symbol),
                          window.elements.multiply_elementwise(k.elements),
                          {"channel": channel, "rotated": k.key.startswith("Fr")}))
        pairs.append((window, k))
    value = Quantity(f"y_{letter}", (1, 1), F.Var(f"y_{letter}", letter))
    kh, kw = pairs[0][1].shape
    rows = [F.Add(*[F.Mul(p.entry(i, j), k.entry(i, j)) for j in range(kw)]) for p, k in pairs for i in range(kh)]
    compute = sum(p.elements[i, j] * k.elements[i, j] for p, k in pairs for i in range(kh) for j in range(kw))
    if bias:
        compute += bias.elements[0]
    formula = F.Add(*[t for row in rows for t in row.terms], *([bias.symbol] if bias else []))
    facts = {"windows": [(p.symbol, k.symbol) for p, k in pairs], "bias": bias.symbol if bias else None,
             "rows": rows, "rows_per_channel": kh}
    steps.append(Step("conv_entry", value, formula, sympy.Matrix([[compute]]), facts))
    return Section("conv_entry", steps, {"letter": value.symbol, "name": letter, "row": m + 1, "col": n + 1})


def _output_section(size, stride, channels: list, bias: Quantity | None, operation: str) -> Section:
    (oh, ow), (sh, sw) = size, stride
    kh, kw = channels[0][1].shape
    Y = _q("Y", size, "Y", None)
    compute = sympy.Matrix(oh, ow, lambda m, n: sum(
        s.elements[sh * m + i, sw * n + j] * k.elements[i, j]
        for s, k, _ in channels for i in range(kh) for j in range(kw)) + (bias.elements[0] if bias else 0))
    named = oh * ow <= len(LETTERS)
    names = F.Grid(tuple(tuple(F.Var(f"name_{LETTERS[m * ow + n]}", LETTERS[m * ow + n]) if named else Y.entry(m, n)
                               for n in range(ow)) for m in range(oh)))
    facts = {"terms": [(s.symbol, k.symbol, x.symbol) for s, k, x in channels],
             "bias": bias.symbol if bias else None, "operation": operation, "named": named}
    return Section("conv_output", [Step("conv_output", Y, names, compute, facts)])


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    suffixes = [str(c) for c in range(1, len(planes(spec.image)) + 1)] if multichannel(spec) else [""]
    values = {}
    for suffix, x, k in zip(suffixes, planes(spec.image), planes(spec.filter)):
        values[f"X{suffix}"], values[f"F{suffix}"] = np.array(x, dtype=float), np.array(k, dtype=float)
    if spec.bias is not None:
        values["b"] = np.array([[float(spec.bias)]])
    return values


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    by_key = derivation.quantities
    rows, cols = output_size(spec)
    nameable = rows * cols <= len(LETTERS)
    names = F.Grid(tuple(tuple(F.Var(f"name_{LETTERS[m * cols + n]}", LETTERS[m * cols + n]) for n in range(cols))
                         for m in range(rows))) if nameable else None
    suffixes = [str(c) for c in range(1, len(planes(spec.image)) + 1)] if multichannel(spec) else [""]
    givens = [Item("conv_image", {"symbols": [by_key[f"X{s}"].symbol for s in suffixes]}),
              Item("conv_filter", {"symbols": [by_key[f"F{s}"].symbol for s in suffixes]}),
              Item("conv_settings", {"padding": pair(spec.padding), "stride": pair(spec.stride),
                                     "bias": by_key["b"].symbol if spec.bias is not None else None,
                                     "operation": spec.operation})]
    asked = letters(spec)
    questions = []
    if asked:
        questions.append(Item("conv_entries", {"letters": [by_key[f"y_{L}"].symbol for L in asked],
                                               "all": spec.ask.entries == "all", "names": names,
                                               "padded": pair(spec.padding) != (0, 0)}))
    if spec.ask.output:
        questions.append(Item("conv_output", {"size": (rows, cols)}))
    conventions = [Item("conv_operation", {"operation": spec.operation, "bias": spec.bias is not None,
                                           "channels": len(suffixes) if multichannel(spec) else None,
                                           "kernel": np.shape(planes(spec.filter)[0]), "padding": pair(spec.padding),
                                           "stride": pair(spec.stride)})]
    if asked:
        conventions += [Item("conv_sum", {}), Item("conv_naming", {"names": names})]
    answers = [Answer(f"entry.{L}", f"y_{L}", by_key[f"y_{L}"].symbol, values[f"y_{L}"]) for L in asked]
    if spec.ask.output:
        answers.append(Answer("output", "Y", by_key["Y"].symbol, values["Y"]))
    return Parts(givens, questions, conventions, answers)


# -- reference ---------------------------------------------------------------------------------------

def reference(spec: Spec) -> dict[str, np.ndarray]:
    """torch.nn.functional: pad, flip, unfold (the windows) and conv2d (the entries and the output)."""
    import torch
    functional = torch.nn.functional
    x = torch.tensor(planes(spec.image), dtype=torch.float64).unsqueeze(0)
    weight = torch.tensor(planes(spec.filter), dtype=torch.float64).unsqueeze(0)
    (ph, pw), (sh, sw) = pair(spec.padding), pair(spec.stride)
    kernel = torch.flip(weight, dims=(-2, -1)) if spec.operation == "convolution" else weight
    bias = torch.tensor([spec.bias], dtype=torch.float64) if spec.bias is not None else None
    y = functional.conv2d(x, kernel, bias, stride=(sh, sw), padding=(ph, pw))
    windows = functional.unfold(x, weight.shape[-2:], padding=(ph, pw), stride=(sh, sw))[0]
    padded = functional.pad(x, (pw, pw, ph, ph))
    channels = x.shape[1]
    suffixes = [str(c) for c in range(1, channels + 1)] if multichannel(spec) else [""]
    out = {}
    for c, suffix in enumerate(suffixes):
        out[f"X{suffix}"], out[f"F{suffix}"] = x[0, c].numpy(), weight[0, c].numpy()
        if ph or pw:
            out[f"Xp{suffix}"] = padded[0, c].numpy()
        if spec.operation == "convolution":
            out[f"Fr{suffix}"] = kernel[0, c].numpy()
    if spec.bias is not None:
        out["b"] = np.array([[float(spec.bias)]])
    for letter in letters(spec):
        index = string.ascii_lowercase.index(letter)
        patch = windows[:, index].reshape(channels, *weight.shape[-2:])
        for c, suffix in enumerate(suffixes):
            out[f"P_{letter}{suffix}"] = patch[c].numpy()
            out[f"H_{letter}{suffix}"] = (patch[c] * kernel[0, c]).numpy()
        out[f"y_{letter}"] = y.reshape(-1)[index].reshape(1, 1).numpy()
    if spec.ask.output:
        out["Y"] = y[0, 0].numpy()
    return out


KIND = Kind("conv_values", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check, mistakes=(mistakes.FILTER_FLIP_CONFUSED,))
