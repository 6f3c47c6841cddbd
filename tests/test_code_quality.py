"""The project's own code passes its linters: ruff, and mypy over the typed packages."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_ruff() -> None:
    done = _tool("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy(tmp_path: Path) -> None:
    # A fresh cache: the result must not depend on what an earlier run left behind.
    done = _tool("mypy", "--cache-dir", str(tmp_path / "mypy"), "cnnlint", "rules", "probes")
    assert done.returncode == 0, done.stdout + done.stderr


def test_layers() -> None:
    """The import contracts in pyproject.toml ([tool.importlinter]): no module imports one
    above it, and rules and verdicts never reach into the readers or the engine."""
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    command = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    done = subprocess.run([sys.executable, "-c", command, "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
