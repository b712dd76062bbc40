"""The answer key: answers.json per document; with variants also answer-key.json and
answer-key.csv for all of them (one row per answer, vectors and matrices as JSON). Each
problem lists the catalog mistakes it can detect, with the wrong answers each gives
(solvers.mistakes.effects); the CSV names them per answer."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from . import Document, Driver


def to_json(data: Any) -> str:
    """Strict JSON (a non-finite number is an error, never `Infinity`)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def compact_json(value: Any) -> str:
    """A value as JSON on one line without spaces (a CSV cell)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class AnswerKey(Driver):
    name = "answers"

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list:
        documents = [document for document, _ in rendered]
        for d in documents:
            data = {"title": d.title, "problems": d.answers} if d.variant is None else {
                "title": d.title, "variant": d.variant, "seed": d.seed, "problems": d.answers}
            (self.own_folder(folder, d) / "answers.json").write_text(to_json(data), encoding="utf-8")
        if documents[0].variant is not None:
            _write_key(documents, folder)
        return []


def _write_key(documents: list[Document], folder: Path) -> None:
    key = [{"variant": d.variant, "label": d.label, "seed": d.seed, "problems": d.answers} for d in documents]
    (folder / "answer-key.json").write_text(to_json({"title": documents[0].title, "variants": key}), encoding="utf-8")
    with open(folder / "answer-key.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seed", "problem", "answer", "value", "relative_tolerance", "absolute_tolerance",
                         "sigfigs", "decimal_places", "detects"])
        for entry in key:
            for problem in entry["problems"]:
                for answer in problem["answers"]:
                    tolerance = answer["tolerance"]
                    detects = [m["name"] for m in problem.get("mistakes", ()) if answer["name"] in m["answers"]]
                    writer.writerow([entry["variant"], entry["seed"], problem["problem"], answer["name"],
                                     compact_json(answer["value"]), tolerance.get("relative", ""),
                                     tolerance.get("absolute", ""), tolerance.get("sigfigs", ""),
                                     tolerance.get("decimal_places", ""), " ".join(detects)])
    with open(folder / "given-values.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seed", "problem", "given", "value"])
        for entry in key:
            for problem in entry["problems"]:
                for given in problem.get("givens", ()):
                    writer.writerow([entry["variant"], entry["seed"], problem["problem"], given["name"],
                                     compact_json(given["value"])])
