"""Lower a libcst module into plain tuples the interpreter can run and the cache can store.

The lowered form keeps what the analysis needs (names, calls, literals, control flow,
definitions, imports) and drops the rest (formatting, comments, type annotations). Each node
is a tuple whose first item is a short tag. Nodes a finding may point at carry a *slot*: an
index into the file's span table, filled once per file by `positions.compute_spans`.

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
    ("break",)  ("continue",)  ("raise",)  ("pass",)  ("assert", test, slot)
"""

from __future__ import annotations

from typing import Any, Callable

import libcst as cst

Lowered = tuple[Any, ...]

_OPERATORS: dict[type, str] = {
    cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.FloorDivide: "//",
    cst.Modulo: "%", cst.Power: "**", cst.MatrixMultiply: "@", cst.LeftShift: "<<",
    cst.RightShift: ">>", cst.BitOr: "|", cst.BitAnd: "&", cst.BitXor: "^",
    cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*", cst.DivideAssign: "/",
    cst.FloorDivideAssign: "//", cst.ModuloAssign: "%", cst.PowerAssign: "**",
    cst.MatrixMultiplyAssign: "@", cst.LeftShiftAssign: "<<", cst.RightShiftAssign: ">>",
    cst.BitOrAssign: "|", cst.BitAndAssign: "&", cst.BitXorAssign: "^",
    cst.Minus: "-", cst.Plus: "+", cst.Not: "not", cst.BitInvert: "~", cst.And: "and",
    cst.Or: "or", cst.Equal: "==", cst.NotEqual: "!=", cst.LessThan: "<",
    cst.GreaterThan: ">", cst.LessThanEqual: "<=", cst.GreaterThanEqual: ">=", cst.In: "in",
    cst.NotIn: "not in", cst.Is: "is", cst.IsNot: "is not",
}

UNKNOWN_EXPR: Lowered = ("?",)
_KEYWORD_CONSTANTS = {"True": True, "False": False, "None": None}


def dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted_name(node.value)}.{node.attr.value}"
    return ""


def _number(text: str) -> object:
    text = text.replace("_", "")
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


class Lowerer:
    """Lowers one module; `wanted` collects the libcst nodes that need a source span."""

    def __init__(self) -> None:
        self.wanted: dict[int, int] = {}
        self._expr: dict[type, Callable[[Any], Lowered]] = {
            cst.Name: lambda n: (
                ("const", _KEYWORD_CONSTANTS[n.value]) if n.value in _KEYWORD_CONSTANTS
                else ("name", n.value)),
            cst.Attribute: lambda n: ("attr", self.expr(n.value), n.attr.value),
            cst.Call: self._call,
            cst.Integer: lambda n: ("const", _number(n.value)),
            cst.Float: lambda n: ("const", _number(n.value)),
            cst.Imaginary: lambda n: UNKNOWN_EXPR,
            cst.SimpleString: self._string,
            cst.ConcatenatedString: self._string,
            cst.FormattedString: self._fstring,
            cst.List: lambda n: ("list", self._elements(n.elements)),
            cst.Tuple: lambda n: ("tuple", self._elements(n.elements)),
            cst.Set: lambda n: ("set", self._elements(n.elements)),
            cst.Dict: self._dict,
            cst.BinaryOperation: lambda n: (
                "binop", _OPERATORS.get(type(n.operator), "?"), self.expr(n.left),
                self.expr(n.right), self.slot(n)),
            cst.UnaryOperation: lambda n: (
                "unary", _OPERATORS.get(type(n.operator), "?"), self.expr(n.expression)),
            cst.BooleanOperation: lambda n: (
                "boolop", _OPERATORS.get(type(n.operator), "?"), self.expr(n.left),
                self.expr(n.right)),
            cst.Comparison: lambda n: ("compare", self.expr(n.left), tuple(
                (_OPERATORS.get(type(c.operator), "?"), self.expr(c.comparator))
                for c in n.comparisons)),
            cst.Subscript: self._subscript,
            cst.IfExp: lambda n: (
                "ifexp", self.expr(n.test), self.expr(n.body), self.expr(n.orelse)),
            cst.ListComp: lambda n: ("comp", "list", self.expr(n.elt), self._gens(n.for_in)),
            cst.SetComp: lambda n: ("comp", "set", self.expr(n.elt), self._gens(n.for_in)),
            cst.GeneratorExp: lambda n: ("comp", "gen", self.expr(n.elt), self._gens(n.for_in)),
            cst.DictComp: lambda n: (
                "dictcomp", self.expr(n.key), self.expr(n.value), self._gens(n.for_in)),
            cst.Lambda: lambda n: ("lambda", self._params(n.params), self.expr(n.body)),
            cst.NamedExpr: lambda n: ("walrus", self.expr(n.target), self.expr(n.value)),
            cst.Ellipsis: lambda n: ("const", None),
            cst.Yield: self._yield,
        }
        self._small: dict[type, Callable[[Any], Lowered | None]] = {
            cst.Assign: lambda n: (
                "assign", tuple(self.expr(t.target) for t in n.targets), self.expr(n.value),
                self.slot(n)),
            cst.AnnAssign: lambda n: (
                ("assign", (self.expr(n.target),), self.expr(n.value), self.slot(n))
                if n.value is not None else None),
            cst.AugAssign: lambda n: (
                "augassign", self.expr(n.target), _OPERATORS.get(type(n.operator), "?"),
                self.expr(n.value), self.slot(n)),
            cst.Expr: lambda n: ("expr", self.expr(n.value), self.slot(n)),
            cst.Return: lambda n: (
                "return", self.expr(n.value) if n.value is not None else ("const", None),
                self.slot(n)),
            cst.Import: lambda n: ("import", tuple(
                (dotted_name(a.name), a.asname.name.value if a.asname else None)  # type: ignore[union-attr]
                for a in n.names)),
            cst.ImportFrom: self._import_from,
            cst.Global: lambda n: ("global", tuple(a.name.value for a in n.names)),
            cst.Del: lambda n: ("del", self.expr(n.target)),
            cst.Break: lambda n: ("break",),
            cst.Continue: lambda n: ("continue",),
            cst.Raise: lambda n: ("raise",),
            cst.Assert: lambda n: ("assert", self.expr(n.test), self.slot(n)),
        }

    # --- helpers -------------------------------------------------------------------------

    def slot(self, node: cst.CSTNode) -> int:
        """Ask for this node's span; returns its slot in the span table."""
        key = id(node)
        found = self.wanted.get(key)
        if found is None:
            found = self.wanted[key] = len(self.wanted)
        return found

    def _yield(self, node: cst.Yield) -> Lowered:
        value = node.value
        if isinstance(value, cst.From):
            return ("yield", self.expr(value.item), True)
        return ("yield", self.expr(value) if value is not None else ("const", None), False)

    def expr(self, node: cst.BaseExpression) -> Lowered:
        handler = self._expr.get(type(node))
        return handler(node) if handler is not None else UNKNOWN_EXPR

    def _string(self, node: cst.SimpleString | cst.ConcatenatedString) -> Lowered:
        # Implicit concatenation nests one level per part ("a" "b" "c" ...); libcst's own
        # evaluated_value recurses through it, so walk the chain here.
        parts: list[str] = []
        stack: list[Any] = [node]
        formatted: list[Lowered] = []  # the expressions of f-string parts (`f"{a}" f"{b}"`)
        while stack:
            item = stack.pop()
            if isinstance(item, cst.ConcatenatedString):
                stack.append(item.right)
                stack.append(item.left)
                continue
            if isinstance(item, cst.FormattedString):
                lowered = self._fstring(item)
                formatted.extend(lowered[2] if lowered[1] is None else
                                 [p for p in lowered[1] if type(p) is not str])
                continue
            if not isinstance(item, cst.SimpleString):
                return UNKNOWN_EXPR
            try:
                value = item.evaluated_value
            except Exception:  # exotic prefixes; not worth a finding
                return UNKNOWN_EXPR
            if not isinstance(value, str):
                return UNKNOWN_EXPR
            parts.append(value)
        if formatted:  # its value is not worked out; the calls in its f-strings still run
            return ("fstr", None, tuple(formatted))
        return ("const", "".join(parts))

    def _fstring(self, node: cst.FormattedString) -> Lowered:
        parts: list[object] = []
        formatted = False
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression):
                # `{acc(model, val_loader):.2f}`: formatting not evaluated, but the call runs.
                formatted = formatted or bool(part.format_spec or part.conversion)
                parts.append(self.expr(part.expression))
            else:
                formatted = True
        if formatted:
            return ("fstr", None, tuple(p for p in parts if type(p) is not str))
        return ("fstr", tuple(parts))

    def _elements(self, elements: Any) -> tuple[Lowered, ...]:
        return tuple(
            ("*", self.expr(e.value)) if isinstance(e, cst.StarredElement) else self.expr(e.value)
            for e in elements
        )

    def _dict(self, node: cst.Dict) -> Lowered:
        items: list[tuple[Lowered | None, Lowered]] = []
        for e in node.elements:
            if isinstance(e, cst.DictElement):
                items.append((self.expr(e.key), self.expr(e.value)))
            else:
                items.append((None, self.expr(e.value)))
        return ("dict", tuple(items))

    def _call(self, node: cst.Call) -> Lowered:
        args: list[Lowered] = []
        kwargs: list[tuple[str | None, Lowered]] = []
        for a in node.args:
            value = self.expr(a.value)
            if a.keyword is not None:
                kwargs.append((a.keyword.value, value))
            elif a.star == "**":
                kwargs.append((None, value))
            elif a.star == "*":
                args.append(("*", value))
            else:
                args.append(value)
        return ("call", self.expr(node.func), tuple(args), tuple(kwargs), self.slot(node))

    def _subscript(self, node: cst.Subscript) -> Lowered:
        parts = []
        for element in node.slice:
            s = element.slice
            if isinstance(s, cst.Index):
                parts.append(self.expr(s.value))
            elif isinstance(s, cst.Slice):
                parts.append(("slice", *(self.expr(x) if x is not None else ("const", None)
                                         for x in (s.lower, s.upper, s.step))))
        index = parts[0] if len(parts) == 1 else ("tuple", tuple(parts))
        return ("sub", self.expr(node.value), index)

    def _gens(self, comp: cst.CompFor | None) -> tuple[Lowered, ...]:
        gens = []
        while comp is not None:
            gens.append((self.expr(comp.target), self.expr(comp.iter),
                         tuple(self.expr(i.test) for i in comp.ifs)))
            comp = comp.inner_for_in
        return tuple(gens)

    def _params(self, params: cst.Parameters) -> tuple[tuple[str, Lowered | None, str], ...]:
        out: list[tuple[str, Lowered | None, str]] = []
        for p in (*params.posonly_params, *params.params):
            out.append((p.name.value, self.expr(p.default) if p.default else None, "pos"))
        if isinstance(params.star_arg, cst.Param):
            out.append((params.star_arg.name.value, None, "star"))
        for p in params.kwonly_params:
            out.append((p.name.value, self.expr(p.default) if p.default else None, "kw"))
        if params.star_kwarg is not None:
            out.append((params.star_kwarg.name.value, None, "dstar"))
        return tuple(out)

    def _import_from(self, node: cst.ImportFrom) -> Lowered:
        module = dotted_name(node.module) if node.module is not None else ""
        if isinstance(node.names, cst.ImportStar):
            names: tuple[tuple[str, str | None], ...] = (("*", None),)
        else:
            names = tuple(
                (a.name.value if isinstance(a.name, cst.Name) else dotted_name(a.name),
                 a.asname.name.value if a.asname else None)  # type: ignore[union-attr]
                for a in node.names)
        return ("from", module, len(node.relative), names)

    # --- statements ----------------------------------------------------------------------

    def block(self, body: Any) -> tuple[Lowered, ...]:
        """A suite: an IndentedBlock, a SimpleStatementSuite, or a list of statements."""
        out: list[Lowered] = []
        if type(body) is cst.SimpleStatementSuite:  # `if reset: opt.zero_grad()`, one line
            self._statement(body, out)
            return tuple(out)
        statements = body.body if hasattr(body, "body") else body
        for statement in statements:
            self._statement(statement, out)
        return tuple(out)

    def _statement(self, node: cst.CSTNode, out: list[Lowered]) -> None:
        kind = type(node)
        if kind is cst.SimpleStatementLine or kind is cst.SimpleStatementSuite:
            for small in node.body:  # type: ignore[attr-defined]
                handler = self._small.get(type(small))
                lowered = handler(small) if handler is not None else None
                if lowered is not None:
                    out.append(lowered)
        elif kind is cst.If:
            out.append(self._if(node))  # type: ignore[arg-type]
        elif kind is cst.For:
            out.append(("for", self.expr(node.target), self.expr(node.iter),  # type: ignore[attr-defined]
                        self.block(node.body), self._orelse(node), self.slot(node.target)))  # type: ignore[attr-defined]
        elif kind is cst.While:
            out.append(("while", self.expr(node.test), self.block(node.body),  # type: ignore[attr-defined]
                        self._orelse(node), self.slot(node.test)))  # type: ignore[attr-defined]
        elif kind is cst.With:
            items = tuple(
                (self.expr(i.item),
                 self.expr(i.asname.name) if i.asname is not None else None)
                for i in node.items)  # type: ignore[attr-defined]
            out.append(("with", items, self.block(node.body), self.slot(node.items[0].item)))  # type: ignore[attr-defined]
        elif kind is cst.Try or kind is cst.TryStar:
            out.append(("try", self.block(node.body),  # type: ignore[attr-defined]
                        tuple(self.block(h.body) for h in node.handlers),  # type: ignore[attr-defined]
                        self._orelse(node),
                        self.block(node.finalbody.body) if node.finalbody else ()))  # type: ignore[attr-defined]
        elif kind is cst.FunctionDef:
            out.append(self.function(node))  # type: ignore[arg-type]
        elif kind is cst.ClassDef:
            out.append(self._class(node))  # type: ignore[arg-type]

    def _orelse(self, node: Any) -> tuple[Lowered, ...]:
        return self.block(node.orelse.body) if node.orelse is not None else ()

    def _if(self, node: cst.If) -> Lowered:
        orelse: tuple[Lowered, ...] = ()
        if isinstance(node.orelse, cst.If):
            orelse = (self._if(node.orelse),)
        elif node.orelse is not None:
            orelse = self.block(node.orelse.body)
        return ("if", self.expr(node.test), self.block(node.body), orelse, self.slot(node.test))

    def function(self, node: cst.FunctionDef) -> Lowered:
        decorators = tuple(self.expr(d.decorator) for d in node.decorators)
        return ("def", node.name.value, self._params(node.params), self.block(node.body),
                decorators, self.slot(node.name))

    def _class(self, node: cst.ClassDef) -> Lowered:
        bases = tuple(self.expr(b.value) for b in node.bases)
        kwargs = tuple((k.keyword.value if k.keyword else None, self.expr(k.value))
                       for k in node.keywords)
        decorators = tuple(self.expr(d.decorator) for d in node.decorators)
        return ("class", node.name.value, bases, kwargs, self.block(node.body),
                self.slot(node.name), decorators)


def lower_module(module: cst.Module) -> tuple[tuple[Lowered, ...], dict[int, int]]:
    """The module's statements, lowered, and the nodes whose spans are wanted."""
    lowerer = Lowerer()
    body = lowerer.block(module.body)
    return body, lowerer.wanted
