"""Softmax: its Jacobian derived two ways, the softmax + cross-entropy gradient, and why
softmax subtracts max(z).

SymPy derives ∂y_i/∂z_j with generic indices (the sum written e^{z_i} + e^{z_j} + R, R free
of both) by the quotient rule (cases i = j, i ≠ j) and through ln y_i, checks that both give
y_i(δ_ij − y_j), derives ∂L/∂z = y − t from that Jacobian, and proves that shifting every
score by c leaves softmax unchanged. The numeric part evaluates these forms; the naive
float64 softmax of large scores is computed as written (exp overflows to ∞, ∞/∞ is NaN;
each quotient e^u_k / S is one float64 division, as torch divides: 1/S alone can overflow).
The reference is torch: softmax, autograd, torch.autograd.functional.jacobian, cross_entropy.

Quantity keys: z, S, y; jacobian: J; cross-entropy: t, L, dL_dy, dL_dz_J, dL_dz; stability:
M, y_shift, chg (the shift changes the output, 0/1), fmax, zmax, u (the large scores), Eu,
Su, oku (naive quotient is a number, 0/1), qu (naive quotient, 0 where it is not a number),
over (Σ e^u overflows), Mu, su, Esu, Ssu, yu.
"""
from __future__ import annotations

from pathlib import Path

from ... import formula as F
from ... import mistakes as M
from ...core import Constraint
from ...derivation import Derivation
from ...kind import Kind, Parts
from ...solution import Answer, Item
from .derive import _partial, derive
from .reference import reference
from .spec import CLAIMS, Spec, asked, check, given_values, structure, target_vector  # noqa: F401 (target_vector: API)


def claim_label(claim: str, q: dict) -> F.Node:
    if claim == "shift_changes_output":
        return F.Relation(q["y_shift"].symbol, "!=", q["y"].symbol)
    return F.Relation(q["Su"].symbol, ">", q["fmax"].symbol)


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    q = derivation.quantities
    jacobian, ce, stability = asked(spec)
    z, y = q["z"].symbol, q["y"].symbol
    answers = [Answer("softmax", "y", y, values["y"])]
    givens = [Item("scores", {"z": z})]
    questions = [Item("softmax_outputs", {"y": y, "z": z})]
    conventions = [Item("indices", {"z": z, "n": len(spec.z), "first": q["z"].entry(0),
                                    "last": q["z"].entry(len(spec.z) - 1)})]
    if jacobian:
        answers.append(Answer("jacobian", "J", q["J"].symbol, values["J"]))
        questions.append(Item("jacobian", {"entry": _partial(q["y"].entry("i"), q["z"].entry("j"))}))
    if ce:
        answers += [Answer("cross_entropy.loss", "L", q["L"].symbol, values["L"]),
                    Answer("cross_entropy.output_gradient", "dL_dy", q["dL_dy"].symbol, values["dL_dy"]),
                    Answer("cross_entropy.gradient", "dL_dz", q["dL_dz"].symbol, values["dL_dz"])]
        target_class = spec.target if isinstance(spec.target, int) else None
        loss = next(step.formula for step in derivation.steps if step.kind == "ce_loss")
        class_loss = F.Neg(F.Log(q["y"].entry(target_class))) if target_class is not None else None
        givens.append(Item("target", {"t": q["t"].symbol, "class": target_class}))
        questions.append(Item("cross_entropy", {"loss": loss, "gradient": q["dL_dz"].symbol}))
        conventions.append(Item("cross_entropy", {"class": target_class, "t": q["t"].symbol, "loss": loss,
                                                  "class_loss": class_loss}))
    if stability:
        answers += [Answer("stability.probabilities", "yu", q["yu"].symbol, values["yu"]),
                    Answer("stability.naive_overflows", "over", claim_label("naive_overflows", q), values["over"],
                           boolean=True),
                    Answer("stability.shift_changes_output", "chg", claim_label("shift_changes_output", q),
                           values["chg"], boolean=True)]
        givens.append(Item("overflow", {"u": q["u"].symbol}))
        questions.append(Item("stability", {"u": q["u"].symbol, "z": z, "zk": q["z"].entry("k")}))
        conventions.append(Item("float64", {}))
    for index, statement in enumerate(spec.statements, 1):
        key = CLAIMS[statement.claim]
        answers.append(Answer(f"statement.{index}", key, claim_label(statement.claim, q), values[key], boolean=True))
        givens.append(Item("statement", {"index": index, "text": statement.text}))
    if spec.statements:
        questions.append(Item("statements", {"count": len(spec.statements)}))
    return Parts(givens, questions, conventions, answers)


# -- variants ---------------------------------------------------------------------------------------------

def _shows_overflow(problem, solution, setting) -> bool:
    return "over" not in solution.values or bool(solution.values["over"][0, 0])


CONSTRAINTS = {"shows_overflow": Constraint(True, _shows_overflow, "the naive softmax of `overflow` overflows")}


KIND = Kind("softmax", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check, constraints=CONSTRAINTS, counts_from_zero=True,
            mistakes=(M.LOG_BASE_10, M.LOSS_SIGN_DROPPED, M.JACOBIAN_DIAGONAL_ONLY, M.ROUNDED_INTERMEDIATES))
