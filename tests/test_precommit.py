"""The published hook, through the real pre-commit tool (`try-repo`): it installs cnnlint from
this repository into its own environment, the way users get it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import BAD, CLEAN

ROOT = Path(__file__).resolve().parents[1]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.slow
def test_hook_fails_on_a_bad_file_and_passes_on_a_clean_one(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("try-repo needs this project to be a git checkout")
    project = tmp_path / "project"
    project.mkdir()
    _git(project, "init", "-q")
    (project / "bad.py").write_text(BAD)
    (project / "clean.py").write_text(CLEAN)
    (project / "bad.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None,
                   "outputs": [], "source": BAD.splitlines(True)}],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))
    _git(project, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NO_COLOR": "1"}

    def hook(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "cnnlint",
             "--files", *files], cwd=project, env=env, capture_output=True, text=True,
            timeout=600, check=False)

    bad = hook("bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad.py:6:21: CNN101 [warning]" in bad.stdout
    clean = hook("clean.py")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout
    # A notebook staged alone is linted too, as a run over the folder lints it.
    bad_notebook = hook("bad.ipynb")
    assert bad_notebook.returncode == 1, bad_notebook.stdout + bad_notebook.stderr
    assert "bad.ipynb:" in bad_notebook.stdout and "CNN101" in bad_notebook.stdout, \
        bad_notebook.stdout


@pytest.mark.slow
def test_hook_on_one_staged_file_sees_the_rest_of_the_project(tmp_path: Path) -> None:
    """pre-commit passes only the staged files; the findings that involve them and another
    file of the project (a BatchNorm model trained at batch 2 by a script) still appear."""
    if not (ROOT / ".git").exists():
        pytest.skip("try-repo needs this project to be a git checkout")
    import shutil

    project = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "fixtures" / "projects" / "package_layout", project)
    _git(project, "init", "-q")
    _git(project, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NO_COLOR": "1"}
    for staged in ("models/net.py", "train.py"):
        hook = subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "cnnlint",
             "--files", staged], cwd=project, env=env, capture_output=True, text=True,
            timeout=600, check=False)
        assert hook.returncode == 1, hook.stdout + hook.stderr
        assert "train.py:22:20: CNN201 [error] `SmallNet` (models/net.py:6)" in hook.stdout, \
            hook.stdout
