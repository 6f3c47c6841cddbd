from __future__ import annotations

from typing import Iterable

import libcst as cst

from cnnlint.findings import Finding
from cnnlint.fix import Edit, Fix, FixContext, SourceFile, callee, enclosing, last_name, \
    plain_args, positional, span_of, unwrap_call
from cnnlint.ir import ProjectFacts
from cnnlint.rule import Rule

# How the softmax function is spelled when called as a function (else `x.softmax(...)`).
_FUNCTIONS = ("softmax", "F.softmax", "torch.softmax", "nn.functional.softmax",
              "torch.nn.functional.softmax", "functional.softmax", "special.softmax",
              "torch.special.softmax")


class SoftmaxBeforeCrossEntropy(Rule):
    """Probabilities or log-probabilities are fed to CrossEntropyLoss.

    ## What it flags
    `nn.CrossEntropyLoss` or `F.cross_entropy` called on the output of `softmax` or
    `log_softmax` (`F.softmax`, `torch.softmax`, `x.softmax()`, `nn.Softmax`,
    `nn.LogSoftmax`), in the training loop or as the last operation of the model's
    `forward`, also when the model and the script are in different files, and as the last
    layer of the head a script puts on a torchvision classifier (`model.fc =
    nn.Sequential(nn.Linear(512, 5), nn.Softmax(dim=1))`). Also `nn.NLLLoss` or
    `F.nll_loss` called on the output of `softmax` (not `log_softmax`).

    ## Why it matters
    `CrossEntropyLoss` expects raw logits: it applies `log_softmax` itself. Fed
    probabilities, it takes a softmax of a softmax: the outputs are squashed into a narrow
    range, the gradients shrink, and training stalls at a high loss.
    Fed log-probabilities (`log_softmax`), it computes the loss `NLLLoss` would: a
    log-softmax leaves log-probabilities as they are. That is harmless, so it is reported
    at info level: the matching loss is `NLLLoss`, and the extra log-softmax is wasted;
    not at all when the loss smooths its labels (`label_smoothing=0.1`), which `NLLLoss`
    cannot. `NLLLoss` takes the log-probability of the right class as its input's entry:
    fed probabilities, it minimises -p instead of -log p, and the gradient fades on exactly
    the examples the model gets most wrong (p near 0).

    ## Example
    ```python
    loss = criterion(F.softmax(model(x), dim=1), y)   # criterion = nn.CrossEntropyLoss()
    ```

    ## Instead
    ```python
    loss = criterion(model(x), y)                     # softmax only for predictions
    ```
    """

    code = "CNN210"
    name = "softmax-before-crossentropy"
    severity = "error"
    summary = "Softmax output fed to CrossEntropyLoss (a double softmax), or to NLLLoss"
    fix = "Feed raw logits to CrossEntropyLoss, or pair log_softmax with NLLLoss"

    fix_safety = "unsafe"
    fix_note = (
        "Drops the softmax the loss receives: an `nn.Softmax` that ends an "
        "`nn.Sequential(...)`, a `self.softmax = nn.Softmax(...)` layer called once, in "
        "`return self.softmax(x)` of `forward` (the unused attribute stays), or a "
        "`F.softmax(x)`, `torch.softmax(x)` or `x.softmax()` call written inside the loss "
        "call or as `forward`'s `return` value. The edit may be in the model's file, not the "
        "script's. Unsafe: the model then returns logits, and code that used its output as "
        "probabilities (thresholds, reports, exported models) must apply the softmax "
        "itself. No fix for `log_softmax` (pair it with `NLLLoss` instead), or when the "
        "softmax output has other uses or the loss sees more than one softmax.")

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            for loss in run.losses:
                if loss.kind not in ("CrossEntropyLoss", "NLLLoss") or not loss.fed_by \
                        or loss.loc is None:
                    continue
                where = ""
                if loss.fed_by_loc is not None:
                    where = f" (from {loss.fed_by_loc.path}:{loss.fed_by_loc.line})"
                related = [(loss.fed_by_loc, f"the `{loss.fed_by}` it receives")]
                if loss.kind == "NLLLoss":
                    if loss.fed_by == "Softmax":  # (log-probabilities are what it expects)
                        yield self.finding(
                            f"`NLLLoss` receives `Softmax` output{where}: it expects "
                            "log-probabilities; on probabilities it minimises -p instead of "
                            "-log p, whose gradient vanishes on the examples it gets most "
                            "wrong", loss.loc, symbol=loss.symbol, related=related,
                            hint="Use log_softmax before NLLLoss, or feed the logits to "
                                 "CrossEntropyLoss")
                    continue
                if loss.fed_by == "LogSoftmax":
                    if loss.smoothed:
                        continue  # harmless, and NLLLoss would drop the label smoothing
                    yield self.finding(
                        f"`{loss.kind}` receives `{loss.fed_by}` output{where}: harmless (a "
                        "log-softmax leaves log-probabilities as they are), but `NLLLoss` "
                        "is the loss that matches", loss.loc, symbol=loss.symbol,
                        severity="info", related=related)
                    continue
                yield self.finding(
                    f"`{loss.kind}` receives `{loss.fed_by}` output{where}: it applies "
                    "log-softmax itself", loss.loc, symbol=loss.symbol, related=related)

    def autofix(self, finding: Finding, context: FixContext) -> Fix | None:
        found = context.call_at(finding)
        if found is None:
            return None
        loss_call = found[1]
        feeders = {(loss.fed_by, loss.fed_by_loc)
                   for run in context.runs for loss in run.losses
                   if loss.loc is not None and loss.kind == "CrossEntropyLoss"
                   and (loss.loc.path, span_of(loss.loc)) == (finding.path, span_of(finding))}
        places = {(fed_by, where and (where.path, *span_of(where))) for fed_by, where in feeders}
        if len(places) != 1:
            return None  # one call site, several softmaxes (a loop over models): ambiguous
        fed_by, where = feeders.pop()
        if fed_by != "Softmax" or where is None:
            return None
        target = context.call_at(where)
        if target is None:
            return None
        source, softmax = target
        if last_name(softmax) == "Softmax":
            edits = _drop_layer(source, softmax)
        else:
            edits = _drop_function(source, softmax, loss_call)
        return Fix(edits=edits) if edits else None

    valid = [
        """
import torch
import torch.nn as nn

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
""",
        # Log-probabilities into a label-smoothing loss: harmless, and NLLLoss cannot smooth.
        """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax(dim=1))
smoothed = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for images, labels in loader:
    optimizer.zero_grad()
    loss = smoothed(net(images), labels)
    loss.backward()
    optimizer.step()
""",
        # log_softmax with NLLLoss is the matching pair.
        {"model.py": """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return F.log_softmax(self.fc(x), dim=1)
""", "train.py": """
import torch
import torch.nn.functional as F
from model import Net

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.nll_loss(model(x), y).backward()
    opt.step()
"""},
        # Softmax for the predictions only.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(8, 3)
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    logits = model(x)
    probs = F.softmax(logits, dim=1)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    opt.step()
""",
        # Log-probabilities into NLLLoss: the pair CrossEntropyLoss is made of.
        """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax(dim=1))
nll = nn.NLLLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for features, labels in torch.load("rows.pt"):
    optimizer.zero_grad()
    nll(net(features), labels).backward()
    optimizer.step()
""",
    ]
    invalid = [
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    loss = criterion(F.softmax(model(x), dim=1), y)  # flagged
    loss.backward()
    opt.step()
""",
        # The model ends in softmax in another file.
        {"model.py": """
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))
""", "train.py": """
import torch
import torch.nn as nn
from model import Classifier

def train(loader):
    model = Classifier()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)  # flagged
        loss.backward()
        optimizer.step()
"""},
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x).log_softmax(dim=1)

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()  # flagged
    opt.step()
""",
        # Probabilities into the negative log-likelihood, which wants their logarithm.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(6, 16, 5)
        self.out = nn.Linear(16, 4)

    def forward(self, x):
        return F.softmax(self.out(F.relu(self.conv(x)).mean(-1)), dim=1)

tagger = Tagger()
opt = torch.optim.Adam(tagger.parameters(), lr=1e-3)
for epoch in range(10):
    for x, y in torch.load("windows.pt"):
        opt.zero_grad()
        F.nll_loss(tagger(x), y).backward()  # flagged
        opt.step()
""",
    ]

    fixed = [
        (invalid[0], """
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(8, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)  # flagged
    loss.backward()
    opt.step()
"""),
        (invalid[1], {"model.py": """
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.fc(x)
""", "train.py": """
import torch
import torch.nn as nn
from model import Classifier

def train(loader):
    model = Classifier()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)  # flagged
        loss.backward()
        optimizer.step()
"""}),
        ("""
import torch
import torch.nn as nn

model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(784, 10),
    nn.Softmax(dim=1),
)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters())
for images, labels in loader:
    optimizer.zero_grad()
    criterion(model(images), labels).backward()  # flagged
    optimizer.step()
""", """
import torch
import torch.nn as nn

model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(784, 10),
)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters())
for images, labels in loader:
    optimizer.zero_grad()
    criterion(model(images), labels).backward()  # flagged
    optimizer.step()
"""),
        ("""
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return torch.softmax(self.fc(x), dim=1)

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()  # flagged
    opt.step()
""", """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x)

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()  # flagged
    opt.step()
"""),
    ]


def _drop_layer(source: SourceFile, layer: cst.Call) -> tuple[Edit, ...]:
    """Edits that remove an `nn.Softmax(...)` layer: the last element of a Sequential, or a
    `self.name = nn.Softmax(...)` layer that `forward` calls once, in its `return`."""
    arg = source.parent(layer)
    holder = source.parent(arg) if arg is not None else None
    if isinstance(arg, cst.Arg) and isinstance(holder, cst.Call):
        args = list(holder.args)
        if last_name(holder) != "Sequential" or not plain_args(holder) or arg.keyword \
                or len(args) < 2 or args[-1] is not arg:
            return ()
        before = args[-2]
        # The element before the softmax becomes the last: it takes the softmax's comma (a
        # trailing comma and the line break before `)`, or none) and keeps its own comment.
        comma = arg.comma
        if isinstance(comma, cst.Comma) and isinstance(before.comma, cst.Comma):
            mine, theirs = before.comma.whitespace_after, comma.whitespace_after
            if isinstance(mine, cst.ParenthesizedWhitespace) \
                    and isinstance(theirs, cst.ParenthesizedWhitespace):
                comma = comma.with_changes(
                    whitespace_after=theirs.with_changes(first_line=mine.first_line))
        return (Edit(source.path, before, before.with_changes(comma=comma)),
                Edit(source.path, arg, cst.RemovalSentinel.REMOVE))
    name = _self_attribute(source, layer)
    if name is None:
        return ()
    owner = enclosing(source, layer, cst.ClassDef)
    if owner is None:
        return ()
    uses = _Uses(name)
    owner.visit(uses)
    calls = [source.parent(use) for use in uses.found if use is not uses.assigned]
    if len(calls) != 1:
        return ()
    call = calls[0]
    if not isinstance(call, cst.Call) or len(call.args) != 1 or not positional(call):
        return ()
    if not _returned_from_forward(source, call, owner):
        return ()
    return (Edit(source.path, call, unwrap_call(call, call.args[0].value)),)


def _self_attribute(source: SourceFile, layer: cst.Call) -> str | None:
    """`name` when `layer` is the whole value of `self.name = ...`."""
    statement = source.parent(layer)
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
            and target.value.value == "self":
        return target.attr.value
    return None


class _Uses(cst.CSTVisitor):
    """Every `self.<name>` in a class; `assigned`: the one an assignment writes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[cst.Attribute] = []
        self.assigned: cst.Attribute | None = None

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if self._matches(node.target) and self.assigned is None:
            self.assigned = node.target  # type: ignore[assignment]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._matches(node):
            self.found.append(node)

    def _matches(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Attribute) and node.attr.value == self.name \
            and isinstance(node.value, cst.Name) and node.value.value == "self"


def _returned_from_forward(source: SourceFile, call: cst.Call,
                           owner: cst.CSTNode | None = None) -> bool:
    """`call` is the whole value of a `return` in a `forward` method (of `owner`)."""
    statement = source.parent(call)
    function = enclosing(source, call, cst.FunctionDef)
    if not isinstance(statement, cst.Return) or not isinstance(function, cst.FunctionDef):
        return False
    if function.name.value != "forward":
        return False
    return owner is None or enclosing(source, function, cst.ClassDef) is owner


def _drop_function(source: SourceFile, softmax: cst.Call, loss: cst.Call) -> tuple[Edit, ...]:
    """Edits that replace a softmax call by its input, when it is written inside the loss
    call or is what `forward` returns: there its output has no other use."""
    if not plain_args(softmax):
        return ()
    if callee(softmax) in _FUNCTIONS:
        given = positional(softmax)
        named = [a for a in softmax.args if a.keyword is not None and a.keyword.value == "input"]
        inner = given[0].value if given else named[0].value if named else None
    elif isinstance(softmax.func, cst.Attribute) and softmax.func.attr.value == "softmax":
        inner = softmax.func.value  # x.softmax(dim=1)
    else:
        return ()
    if inner is None:
        return ()
    arg = source.parent(softmax)
    in_loss = isinstance(arg, cst.Arg) and source.parent(arg) is loss
    if not (in_loss or _returned_from_forward(source, softmax)):
        return ()
    return (Edit(source.path, softmax, unwrap_call(softmax, inner)),)
