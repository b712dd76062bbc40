"""Output formats as drivers over one neutral form, the way R/exams' exams2* functions are
thin drivers over one exercise format.

Every driver sees the same `Document`s (one per variant of a sheet: its problems as neutral
markup, its answers as data) and does three things: `render` one document in a worker
process (text and bytes only: what it returns crosses the process boundary), `write` a
sheet's rendered documents into the sheet's output folder (returning what still needs
`finish`ing; work may start in the background, set up by `begin`, while later sheets are
still rendering), and `finish` everything written, for all sheets at once (waiting for the
PDFs to compile); a build that fails tells each driver to `abandon` its background work.
A sheet without variants gets every file in its folder; with variants each variant's own
files go to variants/<id>/ (`Driver.own_folder`), and a driver may add combined files.
Add a format by adding a module here with its templates in templates/<name>/, and a line
to DRIVERS.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import jinja2

from ... import cache

if TYPE_CHECKING:
    from ..prose import RenderedProblem

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


@dataclass
class Document:
    """One variant of a sheet, as every driver sees it."""
    title: str
    variant: str | None  # the variant's folder name; None for a sheet without variants
    label: str | None  # printed on the sheet ("Variant 3", "Student 1234")
    seed: int
    problems: list[RenderedProblem]
    answers: list[dict[str, Any]]  # per problem: name, title, each answer's name, value and tolerance
    source: str = ""  # the sheet's folder or file, for error messages


class Driver:
    """One output format. Subclasses override what they need."""
    name = ""
    default = True  # built when no formats are named

    def render(self, document: Document) -> Any:
        """What this format makes of one document, in the worker (must pickle)."""
        return None

    def warm_up(self, jobs: int) -> None:
        """As soon as the command line asks for this format, before any problem is loaded:
        background work that needs nothing from the problems may start."""

    def begin(self, jobs: int, sheets: int) -> None:
        """Before a build renders anything: it will write `sheets` sheets, and background work
        (compiling) may run `jobs` at once."""

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list[Any]:
        """Write one sheet's files into `folder`; returns work for `finish`."""
        return []

    def finish(self, pending: list[Any], jobs: int) -> None:
        """Complete what `write` left for every sheet (e.g. compile), `jobs` at a time."""

    def abandon(self) -> None:
        """Stop the background work of a build that failed, before its files are removed."""

    @staticmethod
    def figures(document: Document, draw: Callable) -> dict[str, Any]:
        """Every figure of the document drawn with `draw` (figures.to_pdf, to_svg), by file name."""
        return {name: draw(f, p.drawn_from) for p in document.problems for name, f in p.figures.items()}

    @staticmethod
    def figure_texts(problems) -> dict[str, Any]:
        """Every figure's number, caption and alt text (`prose.FigureText`) by file name."""
        return {name: text for p in problems for name, text in p.figure_texts.items()}

    @staticmethod
    def own_folder(folder: Path, document: Document) -> Path:
        """Where a document's own files go: the sheet's folder, or variants/<id>/ in it."""
        own = folder if document.variant is None else folder / "variants" / document.variant
        own.mkdir(parents=True, exist_ok=True)
        return own


def templates(folder: str, **options) -> jinja2.Environment:
    """The Jinja environment of a format's document templates (templates/<folder>/)."""
    options = {"undefined": jinja2.StrictUndefined, "trim_blocks": True, "lstrip_blocks": True,
               "bytecode_cache": cache.compiled_templates(), **options}
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / folder), **options)


def _registry() -> dict[str, Driver]:
    from .answers import AnswerKey
    from .gradescope import Gradescope
    from .html import Html
    from .latex import Latex
    from .markdown import Markdown
    from .moodle import Moodle
    from .qti import Qti
    from .rubric import Rubric
    return {driver.name: driver for driver in (Latex(), Html(), Markdown(), AnswerKey(), Moodle(), Qti(), Rubric(), Gradescope())}


DRIVERS: dict[str, Driver] = _registry()
DEFAULT_FORMATS = [name for name, driver in DRIVERS.items() if driver.default]
