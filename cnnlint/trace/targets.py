"""Which models to trace, and importing the user's code with its side effects contained.

A target is `path/to/file.py:Name` or `package.module:Name`, optionally with constructor
keyword arguments: `models/net.py:ResNet(depth=50, num_classes=10)`. The same targets serve
`cnnlint --model`, `[tool.cnnlint.models]` and `cnnlint probe`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import sysconfig
from typing import Any, Iterator

from cnnlint.targets import Target, TargetError


# --- containment --------------------------------------------------------------------------


def _site_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    dirs = {paths.get("purelib", ""), paths.get("platlib", ""), paths.get("stdlib", ""),
            sys.prefix, sys.base_prefix}
    return [os.path.realpath(d) for d in dirs if d]


def _under(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


@contextlib.contextmanager
def contained(roots: list[str]) -> Iterator[None]:
    """The user's code runs in here: its folders are on sys.path, `sys.argv` is bare (a
    module-level argparse sees no cnnlint flags), its prints go to stderr (so JSON output
    stays clean), no bytecode is written, and afterwards sys.path, sys.argv and the
    project's own modules are as they were."""
    saved_path, saved_argv = list(sys.path), list(sys.argv)
    saved_bytecode = sys.dont_write_bytecode
    before = set(sys.modules)
    real_roots = [os.path.realpath(r) for r in roots]
    sys.path[:0] = [r for r in real_roots if r not in sys.path]
    sys.argv = [sys.argv[0]]
    sys.dont_write_bytecode = True
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        sys.path[:] = saved_path
        sys.argv = saved_argv
        sys.dont_write_bytecode = saved_bytecode
        site = _site_dirs()
        for name in set(sys.modules) - before:
            if name == "cnnlint" or name.startswith("cnnlint."):
                continue  # our own modules (an editable install lives in the project)
            file = getattr(sys.modules[name], "__file__", None)
            if file:
                real = os.path.realpath(file)
                if _under(real, real_roots) and not _under(real, site):
                    del sys.modules[name]


def package_root(path: str) -> tuple[str, str]:
    """(the folder to put on sys.path, the dotted module name) for a file: the folder
    above its outermost package, so that its relative imports work."""
    folder, stem = os.path.split(os.path.abspath(path))
    parts = [] if stem == "__init__.py" else [os.path.splitext(stem)[0]]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        parts.insert(0, package)
    return folder, ".".join(parts)


def import_file(path: str) -> Any:
    """Import a file as the module it is in its project (never as `__main__`)."""
    root, dotted = package_root(path)
    existing = sys.modules.get(dotted)
    if existing is not None:
        file = getattr(existing, "__file__", None)
        if file and os.path.realpath(file) == os.path.realpath(path):
            return existing
        raise TargetError(f"cannot import {path} as `{dotted}`: an installed module of that "
                          f"name is already loaded ({file or 'built in'})")
    return import_module(dotted, where=path)


def import_module(dotted: str, where: str = "") -> Any:
    return call_user(f"importing {where or dotted}", importlib.import_module, dotted)


def call_user(what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run the user's code; whatever it raises (sys.exit included) becomes a TargetError
    that says what was being done. Only Ctrl-C gets through."""
    try:
        return function(*args, **kwargs)
    except SystemExit as exc:
        raise TargetError(f"{what} called sys.exit({exc.code!r})") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise TargetError(f"{what} failed: {type(exc).__name__}: {exc}") from exc


def roots_for(target: Target, project_root: str) -> list[str]:
    roots = [project_root]
    if target.path:
        roots.insert(0, package_root(target.path)[0])
    return roots


def resolve(target: Target) -> Any:
    """The class or factory a target names (imported inside `contained`)."""
    if target.path is not None:
        if not os.path.isfile(target.path):
            raise TargetError(f"model target {target.describe()}: no such file {target.path}")
        module = import_file(target.path)
    else:
        assert target.module is not None
        module = import_module(target.module)
    found: Any = module
    for part in target.name.split("."):
        found = getattr(found, part, None)
    if found is None or not callable(found):
        raise TargetError(f"{target.describe()}: `{target.name}` is not defined in "
                          f"{target.path or target.module}")
    return found


def construct(factory: Any, target: Target) -> Any:
    """Call the class or factory with the target's keyword arguments."""
    import torch

    built = call_user(f"building {target.describe()}", factory, *target.args, **target.kwargs)
    if not isinstance(built, torch.nn.Module):
        raise TargetError(f"{target.describe()} returned {type(built).__name__}, "
                          "not an nn.Module")
    return built


def required_parameters(factory: Any) -> list[str]:
    """Parameters a call without arguments would miss."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def definition(obj: Any) -> tuple[str | None, int]:
    """(source file, line of the `class`/`def`) of a class or function."""
    try:
        path = inspect.getsourcefile(obj)
        _, line = inspect.getsourcelines(obj)
        return path, line
    except (OSError, TypeError):
        return None, 1
