"""PDF through LaTeX: questions.pdf and solutions.pdf of a sheet, figures as PDF files.

All variants of a sheet are one LaTeX document each (one pdflatex run for the whole class):
each variant's LaTeX is made in the worker that renders it, and a sheet's document is their
bodies one after the other (`joined`). It is compiled with pdflatex without shell escape
(`solvers.render.pdf`), then split
by the page numbers LaTeX records into variants/<id>/ (with pikepdf). A build of more sheets
than it compiles at once keeps its cores busy with sheets instead: each sheet's documents
are then one run together (all-documents.tex, their bodies one after the other), cut into
questions.pdf, solutions.pdf and instructor-key.pdf the same way, which spares two pdflatex
starts per sheet (about 0.15 s of a small sheet's 0.5 s).
"""
from __future__ import annotations

import re
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2

from ...characters import TYPOGRAPHY, UNICODE_TEXT
from .. import figures, markup
from ..pdf import LatexError, ahead, compile_pdf
from . import Document, Driver, templates

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
EXACT = {"`": r"\textasciigrave{}"}
DOCUMENTS = {  # file name -> template, and whether it is for instructors; the shortest first
    "questions": ("questions.tex.j2", False), "solutions": ("solutions.tex.j2", False),
    "instructor-key": ("solutions.tex.j2", True)}
TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk"
BYPRODUCTS = ("*.aux", "*.log", "*.fls", "*.fdb_latexmk", "*.pages")
TOGETHER = "all-documents"  # a sheet's documents compiled in one run; removed once cut apart
BEGIN, END = "\\begin{document}\n", "\\end{document}"
AHEAD = 1  # pdflatex processes started ahead beyond the build's jobs


LIGATURES = {("-", "-"), (",", ","), ("'", "'")}
"""Pairs of characters pdflatex would join (–, „, ”); an empty group keeps them apart (` is
written as itself, so `` and !` do not join either; a lone ' stays a typographic apostrophe)."""
ESCAPES = {**{c: r"\ensuremath{" + command + "}" for c, command in UNICODE_TEXT.items()},
           **TYPOGRAPHY, **LATEX_SPECIALS, **EXACT}  # later tables win, as they are tried first
_ESCAPED = re.compile("|".join(f"{re.escape(first)}(?={re.escape(second)})" for first, second in sorted(LIGATURES))
                      + "|[" + "".join(re.escape(c) for c in ESCAPES) + "]")


def latex_escape(text: str) -> str:
    """Plain text as LaTeX that prints that text: nothing in it is a command and no two
    characters join into a ligature."""
    return _ESCAPED.sub(_escaped, text)


def _escaped(match: re.Match) -> str:
    c = match.group(0)
    return ESCAPES.get(c, c + "{}")  # a character that is no escape matched as a ligature's first


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


PAGE_LINES = 18  # the most lines of text one table may take: a third of an A4 page, so little is left blank
ROW_SPACE = 0.6  # lines: the templates' 8 pt between table rows


def page_tables(rows: list, key: int | str, lines: float = PAGE_LINES) -> list[list]:
    """`rows` cut into consecutive tables, none taller than `lines` lines, since a tabular
    cannot break across pages. A row is as tall as the matrix in its field `key` (an index
    or an attribute), whose rows its row breaks count, and at least a displayed fraction."""
    tables, table, used = [], [], 0.0
    for row in rows:
        value = row[key] if isinstance(key, int) else getattr(row, key)
        height = max(2, str(value).count("\\\\") + 1) + ROW_SPACE
        if table and used + height > lines:
            tables.append(table)
            table, used = [], 0.0
        table.append(row)
        used += height
    return tables + [table] if table else tables


def _environment() -> jinja2.Environment:
    env = templates(
        "latex", block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", autoescape=False)
    env.filters["tex"] = latex_escape
    env.filters["page_tables"] = page_tables
    env.filters["prose"] = jinja2.pass_context(lambda context, text: to_latex(text, context.get("figures")))
    return env


LATEX = _environment()


class Latex(Driver):
    name = "latex"
    _together = False  # a sheet's documents in one run (`begin`)

    def render(self, document: Document) -> dict[str, Any]:
        """The figures drawn as PDF, and each document of this variant alone as LaTeX (a sheet's
        document of all variants is their bodies one after the other, `joined`)."""
        return {"figures": self.figures(document, figures.to_pdf),
                "texts": {name: render_document(template, document.title, [document], instructor)
                          for name, (template, instructor) in DOCUMENTS.items()}}

    def warm_up(self, jobs: int) -> None:
        """pdflatex starts ahead for a sheet's documents (`solvers.render.pdf.Ahead`)."""
        self._start_ahead(jobs, 1)

    def begin(self, jobs: int, sheets: int) -> None:
        """Documents compile in the background as they are written (a build that failed before
        its `finish` left its compiler to this one, which waits for it); pdflatex starts ahead
        for the next few while they are still being rendered. A sheet's documents compile all
        at once, as many as start ahead (one more than `jobs`), so that no core waits for the
        shortest; a build of more sheets than `jobs` keeps `jobs` runs busy instead."""
        self._wait_for_compiler()
        self._together = sheets > jobs
        self._compiler = ThreadPoolExecutor(max_workers=jobs if self._together else jobs + AHEAD)
        self._start_ahead(jobs, sheets)

    def abandon(self) -> None:
        """Documents not yet compiling are dropped; those compiling are waited for."""
        self._shut_down()

    def _start_ahead(self, jobs: int, sheets: int) -> None:
        if shutil.which("pdflatex") is not None:
            ahead.expect([name for _ in range(sheets) for name in self.documents()], jobs + AHEAD)

    def documents(self) -> list[str]:
        """The documents (file names) one sheet compiles, in order."""
        return [TOGETHER] if self._together else list(DOCUMENTS)

    def _wait_for_compiler(self) -> None:
        if getattr(self, "_compiler", None) is not None:
            self._compiler.shutdown(wait=True, cancel_futures=True)
            self._compiler = None

    def _shut_down(self) -> None:
        self._wait_for_compiler()
        ahead.stop()

    def write(self, rendered: list[tuple[Document, Any]], folder: Path) -> list[Any]:
        for _, output in rendered:
            for name, pdf in output["figures"].items():
                (folder / "figures").mkdir(exist_ok=True)
                (folder / "figures" / f"{name}.pdf").write_bytes(pdf)
        documents = [d for d, _ in rendered]
        written, pending = {}, []
        for name in DOCUMENTS if self._together else reversed(DOCUMENTS):  # alone: the longest first (ahead of the rest)
            tex = folder / f"{name}.tex"
            written[tex] = joined([output["texts"][name] for _, output in rendered])
            tex.write_text(written[tex])
            if not self._together:
                pending.append(self.compiling(tex, documents))
        return [self.compiling(folder / f"{TOGETHER}.tex", documents, written)] if self._together else pending

    def compiling(self, tex: Path, documents: list[Document], parts: dict[Path, str] | None = None) -> tuple[Path, Future]:
        """`tex` compiled (and split into its variants) in the background, while the build
        writes the other formats; with `parts` (documents written, and their text), `tex` is
        those documents in one run, cut into each."""
        missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
        if missing:
            raise LatexError(f"{' and '.join(missing)} not found: PDFs need TeX. Install it with `make tex` (as root) or "
                             f"`apt-get install -y --no-install-recommends {TEX_PACKAGES}`, or build other formats "
                             "with --formats html,markdown,answers")
        if getattr(self, "_compiler", None) is None:
            self.begin(1, 0)
        if parts:
            return tex, self._compiler.submit(_compile_together, tex, parts, documents)
        return tex, self._compiler.submit(_compile_and_split, tex, documents)

    def finish(self, pending: list[Any], jobs: int) -> None:
        """Wait for every document; the byproducts of LaTeX removed."""
        try:
            for _, compiled in pending:
                compiled.result()
        finally:
            self._shut_down()
        for folder in {tex.parent for tex, _ in pending}:
            for pattern in BYPRODUCTS:
                for file in folder.glob(pattern):
                    file.unlink()


def _compile_and_split(tex: Path, documents: list[Document]) -> None:
    pdf = _compile((tex, documents))
    if documents[0].variant is not None:
        split_pdf(pdf, documents)


def _compile_together(tex: Path, parts: dict[Path, str], documents: list[Document]) -> None:
    """`parts` (documents of one preamble, by file) compiled as one document `tex` and cut into
    a PDF each (and each variant's); if their preambles differ or the run fails, each is
    compiled on its own (so that an error names the document at fault)."""
    text = joined(list(parts.values()))
    try:
        if text is not None:
            tex.write_text(text, encoding="utf-8")
            try:
                pdf = compile_pdf(tex)
            except LatexError:
                pass
            else:
                starts = _starts(pdf)
                _write_pieces(pdf, [piece for k, part in enumerate(parts)
                                    for piece in _pieces(pdf, starts, documents, k, len(parts), part.with_suffix(".pdf").name)])
                return
        for part in parts:
            _compile_and_split(part, documents)
    finally:
        for made in tex.parent.glob(f"{TOGETHER}.*"):
            made.unlink()


def joined(texts: list[str]) -> str | None:
    """LaTeX documents of the same preamble as one: the preamble, then each body in turn
    (each variant of each starts a page of its own, `\\variantstart`); None if the preambles
    differ."""
    heads = {text[:text.find(BEGIN) + len(BEGIN)] for text in texts}
    if len(heads) != 1 or any(BEGIN not in text or END not in text for text in texts):
        return None
    bodies = [text[text.find(BEGIN) + len(BEGIN):text.rfind(END)] for text in texts]
    return heads.pop() + "".join(bodies) + END + "\n"


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


def split_pdf(pdf: Path, documents: list[Document]) -> None:
    """Cut a compiled all-variants PDF into variants/<id>/<same name>.pdf."""
    _write_pieces(pdf, _pieces(pdf, _starts(pdf), documents, 0, 1, pdf.name))


def _starts(pdf: Path) -> list[int]:
    """The first page of each variant compiled into `pdf`, as LaTeX recorded them."""
    return [int(line) for line in pdf.with_suffix(".pages").read_text().split()]


def _pieces(pdf: Path, starts: list[int], documents: list[Document], k: int, of: int,
            name: str) -> list[tuple[int, int | None, Path, str]]:
    """(first page, page after the last or None for the end, file, title) of each variant of
    document `name`, the `k`-th of the `of` documents compiled into `pdf` whose variants start
    at `starts` (and of the whole document when there are several)."""
    count = len(documents)
    if len(starts) != count * of:
        raise LatexError(f"{documents[0].source}: {pdf.name} records {len(starts)} variants, expected {count * of}")
    own, after = starts[k * count:(k + 1) * count], (starts[(k + 1) * count:] or [None])[0]
    stem = Path(name).stem
    pieces = [(own[0], after, pdf.with_name(name), stem)] if of > 1 else []
    if documents[0].variant is not None:
        pieces += [(start, end, Driver.own_folder(pdf.parent, document) / name, f"{stem} {document.variant}")
                   for document, start, end in zip(documents, own, own[1:] + [after])]
    return pieces


def _write_pieces(pdf: Path, pieces: list[tuple[int, int | None, Path, str]]) -> None:
    """Each piece's pages copied into a PDF of its own (pikepdf: qpdf, about ten times as fast
    as a pure-Python splitter), its ID derived from its content: the same build, the same bytes."""
    import pikepdf
    with pikepdf.open(pdf) as whole:
        for start, end, target, title in pieces:
            with pikepdf.new() as piece:
                piece.pages.extend(whole.pages[start - 1:(end or len(whole.pages) + 1) - 1])
                piece.docinfo["/Title"] = title
                piece.save(target, deterministic_id=True)
