"""The ways the training rules went wrong on public projects, each rebuilt in a few lines.

Every case here is a pattern seen in real training scripts: wrapped and registry-built models,
schedulers passed as parameters, other frameworks, loops that optimise an input image,
checkpoint helpers, optimizers rebuilt every epoch, calls the reader cannot follow."""

from __future__ import annotations

from typing import Callable

import pytest

from cnnlint import ir
from cnnlint.config import Flags, build_settings
from cnnlint.engine import Result, lint
from cnnlint.rule import load_rules
from helpers import plain_net

Lint = Callable[..., Result]

MODEL = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))

def net20():
    return Net()
"""

# An ImageNet-example style script: train() and validate() helpers, called every epoch.
SCRIPT = """
import argparse
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
import models

parser = argparse.ArgumentParser()
parser.add_argument("--arch", default="net20")
parser.add_argument("--epochs", default=90, type=int)
parser.add_argument("--lr", default=0.1, type=float)


def train(loader, model, criterion, optimizer):
    model.train()
    for images, target in loader:
        loss = criterion(model(images), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def validate(loader, model, criterion):
    model.eval()
    with torch.no_grad():
        for images, target in loader:
            criterion(model(images), target)


def main():
    args = parser.parse_args()
    model = {build}
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
    train_loader = DataLoader(torch.load("train.pt"), batch_size=256, shuffle=True)
    val_loader = DataLoader(torch.load("val.pt"), batch_size=256)
    best = 0
    for epoch in range(args.epochs):
        train(train_loader, model, criterion, optimizer)
        scheduler.step()
        acc = validate(val_loader, model, criterion)
        if acc > best:
            best = acc
            torch.save(model.state_dict(), "best.pth")


if __name__ == "__main__":
    main()
"""


def codes(result: Result, prefix: str = "CNN2") -> list[tuple[str, str, int]]:
    return sorted((f.code, f.path, f.line) for f in result.findings if f.code.startswith(prefix))


def test_validation_is_seen_through_wrapped_and_registry_models(lint_tree: Lint) -> None:
    for build in ("models.Net()", "nn.DataParallel(models.Net())",
                  "torch.nn.parallel.DistributedDataParallel(models.Net().cuda(), [0])",
                  "nn.DataParallel(models.Net()).cuda()", "models.__dict__[args.arch]()",
                  "getattr(models, args.arch)()", "torch.compile(models.net20()).to('cuda')"):
        result = lint_tree({"models.py": MODEL, "train.py": SCRIPT.format(build=build)})
        assert codes(result) == [], build
        (run,) = result.runs
        assert [m.keys[0] for m in run.models] == ["models:Net"], build
        assert [loop.count.value for loop in run.epoch_loops] == [90]  # type: ignore[union-attr]


def test_a_model_from_a_library_or_an_unknown_registry_is_still_a_model(
        lint_tree: Lint) -> None:
    for build in ("timm.create_model('resnet50')", "registry[args.arch]()"):
        source = "import timm\nregistry = load()\n" + SCRIPT.format(build=build)
        result = lint_tree({"models.py": MODEL, "train.py": source})
        (run,) = result.runs
        assert run.optimizers and run.epoch_loops and codes(result) == [], build
        assert run.models[0].families is None  # what it holds is not known


def test_a_scheduler_passed_as_a_parameter_is_not_an_optimizer(lint_tree: Lint) -> None:
    result = lint_tree("""
        import torch

        def train_epoch(model, loader, optimizer, lr_scheduler, criterion):
            for x, y in loader:
                optimizer.zero_grad()
                criterion(model(x), y).backward()
                optimizer.step()
            lr_scheduler.step()

        def fit(model, loader, lr_scheduler, criterion):
            for epoch in range(100):
                for x, y in loader:
                    lr_scheduler.step()
    """)
    assert codes(result) == []


def test_files_for_another_framework_get_no_pytorch_rules(lint_tree: Lint) -> None:
    result = lint_tree({"train_gl.py": """
        import mxnet as mx
        from mxnet import autograd, gluon

        net = gluon.model_zoo.vision.resnet18_v1()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        for epoch in range(120):
            for data, label in train_data:
                with autograd.record():
                    loss = loss_fn(net(data), label)
                loss.backward()
                trainer.step(data.shape[0])
    """})
    assert result.findings == [] and result.runs == []
    assert any("another framework" in note for note in result.notes())


def test_optimising_an_input_image_is_not_training(lint_tree: Lint) -> None:
    result = lint_tree("""
        import torch
        from torchvision import models

        model = models.vgg16(pretrained=True).features
        image = torch.randn(1, 3, 224, 224, requires_grad=True)
        optimizer = torch.optim.SGD([image], lr=1e4)
        for i in range(250):
            optimizer.zero_grad()
            loss = -model(image).mean()
            loss.backward()
            optimizer.step()
    """)
    assert result.findings == [] and result.runs == []


def test_weights_counted_elsewhere_do_not_make_an_input_optimiser_a_training(
        lint_tree: Lint) -> None:
    """An optimizer over a latent code and buffers the reader cannot list, in a function
    called after another one took the network's parameters (to count them): those are not
    what it optimises. Taken in the same function, they may be."""
    source = """
        import pickle
        import torch

        def size(net):
            return sum(p.numel() for p in net.parameters())

        def invert(net, target, steps=500, lr=0.1):
            buffers = {k: b for k, b in net.named_buffers() if "noise" in k}
            code = torch.zeros(1, 64, requires_grad=True)
            opt = torch.optim.Adam([code] + list(buffers.values()), lr=lr)
            for i in range(steps):
                opt.zero_grad()
                (net(code) - target).square().mean().backward()
                opt.step()
            return code

        def main():
            net = pickle.load(open("decoder.pkl", "rb"))
            print(size(net))
            invert(net, torch.rand(1, 3, 16, 16))

        main()
    """
    assert codes(lint_tree(source)) == []
    kept = source.replace("opt = torch.optim.Adam([code] + list(buffers.values()), lr=lr)",
                          "opt = torch.optim.Adam(filter(None, net.parameters()), lr=lr)")
    assert ("CNN208", "model.py", 10) in codes(lint_tree(kept))


def test_param_groups_of_a_model_s_parts_train_that_model(lint_tree: Lint) -> None:
    """A builder makes a network of two parts it builds itself; the script gives the
    optimizer one param group per part and calls the whole network: the network is what
    trains (CNN201 names it, not one of its parts)."""
    nets = """
import torch.nn as nn

class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()

class Whole(nn.Module):
    def __init__(self, trunk, head):
        super().__init__()
        self.trunk = trunk
        self.head = head

    def forward(self, x):
        return self.head(self.trunk(x))

def build():
    return Whole(Trunk(), nn.Sequential(nn.Conv2d(16, 2, 1), nn.BatchNorm2d(2)))
"""
    script = """
import torch
from nets import build

model = build()
opt = torch.optim.SGD([{"params": model.trunk.parameters()},
                       {"params": model.head.parameters(), "lr": 0.1}], lr=0.01, momentum=0.9)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=4, shuffle=True)
for x, y in loader:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
"""
    result = lint_tree({"nets.py": nets, "train.py": script}, select=["CNN201"])
    (finding,) = result.findings
    assert finding.message.startswith("`build` (nets.py:21) has BatchNorm layers")


def test_groups_a_helper_fills_by_a_test_not_followed_hold_the_model(lint_tree: Lint) -> None:
    """A helper sorts the weights into decay / no-decay groups through a key the reader
    cannot evaluate: the groups it returns look empty, which torch would refuse, so they
    hold the weights the helper took (the model trains with decay: no CNN107)."""
    source = plain_net("Deep", 9) + """
import torch

def groups(model, decay):
    kept = {"on": {"params": [], "weight_decay": decay},
            "off": {"params": [], "weight_decay": 0.0}}
    for name, p in model.named_parameters():
        kept["off" if name.endswith("bias") else "on"]["params"].append(p)
    return list(kept.values())

def main():
    model = Deep()
    opt = torch.optim.AdamW(groups(model, 0.05), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

main()
"""
    result = lint_tree(source, select=["CNN107"])
    assert result.findings == []
    (run,) = result.runs
    assert [m.name for m in run.models] == ["Deep"]


def test_a_backbone_whose_stages_a_wrapper_keeps_trains_with_the_model(lint_tree: Lint) -> None:
    """A wrapper copies a backbone's children up to a stage (`named_children()` with a
    `break`), and the segmentation network holding it trains with dropout and weight decay:
    the backbone trains as its part (no CNN107 "no training script"), and the network holds
    its layers (its BatchNorm: CNN201 at batch 4)."""
    nets = plain_net("Backbone", 9).replace(
        "nn.Conv2d(8, 8, 3, padding=1)", "nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), "
        "nn.BatchNorm2d(8))") + """
import collections

class Upto(nn.ModuleDict):
    def __init__(self, net, last):
        kept = collections.OrderedDict()
        for name, child in net.named_children():
            kept[name] = child
            if name == last:
                break
        super().__init__(kept)

    def forward(self, x):
        for child in self.values():
            x = child(x)
        return x

class Seg(nn.Module):
    def __init__(self, trunk):
        super().__init__()
        self.trunk = trunk
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(8, 2, 1))

    def forward(self, x):
        return self.head(self.trunk(x))

def seg():
    return Seg(Upto(Backbone(), "body"))
"""
    script = """
import torch
from nets import seg

model = seg()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=4, shuffle=True)
for x, y in loader:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
"""
    result = lint_tree({"nets.py": nets, "train.py": script}, select=["CNN107", "CNN201"])
    assert [(f.code, f.path) for f in result.findings] == [("CNN201", "train.py")]


LOGGED = """
import argparse
import torch
import torch.nn as nn


class Log:
    def __init__(self, path, resume=False):
        self.path = path

    def append(self, row):
        print(row)


parser = argparse.ArgumentParser()
parser.add_argument("--resume", default="")
args = parser.parse_args()
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
if args.resume:
    log = Log("log.txt", resume=True)
else:
    log = Log("log.txt")
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
for epoch in range(100):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    log.append([epoch])
"""


def test_a_plain_object_made_on_either_side_of_an_if_is_followed(lint_tree: Lint) -> None:
    """A logger opened to resume or anew: its method is the same either way, so the loop
    that calls it is read in full (no "one of several networks" that silences the loop
    rules)."""
    result = lint_tree({"train.py": LOGGED})
    assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN209"]
    assert not any("several" in note for note in result.notes())


def test_a_step_function_handed_to_a_library_engine_may_train_its_networks(
        lint_tree: Lint) -> None:
    """`Engine(update).run(data)`: the library runs the step, so the networks it names
    (and those inside them) may be trained there, with the decay its optimizer has: no
    "no training script followed" for them."""
    nets = plain_net("Trunk", 9) + """
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = Trunk()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.trunk(x).mean((2, 3)))
"""
    script = """
import torch
from ignite.engine import Engine
from nets import Classifier

model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)

def update(engine, batch):
    optimizer.zero_grad()
    x, y = batch
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()

Engine(update).run(torch.load("train.pt"), max_epochs=30)
"""
    alone = lint_tree({"nets.py": nets}, select=["CNN107"]).findings
    assert {f.symbol for f in alone} == {"Classifier"}
    assert lint_tree({"nets.py": nets, "train.py": script}, select=["CNN107"]).findings == []


CHECKPOINT = """
import shutil
import torch
import torch.nn as nn

def save_checkpoint(state, is_best, filename="checkpoint.pth.tar"):
    torch.save(state, filename)
{copy}

def main():
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
    best = 0
    for epoch in range(200):
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        scheduler.step()
        with torch.no_grad():
            acc = sum(model(x).sum() for x, y in val_loader)
        is_best = acc > best
        best = max(acc, best)
        save_checkpoint({{"state_dict": model.state_dict()}}, is_best)

main()
"""


def test_a_checkpoint_helper_is_followed_into(lint_tree: Lint) -> None:
    keeps = CHECKPOINT.format(copy="    if is_best:\n"
                                   "        shutil.copyfile(filename, 'model_best.pth.tar')")
    assert codes(lint_tree({"train.py": keeps}), "CNN203") == []
    # A helper that takes `is_best` and ignores it keeps no best checkpoint.
    ignores = CHECKPOINT.format(copy="")
    assert codes(lint_tree({"train.py": ignores}), "CNN203") == [("CNN203", "train.py", 14)]


def test_a_checkpoint_saved_on_one_rank_is_kept(lint_tree: Lint) -> None:
    """`if args.local_rank == 0:` with -1 by default: the distributed launcher sets the
    option, so the best checkpoint saved behind it is part of the script."""
    guarded = CHECKPOINT.format(copy="    if is_best:\n"
                                     "        shutil.copyfile(filename, 'model_best.pth.tar')")
    guarded = guarded.replace("import shutil", "import argparse\nimport shutil").replace(
        "def main():\n", "def main():\n    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--local_rank', type=int, default=-1)\n"
        "    args = parser.parse_args()\n").replace(
        "        save_checkpoint(", "        if args.local_rank == 0:\n"
        "            save_checkpoint(")
    assert "if args.local_rank == 0:" in guarded
    assert codes(lint_tree({"train.py": guarded}), "CNN203") == []


REBUILT = """
import argparse
import torch
import torch.nn as nn

def learning_rate(init, epoch):
    factor = 0.2 if epoch > 60 else 1.0
    return init * factor

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", default=0.1, type=float)
    args = parser.parse_args()
    model = nn.Linear(4, 2)
    for epoch in range(1, 200):
        optimizer = torch.optim.SGD(model.parameters(), lr={lr}, momentum=0.9)
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()

main()
"""


def test_an_optimizer_rebuilt_each_epoch_with_a_new_rate_is_a_schedule(lint_tree: Lint) -> None:
    scheduled = lint_tree({"train.py": REBUILT.format(lr="learning_rate(args.lr, epoch)")})
    assert codes(scheduled, "CNN209") == []
    constant = lint_tree({"train.py": REBUILT.format(lr="args.lr")})
    assert codes(constant, "CNN209") == [("CNN209", "train.py", 14)]


STAGES = """
import argparse
import torch
import torch.nn as nn

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", default=0.1, type=float)
    args = parser.parse_args()
    model = nn.Linear(4, 2)
    for length in [60, 40, 40]:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
        for epoch in range(length):
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
        DROP

main()
"""


def test_an_option_rate_lowered_after_each_stage_is_a_schedule(lint_tree: Lint) -> None:
    """Stages of epochs, each with an optimizer rebuilt at `args.lr`, the option divided by
    10 after each stage: a step schedule written by hand (an option keeps its default
    otherwise, as a resumed epoch number does). Without the division, each stage's rate is
    the same: CNN209."""
    assert codes(lint_tree({"train.py": STAGES.replace("DROP", "args.lr /= 10")}),
                 "CNN209") == []
    assert [c for c, _, _ in codes(lint_tree({"train.py": STAGES.replace("DROP", "pass")}),
                                   "CNN209")] == ["CNN209"]


IDLE = """
import torch
import torch.nn as nn
{imports}
def one_epoch(model, optimizer, scheduler):
    for x in range(10):
        optimizer.zero_grad()
        model(torch.load("batch.pt")).sum().backward()
        optimizer.step()
{step}

model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
{setup}
for epoch in range(100):
    one_epoch(model, optimizer, scheduler)
{after}
"""


@pytest.mark.parametrize("imports, step, setup, after, idle", [
    ("", "", "", "", True),
    # The step in the helper that receives it, after the loop of one epoch.
    ("", "    scheduler.step()", "", "", False),
    # Stepped through a list of schedulers, or through its bound method kept aside.
    ("", "", "every = [scheduler]", "    for s in every:\n        s.step()", False),
    ("", "", "tick = scheduler.step", "    tick()", False),
    # Wrapped by a scheduler that steps it, or handed to a library object.
    ("", "", "scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [scheduler, "
     "torch.optim.lr_scheduler.ConstantLR(optimizer)], milestones=[5])",
     "    scheduler.step()", False),
    ("import hooks_lib", "", "hooks = hooks_lib.Hooks()\nhooks.on_epoch = scheduler", "", False),
])
def test_a_scheduler_built_and_never_stepped_keeps_the_rate_constant(
        lint_tree: Lint, imports: str, step: str, setup: str, after: str, idle: bool) -> None:
    script = IDLE.format(imports=imports, step=step, setup=setup, after=after)
    found = [f for f in lint_tree({"train.py": script}, select=["CNN209"]).findings]
    if not idle:
        assert found == []
        return
    assert [(f.code, f.line, f.severity) for f in found] == [("CNN209", 15, "warning")]
    assert found[0].message == ("trains 100 epochs at a constant learning rate: the `StepLR` "
                                "built at train.py:13 is never stepped")
    assert "step()" in str(found[0].hint)


@pytest.mark.parametrize("scheduler, flat", [
    ("MultiStepLR(optimizer, milestones=[])", "MultiStepLR(milestones=[])"),
    ("MultiStepLR(optimizer, [30, 60], 1.0)", "MultiStepLR(gamma=1.0)"),
    ("StepLR(optimizer, 10, gamma=1)", "StepLR(gamma=1)"),
    ("ExponentialLR(optimizer, 1)", "ExponentialLR(gamma=1)"),
    ("MultiStepLR(optimizer, milestones=[30, 60])", None),
    ("ExponentialLR(optimizer, 0.97)", None),
    ("MultiStepLR(optimizer, milestones=torch.load('m.pt'))", None),  # not known
])
def test_a_scheduler_built_to_keep_the_rate_is_no_schedule(
        lint_tree: Lint, scheduler: str, flat: str | None) -> None:
    """A step scheduler with no milestones or a factor of 1 changes nothing (b187: a
    `MultiStepLR(milestones=[])` counted as a schedule): CNN209 names it."""
    script = IDLE.format(imports="", step="    scheduler.step()", setup="", after="").replace(
        "StepLR(optimizer, step_size=30)", scheduler)
    found = lint_tree({"train.py": script}, select=["CNN209"]).findings
    assert [f.message for f in found] == ([] if flat is None else [
        f"trains 100 epochs at a constant learning rate: `{flat}` keeps the rate as it is"])


def test_a_scheduler_rebuilt_under_a_condition_is_still_a_scheduler(lint_tree: Lint) -> None:
    script = """
import torch
import torch.nn as nn

net = nn.Linear(4, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, 10)
for epoch in range(40):
    if epoch == 3:
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    for x in range(5):
        opt.zero_grad()
        net(torch.load("batch.pt")).sum().backward()
        opt.step()
    sched.step()
"""
    result = lint_tree({"train.py": script}, select=["CNN202", "CNN209"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN202", 7)]
    assert not any("could not be followed" in note for note in result.notes())


@pytest.mark.parametrize("average", [
    "torch.optim.swa_utils.AveragedModel(net, device=torch.device('cpu'))",
    "timm.utils.ModelEmaV2(net, decay=0.999)",
])
@pytest.mark.parametrize("evaluated", [True, False])
def test_a_running_average_of_the_model_evaluated_each_epoch_is_validation(
        lint_tree: Lint, average: str, evaluated: bool) -> None:
    """An SWA or EMA copy of the network, updated from it each step and evaluated on the
    held-out loader each epoch, evaluates the training (no CNN202). Updating it trains
    nothing and hides nothing: without the evaluation, the loop is judged."""
    update = "update_parameters" if "swa_utils" in average else "update"
    script = f"""
import timm.utils
import torch
import torch.nn as nn

def score(model, loader):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)

net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
avg = {average}
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, 10)
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
for epoch in range(30):
    net.train()
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        avg.{update}(net)
    sched.step()
    EVALUATE
""".replace("EVALUATE", "print(score(avg, val_loader))" if evaluated else "print(epoch)")
    result = lint_tree({"train.py": script}, select=["CNN202"])
    assert [f.code for f in result.findings] == ([] if evaluated else ["CNN202"])


RESUMED = """
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
start = 0
try:
    start = {start}
except FileNotFoundError:
    pass
for epoch in range(start, 100):
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
"""


def test_an_epoch_count_the_reader_cannot_know_is_a_note(lint_tree: Lint) -> None:
    """A run resumed from a checkpoint starts at an epoch read from the file: how long it
    trains is not known, so the rules about long runs stay silent and `--verbose` says why."""
    long_run = ["CNN202", "CNN203", "CNN209"]
    resumed = lint_tree({"train.py": RESUMED.format(start='torch.load("last.pth")["epoch"]')})
    assert [c for c, _, _ in codes(resumed) if c in long_run] == []
    (note,) = [n for n in resumed.notes() if "how many epochs" in n]
    assert note.startswith("train.py:11:")
    fresh = lint_tree({"train.py": RESUMED.format(start="0")})
    assert [c for c, _, _ in codes(fresh) if c in long_run] == long_run
    assert not [n for n in fresh.notes() if "how many epochs" in n]


def test_a_call_the_reader_cannot_follow_silences_what_is_missing(lint_tree: Lint) -> None:
    result = lint_tree("""
        import torch
        import torch.nn as nn
        from engine import evaluate

        model = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for epoch in range(100):
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            evaluate(model, val_loader)
    """)
    assert codes(result) == []
    (note,) = [n for n in result.notes() if "could not be followed" in n]
    assert "`engine.evaluate`" in note and "model.py:7" in note
    # Logging, timing and numpy calls are known to do nothing of the kind.
    result = lint_tree("""
        import logging, time
        import numpy as np
        import torch
        import torch.nn as nn

        log = logging.getLogger(__name__)
        model = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for epoch in range(100):
            start = time.time()
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            log.info("epoch %d took %.1f s, %f", epoch, time.time() - start, np.mean([1]))
    """)
    assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN209"]


def test_a_feature_left_off_by_a_default_flag_is_still_read(lint_tree: Lint) -> None:
    result = lint_tree("""
        import argparse
        import torch
        import torch.nn as nn

        parser = argparse.ArgumentParser()
        parser.add_argument("--output-dir", default="")
        args = parser.parse_args()
        model = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        best = 0
        for epoch in range(100):
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            with torch.no_grad():
                acc = model(x).sum()
            if acc > best:
                best = acc
                if args.output_dir:
                    torch.save(model.state_dict(), args.output_dir + "/best.pth")
    """)
    assert codes(result, "CNN203") == []


def test_fine_tuning_the_head_trains_the_model(lint_tree: Lint) -> None:
    result = lint_tree({"models.py": MODEL, "train.py": """
        import torch
        from torch.utils.data import DataLoader
        from models import Net

        model = Net()
        loader = DataLoader(torch.load("d.pt"), batch_size=4, shuffle=True)
        optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
        for x, y in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
    """})
    (run,) = result.runs
    assert [m.name for m in run.models] == ["Net"]
    assert codes(result, "CNN201") == [("CNN201", "train.py", 6)]


def test_gradient_scaler_steps_and_zero_grad_in_a_helper(lint_tree: Lint) -> None:
    result = lint_tree("""
        import torch
        import torch.nn as nn

        def reset(optimizer):
            optimizer.zero_grad(set_to_none=True)

        model = nn.Linear(4, 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scaler = torch.cuda.amp.GradScaler()
        for x, y in loader:
            reset(optimizer)
            with torch.cuda.amp.autocast():
                loss = model(x).sum()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    """)
    (run,) = result.runs
    assert [e.kind for e in run.events_of(ir.STEP, ir.ZERO_GRAD)] == ["zero_grad", "step"]
    assert codes(result, "CNN205") == []


REGISTRY = """
import argparse
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

class BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x)).mean((2, 3))

class GNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.gn = nn.GroupNorm(2, 8)

    def forward(self, x):
        return self.gn(self.conv(x)).mean((2, 3))

MODELS = {{"a": BNNet, "b": {second}}}
parser = argparse.ArgumentParser()
parser.add_argument("--arch", required=True)
args = parser.parse_args()
model = MODELS[args.arch]()
loader = DataLoader(torch.load("d.pt"), batch_size=2, shuffle=True)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
"""


def test_a_registry_trains_one_of_its_models(lint_tree: Lint) -> None:
    # Either could be trained: BatchNorm at batch 2 is certain only when both have it.
    mixed = lint_tree({"train.py": REGISTRY.format(second="GNNet")})
    (run,) = mixed.runs
    assert set(run.models[0].keys) == {"train:BNNet", "train:GNNet"}
    assert codes(mixed, "CNN201") == []
    both = lint_tree({"train.py": REGISTRY.format(second="BNNet")})
    assert codes(both, "CNN201") == [("CNN201", "train.py", 29)]


OPTION_PICKED = REGISTRY.split("MODELS = ")[0] + """parser = argparse.ArgumentParser()
parser.add_argument("--arch", default="{default}")
args = parser.parse_args()
if args.arch == "bn":
    model = BNNet()
elif args.arch == "gn":
    model = GNNet()
else:
    raise ValueError(args.arch)
""" + REGISTRY.split("model = MODELS[args.arch]()\n")[1]


def test_an_option_picked_model_is_judged_as_the_default_picks_it(lint_tree: Lint) -> None:
    """`if args.arch == "bn": ... elif args.arch == "gn": ...`: either network may train, but
    `python train.py` as written trains the one the default picks: BatchNorm at batch 2 is
    reported when that one has it, and says so."""
    result = lint_tree({"train.py": OPTION_PICKED.format(default="bn")}, select=["CNN201"])
    (finding,) = result.findings
    assert finding.line == 33 and finding.message.startswith(
        "`BNNet` (train.py:6), the network the default options pick, has BatchNorm layers")
    result = lint_tree({"train.py": OPTION_PICKED.format(default="gn")}, select=["CNN201"])
    assert result.findings == []
    # The class picked first, built after (`cls = BNNet`, `if ...: cls = GNNet`, `cls()`).
    by_class = OPTION_PICKED.format(default="bn").replace(
        'if args.arch == "bn":\n    model = BNNet()\nelif args.arch == "gn":\n    model = GNNet()'
        '\nelse:\n    raise ValueError(args.arch)\n',
        'cls = BNNet\nif args.arch == "gn":\n    cls = GNNet\nmodel = cls()\n')
    assert "cls()" in by_class
    result = lint_tree({"train.py": by_class}, select=["CNN201"])
    assert [f.message.split(",")[1] for f in result.findings] == [
        " the network the default options pick"]


def test_a_full_batch_loop_is_an_epoch_loop(lint_tree: Lint) -> None:
    """With no loader in the run, each pass of a loop that steps sees all the data: an epoch
    (tutorials fit a small tensor this way)."""
    result = lint_tree("""
        import torch
        import torch.nn as nn

        x, y = torch.randn(100, 1), torch.randn(100, 1)
        net = nn.Sequential(nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 1))
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        for t in range(200):
            loss = nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    """)
    (run,) = result.runs
    assert [loop.count.value for loop in run.epoch_loops] == [200]  # type: ignore[union-attr]
    assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN209"]


def test_an_iteration_loop_over_a_loader_is_not_an_epoch_loop(lint_tree: Lint) -> None:
    result = lint_tree("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        net = nn.Linear(4, 2)
        loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
        batches = iter(loader)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        for it in range(10000):
            x, y = next(batches)
            optimizer.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            optimizer.step()
    """)
    (run,) = result.runs
    assert run.epoch_loops == [] and codes(result) == []


def test_each_pass_of_a_loop_over_models_and_optimizers_gets_its_own(lint_tree: Lint) -> None:
    """`for net, opt in zip(nets, optimizers)`: the later passes bind the later optimizers,
    not an unknown value (which would block every rule about what the loop lacks)."""
    result = lint_tree("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
        nets = [nn.Linear(4, 2), nn.Linear(4, 2)]
        optimizers = [torch.optim.SGD(nets[0].parameters(), lr=0.01, momentum=0.9),
                      torch.optim.Adam(nets[1].parameters(), lr=1e-3)]
        for epoch in range(12):
            for x, y in loader:
                for net, opt in zip(nets, optimizers):
                    opt.zero_grad()
                    nn.functional.mse_loss(net(x), y).backward()
                    opt.step()
    """)
    (run,) = result.runs
    assert run.complete and not run.events_of(ir.UNRESOLVED)
    assert "CNN202" in [c for c, _, _ in codes(result)]


def test_parts_of_a_plotting_library_s_value_are_the_library_s(lint_tree: Lint) -> None:
    """`fig, axes = plt.subplots(...)` then `axes[0][i].imshow(...)` in the loop: calls a
    plotting library makes, which cannot evaluate or stop anything."""
    result = lint_tree("""
        import matplotlib.pyplot as plt
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
        net = nn.Linear(4, 2)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        fig, axes = plt.subplots(2, 5)
        for epoch in range(10):
            for x, y in loader:
                optimizer.zero_grad()
                out = net(x)
                nn.functional.mse_loss(out, y).backward()
                optimizer.step()
                axes[0][1].imshow(out.detach().numpy())
    """)
    (run,) = result.runs
    assert not run.events_of(ir.UNRESOLVED)
    assert "CNN202" in [c for c, _, _ in codes(result)]


def test_a_dataset_picked_by_a_setting_has_each_pipeline_judged(lint_tree: Lint) -> None:
    """`if args.dataset == ...: elif ...:` over torchvision datasets: each pipeline that may
    train is judged where it is built; FakeData's random images need none."""
    result = lint_tree("""
        import argparse
        import torch
        import torch.nn as nn
        from torchvision import datasets, transforms

        parser = argparse.ArgumentParser()
        parser.add_argument("--dataset", required=True)
        args = parser.parse_args()
        if args.dataset == "cifar10":
            data = datasets.CIFAR10("data", transform=transforms.Compose([
                transforms.RandomCrop(32, padding=4), transforms.ToTensor()]))
        elif args.dataset == "mnist":
            data = datasets.MNIST("data", transform=transforms.Compose([
                transforms.Resize(32), transforms.ToTensor()]))
        elif args.dataset == "fake":
            data = datasets.FakeData(transform=transforms.ToTensor())
        loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True)
        net = nn.Linear(3072, 10)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        for x, y in loader:
            optimizer.zero_grad()
            net(x.flatten(1)).sum().backward()
            optimizer.step()
    """, select=["CNN212"])
    assert [(f.line, f.message) for f in result.findings] == [
        (13, "training images get no random augmentation (transforms: Resize, ToTensor)")]


def test_tensor_arithmetic_on_an_unknown_output_does_not_block(lint_tree: Lint) -> None:
    """A metric helper's `output.topk(k)` and `pred.t()` on an output the reader could not
    compute (here one kept from an earlier step): tensor arithmetic, which cannot validate
    or stop anything."""
    result = lint_tree({"models.py": MODEL, "train.py": """
        import torch
        import models

        def accuracy(output, target):
            _, pred = output.topk(1, 1, True, True)
            return pred.t().eq(target.view(1, -1).expand_as(pred)).float().sum()

        model = models.Net()
        loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        kept = {}
        for epoch in range(10):
            for x, y in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
                accuracy(kept["logits"], y)
    """})
    (run,) = result.runs
    assert not run.events_of(ir.UNRESOLVED)


DATASET_CLASS = """
import torch
from torchvision import transforms


class Pairs(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files
        self.{first} = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])
        self.{second} = transforms.Compose([transforms.Resize(256), transforms.ToTensor()])

    def __getitem__(self, i):
        return self.{first}(self.files[i]), self.{second}(self.files[i])

    def __len__(self):
        return len(self.files)
"""

TRAIN_ON_PAIRS = """
import torch
import torch.nn as nn
from data import Pairs

loader = torch.utils.data.DataLoader(Pairs(files), batch_size=16, shuffle=True)
net = nn.Conv2d(3, 3, 3)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(10):
    for low, high in loader:
        optimizer.zero_grad()
        (net(low) - high).abs().mean().backward()
        optimizer.step()
"""


def test_a_dataset_class_with_its_own_pipelines_has_them_judged(lint_tree: Lint) -> None:
    """Transforms kept in a project dataset's attributes and applied in __getitem__: judged
    together, one finding naming both (an input's and a target's pipeline); of a training
    and a test pipeline only the training one."""
    both = lint_tree({"data.py": DATASET_CLASS.format(first="lr_transform",
                                                      second="hr_transform"),
                      "train.py": TRAIN_ON_PAIRS}, select=["CNN212"])
    assert [(f.path, f.line) for f in both.findings] == [("data.py", 8)]
    assert "the dataset's 2 pipelines" in both.findings[0].message
    split = lint_tree({"data.py": DATASET_CLASS.format(first="train_transform",
                                                       second="test_transform"),
                       "train.py": TRAIN_ON_PAIRS}, select=["CNN212"])
    assert [(f.path, f.line) for f in split.findings] == [("data.py", 8)]


PARTNER_DRAWN = """
import random
import numpy as np
import torch
import torch.nn as nn
from torchvision import transforms


class Pairs(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items
        self.prepare = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])

    def __getitem__(self, i):
        first = self.items[i]
        second = DRAW
        same = float(first[1] == second[1])
        return self.prepare(first[0]), self.prepare(second[0]), same

    def __len__(self):
        return len(self.items)


loader = torch.utils.data.DataLoader(Pairs(items), batch_size=16, shuffle=True)
net = nn.Conv2d(3, 3, 3)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(10):
    for a, b, same in loader:
        optimizer.zero_grad()
        (same - (net(a) - net(b)).abs().mean()).abs().mean().backward()
        optimizer.step()
"""


@pytest.mark.parametrize("draw, augments", [
    ("random.choice(self.items)", False),
    ("self.items[np.random.permutation(len(self.items))[0]]", False),
    # A draw that may set how an image changes is still a sign of augmentation.
    ("self.items[random.randint(0, len(self.items) - 1)]", True),
])
def test_a_dataset_drawing_a_pair_partner_at_random_does_not_augment(
        lint_tree: Lint, draw: str, augments: bool) -> None:
    """A siamese dataset picking each item's partner with `random.choice`: a random pick of
    an example, not a random change of an image; its fixed pipeline is judged."""
    result = lint_tree(PARTNER_DRAWN.replace("DRAW", draw), select=["CNN212"])
    assert [f.line for f in result.findings] == ([] if augments else [11])


@pytest.mark.parametrize("first, second", [
    # The image's colour jitter beside the mask's crop: which one the images go through
    # is not known, and one augments.
    ("transforms.ColorJitter(0.4)", "transforms.CenterCrop(32)"),
    # A joint flip of image and mask written in the project, beside a Normalize.
    ("JointFlip()", "transforms.Normalize(0.5, 0.2)"),
])
def test_a_dataset_s_pipelines_are_not_judged_apart_when_one_may_augment_its_images(
        lint_tree: Lint, first: str, second: str) -> None:
    data = """
import torch


class Pairs(torch.utils.data.Dataset):
    def __init__(self, files, pair_transform, mask_transform):
        self.files = files
        self.pair_transform = pair_transform
        self.mask_transform = mask_transform

    def __getitem__(self, i):
        return self.pair_transform(self.files[i]), self.mask_transform(self.files[i])

    def __len__(self):
        return len(self.files)
"""
    script = TRAIN_ON_PAIRS.replace("from data import Pairs", "from data import Pairs\n"
                                    "from torchvision import transforms\n"
                                    "from aug import JointFlip").replace(
        "Pairs(files)", f"Pairs(files, {first}, {second})")
    plain = lint_tree({"data.py": data, "train.py": script.replace(
        f"Pairs(files, {first}, {second})",
        "Pairs(files, transforms.ToTensor(), transforms.CenterCrop(32))")}, select=["CNN212"])
    assert plain.findings  # neither pipeline augments: each is judged
    found = lint_tree({"data.py": data, "train.py": script}, select=["CNN212"])
    assert found.findings == []


def test_a_one_step_demo_does_not_train_on_a_loader_it_never_uses(lint_tree: Lint) -> None:
    result = lint_tree("""
        import torch
        import torch.nn as nn
        import torchvision
        from torchvision import transforms

        linear = nn.Linear(3, 2)
        optimizer = torch.optim.SGD(linear.parameters(), lr=0.01, momentum=0.9)
        nn.functional.mse_loss(linear(torch.randn(10, 3)), torch.randn(10, 2)).backward()
        optimizer.step()

        train_dataset = torchvision.datasets.CIFAR10("data", transform=transforms.ToTensor())
        train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=64, shuffle=True)
        for images, labels in train_loader:
            pass
    """, select=["CNN212"])
    assert result.findings == []


FCN_STYLE_TRAINER = """
import torch
import torch.nn as nn


def get_parameters(model, bias=False):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            yield m.bias if bias else m.weight


class Trainer:
    def __init__(self, model, optimizer, train_loader, val_loader, interval_validate):
        self.model, self.optim = model, optimizer
        self.train_loader, self.val_loader = train_loader, val_loader
        self.interval_validate = interval_validate
        self.iteration = 0

    def validate(self):
        self.model.eval()
        names = self.val_loader.dataset.classes
        with torch.no_grad():
            for x, y in self.val_loader:
                self.model(x)

    def train_epoch(self):
        self.model.train()
        for batch_idx, (x, y) in enumerate(self.train_loader):
            self.iteration += 1
            if self.iteration % self.interval_validate == 0:
                self.validate()
            self.optim.zero_grad()
            nn.functional.cross_entropy(self.model(x), y).backward()
            self.optim.step()

    def train(self):
        for epoch in range(10):
            self.train_epoch()


net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Dropout2d(), nn.Conv2d(8, 21, 1))
optimizer = torch.optim.SGD([{"params": get_parameters(net)},
                             {"params": get_parameters(net, bias=True), "lr": 2e-10}],
                            lr=1e-10, momentum=0.99)
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=1, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=1)
Trainer(net, optimizer, train_loader, val_loader, 4000).train()
"""


def test_an_optimizer_over_generated_parameter_groups_trains_the_model(lint_tree: Lint) -> None:
    """`get_parameters(model)` yields each conv's weight: the optimizer holds the model's
    weights, so the loop trains it (its rate is judged; validation mid-epoch leaves the
    model in eval mode for the rest of the epoch)."""
    result = lint_tree(FCN_STYLE_TRAINER, select=["CNN204", "CNN207"])
    (run,) = result.runs
    assert len(run.models) == 1 and run.optimizers
    assert [(f.code, f.line) for f in result.findings] == [("CNN204", 32), ("CNN207", 41)]


def test_a_counter_kept_in_the_loop_makes_a_periodic_validation_possible(
        lint_tree: Lint) -> None:
    """`step += 1` then `if step % 1000 == 0: validate(...)`: the one pass that stands for
    every batch does not know the count, so the validation may run."""
    result = lint_tree("""
        import torch
        import torch.nn as nn

        def validate(model, loader):
            model.eval()
            with torch.no_grad():
                for x, y in loader:
                    model(x)
            model.train()

        model = nn.Linear(4, 2)
        loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
        val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = 0
        for epoch in range(10):
            for x, y in loader:
                step += 1
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
                if step % 1000 == 0:
                    validate(model, val_loader)
    """, select=["CNN202"])
    assert result.findings == []


CONFIG_PARSER = """
import json
from pathlib import Path


def read_json(fname):
    fname = Path(fname)
    with fname.open("rt") as handle:
        return json.load(handle)


class ConfigParser:
    def __init__(self, config):
        self._config = config

    @classmethod
    def from_args(cls, args):
        if not isinstance(args, tuple):
            args = args.parse_args()
        return cls(read_json(Path(args.config)))

    def init_obj(self, name, module, *args, **kwargs):
        module_args = dict(self[name]["args"])
        module_args.update(kwargs)
        return getattr(module, self[name]["type"])(*args, **module_args)

    def __getitem__(self, name):
        return self.config[name]

    @property
    def config(self):
        return self._config
"""

JSON_TRAIN = """
import argparse
import torch
import torch.nn as nn
import losses
from parse_config import ConfigParser


def main(config):
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 5))
    optimizer = config.init_obj("optimizer", torch.optim, model.parameters())
    criterion = getattr(losses, config["loss"])
    loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y, [1.0, 4.0, 4.0, 8.0, 2.0]).backward()
            optimizer.step()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", default="config.json")
    main(ConfigParser.from_args(parser))
"""

LOSSES = """
import torch
import torch.nn as nn


def weighted_ce(output, target, weights):
    return nn.CrossEntropyLoss(weight=torch.tensor(weights))(output, target)
"""


def test_a_json_config_the_script_reads_picks_its_optimizer_and_loss(lint_tree: Lint) -> None:
    """A config class reading `config.json` (through pathlib, a property and `__getitem__`)
    picks the optimizer from torch.optim and the loss from the project by name."""
    files = {"parse_config.py": CONFIG_PARSER, "train.py": JSON_TRAIN, "losses.py": LOSSES,
             "config.json": '{"optimizer": {"type": "SGD", "args": {"lr": 1e-7}},'
                            ' "loss": "weighted_ce"}'}
    result = lint_tree(files, select=["CNN206", "CNN207", "CNN211"])
    assert sorted((f.code, f.path) for f in result.findings) == [
        ("CNN206", "parse_config.py"), ("CNN207", "parse_config.py"), ("CNN211", "losses.py")]
    rate = next(f for f in result.findings if f.code == "CNN207")
    assert "1e-07 (from `**module_args`)" in rate.message  # where the rate came from
    # A config file that is not in the project: nothing is known, nothing is reported.
    files["train.py"] = JSON_TRAIN.replace('"config.json"', '"missing.json"')
    assert lint_tree(files, select=["CNN206", "CNN207", "CNN211"]).findings == []


def test_batches_per_epoch_are_not_known(lint_tree: Lint) -> None:
    """`len(loader)` is the number of batches, which the reader does not know: an epoch
    count computed from it (an LR range test's `iterations / len(loader) + 1`) is unknown,
    not `iterations + 1` epochs."""
    result = lint_tree("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        loader = DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
        net = nn.Linear(4, 2)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        epochs = int(100 / len(loader)) + 1
        for epoch in range(epochs):
            for x, y in loader:
                opt.zero_grad()
                nn.functional.mse_loss(net(x), y).backward()
                opt.step()
    """)
    (run,) = result.runs
    assert [loop.count for loop in run.epoch_loops] == [None] and codes(result) == []


def test_a_project_scheduler_is_a_schedule_and_sets_the_rate(lint_tree: Lint) -> None:
    """An LR range test: the optimizer starts at 1e-7 and the project's own `_LRScheduler`
    subclass raises it every step. The rate is not the optimizer's value, and the run has a
    schedule."""
    result = lint_tree("""
        import torch
        import torch.nn as nn
        from torch.optim.lr_scheduler import _LRScheduler


        class FindLR(_LRScheduler):
            def __init__(self, optimizer, max_lr=10, num_iter=100, last_epoch=-1):
                self.total_iters, self.max_lr = num_iter, max_lr
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                return [lr * (self.max_lr / lr) ** (self.last_epoch / self.total_iters)
                        for lr in self.base_lrs]


        net = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-7, momentum=0.9)
        finder = FindLR(optimizer)
        for epoch in range(30):
            for x, y in loader:
                finder.step()
                optimizer.zero_grad()
                nn.functional.mse_loss(net(x), y).backward()
                optimizer.step()
    """, select=["CNN207", "CNN209"])
    (run,) = result.runs
    assert run.schedulers == ["FindLR of the project"] and result.findings == []


GAN = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

data = datasets.MNIST("data", train=True, transform=transforms.ToTensor())
loader = DataLoader(data, batch_size=64, shuffle=True)
G = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh())
D = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1), nn.Sigmoid())
criterion = nn.BCELoss()
{optimizers}
for epoch in range(200):
    for images, _ in loader:
        real = images.reshape(64, -1)
        fake = G(torch.randn(64, 64))
        d_loss = criterion(D(real), torch.ones(64, 1)) + criterion(D(fake.detach()),
                                                                   torch.zeros(64, 1))
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        g_loss = criterion(D(fake), torch.ones(64, 1))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
"""


def test_a_gan_is_not_judged_as_a_classifier(lint_tree: Lint) -> None:
    """A generator and a discriminator stepped by optimizers of their own: no held-out
    score, no early stopping, constant rates and unaugmented data are how GANs train. One
    optimizer stepping one model the same way is still judged."""
    apart = lint_tree(GAN.format(optimizers=(
        "d_optimizer = torch.optim.Adam(D.parameters(), lr=2e-4)\n"
        "g_optimizer = torch.optim.Adam(G.parameters(), lr=2e-4)")))
    (run,) = apart.runs
    assert run.models_stepped_apart(run.epoch_loops[0]) == ["D", "G"]
    assert codes(apart) == []
    assert any("steps `D` and `G` with optimizers of their own" in n for n in run.notes)
    together = lint_tree(GAN.format(optimizers=(
        "d_optimizer = g_optimizer = torch.optim.Adam(\n"
        "    list(D.parameters()) + list(G.parameters()), lr=2e-4)")))
    assert [c for c, *_ in codes(together)] == ["CNN202", "CNN203", "CNN209", "CNN212"]


def test_an_optimizer_over_one_model_of_a_gan_does_not_regularise_the_other(
        lint_tree: Lint) -> None:
    """Each network is judged by the optimizer that steps its weights (also through
    `filter(lambda p: p.requires_grad, ...)`): the other model's decay is not its."""
    nets = plain_net("Maker", 9) + plain_net("Judge", 10, "self.body(x).mean()")
    script = """
import torch
from nets import Judge, Maker

maker, judge = Maker(), Judge()
opt_m = torch.optim.Adam(filter(lambda p: p.requires_grad, maker.parameters()), lr=1e-4{m})
opt_j = torch.optim.Adam(judge.parameters(), lr=1e-4{j})
for epoch in range(20):
    for low, high in torch.load("pairs.pt"):
        fake = maker(low)
        opt_m.zero_grad()
        ((fake - high).abs().mean() - judge(fake)).backward()
        opt_m.step()
        opt_j.zero_grad()
        (judge(fake.detach()) - judge(high)).backward()
        opt_j.step()
"""
    found = lint_tree({"nets.py": nets, "train.py": script.format(
        m=", weight_decay=1e-4", j="")}, select=["CNN107"]).findings
    assert [(f.symbol, f.message.split("(")[-1]) for f in found] == [
        ("Judge", "`Adam` at train.py:6)")]
    found = lint_tree({"nets.py": nets, "train.py": script.format(
        m="", j=", weight_decay=1e-4")}, select=["CNN107"]).findings
    assert [(f.symbol, f.message.split("(")[-1]) for f in found] == [
        ("Maker", "`Adam` at train.py:5)")]


def test_a_counter_kept_in_a_while_batch_loop_holds_any_value(lint_tree: Lint) -> None:
    """`while step < len(loader): ...; step += 1; if step % 4 == 0: evaluate(...)`: the body
    is read once, but the test is about every pass, so the evaluation is seen."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

net = nn.Linear(8, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
train_loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=32)

def evaluate(model):
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)

for epoch in range(30):
    step = 0
    batches = iter(train_loader)
    while step < len(train_loader):
        x, y = next(batches)
        net.train()
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        step += 1
        if step % 4 == 0:
            evaluate(net)
"""
    assert "CNN202" not in [c for c, *_ in codes(lint_tree(script))]
    assert "CNN202" in [c for c, *_ in codes(lint_tree(script.replace(
        "            evaluate(net)\n", "            print(step)\n")))]


def test_apex_amp_hands_back_the_model_and_optimizer_it_is_given(lint_tree: Lint) -> None:
    """`net, opt = amp.initialize(net, opt)` under a mixed-precision switch: the run still
    trains the same model with the same optimizer (and its weight decay)."""
    script = "import torch\nfrom apex import amp\n" + plain_net("Net", 9) + """
USE_AMP = bool(torch.cuda.device_count())
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, DECAY)
if USE_AMP:
    net, opt = amp.initialize(net, opt, opt_level="O1")
for epoch in range(3):
    for x, y in torch.load("batches.pt"):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
"""
    assert lint_tree(script.replace("DECAY", "weight_decay=5e-4"), select=["CNN107"]).findings \
        == []
    (finding,) = lint_tree(script.replace(", DECAY", ""), select=["CNN107"]).findings
    assert finding.severity == "warning" and "(`SGD` at " in finding.message


def test_a_dataset_wrapping_an_augmented_one_augments(lint_tree: Lint) -> None:
    """`Pairs(CIFAR10(..., transform=jitter), to_tensor)`: the wrapped set's random crops
    run before the wrapper's own pipeline, so the images are augmented. Wrapping a set with
    no random transform is still judged."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

class Pairs(Dataset):
    def __init__(self, base, finish):
        self.base, self.finish = base, finish

    def __getitem__(self, i):
        image, label = self.base[i]
        return self.finish(image), label

    def __len__(self):
        return len(self.base)

first = transforms.Compose([FIRST])
finish = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
loader = DataLoader(Pairs(datasets.CIFAR10("d", train=True, transform=first), finish),
                    batch_size=64, shuffle=True)
net = nn.Linear(8, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(20):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    random = lint_tree(script.replace("FIRST", "transforms.RandomCrop(32, padding=4)"),
                       select=["CNN212"])
    assert random.findings == []
    fixed = lint_tree(script.replace("FIRST", "transforms.CenterCrop(32)"), select=["CNN212"])
    assert [f.message for f in fixed.findings] == [
        "training images get no random augmentation (transforms: ToTensor, Normalize)"]


@pytest.mark.parametrize("dataset", [
    'datasets.ImageFolder("data/train", plain)',
    'datasets.CIFAR10("data", True, plain)',
])
def test_a_dataset_s_transform_given_by_position_is_read(lint_tree: Lint, dataset: str) -> None:
    script = f"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

plain = transforms.Compose([transforms.ToTensor()])
loader = DataLoader({dataset}, batch_size=64, shuffle=True)
net = nn.Linear(8, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(20):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    found = lint_tree(script, select=["CNN212"]).findings
    assert [f.message for f in found] == [
        "training images get no random augmentation (transforms: ToTensor)"]


@pytest.mark.parametrize("epochs", [
    "tqdm(range(50))", 'tqdm(range(50), desc="epoch")', "trange(50)", "tqdm.tqdm(range(50))",
    "tqdm.tqdm_notebook(range(50))", "tqdm.notebook.tqdm(range(50))"])
def test_an_epoch_loop_behind_a_progress_bar_is_an_epoch_loop(lint_tree: Lint,
                                                              epochs: str) -> None:
    script = f"""
import torch
import torch.nn as nn
import tqdm
from tqdm import tqdm, trange
from torch.utils.data import DataLoader

net = nn.Linear(8, 2)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
for epoch in {epochs}:
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    if epochs.startswith("tqdm."):
        script = script.replace("from tqdm import tqdm, trange\n", "")
    if epochs.startswith("tqdm.notebook"):
        script = script.replace("import tqdm\n", "import tqdm.notebook\n")
    found = lint_tree(script, select=["CNN202", "CNN209"]).findings
    assert [(f.code, f.message) for f in found] == [
        ("CNN202", "trains 50 epochs with no evaluation on held-out data during training"),
        ("CNN209", "trains 50 epochs at a constant learning rate")]


def test_a_loader_made_by_a_helper_is_named_as_its_caller_names_it(lint_tree: Lint) -> None:
    """`small, _ = build(...)` where `build` calls its loader `train_loader`: a message about
    the caller's loader names `small` (and `small_test`, whose images go through the very
    pipeline `build` was given)."""
    helper = """
from torch.utils.data import DataLoader
from torchvision import datasets

def build(folder, tf):
    train_loader = DataLoader(datasets.ImageFolder(folder + "/train", transform=tf),
                              batch_size=32, shuffle=True)
    test_loader = DataLoader(datasets.ImageFolder(folder + "/test", transform=tf), batch_size=32)
    return train_loader, test_loader
"""
    script = """
import torch
import torch.nn as nn
from torchvision import transforms
from loaders import build

big, big_test = build("big", transforms.Compose([transforms.RandomCrop(32), transforms.ToTensor()]))
small, small_test = build("small", transforms.Compose([transforms.ToTensor()]))
net = nn.Linear(8, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(20):
    for (x, y), (u, w) in zip(big, small):
        opt.zero_grad()
        (nn.functional.cross_entropy(net(x), y) + nn.functional.cross_entropy(net(u), w)).backward()
        opt.step()
"""
    found = lint_tree({"loaders.py": helper, "train.py": script}, select=["CNN212"]).findings
    assert [f.message for f in found] == [
        "training images of `small` get no random augmentation (transforms: ToTensor): "
        "`small_test` goes through this pipeline too; give the training set one of its own"]


def test_a_network_named_in_a_config_file_may_be_any_of_the_module_s(lint_tree: Lint) -> None:
    """`getattr(nets, cfg["arch"])(...)` with the name from config.json: another config
    names another network, so every network of `nets` is judged with this run's
    optimizer (its weight decay), not reported as trained by no script."""
    files = {
        "nets/__init__.py": "from .plain import Plain\nfrom .tall import Tall\n",
        "nets/plain.py": plain_net("Plain", 9),
        "nets/tall.py": plain_net("Tall", 12),
        "config.json": '{"arch": "Tall", "decay": 0.0001}',
        "train.py": """
import json
import torch
import nets

cfg = json.load(open("config.json"))
model = getattr(nets, cfg["arch"])()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=cfg["decay"])
for epoch in range(3):
    for x, y in torch.load("batches.pt"):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
"""}
    assert lint_tree(files, select=["CNN107"]).findings == []


def test_a_count_an_epoch_hook_keeps_makes_its_test_go_both_ways(lint_tree: Lint) -> None:
    """`self.bad += 1; if self.bad >= self.patience: g["lr"] *= 0.5` in a hook the epoch
    loop calls: the count grows over the epochs, so the rate does change."""
    script = """
import torch
import torch.nn as nn

class HalveOnPlateau:
    def __init__(self, opt, patience=3):
        self.opt, self.patience, self.best, self.bad = opt, patience, float("inf"), 0

    def epoch_done(self, loss):
        if loss < self.best:
            self.best, self.bad = loss, 0
            return
        self.bad += 1
        if self.bad >= self.patience:
            for group in self.opt.param_groups:
                group["lr"] *= 0.5
            self.bad = 0

net = nn.Linear(8, 2)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
hooks = [HalveOnPlateau(opt)]
for epoch in range(30):
    total = 0.0
    for x, y in torch.load("batches.pt"):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        total += loss.item()
    for hook in hooks:
        hook.epoch_done(total)
"""
    assert "CNN209" not in [c for c, *_ in codes(lint_tree(script))]


def test_a_step_that_wraps_outputs_by_their_type_is_followed(lint_tree: Lint) -> None:
    """`if type(outputs) not in (tuple, list): outputs = (outputs,)`, then the loss of
    `*outputs` and `loss_outputs[0] if type(loss_outputs) in (tuple, list) else ...`: a
    tensor's type is no builtin container, so the step's backward is read."""
    script = """
import torch
import torch.nn as nn

def fit(model, loader, loss_fn, optimizer, n_epochs):
    for epoch in range(n_epochs):
        for data, target in loader:
            optimizer.zero_grad()
            outputs = model(data)
            if type(outputs) not in (tuple, list):
                outputs = (outputs,)
            loss_outputs = loss_fn(*(outputs + (target,)))
            loss = loss_outputs[0] if type(loss_outputs) in (tuple, list) else loss_outputs
            loss.backward()
            optimizer.step()

net = nn.Linear(8, 2)
fit(net, torch.load("pairs.pt"), nn.CrossEntropyLoss(),
    torch.optim.Adam(net.parameters(), lr=1e-3), 20)
"""
    assert "CNN202" in [c for c, *_ in codes(lint_tree(script))]


PICKED = """
import argparse
import torch
from nets import OtherNet, SmallNet


class Runner:
    def __init__(self, cfg):
        self.cfg = cfg
        {copy}

    def build(self):
        {local}
        if {test} == "small":
            self.net = SmallNet()
        elif {test} == "other":
            self.net = OtherNet()
        self.opt = torch.optim.Adam(self.net.parameters(), 1e-3)

    def fit(self, loader):
        self.build()
        for epoch in range(3):
            for x, y in loader:
                self.opt.zero_grad()
                torch.nn.functional.mse_loss(self.net(x), y).backward()
                self.opt.step()


p = argparse.ArgumentParser()
p.add_argument("--arch", default="small")
Runner(p.parse_args()).fit(loader)
"""

NETS = """
import torch.nn as nn

class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x)

class OtherNet(SmallNet):
    pass
"""


def test_an_option_copied_to_an_attribute_or_a_name_still_picks_among_models(
        lint_tree: Lint) -> None:
    """`self.arch = args.arch` then `if self.arch == "small": ... elif ...`: the option picks
    the model at run time, so every branch is the script's, not only the default's (as for
    `if args.arch == ...` itself)."""
    both = ["nets:OtherNet", "nets:SmallNet"]
    for copy, local, test, expected in (
            ("pass", "pass", "self.cfg.arch", both),
            ("self.arch = cfg.arch", "pass", "self.arch", both),
            ("pass", "arch = self.cfg.arch", "arch", both),
            # A constant the script sets itself picks one model.
            ('self.arch = "small"', "pass", "self.arch", ["nets:SmallNet"])):
        result = lint_tree({"nets.py": NETS, "train.py": PICKED.format(
            copy=copy, local=local, test=test)})
        (run,) = result.runs
        assert sorted(key for m in run.models for key in m.keys) == expected, (copy, local)


def test_getattr_on_a_module_by_a_name_not_known_picks_any_of_its_networks(
        lint_tree: Lint) -> None:
    """`getattr(models, cfg["arch"])` is `models.__dict__[cfg["arch"]]`: either network may
    be the one trained (with weight decay), so neither is "without a training script"."""
    deep = """
import torch.nn as nn

class {name}(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(12)])
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))
"""
    script = """
import json
import torch
import models

cfg = json.load(open("config.json"))
model = {pick}(10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
for x, y in loader:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
"""
    files = {"models/__init__.py": "from .wide import Wide\nfrom .tall import Tall\n",
             "models/wide.py": deep.format(name="Wide"), "models/tall.py": deep.format(name="Tall")}
    alone = lint_tree(files, select=["CNN107"])
    assert len(alone.findings) == 2  # no script: weight decay not known for either
    for pick in ('getattr(models, cfg["arch"])', 'models.__dict__[cfg["arch"]]'):
        result = lint_tree({**files, "train.py": script.format(pick=pick)}, select=["CNN107"])
        assert result.findings == [], pick
        (run,) = result.runs
        assert set(run.models[0].keys) == {"models.wide:Wide", "models.tall:Tall"}, pick


def test_a_model_an_option_picks_that_fails_with_the_defaults_may_be_the_trained_one(
        lint_tree: Lint) -> None:
    """`--model deep` builds `generate(args.depth)`, which builds nothing for the default
    of `--depth`: the reader cannot build it, so it cannot say that no script trains the
    deep network (CNN107's "no training script followed")."""
    nets = """
import torch.nn as nn

class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(x)

class Deep(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.body = nn.Sequential(*[nn.Linear(8, 8) for _ in range(depth)])

    def forward(self, x):
        return self.body(x)

def generate(depth):
    if depth == 10:
        model = Deep(10)
    elif depth == 20:
        model = Deep(20)
    return model

def deep10():
    return generate(10)
"""
    script = """
import argparse
import torch
import nets

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="small")
parser.add_argument("--depth", default=18, type=int)
args = parser.parse_args()
if args.model == "small":
    model = nets.Small()
else:
    model = nets.generate({depth})
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
for x, y in loader:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
"""
    alone = lint_tree({"nets.py": nets}, select=["CNN107"])
    assert [f.symbol for f in alone.findings] == ["Deep"]
    result = lint_tree({"nets.py": nets, "train.py": script.format(depth="args.depth")},
                       select=["CNN107"])
    assert result.findings == []
    (run,) = result.runs
    assert run.models[0].unresolved and run.models[0].keys == ("nets:Small",)
    assert any("another value of a command-line option" in n for n in run.notes)
    # Built with a depth it accepts, the model is known.
    known = lint_tree({"nets.py": nets, "train.py": script.format(depth="10")},
                      select=["CNN107"])
    assert not known.runs[0].models[0].unresolved


def test_an_optimizer_picked_by_an_undecided_if_still_trains_and_each_is_judged(
        lint_tree: Lint) -> None:
    """`if kind == "adam": Adam(...) elif kind == "sgd": SGD(...)` with `kind` a parameter:
    the loop steps one of them. It is a training loop (it was not read as one), and each
    optimizer is judged as written."""
    source = MODEL + """
import torch

def main(kind, dataset):
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
    model = Net()
    if kind == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    elif kind == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    else:
        print("unknown optimizer")
    for epoch in range(100):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""
    result = lint_tree({"train.py": source})
    assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN206", "CNN209"]
    (run,) = result.runs
    assert [o.kind for o in run.optimizers] == ["Adam", "SGD"]
    assert [m.keys for m in run.models] == [("train:Net",)]


def test_a_model_passed_in_by_a_caller_not_found_may_be_any_network(lint_tree: Lint) -> None:
    """`train(model, ...)` run through `fire.Fire(demo)` (no call the reader follows): the
    model it trains may be any of the project's, so none is "without a training script"."""
    deep = """
import torch.nn as nn

class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Linear(8, 8) for _ in range(12)])

    def forward(self, x):
        return self.body(x)
"""
    script = """
import torch

def train(model, loader, wd=1e-4):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=wd)
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
"""
    alone = lint_tree({"nets.py": deep}, select=["CNN107"])
    assert [f.symbol for f in alone.findings] == ["Deep"]
    result = lint_tree({"nets.py": deep, "train.py": script}, select=["CNN107"])
    assert result.findings == []
    (run,) = result.runs
    assert run.models[0].unresolved
    assert any("no caller that passes it was found" in n for n in run.notes)


def test_loaders_unpacked_from_a_helper_are_named_by_their_variables(lint_tree: Lint) -> None:
    """`train_loader, test_loader = get_loaders()`: the pass over `test_loader` each epoch is
    an evaluation (no CNN202), and in train mode a BatchNorm model is caught (CNN204)."""
    source = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

def get_loaders():
    return (DataLoader(torch.load("a.pt"), batch_size=64, shuffle=True),
            DataLoader(torch.load("b.pt"), batch_size=64))

train_loader, test_loader = get_loaders()
model = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.Linear(16, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(50):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    for x, y in test_loader:
        print((model(x).argmax(1) == y).sum().item())
"""
    result = lint_tree({"train.py": source}, select=["CNN202", "CNN204"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN204", 18)]


def test_a_gan_s_inner_loop_of_discriminator_steps_is_part_of_the_gan(lint_tree: Lint) -> None:
    """`for k in range(d_steps): ... opt_d.step()` inside the loop that also steps the
    generator: the inner loop steps one model, but it is the GAN's, not 5 epochs."""
    source = """
import torch
import torch.nn as nn

D = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
G = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))
opt_d = torch.optim.Adam(D.parameters())
opt_g = torch.optim.Adam(G.parameters())
loss_fn = nn.BCEWithLogitsLoss()

for it in range(10000):
    for k in range(5):
        fake = G(torch.randn(64, 2)).detach()
        opt_d.zero_grad()
        (loss_fn(D(torch.randn(64, 2)), torch.ones(64, 1))
         + loss_fn(D(fake), torch.zeros(64, 1))).backward()
        opt_d.step()
    opt_g.zero_grad()
    loss_fn(D(G(torch.randn(64, 2))), torch.ones(64, 1)).backward()
    opt_g.step()
"""
    result = lint_tree({"gan.py": source})
    assert codes(result) == []
    (run,) = result.runs
    assert all(run.steps_models_apart(loop) for loop in run.loops if loop.kind == "epoch")


def test_a_loop_around_a_training_loop_gives_each_note_once(lint_tree: Lint) -> None:
    source = """
import torch
import torch.nn as nn

for lr in [0.1, 0.01]:
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(30):
        for x, y in torch.load("batches.pt"):
            optimizer.zero_grad()
            helper.loss(model(x), y).backward()
            optimizer.step()
"""
    result = lint_tree({"sweep.py": source})
    notes = result.notes()
    (run,) = result.runs  # two passes over the epoch loop: a note for each
    assert len(run.notes) == 2 and notes == run.notes[:1]


def test_param_groups_sorted_by_a_test_not_known_still_train_the_model(lint_tree: Lint) -> None:
    """A helper sorts `model.parameters()` into decay and no-decay groups by `p.dim()`: the
    groups' tensors are not known, but they are the model's weights."""
    helper = """
def param_groups(model):
    decay, no_decay = [], []
    for p in model.parameters():
        if p.dim() > 1:
            decay.append(p)
        else:
            no_decay.append(p)
    return [dict(params=decay), dict(params=no_decay, weight_decay=0.0)]
"""
    script = """
import torch
from models import Net
from helpers import param_groups

model = Net()
optimizer = torch.optim.SGD(param_groups(model), lr=0.1, momentum=0.9, weight_decay=4e-5)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
for x, y in loader:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
"""
    result = lint_tree({"models.py": MODEL, "helpers.py": helper, "train.py": script})
    (run,) = result.runs
    assert [m.keys[0] for m in run.models] == ["models:Net"]
    assert run.optimizers[0].weight_decay.value == 4e-5


def test_an_optimizer_kept_on_the_argparse_namespace_is_read_back(lint_tree: Lint) -> None:
    """`args.optimizer = SGD(...)`, then `train(model, args)` steps `args.optimizer`."""
    script = """
import argparse
import torch
from models import Net

def train(model, args):
    for x, y in args.loader:
        args.optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        args.optimizer.step()

parser = argparse.ArgumentParser()
parser.add_argument("--weight-decay", type=float, default=4e-5)
parser.add_argument("--start-epoch", type=int, default=0)
parser.add_argument("--resume", default="")
args = parser.parse_args()
model = Net()
args.optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                 weight_decay=args.weight_decay)
args.loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
if args.resume:
    args.start_epoch = torch.load(args.resume)["epoch"]  # an option keeps its default
for epoch in range(args.start_epoch, 30):
    train(model, args)
"""
    result = lint_tree({"models.py": MODEL, "train.py": script})
    (run,) = result.runs
    assert [m.keys[0] for m in run.models] == ["models:Net"]
    assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN209"]


def test_param_groups_that_all_set_a_value_override_the_optimizer_s(lint_tree: Lint) -> None:
    """`SGD([dict(params=..., lr=0.3)], 0, ...)`: every group sets its own rate, so the
    positional 0 is never used (no CNN207 "learning rate far too low")."""
    script = """
import torch
from models import Net

model = Net()
optimizer = torch.optim.SGD([dict(params=model.parameters(), lr={lr})], 0, momentum=0.9)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
for x, y in loader:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
"""
    result = lint_tree({"models.py": MODEL, "train.py": script.format(lr=0.3)})
    assert codes(result, "CNN207") == []
    assert result.runs[0].optimizers[0].lr.value == 0.3
    low = lint_tree({"models.py": MODEL, "train.py": script.format(lr=1e-7)})
    assert [c for c, _, _ in codes(low, "CNN207")] == ["CNN207"]


# A network deep enough for CNN107 (ten weighted layers, no dropout), with BatchNorm.
DEEP = """
import torch.nn as nn

class Deep(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        layers = []
        for _ in range(9):
            layers += [nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))

def small():
    return Deep(8)

def wide():
    return Deep(16)
"""

LOOP = """
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""


def _no_script_claims(result: Result) -> list[str]:
    return [f.symbol for f in result.findings
            if f.code == "CNN107" and "no training script followed" in f.message]


def test_param_groups_a_helper_sorts_from_modules_train_the_model(lint_tree: Lint) -> None:
    """`for m in model.modules(): if isinstance(m, nn.Conv2d): decay.append(m.weight)`:
    the groups' tensors are not known, but they are the model's weights."""
    script = """
import torch
from nets import Deep

def groups(module):
    decay, no_decay = [], []
    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            decay.append(m.weight)
        elif isinstance(m, torch.nn.BatchNorm2d):
            no_decay += [m.weight, m.bias]
    return [dict(params=decay), dict(params=no_decay, weight_decay=0.0)]

model = Deep()
optimizer = torch.optim.SGD(groups(model), lr=0.1, momentum=0.9, weight_decay=1e-4)
""" + LOOP
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    (run,) = result.runs
    assert [m.keys[0] for m in run.models] == ["nets:Deep"]
    assert codes(result, "CNN107") == []


def test_an_optimizer_over_chained_parameters_trains_each_model(lint_tree: Lint) -> None:
    """CycleGAN's `Adam(itertools.chain(G_AB.parameters(), G_BA.parameters()))`."""
    script = """
import itertools
import torch
from nets import Deep

first, second = Deep(), Deep()
optimizer = torch.optim.Adam(itertools.chain(first.parameters(), second.parameters()))
model = first
""" + LOOP.replace("batch_size=64", "batch_size=1")
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    (run,) = result.runs
    assert {m.keys[0] for m in run.models} == {"nets:Deep"}
    assert [c for c, _, _ in codes(result, "CNN201")] == ["CNN201"]  # BatchNorm at batch 1
    assert {f.severity for f in result.findings if f.code == "CNN107"} == {"warning"}


def test_weights_stepped_through_unread_code_leave_no_model_without_a_script(
        lint_tree: Lint) -> None:
    """A model picked by name from a package's re-exports, handed to an optimizer class
    from outside the project: what trains it is not known, so no model is said to have no
    training script, and `--verbose` says why. A library model trained through a helper's
    param groups says nothing of the project's own networks."""
    package = {"models/__init__.py": "from .deep import *\n",
               "models/deep.py": DEEP.replace("class Deep", "__all__ = ['small']\n\n\nclass Deep")}
    script = """
import sys
import torch
import models
from regime import RegimeOptimizer

model = models.__dict__[sys.argv[1]]()
optimizer = RegimeOptimizer(model, [{"lr": 0.1, "weight_decay": 1e-4}])
""" + LOOP
    result = lint_tree({**package, "train.py": script})
    assert _no_script_claims(result) == []
    assert any("a call that could not be followed may step a model's weights" in n
               for n in result.notes())
    library = """
import timm
import torch
from helpers import groups

model = timm.create_model("resnet50")
optimizer = torch.optim.AdamW(groups(model), lr=1e-3)
""" + LOOP
    helper = "def groups(model):\n    return [{'params': model.stem_params()}]\n"
    result = lint_tree({"nets.py": DEEP, "helpers.py": helper, "train.py": library})
    assert set(_no_script_claims(result)) >= {"Deep"}


@pytest.mark.parametrize("decay, findings", [
    ("0 if 'bn' in name else wd", []),  # a test not followed: the decay is not known
    ("wd", []),
    ("0", ["CNN107"]),
])
def test_a_decay_set_per_group_by_a_test_not_followed_is_no_finding(
        lint_tree: Lint, decay: str, findings: list[str]) -> None:
    """One param group per weight, its decay 0 for norm weights and the option's value for
    the rest: the decay applied is not known, so no finding says it is missing, and
    `--verbose` names the optimizer."""
    script = f"""
import torch
from nets import Deep

def groups(model, wd):
    found = []
    for name, weight in model.named_parameters():
        found.append({{"params": [weight], "weight_decay": {decay}}})
    return found

model = Deep()
optimizer = torch.optim.SGD(groups(model, 5e-4), lr=0.1, momentum=0.9)
""" + LOOP
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    assert [f.code for f in result.findings if f.code == "CNN107"] == findings
    unknown = any("the weight decay of `SGD` is not known" in n for n in result.notes())
    assert unknown is (decay != "0" and decay != "wd")


@pytest.mark.parametrize("optimizer, clip, flagged", [
    ("SGD", "", True),
    ("SGD", "torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)", False),
    ("SGD", "clip(model, 0.01)", False),  # scaling each `.grad` by hand
    ("Adam", "torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)", True),
])
def test_a_high_sgd_rate_with_clipped_gradients_is_no_finding(
        lint_tree: Lint, optimizer: str, clip: str, flagged: bool) -> None:
    """A recurrent network trained by SGD at lr 5 with its gradient norm clipped to 0.01
    takes bounded steps; Adam's step does not shrink with the gradient."""
    script = f"""
import torch
import torch.nn as nn

def clip(net, theta):
    params = [p for p in net.parameters()]
    norm = sum((p.grad.data ** 2).sum() for p in params).sqrt().item()
    if norm > theta:
        for p in params:
            p.grad.data.mul_(theta / norm)

model = nn.GRU(8, 16)
optimizer = torch.optim.{optimizer}(model.parameters(), lr=5)
loader = torch.utils.data.DataLoader(torch.load("seq.pt"), batch_size=32, shuffle=True)
for epoch in range(5):
    for x, y in loader:
        optimizer.zero_grad()
        out, _ = model(x)
        nn.functional.mse_loss(out, y).backward()
        {clip}
        optimizer.step()
"""
    result = lint_tree({"train.py": script}, select=["CNN208"])
    assert bool(result.findings) is flagged


@pytest.mark.parametrize("build", ["net = nn.Sequential({});\n    return net",
                                   "return nn.Sequential({})"])
def test_a_gan_of_two_factories_returning_a_local_sequential_is_adversarial(
        lint_tree: Lint, build: str) -> None:
    """Two factories that each build a Sequential into a local `net` and return it are two
    networks (a GAN's critic and generator), not one named `net`: the loop that steps
    each with its own optimizer is adversarial, so no validation is asked of it."""
    critic = build.format("nn.Linear(64, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1)")
    generator = build.format("nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 64), nn.Tanh()")
    script = f"""
import torch
from torch import nn

def make_critic():
    {critic}

def make_generator():
    {generator}

critic, generator = make_critic(), make_generator()
c_opt = torch.optim.Adam(critic.parameters(), 2e-4)
g_opt = torch.optim.Adam(generator.parameters(), 2e-4)
loader = torch.utils.data.DataLoader(torch.load("real.pt"), batch_size=32, shuffle=True)
for epoch in range(50):
    for real in loader:
        fake = generator(torch.randn(32, 16))
        c_opt.zero_grad()
        (critic(fake).mean() - critic(real).mean()).backward()
        c_opt.step()
        g_opt.zero_grad()
        (-critic(generator(torch.randn(32, 16))).mean()).backward()
        g_opt.step()
"""
    result = lint_tree({"gan.py": script}, select=["CNN202"])
    assert result.findings == []
    assert any("with optimizers of their own" in note for note in result.notes())


@pytest.mark.parametrize("after_freeze, flagged", [("", False), ("model.train()", True)])
def test_batchnorm_frozen_by_a_model_method_is_no_small_batch_finding(
        lint_tree: Lint, after_freeze: str, flagged: bool) -> None:
    """A detector trained at batch 2 that puts each BatchNorm layer in eval mode first (a
    `freeze_bn()` method): its statistics are frozen, the remedy the rule suggests; a
    `.train()` after it undoes the freeze."""
    model = """
import torch.nn as nn

class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.Conv2d(16, 4, 1))

    def forward(self, x):
        return self.body(x)

    def freeze_bn(self):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
"""
    script = f"""
import torch
from model import Detector

model = Detector()
model.train()
model.freeze_bn()
{after_freeze}
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
loader = torch.utils.data.DataLoader(torch.load("boxes.pt"), batch_size=2, shuffle=True)
for epoch in range(12):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
"""
    result = lint_tree({"model.py": model, "train.py": script}, select=["CNN201"])
    assert bool(result.findings) is flagged
    assert all(m.network.complete for m in result.models)


TIMM_RECIPE = """
import argparse
import torch
from timm.models import create_model
from timm.optim import create_optimizer
from timm.scheduler import create_scheduler
from timm.utils import NativeScaler

parser = argparse.ArgumentParser()
parser.add_argument("--opt", default="adamw")
parser.add_argument("--weight-decay", type=float, default=0.05)
parser.add_argument("--epochs", type=int, default=300)
args = parser.parse_args()


def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)


model = create_model("resnet50")
optimizer = create_optimizer(args, model)
lr_scheduler, _ = create_scheduler(args, optimizer)
loss_scaler = NativeScaler()
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=64)
best = 0.0
for epoch in range(args.epochs):
    model.train()
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss_scaler(loss, optimizer, parameters=model.parameters())
    lr_scheduler.step(epoch)
    accuracy = evaluate(model, val_loader)
    torch.save(model.state_dict(), "checkpoint.pth")
    SAVE_BEST
"""


@pytest.mark.parametrize("save_best, findings", [
    ("", [("CNN203", "train.py", 28)]),
    ("if accuracy > best:\n        best = accuracy\n"
     "        torch.save(model.state_dict(), 'best.pth')", []),
])
def test_a_timm_recipe_with_its_scaler_optimizer_and_scheduler_is_a_training_run(
        lint_tree: Lint, save_best: str, findings: list[tuple[str, str, int]]) -> None:
    """The DeiT-style recipe: timm's `create_optimizer(args, model)` builds an optimizer over
    the model, `create_scheduler` hands back a schedule and an epoch count, and calling its
    `NativeScaler` with the loss and the optimizer backpropagates and steps. The run is
    read: 300 epochs keeping only the last checkpoint are reported; a best one is not."""
    script = TIMM_RECIPE.replace("SAVE_BEST", save_best)
    result = lint_tree({"train.py": script}, select=["CNN203", "CNN209", "CNN205"])
    assert codes(result) == findings


def test_the_parts_of_a_model_stepped_through_unread_code_may_be_trained_too(
        lint_tree: Lint) -> None:
    """A segmentation network holding a backbone class of its own, stepped through an
    optimizer from outside the project: the backbone trains with it, so it too is not said
    to have no training script."""
    holder = """
import torch.nn as nn
from nets import Deep

class Segmenter(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Deep()
        self.head = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        return self.head(self.backbone(x))
"""
    script = """
import torch
from segmenter import Segmenter
from regime import RegimeOptimizer

model = Segmenter()
optimizer = RegimeOptimizer(model, [{"lr": 0.1, "weight_decay": 1e-4}])
""" + LOOP
    result = lint_tree({"nets.py": DEEP, "segmenter.py": holder, "train.py": script})
    assert _no_script_claims(result) == []
    # The note names the model the loop calls, not each part of it.
    (note,) = [n for n in result.notes() if "may step a model's weights" in n]
    assert "(Segmenter may be what it trains)" in note


def test_a_registry_pick_by_option_stepped_through_unread_code_may_be_any_entry(
        lint_tree: Lint) -> None:
    """`models.__dict__[args.model]` with a default name, trained through an optimizer
    from code outside the project: the command line may pick any entry, so none of them is
    said to have no training script (the default's was the only one spared)."""
    other = DEEP.replace("Deep", "Other").replace("small", "narrow").replace("wide", "broad")
    package = {"models/__init__.py": "from .deep import *\nfrom .other import *\n",
               "models/deep.py": DEEP, "models/other.py": other}
    script = """
import argparse
import torch
import models
from regime import RegimeOptimizer

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="small")
args = parser.parse_args()
model = models.__dict__[args.model]()
optimizer = RegimeOptimizer(model, [{"lr": 0.1}])
""" + LOOP
    result = lint_tree({**package, "train.py": script})
    assert _no_script_claims(result) == []
    assert any("small or" in n and "more may be what it trains" in n for n in result.notes())


def test_a_registry_of_builders_by_name_may_give_any_of_them(lint_tree: Lint) -> None:
    """`{"small": [small, 512], "wide": [wide, 2048]}[args.model]`: the argparse default
    names one; the command line may name the other, trained by the same script."""
    nets = DEEP + """
model_dict = {"small": [small, 8], "wide": [wide, 16]}

class Wrapper(nn.Module):
    def __init__(self, name="wide"):
        super().__init__()
        builder, dim = model_dict[name]
        self.encoder = builder()
        self.fc = nn.Linear(dim, 10)

    def forward(self, x):
        return self.fc(self.encoder(x))
"""
    script = """
import argparse
import torch
from nets import Wrapper

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="wide")
args = parser.parse_args()
model = Wrapper(name=args.model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
""" + LOOP
    result = lint_tree({"nets.py": nets, "train.py": script})
    assert _no_script_claims(result) == []


def test_eval_on_a_model_reaches_a_part_a_factory_built(lint_tree: Lint) -> None:
    """`self.encoder = make_encoder()`, then `model.eval()` and `model.encoder(x)` in a
    validation helper: eval() is recursive, the encoder is in eval mode (no CNN204)."""
    script = """
import torch
import torch.nn as nn
from nets import Deep

def make_encoder():
    return Deep()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = make_encoder()
        self.head = nn.Linear(10, 4)

    def forward(self, x):
        return self.head(self.encoder(x))

def validate(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            model.encoder(x)

model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=64)
""" + LOOP.replace("for epoch in range(3):\n", "for epoch in range(3):\n    model.train()\n"
                   ).rstrip() + "\n    validate(model, val_loader)\n"
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    assert result.runs and codes(result, "CNN204") == []
    wrong = script.replace("    model.eval()\n", "    model.head.eval()\n")
    assert [c for c, _, _ in codes(lint_tree({"nets.py": DEEP, "train.py": wrong}),
                                   "CNN204")] == ["CNN204"]


def test_a_trainer_class_with_a_forward_method_is_training_code(lint_tree: Lint) -> None:
    """`class Trainer(object)` whose `forward(loader, training)` runs both the training and
    the validation passes: it is the script, not a model, so its no_grad pass evaluates."""
    trainer = """
import torch

class Trainer(object):
    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def step(self, x, y, training):
        if training:
            self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(x), y)
        if training:
            loss.backward()
            self.optimizer.step()

    def forward(self, loader, training):
        return [self.step(x, y, training) for x, y in loader]

    def train(self, loader):
        self.model.train()
        return self.forward(loader, training=True)

    def validate(self, loader):
        self.model.eval()
        with torch.no_grad():
            return self.forward(loader, training=False)
"""
    script = """
import torch
from nets import Deep
from trainer import Trainer

model = Deep()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
trainer = Trainer(model, optimizer)
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=64)
for epoch in range(90):
    trainer.train(train_loader)
    trainer.validate(val_loader)
"""
    result = lint_tree({"nets.py": DEEP, "trainer.py": trainer, "train.py": script})
    assert result.runs and codes(result, "CNN202") == []


def test_a_loop_stepping_inside_an_epoch_loop_counts_iterations(lint_tree: Lint) -> None:
    """`for epoch in range(3): for step in range(10): ... opt.step()` trains 3 epochs of 10
    iterations, not 10 epochs."""
    script = """
import torch
from nets import Deep

model = Deep()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
for epoch in range({epochs}):
    for step in range(10):
        opt.zero_grad()
        model(torch.randn(4, 8, 16, 16)).mean().backward()
        opt.step()
"""
    result = lint_tree({"nets.py": DEEP, "train.py": script.format(epochs=3)})
    (run,) = result.runs
    assert {(loop.kind, loop.count.value if loop.count else None) for loop in run.loops
            if loop.kind != "other"} == {("epoch", 3), ("iteration", 10)}
    assert codes(result, "CNN202") == []
    longer = lint_tree({"nets.py": DEEP, "train.py": script.format(epochs=30)})
    assert [c for c, _, _ in codes(longer, "CNN202")] == ["CNN202"]


def test_a_reset_in_the_loop_around_a_loop_over_optimizers_counts(lint_tree: Lint) -> None:
    """`model.zero_grad()`, backward, then `for opt in opts: opt.step()`: the reset is in
    the loop that runs backward (no CNN205)."""
    script = """
import torch
from nets import Deep

model = Deep()
opts = (torch.optim.SGD(model.body.parameters(), lr=0.1, momentum=0.9),
        torch.optim.SGD(model.fc.parameters(), lr=0.2, momentum=0.9))
for epoch in range(3):
    for step in range(10):
        {reset}
        model(torch.randn(4, 8, 16, 16)).mean().backward()
        for opt in opts:
            opt.step()
"""
    result = lint_tree({"nets.py": DEEP, "train.py": script.format(reset="model.zero_grad()")})
    assert result.runs and codes(result, "CNN205") == []
    missing = lint_tree({"nets.py": DEEP, "train.py": script.format(reset="pass")})
    assert [c for c, _, _ in codes(missing, "CNN205")] == ["CNN205"]
    # A loss from code the reader cannot follow: its backward() is no event, but the loop
    # around the optimizers still holds the reset.
    unknown = script.replace("for epoch", "batches = iter(loader)\nfor epoch").replace(
        "model(torch.randn(4, 8, 16, 16)).mean().backward()",
        "model(next(batches)).mean().backward()")
    result = lint_tree({"nets.py": DEEP, "train.py": unknown.format(reset="model.zero_grad()")})
    assert result.runs and codes(result, "CNN205") == []


def test_a_loop_drawing_a_random_batch_each_pass_counts_iterations(lint_tree: Lint) -> None:
    """A self-test that steps on a fresh random batch each pass is not training for epochs
    on a dataset (nothing to hold out); the same loop over data made once before it is
    full-batch training."""
    script = """
import torch
import torch.nn as nn

layer = nn.Linear(4, 3)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
for _ in range(10):
    inputs, labels = DATA
    loss = nn.functional.cross_entropy(layer(inputs), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""
    fresh = script.replace("DATA", "torch.randn(16, 4), torch.randint(0, 3, (16,))")
    result = lint_tree({"selftest.py": fresh})
    assert [f.code for f in result.findings if f.code == "CNN202"] == []
    # One example picked at random on each pass, in a loop named for epochs: iterations.
    picked = script.replace("import torch\n", "import random\nimport torch\n").replace(
        "for _ in range(10):", "for epoch in range(5000):").replace(
        "inputs, labels = DATA", "word = random.choice(WORDS)\n"
        "    inputs, labels = torch.tensor([[1.0] * 4]), torch.tensor([len(word) % 3])")
    result = lint_tree({"rnn.py": "WORDS = ['ab', 'abc']\n" + picked})
    assert result.runs and [f.code for f in result.findings if f.code == "CNN202"] == []
    # A speed benchmark: one batch made before the loop, labels filled at random each pass.
    timed = script.replace("for _ in", "inputs = torch.randn(16, 4)\nfor _ in").replace(
        "inputs, labels = DATA", "labels = torch.empty(16, dtype=torch.long).random_(3)")
    result = lint_tree({"bench.py": timed})
    assert result.runs and [f.code for f in result.findings if f.code == "CNN202"] == []
    once = script.replace("for _ in", "inputs, labels = torch.load('data.pt')\nfor _ in") \
        .replace("    inputs, labels = DATA\n", "")
    result = lint_tree({"fit.py": once})
    assert [f.code for f in result.findings if f.code == "CNN202"] == ["CNN202"]


TOWER = """
import torch.nn as nn

class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        units = []
        for _ in range(9):
            units += [nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()]
        self.units = nn.Sequential(*units)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)

    def forward(self, x):
        return self.units(x)

class Tower(nn.Module):
    def __init__(self, trunk=True):
        super().__init__()
        self.trunk = Trunk() if trunk else nn.Identity()
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.trunk(x))
"""


def test_a_block_s_own_init_loop_does_not_hide_the_trained_model(lint_tree: Lint) -> None:
    """Param groups sorted from `model.named_modules()` train the model even when a block
    walks its own `self.modules()` to initialise them; decay given to a group added with
    `add_param_group` is the optimizer's decay."""
    script = """
import torch
import torch.nn as nn
from tower import Tower

model = Tower()
norms, rest = [], []
for name, m in model.named_modules():
    if isinstance(m, nn.BatchNorm2d):
        norms.append(m.weight)
    elif isinstance(m, nn.Conv2d):
        rest.append(m.weight)
optimizer = torch.optim.SGD(norms, lr=0.05, momentum=0.9)
optimizer.add_param_group({"params": rest, "weight_decay": DECAY})
""" + LOOP
    result = lint_tree({"tower.py": TOWER, "train.py": script.replace("DECAY", "5e-4")})
    (run,) = result.runs
    assert [m.keys for m in run.models] == [("tower:Tower",)]
    assert [f.code for f in result.findings if f.code == "CNN107"] == []
    result = lint_tree({"tower.py": TOWER, "train.py": script.replace("DECAY", "0")})
    assert [f.message.split(" (")[0] for f in result.findings if f.code == "CNN107"] == [
        "10 weighted layers, no dropout, and no weight decay"]


def test_a_part_of_another_build_of_the_trained_network_may_be_trained(
        lint_tree: Lint) -> None:
    """A script trains `Tower(trunk=False)` by default and `Tower()` on request (a dict of
    builders picked by an option): the trunk the default build holds is not said to have
    no training script."""
    script = """
import argparse
import torch
from tower import Tower

builders = {"bare": lambda: Tower(trunk=False), "full": lambda: Tower(trunk=True)}
parser = argparse.ArgumentParser()
parser.add_argument("--kind", default="bare")
args = parser.parse_args()
model = builders[args.kind]()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
""" + LOOP
    # The trunk in a file of its own: a network of its own there, not only a block.
    trunk, tower = TOWER.split("class Tower")
    tower = "import torch.nn as nn\nfrom trunk import Trunk\n\nclass Tower" + tower
    result = lint_tree({"trunk.py": trunk, "tower.py": tower, "train.py": script})
    assert [m.name for m in result.models if "trunk.py" in m.loc.path] == ["Trunk"]
    assert _no_script_claims(result) == []


def test_a_loop_over_phase_names_runs_each_phase_with_its_name(lint_tree: Lint) -> None:
    """`for phase in ("train", "val")` with the mode set by one test of the phase and the
    step under another: each pass knows its phase, so the step never meets eval mode.
    Stepping in both phases does."""
    script = """
import torch
import torch.nn as nn

def run(model, optimizer, loaders, epochs):
    for epoch in range(epochs):
        for phase in ("train", "val"):
            if phase == "train":
                model.train(True)
            else:
                model.train(False)
            for x, y in loaders[phase]:
                loss = nn.functional.cross_entropy(model(x), y)
                if GUARD:
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()

model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Dropout(0.2), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
run(model, optimizer, {"train": torch.load("a.pt"), "val": torch.load("b.pt")}, 30)
"""
    result = lint_tree({"train.py": script.replace("GUARD", 'phase == "train"')})
    assert [f.code for f in result.findings if f.code == "CNN204"] == []
    result = lint_tree({"train.py": script.replace("GUARD", "True")})
    assert [f.code for f in result.findings if f.code == "CNN204"] == ["CNN204"]


def test_a_part_of_any_registry_pick_is_trained_by_the_script(lint_tree: Lint) -> None:
    """`builders[name]()` over lambdas, with a name the reader cannot know: the model is
    one of them, and the parts of each are trained by the script (its optimizer's missing
    decay is reported on the trunk, once for the class and the factory that builds it)."""
    trunk, tower = TOWER.split("class Tower")
    trunk += "\n\ndef make_trunk():\n    return Trunk()\n"
    tower = "import torch.nn as nn\nfrom trunk import make_trunk\n\nclass Tower" + \
        tower.replace("Trunk()", "make_trunk()")
    script = """
import sys
import torch
from tower import Tower

builders = {"bare": lambda: Tower(trunk=False), "full": lambda: Tower(trunk=True)}
model = builders[sys.argv[1].lower()]()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
""" + LOOP
    result = lint_tree({"trunk.py": trunk, "tower.py": tower, "train.py": script})
    found = [(f.path, f.message) for f in result.findings if f.code == "CNN107"]
    assert ("trunk.py", "9 weighted layers, no dropout, and no weight decay (`Adam` at "
            "train.py:7) (Trunk; also in make_trunk)") in found


def test_a_backbone_trained_only_under_a_head_with_dropout_is_regularised(
        lint_tree: Lint) -> None:
    """A trunk picked with `getattr(trunks, name)()` and trained inside a segmenter whose
    head holds `Dropout2d` is regularised where it trains; the same trunk trained on its
    own as well is not."""
    trunks = """
import torch.nn as nn

class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Conv2d(3 if i == 0 else 32, 32, 3, padding=1)
                                      for i in range(10)])

    def forward(self, x):
        return self.layers(x)

def plain():
    return Plain()
"""
    segmenter = """
import torch.nn as nn
import trunks

class Segmenter(nn.Module):
    def __init__(self, backend="plain"):
        super().__init__()
        self.trunk = getattr(trunks, backend)()
        self.drop = nn.Dropout2d(p=0.3)
        self.head = nn.Conv2d(32, 5, 1)

    def forward(self, x):
        return self.head(self.drop(self.trunk(x)))
"""
    script = """
import torch
from model import Segmenter
import trunks

net = NET
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=16, shuffle=True)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
"""
    files = {"trunks.py": trunks, "model.py": segmenter}
    result = lint_tree({**files, "train.py": script.replace("NET", "Segmenter()")})
    assert result.runs and [f.path for f in result.findings if f.code == "CNN107"] == []
    result = lint_tree({**files, "train.py": script.replace("NET", "Segmenter()"),
                        "train_trunk.py": script.replace("NET", "trunks.plain()")})
    assert [f.path for f in result.findings if f.code == "CNN107"] == ["trunks.py"]


@pytest.mark.parametrize("parts, weights, expected", [
    ("net.backbone()", "net", []),  # its own conv and BatchNorm go back to train mode
    ("nn.ModuleList([nn.Conv2d(8, 8, 1)])", "net", ["CNN204"]),  # the net stays in eval
    # A frozen net feeding a head that alone trains: the net is not trained in eval mode.
    ("nn.ModuleList([nn.Conv2d(8, 8, 1)])", "parts", []),
])
def test_modules_of_an_eval_model_put_back_in_train_mode_leave_it_in_neither(
        lint_tree: Lint, parts: str, weights: str, expected: list[str]) -> None:
    """`net.eval()` then `parts.train()` where `parts` holds the net's own modules (a
    distillation warm-up fitting the student's trunk): the net is in neither mode as a
    whole, so it is not said to train in eval mode."""
    script = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 10)

    def backbone(self):
        return nn.ModuleList([self.stem, self.norm])

    def forward(self, x):
        return self.head(torch.relu(self.norm(self.stem(x))).mean((2, 3)))

def warm_up(net, parts, loader):
    net.eval()
    parts.train()
    optimizer = torch.optim.SGD(WEIGHTS.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()

net = Net()
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
warm_up(net, PARTS, loader)
""".replace("PARTS", parts).replace("WEIGHTS", weights)
    result = lint_tree({"train.py": script}, select=["CNN204"])
    assert result.runs and [f.code for f in result.findings] == expected


def test_a_penalty_added_to_the_gradients_by_hand_is_followed(lint_tree: Lint) -> None:
    """Network slimming's `m.weight.grad.data.add_(s * torch.sign(m.weight.data))` on every
    BatchNorm changes gradients in place: it neither validates, stops nor schedules, so the
    loop is still judged."""
    script = """
import torch
import torch.nn as nn
from nets import Net

net = Net()
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

def sparsify_scales(s):
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.grad.data.add_(s * torch.sign(m.weight.data))

for epoch in range(200):
    net.train()
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        sparsify_scales(1e-4)
        optimizer.step()
"""
    result = lint_tree({"nets.py": MODEL, "train.py": script})
    assert result.runs and sorted({f.code for f in result.findings if f.path == "train.py"}) \
        == ["CNN202", "CNN203", "CNN209"]


def test_an_explicit_forward_call_is_a_forward_pass(lint_tree: Lint) -> None:
    """`model.forward(x)` over the test loader under `torch.no_grad()` evaluates like
    `model(x)`, for a Sequential and for a class of the project."""
    script = """
import torch
import torch.nn as nn
from nets import Net

model = MODEL
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
test_loader = torch.utils.data.DataLoader(torch.load("test.pt"), batch_size=64)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(30):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model.forward(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        hits = sum((model.forward(x).argmax(1) == y).sum() for x, y in test_loader)
"""
    for model in ("Net()", "nn.Sequential(nn.Flatten(), nn.Linear(784, 10))"):
        result = lint_tree({"nets.py": MODEL, "train.py": script.replace("MODEL", model)})
        assert result.runs and codes(result, "CNN202") == [], model


def test_fresh_noise_added_to_each_batch_augments(lint_tree: Lint) -> None:
    """A denoising autoencoder trains on `images + 0.2 * torch.randn_like(images)`: the
    inputs never repeat, so the plain `ToTensor` pipeline is not a missing augmentation.
    Noise added to the targets only changes nothing of that (an autoencoder rebuilding its
    input is not judged at all)."""
    script = """
import torch
import torch.nn as nn
from torchvision import datasets, transforms

train_set = datasets.FashionMNIST("data", train=True, transform=transforms.ToTensor())
loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(5):
    for images, _ in loader:
        noisy = NOISY
        optimizer.zero_grad()
        nn.functional.mse_loss(net(INPUT), images).backward()
        optimizer.step()
"""
    for noisy, expected in (("images + 0.2 * torch.randn_like(images)", []),
                            ("images + torch.rand(64, 1, 28, 28)", []),
                            ("images + torch.zeros_like(images).uniform_(-0.3, 0.3)", []),
                            ("images", ["CNN212"])):
        source = script.replace("NOISY", noisy).replace("INPUT", "noisy")
        assert [f.code for f in lint_tree({"train.py": source}).findings
                if f.code == "CNN212"] == expected, noisy
    target_only = script.replace("NOISY", "images + torch.randn_like(images)").replace(
        "INPUT", "images").replace("net(images), images)", "net(images), noisy)")
    assert [f.code for f in lint_tree({"train.py": target_only}).findings
            if f.code == "CNN212"] == ["CNN212"]


def test_a_loop_taking_input_gradients_over_held_out_data_does_not_train_on_it(
        lint_tree: Lint) -> None:
    """An evaluation under attack calls `backward()` for the gradient of its inputs and
    steps no optimizer: the test loader it reads is not a training loader, so its plain
    pipeline is no missing augmentation. Stepping there would make it one."""
    script = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets, transforms

flip = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])
fit_loader = torch.utils.data.DataLoader(
    datasets.CIFAR10("data", train=True, transform=flip), batch_size=64, shuffle=True)
held_loader = torch.utils.data.DataLoader(
    datasets.CIFAR10("data", train=False, transform=transforms.ToTensor()), batch_size=64)
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

def robust_hits(loader):
    hits = 0
    for images, labels in loader:
        images.requires_grad_(True)
        F.cross_entropy(net(images), labels).backward()
        STEP
        hits += (net(images + 0.01 * images.grad.sign()).argmax(1) == labels).sum().item()
    return hits

for epoch in range(4):
    for images, labels in fit_loader:
        sgd.zero_grad()
        F.cross_entropy(net(images), labels).backward()
        sgd.step()
    print(robust_hits(held_loader))
"""
    for step, expected in (("pass", []), ("sgd.step()", ["CNN212"])):
        found = [f.code for f in lint_tree({"train.py": script.replace("STEP", step)}).findings
                 if f.code == "CNN212"]
        assert found == expected, step


def test_a_network_a_model_builds_and_wraps_or_takes_layers_from_trains_with_it(
        lint_tree: Lint) -> None:
    """A detector builds its trunk in its own code and keeps it behind a library wrapper
    (`IntermediateLayerGetter(trunk)`), or keeps only the trunk's layers
    (`nn.Sequential(trunk.body)`, in a method the script calls): the trunk's weights train
    with the detector's, under its optimizer, not without a training script."""
    nets = plain_net("Trunk", 10) + """

class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(8, 4, 1)
        HOLD

    def setup(self):
        trunk = Trunk()
        self.taken = nn.Sequential(trunk.body)

    def forward(self, x):
        return self.head(x)
"""
    script = """
import torch
from nets import Detector

net = Detector()
SETUP
opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=DECAY)
for epoch in range(3):
    for x, y in [(torch.randn(8, 8, 16, 16), torch.randn(8, 4, 16, 16))]:
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
"""
    wrapped = ("from torchvision.models._utils import IntermediateLayerGetter\n"
               "        self.body = IntermediateLayerGetter(Trunk(), {'body': 'out'})")
    for hold, setup in ((wrapped, ""), ("pass", "net.setup()")):
        for decay, expected in (("5e-4", []), ("0", ["no weight decay (`SGD` at train.py:6)"])):
            tree = {"nets.py": nets.replace("HOLD", hold),
                    "train.py": script.replace("SETUP", setup).replace("DECAY", decay)}
            found = [f.message.split("and ", 1)[-1] for f in lint_tree(tree).findings
                     if f.code == "CNN107" and "Trunk" in f.symbol]
            assert found == expected, (hold, decay)


@pytest.mark.parametrize("write", ["OPTS[key] = value", "setattr(OPTS, key, value)"])
def test_options_overwritten_from_a_file_hold_any_value(lint_tree: Lint, write: str) -> None:
    """Options whose entries a loader overwrites from a file (`OPTS[key] = value` for each
    key read) no longer hold their defaults: the phase that picks the network may be the
    second one, so its network is trained, not left without a training script."""
    settings = """
import json

class Options(dict):
    pass

OPTS = Options(phase=1)
OPTS.phase = 1

def load(path):
    with open(path) as handle:
        for key, value in json.load(handle).items():
            WRITE
""".replace("WRITE", write)
    script = """
import sys
import torch
from nets import Small, Big
from settings import OPTS, load

def train(phase):
    net = Small() if phase == 1 else Big()
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    for epoch in range(50):
        for x in [torch.randn(4, 8, 16, 16)]:
            opt.zero_grad()
            net(x).mean().backward()
            opt.step()

if __name__ == "__main__":
    LOAD
    train(OPTS.phase)
"""
    nets = plain_net("Small", 3) + "\n\n" + plain_net("Big", 10).split("\n", 2)[2]
    # Left at its defaults, the script still names `Big`: a network it builds in a branch
    # its settings do not take is not said to have no training script either.
    for load, expected in (("load(sys.argv[1])", ["warning"]), ("pass", [])):
        tree = {"nets.py": nets, "settings.py": settings,
                "train.py": script.replace("LOAD", load)}
        found = [f.severity for f in lint_tree(tree).findings if f.code == "CNN107"]
        assert found == expected, load


def test_a_method_the_networks_picked_by_an_option_share_blocks_absence_rules(
        lint_tree: Lint) -> None:
    """`model.keep(val_loss)` on one of two networks picked by an option calls a method
    they inherit from a shared base (it may keep the best checkpoint): a call the reader
    does not follow, so no best checkpoint is said to be missing, and `--verbose` names it.
    Called on one network, the method is read: saving every epoch keeps no best one."""
    script = """
import argparse
import torch
import torch.nn as nn

class Keeper(nn.Module):
    best = float("inf")

    def keep(self, val_loss):
        SAVE

class Small(Keeper):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)

class Wide(Small):
    pass

parser = argparse.ArgumentParser()
parser.add_argument("--arch", default="small")
args = parser.parse_args()
if args.arch == "small":
    model = Small()
else:
    model = Wide()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.load("x.pt"), torch.load("y.pt")
for epoch in range(100):
    model.train()
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        val_loss = nn.functional.cross_entropy(model(x), y).item()
    model.keep(val_loss)
"""
    on_metric = ("if val_loss < self.best:\n            self.best = val_loss\n"
                 "            torch.save(self.state_dict(), 'kept.pt')")
    last = "torch.save(self.state_dict(), 'last.pt')"
    for save, pick, expected in ((on_metric, 'args.arch == "small"', []),
                                 (last, 'args.arch == "small"', []),
                                 (last, "True", ["CNN203"])):
        result = lint_tree({"train.py": script.replace("SAVE", save).replace(
            'args.arch == "small"', pick)})
        assert [c for c, _, _ in codes(result) if c == "CNN203"] == expected, (save, pick)
        if pick != "True":
            assert any("keep of one of several networks" in n for n in result.notes())


def test_weights_shrunk_in_place_each_step_are_weight_decay(lint_tree: Lint) -> None:
    """A helper that keeps an averaged copy of the weights also shrinks the live ones each
    step (`p.mul_(1 - wd)`): weight decay written by hand, so "no weight decay" would be
    false. Scaling only the averaged copy (`a.mul_(0.999)`) decays nothing that trains."""
    script = plain_net("Net", 10) + """
import torch

class Averager:
    def __init__(self, net, copy):
        self.live = list(net.state_dict().values())
        self.kept = list(copy.state_dict().values())

    def step(self):
        for p, a in zip(self.live, self.kept):
            a.mul_(0.999).add_(p * 0.001)
            SHRINK

net, copy = Net(), Net()
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
averager = Averager(net, copy)
for epoch in range(5):
    for x in [torch.randn(4, 8, 16, 16)]:
        opt.zero_grad()
        net(x).mean().backward()
        opt.step()
        averager.step()
"""
    for shrink, expected in (("p.mul_(1 - 0.02 * 2e-3)", []), ("pass", ["CNN107"]),
                             ("p.mul_(1.0)", ["CNN107"])):
        found = [f.code for f in lint_tree({"train.py": script.replace("SHRINK", shrink)}
                                           ).findings if f.code == "CNN107"]
        assert found == expected, shrink


def test_labels_guessed_without_gradients_for_the_step_are_no_evaluation(
        lint_tree: Lint) -> None:
    """Semi-supervised training guesses labels for unlabelled data under `no_grad`, in train
    mode by design, and its loss pulls the predictions towards them: that forward is part
    of the step. One whose output no loss uses (a score printed) is an evaluation."""
    script = """
import torch
import torch.nn as nn
import torch.nn.functional as F

net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
pairs = torch.load("labelled_and_unlabelled.pt")
net.train()
for epoch in range(5):
    for x, y, u in pairs:
        with torch.no_grad():
            guess = torch.softmax(net(u), 1)
        loss = F.cross_entropy(net(x), y) + USE
        opt.zero_grad()
        loss.backward()
        opt.step()
"""
    for use, expected in ((("(torch.softmax(net(u), 1) - guess).pow(2).mean()", [])),
                          ("0 * net(u).mean()", ["CNN204"])):
        result = lint_tree({"train.py": script.replace("USE", use)})
        assert [c for c, _, _ in codes(result) if c == "CNN204"] == expected, use
    # The unlabelled batch drawn from an iterator of its loader, in each of its spellings
    # (`it.next()` is how older PyTorch code wrote `next(it)`): still a batch of data.
    drawn = script.replace("pairs = torch.load", "unlabelled = torch.utils.data.DataLoader("
                           "torch.load('u.pt'), batch_size=64)\npairs = torch.load").replace(
        "    for x, y, u in pairs:\n", "    it = iter(unlabelled)\n    for x, y in pairs:\n"
        "        u = DRAW\n").replace("USE", "(torch.softmax(net(u), 1) - guess).pow(2).mean()")
    for draw in ("next(it)", "it.next()", "it.__next__()", "iter(unlabelled).next()"):
        result = lint_tree({"train.py": drawn.replace("DRAW", draw)})
        assert [c for c, _, _ in codes(result) if c == "CNN204"] == [], draw


def test_weights_of_a_model_picked_where_the_reader_loses_track_may_be_any_network(
        lint_tree: Lint) -> None:
    """A helper hands the optimizer param groups or `model.parameters()` of a model taken
    from a registry by a name read at run time: its steps update a model the reader could
    not follow, so no network is said to have no training script, and `--verbose` says
    why. With the model followed, its optimizer has no weight decay."""
    nets = plain_net("Deep", 10) + "\n\nNETS = {}\nNETS['deep'] = Deep\n"
    script = """
import sys
import torch
import torch.nn as nn
from nets import NETS, Deep

def groups(model):
    if hasattr(model, "encoder"):
        return [{"params": model.encoder.parameters(), "lr": 0.01}]
    return model.parameters()

def main(loader):
    model = MODEL
    optimizer = torch.optim.SGD(groups(model), lr=0.01, momentum=0.9)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
"""
    lost = lint_tree({"nets.py": nets, "train.py": script.replace(
        "MODEL", "NETS[sys.argv[1].lower()]()")})
    assert [f.code for f in lost.findings if f.code == "CNN107"] == []
    assert any("could not follow" in note for note in lost.notes())
    followed = lint_tree({"nets.py": nets, "train.py": script.replace("MODEL", "Deep()")})
    assert [f.severity for f in followed.findings if f.code == "CNN107"] == ["warning"]


@pytest.mark.parametrize("optimizer, expected", [
    ("torch.optim.AdamW(groups)", []),  # the first group keeps AdamW's own 0.01
    ("torch.optim.SGD(groups, lr=0.1, weight_decay=5e-4)", []),
    ("torch.optim.SGD(groups, lr=0.1)", ["CNN107"]),  # SGD's own decay is 0
])
def test_a_param_group_without_its_own_decay_takes_the_optimizer_s(
        lint_tree: Lint, optimizer: str, expected: list[str]) -> None:
    """Param groups where only the biases set `weight_decay: 0`: the other group decays at
    the optimizer's own rate, so the network is regularised unless that rate is 0."""
    script = plain_net("Net", 10) + """
import torch

net = Net()
groups = [{"params": [p for p in net.parameters() if p.ndim > 1]},
          {"params": [p for p in net.parameters() if p.ndim == 1], "weight_decay": 0.0}]
opt = OPTIMIZER
for epoch in range(3):
    for x in [torch.randn(4, 8, 16, 16)]:
        opt.zero_grad()
        net(x).mean().backward()
        opt.step()
""".replace("OPTIMIZER", optimizer)
    found = [f.code for f in lint_tree({"train.py": script}).findings if f.code == "CNN107"]
    assert found == expected


def test_an_optimizer_over_a_probe_does_not_train_the_network_it_reads(lint_tree: Lint) -> None:
    """A linear probe over a network picked by name and only evaluated: the probe's SGD
    holds none of the network's weights, so it is not cited as that network's optimizer."""
    nets = plain_net("Tower", 10) + "\n\ndef tower():\n    return Tower()\n"
    script = """
import sys
import torch
import torch.nn as nn
import nets

backbone = nets.__dict__[sys.argv[1]]()
backbone.eval()
probe = nn.Linear(8, 10)
opt = torch.optim.SGD(probe.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    for x, y in [(torch.randn(4, 8, 16, 16), torch.randint(0, 10, (4,)))]:
        with torch.no_grad():
            features = backbone(x).mean((2, 3))
        opt.zero_grad()
        nn.functional.cross_entropy(probe(features), y).backward()
        opt.step()
"""
    found = [f.message for f in lint_tree({"nets.py": nets, "train.py": script}).findings
             if f.code == "CNN107"]
    assert not any("SGD" in message for message in found), found


def test_optimizers_a_wrapper_builds_for_its_parts_train_only_their_part(
        lint_tree: Lint) -> None:
    """A module holding a generator and a critic builds an optimizer for each: the
    critic's decay says nothing of the generator, and the generator's optimizer is the only
    one cited for it."""
    nets = plain_net("Gen", 10) + """

class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 1, 3)

    def forward(self, x):
        return self.conv(x)
"""
    pair = """
import torch
import torch.nn as nn
from nets import Gen, Critic

class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.gen, self.critic = Gen(), Critic()
        self.g_opt = torch.optim.Adam(self.gen.parameters(), lr=1e-4, weight_decay=G_DECAY)
        self.c_opt = torch.optim.Adam(self.critic.parameters(), lr=1e-4, weight_decay=C_DECAY)

    def forward(self, x):
        return self.gen(x)

    def step(self, x):
        self.c_opt.zero_grad()
        (self.critic(self(x).detach()).mean() - self.critic(x).mean()).backward()
        self.c_opt.step()
        self.g_opt.zero_grad()
        (-self.critic(self(x)).mean()).backward()
        self.g_opt.step()

pair = Pair()
for it in range(100):
    pair.step(torch.randn(4, 8, 16, 16))
"""
    for g_decay, c_decay, expected in (("0", "1e-4", ["(`Adam` at train.py:9)"]),
                                       ("1e-4", "0", [])):
        tree = {"nets.py": nets, "train.py": pair.replace("G_DECAY", g_decay).replace(
            "C_DECAY", c_decay)}
        found = [f.message.split("decay ", 1)[-1] for f in lint_tree(tree).findings
                 if f.code == "CNN107" and f.path == "nets.py"]
        assert found == expected, (g_decay, c_decay)


def test_a_factory_model_built_where_the_script_loses_track_may_be_trained(
        lint_tree: Lint) -> None:
    """`getattr(nets, "large")()` trained through param groups the reader cannot tie to
    it: every network of that class may be the trained one, so none is said to have no
    training script."""
    nets = """
import torch.nn as nn

class Plain(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1)
                                    for i in range(depth)])

    def forward(self, x):
        return self.body(x)

def small():
    return Plain(8)

def large():
    return Plain(12)
"""
    script = """
import torch
import torch.nn as nn
import nets

model = nn.DataParallel(getattr(nets, "large")())
body = list(model.module.body.parameters())
optimizer = torch.optim.SGD([{"params": filter(lambda p: p.requires_grad, body)}],
                            lr=0.01, momentum=0.9, weight_decay=1e-4)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
for epoch in range(3):
    for x, y in loader:
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
"""
    result = lint_tree({"nets.py": nets, "train.py": script})
    assert [f.message for f in result.findings if f.code == "CNN107"] == []
    alone = lint_tree({"nets.py": nets, "train.py": "import nets\nprint(nets.large())\n"})
    assert [f.code for f in alone.findings if f.code == "CNN107"] == ["CNN107"]


def test_a_generator_run_without_gradients_for_the_critic_step_is_not_an_evaluation(
        lint_tree: Lint) -> None:
    """A GAN makes fake images with `torch.no_grad()` for the discriminator's step and
    trains the generator later in the same pass: the generator, in train mode on purpose,
    does not evaluate there. The same model run without gradients on a test loader does."""
    script = """
import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(16, 64), nn.Dropout(0.3), nn.Linear(64, 784))
D = nn.Sequential(nn.Linear(784, 64), nn.Dropout(0.3), nn.Linear(64, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4)
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
bce = nn.BCEWithLogitsLoss()
for epoch in range(50):
    for real, _ in loader:
        z = torch.randn(64, 16)
        with torch.no_grad():
            fake = G(z)
        opt_d.zero_grad()
        (bce(D(real), torch.ones(64, 1)) + bce(D(fake), torch.zeros(64, 1))).backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(D(G(z)), torch.ones(64, 1)).backward()
        opt_g.step()
"""
    result = lint_tree({"train.py": script}, select=["CNN204"])
    assert result.runs and [f.code for f in result.findings] == []


@pytest.mark.parametrize("stop, stops", [
    ("break", True), ("return net", True), ("sys.exit(0)", True), ("exit()", True),
    ("print('patience ran out')", False),
])
def test_leaving_the_training_function_on_a_patience_count_is_early_stopping(
        lint_tree: Lint, stop: str, stops: bool) -> None:
    """A patience count on the validation loss that ends the run by `return` (or by
    `sys.exit()`) from inside the epoch loop stops it early, as a `break` does: CNN203
    only when nothing ends the loop."""
    script = """
import sys
import torch
import torch.nn as nn


def evaluate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in loader:
            total += nn.functional.cross_entropy(model(x), y).item()
    model.train()
    return total


def main():
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, 30)
    best, bad = 1e9, 0
    for epoch in range(100):
        for x, y in torch.load("train.pt"):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        sched.step()
        loss = evaluate(net, torch.load("val.pt"))
        if loss < best:
            best, bad = loss, 0
        else:
            bad += 1
        if bad > 10:
            STOP


main()
"""
    result = lint_tree({"train.py": script.replace("STOP", stop)})
    assert [c for c, _, _ in codes(result, "CNN203")] == ([] if stops else ["CNN203"])


def test_a_batch_loop_that_breaks_after_one_batch_makes_its_passes_steps(
        lint_tree: Lint) -> None:
    """`for epoch in range(300): for x in loader: ...; break` trains one batch per pass:
    300 steps, not 300 epochs, so no epoch-long run is judged."""
    script = """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=50, shuffle=True)
for epoch in range(300):
    for x, _ in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(net(x), x).backward()
        optimizer.step()
        BREAK
"""
    once = lint_tree({"train.py": script.replace("BREAK", "break")})
    assert once.runs and codes(once) == []
    every = lint_tree({"train.py": script.replace("BREAK", "pass")})
    assert [c for c, _, _ in codes(every)] == ["CNN202", "CNN203", "CNN209"]


@pytest.mark.parametrize("probe, flagged", [
    ("torch.randint(0, 100, (1, 16))", False),  # a shape check on random token ids
    ("torch.load('val_ids.pt')", True),  # an evaluation on held-out data
])
def test_a_forward_on_random_numbers_without_gradients_is_a_probe(
        lint_tree: Lint, probe: str, flagged: bool) -> None:
    """A summary helper that runs the freshly built model once on random token ids under
    `no_grad` (forward hooks record each layer's output shape) scores no data: it is no
    evaluation in train mode (CNN204). The same call on held-out data is one."""
    script = """
import torch
import torch.nn as nn


class TinyLM(nn.Module):
    def __init__(self, vocab=100, dim=32):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(dim, vocab)

    def forward(self, ids):
        return self.out(self.drop(self.emb(ids)))


def show(model):
    with torch.no_grad():
        print(model(PROBE).shape)


model = TinyLM()
show(model)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
for epoch in range(3):
    for ids in torch.load("train_ids.pt"):
        opt.zero_grad()
        model(ids).sum().backward()
        opt.step()
"""
    result = lint_tree({"run.py": script.replace("PROBE", probe)})
    assert [c for c, _, _ in codes(result, "CNN204")] == (["CNN204"] if flagged else [])


def test_a_frozen_teacher_of_the_students_own_class_is_not_trained_in_eval_mode(
        lint_tree: Lint) -> None:
    """Distillation with teacher and student built by one factory (one class): the teacher
    is frozen in eval mode and only the student's optimizer steps. The teacher's forward in
    the step is no model 'trained after .eval()' (CNN204), though its class is the
    student's; the student itself left in eval mode after validation is."""
    script = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Small(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.c = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.n = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(F.relu(self.n(self.c(x))).mean((2, 3)))


def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        for x, y in loader:
            print((net(x).argmax(1) == y).float().mean())


teacher, student = Small(64), Small(16)
for p in teacher.parameters():
    p.requires_grad = False
teacher.eval()
opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
for epoch in range(5):
    BACK
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        target = F.softmax(teacher(x), 1)
        guess = F.log_softmax(student(x), 1)
        F.kl_div(guess, target).backward()
        opt.step()
    evaluate(student, torch.load("val.pt"))
"""
    back = lint_tree({"kd.py": script.replace("BACK", "student.train()")})
    assert codes(back, "CNN204") == []
    left = lint_tree({"kd.py": script.replace("BACK", "pass")})
    assert [(c, line) for c, _, line in codes(left, "CNN204")] == [("CNN204", 34)]  # student


def test_a_new_wrapper_around_a_net_in_eval_mode_is_in_neither_mode(lint_tree: Lint) -> None:
    """After training, `net.eval()`, then `Explainer(net)` (a new module, so in train mode)
    run over the test loader: the BatchNorm layers it runs are the net's, in eval mode, so
    the wrapper is not said to evaluate in train mode. Without `net.eval()` it is."""
    script = """
import torch
import torch.nn as nn

class Explainer(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)

net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(10))
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
test_loader = torch.utils.data.DataLoader(torch.load("test.pt"), batch_size=64)
for x, y in train_loader:
    optimizer.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()
EVAL
explainer = Explainer(net)
with torch.no_grad():
    for x, y in test_loader:
        explainer(x)
"""
    result = lint_tree({"train.py": script.replace("EVAL", "net.eval()")}, select=["CNN204"])
    assert result.runs and [f.code for f in result.findings] == []
    result = lint_tree({"train.py": script.replace("EVAL", "")}, select=["CNN204"])
    assert [f.code for f in result.findings] == ["CNN204"]


def test_a_class_weight_of_ones_weighs_no_class(lint_tree: Lint) -> None:
    """`weight=torch.from_numpy(np.ones(n))` (a template's default, edited per dataset) is
    no class weighting; a weight that differs between classes is."""
    script = """
import numpy as np
import torch
import torch.nn as nn

weights = WEIGHTS
net = nn.Conv2d(3, 4, 1)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=16, shuffle=True)
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
criterion = nn.CrossEntropyLoss(weight=weights)
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(net(x), y).backward()
        optimizer.step()
"""
    for uniform in ("torch.from_numpy(np.ones([4], np.float32)).cuda()", "torch.ones(4)",
                    "torch.tensor([1.0, 1.0, 1, 1.0])"):
        result = lint_tree({"train.py": script.replace("WEIGHTS", uniform)})
        assert [f.code for f in result.findings if f.code == "CNN211"] == [], uniform
    # `pos_weight=torch.tensor([1.0])` (a detector's objectness loss) weighs the positives
    # like the negatives, as a module or as the functional loss; 3.0 weighs them.
    for pos_weight, expected in (("[1.0]", []), ("[3.0]", ["CNN211"])):
        bce = script.replace("WEIGHTS", f"torch.tensor({pos_weight})").replace(
            "nn.CrossEntropyLoss(weight=weights)", "nn.BCEWithLogitsLoss(pos_weight=weights)")
        result = lint_tree({"train.py": bce})
        assert [f.code for f in result.findings if f.code == "CNN211"] == expected, pos_weight
        functional = bce.replace("criterion(net(x), y)", (
            "nn.functional.binary_cross_entropy_with_logits(net(x), y, pos_weight=weights)"))
        result = lint_tree({"train.py": functional})
        assert [f.code for f in result.findings if f.code == "CNN211"] == expected, pos_weight
    uneven = "torch.tensor([1.0, 3.0, 1.0, 1.0])"
    result = lint_tree({"train.py": script.replace("WEIGHTS", uneven)})
    assert [f.code for f in result.findings if f.code == "CNN211"] == ["CNN211"]
    # The deprecated 2-d spelling of NLLLoss (a segmentation script's) weighs classes too.
    nll = script.replace("WEIGHTS", uneven).replace("nn.CrossEntropyLoss", "nn.NLLLoss2d")
    result = lint_tree({"train.py": nll})
    assert [f.code for f in result.findings if f.code == "CNN211"] == ["CNN211"]


def test_a_script_in_a_subfolder_imports_the_package_beside_it_with_no_root_marker(
        lint_tree: Lint) -> None:
    """No pyproject, setup or .git: `cnnlint .` over `models/` and `train/voc/train.py`
    doing `from models import *` (run from the top with it on the path) reads the package,
    so the model it trains is known."""
    script = """
import torch
from models import *

model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
""" + LOOP.replace("batch_size=64", "batch_size=2")
    result = lint_tree({"models/__init__.py": "from .net import *\n", "models/net.py": MODEL,
                        "train/voc/train.py": script})
    assert [(f.code, f.path) for f in result.findings if f.code == "CNN201"] == [
        ("CNN201", "train/voc/train.py")]


def test_a_checkpoint_kept_when_a_metric_beats_a_record_is_a_best_checkpoint(
        lint_tree: Lint) -> None:
    """`if mean_iu > record["mean_iu"]: torch.save(...)`: the metric may be named by an
    abbreviation (IU) and the best value kept under a key of a dict."""
    script = """
import torch
from nets import Net
from metrics import score

record = {"mean_iu": 0}

def validate(net, loader):
    net.eval()
    with torch.no_grad():
        outputs = [net(x) for x, _ in loader]
    mean_iu = score(outputs)
    if mean_iu > record["mean_iu"]:
        record["mean_iu"] = mean_iu
        torch.save(net.state_dict(), "snapshot.pth")

net = Net()
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
for epoch in range(100):
    net.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    scheduler.step()
    validate(net, val_loader)
"""
    metrics = "def score(outputs):\n    return sum(o.mean() for o in outputs)\n"
    result = lint_tree({"nets.py": MODEL, "metrics.py": metrics, "train.py": script})
    assert result.runs and [f.code for f in result.findings if f.code == "CNN203"] == []


def test_a_checkpoint_kept_on_a_count_of_correct_answers_is_a_best_checkpoint(
        lint_tree: Lint) -> None:
    """`if correct > most: torch.save(...)`: the number of right predictions is an accuracy;
    under a name no word says is a metric, the branch keeping it as the new best says so.
    A fixed threshold keeps no best."""
    script = """
import torch
from nets import Net

def test(net, loader):
    net.eval()
    right = 0
    with torch.no_grad():
        for x, y in loader:
            right += (net(x).argmax(1) == y).sum().item()
    return right

net = Net()
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
most = 0
for epoch in range(100):
    net.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    correct = test(net, val_loader)
    if correct > most:
        most = correct
        torch.save(net, "weights.pth")
"""
    result = lint_tree({"nets.py": MODEL, "train.py": script}, select=["CNN202", "CNN203"])
    assert result.runs and result.findings == []
    unnamed = script.replace("correct", "hits")  # a count no name says is a metric
    assert lint_tree({"nets.py": MODEL, "train.py": unnamed},
                     select=["CNN202", "CNN203"]).findings == []
    threshold = unnamed.replace("if hits > most:\n        most = hits\n", "if hits > 50:\n")
    assert threshold != unnamed
    assert [f.code for f in lint_tree({"nets.py": MODEL, "train.py": threshold},
                                      select=["CNN202", "CNN203"]).findings] == ["CNN203"]


@pytest.mark.parametrize("kept, best", [
    ("copy.deepcopy(net.state_dict())", True),
    ("copy.deepcopy(net)", True),
    ("net.state_dict()", False),  # a reference to the weights that change on: not kept
])
def test_weights_copied_in_memory_when_a_metric_improves_are_a_best_checkpoint(
        lint_tree: Lint, kept: str, best: bool) -> None:
    """`best = copy.deepcopy(model.state_dict())` under `if psnr > best_psnr:`, saved after
    the loop, keeps the best weights like a `torch.save` there. The same copy taken every
    epoch, whatever the metric, keeps none."""
    script = """
import copy
import torch
from nets import Net

net = Net()
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
best_psnr, best_weights = 0.0, None
for epoch in range(100):
    net.train()
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        psnr = sum(-torch.nn.functional.mse_loss(net(x), y) for x, y in val_loader)
    if psnr > best_psnr:
        best_psnr = psnr
        best_weights = KEPT
    every_epoch = KEPT
torch.save(best_weights, "best.pth")
""".replace("KEPT", kept)
    result = lint_tree({"nets.py": MODEL, "train.py": script})
    assert result.runs
    found = [f for f in result.findings if f.code == "CNN203"]
    assert [f.code for f in found] == ([] if best else ["CNN203"])
    if not best:  # the message says why the weights kept are not the best epoch's
        assert found[0].message.endswith(
            ": `best_weights` at line 21 holds the live weights, not a copy, so every later "
            "step changes it (copy.deepcopy the state_dict)")
    unguarded = script.replace("    if psnr > best_psnr:\n        best_psnr = psnr\n"
                               "        best_weights = " + kept + "\n", "")
    result = lint_tree({"nets.py": MODEL, "train.py": unguarded})
    found = [f for f in result.findings if f.code == "CNN203"]
    assert [f.code for f in found] == ["CNN203"] and "live weights" not in found[0].message


def test_a_dataset_with_a_second_image_pipeline_may_augment_through_it(
        lint_tree: Lint) -> None:
    """A segmentation set flips image and mask together through `joint=` and converts
    through `transform=`: the plain `transform` is not all it does to the images. A
    pipeline for the labels alone changes nothing of that."""
    script = """
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from nets import Net
from pairs import FlipBoth

class Pairs(Dataset):
    def __init__(self, root, joint=None, transform=None, label_transform=None):
        self.root, self.joint, self.transform = root, joint, transform

    def __len__(self):
        return 100

    def __getitem__(self, i):
        image, mask = torch.load(f"{self.root}/{i}.pt")
        if self.joint is not None:
            image, mask = self.joint(image, mask)
        return self.transform(image), mask

train_set = Pairs("data", JOINT transform=transforms.Compose([transforms.ToTensor()]))
net = Net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    for x, y in DataLoader(train_set, batch_size=32, shuffle=True):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
"""
    files = {"nets.py": MODEL, "pairs.py": "class FlipBoth:\n    pass\n"}
    joint = "joint=transforms.Compose([FlipBoth()]),"
    result = lint_tree({**files, "train.py": script.replace("JOINT", joint)})
    assert [f.code for f in result.findings if f.code == "CNN212"] == []
    for other in ("", "label_transform=transforms.Compose([FlipBoth()]),"):
        result = lint_tree({**files, "train.py": script.replace("JOINT", other)})
        assert [f.code for f in result.findings if f.code == "CNN212"] == ["CNN212"], other


def test_a_script_that_stops_without_an_option_is_read_with_the_option_given(
        lint_tree: Lint) -> None:
    """`--dataset` has no default, and `else: raise ValueError(...)` (or `sys.exit`) ends
    the script when it is not given: a run that trains passes it, so the code the option
    picks is read and the training loop after it is judged."""
    script = """
import argparse
import sys
import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset")
    parser.add_argument("--weights")
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    if args.weights is None:
        print("--weights is required")
        sys.exit(1)
    if args.dataset == "a":
        data = torch.load("a.pt")
    elif args.dataset == "b":
        data = torch.load("b.pt")
    else:
        raise ValueError("unknown dataset")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = torch.utils.data.DataLoader(data, batch_size=64)
    for epoch in range(args.epochs):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()


if __name__ == "__main__":
    main()
"""
    result = lint_tree({"train.py": script})
    assert {"CNN202", "CNN203", "CNN209"} <= {f.code for f in result.findings}
    # A default that lets the script go on is still what it reads: no option is assumed.
    goes_on = script.replace('raise ValueError("unknown dataset")', "data = None")
    result = lint_tree({"train.py": goes_on})
    assert {"CNN202", "CNN203", "CNN209"} <= {f.code for f in result.findings}


def test_a_one_line_if_body_is_read(lint_tree: Lint) -> None:
    """`if reset: self.zero_grad()` on one line (SAM's `first_step(zero_grad=True)`) resets
    the gradients as the same body on a line of its own does."""
    script = """
import torch

class TwoStep:
    def __init__(self, params):
        self.inner = torch.optim.SGD(params, lr=0.1, momentum=0.9)

    def finish(self, reset=False):
        self.inner.step()
        if reset: self.inner.zero_grad()

model = torch.nn.Linear(4, 2)
opt = TwoStep(model.parameters())
for batch in range(100):
    model(torch.randn(2, 4)).sum().backward()
    opt.finish(reset=RESET)
"""
    assert codes(lint_tree({"train.py": script.replace("RESET", "True")}), "CNN205") == []
    assert codes(lint_tree({"train.py": script.replace("RESET", "False")}), "CNN205") != []


def test_a_training_split_read_once_for_its_statistics_is_not_the_training_loader(
        lint_tree: Lint) -> None:
    """The train split is read once through a DataLoader of batch 1 and no augmentation to
    measure the pixel mean and std; the loop steps over another loader, augmented, of batch
    128. The statistics loader trains nothing: no CNN201 (batch 1) and no CNN212."""
    script = """
import torch
import torchvision
import torchvision.transforms as T
from torch.utils.data import DataLoader

def pixel_stats():
    plain = torchvision.datasets.CIFAR10("data", train=True, transform=T.ToTensor())
    images = torch.cat([x for x, _ in DataLoader(plain)])
    return images.mean((0, 2, 3)), images.std((0, 2, 3))

mean, std = pixel_stats()
augment = T.Compose([T.RandomCrop(32, padding=4), T.ToTensor(), T.Normalize(mean, std)])
train_set = torchvision.datasets.CIFAR10("data", train=True, transform=augment)
loader = DataLoader(train_set, batch_size=BATCH, shuffle=True)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                            torch.nn.Flatten(), torch.nn.LazyLinear(10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
"""
    result = lint_tree({"train.py": script.replace("BATCH", "128")})
    assert codes(result, "CNN201") == [] and codes(result, "CNN212") == []
    # The loader that does train is still judged.
    result = lint_tree({"train.py": script.replace("BATCH", "2")})
    assert codes(result, "CNN201") == [("CNN201", "train.py", 14)]


def test_a_loader_built_on_either_side_of_an_undecided_if_keeps_its_role(
        lint_tree: Lint) -> None:
    """`val_loader` is built in both arms of an `if` the reader cannot decide: after it, it
    is still a held-out loader, and the loop over it every epoch is a validation pass. A
    batch size the two arms disagree on is either value: small in both (4 or 8) it is
    judged, large in one (4 or 64) it is not."""
    script = """
import os
import torch
from torch.utils.data import DataLoader

net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                          torch.nn.Flatten(), torch.nn.LazyLinear(10))
if os.environ.get("SMALL"):
    train_loader = DataLoader(torch.load("a.pt"), batch_size=TRAIN_A, shuffle=True)
    val_loader = DataLoader(torch.load("a_val.pt"), batch_size=256)
else:
    train_loader = DataLoader(torch.load("b.pt"), batch_size=TRAIN_B, shuffle=True)
    val_loader = DataLoader(torch.load("b_val.pt"), batch_size=64)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(50):
    net.train()
    for x, y in train_loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        for x, y in val_loader:
            net(x)
"""
    result = lint_tree({"train.py": script.replace("TRAIN_A", "4").replace("TRAIN_B", "8")})
    assert codes(result, "CNN202") == [] and codes(result, "CNN201") == [
        ("CNN201", "train.py", 8)]
    result = lint_tree({"train.py": script.replace("TRAIN_A", "4").replace("TRAIN_B", "64")})
    assert codes(result, "CNN202") == [] and codes(result, "CNN201") == []
    result = lint_tree({"train.py": script.replace("TRAIN_A", "4").replace("TRAIN_B", "4")})
    assert [c for c, *_ in codes(result)] == ["CNN201", "CNN203", "CNN209"]


def test_a_loader_trained_on_inside_an_undecided_if_is_still_the_training_loader(
        lint_tree: Lint) -> None:
    """Each arm of an `if` the reader cannot decide builds the loader and trains on it; the
    loader standing for both after the `if` is the one the steps drew from."""
    script = """
import os
import torch
from torch.utils.data import DataLoader

net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                          torch.nn.Flatten(), torch.nn.LazyLinear(10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

def make():
    return DataLoader(torch.load("data.pt"), batch_size=4, shuffle=True)

def fit(data):
    for x, y in data:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

if os.environ.get("FAST"):
    data = make()
    fit(data)
else:
    data = make()
    fit(data)
"""
    assert codes(lint_tree({"train.py": script}), "CNN201") == [("CNN201", "train.py", 10)]


def test_a_model_module_imported_by_name_is_read(lint_tree: Lint) -> None:
    """`importlib.import_module(args.model).Net(n)` with `--model` defaulting to a module of
    the project: that module's `Net` is what the script trains."""
    script = """
import argparse
import importlib
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="nets")
args = parser.parse_args()
net = importlib.import_module(args.model).Net()
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=2, shuffle=True)
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for x, y in loader:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()
"""
    nets = """
import torch.nn as nn

class Net(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(4))
"""
    result = lint_tree({"train.py": script, "nets.py": nets})
    assert codes(result, "CNN201") == [("CNN201", "train.py", 9)]
    # Given on every command line, the module is not known: silence, and `--verbose` says
    # what could not be followed.
    required = script.replace('default="nets"', "required=True")
    result = lint_tree({"train.py": required, "nets.py": nets})
    assert codes(result) == []
    (run,) = result.runs
    assert any("importlib.import_module(...).Net(...), a call the reader could not follow"
               in note for note in run.notes)


def test_a_step_without_reset_in_a_helper_of_another_file_names_the_loop(
        lint_tree: Lint) -> None:
    """The step sits in a wrapper's method in `twostep.py`; the loop that repeats it is in
    `train.py`: the finding gives that loop as its other end."""
    helper = """
import torch

class TwoStep:
    def __init__(self, params):
        self.inner = torch.optim.SGD(params, lr=0.1, momentum=0.9)

    def finish(self):
        self.inner.step()
"""
    script = """
import torch
from twostep import TwoStep

model = torch.nn.Linear(4, 2)
optimizer = TwoStep(model.parameters())
for batch in range(100):
    model(torch.randn(2, 4)).sum().backward()
    optimizer.finish()
"""
    result = lint_tree({"twostep.py": helper, "train.py": script})
    (finding,) = [f for f in result.findings if f.code == "CNN205"]
    assert (finding.path, finding.line) == ("twostep.py", 8)
    assert [(r.path, r.line, r.message) for r in finding.related] == [
        ("train.py", 6, "the loop it steps in")]


def test_loaders_zipped_in_the_training_loop_both_train(lint_tree: Lint) -> None:
    """`for (xa, ya), (xb, yb) in zip(loader_a, loader_b)` draws training batches from
    both: each is a training loader (and a train split read elsewhere is not)."""
    script = """
import torch
import torchvision
import torchvision.transforms as T
from torch.utils.data import DataLoader

digits = T.Compose([T.Resize(32), T.ToTensor()])
houses = T.Compose([T.ToTensor()])
loader_a = DataLoader(torchvision.datasets.MNIST("a", train=True, transform=digits),
                      batch_size=64, shuffle=True)
loader_b = DataLoader(torchvision.datasets.SVHN("b", split="train", transform=houses),
                      batch_size=64, shuffle=True)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for (xa, ya), (xb, yb) in zip(loader_a, loader_b):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(xa), ya)
    loss = loss + torch.nn.functional.cross_entropy(net(xb), yb)
    loss.backward()
    opt.step()
"""
    result = lint_tree({"train.py": script})
    assert codes(result, "CNN212") == [("CNN212", "train.py", 6), ("CNN212", "train.py", 7)]
    # Each message says whose images they are.
    assert [f.message for f in result.findings if f.code == "CNN212"] == [
        "training images of `loader_a` get no random augmentation (transforms: Resize, "
        "ToTensor)",
        "training images of `loader_b` get no random augmentation (transforms: ToTensor)"]


def test_a_worker_started_by_spawn_gets_the_arguments_spawn_passes(lint_tree: Lint) -> None:
    """`mp.spawn(main_worker, nprocs=n, args=(n, args))` (the DistributedDataParallel
    recipe) runs `main_worker(rank, n, args)`: the epochs come from `args`."""
    script = """
import argparse
import torch
import torch.multiprocessing as mp

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=90)

def main_worker(gpu, ngpus, args):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
    for epoch in range(args.epochs):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

def main():
    args = parser.parse_args()
    ngpus = torch.cuda.device_count()
    mp.spawn(main_worker, nprocs=ngpus, args=(ngpus, args))

if __name__ == "__main__":
    main()
"""
    result = lint_tree({"train.py": script})
    assert [c for c, *_ in codes(result)] == ["CNN202", "CNN203", "CNN209"]
    assert all("90 epochs (argparse default of `--epochs`)" in f.message
               for f in result.findings)


def test_loaders_two_helpers_build_on_either_side_of_an_if_are_judged(lint_tree: Lint) -> None:
    """Each arm of an undecided `if` gets its loaders from a helper of its own, which sets
    `shuffle` its own way: the loader standing for both has no symbol or shuffle flag of its
    own, and the rules judge it without failing."""
    script = """
import os
import torch
import torchvision
import torchvision.transforms as T
from torch.utils.data import DataLoader

def cifar():
    data = torchvision.datasets.CIFAR10("c", train=True, transform=T.ToTensor())
    return DataLoader(data, batch_size=64, shuffle=True)

def svhn():
    data = torchvision.datasets.SVHN("s", split="train", transform=T.ToTensor())
    return DataLoader(data, batch_size=64)

if os.environ.get("DATA") == "svhn":
    train_loader = svhn()
else:
    train_loader = cifar()
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for x, y in train_loader:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
"""
    result = lint_tree({"train.py": script})
    assert result.errors == []
    assert codes(result, "CNN212") == [("CNN212", "train.py", 8), ("CNN212", "train.py", 12)]


def test_the_model_run_on_whole_held_out_tensors_each_epoch_is_a_validation_pass(
        lint_tree: Lint) -> None:
    """A teaching script's loop: minibatches from a loader, then the loss on the whole
    training and test tensors each epoch, gradients on. `net(test_features)` evaluates on
    held-out data; without it the loop has no validation."""
    script = """
import torch

features = torch.randn(120, 3)
labels = torch.randn(120, 1)
train_features, test_features = features[:100], features[100:]
train_labels, test_labels = labels[:100], labels[100:]
net = torch.nn.Linear(3, 1)
loss = torch.nn.MSELoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
data = torch.utils.data.TensorDataset(train_features, train_labels)
loader = torch.utils.data.DataLoader(data, batch_size=10, shuffle=True)
train_ls, test_ls = [], []
for epoch in range(100):
    for X, y in loader:
        optimizer.zero_grad()
        loss(net(X), y).backward()
        optimizer.step()
    train_ls.append(loss(net(train_features), train_labels).item())
    test_ls.append(loss(net(test_features), test_labels).item())
"""
    assert codes(lint_tree({"train.py": script}), "CNN202") == []
    unchecked = script.replace("    test_ls.append(loss(net(test_features), test_labels).item())\n",
                               "").replace("train_features, test_features = features[:100], "
                                           "features[100:]", "train_features = features[:100]")
    assert codes(lint_tree({"train.py": unchecked}), "CNN202") == [("CNN202", "train.py", 13)]


def test_a_whole_image_forward_read_at_held_out_pixels_is_a_validation_pass(
        lint_tree: Lint) -> None:
    """Transductive training: one forward over the whole image each epoch, the loss on the
    labelled pixels only, and the prediction scored at the held-out pixels (`pred[test_idx]`)
    every epoch: evaluation on held-out data, in the training forward. Scoring only the
    training pixels is not."""
    script = """
import numpy as np
import torch
import torch.nn as nn

image = torch.randn(1, 20, 64, 64)
truth = np.random.randint(0, 5, 64 * 64)
train_idx, test_idx = np.arange(0, 2000), np.arange(2000, 64 * 64)
targets = torch.from_numpy(truth[train_idx]).long()
net = nn.Sequential(nn.Conv2d(20, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 5, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(500):
    opt.zero_grad()
    logits = net(image)[0].permute(1, 2, 0).reshape(-1, 5)
    nn.functional.cross_entropy(logits[train_idx], targets).backward()
    opt.step()
    pred = torch.argmax(logits, -1).detach().numpy()
    print(np.mean(pred[SCORED] == truth[SCORED]))
"""
    assert codes(lint_tree({"train.py": script.replace("SCORED", "test_idx")}), "CNN202") == []
    assert [c for c, _, _ in codes(lint_tree({"train.py": script.replace("SCORED", "train_idx")}),
                                   "CNN202")] == ["CNN202"]


def test_optimising_a_module_that_reads_no_input_is_not_training(lint_tree: Lint) -> None:
    """A module whose forward takes no input and returns its own parameter (a style
    transfer's canvas): the loop optimises an image, not a model of data."""
    script = """
import torch

class Canvas(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.image = torch.nn.Parameter(torch.rand(1, 3, 32, 32))

    def forward(self):
        return self.image

target = torch.rand(1, 3, 32, 32)
canvas = Canvas()
opt = torch.optim.Adam(canvas.parameters(), lr=0.01)
for step in range(300):
    opt.zero_grad()
    ((canvas() - target) ** 2).mean().backward()
    opt.step()
"""
    assert codes(lint_tree({"paint.py": script})) == []


def test_a_weight_drawn_with_the_batch_weighs_samples_not_classes(lint_tree: Lint) -> None:
    """`F.binary_cross_entropy_with_logits(..., weight=pad)` with `pad` a mask from the batch
    rescales positions; a constant weight tensor weighs classes."""
    script = """
import torch
import torch.nn.functional as F

data = torch.utils.data.TensorDataset(torch.randn(32, 6), torch.ones(32, 6), torch.ones(32, 6))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
net = torch.nn.Linear(6, 6)
opt = torch.optim.Adam(net.parameters(), lr=0.01)
for epoch in range(3):
    for x, pad, labels in loader:
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(net(x), labels, weight=WEIGHT).backward()
        opt.step()
"""
    assert codes(lint_tree({"train.py": script.replace("WEIGHT", "pad")}), "CNN211") == []
    fixed = script.replace("WEIGHT", "torch.tensor([1.0, 4.0, 1.0, 1.0, 2.0, 1.0])")
    assert codes(lint_tree({"train.py": fixed}), "CNN211") == [("CNN211", "train.py", 11)]
    # A demo call on made-up tensors before training (a notebook's check of a masked loss)
    # is not what the loop computes.
    demo = ("print(F.binary_cross_entropy_with_logits(torch.randn(2, 6), torch.ones(2, 6), "
            "weight=torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])))\n")
    masked = script.replace("for epoch in range(3):", demo + "for epoch in range(3):")
    assert codes(lint_tree({"train.py": masked.replace("WEIGHT", "pad")}), "CNN211") == []
    # Batch parts the reader cannot follow (`[d.float() for d in batch]`): a weight of
    # unknown value is no class weighting it can claim.
    unfollowed = script.replace("    for x, pad, labels in loader:\n",
                                "    for batch in loader:\n"
                                "        x, pad, labels = [d.float() for d in batch]\n")
    assert codes(lint_tree({"train.py": unfollowed.replace("WEIGHT", "pad")}), "CNN211") == []


def test_held_out_tensors_passed_to_a_helper_by_name_are_evaluated_on(lint_tree: Lint) -> None:
    """`fit_and_plot(train_features, test_features, ...)`: the helper's parameter names say
    which tensors are held out."""
    script = """
import torch

features, labels = torch.randn(120, 3), torch.randn(120, 1)
loss = torch.nn.MSELoss()

def fit_and_plot(train_features, test_features, train_labels, test_labels):
    net = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    data = torch.utils.data.TensorDataset(train_features, train_labels)
    loader = torch.utils.data.DataLoader(data, batch_size=10, shuffle=True)
    for epoch in range(100):
        for X, y in loader:
            optimizer.zero_grad()
            loss(net(X), y).backward()
            optimizer.step()
        print(loss(net(test_features), test_labels).item())

fit_and_plot(features[:100], features[100:], labels[:100], labels[100:])
"""
    assert codes(lint_tree({"train.py": script}), "CNN202") == []


def test_an_evaluation_every_n_batches_inside_the_batch_loop_is_seen(lint_tree: Lint) -> None:
    """`for i, (x, y) in enumerate(loader): ... if i % 200 == 199: <no_grad evaluation>`: the
    loader loop's one pass stands for every batch, so its count is not known and the
    evaluation under the test is read."""
    script = """
import torch
from torch.utils.data import DataLoader

fit_loader = DataLoader(torch.load("fit.pt"), batch_size=64, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=500)
val_x, val_y = next(iter(val_loader))
net = torch.nn.Linear(10, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(20):
    for i, (x, y) in enumerate(fit_loader):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        if i % 200 == 199:
            with torch.no_grad():
                print((net(val_x).argmax(1) == val_y).float().mean())
"""
    assert codes(lint_tree({"train.py": script}), "CNN202") == []


PROJECT_OPTIMIZERS = """
import torch
import torch.optim as optim


class SecondOrder(optim.Optimizer):
    def __init__(self, model, lr=0.01, weight_decay=0.0):
        super().__init__(model.parameters(), dict(lr=lr, weight_decay=weight_decay))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.data.add_(p.grad, alpha=-group["lr"])


class PlainSGD(optim.SGD):
    pass


class StepOwnSGD(optim.SGD):
    def step(self, closure=None):
        return super().step(closure)
"""


@pytest.mark.parametrize("build, decay, kind", [
    ("SecondOrder(model, lr=0.05, weight_decay=5e-4)", 5e-4, "SecondOrder"),
    ("SecondOrder(model)", 0.0, "SecondOrder"),
    ("PlainSGD(model.parameters(), lr=0.1)", 0.0, "SGD"),
    ("StepOwnSGD(model.parameters(), lr=0.1, weight_decay=1e-4)", 1e-4, "StepOwnSGD"),
])
def test_a_project_optimizer_class_trains_the_weights_it_hands_to_torch(
        lint_tree: Lint, build: str, decay: float, kind: str) -> None:
    """A project's subclass of torch's `Optimizer` given the model itself: the weights and
    settings its constructor hands to torch's are the optimizer's. One that keeps torch's
    `step` is that optimizer (SGD without momentum); one with its own `step` is not judged
    as SGD."""
    script = ("import torch\nfrom nets import Deep\nfrom optim_x import SecondOrder, PlainSGD, "
              f"StepOwnSGD\n\nmodel = Deep()\noptimizer = {build}\n") + LOOP
    result = lint_tree({"nets.py": DEEP, "optim_x.py": PROJECT_OPTIMIZERS, "train.py": script})
    (run,) = result.runs
    assert [m.keys[0] for m in run.models] == ["nets:Deep"]
    (optimizer,) = run.optimizers
    assert optimizer.kind == kind and optimizer.weight_decay is not None
    assert optimizer.weight_decay.value == decay
    assert _no_script_claims(result) == []
    assert bool(codes(result, "CNN206")) is (kind == "SGD")


def test_a_choice_of_optimizers_merged_with_itself_stays_the_same_choice() -> None:
    """After an undecided `if`, every attribute of the trainer is merged, the optimizer a
    config picked among several too: merging a choice with itself must not double it (in a
    search script's nested loops and ifs, doubling grew past 7 GB)."""
    from cnnlint.extract.training.objects import TrainObj
    from cnnlint.extract.training.reader import TrainingInterp

    interp = TrainingInterp({})
    interp.start_pass("train.py")
    sgd, adam = (TrainObj("optimizer", name, None, {"ir": None}) for name in ("SGD", "Adam"))
    choice = interp.merge(sgd, adam)
    assert interp.merge(choice, choice) is choice
    again = interp.merge(choice, interp.merge(adam, choice))
    assert again.fields["options"] == [sgd, adam] and again.name == "SGD or Adam"


TRAINER_CLASS = """
import torch
import torch.nn as nn


class Training:
    def __init__(self, model, loader, epochs):
        self.model, self.loader, self.epochs = model, loader, epochs

    def runner(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9,
                                    weight_decay=5e-4)
        for epoch in range(self.epochs):
            for x, y in self.loader:
                optimizer.zero_grad()
                nn.functional.cross_entropy(self.model(x), y).backward()
                optimizer.step()
"""


def test_a_script_that_runs_a_trainer_class_of_another_file_is_read(lint_tree: Lint) -> None:
    """`main.py` names nothing of training itself: it builds the model and hands it to a
    class of another file whose method trains. It is a script that trains, and the model
    it builds is that run's (BatchNorm at batch 2)."""
    script = """
from torch.utils.data import DataLoader
from nets import Deep
from train_test import Training

model = Deep()
Training(model, DataLoader(dataset, batch_size=2), 30).runner()
"""
    result = lint_tree({"nets.py": DEEP, "train_test.py": TRAINER_CLASS, "main.py": script})
    assert ("CNN201", "main.py", 6) in codes(result)
    assert _no_script_claims(result) == []


def test_a_network_named_where_the_defaults_do_not_lead_may_be_trained(lint_tree: Lint) -> None:
    """`--arch` defaults to a library network, and the script builds the project's `big()`
    in another branch: run with `--arch big`, it trains that one, so `big` is not said to
    have no training script, nor is the class it builds (`Deep(16)` builds what `Deep()`
    does). `small`, which no script names, still is."""
    script = """
import argparse
import torch
import torchvision
import nets

parser = argparse.ArgumentParser()
parser.add_argument("--arch", default="resnet50")
args = parser.parse_args()
if args.arch == "resnet50":
    model = torchvision.models.resnet50()
elif args.arch == "big":
    model = nets.wide()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
""" + LOOP
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    (claim,) = [f for f in result.findings
                if f.code == "CNN107" and "no training script followed" in f.message]
    assert claim.symbol == "small" and "wide" not in claim.message


def test_a_loop_repeating_whole_runs_counts_no_epochs(lint_tree: Lint) -> None:
    """`for seed in range(25): run()` repeats a whole training run (to average over seeds):
    the epochs are the loop inside the run, not 25."""
    script = """
import torch
import torch.nn as nn

def run():
    net = nn.Linear(8, 2)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(EPOCHS):
        for x, y in torch.load("batches.pt"):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()

if __name__ == "__main__":
    for seed in range(25):
        run()
"""
    short = lint_tree({"train.py": script.replace("EPOCHS", "3")})
    assert codes(short) == []
    long = lint_tree({"train.py": script.replace("EPOCHS", "40")})
    assert {(c, line) for c, _, line in codes(long)} == {("CNN202", 7), ("CNN203", 7),
                                                         ("CNN209", 7)}


def test_a_training_set_drawn_whole_once_is_not_the_training_pipeline(lint_tree: Lint) -> None:
    """The whole training set drawn once into a dict on the device (`next(iter(loader))`),
    then flipped and cut into batches by the script's own code each epoch: the loader's
    pipeline (ToTensor only) is not what the steps see, so no augmentation is said to be
    missing."""
    script = """
import torch
import torch.nn as nn
import torchvision
from torchvision import transforms

train_set = torchvision.datasets.CIFAR10("data", train=True, transform=transforms.ToTensor())
loader = torch.utils.data.DataLoader(train_set, batch_size=len(train_set), shuffle=True)
store = {}
store["x"], store["y"] = [t for t in next(iter(loader))]

def batches(data, size=512):
    images = torch.where(torch.rand(len(data["x"]), 1, 1, 1) < 0.5, data["x"],
                         data["x"].flip(-1))
    for k in range(0, len(images), size):
        yield images[k:k + size], data["y"][k:k + size]

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for epoch in range(3):
    for x, y in batches(store):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    assert codes(lint_tree({"train.py": script}), "CNN212") == []


def test_a_registry_of_dataset_classes_names_no_network_a_run_may_train(
        lint_tree: Lint) -> None:
    """A dataset class picked from a registry by an option, and weights stepped through
    code the reader cannot follow: the datasets are not named as what the run may train."""
    data = """
import torchvision

class Ten(torchvision.datasets.CIFAR10):
    pass

class Hundred(torchvision.datasets.CIFAR100):
    pass

DATASETS = {"c10": Ten, "c100": Hundred}
"""
    script = """
import argparse
import torch
import data
import nets
from regime import RegimeOptimizer

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", default="c10")
train_set = data.DATASETS[parser.parse_args().dataset]("data")
loader = torch.utils.data.DataLoader(train_set, batch_size=64)
model = nets.Deep()
optimizer = RegimeOptimizer(model, [{"lr": 0.1}])
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    result = lint_tree({"nets.py": DEEP, "data.py": data, "train.py": script})
    notes = [n for n in result.notes() if "may be what it trains" in n]
    assert notes and not any("Ten" in n or "Hundred" in n for n in notes)


def test_a_generator_and_critic_kept_in_one_module_are_trained_apart(lint_tree: Lint) -> None:
    """One module holds both networks of a GAN, each stepped by an optimizer over its own
    part (`net.gen.parameters()`, `net.disc.parameters()`): adversarial training, so the
    rules about validation, early stopping, schedules and augmentation stay silent."""
    script = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.gen = nn.Sequential(nn.Linear(32, 128), nn.LeakyReLU(0.2), nn.Linear(128, 784))
        self.disc = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))

loader = DataLoader(datasets.MNIST("data", transform=transforms.ToTensor()), batch_size=64)
net = Pair()
opt_g = torch.optim.Adam(net.gen.parameters(), lr=2e-4)
opt_d = torch.optim.Adam(net.disc.parameters(), lr=2e-4)
for epoch in range(100):
    for real, _ in loader:
        fake = net.gen(torch.randn(64, 32))
        opt_g.zero_grad()
        F.softplus(-net.disc(fake)).mean().backward()
        opt_g.step()
        opt_d.zero_grad()
        real_loss = F.softplus(-net.disc(real.flatten(1)))
        (real_loss + F.softplus(net.disc(fake.detach()))).mean().backward()
        opt_d.step()
"""
    result = lint_tree({"gan.py": script})
    assert codes(result) == []
    assert any("`Pair.disc` and `Pair.gen`" in n for n in result.notes())


def test_a_long_literal_range_has_a_known_count(lint_tree: Lint) -> None:
    """`for epoch in range(10000)` over one full batch: too long to read pass by pass, but
    its length is known, so the run is judged as 10000 epochs."""
    script = """
import torch
import torch.nn as nn

x, y = torch.load("points.pt")
net = nn.Sequential(nn.Linear(2, 50), nn.ReLU(), nn.Linear(50, 2))
optimizer = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
for epoch in range(10000):
    optimizer.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()
"""
    result = lint_tree({"fit.py": script})
    found = [f.message for f in result.findings if f.code == "CNN202"]
    assert found and found[0].startswith("trains 10000 epochs")


@pytest.mark.parametrize("build, flagged", [
    ("torchvision.models.resnet18(weights=None)", True),
    ("torchvision.models.vgg16_bn()", True),
    ("torchvision.models.vgg16()", False),  # no BatchNorm in the plain VGG
    ("torchvision.models.detection.fasterrcnn_resnet50_fpn()", False),  # frozen BatchNorm
    ("torchvision.models.resnet18().fc", False),  # its classifier only: no BatchNorm there
    ("torchvision.models.resnet18(norm_layer=make_norm)", False),  # a norm of its own
    ("DenseNet121(spatial_dims=3, in_channels=1, out_channels=2)", True),
    ("monai.networks.nets.resnet18(spatial_dims=3, n_input_channels=1)", True),
    ("DenseNet121(3, 1, 2, norm='instance')", False),  # told to use InstanceNorm
    ("DenseNet121(3, 1, 2, **options)", False),  # options that may name any norm
    ("UNet(3, 1, 2, (16, 32), (2,))", False),  # MONAI's U-Net: InstanceNorm by default
    ("SegResNet(spatial_dims=3)", False),  # GroupNorm
])
def test_a_library_network_with_batchnorm_trained_at_a_tiny_batch(
        lint_tree: Lint, build: str, flagged: bool) -> None:
    """Library builders of BatchNorm networks (fine-tuning torchvision's `resnet18` at batch
    4, as transfer-learning tutorials do; MONAI's DenseNet121 on 3D volumes at batch 2) train
    BatchNorm at that batch size, unless the call picks another norm."""
    script = f"""
import torch
import torchvision
import monai
from monai.networks.nets import DenseNet121, SegResNet, UNet
from torch.utils.data import DataLoader

loader = DataLoader(torch.load("data.pt"), batch_size=4, shuffle=True)
model = {build}
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for x, y in loader:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
"""
    found = codes(lint_tree({"tune.py": script}), "CNN201")
    assert found == ([("CNN201", "tune.py", 7)] if flagged else [])


def test_a_wrapper_building_a_network_the_reader_could_not_build_may_hold_any(
        lint_tree: Lint) -> None:
    """A video network whose constructor builds its base network from a name the command
    line gives (an option the reader cannot read: its parser lives in a module it cannot
    run), and whose forward calls `self.base_model(x)`: that network may be any of the
    project's, so none is said to have no training script (CNN107 info)."""
    script = """
import torch
import torch.nn as nn
import torchvision
from settings import parser


class Video(nn.Module):
    def __init__(self, base_model):
        super().__init__()
        if "resnet" in base_model:
            self.base_model = getattr(torchvision.models, base_model)()
        elif base_model == "deep":
            from nets import Deep
            self.base_model = Deep()
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.base_model(x).mean((2, 3)))


args = parser.parse_args()
model = Video(args.arch)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
""" + LOOP
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    assert _no_script_claims(result) == []
    assert any("`Video` holds a network the reader could not build" in n
               for n in result.notes())


def test_a_wrapper_around_a_network_the_reader_could_not_build_may_hold_any(
        lint_tree: Lint) -> None:
    """A wrapper around a network the reader could not build (taken from a table it cannot
    read at a key given at run time), whose forward calls `self.model(x)`: that network may
    be any, so no network of the project is said to have no training script; a wrapper
    around a known network leaves the others judged."""
    script = """
import sys
import torch
import torch.nn as nn

class Wrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.model(x) * self.scale

NETWORKS = {}
model = Wrapper(INNER)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
""" + LOOP
    unknown = lint_tree({"nets.py": DEEP, "train.py": script.replace(
        "INNER", "NETWORKS.get(sys.argv[1])")})
    assert _no_script_claims(unknown) == []
    assert any("`Wrapper` holds a network the reader could not build" in n
               for n in unknown.notes())
    known = lint_tree({"nets.py": DEEP, "train.py": script.replace(
        "INNER", "nn.Conv2d(3, 8, 3)")})
    assert _no_script_claims(known) == ["Deep"]


def test_a_part_read_off_a_network_trains_that_network(lint_tree: Lint) -> None:
    """A builder keeps only the trunk of a network (`Trunk().body`) inside a detector: the
    script that trains the detector trains that network's layers, with its decay."""
    detector = """
import torch.nn as nn
from nets import Trunk

class Detector(nn.Module):
    def __init__(self, trunk):
        super().__init__()
        self.trunk = trunk
        self.cls = nn.Conv2d(8, 5, 1)

    def forward(self, x):
        return self.cls(self.trunk(x))

def build():
    return Detector(Trunk().body)
"""
    script = """
import torch
from detector import build

model = build()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
""" + LOOP
    result = lint_tree({"nets.py": plain_net("Trunk", 9), "detector.py": detector,
                        "train.py": script})
    assert _no_script_claims(result) == []
    assert [f for f in result.findings if f.code == "CNN107"] == []


def test_a_script_that_steps_once_is_no_training_run(lint_tree: Lint) -> None:
    """A numerical test steps two copies of a layer once each and compares them: its plain
    SGD and learning rate of 1 are not a training setup; in a loop they are, and so they
    are in a script that is not a test (a tutorial's one-step demo)."""
    once = """
import torch
import torch.nn as nn

a, b = nn.BatchNorm1d(8), nn.BatchNorm1d(8)
opt_a = torch.optim.SGD(a.parameters(), lr=1.0)
opt_b = torch.optim.SGD(b.parameters(), lr=1.0)
x = torch.randn(16, 8)
a(x).sum().backward()
b(x).sum().backward()
opt_a.step()
opt_b.step()
"""
    assert codes(lint_tree({"test_norms.py": once})) == []
    looped = once.replace("x = torch.randn(16, 8)\n", "for x in torch.load('x.pt'):\n    ").replace(
        "\na(x)", "\n    a(x)").replace("\nb(x)", "\n    b(x)").replace(
        "\nopt_a.step()", "\n    opt_a.step()").replace("\nopt_b.step()", "\n    opt_b.step()")
    assert {c for c, _, _ in codes(lint_tree({"test_fit.py": looped}))} >= {"CNN206"}
    assert {c for c, _, _ in codes(lint_tree({"demo.py": once}))} >= {"CNN206"}


def test_networks_built_in_a_registry_train_only_when_the_one_picked_trains(
        lint_tree: Lint) -> None:
    """A registry of networks built already, picked by a name not known: evaluating the
    one picked (weights loaded, eval mode) trains none of them; training it trains each
    (whichever the name picks, it trains with that optimizer)."""
    nets = """
import torch.nn as nn


class Tall(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 16, 3, padding=1), nn.PReLU()]
        for _ in range(8):
            layers += [nn.Conv2d(16, 16, 3, padding=1), nn.PReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(16, 3, 3, padding=1))

    def forward(self, x):
        return self.body(x)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(3, 3, 5, padding=2)

    def forward(self, x):
        return self.body(x)
"""
    script = """
import torch
from nets import Tall, Small

registry = {"tall": Tall(), "small": Small()}


def render(name, x):
    net = registry[name]
    net.load_state_dict(torch.load(name + ".pt"))
    net.eval()
    with torch.no_grad():
        return net(x)


small = Small()
opt = torch.optim.Adam(small.parameters(), lr=1e-3)
for epoch in range(3):
    for x in torch.load("data.pt"):
        opt.zero_grad()
        small(x).pow(2).mean().backward()
        opt.step()
render(open("name.txt").read(), torch.rand(1, 3, 8, 8))
"""
    evaluated = lint_tree({"nets.py": nets, "run.py": script}, select=["CNN107"])
    assert [f for f in evaluated.findings if f.severity == "warning"] == []
    trained = script.replace("small = Small()", 'small = registry[open("name.txt").read()]')
    found = lint_tree({"nets.py": nets, "run.py": trained}, select=["CNN107"]).findings
    assert [(f.symbol, f.severity) for f in found] == [("Tall", "warning")]
    assert "no weight decay (`Adam` at run.py:16)" in found[0].message
    # Picked by a network's constructor (a LightningModule's `self.model`) by an option's
    # default: trained with it, and the option may name the other.
    held = trained.replace('small = registry[open("name.txt").read()]', """

class Holder(torch.nn.Module):
    def __init__(self, name):
        super().__init__()
        self.model = registry[name]

    def forward(self, x):
        return self.model(x)


parser = argparse.ArgumentParser()
parser.add_argument("--arch", default="small")
small = Holder(parser.parse_args().arch)""").replace(
        "import torch\n", "import argparse\nimport torch\n", 1)
    found = lint_tree({"nets.py": nets, "run.py": held}, select=["CNN107"]).findings
    assert [(f.symbol, f.severity) for f in found] == [("Tall", "warning")]


def test_a_name_imported_inside_a_training_function_is_not_read_as_code(
        lint_tree: Lint) -> None:
    """`from hooks import call` inside a function that steps an optimizer: the imported
    names are not walked as lowered code (`("call", None)` once read as a call with no
    callee: an internal error that dropped every run of the project)."""
    helper = """
import torch


def run_hooks(net):
    from some_lib.hooks import call, name, attr
    call.fire(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    opt.step()
"""
    result = lint_tree({"helpers.py": helper})
    assert result.errors == []


def test_a_library_loop_run_without_its_optional_validation_names_the_call(
        lint_tree: Lint) -> None:
    """A trainer class validates only when its caller passes held-out data; a script calls
    it without: the loop trains that run with no validation, and the finding at the loop
    names the call (also as a related place, so linting the script alone reports it)."""
    trainer = """
import torch
from torch.utils.data import DataLoader


class Fitter:
    def __init__(self, net):
        self.net = net
        self.opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def fit(self, xs, xs_val=None, epochs=1):
        loader = DataLoader(xs, batch_size=32)
        for epoch in range(epochs):
            for x in loader:
                self.opt.zero_grad()
                self.net(x).pow(2).mean().backward()
                self.opt.step()
            if xs_val is not None:
                self.net.eval()
                with torch.no_grad():
                    score = self.net(xs_val).pow(2).mean()
"""
    script = """
import torch
from torch import nn
from fitter import Fitter

net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
Fitter(net).fit(torch.load("train.pt"), EXTRA)
"""
    without = lint_tree({"fitter.py": trainer,
                         "main.py": script.replace("EXTRA", "epochs=10")}, select=["CNN202"])
    [found] = without.findings
    assert (found.path, found.line) == ("fitter.py", 12)
    assert found.message.endswith(", as run from main.py:6")
    assert [(r.path, r.line) for r in found.related] == [("main.py", 6)]
    rules = load_rules()
    alone = lint(["main.py"], build_settings(["main.py"], Flags(select=["CNN202"]), rules),
                 rules)
    assert [f.message for f in alone.findings] == [found.message]
    given = lint_tree({"fitter.py": trainer, "main.py": script.replace(
        "EXTRA", 'torch.load("val.pt"), epochs=10')}, select=["CNN202"])
    assert given.findings == []


def test_one_sgd_call_compared_over_settings_has_no_one_momentum(lint_tree: Lint) -> None:
    """A loop builds the same `SGD(params, **kw)` call once per setting, some with momentum:
    the line has no one momentum to judge. Alone, the plain setting is judged."""
    script = """
import torch
import torch.nn as nn

data = torch.load("data.pt")
SETTINGS

def fit(net, opt):
    for x, y in data:
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()

for kw in settings:
    net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    fit(net, torch.optim.SGD(net.parameters(), **kw))
"""
    compared = 'settings = [{"lr": 0.05}, {"lr": 0.05, "momentum": 0.9}]'
    assert [c for c, _, _ in codes(lint_tree({"compare.py": script.replace(
        "SETTINGS", compared)}))].count("CNN206") == 0
    alone = 'settings = [{"lr": 0.05}, {"lr": 0.01}]'
    assert [c for c, _, _ in codes(lint_tree({"compare.py": script.replace(
        "SETTINGS", alone)}))].count("CNN206") == 1


@pytest.mark.parametrize("sizes, expected", [
    ((8, 4), ["4 to 8 (one of two values)"]),  # both phases small
    ((32, 4), []),  # one phase is large enough: which one runs is not known
])
def test_a_batch_size_set_either_way_is_judged_by_its_largest_value(
        lint_tree: Lint, sizes: tuple[int, int], expected: list[str]) -> None:
    """A frozen phase's loader at one batch size and an unfrozen one's at another, picked by
    an `if` the reader cannot decide: a BatchNorm model is flagged when both are small."""
    script = f"""
import sys
import torch
from torch.utils.data import DataLoader
from nets import Deep

model = Deep()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
data = torch.load("train.pt")
if sys.argv[1] == "freeze":
    loader = DataLoader(data, batch_size={sizes[0]})
else:
    loader = DataLoader(data, batch_size={sizes[1]})
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    found = [f.message.split("batch size ")[-1] for f in
             lint_tree({"nets.py": DEEP, "train.py": script}).findings if f.code == "CNN201"]
    assert found == expected


def test_a_helper_that_calls_itself_on_tensors_is_followed(lint_tree: Lint) -> None:
    """A loop calls a project helper that recurses on slices of a tensor (decoding a
    prediction into text): the recursion's end depends on tensor values, so its deepest
    calls are cut, but the outer calls read the same body; the loop is still seen whole."""
    script = """
import torch
import torch.nn as nn


class Decoder:
    def decode(self, t):
        if t.numel() == 1:
            return [int(t)]
        return [self.decode(t[i:i + 1]) for i in range(t.numel())]


decoder = Decoder()
model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(50):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        out = model(x)
        nn.functional.cross_entropy(out, y).backward()
        opt.step()
        print(decoder.decode(out.argmax(1)))
"""
    found = {c for c, _, _ in codes(lint_tree({"train.py": script}))}
    assert {"CNN202", "CNN203", "CNN209"} <= found, found


# A script whose `splits(DEPTH)` (2 ** DEPTH calls) runs out of the reader's budget for a
# large DEPTH: before its training loop, or after an epoch's steps.
_SPLITTING = """
import torch
from nets import Deep


def splits(n):
    if n == 0:
        return [0]
    return splits(n - 1) + splits(n - 1)


model = Deep()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
{before}
for epoch in range(10):
    for x, y in torch.load("train.pt"):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
{after}
"""


def test_a_script_too_complex_to_read_to_the_end_leaves_every_network_possibly_trained(
        lint_tree: Lint) -> None:
    """A script computes something before its loop that exhausts the reader's budget: the
    pass stops before it sees the optimizer step, so it might train any network. No network
    is then said to lack a training script; `--verbose` says which script was cut short."""
    script = _SPLITTING.format(before="sizes = splits(DEPTH)", after="")
    read = lint_tree({"nets.py": DEEP, "train.py": script.replace("DEPTH", "2")})
    assert [f.severity for f in read.findings if f.code == "CNN107"] == ["warning"]
    cut = lint_tree({"nets.py": DEEP, "train.py": script.replace("DEPTH", "18")})
    assert [f for f in cut.findings if f.code == "CNN107"] == []
    assert any("train.py: its code could not be read to the end (the script, with the code "
               "it calls, is too complex to read)" in note for note in cut.context_notes)


def test_a_factory_picked_by_an_if_on_an_option_may_be_what_the_script_trains(
        lint_tree: Lint) -> None:
    """`make = make_deep` in one branch of an `if` on `--net`, `make = make_small` in the
    default one: the command line may pick either, so the deep network has a training
    script (with weight decay) and is not said to have none."""
    nets = plain_net("Deep", 10) + "\n\ndef make_deep():\n    return Deep()\n\n\n" \
        "def make_small():\n    return nn.Linear(8, 10)\n"
    script = """
import argparse
import torch
from nets import make_deep, make_small

parser = argparse.ArgumentParser()
parser.add_argument("--net", default="small")
args = parser.parse_args()
if args.net == "deep":
    make = make_deep
else:
    make = make_small
model = make()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
""" + LOOP
    assert [f for f in lint_tree({"nets.py": nets, "train.py": script}).findings
            if f.code == "CNN107"] == []
    # A builder that builds the class another way (wider) does not train its default build.
    wider = ("import torch.nn as nn\n\nclass Deep(nn.Module):\n"
             "    def __init__(self, width=8):\n        super().__init__()\n"
             "        self.body = nn.Sequential(*[nn.Conv2d(width, width, 3, padding=1)\n"
             "                                    for _ in range(10)])\n\n"
             "    def forward(self, x):\n        return self.body(x)\n\n\n"
             "def make_deep():\n    return Deep(16)\n\n\n"
             "def make_small():\n    return nn.Linear(8, 10)\n")
    assert [f.symbol for f in lint_tree({"nets.py": wider, "train.py": script}).findings
            if f.code == "CNN107"] == ["Deep"]


def test_a_wrapper_that_builds_a_trunk_for_its_layers_in_a_method_trains_that_trunk(
        lint_tree: Lint) -> None:
    """A detector's `create()` (called by the script after construction) builds a deep
    trunk with a factory and keeps only its layers: the script trains those, so the trunk
    is not said to have no training script."""
    nets = plain_net("Deep", 10) + '''

def deep_trunk():
    return Deep()


class Detector(nn.Module):
    def __init__(self):
        super().__init__()

    def create(self):
        trunk = deep_trunk()
        self.base = trunk.body
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.base(x))
'''
    script = """
import torch
from nets import Detector

model = Detector()
model.create()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
""" + LOOP
    assert [f.message for f in lint_tree({"nets.py": nets, "train.py": script}).findings
            if f.code == "CNN107"] == []


def test_weights_taken_from_a_dict_of_named_parameters_are_the_model_s(lint_tree: Lint) -> None:
    """`for key, value in dict(model.named_parameters()).items()` building one param group
    per weight: the optimizer holds the model's weights, so the loop trains it (and its
    groups' zero decay is known)."""
    script = """
import torch
from nets import Deep

model = Deep()
params = []
for key, value in dict(model.named_parameters()).items():
    if value.requires_grad:
        params += [{"params": [value], "lr": 0.01, "weight_decay": 0.0}]
optimizer = torch.optim.SGD(params, momentum=0.9)
for epoch in range(40):
    for x, y in torch.load("train.pt"):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    found = {f.code: f.severity for f in lint_tree({"nets.py": DEEP, "train.py": script}).findings}
    assert found.get("CNN107") == "warning" and "CNN202" in found, found


@pytest.mark.parametrize("call, silent, library_model", [
    ("sampler(inputs=x, network=model)", True, False),
    ("sampler(x, model)", True, False),
    ("sampler(inputs=x, network=model)", True, True),  # the library's own network
    ("sampler(x)", False, False),  # a computation on the batch alone: no evaluation
])
def test_a_library_call_handed_the_model_in_the_validation_loop_may_evaluate_it(
        lint_tree: Lint, call: str, silent: bool, library_model: bool) -> None:
    """A generative tutorial validates through a library inferer that runs the network
    itself (`inferer(inputs=x, diffusion_model=model)`): the reader cannot see that
    forward, so it cannot say the loop never evaluates."""
    script = f"""
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from genlib import Sampler

sampler = Sampler()
model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
train_loader = DataLoader(torch.load("train.pt"), batch_size=8)
val_loader = DataLoader(torch.load("val.pt"), batch_size=8)
for epoch in range(200):
    model.train()
    for x in train_loader:
        optimizer.zero_grad()
        F.mse_loss(model(x), x).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x in val_loader:
            val_loss = F.mse_loss({call}, x)
"""
    if library_model:
        script = script.replace("import Sampler", "import Denoiser, Sampler")
        script = script.replace(
            "torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))",
            "Denoiser(channels=4)")
    found = [c for c, _, _ in codes(lint_tree({"train.py": script})) if c == "CNN202"]
    assert found == ([] if silent else ["CNN202"])


def test_a_generic_factory_the_registry_entries_call_is_trained_with_them(
        lint_tree: Lint) -> None:
    """`mixer(depth)` returns an nn.Sequential; the registry's entries call it
    (`mixer8 = lambda: mixer(8)` written as functions), and the script picks an entry by
    `--model` (defaulting to another one): the generic factory is built inside a network
    the script may train, so it is not said to have no training script."""
    nets = """
import torch.nn as nn

def mixer(depth=8):
    return nn.Sequential(nn.Conv2d(3, 16, 1),
                         *[nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.GELU())
                           for _ in range(depth)],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

def mixer8():
    return mixer(depth=8)

def tiny():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))

registry = {"tiny": tiny, "mixer8": mixer8}
"""
    script = """
import argparse
import torch
from nets import registry

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="tiny")
args = parser.parse_args()
model = registry[args.model]()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for epoch in range(3):
    for x, y in torch.load("train.pt"):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    found = lint_tree({"nets.py": nets, "train.py": script}).findings
    assert [f for f in found if f.code == "CNN107"] == []


def test_a_trainer_picked_by_an_option_is_read_whichever_it_is(lint_tree: Lint) -> None:
    """`trainer = TrainerA(model, ...)` or `TrainerB(model, ...)` on either side of an `if`
    on a setting, then `trainer.train()`: each trainer's `train` is read (either may run),
    so the model has a training script, and what the loops lack is judged."""
    trainers = """
import torch


class TrainerA:
    def __init__(self, model, loader):
        self.model, self.loader = model, loader
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, weight_decay=5e-4)

    def train(self):
        for epoch in range(40):
            for x, y in self.loader:
                self.optimizer.zero_grad()
                torch.nn.functional.cross_entropy(self.model(x), y).backward()
                self.optimizer.step()


class TrainerB(TrainerA):
    def train(self):
        for epoch in range(40):
            for x, y in self.loader:
                self.optimizer.zero_grad()
                torch.nn.functional.mse_loss(self.model(x), y).backward()
                self.optimizer.step()
"""
    script = """
import sys
import torch
from nets import Deep
from trainers import TrainerA, TrainerB

model = Deep()
loader = torch.load("train.pt")
if sys.argv[1] == "a":
    trainer = TrainerA(model, loader)
else:
    trainer = TrainerB(model, loader)
trainer.train()
"""
    found = {c for c, _, _ in codes(lint_tree({"nets.py": plain_net("Deep", 10),
                                                "trainers.py": trainers, "train.py": script}))}
    assert "CNN107" not in found and "CNN202" in found, found


@pytest.mark.parametrize("step, flagged", [
    ("transforms.Lambda(flip_sometimes)", False),  # the project's own random flip
    ("transforms.Lambda(lambda im: flip_sometimes(im))", False),
    ("transforms.Resize(40)", True),  # a known transform that augments nothing
])
def test_a_lambda_transform_runs_code_that_may_augment(
        lint_tree: Lint, step: str, flagged: bool) -> None:
    script = f"""
import random
import torch
import torchvision
from torchvision import transforms


def flip_sometimes(image):
    return image.transpose(0) if random.random() < 0.5 else image


data = torchvision.datasets.CIFAR10("data", train=True,
                                    transform=transforms.Compose([{step}, transforms.ToTensor()]))
loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(40):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    found = [c for c, _, _ in codes(lint_tree({"train.py": script})) if c == "CNN212"]
    assert bool(found) is flagged


def test_sgd_minimising_a_summed_loss_is_not_judged_too_slow(lint_tree: Lint) -> None:
    """A loss summed over every pixel of a batch (the FCN recipe: lr 1e-10 on an
    unnormalised loss) moves SGD's weights by the rate times millions of terms: the rate
    alone says nothing. Adaptive optimizers' steps do not grow with the loss's scale."""
    script = """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 21, 1))
LOSS
opt = OPT
for epoch in range(3):
    for img, mask in torch.load("pairs.pt"):
        opt.zero_grad()
        crit(net(img), mask).backward()
        opt.step()
"""
    sgd = "torch.optim.SGD(net.parameters(), lr=1e-10, momentum=0.99)"
    adam = "torch.optim.Adam(net.parameters(), lr=1e-10)"
    # A project's wrapper passing the legacy flag on by position, as old FCN code does.
    wrapped = ("class PixelLoss(nn.Module):\n"
               "    def __init__(self, weight=None, size_average=True):\n"
               "        super().__init__()\n"
               "        self.nll = nn.NLLLoss2d(weight, size_average)\n"
               "    def forward(self, x, y):\n"
               "        return self.nll(torch.log_softmax(x, 1), y)\n"
               "crit = PixelLoss(size_average=False)")
    cases = [("crit = nn.CrossEntropyLoss()", sgd, ["CNN207"]),
             ("crit = nn.CrossEntropyLoss(reduction='sum')", sgd, []),
             ("crit = nn.CrossEntropyLoss(reduction='sum')", adam, ["CNN207"]),
             (wrapped, sgd, []),
             (wrapped.replace("size_average=False)", "size_average=True)"), sgd, ["CNN207"])]
    for loss, opt, expected in cases:
        result = lint_tree({"train.py": script.replace("LOSS", loss).replace("OPT", opt)})
        assert [c for c, _, _ in codes(result) if c == "CNN207"] == expected, (loss, opt)
    functional = script.replace("LOSS", "import torch.nn.functional as F").replace(
        "OPT", sgd).replace("crit(net(img), mask)", "F.cross_entropy(net(img), mask, REDUCE)")
    for reduce, expected in (("reduction='mean'", ["CNN207"]), ("reduction='sum'", []),
                             ("size_average=False", [])):
        result = lint_tree({"train.py": functional.replace("REDUCE", reduce)})
        assert [c for c, _, _ in codes(result) if c == "CNN207"] == expected, reduce


def test_a_backbone_inside_a_network_handed_off_unread_may_be_trained(lint_tree: Lint) -> None:
    """The script hands its network to a trainer the reader cannot follow, and the network
    picks its backbone by an option the reader does not know: any network of the project
    may be that backbone, so none is said to have no training script (CNN107). A network
    handed off that was read in full holds nothing unseen."""
    backbone = plain_net("PlainNet", 12)
    wrapper = """
import torch.nn as nn
import torchvision
from backbone import PlainNet


class Wrapper(nn.Module):
    def __init__(self, n_cls, arch):
        super().__init__()
        if arch == "plain":
            self.base = PlainNet()
        else:
            self.base = BUILD
        self.cls = nn.Conv2d(8, n_cls, 1)

    def forward(self, x):
        return self.cls(self.base(x))
"""
    script = """
import argparse
import torch
from wrapper import Wrapper
from engine import Runner

parser = argparse.ArgumentParser()
parser.add_argument("arch")
args = parser.parse_args()
model = Wrapper(10, arch=args.arch)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
Runner(model, optimizer).run(epochs=30)
"""
    other = plain_net("OtherNet", 12)
    for build, expected in (("getattr(torchvision.models, arch)()", []),
                            ("nn.Conv2d(8, 8, 1)", ["CNN107"])):
        result = lint_tree({"backbone.py": backbone, "other.py": other,
                            "wrapper.py": wrapper.replace("BUILD", build), "train.py": script})
        found = sorted({f.path for f in result.findings if f.code == "CNN107"})
        assert found == (["other.py"] if expected else []), build


def test_an_optimizer_over_weights_not_followed_handed_to_unknown_code_may_train_any_network(
        lint_tree: Lint) -> None:
    """The script builds its model where the reader cannot follow (a module it cannot
    resolve), an optimizer over it, and hands both to a trainer picked from a registry it
    cannot read: no step is seen, but any network may be the one trained, so none is said
    to have no training script (CNN107), and --verbose says why. A library's network, or an
    optimizer over a tensor being optimised, trains no network of the project."""
    script = """
import torch
from trainers import TRAINERS
BUILD
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
trainer = TRAINERS["default"](model, optimizer)
trainer.fit(epochs=20)
"""
    unknown = "from zoo import make_model\nmodel = make_model('plain')"
    library = "import timm\nmodel = timm.create_model('resnet18')"
    for build, expected in ((unknown, []), (library, ["CNN107"])):
        result = lint_tree({"nets.py": plain_net("PlainNet", 12),
                            "train.py": script.replace("BUILD", build)})
        assert sorted({f.code for f in result.findings if f.code == "CNN107"}) == expected, build
        said = [n for n in result.context_notes if "hands them to code" in n]
        assert said == ([] if expected else [
            "train.py: builds an optimizer over weights that could not be followed to a model "
            "and hands them to code that could not be followed: any network may be what it "
            "trains, so none is said to have no training script"]), build


def test_a_loss_named_by_its_module_name_keeps_the_evaluation_pass_an_evaluation(
        lint_tree: Lint) -> None:
    """One epoch function serves training and evaluation, stepping only `if net.training`,
    and names its loss with torch's `_get_name()`: that call is known (the class's name),
    so after `net.eval()` the evaluation loader's small batch trains nothing (CNN201 is
    about the training loader alone)."""
    epoch = """
def one_pass(loader, net, loss_fn, opt):
    for xb, yb in loader:
        try:
            tag = loss_fn._get_name()
        except AttributeError:
            tag = "loss"
        loss = loss_fn(net(xb), yb)
        if net.training:
            opt.zero_grad()
            loss.backward()
            opt.step()
"""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from epoch import one_pass


class PixelLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.bce = nn.BCEWithLogitsLoss()

    def forward(self, out, target):
        return self.bce(out, target)


net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                    nn.Conv2d(8, 1, 1))
fit = DataLoader(torch.load("fit.pt"), batch_size=TRAIN_BATCH, shuffle=True)
held = DataLoader(torch.load("held.pt"), batch_size=4)
loss_fn = PixelLoss()
opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
for ep in range(10):
    net.train()
    one_pass(fit, net, loss_fn, opt)
    with torch.no_grad():
        net.eval()
        one_pass(held, net, loss_fn, opt)
"""
    for batch, expected in (("64", []), ("2", [("CNN201", "train.py", 18)])):
        result = lint_tree({"epoch.py": epoch, "train.py": script.replace("TRAIN_BATCH", batch)})
        assert [f for f in codes(result) if f[0] == "CNN201"] == expected, batch


def test_a_functional_loss_given_its_tensors_by_name_is_the_loss(lint_tree: Lint) -> None:
    """`F.cross_entropy(input=out, target=y)` is the same loss as by position: the loop's
    backward is training, and what the loop lacks is judged."""
    script = """
import torch
import torch.nn as nn
import torch.nn.functional as F

net = nn.Linear(10, 3)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(100):
    for xs, ys in torch.load("batches.pt"):
        opt.zero_grad()
        loss = F.cross_entropy(CALL)
        loss.backward()
        opt.step()
"""
    for call in ("net(xs), ys", "input=net(xs), target=ys", "net(xs), target=ys"):
        result = lint_tree({"train.py": script.replace("CALL", call)})
        assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN209"], call


def test_a_loop_over_data_not_followed_that_trains_nothing_may_evaluate(
        lint_tree: Lint) -> None:
    """A helper runs the model over a loader from an import the reader cannot resolve and
    trains nothing: that data may be held out, so no-validation is silent and --verbose
    says why. Training over such a loader with no other pass is still judged."""
    script = """
import torch
import torch.nn as nn
from somewhere.loaders import make_loader

crit = nn.CrossEntropyLoss()
fit_loader = make_loader("train")
held_loader = make_loader("held")


def fit(loader, model, opt):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        crit(model(xb), yb).backward()
        opt.step()


def score(loader, model):
    return sum(crit(model(xb), yb).item() for xb, yb in loader)


def score_loop(loader, model):
    total = 0.0
    for xb, yb in loader:
        total += crit(model(xb), yb).item()
    return total


net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
for epoch in range(30):
    fit(fit_loader, net, opt)
    CHECK
"""
    for check, expected in (("score_loop(held_loader, net)", []),
                            ("score(held_loader, net)", []),
                            ("print(epoch)", ["CNN202"])):
        result = lint_tree({"train.py": script.replace("CHECK", check)})
        assert [c for c, _, _ in codes(result) if c == "CNN202"] == expected, check
        said = [n for n in result.notes() if "in a loop that trains nothing" in n]
        assert bool(said) == (not expected), check
    # A loop over a sequence's steps (tensors iterated: not followed) that adds up the loss
    # backpropagated after it trains: nothing there evaluates.
    sequence = """
import torch
import torch.nn as nn

cell = nn.RNNCell(4, 4)
crit = nn.MSELoss()
opt = torch.optim.Adam(cell.parameters(), lr=1e-3)
inputs, targets = torch.load("sequence.pt")
for epoch in range(100):
    opt.zero_grad()
    hidden, loss = torch.zeros(1, 4), 0
    for step_in, step_target in zip(inputs, targets):
        hidden = cell(step_in, hidden)
        loss = loss + crit(hidden, step_target)
    loss.backward()
    opt.step()
"""
    result = lint_tree({"train.py": sequence})
    assert [c for c, _, _ in codes(result) if c == "CNN202"] == ["CNN202"]
    assert not [n for n in result.notes() if "in a loop that trains nothing" in n]
    # Predictions on files after the training loop are no evaluation during training: no
    # note says they might be (b193: a note said no-validation stayed silent beside its
    # finding).
    result = lint_tree({"train.py": script.replace("CHECK", "pass") + """
net.eval()
for name in os.listdir("test"):
    print(net(read_image(name)))
""".replace("import torch\n", "import os\nimport torch\n"
           "from torchvision.io import read_image\n", 1)})
    assert [c for c, _, _ in codes(result) if c == "CNN202"] == ["CNN202"]
    assert not [n for n in result.notes() if "in a loop that trains nothing" in n]


def test_a_model_returned_by_its_training_function_keeps_its_class_name(
        lint_tree: Lint) -> None:
    """`def main(): model = Net(); ...train...; return model` is no factory: messages name
    the class, not the function that trains it. `def small(): return Net()` names it."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x)).mean((1, 2, 3))


def small():
    return Net()


def main(epochs=3):
    model = BUILD
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(epochs):
        for x, y in DataLoader(torch.load("pairs.pt"), batch_size=2):
            opt.zero_grad()
            (model(x) - y).pow(2).mean().backward()
            opt.step()
    return model


main()
"""
    for build, name in (("Net()", "`Net`"), ("small()", "`small`")):
        result = lint_tree({"train.py": script.replace("BUILD", build)})
        found = [f.message for f in result.findings if f.code == "CNN201"]
        assert len(found) == 1 and found[0].startswith(name + " ("), (build, found)


def test_a_loss_whose_weight_a_library_base_class_sets_is_not_known_weighted(
        lint_tree: Lint) -> None:
    """A `_WeightedLoss` subclass passes its `weight` (None by default) to torch's base
    class, and its forward reads `self.weight`: whether the classes are weighted is not
    known, so CNN211 stays silent. Given a weight in the project's own code, it is."""
    losses = """
import torch
import torch.nn.functional as F
from torch.nn.modules.loss import _WeightedLoss


class PixelCE(_WeightedLoss):
    def __init__(self, weight=None):
        super().__init__(weight)

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, weight=WEIGHT)
"""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from losses import PixelCE

net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
loss_fn = PixelCE()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
train_loader = DataLoader(torch.load("train.pt"), batch_size=16, shuffle=True)
for epoch in range(3):
    for xb, yb in train_loader:
        opt.zero_grad()
        loss_fn(net(xb), yb).backward()
        opt.step()
"""
    for weight, expected in (("self.weight", []), ("torch.tensor([1.0, 9.0])", ["CNN211"])):
        result = lint_tree({"losses.py": losses.replace("WEIGHT", weight), "train.py": script})
        assert [c for c, _, _ in codes(result) if c == "CNN211"] == expected, weight


def test_backward_on_a_loss_the_reader_lost_track_of_is_still_backward(lint_tree: Lint) -> None:
    """Batches from a library iterator the reader cannot follow make the loss unknown, but
    `loss.backward()` is autograd's backward all the same: it cannot evaluate, stop or
    schedule, so it does not keep the rules about what the loop lacks silent."""
    script = """
import torch
import torch.nn as nn
from somelib import loaders


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 1)

    def forward(self, x):
        return self.fc(x)


net = Tiny()
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
crit = nn.BCEWithLogitsLoss()
train_it, val_it = loaders(64)


def fit(model, batches, optimizer, criterion):
    model.train()
    for b in batches:
        optimizer.zero_grad()
        loss = criterion(model(b.x).squeeze(1), b.y)
        loss.backward()
        optimizer.step()


for ep in range(50):
    fit(net, train_it, opt, crit)
"""
    result = lint_tree({"train.py": script})
    assert [c for c, _, _ in codes(result)] == ["CNN202", "CNN203", "CNN209"]
    assert not [n for n in result.notes() if "loss.backward" in n]


def test_arguments_a_mapping_not_known_may_hold_are_not_taken_for_defaults(
        lint_tree: Lint) -> None:
    """`SGD(params, **cfg.optim)` with a mapping the reader cannot read may pass momentum,
    and `DataLoader(ds, **loader_args)` a batch size: neither is the torch default, so
    CNN206 and CNN201 stay silent. The same calls with the mapping written out are judged."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from settings import OPTIM, LOADER

net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                    nn.LazyLinear(2))
opt = torch.optim.SGD(net.parameters(), **OPTIM)
train_loader = DataLoader(torch.load("train.pt"), shuffle=True, **LOADER)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    unknown = {"train.py": script}
    written = {"train.py": script.replace("from settings import OPTIM, LOADER",
                                          "OPTIM = {'lr': 0.1}\nLOADER = {'num_workers': 2}")}
    for files, expected in ((unknown, []), (written, ["CNN201", "CNN206"])):
        result = lint_tree(files)
        assert sorted(c for c, _, _ in codes(result) if c in ("CNN201", "CNN206")) == expected


def test_noise_added_in_place_to_each_batch_augments_it(lint_tree: Lint) -> None:
    """`x.add_(noise)` changes the batch the model then sees, as `x = x + noise` does:
    fresh noise on every batch is augmentation (CNN212), in a loop and in a Lightning
    module's training step alike, also one that feeds it to a part of the module
    (`self.f(imgs)`). Without the noise the pipeline is judged."""
    loop = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

train_set = datasets.MNIST("data", train=True, transform=transforms.ToTensor())
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(2):
    for x, y in train_loader:
        NOISE
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    lightning = """
import torch
import torch.nn as nn
import pytorch_lightning as pl
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Scorer(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))

    def forward(self, x):
        return self.f(x)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-4)

    def training_step(self, batch, idx):
        imgs, _ = batch
        NOISE
        return self(imgs).mean()


train_set = datasets.MNIST("data", train=True, transform=transforms.ToTensor())
pl.Trainer(max_epochs=2).fit(Scorer(), DataLoader(train_set, batch_size=64, shuffle=True))
"""
    part = lightning.replace("return self(imgs).mean()", "return self.f(imgs).mean()")
    for script, noise in ((loop, "x.add_(0.05 * torch.randn_like(x))"),
                          (lightning, "imgs = imgs + 0.05 * torch.randn_like(imgs)"),
                          (lightning, "imgs.add_(0.05 * torch.randn_like(imgs))"),
                          (part, "imgs = imgs + 0.05 * torch.randn_like(imgs)")):
        for line, expected in ((noise, []), ("pass", ["CNN212"])):
            result = lint_tree({"train.py": script.replace("NOISE", line)})
            assert [c for c, _, _ in codes(result) if c == "CNN212"] == expected, line


def test_an_evaluation_called_inside_a_formatted_string_is_seen(lint_tree: Lint) -> None:
    """`print(f"{score(net, held_loader):.2f}")`: the call runs, formatted or not, so the
    loop evaluates every epoch (no CNN202)."""
    script = """
import torch
import torch.nn as nn


def score(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)


fit_loader = torch.utils.data.DataLoader(torch.load("fit.pt"), batch_size=8, shuffle=True)
held_loader = torch.utils.data.DataLoader(torch.load("held.pt"), batch_size=8)
net = nn.Linear(20, 2)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(12):
    net.train()
    for x, y in fit_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    REPORT
"""
    for report, expected in (("print(f'held-out: {score(net, held_loader):.2f}')", []),
                             ("print(f'held-out: {score(net, held_loader)}')", []),
                             ("print(f'epoch {epoch}' f' held-out {score(net, held_loader):.1f}')",
                              []),
                             ("print(f'epoch {epoch:03d}')", ["CNN202"])):
        result = lint_tree({"train.py": script.replace("REPORT", report)})
        assert [c for c, _, _ in codes(result) if c == "CNN202"] == expected, report


def test_stepping_an_optimizer_to_plot_its_schedule_trains_nothing(lint_tree: Lint) -> None:
    """A script steps a dummy optimizer only to read the learning rate its scheduler sets:
    no gradient is computed and no model runs, so it is no training run (no CNN205, CNN203
    or CNN206). The same loop computing a loss is one."""
    script = """
import torch
from torch.optim.lr_scheduler import LambdaLR

layer = torch.nn.Conv2d(3, 8, 3)
opt = torch.optim.SGD(layer.parameters(), lr=0.01)
total = 5000
sched = LambdaLR(opt, lambda it: (1 - it / total) ** 0.9)
curve = []
for _ in range(total):
    curve.append(sched.get_last_lr()[0])
    LOSS
    opt.step()
    sched.step()
"""
    for loss, expected in (("pass", []),
                           ("layer(torch.randn(1, 3, 8, 8)).sum().backward()",
                            ["CNN205", "CNN206"])):
        result = lint_tree({"plot_lr.py": script.replace("LOSS", loss)})
        assert sorted({c for c, _, _ in codes(result)} & {"CNN203", "CNN205", "CNN206"}) \
            == expected, loss


def test_a_scheduler_from_code_not_followed_steps_no_network(lint_tree: Lint) -> None:
    """The same plot with its scheduler from a package the reader cannot read, handed only
    the optimizer and a count: calling it cannot run a network it was not given, so the loop
    still trains nothing (no CNN206). Handed the network too, it might: the loop is training
    as far as the reader can tell."""
    script = """
import torch
from schedules import warm_cosine

def test_curve():
    probe = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(probe.parameters(), lr=0.1)
    sched = warm_cosine(ARGS)
    rates = []
    for _ in range(30):
        opt.step()
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
    assert rates[-1] < 0.1
"""
    for args, expected in (("opt, 30", []), ("opt, 30, probe", ["CNN206"])):
        result = lint_tree({"tests/test_sched.py": script.replace("ARGS", args)})
        assert sorted({c for c, _, _ in codes(result)}) == expected, args


def test_objects_hydra_builds_from_a_config_may_do_anything(lint_tree: Lint) -> None:
    """`hydra.utils.instantiate(cfg.scheduler, optimizer=opt)` and an early-stopping object
    built the same way, stepped each epoch: hydra builds whatever the configuration names, so
    the loop may have a schedule and may stop on a validation score (no CNN209, CNN202).
    Without them, the loop is judged."""
    script = """
import hydra
import torch
import torch.nn as nn


@hydra.main(config_path="conf", config_name="cfg")
def main(cfg):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = hydra.utils.instantiate(cfg.scheduler, optimizer=opt)
    stopper = hydra.utils.instantiate(cfg.stopper)
    for epoch in range(100):
        for x, y in torch.load("train.pt"):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        STEPS


main()
"""
    built = lint_tree({"train.py": script.replace(
        "STEPS", "sched.step()\n        if stopper.step(net):\n            break")})
    assert codes(built) == []
    alone = lint_tree({"train.py": script.replace("STEPS", "pass")})
    assert {c for c, _, _ in codes(alone)} == {"CNN202", "CNN203", "CNN209"}


@pytest.mark.parametrize("run", [
    'subprocess.run(["python", "evaluate.py", "--ckpt", f"ep{epoch}.pt"])',
    'os.system(f"python evaluate.py --ckpt ep{epoch}.pt")',
])
def test_an_evaluation_script_run_on_each_checkpoint_may_validate(
        lint_tree: Lint, run: str) -> None:
    """Each epoch's checkpoint handed to another script through `subprocess` or
    `os.system`: that script may evaluate it, so no-validation stays silent; a loop that
    only saves, or runs a command known to run no script (`mkdir`), is judged."""
    script = """
import os
import subprocess
import torch
import torch.nn as nn

net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
for epoch in range(100):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    torch.save(net.state_dict(), f"ep{epoch}.pt")
    RUN
"""
    assert codes(lint_tree({"train.py": script.replace("RUN", run)}), "CNN202") == []
    # A loop that only saves, or runs a command known to run no script, is judged.
    for chore in ("pass", 'os.system("mkdir -p runs")', 'subprocess.run(["ls", "runs"])'):
        assert [c for c, _, _ in codes(lint_tree({"train.py": script.replace("RUN", chore)}),
                                       "CNN202")] == ["CNN202"], chore


def test_nothing_after_a_scripts_exit_runs(lint_tree: Lint) -> None:
    """A script that evaluates a model, then calls `exit()`, and keeps an old training loop
    below it: the loop never runs, so nothing is said about it."""
    script = """
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
model.load_state_dict(torch.load("model.pt"))
print(model(torch.load("x.pt")))
exit()

opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(100):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
"""
    result = lint_tree({"check.py": script})
    assert result.runs == [] and codes(result) == []
    guarded = script.replace("exit()", 'if __name__ == "__main__":\n    sys.exit(0)').replace(
        "import torch\n", "import sys\nimport torch\n", 1)
    assert codes(lint_tree({"check.py": guarded})) == []


def test_an_option_default_resolved_in_code_is_the_value_the_run_uses(lint_tree: Lint) -> None:
    """`--stop_epoch` defaults to -1, which the script turns into 200 (`if params.stop_epoch
    == -1: params.stop_epoch = 200`): the run trains 200 epochs (the write was ignored, the
    loop ran over `range(0, -1)`, and the network was said to have no training script)."""
    script = """
import argparse
import torch
from nets import Deep

parser = argparse.ArgumentParser()
parser.add_argument("--stop_epoch", default=-1, type=int)
params = parser.parse_args()
if params.stop_epoch == -1:
    params.stop_epoch = 200
model = Deep()
opt = torch.optim.Adam(model.parameters())
for epoch in range(0, params.stop_epoch):
    for x in torch.load("x.pt"):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
"""
    result = lint_tree({"nets.py": plain_net("Deep", 10), "train.py": script},
                       select=["CNN107", "CNN202"])
    assert sorted((f.code, f.severity, f.message.split(" (")[0]) for f in result.findings) == [
        ("CNN107", "warning", "10 weighted layers, no dropout, and no weight decay"),
        ("CNN202", "warning", "trains 200 epochs")]


def test_an_optimizer_handed_to_a_method_not_followed_may_train_its_network(
        lint_tree: Lint) -> None:
    """One of two networks (picked by the command line) is handed the optimizer built over
    its weights through its own `train_loop` method, which is not followed for one of
    several networks: no network is said to have no training script."""
    nets = """
import torch.nn as nn


class Base(nn.Module):
    def train_loop(self, loader, optimizer):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(self(x), y).backward()
            optimizer.step()


class Deep(Base):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Linear(16, 16) for _ in range(10)])

    def forward(self, x):
        return self.body(x)


class Wide(Deep):
    pass
"""
    script = """
import sys
import torch
from nets import Deep, Wide

model = Deep() if sys.argv[1] == "deep" else Wide()
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(20):
    model.train_loop(torch.load("train.pt"), optimizer)
"""
    result = lint_tree({"nets.py": nets, "train.py": script}, select=["CNN107"])
    assert result.findings == []


def test_a_frozen_guide_whose_targets_feed_the_loss_is_no_validation(lint_tree: Lint) -> None:
    """A frozen guide network, in eval mode and without gradients, computes the targets the
    learner's loss compares with: that forward is part of each training step, not an
    evaluation, so the loop still has no validation (the rule stayed silent)."""
    script = """
import torch
from nets import Small

guide, learner = Small(), Small()
opt = torch.optim.Adam(learner.parameters(), lr=1e-3)
for epoch in range(12):
    guide.eval()
    for x in torch.load("batches.pt"):
        opt.zero_grad()
        with torch.no_grad():
            target = guide(x)
        ((learner(x) - target) ** 2).mean().backward()
        opt.step()
"""
    found = lint_tree({"nets.py": plain_net("Small", 2), "fit.py": script},
                      select=["CNN202"]).findings
    assert [f.code for f in found] == ["CNN202"]


def test_the_note_on_a_possible_evaluation_names_a_builders_network_as_built(
        lint_tree: Lint) -> None:
    """A network known by the function that built it (`model = build_model(8)`), run on
    data the reader cannot follow in a loop that trains nothing: the note says it is the
    network `build_model` built that is called, not `build_model` itself."""
    script = """
import torch
import torch.nn as nn
from data_tools import make_loader


def build_model(width):
    return nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))


model = build_model(8)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(10):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in make_loader("val"):
            model(x)
"""
    [run] = lint_tree({"train.py": script}).runs
    assert any(note.endswith("the network `build_model` built is called on data that could "
                             "not be followed, in a loop that trains nothing: it may be "
                             "evaluated on held-out data, so no-validation stays silent")
               for note in run.notes), run.notes


def test_each_of_a_few_experiment_configs_is_read(lint_tree: Lint) -> None:
    """A loop over three experiment settings, each building and training its own network:
    every pass is read with its own setting (only the first two were, so the third
    config's deep network was never seen trained)."""
    nets = plain_net("Small", 2) + "\n\n" + plain_net("Deep", 10).split("\n\n", 1)[1]
    script = """
import torch
from nets import Small, Deep


def build(name):
    return Small() if name == "small" else Deep()


for cfg in [{"arch": "small", "lr": 0.1}, {"arch": "small", "lr": 0.01}, {"arch": "deep"}]:
    net = build(cfg["arch"])
    opt = torch.optim.Adam(net.parameters(), lr=cfg.get("lr", 1e-3))
    for epoch in range(3):
        for x in torch.load("data.pt"):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
"""
    found = lint_tree({"nets.py": nets, "sweep.py": script}, select=["CNN107"]).findings
    assert [(f.symbol, f.severity) for f in found] == [("Deep", "warning")]


def test_one_optimizer_two_scripts_train_with_is_named_once(lint_tree: Lint) -> None:
    """Two scripts train a network through one wrapper class that builds its optimizer: the
    finding names that optimizer once (it named it once per script)."""
    nets = plain_net("Deep", 9) + """

class Wrapper:
    def __init__(self):
        self.net = Deep()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)

    def step(self, x):
        self.opt.zero_grad()
        self.net(x).pow(2).mean().backward()
        self.opt.step()
"""
    script = """
import torch
from nets import Wrapper

w = Wrapper()
for epoch in range(3):
    for x in torch.load("data.pt"):
        w.step(x)
"""
    found = lint_tree({"nets.py": "import torch\n" + nets, "run_a.py": script,
                       "run_b.py": script}, select=["CNN107"]).findings
    assert [f.message.count("`Adam` at nets.py") for f in found] == [1]


def test_a_loop_that_only_runs_the_model_is_read_for_two_passes(lint_tree: Lint) -> None:
    """A timing check (`for i in range(1000): model(x)`) runs the model and builds nothing:
    its later passes are like the first two, which are all that is read (a large network run
    a thousand times made scripts too complex to read to the end)."""
    script = """
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
x = torch.randn(4, 8)
for i in range(1000):
    y = model(x)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    for xb, yb in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
"""
    [run] = lint_tree({"probe.py": script}).runs
    outside = [e for e in run.events if e.kind == ir.FORWARD and not any(
        loop.kind in ("epoch", "batch") for loop in run.loops if loop.id in e.loops)]
    assert len({e.passes for e in outside}) == 2


LIGHTNING_NET = """class Net({base}.LightningModule):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x):
        return self.body(x)

    def training_step(self, batch, i):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)
{validation}
    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
"""
VALIDATION_STEP = """
    def validation_step(self, batch, i):
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self(x), y))
"""


def test_a_data_module_given_in_the_loaders_place_is_the_data_module(lint_tree: Lint) -> None:
    """`trainer.fit(model, dm)`: Lightning takes a data module passed where the training
    loaders go as the data module, so its `val_dataloader` feeds the module's
    `validation_step` (CNN202 said the fit had no validation)."""
    module = """
import torch
import torch.nn as nn
import lightning as L
from torch.utils.data import DataLoader


""" + LIGHTNING_NET.format(base="L", validation=VALIDATION_STEP) + """


class Data(L.LightningDataModule):
    def train_dataloader(self):
        return DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)

    def val_dataloader(self):
        return DataLoader(torch.load("val.pt"), batch_size=64)


L.Trainer(max_epochs=30).fit(Net(), FIT)
"""
    for given in ("Data()", "datamodule=Data()"):
        found = {c for c, _, _ in codes(lint_tree({"train.py": module.replace("FIT", given)}))}
        assert "CNN202" not in found and "CNN203" in found, given


def test_lightnings_seeding_and_loggers_hide_nothing_the_loop_lacks(lint_tree: Lint) -> None:
    """`pl.seed_everything(0)`, the Trainer's own argument parser and a TensorBoard logger
    handed to the Trainer only seed, parse and log (plugins, strategies and profilers only
    say how it runs): a 30-epoch fit with no validation data still has no validation; an
    early-stopping callback handed the same way still stops early."""
    script = """
import argparse
import torch
import torch.nn as nn
import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.callbacks import LearningRateMonitor
from torch.utils.data import DataLoader


""" + LIGHTNING_NET.format(base="pl", validation="") + """


pl.seed_everything(0)
parser = pl.Trainer.add_argparse_args(argparse.ArgumentParser())
parser.add_argument("--width", type=int, default=32)
width = parser.parse_args().width
logger = TensorBoardLogger("logs")
loader = DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)
trainer = pl.Trainer(max_epochs=30, logger=logger, callbacks=[LearningRateMonitor()])
trainer.fit(Net(), loader)
"""
    found = {c for c, _, _ in codes(lint_tree({"train.py": script}))}
    assert {"CNN202", "CNN203", "CNN209"} <= found
    stopping = script.replace("from pytorch_lightning.callbacks import LearningRateMonitor",
                              "from pytorch_lightning.callbacks import EarlyStopping").replace(
        "LearningRateMonitor()", 'EarlyStopping(monitor="train_loss")')
    found = {c for c, _, _ in codes(lint_tree({"train.py": stopping}))}
    assert "CNN203" not in found and "CNN202" in found
    # A plugin, a strategy or a profiler says how and where it runs, not what it does.
    parallel = script.replace(
        "callbacks=[LearningRateMonitor()])",
        "plugins=DDPPlugin(find_unused_parameters=False), "
        "strategy=DDPStrategy(), profiler=SimpleProfiler())").replace(
        "from pytorch_lightning.callbacks import LearningRateMonitor",
        "from pytorch_lightning.plugins import DDPPlugin\n"
        "from pytorch_lightning.strategies import DDPStrategy\n"
        "from pytorch_lightning.profilers import SimpleProfiler")
    found = {c for c, _, _ in codes(lint_tree({"train.py": parallel}))}
    assert {"CNN202", "CNN203", "CNN209"} <= found


def test_a_lightning_fit_of_a_model_hydra_builds_may_train_any_network(
        lint_tree: Lint) -> None:
    """`trainer.fit(hydra.utils.instantiate(cfg.model))`: the configuration may name any
    network of the project, so none is said to have no training script (CNN107 info), and
    `--verbose` says why."""
    script = """
import hydra
from lightning import Trainer


@hydra.main(config_path="conf", config_name="cfg")
def main(cfg):
    model = hydra.utils.instantiate(cfg.model)
    Trainer(max_epochs=10).fit(model)


main()
"""
    result = lint_tree({"nets.py": DEEP, "train.py": script})
    assert _no_script_claims(result) == []
    assert "train.py: `Trainer.fit` is given a model that could not be followed (any model " \
           "may be what it trains): rules about its training stay silent" in result.notes()
    assert _no_script_claims(lint_tree({"nets.py": DEEP})) != []


def test_a_value_from_code_not_followed_that_is_given_the_network_may_reach_it(
        lint_tree: Lint) -> None:
    """A helper from an unread package, made from a file name only, cannot reach the network
    (an evaluation in train mode after its call is one: CNN204); once the network is stored
    on it (`helper.net = net`) or handed to one of its methods, its calls may switch the
    network to eval mode, so CNN204 stays silent."""
    script = """
import torch
import torch.nn as nn
from toolkit import make_helper

net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
helper = make_helper("cfg.yaml")
GIVE
for epoch in range(100):
    net.train()
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    helper.switch()
    with torch.no_grad():
        print(net(torch.load("val.pt")).mean())
"""
    alone = lint_tree({"train.py": script.replace("GIVE", "")})
    assert [c for c, _, _ in codes(alone, "CNN204")] == ["CNN204"]
    for give in ("helper.net = net", "helper.register(net)"):
        assert codes(lint_tree({"train.py": script.replace("GIVE", give)}), "CNN204") == [], give


def test_a_model_built_by_eval_of_a_name_may_be_any_network(lint_tree: Lint) -> None:
    """`eval(cfg["NAME"])(...)` builds whatever class a config names: not a library's
    network, so no network of the project is said to have no training script (CNN107)."""
    nets = plain_net("Small", 12) + "\n\n" + plain_net("Other", 12).replace(
        "import torch.nn as nn\n\n", "")
    script = """
import torch
import torch.nn as nn
from nets import *

cfg = {"NAME": "Small"}
model = BUILD
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
for epoch in range(3):
    for x, y in torch.load("pairs.pt"):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
"""
    for build, expected in (("eval(cfg['NAME'])()", []), ("Small()", ["nets.py"])):
        result = lint_tree({"nets.py": nets, "train.py": script.replace("BUILD", build)})
        assert sorted({f.path for f in result.findings if f.code == "CNN107"}) == expected, build


@pytest.mark.parametrize("ending, severity, message", [
    ("F.softmax(self.fc(x), dim=1)", "error",
     "`CrossEntropyLoss` receives `Softmax` output (from net.py:11): it applies log-softmax "
     "itself"),
    # log_softmax of log-probabilities is the identity: the loss is NLLLoss's, only wasted.
    ("F.log_softmax(self.fc(x), dim=1)", "info",
     "`CrossEntropyLoss` receives `LogSoftmax` output (from net.py:11): harmless (a "
     "log-softmax leaves log-probabilities as they are), but `NLLLoss` is the loss that "
     "matches"),
])
def test_log_probabilities_fed_to_cross_entropy_are_redundant_not_a_double_softmax(
        lint_tree: Callable[..., Result], ending: str, severity: str, message: str) -> None:
    result = lint_tree({"net.py": f"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return {ending}
""", "train.py": """
import torch
import torch.nn as nn
from net import Net

model = Net()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in torch.load("batches.pt"):
    opt.zero_grad()
    criterion(model(x), y).backward()
    opt.step()
"""})
    assert [(f.path, f.severity, f.message) for f in result.findings if f.code == "CNN210"] \
        == [("train.py", severity, message)]


@pytest.mark.parametrize("placeholder", ["None", "''", "False"])
def test_an_optimizer_picked_after_a_placeholder_is_followed(lint_tree: Lint,
                                                             placeholder: str) -> None:
    """`optim = ''`, then an `if` chain on a name known at run time builds SGD or Adam: the
    loop steps one of them (the placeholder would fail at `.step()`), so each is judged, and
    a loop that never zeroes the gradients is still seen."""
    script = f"""
import sys
import torch
import torch.nn as nn

def get_optimizer(net, name):
    optim = {placeholder}
    if name == "sgd":
        optim = torch.optim.SGD(net.parameters(), lr=0.01)
    elif name == "adam":
        optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    return optim

model = nn.Linear(8, 2)
optimizer = get_optimizer(model, sys.argv[1])
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
for epoch in range(3):
    for x, y in loader:
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    result = lint_tree({"train.py": script})
    codes = {f.code for f in result.findings}
    assert {"CNN205", "CNN206"} <= codes


def test_a_loop_over_several_model_names_trains_each(lint_tree: Lint) -> None:
    """A comparison script trains each of six torchvision networks in turn (`getattr(models,
    name)` over a list of names): each pass runs with its own name, so the BatchNorm ones
    are seen trained at batch 8."""
    script = """
import torch
import torch.nn as nn
import torchvision.models as models

loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=8, shuffle=True)
for name in ["alexnet", "vgg11", "squeezenet1_1", "mobilenet_v2", "resnet18", "densenet121"]:
    net = getattr(models, name)(num_classes=2)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(3):
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
"""
    (finding,) = [f for f in lint_tree({"compare.py": script}).findings if f.code == "CNN201"]
    assert "resnet18" in finding.message and "densenet121" in finding.message


def test_a_namespace_value_the_code_sets_is_not_an_option_default(lint_tree: Lint) -> None:
    """`args.lr = 1e-7` after parsing, with no `--lr` option: the rate comes from the code
    (`args.lr`), not from an argparse default."""
    script = """
import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("task")
args = parser.parse_args()
args.lr = 1e-7
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=0.9)
""" + LOOP
    (low,) = [f for f in lint_tree({"train.py": script}).findings if f.code == "CNN207"]
    assert "1e-07 (`args.lr`)" in low.message and "argparse" not in low.message


def test_no_missing_decay_is_claimed_from_a_script_read_in_part(lint_tree: Lint) -> None:
    """The pass sees the optimizer (no weight decay) step the network, then runs out of
    budget in a check after the epoch: what the rest of the script does (a second optimizer,
    a decay set on a param group) is not known, so CNN107 says nothing."""
    script = _SPLITTING.format(before="", after="    sizes = splits(DEPTH)")
    read = lint_tree({"nets.py": DEEP, "train.py": script.replace("DEPTH", "2")})
    assert [f.severity for f in read.findings if f.code == "CNN107"] == ["warning"]
    cut = lint_tree({"nets.py": DEEP, "train.py": script.replace("DEPTH", "18")})
    assert any(not run.complete for run in cut.runs)
    assert [f for f in cut.findings if f.code == "CNN107"] == []


@pytest.mark.parametrize("test, stops_early", [
    ("i % valid_interval == 0", False),  # periodic: a name with `valid` is no metric
    ("not i % valid_interval", False),
    ("val_loss < best_loss", True),
])
def test_a_checkpoint_saved_on_a_schedule_is_no_best_checkpoint(
        lint_tree: Lint, test: str, stops_early: bool) -> None:
    script = f"""
import torch
import torch.nn as nn

model = nn.Linear(10, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
i, valid_interval, best_loss = 1, 500, 1e9
for epoch in range(100):
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        i += 1
    model.eval()
    with torch.no_grad():
        val_loss = sum(nn.functional.cross_entropy(model(x), y) for x, y in val_loader)
    model.train()
    if {test}:
        torch.save(model.state_dict(), "ckpt.pt")
"""
    codes = {f.code for f in lint_tree({"train.py": script}).findings}
    assert ("CNN203" not in codes) is stops_early


def test_a_network_a_builder_needing_a_config_makes_is_handed_off_with_its_optimizer(
        lint_tree: Lint) -> None:
    """`make_net(settings)` returns `Stack(settings.classes)`; the script hands it and an
    SGD with weight decay to a library's trainer. No model is read as that build, so the
    class is what the library may train: no info that no training script reaches it."""
    nets = """
import torch.nn as nn

class Stack(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(3 if i == 0 else 32, 32, 3,
                                                            padding=1, bias=False),
                                                  nn.BatchNorm2d(32), nn.GELU())
                                    for i in range(8)])
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))

def make_net(settings):
    return Stack(settings.classes)
"""
    script = """
import types

import torch
import torch.nn.functional as F
from somelib.engine import supervised_trainer

from nets import make_net

settings = types.SimpleNamespace(classes=10, epochs=30)
net = make_net(settings)
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
trainer = supervised_trainer(net, optimizer, F.cross_entropy)
trainer.run(torch.load("batches.pt"), max_epochs=settings.epochs)
"""
    result = lint_tree({"nets.py": nets, "train.py": script})
    assert "CNN107" not in {f.code for f in result.findings}


def test_a_hugging_face_network_trained_is_no_network_of_the_project(lint_tree: Lint) -> None:
    """A notebook fine-tunes `ViTForImageClassification.from_pretrained(...)`: that is the
    library's network, not one of the project's, so a deep network of the project that no
    script trains still gets CNN107's "no training script followed" (a tokenizer is no
    network: one trained stays any network)."""
    deep = ("import torch.nn as nn\n\nclass Deep(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Sequential(*[nn.Linear(8, 8) for _ in range(12)])\n\n"
            "    def forward(self, x):\n        return self.body(x)\n")
    script = """
import torch
from transformers import {made}

model = {made}.from_pretrained("google/vit-base-patch16-224", num_labels=10)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
for x, y in torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x).logits, y).backward()
    optimizer.step()
"""
    for made, said in (("ViTForImageClassification", True), ("AutoTokenizer", False)):
        result = lint_tree({"deep.py": deep, "tune.py": script.format(made=made)},
                           select=["CNN107"])
        infos = [f for f in result.findings if "no training script followed" in f.message]
        assert len(infos) == int(said), (made, result.findings)


def test_a_checkpoint_kept_on_a_validation_error_is_a_best_checkpoint(lint_tree: Lint) -> None:
    """A crowd counter saves its weights whenever the validation MAE beats the lowest so far
    (`if epoch_mae < min_mae`): a best checkpoint, so no CNN203. A save on a schedule is
    not one."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 1, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
train_loader = DataLoader(torch.load("train.pt"), batch_size=1, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=1)
min_mae = 1e9
for epoch in range(400):
    model.train()
    for image, density in train_loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(image), density, reduction="sum").backward()
        optimizer.step()
    model.eval()
    epoch_mae = 0.0
    with torch.no_grad():
        for image, density in val_loader:
            epoch_mae += abs(model(image).sum() - density.sum()).item()
    if SAVE_TEST:
        min_mae = epoch_mae
        torch.save(model.state_dict(), str(epoch) + ".pth")
"""
    kept = lint_tree({"train.py": script.replace("SAVE_TEST", "epoch_mae < min_mae")},
                     select=["CNN203"])
    assert kept.findings == []
    periodic = lint_tree({"train.py": script.replace("SAVE_TEST", "epoch % 10 == 0")},
                         select=["CNN203"])
    assert [f.code for f in periodic.findings] == ["CNN203"]


def test_a_dataset_with_a_pipeline_of_the_project_s_own_transforms_is_not_judged(
        lint_tree: Lint) -> None:
    """A dataset applies a paired transform of the project's own (a random flip of an image
    and its density map) before the image's and the map's library pipelines: that one may
    augment the images, so the others are not judged (CNN212); with the paired one left
    out, the image pipeline is, and the density map's is not."""
    script = """
import random
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import Compose, Normalize, ToTensor


class PairedFlip:
    def __call__(self, pair):
        image, density = pair
        if random.random() < 0.5:
            return image.transpose(0), density.transpose(0)
        return image, density


class Crowd(Dataset):
    def __init__(self, files, main_transform=None, img_transform=None, dmap_transform=None):
        self.files = files
        self.main_transform = main_transform
        self.img_transform = img_transform
        self.dmap_transform = dmap_transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        image, density = torch.load(self.files[i])
        if self.main_transform is not None:
            image, density = self.main_transform((image, density))
        return self.img_transform(image), self.dmap_transform(density)


dataset = Crowd(["a.pt"], MAIN, Compose([ToTensor(), Normalize([0.5] * 3, [0.2] * 3)]),
                ToTensor())
loader = DataLoader(dataset, batch_size=1, shuffle=True)
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 1, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
for epoch in range(10):
    for image, density in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(image), density).backward()
        optimizer.step()
"""
    paired = lint_tree({"train.py": script.replace("MAIN", "Compose([PairedFlip()])")},
                       select=["CNN212"])
    assert paired.findings == []
    plain = lint_tree({"train.py": script.replace("MAIN", "None")}, select=["CNN212"])
    # (The density map's pipeline is the targets', not the images'.)
    assert [(f.code, f.line) for f in plain.findings] == [("CNN212", 33)]


def test_a_dropout_inside_a_sequential_model_is_no_noise_on_the_batch(lint_tree: Lint) -> None:
    """A network written as a bare `nn.Sequential` with a `Dropout2d` inside: running it
    from the training loop applies the dropout as the model's layer, not as random noise
    the script adds to its batches (a denoising autoencoder's corruption), so the fixed
    pipeline is still reported (CNN212)."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

tf = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])
loader = DataLoader(datasets.ImageFolder("data/train", transform=tf), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Dropout2d(0.2), nn.Conv2d(16, 32, 3),
                      nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""
    result = lint_tree({"train.py": script}, select=["CNN212"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN212", 6)]


AUTOENCODER = """
import torch
import torch.nn as nn
import torch.nn.init as init
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

loader = DataLoader(datasets.MNIST("data", train=True, transform=transforms.ToTensor()),
                    batch_size=100, shuffle=True)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 784),
                      nn.Sigmoid())
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    for x, labels in loader:
        optimizer.zero_grad()
        LOSS.backward()
        optimizer.step()
"""


@pytest.mark.parametrize("loss, judged", [
    ("nn.functional.binary_cross_entropy(model(x), x.view(-1, 784))", False),  # a VAE's
    ("nn.MSELoss()(model(x), x.flatten(1))", False),  # an autoencoder's
    # A denoising autoencoder's noise, drawn with torch.nn.init into a new tensor.
    ("nn.functional.mse_loss(model(x + init.normal(torch.FloatTensor(100, 1, 28, 28), 0, 0.1))"
     ", x.flatten(1))", False),
    ("nn.functional.mse_loss(model(x), nn.functional.one_hot(labels, 784).float())", True),
])
def test_a_model_rebuilding_its_input_is_not_judged_for_augmentation(
        lint_tree: Lint, loss: str, judged: bool) -> None:
    """An autoencoder or a VAE whose loss compares the output with the very batch the model
    was fed learns the data's own distribution, as a GAN does: augmenting changes it, so
    CNN212 does not judge its images. A target that is not the input still is."""
    result = lint_tree({"train.py": AUTOENCODER.replace("LOSS", loss)}, select=["CNN212"])
    assert [f.code for f in result.findings] == (["CNN212"] if judged else [])


def test_a_model_restored_into_its_name_leaves_what_it_is_fed_unknown(lint_tree: Lint) -> None:
    """`model = torch.load(...)` in a `try` before the loop: the loop may call the restored
    object, not the network its optimizer was built over, so the reader never sees what the
    trained model is fed (noise may be added to it). CNN212 stays silent, and --verbose says
    why; without the restore the same plain pipeline is reported."""
    restored = AUTOENCODER.replace(
        "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n",
        "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
        "try:\n    model = torch.load('ae.pkl')\nexcept Exception:\n    pass\n").replace(
        "LOSS", "nn.functional.mse_loss(model(x), nn.functional.one_hot(labels, 784).float())")
    result = lint_tree({"train.py": restored}, select=["CNN212"])
    assert result.findings == []
    assert any("no-training-augmentation stay silent" in note for note in result.notes())
    plain = restored.replace("try:\n    model = torch.load('ae.pkl')\nexcept Exception:\n"
                             "    pass\n", "")
    assert [f.code for f in lint_tree({"train.py": plain}, select=["CNN212"]).findings] == [
        "CNN212"]


NOISY_CLASSIFIER = """
import torch
import torch.nn as nn
import torchvision
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from scipy.ndimage import gaussian_filter

loader = DataLoader(datasets.ImageFolder("shapes", transform=transforms.ToTensor()),
                    batch_size=16, shuffle=True)
net = NET
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    for images, labels in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(INPUT), labels).backward()
        opt.step()
"""


@pytest.mark.parametrize("net, given, judged", [
    # A library network fed fresh noise on every batch: augmented, as a project one is.
    ("torchvision.models.resnet18(num_classes=4)", "images + 0.1 * torch.randn_like(images)",
     False),
    ("nn.Sequential(nn.Flatten(), nn.LazyLinear(4))", "images + 0.1 * torch.randn_like(images)",
     False),
    ("torchvision.models.resnet18(num_classes=4)", "images", True),
    # Batches through a library function the reader does not know: it may draw at random.
    ("torchvision.models.resnet18(num_classes=4)",
     "torch.as_tensor(gaussian_filter(images.numpy(), sigma=1.0))", False),
    ("nn.Sequential(nn.Flatten(), nn.LazyLinear(4))",
     "torch.as_tensor(gaussian_filter(images.numpy(), sigma=1.0))", False),
])
def test_noise_or_an_unknown_library_transform_on_the_batches_may_augment(
        lint_tree: Lint, net: str, given: str, judged: bool) -> None:
    """CNN212 leaves a run whose trained model is fed its batches with fresh noise added, a
    library network as well as the project's own, and one whose batches go through a
    library function the reader does not know (`scipy`'s, `skimage`'s random_noise):
    either may draw at random. Plain batches are judged."""
    source = NOISY_CLASSIFIER.replace("NET", net).replace("INPUT", given)
    result = lint_tree({"train.py": source}, select=["CNN212"])
    assert [f.code for f in result.findings] == (["CNN212"] if judged else [])


RUNNING_BEST = """
import copy
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

data = TensorDataset(torch.rand(256, 8), torch.rand(256, 1))
train_loader = DataLoader(data, batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(torch.rand(64, 8), torch.rand(64, 1)), batch_size=32)
net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
lowest, keep = float("inf"), None
for epoch in range(60):
    net.train()
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        v = sum(nn.functional.mse_loss(net(x), y).item() for x, y in val_loader)
    if v < lowest:
        KEPT
        keep = copy.deepcopy(net.state_dict())
net.load_state_dict(keep)
"""


@pytest.mark.parametrize("kept, judged", [
    ("lowest = v", False),
    ("lowest, unused = v, None", False),
    ("pass", True),  # a threshold never moved: not the best so far
])
def test_a_best_kept_under_any_names_is_a_best_checkpoint(
        lint_tree: Lint, kept: str, judged: bool) -> None:
    """`if v < lowest: lowest = v; keep = copy.deepcopy(net.state_dict())` keeps the best
    weights on a validation score whatever the names: a test against a value the branch
    then replaces with the one tested. A fixed threshold is no best kept."""
    result = lint_tree({"train.py": RUNNING_BEST.replace("KEPT", kept)}, select=["CNN203"])
    assert [f.code for f in result.findings] == (["CNN203"] if judged else [])


BEST_PASS = """
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

train_loader = DataLoader(TensorDataset(torch.rand(256, 8), torch.rand(256, 1)), batch_size=32)
val_loader = DataLoader(TensorDataset(torch.rand(64, 8), torch.rand(64, 1)), batch_size=32)
net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
top, top_step, step = 0.0, 0, 0
for epoch in range(60):
    for x, y in train_loader:
        step += 1
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    SAVE
    with torch.no_grad():
        scores = [float(nn.functional.l1_loss(net(x), y)) for x, y in val_loader]
    if top < np.mean(scores) * 100:
        top = np.mean(scores) * 100
        NOTE
print("pick the checkpoint of step", top_step)
"""


@pytest.mark.parametrize("save, note, judged", [
    # Every checkpoint kept, named by the step counter, and the best step noted.
    ('torch.save(net.state_dict(), "ckpt_%06d.pt" % step)', "top_step = step", False),
    ('torch.save(net.state_dict(), f"ckpt_{epoch}.pt")', "top_step = epoch", False),
    # One file overwritten each epoch: the best step noted has no checkpoint left.
    ('torch.save(net.state_dict(), "last.pt")', "top_step = step", True),
    # Checkpoints named by the epoch, the best noted by another counter.
    ('torch.save(net.state_dict(), f"ckpt_{epoch}.pt")', "top_step = step", True),
    # A running best whose value is a call written twice (`np.mean(scores) * 100`), saving
    # the weights under it: a best checkpoint.
    ("pass", 'torch.save(net.state_dict(), "model.pt")', False),
])
def test_the_best_of_checkpoints_named_by_a_counter_is_a_best_checkpoint(
        lint_tree: Lint, save: str, note: str, judged: bool) -> None:
    """A checkpoint saved at every pass under a name built from a counter, and a running
    best on held-out data that notes that counter (`best_iter = total_iters`): the best
    pass's checkpoint is among those kept (CNN203 said none was kept)."""
    source = BEST_PASS.replace("SAVE", save).replace("NOTE", note)
    result = lint_tree({"train.py": source}, select=["CNN203"])
    assert [f.code for f in result.findings] == (["CNN203"] if judged else [])


RECURSIVE_DECODER = """import torch
import torch.nn as nn
from torch.utils.data import DataLoader


class Decoder:
    def decode(self, codes, lengths):
        if lengths.numel() == 1:
            kept = []
            for i in range(int(lengths)):
                if codes[i] != 0 and (i == 0 or codes[i - 1] != codes[i]):
                    kept.append(int(codes[i]))
            return kept
        else:
            texts, start = [], 0
            if codes.numel() == lengths.sum():
                for n in lengths:
                    if n > 0:
                        texts.append(
                            self.decode(codes[start:start + n], torch.IntTensor([n])))
                    start += n
            return texts


net = nn.Sequential(nn.Conv1d(1, 8, 3), nn.ReLU(), nn.Conv1d(8, 5, 1))
train_loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=32)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
decoder = Decoder()
for epoch in range(50):
    net.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        for x, y in val_loader:
            texts = decoder.decode(net(x).argmax(1).flatten(), torch.full((x.shape[0],), 5))
"""


def test_a_helper_recursing_on_tensors_does_not_stop_the_reading(lint_tree: Lint) -> None:
    """A decoder calling itself on slices of its input (a text recogniser's CTC decoding),
    run on each evaluation: the reader follows it to its limit on nested calls, 40 deep,
    each call some dozens of Python frames. Under Python's default limit of 1,000 frames the
    script was given up as too complex, and every training rule fell silent."""
    result = lint_tree({"train.py": RECURSIVE_DECODER}, select=["CNN203"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN203", 30)]
    assert not any("too complex" in note for note in result.notes())


AGENT = """
import random
import numpy as np
import torch
import torch.nn as nn


class Walk:
    def reset(self):
        self.t = 0
        return np.zeros((1, 16, 16), dtype=np.float32)

    def step(self, action):
        self.t += 1
        return np.random.rand(1, 16, 16).astype(np.float32), float(action), self.t > 99


net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(),
                    nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(),
                    nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(),
                    nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
world, memory = Walk(), []
state = world.reset()
for frame in range(200_000):
    with torch.no_grad():
        action = int(net(torch.from_numpy(state)[None]).argmax())
    STEP
    memory.append((state, action, reward))
    state = world.reset() if over else after
    for _ in range(2):
        s, a, r = (torch.as_tensor(np.array(c)) for c in zip(*random.sample(memory, 32)))
        q = net(s).gather(1, a[:, None]).squeeze(1)
        optimizer.zero_grad()
        nn.functional.smooth_l1_loss(q, r.float()).backward()
        optimizer.step()
"""


@pytest.mark.parametrize("step, judged", [
    ("after, reward, over = world.step(action)", False),
    # Environments in worker processes, their results gathered (`conn.recv()`).
    ("after, reward, done = zip(*[world.step(a) for a in [action]])", False),
    # Not an environment's step: a step of the script's own (a simulation it advances).
    ("after, reward, over = world.reset(), 0.0, frame % 100 == 0", True),
])
def test_an_agent_stepping_an_environment_gets_no_dataset_advice(
        lint_tree: Lint, step: str, judged: bool) -> None:
    """A DQN agent's frame loop (`obs, reward, done = env.step(action)`) trains on the
    experience it collects: it has no held-out set, best checkpoint or schedule over epochs
    to miss, and its network no validation score for dropout to protect (CNN203 said it
    "trains 200000 epochs")."""
    result = lint_tree({"agent.py": AGENT.replace("STEP", step)},
                       select=["CNN107", "CNN202", "CNN203", "CNN209"])
    found = sorted({f.code for f in result.findings})
    assert found == (["CNN107", "CNN203", "CNN209"] if judged else [])
    if not judged:
        assert any("reinforcement learning" in note for note in result.notes())


ACTIVATION_BY_FLAG = {
    "net.py": """
import torch.nn as nn


class Stack(nn.Module):
    def __init__(self, leaky=False):
        super().__init__()
        make = (lambda: nn.LeakyReLU(0.1)) if leaky else (lambda: nn.ReLU())
        layers, width = [], 3
        for out in (16, 16, 32, 32, 64, 64, 64):
            layers += [nn.Conv2d(width, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       make()]
            width = out
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(width, 10))

    def forward(self, x):
        return self.body(x)
""",
    "train.py": """
import os
import torch
import torch.nn as nn
from net import Stack

model = Stack(BUILT)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
x, y = torch.randn(32, 3, 28, 28), torch.randint(0, 10, (32,))
for epoch in range(5):
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
"""}


@pytest.mark.parametrize("built, judged", [
    ("leaky=os.environ.get('LEAKY') == '1'", False),
    ("", True),
])
def test_a_trained_build_whose_activations_were_not_seen_keeps_relu_everywhere_silent(
        lint_tree: Lint, built: str, judged: bool) -> None:
    """The class's defaults build plain ReLU, but the script trains it with a flag the
    reader could not follow picking each activation: that build shows no activation at
    all, so whether it trains with LeakyReLU is not known (CNN105 reported the defaults)."""
    files = dict(ACTIVATION_BY_FLAG, **{
        "train.py": ACTIVATION_BY_FLAG["train.py"].replace("BUILT", built)})
    result = lint_tree(files, select=["CNN105"])
    assert [f.code for f in result.findings] == (["CNN105"] if judged else [])


SIBLING_BUILDERS = {
    "nets.py": """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1)
                                    for i in range(depth)])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


def net_small():
    return Net(8)


def net_large():
    return Net(16)
""",
    "train.py": """
import torch
from nets import net_small

model = net_small()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for epoch in range(3):
    for x, y in torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
"""}


def test_an_unused_builder_of_a_trained_class_says_the_class_trains(lint_tree: Lint) -> None:
    """`net_large()` nobody trains, beside `net_small()` of the same class, trained with
    weight decay: CNN107's "weight decay unknown (no training script followed to it)", said
    at the class, also says the project trains other builds of it (it read as if the class
    had no training script). With no script at all, it does not."""
    result = lint_tree(SIBLING_BUILDERS, select=["CNN107"])
    assert [f.message.split(" (")[1] for f in result.findings] == [
        "no training script followed to it; the project trains other builds of its class)"]
    alone = lint_tree(dict(SIBLING_BUILDERS, **{"train.py": "print('no training')\n"}),
                      select=["CNN107"])
    assert [(f.code, f.severity) for f in alone.findings] == [("CNN107", "info")]
    assert "(no training script followed to it)" in alone.findings[0].message


MEMORY_BANK = """
import pytorch_lightning as pl
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Bank(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.kept = []

    def forward(self, x):
        return self.features(x)

    def train_dataloader(self):
        fixed = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])
        return DataLoader(datasets.ImageFolder("normal", transform=fixed), batch_size=8)

    def configure_optimizers(self):
        OPTIMIZERS

    def training_step(self, batch, batch_idx):
        images, _ = batch
        self.kept.append(self(images).detach())


pl.Trainer(max_epochs=1).fit(Bank())
"""


@pytest.mark.parametrize("optimizers, judged", [
    ("return None", False),
    ("return torch.optim.Adam(self.parameters(), lr=1e-3)", True),
])
def test_a_lightning_fit_with_no_optimizer_trains_nothing(
        lint_tree: Lint, optimizers: str, judged: bool) -> None:
    """`configure_optimizers` returning None: Lightning runs the loop with no optimizer (a
    memory bank of a frozen network's features of normal images, for anomaly detection).
    Nothing trains, so its images need no augmentation (CNN212 advised it)."""
    result = lint_tree(MEMORY_BANK.replace("OPTIMIZERS", optimizers), select=["CNN212"])
    assert [f.code for f in result.findings] == (["CNN212"] if judged else [])


def test_a_small_batch_a_shared_helper_builds_names_the_script_that_gave_it(
        lint_tree: Lint) -> None:
    """A loader built in a shared helper of another folder (`make_loaders(batch_size=4)`):
    CNN201 is reported where the loader is built, and names the script's call that gave the
    batch size, as a related place (the helper alone does not say which experiment)."""
    files = {
        "shared/loaders.py": """
import torch
from torch.utils.data import DataLoader, TensorDataset


def make_loaders(batch_size=32):
    data = TensorDataset(torch.randn(64, 1, 8, 8), torch.randint(0, 2, (64,)))
    return DataLoader(data, batch_size=batch_size, shuffle=True)
""",
        "exp/train.py": """
import torch
import torch.nn as nn
from shared.loaders import make_loaders

loader = make_loaders(batch_size=4)
net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                    nn.LazyLinear(2))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""}
    result = lint_tree(files, select=["CNN201"])
    assert [(f.path, f.line) for f in result.findings] == [("shared/loaders.py", 7)]
    finding = result.findings[0]
    assert finding.message.endswith(
        "with batch size 4 (`batch_size`), as built from exp/train.py:5")
    assert [(r.path, r.line, r.message) for r in finding.related] == [
        ("exp/train.py", 6, "`net` is defined here"),
        ("exp/train.py", 5, "the call that builds it")]


LIBRARY_NET_EVALUATED = """
import torch
import torch.nn as nn
import torchvision
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

tf = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])
train_loader = DataLoader(datasets.ImageFolder("train", tf), batch_size=32, shuffle=True)
val_loader = DataLoader(datasets.ImageFolder("val", transforms.ToTensor()), batch_size=32)
net = torchvision.models.resnet18(num_classes=3)
opt = torch.optim.SGD(PARAMS, lr=0.01, momentum=0.9)
for epoch in range(3):
    BACK
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        print(sum(nn.functional.cross_entropy(net(x), y).item() for x, y in val_loader))
"""


@pytest.mark.parametrize("params, back, flagged", [
    ("net.parameters()", "pass", True),
    # Only its head is trained, a Linear layer that eval mode does not change.
    ("net.fc.parameters()", "pass", False),
    ("net.parameters()", "net.train()", False),
])
def test_a_library_network_trained_after_eval_without_train_back(
        lint_tree: Lint, params: str, back: str, flagged: bool) -> None:
    """A torchvision network put in eval mode for validation at the end of each epoch and
    never put back: its steps are named after it, as its forwards are, so CNN204 sees the
    next epoch train it in eval mode (it was silent for library networks)."""
    source = LIBRARY_NET_EVALUATED.replace("PARAMS", params).replace("BACK", back)
    result = lint_tree({"train.py": source}, select=["CNN204"])
    assert [(f.code, f.line) for f in result.findings] == ([("CNN204", 16)] if flagged else [])


DATA_ONLY_CALL = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from barbar import Bar
import tuner

loader = DataLoader(TensorDataset(torch.randn(64, 8), torch.randint(0, 2, (64,))),
                    batch_size=16, shuffle=True)
net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(100):
    for x, y in Bar(loader):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    CALL
"""


@pytest.mark.parametrize("call, judged", [
    ("pass", True),
    ("tuner.adjust(opt, epoch)", False),  # handed the optimizer: it may change the rate
    ("tuner.adjust(loader)", True),  # handed data only
    ("tuner.adjust(tuner.settings())", False),  # handed what a library made: anything
])
def test_a_library_call_handed_only_data_holds_no_missing_step(
        lint_tree: Lint, call: str, judged: bool) -> None:
    """A library's function given only data (a progress bar over the loader, `Bar(loader)`)
    cannot reach the network, the optimizer or a schedule: the loop is still judged for a
    schedule (CNN209). One given the optimizer, or something it does not know, may change
    the rate: silent."""
    result = lint_tree({"train.py": DATA_ONLY_CALL.replace("CALL", call)}, select=["CNN209"])
    assert [f.code for f in result.findings] == (["CNN209"] if judged else [])


EVALUATED_EVERY_FEW = """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
train_loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)


def evaluate():
    net.eval()
    with torch.no_grad():
        print(sum(nn.functional.cross_entropy(net(x), y).item() for x, y in val_loader))


net.train()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(10):
    BACK
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    if TEST:
        evaluate()
"""


@pytest.mark.parametrize("test, back, flagged", [
    ("epoch > 0 and epoch % 2 == 0", "pass", True),
    ("epoch > 0 and epoch % 2 == 0", "net.train()", False),
    ("epoch == 9", "pass", False),  # after the last epoch's training only
])
def test_an_evaluation_every_few_epochs_leaves_later_ones_in_eval_mode(
        lint_tree: Lint, test: str, back: str, flagged: bool) -> None:
    """`if epoch > 0 and epoch % 2 == 0: evaluate()`, which puts the model in eval mode,
    with no `.train()` in the loop: every epoch after the first evaluation trains in eval
    mode, though neither pass the reading sees runs that evaluation before training. An
    evaluation after the last epoch only leaves nothing to train."""
    source = EVALUATED_EVERY_FEW.replace("TEST", test).replace("BACK", back)
    result = lint_tree({"train.py": source}, select=["CNN204"])
    assert [(f.code, f.line) for f in result.findings] == ([("CNN204", 22)] if flagged else [])


@pytest.mark.parametrize("back, flagged", [("", True), ("            net.train()\n", False)])
def test_an_evaluation_inside_the_batch_loop_leaves_the_next_batches_in_eval_mode(
        lint_tree: Lint, back: str, flagged: bool) -> None:
    """`net.train()` once per epoch, and an evaluation (`net.eval()`) nested in the batch
    loop: every batch after the first trains in eval mode. One batch loop pass stands for
    all, so no pass the reading sees trains after it; the loop has no `.train()` back."""
    source = EVALUATED_EVERY_FEW.replace("    if TEST:\n        evaluate()\n", "")
    source = source.replace("    BACK\n", "    net.train()\n").replace(
        "        opt.step()\n", "        opt.step()\n        evaluate()\n" + back.replace(
            "            ", "        "))
    assert "evaluate()\n" in source and "TEST" not in source
    result = lint_tree({"train.py": source}, select=["CNN204"])
    assert [(f.code, f.line) for f in result.findings] == ([("CNN204", 22)] if flagged else [])


@pytest.mark.parametrize("cast", [".type(torch.cuda.FloatTensor)", ".type(torch.float32)",
                                  ".to('cpu')"])
def test_a_model_cast_with_type_is_the_same_model(lint_tree: Lint, cast: str) -> None:
    """`Net().type(torch.cuda.FloatTensor)` hands the module itself back, as `.to()` does:
    the run trains that network (the reader lost it, and every training rule went quiet)."""
    source = f"""
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)){cast}
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(30):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    result = lint_tree({"train.py": source}, select=["CNN202", "CNN203", "CNN209"])
    assert [f.code for f in result.findings] == ["CNN202", "CNN203", "CNN209"]


@pytest.mark.parametrize("optimizer, judged", [
    ("torch.optim.Adadelta(net.parameters())", False),
    ("torch.optim.Adagrad(net.parameters(), lr=0.01)", False),
    ("torch.optim.Adam(net.parameters(), lr=1e-3)", True),
])
def test_an_optimizer_that_sizes_its_own_steps_needs_no_schedule(
        lint_tree: Lint, optimizer: str, judged: bool) -> None:
    """Kim's sentence CNN trains with Adadelta at its default 1.0 for 100 epochs: Adadelta
    takes no learning rate of its own, and Adagrad's steps shrink by themselves, so CNN209
    does not ask for a schedule (review Q); Adam at a constant rate still gets one."""
    source = f"""
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
opt = {optimizer}
for epoch in range(100):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    result = lint_tree({"train.py": source}, select=["CNN209"])
    assert [f.code for f in result.findings] == (["CNN209"] if judged else [])


@pytest.mark.parametrize("star, bar, judged", [
    ("from tqdm import *", "tqdm(loader)", True),
    ("from tqdm.auto import *", "tqdm(loader, leave=False)", True),
    ("from progress_bars import *", "tqdm(loader)", False),  # a library not known: not judged
])
def test_names_a_library_star_import_binds_are_that_library_s(
        lint_tree: Lint, star: str, bar: str, judged: bool) -> None:
    """`from tqdm import *` then `for x, y in tqdm(loader)`: `tqdm` is the progress bar, so
    the loop's rules judge the run (review R: every training rule went quiet). The same
    holds of `from torch.nn import *` (`class Net(Module)`, `Conv2d(...)`). A star import
    of a library whose names the reader does not know leaves the name not known, and the
    rules about what is missing silent."""
    source = f"""
import torch
from torch.nn import *
{star}


class Net(Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv2d(3, 8, 3, padding=1)
        self.fc = Linear(8, 10)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
net = Net()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for x, y in {bar}:
        opt.zero_grad()
        CrossEntropyLoss()(net(x), y).backward()
        opt.step()
"""
    result = lint_tree({"train.py": source}, select=["CNN202", "CNN209"])
    assert [f.code for f in result.findings] == (["CNN202", "CNN209"] if judged else [])


@pytest.mark.parametrize("build, flagged", [
    ("torchvision.models.vgg11(weights=None)", True),  # its classifier's dropout
    ("torchvision.models.alexnet()", True),
    ("torchvision.models.vgg11(weights=None, dropout=0.0)", False),
    ("torchvision.models.vgg11()\nnet.classifier = nn.Sequential(nn.Linear(25088, 2))", False),
    ("torchvision.models.vgg11()\nnet.classifier = nn.Sequential(nn.Dropout(0.3), "
     "nn.Linear(25088, 2))", True),
    ("torchvision.models.googlenet()\nnet.fc = nn.Linear(1024, 2)", True),  # (its BatchNorm)
])
def test_a_torchvision_classifier_s_dropout_needs_eval_mode(
        lint_tree: Lint, build: str, flagged: bool) -> None:
    """VGG, AlexNet and the other torchvision classifiers built with Dropout evaluate in
    train mode when the script never calls `.eval()`: CNN204 was silent for them, as for
    any library network not known to hold BatchNorm (review R: vgg11 with the script's own
    classifier, which held Dropout). A head the script puts in place replaces the builder's
    dropout with its own layers."""
    source = f"""
import torch
import torch.nn as nn
import torchvision

net = {build}
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val = torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=32)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in val:
            print(nn.functional.cross_entropy(net(x), y).item())
"""
    result = lint_tree({"train.py": source}, select=["CNN204"])
    assert [f.code for f in result.findings] == (["CNN204"] if flagged else [])


LOGISTIC = """
class LogReg(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))
"""
TWO_LAYERS = LOGISTIC.replace("self.linear = nn.Linear(2, 1)",
                              "self.linear = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), "
                              "nn.Linear(8, 1))")
OWN_WEIGHTS = LOGISTIC.replace("self.linear = nn.Linear(2, 1)",
                               "self.linear = nn.Linear(2, 1)\n"
                               "        self.scale = nn.Parameter(torch.ones(1))")


@pytest.mark.parametrize("defined, build, optimizer, judged", [
    ("", "nn.Linear(1, 1)", "Adam(model.parameters(), lr=0.1)", False),
    ("", "nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Softmax(dim=1))",
     "RMSprop(model.parameters(), lr=0.1)", False),
    (LOGISTIC, "LogReg()", "Adam(model.parameters(), lr=0.1)", False),
    ("", "nn.Linear(1, 1)", "SGD(model.parameters(), lr=5.0)", True),  # (it may diverge)
    (TWO_LAYERS, "LogReg()", "Adam(model.parameters(), lr=0.1)", True),
    (OWN_WEIGHTS, "LogReg()", "Adam(model.parameters(), lr=0.1)", True),  # (not followed)
])
def test_an_adaptive_optimizer_fitting_a_linear_model_is_not_said_to_diverge(
        lint_tree: Lint, defined: str, build: str, optimizer: str, judged: bool) -> None:
    """A course fits a line with one `nn.Linear(1, 1)` and Adam at 0.1: Adam moves each weight
    by about the rate at most a step, so that convex fit of two weights settles, and "is
    likely to diverge" was false (review V: six such findings in one course's notebooks).
    SGD's step grows with the gradient, so a high SGD rate is still judged on a linear
    model, and Adam on a network with a hidden layer, or with weights of its own the reader
    does not follow, is judged as before."""
    source = f"""
import torch
import torch.nn as nn
{defined}

model = {build}
loader = torch.utils.data.DataLoader(torch.load("points.pt"), batch_size=32, shuffle=True)
opt = torch.optim.{optimizer}
for epoch in range(100):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
"""
    result = lint_tree({"fit.py": source}, select=["CNN208"])
    assert [f.code for f in result.findings] == (["CNN208"] if judged else [])


@pytest.mark.parametrize("steps, flagged", [
    ("nn.Sequential(KA.RandomResizedCrop(size=(32, 32), scale=(0.3, 1.0)), "
     "KA.RandomHorizontalFlip())", False),
    ("KA.AugmentationSequential(KA.ColorJiggle(0.2, 0.2, 0.2), KA.Resize((32, 32)))", False),
    ("nn.Sequential(KA.Normalize(mean=0.5, std=0.5), KA.Resize((32, 32)))", True),
])
def test_kornia_augmentations_applied_to_the_batches_are_read(
        lint_tree: Lint, steps: str, flagged: bool) -> None:
    """Random crops and flips applied to whole batches on the GPU, as an `nn.Sequential` of
    kornia's augmentations (`xb = aug(xb)` in the loop): the training images are augmented
    (review S: a SimSiam reimplementation got CNN212). Kornia's steps that draw nothing
    augment nothing, so the dataset's plain pipeline is still reported."""
    source = f"""
import kornia.augmentation as KA
import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T

net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(10))
data = torchvision.datasets.CIFAR10("data", transform=T.Compose([T.ToTensor()]))
loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True)
aug = {steps}
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for xb, yb in loader:
        xb = aug(xb)
        opt.zero_grad()
        nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()
"""
    result = lint_tree({"train.py": source}, select=["CNN212"])
    assert [f.code for f in result.findings] == (["CNN212"] if flagged else [])


@pytest.mark.parametrize("scored", [
    "sum(nn.functional.l1_loss(self(a), b).item() for a, b in held_out)",
    "[nn.functional.l1_loss(self(a), b).item() for a, b in held_out]",
])
def test_an_evaluation_written_as_a_comprehension_in_a_training_method_is_seen(
        lint_tree: Lint, scored: str) -> None:
    """A network's own `fit` method scores held-out pairs with a generator expression over
    `self(a)`: the comprehension runs the method's code, so its forward passes are the
    training code's evaluation, not the model's own forward (review T: a false CNN202)."""
    source = f"""
import torch
import torch.nn as nn


class Restorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PReLU(),
                                  nn.Conv2d(16, 3, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)

    def fit(self, loader, held_out, epochs=40):
        opt = torch.optim.Adam(self.parameters(), lr=1e-3)
        for epoch in range(epochs):
            self.train()
            for a, b in loader:
                opt.zero_grad()
                nn.functional.l1_loss(self(a), b).backward()
                opt.step()
            self.eval()
            with torch.no_grad():
                print({scored})


net = Restorer()
net.fit(torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=8, shuffle=True),
        torch.utils.data.DataLoader(torch.load("val.pt"), batch_size=8))
"""
    result = lint_tree({"restore.py": source}, select=["CNN202"])
    assert result.findings == []


def test_a_dataset_s_pipelines_applied_together_are_one_finding(lint_tree: Lint) -> None:
    """A super-resolution dataset makes each item's input and target from one image through
    two pipelines (`self.big`, `self.small`), neither random: one missing augmentation of
    one dataset, reported once and naming both, not once per pipeline (review T: the count
    depended on whether a name read as a target's)."""
    source = """
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T


class Pairs(Dataset):
    def __init__(self, paths):
        self.paths = paths
        self.big = T.Compose([T.CenterCrop(96), T.ToTensor()])
        self.small = T.Compose([T.CenterCrop(96), T.Resize(24), T.ToTensor()])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        image = Image.open(self.paths[i])
        return self.small(image), self.big(image)


net = nn.Sequential(nn.Conv2d(3, 48, 3, padding=1), nn.PixelShuffle(4))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for low, high in DataLoader(Pairs(["a.png"]), batch_size=16, shuffle=True):
        opt.zero_grad()
        nn.functional.mse_loss(net(low), high).backward()
        opt.step()
"""
    result = lint_tree({"sr.py": source}, select=["CNN212"])
    assert [(f.code, f.line) for f in result.findings] == [("CNN212", 11)]
    assert "the dataset's 2 pipelines: CenterCrop, ToTensor; CenterCrop, Resize, ToTensor" \
        in result.findings[0].message


def test_a_pipeline_the_test_set_shares_says_so(lint_tree: Lint) -> None:
    """A linear probe gives one `plain` pipeline to its training and its test set: adding
    random crops to it, as the hint says, would augment the test images too, so the
    finding says the test loader goes through it (review S). Two pipelines built alike by
    two calls of one helper are two objects: nothing is said of sharing then."""
    source = """
import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T


def make():
    return T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))])


plain = make()
train_set = torchvision.datasets.CIFAR10("d", train=True, transform=plain)
test_set = torchvision.datasets.CIFAR10("d", train=False, transform={test})
test_loader = torch.utils.data.DataLoader(test_set, batch_size=500)
loader = torch.utils.data.DataLoader(train_set, batch_size=256, shuffle=True)
head = nn.Sequential(nn.Flatten(), nn.Linear(3072, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
for epoch in range(50):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(head(x), y).backward()
        opt.step()
    with torch.no_grad():
        print(sum((head(x).argmax(1) == y).sum().item() for x, y in test_loader))
"""
    shared = lint_tree({"probe.py": source.format(test="plain")}, select=["CNN212"])
    assert [f.message for f in shared.findings] == [
        "training images get no random augmentation (transforms: ToTensor, Normalize): "
        "`test_loader` goes through this pipeline too; give the training set one of its own"]
    apart = lint_tree({"probe.py": source.format(test="make()")}, select=["CNN212"])
    assert [f.message for f in apart.findings] == [
        "training images get no random augmentation (transforms: ToTensor, Normalize)"]


def test_a_pipeline_a_helper_of_another_file_builds_names_the_loader(lint_tree: Lint) -> None:
    """`build_tf(jitter=False)` in a shared helper builds the pipeline: the finding sits at the
    helper and names the script's training loader as its other end (review V: a notebook
    passing `augment=False` was not named, while others pass True)."""
    helper = """
import torchvision.transforms as T


def build_tf(jitter=False):
    extra = [T.RandomHorizontalFlip()] if jitter else []
    return T.Compose(extra + [T.Resize(96), T.ToTensor()])
"""
    script = """
import torch
import torch.nn as nn
import torchvision
from pipelines import build_tf

data = torchvision.datasets.ImageFolder("xray/train", build_tf(jitter=False))
loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True)
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""
    result = lint_tree({"pipelines.py": helper, "baseline.py": script}, select=["CNN212"])
    (finding,) = result.findings
    assert (finding.path, finding.line) == ("pipelines.py", 6)
    assert finding.message.endswith(", for the training loader at baseline.py:7")
    assert [(r.path, r.line) for r in finding.related] == [("baseline.py", 7)]


@pytest.mark.parametrize("distance", ["nn.PairwiseDistance(p=2)", "nn.CosineSimilarity(dim=1)"])
def test_a_distance_module_in_the_loop_is_known(lint_tree: Lint, distance: str) -> None:
    """A triplet loss written with `dist = nn.PairwiseDistance(p=2)` in the epoch loop: a
    distance of two embeddings, with no weights and nothing else done; it no longer stops
    the rules about what the loop lacks (review U: 150 epochs with no best checkpoint kept
    were not reported)."""
    source = f"""
import torch
import torch.nn as nn

net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 8))
loader = torch.utils.data.DataLoader(torch.load("triplets.pt"), batch_size=16, shuffle=True)
opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-5)
for epoch in range(150):
    dist = {distance}
    for a, p, n in loader:
        ea, ep, en = net(a), net(p), net(n)
        loss = torch.relu(dist(ea, ep) - dist(ea, en) + 0.2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
"""
    result = lint_tree({"train.py": source}, select=["CNN203"])
    assert [f.code for f in result.findings] == ["CNN203"]


@pytest.mark.parametrize("later, judged", [
    ("evaluated", False),
    ("not evaluated", True),
    ("another model", True),
])
def test_a_warm_up_stage_before_the_validated_training_is_not_judged(
        lint_tree: Lint, later: str, judged: bool) -> None:
    """A distillation script first trains the student for 30 epochs to match its teacher's
    features, then trains it for 200 epochs, evaluated and checkpointed on its best: the
    warm-up has no validation of its own, and needs none (review S: CNN202 and CNN203 on
    the warm-up stage). A first stage whose model is not evaluated later, or that trains
    another model, is judged as before."""
    trained = "other" if later == "another model" else "student"
    evaluation = "" if later == "not evaluated" else """
    student.eval()
    with torch.no_grad():
        hits = sum((student(x).argmax(1) == y).sum().item() for x, y in test)
    if hits > best:
        best = hits
        torch.save(student.state_dict(), "best.pt")"""
    source = f"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def net():
    return nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def warm_up(model, teacher, loader, epochs):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(epochs):
        for x, _ in loader:
            loss = F.mse_loss(model(x), teacher(x).detach())
            opt.zero_grad()
            loss.backward()
            opt.step()


teacher, student, other = net(), net(), net()
train = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=128, shuffle=True)
test = torch.utils.data.DataLoader(torch.load("test.pt"), batch_size=256)
warm_up({trained}, teacher, train, 30)
opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, [100, 150])
best = 0
for epoch in range(200):
    student.train()
    for x, y in train:
        loss = F.cross_entropy(student(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sched.step(){evaluation}
"""
    result = lint_tree({"kd.py": source}, select=["CNN202", "CNN203"])
    first = sorted(f.code for f in result.findings if "30 epochs" in f.message)
    assert first == (["CNN202", "CNN203"] if judged else [])


def test_a_project_augmentation_in_a_kornia_sequence_is_read_as_one(lint_tree: Lint) -> None:
    """`nn.Sequential(KA.ColorJitter(...), RandomBlur(...), KA.RandomResizedCrop(...))` with
    `RandomBlur` the project's own subclass of kornia's augmentation base, moved to the GPU
    with `.to(device)` and applied to each batch twice (SimSiam's two views): the batches
    are augmented (review S, isaaccorley/simsiam-pytorch: the finding stayed on the real
    repository after the reproducer was fixed)."""
    source = """
import kornia
import kornia.augmentation as KA
import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T


class RandomBlur(kornia.augmentation.AugmentationBase2D):
    def __init__(self, p=0.5):
        super().__init__(p=p)


net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(16))
data = torchvision.datasets.CIFAR10("data", transform=T.Compose([T.Resize(32), T.ToTensor()]))
loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True)
views = nn.Sequential(KA.ColorJitter(0.4, 0.4, 0.4, 0.1), RandomBlur(),
                      KA.RandomResizedCrop((32, 32)))
views = views.to("cuda")
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(30):
    for x, _ in loader:
        a, b = views(x), views(x)
        loss = -nn.functional.cosine_similarity(net(a), net(b).detach()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
"""
    result = lint_tree({"pretrain.py": source}, select=["CNN212"])
    assert result.findings == []
