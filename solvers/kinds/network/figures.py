"""The diagram of a network problem, drawn from its given values: the inputs (their values
inside, their names beside), each layer's units as circles (their biases inside) under the layer's activation,
each edge labelled with its weight in the edge's colour, the labels placed where they cover
no other label or unit. A layer of more than DETAILED units makes a diagram of whole layers
instead (a box per layer with its shape), where one label per weight could not be read.

The layout is computed once (`layout`), from the problem alone, and both drawn (`draw`) and
described in words (`describe`, the alt text), so a new variant gets its own diagram.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...drawing import Boxes, text_size
from ...nn import activation_name
from ...numbers import figure_label as number
from ...solution import Figure
from .spec import Spec, Structure

DETAILED = 6  # units in a layer (or inputs) up to which every weight is drawn on its edge
ROW = 0.62  # inches between units of a layer
RADIUS = 0.23
LABEL = 7.0  # points: edge and bias labels
HEADER = 8.0  # points: the layer headings
TOP = 0.52  # inches above the first unit, for the headings
COLORS = ("#1f5fa8", "#c0392b", "#2e8b3a", "#7d3c98", "#d35400", "#117a8b", "#8e6c1f", "#c2185b", "#555555",
          "#2c3e50")
SHORT = {"identity": "id", "relu": "ReLU", "leaky_relu": "LReLU", "elu": "ELU", "sigmoid": "σ", "tanh": "tanh",
         "softmax": "softmax", "softplus": "softplus", "gelu": "GELU"}


@dataclass
class Node:
    x: float
    y: float
    text: str = ""  # inside the circle: an input's value, a unit's bias
    side: str = ""  # beside it: an input's name


@dataclass
class Edge:
    start: Node
    end: Node
    color: str
    label: str = ""  # the weight
    at: tuple[float, float] | None = None  # where the label is centred


@dataclass
class Column:
    heading: list[str]
    nodes: list[Node] = field(default_factory=list)
    box: str = ""  # a diagram of whole layers: the layer's shape, in its box


@dataclass
class Layout:
    width: float
    height: float
    columns: list[Column]
    edges: list[Edge]
    detailed: bool
    radius: float = RADIUS  # of a unit's circle: its bias fits inside


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _entry(name: str, index: int, count: int, first: int) -> str:
    """Entry `index` of a vector named `name` (just the name for one entry), with Unicode
    subscripts (mathtext, slower to lay out, only for a name with a subscript of its own)."""
    if "_" in name:
        base = "{" + name.replace("_", "_{", 1) + "}}"
        return f"${base}$" if count == 1 else f"${base}_{{{index + first}}}$"
    return name if count == 1 else name + str(index + first).translate(SUBSCRIPTS)


def _widths(s: Structure) -> list[int]:
    return [s.layers[0].inputs] + [layer.units for layer in s.layers]


def detailed(s: Structure) -> bool:
    """Whether the diagram shows every unit and weight (else a box per layer)."""
    return max(_widths(s)) <= DETAILED


def layout(spec: Spec, s: Structure, values: dict) -> Layout:
    """Where everything goes, in inches from the lower left corner."""
    widths = _widths(s)
    if not detailed(s):
        return _layer_layout(spec, s)
    digits, first = spec.digits, spec.count_from
    x = np.ravel(values["x"])
    inputs = [number(v, digits) for v in x]
    left = text_size(f"{s.input_name}10", LABEL)[0] + 0.2
    inside = inputs + [number(values[f"b{l}"][j, 0], digits) for l, layer in enumerate(s.layers, 1) if layer.bias
              for j in range(layer.units)] + [SHORT[layer.activation.name] for layer in s.layers if not layer.dense]
    radius = max([RADIUS] + [text_size(text, LABEL)[0] / 2 + 0.05 for text in inside])
    row = max(ROW, 2 * radius + 0.16)
    gaps = [max(1.35, 0.9 + 0.22 * max(n, m)) if layer.dense else 0.9
            for n, m, layer in zip(widths, widths[1:], s.layers)]
    height = TOP + max(widths) * row + 0.1
    xs = [left + radius] + list(left + radius + np.cumsum(gaps))
    width = xs[-1] + radius + 0.45

    def column_nodes(count: int, cx: float) -> list[Node]:
        top = height - TOP - row / 2 - (max(widths) - count) * row / 2
        return [Node(cx, top - k * row) for k in range(count)]

    columns = [Column(["Input"], column_nodes(widths[0], xs[0]))]
    for k, node in enumerate(columns[0].nodes):
        node.text, node.side = inputs[k], _entry(s.input_name, k, widths[0], first)
    edges, boxes = [], Boxes()
    for l, layer in enumerate(s.layers, 1):
        nodes = column_nodes(layer.units, xs[l])
        name = activation_name(layer.activation.name, capital=True)
        if layer.activation.alpha is not None:
            name += f", α = {number(layer.activation.alpha, digits)}"
        columns.append(Column([f"Layer {l}", name], nodes))
        previous = columns[l - 1].nodes
        if layer.dense:
            W = values[f"W{l}"]
            weight = (lambda i, j: W[j, i]) if s.layout == "rows" else (lambda i, j: W[i, j])
            if layer.bias:
                for j, node in enumerate(nodes):
                    node.text = number(values[f"b{l}"][j, 0], digits)
            for i, start in enumerate(previous):
                for j, end in enumerate(nodes):
                    edges.append(Edge(start, end, COLORS[i % len(COLORS)], number(weight(i, j), digits)))
        else:  # an activation alone: each value to its own (softmax: to every) output
            pairs = zip(previous, nodes) if layer.activation.elementwise else (
                (start, end) for start in previous for end in nodes)
            edges += [Edge(start, end, "#999999") for start, end in pairs]
            for node in nodes:
                node.text = SHORT[layer.activation.name]
    for column in columns:
        for node in column.nodes:
            boxes.add(node.x, node.y, radius, radius)
            if node.side:
                w, h = text_size(node.side, LABEL)
                boxes.add(node.x - radius - 0.06 - w / 2, node.y, w / 2, h / 2)
    _place_labels(edges, boxes)
    return Layout(width, height, columns, edges, True, radius)


def _place_labels(edges: list[Edge], boxes: Boxes) -> None:
    """Each weight label on its edge, staggered: the edges leaving one unit put their labels
    at one distance along them, the next unit's further on, so that labels on crossing edges
    sit apart; a label that would still cover another moves along its edge to a free place."""
    into: dict[int, list[int]] = {}  # each unit: the units its edges come from, in order
    for edge in edges:
        into.setdefault(id(edge.end), []).append(id(edge.start))
    for edge in edges:
        if not edge.label:
            continue
        sources = max(1, len(into[id(edge.end)]) - 1)
        i = into[id(edge.end)].index(id(edge.start))
        preferred = 0.28 + 0.44 * i / sources
        candidates = sorted(np.linspace(0.12, 0.88, 39), key=lambda t: abs(t - preferred))
        w, h = text_size(edge.label, LABEL)
        (ax, ay), (bx, by) = (edge.start.x, edge.start.y), (edge.end.x, edge.end.y)
        edge.at = boxes.place([(ax + t * (bx - ax), ay + t * (by - ay)) for t in candidates], w / 2 + 0.03,
                              h / 2 + 0.01)


def _layer_layout(spec: Spec, s: Structure) -> Layout:
    """A box per layer with its shape: for layers too wide to show every weight."""
    columns = [Column(["Input"], box=f"{s.layers[0].inputs} entries")]
    for l, layer in enumerate(s.layers, 1):
        name = activation_name(layer.activation.name, capital=True)
        if layer.dense:
            shape = (f"{layer.units}×{layer.inputs}" if s.layout == "rows" else f"{layer.inputs}×{layer.units}")
            box = f"{layer.units} units\nweights {shape}" + (f"\nbias {layer.units}" if layer.bias else "\nno bias")
        else:
            box = f"{layer.units} values\nno weights"
        columns.append(Column([f"Layer {l}", name], box=box))
    gap = 1.55
    width = 0.25 + gap * len(columns)
    height = 1.6
    for k, column in enumerate(columns):
        column.nodes = [Node(0.25 + gap * (k + 0.5) - 0.1, 0.7)]
    return Layout(width, height, columns, [], False)


def draw(plan: Layout, ax) -> None:
    from matplotlib.patches import Circle, FancyBboxPatch
    if not plan.detailed:
        for k, column in enumerate(plan.columns):
            node = column.nodes[0]
            ax.add_patch(FancyBboxPatch((node.x - 0.58, node.y - 0.42), 1.16, 0.84, boxstyle="round,pad=0.02",
                                        fc="#eef3fa", ec="#333333", lw=0.9))
            ax.text(node.x, node.y, column.box, ha="center", va="center", fontsize=LABEL, linespacing=1.4)
            ax.text(node.x, node.y + 0.55, "\n".join(column.heading), ha="center", va="bottom", fontsize=HEADER)
            if k:
                ax.annotate("", (node.x - 0.6, node.y), (plan.columns[k - 1].nodes[0].x + 0.6, node.y),
                            arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.9})
        return
    for edge in plan.edges:
        ax.plot([edge.start.x, edge.end.x], [edge.start.y, edge.end.y], color=edge.color, lw=0.8,
                ls="-" if edge.label else (0, (3, 2)), zorder=1, solid_capstyle="butt")
    for edge in plan.edges:
        if edge.label:
            ax.text(*edge.at, edge.label, ha="center", va="center", fontsize=LABEL, color=edge.color, zorder=3,
                    bbox={"boxstyle": "round,pad=0.08", "fc": "white", "ec": "none", "alpha": 0.92})
    for k, column in enumerate(plan.columns):
        x = column.nodes[0].x
        ax.text(x, plan.height - 0.06, "\n".join(column.heading), ha="center", va="top", fontsize=HEADER,
                linespacing=1.25)
        for node in column.nodes:
            ax.add_patch(Circle((node.x, node.y), plan.radius, fc="#f4f1e8" if k == 0 else "#eef3fa", ec="#333333",
                                lw=0.9, zorder=2))
            if node.text:
                ax.text(node.x, node.y, node.text, ha="center", va="center", fontsize=LABEL, zorder=4)
            if node.side:
                ax.text(node.x - plan.radius - 0.06, node.y, node.side, ha="right", va="center", fontsize=LABEL + 1,
                        fontstyle="italic")
    last = plan.columns[-1].nodes
    for node in last:
        ax.annotate("", (node.x + plan.radius + 0.3, node.y), (node.x + plan.radius, node.y),
                    arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.8})


def describe(spec: Spec, s: Structure, values: dict) -> str:
    """The diagram in words, for a reader who cannot see it."""
    digits = spec.digits
    inputs = ", ".join(number(v, digits).replace("\u2212", "-") for v in np.ravel(values["x"]))
    parts = [f"Diagram of the network: {s.layers[0].inputs} input{'s' if s.layers[0].inputs > 1 else ''} "
             f"({inputs})"]
    for l, layer in enumerate(s.layers, 1):
        name = activation_name(layer.activation.name)
        if layer.dense:
            parts.append(f"layer {l}: {layer.units} {name} unit{'s' if layer.units > 1 else ''}")
        else:
            parts.append(f"layer {l}: {name} of the previous layer's outputs, without weights")
    every = detailed(s)
    ending = ("each edge is labelled with its weight and each unit with its bias" if every and
              any(layer.bias for layer in s.layers) else "each edge is labelled with its weight" if every
              else "each layer is drawn as a box with its number of units and the shape of its weights")
    return "; ".join(parts) + "; " + ending + "."


def diagram(spec: Spec, s: Structure, values: dict) -> Figure:
    plan = layout(spec, s, values)
    return Figure("network", lambda ax: draw(plan, ax), (round(plan.width, 2), round(plan.height, 2)),
                  describe(spec, s, values), fill=True)
