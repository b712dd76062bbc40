"""The derivation of a network problem, built once per structure from SymPy's local
derivatives and the chain rule, layer by layer."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ... import formula as F
from ...activations import Activation, softmax_jacobian_checked
from ...derivation import Derivation, Quantity, Section, Step
from .spec import LayerShape, Structure

ONES = F.Var("ones", "1", "vector")  # the vector of ones a shared bias is multiplied by: z = W a + b 1


def _sym(expr: sympy.Expr, *quantities: Quantity) -> F.Sym:
    """`expr` over entries of `quantities`, shown with their display symbols."""
    names = []
    for q in quantities:
        for (i, j), symbol in np.ndenumerate(np.array(q.elements, dtype=object)):
            if symbol in expr.free_symbols:
                names.append((symbol, q.at(i) if q.shape[1] == 1 else q.entry(i, j)))
    return F.Sym(expr, tuple(names))


@dataclass(frozen=True)
class _Generic:
    """One generic output entry a_i with target y_i, of an output of n entries."""
    a: sympy.Symbol
    y: sympy.Symbol
    n: int


class _Builder:
    """Builds the sections of one network derivation; one method per kind of step."""

    def __init__(self, s: Structure):
        self.s = s
        self.loss_symbol = F.Var("L", s.loss_name)
        n0 = s.layers[0].inputs
        self.x = Quantity.named("x", n0, 1, s.input_name)
        self.y = Quantity.named("y", s.outputs, 1, "y")
        self.eta = Quantity.named("eta", 1, 1, "eta")
        self.params = {l: self._params(l, layer, "", 0) for l, layer in enumerate(s.layers, 1) if layer.dense}
        self.givens = [self.x] + [q for pair in self.params.values() for q in pair if q] + [self.y]
        if s.sgd_steps:
            self.givens.append(self.eta)
        self.sections: list[Section] = []
        self.step = 0  # the SGD step being derived (0 without SGD)

    def _partial(self, q: Quantity) -> Quantity:
        """The quantity ∂L/∂q."""
        key = f"dL_d{q.key}"
        return Quantity(key, q.shape, F.Partial(key, self.loss_symbol, q.symbol))

    def _layered(self, base: str, l: int) -> tuple[str, int | None]:
        """The base and layer superscript of layer l's `base` (z, a): z^{(l)}, or z_l."""
        return (f"{base}_{l}", None) if self.s.layer_index == "subscript" else (base, l)

    def _params(self, l: int, layer: LayerShape, suffix: str, primes: int):
        rows, cols = (layer.units, layer.inputs) if self.s.layout == "rows" else (layer.inputs, layer.units)
        superscript = None if layer.without_superscript else l
        weights = Quantity.named(f"W{l}{suffix}", rows, cols, layer.weight_name, superscript, primes)
        bias = (Quantity.named(f"b{l}{suffix}", 1 if layer.shared_bias else layer.units, 1, layer.bias_name,
                               superscript, primes, role="bias") if layer.bias else None)
        return weights, bias

    def build(self) -> Derivation:
        for k in range(max(self.s.sgd_steps, 1)):
            self.step, suffix = k, f"+{k}" if k else ""
            facts = {"step": k + 1, "steps": self.s.sgd_steps}
            outputs = self.forward(suffix, facts)
            if self.s.loss:
                self.loss(outputs, suffix, facts)
                if self.s.wanted or self.s.deltas or self.s.sgd_steps:
                    gradients = self.backward(outputs, suffix, facts)
                    if self.s.sgd_steps:
                        self.update(gradients, k + 1, facts)
        return Derivation(self.givens, self.sections)

    # -- forward ---------------------------------------------------------------------
    def forward(self, suffix: str, facts: dict) -> list[tuple[Quantity, Quantity]]:
        """Steps z = W a + b and a = f(z) for every layer; returns (p, a) per layer, p
        being what the activation is applied to (z, or the previous a)."""
        steps, outputs, u = [], [], self.x
        for l, layer in enumerate(self.s.layers, 1):
            p = u
            if layer.dense:
                p = Quantity.named(f"z{l}{suffix}", layer.units, 1, *self._layered("z", l))
                steps.append(self.linear(l, u, p))
            a = Quantity.named(f"a{l}{suffix}", layer.units, 1, *self._layered("a", l))
            steps.append(self.activation(layer.activation, p, a))
            outputs.append((p, a))
            u = a
        self.sections.append(Section("forward", steps, facts))
        return outputs

    def linear(self, l: int, u: Quantity, z: Quantity) -> Step:
        weights, bias = self.params[l]
        rows = self.s.layout == "rows"
        shared = self.s.layers[l - 1].shared_bias
        product = F.Mul(weights.symbol if rows else F.Transpose(weights.symbol), u.symbol)
        added = F.Mul(bias.symbol, ONES) if shared else bias.symbol if bias else None
        formula = F.Add(product, added) if bias else product
        compute = (weights.elements if rows else weights.elements.T) * u.elements
        if bias:
            compute += bias.elements[0, 0] * sympy.ones(*z.shape) if shared else bias.elements
        parts = []
        if z.shape != (1, 1) or u.shape != (1, 1):
            for i in range(z.shape[0]):
                terms = [F.Mul(weights.at(i, j) if rows else weights.at(j, i), u.at(j))
                         for j in range(u.shape[0])]
                parts.append((z.at(i), F.Add(*terms, bias.at(i)) if bias else F.Add(*terms)))
        return Step("linear", z, formula, compute, {"layout": self.s.layout, "layer": l, "bias": bias is not None,
                                                    "shared": shared}, parts)

    def activation(self, act: Activation, p: Quantity, a: Quantity) -> Step:
        facts = {"activation": act.name, "alpha": act.alpha, "input": p.key,
                 "function": F.Call(act.name, F.Var("z", "z")),
                 "definition": act.definition(sympy.Symbol("z")) if act.elementwise else None}
        if not act.elementwise:
            exps = [sympy.exp(q - sympy.Max(*p.elements)) for q in p.elements]
            compute = sympy.Matrix([e / sum(exps) for e in exps])
            total = F.Add(*[F.Call("exp", p.at(j)) for j in range(p.shape[0])])
            parts = [(a.at(i), F.Frac(F.Call("exp", p.at(i)), total)) for i in range(p.shape[0])]
            return Step("softmax", a, F.Call("softmax", p.symbol), compute, facts, parts)
        compute = sympy.Matrix([act.numeric(act.symbolic(q)) for q in p.elements])
        parts = [(a.at(i), F.Call(act.name, p.at(i))) for i in range(p.shape[0])]
        return Step("activation", a, F.Call(act.name, p.symbol), compute, facts,
                    parts if act.name != "identity" else [])

    # -- loss --------------------------------------------------------------------------
    def loss(self, outputs, suffix: str, facts: dict) -> Quantity:
        (p, a), (kind_, half, reduction) = outputs[-1], self.s.loss
        L = Quantity(f"L{suffix}", (1, 1), F.Var(f"L{suffix}", self.s.loss_name))
        n, y = a.shape[0], self.y
        if kind_ == "cross_entropy":
            formula = F.Neg(F.Sum("i", F.Mul(y.symbol.entry("i"), F.Log(a.symbol.entry("i")))))
            expanded = F.Neg(F.Add(*[F.Mul(y.at(i), F.Log(a.at(i))) for i in range(n)]))
            m = sympy.Max(*p.elements)
            compute = m + sympy.log(sum(sympy.exp(q - m) for q in p.elements)) - (y.elements.T * p.elements)[0]
        elif kind_ == "binary_cross_entropy":
            one = F.Num(1)
            formula = F.Neg(F.Add(F.Mul(y.symbol, F.Log(a.symbol)),
                                  F.Mul(F.Paren(F.Sub(one, y.symbol)), F.Log(F.Sub(one, a.symbol)))))
            expanded = None
            q, t = p.elements[0], y.elements[0]
            compute = sympy.Max(q, 0) - q * t + sympy.log(1 + sympy.exp(-sympy.Abs(q)))
        else:
            scale = (sympy.Rational(1, 2) if half else 1) / (n if reduction == "mean" else 1)
            square = F.Pow(F.Sub(a.at("i"), y.at("i")), F.Num(2))
            body = F.Sum("i", square) if n > 1 else F.Pow(F.Sub(a.symbol, y.symbol), F.Num(2))
            formula = F.Mul(F.Sym(scale), body) if scale != 1 else body
            terms = F.Add(*[F.Pow(F.Sub(a.at(i), y.at(i)), F.Num(2)) for i in range(n)])
            expanded = (F.Mul(F.Sym(scale), F.Paren(terms)) if scale != 1 else terms) if n > 1 else None
            compute = scale * sum((q - t) ** 2 for q, t in zip(a.elements, y.elements))
        parts = [(L.symbol, expanded)] if expanded else []
        step = Step("loss", L, formula, sympy.Matrix([[compute]]),
                    {"loss": kind_, "half": half, "reduction": reduction, "outputs": n}, parts)
        self.sections.append(Section("loss", [step], facts))
        return L

    def loss_expression(self, a: Quantity) -> sympy.Expr:
        """L as a SymPy expression of the output's entries, to differentiate."""
        kind_, half, reduction = self.s.loss
        if isinstance(a, _Generic):
            av, yv = [a.a], [a.y]
        else:
            av, yv = list(a.elements), list(self.y.elements)
        if kind_ == "cross_entropy":
            return -sum(t * sympy.log(q) for q, t in zip(av, yv))
        if kind_ == "binary_cross_entropy":
            return -(yv[0] * sympy.log(av[0]) + (1 - yv[0]) * sympy.log(1 - av[0]))
        n = a.n if isinstance(a, _Generic) else len(av)
        scale = (sympy.Rational(1, 2) if half else 1) / (n if reduction == "mean" else 1)
        return scale * sum((q - t) ** 2 for q, t in zip(av, yv))

    # -- backward ----------------------------------------------------------------------
    def backward(self, outputs, suffix: str, facts: dict) -> dict[str, Quantity]:
        """Steps from ∂L/∂a of the output down to the lowest layer anything is asked of."""
        s, steps, gradients = self.s, [], {}
        lowest = self._lowest_layer()
        top = len(s.layers)
        p, a = outputs[-1]
        last = s.layers[-1].activation.name
        shortcut = (s.loss[0], last) in (("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid"))
        if shortcut:
            delta = self._partial(p)
            steps.append(Step("output_shortcut", delta, F.Sub(a.symbol, self.y.symbol),
                              a.elements - self.y.elements, {"loss": s.loss[0], "activation": last,
                                                                "L": self.loss_symbol}))
        else:
            g = self._partial(a)
            steps.append(self.loss_gradient(a, g))
        for l in range(top, lowest - 1, -1):
            layer, (p, a) = s.layers[l - 1], outputs[l - 1]
            if not (shortcut and l == top):
                delta = self.activation_backward(layer.activation, p, a, g, f"{l}{suffix}", steps)
            if layer.dense:
                u = outputs[l - 2][1] if l > 1 else self.x
                gradients.update(self.parameter_gradients(l, u, delta, steps))
                if l > lowest:
                    g = self._partial(u)
                    steps.append(self.input_gradient(l, delta, g, u))
            else:
                g = delta
        self.sections.append(Section("backward", steps, facts))
        return gradients

    def _lowest_layer(self) -> int:
        s = self.s
        if s.deltas:
            return min(l for l, layer in enumerate(s.layers, 1) if layer.dense)
        return min(l for l, pair in self.params.items() for q in pair if q and self._needed(q.key.split("+")[0]))

    def loss_gradient(self, a: Quantity, g: Quantity) -> Step:
        """∂L/∂a of the output, entry by entry, differentiated by SymPy; the formula shown
        is the derivative of one generic entry i."""
        expr = self.loss_expression(a)
        compute = sympy.Matrix([sympy.diff(expr, q) for q in a.elements])
        ai, yi = sympy.symbols("a_i y_i", real=True)
        generic = sympy.factor_terms(sympy.diff(self.loss_expression(_Generic(ai, yi, a.shape[0])), ai))
        formula = F.Sym(generic, ((ai, a.at("i")), (yi, self.y.at("i"))))
        parts = [(g.at(i), _sym(sympy.factor_terms(compute[i]), a, self.y)) for i in range(a.shape[0])]
        return Step("loss_gradient", g, formula, compute,
                    {"loss": self.s.loss[0], "entry": g.at("i")}, parts if a.shape != (1, 1) else [])

    def activation_backward(self, act: Activation, p, a, g, tag: str, steps: list[Step]) -> Quantity:
        """∂L/∂p from ∂L/∂a: the element-wise f'(p) ⊙ g, or the softmax Jacobian's Jᵀ g.
        `tag` is the layer number with the SGD-step suffix."""
        delta = self._partial(p)
        if not act.elementwise:
            softmax_jacobian_checked(p.shape[0])
            J = Quantity(f"J{tag}", (p.shape[0], p.shape[0]), F.Partial(f"J{tag}", a.symbol, p.symbol))
            n = p.shape[0]
            compute = sympy.Matrix(n, n, lambda i, j: a.elements[i] * (int(i == j) - a.elements[j]))
            steps.append(Step("softmax_jacobian", J, F.Sub(F.Diag(a.symbol), F.Mul(a.symbol, F.Transpose(a.symbol))),
                              compute, {"entry_i": J.symbol.entry("i", "j")}))
            steps.append(Step("jacobian_backward", delta, F.Mul(F.Transpose(J.symbol), g.symbol),
                              J.elements.T * g.elements))
            return delta
        d = Quantity(f"fprime{tag}", p.shape, F.Partial(f"fprime{tag}", a.symbol, p.symbol))
        compute = sympy.Matrix([act.derivative_from_output(q, o) for q, o in zip(p.elements, a.elements)])
        parts = []
        for i in range(p.shape[0]):
            if act.name in ("sigmoid", "tanh"):
                parts.append((d.at(i), _sym(compute[i], a)))
            elif act.name != "identity":
                parts.append((d.at(i), F.Call(act.name, p.at(i), derivative=True)))
        facts = {"activation": act.name, "alpha": act.alpha, "kink": act.kink,
                 "function": F.Call(act.name, F.Var("z", "z"), derivative=True),
                 "derivative": act.derivative(sympy.Symbol("z")), "at_kink": act.derivative_at_kink()}
        steps.append(Step("activation_derivative", d, F.Call(act.name, p.symbol, derivative=True),
                          compute, facts, parts))
        hadamard = sympy.Matrix([x * y for x, y in zip(d.elements, g.elements)])
        steps.append(Step("activation_backward", delta, F.Hadamard(d.symbol, g.symbol), hadamard))
        return delta

    def _needed(self, key: str) -> bool:
        """Whether a parameter's gradient is computed: asked (of the first SGD step), or used by the
        SGD step (a frozen parameter's is not)."""
        return key in self.s.wanted and self.step == 0 or bool(self.s.sgd_steps) and key not in self.s.frozen

    def parameter_gradients(self, l: int, u: Quantity, delta: Quantity, steps: list[Step]) -> dict:
        """∂L/∂W and ∂L/∂b from ∂L/∂z, with the local derivatives ∂z/∂W, ∂z/∂b as facts."""
        weights, bias = self.params[l]
        local, out = self._local(weights, bias, u, delta), {}
        if self._needed(f"W{l}"):
            dW = self._partial(weights)
            if self.s.layout == "rows":
                formula, compute = F.Mul(delta.symbol, F.Transpose(u.symbol)), delta.elements * u.elements.T
            else:
                formula, compute = F.Mul(u.symbol, F.Transpose(delta.symbol)), u.elements * delta.elements.T
            entry = (dW.at("i", "j"), F.Mul(local["dL_dz"], local["input"]))
            steps.append(Step("weight_gradient", dW, formula, compute,
                              {**local, "layout": self.s.layout, "entry": entry}))
            out[f"W{l}"] = dW
        if bias and self._needed(f"b{l}"):
            db = self._partial(bias)
            if self.s.layers[l - 1].shared_bias:  # every unit's z_i = ... + b: the gradient sums over the units
                unit = "i" if self.s.layout == "rows" else "j"
                terms = F.Add(*[delta.at(i) for i in range(delta.shape[0])])
                steps.append(Step("shared_bias_gradient", db, F.Sum(unit, delta.at(unit)),
                                  sympy.Matrix([[sum(delta.elements)]]), {**local, "units": delta.shape[0]},
                                  [(db.symbol, terms)]))
            else:
                steps.append(Step("bias_gradient", db, delta.symbol, delta.elements, local))
            out[f"b{l}"] = db
        return out

    def _local(self, weights: Quantity, bias: Quantity | None, u: Quantity, delta: Quantity) -> dict:
        """One unit's pre-activation written out, and its local derivatives, as display nodes:
        z_i = Σ_j W_ij a_j + b_i with ∂z_i/∂W_ij = a_j, ∂z_i/∂b_i = 1, ∂z_i/∂a_j = W_ij
        (indices swapped in the columns layout)."""
        unit, source = ("i", "j") if self.s.layout == "rows" else ("j", "i")
        z = delta.symbol.wrt
        z_unit = z.entry(unit) if z.shape != "scalar" else z
        w = weights.at("i", "j")
        a = u.at(source)
        total = F.Sum(source, F.Mul(w, a)) if u.shape != (1, 1) else F.Mul(w, a)
        return {"unit": z_unit, "sum": F.Add(total, bias.at(unit)) if bias else total,
                "dz_dW": F.Partial("", z_unit, w), "input": a, "weight": w,
                "dz_db": F.Partial("", z_unit, bias.at(unit)) if bias else None,
                "dz_da": F.Partial("", z_unit, a), "dL_dz": delta.at(unit),
                "dL_da": F.Partial("", self.loss_symbol, a), "source": source}

    def input_gradient(self, l: int, delta: Quantity, g: Quantity, u: Quantity) -> Step:
        weights, bias = self.params[l]
        rows = self.s.layout == "rows"
        formula = F.Mul(F.Transpose(weights.symbol) if rows else weights.symbol, delta.symbol)
        compute = (weights.elements.T if rows else weights.elements) * delta.elements
        facts = {**self._local(weights, bias, u, delta), "layout": self.s.layout}
        return Step("input_gradient", g, formula, compute, {**facts, "units": delta.shape[0]})

    # -- SGD -----------------------------------------------------------------------------
    def update(self, gradients: dict[str, Quantity], k: int, facts: dict) -> None:
        steps, new_params, frozen = [], {}, []
        for l, (weights, bias) in self.params.items():
            new_w, new_b = self._params(l, self.s.layers[l - 1], f"+{k}", k if k <= 3 else 0)
            kept = []
            for old, new in ((weights, new_w), (bias, new_b)):
                if old is None:
                    continue
                if old.key.split("+")[0] in self.s.frozen:  # not trained: the next step uses it as it is
                    kept.append(old)
                    continue
                grad = gradients[old.key.split("+")[0]]
                formula = F.Sub(old.symbol, F.Mul(self.eta.symbol, grad.symbol))
                compute = old.elements - self.eta.elements[0] * grad.elements
                steps.append(Step("sgd_update", new, formula, compute, {"old": old.symbol}))
            new_params[l] = tuple(old if old in kept else new for old, new in ((weights, new_w), (bias, new_b)))
            frozen += [q.symbol for q in kept]
        self.params = new_params
        self.sections.append(Section("sgd", steps, {**facts, "eta": self.eta.symbol, "frozen": frozen}))


def derive(s: Structure) -> Derivation:
    """The derivation for one network structure."""
    return _Builder(s).build()
