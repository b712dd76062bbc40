"""PDF through LaTeX: questions.pdf and solutions.pdf of a sheet, figures as PDF files.

All variants of a sheet are one LaTeX document each (one pdflatex run for the whole class),
compiled with latexmk and pdflatex without shell escape (`solvers.render.pdf`), then split
by the page numbers LaTeX records into variants/<id>/.
"""
from __future__ import annotations

import multiprocessing
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2

from ...characters import TYPOGRAPHY, UNICODE_TEXT
from .. import figures, markup
from ..pdf import LatexError, compile_pdf
from . import Document, Driver, templates

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
EXACT = {"`": r"\textasciigrave{}"}
DOCUMENTS = {  # file name -> template, and whether it is for instructors
    "questions": ("questions.tex.j2", False), "solutions": ("solutions.tex.j2", False),
    "instructor-key": ("solutions.tex.j2", True)}
TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk"
BYPRODUCTS = ("*.aux", "*.log", "*.fls", "*.fdb_latexmk", "*.pages")


LIGATURES = {("-", "-"), (",", ","), ("'", "'")}
"""Pairs of characters pdflatex would join (–, „, ”); an empty group keeps them apart (` is
written as itself, so `` and !` do not join either; a lone ' stays a typographic apostrophe)."""


def latex_escape(text: str) -> str:
    """Plain text as LaTeX that prints that text: nothing in it is a command and no two
    characters join into a ligature."""
    out = []
    for c, after in zip(text, text[1:] + " "):
        if (c, after) in LIGATURES:
            out.append(c + "{}")
        elif c in EXACT:
            out.append(EXACT[c])
        elif c in LATEX_SPECIALS:
            out.append(LATEX_SPECIALS[c])
        elif c in UNICODE_TEXT:
            out.append(r"\ensuremath{" + UNICODE_TEXT[c] + "}")
        elif c in TYPOGRAPHY:
            out.append(TYPOGRAPHY[c])
        else:
            out.append(c)
    return "".join(out)


def _text(text: str, style: markup.Style) -> str:
    text = latex_escape(text)
    if style.italic:
        text = r"\textit{" + text + "}"
    return r"\textbf{" + text + "}" if style.bold else text


def _math(math: markup.Math) -> str:
    return {"inline": lambda: r"\(" + math.latex + r"\)", "display": lambda: r"\[" + math.latex + r"\]",
            "align": lambda: math.latex}[math.mode]()


TEXT_WIDTH = 6.5  # inches between the margins of an A4 page (templates/latex/base.tex.j2)


FIGURE_HEIGHT = r"0.32\textheight"  # a figure leaves room on its page for the text around it


def _figure(name: str, shown) -> str:
    """A figure at its own size (at most the text's width and a third of its height), its number
    and caption under it,
    on one page (a document that does not number its figures: just the figure)."""
    if shown is None:
        return rf"\begin{{center}}\includegraphics[width=0.7\linewidth]{{figures/{name}.pdf}}\end{{center}}"
    width = rf"{shown.size[0]:.2f}in" if shown.size[0] < TEXT_WIDTH else r"\linewidth"
    caption = to_latex(shown.caption) if shown.caption else ""
    return (r"\par\noindent\begin{minipage}{\linewidth}\centering"
            rf"\includegraphics[width={width},height={FIGURE_HEIGHT},keepaspectratio]{{figures/{name}.pdf}}"
            r"\par\smallskip"
            rf"{{\small\textbf{{Figure {shown.number}.}}{' ' + caption if caption else ''}\par}}"
            r"\end{minipage}\par")


def to_latex(text: str, figures: dict | None = None) -> str:
    """Neutral markup as LaTeX (a figure is figures/NAME.pdf beside the document, with its
    number and caption from `figures`, name → prose.FigureText). A display continues the
    paragraph before it, and a paragraph ending in a colon allows no page break after it, so
    that no page break separates a lead-in sentence from what it announces."""
    blocks = markup.translate(text, _text, _math, lambda name: _figure(name, (figures or {}).get(name)))
    return "".join(block + ("\n" if after.startswith(DISPLAYS) else LEAD_IN if block.endswith(":") else "\n\n")
                   for block, after in zip(blocks, blocks[1:] + [""])).strip()


LEAD_IN = "\n\\nopagebreak\n\n"  # after a paragraph ending in a colon: what it announces follows on its page


DISPLAYS = (r"\[", r"\begin{align*}")


def _environment() -> jinja2.Environment:
    env = templates(
        "latex", block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", autoescape=False)
    env.filters["tex"] = latex_escape
    env.filters["prose"] = jinja2.pass_context(lambda context, text: to_latex(text, context.get("figures")))
    return env


LATEX = _environment()


class Latex(Driver):
    name = "latex"

    def render(self, document: Document) -> dict[str, Any]:
        """The figures drawn as PDF; the document itself is written per sheet."""
        return {"figures": self.figures(document, figures.to_pdf), "problems": [replace(p, figures={}) for p in document.problems]}

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list[Any]:
        for _, output in rendered:
            for name, pdf in output["figures"].items():
                (folder / "figures").mkdir(exist_ok=True)
                (folder / "figures" / f"{name}.pdf").write_bytes(pdf)
        documents = [replace(d, problems=output["problems"]) for d, output in rendered]
        pending = []
        for name, (template, instructor) in DOCUMENTS.items():
            tex = folder / f"{name}.tex"
            tex.write_text(render_document(template, documents[0].title, documents, instructor))
            pending.append((tex, documents))
        return pending

    def finish(self, pending: list[Any], jobs: int) -> None:
        if not pending:
            return
        missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
        if missing:
            raise LatexError(f"{' and '.join(missing)} not found: PDFs need TeX. Install it with `make tex` (as root) or "
                             f"`apt-get install -y --no-install-recommends {TEX_PACKAGES}`, or build other formats "
                             "with --formats html,markdown,answers")
        varied = [(tex, documents) for tex, documents in pending if documents[0].variant is not None]
        with _splitter(sum(len(documents) for _, documents in varied), jobs) as split, \
                ThreadPoolExecutor(max_workers=jobs) as pool:
            for pdf, (_, documents) in zip(pool.map(_compile, pending), pending):  # split as each is compiled
                if documents[0].variant is not None:
                    split(pdf, documents)
        for folder in {tex.parent for tex, _ in pending}:
            for pattern in BYPRODUCTS:
                for file in folder.glob(pattern):
                    file.unlink()


def _compile(work: tuple[Path, list[Document]]) -> Path:
    tex, documents = work
    try:
        return compile_pdf(tex)
    except LatexError as error:
        raise LatexError(f"{documents[0].source}: {error}") from None


def render_document(template: str, title: str, documents: list[Document], instructor: bool = False) -> str:
    """A LaTeX document of one or more variants, each starting on a new page."""
    figures = {name: shown for d in documents for name, shown in Driver.figure_texts(d.problems).items()}
    return LATEX.get_template(template).render(title=title, variants=documents, instructor=instructor,
                                               figures=figures)


SPLIT_IN_PARALLEL = 10  # variant documents from which splitting is worth worker processes


def split_pdf(pdf: Path, documents: list[Document]) -> None:
    """Cut a compiled all-variants PDF into variants/<id>/<same name>.pdf."""
    _write_pieces(pdf, _pieces(pdf, documents))


def _pieces(pdf: Path, documents: list[Document]) -> list[tuple[int, int | None, Path, str]]:
    """(first page, page after the last or None for the end, file, title) of each variant."""
    starts = [int(line.split()[1]) for line in pdf.with_suffix(".pages").read_text().splitlines()]
    return [(start, end, Driver.own_folder(pdf.parent, document) / pdf.name, f"{pdf.stem} {document.variant}")
            for document, start, end in zip(documents, starts, starts[1:] + [None])]


def _write_pieces(pdf: Path, pieces: list[tuple[int, int | None, Path, str]]) -> None:
    from pypdf import PdfReader, PdfWriter
    reader = PdfReader(pdf)
    for start, end, target, title in pieces:
        writer = PdfWriter()
        for page in range(start - 1, (end or len(reader.pages) + 1) - 1):
            writer.add_page(reader.pages[page])
        writer.add_metadata({"/Title": title})
        with open(target, "wb") as handle:
            writer.write(handle)


@contextmanager
def _splitter(documents: int, jobs: int):
    """A function that splits a compiled PDF like `split_pdf`: in `jobs` worker processes
    (forked now, before any thread starts) when there are enough variant `documents`, each
    PDF in `jobs` parts; the pieces are all written when the block ends."""
    if jobs < 2 or documents < SPLIT_IN_PARALLEL:
        yield split_pdf
        return
    # Ctrl-C reaches the parent alone, which stops the workers (no traceback from each).
    with multiprocessing.get_context("fork").Pool(jobs, signal.signal, (signal.SIGINT, signal.SIG_IGN)) as pool:
        started = []

        def split(pdf: Path, documents: list[Document]) -> None:
            pieces = _pieces(pdf, documents)
            size = -(-len(pieces) // jobs)
            started.extend(pool.apply_async(_write_pieces, (pdf, pieces[i:i + size]))
                           for i in range(0, len(pieces), size))
        yield split
        for result in started:
            result.get()
