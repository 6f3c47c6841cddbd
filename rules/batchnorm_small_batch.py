from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import FORWARD, STEP, Event, ProjectFacts, TrainedModel, called_from
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


def _fed_joined_batches(model: TrainedModel, forwards: list[Event]) -> bool:
    """Whether every training forward of the model runs on batches joined together
    (`torch.cat((real, fake))`): its batch is larger than a loader's, so a loader's size
    says nothing of it."""
    own = [e for e in forwards if model.token and e.token == model.token]
    return bool(own) and all("joined-batches" in e.flags for e in own)


def _has_batchnorm(model: TrainedModel) -> bool:
    return model.families is not None and "batchnorm" in model.families


class Options(RuleOptions):
    min_batch_size: int = 16
    error_below: int = 4


class BatchNormSmallBatch(Rule):
    """A model with BatchNorm layers is trained with a small batch.

    ## What it flags
    A training run whose model has BatchNorm layers and whose training DataLoader uses a
    batch size below `min-batch-size` (default 16); an error below `error-below` (default 4).
    The batch size is read from literals, constants, `argparse` defaults and config values,
    including DataLoader's own default of 1. A size set on either side of an `if` (a frozen
    phase at 8, an unfrozen one at 4) is flagged when every value it may take is below.
    Models normalised only with GroupNorm, LayerNorm or InstanceNorm are not flagged, nor a
    run whose training forwards (or, where a trainer object runs them, whose training steps)
    all find the BatchNorm layers put in eval mode (a `freeze_bn()` method setting each
    `BatchNorm2d` to `.eval()`, not undone by `.train()`), also those of a model a trainer
    module wraps. A model whose every training call runs on a loader's batch joined with
    other tensors along the batch axis (`disc(torch.cat((real, fake)))`, the two views of a
    contrastive step) sees a larger batch than the loader's, and is not judged by it. Of
    several networks a command-line option picks (`if args.arch == "bn": ... elif ...`), the
    one the default options pick is judged, and the message says so.

    ## Why it matters
    BatchNorm normalises with the mean and variance of the current batch. With a handful of
    samples those are noisy estimates: training injects that noise, and the running
    statistics used at evaluation differ from what training saw, so validation accuracy
    lags training accuracy. At batch 1, `BatchNorm1d` on `(N, C)`
    input even raises. GroupNorm and LayerNorm do not depend on the batch.

    ## Example
    ```python
    loader = DataLoader(train_set, batch_size=4, shuffle=True)   # model uses BatchNorm2d
    ```

    ## Instead
    ```python
    self.norm = nn.GroupNorm(8, channels)   # or freeze BN statistics, or a larger batch
    ```
    """

    code = "CNN201"
    name = "batchnorm-small-batch"
    severity = "warning"
    summary = "A BatchNorm model is trained with a batch too small for reliable statistics"
    fix = "Use GroupNorm or LayerNorm, freeze BatchNorm statistics, or train with a larger batch"
    Options = Options

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            steps = [e for e in run.events if e.kind == FORWARD and e.mode is not False
                     and "grad-off" not in e.flags]
            # One of several networks a command-line option picks is judged as the one the
            # default options pick (`python train.py` as written trains it).
            judged = [(m.by_default, m) if m.by_default is not None and not _has_batchnorm(m)
                      else (m, m) for m in run.models]
            models = [m for m, trained in judged
                      if _has_batchnorm(m) and not _fed_joined_batches(trained, steps)]
            by_default = {id(m) for m, trained in judged if m is not trained}
            if not models:
                continue
            updates = [e for e in run.events if e.kind == STEP and "trains" in e.flags]
            if any(events and all("norms-frozen" in e.flags for e in events)
                   for events in (steps, updates)):
                continue  # its BatchNorm layers are kept in eval mode (`freeze_bn()`)
            for loader in run.train_loaders:
                size = loader.batch_size
                if size is None or loader.loc is None:
                    continue
                # A size set on either side of an `if` (frozen and unfrozen phases): judged
                # when every value it may take is small.
                largest = size.value if size.known else size.spread[1] if size.spread else None
                if largest is None or largest >= self.options.min_batch_size:  # type: ignore[operator]
                    continue
                severity = "error" if largest < self.options.error_below else None  # type: ignore[operator]
                # Every BatchNorm model the run trains on those batches (a GAN's two); one
                # built by the same call on each pass of a loop (a k-fold's) is one.
                names = list(dict.fromkeys(
                    m.describe() + (", the network the default options pick,"
                                    if id(m) in by_default else "") for m in models))
                models = list({(m.describe(), m.loc): m for m in models}.values())
                named = f"{len(models)} models built as {names[0]}" \
                    if len(names) == 1 and len(models) > 1 else \
                    " and ".join(names[:3]) + (f" and {len(names) - 3} more"
                                               if len(names) > 3 else "")
                # (A loader a shared helper of another file builds: the script's call
                # that gave it its batch size is named.)
                caller, call = called_from(loader.called_at, loader.loc, "built", "builds")
                yield self.finding(
                    f"{named} {'has' if len(models) == 1 else 'have'} BatchNorm layers but "
                    f"{'trains' if len(models) == 1 else 'train'} with batch size "
                    f"{size.describe()}{caller}",
                    loader.loc, symbol=loader.symbol or run.symbol, severity=severity,
                    related=[(m.defined, f"`{m.name}` is defined here") for m in models]
                    + call)

    valid = [
        {"model.py": """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))
""", "train.py": """
import torch
from torch.utils.data import DataLoader
from model import Net

model = Net()
loader = DataLoader(torch.load("data.pt"), batch_size=64, shuffle=True)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
"""},
        # GroupNorm does not care about the batch.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.norm = nn.GroupNorm(2, 8)

    def forward(self, x):
        return self.norm(self.conv(x))

model = Net()
loader = DataLoader(torch.load("data.pt"), batch_size=2)
optimizer = torch.optim.Adam(model.parameters())
for x, y in loader:
    optimizer.zero_grad()
    model(x).mean().backward()
    optimizer.step()
""",
        # The batch size comes from the command line with no default: unknown.
        """
import argparse
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

parser = argparse.ArgumentParser()
parser.add_argument("--batch-size", type=int, required=True)
args = parser.parse_args()
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
loader = DataLoader(torch.load("d.pt"), batch_size=args.batch_size)
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
""",
    ]
    invalid = [
        {"model.py": """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))
""", "train.py": """
import argparse
import torch
from torch.utils.data import DataLoader
from model import Net

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    model = Net()
    loader = DataLoader(torch.load("data.pt"), batch_size=args.batch_size)  # flagged
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()

if __name__ == "__main__":
    main()
"""},
        # DataLoader's default batch size is 1.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.bn = nn.BatchNorm1d(16)

    def forward(self, x):
        return self.bn(self.fc(x))

model = Head()
train_loader = DataLoader(torch.load("train.pt"), shuffle=True)  # flagged
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

BATCH = 4
CONFIG = {"batch_size": BATCH}

def build():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())

def train():
    model = build()
    loader = DataLoader(torch.load("d.pt"), batch_size=CONFIG["batch_size"])  # flagged
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        model(x).mean().backward()
        opt.step()

train()
""",
    ]
