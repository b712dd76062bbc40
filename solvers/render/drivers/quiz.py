"""What the quiz formats (Moodle XML, QTI) share: a problem's question text as HTML with
math in the TeX filter's notation, its answers entry by entry with the accepted band, and
multiple-choice options made from the catalog's mistakes.

Multiple-choice options are the right answer and each mistake's answer, as shown at the
sheet's digits; an option that shows the same as the right one or as an earlier option is
left out, so every option a student sees is distinct. Their order is shuffled with a seed
made of the variant's seed, the problem and the answer name: the same build always gives
the same order, each variant its own.
"""
from __future__ import annotations

import hashlib
import html
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import tolerance as T
from .. import markup
from . import templates

QUESTION = templates("quiz", autoescape=True).get_template("question.html.j2")


def _text(text: str, style: markup.Style) -> str:
    shown = html.escape(text).replace("{", "&#123;").replace("}", "&#125;")  # never read as an embedded answer
    if style.bold:
        shown = f"<strong>{shown}</strong>"
    return f"<em>{shown}</em>" if style.italic else shown


def _math(math: markup.Math) -> str:
    latex = html.escape(math.latex.strip())
    return rf"\({latex}\)" if math.mode == "inline" else rf"\[{latex}\]"


def to_html(text: str) -> list[str]:
    """Neutral markup as HTML blocks, math as \\( \\) and \\[ \\] (figures left out)."""
    return [b for b in markup.translate(text, _text, _math, lambda name: "") if b]


def _blocks(value: Any) -> list[str]:
    if isinstance(value, str):
        return to_html(value)
    return [html.escape(paragraph) for paragraph in value]  # plain paragraphs


def title(problem) -> str:
    """A problem's title as plain text."""
    return "".join(markup.translate(problem.title, lambda t, s: t, lambda m: m.latex, lambda n: "")) \
        if isinstance(problem.title, str) else str(problem.title)


def prompt(problem, digits: int) -> str:
    """The question text of a problem with the precision asked of numbers."""
    return question_html(problem, f"Give numbers to at least {digits} significant digits.")


def question_html(problem, extra: str = "") -> str:
    """The question text of a problem: statement, givens, parts asked."""
    return QUESTION.render(
        statement=_blocks(problem.statement), givens=[b for g in problem.givens for b in to_html(g)],
        questions=[b for q in problem.questions for b in to_html(q)],
        figures="The figure is on the printed sheet." if problem.figures or any(
            markup.FIGURE.search(q) for q in problem.givens) else "",
        rounding=extra).strip()


@dataclass
class Entry:
    """One number a student enters: an answer's entry with its accepted band and the
    catalog mistakes whose answer differs there."""
    answer: str
    label: str  # "loss", "gradient.W1[1,2]"
    value: float
    band: float
    exact: bool
    boolean: bool
    mistakes: list[tuple[float, dict]]  # (the mistaken value, the mistake)


def entries(key_problem: dict[str, Any]) -> list[Entry]:
    """Every number of a problem's answers, in order."""
    out = []
    for answer in key_problem["answers"]:
        values = np.atleast_2d(np.array(answer["value"], dtype=float))
        if np.ndim(answer["value"]) == 1:
            values = values.T
        bands = T.band(answer["tolerance"], values)
        exact = answer["tolerance"] == T.EXACT
        wrong = [(np.atleast_2d(np.array(m["answers"][answer["name"]], dtype=float)), m)
                 for m in key_problem.get("mistakes", ()) if answer["name"] in m["answers"]]
        for (i, j), value in np.ndenumerate(values):
            label = answer["name"] if values.size == 1 else (
                f"{answer['name']}[{i + 1}]" if values.shape[1] == 1 else f"{answer['name']}[{i + 1},{j + 1}]")
            mistaken = []
            for array, m in wrong:
                array = array.T if np.ndim(m["answers"][answer["name"]]) == 1 else array
                if array.shape == values.shape and abs(array[i, j] - value) > bands[i, j]:
                    mistaken.append((float(array[i, j]), m))
            out.append(Entry(answer["name"], label, float(value), float(bands[i, j]), exact,
                             isinstance(answer["value"], bool), mistaken))
    return out


def shown(value: float, digits: int, exact: bool = False) -> str:
    """A number as the sheet shows it."""
    if exact and float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}g}"


@dataclass
class Choice:
    text: str
    correct: bool
    feedback: str
    mistake: str | None = None


def choices(entry: Entry, digits: int, seed: int, problem: str) -> list[Choice]:
    """The right value and the distinct mistaken ones, in a seeded random order."""
    right = shown(entry.value, digits, entry.exact)
    options, seen = [Choice(right, True, "Correct.")], {right}
    for value, mistake in entry.mistakes:
        text = shown(value, digits, entry.exact)
        if text not in seen:
            seen.add(text)
            options.append(Choice(text, False, f"Not quite: this is what you get if you {mistake['why']}.",
                                  mistake["name"]))
    digest = hashlib.sha256(f"{seed}:{problem}:{entry.label}".encode()).digest()
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(options)
    return options


def multiple_choice_entry(key_problem: dict[str, Any]) -> Entry | None:
    """The entry asked as a multiple-choice question: the first with at least two distractors
    (else one), None when no mistake changes any."""
    found = [e for e in entries(key_problem) if e.mistakes and not e.boolean]
    return next((e for e in found if len({m["name"] for _, m in e.mistakes}) >= 2), found[0] if found else None)



def entry_labels(problem, found: list[Entry]) -> dict[str, str]:
    """Each entry's label as HTML with math: the answer's symbol, with the entry's index."""
    symbols = {name: label for name, label, _ in problem.answers}
    out = {}
    for e in found:
        symbol = symbols.get(e.answer)
        if symbol is None:
            continue
        index = e.label[len(e.answer):].strip("[]")
        out[e.label] = rf"\({html.escape(symbol)}\)" + (f" entry {index}" if index else "")
    return out


def entry_label(labels: dict[str, str], entry: Entry) -> str:
    """An entry's label as HTML: its math label, else its name."""
    return labels.get(entry.label, html.escape(entry.label))
