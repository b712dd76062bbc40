"""The derivation of a network problem, built once per structure from SymPy's local
derivatives and the chain rule, layer by layer."""
from __future__ import annotations

import sympy

from ... import formula as F
from ...activations import Activation, softmax_jacobian_checked
from ...derivation import Derivation, Quantity, Section, Step
from .examples import Examples, shown_as
from .jacobian import jacobian_section
from .loss import loss_gradient, loss_step
from .optimize import FULL_STEPS, Optimizer, later_steps_section, update_section
from .spec import MOST_UNITS, LayerShape, Structure

ONES = F.Var("ones", "1", "vector")  # the vector of ones a shared bias is multiplied by: z = W a + b 1


class _Builder:
    """Builds the sections of one network derivation; one method per kind of step."""

    def __init__(self, s: Structure):
        self.s = s
        self.loss_symbol = F.Var("L", s.loss_name)
        n0 = s.layers[0].inputs
        self.rows = s.layout == "rows"
        self.ex = Examples(s.batch, self.rows)
        self.of_symbol = self.loss_symbol if s.of == "L" else self._layer_output(s.of[0], s.of_layer, "").symbol
        self.x = self.ex.quantity("x", n0, s.input_name)
        self.y = self.ex.quantity("y", s.outputs, "y")
        self.optimizer = Optimizer(s.optimizer)
        self.params = {l: self._params(l, layer, "", 0) for l, layer in enumerate(s.layers, 1) if layer.dense}
        self.givens = [self.x] + [q for pair in self.params.values() for q in pair if q] + [self.y]
        if s.sgd_steps:
            self.givens += self.optimizer.givens
        self.sections: list[Section] = []
        self.step = 0  # the SGD step being derived (0 without SGD)

    def _partial(self, q: Quantity) -> Quantity:
        """The quantity ∂L/∂q."""
        key = f"dL_d{q.key}"
        return Quantity(key, q.shape, F.Partial(key, self.of_symbol, q.symbol))

    def _layer_output(self, base: str, l: int, suffix: str) -> Quantity:
        """Layer l's pre-activation (`base` z) or activation (a); the last activation may have a name."""
        units = self.s.layers[l - 1].units
        if base == "a" and l == len(self.s.layers) and self.s.output_name:
            return self.ex.quantity(f"a{l}{suffix}", units, self.s.output_name)
        return self.ex.quantity(f"{base}{l}{suffix}", units, *self._layered(base, l))

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
        tabulated = self.s.sgd_steps > FULL_STEPS  # then the steps after the first are shown as a table
        for k in range(max(self.s.sgd_steps, 1)):
            self.step, suffix = k, f"+{k}" if k else ""
            facts = {"step": k + 1, "steps": self.s.sgd_steps, "tabulated": tabulated and k > 0,
                     "optimizer": self.s.optimizer[0]}
            outputs = self.forward(suffix, facts)
            if not k:
                given = outputs, dict(self.params)  # the forward pass at the given parameters
            if self.s.loss:
                self.sections.append(Section("loss", [loss_step(self, outputs, suffix)], facts))
            if (self.s.wanted or self.s.deltas or self.s.sgd_steps) and (self.s.loss or self.s.of != "L"):
                gradients = self.backward(outputs, suffix, facts)
                if self.s.sgd_steps:
                    self.sections.append(update_section(self, gradients, k + 1, facts))
        if tabulated:
            self.sections.append(later_steps_section(self))
        for of, wrt in self.s.jacobians:  # at the given parameters
            section = jacobian_section(self, *given, of, wrt)
            self.sections += [section] if section else []
        return Derivation(self.givens, self.sections)

    # -- forward ---------------------------------------------------------------------
    def forward(self, suffix: str, facts: dict) -> list[tuple[Quantity, Quantity]]:
        """Steps z = W a + b and a = f(z) for every layer; returns (p, a) per layer, p
        being what the activation is applied to (z, or the previous a)."""
        steps, outputs, u = [], [], self.x
        for l, layer in enumerate(self.s.layers, 1):
            p = u
            if layer.dense:
                p = self._layer_output("z", l, suffix)
                steps.append(self.linear(l, u, p))
            a = self._layer_output("a", l, suffix)
            steps.append(self.activation(layer.activation, p, a))
            outputs.append((p, a))
            u = a
        self.sections.append(Section("forward", steps, facts))
        return outputs

    def linear(self, l: int, u: Quantity, z: Quantity) -> Step:
        weights, bias = self.params[l]
        shared = self.s.layers[l - 1].shared_bias
        W, U = weights.elements, u.elements
        if not self.s.batch or self.rows:  # z = W a + b, Z = W X + b 1ᵀ; columns: z = Wᵀ a + b
            product = F.Mul(weights.symbol if self.rows else F.Transpose(weights.symbol), u.symbol)
            compute = (W if self.rows else W.T) * U
            broadcast = F.Transpose(ONES) if self.s.batch else None
        else:  # a row per example: Z = X W + 1 bᵀ
            product, compute, broadcast = F.Mul(u.symbol, weights.symbol), U * W, None
        formula = product
        if bias:
            b = bias.elements
            if shared:
                added, compute = F.Mul(bias.symbol, ONES), compute + b[0, 0] * sympy.ones(*z.shape)
            elif not self.s.batch:
                added, compute = bias.symbol, compute + b
            elif self.rows:
                added, compute = F.Mul(bias.symbol, broadcast), compute + b * sympy.ones(1, self.s.batch)
            else:
                added, compute = F.Mul(ONES, F.Transpose(bias.symbol)), compute + sympy.ones(self.s.batch, 1) * b.T
            formula = F.Add(product, added)
        parts = []
        if (z.shape != (1, 1) or u.shape != (1, 1)) and self.ex.units(u) <= MOST_UNITS:  # sums that fit a line
            for i, n in self.ex.entries(z):
                terms = [F.Mul(weights.at(i, j) if self.rows else weights.at(j, i), self.ex.at(u, j, n))
                         for j in range(self.ex.units(u))]
                parts.append((self.ex.at(z, i, n), F.Add(*terms, bias.at(i)) if bias else F.Add(*terms)))
        return Step("linear", z, formula, compute, {"layout": self.s.layout, "layer": l, "bias": bias is not None,
                                                    "shared": shared, "batch": self.s.batch}, parts)

    def activation(self, act: Activation, p: Quantity, a: Quantity) -> Step:
        facts = {"activation": act.name, "alpha": act.alpha, "input": p.key,
                 "function": F.Call(act.name, F.Var("z", "z")),
                 "definition": act.definition(sympy.Symbol("z")) if act.elementwise else None}
        entries = self.ex.entries(p)
        if not act.elementwise:
            def softmax(column):
                largest = sympy.Max(*column, evaluate=False)  # evaluating compares every pair: slow, no gain
                exps = [sympy.exp(q - largest) for q in column]
                return [e / sum(exps) for e in exps]
            compute = self.ex.join([softmax(column) for column in self.ex.split(p)])
            parts = [(self.ex.at(a, i, n), F.Frac(F.Call("exp", self.ex.at(p, i, n)), F.Add(
                *[F.Call("exp", self.ex.at(p, j, n)) for j in range(self.ex.units(p))])))
                     for i, n in entries]
            return Step("softmax", a, F.Call("softmax", p.symbol), compute, {**facts, "batch": self.s.batch}, parts)
        compute = p.elements.applyfunc(lambda q: act.numeric(act.symbolic(q)))
        parts = [(self.ex.at(a, i, n), F.Call(act.name, self.ex.at(p, i, n))) for i, n in entries]
        return Step("activation", a, F.Call(act.name, p.symbol), compute, facts,
                    parts if act.name != "identity" else [])

    # -- loss --------------------------------------------------------------------------
    # -- backward ----------------------------------------------------------------------
    def backward(self, outputs, suffix: str, facts: dict) -> dict[str, Quantity]:
        """Steps from ∂L/∂a of the output down to the lowest layer anything is asked of."""
        s, steps, gradients = self.s, [], {}
        lowest = self._lowest_layer()
        top = s.of_layer
        p, a = outputs[top - 1]
        if s.of != "L":  # the gradients of z or a of one entry: it starts with ∂q/∂q = 1
            shortcut = s.of.startswith("z")
            g = delta = self._partial(p if shortcut else a)
            steps.append(Step("seed", g, F.Num(1), sympy.Matrix([[1]]), {"of": self.of_symbol}))
        elif (s.loss[0], s.layers[-1].activation.name) in (("cross_entropy", "softmax"),
                                                           ("binary_cross_entropy", "sigmoid")):
            shortcut, last = True, s.layers[-1].activation.name
            delta = self._partial(p)
            scale = sympy.Rational(1, s.batch) if s.batch and s.batch_reduction == "mean" else 1
            difference = F.Sub(a.symbol, self.y.symbol)
            steps.append(Step("output_shortcut", delta, F.Mul(F.Sym(scale), F.Paren(difference)) if scale != 1
                              else difference, scale * (a.elements - self.y.elements),
                              {"loss": s.loss[0], "activation": last, "L": self.loss_symbol, "batch": s.batch,
                               "scale": scale, **{name: self.ex.one(q) for name, q in
                                                  (("a", a), ("y", self.y), ("p", p))}}))
        else:
            shortcut = False
            g = self._partial(a)
            steps.append(loss_gradient(self, a, g))
        for l in range(top, max(lowest, 1) - 1, -1):  # lowest 0: down to ∂L/∂x
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
        self.sections.append(Section("backward", steps, {**facts, "of": None if s.of == "L" else self.of_symbol}))
        return gradients

    def _lowest_layer(self) -> int:
        """The lowest layer the backward pass reaches; 0 when ∂L/∂x is asked."""
        s = self.s
        if "x" in s.wanted and self.step == 0:
            return 0
        if s.deltas:
            return min(l for l, layer in enumerate(s.layers, 1) if layer.dense)
        return min(l for l, pair in self.params.items() for q in pair if q and self._needed(q.key.split("+")[0]))

    def activation_backward(self, act: Activation, p, a, g, tag: str, steps: list[Step]) -> Quantity:
        """∂L/∂p from ∂L/∂a: the element-wise f'(p) ⊙ g, or the softmax Jacobian's Jᵀ g.
        `tag` is the layer number with the SGD-step suffix. When the gradients are of `a` itself
        (g is ∂a/∂a = 1), the local derivative is the gradient: ∂f/∂z = f'(z), no product."""
        delta = self._partial(p)
        seeded = self.s.of == a.key
        local = self.local_derivative(act, p, a, tag, delta if seeded else None)
        steps.append(local)
        if seeded:
            return delta
        d = local.target
        if not act.elementwise:
            steps.append(Step("jacobian_backward", delta, F.Mul(F.Transpose(d.symbol), g.symbol),
                              d.elements.T * g.elements))
        else:
            steps.append(Step("activation_backward", delta, F.Hadamard(d.symbol, g.symbol),
                              d.elements.multiply_elementwise(g.elements)))
        return delta

    def local_derivative(self, act: Activation, p, a, tag: str, target: Quantity | None = None) -> Step:
        """The activation's local derivative at p: f'(p) entry by entry (as `target` when given), or
        softmax's Jacobian J{tag}."""
        if not act.elementwise:
            n = p.shape[0]
            softmax_jacobian_checked(n)
            J = Quantity(f"J{tag}", (n, n), F.Partial(f"J{tag}", a.symbol, p.symbol))
            compute = sympy.Matrix(n, n, lambda i, j: a.elements[i] * (int(i == j) - a.elements[j]))
            return Step("softmax_jacobian", J, F.Sub(F.Diag(a.symbol), F.Mul(a.symbol, F.Transpose(a.symbol))),
                        compute, {"entry_i": J.symbol.entry("i", "j")})
        d = target or Quantity(f"fprime{tag}", p.shape, F.Partial(f"fprime{tag}", a.symbol, p.symbol))
        rows, cols = p.shape
        compute = sympy.Matrix(rows, cols, lambda i, j: act.derivative_from_output(p.elements[i, j], a.elements[i, j]))
        parts = []
        for i, n in self.ex.entries(p):
            if act.name in ("sigmoid", "tanh"):
                parts.append((self.ex.at(d, i, n), shown_as(compute[self.ex.index(p, i, n)], a)))
            elif act.name != "identity":
                parts.append((self.ex.at(d, i, n), F.Call(act.name, self.ex.at(p, i, n), derivative=True)))
        facts = {"activation": act.name, "alpha": act.alpha, "kink": act.kink,
                 "function": F.Call(act.name, F.Var("z", "z"), derivative=True),
                 "derivative": act.derivative(sympy.Symbol("z")), "at_kink": act.derivative_at_kink()}
        return Step("activation_derivative", d, F.Call(act.name, p.symbol, derivative=True), compute, facts, parts)

    def _needed(self, key: str) -> bool:
        """Whether a parameter's gradient is computed: asked (of the first SGD step), or used by the
        SGD step (a frozen parameter's is not)."""
        return key in self.s.wanted and self.step == 0 or bool(self.s.sgd_steps) and key not in self.s.frozen

    def parameter_gradients(self, l: int, u: Quantity, delta: Quantity, steps: list[Step]) -> dict:
        """∂L/∂W and ∂L/∂b from ∂L/∂z, with the local derivatives ∂z/∂W, ∂z/∂b as facts; in a
        batch each sums over the examples."""
        weights, bias = self.params[l]
        local, out, batch = self._local(weights, bias, u, delta), {}, self.s.batch
        if self._needed(f"W{l}"):
            dW = self._partial(weights)
            if self.rows:  # δ aᵀ, Δ Xᵀ
                formula, compute = F.Mul(delta.symbol, F.Transpose(u.symbol)), delta.elements * u.elements.T
            elif not batch:  # a δᵀ
                formula, compute = F.Mul(u.symbol, F.Transpose(delta.symbol)), u.elements * delta.elements.T
            else:  # Xᵀ Δ
                formula, compute = F.Mul(F.Transpose(u.symbol), delta.symbol), u.elements.T * delta.elements
            product = F.Mul(local["dL_dz"], local["input"])
            entry = (dW.at("i", "j"), F.Sum("n", product) if batch else product)
            steps.append(Step("weight_gradient", dW, formula, compute,
                              {**local, "layout": self.s.layout, "entry": entry, "batch": batch}))
            out[f"W{l}"] = dW
        if bias and self._needed(f"b{l}"):
            db = self._partial(bias)
            if self.s.layers[l - 1].shared_bias:  # every unit's z_i = ... + b: the gradient sums over the units
                unit = "i" if self.rows else "j"
                terms = F.Add(*[self.ex.at(delta, i, n) for i, n in self.ex.entries(delta)])
                body = F.Sum(unit, self.ex.at(delta, unit, "n"))
                steps.append(Step("shared_bias_gradient", db, F.Sum("n", body) if batch else body,
                                  sympy.Matrix([[sum(delta.elements)]]),
                                  {**local, "units": self.ex.units(delta), "batch": batch},
                                  [(db.symbol, terms)] if self.ex.shown else []))
            elif batch:  # the examples' gradients at z, added: Δ 1 (a column per example) or Δᵀ 1 (a row)
                ones = sympy.ones(batch, 1)
                formula = F.Mul(delta.symbol if self.rows else F.Transpose(delta.symbol), ONES)
                compute = (delta.elements if self.rows else delta.elements.T) * ones
                parts = [(db.at(i), F.Add(*[self.ex.at(delta, i, n) for n in range(batch)]))
                         for i in range(bias.shape[0])] if self.ex.shown else []
                steps.append(Step("batch_bias_gradient", db, formula, compute,
                                  {**local, "batch": batch, "layout": self.s.layout,
                                   "entry": (db.at("i"), F.Sum("n", local["dL_dz"]))},
                                  parts))
            else:
                steps.append(Step("bias_gradient", db, delta.symbol, delta.elements, local))
            out[f"b{l}"] = db
        return out

    def _local(self, weights: Quantity, bias: Quantity | None, u: Quantity, delta: Quantity) -> dict:
        """One unit's pre-activation written out, and its local derivatives, as display nodes:
        z_i = Σ_j W_ij a_j + b_i with ∂z_i/∂W_ij = a_j, ∂z_i/∂b_i = 1, ∂z_i/∂a_j = W_ij
        (indices swapped in the columns layout; in a batch each entry also takes the example n)."""
        unit, source = ("i", "j") if self.rows else ("j", "i")
        z = delta.symbol.wrt
        over = "n" if self.s.batch else None
        z_unit = (z.entry(unit, over) if self.rows else z.entry(over, unit)) if self.s.batch else (
            z.entry(unit) if z.shape != "scalar" else z)
        w = weights.at("i", "j")
        a = self.ex.at(u, source, over)
        total = F.Sum(source, F.Mul(w, a)) if self.ex.units(u) > 1 else F.Mul(w, a)
        dL_dz = self.ex.at(delta, unit, over)
        return {"unit": z_unit, "sum": F.Add(total, bias.at(unit)) if bias else total,
                "dz_dW": F.Partial("", z_unit, w), "input": a, "weight": w,
                "dz_db": F.Partial("", z_unit, bias.at(unit)) if bias else None,
                "dz_da": F.Partial("", z_unit, a), "dL_dz": dL_dz,
                "dL_da": F.Partial("", self.of_symbol, a), "source": source}

    def input_gradient(self, l: int, delta: Quantity, g: Quantity, u: Quantity) -> Step:
        weights, bias = self.params[l]
        if self.rows:  # Wᵀ δ (and Wᵀ Δ)
            formula, compute = F.Mul(F.Transpose(weights.symbol), delta.symbol), weights.elements.T * delta.elements
        elif not self.s.batch:  # W δ
            formula, compute = F.Mul(weights.symbol, delta.symbol), weights.elements * delta.elements
        else:  # Δ Wᵀ
            formula, compute = F.Mul(delta.symbol, F.Transpose(weights.symbol)), delta.elements * weights.elements.T
        facts = {**self._local(weights, bias, u, delta), "layout": self.s.layout}
        return Step("input_gradient", g, formula, compute, {**facts, "units": self.ex.units(delta)})


def derive(s: Structure) -> Derivation:
    """The derivation for one network structure."""
    return _Builder(s).build()
