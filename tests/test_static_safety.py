"""The static path never imports torch and never runs the code it reads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = """
import json, sys
from cnnlint.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "numpy", "monai", "matplotlib") if m in sys.modules)
print(json.dumps(heavy), file=sys.stderr)
"""


def test_lint_does_not_import_torch(in_tmp: Path) -> None:
    (in_tmp / "model.py").write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.bn = nn.BatchNorm2d(8)

            def forward(self, x):
                return self.bn(self.conv(x))
    """))
    done = subprocess.run([sys.executable, "-c", PROBE, "model.py"], capture_output=True,
                          text=True, check=False)
    assert "CNN101" in done.stdout
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_lint_never_executes_the_code(in_tmp: Path) -> None:
    sentinel = in_tmp / "sentinel.txt"
    (in_tmp / "evil.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(sentinel)!r}).write_text("ran at import")

        def build():
            pathlib.Path({str(sentinel)!r}).write_text("ran a factory")
            return None

        model = build()

        if __name__ == "__main__":
            build()
    """))
    done = subprocess.run([sys.executable, "-m", "cnnlint", "evil.py"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not sentinel.exists()
