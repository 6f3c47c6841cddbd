"""One broken file or rule never stops the run; each gets a documented outcome."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable

import pytest

from cnnlint.findings import Finding
from cnnlint.ir import Model, ProjectFacts
from cnnlint.rule import Rule, remove_rule

from helpers import BAD, run


def _json(args: list[str]) -> tuple[int, dict]:
    code, out, _ = run(["--format", "json", *args])
    return code, json.loads(out)


def test_syntax_error_is_a_finding_and_the_run_goes_on(in_tmp: Path) -> None:
    (in_tmp / "bad.py").write_text(BAD)
    (in_tmp / "broken.py").write_text("import torch\n\ndef forward(self, x)\n    return x\n")
    code, data = _json(["."])
    assert code == 1
    found = {(f["path"], f["code"], f["line"]) for f in data["findings"]}
    assert found == {("bad.py", "CNN101", 6), ("broken.py", "CNN900", 3)}
    syntax = next(f for f in data["findings"] if f["code"] == "CNN900")
    assert syntax["severity"] == "error" and "expected ':'" in syntax["message"]


def test_a_word_reserved_since_python_3_7_is_named_as_the_cause(in_tmp: Path) -> None:
    (in_tmp / "old.py").write_text("def load(x):\n    return x.cuda(async=True)\n")
    _, data = _json(["."])
    (syntax,) = data["findings"]
    assert (syntax["line"], syntax["column"]) == (2, 19)
    assert syntax["message"] == ("syntax error: invalid syntax: `async` is a reserved word "
                                 "since Python 3.7 (this code was written for an older Python)")


@pytest.mark.parametrize("source", [
    "import torch\nprint torch.__version__\n",
    # (review U: "multiple exception types must be parenthesized", with the advice to fix
    # the syntax, would have had the user write `except (Exception, msg):`)
    "try:\n    import cPickle\nexcept ImportError, msg:\n    pass\n",
    "raise ValueError, 'no data'\n",
    "mode = 0755\n",
    "name = `width`\n",
])
def test_python_2_code_is_named_as_such_with_porting_advice(in_tmp: Path, source: str) -> None:
    (in_tmp / "old.py").write_text(source)
    _, data = _json(["."])
    (syntax,) = data["findings"]
    assert syntax["message"].endswith("(this is Python 2 code: cnnlint reads Python 3)")
    assert syntax["hint"].startswith("Port the file to Python 3")


def test_a_merge_conflict_left_in_a_file_is_named_where_it_starts(in_tmp: Path) -> None:
    """Python stops at the last marker (`>>>>>>> 44763a7`, "invalid decimal literal"); the
    finding names the conflict and sits where it starts (review U)."""
    (in_tmp / "train.py").write_text("import torch\n\n<<<<<<< HEAD\nlr = 0.1\n=======\n"
                                      "lr = 0.01\n>>>>>>> 44763a7\nprint(lr)\n")
    _, data = _json(["."])
    (syntax,) = data["findings"]
    assert (syntax["line"], syntax["column"]) == (3, 1)
    assert syntax["message"] == ("syntax error: unresolved merge conflict: `<<<<<<<` at line "
                                 "3, `>>>>>>>` at line 7")
    assert syntax["hint"].startswith("Resolve the merge conflict")


def test_an_f_string_written_for_python_3_12_is_named_as_the_cause(in_tmp: Path) -> None:
    (in_tmp / "new.py").write_text('sizes = {"train": 10}\nprint(f"{sizes["train"]} images")\n')
    _, data = _json(["."])
    if sys.version_info >= (3, 12):  # (valid Python there)
        assert data["findings"] == []
        return
    (syntax,) = data["findings"]
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert syntax["message"].endswith(
        "(this f-string reuses its quotes inside `{}`, which needs Python 3.12; cnnlint is "
        f"running on Python {running})")
    assert syntax["hint"] == "Run cnnlint on Python 3.12 or later to read this file"
    (in_tmp / "new.py").write_text('print(f"{1 +}")\n')  # broken on any Python
    _, data = _json(["."])
    assert "3.12" not in data["findings"][0]["message"] + data["findings"][0]["hint"]


TAB_INDENTED = (  # a tab then eight spaces: column 16 to Python, deeper than the `if`
    "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        if True:\n\t        self.c = nn.Conv2d(3, 8, 3)\n"
    "        self.b = nn.BatchNorm2d(8)\n\n    def forward(self, x):\n"
    "        return self.b(self.c(x))\n")


def test_indentation_python_accepts_is_no_syntax_error(in_tmp: Path) -> None:
    """Python reads a tab as running to the next multiple of 8 and accepts tabs and spaces
    mixed consistently; libcst rejects them. Such a file is read, with columns as written,
    and `--fix` leaves it alone rather than edit a file its parser cannot read."""
    (in_tmp / "tabs.py").write_text(TAB_INDENTED)
    _, data = _json(["."])
    (finding,) = data["findings"]
    assert (finding["code"], finding["line"], finding["column"]) == ("CNN101", 7, 19)
    run(["--fix", "."])
    assert (in_tmp / "tabs.py").read_text() == TAB_INDENTED


def test_unreadable_and_undecodable_files_are_read_errors(in_tmp: Path) -> None:
    (in_tmp / "bad.py").write_text(BAD)
    (in_tmp / "latin1.py").write_bytes(b"x = '\xe9'\n")
    (in_tmp / "nul.py").write_bytes(b"x = 1\x00\n")
    (in_tmp / "declared.py").write_bytes(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
    (in_tmp / "bom.py").write_bytes(b"\xef\xbb\xbf" + BAD.encode())
    code, data = _json(["."])
    assert code == 2
    errors = {(e["path"], e["kind"]) for e in data["errors"]}
    assert errors == {("latin1.py", "read"), ("nul.py", "read")}
    assert {f["path"] for f in data["findings"]} == {"bad.py", "bom.py"}


class _Exploding(Rule, register=False):
    """Raises on every model.

    ## What it flags
    ## Why it matters
    ## Example
    ## Instead
    """

    code = "CNN899"
    name = "test-exploding-rule"
    summary = "a rule that raises"
    fix = "none"

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        raise ValueError("boom")


def test_a_crashing_rule_is_an_internal_error_and_other_rules_still_run(
        in_tmp: Path, monkeypatch) -> None:
    from cnnlint import rule as rule_module

    (in_tmp / "bad.py").write_text(BAD)
    monkeypatch.setitem(rule_module._REGISTRY, "CNN899", _Exploding)
    try:
        code, data = _json(["bad.py"])
    finally:
        remove_rule("CNN899")
    assert code == 2
    assert [f["code"] for f in data["findings"]] == ["CNN101"]
    (error,) = data["errors"]
    assert error["kind"] == "internal" and error["path"] == "bad.py"
    assert "rule CNN899 (test-exploding-rule) on bad.py failed: ValueError: boom" in \
        error["message"]
