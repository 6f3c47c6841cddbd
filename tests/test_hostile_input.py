"""Odd and hostile input: each case has a documented outcome, never a traceback or a hang.

| input                               | outcome                                        | exit |
|-------------------------------------|------------------------------------------------|------|
| empty file                          | analysed, no finding                           | 0    |
| UTF-8 BOM, CRLF line ends, tabs     | analysed like any file, same positions         | 1    |
| letters beyond ASCII before a call  | columns counted in characters, not bytes       | 1    |
| bytes that are not UTF-8            | `read` error: cannot decode                    | 2    |
| a NUL byte                          | `read` error: not Python source                | 2    |
| 5 MB generated model file           | analysed (the interpreter's budget bounds it)  | 0/1  |
| brackets nested past Python's limit | CNN900 syntax-error, Python's own message      | 1    |
| an expression nested 20000 deep     | `read` error: too deep to analyse safely       | 2    |
| a symlink loop inside a folder      | skipped (folders never follow links)           | 0    |
| a symlink loop named explicitly     | `read` error                                   | 2    |
| an unreadable file                  | `read` error                                   | 2    |
| a folder named x.py                 | walked as a folder                             | 0    |
| a missing path                      | one line on stderr                             | 2    |
| a non-Python file named explicitly  | `read` error: not a Python file                | 2    |
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from helpers import BAD, run


def _lint(*args: str) -> tuple[int, dict]:
    code, out, err = run(["--no-cache", "--format", "json", *args])
    assert "Traceback" not in out + err
    return code, (json.loads(out) if out else {})


def test_empty_file(in_tmp: Path) -> None:
    (in_tmp / "empty.py").write_text("")
    assert _lint("empty.py") == (0, _lint("empty.py")[1])
    assert _lint("empty.py")[1]["findings"] == []


@pytest.mark.parametrize("transform", [
    lambda s: b"\xef\xbb\xbf" + s.encode(),
    lambda s: s.replace("\n", "\r\n").encode(),
    lambda s: s.replace("        ", "\t\t").replace("    ", "\t").encode(),
], ids=["bom", "crlf", "tabs"])
def test_bom_crlf_and_tabs_give_the_same_finding(in_tmp: Path, transform) -> None:
    (in_tmp / "net.py").write_bytes(transform(BAD))
    code, data = _lint("net.py")
    assert code == 1
    (finding,) = data["findings"]
    assert (finding["code"], finding["line"]) == ("CNN101", 6)


def test_columns_count_characters_not_bytes(in_tmp: Path) -> None:
    line = '        self.größe = "déjà"; self.conv = nn.Conv2d(3, 8, 3)'
    (in_tmp / "net.py").write_text(
        BAD.replace("        self.conv = nn.Conv2d(3, 8, 3)", line), encoding="utf-8")
    code, data = _lint("net.py")
    (finding,) = data["findings"]
    start = line.index("nn.Conv2d") + 1
    assert (finding["line"], finding["column"], finding["end_column"]) == (
        6, start, start + len("nn.Conv2d(3, 8, 3)"))


def test_non_utf8_and_nul(in_tmp: Path) -> None:
    (in_tmp / "latin1.py").write_bytes(b"x = '\xe9\xff'\n")
    (in_tmp / "nul.py").write_bytes(b"import torch\x00\n")
    code, data = _lint("latin1.py", "nul.py")
    assert code == 2
    messages = {e["path"]: e["message"] for e in data["errors"]}
    assert "cannot decode" in messages["latin1.py"]
    assert "NUL byte" in messages["nul.py"]


# Not traced for coverage: a scale test (five megabytes of model code). Under --cov it
# runs 2-3 times slower (15 s untraced, 35 s traced); smaller tests cover the code.
@pytest.mark.no_cover
@pytest.mark.slow
def test_five_megabyte_generated_model(in_tmp: Path) -> None:
    parts = ["import torch.nn as nn", ""]
    block = 0
    while sum(map(len, parts)) < 5_000_000:  # about 900 generated model classes
        parts.append(f"class Generated{block}(nn.Module):\n    def __init__(self):\n"
                     "        super().__init__()")
        parts += [f"        self.conv{i} = nn.Conv2d(16, 16, kernel_size=3, padding=1)  "
                  f"# layer {i:04d} of block {block:05d}" for i in range(40)]
        parts.append("\n    def forward(self, x):")
        parts += [f"        x = self.conv{i}(x)" for i in range(40)]
        parts.append("        return x\n")
        block += 1
    lines = parts
    (in_tmp / "huge.py").write_text("\n".join(lines))
    start = time.monotonic()
    code, data = _lint("huge.py")
    assert code == 1 and data["errors"] == []
    assert data["summary"]["findings"] >= block  # every class was read
    assert time.monotonic() - start < 240


def test_deep_nesting(in_tmp: Path) -> None:
    (in_tmp / "parens.py").write_text("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    (in_tmp / "chain.py").write_text("x = " + "+".join(["1"] * 20000) + "\n")
    code, data = _lint("parens.py", "chain.py")
    assert code == 2
    (finding,) = data["findings"]
    assert (finding["path"], finding["code"]) == ("parens.py", "CNN900")
    assert "too many nested parentheses" in finding["message"]
    (error,) = data["errors"]
    assert error["path"] == "chain.py" and "too deep" in error["message"]


def test_symlink_loops(in_tmp: Path) -> None:
    (in_tmp / "pkg").mkdir()
    (in_tmp / "pkg" / "ok.py").write_text("x = 1\n")
    os.symlink(in_tmp / "pkg", in_tmp / "pkg" / "again")  # a folder loop
    os.symlink("b.py", in_tmp / "a.py")
    os.symlink("a.py", in_tmp / "b.py")  # a file loop
    code, data = _lint("pkg")
    assert code == 0 and data["summary"]["files"] == 1
    code, data = _lint("a.py")
    assert code == 2 and data["errors"][0]["kind"] == "read"


def test_unreadable_file(in_tmp: Path) -> None:
    os.symlink("does-not-exist.py", in_tmp / "dangling.py")
    code, data = _lint("dangling.py")
    assert code == 2 and data["errors"][0]["kind"] == "read"
    if os.geteuid() != 0:  # root reads anything: the dangling link covers that case
        locked = in_tmp / "locked.py"
        locked.write_text("x = 1\n")
        locked.chmod(0)
        code, data = _lint("locked.py")
        assert code == 2 and "Permission denied" in data["errors"][0]["message"]


def test_folder_named_like_a_file(in_tmp: Path) -> None:
    (in_tmp / "x.py").mkdir()
    (in_tmp / "x.py" / "inner.py").write_text(BAD)
    code, data = _lint("x.py")
    assert code == 1 and data["findings"][0]["path"] == "x.py/inner.py"


def test_a_deleted_working_folder_is_an_error_not_a_traceback(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = in_tmp / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    code, out, err = run(["."])
    assert (code, out) == (2, "")
    assert err == "cnnlint: error: the current folder no longer exists\n"


def test_missing_path_and_non_python_file(in_tmp: Path) -> None:
    code, out, err = run(["missing.py"])
    assert code == 2 and err == "cnnlint: error: path does not exist: missing.py\n"
    (in_tmp / "notes.md").write_text("# Not Python\n")
    (in_tmp / "tool").write_text("#!/usr/bin/env python3\nx = 1\n")
    code, data = _lint("notes.md", "tool")
    assert code == 2
    assert data["errors"] == [{"path": "notes.md", "kind": "read", "message": (
        "not a Python file (name .py files, .ipynb notebooks, folders, or scripts with a "
        "python shebang)")}]
    assert data["summary"]["files"] == 1  # the shebang script is linted
    # The text summary counts findings by severity ("0 errors") and, apart, what failed.
    code, out, _ = run(["notes.md", "tool"])
    assert out.splitlines()[-1] == (
        "Found 0 findings (0 errors, 0 warnings, 0 info) in 1 file; 1 file or rule failed "
        "(listed above).")
