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
    found = re.search(r'(\d+\.1) shows the network.*?<figure class="plot" role="img" aria-label="([^"]+)"><div class="scroll"><svg.*?'
                      r'<figcaption><strong>Figure \1\.</strong> The network', page, re.S)
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
        build.build([ROOT / "problems" / "relu-networks", ROOT / "problems" / "relu-decision-regions", CONV],
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


# -- convolution pictures and computation graphs ----------------------------------------------------

CONV = ROOT / "problems" / "convolution-values"


def _pictures(path: Path) -> tuple:
    """The solution of a conv_values problem and its entries' figures, by letter."""
    _, solution = variants.instantiate(variants.read(path), 1)
    pictures = {section.facts["name"]: section.facts["picture"].figure(solution.values, solution.digits)
                for section in solution.derivation.sections if "picture" in section.facts}
    return solution, pictures


def _outlined(figure) -> list[list[str]]:
    """Drawn off screen: for each red outline, the texts of the cells inside it, row by row."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex
    fig = plt.figure(figsize=figure.size)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, figure.size[0]), ylim=(0, figure.size[1]))
    figure.draw(ax)
    outlines = [p for p in ax.patches if not p.get_fill() and to_hex(p.get_edgecolor()) == "#c0392b"]
    found = []
    for box in outlines:
        (x0, y0), w, h = box.get_xy(), box.get_width(), box.get_height()
        inside = [t for t in ax.texts if x0 < t.get_position()[0] < x0 + w and y0 < t.get_position()[1] < y0 + h]
        found.append([t.get_text() for t in sorted(inside, key=lambda t: (-t.get_position()[1], t.get_position()[0]))])
    plt.close(fig)
    return found


def _labels(values, digits) -> list[str]:
    return [figure_label(v, digits) for v in np.ravel(values)]


def test_each_entry_asked_has_a_picture_of_its_window_filter_and_output_cell():
    solution, pictures = _pictures(CONV / "q1-entries-e-and-v.yaml")
    assert sorted(pictures) == ["e", "v"]
    values, digits = solution.values, solution.digits
    for letter, figure in pictures.items():
        window, kernel, entry = _outlined(figure)
        assert window == _labels(values[f"P_{letter}"], digits)
        assert kernel == _labels(values["F"], digits)
        assert entry == [letter]
    assert "rows 1 to 4 and columns 5 to 8 outlined" in pictures["e"].alt and "e = 31" in pictures["e"].alt
    assert pictures["e"].size[0] <= 6.2  # the 8×8 padded image, the filter and the output fit the text's width


def test_a_convolution_picture_shows_the_rotated_filter_and_every_channel():
    solution, pictures = _pictures(CONV / "q3-flipped-convolution.yaml")
    _, kernel, _ = _outlined(pictures["e"])
    assert kernel == _labels(solution.values["Fr"], solution.digits) != _labels(solution.values["F"], solution.digits)
    assert "rotated by 180°" in pictures["e"].alt
    solution, pictures = _pictures(CONV / "q2-two-channels.yaml")  # entries: all, so only the first is drawn
    assert list(pictures) == ["a"]
    outlined = _outlined(pictures["a"])
    assert outlined == [_labels(solution.values["P_a1"], 4), _labels(solution.values["F1"], 4),
                        _labels(solution.values["P_a2"], 4), _labels(solution.values["F2"], 4), ["a"]]


def test_the_convolution_pictures_stand_by_their_entries_on_the_page(tmp_path):
    build.build([CONV], tmp_path, formats=["latex", "html"])
    page = (tmp_path / "convolution-values" / "solutions.html").read_text()
    entry = page.index("<strong>Entry e.</strong>")
    figure = page.index('aria-label="Entry e of the output', entry)
    assert figure < page.index("top-left corner", entry) < page.index("<strong>Entry v.</strong>")
    svg = page[figure:page.index("</svg>", figure)]
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert "e = 31" in texts and {"\u22122", "6", "3"} <= set(texts)
    assert "Figure 1.1 shows where the filter lies for this entry" in page and "<strong>Figure 1.2.</strong> Entry v" in page
    tex = (tmp_path / "convolution-values" / "solutions.tex").read_text()
    assert "figures/fig-sheet-q1-entries-e-and-v-conv-v.pdf" in tex
    assert (tmp_path / "convolution-values" / "figures" / "fig-sheet-q3-flipped-convolution-conv-a.pdf").exists()
    assert "conv-" not in (tmp_path / "convolution-values" / "questions.tex").read_text()


def test_a_scalar_network_asked_for_gradients_draws_its_computation_graph(sheets):
    path = ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml"
    _, solution = variants.instantiate(variants.read(path), 1)
    values, digits = solution.values, solution.digits
    svg = (sheets / "relu-networks" / "figures" / "fig-sheet-s1-one-hidden-unit-graph.svg").read_text()
    texts = re.findall(r">([^<>]+)</text>", svg)
    for key in ("x", "z1", "a1", "z2", "a2", "L", "W1", "b1", "W2", "b2", "y"):
        assert figure_label(values[key][0, 0], digits) in texts, key
    gradients = [figure_label(values[f"dL_d{key}"][0, 0], digits) for key in ("z1", "a1", "W1", "b1", "z2", "a2",
                                                                             "W2", "b2")]
    shown = texts.copy()
    for text in gradients + ["1"]:  # each gradient once (∂L/∂L = 1 under the loss)
        shown.remove(text)
    assert {"ReLU", "loss"} <= set(texts)
    page = (sheets / "relu-networks" / "solutions.html").read_text()
    found = re.search(r'Figure (1\.2) draws the network as a chain.*?aria-label="(Computation graph[^"]+)".*?'
                      r'<strong>Figure \1\.</strong> Computation graph', page, re.S)
    assert found and "z1 = 1, gradient 12" in found.group(2)
    assert "fig-sheet-s2-relu-softmax-outputs-graph" not in page  # a network of vectors: no graph
    assert "-graph.pdf" not in (sheets / "relu-networks" / "questions.tex").read_text()


def test_a_scalar_network_asked_only_for_its_output_draws_no_graph(tmp_path):
    problem = {"kind": "network", "title": "Forward only", "network": {"input": 2, "layers": [
        {"weights": 3, "bias": -1, "activation": "relu"}]}, "loss": {"type": "squared_error", "target": 1},
        "ask": {"forward": True, "loss": True}}
    (tmp_path / "forward.yaml").write_text(yaml.safe_dump(problem))
    _, solution = variants.instantiate(variants.read(tmp_path / "forward.yaml"), 1)
    assert solution.closing == []
    problem["ask"]["gradients"] = "all"
    (tmp_path / "forward.yaml").write_text(yaml.safe_dump(problem))
    _, solution = variants.instantiate(variants.read(tmp_path / "forward.yaml"), 1)
    assert [item.kind for item in solution.closing] == ["computation_graph"]
