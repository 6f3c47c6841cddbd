from __future__ import annotations

from typing import Iterable

from cnnlint.catalogue import ACTIVATION_FAMILIES
from cnnlint.findings import Finding
from cnnlint.graph import alternatives, branch_sides, first_of_each, gates_its_input
from cnnlint.ir import Model, ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


def _most_in_one_forward(model: Model, activations: int, either: int) -> int:
    """How many of the `activations` (a bitmask) one forward may run: those on no side of
    an undecided `if` (`either`: the nodes on one), plus each `if`'s fullest side (an
    activation counted with the first `if` it is on)."""
    # Bitmasks, not per-node tests: a deep network has thousands of activations and sides.
    left = activations
    total = (activations & ~either).bit_count()
    for sides in branch_sides(model.network):
        total += max((side & left).bit_count() for side in sides)
        for side in sides:
            left &= ~side
    return total


class Options(RuleOptions):
    min_activations: int = 6


class ReluEverywhere(Rule):
    """Every activation of a sizeable network is a plain ReLU.

    ## What it flags
    A network with `min-activations` (default 6) or more activations, all of them `ReLU` or
    `ReLU6` (as modules, `F.relu`, `torch.relu` or `x.relu()`). A class whose defaults build
    only ReLU is not flagged when every build of it the project trains has another
    activation (`act=nn.SiLU`), nor a factory no run trains, of a class every trained build
    of which has one, nor a network the project trains in a build whose activations the
    reader did not see (a flag it could not follow picks them).

    ## Why it matters
    ReLU has zero slope for negative input. A unit whose pre-activation turns negative for
    every input outputs zero, receives zero gradient and never recovers: a *dead* unit.
    A high learning rate or a large negative bias can kill a good
    share of a layer, and the network silently loses capacity. This is a risk, not a
    verdict: `cnnlint probe` measures the dead fraction per layer and confirms or refutes it.

    ## Example
    ```python
    self.act = nn.ReLU(inplace=True)
    ```

    ## Instead
    ```python
    self.act = nn.LeakyReLU(0.01, inplace=True)  # or nn.ELU(), nn.GELU(), nn.SiLU()
    ```
    """

    code = "CNN105"
    name = "relu-everywhere"
    severity = "info"
    summary = "Every activation is plain ReLU: dying-ReLU risk"
    fix = "Consider LeakyReLU, ELU or GELU, which keep a gradient for negative inputs"
    Options = Options

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        if not model.network.complete:
            return
        activations = [n for n in model.network if n.family in ACTIVATION_FAMILIES]
        # A factory passing `act=nn.SiLU` to a class whose default is ReLU: what trains is not
        # the default.
        if not all(n.family == "relu" for n in activations) or project.trained_builds_hold(
                model, ACTIVATION_FAMILIES - {"relu"}):
            return
        if activations and not any(n.functional for n in activations) \
                and project.trained_builds_miss(model, ACTIVATION_FAMILIES):
            # Its activations are modules, and a build it trains constructs none that the
            # reader saw: a flag it could not follow picks them. (A construction shows no
            # `F.relu`: with those, a build's layers say nothing of its activations.)
            return
        # Each place of the network once: a block run on two inputs has its activations
        # computed twice.
        firsts = first_of_each(model.network)
        activations = [n for n in activations if firsts[n.id] == n.id]
        if any(gates_its_input(model.network, n) for n in activations):
            return  # a ReLU that scales its input is another activation: `x * relu6(x + 3) / 6`
        # Both sides of an `if` the reader could not decide are in the graph; a forward runs
        # one. Towards the threshold count those that always run, and for each such `if`
        # its side with the most.
        either = alternatives(model.network)
        mask = sum(1 << n.id for n in activations)
        if _most_in_one_forward(model, mask, either) >= self.options.min_activations:
            kinds = sorted({n.kind for n in activations if n.kind in ("ReLU", "ReLU6")})
            named = " or ".join(kinds) if kinds else "ReLU"  # F.relu and x.relu() are ReLU
            # Both sides of such an `if` are in the graph: adding up the activations on
            # them counts what no forward runs.
            # A module applied more than once (a residual block's `self.relu`, a siamese
            # pair's shared head) is one module of several activations: both are said.
            # (A functional call, `F.relu(x)`, is no module: said apart.)
            modules = len({n.name for n in activations if n.name and not n.functional})
            calls = sum(1 for n in activations if not n.name or n.functional)
            sources = f"{modules} module{'s' if modules != 1 else ''}" + (
                f" and {calls} function call{'s' if calls != 1 else ''}" if calls else "")
            counted = "all activations" if mask & either else \
                f"all {len(activations)} activations" + (
                    f" (from {sources})" if modules + calls != len(activations) else "")
            yield self.finding(f"{counted} are plain {named} (dying-ReLU risk)",
                               model.loc, symbol=model.name)

    valid = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3), nn.LeakyReLU(0.1))
                                    for _ in range(8)])

    def forward(self, x):
        return self.body(x)
""",
        # Mixed activations.
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3) for _ in range(6)])

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x)) if i % 2 == 0 else F.gelu(conv(x))
        return x
""",
        # Too few activations to matter.
        """
import torch.nn as nn

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU())

    def forward(self, x):
        return self.f(x)
""",
        # Hard-swish written by hand: its ReLU6 scales the input, it is not a plain ReLU.
        """
import torch.nn as nn
import torch.nn.functional as F

class HSwish(nn.Module):
    def forward(self, x):
        return x * F.relu6(x + 3.0) / 6.0

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU())
                                    for _ in range(6)])
        self.tail = nn.Sequential(nn.Conv2d(8, 8, 3), HSwish())

    def forward(self, x):
        return self.tail(self.body(x))
""",
    ]
    invalid = [
        """
import torch.nn as nn

class Net(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        blocks = []
        for cin, cout in [(3, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 128)]:
            blocks += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*blocks)

    def forward(self, x):
        return self.features(x)
""",
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Mixed(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(16, 16, 3, padding=1) for _ in range(3)])
        self.fcs = nn.ModuleList([nn.Linear(16, 16) for _ in range(3)])

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        x = x.mean((2, 3))
        for fc in self.fcs:
            x = torch.relu(fc(x)).relu()
        return x
""",
        """
from torch import nn

def mlp():  # flagged
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU6(), nn.Linear(512, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
""",
    ]

