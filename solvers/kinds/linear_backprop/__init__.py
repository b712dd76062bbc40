"""Matrix-form backprop through a linear module Z = WᵀA + W₀1ᵀ on a batch (one example per
column of A), and through the activation module after it: tanh, ReLU, or softmax with NLL.

SymPy builds Z from symbol matrices of the given shapes, differentiates
L = Σ (∂L/∂Z) ⊙ Z entry by entry and checks that the results are W·∂L/∂Z, A·(∂L/∂Z)ᵀ and the
row sums of ∂L/∂Z; it derives tanh' and ReLU' and the softmax+NLL gradient A − Y. The
reference is torch autograd on tensors of the same shapes.

Quantity keys: A (m×b), W (m×n), W0 (n×1), Z (n×b), dLdZ (n×b, given without an activation);
with an activation: Aout (its output), dLdAout (given, tanh and relu), dAout_dZ (f'(Z), tanh
and relu), Y and L (softmax_nll); backward: dLdA (m×b), dLdW (m×n), dLdW0 (n×1).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import sympy

from ... import formula as F
from ...activations import Activation
from ...core import Constraint
from ...derivation import Derivation, Quantity, Section, Step
from ... import mistakes as M
from ...kind import Kind, Parts
from ...solution import Answer, Item
from .reference import reference
from .spec import Spec, Structure, check, given_values, structure

# -- derivation ----------------------------------------------------------------------------------

L_SYMBOL = F.Var("L", "L")
ONES = F.Var("1", "1", "vector")


def _q(key: str, rows: int, cols: int, base: str, layer: str | None = None) -> Quantity:
    return Quantity(key, (rows, cols), F.Var(key, base, "scalar" if rows == cols == 1 else "matrix", layer))


def _partial(q: Quantity) -> Quantity:
    key = f"dLd{q.key}"
    return Quantity(key, q.shape, F.Partial(key, L_SYMBOL, q.symbol))


def _entry(q: Quantity, i, j) -> F.Node:
    return q.entry(i) if q.key in ("W0", "dLdW0") else q.entry(i, j)


def _sym(expr: sympy.Expr, *quantities: Quantity) -> F.Sym:
    """`expr` over entries of `quantities`, shown with their display symbols."""
    names = [(symbol, _entry(q, i, j)) for q in quantities for (i, j), symbol in
             np.ndenumerate(np.array(q.elements, dtype=object)) if symbol in expr.free_symbols]
    return F.Sym(expr, tuple(names))


def _pieces(*pieces: tuple[str, F.Node, int]) -> dict:
    """The operands of the line of numbers (operator, node, its columns); the renderer decides
    whether they fit on one line."""
    return {"operands": pieces}


def derive(s: Structure) -> Derivation:
    """The forward pass, if asked or needed by the activation's backward pass, and the backward pass."""
    m, n, b, act = s.inputs, s.outputs, s.batch, s.activation
    up, here = ("l-1", "l") if act else (None, None)
    q = {"A": _q("A", m, b, "A", up), "W": _q("W", m, n, "W", here), "W0": _q("W0", n, 1, "W_0", here),
         "Z": _q("Z", n, b, "Z", here), "Aout": _q("Aout", n, b, "A", here), "Y": _q("Y", n, b, "Y")}
    q["dLdZ"] = _partial(q["Z"])
    givens, sections = [q["A"], q["W"], q["W0"]], []
    if act == "softmax_nll":
        givens.append(q["Y"])
    if s.forward or act:
        sections.append(_forward(q, act, (m, n, b), s.forward))
    if s.backward:
        if act is None:
            givens.append(q["dLdZ"])
        else:
            sections.append(_activation_backward(q, act, givens))
        sections.append(_linear_backward(q, (m, n, b)))
    return Derivation(givens, sections)


def _forward(q: dict, act: str | None, sizes: tuple[int, int, int], asked: bool) -> Section:
    m, n, b = sizes
    A, W, W0, Z, Aout = (q[k] for k in ("A", "W", "W0", "Z", "Aout"))
    compute = W.elements.T * A.elements + W0.elements * sympy.ones(1, b)
    formula = F.Add(F.Mul(F.Transpose(W.symbol), A.symbol), F.Mul(W0.symbol, F.Transpose(ONES)))
    first = F.Add(*[F.Mul(W.entry(i, 0), A.entry(i, 0)) for i in range(m)], W0.entry(0))
    general = F.Add(F.Sum("i", F.Mul(W.entry("i", "k"), A.entry("i", "j"))), W0.entry("k"))
    pieces = _pieces(("first", F.Transpose(W.symbol), m), ("times", A.symbol, b),
                     ("plus", F.Mul(W0.symbol, F.Transpose(ONES)), 1))
    steps = [Step("linear_forward", Z, formula, compute, {"m": m, "n": n, "b": b, "general": general,
                                                          "entry": Z.entry("k", "j"), **pieces},
                  [(Z.entry(0, 0), first)])]
    if act in ("tanh", "relu"):
        f = Activation(act).numeric(Activation(act).symbolic())
        z = sympy.Symbol("z", real=True)
        steps.append(Step("activation_forward", Aout, F.Call(act, Z.symbol),
                          Z.elements.applyfunc(lambda e: f.subs(z, e)),
                          {"activation": act, "definition": Activation(act).definition(sympy.Symbol("z"))}))
    elif act == "softmax_nll":
        Ze, Ye = Z.elements, q["Y"].elements
        # evaluated with each column's largest score subtracted (the same values, no overflow)
        top = [sympy.Max(*Ze[:, j]) for j in range(b)]
        total = [sum(sympy.exp(Ze[k, j] - top[j]) for k in range(n)) for j in range(b)]
        steps.append(Step("softmax_forward", Aout, F.Call("softmax", Z.symbol),
                          sympy.Matrix(n, b, lambda i, j: sympy.exp(Ze[i, j] - top[j]) / total[j]), {"n": n}))
        loss = -sum(Ye[i, j] * (Ze[i, j] - top[j] - sympy.log(total[j])) for i in range(n) for j in range(b))
        generic = F.Neg(F.Sum("i,j", F.Mul(q["Y"].entry("i", "j"), F.Log(Aout.entry("i", "j")))))
        terms = [(i, j, F.Mul(q["Y"].entry(i, j), F.Log(Aout.entry(i, j)))) for j in range(b) for i in range(n)]
        steps.append(Step("nll_loss", _q("L", 1, 1, "L"), generic, sympy.Matrix([[loss]]),
                          {"Y": q["Y"].symbol, "terms": terms}))
    return Section("linear_forward", steps, {"activation": act, "asked": asked})


@lru_cache(maxsize=16)
def softmax_nll_gradient_checked(n: int) -> bool:
    """Differentiate ℓ = −Σ yᵢ ln softmax(z)ᵢ with SymPy and confirm ∂ℓ/∂z_j = a_j − y_j
    whenever Σ yᵢ = 1."""
    z, y = sympy.symbols(f"z0:{n}", real=True), sympy.symbols(f"y0:{n}", real=True)
    total = sum(sympy.exp(v) for v in z)
    a = [sympy.exp(v) / total for v in z]
    loss = -sum(yi * sympy.log(ai) for yi, ai in zip(y, a))
    for j in range(n):
        difference = (sympy.diff(loss, z[j]) - (a[j] - y[j])).subs(y[-1], 1 - sum(y[:-1]))
        if sympy.expand(sympy.together(sympy.expand_log(difference, force=True)).as_numer_denom()[0]) != 0:
            raise ArithmeticError(f"∂ℓ/∂z_{j} of softmax with NLL does not simplify to a_j − y_j")
    return True


def _activation_backward(q: dict, act: str, givens: list) -> Section:
    Z, Aout, dLdZ = q["Z"], q["Aout"], q["dLdZ"]
    z = sympy.Symbol("z", real=True)
    if act == "softmax_nll":
        facts = {"checked": softmax_nll_gradient_checked(Z.shape[0]), "n": Z.shape[0]}
        facts |= _pieces(("first", Aout.symbol, Z.shape[1]), ("minus", q["Y"].symbol, Z.shape[1]))
        step = Step("softmax_nll_backward", dLdZ, F.Sub(Aout.symbol, q["Y"].symbol),
                    Aout.elements - q["Y"].elements, facts)
        return Section("activation_backward", [step], {"activation": act, "A": Aout.symbol, "Z": Z.symbol})
    dLdAout = _partial(Aout)
    givens.append(dLdAout)
    local = Quantity("dAout_dZ", Z.shape, F.Partial("dAout_dZ", Aout.symbol, Z.symbol))
    f = Activation(act)
    facts = {"activation": act, "derivative": f.derivative(z), "call": F.Call(act, F.Var("z", "z"), True)}
    if act == "tanh":
        a = sympy.Symbol("a", real=True)
        facts["from_output"] = f.derivative_from_output(z, a)
        compute = sympy.Matrix(*Z.shape, lambda i, j: f.derivative_from_output(Z.elements[i, j], Aout.elements[i, j]))
        formula = F.Sub(F.Num(1), F.Hadamard(Aout.symbol, Aout.symbol))
        facts |= _pieces(("first", F.Sub(F.Num(1), Aout.symbol), Z.shape[1]), ("odot", Aout.symbol, Z.shape[1]))
    else:
        derivative = f.numeric(f.derivative(z))
        facts["at_zero"] = float(derivative.subs(z, 0))
        compute = Z.elements.applyfunc(lambda e: derivative.subs(z, e))
        formula = F.Call(act, Z.symbol, derivative=True)
    steps = [Step("activation_local", local, formula, compute, facts),
             Step("activation_backward", dLdZ, F.Hadamard(dLdAout.symbol, local.symbol),
                  dLdAout.elements.multiply_elementwise(local.elements),
                  {"activation": act, **_pieces(("first", dLdAout.symbol, Z.shape[1]),
                                                ("odot", local.symbol, Z.shape[1]))})]
    return Section("activation_backward", steps, {"activation": act, "A": Aout.symbol, "Z": Z.symbol})


def _linear_backward(q: dict, sizes: tuple[int, int, int]) -> Section:
    """Differentiate L = Σ (∂L/∂Z) ⊙ Z, with Z built from symbol matrices, and check the
    matrix forms."""
    m, n, b = sizes
    A, W, W0, Z, dLdZ = (q[k] for k in ("A", "W", "W0", "Z", "dLdZ"))
    G = dLdZ.elements
    Zexpr = W.elements.T * A.elements + W0.elements * sympy.ones(1, b)
    loss = sum(G.multiply_elementwise(Zexpr))
    linear_in_z = sum(G.multiply_elementwise(Z.elements))
    through_z = Z.elements.applyfunc(lambda e: sympy.diff(linear_in_z, e))
    forms = {"A": (W.elements * G, (W.symbol, dLdZ.symbol),
                   F.Sum("k", F.Mul(W.entry("i", "k"), dLdZ.entry("k", "j"))), ("i", "j"), ((m, n), (n, b))),
             "W": (A.elements * G.T, (A.symbol, F.Transpose(dLdZ.symbol)),
                   F.Sum("j", F.Mul(A.entry("i", "j"), dLdZ.entry("k", "j"))), ("i", "k"), ((m, b), (b, n))),
             "W0": (G * sympy.ones(b, 1), (dLdZ.symbol, ONES), F.Sum("j", dLdZ.entry("k", "j")), ("k",),
                    ((n, b), (b, 1)))}
    steps = []
    for key, (compact, (left, right), general, index, factors) in forms.items():
        wrt = q[key]
        derived = wrt.elements.applyfunc(lambda e: sympy.diff(loss, e))
        if (derived - compact).expand() != sympy.zeros(*wrt.shape):
            raise ArithmeticError(f"∂L/∂{key} derived by SymPy differs from its matrix form")
        gradient = _partial(wrt)
        terms = sorted(sympy.Add.make_args(derived[0, 0]), key=sympy.default_sort_key)
        facts = {"wrt": key, "shape": wrt.shape, "factors": factors, "general": general,
                 "entry": gradient.entry(*index), "first": gradient.entry(*(0,) * len(index)),
                 "terms": [_sym(term, A, W, W0, dLdZ) for term in terms],
                 **_pieces(("first", left, factors[0][1]), ("times", right, factors[1][1]))}
        parts = [(gradient.entry(k), F.Add(*[dLdZ.entry(k, j) for j in range(b)])) for k in range(n)] \
            if key == "W0" and b > 1 else []
        steps.append(Step("linear_gradient", gradient, F.Mul(left, right), derived, facts, parts))
    symbols = {k: q[k].symbol for k in ("A", "W", "W0", "Z", "dLdZ")}
    return Section("linear_backward", steps, {"m": m, "n": n, "b": b, "through_z": through_z == G, **symbols})


# -- solution ------------------------------------------------------------------------------------

def present(spec: Spec, derivation: Derivation, values) -> Parts:
    s = structure(spec)
    m, n, b, act = s.inputs, s.outputs, s.batch, s.activation
    q = derivation.quantities
    answers = []
    if spec.ask.forward:
        answers.append(Answer("forward.Z", "Z", q["Z"].symbol, values["Z"]))
        if act:
            answers.append(Answer("forward.A", "Aout", q["Aout"].symbol, values["Aout"]))
        if act == "softmax_nll":
            answers.append(Answer("loss", "L", q["L"].symbol, values["L"]))
    asked = []
    if spec.ask.backward:
        keys = (["dAout_dZ"] if act in ("tanh", "relu") else []) + (["dLdZ"] if act else [])
        keys += ["dLdA", "dLdW", "dLdW0"]
        names = {"dAout_dZ": "dAdZ"}
        answers += [Answer(f"backward.{names.get(k, k)}", k, q[k].symbol, values[k]) for k in keys]
        asked = [q[k].symbol for k in keys]
    sizes = {"m": m, "n": n, "b": b, "layer": act is not None}
    givens = [Item("linear_module", {**sizes, **{k: q[k].symbol for k in ("A", "W", "W0")}})]
    if act is None and spec.ask.backward:
        givens.append(Item("upstream_gradient", {"symbol": q["dLdZ"].symbol, "Z": q["dLdZ"].symbol.wrt}))
    if act:
        given = q["Y"] if act == "softmax_nll" else q.get("dLdAout")
        givens.append(Item("activation_module", {"activation": act, "symbol": given.symbol if given else None,
                                                 "Z": q["Z"].symbol, "A": q["Aout"].symbol}))
    questions = []
    if spec.ask.forward:
        questions.append(Item("linear_forward", {"activation": act, "Z": q["Z"].symbol,
                                                 "A": q["Aout"].symbol if act else None}))
    if spec.ask.backward:
        questions.append(Item("linear_backward", {"symbols": asked}))
    conventions = [Item("batch_columns", sizes), Item("gradient_shapes", {})]
    if act in ("tanh", "relu"):
        conventions.append(Item("elementwise_local", {"local": q["dAout_dZ"].symbol if spec.ask.backward else None}))
    if act == "relu":
        conventions.append(Item("relu_at_zero", {}))
    if act == "softmax_nll":
        conventions.append(Item("softmax_nll_batch", {}))
    return Parts(givens, questions, conventions, answers)


# -- variants ------------------------------------------------------------------------------------

def _mixed_mask(problem, solution, setting) -> bool:
    """ReLU: some pre-activations are positive and some are not (the mask matters)."""
    mask = solution.values.get("dAout_dZ")
    return mask is None or problem.spec.activation.type != "relu" or (mask.min() == 0 and mask.max() == 1)


CONSTRAINTS = {"mixed_mask": Constraint(True, _mixed_mask, "ReLU: the mask [Z > 0] has both zeros and ones")}


KIND = Kind("linear_backprop", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check, constraints=CONSTRAINTS, counts_from_zero=True,
            mistakes=(M.RELU_MASK_FORGOTTEN, M.KINK_SIDE_WRONG, M.LOG_BASE_10, M.LOSS_SIGN_DROPPED,
                      M.WEIGHT_GRADIENT_TRANSPOSED, M.ROUNDED_INTERMEDIATES))
