"""Grading tolerances: which numbers count as a given answer, the conventions graders know.

Three rules, each set per answer in a problem file's `tolerance:` field and written into the
answer key as a small dictionary:
- relative + absolute (`{"relative": r, "absolute": a}`): |x − x*| ≤ a + r·|x*|, the
  `relabs` rule of PrairieLearn and numpy's `allclose`; the default, derived from the sheet's
  digits (r = 10^(1−digits), a = 0.5·10^(−digits)); exact answers (sizes, counts, true/false)
  have r = a = 0;
- significant figures (`{"sigfigs": d, "absolute": a}`): |x − x*| ≤ 0.51 of the d-th
  significant digit of x*, and never less than the absolute floor a (near zero, where a
  significant digit is arbitrarily small);
- decimal places (`{"decimal_places": d}`): |x − x*| ≤ 0.51·10^(−d).
This module depends on nothing else of the package.
"""
from __future__ import annotations

import fnmatch
import math
from typing import Any, Mapping

import numpy as np
import pydantic

SLACK = 1e-9  # relative slack for binary floating point: 0.51 of a digit is never lost to rounding


class Rule(pydantic.BaseModel):
    """One tolerance as a problem file writes it: `relative`/`absolute`, `sigfigs` (with an
    optional absolute floor) or `decimal_places`."""
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
    relative: float | None = pydantic.Field(default=None, ge=0, le=1, allow_inf_nan=False)
    absolute: float | None = pydantic.Field(default=None, ge=0, le=1e6, allow_inf_nan=False)
    sigfigs: int | None = pydantic.Field(default=None, ge=1, le=15)
    decimal_places: int | None = pydantic.Field(default=None, ge=0, le=15)

    @pydantic.model_validator(mode="after")
    def _one_rule(self) -> "Rule":
        if self.sigfigs is not None and self.decimal_places is not None:
            raise ValueError("give sigfigs or decimal_places, not both")
        if self.decimal_places is not None and (self.relative is not None or self.absolute is not None):
            raise ValueError("decimal_places needs no relative or absolute tolerance; give one rule")
        if self.sigfigs is not None and self.relative is not None:
            raise ValueError("sigfigs takes an absolute floor, not a relative tolerance")
        if all(v is None for v in (self.relative, self.absolute, self.sigfigs, self.decimal_places)):
            raise ValueError("an empty tolerance; expected relative and/or absolute, sigfigs or decimal_places")
        return self

    def as_key(self, digits: int) -> dict[str, Any]:
        """The tolerance as written into the answer key (the absolute floor from `digits`
        where the rule leaves it out)."""
        floor = default(digits)["absolute"] if self.absolute is None else self.absolute
        if self.decimal_places is not None:
            return {"decimal_places": self.decimal_places}
        if self.sigfigs is not None:
            return {"sigfigs": self.sigfigs, "absolute": floor}
        return {"relative": self.relative or 0.0, "absolute": floor}


def default(digits: int) -> dict[str, float]:
    """The tolerance of a computed answer shown to `digits` significant digits."""
    return {"relative": 10.0 ** (1 - digits), "absolute": 0.5 * 10.0 ** (-digits)}


EXACT = {"relative": 0.0, "absolute": 0.0}


def describe(tolerance: Mapping[str, Any]) -> str:
    """The tolerance in words, for reports and exported feedback."""
    if "decimal_places" in tolerance:
        return f"±0.51 in decimal place {tolerance['decimal_places']}"
    if "sigfigs" in tolerance:
        return f"{tolerance['sigfigs']} significant figures (±0.51 in the last; at least ±{tolerance['absolute']:g})"
    if tolerance["relative"] == 0 and tolerance["absolute"] == 0:
        return "exact"
    return f"±({tolerance['absolute']:g} + {tolerance['relative']:g}·|x|)"


def band(tolerance: Mapping[str, Any], correct) -> np.ndarray:
    """The largest accepted |x − x*| for each entry of `correct`."""
    correct = np.abs(np.asarray(correct, dtype=float))
    if "decimal_places" in tolerance:
        return np.full(correct.shape, 0.51 * 10.0 ** (-tolerance["decimal_places"]))
    if "sigfigs" in tolerance:
        with np.errstate(divide="ignore"):
            power = np.where(correct > 0, np.floor(np.log10(np.where(correct > 0, correct, 1.0))), -math.inf)
        return np.maximum(0.51 * 10.0 ** (power - tolerance["sigfigs"] + 1), tolerance["absolute"])
    return tolerance["absolute"] + tolerance["relative"] * correct


def accepts(tolerance: Mapping[str, Any], given, correct) -> np.ndarray:
    """Entry by entry, whether `given` counts as `correct` (arrays of one shape)."""
    given, correct = np.asarray(given, dtype=float), np.asarray(correct, dtype=float)
    allowed = band(tolerance, correct)
    exact = not np.any(allowed)
    slack = 0.0 if exact else SLACK * (allowed + np.abs(correct) * 1e-6)
    with np.errstate(invalid="ignore"):
        return np.abs(given - correct) <= allowed + slack


def assign(names: list[str], rules: Mapping[str, Rule]) -> dict[str, Rule]:
    """Each answer name's rule: an exact name first, then the first matching pattern
    (`gradient.*`), then `default`. Raises KeyError naming a pattern that matches nothing."""
    for pattern in rules:
        if pattern != "default" and not fnmatch.filter(names, pattern):
            raise KeyError(pattern)
    chosen = {}
    for name in names:
        if name in rules:
            chosen[name] = rules[name]
            continue
        matching = [p for p in rules if p != "default" and fnmatch.fnmatchcase(name, p)]
        if matching:
            chosen[name] = rules[matching[0]]
        elif "default" in rules:
            chosen[name] = rules["default"]
    return chosen
