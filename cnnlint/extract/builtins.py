"""Python's builtins and the methods of lists, dicts and torch containers, over abstract
values: constants compute, anything else gives UNKNOWN."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Callable

from cnnlint.extract import configs
from cnnlint.extract import values as v
from cnnlint.extract.frames import MAX_LOOP, Args
from cnnlint.extract.torchnn import (added_module, class_kinds, kinds_named, submodule_name,
                                      unknown_module_method)
from cnnlint.extract.values import UNKNOWN

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp


def list_method(interp: Interp, obj: list[Any], name: str, args: Args) -> Any:
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


# String methods that compute a constant from constants.
_STR_METHODS = frozenset({
    "format", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "startswith",
    "endswith", "replace", "join", "find", "count", "isdigit", "title", "capitalize",
})


def str_method(obj: str, name: str, args: Args) -> Any:
    if name not in _STR_METHODS or args.open_pos or args.open_kw:
        return UNKNOWN
    values = (*args.pos, *args.kw.values())
    if not all(v.is_const(x) for x in values):
        return UNKNOWN
    try:
        result = getattr(obj, name)(*args.pos, **args.kw)
    except Exception:
        return UNKNOWN
    return result if v.is_const(result) else UNKNOWN


def dict_method(obj: dict[Any, Any], name: str, args: Args) -> Any:
    if name == "items":
        return [(k, x) for k, x in obj.items()]
    if name == "keys":
        return list(obj)
    if name == "values":
        return list(obj.values())
    if name in ("get", "pop", "setdefault") and args.pos and v.is_key(args.pos[0]):
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


def container_method(interp: Interp, obj: Any, name: str, args: Args) -> Any:
    if isinstance(obj, v.SeqSpec):
        if name in ("add_module", "register_module") and (added := added_module(args)):
            key = submodule_name(interp, added[0], len(obj.children))
            # (Names looked up in a table built in C: a stage filled by a loop of hundreds
            # of `add_module` calls would cost the square of its length in Python.)
            if key in dict(obj.children):  # a name in use: the module takes its place
                at = next(i for i, (k, _) in enumerate(obj.children) if k == key)
                obj.children[at] = (key, added[1])
            else:
                obj.children.append((key, added[1]))
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
        if name == "insert" and len(args.pos) == 2 and type(args.pos[0]) is int:
            obj.children.insert(args.pos[0], args.pos[1])
            return None
    if isinstance(obj, v.DictSpec):
        if name == "items":
            return list(obj.children.items())
        if name == "values":
            return list(obj.children.values())
        if name == "keys":
            return list(obj.children)
        if name in ("add_module", "register_module") and (added := added_module(args)):
            obj.children[submodule_name(interp, added[0], len(obj.children))] = added[1]
            return None
        if name == "update" and args.pos and type(args.pos[0]) is dict:
            obj.children.update(args.pos[0])
            return None
    return unknown_module_method(interp, args, f"`.{name}()` on a container is not known")


def builtin_dict(interp: Interp, args: Args) -> Any:
    out: dict[Any, Any] = {}
    if args.pos:
        first = args.pos[0]
        if isinstance(first, v.Params) and first.named and not args.kw:
            return first  # `dict(model.named_parameters())`: the same weights, by name
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
    return list(r) if len(r) <= MAX_LOOP else v.LongRange(len(r))


def _builtin_len(interp: Interp, args: Args) -> Any:
    found = interp.count(args.pos[0]) if args.pos else None
    return UNKNOWN if found is None else found


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


def _builtin_any(interp: Interp, args: Args) -> Any:
    """`any(...)`: True once an item is true, False when every one is known false."""
    truths = _truths(interp, args)
    return UNKNOWN if truths is None else (
        True if True in truths else (False if None not in truths else UNKNOWN))


def _builtin_all(interp: Interp, args: Args) -> Any:
    """`all(...)`: False once an item is false, True when every one is known true."""
    truths = _truths(interp, args)
    return UNKNOWN if truths is None else (
        False if False in truths else (True if None not in truths else UNKNOWN))


def _truths(interp: Interp, args: Args) -> list[bool | None] | None:
    """The truth of each item of the one argument (None for one not known); None when the
    items are not known, or one stands for many (every module of `modules()`)."""
    if len(args.pos) != 1 or args.open_pos or args.kw:
        return None
    items = interp.iterate(args.pos[0])
    if items is None or any(type(x) is v.EachModule for x in items):
        return None
    return [interp.truth(x) for x in items]


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
    if len(args.pos) == 2 and type(args.pos[1]) is str and isinstance(args.pos[0], v.ModuleVal):
        # `getattr(nets, cfg["arch"]["type"])`: a network picked by a name read at run time
        # (from a config file, a default) is read as `nets.__dict__[name]` is: in training
        # code, any network of the module may be the one (another config names another).
        namespace = interp.getattr(args.pos[0], "__dict__")
        if type(namespace) is dict and args.pos[1] in namespace:
            return interp.subscript(namespace, args.pos[1])
    if len(args.pos) >= 2 and type(args.pos[1]) is str:
        found = interp.getattr(args.pos[0], args.pos[1])
        if found is UNKNOWN and len(args.pos) == 3:
            return args.pos[2]
        return found
    if len(args.pos) == 2 and isinstance(args.pos[0], v.ModuleVal):
        # `getattr(models, cfg["arch"])`: a module's name picked at run time, read as
        # `models.__dict__[cfg["arch"]]` is (any of the networks it defines).
        namespace = interp.getattr(args.pos[0], "__dict__")
        if type(namespace) is dict:
            return interp.subscript(namespace, args.pos[1])
    return UNKNOWN


def _builtin_setattr(interp: Interp, args: Args) -> Any:
    if len(args.pos) == 3 and isinstance(args.pos[0], v.ModuleVal) \
            and args.pos[0].scope is not None and type(args.pos[1]) is str:
        interp.wrote(args.pos[0].scope.globals, args.pos[2])  # (a module table: see `wrote`)
        args.pos[0].scope.globals[args.pos[1]] = args.pos[2]  # a name defined at run time
        return None
    if len(args.pos) == 3 and isinstance(args.pos[0], v.Instance):
        interp.changed(args.pos[0])
        if type(args.pos[1]) is str:
            args.pos[0].attrs[args.pos[1]] = args.pos[2]
        elif interp.is_module_class(args.pos[0].cls):
            interp.note("an attribute is set under a name that is not known")
        else:  # `setattr(opts, key, value)` over a file's entries: any may have changed
            interp.forget_entries(args.pos[0].attrs)
    elif len(args.pos) == 3 and type(args.pos[0]) is v.ConfigNode:
        if type(args.pos[1]) is str:
            interp.write_config(args.pos[0], args.pos[1], args.pos[2])
        else:
            interp.forget_entries(args.pos[0])
    return None


def _builtin_hasattr(interp: Interp, args: Args) -> Any:
    if len(args.pos) == 2 and isinstance(args.pos[0], v.Instance) and type(args.pos[1]) is str:
        obj, name = args.pos[0], args.pos[1]
        return name in obj.attrs or obj.cls.lookup(name) is not None
    return UNKNOWN


_PY_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list,
             "tuple": tuple, "dict": dict}


def _builtin_isinstance(interp: Interp, args: Args) -> Any:
    if len(args.pos) == 2 and isinstance(args.pos[0], v.EachModule):
        classes = args.pos[1] if isinstance(args.pos[1], (tuple, list)) else (args.pos[1],)
        kinds = tuple(k for cls in classes for k in class_kinds(cls))
        # A class the reader cannot name (a name never imported, a library's) picks modules
        # it cannot tell: which ones the test holds for is not known.
        return v.Narrowing(args.pos[0], kinds) if kinds else UNKNOWN
    if len(args.pos) == 2 and isinstance(args.pos[0], v.LayerSpec):
        return _layer_isinstance(args.pos[0], args.pos[1])
    if len(args.pos) == 2 and isinstance(args.pos[1], v.Ref) \
            and args.pos[1].qualname in ("torch.Tensor", "torch.nn.Parameter"):
        if isinstance(args.pos[0], v.Tensor):
            return True
        if v.is_const(args.pos[0]) or type(args.pos[0]) in (list, tuple, dict):
            return False
    if len(args.pos) == 2 and v.is_const(args.pos[0]):
        # `isinstance(k, int)`, `isinstance(k, (tuple, list))` on a constant.
        classes = args.pos[1] if type(args.pos[1]) is tuple else (args.pos[1],)
        py_types = tuple(_PY_TYPES.get(c.name) if isinstance(c, v.Builtin) else None
                         for c in classes)
        if classes and None not in py_types:
            return isinstance(args.pos[0], py_types)  # type: ignore[arg-type]
    if len(args.pos) == 2 and isinstance(args.pos[0], (v.LibraryObject, v.FilePath)):
        classes = args.pos[1] if isinstance(args.pos[1], tuple) else (args.pos[1],)
        if all(isinstance(c, v.Builtin) for c in classes):
            return False  # `isinstance(args, tuple)` on a parser
    if len(args.pos) == 2 and isinstance(args.pos[0], (*v.MODULE_VALUES, v.FuncVal,
                                                         v.ClassVal)) \
            and not isinstance(args.pos[0], v.Choice):
        # A module (or a function, a class) is no str or int; a module is an nn.Module.
        classes = args.pos[1] if isinstance(args.pos[1], tuple) else (args.pos[1],)
        if all(isinstance(c, v.Builtin) for c in classes):
            return False
        if isinstance(args.pos[0], v.MODULE_VALUES) and any(
                isinstance(c, v.Ref) and c.qualname == "torch.nn.Module" for c in classes):
            return True
    return UNKNOWN


def _layer_isinstance(layer: v.LayerSpec, classes: Any) -> Any:
    """`isinstance(m, nn.Conv2d)` for a torch layer (an init helper's loop over the modules
    of an `nn.Sequential`): decided by its kind for torch.nn classes; a project class is
    never a torch layer's type."""
    classes = classes if isinstance(classes, (tuple, list)) else (classes,)
    for cls in classes:
        if isinstance(cls, v.Ref) and cls.qualname.startswith("torch.nn."):
            name = cls.qualname.rsplit(".", 1)[-1]
            if name == "Module" or layer.kind in kinds_named(name, exact=True):
                return True
        elif not isinstance(cls, (v.ClassVal, v.Builtin)):
            return UNKNOWN
    return False


# What `callable(x)` and `inspect.isfunction(x)` can tell from an abstract value.
_CALLABLE = (v.FuncVal, v.ClassVal, v.Builtin, v.Ref, v.BoundMethod, *v.MODULE_VALUES)
_FUNCTION = (v.FuncVal,)


def _builtin_globals(interp: Interp, args: Args) -> Any:
    """`globals()`: the namespace of the file making the call (`globals()[cfg.arch]` picks a
    network of the module by name, as `models.__dict__[...]` does)."""
    call = interp.current_call
    if call is None or args.pos or args.kw:
        return UNKNOWN
    return call[1].scope.globals


def _builtin_type(interp: Interp, args: Args) -> Any:
    """`type(x)` of a constant, a list, a tuple or a dict: the builtin type, so that
    `type(x) == int` in a config-driven builder (VGG's `[64, "M", ...]`) is decided."""
    if len(args.pos) == 1 and not args.kw and type(args.pos[0]) in (
            int, float, str, bool, list, tuple, dict):
        return v.Builtin(type(args.pos[0]).__name__)
    if len(args.pos) == 1 and not args.kw and type(args.pos[0]) is v.Tensor:
        # `if type(outputs) not in (tuple, list): outputs = (outputs,)` in a training step
        return v.Ref("torch.Tensor")
    if len(args.pos) == 1 and not args.kw and type(args.pos[0]) is v.EachModule:
        return args.pos[0]  # `type(m) == nn.Linear` in an init function, as `m.__class__`
    return UNKNOWN


def _kind_test(args: Args, kinds: tuple[type, ...]) -> Any:
    if len(args.pos) != 1:
        return UNKNOWN
    value = args.pos[0]
    if isinstance(value, kinds) and not (isinstance(value, v.Ref) and kinds is _FUNCTION):
        return True
    if v.is_const(value) or isinstance(value, (*v.MODULE_VALUES, v.ClassVal)) \
            and kinds is _FUNCTION:
        return False
    return UNKNOWN


BUILTINS: dict[str, Callable[[Interp, Args], Any]] = {
    "range": _builtin_range,
    "len": _builtin_len,
    "any": _builtin_any,
    "all": _builtin_all,
    "list": _builtin_list,
    "tuple": _builtin_tuple,
    "namedtuple": lambda interp, args: (*args.pos, *args.kw.values()),
    "dict": builtin_dict,
    "enumerate": _builtin_enumerate,
    "zip": _builtin_zip,
    "reversed": _builtin_reversed,
    "getattr": _builtin_getattr,
    "setattr": _builtin_setattr,
    "isinstance": _builtin_isinstance,
    "type": _builtin_type,
    "globals": _builtin_globals,
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
    "open": lambda interp, args: configs.path_of(args.pos[:1]),
    "super": lambda interp, args: UNKNOWN,  # `call` answers it: it needs the frame
    "callable": lambda interp, args: _kind_test(args, _CALLABLE),
}

# The math module's pure functions, on constants: block counts and widths scaled by a
# multiplier (`ceil(repeats * depth_mult)`, `int(math.log2(size))`).
MATH_FUNCTIONS: dict[str, Callable[[Interp, Args], Any]] = {
    f"math.{name}": _wrap(getattr(math, name))
    for name in ("ceil", "floor", "trunc", "sqrt", "isqrt", "exp", "log", "log2", "log10",
                 "pow", "fabs", "gcd", "prod")}

def _regex(fn: Callable[..., Any]) -> Callable[[Interp, Args], Any]:
    """`re.split(pattern, text)` (and findall, sub) on constant strings: timm decodes its
    block strings so (`re.split(r"(\\d.*)", "k3")`). Only a short text and a pattern that
    cannot backtrack without end are run; anything else stays not known."""
    def call(interp: Interp, args: Args) -> Any:
        consts = _consts(args)
        if consts is None or args.kw or not 2 <= len(consts) <= 3 \
                or not all(type(x) is str for x in consts) or not _tame(consts[0]) \
                or len(consts[-1]) > MAX_REGEX_TEXT:
            return UNKNOWN
        try:
            result = fn(*consts)
        except (re.error, TypeError, ValueError):
            return UNKNOWN
        return result if v.is_const(result) else UNKNOWN
    return call


MAX_REGEX_TEXT = 200
MAX_REGEX_PATTERN = 100


def _tame(pattern: str) -> bool:
    """Whether a pattern is short, has no back-reference, and repeats no group that holds
    a repetition or an alternative (`(a+)+`, `(a|a)*`: the shapes that backtrack
    exponentially)."""
    if len(pattern) > MAX_REGEX_PATTERN or re.search(r"\\[1-9]|\(\?P=", pattern):
        return False
    opened: list[int] = []
    i, end = 0, len(pattern)
    while i < end:
        char = pattern[i]
        if char == "\\":
            i += 2  # an escaped character
            continue
        if char == "[":  # a class: its brackets and parens are plain characters
            close = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("]", "^") else i + 1)
            if close < 0:
                return False
            i = close + 1
            continue
        if char == "(":
            opened.append(i)
        elif char == ")":
            if not opened:
                return False
            start = opened.pop()
            inner = pattern[start + 1:i]
            repeated = pattern[i + 1:i + 2] in ("*", "+", "{", "?")
            if repeated and any(c in inner for c in "*+{|?("):
                return False
        i += 1
    return not opened


# Regular expressions on constants (see `_regex`).
REGEX_FUNCTIONS: dict[str, Callable[[Interp, Args], Any]] = {
    "re.split": _regex(re.split), "re.findall": _regex(re.findall), "re.sub": _regex(re.sub)}


NOT_DATA = object()  # `data_copy` of something that is not plain data
MAX_COPIED = 10_000  # containers and items a copy may hold


def data_copy(value: Any, deep: bool) -> Any:
    """`copy.deepcopy(block_args)` (or `copy.copy`) of plain data: dicts, lists and tuples
    of constants and definitions (a class, a function, a torch name), as timm's EfficientNet
    builder copies each block's arguments once per repeat. The copy's containers are new,
    its definitions shared (Python's deepcopy shares functions and classes too). NOT_DATA for
    anything else (a module, a tensor, a config tree, an object): its copy is not this."""
    count = 0

    def copy(item: Any, top: bool) -> Any:
        nonlocal count
        count += 1
        kind = type(item)
        if count > MAX_COPIED:
            return NOT_DATA
        if item is None or kind in _DATA_LEAVES or item is UNKNOWN:
            return item if kind is not v.FuncVal or item.bound is None else NOT_DATA
        if not (top or deep):
            return item if kind in (dict, list, tuple) else NOT_DATA
        if kind is dict:
            table = {}
            for key, x in item.items():
                made = copy(x, False)
                if made is NOT_DATA:
                    return NOT_DATA
                table[key] = made
            return table
        if kind is list or kind is tuple:
            items = [copy(x, False) for x in item]
            if NOT_DATA in items:
                return NOT_DATA
            return items if kind is list else tuple(items)
        return NOT_DATA

    return copy(value, True)


_DATA_LEAVES = frozenset({bool, int, float, str, v.Ref, v.ClassVal, v.FuncVal, v.Builtin,
                          v.PartialVal})


# Standard-library tests of what a value is (pytorchcv's `isfunction(activation)`).
LIBRARY_TESTS: dict[str, Callable[[Args], Any]] = {
    "inspect.isfunction": lambda args: _kind_test(args, _FUNCTION),
    "inspect.isclass": lambda args: (isinstance(args.pos[0], v.ClassVal) or UNKNOWN)
    if len(args.pos) == 1 and not v.is_const(args.pos[0]) else (False if args.pos else UNKNOWN),
    "builtins.callable": lambda args: _kind_test(args, _CALLABLE),
    # The code read is the eager model: not being scripted, traced or compiled.
    "torch.jit.is_scripting": lambda args: False,
    "torch.jit.is_tracing": lambda args: False,
    "torch.compiler.is_compiling": lambda args: False,
    "torch._dynamo.is_compiling": lambda args: False,
}
