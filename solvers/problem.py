"""Reading problem files: YAML, validation against the file's kind, clear errors.

Every error a problem file can cause becomes a `ProblemError` naming the file, the field
path, what was found and what was expected. The kinds themselves are listed in
`solvers.kinds`; this module only looks them up.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import yaml

from .core import FieldError, Model, ProblemError

if TYPE_CHECKING:
    from .kind import Kind


@dataclass
class Problem:
    """A validated problem: its file, its kind and the kind's spec."""
    path: Path
    kind: Kind
    spec: Any

    @property
    def name(self) -> str:
        return self.path.stem


MOST_BYTES = 1_000_000  # a problem file is text a TA wrote


def _unique_keys(base: type) -> type:
    """`base` loader refusing a mapping that gives a key twice (YAML forbids it; PyYAML keeps
    the last, so a second `title:` would silently replace the first). A merge (<<) may."""
    class UniqueKeys(base):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {key.value!r} is given twice; give each field once", key.start_mark)
                    seen.add((key.tag, key.value))
            return super().construct_mapping(node, deep)
    return UniqueKeys


_FAST_LOADER = _unique_keys(getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: the same values, 10x faster
_LOADER = _unique_keys(yaml.SafeLoader)  # slower, and says where a file is malformed


def read_yaml(path: Path) -> Any:
    """The YAML document in `path`, or a ProblemError saying where it is malformed."""
    if not path.is_file():
        raise ProblemError(path, "", "is not a regular file; expected a YAML problem or sheet file")
    if not path.name.isprintable():  # bytes that are not UTF-8 too: Python keeps them as unprintable surrogates
        raise ProblemError(path, "", "has a file name that is not printable UTF-8 text; rename it (a problem's file "
                           "name is its name in the answer key)")
    if path.stat().st_size > MOST_BYTES:
        raise ProblemError(path, "", f"is {path.stat().st_size} bytes; expected a problem file of at most "
                           f"{MOST_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProblemError(path, "", f"cannot be read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ProblemError(path, "", "is not UTF-8 text") from None
    try:
        return _within_limits(path, yaml.load(text, Loader=_FAST_LOADER))
    except (yaml.YAMLError, RecursionError):
        pass  # libyaml's messages say less (no character named): the pure loader says what is wrong
    try:
        return _within_limits(path, yaml.load(text, Loader=_LOADER))
    except RecursionError:
        raise ProblemError(path, "", "is nested too deeply; expected a problem file of plain fields and lists") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(error, "problem", None) or str(error)
        raise ProblemError(path, "", f"is not valid YAML{where}: {what}") from None


MOST_DEPTH = 64  # lists in lists: a problem file needs a handful (a batch of images of channels of rows)


def _within_limits(path: Path, data: Any) -> Any:
    """`data`, unless its aliases expand it beyond what a file of MOST_BYTES could hold written
    out (an alias bomb), or it nests deeper than MOST_DEPTH (or in itself, through an alias)."""
    values, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        values += 1
        if depth > MOST_DEPTH:
            raise ProblemError(path, "", f"nests lists or mappings more than {MOST_DEPTH} deep (or an alias within "
                               "itself); expected a problem file of plain fields and lists")
        if values > MOST_BYTES:
            raise ProblemError(path, "", f"holds more than {MOST_BYTES} values once its aliases (*name) are "
                               "expanded; expected a problem file that repeats less")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return data


def read(path: Path) -> tuple[Kind, dict]:
    """The kind and the raw mapping of a problem file."""
    from .kinds import KINDS

    data = read_yaml(path)
    if data is None:
        raise ProblemError(path, "", "is empty; expected a problem (kind, title, network, ask, ...)")
    if not isinstance(data, dict):
        raise ProblemError(path, "", f"must be a mapping of fields (kind, title, ...), found {_describe(data)}")
    name = data.get("kind")
    if name is None:
        raise ProblemError(path, "kind", f"is missing; expected one of: {', '.join(sorted(KINDS))}")
    if not isinstance(name, str) or name not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ProblemError(path, "kind", f"unknown problem kind {name!r}; expected one of: {known}")
    return KINDS[name], data


def validate(path: Path, kind: Kind, data: dict) -> Problem:
    """Validate a problem's (concrete) data against its kind."""
    try:
        spec = kind.Spec.model_validate(data)
        kind.validate(spec)
    except RecursionError:
        raise ProblemError(path, "", "is nested too deeply; expected numbers, lists of numbers or matrices") from None
    except pydantic.ValidationError as error:
        raise ProblemError(path, *describe_validation_error(error)) from None
    except FieldError as error:
        raise ProblemError(path, error.field, error.message) from None
    return Problem(path, kind, spec)


def field_path(location: tuple) -> str:
    """('network', 'layers', 0, 'weights') -> 'network.layers[0].weights'."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_validation_error(error: pydantic.ValidationError) -> tuple[str, str]:
    """The field path and message of the most specific error.

    Where a field accepts alternatives (a number or a list), pydantic reports why each
    alternative failed; the one that got deepest into the value is the one the author meant
    (a NaN in a list of weights, not "the weights are not a number")."""
    errors = error.errors(include_url=False)
    first = max(errors, key=lambda e: len(_field_location(e)))
    message = first["msg"]
    if first["type"] == "missing":
        message = "is missing (required)"
    elif first["type"] == "extra_forbidden":
        message = "is not a known field here (check the spelling; see docs/problem-format.md)"
    elif first["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    else:
        message = f"{message[0].lower()}{message[1:]}; found {_describe(first.get('input'))}"
    more = len({_field_root(e) for e in errors}) - 1
    if more:
        message += f" ({more} more problem{'s' if more > 1 else ''} in this file)"
    return field_path(_field_location(first)), message


def _field_location(error: dict) -> tuple:
    return tuple(p for p in error["loc"] if not _is_union_tag(p))


def _field_root(error: dict) -> tuple:
    """The location up to the first alternative: errors of alternatives of one field count once."""
    root = []
    for part in error["loc"]:
        if _is_union_tag(part):
            break
        root.append(part)
    return tuple(root)


def _is_union_tag(part) -> bool:
    """An alternative's name in an error's location: a type (`list[float]`, `int`) or the class
    name of a model that is one of a field's alternatives (`SharedBias`)."""
    return isinstance(part, str) and ("[" in part or part.startswith(("function-", "constrained-")) or part in (
        "float", "int", "list", "bool", "str", "literal") or part in _model_names(Model))


def _model_names(cls: type) -> set[str]:
    return {name for sub in cls.__subclasses__() for name in {sub.__name__} | _model_names(sub)}


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
