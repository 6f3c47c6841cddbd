from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import Model, ProjectFacts
from cnnlint.rule import Rule


class ConvBiasBeforeBatchNorm(Rule):
    """A convolution with its bias left on feeds straight into BatchNorm or InstanceNorm.

    ## What it flags
    A `Conv*d` whose `bias` is on (torch's default) and whose output goes only into a
    `BatchNorm*d` or `InstanceNorm*d`.

    ## Why it matters
    Batch and instance normalisation subtract the per-channel mean, so a constant added per
    channel just before them is cancelled exactly: the bias parameters get gradients, take
    optimizer steps and weight decay, use memory, and change nothing. The norm layer's own
    `beta` already plays the bias's role. It is the most common redundant parameter in CNN
    code, and a sign the block was copied without care.

    ## Example
    ```python
    self.conv = nn.Conv2d(64, 128, 3, padding=1)
    self.bn = nn.BatchNorm2d(128)
    ```

    ## Instead
    ```python
    self.conv = nn.Conv2d(64, 128, 3, padding=1, bias=False)
    self.bn = nn.BatchNorm2d(128)
    ```
    """

    code = "CNN101"
    name = "conv-bias-before-batchnorm"
    severity = "warning"
    summary = "Conv bias is cancelled by the BatchNorm/InstanceNorm right after it"
    fix = "Pass `bias=False` to the convolution; the norm layer's shift replaces it"

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        network = model.network
        users = network.consumers()
        nodes = network.nodes
        for node in nodes:
            if node.family != "conv" or node.functional or node.loc is None:
                continue
            if node.arg("bias") is not True:
                continue
            following = [nodes[i] for i in users[node.id]]
            if following and all(n.family in ("batchnorm", "instancenorm") for n in following):
                norm = following[0]
                yield self.finding(
                    f"`{node.kind}` bias is redundant before `{norm.kind}` "
                    f"(`{node.name}` feeds `{norm.name}`)",
                    node.loc, symbol=node.owner or model.name)

    valid = [
        """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, bias=False)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.conv(x))
""",
        # The bias matters when no norm layer follows.
        """
from torch import nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3)
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.act(self.conv(x)))
""",
        # Declared before the norm, but used in another order by forward.
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(self.bn(x))
""",
        # GroupNorm is not in the rule's scope.
        """
import torch.nn as nn

features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.ReLU())

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8))

    def forward(self, x):
        return self.features(x)
""",
    ]
    invalid = [
        """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)  # flagged
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.conv(x))
""",
        """
from collections import OrderedDict
from torch import nn

class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(3, 32, kernel_size=3, bias=True)),  # flagged
            ("norm", nn.InstanceNorm2d(32)),
        ]))

    def forward(self, x):
        return self.body(x)
""",
        """
import torch.nn.functional as F
from torch.nn import BatchNorm2d, Conv2d, Module, ModuleList

class Tower(Module):
    def __init__(self):
        super().__init__()
        self.convs = ModuleList([Conv2d(8, 8, 3, 1, 1) for _ in range(2)])  # flagged
        self.norms = ModuleList([BatchNorm2d(8) for _ in range(2)])

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x)))
        return x
""",
        """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5)  # flagged
        self.bn1 = torch.nn.BatchNorm2d(6)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        return torch.relu(x)
""",
    ]
