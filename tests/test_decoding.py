"""Sources are decoded as Python decodes them (PEP 263, via tokenize.detect_encoding)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from cnnlint.sources import ReadError, decode_python

from helpers import BAD, run

# A model whose class name is not ASCII, written in UTF-8.
MODEL = BAD.replace("class Net(", "class Nét(").encode("utf-8")


def test_a_coding_line_after_code_is_ignored_as_python_ignores_it(in_tmp: Path) -> None:
    # Line 1 is code, so line 2's latin-1 declaration is a plain comment: Python reads UTF-8.
    data = b"import torch.nn as nn  # noqa\n# -*- coding: latin-1 -*-\n" + MODEL
    (in_tmp / "model.py").write_bytes(data)
    assert "Nét" in importlib.util.decode_source(data)
    assert decode_python(data) == data.decode("utf-8")
    code, out, _ = run(["--format", "json", "model.py"])
    findings = json.loads(out)["findings"]
    assert [(f["code"], f["symbol"]) for f in findings] == [("CNN101", "Nét")]
    assert code == 1


@pytest.mark.parametrize("data, text", [
    # On line 1, and on line 2 below a comment, the declaration counts.
    (b"# coding: latin-1\nname = '\xe9'\n", "# coding: latin-1\nname = 'é'\n"),
    (b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nx = '\xe9'\n",
     "#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nx = 'é'\n"),
    # A BOM means UTF-8 and is dropped; CRLF line ends are kept (positions stay the file's).
    (b"\xef\xbb\xbfx = 'caf\xc3\xa9'\r\n", "x = 'café'\r\n"),
    (b"", ""),
])
def test_declarations_python_honours(data: bytes, text: str) -> None:
    assert decode_python(data) == text
    assert importlib.util.decode_source(data) == text.replace("\r\n", "\n")


@pytest.mark.parametrize("data, reason", [
    (b"x = 1\n# coding: latin-1\ny = '\xe9'\n", "can't decode byte 0xe9"),  # UTF-8 after all
    (b"# coding: no-such-codec\n", "unknown encoding"),
    (b"\xef\xbb\xbf# coding: latin-1\n", "encoding problem"),  # contradicts the BOM
    (b"x = 1\x00\n", "NUL byte"),
])
def test_what_python_cannot_decode_is_a_read_error(data: bytes, reason: str) -> None:
    with pytest.raises(ReadError, match=reason):
        decode_python(data)
