from __future__ import annotations

import re
from functools import partial
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.ir import (ALIASED_BEST, BEST_CHECKPOINT, BEST_PASS_NOTED, EARLY_STOP,
                        SAVED_BY_NAME, Event, Loop, ProjectFacts, TrainingRun)
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_epochs: int = 20


# Metrics that grow as the model gets better, by the last word of their logged name
# (`val_acc`, `valid/mIoU`, `val_top1`): watching their minimum keeps the worst epoch.
_HIGHER_IS_BETTER = frozenset({
    "acc", "accuracy", "top1", "top5", "f1", "fscore", "iou", "miou", "dice", "auc", "auroc",
    "map", "precision", "recall", "psnr", "ssim"})
_WHAT_IT_DOES = {EARLY_STOP: "stops once the metric stops falling, however much it improves",
                 BEST_CHECKPOINT: "keeps the checkpoint of the worst epoch"}

_MODE = {True: "mode \"min\", Lightning's default", False: "`mode=\"min\"`"}


def _seeks_the_worst(event: Event) -> bool:
    words = re.split(r"[^a-z0-9]+", event.metric.lower())
    return event.better == "min" and words[-1] in _HIGHER_IS_BETTER


def _chosen_on_training(kept: list[Event], loc: Loc) -> str:
    """What a message adds of the checkpoints a loop keeps on a metric where nothing is
    evaluated on held-out data (`if train_acc > best: torch.save(...)`): they are chosen on
    training data. "" when it keeps none."""
    if not kept:
        return ""
    where = kept[0].loc
    if where is not None and where.path == loc.path:
        return f": the checkpoint kept at line {where.line} is chosen with nothing evaluated " \
            "on held-out data"
    return ": the checkpoint it keeps is chosen with nothing evaluated on held-out data"


def _kept_by_reference(aliased: list[Event], loc: Loc) -> str:
    """What a message adds of the best weights a loop keeps as a reference to the live
    ones (`best = model.state_dict()`): later steps change them, so the last epoch's weights
    are what is kept. "" when it keeps none so."""
    if not aliased:
        return ""
    event = aliased[0]
    where = f" at line {event.loc.line}" if event.loc is not None \
        and event.loc.path == loc.path else ""
    return (f": `{event.what}`{where} holds the live weights, not a copy, so every later "
            f"step changes it (copy.deepcopy the state_dict)")


def _stops_or_keeps_best(run: TrainingRun, loop: Loop) -> bool:
    """Whether `loop` stops early, or keeps its best checkpoint on an evaluation it runs:
    one saved on a metric, or among checkpoints named by a counter whose best pass it
    notes (`iter_%d.pt` saved by `total_iters`, `best_iter = total_iters`)."""
    if run.events_in(loop, EARLY_STOP):
        return True
    return run.evaluated_in(loop) and (bool(run.events_in(loop, BEST_CHECKPOINT)) or bool(
        {e.what for e in run.events_in(loop, BEST_PASS_NOTED)}
        & {e.what for e in run.events_in(loop, SAVED_BY_NAME)}))


class NoEarlyStopping(Rule):
    """A long training run neither stops early nor keeps the best checkpoint.

    ## What it flags
    A training run of `min-epochs` (default 20) or more epochs (resolved, or the default of
    a command-line option) with no early stopping (a patience counter, a `break` out of the
    epoch loop or a `return` or `sys.exit()` from inside it, Lightning's `EarlyStopping`;
    not one under a test for a non-finite loss, `if torch.isnan(loss): sys.exit()`, which
    ends a diverged run, not an overfitting one) and no checkpoint selected on a validation
    metric (`torch.save`, a file copy or `copy.deepcopy(model.state_dict())` under
    `if val_loss < best:`, or under any names where the branch keeps the value tested as
    the new best, `if v < lowest: lowest = v`; a file named for the best,
    `ModelCheckpoint(monitor=...)`; a checkpoint saved at every pass under a name built
    from a counter, with the best pass noted by that counter, `best_iter = total_iters`,
    keeps the best among the others); a checkpoint kept on a metric in a loop where
    nothing is evaluated on held-out data
    (`if train_acc > best:`) is chosen on training data and does not count.
    Checkpoint helpers (`save_checkpoint(state, is_best)`) are followed: one that ignores
    `is_best` keeps no best checkpoint. Nor do weights kept as a reference when the metric
    improves (`best = model.state_dict()`, no copy: later steps change them), which the
    message then names. Code behind an option left off by default (`if args.output_dir:`)
    counts.
    Lightning's `EarlyStopping` and `ModelCheckpoint` count the lowest value of the metric
    they watch as best unless given `mode="max"`: one watching an accuracy-like metric
    (its name ends in `acc`, `accuracy`, `top1`, `f1`, `iou`, `dice`, `auc`, `map`,
    `precision`, `recall`, `psnr` or `ssim`) that way is flagged whatever the run's length,
    as it stops the run or picks the checkpoint on the worst epochs.
    A loop that steps two or more models with optimizers of their own, each after a
    backward pass of its own (a GAN's generator and discriminator), is not judged: they
    have no validation metric to stop on. Nor is one whose model only ever sees random
    numbers (a memory or speed check on `torch.rand`), nor a loop of a run that steps an
    environment (`obs, reward, done = env.step(action)`: reinforcement learning, on
    experience the agent collects).
    A run trains when an optimizer over a model's parameters steps (one over an input
    image does not). The rule speaks only when the reader saw everything the loop
    calls: a call it cannot follow (an unresolved import, a library trainer) might do
    it, so the rule stays silent and `--verbose` names the call.
    A loop followed by training of a model it trains that stops early or keeps its best
    checkpoint on an evaluation (a warm-up stage before the real training) is not judged.

    ## Why it matters
    Validation accuracy usually peaks and then falls as the model starts to memorise the
    training set. Training to the last epoch and keeping the last
    weights ships the overfitted model; early stopping on the validation loss, or at least
    keeping the best checkpoint, ships the peak.

    ## Example
    ```python
    for epoch in range(200):
        train_one_epoch(...)
        validate(...)
    torch.save(model.state_dict(), "model.pt")
    ```

    ## Instead
    ```python
    if val_loss < best:
        best, bad_epochs = val_loss, 0
        torch.save(model.state_dict(), "best.pt")
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            break
    ```
    """

    code = "CNN203"
    name = "no-early-stopping"
    severity = "warning"
    summary = "A long training run has no early stopping and no best-checkpoint selection"
    fix = ("Stop on a validation-loss patience counter, or keep the checkpoint with the best "
           "validation metric")
    Options = Options

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            for event in run.events_of(EARLY_STOP, BEST_CHECKPOINT):
                if not _seeks_the_worst(event) or event.loc is None:
                    continue
                yield self.finding(
                    f"`{event.what}(monitor=\"{event.metric}\")` counts the lowest "
                    f"`{event.metric}` as best ({_MODE['default-mode' in event.flags]}): it "
                    f"{_WHAT_IT_DOES[event.kind]}; pass `mode=\"max\"`", event.loc,
                    symbol=run.symbol)
            for loop, epochs, loc in run.long_epoch_loops(self.options.min_epochs):
                if not run.judgeable(loop) or run.steps_models_apart(loop) \
                        or run.trains_on_noise(loop) or run.acts_in_environment():
                    continue  # a GAN's models, or a model fed random numbers, have no
                    # validation metric to stop on
                # A checkpoint kept on a metric counts where something held out is evaluated.
                if _stops_or_keeps_best(run, loop):
                    continue
                kept = run.events_in(loop, BEST_CHECKPOINT)
                if run.settled_later(loop, partial(_stops_or_keeps_best, run)):
                    continue  # a warm-up stage: the model's later training keeps its best
                caller, related = loop.caller(loc)
                yield self.finding(
                    f"trains {epochs.value} epochs{epochs.source()} with no early stopping and "
                    f"no best checkpoint on a validation metric{caller}"
                    f"{_chosen_on_training(kept, loc)}"
                    f"{_kept_by_reference(run.events_in(loop, ALIASED_BEST), loc)}", loc,
                    symbol=loop.symbol, related=related)

    valid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
best, bad, patience = float("inf"), 0, 5
for epoch in range(100):
    opt.zero_grad()
    model(torch.load("batch.pt")).pow(2).mean().backward()
    opt.step()
    with torch.no_grad():
        val_loss = model(torch.load("val.pt")).pow(2).mean().item()
    if val_loss < best:
        best, bad = val_loss, 0
    else:
        bad += 1
        if bad >= patience:
            break
""",
        # Keeping the best checkpoint on the validation metric.
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
best_acc = 0.0
for epoch in range(60):
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
    with torch.no_grad():
        val_acc = model(torch.load("val.pt")).argmax(1).float().mean().item()
    if val_acc > best_acc:
        best_acc = val_acc
        torch.save(model.state_dict(), "best.pt")
""",
        # Lightning with an EarlyStopping callback.
        """
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping

class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x)

    def training_step(self, batch, batch_idx):
        return self(batch).sum()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)

trainer = pl.Trainer(max_epochs=100, callbacks=[EarlyStopping(monitor="val_loss")])
trainer.fit(Lit())
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(200):  # flagged
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
torch.save(model.state_dict(), "model.pt")
""",
        """
import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", default=90, type=int)
args = parser.parse_args()

def train(model, epochs):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for epoch in range(epochs):  # flagged
        opt.zero_grad()
        model(torch.load("batch.pt")).sum().backward()
        opt.step()

train(nn.Linear(2, 2), args.epochs)
""",
        # Lightning trains 1000 epochs by default.
        """
import lightning as L
import torch

class Lit(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.fc(batch).sum()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)

trainer = L.Trainer()  # flagged
trainer.fit(Lit())
""",
        # Watching accuracy for its minimum: a short run, and still the worst checkpoint.
        """
import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

class Lit(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.fc(batch).sum()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)

best = ModelCheckpoint(monitor="val_acc", save_top_k=1)  # flagged
trainer = L.Trainer(max_epochs=10, callbacks=[best])
trainer.fit(Lit())
""",
    ]
