from __future__ import annotations

from typing import Iterable

import libcst as cst

from cnnlint import catalogue
from cnnlint.findings import Finding, Loc
from cnnlint.graph import pair_names
from cnnlint.fix import Edit, Fix, FixContext, last_name, plain_args
from cnnlint.ir import Model, Node, ProjectFacts
from cnnlint.rule import Rule


class DropoutBeforeBatchNorm(Rule):
    """Dropout sits right before a BatchNorm layer.

    ## What it flags
    A `Dropout` (module or `F.dropout`) with a known, non-zero rate whose output goes straight into
    a `BatchNorm*d`.

    ## Why it matters
    In training, dropout zeroes units and rescales the rest, which changes the variance of
    what BatchNorm sees; in evaluation dropout is off, so the variance differs. BatchNorm's
    running statistics were learned on the training variance and are wrong at test time: the
    "variance shift" of Li et al. (2019), a known cause of models that score well in training
    and worse on validation.

    ## Example
    ```python
    self.head = nn.Sequential(nn.Linear(512, 256), nn.Dropout(0.5), nn.BatchNorm1d(256))
    ```

    ## Instead
    ```python
    self.head = nn.Sequential(nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(),
                              nn.Dropout(0.5))
    ```
    """

    code = "CNN102"
    name = "dropout-before-batchnorm"
    severity = "warning"
    summary = "Dropout right before BatchNorm shifts the variance BN learns between train and eval"
    fix = "Move the dropout after the BatchNorm (after the block's last norm layer)"

    fix_safety = "unsafe"
    fix_note = (
        "Swaps the dropout with the BatchNorm right after it, when both are written as "
        "neighbouring layers of one `nn.Sequential(...)` call; a dropout anywhere else (an "
        "attribute, `F.dropout` in `forward`, an `OrderedDict`) gets no fix. Unsafe: the "
        "model computes something else (the BatchNorm now sees undropped activations), and "
        "the two layers trade places in the Sequential, so their parameter names change "
        "(`layers.2.weight` becomes `layers.1.weight`) and a saved checkpoint no longer "
        "loads as is.")

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        users = model.network.consumers()
        nodes = model.network.nodes
        # One finding per call that builds them (a loop's line builds a pair per pass), as
        # the fix to the call fixes them all.
        by_call: dict[Loc, list[tuple[Node, Node]]] = {}
        for node in nodes:
            if node.family != "dropout" or node.loc is None:
                continue
            rate = node.arg("p")
            if not isinstance(rate, (int, float)) or rate == 0:
                continue  # no dropout at all, or a rate the reader does not know
            following = [nodes[i] for i in users[node.id]]
            norms = [n for n in following if n.family == "batchnorm"]
            if norms:
                by_call.setdefault(node.loc, []).append((node, norms[0]))
        for loc, pairs in by_call.items():
            node, norm = pairs[0]
            dropout_name, norm_name, several = pair_names(model.network, pairs)
            more = ", and so do other layers this call builds" if several else ""
            yield self.finding(
                f"`{node.kind}` right before `{norm.kind}` "
                f"(`{dropout_name}` feeds `{norm_name}`{more}): BN's statistics differ "
                "between train and eval",
                loc, symbol=node.owner or model.name)

    def autofix(self, finding: Finding, context: FixContext) -> Fix | None:
        found = context.call_at(finding)
        if found is None:
            return None
        source, dropout = found
        arg = source.parent(dropout)
        sequential = source.parent(arg) if arg is not None else None
        if not (isinstance(arg, cst.Arg) and isinstance(sequential, cst.Call)
                and arg.keyword is None and last_name(sequential) == "Sequential"
                and plain_args(sequential)):
            return None
        args = list(sequential.args)
        at = next(i for i, a in enumerate(args) if a is arg)
        if at + 1 >= len(args):
            return None
        following = args[at + 1]
        norm = following.value
        if not (isinstance(norm, cst.Call)
                and catalogue.family(last_name(norm)) == "batchnorm"):
            return None
        # The layers trade places; the layout (commas, line breaks, indentation) stays, and
        # a comment at the end of a layer's line moves with the layer.
        first_comma, second_comma = _swap_comments(arg.comma, following.comma)
        first = arg.with_changes(value=norm, comma=first_comma)
        second = following.with_changes(value=dropout, comma=second_comma)
        return Fix(edits=(Edit(source.path, arg, first), Edit(source.path, following, second)))

    valid = [
        """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(512, 256)
        self.bn = nn.BatchNorm1d(256)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.bn(self.fc(x)))
""",
        # A zero rate is a no-op.
        """
from torch import nn

head = None

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 4), nn.Dropout(p=0.0), nn.BatchNorm1d(4))

    def forward(self, x):
        return self.layers(x)
""",
        # Dropout then a linear layer, then BatchNorm: not adjacent.
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        x = F.dropout(self.fc1(x), 0.3, training=self.training)
        return self.bn(self.fc2(x))
""",
    ]
    invalid = [
        """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(512, 256),
            nn.Dropout(0.5),  # flagged
            nn.BatchNorm1d(256),
        )

    def forward(self, x):
        return self.layers(x)
""",
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        x = self.conv(x)
        x = F.dropout(x, p=0.2, training=self.training)  # flagged
        return self.bn(x)
""",
        """
from collections import OrderedDict
from torch import nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout2d(0.25)  # flagged
        self.norm = nn.BatchNorm2d(64)

    def forward(self, x):
        x = self.drop(x)
        x = self.norm(x)
        return x
""",
    ]

    fixed = [
        (invalid[0], """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(512, 256),
            nn.BatchNorm1d(256),
            nn.Dropout(0.5),  # flagged
        )

    def forward(self, x):
        return self.layers(x)
"""),
        ("""
from torch import nn

def block(w):
    return nn.Sequential(nn.Conv2d(w, w, 3, bias=False), nn.Dropout2d(0.1), nn.BatchNorm2d(w))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = block(16)

    def forward(self, x):
        return self.body(x)
""", """
from torch import nn

def block(w):
    return nn.Sequential(nn.Conv2d(w, w, 3, bias=False), nn.BatchNorm2d(w), nn.Dropout2d(0.1))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = block(16)

    def forward(self, x):
        return self.body(x)
"""),
    ]


def _swap_comments(first: cst.Comma | cst.MaybeSentinel, second: cst.Comma | cst.MaybeSentinel
                   ) -> tuple[cst.Comma | cst.MaybeSentinel, cst.Comma | cst.MaybeSentinel]:
    """The two commas with the ends of their lines (spaces and a comment) exchanged, when
    both end a line; else as they are."""
    if not (isinstance(first, cst.Comma) and isinstance(second, cst.Comma)):
        return first, second
    one, two = first.whitespace_after, second.whitespace_after
    if not (isinstance(one, cst.ParenthesizedWhitespace)
            and isinstance(two, cst.ParenthesizedWhitespace)):
        return first, second
    return (first.with_changes(whitespace_after=one.with_changes(first_line=two.first_line)),
            second.with_changes(whitespace_after=two.with_changes(first_line=one.first_line)))
