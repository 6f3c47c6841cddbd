from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import ProjectFacts
from cnnlint.rule import Rule


class WeightedLossWithoutResampling(Rule):
    """A class-weighted loss is the only answer to class imbalance.

    ## What it flags
    A loss with class weights (`CrossEntropyLoss(weight=...)`, `F.cross_entropy(...,
    weight=...)`, `BCEWithLogitsLoss(pos_weight=...)`), reported where it is built, used
    for training (not only under `no_grad`) in a run with no resampling
    (`WeightedRandomSampler`, a balanced or imbalanced-dataset sampler) and no focal loss.
    The training loaders must be known: one built by code the reader cannot see might
    resample. A weight of 1 for every class (`torch.ones(n)`, also handed down through a
    function) weighs none of them.

    ## Why it matters
    Class weights only scale a rare class's gradient; they do not give the model more
    distinct examples of it or better features to tell it apart. A class that looks like
    another, or has a few dozen images, stays stuck (one class's AUC at 0.55
    while the others pass 0.85). Oversampling shows the model the rare class more
    often; focal loss concentrates on the hard, misclassified examples.

    ## Example
    ```python
    criterion = nn.CrossEntropyLoss(weight=class_weights)
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    ```

    ## Instead
    ```python
    sampler = WeightedRandomSampler(sample_weights, num_samples=len(train_set))
    loader = DataLoader(train_set, batch_size=32, sampler=sampler)
    ```
    """

    code = "CNN211"
    name = "weighted-loss-without-resampling"
    severity = "info"
    summary = "A class-weighted loss with no resampling and no focal loss"
    fix = "Oversample the rare classes (WeightedRandomSampler) or try focal loss"

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            if run.resampling or run.focal or not run.train_loaders or any(
                    "Weighted" in loader.sampler or loader.sampler == "unknown"
                    for loader in run.loaders):
                continue
            for loss in run.losses:
                # At the loss's construction (where `weight=` is), for the training uses.
                where = loss.made_at or loss.loc
                if loss.weighted and not loss.evaluating and where is not None:
                    yield self.finding(
                        f"`{loss.kind}` is class-weighted, with no resampling and no focal "
                        "loss in the run", where, symbol=loss.symbol)

    valid = [
        # Every class weighs 1 (`torch.ones`), handed to the training function.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHTS = torch.ones(6)

def train(model, loader, optimizer, weights):
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y, weight=weights.cuda()).backward()
        optimizer.step()

model = nn.Conv2d(3, 6, 1)
loader = torch.utils.data.DataLoader(torch.load("tiles.pt"), batch_size=10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    train(model, loader, optimizer, weights=WEIGHTS)
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, WeightedRandomSampler

model = nn.Linear(8, 3)
sampler = WeightedRandomSampler(weights, num_samples=1000)
loader = DataLoader(dataset, batch_size=32, sampler=sampler)
criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 1.0]))
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    criterion(model(x), y).backward()
    opt.step()
""",
        # Focal loss concentrates on the hard examples.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

def focal_loss(logits, target, gamma=2.0):
    ce = F.cross_entropy(logits, target, reduction="none")
    return ((1 - torch.exp(-ce)) ** gamma * ce).mean()

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0, 1.0]))
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    (focal_loss(model(x), y) + criterion(model(x), y)).backward()
    opt.step()
""",
        """
import torch
import torch.nn as nn

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    criterion(model(x), y).backward()
    opt.step()
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(8, 3)
loader = DataLoader(dataset, batch_size=32, shuffle=True)
criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 10.0, 1.0]))  # flagged
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
""",
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASS_WEIGHTS = torch.tensor([0.2, 0.8])
model = nn.Linear(8, 2)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.cross_entropy(model(x), y, weight=CLASS_WEIGHTS).backward()  # flagged
    opt.step()
""",
        """
import torch
import torch.nn as nn

def train(model, loader, pos_weight):
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)  # flagged
    opt = torch.optim.Adam(model.parameters())
    for x, y in loader:
        opt.zero_grad()
        criterion(model(x), y).backward()
        opt.step()

train(nn.Linear(8, 1), torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32),
      torch.tensor([9.0]))
""",
    ]
