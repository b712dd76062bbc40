"""Derivations (and the structures they are derived from) as JSON data and back, so that a
new process finds the derivation of a structure it has seen in `solvers.cache` instead of
deriving it again with SymPy.

Decoding rebuilds exactly the objects that were encoded, without evaluating anything: a SymPy
node is put together from its stored arguments (`Add._from_args(args)`,
`Pow(*args, evaluate=False)`, ...), so the tree is the one derived, node for node. The nodes
are one flat table, each shared subtree once (a derivation's steps share most of theirs), so
a large derivation reads in a fraction of the time a nested tree of JSON objects would take.

Only what is listed here is encoded, and only that is decoded: JSON values, tuples,
frozensets, dicts, SymPy matrices, the dataclasses of this package, and the SymPy classes
below (SymPy's own and this package's functions). Anything else makes `encode` raise
`Unencodable` (that structure is simply derived each time) and `decode` raise `ValueError`
(the entry is ignored). Nothing here is a pickle: no name in an entry can reach code other
than these constructors.
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
    """`value` as JSON data (see the module's list of what can be encoded): its SymPy nodes
    in one table, each once (`_Table`), and the value referring to them by their place."""
    nodes = _Table()
    encoded = _encode(value, nodes)
    return {"n": nodes.entries, "v": encoded}


def _encode(value: Any, nodes: _Table) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_encode(v, nodes) for v in value]
    if isinstance(value, tuple):
        return {"t": [_encode(v, nodes) for v in value]}
    if isinstance(value, frozenset):
        return {"z": sorted((_encode(v, nodes) for v in value), key=json.dumps)}  # one order, whatever the hash seed
    if isinstance(value, dict):
        return {"d": [[_encode(k, nodes), _encode(v, nodes)] for k, v in value.items()]}
    if isinstance(value, sympy.MutableDenseMatrix):
        return {"m": [value.rows, value.cols, [nodes.index(v) for v in value]]}
    if isinstance(value, sympy.Basic):
        return {"r": nodes.index(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and _ours(type(value)):
        return {"c": _name(type(value)), "f": {f.name: _encode(getattr(value, f.name), nodes)
                                               for f in dataclasses.fields(value)}}
    raise Unencodable(f"{type(value).__qualname__} is not stored")


class _Table:
    """The SymPy nodes of an encoded value, each object once, every node after its
    arguments: ["s", name, assumptions] (a Symbol), ["q", p, q] (a Rational), ["F", sign,
    mantissa, exponent, bits, precision] (a Float), ["S", name] (a singleton), or
    ["b", class, argument, ...] (any other node, its arguments by their place in the table).
    Equal entries are one entry: a subtree the steps of a derivation share is stored once."""

    def __init__(self) -> None:
        self.entries: list[list] = []
        self._places: dict[int, int] = {}  # id of a node (alive in the value encoded) -> its place
        self._entries: dict[str, int] = {}  # an entry, as JSON -> its place

    def index(self, node: Any) -> int:
        if not isinstance(node, sympy.Basic):
            raise Unencodable(f"{type(node).__qualname__} is not stored")
        place = self._places.get(id(node))
        if place is None:
            entry = self._entry(node)
            place = self._entries.setdefault(json.dumps(entry), len(self.entries))
            if place == len(self.entries):
                self.entries.append(entry)
            self._places[id(node)] = place
        return place

    def _entry(self, node: sympy.Basic) -> list:
        kind = type(node)
        if kind is sympy.Symbol:
            return ["s", node.name, sorted([k, v] for k, v in node._assumptions_orig.items())]  # as given, as srepr shows
        if isinstance(node, sympy.Rational):
            return ["q", int(node.p), int(node.q)]
        if isinstance(node, sympy.Float):
            sign, mantissa, exponent, bits = node._mpf_
            return ["F", sign, int(mantissa), exponent, bits, node._prec]
        if isinstance(kind, Singleton) and not node.args:
            return ["S", kind.__name__]
        if _rebuilt(kind):
            return ["b", _name(kind), *[self.index(a) for a in node.args]]
        raise Unencodable(f"SymPy's {kind.__qualname__} is not stored")


def decode(data: Any) -> Any:
    """The object `data` (made by `encode`) stands for; ValueError for anything else."""
    if not isinstance(data, dict) or set(data) != {"n", "v"} or not isinstance(data["n"], list):
        raise ValueError("not an encoded value")
    return _Decoder(data["n"]).value(data["v"])


class _Decoder:
    """Decodes one encoded value: its node table first, each node from nodes before it."""

    def __init__(self, entries: list) -> None:
        self.classes: dict[str, type] = {}
        self.nodes: list[sympy.Basic] = []
        for entry in entries:
            if not isinstance(entry, list) or not entry:
                raise ValueError("not a node of the table")
            try:
                node = NODES[entry[0]](self, entry)
            except KeyError:
                raise ValueError(f"unknown node {entry[0]!r}") from None
            self.nodes.append(node)

    def value(self, data: Any) -> Any:
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.value(v) for v in data]
        if not isinstance(data, dict) or len(data) not in (1, 2):
            raise ValueError("not an encoded value")
        tag = next(iter(data))
        try:
            return VALUES[tag](self, data)
        except KeyError:
            raise ValueError(f"unknown tag {tag!r}") from None

    def node(self, place: Any) -> sympy.Basic:
        if not isinstance(place, int) or isinstance(place, bool) or not 0 <= place < len(self.nodes):
            raise ValueError(f"{place!r} is no node before this one")
        return self.nodes[place]

    def resolved(self, name: Any) -> type:
        found = self.classes.get(name)
        if found is None:
            found = self.classes[name] = _resolve(name)
        return found

    def dataclass(self, data: dict) -> Any:
        kind = self.resolved(data["c"])
        if not (dataclasses.is_dataclass(kind) and _ours(kind)):
            raise ValueError(f"{data['c']} is not a dataclass of this package")
        fields = {f.name for f in dataclasses.fields(kind)}
        if not isinstance(data["f"], dict) or set(data["f"]) != fields:
            raise ValueError(f"{data['c']}: not its fields")
        value = object.__new__(kind)  # its fields as stored: no __init__ or __post_init__ to run again
        for name, field in data["f"].items():
            object.__setattr__(value, name, self.value(field))
        return value

    def matrix(self, data: dict) -> sympy.MutableDenseMatrix:
        rows, cols, entries = data["m"]
        return sympy.Matrix(rows, cols, [self.node(e) for e in entries])

    def sympy_node(self, entry: list) -> sympy.Basic:
        kind = self.resolved(entry[1])
        if not _rebuilt(kind):
            raise ValueError(f"{entry[1]} is not a SymPy class this codec rebuilds")
        args = [self.node(a) for a in entry[2:]]
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


def _singleton(name: Any) -> sympy.Basic:
    value = getattr(sympy.S, str(name), None)
    if not isinstance(value, sympy.Basic) or not isinstance(type(value), Singleton):
        raise ValueError(f"{name!r} is not one of SymPy's singletons")
    return value


@lru_cache(maxsize=4096)
def _symbol(name: str, assumptions: tuple[tuple[str, bool], ...]) -> sympy.Symbol:
    return sympy.Symbol(name, **dict(assumptions))


NODES = {
    "s": lambda d, e: _symbol(str(e[1]), tuple(sorted((str(k), bool(v)) for k, v in e[2]))),
    "q": lambda d, e: sympy.Rational(int(e[1]), int(e[2])),
    "F": lambda d, e: sympy.Float._new((int(e[1]), int(e[2]), int(e[3]), int(e[4])), int(e[5])),
    "S": lambda d, e: _singleton(e[1]),
    "b": _Decoder.sympy_node,
}
VALUES = {
    "t": lambda d, data: tuple(d.value(v) for v in data["t"]),
    "z": lambda d, data: frozenset(d.value(v) for v in data["z"]),
    "d": lambda d, data: {d.value(k): d.value(v) for k, v in data["d"]},
    "m": _Decoder.matrix,
    "r": lambda d, data: d.node(data["r"]),
    "c": _Decoder.dataclass,
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
