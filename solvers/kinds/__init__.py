"""The registry of problem kinds. Each kind is a folder of this package holding everything
about it (solver code, prose templates in prose/, its README.md) and defining `KIND`; adding
a kind is adding its folder and its name to the list below.

The names are known without importing anything; a kind's module is imported the first time
its `Kind` is looked up, so a build loads only the kinds its problems use."""
from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from ..kind import Kind

NAMES = ("network", "activation", "softmax", "conv_shape", "conv_values", "param_count", "loss_comparison",
         "linear_backprop", "relu_regions", "sigmoid_bumps", "training")


class Registry(MutableMapping):
    """Kind name -> Kind, each kind's module imported on first lookup."""

    def __init__(self, names: tuple[str, ...]):
        self._names = list(names)
        self._loaded: dict[str, Kind] = {}

    def __getitem__(self, name: str) -> Kind:
        if name not in self._loaded:
            if name not in self._names:
                raise KeyError(name)
            self._loaded[name] = importlib.import_module(f"{__name__}.{name}").KIND
        return self._loaded[name]

    def __setitem__(self, name: str, kind: Kind) -> None:  # a test's stand-in for a kind
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = kind

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


KINDS: MutableMapping[str, Kind] = Registry(NAMES)
