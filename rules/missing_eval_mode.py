from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import FORWARD, MODE, STEP, Event, ProjectFacts, TrainingRun
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    pass


def _same_model(forward: Event, stepped: set[int] | None) -> bool:
    """Whether a forward runs one of the models a loop's steps update, as far as their
    numbers tell (not known: it may)."""
    return not forward.token or not stepped or forward.token in stepped


# Flags of a forward that scores the model rather than trains it.
_EVALUATING = frozenset({"grad-off", "eval-loader"})


def _kept_in_eval_to_train(events: list[Event], index: int, in_train_mode: set[str]) -> bool:
    """Whether the training forward `events[index]` runs in eval mode because the same pass
    of a loop around it put the model there, with no evaluation since, and the model never
    trains in train mode (not in `in_train_mode`): a frozen trunk whose BatchNorm statistics
    must not move while a head on it trains (a linear probe). An `.eval()` left over from
    the last pass's validation is the mistake, and so is a pass that trains in eval mode
    where another trains in train mode (a "val" phase that steps too)."""
    forward = events[index]
    if forward.model in in_train_mode:
        return False
    for i in range(index - 1, -1, -1):
        event = events[i]
        if event.model != forward.model:
            continue
        if event.kind == FORWARD and _EVALUATING & event.flags:
            return False
        if event.kind == MODE:
            depth = len(event.loops)
            return event.mode is False and depth > 0 \
                and event.loops == forward.loops[:depth] \
                and event.passes == forward.passes[:depth]
    return False


class MissingEvalMode(Rule):
    """An evaluation pass runs a model in train mode, or training resumes in eval mode.

    ## What it flags
    A model with BatchNorm or Dropout (of a rate other than 0) that is called in an
    evaluation pass (under
    `torch.no_grad()`/`inference_mode()`, or over a validation/test loader) without
    `model.eval()` (or `model.train(False)`) first; and a model that is put in eval mode
    for validation and never switched back with `model.train()` before the next epoch
    trains it (also when the validation runs every few passes, `if step % 50 == 0:`, and
    no `.train()` is in that loop; a model in eval mode whose weights no step updates, such
    as a frozen teacher or trunk feeding a trained head, is not trained; nor is one the
    same loop puts back in train mode before its own step, as a critic judging another
    model's step). In
    a run that trains two models apart (a GAN), a forward without gradients on training
    data, in the loop that steps the same model (the generator making fake images for the
    discriminator's step), is not an evaluation; nor is a forward without gradients whose
    output a loss then backpropagates (the labels semi-supervised training guesses on
    unlabelled data, in train mode by design in MixMatch); where the reader cannot follow
    what such a forward's output feeds (a network picked by an option, returning a tensor or
    a tuple), it does not guess. A forward without gradients on random numbers alone
    (`model(torch.randn(1, 3, 224, 224))` to print each layer's output shape) scores no data:
    it is a probe, not an evaluation. A loop over a held-out loader that steps the model on it
    (a mode that also trains on the validation split) trains. A model put in train mode with
    `model.train()` and not trained since is in train mode on purpose (Monte-Carlo dropout
    samples predictions with dropout on, from a mean teacher too); so is one a loop puts in
    eval mode in the pass that then trains it, with no evaluation between, and that never
    trains in train mode (a linear probe keeps its frozen trunk's BatchNorm statistics fixed
    while the head on it trains). Models without BatchNorm or Dropout behave the same in
    both modes and are not flagged, nor is BatchNorm the code keeps in eval mode throughout
    (`model.freeze_bn()`). After a call the reader cannot follow that could reach the
    model, its mode is unknown and nothing is reported.

    ## Why it matters
    In train mode, dropout keeps dropping units and BatchNorm normalises with the
    evaluation batch's own statistics (and updates its running averages with them), so
    validation numbers are noisy and wrong. Forgetting `train()` afterwards is worse:
    every later epoch trains with dropout off and frozen BatchNorm statistics.

    ## Example
    ```python
    with torch.no_grad():
        for x, y in val_loader:
            val_loss += criterion(model(x), y)
    ```

    ## Instead
    ```python
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            val_loss += criterion(model(x), y)
    model.train()
    ```
    """

    code = "CNN204"
    name = "missing-eval-mode"
    severity = "warning"
    summary = "Evaluation runs in train mode, or training resumes in eval mode"
    fix = "Call model.eval() before evaluating and model.train() before training again"

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            # The models each training loop steps, by name: a model run in eval mode whose
            # weights no step updates (a frozen teacher or trunk feeding a trained head) is
            # not trained in eval mode.
            training: dict[int, set[str]] = {}
            # And by number, where every step of the loop knows what it updates: a frozen
            # teacher of the student's own class is not the student.
            numbers: dict[int, set[int] | None] = {}
            for e in run.events_of(STEP):
                if "trains" in e.flags and e.loops:
                    training.setdefault(e.loops[-1], set()).update(e.model.split(", "))
                    known = numbers.setdefault(e.loops[-1], set())
                    numbers[e.loops[-1]] = known | set(e.roots) \
                        if known is not None and e.roots else None
            apart = run.trains_models_apart()
            # Models a loop puts back in train mode (`critic.train()` before the critic's
            # own step, after it judged the other model's step in eval mode).
            back = {(e.model, loop) for e in run.events_of(MODE) if e.mode for loop in e.loops}
            # Models some forward trains in train mode (a linear probe's never is).
            in_train_mode = {e.model for e in run.events_of(FORWARD)
                             if e.mode is True and not _EVALUATING & e.flags}
            for index, forward in enumerate(run.events):
                if forward.kind != FORWARD:
                    continue
                kinds = set(forward.families)
                if "norms-frozen" in forward.flags:
                    kinds.discard("batchnorm")  # kept in eval mode (`freeze_bn()`)
                if not kinds or forward.loc is None or forward.mode is None:
                    continue
                evaluating = bool(_EVALUATING & forward.flags)
                # In a loop that steps two models apart (a GAN), a model run without
                # gradients but not on held-out data, in the loop that steps it, makes
                # inputs for the other's step (fake images): it does not evaluate.
                if apart and "eval-loader" not in forward.flags and forward.loops and \
                        forward.model in training.get(forward.loops[-1], ()):
                    evaluating = False
                # Outputs a loss then backpropagates are part of a step, not an evaluation:
                # the labels semi-supervised training guesses on unlabelled data (MixMatch
                # runs that guess in train mode by design), a mean teacher's targets.
                if "feeds-step" in forward.flags and "eval-loader" not in forward.flags:
                    evaluating = False
                # A loop over held-out data that steps the model on it trains on it (a mode
                # that fits the validation split too).
                if "in-eval-loop" in forward.flags and "grad-off" not in forward.flags \
                        and forward.model in training.get(forward.loops[-1], ()):
                    evaluating = False
                # One on random numbers alone without gradients probes the model (the shapes
                # a summary prints, a timing): it scores no data and trains nothing.
                if evaluating and "noise-input" in forward.flags \
                        and "eval-loader" not in forward.flags:
                    continue
                # One whose output the reader lost, inside a loop that steps, may be either.
                if "output-unknown" in forward.flags and "eval-loader" not in forward.flags \
                        and any(training.get(i) for i in forward.loops):
                    evaluating = False
                if evaluating and forward.mode and "train-mode-called" not in forward.flags:
                    problem = f"`{forward.model}` runs an evaluation pass in train mode"
                elif not evaluating and not forward.mode and forward.loops \
                        and forward.model in training.get(forward.loops[-1], ()) \
                        and _same_model(forward, numbers.get(forward.loops[-1])) \
                        and (forward.model, forward.loops[-1]) not in back \
                        and not _kept_in_eval_to_train(run.events, index, in_train_mode):
                    problem = (f"`{forward.model}` is trained after `.eval()` with no "
                               "`.train()` back")
                else:
                    continue
                yield self.finding(f"{problem} (it has {' and '.join(sorted(kinds))} layers)",
                                   forward.loc, symbol=run.symbol)
            yield from self._evaluated_every_few_passes(run)

    def _evaluated_every_few_passes(self, run: TrainingRun) -> Iterable[Finding]:
        """A model put in eval mode under a test of a count (`if step % 50 == 0:`,
        `if epoch > 0 and epoch % 2 == 0:`), or on every batch, in a loop that trains it,
        with no `.train()` anywhere in that loop: the passes after the first such one train
        it in eval mode, whichever passes the reading saw."""
        kinds = {loop.id: loop.kind for loop in run.loops}
        for mode in run.events_of(MODE):
            if mode.mode is not False or not mode.model or not mode.loops:
                continue
            loop = mode.loops[-1]
            # (A loop over a loader is read once for every batch: what its pass does, each
            # pass does.)
            if "periodic" not in mode.flags and kinds.get(loop) != "batch":
                continue
            if not any("trains" in e.flags and mode.model in e.model.split(", ")
                       for e in run.events_in(loop, STEP)):
                continue  # (the loop around it, or one inside it, trains the model)
            if any(e.model == mode.model and e.mode is not False
                   for e in run.events_in(loop, MODE)):
                continue  # put back (or in a mode not known) in the same loop
            for forward in run.events_in(loop, FORWARD):
                if forward.model != mode.model or forward.loc is None or _EVALUATING & \
                        forward.flags or "norms-frozen" in forward.flags:
                    continue
                families = sorted(set(forward.families))
                if families:
                    where = f" (line {mode.loc.line})" if mode.loc is not None \
                        and mode.loc.path == forward.loc.path else ""
                    yield self.finding(
                        f"`{forward.model}` is trained after the `.eval()`{where} in the loop "
                        f"that trains it, with no `.train()` back in that loop (it has "
                        f"{' and '.join(families)} layers)", forward.loc, symbol=run.symbol)
                break

    valid = [
        # Its one dropout has rate 0 and it has no BatchNorm: both modes compute the same.
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.norm = nn.LayerNorm(16)
        self.fc = nn.Linear(16, 16)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc(self.norm(x)))

model = Net()
opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
for epoch in range(5):
    for x in torch.load("train.pt"):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    with torch.no_grad():
        val_loss = sum(model(x).pow(2).mean() for x in torch.load("val.pt"))
""",
        # Each model goes back to train mode before its own step; in eval mode it only
        # judges the other's step.
        """
import torch
import torch.nn as nn

seg = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Conv2d(8, 2, 1))
critic = nn.Sequential(nn.Conv2d(2, 8, 3), nn.Dropout2d(0.5), nn.Flatten(), nn.LazyLinear(2))
opt_seg = torch.optim.SGD(seg.parameters(), lr=0.01, momentum=0.9)
opt_critic = torch.optim.Adam(critic.parameters(), lr=1e-4)
for epoch in range(50):
    for image, label in torch.load("pairs.pt"):
        seg.train()
        critic.eval()
        pred = seg(image)
        loss = nn.functional.cross_entropy(pred, label) - critic(pred).mean()
        opt_seg.zero_grad()
        loss.backward()
        opt_seg.step()
        seg.eval()
        critic.train()
        with torch.no_grad():
            pred = seg(image)
        opt_critic.zero_grad()
        critic(pred).mean().backward()
        opt_critic.step()
""",
        # A mean teacher sampled with dropout on: it is never trained, only averaged.
        """
import torch
import torch.nn as nn

student = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Dropout2d(0.3), nn.Conv2d(8, 2, 1))
teacher = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Dropout2d(0.3), nn.Conv2d(8, 2, 1))
opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
student.train()
teacher.train()
for epoch in range(30):
    for x, y in torch.load("batches.pt"):
        with torch.no_grad():
            spread = torch.stack([teacher(x) for _ in range(4)]).var(0)
        opt.zero_grad()
        (nn.functional.cross_entropy(student(x), y) + spread.mean()).backward()
        opt.step()
""",
        # Monte-Carlo dropout: dropout kept on, on purpose, to sample predictions.
        """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for step in range(200):
    opt.zero_grad()
    nn.functional.mse_loss(net(xs), ys).backward()
    opt.step()
net.train()
with torch.no_grad():
    samples = torch.stack([net(grid) for _ in range(50)])
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))

model = Net()
train_loader = DataLoader(torch.load("train.pt"), batch_size=32)
val_loader = DataLoader(torch.load("val.pt"), batch_size=32)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
""",
        # No BatchNorm or Dropout: the mode changes nothing.
        """
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
opt = torch.optim.Adam(model.parameters())
for epoch in range(5):
    opt.zero_grad()
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    with torch.no_grad():
        model(torch.randn(2, 4))
""",
        # train(False) is eval(); the helper switches back.
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))

def validate(model):
    model.train(False)
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 8, 8))
    model.train(True)
    return out

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    opt.zero_grad()
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    validate(model)
""",
        # A linear probe: each epoch puts the network in eval mode before training its head,
        # so that the frozen trunk's BatchNorm statistics stay as they were.
        """
import torch
import torch.nn as nn

trunk = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
net = nn.Sequential(trunk, nn.Linear(16, 10))
opt = torch.optim.SGD(net[1].parameters(), lr=0.1, momentum=0.9)
for epoch in range(20):
    net.eval()
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        scores = [net(x) for x, _ in torch.load("val.pt")]
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        return self.drop(self.fc(x))

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(5):
    opt.zero_grad()
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    with torch.no_grad():
        val = model(torch.load("val.pt"))  # flagged
""",
        # eval() for validation, never train() again.
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))

model = Net()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(8):
    opt.zero_grad()
    loss = model(torch.randn(2, 3, 8, 8)).sum()  # flagged
    loss.backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        model(torch.randn(2, 3, 8, 8))
""",
        # A loop over the validation loader, without no_grad and without eval().
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))
train_loader = DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=64)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

def train_model():
    for epoch in range(4):
        for x, y in train_loader:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        for x, y in val_loader:
            print(model(x).mean())  # flagged

train_model()
""",
        # Validation first in each epoch, then training with no train() back: every epoch
        # trains in eval mode.
        """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(20):
    net.eval()
    with torch.no_grad():
        scores = [net(x) for x, _ in torch.load("val.pt")]
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()  # flagged
        opt.step()
""",
        # A torchvision network has BatchNorm layers too.
        """
import torch
import torch.nn as nn
import torchvision

net = torchvision.models.resnet18(num_classes=10)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(10):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        correct = sum((net(x).argmax(1) == y).sum() for x, y in torch.load("val.pt"))  # flagged
""",
    ]
