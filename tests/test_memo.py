"""Reused constructions and forward passes (extract/memo.py) change nothing: the same models,
node for node, with or without them, and in whatever order the models are read. That order
independence is what lets a run over part of a project agree with a run over all of it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from cnnlint import ir
from cnnlint.extract import models as models_module
from cnnlint.extract.memo import construction_key, copy_value
from cnnlint.extract.models import build_interp, extract_models
from cnnlint.extract.source import analyse_source
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_reuse import reading_of, without_reuse  # noqa: E402 - the reuse benchmark's own

# torchvision's model files and the helpers they build with (ops/misc.py, utils.py).
TORCHVISION = ["models/vgg.py", "models/resnet.py", "models/densenet.py",
               "models/mobilenetv2.py", "models/googlenet.py", "models/inception.py",
               "ops/misc.py", "utils.py"]


@pytest.fixture
def torchvision_facts(library_sources: Any) -> list[Any]:
    root = library_sources("torchvision") / "torchvision"
    return [analyse_source(f"torchvision/{name}", (root / name).read_text(encoding="utf-8"))
            for name in TORCHVISION]


def _signature(model: ir.Model) -> tuple[Any, ...]:
    return (model.key, *reading_of(model))


def _models(monkeypatch: pytest.MonkeyPatch, facts: list[Any], reuse: bool,
            reverse: bool = False, replays: bool = True) -> dict[str, tuple[Any, ...]]:
    interp = build_interp(facts)
    if not reuse:
        without_reuse(interp)
    if reverse:  # read the models in the other order
        candidates = models_module._candidates
        def reversed_candidates(interp: Any, *given: Any) -> tuple[list[Any], list[Any]]:
            found, unbuilt = candidates(interp, *given)
            return found[::-1], unbuilt

        monkeypatch.setattr(models_module, "_candidates", reversed_candidates)
    built = extract_models(interp)
    if reuse:
        assert interp.constructions.hits and (interp.forwards.hits or not replays)
    return {m.key: _signature(m) for m in built}


def test_reuse_changes_no_model_in_any_order(monkeypatch: pytest.MonkeyPatch,
                                              torchvision_facts: list[Any]) -> None:
    plain = _models(monkeypatch, torchvision_facts, reuse=False)
    assert len(plain) > 20
    assert _models(monkeypatch, torchvision_facts, reuse=True) == plain
    assert _models(monkeypatch, torchvision_facts, reuse=True, reverse=True) == plain


# Units that carry a state from one to the next through a gate they all share (as
# attention networks with a recurrent cell across a stage do): each unit's forward gets
# `(x, None)` or `(x, [h])`, and reaches the shared gate, which the first unit names.
SHARED_GATE = """
import torch
import torch.nn as nn

class Gate(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, channels)

    def forward(self, x, state=None):
        w = self.pool(x).flatten(1)
        if state is None:
            state = [torch.zeros_like(w)]
        h = torch.sigmoid(self.fc(w) + state[0])
        return x * h.unsqueeze(-1).unsqueeze(-1), [h]

class Unit(nn.Module):
    def __init__(self, channels, gate):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.gate = gate

    def forward(self, x, state=None):
        y, state = self.gate(self.bn(self.conv(x)), state)
        return torch.relu(x + y), state

class Net(nn.Module):
    def __init__(self, depth=6, channels=16):
        super().__init__()
        gate = Gate(channels)
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.units = nn.ModuleList([Unit(channels, gate) for _ in range(depth)])
        self.head = nn.Linear(channels, 10)

    def forward(self, x):
        x = self.stem(x)
        state = None
        for unit in self.units:
            x, state = unit(x, state)
        return self.head(x.mean((2, 3)))
"""


def test_blocks_given_a_state_and_sharing_a_module_are_replayed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    facts = [analyse_source("shared_gate.py", SHARED_GATE)]
    plain = _models(monkeypatch, facts, reuse=False)
    interp = build_interp(facts)
    reused = {m.key: _signature(m) for m in extract_models(interp)}
    assert reused == plain
    assert interp.forwards.hits >= 4  # units 3 to 6 replay unit 2 (unit 1 had no state)
    nodes = plain["shared_gate:Net"][1]
    assert sum(1 for n in nodes if n[2] == "units.0.gate.fc") == 6  # one gate, six uses


def test_a_copy_shares_nothing_a_caller_could_change() -> None:
    layer = v.LayerSpec("Conv2d", {"in_channels": 3}, None, "Block")
    block = v.Instance(v.ClassVal("Block", None, ("class",)), {"conv": layer, "sizes": [1, 2]})
    copy = copy_value(v.SeqSpec([("0", block), ("1", block)]))
    first, second = copy.children[0][1], copy.children[1][1]
    assert first is second and first is not block  # sharing inside the copy is kept
    assert first.attrs["conv"] is not layer and first.attrs["sizes"] is not block.attrs["sizes"]
    first.attrs["sizes"].append(3)
    assert block.attrs["sizes"] == [1, 2]


def test_only_constant_arguments_make_a_key() -> None:
    cls = v.ClassVal("Block", None, ("class",))
    assert construction_key(cls, Args([64, (3, 3)], {"act": v.Ref("torch.nn.ReLU")})) \
        == construction_key(cls, Args([64, (3, 3)], {"act": v.Ref("torch.nn.ReLU")}))
    assert construction_key(cls, Args([64])) != construction_key(cls, Args([32]))
    assert construction_key(cls, Args([v.Tensor(0)])) is None
    assert construction_key(cls, Args([v.Instance(cls)])) is None
    # Arguments splatted from what the reader does not know (`Block(**spec)`) bind each
    # parameter not given by name to "not known", the same way at every such call.
    assert construction_key(cls, Args(open_kw=True)) == construction_key(cls, Args(open_kw=True))
    assert construction_key(cls, Args(open_kw=True)) != construction_key(cls, Args())
    assert construction_key(cls, Args([64], open_pos=True)) \
        != construction_key(cls, Args([64], open_kw=True))


# A builder that splats per-block arguments the reader cannot read (parsed from a file):
# each block is built from "not known" arguments, the same each time.
SPLATTED = """
import json
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, channels=16, expand=None, kernel=3):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.bn = nn.BatchNorm2d(channels)
        if expand:
            self.extra = nn.Conv2d(channels, channels, 1)
        else:
            self.extra = nn.Identity()

    def forward(self, x):
        return x + self.extra(self.bn(self.conv(x)))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        specs = json.load(open("blocks.json"))
        self.blocks = nn.Sequential(*[Block(**specs[i]) for i in range(4)])
        self.more = nn.Sequential(*[Block(**specs[i], kernel=5) for i in range(4)])

    def forward(self, x):
        return self.more(self.blocks(x))
"""


def test_blocks_built_from_arguments_not_known_are_read_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    facts = [analyse_source("splatted.py", SPLATTED)]
    plain = _models(monkeypatch, facts, reuse=False)
    interp = build_interp(facts)
    assert {m.key: _signature(m) for m in extract_models(interp)} == plain
    assert interp.constructions.hits >= 6  # each list's last three blocks


# Not traced for coverage: it reads every network of MONAI twice. Under --cov it
# runs 2-3 times slower (8 s untraced, 21 s traced); smaller tests cover the code.
@pytest.mark.no_cover
@pytest.mark.slow
def test_reuse_changes_no_model_of_monai(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same on real model code: every network MONAI defines."""
    monai = pytest.importorskip("monai")
    folder = Path(monai.__file__).parent / "networks"
    facts = [analyse_source(str(p), p.read_text(encoding="utf-8"))
             for p in sorted(folder.rglob("*.py"))]
    signatures = []
    for reuse in (False, True):
        interp = build_interp(facts)
        if not reuse:
            without_reuse(interp)
        signatures.append({m.key: _signature(m) for m in extract_models(interp)})
    assert len(signatures[0]) > 120 and signatures[0] == signatures[1]


# Two builds of one structure that share a layer differently: in `shared_from_first`, every
# unit after the first applies the first unit's convolution; in `shared_from_second`, the
# second unit builds its own and the later ones apply that. Their forwards must not be
# taken for one another (each layer is named where it is built).
SHARED_DIFFERENTLY = """
import torch
import torch.nn as nn

class Unit(nn.Module):
    def __init__(self, channels, shared=None):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.conv2 = shared if shared is not None else nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.conv2(self.conv1(x)))

class Net(nn.Module):
    def __init__(self, share_from=0, depth=4, channels=16):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.units = nn.Sequential()
        shared = None
        for i in range(depth):
            unit = Unit(channels, shared)
            if shared is None and i >= share_from:
                shared = unit.conv2
            self.units.add_module(f"unit{i}", unit)
        self.head = nn.Linear(channels, 10)

    def forward(self, x):
        return self.head(self.units(self.stem(x)).mean((2, 3)))

def shared_from_first():
    return Net(share_from=0)

def shared_from_second():
    return Net(share_from=1)
"""

# A block whose body is one of two blocks the reader cannot tell apart (`bottleneck` is not
# known): both are read, at one path, and their parts have the same names (`conv1`).
CHOICE_OF_BODIES = """
import torch.nn as nn

class Plain(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv2(self.conv1(x))

class Bottleneck(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels // 4, 1)
        self.conv2 = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x):
        return self.conv2(self.conv1(x))

class Unit(nn.Module):
    def __init__(self, channels, bottleneck):
        super().__init__()
        self.body = Bottleneck(channels) if bottleneck else Plain(channels)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x + self.body(x))

class Net(nn.Module):
    def __init__(self, bottleneck, depth=3, channels=16):
        super().__init__()
        self.units = nn.Sequential(*[Unit(channels, bottleneck) for _ in range(depth)])

    def forward(self, x):
        return self.units(x)
"""


# A block whose forward fills a table it holds on its first call, and reads it on the next:
# the second call builds more than the first.
FILLS_ITS_CACHE = """
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.extra = nn.Conv2d(8, 8, 1)
        self.seen = {}

    def forward(self, x):
        if "first" not in self.seen:
            self.seen["first"] = True
            return self.conv(x)
        return self.extra(self.conv(x))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = Block()

    def forward(self, x):
        return self.block(self.block(self.stem(x)))
"""

# The same, with the tables at module level and on the class: the block holds no part of
# them, but its second call still builds more than its first.
FILLS_A_SHARED_TABLE = """
import torch.nn as nn

SEEN = {}

class Block(nn.Module):
    calls = []

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.extra = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        if "first" not in SEEN:
            SEEN["first"] = True
            x = self.conv(x)
        if self.calls:
            x = self.extra(x)
        self.calls.append(1)
        return x

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.one = Block()
        self.two = Block()

    def forward(self, x):
        return self.two(self.one(self.stem(x)))
"""

# A block whose constructor counts its instances in a module-level list and builds its
# first one differently: a kept copy of the first would stand for the second.
COUNTS_ITS_INSTANCES = """
import torch.nn as nn

BUILT = []

def conv(channels):
    BUILT.append(channels)
    return nn.Conv2d(channels, channels, 3 if len(BUILT) == 1 else 1)

class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = conv(channels)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return self.bn(self.conv(x))

class Head(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.fc = nn.Linear(channels, 10)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block(8)
        self.second = Block(8)
        self.third = conv(8)
        self.heads = nn.ModuleList([Head(8), Head(8)])

    def forward(self, x):
        x = self.third(self.second(self.first(x)))
        return self.heads[0](x) + self.heads[1](x)
"""

# A block run on one input by both ways of an `if` the reader cannot decide: both runs are
# the same nodes, also the product (`@`) that is no layer.
RUN_TWICE_ON_ONE_INPUT = """
import torch.nn as nn

class Mix(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        return self.proj(x @ x.transpose(-2, -1))

class Net(nn.Module):
    def __init__(self, wide):
        super().__init__()
        self.wide = wide
        self.mix = Mix()

    def forward(self, x):
        if self.wide:
            y = self.mix(x)
        else:
            y = self.mix(x) + 1
        return y
"""

# One block's forward hangs a new list on a module-level dict; the blocks after it count
# their calls in that list, and the second of them reads differently from the first.
HANGS_A_NEW_TABLE = """
import torch.nn as nn

SEEN = {}

class Starter(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        SEEN["calls"] = []
        return self.conv(x)

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.extra = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        SEEN["calls"].append(1)
        if len(SEEN["calls"]) == 2:
            x = self.extra(x)
        return self.conv(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.start = Starter()
        self.one = Block()
        self.two = Block()

    def forward(self, x):
        return self.two(self.one(self.start(x)))
"""


@pytest.mark.parametrize("source, replays", [
    (SHARED_DIFFERENTLY, True), (CHOICE_OF_BODIES, False), (FILLS_ITS_CACHE, False),
    (FILLS_A_SHARED_TABLE, False), (COUNTS_ITS_INSTANCES, True), (RUN_TWICE_ON_ONE_INPUT, True),
    (HANGS_A_NEW_TABLE, False)],
    ids=["shared-differently", "choice-of-bodies", "fills-its-cache", "fills-a-shared-table",
         "counts-its-instances", "run-twice-on-one-input", "hangs-a-new-table"])
def test_a_replay_adds_what_reading_the_forward_again_would(
        monkeypatch: pytest.MonkeyPatch, source: str, replays: bool) -> None:
    """Blocks alike but for which layer is where are not replayed for one another; a block
    that cannot be (its parts' paths are ambiguous, it fills a table it or its module holds)
    is read each time, and so is a construction that writes a module's table; a replay
    shares the nodes a reading would share."""
    facts = [analyse_source("net.py", source)]
    plain = _models(monkeypatch, facts, reuse=False)
    assert _models(monkeypatch, facts, reuse=True, replays=replays) == plain
    assert _models(monkeypatch, facts, reuse=True, reverse=True, replays=replays) == plain


# A constructor that counts its instances in a global name.
COUNTS_IN_A_GLOBAL = """
import torch.nn as nn

BUILT = 0

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        global BUILT
        BUILT += 1
        self.conv = nn.Conv2d(8, 8, 3 if BUILT == 1 else 1)

    def forward(self, x):
        return self.conv(x)

class Pool(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.one = Block()
        self.two = Block()
        self.pools = nn.Sequential(Pool(), Pool())

    def forward(self, x):
        return self.pools(self.two(self.one(x)))
"""


def test_module_tables_are_as_loading_left_them_for_each_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What one model's code writes into a module's tables or globals, the next model does
    not see: Block read alone, before or after Net, leaves them as they were."""
    net = _models(monkeypatch, [analyse_source("net.py", FILLS_A_SHARED_TABLE)],
                  reuse=False)["net:Net"]
    assert [n[2] for n in net[1] if n[0] == "Conv2d"] == ["stem", "one.conv", "two.extra"]
    for reverse in (False, True):
        with pytest.MonkeyPatch.context() as patch:  # (a second reversal would undo the first)
            net = _models(patch, [analyse_source("net.py", COUNTS_IN_A_GLOBAL)], reuse=True,
                          reverse=reverse, replays=False)["net:Net"]
        assert [dict(n[4])["kernel_size"] for n in net[1] if n[0] == "Conv2d"] == [3, 1]


DEEP_RESIDUAL = """
import torch.nn as nn

class Unit(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(x + y)

class Net(nn.Module):
    def __init__(self, depth=40, channels=16):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.units = nn.Sequential(*[Unit(channels) for _ in range(depth)])

    def forward(self, x):
        return self.units(self.stem(x))
"""


def test_a_model_too_large_to_read_stops_at_the_same_place_with_reuse(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnlint.extract import expressions, interp
    facts = [analyse_source("net.py", DEEP_RESIDUAL)]
    stopped_in_forward = 0
    for budget in range(100, 400, 7):  # (the whole model takes about 400 steps)
        monkeypatch.setattr(interp, "MAX_STEPS", budget)
        monkeypatch.setattr(expressions, "MAX_STEPS", budget)
        plain = _models(monkeypatch, facts, reuse=False)
        assert _models(monkeypatch, facts, reuse=True, replays=False) == plain, budget
        stopped_in_forward += any(
            "the model is too large or too dynamic to read statically" in unresolved
            for _, _, _, unresolved, _ in plain.values())
    assert stopped_in_forward >= 10


def test_a_module_level_of_pytorch_code_has_a_step_budget_of_its_own() -> None:
    """A module of PyTorch code loaded after other module levels used up the budget (a
    notebook computing its sample data, then importing the model's file) is still read:
    whether its networks can be read must not depend on what the run read before it. The
    module levels of plain Python share one budget, charged to no one else."""
    from cnnlint.extract import imports
    from cnnlint.extract.frames import MAX_STEPS
    net = analyse_source("net.py", "import torch.nn as nn\n\nclass Net(nn.Module):\n"
                                   "    pass\n\nWIDTH = 8\n")
    plain = analyse_source("plain.py", "def helper():\n    return 1\n\nDEPTH = 3\n")
    interp = build_interp([net, plain])
    for name in ("net.py", "plain.py"):
        scope = interp.scopes[name]
        scope.state = "new"  # (as if nothing had loaded it yet)
        scope.globals = {}
    interp.steps = interp.shared_load_steps = MAX_STEPS
    assert {"Net", "WIDTH"} <= set(imports.load(interp, interp.scopes["net.py"]))
    assert "DEPTH" not in imports.load(interp, interp.scopes["plain.py"])
    assert interp.steps == MAX_STEPS  # what a load spends is not the loader's
    interp.shared_load_steps = 0
    interp.scopes["plain.py"].state = "new"
    assert {"helper", "DEPTH"} <= set(imports.load(interp, interp.scopes["plain.py"]))
