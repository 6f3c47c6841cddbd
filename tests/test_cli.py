"""The command line, through click's runner: formats, exit codes, config and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cnnlint import __version__
from helpers import BAD, CLEAN, run

@pytest.fixture
def project(in_tmp: Path) -> Path:
    (in_tmp / "bad.py").write_text(textwrap.dedent(BAD))
    (in_tmp / "clean.py").write_text(textwrap.dedent(CLEAN))
    return in_tmp


def test_text_output_and_exit_code_one(project: Path) -> None:
    code, out, err = run(["bad.py"])
    assert code == 1
    # `[*]`: --fix fixes it (ruff's mark), and the last line says how many --fix would fix.
    assert "bad.py:6:21: CNN101 [warning] [*] `Conv2d` bias is redundant" in out
    assert "    hint: Pass `bias=False`" in out
    assert out.rstrip().endswith("Found 1 finding (0 errors, 1 warning, 0 info) in 1 file.\n"
                                 "[*] 1 fixable with `--fix`.")
    assert "\033[" not in out  # no colour when not a TTY


def test_check_subcommand_is_the_same(project: Path) -> None:
    assert run(["check", "bad.py"])[:2] == run(["bad.py"])[:2]


def test_clean_file_exits_zero(project: Path) -> None:
    code, out, _ = run(["clean.py"])
    assert code == 0
    assert "Found 0 findings" in out


def test_folder_is_linted_recursively_with_default_excludes(project: Path) -> None:
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / "pkg" / "sub" / "deep.py").write_text(textwrap.dedent(BAD))
    (project / ".venv" / "lib").mkdir(parents=True)
    (project / ".venv" / "lib" / "vendored.py").write_text(textwrap.dedent(BAD))
    (project / "build").mkdir()
    (project / "build" / "gen.py").write_text(textwrap.dedent(BAD))
    # Jupyter's autosaved copies sit beside the code they copy.
    (project / "pkg" / ".ipynb_checkpoints").mkdir()
    (project / "pkg" / ".ipynb_checkpoints" / "deep-checkpoint.py").write_text(
        textwrap.dedent(BAD))
    code, out, _ = run(["--format", "json", "."])
    paths = {f["path"] for f in json.loads(out)["findings"]}
    assert paths == {"bad.py", "pkg/sub/deep.py"}
    assert code == 1


def test_json_format(project: Path) -> None:
    code, out, _ = run(["--format", "json", "bad.py", "clean.py"])
    data = json.loads(out)
    assert data["version"] == 1
    assert data["errors"] == []
    assert data["summary"] == {"files": 2, "findings": 1, "error": 0, "warning": 1, "info": 0,
                               "errors": 0, "partly_read": 0}
    (finding,) = data["findings"]
    assert set(finding) == {"code", "name", "severity", "message", "hint", "path", "line",
                            "column", "end_line", "end_column", "symbol", "related", "cell"}
    assert finding["code"] == "CNN101" and finding["name"] == "conv-bias-before-batchnorm"
    assert finding["symbol"] == "Net" and finding["line"] == 6
    assert (finding["end_line"], finding["end_column"]) == (6, 39)  # exclusive, as SARIF


def test_github_format(project: Path) -> None:
    _, out, _ = run(["--format", "github", "bad.py"])
    assert out.startswith("::warning file=bad.py,line=6,col=21,endLine=6,endColumn=39,"
                          "title=CNN101::conv-bias-before-batchnorm: `Conv2d` bias")


def test_output_file(project: Path) -> None:
    code, out, _ = run(["--format", "json", "--output", "report.json", "bad.py"])
    assert code == 1 and out == ""
    assert json.loads((project / "report.json").read_text())["summary"]["findings"] == 1


@pytest.mark.parametrize("args, exit_code", [
    (["--fail-on", "error", "bad.py"], 0),
    (["--fail-on", "info", "bad.py"], 1),
    (["--fail-on", "never", "bad.py"], 0),
    (["--exit-zero", "bad.py"], 0),
    (["--ignore", "CNN101", "bad.py"], 0),
    (["--ignore", "conv-bias-before-batchnorm", "bad.py"], 0),
    (["--select", "CNN9", "bad.py"], 0),
    (["--select", "CNN1", "bad.py"], 1),
    (["--select", "ALL", "--ignore", "CNN1", "bad.py"], 0),
    (["--select", "CNN900", "--extend-select", "CNN101", "bad.py"], 1),
])
def test_exit_codes_and_selection(project: Path, args: list[str], exit_code: int) -> None:
    assert run(args)[0] == exit_code


@pytest.mark.parametrize("args, message", [
    (["--bogus", "bad.py"], "No such option '--bogus'"),
    (["missing.py"], "path does not exist: missing.py"),
    (["--select", "CNN1O1", "bad.py"], "unknown rule selector `CNN1O1` (did you mean `CNN101`?)"),
    (["--ignore", "conv-bias-before-batchnrom", "bad.py"],
     "did you mean `conv-bias-before-batchnorm`?"),
    (["explain", "CNN999"], "unknown rule `CNN999`"),
    (["explain", "eval"], "unknown rule `eval` (did you mean `missing-eval-mode`?)"),
    (["--config", "nope.toml", "bad.py"], "config file not found: nope.toml"),
    (["--baseline", "nope.json", "bad.py"], "cannot read baseline nope.json"),
])
def test_usage_errors_are_one_line_and_exit_two(project: Path, args: list[str],
                                                message: str) -> None:
    code, out, err = run(args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("cnnlint: error: ")
    assert "Traceback" not in err + out


def test_exit_zero_keeps_two_for_errors(project: Path) -> None:
    (project / "latin1.py").write_bytes(b"x = '\xe9'\n")
    code, out, _ = run(["--exit-zero", "latin1.py"])
    assert code == 2
    assert "latin1.py: error (read): cannot decode" in out


def test_rules_listing(project: Path) -> None:
    code, out, _ = run(["rules"])
    assert code == 0
    assert "CNN101  conv-bias-before-batchnorm" in out
    code, out, _ = run(["rules", "--format", "json"])
    rows = json.loads(out)
    assert {"code", "name", "severity", "summary"} <= set(rows[0])
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
    # The probe's verdicts are rules too: listed after the static ones, marked as such.
    kinds = {r["code"]: r["kind"] for r in rows}
    assert kinds["CNN101"] == "static" and kinds["CNN401"] == "probe"
    assert "CNN401  vanishing-gradient" in run(["rules"])[1]


def test_explain_by_code_and_name(project: Path) -> None:
    by_code = run(["explain", "CNN102"])
    by_name = run(["explain", "dropout-before-batchnorm"])
    assert by_code == by_name
    assert by_code[0] == 0
    assert "## Why it matters" in by_code[1]


def test_help_documents_exit_codes(project: Path) -> None:
    _, out, _ = run(["check", "--help"])
    assert "Exit codes:" in out and "--exit-zero" in out


def test_top_level_help_shows_the_lint_options(project: Path) -> None:
    """`cnnlint PATH` is `cnnlint check PATH`, so `cnnlint --help` lists what it accepts."""
    code, out, _ = run(["--help"])
    assert code == 0
    assert "Lint options (`cnnlint [check] [OPTIONS] [PATHS]...`)" in out
    for option in ("--format", "--select", "--fail-on", "--exit-zero", "--baseline",
                   "--trace / --no-trace"):
        assert f"  {option}" in out
    assert out.count("--help") == 1


def test_every_command_that_documents_exit_zero_accepts_it(project: Path) -> None:
    from cnnlint.cli import cli

    for name in cli.commands:
        _, out, _ = run([name, "--help"])
        if "--exit-zero" in out:
            _, _, err = run([name, "--exit-zero", "--help"])
            assert "No such option" not in err, name
            assert "  --exit-zero  " in out, name


@pytest.mark.parametrize("flag, suggestion", [
    ("--cfg", None),              # nothing is close enough (click's own cutoff said --config)
    ("--bogus", None),
    ("--exit-zer", "--exit-zero"),
    ("--selct", "--select"),
    ("--no-cach", "--no-cache"),
])
def test_unknown_flags_suggest_only_close_matches(project: Path, flag: str,
                                                  suggestion: str | None) -> None:
    code, _, err = run([flag, "bad.py"])
    assert code == 2 and f"No such option '{flag}'" in err
    if suggestion is None:
        assert "Did you mean" not in err
    else:
        assert f"Did you mean '{suggestion}'?" in err


def test_version_and_python_m(project: Path) -> None:
    assert run(["--version"])[1].strip() == f"cnnlint, version {__version__}"
    done = subprocess.run([sys.executable, "-m", "cnnlint", "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and __version__ in done.stdout


def test_colour_on_request(project: Path) -> None:
    _, out, _ = run(["--color", "bad.py"])
    assert "\033[33mCNN101 [warning]" in out


def test_verbose_names_what_was_not_analysed(project: Path) -> None:
    (project / "dyn.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from somewhere import build_body

        class Dyn(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = build_body()

            def forward(self, x):
                return self.body(x)
    """))
    _, out, _ = run(["-v", "dyn.py"])
    assert "note: dyn.py: Dyn: partially analysed: `self.body(...)` is not known" in out
