"""The network description every front end produces and every rule reads.

A model is a dataflow graph: each node is one operation (a layer call, a functional call, an
add or a concatenation) with the ids of the nodes whose outputs it consumes. Nodes are stored
in execution order, so a node's inputs always come before it. The static reader and the
torch.fx tracer both build this; rules never see libcst nodes or torch modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Iterator, NamedTuple

from cnnlint import catalogue
from cnnlint.findings import Loc

# Node kinds that are not torch layers.
INPUT = "input"
ADD = "add"  # residual additions (`out + identity`, `torch.add`, `out += ...`)
CAT = "cat"  # concatenation along a dimension (`torch.cat`)
MUL = "mul"  # gating and attention products (squeeze-excitation)
MERGE = "merge"  # the value of a variable after an `if` whose outcome is unknown
CHOICE = "choice"  # the name of a MERGE of the outputs of a choice of modules (one is built)
UNKNOWN = "unknown"  # a call the reader could not resolve
NOISE_PRODUCT = "random product"  # features times random numbers: a dropout (values.Noise)
PERMUTE = "permute"  # an axis reorder that may move the channel axis (`x.permute(0, 2, 3, 1)`)


def _kind_facts(kind: str) -> tuple[str, bool, bool]:
    """(family, weighted, norm) of a node kind, worked out once per kind."""
    found = _KIND_FACTS.get(kind)
    if found is None:
        found = _KIND_FACTS[kind] = (catalogue.family(kind), catalogue.is_weighted(kind),
                                     catalogue.is_norm(kind))
    return found


_KIND_FACTS: dict[str, tuple[str, bool, bool]] = {}


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
    # For a functional call: the path of the module whose forward made it ("attn.q"), so the
    # same line of a block's forward run by two of its instances is two nodes.
    within: str = ""
    # Rules ask these of every node of every model, several times over: set once, from a
    # table by kind (a property computed on first read costs more than the node itself).
    family: str = field(init=False, repr=False, compare=False)
    weighted: bool = field(init=False, repr=False, compare=False)
    is_norm: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.family, self.weighted, self.is_norm = _kind_facts(self.kind)

    @property
    def normalises(self) -> bool:
        """A norm layer, or a layer whose weights are normalised (spectral or weight norm)."""
        return self.is_norm or catalogue.NORMALISED_BY in self.args

    def arg(self, name: str, default: object = None) -> object:
        """A constructor argument, falling back to torch's own default when it was omitted."""
        if name in self.args:
            return self.args[name]
        return catalogue.DEFAULTS.get(self.kind, {}).get(name, default)

    def describe(self) -> str:
        """How a message names this node: `features.0` (Conv2d); a functional call made
        in a module's forward by that module: `blocks.0.conv1` (F.conv2d)."""
        if self.functional and self.within and not self.within.startswith("#"):
            return f"`{self.within}` ({self.name or self.kind})"
        return f"`{self.name}` ({self.kind})" if self.name else f"`{self.kind}`"


@dataclass
class Network:
    nodes: list[Node] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    # Why the picture may be incomplete. Rules that judge the whole network (depth, "no
    # dropout anywhere") stay silent when this is not empty: a rule never reports from a guess.
    unresolved: list[str] = field(default_factory=list)
    # The paths of the blocks of the project's classes inside (`layer1.0`), the network's own
    # root not among them: messages name a block's layers inside it.
    blocks: frozenset[str] = frozenset()
    # Derived tables (consumers, ancestors, ...), computed once: rules ask per node.
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return not self.unresolved

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def consumers(self) -> list[list[int]]:
        """The ids of the nodes that read each node's output, by node id."""
        found = self.cache.get("consumers")
        if found is None:
            users: list[list[int]] = [[] for _ in self.nodes]
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
    # That layer's path inside the module whose code initialises it ("pred.1"; "" if not
    # known): it tells apart the layers one line of a helper builds.
    layer_path: str = ""


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
    module: str = ""  # the dotted module that defines it, relative to the project root
    built_as: str = ""  # for a class that needs arguments: the call that builds this variant
    # For a variant judged at its class, the call that builds it, where that is elsewhere.
    built_at: Loc | None = None
    class_key: str = ""  # the class of the module it builds ("models.vgg:VGG")
    class_loc: Loc | None = None  # that class's definition, when in the builder's file
    parts: frozenset[str] = frozenset()  # the classes of the blocks inside it
    # The project classes its class and those of its blocks derive from (`mit_b0` inside a
    # segmenter derives from `MixVisionTransformer`).
    bases: frozenset[str] = frozenset()
    # A LightningModule whose class (or a project base) defines `configure_optimizers`: its
    # training code is its own, whatever script or command line runs it.
    trains_itself: bool = False
    guessed: bool = False  # a class that needs arguments, built without them
    # For a class built with its defaults, the weighted layers its construction holds (used
    # or not): a script building it with other arguments (`Plain(n=2)`) trains another
    # network when this count differs.
    layers: int | None = None
    # Libraries its factory registers it with (`@timm...register_model`): they can build
    # it by name, from code or configuration the reader does not see.
    registered_in: frozenset[str] = frozenset()
    # The `--model`/`[tool.cnnlint.models]` target that asked for it, as written: its
    # findings are reported wherever the model is defined, and name the target.
    requested_as: str = ""
    # A class whose defaults make its constructor fail (`assert loss is not None`, a key of
    # its `**kwargs` given none): what was read of it is not a network anyone builds.
    stopped: str = ""  # why its defaults stop its constructor (a class's build only)
    # Built only to be compared with a factory of a linted file that hands it back (another
    # file's `vgg11()` behind a test script's `build_model()`): never judged itself.
    for_comparison: bool = False

    @property
    def label(self) -> str:
        """How messages name this model: the variant's call, else its class or factory."""
        return self.built_as or self.name

    @property
    def path(self) -> str:
        return self.loc.path

    @property
    def key(self) -> str:
        """What identifies the model across the project: "models.net:Net". Two classes named
        `Net` in two packages are two models."""
        return model_key(self.module, self.name)


def model_key(module: str, name: str) -> str:
    return f"{module}:{name}"


def build_site(key: str, call: str) -> str:
    """How a build of a class is named: its key when built with its defaults (`Deep()`),
    with the call as written when built with arguments (a variant, `Deep(16)`)."""
    return f"{key}@{call}" if call else key


def same_build(a: Model, b: Model) -> bool:
    """Whether two models build the same network (a factory `make_deep()` returning
    `Deep()`, and the class itself); `wide()` building `Deep(16)` does not."""
    x, y = a.network.nodes, b.network.nodes
    return len(x) == len(y) and all(
        p.kind == q.kind and p.inputs == q.inputs and p.args == q.args for p, q in zip(x, y))


def _is_or_holds(trained: "TrainedModel", model: Model) -> bool:
    """Whether a trained model is `model`, or holds it as a part (matched by module and
    name), or is its class built directly."""
    return model.key in trained.keys or model.key in trained.parts or bool(
        model.class_key and trained.keys == (model.class_key,))


class Build(NamedTuple):
    """A build of a class a run trains: its weighted layers, where the model holding it is
    built, and its layer families (None when not known)."""

    layers: int
    loc: Loc | None
    families: frozenset[str] | None


@dataclass
class ProjectFacts:
    """Everything the rules may read: the models of the run and the training code."""

    models: list[Model] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    runs: list["TrainingRun"] = field(default_factory=list)
    # Models (class keys) a script hands to library code that may train them.
    handed_off: frozenset[str] = frozenset()
    # Of those, the ones handed as they are (not as a part of another: a loop whose weights
    # the reader lost hands on the parts of its networks too).
    handed_off_whole: frozenset[str] = frozenset()
    # The networks inside the models handed to a call the reader cannot follow.
    handed_off_parts: frozenset[str] = frozenset()
    # (library, model name or "" for any) for each model a script builds through a library
    # by name (`timm.create_model(args.model)`): a model registered with it may be that one.
    library_builds: frozenset[tuple[str, str]] = frozenset()
    # Scripts that look like training code but could not be read (a syntax error, such as
    # Python 2 code), or not to the end (too complex): what they train, and how, is not
    # known.
    unread_scripts: tuple[str, ...] = ()
    # Scripts whose loop calls backward() and steps weights the reader could not follow to
    # a model: what they train is not known.
    unfollowed_training: tuple[str, ...] = ()

    def runs_training(self, model: Model) -> list["TrainingRun"]:
        """The runs whose optimizer steps this model's weights, alone or as a part of a bigger
        model (matched by module and name), or that build its class directly (a factory's
        network is the one a script trains as `UNet(...)`; one it trains as `resnet18()` is
        not `resnet50()`'s)."""
        return [r for r in self.runs
                if any(self._trains(m, model) for m in r.models) or model.key in r.choices
                or any(model.key in chosen.parts for chosen in self._built(r.choices))]

    def optimizers_training(self, model: Model, runs: list["TrainingRun"]) -> list["Optimizer"]:
        """The optimizers of `runs` (those training `model`) that step its weights. In a run
        with an optimizer for each model (a GAN), the others are not its; where which one
        holds it is not known, every optimizer of the runs may; where each is known to hold
        other models only, none does."""
        everyone: list[Optimizer] = []
        its_own: list[Optimizer] = []
        for run in runs:
            for opt in run.optimizers:
                everyone.append(opt)
                # It trains the network the run picks by name, which may be this one or
                # hold it (another name picks another).
                picked = any(not set((*m.keys, *m.parts)).isdisjoint(run.choices)
                             for m in opt.trains)
                # Holding it, or a part of it (a wrapper's optimizer for its generator).
                if picked or any(self._trains(m, model) or not model.parts.isdisjoint(m.keys)
                                 for m in opt.trains):
                    its_own.append(opt)
        if its_own or any(not opt.trains for opt in everyone):
            return its_own or everyone
        # Each holds weights the reader followed, none this model's: a linear probe's
        # optimizer, over a network picked by name and only evaluated.
        return []

    def _trains(self, trained: "TrainedModel", model: Model) -> bool:
        """Whether a trained model is `model` or holds it (`_is_or_holds`). A class with
        several variants is trained as the one whose call builds it: `Stack(act)` trained,
        `Stack(act, widths=deeper)` only built to be inspected is not."""
        if not _is_or_holds(trained, model):
            return False
        if model.kind != "variant" or trained.loc is None or model.key not in trained.keys:
            return True
        if trained.loc == model.loc:
            return True
        # Built by a call that is no variant's (its arguments not all known): it may be this
        # variant, unless its size says it is another (`Net(len(names), trunk="tiny")` is
        # not `Net(7, trunk="huge")`).
        return trained.loc not in self._variant_sites.get(model.key, frozenset()) and (
            trained.layers is None or model.layers is None or trained.layers == model.layers)

    @cached_property
    def _variant_sites(self) -> dict[str, frozenset[object]]:
        """The calls that build each class's variants, by class key."""
        found: dict[str, set[object]] = {}
        for m in self.models:
            if m.kind == "variant":
                found.setdefault(m.key, set()).add(m.loc)
        return {key: frozenset(sites) for key, sites in found.items()}

    def other_builds_trained(self, model: Model, runs: list["TrainingRun"]) -> list["Build"]:
        """The builds `runs` train of the class `model` builds with its defaults, itself or
        as a block of the model they train, when each is of another size (`Plain(n=2)` for
        `Plain(n=12)`): what they train is not this network. Empty when one may be this one
        (its size not known, or the same)."""
        if model.kind != "class" or model.layers is None:
            return []
        builds = []
        for m in (m for run in runs for m in run.models if _is_or_holds(m, model)):
            if model.key in m.keys:
                size, families = m.layers, m.families
            else:
                size = max((n for key, n in m.part_layers if key == model.key), default=None)
                families = next((f for key, f in m.part_families if key == model.key), None)
            if size is None or size == model.layers:
                return []
            builds.append(Build(size, m.loc, families))
        return builds

    def may_train_unseen(self, model: Model) -> bool:
        """Whether code the reader could not see through may train `model`: a library it is
        handed to, a training script that does not parse or that steps weights the reader
        could not follow to a model, a script whose model may come from a call the reader
        could not follow, a network a script may pick by name whose insides were not read
        in full (it may hold this one), a part of one build of a network a script trains
        in another build (`SegNet(trunk=args.trunk)`: which trunk is not known), or one a
        script names where its options' defaults do not lead; a part of a network handed
        off, or any network when one handed off was not read in full."""
        if model.key in self.handed_off or model.key in self.handed_off_parts \
                or self.unread_scripts or self.unfollowed_training \
                or self._built_by_library(model):
            return True
        if model.class_key and model.class_key in self.handed_off:
            return True  # an instance of its class, built where the factory is not known
        if model.parts & self.handed_off:
            return True  # built from a network handed off (a hub entry that wraps a factory)
        if self._handed_off_unread:
            return True  # a network handed off holds parts not read: this may be one
        keys = {model.key, model.class_key} - {""}
        for run in self.runs:
            if any(m.unresolved for m in run.models) or keys & run.named:
                return True
            if model.kind in ("class", "variant") and build_site(
                    model.key, model.built_as) in run.reaches:
                return True  # a build a builder the script names makes
            if model.guessed and any(site == model.key or site.startswith(f"{model.key}@")
                                     for site in run.reaches):
                return True  # a class read without its arguments, which a builder gives
            if any(m.class_key == model.key and same_build(m, model)
                   for m in self._built(run.named)):
                return True  # the class as a builder the script names builds it
            if any(model.key in built.parts for m in run.models for built in self._built(m.keys)):
                return True  # in another build of a network the run trains (`SegNet(trunk)`)
            if any(not m.network.complete and not m.guessed
                   for m in self._built(run.choices)):
                return True
        return False

    def decayed_by_hand(self, model: Model, runs: list["TrainingRun"]) -> bool:
        """Whether training code of `runs` shrinks this model's weights in place (weight
        decay written by hand), alone or as a part of a bigger model."""
        return any(self._trains(m, model) for run in runs for m in run.hand_decay)

    def _built_by_library(self, model: Model) -> bool:
        """Whether a library a script builds models with may build this one by its
        registered name (a class: any factory of it that is registered)."""
        if not self.library_builds:
            return False
        builders = [model] if model.registered_in or not model.class_key else [
            m for m in self.models if m.class_key == model.class_key and m.registered_in]
        return any(library in m.registered_in and name in ("", m.name)
                   for m in builders for library, name in self.library_builds)

    def trained_builds_hold(self, model: Model, families: Iterable[str]) -> bool:
        """Whether the project trains this network, and every build of it that it trains
        (alone, or as a block of the model trained) holds a layer of one of these families: a
        factory may pass what the class's defaults do not (`act=nn.SiLU`,
        `normalization="batchnorm"`)."""
        wanted = frozenset(families)
        builds = self._trained_builds_of(model)
        return bool(builds) and all(held is not None and held & wanted for held in builds)

    def trained_builds_miss(self, model: Model, families: Iterable[str]) -> bool:
        """Whether some build of this network the project trains shows every other family
        of layer the model has, but none of these (`Stack(leaky=cfg["leaky"])`, a flag the
        reader could not follow picking each activation): what that build holds of them was
        not seen. (A build whose construction stopped short, lacking other layers too, is
        no sign of that.)"""
        wanted = frozenset(families)
        others = {n.family for n in model.network.nodes if n.weighted or n.is_norm} - wanted
        return any(held is not None and not held & wanted and others <= held
                   for held in self._trained_builds_of(model))

    def class_trained_otherwise(self, model: Model) -> bool:
        """Whether the project trains another build of this model's class (`net_post()`
        beside an unused `net_pre()`, both `Net(...)`): the class has a training script."""
        return bool(model.class_key) and model.key != model.class_key \
            and bool(self._trained_families(model.class_key))

    def _trained_builds_of(self, model: Model) -> list[frozenset[str] | None]:
        builds = self._trained_families(model.key)
        if not builds and model.kind == "factory" and model.class_key:
            # A factory no run trains, of a class the project trains built otherwise (an
            # unused `vgg11()` beside the `vgg11_bn()` a registry maps its name to): the
            # project's builds of the class are the ones to go by.
            builds = self._trained_families(model.class_key)
        return builds

    def _trained_families(self, key: str) -> list[frozenset[str] | None]:
        """The layer families of each build the runs train of the network `key` (alone, or
        as a block of the model trained)."""
        return [held for run in self.runs for m in run.models
                for held in ([m.families] if key in m.keys else
                             [found for k, found in m.part_families if k == key])]

    def same_network_trained(self, model: Model) -> bool:
        """Whether a run trains a network this model builds just as it does (a test script's
        `build_model()` returning the `resnet18()` that a training script trains)."""
        return any(built is not model and built.class_key == model.class_key
                   and same_build(built, model) for built in self._trained_builds)

    def subclass_trained(self, model: Model) -> bool:
        """Whether a run trains a model that is or holds a subclass of this model's class: the
        class's code trains there, with the arguments the subclass gives it (`mit_b0` calling
        `super().__init__(drop_path_rate=0.1)`), not with this model's defaults."""
        return bool(model.class_key) and any(
            model.class_key in built.bases for built in self._trained_builds)

    @cached_property
    def _trained_builds(self) -> list[Model]:
        """The models the runs train, by their keys."""
        return [built for run in self.runs for trained in run.models
                for built in self._built(trained.keys)]

    def held_as_block(self, model: Model) -> bool:
        """Whether the model is a class read with guessed arguments (no code builds it
        alone) that another model holds: a block of a utility file (`MSDilationBlock(c)`
        inside DFDNet), trained as part of the model holding it."""
        return model.guessed and bool(model.class_key) \
            and model.class_key in self._held_classes

    @cached_property
    def _held_classes(self) -> frozenset[str]:
        return frozenset(part for m in self.models for part in m.parts
                         if part != m.class_key)

    def _built(self, keys: Iterable[str]) -> list[Model]:
        """The models of the run with these keys (a registry's entries, to look inside)."""
        return [m for key in keys for m in self._by_key.get(key, ())]

    @cached_property
    def _handed_off_unread(self) -> bool:
        """Whether a network handed to code the reader cannot follow (a trainer it could not
        resolve, a loop whose weights it lost) was not read in full, also as read with
        constructor arguments not known: a backbone it picks by an option the reader does not
        know may be any network of the project."""
        return any(not m.network.complete for m in self._built(self.handed_off_whole))

    @cached_property
    def _by_key(self) -> dict[str, list[Model]]:
        found: dict[str, list[Model]] = {}
        for model in self.models:
            found.setdefault(model.key, []).append(model)
        return found

    def model(self, key: str) -> Model | None:
        return next((m for m in self.models if m.key == key), None)


# --- training facts --------------------------------------------------------------------


@dataclass
class Setting:
    """A hyper-parameter as the code sets it, with where its value came from."""

    value: object  # a constant, or None when unknown
    origin: str  # "literal", "argparse default of `--lr`", "module constant `LR`", ...
    loc: Loc | None = None
    # Param groups that each set a different known value, or the two sides of an `if`:
    # (the lowest, the highest); the value itself is then None.
    spread: tuple[float, float] | None = None

    @property
    def known(self) -> bool:
        return isinstance(self.value, (int, float)) and not isinstance(self.value, bool)

    def source(self) -> str:
        """" (argparse default of `--lr`)", or "" for a literal."""
        return f" ({self.origin})" if self.origin not in ("", "literal", "expression") else ""

    def describe(self) -> str:
        if self.spread is not None:
            return f"{self.spread[0]!r} to {self.spread[1]!r}{self.source()}"
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
    # Where code replaced the dataset's pipeline after building it (`ds.transform = tf`),
    # and whether the dataset was split first (`val_part.dataset.transform = tf` then sets
    # the training part's pipeline too).
    transform_set_at: Loc | None = None
    transform_shared: bool = False
    # The call in the entry point's own code that led to building it, when the loader is
    # built in another file (a shared `make_loaders(batch_size=...)` helper).
    called_at: Loc | None = None
    image_data: bool = False
    symbol: str = ""  # the function that builds it
    # For a dataset with several pipelines (one of several datasets picked by a setting, or a
    # project dataset class that keeps and applies its own): (transforms, where built, image
    # data?) for each, judged instead of the transform fields above.
    pipelines: tuple[tuple[list[str] | None, Loc | None, bool], ...] = ()
    # Those pipelines are one dataset's, each item going through all of them (a
    # super-resolution pair's low- and high-resolution pipelines), not alternatives.
    joint_pipelines: bool = False
    # The name of an evaluation loader, over another dataset, whose images go through the
    # very pipeline object this one's do (one `plain` pipeline given to the training and the
    # test set); "" if none.
    pipeline_shared_with: str = ""


@dataclass
class Optimizer:
    loc: Loc | None
    kind: str  # "SGD", "Adam", ...
    lr: Setting | None
    momentum: Setting | None = None
    weight_decay: Setting | None = None
    symbol: str = ""
    trains: tuple["TrainedModel", ...] = ()  # the models whose weights it holds; () unknown


@dataclass
class LossUse:
    loc: Loc | None
    kind: str  # "CrossEntropyLoss", ...
    weighted: bool = False  # a class weight or pos_weight is given
    fed_by: str = ""  # "Softmax"/"LogSoftmax" when probabilities are fed to it
    fed_by_loc: Loc | None = None
    symbol: str = ""
    made_at: Loc | None = None  # where the loss module is built (`nn.CrossEntropyLoss(...)`)
    # Label smoothing given, not known to be 0 (`label_smoothing=0.1`): NLLLoss has none.
    smoothed: bool = False
    # Computed under no_grad, or from the outputs of models in eval mode only: a validation
    # loss or a metric, not training.
    evaluating: bool = False
    # Not a mean over its elements (`reduction="sum"` or `"none"`, `size_average=False`,
    # `reduce=False`): its gradient grows with the batch and the image size, so an SGD
    # learning rate means something else than with a mean.
    summed: bool = False


@dataclass
class TrainedModel:
    """A model a run trains: an optimizer that steps holds its parameters."""

    keys: tuple[str, ...]  # "models.net:Net" and the factories that built it; () if unknown
    name: str  # how messages name it: the class, the factory, or the call that made it
    loc: Loc | None = None  # where the run builds it
    defined: Loc | None = None  # where its class or factory is defined
    # The layer families its construction shows (with the arguments the run passes); None
    # when the model is not known (a library or registry model).
    families: frozenset[str] | None = None
    # The blocks inside it, by class and by the factory that built them: they are trained
    # with it (`RetinaNet.fpn`, built by `FPN50()`).
    parts: tuple[str, ...] = ()
    # The layer families of each of those blocks built as a class, by its class key (a
    # `Sequential(Normalize(), backbone)` wrapper's backbone built with SiLU).
    part_families: tuple[tuple[str, frozenset[str]], ...] = ()
    # Some candidate for it is a project call the reader could not follow: any project
    # network may be the one trained.
    unresolved: bool = False
    # The weighted layers its construction holds, when it is a project class's instance
    # (`Model.layers` of the class built with its defaults compares with it); and those of
    # each block inside it built as a class, by its class key.
    layers: int | None = None
    part_layers: tuple[tuple[str, int], ...] = ()
    # Where the networks it may be were built, for one of several (a choice by an option):
    # each is a build that trains.
    sites: tuple[Loc, ...] = ()
    # The number its forward events carry (`Event.token`); 0 when not known.
    token: int = 0
    # Its construction holds one layer with weights and nothing else that learns (a line
    # fit's `nn.Linear(1, 1)`, a logistic regression's `Sequential(Linear(2, 1), Sigmoid())`):
    # a linear model fitted, not a network trained.
    linear: bool = False
    # For one of several networks a command-line option picks: the one the script's default
    # options train, when known (what holds for it holds for `python train.py` as written).
    by_default: TrainedModel | None = None

    def describe(self) -> str:
        where = f" ({self.defined.path}:{self.defined.line})" if self.defined else ""
        return f"`{self.name}`{where}"


@dataclass
class Loop:
    """A `for` loop a training pass ran. `kind`: "epoch" (a range loop around a loop that
    steps a model's optimizer), "iteration" (a range loop that steps directly), "batch" (over
    a DataLoader), or "other"."""

    id: int
    kind: str
    loc: Loc | None
    symbol: str
    count: Setting | None = None  # how many passes, for a loop over range()
    # The call in the entry point's own code that ran it, when the loop is in another file
    # (`Trainer(net).fit(xs)` in the script, the loop in the library's `fit`): the run, and
    # what it leaves out, is that call's.
    called_at: Loc | None = None
    # Each pass builds afresh the models it trains (an ensemble's members, a sweep over
    # settings): its passes are whole trainings, one after another.
    fresh_models: bool = False

    def caller(self, at: Loc) -> tuple[str, list[tuple[Loc | None, str]]]:
        """For a finding at `at` about this loop: (", as run from train.py:12", the call as a
        related place) when another file's call ran it, else ("", [])."""
        return called_from(self.called_at, at, "run", "runs")


def called_from(call: Loc | None, at: Loc, done: str, does: str
                ) -> tuple[str, list[tuple[Loc | None, str]]]:
    """For a finding at `at` about what code of another file did when `call` ran it:
    (", as run from train.py:12", the call as a related place); ("", []) for no such call."""
    if call is None or call.path == at.path:
        return "", []
    return f", as {done} from {call.path}:{call.line}", [(call, f"the call that {does} it")]


# Event kinds, in the order a training step usually sees them.
FORWARD = "forward"  # a model called from training code (flags: grad-off, eval-loader,
#                      held-out: its input is a tensor named for held-out data)
BACKWARD = "backward"
STEP = "step"  # optimizer.step() (flags: trains when the optimizer holds a model's weights;
#                accumulating under `if i % k == 0:`; model: the models it updates)
ZERO_GRAD = "zero_grad"
SCHEDULE = "schedule"  # a scheduler built or stepped, an lr written, an optimizer rebuilt
FLAT = "flat"  # a scheduler's build event's flag: its arguments keep the rate as it is
# A scheduler built that nothing steps, reads or hands on (to a library, a trainer): the rate
# it was built to change never changes.
IDLE_SCHEDULER = "idle_scheduler"
EARLY_STOP = "early_stop"  # a `break` out of the epoch loop, a patience counter
BEST_CHECKPOINT = "best_checkpoint"  # a checkpoint kept on a validation metric
# The pass with the best metric so far noted, by the counter that names it (what: the
# counter, `best_iter = total_iters` under `if acc > best_acc:`), and a checkpoint saved to
# a file named by a counter (what: each name in the file name, `"iter_%d.pt" % total_iters`):
# together, the best pass's checkpoint is kept among the others.
BEST_PASS_NOTED = "best_pass_noted"
SAVED_BY_NAME = "saved_by_name"
# An environment stepped with an action, its observation, reward and end flag unpacked
# (`obs, reward, done, info = env.step(action)`): the data are the agent's own experience
# (reinforcement learning; what: the call as written).
ENV_STEP = "env_step"
# The weights kept on a metric as a reference, not a copy (`best = model.state_dict()`):
# every later step changes them (what: the name they are kept in).
ALIASED_BEST = "aliased_best"
MODE = "mode"  # model.train() or model.eval() (mode: the one set, None if not known)
CLIP = "clip"  # gradients clipped (`clip_grad_norm_`, a gradient scaled in place by hand)
UNRESOLVED = "unresolved"  # a call the reader could not follow: it might do any of the above


@dataclass
class Event:
    """Something a training pass did, where, and inside which loops (outermost first)."""

    kind: str
    loc: Loc | None
    loops: tuple[int, ...]
    what: str = ""  # source-like text: the call, the optimizer, the model
    flags: frozenset[str] = frozenset()
    mode: bool | None = None  # forward: the model's mode, True = train; None when unknown
    model: str = ""  # forward: the model's name; step: the names of the models it updates
    # step: the models (or parts of one) whose weights it updates, each by a number of the
    # run (two models of one name are two numbers); empty when they are not all known.
    updates: tuple[int, ...] = ()
    # step: the numbers of the models holding what it updates (a part's holder: `net` for
    # `net.head`), and forward: the number of the model it runs; empty or 0 when not known.
    roots: tuple[int, ...] = ()
    token: int = 0
    # Which pass of each of `loops` it happened in (the reader runs a loop's passes one at a
    # time: a list of models trained one per pass is not a GAN's models trained together).
    passes: tuple[int, ...] = ()
    families: tuple[str, ...] = ()  # forward: its layer families that behave by mode
    # A Lightning callback's watched metric (`monitor=`) and the way it counts as better
    # ("min" or "max", Lightning's default "min" when not given); empty when not constant.
    metric: str = ""
    better: str = ""


@dataclass
class TrainingRun:
    """What one entry point (a script, or a training function nobody calls) does to train a
    model: the events of its pass, and the objects it builds. Readers describe; rules judge."""

    path: str
    symbol: str  # the function holding the training loop ("main", "train", "<module>")
    loc: Loc  # the epoch loop, or the Trainer, or the first training step
    models: list[TrainedModel] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    loaders: list[Loader] = field(default_factory=list)
    optimizers: list[Optimizer] = field(default_factory=list)  # those over model weights
    schedulers: list[str] = field(default_factory=list)
    losses: list[LossUse] = field(default_factory=list)
    resampling: list[str] = field(default_factory=list)  # WeightedRandomSampler, ...
    focal: bool = False
    # A regression loss the training code sums rather than averages (`MSELoss(size_average=
    # False)` over a density map): its gradient grows with the number of its terms.
    sums_a_loss: bool = False
    # A loss compares a model's output with the very batch the model was fed (an autoencoder
    # or a VAE rebuilding its input): it learns the data's own distribution.
    rebuilds_input: bool = False
    # A scheduler that cycles the optimizer's momentum as it goes (`CyclicLR`, `OneCycleLR`,
    # whose `cycle_momentum` is on by default): the momentum an SGD was built with is
    # replaced from the start.
    cycles_momentum: bool = False
    # The transform pipelines the training code applies to data itself, in a loop (a
    # contrastive method's two random views of each batch): their class names, or None for
    # one not known.
    applied_transforms: list[list[str] | None] = field(default_factory=list)
    lightning: bool = False
    # For a Lightning run whose `training_step` takes `optimizer_idx`: how many optimizers
    # over weights apart `configure_optimizers` returns (Lightning steps each after a
    # backward pass of its own, as a GAN's loop does); 0 otherwise.
    optimizers_apart: int = 0
    # The models the run picks by a name it reads at run time from a module's namespace
    # (`models.__dict__[args.arch](...)`): it may train any of them.
    choices: tuple[str, ...] = ()
    # Models whose weights the training code scales down in place each step (weight decay
    # written by hand: `param.mul_(1 - lr * wd)`).
    hand_decay: list[TrainedModel] = field(default_factory=list)
    # False when the pass was cut short (too complex to follow): nothing is known missing.
    complete: bool = True
    # The project's classes and functions (keys) a script's file names: a network it builds
    # in a branch its defaults do not take (`elif args.arch == "big": net = zoo.big()`) may
    # be the one it trains when run with other options.
    named: frozenset[str] = frozenset()
    # The builds of project classes those named functions' own code makes (`create_ssd`
    # building `MobileNetV1(1001).model`; see `build_site`): those may be what it trains.
    reaches: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)  # for --verbose: what could not be read

    @property
    def is_a_test(self) -> bool:
        """Whether the run is a test's (a file `test_*.py` or `*_test.py`, or one in a
        `tests` folder) that steps no loop: a numerical check that steps two copies of a
        layer once and compares them sets up no training."""
        parts = self.path.replace("\\", "/").split("/")
        name = parts[-1]
        testing = name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or any(
            folder in ("test", "tests") for folder in parts[:-1])
        return testing and not any(
            e.loops for e in self.events if e.kind == STEP and "trains" in e.flags)

    @property
    def fits_linear_models(self) -> bool:
        """Whether every model the run trains is known to be linear (`TrainedModel.linear`):
        a convex fit of a few weights, which an adaptive optimizer does not make diverge at
        rates a deep network's training would (CNN208)."""
        return bool(self.models) and all(m.linear for m in self.models)

    @property
    def train_loaders(self) -> list[Loader]:
        return [loader for loader in self.loaders if loader.role == "train"]

    @property
    def epoch_loops(self) -> list[Loop]:
        return [loop for loop in self.loops if loop.kind == "epoch"]

    def long_epoch_loops(self, at_least: int) -> list[tuple[Loop, Setting, Loc]]:
        """(loop, its epoch count, where it is) for the epoch loops of at least `at_least`
        epochs, a known number."""
        out = []
        for loop in self.epoch_loops:
            epochs = loop.count
            if epochs is not None and epochs.known and loop.loc is not None \
                    and epochs.value >= at_least:  # type: ignore[operator]
                out.append((loop, epochs, loop.loc))
        return out

    def events_in(self, loop: Loop | int, *kinds: str) -> list[Event]:
        """The events of `kinds` that happened inside `loop` (also in functions it called)."""
        ident = loop if isinstance(loop, int) else loop.id
        return [e for e in self.events if e.kind in kinds and ident in e.loops]

    def events_of(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]

    def models_stepped_apart(self, loop: Loop | int) -> list[str]:
        """The models that steps of their own optimizers update inside `loop`: a GAN's
        generator and discriminator are two."""
        return sorted(self._stepped_apart.get(
            loop if isinstance(loop, int) else loop.id, {}).values())

    def stepped_never_called(self, loop: Loop | int) -> list[str]:
        """See the module function of that name."""
        return stepped_never_called(self.events, loop if isinstance(loop, int) else loop.id)

    def steps_models_apart(self, loop: Loop | int) -> bool:
        """Whether `loop` updates two or more models with steps of their own optimizers,
        each after a backward pass of its own (adversarial training), or runs inside a loop
        that does (a GAN's inner loop of discriminator steps)."""
        if self.optimizers_apart:
            return True  # (Lightning's loop steps them apart, around all the run reads)
        ident = loop if isinstance(loop, int) else loop.id
        around = self._loops_met.get(ident) or {ident}
        return any(i in self._stepped_apart for i in around)

    # Both found in one pass over the events: a notebook's run may hold thousands of loops
    # and events, and asking each loop anew was quadratic.
    @cached_property
    def _stepped_apart(self) -> dict[int, dict[frozenset[object], str]]:
        """Loop id -> the models steps of their own optimizers update inside it, in one
        pass of it (each model's name)."""
        return stepped_apart(self.events)

    @cached_property
    def _loops_met(self) -> dict[int, set[int]]:
        """Loop id -> every loop an event inside it is in (those around it and inside it)."""
        met: dict[int, set[int]] = {}
        for e in self.events:
            for i in e.loops:
                met.setdefault(i, set()).update(e.loops)
        return met

    def trains_models_apart(self) -> bool:
        """Whether some loop of the run steps models apart (see `steps_models_apart`)."""
        return any(self.steps_models_apart(loop) for loop in self.loops)

    def acts_in_environment(self) -> bool:
        """Whether the run steps an environment: a reinforcement-learning agent's updates,
        on experience it collects itself (a `while True:` of rollouts around them, which the
        reader keeps no account of, may hold both). No held-out set, best checkpoint,
        schedule over passes or augmented dataset applies to them as to a dataset's
        epochs."""
        return bool(self.events_of(ENV_STEP))

    def trains_on_noise(self, loop: Loop | int) -> bool:
        """Whether every forward pass inside `loop` takes random numbers alone (a memory or
        speed check stepping a model on `torch.rand` batches) and every loss it backpropagates
        compares the outputs with random targets drawn apart from those inputs: nothing is
        learnt that a held-out set, a best checkpoint or a schedule could serve."""
        forwards = self.events_in(loop, FORWARD)
        backwards = self.events_in(loop, BACKWARD)
        return bool(forwards) and all("noise-input" in e.flags for e in forwards) \
            and bool(backwards) and all("noise-targets" in e.flags for e in backwards)

    def blockers(self, loop: Loop | int) -> list[Event]:
        """Calls inside `loop` the reader could not follow: what they do is not known, so
        nothing can be said to be missing from the loop."""
        return self.events_in(loop, UNRESOLVED)

    def settled_later(self, loop: Loop, check: Callable[[Loop], bool]) -> bool:
        """Whether an epoch loop run after `loop` (not inside it, nor around it) trains a
        model `loop` trains and passes `check`: a warm-up stage (a student matching its
        teacher's features first) before the training that is validated and checkpointed.
        What `loop` lacks, that later training of the same model has."""
        def trained_in(ident: int) -> set[int]:
            return {u for e in self.events_in(ident, STEP) if "trains" in e.flags
                    for u in e.updates}

        mine = [i for i, e in enumerate(self.events) if loop.id in e.loops]
        trained = trained_in(loop.id)
        if not mine or not trained:
            return False
        for other in self.epoch_loops:
            theirs = [i for i, e in enumerate(self.events) if other.id in e.loops]
            if other.id == loop.id or not theirs or theirs[0] <= mine[-1] \
                    or any(loop.id in self.events[i].loops for i in theirs):
                continue
            if trained & trained_in(other.id) and check(other):
                return True
        return False

    def judgeable(self, loop: Loop | int) -> bool:
        """True when the reader saw everything `loop` does."""
        return self.complete and not self.blockers(loop)

    def evaluated_in(self, loop: Loop | int) -> bool:
        """Whether some forward pass inside `loop` may be on held-out data (see
        `evaluates`)."""
        return any(evaluates(e) for e in self.events_in(loop, FORWARD))

    def evaluated_between_passes(self, loop: Loop) -> bool:
        """Whether a loop around `loop` goes on training the same models pass after pass (a
        federated round training each client again on the averaged weights) and evaluates
        in its passes, outside `loop`: the training is scored as it goes, once a round. A
        loop that trains a fresh model each pass (`for lr in rates: net = Net()`) does not
        count: its evaluations come after each training is over."""
        steps = self.events_in(loop, STEP)
        fresh = {other.id for other in self.loops if other.fresh_models}
        around = {outer for e in steps for outer in e.loops[:e.loops.index(loop.id)]} - fresh
        for outer in around:
            by_pass: dict[int, set[int]] = {}
            for e in self.events_in(outer, STEP):
                if "trains" in e.flags and e.updates:
                    by_pass.setdefault(e.passes[e.loops.index(outer)], set()).update(e.updates)
            passes = list(by_pass.values())
            if any(a & b for i, a in enumerate(passes) for b in passes[i + 1:]) and any(
                    evaluates(e) and loop.id not in e.loops
                    for e in self.events_in(outer, FORWARD)):
                return True
        return False


def stepped_never_called(events: list[Event], loop: int) -> list[str]:
    """The models training steps inside loop `loop` update that no forward pass there
    calls: the loop uses only their weights (`F.linear(x, net.weight - g)`, MAML)."""
    inside = [e for e in events if loop in e.loops]
    stepped = {name for e in inside if e.kind == STEP and "trains" in e.flags
               for name in e.model.split(", ") if name}
    called = {e.model for e in inside if e.kind == FORWARD}
    # A step of one part of a model (`net.gen`) is of a model called when `net` is.
    if any(name in called or name.split(".", 1)[0] in called for name in stepped):
        return []
    return sorted(stepped)


def evaluates(event: Event) -> bool:
    """A forward pass that may be on held-out data: gradients off, a validation or test
    loader, a tensor named for held-out data, the model in eval mode, or data the reader
    could not follow in a loop that trains nothing; but not one whose output feeds the loss
    a step follows (a frozen teacher's or feature network's targets, run in eval mode
    without gradients, are part of training), nor one on training batches alone."""
    if "feeds-step" in event.flags or "train-batch" in event.flags:
        return False
    return "grad-off" in event.flags or "eval-loader" in event.flags \
        or "held-out" in event.flags or "scores-held-out" in event.flags \
        or event.mode is False or "unknown-data" in event.flags


def stepped_apart(events: list[Event]) -> dict[int, dict[frozenset[object], str]]:
    """Loop id -> the models (numbers, or a name -> name) that steps of their own update in one
    pass of it, where two of those steps update models apart: a GAN's generator and critic,
    or a CycleGAN's two generators and two critics, each pair under one optimizer. Models
    trained one per pass (`for net in (small, large): fit(net)`) are not."""
    # Steps by the loops they ran in and which pass of each: two models stepped in the same
    # pass of every loop both steps are in are trained together; a model per pass of a
    # loop over models (`for net, opt in zip(nets, opts)`) is not.
    by_pass: dict[tuple[tuple[int, ...], tuple[int, ...]], dict[frozenset[object], str]] = {}
    for e, updated in _steps_of_one_backward(events):
        by_pass.setdefault((e.loops, e.passes), {})[updated] = e.model
    found: dict[int, dict[frozenset[object], str]] = {}
    groups = list(by_pass.items())
    for x, ((loops_a, passes_a), models_a) in enumerate(groups):
        for (loops_b, passes_b), models_b in groups[x:]:
            shared = 0
            while shared < min(len(loops_a), len(loops_b)) \
                    and loops_a[shared] == loops_b[shared]:
                shared += 1
            models = {**models_a, **models_b}
            if _two_apart(models) and passes_a[:shared] == passes_b[:shared]:
                for i in loops_a[:shared]:
                    found.setdefault(i, {}).update(models)
    return found


def _steps_of_one_backward(events: list[Event]) -> list[tuple[Event, frozenset[object]]]:
    """Each training step with what it updates (see `_updated_apart`). Steps that follow one
    backward pass together (`loss.backward(); enc_opt.step(); dec_opt.step()`, a seq2seq's
    encoder and decoder) minimise one loss: they update their models together, as one
    optimizer over both would. After two or more backward passes (`d_loss.backward();
    g_loss.backward(); d_opt.step(); g_opt.step()`) each step stays apart."""
    out: list[tuple[Event, frozenset[object]]] = []
    backwards = 0  # since the last step
    # The indexes in `out` of the steps since the last backward pass when there was exactly
    # one; None when none is joined (no backward pass seen, or several).
    joint: list[int] | None = None
    for e in events:
        if e.kind == BACKWARD:
            backwards += 1
            continue
        updated = _updated_apart(e)
        if updated is None:
            continue
        if backwards:
            joint = [] if backwards == 1 else None
        backwards = 0
        if joint is not None:
            updated = updated.union(*(out[i][1] for i in joint))
            for i in joint:
                out[i] = (out[i][0], updated)
            joint.append(len(out))
        out.append((e, updated))
    return out


def _updated_apart(event: Event) -> frozenset[object] | None:
    """What a training step updates, as a key of `stepped_apart`: the numbers of its models
    (one of several networks an option picks is one model too), else the one model's name;
    None for no training step, or for several models known by name only."""
    if event.kind != STEP or "trains" not in event.flags:
        return None
    if event.updates:
        return frozenset(event.updates)
    return frozenset([event.model]) if event.model and ", " not in event.model else None


def _two_apart(models: dict[frozenset[object], str]) -> bool:
    """Whether two of the keys update no model in common."""
    keys = list(models)
    return any(a.isdisjoint(b) for x, a in enumerate(keys) for b in keys[x + 1:])
