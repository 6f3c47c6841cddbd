"""Whole files written like real model code, with the findings they must (and must not) get.

The golden list in fixtures/models/expected.json was checked by hand: VGG factories are deep
plain stacks (and the BN variants carry a redundant conv bias, as torchvision's do); ResNet,
DenseNet-121 and MobileNetV2 are not; MobileNet v1 and the GoogLeNet-style net are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import run

FIXTURES = Path(__file__).parent / "fixtures" / "models"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings_match_the_golden_list(in_tmp: Path, name: str) -> None:
    shutil.copy(FIXTURES / name, in_tmp / name)
    code, out, err = run(["--select", "ALL", "--format", "json", name])
    data = json.loads(out)
    assert data["errors"] == []
    got = [f"{f['line']}:{f['column']} {f['code']} {f['name']} {f['symbol']}"
           for f in data["findings"]]
    assert got == EXPECTED[name]


def test_the_architectures_the_issue_names() -> None:
    plain = {e.split()[-1] for name, entries in EXPECTED.items() for e in entries
             if "deep-plain-stack" in e}
    assert {"vgg11", "vgg11_bn", "vgg16", "vgg19_bn", "MobileNet", "GoogLeNet"} <= plain
    assert not plain & {"resnet18", "resnet50", "densenet121", "DenseNet", "MobileNetV2"}


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
