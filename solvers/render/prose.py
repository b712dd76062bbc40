"""The first stage of rendering: a solved problem as neutral markup, for every output format.

As in R/exams, prose templates (one Jinja macro per step, question, convention, given,
section or closing kind, like SymPy's `_print_X`) turn a solution into neutral markup
(`solvers.render.markup`); the drivers (`solvers.render.drivers`) then wrap it in each
format's documents. A kind's macros live in its own folder (solvers/kinds/<kind>/prose/);
templates/prose/ holds the few that several kinds share. This module knows formula nodes
and item kinds, never networks.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.nodes
import numpy as np
import sympy

from .. import cache as C
from .. import formula as F
from ..nn import activation_name
from ..solution import Figure, Solution
from . import markup
from .markup import RenderError
from .printer import MathPrinter

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
MATRIX_COLUMNS_PER_LINE = 7  # columns of numbers that fit side by side on one line of a display
WIDEST_LINE = 12  # columns of numbers beyond which a line of numbers plugged in is left out
TERMS_PER_LINE = 5  # terms of a long sum on one line of a display
RELATIONS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
             "!=": np.not_equal}


class MathContext:
    """What prose templates call as `m`: formulas printed symbolically or with the
    solution's numbers, and the usual chains of equalities."""

    def __init__(self, values: dict, digits: int, figure_prefix: str = "fig", count_from: int = 1,
                 problem: int = 1):
        self.values, self.printer = values, MathPrinter({"digits": digits, "count_from": count_from})
        self.digits = digits  # for a figure made in a template, labelled like the text (numbers.figure_label)
        self.figure_prefix, self.figures_used, self.figure_texts, self.figure_numbers = figure_prefix, {}, {}, {}
        self.problem = problem  # the problem's number on the sheet: its figures are numbered problem.k
        self.first = count_from  # the number of the first entry, unit and class on the sheet

    def number(self, index: int) -> int:
        """The number the sheet gives an entry or class of index `index` (counted from 0)."""
        return int(index) + self.first

    def figure(self, figure, caption: str = "") -> str:
        """The markup that places a figure of the solution (drawn when the document is written),
        numbered and with `caption` (markup) under it."""
        filename = self._filename(figure)
        self.figures_used[filename] = figure
        self.figure_texts[filename] = FigureText(self.ref(figure), caption, figure.alt, figure.size)
        return markup.figure_token(filename)

    def ref(self, figure) -> str:
        """The number of a figure of the solution (problem.k, k counting the problem's figures
        in the order they are first mentioned), for the text that refers to it: the same on
        the question sheet, which shows only the givens' figures, as on the solutions."""
        filename = self._filename(figure)
        self.figure_numbers.setdefault(filename, f"{self.problem}.{len(self.figure_numbers) + 1}")
        return self.figure_numbers[filename]

    def _filename(self, figure) -> str:
        return re.sub(r"[^A-Za-z0-9-]", "-", f"{self.figure_prefix}-{figure.name}")

    def tex(self, node) -> str:
        """LaTeX of a node (a formula, a SymPy expression, a quantity, a number) as written."""
        return self.printer.doprint(_node(node))

    def num(self, node) -> str:
        """LaTeX of a node with every known quantity replaced by its value."""
        node = _node(node)
        return self.printer.doprint(F.substitute(node, self.values) if isinstance(node, F.Node) else node)

    def value(self, node):
        """The numeric value of a quantity (for prose that depends on it, e.g. true/false)."""
        return self.values[_node(node).key]

    def holds(self, relation: F.Relation) -> bool:
        """Whether a relation between quantities holds at the solution's values (for a vector
        or a matrix: at every entry), so that prose can state a verified fact."""
        left, right = (np.asarray(self._number(side), dtype=float) for side in (relation.left, relation.right))
        return bool(np.all(RELATIONS[relation.relation](left, right)))

    def _number(self, node):
        shown = F.substitute(_node(node), self.values)
        if isinstance(shown, F.Num):
            return shown.value
        return [[cell.value for cell in row] for row in shown.rows]

    def linear(self, node, variables: list[str]) -> str:
        """LaTeX of c₁v₁ + … (+ c₀): a quantity's values as the coefficients of `variables`, one
        more value as the constant; terms with coefficient 0 left out, 1 and −1 not written."""
        values = np.ravel(self.values[_node(node).key])
        exact = [sympy.Integer(int(v)) if v == int(v) else sympy.Float(v) for v in values]
        expr = sum((c * sympy.Symbol(v, real=True) for c, v in zip(exact, variables)), sympy.Integer(0))
        return self.printer.doprint(expr + (exact[-1] if len(exact) > len(variables) else 0))

    def one_per_line(self, operands) -> list | None:
        """The (operator, node) operands of a line of numbers, to be shown one per line when
        their matrices (`columns` wide each) would not fit side by side; None when they fit."""
        if sum(columns for _, _, columns in operands) <= MATRIX_COLUMNS_PER_LINE:
            return None
        return [(op, node) for op, node, _ in operands]

    def lines(self, rows, group: int) -> list[tuple[F.Add, int | None]]:
        """Rows of a long sum (each an Add) cut into lines of at most TERMS_PER_LINE terms, each
        with the number (from 1) of its group of `group` rows where the group starts."""
        found = []
        for r, row in enumerate(rows):
            for i in range(0, len(row.terms), TERMS_PER_LINE):
                found.append((F.Add(*row.terms[i:i + TERMS_PER_LINE]), r // group + 1 if r % group == 0 and i == 0
                              else None))
        return found

    def chain(self, lhs, *forms) -> str:
        """`lhs = form₁ = form₂ …` as one display, forms that print alike shown once."""
        texts = []
        for form in forms:
            text = form if isinstance(form, str) else self.tex(form)
            if text not in texts[-1:]:
                texts.append(text)
        left = lhs if isinstance(lhs, str) else self.tex(lhs)
        if len(texts) == 1:
            return rf"\[ {left} = {texts[0]} \]"
        body = r" \\ ".join(("" if i else left) + f" &= {t}" for i, t in enumerate(texts))
        return r"\begin{align*} " + body + r" \end{align*}"

    def derivation(self, step) -> str:
        """target = formula = formula with numbers = value; the numbers plugged in only where
        their matrices fit side by side on a line."""
        plugged = F.substitute(step.formula, self.values)
        if _columns(plugged) > WIDEST_LINE:
            return self.chain(step.target.symbol, step.formula, self.num(step.target))
        return self.chain(step.target.symbol, step.formula, self.tex(plugged), self.num(step.target))

    def entries(self, step, symbolic_first: bool = True) -> str:
        """Each part: entry = its formula with numbers = its value, a line each; with
        `symbolic_first` the first entry's formula as written comes on a line before."""
        rows = []
        for i, (lhs, form) in enumerate(step.parts):
            numbers = [self.num(form), self.num(lhs)]
            numbers = " = ".join(f for j, f in enumerate(numbers) if f not in numbers[:j])
            if i == 0 and symbolic_first and self.tex(form) != self.num(form):
                rows += [f"{self.tex(lhs)} &= {self.tex(form)}", f"&= {numbers}"]
            else:
                rows.append(f"{self.tex(lhs)} &= {numbers}")
        return r"\begin{align*} " + r" \\ ".join(rows) + r" \end{align*}"


def _columns(node) -> int:
    """How many columns of numbers a formula's matrices put side by side."""
    if isinstance(node, F.Grid):
        return len(node.rows[0])
    if isinstance(node, F.Transpose) and isinstance(node.arg, F.Grid):
        return len(node.arg.rows)
    children = [c for c in vars(node).values() if isinstance(c, F.Node)] + [
        c for value in vars(node).values() if isinstance(value, tuple) for c in value if isinstance(c, F.Node)]
    return sum(_columns(c) for c in children)


def _answer_rows(m: MathContext, answers) -> list[tuple[str, str, str]]:
    """(name, label, value) of each answer; a label several answers share gets what tells
    them apart: the answer's own `case` (a^{(2)} (s = 0)), else words from their names
    (∂h/∂w (relu), ∂h/∂w (elu))."""
    labels = [m.tex(answer.label) for answer in answers]
    rows = []
    for answer, label in zip(answers, labels):
        alike = [a.name for a, other in zip(answers, labels) if other == label]
        if len(alike) > 1 and answer.case is not None:
            label += r"\ (" + m.tex(answer.case) + ")"
        elif len(alike) > 1:
            label += r"\ \text{(" + _telling_apart(answer.name, alike) + ")}"
        rows.append((answer.name, label, _answer_value(m, answer)))
    return rows


def _telling_apart(name: str, names: list[str]) -> str:
    """The parts of a dotted answer name that differ among `names`, in words."""
    split = [n.split(".") for n in names]
    parts = name.split(".")
    differ = [i for i in range(len(parts)) if len({tuple(s[i:i + 1]) for s in split}) > 1]
    words = [parts[i] for i in differ if not parts[i].isdigit()]
    if not words:
        words = [f"{parts[i - 1]} {parts[i]}" if i else parts[i] for i in differ]
    return re.sub(r"([a-z])(\d)", r"\1 \2", " ".join(words).replace("_", " "))


def step_values(solution: Solution, m: MathContext, sections: list[tuple[str, list[str]]]) -> list[StepValue]:
    """Every step's value, with the answers its quantity gives, in the order of the solution."""
    found = []
    for index, (section, (_, texts)) in enumerate(zip(solution.derivation.sections, sections)):
        for step, text in zip(section.steps, texts):
            key = step.target.key
            found.append(StepValue(key, index, m.tex(step.target), m.num(step.target),
                                   np.asarray(solution.values[key], dtype=float).tolist(),
                                   tuple(a.name for a in solution.answers if a.key == key), bool(text)))
    return found


def _answer_value(m: MathContext, answer) -> str:
    if answer.boolean:
        return r"\text{true}" if answer.value.reshape(-1)[0] else r"\text{false}"
    return m.tex(F.grid(answer.value))


def _node(thing):
    """A quantity's symbol, a number's Num, anything else as it is."""
    if isinstance(thing, (int, float)) and not isinstance(thing, bool):
        return F.Num(float(thing))
    return getattr(thing, "symbol", thing)


@dataclass(frozen=True)
class FigureText:
    """What a driver writes around a figure: its number ("2.1"), its caption (markup), the
    words that describe it (alt text) and its printed size in inches."""
    number: str
    caption: str
    alt: str
    size: tuple[float, float]


@dataclass
class StepValue:
    """The value one step of the solution gives: its quantity, its symbol and value as LaTeX,
    its entries as numbers, the answers it gives and whether the step shows it itself."""
    key: str
    section: int  # the index of its section in RenderedProblem.sections
    symbol: str
    value: str
    numbers: list[list[float]]
    answers: tuple[str, ...]  # the names of the answers this quantity is
    shown: bool  # its step writes something (a tabulated or implied step writes nothing)


@dataclass
class RenderedProblem:
    """One problem as neutral markup, ready for any output format."""
    name: str
    title: str
    statement: str
    notes: str
    givens: list[str]
    questions: list[str]
    conventions: list[str]
    sections: list[tuple[str, list[str]]]
    answers: list[tuple[str, str, str]]
    closing: list[str] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)  # file name → the drawing (drivers draw it)
    figure_texts: dict[str, FigureText] = field(default_factory=dict)  # file name → number, caption, alt text
    instructor_notes: str = ""
    given_values: list[tuple[str, str, str]] = field(default_factory=list)  # (key, symbol, value) of each given
    steps: list[StepValue] = field(default_factory=list)  # every step's value, in order (for rubrics)
    drawn_from: str = ""  # what its figures are drawn from (`drawn_from`), to find them in the cache; "": not kept


@dataclass
class RenderedVariant:
    """One variant of a sheet: its label (none for a sheet without variants) and problems."""
    label: str | None
    problems: list[RenderedProblem]


SHARED = TEMPLATES / "prose"
CATEGORIES = ("givens", "questions", "conventions", "steps", "sections", "closing")


@lru_cache(maxsize=None)
def _environment(folder: Path, borrowed: tuple[Path, ...] = ()) -> jinja2.Environment:
    """The prose templates of one kind: its own as kind/<category>.j2 (from its folder's
    prose/), those of the kinds it uses the prose of (`Kind.uses_prose`, their folders
    `borrowed`) as borrowed<i>/<category>.j2, the kind-agnostic ones as shared/<category>.j2
    (templates/prose/). A macro defined twice among them is an error."""
    loaders = {"kind": jinja2.FileSystemLoader(folder / "prose"), "shared": jinja2.FileSystemLoader(SHARED)}
    loaders |= {f"borrowed{i}": jinja2.FileSystemLoader(other / "prose") for i, other in enumerate(borrowed)}
    env = jinja2.Environment(loader=jinja2.PrefixLoader(loaders), undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
                             bytecode_cache=C.compiled_templates())
    env.globals["activation_name"] = activation_name
    env.filters["authored"] = markup.from_authored
    for what in CATEGORIES:
        clash = sorted(_macros(env, f"kind/{what}.j2") & _macros(env, f"shared/{what}.j2"))
        if clash:
            raise RenderError(f"{folder / 'prose' / what}.j2 defines {', '.join(clash)}, which "
                              f"templates/prose/{what}.j2 defines for every kind; rename the kind's macro")
        for i, other in enumerate(borrowed):
            clash = sorted(_macros(env, f"kind/{what}.j2") & _macros(env, f"borrowed{i}/{what}.j2"))
            if clash:
                raise RenderError(f"{folder / 'prose' / what}.j2 defines {', '.join(clash)}, which the kind it "
                                  f"uses the prose of defines in {other / 'prose' / what}.j2; rename the macro")
    return env


def _templates(env: jinja2.Environment, what: str) -> list[str]:
    """The prose files of one category a kind's macros are looked up in, in order."""
    borrowed = [name for name in env.loader.mapping if name.startswith("borrowed")]  # in Kind.uses_prose's order
    return [f"kind/{what}.j2", *(f"{name}/{what}.j2" for name in borrowed), f"shared/{what}.j2"]


def _macros(env: jinja2.Environment, name: str) -> frozenset[str]:
    """The public macros a prose file defines (none if the file does not exist)."""
    source = _sources(env).get(name)
    return frozenset() if source is None else _macro_names(env, source)


@lru_cache(maxsize=None)
def _sources(env: jinja2.Environment) -> dict[str, str]:
    """Every prose file of an environment and its text, read once per process as the
    environment is made once (`_environment`: its macros checked once); in a sorted order."""
    return {f"{prefix}/{name}": loader.get_source(env, name)[0]
            for prefix, loader in sorted(env.loader.mapping.items()) for name in loader.list_templates()}


MACROS = "prose-macros"  # solvers.cache's shelf of the macro names of a prose file's source


@lru_cache(maxsize=None)
def _macro_names(env: jinja2.Environment, source: str) -> frozenset[str]:
    """The public macros of a template's source, parsed once per text (every variant asks)
    and kept in the cache (a new process need not parse what it will load compiled)."""
    entry = C.key(MACROS, source)
    names = C.load(MACROS, entry)
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        names = sorted(m.name for m in env.parse(source).find_all(jinja2.nodes.Macro) if not m.name.startswith("_"))
        C.store(MACROS, entry, names)
    return frozenset(names)


def _kind_folders(kind: str) -> tuple[Path, tuple[Path, ...]]:
    """A kind's folder, and the folders of the kinds whose prose it uses."""
    from ..kinds import KINDS
    return KINDS[kind].folder, tuple(KINDS[name].folder for name in KINDS[kind].uses_prose)


def drawn_from(env: jinja2.Environment, fields: str) -> str:
    """A hash of everything a problem's figures are drawn from besides this package's code:
    its fields but its text (`verify.fields_without_prose`: a figure never shows the text) and the
    prose templates of its kind, which may make figures."""
    digest = hashlib.sha256(fields.encode())
    digest.update(_templates_text(env))
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _templates_text(env: jinja2.Environment) -> bytes:
    return "".join(f"\0{name}\0{source}" for name, source in _sources(env).items()).encode()


def prepare(solution: Solution, figure_prefix: str = "fig", number: int = 1, fields: str = "") -> RenderedProblem:
    """The neutral-markup version of a solution, problem `number` of its sheet; its figures
    are kept to be drawn by each output format's driver (and cached, when the problem's
    `fields` are given: `verify.fields_without_prose`)."""
    folder, borrowed = _kind_folders(solution.kind)
    env = _environment(folder, borrowed)
    m = MathContext(solution.values, solution.digits, f"{figure_prefix}-{solution.name}", solution.count_from,
                    number)
    libraries = {what: [env.get_template(name).make_module({"m": m}) for name in _templates(env, what)
                        if _macros(env, name)] for what in CATEGORIES}
    items = [("givens", solution.givens), ("questions", solution.questions), ("conventions", solution.conventions),
             ("sections", solution.derivation.sections), ("steps", solution.derivation.steps),
             ("closing", solution.closing)]
    missing = sorted({f"{what}.j2: {item.kind}" for what, found in items for item in found
                      if not any(hasattr(library, item.kind) for library in libraries[what])})
    if missing:
        raise RenderError(f"no prose macro for {'; '.join(missing)} in "
                          f"{', '.join(str(f / 'prose') for f in (folder, *borrowed))} or templates/prose")

    def render(what: str, item) -> str:
        if item.facts.get("tabulated"):  # shown by a table elsewhere in the solution
            return ""
        macro = next(getattr(library, item.kind) for library in libraries[what] if hasattr(library, item.kind))
        return str(macro(item)).strip()

    sections = [(render("sections", section), ["" if section.facts.get("tabulated") else render("steps", step)
                                                for step in section.steps])
                for section in solution.derivation.sections]
    answers = _answer_rows(m, solution.answers)
    given_values = [(q.key, m.tex(q), m.num(q)) for q in solution.derivation.givens]
    rendered = RenderedProblem(solution.name, markup.from_authored(solution.title),
                               markup.from_authored(solution.statement), markup.from_authored(solution.notes),
                               [render("givens", g) for g in solution.givens],
                               [render("questions", q) for q in solution.questions],
                               [render("conventions", c) for c in solution.conventions], sections, answers,
                               closing=[render("closing", c) for c in solution.closing],
                               instructor_notes=markup.from_authored(solution.instructor_notes),
                               given_values=given_values, steps=step_values(solution, m, sections),
                               drawn_from=drawn_from(env, fields) if fields else "")
    rendered.figures, rendered.figure_texts = dict(m.figures_used), dict(m.figure_texts)
    unplaced = sorted(set(m.figure_numbers) - set(m.figure_texts))
    if unplaced:
        raise RenderError(f"{solution.kind}: the prose refers to figure {', '.join(unplaced)} but never places it")
    return rendered
