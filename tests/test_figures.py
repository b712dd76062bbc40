"""Figures as a reader sees them: every network problem's diagram on its question sheet and
its solutions, numbered and referred to from the givens, labelled with the sheet's rounded
numbers; PDF pages and HTML screenshots with ink where the figures are; the same files from
every build."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from solvers import build, variants
from solvers.numbers import figure_label

ROOT = Path(__file__).resolve().parents[1]
NETWORK_SETS = ["relu-networks", "loss-and-backprop", "softmax-network"]


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    build.build([ROOT / "problems" / name for name in NETWORK_SETS], out, formats=["latex", "html", "markdown"])
    return out


def _network_problems():
    for name in NETWORK_SETS:
        for path in sorted((ROOT / "problems" / name).glob("*.yaml")):
            if path.name != "sheet.yaml" and yaml.safe_load(path.read_text())["kind"] == "network":
                yield name, path


def _svg(sheet: Path, problem: str) -> str:
    return (sheet / "figures" / f"fig-sheet-{problem}-network.svg").read_text()


def _colour(image: np.ndarray) -> int:
    """How many pixels are in colour (the text of a sheet is black on white; the figures draw
    in colour)."""
    rgb = image[..., :3].astype(float)
    rgb = rgb / 255 if rgb.max() > 1 else rgb
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.25).sum())


@pytest.mark.parametrize("name,path", list(_network_problems()), ids=lambda v: getattr(v, "stem", v))
def test_every_network_problem_shows_its_diagram_on_both_sheets_with_every_weight(sheets, name, path):
    _, solution = variants.instantiate(variants.read(path), 1)  # no random fields: the sheet's numbers
    svg = _svg(sheets / name, path.stem)
    shown = set(re.findall(r">([^<>]+)</text>", svg))
    digits = solution.digits
    weights = [key for key in solution.values if re.fullmatch(r"W\d+", key)]
    assert weights
    for key in weights:
        for value in np.ravel(solution.values[key]):
            assert figure_label(value, digits) in shown, (key, value)
    for key in (k for k in solution.values if re.fullmatch(r"b\d+", k)):
        for value in np.ravel(solution.values[key]):
            assert figure_label(value, digits) in shown, (key, value)
    for value in np.ravel(solution.values["x"]):
        assert figure_label(value, digits) in shown
    for sheet in ("questions.tex", "solutions.tex"):
        tex = (sheets / name / sheet).read_text()
        assert f"figures/fig-sheet-{path.stem}-network.pdf" in tex
    page = (sheets / name / "solutions.html").read_text()
    found = re.search(rf'(\d+\.1) shows the network.*?<figure class="plot" role="img" aria-label="([^"]+)"><div class="scroll"><svg.*?'
                      rf'<figcaption><strong>Figure \1\.</strong> The network', page, re.S)
    assert found and found.group(2).startswith("Diagram of the network: ")


def test_figures_are_numbered_by_problem_and_referred_to_by_that_number(sheets):
    tex = (sheets / "loss-and-backprop" / "questions.tex").read_text()
    assert [int(n) for n in re.findall(r"Figure (\d)\.1 shows the network", tex)] == [1, 2, 3]
    assert re.findall(r"\\textbf\{Figure (\d\.\d)\.\}", tex) == ["1.1", "2.1", "3.1"]
    markdown = (sheets / "loss-and-backprop" / "solutions.md").read_text()
    assert re.findall(r"!\[Diagram of the network: [^\]]+\]\(figures/[\w-]+\.svg\)\n\n\*\*Figure (\d\.1)\.\*\*",
                      markdown) == ["1.1", "2.1", "3.1"]


def test_the_diagram_of_a_network_with_bias_names_its_activations_and_inputs(sheets):
    svg = _svg(sheets / "relu-networks", "s2-relu-softmax-outputs")
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert {"Input", "Layer 1", "ReLU", "Layer 2", "Softmax"} <= set(texts)
    assert texts.count("\u22121") == 2 + 4 + 4  # two hidden weights, four hidden biases, four output weights


def test_a_wide_layer_gets_a_diagram_of_whole_layers(tmp_path):
    problem = {"kind": "network", "title": "Wide", "network": {"input": [1, 2, 3], "layers": [
        {"weights": [[0.1 * (i + j) for j in range(3)] for i in range(8)], "bias": [0.5] * 8, "activation": "relu"},
        {"weights": [[1.0] * 8], "activation": "sigmoid"}]}, "ask": {"forward": True}}
    (tmp_path / "wide.yaml").write_text(yaml.safe_dump(problem))
    build.build([tmp_path / "wide.yaml"], tmp_path / "out", formats=["html"])
    page = (tmp_path / "out" / "wide" / "solutions.html").read_text()
    svg = page[page.index("<svg"):page.index("</svg>")]
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert "8 units" in texts and "weights 8×3" in texts and "0.1000" not in texts
    assert "each layer is drawn as a box" in page


def test_figures_are_the_same_files_in_every_build(tmp_path):
    files = []
    for run in ("one", "two"):
        build.build([ROOT / "problems" / "relu-networks", ROOT / "problems" / "relu-decision-regions"],
                    tmp_path / run, formats=["latex", "html"])
        files.append({p.relative_to(tmp_path / run): p.read_bytes() for p in (tmp_path / run).rglob("figures/*")})
    assert files[0] and files[0] == files[1]
    html = [(tmp_path / run / "relu-networks" / "solutions.html").read_bytes() for run in ("one", "two")]
    assert html[0] == html[1]
    assert not any(re.search(rb"CreationDate|<dc:date>", data) for data in files[0].values())


def test_a_question_sheet_page_has_ink_where_its_figure_is(sheets, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: apt-get install poppler-utils")
    pdf = sheets / "loss-and-backprop" / "questions.pdf"  # page 1: the diagram of a 5-input network
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    from matplotlib.image import imread
    page = imread(next(tmp_path.glob("page*.png")))
    assert _colour(page) > 300  # the coloured edges of the diagram
    figure_rows = np.flatnonzero(((page[..., :3].max(axis=-1) - page[..., :3].min(axis=-1)) > 0.25).any(axis=1))
    assert figure_rows.max() - figure_rows.min() > page.shape[0] * 0.1  # a drawing, not a stray coloured pixel


def test_an_html_page_with_figures_is_not_blank_in_chromium(sheets, tmp_path):
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is missing: `make test` installs it (as root), or apt-get install chromium")
    page = sheets / "loss-and-backprop" / "solutions.html"  # first: the diagram of a 5-input network
    assert page.read_text().count("<svg") == 3
    shot = tmp_path / "shot.png"
    subprocess.run([found, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,1600",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    from matplotlib.image import imread
    pixels = imread(shot)
    assert (pixels[..., :3] < 0.5).mean() > 0.01  # text
    assert _colour(pixels) > 300  # and the diagram, drawn


def _drawn(path: Path, item: str):
    """The axes a solution's closing figure `item` draws on (matplotlib, off screen)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _, solution = variants.instantiate(variants.read(path), 1)
    figure = next(c.facts["figure"] for c in solution.closing if c.kind == item)
    fig = plt.figure()
    axes = fig.subplots(*figure.grid, squeeze=False).flat if figure.grid != (1, 1) else [fig.add_subplot()]
    axes = list(axes)
    figure.draw(axes if len(axes) > 1 else axes[0])
    plt.close(fig)
    return figure, axes


def test_each_hidden_units_boundary_has_its_own_colour_and_style():
    _, (ax,) = _drawn(ROOT / "problems/relu-decision-regions/q1-regions.yaml", "regions_plot")
    lines = [line for line in ax.lines if line.get_label().startswith("$z_")]
    assert len(lines) == 4
    assert len({line.get_color() for line in lines}) == 4 and len({line.get_linestyle() for line in lines}) == 4


def test_universal_approximation_plots_every_number_of_bumps():
    figure, (ax,) = _drawn(ROOT / "problems/universal-approximation/q1-bumps.yaml", "approx_plot")
    bumps = yaml.safe_load((ROOT / "problems/universal-approximation/q1-bumps.yaml").read_text())["approximate"]["bumps"]
    labels = [line.get_label() for line in ax.lines]
    assert [label.split("$")[1] for label in labels[1:]] == [f"n = {n}" for n in bumps] and len(bumps) > 1
    assert "5, 10, 20, 40 sigmoid bumps" in figure.alt or all(str(n) in figure.alt for n in bumps)


def test_activation_plots_mark_the_kink_convention():
    figure, axes = _drawn(ROOT / "problems/activation-functions/q1-relu-family.yaml", "activation_plot")
    relu = axes[0]
    dots = [(line.get_xdata()[0], line.get_ydata()[0], line.get_markerfacecolor()) for line in relu.lines
            if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    assert sorted((x, y) for x, y, _ in dots) == [(0, 0.0), (0, 1.0)]  # ReLU'(0) = 0 taken, 1 from the right open
    assert [face for x, y, face in dots if y == 1.0] == ["white"]
    assert "kink at 0: f'(0) = 0 filled" in figure.alt and figure.grid == (1, 3)


def test_activation_solutions_show_their_plot(tmp_path):
    build.build([ROOT / "problems/activation-functions"], tmp_path, formats=["html"])
    page = (tmp_path / "activation-functions" / "solutions.html").read_text()
    assert page.count('<figure class="plot" role="img" aria-label="Plots of ') == 2  # q1, q2 (q3 plots nothing)
    assert "Figure 1.1 plots each function with its derivative" in page
