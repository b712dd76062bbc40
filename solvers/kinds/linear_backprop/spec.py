"""The problem file of a matrix-form backpropagation problem: the module, its matrices, what is
asked, its structure (everything but the numbers) and the numbers it gives."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field

from ...core import FieldError, Model, Number, SpecBase

MAX_SIZE = 5


def _rows(value):
    if isinstance(value, list) and value and not all(isinstance(row, list) for row in value):
        raise ValueError("is not a list of rows; expected a matrix written as rows, e.g. [[1, 2], [3, 4]] "
                         "(a single row is [[1, 2]])")
    return value


Row = Annotated[list[Number], Field(min_length=1)]
Matrix = Annotated[Annotated[list[Row], Field(min_length=1)], BeforeValidator(_rows)]


class ActivationModule(Model):
    type: Literal["tanh", "relu", "softmax_nll"]
    dLdA: Matrix | None = None
    Y: Matrix | None = None


class Ask(Model):
    forward: bool = True
    backward: bool = True


class Spec(SpecBase):
    kind: Literal["linear_backprop"]
    A: Matrix
    W: Matrix
    W0: Annotated[list[Number], Field(min_length=1)]
    dLdZ: Matrix | None = None
    activation: ActivationModule | None = None
    ask: Ask = Ask()


def _shape(matrix: list[list[float]], where: str) -> tuple[int, int]:
    for i, row in enumerate(matrix):
        if len(row) != len(matrix[0]):
            raise FieldError(f"{where}[{i}]", f"has {len(row)} entries but {where}[0] has {len(matrix[0])}; "
                             "expected every row the same length")
    return len(matrix), len(matrix[0])


def _expect(matrix, where: str, shape: tuple[int, int], meaning: str) -> None:
    found = _shape(matrix, where)
    if found != shape:
        raise FieldError(where, f"is {found[0]}×{found[1]}; expected {shape[0]}×{shape[1]} ({meaning})")


def check(spec: Spec) -> None:
    m, b = _shape(spec.A, "A")
    rows, n = _shape(spec.W, "W")
    for name, size in (("m (rows of A)", m), ("b (columns of A)", b), ("n (columns of W)", n)):
        if size > MAX_SIZE:
            raise FieldError("A" if name[0] != "n" else "W", f"{name} is {size}; expected at most {MAX_SIZE}, "
                             "so that the matrices stay readable")
    if rows != m:
        raise FieldError("W", f"has {rows} rows but A has {m}; expected m = {m} rows (W is m×n: one row per "
                         "input, one column per output)")
    if len(spec.W0) != n:
        raise FieldError("W0", f"has {len(spec.W0)} entries but W has {n} columns; expected n = {n} (one offset "
                         "per output)")
    if not (spec.ask.forward or spec.ask.backward):
        raise FieldError("ask", "asks nothing; expected forward: true or backward: true")
    act, backward = spec.activation, spec.ask.backward
    if act is None:
        if backward and spec.dLdZ is None:
            raise FieldError("dLdZ", "is missing; the backward pass starts from ∂L/∂Z (n×b), or from an "
                             "activation module (activation: {type: tanh, dLdA: ...})")
    elif spec.dLdZ is not None:
        raise FieldError("dLdZ", "is given together with an activation module, whose backward pass computes "
                         "∂L/∂Z; expected activation.dLdA (tanh, relu) or activation.Y (softmax_nll) instead")
    if spec.dLdZ is not None:
        if not backward:
            raise FieldError("dLdZ", "is only used by the backward pass, but ask.backward is false")
        _expect(spec.dLdZ, "dLdZ", (n, b), "n×b, the shape of Z")
    if act is not None:
        _check_activation(act, n, b, backward)


def _check_activation(act: ActivationModule, n: int, b: int, backward: bool) -> None:
    wanted, unwanted = ("Y", "dLdA") if act.type == "softmax_nll" else ("dLdA", "Y")
    if getattr(act, unwanted) is not None:
        raise FieldError(f"activation.{unwanted}", f"is not used by {act.type}; expected activation.{wanted}")
    if act.type != "softmax_nll" and act.dLdA is not None and not backward:
        raise FieldError("activation.dLdA", "is only used by the backward pass, but ask.backward is false")
    if getattr(act, wanted) is None and (backward or wanted == "Y"):
        meaning = "the targets, one column per example" if wanted == "Y" else "the gradient at the module's output"
        raise FieldError(f"activation.{wanted}", f"is missing; {act.type} needs it ({meaning}, n×b)")
    if act.Y is not None:
        _expect(act.Y, "activation.Y", (n, b), "n×b, one column per example")
        Y = np.array(act.Y)
        for j, column in enumerate(Y.T):
            if np.any(column < 0) or abs(column.sum() - 1) > 1e-9:
                raise FieldError("activation.Y", f"column {j + 1} is {column.tolist()}; expected each example's "
                                 "target to be a probability distribution (entries ≥ 0 summing to 1, e.g. one-hot)")
    if act.dLdA is not None:
        _expect(act.dLdA, "activation.dLdA", (n, b), "n×b, the shape of the module's output")


@dataclass(frozen=True)
class Structure:
    """The sizes m, n, b, the activation module (None: a linear module alone) and what is asked."""
    inputs: int  # m, the rows of A and of W
    outputs: int  # n, the columns of W
    batch: int  # b, the examples (columns of A)
    activation: str | None
    forward: bool
    backward: bool


def structure(spec: Spec) -> Structure:
    act = spec.activation.type if spec.activation else None
    return Structure(len(spec.A), len(spec.W[0]), len(spec.A[0]), act, spec.ask.forward, spec.ask.backward)


def given_values(spec: Spec) -> dict[str, np.ndarray]:
    values = {"A": np.array(spec.A, dtype=float), "W": np.array(spec.W, dtype=float),
              "W0": np.array(spec.W0, dtype=float).reshape(-1, 1)}
    if spec.dLdZ is not None:
        values["dLdZ"] = np.array(spec.dLdZ, dtype=float)
    if spec.activation is not None and spec.activation.dLdA is not None:
        values["dLdAout"] = np.array(spec.activation.dLdA, dtype=float)
    if spec.activation is not None and spec.activation.Y is not None:
        values["Y"] = np.array(spec.activation.Y, dtype=float)
    return values
