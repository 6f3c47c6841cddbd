from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import EARLY_STOP, FLAT, IDLE_SCHEDULER, SCHEDULE, STEP, ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_epochs: int = 30


# Optimizers whose step sizes change by themselves over a run.
_SELF_SCHEDULING = frozenset({"Adadelta", "Adagrad"})


class ConstantLearningRate(Rule):
    """A long training run keeps one learning rate throughout.

    ## What it flags
    A training run of `min-epochs` (default 30) or more epochs with no
    `torch.optim.lr_scheduler` scheduler (nor Lightning's, nor a library `*schedule*`
    function), no manual change of `param_group["lr"]`, and no optimizer rebuilt in the loop
    with a rate that changes.
    A loop that steps two or more models with optimizers of their own, each after a
    backward pass of its own (a GAN's generator and discriminator), is not judged: GANs
    train at constant rates by design. Nor is a loop of a run that steps an environment
    (reinforcement learning). Nor is one whose model only ever sees random numbers (a
    memory or speed check on `torch.rand`), nor one whose steps are all Adadelta's or
    Adagrad's: Adadelta takes no learning rate of its own (its `lr` of 1.0 only scales a
    self-sizing step), and Adagrad's steps shrink as the squared gradients add up, a
    schedule of its own.
    A scheduler that is built but never stepped, read or handed on changes nothing, and
    the message says so, as a warning rather than info (a schedule was meant: a forgotten
    `scheduler.step()`); the message also names one of torch's step schedulers built to
    keep the rate (`MultiStepLR(opt, milestones=[])`, `gamma=1`).
    A run trains when an optimizer over a model's parameters steps (one over an input
    image does not). The rule speaks only when the reader saw everything the loop
    calls: a call it cannot follow (an unresolved import, a library trainer) might do
    the schedule, so the rule stays silent and `--verbose` names the call.

    ## Why it matters
    A rate large enough to make progress early is too large to settle into a minimum late;
    a rate small enough to settle is too slow early. Loss then plateaus. Decaying schedules
    (cosine, step) and cyclic ones (CyclicLR, OneCycleLR) fix both ends, and cyclic rates
    also help escape saddle points.

    ## Example
    ```python
    for epoch in range(100):
        train_one_epoch(model, loader, optimizer)
    ```

    ## Instead
    ```python
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1,
                                                    total_steps=100 * len(loader))
    ```
    """

    code = "CNN209"
    name = "constant-learning-rate"
    severity = "info"
    summary = "A long run with no learning-rate schedule"
    fix = "Add a schedule: CyclicLR, OneCycleLR or cosine, with bounds from an LR range test"
    Options = Options

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            schedules = run.events_of(SCHEDULE)
            if any(FLAT not in e.flags for e in schedules) \
                    or (not run.optimizers and not run.lightning):
                continue
            # Schedulers built with a factor of 1 or no milestones: the rate stays put.
            flat = schedules[0] if schedules else None
            for loop, epochs, loc in run.long_epoch_loops(self.options.min_epochs):
                # A GAN's two models train at constant rates by design (DCGAN, WGAN).
                # Nor has a model fed random numbers alone (a speed check) anything to learn.
                steps = [e for e in run.events_in(loop, STEP) if "trains" in e.flags]
                if steps and all(e.what in _SELF_SCHEDULING for e in steps):
                    continue
                if run.judgeable(loop) and not run.steps_models_apart(loop) \
                        and not run.trains_on_noise(loop) and not run.acts_in_environment():
                    # With an early stop, the epochs are a cap the run may not reach.
                    upto = "up to " if run.events_in(loop, EARLY_STOP) else ""
                    idle = run.events_of(IDLE_SCHEDULER)
                    caller, related = loop.caller(loc)
                    message = f"trains {upto}{epochs.value} epochs{epochs.source()} at a " \
                        "constant learning rate"
                    if flat is not None and flat.loc is not None:
                        yield self.finding(
                            f"{message}{caller}: `{flat.what}` keeps the rate as it is", loc,
                            symbol=loop.symbol, related=[
                                *related, (flat.loc, f"`{flat.what}` built")])
                        continue
                    if not idle:
                        yield self.finding(message + caller, loc, symbol=loop.symbol,
                                           related=related)
                        continue
                    # A schedule was meant and its step forgotten: a bug, not a choice.
                    built = f" built at {idle[0].loc.path}:{idle[0].loc.line}" \
                        if idle[0].loc else ""
                    yield self.finding(
                        f"{message}{caller}: the `{idle[0].what}`{built} is never stepped", loc,
                        symbol=loop.symbol, severity="warning",
                        hint="Call the scheduler's step() once per epoch (per batch for "
                             "OneCycleLR and CyclicLR)",
                        related=[*related,
                                 *((e.loc, f"`{e.what}` built, never stepped") for e in idle)])

    valid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
for epoch in range(100):
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
    sched.step()
""",
        # A hand-written step decay counts as a schedule.
        """
import torch
import torch.nn as nn

def adjust_learning_rate(optimizer, epoch, base=0.1):
    for group in optimizer.param_groups:
        group["lr"] = base * (0.1 ** (epoch // 30))

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(90):
    adjust_learning_rate(opt, epoch)
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
""",
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(100):  # flagged
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
""",
        """
import argparse
import torch
import torch.nn as nn

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    model = nn.Linear(4, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    for epoch in range(args.epochs):  # flagged
        opt.zero_grad()
        model(torch.load("batch.pt")).sum().backward()
        opt.step()

main()
""",
        """
import pytorch_lightning as pl
import torch

class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.fc(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)

trainer = pl.Trainer(max_epochs=40)  # flagged
trainer.fit(Lit())
""",
        # A scheduler built and never stepped.
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[30, 60])
for epoch in range(90):  # flagged
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
""",
    ]

