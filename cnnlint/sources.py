"""Reading a file's Python source: its bytes (from disk, from stdin for an editor's buffer, or
a notebook's code cells joined), and their text, decoded as Python decodes it.

Decoding follows PEP 263 (what `importlib.util.decode_source` applies through
`tokenize.detect_encoding`): a UTF-8 BOM, else a `coding` comment on line 1, or on line 2 when
line 1 is blank or only a comment, else UTF-8. A coding comment below a line of code is an
ordinary comment: Python ignores it, and so must a linter, or it would read different text
from the one that runs. Unlike `importlib.util.decode_source`, line endings are kept as they
are: positions are reported in the file as written, and CRLF files must round-trip through
libcst unchanged.
"""

from __future__ import annotations

import io
import os
import tokenize

from cnnlint.notebook import NotebookError, is_notebook, read_notebook


# libcst's code generation (which our span pass drives) and our lowering recurse once per
# nesting level, and a long implicit string concatenation nests one level per part. Both
# are pure Python, which on 3.11+ grows no C stack, so a higher limit is safe while a file is
# analysed or fixed; truly deep files are screened out before libcst's native parser sees them.
RECURSION_LIMIT = 20_000


class ReadError(Exception):
    """The file could not be read or decoded; the message says why."""


# Source given on standard input (`cnnlint - --stdin-filename PATH`), by absolute path: it
# stands for the file on disk, which may not exist or may hold an older version.
_GIVEN: dict[str, bytes] = {}
# The line where each cell starts, for every notebook read (absolute path -> starts).
_NOTEBOOK_CELLS: dict[str, tuple[int, ...]] = {}


def provide_source(path: str, data: bytes) -> None:
    """Read `data` wherever `path` is read in this process (the editor's unsaved buffer)."""
    _GIVEN[os.path.abspath(path)] = data


def forget_given_sources() -> None:
    _GIVEN.clear()


def is_given(path: str) -> bool:
    return os.path.abspath(path) in _GIVEN


def notebook_cells(path: str) -> tuple[int, ...] | None:
    """The cell start lines of a notebook read in this process, else None."""
    return _NOTEBOOK_CELLS.get(os.path.abspath(path))


def read_bytes(path: str) -> bytes:
    """The Python source bytes of a file: the file itself, the text given on stdin for it,
    or a notebook's code cells joined (see `cnnlint.notebook`)."""
    data = _GIVEN.get(os.path.abspath(path))
    if data is None:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except IsADirectoryError:
            raise ReadError("is a directory, not a Python file") from None
        except OSError as exc:
            raise ReadError(exc.strerror or str(exc)) from None
    if is_notebook(path):
        try:
            notebook = read_notebook(data)
        except NotebookError as exc:
            raise ReadError(str(exc)) from None
        _NOTEBOOK_CELLS[os.path.abspath(path)] = notebook.cell_starts
        return notebook.text.encode("utf-8")
    return data


def python_encoding(data: bytes) -> str:
    """The codec Python reads `data` with; SyntaxError for a bad or unknown declaration
    (or one that contradicts a BOM), as Python raises it."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return encoding


def decode_python(data: bytes) -> str:
    """The text of a Python file, or ReadError saying why it has none."""
    if b"\x00" in data:
        raise ReadError("the file contains a NUL byte; it is not Python source")
    try:
        # "utf-8-sig" for a BOM: the BOM is dropped, as Python drops it.
        return data.decode(python_encoding(data))
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        raise ReadError(f"cannot decode the file: {exc}") from None


def read_python(path: str) -> str:
    return decode_python(read_bytes(path))
