"""Which files a run lints: the paths given, folders walked for *.py and *.ipynb, minus the
excludes and what git ignores."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from cnnlint.config import DEFAULT_EXCLUDES
from cnnlint.sources import is_given
from cnnlint.ignore import GitIgnored
from cnnlint.notebook import NOTEBOOK_SUFFIX


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    not_python: list[str] = field(default_factory=list)  # named explicitly, not Python


PYTHON_SUFFIXES = (".py", ".pyi", ".pyw", NOTEBOOK_SUFFIX)
# What a folder walk picks up (type stubs and .pyw are linted only when named).
WALKED_SUFFIXES = (".py", NOTEBOOK_SUFFIX)


def looks_like_python(path: str) -> bool:
    """A .py/.pyi/.pyw file, or a script whose first line is a Python shebang."""
    if path.endswith(PYTHON_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            first = handle.readline(200)
    except OSError:
        return True  # let reading report the real problem
    return first.startswith(b"#!") and b"python" in first


def display_path(path: str) -> str:
    """Paths as users expect to read them: relative to the working folder when inside it."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:
        return absolute
    return absolute if relative.startswith("..") else relative.replace(os.sep, "/")


def _relative_to(path: str, root: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    except ValueError:
        return path.replace(os.sep, "/")


def matches(path: str, globs: list[str], root: str) -> bool:
    """True when a glob matches the path (relative to root), one of its parents, or its name."""
    relative = _relative_to(path, root)
    parts = relative.split("/")
    candidates = {relative, parts[-1]}
    candidates.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return any(fnmatch.fnmatch(c, g.rstrip("/")) for g in globs for c in candidates)


def discover(paths: list[str], exclude: list[str], root: str,
             respect_gitignore: bool = True) -> Discovery:
    found = Discovery()
    seen: set[str] = set()
    ignored = GitIgnored() if respect_gitignore else None

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            found.files.append(display_path(path))

    for path in paths:
        if is_given(path):  # source read from stdin stands for this path
            add(path)
        elif not os.path.lexists(path):
            found.missing.append(path)
        elif os.path.isdir(path):
            # A folder git ignores that is named on purpose (an installed package inside
            # .venv, say) is linted whole, as a file named explicitly is.
            walk_ignored = ignored if ignored and not ignored(path, True) else None
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs
                    if d not in DEFAULT_EXCLUDES
                    and not matches(os.path.join(folder, d), exclude, root)
                    and not (walk_ignored and walk_ignored(os.path.join(folder, d), True, path)))
                for name in sorted(names):
                    full = os.path.join(folder, name)
                    if name.endswith(WALKED_SUFFIXES) and os.path.isfile(full) \
                            and not matches(full, exclude, root) \
                            and not (walk_ignored and walk_ignored(full, False, path)):
                        add(full)
        elif os.path.isfile(path) and not looks_like_python(path):
            found.not_python.append(display_path(path))
        else:
            add(path)  # a file named explicitly is linted even when excluded, as ruff does
    return found


def dotted(parts: list[str], suffix: str) -> str:
    """A file's dotted module name from its path's parts (without the suffix). A notebook
    is no module: `vae.ipynb` is `vae[ipynb]`, never the same as `vae.py` beside it."""
    parts = [p for p in parts if p not in ("", ".", "..")]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if parts and suffix == NOTEBOOK_SUFFIX:
        parts[-1] += "[ipynb]"
    return ".".join(parts)
