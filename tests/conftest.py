from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Callable, Union

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import Result, lint
from cnnlint.rule import load_rules

Files = Union[str, dict[str, str]]


def write_tree(root: Path, files: Files) -> list[str]:
    """Write `files` under root; a bare string becomes model.py. Returns the relative names."""
    if isinstance(files, str):
        files = {"model.py": files}
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return list(files)


@pytest.fixture
def lint_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Lint a small tree of files from inside tmp_path, as a user would from their repo."""
    monkeypatch.chdir(tmp_path)

    def run(files: Files, select: list[str] | None = None, **flags: object) -> Result:
        names = write_tree(tmp_path, files)
        rules = load_rules()
        settings = build_settings(names, Flags(select=select, **flags), rules)  # type: ignore[arg-type]
        return lint(names, settings, rules)

    return run


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_configure(config: pytest.Config) -> None:
    # Colour never leaks into captured output.
    os.environ.setdefault("NO_COLOR", "1")
