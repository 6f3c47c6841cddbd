"""Shared test helpers: a small model with one finding, and the CLI run in-process."""

from __future__ import annotations

from click.testing import CliRunner

from cnnlint.cli import main

BAD = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))
"""
CLEAN = BAD.replace("nn.Conv2d(3, 8, 3)", "nn.Conv2d(3, 8, 3, bias=False)")


def run(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run the real entry point (it owns the one-line error handling) with captured streams."""
    runner = CliRunner()
    with runner.isolation(input=stdin) as streams:
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = streams[0].getvalue().decode(), streams[1].getvalue().decode()
    return code, out, err


def plain_net(name: str, depth: int, returns: str = "self.body(x)") -> str:
    """Source of a network class (with its import) of `depth` plain 3x3 convolutions."""
    return (f"import torch.nn as nn\n\nclass {name}(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.body = nn.Sequential("
            f"*[nn.Conv2d(8, 8, 3, padding=1) for _ in range({depth})])\n\n"
            f"    def forward(self, x):\n        return {returns}\n")
