"""Smoke test: lint the model sources of real third-party packages installed for the tests.

No crash and no error entry; the finding counts are printed (`pytest -s`) for the record."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from helpers import run


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        pytest.skip(f"{name} is not installed")
    return Path(spec.origin).parent


@pytest.mark.slow
@pytest.mark.parametrize("package, sub", [("monai", "networks"),
                                          ("efficientnet_pytorch", "")])
def test_real_model_sources_lint_cleanly(package: str, sub: str) -> None:
    root = _package_dir(package) / sub
    code, out, err = run(["--select", "ALL", "--format", "json", str(root)])
    data = json.loads(out)
    assert data["errors"] == [], data["errors"][:3]
    assert code in (0, 1), err
    assert data["summary"]["files"] > 0
    counts = Counter(f["name"] for f in data["findings"])
    print(f"\n{package}/{sub}: {data['summary']['files']} files, "
          f"{len(data['findings'])} findings: {dict(sorted(counts.items()))}")
