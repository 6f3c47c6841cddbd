"""Whole training projects with the findings they must (and must not) get; real model code
is covered by tests/test_library_models.py (torchvision's and timm's installed sources)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import run

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
EXPECTED_PROJECTS = json.loads((PROJECTS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED_PROJECTS))
def test_project_findings_match_the_golden_list(in_tmp: Path, name: str) -> None:
    """Training projects: an argparse script, a model + train (+ config) project, a
    Lightning module with Trainer and callbacks, and a clean recipe that must stay clean."""
    shutil.copytree(PROJECTS / name, in_tmp / name)
    import os
    os.chdir(in_tmp / name)
    code, out, err = run(["--select", "ALL", "--format", "json", "."])
    data = json.loads(out)
    assert data["errors"] == []
    got = [f"{f['path']}:{f['line']}:{f['column']} {f['code']} {f['name']} {f['symbol']}"
           for f in data["findings"]]
    assert got == EXPECTED_PROJECTS[name]


def test_the_clean_recipe_is_clean_and_the_cross_file_findings_appear() -> None:
    assert EXPECTED_PROJECTS["clean_recipe"] == []
    two = " ".join(EXPECTED_PROJECTS["two_files"])
    assert "train.py:20:20 CNN201 batchnorm-small-batch" in two  # model.py's BN, train.py's batch
    assert "CNN210 softmax-before-crossentropy" in two  # model.py's softmax, train.py's loss
