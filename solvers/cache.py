"""A content-addressed cache of results that are slow to recompute: derivations (as data,
`solvers.codec`), torch's reference values, the Python source SymPy's lambdify generates,
matplotlib's figures (PDF and SVG files) and the MathML of formulas, and
(`compiled_templates`) the Jinja templates compiled.

Every entry is a JSON file named by a SHA-256 key of what it was computed from: the exact
inputs, plus the *fingerprint* of the code that computed it (the source of every module of
this package, and the versions of Python and of the libraries in `LIBRARIES`). Changing any
of them changes every key, so a stale entry can never be found; old entries are simply not read
again. The cache is an optimisation only: deleting it (or any entry) costs time, never a
result, and an entry that cannot be read, is truncated, corrupt or was written for another
key is ignored and recomputed.

Where: `$SOLVERS_CACHE` if set (`off` disables the cache), else
`$XDG_CACHE_HOME/nn-solutions`, else `~/.cache/nn-solutions`; folders are created private to
the user (mode 0700). Nothing here is a pickle: entries are JSON data, and lambdified source
is executed only after `solvers.lambdified` has checked it against a whitelist of the few
Python constructs lambdify writes. Compiled templates are Jinja's own bytecode cache (code
objects, as Python's own __pycache__ holds them), which Jinja checks against the template's
source before use.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

VARIABLE = "SOLVERS_CACHE"
PACKAGE = Path(__file__).resolve().parent
LIBRARIES = ("numpy", "sympy", "torch", "matplotlib", "latex2mathml", "scikit-learn")  # scikit-learn: its digits data


def folder() -> Path | None:
    """The cache folder, or None when the cache is off."""
    chosen = os.environ.get(VARIABLE, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "nn-solutions"


@cache
def fingerprint() -> str:
    """A hash of this package's source and of the versions of Python and the libraries that
    compute what is cached; part of every key."""
    digest = hashlib.sha256(sys.version.encode())
    for library in LIBRARIES:
        try:
            digest.update(f"\0{library} {metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{library} absent".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(b"\0" + path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def compiled_templates() -> Any:
    """Jinja's bytecode cache in this cache's folder (None when the cache is off), in a folder
    named by the fingerprint: Jinja checks a template's source, and the fingerprint covers the
    options of the environment that compiled it."""
    root = folder()
    if root is None:
        return None
    import jinja2
    where = root / "templates" / fingerprint()[:32]
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(where))


def key(*parts: str) -> str:
    """The key of an entry computed from `parts` by this version of the code."""
    digest = hashlib.sha256(fingerprint().encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def versioned(function: Any) -> bool:
    """Whether `function`'s result is covered by the fingerprint: a top-level function of this
    package (a replaced or locally defined one is never cached)."""
    module, name = getattr(function, "__module__", ""), getattr(function, "__qualname__", "<")
    return (module == "solvers" or module.startswith("solvers.")) and "<" not in name


def load(shelf: str, entry: str) -> Any | None:
    """The payload stored under `entry` on `shelf`, or None (missing, unreadable or corrupt)."""
    path = _path(shelf, entry)
    if path is None:
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        payload = record["payload"]
        if record["key"] != entry or record["sha256"] != _digest(payload):
            return None
        return json.loads(payload)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(shelf: str, entry: str, payload: Any) -> None:
    """Store `payload` (JSON data) under `entry`, atomically; a cache that cannot be written
    (read-only, full disk) is left alone."""
    path = _path(shelf, entry)
    if path is None:
        return
    text = json.dumps(payload, separators=(",", ":"))
    record = json.dumps({"key": entry, "sha256": _digest(text), "payload": text})
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(record)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return


def _path(shelf: str, entry: str) -> Path | None:
    root = folder()
    return None if root is None else root / shelf / entry[:2] / f"{entry}.json"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
