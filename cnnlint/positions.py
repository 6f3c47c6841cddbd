"""Source positions of a few libcst nodes: the calls a fix may edit (`cnnlint.fix`).

libcst stores no line numbers; its PositionProvider regenerates the whole file while recording
a range for every node, which costs about 2x the parse itself. This state regenerates the code
too, but only counts lines and columns and records the handful of nodes it was asked about:
about 0.2x the parse on real model files. A node's span leaves out its own parentheses, as
the positions of Python's `ast` do, from which findings take theirs.
"""

from __future__ import annotations

from typing import Any

Span = tuple[int, int, int, int]  # line, column, end line, end column (all 1-based)


class _NoRecord:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_RECORD = _NoRecord()


class _LineCountingState:
    """Duck-types libcst's CodegenState: the methods its `_codegen_impl`s call."""

    def __init__(self, module: Any, wanted: dict[int, int]) -> None:
        self.default_indent = module.default_indent
        self.default_newline = module.default_newline
        self.indent_tokens: list[str] = []
        self.tokens: list[str] = []  # libcst reads it; we keep nothing in it
        self.line = 1
        self.column = 0
        self.wanted = wanted
        self.starts: dict[int, tuple[int, int]] = {}
        self.spans: dict[int, Span] = {}

    def increase_indent(self, value: str) -> None:
        self.indent_tokens.append(value)

    def decrease_indent(self) -> None:
        self.indent_tokens.pop()

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.column += len(token)

    def add_token(self, value: str) -> None:
        newlines = value.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(value) - value.rfind("\n") - 1
        else:
            self.column += len(value)

    def pop_trailing_newline(self) -> None:
        return None

    def record_syntactic_position(self, node: Any, **_: Any) -> Any:
        # An expression's own parentheses are written around this part: its span without
        # them, as Python's parser gives it (the analysis locates nodes with `ast`).
        slot = self.wanted.get(id(node))
        return _NO_RECORD if slot is None else _Syntactic(self, slot)

    def before_codegen(self, node: Any) -> None:
        slot = self.wanted.get(id(node))
        if slot is not None:
            self.starts[slot] = (self.line, self.column)

    def after_codegen(self, node: Any) -> None:
        slot = self.wanted.get(id(node))
        if slot is not None:
            line, column = self.starts.pop(slot)
            self.spans.setdefault(slot, (line, column + 1, self.line, self.column + 1))


class _Syntactic:
    """Records a node's span inside its parentheses (see `record_syntactic_position`)."""

    def __init__(self, state: _LineCountingState, slot: int) -> None:
        self.state, self.slot = state, slot

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *exc: object) -> None:
        line, column = self.start
        self.state.spans[self.slot] = (line, column + 1, self.state.line,
                                       self.state.column + 1)


def compute_spans(module: Any, wanted: dict[int, int]) -> list[Span]:
    """Spans for the nodes in `wanted` (id(node) -> slot), as a list indexed by slot."""
    if not wanted:
        return []
    state = _LineCountingState(module, wanted)
    module._codegen(state)
    spans = [(0, 0, 0, 0)] * len(wanted)
    for slot, span in state.spans.items():
        spans[slot] = span
    return spans
