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

from dataclasses import replace
from typing import Any, Callable, Iterable

from cnnlint import ir
from cnnlint.extract import branches, configs, expressions, imports, torchnn
from cnnlint.extract import values as v
from cnnlint.extract.builtins import (
    BUILTINS, container_method, dict_method, list_method, str_method,
)
from cnnlint.extract.memo import (
    Built, ConstructionMemo, ForwardMemo, builder_key, fresh, lists_in, module_tables,
    tables_within, unchanged,
)
from cnnlint.extract.journal import Journal
from cnnlint.extract.modules import ProjectModules
from cnnlint.extract.frames import (
    BREAK, COMPUTE_PROBE, CONTINUE, MAX_CALL_DEPTH, MAX_LOOP, MAX_RECURSION, MAX_STEPS, MISSING,
    NORMAL, RETURN, Args, FileScope, Frame, TooComplex, assigned_names, describe,
    immutable_const, memo_key, names_in, tensors_in,
)
from cnnlint.extract.torchnn import TENSOR_INIT_METHODS, Found, kinds_named
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc

# Re-exported: the model and training readers import these from here.
__all__ = ["Args", "FileScope", "Frame", "Interp", "TooComplex", "describe", "tensors_in"]

# What a tensor of random numbers tells of itself rather than being one (see values.Noise).
_NOISE_FACTS = frozenset({"size", "dim", "numel", "item", "tolist", "sum", "mean"})
_EXIT_NAMES = frozenset(call[-1] for call in branches.EXITS)  # a cheap test before EXITS


_JUMPS = frozenset({"continue", "break", "return"})
# The arguments of every graph node given none (an addition, a merge): never written to.
NO_ARGS: dict[str, Any] = {}


class Interp:
    """Interprets the files of one run. One instance per run; `new_graph` per model."""

    def __init__(self, scopes: Iterable[FileScope], modules: ProjectModules | None = None
                 ) -> None:
        self.scopes = {s.path: s for s in scopes}
        # Imports resolve on disk, as Python would, whatever subset of the project the run
        # names; files nobody named are read when first imported.
        self.modules = modules or ProjectModules.of_files(list(self.scopes))
        for scope in self.scopes.values():
            self.modules.register(scope)
        self.start_graph()
        self.made_keys: set[str] = set()  # factories the model being read was built with
        self.unresolved: list[str] = []
        self.paths: dict[int, str] = {}
        # Whether a module of the model being read is held at two places (a stage's units
        # sharing one convolution): the forward memo then tells blocks apart by it.
        self.shares = False
        self.undecided = 0  # how many undecided `if`s the code being read is inside
        self.inits: list[ir.WeightInit] = []
        self.current_call: tuple[tuple[Any, ...], Frame] | None = None
        # Names each module class registers as buffers (id of the class -> names): a fixed
        # filter (`register_buffer("filt", blur)`) is no weight. Kept for the whole run, as
        # a block copied from an earlier build does not register them again.
        self.buffers: dict[int, set[str]] = {}
        self.built = 0  # layers, modules and graph nodes made so far (see `_for`)
        # Lists whose items from some index on sit at positions that are a guess, as they
        # come after a loop read once for an unknown number of passes: id -> (list, index).
        self.guessed: dict[int, tuple[list[Any], int]] = {}
        # The containers written (by id) while a loop over unknown values is read, innermost
        # loop last: whether such a loop only computed values of its own (see `_for`).
        self.writes: list[set[int]] = []
        self.active: dict[int, int] = {}  # id(function body) -> calls of it under way
        # The function calls under way, outermost first, each numbered in the order they
        # began (0: the module's own code): which call did something, and whether it still
        # runs.
        self.calls: list[int] = [0]
        self.calls_begun = 0
        # Pure computations: (function body, constant arguments) -> constant result.
        self.memo: dict[tuple[Any, ...], tuple[Any, int, int]] = {}  # (result, steps, depth)
        # Module constructions with constant arguments, and forward passes of blocks of the
        # same structure, reused across the models of a run (see memo.py).
        self.constructions = ConstructionMemo()
        self.forwards = ForwardMemo()
        self.prints: dict[int, Any] = {}  # structure fingerprints, per model
        self.owners: dict[int, int] = {}  # id of a copied object -> id of the copy's root
        self.at_path: dict[str, Any] = {}  # path in the model -> the module there
        # The modules whose constructor an assertion or a missing key stopped, by id: why.
        self.stopped_inits: dict[int, str] = {}
        # Instances of project subclasses of a torch layer, by id: the layer kind and the
        # arguments their `super().__init__(...)` gave it.
        self.layer_inits: dict[int, tuple[str, Args]] = {}
        self.mutations = 0  # writes into modules (a forward that makes any is not reused)
        # Of those, the ones that may change what a module holds (not a read of its weights,
        # `self.front.state_dict()`, which a loop copying pretrained weights makes).
        self.module_writes = 0
        self.steps = 0
        self.shared_load_steps = 0  # the budget module levels of plain Python share (`load`)
        self.depth = 0
        self.deepest = 0  # the deepest call nesting reached (a memo hit must fit the same)
        self.noted: list[str] = []
        self.generators: dict[int, tuple[tuple[Any, ...], bool]] = {}  # def node -> yields?
        # (table, key, old value) of each write to undo: see write_config, forget_entries
        self.config_writes: list[tuple[dict[Any, Any], Any, Any]] = []
        self.loading = 0  # module levels being run (their writes are defaults)
        # The lists, dicts and sets loaded modules hold (see memo.module_tables), by id; the
        # writes into them since the model or pass began, and those the loading of a
        # script no project file imports makes (see `wrote`, `imports.load`).
        self.module_table_ids: set[int] = set()
        self.journal = Journal()
        self.load_journal: Journal | None = None
        # What loading an imported module wrote into other modules' tables, in load order
        # (a module setting `cfg.lr` on a configuration another holds): see `start_from`.
        self.load_effects: list[tuple[str, Journal]] = []
        # Writes into module tables since the last restore, and restores so far: a reuse key
        # made after such a write holds both (see `in_state`).
        self.state_writes = 0
        self.restores = 0
        self._eval: dict[str, Callable[[tuple[Any, ...], Frame], Any]] = {
            "name": lambda e, f: self.lookup(e[1], f),
            "attr": lambda e, f: self.getattr(self.eval(e[1], f), e[2]),
            "const": lambda e, f: e[1],
            "fstr": lambda e, f: expressions.fstr(self, e, f),
            "yield": self._yield,
            "call": self._call_expr,
            "list": lambda e, f: expressions.elements(self, e[1], f),
            "tuple": lambda e, f: tuple(expressions.elements(self, e[1], f)),
            "set": lambda e, f: UNKNOWN,
            "dict": lambda e, f: expressions.dict_display(self, e, f),
            "binop": lambda e, f: self.binop(e[1], self.eval(e[2], f), self.eval(e[3], f)),
            "unary": lambda e, f: expressions.unary(self, e, f),
            "boolop": lambda e, f: expressions.boolop(self, e, f),
            "compare": lambda e, f: expressions.compare_chain(self, e, f),
            "sub": self._sub_expr,
            "slice": lambda e, f: slice(*(self.eval(x, f) for x in e[1:])),
            "ifexp": lambda e, f: expressions.ifexp(self, e, f),
            "comp": lambda e, f: expressions.comprehension(self, e, f),
            "dictcomp": lambda e, f: expressions.dict_comprehension(self, e, f),
            "lambda": lambda e, f: v.FuncVal(
                "<lambda>", f.scope, ("def", "<lambda>", e[1], (("return", e[2], None),), (),
                                      None), closure=f.locals, owner=f.owner),
            "walrus": lambda e, f: expressions.walrus(self, e, f),
            "?": lambda e, f: UNKNOWN,
        }
        self._exec = self.statement_table()

    def statement_table(self) -> dict[str, Callable[[tuple[Any, ...], Frame], Any]]:
        """Statement handlers by tag, bound to this interpreter's current methods."""
        return {
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
            "import": lambda e, f: imports.import_statement(self, e, f),
            "from": lambda e, f: imports.from_statement(self, e, f),
            "break": lambda s, f: BREAK,
            "continue": lambda s, f: CONTINUE,
            "raise": lambda s, f: RETURN,
            "assert": self._assert,
            "del": self._del,
            "global": self._global,
        }

    # --- bookkeeping ---------------------------------------------------------------------

    def note(self, message: str) -> None:
        self.noted.append(message)  # every attempt, for constructions replayed from the memo
        if message not in self.unresolved:
            self.unresolved.append(message)

    def changed(self, module: Any, write: bool = True) -> None:
        """A module was written to (or, `write` False, one of its methods that only reads
        was called): forward passes that do are not reused, and the fingerprints of it and
        of the copy it belongs to are stale."""
        self.mutations += 1
        self.module_writes += write
        if self.prints:
            self.prints.pop(id(module), None)
            root = self.owners.get(id(module))
            if root is not None:
                self.prints.pop(root, None)

    def reuse(self, hit: Built) -> Any:
        """A fresh copy of a kept construction, replaying what building it did besides
        building: its steps, notes and weight initialisations."""
        self.charge(hit.steps)
        self.built += hit.built
        for message in hit.notes:
            self.note(message)
        self.inits.extend(hit.inits)
        return fresh(hit, self.prints, self.owners)

    def affords(self, steps: int) -> bool:
        """Whether `steps` more fit the budget. A reuse that would not fit is read instead:
        reading stops where the budget runs out, mid-block, and so must the reuse."""
        return self.steps + steps <= MAX_STEPS

    def charge(self, steps: int) -> None:
        """Count steps a reused result took to compute: the budget is the same either way."""
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise TooComplex()

    def construction_memo(self) -> ConstructionMemo | None:
        """Where module constructions are reused (None: not here)."""
        return self.constructions

    def forward_memo(self) -> ForwardMemo | None:
        """Where forward passes are reused (None: not here)."""
        return self.forwards

    def side_effects(self) -> Any:
        """A mark of what a construction may change besides what it builds (see memo.py)."""
        return len(self.graph)

    def file_bases(self) -> list[str]:
        """Where a relative file path may start: the project root first."""
        project = self.modules.project
        return [project.root] if project.root else list(project.folders[:1])

    def tracking_writes(self, run: Callable[[], Any]) -> tuple[Any, set[int]]:
        """`run()`'s result and the ids of the lists, dicts and other containers it wrote to
        (also counted for any tracking around this one)."""
        self.writes.append(set())
        try:
            result = run()
        finally:
            written = self.writes.pop()
            if self.writes:
                self.writes[-1] |= written
        return result, written

    def writes_module_table(self, written: set[int]) -> bool:
        """Whether any of these containers (by id) is a table a loaded module holds."""
        return not written.isdisjoint(self.module_table_ids)

    def loaded(self, scope: FileScope) -> None:
        """A module's level has run: what its tables hold now is where every model and
        training pass starts from."""
        self.module_table_ids |= module_tables(scope)

    def wrote(self, container: Any, *stored: Any) -> None:
        """A list, dict or other container is about to be written to (see `writes`), with
        `stored` going into it. A write into a value not known changes nothing the reader
        knows. The first write into a table a module holds, after loading, keeps its
        content, put back before the next model or pass: a model's code that fills a
        module-level cache or counts its instances must not change how the next model reads
        (whichever models a run reads, in whatever order). A table stored into one becomes
        one of them (a new list under a key of a module-level dict, appended to later)."""
        if container is UNKNOWN:
            return
        key = id(container)
        if self.writes:
            self.writes[-1].add(key)
        if key not in self.module_table_ids:
            return
        # (What loading writes is module state, but for a script's own actions: see
        # `imports.load`.)
        journal = self.load_journal if self.loading else self.journal
        if stored:
            new = tables_within(stored) - self.module_table_ids
            self.module_table_ids |= new
            if journal is not None:
                journal.adopted |= new
        if not self.loading:
            self.state_writes += 1
        if journal is not None and not (
                journal is self.journal and type(container) is v.ConfigNode):
            journal.keep(container)  # (a model's or pass's config writes: by key, below)

    def write_config(self, node: v.ConfigNode, key: Any, value: Any) -> None:
        """A write into a configuration tree. Module loading sets its defaults; any later
        write (a model's constructor, a script's merge) is undone before the next model or
        pass, so that each starts from the defaults."""
        self.wrote(node)
        if not self.loading:
            self.config_writes.append((node, key, node.get(key, MISSING)))
        node[key] = value

    def forget_entries(self, table: dict[Any, Any]) -> None:
        """A write under a key the reader does not know (`cfg[key] = value` over the entries
        of a file) may replace any entry: none is known after it, but the modules it holds
        (a table of layers named at run time keeps its layers). Undone like a config write."""
        for key, old in list(table.items()):
            if old is UNKNOWN or isinstance(old, v.MODULE_VALUES):
                continue
            if not self.loading:
                self.config_writes.append((table, key, old))
            table[key] = UNKNOWN

    def undo_writes(self) -> None:
        """Put back the configuration trees and module tables as loading left them."""
        for node, key, old in reversed(self.config_writes):
            if old is MISSING:
                node.pop(key, None)
            else:
                node[key] = old
        self.config_writes = []
        self.journal.put_back(self.module_table_ids)
        if self.state_writes:
            self.state_writes = 0
            self.restores += 1

    def start_from(self, path: str) -> None:
        """The module state a run of the file (absolute path) starts from: what loading
        the modules it does not import, directly or not, wrote into other modules' tables is
        put back (undone with the pass's own writes)."""
        if not self.load_effects:
            return
        imported = self.modules.project.reachable(path)
        for module, journal in reversed(self.load_effects):
            if module not in imported:  # (reuse keys: this is not the state loading left)
                self.state_writes += journal.revert(into=self.journal)

    def in_state(self, key: Any) -> Any:
        """A reuse key (of a construction, a builder call, a forward, a computation) as the
        module state stands: code may read a module's table (`if len(SEEN["calls"]) == 2`)
        that the model or pass being read wrote. Until it writes one, every model and pass
        sees the state loading left, and keys are shared by all of them."""
        if key is None or not self.state_writes:
            return key
        return (key, self.restores, self.state_writes)

    def reset(self) -> None:
        self.undo_writes()
        self.start_graph()
        self.made_keys = set()
        self.unresolved = []
        self.paths = {}
        self.shares = False
        self.inits = []
        self.active = {}
        self.calls = [0]
        self.steps = 0
        self.depth = 0
        self.deepest = 0
        self.noted = []
        self.prints = {}
        self.owners = {}
        self.at_path = {}
        self.stopped_inits = {}
        self.layer_inits = {}

    def start_graph(self) -> None:
        self.graph: list[ir.Node] = []
        self.made: dict[tuple[Any, ...], int] = {}
        self.within = ""  # the path of the module whose forward runs (see ir.Node.within)
        # Tensors known as statistics of another (see statistics.py), by id.
        self.statistics: dict[int, tuple[v.Tensor, int, str]] = {}

    def add_node(self, kind: str, inputs: Iterable[v.Tensor], name: str = "", owner: str = "",
                 args: dict[str, Any] | None = None, loc: Loc | None = None,
                 functional: bool = False) -> v.Tensor:
        """A node of the graph. The same layer (or call site) applied to the same inputs is
        the same node: both ways of an undecided `if` that call `self.conv(x)` share it, so
        its layers are counted once."""
        return v.Tensor(self.add_node_on(kind, tuple([t.node for t in inputs]), name, owner,
                                         args, loc, functional))

    def add_node_on(self, kind: str, sources: tuple[int, ...], name: str, owner: str,
                    args: dict[str, Any] | None, loc: Loc | None, functional: bool,
                    within: str | None = None) -> int:
        """`add_node` over the ids of the input nodes; the new (or shared) node's id. A
        replayed forward pass adds its nodes through this, without tensor objects, each
        functional call with the path of the module it was made in (`within`)."""
        if within is None:
            within = self.within if functional else ""
        if args is None:
            # One table for every node given none: a replayed forward passes the table the
            # recorded node holds, and must find the nodes a first reading shares.
            args = NO_ARGS
        # Calls the reader does not know, and nodes without a name or place, may differ.
        shared = bool(sources) and kind != ir.UNKNOWN and bool(name or loc)
        if shared:
            key = (kind, sources, name, owner, loc, within if functional else id(args))
            found = self.made.get(key)
            if found is not None:
                return found
        self.built += 1
        # (A layer's node holds its arguments' table itself, also an empty one: a replay
        # checks by it which layer made the node.)
        node = ir.Node(len(self.graph), kind, sources, name, owner, args, loc, functional,
                       within)
        self.graph.append(node)
        if shared:
            self.made[key] = node.id
        return node.id

    # --- modules and imports -------------------------------------------------------------

    def lookup(self, name: str, f: Frame) -> Any:
        found = f.locals.get(name, MISSING)
        if found is not MISSING:
            return found
        if f.closure is not None:
            found = f.closure.get(name, MISSING)
            if found is not MISSING:
                return found
        found = f.scope.globals.get(name, MISSING)
        if found is not MISSING:
            return found
        if name in BUILTINS:
            return v.Builtin(name)
        return UNKNOWN

    # --- statements ----------------------------------------------------------------------

    def exec_block(self, body: tuple[Any, ...], f: Frame) -> Any:
        for stmt in body:
            status = self.exec_stmt(stmt, f)
            if status is not NORMAL:
                return status
        return NORMAL

    def exec_stmt(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooComplex()
        tag = stmt[0]
        if tag == "expr":  # the commonest statement, inline
            e = stmt[1]
            if e[0] == "call" and type(e[1][-1]) is str and e[1][-1] in _EXIT_NAMES \
                    and e[1] in branches.EXITS:
                return RETURN  # `exit()`, `sys.exit(0)`: nothing after it runs
            self.eval(e, f)
            return NORMAL
        handler = self._exec.get(tag)
        return handler(stmt, f) if handler is not None else NORMAL

    def _expr_stmt(self, stmt: tuple[Any, ...], f: Frame) -> None:
        self.eval(stmt[1], f)

    def _assert(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        """A constructor's assertion its arguments fail stops it, as a `raise` does: a model
        whose defaults fail it is not built from them. Elsewhere an assertion is about state
        the reader may not track (weights a forward assigns at run time): not judged."""
        if f.function == "__init__" and self.truth(self.eval(stmt[1], f)) is False:
            self.stopped_inits[id(f.self_obj)] = "fail an assertion of its constructor"
            return RETURN
        return NORMAL

    def _sub_expr(self, e: tuple[Any, ...], f: Frame) -> Any:
        obj, key = self.eval(e[1], f), self.eval(e[2], f)
        if type(obj) is dict and not obj and f.function == "__init__" and v.is_key(key):
            # `kwargs["in_ch"]` in a constructor given no keywords raises KeyError: like a
            # failed assertion, it stops the build (a model is not built from such defaults).
            self.stopped_inits[id(f.self_obj)] = "lack a keyword its constructor reads"
        return self.subscript(obj, key)

    def _assign(self, stmt: tuple[Any, ...], f: Frame) -> None:
        value = self.eval(stmt[2], f)
        for target in stmt[1]:
            self.assign(target, value, f)

    def _augassign(self, stmt: tuple[Any, ...], f: Frame) -> None:
        target, op = stmt[1], stmt[2]
        current = self.eval(target, f)
        value = self.eval(stmt[3], f)
        if type(current) is list and op == "+":
            self.wrote(current, value)
            items = self.iterate(value)
            if items is None:
                self.note("list extended with unknown items")
                current.append(UNKNOWN)
                self.mark_guessed(current, len(current))
                return
            guess = self.guessed_from(value)
            if guess is not None:
                self.mark_guessed(current, len(current) + guess)
            current.extend(items)  # in place, as Python does
            return
        if type(current) is v.ListSpec and op == "+":  # `self.heads += [...]`, in place
            items = self.iterate(value)
            if items is None:
                self.note("a ModuleList is extended with values that are not known")
            else:
                current.children.extend(items)
            return
        result = self.binop(op, current, value)
        if target[0] == "sub" and isinstance(current, v.Tensor) and isinstance(result, v.Tensor) \
                and isinstance(self.eval(target[1], f), v.Tensor) \
                and type(self.eval(target[2], f)) is not str:  # a param group's ["lr"]
            # `y[:, :c] += x`: part of the tensor updated in place (a residual added onto
            # the first channels). What is held in `y` now comes through the update.
            self.assign(target[1], result, f)
            return
        self.assign(target, result, f)

    def _return(self, stmt: tuple[Any, ...], f: Frame) -> str:
        f.returns.append(self.eval(stmt[1], f))
        return RETURN

    def _del(self, stmt: tuple[Any, ...], f: Frame) -> None:
        """`del table[key]` (a dict being emptied in a loop), `del name`."""
        targets = stmt[1][1] if stmt[1][0] == "tuple" else (stmt[1],)
        for target in targets:
            if target[0] == "name":
                f.locals.pop(target[1], None)
            elif target[0] == "attr":  # `del model.fc`: the layer is no longer a part
                obj = self.eval(target[1], f)
                if isinstance(obj, v.Instance):
                    self.changed(obj)
                    obj.attrs.pop(target[2], None)
            elif target[0] == "sub":
                table, key = self.eval(target[1], f), self.eval(target[2], f)
                self.wrote(table)
                if type(table) is dict and v.is_key(key):
                    table.pop(key, None)
                elif type(table) in (dict, list):
                    self.note("an item is deleted under a key that is not known")

    def _global(self, stmt: tuple[Any, ...], f: Frame) -> None:
        f.declared = f.declared | frozenset(stmt[1])

    def assign(self, target: tuple[Any, ...], value: Any, f: Frame) -> None:
        tag = target[0]
        if tag == "name":
            if f.declared and target[1] in f.declared:
                self.wrote(f.scope.globals, value)
                f.scope.globals[target[1]] = value
            else:
                f.locals[target[1]] = value
        elif tag == "attr":
            obj = self.eval(target[1], f)
            if isinstance(obj, v.Instance):
                self.changed(obj)
                self.wrote(obj.attrs, value)
                obj.attrs[target[2]] = value
            elif isinstance(obj, v.ClassVal):
                self.wrote(obj.namespace, value)
                obj.namespace[target[2]] = value
            elif isinstance(obj, v.ModuleVal) and obj.scope is not None:
                # `config.LR = args.lr`: what the module's name reads from now on (and what
                # a later `from config import LR` takes), in this run only (see `wrote`).
                self.wrote(obj.scope.globals, value)
                obj.scope.globals[target[2]] = value
            elif type(obj) is v.ConfigNode:
                self.write_config(obj, target[2], value)
            elif type(obj) is v.Opaque and obj.head and obj.head == target[2] \
                    and isinstance(value, v.MODULE_VALUES):
                obj.new_head = value  # `model.fc = nn.Sequential(...)`: what it outputs
        elif tag == "sub":
            obj = self.eval(target[1], f)
            key = self.eval(target[2], f)
            self.wrote(obj, value)
            if type(obj) in v.MODULE_KINDS:
                self.changed(obj)
            if type(obj) is dict and v.is_key(key):
                obj[key] = value
            elif type(obj) is v.ConfigNode and v.is_key(key):
                self.write_config(obj, key, value)
            elif type(obj) in (dict, v.ConfigNode) or (
                    type(obj) is v.Instance and not self.is_module_class(obj.cls)):
                # `opts[k] = v` for each entry of a file: any entry may now hold anything.
                self.forget_entries(obj.attrs if type(obj) is v.Instance else obj)
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
            if not stmt[3] and len(stmt[2]) == 1 and stmt[2][0][0] in _JUMPS \
                    and (stmt[2][0][0] != "return" or stmt[2][0][1] is None):
                # `if classname.find("Conv") != -1: continue` (or `return`): what follows
                # is done to the other modules, some of them.
                for name, x in list(f.locals.items()):
                    if x is value.module:
                        f.locals[name] = replace(x, some=True)
                return NORMAL
            return self.both_ways(lambda: self._narrowed(value, stmt[2], f),
                                  lambda: self.exec_block(stmt[3], f), f)
        test = self.truth(value)
        if test is True:
            return self.exec_block(stmt[2], f)
        if test is False:
            return self.exec_block(stmt[3], f)
        # Each module a loop or `apply` visits, tested on something the reader cannot
        # decide: either side sees only some of them.
        each = {name: x for name, x in f.locals.items()
                if type(x) is v.EachModule and x.kinds is None and not x.some}
        for name, x in each.items():
            f.locals[name] = replace(x, some=True)
        try:
            return self.both_ways(lambda: self.exec_block(stmt[2], f),
                                  lambda: self.exec_block(stmt[3], f), f, names_in(stmt))
        finally:
            for name, x in each.items():
                if type(f.locals.get(name)) is v.EachModule and f.locals[name].some:
                    f.locals[name] = x

    def _narrowed(self, narrowing: v.Narrowing, body: tuple[Any, ...], f: Frame) -> Any:
        """Run the body of `if isinstance(m, Kind):` with `m` narrowed to those kinds."""
        narrow = v.EachModule(narrowing.kinds, narrowing.module.of)
        for name, value in list(f.locals.items()):
            if value is narrowing.module:
                f.locals[name] = narrow
        return self.exec_block(body, f)

    def _for(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        _, target, iter_expr, body, orelse, _slot = stmt
        value = self.eval(iter_expr, f)
        items = self.iterate(value)
        loop = self.loop_started(stmt, value, items, f)
        if items is None and loop is None and type(value) is v.Tensor:
            # `for view in x:` in a model's forward: each slice comes from the same tensor,
            # and the layers a pass applies serve every slice: one pass stands for all.
            items = [value]
        try:
            if items is None:
                return self._unknown_passes(target, body, f, judged=loop is None)
            if len(items) > MAX_LOOP:
                self.note("a loop is too long to unroll")
                items = items[:MAX_LOOP]
                lists = _lists_of(f)
                try:
                    return self._unrolled(loop, target, items, body, orelse, f)
                finally:
                    self._positions_guessed(lists, f)
            return self._unrolled(loop, target, items, body, orelse, f)
        finally:
            self.loop_finished(loop)

    def _unknown_passes(self, target: tuple[Any, ...], body: tuple[Any, ...], f: Frame,
                        judged: bool) -> Any:
        """A loop over values that are not known, read for one pass. When `judged` (the
        model reader's loops; the training reader keeps its own account of loops): a loop
        that only computes values (offset tables, a copy of pretrained weights into a state
        dict) leaves the network whole, and what it assigned, and the local lists and dicts
        it wrote, are unknown after it; one that builds or changes anything else leaves the
        network partly read, since other passes may build more."""
        start = (self.built, len(self.inits), self.module_writes, len(f.returns))
        self.assign(target, self.unknown_item(), f)
        lists = _lists_of(f)
        status, written = self.tracking_writes(lambda: self.exec_block(body, f))
        self._positions_guessed(lists, f)
        if not judged:
            return RETURN if status == RETURN else NORMAL
        containers = {id(value): name for name, value in f.locals.items()
                      if type(value) in (list, dict)}
        if status != RETURN and start == (self.built, len(self.inits), self.module_writes,
                                          len(f.returns)) \
                and all(i in containers for i in written):
            for name in assigned_names(body) | {containers[i] for i in written}:
                self.assign(("name", name), UNKNOWN, f)
            return NORMAL
        self.note("a loop runs over values that are not known")
        return RETURN if status == RETURN else NORMAL

    def _unrolled(self, loop: Any, target: tuple[Any, ...], items: list[Any],
                  body: tuple[Any, ...], orelse: tuple[Any, ...], f: Frame) -> Any:
        """Run a loop's passes over known items."""
        built, inits = self.built, len(self.inits)
        for index, item in enumerate(items):
            if index == COMPUTE_PROBE and self.built == built and len(self.inits) == inits:
                # Many passes and not one layer (nor one weight initialised): this loop
                # computes numbers (filter coefficients, tables), it does not build the
                # network. Stop, and let what it assigns be unknown rather than
                # half-computed.
                self.note("a long loop computes values; they are left unknown")
                for name in assigned_names(body):
                    f.locals[name] = UNKNOWN
                return NORMAL
            self.loop_pass(loop, index, body, f)
            self.assign(target, self.loop_item(loop, index, item), f)
            status = self.exec_block(body, f)
            if status == BREAK:
                return NORMAL
            if status == RETURN:
                return RETURN
            if not self.loop_continues(loop, index):
                return NORMAL
        return self.exec_block(orelse, f)

    # Hooks for the training reader: how a loop is run (the model reader unrolls them all).
    def loop_started(self, stmt: tuple[Any, ...], value: Any, items: list[Any] | None,
                     f: Frame) -> Any:
        return None

    def loop_continues(self, loop: Any, index: int) -> bool:
        return True

    def loop_item(self, loop: Any, index: int, item: Any) -> Any:
        """The value a loop binds on its `index`-th pass (the model reader: the item)."""
        return item

    def loop_pass(self, loop: Any, index: int, body: tuple[Any, ...], f: Frame) -> None:
        """Before the `index`-th pass of a loop (the model reader: nothing to do)."""

    def unknown_item(self) -> Any:
        """What a loop over unknown values binds its target to."""
        return UNKNOWN

    def loop_finished(self, loop: Any) -> None:
        return None

    def over_unknown_items(self, evaluate: Any) -> None:
        """A comprehension's element, evaluated once for items that are not known."""
        evaluate()

    def _positions_guessed(self, before: dict[str, tuple[int, int]], f: Frame) -> None:
        """After a loop read for a guessed number of passes: what a local list that the loop
        grew holds next sits at guessed positions."""
        for name, value in f.locals.items():
            if type(value) is list and name in before and before[name] != (id(value),
                                                                          len(value)):
                self.mark_guessed(value, len(value))

    def mark_guessed(self, items: list[Any], start: int) -> None:
        known = self.guessed.get(id(items))
        if known is None or known[0] is not items or known[1] > start:
            self.guessed[id(items)] = (items, start)

    def guessed_from(self, items: Any) -> int | None:
        """The first position of `items` that is a guess; None when all are known."""
        known = self.guessed.get(id(items))
        return known[1] if known is not None and known[0] is items else None

    def _while(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        self.note("a `while` loop is read as running once")
        lists = _lists_of(f)
        status = self.exec_block(stmt[2], f)
        self._positions_guessed(lists, f)
        return RETURN if status == RETURN else NORMAL

    def _with(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        for expr, target in stmt[1]:
            value = self.eval(expr, f)
            if target is not None:
                self.assign(target, value if isinstance(value, (v.Tensor, v.FilePath))
                            else UNKNOWN, f)
        return self.exec_block(stmt[2], f)

    def _try(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        status = self.exec_block(stmt[1], f)
        if status == NORMAL:
            status = self.exec_block(stmt[3], f)
        final = self.exec_block(stmt[4], f)
        return final if final is not NORMAL else status

    def _def(self, stmt: tuple[Any, ...], f: Frame) -> None:
        closure = None if f.locals is f.scope.globals else f.locals
        f.locals[stmt[1]] = v.FuncVal(stmt[1], f.scope, stmt, closure=closure,
                                      owner=f.owner if closure is not None else stmt[1])

    def _class(self, stmt: tuple[Any, ...], f: Frame) -> None:
        _, name, bases, _kwargs, body, _slot, _decorators = stmt
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
            found = f.locals.get(name, MISSING)
            if found is not MISSING:
                return found
            return self.lookup(name, f)
        if tag == "const":
            return e[1]
        if tag == "attr":
            return self.getattr(self.eval(e[1], f), e[2])
        return self._eval[tag](e, f)

    # --- attributes ----------------------------------------------------------------------

    def getattr(self, obj: Any, name: str) -> Any:
        kind = type(obj)
        if kind is v.ConfigNode:
            return configs.attribute(obj, name)
        if kind is v.FilePath:
            return configs.path_attribute(obj, name)
        if kind is v.Instance:
            found = obj.attrs.get(name, MISSING)
            if found is not MISSING:
                return found
        elif kind is v.Ref:
            last = obj.qualname.rpartition(".")[2]
            if name == "__name__" and last[:1].isupper():  # a library class: `nn.Conv2d`
                return last
            return v.Ref(f"{obj.qualname}.{name}")
        if isinstance(obj, v.ModuleVal):
            return self.module_attr(obj, name)
        if isinstance(obj, v.Instance):
            if name in obj.attrs:
                return obj.attrs[name]
            member = obj.cls.lookup(name)
            if isinstance(member, v.FuncVal):
                if member.decorated("staticmethod"):
                    return member
                if member.decorated("property"):  # `self.config` runs its getter
                    return self.call_function(replace(member, bound=obj), Args())
                return replace(member, bound=obj.cls if member.decorated("classmethod") else obj)
            if member is not None:
                return member
            if name == "_modules" and self.is_module_class(obj.cls):
                return dict(self.children(obj))  # `self._modules["b1_" + str(level)](x)`
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.ClassVal):
            member = obj.lookup(name)
            if isinstance(member, v.FuncVal) and member.decorated("classmethod"):
                return replace(member, bound=obj)
            if member is None and name == "__name__":
                return obj.name  # `"{}_{}".format(block.__name__, i)`
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
            if name in ("parameters", "named_parameters") and obj.of is not None \
                    or name in ("eval", "train"):  # `m.eval()` on each BatchNorm: freezing
                return v.BoundMethod(obj, name)
            if name == "__class__":
                return obj
            if name == "__name__":
                return v.ClassNameOf(obj)
            return UNKNOWN
        if isinstance(obj, v.ClassNameOf):
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.ParamRef):
            if name == "grad":
                return v.GradOf(obj)
            return obj if name == "data" else v.BoundMethod(obj, name)
        if isinstance(obj, v.GradOf):
            return obj if name == "data" else v.BoundMethod(obj, name)
        if obj is v.NOISE:
            return obj if name == "data" else UNKNOWN if name in ("shape", "dtype", "device") \
                else v.BoundMethod(obj, name)
        if isinstance(obj, (list, dict, str, v.SeqSpec, v.ListSpec, v.DictSpec)) or (
                kind in (int, float) and name in ("item", "tolist")):
            return v.BoundMethod(obj, name)
        return UNKNOWN

    # --- calls ---------------------------------------------------------------------------

    def _call_expr(self, e: tuple[Any, ...], f: Frame) -> Any:
        func = self.eval(e[1], f)
        args = Args()
        for a in e[2]:
            if a[0] == "*":
                given = self.eval(a[1], f)
                items = self.iterate(given)
                if items is None:
                    args.open_pos = True
                else:
                    guess = self.guessed_from(given)
                    if guess is not None and args.guessed_from is None:
                        args.guessed_from = len(args.pos) + guess
                    args.pos.extend(items)
            else:
                args.pos.append(self.eval(a, f))
        for key, value_expr in e[3]:
            value = self.eval(value_expr, f)
            if key is not None:
                args.kw[key] = value
            elif type(value) in (dict, v.ConfigNode) and all(type(k) is str for k in value):
                args.kw.update(value)
                args.spread = True
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
            result = self.call_function(func, args)
            if type(result) is v.Instance:  # the factories (and classes) its build used
                self.made_keys.add(ir.model_key(func.scope.module, func.name))
                self.made_keys.add(ir.model_key(result.cls.scope.module, result.cls.name))
            elif type(result) is v.SeqSpec and func.scope is not None:
                self.made_keys.add(ir.model_key(func.scope.module, func.name))
            return result
        if kind is v.Ref:
            return self.call_ref(func.qualname, args, f, loc)
        if kind is v.ClassVal:
            return self.instantiate(func, args, f, loc)
        if kind is v.PartialVal:
            return self.call(func.func, Args([*func.pos, *args.pos], {**func.kw, **args.kw},
                                             args.open_pos, args.open_kw), f, loc, func_expr)
        if kind is v.Builtin:
            if func.name == "super":
                return v.SuperVal(f.self_obj, f.cls) if f.cls is not None else UNKNOWN
            try:
                return BUILTINS[func.name](self, args)
            except (ArithmeticError, ValueError, TypeError, MemoryError):
                return UNKNOWN  # len(range(2**64)), int("x"): Python would raise; we shrug
        if kind is v.Instance and not self.is_module_class(func.cls):
            method = func.cls.lookup("__call__")  # a callable project object (a loss scaler)
            if isinstance(method, v.FuncVal):
                return self.call_function(replace(method, bound=func), args)
        if kind in v.MODULE_KINDS:
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
        call_key = self.in_state(memo_key(fn, args))
        if call_key is not None and call_key in self.memo:
            result, steps, depth = self.memo[call_key]
            if self.depth + depth < MAX_CALL_DEPTH:
                self.charge(steps)
                return result
        if self.active.get(key, 0) >= MAX_RECURSION and (
                args.open_pos or args.open_kw
                or any(x is UNKNOWN for x in (*args.pos, *args.kw.values()))):
            # Recursion whose end depends on values we do not know would branch without end.
            return self.unknown_call(args, f"`{fn.name}` recurses on values that are not known")
        builders = self.construction_memo() if call_key is None and fn.bound is None else None
        if builders is not None:
            return self._build_reused(builders, fn, args)
        return self._run_function(fn, args, call_key)

    def _build_reused(self, memo: ConstructionMemo, fn: v.FuncVal, args: Args) -> Any:
        """A plain function called on constants returns the same modules each time (a
        `conv3x3_block(64, 128)` builder): read once per run and copied (see memo.py)."""
        build = self.in_state(builder_key(fn, args))
        if build is not None:
            hit = memo.get(build, fn.node)
            if hit is not None and self.depth + hit.depth < MAX_CALL_DEPTH \
                    and self.affords(hit.steps):
                return self.reuse(hit)
            if hit is not None or memo.known_unreusable(build):
                build = None
        if build is None:
            return self._run_function(fn, args, None)
        start = (self.steps, self.built, len(self.noted), len(self.inits))
        mark, lists, deepest = self.side_effects(), lists_in(args), self.deepest
        self.deepest = self.depth
        result, written = self.tracking_writes(lambda: self._run_function(fn, args, None))
        used = self.deepest - self.depth + 1
        self.deepest = max(deepest, self.deepest)
        if self.side_effects() != mark or not unchanged(lists) \
                or written and self.writes_module_table(written) \
                or not isinstance(result, (*v.MODULE_VALUES, list, tuple)):
            memo.forget(build)
        else:
            memo.put(build, fn.node, result, steps=self.steps - start[0],
                     built=self.built - start[1], notes=self.noted[start[2]:],
                     inits=self.inits[start[3]:], depth=used)
        return result

    def _run_function(self, fn: v.FuncVal, args: Args, call_key: Any) -> Any:
        key = id(fn.node)
        _, name, params, body, _decorators, _slot = fn.node
        if fn.bound is not None:
            args = Args([fn.bound, *args.pos], args.kw, args.open_pos, args.open_kw)
        frame = Frame(fn.scope, closure=fn.closure, self_obj=fn.bound, cls=fn.cls,
                      owner=fn.owner or name)
        frame.function = name
        self.bind(params, args, frame)
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)
        self.active[key] = self.active.get(key, 0) + 1
        self.calls_begun += 1
        self.calls.append(self.calls_begun)
        built, notes = self.built, len(self.noted)  # every note, even one said before
        effects = self.side_effects()
        steps, deepest, self.deepest = self.steps, self.deepest, self.depth
        generator = self.is_generator(fn.node)
        if generator:
            frame.yields = []
        try:
            self.exec_block(body, frame)
        finally:
            self.depth -= 1
            self.active[key] -= 1
            self.calls.pop()
        result = frame.returns[0] if frame.returns else None
        for other in frame.returns[1:]:
            result = self.merge(result, other)
        if generator:  # read eagerly: what it yields, in order
            result = list(frame.yields) if frame.yields is not None else UNKNOWN
        if type(result) is v.Instance and not result.made_by and fn.bound is None:
            # The factory that built it (`resnet50()` inside a DeepLab): the first one only.
            result.made_by = ir.model_key(fn.scope.module, name)
        used = self.deepest - self.depth + 1  # how deep this call went, from where it ran
        self.deepest = max(deepest, self.deepest)
        if call_key is not None and self.built == built and len(self.noted) == notes \
                and immutable_const(result) and self.side_effects() == effects:
            # It computed a constant and built nothing: its steps are charged on each reuse.
            self.memo[call_key] = (result, self.steps - steps, used)
        return result

    def is_generator(self, node: tuple[Any, ...]) -> bool:
        found = self.generators.get(id(node))
        if found is None or found[0] is not node:  # the node is kept: its id stays its own
            found = self.generators[id(node)] = (node, yields_in(node[3]))
        return found[1]

    def _yield(self, e: tuple[Any, ...], f: Frame) -> Any:
        value = self.eval(e[1], f)
        if f.yields is not None:
            items = self.iterate(value) if e[2] else [value]
            if items is None:
                f.yields = None  # `yield from` something not known
            else:
                f.yields.extend(items)
        return UNKNOWN  # what the caller sends in

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

    # --- torch ---------------------------------------------------------------------------

    def call_method(self, obj: Any, name: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        if isinstance(obj, v.Tensor):
            return torchnn.tensor_method(self, obj, name, args, f, loc)
        if obj is v.NOISE:
            # `eps.cuda()`, `mask.floor_()`, `mask.div(keep)`: still random numbers; its
            # size and the like are not known.
            return v.NOISE if name not in _NOISE_FACTS else UNKNOWN
        if name == "forward" and type(obj) in (v.LayerSpec, v.SeqSpec):
            return self.apply(obj, args, f)  # `self.conv.forward(x)` is `self.conv(x)`
        if name in torchnn.FORWARD_HOOKS and isinstance(obj, (*v.MODULE_KINDS, v.EachModule)):
            return torchnn.forward_hook(self, args)
        if type(obj) in v.MODULE_KINDS:
            # add_module, append, ...: count them all, reads included (as no writes)
            self.changed(obj, write=name not in _MODULE_READS)
        elif name in _CONTAINER_WRITES:
            self.wrote(obj, *args.pos, *args.kw.values())
        if isinstance(obj, v.EachModule) and name in ("parameters", "named_parameters") \
                and obj.of is not None and not args.pos:
            # Each submodule's parameters: some of the module's (for an optimizer's groups).
            return [v.Params(obj.of, named=name == "named_parameters")]
        if isinstance(obj, v.GradOf):  # arithmetic on a gradient: in place, or a new tensor
            return obj if name.endswith("_") else UNKNOWN
        if isinstance(obj, v.ParamRef):
            method = TENSOR_INIT_METHODS.get(name)
            if method is not None:
                self.record_init(obj, method, args, f, loc)
                return obj
            return UNKNOWN
        if isinstance(obj, v.ClassNameOf):
            if name == "find" and args.pos and type(args.pos[0]) is str:
                return Found(obj.module, args.pos[0])
            if name in ("startswith", "endswith", "__contains__") and args.pos \
                    and type(args.pos[0]) is str:
                return v.Narrowing(obj.module, kinds_named(args.pos[0]))
            return UNKNOWN
        if type(obj) in (int, float) and name in ("item", "tolist") and not args.pos:
            return obj  # an element of `torch.linspace(...)` read as numbers
        if type(obj) is v.FilePath:
            if name in configs.PATH_ACTIONS:
                return None  # `path.parent.mkdir(parents=True)`
            if name in configs.PATH_SAME:
                return obj  # `path.open("rt")`, `path.resolve()`: the same file
            return UNKNOWN  # `path.exists()`: not known
        if type(obj) is v.ConfigNode:
            done = configs.method(obj, name, args, self.write_config)
            return dict_method(obj, name, args) if done is configs.ABSENT else done
        if type(obj) is list:
            return list_method(self, obj, name, args)
        if type(obj) is dict:
            return dict_method(obj, name, args)
        if type(obj) is str:
            return str_method(obj, name, args)
        if isinstance(obj, v.SuperVal):
            if name == "__init__":
                torchnn.base_init(self, obj.instance, obj.cls, args)
                return None
            for base in obj.cls.bases:
                member = base.lookup(name) if isinstance(base, v.ClassVal) else None
                if isinstance(member, v.FuncVal):
                    return self.call_function(
                        replace(member, bound=obj.instance), args)
            if name == "forward" and self.container_base(obj.cls) == "Sequential":
                return torchnn.chain(self, torchnn.sequence(self, obj.instance), args, f)
            layer = getattr(obj.instance, "torch_layer", None)
            if name == "forward" and layer is not None:
                # A torch layer's own forward, under the project subclass's name and place.
                return torchnn.apply_torch_layer(self, obj.instance, layer, args)
            return self.unknown_call(args, f"`super().{name}` is not known")
        if isinstance(obj, v.Instance):
            return torchnn.module_method(self, obj, name, args, f)
        if name in torchnn.RETURNS_SELF and type(obj) in v.MODULE_KINDS:
            return obj  # a layer or container moved (`.to(device)`) or switched (`.eval()`)
        if isinstance(obj, (v.SeqSpec, v.ListSpec, v.DictSpec)):
            return container_method(self, obj, name, args)
        return self.unknown_call(args, f"`.{name}()` is not known")

    # --- expressions, branches and imports (see those modules); methods so that the
    # --- training reader can refine them --------------------------------------------------

    def compare(self, op: str, a: Any, b: Any) -> Any:
        return expressions.compare(self, op, a, b)

    def truth(self, value: Any) -> bool | None:
        return expressions.truth(self, value)

    def binop(self, op: str, a: Any, b: Any) -> Any:
        return expressions.binop(self, op, a, b)

    def subscript(self, obj: Any, key: Any) -> Any:
        return expressions.subscript(self, obj, key)

    def iterate(self, value: Any) -> list[Any] | None:
        return expressions.iterate(self, value)

    def count(self, value: Any) -> int | None:
        """`len(value)` when known. Not the length of what `iterate` gives where that is one
        item standing for all (every module of `modules()`)."""
        if type(value) is v.LongRange:
            return value.length
        items = self.iterate(value)
        if items is None or any(x is v.UNKNOWN or type(x) is v.EachModule for x in items):
            return None
        return len(items)

    def both_ways(self, first: Callable[[], Any], second: Callable[[], Any], f: Frame,
              touched: frozenset[str] | None = None) -> Any:
        return branches.both_ways(self, first, second, f, touched)

    def merge(self, a: Any, b: Any, name: str = "") -> Any:
        return branches.merge(self, a, b, name)

    def load(self, scope: FileScope) -> dict[str, Any]:
        return imports.load(self, scope)

    def find_module(self, dotted: str, scope: FileScope, level: int) -> Any:
        return imports.find_module(self, dotted, scope, level)

    def submodule(self, module: v.ModuleVal, name: str) -> Any:
        return imports.submodule(self, module, name)

    def module_attr(self, module: v.ModuleVal, name: str) -> Any:
        return imports.module_attr(self, module, name)

    # --- torch.nn (see torchnn.py); methods so that the training reader can refine them ---

    def instantiate(self, cls: v.ClassVal, args: Args, f: Frame, loc: Loc | None) -> Any:
        return torchnn.instantiate(self, cls, args, f, loc)

    def sequential_home(self, value: Any) -> tuple[FileScope, str] | None:
        """The module and global name a module-level Sequential was built into (`head =
        nn.Sequential(...)` in nets.py), for a name that only refers to it (`model =
        nets.head` in a script): it is one network, known by where it is made."""
        for scope in self.scopes.values():
            for stmt in scope.body:
                if stmt[0] == "assign" and len(stmt[1]) == 1 and stmt[1][0][0] == "name" \
                        and stmt[2][0] not in ("name", "attr") \
                        and scope.globals.get(stmt[1][0][1]) is value:
                    return scope, stmt[1][0][1]
        return None

    def is_module_class(self, cls: Any, seen: frozenset[int] = frozenset()) -> bool:
        return torchnn.is_module_class(self, cls, seen)

    def container_base(self, cls: v.ClassVal, seen: frozenset[int] = frozenset()) -> str | None:
        return torchnn.container_base(self, cls, seen)

    def children(self, inst: v.Instance) -> list[tuple[str, Any]]:
        return torchnn.children(self, inst)

    def call_ref(self, qualname: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        if qualname == "importlib.import_module":
            return imports.import_module_call(self, args, f)
        return torchnn.call_torch(self, qualname, args, f, loc)

    def apply(self, module: Any, args: Args, f: Frame, loc: Loc | None = None) -> Any:
        """Call a module on tensors (its forward)."""
        return torchnn.apply_module(self, module, args, f, loc)

    def record_init(self, param: v.ParamRef, method: str, args: Args, f: Frame,
                    loc: Loc | None) -> None:
        torchnn.record_init(self, param, method, args, f, loc)


def yields_in(body: tuple[Any, ...]) -> bool:
    """Whether a function body yields (outside the functions, classes and lambdas in it)."""
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        if item[0] == "yield":
            return True
        if item[0] not in ("def", "class", "lambda"):
            stack.extend(x for x in item if type(x) is tuple)
    return False


# Module methods that only read what the module holds.
_MODULE_READS = frozenset({"state_dict", "parameters", "named_parameters", "buffers",
                           "named_buffers", "children", "named_children", "modules",
                           "named_modules"})
# Methods that change the list, dict or set they are called on.
_CONTAINER_WRITES = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update",
    "setdefault", "popitem", "add", "discard", "__setitem__", "__delitem__"})


def _lists_of(f: Frame) -> dict[str, tuple[int, int]]:
    """The identity and length of each local list, to see which ones a loop grew."""
    return {name: (id(value), len(value)) for name, value in f.locals.items()
            if type(value) is list}
