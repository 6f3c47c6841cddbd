"""The model-side misses found on public projects, each in a small project of our own:
classes built only with arguments, a division that is not a skip, factories made with
`partial` and `setattr`, a forward with two ways, one report per architecture, blocks judged
inside their model, the partly-read summary and ReLU6 in messages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import lint
from cnnlint.rule import load_rules
from conftest import write_tree
from helpers import run

CFG_VGG = """
import torch.nn as nn

cfg = {
    "VGG11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, vgg_name):
        super().__init__()
        self.features = self._make_layers(cfg[vgg_name])
        self.classifier = nn.Linear(512, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))

    def _make_layers(self, widths):
        layers, channels = [], 3
        for width in widths:
            if width == "M":
                layers += [nn.MaxPool2d(2)]
            else:
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width),
                           nn.ReLU(inplace=True)]
                channels = width
        return nn.Sequential(*layers)
"""


def _findings(result: Any, code: str) -> list[Any]:
    return [f for f in result.findings if f.code == code]


def test_a_class_needing_a_cfg_key_is_read_once_per_key(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree({"vgg.py": CFG_VGG})
    (plain,) = _findings(result, "CNN103")
    assert (plain.path, plain.line, plain.symbol) == ("vgg.py", 9, "VGG")
    assert plain.message.endswith("(counted in VGG('VGG11'); also in VGG('VGG13'))")
    assert "9 weighted layers" in plain.message  # VGG11: 8 convs and the classifier
    assert [f.line for f in _findings(result, "CNN101")] == [24]


def test_a_cfg_class_the_project_builds_by_a_literal_key_is_that_build_only(
        lint_tree: Callable[..., Any]) -> None:
    """`VGG('VGG13')` in the training script: the table's other keys are builds no code
    makes, so no finding counts them (`counted in VGG('VGG11')`)."""
    script = "from vgg import VGG\n\nnet = VGG('VGG13')\n"
    result = lint_tree({"vgg.py": CFG_VGG, "train.py": script})
    (plain,) = _findings(result, "CNN103")
    assert (plain.path, plain.line) == ("train.py", 3)
    assert plain.message.endswith("(VGG('VGG13'))") and "11 weighted layers" in plain.message


def test_a_builder_forwarding_its_keywords_still_spells_the_variants(
        lint_tree: Callable[..., Any]) -> None:
    """`def generate(depth, **kwargs): return Net(Block, [2, 2], **kwargs)`: the callers
    may pass no keyword, so the literal arguments alone build a variant."""
    source = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, widths, num_classes=10):
        super().__init__()
        layers = []
        for width in widths:
            layers += [nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()] * width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))

def generate(depth, **kwargs):
    if depth == 8:
        return Net([4, 4], **kwargs)
    return Net([8, 8], **kwargs)
"""
    (found,) = _findings(lint_tree({"nets.py": source}), "CNN105")
    assert found.message.endswith("(counted in Net([8, 8]); also in Net([4, 4]))")
    # A local dict splatted into the call is not forwarded: its keys are not known.
    local = source.replace("def generate(depth, **kwargs):",
                           "def generate(depth, **options):\n    kwargs = dict(options)")
    assert _findings(lint_tree({"nets.py": local}), "CNN105") == []


def test_literal_calls_in_a_script_build_the_variants(lint_tree: Callable[..., Any]) -> None:
    model = """
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self, depth, num_classes):
            super().__init__()
            layers = [nn.Conv2d(3, 32, 3, padding=1), nn.ReLU()]
            for _ in range(depth - 1):
                layers += [nn.Conv2d(32, 32, 3, padding=1), nn.ReLU()]
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(32, num_classes)

        def forward(self, x):
            return self.head(self.body(x).mean((2, 3)))
    """
    script = """
    from model import Net

    small = Net(4, 10)
    big = Net(depth=16, num_classes=10)
    """
    result = lint_tree({"model.py": model, "train.py": script})
    plain = _findings(result, "CNN103")
    assert [(f.path, f.line, f.message.rsplit(" (", 1)[-1]) for f in plain] == [
        ("train.py", 4, "Net(depth=16, num_classes=10))")]
    assert "17 weighted layers" in plain[0].message
    # Linting the model file alone: no call spells the arguments, and a guess is no finding.
    alone = lint_tree({"model.py": model, "train.py": script}, select=["CNN103"])
    assert not [f for f in alone.findings if f.path == "model.py"]
    # A call the constructor refuses (a keyword it does not take, an argument too many, a
    # required one left out) raises a TypeError: it builds nothing to judge.
    for refused in ("Net(depth=16, num_classes=10, width=64)", "Net(16, 10, 64)",
                    "Net(depth=16)"):
        result = lint_tree({"model.py": model,
                            "train.py": script.replace("Net(depth=16, num_classes=10)", refused)})
        assert _findings(result, "CNN103") == [], refused


def test_a_local_response_normalisation_is_not_a_skip(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import torch.nn as nn

    class LRN(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.AvgPool2d(3, stride=1, padding=1)

        def forward(self, x):
            return x.div(self.pool(x.pow(2)).mul(1e-4).add(1.0).pow(0.75))

    class VGGM(nn.Module):
        def __init__(self):
            super().__init__()
            layers = []
            for i in range(8):
                layers += [nn.Conv2d(3 if i == 0 else 64, 64, 3, padding=1), nn.ReLU(), LRN()]
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(self.features(x).mean((2, 3)))
    """, select=["CNN103"])
    (plain,) = result.findings
    assert plain.symbol == "VGGM" and "9 weighted layers" in plain.message


def test_a_squeeze_excitation_gate_is_not_a_skip(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import torch.nn as nn

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc1 = nn.Conv2d(c, c // 4, 1)
            self.fc2 = nn.Conv2d(c // 4, c, 1)

        def forward(self, x):
            return x * self.fc2(self.fc1(x.mean((2, 3), keepdim=True))).sigmoid()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(*[nn.Sequential(nn.Conv2d(32, 32, 3, padding=1),
                                                        nn.ReLU(), SE(32)) for _ in range(8)])

        def forward(self, x):
            return self.blocks(x)
    """, select=["CNN103"])
    (plain,) = result.findings
    # Only the gated input carries the chain on, and a gate's own layers only scale it: the
    # chain is the 8 convs (the last gate's two are no part of it).
    assert "8 weighted layers" in plain.message


def test_an_attention_gate_on_a_u_net_skip_keeps_it_a_skip(
        lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import torch
    import torch.nn as nn

    def double(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                             nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1),
                             nn.BatchNorm2d(cout), nn.ReLU())

    class Gate(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.w_g, self.w_x = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
            self.psi = nn.Sequential(nn.Conv2d(c, 1, 1), nn.Sigmoid())

        def forward(self, g, x):
            return x * self.psi(torch.relu(self.w_g(g) + self.w_x(x)))

    class AttUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2, self.enc3 = double(3, 16), double(16, 16), double(16, 16)
            self.mid = double(16, 16)
            self.gate2, self.gate1 = Gate(16), Gate(16)
            self.dec2, self.dec1 = double(32, 16), double(32, 16)
            self.out = nn.Conv2d(16, 1, 1)

        def forward(self, x):
            x1 = self.enc1(x)
            x2 = self.enc2(x1)
            d = self.mid(self.enc3(x2))
            d = self.dec2(torch.cat((self.gate2(g=d, x=x2), d), dim=1))
            d = self.dec1(torch.cat((self.gate1(g=d, x=x1), d), dim=1))
            return self.out(d)
    """, select=["CNN103"])
    # Without the skips the encoder, middle and decoder are 13 convs in a row.
    assert result.findings == []


def test_partial_and_setattr_factories_are_models(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import sys
    from functools import partial
    import torch.nn as nn

    class Plain(nn.Module):
        def __init__(self, depth, width=32):
            super().__init__()
            self.body = nn.Sequential(*[nn.Conv2d(3 if i == 0 else width, width, 3)
                                        for i in range(depth)])

        def forward(self, x):
            return self.body(x)

    def _plain(depth, **kwargs):
        return Plain(depth, **kwargs)

    def plain10(*args, **kwargs): pass
    def plain12(*args, **kwargs): pass

    this = sys.modules[__name__]
    for depth in [10, 12]:
        setattr(this, f"plain{depth}", partial(_plain, depth=depth))

    plain16 = partial(Plain, 16)
    """, select=["CNN103"])
    (plain,) = result.findings
    assert plain.symbol == "Plain" and plain.line == 5
    assert plain.message.endswith("(counted in plain10; also in plain12, plain16)")


def test_each_way_of_a_forward_is_judged_alone(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, identity=True):
            super().__init__()
            self.identity = identity
            self.conv = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())

        def forward(self, x):
            if self.identity:
                return x + self.conv(x)
            else:
                return self.conv(x)

    class Net(nn.Module):
        def __init__(self, flags=None):
            super().__init__()
            self.a = Block(flags)
            self.b = Block(flags)

        def forward(self, x):
            return self.b(self.a(x))
    """, select=["CNN103", "CNN105"])
    # Whether the blocks add their input is not known: the plain way has 6 convs, the
    # residual one fewer in a row; both ways together are never counted in series.
    assert _findings(result, "CNN103") == []
    (relu,) = _findings(result, "CNN105")
    assert "all 6 activations" in relu.message


def test_a_block_is_judged_inside_its_model(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import torch.nn as nn

    class Cell(nn.Module):
        def __init__(self, c=16):
            super().__init__()
            self.body = nn.Sequential(*[nn.Conv2d(c, c, 3, padding=1) for _ in range(8)])

        def forward(self, x):
            return x + self.body(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cells = nn.Sequential(Cell(), Cell())
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            return self.fc(self.drop(self.cells(x).mean((2, 3))))
    """, select=["CNN107"])
    # Net has dropout; the cell alone has none, but it is never trained alone.
    assert result.findings == []


@pytest.mark.parametrize("net, judged_alone", [
    ("from blocks import Cell\n\nclass Net(nn.Module):\n    def __init__(self):\n"
     "        super().__init__()\n        self.cells = nn.Sequential(Cell(16), Cell(16))\n"
     "        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n"
     "        return self.drop(self.cells(x))\n", False),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n"
     "        return self.drop(x)\n", True),
])
def test_a_block_needing_arguments_held_by_a_model_of_another_file_is_judged_there(
        lint_tree: Callable[..., Any], net: str, judged_alone: bool) -> None:
    """A block class of a utility file that needs its width, which no code builds alone: a
    model of another file holding it judges it; alone (read with a guessed width) it is no
    network of its own. One that nothing holds is still judged."""
    block = """
import torch.nn as nn

class Cell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(c, c, 3, padding=1) for _ in range(8)])

    def forward(self, x):
        return x + self.body(x)
"""
    result = lint_tree({"blocks.py": block, "net.py": "import torch.nn as nn\n" + net},
                       select=["CNN107"])
    assert [f.path for f in result.findings] == (["blocks.py"] if judged_alone else [])


def test_a_block_built_with_arguments_inside_a_network_of_its_file_is_judged_there(
        lint_tree: Callable[..., Any]) -> None:
    """`Mixed(8)` is built only inside `net = nn.Sequential(...)` of the same file: its
    activations are counted in the network's finding, not in one of their own as well."""
    source = """
import torch
import torch.nn as nn

def pair(c, k):
    return nn.Sequential(nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2),
                         nn.ReLU())

class Mixed(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a, self.b, self.c = pair(c, 3), pair(c, 5), pair(c, 3)

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x), self.c(x)], 1)

net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), Mixed(8), nn.Flatten(),
                    nn.LazyLinear(10))
"""
    result = lint_tree({"net.py": source}, select=["CNN105"])
    assert [(f.line, f.symbol) for f in result.findings] == [(16, "net")]


def test_a_factory_whose_network_a_module_level_network_holds_is_judged_there(
        lint_tree: Callable[..., Any]) -> None:
    """`stack()` builds the body that `whole = nn.Sequential(stack(), head)` holds: the
    network is `whole`, judged once, not also as the factory."""
    source = """
import torch.nn as nn

def stack():
    layers = nn.Sequential()
    for k in range(4):
        layers.add_module(f"pair{k}", nn.Sequential(nn.Linear(16, 32), nn.ReLU(),
                                                    nn.Linear(32, 16), nn.ReLU()))
    return layers

whole = nn.Sequential(stack(), nn.Linear(16, 1))
"""
    result = lint_tree({"net.py": source}, select=["CNN103"])
    assert [(f.line, f.symbol) for f in result.findings] == [(10, "whole")]


def test_the_summary_counts_models_only_partly_read(in_tmp: Path) -> None:
    write_tree(in_tmp, {"model.py": """
    import torch.nn as nn
    from somewhere import mystery_block

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = mystery_block(64)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(self.body(x))
    """})
    code, out, _ = run(["--no-cache", "model.py"])
    assert code == 0
    assert out.strip().endswith(
        "in 1 file; 1 model only partly read: --verbose says where, --trace reads them.")
    code, out, _ = run(["--no-cache", "--verbose", "model.py"])
    assert out.strip().endswith(
        "1 model only partly read: the notes above say where, --trace reads them.")
    code, out, _ = run(["--no-cache", "--format", "json", "model.py"])
    assert json.loads(out)["summary"]["partly_read"] == 1


def test_relu6_networks_are_named_as_such(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree("""
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*[m for _ in range(6)
                                        for m in (nn.Conv2d(8, 8, 3), nn.ReLU6())])

        def forward(self, x):
            return self.body(x)
    """, select=["CNN105"])
    (relu,) = result.findings
    assert "all 6 activations are plain ReLU6" in relu.message


def test_a_script_function_is_not_replaced_by_a_star_import(
        lint_tree: Callable[..., Any]) -> None:
    """pytorch-cifar's main.py defines `test(epoch)` after `from models import *`, which
    brings each model file's own `test()`: the script's one is what runs."""
    result = lint_tree({
        "models/__init__.py": "from .net import *\n",
        "models/net.py": """
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 2)

            def forward(self, x):
                return self.fc(x)

        def test():
            net = Net()
            print(net(torch.randn(2, 8)).size())
        """,
        "main.py": """
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader
        from models import *

        trainloader = DataLoader(train_set, batch_size=128, shuffle=True)
        testloader = DataLoader(test_set, batch_size=100)
        net = Net()
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        best_acc = 0

        def train(epoch):
            net.train()
            for inputs, targets in trainloader:
                optimizer.zero_grad()
                loss = criterion(net(inputs), targets)
                loss.backward()
                optimizer.step()

        def test(epoch):
            global best_acc
            net.eval()
            correct = 0
            with torch.no_grad():
                for inputs, targets in testloader:
                    correct += net(inputs).argmax(1).eq(targets).sum().item()
            if correct > best_acc:
                torch.save(net.state_dict(), "best.pth")
                best_acc = correct

        for epoch in range(200):
            train(epoch)
            test(epoch)
        """}, select=["CNN202", "CNN203"])
    assert result.findings == []


CIFAR_NETS = """
import torch.nn as nn

class Plain(nn.Module):
    def __init__(self, depth=10):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1)
                                    for i in range(depth)])

    def forward(self, x):
        return self.body(x)

def plain10():
    return Plain(10)

def plain20():
    return Plain(20)
"""


def test_a_model_picked_by_name_from_a_module_is_trained_by_the_script(
        lint_tree: Callable[..., Any]) -> None:
    """`models.__dict__[args.arch]()`: the default picks one, the command line any."""
    result = lint_tree({"models.py": CIFAR_NETS, "train.py": """
    import argparse
    import torch
    import models

    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="plain10")
    args = parser.parse_args()
    model = models.__dict__[args.arch]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
    """}, select=["CNN107"])
    assert result.findings == []  # every model of the module may be the one trained, with decay


MODULE_LEVEL_NETS = """
import torch.nn as nn

def stage(width):
    return [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]

head = nn.Sequential(*stage(16), *stage(16), *stage(16), *stage(16), *stage(16), *stage(16),
                     *stage(16), *stage(16), nn.Conv2d(16, 3, 3, padding=1))

class Holder(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x)
"""


@pytest.mark.parametrize("build, trained", [
    ("model = nets.head", "model"),
    ("body = nets.head\nmodel = nets.Holder(body)", "model.body"),
])
def test_a_module_level_sequential_trained_from_another_file_is_one_network(
        lint_tree: Callable[..., Any], build: str, trained: str) -> None:
    """A Sequential built at module level in one file and trained by a script under another
    name (directly, or inside a wrapper) is that network: it has a training script, and the
    name that only refers to it is not judged as a second network."""
    result = lint_tree({"nets.py": MODULE_LEVEL_NETS, "train.py": f"""
import torch
import nets

{build}
optimizer = torch.optim.Adam({trained}.parameters(), lr=1e-4)
for step in range(1000):
    optimizer.zero_grad()
    model(torch.randn(4, 16, 8, 8)).pow(2).mean().backward()
    optimizer.step()
"""}, select=["CNN103", "CNN107"])
    at_head = [(f.code, f.severity) for f in result.findings
               if (f.path, f.line) == ("nets.py", 6)]
    assert at_head == [("CNN103", "warning"), ("CNN107", "warning")]
    assert not [f for f in result.findings if f.path == "train.py" and f.line == 4]


def test_a_model_handed_to_a_library_trainer_is_not_judged_untrained(
        lint_tree: Callable[..., Any]) -> None:
    result = lint_tree({"models.py": CIFAR_NETS, "train.py": """
    from homura.trainers import SupervisedTrainer
    from models import plain10

    model = plain10()
    with SupervisedTrainer(model, optimizer, loss) as trainer:
        trainer.train(loader)
    """}, select=["CNN107"])
    # plain10 goes to code the reader cannot see; plain20 and Plain are trained by nothing.
    (info,) = result.findings
    assert info.severity == "info" and info.message.endswith("(counted in Plain; also in plain20)")


def test_a_loader_built_in_a_data_module_is_the_script_s(lint_tree: Callable[..., Any]) -> None:
    result = lint_tree({
        "models.py": """
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 8, 3, bias=False)
                self.bn = nn.BatchNorm2d(8)

            def forward(self, x):
                return self.bn(self.conv(x))
        """,
        "data.py": """
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        transform = transforms.Compose([transforms.ToTensor()])
        train_set = datasets.MNIST("data", train=True, transform=transform)
        train_loader = DataLoader(train_set, batch_size=4, shuffle=True)
        """,
        "train.py": """
        import torch
        from data import train_loader
        from models import Net

        model = Net()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for x, y in train_loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        """}, select=["CNN201", "CNN212"])
    assert sorted((f.code, f.path, f.line) for f in result.findings) == [
        ("CNN201", "data.py", 6), ("CNN212", "data.py", 4)]


def test_a_solver_class_trained_from_main_is_a_training_run(
        lint_tree: Callable[..., Any]) -> None:
    """Image_Segmentation's shape: main.py only calls `solver.train()`."""
    result = lint_tree({
        "solver.py": """
        import torch
        import torch.nn as nn

        class Solver:
            def __init__(self, loader):
                self.loader = loader
                self.net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
                self.optimizer = torch.optim.Adam(list(self.net.parameters()), 1e-3)

            def train(self):
                for epoch in range(100):
                    for x in self.loader:
                        self.optimizer.zero_grad()
                        self.net(x).sum().backward()
                        self.optimizer.step()
        """,
        "main.py": """
        from torch.utils.data import DataLoader
        from solver import Solver

        if __name__ == "__main__":
            solver = Solver(DataLoader(train_set, batch_size=64, shuffle=True))
            solver.train()
        """}, select=["CNN202"])
    assert [(f.code, f.path) for f in result.findings] == [("CNN202", "solver.py")]


@pytest.mark.parametrize("script", [
    # No main guard and no bare call: names given calls' results, then a loop.
    """
    from solver import Solver, options

    args = options().parse_args()
    solver = Solver(args.epochs)
    for epoch in range(args.epochs):
        solver.one_epoch()
    """,
    """
    from solver import Solver

    solver, epochs = Solver(100), 100
    for _ in range(epochs):
        solver.one_epoch()
    """,
])
def test_a_script_of_assignments_and_a_loop_driving_a_solver_is_a_training_run(
        lint_tree: Callable[..., Any], script: str) -> None:
    result = lint_tree({
        "solver.py": """
        import argparse
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        def options():
            parser = argparse.ArgumentParser()
            parser.add_argument("--epochs", type=int, default=100)
            return parser

        class Solver:
            def __init__(self, epochs):
                self.loader = DataLoader(train_set, batch_size=64, shuffle=True)
                self.net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
                self.optimizer = torch.optim.Adam(self.net.parameters(), 1e-3)

            def one_epoch(self):
                for x in self.loader:
                    self.optimizer.zero_grad()
                    self.net(x).sum().backward()
                    self.optimizer.step()
        """,
        "run.py": script}, select=["CNN202"])
    assert [(f.code, f.path) for f in result.findings] == [("CNN202", "run.py")]


SN_CRITIC = """
import torch.nn as nn
from torch.nn.utils import spectral_norm

class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [3, 32, 32, 64, 64, 128, 128, 256]
        layers = []
        for a, b in zip(widths, widths[1:]):
            layers += [{conv}, nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(256, 1)
        {loop}

    def forward(self, x):
        return self.out(self.features(x).mean((2, 3)))
"""


def test_a_gate_on_a_tensor_that_may_be_none_is_a_gate(lint_tree: Callable[..., Any]) -> None:
    """`skip = mix(x) + x if x is not None else None`, then channel gates scale the skip
    before each decoder conv: a tensor or nothing is the tensor, so each sigmoid gates it
    (it is no hidden activation of the convs after it)."""
    result = lint_tree("""
import torch
import torch.nn as nn
import torch.nn.functional as F

class Gate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc_x = nn.Sequential(nn.Flatten(), nn.Linear(c, c))
        self.fc_skip = nn.Sequential(nn.Flatten(), nn.Linear(c, c))

    def forward(self, x, skip):
        w = self.fc_x(F.adaptive_avg_pool2d(x, 1)) + self.fc_skip(F.adaptive_avg_pool2d(skip, 1))
        return F.relu(skip * torch.sigmoid(w).unsqueeze(2).unsqueeze(3).expand_as(skip))

class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate = Gate(c)
        self.conv = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(self, x, skip):
        return F.relu(self.conv(torch.cat([self.gate(x, skip), x], 1)))

class Net(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.mix = nn.Conv2d(c, c, 1)
        self.ups = nn.ModuleList([Up(c) for _ in range(4)])

    def forward(self, x):
        x = F.relu(self.stem(x))
        skip = self.mix(x) + x if x is not None else None
        for up in self.ups:
            x = up(x, skip)
        return x
""", select=["CNN106"])
    assert result.findings == []


@pytest.mark.parametrize("step_when", ["net.training", "not net.training"])
def test_a_step_shared_with_evaluation_steps_only_in_train_mode(
        lint_tree: Callable[..., Any], step_when: str) -> None:
    """One function runs an epoch for training and for validation, stepping only `if
    net.training:`; validation runs it after `net.eval()`: its loader is no training loader
    (CNN201 reported the validation batch)."""
    result = lint_tree(f"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

def run_epoch(loader, net, opt):
    for x, y in loader:
        loss = nn.functional.cross_entropy(net(x), y)
        if {step_when}:
            opt.zero_grad()
            loss.backward()
            opt.step()

net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
val_loader = DataLoader(val_set, batch_size=2)
for epoch in range(10):
    net.train()
    run_epoch(train_loader, net, opt)
    net.eval()
    with torch.no_grad():
        run_epoch(val_loader, net, opt)
""", select=["CNN201"])
    # Stepping in eval mode only would train on the validation loader, at batch 2.
    assert [f.line for f in result.findings] == ([] if step_when == "net.training" else [16])


@pytest.mark.parametrize("normalization, flagged", [("'batchnorm'", False), ("'none'", True)])
def test_a_class_trained_only_with_norm_layers_its_defaults_lack_is_normalised(
        lint_tree: Callable[..., Any], normalization: str, flagged: bool) -> None:
    """A V-Net whose `normalization` defaults to none, built by every training script with
    BatchNorm: what trains is normalised (CNN104 judged the defaults)."""
    net = """
import torch.nn as nn

class Stage(nn.Module):
    def __init__(self, c, normalization="none"):
        super().__init__()
        layers = [nn.Conv3d(c, c, 3, padding=1)]
        if normalization == "batchnorm":
            layers.append(nn.BatchNorm3d(c))
        layers.append(nn.ReLU())
        self.seq = nn.Sequential(*layers)

    def forward(self, x):
        return self.seq(x)

class VNet(nn.Module):
    def __init__(self, normalization="none"):
        super().__init__()
        self.stages = nn.Sequential(*[Stage(8, normalization) for _ in range(8)])

    def forward(self, x):
        return self.stages(x)
"""
    script = f"""
import torch
from net import VNet

model = VNet(normalization={normalization})
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
for step in range(1000):
    optimizer.zero_grad()
    model(torch.randn(16, 8, 8, 8, 8)).mean().backward()
    optimizer.step()
"""
    result = lint_tree({"net.py": net, "train.py": script}, select=["CNN104"])
    assert [f.path for f in result.findings if f.path == "net.py"] == (
        ["net.py"] if flagged else [])


@pytest.mark.parametrize("weight, flagged", [
    ("self.normalised()", False),  # a method returning the weight over its norm
    ("self.weight / self.weight.norm()", False),
    ("self.weight * 2", True),
])
def test_a_conv_that_normalises_its_weight_by_hand_is_normalised(
        lint_tree: Callable[..., Any], weight: str, flagged: bool) -> None:
    """A conv subclass whose forward divides its weight by a norm (spectral normalisation by
    power iteration, or weight standardisation) before `F.conv2d` is normalised (CNN104)."""
    result = lint_tree(f"""
import torch.nn as nn
import torch.nn.functional as F

class NormedConv(nn.Conv2d):
    def normalised(self):
        sigma = self.weight.flatten(1).norm()
        return self.weight / sigma

    def forward(self, x):
        return F.conv2d(x, {weight}, self.bias, 1, 1)

class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(7)
                                    for m in (NormedConv(8, 8, 3), nn.LeakyReLU(0.2))])

    def forward(self, x):
        return self.body(x)
""", select=["CNN104"])
    assert bool(result.findings) is flagged


@pytest.mark.parametrize("relus, flagged", [(4, None), (7, "all 7 activations")])
def test_a_block_run_on_two_inputs_counts_its_activations_once(
        lint_tree: Callable[..., Any], relus: int, flagged: str | None) -> None:
    """A domain-adaptation model runs one backbone on the source and the target batch:
    each of its activations is one place of the network, not two."""
    result = lint_tree(f"""
import torch.nn as nn

class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range({relus})
                                    for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())])

    def forward(self, x):
        return self.body(x)

class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.head = nn.Linear(8, 5)

    def forward(self, source, target):
        return self.head(self.backbone(source).mean((2, 3))), \
            self.head(self.backbone(target).mean((2, 3)))
""", select=["CNN105"])
    messages = [f.message for f in result.findings if f.symbol == "TwoInputs"]
    assert messages == ([] if flagged is None else [f"{flagged} are plain ReLU (dying-ReLU risk)"])


@pytest.mark.parametrize("conv, loop, flagged", [
    ("nn.Conv2d(a, b, 3, padding=1)", "", True),
    ("spectral_norm(nn.Conv2d(a, b, 3, padding=1))", "", False),
    ("nn.utils.weight_norm(nn.Conv2d(a, b, 3, padding=1))", "", False),
    ("nn.Conv2d(a, b, 3, padding=1)", "for m in self.modules():\n"
     "            if isinstance(m, (nn.Conv2d, nn.Linear)):\n"
     "                spectral_norm(m)", False),
    # Only the classifier: the convolutions stay unnormalised.
    ("nn.Conv2d(a, b, 3, padding=1)", "for m in self.modules():\n"
     "            if isinstance(m, nn.Linear):\n"
     "                spectral_norm(m)", True),
])
def test_convolutions_with_normalised_weights_are_normalised(
        lint_tree: Callable[..., Any], conv: str, loop: str, flagged: bool) -> None:
    """An SN-GAN critic normalises each layer's weights (`spectral_norm`, inline or in a loop
    over its modules, or `weight_norm`): the stack is normalised, and the reader keeps it
    whole (the wrapped conv is the conv)."""
    result = lint_tree(SN_CRITIC.format(conv=conv, loop=loop), select=["CNN103", "CNN104"])
    assert [f.code for f in result.findings] == ["CNN103", "CNN104"] if flagged else ["CNN103"]


ACTIVATION_CHOSEN = """
import torch.nn as nn

ACTIVATIONS = {"relu": nn.ReLU, "swish": nn.SiLU}

class Net(nn.Module):
    def __init__(self, classes=10, act=nn.ReLU):
        super().__init__()
        layers = [nn.Conv2d(3, 16, 3, padding=1)]
        for _ in range(8):
            layers += [nn.BatchNorm2d(16), act(), nn.Conv2d(16, 16, 3, padding=1)]
        self.body = nn.Sequential(*layers, act())
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))

def build(name, classes):
    return Net(classes, act=ACTIVATIONS[name.split("-")[-1]])
"""


@pytest.mark.parametrize("arch, flagged", [("net-swish", False), ("net-relu", True)])
@pytest.mark.parametrize("wrapped", ["{}", "torch.nn.DataParallel(torch.nn.Sequential({}))"])
def test_a_class_trained_only_with_another_activation_is_not_all_relu(
        lint_tree: Callable[..., Any], arch: str, flagged: bool, wrapped: str) -> None:
    """A class whose activation defaults to ReLU, built by the factory the script trains
    with the activation a name picks (alone, or as the block of a wrapper): what trains is
    the picked one."""
    built = wrapped.format(f'build("{arch}", 10)')
    result = lint_tree({"nets.py": ACTIVATION_CHOSEN, "train.py": f"""
import torch
from nets import build

model = {built}
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""}, select=["CNN105"])
    assert [f.path for f in result.findings] == (["nets.py"] if flagged else [])


@pytest.mark.parametrize("loader, flagged", [
    ("DataLoader(train_set, batch_size=32, shuffle=True)", [9]),
    # A batch sampler of the project's own decides what each batch holds (it may balance
    # the classes): the run may resample.
    ("DataLoader(train_set, batch_sampler=sampling.Balanced(train_set, 32))", []),
])
def test_a_weighted_loss_is_reported_where_it_is_built(
        lint_tree: Callable[..., Any], loader: str, flagged: list[int]) -> None:
    result = lint_tree({"train.py": """
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader
    import sampling

    model = nn.Linear(8, 3)
    train_loader = LOADER
    val_loader = DataLoader(val_set, batch_size=32)
    criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 4.0, 1.0]))
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(3):
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            for x, y in val_loader:
                criterion(model(x), y)
    """.replace("LOADER", loader), "sampling.py": """
    import torch

    class Balanced(torch.utils.data.Sampler):
        def __init__(self, data, size):
            self.data, self.size = data, size
    """}, select=["CNN211"])
    assert [f.line for f in result.findings] == flagged


@pytest.mark.parametrize("evaluation_mode, flagged", [("model.eval()", []), ("", [17])])
def test_a_weighted_loss_computed_as_a_metric_in_eval_mode_is_not_training(
        lint_tree: Callable[..., Any], evaluation_mode: str, flagged: list[int]) -> None:
    """A functional weighted loss is reported where it is called; one computed on the
    outputs of a model put in eval mode (a metric of the evaluation pass, no backward) is
    not a training use, with or without `no_grad`."""
    result = lint_tree(f"""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    def fit(model, loader, optimizer, w):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            F.nll_loss(model(x), y, weight=w).backward()
            optimizer.step()

    def evaluate(model, loader, w):
        {evaluation_mode}
        total = 0.0
        for x, y in loader:
            total += F.nll_loss(model(x), y, weight=w).item()
        return total

    model = nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax(dim=1))
    w = torch.tensor([1.0, 4.0, 1.0])
    optimizer = torch.optim.Adam(model.parameters())
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    for epoch in range(3):
        fit(model, train_loader, optimizer, w)
        evaluate(model, DataLoader(val_set, batch_size=32), w)
    """, select=["CNN211"])
    assert sorted(f.line for f in result.findings) == sorted([10, *flagged])


def test_a_registry_of_built_models_trains_any_of_them(lint_tree: Callable[..., Any]) -> None:
    """PyTorch_CIFAR10's `all_classifiers = {"resnet18": resnet18(), ...}[hparams.classifier]`."""
    result = lint_tree({"models.py": CIFAR_NETS, "train.py": """
    import torch
    from models import plain10, plain20

    CLASSIFIERS = {"plain10": plain10(), "plain20": plain20()}

    def main(name="plain10"):
        model = CLASSIFIERS[name]
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                    weight_decay=1e-4)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()

    main()
    """}, select=["CNN107"])
    # plain20 is never the default, but a caller may pick it: it is trained with decay too.
    assert result.findings == []


def test_a_dropout_rate_the_reader_does_not_know_is_no_finding(
        lint_tree: Callable[..., Any]) -> None:
    """pytorch-randaugment's WideBasic: `nn.Dropout(p=dropout_rate)` before bn2, built only
    from a call whose arguments are not all literal (every real build passes 0.0)."""
    result = lint_tree("""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, planes, dropout_rate):
            super().__init__()
            self.conv = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.dropout = nn.Dropout(p=dropout_rate)
            self.bn = nn.BatchNorm2d(planes)

        def forward(self, x):
            return self.bn(self.dropout(self.conv(x)))
    """, select=["CNN102"])
    assert result.findings == []


def test_a_helper_that_resets_gradients_counts_at_every_call(
        lint_tree: Callable[..., Any]) -> None:
    """pytorch-tutorial's GAN: `reset_grad()` zeroes both optimizers before each backward.
    A call that computes nothing must not be replayed from memory without its events."""
    result = lint_tree("""
    import torch
    import torch.nn as nn

    D, G = nn.Linear(4, 1), nn.Linear(2, 4)
    d_optimizer = torch.optim.Adam(D.parameters(), lr=2e-4)
    g_optimizer = torch.optim.Adam(G.parameters(), lr=2e-4)

    def reset_grad():
        d_optimizer.zero_grad()
        g_optimizer.zero_grad()

    for epoch in range(3):
        for x in loader:
            reset_grad()
            D(x).mean().backward()
            d_optimizer.step()
            reset_grad()
            D(G(torch.randn(8, 2))).mean().backward()
            g_optimizer.step()
    """, select=["CNN205"])
    assert result.findings == []


def test_a_config_dict_from_vars_and_filtered_parameters(lint_tree: Callable[..., Any]) -> None:
    """pytorch-nested-unet: `config = vars(parse_args())`, the model picked from a module's
    namespace, its parameters filtered before the optimizer."""
    result = lint_tree({"archs.py": CIFAR_NETS, "train.py": """
    import argparse
    import torch
    import archs

    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--arch", default="plain10")
        parser.add_argument("--optimizer", default="SGD")
        config = vars(parser.parse_args())
        model = archs.__dict__[config["arch"]]()
        params = filter(lambda p: p.requires_grad, model.parameters())
        if config["optimizer"] == "Adam":
            optimizer = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-4)
        else:
            optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()

    if __name__ == "__main__":
        main()
    """}, select=["CNN107", "CNN206"])
    assert result.findings == []
    (run,) = result.runs
    assert [o.kind for o in run.optimizers] == ["SGD"] and run.models[0].keys[-1] == "archs:plain10"


def test_a_u_net_decoder_without_norm_is_a_deep_unnormalised_stack(
        lint_tree: Callable[..., Any]) -> None:
    """pytorch-semseg's unet: BatchNorm in the encoder, none in the decoder. The skip
    concatenations carry normalised encoder features, but the decoder's convolutions are
    still in series with no norm among them (only a residual addition resets the count)."""
    result = lint_tree("""
    import torch
    import torch.nn as nn

    def block(cin, cout, norm):
        if norm:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                                 nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1),
                                 nn.BatchNorm2d(cout), nn.ReLU())
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = block(3, 8, True)
            self.enc2 = block(8, 8, True)
            self.mid = block(8, 8, True)
            self.up2 = nn.ConvTranspose2d(8, 8, 2, 2)
            self.dec2 = block(16, 8, False)
            self.up1 = nn.ConvTranspose2d(8, 8, 2, 2)
            self.dec1 = block(16, 8, False)
            self.out = nn.Conv2d(8, 1, 1)

        def forward(self, x):
            x1 = self.enc1(x)
            x2 = self.enc2(x1)
            d = self.mid(x2)
            d = self.dec2(torch.cat([x2, self.up2(d)], 1))
            d = self.dec1(torch.cat([x1, self.up1(d)], 1))
            return self.out(d)
    """, select=["CNN104"])
    (finding,) = result.findings
    assert "7 conv layers with no normalization" in finding.message


# A timm-style model file: per-block drop-path rates from torch.linspace, a hand-written
# LayerNorm, and factories registered with a library that builds models by name.
REGISTERED_NETS = """
import torch
import torch.nn as nn
from timm.models.registry import register_model


class LayerNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps)


class Block(nn.Module):
    def __init__(self, dim, drop_path=0.0):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.norm = LayerNorm(dim)
        self.drop_path = nn.Dropout(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x):
        return x + self.drop_path(self.norm(self.conv(x)))


class Stack(nn.Module):
    def __init__(self, depth=10, drop_path_rate=0.0):
        super().__init__()
        rates = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.Sequential(*[Block(16, rates[i]) for i in range(depth)])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.blocks(x).mean((2, 3)))


@register_model
def stack_tiny(**kwargs):
    return Stack(depth=10, **kwargs)
"""


def test_drop_path_rates_from_linspace_and_a_hand_written_layer_norm_are_read(
        lint_tree: Callable[..., Any]) -> None:
    result = lint_tree({"models.py": REGISTERED_NETS}, select=["CNN107"])
    assert all(m.network.complete for m in result.models)
    (info,) = result.findings
    assert info.severity == "info" and "no training script followed" in info.message


def test_a_model_registered_with_the_library_a_script_builds_models_by_name_with(
        lint_tree: Callable[..., Any]) -> None:
    """`timm.create_model(args.model)` may build any model registered with timm: how the
    project's registered models are trained is not known (a literal name picks one)."""
    script = """
    import argparse
    import torch
    from timm.models import create_model
    import models

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet50")
    args = parser.parse_args()
    model = create_model({name})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    """
    by_name = lint_tree({"models.py": REGISTERED_NETS,
                         "main.py": script.format(name="args.model")}, select=["CNN107"])
    assert by_name.findings == []
    literal = lint_tree({"models.py": REGISTERED_NETS,
                         "main.py": script.format(name="'resnet50'")}, select=["CNN107"])
    assert [f.severity for f in literal.findings] == ["info"]


@pytest.mark.parametrize("entry, trained_there", [
    ("from srlib.train import train_pipeline\n\ntrain_pipeline('.')\n", True),
    ("from srlib.utils import scandir\n\nscandir('.')\n", False),
])
def test_a_class_registered_with_a_library_whose_training_a_script_runs_may_be_trained(
        lint_tree: Callable[..., Any], entry: str, trained_there: bool) -> None:
    """A discriminator class registered with a library's registry by a decorator, built in
    a test with arguments, and a script that hands control to that library's training
    pipeline (which builds networks by the names its configuration gives): it may be
    trained there, so it is not said to have no training script."""
    nets = """
import torch.nn as nn
from srlib.registry import ARCH_REGISTRY

@ARCH_REGISTRY.register()
class Critic(nn.Module):
    def __init__(self, channels, width=16):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 3, padding=1)]
        for _ in range(9):
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
"""
    test = "from archs import Critic\n\n\ndef test_critic():\n    Critic(3, width=8)\n"
    result = lint_tree({"archs.py": nets, "test_archs.py": test,
                        "train.py": "import torch.optim\nimport archs\n" + entry},
                       select=["CNN107"])
    assert bool(result.findings) is not trained_there


def test_a_model_picked_by_a_command_line_option_in_an_if_chain_is_trained(
        lint_tree: Callable[..., Any]) -> None:
    """`if args.net == "plain20": ... elif ...` and `if args.deep:` (a store_true switch):
    the default picks one model, the command line the others."""
    for pick in ("if args.net == 'plain20':\n        model = plain20()\n    "
                 "else:\n        model = plain10()",
                 "model = plain10()\n    if args.deep:\n        model = plain20()"):
        result = lint_tree({"models.py": CIFAR_NETS, "train.py": f"""
    import argparse
    import torch
    from models import plain10, plain20

    parser = argparse.ArgumentParser()
    parser.add_argument("--net", default="plain10")
    parser.add_argument("--deep", action="store_true")
    args = parser.parse_args()
    {pick}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
    """}, select=["CNN107"])
        # plain10 and plain20 are both trained with decay (and Plain() is plain10).
        assert result.findings == [], pick


def test_a_model_picked_by_a_part_of_an_option_s_name_in_a_builder_is_trained(
        lint_tree: Callable[..., Any]) -> None:
    """A builder of another file given the option picks by parts of the name (`if "20" in
    name and "plain" in name:`): the command line may pick either model."""
    zoo = """
from models import plain10, plain20

def build(name):
    if "20" in name and "plain" in name:
        return plain20()
    return plain10()
"""
    script = "\n".join([
        "import argparse", "import torch", "import zoo", "",
        "options = argparse.ArgumentParser()", "options.add_argument('--net', default='plain10')",
        "args = options.parse_args()", "model = zoo.build(args.net)",
        "sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)",
        "for x, y in loader:", "    sgd.zero_grad()", "    model(x).sum().backward()",
        "    sgd.step()", ""])
    result = lint_tree({"models.py": CIFAR_NETS, "zoo.py": zoo, "train.py": script},
                       select=["CNN107"])
    assert result.findings == []


def test_a_class_picked_by_a_command_line_option_is_trained(
        lint_tree: Callable[..., Any]) -> None:
    """`net = Plain` for the default and `net = Wide` for `--arch wide`, then `net(16)`: the
    script trains whichever class the option names, so neither is "not trained"."""
    wide = CIFAR_NETS.split("def plain10")[0] + """
class Wide(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(width, width, 3) for _ in range(12)])

    def forward(self, x):
        return self.body(x)
"""
    script = """
    import argparse
    import torch
    from models import Plain, Wide

    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="plain")
    args = parser.parse_args()
    if args.arch == "plain":
        net = Plain
    elif args.arch == "wide":
        net = Wide
    else:
        raise ValueError(args.arch)
    model = net(16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, DECAY)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
    """
    result = lint_tree({"models.py": wide, "train.py": script.replace(
        "DECAY", "weight_decay=5e-4")}, select=["CNN107"])
    assert result.findings == []
    result = lint_tree({"models.py": wide, "train.py": script.replace(
        ", DECAY", "")}, select=["CNN107"])
    assert [(f.line, f.severity, f.message.endswith("no weight decay (`SGD` at train.py:15)"))
            for f in result.findings] == [(3, "warning", True), (13, "warning", True)]


def test_a_hub_entry_wrapping_a_handed_off_factory_is_not_judged_untrained(
        lint_tree: Callable[..., Any]) -> None:
    result = lint_tree({"models.py": CIFAR_NETS, "hubconf.py": """
    def plain10(**kwargs):
        from models import plain10 as _plain10
        return _plain10(**kwargs)
    """, "train.py": """
    from homura.trainers import SupervisedTrainer
    from models import plain10

    with SupervisedTrainer(plain10(), optimizer, loss) as trainer:
        trainer.train(loader)
    """}, select=["CNN107"])
    assert "hubconf.py" not in [f.path for f in result.findings]


def test_a_forward_without_return_is_read_in_full(lint_tree: Callable[..., Any]) -> None:
    """A forward that falls off its end returns None (a bug, but every layer was read)."""
    result = lint_tree({"models.py": CIFAR_NETS.replace("return self.body(x)",
                                                        "x = self.body(x)")},
                       select=["CNN107"])
    assert all(m.network.complete for m in result.models)
    assert [f.severity for f in result.findings] == ["info"]


YACS_CONFIG = """
from yacs.config import CfgNode as CN

_C = CN()
cfg = _C
_C.MODEL = CN()
_C.MODEL.DEPTH = 12
_C.MODEL.ACTIVATION = "relu"
_C.OPTIM = CN({"LR": 0.1, "MOMENTUM": 0.0})
"""

YACS_NETS = """
import torch.nn as nn
from config import cfg


def activation():
    return nn.ReLU() if cfg.MODEL.ACTIVATION == "relu" else nn.SiLU()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(cfg.MODEL.DEPTH)
                                    for m in (nn.Conv2d(8, 8, 3, padding=1), activation())])

    def forward(self, x):
        return self.body(x)


class Widened(nn.Module):
    def __init__(self):
        super().__init__()
        cfg.MODEL.DEPTH = 2  # a constructor that rewrites the global config
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU())

    def forward(self, x):
        return self.body(x)
"""


def test_a_model_built_from_a_yacs_config_reads_its_defaults(
        lint_tree: Callable[..., Any]) -> None:
    """`cfg.MODEL.DEPTH` from a yacs CfgNode: the defaults the config module sets. A
    constructor that rewrites the config does not change what the other models see."""
    head, net, widened = YACS_NETS.partition("\n\nclass Net(")[0], \
        "\n\nclass Net(" + YACS_NETS.partition("\n\nclass Net(")[2].partition(
            "\n\nclass Widened(")[0], "\n\nclass Widened(" + YACS_NETS.partition(
            "\n\nclass Widened(")[2]
    for order in ("net first", "widened first"):  # the same whichever is built first
        nets = head + (net + widened if order == "net first" else widened + net)
        result = lint_tree({"config.py": YACS_CONFIG, "nets.py": nets}, select=["CNN103"])
        assert [f.message.split(" in a row")[0] for f in result.findings] == [
            "12 weighted layers"], order


def test_a_config_merged_from_a_file_is_not_known(lint_tree: Callable[..., Any]) -> None:
    script = """
    import argparse
    import torch
    from omegaconf import OmegaConf
    from config import cfg
    from nets import Net

    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg", required=True)
    args = parser.parse_args()
    {merge}
    run = OmegaConf.create({{"epochs": 3, "batch_size": 64}})
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.OPTIM.LR, momentum=cfg.OPTIM.MOMENTUM)
    loader = torch.utils.data.DataLoader(torch.load("t.pt"), batch_size=run.batch_size,
                                         shuffle=True)
    for epoch in range(run.epochs):
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
    """
    defaults = lint_tree({"config.py": YACS_CONFIG, "nets.py": YACS_NETS,
                          "train.py": script.format(merge="")}, select=["CNN206"])
    assert [f.message for f in defaults.findings] == [
        "`SGD` has momentum 0 (config `cfg.OPTIM.MOMENTUM`)"]
    (run,) = defaults.runs
    assert [loader.batch_size.value for loader in run.loaders] == [64]  # type: ignore[union-attr]
    merged = lint_tree({"config.py": YACS_CONFIG, "nets.py": YACS_NETS,
                        "train.py": script.format(merge="cfg.merge_from_file(args.cfg)")},
                       select=["CNN206", "CNN103"])
    # The merge may set any momentum; the models are still judged on the defaults.
    assert [f.code for f in merged.findings] == ["CNN103"]


def test_an_autograd_variable_is_the_tensor_it_wraps(lint_tree: Callable[..., Any]) -> None:
    """Pre-0.4 code wraps tensors in `Variable(...)`: the model is still read in full."""
    result = lint_tree({"vae.py": """
    import torch
    import torch.nn as nn
    from torch.autograd import Variable

    class Coder(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(5)])
            self.dec = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(5)])

        def forward(self, x):
            code = self.enc(x)
            noise = Variable(torch.randn_like(code))
            return self.dec(code + noise)
    """}, select=["CNN103"])
    assert [f.message.split(",")[0] for f in result.findings] == [
        "10 weighted layers in a row with no skip connection"]
    assert not result.partly_read()


def test_an_attention_map_resized_before_it_scales_is_a_gate(
        lint_tree: Callable[..., Any]) -> None:
    """A sigmoid attention map upsampled to the features it multiplies gates them: it is not
    a hidden activation. The same sigmoid feeding the next convolution is one."""
    source = """
    import torch.nn as nn
    import torch.nn.functional as F

    class Gate(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.theta = nn.Conv2d(c, c, 1, stride=2)
            self.psi = nn.Conv2d(c, 1, 1)

        def forward(self, x):
            alpha = self.psi(F.relu(self.theta(x))).sigmoid()
            USE

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.gates = nn.ModuleList([Gate(8) for _ in range(4)])
            self.head = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            x = F.relu(self.stem(x))
            for gate in self.gates:
                x = gate(x)
            return self.head(x)
    """
    gated = source.replace("USE", "return x * F.interpolate(alpha, size=x.shape[2:])")
    assert lint_tree({"net.py": gated}, select=["CNN106"]).findings == []
    hidden = source.replace("USE", "return F.interpolate(alpha, size=x.shape[2:]) + x")
    assert [f.code for f in lint_tree({"net.py": hidden}, select=["CNN106"]).findings] == [
        "CNN106"]


def test_a_network_held_by_a_plain_trainer_class_is_still_read(
        lint_tree: Callable[..., Any]) -> None:
    """`self.G = Maker(args.channels)` in a trainer that is not an nn.Module: the network is
    not a part of another one, so it is read with its argument unknown. Held by another
    network, it stays a part of that one, not a model read on its own."""
    maker = """
    import torch.nn as nn

    class Maker(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.body = nn.Sequential(nn.ConvTranspose2d(channels, 32, 4), nn.BatchNorm2d(32),
                                      nn.ReLU(), nn.ConvTranspose2d(32, 3, 4), nn.Tanh())

        def forward(self, z):
            return self.body(z)

    class HOLDER:
        def __init__(self, args):
            self.G = Maker(args.channels)
    """
    found = lint_tree({"gan.py": maker.replace("HOLDER", "Trainer(object)")},
                      select=["CNN101"]).findings
    assert [(f.line, f.symbol) for f in found] == [(6, "Maker")]
    assert lint_tree({"gan.py": maker.replace("HOLDER", "Pair(nn.Module)")},
                     select=["CNN101"]).findings == []


UNET_TWO_DECODERS = """
import torch
import torch.nn as nn

def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())

class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2)
        self.m2, self.m1, self.m0 = block(48, 16), block(24, 8), block(12, 4)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, a, b, c, d):
        y = self.m2(torch.cat([c, self.up(d)], 1))
        y = self.m1(torch.cat([b, self.up(y)], 1))
        return self.out(self.m0(torch.cat([a, self.up(y)], 1)))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.e0, self.e1, self.e2, self.e3 = block(1, 4), block(4, 8), block(8, 16), block(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.first, self.second = Decoder(), Decoder()

    def forward(self, x):
        a = self.e0(x)
        b = self.e1(self.pool(a))
        c = self.e2(self.pool(b))
        d = self.e3(self.pool(c))
        RETURN
"""


@pytest.mark.parametrize("returned", [
    "return self.first(a, b, c, d), self.second(a, b, c, d)",
    "extra = self.second(a, b, c, d)\n        return self.first(a, b, c, d)",
])
def test_an_encoder_read_by_two_u_net_decoders_is_spanned(
        lint_tree: Callable[..., Any], returned: str) -> None:
    """Each way forward from the encoder passes one decoder's concatenation or the other's,
    both carrying the same early tensor past it; a decoder whose result the forward drops
    is no way forward at all."""
    result = lint_tree({"net.py": UNET_TWO_DECODERS.replace("RETURN", returned)},
                       select=["CNN103"])
    assert result.findings == []


UNET_SIDE_HEADS = """
import torch
import torch.nn as nn

def pair(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.ModuleList([pair(1, 8)] + [pair(8, 8) for _ in range(4)])
        self.pool, self.up = nn.MaxPool2d(2), nn.Upsample(scale_factor=16)
        self.merge = pair(16, 8)
        self.side = nn.Conv2d(8, 2, 1)
        self.main = nn.Conv2d(8, 2, 1)
        self.final = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        first = self.down[0](x)
        y = first
        for stage in self.down[1:]:
            y = stage(self.pool(y))
        merged = self.merge(torch.cat([first, self.up(y)], 1))
        side = self.up(self.side(y))
        RETURN
"""


@pytest.mark.parametrize("returned, flagged", [
    # Deep supervision: a head on the bottom stage joins the main head before the end.
    ("return self.final(torch.cat([self.main(merged), side], 1))", False),
    # The side head is an output of its own: its loss reaches the encoder through the
    # whole encoder, past no skip.
    ("return self.main(merged), side", True),
])
def test_a_side_head_that_joins_the_output_again_leaves_a_u_net_skip_spanning(
        lint_tree: Callable[..., Any], returned: str, flagged: bool) -> None:
    """The concatenation of the first stage's output past the encoder spans the encoder's
    deeper stages. A side head reading the bottom stage is another way forward that misses
    the concatenation; when it is concatenated with the main head before the final layer,
    the gradient of that one output still goes round the encoder by the skip."""
    result = lint_tree({"net.py": UNET_SIDE_HEADS.replace("RETURN", returned)},
                       select=["CNN103"])
    assert bool(result.findings) is flagged, [f.message for f in result.findings]


def test_a_map_the_forward_drops_does_not_make_a_gate_a_hidden_activation(
        lint_tree: Callable[..., Any]) -> None:
    source = """
    import torch
    import torch.nn as nn

    class Gate(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.score = nn.Conv2d(c, 1, 1)

        def forward(self, x):
            w = torch.sigmoid(self.score(x))
            return x * w, w

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(6)])
            self.gates = nn.ModuleList([Gate(8) for _ in range(6)])

        def forward(self, x):
            maps = []
            for conv, gate in zip(self.convs, self.gates):
                x, w = gate(torch.relu(conv(x)))
                KEEP
            return x
    """
    dropped = source.replace("KEEP", "maps.append(w)").replace(
        "return x\n", "unused = torch.cat(maps, 1)\n            return x\n")
    assert lint_tree({"net.py": dropped}, select=["CNN106"]).findings == []


@pytest.mark.parametrize("unpool", ["F.max_unpool2d(x, idx, 2, 2)", "self.unpool(x, idx)"])
def test_a_segnet_decoder_that_unpools_by_indices_is_read(
        lint_tree: Callable[..., Any], unpool: str) -> None:
    """Max-unpooling puts values back where the pooling took them: the indices carry no
    data, so the encoder and decoder are one plain chain."""
    source = """
    import torch.nn as nn
    import torch.nn.functional as F

    class SegNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.ModuleList([nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1)
                                      for i in range(5)])
            self.dec = nn.ModuleList([nn.Conv2d(16, 16, 3, padding=1) for _ in range(5)])
            self.unpool = nn.MaxUnpool2d(2, 2)

        def forward(self, x):
            indices = []
            for conv in self.enc:
                x, idx = F.max_pool2d(F.relu(conv(x)), 2, 2, return_indices=True)
                indices.append(idx)
            for conv, idx in zip(self.dec, reversed(indices)):
                x = F.relu(conv(UNPOOL))
            return x
    """.replace("UNPOOL", unpool)
    result = lint_tree({"net.py": source}, select=["CNN103"])
    assert [f.message.split(",")[0] for f in result.findings] == [
        "10 weighted layers in a row with no skip connection"]
    assert not result.partly_read()


def test_a_factory_that_needs_only_a_number_of_classes_is_read(
        lint_tree: Callable[..., Any]) -> None:
    """`def vgg_bn(num_classes): return VGG(..., num_classes)`, picked by a script through
    `globals()[cfg.arch](cfg.num_classes)`: the number of classes sizes the classifier only,
    so the network is read with it unknown, and the script may train any network of the
    module."""
    result = lint_tree({"models.py": """
    import torch.nn as nn

    class VGG(nn.Module):
        def __init__(self, widths, num_classes):
            super().__init__()
            layers, cin = [], 3
            for w in widths:
                layers += [nn.Conv2d(cin, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
                cin = w
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(cin, num_classes)

        def forward(self, x):
            return self.classifier(self.features(x).mean((2, 3)))

    def vgg_bn(num_classes):
        return VGG([16] * 8, num_classes)

    def build(cfg):
        return globals()[cfg.arch](cfg.num_classes)
    """, "train.py": """
    import torch
    import yaml
    from models import build

    cfg = yaml.safe_load(open("config.yaml"))
    net = build(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for epoch in range(3):
        for x, y in torch.load("batches.pt"):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    """}, select=["CNN101", "CNN107"])
    assert [(f.code, f.symbol) for f in result.findings] == [("CNN101", "VGG")]


def test_a_finding_merged_across_builders_is_named_after_one_that_needs_no_argument(
        lint_tree: Callable[..., Any]) -> None:
    result = lint_tree({"nets.py": """
    import torch.nn as nn

    class Plain(nn.Module):
        def __init__(self, depth, classes):
            super().__init__()
            self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(depth)])
            self.head = nn.Linear(8, classes)

        def forward(self, x):
            return self.head(self.body(x).mean((2, 3)))

    def get_plain(classes):
        return Plain(10, classes)

    def plain_cifar10():
        return get_plain(10)
    """}, select=["CNN103"])
    (finding,) = result.findings
    assert finding.message.endswith("(plain_cifar10; also in get_plain)")


@pytest.mark.parametrize("deform", [
    "torchvision.ops.deform_conv2d(x, OFFSET, self.weight, padding=1)",
    "self.dcn(x, OFFSET)",
])
def test_offsets_bounded_by_tanh_steer_a_deformable_conv(
        lint_tree: Callable[..., Any], deform: str) -> None:
    """A deformable conv's offsets, bounded by `4 * tanh(...)` and shifted by a flow, set
    where it samples: the tanh is no hidden activation, and the offset head is not in
    series with the features (the plain run counts the feature path only). A tanh on the
    features it convolves is a hidden activation."""
    source = """
    import torch
    import torch.nn as nn
    import torchvision

    class Align(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(c, c, 3, 3))
            self.dcn = torchvision.ops.DeformConv2d(c, c, 3, padding=1)
            self.head = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1), nn.LeakyReLU(0.1),
                                      nn.Conv2d(c, 18, 3, padding=1))

        def forward(self, x, ref, flow):
            steer = 4 * torch.tanh(self.head(torch.cat([x, ref], 1))) + flow
            return DEFORM

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.aligns = nn.ModuleList([Align(8) for _ in range(4)])
            self.out = nn.Conv2d(8, 3, 3, padding=1)

        def forward(self, frame, ref, flow):
            x, r = self.stem(frame), self.stem(ref)
            for align in self.aligns:
                x = align(x, r, flow)
            return self.out(x)
    """.replace("DEFORM", deform)
    steered = lint_tree({"net.py": source.replace("OFFSET", "steer")},
                        select=["CNN104", "CNN106"]).findings
    assert [(f.code, f.message.split(" conv")[0]) for f in steered] == [("CNN104", "6")]
    tanh_on_features = source.replace("x, OFFSET", "torch.tanh(steer + x), flow")
    assert "CNN106" in [f.code for f in lint_tree(
        {"net.py": tanh_on_features}, select=["CNN106"]).findings]


def test_a_list_used_as_a_key_on_a_path_that_cannot_run_is_no_crash(
        lint_tree: Callable[..., Any]) -> None:
    """A vocabulary's `__getitem__` looks a token up with `dict.get`, or maps itself over a
    list of tokens; with both ways read, the lookup meets a list. Python would never take
    that way, and the reader does not fail on it (nor on a list as a subscript key)."""
    source = """
    import torch
    import torch.nn as nn

    class Vocab:
        def __init__(self, words):
            self.ids = {w: i for i, w in enumerate(words)}

        def __getitem__(self, key):
            if not isinstance(key, (list, tuple)):
                self.ids[key] = self.ids.pop(key, 0)
                return self.ids.get(key, 0)
            return [self[k] for k in key]

    vocab = Vocab(["a", "b"])
    net = nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch in range(3):
        opt.zero_grad()
        net(torch.randn(8, 4)).sum().backward()
        opt.step()
    print(vocab["a b".split(" ")])
    """
    result = lint_tree({"train.py": source})
    assert result.errors == [] and result.runs


INPLACE_RESIDUAL = """
import torch.nn as nn


def unit(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]


class Widen(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.cin = cin
        self.body = nn.Sequential(*unit(cin, cout), *unit(cout, cout))

    def forward(self, x):
        y = self.body(x)
        UPDATE
        return y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        blocks, c = unit(3, 16), 16
        for _ in range(6):
            blocks.append(Widen(c, c + 8))
            c += 8
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))
"""


@pytest.mark.parametrize("update, plain", [
    ("y[:, 0:self.cin] += x", False),  # the input added onto the first channels: a skip
    ("y[:, 0:self.cin] *= 2", True),  # scaled in place: no skip
])
def test_an_input_added_in_place_onto_some_channels_is_a_skip(
        lint_tree: Callable[..., Any], update: str, plain: bool) -> None:
    """A block that widens its output adds its input onto the first channels in place
    (`y[:, :cin] += x`): a residual connection like `y + x`."""
    found = lint_tree({"net.py": INPLACE_RESIDUAL.replace("UPDATE", update)},
                      select=["CNN103"]).findings
    assert [f.code for f in found] == (["CNN103"] if plain else [])


def test_a_functional_call_in_a_block_run_by_two_of_its_instances_is_two_layers(
        lint_tree: Callable[..., Any]) -> None:
    """Attention built from a conv subclass whose forward calls `F.conv2d`: the query and
    key convs, alike and given the same input, are two layers, not one."""
    source = """
    import functools
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Scaled(nn.Conv2d):
        def forward(self, x):
            return F.conv2d(x, self.weight / self.weight.norm(), self.bias, self.stride,
                            self.padding)

    class Net(nn.Module):
        def __init__(self, c=8):
            super().__init__()
            conv = functools.partial(Scaled, kernel_size=1, bias=False)
            self.query, self.key, self.value = conv(c, c // 2), conv(c, c // 2), conv(c, c)
            self.convs = nn.ModuleList([nn.Conv2d(c, c, 3, padding=1) for _ in range(9)])

        def forward(self, x):
            for layer in self.convs:
                x = F.relu(layer(x))
            q, k = self.query(x).flatten(2), self.key(x).flatten(2)
            a = torch.softmax(q.transpose(1, 2) @ k, -1)
            return self.value(x).flatten(2) @ a
    """
    (found,) = lint_tree({"net.py": source}, select=["CNN107"]).findings
    assert found.message.startswith("12 weighted layers")


def test_offsets_bounded_by_tanh_steer_grid_sampling(lint_tree: Callable[..., Any]) -> None:
    """Deformable attention: offsets bounded by tanh move a sampling grid for
    `F.grid_sample`; the tanh decides where to sample, it is no hidden activation."""
    source = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Sampled(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.norm = nn.GroupNorm(4, c)
            self.offsets = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.GELU(),
                                         nn.Conv2d(c, 2, 1))
            self.value = nn.Conv2d(c, c, 1)

        def forward(self, x, base):
            grid = base + self.offsets(self.norm(x)).tanh().permute(0, 2, 3, 1)
            return x + self.value(F.grid_sample(SAMPLED, grid, align_corners=True))

    class Net(nn.Module):
        def __init__(self, c=16):
            super().__init__()
            self.stem = nn.Conv2d(3, c, 3, padding=1)
            self.blocks = nn.ModuleList([Sampled(c) for _ in range(6)])

        def forward(self, x, base):
            x = self.stem(x)
            for block in self.blocks:
                x = block(x, base)
            return x
    """
    steered = lint_tree({"net.py": source.replace("SAMPLED", "x")}, select=["CNN106"])
    assert steered.findings == []


@pytest.mark.parametrize("name, normalised", [("ChannelNorm", True), ("LayerNorm2d", True),
                                              ("ChannelScale", False)])
def test_a_norm_layer_written_by_hand_is_a_norm(
        lint_tree: Callable[..., Any], name: str, normalised: bool) -> None:
    """A project's own norm (`class LayerNorm(nn.Module)` computing the mean and variance
    by hand, HorNet and ConvNeXt style) normalises the convs around it; a module of the same
    shape not named for a norm is not taken for one."""
    source = f"""
    import torch
    import torch.nn as nn

    class {name}(nn.Module):
        def __init__(self, c, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(c))
            self.eps = eps

        def forward(self, x):
            mu = x.mean(1, keepdim=True)
            var = (x - mu).pow(2).mean(1, keepdim=True)
            return self.weight[:, None, None] * (x - mu) / torch.sqrt(var + self.eps)

    class Net(nn.Module):
        def __init__(self, c=32):
            super().__init__()
            layers = []
            for _ in range(8):
                layers += [nn.Conv2d(c if layers else 3, c, 3, padding=1), {name}(c), nn.GELU()]
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return self.body(x)
    """
    found = lint_tree({"net.py": source}, select=["CNN104"]).findings
    assert [f.code for f in found] == ([] if normalised else ["CNN104"])


def test_a_module_added_under_a_name_already_used_replaces_it(
        lint_tree: Callable[..., Any]) -> None:
    """`add_module(name, ...)` with a name the container already holds puts the new module
    in the old one's place, as torch does: the one replaced is no layer of the model."""
    source = """
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self, d=64):
            super().__init__()
            self.body = nn.Sequential()
            for i in range(8):
                self.body.add_module(f"stage{i}", nn.Conv1d(16, 16, 1))
                self.body.add_module(f"stage{i}", nn.Sequential(nn.Linear(d, d), nn.GELU()))
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            return self.head(self.body(x))
    """
    (found,) = lint_tree({"net.py": source}, select=["CNN107"]).findings
    assert found.message.startswith("9 weighted layers")


def test_a_norm_derived_from_torchs_batchnorm_stays_a_batchnorm(
        lint_tree: Callable[..., Any]) -> None:
    """A subclass of torch's `_BatchNorm` whose forward calls `F.batch_norm` (always in
    training mode) is read through its forward: a conv with a bias before it is flagged."""
    source = """
    import torch.nn as nn
    import torch.nn.functional as F

    class ContBatchNorm3d(nn.modules.batchnorm._BatchNorm):
        def forward(self, x):
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                self.bias, True, self.momentum, self.eps)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(1, 8, 3, padding=1)
            self.bn = ContBatchNorm3d(8)

        def forward(self, x):
            return self.bn(self.conv(x))
    """
    found = lint_tree({"net.py": source}, select=["CNN101"]).findings
    assert [f.code for f in found] == ["CNN101"]


def test_a_layer_predicting_sampling_offsets_may_start_near_zero(
        lint_tree: Callable[..., Any]) -> None:
    """A convolution whose output only shifts a sampling grid (deformable sampling through
    `grid_sample`) starts near zero on purpose: the sampling begins at the identity. The same
    scale on the convolution that computes the features is flagged (CNN108)."""
    source = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class ShiftedConv(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.main = nn.Conv2d(ch, ch, 3, padding=1)
        self.shift = nn.Conv2d(ch, 2, 3, padding=1, bias=False)
        self.TARGET.weight.data.normal_(0, 0.0005)

    def forward(self, x):
        n, c, h, w = x.shape
        ys = torch.linspace(-1, 1, h).view(1, h, 1).expand(n, h, w)
        xs = torch.linspace(-1, 1, w).view(1, 1, w).expand(n, h, w)
        d = self.shift(x)
        grid = torch.stack((xs + d[:, 0], ys + d[:, 1]), 3)
        return self.main(F.grid_sample(x, grid, align_corners=True))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = ShiftedConv(8)

    def forward(self, x):
        return self.block(self.stem(x))
"""
    for target, expected in (("shift", []), ("main", ["CNN108"])):
        result = lint_tree({"nets.py": source.replace("TARGET", target)}, select=["CNN108"])
        assert sorted({f.code for f in result.findings}) == expected, target


def test_layers_whose_output_the_forward_drops_are_on_no_plain_run(
        lint_tree: Callable[..., Any]) -> None:
    """A side branch computed and then overwritten (`y = side(b)`, then `y = head(a)`) never
    reaches the output: its layers get no gradient, and the long chain through them is no
    path of the network (CNN103). The same chain kept is one."""
    source = """
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.early = nn.Conv2d(16, 16, 3, padding=1)
        self.late = nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1) for _ in range(8)])
        self.side = nn.Conv2d(16, 16, 3, padding=1)
        self.head = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x):
        a = F.relu(self.early(F.relu(self.stem(x))))
        y = self.side(self.late(a))
        LAST
        return y
"""
    for last, expected in (("y = self.head(a)", []), ("y = self.head(y)", ["CNN103"])):
        result = lint_tree({"nets.py": source.replace("LAST", last)}, select=["CNN103"])
        assert [f.code for f in result.findings] == expected, last


def test_math_functions_on_constants_keep_a_network_known(
        lint_tree: Callable[..., Any]) -> None:
    """Block counts scaled by a multiplier through the math module (`ceil(r * mult)`) are
    numbers: the network they build is read in full, and its conv-bias finding is made."""
    source = """
import math
import torch.nn as nn
from math import ceil


class Net(nn.Module):
    def __init__(self, depth_mult=1.0):
        super().__init__()
        reps = [ceil(r * depth_mult) for r in (1, 2)]
        width = int(math.log2(256)) * 2
        layers = []
        for count in reps:
            for _ in range(count):
                layers += [nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width),
                           nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
"""
    result = lint_tree({"nets.py": source}, select=["CNN101"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN101", 14)]
    assert not [n for n in result.notes() if "partially analysed" in n]


def test_a_static_forward_takes_no_self(lint_tree: Callable[..., Any]) -> None:
    """`@staticmethod def forward(x)` (an activation module written as a function) is
    called with the input alone: the network around it is read in full."""
    source = """
import torch
import torch.nn as nn


class Swish(nn.Module):
    @staticmethod
    def forward(x):
        return x * torch.sigmoid(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(10):
            layers += [nn.Conv2d(8, 8, 3, padding=1), Swish()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
"""
    result = lint_tree({"nets.py": source}, select=["CNN103"])
    assert [f.code for f in result.findings] == ["CNN103"]


def test_a_sequential_of_layers_not_known_is_no_shortcut(lint_tree: Callable[..., Any]) -> None:
    """`nn.Sequential(*units)` of a list the reader could not fill runs layers it does not
    know: the conv before it does not feed the norm after it (CNN101 would offer a fix that
    changes the network). One known to be empty passes its input on."""
    source = """
import torch.nn as nn


class Tower(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        MIDDLE
        self.head = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU())

    def forward(self, x):
        return self.head(self.units(self.stem(x)))


net = Tower(cfg=None)
"""
    unknown = "self.units = nn.Sequential(*[make_unit(c) for c in cfg.widths])"
    known = "self.units = nn.Sequential(*[make_unit(c) for c in ()])"  # known: empty
    for middle, expected in ((unknown, []), (known, ["CNN101"])):
        result = lint_tree({"nets.py": source.replace("MIDDLE", middle)}, select=["CNN101"])
        assert [f.code for f in result.findings] == expected, middle


def test_padding_zeroed_between_a_conv_and_its_norm_keeps_the_bias(
        lint_tree: Callable[..., Any]) -> None:
    """A speech front end zeroes the padded time steps after every layer
    (`x.masked_fill(pad, 0)`): between a conv and a BatchNorm that is not the same tensor,
    so the conv's bias is not cancelled (no CNN101, whose fix would change the network)."""
    source = """
import torch
import torch.nn as nn


class PadZeroing(nn.Module):
    def __init__(self, stack):
        super().__init__()
        self.stack = stack

    def forward(self, x, valid):
        for layer in self.stack:
            x = layer(x)
            MASK
        return x


class Front(nn.Module):
    def __init__(self):
        super().__init__()
        self.front = PadZeroing(nn.Sequential(nn.Conv2d(1, 16, 5, padding=2),
                                              nn.BatchNorm2d(16), nn.ReLU()))

    def forward(self, spec, valid):
        return self.front(spec, valid)
"""
    pad = "torch.arange(x.size(-1))[None, :] >= valid[:, None]"
    for mask, expected in ((f"x = x.masked_fill({pad}, 0)", []),
                           (f"x.masked_fill_({pad}, 0)", []),
                           ("pass", ["CNN101"])):
        result = lint_tree({"nets.py": source.replace("MASK", mask)}, select=["CNN101"])
        assert [f.code for f in result.findings] == expected, mask


def test_zeroing_the_last_of_the_layers_one_helper_line_builds_is_a_zero_head(
        lint_tree: Callable[..., Any]) -> None:
    """A head of two convs that one line of a helper builds (`*block(...), *block(...)`),
    of which `self.pred[-1]` is zeroed: the last layer starts at zero and meets nothing
    weighted after it (a zero-initialised head, no CNN108). Zeroing both, the first feeding
    the second, is still flagged."""
    source = """
import torch.nn as nn


def block(cin, cout, **kw):
    return [nn.Conv2d(cin, cout, **kw)]


class DetectHead(nn.Module):
    def __init__(self, n_out=12):
        super().__init__()
        self.pred = nn.Sequential(*block(64, 128, kernel_size=3, padding=1),
                                  *block(128, n_out, kernel_size=1))
        for i in WHICH:
            self.pred[i].weight.data.zero_()
            nn.init.zeros_(self.pred[i].bias)

    def forward(self, x):
        return self.pred(x).sigmoid()


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.heads = nn.ModuleList([DetectHead(), DetectHead(4)])

    def forward(self, x):
        x = self.stem(x)
        return [head(x) for head in self.heads]
"""
    for which, expected in (("(-1,)", []), ("(1,)", []), ("(0, 1)", ["CNN108"])):
        result = lint_tree({"heads.py": source.replace("WHICH", which)}, select=["CNN108"])
        assert sorted({f.code for f in result.findings}) == expected, which


HAND_NORMALISED = """
import torch
import torch.nn as nn


def whiten(t, eps=1e-5):
    n, c = t.shape[:2]
    flat = t.view(n, c, -1)
    return flat.mean(2).view(n, c, 1, 1), (flat.var(2) + eps).sqrt().view(n, c, 1, 1)


def recolour(x, style):
    mu, sigma = whiten(x)
    style_mu, style_sigma = whiten(style)
    return NORMALISE * style_sigma + style_mu


def stack(cin, cout, depth):
    layers = []
    for i in range(depth):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


class Painter(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = stack(3, 16, 4)
        self.look = stack(3, 16, 5)
        self.decode = stack(16, 3, 4)

    def forward(self, content, style):
        return self.decode(recolour(self.encode(content), self.look(style)))
"""


@pytest.mark.parametrize("normalise, run", [
    # AdaIN's instance norm by hand, in its spellings: the runs are the encoder's 4 convs
    # and, after the norm, the decoder's 4. The style's statistics only scale and shift the
    # content: the style's encoder (5) is not in series with the decoder.
    ("(x - mu) / sigma", 5),
    ("x.sub(mu).div(sigma)", 5),
    ("(x - x.mean((2, 3), keepdim=True)) * torch.rsqrt(x.var((2, 3), keepdim=True) + 1e-5)", 5),
    # Subtracting the mean alone, or dividing by another tensor's deviation, normalises
    # nothing: one run of 8, from the content's encoder (not the style's, longer).
    ("(x - mu)", 8),
    ("x / style_sigma", 8),
])
def test_normalisation_written_by_hand_is_a_norm(
        lint_tree: Callable[..., Any], normalise: str, run: int) -> None:
    """A norm computed from a tensor's own statistics in a forward (AdaIN, a functional
    instance or RMS norm) ends a run of convolutions without normalisation (CNN104) as a
    norm layer does; a statistic of another tensor scaling or shifting it only steers it."""
    source = HAND_NORMALISED.replace("NORMALISE", normalise)
    found = lint_tree({"paint.py": source}, select=["CNN104"]).findings
    if run < 6:  # under the rule's threshold
        assert found == []
        wider = source.replace("stack(3, 16, 4)", "stack(3, 16, 9)")
        found = lint_tree({"paint.py": wider}, select=["CNN104"]).findings
        assert [f.message.split(" conv")[0] for f in found] == ["9"]
        assert "from `encode.0` (Conv2d) to `encode.16` (Conv2d)" in found[0].message
        return
    assert [f.message.split(" conv")[0] for f in found] == [str(run)]
    assert "from `encode.0` (Conv2d) to `decode.6` (Conv2d)" in found[0].message


def test_a_layer_called_through_its_forward_method_is_applied(
        lint_tree: Callable[..., Any]) -> None:
    """`self.conv.forward(x)` in a block's forward (explicit calls, as some SE and ResNeXt
    ports write them) is `self.conv(x)`: the model is read in full, not left partly read."""
    source = """
    import torch.nn as nn

    class Squeeze(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.down = nn.Conv2d(c, c // 4, 1)
            self.up = nn.Conv2d(c // 4, c, 1)
            self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(c), nn.ReLU())

        def forward(self, x):
            y = self.body.forward(x)
            gate = self.up.forward(self.down.forward(y.mean((2, 3), keepdim=True)))
            return x + y * gate.sigmoid()

    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.stages = nn.Sequential(*[Squeeze(16) for _ in range(3)])

        def forward(self, x):
            return self.stages(x)
    """
    result = lint_tree({"tower.py": source}, select=["CNN107"])
    assert not any("partially analysed" in note for note in result.notes())
    assert [f.message.split(" and")[0] for f in result.findings] == ["9 weighted layers"]


def test_the_product_of_two_towers_is_no_gate(lint_tree: Callable[..., Any]) -> None:
    """Two towers ending in ReLU, multiplied (a bilinear fusion): their last ReLUs are the
    towers' activations, not a gate scaling its own input as hard swish's
    `x * relu6(x + 3) / 6` is, so plain ReLU everywhere is reported (CNN105)."""
    source = """
    import torch.nn as nn
    import torch.nn.functional as F

    def tower(c):
        return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(c, c, 3, padding=1), nn.ReLU())

    class Fuse(nn.Module):
        def __init__(self):
            super().__init__()
            self.left, self.right = tower(8), tower(8)
            self.head = nn.Conv2d(8, 2, 1)

        def forward(self, a, b):
            return self.head(FUSED)
    """
    towers = lint_tree({"fuse.py": source.replace("FUSED", "self.left(a) * self.right(b)")},
                       select=["CNN105"])
    assert [f.code for f in towers.findings] == ["CNN105"]
    gated = source.replace("FUSED", "F.relu6(self.left(a) + 3) * self.right(b)")
    swish = source.replace("FUSED", "self.left(a) * F.relu6(self.left(a) + 3)")
    assert [f.code for f in lint_tree({"fuse.py": gated}, select=["CNN105"]).findings] \
        == ["CNN105"]
    assert lint_tree({"fuse.py": swish}, select=["CNN105"]).findings == []


@pytest.mark.parametrize("wrapper, flagged", [("SpectralNorm", False), ("Recorder", True)])
def test_a_project_wrapper_normalising_its_layers_weights_normalises_them(
        lint_tree: Callable[..., Any], wrapper: str, flagged: bool) -> None:
    """A critic built from the project's own spectral-norm wrapper (it divides the wrapped
    conv's weight by its largest singular value, then calls the conv's forward) is a
    normalised stack (no CNN104), as one built with torch's `spectral_norm` is. A wrapper of
    another name that only calls the conv normalises nothing."""
    source = """
    import torch
    import torch.nn as nn

    class WRAPPER(nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer
            self.u = torch.randn(layer.weight.shape[0])

        def rescale(self):
            w = self.layer.weight
            sigma = torch.dot(self.u, w.flatten(1) @ w.flatten(1).t() @ self.u)
            setattr(self.layer, "weight", w / sigma)

        def forward(self, x):
            self.rescale()
            return self.layer.forward(x)

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*[m for _ in range(7) for m in (
                WRAPPER(nn.Conv2d(8, 8, 3, padding=1)), nn.LeakyReLU(0.2))])

        def forward(self, x):
            return self.body(x)
    """.replace("WRAPPER", wrapper)
    result = lint_tree({"critic.py": source}, select=["CNN104"])
    assert [f.code for f in result.findings] == (["CNN104"] if flagged else [])
    assert not any("partially analysed" in note for note in result.notes())


TOWER_IN_A_DICT = """
import torch.nn as nn


class Tower(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(depth)
                                    for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())])

    def forward(self, x):
        return self.body(x)


def tower():
    return {"net": Tower(9), "width": 8}
"""


def test_a_factory_returning_its_network_in_a_dict_builds_that_network(
        lint_tree: Callable[..., Any]) -> None:
    """`return {"backbone": ResNet(...), "dim": 512}`: the factory builds the one network
    the dict holds, and it is judged (CNN104). A script training a wrapper that takes its
    network from a dict a library made (`self.net = parts["net"]`) may train any network:
    no "no training script followed" note (CNN107 info). Given the factory's dict, it trains
    that network."""
    alone = lint_tree({"towers.py": TOWER_IN_A_DICT}, select=["CNN104", "CNN107"])
    assert [(f.code, f.symbol) for f in alone.findings] == [
        ("CNN104", "tower"), ("CNN107", "tower")]
    wrapper = """
import torch.nn as nn


class Probe(nn.Module):
    def __init__(self, parts):
        super().__init__()
        self.net = parts["net"]
        self.head = nn.Linear(parts["width"], 2)

    def forward(self, x):
        return self.head(self.net(x).mean((2, 3)))
"""
    script = """
import torch
import zoo_lib
from towers import tower
from probe import Probe

parts = PARTS
model = Probe(parts)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(100):
    opt.zero_grad()
    model(torch.load("batch.pt")).sum().backward()
    opt.step()
"""
    project = {"towers.py": TOWER_IN_A_DICT, "probe.py": wrapper}
    # Parts a library makes: the reader cannot tell which network the wrapper holds.
    lost = lint_tree({**project, "train.py": script.replace("PARTS", "zoo_lib.make_parts()")},
                     select=["CNN104", "CNN107"])
    assert [(f.code, f.symbol) for f in lost.findings] == [("CNN104", "tower")]
    # Given the factory's network, the script trains it: its SGD has no weight decay.
    found = lint_tree({**project, "train.py": script.replace("PARTS", "tower()")},
                      select=["CNN107"]).findings
    assert sorted((f.symbol, f.severity) for f in found) == [
        ("Probe", "warning"), ("tower", "warning")]
    assert all("no weight decay (`SGD` at train.py:" in f.message for f in found)


def test_modules_in_a_plain_list_are_each_one_layer_wherever_applied(
        lint_tree: Callable[..., Any]) -> None:
    """Blocks kept in a plain Python list (not registered), each applying its convs to two
    halves of its input: each conv is one layer, named after the attribute (`parts[1].p`),
    as the registered stem's are (they were counted once per application)."""
    blocks = """
import torch
import torch.nn as nn


class Mix(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.p = nn.Conv1d(ch, ch, 3, padding=1)
        self.q = nn.Conv1d(ch, ch, 3, padding=1)

    def forward(self, x):
        a, b = torch.chunk(x, 2, dim=1)
        return torch.cat((self.p(a) - self.q(b), self.q(a) + self.p(b)), dim=1)


class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Mix(16)
        self.parts = []
        for _ in range(4):
            self.parts.append(Mix(16))
        self.out = nn.Linear(256, 4)

    def forward(self, x):
        h = self.stem(x)
        for part in self.parts:
            h = part(h)
        return self.out(h.flatten(1))
"""
    result = lint_tree({"blocks.py": blocks}, select=["CNN107"])
    assert [f.message.split(" and ")[0] for f in result.findings] == ["11 weighted layers"]
    [model] = result.models
    names = {n.name for n in model.network.nodes if n.weighted}
    assert {"stem.p", "parts[0].p", "parts[3].q", "out"} <= names and "" not in names


def test_a_torch_layer_subclass_running_super_forward_is_that_layer(
        lint_tree: Callable[..., Any]) -> None:
    """A masked convolution (`class Masked(nn.Conv2d)`, its forward masking the weight then
    calling `super().forward(x)`) runs the convolution: the network is read whole, each
    masked conv at its own path and built where it is called (its bias before a norm is
    found at that call)."""
    net = """
import torch
import torch.nn as nn


class Masked(nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("mask", torch.ones_like(self.weight))

    def forward(self, x):
        self.weight.data *= self.mask
        return super(Masked, self).forward(x)


class Pixel(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [Masked(1, 16, 7, padding=3)]
        for _ in range(9):
            layers += [Masked(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(16, 256, 1))

    def forward(self, x):
        return self.body(x)
"""
    result = lint_tree({"pixel.py": net}, select=["CNN101", "CNN103"])
    assert not any("partially" in note for note in result.context_notes)
    found = {(f.code, f.line) for f in result.findings}
    assert found == {("CNN101", 20), ("CNN103", 15)}
    [model] = [m for m in result.models if m.name == "Pixel"]
    convs = [n.name for n in model.network.nodes if n.kind == "Conv2d"]
    assert convs[:3] == ["body.0", "body.1", "body.4"]


def test_a_forward_looping_over_a_tensors_slices_is_read_whole(
        lint_tree: Callable[..., Any]) -> None:
    """Multi-view pooling (`for view in x: feats.append(self.trunk(view))`, then the max
    over the views): each slice comes from the input and runs the same layers, so one pass
    stands for all and the network is read whole (it was 'partially analysed')."""
    net = """
import torch
import torch.nn as nn


class MultiView(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(9):
            layers += [nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()]
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), *layers)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = x.transpose(0, 1)
        feats = []
        for view in x:
            feats.append(self.trunk(view).mean((2, 3)))
        pooled = feats[0]
        for i in range(1, len(feats)):
            pooled = torch.max(pooled, feats[i])
        return self.head(pooled)
"""
    result = lint_tree({"views.py": net}, select=["CNN103"])
    [model] = result.models
    assert model.network.complete
    assert [f.message.split(",")[0] for f in result.findings] == [
        "11 weighted layers in a row with no skip connection"]


def test_an_init_branch_for_a_class_never_imported_initialises_no_known_layer(
        lint_tree: Callable[..., Any]) -> None:
    """An init loop's `elif isinstance(m, SyncNorm): m.weight.data.fill_(1)` where the
    file never imports `SyncNorm`: which modules the test picks is not known, so no layer is
    said to get constant weights (CNN108 named every Conv2d)."""
    net = """
import torch.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.na = nn.BatchNorm2d(16)
        self.head = nn.Conv2d(16, 4, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, SyncNorm):
                m.weight.data.fill_(1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)

    def forward(self, x):
        return self.head(self.na(self.a(x)))
"""
    result = lint_tree({"tiny.py": net}, select=["CNN108"])
    assert result.findings == []
    [model] = result.models
    assert [(i.method, i.layer_kinds) for i in model.inits] == [
        ("scaled", ("Conv2d",)), ("constant", ("BatchNorm2d",))]


OPTIONS_FILES = {
    "opts.py": """
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--bs", type=int, default=4)
OPTS = parser.parse_args()
assert OPTS.epochs > 0
""",
    "settings.py": """
from opts import OPTS

EPOCHS = OPTS.epochs
BATCH = OPTS.bs
""",
    "nets.py": """
import torch.nn as nn

def make():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                         nn.LazyLinear(10))
""",
    "train.py": """
import torch
from torch.utils.data import DataLoader
from nets import make
from opts import OPTS

def main():
    net = make()
    loader = DataLoader(torch.load("train.pt"), batch_size=OPTS.bs, shuffle=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch in range(OPTS.epochs):
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()

if __name__ == "__main__":
    main()
""",
    "short.py": """
import torch
from torch.utils.data import DataLoader
import settings as cfg
from nets import make
from opts import OPTS

OPTS.epochs = 2  # this script's own run: the other scripts still see the default
net = make()
loader = DataLoader(torch.load("train.pt"), batch_size=cfg.BATCH, shuffle=True)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(cfg.EPOCHS):
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
""",
    "launch.py": """
from opts import OPTS
import train

if OPTS.epochs > 10:
    train.main()
""",
}


def test_options_parsed_in_an_imported_module_reach_the_scripts_that_import_them(
        lint_tree: Callable[..., Any]) -> None:
    """`OPTS = parser.parse_args()` at the top of opts.py, imported by the training scripts
    (directly, or through a settings.py deriving constants from it): the scripts run with
    its defaults, 40 epochs at batch 4, as when the options are parsed in the script
    itself (they were not known, and every training rule stayed silent). A script writing
    into the options changes them for its own run only; a launcher that only imports the
    options and calls the training is a script, not a module of options, and is not run
    inside another script's pass."""
    result = lint_tree(OPTIONS_FILES)
    batches = sorted((f.path, f.line, f.message) for f in result.findings
                     if f.code == "CNN201")
    assert batches == [
        ("short.py", 9, "`make` (nets.py:3) has BatchNorm layers but trains with batch "
                        "size 4 (`cfg.BATCH` in settings.py)"),
        ("train.py", 8, "`make` (nets.py:3) has BatchNorm layers but trains with batch "
                        "size 4 (argparse default of `--bs`)")]
    epochs = sorted((f.path, f.line, f.message.split(" with ")[0]) for f in result.findings
                    if f.code == "CNN202")
    assert epochs == [("short.py", 11, "trains 40 epochs (`cfg.EPOCHS` in settings.py)"),
                      ("train.py", 10, "trains 40 epochs (argparse default of `--epochs`)")]
    assert not any("not known" in note for note in result.context_notes), \
        result.context_notes


SETTINGS_FILE_FILES = {
    "settings.yaml": "num_epoch: 300\nbatch_size: 64\nlr: 0.0002\n",
    "config.py": """
from yaml import safe_load

with open("./settings.yaml") as f:
    config = safe_load(f)
""",
    "trainer.py": """
import torch
from torchmetrics import Accuracy
from tqdm import trange
from config import config

class Trainer:
    def __init__(self, net, loader):
        self.net, self.loader = net, loader
        self.opt = torch.optim.Adam(net.parameters(), lr=float(config["lr"]))
        self.metric = Accuracy(task="multiclass", num_classes=10)

    def fit(self, using_bar=False):
        steps = trange(config["num_epoch"]) if using_bar else range(config["num_epoch"])
        for epoch in steps:
            self.metric.reset()
            for x, y in self.loader:
                self.opt.zero_grad()
                out = self.net(x)
                torch.nn.functional.cross_entropy(out, y).backward()
                self.opt.step()
                self.metric.update(out, y)
            print(self.metric.compute())
""",
    "main.py": """
import torch
from trainer import Trainer

net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 10))
Trainer(net, torch.load("train.pt")).fit(using_bar=False)
""",
}


def test_a_settings_file_read_on_import_and_a_loop_over_a_named_range_are_followed(
        lint_tree: Callable[..., Any]) -> None:
    """config.py reads settings.yaml when imported; the trainer loops over `steps`, a
    range (or tqdm's trange) bound the line before, and updates torchmetrics metrics, which
    neither validate nor train: 300 epochs at a constant rate with no checkpoint are judged
    (the loop was "other", its length not known, and the metric calls blocked the rules)."""
    result = lint_tree(SETTINGS_FILE_FILES)
    found = sorted((f.code, f.path, f.line, f.message) for f in result.findings
                   if f.code in ("CNN203", "CNN209"))
    assert found == [
        ("CNN203", "trainer.py", 14, "trains 300 epochs (config `config['num_epoch']`) with "
         "no early stopping and no best checkpoint on a validation metric, as run from "
         "main.py:5"),
        ("CNN209", "trainer.py", 14, "trains 300 epochs (config `config['num_epoch']`) at a "
         "constant learning rate, as run from main.py:5")]


@pytest.mark.parametrize("builder, flagged", [("resnet18", True), ("vgg16", False)])
def test_a_library_network_held_by_a_project_module_brings_its_layers(
        lint_tree: Callable[..., Any], builder: str, flagged: bool) -> None:
    """`self.backbone = resnet18()` inside a project module: trained at batch 6, the module
    has resnet18's BatchNorm layers (CNN201 was silent); a VGG without BatchNorm has none."""
    result = lint_tree({"run.py": f"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision.models import {builder}

class Wrap(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = {builder}(weights=None)

    def forward(self, x):
        return self.backbone(x)

net = Wrap()
loader = DataLoader(torch.load("d.pt"), batch_size=6, shuffle=True)
opt = torch.optim.Adam(net.parameters())
for x, y in loader:
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
"""})
    assert [(f.line, f.message) for f in result.findings if f.code == "CNN201"] == (
        [(15, "`Wrap` (run.py:6) has BatchNorm layers but trains with batch size 6")]
        if flagged else [])


@pytest.mark.parametrize("spelled", ["from torch.optim.sgd import SGD",
                                     "from torch.optim import SGD"])
def test_an_optimizer_imported_from_the_module_defining_it_is_that_optimizer(
        lint_tree: Callable[..., Any], spelled: str) -> None:
    """`from torch.optim.sgd import SGD` is `torch.optim.SGD` (it was an unknown call, and
    CNN206 was missed)."""
    result = lint_tree({"run.py": f"""
import torch
{spelled}

net = torch.nn.Linear(4, 2)
opt = SGD(net.parameters(), lr=0.1)
for x, y in torch.load("d.pt"):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
"""})
    assert [(f.line, f.message) for f in result.findings if f.code == "CNN206"] == [
        (5, "`SGD` has no momentum")]


def test_a_stale_call_the_constructor_cannot_take_builds_no_network(
        lint_tree: Callable[..., Any]) -> None:
    """A notebook left behind calls `Net(vocab_dim=300, hidden=64)` for a class whose
    constructor is `Net(n_out)`: Python raises TypeError, so the BatchNorm and softmax of
    `Net` are not what that script trains (CNN201 and CNN210 said they were), and
    `--verbose` says why nothing is judged."""
    files = {"net.py": """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, n_out)
        self.prob = nn.Softmax(dim=1)

    def forward(self, x):
        return self.prob(self.head(self.bn(self.conv(x)).mean((2, 3))))
""", "train.py": """
import torch
from torch.utils.data import DataLoader
from net import Net

loader = DataLoader(torch.load("d.pt"), batch_size=1, shuffle=True)
model = CALL
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
loss_fn = torch.nn.CrossEntropyLoss()
for x, y in loader:
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
"""}
    stale = lint_tree({**files, "train.py": files["train.py"].replace(
        "CALL", "Net(vocab_dim=300, hidden=64)")})
    assert [f.code for f in stale.findings if f.code.startswith("CNN2")] == []
    assert "train.py:6: `Net(...)` is given arguments its constructor does not take: the " \
           "call fails, so no network is built there" in stale.notes()
    fitting = lint_tree({**files, "train.py": files["train.py"].replace("CALL", "Net(2)")})
    assert sorted(f.code for f in fitting.findings if f.code.startswith("CNN2")) == [
        "CNN201", "CNN210"]


LIGHTNING_GAN = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from pytorch_lightning import LightningModule, Trainer


class Duel(LightningModule):
    def __init__(self):
        super().__init__()
        self.maker = nn.Sequential(nn.Linear(16, 784), nn.Tanh())
        self.judge = nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())

    def forward(self, z):
        return self.maker(z)

    def training_step(self, batch, batch_idx, optimizer_idx):
        pics = batch[0].view(batch[0].size(0), -1)
        z = torch.randn(pics.size(0), 16)
        if optimizer_idx == 0:
            return F.binary_cross_entropy(self.judge(self(z)), torch.ones(pics.size(0), 1))
        return F.binary_cross_entropy(self.judge(pics), torch.ones(pics.size(0), 1))

    def configure_optimizers(self):
        return OPTIMIZERS

    def train_dataloader(self):
        data = datasets.MNIST(".", train=True, transform=transforms.ToTensor())
        return DataLoader(data, batch_size=64)


Trainer(max_epochs=50).fit(Duel())
"""


@pytest.mark.parametrize("optimizers, judged", [
    ("[torch.optim.Adam(self.maker.parameters()), torch.optim.Adam(self.judge.parameters())]"
     ", []", False),
    ("torch.optim.Adam(self.parameters())", True),
])
def test_a_lightning_module_stepping_two_optimizers_apart_is_adversarial(
        lint_tree: Callable[..., Any], optimizers: str, judged: bool) -> None:
    """`training_step(batch, batch_idx, optimizer_idx)` with an optimizer each for the
    generator and the discriminator: Lightning steps them apart, each after its own backward
    pass, as a GAN's loop does, and the rules that do not judge adversarial training stay
    silent (CNN202, CNN203, CNN209 and CNN212 spoke on Lightning GANs). One optimizer over
    the whole module is ordinary training."""
    result = lint_tree({"duel.py": LIGHTNING_GAN.replace("OPTIMIZERS", optimizers)})
    codes = sorted(f.code for f in result.findings if f.code.startswith("CNN2"))
    assert codes == (["CNN202", "CNN203", "CNN209", "CNN212"] if judged else [])
    assert any("Lightning steps 2 optimizers over weights apart" in note
               for note in result.notes()) is not judged


# A LightningModule of one layer, for tests of how Lightning trains it.
TINY_LIGHTNING = '''

class Tiny(LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)

    def training_step(self, batch, i):
        return torch.nn.functional.cross_entropy(self(batch[0]), batch[1])

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
'''


@pytest.mark.parametrize("defaults, epochs", [
    ("p.set_defaults(max_epochs=100)", "100 epochs (argparse default of `--max_epochs`)"),
    ("pass", "1000 epochs (Lightning's default `max_epochs`)"),
])
def test_a_trainer_built_from_parsed_options_is_that_trainer(
        lint_tree: Callable[..., Any], defaults: str, epochs: str) -> None:
    """`Trainer.from_argparse_args(args)` after `Trainer.add_argparse_args(parser)` is
    `Trainer(**vars(args))`: it trains for the options' `max_epochs`, else Lightning's
    default (it was not known to be a Trainer, and every rule stayed silent)."""
    result = lint_tree({"fit.py": f"""
import argparse
import torch
from pytorch_lightning import LightningModule, Trainer
{TINY_LIGHTNING}
    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.load("d.pt"), batch_size=32)


p = Trainer.add_argparse_args(argparse.ArgumentParser())
{defaults}
trainer = Trainer.from_argparse_args(p.parse_args())
trainer.fit(Tiny())
"""})
    assert sorted((f.code, f.message) for f in result.findings if f.code == "CNN209") == [
        ("CNN209", f"trains {epochs} at a constant learning rate")]


@pytest.mark.parametrize("flags, flagged", [("", True), (", fast_dev_run=5", False),
                                             (", fast_dev_run=True", False)])
def test_a_lightning_smoke_test_trains_no_epochs(lint_tree: Callable[..., Any], flags: str,
                                                 flagged: bool) -> None:
    """`Trainer(max_epochs=100, fast_dev_run=5)` runs five batches once and stops: no long
    run for the schedule or early-stopping rules to judge."""
    result = lint_tree({"fit.py": f"""
import torch
from pytorch_lightning import LightningModule, Trainer
{TINY_LIGHTNING}
    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.load("d.pt"), batch_size=32)


Trainer(max_epochs=100{flags}).fit(Tiny())
"""})
    assert any(f.code == "CNN209" for f in result.findings) is flagged


@pytest.mark.parametrize("callback, message", [
    ('ModelCheckpoint(monitor="val_acc")', '`ModelCheckpoint(monitor="val_acc")` counts the '
     'lowest `val_acc` as best (mode "min", Lightning\'s default): it keeps the checkpoint of '
     'the worst epoch; pass `mode="max"`'),
    ('EarlyStopping(monitor="valid/mIoU", mode="min")', '`EarlyStopping(monitor="valid/mIoU")` '
     'counts the lowest `valid/mIoU` as best (`mode="min"`): it stops once the metric stops '
     'falling, however much it improves; pass `mode="max"`'),
    ('ModelCheckpoint(monitor="val_acc", mode="max")', None),
    ('EarlyStopping(monitor="val_loss")', None),
    ('EarlyStopping(monitor="val_acc", mode=os.environ["MODE"])', None),  # not known
    # Lightning before 1.3 (`filepath=`): the default mode "auto" maximises an accuracy.
    ('ModelCheckpoint(filepath="ckpt/{epoch}", monitor="val_acc")', None),
])
def test_a_lightning_callback_watching_accuracy_for_its_minimum_is_flagged(
        lint_tree: Callable[..., Any], callback: str, message: str | None) -> None:
    """`ModelCheckpoint(monitor="val_acc")` keeps the epoch of the *lowest* accuracy, and
    `EarlyStopping` so set stops the run as soon as accuracy stops falling: Lightning's
    `mode` defaults to "min" (b191: credited as best-checkpoint selection). Whatever the
    run's length (10 epochs here), and only for a mode known to be "min"."""
    result = lint_tree({"fit.py": f"""
import os
import torch
from pytorch_lightning import LightningModule, Trainer
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
{TINY_LIGHTNING}

Trainer(max_epochs=10, callbacks=[{callback}]).fit(Tiny())
"""})
    assert [(f.code, f.message) for f in result.findings if f.code == "CNN203"] == (
        [("CNN203", message)] if message else [])


LIGHTNING_DATA = '''
import pytorch_lightning as pl
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        return self.body(x)

    def training_step(self, batch, i):
        return nn.functional.cross_entropy(self(batch[0]), batch[1])

    def validation_step(self, batch, i):
        self.log("val_loss", nn.functional.cross_entropy(self(batch[0]), batch[1]))

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        return [opt], [torch.optim.lr_scheduler.CosineAnnealingLR(opt, 50)]


class Data(pl.LightningDataModule):
    def __init__(self, batch_size=64):
        super().__init__()
        self.batch_size = batch_size

    def prepare_data(self):
        self.root = "./data"

    def setup(self, stage=None):
        if stage == "fit" or stage is None:
            self.train_set = datasets.CIFAR10(self.root, train=True, transform=TRANSFORM)
            self.val_set = datasets.CIFAR10(self.root, train=False,
                                            transform=transforms.ToTensor())

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.batch_size)


trainer = pl.Trainer(max_epochs=50,
                     callbacks=[pl.callbacks.EarlyStopping(monitor="val_loss")])
trainer.fit(Net(), datamodule=Data())
'''


@pytest.mark.parametrize("transform, augmented", [
    ("transforms.ToTensor()", False),
    ("transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])",
     True),
])
def test_a_data_module_making_its_datasets_in_setup_is_read(
        lint_tree: Callable[..., Any], transform: str, augmented: bool) -> None:
    """Lightning runs a data module's `prepare_data()` and `setup(stage="fit")` before
    asking it for loaders, and datasets are usually made there (b191: the training set's
    transforms were not known, and CNN212 stayed silent)."""
    result = lint_tree({"fit.py": LIGHTNING_DATA.replace("TRANSFORM", transform)})
    assert [(f.code, f.message) for f in result.findings] == ([] if augmented else [
        ("CNN212", "training images get no random augmentation (transforms: ToTensor)")])


OWN_DROPOUT = '''
import torch
import torch.nn as nn
from torch.autograd import Variable


class GaussianDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.alpha = torch.Tensor([p / (1 - p)])

    def forward(self, x):
        if self.training:
            eps = Variable(torch.randn(x.size()) * self.alpha + 1)
            if x.is_cuda:
                eps = eps.cuda()
            return x * eps
        return x


def drop_path(x, rate, training):
    if rate == 0.0 or not training:
        return x
    keep = 1 - rate
    mask = x.new_empty((x.shape[0], 1, 1, 1)).bernoulli_(keep)
    return x.div(keep) * mask


class Unit(nn.Module):
    def __init__(self, width, rate):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)
        self.rate = rate

    def forward(self, x):
        return x + drop_path(torch.relu(self.conv(x)), self.rate, self.training)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ELU(),
                                                  DROP) for _ in range(10)])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))
'''


@pytest.mark.parametrize("drop, regularised", [
    ("GaussianDropout(0.1)", True),
    ("Unit(16, 0.1)", True),  # stochastic depth, drawn with bernoulli_
    ("Unit(16, 0.0)", False),  # a rate of 0 never draws
    ("nn.Identity()", False),
])
def test_a_dropout_the_project_writes_itself_is_dropout(
        lint_tree: Callable[..., Any], drop: str, regularised: bool) -> None:
    """Features multiplied by random numbers drawn in the forward (a GaussianDropout, a
    DropPath of the project's own) are dropped as dropout drops them (b194: CNN107 said "no
    dropout" of three networks holding 5-9 Gaussian-dropout layers)."""
    result = lint_tree({"net.py": OWN_DROPOUT.replace("DROP", drop)}, select=["CNN107"])
    assert [f.code for f in result.findings] == ([] if regularised else ["CNN107"])
    assert result.notes() == []


TF_LOGGER = '''
import tensorflow as tf

try:
    from StringIO import StringIO
except ImportError:
    from io import BytesIO


class Logger(object):
    def __init__(self, log_dir):
        self.writer = tf.summary.FileWriter(log_dir)

    def scalar_summary(self, tag, value, step):
        summary = tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=value)])
        self.writer.add_summary(summary, step)
        self.writer.flush()

    def image_summary(self, tag, image, step):
        try:
            s = StringIO()
        except ImportError:
            s = BytesIO()
        img = tf.Summary.Image(encoded_image_string=s.getvalue(), height=image.shape[0])
        self.writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag=tag, image=img)]), step)
'''


def test_a_tensorflow_summary_logger_does_not_hide_the_loop(
        lint_tree: Callable[..., Any]) -> None:
    """The widely copied TensorBoard `Logger` writes `tf.Summary` values with a TensorFlow
    `FileWriter` (and tries Python 2's StringIO first): it logs, nothing else, and a loop
    calling it is judged (b195: CNN203 and CNN209 were silent on a 100-epoch run)."""
    result = lint_tree({"logger.py": TF_LOGGER, "train.py": """
import torch
import torch.nn as nn
from logger import Logger

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
log = Logger("runs")
for epoch in range(100):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        log.scalar_summary("loss", loss.item(), epoch)
    log.image_summary("input", x, epoch)
"""}, select=["CNN203", "CNN209"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN203", 8), ("CNN209", 8)]


@pytest.mark.parametrize("head, hint", [
    ("nn.Conv2d(32, 3, 3, padding=1)",  # an image out: super-resolution, denoising
     "Add weight decay to the optimizer (or dropout between the blocks, e.g. Dropout2d)"),
    ("nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))",
     "Add dropout before the classifier and weight decay to the optimizer"),
])
def test_no_regularisation_hint_fits_a_network_without_a_classifier(
        lint_tree: Callable[..., Any], head: str, hint: str) -> None:
    """CNN107's hint spoke of "dropout before the classifier" on image-to-image networks,
    which have none (b195: every super-resolution and denoising network, b179: VAEs)."""
    result = lint_tree({"net.py": f"""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, padding=1), nn.PReLU()]
        for _ in range(8):
            layers += [nn.Conv2d(32, 32, 3, padding=1), nn.PReLU()]
        self.body = nn.Sequential(*layers)
        self.head = {head}

    def forward(self, x):
        return self.head(self.body(x))
"""}, select=["CNN107"])
    assert [(f.code, f.hint) for f in result.findings] == [("CNN107", hint)]


@pytest.mark.parametrize("build, head, fed_by", [
    ("models.resnet18(pretrained=True)", "model.fc = nn.Sequential(nn.Linear(512, 5), "
     "nn.Softmax(dim=1))", "Softmax"),
    ("models.vgg16(weights='DEFAULT')", "model.classifier = nn.Sequential(nn.Linear(25088, "
     "5), nn.LogSoftmax(dim=1))", "LogSoftmax"),
    ("models.resnet18(pretrained=True)", "model.fc = nn.Linear(512, 5)", None),
    # Not the attribute the forward ends with: what the network outputs is not known.
    ("models.resnet18(pretrained=True)", "model.layer4 = nn.Sequential(nn.Softmax(dim=1))",
     None),
])
def test_a_torchvision_head_replaced_by_the_script_gives_the_output(
        lint_tree: Callable[..., Any], build: str, head: str, fed_by: str | None) -> None:
    """`model.fc = nn.Sequential(nn.Linear(...), nn.Softmax(dim=1))` on a torchvision
    classifier, then `CrossEntropyLoss` on its output: a double softmax (b198: five scripts
    of one project, silent, as what a library model returns was not known)."""
    result = lint_tree({"train.py": f"""
import torch
import torch.nn as nn
from torchvision import models


def build():
    model = {build}
    {head}
    return model


model = build()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        criterion(model(x), y).backward()
        opt.step()
"""}, select=["CNN210"])
    assert [f.message.split(" output")[0] for f in result.findings] == (
        [] if fed_by is None else [f"`CrossEntropyLoss` receives `{fed_by}`"])


@pytest.mark.parametrize("folder, flagged", [
    ('dset.ImageFolder(root="./train/")', True),  # images as read: the pipeline is ours
    ('dset.ImageFolder("./train/", transforms.RandomHorizontalFlip())', False),
    ('dset.ImageFolder("./train/", **options)', False),  # its transform may be there
])
def test_a_dataset_wrapping_a_folder_without_transforms_is_judged_by_its_own(
        lint_tree: Callable[..., Any], folder: str, flagged: bool) -> None:
    """A siamese pair dataset holds an `ImageFolder(root)` built without transforms and
    applies its own `Compose([Resize, ToTensor])`: the images it hands over are as read, so
    its own pipeline is the one to judge (b200: CNN212 was silent, the folder's pipeline
    taken as not known)."""
    result = lint_tree({"train.py": f"""
import os
import torch
import torch.nn as nn
import torchvision.datasets as dset
import torchvision.transforms as transforms
from torch.utils.data import DataLoader, Dataset
from PIL import Image

options = dict(os.environ)


class Pairs(Dataset):
    def __init__(self, folder, root, transform=None):
        self.folder = folder
        self.files = sorted(os.listdir(root))
        self.root = root
        self.transform = transform

    def __getitem__(self, i):
        return self.transform(Image.open(os.path.join(self.root, self.files[i]))), 0

    def __len__(self):
        return len(self.files)


data = Pairs({folder}, "./train/",
             transform=transforms.Compose([transforms.Resize(100), transforms.ToTensor()]))
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    for x, y in DataLoader(data, batch_size=8, shuffle=True):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""}, select=["CNN212"])
    assert [f.code for f in result.findings] == (["CNN212"] if flagged else [])


@pytest.mark.parametrize("unpack", [
    'tarfile.open("test.tar.gz").extractall("test")',
    'urllib.request.urlretrieve("https://example.org/test.zip", "test.zip")',
])
def test_unpacking_or_downloading_data_does_not_hide_the_loop(
        lint_tree: Callable[..., Any], unpack: str) -> None:
    """A test step that unpacks or downloads its data with the standard library touches no
    model or optimizer (b200: a 1000-epoch loop was not judged)."""
    result = lint_tree({"train.py": f"""
import tarfile
import urllib.request
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def fetch_test_data():
    {unpack}


for epoch in range(100):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    fetch_test_data()
"""}, select=["CNN203", "CNN209"])
    assert [f.code for f in result.findings] == ["CNN203", "CNN209"]


def test_a_head_shared_by_two_branches_counts_its_activations_once(
        lint_tree: Callable[..., Any]) -> None:
    """Two branches feeding one head (a siamese network's shared `fc`): each forward runs
    the head's ReLUs twice, and the message says how many modules the activations come from
    (b200: "all 14 activations" of a network holding 11 ReLU modules; b201: "all 9" of a
    ResNet-18 whose blocks apply their one ReLU twice)."""
    result = lint_tree({"net.py": """
import torch.nn as nn


def branch():
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.left, self.right = branch(), branch()
        self.fc = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                                nn.Linear(8, 2))

    def forward(self, a, b):
        return self.fc(self.left(a)), self.fc(self.right(b))
"""}, select=["CNN105"])
    assert [f.message for f in result.findings] == [
        "all 8 activations (from 6 modules) are plain ReLU (dying-ReLU risk)"]


def test_a_functional_activation_is_not_counted_as_a_module(
        lint_tree: Callable[..., Any]) -> None:
    """Blocks applying their one `nn.ReLU` twice, and a final `F.relu` in the network's own
    forward: the activations come from the blocks' modules and one function call, which is
    said apart (joaoflf/resnet-pytorch's ResNeXt: "from 10 modules" for 9 and a call)."""
    result = lint_tree({"net.py": """
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.conv2(self.relu(self.conv1(x))))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block(), Block())
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(F.relu(self.blocks(x)).mean((2, 3)))
"""}, select=["CNN105"])
    assert [f.message for f in result.findings] == [
        "all 7 activations (from 3 modules and 1 function call) are plain ReLU "
        "(dying-ReLU risk)"]


def test_a_learning_rate_sweep_training_a_new_model_each_time_is_no_schedule(
        lint_tree: Callable[..., Any]) -> None:
    """A grid search rebuilds the model and its optimizer at each rate, then trains each at
    that one rate: no schedule (b199: an optimizer rebuilt in a loop with a changing rate was
    read as one, and CNN209 was silent on 125 epochs). Lowering the rate of one model stage
    by stage stays a schedule."""
    sweep = """
import torch
import torch.nn as nn

for lr in [0.1, 0.01]:
    model = nn.Linear(10, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(125):
        for x, y in torch.load("train.pt"):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
"""
    result = lint_tree({"sweep.py": sweep}, select=["CNN209"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN209", 7)]
    staged = sweep.replace("    model = nn.Linear(10, 2)\n", "").replace(
        "import torch.nn as nn\n", "import torch.nn as nn\n\nmodel = nn.Linear(10, 2)\n")
    assert lint_tree({"staged.py": staged}, select=["CNN209"]).findings == []


def test_a_network_built_from_a_table_filled_at_run_time_is_built(
        lint_tree: Callable[..., Any]) -> None:
    """`Net(**params)` where `params` was filled from a config's entries under keys the
    reader cannot know: the table may hold every argument, so the call is not judged one the
    constructor cannot take (b199: a note said so, and no rule judged the project)."""
    result = lint_tree({"train.py": """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        return self.fc(x)


def build(config):
    params = dict()
    for key, value in config.items():
        params[key] = value
    return Net(**params)


model = build(torch.load("config.pt"))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(100):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
"""}, select=["CNN203"])
    assert [f.code for f in result.findings] == ["CNN203"]
    assert not any("constructor does not take" in note for note in result.notes())


@pytest.mark.parametrize("other, fed_by", [
    ("cnn = CNN()", "Softmax"),
    ("cnn = nn.Sequential(nn.Linear(4, 2))", None),  # one way gives logits: not known
])
def test_a_network_built_on_either_side_of_an_if_still_feeds_its_loss(
        lint_tree: Callable[..., Any], other: str, fed_by: str | None) -> None:
    """`cnn = CNN().cuda()` if a GPU is there, else `cnn = CNN()`: the loss receives either
    network's output, a softmax both ways (b204: CNN210 was silent)."""
    result = lint_tree({"train.py": f"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return F.softmax(F.relu(self.fc(x)), dim=1)


if torch.cuda.is_available():
    cnn = CNN().cuda()
else:
    {other}
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(cnn.parameters(), lr=1e-3)
for epoch in range(3):
    for x, y in torch.load("d.pt"):
        opt.zero_grad()
        criterion(cnn(x), y).backward()
        opt.step()
"""}, select=["CNN210"])
    assert [f.message.split(" output")[0] for f in result.findings] == (
        [] if fed_by is None else [f"`CrossEntropyLoss` receives `{fed_by}`"])


@pytest.mark.parametrize("scored, flagged", [
    ("accuracy = 100 * correct / total", True),  # training batches' accuracy
    ("accuracy = evaluate(model)", False),
])
def test_a_checkpoint_kept_on_training_accuracy_is_no_best_checkpoint(
        lint_tree: Callable[..., Any], scored: str, flagged: bool) -> None:
    """`if accuracy > best_acc: torch.save(...)` where the accuracy is the training batches'
    and nothing is evaluated on held-out data: not a checkpoint chosen on a validation
    metric (b204: CNN203 credited it while CNN202 said nothing is held out)."""
    result = lint_tree({"train.py": f"""
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def evaluate(net):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in torch.load("val.pt"))


best_acc = 0.0
for epoch in range(50):
    model.train()
    correct, total = 0, 0
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        out = model(x)
        nn.functional.cross_entropy(out, y).backward()
        opt.step()
        correct += (out.argmax(1) == y).sum().item()
        total += y.size(0)
    {scored}
    if accuracy > best_acc:
        best_acc = accuracy
        torch.save(model.state_dict(), "best.pt")
"""}, select=["CNN203"])
    assert [f.message for f in result.findings] == ([
        "trains 50 epochs with no early stopping and no best checkpoint on a validation "
        "metric: the checkpoint kept at line 28 is chosen with nothing evaluated on held-out "
        "data"] if flagged else [])


def test_pathlib_calls_in_the_loop_do_not_hide_it(lint_tree: Callable[..., Any]) -> None:
    """`save_path.parent.mkdir(parents=True)` and `path.exists()` on a `pathlib.Path` touch
    files, not the model (b201: the mkdir call silenced every loop rule)."""
    result = lint_tree({"train.py": """
from pathlib import Path
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(100):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    save_path = Path("weights") / "last.pth"
    save_path.parent.mkdir(parents=True, exist_ok=True)
    if not save_path.exists():
        torch.save(model.state_dict(), save_path)
"""}, select=["CNN203", "CNN209"])
    assert [f.code for f in result.findings] == ["CNN203", "CNN209"]


@pytest.mark.parametrize("split", [
    "train_set, val_set = random_split(full, [0.8, 0.2])",
    "train_set, val_set = Subset(full, range(800)), Subset(full, range(800, 1000))",
    # Sizes computed from the dataset's length (not known): still two parts.
    "train_set, val_set = random_split(full, [len(full) - 100, 100])",
])
def test_parts_of_a_dataset_keep_its_pipeline(lint_tree: Callable[..., Any], split: str) -> None:
    """`random_split(ImageFolder(root, transform=T), [0.8, 0.2])`: each part's images go
    through T (b202: CNN212 was silent on a split dataset, very common in real projects).
    The part a validation loader reads stays held out."""
    result = lint_tree({"train.py": f"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Subset, random_split
from torchvision import datasets, transforms

T = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])
full = datasets.ImageFolder("data", transform=T)
{split}
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=32)
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    net.train()
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        for x, y in val_loader:
            print(nn.functional.cross_entropy(net(x), y).item())
"""}, select=["CNN202", "CNN212"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN212", 6)]


@pytest.mark.parametrize("opening, closing", [
    ("try:\n    import torch.nn as nn\n", "except ImportError:\n    Net = None\n"),
    ("import torch.nn as nn\n\nif nn is not None:\n", ""),
])
def test_a_class_defined_in_a_module_level_block_is_read(
        lint_tree: Callable[..., Any], opening: str, closing: str) -> None:
    """`try: import torch.nn as nn; class Net(nn.Module): ...` (torch optional): the module
    level defines the class all the same (b203: not read, and no note said so)."""
    body = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32))

    def forward(self, x):
        return self.body(x)
"""
    source = opening + "\n".join("    " + line if line else line
                                 for line in body.splitlines()) + "\n" + closing
    result = lint_tree({"net.py": source}, select=["CNN101"])
    assert [f.code for f in result.findings] == ["CNN101"]


@pytest.mark.parametrize("scored, flagged", [
    ("sample", True),  # the last training batch, by mistake
    ("held", False),
])
def test_a_validation_loop_scoring_a_training_batch_evaluates_nothing(
        lint_tree: Callable[..., Any], scored: str, flagged: bool) -> None:
    """`for held in val_loader: x, y = sample` scores the last training batch on each pass:
    nothing held out is evaluated (b201: the loop over the validation loader counted as a
    validation pass, and a checkpoint kept on its loss as chosen on a validation metric)."""
    result = lint_tree({"train.py": f"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

train_loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=32)
model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
best = float("inf")
for epoch in range(30):
    model.train()
    for sample in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(sample[0]), sample[1]).backward()
        opt.step()
    model.eval()
    total = 0.0
    with torch.no_grad():
        for held in val_loader:
            x, y = {scored}
            total += nn.functional.cross_entropy(model(x), y).item()
    if total < best:
        best = total
        torch.save(model.state_dict(), "best.pt")
"""}, select=["CNN202", "CNN203"])
    assert [f.code for f in result.findings] == (["CNN202", "CNN203"] if flagged else [])


def test_a_transform_set_through_a_part_is_every_parts(
        lint_tree: Callable[..., Any]) -> None:
    """`val_set.dataset.transform = test_tf` after `random_split`: the parts share one
    dataset, so the training part loses its augmentation too (b208: a real bug, silent).
    Reported at that line, which says so (at `test_tf`, the advice to add random crops
    misled: the training pipeline has them); a dataset never split is judged there too."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms

train_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])
test_tf = transforms.Compose([transforms.ToTensor()])
full = datasets.CIFAR10("data", train=True, transform=train_tf)
train_set, val_set = random_split(full, [45000, 5000])
val_set.dataset.transform = test_tf
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    result = lint_tree({"train.py": script}, select=["CNN212"])
    assert [(f.code, f.line, f.message) for f in result.findings] == [
        ("CNN212", 10, "training images get no random augmentation (transforms: ToTensor): "
         "this sets the pipeline of the whole dataset, the training part's too")]
    kept = script.replace("val_set.dataset.transform = test_tf\n", "")
    assert lint_tree({"train.py": kept}, select=["CNN212"]).findings == []
    unsplit = script.replace("train_set, val_set = random_split(full, [45000, 5000])\n"
                             "val_set.dataset.transform = test_tf\n",
                             "full.transform = test_tf\ntrain_set = full\n")
    assert unsplit != script
    assert [(f.code, f.line, f.message) for f in lint_tree(
        {"train.py": unsplit}, select=["CNN212"]).findings] == [
        ("CNN212", 9, "training images get no random augmentation (transforms: ToTensor)")]


@pytest.mark.parametrize("guard, stops", [
    ("if torch.isnan(loss).sum() > 0:\n        exit(0)", False),
    ("if loss != loss:\n        break", False),
    ("if not math.isfinite(loss.item()):\n        sys.exit(1)", False),
    ("if loss.item() < 0.01:\n        break", True),  # a stop on the loss reached
])
def test_leaving_the_loop_on_a_diverged_loss_is_no_early_stop(
        lint_tree: Callable[..., Any], guard: str, stops: bool) -> None:
    """`if torch.isnan(loss).sum() > 0: exit(0)` guards against divergence; it does not stop
    on a validation metric (b207: CNN203 took it for early stopping)."""
    result = lint_tree({"train.py": f"""
import math
import sys
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(30):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    {guard}
"""}, select=["CNN203"])
    assert [f.code for f in result.findings] == ([] if stops else ["CNN203"])


@pytest.mark.parametrize("call", ["train(nn.Linear(4, 2), evaluation=args.val)",
                                  "train(nn.Linear(4, 2))"])
def test_validation_after_an_option_off_by_default_skips_it_is_read(
        lint_tree: Callable[..., Any], call: str) -> None:
    """`if not evaluation: ...; continue` with `evaluation=args.val` (a `store_true`
    option): the validation after it runs when the option is given, and code behind an
    option counts (b205: CNN203 said the checkpoint was chosen with nothing held out, and
    CNN202 said nothing was). Passed nothing, `evaluation` is never true: judged."""
    source = """import argparse
import copy
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--val", action="store_true")
args = parser.parse_args()


def train(model, evaluation=False):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    best, best_state = float("inf"), None
    for epoch in range(35):
        model.train()
        total = 0.0
        for x, y in torch.load("train.pt"):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item()
        if not evaluation:
            if total < best:
                best, best_state = total, copy.deepcopy(model.state_dict())
            continue
        model.eval()
        val = 0.0
        with torch.no_grad():
            for x, y in torch.load("val.pt"):
                val += nn.functional.cross_entropy(model(x), y).item()
        if val < best:
            best, best_state = val, copy.deepcopy(model.state_dict())
    return best_state


train(nn.Linear(4, 2), evaluation=args.val)
""".replace("train(nn.Linear(4, 2), evaluation=args.val)", call)
    result = lint_tree({"t.py": source}, select=["CNN202", "CNN203"])
    assert [f.code for f in result.findings] == (
        [] if "args.val" in call else ["CNN202", "CNN203"])


def test_a_library_network_picked_by_name_from_a_module_s_builders_trains_each_choice(
        lint_tree: Callable[..., Any]) -> None:
    """`globals()[args.model]()` over a module whose builders wrap a library network
    (`def VGG19(): return vgg19()`) and one project class: whatever the default, the command
    line may pick the class, and the run's optimizer (known, no weight decay) trains it. The
    optimizer trains what the picked builder returned, so it counts for every choice; before,
    the class was reported as having no training script at all."""
    files = {"models/__init__.py": "", "models/mycnn.py": """
    import torch.nn as nn

    class MyCNN(nn.Module):
        def __init__(self, flag=False):
            super().__init__()
            self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(10)])
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.body(x).mean((2, 3)))
    """, "models/zoo.py": """
    from torchvision.models import vgg19
    from .mycnn import MyCNN

    def VGG19(flag=False):
        return vgg19(weights="DEFAULT")

    def build(name, flag=False):
        return globals()[name](flag)
    """, "train.py": """
    import argparse
    import torch
    from models.zoo import build
    from data import loader

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="VGG19")
    args = parser.parse_args()
    model = build(args.model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(5):
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    """}
    found = lint_tree(files, select=["CNN107"]).findings
    assert [(f.symbol, f.severity, f.message.split(" (")[0]) for f in found] == [
        ("MyCNN", "warning", "11 weighted layers, no dropout, and no weight decay")]
    # With decay in the optimizer the pick is regularised: nothing to report.
    files["train.py"] = files["train.py"].replace("momentum=0.9", "momentum=0.9, weight_decay=5e-4")
    assert lint_tree(files, select=["CNN107"]).findings == []


def test_a_script_that_sets_a_config_module_s_name_trains_with_its_own_value(
        lint_tree: Callable[..., Any]) -> None:
    """`config.LR = 0.01` (or `= args.lr`) at a script's top, then `lr=config.LR`: the
    optimizer gets the script's value, not the one config.py spells, and another script of
    the project still reads config.py's own."""
    train = """
    import torch
    import torch.nn as nn
    import config
    from data import loader
    {setup}
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    opt = torch.optim.SGD(model.parameters(), lr=config.LR, momentum=0.9)
    for epoch in range(10):
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    """
    files = {"config.py": "LR = 1e-6\n",
             "tuned.py": train.format(setup="config.LR = 0.01"),
             "plain.py": train.format(setup=""),
             "fast.py": train.format(setup="setattr(config, 'LR', 5.0)")}
    found = lint_tree(files, select=["CNN207", "CNN208"]).findings
    assert sorted((f.path, f.code, f.message.split(" is ")[0]) for f in found) == [
        ("fast.py", "CNN208", "`SGD` learning rate 5.0 (`config.LR` as the run sets it)"),
        ("plain.py", "CNN207", "`SGD` learning rate 1e-06 (`config.LR` in config.py)")]


def test_a_model_fed_batches_joined_along_the_batch_axis_is_not_judged_by_a_loader_s_size(
        lint_tree: Callable[..., Any]) -> None:
    """A GAN's BatchNorm discriminator called on `torch.cat((real, fake), dim=0)`: its batch
    is twice the loader's 4, so only the generator (fed the loader's batches themselves)
    trains at batch 4. Joining along another axis (channels) leaves the batch as it was."""
    script = """
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())

    gen = nn.Sequential(block(3, 8), nn.Conv2d(8, 3, 1))
    disc = nn.Sequential(block({cin}, 8), nn.Flatten(), nn.LazyLinear(1))
    loader = DataLoader(torch.load("images.pt"), batch_size=4, shuffle=True)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4)
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4)
    bce = nn.BCEWithLogitsLoss()
    for epoch in range(20):
        for real in loader:
            fake = gen(real)
            opt_d.zero_grad()
            both = torch.cat((real, fake.detach()), dim={dim})
            bce(disc(both), torch.ones(len(both), 1)).backward()
            opt_d.step()
            opt_g.zero_grad()
            bce(disc(torch.cat((real, fake), dim={dim})), torch.zeros(8, 1)).backward()
            opt_g.step()
    """
    def named(dim: int, cin: int) -> list[list[str]]:
        found = lint_tree({"gan.py": script.format(dim=dim, cin=cin)},
                          select=["CNN201"]).findings
        return [sorted(re.findall(r"`(\w+)` \(gan", f.message)) for f in found]

    assert named(0, 3) == [["gen"]]
    assert named(1, 6) == [["disc", "gen"]]


def test_a_crop_transform_made_in_a_forward_is_read_as_a_crop(
        lint_tree: Callable[..., Any]) -> None:
    """A U-Net crops what its encoder kept with torchvision's `CenterCrop((h, w))`, made
    and applied in its forward: the features, cropped. The network is read in full, so its
    13 convolutions with no normalisation are reported (CNN104)."""
    source = """
import torch
import torch.nn as nn
from torchvision.transforms import CenterCrop


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.ModuleList([block(3, 16), block(16, 32), block(32, 64)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(64, 32, 2, 2),
                                 nn.ConvTranspose2d(32, 16, 2, 2)])
        self.dec = nn.ModuleList([block(64, 32), block(32, 16)])
        self.head = nn.Conv2d(16, 1, 1)

    def crop(self, x, skip):
        _, _, h, w = x.shape
        return CenterCrop((h, w))(skip)

    def forward(self, x):
        kept = []
        for i, stage in enumerate(self.down):
            x = stage(x)
            if i < 2:
                kept.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(kept)):
            x = up(x)
            x = dec(torch.cat([x, self.crop(x, skip)], dim=1))
        return self.head(x)
"""
    result = lint_tree({"unet.py": source})
    assert [f.symbol for f in _findings(result, "CNN104")] == ["UNet"]


def test_a_block_a_network_of_its_file_holds_is_judged_there_when_a_script_builds_it(
        lint_tree: Callable[..., Any]) -> None:
    """`Inception()` takes no arguments, so it could be judged as a network of its own; but
    the detector of its file holds it, built by a script with arguments
    (`Detector(n_out=4)`): its activations are counted once, in the detector's finding,
    not again at the block (FaceBoxes' Inception, review O). A block no network of its
    file holds is still judged alone."""
    model = """
import torch.nn as nn


def cbr(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())


class Mixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[cbr(16, 16) for _ in range(6)])

    def forward(self, x):
        return self.body(x) + x


class Detector(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.stem = cbr(3, 16)
        self.blocks = nn.Sequential(Mixer(), Mixer())
        self.head = nn.Conv2d(16, n_out, 1)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))
"""
    script = "from net import Detector\n\nnet = Detector(n_out=4)\n"
    result = lint_tree({"net.py": model, "run.py": script}, select=["CNN105"])
    assert [(f.path, f.line) for f in result.findings] == [("run.py", 3)]
    alone = model.replace("self.blocks = nn.Sequential(Mixer(), Mixer())",
                          "self.blocks = nn.Sequential(*[cbr(16, 16) for _ in range(6)])")
    result = lint_tree({"net.py": alone, "run.py": script}, select=["CNN105"])
    assert sorted((f.path, f.line) for f in result.findings) == [("net.py", 8), ("run.py", 3)]


@pytest.mark.parametrize("block, flagged", [
    ("nn.Conv1d(32, 32, 5, padding=2), nn.BatchNorm1d(32), nn.Tanh(), nn.Dropout(0.5)", False),
    ("nn.Conv1d(32, 32, 5, padding=2), nn.Tanh()", True),
    ("nn.Conv1d(32, 32, 5, padding=2), nn.BatchNorm1d(32), nn.Sigmoid()", True),
])
def test_a_tanh_after_a_norm_layer_is_kept_out_of_saturation(
        lint_tree: Callable[..., Any], block: str, flagged: bool) -> None:
    """Conv -> BatchNorm -> Tanh blocks (a speech synthesiser's post-net): the norm keeps the
    tanh's input near zero, where its slope is about 1, so CNN106 does not call the stack a
    vanishing-gradient risk (review R). Without the norm it does, and a sigmoid's slope is
    at most 0.25 whatever its input."""
    source = f"""
import torch.nn as nn

refine = nn.Sequential(*[m for _ in range(5) for m in ({block},)], nn.Conv1d(32, 8, 5, padding=2))
"""
    result = lint_tree({"refine.py": source}, select=["CNN106"])
    assert [f.code for f in result.findings] == (["CNN106"] if flagged else [])


def test_builds_of_one_class_in_a_training_and_a_prediction_script_are_one_finding(
        lint_tree: Callable[..., Any]) -> None:
    """`Seg(aux=True)` in train.py and `Seg(aux=False)` in predict.py build the same layers
    (the flag picks the outputs): one finding, at the build a run trains, naming the other
    build as a related place (MICCAI-LITS2017's ResUNet was reported twice, the second time
    in its inference script). Linting predict.py alone still reports it (its build is one
    end of the finding)."""
    net = """
import torch.nn as nn


class Seg(nn.Module):
    def __init__(self, aux):
        super().__init__()
        self.aux = aux
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(9)])
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        f = self.body(x)
        return (self.head(f), f) if self.aux else self.head(f)
"""
    train = """
import torch
from net import Seg

model = Seg(aux=True)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
for x, y in torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=16):
    out, _ = model(x)
    opt.zero_grad()
    torch.nn.functional.mse_loss(out, y).backward()
    opt.step()
"""
    predict = "from net import Seg\n\nmodel = Seg(aux=False)\n"
    files = {"net.py": net, "train.py": train, "predict.py": predict}
    result = lint_tree(files, select=["CNN103"])
    assert [(f.path, f.line) for f in result.findings] == [("train.py", 4)]
    assert result.findings[0].message.endswith("(Seg(aux=True); also in Seg(aux=False))")
    assert [(r.path, r.line) for r in result.findings[0].related] == [("predict.py", 3)]
    rules = load_rules()
    alone = lint(["predict.py"], build_settings(["predict.py"], Flags(select=["CNN103"]),
                                                 rules), rules)
    assert [(f.path, f.line) for f in alone.findings] == [("train.py", 4)]


@pytest.mark.parametrize("build", [
    "net = Net(n_out=len(classes)).to(device)",
    "net = Net(len(classes))",
])
def test_a_class_its_own_script_builds_with_a_value_not_known_is_read(
        lint_tree: Callable[..., Any], build: str) -> None:
    """A notebook defines the network and, under `if __name__ == "__main__":`, builds it
    with a class count read from the data (`Net(n_out=len(classes))`): that build makes the
    class a network of its own, read with the count not known, as a class a script of
    another file builds so is (review Q: the training notebook had no finding and no note,
    while the inference notebook's literal build had them). A class the module level puts
    inside another network is still a part of that network only."""
    source = f"""
import numpy as np
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(1, 16, 5, padding=2), nn.BatchNorm1d(16),
                                  nn.ReLU(), nn.AdaptiveAvgPool1d(1))
        self.head = nn.Linear(16, n_out)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))


if __name__ == "__main__":
    device = "cpu"
    classes = np.unique(np.load("labels.npy"))
    {build}
"""
    result = lint_tree({"train.py": source}, select=["CNN101"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN101", 8)]
    held = source.replace(build, "net = nn.Sequential(Net(len(classes)), nn.Softmax(1))")
    result = lint_tree({"train.py": held}, select=["CNN101"])
    assert [(f.code, f.line) for f in result.findings] == []


def test_transforms_a_star_import_binds_are_read_as_torchvision_s(
        lint_tree: Callable[..., Any]) -> None:
    """`from torchvision.transforms import *` then `Compose([RandomCrop(32, padding=4),
    ToTensor()])`: those are torchvision's transforms, so the training images are known to
    be augmented (CNN212 silent), and a pipeline of ToTensor alone is known not to be."""
    source = """
import torch
import torchvision
from torchvision.transforms import *

net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(10))
data = torchvision.datasets.CIFAR10("data", transform=Compose([{steps}ToTensor()]))
loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    plain = lint_tree({"train.py": source.format(steps="")}, select=["CNN212"])
    assert [f.code for f in plain.findings] == ["CNN212"]
    augmented = lint_tree({"train.py": source.format(steps="RandomCrop(32, padding=4), ")},
                          select=["CNN212"])
    assert augmented.findings == []


def test_a_factory_no_run_trains_goes_by_the_builds_of_its_class_the_project_trains(
        lint_tree: Callable[..., Any]) -> None:
    """`plain()` builds the class without norm layers and nothing calls it; the registry the
    script picks from maps the name to `plain_bn()`, so every build of the class the
    project trains is normalised, and CNN104 does not judge the unused factory (review S:
    a distillation zoo's unused `vgg11()` beside the `vgg11_bn()` it trains). Where the
    script trains the plain factory, it is judged."""
    nets = """
import torch.nn as nn


class Plain(nn.Module):
    def __init__(self, use_bn=False):
        super().__init__()
        layers = []
        for _ in range(8):
            layers += [nn.Conv2d(16, 16, 3, padding=1, bias=not use_bn)]
            layers += [nn.BatchNorm2d(16)] if use_bn else []
            layers += [nn.ReLU()]
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), *layers)

    def forward(self, x):
        return self.body(x)


def plain(**kw):
    return Plain(**kw)


def plain_bn(**kw):
    return Plain(use_bn=True, **kw)


registry = {{"plain": {entry}}}
"""
    train = """
import torch
from nets import registry

net = registry["plain"]()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
for x, y in torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x).mean((2, 3)), y).backward()
    opt.step()
"""
    result = lint_tree({"nets.py": nets.format(entry="plain_bn"), "train.py": train},
                       select=["CNN104"])
    assert result.findings == []
    result = lint_tree({"nets.py": nets.format(entry="plain"), "train.py": train},
                       select=["CNN104"])
    assert [(f.code, f.path) for f in result.findings] == [("CNN104", "nets.py")]
