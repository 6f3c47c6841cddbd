"""Messages say exactly what the code has."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import Result, lint
from cnnlint.rule import load_rules
from conftest import write_tree

RELU6 = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU6(inplace=True))
                                    for _ in range(6)])

    def forward(self, x):
        return self.body(x)
"""


def test_relu6_networks_are_not_called_plain_relu(lint_tree: Callable[..., Result]) -> None:
    (finding,) = lint_tree(RELU6, select=["CNN105"]).findings
    assert finding.message == "all 6 activations are plain ReLU6 (dying-ReLU risk)"
    (finding,) = lint_tree(RELU6.replace("nn.ReLU6(inplace=True))",
                                         "nn.ReLU6() if _ % 2 else nn.ReLU())"),
                           select=["CNN105"]).findings
    assert "plain ReLU or ReLU6" in finding.message


def test_activations_of_undecided_branches_are_not_counted_twice(
        lint_tree: Callable[..., Result]) -> None:
    """Both sides of an `if` the reader cannot decide are in the graph. Six ReLUs that
    always run, and one on each side of such an `if` after each: all are ReLU, but the count
    would add both sides, so none is given. Towards the threshold of six, a forward runs one
    side of each `if`: three ReLUs on each side of one `if` are three, not six."""
    source = """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode or "ab"[len(__name__) % 2:]
        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(6)])

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
            if self.mode.startswith("a"):
                x = F.relu(x)
            else:
                x = F.relu(x) + 1
        return x
"""
    (finding,) = lint_tree(source, select=["CNN105"]).findings
    assert finding.message == "all activations are plain ReLU (dying-ReLU risk)"
    sides_only = source.replace("            x = F.relu(conv(x))\n", "            x = conv(x)\n")
    (finding,) = lint_tree(sides_only, select=["CNN105"]).findings  # one per pass: six
    assert finding.message == "all activations are plain ReLU (dying-ReLU risk)"
    one_if = """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, stride=None):
        super().__init__()
        self.stride = stride or len(__name__) % 3
        self.a = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU()) for _ in range(3)])
        self.b = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU()) for _ in range(3)])

    def forward(self, x):
        if self.stride == 1:
            return self.a(x)
        return self.b(x)
"""
    assert lint_tree(one_if, select=["CNN105"]).findings == []


def test_a_call_that_builds_many_layers_says_how_many(
        lint_tree: Callable[..., Result]) -> None:
    """One call in a loop builds every conv: its one finding says so (the fix to the call
    fixes them all), not only the first pair; not how many, which differs between the
    models that share a helper."""
    source = RELU6.replace("nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU6(inplace=True))",
                           "nn.Sequential(nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8))")
    (finding,) = lint_tree(source, select=["CNN101"]).findings
    assert finding.message == ("`Conv2d` bias is redundant before `BatchNorm2d` (`body.0.0` "
                               "feeds `body.0.1`, and so do other layers this call builds)")


RECURRENT = """
import torch.nn as nn

class Recurrent(nn.Module):
    def __init__(self, ch, t=3):
        super().__init__()
        self.t = t
        self.conv = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.ReLU())

    def forward(self, x):
        y = self.conv(x)
        for _ in range(self.t):
            y = self.conv(x + y)
        return y

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Recurrent(8)
        self.b = Recurrent(8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.head(self.b(self.a(x)))
"""


def test_a_layer_applied_several_times_is_one_layer(lint_tree: Callable[..., Result]) -> None:
    """A recurrent block runs one conv four times: three layers with weights (not nine) give
    no deep-stack-without-regularization finding; one block's conv is one layer."""
    result = lint_tree(RECURRENT, select=["CNN101", "CNN107"])
    (finding,) = result.findings
    # (Named inside the block whose code builds them: each block's pair is `conv.0`, `conv.1`.)
    assert finding.code == "CNN101" and finding.message.endswith(
        "(`conv.0` feeds `conv.1`)")
    alone = lint_tree(RECURRENT.replace("self.b = Recurrent(8)", "self.b = nn.Identity()"),
                      select=["CNN101"]).findings
    assert [f.message for f in alone] == [  # the one conv, applied four times
        "`Conv2d` bias is redundant before `BatchNorm2d` (`conv.0` feeds `conv.1`)"]
    (model,) = [m for m in result.models if m.name == "Net"]
    assert sum(n.weighted for n in model.network) == 9  # every application is in the graph


def test_a_block_s_layers_are_named_inside_the_block_whatever_model_holds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block class in its own file, used twice by a network in another file: CNN101 at the
    block's line names its layers as the block's code does (`branch.0` feeds `branch.1`),
    not through the first model that holds it (`first.branch.0`), so linting the block's
    file alone (a pre-commit run) reports the same finding as linting the project."""
    block = ("import torch.nn as nn\n\nclass Block(nn.Module):\n"
             "    def __init__(self, cin, cout):\n        super().__init__()\n"
             "        self.branch = nn.Sequential(nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout))\n"
             "\n    def forward(self, x):\n        return self.branch(x)\n")
    net = ("import torch.nn as nn\nfrom block import Block\n\nclass Net(nn.Module):\n"
           "    def __init__(self):\n        super().__init__()\n"
           "        self.first = Block(3, 8)\n        self.second = Block(8, 8)\n\n"
           "    def forward(self, x):\n        return self.second(self.first(x))\n")
    write_tree(tmp_path, {"pyproject.toml": "", "block.py": block, "net.py": net})
    monkeypatch.chdir(tmp_path)
    rules = load_rules()

    def messages(paths: list[str]) -> list[str]:
        found = lint(paths, build_settings(paths, Flags(select=["CNN101"]), rules), rules)
        return [f"{f.path}:{f.line} {f.message}" for f in found.findings]

    expected = ["block.py:6 `Conv2d` bias is redundant before `BatchNorm2d` "
                "(`branch.0` feeds `branch.1`)"]
    assert messages(["."]) == expected
    assert messages(["block.py"]) == expected


def test_layers_with_no_path_in_the_model_are_not_named_by_empty_paths(
        lint_tree: Callable[..., Result]) -> None:
    """Branches kept in a plain list attribute (`self.branches = [a, b]`) have no module
    path torch knows: they are named after the attribute (`branches[0].0`), never by empty
    backticks."""
    source = """
import torch
import torch.nn as nn

class TwoBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.branches = [nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8)),
                         nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(8))]

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)
"""
    (finding,) = lint_tree(source, select=["CNN101"]).findings
    assert finding.message == ("`Conv2d` bias is redundant before `BatchNorm2d` "
                               "(`branches[0].0` feeds `branches[0].1`)")


GROWN_IN_A_LOOP = """
import torch.nn as nn

class Stack(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        parts = [nn.Conv2d(3, 8, 3), nn.ReLU()]
        for _ in range(blocks):
            parts += [nn.Conv2d(8, 8, 3, bias=False), nn.ReLU()]
        parts = parts + [nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8)]
        self.net = nn.Sequential(*parts, nn.ReLU())

    def forward(self, x):
        return self.net(x)
"""


def test_layers_after_a_loop_of_unknown_length_are_named_from_the_end(
        lint_tree: Callable[..., Result]) -> None:
    """With `blocks` unknown the loop is read once, so the conv after it is not `net.4`
    (it is `net.22` for ten blocks): its place is given from the end, which is known."""
    (finding,) = lint_tree(GROWN_IN_A_LOOP, select=["CNN101"]).findings
    assert finding.message.endswith("(`net[-3]` feeds `net[-2]`)")
    while_loop = GROWN_IN_A_LOOP.replace("for _ in range(blocks):", "while len(parts) < blocks:")
    (finding,) = lint_tree(while_loop, select=["CNN101"]).findings
    assert finding.message.endswith("(`net[-3]` feeds `net[-2]`)")
    # A known count leaves every position known.
    known = GROWN_IN_A_LOOP.replace("range(blocks)", "range(3)")
    (finding,) = lint_tree(known, select=["CNN101"]).findings
    assert finding.message.endswith("(`net.8` feeds `net.9`)")


CHOSEN_STEP = """
import torch
import torch.nn as nn

def convs(n):
    return nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(n)])

class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = convs(2)

    def forward(self, h, x):
        h = torch.sigmoid(self.body(x)) * h
        return h, h.mean()

class Large(Small):
    def __init__(self):
        super().__init__()
        self.body = convs(6)

class Refine(nn.Module):
    def __init__(self, small):
        super().__init__()
        self.stem = convs(9)
        self.step = Small() if small else Large()

    def forward(self, x):
        h = self.stem(x)
        for _ in range(3):
            h, score = self.step(h, x)
        return h
"""


def test_a_block_chosen_by_an_undecided_if_is_counted_once(
        lint_tree: Callable[..., Result]) -> None:
    """Either block may be built, and both return a pair: the pair stays two tensors after
    the `if` (the network is read in full), and the layers counted are those every choice
    builds, "at least 9", not the 17 of both blocks added up."""
    result = lint_tree(CHOSEN_STEP, select=["CNN107"])
    (model,) = [m for m in result.models if m.name == "Refine"]
    assert model.network.complete
    (finding,) = [f for f in result.findings if f.symbol == "Refine"]
    assert finding.message.startswith("at least 9 weighted layers and no dropout")


GATED_TWO_STREAM = """
import torch
from torch import nn


def cbr(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class TwoStream(nn.Module):
    # Inception-style: a 3-conv stream and a pool->conv stream, concatenated.
    def __init__(self, c):
        super().__init__()
        self.long = nn.Sequential(cbr(c, c // 2), cbr(c // 2, c // 2), cbr(c // 2, c // 2))
        self.pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), cbr(c, c // 2))

    def forward(self, x):
        return torch.cat([self.long(x), self.pool(x)], 1)


class ProductGate(nn.Module):
    # sigmoid(m(a(x) * b(x))): an attention gate built from a product of two branches.
    def __init__(self, c):
        super().__init__()
        self.a = cbr(c, c)
        self.b = cbr(c, c)
        self.m = cbr(c, c)

    def forward(self, x):
        return torch.sigmoid(self.m(self.a(x) * self.b(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 16), cbr(16, 16), cbr(16, 16), cbr(16, 16))
        self.s1 = TwoStream(16)
        self.g1 = ProductGate(16)
        self.s2 = TwoStream(16)
        self.s3 = TwoStream(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.s1(x)
        x = x * self.g1(x)
        x = self.s2(x)
        x = self.s3(x)
        return self.fc(x.mean((2, 3)))
"""


def test_a_gate_between_two_stream_blocks_is_no_skip_around_them(
        lint_tree: Callable[..., Result]) -> None:
    """`x * gate(x)` between Inception-like blocks, the gate built from a product of two
    branches: the layers of the gate's own branch are not what a block's one-layer stream
    goes around, so it is no skip, and the whole plain run is counted."""
    (finding,) = lint_tree(GATED_TWO_STREAM, select=["CNN103"]).findings
    assert finding.message.startswith("14 weighted layers in a row with no skip connection")


def test_epochs_an_early_stop_may_cut_short_are_a_cap(lint_tree: Callable[..., Result]) -> None:
    """A patience test that breaks out of the epoch loop: the run may end well before its
    epoch count, so the message says "up to"."""
    source = """
import torch

model = torch.nn.Linear(4, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
best, bad_epochs = float("inf"), 0
for epoch in range(200):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(torch.nn.functional.cross_entropy(model(x), y).item() for x, y in val_loader)
    if val < best:
        best, bad_epochs = val, 0
    else:
        bad_epochs += 1
    if bad_epochs > 3:
        break
"""
    (finding,) = lint_tree(source, select=["CNN209"]).findings
    assert finding.message == "trains up to 200 epochs at a constant learning rate"
    (finding,) = lint_tree(source.replace("    if bad_epochs > 3:\n        break\n", ""),
                           select=["CNN209"]).findings
    assert finding.message == "trains 200 epochs at a constant learning rate"


def test_a_zero_padded_shortcut_leaves_the_network_read_in_full(
        lint_tree: Callable[..., Result]) -> None:
    """`torch.cat([x, torch.zeros_like(x)], 1)` pads a shortcut's channels (Fixup, ResNet
    option A): a tensor shaped like `x` is known, so the norm-free stack is judged."""
    source = """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, 2 * c, 3, padding=1)

    def forward(self, x):
        shortcut = torch.cat([x, torch.zeros_like(x)], 1)
        return F.relu(self.b(F.relu(self.a(x))) + shortcut)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(8 * 2 ** i) for i in range(5)])

    def forward(self, x):
        return self.blocks(x)
"""
    result = lint_tree(source, select=["CNN104"])
    assert [f.message for f in result.findings] == [
        "10 conv layers with no normalization among them, from `blocks.0.a` (Conv2d) to "
        "`blocks.4.b` (Conv2d)"]
    assert result.partly_read() == 0


def test_a_loss_module_over_functional_losses_is_read_in_full(
        lint_tree: Callable[..., Result]) -> None:
    """A focal loss computes `F.cross_entropy(..., reduction="none")` in its forward: a
    known function, so the run does not call it a partly read model."""
    source = """
import torch
import torch.nn as nn
import torch.nn.functional as F

class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        return ((1 - torch.exp(-ce)) ** self.gamma * ce).mean()
"""
    result = lint_tree(source)
    assert [m.name for m in result.models] == ["FocalLoss"] and result.partly_read() == 0


def test_a_builder_testing_type_of_each_entry_is_read(lint_tree: Callable[..., Result]) -> None:
    """VGG's config builder spelled `if type(x) == int:` (not `isinstance`): `type` of a
    constant is known, so the layers are known."""
    source = """
import torch.nn as nn

CFG = [16, 16, "M", 32, 32, "M", 64, 64, 64, "M", 64, 64, 64]

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers, c = [], 3
        for x in CFG:
            if type(x) == int:
                layers += [nn.Conv2d(c, x, 3, padding=1), nn.ReLU()]
                c = x
            elif type(x) is str:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
"""
    result = lint_tree(source, select=["CNN103"])
    assert result.partly_read() == 0
    assert [f.message.split(",")[0] for f in result.findings] == [
        "10 weighted layers in a row with no skip connection"]


def test_a_model_named_by_a_description_is_not_quoted_twice(
        lint_tree: Callable[..., Result]) -> None:
    """A training function's model is its parameter (`parameter `net``): a note about it
    names it as described, not wrapped in a second pair of backticks."""
    source = """
import torch
import torch.nn as nn


def accuracy(net, data_iter):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in data_iter)


def train(net, train_iter, test_iter, num_epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    for epoch in range(num_epochs):
        net.train()
        for x, y in train_iter:
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
        print(accuracy(net, test_iter))
"""
    notes = [n for n in lint_tree({"lib.py": source}).notes() if "is called on data" in n]
    assert notes and all(n.startswith("lib.py:8: parameter `net` is called on data")
                         for n in notes), notes
