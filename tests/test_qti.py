"""The QTI 1.2 package for Canvas: parsed back, the structure of a QTI 1.2 content package,
a section per problem entry drawing one variant, the key's tolerance as each numerical item's
range, distractors naming mistakes, unique identifiers, text escaped, reproducible."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from solvers import tolerance as T
from solvers.render.drivers import qti
from solvers.render.drivers import quiz as Q

ROOT = Path(__file__).resolve().parents[1]
NS = {"q": qti.QTI, "m": qti.MANIFEST}


def _build(source: Path, out: Path, *options) -> Path:
    subprocess.run([sys.executable, "-m", "solvers", "build", str(source), "--out", str(out),
                    "--formats", "answers,qti", *options], check=True, capture_output=True, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    return _build(ROOT / "bench" / "variants-sheet", tmp_path_factory.mktemp("qti"), "--variants", "3") / "variants-sheet"


def _package(folder: Path) -> tuple[ET.Element, ET.Element]:
    """The manifest and the assessment it names (checking that it names files in the zip)."""
    with zipfile.ZipFile(folder / "qti.zip") as package:
        names = set(package.namelist())
        manifest = ET.fromstring(package.read("imsmanifest.xml"))
        assert manifest.tag == f"{{{qti.MANIFEST}}}manifest" and manifest.get("identifier")
        resources = manifest.findall("m:resources/m:resource", NS)
        assert [r.get("type") for r in resources] == ["imsqti_xmlv1p2"]
        files = [f.get("href") for f in resources[0].findall("m:file", NS)]
        assert len(files) == 1 and set(files) | {"imsmanifest.xml"} == names
        root = ET.fromstring(package.read(files[0]))
    assert root.tag == f"{{{qti.QTI}}}questestinterop"
    return manifest, root


def _sections(root: ET.Element) -> list[ET.Element]:
    return root.find("q:assessment", NS).findall("q:section/q:section", NS)


def _field(item: ET.Element, label: str) -> str:
    for field in item.findall("q:itemmetadata/q:qtimetadata/q:qtimetadatafield", NS):
        if field.find("q:fieldlabel", NS).text == label:
            return field.find("q:fieldentry", NS).text
    raise KeyError(label)


def _text(item: ET.Element) -> str:
    return item.find("q:presentation/q:material/q:mattext", NS).text


def test_every_item_is_complete_and_every_identifier_unique(sheet):
    manifest, root = _package(sheet)
    assessment = root.find("q:assessment", NS)
    assert assessment.get("ident") and assessment.get("title") == "Loss and convolution shapes"
    items = root.findall(".//q:item", NS)
    assert len(items) == 24  # 3 variants × (3 + 3 numbered entries + 2 multiple-choice questions)
    for item in items:
        assert item.get("ident") and item.get("title")
        assert item.find("q:presentation", NS) is not None and _text(item)
        assert item.find("q:resprocessing/q:outcomes/q:decvar", NS).get("varname") == "SCORE"
        assert item.findall("q:resprocessing/q:respcondition", NS)
        assert _field(item, "question_type") in {"numerical_question", "multiple_choice_question"}
    scoped = ("q:assessment", ".//q:section", ".//q:item", ".//q:render_choice/q:response_label", ".//q:itemfeedback")
    idents = [e.get("ident") for path in scoped for e in root.findall(path, NS)] + [manifest.get("identifier")]
    assert len(idents) == len(set(idents)) > 24 + 9  # response1 and answer1 are named within their item


def test_a_section_per_problem_entry_draws_one_of_its_variants(sheet):
    _, root = _package(sheet)
    sections = _sections(root)
    assert len(sections) == 8
    for section in sections:
        assert section.find("q:selection_ordering/q:selection/q:selection_number", NS).text == "1"
        items = section.findall("q:item", NS)
        assert [i.get("title").rsplit(" · ", 1)[1] for i in items] == ["Variant 1", "Variant 2", "Variant 3"]
    titles = [s.get("title") for s in sections]
    assert "Cross-entropy loss of a logistic regression: loss" in titles
    assert "Output size of a convolution: layer1.shape[2]" in titles


def test_numerical_ranges_are_the_keys_tolerance(sheet):
    key = json.loads((sheet / "answer-key.json").read_text())
    _, root = _package(sheet)
    by_title = {s.get("title"): s.findall("q:item", NS) for s in _sections(root)}
    checked = 0
    for v, variant in enumerate(key["variants"]):
        for problem in variant["problems"]:
            title = problem["title"]
            for answer in problem["answers"]:
                values = answer["value"] if isinstance(answer["value"], list) else [answer["value"]]
                bands = T.band(answer["tolerance"], values)
                for i, (value, band) in enumerate(zip(values, bands)):
                    label = answer["name"] if len(values) == 1 else f"{answer['name']}[{i + 1}]"
                    item = by_title[f"{title}: {label}"][v]
                    assert _field(item, "question_type") == "numerical_question"
                    condition = item.find("q:resprocessing/q:respcondition", NS)
                    assert condition.get("continue") == "No"
                    assert float(condition.find(".//q:varequal", NS).text) == value
                    low = float(condition.find(".//q:vargte", NS).text)
                    high = float(condition.find(".//q:varlte", NS).text)
                    assert low == pytest.approx(value - band, abs=1e-12) and high == pytest.approx(value + band, abs=1e-12)
                    assert condition.find("q:setvar", NS).text == "100"
                    checked += 1
    assert checked == 18
    exact = by_title["Output size of a convolution: layer1.shape[1]"][0].find(".//q:respcondition", NS)
    assert exact.find(".//q:vargte", NS).text == exact.find(".//q:varlte", NS).text  # a size: exact


def test_multiple_choice_has_one_right_option_and_feedback_naming_each_mistake(sheet):
    key = json.loads((sheet / "answer-key.json").read_text())
    _, root = _package(sheet)
    section = next(s for s in _sections(root) if s.get("title").endswith("logistic regression (multiple choice)"))
    for variant, item in zip(key["variants"], section.findall("q:item", NS)):
        labels = item.findall("q:presentation/q:response_lid/q:render_choice/q:response_label", NS)
        texts = [label.find("q:material/q:mattext", NS).text for label in labels]
        assert len(texts) == len(set(texts)) >= 3
        assert _field(item, "original_answer_ids").split(",") == [label.get("ident") for label in labels]
        conditions = item.findall("q:resprocessing/q:respcondition", NS)
        scoring = [c for c in conditions if c.find("q:setvar", NS) is not None]
        assert len(scoring) == 1 and scoring[0].get("continue") == "No"
        right = scoring[0].find("q:conditionvar/q:varequal", NS).text
        whys = {m["why"] for m in variant["problems"][0]["mistakes"]}
        feedback = {f.get("ident"): f.find("q:flow_mat/q:material/q:mattext", NS).text
                    for f in item.findall("q:itemfeedback", NS)}
        for label in labels:
            if label.get("ident") == right:
                continue
            shown = next(c for c in conditions if c.find("q:conditionvar/q:varequal", NS).text == label.get("ident"))
            link = shown.find("q:displayfeedback", NS).get("linkrefid")
            assert any(why in feedback[link] for why in whys)
        entry = Q.multiple_choice_entry(variant["problems"][0])
        assert texts[[label.get("ident") for label in labels].index(right)] == Q.shown(entry.value, 4)


def test_true_false_answers_are_true_false_questions(tmp_path):
    folder = _build(ROOT / "problems" / "softmax" / "q3-subtracting-the-maximum.yaml", tmp_path) / "q3-subtracting-the-maximum"
    key = json.loads((folder / "answers.json").read_text())["problems"][0]
    booleans = [a for a in key["answers"] if isinstance(a["value"], bool)]
    assert booleans
    _, root = _package(folder)
    items = {s.get("title").split(": ", 1)[1]: s.find("q:item", NS) for s in
             root.find("q:assessment", NS).findall("q:section/q:section", NS) if ": " in s.get("title")}
    for answer in booleans:
        item = items[answer["name"]]
        assert _field(item, "question_type") == "true_false_question"
        labels = {l.get("ident"): l.find("q:material/q:mattext", NS).text
                  for l in item.findall(".//q:response_label", NS)}
        right = item.find("q:resprocessing/q:respcondition/q:conditionvar/q:varequal", NS).text
        assert labels[right] == ("True" if answer["value"] else "False")


def test_problem_text_and_math_are_escaped(tmp_path):
    problem = tmp_path / "src" / "q.yaml"
    problem.parent.mkdir()
    problem.write_text(yaml.safe_dump({
        "kind": "network", "title": "Loss </mattext> & co", "statement": "Is 1 < 2 & 3 > 2? <script>x</script>",
        "network": {"input": 1, "layers": [{"weights": 2, "bias": 1, "activation": "identity"}]},
        "loss": {"type": "squared_error", "target": 1}, "ask": {"forward": True, "loss": True}}), encoding="utf-8")
    _, root = _package(_build(problem, tmp_path / "out") / "q")
    item = root.find(".//q:item", NS)
    assert item.get("title").startswith("Loss </mattext> & co")  # an attribute, parsed back as written
    text = _text(item)
    assert "1 &lt; 2 &amp; 3 &gt; 2" in text and "&lt;script&gt;" in text and "<script>" not in text
    assert r"Enter \(z^{(1)}\)." in text  # math for MathJax, in the HTML as text


def test_the_package_is_reproducible(sheet, tmp_path):
    again = _build(ROOT / "bench" / "variants-sheet", tmp_path, "--variants", "3") / "variants-sheet"
    assert (again / "qti.zip").read_bytes() == (sheet / "qti.zip").read_bytes()
