from __future__ import annotations

import re
from typing import Iterable

import libcst as cst

from cnnlint import catalogue
from cnnlint.findings import Finding, Loc
from cnnlint.graph import pair_names
from cnnlint.fix import Edit, Fix, FixContext, SourceFile, append_keyword, enclosing, is_name, \
    keyword, last_name, plain_args, positional
from cnnlint.ir import Model, Network, Node, ProjectFacts
from cnnlint.rule import Rule


class ConvBiasBeforeBatchNorm(Rule):
    """A convolution with its bias left on feeds straight into BatchNorm or InstanceNorm.

    ## What it flags
    A `Conv*d` whose `bias` is on (torch's default) and whose output goes only into a
    `BatchNorm*d` or `InstanceNorm*d`. One whose output the model also returns (heatmaps
    kept for intermediate supervision) is not flagged: there the bias counts.

    ## Why it matters
    Batch and instance normalisation subtract the per-channel mean, so a constant added per
    channel just before them is cancelled exactly: the bias parameters get gradients, take
    optimizer steps and weight decay, use memory, and change nothing. A learned shift
    after the normalisation (BatchNorm's `beta`; InstanceNorm's only with `affine=True`)
    is the one that counts. It is the most common redundant parameter in CNN
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
    fix = "Pass `bias=False` to the convolution; the norm's mean subtraction cancels it"

    fix_safety = "safe"
    fix_note = (
        "Adds `bias=False` to the convolution's call (or turns `bias=True` into "
        "`bias=False`). Safe: the norm layer subtracts the per-channel mean, so the bias "
        "never changed the output, and the model trains and predicts as before. Offered only "
        "when every layer that call builds, in every model the run read, feeds only a norm "
        "layer, every one of those models was read in full (one read in part may apply "
        "other layers of the call where the reader lost track), and the call is the layer's "
        "class with the bias not given positionally; in a "
        "module-level helper function (which other files may use for other layers) only when "
        "the norm layer is written right after the call, in the same list or "
        "`nn.Sequential(...)`. Not offered when code the run read uses some module's bias "
        "as a tensor without testing that it has one (`m.bias.data.zero_()` in an init "
        "function a script applies to every conv, `self.enc[0].bias.data = src.bias.data` "
        "copying weights in by hand; one under a test for another kind, "
        "`isinstance(m, nn.BatchNorm2d)`, is fine): it would fail on the fixed conv; nor "
        "when it loads saved weights strictly (`net.load_state_dict(torch.load(path))`): a "
        "checkpoint saved with the bias would no longer load. A checkpoint saved before the "
        "fix that code the run did not read loads does not load into the fixed model as is "
        "either (an unexpected `bias` key, and BatchNorm's running mean includes the bias): "
        "retrain, or subtract the bias from the running mean when converting it.")

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        network = model.network
        # One finding per call that builds them: a call in a loop or a helper builds many
        # (`make_features` builds every conv of a VGG), and the fix to it fixes them all.
        by_call: dict[Loc, list[tuple[Node, Node]]] = {}
        for node in network.nodes:
            if node.functional or node.loc is None:
                continue
            norm = _cancelling_norm(node, network)
            if norm is not None:
                by_call.setdefault(node.loc, []).append((node, norm))
        for loc, pairs in by_call.items():
            node, norm = pairs[0]
            # How many is not said: a helper's call builds more layers in a larger model
            # than in this one, and a layer applied twice is one.
            conv_name, norm_name, several = pair_names(network, pairs)
            more = ", and so do other layers this call builds" if several else ""
            # A layer held only in a plain list attribute has no path in the model.
            where = f" (`{conv_name}` feeds `{norm_name}`{more})" if conv_name and norm_name \
                else f" ({more[2:]})" if more else ""
            yield self.finding(
                f"`{node.kind}` bias is redundant before `{norm.kind}`{where}",
                loc, symbol=node.owner or model.name)

    def autofix(self, finding: Finding, context: FixContext) -> Fix | None:
        found = context.call_at(finding)
        layers = context.nodes_at(finding)
        if found is None or not layers:
            return None
        if any(node.functional or _cancelling_norm(node, network) is None
               for node, network in layers):
            return None  # the call also builds a conv whose bias matters
        if any(not network.complete for _, network in layers):
            # A model read in part may apply other convs the call builds where the reader
            # lost track (blocks picked by an index not known): their bias may count.
            return None
        if _bias_initialised(layers, context.models) or _uses_a_bias_unchecked(context):
            return None  # `m.bias.data.fill_(...)` would fail on a conv with no bias
        if _loads_weights_strictly(context):
            return None  # a checkpoint saved with the bias would no longer load
        if not all(_norm_always_built(context, _cancelling_norm(node, network), node)
                   for node, network in layers):
            return None  # another configuration of the class may leave the norm out
        kinds = {node.kind for node, _ in layers}
        source, call = found
        kind = kinds.pop()
        if kinds or last_name(call) != kind or not plain_args(call):
            return None  # not plainly a call of the layer's class (a helper, an alias)
        function = enclosing(source, call, cst.FunctionDef)
        if function is not None and enclosing(source, function, cst.ClassDef) is None \
                and not _norm_follows(source, call):
            # A module-level helper may build convolutions for models this run did not
            # read (other files import it): only a norm written right after the call
            # shows that every conv it builds is normalised.
            return None
        given = keyword(call, "bias")
        if given is not None:
            if not is_name(given.value, "True"):
                return None  # a variable or expression: fixing it may change other layers
            new = call.with_changes(args=[
                arg.with_changes(value=cst.Name("False")) if arg is given else arg
                for arg in call.args])
        else:
            signature = catalogue.SIGNATURES.get(kind, ())
            if "bias" not in signature or len(positional(call)) > signature.index("bias"):
                return None
            new = append_keyword(call, "bias", cst.Name("False"))
        return Fix(edits=(Edit(source.path, call, new),))

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
        # The model also returns the conv's output (stacked hourglasses supervise each
        # stage's heatmaps): its bias matters there.
        """
import torch
import torch.nn as nn

class Stacked(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.head = nn.Conv2d(8, 4, 1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        heatmaps = [self.head(self.stem(x))]
        heatmaps.append(self.bn(torch.cat(heatmaps, dim=1)))
        return heatmaps
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
        # Channels moved last: the norm's "channel" axis is the height, not the conv's
        # channels, so the per-channel bias is not cancelled.
        """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.InstanceNorm2d(dim)

    def forward(self, x):
        x = self.dwconv(x).permute(0, 2, 3, 1)
        return self.norm(x)
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
        # Swapping the two spatial axes leaves the channels where the norm expects them.
        """
import torch
from torch import nn

class Rotated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # flagged
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(torch.transpose(self.conv(x), 2, 3))
""",
    ]

    fixed = [
        (invalid[0], """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)  # flagged
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.conv(x))
"""),
        ("""
from torch import nn

class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, bias=True),  # flagged
            nn.InstanceNorm2d(32),
        )

    def forward(self, x):
        return self.body(x)
""", """
from torch import nn

class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, bias=False),  # flagged
            nn.InstanceNorm2d(32),
        )

    def forward(self, x):
        return self.body(x)
"""),
        ("""
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(  # flagged
            64,
            64,
            3,
        )
        self.bn = nn.BatchNorm2d(64)

    def forward(self, x):
        return self.bn(self.conv(x))
""", """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(  # flagged
            64,
            64,
            3,
            bias=False,
        )
        self.bn = nn.BatchNorm2d(64)

    def forward(self, x):
        return self.bn(self.conv(x))
"""),
        ("""
import torch.nn as nn

def conv_bn(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3), nn.BatchNorm2d(o), nn.ReLU())  # flagged

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16)
        self.body = conv_bn(16, 32)

    def forward(self, x):
        return self.body(self.stem(x))
""", """
import torch.nn as nn

def conv_bn(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, bias=False), nn.BatchNorm2d(o), nn.ReLU())  # flagged

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16)
        self.body = conv_bn(16, 32)

    def forward(self, x):
        return self.body(self.stem(x))
"""),
    ]


def _norm_follows(source: SourceFile, call: cst.Call) -> bool:
    """The call is an element of a list, tuple or call (`nn.Sequential`) whose next element
    builds a BatchNorm or InstanceNorm layer."""
    element = source.parent(call)
    holder = source.parent(element) if element is not None else None
    if isinstance(element, cst.Arg) and isinstance(holder, cst.Call):
        siblings: list[cst.CSTNode] = list(holder.args)
    elif isinstance(element, cst.Element) and isinstance(holder, (cst.List, cst.Tuple)):
        siblings = list(holder.elements)
    else:
        return False
    at = next(i for i, node in enumerate(siblings) if node is element)
    following = getattr(siblings[at + 1], "value", None) if at + 1 < len(siblings) else None
    return isinstance(following, cst.Call) and catalogue.family(last_name(following)) in (
        "batchnorm", "instancenorm")


def _norm_always_built(context: FixContext, norm: Node | None, conv: Node) -> bool:
    """Whether the norm layer is built by a plain call of its class, whenever the conv is:
    no condition guards it that does not guard the conv too. `norm_layer(c)` (the kind an
    argument), or a call under `if use_bn:` or in `... if bn else ...`, means that other
    arguments build the same conv with no norm after it, and there its bias matters. An
    `if` around both (`else: layers += [conv, norm, relu]`) builds them together."""
    if norm is None or norm.loc is None:
        return False
    found = context.call_at(norm.loc)
    if found is None:
        return False
    source, call = found
    if last_name(call) != norm.kind:
        return False
    built = context.call_at(conv.loc) if conv.loc is not None else None
    shared = {id(a) for a in source.ancestors(built[1])} \
        if built is not None and built[0] is source else set()
    for ancestor in source.ancestors(call):
        if id(ancestor) in shared:
            return True  # what guards the code from here on guards the conv as well
        if isinstance(ancestor, (cst.If, cst.IfExp)):
            return False
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Module)):
            return True
    return True


def _bias_initialised(layers: list[tuple[Node, Network]], models: list[Model]) -> bool:
    """Whether the code of a model holding these layers writes a bias that may be theirs
    (an init loop's `m.bias.data.fill_(0.01)` for every Conv2d, or one aimed at the layer)."""
    networks = {id(network) for _, network in layers}
    for model in models:
        if id(model.network) not in networks:
            continue
        for init in model.inits:
            if init.target != "bias":
                continue
            for node, _ in layers:
                if (not init.layer_kinds or node.kind in init.layer_kinds) and (
                        init.layer_loc is None or init.layer_loc == node.loc):
                    return True
    return False


# Uses of some module's bias as a tensor, which fail on a layer without one: in-place writes
# (`m.bias.data.zero_()`, `init.constant_(m.bias, 0)`), and reads or sets of its attributes
# (`self.enc[0].bias.data = src.bias.data`, `assert m.bias.size() == ...`); and the tests
# that make them safe (`if m.bias is not None:`).
_BIAS_USE = re.compile(r"\.bias\.[A-Za-z_]|init\.\w+_\(\s*[\w.\[\]'\"]+\.bias\b")
_BIAS_CHECK = re.compile(r"bias\s+is\s+not\s+None|\bif\s+[\w.\[\]]+\.bias\b|['\"]bias['\"]")


def _uses_a_bias_unchecked(context: FixContext) -> bool:
    """Whether code the run read uses a module's bias as a tensor with no test that it has
    one (an init function applied to every conv, in a training script): after the fix that
    use would fail on the conv. Read from the text, so that a loop the models' reading did
    not see (`net.apply(init_fn)` in a script) counts too."""
    found = context.memo.get("CNN101 bias written")
    if found is None:
        found = context.memo["CNN101 bias written"] = any(
            _BIAS_USE.search(line) and _may_reach_a_conv(lines[max(0, number - 3):number + 1])
            for lines in context.analysed.values() for number, line in enumerate(lines))
    return bool(found)


_STRICT_LOAD = re.compile(r"\.load_state_dict\((?![^#]*strict\s*=\s*False)")


def _loads_weights_strictly(context: FixContext) -> bool:
    """Whether code the run read loads saved weights into a module strictly
    (`net.load_state_dict(torch.load(path))`): a checkpoint saved with the conv's bias would
    not load into the fixed model (an unexpected `bias` key)."""
    found = context.memo.get("CNN101 weights loaded")
    if found is None:
        found = context.memo["CNN101 weights loaded"] = any(
            _STRICT_LOAD.search(line) for lines in context.analysed.values() for line in lines)
    return bool(found)


def _may_reach_a_conv(window: list[str]) -> bool:
    """Whether a use of a bias (the window's last line, after the lines before it) may reach
    a conv with no bias: it tests for none first, or sits under a type test of another kind
    (`elif isinstance(m, nn.BatchNorm2d):`), and it cannot."""
    if any(_BIAS_CHECK.search(line) for line in window):
        return False
    tests = [line for line in reversed(window) if "isinstance(" in line or "type(" in line]
    return not tests or "Conv" in tests[0]


def _cancelling_norm(node: Node, network: Network) -> Node | None:
    """The norm layer that cancels `node`'s bias: a conv layer with its bias on whose output
    goes only into BatchNorm or InstanceNorm layers. One whose output the model also returns
    (a stacked hourglass's per-stage heatmaps, kept for intermediate supervision) needs its
    bias there."""
    if node.family != "conv" or node.arg("bias") is not True or node.id in network.outputs:
        return None
    following = [network.nodes[i] for i in network.consumers()[node.id]]
    if following and all(n.family in ("batchnorm", "instancenorm") for n in following):
        return following[0]
    return None
