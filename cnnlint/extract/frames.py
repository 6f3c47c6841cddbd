"""What the interpreter runs with: budgets, call arguments, frames, file scopes, and small
helpers over lowered code and abstract values that need no interpreter state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlint.extract import values as v
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

NORMAL, RETURN, BREAK, CONTINUE = None, "return", "break", "continue"
MISSING = object()


class TooComplex(Exception):
    """The step budget ran out (a generated file, or a loop nest the reader cannot bound)."""


@dataclass
class Args:
    pos: list[Any] = field(default_factory=list)
    kw: dict[str, Any] = field(default_factory=dict)
    # `f(*unknown)` or `f(**unknown)`: any parameter may have been passed.
    open_pos: bool = False
    open_kw: bool = False
    # `f(*items)` with items whose positions from some index on are a guess (see
    # `Interp.guessed_from`): the first such position in `pos`.
    guessed_from: int | None = None
    # `f(**table)`: keywords from a dict the code fills as it runs (under keys read from a
    # config file), which may hold more entries than the reader knows of.
    spread: bool = False


class Frame:
    __slots__ = ("scope", "locals", "closure", "self_obj", "cls", "owner", "returns", "origins",
                 "function", "declared", "yields", "ranges")

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
        self.function = ""  # the function this frame runs ("" for a module or class body)
        self.declared: frozenset[str] = frozenset()  # names declared `global` here
        # A generator's frame: what it yields so far (None: not a generator, or what it
        # yields is not known).
        self.yields: list[Any] | None = None
        # Locals bound to a `range(...)` a loop may run over (`steps = range(epochs)`), by
        # name: the call (the training reader's).
        self.ranges: dict[str, tuple[Any, ...]] | None = None


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
        # Names other modules imported from this one while it was still loading (a cycle):
        # (their namespace, the name there, the name here), bound once it is loaded.
        self.pending_imports: list[tuple[dict[str, Any], str, str]] | None = None
        self._locs: dict[int, Loc | SlotLoc | None] = {}  # a SlotLoc reads as a Loc
        self._mentions: list[tuple[Any, frozenset[str]]] | None = None

    def mentions(self) -> list[tuple[Any, frozenset[str]]]:
        """Each module-level statement with the names it mentions (read once per file: a
        model zoo asks for every class of a file of hundreds)."""
        if self._mentions is None:
            self._mentions = [(stmt, frozenset(identifiers(stmt))) for stmt in self.body]
        return self._mentions

    def loc(self, slot: int | None) -> Loc | None:
        if slot is None:
            return None
        found: Any = self._locs.get(slot, MISSING)
        if found is MISSING:
            found = None
            if self.spans is None:
                if self.locator is not None:
                    found = SlotLoc(self.path, slot, self.locator)
            elif slot < len(self.spans):
                line, col, end_line, end_col = self.spans[slot]
                found = Loc(self.path, line, col, end_line, end_col) if line else None
            self._locs[slot] = found
        return found


def clone(value: Any) -> Any:
    """Copy the mutable containers a branch may change, so the other branch does not see it."""
    if type(value) is list:
        return [clone(x) for x in value]
    if type(value) is dict:
        return {k: clone(x) for k, x in value.items()}
    return value


def safe_size(op: str, a: Any, b: Any) -> bool:
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


# Caches keyed by the id of a piece of lowered code, each holding that code to check the id:
# they last one run (`forget_run_caches`), or a process that lints again (a test session, an
# editor's flake8) would keep every file it ever read.
_RUN_CACHES: list[dict[int, Any]] = []


def run_cache() -> dict[int, Any]:
    """A new cache that lasts one run."""
    cache: dict[int, Any] = {}
    _RUN_CACHES.append(cache)
    return cache


def forget_run_caches() -> None:
    for cache in _RUN_CACHES:
        cache.clear()


_NAMES: dict[int, tuple[tuple[Any, ...], frozenset[str]]] = run_cache()


def walk(expr: Any) -> Any:
    """Every tuple of lowered code, the outermost first. An import's names are not
    walked: its (name, alias) pairs would read as nodes (`from hooks import call` holds
    `("call", None)`)."""
    if isinstance(expr, tuple):
        yield expr
        if expr and expr[0] in ("import", "from"):
            return
        for part in expr:
            yield from walk(part)


def identifiers(parts: Any, attributes: bool = False) -> list[str]:
    """The names (and with `attributes`, the attribute names) lowered code mentions, in no
    particular order."""
    found: list[str] = []
    stack: list[Any] = [parts]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        tag = item[0]
        if (tag == "name" and len(item) == 2 or attributes and tag == "attr") \
                and type(item[-1]) is str:
            found.append(item[-1])
            if tag == "name":
                continue
        stack.extend(x for x in item if type(x) is tuple)
    return found


def names_in(stmt: tuple[Any, ...]) -> frozenset[str]:
    """Every local name an `if` statement's branches mention or bind (cached per statement:
    the lowered code lives as long as the run)."""
    found = _NAMES.get(id(stmt))
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
            if tag == "def" and len(item) == 6 or tag == "class" and len(item) == 7:
                names.add(item[1])
            elif tag == "import":
                names.update(asname or dotted.split(".")[0] for dotted, asname in item[1])
                continue
            elif tag == "from" and len(item) == 4:
                names.update(asname or name for name, asname in item[3])
                continue
        stack.extend(item)
    result = frozenset(names)
    _NAMES[id(stmt)] = (stmt, result)
    return result


def assigned_names(body: tuple[Any, ...]) -> set[str]:
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
            out |= assigned_names(stmt[3]) | assigned_names(stmt[4])
        elif tag in ("if", "while"):
            out |= assigned_names(stmt[2]) | assigned_names(stmt[3])
        elif tag == "with":
            out |= assigned_names(stmt[2])
        elif tag == "try":
            out |= assigned_names(stmt[1]) | assigned_names(stmt[3])
            for handler in stmt[2]:
                out |= assigned_names(handler)
        elif tag == "import":  # `import a.b` binds `a`
            out.update(asname or dotted.split(".")[0] for dotted, asname in stmt[1])
        elif tag == "from":
            out.update(asname or name for name, asname in stmt[3] if name != "*")
    return out


def immutable_const(value: Any) -> bool:
    if value is None or type(value) in (bool, int, float, str):
        return True
    return type(value) is tuple and all(immutable_const(x) for x in value)


def memo_key(fn: v.FuncVal, args: Args) -> tuple[Any, ...] | None:
    """A key for a call on constants alone (no closure, no bound object, no splats)."""
    if fn.bound is not None or fn.closure is not None or args.open_pos or args.open_kw:
        return None
    values = (*args.pos, *args.kw.values())
    if not all(immutable_const(x) for x in values):
        return None
    try:
        return (id(fn.node), id(fn.scope), tuple(args.pos), tuple(sorted(args.kw.items())))
    except TypeError:
        return None


def clone_all(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (clone(x) if type(x) in (list, dict) else x) for k, x in values.items()}


def const_equal(a: Any, b: Any) -> bool:
    return v.is_const(a) and v.is_const(b) and type(a) is type(b) and a == b


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
    if expr[0] == "const":
        return repr(expr[1])
    return "(...)"


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


def counter_targets(body: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The names and `obj.attr` targets (obj a plain name) a block assigns or updates,
    nested blocks included (not the functions it defines)."""
    out: list[tuple[Any, ...]] = []
    stack: list[Any] = list(body)
    while stack:
        stmt = stack.pop()
        if type(stmt) is not tuple or not stmt:
            continue
        tag = stmt[0]
        if tag in ("assign", "augassign"):
            for target in (stmt[1] if tag == "assign" else (stmt[1],)):
                if target[0] == "name" or (target[0] == "attr" and target[1][0] == "name"):
                    out.append(target)
        elif tag in ("for", "while", "if", "with", "try"):
            stack.extend(part for part in stmt[1:] if type(part) is tuple)
        elif tag not in ("def", "class") and all(type(x) is tuple for x in stmt):
            stack.extend(stmt)  # a block, or a try's handlers
    return out
