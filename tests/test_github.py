"""`--format github`: annotations GitHub will show (10 per level and step, the most severe
first), paths from the checkout, and a job summary listing every finding."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from cnnlint.findings import ErrorEntry, Finding
from cnnlint.report.github import PER_LEVEL, render, step_summary

from helpers import BAD, run


def _finding(severity: str, n: int, path: str = "pkg/model.py") -> Finding:
    return Finding(f"CNN1{n:02d}", f"rule-{n}", severity, f"message {n} | <b>", "hint", path,
                   n, 1, n, 5, "Net")


def _levels(out: str) -> list[str]:
    return re.findall(r"^::(\w+) ", out, flags=re.MULTILINE)


def test_most_severe_first_within_the_limit_of_each_level(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    # Interleaved, as a run sorted by file and line gives them.
    findings = [_finding(s, 3 * i + k) for i in range(15)
                for k, s in enumerate(("info", "warning", "error"))]
    errors = [ErrorEntry("pkg/broken.py", "read", "cannot decode the file")]
    out = render(findings, errors, 3)
    assert _levels(out) == ["error"] * PER_LEVEL + ["warning"] * PER_LEVEL + \
        ["notice"] * PER_LEVEL
    assert out.startswith("::error file=pkg/broken.py,title=cnnlint read::cannot decode")
    # What GitHub would drop is in the log as plain lines, with a count.
    plain = [line for line in out.splitlines() if not line.startswith("::")]
    assert len(plain) == 46 - 3 * PER_LEVEL + 1
    assert plain[-1].startswith("cnnlint: 16 more not shown as annotations")
    assert sum(line.startswith("pkg/model.py:") and "[error]" in line for line in plain) == 6


def test_few_findings_are_all_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    out = render([_finding("warning", 1), _finding("error", 2)], [], 1)
    assert _levels(out) == ["error", "warning"]
    assert "not shown" not in out


def test_paths_are_relative_to_the_workspace(in_tmp: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / ".git").mkdir()
    (in_tmp / "src").mkdir()
    (in_tmp / "src" / "bad.py").write_text(BAD)
    (in_tmp / "tools").mkdir()
    monkeypatch.chdir(in_tmp / "tools")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    _, out, _ = run(["--format", "github", "--no-cache", "../src"])
    assert f"file={in_tmp / 'src' / 'bad.py'}".replace(":", "%3A") in out  # as before
    monkeypatch.setenv("GITHUB_WORKSPACE", str(in_tmp))
    code, out, _ = run(["--format", "github", "--no-cache", "../src"])
    assert code == 1
    assert out.startswith("::warning file=src/bad.py,line=6,col=21,")


def test_step_summary_lists_every_finding(in_tmp: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve warnings: ten annotations, and all twelve in the summary's table."""
    convs = "".join(f"        self.c{i} = nn.Conv2d(8, 8, 3)\n        self.b{i} = "
                    f"nn.BatchNorm2d(8)\n" for i in range(12))
    forward = "".join(f"        x = self.b{i}(self.c{i}(x))\n" for i in range(12))
    (in_tmp / "many.py").write_text(textwrap.dedent("""\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
        """) + convs + "\n    def forward(self, x):\n" + forward + "        return x\n")
    summary_file = in_tmp / "summary.md"
    summary_file.write_text("# an earlier step's summary\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(in_tmp))
    code, out, _ = run(["--format", "github", "--select", "CNN101", "many.py"])
    assert code == 1
    assert _levels(out) == ["warning"] * PER_LEVEL
    assert "cnnlint: 2 more not shown as annotations" in out and "job summary" in out
    text = summary_file.read_text()
    assert text.startswith("# an earlier step's summary\n## cnnlint\n")  # appended
    assert "12 findings (0 errors, 12 warnings, 0 info) in 1 file." in text
    assert "2 annotations were not shown: GitHub shows at most 10 errors, 10 warnings and " \
           "10 notices per step." in text
    rows = [line for line in text.splitlines() if line.startswith("| warning | CNN101")]
    assert len(rows) == 12
    assert rows[0].startswith("| warning | CNN101 `conv-bias-before-batchnorm` | `many.py:")


def test_summary_cells_stay_in_their_column() -> None:
    text = step_summary([_finding("error", 1)], [ErrorEntry("", "internal", "boom")], 1)
    (row,) = [line for line in text.splitlines() if line.startswith("| error")]
    assert row.count(" | ") == 3 and "\\|" in row and "&lt;b>" in row
    assert "Errors (exit code 2):" in text and "- the run (internal): boom" in text
    assert _cell_of("`a < b` < c") == "`a < b` &lt; c"


def test_an_unwritable_summary_is_a_usage_error(in_tmp: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "bad.py").write_text(BAD)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(in_tmp / "no" / "such" / "file.md"))
    code, _, err = run(["--format", "github", "bad.py"])
    assert code == 2 and err.startswith("cnnlint: error: cannot write the step summary")
    assert "Traceback" not in err


def _cell_of(text: str) -> str:
    from cnnlint.report.github import _cell

    return _cell(text)
