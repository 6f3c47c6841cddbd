"""Modules of settings: `opts = parser.parse_args()` at the top level of an `opts.py`, or
`config = yaml.safe_load(f)` in a `config.py`, that training scripts import.

Loading a module runs only its declarations, outside any training pass, where argparse and
configuration files are not read: the settings such a module holds stay unknown, and the
scripts that import them lose their epochs, batch size and learning rate. A training pass
therefore runs each such module again, whole, as Python runs it when it is imported, then
the plain modules deriving settings from it (`EPOCHS = OPTS.epochs`), and points the names
other modules imported from them at what this run made. All of it is undone when the pass
ends.

Only modules that do nothing a pass records are run so (imports, definitions, assignments,
asserts, `if`s, `try`s and `with open(...)` at their top level: no loop, no class), and
only those another module imports (a script parsing its own options is a script).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnlint.extract import values as v
from cnnlint.extract.frames import MISSING, FileScope, Frame, TooComplex, run_cache
from cnnlint.extract.values import UNKNOWN

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp

_PARSES = ("parse_args", "parse_known_args")
# Reading a configuration file (`yaml.safe_load(f)`, `json.load(f)`, `OmegaConf.load(path)`).
_LOADS = ("safe_load", "full_load")
_LOADING_MODULES = (("name", "json"), ("name", "yaml"), ("name", "OmegaConf"))
_PLAIN_TOP_LEVEL = frozenset({"import", "from", "def", "assign", "augassign", "expr", "if",
                              "assert", "global", "del", "pass", "raise"})
_FOUND: dict[int, tuple[tuple[Any, ...], bool]] = run_cache()
# By id of a loaded module: the module and the ids of the project modules its top level
# imports (found once: every pass asks for every loaded module's).
_TOP_IMPORTS: dict[int, tuple[FileScope, set[int]]] = run_cache()

# What a run changed: (a scope, its globals before) and (a dict of names, a name, its value
# before), to put back in reverse order.
Restore = tuple[list[tuple[FileScope, dict[str, Any]]], list[tuple[dict[str, Any], str, Any]]]


def options_module(body: tuple[Any, ...]) -> bool:
    """Whether a module's top level parses the command line or reads a configuration file,
    and does nothing else a training pass records."""
    found = _FOUND.get(id(body))
    if found is None or found[0] is not body:
        found = _FOUND[id(body)] = (body, _plain(body) and any(
            _parses(stmt) for stmt in body if stmt[0] != "def"))
    return found[1]


def _plain(body: tuple[Any, ...]) -> bool:
    for stmt in body:
        tag = stmt[0]
        if tag == "with":  # `with open("config.yaml") as f:` only
            if not all(item[0][0] == "call" and item[0][1] == ("name", "open")
                       for item in stmt[1]) or not _plain(stmt[2]):
                return False
        elif tag == "if":
            if not (_plain(stmt[2]) and _plain(stmt[3])):
                return False
        elif tag == "try":
            if not all(_plain(block) for block in (stmt[1], *stmt[2], stmt[3], stmt[4])):
                return False
        elif tag not in _PLAIN_TOP_LEVEL:
            return False
    return True


def _parses(item: Any) -> bool:
    """Whether code parses the command line or reads a configuration file."""
    if type(item) is not tuple or not item:
        return False
    if item[0] == "call" and len(item) == 5:
        func = item[1]
        if func[0] == "attr" and (func[2] in _PARSES or func[2] in _LOADS or (
                func[2] == "load" and func[1] in _LOADING_MODULES)):
            return True
        if func[0] == "name" and func[1] in _LOADS:
            return True
    return any(_parses(x) for x in item)


def rerun(interp: Interp, entry: str) -> Restore:
    """Run every options module but the pass's own file again, inside the pass, then the
    plain modules that import from one run so (a `settings.py` reading `EPOCHS =
    OPTS.epochs`), until none is left."""
    done: Restore = ([], [])
    found = [scope for scope in interp.scopes.values() if scope.path != entry
             and scope.state == "loaded" and options_module(scope.body)]
    if not found:
        return done
    imported = _imports(interp)
    importers = _imported_by_others(imported)
    for scope in found:
        if id(scope) in importers:  # (a script parsing its own is no module)
            _run(interp, scope, done)
    ran = {id(scope) for scope, _ in done[0]}
    while ran:
        more = [scope for scope in interp.scopes.values()
                if id(scope) not in ran and scope.path != entry and scope.state == "loaded"
                and _plain(scope.body) and ran & imported.get(id(scope), set())
                and id(scope) in importers]
        if not more:
            break
        for scope in more:
            _run(interp, scope, done)
        ran = {id(scope) for scope, _ in done[0]}
    return done


def _run(interp: Interp, scope: FileScope, done: Restore) -> None:
    before = scope.globals
    # Imported, its `__name__` is its module's name: `if __name__ == "__main__":` is false.
    fresh: dict[str, Any] = {"__name__": scope.module or "module"}
    frame = Frame(scope, owner="<module>")
    frame.locals = scope.globals = fresh
    done[0].append((scope, before))
    try:
        for stmt in scope.body:
            interp.exec_stmt(stmt, frame)
    except (TooComplex, RecursionError):
        pass  # what ran is kept; the rest of the module stays as loaded
    for name, value in before.items():
        fresh.setdefault(name, value)
    done[1].extend(_rebind(interp, scope, before, fresh))


def _imports(interp: Interp) -> dict[int, set[int]]:
    """For each loaded module (by id), the ids of the project modules its top level imports
    (`from opts import OPTS`, `import settings as cfg`)."""
    found: dict[int, set[int]] = {}
    for scope in list(interp.scopes.values()):
        if scope.state != "loaded":
            continue
        known = _TOP_IMPORTS.get(id(scope))
        if known is None or known[0] is not scope:
            known = _TOP_IMPORTS[id(scope)] = (scope, _top_imports(interp, scope))
        found[id(scope)] = known[1]
    return found


def _top_imports(interp: Interp, scope: FileScope) -> set[int]:
    targets: set[int] = set()
    for stmt in scope.body:
        if stmt[0] == "from":
            wanted = [(stmt[1], stmt[2])]
        elif stmt[0] == "import":
            wanted = [(dotted, 0) for dotted, _ in stmt[1]]
        else:
            continue
        for dotted, level in wanted:
            try:
                module = interp.find_module(dotted, scope, level)
            except (TooComplex, RecursionError):
                continue
            if isinstance(module, v.ModuleVal) and module.scope is not None:
                targets.add(id(module.scope))
    return targets


def _imported_by_others(imported: dict[int, set[int]]) -> set[int]:
    """The modules (by id) another module imports."""
    return {target for key, targets in imported.items() for target in targets if target != key}


def _rebind(interp: Interp, source: FileScope, before: dict[str, Any],
            fresh: dict[str, Any]) -> list[tuple[dict[str, Any], str, Any]]:
    """Point the names other modules imported from `source` (`from opts import opts`) at
    what the run made, where they still hold what loading gave them."""
    changed = []
    for scope in interp.scopes.values():
        if scope is source or scope.state != "loaded":
            continue
        for stmt in scope.body:
            if stmt[0] != "from" or stmt[3] == (("*", None),):
                continue
            try:
                module = interp.find_module(stmt[1], scope, stmt[2])
            except (TooComplex, RecursionError):
                continue
            if not isinstance(module, v.ModuleVal) or module.scope is not source:
                continue
            for name, alias in stmt[3]:
                key = alias or name
                # (a name loading never bound was imported as not known)
                held = scope.globals.get(key, MISSING)
                if held is not MISSING and held is before.get(name, UNKNOWN) \
                        and fresh.get(name, MISSING) not in (MISSING, held):
                    changed.append((scope.globals, key, held))
                    scope.globals[key] = fresh[name]
    return changed


def restore(done: Restore) -> None:
    scopes, names = done
    for table, key, old in reversed(names):
        table[key] = old
    for scope, before in reversed(scopes):
        scope.globals = before
