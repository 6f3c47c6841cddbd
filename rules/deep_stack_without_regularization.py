from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.graph import alternatives, weighted_layers
from cnnlint.ir import Model, Network, ProjectFacts, TrainingRun
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


def _regularised_where_trained(model: Model, runs: list[TrainingRun]) -> bool:
    """Whether the runs train the model only as a part of bigger networks that hold dropout
    (a backbone under a segmentation head with `Dropout2d`): what trains is regularised."""
    contexts = [m for run in runs for m in run.models
                if model.key in m.keys or model.key in m.parts]
    return bool(contexts) and all(
        model.key not in m.keys and m.families is not None and "dropout" in m.families
        for m in contexts)


def _ends_in_classifier(network: Network) -> bool:
    """Whether a fully connected layer is the last weighted layer before some output (a
    classifier's head); False for a network whose outputs come from convolutions (an image
    to image network: super-resolution, denoising, segmentation), True when not known."""
    if not network.outputs:
        return True
    seen, todo = set(), list(network.outputs)
    while todo:
        node = network.nodes[todo.pop()]
        if node.id in seen:
            continue
        seen.add(node.id)
        if node.weighted:
            if node.family == "linear":
                return True
            continue
        todo.extend(node.inputs)
    return False


# Where the network has no classifier to put dropout before, the hint says what such
# networks use instead.
_IMAGE_TO_IMAGE_HINT = ("Add weight decay to the optimizer (or dropout between the blocks, "
                        "e.g. Dropout2d)")


class Options(RuleOptions):
    min_layers: int = 8


class DeepStackWithoutRegularization(Rule):
    """A deep network with no dropout anywhere and no weight decay in its training.

    ## What it flags
    A network with `min-layers` (default 8) or more weighted layers (a layer applied at
    several places, as in a recurrent block, is one), no dropout layer or
    `F.dropout` call anywhere, and no weight decay in the project's training code for it
    (`weight_decay` of the optimizers that train it, or a model it is part of; AdamW's
    default 0.01 included). The runs that train it are those whose optimizer holds its
    weights, those that build its class directly (`UNet(...)` trains the network a `unet()`
    factory builds; `resnet18()` does not train `resnet50()`), and those that pick their
    model by a name at run time (`models.__dict__[args.arch]`, a dict of built models): any
    entry may be the one trained. When no training script for the model is found, the
    finding is only `info` and says so (and, for an unused builder of a class the project
    trains through another builder, that it does); it is not made at all when the decay its
    optimizers apply is not known (`--verbose` names them), when the model is a
    LightningModule whose own `configure_optimizers` builds its optimizers and no
    `Trainer.fit` the reader follows trains it (a command line or a config may run it), when
    a script hands the model to code the reader cannot follow (a library trainer), when a
    training script of the project cannot be parsed or read to its end, or when a script
    picks its model by name among networks the reader could not read in full (one of them
    may hold this one).
    A model built inside one a script may pick (a backbone DeepLab's factory builds) is
    trained with it; a block class that needs arguments no code gives it alone, held by a
    model of another file, is judged as part of that model. A model trained only as a part
    of bigger networks that hold dropout (a backbone under a head with `Dropout2d`) is
    regularised there: it is not flagged. Nor is a model trained only by reinforcement
    learning (its run steps an environment, `obs, reward, done = env.step(action)`): an
    agent learns from the experience it collects, with no held-out score. A class the runs
    train only as builds of another size than its defaults (`Plain(n=2)` for `Plain(n=12)`)
    is judged by the largest build they train: the count given is that build's, with where
    it is built.

    ## Why it matters
    A big model learns the training set's details and noise unless something holds it back
    (a bigger model can drop validation accuracy from 85 % to 65 %).
    Dropout, weight decay and data augmentation are the usual brakes; with none of the first
    two, validation accuracy usually peaks early and then falls.

    ## Example
    ```python
    self.classifier = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ```

    ## Instead
    ```python
    self.classifier = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
                                    nn.Linear(4096, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    ```
    """

    code = "CNN107"
    name = "deep-stack-without-regularization"
    severity = "warning"
    summary = "A deep network has no dropout and no weight decay"
    fix = "Add dropout before the classifier and weight decay to the optimizer"
    Options = Options

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        network = model.network
        if not network.complete:
            return
        weighted = weighted_layers(network)  # capacity: a module applied twice is one
        # Of a choice of modules the reader could not decide, one option is built: the
        # count is of the layers outside the options.
        either = alternatives(network, built=True)
        sure = [n for n in weighted if not either >> n.id & 1]
        if len(sure) < self.options.min_layers:
            return
        count = f"{len(sure)} weighted layers" if len(sure) == len(weighted) else \
            f"at least {len(sure)} weighted layers"
        if any(n.family == "dropout" and n.arg("p") != 0 for n in network) \
                or project.held_as_block(model):
            return  # regularised, or judged (and trained) as part of the model holding it
        runs = project.runs_training(model)
        if _regularised_where_trained(model, runs) or project.decayed_by_hand(model, runs):
            return
        if runs and all(run.acts_in_environment() for run in runs):
            return  # an agent learning from experience it collects: no held-out score to
            # peak and fall, and dropout would add noise to the actions it picks
        builds = project.other_builds_trained(model, runs)
        if builds:
            # The runs train it built with other arguments: judge what they build.
            largest = max(builds, key=lambda b: b.layers)
            if any(b.families is None or "dropout" in b.families for b in builds) \
                    or largest.layers < self.options.min_layers:
                return
            where = f" as built at {largest.loc.path}:{largest.loc.line}" if largest.loc else ""
            count = f"{largest.layers} weighted layers{where}"
        if any(not run.complete for run in runs):
            return  # a script read in part may go on to add decay (a group, a second optimizer)
        optimizers = project.optimizers_training(model, runs)
        hint = None if _ends_in_classifier(network) else _IMAGE_TO_IMAGE_HINT
        decays = [opt.weight_decay for opt in optimizers if opt.weight_decay is not None]
        if any(d.known and d.value > 0 for d in decays):  # type: ignore[operator]
            return
        if optimizers and all(d.known for d in decays) and len(decays) == len(optimizers):
            where = ", ".join(dict.fromkeys(  # (one optimizer two scripts' runs build)
                f"`{o.kind}` at {o.loc.path}:{o.loc.line}" for o in optimizers
                if o.loc is not None))
            yield self.finding(
                f"{count}, no dropout, and no weight decay ({where})",
                model.loc, symbol=model.name, hint=hint,
                related=[(o.loc, f"`{o.kind}` without weight decay") for o in optimizers])
            return
        if optimizers or project.may_train_unseen(model) or project.subclass_trained(model) \
                or project.same_network_trained(model) or model.trains_itself:
            # The decay its optimizers apply is not known (a group's value set by a test
            # not followed; `--verbose` names the optimizer), or how it is trained is not
            # (its subclasses train, built with their own arguments; a LightningModule's
            # own `configure_optimizers` builds its optimizers, for a `Trainer` the reader
            # does not see), or the very network it builds trains as another builder's
            # (and is judged there).
            return
        # No training script was followed to this model (none, or none the reader could
        # link to it): say so, at info level; and when the project trains other builds of
        # its class (`net_small()` beside an unused `net_large()`), that those are judged
        # apart: the finding, said at the class, is about the builds nothing trains.
        others = "; the project trains other builds of its class" \
            if project.class_trained_otherwise(model) else ""
        yield self.finding(
            f"{count} and no dropout; weight decay unknown (no training script followed to "
            f"it{others})", model.loc, symbol=model.name, severity="info", hint=hint)

    valid = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1) for _ in range(8)])
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.LazyLinear(10))

    def forward(self, x):
        return self.head(self.features(x))
""",
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(32, 32) for _ in range(9)])

    def forward(self, x):
        for fc in self.fcs:
            x = F.dropout(F.relu(fc(x)), 0.2, self.training)
        return x
""",
        # Shallow: regularisation matters less.
        """
import torch.nn as nn

def small():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
""",
        # Weight decay in the training script that trains it.
        {"model.py": """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1) for _ in range(8)])

    def forward(self, x):
        return self.features(x)
""", "train.py": """
import torch
from model import Net

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
"""},
    ]
    invalid = [
        # Trained with no weight decay: a warning.
        {"model.py": """
import torch.nn as nn

class Net(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1) for _ in range(8)])

    def forward(self, x):
        return self.features(x)
""", "train.py": """
import torch
from model import Net

model = Net()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
"""},
        """
import torch.nn as nn

class Net(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1) for _ in range(8)])

    def forward(self, x):
        return self.features(x)
""",
        # A dropout rate of zero is no dropout.
        """
import torch.nn as nn

def mlp(p=0.0):  # flagged
    layers = []
    for _ in range(8):
        layers += [nn.Linear(64, 64), nn.ReLU(), nn.Dropout(p)]
    return nn.Sequential(*layers)
""",
        """
import torch.nn as nn
import torch.nn.functional as F

class Encoder(nn.Module):  # flagged
    def __init__(self, widths=(3, 16, 32, 64, 64, 128, 128, 256, 256)):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:])])

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        return x
""",
    ]
