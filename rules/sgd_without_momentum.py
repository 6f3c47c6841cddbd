from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import ProjectFacts
from cnnlint.rule import Rule


class SgdWithoutMomentum(Rule):
    """Plain SGD: momentum is absent or zero.

    ## What it flags
    `torch.optim.SGD` built with `momentum` left at its default of 0, or set to 0 (from a
    literal, a constant, an `argparse` default or a config value).

    ## Why it matters
    Without momentum every step follows only the current mini-batch gradient: steps zig-zag
    across narrow valleys, progress along shallow directions is slow, and training plateaus
    at a high loss. Momentum keeps a running share of past gradients,
    which damps the zig-zag and carries the optimiser across flat regions; 0.9 is the usual
    value for CNNs.

    ## Example
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ```

    ## Instead
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    ```
    """

    code = "CNN206"
    name = "sgd-without-momentum"
    severity = "warning"
    summary = "SGD with no momentum"
    fix = "Pass momentum=0.9 (optionally nesterov=True) to SGD"

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            for opt in run.optimizers:
                momentum = opt.momentum
                if opt.kind != "SGD" or opt.loc is None or momentum is None:
                    continue
                if momentum.known and momentum.value == 0:
                    what = "has no momentum" if momentum.origin == "torch default" else \
                        f"has momentum 0{momentum.source()}"
                    yield self.finding(f"`SGD` {what}", opt.loc, symbol=opt.symbol)

    valid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
""",
        """
import argparse
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument("--momentum", type=float, default=0.9)
args = parser.parse_args()

def train(model):
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=args.momentum)
    for x in batches:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
""",
        # Adam has its own momentum terms.
        """
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)  # flagged
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
""",
        """
import torch
from torch import optim

MOMENTUM = 0.0

def make_optimizer(model):
    return optim.SGD(model.parameters(), 0.05, MOMENTUM)  # flagged

def train(model, loader):
    opt = make_optimizer(model)
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
""",
        """
import torch
import torch.nn as nn

config = {"lr": 0.1, "momentum": 0}
model = nn.Linear(2, 2)
optimizer = torch.optim.SGD(  # flagged
    model.parameters(), lr=config["lr"], momentum=config["momentum"])
for x in batches:
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
""",
    ]
