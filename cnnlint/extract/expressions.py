"""Expressions over abstract values: f-strings, displays, operators, comparisons,
comprehensions, truth, subscripts and iteration. Constants compute; anything else is a
tensor passing through, or UNKNOWN."""

from __future__ import annotations

import operator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from cnnlint import ir
from cnnlint.extract import configs, statistics
from cnnlint.extract import values as v
from cnnlint.extract.frames import (
    MAX_LOOP, MAX_SIZE, MAX_STEPS, Args, Frame, TooComplex, clone, const_equal, safe_size,
)
from cnnlint.extract.torchnn import Found, class_kinds, kinds_named, scaled, scaled_branch
from cnnlint.extract.values import UNKNOWN

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp


def _never_equal(a: Any, b: Any) -> bool:
    """`activation == "relu"` with a module, a function or a class for `activation`."""
    definite = (type(a) in v.MODULE_KINDS and type(a) is not v.Choice) or type(a) in (
        v.FuncVal, v.ClassVal)
    return definite and v.is_const(b) and b is not None

def _same_definition(a: Any, b: Any) -> bool | None:
    """Whether two classes (or plain functions, or library names) are the same one, as
    `kind == DoubleConv` compares them; None when either is something else."""
    kinds = (type(a), type(b))
    if not all(k in (v.ClassVal, v.Ref, v.FuncVal) for k in kinds):
        return None
    if any(k is v.FuncVal and x.bound is not None for k, x in zip(kinds, (a, b))):
        return None  # a bound method compares by its object: not decided here
    if kinds[0] is not kinds[1]:
        return False  # a project class is no library class
    if kinds[0] is v.Ref:
        return bool(a.qualname == b.qualname)
    return a is b or (a.node is b.node and a.scope is b.scope)


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


def fstr(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    if e[1] is None:  # formatting not evaluated: its expressions still run (calls in them)
        for part in e[2] if len(e) > 2 else ():
            interp.eval(part, f)
        return UNKNOWN
    out = []
    for part in e[1]:
        if type(part) is str:
            out.append(part)
            continue
        value = interp.eval(part, f)
        if not v.is_const(value):
            return UNKNOWN
        out.append(str(value))
    return "".join(out)


def elements(interp: Interp, elts: tuple[Any, ...], f: Frame) -> list[Any]:
    out: list[Any] = []
    for e in elts:
        if e[0] == "*":
            items = interp.iterate(interp.eval(e[1], f))
            if items is None:
                interp.note("a list is built from values that are not known")
                out.append(UNKNOWN)
            else:
                out.extend(items)
        else:
            out.append(interp.eval(e, f))
    return out


def dict_display(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    out: dict[Any, Any] = {}
    for key, value in e[1]:
        if key is None:
            other = interp.eval(value, f)
            if type(other) is not dict:
                return UNKNOWN
            out.update(other)
            continue
        k = interp.eval(key, f)
        if not v.is_key(k):
            return UNKNOWN
        out[k] = interp.eval(value, f)
    return out


def unary(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    value = interp.eval(e[2], f)
    if e[1] == "not":
        t = interp.truth(value)
        return UNKNOWN if t is None else not t
    if isinstance(value, v.Tensor):
        return value
    if type(value) in (int, float) and not isinstance(value, bool):
        return -value if e[1] == "-" else (value if e[1] == "+" else ~value)  # type: ignore[operator]
    return UNKNOWN


def boolop(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    left = interp.eval(e[2], f)
    if type(left) is v.Narrowing and e[1] == "or":
        # `type(m) == nn.Linear or isinstance(m, nn.Conv2d)`: modules of either kind.
        right = interp.eval(e[3], f)
        if type(right) is v.Narrowing and right.module is left.module:
            return v.Narrowing(left.module, left.kinds + right.kinds)
        return UNKNOWN
    t = interp.truth(left)
    if t is None:
        return UNKNOWN
    if (e[1] == "and") == t:
        return interp.eval(e[3], f)
    return left


def compare_chain(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    left = interp.eval(e[1], f)
    result: Any = True
    for op, right_expr in e[2]:
        right = interp.eval(right_expr, f)
        outcome = interp.compare(op, left, right)
        if outcome is False:
            return False
        if outcome is UNKNOWN or isinstance(outcome, (v.Tensor, v.Narrowing)):
            # Unknown, elementwise on tensors, or true of some modules only
            # (`classname.find("Conv") != -1`).
            result = outcome
        left = right
    return result


def compare(interp: Interp, op: str, a: Any, b: Any) -> Any:
    if type(a) is v.Builtin and type(b) is v.Builtin and op in ("==", "!=", "is", "is not"):
        return (a.name == b.name) == (op in ("==", "is"))  # `type(x) == int`
    if op in ("in", "not in") and type(a) in (v.Builtin, v.Ref) and type(b) in (tuple, list) \
            and b and all(type(x) is v.Builtin for x in b):
        # `type(out) in (tuple, list)`: a builtin type among builtin types (a tensor's
        # type, `torch.Tensor`, is none of them).
        found = type(a) is v.Builtin and any(x.name == a.name for x in b)
        return found == (op == "in")
    if op == "in" and type(a) is str and isinstance(b, v.ClassNameOf):
        return v.Narrowing(b.module, kinds_named(a))
    if op in ("==", "is") and type(a) is v.EachModule and isinstance(b, (v.Ref, v.ClassVal)):
        return v.Narrowing(a, class_kinds(b))  # `type(m) == nn.Linear`: that kind exactly
    if isinstance(a, Found) and op in ("!=", ">", ">=") and b in (-1, 0):
        if (op, b) in (("!=", -1), (">", -1), (">=", 0)):
            return v.Narrowing(a.module, kinds_named(a.needle))
    if op not in ("is", "is not", "in", "not in") and (
            isinstance(a, v.Tensor) or isinstance(b, v.Tensor)):
        return a if isinstance(a, v.Tensor) else b  # elementwise: a tensor of booleans
    if op in ("is", "is not"):
        if a is UNKNOWN or b is UNKNOWN or isinstance(a, (v.Choice, v.Opaque)) \
                or isinstance(b, (v.Choice, v.Opaque)):
            return UNKNOWN
        if isinstance(a, v.Tensor) or isinstance(b, v.Tensor):
            return UNKNOWN
        same = a is b or (a is None) == (b is None) and (a is None or const_equal(a, b))
        return same if op == "is" else not same
    if op in ("==", "!=") and (definition := _same_definition(a, b)) is not None:
        return definition == (op == "==")  # `if basic_module == DoubleConv:`
    if op in ("==", "!=") and (_never_equal(a, b) or _never_equal(b, a)):
        return op == "!="  # a module, function or class never equals a constant
    if v.is_const(a) and (v.is_const(b) or (op in ("in", "not in") and type(b) is dict)):
        try:
            return bool(_COMPARE[op](a, b))
        except Exception:
            return UNKNOWN
    return UNKNOWN


def ifexp(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    t = interp.truth(interp.eval(e[1], f))
    if t is True:
        return interp.eval(e[2], f)
    if t is False:
        return interp.eval(e[3], f)
    return interp.merge(interp.eval(e[2], f), interp.eval(e[3], f))


def comprehension(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    out: list[Any] = []
    inner = Frame(f.scope, closure=f.locals, self_obj=f.self_obj, cls=f.cls, owner=f.owner)
    inner.function = f.function  # (its code is the enclosing function's: a training method's)
    if f.closure is not None:
        inner.closure = {**f.closure, **f.locals}
    if not generate(interp, e[3], 0, e[2], inner, out):
        return UNKNOWN
    return out if e[1] != "gen" else out  # generators are consumed like lists


def dict_comprehension(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    """`{k: v for k, v in table.items()}`: a dict when every key is a known constant."""
    pairs = comprehension(interp, ("comp", "list", ("tuple", (e[1], e[2])), e[3]), f)
    if type(pairs) is not list or not all(
            type(p) is tuple and v.is_const(p[0]) and not isinstance(p[0], list)
            for p in pairs):
        return UNKNOWN
    return dict(pairs)


def generate(interp: Interp, gens: tuple[Any, ...], i: int, elt: tuple[Any, ...], f: Frame,
              out: list[Any]) -> bool:
    if i == len(gens):
        out.append(interp.eval(elt, f))
        return True
    target, iter_expr, ifs = gens[i]
    items = interp.iterate(interp.eval(iter_expr, f))
    if items is None:
        interp.note("a comprehension runs over values that are not known")
        interp.assign(target, UNKNOWN, f)
        # Once, as loops run once: the calls inside still count.
        interp.over_unknown_items(lambda: interp.eval(elt, f))
        return False
    for item in items[:MAX_LOOP]:
        interp.steps += 1
        if interp.steps > MAX_STEPS:
            raise TooComplex()
        interp.assign(target, item, f)
        keep: Any = True
        for cond in ifs:
            keep = interp.truth(interp.eval(cond, f))
            if keep is not True:
                break
        if keep is None:
            interp.note("a comprehension filter is not known")
            return False
        if keep and not generate(interp, gens, i + 1, elt, f, out):
            return False
    return True


def walrus(interp: Interp, e: tuple[Any, ...], f: Frame) -> Any:
    value = interp.eval(e[2], f)
    interp.assign(e[1], value, f)
    return value


def truth(interp: Interp, value: Any) -> bool | None:
    """Python truthiness, or None when it cannot be known."""
    if value is UNKNOWN or value is v.NOISE or isinstance(value, (v.Tensor, v.Opaque)):
        return None
    if isinstance(value, v.Choice):
        falsy = [o is None for o in value.options]
        return None if any(falsy) and not all(falsy) else not falsy[0]
    if v.is_const(value) or type(value) is dict:
        return bool(value)
    return True


def binop(interp: Interp, op: str, a: Any, b: Any) -> Any:
    a_t, b_t = isinstance(a, v.Tensor), isinstance(b, v.Tensor)
    if a_t and b_t:
        if interp.statistics:
            # `(x - mean) / std`; `x * style_std + style_mean`
            found = statistics.normalised(interp, op, a, b) or statistics.modulated(
                interp, op, a, b)
            if found is not None:
                return found
        if a.node == b.node and op in ("+", "*"):
            return a  # `x + x` or `x * x` adds no connection
        kind = ir.ADD if op in ("+", "-") else ir.MUL
        made = interp.add_node(kind, (a, b), name=op,
                               args=scaled_branch(a, b) if kind == ir.ADD else None)
        return statistics.centred(interp, a, b, made) if op == "-" and interp.statistics \
            else made
    if (a is v.NOISE or b is v.NOISE) and (a_t or b_t) and op == "*":
        # Features times fresh random numbers: what dropout does (a project's own).
        data = a if a_t else b
        return interp.add_node(ir.NOISE_PRODUCT, (data,), name="* random",
                               args={"p": None})
    if a_t or b_t:
        # Scaling or shifting by a constant: the same values, as far as the graph goes; a
        # scale down by a constant is kept (see `scaled`).
        t, c = (a, b) if a_t else (b, a)
        if type(c) in (int, float) and (op == "*" or op == "/" and a_t and c):
            return scaled(interp, t, c if op == "*" else 1 / c)
        return t
    if a is v.NOISE or b is v.NOISE:
        return v.NOISE  # `torch.randn(shape) * sigma + 1`: still random numbers
    if type(a) is list and type(b) is list and op == "+":
        joined = a + b
        first, second = interp.guessed_from(a), interp.guessed_from(b)
        if first is not None:  # positions guessed from there on
            interp.mark_guessed(joined, first)
        elif second is not None:
            interp.mark_guessed(joined, len(a) + second)
        return joined
    if type(a) is v.FilePath and op == "/":
        return configs.path_of([a, b])  # `root / "config.json"`
    if type(a) is list and type(b) is int and op == "*":
        if len(a) * b > MAX_SIZE:
            return UNKNOWN
        return [clone(x) for _ in range(max(0, b)) for x in a]
    if type(a) is tuple and type(b) is tuple and op == "+":
        return a + b
    if type(a) is str and op == "%":
        try:
            return a % b if v.is_const(b) else UNKNOWN
        except Exception:
            return UNKNOWN
    if v.is_const(a) and v.is_const(b) and op in _BINOPS:
        if not safe_size(op, a, b):
            return UNKNOWN
        try:
            result = _BINOPS[op](a, b)
        except Exception:
            return UNKNOWN
        return result if v.is_const(result) else UNKNOWN
    return UNKNOWN


def subscript(interp: Interp, obj: Any, key: Any) -> Any:
    if isinstance(obj, v.Tensor):
        return obj
    if isinstance(key, v.ModuleName) and isinstance(obj, v.Ref) and obj.qualname == "sys.modules":
        return v.ModuleVal(key.scope)
    if isinstance(key, slice):
        parts = (key.start, key.stop, key.step)
        if not all(p is None or type(p) is int for p in parts):
            return UNKNOWN
        if isinstance(obj, (list, tuple, str)):
            return obj[key]
        if isinstance(obj, v.SeqSpec):
            return v.SeqSpec(obj.children[key], open=obj.open)
        if isinstance(obj, v.ListSpec):
            return v.ListSpec(obj.children[key])
        return UNKNOWN
    if type(obj) in (list, tuple, str) and type(key) is int:
        return obj[key] if -len(obj) <= key < len(obj) else UNKNOWN
    if type(obj) in (dict, v.ConfigNode) and v.is_key(key):
        return obj.get(key, UNKNOWN)
    if isinstance(obj, v.SeqSpec) and type(key) is int:
        return obj.children[key][1] if -len(obj.children) <= key < len(obj.children) \
            else UNKNOWN
    if isinstance(obj, v.ListSpec) and type(key) is int:
        return obj.children[key] if -len(obj.children) <= key < len(obj.children) else UNKNOWN
    if isinstance(obj, v.DictSpec) and type(key) is str:
        return obj.children.get(key, UNKNOWN)
    if isinstance(obj, v.Instance) and not interp.is_module_class(obj.cls):
        getter = obj.cls.lookup("__getitem__")
        if isinstance(getter, v.FuncVal):  # a config or dataset class's own `[key]`
            return interp.call_function(replace(getter, bound=obj), Args([key]))
    if isinstance(obj, v.Instance) and type(key) in (int, str):
        children = interp.children(obj)
        if type(key) is int and -len(children) <= key < len(children):
            return children[key][1]
        return dict(children).get(key, UNKNOWN) if type(key) is str else UNKNOWN
    return UNKNOWN


def iterate(interp: Interp, value: Any) -> list[Any] | None:
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
    if isinstance(value, v.Instance) and interp.container_base(value.cls) is not None:
        return [c for _, c in interp.children(value)]
    return None

