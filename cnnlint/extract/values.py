"""The values the static interpreter computes with.

Plain Python constants (ints, strings, tuples, lists, dicts) stand for themselves. Everything
else is one of the small classes below. `UNKNOWN` is what the reader cannot know; every
operation on it gives `UNKNOWN` again, so a guess never turns into a fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlint.findings import Loc


class _Unknown:
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # never let an unknown be mistaken for a falsy constant
        raise TypeError("the truth of UNKNOWN is unknown; use interp.truth()")


UNKNOWN: Any = _Unknown()


@dataclass(eq=False)
class Ref:
    """A name from outside the project: `torch.nn.Conv2d`, `collections.OrderedDict`."""

    qualname: str


@dataclass(eq=False)
class Tensor:
    """A tensor flowing through `forward`: the id of the graph node that produced it, and
    the constant it was scaled down by, when that is a residual branch's damping factor
    (`out * 0.1` before `x + out`, see `catalogue.SCALED_BRANCH`); 1 otherwise."""

    node: int
    scale: float = 1.0


class Noise:
    """Random numbers a forward draws afresh (`torch.rand(shape)`, `x.new_empty(shape)
    .bernoulli_(keep)`) and what is computed from them alone (`eps * sigma + 1`,
    `mask.floor_()`): not a tensor of the network's, but a factor that, multiplying one,
    drops or perturbs its features as dropout does (a project's DropPath or GaussianDropout)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOISE"

    # One value: copies (of a frame, of a memoised build) and pickles (the cache) are it.
    def __copy__(self) -> Noise:
        return self

    def __deepcopy__(self, memo: Any) -> Noise:
        return self

    def __reduce__(self) -> str:
        return "NOISE"


NOISE = Noise()


@dataclass(eq=False)
class LayerSpec:
    """A torch layer instance: `nn.Conv2d(3, 64, 3, bias=False)`."""

    kind: str
    args: dict[str, Any]
    loc: Loc | None
    scope: str  # the class or function whose code created it


@dataclass(eq=False)
class SeqSpec:
    """`nn.Sequential`: children in order, with their keys ("0", "1" or OrderedDict names)."""

    children: list[tuple[str, Any]] = field(default_factory=list)
    # The first child whose position is a guess (it comes after a loop read once for an
    # unknown number of passes); None when every position is known.
    guessed_from: int | None = None
    # Built from values not known (`nn.Sequential(*layers)` of a list the reader could not
    # fill): `children` are only some of it, and what it computes is not known.
    open: bool = False


@dataclass(eq=False)
class ListSpec:
    """`nn.ModuleList`."""

    children: list[Any] = field(default_factory=list)
    guessed_from: int | None = None  # as for SeqSpec


@dataclass(eq=False)
class DictSpec:
    """`nn.ModuleDict`."""

    children: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Choice:
    """A module that is one of several, depending on a condition the reader cannot decide."""

    options: tuple[Any, ...]
    # For a choice by a command-line option (`if args.arch == "small": ... else: ...`): the
    # option the script's default options pick, when known.
    default: Any = None


@dataclass(eq=False)
class ClassVal:
    """A class defined in the project."""

    name: str
    scope: Any  # the FileScope that defines it
    node: tuple[Any, ...]
    bases: list[Any] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)

    def library_bases(self, seen: frozenset[int] = frozenset()) -> list[str]:
        """The qualified names of the library classes it derives from, directly or through
        the project's own classes."""
        found: list[str] = []
        for base in self.bases:
            if isinstance(base, Ref):
                found.append(base.qualname)
            elif isinstance(base, ClassVal) and id(base) not in seen:
                found += base.library_bases(seen | {id(self)})
        return found

    def project_bases(self, seen: frozenset[int] = frozenset()) -> list[ClassVal]:
        """The project's classes it derives from, directly or not."""
        found: list[ClassVal] = []
        for base in self.bases:
            if isinstance(base, ClassVal) and id(base) not in seen:
                found += [base, *base.project_bases(seen | {id(self)})]
        return found

    def lookup(self, name: str, seen: frozenset[int] = frozenset()) -> Any:
        """Class attribute lookup through the project's bases (None when absent)."""
        if name in self.namespace:
            return self.namespace[name]
        for base in self.bases:
            if isinstance(base, ClassVal) and id(base) not in seen:
                found = base.lookup(name, seen | {id(self)})
                if found is not None:
                    return found
        return None


@dataclass(eq=False)
class FuncVal:
    """A function or method defined in the project."""

    name: str
    scope: Any  # the FileScope that defines it
    node: tuple[Any, ...]
    closure: dict[str, Any] | None = None
    owner: str = ""  # the class for a method
    bound: Any = None  # `self` for a bound method
    cls: Any = None  # the ClassVal that defines a method (what `super()` starts from)

    def decorated(self, name: str) -> bool:
        """Whether the definition carries `@name` (`classmethod`, `staticmethod`)."""
        return any(d[0] == "name" and d[1] == name for d in self.node[4])


@dataclass(eq=False)
class PartialVal:
    """`functools.partial(func, *pos, **kw)`: calling it calls `func` with these first."""

    func: Any
    pos: tuple[Any, ...] = ()
    kw: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Instance:
    """An instance of a project class; for nn.Module subclasses, `attrs` holds the children."""

    cls: ClassVal
    attrs: dict[str, Any] = field(default_factory=dict)
    # The factory a module level built it with ("models.resnet:resnet18"), for registries
    # of built models (`CLASSIFIERS = {"resnet18": resnet18(), ...}`).
    made_by: str = ""
    # For a subclass of a torch layer with a forward of its own (a masked conv): the layer
    # its constructor built through torch's, where it was built, which `super().forward` runs.
    torch_layer: LayerSpec | None = None


@dataclass(eq=False)
class Builtin:
    name: str


@dataclass(eq=False)
class BoundMethod:
    """`obj.method` for objects whose methods the interpreter implements (list.append, ...)."""

    obj: Any
    name: str


@dataclass(eq=False)
class ModuleVal:
    """A project module imported as a whole (`from . import blocks`, `import models`). A
    package has a folder its submodules are found in; a folder without `__init__.py` has no
    scope of its own."""

    scope: Any  # the FileScope, or None for a namespace package
    folder: str | None = None


@dataclass(eq=False)
class ModuleName:
    """`__name__` of a module read for its definitions: it equals no constant the reader
    knows, but `sys.modules[__name__]` is the module itself (factories registered with
    `setattr(sys.modules[__name__], name, partial(...))`)."""

    scope: Any


@dataclass(frozen=True)
class LongRange:
    """`range(10000)`: too long to run pass by pass. Its length is known, its items are not
    (a loop over it runs once with unknown numbers)."""

    length: int


@dataclass(eq=False)
class SuperVal:
    instance: Any
    cls: ClassVal


@dataclass(eq=False)
class Opaque:
    """Something a script builds that the training reader cannot compute but can follow by
    identity: what a library call returns (`timm.create_model(...)`, `logging.getLogger()`),
    or a parameter of a function read without its caller. `model` is set once it is used as
    a model (its `.parameters()` taken, `.eval()` called, wrapped in DataParallel)."""

    origin: str  # source-like text, for messages: "timm.create_model(...)"
    library: str = ""  # the package it comes from ("timm", "logging"); "" when unknown
    model: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)  # attributes read so far
    parent: Any = None  # for `obj.attr`: obj (calling it is a method call)
    attr: str = ""
    # For a library network: the layer families its builder is known to give it.
    families: frozenset[str] | None = None
    # A running average of a network's weights (`AveragedModel(net)`): a copy of that one.
    averages: bool = False
    # For a library network whose forward ends in one attribute's module (a torchvision
    # classifier's `fc`): that attribute, and the module the script put there, if any.
    head: str = ""
    new_head: Any = None
    # The families of `families` the builder's head holds (a VGG classifier's dropout): a
    # network whose head the script replaced holds them no more.
    head_families: frozenset[str] = frozenset()
    # Made by a call not followed that was handed no network, no weights and nothing else
    # not followed (`make_scheduler(optimizer, epochs)`), or an attribute or result of such
    # a value: calls on it cannot reach a network they are not given.
    detached: bool = False


def attach(value: Any) -> None:
    """A value from code not followed that was handed a network (or may hold one now) is
    no longer detached from every network, nor is what it is an attribute of."""
    while isinstance(value, Opaque) and value.detached:
        value.detached = False
        value = value.parent


class LibraryObject:
    """A library object the training reader models (a DataLoader, an optimizer, an argparse
    parser): never an instance of a builtin type."""


@dataclass(frozen=True)
class FilePath:
    """A file path the code names with known text (`Path("config.json")`, `open(path)`):
    a configuration file there can be read (never a module: nothing is run)."""

    path: str


class ConfigNode(dict):  # type: ignore[type-arg]
    """A configuration tree whose keys are also attributes: yacs `CfgNode`, OmegaConf's
    `create`, `EasyDict`, addict's `Dict`, ml_collections' `ConfigDict`. Models read their
    defaults from it (`cfg.MODEL.DEPTH`); a merge from a file or a command line makes what
    it holds unknown."""


@dataclass(eq=False)
class Candidates:
    """One of several builders, picked by a value the reader does not know: a registry
    `MODELS[args.arch]` whose entries can all be listed."""

    options: tuple[Any, ...]
    default: Any = None  # the one the script's default options pick, when known


@dataclass(eq=False)
class Params:
    """`model.parameters()` (or `named_parameters()`): a model's weights, as handed to an
    optimizer."""

    model: Any
    named: bool = False  # named_parameters(): (name, parameter) pairs


def is_const(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (tuple, list)):
        return all(is_const(v) for v in value)
    return False


def is_key(value: Any) -> bool:
    """A constant that can key a dict: no list inside (`d[["a"]]` raises in Python)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, tuple) and all(is_key(x) for x in value)


MODULE_VALUES = (LayerSpec, SeqSpec, ListSpec, DictSpec, Choice, Instance)
# The same, for `type(x) in MODULE_KINDS`: none of them is subclassed, and a set lookup is
# cheaper than `isinstance` on the paths that ask of every value.
MODULE_KINDS = frozenset(MODULE_VALUES)


def named_children(item: Any) -> list[tuple[Any, Any]]:
    """The (name, child) pairs of a module value, as torch names its submodules (the options
    of a Choice are not children: they sit at its own path)."""
    kind = type(item)
    if kind is SeqSpec:
        return list(item.children)
    if kind is ListSpec:
        return list(enumerate(item.children))
    if kind is DictSpec:
        return list(item.children.items())
    if kind is Instance:
        return [(key, child) for key, child in item.attrs.items()
                if isinstance(child, MODULE_VALUES)]
    return []


def path_to(root: Any, target: Any) -> str | None:
    """The path of `target` inside the module `root` (`pred.1`), the first one depth first;
    None when it is not inside."""
    stack: list[tuple[Any, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        item, path = stack.pop()
        if item is target:
            return path
        if id(item) in seen:
            continue
        seen.add(id(item))
        if type(item) is Choice:
            stack.extend((option, path) for option in reversed(item.options))
            continue
        lead = f"{path}." if path else ""
        stack.extend((child, f"{lead}{key}") for key, child in reversed(named_children(item)))
    return None


@dataclass(eq=False)
class EachModule:
    """`m` in `for m in self.modules()` or in `self.apply(fn)`: every submodule at once,
    narrowed to `kinds` by an `isinstance` test (None: not narrowed)."""

    kinds: tuple[str, ...] | None = None
    of: Any = None  # the module whose submodules these are, when known
    # Only some of them, picked by a test the reader cannot decide (`if "bn" in name:`
    # with the name from `named_modules()`): which ones is not known.
    some: bool = False


@dataclass(eq=False)
class ClassNameOf:
    """`m.__class__.__name__` of an EachModule (DCGAN's `classname.find("Conv")`)."""

    module: EachModule


@dataclass(eq=False)
class Narrowing:
    """The value of `isinstance(m, nn.Conv2d)` for an EachModule: true for some modules."""

    module: EachModule
    kinds: tuple[str, ...]


@dataclass(eq=False)
class ParamRef:
    """`layer.weight` or `layer.bias` (also through `.data`)."""

    owner: Any  # a LayerSpec or an EachModule
    name: str


@dataclass(eq=False)
class GradOf:
    """`layer.weight.grad`: the gradient of a weight, a tensor that a penalty added by hand
    (`m.weight.grad.data.add_(s * torch.sign(m.weight.data))`) changes in place."""

    param: Any  # the ParamRef, or the Params of a model (training code)


def network_in(value: dict[Any, Any]) -> Any:
    """The one network a dict holds (`{"backbone": ResNet(...), "dim": 512}`, as a factory
    returns it); None when it holds none or several."""
    held = [x for x in value.values() if isinstance(x, MODULE_VALUES)]
    return held[0] if len(held) == 1 else None
