"""What git ignores, cnnlint skips when it walks folders: `.gitignore` files (each for its own
folder and below; a deeper file's rule wins), and the repository's `.git/info/exclude`.

Patterns are git's (read with `pathspec`). The files are looked up from the repository's top
(the nearest folder above with a `.git`) down to each folder walked; outside a repository only
the `.gitignore` files at or below the walked folder count. A file named on the command line is
linted even when ignored, as with ruff and the configured excludes. A file the repository
tracks is not ignored, whatever the patterns say, as git itself does (a `models/.gitignore`
of `*` beside a model file added with `git add -f`): its index, `.git/index`, says which.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec


class GitIgnored:
    def __init__(self) -> None:
        # file -> its patterns, read as git reads them for files and for folders
        self._specs: dict[str, tuple[pathspec.GitIgnoreSpec, pathspec.PathSpec] | None] = {}
        self._tops: dict[str, str | None] = {}
        self._tracked: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def __call__(self, path: str, is_dir: bool = False, walked_from: str | None = None) -> bool:
        """True when git would ignore `path` (a folder when `is_dir`)."""
        absolute = os.path.abspath(path)
        folder = os.path.dirname(absolute)
        top = self._top(folder)
        if top is None:
            top = os.path.abspath(walked_from) if walked_from else folder
        chain = _folders_between(top, folder)
        if chain is None:  # the path is not below the top: nothing applies
            return False
        exclude = self._spec(os.path.join(top, ".git", "info"), "exclude")
        decided = None
        for base in reversed(chain):  # the deepest rule that speaks decides
            decided = self._check(self._spec(base, ".gitignore"), base, absolute, is_dir)
            if decided is not None:
                break
        else:
            decided = self._check(exclude, top, absolute, is_dir)
        return bool(decided) and not self._is_tracked(top, absolute, is_dir)

    def _is_tracked(self, top: str, absolute: str, is_dir: bool) -> bool:
        """Whether the repository tracks the file (for a folder: a file inside it)."""
        if top not in self._tracked:
            files = tracked_files(top)
            self._tracked[top] = (files, frozenset(_parents(files)))
        files, folders = self._tracked[top]
        relative = os.path.relpath(absolute, top).replace(os.sep, "/")
        return relative in (folders if is_dir else files)

    @staticmethod
    def _check(specs: tuple[pathspec.GitIgnoreSpec, pathspec.PathSpec] | None, base: str,
               absolute: str, is_dir: bool) -> bool | None:
        if specs is None:
            return None
        relative = os.path.relpath(absolute, base).replace(os.sep, "/")
        if is_dir:
            # A folder is ignored as git decides it while walking: the last pattern that
            # matches it wins (`*` then `!*/` keeps every folder). GitIgnoreSpec ranks a
            # pattern that matches a folder below one that names it, which is the rule for
            # the files inside, not for the folder.
            return specs[1].check_file(relative + "/").include
        return specs[0].check_file(relative).include

    def _spec(self, folder: str, name: str
              ) -> tuple[pathspec.GitIgnoreSpec, pathspec.PathSpec] | None:
        key = os.path.join(folder, name)
        if key not in self._specs:
            try:
                with open(key, encoding="utf-8", errors="replace") as handle:
                    lines = handle.read().splitlines()
            except OSError:
                self._specs[key] = None
            else:
                import pathspec  # only runs that meet a .gitignore pay for the import

                try:
                    self._specs[key] = (pathspec.GitIgnoreSpec.from_lines(lines),
                                        _folder_spec(lines))
                except ValueError:
                    self._specs[key] = None
        return self._specs[key]

    def _top(self, folder: str) -> str | None:
        """The repository's top folder (the nearest above with a .git), or None."""
        if folder not in self._tops:
            parent = os.path.dirname(folder)
            if os.path.exists(os.path.join(folder, ".git")):
                self._tops[folder] = folder
            elif parent == folder:
                self._tops[folder] = None
            else:
                self._tops[folder] = self._top(parent)
        return self._tops[folder]


def _folders_between(top: str, folder: str) -> list[str] | None:
    """[top, ..., folder], or None when folder is not at or below top."""
    if folder != top and not folder.startswith(top.rstrip(os.sep) + os.sep):
        return None
    chain = [folder]
    while chain[-1] != top:
        chain.append(os.path.dirname(chain[-1]))
    return list(reversed(chain))


def _folder_spec(lines: list[str]) -> pathspec.PathSpec:
    """The patterns as a plain list where the last match wins (how git decides a folder)."""
    import pathspec

    try:
        return pathspec.PathSpec.from_lines("gitignore", lines)
    except KeyError:  # pathspec before 1.0 names the same patterns "gitwildmatch"
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def _parents(files: frozenset[str]) -> set[str]:
    found: set[str] = set()
    for path in files:
        parent = path.rpartition("/")[0]
        while parent and parent not in found:
            found.add(parent)
            parent = parent.rpartition("/")[0]
    return found


def tracked_files(top: str) -> frozenset[str]:
    """The paths (relative, with `/`) that the repository at `top` tracks, read from its
    index (format 2 to 4); none when there is no index or it cannot be read."""
    git = os.path.join(top, ".git")
    try:
        if os.path.isfile(git):  # a worktree or a submodule: `gitdir: <where>`
            with open(git, encoding="utf-8", errors="replace") as handle:
                line = handle.readline().strip()
            if not line.startswith("gitdir:"):
                return frozenset()
            git = os.path.join(top, line[len("gitdir:"):].strip())
        with open(os.path.join(git, "index"), "rb") as handle:
            data = handle.read()
    except OSError:
        return frozenset()
    try:
        return frozenset(_index_paths(data))
    except (ValueError, IndexError):  # a truncated or corrupt index: nothing known tracked
        return frozenset()


def _index_paths(data: bytes) -> list[str]:
    if len(data) < 12 or data[:4] != b"DIRC":
        return []
    version = int.from_bytes(data[4:8], "big")
    count = int.from_bytes(data[8:12], "big")
    if version not in (2, 3, 4):
        return []
    paths: list[str] = []
    at, previous = 12, b""
    for _ in range(count):
        start = at
        flags_at = at + 60  # ctime, mtime, dev, ino, mode, uid, gid, size, sha-1
        if flags_at + 2 > len(data):
            break
        flags = int.from_bytes(data[flags_at:flags_at + 2], "big")
        at = flags_at + 2
        if version >= 3 and flags & 0x4000:  # extended flags
            at += 2
        if version == 4:
            # The name is the previous one with some bytes cut from its end, then more.
            byte = data[at]
            at += 1
            cut = byte & 0x7F
            while byte & 0x80:  # git's offset varint
                byte = data[at]
                at += 1
                cut = ((cut + 1) << 7) | (byte & 0x7F)
            end = data.index(b"\0", at)
            name = previous[:len(previous) - cut] + data[at:end]
            at = end + 1
        else:
            end = data.index(b"\0", at)
            name = data[at:end]
            # Entries are padded with NULs to a multiple of eight bytes.
            at = start + ((end - start + 8) // 8) * 8
        previous = name
        paths.append(name.decode("utf-8", "replace"))
    return paths
