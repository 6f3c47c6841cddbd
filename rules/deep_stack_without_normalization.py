from __future__ import annotations

from typing import Iterable

from cnnlint import catalogue
from cnnlint.findings import Finding
from cnnlint.graph import Runs, ancestors, around, features_in, hangs_on_branch, is_skip
from cnnlint.ir import ADD, INPUT, Model, Network, Node, ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_layers: int = 6


class DeepStackWithoutNormalization(Rule):
    """A long chain of convolutions with no normalisation layer among them.

    ## What it flags
    A path through `min-layers` (default 6) or more conv layers with no BatchNorm, GroupNorm,
    LayerNorm or InstanceNorm between any two of them; a conv whose weights are normalised
    (`spectral_norm`, `weight_norm`, as GAN discriminators do, or a forward that divides
    the weight by its norm before `F.conv2d`) counts as normalised. A
    skip connection whose other branch
    is normalised (pre-activation residual blocks: norm, activation, conv, added to an
    un-normalised identity stream) counts as normalisation, and so does a residual addition
    whose branch is scaled down by a constant of at most 0.5 (`x + 0.1 * f(x)`: the residual
    scaling of EDSR and Inception-ResNet, which drop BatchNorm on purpose); a residual
    network with no norm layer anywhere and undamped branches is still flagged. A class
    whose defaults build no norm layer is not flagged when every build of it the project
    trains has them (`normalization="batchnorm"`), nor is a factory no run trains, of a
    class every trained build of which has them (an unused `vgg11()` beside the `vgg11_bn()`
    a registry maps the name to).

    ## Why it matters
    Without normalisation the scale of activations drifts layer by layer, so gradients
    vanish or explode and the network becomes very sensitive to the learning rate and the
    initialisation. Normalising early and regularly keeps the
    distributions, and so the gradients, stable. When the batch is small, GroupNorm or
    LayerNorm are the batch-independent choice.

    ## Example
    ```python
    layers = [nn.Conv2d(c, c, 3, padding=1), nn.ReLU()] * 8
    ```

    ## Instead
    ```python
    layers = [nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()] * 8
    ```
    """

    code = "CNN104"
    name = "deep-stack-without-normalization"
    severity = "warning"
    summary = "A long chain of convolutions has no normalization layer"
    fix = "Add BatchNorm after the convolutions (GroupNorm or LayerNorm if batches are small)"
    Options = Options

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        if not model.network.complete:
            return
        if not any(n.is_norm for n in model.network) \
                and project.trained_builds_hold(model, catalogue.NORM_FAMILIES):
            return  # every build the project trains has norm layers its defaults lack
        run = _longest_unnormalised(model.network)
        # A block type picked from a string may be the normalised one.
        if len(run) >= self.options.min_layers and not hangs_on_branch(
                model.network, run, lambda n: n.normalises):
            yield self.finding(
                f"{len(run)} conv layers with no normalization among them, from "
                f"{run[0].describe()} to {run[-1].describe()}",
                model.loc, symbol=model.name)

    valid = [
        # Residual scaling instead of norm layers (EDSR): each block's branch is damped
        # before it is added to the stream.
        """
import torch.nn as nn

class ResBlock(nn.Module):
    def __init__(self, c=64, res_scale=0.1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x):
        res = self.body(x).mul(self.res_scale)
        res += x
        return res

class EDSR(nn.Module):
    def __init__(self, blocks=16):
        super().__init__()
        self.head = nn.Conv2d(3, 64, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock() for _ in range(blocks)])
        self.tail = nn.Conv2d(64, 3, 3, padding=1)

    def forward(self, x):
        x = self.head(x)
        return self.tail(self.body(x) + x)
""",
        # An SN-GAN discriminator: every conv's weights spectrally normalised, inline or by
        # a function applied to its modules.
        """
import torch.nn as nn
from torch.nn.utils import spectral_norm

def _normalise(m):
    if isinstance(m, nn.Conv2d):
        spectral_norm(m)

class Critic(nn.Module):
    def __init__(self, c=64):
        super().__init__()
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(3, c, 3, padding=1)), nn.LeakyReLU(0.1),
            spectral_norm(nn.Conv2d(c, c, 4, 2, 1)), nn.LeakyReLU(0.1),
            spectral_norm(nn.Conv2d(c, c, 3, padding=1)), nn.LeakyReLU(0.1))
        self.tail = nn.Sequential(
            nn.Conv2d(c, c, 4, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(c, c, 3, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(c, c, 4, 2, 1), nn.LeakyReLU(0.1))
        self.out = nn.Linear(c, 1)
        self.tail.apply(_normalise)

    def forward(self, x):
        return self.out(self.tail(self.body(x)).mean((2, 3)))
""",
        # Pre-activation residual stages (SegResNet, pre-act ResNet): the identity stream
        # through the strided convolutions has no norm, but every block it meets adds a
        # normalised branch.
        """
import torch.nn as nn

class PreActBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.GroupNorm(4, c)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.norm2 = nn.GroupNorm(4, c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        y = self.conv1(self.act(self.norm1(x)))
        return x + self.conv2(self.act(self.norm2(y)))

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        stages = []
        for _ in range(7):
            stages += [nn.Conv2d(16, 16, 3, stride=2, padding=1), PreActBlock(16)]
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.stages = nn.Sequential(*stages)

    def forward(self, x):
        return self.stages(self.stem(x))
""",
        """
import torch.nn as nn

def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[conv_bn(16, 16) for _ in range(8)])

    def forward(self, x):
        return self.body(x)
""",
        # GroupNorm every two convolutions.
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(32, 32, 3, padding=1) for _ in range(8)])
        self.norms = nn.ModuleList([nn.GroupNorm(8, 32) for _ in range(4)])

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i % 2 == 1:
                x = self.norms[i // 2](x)
            x = F.relu(x)
        return x
""",
        # Five convolutions: under the threshold.
        """
import torch.nn as nn

model = None

class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(*[nn.Conv2d(8, 8, 3) for _ in range(5)], nn.Flatten())

    def forward(self, x):
        return self.f(x)
""",
        # The block type depends on a setting the reader cannot decide: the normalised one
        # may be the one built.
        """
import os
import torch.nn as nn

KIND = os.environ.get("BLOCK", "normed")

class Normed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()

class Bare(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x).relu()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[Normed() if KIND == "normed" else Bare()
                                      for _ in range(8)])

    def forward(self, x):
        return self.blocks(x)
""",
    ]
    invalid = [
        """
import torch.nn as nn

class Net(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(6):
            layers.append(nn.Conv2d(16, 16, 3, padding=1))
            layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
""",
        """
import torch.nn as nn
import torch.nn.functional as F

class LeNetDeep(nn.Module):  # flagged
    def __init__(self, widths=(3, 8, 16, 32, 32, 64, 64)):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.leaky_relu(conv(x)), 1)
        return x
""",
        # Residual blocks, but no norm layer anywhere.
        """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return x + self.conv2(self.act(self.conv1(x)))

class NoNormResNet(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(16) for _ in range(4)])

    def forward(self, x):
        return self.blocks(x)
""",
        """
from collections import OrderedDict
import torch.nn as nn

def encoder():  # flagged
    return nn.Sequential(OrderedDict(
        [(f"conv{i}", nn.Conv2d(16, 16, 3, padding=1)) for i in range(7)]))
""",
    ]


def _longest_unnormalised(network: Network) -> list[Node]:
    """The longest path-ordered chain of convolutions with no norm layer between them. At a
    skip connection the chain follows its longest input, unless the skip is a residual
    addition around a norm layer: then the normalised branch resets the stream, and the
    shortest input counts (pre-activation ResNets). A residual addition of a branch scaled
    down by a constant (EDSR's `x + 0.1 * f(x)`) resets it. A concatenation (U-Net) resets
    nothing: the decoder's own convolutions are still in series."""
    masks = ancestors(network)
    norms = 0
    normalised = [node.normalises for node in network.nodes]
    for node in network.nodes:
        if normalised[node.id]:
            norms |= 1 << node.id
    runs = Runs(len(network.nodes))
    for node in network.nodes:
        if normalised[node.id] or node.kind == INPUT or node.kind == ADD \
                and catalogue.SCALED_BRANCH in node.args and is_skip(node, masks):
            continue  # (a residual addition of a damped branch resets the stream too)
        shortest = bool(node.inputs) and node.kind == ADD and is_skip(node, masks) \
            and bool(around(node, masks) & norms)
        runs.extend(node.id, runs.pick(features_in(node), shortest), node.family == "conv")
    return runs.longest(network)

