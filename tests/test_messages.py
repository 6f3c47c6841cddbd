"""Messages say exactly what the code has."""

from __future__ import annotations

from typing import Callable

from cnnlint.engine import Result

RELU6 = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU6(inplace=True))
                                    for _ in range(6)])

    def forward(self, x):
        return self.body(x)
"""


def test_relu6_networks_are_not_called_plain_relu(lint_tree: Callable[..., Result]) -> None:
    (finding,) = lint_tree(RELU6, select=["CNN105"]).findings
    assert finding.message == "all 6 activations are plain ReLU6 (dying-ReLU risk)"
    (finding,) = lint_tree(RELU6.replace("nn.ReLU6(inplace=True))",
                                         "nn.ReLU6() if _ % 2 else nn.ReLU())"),
                           select=["CNN105"]).findings
    assert "plain ReLU or ReLU6" in finding.message


def test_a_call_that_builds_many_layers_says_how_many(
        lint_tree: Callable[..., Result]) -> None:
    """One call in a loop builds every conv: its one finding says so (the fix to the call
    fixes them all), not only the first pair."""
    source = RELU6.replace("nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU6(inplace=True))",
                           "nn.Sequential(nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8))")
    (finding,) = lint_tree(source, select=["CNN101"]).findings
    assert finding.message == ("`Conv2d` bias is redundant before `BatchNorm2d` (`body.0.0` "
                               "feeds `body.0.1`; this call builds 6 such layers)")
