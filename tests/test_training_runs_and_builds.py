"""What a loop around training means, and which build of a network a script trains: cases
rebuilt in a few lines from patterns met in public notebooks and tutorials."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import Result, lint
from cnnlint.rule import load_rules
from conftest import write_tree
from helpers import BAD, plain_net

Lint = Callable[..., Result]


def found(result: Result, *wanted: str) -> list[tuple[str, int, str]]:
    return sorted((f.code, f.line, f.message) for f in result.findings if f.code in wanted)


ENSEMBLE = """
import torch
import torch.nn as nn

X = torch.randn(200, 2)
y = (X[:, 0] > 0).long()
members = 10


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x):
        return self.body(x)


BEFORE
for member in range(members):
    INSIDE
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    for t in range(1000):
        loss = nn.functional.cross_entropy(net(X), y)
        opt.zero_grad()
        loss.backward()
        UTILITY
        opt.step()
"""


def test_a_loop_building_the_model_it_trains_repeats_whole_runs(lint_tree: Lint) -> None:
    """Each pass of `for member in range(10)` builds a new network and trains it for 1000
    full-batch steps: the outer loop repeats whole runs (an ensemble), the inner one counts
    the epochs. A network built once, before the loop, is trained for 10 epochs of 1000
    steps each."""
    cases = (("", "net = Small()", "1000 epochs", 22),
             ("net = Small()", "pass", "10 epochs (`members`)", 19))
    for before, inside, epochs, line in cases:
        script = ENSEMBLE.replace("BEFORE", before).replace("INSIDE", inside)
        result = lint_tree({"fit.py": script.replace("UTILITY", "pass")})
        assert [(code, at) for code, at, message in found(result, "CNN202")
                if f"trains {epochs} " in message] == [("CNN202", line)], inside


def test_a_loader_chosen_by_an_undecided_test_is_read(lint_tree: Lint) -> None:
    """A trainer class that wraps its data in a DataLoader unless it is given one (`if
    type(data) is Dataset: ... else: ...`, a test the reader cannot decide): the two
    loaders merge into one whose name is not known, and the loop is read (it never resets
    the gradients: CNN205), with no internal error."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


class Runner:
    def __init__(self, net, data, lr=1e-3, epochs=3):
        self.net = net
        if type(data) is Dataset:
            self.loader = DataLoader(data, batch_size=32, shuffle=True)
        else:
            self.loader = data
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.epochs = epochs

    def fit(self):
        for epoch in range(self.epochs):
            for x, y in self.loader:
                nn.functional.cross_entropy(self.net(x), y).backward()
                self.opt.step()


net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
given = DataLoader(TensorDataset(torch.randn(8, 64), torch.zeros(8).long()), batch_size=4)
Runner(net, given).fit()
"""
    result = lint_tree({"train.py": script})
    assert result.errors == []
    assert [code for code, _, _ in found(result, "CNN205")] == ["CNN205"]


def test_a_loader_remade_by_a_method_not_followed_is_not_the_training_one(
        lint_tree: Lint) -> None:
    """`train_loader = train_loader.rebatch(batch_size=64)`, a method the reader cannot
    read: the loop draws from what it returns, not (as far as the reader knows) from the
    helper's DataLoader at batch 4 that the name held first, so no CNN201 names that batch.
    Iterating the helper's loader itself, or a wrapper handed it whole (a prefetcher), the
    model trains at batch 4."""
    helper = """
from torch.utils.data import DataLoader


def make_loader(files, batch_size=4):
    return DataLoader(files, batch_size=batch_size, shuffle=True)
"""
    net = """
import torch.nn as nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        return self.body(x)
"""
    script = """
import torch
import torch.nn.functional as F
from data import make_loader
from net import Small

model = Small()
train_loader = make_loader(["a.png", "b.png"])
REMADE
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
"""
    for remade, expected in (("train_loader = train_loader.rebatch(batch_size=64)", []),
                             ("", ["CNN201"]),
                             # handed whole to a wrapper not followed: still that loader
                             ("from prefetch import Prefetcher\n"
                              "train_loader = Prefetcher(train_loader)", ["CNN201"])):
        result = lint_tree({"data.py": helper, "net.py": net,
                            "train.py": script.replace("REMADE", remade)})
        assert [code for code, _, _ in found(result, "CNN201")] == expected, remade


def test_notebook_display_and_debugger_calls_do_not_hide_a_loop(lint_tree: Lint) -> None:
    """`IPython.display.clear_output()` or a debugger breakpoint inside a loop changes nothing
    about training: the loop is still judged (no validation: CNN202)."""
    for call in ("from IPython import display\n        display.clear_output(wait=True)",
                 "import ipdb\n        ipdb.set_trace()",
                 "import pdb\n        pdb.set_trace()"):
        script = ENSEMBLE.replace("BEFORE", "").replace("INSIDE", "net = Small()")
        result = lint_tree({"fit.py": script.replace("UTILITY", call)})
        assert [code for code, _, _ in found(result, "CNN202")] == ["CNN202"], call


VARIANTS = """
import torch
from torch import nn, optim


class Stack(nn.Module):
    def __init__(self, act, widths=(64, 32)):
        super().__init__()
        layers, width = [], 16
        for w in widths:
            layers += [nn.Linear(width, w), act]
            width = w
        self.seq = nn.Sequential(*layers, nn.Linear(width, 4))

    def forward(self, x):
        return self.seq(x)


def fit(net):
    opt = optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    for epoch in range(5):
        for x, y in torch.load("batches.pt"):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()


fit(Stack(act=nn.ReLU()))
deep = Stack(act=nn.ReLU(), widths=[64] * 10)
with torch.no_grad():
    print(deep(torch.randn(4, 16)).std())
"""


def test_a_variant_only_inspected_is_not_the_build_a_script_trains(lint_tree: Lint) -> None:
    """`fit(Stack(act))` trains the shallow build; `Stack(act, widths=[64] * 10)` is only
    built to look at its outputs. The deep one is not linked to the SGD that trains the
    other (CNN107 would blame that SGD's missing weight decay), while the shallow one is."""
    result = lint_tree({"nets.py": VARIANTS})
    assert found(result, "CNN107") == []
    trained = VARIANTS.replace("fit(Stack(act=nn.ReLU()))\n", "").replace(
        "with torch.no_grad():\n    print(deep(torch.randn(4, 16)).std())", "fit(deep)")
    messages = [message for _, _, message in found(lint_tree({"nets.py": trained}), "CNN107")]
    assert len(messages) == 1 and "no weight decay (`SGD` at nets.py:19)" in messages[0]


def test_builds_with_equal_arguments_are_one_variant_named_where_the_class_is(
        lint_tree: Lint) -> None:
    """A class needing `in_ch`, built as `Plain(in_ch=1)` in its own file's demo, as
    `Plain(in_ch=CH)` (CH = 1) by a plotting script that only loads weights, and the same
    way by the training script: one network, judged once, at the class (not at the plotting
    script, the first file by name, as if that build were another one)."""
    nets = plain_net("Plain", 10).replace("def __init__(self):", "def __init__(self, in_ch):") \
        + "\n\nif __name__ == '__main__':\n    print(Plain(in_ch=1))\n"
    show = """
import torch
from nets import Plain

CH = 1
net = Plain(in_ch=CH)
net.load_state_dict(torch.load("plain.pt"))
"""
    train = """
import torch
from nets import Plain

CH = 1
net = Plain(in_ch=CH)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    for x in torch.load("batches.pt"):
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
"""
    result = lint_tree({"nets.py": nets, "show.py": show, "train.py": train})
    assert {(f.code, f.path) for f in result.findings if f.code in ("CNN103", "CNN107")} \
        == {("CNN103", "nets.py"), ("CNN107", "nets.py")}


def test_a_network_training_itself_in_its_own_methods_is_read_as_training_code(
        lint_tree: Lint) -> None:
    """A network with `fit` and `train_epoch` methods calling `self.forward(x)`, trained by
    `Classifier().fit(loader)`: those methods are the training script, so the loop calls the
    model (it does not only use its weights) and has no validation (CNN202). With an
    evaluation method under `no_grad` called each epoch, it has one."""
    script = """
import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
        self.opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)

    def forward(self, x):
        return self.body(x)

    def train_epoch(self, loader):
        self.train()
        for x, y in loader:
            self.opt.zero_grad()
            nn.functional.cross_entropy(self.forward(x), y).backward()
            self.opt.step()

    @torch.no_grad()
    def score(self, loader):
        self.eval()
        hits = 0
        for x, y in loader:
            hits += (self.forward(x).argmax(1) == y).sum().item()
        return hits

    def fit(self, loader, held_out, epochs=40):
        for epoch in range(epochs):
            self.train_epoch(loader)
            SCORE


Classifier().fit(torch.load("train.pt"), torch.load("val.pt"))
"""
    alone = lint_tree({"net.py": script.replace("SCORE", "pass")})
    assert [code for code, _, _ in found(alone, "CNN202")] == ["CNN202"]
    assert not any("only uses its weights" in note for note in alone.notes())
    scored = lint_tree({"net.py": script.replace("SCORE", "print(self.score(held_out))")})
    assert found(scored, "CNN202") == []


def test_a_build_with_unknown_arguments_is_not_a_variant_of_another_size(
        lint_tree: Lint) -> None:
    """`Stack(act, widths=[64] * width_count())` (a count the reader cannot know, from a
    file) is trained; `Stack(act, widths=[64] * 10)` is only inspected. The trained build
    holds another number of layers than that variant, so it is not that variant: the SGD
    training the one is not blamed on the other (CNN107). One of the same size (only its
    activation not known) may be it."""
    unknown = VARIANTS.replace(
        "fit(Stack(act=nn.ReLU()))\n",
        "fit(Stack(act=nn.ReLU(), widths=[64] * len(open('widths.txt').readlines())))\n")
    assert found(lint_tree({"nets.py": unknown}), "CNN107") == []
    same_size = VARIANTS.replace(
        "fit(Stack(act=nn.ReLU()))\n",
        "fit(Stack(act=getattr(nn, open('act.txt').read())(), widths=[64] * 10))\n")
    messages = [message for _, _, message in found(lint_tree({"nets.py": same_size}),
                                                    "CNN107")]
    assert len(messages) == 1 and "no weight decay (`SGD` at nets.py:19)" in messages[0]


def test_two_models_of_one_name_stepped_apart_are_a_gan(lint_tree: Lint) -> None:
    """A critic and a generator both built by `make_mlp(...)`, each stepped by its own
    optimizer (the critic in an inner loop of several steps): two models trained apart, as
    in any GAN, so the loop is not judged as one model's training (no CNN202, CNN203,
    CNN209). One model stepped by both optimizers is one model's training."""
    script = """
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_mlp(inp, out):
    return nn.Sequential(nn.Linear(inp, 64), nn.ReLU(), nn.Linear(64, out))


critic = make_mlp(2, 1)
gen = GENERATOR
opt_c = torch.optim.Adam(critic.parameters())
opt_g = torch.optim.Adam(gen.parameters())

for it in range(500):
    for _ in range(3):
        fake = gen(torch.randn(32, 4))
        opt_c.zero_grad()
        F.binary_cross_entropy_with_logits(critic(fake), torch.zeros(32, 1)).backward()
        opt_c.step()
    opt_g.zero_grad()
    critic(gen(torch.randn(32, 4))).mean().backward()
    opt_g.step()
"""
    for generator, expected in (("make_mlp(4, 2)", []),
                                ("critic", ["CNN202", "CNN203", "CNN209"])):
        result = lint_tree({"toy_gan.py": script.replace("GENERATOR", generator)})
        assert [code for code, _, _ in found(result, "CNN202", "CNN203", "CNN209")] \
            == expected, generator


@pytest.mark.parametrize("critics, painters, apart", [
    # Two critics under one optimizer, two painters under another (a CycleGAN).
    ("list(critic_a.parameters()) + list(critic_b.parameters())",
     "list(painter_a.parameters()) + list(painter_b.parameters())", True),
    # Both optimizers over a model in common: one model's training, judged.
    ("list(critic_a.parameters()) + list(painter_a.parameters())",
     "list(painter_a.parameters()) + list(painter_b.parameters())", False),
])
def test_pairs_of_models_stepped_by_optimizers_of_their_own_are_trained_apart(
        lint_tree: Lint, critics: str, painters: str, apart: bool) -> None:
    """A CycleGAN steps its two critics with one optimizer and its two generators with
    another: models trained apart, as in any GAN, so the loop is not judged as one model's
    training (no CNN202)."""
    script = """
import torch
import torch.nn as nn


def conv_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))


critic_a, critic_b, painter_a, painter_b = conv_net(), conv_net(), conv_net(), conv_net()
opt_critics = torch.optim.Adam(CRITICS, lr=2e-4)
opt_painters = torch.optim.Adam(PAINTERS, lr=2e-4)
loader = torch.utils.data.DataLoader(torch.load("photos.pt"), batch_size=4, shuffle=True)
for epoch in range(30):
    for x in loader:
        fake_a, fake_b = painter_a(x), painter_b(x)
        opt_critics.zero_grad()
        (critic_a(fake_a.detach()).mean() - critic_b(fake_b.detach()).mean()).backward()
        opt_critics.step()
        opt_painters.zero_grad()
        (critic_a(fake_a).mean() + critic_b(fake_b).mean()).backward()
        opt_painters.step()
""".replace("CRITICS", critics).replace("PAINTERS", painters)
    result = lint_tree({"cycle.py": script})
    assert [code for code, _, _ in found(result, "CNN202")] == ([] if apart else ["CNN202"])
    assert any("optimizers of their own" in note for note in result.notes()) == apart


@pytest.mark.parametrize("update, apart", [
    # One loss, one backward pass, then each optimizer steps: a seq2seq's encoder and
    # decoder minimise one loss together.
    ("loss = crit(dec(enc(x)), y)\n        loss.backward()\n        opt_enc.step()\n"
     "        opt_dec.step()", False),
    # Two losses, each with its own backward pass and step: trained apart.
    ("crit(dec(enc(x).detach()), y).backward()\n        opt_dec.step()\n"
     "        (-crit(dec(enc(x)), y)).backward()\n        opt_enc.step()", True),
    # Two backward passes before both steps: which loss each step minimises is not told.
    ("crit(dec(enc(x).detach()), y).backward()\n        (-crit(dec(enc(x)), y)).backward()\n"
     "        opt_dec.step()\n        opt_enc.step()", True),
])
def test_optimizers_stepped_after_one_backward_pass_train_together(
        lint_tree: Lint, update: str, apart: bool) -> None:
    """An encoder and a decoder, each with an optimizer of its own, stepped after one
    backward pass of one loss are one model's training, judged as such (CNN202: nothing is
    evaluated on held-out data); stepped after backward passes of their own, they are
    trained apart (as a GAN's models are) and the loop is not judged."""
    script = """
import torch
import torch.nn as nn

enc = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
dec = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
opt_enc = torch.optim.Adam(enc.parameters(), lr=1e-3)
opt_dec = torch.optim.Adam(dec.parameters(), lr=1e-3)
crit = nn.CrossEntropyLoss()
loader = torch.utils.data.DataLoader(torch.load("pairs.pt"), batch_size=32, shuffle=True)
for epoch in range(40):
    for x, y in loader:
        opt_enc.zero_grad()
        opt_dec.zero_grad()
        UPDATE
""".replace("UPDATE", update)
    result = lint_tree({"seq.py": script})
    assert [code for code, _, _ in found(result, "CNN202")] == ([] if apart else ["CNN202"])
    assert any("optimizers of their own" in note for note in result.notes()) == apart


def test_models_trained_one_per_pass_of_a_loop_are_not_trained_apart(lint_tree: Lint) -> None:
    """`for net in (zeros, ones): fit(net)` trains two models of one class, one per pass of
    the loop, each by its own optimizer: no GAN (which steps both in every pass), so the
    loop's training is judged (CNN202: the loop evaluates nothing)."""
    script = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, value=None):
        super().__init__()
        self.fc = nn.Linear(20, 2)

    def forward(self, x):
        return self.fc(x)


def fit(model, loader):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(20):
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()


loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
for model in (Net(0), Net(1)):
    fit(model, loader)
"""
    result = lint_tree({"compare.py": script})
    assert [code for code, _, _ in found(result, "CNN202")] == ["CNN202"]


def test_a_teacher_whose_targets_a_warmed_up_loss_uses_does_not_evaluate(
        lint_tree: Lint) -> None:
    """A mean teacher run without gradients makes targets for a consistency loss that is
    `0.0` until a warm-up ends: its outputs still feed the step (no evaluation in train
    mode, CNN204). The same forward whose outputs nothing uses is an evaluation."""
    script = """
import torch
import torch.nn as nn


def make():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Dropout2d(0.1), nn.Conv2d(8, 2, 1))


student, teacher = make(), make()
loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=8, shuffle=True)
opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
step = 0
for epoch in range(10):
    for x, y in loader:
        out = student(x)
        with torch.no_grad():
            target = torch.softmax(teacher(x + 0.1 * torch.randn_like(x)), dim=1)
        if step < 1000:
            consistency = 0.0
        else:
            consistency = torch.mean((torch.softmax(out, dim=1) - USED) ** 2)
        loss = nn.functional.cross_entropy(out, y) + 0.1 * consistency
        opt.zero_grad()
        loss.backward()
        opt.step()
        step = step + 1
"""
    for used, expected in (("target", []), ("out.detach()", ["CNN204"])):
        result = lint_tree({"mt.py": script.replace("USED", used)})
        assert [code for code, _, _ in found(result, "CNN204")] == expected, used


def test_a_teacher_picked_by_an_option_whose_output_is_lost_is_not_judged(
        lint_tree: Lint) -> None:
    """The teacher is one of two networks an option picks, one returning a tensor and the
    other a tuple: what the step does with its output (under `torch.no_grad()`, inside the
    training loop) is not followed, so it is not said to be an evaluation pass (CNN204).
    The same network called over a validation loader is one."""
    script = """
import torch
import torch.nn as nn


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.Dropout2d(0.1))

    def forward(self, x):
        return self.body(x)


class Deep(Plain):
    def forward(self, x):
        y = self.body(x)
        return y, y.mean()


def net_factory(net_type):
    if net_type == "plain":
        return Plain()
    elif net_type == "deep":
        return Deep()


def train(net_type):
    student, teacher = net_factory(net_type), net_factory(net_type)
    train_loader = torch.utils.data.DataLoader(torch.load("t.pt"), batch_size=8, shuffle=True)
    val_loader = torch.utils.data.DataLoader(torch.load("v.pt"), batch_size=8)
    opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(10):
        for x, y in train_loader:
            with torch.no_grad():
                target = teacher(x)
            loss = nn.functional.mse_loss(student(x)[0], target[0])
            opt.zero_grad()
            loss.backward()
            opt.step()
"""
    assert found(lint_tree({"mt.py": script}), "CNN204") == []
    evaluating = script + """        with torch.no_grad():
            for x, y in val_loader:
                print(teacher(x))
"""
    assert [code for code, _, _ in found(lint_tree({"mt.py": evaluating}), "CNN204")] \
        == ["CNN204"]


def test_batchnorm_frozen_in_a_model_a_trainer_steps_is_not_judged(lint_tree: Lint) -> None:
    """`model.freeze_bn()` keeps the BatchNorm layers in eval mode, and a trainer object
    (a plain class or a module wrapping the model, with a `forward` that computes the loss)
    runs the training step: small batches are no risk (CNN201). Without the freeze they
    are."""
    nets = """
import torch.nn as nn


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.head = nn.Conv2d(16, 3, 1)

    def forward(self, x):
        return self.head(self.body(x))

    def freeze_bn(self):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


class StepRunner(BASE):
    def __init__(self, net, opt):
        INIT
        self.net = net
        self.opt = opt

    def forward(self, x, y):
        return ((self.net(x).mean(dim=(2, 3)) - y) ** 2).mean()

    def step(self, x, y):
        self.opt.zero_grad()
        loss = self.forward(x, y)
        loss.backward()
        self.opt.step()
"""
    script = """
import torch
from nets import Detector, StepRunner

model = Detector()
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
FREEZE
loader = torch.utils.data.DataLoader(torch.load("pairs.pt"), batch_size=2, shuffle=True)
runner = StepRunner(model, opt)
for epoch in range(5):
    for x, y in loader:
        runner.step(x, y)
"""
    for base, init in (("object", "pass"), ("nn.Module", "super().__init__()")):
        for freeze, expected in (("model.freeze_bn()", []), ("pass", ["CNN201"])):
            result = lint_tree({"nets.py": nets.replace("BASE", base).replace("INIT", init),
                                "train.py": script.replace("FREEZE", freeze)})
            assert [code for code, _, _ in found(result, "CNN201")] == expected, (base, freeze)


def test_a_sequential_a_factory_makes_of_a_network_s_pieces_trains_with_its_holder(
        lint_tree: Lint) -> None:
    """`trunk()` returns `nn.Sequential(full.stem, full.units)` of a bigger network, and a
    detector holds it as its backbone: the script training the detector trains the trunk,
    so CNN107 on the trunk names that optimizer, rather than saying no training script
    was found."""
    trunk = """
import torch.nn as nn


class Full(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.units = nn.Sequential(*[nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
                                     for _ in range(10)])
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.units(self.stem(x)).mean((2, 3)))


def trunk():
    full = Full()
    return nn.Sequential(full.stem, full.units)
"""
    detector = """
import torch.nn as nn
from trunk import trunk


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = trunk()
        self.head = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        return self.head(self.backbone(x))
"""
    script = """
import torch
from detector import Detector

net = Detector()
opt = torch.optim.Adam(net.parameters(), 1e-3)
for epoch in range(10):
    for x, y in torch.load("pairs.pt"):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
"""
    result = lint_tree({"trunk.py": trunk, "detector.py": detector, "train.py": script})
    (finding,) = [f for f in result.findings if f.code == "CNN107" and f.symbol == "trunk"]
    assert finding.message == ("11 weighted layers, no dropout, and no weight decay "
                               "(`Adam` at train.py:5)")


def test_a_gan_whose_pair_an_option_picks_is_trained_apart(lint_tree: Lint) -> None:
    """The critic and the generator are each one of two classes an option picks (the reader
    cannot decide it): each optimizer still steps one model, so the loop trains two models
    apart (a GAN) and its rules stay silent (CNN202)."""
    script = """
import torch
from torch import nn


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))

    def forward(self, x):
        return self.body(x)


class Maker(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 128), nn.LeakyReLU(0.2), nn.Linear(128, 784))

    def forward(self, z):
        return self.body(z)


class Critic2(Critic):
    pass


class Maker2(Maker):
    pass


def make_pair(kind):
    if kind == "plain":
        return Critic(), Maker()
    elif kind == "other":
        return Critic2(), Maker2()
    raise ValueError(kind)


def run(kind, epochs=5):
    critic, maker = make_pair(kind)
    c_opt = torch.optim.Adam(critic.parameters(), lr=2e-4)
    m_opt = torch.optim.Adam(MAKER.parameters(), lr=2e-4)
    for epoch in range(epochs):
        for real in torch.load("real.pt"):
            c_opt.zero_grad()
            fake = maker(torch.randn(64, 64))
            (critic(real).mean() - critic(fake.detach()).mean()).backward()
            c_opt.step()
            m_opt.zero_grad()
            critic(maker(torch.randn(64, 64))).mean().backward()
            m_opt.step()
"""
    for stepped, expected in (("maker", []), ("critic", ["CNN202"])):
        result = lint_tree({"gan.py": script.replace("MAKER", stepped)})
        assert [code for code, _, _ in found(result, "CNN202")] == expected, stepped


def test_a_held_out_loader_the_model_is_stepped_on_trains(lint_tree: Lint) -> None:
    """An option that also fits the validation split (`for x, y in test_loader:`, or batches
    drawn from it with `next`, with a backward and a step) trains on it: no evaluation in
    train mode (CNN204). The same loop with no step, under no_grad, is an evaluation in
    train mode."""
    script = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


fit_loader = torch.utils.data.DataLoader(torch.load("fit.pt"), batch_size=64, shuffle=True)
test_loader = torch.utils.data.DataLoader(torch.load("held.pt"), batch_size=64)
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for epoch in range(30):
    net.train()
    for x, y in fit_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    HELD
"""
    trains = """for x, y in test_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()"""
    evaluates = """with torch.no_grad():
        for x, y in test_loader:
            print(net(x).argmax(1))"""
    drawn = """held = iter(test_loader)
    for k in range(10):
        x, y = next(held)
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()"""
    for held, expected in ((trains, []), (drawn, []), (evaluates, ["CNN204"])):
        result = lint_tree({"fit.py": script.replace("HELD", held)})
        assert [code for code, _, _ in found(result, "CNN204")] == expected, held


PROBE = """
import torch
import torch.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1))

    def forward(self, x):
        return self.body(x)


def peak_memory(batch=4):
    net = Tiny()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.95)
    images = IMAGES
    labels = LABELS
    for _ in range(40):
        opt.zero_grad()
        out = net(images)
        loss = nn.functional.cross_entropy(out, labels)
        PENALTY
        loss.backward()
        opt.step()
    return torch.cuda.max_memory_allocated()


peak_memory()
"""


def test_a_model_stepped_on_random_images_against_random_labels_learns_nothing(
        lint_tree: Lint) -> None:
    """Forty steps on `torch.rand` images against `torch.rand` labels drawn apart from them
    measure memory or speed: no validation, best checkpoint or schedule can be missing.
    Labels computed from the random images are a task to learn, and loaded images are data:
    those loops are judged."""
    noise = "torch.rand((batch, 1, 32, 32))"
    apart = "(torch.rand((batch, 32, 32)) * 3).round().clamp_(0, 2).long()"
    cases = ((noise, apart, []),
             (noise, "(images[:, 0] > 0.5).long()", ["CNN202", "CNN203", "CNN209"]),
             ('torch.load("images.pt")', apart, ["CNN202", "CNN203", "CNN209"]))
    # (A term against a tensor of zeros, a constant, changes nothing.)
    penalty = "loss = loss + 0.1 * (out - torch.zeros((batch, 3, 32, 32))).pow(2).mean()"
    for images, labels, expected in cases:
        for added in ("pass", penalty):
            script = PROBE.replace("IMAGES", images).replace("LABELS", labels)
            result = lint_tree({"probe.py": script.replace("PENALTY", added)})
            assert [code for code, _, _ in found(result, "CNN202", "CNN203", "CNN209")] \
                == expected, (images, labels, added)


CHAIN = """
import torch
import torch.nn as nn


class Chain(nn.Module):
    def __init__(self, blocks=10):
        super().__init__()
        layers = [nn.Conv2d(3, 16, 3, padding=1), nn.ReLU()]
        for _ in range(blocks):
            layers += [nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


def fit(depth=4):
    net = BUILD
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(3):
        for x, y in torch.load("batches.pt"):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()


fit()
"""


def test_a_class_trained_only_in_a_build_of_another_size_is_not_counted_as_trained(
        lint_tree: Lint) -> None:
    """`Chain(blocks=depth - 2)` trains a network of 4 weighted layers, not the 12 that the
    class's defaults build: no-regularization must not pin that SGD on the default count.
    Trained as built by its defaults, it is; trained only as a deeper build spelled out, the
    class is judged as that build (named by its call)."""
    for build, expected in (("Chain(blocks=depth - 2)", None), ("Chain(blocks=1)", None),
                            ("Chain()", "12 weighted layers, no"),
                            ("Chain(blocks=20)", "22 weighted layers, no")):
        result = lint_tree({"chain.py": CHAIN.replace("BUILD", build)})
        messages = [(line, message) for _, line, message in found(result, "CNN107")]
        named = " (Chain(blocks=20))" if build == "Chain(blocks=20)" else ""
        assert messages == ([] if expected is None else [
            (5, f"{expected} dropout, and no weight decay (`SGD` at chain.py:20){named}")]), build


GRID_FILES = {
    "net.py": """
import torch.nn as nn


class Unit(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.a = nn.Conv2d(ch, ch, 3, padding=1)
        self.b = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.b(self.a(x).relu())


class Grid(nn.Module):
    def __init__(self, ch=16, units=3, num_classes=2):
        super().__init__()
        self.head = nn.Conv2d(2, ch, 3, padding=1)
        self.units = nn.Sequential(*[Unit(ch) for _ in range(units)])
        self.tail = nn.Conv2d(ch, num_classes, 3, padding=1)

    def forward(self, x):
        return self.tail(self.units(self.head(x)))
""",
    "fit.py": """
import torch
from net import Grid

model = BUILD
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(100):
    for x, y in torch.load("pairs.pt"):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
""",
}


@pytest.mark.parametrize("build, expected", [
    ("Grid(ch=32, units=4)", "10 conv layers with no normalization among them, from `head` "
     "(Conv2d) to `tail` (Conv2d) (Grid(ch=32, units=4))"),
    ("Grid(32, 4)", "10 conv layers with no normalization among them, from `head` "
     "(Conv2d) to `tail` (Conv2d) (Grid(32, 4))"),
    # The defaults' network, however spelled, or of a size not known: judged as the class.
    ("Grid(units=3, num_classes=5)", "8 conv layers with no normalization among them, from "
     "`head` (Conv2d) to `tail` (Conv2d)"),
    ("Grid(units=int(open('n').read()))", "8 conv layers with no normalization among them, "
     "from `head` (Conv2d) to `tail` (Conv2d)"),
])
@pytest.mark.parametrize("linted", [None, ["net.py"], ["fit.py"]])
def test_a_class_the_project_only_trains_with_other_arguments_is_judged_as_so_built(
        in_tmp: Path, build: str, expected: str, linted: list[str] | None) -> None:
    """Every script that trains `Grid` builds it with other arguments than its defaults:
    the network its defaults build is trained nowhere, so the model rules judge the build
    that trains (10 convs, not the defaults' 8), still at the class, whichever file is
    linted: the build is the finding's other end. A build the defaults' network may be
    keeps the class as it is (and the script is then no end of the finding)."""
    files = {**GRID_FILES, "fit.py": GRID_FILES["fit.py"].replace("BUILD", build),
             "pyproject.toml": ""}
    names = write_tree(in_tmp, files)
    paths = linted or [name for name in names if name.endswith(".py")]
    rules = load_rules()
    result = lint(paths, build_settings(paths, Flags(), rules), rules)
    built = "(Grid(" in expected
    assert [(f.path, f.line, f.message, [(r.path, r.line, r.message) for r in f.related])
            for f in result.findings if f.code == "CNN104"] == (
        [] if linted == ["fit.py"] and not built else
        [("net.py", 14, expected, [("fit.py", 4, f"built as `{build}`")] if built else [])])


RECIPE_FILES = {
    "nets.py": """
import torch.nn as nn


class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(11)])
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.head(self.body(x))
""",
    "recipes/base.py": """
import torch


class Recipe:
    def make_optimizer(self, model):
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
""",
    "recipes/trunk.py": """
from nets import Trunk
from recipes.base import Recipe


class TrunkRecipe(Recipe):
    def make_model(self):
        return Trunk()
""",
    "loop.py": """
import torch


class Loop:
    def __init__(self, recipe):
        self.recipe = recipe
        self.scaler = torch.cuda.amp.GradScaler()

    def run(self, epochs=3):
        model = self.recipe.make_model()
        opt = self.recipe.make_optimizer(model)
        for _ in range(epochs):
            for x in torch.load("batches.pt"):
                opt.zero_grad()
                self.scaler.scale(model(x).mean()).backward()
                self.scaler.step(opt)
                self.scaler.update()
""",
    "main.py": """
from loop import Loop
from recipes.trunk import TrunkRecipe

Loop(TrunkRecipe()).run()
""",
}


def test_a_script_running_a_loop_whose_optimizer_a_recipe_base_class_builds_is_read(
        lint_tree: Lint) -> None:
    """`Loop(TrunkRecipe()).run()`: the script names no optimizer, and neither do the files it
    imports; the recipe's base class in a third file builds it, with weight decay. The
    script is still read as training, so no-regularization sees the decay."""
    result = lint_tree(RECIPE_FILES)
    assert found(result, "CNN107") == []
    assert [run.path for run in result.runs] == ["main.py"]


def test_a_model_an_experiment_loaded_by_file_name_builds_may_be_any(lint_tree: Lint) -> None:
    """An experiment loaded with importlib (`load(path).Recipe()`) hands the loop a model
    and an optimizer the reader cannot follow, and the loop steps them through a gradient
    scaler: any network of the project may be the one trained, so none is said to have no
    training script."""
    files = dict(RECIPE_FILES)
    files["main.py"] = """
import importlib
import sys

from loop import Loop

recipe = importlib.import_module(sys.argv[1]).TrunkRecipe()
Loop(recipe).run()
"""
    result = lint_tree(files)
    assert found(result, "CNN107") == []
    assert any("main.py: after backward(), a call that could not be followed may step"
               in note for note in result.notes())


ZOO = """
import torch.nn as nn


def plain(n):
    layers = []
    for _ in range(n):
        layers += [nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))


def deep():
    return plain(12)


def shallow():
    return plain(2)
"""

FIT_ZOO = """
import torch
from nets import zoo

model = BUILD
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
"""


def test_a_network_a_script_builds_by_a_factory_is_judged_once_where_the_factory_is(
        lint_tree: Lint) -> None:
    """`model = zoo.deep()` at a script's top level is the network the factory `deep` builds:
    judged there, and trained by the script (not a second model named `model` that no
    script trains). `getattr(zoo, "deep")()` names the same factory, written as a string."""
    for build in ("zoo.deep()", 'getattr(zoo, "deep")()'):
        files = {"nets/__init__.py": "", "nets/zoo.py": ZOO,
                 "fit.py": FIT_ZOO.replace("BUILD", build)}
        result = lint_tree(files)
        assert {f.path for f in result.findings} == {"nets/zoo.py"}, build
        assert [message for _, _, message in found(result, "CNN107")] == [
            "13 weighted layers, no dropout, and no weight decay (`SGD` at fit.py:5)"], build


def test_file_numpy_and_tensor_housekeeping_in_a_loop_hides_nothing(lint_tree: Lint) -> None:
    """Lines written through a file handle (`f.writelines`), a numpy array converted
    (`.astype`), a code tensor tiled (`.repeat`), an epoch number padded for printing
    (`.zfill`, `.rjust`), a checkpoint saved under a `Path` of a folder not known
    (`.resolve()`, `.parent.mkdir()`) and tensor arithmetic in place on a value not known
    (`.exp_()`) in the epoch loop cannot train or evaluate anything: the loop is still
    judged (no validation)."""
    script = """
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


def log_lines(path, lines):
    with open(path, "w") as f:
        f.writelines(lines)


def to_uint8(images):
    return (images * 255).astype(np.uint8)


def tile(codes):
    return codes.repeat(2, 1)


def store(model, where):
    target = Path(where).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), target / "last.pt")


model = nn.Linear(8, 8)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
history = []
for epoch in range(30):
    for x in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), x).backward()
        opt.step()
    HOUSEKEEPING
"""
    for chore in ('log_lines("log.txt", [str(epoch)])', "to_uint8(np.zeros(3))",
                  "tile(history[-1])", 'print(f"epoch {str(epoch).zfill(3)}")',
                  'print(str(epoch).rjust(4), "done".center(8))',
                  "store(model, open('out.txt').read())",
                  "history[-1].mul(0.5).exp_()"):
        result = lint_tree({"fit.py": script.replace("HOUSEKEEPING", chore)})
        assert [code for code, _, _ in found(result, "CNN202")] == ["CNN202"], chore


# Three epochs of SGD with weight decay on `net`, the end of a training script.
DECAYED_FIT = """opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
for epoch in range(3):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
"""


def test_a_trunk_a_factory_builds_inside_a_picker_trains_with_the_model_holding_it(
        lint_tree: Lint) -> None:
    """`self.body = choose("deep")` in a model's constructor, `choose` a plain function
    returning `deep_trunk()`: the trunk that factory builds is part of the model the script
    trains with weight decay, so no-regularization does not say it has no training script
    (the model's defaults fail its assertion: it is known only as the script builds it)."""
    nets = """
import torch.nn as nn


class Trunk(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.convs = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(n)])

    def forward(self, x):
        return self.convs(x)


def deep_trunk():
    return Trunk(10)


def choose(kind=None):
    if kind == "deep":
        return deep_trunk()
    return None


class Tagger(nn.Module):
    def __init__(self, classes=3, ignore=None):
        assert ignore is not None
        super().__init__()
        self.body = choose("deep")
        self.head = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        return self.head(self.body(x))
"""
    fit = """
import torch
from nets import Tagger

net = Tagger(classes=5, ignore=255)
""" + DECAYED_FIT
    assert found(lint_tree({"nets.py": nets, "fit.py": fit}), "CNN107") == []


@pytest.mark.parametrize("signature", ["classes", "classes=1024"])
def test_a_backbone_a_builder_the_script_may_pick_takes_layers_from_may_be_trained(
        lint_tree: Lint, signature: str) -> None:
    """`create = make_small` by default, `make_mobile` under another option: `make_mobile`
    builds `Mobile(1001).features` into the network it returns, so the script may train
    Mobile's layers; no-regularization does not say Mobile has no training script. With a
    default number of classes, the class's own build differs from `Mobile(1001)` only in
    its classifier's width: it is the network the builder builds."""
    nets = """
import torch.nn as nn


class Mobile(nn.Module):
    def __init__(self, SIGNATURE):
        super().__init__()
        self.features = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(10)])
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


def make_mobile(num):
    trunk = Mobile(1001).features
    return nn.Sequential(trunk, nn.Conv2d(8, num, 1))


def make_small(num):
    return nn.Sequential(nn.Conv2d(8, num, 1))
"""
    fit = """
import argparse
import torch
from nets import make_mobile, make_small

parser = argparse.ArgumentParser()
parser.add_argument("--net", default="small")
args = parser.parse_args()
if args.net == "mobile":
    create = make_mobile
else:
    create = make_small
net = create(4)
""" + DECAYED_FIT
    nets = nets.replace("SIGNATURE", signature)
    assert found(lint_tree({"nets.py": nets, "fit.py": fit}), "CNN107") == []


GUARDED = """
import torch.nn as nn


class Guarded(nn.Module):
    def __init__(self, depth=10, ignore_label=None):
        assert ignore_label is not None, "give the label to ignore"
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(depth)])

    def forward(self, x):
        return self.body(x)
"""


def test_a_class_whose_defaults_fail_its_assertion_is_read_as_the_project_builds_it(
        lint_tree: Lint) -> None:
    """`Guarded()` stops at `assert ignore_label is not None`: its defaults build nothing.
    The call the project makes (`Guarded(depth=12, ignore_label=255)`) is read instead, as
    for a class that needs arguments; with no such call the class is not read, and
    `--verbose` says why (rather than judging the layers built before the assertion)."""
    build = 'from nets import Guarded\n\nnet = Guarded(depth=12, ignore_label=255)\n'
    result = lint_tree({"nets.py": GUARDED, "build.py": build})
    assert [(f.path, f.line, f.message) for f in result.findings if f.code == "CNN104"] == [
        ("build.py", 3, "12 conv layers with no normalization among them, from `body.0` "
                        "(Conv2d) to `body.11` (Conv2d) (Guarded(depth=12, ignore_label=255))")]
    alone = lint_tree({"nets.py": GUARDED, "build.py": "import nets\n"})
    assert [f for f in alone.findings if f.code.startswith("CNN1")] == []
    assert any("`Guarded` is not read: its defaults fail an assertion" in note
               for note in alone.notes())
    # The note says which way the defaults stop it: here a keyword read from `**kwargs`.
    keyed = GUARDED.replace("ignore_label=None):", "**kwargs):").replace(
        "assert ignore_label is not None, \"give the label to ignore\"",
        "ignore_label = kwargs[\"ignore_label\"]")
    assert "kwargs[" in keyed
    alone = lint_tree({"nets.py": keyed, "build.py": "import nets\n"})
    assert any("`Guarded` is not read: its defaults lack a keyword its constructor reads"
               in note for note in alone.notes())


def test_a_progress_bar_over_a_project_loader_class_hides_nothing(lint_tree: Lint) -> None:
    """`bar = tqdm(loader)` over a project class derived from DataLoader, then
    `bar.set_description(...)`: the bar is read as the loader, and a plain method it lacks
    in the project (tqdm's) trains nothing, so the loop is still judged (no validation)."""
    script = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm


class Pairs(DataLoader):
    def __init__(self, path, batch_size):
        super().__init__(torch.load(path), batch_size=batch_size, shuffle=True)


model = nn.Linear(8, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loader = Pairs("train.pt", 32)
for epoch in range(30):
    bar = tqdm(loader)
    for x, y in bar:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        bar.set_description(f"epoch {epoch}")
"""
    assert [code for code, _, _ in found(lint_tree({"fit.py": script}), "CNN202")] == ["CNN202"]


def test_an_evaluation_in_train_mode_of_a_model_whose_batchnorm_is_frozen_is_harmless(
        lint_tree: Lint) -> None:
    """`net.freeze_bn()` keeps every BatchNorm in eval mode; a validation pass under
    `no_grad()` without `net.eval()` then normalises with the running statistics anyway, and
    there is no dropout: no missing-eval-mode finding. Without the freeze, there is one."""
    script = """
import torch
import torch.nn as nn


class Det(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Conv2d(8, 2, 1)

    def freeze_bn(self):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))))


net = Det()
net.train()
FREEZE
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
for epoch in range(3):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in torch.load("val.pt"):
            print(nn.functional.cross_entropy(net(x), y).item())
"""
    for freeze, expected in (("net.freeze_bn()", []), ("", ["CNN204"])):
        result = lint_tree({"fit.py": script.replace("FREEZE", freeze)})
        assert [code for code, _, _ in found(result, "CNN204")] == expected, freeze


KW_FILES = {
    "lib/__init__.py": "",
    "lib/ladder.py": """
import torch
from torch import nn


class Rung(nn.Module):
    def __init__(self, cin, cout, norm):
        super().__init__()
        layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
        if norm:
            layers.append(nn.BatchNorm2d(cout))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class Ladder(nn.Module):
    def __init__(self, in_ch=1, rungs=9, norm=False):
        super().__init__()
        chans = [in_ch] + [8] * rungs
        self.rungs = nn.Sequential(*[Rung(a, b, norm) for a, b in zip(chans, chans[1:])])
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        return self.head(self.rungs(x))
""",
    "app/__init__.py": "",
    "app/wrapped.py": """
import torch
from torch import nn

from lib.ladder import Ladder


class Wrapped(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.in_norm = nn.BatchNorm2d(kw["in_ch"])
        self.core = Ladder(**kw)

    def forward(self, x):
        return torch.sigmoid(self.core(self.in_norm(x)))
""",
    "app/fit.py": """
import torch
from app.wrapped import Wrapped


def main():
    net = Wrapped(in_ch=3, rungs=4, norm=True)
    opt = torch.optim.Adam(net.parameters())
    for epoch in range(3):
        for x, y in torch.load("train.pt"):
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy(net(x), y).backward()
            opt.step()


if __name__ == "__main__":
    main()
""",
}


def test_a_wrapper_whose_defaults_miss_a_keyword_is_read_as_the_project_builds_it(
        lint_tree: Lint) -> None:
    """`Wrapped(**kw)` reads `kw["in_ch"]`: built with no keywords it raises KeyError, so its
    defaults build nothing, and the `Ladder` inside is not judged as its defaults build it
    (no norm: CNN104 said "10 conv layers with no normalization"). The project's call
    (`Wrapped(in_ch=3, rungs=4, norm=True)`) is the build judged, at the class; and
    `Ladder`, trained as a block of it, is counted as built there (5 weighted layers, not
    its defaults' 10)."""
    result = lint_tree(KW_FILES)
    assert found(result, "CNN104") == []
    assert [(f.path, f.message) for f in result.findings if f.code == "CNN107"] == []
    deeper = dict(KW_FILES)
    deeper["app/fit.py"] = KW_FILES["app/fit.py"].replace("rungs=4", "rungs=12")
    messages = sorted((f.path, f.message) for f in lint_tree(deeper).findings
                      if f.code == "CNN107")
    assert messages == [
        ("app/wrapped.py", "13 weighted layers, no dropout, and no weight decay (`Adam` at "
                           "app/fit.py:7) (Wrapped(in_ch=3, rungs=12, norm=True))"),
        ("lib/ladder.py", "13 weighted layers as built at app/fit.py:6, no dropout, and no "
                          "weight decay (`Adam` at app/fit.py:7)")]


def test_a_dropout_layer_corrupting_a_denoiser_s_input_is_noise_not_a_model(
        lint_tree: Lint) -> None:
    """`masker = nn.Dropout(0.3)` applied to `torch.ones(...)` and multiplied into the batch
    corrupts it afresh each time (a denoising autoencoder): the training images get random
    changes (no CNN212), and the masker run on test batches in train mode is not a model
    evaluated in train mode (no CNN204)."""
    script = """
import torch
import torch.nn as nn
import torchvision.datasets as dsets
import torchvision.transforms as T

train_dl = torch.utils.data.DataLoader(
    dsets.MNIST("data", train=True, transform=T.ToTensor()), batch_size=64, shuffle=True)
test_dl = torch.utils.data.DataLoader(
    dsets.MNIST("data", train=False, transform=T.ToTensor()), batch_size=64)
net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
masker = nn.Dropout(0.3)
for epoch in range(5):
    for images, _ in train_dl:
        flat = images.view(-1, 784)
        opt.zero_grad()
        nn.functional.mse_loss(net(masker(torch.ones(flat.shape)) * flat), flat).backward()
        opt.step()
    with torch.no_grad():
        for images, _ in test_dl:
            flat = images.view(-1, 784)
            print(nn.functional.mse_loss(net(masker(torch.ones(flat.shape)) * flat), flat))
"""
    result = lint_tree({"denoise.py": script})
    assert found(result, "CNN212", "CNN204") == []
    # (Without the masker, and with a target other than the input, which an autoencoder
    # rebuilding it would not be judged by, the plain pipeline is judged.)
    plain = script.replace("net(masker(torch.ones(flat.shape)) * flat), flat)",
                           "net(flat), torch.sigmoid(flat))")
    assert [code for code, _, _ in found(lint_tree({"denoise.py": plain}), "CNN212")] \
        == ["CNN212"]


def test_a_call_too_costly_to_read_while_looking_for_builds_stops_nothing(
        lint_tree: Lint, monkeypatch: pytest.MonkeyPatch) -> None:
    """`codes = slow_tower(8).encode(1)`: reading the call to see whether it builds a
    network runs past the reading budget (set small here); that call is skipped, and the
    project's models are still read (it once stopped model extraction for the whole
    project with an internal error)."""
    import cnnlint.extract.interp as interp_module

    monkeypatch.setattr(interp_module, "MAX_STEPS", 200)
    nets = """
import torch.nn as nn


class Tower(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.convs = nn.Sequential(*[nn.Conv2d(width, width, 3) for _ in range(4)])

    def forward(self, x):
        return self.convs(x)

    def encode(self, x):
        return self(x)


def slow_tower(width):
    total = 0
    for i in range(400):
        for j in range(400):
            total += i * j
    return Tower(width)
""" + BAD.replace("import torch.nn as nn\n", "")
    result = lint_tree({"nets.py": nets, "use.py": "from nets import slow_tower\n\n"
                        "codes = slow_tower(8).encode(1)\n"})
    assert result.errors == []
    assert [code for code, _, _ in found(result, "CNN101")] == ["CNN101"]


def test_every_batchnorm_model_trained_on_tiny_batches_is_named(lint_tree: Lint) -> None:
    """A generator and a discriminator, both with BatchNorm, stepped on batches of 1: the
    finding names both, each with where it is defined."""
    nets = """
import torch.nn as nn


class Maker(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Conv2d(3, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3))


class Judge(Maker):
    pass
"""
    script = """
import torch
from torch.utils.data import DataLoader
from nets import Judge, Maker

maker, judge = Maker(), Judge()
loader = DataLoader(torch.load("pairs.pt"), batch_size=1, shuffle=True)
opt_m = torch.optim.Adam(maker.parameters())
opt_j = torch.optim.Adam(judge.parameters())
for epoch in range(3):
    for x, y in loader:
        opt_j.zero_grad()
        (judge(y).mean() - judge(maker(x).detach()).mean()).backward()
        opt_j.step()
        opt_m.zero_grad()
        judge(maker(x)).mean().backward()
        opt_m.step()
"""
    result = lint_tree({"nets.py": nets, "gan.py": script})
    (finding,) = [f for f in result.findings if f.code == "CNN201"]
    assert finding.message == ("`Judge` (nets.py:9) and `Maker` (nets.py:4) have BatchNorm "
                               "layers but train with batch size 1")
    assert sorted(r.message for r in finding.related) == [
        "`Judge` is defined here", "`Maker` is defined here"]


@pytest.mark.parametrize("decay", ["self.decay", "5e-4"])
def test_a_lightning_module_configuring_its_own_optimizers_has_training_code(
        lint_tree: Lint, decay: str) -> None:
    """A deep LightningModule whose base class's `configure_optimizers` builds its
    optimizer (with weight decay, or a decay given at construction), and no `Trainer.fit`
    the reader sees (a command line or a config runs it): its training code is in the
    class, so CNN107 does not say it has no training script and no known decay. A plain
    module beside it, never trained, still gets that info."""
    base = f"""
import torch
import torch.nn as nn
import lightning as L


class Trainable(L.LightningModule):
    def __init__(self, lr=0.1, decay=1e-4):
        super().__init__()
        self.lr, self.decay = lr, decay

    def training_step(self, batch, idx):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9,
                               weight_decay={decay})
"""
    nets = """
import torch.nn as nn
from core import Trainable


class Plain(Trainable):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(10)])

    def forward(self, x):
        return self.body(x)


class Bare(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(10)])

    def forward(self, x):
        return self.body(x)
"""
    result = lint_tree({"core.py": base, "nets.py": nets})
    assert [(symbol, severity) for code, symbol, severity in
            ((f.code, f.symbol, f.severity) for f in result.findings)
            if code == "CNN107"] == [("Bare", "info")]


def test_a_lightning_datamodule_picked_by_an_option_holds_validation_data(
        lint_tree: Lint) -> None:
    """`trainer.fit(model, datamodule=dm)` with `dm` one of two project datamodules an option
    picks, each with a `val_dataloader`: the module's `validation_step` runs on held-out
    data, so no-validation stays silent."""
    script = """
import argparse
import lightning as L
import torch
from torch.utils.data import DataLoader


class Folds(L.LightningDataModule):
    def train_dataloader(self):
        return DataLoader(torch.load("train.pt"), batch_size=64, shuffle=True)

    def val_dataloader(self):
        return DataLoader(torch.load("val.pt"), batch_size=64)


class Small(Folds):
    pass


class Lit(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(8, 2)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)


parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
args = parser.parse_args()
if args.data == "folds":
    dm = Folds()
elif args.data == "small":
    dm = Small()
trainer = L.Trainer(max_epochs=50)
trainer.fit(Lit(), datamodule=dm)
"""
    result = lint_tree({"fit.py": script})
    assert found(result, "CNN202") == []
    alone = script.replace("trainer.fit(Lit(), datamodule=dm)", "trainer.fit(Lit())")
    assert [code for code, _, _ in found(lint_tree({"fit.py": alone}), "CNN202")] == ["CNN202"]


def test_the_note_on_untracked_weights_says_what_was_seen(lint_tree: Lint) -> None:
    """A test function with no loop that calls backward() and then a method of a network it
    was handed (which may step an optimizer) is not said to be 'a loop that steps weights':
    `--verbose` says a call it could not follow may step them."""
    script = """
import torch


def test_clears_gradients(handed_net):
    opt = torch.optim.AdamW(handed_net.parameters(), lr=1e-3)
    out = handed_net.head(torch.ones(1, 2))
    out.sum().backward()
    opt.zero_grad(set_to_none=True)
"""
    notes = [n for n in lint_tree({"test_clear.py": script}).notes() if "backward()" in n]
    assert notes == ["test_clear.py: after backward(), a call that could not be followed may "
                     "step a model's weights (any model may be what it trains): rules about its "
                     "training stay silent"]
    # Seen stepping such weights in a loop, the note says so.
    stepped = """
import torch
from hub import load_any, groups

model = load_any("net")
opt = torch.optim.SGD(groups(model), lr=0.1, momentum=0.9)
for epoch in range(30):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
"""
    notes = [n for n in lint_tree({"fit.py": stepped}).notes() if "backward()" in n]
    assert notes == ["fit.py: a loop calls backward() and steps weights that could not be "
                     "followed to a model (any model may be what it trains): rules about its "
                     "training stay silent"]


def test_a_loss_class_is_not_named_as_what_a_lost_loop_may_train(lint_tree: Lint) -> None:
    """A loop stepping an optimizer from a call the reader cannot follow, over a model from
    another: `--verbose` says any model may be what it trains, not the project's
    label-smoothing loss class (a module with no weights) it calls."""
    script = """
import torch
import torch.nn as nn
from hub import load_any, make_opt


class Smooth(nn.Module):
    def __init__(self, eps=0.1):
        super().__init__()
        self.eps = eps

    def forward(self, logits, target):
        logp = torch.log_softmax(logits, -1)
        return -(logp.gather(1, target[:, None]).mean() * (1 - self.eps) + logp.mean() * self.eps)


model = load_any("net")
crit = Smooth()
opt = make_opt(model)
for epoch in range(30):
    for x, y in torch.load("train.pt"):
        opt.zero_grad()
        crit(model(x), y).backward()
        opt.step()
"""
    # (`opt.step()` of an optimizer from a call not followed is itself such a call)
    notes = [n for n in lint_tree({"fit.py": script}).notes() if "backward()" in n]
    assert notes == ["fit.py: after backward(), a call that could not be followed may step a "
                     "model's weights (any model may be what it trains): rules about its "
                     "training stay silent"]


def test_an_attack_stepping_an_input_by_the_sign_of_its_gradient_trains_nothing(
        lint_tree: Lint) -> None:
    """A PGD attack: backward through a loaded network, then the image moved by
    `x.grad.sign()` (an SGD over the image only clears its gradient). No weights are
    stepped, so it is no training the reader lost track of, and the network is still known
    to have no training script (an info, not silence)."""
    nets = """
import torch.nn as nn


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(10)])

    def forward(self, x):
        return self.body(x).mean((1, 2, 3))
"""
    attack = """
import torch
import torch.nn.functional as F
from nets import Deep


def pgd(net, image, target, steps=10, alpha=0.01):
    adv = image.clone().requires_grad_(True)
    for _ in range(steps):
        holder = torch.optim.SGD([adv], lr=1e-3)  # only to clear the gradient
        holder.zero_grad()
        loss = F.mse_loss(net(adv), target)
        loss.backward()
        adv = (adv.detach() + alpha * adv.grad.sign()).clamp(0, 1).requires_grad_(True)
    return adv


if __name__ == "__main__":
    net = Deep()
    net.load_state_dict(torch.load("deep.pt"))
    net.eval()
    pgd(net, torch.load("image.pt"), torch.load("target.pt"))
"""
    result = lint_tree({"nets.py": nets, "attack.py": attack})
    assert [(f.path, f.severity) for f in result.findings if f.code == "CNN107"] == [
        ("nets.py", "info")]
    assert not any("could not be followed" in note for note in result.notes())


def test_a_base_class_whose_subclasses_train_has_a_training_script(lint_tree: Lint) -> None:
    """`Trunk` at its defaults (no dropout) is never built: its subclasses `trunk_s` and
    `trunk_l` are, passing `p=0.1`, and a script trains one inside a segmenter with weight
    decay. Saying no script trains `Trunk` (CNN107 info) would be false; a class nothing
    derives from and nothing trains keeps the note."""
    trunk = """
import torch.nn as nn


class Trunk(nn.Module):
    def __init__(self, depth=12, p=0.0):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.GELU()]
        if p > 0:
            layers.append(nn.Dropout(p))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class trunk_s(Trunk):
    def __init__(self):
        super().__init__(depth=10, p=0.1)


class trunk_l(Trunk):
    def __init__(self):
        super().__init__(depth=14, p=0.1)
"""
    segmenter = """
import torch.nn as nn
from trunk import trunk_s, trunk_l


class Segmenter(nn.Module):
    def __init__(self, size="s"):
        super().__init__()
        self.trunk = {"s": trunk_s, "l": trunk_l}[size]()
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        return self.out(self.trunk(x))
"""
    script = """
import torch
from segmenter import Segmenter

model = Segmenter(size="s")
opt = torch.optim.AdamW(model.parameters(), 1e-3, weight_decay=1e-2)
for step in range(100):
    opt.zero_grad()
    model(torch.load("batch.pt")).mean().backward()
    opt.step()
"""
    project = {"trunk.py": trunk, "segmenter.py": segmenter, "train.py": script}
    assert found(lint_tree(project), "CNN107") == []
    alone = {"trunk.py": trunk.split("\n\nclass trunk_s")[0] + "\n"}
    assert [at for _, at, _ in found(lint_tree(alone), "CNN107")] == [4]


@pytest.mark.parametrize("loop, epochs", [
    ("for it in range(1, n_iters + 1):\n    x, y = pairs[it - 1]", None),
    ("for t in range(500):\n    x, y = pairs[t]", None),
    ("for t in range(500):\n    x, y = whole", 500),
    ("for step in range(500):\n    x, y = whole", 500),
])
def test_a_loop_taking_one_example_per_pass_by_its_index_counts_no_epochs(
        lint_tree: Lint, loop: str, epochs: int | None) -> None:
    """A seq2seq tutorial's `for iter in range(1, n_iters + 1): pair = pairs[iter - 1]`
    trains on one pre-drawn pair per pass: its passes are iterations, not epochs (no CNN202
    "trains 500 epochs"). One step per pass over the whole data, whatever the loop's name,
    is full-batch training: each pass is an epoch."""
    script = """
import random
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
data = torch.load("pairs.pt")
n_iters = 500
pairs = [random.choice(data) for _ in range(n_iters)]
whole = torch.load("all.pt")
LOOP
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
""".replace("LOOP", loop)
    messages = [message for _, _, message in found(lint_tree({"fit.py": script}), "CNN202")]
    assert messages == ([] if epochs is None else [
        f"trains {epochs} epochs with no evaluation on held-out data during training"])


def test_a_network_trained_as_another_builders_is_not_without_a_training_script(
        lint_tree: Lint) -> None:
    """`test.py` builds `small()` through a `build()` of its own to evaluate it; `train.py`
    trains `small()`. The network `build()` makes is the one trained: no "no training script
    found" note for it (CNN107 info). A builder of another network keeps the note."""
    nets = """
import torch.nn as nn


def small(width=16):
    return nn.Sequential(*[m for _ in range(9) for m in (nn.Linear(width, width), nn.ReLU())])
"""
    script = """
import torch
from nets import small

net = small()
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.05)
for step in range(100):
    opt.zero_grad()
    net(torch.load("batch.pt")).sum().backward()
    opt.step()
"""
    evaluation = """
from nets import small


def build():
    return small(WIDTH)
"""
    same = {"nets.py": nets, "train.py": script, "test.py": evaluation.replace("WIDTH", "")}
    assert found(lint_tree(same), "CNN107") == []
    other = {**same, "test.py": evaluation.replace("WIDTH", "32")}
    assert [f.path for f in lint_tree(other).findings if f.code == "CNN107"] == ["test.py"]


def test_a_network_a_trainer_class_picked_by_an_option_builds_may_be_trained(
        lint_tree: Lint) -> None:
    """The script picks a trainer class by its configuration file (`Plain` by default); the other
    trainer's `build_model` makes `Deep` (with its defaults) and a converter's method makes
    `Wide` (a class that needs arguments): either may be what the script trains when run
    with other options, so no-regularization does not say they have no training script.
    A network no code of the script reaches is still named."""
    nets = """
import torch.nn as nn


def convs(n, width):
    return nn.Sequential(*[nn.Conv2d(width, width, 3, padding=1) for _ in range(n)])


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = convs(2, 8)

    def forward(self, x):
        return self.body(x)


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = convs(10, 8)

    def forward(self, x):
        return self.body(x)


class Wide(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.body = nn.Sequential(convs(10, width), nn.Conv2d(width, classes, 1))

    def forward(self, x):
        return self.body(x)


class Lost(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = convs(12, 8)

    def forward(self, x):
        return self.body(x)
"""
    trainers = """
import torch
from nets import Deep, Plain, Wide


class Trainer:
    def __init__(self, kind):
        self.net = self.build_model(kind)

    def build_model(self, kind):
        return Plain()

    def fit(self):
        net = self.net
        """ + DECAYED_FIT.replace("\n", "\n        ").rstrip() + """


class DeepTrainer(Trainer):
    def build_model(self, kind):
        return Deep()


class Converter:
    width = 16

    def network(self, kind):
        if kind == "wide":
            return Wide(self.width, 10)
        return Plain()
"""
    fit = """
import argparse
import json
from trainers import Converter, DeepTrainer, Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--config", default="plain.json")
config = json.load(open(parser.parse_args().config))
if config["kind"] == "deep":
    trainer = DeepTrainer(config["kind"])
else:
    trainer = Trainer(config["kind"])
    trainer.net = Converter().network(config["kind"])
trainer.fit()
"""
    result = lint_tree({"nets.py": nets, "trainers.py": trainers, "fit.py": fit,
                        "plain.json": '{"kind": "plain"}', "deep.json": '{"kind": "deep"}'})
    assert [(line, message.split(";")[0]) for _, line, message in found(result, "CNN107")] \
        == [(35, "12 weighted layers and no dropout")]


def test_a_range_of_the_steps_of_an_epoch_is_not_an_epoch_loop(lint_tree: Lint) -> None:
    """`for i in range(epoch_steps)` inside the epoch loop: its passes are steps, and the
    evaluation after it, in the epoch loop, is the run's validation."""
    fit = """
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
epoch_steps = 10
for epoch in range(30):
    net.train()
    for i in range(epoch_steps):
        x, y = torch.load("train.pt")
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        x, y = torch.load("val.pt")
        print(nn.functional.cross_entropy(net(x), y).item())
"""
    assert found(lint_tree({"fit.py": fit}), "CNN202") == []


def test_a_function_handed_the_model_that_returns_it_did_not_build_it(
        lint_tree: Lint) -> None:
    """`model = Net(3, 1)` in `train()`, then `train_model(model, ...)`, which trains it and
    returns it; `test()` builds the same `Net(3, 1)` to load weights into. The network's
    findings are at the build that trains (train's), not at the sampling script's: the
    function that hands the model back is not where it was built."""
    nets = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(in_ch if i == 0 else 16, 16, 3, padding=1)
                                    for i in range(9)])
        self.head = nn.Conv2d(16, out_ch, 1)

    def forward(self, x):
        return self.head(self.body(x))
"""
    main = """
import argparse
import torch
from nets import Net

def train_model(model, criterion, optimizer, loader, num_epochs=20):
    for epoch in range(num_epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
    torch.save(model.state_dict(), "weights.pth")
    return model

def train(args):
    model = Net(3, 1)
    optimizer = torch.optim.Adam(model.parameters())
    loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=8, shuffle=True)
    train_model(model, torch.nn.BCEWithLogitsLoss(), optimizer, loader)

def test(args):
    model = Net(3, 1)
    model.load_state_dict(torch.load(args.ckpt))
    model.eval()

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("action")
    parser.add_argument("--ckpt")
    args = parser.parse_args()
    if args.action == "train":
        train(args)
    elif args.action == "test":
        test(args)
"""
    result = lint_tree({"nets.py": nets, "main.py": main})
    assert [(f.path, f.line) for f in result.findings if f.code == "CNN107"] \
        == [("main.py", 16)]


def test_a_loop_in_another_file_is_run_from_the_script_s_innermost_call(
        lint_tree: Lint) -> None:
    """train.py's `main()` builds a trainer and calls its `train`, whose loop is in
    trainer.py: the finding names the call that runs the loop (`trainer.train(...)`, inside
    `main`), not the `main()` at the bottom of the script."""
    trainer = """
import torch

class Trainer:
    def __init__(self, net, loader):
        self.net, self.loader = net, loader
        self.opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    def train(self, epochs):
        for epoch in range(epochs):
            for x, y in self.loader:
                self.opt.zero_grad()
                torch.nn.functional.cross_entropy(self.net(x), y).backward()
                self.opt.step()
"""
    script = """
import torch
from trainer import Trainer

def main():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 10))
    loader = torch.utils.data.DataLoader(torch.load("train.pt"), batch_size=64)
    trainer = Trainer(net, loader)
    trainer.train(epochs=50)

main()
"""
    result = lint_tree({"trainer.py": trainer, "train.py": script}, select=["CNN203"])
    [finding] = result.findings
    assert (finding.path, finding.line) == ("trainer.py", 9)
    assert finding.message.endswith(", as run from train.py:8"), finding.message
    assert [(r.path, r.line) for r in finding.related] == [("train.py", 8)]


def test_a_part_no_optimizer_holds_is_not_trained_with_the_model(lint_tree: Lint) -> None:
    """The optimizer holds the wrapper's decoder only; its encoder, a network of its own
    loaded frozen, trains nowhere: no optimizer is named against it (it was, as the
    wrapper's part)."""
    nets = """
import torch.nn as nn

encoder = nn.Sequential(*[m for _ in range(9) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())])
decoder = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1))


class Wrapper(nn.Module):
    def __init__(self, enc, dec):
        super().__init__()
        self.enc, self.dec = enc, dec

    def forward(self, x):
        return self.dec(self.enc(x))
"""
    train = """
import torch
import nets

enc = nets.encoder
enc.load_state_dict(torch.load("encoder.pth"))
model = nets.Wrapper(enc, nets.decoder)
opt = torch.optim.Adam(model.dec.parameters(), lr=1e-4)
for step in range(1000):
    opt.zero_grad()
    model(torch.rand(4, 8, 32, 32)).pow(2).mean().backward()
    opt.step()
"""
    result = lint_tree({"nets.py": nets, "train.py": train}, select=["CNN107"])
    (run,) = result.runs
    assert "nets:encoder" not in run.models[0].parts
    encoder = [f for f in result.findings if f.path == "nets.py"]
    assert [(f.severity, f.related) for f in encoder] == [("info", ())]


def test_a_model_built_afresh_for_each_fold_is_one_model_in_the_message(lint_tree: Lint) -> None:
    """A k-fold loop builds the same network on each pass: CNN201 names it once (it said "2
    models built as", the reader's two passes of the loop)."""
    net = """
import torch.nn as nn

class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU())

    def forward(self, x):
        return self.body(x).mean((1, 2, 3))
"""
    script = """
import torch
from torch.utils.data import DataLoader
from net import SmallNet

for fold in range(5):
    loader = DataLoader(torch.load(f"fold{fold}.pt"), batch_size=4, shuffle=True)
    model = SmallNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(2):
        for x, y in loader:
            opt.zero_grad()
            (model(x) - y).pow(2).mean().backward()
            opt.step()
"""
    result = lint_tree({"net.py": net, "cv.py": script}, select=["CNN201"])
    assert [f.message for f in result.findings] == [
        "`SmallNet` (net.py:3) has BatchNorm layers but trains with batch size 4"]


def test_a_loop_stepping_an_optimizer_with_no_gradients_trains_nothing(lint_tree: Lint) -> None:
    """A notebook plots a schedule by stepping a dummy optimizer 100 times (no forward, no
    backward) beside a real training loop elsewhere in the file: that loop changes no weight,
    so it has no zero_grad to miss, no epochs to stop early, and its SGD trains nothing."""
    script = """
import torch
import torch.nn as nn

dummy = nn.Linear(4, 2)
sgd = torch.optim.SGD(dummy.parameters(), lr=0.2)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=100)
rates = []
for epoch in range(100):
    sgd.step()
    rates.append(sgd.param_groups[0]["lr"])
    sched.step()

net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
adam = torch.optim.Adam(net.parameters(), lr=1e-3)
x, y = torch.load("x.pt"), torch.load("y.pt")
for step in range(3):
    adam.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    adam.step()
"""
    result = lint_tree({"plot.py": script}, select=["CNN203", "CNN205", "CNN206"])
    assert result.findings == []


def test_a_function_nobody_calls_that_trains_through_a_model_s_method_is_read(
        lint_tree) -> None:
    """`train()` builds the network and calls `model.fit(loader)`, a method its base class of
    another file defines, and `__main__` runs only `evaluate()`: the function is a training
    run nobody calls, as one holding the loop itself is, so CNN107 names the optimizer
    (review T: "weight decay unknown (no training script followed to it)")."""
    base = """
import torch
import torch.nn as nn


class Trainable(nn.Module):
    def fit(self, loader, epochs=40):
        opt = torch.optim.Adam(self.parameters(), lr=1e-3)
        for epoch in range(epochs):
            for x, y in loader:
                opt.zero_grad()
                nn.functional.l1_loss(self(x), y).backward()
                opt.step()
"""
    net = """
import torch.nn as nn
from base import Trainable


class Deep(Trainable):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(10)])

    def forward(self, x):
        return self.body(x)
"""
    script = """
import torch
from net import Deep


def train():
    model = Deep()
    model.fit(torch.utils.data.DataLoader(torch.load("pairs.pt"), batch_size=8))


def evaluate():
    print("loads a saved model")


if __name__ == "__main__":
    evaluate()
"""
    result = lint_tree({"base.py": base, "net.py": net, "run.py": script}, select=["CNN107"])
    assert [(f.code, f.severity) for f in result.findings] == [("CNN107", "warning")]
    assert "`Adam` at base.py:7" in result.findings[0].message
