"""Per-file facts: read, parse once with libcst, lower, and locate. Pure and cacheable."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from cnnlint.extract.lower import lower_module
from cnnlint.extract.positions import compute_spans


@dataclass
class FileFacts:
    path: str
    module: str  # dotted module name, from the path
    body: tuple[Any, ...] = ()
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)
    syntax_error: tuple[str, int, int] | None = None  # message, line, column
    lines: list[str] = field(default_factory=list)  # the source lines (suppressions, baselines)


class ReadError(Exception):
    """The file could not be read or decoded; the message says why."""


def module_name(path: str) -> str:
    parts = os.path.normpath(os.path.splitext(path)[0]).replace(os.sep, "/").split("/")
    parts = [p for p in parts if p not in ("", ".", "..")]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def read_source(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ReadError(exc.strerror or str(exc)) from None
    if b"\x00" in data:
        raise ReadError("the file contains a NUL byte; it is not Python source")
    try:
        return decode(data)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        raise ReadError(f"cannot decode the file: {exc}") from None


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def decode(data: bytes) -> str:
    """Decode like Python does: a BOM, a PEP 263 coding line, else UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    for line in data.splitlines()[:2]:
        match = _CODING.match(line)
        if match:
            return data.decode(match.group(1).decode("ascii"))
    return data.decode("utf-8")


def _python_syntax_error(source: str) -> tuple[str, int, int] | None:
    """Python's own message and position for a file libcst rejects (it names the line where
    the mistake is, where libcst names the token it stopped at). Only parses; never runs."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return (exc.msg, exc.lineno or 1, exc.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def analyse_source(path: str, source: str) -> FileFacts:
    facts = FileFacts(path=path, module=module_name(path), lines=source.splitlines())
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        facts.syntax_error = _python_syntax_error(source) or (
            exc.message, exc.raw_line, exc.raw_column + 1)
        return facts
    body, wanted = lower_module(module)
    facts.body = body
    facts.spans = compute_spans(module, wanted)
    return facts
