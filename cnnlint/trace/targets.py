"""Which models to trace, and importing the user's code with its side effects contained.

A target is `path/to/file.py:Name` or `package.module:Name`, optionally with constructor
keyword arguments: `models/net.py:ResNet(depth=50, num_classes=10)`. The same targets serve
`cnnlint --model`, `[tool.cnnlint.models]` and `cnnlint probe`.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import sysconfig
from dataclasses import dataclass, field
from typing import Any, Iterator


class TargetError(Exception):
    """A target that cannot be parsed, imported or built; the message says which stage."""


@dataclass
class Target:
    name: str  # the class or factory (`Net`, or `EfficientNet.from_name`)
    path: str | None = None  # a file, or None for a module target
    module: str | None = None  # a dotted module, or None for a file target
    kwargs: dict[str, Any] = field(default_factory=dict)
    args: tuple[Any, ...] = ()
    input_shape: tuple[int, ...] | None = None  # (C, H, W), without the batch
    label: str = ""  # how messages name it

    def describe(self) -> str:
        return self.label or f"{self.path or self.module}:{self.name}"


def parse_target(text: str, base_dir: str = "") -> Target:
    """`file.py:Name`, `pkg.mod:Name` or `pkg.mod:Class.factory`, each optionally followed
    by literal arguments: `(depth=50)`, `("efficientnet-b0")`."""
    spec = text.strip()
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if spec.endswith(")") and "(" in spec:
        spec, _, call = spec.partition("(")
        args, kwargs = parse_arguments("f(" + call, text)
    location, colon, name = spec.rpartition(":")
    if not colon or not location or not all(p.isidentifier() for p in name.split(".")):
        raise TargetError(f"model target {text!r} is not FILE.py:Name or package.module:Name")
    if location.endswith(".py") or "/" in location or os.sep in location:
        return Target(name=name, path=os.path.join(base_dir, location), kwargs=kwargs,
                      args=args, label=text.strip())
    if not all(part.isidentifier() for part in location.split(".")):
        raise TargetError(f"model target {text!r}: {location!r} is not a module name")
    return Target(name=name, module=location, kwargs=kwargs, args=args, label=text.strip())


def parse_arguments(call: str, text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Literal arguments of a call, read with `ast.literal_eval`: nothing is executed."""
    try:
        tree = ast.parse(call, mode="eval").body
        assert isinstance(tree, ast.Call) and all(k.arg for k in tree.keywords)
        return (tuple(ast.literal_eval(a) for a in tree.args),
                {str(k.arg): ast.literal_eval(k.value) for k in tree.keywords})
    except (SyntaxError, ValueError, AssertionError):
        raise TargetError(f"model target {text!r}: arguments must be Python literals, "
                          "`Name(depth=50, widths=(16, 32))`") from None


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
