"""Conditions the reader cannot decide run both ways, from the same state; what each branch
leaves behind is merged (modules into a Choice, tensors into a MERGE node, the rest unknown)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import MISSING, NORMAL, RETURN, Frame, clone, clone_all, const_equal
from cnnlint.extract.values import UNKNOWN

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp


def both_ways(interp: Interp, first: Callable[[], Any], second: Callable[[], Any], f: Frame,
              touched: frozenset[str] | None = None) -> Any:
    """Run two branches from the same state and merge what they leave behind. `touched`
    (the local names the branches mention) limits the copying; None copies all."""
    names = touched if touched is not None else frozenset(f.locals)
    before = snapshot(interp, f, names)
    interp.undecided += 1
    try:
        status1 = first()
        if touched is None:
            names = names | frozenset(f.locals)
        after_first = snapshot(interp, f, names)
        restore(interp, f, before, names)
        status2 = second()
    finally:
        interp.undecided -= 1
    if status1 == RETURN and status2 != RETURN:
        return NORMAL
    if status2 == RETURN and status1 != RETURN:
        restore(interp, f, after_first, names)
        return NORMAL
    if status1 == status2 == RETURN:
        return RETURN
    merge_into(interp, f, after_first, names)
    if status1 != status2:
        interp.note("a `break`/`continue` depends on a condition that is not known")
    return NORMAL


def snapshot(interp: Interp, f: Frame, names: frozenset[str]
              ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    attrs = f.self_obj.attrs if isinstance(f.self_obj, v.Instance) else None
    local = f.locals
    taken = {k: (clone(local[k]) if type(local[k]) in (list, dict) else local[k])
             for k in names if k in local}
    return taken, clone_all(attrs) if attrs is not None else None


def restore(interp: Interp, f: Frame, snap: tuple[dict[str, Any], dict[str, Any] | None],
             names: frozenset[str]) -> None:
    local = f.locals
    for k in names:
        if k in snap[0]:
            x = snap[0][k]
            local[k] = clone(x) if type(x) in (list, dict) else x
        else:
            local.pop(k, None)
    if snap[1] is not None:
        f.self_obj.attrs.clear()
        f.self_obj.attrs.update(clone_all(snap[1]))


def merge_into(interp: Interp, f: Frame, other: tuple[dict[str, Any], dict[str, Any] | None],
                names: frozenset[str], combine: Callable[[Any, Any], Any] | None = None
                ) -> None:
    """Merge the state `other` (after the first branch) into the frame (after the second):
    with `interp.merge`, or `combine(first, second)`."""
    combine = combine or interp.merge
    theirs_local = other[0]
    # In a fixed order: merging tensors adds graph nodes, and a set's order changes from
    # run to run (string hashes are salted per process).
    for key in sorted(names):
        a, b = theirs_local.get(key, MISSING), f.locals.get(key, MISSING)
        if a is MISSING and b is MISSING:
            continue
        f.locals[key] = b if a is MISSING else (a if b is MISSING else combine(a, b))
    mine = f.self_obj.attrs if other[1] is not None else None
    theirs = other[1]
    if mine is None or theirs is None:
        return
    for key in list(dict.fromkeys([*theirs, *mine])):
        a, b = theirs.get(key, MISSING), mine.get(key, MISSING)
        if a is MISSING or b is MISSING:
            mine[key] = b if a is MISSING else a
        else:
            mine[key] = combine(a, b)


def merge(interp: Interp, a: Any, b: Any, name: str = "") -> Any:
    """The value a variable holds after an undecided `if` set it to `a` or `b`; tensors
    meet in a MERGE node of that `name` (ir.CHOICE: the outputs of a choice of modules)."""
    if a is b or const_equal(a, b):
        return a
    if isinstance(a, v.Tensor) and isinstance(b, v.Tensor):
        if a.node == b.node:
            return a
        return interp.add_node(ir.MERGE, (a, b), name=name)
    if isinstance(a, v.Tensor) and b is None or a is None and isinstance(b, v.Tensor):
        # A tensor or nothing (`x + e if e is not None else None`): whatever is computed
        # from it is computed from the tensor.
        return a if a is not None else b
    modules = (*v.MODULE_VALUES, type(None))
    if isinstance(a, modules) and isinstance(b, modules):
        options: list[Any] = []
        for x in (a, b):
            options.extend(x.options if isinstance(x, v.Choice) else (x,))
        return v.Choice(tuple(options))
    if type(a) is list and type(b) is list and len(a) == len(b):
        return [interp.merge(x, y, name) for x, y in zip(a, b)]
    if type(a) is tuple and type(b) is tuple and len(a) == len(b):
        return tuple(interp.merge(x, y, name) for x, y in zip(a, b))  # `return h, delta`
    if type(a) is list and type(b) is list:
        interp.note("a list of layers depends on a condition that is not known")
    if type(a) is dict and type(b) is dict:
        # Keyword arguments gathered for a call (`kwargs["num_classes"] = n` only when loading
        # weights): the keys both branches agree on stay known, the others become unknown.
        return {key: (interp.merge(a[key], b[key]) if key in a and key in b else UNKNOWN)
                for key in dict.fromkeys([*a, *b])}
    return UNKNOWN


EXITS = frozenset({("attr", ("name", "sys"), "exit"), ("name", "exit"), ("name", "quit"),
                    ("attr", ("name", "os"), "_exit")})


def error_exit(body: tuple[Any, ...]) -> bool:
    """A block that only reports and stops: messages (prints, logging), then a `raise` or
    `sys.exit(...)`."""
    if not body or any(stmt[0] != "expr" for stmt in body[:-1]):
        return False
    last = body[-1]
    if last[0] == "raise":
        return True
    call = last[1] if last[0] == "expr" else None
    return call is not None and call[0] == "call" and call[1] in EXITS
