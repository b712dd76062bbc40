"""The catalog of common mistakes: what a student does wrong, and what answers it gives.

A `Mistake` is a documented rewrite of the correct method, written against the derivation as
data, never against one kind: a step computed another way (`step`: Step → its mistaken
expression, or None where the mistake does not touch it) and/or a given taken wrongly (`given`:
quantity and value → the mistaken value, or None) and/or a value each step computes taken
wrongly as it is used (`value`: likewise; e.g. rounded). Steps are chosen by their kind and
facts, givens by `Quantity.role`; some rewrites change the SymPy functions a step uses (a
Piecewise's kink side or branch, `floor`, `log`). Replaying a mistake evaluates the problem's
own derivation with those rewrites (found once per structure and stored, as derivations are),
so one entry serves every kind whose derivation has such steps or givens; a kind lists the
entries that apply to it in its `mistakes`.

The catalog is used three ways: `effects` gives, per problem, each mistake's wrong answers
and the first step they differ in (written into the answer key, so that grading names the
mistake behind a wrong answer and exported quizzes use them as distractors); the
`diagnostic` constraint draws variants again while an entry marked `diagnostic` would still
give every right answer (`undetected`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import sympy

from . import tolerance as T
from .activations import sigmoid
from .codec import remembered
from .derivation import Evaluator, Quantity, Step, element_symbol
from .solution import Answer, Solution


@dataclass(frozen=True)
class Mistake:
    """A named mistake, why it is wrong, and the rewrites that replay it. `diagnostic`:
    random variants are drawn again until this mistake changes an answer."""
    name: str
    why: str
    step: Callable[[Step], sympy.Matrix | None] | None = None
    given: Callable[[Quantity, np.ndarray], np.ndarray | None] | None = None
    value: Callable[[Quantity, np.ndarray], np.ndarray | None] | None = None
    diagnostic: bool = False

    def applies(self, problem, solution: Solution) -> bool:
        """Whether the mistake changes anything in this solution's derivation."""
        derivation = solution.derivation
        if self.value is not None and derivation.steps:
            return True
        return bool(self.step and _replayed(problem.kind, problem.kind.structure(problem.spec), self)[0]) or (
            self.given is not None and any(self.given(q, solution.values[q.key]) is not None
                                           for q in derivation.givens))

    def replay(self, kind, problem) -> dict[str, np.ndarray]:
        """The values a student making this mistake gets, under the correct values' keys."""
        structure = kind.structure(problem.spec)
        evaluator = _replayed(kind, structure, self)[1] if self.step else kind.compiled(structure)[1]
        givens = kind.given_values(problem.spec)
        if self.given:
            quantities = {q.key: q for q in evaluator.derivation.givens}
            wrong = {key: self.given(quantities[key], value) for key, value in givens.items() if key in quantities}
            givens = {key: value if wrong.get(key) is None else wrong[key] for key, value in givens.items()}
        return evaluator.evaluate(givens, self.value) if self.value else evaluator.evaluate(givens)


@lru_cache(maxsize=256)
def _replayed(kind, structure, mistake: Mistake) -> tuple[dict[int, sympy.Matrix], Evaluator]:
    """The steps the mistake computes another way (by their place in `Derivation.steps`: found
    once per structure and stored, as the derivation is) and the derivation so replayed, compiled."""
    derivation = kind.compiled(structure)[0]
    rewrites = remembered(f"{kind.name} {mistake.name}", structure, lambda _: {
        place: new for place, step in enumerate(derivation.steps) if (new := mistake.step(step)) is not None},
        expected=dict)
    if not rewrites:
        return rewrites, kind.compiled(structure)[1]
    replaced = {id(derivation.steps[place]): compute for place, compute in rewrites.items()}
    return rewrites, derivation.replacing(lambda step: replaced.get(id(step))).compile()


# -- choosing steps ------------------------------------------------------------------------------

DERIVATIVE_STEPS = ("activation_derivative", "activation_local", "dead_local", "derivative_values", "chain_gradient")
"""Steps whose expression holds an activation's derivative f'(z) (alone or times an input)."""
LOG_LOSS_STEPS = ("ce_loss", "nll_loss")
LOG_LOSSES = ("cross_entropy", "binary_cross_entropy", "nll")
LOSS_STEPS = ("loss", "candidate_loss")


def _derivative_of(step: Step, *activations: str) -> bool:
    return step.kind in DERIVATIVE_STEPS and step.facts.get("activation") in activations


def _log_loss(step: Step) -> bool:
    return step.kind in LOG_LOSS_STEPS or (step.kind in LOSS_STEPS and step.facts.get("loss") in LOG_LOSSES)


def _changed(new: sympy.Matrix, old: sympy.Matrix) -> sympy.Matrix | None:
    """`new`, or None when the rewrite left the expression as it was."""
    return None if new == old else new


def _pieces(step: Step, rewrite: Callable[[sympy.Piecewise], sympy.Expr]) -> sympy.Matrix | None:
    """The step with every Piecewise in it rewritten."""
    new = step.compute.replace(lambda e: isinstance(e, sympy.Piecewise), rewrite)
    return _changed(new, step.compute)


def _elements(key: str, shape: tuple[int, int]) -> sympy.Matrix:
    return sympy.Matrix(*shape, lambda i, j: element_symbol(key, i, j))


# -- the rewrites --------------------------------------------------------------------------------

def _relu_as_identity(step: Step) -> sympy.Matrix | None:
    """ReLU's derivative taken from its z > 0 branch everywhere."""
    if _derivative_of(step, "relu"):
        return _pieces(step, lambda p: p.args[0].expr)
    return None


def _other_kink_side(step: Step) -> sympy.Matrix | None:
    """f'(0) taken from the other branch: z > 0 becomes z ≥ 0 and the reverse."""
    if not _derivative_of(step, "relu", "leaky_relu", "elu"):
        return None

    def flip(condition):
        if isinstance(condition, sympy.StrictGreaterThan) and condition.rhs == 0:
            return sympy.GreaterThan(condition.lhs, 0)
        if isinstance(condition, sympy.GreaterThan) and condition.rhs == 0:
            return sympy.StrictGreaterThan(condition.lhs, 0)
        return condition
    return _pieces(step, lambda p: sympy.Piecewise(*[(c.expr, flip(c.cond)) for c in p.args]))


def _last_branch(step: Step, rewrite: Callable[[sympy.Expr], sympy.Expr]) -> sympy.Matrix | None:
    """The z ≤ 0 branch of every Piecewise rewritten."""
    return _pieces(step, lambda p: sympy.Piecewise(*[(c.expr, c.cond) for c in p.args[:-1]],
                                                   (rewrite(p.args[-1].expr), p.args[-1].cond)))


def _leaky_as_relu(step: Step) -> sympy.Matrix | None:
    return _last_branch(step, lambda e: sympy.Integer(0)) if _derivative_of(step, "leaky_relu") else None


def _elu_derivative_as_function(step: Step) -> sympy.Matrix | None:
    """ELU'(z) = α·eᶻ for z < 0 taken as ELU(z) = α(eᶻ − 1)."""
    if not _derivative_of(step, "elu"):
        return None
    return _last_branch(step, lambda e: e - e.replace(sympy.exp, lambda arg: sympy.Integer(1)))


def _no_bias_count(step: Step) -> sympy.Matrix | None:
    return sympy.zeros(*step.target.shape) if step.kind == "biases" and step.compute != sympy.zeros(
        *step.target.shape) else None


def _no_input_channels(step: Step) -> sympy.Matrix | None:
    inputs = step.facts.get("inputs")
    if step.kind == "weights" and step.facts.get("type") == "conv" and inputs:
        return _changed(step.compute.subs(element_symbol(inputs, 0, 0), 1), step.compute)
    return None


def _no_floor(step: Step) -> sympy.Matrix | None:
    if step.kind == "output_size":
        return _changed(step.compute.replace(sympy.floor, lambda arg: arg), step.compute)
    return None


def _no_plus_one(step: Step) -> sympy.Matrix | None:
    return step.compute - sympy.ones(*step.target.shape) if step.kind == "output_size" else None


def _log10(step: Step) -> sympy.Matrix | None:
    """A loss that is a sum of natural logarithms, each taken to base 10: L / ln 10."""
    return step.compute / sympy.log(10) if _log_loss(step) else None


def _minus_dropped(step: Step) -> sympy.Matrix | None:
    return -step.compute if _log_loss(step) else None


def _jacobian_diagonal(step: Step) -> sympy.Matrix | None:
    if step.kind in ("softmax_jacobian", "jacobian"):
        n = step.target.shape[0]
        return _changed(sympy.Matrix(n, n, lambda i, j: step.compute[i, j] if i == j else 0), step.compute)
    return None


def _softmax_sigmoid_swapped(step: Step) -> sympy.Matrix | None:
    """Softmax (over each column) where sigmoid is asked, or sigmoid where softmax is."""
    if step.kind in ("activation", "activation_forward") and step.facts.get("activation") == "sigmoid":
        if not all(isinstance(e, sigmoid) for e in step.compute):
            return None
        u = step.compute.applyfunc(lambda e: e.args[0])
        rows, cols = u.shape
        return sympy.Matrix(rows, cols, lambda i, j: sympy.exp(u[i, j]) / sum(sympy.exp(u[k, j]) for k in range(rows)))
    if step.kind == "softmax" and step.facts.get("input"):
        return _elements(step.facts["input"], step.target.shape).applyfunc(sigmoid)
    return None


def _half_confused(step: Step) -> sympy.Matrix | None:
    if step.kind == "loss" and step.facts.get("loss") == "squared_error":
        return step.compute * (2 if step.facts.get("half") else sympy.Rational(1, 2))
    return None


def _sum_for_mean(step: Step) -> sympy.Matrix | None:
    if step.kind == "loss" and step.facts.get("reduction") == "mean" and step.facts.get("outputs", 1) > 1:
        return step.compute * step.facts["outputs"]
    return None


def _weight_gradient_transposed(step: Step) -> sympy.Matrix | None:
    """∂L/∂W laid out the other way round (only a square W keeps its shape: a transposed
    answer of another shape is recognised by grading itself)."""
    weight = step.kind == "weight_gradient" or (step.kind == "linear_gradient" and step.facts.get("wrt") == "W")
    rows, cols = step.target.shape
    return _changed(step.compute.T, step.compute) if weight and rows == cols > 1 else None


def _sgd_ascent(step: Step) -> sympy.Matrix | None:
    """θ + η ∇L instead of θ − η ∇L: 2θ − (θ − η ∇L)."""
    if step.kind == "sgd_update":
        return 2 * _elements(step.facts["old"].key, step.target.shape) - step.compute
    return None


def _rounded(quantity: Quantity, value: np.ndarray) -> np.ndarray:
    """Every value rounded to 2 decimal places (half away from zero) before it is used."""
    return np.sign(value) * np.floor(np.abs(value) * 100 + 0.5) / 100


# -- the catalog ---------------------------------------------------------------------------------

RELU_MASK_FORGOTTEN = Mistake(
    "relu_mask_forgotten", "backpropagated through ReLU as if its derivative were 1 everywhere "
    "(forgot the mask ReLU'(z) = 0 for z ≤ 0)", step=_relu_as_identity, diagnostic=True)

KINK_SIDE_WRONG = Mistake(
    "kink_side_wrong", "took the derivative at the kink z = 0 from the other side (ReLU'(0) = 1 where "
    "the convention says 0)", step=_other_kink_side)

LEAKY_SLOPE_DROPPED = Mistake(
    "leaky_slope_dropped", "used ReLU's derivative 0 for z < 0 instead of leaky ReLU's slope α",
    step=_leaky_as_relu)

ELU_DERIVATIVE_AS_FUNCTION = Mistake(
    "elu_derivative_as_function", "took ELU'(z) for z < 0 as ELU(z) = α(eᶻ − 1) instead of α·eᶻ",
    step=_elu_derivative_as_function)

BIAS_DROPPED = Mistake(
    "bias_dropped", "left out the bias (in the pre-activations, or in the parameter count)",
    step=_no_bias_count, given=lambda q, value: np.zeros_like(value) if q.role == "bias" else None,
    diagnostic=True)

INPUT_CHANNELS_FORGOTTEN = Mistake(
    "input_channels_forgotten", "counted a filter's weights as k × k per filter, forgetting that each "
    "filter spans every input channel (k × k × C_in)", step=_no_input_channels)

OUTPUT_SIZE_WITHOUT_FLOOR = Mistake(
    "output_size_without_floor", "did not round (n + 2p − k)/s down before adding 1", step=_no_floor)

OUTPUT_SIZE_WITHOUT_PLUS_ONE = Mistake(
    "output_size_without_plus_one", "left out the + 1 of ⌊(n + 2p − k)/s⌋ + 1", step=_no_plus_one)

LOG_BASE_10 = Mistake(
    "log_base_10", "took logarithms to base 10 instead of natural logarithms in the loss", step=_log10)

LOSS_SIGN_DROPPED = Mistake(
    "loss_sign_dropped", "dropped the minus sign of the (negative log-likelihood) cross-entropy",
    step=_minus_dropped)

JACOBIAN_DIAGONAL_ONLY = Mistake(
    "jacobian_diagonal_only", "kept only the diagonal sᵢ(1 − sᵢ) of the softmax Jacobian, leaving out "
    "the off-diagonal −sᵢsⱼ", step=_jacobian_diagonal)

SOFTMAX_SIGMOID_CONFUSED = Mistake(
    "softmax_sigmoid_confused", "applied softmax where sigmoid is asked, or sigmoid where softmax is",
    step=_softmax_sigmoid_swapped)

SQUARED_LOSS_HALF_CONFUSED = Mistake(
    "squared_loss_half_confused", "used the squared loss with ½ where the problem has none, or without "
    "it where the problem has it", step=_half_confused)

SUM_FOR_MEAN = Mistake(
    "sum_for_mean", "summed the squared errors where the problem asks for their mean", step=_sum_for_mean)

WEIGHT_GRADIENT_TRANSPOSED = Mistake(
    "weight_gradient_transposed", "wrote the weight gradient transposed (e.g. a δᵀ instead of δ aᵀ)",
    step=_weight_gradient_transposed)

SGD_WRONG_SIGN = Mistake(
    "sgd_wrong_sign", "stepped along the gradient (θ + η∇L) instead of against it (θ − η∇L)",
    step=_sgd_ascent)

ROUNDED_INTERMEDIATES = Mistake(
    "rounded_intermediates", "rounded every intermediate value to 2 decimal places before using it",
    value=_rounded)

FILTER_FLIP_CONFUSED = Mistake(
    "filter_flip_confused", "flipped the filter for a cross-correlation, or did not flip it for a "
    "convolution", given=lambda q, value: np.flip(value) if q.role == "filter" else None, diagnostic=True)

CATALOG: tuple[Mistake, ...] = (
    RELU_MASK_FORGOTTEN, KINK_SIDE_WRONG, LEAKY_SLOPE_DROPPED, ELU_DERIVATIVE_AS_FUNCTION, BIAS_DROPPED,
    INPUT_CHANNELS_FORGOTTEN, OUTPUT_SIZE_WITHOUT_FLOOR, OUTPUT_SIZE_WITHOUT_PLUS_ONE, LOG_BASE_10,
    LOSS_SIGN_DROPPED, JACOBIAN_DIAGONAL_ONLY, SOFTMAX_SIGMOID_CONFUSED, SQUARED_LOSS_HALF_CONFUSED, SUM_FOR_MEAN,
    WEIGHT_GRADIENT_TRANSPOSED, SGD_WRONG_SIGN, ROUNDED_INTERMEDIATES, FILTER_FLIP_CONFUSED)
BY_NAME = {m.name: m for m in CATALOG}


# -- what a mistake does to a problem ------------------------------------------------------------

@dataclass
class Effect:
    """What one mistake does to one problem: the answers it changes (by answer name, as the
    key writes them) and the first quantity it gets wrong."""
    mistake: Mistake
    answers: dict[str, Any]
    quantity: str
    step: str  # the step kind that computes `quantity` ("given" for a given taken wrongly)
    correct: Any
    mistaken: Any

    def as_json(self) -> dict[str, Any]:
        return {"name": self.mistake.name, "why": self.mistake.why, "answers": self.answers,
                "step": {"quantity": self.quantity, "kind": self.step, "correct": self.correct,
                         "mistaken": self.mistaken}}


def accepted(answer: Answer, digits: int, value) -> bool:
    """Whether `value` (same shape as the answer, or not) grades as the answer."""
    value = np.asarray(value, dtype=float)
    if value.shape != answer.value.shape:
        return False
    return bool(np.all(T.accepts(answer.tolerance(digits), value, answer.value)))


def mistaken_answers(problem, solution: Solution, values: dict[str, np.ndarray]) -> list[Answer] | None:
    """The problem's answers computed from `values` (a replayed or carried-forward
    evaluation), or None when the kind cannot present them (e.g. a size that is no integer)."""
    kind = problem.kind
    try:
        with np.errstate(all="ignore"):
            return kind.answers_at(problem.spec, solution.derivation, dict(values))
    except (ValueError, TypeError, ArithmeticError, KeyError, IndexError, OverflowError):
        return None


def effect(mistake: Mistake, problem, solution: Solution) -> Effect | None:
    """The mistake's effect on the problem, or None if it changes no answer."""
    values = mistake.replay(problem.kind, problem)
    answers = mistaken_answers(problem, solution, values)
    if answers is None:
        return None
    changed = {}
    for right, wrong in zip(solution.answers, answers):
        value = np.asarray(wrong.value, dtype=float)
        if np.all(np.isfinite(value)) and not accepted(right, solution.digits, value):
            changed[right.name] = right.plain(value)
    if not changed:
        return None
    return Effect(mistake, changed, *_first_difference(solution, values))


def _first_difference(solution: Solution, values: dict[str, np.ndarray]) -> tuple[str, str, Any, Any]:
    derivation = solution.derivation
    order = [(q, "given") for q in derivation.givens] + [(s.target, s.kind) for s in derivation.steps]
    for quantity, kind in order:
        right, wrong = solution.values.get(quantity.key), values.get(quantity.key)
        if right is None or wrong is None or right.shape != wrong.shape:
            continue
        if not (np.array_equal(right, wrong, equal_nan=True)  # most are: a cheap test first
                or np.allclose(right, wrong, rtol=1e-12, atol=1e-12, equal_nan=True)):
            return quantity.key, kind, _plain(right), _plain(wrong)
    raise AssertionError("a mistake changed an answer but no quantity")


def _plain(value: np.ndarray) -> Any:
    value = np.where(np.isfinite(value), value, np.nan) + 0.0
    plain = np.where(np.isnan(value), None, value).tolist()
    if value.size == 1:
        return plain[0][0]
    return [row[0] for row in plain] if value.shape[1] == 1 else plain


def effects(problem, solution: Solution) -> list[Effect]:
    """Every mistake of the problem's kind that applies to it and changes an answer."""
    found = [effect(m, problem, solution) for m in problem.kind.mistakes if m.applies(problem, solution)]
    return [e for e in found if e is not None]


def answer_key(problems: list, solutions: list[Solution]) -> list[dict[str, Any]]:
    """The answer key of a variant (solvers.solution.answer_key) with, per problem, its
    digits shown and the mistakes it can detect with the wrong answers each gives."""
    from .solution import answer_key as plain_key
    key = plain_key(solutions)
    for entry, problem, solution in zip(key, problems, solutions):
        entry["digits"] = solution.digits
        entry["mistakes"] = [e.as_json() for e in effects(problem, solution)]
    return key


def same_answers(solution: Solution, values: dict[str, np.ndarray]) -> bool:
    """Whether `values` would be graded as giving every answer of `solution` right."""
    return all(answer.key in values and accepted(answer, solution.digits, values[answer.key])
               for answer in solution.answers)


def undetected(problem, solution: Solution) -> list[Mistake]:
    """The diagnostic mistakes of the problem's kind that apply to it and would still give
    every right answer."""
    kind = problem.kind
    return [m for m in kind.mistakes if m.diagnostic and m.applies(problem, solution)
            and same_answers(solution, m.replay(kind, problem))]
