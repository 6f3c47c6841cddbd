"""Lower a Python syntax tree (the standard library's `ast`) into plain tuples the interpreter
can run and the cache can store.

The lowered form keeps what the analysis needs (names, calls, literals, control flow,
definitions, imports) and drops the rest (formatting, comments, type annotations). Each node
is a tuple whose first item is a short tag. Nodes a finding may point at carry a *slot*: an
index into the file's span table (`Lowerer.positions`, made into line and column numbers by
`spans`).

Python's own parser reads the file: it is about 14 times faster than libcst's, gives every
node its position, and reads the code exactly as the interpreter that runs it would. libcst
is still used where code is rewritten (`cnnlint.fix`), which needs its lossless tree.

Expressions::

    ("name", id)  ("attr", value, attr)  ("const", value)  ("?",)
    ("fstr", parts)  ("fstr", None, exprs)  parts: literal text or expressions; None when
                                            formatted (`{x:.2f}`): exprs still run
    ("call", func, args, kwargs, slot)      args: tuple of expr or ("*", expr)
                                            kwargs: tuple of (name or None for **, expr)
    ("list"|"tuple"|"set", elts)  ("dict", ((key or None, value), ...))  ("*", expr)
    ("binop", op, left, right, slot)  ("unary", op, operand)  ("boolop", op, left, right)
    ("compare", left, ((op, right), ...))  ("sub", value, index)  ("slice", lo, hi, step)
    ("ifexp", test, body, orelse)  ("comp", kind, elt, gens)  ("dictcomp", key, value, gens)
    ("lambda", params, body)  ("walrus", target, value)  ("yield", value, is_from)

Statements::

    ("assign", targets, value, slot)  ("augassign", target, op, value, slot)
    ("expr", value, slot)  ("return", value, slot)  ("if", test, body, orelse, slot)
    ("for", target, iter, body, orelse, slot)  ("while", test, body, orelse, slot)
    ("with", ((expr, target or None), ...), body, slot)  ("try", body, handlers, orelse, final)
    ("def", name, params, body, decorators, slot)
    ("class", name, bases, kwargs, body, slot, decorators)
    ("import", ((dotted, asname), ...))  ("from", module, level, ((name, asname), ...))
    ("global", names)  ("del", target)
    ("break",)  ("continue",)  ("raise",)  ("assert", test, slot)
"""

from __future__ import annotations

import ast
from typing import Any, Callable

Lowered = tuple[Any, ...]
# Where a node is, as `ast` gives it: line, column, end line, end column; lines count from
# 1, columns from 0 in UTF-8 bytes of the line.
Position = tuple[int, int, int, int]
Span = tuple[int, int, int, int]  # line, column, end line, end column (all from 1, characters)

_OPERATORS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
    ast.USub: "-", ast.UAdd: "+", ast.Not: "not", ast.Invert: "~", ast.And: "and",
    ast.Or: "or", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=",
    ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}

UNKNOWN_EXPR: Lowered = ("?",)
_NONE: Lowered = ("const", None)
_PLAIN_CONSTANTS = (str, bool, int, float, type(None))


class Lowerer:
    """Lowers one module; `positions` collects, by slot, where the nodes findings may point
    at are."""

    def __init__(self, source: str) -> None:
        self.positions: list[Position] = []
        self._lines = _Lines(source)
        self._expr: dict[type, Callable[[Any], Lowered]] = {
            ast.Name: lambda n: ("name", n.id),
            ast.Attribute: lambda n: ("attr", self.expr(n.value), n.attr),
            ast.Call: self._call,
            ast.Constant: _constant,
            ast.JoinedStr: self._fstring,
            ast.List: lambda n: ("list", self._elements(n.elts)),
            ast.Tuple: lambda n: ("tuple", self._elements(n.elts)),
            ast.Set: lambda n: ("set", self._elements(n.elts)),
            ast.Dict: lambda n: ("dict", tuple(
                (self.expr(k) if k is not None else None, self.expr(v))
                for k, v in zip(n.keys, n.values))),
            ast.BinOp: lambda n: (
                "binop", _OPERATORS.get(type(n.op), "?"), self.expr(n.left),
                self.expr(n.right), self.slot(n)),
            ast.UnaryOp: lambda n: (
                "unary", _OPERATORS.get(type(n.op), "?"), self.expr(n.operand)),
            ast.BoolOp: self._boolop,
            ast.Compare: lambda n: ("compare", self.expr(n.left), tuple(
                (_OPERATORS.get(type(op), "?"), self.expr(right))
                for op, right in zip(n.ops, n.comparators))),
            ast.Subscript: lambda n: ("sub", self.expr(n.value), self.expr(n.slice)),
            ast.Slice: lambda n: ("slice", *(self.expr(x) if x is not None else _NONE
                                             for x in (n.lower, n.upper, n.step))),
            ast.IfExp: lambda n: (
                "ifexp", self.expr(n.test), self.expr(n.body), self.expr(n.orelse)),
            ast.ListComp: lambda n: ("comp", "list", self.expr(n.elt), self._gens(n)),
            ast.SetComp: lambda n: ("comp", "set", self.expr(n.elt), self._gens(n)),
            ast.GeneratorExp: lambda n: ("comp", "gen", self.expr(n.elt), self._gens(n)),
            ast.DictComp: lambda n: (
                "dictcomp", self.expr(n.key), self.expr(n.value), self._gens(n)),
            ast.Lambda: lambda n: ("lambda", self._params(n.args), self.expr(n.body)),
            ast.NamedExpr: lambda n: ("walrus", self.expr(n.target), self.expr(n.value)),
            ast.Yield: lambda n: (
                "yield", self.expr(n.value) if n.value is not None else _NONE, False),
            ast.YieldFrom: lambda n: ("yield", self.expr(n.value), True),
        }
        self._statements: dict[type, Callable[[Any], Lowered | None]] = {
            ast.Assign: lambda n: (
                "assign", tuple(self.expr(t) for t in n.targets), self.expr(n.value),
                self.slot(n)),
            ast.AnnAssign: lambda n: (
                ("assign", (self.expr(n.target),), self.expr(n.value), self.slot(n))
                if n.value is not None else None),
            ast.AugAssign: lambda n: (
                "augassign", self.expr(n.target), _OPERATORS.get(type(n.op), "?"),
                self.expr(n.value), self.slot(n)),
            ast.Expr: lambda n: ("expr", self.expr(n.value), self.slot(n)),
            ast.Return: lambda n: (
                "return", self.expr(n.value) if n.value is not None else _NONE, self.slot(n)),
            ast.Import: lambda n: ("import", tuple((a.name, a.asname) for a in n.names)),
            ast.ImportFrom: lambda n: (
                "from", n.module or "", n.level, tuple((a.name, a.asname) for a in n.names)),
            ast.Global: lambda n: ("global", tuple(n.names)),
            ast.Delete: lambda n: ("del", self.expr(n.targets[0]) if len(n.targets) == 1
                                   else ("tuple", self._elements(n.targets))),
            ast.Break: lambda n: ("break",),
            ast.Continue: lambda n: ("continue",),
            ast.Raise: lambda n: ("raise",),
            ast.Assert: lambda n: ("assert", self.expr(n.test), self.slot(n)),
            ast.If: lambda n: (
                "if", self.expr(n.test), self.block(n.body), self.block(n.orelse),
                self.slot(n.test)),
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.While: lambda n: (
                "while", self.expr(n.test), self.block(n.body), self.block(n.orelse),
                self.slot(n, n.test)),
            ast.With: self._with,
            ast.AsyncWith: self._with,
            ast.Try: self._try,
            ast.FunctionDef: self.function,
            ast.AsyncFunctionDef: self.function,
            ast.ClassDef: self._class,
        }
        try_star = getattr(ast, "TryStar", None)  # Python 3.11
        if try_star is not None:
            self._statements[try_star] = self._try

    # --- helpers -------------------------------------------------------------------------

    def slot(self, node: ast.AST, last: ast.AST | None = None) -> int:
        """Ask for this node's span (up to the end of `last`, when given: a compound
        statement's header, `for epoch in range(100)`, without its body); returns its slot
        in the span table."""
        end = last or node
        self.positions.append((node.lineno, node.col_offset,  # type: ignore[attr-defined]
                               end.end_lineno or end.lineno,  # type: ignore[attr-defined]
                               end.end_col_offset or 0))  # type: ignore[attr-defined]
        return len(self.positions) - 1

    def _name_slot(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                   keyword: str) -> int:
        """The slot of the name a `def`/`class` statement defines (ast keeps only where the
        statement starts; the name is the first word after the keyword). The line is
        searched as bytes, the unit of ast's columns."""
        line, name = self._lines(node.lineno).encode(), node.name.encode()
        at = line.find(keyword.encode(), node.col_offset)
        at = line.find(name, at + len(keyword)) if at >= 0 else -1
        if at < 0:  # the name is on a continuation line: point at the statement
            at = node.col_offset
        self.positions.append((node.lineno, at, node.lineno, at + len(name)))
        return len(self.positions) - 1

    def expr(self, node: ast.expr) -> Lowered:
        handler = self._expr.get(type(node))
        return handler(node) if handler is not None else UNKNOWN_EXPR

    def _fstring(self, node: ast.JoinedStr) -> Lowered:
        parts: list[object] = []
        formatted = False
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(part.value)
            elif isinstance(part, ast.FormattedValue):
                # `{acc(model, val_loader):.2f}`: formatting not evaluated, but the call runs.
                formatted = formatted or part.format_spec is not None or part.conversion != -1
                parts.append(self.expr(part.value))
            else:
                formatted = True
        if formatted:
            return ("fstr", None, tuple(p for p in parts if type(p) is not str))
        return ("fstr", tuple(parts))

    def _elements(self, elements: list[ast.expr]) -> tuple[Lowered, ...]:
        return tuple(
            ("*", self.expr(e.value)) if type(e) is ast.Starred else self.expr(e)
            for e in elements
        )

    def _boolop(self, node: ast.BoolOp) -> Lowered:
        # `a and b and c` is one node in ast; the lowered form pairs from the left.
        op = _OPERATORS.get(type(node.op), "?")
        values = node.values
        lowered = ("boolop", op, self.expr(values[0]), self.expr(values[1]))
        for value in values[2:]:
            lowered = ("boolop", op, lowered, self.expr(value))
        return lowered

    def _call(self, node: ast.Call) -> Lowered:
        args = tuple(("*", self.expr(a.value)) if type(a) is ast.Starred else self.expr(a)
                     for a in node.args)
        kwargs = tuple((k.arg, self.expr(k.value)) for k in node.keywords)
        return ("call", self.expr(node.func), args, kwargs, self.slot(node))

    def _gens(self, node: Any) -> tuple[Lowered, ...]:
        return tuple((self.expr(g.target), self.expr(g.iter), tuple(self.expr(i) for i in g.ifs))
                     for g in node.generators)

    def _params(self, params: ast.arguments) -> tuple[tuple[str, Lowered | None, str], ...]:
        positional = [*params.posonlyargs, *params.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(params.defaults))
        defaults.extend(params.defaults)
        out: list[tuple[str, Lowered | None, str]] = [
            (p.arg, self.expr(d) if d is not None else None, "pos")
            for p, d in zip(positional, defaults)]
        if params.vararg is not None:
            out.append((params.vararg.arg, None, "star"))
        for p, d in zip(params.kwonlyargs, params.kw_defaults):
            out.append((p.arg, self.expr(d) if d is not None else None, "kw"))
        if params.kwarg is not None:
            out.append((params.kwarg.arg, None, "dstar"))
        return tuple(out)

    # --- statements ----------------------------------------------------------------------

    def block(self, statements: list[ast.stmt]) -> tuple[Lowered, ...]:
        out: list[Lowered] = []
        for statement in statements:
            handler = self._statements.get(type(statement))
            lowered = handler(statement) if handler is not None else None
            if lowered is not None:
                out.append(lowered)
        return tuple(out)

    def _for(self, node: ast.For | ast.AsyncFor) -> Lowered:
        return ("for", self.expr(node.target), self.expr(node.iter), self.block(node.body),
                self.block(node.orelse), self.slot(node, node.iter))

    def _with(self, node: ast.With | ast.AsyncWith) -> Lowered:
        items = tuple((self.expr(i.context_expr),
                       self.expr(i.optional_vars) if i.optional_vars is not None else None)
                      for i in node.items)
        return ("with", items, self.block(node.body), self.slot(node.items[0].context_expr))

    def _try(self, node: Any) -> Lowered:
        return ("try", self.block(node.body), tuple(self.block(h.body) for h in node.handlers),
                self.block(node.orelse), self.block(node.finalbody))

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Lowered:
        decorators = tuple(self.expr(d) for d in node.decorator_list)
        return ("def", node.name, self._params(node.args), self.block(node.body),
                decorators, self._name_slot(node, "def"))

    def _class(self, node: ast.ClassDef) -> Lowered:
        bases = tuple(self.expr(b.value if type(b) is ast.Starred else b) for b in node.bases)
        kwargs = tuple((k.arg, self.expr(k.value)) for k in node.keywords)
        decorators = tuple(self.expr(d) for d in node.decorator_list)
        return ("class", node.name, bases, kwargs, self.block(node.body),
                self._name_slot(node, "class"), decorators)


def _constant(node: ast.Constant) -> Lowered:
    value = node.value
    if value is Ellipsis:
        return _NONE
    # bytes and complex numbers are not worth following
    return ("const", value) if isinstance(value, _PLAIN_CONSTANTS) else UNKNOWN_EXPR


class _Lines:
    """The source's lines as Python's tokenizer counts them; split only when first asked."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._lines: list[str] | None = None

    def __call__(self, number: int) -> str:
        if self._lines is None:
            self._lines = self.source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""


def lower_module(tree: ast.Module, source: str) -> tuple[tuple[Lowered, ...], list[Position]]:
    """The module's statements, lowered, and the positions of its slots."""
    lowerer = Lowerer(source)
    body = lowerer.block(tree.body)
    return body, lowerer.positions


def spans(positions: list[Position], source: str) -> list[Span]:
    """The span table: each slot's position in lines and 1-based character columns."""
    if source.isascii():
        return [(line, column + 1, end_line, end_column + 1)
                for line, column, end_line, end_column in positions]
    lines = _Lines(source)

    def character(number: int, column: int) -> int:
        text = lines(number)
        if text.isascii():
            return column + 1
        return len(text.encode()[:column].decode(errors="ignore")) + 1
    return [(line, character(line, column), end_line, character(end_line, end_column))
            for line, column, end_line, end_column in positions]
