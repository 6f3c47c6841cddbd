"""The on-disk cache: per-file facts, and whole-run results.

*File facts* (the lowered code and its spans) depend only on the file's bytes and on
cnnlint's own code (its version, and a stamp of its files: `code_stamp`), not on any
setting, so they are keyed by a hash of exactly those. A
renamed or copied file hits the same entry.

*Run results* (findings and errors after suppressions) depend on every file of the run
(rules read across files) and on the settings, so they are keyed by all of them. A rerun on
an unchanged tree skips the interpretation too; a change anywhere recomputes the run from
the cached per-file facts.

Entries are written to a temporary file and renamed into place, so two runs at once never
leave a torn entry; a corrupt or foreign entry is ignored and rewritten.
"""

from __future__ import annotations

import json
import marshal
import os
from typing import Any

from cnnlint import __version__

FORMAT = 8  # bump when FileFacts, the lowered form or the decoding of sources change
_MAGIC = b"CNNLINT-CACHE\x00"
ENV_VAR = "CNNLINT_CACHE_DIR"
DEFAULT_NAME = ".cnnlint_cache"
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by cnnlint.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")


def quick_key(data: bytes) -> str:
    """Enough to notice that a file changed between analysis and reporting, without the
    cache: length and CRC-32."""
    import zlib

    return f"{len(data)}:{zlib.crc32(data):08x}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def stamp_of(folders: list[str]) -> str:
    """A digest of the Python files under `folders`: their paths, sizes and modification
    times (a stat each, no reading)."""
    import hashlib

    digest = hashlib.sha256()
    for base in folders:
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    try:
                        info = os.stat(path)
                    except OSError:
                        continue
                    digest.update(f"{os.path.relpath(path, base)}:{info.st_size}:"
                                  f"{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


_STAMP: str | None = None


def code_stamp() -> str:
    """cnnlint's own installed code (the engine, the rules, the probes). Every cache key holds
    it: an entry made by other code under the same version number (an install from git, a
    pre-commit `rev` update, an edited checkout) is not reused."""
    global _STAMP
    if _STAMP is None:
        import importlib.util

        folders: list[str] = []
        for package in ("cnnlint", "cnnlint.rules", "cnnlint.probes"):
            spec = importlib.util.find_spec(package)
            if spec is not None and spec.submodule_search_locations:
                folders.extend(spec.submodule_search_locations)
        _STAMP = stamp_of(sorted(set(folders)))
    return _STAMP


def content_key(data: bytes) -> str:
    import hashlib  # a run without the cache never needs it (start-up time)

    digest = hashlib.sha256()
    digest.update(f"cnnlint {__version__} {code_stamp()} facts {FORMAT}\0".encode())
    digest.update(data)
    return digest.hexdigest()


class Cache:
    def __init__(self, root: str) -> None:
        self.root = root
        self._ready = False

    @staticmethod
    def location(cache_dir: str | None, config_root: str) -> str:
        """`--cache-dir`, else $CNNLINT_CACHE_DIR, else .cnnlint_cache beside the config."""
        return cache_dir or os.environ.get(ENV_VAR) or os.path.join(config_root, DEFAULT_NAME)

    def _prepare(self) -> bool:
        if self._ready:
            return True
        try:
            os.makedirs(self.root, exist_ok=True)
            for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# created by cnnlint\n*\n")):
                path = os.path.join(self.root, name)
                if not os.path.exists(path):
                    self._write_atomic(path, text.encode())
        except OSError:
            return False  # a read-only tree: run without a cache
        self._ready = True
        return True

    def _path(self, kind: str, key: str) -> str:
        return os.path.join(self.root, f"v{FORMAT}", kind, key[:2], key[2:])

    def _write_atomic(self, path: str, data: bytes) -> None:
        import tempfile  # only runs that write pay for it

        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes 0600; entries are ordinary files
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    def _read(self, kind: str, key: str) -> bytes | None:
        try:
            with open(self._path(kind, key), "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        header = _MAGIC + key.encode() + b"\0"
        return data[len(header):] if data.startswith(header) else None

    def _write(self, kind: str, key: str, payload: bytes) -> None:
        if not self._prepare():
            return
        try:
            self._write_atomic(self._path(kind, key), _MAGIC + key.encode() + b"\0" + payload)
        except OSError:
            pass

    # --- per-file facts ------------------------------------------------------------------

    def get_facts(self, key: str) -> tuple[Any, ...] | None:
        data = self._read("facts", key)
        if data is None:
            return None
        try:
            value = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None
        if not (isinstance(value, tuple) and len(value) == 3):
            return None
        return value

    def put_facts_payload(self, key: str, payload: bytes) -> None:
        """Store one file's facts, serialised with marshal."""
        self._write("facts", key, payload)

    def get_payload(self, kind: str, key: str) -> bytes | None:
        return self._read(kind, key)

    def put_payload(self, kind: str, key: str, payload: bytes) -> None:
        self._write(kind, key, payload)

    # --- run results ---------------------------------------------------------------------

    def get_run(self, key: str) -> dict[str, Any] | None:
        data = self._read("runs", key)
        if data is None:
            return None
        try:
            value = json.loads(data.decode())
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) and "findings" in value else None

    def put_run(self, key: str, value: dict[str, Any]) -> None:
        self._write("runs", key, json.dumps(value).encode())
