"""The derivations of a softmax problem: the Jacobian by the quotient rule and through the
logarithm, the cross-entropy gradient, and the naive and stable evaluations."""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import sympy
from sympy.simplify.simplify import factor_sum

from ... import formula as F
from ...derivation import Derivation, Quantity, Section, Step
from .spec import CLAIMS, FLOAT64_MAX, Letters, Structure

# -- SymPy's derivations (generic indices) ----------------------------------------------------------

def _shown(expr, names: dict | None = None) -> F.Node:
    """A SymPy result as a display node: positive terms first, fractions as fractions, a
    product's bracketed and `names`d factors last (`names` maps symbols to the nodes shown)."""
    names = names or {}
    if expr in names:
        return names[expr]
    if isinstance(expr, sympy.Add):
        terms = sorted(expr.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())
        return F.Add(*[F.Neg(_shown(-t, names)) if t.could_extract_minus_sign() else _shown(t, names) for t in terms])
    if isinstance(expr, sympy.Mul):
        if expr.could_extract_minus_sign():
            return F.Neg(_shown(-expr, names))
        numerator, denominator = sympy.fraction(expr, exact=True)
        if denominator != 1:
            return F.Frac(_shown(numerator, names), _shown(denominator, names))
        factors = sorted(expr.as_ordered_factors(), key=lambda f: (f in names, isinstance(f, sympy.Add)))
        return F.Mul(*[_shown(f, names) for f in factors])
    if isinstance(expr, sympy.exp):
        return F.Call("exp", _shown(expr.args[0], names))
    if isinstance(expr, sympy.log):
        return F.Log(_shown(expr.args[0], names))
    if isinstance(expr, sympy.Sum):
        return F.Sum(sympy.latex(expr.limits[0][0]), _shown(expr.function, names))
    return F.Sym(expr)


def _rule(numerator_derivative: F.Node, numerator: F.Node, sum_derivative: F.Node) -> F.Node:
    """The quotient rule for numerator / S."""
    S = F.Var("S", "S")
    return F.Frac(F.Sub(F.Mul(numerator_derivative, S), F.Mul(numerator, sum_derivative)), F.Pow(S, F.Num(2)))


def _zero(expr) -> bool:
    return sympy.simplify(expr) == 0


@lru_cache(maxsize=16)
def algebra(letters: Letters) -> dict:
    """Every symbolic result of the solution, derived and cross-checked by SymPy: "shown" holds
    display nodes, the rest SymPy expressions and symbols for the numeric steps."""
    zl, yl, tl = letters.scores, letters.outputs, letters.target
    i, j, k, n = sympy.symbols("i j k n", integer=True)
    zi, zj = sympy.symbols(f"{zl}_i {zl}_j", real=True)
    yi, yj = sympy.symbols(f"{yl}_i {yl}_j", positive=True)
    ti, tj = sympy.symbols(f"{tl}_i {tl}_j", nonnegative=True)
    S, R, T = sympy.symbols("S R T", positive=True)
    total = sympy.exp(zi) + sympy.exp(zj) + R  # R: the terms k ≠ i, j, free of z_i and z_j
    softmax_i = sympy.exp(zi) / total
    delta = sympy.KroneckerDelta(i, j)
    compact = yi * (delta - yj)
    cases = {"same": (zi, compact.subs({delta: 1, yj: yi})), "other": (zj, compact.subs(delta, 0))}

    def with_S(expr):
        return expr.subs(total, S)

    def with_y(expr):
        return sympy.expand(with_S(expr).subs({sympy.exp(zi): yi * S, sympy.exp(zj): yj * S}))

    quotient, log_route = {}, {}
    y_node = F.Sym(yi)
    log_yi = sympy.expand_log(sympy.log(softmax_i), force=True)
    for case, (wrt, in_y) in cases.items():
        d_num, d_den = sympy.diff(sympy.exp(zi), wrt), sympy.diff(total, wrt)
        rule = (d_num * total - sympy.exp(zi) * d_den) / total ** 2
        direct = sympy.diff(softmax_i, wrt)
        d_log = sympy.diff(log_yi, wrt)
        derived = sympy.factor_terms(with_y(rule))
        if not (_zero(rule - direct) and _zero(derived - in_y)):
            raise AssertionError(f"softmax quotient rule, case {case}: SymPy disagrees")
        if not (_zero(softmax_i * d_log - direct) and _zero(yi * with_y(d_log) - in_y)):
            raise AssertionError(f"softmax log-derivative, case {case}: SymPy disagrees")
        quotient[case] = {"entry": F.Partial("", y_node, _shown(wrt)), "result": _shown(sympy.factor(with_S(rule))),
                          "rule": _rule(_shown(d_num), _shown(sympy.exp(zi)), _shown(with_S(d_den))),
                          "in_y": _shown(derived)}
        log_route[case] = {"entry": F.Partial("", F.Log(y_node), _shown(wrt)), "in_y": _shown(with_y(d_log)),
                           "derivative": _shown(with_S(d_log))}

    d_loss = sympy.diff(-ti * sympy.log(yi), yi)  # the loss term of class i; the others are free of y_i
    same = d_loss.subs({ti: tj, yi: yj}) * cases["same"][1].subs(yi, yj)
    other = d_loss * cases["other"][1]  # = t_i y_j for each i ≠ j: y_j times the sum T of those t_i
    collected = same + sympy.cancel(other / ti) * T
    substituted = collected.subs(T, 1 - tj)  # the target sums to 1
    gradient = sympy.expand(substituted)
    if not _zero(gradient - (yj - tj)):
        raise AssertionError("softmax + cross-entropy gradient: SymPy disagrees")

    c = sympy.Symbol("c", real=True)
    z = sympy.IndexedBase(zl, real=True)
    plain = sympy.exp(z[i]) / sympy.Sum(sympy.exp(z[k]), (k, 1, n))
    shifted = sympy.exp(z[i] - c) / sympy.Sum(sympy.exp(z[k] - c), (k, 1, n))
    numerator, denominator = sympy.fraction(sympy.expand(shifted, power_exp=True), exact=True)
    pulled = factor_sum(denominator)

    T_node = F.Paren(F.Sum(r"i \neq j", F.Var(tl, tl, index=("i",))))
    shown = {
        "sum": F.Sum("k", F.Call("exp", F.Var(zl, zl, index=("k",)))),
        "rule": _rule(F.Partial("", _shown(sympy.exp(zi)), _shown(zj)), _shown(sympy.exp(zi)),
                      F.Partial("", _shown(S), _shown(zj))),
        "log_entry": F.Partial("", F.Log(y_node), _shown(zj)),
        "compact": _shown(compact), "log_yi": _shown(with_S(log_yi)), "combined_log": _shown(delta - yj),
        "quotient": quotient, "log": log_route, "loss_derivative": _shown(d_loss),
        "ce_terms": F.Add(F.Mul(F.Paren(_shown(d_loss.subs({ti: tj, yi: yj}))), _shown(cases["same"][1].subs(yi, yj))),
                          F.Sum(r"i \neq j", F.Mul(F.Paren(_shown(d_loss)), F.Paren(_shown(cases["other"][1]))))),
        "ce_collected": _shown(collected, {T: T_node}), "ce_substituted": _shown(substituted),
        "ce_result": _shown(gradient),
        "shift": {"shifted": _shown(shifted), "factored": F.Frac(_shown(numerator), _shown(denominator)),
                  "pulled": F.Frac(_shown(numerator), _shown(pulled)), "plain": _shown(plain)},
    }
    return {"shown": shown, "compact": compact, "delta": delta, "yi": yi, "yj": yj, "ti": ti, "tj": tj,
            "d_loss": d_loss, "gradient": gradient,
            "shift_changes": int(not (_zero(shifted - plain) and _zero(numerator / pulled - plain)))}


# -- derivation ---------------------------------------------------------------------------------------

def _vector(key: str, size: int, base: str, primes: int = 0) -> Quantity:
    return Quantity(key, (size, 1), F.Var(key, base, "vector", primes=primes))


def _scalar(key: str, base: str, primes: int = 0) -> Quantity:
    return Quantity(key, (1, 1), F.Var(key, base, "scalar", primes=primes))


def _exp(node: F.Node) -> F.Call:
    return F.Call("exp", node)


def _partial(of: F.Node, wrt: F.Node) -> F.Partial:
    return F.Partial("", of, wrt)


class quotient(sympy.Function):
    """a / b, evaluated as one float64 division, as written and as torch divides.

    Common-subexpression elimination would turn the naive quotients e^u_k / S into
    e^u_k · (1/S), and 1/S overflows to ∞ for a positive sum below 1/Ω ≈ 5.6e-309 (largest
    score between about -745 and -710), where e^u_k / S itself is a number."""
    nargs = 2

    def _numpycode(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return f"({a}) / ({b})"


def derive(s: Structure) -> Derivation:
    n, m = s.scores, s.large_scores
    facts = algebra(s.letters)
    zl, yl, tl = s.letters.scores, s.letters.outputs, s.letters.target
    z, S, y = _vector("z", n, zl), _scalar("S", "S"), _vector("y", n, yl)
    givens = [z]
    exps = [sympy.exp(e) for e in z.elements]
    sections = [Section("softmax", [
        Step("softmax_sum", S, facts["shown"]["sum"], sympy.Matrix([[sum(exps)]]), {},
             [(S.symbol, F.Add(*[_exp(z.entry(k)) for k in range(n)]))]),
        Step("softmax_outputs", y, F.Call("softmax", z.symbol), sympy.Matrix([e / S.elements[0] for e in exps]),
             {"entry": (y.entry("i"), F.Frac(_exp(z.entry("i")), S.symbol))},
             [(y.entry(k), F.Frac(_exp(z.entry(k)), S.symbol)) for k in range(n)])],
        {"S": S.symbol, "sum": facts["shown"]["sum"]})]
    J = Quantity("J", (n, n), F.Var("J", "J", "matrix"))
    if s.jacobian:
        sections += _jacobian_sections(facts, J, y, z)
    if s.cross_entropy:
        sections += _cross_entropy_sections(facts, J, y, z, tl, givens)
    if s.stability:
        sections += _stability_sections(facts, y, z, m, zl, yl, givens)
    if s.claims:
        sections.append(Section("statements", [], {"claims": [(index, claim, F.Var(CLAIMS[claim], "c"))
                                                              for index, claim in enumerate(s.claims, 1)]}))
    return Derivation(givens, sections)


def _jacobian_sections(facts: dict, J: Quantity, y: Quantity, z: Quantity) -> list[Section]:
    n = y.shape[0]
    shown = facts["shown"]
    shared = {"entry": _partial(y.entry("i"), z.entry("j")), "yi": y.entry("i"), "zi": z.entry("i"),
              "zj": z.entry("j"), "S": F.Var("S", "S"), "exp_zi": _exp(z.entry("i")), "sum": shown["sum"],
              "compact": shown["compact"]}
    compact, delta, yi, yj = facts["compact"], facts["delta"], facts["yi"], facts["yj"]
    compute = sympy.Matrix(n, n, lambda a, b: compact.subs(delta, int(a == b)).subs({yi: y.elements[a],
                                                                                    yj: y.elements[b]}))
    step = Step("jacobian", J, F.Sub(F.Diag(y.symbol), F.Mul(y.symbol, F.Transpose(y.symbol))), compute,
                {**shared, "Jij": J.entry("i", "j")})
    return [Section("quotient_rule", [], {**shared, **shown["quotient"], "rule": shown["rule"]}),
            Section("log_derivative", [], {**shared, **shown["log"], "log_yi": shown["log_yi"],
                                           "combined": shown["combined_log"], "log_entry": shown["log_entry"]}),
            Section("jacobian", [step], {})]


def _cross_entropy_sections(facts: dict, J: Quantity, y: Quantity, z: Quantity, tl: str,
                            givens: list) -> list[Section]:
    n, shown = y.shape[0], facts["shown"]
    t, L = _vector("t", n, tl), _scalar("L", "L")
    givens.append(t)
    te, ye = t.elements, y.elements
    dL_dy = Quantity("dL_dy", (n, 1), F.Partial("dL_dy", L.symbol, y.symbol))
    dL_dz_J = Quantity("dL_dz_J", (n, 1), F.Partial("dL_dz_J", L.symbol, z.symbol))
    dL_dz = Quantity("dL_dz", (n, 1), F.Partial("dL_dz", L.symbol, z.symbol))
    per_class = [{facts["ti"]: a, facts["yi"]: b, facts["tj"]: a, facts["yj"]: b} for a, b in zip(te, ye)]
    loss = Step("ce_loss", L, F.Neg(F.Sum("i", F.Mul(t.entry("i"), F.Log(y.entry("i"))))),
                sympy.Matrix([[-sum(a * sympy.log(b) for a, b in zip(te, ye))]]), {},
                [(L.symbol, F.Neg(F.Paren(F.Add(*[F.Mul(t.entry(k), F.Log(y.entry(k))) for k in range(n)]))))])
    output = Step("ce_output_gradient", dL_dy, F.Neg(F.Frac(t.symbol, y.symbol)),
                  sympy.Matrix([facts["d_loss"].subs(values) for values in per_class]),
                  {"entry": _partial(L.symbol, y.entry("i")), "derivative": shown["loss_derivative"],
                   "yi": y.entry("i")},
                  [(dL_dy.entry(k), F.Neg(F.Frac(t.entry(k), y.entry(k)))) for k in range(n)])
    entry = _partial(L.symbol, z.entry("j"))
    by_sum = F.Sum("i", F.Mul(_partial(L.symbol, y.entry("i")), _partial(y.entry("i"), z.entry("j"))))
    product = F.Mul(F.Transpose(J.symbol), dL_dy.symbol)
    chain = Step("ce_chain", dL_dz_J, product, J.elements.T * dL_dy.elements, {"entry": entry, "sum": by_sum})
    shortcut = Step("ce_shortcut", dL_dz, F.Sub(y.symbol, t.symbol),
                    sympy.Matrix([facts["gradient"].subs(values) for values in per_class]), {"chain": product})
    derivation = {"entry": entry, "chain": by_sum, "tj": t.entry("j"),
                  "terms": shown["ce_terms"], "collected": shown["ce_collected"],
                  "substituted": shown["ce_substituted"], "result": shown["ce_result"],
                  "target_sum": F.Sum("i", t.entry("i")), "t": t.symbol, "y": y.symbol}
    return [Section("cross_entropy", [loss, output, chain], {"t": t.symbol, "y": y.symbol}),
            Section("softmax_cross_entropy", [shortcut], derivation)]


def _stability_sections(facts: dict, y: Quantity, z: Quantity, m: int, zl: str, yl: str,
                        givens: list) -> list[Section]:
    n = y.shape[0]
    M, y_shift, chg = _scalar("M", "M"), _vector("y_shift", n, yl, primes=1), _scalar("chg", "c")
    shifted = [sympy.exp(e - M.elements[0]) for e in z.elements]
    safe = [Step("max_score", M, F.Call("max", z.symbol), sympy.Matrix([[sympy.Max(*z.elements)]]), {}),
            Step("shifted_softmax", y_shift, F.Call("softmax", F.Sub(z.symbol, M.symbol)),
                 sympy.Matrix([e / sum(shifted) for e in shifted]), {"y": y.symbol},
                 [(y_shift.entry(k), F.Frac(_exp(F.Sub(z.entry(k), M.symbol)),
                                            F.Add(*[_exp(F.Sub(z.entry(q), M.symbol)) for q in range(n)])))
                  for k in range(n)]),
            Step("shift_changes", chg, F.Relation(y_shift.symbol, "!=", y.symbol),
                 sympy.Matrix([[facts["shift_changes"]]]), {"y": y.symbol, "y_shift": y_shift.symbol})]
    u = _vector("u", m, f"{zl}tilde")
    givens.append(u)
    fmax, zmax = _scalar("fmax", "Omega"), _scalar("zmax", f"{zl}_max")
    E, Su = _vector("Eu", m, "Etilde"), _scalar("Su", "Stilde")
    E, Su = replace(E, role="overflow"), replace(Su, role="overflow")  # shown overflowing on purpose
    ok, q, over = _vector("oku", m, "o"), _vector("qu", m, "qtilde"), _scalar("over", "o")
    Ee, Se, Fe = E.elements, Su.elements[0], fmax.elements[0]
    quotients = [quotient(a, Se) for a in Ee]
    finite = [sympy.Le(a, Fe) for a in quotients]  # False for ∞ and for NaN
    two = F.Num(2)
    naive = [Step("largest_float", fmax, F.Mul(F.Paren(F.Sub(two, F.Pow(two, F.Num(-52)))), F.Pow(two, F.Num(1023))),
                  sympy.Matrix([[sympy.Integer(FLOAT64_MAX)]]), {}),
             Step("largest_exponent", zmax, F.Log(fmax.symbol), sympy.Matrix([[sympy.log(Fe)]]), {}),
             Step("naive_exponentials", E, _exp(u.symbol), u.elements.applyfunc(sympy.exp),
                  {"zmax": zmax.symbol, "fmax": fmax.symbol}, [(E.entry(k), _exp(u.entry(k))) for k in range(m)]),
             Step("naive_sum", Su, F.Sum("k", E.entry("k")), sympy.Matrix([[sum(Ee)]]), {},
                  [(Su.symbol, F.Add(*[E.entry(k) for k in range(m)]))]),
             Step("naive_finite", ok, F.Frac(E.symbol, Su.symbol),
                  sympy.Matrix([sympy.Piecewise((1, c), (0, True)) for c in finite]), {}),
             Step("naive_quotients", q, F.Frac(E.symbol, Su.symbol),
                  sympy.Matrix([sympy.Piecewise((a, c), (0, True)) for a, c in zip(quotients, finite)]),
                  {"ok": ok.symbol}, [(q.entry(k), F.Frac(E.entry(k), Su.symbol)) for k in range(m)]),
             Step("naive_overflows", over, F.Relation(Su.symbol, ">", fmax.symbol),
                  sympy.Matrix([[sympy.Piecewise((1, Se > Fe), (0, True))]]),
                  {"fmax": fmax.symbol, "ok": ok.symbol, "E": E.symbol, "S": Su.symbol})]
    Mu, su = _scalar("Mu", "Mtilde"), _vector("su", m, f"{zl}tilde", primes=1)
    Esu, Ssu = _vector("Esu", m, "Etilde", primes=1), _scalar("Ssu", "Stilde", primes=1)
    yu = _vector("yu", m, f"{yl}tilde")
    stable = [Step("max_score", Mu, F.Call("max", u.symbol), sympy.Matrix([[sympy.Max(*u.elements)]]), {}),
              Step("stable_shift", su, F.Sub(u.symbol, Mu.symbol), u.elements - sympy.ones(m, 1) * Mu.elements[0], {},
                   [(su.entry(k), F.Sub(u.entry(k), Mu.symbol)) for k in range(m)]),
              Step("stable_exponentials", Esu, _exp(su.symbol), su.elements.applyfunc(sympy.exp), {},
                   [(Esu.entry(k), _exp(su.entry(k))) for k in range(m)]),
              Step("stable_sum", Ssu, F.Sum("k", Esu.entry("k")), sympy.Matrix([[sum(Esu.elements)]]), {},
                   [(Ssu.symbol, F.Add(*[Esu.entry(k) for k in range(m)]))]),
              Step("stable_quotients", yu, F.Frac(Esu.symbol, Ssu.symbol), Esu.elements / Ssu.elements[0], {},
                   [(yu.entry(k), F.Frac(Esu.entry(k), Ssu.symbol)) for k in range(m)])]
    shift = {**facts["shown"]["shift"], "zk": z.entry("k"), "M": M.symbol}
    definition = F.Frac(_exp(u.entry("i")), F.Sum("k", _exp(u.entry("k"))))
    return [Section("shift_invariance", safe, shift), Section("naive", naive, {"definition": definition}),
            Section("stable", stable, {"uk": u.entry("k"), "M": Mu.symbol})]
