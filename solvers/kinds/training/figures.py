"""The figures of a training run: the data (training and validation examples by class, for
inputs of two entries) and the training curve (the loss of every step, the mean of each
epoch and the validation loss after it; beside it the accuracy after each epoch). Both are
drawn from the values the solution shows, so the figure and the table agree."""
from __future__ import annotations

import numpy as np

from ...numbers import figure_label
from ...solution import Figure
from .inputs import RunInputs

COLORS = ("#1f5fa8", "#c0392b", "#2e8b3a", "#7d3c98", "#d35400", "#117a8b", "#8e6c1f", "#c2185b", "#555555",
          "#2c3e50")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def image_grid(inputs: RunInputs, examples: np.ndarray, first: int) -> Figure:
    """The images of the training examples `examples` (8×8 grey levels, the digits), each with its class."""
    side = int(round(np.sqrt(inputs.X.shape[1])))
    columns = min(len(examples), 8)
    rows = -(-len(examples) // columns)

    def draw(axes) -> None:
        for i, ax in enumerate(np.ravel(axes)):
            ax.set_axis_off()
            if i < len(examples):
                n = examples[i]
                ax.imshow(inputs.X[n].reshape(side, side), cmap="gray_r", vmin=0, vmax=inputs.X.max() or 1)
                ax.set_title(f"class {inputs.y[n] + first}", fontsize=8)

    alt = (f"{len(examples)} images of {side}×{side} grey levels, training examples "
           + ", ".join(f"{n + first} (class {inputs.y[n] + first})" for n in examples) + ".")
    return Figure("images", draw, (0.85 * columns, 1.0 * rows), alt, grid=(rows, columns))


def data_plot(inputs: RunInputs, first: int) -> Figure:
    """The examples in the plane, a colour and marker per class; validation examples hollow."""
    has_validation = len(inputs.y_val) > 0

    def draw(ax) -> None:
        for c in range(inputs.classes):
            style = {"marker": MARKERS[c % len(MARKERS)], "color": COLORS[c % len(COLORS)], "ls": "none", "ms": 4}
            points = inputs.X[inputs.y == c]
            ax.plot(points[:, 0], points[:, 1], label=f"class {c + first}" + (" (training)" if has_validation
                                                                               else ""), **style)
            if has_validation:
                held = inputs.X_val[inputs.y_val == c]
                ax.plot(held[:, 0], held[:, 1], mfc="none", label=f"class {c + first} (validation)", **style)
        ax.set(xlabel="$x_1$", ylabel="$x_2$")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7, frameon=False)

    sets = (f"{len(inputs.y)} training examples (filled) and {len(inputs.y_val)} validation examples (hollow)"
            if has_validation else f"{len(inputs.y)} training examples")
    alt = (f"Scatter plot of the data: {sets} in the plane of the inputs x1 (across) and x2 (up), a colour and "
           f"marker per class, classes {first} to {inputs.classes - 1 + first}.")
    return Figure("data", draw, (5.6, 3.0), alt)


def training_curve(values: dict, steps: int, epochs: list, validation: bool, digits: int) -> Figure:
    """The loss per step and per epoch (and the validation loss), with the accuracy per epoch beside it."""
    step_losses = np.array([values[f"L@{k}"][0, 0] for k in range(1, steps + 1)])
    ends = [epoch.steps[-1] for epoch in epochs]
    means = [values[f"Lepoch@{epoch.number}"][0, 0] for epoch in epochs]
    held = [values[f"Lval@{epoch.number}"][0, 0] for epoch in epochs] if validation else []
    train_acc = [values[f"acctrain@{epoch.number}"][0, 0] for epoch in epochs]
    val_acc = [values[f"accval@{epoch.number}"][0, 0] for epoch in epochs] if validation else []

    def draw(axes) -> None:
        loss, accuracy = axes
        loss.plot(np.arange(1, steps + 1), step_losses, color="#9bb7d4", lw=0.9, label="batch loss (each step)")
        loss.plot(ends, means, "o-", color=COLORS[0], ms=3.5, lw=1.4, label="training loss (epoch mean)")
        if validation:
            loss.plot(ends, held, "s--", color=COLORS[1], ms=3.5, lw=1.4, label="validation loss (after epoch)")
        loss.set(xlabel="step", ylabel="loss", xlim=(0.5, steps + 0.5))
        loss.set_ylim(bottom=0)
        loss.legend(fontsize=7, frameon=False)
        accuracy.plot(ends, train_acc, "o-", color=COLORS[0], ms=3.5, lw=1.4, label="training")
        if validation:
            accuracy.plot(ends, val_acc, "s--", color=COLORS[1], ms=3.5, lw=1.4, label="validation")
        accuracy.set(xlabel="step", ylabel="accuracy (after epoch)", ylim=(-0.03, 1.03), xlim=(0.5, steps + 0.5))
        accuracy.legend(fontsize=7, frameon=False, loc="lower right")

    shown = lambda v: figure_label(v, digits).replace("\u2212", "-")  # noqa: E731
    alt = (f"Training curve over {steps} steps. Left: the loss of each step's batch, from {shown(step_losses[0])} "
           f"to {shown(step_losses[-1])}, with the mean of each of the {len(epochs)} epochs (from {shown(means[0])} "
           f"to {shown(means[-1])})" + (f" and the validation loss after each (from {shown(held[0])} to "
                                        f"{shown(held[-1])})" if validation else "") +
           f". Right: the accuracy after each epoch on the training set (from {shown(train_acc[0])} to "
           f"{shown(train_acc[-1])})" + (f" and on the validation set (from {shown(val_acc[0])} to "
                                         f"{shown(val_acc[-1])})" if validation else "") + ".")
    return Figure("training-curve", draw, (6.6, 2.7), alt, grid=(1, 2))
