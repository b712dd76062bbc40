"""Benchmarks of problem shapes that grow: a batch of 32 examples through a 3-layer network, and
a 100-step training run. Each prints derivation, evaluation, torch and rendering times.
Run alone (`python bench/problem_shapes.py`) or from bench/benchmark.py."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solvers import build as B  # noqa: E402
from solvers import (
    cache,  # noqa: E402
    timing,  # noqa: E402
)
from solvers.kinds import network  # noqa: E402

REPEATS = 20


def batch_problem(examples: int = 32, widths=(4, 6, 5, 3), seed: int = 0) -> dict:
    """A batch problem: ReLU, tanh, softmax with cross-entropy, gradients and one SGD step."""
    rng = np.random.default_rng(seed)
    rounded = lambda *shape: np.round(rng.normal(size=shape), 2).tolist()  # noqa: E731
    activations = ["relu", "tanh", "softmax"]
    layers = [{"weights": rounded(m, n), "bias": rounded(n), "activation": act}  # columns layout: a row per example
              for m, n, act in zip(widths, widths[1:], activations)]
    return {"kind": "network", "title": f"A batch of {examples}", "digits": 4,
            "network": {"inputs": rounded(examples, widths[0]), "layout": "columns", "layers": layers},
            "loss": {"type": "cross_entropy", "targets": rng.integers(0, widths[-1], examples).tolist()},
            "ask": {"forward": True, "loss": True, "gradients": "all", "sgd": {"learning_rate": 0.1}}}


def _ms(call, times: int = REPEATS) -> float:
    start = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - start) / times * 1000


def batch_network() -> None:
    data = batch_problem()
    spec = network.Spec.model_validate(data)
    structure = network.structure(spec)
    start = time.perf_counter()
    evaluator = network.derive(structure).compile()
    derivation = (time.perf_counter() - start) * 1000
    givens = network.given_values(spec)
    print("6. A batch of 32 examples, 3 layers (4-6-5-3: ReLU, tanh, softmax + cross-entropy, one SGD step)",
          flush=True)
    _line("derivation", derivation, "ms", "SymPy derivation and lambdify, once per structure (cache off)")
    _line("evaluation", _ms(lambda: evaluator.evaluate(givens)), "ms", f"mean of {REPEATS}: new numbers")
    _line("torch", _ms(lambda: network.reference(spec), 5), "ms", "mean of 5: the reference in float64")
    _build_lines(data)


def training_run(steps: int = 100) -> None:
    """The bank's two-moons run made `steps` mini-batch steps long: first step, run, torch, rendering."""
    from solvers.kinds import training
    from solvers.kinds.training import run
    data = yaml.safe_load((REPO / "problems/training-run/q1-two-moons.yaml").read_text())
    data["training"].pop("epochs", None)
    data["training"]["steps"] = steps
    spec = training.KIND.Spec.model_validate(data)
    start = time.perf_counter()
    training.KIND.solve(spec)
    first = (time.perf_counter() - start) * 1000
    print(f"7. A training run of {steps} steps (problems/training-run, batches of "
          f"{data['training'].get('batch_size')}, SGD)", flush=True)
    _line("first solve", first, "ms", "the first step's derivation (cache off) and the whole run")
    _line("run", _ms(lambda: run.train(spec), 5), "ms", f"mean of 5: all {steps} steps re-evaluated")
    _line("torch", _ms(lambda: training.KIND.reference(spec), 2), "ms", "mean of 2: the run in torch float64")
    _build_lines(data)


def _build_lines(data: dict) -> None:
    """Build the problem `data` once in this process; print its rendering and wall times."""
    with tempfile.TemporaryDirectory(prefix="bench-shape-") as folder:
        path = Path(folder) / "problem.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        timing.reset()
        start = time.perf_counter()
        B.build([path], Path(folder) / "out")
        wall = time.perf_counter() - start
    rendering = timing.SECONDS.get("rendering", 0.0) + timing.SECONDS.get("pdflatex", 0.0)
    _line("rendering", rendering * 1000, "ms", "prose, figures, LaTeX, MathML and pdflatex of its documents")
    _line("whole build", wall * 1000, "ms", "one build of the problem, in this process")


def _line(label: str, value: float, unit: str, note: str = "") -> None:
    print(f"  {label:<16}{value:>9.1f} {unit:<8} {note}".rstrip(), flush=True)


def main() -> int:
    """Both benchmarks with the cache off (every derivation and reference done here)."""
    before = os.environ.get(cache.VARIABLE)
    os.environ[cache.VARIABLE] = "off"
    try:
        batch_network()
        print()
        training_run()
    finally:
        if before is None:
            del os.environ[cache.VARIABLE]
        else:
            os.environ[cache.VARIABLE] = before
    return 0


if __name__ == "__main__":
    sys.exit(main())
