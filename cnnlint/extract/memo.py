"""Per-project reuse of module constructions: a block class built with the same constant
arguments builds the same modules, so it is read once and copied after that.

A model zoo builds the same few blocks hundreds of thousands of times (`ResUnit(64, 64,
stride=1)` in every ResNet variant of every file). Reading each construction once makes the
cost grow with the code, not with the number of models that reuse it.

The reuse must not change any result, whatever was read before: a hit hands back a fresh copy
(callers change what they get), and replays what the construction did besides building: its
interpreter steps (the budget stays the same), its notes and its weight initialisations. A
construction that touched anything else (the dataflow graph, a training pass's record) is not
kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, immutable_const

_NOT_COPYABLE = object()


@dataclass
class Built:
    """One construction, kept as a template."""

    cls: v.ClassVal  # kept alive: the key holds its id
    template: Any
    steps: int
    built: int
    notes: tuple[str, ...]
    inits: tuple[ir.WeightInit, ...]
    depth: int  # how deep its calls nested


def construction_key(cls: v.ClassVal, args: Args) -> tuple[Any, ...] | None:
    """A key for `cls(*args)` when every argument is a constant or a definition (a class, a
    function without closure, a torch name); None otherwise."""
    if args.open_pos or args.open_kw:
        return None
    parts: list[Any] = []
    for value in (*args.pos, None, *(x for kv in sorted(args.kw.items()) for x in kv)):
        part = _arg_key(value)
        if part is None:
            return None
        parts.append(part)
    return (id(cls), tuple(parts))


def _arg_key(value: Any) -> Any:
    if immutable_const(value):
        return ("c", type(value).__name__, value)
    kind = type(value)
    if kind is v.Ref:
        return ("r", value.qualname)
    if kind is v.ClassVal:
        return ("k", id(value.node), id(value.scope))
    if kind is v.FuncVal and value.closure is None and value.bound is None:
        return ("f", id(value.node), id(value.scope))
    if kind is v.Builtin:
        return ("b", value.name)
    return None


def copy_value(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A copy of a constructed module tree that shares nothing mutable with the original, or
    _NOT_COPYABLE when it holds something that cannot be copied safely (a tensor of the
    dataflow graph, a training object, a closure)."""
    memo = {} if memo is None else memo
    found = memo.get(id(value))
    if found is not None:
        return found
    kind = type(value)
    if value is None or kind in (bool, int, float, str) or value is v.UNKNOWN:
        return value
    if kind in (v.Ref, v.ClassVal, v.Builtin, v.ModuleVal):
        return value
    if kind is tuple:
        items = [copy_value(x, memo) for x in value]
        return _NOT_COPYABLE if _NOT_COPYABLE in items else tuple(items)
    if kind is list:
        out: list[Any] = []
        memo[id(value)] = out
        for x in value:
            item = copy_value(x, memo)
            if item is _NOT_COPYABLE:
                return _NOT_COPYABLE
            out.append(item)
        return out
    if kind is dict:
        table: dict[Any, Any] = {}
        memo[id(value)] = table
        for key, x in value.items():
            item = copy_value(x, memo)
            if item is _NOT_COPYABLE:
                return _NOT_COPYABLE
            table[key] = item
        return table
    if kind is v.LayerSpec:
        layer = memo[id(value)] = v.LayerSpec(value.kind, value.args, value.loc, value.scope)
        return layer
    if kind is v.Instance:
        inst = memo[id(value)] = v.Instance(value.cls)
        attrs = copy_value(value.attrs, memo)
        if attrs is _NOT_COPYABLE:
            return _NOT_COPYABLE
        inst.attrs = attrs
        return inst
    if kind is v.SeqSpec:
        seq = memo[id(value)] = v.SeqSpec()
        children = copy_value(value.children, memo)
        if children is _NOT_COPYABLE:
            return _NOT_COPYABLE
        seq.children = children
        return seq
    if kind is v.ListSpec:
        lst = memo[id(value)] = v.ListSpec()
        items = copy_value(value.children, memo)
        if items is _NOT_COPYABLE:
            return _NOT_COPYABLE
        lst.children = items
        return lst
    if kind is v.DictSpec:
        dct = memo[id(value)] = v.DictSpec()
        entries = copy_value(value.children, memo)
        if entries is _NOT_COPYABLE:
            return _NOT_COPYABLE
        dct.children = entries
        return dct
    if kind is v.Choice:
        options = copy_value(value.options, memo)
        return _NOT_COPYABLE if options is _NOT_COPYABLE else v.Choice(options)
    if kind is v.ParamRef:
        owner = copy_value(value.owner, memo)
        return _NOT_COPYABLE if owner is _NOT_COPYABLE else v.ParamRef(owner, value.name)
    if kind is v.FuncVal and value.closure is None:
        if value.bound is None:
            return value
        bound = copy_value(value.bound, memo)
        return _NOT_COPYABLE if bound is _NOT_COPYABLE else replace(value, bound=bound)
    return _NOT_COPYABLE


class ConstructionMemo:
    """Templates of constructions, by class and constant arguments."""

    def __init__(self) -> None:
        self.table: dict[tuple[Any, ...], Built | None] = {}  # None: seen, not reusable
        self.hits = 0

    def clear(self) -> None:
        self.table.clear()

    def get(self, key: tuple[Any, ...], cls: v.ClassVal) -> Built | None:
        found = self.table.get(key)
        if found is not None and found.cls is cls:
            self.hits += 1
            return found
        return None

    def known_unreusable(self, key: tuple[Any, ...]) -> bool:
        return key in self.table and self.table[key] is None

    def put(self, key: tuple[Any, ...], cls: v.ClassVal, instance: Any, steps: int, built: int,
            notes: list[str], inits: list[ir.WeightInit], depth: int) -> None:
        template = copy_value(instance)
        if template is _NOT_COPYABLE:
            self.table[key] = None
            return
        self.table[key] = Built(cls, template, steps, built, tuple(notes), tuple(inits), depth)

    def forget(self, key: tuple[Any, ...]) -> None:
        self.table[key] = None


def fresh(built: Built) -> Any:
    """A new copy of a template, for one use."""
    return copy_value(built.template)
