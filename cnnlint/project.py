"""The project around the linted files: its root, its Python files, and how they import each
other, resolved on disk the way Python would.

Analysis scope is the project; report scope is the files named. Linting `models/net.py` alone
must still see the `train.py` that trains `Net` at batch 2, so the engine asks this module for
the *analysis set* of the linted files:

- the training scripts that import them, directly or through other modules (the reverse import
  index), because those scripts decide how their models are trained;
- everything those files and the linted files import (loaded on demand while interpreting).

What a file imports is read from its bytes with a cheap scanner (a superset of its import
statements: imports inside strings only add edges, never lose them) and kept in the cache by
modification time and size, so a warm run of one file in a large project only stats the tree.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from cnnlint.config import DEFAULT_EXCLUDES, find_config
from cnnlint.sources import ReadError, is_given, read_bytes
from cnnlint.files import WALKED_SUFFIXES, dotted, matches
from cnnlint.ignore import GitIgnored

# Files and folders that mark the top of a project, after a [tool.cnnlint] table.
MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")

# Import statements: `from X import ...` and `import X` at the start of a logical line.
_IMPORT_START = re.compile(rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import(?=[\s(\\])|import[ \t]+)",
                           re.MULTILINE)
# A file that may train something: it steps an optimizer or a scheduler, fits a Trainer,
# names an optimizer, or calls a `.train()` (a solver class's training method, defined in
# another file). Only such files get a script pass of their own. (Alternatives grouped under
# a common start: the search tries fewer of them at each byte, twice as fast on a large zoo.)
_TRAINING_HINT = re.compile(
    rb"\.(?:step\s*\(|fit\s*\(|train\s*\(\s*\))|\b(?:optim(?:izer)?\b|Trainer\s*\()")
_RUNS_AS_SCRIPT = re.compile(rb"\b__name__\s*==\s*['\"]__main__['\"]")
# Code at the top of a file with no main guard runs as a script: a call (`Trainer(model).run()`),
# a name given a call's result (`fitter = Fitter(args)`), or a loop (`for epoch in ...:`).
_CALLS_AT_TOP = re.compile(
    rb"^(?:[A-Za-z_][\w.]*\s*\(|(?:for|while)\b"
    rb"|[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[A-Za-z_][\w.]*\s*\()",
    re.MULTILINE)
# A file that can build an optimizer or a Lightning Trainer itself: it names `torch.optim`
# (imported, as an attribute, or as a string for getattr), Lightning or a Trainer, or imports
# modules by name at run time (what it reaches cannot be listed). Training needs one of these
# in the file or in what it imports.
_OPTIMIZER_HINT = re.compile(rb"\boptim\b|lightning|\bTrainer\b|import_module|__import__")
_DERIVED_CLASS = re.compile(rb"^[ \t]*class[ \t]+\w+[ \t]*\(", re.MULTILINE)
# A line that puts folders on the import path (`sys.path.append(".../nets")`): the rest of
# the line names them.
_EXTENDS_PATH = re.compile(rb"\bsys\.path\s*(?:\.\s*(?:append|insert|extend)\b|\+=)(.*)")
_PATH_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_.-]*")
# `__all__ = [...]` (or a tuple) at the start of a line, and the names quoted in it.
_ALL_NAMES = re.compile(rb"^__all__\s*=\s*[\[(]([^\])]*)", re.MULTILINE)
_QUOTED_NAME = re.compile(rb"[\"']([A-Za-z_]\w*)[\"']")


_DEF = re.compile(rb"[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(")


def path_words(data: bytes) -> tuple[str, ...]:
    """The words of the lines that extend sys.path (`"/home/me/proj/nets"` gives home, me,
    proj, nets): the folders they may add. A line inside a helper function (`def
    add_path(path): sys.path.insert(0, path)`) adds what the file's calls of the helper
    name (`add_path(osp.join(root, "furnace"))`)."""
    texts: list[bytes] = []
    for match in _EXTENDS_PATH.finditer(data):
        texts.append(match.group(1))
        helper = _enclosing_function(data, match.start())
        if helper is not None:
            calls = re.compile(rb"(?<![\w.])" + re.escape(helper) + rb"[ \t]*\((.*)")
            texts += [m.group(1) for m in calls.finditer(data)]
    words: set[str] = set()
    for text in texts:
        for word in _PATH_WORD.findall(text.replace(b"/", b" ").replace(b"\\", b" ")):
            words.add(word.decode("ascii", "replace"))
    return tuple(sorted(words))


def _enclosing_function(data: bytes, at: int) -> bytes | None:
    """The name of the innermost function whose body holds the position `at`, if any: the
    lines above are read back to the first `def` less indented than everything between."""
    lines = data[:at].split(b"\n")
    current = len(lines[-1]) - len(lines[-1].lstrip(b" \t"))
    for line in reversed(lines[:-1]):
        text = line.lstrip(b" \t")
        indent = len(line) - len(text)
        if not text or text.startswith(b"#") or indent >= current:
            continue
        match = _DEF.match(line)
        if match is not None:
            return match.group(1)
        current = indent
        if current == 0:
            return None
    return None


# Libraries that train nothing they are handed, besides the standard library: tensors and
# vision, data, input and output, plots, progress bars, model summaries and export.
_NOT_TRAINING_LIBRARIES = frozenset(sys.stdlib_module_names) | {
    "torch", "torchvision", "torchaudio", "numpy", "scipy", "pandas", "h5py", "yaml", "PIL",
    "cv2", "skimage", "imageio", "albumentations", "einops", "librosa", "soundfile",
    "requests", "matplotlib", "seaborn", "tqdm", "tensorboardX", "thop", "ptflops",
    "torchsummary", "onnx", "onnxruntime"}

# (module, level, names): `from ..a.b import c, d` is ("a.b", 2, ("c", "d")); `import a.b`
# is ("a.b", 0, ()).
ImportRef = tuple[str, int, tuple[str, ...]]

INDEX_FORMAT = 9


def find_root(paths: Iterable[str]) -> str | None:
    """The folder of the nearest pyproject.toml with a [tool.cnnlint] table above the paths,
    else of the nearest pyproject.toml, setup.cfg, setup.py or .git; None when there is none."""
    config = find_config(paths)
    if config is not None:
        return os.path.dirname(os.path.abspath(config))
    current = _start(paths)
    while True:
        if any(os.path.exists(os.path.join(current, marker)) for marker in MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _start(paths: Iterable[str]) -> str:
    absolute = [os.path.abspath(p) for p in paths] or [os.getcwd()]
    try:
        start = os.path.commonpath(absolute)
    except ValueError:
        start = os.getcwd()
    return start if os.path.isdir(start) else os.path.dirname(start)


def scan_imports(data: bytes) -> tuple[ImportRef, ...]:
    """Every import statement of a file, from its bytes (no parse)."""
    found: list[ImportRef] = []
    for match in _IMPORT_START.finditer(data):
        rest = _statement_rest(data, match.end())
        if match.group(1) is not None:
            dotted = match.group(1).decode("ascii", "replace")
            level = len(dotted) - len(dotted.lstrip("."))
            names = tuple(n for n in (_first_word(part) for part in rest.split(","))
                          if n == "*" or n.isidentifier())
            found.append((dotted[level:], level, names))
        else:
            for part in rest.split(","):
                name = _first_word(part)
                if name and all(p.isidentifier() for p in name.split(".")):
                    found.append((name, 0, ()))
    return tuple(found)


def _statement_rest(data: bytes, start: int) -> str:
    """The text of a statement after its keyword: to the end of the line, across a
    parenthesised list or backslash continuations, without a comment."""
    end = len(data)
    text = data[start:start + 2000].decode("utf-8", "replace")
    stripped = text.lstrip(" \t")
    if stripped.startswith("("):
        close = stripped.find(")")
        body = stripped[1:close if close >= 0 else end]
        return re.sub(r"#[^\n]*", "", body)
    lines = []
    for line in text.split("\n"):
        content = line.split("#", 1)[0].split(";", 1)[0]
        if content.rstrip().endswith("\\"):
            lines.append(content.rstrip()[:-1])
            continue
        lines.append(content)
        break
    return " ".join(lines)


def _first_word(part: str) -> str:
    words = part.split()
    return words[0] if words else ""


@dataclass
class FileEntry:
    """What the project index keeps of one file (cached by modification time and size)."""

    imports: tuple[ImportRef, ...]
    trains: bool  # training code, or a script that may call some (`is_entry`): a script pass
    optimizer: bool  # the file can build an optimizer or a Trainer itself
    # The words of its lines that add folders to sys.path (`path_words`).
    path_words: tuple[str, ...] = ()
    classes: bool = False  # it defines a class with a base (a network, maybe)


@dataclass
class Project:
    """The project's Python files and their import graph. Paths are absolute."""

    root: str | None
    files: set[str] = field(default_factory=set)
    entries: dict[str, FileEntry] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)  # folders that hold a Python file
    # With no root: the folders of the linted files, where files not read yet may be found
    # (never above them: an installed library is not the project).
    folders: tuple[str, ...] = ()
    # With no root: the folder all linted files are under (`cnnlint .` in a repository with
    # no marker: the repository), where a script's absolute imports are also looked for, as
    # when it is run from there with that folder on its path.
    top: str | None = None
    _edges: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    cache: Any = field(default=None, repr=False)
    _indexed: bool = field(default=False, repr=False)
    _reverse: dict[str, list[str]] | None = field(default=None, repr=False)
    # Dotted name -> the folders holding a project module of that name.
    _anywhere: dict[str, list[str]] = field(default_factory=dict, repr=False)
    # Files whose imports are being resolved for the sys.path words they bring, and the
    # words found for each file.
    _extending: set[str] = field(default_factory=set, repr=False)
    _words_at: dict[str, set[str]] = field(default_factory=dict, repr=False)
    # (importer, dotted, level) -> what `resolve` found: a training pass asks again for
    # every import of every module loaded (thousands of modules in a large package).
    _resolved: dict[tuple[str, str, int], tuple[str | None, str | None]] = field(
        default_factory=dict, repr=False)
    _all_names: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    # --- building -----------------------------------------------------------------------

    @classmethod
    def open(cls, linted: list[str], exclude: list[str], config_root: str,
             cache: Any = None, respect_gitignore: bool = True,
             given: Iterable[str] = ()) -> Project:
        """The project of the linted paths: walk its root (or, with no root, only the linted
        files) and index every Python file. `given`: the paths as named on the command line;
        with no root, a folder among them is where imports are looked for (`cnnlint .` on
        `pkg/` without an `__init__.py` finds `from pkg.layers import ...`)."""
        root = find_root(linted)
        project = cls(root=root)
        if root is not None:
            project.files = set(_walk(root, exclude, config_root, respect_gitignore))
        else:
            project.files = set(_beside(linted))
            project.folders = tuple(sorted(
                {os.path.dirname(os.path.abspath(p)) + os.sep for p in linted}
                | {os.path.abspath(p) + os.sep for p in given if os.path.isdir(p)}))
            if project.folders:
                project.top = os.path.commonpath(project.folders)
        project.files.update(os.path.abspath(p) for p in linted)
        for path in project.files:
            folder = os.path.dirname(path)
            while folder not in project.packages:
                project.packages.add(folder)
                if root is None or folder == root or not folder.startswith(root):
                    break
                folder = os.path.dirname(folder)
        project.cache = cache  # the import index is built when first needed
        return project

    def _index(self) -> None:
        if self._indexed:
            return
        self._indexed = True
        cache = self.cache
        key = _index_key(self.root)
        old: dict[str, Any] = {}
        if cache is not None:
            payload = cache.get_payload("index", key)
            if payload is not None:
                try:
                    loaded = marshal.loads(payload)
                    if isinstance(loaded, dict) and loaded.get("format") == INDEX_FORMAT:
                        old = loaded["files"]
                except (ValueError, EOFError, TypeError, KeyError):
                    old = {}
        new: dict[str, Any] = {}
        changed = False
        for path in sorted(self.files):
            # Source given on stdin is indexed afresh, under a stamp no file on disk has.
            if is_given(path):
                stamp, known = (-1, -1), None
            else:
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                stamp, known = (stat.st_mtime_ns, stat.st_size), old.get(path)
            if known is not None and tuple(known[0]) == stamp:
                imports, trains, optimizer, extends, classes = known[1:6]
            else:
                try:
                    data = read_bytes(path)
                except ReadError:
                    continue
                imports, trains = scan_imports(data), is_entry(data)
                optimizer = bool(_OPTIMIZER_HINT.search(data))
                extends = path_words(data)
                classes = bool(_DERIVED_CLASS.search(data))
                changed = True
            new[path] = (stamp, imports, trains, optimizer, extends, classes)
            self.entries[path] = FileEntry(imports=imports, trains=trains, optimizer=optimizer,
                                           path_words=extends, classes=classes)
        if cache is not None and (changed or len(new) != len(old)):
            cache.put_payload("index", key, marshal.dumps({"format": INDEX_FORMAT,
                                                           "files": new}))

    # --- resolving imports -------------------------------------------------------------

    def _is_file(self, path: str) -> bool:
        """A project file: one the walk found (or, with no root, one under the linted
        files' folders). A library beside the project is never one."""
        if path in self.files:
            return True
        return path.startswith(self.folders) and os.path.isfile(path) if self.folders \
            else False

    def _is_folder(self, path: str) -> bool:
        if path in self.packages:
            return True
        return path.startswith(self.folders) and os.path.isdir(path) if self.folders \
            else False

    def is_package(self, folder: str) -> bool:
        return self._is_file(os.path.join(folder, "__init__.py"))

    def bases(self, importer: str, climb: bool = True, dotted: str = "") -> list[str]:
        """Where an absolute import from `importer` is looked for, first match wins: a
        script's own folder (Python puts it on sys.path); with `climb`, the folder above the
        nearest of the importer's own folders named like the import's first part, when that
        folder is no package (`v2/lib/net.py` importing `lib.block` was itself imported as
        `lib.net` from `v2/`, beside a copy in the root's `lib/`); the project root and its
        src/ (with no root: the folder the linted files are under), the folder above the
        importer's outermost package, then (with `climb`) the importer's folders up to the
        root (what `sys.path.append("..")` tricks reach)."""
        first = dotted.partition(".")[0]
        folder = os.path.dirname(importer)
        found: list[str] = []
        if not self.is_package(folder):
            found.append(folder)
        ceiling = self.root if self.root is not None else self.top
        current = folder
        while climb and first and ceiling is not None and current.startswith(ceiling + os.sep):
            parent = os.path.dirname(current)
            if os.path.basename(current) == first:
                # (`from tools import Net` in `tools/train.py` beside `tools/tools.py`: the
                # folder above would give a namespace package, and `Net` is no module of
                # it; the script, run from its folder, imports the file beside it.)
                beside = current == folder and first == dotted \
                    and self.module_at(folder, first)[0] is not None
                if not self.is_package(parent) and not beside:  # (a folder on the path)
                    # In a folder named like the import's first part (`vision/net.py`
                    # importing `vision.parts`), the file was itself imported through that
                    # name: the folder above comes first (a nested `vision/vision/` copy is
                    # what only running the file as a script would find).
                    found.insert(0 if current == folder else len(found), parent)
                break
            current = parent
        if self.root is not None:
            found += [self.root, os.path.join(self.root, "src")]
        elif self.top is not None and folder.startswith(self.top):
            found.append(self.top)
        top = folder
        while self.is_package(top) and os.path.dirname(top) != top:
            top = os.path.dirname(top)
        found.append(top)
        if not climb:
            return list(dict.fromkeys(found))
        current = folder
        while True:
            found.append(current)
            parent = os.path.dirname(current)
            if ceiling is None or current == ceiling or parent == current \
                    or not parent.startswith(ceiling):
                break
            current = parent
        return list(dict.fromkeys(found))

    def module_at(self, base: str, dotted: str) -> tuple[str | None, bool]:
        """(the module file, whether a package folder exists) for `dotted` under `base`."""
        target = os.path.join(base, *dotted.split(".")) if dotted else base
        if self._is_file(target + ".py"):
            return target + ".py", False
        init = os.path.join(target, "__init__.py")
        if self._is_file(init):
            return init, True
        return None, self._is_folder(target)

    def resolve(self, importer: str, dotted: str, level: int = 0) -> tuple[str | None, str | None]:
        """(module file, package folder) of an import from `importer`: the file to read
        (None for a folder without __init__.py), and the folder its submodules live in
        (None when the module is a plain file). Both None: not in the project."""
        key = (importer, dotted, level)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolve(importer, dotted, level)
            if not self._extending:  # (found with every import followed)
                self._resolved[key] = found
        return found

    def _resolve(self, importer: str, dotted: str, level: int) -> tuple[str | None, str | None]:
        if level:
            base = os.path.dirname(importer)
            for _ in range(level - 1):
                base = os.path.dirname(base)
            return self._found(base, dotted)
        # A package folder deep in the project named like a library (gluon-cv's
        # `gluoncv/torch/`) is not what `import torch` inside it finds.
        climb = dotted.partition(".")[0] not in _NOT_TRAINING_LIBRARIES
        for base in self.bases(importer, climb, dotted):
            found = self._found(base, dotted)
            if found[0] == importer and base == os.path.dirname(importer):
                # `import lpips` in `eval/lpips.py`, found beside it: a file named like the
                # library it uses (run as a script it would import itself, and find none of
                # its names). A package importing its own submodules through its full name
                # (`from models.backbone import resnet` in its `__init__`) is itself.
                continue
            if found[0] is not None and found[1] is None and dotted == os.path.basename(base) \
                    and base == os.path.dirname(importer):
                # `models/models.py` beside the script in `models/`: the file is the module,
                # and the folder, a namespace package to a run from above, still holds the
                # submodules a `from models import resnet` may mean.
                return found[0], base
            if found != (None, None):
                return found
        return self._on_extended_path(importer, dotted)

    def _on_extended_path(self, importer: str, dotted: str) -> tuple[str | None, str | None]:
        """An import from a file that puts folders on sys.path itself (`sys.path.append(
        "/home/me/proj/model")`, a path of the author's machine, then `from deeplab import
        Net`): the project module of that name in a folder the line names (`model`), when
        exactly one such module exists."""
        self._index()
        words = self._path_words_at(importer)
        if not words or not dotted:
            return None, None
        if dotted not in self._anywhere:
            # The folder each project module of that name sits in: `base/a/b.py` and
            # `base/a/b/__init__.py` are both `a.b` under `base`.
            tail = os.sep + os.path.join(*dotted.split("."))
            stems = (os.path.dirname(p) if os.path.basename(p) == "__init__.py" else p[:-3]
                     for p in self.files if p.endswith(".py"))
            self._anywhere[dotted] = sorted(
                stem[:-len(tail)] for stem in stems if stem.endswith(tail))
        bases = [base for base in self._anywhere[dotted] if os.path.basename(base) in words]
        return self._found(bases[0], dotted) if len(bases) == 1 else (None, None)

    def _path_words_at(self, importer: str) -> set[str]:
        """The words of the sys.path changes made before `importer`'s imports run: its own,
        and those of the project modules it imports (sys.path is one for the process: a
        config module imported first may add the folder the next import comes from)."""
        known = self._words_at.get(importer)
        if known is not None:
            return known
        entry = self.entries.get(importer)
        if entry is None or importer in self._extending:
            return set()
        words = set(entry.path_words)
        self._extending.add(importer)  # a module's imports are resolved without its words
        try:
            for dotted, level, _ in entry.imports:
                path, _ = self.resolve(importer, dotted, level)
                imported = self.entries.get(path) if path is not None else None
                if imported is not None:
                    words.update(imported.path_words)
        finally:
            self._extending.discard(importer)
        if not self._extending:  # found with every import followed: the same from now on
            self._words_at[importer] = words
        return words

    def _found(self, base: str, dotted: str) -> tuple[str | None, str | None]:
        path, is_folder = self.module_at(base, dotted)
        folder = os.path.join(base, *dotted.split(".")) if dotted else base
        if path is not None:
            return path, folder if path.endswith("__init__.py") else None
        return None, folder if is_folder else None

    def resolve_all(self, importer: str, ref: ImportRef) -> list[str]:
        """Every project file an import statement runs or names: the module, the packages
        above it, and the submodules named in a `from` import."""
        dotted, level, names = ref
        out: list[str] = []
        path, folder = self.resolve(importer, dotted, level)
        if path is None and folder is None:
            return out
        if path is not None:
            out.append(path)
        parts = dotted.split(".") if dotted else []
        for i in range(1, len(parts)):
            parent, _ = self.resolve(importer, ".".join(parts[:i]), level)
            if parent is not None and parent.endswith("__init__.py"):
                out.append(parent)
        if folder is not None:
            if "*" in names and path is not None and path.endswith("__init__.py"):
                names = names + self._exported(path)  # `from pkg import *` runs __all__'s
            for name in names:
                sub, _ = self.module_at(folder, name)
                if sub is not None:
                    out.append(sub)
        return out

    def _exported(self, init: str) -> tuple[str, ...]:
        """The names a package's `__init__.py` lists in `__all__` (its literal strings):
        `from pkg import *` imports those of them that are submodules."""
        found = self._all_names.get(init)
        if found is None:
            try:
                data = read_bytes(init)
            except ReadError:
                data = b""
            match = _ALL_NAMES.search(data)
            found = tuple(name.decode("ascii", "replace") for name in
                          _QUOTED_NAME.findall(match.group(1))) if match else ()
            self._all_names[init] = found
        return found

    def imports_of(self, path: str) -> tuple[str, ...]:
        found = self._edges.get(path)
        if found is None:
            self._index()
            entry = self.entries.get(path)
            targets: list[str] = []
            if entry is not None:
                for ref in entry.imports:
                    targets.extend(self.resolve_all(path, ref))
            found = self._edges[path] = tuple(dict.fromkeys(t for t in targets if t != path))
        return found

    def importers(self) -> dict[str, list[str]]:
        """The reverse import index: file -> the project files that import it."""
        self._index()
        if self._reverse is None:
            reverse: dict[str, list[str]] = {}
            for path in sorted(self.entries):
                for target in self.imports_of(path):
                    reverse.setdefault(target, []).append(path)
            self._reverse = reverse
        return self._reverse

    def imported(self, path: str) -> bool:
        """Whether a project file imports the file (absolute path); a file outside the index
        may be imported by anything."""
        self._index()
        return path not in self.entries or path in self.importers()

    # --- what a run reads --------------------------------------------------------------

    def analysis_set(self, linted: list[str]) -> tuple[list[str], list[str] | None]:
        """(files to analyse, entry files) for linting `linted` (absolute paths).

        The analysis set: the linted files, every file that imports them or the files of
        classes they import, directly or not (`sample.py` builds net.py's `Stack`, which
        train.py trains; a unit test builds it with the sizes it needs: every build decides
        how, and where, a build is judged), and everything those import, directly or not.
        Entry files, which get a script pass, are those of them that may train something.
        When every project file is linted, no index is needed: the entries are left to
        `may_train` on the bytes the run reads (None)."""
        linted_set = set(linted)
        if self.files <= linted_set:
            return sorted(linted_set), None
        reverse = self.importers()
        seen = set(linted_set)
        queue = list(linted_set)
        for path in linted:
            for target in self._class_files(path):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        while queue:
            for importer in reverse.get(queue.pop(), ()):
                if importer not in seen:
                    seen.add(importer)
                    queue.append(importer)
        entries = sorted(p for p in seen if self.trains(p))
        # Every importer is read, training or not: a unit test's or an inference script's
        # `Net(3, 8)` is a build of the class, and where its findings go depends on them all.
        needed = set(seen)
        queue = list(needed)
        while queue:
            for target in self.imports_of(queue.pop()):
                if target not in needed:
                    needed.add(target)
                    queue.append(target)
        return sorted(needed), entries

    def _class_files(self, path: str) -> list[str]:
        """The files of classes `path` imports: those it imports that define classes, also
        through a package's `__init__.py` that re-exports them."""
        found: list[str] = []
        for target in self.imports_of(path):
            entry = self.entries.get(target)
            if entry is not None and entry.classes:
                found.append(target)
            elif entry is not None and os.path.basename(target) == "__init__.py":
                found.extend(t for t in self.imports_of(target)
                             if (e := self.entries.get(t)) is not None and e.classes)
        return found

    def trains(self, path: str) -> bool:
        self._index()
        entry = self.entries.get(path)
        return entry is not None and entry.trains

    def reaches_training_code(self, path: str) -> bool:
        """Whether the file, or a project file it imports directly or not, can build an
        optimizer or a Trainer, or imports a library that might train a model handed to it
        (anything but the standard library and torch's tensor and vision packages). A file
        outside the index is assumed to (nothing is known of it). Without any, a pass over
        the file's code cannot find a training run or a model handed off: a model zoo's
        `_test()` that builds every network and calls backward is not training."""
        for current in self._reachable(path):
            entry = self.entries.get(current)
            if entry is None or entry.optimizer:
                return True
            for ref in entry.imports:
                if not ref[1] and ref[0].split(".")[0] not in _NOT_TRAINING_LIBRARIES \
                        and not self.resolve_all(current, ref):
                    return True
        return False

    def reaches_optimizer(self, path: str) -> bool:
        """Whether the file, or a project file it imports directly or through others, can
        build an optimizer or imports modules by name (`Runner(Recipe()).run()`, with the
        optimizer built by a base class of the recipe in a third file)."""
        return any(entry is not None and entry.optimizer
                   for entry in map(self.entries.get, self._reachable(path)))

    def reachable(self, path: str) -> set[str]:
        """The file and the project files it imports, directly or through others."""
        return set(self._reachable(path))

    def _reachable(self, path: str) -> Iterator[str]:
        """The file, then the project files it imports directly or through others, each
        once (those of a file are looked up only when the caller asks for more)."""
        self._index()
        seen = {path}
        queue = [path]
        while queue:
            current = queue.pop()
            yield current
            for target in self.imports_of(current):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)

    def module_name(self, path: str) -> str:
        """A file's dotted name relative to the project root (or the working folder): unique
        per file, so it identifies the models defined there."""
        base = self.root or os.getcwd()
        absolute = os.path.abspath(path)
        relative = os.path.relpath(absolute, base) if absolute.startswith(base + os.sep) \
            else absolute.lstrip(os.sep)
        stem, suffix = os.path.splitext(relative)
        return dotted(stem.replace(os.sep, "/").split("/"), suffix)


def may_train(data: bytes) -> bool:
    """Whether a file's bytes look like training code (see _TRAINING_HINT)."""
    return bool(_TRAINING_HINT.search(data))


def is_entry(data: bytes) -> bool:
    """The entry test: training code, or a script (`if __name__ == "__main__":`, or calls at
    the top of the file) that may call a training function or class another file defines
    (`train(cfg, Net(), loader)`). A pass over one that reaches no training code is
    skipped."""
    return may_train(data) or bool(_RUNS_AS_SCRIPT.search(data) or _CALLS_AT_TOP.search(data))


def _index_key(root: str | None) -> str:
    import hashlib

    return hashlib.sha256(f"index {INDEX_FORMAT} {root}".encode()).hexdigest()


# With no project root, the Python files beside the linted ones (not in sub-folders) stand for
# the project, up to this many per folder: a file in /tmp must not mean reading all of /tmp.
MAX_NEIGHBOURS = 200


def _beside(linted: list[str]) -> Iterable[str]:
    for folder in sorted({os.path.dirname(os.path.abspath(p)) for p in linted}):
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(WALKED_SUFFIXES))
        except OSError:
            continue
        for name in names[:MAX_NEIGHBOURS]:
            yield os.path.join(folder, name)


def _walk(root: str, exclude: list[str], config_root: str,
          respect_gitignore: bool = True) -> Iterable[str]:
    """Every Python file and notebook under root, skipping hidden folders, the default
    excludes (virtual environments, build output, caches), the configured `exclude` globs
    and what git ignores."""
    ignored = GitIgnored() if respect_gitignore else None
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in DEFAULT_EXCLUDES and not d.startswith(".")
                         and d != "site-packages"
                         and not (exclude and matches(os.path.join(folder, d), exclude,
                                                      config_root))
                         and not (ignored and ignored(os.path.join(folder, d), True, root)))
        for name in names:
            if name.endswith(WALKED_SUFFIXES):
                full = os.path.join(folder, name)
                if not (exclude and matches(full, exclude, config_root)) \
                        and not (ignored and ignored(full, False, root)):
                    yield full
