"""A per-question rubric as CSV (rubric.csv), for setting up a Gradescope-style rubric: one
row per rubric item of rubric.pdf (solvers.render.drivers.rubric), with its points and the
value expected. Math is LaTeX between $$ … $$, as Gradescope's rubric items write it."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from . import Document, Driver
from .quiz import title
from .rubric import Item, items

COLUMNS = ["variant", "question", "rubric_item", "points", "expected", "description"]


def row(document: Document, number: int, problem, item: Item) -> list:
    """One rubric item as a CSV row."""
    description = (f"answer {item.answer}, accepted {item.tolerance}" if item.answer
                   else "intermediate step") + f"; {item.section}"
    return [document.variant or "", f"{number}. {title(problem)}", f"$${item.symbol}$$", item.points,
            item.text, description]


class Gradescope(Driver):
    name = "gradescope"

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "rubric.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for document, _ in rendered:
                for number, (problem, key) in enumerate(zip(document.problems, document.answers), 1):
                    writer.writerows(row(document, number, problem, item) for item in items(problem, key))
        return []
