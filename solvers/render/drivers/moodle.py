"""A Moodle XML quiz per sheet (quiz.xml), for Moodle's question bank import.

Per problem a category holding one question per variant, so that a quiz's random question
from that category gives each student a variant. A problem with one number to enter is a
numerical question, one with several a cloze (embedded answers) question, one NUMERICAL
field per entry (MULTICHOICE for true/false); each field accepts the key's tolerance and
answers the catalog mistakes' values with feedback naming the mistake. A sibling category
"… (multiple choice)" holds a multiple-choice question per variant on one entry, its
distractors the mistakes' values (solvers.render.drivers.quiz). Built with ElementTree;
math in \\( \\), the TeX filter's notation.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from . import Document, Driver
from . import quiz as Q

CLOZE_SPECIALS = re.compile(r'([}#~/"\\])')


def _text(parent: ET.Element, tag: str, text: str, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    ET.SubElement(element, "text").text = text
    return element


def _question(type_: str, name: str, text: str) -> ET.Element:
    question = ET.Element("question", {"type": type_})
    _text(question, "name", name)
    _text(question, "questiontext", text, format="html")
    _text(question, "generalfeedback", "", format="html")
    for tag, value in (("defaultgrade", "1"), ("penalty", "0.3333333"), ("hidden", "0")):
        ET.SubElement(question, tag).text = value
    return question


def _number(value: float) -> str:
    return repr(float(value))


def numerical(name: str, text: str, entry: Q.Entry) -> ET.Element:
    question = _question("numerical", name, text)
    for value, fraction, feedback in [(entry.value, "100", "Correct.")] + [
            (v, "0", f"This is what you get if you {m['why']}.") for v, m in entry.mistakes]:
        answer = _text(question, "answer", _number(value), fraction=fraction, format="moodle_auto_format")
        ET.SubElement(answer, "tolerance").text = _number(entry.band)
        _text(answer, "feedback", feedback, format="html")
    for tag, value in (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3"), ("unitsleft", "0")):
        ET.SubElement(question, tag).text = value
    return question


def cloze_field(entry: Q.Entry) -> str:
    """One embedded answer: {1:NUMERICAL:=value:band#feedback~%0%wrong:band#feedback}."""
    if entry.boolean:
        right = "true" if entry.value else "false"
        return "{1:MULTICHOICE:=" + right + "~" + ("false" if entry.value else "true") + "}"
    parts = [f"={_number(entry.value)}:{_number(entry.band)}#{_escape('Correct.')}"]
    parts += [f"%0%{_number(v)}:{_number(entry.band)}#{_escape('This is what you get if you ' + m['why'] + '.')}"
              for v, m in entry.mistakes]
    return "{1:NUMERICAL:" + "~".join(parts) + "}"


def _escape(text: str) -> str:
    return CLOZE_SPECIALS.sub(r"\\\1", text)


def cloze(name: str, text: str, entries: list[Q.Entry], labels: dict[str, str]) -> ET.Element:
    rows = "".join(f"<tr><td>{Q.entry_label(labels, e)}</td><td>{cloze_field(e)}</td></tr>"
                   for e in entries)
    return _question("cloze", name, f"{text}\n<table>{rows}</table>")


def multichoice(name: str, text: str, entry: Q.Entry, options: list[Q.Choice], label: str) -> ET.Element:
    question = _question("multichoice", name, f"{text}\n<p>Choose the value of {label}.</p>")
    for option in options:
        answer = _text(question, "answer", option.text, fraction="100" if option.correct else "0", format="html")
        _text(answer, "feedback", option.feedback, format="html")
    for tag, value in (("single", "true"), ("shuffleanswers", "0"), ("answernumbering", "abc")):
        ET.SubElement(question, tag).text = value
    for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
        _text(question, tag, "", format="html")
    return question


def problem_questions(document: Document, problem, key_problem: dict[str, Any]) -> list[tuple[tuple, ET.Element]]:
    """(category, question) pairs for one problem of one variant."""
    digits = key_problem.get("digits", 4)
    text = Q.prompt(problem, digits)
    name = f"{Q.title(problem)} · {document.label or 'sheet'}"
    category = (document.title, Q.title(problem))
    entries = Q.entries(key_problem)
    labels = Q.entry_labels(problem, entries)
    if len(entries) == 1 and not entries[0].boolean:
        main = numerical(name, text, entries[0])
    else:
        main = cloze(name, text, entries, labels)
    out = [(category, main)]
    chosen = Q.multiple_choice_entry(key_problem)
    if chosen:
        options = Q.choices(chosen, digits, document.seed, key_problem["problem"])
        if len(options) > 1:
            out.append(((document.title, f"{category[1]} (multiple choice)"), multichoice(
                name, text, chosen, options, Q.entry_label(labels, chosen))))
    return out


def _category(path: tuple[str, ...]) -> ET.Element:
    """A category question: the following questions go into $course$/top/<sheet>/<problem>
    (a / inside a name is written //)."""
    question = ET.Element("question", {"type": "category"})
    _text(question, "category", "$course$/top/" + "/".join(p.replace("/", "//") for p in path))
    _text(question, "info", "", format="html")
    return question


class Moodle(Driver):
    name = "moodle"

    def render(self, document: Document) -> list[tuple[tuple, str]]:
        return [(category, ET.tostring(question, encoding="unicode"))
                for problem, key_problem in zip(document.problems, document.answers)
                for category, question in problem_questions(document, problem, key_problem)]

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        quiz, by_category = ET.Element("quiz"), {}
        for _, pairs in rendered:
            for category, question in pairs:
                by_category.setdefault(category, []).append(question)
        for category, questions in by_category.items():
            quiz.append(_category(category))
            quiz.extend([ET.fromstring(q) for q in questions])  # a list: a generator here turns Ctrl-C into a TypeError
        ET.indent(quiz)
        folder.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(quiz).write(folder / "quiz.xml", encoding="UTF-8", xml_declaration=True)
        return []
