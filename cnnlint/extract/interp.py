"""A small abstract interpreter over lowered code: how cnnlint reads models without running them.

It executes `__init__`, builder helpers and `forward` the way Python would, but over abstract
values (see `values.py`): constants it can compute stay constants, torch layers become
`LayerSpec`s, tensors in `forward` become nodes of a dataflow graph, and whatever it cannot
know becomes `UNKNOWN`. Conditions it cannot decide run both ways and merge. Nothing is ever
imported or executed for real.

Every place where the picture becomes incomplete adds a note to `unresolved`; rules that judge
a whole network stay silent on such networks.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from cnnlint import catalogue, ir
from cnnlint.extract import values as v
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc, SlotLoc

MAX_CALL_DEPTH = 40
# Budgets: real models (DenseNet-264, attention U-Nets) need under 30k steps here; the
# budget stops code that computes rather than builds (filters, coefficient tables).
MAX_LOOP = 1024
MAX_STEPS = 60_000
MAX_RECURSION = 2  # nested calls of one function on unknown arguments
COMPUTE_PROBE = 64  # passes after which a loop that built nothing is abandoned
MAX_SIZE = 100_000  # the largest string, list or number of digits arithmetic may make

# Bases that make a class an nn.Module.
MODULE_BASES = frozenset({
    "torch.nn.Module", "torch.nn.modules.module.Module", "pytorch_lightning.LightningModule",
    "lightning.LightningModule", "lightning.pytorch.LightningModule",
    "pytorch_lightning.core.LightningModule", "lightning.pytorch.core.LightningModule",
})

_NORMAL, _RETURN, _BREAK, _CONTINUE = None, "return", "break", "continue"
_MISSING = object()


class TooComplex(Exception):
    """The step budget ran out (a generated file, or a loop nest the reader cannot bound)."""


@dataclass
class Args:
    pos: list[Any] = field(default_factory=list)
    kw: dict[str, Any] = field(default_factory=dict)
    # `f(*unknown)` or `f(**unknown)`: any parameter may have been passed.
    open_pos: bool = False
    open_kw: bool = False


class Frame:
    __slots__ = ("scope", "locals", "closure", "self_obj", "cls", "owner", "returns", "origins")

    def __init__(self, scope: FileScope, closure: dict[str, Any] | None = None,
                 self_obj: Any = None, cls: v.ClassVal | None = None, owner: str = "") -> None:
        self.scope = scope
        self.locals: dict[str, Any] = {}
        self.closure = closure
        self.self_obj = self_obj
        self.cls = cls
        self.owner = owner  # the class (for methods) or function name: a finding's symbol
        self.returns: list[Any] = []
        self.origins: dict[str, str] = {}  # where a local's value came from (for messages)


class FileScope:
    """One file of the run: its lowered code and, once loaded, its module-level names."""

    def __init__(self, path: str, module: str, body: tuple[Any, ...],
                 spans: list[tuple[int, int, int, int]] | None, locator: Any = None) -> None:
        self.path = path
        self.module = module
        self.body = body
        self.spans = spans  # None: locations resolve lazily through the locator
        self.locator = locator
        self.globals: dict[str, Any] = {}
        self.state = "new"  # new | loading | loaded
        self.load_error = ""  # a reader failure on the module level (an internal error)
        self._locs: dict[int, Loc | SlotLoc | None] = {}  # a SlotLoc reads as a Loc

    def loc(self, slot: int | None) -> Loc | None:
        if slot is None:
            return None
        found: Any = self._locs.get(slot, _MISSING)
        if found is _MISSING:
            found = None
            if self.spans is None:
                if self.locator is not None:
                    found = SlotLoc(self.path, slot, self.locator)
            elif slot < len(self.spans):
                line, col, end_line, end_col = self.spans[slot]
                found = Loc(self.path, line, col, end_line, end_col) if line else None
            self._locs[slot] = found
        return found


def _clone(value: Any) -> Any:
    """Copy the mutable containers a branch may change, so the other branch does not see it."""
    if type(value) is list:
        return [_clone(x) for x in value]
    if type(value) is dict:
        return {k: _clone(x) for k, x in value.items()}
    return value


def _safe_size(op: str, a: Any, b: Any) -> bool:
    """Refuse arithmetic whose result would be huge: `"x" * 10**9`, `2 ** 10**8`, `1 << 10**9`."""
    if op == "*" and isinstance(b, int) and isinstance(a, (str, tuple, list)):
        return len(a) * b <= MAX_SIZE
    if op == "*" and isinstance(a, int) and isinstance(b, (str, tuple, list)):
        return len(b) * a <= MAX_SIZE
    if op == "**" and isinstance(b, (int, float)) and isinstance(a, (int, float)):
        return abs(b) <= 512 or abs(a) <= 1
    if op == "<<" and isinstance(b, int):
        return b <= 4096
    return True


_NAMES_CACHE: dict[int, tuple[tuple[Any, ...], frozenset[str]]] = {}


def _names_in(stmt: tuple[Any, ...]) -> frozenset[str]:
    """Every local name an `if` statement's branches mention or bind (cached per statement:
    the lowered code lives as long as the run)."""
    found = _NAMES_CACHE.get(id(stmt))
    if found is not None and found[0] is stmt:
        return found[1]
    names: set[str] = set()
    stack: list[Any] = [stmt[2], stmt[3]]
    while stack:
        item = stack.pop()
        if type(item) is not tuple:
            continue
        if item and type(item[0]) is str:
            tag = item[0]
            if tag == "name" and len(item) == 2 and type(item[1]) is str:
                names.add(item[1])
                continue
            if tag in ("def", "class") and len(item) == 6:
                names.add(item[1])
            elif tag == "import":
                names.update(asname or dotted.split(".")[0] for dotted, asname in item[1])
                continue
            elif tag == "from" and len(item) == 4:
                names.update(asname or name for name, asname in item[3])
                continue
        stack.extend(item)
    result = frozenset(names)
    _NAMES_CACHE[id(stmt)] = (stmt, result)
    return result


def _assigned_names(body: tuple[Any, ...]) -> set[str]:
    """Names a block of statements may assign (for loops left unrolled)."""
    out: set[str] = set()

    def targets(t: tuple[Any, ...]) -> None:
        if t[0] == "name":
            out.add(t[1])
        elif t[0] in ("tuple", "list"):
            for x in t[1]:
                targets(x)
        elif t[0] == "*":
            targets(t[1])

    for stmt in body:
        tag = stmt[0]
        if tag == "assign":
            for t in stmt[1]:
                targets(t)
        elif tag == "augassign":
            targets(stmt[1])
        elif tag == "for":
            targets(stmt[1])
            out |= _assigned_names(stmt[3]) | _assigned_names(stmt[4])
        elif tag in ("if", "while"):
            out |= _assigned_names(stmt[2]) | _assigned_names(stmt[3])
        elif tag == "with":
            out |= _assigned_names(stmt[2])
        elif tag == "try":
            out |= _assigned_names(stmt[1]) | _assigned_names(stmt[3])
            for handler in stmt[2]:
                out |= _assigned_names(handler)
    return out


def _immutable_const(value: Any) -> bool:
    if value is None or type(value) in (bool, int, float, str):
        return True
    return type(value) is tuple and all(_immutable_const(x) for x in value)


def _memo_key(fn: v.FuncVal, args: Args) -> tuple[Any, ...] | None:
    """A key for a call on constants alone (no closure, no bound object, no splats)."""
    if fn.bound is not None or fn.closure is not None or args.open_pos or args.open_kw:
        return None
    values = (*args.pos, *args.kw.values())
    if not all(_immutable_const(x) for x in values):
        return None
    try:
        return (id(fn.node), id(fn.scope), tuple(args.pos), tuple(sorted(args.kw.items())))
    except TypeError:
        return None


def _clone_all(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (_clone(x) if type(x) in (list, dict) else x) for k, x in values.items()}


def _const_equal(a: Any, b: Any) -> bool:
    return v.is_const(a) and v.is_const(b) and type(a) is type(b) and a == b


_MODULE_TYPES = frozenset(v.MODULE_VALUES)

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "|": operator.or_, "&": operator.and_, "^": operator.xor,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge, "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


class Interp:
    """Interprets the files of one run. One instance per run; `new_graph` per model."""

    def __init__(self, scopes: Iterable[FileScope]) -> None:
        self.scopes = {s.path: s for s in scopes}
        self.by_module: dict[str, FileScope] = {}
        for s in self.scopes.values():
            self.by_module.setdefault(s.module, s)
        self.graph: list[ir.Node] = []
        self.unresolved: list[str] = []
        self.paths: dict[int, str] = {}
        self.inits: list[ir.WeightInit] = []
        self.current_call: tuple[tuple[Any, ...], Frame] | None = None
        self.built = 0  # layers, modules and graph nodes made so far (see `_for`)
        self.active: dict[int, int] = {}  # id(function body) -> calls of it under way
        # Pure computations: (function body, constant arguments) -> constant result.
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.steps = 0
        self.depth = 0
        self._eval: dict[str, Callable[[tuple[Any, ...], Frame], Any]] = {
            "name": lambda e, f: self.lookup(e[1], f),
            "attr": lambda e, f: self.getattr(self.eval(e[1], f), e[2]),
            "const": lambda e, f: e[1],
            "fstr": self._fstr,
            "call": self._call_expr,
            "list": lambda e, f: self._elements(e[1], f),
            "tuple": lambda e, f: tuple(self._elements(e[1], f)),
            "set": lambda e, f: UNKNOWN,
            "dict": self._dict,
            "binop": lambda e, f: self.binop(e[1], self.eval(e[2], f), self.eval(e[3], f)),
            "unary": self._unary,
            "boolop": self._boolop,
            "compare": self._compare,
            "sub": lambda e, f: self.subscript(self.eval(e[1], f), self.eval(e[2], f)),
            "slice": lambda e, f: slice(*(self.eval(x, f) for x in e[1:])),
            "ifexp": self._ifexp,
            "comp": self._comp,
            "dictcomp": lambda e, f: UNKNOWN,
            "lambda": lambda e, f: v.FuncVal(
                "<lambda>", f.scope, ("def", "<lambda>", e[1], (("return", e[2], None),), (),
                                      None), closure=f.locals, owner=f.owner),
            "walrus": self._walrus,
            "?": lambda e, f: UNKNOWN,
        }
        self._exec: dict[str, Callable[[tuple[Any, ...], Frame], Any]] = {
            "assign": self._assign,
            "augassign": self._augassign,
            "expr": self._expr_stmt,
            "return": self._return,
            "if": self._if,
            "for": self._for,
            "while": self._while,
            "with": self._with,
            "try": self._try,
            "def": self._def,
            "class": self._class,
            "import": self._import,
            "from": self._from,
            "break": lambda s, f: _BREAK,
            "continue": lambda s, f: _CONTINUE,
            "raise": lambda s, f: _RETURN,
        }

    # --- bookkeeping ---------------------------------------------------------------------

    def note(self, message: str) -> None:
        if message not in self.unresolved:
            self.unresolved.append(message)

    def reset(self) -> None:
        self.graph = []
        self.unresolved = []
        self.paths = {}
        self.inits = []
        self.active = {}
        self.steps = 0
        self.depth = 0

    def add_node(self, kind: str, inputs: Iterable[v.Tensor], name: str = "", owner: str = "",
                 args: dict[str, Any] | None = None, loc: Loc | None = None,
                 functional: bool = False) -> v.Tensor:
        self.built += 1
        node = ir.Node(id=len(self.graph), kind=kind, inputs=tuple(t.node for t in inputs),
                       name=name, owner=owner, args=args or {}, loc=loc, functional=functional)
        self.graph.append(node)
        return v.Tensor(node.id)

    # --- modules and imports -------------------------------------------------------------

    def load(self, scope: FileScope) -> dict[str, Any]:
        """Run a file's module level: imports, definitions and constant assignments."""
        if scope.state == "new":
            scope.state = "loading"  # an import cycle sees the names defined so far
            frame = Frame(scope, owner="<module>")
            frame.locals = scope.globals
            try:
                self._declarations(scope.body, frame)
            except (TooComplex, RecursionError):
                self.note(f"module level of {scope.path} is too complex")
            except Exception as exc:  # a reader bug on one file must not stop the run
                scope.load_error = f"{type(exc).__name__}: {exc}"
            scope.state = "loaded"
        return scope.globals

    def _declarations(self, body: tuple[Any, ...], frame: Frame) -> None:
        """Module-level statements that define names; scripts' actions are not run here."""
        for stmt in body:
            tag = stmt[0]
            if tag in ("import", "from", "def", "class", "assign", "augassign"):
                self.exec_stmt(stmt, frame)
            elif tag == "if":
                test = self.truth(self.eval(stmt[1], frame))
                if test is not False:
                    self._declarations(stmt[2], frame)
                if test is not True:
                    self._declarations(stmt[3], frame)
            elif tag == "try":
                self._declarations(stmt[1], frame)

    def find_module(self, dotted: str, scope: FileScope, level: int) -> FileScope | None:
        if level:
            base = scope.module.split(".")
            # A package's __init__ is its own package; a module's package is its parent.
            keep = len(base) - level + (1 if scope.path.endswith("__init__.py") else 0)
            if keep < 0:
                return None
            target = ".".join([*base[:keep], *([dotted] if dotted else [])])
            return self.by_module.get(target)
        if dotted in self.by_module:
            return self.by_module[dotted]
        suffix = "." + dotted
        matches = [s for m, s in self.by_module.items() if m.endswith(suffix)]
        return min(matches, key=lambda s: len(s.module)) if matches else None

    def _import(self, stmt: tuple[Any, ...], f: Frame) -> None:
        for dotted, asname in stmt[1]:
            if asname:
                found = self.find_module(dotted, f.scope, 0)
                f.locals[asname] = v.ModuleVal(found) if found else v.Ref(dotted)
            else:
                head = dotted.split(".")[0]
                found = self.find_module(head, f.scope, 0)
                f.locals[head] = v.ModuleVal(found) if found else v.Ref(head)

    def _from(self, stmt: tuple[Any, ...], f: Frame) -> None:
        _, module, level, names = stmt
        scope = self.find_module(module, f.scope, level)
        for name, asname in names:
            if name == "*":
                if scope is not None and scope is not f.scope:
                    f.locals.update(
                        {k: x for k, x in self.load(scope).items() if not k.startswith("_")})
                continue
            target = asname or name
            if scope is not None:
                if scope is f.scope:
                    continue
                found = self.load(scope).get(name, _MISSING)
                if found is _MISSING:
                    sub = self.find_module(f"{module}.{name}" if module else name, f.scope, level)
                    found = v.ModuleVal(sub) if sub else UNKNOWN
                f.locals[target] = found
            elif level:
                sub = self.find_module(name, f.scope, level)
                f.locals[target] = v.ModuleVal(sub) if sub else UNKNOWN
            else:
                f.locals[target] = v.Ref(f"{module}.{name}")

    def lookup(self, name: str, f: Frame) -> Any:
        found = f.locals.get(name, _MISSING)
        if found is not _MISSING:
            return found
        if f.closure is not None:
            found = f.closure.get(name, _MISSING)
            if found is not _MISSING:
                return found
        found = f.scope.globals.get(name, _MISSING)
        if found is not _MISSING:
            return found
        if name in _BUILTINS:
            return v.Builtin(name)
        return UNKNOWN

    # --- statements ----------------------------------------------------------------------

    def exec_block(self, body: tuple[Any, ...], f: Frame) -> Any:
        for stmt in body:
            status = self.exec_stmt(stmt, f)
            if status is not _NORMAL:
                return status
        return _NORMAL

    def exec_stmt(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooComplex()
        tag = stmt[0]
        if tag == "expr":  # the commonest statement, inline
            self.eval(stmt[1], f)
            return _NORMAL
        handler = self._exec.get(tag)
        return handler(stmt, f) if handler is not None else _NORMAL

    def _expr_stmt(self, stmt: tuple[Any, ...], f: Frame) -> None:
        self.eval(stmt[1], f)

    def _assign(self, stmt: tuple[Any, ...], f: Frame) -> None:
        value = self.eval(stmt[2], f)
        for target in stmt[1]:
            self.assign(target, value, f)

    def _augassign(self, stmt: tuple[Any, ...], f: Frame) -> None:
        target, op = stmt[1], stmt[2]
        current = self.eval(target, f)
        value = self.eval(stmt[3], f)
        if type(current) is list and op == "+":
            current.extend(self.iterate(value) or [UNKNOWN])  # in place, as Python does
            if self.iterate(value) is None:
                self.note("list extended with unknown items")
            return
        self.assign(target, self.binop(op, current, value), f)

    def _return(self, stmt: tuple[Any, ...], f: Frame) -> str:
        f.returns.append(self.eval(stmt[1], f))
        return _RETURN

    def assign(self, target: tuple[Any, ...], value: Any, f: Frame) -> None:
        tag = target[0]
        if tag == "name":
            f.locals[target[1]] = value
        elif tag == "attr":
            obj = self.eval(target[1], f)
            if isinstance(obj, v.Instance):
                obj.attrs[target[2]] = value
            elif isinstance(obj, v.ClassVal):
                obj.namespace[target[2]] = value
        elif tag == "sub":
            obj = self.eval(target[1], f)
            key = self.eval(target[2], f)
            if type(obj) is dict and v.is_const(key):
                obj[key] = value
            elif type(obj) is list and type(key) is int and -len(obj) <= key < len(obj):
                obj[key] = value
            elif isinstance(obj, v.DictSpec) and type(key) is str:
                obj.children[key] = value
        elif tag in ("tuple", "list"):
            self._unpack(target[1], value, f)
        elif tag == "*":
            self.assign(target[1], [UNKNOWN], f)

    def _unpack(self, targets: tuple[Any, ...], value: Any, f: Frame) -> None:
        items = self.iterate(value) if not isinstance(value, v.Tensor) else None
        star = [i for i, t in enumerate(targets) if t[0] == "*"]
        if items is not None and not star and len(items) == len(targets):
            for t, x in zip(targets, items):
                self.assign(t, x, f)
        elif items is not None and star and len(items) >= len(targets) - 1:
            s = star[0]
            tail = len(targets) - s - 1
            for t, x in zip(targets[:s], items[:s]):
                self.assign(t, x, f)
            self.assign(targets[s][1], list(items[s:len(items) - tail]), f)
            for t, x in zip(targets[s + 1:], items[len(items) - tail:]):
                self.assign(t, x, f)
        else:
            # `a, b = x.chunk(2)`: each part comes from the same tensor.
            part = value if isinstance(value, v.Tensor) else UNKNOWN
            for t in targets:
                self.assign(t[1] if t[0] == "*" else t, part, f)

    def _if(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        value = self.eval(stmt[1], f)
        if isinstance(value, v.Narrowing):
            return self.both_ways(lambda: self._narrowed(value, stmt[2], f),
                                  lambda: self.exec_block(stmt[3], f), f)
        test = self.truth(value)
        if test is True:
            return self.exec_block(stmt[2], f)
        if test is False:
            return self.exec_block(stmt[3], f)
        return self.both_ways(lambda: self.exec_block(stmt[2], f),
                              lambda: self.exec_block(stmt[3], f), f, _names_in(stmt))

    def _narrowed(self, narrowing: v.Narrowing, body: tuple[Any, ...], f: Frame) -> Any:
        """Run the body of `if isinstance(m, Kind):` with `m` narrowed to those kinds."""
        narrow = v.EachModule(narrowing.kinds)
        for name, value in list(f.locals.items()):
            if value is narrowing.module:
                f.locals[name] = narrow
        return self.exec_block(body, f)

    def both_ways(self, first: Callable[[], Any], second: Callable[[], Any], f: Frame,
                  touched: frozenset[str] | None = None) -> Any:
        """Run two branches from the same state and merge what they leave behind. `touched`
        (the local names the branches mention) limits the copying; None copies all."""
        names = touched if touched is not None else frozenset(f.locals)
        before = self._snapshot(f, names)
        status1 = first()
        if touched is None:
            names = names | frozenset(f.locals)
        after_first = self._snapshot(f, names)
        self._restore(f, before, names)
        status2 = second()
        if status1 == _RETURN and status2 != _RETURN:
            return _NORMAL
        if status2 == _RETURN and status1 != _RETURN:
            self._restore(f, after_first, names)
            return _NORMAL
        if status1 == status2 == _RETURN:
            return _RETURN
        self._merge_into(f, after_first, names)
        if status1 != status2:
            self.note("a `break`/`continue` depends on a condition that is not known")
        return _NORMAL

    def _snapshot(self, f: Frame, names: frozenset[str]
                  ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        attrs = f.self_obj.attrs if isinstance(f.self_obj, v.Instance) else None
        local = f.locals
        taken = {k: (_clone(local[k]) if type(local[k]) in (list, dict) else local[k])
                 for k in names if k in local}
        return taken, _clone_all(attrs) if attrs is not None else None

    def _restore(self, f: Frame, snap: tuple[dict[str, Any], dict[str, Any] | None],
                 names: frozenset[str]) -> None:
        local = f.locals
        for k in names:
            if k in snap[0]:
                x = snap[0][k]
                local[k] = _clone(x) if type(x) in (list, dict) else x
            else:
                local.pop(k, None)
        if snap[1] is not None:
            f.self_obj.attrs.clear()
            f.self_obj.attrs.update(_clone_all(snap[1]))

    def _merge_into(self, f: Frame, other: tuple[dict[str, Any], dict[str, Any] | None],
                    names: frozenset[str]) -> None:
        theirs_local = other[0]
        for key in names:
            a, b = theirs_local.get(key, _MISSING), f.locals.get(key, _MISSING)
            if a is _MISSING and b is _MISSING:
                continue
            f.locals[key] = b if a is _MISSING else (a if b is _MISSING else self.merge(a, b))
        mine = f.self_obj.attrs if other[1] is not None else None
        theirs = other[1]
        if mine is None or theirs is None:
            return
        for key in list(dict.fromkeys([*theirs, *mine])):
            a, b = theirs.get(key, _MISSING), mine.get(key, _MISSING)
            if a is _MISSING or b is _MISSING:
                mine[key] = b if a is _MISSING else a
            else:
                mine[key] = self.merge(a, b)

    def merge(self, a: Any, b: Any) -> Any:
        """The value a variable holds after an undecided `if` set it to `a` or `b`."""
        if a is b or _const_equal(a, b):
            return a
        if isinstance(a, v.Tensor) and isinstance(b, v.Tensor):
            if a.node == b.node:
                return a
            return self.add_node(ir.MERGE, (a, b))
        modules = (*v.MODULE_VALUES, type(None))
        if isinstance(a, modules) and isinstance(b, modules):
            options: list[Any] = []
            for x in (a, b):
                options.extend(x.options if isinstance(x, v.Choice) else (x,))
            return v.Choice(tuple(options))
        if type(a) is list and type(b) is list and len(a) == len(b):
            return [self.merge(x, y) for x, y in zip(a, b)]
        if type(a) is list and type(b) is list:
            self.note("a list of layers depends on a condition that is not known")
        return UNKNOWN

    def _for(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        _, target, iter_expr, body, orelse, _slot = stmt
        value = self.eval(iter_expr, f)
        items = self.iterate(value)
        loop = self.loop_started(stmt, value, items, f)
        try:
            if items is None:
                if loop is None:
                    self.note("a loop runs over values that are not known")
                self.assign(target, self.unknown_item(), f)
                status = self.exec_block(body, f)
                return _RETURN if status == _RETURN else _NORMAL
            if len(items) > MAX_LOOP:
                self.note("a loop is too long to unroll")
                items = items[:MAX_LOOP]
            built = self.built
            for index, item in enumerate(items):
                if index == COMPUTE_PROBE and self.built == built:
                    # Many passes and not one layer: this loop computes numbers (filter
                    # coefficients, tables), it does not build the network. Stop, and let
                    # what it assigns be unknown rather than half-computed.
                    self.note("a long loop computes values; they are left unknown")
                    for name in _assigned_names(body):
                        f.locals[name] = UNKNOWN
                    return _NORMAL
                self.assign(target, self.loop_item(loop, index, item), f)
                status = self.exec_block(body, f)
                if status == _BREAK:
                    return _NORMAL
                if status == _RETURN:
                    return _RETURN
                if not self.loop_continues(loop, index):
                    return _NORMAL
            return self.exec_block(orelse, f)
        finally:
            self.loop_finished(loop)

    # Hooks for the training reader: how a loop is run (the model reader unrolls them all).
    def loop_started(self, stmt: tuple[Any, ...], value: Any, items: list[Any] | None,
                     f: Frame) -> Any:
        return None

    def loop_continues(self, loop: Any, index: int) -> bool:
        return True

    def loop_item(self, loop: Any, index: int, item: Any) -> Any:
        """The value a loop binds on its `index`-th pass (the model reader: the item)."""
        return item

    def unknown_item(self) -> Any:
        """What a loop over unknown values binds its target to."""
        return UNKNOWN

    def loop_finished(self, loop: Any) -> None:
        return None

    def _while(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        self.note("a `while` loop is read as running once")
        status = self.exec_block(stmt[2], f)
        return _RETURN if status == _RETURN else _NORMAL

    def _with(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        for expr, target in stmt[1]:
            value = self.eval(expr, f)
            if target is not None:
                self.assign(target, UNKNOWN if not isinstance(value, v.Tensor) else value, f)
        return self.exec_block(stmt[2], f)

    def _try(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        status = self.exec_block(stmt[1], f)
        if status == _NORMAL:
            status = self.exec_block(stmt[3], f)
        final = self.exec_block(stmt[4], f)
        return final if final is not _NORMAL else status

    def _def(self, stmt: tuple[Any, ...], f: Frame) -> None:
        closure = None if f.locals is f.scope.globals else f.locals
        f.locals[stmt[1]] = v.FuncVal(stmt[1], f.scope, stmt, closure=closure,
                                      owner=f.owner if closure is not None else stmt[1])

    def _class(self, stmt: tuple[Any, ...], f: Frame) -> None:
        _, name, bases, _kwargs, body, _slot = stmt
        cls = v.ClassVal(name, f.scope, stmt, bases=[self.eval(b, f) for b in bases])
        body_frame = Frame(f.scope, closure=f.locals if f.locals is not f.scope.globals else None,
                           owner=name)
        body_frame.locals = cls.namespace
        self.exec_block(body, body_frame)
        for member in cls.namespace.values():
            if isinstance(member, v.FuncVal) and member.node[0] == "def":
                member.owner = name
                member.cls = cls
                member.closure = body_frame.closure  # methods do not see the class body
        f.locals[name] = cls

    # --- expressions ---------------------------------------------------------------------

    def eval(self, e: tuple[Any, ...], f: Frame) -> Any:
        tag = e[0]
        # The three most frequent tags, inline: this is the interpreter's hottest path.
        if tag == "name":
            name = e[1]
            found = f.locals.get(name, _MISSING)
            if found is not _MISSING:
                return found
            return self.lookup(name, f)
        if tag == "const":
            return e[1]
        if tag == "attr":
            return self.getattr(self.eval(e[1], f), e[2])
        return self._eval[tag](e, f)

    def _fstr(self, e: tuple[Any, ...], f: Frame) -> Any:
        if e[1] is None:
            return UNKNOWN
        out = []
        for part in e[1]:
            if type(part) is str:
                out.append(part)
                continue
            value = self.eval(part, f)
            if not v.is_const(value):
                return UNKNOWN
            out.append(str(value))
        return "".join(out)

    def _elements(self, elts: tuple[Any, ...], f: Frame) -> list[Any]:
        out: list[Any] = []
        for e in elts:
            if e[0] == "*":
                items = self.iterate(self.eval(e[1], f))
                if items is None:
                    self.note("a list is built from values that are not known")
                    out.append(UNKNOWN)
                else:
                    out.extend(items)
            else:
                out.append(self.eval(e, f))
        return out

    def _dict(self, e: tuple[Any, ...], f: Frame) -> Any:
        out: dict[Any, Any] = {}
        for key, value in e[1]:
            if key is None:
                other = self.eval(value, f)
                if type(other) is not dict:
                    return UNKNOWN
                out.update(other)
                continue
            k = self.eval(key, f)
            if not v.is_const(k) or isinstance(k, list):
                return UNKNOWN
            out[k] = self.eval(value, f)
        return out

    def _unary(self, e: tuple[Any, ...], f: Frame) -> Any:
        value = self.eval(e[2], f)
        if e[1] == "not":
            t = self.truth(value)
            return UNKNOWN if t is None else not t
        if isinstance(value, v.Tensor):
            return value
        if type(value) in (int, float) and not isinstance(value, bool):
            return -value if e[1] == "-" else (value if e[1] == "+" else ~value)  # type: ignore[operator]
        return UNKNOWN

    def _boolop(self, e: tuple[Any, ...], f: Frame) -> Any:
        left = self.eval(e[2], f)
        t = self.truth(left)
        if t is None:
            return UNKNOWN
        if (e[1] == "and") == t:
            return self.eval(e[3], f)
        return left

    def _compare(self, e: tuple[Any, ...], f: Frame) -> Any:
        left = self.eval(e[1], f)
        result: Any = True
        for op, right_expr in e[2]:
            right = self.eval(right_expr, f)
            outcome = self.compare(op, left, right)
            if outcome is False:
                return False
            if outcome is UNKNOWN:
                result = UNKNOWN
            left = right
        return result

    def compare(self, op: str, a: Any, b: Any) -> Any:
        if op == "in" and type(a) is str and isinstance(b, v.ClassNameOf):
            return v.Narrowing(b.module, kinds_named(a))
        if isinstance(a, _Found) and op in ("!=", ">", ">=") and b in (-1, 0):
            if (op, b) in (("!=", -1), (">", -1), (">=", 0)):
                return v.Narrowing(a.module, kinds_named(a.needle))
        if op in ("is", "is not"):
            if a is UNKNOWN or b is UNKNOWN or isinstance(a, v.Choice) or isinstance(b, v.Choice):
                return UNKNOWN
            if isinstance(a, v.Tensor) or isinstance(b, v.Tensor):
                return UNKNOWN
            same = a is b or (a is None) == (b is None) and (a is None or _const_equal(a, b))
            return same if op == "is" else not same
        if v.is_const(a) and (v.is_const(b) or (op in ("in", "not in") and type(b) is dict)):
            try:
                return bool(_COMPARE[op](a, b))
            except Exception:
                return UNKNOWN
        return UNKNOWN

    def _ifexp(self, e: tuple[Any, ...], f: Frame) -> Any:
        t = self.truth(self.eval(e[1], f))
        if t is True:
            return self.eval(e[2], f)
        if t is False:
            return self.eval(e[3], f)
        return self.merge(self.eval(e[2], f), self.eval(e[3], f))

    def _comp(self, e: tuple[Any, ...], f: Frame) -> Any:
        out: list[Any] = []
        inner = Frame(f.scope, closure=f.locals, self_obj=f.self_obj, cls=f.cls, owner=f.owner)
        if f.closure is not None:
            inner.closure = {**f.closure, **f.locals}
        if not self._generate(e[3], 0, e[2], inner, out):
            return UNKNOWN
        return out if e[1] != "gen" else out  # generators are consumed like lists

    def _generate(self, gens: tuple[Any, ...], i: int, elt: tuple[Any, ...], f: Frame,
                  out: list[Any]) -> bool:
        if i == len(gens):
            out.append(self.eval(elt, f))
            return True
        target, iter_expr, ifs = gens[i]
        items = self.iterate(self.eval(iter_expr, f))
        if items is None:
            self.note("a comprehension runs over values that are not known")
            self.assign(target, UNKNOWN, f)
            self.eval(elt, f)  # once, as loops run once: the calls inside still count
            return False
        for item in items[:MAX_LOOP]:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise TooComplex()
            self.assign(target, item, f)
            keep: Any = True
            for cond in ifs:
                keep = self.truth(self.eval(cond, f))
                if keep is not True:
                    break
            if keep is None:
                self.note("a comprehension filter is not known")
                return False
            if keep and not self._generate(gens, i + 1, elt, f, out):
                return False
        return True

    def _walrus(self, e: tuple[Any, ...], f: Frame) -> Any:
        value = self.eval(e[2], f)
        self.assign(e[1], value, f)
        return value

    def truth(self, value: Any) -> bool | None:
        """Python truthiness, or None when it cannot be known."""
        if value is UNKNOWN or isinstance(value, v.Tensor):
            return None
        if isinstance(value, v.Choice):
            falsy = [o is None for o in value.options]
            return None if any(falsy) and not all(falsy) else not falsy[0]
        if v.is_const(value) or type(value) is dict:
            return bool(value)
        return True

    def binop(self, op: str, a: Any, b: Any) -> Any:
        a_t, b_t = isinstance(a, v.Tensor), isinstance(b, v.Tensor)
        if a_t and b_t:
            if a.node == b.node and op in ("+", "*"):
                return a  # `x + x` or `x * x` adds no connection
            kind = ir.ADD if op in ("+", "-") else ir.MUL
            return self.add_node(kind, (a, b), name=op)
        if a_t or b_t:
            return a if a_t else b  # scaling or shifting by a constant
        if type(a) is list and type(b) is list and op == "+":
            return a + b
        if type(a) is list and type(b) is int and op == "*":
            if len(a) * b > MAX_SIZE:
                return UNKNOWN
            return [_clone(x) for _ in range(max(0, b)) for x in a]
        if type(a) is tuple and type(b) is tuple and op == "+":
            return a + b
        if type(a) is str and op == "%":
            try:
                return a % b if v.is_const(b) else UNKNOWN
            except Exception:
                return UNKNOWN
        if v.is_const(a) and v.is_const(b) and op in _BINOPS:
            if not _safe_size(op, a, b):
                return UNKNOWN
            try:
                result = _BINOPS[op](a, b)
            except Exception:
                return UNKNOWN
            return result if v.is_const(result) else UNKNOWN
        return UNKNOWN

    def subscript(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, v.Tensor):
            return obj
        if isinstance(key, slice):
            parts = (key.start, key.stop, key.step)
            if not all(p is None or type(p) is int for p in parts):
                return UNKNOWN
            if isinstance(obj, (list, tuple, str)):
                return obj[key]
            if isinstance(obj, v.SeqSpec):
                return v.SeqSpec(obj.children[key])
            if isinstance(obj, v.ListSpec):
                return v.ListSpec(obj.children[key])
            return UNKNOWN
        if type(obj) in (list, tuple, str) and type(key) is int:
            return obj[key] if -len(obj) <= key < len(obj) else UNKNOWN
        if type(obj) is dict and v.is_const(key) and not isinstance(key, list):
            return obj.get(key, UNKNOWN)
        if isinstance(obj, v.SeqSpec) and type(key) is int:
            return obj.children[key][1] if -len(obj.children) <= key < len(obj.children) \
                else UNKNOWN
        if isinstance(obj, v.ListSpec) and type(key) is int:
            return obj.children[key] if -len(obj.children) <= key < len(obj.children) else UNKNOWN
        if isinstance(obj, v.DictSpec) and type(key) is str:
            return obj.children.get(key, UNKNOWN)
        if isinstance(obj, v.Instance) and type(key) in (int, str):
            children = self.children(obj)
            if type(key) is int and -len(children) <= key < len(children):
                return children[key][1]
            return dict(children).get(key, UNKNOWN) if type(key) is str else UNKNOWN
        return UNKNOWN

    def iterate(self, value: Any) -> list[Any] | None:
        """The items a `for` loop over `value` sees, or None when they are not known."""
        if type(value) in (list, tuple):
            return list(value)
        if type(value) is dict:
            return list(value)
        if type(value) is str:
            return list(value)
        if isinstance(value, v.SeqSpec):
            return [c for _, c in value.children]
        if isinstance(value, v.ListSpec):
            return list(value.children)
        if isinstance(value, v.DictSpec):
            return list(value.children)
        if isinstance(value, v.Instance) and self.container_base(value.cls) is not None:
            return [c for _, c in self.children(value)]
        return None

    # --- attributes ----------------------------------------------------------------------

    def getattr(self, obj: Any, name: str) -> Any:
        kind = type(obj)
        if kind is v.Instance:
            found = obj.attrs.get(name, _MISSING)
            if found is not _MISSING:
                return found
        elif kind is v.Ref:
            return v.Ref(f"{obj.qualname}.{name}")
        if isinstance(obj, v.ModuleVal):
            return self.load(obj.scope).get(name, UNKNOWN)
        if isinstance(obj, v.Instance):
            if name in obj.attrs:
                return obj.attrs[name]
            member = obj.cls.lookup(name)
            if isinstance(member, v.FuncVal):
                return replace(member, bound=obj)
            if member is not None:
                return member
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.ClassVal):
            member = obj.lookup(name)
            return member if member is not None else UNKNOWN
        if isinstance(obj, v.SuperVal):
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.Tensor):
            if name in ("data", "T"):
                return obj
            return v.BoundMethod(obj, name) if name not in ("shape", "dtype", "device") \
                else UNKNOWN
        if isinstance(obj, v.LayerSpec):
            if name == "weight" or (name == "bias" and obj.args.get("bias", True) is not False):
                return v.ParamRef(obj, name)
            if name in obj.args:
                return obj.args[name]
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.EachModule):
            if name in ("weight", "bias"):
                return v.ParamRef(obj, name)
            if name == "__class__":
                return obj
            if name == "__name__":
                return v.ClassNameOf(obj)
            return UNKNOWN
        if isinstance(obj, v.ClassNameOf):
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.ParamRef):
            return obj if name == "data" else v.BoundMethod(obj, name)
        if isinstance(obj, (list, dict, str, v.SeqSpec, v.ListSpec, v.DictSpec)):
            return v.BoundMethod(obj, name)
        return UNKNOWN

    # --- calls ---------------------------------------------------------------------------

    def _call_expr(self, e: tuple[Any, ...], f: Frame) -> Any:
        func = self.eval(e[1], f)
        args = Args()
        for a in e[2]:
            if a[0] == "*":
                items = self.iterate(self.eval(a[1], f))
                if items is None:
                    args.open_pos = True
                else:
                    args.pos.extend(items)
            else:
                args.pos.append(self.eval(a, f))
        for key, value_expr in e[3]:
            value = self.eval(value_expr, f)
            if key is not None:
                args.kw[key] = value
            elif type(value) is dict and all(type(k) is str for k in value):
                args.kw.update(value)
            else:
                args.open_kw = True
        self.current_call = (e, f)
        return self.call(func, args, f, f.scope.loc(e[4]), e[1])

    def call(self, func: Any, args: Args, f: Frame, loc: Loc | None,
             func_expr: tuple[Any, ...] | None = None) -> Any:
        kind = type(func)
        if kind is v.BoundMethod:
            return self.call_method(func.obj, func.name, args, f, loc)
        if kind is v.FuncVal:
            return self.call_function(func, args)
        if kind is v.Ref:
            return self.call_ref(func.qualname, args, f, loc)
        if kind is v.ClassVal:
            return self.instantiate(func, args, f, loc)
        if kind is v.Builtin:
            if func.name == "super":
                return v.SuperVal(f.self_obj, f.cls) if f.cls is not None else UNKNOWN
            try:
                return _BUILTINS[func.name](self, args)
            except (ArithmeticError, ValueError, TypeError, MemoryError):
                return UNKNOWN  # len(range(2**64)), int("x"): Python would raise; we shrug
        if kind in _MODULE_TYPES:
            return self.apply(func, args, f, loc)
        return self.unknown_call(args, f"`{describe(func_expr)}(...)` is not known")

    def unknown_call(self, args: Args, why: str) -> Any:
        tensors = tensors_in(args)
        if tensors:
            self.note(why)
            return self.add_node(ir.UNKNOWN, tensors)
        return UNKNOWN

    def call_function(self, fn: v.FuncVal, args: Args) -> Any:
        if self.depth >= MAX_CALL_DEPTH:
            self.note("calls nest too deeply to follow")
            return UNKNOWN
        key = id(fn.node)
        memo_key = _memo_key(fn, args)
        if memo_key is not None and memo_key in self.memo:
            return self.memo[memo_key]
        if self.active.get(key, 0) >= MAX_RECURSION and (
                args.open_pos or args.open_kw
                or any(x is UNKNOWN for x in (*args.pos, *args.kw.values()))):
            # Recursion whose end depends on values we do not know would branch without end.
            return self.unknown_call(args, f"`{fn.name}` recurses on values that are not known")
        _, name, params, body, _decorators, _slot = fn.node
        if fn.bound is not None:
            args = Args([fn.bound, *args.pos], args.kw, args.open_pos, args.open_kw)
        frame = Frame(fn.scope, closure=fn.closure, self_obj=fn.bound, cls=fn.cls,
                      owner=fn.owner or name)
        self.bind(params, args, frame)
        self.depth += 1
        self.active[key] = self.active.get(key, 0) + 1
        built, notes = self.built, len(self.unresolved)
        try:
            self.exec_block(body, frame)
        finally:
            self.depth -= 1
            self.active[key] -= 1
        result = frame.returns[0] if frame.returns else None
        for other in frame.returns[1:]:
            result = self.merge(result, other)
        if memo_key is not None and self.built == built and len(self.unresolved) == notes \
                and _immutable_const(result):
            self.memo[memo_key] = result  # it computed a constant and built nothing
        return result

    def bind(self, params: tuple[Any, ...], args: Args, frame: Frame) -> None:
        pos = list(args.pos)
        kw = dict(args.kw)
        for pname, default, kind in params:
            if kind == "pos" and pos:
                frame.locals[pname] = pos.pop(0)
            elif kind in ("pos", "kw") and pname in kw:
                frame.locals[pname] = kw.pop(pname)
            elif kind == "star":
                frame.locals[pname] = UNKNOWN if args.open_pos else tuple(pos)
                pos = []
            elif kind == "dstar":
                frame.locals[pname] = UNKNOWN if args.open_kw else kw
                kw = {}
            elif args.open_pos or args.open_kw:
                frame.locals[pname] = UNKNOWN  # it may have been passed through the splat
            elif default is not None:
                frame.locals[pname] = self.eval(default, Frame(frame.scope, owner=frame.owner))
            else:
                frame.locals[pname] = UNKNOWN

    def instantiate(self, cls: v.ClassVal, args: Args, f: Frame, loc: Loc | None) -> Any:
        self.built += 1
        inst = v.Instance(cls)
        init = cls.lookup("__init__")
        if isinstance(init, v.FuncVal):
            self.call_function(replace(init, bound=inst), args)
        else:
            self._base_init(inst, cls, args)
        return inst

    def _base_init(self, inst: v.Instance, cls: v.ClassVal, args: Args) -> None:
        """`super().__init__(...)` (or no __init__): the first base that defines one."""
        for base in cls.bases:
            if isinstance(base, v.ClassVal):
                init = base.lookup("__init__")
                if isinstance(init, v.FuncVal):
                    self.call_function(replace(init, bound=inst), args)
                    return
                self._base_init(inst, base, args)
                return
            if isinstance(base, v.Ref):
                container = _container_kind(base.qualname)
                if container == "Sequential":
                    for key, child in _sequential_children(args):
                        inst.attrs[key] = child
                elif container == "ModuleList":
                    for i, child in enumerate(self.iterate(args.pos[0]) or [] if args.pos else []):
                        inst.attrs[str(i)] = child
                elif container == "ModuleDict" and args.pos and type(args.pos[0]) is dict:
                    inst.attrs.update(args.pos[0])
                return

    def is_module_class(self, cls: Any, seen: frozenset[int] = frozenset()) -> bool:
        if not isinstance(cls, v.ClassVal) or id(cls) in seen:
            return False
        for base in cls.bases:
            if isinstance(base, v.Ref) and (
                    base.qualname in MODULE_BASES or _layer_kind(base.qualname)
                    or _container_kind(base.qualname)):
                return True
            if self.is_module_class(base, seen | {id(cls)}):
                return True
        return False

    def container_base(self, cls: v.ClassVal, seen: frozenset[int] = frozenset()) -> str | None:
        """"Sequential", "ModuleList" or "ModuleDict" when the class derives from one."""
        for base in cls.bases:
            if isinstance(base, v.Ref):
                kind = _container_kind(base.qualname)
                if kind:
                    return kind
            elif isinstance(base, v.ClassVal) and id(base) not in seen:
                found = self.container_base(base, seen | {id(cls)})
                if found:
                    return found
        return None

    def children(self, inst: v.Instance) -> list[tuple[str, Any]]:
        return [(k, x) for k, x in inst.attrs.items() if isinstance(x, v.MODULE_VALUES)]

    # --- torch ---------------------------------------------------------------------------

    def call_ref(self, qualname: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        container = _container_kind(qualname)
        if container == "Sequential":
            return v.SeqSpec(list(_sequential_children(args)))
        if container == "ModuleList":
            items = self.iterate(args.pos[0]) if args.pos else []
            if items is None:
                self.note("a ModuleList is built from values that are not known")
                items = []
            return v.ListSpec(list(items))
        if container == "ModuleDict":
            first = args.pos[0] if args.pos else {}
            if type(first) is list:
                first = dict(p for p in first if isinstance(p, tuple) and len(p) == 2)
            return v.DictSpec(dict(first) if type(first) is dict else {})
        kind = _layer_kind(qualname)
        if kind:
            self.built += 1
            return v.LayerSpec(kind, bind_layer_args(kind, args), loc, f.owner)
        if qualname in catalogue.FUNCTIONAL:
            kind = catalogue.FUNCTIONAL[qualname]
            inputs = tensors_in(Args(args.pos[:1], {k: x for k, x in args.kw.items()
                                                    if k == "input"}))
            if not inputs:
                return UNKNOWN
            return self.add_node(kind, inputs[:1], name=qualname.replace(
                "torch.nn.functional.", "F."), owner=f.owner, loc=loc, functional=True)
        if qualname in catalogue.COMBINE_FUNCTIONS:
            tensors = tensors_in(args)
            if len({t.node for t in tensors}) < 2:
                return tensors[0] if tensors else UNKNOWN
            return self.add_node(catalogue.COMBINE_FUNCTIONS[qualname], tensors,
                                 name=qualname, loc=loc)
        if qualname in catalogue.PASSTHROUGH_FUNCTIONS:
            tensors = tensors_in(args)
            return tensors[0] if tensors else UNKNOWN
        if qualname.startswith("torch.nn.init.") and args.pos \
                and isinstance(args.pos[0], v.ParamRef):
            method = _INIT_FUNCTIONS.get(qualname.rsplit(".", 1)[-1], "scaled")
            self.record_init(args.pos[0], method, Args(args.pos[1:], args.kw), f, loc)
            return args.pos[0]
        if qualname in ("collections.OrderedDict", "typing.OrderedDict"):
            return _builtin_dict(self, args)
        return self.unknown_call(args, f"a call to `{qualname}`")

    def apply(self, module: Any, args: Args, f: Frame, loc: Loc | None = None) -> Any:
        """Call a module on tensors (its forward)."""
        if isinstance(module, v.LayerSpec):
            inputs = tensors_in(args)
            if not inputs:
                return UNKNOWN
            return self.add_node(module.kind, inputs, name=self.paths.get(id(module), ""),
                                 owner=module.scope, args=module.args, loc=module.loc)
        if isinstance(module, v.SeqSpec):
            return self._chain([c for _, c in module.children], args, f)
        if isinstance(module, v.Choice):
            results = []
            for option in module.options:
                if option is None:
                    results.append(args.pos[0] if args.pos else UNKNOWN)
                else:
                    results.append(self.apply(option, args, f))
            merged = results[0]
            for other in results[1:]:
                merged = self.merge(merged, other)
            return merged
        if isinstance(module, v.Instance):
            forward = module.cls.lookup("forward")
            if isinstance(forward, v.FuncVal):
                return self.call_function(
                    replace(forward, bound=module), args)
            if self.container_base(module.cls) == "Sequential":
                return self._chain([c for _, c in self.children(module)], args, f)
            return self.unknown_call(args, f"`{module.cls.name}` has no readable forward")
        return self.unknown_call(args, "a call to a module that is not known")

    def _chain(self, modules: list[Any], args: Args, f: Frame) -> Any:
        if not modules:
            return args.pos[0] if args.pos else UNKNOWN
        out = self.apply(modules[0], args, f)
        for module in modules[1:]:
            out = self.apply(module, Args([out]), f)
        return out

    def record_init(self, param: v.ParamRef, method: str, args: Args, f: Frame,
                    loc: Loc | None) -> None:
        """Remember a weight initialisation: its method and its scale (the constant, the
        std of a normal, the bound of a uniform), when known."""
        value = _init_scale(method, args)
        owner = param.owner
        if isinstance(owner, v.LayerSpec):
            kinds: tuple[str, ...] = (owner.kind,)
        else:
            kinds = owner.kinds or ()
        if method == "zeros":
            method, value = "constant", 0.0
        elif method == "ones":
            method, value = "constant", 1.0
        self.inits.append(ir.WeightInit(
            target=param.name, method=method, value=value, layer_kinds=kinds, loc=loc,
            scope=f.owner, layer_loc=owner.loc if isinstance(owner, v.LayerSpec) else None))

    def call_method(self, obj: Any, name: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        if isinstance(obj, v.Tensor):
            return self._tensor_method(obj, name, args, f, loc)
        if isinstance(obj, v.ParamRef):
            method = _TENSOR_INIT_METHODS.get(name)
            if method is not None:
                self.record_init(obj, method, args, f, loc)
                return obj
            return UNKNOWN
        if isinstance(obj, v.ClassNameOf):
            if name == "find" and args.pos and type(args.pos[0]) is str:
                return _Found(obj.module, args.pos[0])
            if name in ("startswith", "endswith", "__contains__") and args.pos \
                    and type(args.pos[0]) is str:
                return v.Narrowing(obj.module, kinds_named(args.pos[0]))
            return UNKNOWN
        if type(obj) is list:
            return _list_method(self, obj, name, args)
        if type(obj) is dict:
            return _dict_method(obj, name, args)
        if type(obj) is str:
            if name == "format" and all(v.is_const(x) for x in (*args.pos, *args.kw.values())):
                try:
                    return obj.format(*args.pos, **args.kw)
                except Exception:
                    return UNKNOWN
            return UNKNOWN
        if isinstance(obj, v.SuperVal):
            if name == "__init__":
                self._base_init(obj.instance, obj.cls, args)
                return None
            for base in obj.cls.bases:
                member = base.lookup(name) if isinstance(base, v.ClassVal) else None
                if isinstance(member, v.FuncVal):
                    return self.call_function(
                        replace(member, bound=obj.instance), args)
            if name == "forward" and self.container_base(obj.cls) == "Sequential":
                return self._chain([c for _, c in self.children(obj.instance)], args, f)
            return self.unknown_call(args, f"`super().{name}` is not known")
        if isinstance(obj, v.Instance):
            return self._module_method(obj, name, args, f)
        if isinstance(obj, (v.SeqSpec, v.ListSpec, v.DictSpec)):
            return _container_method(self, obj, name, args)
        return self.unknown_call(args, f"`.{name}()` is not known")

    def _module_method(self, obj: v.Instance, name: str, args: Args, f: Frame) -> Any:
        if name in ("modules", "children") and not args.pos:
            return [v.EachModule()]
        if name == "apply" and args.pos:
            self.call(args.pos[0], Args([v.EachModule()]), f, None)
            return obj
        if name in ("add_module", "register_module") and len(args.pos) >= 2:
            if type(args.pos[0]) is str:
                obj.attrs[args.pos[0]] = args.pos[1]
            else:
                self.note("a submodule is added under a name that is not known")
            return None
        if name in ("append",) and args.pos:
            obj.attrs[str(len(self.children(obj)))] = args.pos[0]
            return obj
        if name in ("extend",) and args.pos:
            for item in self.iterate(args.pos[0]) or []:
                obj.attrs[str(len(self.children(obj)))] = item
            return obj
        if name in ("items", "values", "keys", "children", "named_children"):
            pairs = self.children(obj)
            if name in ("values", "children"):
                return [c for _, c in pairs]
            if name == "keys":
                return [k for k, _ in pairs]
            return [tuple(p) for p in pairs]
        if name == "forward":
            return self.apply(obj, args, f)
        if name in ("register_buffer", "register_parameter", "to", "train", "eval", "cuda",
                    "cpu", "float", "double", "half", "requires_grad_"):
            return obj if name not in ("register_buffer", "register_parameter") else None
        return self.unknown_call(args, f"`.{name}()` is not known")

    def _tensor_method(self, t: v.Tensor, name: str, args: Args, f: Frame,
                       loc: Loc | None) -> Any:
        if name in catalogue.TENSOR_METHOD_KIND:
            return self.add_node(catalogue.TENSOR_METHOD_KIND[name], (t,), name=f".{name}()",
                                 owner=f.owner, loc=loc, functional=True)
        if name in catalogue.COMBINE_METHODS:
            others = tensors_in(args)
            if not others or others[0].node == t.node:
                return t
            return self.add_node(catalogue.COMBINE_METHODS[name], (t, others[0]),
                                 name=f".{name}()", loc=loc)
        if name in catalogue.PASSTHROUGH_METHODS:
            return t
        if name in ("chunk", "split", "unbind"):
            return t  # each part comes from the same tensor
        if name in ("size", "dim", "numel", "item", "tolist"):
            return UNKNOWN
        return t


# --- helpers that need no interpreter state ------------------------------------------------


@dataclass(eq=False)
class _Found:
    """`classname.find("Conv")`: compared with -1 it narrows the module kinds."""

    module: v.EachModule
    needle: str


# torch.nn.init functions and in-place tensor methods, by what they do to the values.
_INIT_FUNCTIONS = {
    "constant_": "constant", "zeros_": "zeros", "ones_": "ones", "normal_": "normal",
    "uniform_": "uniform", "trunc_normal_": "trunc_normal",
}
_TENSOR_INIT_METHODS = {
    "fill_": "constant", "zero_": "zeros", "normal_": "normal", "uniform_": "uniform",
}


def _init_scale(method: str, args: Args) -> float | None:
    def arg(index: int, name: str, default: Any) -> Any:
        if len(args.pos) > index:
            return args.pos[index]
        return args.kw.get(name, default)

    def number(x: Any) -> float | None:
        return float(x) if type(x) in (int, float) else None

    if method == "constant":
        return number(arg(0, "val", arg(0, "value", None)))
    if method in ("normal", "trunc_normal"):
        return number(arg(1, "std", 1.0))
    if method == "uniform":
        low, high = number(arg(0, "a", arg(0, "from", 0.0))), number(arg(1, "b", arg(1, "to", 1.0)))
        return None if low is None or high is None else max(abs(low), abs(high))
    return None


def kinds_named(name: str, exact: bool = False) -> tuple[str, ...]:
    """Layer kinds a class-name test selects: `Conv2d`, `_ConvNd`, or DCGAN's "Conv"."""
    if exact and name in catalogue.FAMILY_OF:
        return (name,)
    stripped = name.strip("_").replace("Nd", "")
    if stripped.startswith("BatchNorm") or stripped == "_BatchNorm":
        return tuple(k for k, fam in catalogue.FAMILY_OF.items() if fam == "batchnorm")
    return tuple(k for k in catalogue.FAMILY_OF if stripped and stripped in k) or (name,)


def describe(expr: tuple[Any, ...] | None) -> str:
    """Source-like text for a lowered callee, for notes: `self.body`, `build(...)`."""
    if expr is None:
        return "a call"
    if expr[0] == "name":
        return expr[1]
    if expr[0] == "attr":
        return f"{describe(expr[1])}.{expr[2]}"
    if expr[0] == "call":
        return f"{describe(expr[1])}(...)"
    if expr[0] == "sub":
        return f"{describe(expr[1])}[...]"
    return "an expression"


def tensors_in(args: Args) -> list[v.Tensor]:
    out: list[v.Tensor] = []

    def visit(x: Any) -> None:
        if isinstance(x, v.Tensor):
            out.append(x)
        elif type(x) in (list, tuple):
            for y in x:
                visit(y)

    for x in (*args.pos, *args.kw.values()):
        visit(x)
    return out


def _layer_kind(qualname: str) -> str | None:
    if not qualname.startswith("torch.nn."):
        return None
    last = qualname.rsplit(".", 1)[-1]
    return last if last in catalogue.FAMILY_OF and last[:1].isupper() else None


def _container_kind(qualname: str) -> str | None:
    if not qualname.startswith("torch.nn."):
        return None
    last = qualname.rsplit(".", 1)[-1]
    return last if last in catalogue.CONTAINERS else None


def _sequential_children(args: Args) -> Iterable[tuple[str, Any]]:
    if len(args.pos) == 1 and type(args.pos[0]) is dict:  # nn.Sequential(OrderedDict(...))
        return [(str(k), x) for k, x in args.pos[0].items()]
    return [(str(i), x) for i, x in enumerate(args.pos)]


def bind_layer_args(kind: str, args: Args) -> dict[str, Any]:
    """A layer's constructor arguments by name; unknown values are kept as UNKNOWN."""
    signature = catalogue.SIGNATURES.get(kind, ())
    bound: dict[str, Any] = {}
    for pname, value in zip(signature, args.pos):
        bound[pname] = value
    bound.update(args.kw)
    if args.open_pos or args.open_kw:
        for pname in signature:
            bound.setdefault(pname, UNKNOWN)
    return {k: (x if v.is_const(x) else UNKNOWN) for k, x in bound.items()}


def _list_method(interp: Interp, obj: list[Any], name: str, args: Args) -> Any:
    if name == "append" and args.pos:
        obj.append(args.pos[0])
        return None
    if name == "extend" and args.pos:
        items = interp.iterate(args.pos[0])
        if items is None:
            interp.note("a list is extended with values that are not known")
            obj.append(UNKNOWN)
        else:
            obj.extend(items)
        return None
    if name == "insert" and len(args.pos) == 2 and type(args.pos[0]) is int:
        obj.insert(args.pos[0], args.pos[1])
        return None
    if name == "pop":
        if obj and not args.pos:
            return obj.pop()
        return UNKNOWN
    if name == "copy":
        return list(obj)
    if name == "index" and args.pos and v.is_const(args.pos[0]):
        return obj.index(args.pos[0]) if args.pos[0] in obj else UNKNOWN
    return UNKNOWN


def _dict_method(obj: dict[Any, Any], name: str, args: Args) -> Any:
    if name == "items":
        return [(k, x) for k, x in obj.items()]
    if name == "keys":
        return list(obj)
    if name == "values":
        return list(obj.values())
    if name in ("get", "pop", "setdefault") and args.pos and v.is_const(args.pos[0]):
        default = args.pos[1] if len(args.pos) > 1 else None
        if name == "pop":
            return obj.pop(args.pos[0], default)
        if name == "setdefault":
            return obj.setdefault(args.pos[0], default)
        return obj.get(args.pos[0], default)
    if name == "update" and args.pos and type(args.pos[0]) is dict:
        obj.update(args.pos[0])
        return None
    if name == "update" and args.kw:
        obj.update(args.kw)
        return None
    if name == "copy":
        return dict(obj)
    return UNKNOWN


def _container_method(interp: Interp, obj: Any, name: str, args: Args) -> Any:
    if isinstance(obj, v.SeqSpec):
        if name == "add_module" and len(args.pos) == 2 and type(args.pos[0]) is str:
            obj.children.append((args.pos[0], args.pos[1]))
            return None
        if name == "append" and args.pos:
            obj.children.append((str(len(obj.children)), args.pos[0]))
            return obj
        if name in ("children", "modules"):
            return [c for _, c in obj.children]
    if isinstance(obj, v.ListSpec):
        if name == "append" and args.pos:
            obj.children.append(args.pos[0])
            return obj
        if name == "extend" and args.pos:
            obj.children.extend(interp.iterate(args.pos[0]) or [])
            return obj
    if isinstance(obj, v.DictSpec):
        if name == "items":
            return list(obj.children.items())
        if name == "values":
            return list(obj.children.values())
        if name == "keys":
            return list(obj.children)
        if name in ("add_module", "update") and args.pos:
            if name == "add_module" and len(args.pos) == 2 and type(args.pos[0]) is str:
                obj.children[args.pos[0]] = args.pos[1]
            elif type(args.pos[0]) is dict:
                obj.children.update(args.pos[0])
            return None
    return interp.unknown_call(args, f"`.{name}()` on a container is not known")


def _builtin_dict(interp: Interp, args: Args) -> Any:
    out: dict[Any, Any] = {}
    if args.pos:
        first = args.pos[0]
        if type(first) is dict:
            out.update(first)
        else:
            items = interp.iterate(first)
            if items is None:
                return UNKNOWN
            for pair in items:
                if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                        and v.is_const(pair[0])):
                    return UNKNOWN
                out[pair[0]] = pair[1]
    out.update(args.kw)
    return out


def _consts(args: Args) -> list[Any] | None:
    return list(args.pos) if all(v.is_const(x) for x in args.pos) and not args.open_pos \
        else None


def _builtin_range(interp: Interp, args: Args) -> Any:
    numbers = _consts(args)
    if numbers is None or not numbers or not all(type(n) is int for n in numbers):
        return UNKNOWN
    r = range(*numbers)
    return list(r) if len(r) <= MAX_LOOP else UNKNOWN


def _builtin_len(interp: Interp, args: Args) -> Any:
    items = interp.iterate(args.pos[0]) if args.pos else None
    return len(items) if items is not None and UNKNOWN not in items else UNKNOWN


def _wrap(fn: Callable[..., Any]) -> Callable[[Interp, Args], Any]:
    def call(interp: Interp, args: Args) -> Any:
        consts = _consts(args)
        if consts is None or args.kw:
            return UNKNOWN
        try:
            result = fn(*consts)
        except Exception:
            return UNKNOWN
        return result if v.is_const(result) else UNKNOWN
    return call


def _builtin_list(interp: Interp, args: Args) -> Any:
    if not args.pos:
        return []
    items = interp.iterate(args.pos[0])
    return items if items is not None else UNKNOWN


def _builtin_tuple(interp: Interp, args: Args) -> Any:
    items = _builtin_list(interp, args)
    return tuple(items) if type(items) is list else UNKNOWN


def _builtin_enumerate(interp: Interp, args: Args) -> Any:
    items = interp.iterate(args.pos[0]) if args.pos else None
    start = args.pos[1] if len(args.pos) > 1 else args.kw.get("start", 0)
    if items is None or type(start) is not int:
        return UNKNOWN
    return [(i + start, x) for i, x in enumerate(items)]


def _builtin_zip(interp: Interp, args: Args) -> Any:
    lists = [interp.iterate(a) for a in args.pos]
    if any(x is None for x in lists):
        return UNKNOWN
    return [tuple(t) for t in zip(*lists)]  # type: ignore[arg-type]


def _builtin_reversed(interp: Interp, args: Args) -> Any:
    items = interp.iterate(args.pos[0]) if args.pos else None
    return list(reversed(items)) if items is not None else UNKNOWN


def _builtin_getattr(interp: Interp, args: Args) -> Any:
    if len(args.pos) >= 2 and type(args.pos[1]) is str:
        found = interp.getattr(args.pos[0], args.pos[1])
        if found is UNKNOWN and len(args.pos) == 3:
            return args.pos[2]
        return found
    return UNKNOWN


def _builtin_setattr(interp: Interp, args: Args) -> Any:
    if len(args.pos) == 3 and isinstance(args.pos[0], v.Instance):
        if type(args.pos[1]) is str:
            args.pos[0].attrs[args.pos[1]] = args.pos[2]
        else:
            interp.note("an attribute is set under a name that is not known")
    return None


def _builtin_hasattr(interp: Interp, args: Args) -> Any:
    if len(args.pos) == 2 and isinstance(args.pos[0], v.Instance) and type(args.pos[1]) is str:
        obj, name = args.pos[0], args.pos[1]
        return name in obj.attrs or obj.cls.lookup(name) is not None
    return UNKNOWN


def _builtin_isinstance(interp: Interp, args: Args) -> Any:
    if len(args.pos) == 2 and isinstance(args.pos[0], v.EachModule):
        classes = args.pos[1] if isinstance(args.pos[1], (tuple, list)) else (args.pos[1],)
        kinds: list[str] = []
        for cls in classes:
            if isinstance(cls, v.Ref):
                kinds.extend(kinds_named(cls.qualname.rsplit(".", 1)[-1], exact=True))
            elif isinstance(cls, v.ClassVal):
                kinds.append(cls.name)
        return v.Narrowing(args.pos[0], tuple(kinds))
    if len(args.pos) == 2 and isinstance(args.pos[1], v.Ref) \
            and args.pos[1].qualname in ("torch.Tensor", "torch.nn.Parameter"):
        if isinstance(args.pos[0], v.Tensor):
            return True
        if v.is_const(args.pos[0]) or type(args.pos[0]) in (list, tuple, dict):
            return False
    if len(args.pos) == 2 and v.is_const(args.pos[0]) and isinstance(args.pos[1], v.Builtin):
        py_type = {"int": int, "float": float, "str": str, "bool": bool, "list": list,
                   "tuple": tuple, "dict": dict}.get(args.pos[1].name)
        if py_type is not None:
            return isinstance(args.pos[0], py_type)
    return UNKNOWN


_BUILTINS: dict[str, Callable[[Interp, Args], Any]] = {
    "range": _builtin_range,
    "len": _builtin_len,
    "list": _builtin_list,
    "tuple": _builtin_tuple,
    "dict": _builtin_dict,
    "enumerate": _builtin_enumerate,
    "zip": _builtin_zip,
    "reversed": _builtin_reversed,
    "getattr": _builtin_getattr,
    "setattr": _builtin_setattr,
    "isinstance": _builtin_isinstance,
    "hasattr": _builtin_hasattr,
    "int": _wrap(int),
    "float": _wrap(float),
    "str": _wrap(str),
    "bool": _wrap(bool),
    "abs": _wrap(abs),
    "round": _wrap(round),
    "min": _wrap(min),
    "max": _wrap(max),
    "sum": _wrap(lambda *a: sum(*a)),
    "sorted": _wrap(lambda *a: sorted(*a)),
    "print": lambda interp, args: None,
    "super": lambda interp, args: UNKNOWN,  # `call` answers it: it needs the frame
}
