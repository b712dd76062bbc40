"""Fixtures shared by the test modules."""
import pytest
import yaml

from solvers import problem as P
from solvers import variants


@pytest.fixture
def load_error(tmp_path):
    """`load_error(data)`: the ProblemError that loading `data` (written as a problem file) raises."""
    def load(data: dict) -> P.ProblemError:
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        with pytest.raises(P.ProblemError) as caught:
            variants.load(path)
        return caught.value
    return load


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test starts from an empty cache of its own (solvers.cache), never the user's."""
    monkeypatch.setenv("SOLVERS_CACHE", str(tmp_path_factory.mktemp("cache")))
