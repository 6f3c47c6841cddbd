"""cnnlint inside flake8: the same findings under the CNN prefix, cross-file ones included,
flake8's noqa and stdin mode honoured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import BAD

pytest.importorskip("flake8")

TRAIN = """\
import torch
from torch.utils.data import DataLoader
from models.net import Net

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loader = DataLoader(dataset, batch_size=2, shuffle=True)
for epoch in range(3):
    for x, y in loader:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
"""


def _flake8(cwd: Path, *args: str, stdin: str | None = None) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-m", "flake8", "--select", "CNN", *args],
                          cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
                          env={"CNNLINT_NO_CACHE": "1", "PATH": "/usr/bin:/bin"})
    assert not done.stderr, done.stderr
    return done.returncode, sorted(done.stdout.splitlines())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "net.py").write_text(BAD)
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def test_flake8_reports_cnnlint_findings_with_cross_file_ones(project: Path) -> None:
    code, lines = _flake8(project, "models/net.py")
    assert code == 1
    assert lines == [
        "models/net.py:3:7: CNN201 `Net` (models/net.py:3) has BatchNorm layers but trains "
        "with batch size 2 (at train.py:7)",
        "models/net.py:6:21: CNN101 `Conv2d` bias is redundant before `BatchNorm2d` "
        "(`conv` feeds `bn`)",
    ]
    _, lines = _flake8(project, "train.py")  # the other end, where the batch size is set
    assert lines == ["train.py:7:10: CNN201 `Net` (models/net.py:3) has BatchNorm layers "
                     "but trains with batch size 2"]


def test_flake8_noqa_and_stdin(project: Path) -> None:
    net = project / "models" / "net.py"
    net.write_text(BAD.replace("nn.Conv2d(3, 8, 3)", "nn.Conv2d(3, 8, 3)  # noqa: CNN101"))
    _, lines = _flake8(project, "models/net.py")
    assert not any("CNN101" in line for line in lines)
    _, lines = _flake8(project, "--stdin-display-name", "models/net.py", "-", stdin=BAD)
    assert any(line.startswith("models/net.py:6:21: CNN101") for line in lines)
