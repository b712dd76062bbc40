"""Where the time goes: named stopwatches that the benchmark reads."""
from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager

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
