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
    inputs = [number(v, digits) for v in np.ravel(values["x"])] if not s.batch else [""] * widths[0]  # a batch: no values
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
             + (f"({inputs})" if not s.batch else f"(one example of the {s.batch} at a time)")]
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


# -- the computation graph of a network of scalars ----------------------------------------------------

GRAPH_RADIUS = 0.21
GRAPH_WIDEST = 5.9  # inches: the text's width
GRAPH_LABEL = 8.0  # points
GRADIENT = "#c0392b"
LEGEND = "Above each node: its value; below it, in red: the gradient of the loss with respect to it"
LOSS_SHORT = {"squared_error": "loss", "cross_entropy": "loss", "binary_cross_entropy": "loss"}


def scalar(s: Structure) -> bool:
    """Whether every layer has one unit and one input (a chain of numbers, no vector)."""
    return all(layer.units == layer.inputs == 1 for layer in s.layers)


def _mathtext(symbol) -> str:
    """A quantity's name (a formula Var) as matplotlib mathtext, as the sheet writes it."""
    import sympy
    base = sympy.latex(sympy.Symbol(symbol.base))
    if symbol.layer is not None:
        base = "{" + base + "}^{(" + str(symbol.layer) + ")}" if "_" in base or "^" in base else \
            base + "^{(" + str(symbol.layer) + ")}"
    return f"${base}$"


@dataclass
class GraphNode:
    x: float
    y: float
    name: str  # mathtext
    value: str  # above the node
    gradient: str  # below it ("" when the solution does not compute it)


@dataclass
class Graph:
    width: float
    height: float
    nodes: list[GraphNode]
    edges: list[tuple[GraphNode, GraphNode, str]]  # from, to, the operation
    radius: float
    feeds: list[tuple[GraphNode, float]]  # a parameter and where on its row's edge it comes in


def graph_layout(spec: Spec, s: Structure, quantities: dict, values: dict) -> Graph:
    """The chain x → z₁ → a₁ → … → L on one row, each layer's weight and bias above the edge
    into its pre-activation; every number as the sheet prints it."""
    digits, r = spec.digits, GRAPH_RADIUS

    def value(key: str) -> str:
        return number(np.ravel(values[key])[0], digits) if key in values else ""

    steps = []  # (key, operation into it, layer's parameters)
    for l, layer in enumerate(s.layers, 1):
        if layer.dense:
            parameters = [f"W{l}"] + ([f"b{l}"] if layer.bias else [])
            operation = "$\\times " + _mathtext(quantities[f"W{l}"].symbol)[1:-1] + (
                " + " + _mathtext(quantities[f"b{l}"].symbol)[1:-1] if layer.bias else "") + "$"
            steps.append((f"z{l}", operation, parameters))
        steps.append((f"a{l}", SHORT[layer.activation.name], []))
    if s.loss:
        steps.append(("L", LOSS_SHORT.get(s.loss[0], "loss"), ["y"]))
    # each edge as long as its operation's label needs, all shorter (to a floor) when the chain is long
    needs = [max(0.95, text_size(operation.replace("$", "").replace("\\times ", "×"), GRAPH_LABEL)[0] + 2 * r
                 + 0.45) for _, operation, _ in steps]
    shrink = max(0.9, min(1.0, (GRAPH_WIDEST - 0.8) / sum(needs)))
    gaps = [need * shrink for need in needs]
    y0 = 0.22 + 0.2 + r  # the legend, the gradients under the chain
    y1 = y0 + 0.95
    height = y1 + r + 0.3
    width = max(0.4 + sum(gaps) + 0.4, text_size(LEGEND, GRAPH_LABEL - 1)[0] + 0.3)
    first = GraphNode(0.4, y0, _mathtext(quantities["x"].symbol), value("x"), value("dL_dx"))
    nodes, edges, feeds, previous = [first], [], [], first
    for k, (key, operation, parameters) in enumerate(steps, 1):
        gradient = "1" if key == "L" else value(f"dL_d{key}")
        node = GraphNode(previous.x + gaps[k - 1], y0, _mathtext(quantities[key].symbol), value(key), gradient)
        nodes.append(node)
        edges.append((previous, node, operation))
        middle = (previous.x + node.x) / 2  # the operation's label, where the parameters come in
        for parameter, side in zip(parameters, (1,) if parameters == ["y"] else (-1, 1)):
            shown = "" if parameter == "y" else value(f"dL_d{parameter}")
            above = GraphNode(middle + side * max(0.38 * gaps[k - 1], r + 0.14), y1, _mathtext(quantities[parameter].symbol),
                              value(parameter), shown)
            nodes.append(above)
            feeds.append((above, middle))
        previous = node
    return Graph(width, height, nodes, edges, r, feeds)


def draw_graph(plan: Graph, ax) -> None:
    from matplotlib.patches import Circle
    r = plan.radius
    arrow = {"arrowstyle": "-|>", "color": "#333333", "lw": 0.9, "shrinkA": 0, "shrinkB": 0}
    for start, end, operation in plan.edges:
        ax.annotate("", (end.x - r, end.y), (start.x + r, start.y), arrowprops=arrow, zorder=1)
        ax.text((start.x + end.x) / 2, start.y, operation, ha="center", va="center", fontsize=GRAPH_LABEL, zorder=3,
                color="#1f5fa8", bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "#1f5fa8", "lw": 0.6})
    for node, x in plan.feeds:  # out of the parameter's side, then down onto the operation
        side = r if x > node.x else -r
        ax.plot([node.x + side, x, x], [node.y, node.y, node.y - 0.42], color="#777777", lw=0.7, zorder=1,
                solid_capstyle="butt")
        ax.annotate("", (x, plan.nodes[0].y + 0.15), (x, node.y - 0.42),
                    arrowprops={**arrow, "color": "#777777", "lw": 0.7}, zorder=1)
    for node in plan.nodes:
        ax.add_patch(Circle((node.x, node.y), r, fc="#eef3fa", ec="#333333", lw=0.9, zorder=2))
        ax.text(node.x, node.y, node.name, ha="center", va="center", fontsize=GRAPH_LABEL + 1, zorder=4)
        ax.text(node.x, node.y + r + 0.05, node.value, ha="center", va="bottom", fontsize=GRAPH_LABEL, zorder=4,
                bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none"})
        if node.gradient:
            ax.text(node.x, node.y - r - 0.05, node.gradient, ha="center", va="top", fontsize=GRAPH_LABEL, zorder=4,
                    color=GRADIENT, bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none"})
    ax.text(0.1, 0.06, LEGEND, ha="left", va="bottom", fontsize=GRAPH_LABEL - 1, color="#444444")


def describe_graph(plan: Graph, s: Structure) -> str:
    plain = lambda text: text.replace("\u2212", "-").replace("$", "").replace("{", "").replace("}", "").replace(
        "\\", "").replace("_", "")
    parts = [f"{plain(node.name)} = {plain(node.value)}" + (f", gradient {plain(node.gradient)}" if node.gradient
                                                             else "") for node in plan.nodes]
    return ("Computation graph of the network, from the input to the loss, each node with its value and the "
            "gradient of the loss with respect to it: " + "; ".join(parts) + ".")


def computation_graph(spec: Spec, s: Structure, quantities: dict, values: dict) -> Figure:
    plan = graph_layout(spec, s, quantities, values)
    return Figure("graph", lambda ax: draw_graph(plan, ax), (round(plan.width, 2), round(plan.height, 2)),
                  describe_graph(plan, s), fill=True)
