"""A training run's solution: its first step solved by the network kind (whose derivation and
prose it shows), then the run's table, curve, final parameters, accuracies and confusion
matrix, each answer with a stable name."""
from __future__ import annotations

import numpy as np

from ... import formula as F
from ...derivation import Derivation, Section
from ...kind import Parts
from ...solution import Answer, Item, Solution, with_tolerances
from ..network import KIND as NETWORK
from .figures import data_plot, image_grid, training_curve
from .inputs import RunInputs, output_activation, run_inputs
from .run import epochs, schedule, train
from .spec import Spec

STEP_ROWS = 20  # a run of at most this many steps is tabulated step by step, a longer one by epoch
TABLE_ROWS = 20  # epochs tabulated at most (evenly spaced, the first and the last among them)
NAMED_GIVENS = ("layer", "network_diagram")  # the network kind's givens a run shows: the initial layers


def solve(spec: Spec, name: str = "") -> Solution:
    """The run: its first step is a network problem, solved by the network kind."""
    inputs = run_inputs(spec)
    first = NETWORK.solve(inputs.first, name)
    network = Parts(first.givens, first.questions, first.conventions[1:], first.answers, first.closing)
    parts = _parts(spec, inputs, network, first.derivation)
    derivation = Derivation(first.derivation.givens, [_first_step(spec, inputs, first.derivation)]
                            + first.derivation.sections)
    return Solution(name, "training", spec.title, spec.statement, spec.notes, spec.digits, parts.givens,
                    parts.questions, [Item("rounding", {"digits": spec.digits})] + parts.conventions, derivation,
                    {**first.values, **parts.values}, with_tolerances(parts.answers, spec.tolerance), parts.closing,
                    spec.instructor_notes, spec.count_from)


def present(spec: Spec, derivation: Derivation, values) -> Parts:
    """The parts of the run around the first step's values `values` (a replay carries a
    student's own first-step values forward; the run after it is the problem's)."""
    inputs = run_inputs(spec)
    return _parts(spec, inputs, NETWORK.present(inputs.first, derivation, values), derivation)


def _parts(spec: Spec, inputs: RunInputs, network: Parts, derivation: Derivation) -> Parts:
    values = train(spec)
    run, steps = epochs(inputs, spec.training.drop_last), schedule(inputs, spec.training.drop_last)
    validation = len(inputs.y_val) > 0
    q = derivation.quantities
    givens = [Item("data", _data(spec, inputs))]
    if inputs.X.shape[1] == 2:
        givens.append(Item("data_plot", {"figure": data_plot(inputs, spec.count_from)}))
    elif spec.data.digits:  # images: the first batch's, as the network sees them
        shown = inputs.orders[0][:min(inputs.batch, 16)]
        givens.append(Item("images", {"figure": image_grid(inputs, shown, spec.count_from), "shown": len(shown),
                                      "batch": inputs.batch}))
    givens += [Item("model", _model(spec, inputs))] + [g for g in network.givens if g.kind in NAMED_GIVENS]
    givens += [Item("loop", _loop(spec, inputs, q)), Item("first_batch", _first_batch(spec, inputs, derivation))]
    questions = [Item("first_step", {"batch": inputs.batch}),
                 Item("trajectory", {"per_step": inputs.steps <= STEP_ROWS, "validation": validation}),
                 Item("results", {"validation": validation})]
    conventions = network.conventions + [Item("order", _loop(spec, inputs, q)), Item("initialisation", _init(spec)),
                                         Item("classes", {"classes": inputs.classes, "loss": spec.loss,
                                                          "output": output_activation(spec),
                                                          "validation": validation}),
                                         Item("notation", {"validation": validation, "batch": inputs.batch})]
    K, last = inputs.steps, run[-1].number
    final = [(f"final.{key}", f"{key}@{K}", F.Var(f"{key}@{K}", f"{key[0]}_{K}",
                                                    "matrix" if key[0] == "W" else "vector", int(key[1:])))
             for key in inputs.parameters]
    closing = [Item("later_steps", {"steps": K, "batch": inputs.batch, "sizes": sorted({len(b) for _, b in steps}),
                                    "epochs": len(run)}),
               Item("loss_table", _table(inputs, run, steps, validation)),
               Item("training_curve", {"figure": training_curve(values, K, run, validation, spec.digits),
                                       "validation": validation}),
               Item("final_parameters", {"steps": K, "symbols": [symbol for _, _, symbol in final]})]
    scores = {"train": F.Var("acc_train", "acc_train"), "validation": F.Var("acc_val", "acc_val") if validation else None,
              "confusion": F.Var("confusion", "C", "matrix"), "classes": inputs.classes,
              "examples": len(inputs.y_val) if validation else len(inputs.y), "on_validation": validation}
    closing.append(Item("evaluation", scores))
    answers = [Answer("first_step." + a.name.replace("sgd.step1.", "sgd."), a.key, a.label, a.value)
               for a in network.answers]
    answers += [Answer(name, key, symbol, values[key]) for name, key, symbol in final]
    answers.append(Answer("loss.train", f"Lepoch@{last}", F.Var(f"Lepoch@{last}", f"Lbar_{last}"),
                          values[f"Lepoch@{last}"]))
    if validation:
        answers.append(Answer("loss.validation", f"Lval@{last}", F.Var(f"Lval@{last}", "L_val"), values[f"Lval@{last}"]))
    answers.append(Answer("accuracy.train", "acc_train", scores["train"], values["acc_train"]))
    if validation:
        answers.append(Answer("accuracy.validation", "acc_val", scores["validation"], values["acc_val"]))
    answers.append(Answer("confusion", "confusion", scores["confusion"], values["confusion"], integer=True))
    return Parts(givens, questions, conventions, answers, closing, values)


def _first_step(spec: Spec, inputs: RunInputs, derivation: Derivation) -> Section:
    return Section("first_step", [], _first_batch(spec, inputs, derivation))


def _first_batch(spec: Spec, inputs: RunInputs, derivation: Derivation) -> dict:
    q = derivation.quantities
    first = inputs.orders[0][:inputs.batch]
    return {"batch": inputs.batch, "examples": [int(i) + spec.count_from for i in first],
            "inputs": q["x"].symbol, "targets": q["y"].symbol, "layout": spec.network.layout,
            "classes": [int(c) + spec.count_from for c in inputs.y[first]], "training": len(inputs.y),
            "shuffled": spec.training.shuffle_seed is not None}


def _data(spec: Spec, inputs: RunInputs) -> dict:
    data = spec.data
    source = data.generate or ("points" if data.points is not None else "digits")
    given = [(row, int(c) + spec.count_from) for row, c in zip(np.array(data.points or []), data.labels or [])]
    return {"source": source, "examples": len(inputs.y) + len(inputs.y_val), "inputs": inputs.X.shape[1],
            "noise": data.noise if data.noise is not None else (1.0 if source == "blobs" else 0.0),
            "seed": data.seed, "classes": inputs.classes, "training": len(inputs.y), "validation": len(inputs.y_val),
            "fraction": data.validation, "points": given, "first": spec.count_from}


def _model(spec: Spec, inputs: RunInputs) -> dict:
    return {"inputs": inputs.X.shape[1], "classes": inputs.classes, "loss": spec.loss, "output": output_activation(spec),
            "hidden": [{"units": h.units, "activation": h.activation} for h in spec.network.hidden]}


def _init(spec: Spec) -> dict:
    init = spec.network.init
    return {"given": init is None, "seed": init.seed if init else None, "scale": init.scale if init else None,
            "layout": spec.network.layout}


def _loop(spec: Spec, inputs: RunInputs, q: dict) -> dict:
    t, n = spec.training, len(inputs.y)
    remainder = n % inputs.batch
    return {"eta": q["eta"].symbol, "epochs": t.epochs, "steps": inputs.steps, "given_steps": t.steps,
            "batch": inputs.batch, "full": inputs.batch == n, "per_epoch": inputs.per_epoch, "training": n,
            "remainder": remainder, "drop_last": t.drop_last, "shuffle_seed": t.shuffle_seed,
            "epochs_begun": inputs.epochs}


def _table(inputs: RunInputs, run: list, steps: list, validation: bool) -> dict:
    """The rows of the loss table: one per step for a short run, else one per epoch (at most TABLE_ROWS)."""
    if inputs.steps <= STEP_ROWS:
        ends = {epoch.steps[-1]: epoch.number for epoch in run}
        sizes = {k: len(b) for k, (_, b) in enumerate(steps, 1)}
        rows = [{"step": k, "epoch": epoch.number, "size": sizes[k], "loss": F.Var(f"L@{k}", "L"),
                 "mean": F.Var(f"Lepoch@{ends[k]}", "L") if k in ends else None,
                 "val": F.Var(f"Lval@{ends[k]}", "L") if k in ends and validation else None,
                 "acc": F.Var(f"accval@{ends[k]}", "a") if k in ends and validation else None}
                for epoch in run for k in epoch.steps]
        return {"per_step": True, "rows": rows, "validation": validation, "shown": len(run)}
    chosen = sorted({int(round(e)) for e in np.linspace(1, len(run), min(len(run), TABLE_ROWS))})
    rows = [{"epoch": e, "first": run[e - 1].steps[0], "last": run[e - 1].steps[-1],
             "complete": run[e - 1].complete, "mean": F.Var(f"Lepoch@{e}", "L"),
             "train_acc": F.Var(f"acctrain@{e}", "a"), "val": F.Var(f"Lval@{e}", "L") if validation else None,
             "acc": F.Var(f"accval@{e}", "a") if validation else None} for e in chosen]
    return {"per_step": False, "rows": rows, "validation": validation, "shown": len(chosen), "epochs": len(run)}
