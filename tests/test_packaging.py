"""The wheel installs rules/ and probes/ inside the cnnlint namespace, and pulls only the
light dependencies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True)
    (found,) = out.glob("cnnlint-*.whl")
    return found


@pytest.mark.slow
def test_wheel_layout(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "rules" not in tops and "probes" not in tops
    assert "cnnlint/rules/conv_bias_before_batchnorm.py" in names
    assert "cnnlint/probes/__init__.py" in names
    assert "cnnlint/report/sarif.py" in names
    # Every module of the source tree is in the wheel (a package missing from
    # pyproject's explicit list would install a cnnlint that fails on import).
    sources = {f"cnnlint/{p.relative_to(ROOT / 'cnnlint')}" for p in
               (ROOT / "cnnlint").rglob("*.py")}
    sources |= {f"cnnlint/probes/{p.name}" for p in (ROOT / "probes").glob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))


@pytest.mark.slow
def test_wheel_requires_only_light_dependencies(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    meta = Parser().parsestr(archive.read(meta_name).decode())
    core = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert sorted(r.split(">")[0].split(";")[0].strip() for r in core) == \
        ["click", "libcst", "pathspec", "tomli"]
    assert "python_version < \"3.11\"" in next(r for r in core if r.startswith("tomli"))
    assert set(meta.get_all("Provides-Extra")) >= {"torch", "plot", "dev"}
    assert meta["Requires-Python"] == ">=3.10"


def test_installed_package_maps_rules_into_the_namespace() -> None:
    import cnnlint.probes
    import cnnlint.rules

    assert Path(cnnlint.rules.__path__[0]).resolve() == ROOT / "rules"
    assert Path(cnnlint.probes.__path__[0]).resolve() == ROOT / "probes"
