from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import BACKWARD, FORWARD, STEP, UNRESOLVED, ZERO_GRAD, ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    pass


class MissingZeroGrad(Rule):
    """`optimizer.step()` runs in a loop that never resets the gradients.

    ## What it flags
    An `optimizer.step()` whose loop has no `optimizer.zero_grad()` (or `model.zero_grad()`,
    `set_to_none` included) in the same loop, unless gradient accumulation is evident (the
    step is taken under `if (i + 1) % accum == 0:`). The loop is the innermost one around
    the step that does more than step (a loop over several optimizers is inside it). A
    reset only before the loop does not count: gradients then pile up over every batch.
    A `step()` on something that is not
    known to be an optimizer (a scheduler passed as a parameter) is not one.
    A run trains when an optimizer over a model's parameters steps (one over an input
    image does not). The rule speaks only when the reader saw everything the loop
    calls: a call it cannot follow (an unresolved import, a library trainer) might do
    the reset, so the rule stays silent and `--verbose` names the call.

    ## Why it matters
    PyTorch adds each `backward()`'s gradients to what is already in `.grad`. Without a
    reset, every step uses the sum of all gradients so far: the effective learning rate
    grows with each batch, and training diverges or wanders.

    ## Example
    ```python
    optimizer.zero_grad()
    for x, y in loader:
        criterion(model(x), y).backward()
        optimizer.step()
    ```

    ## Instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    ```
    """

    code = "CNN205"
    name = "missing-zero-grad"
    severity = "error"
    summary = "optimizer.step() in a loop that never resets the gradients"
    fix = "Call optimizer.zero_grad() in the same loop, before backward()"

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            if not run.complete:
                continue
            for step in run.events_of(STEP):
                if "trains" not in step.flags or "accumulating" in step.flags \
                        or not step.loops or step.loc is None:
                    continue
                # The loop whose passes would accumulate: the innermost around the step that
                # does more than step (not a loop over the optimizers that each step).
                loop = next((i for i in reversed(step.loops) if run.events_in(
                    i, BACKWARD, FORWARD, ZERO_GRAD, UNRESOLVED)), step.loops[-1])
                if run.events_in(loop, ZERO_GRAD) or run.blockers(loop):
                    continue
                # A step inside a helper of another file: the loop is the other end.
                around = next((x for x in run.loops if x.id == loop), None)
                yield self.finding("`step()` with no gradient reset in its loop: gradients "
                                   "accumulate over every batch", step.loc, symbol=run.symbol,
                                   related=[(around.loc if around else None,
                                             "the loop it steps in")])

    valid = [
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(4, 1)
loader = DataLoader(torch.load("d.pt"), batch_size=32)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad(set_to_none=True)
    model(x).sum().backward()
    opt.step()
""",
        # Gradient accumulation: step and reset every `accum` batches.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(4, 1)
loader = DataLoader(torch.load("d.pt"), batch_size=8)
opt = torch.optim.Adam(model.parameters())
accum = 4
for i, (x, y) in enumerate(loader):
    (model(x).sum() / accum).backward()
    if (i + 1) % accum == 0:
        opt.step()
        opt.zero_grad()
""",
        # model.zero_grad() resets too.
        """
import torch
import torch.nn as nn

def train(model, batches):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for x in batches:
        model.zero_grad()
        model(x).sum().backward()
        opt.step()

train(nn.Linear(2, 2), batches)
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(4, 1)
loader = DataLoader(torch.load("d.pt"), batch_size=32)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
opt.zero_grad()
for x, y in loader:
    model(x).sum().backward()
    opt.step()  # flagged
""",
        """
import torch
import torch.nn as nn

def train(model, batches, epochs=3):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        optimizer.zero_grad()
        for x in batches:
            loss = model(x).pow(2).mean()
            loss.backward()
            optimizer.step()  # flagged

train(nn.Linear(2, 2), [torch.randn(2, 2)])
""",
        # A training function nothing in the run calls is still read.
        """
def fit(model, loader, optimizer, criterion):
    for images, labels in loader:
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()  # flagged
""",
    ]
