"""Per-project reuse of module constructions: a block class built with the same constant
arguments builds the same modules, so it is read once and copied after that.

A model zoo builds the same few blocks hundreds of thousands of times (`ResUnit(64, 64,
stride=1)` in every ResNet variant of every file). Reading each construction once makes the
cost grow with the code, not with the number of models that reuse it.

The reuse must not change any result, whatever was read before: a hit hands back a fresh copy
(callers change what they get), and replays what the construction did besides building: its
interpreter steps (the budget stays the same), its notes and its weight initialisations. A
construction that touched anything else (the dataflow graph, a training pass's record, a list
or dict a module holds at module level or in a class body) is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, FileScope, identifiers, immutable_const, run_cache

_NOT_COPYABLE = object()
UNSEEN = object()  # a forward memo key not met yet


@dataclass
class Built:
    """One construction (or builder call), kept as a template."""

    owner: Any  # the class, or the builder function's code: kept alive, the key holds its id
    template: Any
    steps: int
    built: int
    notes: tuple[str, ...]
    inits: tuple[ir.WeightInit, ...]
    depth: int  # how deep its calls nested
    prints: dict[int, Any] | None = None  # fingerprints of the template's objects, by id


def construction_key(cls: v.ClassVal, args: Args) -> tuple[Any, ...] | None:
    """A key for `cls(*args)` when every argument is a constant or a definition (a class, a
    function, a torch name); None otherwise."""
    parts = _call_key(args)
    return None if parts is None else (id(cls), parts)


def builder_key(fn: v.FuncVal, args: Args) -> tuple[Any, ...] | None:
    """A key for a plain function call (`conv3x3_block(64, 128, stride=2)`), like
    `construction_key`; None for methods and for closures over what cannot be keyed."""
    if fn.bound is not None:
        return None
    free = _arg_key(fn) if fn.closure is not None else ()
    parts = _call_key(args)
    return None if parts is None or free is None else (id(fn.node), id(fn.scope), free, parts)


def _call_key(args: Args) -> tuple[Any, ...] | None:
    """`args_key` for a call, which may also splat what is not known (`Block(**block_args)`
    with a table the reader could not read): the parameters not given by name are then not
    known, the same way at each such call, so the splats are part of the key. (timm's
    EfficientNet builder makes every block so: read once per kind, not once per block.)"""
    parts = args_key(args, open_ok=True)
    return None if parts is None else (*parts, args.open_pos, args.open_kw, args.spread,
                                       args.guessed_from)


def args_key(args: Args, open_ok: bool = False) -> tuple[Any, ...] | None:
    """A key equal for two calls given equal arguments (None when one cannot be keyed, or,
    unless `open_ok`, when a splat passes arguments not known)."""
    if (args.open_pos or args.open_kw) and not open_ok:
        return None
    parts: list[Any] = []
    for value in (*args.pos, None, *(x for kv in sorted(args.kw.items()) for x in kv)):
        part = _arg_key(value)
        if part is None:
            return None
        parts.append(part)
    return tuple(parts)


def lists_in(args: Args) -> list[tuple[list[Any], tuple[Any, ...]]]:
    """The list arguments of a call with their contents: a builder that changed one cannot be
    replayed (the caller would miss the change)."""
    return [(x, tuple(x)) for x in (*args.pos, *args.kw.values()) if type(x) is list]


def unchanged(lists: list[tuple[list[Any], tuple[Any, ...]]]) -> bool:
    return all(len(lst) == len(before) and all(a is b for a, b in zip(lst, before))
               for lst, before in lists)


def _arg_key(value: Any, depth: int = 0) -> Any:
    if immutable_const(value):
        return ("c", type(value).__name__, value)
    kind = type(value)
    if value is v.UNKNOWN:
        return ("?",)  # not known, the same way each time
    if kind is list and len(value) <= 64:
        items = tuple(_arg_key(x, depth + 1) for x in value)
        return None if None in items else ("l", items)
    if kind is v.Ref:
        return ("r", value.qualname)
    if kind is v.ClassVal:
        return ("k", id(value.node), id(value.scope))
    if kind is v.FuncVal and value.bound is None:
        if value.closure is None:
            return ("f", id(value.node), id(value.scope))
        if depth < 4:  # `lambda: nn.ReLU(inplace=True)` defined in a function: its free names
            free = []
            for name in free_names(value.node):
                if name in value.closure:
                    part = _arg_key(value.closure[name], depth + 1)
                    if part is None:
                        return None
                    free.append((name, part))
            return ("f", id(value.node), id(value.scope), tuple(free))
        return None
    if kind is v.Builtin:
        return ("b", value.name)
    if kind is v.PartialVal and depth < 4:  # `norm_layer=partial(nn.BatchNorm2d, eps=1e-3)`
        parts = tuple(_arg_key(x, depth + 1) for x in (
            value.func, *value.pos, None, *(x for kv in sorted(value.kw.items()) for x in kv)))
        return None if None in parts else ("p", parts)
    return None


_FREE: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]] = run_cache()


def free_names(node: tuple[Any, ...]) -> tuple[str, ...]:
    """The names a function's code reads (a superset of its free variables)."""
    found = _FREE.get(id(node))
    if found is not None and found[0] is node:
        return found[1]
    result = tuple(sorted(set(identifiers((node[2], node[3])))))
    _FREE[id(node)] = (node, result)
    return result


# A template larger than this (a whole network, built once by its factory) is not kept: it
# would be copied at every level it is nested in, for a reuse that rarely comes.
MAX_TEMPLATE = 400


# Values a copy shares with its original: immutable, or definitions (a class, a function's
# code, a torch name) that no construction changes.
_SHARED = frozenset({type(None), bool, int, float, str, type(v.UNKNOWN), v.Ref, v.ClassVal,
                     v.Builtin, v.ModuleVal})


def copy_value(value: Any, memo: dict[int, Any] | None = None, limit: int = 0) -> Any:
    """A copy of a constructed module tree that shares nothing mutable with the original, or
    _NOT_COPYABLE when it holds something that cannot be copied safely (a tensor of the
    dataflow graph, a training object, a closure), or more than `limit` objects."""
    if memo is None:
        memo = {}
    kind = type(value)
    shared = kind in _SHARED  # most of what a module tree holds: no memo lookup
    if not shared:
        found = memo.get(id(value))
        if found is not None:
            return found
    if limit and len(memo) > limit:
        return _NOT_COPYABLE
    if shared:
        return value
    if kind is tuple:
        items = [copy_value(x, memo, limit) for x in value]
        return _NOT_COPYABLE if _NOT_COPYABLE in items else tuple(items)
    # In lists and dicts, shared values are taken as they are, without a call each.
    if kind is list:
        out: list[Any] = []
        memo[id(value)] = out
        for x in value:
            item = x if type(x) in _SHARED else copy_value(x, memo, limit)
            if item is _NOT_COPYABLE:
                return _NOT_COPYABLE
            out.append(item)
        return out
    if kind is dict:
        table: dict[Any, Any] = {}
        memo[id(value)] = table
        for key, x in value.items():
            item = x if type(x) in _SHARED else copy_value(x, memo, limit)
            if item is _NOT_COPYABLE:
                return _NOT_COPYABLE
            table[key] = item
        return table
    if kind is v.LayerSpec:
        # Its own arguments table: a graph node's identity is its layer's table (two copies
        # at one path, the options of a choice, are two layers).
        layer = memo[id(value)] = v.LayerSpec(value.kind, dict(value.args), value.loc,
                                              value.scope)
        return layer
    if kind is v.Instance:
        return _copy_holder(v.Instance(value.cls, made_by=value.made_by,
                                       torch_layer=value.torch_layer), "attrs", value, memo,
                            limit)
    if kind is v.DictSpec:
        return _copy_holder(v.DictSpec(), "children", value, memo, limit)
    if kind is v.SeqSpec:
        return _copy_holder(v.SeqSpec(guessed_from=value.guessed_from, open=value.open),
                            "children", value, memo, limit)
    if kind is v.ListSpec:
        return _copy_holder(v.ListSpec(guessed_from=value.guessed_from), "children", value,
                            memo, limit)
    if kind is v.Choice:
        options = copy_value(value.options, memo, limit)
        return _NOT_COPYABLE if options is _NOT_COPYABLE else v.Choice(options)
    if kind is v.ParamRef:
        owner = copy_value(value.owner, memo, limit)
        return _NOT_COPYABLE if owner is _NOT_COPYABLE else v.ParamRef(owner, value.name)
    if kind is v.FuncVal and value.closure is None:
        if value.bound is None:
            return value
        bound = copy_value(value.bound, memo, limit)
        return _NOT_COPYABLE if bound is _NOT_COPYABLE else replace(value, bound=bound)
    return _NOT_COPYABLE


def _copy_holder(made: Any, field_name: str, value: Any, memo: dict[int, Any],
                 limit: int) -> Any:
    """`made` (an empty module of `value`'s kind) with a copy of what `value` holds."""
    memo[id(value)] = made  # before the children: a child may refer back to it
    held = copy_value(getattr(value, field_name), memo, limit)
    if held is _NOT_COPYABLE:
        return _NOT_COPYABLE
    setattr(made, field_name, held)
    return made


class ConstructionMemo:
    """Templates of constructions, by class and constant arguments."""

    def __init__(self) -> None:
        self.table: dict[tuple[Any, ...], Built | None] = {}  # None: seen, not reusable
        self.hits = 0

    def clear(self) -> None:
        self.table.clear()

    def get(self, key: tuple[Any, ...], owner: Any) -> Built | None:
        found = self.table.get(key)
        if found is not None and found.owner is owner:
            self.hits += 1
            return found
        return None

    def known_unreusable(self, key: tuple[Any, ...]) -> bool:
        return key in self.table and self.table[key] is None

    def put(self, key: tuple[Any, ...], owner: Any, value: Any, steps: int, built: int,
            notes: list[str], inits: list[ir.WeightInit], depth: int) -> None:
        template = copy_value(value, limit=MAX_TEMPLATE)
        if template is _NOT_COPYABLE:
            self.table[key] = None
            return
        self.table[key] = Built(owner, template, steps, built, tuple(notes), tuple(inits),
                                depth)

    def forget(self, key: tuple[Any, ...]) -> None:
        self.table[key] = None


def fresh(built: Built, prints: dict[int, Any] | None = None,
          owners: dict[int, int] | None = None) -> Any:
    """A new copy of a template, for one use. With `prints`, the copy's objects get the
    template's fingerprints (computed once), and `owners` maps each to the copy's root, so
    that a later change anywhere in the copy drops the root's fingerprint too."""
    if prints is None or owners is None:
        return copy_value(built.template)
    if built.prints is None:
        built.prints = {}
        fingerprint(built.template, built.prints)
    copies: dict[int, Any] = {}
    copy = copy_value(built.template, copies)
    root = id(copy)
    for original, made in copies.items():
        printed = built.prints.get(original)
        if printed is not None and printed is not NO_PRINT:
            prints[id(made)] = printed
            owners[id(made)] = root
    return copy


# --- forward passes ------------------------------------------------------------------------
#
# A block's forward over fresh inputs adds the same nodes whenever the block has the same
# structure: the same classes, the same kinds of layer at the same places, the same constants
# in its attributes. The first pass is recorded as a fragment of the graph, relative to its
# inputs and to the block's path in the model; later ones replay it, taking each layer's
# arguments from the layer at that path (a wider block of the same shape reuses the pass).

NO_PRINT = ("no fingerprint",)


def fingerprint(value: Any, cache: dict[int, Any]) -> Any:
    """A hashable description of a module's structure (what its forward can depend on), or
    NO_PRINT when it holds something that is not structure (a tensor, an unknown object)."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if value is v.UNKNOWN:
        return ("?",)
    if kind in (tuple, list):
        items = tuple(fingerprint(x, cache) for x in value)
        return NO_PRINT if NO_PRINT in items else (kind.__name__, items)
    found = cache.get(id(value))
    if found is not None:
        return found
    cache[id(value)] = NO_PRINT  # a cycle has no fingerprint
    printed = _print(value, kind, cache)
    cache[id(value)] = printed
    return printed


def _print(value: Any, kind: type, cache: dict[int, Any]) -> Any:
    if kind is v.LayerSpec:
        return ("L", value.kind)
    if kind is v.Instance:
        return _node("I", (id(value.cls),), sorted(value.attrs.items()), cache)
    if kind is v.SeqSpec:
        return _node("S", (value.open,), value.children, cache)
    if kind is v.ListSpec:
        return _node("M", (), list(enumerate(value.children)), cache)
    if kind is v.DictSpec:
        return _node("D", (), sorted(value.children.items()), cache)
    if kind is v.Choice:
        return _node("C", (), list(enumerate(value.options)), cache)
    if kind is dict:
        return _node("d", (), sorted(value.items(), key=lambda kv: repr(kv[0])), cache)
    if kind is v.Ref:
        return ("R", value.qualname)
    if kind is v.ClassVal:
        return ("K", id(value.node))
    if kind is v.Builtin:
        return ("B", value.name)
    if kind is v.FuncVal and value.closure is None:
        return ("F", id(value.node), value.bound is not None)
    return NO_PRINT


def _node(tag: str, head: tuple[Any, ...], items: Any, cache: dict[int, Any]) -> Any:
    parts = []
    for key, child in items:
        printed = fingerprint(child, cache)
        if printed is NO_PRINT:
            return NO_PRINT
        parts.append((key, printed))
    return (tag, *head, tuple(parts))


@dataclass
class Fragment:
    """The nodes one forward pass added, relative to its inputs and to the block's path."""

    nodes: tuple[tuple[Any, ...], ...]  # (kind, inputs, name suffix or None, owner, args,
    #                                      loc, functional); an input is ("in", i) or ("n", j)
    output: Any  # the returned value, with tensors as ("in", i) or ("n", j)
    steps: int
    notes: tuple[str, ...]
    depth: int


class ForwardMemo:
    def __init__(self) -> None:
        self.table: dict[Any, Fragment | None] = {}
        self.hits = 0

    def get(self, key: Any) -> Any:
        """The fragment; None when this key cannot be reused; UNSEEN when not seen yet."""
        if key not in self.table:
            return UNSEEN
        found = self.table[key]
        if found is not None:
            self.hits += 1
        return found


def input_pattern(values: list[Any]) -> tuple[Any, list[v.Tensor]] | None:
    """The shape of a forward's positional arguments, each tensor standing as its place among
    the tensors given (one node given twice is one place), and those tensors; None when an
    argument is not a tensor, a constant, or a short tuple or list of them (a recurrent
    block's `(x, None)`, then `(x, (h, c))`)."""
    tensors: list[v.Tensor] = []
    places: dict[int, int] = {}

    def shape(value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is v.Tensor:
            place = places.get(value.node)
            if place is None:
                place = places[value.node] = len(tensors)
                tensors.append(value)
            return ("t", place)
        if value is None or kind in (bool, int, float, str):
            return ("c", kind.__name__, value)
        if kind in (tuple, list) and depth < 3 and len(value) <= 16:
            items = tuple(shape(x, depth + 1) for x in value)
            return None if None in items else (kind.__name__, items)
        return None

    pattern = tuple(shape(x, 0) for x in values)
    return None if None in pattern else (pattern, tensors)


def lists_held(values: Any) -> list[tuple[list[Any], tuple[Any, ...]]]:
    """The lists inside a forward's arguments (see `input_pattern`) with their contents: a
    forward that changed one is not replayed (the caller would miss the change)."""
    found: list[tuple[list[Any], tuple[Any, ...]]] = []
    seen: set[int] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if type(value) in (tuple, list) and id(value) not in seen:
            seen.add(id(value))
            if type(value) is list:
                found.append((value, tuple(value)))
            stack.extend(value)
    return found


def holds_any(block: Any, containers: set[int]) -> bool:
    """Whether a list or dict among `containers` (by id) is part of the block's state: held
    by it or by a module inside it, directly or inside another list, dict or tuple."""
    seen: set[int] = set()
    stack = [block]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        kind = type(item)
        if kind is list or kind is dict:
            if id(item) in containers:
                return True
            stack.extend(item.values() if kind is dict else item)
        elif kind is tuple:
            stack.extend(item)
        elif kind is v.Instance:
            stack.extend(item.attrs.values())
        elif kind is v.Choice:
            stack.extend(item.options)
        elif kind in (v.SeqSpec, v.ListSpec, v.DictSpec):
            stack.extend(child for _, child in v.named_children(item))
    return False


def module_tables(scope: FileScope) -> set[int]:
    """The lists, dicts and sets a loaded module holds (by id): its globals, what they hold,
    its classes' bodies (`SEEN = {}`, `class Block: calls = []`) and the attributes of the
    objects it holds (`cfg = Config()`). Code that writes one may read it on its next call,
    as a forward that fills a table of its own block does: it is not reused. Found once per
    module, after loading (`Interp.loaded`); a table hung onto one of these later (a forward
    storing a new list in a module-level dict) joins them when it is stored
    (`Interp.wrote`)."""
    return {id(scope.globals)} | tables_within(scope.globals.values(), scope)  # (`global`)


def tables_within(values: Iterable[Any], scope: FileScope | None = None) -> set[int]:
    """The ids of the lists, dicts and sets these values are or hold, with the attribute
    tables of the objects among them, and the bodies of the classes `scope` defines."""
    found: set[int] = set()
    seen: set[int] = set()
    stack = list(values)
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (list, dict, set)):
            found.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
        elif type(item) is tuple:
            stack.extend(item)
        elif type(item) is v.ClassVal and scope is not None and item.scope is scope:
            found.add(id(item.namespace))  # (a class attribute rebound)
            stack.extend(item.namespace.values())
        elif type(item) is v.Instance:
            found.add(id(item.attrs))  # (`cfg.lr = 5.0` in one script, read by the next)
            stack.extend(item.attrs.values())
    return found


def record(graph: list[ir.Node], start: int, inputs: list[int], prefix: str, output: Any,
           block: Any, at_path: dict[str, Any]) -> tuple[tuple[tuple[Any, ...], ...], Any] | None:
    """Nodes graph[start:] and the output as a fragment, or None when they reach outside the
    block (a node fed by an outer tensor, a layer it does not hold). A layer or module the
    block holds but that is named elsewhere (a module shared by the blocks of a stage: its
    first holder names it) is kept as the way to it from the block (a tuple of children's
    names), so that a replay finds the same module in the block it runs for."""
    where = {node: ("in", i) for i, node in enumerate(inputs)}
    held: dict[int, tuple[Any, ...]] | None = None

    def reached(path: str) -> tuple[Any, ...] | None:
        nonlocal held
        if held is None:
            held = _ways_in(block)
        target = at_path.get(path)
        return None if target is None else held.get(id(target))

    nodes = []
    for j, node in enumerate(graph[start:]):
        refs = []
        for source in node.inputs:
            ref = where.get(source)
            if ref is None:
                return None
            refs.append(ref)
        suffix: Any = None
        within: Any = None
        if node.functional:
            within = _under(node.within, prefix)
            if within is None and prefix:
                within = reached(node.within)
            if within is None:
                return None  # made in the forward of a module outside the block
        if node.name and not node.functional and node.kind not in (ir.ADD, ir.CAT, ir.MUL,
                                                                   ir.MERGE, ir.UNKNOWN):
            if node.name == prefix:
                suffix = ""
            elif prefix and _inside(node.name, prefix):
                suffix = node.name[len(prefix):]
            elif prefix:
                suffix = reached(node.name)
                if suffix is None:
                    return None  # a layer from outside the block (passed in)
            else:
                suffix = "." + node.name
            if type(suffix) is str:
                layer = at_path.get(node.name)
                if type(layer) is not v.LayerSpec or layer.args is not node.args:
                    # Two layers at one path (the options of a choice, whose parts are
                    # named alike): a replay would find the other one there.
                    return None
        nodes.append((node.kind, tuple(refs), suffix, node.name, node.owner,
                       node.args if suffix is None else None, node.loc, node.functional, within))
        where[node.id] = ("n", j)
    out = _relative(output, where)
    return None if out is _NOT_COPYABLE else (tuple(nodes), out)


def _ways_in(block: Any, again: list[tuple[Any, ...]] | None = None
             ) -> dict[int, tuple[Any, ...]]:
    """For each module inside `block`, the names of the children that lead to it, the first
    way breadth first; each later way to a module met before, with the first, goes to
    `again`."""
    ways: dict[int, tuple[Any, ...]] = {id(block): ()}
    queue = [block]
    for item in queue:
        way = ways[id(item)]
        for key, child in v.named_children(item):
            first = ways.get(id(child))
            if first is None:
                ways[id(child)] = (*way, key)
                queue.append(child)
            elif again is not None:
                again.append((first, (*way, key)))
    return ways


def shared_within(block: Any) -> tuple[Any, ...]:
    """Where `block` holds one module at two places (the first way to it and the later one):
    blocks of one structure may share differently (the later units of a stage reusing the
    first unit's convolution in one model, building their own in another), and a replay,
    which finds layers by path, would take the one for the other."""
    again: list[tuple[Any, ...]] = []
    _ways_in(block, again)
    return tuple(again)


def _follow(block: Any, way: tuple[Any, ...]) -> Any:
    """The module at the end of a way from `_ways_in`, or None."""
    item = block
    for key in way:
        kind = type(item)
        if kind is v.Instance:
            item = item.attrs.get(key)
            if not isinstance(item, v.MODULE_VALUES):
                return None
        elif kind is v.ListSpec:
            item = item.children[key] if type(key) is int and key < len(item.children) \
                else None
        elif kind is v.DictSpec:
            item = item.children.get(key)
        elif kind is v.SeqSpec:
            item = next((child for name, child in item.children if name == key), None)
        else:
            return None
        if item is None:
            return None
    return item


def _under(path: str, prefix: str) -> str | None:
    """`path` relative to the block at `prefix` ("" for the block itself, ".q" for a part),
    None when it is not inside the block."""
    if path == prefix:
        return ""
    if not prefix:
        return None if path.startswith("#") else "." + path
    return path[len(prefix):] if _inside(path, prefix) else None


def _inside(path: str, prefix: str) -> bool:
    """Whether `path` names a part of the module at `prefix` (`prefix.conv`, or `prefix[-1]`
    for a sequence's part whose position is counted from the end)."""
    return path.startswith(prefix) and path[len(prefix):len(prefix) + 1] in (".", "[")


def _relative(value: Any, where: dict[int, Any]) -> Any:
    if isinstance(value, v.Tensor):
        # (A damped branch returned, `return 0.1 * out`: a replay would give it undamped.)
        return where.get(value.node, _NOT_COPYABLE) if value.scale == 1 else _NOT_COPYABLE
    if type(value) in (tuple, list):
        items = [_relative(x, where) for x in value]
        return _NOT_COPYABLE if _NOT_COPYABLE in items else (type(value).__name__, items)
    if value is None or value is v.UNKNOWN or type(value) in (bool, int, float, str):
        return ("c", value)
    return _NOT_COPYABLE


Placed = tuple[Any, str, str]  # a node's layer (None for no layer), its name, its `within`


def layers_of(fragment: Fragment, prefix: str, at_path: dict[str, Any], block: Any,
              paths: dict[int, str]) -> list[Placed] | None:
    """For each of the fragment's nodes, in the block at `prefix`: the layer it stands for,
    the layer's name and the path of the module whose forward makes it; None when one is
    missing (the block is not shaped like the recorded one)."""
    placed: list[Placed] = []
    for kind, _refs, suffix, name, _owner, _args, _loc, _functional, within in fragment.nodes:
        layer = None
        if suffix is not None:
            if type(suffix) is tuple:
                layer = _follow(block, suffix)
                name = paths.get(id(layer), "") if layer is not None else ""
            else:
                name = (prefix + suffix) if prefix else suffix.lstrip(".")
                layer = at_path.get(name)
            if type(layer) is not v.LayerSpec or layer.kind != kind or not name:
                return None
        if type(within) is tuple:
            module = _follow(block, within)
            within = paths.get(id(module)) if module is not None else None
            if within is None:
                return None
        elif within is not None:
            within = (prefix + within) if prefix else within.lstrip(".")
        placed.append((layer, name, within))
    return placed


def replay(fragment: Fragment, placed: list[Placed], add_node_on: Any,
           inputs: list[v.Tensor]) -> Any:
    """Add the fragment's nodes after the graph's end (through the interpreter's
    `add_node_on`, over node ids), placed by `layers_of`; the value the forward returned."""
    given = [t.node for t in inputs]
    made: list[int] = []
    for (kind, refs, _suffix, _name, owner, args, loc, functional, _within), (
            layer, name, within) in zip(fragment.nodes, placed):
        sources = tuple([given[i] if tag == "in" else made[i] for tag, i in refs])
        if layer is not None:
            owner, args, loc = layer.scope, layer.args, layer.loc
        made.append(add_node_on(kind, sources, name, owner, args, loc, functional, within))
    return _absolute(fragment.output, inputs, made, {})


def _absolute(ref: Any, inputs: list[v.Tensor], made: list[int],
              tensors: dict[int, v.Tensor]) -> Any:
    """The value a fragment's output stands for; a node returned twice is one tensor."""
    tag = ref[0]
    if tag == "in":
        return inputs[ref[1]]
    if tag == "n":
        found = tensors.get(ref[1])
        if found is None:
            found = tensors[ref[1]] = v.Tensor(made[ref[1]])
        return found
    if tag == "c":
        return ref[1]
    items = [_absolute(x, inputs, made, tensors) for x in ref[1]]
    return items if tag == "list" else tuple(items)
