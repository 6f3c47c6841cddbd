"""Models picked by name from a registry: `models.__dict__[args.arch]`, a dict of builders
(`{"resnet18": resnet18, "psp": lambda: Net(backend="psp")}`), a dict of built models.

The command line may name any entry, whatever the default: the run records every network
an entry may give as one of its choices. With a key the reader cannot know, the value is
every entry at once, when they are a few classes or functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, TooComplex
from cnnlint.extract.values import UNKNOWN
from cnnlint.extract.variants import required

if TYPE_CHECKING:
    from cnnlint.extract.training.reader import TrainingInterp
    from cnnlint.extract.training.recorder import Recorder

MAX_CANDIDATES = 8  # a registry with more entries than this is read as unknown


def pick(interp: TrainingInterp, rec: Recorder, registry: dict[Any, Any], key: Any) -> Any:
    """`registry[key]` in training code: records what the entries may build as the run's
    choices; every entry (`v.Candidates`) for a key not known, else None (an ordinary
    subscript)."""
    tries: list[tuple[Any, ...]] = []
    namespace = next((s for s in interp.scopes.values() if registry is s.globals), None)
    if namespace is not None:
        rec.choices.update(ir.model_key(x.scope.module, x.name) for x in registry.values()
                           if _may_build_network(interp, x))
        # The networks the module defines: its nn.Module classes and public functions,
        # its own or a package's from its submodules (`from .resnet import *`).
        inside = namespace.module + "."
        tries.append(tuple(x for name, x in registry.items() if not name.startswith("_") and (
            isinstance(x, v.ClassVal) and interp.is_module_class(x)
            or isinstance(x, v.FuncVal) and x.scope is not None and (
                x.scope is namespace or namespace.path.endswith("__init__.py")
                and x.scope.module.startswith(inside)))))
    if len(registry) > 1 and all(isinstance(x, v.Instance) for x in registry.values()):
        # Networks built already: each is a choice (by its class and the factory that built
        # it) once the run trains the one it picks; one picked to evaluate trains none.
        keys = frozenset(k for x in registry.values() for k in (
            ir.model_key(x.cls.scope.module, x.cls.name), x.made_by) if k)
        picked: Any = registry.get(key) if v.is_const(key) and not isinstance(key, list) \
            else None
        if picked is None and (key is UNKNOWN or isinstance(key, v.Opaque)) \
                and len(registry) <= MAX_CANDIDATES:
            picked = v.Choice(tuple(registry.values()))
        if picked is None:
            rec.choices.update(keys)  # which one it picks is not followed
        else:
            rec.pending_choices.append((picked, keys))
            if isinstance(picked, v.Choice):
                return picked
    if all(isinstance(x, (v.ClassVal, v.FuncVal)) for x in registry.values()):
        tries.append(tuple(registry.values()))
    # A registry of builders by name (`{"resnet18": resnet18, ...}`, or entries such as
    # `[resnet18, 512]`): a name given at run time may pick any of them.
    builders = [x[0] if type(x) in (list, tuple) and x else x for x in registry.values()]
    if len(registry) > 1 and type(key) is str and all(
            isinstance(b, (v.ClassVal, v.FuncVal)) and b.scope is not None for b in builders):
        rec.choices.update(ir.model_key(b.scope.module, b.name) for b in builders
                           if b.name != "<lambda>" and _may_build_network(interp, b))
        for builder in builders:
            if builder.name == "<lambda>":
                rec.choices.update(networks_built_by(interp, builder))
    if key is UNKNOWN or isinstance(key, v.Opaque):
        for options in tries:
            if 1 < len(options) <= MAX_CANDIDATES:
                return v.Candidates(options)
    return None


def _may_build_network(interp: TrainingInterp, x: Any) -> bool:
    """A function of the project, or one of its nn.Module classes (a registry of dataset
    classes picks no network)."""
    return isinstance(x, v.FuncVal) and x.scope is not None \
        or isinstance(x, v.ClassVal) and x.scope is not None and interp.is_module_class(x)


def networks_built_by(interp: TrainingInterp, builder: v.FuncVal) -> set[str]:
    """The networks a registry's unnamed entry (`"psp": lambda: Net(backend="psp")`)
    builds, its parts included: read as model code, with no training events."""
    if required(builder.node[2]):
        return set()
    saved, interp.recorder = interp.recorder, None
    try:
        built = interp.call_function(builder, Args())
    except (TooComplex, RecursionError):
        return set()
    finally:
        interp.recorder = saved
    found: set[str] = set()
    for part in interp.submodules(built):
        if type(part) is v.Instance and interp.is_module_class(part.cls):
            found.add(ir.model_key(part.cls.scope.module, part.cls.name))
            if part.made_by:
                found.add(part.made_by)
    return found
