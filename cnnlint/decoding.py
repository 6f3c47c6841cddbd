"""Source bytes to text, with the encoding Python itself would use.

PEP 263 (what `importlib.util.decode_source` applies through `tokenize.detect_encoding`): a
UTF-8 BOM, else a `coding` comment on line 1, or on line 2 when line 1 is blank or only a
comment, else UTF-8. A coding comment below a line of code is an ordinary comment: Python
ignores it, and so must a linter, or it would read different text from the one that runs.

Unlike `importlib.util.decode_source`, line endings are kept as they are: positions are
reported in the file as written, and CRLF files must round-trip through libcst unchanged.
"""

from __future__ import annotations

import io
import tokenize

from cnnlint.extract.source import ReadError, read_bytes


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
