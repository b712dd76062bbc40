"""The little markup problem text may use, and the whitelist its math is checked against.

Titles, statements and notes are text with `$…$` inline math, `$$…$$` display math,
`**bold**` and `*italic*`; `\\$`, `\\*` and `\\\\` write a literal $, * and \\. Math is LaTeX
limited to `COMMANDS` and `ENVIRONMENTS` (letters, sub- and superscripts, fractions, sums,
operators, matrices, cases, …): anything else (`\\input`, `\\def`, `\\catcode`, `^^5c`, a `%`
that would comment out the rest of the line, unbalanced braces) is an error naming the
command, never passed on to LaTeX; so is math whose structure LaTeX or the MathML converter
cannot read (`x^1^2`, `\\frac{1}`, a `\\left(` without its `\\right`). Characters such as σ
or ≤ may stand for their commands. `segments` checks a text and cuts it into pieces each output
format writes in its own way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .characters import UNICODE_TEXT

GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi "
         "rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
         "Upsilon Phi Psi Omega").split()
SYMBOLS = ("cdot times div pm mp odot otimes oplus circ ast star bullet leq le geq ge neq ne approx sim simeq "
           "equiv propto ll gg in notin subset subseteq supset cup cap setminus emptyset forall exists neg land "
           "lor to rightarrow leftarrow Rightarrow Leftarrow leftrightarrow Leftrightarrow Longleftrightarrow "
           "mapsto implies iff infty partial nabla ell hbar prime top intercal perp parallel mid vert Vert "
           "ldots cdots vdots ddots dots colon lfloor rfloor lceil rceil langle rangle lbrace rbrace "
           "quad qquad displaystyle textstyle limits nolimits backslash surd").split()
OPERATORS = "sum prod int lim max min sup inf arg log ln exp sin cos tan tanh sinh cosh det dim ker".split()
WITH_ARGUMENTS = {  # command -> the number of {…} arguments it takes
    "frac": 2, "dfrac": 2, "tfrac": 2, "binom": 2, "sqrt": 1, "hat": 1, "bar": 1, "tilde": 1, "vec": 1, "dot": 1,
    "ddot": 1, "overline": 1, "underline": 1, "mathbf": 1, "boldsymbol": 1, "mathrm": 1, "mathit": 1,
    "mathcal": 1, "mathbb": 1, "operatorname": 1, "text": 1, "textbf": 1, "textit": 1,
}
SIZES = "left right big Big bigg Bigg bigl bigr Bigl Bigr".split()
COMMANDS = frozenset(GREEK + SYMBOLS + OPERATORS + SIZES + list(WITH_ARGUMENTS))
SPACING = frozenset(",;:! {}|\\&_#$%")  # \, \; \: \! \ (space), \{ \} \| \\ and escaped specials
ENVIRONMENTS = frozenset("matrix pmatrix bmatrix vmatrix Bmatrix cases".split())
TEXT_ARGUMENT = {"text", "textbf", "textit", "operatorname", "mathrm", "mathit", "mathbf"}
COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)
MOST_NESTING = 20


class AuthoredError(ValueError):
    """Problem text that is not valid markup; the message says what and where."""


@dataclass(frozen=True)
class Segment:
    """A piece of problem text: `text` (with its emphasis) or math (`inline`, `display`),
    math as checked LaTeX with σ-like characters written as commands."""
    kind: str
    content: str
    bold: bool = False
    italic: bool = False


def segments(text: str) -> list[Segment]:
    """`text` cut into segments; an AuthoredError when its markup or math is not allowed."""
    found: list[Segment] = []
    buffer: list[str] = []
    bold = italic = False
    i = 0

    def flush():
        if buffer:
            found.append(Segment("text", "".join(buffer), bold, italic))
            buffer.clear()

    while i < len(text):
        c = text[i]
        if c == "\\":
            escaped = text[i + 1:i + 2]
            if escaped not in ("$", "*", "\\"):
                raise AuthoredError(f"a backslash outside math (\\{escaped}); put math between $ and $, or write "
                                    "\\$, \\* or \\\\ for a literal $, * or \\")
            buffer.append(escaped)
            i += 2
        elif c == "$":
            flush()
            i = _math(text, i, found)
        elif c == "*":
            flush()
            if text.startswith("**", i):
                bold, i = not bold, i + 2
            else:
                italic, i = not italic, i + 1
        elif text.startswith("\n\n", i) or (c == "\n" and text[i + 1:].lstrip(" \t").startswith("\n")):
            _closed(bold, italic, "a paragraph")
            buffer.append(c)
            i += 1
        else:
            buffer.append(c)
            i += 1
    flush()
    _closed(bold, italic, "the text")
    return found


def _closed(bold: bool, italic: bool, where: str) -> None:
    for open_, mark, name in ((bold, "**", "bold"), (italic, "*", "italic")):
        if open_:
            raise AuthoredError(f"{mark} ({name}) opened but not closed before the end of {where}; close it, or "
                                "write \\* for a literal *")


def _math(text: str, start: int, found: list[Segment]) -> int:
    """Read the math starting at `start` into `found`; returns where the text continues."""
    delimiter = "$$" if text.startswith("$$", start) else "$"
    begin = start + len(delimiter)
    end = _closing(text, begin, delimiter)
    if end < 0:
        raise AuthoredError(f"{delimiter} opens math that is never closed; close it with {delimiter}, or write "
                            "\\$ for a literal $")
    content = text[begin:end]
    if not content.strip():
        raise AuthoredError(f"empty math ({delimiter}{delimiter}); write \\$ for a literal $")
    if delimiter == "$" and re.search(r"\n\s*\n", content):
        raise AuthoredError("inline math ($…$) runs across a blank line; close it before the paragraph ends")
    found.append(Segment("inline" if delimiter == "$" else "display", check_math(content)))
    return end + len(delimiter)


def _closing(text: str, begin: int, delimiter: str) -> int:
    """Where the math from `begin` ends (-1: never): the next `delimiter` not escaped as \\$."""
    i = begin
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith(delimiter, i):
            return i
        else:
            i += 1
    return -1


def check_math(math: str) -> str:
    """Whitelisted LaTeX math, with σ-like characters written as their commands."""
    if "^^" in math:
        raise AuthoredError("math contains ^^ (a TeX character code); write the character itself")
    for bad, why in (("%", "would comment out the rest of the line (write \\% for a percent sign)"),
                     ("#", "is a macro parameter in TeX (write \\# for a hash sign)")):
        if re.search(r"(?<!\\)" + re.escape(bad), math.replace("\\\\", "")):
            raise AuthoredError(f"math contains {bad}, which {why}")
    out, depth, environments, i = [], 0, [], 0
    while i < len(math):
        c = math[i]
        if c == "\\":
            match = COMMAND.match(math, i)
            name = match.group(1)
            _allowed(name, math[match.end():match.end() + 1])
            if name in ("begin", "end"):
                i = _environment(math, match.end(), name, environments)
                out.append(math[match.start():i])
                continue
            if name in TEXT_ARGUMENT:
                i = _text_argument(math, match.end(), name)
                out.append(math[match.start():i])
                continue
            out.append(match.group(0))
            i = match.end()
            continue
        if c == "{":
            depth += 1
            if depth > MOST_NESTING:
                raise AuthoredError(f"math nests braces more than {MOST_NESTING} deep")
        elif c == "}":
            depth -= 1
            if depth < 0:
                raise AuthoredError("math has a } without its {")
        elif c == "&" and not environments:
            raise AuthoredError("math contains & outside a matrix or cases (write \\& for an ampersand)")
        elif c == "$":
            raise AuthoredError("math contains $ (write \\$ for a dollar sign)")
        elif c in UNICODE_TEXT:
            out.append(UNICODE_TEXT[c] + (" " if UNICODE_TEXT[c][-1].isalpha() else ""))
            i += 1
            continue
        elif ord(c) > 126:
            raise AuthoredError(f"math contains {c!r} (U+{ord(c):04X}); write it as a LaTeX command")
        out.append(c)
        i += 1
    if depth:
        raise AuthoredError("math has a { without its }")
    if environments:
        raise AuthoredError(f"\\begin{{{environments[-1]}}} is never ended; add \\end{{{environments[-1]}}}")
    checked = "".join(out)
    _well_formed(checked)
    return checked


DELIMITERS = frozenset("()[]|./<>") | {r"\{", r"\}", r"\|", *(f"\\{name}" for name in (
    "langle rangle lfloor rfloor lceil rceil vert Vert lbrace rbrace backslash").split())}
BRACED_SCRIPTS = frozenset(WITH_ARGUMENTS) - {"frac", "mathbf", "mathrm", "mathit", "mathcal", "mathbb", "text",
                                              "textbf", "textit"}  # x^\sqrt{2} stops pdflatex: x^{\sqrt{2}}
NOT_SCRIPTS = frozenset("quad qquad colon displaystyle textstyle limits nolimits begin end left right".split()
                        + SIZES)  # no script of their own: after ^ or _ they leave the script empty
TOKEN = re.compile(r"\\([A-Za-z]+|.)|\s+|.", re.DOTALL)
CASES = re.compile(r"\\begin\{cases\}((?:(?!\\begin).)*?)\\end\{cases\}", re.DOTALL)
SIZED = frozenset(SIZES) - {"left", "right"}
END_OF_MATH = TOKEN.fullmatch(" ")  # the token after the last: a blank, no command, delimiter or script


@lru_cache(maxsize=4096)
def _well_formed(math: str) -> None:
    """An AuthoredError unless both LaTeX and the MathML converter can read `math`'s structure:
    each command its arguments, each ^ and _ a script, each \\left and \\right (and \\big…) a
    delimiter, each row of cases at most one &."""
    tokens = [t for t in TOKEN.finditer(math) if not t.group(0).isspace()] + [END_OF_MATH]
    for k, token in enumerate(tokens[:-1]):
        text, name, following = token.group(0), token.group(1), tokens[k + 1]
        if name in WITH_ARGUMENTS and name not in TEXT_ARGUMENT:
            _arguments(name, WITH_ARGUMENTS[name], tokens, k + 1)
        elif text in ("^", "_") and (following is END_OF_MATH or following.group(0) in ("^", "_", "}", "&", "\\\\")
                                     or following.group(1) in NOT_SCRIPTS | BRACED_SCRIPTS):
            raise AuthoredError(f"math has a {text} with no {'superscript' if text == '^' else 'subscript'} of its own "
                                f"after it; write the script in braces, e.g. x{text}{{2}} or x{text}{{\\sqrt{{2}}}}")
        elif name in ("limits", "nolimits") and (k == 0 or tokens[k - 1].group(1) not in OPERATORS):
            raise AuthoredError(f"math has \\{name} after something that is not an operator; write it right after "
                                "\\sum, \\lim, \\max or the like")
        elif name in ("left", "right") or name in SIZED:
            if following is END_OF_MATH or following.group(0) not in DELIMITERS:
                raise AuthoredError(f"math has \\{name} without a delimiter after it; write e.g. \\{name}( or "
                                    f"\\{name}[ (\\{name}. for none)")
    for body in CASES.findall(math):
        if any(row.replace("\\&", "").count("&") > 1 for row in body.split("\\\\")):
            raise AuthoredError("math has a row of cases with more than one &; a case is a value & its condition")
    try:
        from .render.mathml import convert
        convert(math)
    except Exception as error:  # noqa: BLE001 (the converter's errors are its own classes, and a few of Python's)
        why = CONVERTER_ERRORS.get(type(error).__name__, "its structure is not valid LaTeX math")
        raise AuthoredError(f"math {math} cannot be read: {why}") from None


CONVERTER_ERRORS = {
    "DoubleSuperscriptsError": "a base has two superscripts; write one, e.g. x^{12}, or group them, {x^1}^2",
    "DoubleSubscriptsError": "a base has two subscripts; write one, e.g. x_{12}",
    "MissingSuperScriptOrSubscriptError": "a ^ or _ has nothing after it",
    "NoAvailableTokensError": "a command is missing what it applies to",
    "ExtraLeftOrMissingRightError": "a \\left has no \\right, or a \\right no \\left",
    "LimitsMustFollowMathOperatorError": "\\limits follows something that is not an operator such as \\sum",
}


def _arguments(name: str, count: int, tokens: list, k: int) -> None:
    """`\\name` is followed, from `tokens[k]` on, by `count` arguments: each a {group} or a single
    letter, digit or command (`tokens` ends with END_OF_MATH)."""
    for given in range(count):
        if tokens[k] is END_OF_MATH or tokens[k].group(0) in "}^_&" or tokens[k].group(1) in NOT_SCRIPTS:
            raise AuthoredError(f"math has \\{name} with {'no' if not given else 'too few'} arguments; it takes "
                                f"{count}, e.g. \\{name}{'{a}' * count}")
        depth = 0
        while True:  # one token, or a group to its closing brace (braces are balanced: check_math saw to that)
            depth += {"{": 1, "}": -1}.get(tokens[k].group(0), 0)
            k += 1
            if depth == 0:
                break


def _allowed(name: str, after: str) -> None:
    if name in COMMANDS or name in ("begin", "end"):
        return
    if len(name) == 1 and name in SPACING:
        if name == "\\" and after in "[]()":
            raise AuthoredError(f"math contains \\\\{after}; leave a space after the line break \\\\")
        return
    raise AuthoredError(f"math uses \\{name}, which problem text may not use; allowed are letters, sub- and "
                        "superscripts and the usual commands (\\frac, \\sum, \\partial, \\sigma, \\mathbf, "
                        "\\begin{bmatrix}, \\begin{cases}, …)")


def _environment(math: str, start: int, command: str, environments: list[str]) -> int:
    match = re.compile(r"\{([A-Za-z*]+)\}").match(math, start)
    if not match:
        raise AuthoredError(f"\\{command} needs an environment name in braces, e.g. \\{command}{{bmatrix}}")
    name = match.group(1)
    if name not in ENVIRONMENTS:
        raise AuthoredError(f"math uses the environment {name}, which problem text may not use; allowed are "
                            + ", ".join(sorted(ENVIRONMENTS)))
    if command == "begin":
        environments.append(name)
    elif not environments or environments.pop() != name:
        raise AuthoredError(f"\\end{{{name}}} without its \\begin{{{name}}}")
    return match.end()


def _text_argument(math: str, start: int, command: str) -> int:
    """The end of `\\command{plain words}` starting at `start`; its words are text, so
    nothing in them may be a command or a special character."""
    match = re.compile(r"\s*\{([^{}\\$%#&^_~]*)\}").match(math, start)
    if not match:
        raise AuthoredError(f"\\{command} takes plain words in braces, e.g. \\{command}{{ReLU}}: no commands, "
                            "braces or special characters inside")
    bad = [c for c in match.group(1) if ord(c) > 126]
    if bad:
        raise AuthoredError(f"\\{command}{{…}} contains {bad[0]!r}; write plain ASCII words there")
    return match.end()
