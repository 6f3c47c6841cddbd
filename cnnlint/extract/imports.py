"""Modules and imports: a file's module level runs once (imports, definitions, constants);
`import` and `from` statements resolve on disk through the project (see modules.py)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cnnlint.extract import values as v
from cnnlint.extract.frames import MISSING, Args, FileScope, Frame, TooComplex, walk
from cnnlint.extract.journal import Journal
from cnnlint.extract.star_exports import STAR_EXPORTS
from cnnlint.extract.values import UNKNOWN
from cnnlint.ir import model_key

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp


def load(interp: Interp, scope: FileScope) -> dict[str, Any]:
    """Run a file's module level: imports, definitions and constant assignments."""
    if scope.state == "new":
        scope.state = "loading"  # an import cycle sees the names defined so far
        frame = Frame(scope, owner="<module>")
        frame.locals = scope.globals
        frame.locals.setdefault("__name__", v.ModuleName(scope))
        interp.loading += 1
        outer, interp.load_journal = interp.load_journal, Journal()
        # The step budget of a module level: PyTorch code has one of its own, so whether its
        # networks can be read does not depend on the files the run read before it (a
        # notebook computing sample data before `import unet`); other files' levels share
        # one (reading each in full serves only the training passes that call into them,
        # and costs most where it serves least: a standard library linted as a project).
        outer_steps = interp.steps
        own = _imports_torch(scope.body)
        interp.steps = 0 if own else interp.shared_load_steps
        try:
            declarations(interp, scope.body, frame)
        except (TooComplex, RecursionError):
            interp.note(f"module level of {scope.path} is too complex")
        except Exception as exc:  # a reader bug on one file must not stop the run
            scope.load_error = f"{type(exc).__name__}: {exc}"
        finally:
            interp.loading -= 1
            if not own:
                interp.shared_load_steps = interp.steps
            interp.steps = outer_steps
            journal, interp.load_journal = interp.load_journal, outer
        if journal.saves or journal.adopted:
            path = os.path.abspath(scope.path)
            if not interp.modules.project.imported(path):
                # A script nothing imports (`cfg.lr = 5.0` at its top): what its actions
                # wrote into other modules is its own run's state, not every other script's.
                journal.put_back(interp.module_table_ids)
            else:  # (a training pass of a script that does not import it puts it back)
                interp.load_effects.append((path, journal))
        scope.state = "loaded"
        for names, target, name in scope.pending_imports or ():
            if names.get(target) is UNKNOWN:
                names[target] = scope.globals.get(name, UNKNOWN)
        scope.pending_imports = None
        interp.loaded(scope)
    return scope.globals


# Packages whose importers are PyTorch code (a network or its training).
TORCH_ROOTS = frozenset({"torch", "torchvision", "pytorch_lightning", "lightning", "timm",
                         "monai", "segmentation_models_pytorch"})


def _imports_torch(body: tuple[Any, ...]) -> bool:
    """Whether the module level imports torch or a library built on it (at its top, or
    under an `if` or `try` there)."""
    for stmt in body:
        tag = stmt[0]
        if tag == "import" and any(dotted.split(".")[0] in TORCH_ROOTS for dotted, _ in stmt[1]):
            return True
        if tag == "from" and not stmt[2] and stmt[1].split(".")[0] in TORCH_ROOTS:
            return True
        if tag == "if" and (_imports_torch(stmt[2]) or _imports_torch(stmt[3])) \
                or tag == "try" and _imports_torch(stmt[1]):
            return True
    return False


def declarations(interp: Interp, body: tuple[Any, ...], frame: Frame) -> None:
    """Module-level statements that define names; scripts' actions are not run here."""
    for stmt in body:
        tag = stmt[0]
        if tag in ("def", "class"):
            # What a definition's decorators write (a registry entry) stays, as Python's
            # first run of the script's definitions would leave it for its own pass.
            journal, interp.load_journal = interp.load_journal, None
            try:
                interp.exec_stmt(stmt, frame)
            finally:
                interp.load_journal = journal
        elif tag in ("import", "from", "assign", "augassign"):
            interp.exec_stmt(stmt, frame)
            if tag == "assign" and stmt[2][0] == "dict":
                name_registry(stmt, frame)
        elif tag == "if":
            test = interp.truth(interp.eval(stmt[1], frame))
            if test is not False:
                declarations(interp, stmt[2], frame)
            if test is not True:
                declarations(interp, stmt[3], frame)
        elif tag == "try":
            declarations(interp, stmt[1], frame)
        elif tag in ("for", "expr") and _sets_module_names(stmt) \
                or tag == "for" and _fills_a_list(stmt):
            interp.exec_stmt(stmt, frame)


def name_registry(stmt: tuple[Any, ...], frame: Frame) -> None:
    """`CLASSIFIERS = {"resnet18": resnet18(), ...}`: each model built by a project factory
    remembers it (a script that picks one by name may train any of them)."""
    if len(stmt[1]) != 1 or stmt[1][0][0] != "name":
        return
    table = frame.locals.get(stmt[1][0][1])
    if type(table) is not dict:
        return
    for key_expr, value_expr in stmt[2][1]:
        if key_expr is None or key_expr[0] != "const" or value_expr[0] != "call" \
                or value_expr[1][0] != "name":
            continue
        model, factory = table.get(key_expr[1]), frame.locals.get(value_expr[1][1])
        if isinstance(model, v.Instance) and isinstance(factory, v.FuncVal):
            model.made_by = model_key(factory.scope.module, factory.name)


# Calls that make a loop a training or evaluation loop, not one that builds something.
_TRAINING_CALLS = frozenset({"backward", "step", "zero_grad", "fit", "train", "eval"})
_FILLING_CALLS = frozenset({"append", "extend", "insert", "add_module"})


def _fills_a_list(stmt: tuple[Any, ...]) -> bool:
    """A module-level loop that only fills a list or a container (`for _ in range(8):
    layers += [nn.Conv2d(...), nn.ReLU()]`, a notebook's network built before its
    `nn.Sequential(*layers)`): it defines what a name holds, so loading runs it. A loop
    with anything else in it (another loop, a training step) is the script's action. (A
    loop that only computes numbers stops after a few passes: see `Interp._unrolled`.)"""
    fills = False
    stack: list[Any] = list(stmt[3])
    while stack:
        inner = stack.pop()
        if inner[0] == "if":
            stack.extend(inner[2])
            stack.extend(inner[3])
            continue
        if inner[0] not in ("assign", "augassign", "expr"):
            return False
        for e in walk(inner):
            if e and e[0] == "attr" and type(e[2]) is str:
                if e[2] in _TRAINING_CALLS:
                    return False
                fills = fills or e[2] in _FILLING_CALLS
        fills = fills or inner[0] == "augassign" and inner[3][0] == "list"
    return fills


def _sets_module_names(stmt: tuple[Any, ...]) -> bool:
    """A statement that calls `setattr` at module level: factories made in a loop
    (`setattr(sys.modules[__name__], f"vgg{depth}", partial(_vgg, depth))`) define names."""
    stack: list[Any] = [stmt]
    while stack:
        item = stack.pop()
        if type(item) is not tuple:
            continue
        if item[:2] == ("call", ("name", "setattr")):
            return True
        if item and item[0] in ("def", "class"):
            continue
        stack.extend(item)
    return False


def find_module(interp: Interp, dotted: str, scope: FileScope, level: int) -> Any:
    """A project module as a value (its scope, or a namespace folder), or None."""
    found, folder = interp.modules.resolve(scope, dotted, level)
    adopt(interp, )
    if found is None and folder is None:
        return None
    return v.ModuleVal(found, folder)


def submodule(interp: Interp, module: v.ModuleVal, name: str) -> Any:
    if module.folder is None:
        return None
    found, folder = interp.modules.submodule(module.folder, name)
    adopt(interp, )
    return v.ModuleVal(found, folder) if found is not None or folder is not None else None


def adopt(interp: Interp) -> None:
    """Scopes the module source read on demand join the run's scopes."""
    while interp.modules.added:
        scope = interp.modules.added.pop()
        interp.scopes.setdefault(scope.path, scope)


def module_attr(interp: Interp, module: v.ModuleVal, name: str) -> Any:
    """`module.name`: a name the module defines, else a submodule of a package."""
    if module.scope is not None:
        names = interp.load(module.scope)
        if name == "__dict__":
            return names
        found = names.get(name, MISSING)
        if found is not MISSING:
            return found
    sub = interp.submodule(module, name)
    return sub if sub is not None else UNKNOWN


def import_statement(interp: Interp, stmt: tuple[Any, ...], f: Frame) -> None:
    for dotted, asname in stmt[1]:
        if asname:
            found = interp.find_module(dotted, f.scope, 0)
            f.locals[asname] = found if found is not None else v.Ref(dotted)
        else:
            head = dotted.split(".")[0]
            found = interp.find_module(head, f.scope, 0)
            f.locals[head] = found if found is not None else v.Ref(head)


def import_module_call(interp: Interp, args: Args, f: Frame) -> Any:
    """`importlib.import_module(args.model)` with a known absolute name: that module, as
    `import ... as m` binds it. A relative or unknown name is not known."""
    name = args.pos[0] if args.pos else args.kw.get("name")
    if type(name) is not str or not name or name.startswith("."):
        return UNKNOWN
    found = interp.find_module(name, f.scope, 0)
    return found if found is not None else v.Ref(name)


def from_statement(interp: Interp, stmt: tuple[Any, ...], f: Frame) -> None:
    _, module, level, names = stmt
    package = interp.find_module(module, f.scope, level)
    for name, asname in names:
        if name == "*":
            if package is not None and package.scope is not None:
                f.locals.update({k: x for k, x in interp.load(package.scope).items()
                                 if not k.startswith("_")})
            elif package is None and not level:  # a library's: the names it is known to bind
                f.locals.update({k: v.Ref(f"{module}.{k}")
                                 for k in STAR_EXPORTS.get(module, ())})
            continue
        target = asname or name
        if package is None:
            f.locals[target] = UNKNOWN if level else v.Ref(f"{module}.{name}")
            continue
        found = interp.module_attr(package, name)
        f.locals[target] = found
        if found is UNKNOWN and package.scope is not None and package.scope.state == "loading":
            # An import cycle: the name is defined later in the module now loading; Python
            # would see it at call time, so bind it once that module is done.
            if package.scope.pending_imports is None:
                package.scope.pending_imports = []
            package.scope.pending_imports.append((f.locals, target, name))
