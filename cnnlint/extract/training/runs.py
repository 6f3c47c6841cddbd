"""Training runs: one per entry point of the project's training code.

An entry point is a script (its module body runs with `__name__ == "__main__"`, so `main()` is
called), or a function that trains and that no script pass called (it is read on its own, its
parameters unknown). A file that imports another framework (MXNet, TensorFlow, ...) and not
torch gets no pass: PyTorch rules do not apply to it.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import RETURN, Args, FileScope, Frame, TooComplex
from cnnlint.extract.imports import TORCH_ROOTS
from cnnlint.extract.training import library
from cnnlint.extract.variants import render, sets_class_count_only
from cnnlint.extract.training.objects import OTHER_FRAMEWORKS, imported_roots, trains, walk
from cnnlint.extract.training.reader import TrainingInterp
from cnnlint.findings import ErrorEntry, Loc

# A parameter named for an optimizer, in a function read without its caller: stepping it
# after a backward is training (its model is not known).
_OPTIMIZER_NAME = re.compile(r"(\w+_)?(optimizer|optim|opt)(_\w+)?")
_TRAINING_NAMES = frozenset({"optim", "DataLoader", "Trainer", "backward", "step", "SGD", "train",
                             "Adam", "AdamW", "fit"})


def extract_runs(interp: TrainingInterp, errors: list[ErrorEntry] | None = None,
                 entries: list[str] | None = None) -> list[ir.TrainingRun]:
    """The training runs of the entry files (every file when `entries` is None): first every
    script pass, then the training functions none of them called. A file the reader fails on
    becomes an `internal` error entry (when `errors` is given)."""
    paths = sorted(interp.scopes) if entries is None else [p for p in entries
                                                           if p in interp.scopes]
    runs: list[ir.TrainingRun] = []
    scripts: list[tuple[FileScope, bool]] = []
    for path in paths:
        scope = interp.scopes[path]
        if not _mentions_training(scope.body) and not _drives_training(interp, scope):
            continue
        if _other_framework(scope.body):
            interp.skipped_frameworks.append(path)
            continue
        reaches = _reaches_training_code(interp, scope)
        scripts.append((scope, reaches))
        if reaches:
            runs.extend(_guarded(interp, scope, errors, lambda s=scope: _script_pass(interp, s)))
    for scope, reaches in scripts:
        functions = _guarded(interp, scope, errors, lambda s=scope: _training_functions(s.body))
        for stmt in functions:
            if id(stmt) not in interp.executed and (reaches or _takes_optimizer(stmt)):
                runs.extend(_guarded(interp, scope, errors,
                                     lambda s=scope, d=stmt: _function_pass(interp, s, d)))
    return runs


def _reaches_training_code(interp: TrainingInterp, scope: FileScope) -> bool:
    """A pass finds a run only through an optimizer or a Trainer built in the file or in what
    it imports, and a model handed off only to a library that may train it: without either it
    is not read (a model zoo's `_test()` that builds every network and calls backward costs a
    full build of each)."""
    return interp.modules.project.reaches_training_code(os.path.abspath(scope.path))


def _takes_optimizer(stmt: tuple[Any, ...]) -> bool:
    return any(_OPTIMIZER_NAME.fullmatch(name) for name, _, _ in stmt[2])


def _training_functions(body: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The module-level functions that train, directly, through other functions of the
    file, or through a training method of an object (`model.fit(loader)`, a method the
    network inherits from a base class of another file): those no other of them calls
    first (a `train_model` before the `train_epoch` it calls, so that the epoch function is
    read with the values its caller gives it)."""
    defs = {stmt[1]: stmt for stmt in body if stmt[0] == "def"}
    calls = {name: {e[1] for e in walk(stmt[3]) if e and e[0] == "call"
                    and e[1][0] == "name" and e[1][1] in defs and e[1][1] != name}
             for name, stmt in defs.items()}
    training: set[str] = {name for name, stmt in defs.items()
                          if trains(stmt[3]) or _calls_a_training_method(stmt[3])}
    changed = True
    while changed:
        changed = False
        for name, callees in calls.items():
            if name not in training and callees & training:
                training.add(name)
                changed = True
    called = {callee for name in training for callee in calls[name]}
    order = [name for name in defs if name in training]
    return [defs[n] for n in order if n not in called] + [defs[n] for n in order if n in called]


def _calls_a_training_method(body: tuple[Any, ...]) -> bool:
    """Whether a function body calls a method named for training with arguments
    (`model.fit(train_loader, val_loader)`, `net.train_model(data, epochs=30)`; not the
    mode switch `model.train()`)."""
    return any(e and e[0] == "call" and e[1][0] == "attr" and (e[2] or e[3])
               and (e[1][2] in ("fit", "train") or e[1][2].startswith("train_"))
               for e in walk(body))


def _guarded(interp: TrainingInterp, scope: FileScope, errors: list[ErrorEntry] | None,
             read: Any) -> list[Any]:
    """What `read` gives for the file (a run, or a list of what it found) as a list; a
    failure becomes the file's `internal` error entry, and an empty list."""
    try:
        found = read()
    except Exception as exc:
        interp.end_pass()
        if errors is None:
            raise
        interp.unread_training.append((scope.path, "reading it failed: see the error"))
        errors.append(ErrorEntry(path=scope.path, kind="internal", message=(
            f"reading the training code failed: {type(exc).__name__}: {exc}")))
        return []
    return found if type(found) is list else [found] if found is not None else []


def _script_pass(interp: TrainingInterp, scope: FileScope) -> ir.TrainingRun | None:
    rec = interp.start_pass(scope.path)
    frame = Frame(scope, owner="<module>")
    # The pass gets its own globals, which every function of the file sees while it runs:
    # module-level loaders and optimizers must be the ones this pass records.
    saved = interp.load(scope)
    # It starts as Python would run the file, before its first line (what an `if` chain
    # leaves unassigned stays so, not the first load's merge); definitions are bound as met.
    scope.globals = frame.locals = {"__name__": "__main__"}
    try:
        for stmt in scope.body:
            name = stmt[1] if stmt[0] in ("def", "class") else ""
            defined = saved.get(name) if name else None
            if defined is not None and getattr(defined, "node", None) is stmt:
                # Defined by the module's first load: bind that definition again here, as
                # Python would (a `from models import *` above may have rebound the name).
                frame.locals[name] = defined
                continue
            if interp.exec_stmt(stmt, frame) == RETURN:
                break  # `exit()`: the rest of the script does not run
    except (TooComplex, RecursionError):
        _cut_short(interp, rec, scope.path, "the script")
    finally:
        scope.globals = saved
        interp.end_pass()
    run = rec.finish(interp, Loc(scope.path, 1, 1, 1, 1), "<module>")
    if run is not None:
        run.named, run.reaches = _named_definitions(scope.body, saved, interp.is_module_class)
    return run


def _named_definitions(body: tuple[Any, ...], names: dict[str, Any],
                       is_module_class: Callable[[v.ClassVal], bool]
                       ) -> tuple[frozenset[str], frozenset[str]]:
    """The keys of the project's classes and functions a file's code calls, bare (`Net()`)
    or through an imported module (`zoo.resnet50()`, `models.resnet.resnet50()`), or hands
    on as a value to be called later (`make = create_mobilenet` in one branch of an `if`,
    `{"deep": make_deep}`); a class only tested against (`isinstance(model, Net)`) is not
    built there. Second, what those functions' own code calls (see `_built_in_body`), and
    the methods of those classes that are no networks (a `ResNetTrainer` of the branch
    `if cfg.arch == "resnet":`, whose `build_model` makes a `ResNet`)."""
    found: set[str] = set()
    reached: set[str] = set()
    tested: set[int] = set()  # the class tuples of isinstance tests
    for item in walk(body):
        if not item or type(item[0]) is not str or id(item) in tested:
            continue
        if item[0] == "call" and len(item) > 1 and type(item[1]) is tuple and item[1]:
            if item[1] in (("name", "isinstance"), ("name", "issubclass")):
                tested.update(id(a) for a in item[2])
                continue
            exprs = [item[1], *(a[1] if a[0] == "*" else a for a in item[2]),
                     *(x for _, x in item[3])]
        elif item[0] == "assign":
            exprs = [item[2]]
        elif item[0] in ("list", "tuple", "set"):
            exprs = [x for x in item[1] if x[0] != "*"]
        elif item[0] == "dict":
            exprs = [x for _, x in item[1]]
        else:
            continue
        for expr in exprs:
            if type(expr) is not tuple or not expr or expr[0] not in ("name", "attr"):
                continue
            target = _resolved(expr, names)
            if isinstance(target, (v.ClassVal, v.FuncVal)) and target.scope is not None:
                key = ir.model_key(target.scope.module, target.name)
                if key not in found:
                    for fn in _builders(target, is_module_class):
                        reached.update(_built_in_body(fn))
                found.add(key)
    return frozenset(found), frozenset(reached)


def _builders(target: v.ClassVal | v.FuncVal, is_module_class: Callable[[v.ClassVal], bool]
              ) -> list[v.FuncVal]:
    """The function, or the methods of a class that is not a network (with those it
    inherits from the project's classes)."""
    if isinstance(target, v.FuncVal):
        return [target]
    if is_module_class(target):
        return []
    return [fn for cls in (target, *target.project_bases()) for fn in cls.namespace.values()
            if isinstance(fn, v.FuncVal)]


def _built_in_body(fn: v.FuncVal) -> set[str]:
    """The builds of project classes a builder's own code makes (`create_ssd(num)` building
    `MobileNetV1(1001).model`), as `ir.build_site` names them: a script naming the builder
    may train the networks those build."""
    found: set[str] = set()
    scope = fn.scope
    if scope is None:
        return found
    for item in walk(fn.node[3]):
        if item and item[0] == "call" and type(item[1]) is tuple and item[1] \
                and item[1][0] in ("name", "attr"):
            target = _resolved(item[1], scope.globals)
            if isinstance(target, v.ClassVal) and target.scope is not None:
                given = [render(a) for a in item[2]] + [
                    f"{k}={render(x)}" for k, x in item[3] if k is not None]
                key = ir.model_key(target.scope.module, target.name)
                found.add(ir.build_site(key, f"{target.name}({', '.join(given)})"
                                        if given else ""))
                spelled = all(a[0] != "*" for a in item[2]) and all(
                    k is not None for k, _x in item[3])  # no `*args`, no `**kwargs`
                if given and spelled and sets_class_count_only(
                        target, len(item[2]), [k for k, _x in item[3]]):
                    found.add(key)  # `Mobile(1001)`: the default network, another classifier
    return found


def _resolved(expr: tuple[Any, ...], names: dict[str, Any]) -> Any:
    if expr[0] == "name" and len(expr) == 2:
        return names.get(expr[1])
    if expr[0] == "attr" and len(expr) == 3 and type(expr[2]) is str \
            and type(expr[1]) is tuple and expr[1]:
        base = _resolved(expr[1], names)
        if isinstance(base, v.ModuleVal) and base.scope is not None:
            return base.scope.globals.get(expr[2])
    return None


def _function_pass(interp: TrainingInterp, scope: FileScope, stmt: tuple[Any, ...]
                   ) -> ir.TrainingRun | None:
    """A training function nothing calls: its parameters are opaque values, so a loop over
    them, or an optimizer built over `model.parameters()`, is still read."""
    fn = interp.load(scope).get(stmt[1])
    if not isinstance(fn, v.FuncVal):
        return None
    rec = interp.start_pass(scope.path)
    args = Args()
    for name, default, kind in stmt[2]:
        if kind == "pos" and default is None:
            args.pos.append(library.given_optimizer(interp, name) if _OPTIMIZER_NAME.fullmatch(name)
                            else v.Opaque(f"parameter `{name}`"))
    try:
        interp.call_function(fn, args)
    except (TooComplex, RecursionError):
        _cut_short(interp, rec, scope.path, f"`{stmt[1]}`")
    finally:
        interp.end_pass()
    loc = scope.loc(stmt[5]) or Loc(scope.path, 1, 1, 1, 1)
    return rec.finish(interp, loc, stmt[1])


def _cut_short(interp: TrainingInterp, rec: Any, path: str, what: str) -> None:
    rec.complete = False
    interp.unread_training.append(
        (path, f"{what}, with the code it calls, is too complex to read"))
    rec.notes.append(f"{path}: {what} is too complex to read to the end: rules about what "
                     "its training lacks stay silent")


def _other_framework(body: tuple[Any, ...]) -> bool:
    roots = imported_roots(body)
    return bool(roots & set(OTHER_FRAMEWORKS)) and not roots & TORCH_ROOTS


def _drives_training(interp: TrainingInterp, scope: FileScope) -> bool:
    """A script that runs code of its own (not only definitions) and can reach code that
    builds an optimizer, in a project file it imports directly or through others, or through
    modules it imports by name: `Trainer(model, ...).run()` with the training in a class of
    another file (and its optimizer built in a third)."""
    if not any(stmt[0] in _RUNS_CODE and not (stmt[0] == "expr" and stmt[1][0] == "const")
               for stmt in scope.body):
        return False
    return interp.modules.project.reaches_optimizer(os.path.abspath(scope.path))


_RUNS_CODE = frozenset({"expr", "if", "for", "while", "with", "try"})  # not a docstring


def _mentions_training(body: tuple[Any, ...]) -> bool:
    """A cheap pre-filter: files that never touch an optimizer, a loader or a Trainer are
    model or utility files, and get no script pass. It visits every node of every file,
    so it walks with an explicit stack (a recursive generator costs 3x as much)."""
    stack: list[tuple[Any, ...]] = [body]
    pop, push = stack.pop, stack.append
    while stack:
        e = pop()
        if e:
            tag = e[0]
            if tag == "attr" or tag == "name":
                last = e[-1]
                if type(last) is str and (last in _TRAINING_NAMES or last.startswith("train_")):
                    return True  # `optimizer.step()`, a library's `train_pipeline(root)`
            elif tag == "from" and type(e[1]) is str and (
                    "optim" in e[1] or "lightning" in e[1] or e[1].endswith("data")):
                return True
        for part in e:
            if type(part) is tuple:
                push(part)
    return False
