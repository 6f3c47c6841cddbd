"""Per-file facts: read, parse once with libcst, lower, and locate. Pure and cacheable."""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from cnnlint.extract.lower import lower_module
from cnnlint.files import dotted
from cnnlint.positions import compute_spans
from cnnlint.sources import RECURSION_LIMIT, ReadError


@dataclass
class FileFacts:
    path: str
    module: str  # dotted module name, from the path
    body: tuple[Any, ...] = ()
    # The span table, or None when it is left for `cnnlint.locate` to compute on demand.
    spans: list[tuple[int, int, int, int]] | None = field(default_factory=list)
    syntax_error: tuple[str, int, int] | None = None  # message, line, column
    lines: list[str] = field(default_factory=list)  # the source lines (suppressions, baselines)


def module_name(path: str) -> str:
    stem, suffix = os.path.splitext(path)
    parts = os.path.normpath(stem).replace(os.sep, "/").split("/")
    return dotted(parts, suffix)


def _python_syntax_error(source: str) -> tuple[str, int, int] | None:
    """Python's own message and position for a file libcst rejects (it names the line where
    the mistake is, where libcst names the token it stopped at). Only parses; never runs."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return (_explained(exc), exc.lineno or 1, exc.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


_RESERVED_SINCE_37 = re.compile(r"(async|await)\b")


def _explained(exc: SyntaxError) -> str:
    """Python's message, with the likely cause when it is only "invalid syntax" at a word
    that became reserved (`x.cuda(async=True)`, code from before Python 3.7)."""
    text, offset = exc.text or "", (exc.offset or 1) - 1
    found = _RESERVED_SINCE_37.match(text, offset) if exc.msg == "invalid syntax" else None
    if found is None:
        return exc.msg
    return (f"invalid syntax: `{found.group(1)}` is a reserved word since Python 3.7 "
            "(this code was written for an older Python)")


# libcst's native parser crashes the whole process (a stack overflow, not an exception) on
# brackets nested beyond ~1500 levels or one expression of ~10000 operators. CPython refuses
# more than 200 nested brackets, so such files are not valid Python: screen for them first.
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


def _screen(source: str) -> tuple[str, int, int] | None:
    """Python's own verdict on a suspicious file: a syntax error to report, or None to go on.
    Raises ReadError for valid code that nests too deeply to analyse safely."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return (exc.msg, exc.lineno or 1, exc.offset or 1)
    except (RecursionError, MemoryError, ValueError):
        raise ReadError("the file nests too deeply to analyse safely") from None
    depth = _ast_depth(tree)
    if depth > MAX_SAFE_DEPTH:
        raise ReadError(f"the file nests {depth} levels deep; too deep to analyse safely")
    return None




def analyse_source(path: str, source: str, spans: bool = True,
                   keep: dict[str, Any] | None = None) -> FileFacts:
    """A file's facts. With spans=False the span table is left to be computed on demand;
    `keep` then receives the parsed tree (path -> tree), so that a run of a few files can
    compute spans later without parsing again (`tree_spans`)."""
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
        module, shifts = _parsed(source)
        _, wanted = lower_module(module)
        return _spans_of(module, wanted, shifts)
    finally:
        sys.setrecursionlimit(previous)


def _parsed(source: str) -> tuple[cst.Module, dict[int, tuple[int, int]]]:
    """libcst's tree of the source, and the lines whose indentation it was read with tabs
    written out (see `_tabs_expanded`). Raises libcst's ParserSyntaxError."""
    try:
        return cst.parse_module(source), {}
    except cst.ParserSyntaxError:
        # Python accepts an indentation that mixes tabs and spaces consistently (a tab runs
        # to the next multiple of 8); libcst does not. Read the same program with its
        # indenting tabs written out as spaces.
        if "\t" not in source or _python_syntax_error(source) is not None:
            raise
        expanded, shifts = _tabs_expanded(source)
        return cst.parse_module(expanded), shifts


def _spans_of(module: cst.Module, wanted: dict[int, int],
              shifts: dict[int, tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    spans = compute_spans(module, wanted)
    return [_unshifted(span, shifts) for span in spans] if shifts else spans


def _tabs_expanded(source: str) -> tuple[str, dict[int, tuple[int, int]]]:
    """The source with the tabs of each line's indentation written as spaces, as Python
    reads them; for each line changed, its indentation's length before and after."""
    lines = source.splitlines(keepends=True)
    shifts = {}
    for number, line in enumerate(lines, 1):
        indent = line[:len(line) - len(line.lstrip(" \t\f"))]
        if "\t" in indent:
            wide = indent.expandtabs(8)
            lines[number - 1] = wide + line[len(indent):]
            shifts[number] = (len(indent), len(wide))
    return "".join(lines), shifts


def _unshifted(span: tuple[int, int, int, int], shifts: dict[int, tuple[int, int]]
               ) -> tuple[int, int, int, int]:
    """A span of the tab-expanded source, in the columns of the source as written."""
    line, column, end_line, end_column = span

    def back(number: int, col: int) -> int:
        before, after = shifts.get(number, (0, 0))
        return col - (after - before) if col >= after else min(col, before)
    return line, back(line, column), end_line, back(end_line, end_column)


def tree_spans(tree: Any) -> list[tuple[int, int, int, int]]:
    """The span table from a tree `analyse_source` kept."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
    try:
        return compute_spans(*tree)
    finally:
        sys.setrecursionlimit(previous)


def _analyse(path: str, source: str, spans: bool,
             keep: dict[str, Any] | None = None) -> FileFacts:
    facts = FileFacts(path=path, module=module_name(path), lines=source.splitlines())
    if _needs_screening(source, facts.lines):
        facts.syntax_error = _screen(source)
        if facts.syntax_error is not None:
            return facts
    try:
        module, shifts = _parsed(source)
    except cst.ParserSyntaxError as exc:
        facts.syntax_error = _python_syntax_error(source) or (
            exc.message, exc.raw_line, exc.raw_column + 1)
        return facts
    body, wanted = lower_module(module)
    facts.body = body
    facts.spans = _spans_of(module, wanted, shifts) if spans else None
    if keep is not None and not spans and not shifts:  # (kept spans would be unshifted)
        keep[path] = (module, wanted)
    return facts
