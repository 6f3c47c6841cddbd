"""The network description every front end produces and every rule reads.

A model is a dataflow graph: each node is one operation (a layer call, a functional call, an
add or a concatenation) with the ids of the nodes whose outputs it consumes. Nodes are stored
in execution order, so a node's inputs always come before it. The static reader and the
torch.fx tracer both build this; rules never see libcst nodes or torch modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from cnnlint import catalogue
from cnnlint.findings import Loc

# Node kinds that are not torch layers.
INPUT = "input"
ADD = "add"  # residual additions (`out + identity`, `torch.add`, `out += ...`)
CAT = "cat"  # concatenation along a dimension (`torch.cat`)
MUL = "mul"  # gating and attention products (squeeze-excitation)
MERGE = "merge"  # the value of a variable after an `if` whose outcome is unknown
UNKNOWN = "unknown"  # a call the reader could not resolve


@dataclass
class Node:
    id: int
    kind: str  # torch class name ("Conv2d") or one of the kinds above
    inputs: tuple[int, ...]
    name: str  # module path in the model ("layer1.0.conv1"), or the function ("F.relu")
    owner: str = ""  # the class or function whose code creates this layer ("BasicBlock")
    args: dict[str, object] = field(default_factory=dict)  # only the arguments known for sure
    loc: Loc | None = None
    functional: bool = False

    @property
    def family(self) -> str:
        return catalogue.family(self.kind)

    @property
    def weighted(self) -> bool:
        return catalogue.is_weighted(self.kind)

    @property
    def is_norm(self) -> bool:
        return catalogue.is_norm(self.kind)

    def arg(self, name: str, default: object = None) -> object:
        """A constructor argument, falling back to torch's own default when it was omitted."""
        if name in self.args:
            return self.args[name]
        return catalogue.DEFAULTS.get(self.kind, {}).get(name, default)

    def describe(self) -> str:
        """How a message names this node: `features.0` (Conv2d)."""
        return f"`{self.name}` ({self.kind})" if self.name else f"`{self.kind}`"


@dataclass
class Network:
    nodes: list[Node] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    # Why the picture may be incomplete. Rules that judge the whole network (depth, "no
    # dropout anywhere") stay silent when this is not empty: a rule never reports from a guess.
    unresolved: list[str] = field(default_factory=list)
    # Derived tables (consumers, ancestors, ...), computed once: rules ask per node.
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return not self.unresolved

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def consumers(self) -> dict[int, list[int]]:
        found = self.cache.get("consumers")
        if found is None:
            users: dict[int, list[int]] = {n.id: [] for n in self.nodes}
            for n in self.nodes:
                for i in n.inputs:
                    users[i].append(n.id)
            found = self.cache["consumers"] = users
        return found  # type: ignore[return-value]


@dataclass
class WeightInit:
    """A weight or bias initialisation the model's code performs."""

    target: str  # "weight" or "bias"
    method: str  # "constant", "zeros", "normal", "uniform", "trunc_normal", ...
    value: float | None  # the constant, or the std/bound of the distribution; None if unknown
    layer_kinds: tuple[str, ...]  # the layer kinds it applies to (empty: unknown / all)
    loc: Loc | None = None
    scope: str = ""
    layer_loc: Loc | None = None  # where the one layer it targets is built (None: many layers)


@dataclass
class Model:
    """One network to analyse: an nn.Module class built with its defaults, or a factory."""

    name: str  # the class or factory name; findings use it as their symbol
    kind: str  # "class" | "factory" | "trace"
    class_name: str
    loc: Loc
    network: Network
    inits: list[WeightInit] = field(default_factory=list)
    source: str = "static"  # "static" | "trace"
    trace_method: str = ""  # "torch.fx" | "forward hooks", for a traced model

    @property
    def path(self) -> str:
        return self.loc.path


@dataclass
class ProjectFacts:
    """Everything the rules may read: the models of the run and the training code."""

    models: list[Model] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    runs: list["TrainingRun"] = field(default_factory=list)

    def models_named(self, names: list[str]) -> list[Model]:
        """The models a training run trains, matched by class or factory name."""
        return [m for m in self.models if m.name in names or
                (m.kind == "class" and m.class_name in names)]

    def trained_with(self, run: "TrainingRun", *families: str) -> list[Model]:
        """The models `run` trains whose network has a layer of one of `families`."""
        return [m for m in self.models_named(run.models)
                if any(n.family in families for n in m.network)]

    def runs_training(self, model: Model) -> list["TrainingRun"]:
        return [r for r in self.runs if model.name in r.models or
                (model.kind == "class" and model.class_name in r.models)]


# --- training facts --------------------------------------------------------------------


@dataclass
class Setting:
    """A hyper-parameter as the code sets it, with where its value came from."""

    value: object  # a constant, or None when unknown
    origin: str  # "literal", "argparse default of `--lr`", "module constant `LR`", ...
    loc: Loc | None = None

    @property
    def known(self) -> bool:
        return isinstance(self.value, (int, float)) and not isinstance(self.value, bool)

    def source(self) -> str:
        """" (argparse default of `--lr`)", or "" for a literal."""
        return f" ({self.origin})" if self.origin and self.origin != "literal" else ""

    def describe(self) -> str:
        return f"{self.value!r}{self.source()}"


@dataclass
class Loader:
    loc: Loc | None
    name: str  # the variable it was assigned to, or the dataset's name
    batch_size: Setting | None
    shuffle: object = None
    sampler: str = ""  # the sampler class name, when one is given
    role: str = "unknown"  # "train" | "eval" | "unknown"
    transforms: list[str] | None = None  # the dataset's transform class names, when known
    transform_loc: Loc | None = None
    image_data: bool = False
    symbol: str = ""  # the function that builds it


@dataclass
class Optimizer:
    loc: Loc | None
    kind: str  # "SGD", "Adam", ...
    lr: Setting | None
    momentum: Setting | None = None
    weight_decay: Setting | None = None
    symbol: str = ""


@dataclass
class LossUse:
    loc: Loc | None
    kind: str  # "CrossEntropyLoss", ...
    weighted: bool = False  # a class weight or pos_weight is given
    fed_by: str = ""  # "Softmax"/"LogSoftmax" when probabilities are fed to it
    fed_by_loc: Loc | None = None
    symbol: str = ""


@dataclass
class TrainingRun:
    """What one script (with the functions it calls) does to train a model."""

    path: str
    symbol: str  # the function holding the training loop ("main", "train", "<module>")
    loc: Loc  # the epoch loop, or the Trainer, or the first training step
    models: list[str] = field(default_factory=list)  # class or factory names it trains
    model_locs: dict[str, Loc] = field(default_factory=dict)
    epochs: Setting | None = None
    loaders: list[Loader] = field(default_factory=list)
    optimizers: list[Optimizer] = field(default_factory=list)
    schedulers: list[str] = field(default_factory=list)
    manual_lr: bool = False
    losses: list[LossUse] = field(default_factory=list)
    resampling: list[str] = field(default_factory=list)  # WeightedRandomSampler, ...
    focal: bool = False
    validation: bool = False  # an evaluation pass inside the epoch loop
    early_stopping: bool = False  # patience, break on no improvement, Lightning callback
    best_checkpoint: bool = False  # a checkpoint kept on a validation metric
    lightning: bool = False
    # (where, what, model name, mode-dependent layer families seen in its construction) for
    # evaluation passes that run a model still in train mode, and for training that runs
    # after eval() with no train() back.
    eval_mode_problems: list[tuple[Loc, str, str, list[str]]] = field(default_factory=list)
    # optimizer.step() calls with no gradient reset in their loop, and no accumulation.
    steps_without_zero_grad: list[Loc] = field(default_factory=list)

    @property
    def train_loaders(self) -> list[Loader]:
        return [loader for loader in self.loaders if loader.role == "train"]
