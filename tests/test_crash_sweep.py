"""Crash sweep: every .py file of the standard library and of the installed torch and MONAI.

Zero `internal` errors; every file is analysed, or reported as a syntax error or a read
error (the standard library's test data holds files that are broken on purpose)."""

from __future__ import annotations

import importlib.util
import os
import sysconfig
from pathlib import Path

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import lint
from cnnlint.rule import load_rules


def _roots(name: str) -> list[str]:
    if name == "stdlib":
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        return sorted(str(p) for p in stdlib.iterdir()
                      if p.name != "site-packages" and (p.is_dir() or p.suffix == ".py"))
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        pytest.skip(f"{name} is not installed")
    return [str(Path(spec.origin).parent)]


# Not traced for coverage: the sweep reads 4,500 files (the three cases about 1.6 min
# untraced here, torch's the longest), which tracing makes several times slower; the other
# tests cover the same code.
@pytest.mark.no_cover
@pytest.mark.slow
@pytest.mark.parametrize("name", ["stdlib", "torch", "monai"])
def test_no_internal_errors(name: str) -> None:
    roots = _roots(name)
    rules = load_rules()
    settings = build_settings(roots, Flags(select=["ALL"]), rules)
    result = lint(roots, settings, rules, cache=None, jobs=os.cpu_count() or 1)
    internal = [e for e in result.errors if e.kind != "read"]
    assert internal == []
    analysed = len(result.facts) + len([e for e in result.errors if e.kind == "read"])
    assert analysed == len(result.files) > 0
    print(f"\n{name}: {len(result.files)} files, {len(result.findings)} findings, "
          f"{len(result.errors)} read errors")
