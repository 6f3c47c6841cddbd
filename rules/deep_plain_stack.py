from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.graph import hangs_on_branch, longest_plain_run, skip_ids
from cnnlint.ir import Model, ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_layers: int = 8


class DeepPlainStack(Rule):
    """A long chain of conv/linear layers with no skip connection around any of them.

    ## What it flags
    A path through the network of `min-layers` (default 8) or more weighted layers (conv or
    linear) that no skip connection spans. A skip is an addition of a block's input to a
    transformed branch (ResNet) or a concatenation that carries an earlier tensor past the
    layers (DenseNet, U-Net). A product or division by a function of the input (a
    squeeze-excitation gate, an attention gate, a hand-written local response normalisation)
    is not a skip: the gradient still goes through the gate's input. A concatenation of
    parallel branches (Inception, also its max-pool branch) is not a skip either, unless one
    branch is the block's input only dropped out (a second decoder fed dropped-out encoder
    features still gets the encoder's features past its layers). A forward that takes one of two
    ways (`if`) is judged one way at a time. A side head that joins the output again
    (deep supervision concatenated before the last layer) leaves the skips it goes
    round spanning; one returned as an output of its own does not. Layers whose output the
    forward drops (a value overwritten before it reaches an output) are on no path, nor are
    a gate's layers (a squeeze-excitation's FCs only scale the features they multiply: the
    data goes past them). VGG,
    MobileNet v1 and GoogLeNet-style nets have such a chain; ResNet, DenseNet and
    MobileNetV2 do not.

    ## Why it matters
    The gradient reaching the first layers is a product of one factor per layer; through a
    long plain chain it shrinks (or grows) geometrically, so the early layers barely learn.
    The late layers can still fit the training set on top of those poor early features,
    which then generalise badly: training accuracy high, validation accuracy low, or a loss
    that stalls when the chain is longer still. Skip connections give the gradient a short
    path; that is why ResNets train at depths where plain nets stall. The
    probe measures it: the first layer's gradient norm against the last one's.

    ## Example
    ```python
    self.features = nn.Sequential(*[conv_bn_relu(64, 64) for _ in range(12)])
    ```

    ## Instead
    ```python
    class Residual(nn.Module):
        def forward(self, x):
            return x + self.body(x)

    self.features = nn.Sequential(*[Residual(64) for _ in range(6)])
    ```
    """

    code = "CNN103"
    name = "deep-plain-stack"
    severity = "warning"
    summary = "A long chain of conv/linear layers has no skip connection"
    fix = "Add residual (skip) connections, e.g. blocks computing `x + f(x)`"
    Options = Options

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        if not model.network.complete:
            return
        run = longest_plain_run(model.network)
        # A block whose residual test reads values not known may be the residual one.
        skips = skip_ids(model.network)
        if len(run) >= self.options.min_layers and not hangs_on_branch(
                model.network, run, lambda n: n.id in skips):
            yield self.finding(
                f"{len(run)} weighted layers in a row with no skip connection, from "
                f"{run[0].describe()} to {run[-1].describe()}",
                model.loc, symbol=model.name)

    valid = [
        # Seven convs in a row, then a squeeze-excitation gate whose two FCs only scale the
        # seventh's output: the chain the data takes has seven layers, not nine.
        """
import torch.nn as nn

class Gated(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.convs = nn.Sequential(*[m for _ in range(7)
                                     for m in (nn.Conv2d(c, c, 3, padding=1), nn.ReLU())])
        self.squeeze = nn.Linear(c, c // 4)
        self.excite = nn.Linear(c // 4, c)

    def forward(self, x):
        y = self.convs(x)
        scale = self.excite(self.squeeze(y.mean((2, 3))).relu()).sigmoid()
        return y * scale[:, :, None, None]
""",
        # ResNet basic blocks: every pair of convs is spanned by the shortcut.
        """
import torch.nn as nn
import torch.nn.functional as F

class BasicBlock(nn.Module):
    def __init__(self, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)

class ResNet(nn.Module):
    def __init__(self, depth=8):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.blocks = nn.Sequential(*[BasicBlock(64) for _ in range(depth)])
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(x.mean((2, 3)))
""",
        # Seven layers: under the threshold.
        """
import torch.nn as nn

def small_net():
    layers = []
    for cin, cout in [(3, 16), (16, 32), (32, 64), (64, 64), (64, 64), (64, 64)]:
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.LazyLinear(10))
""",
        # DenseNet: each layer's input is concatenated with its output.
        """
import torch
import torch.nn as nn

class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.conv = nn.Conv2d(cin, growth, 3, padding=1)

    def forward(self, x):
        return torch.cat([x, self.conv(x)], 1)

class DenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(*[DenseLayer(16 + 12 * i, 12) for i in range(10)])

    def forward(self, x):
        return self.layers(x)
""",
        # The depth comes from elsewhere: unknown, so nothing is reported.
        """
import torch.nn as nn
from config import DEPTH

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3) for _ in range(DEPTH)])

    def forward(self, x):
        return self.body(x)
""",
        # Whether a block is residual reads a value the reader cannot compute: the residual
        # version may be the one that runs.
        """
import os
import torch.nn as nn

WIDTH = int(os.environ.get("WIDTH", "64"))

class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.residual = cin == cout
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, padding=1))

    def forward(self, x):
        if self.residual:
            return x + self.body(x)
        return self.body(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(64, WIDTH) for _ in range(6)])

    def forward(self, x):
        return self.blocks(x)
""",
    ]
    invalid = [
        # VGG with a cfg table and factories: one report, at the class, naming them.
        """
import torch.nn as nn

cfgs = {"A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]}

def make_layers(cfg, batch_norm=False):
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)

class VGG(nn.Module):  # flagged
    def __init__(self, features, num_classes=1000):
        super().__init__()
        self.features = features
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True),
                                        nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.flatten(1))

def vgg11():
    return VGG(make_layers(cfgs["A"]))

def vgg11_bn():
    return VGG(make_layers(cfgs["A"], batch_norm=True))
""",
        # A plain stack written out in forward, with functional activations.
        """
import torch.nn as nn
import torch.nn.functional as F

class PlainNet(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv2d(3 if i == 0 else 32, 32, 3, padding=1) for i in range(9)])
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)
""",
        # Inception-style: parallel branches concatenated are not a skip.
        """
import torch
import torch.nn as nn

class Inception(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b1 = nn.Conv2d(cin, 16, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, 16, 1), nn.Conv2d(16, 16, 3, padding=1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x)], 1)

class GoogLeNetLike(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 7, stride=2)
        self.blocks = nn.Sequential(Inception(32), Inception(32), Inception(32), Inception(32))

    def forward(self, x):
        return self.blocks(self.stem(x))
""",
    ]
