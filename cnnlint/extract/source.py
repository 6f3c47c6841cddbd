"""Per-file facts: read, parse once with Python's parser, lower, and locate. Pure and
cacheable."""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from cnnlint.extract import lower
from cnnlint.files import dotted
from cnnlint.sources import RECURSION_LIMIT, ReadError


@dataclass
class FileFacts:
    path: str
    module: str  # dotted module name, from the path
    body: tuple[Any, ...] = ()
    # The span table, or None when it is left for `cnnlint.locate` to compute on demand.
    spans: list[tuple[int, int, int, int]] | None = field(default_factory=list)
    # (message, line, column, the Python version the file's syntax needs when that is the
    # cause (an f-string reusing its quotes: "3.12"), else "")
    syntax_error: tuple[str, int, int, str] | None = None
    lines: list[str] = field(default_factory=list)  # the source lines (suppressions, baselines)


def module_name(path: str) -> str:
    stem, suffix = os.path.splitext(path)
    parts = os.path.normpath(stem).replace(os.sep, "/").split("/")
    return dotted(parts, suffix)


_RESERVED_SINCE_37 = re.compile(r"(async|await)\b")
# Python's own messages for statements only Python 2 had (`print x`, `exec code`).
_PYTHON2_MESSAGES = ("Missing parentheses in call to 'print'",
                     "Missing parentheses in call to 'exec'")
PYTHON2 = "2"  # what `_explained` says a file written for Python 2 needs (CNN900 reads it)
# Statements Python 3 rejects with a message of its own, as Python 2 wrote them: `except
# Exception, msg:` (binding the exception), `raise ValueError, "text"`.
_PYTHON2_STATEMENT = re.compile(r"\s*(?:except\s+[\w.]+\s*,\s*\w+\s*:|raise\s+[\w.]+\s*,)")
_PYTHON2_OCTAL = "leading zeros in decimal integer literals are not permitted"
MERGE_CONFLICT = "merge"  # what a file with a merge conflict left in it needs (CNN900)


# An f-string whose replacement field reuses its own quote (`f"{d["key"]}"`): Python 3.12
# accepts it, older versions do not.
_QUOTE_REUSED_IN_FSTRING = re.compile(r"""(?<![\w])[rR]?[fF][rR]?(["'])[^\n]*?\{[^}\n]*?\1""")


def _explained(exc: SyntaxError) -> tuple[str, str]:
    """Python's message, with the likely cause when it is only "invalid syntax" at a word
    that became reserved (`x.cuda(async=True)`, code from before Python 3.7), or an f-string
    written for Python 3.12 read by an older one (then also "3.12")."""
    text, offset = exc.text or "", (exc.offset or 1) - 1
    if exc.msg.startswith("f-string") and sys.version_info < (3, 12) \
            and _QUOTE_REUSED_IN_FSTRING.search(text):
        running = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return (f"{exc.msg} (this f-string reuses its quotes inside `{{}}`, which needs "
                f"Python 3.12; cnnlint is running on Python {running})", "3.12")
    if exc.msg.startswith(_PYTHON2_MESSAGES) or exc.msg.startswith(_PYTHON2_OCTAL) \
            or exc.msg in ("multiple exception types must be parenthesized", "invalid syntax") \
            and (_PYTHON2_STATEMENT.match(text) or text[offset:offset + 1] == "`"):
        return (f"{exc.msg} (this is Python 2 code: cnnlint reads Python 3)", PYTHON2)
    found = _RESERVED_SINCE_37.match(text, offset) if exc.msg == "invalid syntax" else None
    if found is None:
        return exc.msg, ""
    return (f"invalid syntax: `{found.group(1)}` is a reserved word since Python 3.7 "
            "(this code was written for an older Python)", "")


# A file whose brackets nest past what CPython accepts, or with very long lines (one generated
# expression of thousands of operators), is checked for the depth of its tree first: the
# lowering and the interpreter walk it recursively.
_BRACKET = re.compile(r"[()\[\]{}]")
_SAFE_BRACKET_DEPTH = 200
_SAFE_LINE = 5000
MAX_SAFE_DEPTH = 1000


def _needs_screening(source: str, lines: list[str]) -> bool:
    depth = deepest = 0
    for match in _BRACKET.finditer(source):
        if match.group() in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest > _SAFE_BRACKET_DEPTH or max(map(len, lines), default=0) > _SAFE_LINE


def _ast_depth(tree: ast.AST) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _parsed(source: str, lines: list[str]) -> ast.Module:
    """Python's tree of the source. Raises SyntaxError, or ReadError for valid code that
    nests too deeply to analyse safely."""
    try:
        tree = ast.parse(source)
    except ValueError as exc:  # (source code cannot contain null bytes, before 3.12)
        raise SyntaxError(str(exc)) from None
    except (RecursionError, MemoryError):
        raise ReadError("the file nests too deeply to analyse safely") from None
    if _needs_screening(source, lines):
        depth = _ast_depth(tree)
        if depth > MAX_SAFE_DEPTH:
            raise ReadError(f"the file nests {depth} levels deep; too deep to analyse safely")
    return tree


def analyse_source(path: str, source: str, spans: bool = True,
                   keep: dict[str, Any] | None = None) -> FileFacts:
    """A file's facts. With spans=False the span table is left to be computed on demand;
    `keep` then receives what computing it needs (path -> positions and source), so that a
    run of a few files can locate findings later without parsing again (`kept_spans`)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
    try:
        return _analyse(path, source, spans, keep)
    finally:
        sys.setrecursionlimit(previous)


def file_spans(source: str) -> list[tuple[int, int, int, int]]:
    """The span table of a file that analysed cleanly before (same slots: lowering is
    deterministic)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
    try:
        _, positions = lower.lower_module(ast.parse(source), source)
        return lower.spans(positions, source)
    finally:
        sys.setrecursionlimit(previous)


def kept_spans(kept: Any) -> list[tuple[int, int, int, int]]:
    """The span table from what `analyse_source` kept."""
    positions, source = kept
    return lower.spans(positions, source)


def _merge_conflict(lines: list[str]) -> tuple[str, int, int, str] | None:
    """A merge conflict left in a file that does not parse (`<<<<<<< HEAD`, `=======`,
    `>>>>>>> branch` lines): where it starts, which Python's message does not say (it
    stops at a later marker, as an invalid literal)."""
    starts = [i for i, line in enumerate(lines, 1) if line.startswith("<<<<<<<")]
    ends = [i for i, line in enumerate(lines, 1) if line.startswith(">>>>>>>")]
    if not starts or not ends or not any(line.startswith("=======") for line in lines):
        return None
    more = f" ({len(starts)} conflicts)" if len(starts) > 1 else ""
    return (f"unresolved merge conflict: `<<<<<<<` at line {starts[0]}, `>>>>>>>` at line "
            f"{ends[0]}{more}", starts[0], 1, MERGE_CONFLICT)


def _analyse(path: str, source: str, spans: bool,
             keep: dict[str, Any] | None = None) -> FileFacts:
    facts = FileFacts(path=path, module=module_name(path), lines=source.splitlines())
    try:
        tree = _parsed(source, facts.lines)
    except SyntaxError as exc:
        conflict = _merge_conflict(facts.lines)
        if conflict is not None:
            facts.syntax_error = conflict
            return facts
        message, needs = _explained(exc)
        facts.syntax_error = (message, exc.lineno or 1, exc.offset or 1, needs)
        return facts
    body, positions = lower.lower_module(tree, source)
    facts.body = body
    facts.spans = lower.spans(positions, source) if spans else None
    if keep is not None and not spans:
        keep[path] = (positions, source)
    return facts
