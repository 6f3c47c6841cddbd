from __future__ import annotations

from typing import Iterable

from cnnlint.catalogue import ACTIVATION_FAMILIES
from cnnlint.findings import Finding
from cnnlint.graph import (alternatives, ancestors, following, is_gate, longest_run,
                           steers_only, weighted_downstream)
from cnnlint import ir
from cnnlint.ir import Model, Network, Node, ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions

# What may sit between a layer and its activation without changing which activation it is.
_BETWEEN = frozenset({"batchnorm", "groupnorm", "layernorm", "instancenorm", "dropout", "pool",
                      "reshape", "identity", "padding", "upsample"})


def _in_series(network: Network, counted: dict[int, Node]) -> list[Node]:
    """The longest run of `counted` activations one way through the network passes. A
    product is followed along its data, not along a factor a saturating activation gives
    (a selection or attention weight, also once reshaped to the tensor it scales): that
    factor scales the data, it is not in series with it."""
    return longest_run(network, counts=lambda n: n.id in counted, resets=lambda n: False,
                       masks=ancestors(network), scales=lambda i: _saturated_factor(network, i))


def _saturated_factor(network: Network, i: int) -> bool:
    """Whether node `i` is a saturating activation's output, reshaped or not."""
    node = network.nodes[i]
    while node.family in ("reshape", "upsample", "identity") and len(node.inputs) == 1:
        node = network.nodes[node.inputs[0]]
    return node.family == "saturating"


def _read_unknown(network: Network, node: Node) -> bool:
    """Whether only calls the reader could not follow take the activation's output (a
    compiled deformable convolution given it as its mask): what it is to them is unknown."""
    users = network.consumers()[node.id]
    return bool(users) and all(network.nodes[u].kind == ir.UNKNOWN for u in users)


# Tanh-shaped activations: a slope of 1 at zero, where a norm layer right before keeps
# their input (sigmoid's slope is at most 0.25 however its input is kept).
_TANH_LIKE = frozenset({"Tanh", "Hardtanh", "Softsign"})
_PASSES_ON = frozenset({"dropout", "reshape", "identity", "padding"})


def _normalised_tanh(network: Network, node: Node) -> bool:
    """Whether a tanh-shaped activation takes a norm layer's output (Conv -> BatchNorm ->
    Tanh, Tacotron 2's postnet): the norm keeps its input near zero, out of saturation."""
    if node.kind not in _TANH_LIKE or len(node.inputs) != 1:
        return False
    before = network.nodes[node.inputs[0]]
    while before.family in _PASSES_ON and len(before.inputs) == 1:
        before = network.nodes[before.inputs[0]]
    return before.normalises


class Options(RuleOptions):
    min_layers: int = 4


class SaturatingActivationDeepStack(Rule):
    """Sigmoid or tanh is the hidden activation of many weighted layers.

    ## What it flags
    `min-layers` (default 4) or more conv/linear layers in series (one after another on one
    way through the network) whose output goes through a `Sigmoid` or `Tanh` (or their hard
    variants) that is followed by more weighted layers: a hidden activation. A sigmoid or
    tanh on the output alone does not count, nor a tanh that takes a norm layer's output
    (Conv -> BatchNorm -> Tanh: the norm keeps its input out of saturation), nor one that
    gates a product
    (squeeze-excitation, attention), nor one that bounds the offsets or mask of a deformable
    convolution (where it samples, not what it computes), nor side outputs read side by
    side (each block's sigmoid summary, concatenated for one layer).

    ## Why it matters
    Sigmoid's slope is at most 0.25 and both saturate to a zero slope for large inputs, so
    every hidden layer multiplies the gradient by a small factor: through a deep stack it
    vanishes and the early layers stop learning. This is how deep
    networks failed to train before ReLU. The probe measures the saturated fraction and the
    gradient ratio.

    ## Example
    ```python
    layers += [nn.Conv2d(c, c, 3, padding=1), nn.Sigmoid()]
    ```

    ## Instead
    ```python
    layers += [nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.LeakyReLU()]
    ```
    """

    code = "CNN106"
    name = "saturating-activation-deep-stack"
    severity = "warning"
    summary = "Sigmoid/tanh as hidden activations across a deep stack"
    fix = "Use a ReLU-family activation (LeakyReLU, ELU, GELU) for hidden layers"
    Options = Options

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        network = model.network
        if not any(n.family == "saturating" for n in network):
            return  # most networks: nothing to look for, no walk from every layer
        saturated: list[tuple[Node, Node]] = []
        # An activation on one side of an undecided `if` may not run at all.
        either = alternatives(network)
        for node in network:
            if not node.weighted:
                continue
            nexts = following(network, node, lambda n: n.family in _BETWEEN)
            acts = [n for n in nexts if n.family in ACTIVATION_FAMILIES]
            hidden = [a for a in acts if a.family == "saturating" and not is_gate(network, a)
                      and not steers_only(network, a) and not _read_unknown(network, a)
                      and a.id in weighted_downstream(network) and not either >> a.id & 1
                      and not _normalised_tanh(network, a)]
            if hidden:
                saturated.append((node, hidden[0]))
        if len(saturated) < self.options.min_layers:
            return
        # In series: the most such activations one way through the network passes (through a
        # gate, the gated data's way). Side outputs read side by side are not a deep stack.
        layer_of = {a.id: w for w, a in saturated}
        run = _in_series(network, layer_of)
        # A layer applied in several undecided branches is still one layer.
        distinct = {(layer_of[a.id].name, layer_of[a.id].loc): (layer_of[a.id], a) for a in run}
        saturated = list(distinct.values())
        if len(saturated) >= self.options.min_layers:
            kinds = sorted({a.kind for _, a in saturated})
            yield self.finding(
                f"{len(saturated)} weighted layers use {'/'.join(kinds)} as hidden "
                f"activation, from {saturated[0][0].describe()} to "
                f"{saturated[-1][0].describe()}",
                model.loc, symbol=model.name)

    valid = [
        # Each block's sigmoid selection scales its own features and is also returned: a
        # factor of a product, not in series with what it scales.
        """
import torch
import torch.nn as nn

class Select(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.pick = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1), nn.Sigmoid())
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x):
        s = self.pick(x)
        return torch.relu(x + self.body(x) * s), s

class Factorised(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Select(16) for _ in range(6)])
        self.mix = nn.Conv2d(6 * 16, 10, 1)

    def forward(self, x):
        picks = []
        for block in self.blocks:
            x, s = block(x)
            picks.append(s)
        return self.mix(torch.cat(picks, 1)).flatten(1)
""",
        # Each block's sigmoid summary, read side by side by one layer: one per way through.
        """
import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.summary = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, 4, 1), nn.Sigmoid())

    def forward(self, x):
        s = self.summary(x)
        return torch.relu(x + self.body(x)), s

class Summaries(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.ModuleList([Block(16) for _ in range(5)])
        self.mix = nn.Conv2d(5 * 4, 10, 1)

    def forward(self, x):
        x = self.stem(x)
        picks = []
        for block in self.blocks:
            x, s = block(x)
            picks.append(s)
        return self.mix(torch.cat(picks, 1)).flatten(1)
""",
        # Sigmoid masks handed to a compiled kernel the reader cannot follow (a modulated
        # deformable convolution): what they are to it is not known.
        """
import torch
import torch.nn as nn
from torch.autograd import Function
import deform_ext

class ModulatedDeform(Function):
    @staticmethod
    def forward(ctx, x, offset, mask, weight):
        return deform_ext.forward(x, offset, mask, weight)

modulated_deform_conv = ModulatedDeform.apply

class Align(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.offsets = nn.ModuleList([nn.Conv2d(c, 27, 3, padding=1) for _ in range(6)])
        self.weight = nn.Parameter(torch.zeros(c, c, 3, 3))

    def forward(self, x):
        for predict in self.offsets:
            dx, dy, mask = torch.chunk(predict(x), 3, dim=1)
            x = modulated_deform_conv(x, torch.cat((dx, dy), 1), torch.sigmoid(mask),
                                      self.weight)
        return x
""",
        # A sigmoid on the output only.
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU())
                                    for _ in range(6)])
        self.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(1), nn.Sigmoid())

    def forward(self, x):
        return self.head(self.body(x))
""",
        # Three tanh layers: under the threshold.
        """
import torch
import torch.nn as nn

class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(16, 16) for _ in range(4)])

    def forward(self, x):
        for fc in self.fcs[:3]:
            x = torch.tanh(fc(x))
        return self.fcs[3](x)
""",
        # Squeeze-excitation gates use a sigmoid as a gate, not as the layer's activation.
        """
import torch.nn as nn

class SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // 4, 1)
        self.fc2 = nn.Conv2d(c // 4, c, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.fc2(self.fc1(s).relu()).sigmoid()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), SE(32))
                                      for _ in range(5)])

    def forward(self, x):
        return self.blocks(x)
""",
        # The activation depends on a setting the reader cannot decide: tanh may not run.
        """
import os
import torch.nn as nn

ACT = os.environ.get("ACT", "relu")

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(6)])
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
            x = x.tanh() if ACT == "tanh" else x.relu()
        return self.head(x)
""",
    ]
    invalid = [
        """
import torch.nn as nn

class SigmoidNet(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(5):
            layers += [nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.Sigmoid()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return self.fc(x)
""",
        """
import torch
import torch.nn as nn

class TanhMLP(nn.Module):  # flagged
    def __init__(self):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(64, 64) for _ in range(5)])

    def forward(self, x):
        for fc in self.fcs[:-1]:
            x = torch.tanh(fc(x))
        return self.fcs[-1](x)
""",
        """
import torch.nn as nn
import torch.nn.functional as F

def lenet_classic():  # flagged
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(256, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
""",
    ]
