"""Constraints that keep a random network variant a good exercise (see solvers.variants)."""
from __future__ import annotations

import numpy as np

from ...core import Constraint
from ...solution import displayed

KINKED = ("relu", "leaky_relu", "elu")


def _kink_margin(problem, solution, margin) -> bool:
    """No pre-activation of a ReLU-type layer within `margin` of the kink at 0."""
    margin = 0.05 if margin is True else float(margin)
    for step in solution.derivation.steps:
        if step.kind == "activation" and step.facts["activation"] in KINKED:
            if np.any(np.abs(solution.values[step.facts["input"]]) < margin):
                return False
    return True


def _probabilities(solution) -> np.ndarray | None:
    last = [s for s in solution.derivation.steps if s.kind in ("activation", "softmax")][-1]
    name = last.facts["activation"]
    if name == "softmax" or (name == "sigmoid" and last.target.shape == (1, 1)):
        p = solution.values[last.target.key][:, 0]
        return np.array([1 - p[0], p[0]]) if name == "sigmoid" else p
    return None


def _distinct_classes(problem, solution, setting) -> bool:
    """The predicted class is clear: the two largest probabilities differ as shown."""
    p = _probabilities(solution)
    if p is None or p.size < 2:
        return True
    top = np.sort(displayed(p, solution.digits))[-2:]
    return bool(top[1] > top[0])


def _displayable_probabilities(problem, solution, setting) -> bool:
    """No output probability is shown as 0 or 1."""
    p = _probabilities(solution)
    return p is None or bool(np.all((displayed(p, solution.digits) != 0) & (displayed(p, solution.digits) != 1)))


CONSTRAINTS = {
    "kink_margin": Constraint(0.05, _kink_margin, "no ReLU-type pre-activation near the kink at 0"),
    "distinct_classes": Constraint(True, _distinct_classes, "no tie for the predicted class"),
    "displayable_probabilities": Constraint(True, _displayable_probabilities, "no probability shown as 0 or 1"),
}
