"""[tool.cnnlint] in pyproject.toml: selection, excludes, per-file ignores, rule options."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import BAD, run


def _project(root: Path, config: str) -> None:
    (root / "pyproject.toml").write_text(textwrap.dedent(config))
    (root / "src").mkdir()
    (root / "src" / "net.py").write_text(BAD)
    (root / "tests").mkdir()
    (root / "tests" / "test_net.py").write_text(BAD)


def _codes(args: list[str]) -> list[tuple[str, str]]:
    code, out, err = run(["--format", "json", *args])
    assert code in (0, 1), err
    return [(f["path"], f["code"]) for f in json.loads(out)["findings"]]


def test_ignore_and_exclude_from_the_file(in_tmp: Path) -> None:
    _project(in_tmp, """
        [tool.cnnlint]
        exclude = ["tests"]
    """)
    assert _codes(["."]) == [("src/net.py", "CNN101")]
    (in_tmp / "pyproject.toml").write_text('[tool.cnnlint]\nignore = ["CNN101"]\n')
    assert _codes(["."]) == []


def test_flags_win_over_the_file(in_tmp: Path) -> None:
    _project(in_tmp, """
        [tool.cnnlint]
        select = ["CNN9"]
    """)
    assert _codes(["src"]) == []
    assert _codes(["--select", "CNN101", "src"]) == [("src/net.py", "CNN101")]
    assert _codes(["--extend-select", "conv-bias-before-batchnorm", "src"]) == \
        [("src/net.py", "CNN101")]


def test_per_file_ignores(in_tmp: Path) -> None:
    _project(in_tmp, """
        [tool.cnnlint.per-file-ignores]
        "tests/*" = ["conv-bias-before-batchnorm"]
    """)
    assert _codes(["."]) == [("src/net.py", "CNN101")]


def test_config_found_above_the_linted_path(in_tmp: Path) -> None:
    _project(in_tmp, '[tool.cnnlint]\nfail-on = "error"\n')
    assert run(["src/net.py"])[0] == 0  # warning is below fail-on
    assert run(["--fail-on", "warning", "src/net.py"])[0] == 1


def test_explicit_config_file(in_tmp: Path) -> None:
    _project(in_tmp, "[tool.cnnlint]\n")
    (in_tmp / "strict.toml").write_text('[tool.cnnlint]\nignore = ["ALL"]\n')
    assert _codes(["--config", "strict.toml", "."]) == []


@pytest.mark.parametrize("config, message", [
    ("[tool.cnnlint]\nselcet = ['CNN1']\n", "unknown key `selcet` in [tool.cnnlint] "
                                           "(did you mean `select`?)"),
    ("[tool.cnnlint]\nignore = ['CNN77']\n", "unknown rule selector `CNN77`"),
    ("[tool.cnnlint]\nfail-on = 'fatal'\n", "`fail-on` must be one of"),
    ("[tool.cnnlint.rules.conv-bias-before-batchnrm]\n", "unknown rule "
     "`conv-bias-before-batchnrm` in [tool.cnnlint.rules] (did you mean "
     "`conv-bias-before-batchnorm`?)"),
    ("[tool.cnnlint.rules.CNN101]\nthreshold = 3\n", "rule `conv-bias-before-batchnorm` has "
                                                      "no option `threshold`"),
    ("[tool.cnnlint\n", "is not valid TOML"),
    ("[tool.cnnlint]\nexclude = 3\n", "`exclude` must be a list of strings"),
])
def test_config_errors_exit_two_with_one_line(in_tmp: Path, config: str, message: str) -> None:
    _project(in_tmp, config)
    code, out, err = run(["src"])
    assert code == 2
    assert message in err, err
    assert err.count("\n") == 1
