"""The two learning-rate rules share the per-family bounds."""

from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import CLIP, Optimizer, ProjectFacts, TrainingRun
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions

ADAPTIVE = frozenset({"Adam", "AdamW", "RMSprop", "Adamax", "NAdam", "RAdam"})

_SCRIPT = """
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
{optimizer}
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
"""


def _example(optimizer: str, scheduler: str = "") -> str:
    """The training loop with `optimizer` (and a `scheduler` variable stepped after it)."""
    script = _SCRIPT.format(optimizer=optimizer)
    return script + f"    {scheduler}.step()\n" if scheduler else script


class LowOptions(RuleOptions):
    sgd_min: float = 1e-4
    adaptive_min: float = 1e-6


class HighOptions(RuleOptions):
    sgd_max: float = 1.0
    adaptive_max: float = 1e-2


# torch's schedulers that lower the learning rate from the optimizer's value, or warm up
# to it: that value stays the peak training runs at. Any other scheduler sets a rate of its
# own (OneCycleLR's `max_lr`, CyclicLR's bounds, an LR range test, an ExponentialLR whose
# factor may exceed 1) or does what a project's `get_lr` computes (a project class, even
# one named like torch's), so the optimizer's value says nothing and both rules are
# silent for that run.
KEEPS_PEAK = frozenset({
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "ReduceLROnPlateau", "PolynomialLR", "LinearLR",
    "ConstantLR", "LambdaLR", "MultiplicativeLR", "SequentialLR", "ChainedScheduler",
})


def _rates(project: ProjectFacts, clipped: bool = True
           ) -> Iterable[tuple[TrainingRun, Optimizer, float, float, str]]:
    """(run, optimizer, its lowest and highest learning rate, family): param groups that set
    different rates (`2 * lr` for the biases) span a range; every one of them must be out
    of bounds for a finding. Without `clipped`, SGD of a run that clips its gradients is
    left out (its step is bounded by the clip, whatever the rate)."""
    for run in project.runs:
        if any(name not in KEEPS_PEAK for name in run.schedulers):
            continue
        if run.is_a_test:
            continue  # a test's single step (a numerical check) sets up no training
        clips = any(e.kind == CLIP for e in run.events)
        for opt in run.optimizers:
            lr = opt.lr
            if opt.loc is None or lr is None or lr.origin == "torch default":
                continue
            if lr.spread is not None:
                low, high = lr.spread
            elif lr.known:
                low = high = float(lr.value)  # type: ignore[arg-type]
            else:
                continue
            family = "sgd" if opt.kind == "SGD" else "adaptive" if opt.kind in ADAPTIVE else ""
            if family and (clipped or not clips or family != "sgd"):
                yield run, opt, low, high, family


class LearningRateTooLow(Rule):
    """The learning rate is far below what the optimizer family trains with.

    ## What it flags
    An SGD learning rate below `sgd-min` (default 1e-4), or an Adam/AdamW/RMSprop/Adamax
    learning rate below `adaptive-min` (default 1e-6). The message names the value and
    where it came from (a literal, an `argparse` default, a config value). Param groups
    that set different rates (`2 * lr` for the biases) are flagged when every one of them
    is below. Adadelta's default scale of 1.0 is not compared, nor is a test's optimizer
    stepped only outside loops (a numerical check in `test_*.py` or a `tests` folder), nor
    SGD minimising a loss that is not a mean (`reduction="sum"` or `"none"`,
    `size_average=False`, of a classification loss or of `MSELoss`, `L1Loss`,
    `SmoothL1Loss`, `HuberLoss`): summed over every pixel of a batch, the loss's gradient is
    millions of times a mean's, and the original FCN recipe trains at 1e-10 that way.
    Adaptive optimizers' steps do not grow with the loss's scale, so they are still judged.
    Nor is a run whose scheduler sets rates of its own: OneCycleLR, CyclicLR, an LR range
    test (an `ExponentialLR` whose factor may exceed 1, or a scheduler class of the project,
    whatever its name).

    ## Why it matters
    Steps that small barely move the weights: the loss plateaus at a high value for many
    epochs and looks like a model that cannot learn. An LR range test
    finds the usable range in minutes; a cyclic or one-cycle schedule then spans it.

    ## Example
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
    ```

    ## Instead
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    ```
    """

    code = "CNN207"
    name = "learning-rate-too-low"
    severity = "warning"
    summary = "Learning rate far below the optimizer's usual range: training plateaus"
    fix = "Raise the learning rate (an LR range test finds the usable range)"
    Options = LowOptions

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run, opt, _, highest, family in _rates(project):
            if family == "sgd" and (run.sums_a_loss or any(loss.summed and not loss.evaluating
                                                           for loss in run.losses)):
                continue  # a summed loss scales SGD's steps by the number of its terms
            floor = self.options.sgd_min if family == "sgd" else self.options.adaptive_min
            if highest < floor:
                assert opt.lr is not None and opt.loc is not None
                yield self.finding(f"`{opt.kind}` learning rate {opt.lr.describe()} is below "
                                   f"{floor:g}: steps too small to learn", opt.loc,
                                   symbol=opt.symbol)

    valid = [
        _example("opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)"),
        _example("opt = torch.optim.Adam(model.parameters(), lr=3e-4)"),
        _example("opt = torch.optim.Adadelta(model.parameters(), lr=1e-5)"),
        # An LR range test: the project's scheduler raises the rate from 1e-7.
        _example("from torch.optim.lr_scheduler import _LRScheduler\n\n"
                 "class Ramp(_LRScheduler):\n"
                 "    def get_lr(self):\n"
                 "        return [lr * 1.2 ** self.last_epoch for lr in self.base_lrs]\n\n"
                 "opt = torch.optim.SGD(model.parameters(), lr=1e-7)\n"
                 "ramp = Ramp(opt)", scheduler="ramp"),
        _example("opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)\n"
                 "sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)",
                 scheduler="sched"),
        # An LR range test by a rate growing 20 % a step, torch's or a project class of
        # that name.
        _example("opt = torch.optim.Adam(model.parameters(), lr=1e-8)\n"
                 "sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=1.2)",
                 scheduler="sched"),
        _example("from torch.optim.lr_scheduler import _LRScheduler\n\n"
                 "class ExponentialLR(_LRScheduler):\n"
                 "    def get_lr(self):\n"
                 "        return [lr * 1.2 ** self.last_epoch for lr in self.base_lrs]\n\n"
                 "opt = torch.optim.Adam(model.parameters(), lr=1e-8)\n"
                 "sched = ExponentialLR(opt)", scheduler="sched"),
        # Summed over the pixels: each step is the rate times the sum's gradient.
        "import torch\nimport torch.nn as nn\n\n"
        "model = nn.Conv2d(3, 21, 1)\n"
        "crit = nn.CrossEntropyLoss(reduction='sum')\n"
        "opt = torch.optim.SGD(model.parameters(), lr=1e-10, momentum=0.99)\n"
        "for x, y in batches:\n"
        "    opt.zero_grad()\n"
        "    crit(model(x), y).backward()\n"
        "    opt.step()\n",
        # A regression loss summed over a density map (crowd counting): the same.
        "import torch\nimport torch.nn as nn\n\n"
        "model = nn.Conv2d(3, 1, 1)\n"
        "crit = nn.MSELoss(size_average=False)\n"
        "opt = torch.optim.SGD(model.parameters(), lr=1e-7, momentum=0.95)\n"
        "for x, density in batches:\n"
        "    opt.zero_grad()\n"
        "    crit(model(x), density).backward()\n"
        "    opt.step()\n",
        # One param group trains at a usable rate.
        _example("opt = torch.optim.Adam([{'params': [model[2].bias], 'lr': 1e-3},\n"
                 "                        {'params': [model[0].weight], 'lr': 1e-10}])"),
    ]
    invalid = [
        _example("opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)  # flagged"),
        _example("opt = torch.optim.SGD(model.parameters(), lr=1e-6)  # flagged\n"
                 "sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)",
                 scheduler="sched"),
        _example("opt = torch.optim.Adam(model.parameters(), lr=1e-8)  # flagged\n"
                 "sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)",
                 scheduler="sched"),
        _example("LR = 1e-8\nopt = torch.optim.AdamW(model.parameters(), LR)  # flagged"),
        _example("opt = torch.optim.Adam([{'params': [model[2].bias], 'lr': 2e-10},  # flagged\n"
                 "                        {'params': [model[0].weight], 'lr': 1e-10}])"),
        _example("import argparse\np = argparse.ArgumentParser()\n"
                 "p.add_argument('--lr', type=float, default='5e-7')\nargs = p.parse_args()\n"
                 "opt = torch.optim.RMSprop(model.parameters(), lr=args.lr)  # flagged"),
    ]


class LearningRateTooHigh(Rule):
    """The learning rate is far above what the optimizer family trains with.

    ## What it flags
    An SGD learning rate above `sgd-max` (default 1.0), or an Adam/AdamW/RMSprop/Adamax
    learning rate above `adaptive-max` (default 1e-2). The message names the value and
    where it came from. Param groups that set different rates are flagged when every one
    of them is above. A test's optimizer stepped only outside loops (a numerical check in
    `test_*.py` or a `tests` folder) is not judged, nor SGD in a run that clips its
    gradients (`clip_grad_norm_`, or scaling `.grad` by hand: a recurrent network's high
    rate with a small clip bounds every step), nor an adaptive optimizer fitting a linear
    model (one `nn.Linear` or convolution and no other layer that learns: a line fit, a
    logistic regression), whose steps move each weight by about the rate at most: that
    convex fit of a few weights settles at such rates, it does not diverge.

    ## Why it matters
    Steps that large overshoot: the loss jumps around, grows, or turns into NaN within a
    few iterations, and gradients explode. Adaptive optimizers already scale each step by
    the gradient's history, so they need far smaller rates than SGD.

    ## Example
    ```python
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    ```

    ## Instead
    ```python
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    ```
    """

    code = "CNN208"
    name = "learning-rate-too-high"
    severity = "warning"
    summary = "Learning rate far above the optimizer's usual range: training diverges"
    fix = "Lower the learning rate (Adam-family: around 1e-3; SGD: 0.01 to 0.1)"
    Options = HighOptions

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run, opt, lowest, _, family in _rates(project, clipped=False):
            if family == "adaptive" and run.fits_linear_models:
                continue  # each weight moves at most about the rate a step: a convex fit of
                # a few weights settles, it does not diverge
            ceiling = self.options.sgd_max if family == "sgd" else self.options.adaptive_max
            if lowest > ceiling:
                assert opt.lr is not None and opt.loc is not None
                yield self.finding(f"`{opt.kind}` learning rate {opt.lr.describe()} is above "
                                   f"{ceiling:g}: training is likely to diverge", opt.loc,
                                   symbol=opt.symbol)

    valid = [
        _example("opt = torch.optim.Adam(model.parameters(), lr=1.0)\n"
                 "sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=1e-4, max_lr=1e-3)",
                 scheduler="sched"),
        _example("opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)"),
        _example("opt = torch.optim.Adam(model.parameters(), lr=1e-3)"),
        _example("opt = torch.optim.Adadelta(model.parameters(), lr=1.0)"),
    ]
    invalid = [
        _example("opt = torch.optim.Adam(model.parameters(), lr=0.1)  # flagged"),
        _example("opt = torch.optim.SGD(model.parameters(), lr=10, momentum=0.9)  # flagged"),
        _example("cfg = {'optim': {'lr': 0.05}}\n"
                 "opt = torch.optim.AdamW(model.parameters(), lr=cfg['optim']['lr'])  # flagged"),
    ]
