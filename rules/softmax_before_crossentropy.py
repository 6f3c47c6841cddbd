from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import ProjectFacts
from cnnlint.rule import Rule


class SoftmaxBeforeCrossEntropy(Rule):
    """Probabilities or log-probabilities are fed to CrossEntropyLoss.

    ## What it flags
    `nn.CrossEntropyLoss` or `F.cross_entropy` called on the output of `softmax` or
    `log_softmax` (`F.softmax`, `torch.softmax`, `x.softmax()`, `nn.Softmax`,
    `nn.LogSoftmax`), in the training loop or as the last operation of the model's
    `forward`, also when the model and the script are in different files.

    ## Why it matters
    `CrossEntropyLoss` expects raw logits: it applies `log_softmax` itself. Fed
    probabilities, it takes a softmax of a softmax: the outputs are squashed into a narrow
    range, the gradients shrink, and training stalls at a high loss.
    With `log_softmax` in the model, the matching loss is `NLLLoss`.

    ## Example
    ```python
    loss = criterion(F.softmax(model(x), dim=1), y)   # criterion = nn.CrossEntropyLoss()
    ```

    ## Instead
    ```python
    loss = criterion(model(x), y)                     # softmax only for predictions
    ```
    """

    code = "CNN210"
    name = "softmax-before-crossentropy"
    severity = "error"
    summary = "Softmax output fed to CrossEntropyLoss (a double softmax)"
    fix = "Feed raw logits to CrossEntropyLoss, or pair log_softmax with NLLLoss"

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            for loss in run.losses:
                if loss.kind != "CrossEntropyLoss" or not loss.fed_by or loss.loc is None:
                    continue
                where = ""
                if loss.fed_by_loc is not None:
                    where = f" (from {loss.fed_by_loc.path}:{loss.fed_by_loc.line})"
                yield self.finding(
                    f"`{loss.kind}` receives `{loss.fed_by}` output{where}: it applies "
                    "log-softmax itself", loss.loc, symbol=loss.symbol,
                    related=[(loss.fed_by_loc, f"the `{loss.fed_by}` it receives")])

    valid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
""",
        # log_softmax with NLLLoss is the matching pair.
        {"model.py": """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return F.log_softmax(self.fc(x), dim=1)
""", "train.py": """
import torch
import torch.nn.functional as F
from model import Net

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.nll_loss(model(x), y).backward()
    opt.step()
"""},
        # Softmax for the predictions only.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(8, 3)
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    logits = model(x)
    probs = F.softmax(logits, dim=1)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    opt.step()
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    loss = criterion(F.softmax(model(x), dim=1), y)  # flagged
    loss.backward()
    opt.step()
""",
        # The model ends in softmax in another file.
        {"model.py": """
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))
""", "train.py": """
import torch
import torch.nn as nn
from model import Classifier

def train(loader):
    model = Classifier()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)  # flagged
        loss.backward()
        optimizer.step()
"""},
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x).log_softmax(dim=1)

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()  # flagged
    opt.step()
""",
    ]
