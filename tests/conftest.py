from __future__ import annotations

import importlib.util
import os
import shutil
import textwrap
from pathlib import Path
from typing import Callable, Union

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import Result, lint
from cnnlint.rule import load_rules

Files = Union[str, dict[str, str]]

# The fixture projects are code cnnlint reads, not tests of ours: one has a unit test of its
# own (tests/test_coder.py), which pytest would otherwise collect.
collect_ignore_glob = ["fixtures/*"]


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

    def run(files: Files, select: list[str] | None = None, fixes: bool = False,
            **flags: object) -> Result:
        names = write_tree(tmp_path, files)
        rules = load_rules()
        settings = build_settings(names, Flags(select=select, **flags), rules)  # type: ignore[arg-type]
        return lint(names, settings, rules, fixes=fixes)  # fixes: also each finding's fix

    return run


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def library_sources(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A copy of an installed package's Python files, in a folder marked as a project root
    (`.git`), to lint as real-world code. The package is found, never imported: torchvision
    and timm do not import beside the CPU build of torch."""
    copies: dict[str, Path] = {}

    def copy(package: str) -> Path:
        if package not in copies:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                pytest.skip(f"{package} is not installed (it is in the dev extra)")
            source = Path(list(spec.submodule_search_locations)[0])
            root = tmp_path_factory.mktemp(package)
            (root / ".git").mkdir()
            for path in source.rglob("*.py"):
                target = root / package / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            copies[package] = root
        return copies[package]

    return copy


# A few of torchvision's model files: real code of several shapes, small enough to lint often.
TORCHVISION_MODELS = ("vgg.py", "resnet.py", "densenet.py", "mobilenetv2.py", "googlenet.py",
                      "inception.py", "alexnet.py", "squeezenet.py")


@pytest.fixture
def torchvision_models(library_sources: Callable[[str], Path]) -> Callable[[Path], Path]:
    """Copy TORCHVISION_MODELS into a folder (the folder is returned)."""
    def copy(folder: Path) -> Path:
        source = library_sources("torchvision") / "torchvision" / "models"
        folder.mkdir(parents=True, exist_ok=True)
        for name in TORCHVISION_MODELS:
            shutil.copyfile(source / name, folder / name)
        return folder

    return copy


def pytest_configure(config: pytest.Config) -> None:
    # Colour never leaks into captured output.
    os.environ.setdefault("NO_COLOR", "1")
