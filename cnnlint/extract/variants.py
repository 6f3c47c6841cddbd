"""The ways a project builds a class that needs constructor arguments.

`VGG(vgg_name)` cannot be built with its defaults, but the project says how it is built:
literal calls (`VGG('VGG19')` in a training script, `ResNet(BasicBlock, [2, 2, 2, 2])`) or,
with none, when the one required argument indexes a module-level dict (`cfg[vgg_name]`),
each key of that dict. Each is a *variant*, read like a model of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterator

from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, Frame, TooComplex, assigned_names, identifiers
from cnnlint.extract.memo import args_key
from cnnlint.extract.torchnn import CASTS
from cnnlint.extract.values import UNKNOWN

if TYPE_CHECKING:
    from cnnlint.extract.interp import FileScope, Interp

MAX_CFG_KEYS = 32  # a dict with more keys is a table of something else, not of variants


@dataclass
class Variant:
    label: str  # how messages name it: "VGG('VGG19')"
    args: Args
    path: str  # the file that spells it: the call's, or the class's for a cfg key
    slot: int | None  # the call's slot in that file; None for a cfg key (the class itself)


def required(params: tuple[Any, ...]) -> list[str]:
    """The parameters of a lowered `def` that have no default."""
    return [name for name, default, kind in params if default is None and kind in ("pos", "kw")]


# Parameters that change a network only in the width of its classifier (`num_classes`): a
# factory may leave them to its caller (read as not known), and a build that sets only them
# builds the class's default network otherwise.
CLASS_COUNT = re.compile(r"(num_?|n_?|number_of_)?class(es)?(_num)?", re.IGNORECASE)


def sets_class_count_only(cls: v.ClassVal, positional: int, keywords: list[str]) -> bool:
    """Whether a call `cls(...)` with that many positional arguments and those keywords sets
    no constructor parameter but the number of classes."""
    init = cls.lookup("__init__")
    if not isinstance(init, v.FuncVal):
        return False
    params = [name for name, _default, kind in init.node[2][1:] if kind == "pos"]
    if positional > len(params):
        return False
    return all(CLASS_COUNT.fullmatch(name) for name in (*params[:positional], *keywords))


def required_params(cls: v.ClassVal) -> list[str]:
    """The constructor's parameters that have no default (without `self`)."""
    init = cls.lookup("__init__")
    return required(init.node[2][1:]) if isinstance(init, v.FuncVal) else []


def variants(interp: Interp, classes: list[v.ClassVal],
             trained_at: Collection[tuple[str, int]] = ()) -> dict[int, list[Variant]]:
    """The variants of each class (by id), literal calls first, then cfg keys; one per
    label; `Net(in_ch=chans)` in a script, with `chans = 1`, builds the network `Net(in_ch=1)`
    in the class's own file does, and is read (and reported) once, as that one. Of builds
    alike elsewhere, one a training run trains (`trained_at`: (path, line)) is the one kept
    (a sampling script's build of the same network is not where it trains)."""
    return variants_from(interp, classes, literal_builds(interp, classes), trained_at)


def variants_from(interp: Interp, classes: list[v.ClassVal], built: dict[int, list[Variant]],
                  trained_at: Collection[tuple[str, int]] = ()) -> dict[int, list[Variant]]:
    """`variants`, the literal calls given (`literal_builds` of these classes or more). The
    keys of a cfg table are the variants of a class the project never builds with literal
    arguments; one it builds as `VGG('VGG19')` is that build, not every key of the table."""
    return distinct(interp, classes, {id(cls): built[id(cls)] or _cfg_keys(cls)
                                      for cls in classes}, trained_at)


def literal_builds(interp: Interp, classes: list[v.ClassVal]) -> dict[int, list[Variant]]:
    """Every call of the project that builds one of `classes` with static arguments, by
    class id, in the order of the files."""
    wanted = {id(cls): cls for cls in classes}
    found: dict[int, list[Variant]] = {key: [] for key in wanted}
    if not wanted:
        return found
    for path in sorted(interp.scopes):
        scope = interp.scopes[path]
        for call, bound, forwarded in _calls(interp, scope, scope.body, frozenset()):
            interp.steps = 0  # (each call read on its own budget)
            try:
                variant = _literal_call(interp, scope, call, bound, forwarded, wanted)
            except (TooComplex, RecursionError):
                continue  # (`hub_model().encode`: building the callee is too much to read)
            if variant is not None:
                cls, made = variant
                found[id(cls)].append(made)
    return found


def site(interp: Interp, variant: Variant) -> tuple[str, int] | None:
    """The (path, line) of the call that spells a variant; None for a cfg key."""
    loc = interp.scopes[variant.path].loc(variant.slot) if variant.slot is not None else None
    return (variant.path, loc.line) if loc is not None else None


def distinct(interp: Interp, classes: list[v.ClassVal], made: dict[int, list[Variant]],
             trained_at: Collection[tuple[str, int]] = ()) -> dict[int, list[Variant]]:
    """One variant per network of each class that has any (see `_distinct`)."""
    trained = frozenset(trained_at)
    by_id = {id(cls): cls for cls in classes}
    return {key: _distinct(found, by_id[key], lambda variant: site(interp, variant) in trained)
            for key, found in made.items() if found}


def default_like(cls: v.ClassVal, args: Args) -> bool:
    """Whether a call builds the network the class's defaults build: each argument it gives
    is the parameter's literal default, or sets only the number of classes."""
    init = cls.lookup("__init__")
    if not isinstance(init, v.FuncVal) or args.open_pos or args.open_kw:
        return False
    params = init.node[2][1:]
    positional = [name for name, _, kind in params if kind == "pos"]
    if len(args.pos) > len(positional):
        return False
    defaults = {name: default for name, default, _ in params}
    given = {**dict(zip(positional, args.pos)), **args.kw}
    for name, value in given.items():
        default = defaults.get(name)
        if CLASS_COUNT.fullmatch(name):
            continue
        if default is None or default[0] != "const" or type(default[1]) is not type(value) \
                or default[1] != value:
            return False
    return True


def _distinct(made: list[Variant], cls: v.ClassVal, trains: Callable[[Variant], bool]
              ) -> list[Variant]:
    """One variant per network, in the order first met unless a later one `trains`: calls
    with one label, or giving the constructor the same arguments however spelled
    (`Mixer("small")`, `Mixer(depth_tag="small")`, `Mixer("small", bias=True)` where True
    is the default), are one; one spelled in another file
    than the class's that gives the same arguments as one spelled there is that one
    (whichever files a run reads, the class's file is read with them, so the choice is the
    same)."""
    home = cls.scope.path
    at_home = {key for variant in made if variant.path == home
               for key in [args_key(variant.args)] if key is not None}
    kept: dict[Any, Variant] = {}
    same: dict[Any, Any] = {}  # a call's bound arguments -> the key it is kept under
    for variant in made:
        if variant.path != home and args_key(variant.args) in at_home:
            continue
        bound = _bound_key(cls, variant.args)
        key = same.setdefault(bound, variant.label) if bound is not None else variant.label
        first = kept.setdefault(key, variant)
        if first is not variant and not trains(first) and trains(variant):
            kept[key] = variant
    return list(kept.values())


def _bound_key(cls: v.ClassVal, args: Args) -> Any:
    """A key equal for two calls giving the constructor the same arguments by position or by
    name, or one leaving out a parameter the other gives its literal default
    (`Net(n_out=10)`, `Net(n_out=10, use_ckpt=False)`); None when they cannot be told apart
    so."""
    init = cls.lookup("__init__")
    if not isinstance(init, v.FuncVal) or args.open_pos or args.open_kw:
        return None
    params = init.node[2][1:]
    positional = [name for name, _, kind in params if kind == "pos"]
    if len(args.pos) > len(positional):
        return None
    bound = dict(zip(positional, args.pos))
    if any(name in bound for name in args.kw):
        return None
    defaults = {name: default[1] for name, default, _ in params
                if default is not None and default[0] == "const"}
    return args_key(Args([], {**defaults, **bound, **args.kw}))


def referenced_in_own_file(interp: Interp, cls: v.ClassVal) -> bool:
    """Whether the class's own file names it outside its body: a factory, another model or
    a helper builds it, so it is a part, not a model to build with unknown arguments. A
    plain class that holds it (a trainer's `self.G = Generator(args.channels)`) is not a
    network it is part of."""
    for stmt, names in cls.scope.mentions():
        if stmt is cls.node or cls.name not in names or only_builds(stmt, cls.name):
            continue
        holder = cls.scope.globals.get(stmt[1]) if stmt[0] == "class" else None
        if isinstance(holder, v.ClassVal) and holder.node is stmt \
                and not interp.is_module_class(holder):
            continue
        return True
    return False


def only_builds(stmt: tuple[Any, ...], name: str) -> bool:
    """Whether a module-level statement names the class `name` only to build it into plain
    names (`net = Net(n_out=len(classes))` under `if __name__ == "__main__":`, a script's own
    build): that makes the class a network of its own, not a part of another one."""
    tag = stmt[0]
    if tag == "assign":
        targets, value = stmt[1], stmt[2]
        while value[0] == "call" and value[1][0] == "attr" and value[1][2] in CASTS:
            value = value[1][1]  # (`Net(n).to(device)`)
        if value[0] == "call" and value[1] == ("name", name) \
                and all(t[0] == "name" for t in targets):
            return name not in identifiers((value[2], value[3]))
        return name not in identifiers(stmt)
    if tag == "if":
        return name not in identifiers(stmt[1]) and all(
            only_builds(inner, name) for block in (stmt[2], stmt[3]) for inner in block)
    return tag in ("expr", "for", "while", "with", "augassign") and name not in identifiers(stmt)


def _calls(interp: Interp, scope: FileScope, body: Any, bound: frozenset[str],
           forwarded: frozenset[str] = frozenset()
           ) -> Iterator[tuple[tuple[Any, ...], frozenset[str], frozenset[str]]]:
    """Every call in `body` with the local names bound where it is made, and the `**`
    parameter of the function it is in (`def generate(depth, **kwargs)`), whose keywords the
    callers may leave empty. The code of nn.Module classes (parts built inside a model) and
    of factories (built as models of their own) is left out."""
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        tag = item[0]
        if tag == "def" and len(item) == 6:
            if not bound and _is_factory(item):
                continue
            params = frozenset(p[0] for p in item[2])
            local = frozenset(assigned_names(item[3]))
            yield from _calls(interp, scope, item[3], bound | params | local,
                              frozenset(p[0] for p in item[2] if p[2] == "dstar") - local)
            continue
        if tag == "class" and len(item) == 7:
            cls = scope.globals.get(item[1])
            if isinstance(cls, v.ClassVal) and interp.is_module_class(cls):
                continue
            yield from _calls(interp, scope, item[4], bound)
            continue
        if tag == "call" and len(item) == 5:
            yield item, bound, forwarded
        stack.extend(item)


def _is_factory(stmt: tuple[Any, ...]) -> bool:
    from cnnlint.extract.models import is_factory_candidate

    return is_factory_candidate(stmt)


def _literal_call(interp: Interp, scope: FileScope, call: tuple[Any, ...],
                  bound: frozenset[str], forwarded: frozenset[str],
                  wanted: dict[int, v.ClassVal]) -> tuple[v.ClassVal, Variant] | None:
    """`Net(Block, [2, 2, 2, 2])` with static arguments: a variant. Keywords forwarded from
    the enclosing function's `**kwargs` are left out (its callers may pass none)."""
    func, pos = call[1], call[2]
    kw = tuple((k, e) for k, e in call[3] if not (k is None and e[0] == "name"
                                                   and e[1] in forwarded))
    if not _static(func, bound):
        return None
    frame = Frame(scope)
    cls = interp.eval(func, frame)
    if not isinstance(cls, v.ClassVal) or id(cls) not in wanted:
        return None
    if any(a[0] == "*" or not _static(a, bound) for a in pos) \
            or any(k is None or not _static(e, bound) for k, e in kw):
        return None
    args = Args([interp.eval(a, frame) for a in pos],
                {k: interp.eval(e, frame) for k, e in kw})
    if any(x is UNKNOWN for x in (*args.pos, *args.kw.values())) or not accepts(cls, args):
        return None
    texts = [render(a) for a in pos] + [f"{k}={render(e)}" for k, e in kw]
    return cls, Variant(f"{cls.name}({', '.join(texts)})", args, scope.path, call[4])


def accepts(cls: v.ClassVal, args: Args) -> bool:
    """Whether the constructor takes these arguments: a call Python would refuse with a
    TypeError (`VGG("VGG19", num_classes=10)` for `__init__(self, vgg_name)`) builds
    nothing, so it is no variant."""
    init = cls.lookup("__init__")
    if not isinstance(init, v.FuncVal) or args.open_pos or args.open_kw:
        return True  # a library's constructor, or arguments not all known
    params = init.node[2][1:]
    kinds = {kind for _, _, kind in params}
    positional = [name for name, _, kind in params if kind == "pos"]
    if len(args.pos) > len(positional) and "star" not in kinds:
        return False
    filled = set(positional[:len(args.pos)])
    named = {name for name, _, kind in params if kind in ("pos", "kw")}
    if any(key in filled or (key not in named and "dstar" not in kinds) for key in args.kw):
        return False
    return all(name in filled or name in args.kw for name in required(params))


def _static(e: tuple[Any, ...], bound: frozenset[str]) -> bool:
    """An expression whose value is the same wherever it is read: literals, names of the
    module level (not rebound locally), and calls of those on such values (`get_widths()`,
    a helper returning a constant table)."""
    tag = e[0]
    if tag == "const":
        return True
    if tag == "call":
        return _static(e[1], bound) and all(a[0] != "*" and _static(a, bound) for a in e[2]) \
            and all(k is not None and _static(x, bound) for k, x in e[3])
    if tag == "name":
        return e[1] not in bound
    if tag == "attr":
        return _static(e[1], bound)
    if tag == "unary":
        return _static(e[2], bound)
    if tag == "binop":
        return _static(e[2], bound) and _static(e[3], bound)
    if tag in ("list", "tuple", "set"):
        return all(x[0] != "*" and _static(x, bound) for x in e[1])
    if tag == "dict":
        return all(k is not None and _static(k, bound) and _static(x, bound) for k, x in e[1])
    return False


def render(e: tuple[Any, ...]) -> str:
    """Source-like text of a static expression, for labels."""
    tag = e[0]
    if tag == "const":
        return repr(e[1])
    if tag == "name":
        return str(e[1])
    if tag == "attr":
        return f"{render(e[1])}.{e[2]}"
    if tag == "unary":
        return f"{e[1]} {render(e[2])}" if e[1] == "not" else f"{e[1]}{render(e[2])}"
    if tag == "binop":
        return f"{render(e[2])} {e[1]} {render(e[3])}"
    if tag in ("list", "tuple", "set"):
        inner = ", ".join(render(x) for x in e[1])
        if tag == "tuple":
            return f"({inner},)" if len(e[1]) == 1 else f"({inner})"
        return f"[{inner}]" if tag == "list" else f"{{{inner}}}"
    if tag == "dict":
        return "{" + ", ".join(f"{render(k)}: {render(x)}" for k, x in e[1]) + "}"
    if tag == "call":
        given = [render(a) for a in e[2]] + [f"{k}={render(x)}" for k, x in e[3]]
        return f"{render(e[1])}({', '.join(given)})"
    return "..."


def _cfg_keys(cls: v.ClassVal) -> list[Variant]:
    """`cfg[vgg_name]` in the constructor, with `cfg` a module-level dict: one variant per
    key (only for a class whose one required argument is that index)."""
    required = required_params(cls)
    init = cls.lookup("__init__")
    if len(required) != 1 or not isinstance(init, v.FuncVal):
        return []
    param = required[0]
    local = set(assigned_names(init.node[3]))
    stack: list[Any] = [init.node[3]]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        if item[0] == "sub" and len(item) == 3 and item[2] == ("name", param) \
                and item[1][0] == "name" and item[1][1] not in local:
            table = init.scope.globals.get(item[1][1])
            if type(table) is dict and 0 < len(table) <= MAX_CFG_KEYS \
                    and all(type(k) in (str, int) for k in table):
                return [Variant(f"{cls.name}({key!r})", Args([], {param: key}),
                                cls.scope.path, None) for key in table]
        stack.extend(item)
    return []
