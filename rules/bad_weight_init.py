from __future__ import annotations

from typing import Iterable

from cnnlint.catalogue import ACTIVATION_FAMILIES, is_weighted
from cnnlint import ir
from cnnlint.findings import Finding
from cnnlint.graph import ancestors, following, steers_only
from cnnlint.ir import Model, ProjectFacts, WeightInit
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_std: float = 1e-3
    min_relu_bias: float = -0.1


def _layers(init: WeightInit, present: set[str]) -> list[str]:
    """The conv/linear kinds of the model (`present`) an initialisation touches (all of
    them, when the code initialises every module)."""
    if init.layer_kinds:
        # An init helper's `isinstance(m, nn.Linear)` branch says nothing of a model
        # without Linear layers.
        return [k for k in init.layer_kinds if is_weighted(k) and k in present]
    return sorted(present)


def _targets(init: WeightInit, model: Model, kinds: list[str],
             at_loc: dict[object, list[ir.Node]]) -> list[ir.Node]:
    """The layers an initialisation sets: the one it names (`at_loc`: the weighted layers
    by where they are defined), else every layer of its kinds."""
    if init.layer_loc is not None:
        built_there = at_loc.get(init.layer_loc, [])
        # Of the layers that line builds, the one at its path (in each block that holds it).
        named = [n for n in built_there if init.layer_path and (
            n.name == init.layer_path or n.name.endswith(f".{init.layer_path}"))]
        return named or built_there
    return [n for n in model.network if n.weighted and not n.functional and n.kind in kinds]


def _feeds_constant_layer(targets: list[ir.Node], constant: set[int], model: Model) -> bool:
    """Whether a layer with constant weights feeds another one (through norms, pooling,
    activations): then the units of both keep the same values and the same gradients, and
    never become different. A constant layer whose outputs meet distinct weights next (a
    zero-initialised head, a spatial transformer's regressor, the last layer of a residual
    branch) gets a gradient of its own for each unit, and so does one whose outputs scale or
    shift other data first (adaLN-Zero's `norm(x) * (1 + scale) + shift`: each unit meets
    channels of its own). Past a call the reader does not know, what follows is not known;
    past a concatenation, a later split may keep only the other parts (Glow's coupling:
    `cat([a, b + f(a)])`, then `chunk(2)[0]` is `a`)."""
    masks = ancestors(model.network)
    mixes = (ir.ADD, ir.MUL)
    for n in targets:
        # Data from elsewhere: computed neither before the layer nor from its output. A sum
        # or product taking some in ends the walk there.
        own = masks[n.id] | 1 << n.id
        for m in model.network.nodes[n.id + 1:]:
            if masks[m.id] >> n.id & 1:
                own |= 1 << m.id

        def unmixed(m: ir.Node, own: int = own) -> bool:
            return _reaches_unchanged(m) and not (m.kind in mixes and any(
                (masks[j] | 1 << j) & ~own for j in m.inputs))
        if any(m.id in constant for m in following(model.network, n, unmixed) if m.weighted):
            return True
    return False


def _judged_here(init: WeightInit, model: Model, kinds: list[str],
                 at_loc: dict[object, list[ir.Node]]) -> bool:
    """Whether a small random initialisation is judged on this model: it sets layers of
    the model's graph (a layer it names that the graph lacks is judged on the model that
    holds it, when one does), and not only layers that predict where something samples (a
    deformable convolution's offsets, a grid for `grid_sample`: starting near zero starts
    the sampling at the identity, and their gradient does not shrink with their weights)."""
    targets = _targets(init, model, kinds, at_loc)
    if not targets:
        return init.layer_loc is None
    return not all(steers_only(model.network, n) for n in targets)


def _reaches_unchanged(node: ir.Node) -> bool:
    return _passes_on(node) and node.kind != ir.CAT


def _feeds_relu(targets: list[ir.Node], model: Model) -> bool:
    """Whether a layer's output reaches a ReLU with its bias intact: through pooling,
    dropout and reshapes, not through a normalisation (which removes a constant shift), an
    activation or another layer. A classifier's prior bias (a focal loss's -4.6 on the
    logits) reaches none."""
    return any(m.family == "relu" for n in targets
               for m in following(model.network, n, _keeps_bias))


def _keeps_bias(node: ir.Node) -> bool:
    return _passes_on(node) and not node.is_norm and node.family not in ACTIVATION_FAMILIES


def _passes_on(node: ir.Node) -> bool:
    """A node the walk to the next layer goes through: neither a layer nor a call the
    reader does not know."""
    return not node.weighted and node.kind != ir.UNKNOWN


class BadWeightInit(Rule):
    """Weights initialised to a constant or a tiny scale, or biases that kill ReLU units.

    ## What it flags
    On conv and linear layers: weights set to a constant or zeros (`nn.init.constant_`,
    `zeros_`, `weight.data.fill_`), weights drawn with `normal_`, `uniform_` or
    `trunc_normal_` at a scale (std or bound) below `min-std` (default 1e-3), and biases set
    to a constant below `min-relu-bias` (default -0.1) on layers whose output reaches a
    ReLU-family activation with the shift intact (not through a normalisation); a focal
    loss's prior bias on a classifier's logits reaches none. Constant weights are flagged
    where such a layer feeds another one with constant weights (through norms, pooling and
    activations): a constant layer whose outputs meet distinct weights next is a known
    good choice (a zero-initialised head, a spatial transformer's affine regressor, the
    last layer of a residual branch, adaLN-Zero's projection giving the scale and shift of
    normalised features). A tiny scale is not flagged on a layer whose output
    only sets where something samples (a deformable convolution's offsets, the grid of
    `grid_sample`): it starts the sampling at the identity, on purpose.
    Direct calls, `for m in self.modules(): if isinstance(m, nn.Conv2d): ...` and
    `self.apply(init_fn)` are all read. DCGAN's N(0, 0.02) is fine.

    ## Why it matters
    Constant weights in two layers in a row make every unit of them compute the same thing
    and receive the same gradient, so they never become different (the symmetry is never
    broken). A tiny scale shrinks activations and gradients layer by layer: training starts
    with vanishing gradients and the loss plateaus. A strongly negative bias before a
    ReLU makes units output zero for every input from the first step: they are dead before
    training starts.

    ## Example
    ```python
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 1e-4)
    ```

    ## Instead
    ```python
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    ```
    """

    code = "CNN108"
    name = "bad-weight-init"
    severity = "warning"
    summary = "Weights initialised to a constant or tiny scale, or ReLU biases far below zero"
    fix = "Use kaiming_normal_ (ReLU) or xavier_uniform_ (tanh) for weights and zeros for biases"
    Options = Options

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        relu_net = any(n.family == "relu" for n in model.network)
        # Each pass over the network once per model, not once per initialisation: a zoo's
        # model initialises hundreds of layers one by one.
        present = {n.kind for n in model.network if n.weighted and not n.functional}
        at_loc: dict[object, list[ir.Node]] = {}
        for n in model.network:
            if n.weighted:
                at_loc.setdefault(n.loc, []).append(n)
        kinds = {id(init): _layers(init, present) for init in model.inits}
        targets = {id(init): _targets(init, model, kinds[id(init)], at_loc)
                   for init in model.inits if init.method == "constant"}
        constant = {n.id for init in model.inits if init.target == "weight"
                    and id(init) in targets for n in targets[id(init)]}
        for init in model.inits:
            layers = kinds[id(init)]
            if not layers or init.loc is None or init.value is None:
                continue
            if init.target == "weight" and id(init) in targets \
                    and not _feeds_constant_layer(targets[id(init)], constant, model):
                continue  # zero-initialised heads (spatial transformers, zero-init residuals)
            what = "/".join(f"`{k}`" for k in layers[:3])
            symbol = init.scope or model.name
            if init.target == "weight" and init.method == "constant":
                yield self.finding(f"{what} weights are initialised to the constant "
                                   f"{init.value:g}: every unit stays identical",
                                   init.loc, symbol=symbol)
            elif init.target == "weight" and init.value < self.options.min_std \
                    and _judged_here(init, model, layers, at_loc):
                yield self.finding(f"{what} weights are drawn by `{init.method}_` at scale "
                                   f"{init.value:g} (< {self.options.min_std:g}): gradients "
                                   "vanish from the first step", init.loc, symbol=symbol)
            elif init.target == "bias" and init.method == "constant" and relu_net \
                    and init.value < self.options.min_relu_bias \
                    and _feeds_relu(targets[id(init)], model):
                yield self.finding(f"{what} biases start at {init.value:g} before ReLU: "
                                   "units are dead from the start", init.loc, symbol=symbol)

    valid = [
        # adaLN-Zero: a zero-initialised projection gives the scale and shift of the
        # normalised features a zero-initialised output conv reads; each of its units meets
        # channels of its own, so they do not stay identical.
        """
import torch.nn as nn
import torch.nn.functional as F

class Head(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.mod = nn.Linear(8, 2 * width)
        self.proj = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.proj.weight)

    def forward(self, x, cond):
        shift, scale = self.mod(cond).chunk(2, dim=1)
        h = F.group_norm(self.stem(x), 1)
        return self.proj(h * (1 + scale[:, :, None, None]) + shift[:, :, None, None])
""",
        # A constant 1 for the norm layers only, picked by their class name, or by their
        # name in the model (which modules that is, is not known: nothing is judged).
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 2)

        def init_norms(m):
            if m.__class__.__name__.find("InstanceNorm2d") != -1:
                nn.init.constant_(m.weight, 1.0)
        self.apply(init_norms)
        for name, m in self.named_modules():
            if "bn" in name:
                nn.init.constant_(m.weight, 1)

    def forward(self, x):
        return self.fc(self.bn(self.norm(self.conv(x))).mean((2, 3)))
""",
        # torchvision's ResNet initialisation.
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 7, bias=False)
        self.bn = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).relu().mean((2, 3)))
""",
        # DCGAN's weights_init through apply: N(0, 0.02) is a sound scale.
        """
import torch.nn as nn

def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)

class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU(True))
        self.apply(weights_init)

    def forward(self, x):
        return self.main(x)
""",
        # A small positive ReLU bias is a known trick, not a problem.
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.fc.bias.data.fill_(0.01)
        nn.init.xavier_uniform_(self.fc.weight)
        self.theta = nn.Linear(16, 6)
        self.theta.weight.data.zero_()  # a spatial transformer starts at the identity

    def forward(self, x):
        return self.theta(self.fc(x).relu())
""",
        # A shared init helper run on a Sequential: each branch applies to its own kind
        # (the norm's weight set to 1, not the conv's), and its Linear branch to no layer
        # of this model.
        """
import torch.nn as nn

def initialise(net):
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1.0)
        elif isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, 1e-4)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.head = nn.Conv2d(8, 2, 1)
        initialise(self.stem)
        initialise(self)

    def forward(self, x):
        return self.head(self.stem(x))
""",
        # A spatial transformer inside a bigger network: its zeroed regressor feeds the
        # sampling grid (calls not read as layers), not the layers that follow.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Linear(8, 32), nn.ReLU())
        self.theta = nn.Linear(32, 6)
        self.theta.weight.data.zero_()
        self.body = nn.Conv2d(1, 8, 3)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        grid = F.affine_grid(self.theta(self.loc(x)).view(-1, 2, 3), x.size())
        x = F.grid_sample(x, grid)
        return self.head(self.body(x).mean((2, 3)))
""",
        # The last layer of a residual branch starts at zero (the block starts as the
        # identity): the layers after it have weights of their own.
        """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)

    def forward(self, x):
        return x + self.conv2(self.conv1(x).relu())

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.blocks(x).mean((2, 3)))
""",
        # A flow's coupling ends in a zero conv that updates half the channels; the half a
        # zero-initialised prior reads next is the other one.
        """
import torch
import torch.nn as nn

class Zero(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        nn.init.zeros_(self.conv.weight)

    def forward(self, x):
        return self.conv(x)

class Step(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, 32, 3, padding=1), nn.ReLU(),
                                 Zero(32, c // 2))
        self.prior = Zero(c // 2, c)

    def forward(self, x):
        a, b = x.chunk(2, 1)
        x = torch.cat([a, b + self.net(a)], 1)
        kept, _ = x.chunk(2, 1)
        return x, self.prior(kept)
""",
        # A detection head's classifier starts at the focal loss's prior (sigmoid = 0.01):
        # its logits go to the loss, never through a ReLU.
        """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self, channels=32, classes=4):
        super().__init__()
        self.tower = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
        self.logits = nn.Conv2d(channels, classes, 3, padding=1)
        nn.init.constant_(self.logits.bias, -4.595)  # -log(99)

    def forward(self, x):
        return self.logits(self.tower(x))
""",
    ]
    invalid = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)
        self.fc = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, mean=0.0, std=1e-4)  # flagged
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.weight, 0.0)  # flagged

    def forward(self, x):
        return self.fc(self.conv(x).relu().mean((2, 3)))
""",
        """
import torch.nn as nn

def init_weights(m):
    if type(m) == nn.Linear or isinstance(m, nn.Linear):
        m.weight.data.fill_(0.5)  # flagged

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
        self.apply(init_weights)

    def forward(self, x):
        return self.layers(x)
""",
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 32)
        nn.init.constant_(self.fc1.bias, -1.0)  # flagged
        self.fc2 = nn.Linear(32, 10)
        self.fc2.weight.data.uniform_(-1e-5, 1e-5)  # flagged

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
""",
        """
import torch.nn as nn

def init_convs(m):
    if m.__class__.__name__.find("Conv") != -1:
        nn.init.constant_(m.weight, 1.0)  # flagged

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.conv2 = nn.Conv2d(8, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.apply(init_convs)

    def forward(self, x):
        return self.bn(self.conv2(self.conv1(x).relu()))
""",
    ]
