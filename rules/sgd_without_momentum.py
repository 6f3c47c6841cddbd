from __future__ import annotations

from typing import Iterable

import libcst as cst

from cnnlint.findings import Finding
from cnnlint.fix import Edit, Fix, FixContext, append_keyword, is_zero, keyword, last_name, \
    plain_args, positional
from cnnlint.ir import Optimizer, ProjectFacts
from cnnlint.rule import Rule


def _plain_sgd_is_the_recipe(opt: Optimizer) -> bool:
    """Whether the optimizer holds, all known, only modules with no layers, just parameters
    of their own (a center loss's class centers, prototypes: plain SGD steps are the
    method's own update rule), or only recurrent networks with no convolution (a language
    model: plain SGD at a high rate with gradient clipping is its recipe)."""
    held = [m.families for m in opt.trains if m.families is not None]
    if not opt.trains or len(held) < len(opt.trains):
        return False
    return all(not m.families and not m.parts and m.layers == 0 for m in opt.trains) or all(
        "recurrent" in families and "conv" not in families for families in held)


class SgdWithoutMomentum(Rule):
    """Plain SGD: momentum is absent or zero.

    ## What it flags
    `torch.optim.SGD` built with `momentum` left at its default of 0, or set to 0 (from a
    literal, a constant, an `argparse` default or a config value), in code that trains. A
    test (`test_*.py`, `*_test.py`, a file in a `tests` folder) that steps only outside
    loops, as a numerical check does, is not judged, nor an optimizer given a mapping the
    reader cannot read (`SGD(params, **cfg.optim)`: it may hold the momentum), nor one
    over modules holding no layers, only parameters of their own (a center loss's class
    centers, stepped by the method's own plain update), nor one of a run whose scheduler
    cycles the momentum (`CyclicLR`, `OneCycleLR`: `cycle_momentum` is on by default and
    writes a momentum into the optimizer from the start), nor one over recurrent networks
    with no convolution (a language model trains with plain SGD at a high rate and gradient
    clipping, then averaged SGD), nor a call
    that builds optimizers with different momenta on different passes (`for kw in
    settings: SGD(params, **kw)`, a comparison of settings): its line has no one momentum.

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

    fix_safety = "unsafe"
    fix_note = (
        "Adds `momentum=0.9` to the `SGD(...)` call (or turns a literal `momentum=0` into "
        "0.9). Unsafe: momentum changes how training moves (at the same learning rate the "
        "effective step grows about tenfold), so the learning rate and schedule may need "
        "tuning again. Offered only when the call itself leaves momentum out or sets it to "
        "a literal 0; a value from a constant, an option or a config is fixed where it is "
        "set, not here.")

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        # Calls that also build an optimizer with some momentum, or an unknown one.
        varied = {opt.loc for run in project.runs for opt in run.optimizers
                  if opt.loc is not None
                  and not (opt.momentum is not None and opt.momentum.known
                           and opt.momentum.value == 0)}
        for run in project.runs:
            if run.is_a_test or run.cycles_momentum:
                continue  # a test's single step (a numerical check) sets up no training; a
                # `CyclicLR` or `OneCycleLR` cycles the optimizer's momentum itself
            for opt in run.optimizers:
                momentum = opt.momentum
                if opt.kind != "SGD" or opt.loc is None or momentum is None \
                        or opt.loc in varied or _plain_sgd_is_the_recipe(opt):
                    continue
                if momentum.known and momentum.value == 0:
                    what = "has no momentum" if momentum.origin == "torch default" else \
                        f"has momentum 0{momentum.source()}"
                    yield self.finding(f"`SGD` {what}", opt.loc, symbol=opt.symbol)

    def autofix(self, finding: Finding, context: FixContext) -> Fix | None:
        found = context.call_at(finding)
        if found is None:
            return None
        source, call = found
        if last_name(call) != "SGD" or not plain_args(call):
            return None
        given = keyword(call, "momentum")
        if given is not None:
            if not is_zero(given.value):
                return None
            new = call.with_changes(args=[
                arg.with_changes(value=cst.Float("0.9")) if arg is given else arg
                for arg in call.args])
        elif len(positional(call)) > 2:  # params, lr, momentum: given by position
            return None
        else:
            new = append_keyword(call, "momentum", cst.Float("0.9"))
        return Fix(edits=(Edit(source.path, call, new),))

    valid = [
        # A recurrent language model's recipe: plain SGD at a high rate, clipped.
        """
import torch
import torch.nn as nn

class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(1000, 64)
        self.rnn = nn.LSTM(64, 64)
        self.out = nn.Linear(64, 1000)

    def forward(self, x):
        return self.out(self.rnn(self.embed(x))[0])

model = LM()
opt = torch.optim.SGD(model.parameters(), lr=20)
for x, y in batches:
    opt.zero_grad()
    nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten()).backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    opt.step()
""",
        # CyclicLR cycles the momentum of the SGD it drives (`cycle_momentum` by default).
        """
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=1e-4, max_lr=0.01)
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
    sched.step()
""",
        # The centers of a center loss, a module with no layers, stepped by plain SGD (the
        # method's own update); the network's optimizer has momentum.
        """
import torch
import torch.nn as nn

class Centers(nn.Module):
    def __init__(self, classes, dim):
        super().__init__()
        self.centers = nn.Parameter(torch.randn(classes, dim))

    def forward(self, feats, labels):
        return (feats - self.centers[labels]).pow(2).sum(1).mean()

net = nn.Linear(8, 2)
centers = Centers(10, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
opt_centers = torch.optim.SGD(centers.parameters(), lr=0.5)
for x, y in batches:
    opt.zero_grad()
    opt_centers.zero_grad()
    centers(net(x), y).backward()
    opt.step()
    opt_centers.step()
""",
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

    fixed = [
        (invalid[0], """
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # flagged
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
"""),
        ("""
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
optimizer = torch.optim.SGD(  # flagged
    model.parameters(),
    lr=0.01,
    momentum=0,
    weight_decay=5e-4,
)
for x in batches:
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
""", """
import torch
import torch.nn as nn

model = nn.Linear(2, 2)
optimizer = torch.optim.SGD(  # flagged
    model.parameters(),
    lr=0.01,
    momentum=0.9,
    weight_decay=5e-4,
)
for x in batches:
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
"""),
    ]
