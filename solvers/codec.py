"""Derivations (and the structures they are derived from) as JSON data and back, so that a
new process finds the derivation of a structure it has seen in `solvers.cache` instead of
deriving it again with SymPy.

Decoding rebuilds exactly the objects that were encoded, without evaluating anything: a SymPy
node is put together from its stored arguments (`Add._from_args(args)`,
`Pow(*args, evaluate=False)`, ...), so the tree is the one derived, node for node. Only what is listed here is encoded, and only that is
decoded: JSON values, tuples, frozensets, dicts, SymPy matrices, the dataclasses of this package, and the
SymPy classes below (SymPy's own and this package's functions). Anything else makes `encode`
raise `Unencodable` (that structure is simply derived each time) and `decode` raise
`ValueError` (the entry is ignored). Nothing here is a pickle: no name in an entry can reach
code other than these constructors.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from functools import lru_cache
from typing import Any, Callable, Hashable

import sympy
from sympy.core.operations import AssocOp, LatticeOp
from sympy.core.relational import Relational
from sympy.core.singleton import Singleton
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.tensor.indexed import Indexed, IndexedBase

from . import cache
from .derivation import Derivation

SHELF = "derivations"

UNEVALUATED = (AssocOp, sympy.Pow, Relational, sympy.Function, sympy.Piecewise)  # rebuilt without evaluation
AS_STORED = (ExprCondPair,)  # rebuilt from its arguments as they are (its constructor rewrites conditions)
CONSTRUCTED = (Indexed, IndexedBase)  # rebuilt by their constructor (they keep more than their arguments)
REBUILT = UNEVALUATED + AS_STORED + CONSTRUCTED


class Unencodable(TypeError):
    """An object this codec does not store."""


def remembered(kind: str, structure: Hashable, derive: Callable[[Hashable], Any], expected: type = Derivation) -> Any:
    """`derive(structure)`, or what an earlier process stored for this `kind` and `structure`
    (the key also covers this package's source and SymPy's version); a stored entry that
    decodes to no `expected` is derived again."""
    if cache.folder() is None:
        return derive(structure)
    try:
        entry = cache.key(SHELF, kind, json.dumps(encode(structure), separators=(",", ":")))
    except (Unencodable, RecursionError):
        return derive(structure)
    stored = cache.load(SHELF, entry)
    if stored is not None:
        try:
            found = decode(stored)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError, RecursionError):
            found = None  # a damaged or foreign entry: derived again
        if isinstance(found, expected):
            return found
    derivation = derive(structure)
    try:
        cache.store(SHELF, entry, encode(derivation))
    except (Unencodable, RecursionError):
        pass  # not stored: derived again by the next process
    return derivation


def encode(value: Any) -> Any:
    """`value` as JSON data (see the module's list of what can be encoded)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"t": [encode(v) for v in value]}
    if isinstance(value, frozenset):
        return {"z": sorted((encode(v) for v in value), key=json.dumps)}  # one order, whatever the hash seed
    if isinstance(value, dict):
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, sympy.MutableDenseMatrix):
        return {"m": [value.rows, value.cols, [encode(v) for v in value]]}
    if isinstance(value, sympy.Basic):
        return _encode_sympy(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and _ours(type(value)):
        return {"c": _name(type(value)), "f": {f.name: encode(getattr(value, f.name))
                                               for f in dataclasses.fields(value)}}
    raise Unencodable(f"{type(value).__qualname__} is not stored")


def _encode_sympy(value: sympy.Basic) -> Any:
    kind = type(value)
    if kind is sympy.Symbol:
        return {"s": [value.name, encode(dict(value._assumptions_orig))]}  # as given, as srepr shows them
    if isinstance(value, sympy.Rational):
        return {"q": [int(value.p), int(value.q)]}
    if isinstance(value, sympy.Float):
        sign, mantissa, exponent, bits = value._mpf_
        return {"F": [sign, int(mantissa), exponent, bits, value._prec]}
    if isinstance(kind, Singleton) and not value.args:
        return {"S": kind.__name__}
    if _rebuilt(kind):
        return {"b": _name(kind), "a": [encode(a) for a in value.args]}
    raise Unencodable(f"SymPy's {kind.__qualname__} is not stored")


def decode(data: Any) -> Any:
    """The object `data` (made by `encode`) stands for; ValueError for anything else."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError("not an encoded value")
    tag = next(iter(data))
    try:
        return DECODERS[tag](data)
    except KeyError:
        raise ValueError(f"unknown tag {tag!r}") from None


def _dataclass(data: dict) -> Any:
    kind = _resolve(data["c"])
    if not (dataclasses.is_dataclass(kind) and _ours(kind)):
        raise ValueError(f"{data['c']} is not a dataclass of this package")
    fields = {f.name for f in dataclasses.fields(kind)}
    if not isinstance(data["f"], dict) or set(data["f"]) != fields:
        raise ValueError(f"{data['c']}: not its fields")
    value = object.__new__(kind)  # its fields as stored: no __init__ or __post_init__ to run again
    for name, field in data["f"].items():
        object.__setattr__(value, name, decode(field))
    return value


def _sympy_node(data: dict) -> sympy.Basic:
    kind = _resolve(data["b"])
    if not _rebuilt(kind):
        raise ValueError(f"{data['b']} is not a SymPy class this codec rebuilds")
    args = _sympy_objects(data["a"], f"{data['b']}: an argument")
    if issubclass(kind, AS_STORED):
        return sympy.Basic.__new__(kind, *args)
    if issubclass(kind, CONSTRUCTED):
        return kind(*args)
    if issubclass(kind, LatticeOp):  # Max, And: what the constructor makes of arguments already in its order
        node = sympy.Basic.__new__(kind, *args)
        node._argset = frozenset(args)
        return node
    if issubclass(kind, AssocOp):  # Add, Mul: what evaluate=False does, without the cache
        return kind._from_args(args)
    return kind(*args, evaluate=False)


def _singleton(data: dict) -> sympy.Basic:
    value = getattr(sympy.S, str(data["S"]), None)
    if not isinstance(value, sympy.Basic) or not isinstance(type(value), Singleton):
        raise ValueError(f"{data['S']!r} is not one of SymPy's singletons")
    return value


def _matrix(data: dict) -> sympy.MutableDenseMatrix:
    rows, cols, entries = data["m"]
    return sympy.Matrix(rows, cols, _sympy_objects(entries, "a matrix entry"))


@lru_cache(maxsize=4096)
def _symbol(name: str, assumptions: tuple[tuple[str, bool], ...]) -> sympy.Symbol:
    return sympy.Symbol(name, **dict(assumptions))


def _sympy_objects(data: Any, what: str) -> list[sympy.Basic]:
    values = [decode(v) for v in data]
    if not all(isinstance(v, sympy.Basic) for v in values):
        raise ValueError(f"{what} is no SymPy object")
    return values


DECODERS = {
    "t": lambda data: tuple(decode(v) for v in data["t"]),
    "z": lambda data: frozenset(decode(v) for v in data["z"]),
    "d": lambda data: {decode(k): decode(v) for k, v in data["d"]},
    "m": _matrix,
    "s": lambda data: _symbol(str(data["s"][0]), tuple(sorted((str(k), bool(v)) for k, v in decode(data["s"][1]).items()))),
    "q": lambda data: sympy.Rational(int(data["q"][0]), int(data["q"][1])),
    "F": lambda data: sympy.Float._new((int(data["F"][0]), int(data["F"][1]), int(data["F"][2]), int(data["F"][3])),
                                       int(data["F"][4])),
    "S": _singleton,
    "b": _sympy_node,
    "c": _dataclass,
}


def _name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _resolve(name: Any) -> Any:
    """The class named `module:qualname`, from a module already imported (never imports)."""
    module, _, qualname = str(name).partition(":")
    found = sys.modules.get(module)
    for part in qualname.split("."):
        if found is None or part.startswith("_"):
            raise ValueError(f"{name!r} names no class that can be rebuilt")
        found = getattr(found, part, None)
    if not isinstance(found, type):
        raise ValueError(f"{name!r} names no class")
    return found


def _ours(kind: type) -> bool:
    return kind.__module__ == "solvers" or kind.__module__.startswith("solvers.")


def _rebuilt(kind: type) -> bool:
    """A SymPy class listed here, of SymPy's own or of this package (a function such as sigmoid)."""
    return issubclass(kind, REBUILT) and (_ours(kind) or kind.__module__.startswith("sympy."))
