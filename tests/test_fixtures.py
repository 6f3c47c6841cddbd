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
