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

    @property
    def complete(self) -> bool:
        return not self.unresolved

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def consumers(self) -> dict[int, list[int]]:
        users: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                users[i].append(n.id)
        return users

    def of_family(self, *families: str) -> list[Node]:
        return [n for n in self.nodes if n.family in families]


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

    @property
    def path(self) -> str:
        return self.loc.path


@dataclass
class ProjectFacts:
    """Everything the rules may read: the models of the run (and, later, the training code)."""

    models: list[Model] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
