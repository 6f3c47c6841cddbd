"""`# noqa` in its three forms, and baselines that survive code moving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnlint import suppress

from helpers import BAD, run

CONV_LINE = "        self.conv = nn.Conv2d(3, 8, 3)"


def _lint(root: Path, source: str) -> list[int]:
    (root / "net.py").write_text(source)
    code, out, err = run(["--format", "json", "net.py"])
    assert code in (0, 1), err
    return [f["line"] for f in json.loads(out)["findings"]]


@pytest.mark.parametrize("comment, suppressed", [
    ("  # noqa", True),
    ("  # noqa: CNN101", True),
    ("  # NOQA:CNN101,E501", True),
    ("  # noqa: conv-bias-before-batchnorm", True),
    ("  # noqa: CNN102", False),
    ("  # noqa: E501", False),
    ("  # a comment", False),
])
def test_line_noqa(in_tmp: Path, comment: str, suppressed: bool) -> None:
    source = BAD.replace(CONV_LINE, CONV_LINE + comment)
    assert _lint(in_tmp, source) == ([] if suppressed else [6])


@pytest.mark.parametrize("header, suppressed", [
    ("# cnnlint: noqa\n", True),
    ("# cnnlint: noqa: CNN101\n", True),
    ("# cnnlint: noqa: dropout-before-batchnorm\n", False),
])
def test_file_noqa(in_tmp: Path, header: str, suppressed: bool) -> None:
    lines = _lint(in_tmp, header + BAD)
    assert lines == ([] if suppressed else [7])


def test_noqa_on_a_later_line_of_a_multiline_call(in_tmp: Path) -> None:
    source = BAD.replace(CONV_LINE, "        self.conv = nn.Conv2d(\n            3, 8, 3,\n"
                                    "        )  # noqa: CNN101")
    assert _lint(in_tmp, source) == []


def test_parse_keeps_codes_and_names() -> None:
    parsed = suppress.parse(["x = 1  # noqa: cnn101, Deep-Plain-Stack", "# cnnlint: noqa: CNN9"])
    assert parsed.lines[1] == frozenset({"CNN101", "deep-plain-stack"})
    assert parsed.file == frozenset({"CNN9"})


def test_baseline_hides_known_findings_and_survives_moves(in_tmp: Path) -> None:
    (in_tmp / "net.py").write_text(BAD)
    code, _, err = run(["--write-baseline", "baseline.json", "net.py"])
    assert code == 0 and "Wrote 1 finding to baseline.json" in err
    assert run(["--baseline", "baseline.json", "net.py"])[0] == 0
    # The code moves down three lines: still known.
    (in_tmp / "net.py").write_text("# a\n# b\n# c\n" + BAD)
    code, out, _ = run(["--baseline", "baseline.json", "net.py"])
    assert code == 0 and "Found 0 findings" in out
    # A second, new finding is reported.
    extra = BAD.replace("self.bn = nn.BatchNorm2d(8)",
                        "self.bn = nn.BatchNorm2d(8)\n        self.conv2 = nn.Conv2d(8, 8, 1)\n"
                        "        self.bn2 = nn.BatchNorm2d(8)")
    extra = extra.replace("return self.bn(self.conv(x))",
                          "return self.bn2(self.conv2(self.bn(self.conv(x))))")
    (in_tmp / "net.py").write_text(extra)
    code, out, _ = run(["--baseline", "baseline.json", "--format", "json", "net.py"])
    assert code == 1
    assert [f["line"] for f in json.loads(out)["findings"]] == [8]


def test_corrupt_baseline_is_a_usage_error(in_tmp: Path) -> None:
    (in_tmp / "net.py").write_text(BAD)
    (in_tmp / "b.json").write_text('{"version": 7}')
    code, _, err = run(["--baseline", "b.json", "net.py"])
    assert code == 2 and "is not a cnnlint baseline" in err
