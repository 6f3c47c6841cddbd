"""What a rule needs to describe an autofix: the parsed file, the call at a finding, and the
edit (replace one libcst node by another, or remove it).

A rule's `autofix(finding, context)` looks at the code through a `FixContext`: the file
re-parsed with libcst (never imported), each call found by the exact source range that
findings carry, the parent of any node, and the run's IR (models and training runs) for
the facts a range alone does not give: which layers share a call, what a loss is fed by.
`cnnlint.autofix` applies the edits and writes the files.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Iterator, Union

import libcst as cst

from cnnlint.positions import compute_spans
from cnnlint.sources import RECURSION_LIMIT, ReadError, decode_python, read_bytes
from cnnlint.findings import Finding

if TYPE_CHECKING:
    from cnnlint import ir

SAFE, UNSAFE = "safe", "unsafe"
SAFETIES = (SAFE, UNSAFE)

Span = tuple[int, int, int, int]  # line, column, end line, end column (1-based, end exclusive)
Replacement = Union[cst.CSTNode, cst.RemovalSentinel]


def span_of(place: object) -> Span:
    """The range of a finding, a `Related` or an IR location, as a comparable tuple."""
    return (place.line, place.column, place.end_line, place.end_column)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Edit:
    """Replace `old` (a node of `path`'s parsed tree) with `new`, or remove it (an argument,
    an element)."""

    path: str
    old: cst.CSTNode
    new: Replacement


@dataclass(frozen=True)
class Fix:
    """A rule's fix for one finding: its edits, made together or not at all. Whether it is
    safe is the rule's `fix_safety`."""

    edits: tuple[Edit, ...]


class SourceFile:
    """One file parsed for fixing: its bytes (to detect a later change), its tree, where
    each call is, and each node's parent."""

    def __init__(self, path: str, data: bytes, text: str, module: cst.Module) -> None:
        self.path, self.data, self.text, self.module = path, data, text, module
        self.parents, calls = _parents_and_calls(module)
        spans = compute_spans(module, {id(call): i for i, call in enumerate(calls)})
        self.calls = {span: call for span, call in zip(spans, calls) if span[0]}

    @classmethod
    def read(cls, path: str, expected_lines: list[str] | None) -> SourceFile | None:
        """Parse `path`; None when it cannot be read or parsed, or when its text is no
        longer the text the run analysed (`expected_lines`): positions would be wrong."""
        try:
            data = read_bytes(path)
            text = decode_python(data)
        except ReadError:
            return None
        if expected_lines is not None and text.splitlines() != expected_lines:
            return None
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
        try:
            return cls(path, data, text, cst.parse_module(text))
        except (cst.ParserSyntaxError, RecursionError, ValueError):
            return None
        finally:
            sys.setrecursionlimit(previous)

    def call_at(self, span: Span) -> cst.Call | None:
        return self.calls.get(span)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(id(node))

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parent = self.parent(node)
        while parent is not None:
            yield parent
            parent = self.parent(parent)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


def _parents_and_calls(module: cst.Module) -> tuple[dict[int, cst.CSTNode], list[cst.Call]]:
    """Every node's parent (by id: equal-looking nodes are distinct places), and every call.
    Read straight from the nodes' fields: a libcst visitor rebuilds each node it leaves,
    which costs several times more."""
    parents: dict[int, cst.CSTNode] = {}
    calls: list[cst.Call] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if type(node) is cst.Call:
            calls.append(node)  # type: ignore[arg-type]
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            children = value if isinstance(value, (list, tuple)) else (value,)
            for child in children:
                if _is_node(type(child)):
                    parents[id(child)] = node
                    stack.append(child)
    return parents, calls


# Per node class: the names of its fields, and whether a class is a node (isinstance on
# libcst's abstract base classes is slow, and a big file has a hundred thousand nodes).
_FIELDS: dict[type, tuple[str, ...]] = {}
_NODE_TYPES: dict[type, bool] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return names


def _is_node(kind: type) -> bool:
    known = _NODE_TYPES.get(kind)
    if known is None:
        known = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return known


@dataclass
class FixContext:
    """What a rule's `autofix` may read: the files (parsed on first use) and the run's IR."""

    models: list[ir.Model] = field(default_factory=list)
    runs: list[ir.TrainingRun] = field(default_factory=list)
    # The lines of each file as the run analysed them; a file whose text differs now is
    # not fixed (its positions are stale).
    analysed: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, SourceFile | None] = field(default_factory=dict)
    # What a rule works out once for the whole run, by a name of its choosing.
    memo: dict[str, Any] = field(default_factory=dict)
    # The static models' layers by file and location (a block's layers in every model that
    # builds it share one location), and by range within each file a finding is in.
    _layers_in: dict[str, dict[object, list[tuple[ir.Node, ir.Network]]]] | None = None
    _layers_at: dict[str, dict[Span, list[tuple[ir.Node, ir.Network]]]] = field(
        default_factory=dict)

    def source(self, path: str) -> SourceFile | None:
        if path not in self.files:
            self.files[path] = SourceFile.read(path, self.analysed.get(path))
        return self.files[path]

    def call_at(self, place: object) -> tuple[SourceFile, cst.Call] | None:
        """The call whose source range is exactly `place`'s (a finding, a Related, an IR
        location), with its file; None when no call spans exactly that range."""
        source = self.source(place.path)  # type: ignore[attr-defined]
        if source is None:
            return None
        call = source.call_at(span_of(place))
        return (source, call) if call is not None else None

    def nodes_at(self, place: Finding) -> list[tuple[ir.Node, ir.Network]]:
        """Every layer of every statically read model built by the call at `place`: a call
        in a helper or a loop builds several, and a fix to the call changes them all."""
        if self._layers_in is None:
            # Grouped by file and location first: a range is computed on demand (a pass
            # over its file), so only the files that findings are in pay for it, and once
            # per location, not once per layer (a zoo builds one line's layer 100,000 times).
            self._layers_in = {}
            for model in self.models:
                if model.source != "static":
                    continue
                network = model.network
                for node in network.nodes:
                    loc = node.loc
                    if loc is not None:
                        at = self._layers_in.get(loc.path)
                        if at is None:
                            at = self._layers_in[loc.path] = {}
                        same = at.get(loc)
                        if same is None:
                            at[loc] = [(node, network)]
                        else:
                            same.append((node, network))
        by_span = self._layers_at.get(place.path)
        if by_span is None:
            by_span = self._layers_at[place.path] = {}
            for where, layers in self._layers_in.get(place.path, {}).items():
                by_span.setdefault(span_of(where), []).extend(layers)
        return by_span.get(span_of(place), [])


# --- small libcst helpers the rules share ------------------------------------------------


def callee(call: cst.Call) -> str:
    """`nn.Conv2d` for `nn.Conv2d(...)`, `x.softmax` for `x.softmax(...)`; "" for a callee
    that is not a dotted name (`layers[0](x)`, `self.fc(x).softmax(...)`)."""
    parts: list[str] = []
    func: cst.BaseExpression = call.func
    while isinstance(func, cst.Attribute):
        parts.append(func.attr.value)
        func = func.value
    if not isinstance(func, cst.Name):
        return ""
    parts.append(func.value)
    return ".".join(reversed(parts))


def last_name(call: cst.Call) -> str:
    return callee(call).rpartition(".")[2]


def plain_args(call: cst.Call) -> bool:
    """No `*args` or `**kwargs`: every argument is where it is written."""
    return all(arg.star == "" for arg in call.args)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and arg.star == ""]


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None
                 and arg.keyword.value == name), None)


def append_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `name=value` added after its last argument, in the call's own layout:
    on one line `f(a, name=value)`; with a trailing comma the new argument takes it (and a
    comment after it), and the old last argument takes the separator the others use."""
    new = cst.Arg(value=value, keyword=cst.Name(name),
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        before = args[-2].comma if len(args) > 1 else None
        separator = before if isinstance(before, cst.Comma) else _comma()
        args[-1] = last.with_changes(comma=separator)
        new = new.with_changes(comma=last.comma)
    else:
        args[-1] = last.with_changes(comma=_comma())
    return call.with_changes(args=[*args, new])


def _comma() -> cst.Comma:
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def is_zero(node: cst.BaseExpression) -> bool:
    """A literal 0 or 0.0."""
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value.replace("_", "")) == 0
        except ValueError:  # pragma: no cover - libcst only parses valid literals
            return False
    return False


def is_name(node: cst.BaseExpression, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def enclosing(source: SourceFile, node: cst.CSTNode, kind: type) -> cst.CSTNode | None:
    """The nearest ancestor of `kind` (a FunctionDef, a ClassDef)."""
    return next((a for a in source.ancestors(node) if isinstance(a, kind)), None)


def unwrap_call(call: cst.Call, inner: cst.BaseExpression) -> cst.BaseExpression:
    """What replaces `call` when the fix keeps only its input `inner`: the input, in
    parentheses when it spans lines (outside the call's brackets it would not parse)."""
    code = cst.Module(body=[]).code_for_node(inner)
    if "\n" in code and not inner.lpar:
        return inner.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return inner
