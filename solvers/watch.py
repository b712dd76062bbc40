"""Rebuild on save: `python -m solvers watch PATH...` keeps one process warm (imports, SymPy
derivations, torch) and rebuilds whenever a problem file under PATH changes.

Changes are found by polling: every `interval` seconds the size and modification time of
each problem file (and sheet file) under the paths are compared with the last ones seen.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

INTERVAL = 0.25  # seconds between polls: a save is picked up before the editor's focus returns

Snapshot = dict[Path, tuple[int, int]]


def snapshot(paths: list[str | Path]) -> Snapshot:
    """Size and modification time of every YAML file in `paths` (folders searched recursively);
    a path that is missing counts as a state too, so deleting or restoring it is a change."""
    seen: Snapshot = {}
    for path in map(Path, paths):
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            try:
                status = file.stat()
                seen[file] = (status.st_mtime_ns, status.st_size)
            except OSError:
                seen[file] = (-1, -1)
    return seen


def watch(paths: list[str | Path], rebuild: Callable[[], None], interval: float = INTERVAL,
          polls: int | None = None) -> None:
    """Call `rebuild` now and after every change under `paths`, until interrupted (Ctrl-C, or
    after `polls` polls when given)."""
    last = snapshot(paths)
    rebuild()
    count = 0
    while polls is None or count < polls:
        time.sleep(interval)
        count += 1
        now = snapshot(paths)
        if now != last:
            last = now
            rebuild()
