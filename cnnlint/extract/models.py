"""Project facts for models: every nn.Module class and model factory of the run, as IR."""

from __future__ import annotations

import os
import re

from typing import Any, Callable, Collection, Iterable, Iterator, Mapping

from cnnlint import ir
from cnnlint.extract import torchnn
from cnnlint.extract import values as v
from cnnlint.extract.frames import identifiers
from cnnlint.extract.interp import Args, FileScope, Frame, Interp, TooComplex, tensors_in
from cnnlint.extract.modules import ProjectModules
from cnnlint.extract.source import FileFacts
from cnnlint.extract.values import UNKNOWN
from cnnlint.extract.variants import (
    CLASS_COUNT, default_like, distinct, literal_builds, referenced_in_own_file, required,
    required_params, site, Variant, variants, variants_from,
)
from cnnlint.fanout import can_fork
from cnnlint.findings import ErrorEntry, Loc
from cnnlint.graph import MAX_NODES


def build_interp(files: Iterable[FileFacts], locator: Any = None,
                 modules: ProjectModules | None = None) -> Interp:
    """An interpreter over the files' code; imports of other project files resolve through
    `modules` (by default: among these files only)."""
    from cnnlint.extract.training import TrainingInterp

    facts = [f for f in files if f.body]
    if modules is None:
        modules = ProjectModules.of_files([f.path for f in facts])
    if modules.locator is None:
        modules.locator = locator
    scopes = [FileScope(f.path, modules.module_name(f.path), f.body, f.spans, locator)
              for f in facts]
    interp = TrainingInterp(scopes, modules)
    for scope in list(interp.scopes.values()):
        interp.load(scope)
    return interp


def extract_models(interp: Interp, errors: list[ErrorEntry] | None = None,
                   jobs: int = 1, wanted: Callable[[str, str], bool] | None = None,
                   notes: list[str] | None = None,
                   trained_at: Collection[tuple[str, int]] = (),
                   trained_builds: Mapping[str, frozenset[tuple[str, int]]] | None = None
                   ) -> list[ir.Model]:
    """Every model of the run (those `wanted(path, key)` accepts), in a stable order. A model
    the reader fails on becomes an `internal` error entry (when `errors` is given) and the
    others are still read. With jobs > 1 (and a process that may fork), forked workers
    share the building. `trained_at`: the (path, line) of the builds training runs train,
    where a variant built alike in several places is placed. `trained_builds`: for a class
    key, the (path, line) of every build of it the runs train, when each is known (see
    `_candidates`)."""
    if errors is not None:
        errors.extend(ErrorEntry(path=s.path, kind="internal", message=(
            f"reading the module level failed: {s.load_error}"))
            for s in interp.scopes.values() if s.load_error
            and (wanted is None or wanted(s.path, "")))
    candidates, unbuilt = _candidates(interp, trained_at, trained_builds or {})
    models = _build_all(interp, candidates, jobs, errors, wanted)
    stopped = {m.key: m.stopped for m in models if m.stopped}
    if stopped:
        # Classes whose defaults stop their constructor (a failed assertion, a keyword not
        # given) are read as the calls of the project that build them (as classes needing
        # arguments are), or not at all.
        models = [m for m in models if not m.stopped]
        why = {id(c[4]): stopped[key] for c in candidates
               if c[2] == "class" and (key := _key(interp, c)) in stopped}
        classes = [c[4] for c in candidates if id(c[4]) in why]
        made = variants(interp, classes, trained_at)
        models.extend(_build_all(interp, [
            _variant_candidate(interp, cls, variant)
            for cls in classes for variant in made.get(id(cls), [])], jobs, errors, wanted))
        if notes is not None:
            notes.extend(_stopped_note(cls, why[id(cls)]) for cls in classes
                         if id(cls) not in made)
    # A network that only functions needing arguments build (`tower(num_classes, loss)`)
    # is read through them, those arguments not known, where it is then read in full with
    # no `if` left undecided (the arguments only size a layer or pick a loss); else it stays
    # a network not read.
    read = _read_keys(models)
    unread = [cls for cls in unbuilt if _key_of(cls) not in read]
    models.extend(m for m in _build_all(interp, _builders_needing_arguments(unread), jobs,
                                        errors, wanted)
                  if m.network.complete and all(n.kind != ir.MERGE for n in m.network.nodes))
    if notes is not None:
        notes.extend(_unread_networks(unbuilt, models, wanted))
    if wanted is not None:
        models.extend(_handed_back(interp, models, candidates, jobs))
    return models


def _handed_back(interp: Interp, models: list[ir.Model], candidates: list[Candidate],
                 jobs: int) -> list[ir.Model]:
    """The models of other files that the run's factories were built from and the run did
    not build (`vgg11()` in models.py behind a test script's `build_model()`, or the class
    `Net` a loader's `restore()` builds, models.py not linted), built for comparison only:
    a factory that hands one back as it is is that model, judged where it is defined,
    whichever files are linted."""
    built = {m.key for m in models}
    wanted = {key: m.path for m in models if m.kind == "factory"
              for key in (*m.parts, m.class_key) if key and key not in built}
    chosen = [c for c in candidates if c[2] in ("class", "factory")
              and wanted.get(_key(interp, c), c[0]) != c[0]]
    found = _build_all(interp, chosen, jobs, [], None)
    for model in found:
        model.for_comparison = True
    return found


def _build_all(interp: Interp, candidates: list[Candidate], jobs: int,
               errors: list[ErrorEntry] | None,
               wanted: Callable[[str, str], bool] | None) -> list[ir.Model]:
    if wanted is not None:
        # (A variant placed at its class is wanted where it is built, too: the call is the
        # finding's other end.)
        candidates = [c for c in candidates
                      if wanted(c[0], key := _key(interp, c))
                      or c[2] == "variant" and c[3] is None and wanted(c[4][1].path, key)]
    if jobs > 1 and len(candidates) >= MIN_PARALLEL_MODELS and can_fork():
        outcomes = _build_forked(interp, candidates, jobs)
    else:
        outcomes = [_build_one(interp, c) for c in candidates]
    models: list[ir.Model] = []
    for model, error in outcomes:
        if error is not None:
            if errors is None:
                raise RuntimeError(error.message)
            errors.append(error)
        elif model is not None:
            models.append(model)
    return models


def _key_of(cls: v.ClassVal) -> str:
    return ir.model_key(cls.scope.module, cls.name)


def _read_keys(models: list[ir.Model]) -> set[str]:
    """The networks the built models are, or hold."""
    return {key for m in models for key in (m.key, m.class_key, *m.parts)}


def _builders_needing_arguments(classes: list[v.ClassVal]) -> list[Candidate]:
    """The module-level functions of each class's file that build it and return something,
    needing arguments other than a number of classes (those are built already)."""
    found: dict[int, Candidate] = {}
    for cls in classes:
        scope = cls.scope
        for stmt, names in scope.mentions():
            if stmt[0] != "def" or cls.name not in names or id(stmt) in found \
                    or is_factory_candidate(stmt) or not _returns_value(stmt[3]):
                continue
            fn = scope.globals.get(stmt[1])
            if isinstance(fn, v.FuncVal) and fn.node is stmt:
                found[id(stmt)] = (scope.path, stmt[1], "factory", stmt[5], fn)
    return list(found.values())


def _where(cls: v.ClassVal) -> str:
    """Where a class is defined, as notes name it ("nets.py:12")."""
    loc = cls.scope.loc(cls.node[5])
    return f"{loc.path}:{loc.line}" if loc is not None else cls.scope.path


def _stopped_note(cls: v.ClassVal, why: str) -> str:
    return (f"{_where(cls)}: `{cls.name}` is not read: its defaults {why}, and no call the "
            "reader can read builds it")


def _unread_networks(unbuilt: list[v.ClassVal], models: list[ir.Model],
                     wanted: Callable[[str, str], bool] | None) -> list[str]:
    """Why a network class has no finding at all: it needs arguments, and nothing the run
    builds holds it (its file builds it only in a function that needs arguments too, such
    as `get_net(config)`)."""
    read = _read_keys(models)
    out = []
    for cls in unbuilt:
        key = _key_of(cls)
        if key in read or (wanted is not None and not wanted(cls.scope.path, key)):
            continue
        if any(stmt[0] != "def" for stmt, names in cls.scope.mentions()
               if stmt is not cls.node and cls.name in names):
            continue  # a block of another class (or of a table of blocks): said of that one
        where = _where(cls)
        needs = ", ".join(f"`{name}`" for name in required_params(cls)[:3])
        out.append(f"{where}: `{cls.name}` is not read: its constructor needs {needs}, and "
                   "no network the reader builds holds it")
    return out


# A candidate: (the file its findings go to, name, "class" | "factory" | "variant" |
# "global", slot, the ClassVal, FuncVal, PartialVal, Variant or module-level Sequential).
Candidate = tuple[str, str, str, Any, Any]
MIN_PARALLEL_MODELS = 64  # below this, forking costs more than it saves


def _module_level(body: tuple[Any, ...], depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """The statements the module level runs: its own, and those inside its `try:` blocks
    and `if` blocks (`try: import torch.nn as nn; class Net(nn.Module): ...`)."""
    for stmt in body:
        yield stmt
        if depth < 3 and stmt[0] == "try":
            yield from _module_level(stmt[1], depth + 1)
            yield from _module_level(stmt[3], depth + 1)
        elif depth < 3 and stmt[0] == "if":
            yield from _module_level(stmt[2], depth + 1)
            yield from _module_level(stmt[3], depth + 1)


def _candidates(interp: Interp, trained_at: Collection[tuple[str, int]] = (),
                trained_builds: Mapping[str, frozenset[tuple[str, int]]] | None = None
                ) -> tuple[list[Candidate], list[v.ClassVal]]:
    """The models of the run: classes built with their defaults, factories called without
    arguments, and for a class that needs arguments, each variant the project spells out.
    A class needing arguments that its own file builds otherwise (a factory, a block of
    another model) is not a model on its own: those come second. A class the project only
    ever trains with other arguments than its defaults (`Grid(units=4)` in every script
    that trains it: `trained_builds`) is read as those builds, placed at the class."""
    found: list[Candidate] = []
    needing: list[tuple[str, v.ClassVal]] = []
    retrained: list[v.ClassVal] = []
    for path in sorted(interp.scopes):
        scope = interp.scopes[path]
        for stmt in _module_level(scope.body):
            if stmt[0] == "class":
                cls = scope.globals.get(stmt[1])
                if isinstance(cls, v.ClassVal) and cls.node is stmt \
                        and interp.is_module_class(cls):
                    if required_params(cls):
                        needing.append((path, cls))
                    else:
                        found.append((path, stmt[1], "class", stmt[5], cls))
                        if trained_builds and trained_builds.get(_key_of(cls)):
                            retrained.append(cls)  # (empty: a trained build not known)
        found.extend(_factories(scope))
        found.extend(_module_sequentials(interp, scope))
    built = literal_builds(interp, [cls for _, cls in needing] + retrained)
    if retrained:
        found = _as_trained(interp, found, retrained, built, trained_builds or {})
    made = variants_from(interp, [cls for _, cls in needing], built, trained_at)
    built_elsewhere: list[v.ClassVal] = []
    for path, cls in needing:
        if id(cls) in made:
            found.extend(_variant_candidate(interp, cls, variant) for variant in made[id(cls)])
        elif not referenced_in_own_file(interp, cls):
            found.append((path, cls.name, "class", cls.node[5], cls))
        else:
            built_elsewhere.append(cls)
    return found, built_elsewhere


def _variant_candidate(interp: Interp, cls: v.ClassVal, variant: Variant) -> Candidate:
    """A variant, placed at its call; one a test builds (`Net(3, 8)` in a unit test's
    setUp) at the class, whose code its findings are about, the test's call its other end."""
    if variant.slot is not None and cls.scope.path != variant.path \
            and is_test_file(variant.path, interp.file_bases()[:1]):
        return (cls.scope.path, cls.name, "variant", None, (cls, variant))
    return (variant.path, cls.name, "variant", variant.slot, (cls, variant))


# Where pytest looks for tests: files named test_*.py or *_test.py, conftest.py, and what a
# `tests` folder holds.
_TEST_FILE = re.compile(r"(?:test_\w*|\w*_test|conftest)\.py")


def is_test_file(path: str, roots: list[str]) -> bool:
    """Whether `path` is test code: named as pytest names tests, or in a `tests` or `test`
    folder of the project (`roots`: its root, if known; folders above it do not count)."""
    if _TEST_FILE.fullmatch(os.path.basename(path)):
        return True
    where = os.path.abspath(path)
    if roots:
        root = os.path.abspath(roots[0])
        if not where.startswith(root + os.sep):
            return False
        where = where[len(root) + 1:]
    else:
        where = path
    return any(part in ("tests", "test") for part in where.split(os.sep)[:-1])


def _as_trained(interp: Interp, found: list[Candidate], classes: list[v.ClassVal],
                built: dict[int, list[Variant]],
                trained_builds: Mapping[str, frozenset[tuple[str, int]]]) -> list[Candidate]:
    """`found` with each class whose every trained build is a call with static arguments
    that build another network than its defaults replaced by those builds, each placed at
    the class (its findings are about the class's code) and named by its call. The network
    the defaults build is then trained nowhere; one a trained build may share with them
    (an argument not known, a build through a factory, one that only sets the number of
    classes) keeps the class as it is."""
    replaced: dict[int, list[Candidate]] = {}
    for cls in classes:
        sites = trained_builds[_key_of(cls)]
        trained = [variant for variant in built[id(cls)] if site(interp, variant) in sites]
        if {site(interp, variant) for variant in trained} != sites \
                or any(default_like(cls, variant.args) for variant in trained):
            continue
        kept = distinct(interp, [cls], {id(cls): trained})[id(cls)]
        replaced[id(cls)] = [(cls.scope.path, cls.name, "variant", None, (cls, variant))
                             for variant in kept]
    out: list[Candidate] = []
    for candidate in found:
        if candidate[2] == "class" and id(candidate[4]) in replaced:
            out.extend(replaced[id(candidate[4])])
        else:
            out.append(candidate)
    return out


def _factories(scope: FileScope) -> Iterable[Candidate]:
    """Module-level functions that need no arguments and return something, and names bound
    to a `partial` of a project function that leaves none required (also through
    `setattr(sys.modules[__name__], ...)`, next to a stub `def` of the same name)."""
    defs = {stmt[1]: stmt for stmt in scope.body if stmt[0] == "def"}
    for stmt in scope.body:
        if stmt[0] == "def" and is_factory_candidate(stmt):
            fn = scope.globals.get(stmt[1])
            if isinstance(fn, v.FuncVal) and fn.node is stmt:
                yield (scope.path, stmt[1], "factory", stmt[5], fn)
    for name, value in scope.globals.items():
        if type(value) is v.PartialVal and _complete_partial(value):
            stub = defs.get(name)
            slot = stub[5] if stub is not None else _assignment_slot(scope.body, name)
            if slot is None and isinstance(value.func, v.FuncVal) \
                    and value.func.scope is scope:
                slot = value.func.node[5]
            if slot is not None:
                yield (scope.path, name, "factory", slot, value)


def _module_sequentials(interp: Interp, scope: FileScope) -> Iterable[Candidate]:
    """`net = nn.Sequential(...)` at module level (a tutorial's or a notebook's network): a
    model named after its variable, unless another such Sequential holds it (GoogLeNet
    written as `nn.Sequential(b1, b2, b3)`: the whole is judged, not each stage), or a
    module-level instance of a project network does. A name
    that only refers to one built elsewhere (`decoder = net.decoder`) is not another, nor is
    one a factory of the project returned (`model = zoo.deep()`: judged as that factory)."""
    assigned: dict[str, tuple[v.SeqSpec, int]] = {}
    first_named: dict[int, str] = {}  # each Sequential's first name
    for stmt in scope.body:
        if stmt[0] == "assign" and len(stmt[1]) == 1 and stmt[1][0][0] == "name":
            name = stmt[1][0][1]
            value = scope.globals.get(name)
            # The network a name holds at the end is placed at the last assignment that
            # builds one (a notebook's `model = nn.Sequential(...)` rebuilt in a later cell),
            # not at one handing it back (`net = to_device(net)`), nor under a second name
            # (`g = to_device(net)`): judged where it was built, once.
            if type(value) is not v.SeqSpec or first_named.setdefault(id(value), name) != name \
                    or name in assigned and name in identifiers(stmt[2]):
                continue
            if (stmt[2][0] not in ("name", "attr") or interp.sequential_home(value) is None) \
                    and not _made_by_factory(interp, scope, stmt[2]):
                assigned[name] = (value, stmt[3])
    held = {id(child) for value, _ in assigned.values() for _, child in value.children}
    # (Also one a module-level network of the project's classes holds: `vgg11_layers`
    # given to `model = VGG(vgg11_layers, 10)` is judged inside that model.)
    held.update(id(part) for value in scope.globals.values() if type(value) is v.Instance
                for part in value.attrs.values() if type(part) is v.SeqSpec)
    for name, (value, slot) in assigned.items():
        if id(value) not in held:
            yield (scope.path, name, "global", slot, value)


def _made_by_factory(interp: Interp, scope: FileScope, expr: tuple[Any, ...]) -> bool:
    """Whether `expr` calls a project function that is read as a model factory itself."""
    if expr[0] != "call" or expr[1][0] not in ("name", "attr") \
            and expr[1][:2] != ("call", ("name", "getattr")):  # (`getattr(zoo, "deep")()`)
        return False
    try:
        fn = interp.eval(expr[1], Frame(scope))
    except (TooComplex, RecursionError):
        return False
    return isinstance(fn, v.FuncVal) and fn.bound is None and fn.scope is not None \
        and is_factory_candidate(fn.node)


def _complete_partial(value: v.PartialVal) -> bool:
    """Whether a partial's arguments fill every required parameter of what it calls."""
    func = value.func
    if isinstance(func, v.ClassVal):
        needed = required_params(func)
    elif isinstance(func, v.FuncVal) and not func.bound:
        needed = required(func.node[2])
    else:
        return False
    return all(name in value.kw for name in needed[len(value.pos):])


def _assignment_slot(body: tuple[Any, ...], name: str) -> int | None:
    for stmt in body:
        if stmt[0] == "assign" and any(t == ("name", name) for t in stmt[1]):
            return stmt[3]
    return None


def _key(interp: Interp, candidate: Candidate) -> str:
    path, name, kind, _slot, target = candidate
    module = target[0].scope.module if kind == "variant" else interp.scopes[path].module
    return ir.model_key(module, name)


def model_files(interp: Interp) -> list[str]:
    """The files that define nn.Module classes or model factories: what `--trace` imports."""
    return sorted({c[0] for c in _candidates(interp)[0] if c[2] == "class"})


def _build_one(interp: Interp, candidate: Candidate
               ) -> tuple[ir.Model | None, ErrorEntry | None]:
    path, name, kind, slot, target = candidate
    scope = interp.scopes[path]
    module_name, built_as, built_at = scope.module, "", None
    if kind == "class":
        construct = lambda f: interp.instantiate(target, Args(), f, None)  # noqa: E731
    elif kind == "variant":
        cls, variant = target
        module_name, built_as = cls.scope.module, variant.label
        construct = lambda f: interp.instantiate(  # noqa: E731
            cls, Args(list(variant.args.pos), dict(variant.args.kw)), f, None)
        if slot is None:
            slot = cls.node[5]
            if variant.slot is not None:  # a trained build judged at the class
                built_at = interp.scopes[variant.path].loc(variant.slot)
    elif kind == "global":
        construct = lambda f: target  # noqa: E731  (built when the module was loaded)
    elif isinstance(target, v.PartialVal):
        construct = lambda f: interp.call(target, Args(), f, None)  # noqa: E731
    else:
        unknown = {name: UNKNOWN for name in required(target.node[2])}  # a number of classes
        construct = lambda f: interp.call_function(target, Args([], unknown))  # noqa: E731
    try:
        model = _build(interp, scope, name, kind, slot, construct)
    except Exception as exc:
        return None, ErrorEntry(path=path, kind="internal", message=(
            f"reading model {built_as or name} failed: {type(exc).__name__}: {exc}"))
    if model is not None:
        model.module, model.built_as, model.built_at = module_name, built_as, built_at
        model.guessed = kind == "class" and bool(required_params(target)) or (
            kind == "factory" and isinstance(target, v.FuncVal) and bool(required(target.node[2])))
        if kind == "factory" and isinstance(target, v.FuncVal):
            model.registered_in = _registered_in(scope, target.node[4])
        elif kind in ("class", "variant"):  # `@ARCH_REGISTRY.register()` on the class
            cls = target if kind == "class" else target[0]
            model.registered_in = _registered_in(cls.scope, cls.node[6])
    return model, None


def _registered_in(scope: FileScope, decorators: tuple[Any, ...]) -> frozenset[str]:
    """The libraries a definition's `@...register...` decorators come from."""
    found = set()
    for decorator in decorators:
        expr = decorator[1] if decorator[0] == "call" else decorator
        last = expr[-1] if expr[0] in ("name", "attr") else ""
        while expr[0] in ("attr", "call"):
            expr = expr[1]
        if expr[0] != "name" or "register" not in str(last):
            continue
        value = scope.globals.get(expr[1])
        if type(value) is v.Ref:
            found.add(value.qualname.split(".")[0])
    return frozenset(found)


CHUNK = 8  # the fewest candidates of one file handed to a worker at a time

Outcome = tuple[ir.Model | None, ErrorEntry | None]


def _build_forked(interp: Interp, candidates: list[Candidate], jobs: int) -> list[Outcome]:
    """Workers inherit the loaded interpreter with the fork; whoever is free builds the
    next chunk of candidates and sends its models back pickled."""
    from cnnlint.fanout import fan_out

    # A file's candidates go together (they share blocks, which a worker reads once), in
    # pieces small enough to spread one big file over the workers; the largest go first, so
    # that no worker is left with a long one at the end.
    most = max(CHUNK, len(candidates) // (4 * jobs))
    by_file: dict[str, list[int]] = {}
    for i, candidate in enumerate(candidates):
        by_file.setdefault(candidate[0], []).append(i)
    chunks = sorted((group[start:start + most] for group in by_file.values()
                     for start in range(0, len(group), most)), key=len, reverse=True)
    locator = interp.modules.locator
    built = fan_out(chunks, lambda i: _build_one(interp, candidates[i]), jobs,
                    dump=lambda done: _dumps(done, locator),
                    load=lambda data: _loads(data, locator))
    return [built[i] for i in range(len(candidates))]


# The locations in built models refer to the run's one locator (which parses a file for line
# numbers once, when a finding first asks). Pickled by value, each chunk would bring back a
# copy of it, and each copy would parse the same files again: it crosses as a name instead.
_LOCATOR = "locator"


def _dumps(done: Any, locator: Any) -> bytes:
    import io
    import pickle

    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = lambda obj: (  # type: ignore[method-assign]
        _LOCATOR if locator is not None and obj is locator else None)
    pickler.dump(done)
    return out.getvalue()


def _loads(data: bytes, locator: Any) -> Any:
    import io
    import pickle

    unpickler = pickle.Unpickler(io.BytesIO(data))

    def persistent_load(name: str) -> Any:
        if name != _LOCATOR:
            raise pickle.UnpicklingError(f"unknown persistent id {name!r}")
        return locator

    unpickler.persistent_load = persistent_load  # type: ignore[assignment]
    return unpickler.load()


def is_factory_candidate(stmt: tuple[Any, ...]) -> bool:
    """A module-level function that returns something, with no required parameters but a
    number of classes."""
    return all(CLASS_COUNT.fullmatch(name) for name in required(stmt[2])) \
        and _returns_value(stmt[3])


def _returns_value(body: tuple[Any, ...]) -> bool:
    for stmt in body:
        tag = stmt[0]
        if tag == "return" and stmt[1] != ("const", None):
            return True
        if tag == "if" and (_returns_value(stmt[2]) or _returns_value(stmt[3])):
            return True
        if tag in ("for", "while", "with") and _returns_value(stmt[3] if tag == "for" else stmt[2]):
            return True
        if tag == "try" and _returns_value(stmt[1]):
            return True
    return False


def _build(interp: Interp, scope: FileScope, name: str, kind: str, slot: int,
           construct: Any) -> ir.Model | None:
    interp.reset()
    frame = Frame(scope, owner=name)
    try:
        module = construct(frame)
    except (TooComplex, RecursionError):
        return None  # not even its construction could be read: no model to judge
    if type(module) is dict and kind == "factory":
        module = v.network_in(module)  # `return {"backbone": ResNet(...), "dim": 512}`
    if not isinstance(module, v.MODULE_VALUES) or isinstance(module, v.Choice):
        return None
    if isinstance(module, v.Instance) and not interp.is_module_class(module.cls):
        return None
    # Nodes made while constructing (a dummy forward sizing the head: `self.body(torch.zeros(
    # 1, 3, 32, 32)).numel()`) are not the model, nor is a layer the constructor applied to
    # such an input, which the reader does not follow: the forward is read afresh.
    if torchnn.APPLIED_TO_UNKNOWN in interp.unresolved:
        interp.unresolved.remove(torchnn.APPLIED_TO_UNKNOWN)
    try:
        interp.start_graph()
        _assign_paths(interp, module, "", interp.paths)
        output = _forward(interp, module, frame)
    except TooComplex:
        interp.note("the model is too large or too dynamic to read statically")
        output = UNKNOWN
    except RecursionError:
        interp.note("the model nests too deeply to read statically")
        output = UNKNOWN
    network = ir.Network(nodes=interp.graph, unresolved=list(interp.unresolved))
    if len(network.nodes) > MAX_NODES:
        network.unresolved.append(f"{len(network.nodes)} nodes: too large to judge as a whole")
    network.outputs = [t.node for t in tensors_in(Args([output]))]
    if not network.outputs and output is not None:  # None: a forward with no `return`
        network.unresolved.append("the output of forward is not known")
    loc = scope.loc(slot) or Loc(scope.path, 1, 1, 1, 1)
    class_name = module.cls.name if isinstance(module, v.Instance) else type(module).__name__
    if isinstance(module, v.SeqSpec):
        class_name = "Sequential"
    model = ir.Model(name=name, kind=kind, class_name=class_name, loc=loc, network=network,
                     inits=list(interp.inits), module=scope.module,
                     stopped=interp.stopped_inits.get(id(module), "") if kind == "class" else "")
    if kind in ("class", "variant"):  # (compared with the builds runs train)
        model.layers = torchnn.weighted_count(torchnn.module_tree(interp, module))
    if isinstance(module, v.Instance):
        cls = module.cls
        model.class_key = ir.model_key(cls.scope.module, cls.name)
        if cls.scope is scope:
            model.class_loc = scope.loc(cls.node[5])
        model.trains_itself = isinstance(cls.lookup("configure_optimizers"), v.FuncVal)
    # The blocks inside, by class and by the factory that built them; and the project
    # classes its own class and its blocks' derive from. (Each class looked at once: a deep
    # network holds thousands of instances of a few.)
    at_blocks = {path: item for path, item in interp.at_path.items()
                 if path and type(item) is v.Instance}
    network.blocks = frozenset(at_blocks)
    blocks = list(at_blocks.values())
    classes = {id(item.cls): item.cls for item in blocks}
    made_by = {item.made_by for item in blocks if item.made_by}
    model.parts = frozenset(ir.model_key(cls.scope.module, cls.name)
                            for cls in classes.values()) | made_by | (
        interp.made_keys - {ir.model_key(scope.module, name)})  # backbones it was built from
    if isinstance(module, v.Instance):
        classes[id(module.cls)] = module.cls
    model.bases = frozenset(ir.model_key(base.scope.module, base.name)
                            for cls in classes.values() for base in cls.project_bases())
    return model


def _forward(interp: Interp, module: Any, frame: Frame) -> Any:
    """Call the model on fresh input nodes, one per required parameter of its forward."""
    inputs: list[Any] = []
    forward = module.cls.lookup("forward") if isinstance(module, v.Instance) else None
    if isinstance(forward, v.FuncVal):
        params = forward.node[2][1:]  # without self
        for pname, default, pkind in params:
            if pkind == "pos" and default is None:
                inputs.append(interp.add_node(ir.INPUT, (), name=pname))
    if not inputs:
        inputs.append(interp.add_node(ir.INPUT, (), name="x"))
    return interp.apply(module, Args(inputs), frame)


def _assign_paths(interp: Interp, module: Any, prefix: str, paths: dict[int, str]) -> None:
    """Give every submodule its path in the model ("layer1.0.conv1"), as torch names them:
    depth first, the first path that reaches a shared module wins. The options of a choice
    all sit at its path: one that is also inside another (`Skip(seq)` or `seq`) is named
    there, not through the wrapper. Modules in a plain list or tuple attribute (not
    registered: torch names them nowhere, and their weights are not the model's parameters)
    are named last, after the attribute (`parts[0].conv`): each is still one layer wherever
    it is applied."""
    at_path = interp.at_path
    stack: list[tuple[Any, str]] = [(module, prefix)]
    visited: set[int] = set()
    unregistered: list[tuple[Any, str]] = []
    while stack or unregistered:
        if not stack:
            stack, unregistered = list(reversed(unregistered)), []
        item, path = stack.pop()
        if id(item) in visited:
            interp.shares = True
            continue
        visited.add(id(item))
        path = paths.setdefault(id(item), path)
        at_path.setdefault(path, item)
        kind = type(item)
        if kind is v.LayerSpec:
            continue
        if kind is v.Choice:
            for option in item.options:
                paths.setdefault(id(option), path)
            stack.extend((option, path) for option in reversed(item.options))
            continue
        lead = f"{path}." if path else ""
        if kind is v.Instance:  # (its attributes looked at once: most models are these)
            named = []
            for key, held in item.attrs.items():
                held_kind = type(held)
                if held_kind in v.MODULE_KINDS:
                    named.append((held, f"{lead}{key}"))
                elif held_kind is list or held_kind is tuple:
                    unregistered.extend((x, f"{lead}{key}[{i}]") for i, x in enumerate(held)
                                        if type(x) in v.MODULE_KINDS)
            stack.extend(reversed(named))
            continue
        named = [(child, f"{lead}{key}") for key, child in v.named_children(item)]
        if (kind is v.SeqSpec or kind is v.ListSpec) and item.guessed_from is not None:
            # Parts after a loop of unknown length: their index counted from the start is a
            # guess, counted from the end it is not (`net[-2]`).
            end = len(named)
            named = [(child, name) if i < item.guessed_from or name != f"{lead}{i}"
                     else (child, f"{path}[{i - end}]") for i, (child, name) in enumerate(named)]
        stack.extend(reversed(named))
