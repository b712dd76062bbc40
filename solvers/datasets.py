"""Small classification data sets for training runs, in plain NumPy.

Every generator is deterministic from its seed (`numpy.random.default_rng(seed)`) and returns
`(X, y)`: `X` float64 of shape (n, 2), `y` integer classes numbered from 0 of shape (n,),
ordered by class, the classes as balanced as n allows (sizes differ by at most 1, the extra
points in the last classes). `split` shuffles. `digits` reads the 8x8 digits that ship with
scikit-learn without importing it.
"""
from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np

CENTER_BOX = (-10.0, 10.0)  # where `blobs` draws its centers when given only their number (as scikit-learn)
XOR_CORNERS = {0: [(0.0, 0.0), (1.0, 1.0)], 1: [(1.0, 0.0), (0.0, 1.0)]}  # inputs a, b by a XOR b
DIGITS = Path("datasets") / "data" / "digits.csv.gz"  # inside the scikit-learn package


def _labels(n: int, classes: int) -> np.ndarray:
    """n class labels, sorted, as balanced as possible (the extra ones in the last classes)."""
    if not isinstance(n, (int, np.integer)) or n < classes:
        raise ValueError(f"n = {n!r}: expected an integer of at least {classes}, one point per class")
    sizes = [n // classes + (c >= classes - n % classes) for c in range(classes)]
    return np.repeat(np.arange(classes), sizes)


def _noisy(X: np.ndarray, noise: float, rng: np.random.Generator, name: str = "noise") -> np.ndarray:
    """X plus Gaussian noise of standard deviation `noise` in each coordinate."""
    if not noise >= 0:
        raise ValueError(f"{name} = {noise!r}: expected a standard deviation >= 0")
    return X + rng.normal(scale=noise, size=X.shape) if noise else X


def two_moons(n: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as `sklearn.datasets.make_moons` (unshuffled): class 0
    on the upper unit half circle, class 1 on the lower one shifted to (1, 0.5)."""
    y = _labels(n, 2)
    angles = [np.linspace(0, np.pi, int(np.sum(y == c))) for c in (0, 1)]
    upper = np.column_stack([np.cos(angles[0]), np.sin(angles[0])])
    lower = np.column_stack([1 - np.cos(angles[1]), 1 - np.sin(angles[1]) - 0.5])
    return _noisy(np.vstack([upper, lower]), noise, np.random.default_rng(seed)), y


def blobs(n: int, centers: int | Sequence[Sequence[float]] = 3, spread: float = 1.0,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters of standard deviation `spread`, class c around centers[c]; an int
    `centers` draws that many centers uniformly from CENTER_BOX² (as `make_blobs`)."""
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)):
        if centers < 1:
            raise ValueError(f"centers = {centers}: expected at least 1")
        points = rng.uniform(*CENTER_BOX, size=(int(centers), 2))
    else:
        points = np.asarray(centers, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"centers = {centers!r}: expected a count, or a list of 2-D points")
    y = _labels(n, len(points))
    return _noisy(points[y], spread, rng, "spread"), y


def xor(n: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table: inputs (a, b) at the corners of the unit square, class a XOR b,
    each class alternating between its two corners, plus Gaussian noise."""
    y = _labels(n, 2)
    corners = {c: np.array(XOR_CORNERS[c]) for c in (0, 1)}
    X = np.vstack([corners[c][np.arange(np.sum(y == c)) % 2] for c in (0, 1)])
    return _noisy(X, noise, np.random.default_rng(seed)), y


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits: X float64 (1797, 64), entries 0 to 16; y the digits 0 to 9
    (as `sklearn.datasets.load_digits()`), read from the package's CSV without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("digits() reads the 8x8 digits that ship with scikit-learn, which is not "
                                  "installed; install it with `make setup` (or pip install scikit-learn)")
    path = Path(next(iter(spec.submodule_search_locations))) / DIGITS
    if not path.is_file():
        raise FileNotFoundError(f"{path}: scikit-learn is installed but its digits data set is missing")
    with gzip.open(path, "rt") as file:
        data = np.loadtxt(file, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


def split(X: np.ndarray, y: np.ndarray, validation_fraction: float,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_validation, y_validation): the samples shuffled by the seed, the
    last round(fraction · n) of them for validation."""
    n = len(y)
    if len(X) != n:
        raise ValueError(f"X has {len(X)} samples but y has {n}; expected one label per sample")
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation_fraction = {validation_fraction!r}: expected a number in [0, 1)")
    order = np.random.default_rng(seed).permutation(n)
    train, validation = np.split(order, [n - round(validation_fraction * n)])
    if len(train) == 0:
        raise ValueError(f"validation_fraction = {validation_fraction} leaves no training sample of {n}")
    return X[train], y[train], X[validation], y[validation]
