"""LaTeX math as MathML that browsers show as LaTeX would: latex2mathml's output, mended
where MathML Core (Chromium, Firefox) shows it otherwise.

- `mathvariant="bold"` and `"bold-italic"` are ignored by MathML Core: letters and digits
  become the Unicode mathematical bold characters instead, so vectors stay bold;
- an operator name (`\\operatorname{ReLU}`) is an identifier, not an operator with space
  around it;
- a prime is set beside its base (`ReLU′`), not raised a second time as a superscript;
- a function name (ln, exp, …) is followed by a thin space, as LaTeX sets it (`ln g`);
- a superscript on a matrix applies to the whole bracketed matrix;
- `\\left( … \\right)` around something no taller than a line is a pair of ordinary
  parentheses (a stretchy one gets extra space on both sides);
- a row break's extra space (`\\\\[6pt]`) is left to the browser's own row spacing;
- a minus that starts a row or follows an operator is a sign (−3), not a subtraction, and a
  slash divides without space around it (∂L/∂A).
"""
from __future__ import annotations

import re
from xml.etree import ElementTree as ET

NAMESPACE = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", NAMESPACE)
FUNCTIONS = {"ln", "log", "exp", "sin", "cos", "tan", "tanh", "max", "min", "det", "diag", "sup", "inf", "lim"}
PRIME = "\u2032"
TALL = {"mfrac", "mtable", "munder", "munderover", "msqrt", "mroot"}
SIGNS = {"\u2212", "-", "+"}
CLOSING = {")", "]", "}", "|", "\u2016", "\u230b", "\u2309", "\u27e9", "!", "\u2032"}
ROWS = {"math", "mrow", "mtd", "mstyle", "mpadded", "mphantom"}
MATRIX_POWER = re.compile(r"(\\begin\{([a-zA-Z]*matrix)\}.*?\\end\{\2\})\s*(?=\^)", re.DOTALL)
ROW_SPACE = re.compile(r"\\\\\[[0-9.]+(pt|em|ex)\]")  # a row break with extra space, \\[6pt]: latex2mathml prints the length


def _bold(character: str, italic: bool) -> str:
    """The Unicode mathematical bold (italic) form of a Latin letter, Greek letter or digit."""
    if "A" <= character <= "Z":
        return chr((0x1D468 if italic else 0x1D400) + ord(character) - ord("A"))
    if "a" <= character <= "z":
        return chr((0x1D482 if italic else 0x1D41A) + ord(character) - ord("a"))
    if "0" <= character <= "9":
        return chr(0x1D7CE + ord(character) - ord("0"))
    if "\u03b1" <= character <= "\u03c9":
        return chr((0x1D736 if italic else 0x1D6C2) + ord(character) - 0x03B1)
    if "\u0391" <= character <= "\u03a9":
        return chr((0x1D71C if italic else 0x1D6A8) + ord(character) - 0x0391)
    return character


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _make(tag: str, text: str = "", **attributes) -> ET.Element:
    element = ET.Element(f"{{{NAMESPACE}}}{tag}", attributes)
    element.text = text or None
    return element


def _mend(parent: ET.Element) -> None:
    for i, child in enumerate(list(parent)):
        _mend(child)
        tag = _tag(child)
        variant = child.get("mathvariant")
        if tag in ("mi", "mn") and variant in ("bold", "bold-italic") and child.text:
            child.text = "".join(_bold(c, variant == "bold-italic") for c in child.text)
            del child.attrib["mathvariant"]
        if tag == "mo" and child.text and len(child.text) > 1 and child.text.isalpha():
            child.tag = f"{{{NAMESPACE}}}mi"
        if tag == "msup" and len(child) == 2 and (child[1].text or "").strip() == PRIME:
            base = child[0]
            child.tag, child.attrib = f"{{{NAMESPACE}}}mrow", {}
            child.remove(child[1])
            child.append(_make("mo", PRIME, lspace="0", rspace="0"))
            if _tag(base) == "mo":
                base.tag = f"{{{NAMESPACE}}}mi"
    fences = [c for c in parent if _tag(c) == "mo" and c.get("fence") == "true" and c.get("stretchy") == "true"]
    if fences and not any(_tag(e) in TALL for e in parent.iter()):
        for fence in fences:
            fence.set("stretchy", "false")
    for i, child in enumerate(parent):
        if _tag(child) == "mo" and child.text == "/":
            child.set("lspace", "0")
            child.set("rspace", "0")
        if _tag(child) == "mo" and child.text in SIGNS and (i == 0 or _is_operator(parent[i - 1])):
            child.set("form", "prefix")
    if _tag(parent) not in ROWS:  # in a script or a fraction each child has its place: nothing to add
        return
    for i, child in reversed(list(enumerate(parent))):
        if _tag(child) == "mi" and child.text in FUNCTIONS and i + 1 < len(parent):
            parent.insert(i + 1, _make("mspace", width="0.1667em"))


def _is_operator(element: ET.Element) -> bool:
    """An operator after which a minus is a sign: = + − ( , and the like, not a closing bracket."""
    return _tag(element) == "mo" and element.get("form") != "postfix" and (element.text or "") not in CLOSING


def convert(latex: str, display: bool = False) -> str:
    """MathML for LaTeX math, mended for MathML Core."""
    from latex2mathml.converter import convert as latex_to_mathml
    latex = ROW_SPACE.sub(lambda _: "\\\\", MATRIX_POWER.sub(r"{\1}", latex))
    mathml = latex_to_mathml(latex, display="block" if display else "inline")
    root = ET.fromstring(mathml)
    _mend(root)
    return ET.tostring(root, encoding="unicode", short_empty_elements=False)
