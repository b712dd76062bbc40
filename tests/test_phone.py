"""The HTML pages as a reader sees them, in headless Chromium: at a phone's 390 px and a
desktop's 1200 px nothing is wider than the screen except inside a scrollable box, and the
MathML is what MathML Core shows correctly."""
import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from solvers import build
from solvers.render.drivers.html import math_to_mathml

ROOT = Path(__file__).resolve().parents[1]
SETS = ["loss-and-backprop", "matrix-backprop", "softmax", "convolution-values", "universal-approximation"]
PROBE = """<script>
window.addEventListener('load', () => {
  const width = document.documentElement.clientWidth, wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const inside = el.parentElement.closest('.scroll, math[display=block], math.wide');
    if (el.getBoundingClientRect().right > width + 1 && !inside) wide.push(el.tagName + ' ' + el.textContent.slice(0, 40));
  }
  parent.postMessage(JSON.stringify({page: document.documentElement.scrollWidth, width: width, wide: wide}), '*');
});
</script>"""
FRAME = """<!DOCTYPE html><html><body style="margin:0"><iframe id="f" style="border:0;width:{width}px;height:800px"
src="{page}"></iframe><pre id="result"></pre><script>
addEventListener('message', e => {{ document.getElementById('result').textContent = e.data; }});</script></body></html>"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is missing: `make test` installs it (as root), or apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    build.build([ROOT / "problems" / name for name in SETS], out, formats=["html"])
    return out


def measure(page: Path, width: int, folder: Path) -> dict:
    """What the page measures at `width` px, inside an iframe of that width (the window
    itself cannot be narrower than 500 px)."""
    probed = folder / f"{page.parent.name}-{page.stem}.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    frame = folder / f"frame-{width}.html"
    frame.write_text(FRAME.format(width=width, page=probed.name))
    run = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                          "--virtual-time-budget=5000", "--dump-dom", frame.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', run.stdout, re.S)
    assert found and found.group(1), run.stderr[-1000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("width", [390, 1200])
@pytest.mark.parametrize("name", SETS)
def test_nothing_is_wider_than_the_screen(pages, tmp_path, name, width):
    for page in ("solutions.html", "instructor-key.html"):
        shown = measure(pages / name / page, width, tmp_path)
        assert shown["wide"] == [] and shown["page"] <= shown["width"], (page, shown)


def test_a_screenshot_of_a_phone_page_is_not_blank(pages, tmp_path):
    frame = tmp_path / "frame.html"
    frame.write_text(FRAME.format(width=390, page=(pages / "softmax" / "solutions.html").as_uri()))
    shot = tmp_path / "shot.png"
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=400,800",
                    f"--screenshot={shot}", frame.as_uri()], capture_output=True, timeout=120, check=True)
    from matplotlib.image import imread
    pixels = imread(shot)[..., :3]
    assert (pixels < 0.5).mean() > 0.01  # text, not an empty page


def _tree(latex: str) -> ET.Element:
    return ET.fromstring(math_to_mathml(latex))


def _texts(latex: str, tag: str) -> list[str]:
    return [e.text for e in _tree(latex).iter() if e.tag.endswith("}" + tag)]


def test_bold_is_unicode_bold_since_browsers_ignore_mathvariant():
    tree = _tree(r"\mathbf{W_{0}} + \boldsymbol{\alpha}")
    assert not [e for e in tree.iter() if e.get("mathvariant")]
    assert _texts(r"\mathbf{W_{0}} + \boldsymbol{\alpha}", "mi") == ["\U0001D416", "\U0001D736"]
    assert _texts(r"\mathbf{W_{0}}", "mn") == ["\U0001D7CE"]


def test_a_prime_sits_beside_its_name():
    assert "<msup" not in math_to_mathml(r"\operatorname{ReLU}'\left(0\right)")
    assert _texts(r"\operatorname{ReLU}'\left(0\right)", "mi")[0] == "ReLU"


def test_a_function_name_is_followed_by_a_thin_space_and_parentheses_do_not_stretch():
    assert "<mi>ln</mi><mspace" in math_to_mathml(r"\ln g_{i}")
    assert 'stretchy="true"' not in math_to_mathml(r"\sigma\left(z\right)")
    assert 'stretchy="true"' in math_to_mathml(r"\left(\frac{1}{2}\right)")


def test_every_script_has_its_two_parts():
    for latex in (r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}^{\top}", r"\max_k z_k", r"e^{\ln x}"):
        for element in _tree(latex).iter():
            if element.tag.rsplit("}", 1)[-1] in ("msup", "msub", "mfrac"):
                assert len(element) == 2, latex


def test_a_sign_is_not_spaced_as_a_subtraction_and_a_slash_has_no_space():
    assert '<mo form="prefix">−</mo><mn>0.5</mn>' in math_to_mathml(r"b = -0.5")
    assert 'form="prefix"' not in math_to_mathml(r"a - b")
    assert '<mo lspace="0" rspace="0">/</mo>' in math_to_mathml(r"\partial L / \partial A")
