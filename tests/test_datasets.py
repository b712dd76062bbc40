"""The data sets of training runs: shapes, balanced classes, determinism by seed, the standard
definitions (scikit-learn's moons and digits), the split, and bad arguments."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from solvers import datasets as D

GENERATORS = {
    "two_moons": lambda n, seed: D.two_moons(n, noise=0.1, seed=seed),
    "blobs": lambda n, seed: D.blobs(n, centers=3, spread=0.5, seed=seed),
    "xor": lambda n, seed: D.xor(n, noise=0.1, seed=seed),
}


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n", [7, 60])
def test_shapes_types_and_balanced_classes(name, n):
    X, y = GENERATORS[name](n, 3)
    assert X.shape == (n, 2) and X.dtype == np.float64 and np.all(np.isfinite(X))
    assert y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
    counts = np.bincount(y)
    assert len(counts) == (3 if name == "blobs" else 2) and counts.min() >= 1
    assert counts.max() - counts.min() <= 1 and counts.sum() == n
    assert np.all(np.diff(y) >= 0)  # ordered by class


@pytest.mark.parametrize("name", GENERATORS)
def test_deterministic_by_seed_and_seeds_differ(name):
    X, y = GENERATORS[name](40, 5)
    X_again, y_again = GENERATORS[name](40, 5)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    X_other, y_other = GENERATORS[name](40, 6)
    np.testing.assert_array_equal(y, y_other)
    assert not np.allclose(X, X_other)


@pytest.mark.parametrize("n", [10, 11, 100])
def test_noise_free_moons_equal_sklearn_up_to_ordering(n):
    from sklearn.datasets import make_moons
    X, y = D.two_moons(n, noise=0.0, seed=0)
    X_sk, y_sk = make_moons(n, noise=None, shuffle=True, random_state=0)

    def rows(X, y):
        return sorted(zip(y.tolist(), *np.round(X, 12).T.tolist()))

    assert rows(X, y) == rows(X_sk, y_sk)
    assert np.bincount(y).tolist() == np.bincount(y_sk).tolist()


def test_moons_lie_on_the_two_half_circles():
    X, y = D.two_moons(9, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1, rtol=1e-15)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, rtol=1e-15)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5)
    np.testing.assert_allclose(upper[[0, -1]], [[1, 0], [-1, 0]], atol=1e-15)
    np.testing.assert_allclose(lower[[0, -1]], [[0, 0.5], [2, 0.5]], atol=1e-15)


def test_noise_has_the_given_spread():
    X, _ = D.two_moons(20000, noise=0.3, seed=1)
    X0, _ = D.two_moons(20000, seed=1)
    assert np.std(X - X0) == pytest.approx(0.3, rel=0.02)


def test_blobs_around_given_centers():
    X, y = D.blobs(3000, centers=[[0, 0], [5, -5]], spread=0.2, seed=2)
    assert np.bincount(y).tolist() == [1500, 1500]
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [0, 0], atol=0.02)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [5, -5], atol=0.02)
    assert np.std(X[y == 1] - [5, -5]) == pytest.approx(0.2, rel=0.05)
    X, y = D.blobs(4, centers=[[1, 2], [3, 4]], spread=0, seed=2)
    np.testing.assert_array_equal(X, [[1, 2], [1, 2], [3, 4], [3, 4]])


def test_blobs_draws_its_centers_in_the_box():
    X, y = D.blobs(7, centers=4, spread=0, seed=3)
    assert np.bincount(y).tolist() == [1, 2, 2, 2]
    assert len(np.unique(X, axis=0)) == 4 and np.all(np.abs(X) <= 10)


def test_xor_is_the_truth_table():
    X, y = D.xor(8, noise=0, seed=0)
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(X, [[0, 0], [1, 1], [0, 0], [1, 1], [1, 0], [0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))


def test_digits_equal_sklearn():
    from sklearn.datasets import load_digits
    X, y = D.digits()
    expected = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.shape == (1797,)
    np.testing.assert_array_equal(X[0], expected.data[0])
    np.testing.assert_array_equal(X[0, :10], [0, 0, 5, 13, 9, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(X, expected.data)
    np.testing.assert_array_equal(y, expected.target)
    assert X.min() == 0 and X.max() == 16 and sorted(set(y.tolist())) == list(range(10))


def test_digits_does_not_import_sklearn():
    code = "import sys; from solvers import datasets; X, y = datasets.digits(); print('sklearn' in sys.modules, y[:3])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split(None, 1) == ["False", "[0 1 2]\n"]


def test_digits_without_sklearn_says_so(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="scikit-learn, which is not installed"):
        D.digits()


def test_split_shuffles_by_seed_and_keeps_pairs():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10)
    X_train, y_train, X_val, y_val = D.split(X, y, 0.3, seed=4)
    assert X_train.shape == (7, 2) and X_val.shape == (3, 2) and y_train.shape == (7,) and y_val.shape == (3,)
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(X_val[:, 0], 2 * y_val)
    assert sorted(np.concatenate([y_train, y_val]).tolist()) == list(range(10))
    assert y_train.tolist() != sorted(y_train.tolist()) or y_val.tolist() != sorted(y_val.tolist())
    again = D.split(X, y, 0.3, seed=4)
    np.testing.assert_array_equal(again[1], y_train)
    np.testing.assert_array_equal(again[3], y_val)
    assert D.split(X, y, 0.3, seed=5)[1].tolist() != y_train.tolist()
    assert len(D.split(X, y, 0.0, seed=4)[3]) == 0


@pytest.mark.parametrize("call, fragment", [
    (lambda: D.two_moons(1), "at least 2"),
    (lambda: D.two_moons(10.0), "an integer"),
    (lambda: D.xor(10, noise=-1), "noise = -1"),
    (lambda: D.blobs(10, centers=0), "at least 1"),
    (lambda: D.blobs(10, centers=[1, 2]), "2-D points"),
    (lambda: D.blobs(2, centers=3), "at least 3"),
    (lambda: D.blobs(10, spread=float("nan")), "spread = nan"),
    (lambda: D.split(np.zeros((3, 2)), np.zeros(4), 0.5), "one label per sample"),
    (lambda: D.split(np.zeros((3, 2)), np.zeros(3), 1.0), "[0, 1)"),
    (lambda: D.split(np.zeros((1, 2)), np.zeros(1), 0.6), "no training sample"),
])
def test_bad_arguments_say_what_is_expected(call, fragment):
    with pytest.raises(ValueError) as error:
        call()
    assert fragment in str(error.value)
