"""`lambdify`, remembered across processes: the Python source SymPy generates for a step,
stored in `solvers.cache` and rebuilt from there without SymPy's code printers.

The key is the expression itself (`exact_digest`: a hash of its tree, exact) and its argument order; the entry holds
the generated source and, for every global name it uses, where that name comes from (a NumPy
attribute or one of our own functions in `LAMBDIFY_MODULES`). The source is executed only
after its syntax tree passes a whitelist: one function of the arguments, assignments to
local names and one return, built from numbers, names, arithmetic, comparisons, calls,
lists, tuples and public attributes (no imports, no dunders, no builtins); every other
name must be resolvable as recorded. A source that fails any check is recomputed.

Within a process, every function is also remembered under the same key (`MEMO`), so a step
that a derivation replayed another way leaves unchanged (a mistake's replay) is not lambdified
again, whether or not there is a cache folder; the very same expression object asked for again
is found by identity (`SAME`), without hashing its tree.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from typing import Any, Callable

import numpy as np
import sympy

from . import cache
from .activations import LAMBDIFY_MODULES

SHELF = "lambdified"
OWN: dict[str, Any] = LAMBDIFY_MODULES[0]
LIBRARY = {"reduce": functools.reduce}  # what lambdify's printer imports besides NumPy (Max, Min)
EXPRESSIONS = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call,
               ast.keyword, ast.List, ast.Tuple, ast.Attribute, ast.Subscript, ast.Slice, ast.Starred)
CONTEXTS = (ast.Load, ast.Store, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
MEMO: dict[bytes, Callable] = {}  # digest of (argument names, expression) -> function, this process
SAME: dict[tuple[str, int], tuple[sympy.Basic, Callable]] = {}  # (names, id) -> the very expression, function
MEMO_SIZE = 20000  # functions kept in each; the oldest are forgotten first


def lambdify(free: list[sympy.Symbol], expression: sympy.Basic) -> Callable:
    """`sympy.lambdify(free, expression)` with our modules and common-subexpression
    elimination, taken from the cache when the same expression was lambdified before."""
    names = repr([s.name for s in free])
    same = SAME.get((names, id(expression)))
    if same is not None and same[0] is expression:  # the very object again (a step a replay kept): no hashing
        return same[1]
    exact = exact_digest(expression)
    memo = hashlib.sha256(f"{names}\0{exact}".encode()).digest()
    function = MEMO.get(memo)
    if function is None:
        function = _lambdify(free, expression, names, exact)
        _remember(MEMO, memo, function)
    _remember(SAME, (names, id(expression)), (expression, function))  # keeps the expression, so its id stays its own
    return function


def exact_digest(expression: Any) -> str:
    """A hash of an expression's tree as SymPy stores it: every node's class and its arguments
    in order, every leaf exactly (`srepr` of an atom: a Float with all its digits, a Symbol
    with its assumptions). Like the hash of `srepr` of the whole, but each shared subtree is
    hashed once and no sum's terms are sorted for printing (the cost of `srepr` on a large
    derivation)."""
    seen: dict[Any, bytes] = {}

    def digest(node: Any) -> bytes:
        if isinstance(node, (list, tuple)):
            return _hash(type(node).__name__, [digest(item) for item in node])
        if not isinstance(node, sympy.Basic):
            if isinstance(node, sympy.MatrixBase):  # a mutable matrix
                return _hash(f"Matrix {node.shape}", [digest(item) for item in node])
            return _hash(f"{type(node).__name__} {node!r}", [])
        found = seen.get(node)
        if found is None:
            found = _hash(sympy.srepr(node), []) if node.is_Atom or not node.args else \
                _hash(type(node).__name__, [digest(argument) for argument in node.args])
            seen[node] = found
        return found

    return digest(expression).hex()


def _hash(head: str, parts: list[bytes]) -> bytes:
    return hashlib.sha256(b"".join([head.encode(), b"\0", *parts])).digest()


def forget() -> None:
    """Forget every function lambdified in this process (as a new process starts)."""
    MEMO.clear()
    SAME.clear()


def _remember(memo: dict, key: Any, value: Any) -> None:
    if len(memo) >= MEMO_SIZE and key not in memo:
        del memo[next(iter(memo))]
    memo[key] = value


def _lambdify(free: list[sympy.Symbol], expression: sympy.Basic, names: str, exact: str) -> Callable:
    entry = cache.key(SHELF, names, exact)
    stored = cache.load(SHELF, entry)
    function = _rebuilt(stored) if stored is not None else None
    if function is None:
        function = sympy.lambdify(free, expression, modules=LAMBDIFY_MODULES, cse=True)
        record = _record(function)
        if record is not None:
            cache.store(SHELF, entry, record)
    return function


def _record(function: Callable) -> dict | None:
    """The source of a lambdified function and where each of its global names comes from,
    or None if a name comes from anywhere else."""
    import linecache
    source = "".join(linecache.getlines(function.__code__.co_filename))
    names = {}
    try:
        used = _globals(source)
    except (SyntaxError, _Refused):
        return None
    for name in used:
        value = function.__globals__.get(name, _MISSING)
        origin = _origin(name, value)
        if origin is None:
            return None
        names[name] = origin
    return {"source": source, "names": names}


_MISSING = object()


def _origin(name: str, value: Any) -> list[str] | None:
    if value is np:
        return ["numpy", ""]
    if name in OWN and OWN[name] is value:
        return ["own", name]
    if name in LIBRARY and LIBRARY[name] is value:
        return ["library", name]
    if getattr(np, name, _MISSING) is value and not name.startswith("_"):
        return ["numpy", name]
    for attribute in dir(np):
        if not attribute.startswith("_") and getattr(np, attribute) is value:
            return ["numpy", attribute]
    return None


def _rebuilt(stored: Any) -> Callable | None:
    """The function of a cache entry, or None if the entry fails any check."""
    try:
        source, names = stored["source"], stored["names"]
        namespace: dict[str, Any] = {"__builtins__": {}}
        for name in _globals(source):
            where, attribute = names[name]
            if attribute.startswith("_"):
                return None
            if where == "own" and attribute in OWN:
                namespace[name] = OWN[attribute]
            elif where == "library" and attribute in LIBRARY:
                namespace[name] = LIBRARY[attribute]
            elif where == "numpy" and not attribute:
                namespace[name] = np
            elif where == "numpy" and hasattr(np, attribute):
                namespace[name] = getattr(np, attribute)
            else:
                return None
        local: dict[str, Any] = {}
        exec(compile(source, "<lambdified, cached>", "exec"), namespace, local)  # noqa: S102 (checked above)
        return local["_lambdifygenerated"]
    except (KeyError, TypeError, ValueError, SyntaxError, _Refused):
        return None


class _Refused(Exception):
    """Source outside the whitelist."""


def _globals(source: str) -> list[str]:
    """The global names `source` uses, after checking it is one plain lambdified function."""
    tree = ast.parse(source)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise _Refused()
    function = tree.body[0]
    arguments = function.args
    if (function.name != "_lambdifygenerated" or function.decorator_list or arguments.vararg or arguments.kwarg
            or arguments.kwonlyargs or arguments.posonlyargs or arguments.defaults):
        raise _Refused()
    local = {a.arg for a in arguments.args}
    used: list[str] = []
    for statement in function.body:
        if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
            _check(statement.value, local, used)
            local |= {t.id for t in statement.targets}
        elif isinstance(statement, ast.Return) and statement.value is not None and statement is function.body[-1]:
            _check(statement.value, local, used)
        elif not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):  # the docstring
            raise _Refused()
    return list(dict.fromkeys(used))


def _check(expression: ast.AST, local: set[str], used: list[str]) -> None:
    for node in ast.walk(expression):
        if isinstance(node, CONTEXTS):
            continue
        if not isinstance(node, EXPRESSIONS):
            raise _Refused()
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise _Refused()
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, complex, bool, type(None))):
            raise _Refused()
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise _Refused()
            if node.id not in local:
                used.append(node.id)
