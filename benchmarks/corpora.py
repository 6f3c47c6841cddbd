"""Corpora for the speed benchmarks: installed model packages, a model zoo fetched from the
package index, and a generated 500-file project. Nothing here is committed code of others:
the zoo is downloaded when the benchmark runs, into a temporary folder."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGES = [("monai", "networks"), ("efficientnet_pytorch", ""), ("timm", "models"),
            ("segmentation_models_pytorch", "")]

# pytorchcv is osmr/imgclsmob's model zoo as published: ~150 model files, each importing the
# shared blocks in common.py and often other model files, ~1,600 models.
ZOO_PACKAGE = "pytorchcv==0.0.67"


def installed_models(root: Path) -> list[Path]:
    """The model source of packages installed beside cnnlint, copied under root."""
    files: list[Path] = []
    for package, sub in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin).parent / sub
        target = root / package
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        files.extend(sorted(target.rglob("*.py")))
    return files


def zoo(root: Path, given: str | None) -> Path | None:
    """The zoo's models folder: `given` (a checkout's pytorch/pytorchcv/models, e.g. of
    osmr/imgclsmob at 8489d1bf), else pytorchcv downloaded from the package index. A marker
    file makes the folder its own project."""
    target = root / "zoo"
    if given:
        shutil.copytree(given, target, ignore=shutil.ignore_patterns("__pycache__", ".git"))
    else:
        wheels = root / "wheels"
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               ZOO_PACKAGE, "-d", str(wheels)], capture_output=True, check=False)
        found = sorted(wheels.glob("*.whl")) if done.returncode == 0 else []
        if not found:
            return None
        with zipfile.ZipFile(found[0]) as wheel:
            names = [n for n in wheel.namelist() if n.startswith("pytorchcv/models/")
                     and n.endswith(".py")]
            for name in names:
                path = target / name[len("pytorchcv/models/"):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(wheel.read(name))
    (target / "pyproject.toml").write_text("[project]\nname = 'zoo'\n")
    return target


_BLOCK = '''import torch.nn as nn


class Block{i}(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return x + self.act(self.bn(self.conv(x)))
'''
_MODEL = '''import torch.nn as nn

from pkg.layers.block{b} import Block{b}
from pkg.utils.helpers{h} import width


class Net{i}(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, width(), 3, padding=1)
        self.body = nn.Sequential(*[Block{b}(width()) for _ in range(4)])
        self.head = nn.Linear(width(), num_classes)

    def forward(self, x):
        return self.head(self.body(self.stem(x)).mean((2, 3)))
'''
_HELPER = '''def width():
    return 16


def describe(x):
    return f"{{x}} ({i})"
'''
_SCRIPT = '''import torch
from torch.utils.data import DataLoader

from pkg.models.net{m} import Net{m}


def main():
    model = Net{m}()
    loader = DataLoader(torch.load("train.pt"), batch_size=8, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()


if __name__ == "__main__":
    main()
'''


def project(root: Path, files: int = 500) -> Path:
    """A generated project of `files` Python files: blocks, helpers, models importing both,
    and training scripts importing the models. Returns the first model file."""
    share = files // 5
    for folder in ("pkg", "pkg/layers", "pkg/utils", "pkg/models", "scripts"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\nname = 'big'\n")
    for i in range(share):
        (root / f"pkg/layers/block{i}.py").write_text(_BLOCK.format(i=i))
        (root / f"pkg/utils/helpers{i}.py").write_text(_HELPER.format(i=i))
        (root / f"pkg/models/net{i}.py").write_text(_MODEL.format(i=i, b=i, h=i))
        (root / f"scripts/train{i}.py").write_text(_SCRIPT.format(m=i))
    written = 5 + 4 * share
    for i in range(files - written):
        (root / f"pkg/utils/extra{i}.py").write_text(_HELPER.format(i=i))
    return root / "pkg/models/net0.py"
