"""The distributions: the wheel installs rules/ and probes/ inside the cnnlint namespace and
pulls only the light dependencies; the sdist is complete; both carry the licence and one
version."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

import cnnlint

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a dependency below 3.11
    import tomli as tomllib


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel), built as a release would be: the sdist from the tree, the wheel from
    the unpacked sdist (so a file the sdist lacks breaks the wheel). No network: the build
    dependencies are the installed ones."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                           str(out), str(ROOT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = out.glob("cnnlint-*.tar.gz")
    (wheel,) = out.glob("cnnlint-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def wheel(dists: tuple[Path, Path]) -> Path:
    return dists[1]


def _sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        # Names below the top folder (cnnlint-0.1.0/...).
        return {name.partition("/")[2] for name in archive.getnames()}


def _wheel_metadata(wheel: Path) -> Message:
    archive = zipfile.ZipFile(wheel)
    meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    return Parser().parsestr(archive.read(meta_name).decode())


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
    meta = _wheel_metadata(wheel)
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


@pytest.mark.slow
def test_sdist_is_complete(dists: tuple[Path, Path]) -> None:
    names = _sdist_names(dists[0])
    for needed in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "MANIFEST.in",
                   "docs/rules.md", "examples/model.py", "examples/train.py",
                   "tests/conftest.py", "tests/helpers.py", "tests/test_packaging.py",
                   "rules/conv_bias_before_batchnorm.py", "probes/dying_relu.py",
                   ".pre-commit-hooks.yaml", ".ci/run"):
        assert needed in names, needed
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    # Every file the repository tracks ships (the sdist is a source release of it).
    tracked = _git_files()
    if tracked is not None:
        missing = sorted(tracked - names - {".gitignore"})
        assert not missing, missing


def _git_files() -> set[str] | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None  # tested from an unpacked sdist: nothing to compare with
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                          check=False)
    if done.returncode != 0:
        return None
    return {name for name in done.stdout.decode().split("\0")
            if name and (ROOT / name).exists()}


@pytest.mark.slow
def test_licence_and_metadata(dists: tuple[Path, Path]) -> None:
    sdist, wheel = dists
    archive = zipfile.ZipFile(wheel)
    licence = next(n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE"))
    assert "MIT License" in archive.read(licence).decode()
    assert "Copyright (c) the cnnlint authors" in archive.read(licence).decode()
    meta = _wheel_metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta["License-File"] == "LICENSE"
    classifiers = meta.get_all("Classifier") or []
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    # A licence expression replaces the licence classifiers (PEP 639 forbids both).
    assert not any(c.startswith("License ::") for c in classifiers)
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) >= {"Homepage", "Documentation", "Issues"}
    assert all(u.startswith(urls["Homepage"]) for u in urls.values())
    with tarfile.open(sdist) as tar:
        pkg_info = next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO")
                        and m.name.count("/") == 1)
        handle = tar.extractfile(pkg_info)
        assert handle is not None
        sdist_meta = Parser().parsestr(handle.read().decode())
    assert sdist_meta["License-Expression"] == "MIT"


@pytest.mark.slow
def test_one_version(dists: tuple[Path, Path]) -> None:
    """The version is written once, in cnnlint/__init__.py; pyproject reads it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    version = cnnlint.__version__
    sdist, wheel = dists
    assert sdist.name == f"cnnlint-{version}.tar.gz"
    assert wheel.name.startswith(f"cnnlint-{version}-")
    assert _wheel_metadata(wheel)["Version"] == version


def test_build_backend_supports_licence_expressions() -> None:
    """`license = "MIT"` needs setuptools 77; the build requirement says so, and the
    installed setuptools (what --no-isolation builds with) meets it."""
    from importlib.metadata import version

    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "setuptools>=77" in build["build-system"]["requires"]
    assert int(version("setuptools").split(".")[0]) >= 77
