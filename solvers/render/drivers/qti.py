"""A QTI 1.2 quiz per sheet (qti.zip), the format Canvas imports as a quiz (Classic Quizzes).

An IMS content package: imsmanifest.xml naming one assessment file. The assessment has a
section per problem and entry, holding one item per variant with a selection of one, so that
Canvas draws a variant for each student (each section on its own: a student's entries of one
problem may come from different variants, each item stating its own numbers). An entry is a
numerical_question accepting the key's tolerance as the exact value ± its band (a
true_false_question for true/false); a section "… (multiple choice)" per problem holds a
multiple_choice_question per variant whose distractors are the catalog mistakes' values,
each with feedback naming its mistake (solvers.render.drivers.quiz, as for Moodle).
Built with ElementTree; math in \\( \\) for Canvas's MathJax.
"""
from __future__ import annotations

import hashlib
import itertools
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

from . import Document, Driver
from . import quiz as Q

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
MANIFEST = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
ASSESSMENT = "assessment.xml"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that a build is reproducible


def ident(*parts: Any) -> str:
    """A stable identifier (an XML name) for what `parts` name."""
    return "q" + hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:20]


def _metadata(parent: ET.Element, fields: dict[str, str]) -> None:
    metadata = ET.SubElement(parent, "qtimetadata")
    for label, entry in fields.items():
        field = ET.SubElement(metadata, "qtimetadatafield")
        ET.SubElement(field, "fieldlabel").text = label
        ET.SubElement(field, "fieldentry").text = entry


def _material(parent: ET.Element, html: str) -> None:
    ET.SubElement(ET.SubElement(parent, "material"), "mattext", texttype="text/html").text = html


def _item(item_id: str, title: str, kind: str, answers: list[str], text: str) -> tuple[ET.Element, ET.Element]:
    """An item with its metadata and question text; returns it and its presentation."""
    item = ET.Element("item", ident=item_id, title=title)
    _metadata(ET.SubElement(item, "itemmetadata"), {
        "question_type": kind, "points_possible": "1", "original_answer_ids": ",".join(answers),
        "assessment_question_identifierref": f"{item_id}_ref"})
    presentation = ET.SubElement(item, "presentation")
    _material(presentation, text)
    return item, presentation


def _resprocessing(item: ET.Element) -> ET.Element:
    processing = ET.SubElement(item, "resprocessing")
    ET.SubElement(ET.SubElement(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0",
                  varname="SCORE", vartype="Decimal")
    return processing


def _number(value: float) -> str:
    return repr(float(value))


def numerical(item_id: str, title: str, text: str, entry: Q.Entry) -> ET.Element:
    """A numerical_question: right when within the key's band of the exact value."""
    item, presentation = _item(item_id, title, "numerical_question", [f"{item_id}_answer"], text)
    response = ET.SubElement(presentation, "response_str", ident="response1", rcardinality="Single")
    ET.SubElement(ET.SubElement(response, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")
    condition = ET.SubElement(_resprocessing(item), "respcondition", {"continue": "No"})
    either = ET.SubElement(ET.SubElement(condition, "conditionvar"), "or")
    ET.SubElement(either, "varequal", respident="response1").text = _number(entry.value)
    within = ET.SubElement(either, "and")
    ET.SubElement(within, "vargte", respident="response1").text = _number(entry.value - entry.band)
    ET.SubElement(within, "varlte", respident="response1").text = _number(entry.value + entry.band)
    ET.SubElement(condition, "setvar", action="Set", varname="SCORE").text = "100"
    return item


def choice_item(item_id: str, title: str, text: str, kind: str, options: list[Q.Choice]) -> ET.Element:
    """A multiple_choice_question (or true_false_question): one right option, and feedback
    for each option that has any."""
    ids = [f"{item_id}_{n}" for n in range(len(options))]
    item, presentation = _item(item_id, title, kind, ids, text)
    render = ET.SubElement(ET.SubElement(presentation, "response_lid", ident="response1", rcardinality="Single"),
                           "render_choice")
    for choice_id, option in zip(ids, options):
        _material(ET.SubElement(render, "response_label", ident=choice_id), Q.html.escape(option.text))
    processing = _resprocessing(item)
    for choice_id, option in zip(ids, options):
        if option.feedback and not option.correct:
            condition = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
            ET.SubElement(ET.SubElement(condition, "conditionvar"), "varequal", respident="response1").text = choice_id
            ET.SubElement(condition, "displayfeedback", feedbacktype="Response", linkrefid=f"{choice_id}_fb")
    right = next(choice_id for choice_id, option in zip(ids, options) if option.correct)
    condition = ET.SubElement(processing, "respcondition", {"continue": "No"})
    ET.SubElement(ET.SubElement(condition, "conditionvar"), "varequal", respident="response1").text = right
    ET.SubElement(condition, "setvar", action="Set", varname="SCORE").text = "100"
    for choice_id, option in zip(ids, options):
        if option.feedback and not option.correct:
            feedback = ET.SubElement(item, "itemfeedback", ident=f"{choice_id}_fb")
            _material(ET.SubElement(feedback, "flow_mat"), Q.html.escape(option.feedback))
    return item


def true_false(item_id: str, title: str, text: str, entry: Q.Entry) -> ET.Element:
    options = [Q.Choice("True", bool(entry.value), ""), Q.Choice("False", not entry.value, "")]
    return choice_item(item_id, title, text, "true_false_question", options)


def problem_items(document: Document, problem, key_problem: dict[str, Any]) -> list[tuple[tuple[str, str], ET.Element]]:
    """((section id, section title), item) pairs for one problem of one variant."""
    digits, name = key_problem.get("digits", 4), key_problem["problem"]
    text, heading = Q.prompt(problem, digits), Q.title(problem)
    found = Q.entries(key_problem)
    labels = Q.entry_labels(problem, found)
    variant = document.label or "sheet"
    out = []
    for entry in found:
        item_id = ident(document.title, document.variant, name, entry.label)
        asked = f"{text}\n<p>Enter {Q.entry_label(labels, entry)}.</p>"
        title = f"{heading} · {entry.label} · {variant}"
        make = true_false if entry.boolean else numerical
        out.append(((ident(document.title, name, entry.label), f"{heading}: {entry.label}"),
                    make(item_id, title, asked, entry)))
    chosen = Q.multiple_choice_entry(key_problem)
    options = Q.choices(chosen, digits, document.seed, name) if chosen else []
    if len(options) > 1:
        item_id = ident(document.title, document.variant, name, chosen.label, "multiple choice")
        asked = f"{text}\n<p>Choose the value of {Q.entry_label(labels, chosen)}.</p>"
        out.append(((ident(document.title, name, "multiple choice"), f"{heading} (multiple choice)"),
                    choice_item(item_id, f"{heading} · {chosen.label} · {variant}", asked,
                                "multiple_choice_question", options)))
    return out


def _section(parent: ET.Element, section_id: str, title: str, items: list[str]) -> None:
    """A section drawing one of its items (one per variant), worth one point."""
    section = ET.SubElement(parent, "section", ident=section_id, title=title)
    selection = ET.SubElement(ET.SubElement(section, "selection_ordering"), "selection")
    ET.SubElement(selection, "selection_number").text = "1"
    ET.SubElement(ET.SubElement(selection, "selection_extension"), "points_per_item").text = "1"
    section.append(ET.Comment(_slot(section_id)))


def assessment(title: str, sections: dict[tuple[str, str], list[str]]) -> ET.Element:
    root = ET.Element("questestinterop", xmlns=QTI)
    test = ET.SubElement(root, "assessment", ident=ident(title, "assessment"), title=title)
    _metadata(test, {"cc_maxattempts": "1"})
    top = ET.SubElement(test, "section", ident="root_section")
    for (section_id, section_title), items in sections.items():
        _section(top, section_id, section_title, items)
    return root


def manifest(title: str) -> ET.Element:
    root = ET.Element("manifest", identifier=ident(title, "manifest"), xmlns=MANIFEST)
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "IMS Content"
    ET.SubElement(metadata, "schemaversion").text = "1.1.3"
    ET.SubElement(root, "organizations")
    resource = ET.SubElement(ET.SubElement(root, "resources"), "resource", identifier=ident(title, "assessment"),
                             type="imsqti_xmlv1p2")
    ET.SubElement(resource, "file", href=ASSESSMENT)
    return root


ITEM_LEVEL = 4  # questestinterop > assessment > section > section > item


def _slot(section_id: str) -> str:
    return f"items of {section_id}"


def _xml(root: ET.Element, sections: dict[tuple[str, str], list[str]] | None = None) -> bytes:
    """The document indented, each section's items (serialized and indented by the workers)
    put in its slot as they are: the parent does not parse and print them again."""
    ET.indent(root)
    between = "\n" + "  " * ITEM_LEVEL
    items = {_slot(section_id): between.join(texts) for (section_id, _), texts in (sections or {}).items()}
    pieces = re.split(r"<!--(.*?)-->", ET.tostring(root, encoding="unicode"))  # text, slot, text, slot, ..., text
    text = "".join(items.get(piece, f"<!--{piece}-->") if odd else piece for odd, piece in
                   zip(itertools.cycle((False, True)), pieces))
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + text.encode()


def _item_text(item: ET.Element) -> str:
    ET.indent(item, level=ITEM_LEVEL)
    return ET.tostring(item, encoding="unicode")


class Qti(Driver):
    name = "qti"

    def render(self, document: Document) -> list[tuple[tuple[str, str], str]]:
        return [(section, _item_text(item))
                for problem, key_problem in zip(document.problems, document.answers)
                for section, item in problem_items(document, problem, key_problem)]

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        title, sections = rendered[0][0].title, {}
        for _, pairs in rendered:
            for section, item in pairs:
                sections.setdefault(section, []).append(item)
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / "qti.zip", "w", zipfile.ZIP_DEFLATED) as package:
            for name, xml in (("imsmanifest.xml", _xml(manifest(title))),
                              (ASSESSMENT, _xml(assessment(title, sections), sections))):
                member = zipfile.ZipInfo(name, ZIP_TIME)
                member.external_attr = 0o644 << 16  # rw-r--r--
                package.writestr(member, xml, zipfile.ZIP_DEFLATED)
        return []
