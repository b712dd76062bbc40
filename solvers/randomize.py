"""Random numbers in problem files: distributions, seeds, and expressions over values.

Any numeric field of a problem file may be a distribution instead of a value:

    {integers: [-5, 5], shape: 5}                 integers in [-5, 5]
    {decimals: [-1, 1], step: 0.1, shape: [2, 5]} multiples of 0.1 in [-1, 1]
    {choice: [0.1, 0.5, 1.0]}                     one of the listed values

with an optional `shape` (an int for a list, [rows, cols] for a matrix) and, for integers
and decimals, an optional `exclude: [values]`. One integer seed per variant seeds every random
source once; each problem gets its own sub-seed, derived from the variant's seed and the
problem's name, so adding a problem to a sheet does not change the others' numbers.
"""
from __future__ import annotations

import ast
import hashlib
import math
import operator
from decimal import Decimal
from typing import Any, Callable, Mapping

import numpy as np

from .problem import FieldError, field_path

KEYS = ("integers", "decimals", "choice")
OPTIONS = {"integers": {"shape", "exclude"}, "decimals": {"shape", "step", "exclude"}, "choice": {"shape"}}
MOST_VALUES = 100_000  # values a distribution may range over
MOST_ENTRIES = 10_000  # entries a drawn shape may have


def is_distribution(node: Any) -> bool:
    return isinstance(node, dict) and len(set(node) & set(KEYS)) == 1


def randomized(data: Any) -> bool:
    """Whether a problem file has any distribution in it."""
    if is_distribution(data):
        return True
    if isinstance(data, dict):
        return any(randomized(v) for v in data.values())
    if isinstance(data, list):
        return any(randomized(v) for v in data)
    return False


def sample(data: Any, rng: np.random.Generator, location: tuple = ()) -> Any:
    """`data` with every distribution replaced by values drawn from `rng`, in document order."""
    if is_distribution(data):
        return _draw(data, rng, location)
    if isinstance(data, dict):
        return {k: sample(v, rng, location + (k,)) for k, v in data.items()}
    if isinstance(data, list):
        return [sample(v, rng, location + (i,)) for i, v in enumerate(data)]
    return data


def _draw(spec: dict, rng: np.random.Generator, location: tuple):
    (name,) = set(spec) & set(KEYS)
    where = field_path(location + (name,))
    unknown = set(spec) - {name} - OPTIONS[name]
    if unknown:
        raise FieldError(field_path(location + (sorted(unknown)[0],)),
                         f"is not an option of {name}; expected one of: {', '.join(sorted(OPTIONS[name]))}")
    shape = _shape(spec.get("shape"), location)
    count = math.prod(shape)
    if count > MOST_ENTRIES:
        raise FieldError(field_path(location + ("shape",)), f"{spec['shape']!r} has {count} entries; expected at "
                         f"most {MOST_ENTRIES}")
    values = {"integers": _integers, "decimals": _decimals, "choice": _choice}[name](spec, where)
    exclude = spec.get("exclude", [])
    if not isinstance(exclude, list) or not all(_is_number(e) for e in exclude):
        raise FieldError(field_path(location + ("exclude",)), f"must be a list of numbers, found {exclude!r}")
    values = [v for v in values if not any(math.isclose(v, e, abs_tol=1e-12) for e in exclude)]
    if not values:
        raise FieldError(where, "leaves no value to draw from")
    drawn = [values[i] for i in rng.integers(0, len(values), size=count)]
    if not shape:
        return drawn[0]
    if len(shape) == 1:
        return drawn
    return [drawn[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])]


def _shape(shape, location: tuple) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, int) and not isinstance(shape, bool) and shape >= 1:
        return (shape,)
    if (isinstance(shape, list) and len(shape) == 2 and all(isinstance(s, int) and not isinstance(s, bool)
                                                            and s >= 1 for s in shape)):
        return tuple(shape)
    raise FieldError(field_path(location + ("shape",)),
                     f"{shape!r} is not a shape; expected a length (5) or [rows, columns] ([2, 5])")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounds(spec: dict, name: str, where: str) -> tuple[float, float]:
    bounds = spec[name]
    if not isinstance(bounds, list) or len(bounds) != 2 or not all(_is_number(b) for b in bounds) \
            or bounds[0] > bounds[1]:
        raise FieldError(where, f"{bounds!r} is not a range; expected [low, high] with low ≤ high")
    return bounds[0], bounds[1]


def _integers(spec: dict, where: str) -> list[float]:
    low, high = _bounds(spec, "integers", where)
    if low != int(low) or high != int(high):
        raise FieldError(where, f"{spec['integers']!r} has non-integer bounds; use decimals for those")
    if high - low >= MOST_VALUES:
        raise FieldError(where, f"{spec['integers']!r} has more than {MOST_VALUES} values; expected a narrower range")
    return list(range(int(low), int(high) + 1))


def _decimals(spec: dict, where: str) -> list[float]:
    low, high = _bounds(spec, "decimals", where)
    step = spec.get("step", 0.1)
    if not _is_number(step) or step <= 0:
        raise FieldError(where.replace("decimals", "step"), f"{step!r} is not a step; expected a positive number")
    places = max(0, -Decimal(str(step)).normalize().as_tuple().exponent)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    if last - first >= MOST_VALUES:
        raise FieldError(where, f"has more than {MOST_VALUES} values; use a larger step")
    return [round(k * step, places) + 0.0 for k in range(first, last + 1)]


def _choice(spec: dict, where: str) -> list:
    values = spec["choice"]
    if not isinstance(values, list) or not values:
        raise FieldError(where, f"{values!r} is not a list of values to choose from")
    return values


def sub_seed(seed: int, name: str) -> int:
    """The seed of one problem in a variant: stable across runs, machines and sheet edits."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def seed_for_student(student: str, salt: str) -> int:
    """A variant seed from a student id and a course salt (stable under roster reordering)."""
    digest = hashlib.sha256(f"{salt}/{student}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


# -- expressions over a problem's values -----------------------------------------------------

FUNCTIONS: dict[str, Callable] = {"abs": np.abs, "min": np.min, "max": np.max, "sum": np.sum, "all": np.all,
                                  "any": np.any, "round": np.round, "exp": np.exp, "log": np.log}
def _power(base, exponent):
    """In float64: 9 ** 9 ** 9 overflows at once instead of computing a huge integer."""
    return np.power(np.asarray(base, dtype=float), np.asarray(exponent, dtype=float))


def _divide(a, b):
    return np.true_divide(np.asarray(a, dtype=float), b)  # x / 0 is inf, not an exception


def _modulo(a, b):
    return np.mod(np.asarray(a, dtype=float), b)


BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide,
          ast.Pow: _power, ast.Mod: _modulo}
COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}


class Condition:
    """A condition a variant must meet, e.g. `abs(z1) > 0.5` or `L < 2 and a2[0] > 0.1`.

    Names are the problem's quantities (x, W1, z1, a2, L, ...); entries are indexed from 0
    (`W1[0][1]`); a comparison of arrays holds when it holds for every entry. Only arithmetic,
    comparisons, and/or/not and the functions in FUNCTIONS are allowed: nothing is exec'd."""

    def __init__(self, text: str, field: str):
        self.text, self.field = text, field
        try:
            self.tree = ast.parse(text, mode="eval").body
        except SyntaxError as error:
            raise FieldError(field, f"{text!r} is not an expression ({error.msg})") from None
        self.names = self._check(self.tree)

    def _check(self, node) -> set[str]:
        allowed = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Compare,
                   ast.Call, ast.Name, ast.Load, ast.Constant, ast.Subscript, *BINARY, *COMPARE)
        names = set()
        for child in ast.walk(node):
            if not isinstance(child, allowed):
                raise FieldError(self.field, f"{self.text!r}: {type(child).__name__} is not allowed in a condition")
            if isinstance(child, ast.Call) and not (isinstance(child.func, ast.Name) and child.func.id in FUNCTIONS):
                raise FieldError(self.field, f"{self.text!r}: only these functions may be called: "
                                 f"{', '.join(sorted(FUNCTIONS))}")
            if isinstance(child, ast.Constant) and not isinstance(child.value, (int, float)):
                raise FieldError(self.field, f"{self.text!r}: only numbers may appear as constants")
            if isinstance(child, ast.Name) and child.id not in FUNCTIONS:
                names.add(child.id)
        return names

    def check_names(self, known: set[str]) -> None:
        unknown = sorted(self.names - known)
        if unknown:
            raise FieldError(self.field, f"{self.text!r}: unknown name {unknown[0]!r}; expected one of: "
                             f"{', '.join(sorted(known))}")

    def holds(self, values: Mapping[str, np.ndarray]) -> bool:
        """Whether the condition holds (FieldError if it cannot be evaluated, e.g. an index
        beyond a quantity's entries)."""
        try:
            with np.errstate(all="ignore"):
                return bool(np.all(self._eval(self.tree, values)))
        except (IndexError, TypeError, ValueError) as error:
            raise FieldError(self.field, f"{self.text!r} cannot be evaluated ({error})") from None

    def _eval(self, node, values):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            value = np.asarray(values[node.id])
            return value.reshape(-1) if value.ndim == 2 and value.shape[1] == 1 else value
        if isinstance(node, ast.Subscript):
            return self._eval(node.value, values)[int(self._eval(node.slice, values))]
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, values)
            return {ast.Not: lambda v: not np.all(v), ast.USub: operator.neg, ast.UAdd: operator.pos}[
                type(node.op)](operand)
        if isinstance(node, ast.BinOp):
            return BINARY[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
        if isinstance(node, ast.BoolOp):
            results = (bool(np.all(self._eval(v, values))) for v in node.values)
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare):
            left, result = self._eval(node.left, values), True
            for op, comparator in zip(node.ops, node.comparators):
                right = self._eval(comparator, values)
                result = result and bool(np.all(COMPARE[type(op)](left, right)))
                left = right
            return result
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))
        raise AssertionError(node)
