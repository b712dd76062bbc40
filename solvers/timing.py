"""Where the time goes: named stopwatches that the benchmark reads (a worker process's are
handed back with its results and added to the parent's: `taken`, `add`)."""
from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable

SECONDS: Counter = Counter()
COUNTS: Counter = Counter()


@contextmanager
def timed(stage: str):
    """Add the time spent in the block to `stage`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        SECONDS[stage] += time.perf_counter() - start
        COUNTS[stage] += 1


def reset() -> None:
    SECONDS.clear()
    COUNTS.clear()


def taken(block: Callable[[], Any]) -> tuple[Any, tuple[dict, dict]]:
    """Run `block()`; its result and the (seconds, counts) the stopwatches gained meanwhile."""
    seconds, counts = Counter(SECONDS), Counter(COUNTS)
    result = block()
    return result, (dict(SECONDS - seconds), dict(COUNTS - counts))


def add(gained: tuple[dict, dict]) -> None:
    """Add what another process's stopwatches gained (`taken`)."""
    SECONDS.update(gained[0])
    COUNTS.update(gained[1])
